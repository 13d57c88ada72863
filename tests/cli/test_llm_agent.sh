#!/bin/bash
# The LLM agent against a scripted OpenAI-compatible server on 127.0.0.1
# (tests/llm/fake_openai.py): a full two-iteration episode through every
# step, train-run, LLM reflection, package-model and predict; then the
# provider and model faults, each ending with the state saved.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"
R="$BIN/agentomics-reflect"; K="$BIN/agentomics-package-model"; PR="$BIN/agentomics-predict"; E="$BIN/agentomics-evaluate"
. "$ROOT/tests/llm/server.sh"
llm_skip_unless_ready

export AGENTOMICS_API_KEY=sk-episode-SECRET-4242
unset OPENAI_API_KEY OPENROUTER_API_KEY AGENTOMICS_MODEL AGENTOMICS_API_BASE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
"$P" --train "$DATA/gue_tata_train.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
STEPS=plan,explore,split,represent,architect,code

# ---- the episode ------------------------------------------------------------------------
if [ -n "${LLM_EPISODE_VARIANT:-}" ]; then VARIANT=$LLM_EPISODE_VARIANT; elif /usr/bin/python3 -c "import sklearn" 2>/dev/null; then VARIANT=sklearn; else VARIANT=awk; fi
"$PY" "$ROOT/tests/llm/episode.py" "$VARIANT" > "$TMP/episode.json"
start_server "$TMP/episode.json"
LLM=(--agent llm --provider openai --api-base "$BASE" --model fake-model)
check "iteration 1: every step by the LLM ($VARIANT scripts)" "$S" --steps $STEPS --data "$A" --out "$TMP/s1" "${LLM[@]}" --baseline none --iterations 2 --seed 3
[ "$(J "$TMP/s1/run.json" "d['agent'], d['baseline'], d['llm']['model']")" = "('llm', 'none', 'fake-model')" ] && ok "run.json records the LLM settings" || not_ok "run.json records the LLM settings"
grep -q "$AGENTOMICS_API_KEY" "$TMP/s1/run.json" && not_ok "run.json holds no key" || ok "run.json holds no key"
[ "$(J "$TMP/s1/steps/split.json" "d['source'], d['report']['method'], d['report']['n_train'] + d['report']['n_valid']")" = "('agent', 'files', 380)" ] \
    && ok "the agent's split files were validated and adopted" || not_ok "the agent's split files were validated and adopted"
[ -e "$TMP/s1/workspace/s_train.tsv" ] && not_ok "split copies leave the workspace" || ok "split copies leave the workspace"
[ "$(J "$TMP/s1/steps/code.json" "d['entry'], d['smoke']['status'], len(d['attempts'])")" = "('script', 'ok', 2)" ] \
    && ok "code step: a script entry, accepted after one rejection" || not_ok "code step: a script entry, accepted after one rejection"
J "$TMP/s1/steps/code.json" "d['attempts'][0]['verdict'] + ': ' + d['attempts'][0]['reason']" | grep -q "rejected: .*train.tsv" \
    && ok "the rejection names the leaking reference" || not_ok "the rejection names the leaking reference"
grep -q '"event": *"tool"' "$TMP/s1/transcript.jsonl" && grep -q '"name": *"bash"' "$TMP/s1/transcript.jsonl" \
    && ok "the transcript records tool calls" || not_ok "the transcript records tool calls"
grep -q "$AGENTOMICS_API_KEY" "$TMP/s1/transcript.jsonl" && not_ok "the key never reaches the transcript" || ok "the key never reaches the transcript"
grep -q "Bearer $AGENTOMICS_API_KEY" "$TMP/requests.jsonl" && ok "the key was sent to the provider" || not_ok "the key was sent to the provider"
[ "$(J "$TMP/s1/usage.json" "d['llm_calls']")" = "$(n_requests)" ] && ok "usage.json counts every call ($(n_requests))" || not_ok "usage.json counts every call"
J "$TMP/s1/usage.json" "sorted(set(s['step'] for s in d['steps']))" | grep -q "'split'" && ok "usage per step" || not_ok "usage per step"
grep -q "no scripted reply" "$TMP/server.err" 2>/dev/null && not_ok "every request matched the script" || ok "every request matched the script"

check "train-run runs the agent's scripts in the sandbox" "$T" --state "$TMP/s1" --data "$A" --out "$TMP/run1" --time-limit 300
[ "$(J "$TMP/run1/metrics.json" "d['status'], d['model']")" = "('ok', 'script')" ] && ok "script iteration trained" || not_ok "script iteration trained"
if [ "$VARIANT" = sklearn ]; then
    J "$TMP/run1/metrics.json" "d['valid']['auroc'] > 0.6" | grep -qx True && ok "scikit-learn script model beats chance on validation" || not_ok "scikit-learn script model beats chance on validation"
fi
check "analyze" "$S" --step analyze --state "$TMP/s1" --run "$TMP/run1" --data "$A" --out "$TMP/a1" --agent llm
check "LLM reflection" "$R" --state "$TMP/a1" --run "$TMP/run1" --data "$A" --out "$TMP/r1" "${LLM[@]}"
[ "$(J "$TMP/r1/history.json" "d['iterations'][0]['feedback']['llm']['instructions']['code'][:15]")" = "submit a builti" ] \
    && ok "the LLM's feedback is stored beside the builtin diagnosis" || not_ok "the LLM's feedback is stored beside the builtin diagnosis"
[ "$(J "$TMP/r1/decision.json" "d['decision']")" = continue ] && ok "iteration 1: continue" || not_ok "iteration 1: continue"

