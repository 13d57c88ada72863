# Shared helpers: the configuration's check, tool paths, prepare-data
# arguments, the walk over the decision checkpoints and reading
# agentomics-select's lineages.json (the choice of lineage itself is made by
# agentomics-select, the stop decisions by agentomics-reflect).
import difflib
import json
import shlex

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


# ---- the configuration, checked before anything is scheduled ---------------------
CONFIG_SCHEMA = os.path.join(workflow.basedir, "config.schema.yaml")


def _typed_nested_values(cfg, schema):
    """--config 'llm={max_turns: 8}' gives the nested values as strings; one
    whose key the schema types without string (a number, a boolean, null) is
    read as the YAML scalar it spells, so the command line and a config file
    mean the same. Changes cfg in place."""
    import yaml

    def non_string(prop):
        types = prop.get("type", [])
        types = [types] if isinstance(types, str) else types
        return types and "string" not in types

    for name, sect in schema["properties"].items():
        if not isinstance(cfg.get(name), dict) or "properties" not in sect:
            continue
        for key, value in list(cfg[name].items()):
            prop = sect["properties"].get(key)
            if isinstance(value, str) and isinstance(prop, dict) and non_string(prop):
                try:
                    typed = yaml.safe_load(value)
                except yaml.YAMLError:
                    continue
                if typed is None or isinstance(typed, (bool, int, float)):
                    cfg[name][key] = typed


