#!/bin/bash
# tests/cli/test_sandbox_bounds.sh — the LLM agent's sandbox and state
# against what the model controls (issue 12): hostile workspace contents
# never end the lineage or lose the state, the workspace quota, the
# sandbox's /tmp and memory bounds, a killed agent-step cleans up, and
# no host path of the run reaches the model. Each case fails without its fix.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"
. "$ROOT/tests/llm/server.sh"
llm_skip_unless_ready

export AGENTOMICS_API_KEY=sk-bounds-SECRET
unset OPENAI_API_KEY OPENROUTER_API_KEY AGENTOMICS_MODEL AGENTOMICS_API_BASE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
"$P" --train "$DATA/gue_tata_train.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
# script FILE PLAN_COMMAND...: the plan step runs each command with bash
# (one turn each), then every step submits a builtin choice
script() {
    out=$1; shift
    /usr/bin/python3 - "$@" > "$out" <<'PY'
import json, sys
sub = lambda a: {"tool_calls": [{"name": "submit", "arguments": a}]}
cmds = sys.argv[1:]
rules = [{"match": {"step": "plan", "turn": t}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": c}}]}} for t, c in enumerate(cmds)]
rules += [{"match": {"step": "plan", "turn": len(cmds)}, "reply": sub({"goal": "g", "approach": "a"})},
          {"match": {"step": "explore"}, "reply": sub({"findings": ["f"]})},
          {"match": {"step": "split"}, "reply": sub({"method": "builtin", "valid_fraction": 0.25, "rationale": "r"})},
          {"match": {"step": "represent"}, "reply": sub({"representation": {"type": "kmer", "k": [3]}, "rationale": "r"})},
          {"match": {"step": "architect"}, "reply": sub({"model": {"type": "logreg", "C": 1.0}, "rationale": "r"})},
          {"match": {"step": "code"}, "reply": sub({"entry": "builtin", "recipe": {"representation": {"type": "kmer", "k": [3]}, "model": {"type": "logreg", "C": 1.0}}})}]
print(json.dumps({"rules": rules}))
PY
}
LLM=(--agent llm --provider openai --model fake-model --baseline none)
STEPS=plan,explore,split,represent,architect,code
# tool_result STATE N: the result of the N-th tool call recorded in STATE's transcript
tool_result() { /usr/bin/python3 -c '
import json, sys
rs = [e["result"] for e in map(json.loads, open(sys.argv[1] + "/transcript.jsonl")) if e.get("event") == "tool"]
print(rs[int(sys.argv[2]) - 1] if len(rs) >= int(sys.argv[2]) else "")' "$1" "$2"; }

# ---- hostile workspace contents: the lineage goes on, the state is whole -----------------
# (before: exit 74 at the code step (recipe.json a directory, or
# recipe.json.new a directory where the state wrote its temporary), or at
# the next step's copy of the state (a path longer than PATH_MAX; a
# directory mode 000 when not run as root))
script "$TMP/hostile.json" 'mkdir -p locked/sub && echo x > locked/sub/f && chmod 000 locked && mkdir recipe.json.new recipe.json.tmp.1 && mkdir -p recipe.json/x && echo made'
start_server "$TMP/hostile.json"
check "hostile workspace: the iteration's steps run" "$S" --steps $STEPS --data "$A" --out "$TMP/h1" "${LLM[@]}" --api-base "$BASE"
stderr_has "workspace/recipe.json: the agent left a directory there; it is replaced" "recipe.json made a directory: replaced by the recipe, with a warning"
[ -f "$TMP/h1/workspace/recipe.json" ] && [ "$(J "$TMP/h1/steps/code.json" "d['entry']")" = builtin ] && ok "the recipe was written" || not_ok "the recipe was written"
[ -d "$TMP/h1/workspace/recipe.json.new" ] && [ -d "$TMP/h1/workspace/recipe.json.tmp.1" ] && ok "directories named like temporaries are left alone" || not_ok "directories named like temporaries are left alone"
check "train-run on the hostile state" "$T" --state "$TMP/h1" --data "$A" --out "$TMP/h1run" -q
# the copy by an unprivileged user, for whom the mode-000 directory cannot be opened
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 755 "$TMP"; mkdir "$TMP/nobody" && chown 65534 "$TMP/nobody"
    expect_exit 0 "unprivileged analyze: a directory mode 000 does not stop the copy" setpriv --reuid=65534 --regid=65534 --clear-groups "$S" --step analyze --state "$TMP/h1" --run "$TMP/h1run" --data "$A" --out "$TMP/nobody/a"
    stderr_has "workspace/locked: cannot be read \(Permission denied\): not carried into the new state" "... it is skipped with a warning naming it"
    [ -f "$TMP/nobody/a/history.json" ] && [ -f "$TMP/nobody/a/workspace/recipe.json" ] && [ ! -e "$TMP/nobody/a/workspace/locked" ] && ok "... and the rest of the state is there" || not_ok "... and the rest of the state is there"
    chmod 700 "$TMP"
else
    ok "# SKIP unprivileged copy: needs root and setpriv"; ok "# SKIP"; ok "# SKIP"
fi
chmod -R u+rwx "$TMP/h1/workspace/locked"
# a path longer than PATH_MAX: the step fails on the quota (below), the state is saved, and the next copies it
DEEP='for i in $(seq 300); do mkdir d123456789012345678 && cd d123456789012345678 || exit 1; done; echo deep > f; pwd | wc -c'
script "$TMP/deep.json" "$DEEP"
start_server "$TMP/deep.json"
check "deep tree: the step runs" "$S" --steps plan,explore --data "$A" --out "$TMP/h2" "${LLM[@]}" --api-base "$BASE"
n=$(tool_result "$TMP/h2" 1 | sed -n 1p); [ "${n:-0}" -gt 4096 ] && ok "the sandbox made a path longer than PATH_MAX ($n bytes)" || not_ok "the sandbox made a path longer than PATH_MAX ($n)"
J "$TMP/h2/history.json" "d['iterations'][-1]['failure']['kind'] + ': ' + d['iterations'][-1]['failure']['message']" | grep -q "^workspace_quota: .*/workspace/d1234.*: nested deeper than 64 levels" \
    && ok "a tree deeper than a state copy carries is over the quota, named by its sandbox path" || not_ok "a deep tree is over the quota"
check "train-run records the failed iteration" "$T" --state "$TMP/h2" --data "$A" --out "$TMP/h2run" -q
check "analyze copies the state with a path longer than PATH_MAX" "$S" --step analyze --state "$TMP/h2" --run "$TMP/h2run" --data "$A" --out "$TMP/h2a"
stderr_has "nested deeper than 64 directories: not carried into the new state" "the part past 64 levels is skipped with a warning"
[ -f "$TMP/h2a/history.json" ] && [ -d "$TMP/h2a/workspace/d123456789012345678" ] && ok "the new state is whole" || not_ok "the new state is whole"
[ "$(find "$TMP/h2" -name f -path '*d123*' | wc -l)" = 1 ] && ok "the old state keeps its deep file" || not_ok "the old state keeps its deep file"

# ---- the workspace quota and the sandbox's /tmp -----------------------------------------
# (before: no bound on what the workspace held but the disk; /tmp an unsized tmpfs)
script "$TMP/quota.json" 'head -c 3000000 /dev/zero > /tmp/t; echo tmp=$?; head -c 6000000 /dev/zero > big; echo wrote' 'echo second'
start_server "$TMP/quota.json"
check "quota: the step runs" "$S" --steps plan,explore --data "$A" --out "$TMP/q1" "${LLM[@]}" --api-base "$BASE" --workspace-quota 5 --sandbox-tmp 2
r=$(tool_result "$TMP/q1" 1)
case "$r" in *"No space left on device"*tmp=1*) ok "a /tmp of 2 MB refuses 3 MB inside the sandbox" ;; *) not_ok "a /tmp of 2 MB refuses 3 MB inside the sandbox"; echo "$r" | head -5 | sed 's/^/#   /' ;; esac
case "$r" in *"[the workspace is over its quota: it holds 5.7 MB in 1 entries; the quota is 5 MB and 20000 entries. The step fails here"*) ok "over the quota: the command's result says so" ;; *) not_ok "over the quota: the command's result says so"; echo "$r" | tail -3 | sed 's/^/#   /' ;; esac
[ "$(J "$TMP/q1/history.json" "d['iterations'][-1]['failure']['step'], d['iterations'][-1]['failure']['kind']")" = "('plan', 'workspace_quota')" ] \
    && ok "the step fails with the cause recorded (kind workspace_quota)" || not_ok "the step fails with the cause recorded"