before=$(n_requests)
check "iteration 2" "$S" --steps $STEPS --state "$TMP/r1" --data "$A" --out "$TMP/s2" "${LLM[@]}"
grep -q "submit a builtin recipe" <(sed -n "$((before + 1))p" "$TMP/requests.jsonl") && ok "the next plan prompt carries the feedback" || not_ok "the next plan prompt carries the feedback"
[ "$(J "$TMP/s2/steps/split.json" "d['skipped']")" = True ] && ok "the split in force is kept (no LLM call)" || not_ok "the split in force is kept"
[ "$(J "$TMP/s2/steps/code.json" "d['entry'], d['smoke']['status']")" = "('builtin', 'ok')" ] && ok "code step: a builtin recipe" || not_ok "code step: a builtin recipe"
# the code prompt offers the recipe of the represent and architect outputs when both are builtin parts
/usr/bin/python3 - "$TMP/requests.jsonl" <<'PY' && ok "the code prompt offers the builtin recipe of the chosen parts, or says why not" || not_ok "the code prompt's builtin recipe"
import json, sys
codes = [m['content'] for l in open(sys.argv[1]) for m in json.loads(l)['body']['messages'][1:2] if '[agentomics-step: code]' in m['content']]
assert '(none: the representation and model chosen are not both builtin parts' in codes[0], codes[0][:300]
offered = [l for l in codes[-1].splitlines() if l.startswith('{"entry":"builtin","recipe":')]
assert offered and json.loads(offered[0])['recipe']['representation']['k'] == [3, 4, 5], codes[-1][:2000]
PY
check "train-run (builtin recipe)" "$T" --state "$TMP/s2" --data "$A" --out "$TMP/run2"
check "analyze 2" "$S" --step analyze --state "$TMP/s2" --run "$TMP/run2" --data "$A" --out "$TMP/a2" --agent llm
check "reflect 2" "$R" --state "$TMP/a2" --run "$TMP/run2" --data "$A" --out "$TMP/r2" "${LLM[@]}"
[ "$(J "$TMP/r2/decision.json" "d['decision'], d['reason']")" = "('stop', 'iteration budget used')" ] && ok "stop on the iteration budget" || not_ok "stop on the iteration budget"
check "package-model" "$K" --state "$TMP/r2" --runs "$TMP/run1" "$TMP/run2" --out "$TMP/model.tar.gz"
check "predict with the package" "$PR" --model "$TMP/model.tar.gz" --input "$TMP/d/heldout/test.tsv" --output "$TMP/pred.tsv"
check "evaluate the package's predictions" "$E" --predictions "$TMP/pred.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/test_metrics.json"
/usr/bin/python3 - "$ROOT/schemas" "$TMP/s1/steps" "$TMP/s2/steps" <<'PY' && ok "every LLM step output validates against its step schema" || not_ok "every LLM step output validates against its step schema"
import json, sys, pathlib, jsonschema
from jsonschema import RefResolver
sd = pathlib.Path(sys.argv[1])
store = {p.name: json.load(open(p)) for p in sd.glob('*.schema.json')}
for st in sys.argv[2:]:
    for p in pathlib.Path(st).glob('*.json'):
        name = p.stem + '.schema.json'
        if name in store:
            jsonschema.validate(json.load(open(p)), store[name], resolver=RefResolver(base_uri=sd.as_uri() + '/', referrer=store[name], store=store))
PY

# ---- a provider that echoes the key (issue 12) ----------------------------------------------
# The key comes back plain, JSON-escaped inside tool-call arguments, in a
# bash command that writes it to a workspace file, in the reasoning, in a
# submitted goal and recipe name, and in the error bodies of a retried 500
# and of a failed reflection. It is redacted where provider text enters, so
# no file of the state, the run, the package or the outputs holds it.
ECHO=$(/usr/bin/python3 -c '
import json, os
key = os.environ["AGENTOMICS_API_KEY"]
esc = "\\u%04x" % ord(key[0]) + key[1:]
sub = lambda args: {"tool_calls": [{"name": "submit", "arguments": args}]}
rec = {"name": "recipe-" + key, "representation": {"type": "kmer", "k": [3, 4]}, "model": {"type": "logreg", "C": 1.0}}
print(json.dumps([
    {"match": {"step": "plan", "turn": 0}, "status": 500, "body": {"error": {"message": "upstream refused key " + key}}},
    {"match": {"step": "plan", "turn": 0}, "reply": {"reasoning_content": "the key is " + key,
        "tool_calls": [{"name": "bash", "arguments": {"command": "printf \"%s\\n\" \"" + key + "\" > /workspace/k1.txt; cat /workspace/k1.txt"}}]}},
    {"match": {"step": "plan", "turn": 1}, "reply": {"tool_calls": [{"name": "write_file",
        "arguments_raw": "{\"path\": \"/workspace/k2.txt\", \"content\": \"" + esc + "\"}"}]}},
    {"match": {"step": "plan", "turn": 2}, "reply": sub({"goal": "reach " + key, "approach": "a"})},
    {"match": {"step": "explore"}, "reply": sub({"findings": [key]})},
    {"match": {"step": "split"}, "reply": sub({"method": "builtin", "valid_fraction": 0.25, "rationale": key})},
    {"match": {"step": "represent"}, "reply": sub({"representation": rec["representation"], "rationale": key})},
    {"match": {"step": "architect"}, "reply": sub({"model": rec["model"], "rationale": key})},
    {"match": {"step": "code"}, "reply": sub({"entry": "builtin", "recipe": rec})},
    {"match": {"step": "reflect"}, "status": 400, "body": {"error": {"message": "invalid request for key " + key}}}]))')
printf '{"rules": %s}\n' "$ECHO" > "$TMP/echo.json"
start_server "$TMP/echo.json"
EK=(--agent llm --provider openai --api-base "$BASE" --model fake-model)
check "key echo: every step" env AGENTOMICS_LLM_RETRIES=1 AGENTOMICS_LLM_BACKOFF=0.05 "$S" --steps $STEPS --data "$A" --out "$TMP/k1" "${EK[@]}" --baseline none
check "key echo: train-run" "$T" --state "$TMP/k1" --data "$A" --out "$TMP/krun"
check "key echo: analyze" "$S" --step analyze --state "$TMP/k1" --run "$TMP/krun" --data "$A" --out "$TMP/ka" --agent llm
check "key echo: reflect (its LLM call fails on an error body quoting the key)" env AGENTOMICS_LLM_RETRIES=0 "$R" --state "$TMP/ka" --run "$TMP/krun" --data "$A" --out "$TMP/kr" "${EK[@]}"
check "key echo: package-model" "$K" --state "$TMP/kr" --runs "$TMP/krun" --out "$TMP/kmodel.tar.gz"
check "key echo: predict" "$PR" --model "$TMP/kmodel.tar.gz" --input "$TMP/d/heldout/test.tsv" --output "$TMP/kpred.tsv"
check "key echo: evaluate" "$E" --predictions "$TMP/kpred.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/ktest.json"
mkdir -p "$TMP/kpkg" && tar -xzf "$TMP/kmodel.tar.gz" -C "$TMP/kpkg"
KOUT=("$TMP/k1" "$TMP/krun" "$TMP/ka" "$TMP/kr" "$TMP/kpkg" "$TMP/kpred.tsv" "$TMP/ktest.json")
hits=$(grep -rl -e "$AGENTOMICS_API_KEY" -e "${AGENTOMICS_API_KEY#s}" "${KOUT[@]}" | sed "s|$TMP/||")
zhits=$(zgrep -c -e "${AGENTOMICS_API_KEY#s}" "$TMP/kmodel.tar.gz")
[ -z "$hits" ] && [ "$zhits" = 0 ] && ok "key echo: the key is in no file of the state, run, package or outputs" || not_ok "key echo: the key is in: $hits (package: $zhits)"
[ "$(cat "$TMP/k1/workspace/k1.txt")/$(cat "$TMP/k1/workspace/k2.txt")" = "[REDACTED]/[REDACTED]" ] \
    && ok "key echo: the files the model wrote (bash, JSON-escaped write_file) hold [REDACTED]" || not_ok "key echo: the workspace files"
[ "$(J "$TMP/kr/history.json" "d['iterations'][0]['steps']['plan']['output']['goal'], d['iterations'][0]['steps']['code']['output']['recipe']['name']")" = "('reach [REDACTED]', 'recipe-[REDACTED]')" ] \
    && ok "key echo: the submitted goal and recipe name hold [REDACTED]" || not_ok "key echo: the submitted goal and recipe name"
J "$TMP/kr/steps/reflect.json" "d['llm_error']['kind'], d['llm_error']['message']" | grep -q "'provider', .*invalid request for key \[REDACTED\]" \
    && ok "key echo: the failed reflection's error body is kept, redacted" || not_ok "key echo: the failed reflection's error body"
grep -q "Bearer $AGENTOMICS_API_KEY" "$TMP/requests.jsonl" && grep -q "reasoning_content.*the key is \[REDACTED\]" "$TMP/requests.jsonl" \
    && ok "key echo: the key was sent, and the reasoning went back redacted" || not_ok "key echo: the key was sent, the reasoning went back redacted"

# ---- the builtin baseline (default): iteration 1 makes no LLM call ---------------------
cat > "$TMP/empty.json" <<'EOF'
{"rules": []}
EOF
start_server "$TMP/empty.json"
LLM=(--agent llm --provider openai --api-base "$BASE" --model fake-model)
check "llm mode, iteration 1 = builtin baseline" "$S" --steps $STEPS --data "$A" --out "$TMP/b1" "${LLM[@]}" --iterations 2
[ "$(n_requests)" = 0 ] && ok "the baseline iteration made no LLM call" || not_ok "the baseline iteration made no LLM call"
[ "$(J "$TMP/b1/steps/code.json" "d['entry']")" = builtin ] && ok "the baseline is a builtin recipe" || not_ok "the baseline is a builtin recipe"

# ---- usage errors --------------------------------------------------------------------------
expect_exit 2 "unknown provider" "$S" --steps plan --data "$A" --out "$TMP/u1" --agent llm --provider nosuch --model m --baseline none
expect_exit 2 "no model" "$S" --steps plan --data "$A" --out "$TMP/u2" --agent llm --provider openai --api-base "$BASE" --baseline none
stderr_has "needs a model" "no model: the message says what to set"
expect_exit 2 "openai without a key" env -u AGENTOMICS_API_KEY "$S" --steps plan --data "$A" --out "$TMP/u3" --agent llm --provider openai --api-base "$BASE" --model m --baseline none
expect_exit 2 "--max-cost without prices" "$S" --steps plan --data "$A" --out "$TMP/u4" "${LLM[@]}" --baseline none --max-cost 1
[ ! -e "$TMP/u1" ] && [ ! -e "$TMP/u2" ] && [ ! -e "$TMP/u4" ] && ok "no state is left by a usage error" || not_ok "no state is left by a usage error"

# ---- faults: each ends with the state saved and the cause recorded ------------------------
# fault NAME KIND SCRIPT-RULES [agent-step options...]: plan,explore on a fresh run
fault() {
    name=$1; kind=$2; rules=$3; shift 3
    printf '{"rules": %s}\n' "$rules" > "$TMP/f_$name.json"
    start_server "$TMP/f_$name.json"
    t0=$(date +%s)
    AGENTOMICS_LLM_RETRIES=${RETRIES:-1} AGENTOMICS_LLM_BACKOFF=0.05 "$S" --steps plan,explore --data "$A" --out "$TMP/f_$name" \
        --agent llm --provider openai --api-base "$BASE" --model fake-model --baseline none "$@" >"$TMP/.out" 2>"$TMP/.err"
    rc=$?; dt=$(( $(date +%s) - t0 ))
    if [ "$rc" -eq 0 ] && [ -d "$TMP/f_$name" ]; then ok "$name: exit 0, state saved (${dt} s)"; else not_ok "$name: exit 0, state saved (exit $rc)"; sed 's/^/#   /' "$TMP/.err" | head; fi
    got=$(J "$TMP/f_$name/history.json" "d['iterations'][-1].get('failure', {}).get('kind')" 2>/dev/null)
    [ "$got" = "$kind" ] && ok "$name: failure kind $kind" || not_ok "$name: failure kind $kind (got $got)"
}
PLAN_OK='{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}}'
EXPLORE_OK='{"match": {"step": "explore"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"findings": ["f"]}}]}}'
fault budget budget "[$PLAN_OK, $EXPLORE_OK]" --max-llm-calls 1
[ "$(J "$TMP/f_budget/usage.json" "d['llm_calls']")" = 1 ] && ok "budget: exactly the allowed calls were made" || not_ok "budget: exactly the allowed calls were made"
check "budget: train-run records a failed iteration" "$T" --state "$TMP/f_budget" --data "$A" --out "$TMP/f_budget_run"
[ "$(J "$TMP/f_budget_run/metrics.json" "d['status']")" = failed ] && ok "budget: the run is a failed iteration" || not_ok "budget: the run is a failed iteration"
check "budget: analyze" "$S" --step analyze --state "$TMP/f_budget" --run "$TMP/f_budget_run" --data "$A" --out "$TMP/f_budget_a" --agent llm
check "budget: reflect" "$R" --state "$TMP/f_budget_a" --run "$TMP/f_budget_run" --data "$A" --out "$TMP/f_budget_r" --agent llm --max-llm-calls 1
[ "$(J "$TMP/f_budget_r/decision.json" "d['decision'], d['reason']")" = "('stop', 'LLM budget used up')" ] && ok "budget: reflect stops the run" || not_ok "budget: reflect stops the run"
fault auth auth '[{"status": 401, "body": {"error": {"message": "Incorrect API key provided"}}, "times": -1}]'
grep -q "401" "$TMP/.err" && ok "auth: the provider's status is reported" || not_ok "auth: the provider's status is reported"
# per cause (issue 12): reflect ... run_reflect NAME: train-run, analyze and an LLM reflect of state f_NAME
run_reflect() {
    "$T" --state "$TMP/f_$1" --data "$A" --out "$TMP/f_$1_run" 2>/dev/null && "$S" --step analyze --state "$TMP/f_$1" --run "$TMP/f_$1_run" --data "$A" --out "$TMP/f_$1_a" 2>/dev/null \
        && AGENTOMICS_LLM_RETRIES=0 "$R" --state "$TMP/f_$1_a" --run "$TMP/f_$1_run" --data "$A" --out "$TMP/f_$1_r" --agent llm --provider openai --api-base "$BASE" --model fake-model 2>"$TMP/.err"
}
check "auth: reflect" run_reflect auth
[ "$(J "$TMP/f_auth_r/decision.json" "d['decision'], d['reason']")" = "('stop', 'the LLM provider refused the credentials (authentication)')" ] \
    && ok "auth: an authentication refusal stops the lineage" || not_ok "auth: an authentication refusal stops the lineage"
fault error_in_200 provider '[{"body": {"error": {"message": "upstream model overloaded", "code": 400}}, "times": -1}]'
J "$TMP/f_error_in_200/history.json" "d['iterations'][-1]['failure']['message']" | grep -q "overloaded" && ok "error in a 200 body: its message is recorded" || not_ok "error in a 200 body: its message is recorded"
check "provider failure: reflect, whose LLM reflection fails too" run_reflect error_in_200
[ "$(J "$TMP/f_error_in_200_r/decision.json" "d['decision']")" = continue ] \
    && [ "$(J "$TMP/f_error_in_200_r/steps/reflect.json" "d['diagnosis'], d['llm_error']['kind']")" = "('failed', 'provider')" ] \
    && ok "a provider failure and a failed LLM reflection do not end the run: the builtin diagnosis stands" || not_ok "a provider failure and a failed LLM reflection do not end the run"
mv "$TMP/f_error_in_200" "$TMP/f_e1" && AGENTOMICS_LLM_RETRIES=0 "$S" --steps plan,explore --state "$TMP/f_error_in_200_r" --data "$A" --out "$TMP/f_error_in_200" \
    --agent llm --provider openai --api-base "$BASE" --model fake-model 2>/dev/null && rm -rf "$TMP/f_error_in_200_run" "$TMP/f_error_in_200_a" "$TMP/f_error_in_200_r"
check "provider failure again: reflect" run_reflect error_in_200
[ "$(J "$TMP/f_error_in_200_r/decision.json" "d['decision'], d['reason']")" = "('stop', 'the same agent step failed in two iterations in a row')" ] \
    && ok "the same step failing in two iterations in a row ends the lineage" || not_ok "the same step failing twice in a row ends the lineage"
fault malformed provider '[{"raw": "{\"choices\": [", "times": -1}]'
RETRIES=0 fault hang provider '[{"delay": 30, "reply": {"content": "late"}, "times": -1}]' --llm-timeout 1
[ "$dt" -lt 15 ] && ok "hang: the timeout ends the call (${dt} s)" || not_ok "hang: the timeout ends the call (${dt} s)"
# the ledger (issue 12): attempts without a reply count, and the call budget bounds the retries
RETRIES=5 fault hang2 budget '[{"delay": 30, "reply": {"content": "late"}, "times": -1}]' --llm-timeout 1 --max-llm-calls 2
[ "$(J "$TMP/f_hang2/usage.json" "d['llm_calls']")" = 2 ] && [ "$(grep -c '"event": *"request"' "$TMP/f_hang2/transcript.jsonl")" = 2 ] \
    && ok "hang, --max-llm-calls 2: 2 attempts sent and counted, not 6" || not_ok "hang, --max-llm-calls 2: attempts bounded by the budget"
HUGE='{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}], "usage": {"prompt_tokens": 1e300, "completion_tokens": 9223372036854775807, "cost": 1.7e308}}}'
HUGE2='{"match": {"step": "explore"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"findings": ["f"]}}], "usage": {"prompt_tokens": -5, "completion_tokens": 10, "cost": 1.7e308}}}'
fault huge None "[$HUGE, $HUGE2]"
[ "$(J "$TMP/f_huge/usage.json" "d['llm_calls'], d['prompt_tokens'], d['completion_tokens'], d['cost']")" = "(2, 1000000000000, 1000000000010, 2000000.0)" ] \
    && ok "provider numbers clamped: 1e300 and INT64_MAX tokens, 1.7e308 USD twice: finite totals, the calls kept" || not_ok "provider numbers clamped"

RETRIES=3 fault retry_then_ok "None" "[{\"status\": 429, \"headers\": {\"Retry-After\": \"1\"}}, {\"status\": 500, \"body\": {\"error\": {\"message\": \"boom\"}}}, $PLAN_OK, $EXPLORE_OK]"
grep -q '"event": *"retry"' "$TMP/f_retry_then_ok/transcript.jsonl" && ok "429 and 500: retried, recorded in the transcript" || not_ok "429 and 500: retried, recorded in the transcript"
[ "$(J "$TMP/f_retry_then_ok/steps/plan.json" "d['goal']")" = g ] && ok "429 and 500: the step then succeeds" || not_ok "429 and 500: the step then succeeds"
fault refusal content_filter '[{"reply": {"content": null, "refusal": "I cannot help with that", "finish_reason": "stop"}}]'
# the model's own mistakes, recovered from within one step
MISTAKES='[{"match": {"step": "plan", "turn": 0}, "reply": {"tool_calls": [{"name": "dance", "arguments": {}}]}},
 {"match": {"step": "plan", "turn": 1}, "reply": {"tool_calls": [{"name": "submit", "arguments_raw": "{goal: not json"}]}},
 {"match": {"step": "plan", "turn": 2}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": 5}}]}},
 {"match": {"step": "plan", "turn": 3}, "reply": {"content": "I will now write a very long", "finish_reason": "length"}},
 {"match": {"step": "plan", "turn": 4}, "reply": {"tool_calls": [{"name": "read_file", "arguments": {"path": "/etc/passwd"}}, {"name": "write_file", "arguments": {"path": "/data/x", "content": "y"}}, {"name": "read_file", "arguments": {"path": "/workspace/../../heldout/test.tsv"}}]}},
 {"match": {"step": "plan", "turn": 5}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "cat '"$TMP"'/d/heldout/test.tsv; echo > /usr/x; echo KEYS=$(env | grep -c sk-episode)/$(tr \\\\0 \\\\n < /proc/1/environ | grep -c sk-episode)"}}]}},
 {"match": {"step": "plan", "turn": 6}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}},
 '"$EXPLORE_OK"']'
fault mistakes "None" "$MISTAKES"
for pat in "unknown tool 'dance'" "not a JSON object" "submit rejected: \$.goal" "cut off by the length limit" "must be under /workspace or /data" "No such file" "Read-only file system"; do
    grep -qF "$pat" "$TMP/requests.jsonl" && ok "mistakes: the model is told: $pat" || not_ok "mistakes: the model is told: $pat"
done
grep -q 'KEYS=0/0' "$TMP/requests.jsonl" && ok "mistakes: the sandbox environment has no key" || not_ok "mistakes: the sandbox environment has no key"
fault invalid invalid_output '[{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": ""}}]}, "times": -1}]' --submit-retries 2
J "$TMP/f_invalid/history.json" "len(d['iterations'][-1]['failure']['attempts'])" | grep -qx 3 && ok "invalid: every rejected submit is kept" || not_ok "invalid: every rejected submit is kept"
COSTLY='{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}], "usage": {"prompt_tokens": 100000, "completion_tokens": 1000}}}'
printf '{"fake-model": {"prompt": 1.0, "completion": 4.0}}\n' > "$TMP/prices.json"
fault cost budget "[$COSTLY, $EXPLORE_OK]" --max-cost 0.05 --price-file "$TMP/prices.json"
[ "$(J "$TMP/f_cost/usage.json" "round(d['cost'], 6), d['cost_known']")" = "(0.104, True)" ] && ok "cost: priced from the price file" || not_ok "cost: priced from the price file"
# replies without usage (issue 12): tokens estimated from the sizes, priced, marked; --max-cost then holds
NOUSAGE='{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "echo x"}}], "usage": false}, "times": -1}'
printf '{"fake-model": {"prompt": 100000.0, "completion": 100000.0}}\n' > "$TMP/prices_hi.json"
fault nousage budget "[$NOUSAGE]" --max-cost 1 --price-file "$TMP/prices_hi.json"
[ "$(J "$TMP/f_nousage/usage.json" "d['cost'] > 0, d.get('cost_estimated'), d['prompt_tokens'] > 0, d['llm_calls'] < 40")" = "(True, True, True, True)" ] \
    && ok "no usage in the replies: cost estimated from the sizes (marked), and --max-cost stops the step" || not_ok "no usage: estimated cost and --max-cost"
