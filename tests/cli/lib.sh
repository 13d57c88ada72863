# tests/cli/lib.sh — helpers sourced by tests/cli/test_*.sh (TAP output).
# BIN: built tools; DATA: tests/data; TMP: a scratch dir removed at exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="${AO_TEST_BIN:-$ROOT/bin}"   # AO_TEST_BIN: another build of the tools (make test-asan)
DATA="$ROOT/tests/data"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentomics-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
T_N=0
T_FAILED=0
ok()     { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
# check DESC CMD... : passes when CMD exits 0
check() { d=$1; shift; if "$@" >"$TMP/.out" 2>"$TMP/.err"; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$TMP/.err" | head -20; fi; }
# expect_exit CODE DESC CMD... : passes when CMD exits with CODE; stderr kept in $TMP/.err
expect_exit() {
    code=$1; d=$2; shift 2
    "$@" >"$TMP/.out" 2>"$TMP/.err"; rc=$?
    if [ "$rc" -eq "$code" ]; then ok "$d"; else not_ok "$d (exit $rc, expected $code)"; sed 's/^/#   /' "$TMP/.err" | head -20; fi
}
# stderr_has PATTERN DESC : the last command's stderr matches the extended regex
stderr_has() { if grep -Eq -- "$1" "$TMP/.err"; then ok "$2"; else not_ok "$2"; echo "#   stderr lacks /$1/:"; sed 's/^/#   /' "$TMP/.err" | head -10; fi; }
# J FILE EXPR: EXPR (Python, the document as d) of a JSON file
J() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# recipe_state AGENTDIR DIR RECIPE_JSON: a run's first iteration (plan) with a hand-written recipe
recipe_state() {
    "$BIN/agentomics-agent-step" --step plan --data "$1" --out "$2" -q && mkdir -p "$2/workspace" && printf '%s\n' "$3" > "$2/workspace/recipe.json"
}
# results RES TRAIN ITERATIONS [PREPARE-DATA OPTION...]: prepare-data (valid and test: the
# gue_tata fixture's; RESULTS_NO_VALID=1: no validation set, the agent splits train), the
# builtin loop by hand, select, package, predict and evaluate, laid out as the workflows
# publish them.
results() {
    local res=$1 train=$2 n=$3 i state="" valid=(--valid "$DATA/gue_tata_dev.csv")
    shift 3
    [ -n "${RESULTS_NO_VALID:-}" ] && valid=()
    mkdir -p "$res/data" "$res/lineage1/runs"
    "$BIN/agentomics-prepare-data" --train "$train" "${valid[@]}" --test "$DATA/gue_tata_test.csv" --out "$res/data" -q "$@" || return 1
    for i in $(seq 1 "$n"); do
        local it="$res/lineage1/iter$i" run="$res/lineage1/runs/iter$i"
        mkdir -p "$it"
        "$BIN/agentomics-agent-step" --steps plan,explore,split,represent,architect,code ${state:+--state "$state"} $([ -z "$state" ] && [ -n "${RESULTS_METRIC:-}" ] && echo --metric "$RESULTS_METRIC") \
            --data "$res/data/agent" --out "$it/agent" --iterations "$n" --plateau 0 --seed 3 -q || return 1
        "$BIN/agentomics-train-run" --state "$it/agent" --data "$res/data/agent" --out "$run" 2>"$res/train$i.err" || return 1
        "$BIN/agentomics-agent-step" --step analyze --state "$it/agent" --run "$run" --data "$res/data/agent" --out "$it/analyzed" -q || return 1
        "$BIN/agentomics-reflect" --state "$it/analyzed" --run "$run" --data "$res/data/agent" --out "$it/reflected" -q || return 1
        state="$it/reflected"
    done
    "$BIN/agentomics-select" --states "$state" --out "$res/lineages.json" -q || return 1
    "$BIN/agentomics-package-model" --state "$state" --runs "$res"/lineage1/runs/iter* --data "$res/data/agent" --out "$res/model.tar.gz" -q || return 1
    "$BIN/agentomics-predict" --model "$res/model.tar.gz" --input "$res/data/heldout/test.tsv" --output "$res/test_predictions.tsv" -q || return 1
    "$BIN/agentomics-evaluate" --predictions "$res/test_predictions.tsv" --labels "$res/data/heldout/test.tsv" --out "$res/test_metrics.json" -q
}

done_testing() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }
