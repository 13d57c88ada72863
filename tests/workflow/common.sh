# tests/workflow/common.sh — helpers for the Snakemake workflow tests, sourced
# after tests/cli/lib.sh (ROOT, BIN, TMP, ok, not_ok).
#   SMK        the snakemake command
#   WF_BIN     the folder with the agentomics-* tools [$AGENTOMICS_WORKFLOW_BIN or $ROOT/bin]
#   WF_CONFIG  the configuration [tests/workflow/test_config.yaml]
WF_BIN=${AGENTOMICS_WORKFLOW_BIN:-$BIN}
WF_CONFIG=${WF_CONFIG:-$ROOT/tests/workflow/test_config.yaml}
WF_DATASET=gue_tata_sample
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
WF_TOOLS="prepare-data agent-step train-run reflect select package-model predict evaluate"

# wf_missing_tools: prints the tools absent from WF_BIN
wf_missing_tools() {
    for t in $WF_TOOLS; do [ -x "$WF_BIN/agentomics-$t" ] || printf '%s ' "agentomics-$t"; done
}

# wf_setup DIR: a fresh working directory; test_config.yaml's relative input
# paths (tests/data/...) resolve through a link to the repository's tests/data.
wf_setup() {
    rm -rf "$1" && mkdir -p "$1/tests" && ln -s "$ROOT/tests/data" "$1/tests/data"
}

# wf_run DIR [snakemake options...]: runs the workflow in DIR (output to DIR.log),
# for at most WF_TIMEOUT seconds [300]
wf_run() {
    d=$1; shift
    timeout -k 10 "${WF_TIMEOUT:-300}" "$SMK" -s "$ROOT/workflows/Snakefile" --directory "$d" --configfile "$WF_CONFIG" \
        --config bin_dir="$WF_BIN" --cores 2 "$@" >"$d.log" 2>&1
}

# wf_results DIR: the results folder of a run in DIR
wf_results() { echo "$1/results/$WF_DATASET"; }

# wf_tail LOG: the end of a log as TAP comments
wf_tail() { tail -n 25 "$1" | sed 's/^/#   /'; }

# wf_check_outputs DIR ITERATIONS: TAP checks of every output of a finished
# run with that iteration budget
wf_check_outputs() {
    r=$(wf_results "$1")
    budget=${2:-2}
    missing=""
    for f in model.tar.gz test_metrics.json test_predictions.tsv history.json report.md report.html agentomics_mqc.json lineages.json \
             data/agent/train.tsv data/agent/dataset.json data/heldout/test.tsv \
             lineage1/summary.json lineage1/iter1/agent/run.json lineage1/iter1/analyzed/history.json \
             lineage1/iter1/reflected/decision.json lineage1/iter1/decided/decision.json lineage1/runs/iter1/metrics.json; do
        [ -s "$r/$f" ] || missing="$missing $f"
    done
    if [ -z "$missing" ]; then ok "every output exists"; else not_ok "every output exists (missing:$missing)"; fi
    if out=$("$PY" - "$r" 2>&1 <<'EOF'
import json, os, sys, tarfile
r = sys.argv[1]
m = json.load(open(f"{r}/test_metrics.json"))
assert m["n"] == 100, f"test_metrics.json scores {m['n']} rows, expected 100"
assert m["auroc"] is not None and m["auroc"] > 0.5, f"test AUROC {m['auroc']} is not above chance"
print(f"test AUROC {m['auroc']:.3f}, MCC {m['mcc']:.3f}")
EOF
    ); then ok "test_metrics.json parses, above chance: $out"; else not_ok "test_metrics.json parses and is above chance"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
    if out=$("$PY" - "$r" "$budget" 2>&1 <<'EOF'
import json, os, sys, tarfile, glob
r, budget = sys.argv[1], int(sys.argv[2])
cfg_lineages = len(glob.glob(f"{r}/lineage*/summary.json"))
sel = json.load(open(f"{r}/lineages.json"))
assert len(sel["lineages"]) == cfg_lineages >= 1
# the choice, recomputed: best validation value, ties to the lowest lineage
vals = []
for rec in sel["lineages"]:
    n = rec["iterations"]
    final = f"{r}/lineage{rec['lineage']}/iter{n}/decided"
    assert rec["state"].endswith(f"lineage{rec['lineage']}/iter{n}/decided"), rec["state"]
    assert not os.path.exists(f"{r}/lineage{rec['lineage']}/iter{n + 1}"), "an iteration after the stop"
    dec = json.load(open(f"{final}/decision.json"))
    assert 1 <= n <= budget and (dec["decision"] == "stop" or n == budget), f"lineage {rec['lineage']} ended at {n} without a stop"
    for i in range(1, n + 1):
        assert os.path.isdir(f"{r}/lineage{rec['lineage']}/runs/iter{i}/model"), f"no model in run iter{i}"
    h = json.load(open(f"{final}/history.json"))
    v = (h.get("best") or {}).get("value")
    vals.append((-(v if v is not None else float("-inf")), rec["lineage"]))
chosen = min(vals)[1]
assert sel["chosen"] == chosen, f"chose lineage {sel['chosen']}, expected {chosen}"
hist = json.load(open(f"{r}/history.json"))
final = json.load(open(f"{r}/lineage{chosen}/summary.json"))["final_state"]
workdir = os.path.dirname(os.path.dirname(os.path.abspath(r)))
assert hist == json.load(open(os.path.join(workdir, final, "history.json"))), "history.json is not the chosen lineage's final history"
assert hist["best"] and hist["best"]["run_id"].startswith("iter"), "no best iteration"
with tarfile.open(f"{r}/model.tar.gz") as t:
    rep = t.extractfile("report.md").read()
    man = json.load(t.extractfile("manifest.json"))
    ah = json.load(t.extractfile("history.json"))
assert rep.strip(), "the package's report.md is empty"
best = f"| Best model | lineage {chosen}, iteration {hist['best']['iteration']} (run {hist['best']['run_id']}):"
assert best in open(f"{r}/report.md").read(), f"report.md does not name the chosen model ({best})"
assert "RED FLAG" in open(f"{r}/report.html").read() or "train/test overlap" in open(f"{r}/report.html").read(), "report.html has no QC flags"
assert ah["best"]["run_id"] == hist["best"]["run_id"], "package's best run differs from history.json"
print(f"lineage {chosen} of {len(vals)}, best {hist['best']['run_id']} valid {hist['best']['metric']} {hist['best']['value']}")
EOF
    ); then ok "best lineage packaged, history.json and the report name it: $out"; else not_ok "best lineage packaged, history.json and the report name it"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}