LONG=$(/usr/bin/python3 -c '
import json
r = [{"match": {"step": "plan", "turn": t}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "seq %d 30000" % (t + 1)}}]}} for t in range(9)]
r.append({"match": {"step": "plan", "turn": 9}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}})
print(json.dumps(r)[:-1] + ", ")')"$EXPLORE_OK]"
fault long "None" "$LONG"
tail -3 "$TMP/requests.jsonl" | head -1 | grep -q "tool output was elided" && ok "long: old tool outputs are elided to fit the context" || not_ok "long: old tool outputs are elided to fit the context"
tail -3 "$TMP/requests.jsonl" | head -1 | grep -q "29999" && ok "long: recent outputs are kept (head and tail)" || not_ok "long: recent outputs are kept (head and tail)"
# an agent-written split without class 1 in validation is rejected, then fixed
SPLITS=$(/usr/bin/python3 -c '
import json
bad = r"""awk -F"\t" -v a=/workspace/a.tsv -v b=/workspace/b.tsv "NR == 1 { print > a; print > b; next } { if (\$3 == 1 || NR % 2) print > a; else print > b }" /data/train.tsv"""
sub = lambda args: {"tool_calls": [{"name": "submit", "arguments": args}]}
print(json.dumps([
    {"match": {"step": "plan"}, "reply": sub({"goal": "g", "approach": "a"})},
    {"match": {"step": "explore"}, "reply": sub({"findings": ["f"]})},
    {"match": {"step": "split", "turn": 0}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": bad}}]}},
    {"match": {"step": "split", "turn": 1}, "reply": sub({"method": "files", "train_file": "/workspace/a.tsv", "valid_file": "/workspace/b.tsv", "rationale": "r"})},
    {"match": {"step": "split", "turn": 2}, "reply": sub({"method": "builtin", "valid_fraction": 0.25, "rationale": "r"})}]))')
printf '{"rules": %s}\n' "$SPLITS" > "$TMP/f_split.json"
start_server "$TMP/f_split.json"
check "split: runs" "$S" --steps plan,explore,split --data "$A" --out "$TMP/f_split" --agent llm --provider openai --api-base "$BASE" --model fake-model --baseline none
grep -q "class '1' has no rows in the validation file" "$TMP/requests.jsonl" && ok "split: a split with a class missing from validation is rejected" || not_ok "split: a split with a class missing from validation is rejected"
# 96: round(0.25 x 190) per class of the 380 training rows prepare-data left to the agent (20 are the selection slice)
[ "$(J "$TMP/f_split/steps/split.json" "d['source'], d['report']['n_valid']")" = "('agent', 96)" ] && ok "split: then the builtin stratified split with the model's fraction" || not_ok "split: then the builtin stratified split with the model's fraction"
# hostile tool output (issue 12): bytes that are not UTF-8, a NUL, and a
# 3-byte character cut where the sandbox keeps head and tail; every byte of
# it reaches the next request as valid JSON, and the transcript has it
HOSTILE=$(/usr/bin/python3 -c '
import json
sub = lambda args: {"tool_calls": [{"name": "submit", "arguments": args}]}
bad = r"""printf "bad:\377\376 nul:[\000] euro:\342\202\254 cut:\342\202\n"; yes "€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€" | head -c 300001"""
print(json.dumps([
    {"match": {"step": "plan", "turn": 0}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": bad}}]}},
    {"match": {"step": "plan", "turn": 1}, "reply": sub({"goal": "g", "approach": "a"})},
    {"match": {"step": "explore"}, "reply": sub({"findings": ["f"]})},
    {"match": {"step": "split", "turn": 0}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "mkfifo /workspace/f.tsv /workspace/g.tsv && echo made"}}]}},
    {"match": {"step": "split", "turn": 1}, "reply": sub({"method": "files", "train_file": "/workspace/f.tsv", "valid_file": "/workspace/g.tsv", "rationale": "r"})},
    {"match": {"step": "split", "turn": 2}, "reply": sub({"method": "builtin", "valid_fraction": 0.25, "rationale": "r"})}]))')
