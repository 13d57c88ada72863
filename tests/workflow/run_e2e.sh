#!/bin/bash
# tests/workflow/run_e2e.sh [SNAKEMAKE_BIN [WORKDIR]] — the Snakemake workflow
# end to end on a small real slice (tests/workflow/test_config.yaml: GUE
# prom_300_tata 400/100/100 rows, 2 lineages x 2 iterations), then checks every
# output (TAP). WORKDIR is kept when given, else a temporary one is used.
# AGENTOMICS_WORKFLOW_BIN: the tools' folder [bin/ of this repository].
. "$(dirname "$0")/../cli/lib.sh"
. "$ROOT/tests/workflow/common.sh"
SMK=${1:-${SNAKEMAKE:-snakemake}}
W=${2:-$TMP/e2e}
command -v "$SMK" >/dev/null || { echo "run_e2e.sh: no snakemake ('$SMK')" >&2; exit 2; }
m=$(wf_missing_tools)
[ -z "$m" ] || { echo "run_e2e.sh: missing in $WF_BIN: $m" >&2; exit 2; }
wf_setup "$W"
t0=$(date +%s)
if wf_run "$W"; then ok "workflow runs ($(( $(date +%s) - t0 )) s, $("$SMK" --version))"; else not_ok "workflow runs"; wf_tail "$W.log"; fi
wf_check_outputs "$W"
if "$PY" "$ROOT/tests/workflow/check_leakage.py" "$(wf_results "$W")" >"$TMP/.leak" 2>&1; then ok "no held-out test sequence in any file staged for the agent"; else not_ok "no held-out test sequence in any file staged for the agent"; fi
sed 's/^/#   /' "$TMP/.leak"
done_testing