def _config_problems(cfg):
    """Every problem with the configuration, one line each: unknown keys (with
    the closest known one), then the schema's checks (types, enums, ranges,
    patterns, train or class), then input files that do not exist."""
    import jsonschema
    import yaml

    with open(CONFIG_SCHEMA) as fp:
        schema = yaml.safe_load(fp)
    _typed_nested_values(cfg, schema)
    problems = []

    def unknown(section, props, prefix):
        for key in section:
            if key not in props:
                near = difflib.get_close_matches(str(key), list(props), n=1, cutoff=0.6)
                hint = f" (did you mean {prefix}{near[0]}?)" if near else ""
                problems.append(f"{prefix}{key}: unknown key{hint}")

    top = schema["properties"]
    unknown(cfg, top, "")
    for name in ("inputs", "llm", "resources"):
        if isinstance(cfg.get(name), dict):
            unknown(cfg[name], top[name]["properties"], f"{name}.")
    for group, value in (cfg.get("resources") or {}).items() if isinstance(cfg.get("resources"), dict) else []:
        if group in top["resources"]["properties"] and isinstance(value, dict):
            unknown(value, top["resources"]["properties"][group]["properties"], f"resources.{group}.")
    if problems:
        return problems
    validator = jsonschema.validators.validator_for(schema)(schema)
    for e in sorted(validator.iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(map(str, e.absolute_path)) or "config"
        if e.validator == "anyOf" and where == "inputs":
            problems.append("inputs: train or class is required (a file or a list of files; see workflows/config.yaml)")
        else:
            problems.append(f"{where}: {e.message}")
    inp = cfg.get("inputs") if isinstance(cfg.get("inputs"), dict) else {}
    llm = cfg.get("llm") if isinstance(cfg.get("llm"), dict) else {}
    files = [(f"inputs.{k}", f) for k in ("train", "valid", "test", "labels", "description", "reference") for f in _as_list(inp.get(k))]
    files += [(f"inputs.{k}.{name}", f) for k in ("class", "valid_class", "test_class") if isinstance(inp.get(k), dict)
              for name, paths in sorted(inp[k].items()) for f in _as_list(paths)]
    files += [("llm.price_file", f) for f in _as_list(llm.get("price_file"))]
    for where, f in files:
        if not os.path.isfile(f):
            why = "a directory, not a file" if os.path.isdir(f) else "no such file"
            problems.append(f"{where}: {f}: {why}")
    if isinstance(cfg.get("bin_dir"), str) and cfg["bin_dir"] and not os.path.isdir(cfg["bin_dir"]):
        problems.append(f"bin_dir: {cfg['bin_dir']}: no such directory")
    return problems


def _opt(key, default=None):
    """config[key], with null/absent as default."""
    value = config.get(key)
    return default if value is None else value


def _inputs():
    return config.get("inputs") or {}


def _as_list(value):
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


_problems = _config_problems(config)
if _problems:
    _listed = "\n  ".join(_problems)
    raise WorkflowError(
        f"agentomics: the configuration is not valid ({len(_problems)} problem{'s' if len(_problems) > 1 else ''};"
        f" workflows/config.schema.yaml documents every key):\n  {_listed}"
    )
validate(config, CONFIG_SCHEMA)


DATASET = str(config["dataset"])
RESULTS = f"results/{DATASET}"
LINEAGES = int(config["lineages"])
THREADS = int(_opt("threads", 1))
AGENT_THREADS = int(_opt("agent_threads", 1))
GPUS = int(_opt("gpus", 0))
HAS_TEST = bool(_as_list(_inputs().get("test")) or (_inputs().get("test_class") or {}))


def tool(name):
    """The command for agentomics-NAME: from bin_dir, else from PATH."""
    bin_dir = _opt("bin_dir", "")
    exe = f"agentomics-{name}"
    if bin_dir:
        exe = os.path.join(os.path.abspath(str(bin_dir)), exe)
    return shlex.quote(exe)


def res(group, key, default):
    """resources.GROUP.KEY from the configuration."""
    value = ((config.get("resources") or {}).get(group) or {}).get(key)
    return default if value is None else value


def train_runtime():
    return int(res("train", "runtime", int(config["train_time_limit"]) // 60 + 10))


# ---- prepare-data ------------------------------------------------------------
_FILE_KEYS = [("train", "--train"), ("valid", "--valid"), ("test", "--test")]
_CLASS_KEYS = [("class", "--class"), ("valid_class", "--valid-class"), ("test_class", "--test-class")]
_SINGLE_FILE_KEYS = [("labels", "--labels"), ("description", "--description"), ("reference", "--reference")]
_VALUE_KEYS = [
    ("label_col", "--label-col"),
    ("label_from", "--label-from"),
    ("id_col", "--id-col"),
    ("classes", "--classes"),
    ("positive", "--positive"),
]
_LIST_KEYS = [("seq_col", "--seq-col"), ("keep_col", "--keep-col")]


def prepare_input_files(wildcards):
    """Every input file of prepare-data, by kind (for Snakemake's input)."""
    inp = _inputs()
    files = {}
    for key, _ in _FILE_KEYS + _SINGLE_FILE_KEYS:
        files[key] = _as_list(inp.get(key))
    for key, _ in _CLASS_KEYS:
        files[key] = [f for name, paths in sorted((inp.get(key) or {}).items()) for f in _as_list(paths)]
    return {k: v for k, v in files.items() if v}


def prepare_args():
    """prepare-data's options (shell-quoted) from the inputs section."""
    inp = _inputs()
    args = []
    for key, opt in _FILE_KEYS + _SINGLE_FILE_KEYS:
        for f in _as_list(inp.get(key)):
            args += [opt, f]
    for key, opt in _CLASS_KEYS:
        for name, paths in sorted((inp.get(key) or {}).items()):
            for f in _as_list(paths):
                args += [opt, f"{name}={f}"]
    for key, opt in _VALUE_KEYS:
        value = inp.get(key)
        if value is not None and value != "":
            args += [opt, ",".join(map(str, value)) if isinstance(value, list) else str(value)]
    for key, opt in _LIST_KEYS:
        for value in _as_list(inp.get(key)):
            args += [opt, value]
    if inp.get("u_to_t"):
        args.append("--u-to-t")
    if inp.get("strict"):
        args.append("--strict")
    quoted = " ".join(shlex.quote(a) for a in args)
    extra = inp.get("prepare_args") or ""
    return f"{quoted} {extra}".strip()


def prepare_outputs():
    """data/agent, data/selection (the selection slice: train-run only) and
    data/heldout when a test set is given."""
    outputs = {"agent": directory(f"{RESULTS}/data/agent"), "selection": directory(f"{RESULTS}/data/selection")}
    if HAS_TEST:
        outputs["heldout"] = directory(f"{RESULTS}/data/heldout")
    return outputs


# ---- the agent loop ------------------------------------------------------------
def state_dir(lineage, iteration, stage):
    """A state directory: stage is agent, analyzed, reflected or decided."""
    return f"{RESULTS}/lineage{lineage}/iter{iteration}/{stage}"


def run_dir(lineage, iteration):
    """A train-run directory; its basename (iterN) is the run id in history.json."""
    return f"{RESULTS}/lineage{lineage}/runs/iter{iteration}"


def new_run_args(lineage):
    """agent-step options that start a new run (iteration 1 only). Its
    iteration and time budgets are none (--iterations 0): the decide
    checkpoint applies the configuration's after every iteration, so they are
    in no iteration's inputs and can be raised on a re-run."""
    args = [
        "--seed", config["seed"],
        "--lineage", lineage,
        "--metric", _opt("metric", "auto"),
        "--iterations", 0,
        "--train-time-limit", config["train_time_limit"],
    ]
    for key, opt in [("plateau", "--plateau"), ("target", "--target"), ("valid_fraction", "--valid-fraction"),
                     ("train_mem_limit", "--train-mem-limit")]:
        if config.get(key) is not None:
            args += [opt, config[key]]
    return " ".join(shlex.quote(str(a)) for a in args)


def budget_args():
    """The decide checkpoint's options: the configuration's budgets."""
    return f"--iterations {int(config['iterations'])} --time-budget {float(_opt('time_budget', 0)):g}"


# The LLM agent's settings (config llm:) -> options of agent-step and reflect,
# one row each (agent: llm only; a setting left null is not passed). A new
# setting is one row here, one key in config.yaml and config.schema.yaml (llm),
# and one row of llmOptions in workflows/nextflow.config (the Nextflow pipeline).
LLM_OPTIONS = {
    "provider": "--provider",
    "model": "--model",
    "api_base": "--api-base",
    "price_file": "--price-file",
    "max_llm_calls": "--max-llm-calls",
    "max_cost": "--max-cost",
    "baseline": "--baseline",
    "max_turns": "--max-turns",
    "submit_retries": "--submit-retries",
    "bash_timeout": "--bash-timeout",
    "sandbox_mem": "--sandbox-mem",
    "llm_timeout": "--llm-timeout",
    "llm_protocol": "--llm-protocol",
    "max_tokens": "--max-tokens",
    "context_tokens": "--context-tokens",
    "step_timeout": "--step-timeout",
}


def llm_args():
    """agent-step/reflect options of the LLM agent (empty for the builtin agent)."""
    if config.get("agent") != "llm":
        return ""
    llm = config.get("llm") or {}
    args = []
    for key, opt in LLM_OPTIONS.items():
        if llm.get(key) is not None and llm.get(key) != "":
            args += [opt, llm[key]]
    return " ".join(shlex.quote(str(a)) for a in args)


def agent_steps_input(wildcards):
    inputs = {"data": f"{RESULTS}/data/agent"}
    iteration = int(wildcards.iteration)
    if iteration > 1:
        inputs["state"] = state_dir(wildcards.lineage, iteration - 1, "reflected")
    return inputs


def agent_steps_state_args(wildcards, input):
    if int(wildcards.iteration) > 1:
        return f"--state {shlex.quote(str(input.state))}"
    return new_run_args(wildcards.lineage)


def _read_json(path):
    with open(path) as fp:
        return json.load(fp)


def lineage_iterations(lineage):
    """How many iterations LINEAGE runs: walks the decide checkpoints from
    iteration 1 until a decision other than "continue" (agentomics-reflect
    --decide makes it, with the configuration's budgets). While a decision is
    missing, checkpoints.decide.get raises and Snakemake schedules it, then
    re-evaluates this function."""
    iteration = 1
    while True:
        out = checkpoints.decide.get(lineage=str(lineage), iteration=str(iteration)).output[0]
        if _read_json(os.path.join(out, "decision.json")).get("decision") != "continue":
            return iteration
        iteration += 1


def final_state(lineage):
    """LINEAGE's final (decided) state directory (walks its checkpoints)."""
    return state_dir(lineage, lineage_iterations(lineage), "decided")


def final_state_inputs():
    """One input function per lineage, each giving that lineage's final
    state. Separate functions, because Snakemake evaluates each on its own:
    while lineage 1's next reflect is pending, lineage 2's is requested too,
    so the lineages run side by side."""

    def of(lineage):
        return lambda wildcards: final_state(lineage)

    return [of(lineage) for lineage in range(1, LINEAGES + 1)]


def selection():
    """lineages.json, written by agentomics-select in the select_lineage
    checkpoint (raises, and so schedules the checkpoint, until it exists)."""
    return _read_json(checkpoints.select_lineage.get().output[0])


def _entry(sel, lineage):
    return next(r for r in sel["lineages"] if r["lineage"] == int(lineage))


def lineage_runs(lineage, iterations):
    return [run_dir(lineage, i) for i in range(1, int(iterations) + 1)]


def lineage_summary_input(wildcards):
    return {"selection": checkpoints.select_lineage.get().output[0]}


def lineage_summary_json(wildcards, input):
    """lineage<L>/summary.json: the lineage's record from lineages.json, with
    its final state and its runs."""
    rec = _entry(selection(), wildcards.lineage)
    summary = {k: rec[k] for k in ("lineage", "iterations", "best", "decision")}
    summary.update(final_state=rec["state"], runs=lineage_runs(rec["lineage"], rec["iterations"]))
    return json.dumps(summary, sort_keys=True)


def chosen_input(wildcards):
    """The chosen lineage's final state and runs (from lineages.json), the
    agent data and the selection slice (package-model's ensemble check)."""
    sel = selection()
    rec = _entry(sel, sel["chosen"])
    return {
        "selection": checkpoints.select_lineage.get().output[0],
        "state": sel["chosen_state"],
        "runs": lineage_runs(rec["lineage"], rec["iterations"]),
        "data": f"{RESULTS}/data/agent",
        "slice": f"{RESULTS}/data/selection",
    }


def input_arg(key):
    """A params function: the shell-quoted input files named KEY ("" while
    they are not known yet, e.g. in a dry run before the checkpoints ran)."""

    def get(wildcards, input):
        files = input.get(key, [])
        return " ".join(shlex.quote(str(f)) for f in ([files] if isinstance(files, str) else files))

    return get


def report_input(wildcards):
    """agentomics-report's inputs: everything the results folder will hold."""
    inputs = {
        "model": f"{RESULTS}/model.tar.gz",
        "history": f"{RESULTS}/history.json",
        "summaries": [f"{RESULTS}/lineage{lineage}/summary.json" for lineage in range(1, LINEAGES + 1)],
    }
    if HAS_TEST:
        inputs["test"] = [f"{RESULTS}/test_metrics.json", f"{RESULTS}/test_predictions.tsv"]
    return inputs


def final_targets():
    targets = [
        f"{RESULTS}/model.tar.gz",
        f"{RESULTS}/history.json",
        f"{RESULTS}/report.md",
        f"{RESULTS}/report.html",
        f"{RESULTS}/lineages.json",
    ]
    targets += [f"{RESULTS}/lineage{lineage}/summary.json" for lineage in range(1, LINEAGES + 1)]
    if HAS_TEST:
        targets += [f"{RESULTS}/test_predictions.tsv", f"{RESULTS}/test_metrics.json"]
    return targets