printf '{"rules": %s}\n' "$HOSTILE" > "$TMP/f_hostile.json"
start_server "$TMP/f_hostile.json"
t0=$(date +%s)
check "hostile: not UTF-8, NUL, cut characters, a FIFO split" timeout -k 5 120 "$S" --steps plan,explore,split --data "$A" --out "$TMP/f_hostile" --agent llm --provider openai --api-base "$BASE" --model fake-model --baseline none
dt=$(( $(date +%s) - t0 ))
/usr/bin/python3 - "$TMP/requests.jsonl" <<'PY' && ok "hostile: the tool message is in the next request, valid UTF-8: U+FFFD for bad bytes, \\0 for NUL, no cut character" || not_ok "hostile: the tool message reaches the next request"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    body = json.loads(line)["body"]
    if not isinstance(body, dict): continue
    for m in body.get("messages", []):
        c = m.get("content") or ""
        if m.get("role") == "tool" and "bad:" in c:
            ok = "bad:\ufffd\ufffd nul:[\\0] euro:\u20ac cut:\ufffd" in c and "bytes omitted" in c and c.count("\ufffd") <= 4
            sys.exit(0 if ok else 1)
sys.exit(1)
PY
grep -q '"bad:\\ufffd\\ufffd nul:\[\\\\0\]\|bad:�� nul:\[\\\\0\]' "$TMP/f_hostile/transcript.jsonl" && ok "hostile: the transcript has the sanitised result" || not_ok "hostile: the transcript has the sanitised result"
grep -q "/workspace/f.tsv is not a regular file" "$TMP/requests.jsonl" && [ "$dt" -lt 60 ] \
    && ok "hostile: a FIFO split file is refused at once (${dt} s for the three steps), named by its sandbox path" || not_ok "hostile: a FIFO split file is refused (${dt} s)"
grep -q "$TMP" "$TMP/requests.jsonl" && not_ok "hostile: no host path in any request" || ok "hostile: no host path in any request"
[ "$(J "$TMP/f_hostile/steps/split.json" "d['attempts'][0]['verdict'], d['source']")" = "('rejected', 'agent')" ] && ok "hostile: the rejected FIFO submit is in attempts" || not_ok "hostile: the rejected FIFO submit is in attempts"
# a server's quirks echoed back as the API wants them (issue 12): a call with id "" and
# arguments as an object, a call with arguments ""
RAWQ=$(/usr/bin/python3 -c '
import json
msg = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "", "type": "function", "function": {"name": "list_files", "arguments": {"path": "/workspace"}}},
    {"type": "function", "function": {"name": "list_files", "arguments": ""}}]}
body = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls"}]}
print(json.dumps({"match": {"step": "plan", "turn": 0}, "raw": json.dumps(body)}))')
fault quirks None "[$RAWQ, $PLAN_OK, $EXPLORE_OK]"
/usr/bin/python3 - "$TMP/requests.jsonl" <<'PY' && ok "quirks: object and empty arguments accepted, echoed as JSON strings with non-empty ids that the tool messages answer" || not_ok "quirks: the echoed calls"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    ms = json.loads(line)["body"].get("messages", [])
    calls = [c for m in ms if m.get("role") == "assistant" for c in m.get("tool_calls") or []]
    if len(calls) == 2:
        ids = [c["id"] for c in calls]
        answered = [m["tool_call_id"] for m in ms if m.get("role") == "tool"]
        args = [c["function"]["arguments"] for c in calls]
        results = [m["content"] for m in ms if m.get("role") == "tool"]
        ok = all(ids) and ids == answered and args == ['{"path":"/workspace"}', '{}'] and not any(r.startswith("error") for r in results)
        sys.exit(0 if ok else 1)
sys.exit(1)
PY
# parallel_tool_calls (issue 12): not sent by default (OpenAI's o-series refuses it), sent as asked
fault parallel None "[$PLAN_OK, $EXPLORE_OK]"
grep -q parallel_tool_calls "$TMP/requests.jsonl" && not_ok "parallel_tool_calls: not sent by default" || ok "parallel_tool_calls: not sent by default"
AGENTOMICS_LLM_PARALLEL_TOOL_CALLS=0 fault parallel0 None "[$PLAN_OK, $EXPLORE_OK]"
grep -q '"parallel_tool_calls": false' "$TMP/requests.jsonl" && ok "parallel_tool_calls: AGENTOMICS_LLM_PARALLEL_TOOL_CALLS=0 sends false" || not_ok "parallel_tool_calls: =0 sends false"
# more tool calls in one reply than are run, and a step past --step-timeout (issue 12)
MANY=$(/usr/bin/python3 -c '
import json
calls = [{"name": "bash", "arguments": {"command": "echo call%d" % k}} for k in range(10)]
print(json.dumps([{"match": {"step": "plan", "turn": 0}, "reply": {"tool_calls": calls}},
                  {"match": {"step": "plan", "turn": 1}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}}])[:-1])')
fault many None "$MANY, $EXPLORE_OK]"
/usr/bin/python3 - "$TMP/requests.jsonl" <<'PY' && ok "many calls: all 10 answered, the first 8 run, 2 'not run: at most 8'" || not_ok "many calls: capped at 8 per reply"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    tools = [m["content"] for m in json.loads(line)["body"].get("messages", []) if m.get("role") == "tool"]
    if len(tools) == 10:
        ran = sum(1 for t in tools if t.startswith("call"))
        capped = sum(1 for t in tools if t.startswith("not run: at most 8 tool calls"))
        sys.exit(0 if (ran, capped) == (8, 2) else 1)