J "$TMP/q1/history.json" "d['iterations'][-1]['failure']['message']" | grep -q "^the workspace is over its quota: it holds 5.7 MB" && ok "the failure message says how much" || not_ok "the failure message says how much"
[ "$(n_requests)" = 1 ] && ok "no further request after the failure" || not_ok "no further request after the failure ($(n_requests))"
[ "$(J "$TMP/q1/run.json" "d['llm']['workspace_quota_mb'], d['llm']['sandbox_tmp_mb']")" = "(5.0, 2.0)" ] && ok "run.json keeps the bounds for later steps" || not_ok "run.json keeps the bounds"
script "$TMP/files.json" 'mkdir d && cd d && for i in $(seq 30); do : > f$i; done; echo made'
start_server "$TMP/files.json"
check "entry quota: the step runs" "$S" --steps plan,explore --data "$A" --out "$TMP/q2" "${LLM[@]}" --api-base "$BASE" --workspace-files 20
J "$TMP/q2/history.json" "d['iterations'][-1]['failure']['message']" | grep -q "in 31 entries; the quota is 1024 MB and 20 entries" && ok "31 entries over a quota of 20: the step fails" || not_ok "31 entries over a quota of 20: the step fails"
# ---- a killed agent-step cleans up ------------------------------------------------------
# sandbox_cgroups PID: the cgroups process PID made for its sandbox, wherever the hierarchies are
sandbox_cgroups() { find /sys/fs/cgroup -maxdepth 6 -type d -name "agentomics-sandbox-$1-*" 2>/dev/null | wc -l; }
# killed SIG WHAT RULE: plan in S0 (once), then explore from S0 with the
# rule, killed with SIG once the rule's request is in (the server's delay,
# or the sandboxed command started); the status, the leftovers and S0 are checked
PLAN_ONLY='[{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}}]'
printf '{"rules": %s}\n' "$PLAN_ONLY" > "$TMP/plan.json"
start_server "$TMP/plan.json"
"$S" --steps plan --data "$A" --out "$TMP/k/s0" "${LLM[@]}" --api-base "$BASE" -q || not_ok "plan for the kill tests"
( cd "$TMP/k/s0" && find . -type f -exec sha256sum {} + | sort ) > "$TMP/k/s0.sums"
killed() {
    sig=$1; what=$2; rule=$3
    printf '{"rules": [%s]}\n' "$rule" > "$TMP/k/$what.json"
    start_server "$TMP/k/$what.json"
    env --default-signal="$sig" "$S" --steps explore --state "$TMP/k/s0" --data "$A" --out "$TMP/k/s1" "${LLM[@]}" --api-base "$BASE" 2>"$TMP/k/err" & pid=$!
    for _ in $(seq 100); do [ -s "$TMP/requests.jsonl" ] && break; sleep 0.1; done
    if [ "$what" = sandbox ]; then for _ in $(seq 100); do [ "$(sandbox_cgroups $pid)" -gt 0 ] && break; sleep 0.1; done; fi
    sleep 1; inside=$(ls -d "$TMP/k/s1.tmp.$pid" 2>/dev/null | wc -l); cgs=$(sandbox_cgroups $pid)
    kill -s "$sig" "$pid"; wait "$pid"; rc=$?
    [ "$rc" = $((128 + $(kill -l "$sig"))) ] && ok "$what, SIG$sig: exit status 128+$(kill -l "$sig") ($rc)" || not_ok "$what, SIG$sig: exit status 128+SIG (got $rc)"
    [ "$inside" = 1 ] && [ -z "$(ls "$TMP/k" | grep '^s1')" ] && ok "$what, SIG$sig: the temporary state S1.tmp.PID is removed, no S1" || { not_ok "$what, SIG$sig: no S1.tmp.PID left (it was there: $inside)"; ls "$TMP/k" | sed 's/^/#   /'; }
    if [ "$what" = sandbox ]; then
        if [ "$cgs" -gt 0 ]; then
            [ "$(sandbox_cgroups $pid)" = 0 ] && ok "$what, SIG$sig: the sandbox's $cgs cgroup(s) are removed" || not_ok "$what, SIG$sig: the sandbox's cgroups are removed ($(sandbox_cgroups $pid) left)"
        else
            ok "$what, SIG$sig: the sandbox's cgroups # SKIP none can be made here"
        fi
        pgrep -f "sleep 1234" >/dev/null && not_ok "$what, SIG$sig: the sandboxed command is gone" || ok "$what, SIG$sig: the sandboxed command is gone"
    fi
    ( cd "$TMP/k/s0" && find . -type f -exec sha256sum {} + | sort ) | cmp -s - "$TMP/k/s0.sums" && ok "$what, SIG$sig: the previous state is intact" || not_ok "$what, SIG$sig: the previous state is intact"
}
killed TERM llm '{"match": {"step": "explore"}, "delay": 30, "reply": {"content": "late"}}'
killed INT llm '{"match": {"step": "explore"}, "delay": 30, "reply": {"content": "late"}}'
killed TERM sandbox '{"match": {"step": "explore"}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "echo x > /workspace/new; sleep 1234"}}]}}'

