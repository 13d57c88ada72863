#!/bin/bash
# tests/cli/test_workflow_snakemake.sh — the Snakemake workflow (workflows/Snakefile)
# with the snakemake on PATH (or $SNAKEMAKE) on a small real slice
# (tests/workflow/test_config.yaml: 2 lineages side by side, 2 iterations each):
#   lint and dry run; the configuration checked against
#   workflows/config.schema.yaml before any job (unknown keys with the closest
#   known one, types, enums, ranges, missing files, train or class: every
#   problem at once, nothing run); run A killed during iteration 2 and resumed (nothing
#   that finished is recomputed; a further run has nothing to do), every output
#   checked (the best lineage is the one packaged); run B uninterrupted in
#   another directory with the same seed gives a byte-identical model.tar.gz,
#   and re-run with iterations 3 continues both lineages without recomputing a
#   finished iteration (only the decide jobs and what follows the loop run);
#   no file staged for the agent contains a held-out test sequence (and the
#   check does catch a planted one).
# Skipped (one "# SKIP" line) when no snakemake is installed.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/workflow/common.sh"
SMK=${SNAKEMAKE:-snakemake}
if ! command -v "$SMK" >/dev/null 2>&1; then
    ok "Snakemake workflow # SKIP no snakemake on PATH"
    done_testing; exit
fi
V=$("$SMK" --version 2>/dev/null)

# ---- static checks -------------------------------------------------------------
# (with the test configuration: the configuration is checked when the
# workflow is read, and the default one has no input)
wf_setup "$TMP/lint"
if "$SMK" -s "$ROOT/workflows/Snakefile" --directory "$TMP/lint" --configfile "$WF_CONFIG" --config bin_dir="$WF_BIN" --lint >"$TMP/.out" 2>&1 && ! grep -q "^Lints for" "$TMP/.out"; then
    ok "snakemake $V --lint is clean"
else
    not_ok "snakemake $V --lint is clean"; sed 's/^/#   /' "$TMP/.out" | head -30
fi
m=$(wf_missing_tools)
if [ -n "$m" ]; then
    not_ok "the workflow's tools are built (missing in $WF_BIN: $m)"
    done_testing; exit
fi
A=$TMP/a
wf_setup "$A"
if wf_run "$A" --dry-run; then ok "dry run"; else not_ok "dry run"; wf_tail "$A.log"; fi

# ---- the configuration is checked before any job ------------------------------------
ccheck() {   # DESC PATTERN... -- snakemake --config arguments
    desc=$1; shift; pats=()
    while [ "$1" != -- ]; do pats+=("$1"); shift; done; shift
    wf_setup "$TMP/cfg"
    wf_run "$TMP/cfg" --config bin_dir="$WF_BIN" "$@"; rc=$?   # (a second --config replaces the first)
    miss=""; for pat in "${pats[@]}"; do grep -qF -- "$pat" "$TMP/cfg.log" || miss="$miss [$pat]"; done
    if [ "$rc" = 1 ] && [ -z "$miss" ] && [ ! -e "$TMP/cfg/results" ]; then ok "$desc"
    else not_ok "$desc (exit $rc; missing:$miss)"; wf_tail "$TMP/cfg.log"; fi
}
ccheck "config: a typo is an error naming the key meant (nothing run)" "iteratons: unknown key (did you mean iterations?)" -- iteratons=1
ccheck "config: nested typos (llm, inputs)" "llm.max_turn: unknown key (did you mean llm.max_turns?)" "inputs.tset: unknown key (did you mean inputs.test?)" \
    -- 'llm={max_turn: 3}' 'inputs={tset: x.csv}'
ccheck "config: wrong type, value outside the enum, a range, a missing file: all at once" "the configuration is not valid (4 problems" \
    "iterations: 'abc' is not of type 'integer'" "metric: 'aucroc' is not one of" "lineages: 0 is less than the minimum of 1" "inputs.train: nope.csv: no such file" \
    -- iterations=abc metric=aucroc lineages=0 'inputs={train: nope.csv}'
ccheck "config: the LLM's protocol, token and time settings are checked; numbers given with --config are numbers" "the configuration is not valid (3 problems" "llm.llm_protocol: 'xml' is not one of" "llm.context_tokens: 100 is less than the minimum of 1024" \
    "llm.step_timeout: 0 is less than or equal to the minimum of 0" -- 'llm={llm_protocol: xml, context_tokens: 100, max_tokens: 2048, llm_timeout: 900, step_timeout: 0}'