sys.exit(1)
PY
SLOW=$(/usr/bin/python3 -c '
import json
print(json.dumps([{"match": {"step": "plan", "turn": t}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "sleep 2; echo %d" % t}}]}} for t in range(40)]))')
fault steptime step_timeout "$SLOW" --step-timeout 3
[ "$dt" -lt 10 ] && grep -q "ran past --step-timeout 3 s" "$TMP/f_steptime/history.json" && ok "step timeout: the step stops within the limit and says why (${dt} s for --step-timeout 3)" || not_ok "step timeout: bounded (${dt} s)"
fault turns max_turns '[{"match": {"step": "plan"}, "reply": {"tool_calls": [{"name": "list_files", "arguments": {}}]}, "times": -1}]' --max-turns 3
# a 429 burst longer than the retries (issue 12): waited out, not counted against them;
# one that outlasts the step's time bound is failure kind rate_limit, and the run goes on
RATE8='{"status": 429, "headers": {"Retry-After": "0"}, "body": {"error": {"message": "rate limit reached"}}, "times": 8}'
fault rate_burst None "[$RATE8, $PLAN_OK, $EXPLORE_OK]"
[ "$(J "$TMP/f_rate_burst/steps/plan.json" "d['goal']")" = g ] && ok "429 eight times with 1 retry allowed: waited out, the step succeeds" || not_ok "429 burst: the step succeeds"
[ "$(J "$TMP/f_rate_burst/usage.json" "d['rate_limited'], d['retries'], d['llm_calls'], [s['rate_limited'] for s in d['steps']]")" = "(8, 8, 10, [8, 0])" ] \
    && [ "$(grep -c '"rate_limited": *true' "$TMP/f_rate_burst/transcript.jsonl")" = 8 ] \
    && ok "429 burst: usage.json counts the 8 rate-limited answers (run and step), the transcript marks each wait" || not_ok "429 burst: recorded in usage.json and the transcript"
fault rate_bound rate_limit '[{"status": 429, "headers": {"Retry-After": "1"}, "body": {"error": {"message": "rate limit reached"}}, "times": -1}]' --step-timeout 3
[ "$dt" -lt 8 ] && J "$TMP/f_rate_bound/history.json" "d['iterations'][-1]['failure']['message']" | grep -q "rate limited .* would pass the time bound" \
    && ok "429 forever, --step-timeout 3: the step gives up at the bound (${dt} s) and says why" || not_ok "429 past the bound: bounded (${dt} s)"
check "rate limit: reflect" run_reflect rate_bound
[ "$(J "$TMP/f_rate_bound_r/decision.json" "d['decision']")" = continue ] && ok "rate limit: the next iteration tries again" || not_ok "rate limit: the next iteration tries again"
# a provider's context-overflow refusal (issue 12): the request is fitted to the size it states and sent again
OVER='{"match": {"min_bytes": 40000}, "status": 400, "times": -1, "body": {"error": {"message": "This model'"'"'s maximum context length is 8192 tokens. However, your messages resulted in 15000 tokens.", "type": "invalid_request_error", "code": "context_length_exceeded"}}}'
BIGOUT=$(/usr/bin/python3 -c '
import json
r = [{"match": {"step": "plan", "turn": t}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "seq %d 100000" % (t + 1)}}]}} for t in range(4)]
r.append({"match": {"step": "plan", "turn": 4}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}})
print(json.dumps(r)[1:-1])')
fault overflow None "[$OVER, $BIGOUT, $EXPLORE_OK]" --max-tokens 1024
[ "$(J "$TMP/f_overflow/steps/plan.json" "d['goal']")" = g ] && ok "context overflow: the step succeeds after the refusal" || not_ok "context overflow: the step succeeds"
/usr/bin/python3 - "$TMP/f_overflow/transcript.jsonl" <<'PY' && ok "context overflow: refused once, fitted to the stated 8192 tokens (context_shrink), later requests under the limit" || not_ok "context overflow: shrunk to the stated size"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
sh = [e for e in ev if e["event"] == "context_shrink"]
st = [e["status"] for e in ev if e["event"] == "response"]
assert len(sh) == 1 and (sh[0]["from"], sh[0]["to"], sh[0]["stated"]) == (32768, 8192, 8192), sh
assert st.count(400) == 1 and st[st.index(400) + 1] == 200, st
sys.exit(0)
PY
LLAMA_OVER='{"status": 400, "times": -1, "body": {"error": {"code": 400, "message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error"}}}'
fault overflow_always context "[$LLAMA_OVER]"
[ "$(J "$TMP/f_overflow_always/usage.json" "d['llm_calls']")" -le 4 ] && [ "$(grep -c '"event": *"context_shrink"' "$TMP/f_overflow_always/transcript.jsonl")" -le 3 ] \
    && ok "context overflow on every request: at most 3 smaller tries, then kind context" || not_ok "context overflow: bounded tries"
# reasoning models (issue 12): the reasoning goes back in the tool loop as it came, and is never the reply
DETAILS='[{"type": "reasoning.text", "text": "first list the files", "format": "anthropic-claude-v1", "index": 0, "signature": "c2ln"}]'
THINK="{\"match\": {\"step\": \"plan\", \"turn\": 0}, \"reply\": {\"content\": null, \"reasoning_content\": \"I should look around\", \"reasoning\": \"I should look around\", \"reasoning_details\": $DETAILS, \"tool_calls\": [{\"name\": \"list_files\", \"arguments\": {}}]}}"
PLAN1='{"match": {"step": "plan", "turn": 1}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}}'
fault reasoning None "[$THINK, $PLAN1, $EXPLORE_OK]"
/usr/bin/python3 - "$TMP/requests.jsonl" "$DETAILS" <<'PY' && ok "reasoning: reasoning_content, reasoning and reasoning_details go back unchanged in the assistant message" || not_ok "reasoning: sent back"
import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1])][1]
a = [m for m in b["messages"] if m["role"] == "assistant"][0]
assert a["reasoning_content"] == a["reasoning"] == "I should look around" and a["reasoning_details"] == json.loads(sys.argv[2]), a
assert a["tool_calls"][0]["function"]["name"] == "list_files" and a.get("content") in (None, ""), a
PY
fault reasoning_only no_submit '[{"match": {"step": "plan"}, "times": -1, "reply": {"content": null, "reasoning_content": "{\"goal\": \"g\", \"approach\": \"a\"}", "finish_reason": "stop"}}]'
[ "$(J "$TMP/f_reasoning_only/history.json" "len(d['iterations'][-1]['failure']['attempts'])")" = 0 ] \
    && ok "reasoning only: a submit written in the reasoning is not taken (no_submit, no attempt)" || not_ok "reasoning only: not a submit"

