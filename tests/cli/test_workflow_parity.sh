#!/bin/bash
# tests/cli/test_workflow_parity.sh — the two workflows are one pipeline:
#   1. their schemas (workflows/nextflow_schema.json, workflows/config.schema.yaml)
#      describe the same settings with the same enums, ranges, patterns and
#      defaults, and their LLM tables (nextflow.config llmOptions,
#      rules/common.smk LLM_OPTIONS) map the same settings to the same
#      options, each one an option agent-step and reflect know;
#   2. for the same inputs and seed (the bundled slice, 2 lineages x 2
#      iterations, seed 7: -profile test and tests/workflow/test_config.yaml)
#      Nextflow and Snakemake give the same package member by member
#      (manifest, report, history, model...; timestamps would be left out, and
#      the packages carry none), the same held-out predictions and metrics and
#      the same lineage choice.
# The runs are skipped, with the reason, when Nextflow cannot be resolved or no
# snakemake is installed.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/workflow/common.sh"
NF="$ROOT/tests/workflow/nextflow.sh"
SMK=${SNAKEMAKE:-snakemake}

# ---- 1. the schemas and the LLM tables ----------------------------------------------------
check "the two schemas describe the same settings with the same rules" "$PY" - "$ROOT/workflows" <<'PY'
import json, os, sys, yaml
w = sys.argv[1]
nf = json.load(open(os.path.join(w, "nextflow_schema.json")))
smk = yaml.safe_load(open(os.path.join(w, "config.schema.yaml")))
nf_props = {n: (g, p) for g, d in nf["$defs"].items() for n, p in d["properties"].items()}
top = smk["properties"]
def smk_prop(name, group):
    if group == "input_output_options" and name in top["inputs"]["properties"]:
        return top["inputs"]["properties"][name]
    if group == "llm_options":
        return top["llm"]["properties"].get(name)
    return top.get(name)
NF_ONLY = {"outdir", "publish_mode", "max_cpus", "max_memory", "max_time", "help"}   # Nextflow's own
bad, seen = [], set()
for name, (group, p) in nf_props.items():
    if name in NF_ONLY:
        continue
    q = smk_prop(name, group)
    if q is None:
        bad.append(f"{name}: not in config.schema.yaml"); continue
    seen.add(name)
    for k in ("enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        # a nullable enum lists null in JSON Schema (Snakemake validates it);
        # Nextflow's check treats null as "not given" and lists the values only
        pv, qv = p.get(k), q.get(k)
        if k == "enum" and isinstance(qv, list) and None in qv and "null" in (p.get("type") or []):
            qv = [v for v in qv if v is not None]
        if pv != qv:
            bad.append(f"{name}: {k} {p.get(k)!r} (Nextflow) vs {q.get(k)!r} (Snakemake)")
    if name != "container" and "default" in p and p["default"] != q.get("default"):
        bad.append(f"{name}: default {p['default']!r} vs {q.get('default')!r}")
    if not q.get("description"):
        bad.append(f"{name}: undocumented in config.schema.yaml")
smk_names = set(top["inputs"]["properties"]) | set(top["llm"]["properties"]) | set(top) - {"inputs", "llm", "resources"}
extra = smk_names - seen
if extra:
    bad.append(f"only in config.schema.yaml: {sorted(extra)}")
cfg = yaml.safe_load(open(os.path.join(w, "config.yaml")))
def walk(c, s, path):   # every key of config.yaml is in the schema, with its default
    for k, v in c.items():
        if k not in s["properties"]:
            bad.append(f"config.yaml {path}{k}: not in config.schema.yaml"); continue
        sub = s["properties"][k]
        if isinstance(v, dict) and sub.get("type") == "object" and "properties" in sub:
            walk(v, sub, f"{path}{k}.")
        elif path.startswith("resources."):
            continue
        elif sub.get("default", v) != v:
            bad.append(f"config.yaml {path}{k}: {v!r}, schema default {sub.get('default')!r}")
walk(cfg, smk, "")
if bad:
    sys.exit("\n".join(bad))
print(f"{len(seen)} settings in both")
PY
check "the LLM tables of both workflows map the same settings to the same options, which agent-step and reflect know" "$PY" - "$ROOT" "$BIN" <<'PY'
import ast, os, re, subprocess, sys
root, b = sys.argv[1:]
cfg = open(os.path.join(root, "workflows/nextflow.config")).read()
block = re.search(r"def llmOptions = \[(.*?)\n\]", cfg, re.S).group(1)
nf = dict(re.findall(r"(\w+)\s*:\s*'(--[a-z-]+)'", block))
smk_src = open(os.path.join(root, "workflows/rules/common.smk")).read()
smk = ast.literal_eval(re.search(r"LLM_OPTIONS = (\{.*?\n\})", smk_src, re.S).group(1))
assert nf == smk, f"Nextflow {nf} vs Snakemake {smk}"
for tool in ("agent-step", "reflect"):
    h = subprocess.run([os.path.join(b, f"agentomics-{tool}"), "--help"], capture_output=True, text=True).stdout
    missing = [o for o in nf.values() if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", h)]
    assert not missing, f"agentomics-{tool} does not know {missing}"
print(f"{len(nf)} settings: {', '.join(nf)}")
PY

# ---- 2. the same package from both engines -------------------------------------------------
skip=""
command -v "$SMK" >/dev/null 2>&1 || skip="no snakemake on PATH"
[ -z "$skip" ] && ! "$NF" resolve >"$TMP/resolve.out" 2>"$TMP/resolve.err" && skip="Nextflow not resolvable: $(tail -1 "$TMP/resolve.err")"
if [ -n "$skip" ]; then
    ok "the same package, predictions and choice from both engines # SKIP $skip"
    done_testing; exit
fi
S=$TMP/smk
wf_setup "$S"
t0=$(date +%s)
if wf_run "$S"; then ok "Snakemake: tests/workflow/test_config.yaml ($(( $(date +%s) - t0 )) s)"; else not_ok "Snakemake run"; wf_tail "$S.log"; fi
mkdir -p "$TMP/nf"
t0=$(date +%s)
if (cd "$TMP/nf" && "$NF" nf run "$ROOT/workflows/main.nf" -profile test --outdir "$TMP/nf/out" -ansi-log false) >"$TMP/nf.log" 2>&1; then
    ok "Nextflow: -profile test ($(( $(date +%s) - t0 )) s)"; else not_ok "Nextflow run"; wf_tail "$TMP/nf.log"; fi
check "the same package member by member (timestamps aside), predictions, metrics and lineage choice" "$PY" - "$(wf_results "$S")" "$TMP/nf/out" <<'PY'
import json, sys, tarfile
smk, nf = sys.argv[1:]
CLOCK = {"seconds", "duration", "started", "finished", "started_at", "finished_at", "timestamp", "peak_rss_mb", "peak_rss_kb"}
def noclock(x):
    if isinstance(x, dict):
        return {k: noclock(v) for k, v in x.items() if k not in CLOCK and not k.endswith("_seconds")}
    return [noclock(v) for v in x] if isinstance(x, list) else x
a, b = tarfile.open(f"{smk}/model.tar.gz"), tarfile.open(f"{nf}/model.tar.gz")
na, nb = a.getnames(), b.getnames()
assert na == nb, f"members differ: {na} vs {nb}"
for n in na:
    x, y = a.extractfile(n).read(), b.extractfile(n).read()
    if n.endswith(".json") and n != "manifest.json":
        x, y = noclock(json.loads(x)), noclock(json.loads(y))
    elif n == "manifest.json":   # its checksums cover the members compared here
        x, y = json.loads(x), json.loads(y)
    assert x == y, f"{n} differs between the engines"
man = json.load(a.extractfile("manifest.json"))
assert man.get("positive_class") and man.get("sequence_columns"), "the manifest lacks positive_class or sequence_columns"
assert "Positive class" in a.extractfile("report.md").read().decode(), "the report lacks the positive class"
for f in ("test_predictions.tsv", "test_metrics.json"):
    assert open(f"{smk}/{f}", "rb").read() == open(f"{nf}/{f}", "rb").read(), f"{f} differs"
# the report: the same text but for its run times (every one written "N.N s")
import re
clock = lambda p: re.sub(r"[0-9]+\.[0-9] s\b", "T s", open(p).read())
assert clock(f"{smk}/report.md") == clock(f"{nf}/report.md"), "report.md differs beyond its run times"
# the chosen lineage's full history, beside the package: the same but for its run times
assert noclock(json.load(open(f"{smk}/history.json"))) == noclock(json.load(open(f"{nf}/history.json"))), "history.json differs"
ls, ln = json.load(open(f"{smk}/lineages.json")), json.load(open(f"{nf}/lineages.json"))
strip = lambda sel: [{k: (v.rsplit("/", 3)[-3:] if k == "state" else v) for k, v in r.items()} for r in sel["lineages"]]
assert ls["chosen"] == ln["chosen"] and strip(ls) == strip(ln), "lineages.json differs"
same = open(f"{smk}/model.tar.gz", "rb").read() == open(f"{nf}/model.tar.gz", "rb").read()
print(f"{len(na)} members equal; positive class {man['positive_class']}, columns {man['sequence_columns']}; "
      f"lineage {ls['chosen']} chosen by both; the packages are {'byte-identical' if same else 'equal member by member'}")
PY
sed 's/^/#   /' "$TMP/.out"
done_testing