ccheck "config: neither train nor class" "inputs: train or class is required" -- 'inputs={train: [], valid: [], test: []}'

# ---- run A: killed hard during iteration 2, then resumed ---------------------------
# The kill comes once lineage 1's iteration 2 has started (its log exists), i.e.
# after Snakemake recorded iteration 1 as finished. SIGKILL to the whole process
# group (snakemake and its running tools) is a crash or a preemption: no
# graceful shutdown (Snakemake 7.21's SIGTERM handler can deadlock). The
# resume is what Snakemake asks for after a crash: --unlock, then a run with
# --rerun-incomplete (which reruns only the jobs that were in flight).
RA=$(wf_results "$A")
NEXT=$RA/logs/lineage1/iter2/agent_steps.log
t0=$(date +%s)
setsid "$SMK" -s "$ROOT/workflows/Snakefile" --directory "$A" --configfile "$WF_CONFIG" \
    --config bin_dir="$WF_BIN" --cores 2 >"$A.log" 2>&1 &
pid=$!
while [ ! -e "$NEXT" ] && kill -0 "$pid" 2>/dev/null && [ $(( $(date +%s) - t0 )) -lt 150 ]; do sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid"; wait "$pid" 2>/dev/null; rc=$?
    sleep 0.5
    if [ -e "$NEXT" ] && [ ! -e "$RA/model.tar.gz" ]; then ok "run A killed during iteration 2 (exit $rc)"; else not_ok "run A killed during iteration 2 (exit $rc, no iteration 2 after 150 s)"; wf_tail "$A.log"; fi
else
    wait "$pid"; rc=$?
    ok "run A killed during iteration 2 # SKIP it ended (exit $rc) before iteration 2 started"
fi
cp "$A.log" "$TMP/a-first.log"
# what the first run finished: lineage 1's iteration 1 and the prepared data
FIRST="$RA/data $RA/lineage1/iter1 $RA/lineage1/runs/iter1"
snap() { find $FIRST -printf '%p %i %T@ %s\n' | sort; }
snap >"$TMP/before"
wf_run "$A" --unlock
if wf_run "$A" --rerun-incomplete; then ok "run A resumed to the end ($(( $(date +%s) - t0 )) s for both parts)"; else not_ok "run A resumed to the end"; wf_tail "$A.log"; fi
snap >"$TMP/after"
if cmp -s "$TMP/before" "$TMP/after"; then ok "resume left the finished first iteration untouched (inodes, mtimes)"; else not_ok "resume left the finished first iteration untouched"; diff "$TMP/before" "$TMP/after" | head -10 | sed 's/^/#   /'; fi
if ! grep -E '^ *output: ' "$A.log" | grep -Eq "lineage1/(iter1|runs/iter1)(/|,| |$)|data/(agent|heldout)"; then
    ok "resume scheduled no job of the finished first iteration"
else
    not_ok "resume scheduled no job of the finished first iteration"; grep -E '^ *output: ' "$A.log" | sed 's/^/#   /' | head
fi
if grep -Eq "rule (agent_steps|train_run|analyze|reflect):|checkpoint reflect:" "$TMP/a-first.log" && grep -q "Finished job\|Finished jobid" "$A.log"; then
    ok "both parts of run A executed jobs"
else
    not_ok "both parts of run A executed jobs"
fi
if wf_run "$A" --dry-run && grep -q "Nothing to be done" "$A.log"; then ok "a further run has nothing to do"; else not_ok "a further run has nothing to do"; wf_tail "$A.log"; fi

# ---- outputs ----------------------------------------------------------------------
wf_check_outputs "$A" 2

# ---- snakemake --report: report.html and report.md, annotated with report() ----------
# Snakemake 7.21 downloads its own licence text while it renders, so an offline
# machine gets a skip with the reason.
if wf_run "$A" --report "$TMP/smk-report.zip"; then
    if "$PY" -c 'import sys, zipfile; n = zipfile.ZipFile(sys.argv[1]).namelist(); sys.exit(not any(x.endswith("report.html") for x in n) or not any(x.endswith("report.md") for x in n))' "$TMP/smk-report.zip"; then
        ok "snakemake --report bundles report.html and report.md"
    else not_ok "snakemake --report bundles report.html and report.md"; fi