# ---- the Snakemake workflow with agent: llm ----------------------------------------------
# step_timeouts DIR: the distinct llm.step_timeout values of the run.json files under DIR
step_timeouts() { /usr/bin/python3 -c 'import json, pathlib, sys; print(sorted({json.load(open(p))["llm"].get("step_timeout") for p in pathlib.Path(sys.argv[1]).rglob("run.json")}))' "$1" 2>&1 | tail -1; }
SMK=${SNAKEMAKE:-snakemake}
if command -v "$SMK" >/dev/null 2>&1; then
    R2='{"match": {"step": "reflect"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"diagnosis": "ok", "summary": "fine", "instructions": {"code": "keep k-mers"}}}]}, "times": 2}'
    REC='{"representation": {"type": "kmer", "k": [3, 4]}, "model": {"type": "logreg", "C": 1.0}}'
    cat > "$TMP/wf_script.json" <<EOF
{"rules": [$R2, $PLAN_OK, $EXPLORE_OK,
 {"match": {"step": "represent"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"representation": {"type": "kmer", "k": [3, 4]}, "rationale": "r"}}]}},
 {"match": {"step": "architect"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"model": {"type": "logreg", "C": 1.0}, "rationale": "r"}}]}},
 {"match": {"step": "code"}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"entry": "builtin", "recipe": $REC}}]}}]}
EOF
    start_server "$TMP/wf_script.json"
    sed -e 's/^agent: builtin/agent: llm/' -e 's/^lineages: 2/lineages: 1/' "$ROOT/tests/workflow/test_config.yaml" > "$TMP/wf_config.yaml"
    printf 'llm: {provider: openai, api_base: "%s", model: fake-model, max_llm_calls: 50, step_timeout: 600}\n' "$BASE" >> "$TMP/wf_config.yaml"
    mkdir -p "$TMP/wf/tests" && ln -s "$ROOT/tests/data" "$TMP/wf/tests/data"
    if timeout -k 10 300 "$SMK" -s "$ROOT/workflows/Snakefile" --directory "$TMP/wf" --configfile "$TMP/wf_config.yaml" \
        --config bin_dir="$BIN" --cores 2 >"$TMP/wf.log" 2>&1; then ok "snakemake with agent: llm"; else not_ok "snakemake with agent: llm"; tail -20 "$TMP/wf.log" | sed 's/^/#   /'; fi
    H="$TMP/wf/results/gue_tata_sample/history.json"
    [ "$(J "$H" "[i['steps']['code']['output'].get('agent', 'builtin') for i in d['iterations']]" 2>/dev/null)" = "['builtin', 'llm']" ] \
        && ok "workflow: builtin baseline, then the LLM's iteration" || not_ok "workflow: builtin baseline, then the LLM's iteration"
    [ "$(J "$H" "[('llm' in i['feedback']) for i in d['iterations']]" 2>/dev/null)" = "[True, True]" ] && ok "workflow: LLM reflection on both iterations" || not_ok "workflow: LLM reflection on both iterations"
    [ -s "$TMP/wf/results/gue_tata_sample/test_metrics.json" ] && ok "workflow: held-out metrics" || not_ok "workflow: held-out metrics"
    [ "$(step_timeouts "$TMP/wf/results")" = "[600.0]" ] && ok "workflow: llm.step_timeout reaches agent-step (--step-timeout, kept in run.json)" || not_ok "workflow: llm.step_timeout reaches agent-step ($(step_timeouts "$TMP/wf/results"))"
    grep -q "no scripted reply" "$TMP/server.err" && not_ok "workflow: every request matched the script" || ok "workflow: every request matched the script"
else
    ok "Snakemake with agent: llm # SKIP no snakemake on PATH"
fi

# ---- the Nextflow pipeline with --agent llm (when Nextflow resolves from Maven) --------------
NF="$ROOT/tests/workflow/nextflow.sh"
if [ -f "$TMP/wf_script.json" ] && "$NF" resolve >/dev/null 2>&1; then
    start_server "$TMP/wf_script.json"
    mkdir -p "$TMP/nf"
    if (cd "$TMP/nf" && timeout -k 10 300 "$NF" nf run "$ROOT/workflows/main.nf" -profile test --bin_dir "$BIN" --lineages 1 --agent llm --provider openai \
            --api_base "$BASE" --model fake-model --max_llm_calls 50 --step_timeout 600 --outdir "$TMP/nf/results" -ansi-log false) >"$TMP/nf.log" 2>&1; then
        ok "nextflow with --agent llm"
    else
        not_ok "nextflow with --agent llm"; tail -20 "$TMP/nf.log" | sed 's/^/#   /'
    fi
    H="$TMP/nf/results/history.json"
    [ "$(J "$H" "[(i['steps']['code']['output'].get('agent', 'builtin'), 'llm' in i['feedback']) for i in d['iterations']]" 2>/dev/null)" = "[('builtin', True), ('llm', True)]" ] \
        && ok "nextflow: builtin baseline, then the LLM, LLM reflection on both" || not_ok "nextflow: builtin baseline, then the LLM, LLM reflection on both"
    [ "$(step_timeouts "$TMP/nf/results")" = "[600.0]" ] && ok "nextflow: --step_timeout reaches agent-step (kept in run.json)" || not_ok "nextflow: --step_timeout reaches agent-step ($(step_timeouts "$TMP/nf/results"))"
    grep -q "$AGENTOMICS_API_KEY" -r "$TMP/nf/results" "$TMP/nf/work" "$TMP/nf/.nextflow.log" && not_ok "nextflow: the key is in no output, work file or log" || ok "nextflow: the key is in no output, work file or log"
else
    ok "Nextflow with --agent llm # SKIP Nextflow not resolvable here"
fi

done_testing