# ---- no host path of the run reaches the model ------------------------------------------
# (before: /proc/1/cmdline was bwrap's whole command line, every bind's host
# path on it; /proc/self/mountinfo names each bind's source)
NEUTRAL=$(/usr/bin/python3 -c '
import json
sub = lambda a: {"tool_calls": [{"name": "submit", "arguments": a}]}
print(json.dumps({"rules": [
    {"match": {"step": "plan", "turn": 0}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "cat /proc/self/mountinfo; tr \"\\\\0\" \" \" < /proc/1/cmdline; echo; printf \"id\\tsequence\\tlabel\\na\\tAC GT\\t0\\n\" > bad.tsv"}}]}},
    {"match": {"step": "plan", "turn": 1}, "reply": sub({"goal": "g", "approach": "a"})},
    {"match": {"step": "explore"}, "reply": sub({"findings": ["f"]})},
    {"match": {"step": "split", "turn": 0}, "reply": sub({"method": "files", "train_file": "/workspace/bad.tsv", "valid_file": "bad.tsv", "rationale": "r"})},
    {"match": {"step": "split", "turn": 1}, "reply": sub({"method": "builtin", "valid_fraction": 0.25, "rationale": "r"})}]}))')
printf '%s\n' "$NEUTRAL" > "$TMP/neutral.json"
start_server "$TMP/neutral.json"
check "neutral paths: the steps run" "$S" --steps plan,explore,split --data "$A" --out "$TMP/n1" "${LLM[@]}" --api-base "$BASE"
r=$(tool_result "$TMP/n1" 1)
TAG=$(basename "$TMP")   # the run directory's unique name: in every form of its host path
case "$r" in *" /workspace /workspace "*" /data /data "*) ok "mountinfo shows the binds by their sandbox names" ;; *) not_ok "mountinfo shows the binds by their sandbox names"; echo "$r" | grep -E "workspace|data" | sed 's/^/#   /' ;; esac
case "$r" in *"bwrap --args 4 -- bash -c cat /proc/self/mountinfo"*) ok "/proc/1/cmdline: bwrap reads its options from a descriptor" ;; *) not_ok "/proc/1/cmdline: bwrap reads its options from a descriptor"; echo "$r" | tail -2 | sed 's/^/#   /' ;; esac
grep -q "cannot read the split files: /workspace/bad.tsv:2: symbol ' '" "$TMP/requests.jsonl" && ok "a split file's read error names its sandbox path" || not_ok "a split file's read error names its sandbox path"
grep -q "$TAG" "$TMP/requests.jsonl" "$TMP/n1/transcript.jsonl" && { not_ok "no host path of the run in any request or the transcript"; grep -o ".\{60\}$TAG.\{40\}" "$TMP/requests.jsonl" | head -3 | sed 's/^/#   /'; } || ok "no host path of the run in any request or the transcript"

done_testing