elif grep -q "ConnectionError\|Name or service not known" "$A.log"; then
    ok "snakemake --report # SKIP Snakemake could not download what its report embeds (offline): $(grep -o 'host=[^,]*' "$A.log" | head -1)"
else
    not_ok "snakemake --report"; wf_tail "$A.log"
fi

# ---- run B: same seed, another directory, not interrupted ---------------------------
B=$TMP/b
wf_setup "$B"
t0=$(date +%s)
if wf_run "$B"; then ok "run B ($(( $(date +%s) - t0 )) s)"; else not_ok "run B"; wf_tail "$B.log"; fi
RB=$(wf_results "$B")
if cmp "$RA/model.tar.gz" "$RB/model.tar.gz" >"$TMP/.out" 2>&1; then ok "same seed: byte-identical model.tar.gz"; else not_ok "same seed: byte-identical model.tar.gz"; sed 's/^/#   /' "$TMP/.out"; fi
if cmp -s "$RA/test_metrics.json" "$RB/test_metrics.json" && cmp -s "$RA/test_predictions.tsv" "$RB/test_predictions.tsv"; then ok "same seed: identical test predictions and metrics"; else not_ok "same seed: identical test predictions and metrics"; fi

# ---- run B again with a larger iteration budget: no finished iteration recomputed ----
t0=$(date +%s)
if wf_run "$B" --config bin_dir="$WF_BIN" iterations=3; then ok "run B re-run with iterations=3 ($(( $(date +%s) - t0 )) s)"; else not_ok "run B re-run with iterations=3"; wf_tail "$B.log"; fi
if grep -E '^ *output: ' "$B.log" | grep -Eq "lineage[0-9]+/(iter[12]/(agent|analyzed|reflected)|runs/iter[12])(/|,| |$)|data/(agent|heldout)"; then
    not_ok "iterations=3: no job of iterations 1 and 2 but their decisions ran again"; grep -E '^ *output: ' "$B.log" | sed 's/^/#   /' | head
elif [ "$(grep -Ec '^ *output: .*lineage[0-9]+/iter[12]/decided' "$B.log")" = 4 ]; then
    ok "iterations=3: only the 4 decisions of iterations 1 and 2 ran again, no other job of them"
else not_ok "iterations=3: the decisions of iterations 1 and 2 ran again"; grep -E '^ *output: ' "$B.log" | sed 's/^/#   /' | head; fi
if out=$("$PY" - "$RB" 2>&1 <<'EOF'
import json, sys
r = sys.argv[1]
recs = json.load(open(f"{r}/lineages.json"))["lineages"]
got = [(x["lineage"], x["iterations"], x["decision"]["reason"]) for x in recs]
assert all(n == 3 or "plateau" in why for _, n, why in got) and any(n == 3 for _, n, _ in got), got
for l, n, _ in got:
    assert json.load(open(f"{r}/lineage{l}/iter{n}/decided/run.json"))["budgets"]["iterations"] == 3
print(got)
EOF
); then ok "iterations=3: the lineages went on to the new budget: $out"; else not_ok "iterations=3: the lineages went on to the new budget"; printf '%s\n' "$out" | sed 's/^/#   /'; fi

# ---- leakage -----------------------------------------------------------------------
if "$PY" "$ROOT/tests/workflow/check_leakage.py" "$RA" >"$TMP/.out" 2>&1; then ok "no held-out test sequence in any file staged for the agent"; else not_ok "no held-out test sequence in any file staged for the agent"; fi
sed 's/^/#   /' "$TMP/.out" | head -10
# the check itself: a planted test sequence is found
mkdir -p "$TMP/plant"
sed -n 2p "$RA/data/heldout/test.tsv" | cut -f2 | tr 'ACGT' 'acgt' >"$TMP/plant/notes.txt"
if ! "$PY" "$ROOT/tests/workflow/check_leakage.py" "$RA" "$TMP/plant" >"$TMP/.out" 2>&1 && grep -q "LEAK: .*notes.txt" "$TMP/.out"; then
    ok "the leakage check finds a planted test sequence"
else
    not_ok "the leakage check finds a planted test sequence"; sed 's/^/#   /' "$TMP/.out"
fi

done_testing
