# Shared helpers: configuration, tool paths, prepare-data arguments, the walk
# over the iteration checkpoints and reading agentomics-select's lineages.json
# (the choice of lineage itself is made by agentomics-select).
import json
import shlex


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


DATASET = str(config["dataset"])
if not DATASET or os.path.basename(DATASET) != DATASET or DATASET.startswith("."):
    raise ValueError(f"config: dataset '{DATASET}' must be a plain folder name")
RESULTS = f"results/{DATASET}"
ITERATIONS = int(config["iterations"])
LINEAGES = int(config["lineages"])
if ITERATIONS < 1 or LINEAGES < 1:
    raise ValueError("config: iterations and lineages must be at least 1")
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
    if not (_as_list(inp.get("train")) or inp.get("class")):
        raise ValueError("config: inputs.train or inputs.class is required (see workflows/config.yaml)")
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
    """data/agent, and data/heldout when a test set is given."""
    outputs = {"agent": directory(f"{RESULTS}/data/agent")}
    if HAS_TEST:
        outputs["heldout"] = directory(f"{RESULTS}/data/heldout")
    return outputs


# ---- the agent loop ------------------------------------------------------------
def state_dir(lineage, iteration, stage):
    """A state directory: stage is agent, analyzed or reflected."""
    return f"{RESULTS}/lineage{lineage}/iter{iteration}/{stage}"


def run_dir(lineage, iteration):
    """A train-run directory; its basename (iterN) is the run id in history.json."""
    return f"{RESULTS}/lineage{lineage}/runs/iter{iteration}"


def new_run_args(lineage):
    """agent-step options that start a new run (iteration 1 only)."""
    args = [
        "--seed", config["seed"],
        "--lineage", lineage,
        "--metric", _opt("metric", "auto"),
        "--iterations", ITERATIONS,
        "--train-time-limit", config["train_time_limit"],
    ]
    for key, opt in [("time_budget", "--time-budget"), ("plateau", "--plateau"), ("target", "--target")]:
        if config.get(key) is not None:
            args += [opt, config[key]]
    return " ".join(shlex.quote(str(a)) for a in args)


def llm_args():
    """agent-step/reflect options of the LLM agent (empty for the builtin agent)."""
    if config.get("agent") != "llm":
        return ""
    llm = config.get("llm") or {}
    args = []
    for key, opt in [("provider", "--provider"), ("model", "--model"), ("api_base", "--api-base"),
                     ("max_llm_calls", "--max-llm-calls"), ("max_cost", "--max-cost"), ("price_file", "--price-file"),
                     ("baseline", "--baseline"), ("max_turns", "--max-turns"), ("bash_timeout", "--bash-timeout")]:
        if llm.get(key) is not None:
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
    """How many iterations LINEAGE runs: walks the reflect checkpoints from
    iteration 1 until a decision other than "continue" or the budget. While a
    reflect output is missing, checkpoints.reflect.get raises and Snakemake
    schedules it, then re-evaluates this function."""
    iteration = 1
    while True:
        out = checkpoints.reflect.get(lineage=str(lineage), iteration=str(iteration)).output[0]
        decision = _read_json(os.path.join(out, "decision.json")).get("decision")
        if decision != "continue" or iteration >= ITERATIONS:
            return iteration
        iteration += 1


def final_state(lineage):
    """LINEAGE's final (reflected) state directory (walks its checkpoints)."""
    return state_dir(lineage, lineage_iterations(lineage), "reflected")


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
    """The chosen lineage's final state and runs (from lineages.json)."""
    sel = selection()
    rec = _entry(sel, sel["chosen"])
    return {
        "selection": checkpoints.select_lineage.get().output[0],
        "state": sel["chosen_state"],
        "runs": lineage_runs(rec["lineage"], rec["iterations"]),
    }


def input_arg(key):
    """A params function: the shell-quoted input files named KEY ("" while
    they are not known yet, e.g. in a dry run before the checkpoints ran)."""

    def get(wildcards, input):
        files = input.get(key, [])
        return " ".join(shlex.quote(str(f)) for f in ([files] if isinstance(files, str) else files))

    return get


def final_targets():
    targets = [
        f"{RESULTS}/model.tar.gz",
        f"{RESULTS}/history.json",
        f"{RESULTS}/report.md",
        f"{RESULTS}/lineages.json",
    ]
    targets += [f"{RESULTS}/lineage{lineage}/summary.json" for lineage in range(1, LINEAGES + 1)]
    if HAS_TEST:
        targets += [f"{RESULTS}/test_predictions.tsv", f"{RESULTS}/test_metrics.json"]
    return targets
