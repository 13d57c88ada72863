#!/bin/bash
# How a model acts (--llm-protocol tools|json|auto) and the token and
# context limits, against the scripted server (tests/llm/fake_openai.py):
# the episode's first iteration with one JSON action per reply (json) and
# with calls written as ```json text (auto); auto switching a step to json
# after two replies without a call; max_tokens always sent; the context
# size asked from the server, every request fitted to it, and a named
# failure when a step cannot fit; prompts compacted and their sizes in the
# transcript; small models' habits (the output without the submit wrapper,
# one action on repeat) and the last reply of a step, which may only submit.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"; R="$BIN/agentomics-reflect"
. "$ROOT/tests/llm/server.sh"
llm_skip_unless_ready

export AGENTOMICS_API_KEY=sk-protocol-SECRET-77
unset OPENAI_API_KEY OPENROUTER_API_KEY AGENTOMICS_MODEL AGENTOMICS_API_BASE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
"$P" --train "$DATA/gue_tata_train.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
if /usr/bin/python3 -c "import sklearn" 2>/dev/null; then VARIANT=sklearn; else VARIANT=awk; fi
# req N EXPR: a Python expression over the body b of request N (1-based) of the log
req() { /usr/bin/python3 -c "import json,sys; b=[json.loads(l)['body'] for l in open(sys.argv[1])][int(sys.argv[2]) - 1]; print(eval(sys.argv[3]))" "$TMP/requests.jsonl" "$@" 2>/dev/null; }

# ---- json: one schema-constrained action per reply ---------------------------------------
"$PY" "$ROOT/tests/llm/episode.py" "$VARIANT" json > "$TMP/ep_json.json"
start_server "$TMP/ep_json.json"
check "json: iteration 1, every step by the LLM" "$S" --steps iteration --data "$A" --out "$TMP/j1" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --llm-protocol json --seed 3
[ "$(J "$TMP/j1/steps/code.json" "d['entry'], d['smoke']['status'], d['protocol']")" = "('script', 'ok', 'json')" ] \
    && ok "json: the code step's scripts were accepted (after the leak was fixed), protocol recorded" || not_ok "json: the code step's scripts were accepted"
[ "$(J "$TMP/j1/history.json" "sorted(set(s['output'].get('protocol') for s in d['iterations'][0]['steps'].values()))")" = "['json']" ] \
    && ok "json: every step records its protocol" || not_ok "json: every step records its protocol"
[ "$(req 1 "sorted(b), b['response_format']['type'], b['response_format']['json_schema']['strict'], len(b['response_format']['json_schema']['schema']['oneOf'])")" \
  = "(['max_tokens', 'messages', 'model', 'response_format'], 'json_schema', True, 6)" ] \
    && ok "json: no tools; response_format json_schema (strict) with one alternative per action; max_tokens sent" || not_ok "json: the request's shape"
/usr/bin/python3 - "$TMP/requests.jsonl" "$ROOT/schemas" <<'PY' && ok "json: every action the server was offered validates its schema, and the episode's actions match it" || not_ok "json: the action schemas"
import json, sys, jsonschema
rows = [json.loads(l)['body'] for l in open(sys.argv[1])]
for b in rows:
    schema = b['response_format']['json_schema']['schema']
    jsonschema.Draft202012Validator.check_schema(schema)
    for m in b['messages']:
        if m['role'] == 'assistant':
            jsonschema.validate(json.loads(m['content']), schema) if m['content'].startswith('{"action": "submit"') is False else None
PY
req 3 "[m['content'][:40] for m in b['messages'] if m['role'] == 'user'][-1]" | grep -q '^\[result of bash\]' \
    && ok "json: a tool result comes back as a user message '[result of NAME]'" || not_ok "json: a tool result comes back as a user message"
req 1 "b['messages'][0]['content']" | grep -q '"action": "submit", "output"' && ok "json: the system prompt explains the action format" || not_ok "json: the system prompt explains the action format"
[ "$(J "$TMP/j1/usage.json" "d['llm_calls']")" = "$(n_requests)" ] && ok "json: usage.json counts every request ($(n_requests))" || not_ok "json: usage.json counts every request"
grep -q "no scripted reply" "$TMP/server.err" 2>/dev/null && not_ok "json: every request matched the script" || ok "json: every request matched the script"
check "json: train-run trains the accepted scripts" "$T" --state "$TMP/j1" --data "$A" --out "$TMP/jrun" --time-limit 300
[ "$(J "$TMP/jrun/metrics.json" "d['status']")" = ok ] && ok "json: the script model trained and was scored" || not_ok "json: the script model trained and was scored"
grep -q "$AGENTOMICS_API_KEY" -r "$TMP/j1" && not_ok "json: no key in the state" || ok "json: no key in the state"

# ---- auto: calls written as text are taken --------------------------------------------------
"$PY" "$ROOT/tests/llm/episode.py" "$VARIANT" text > "$TMP/ep_text.json"
start_server "$TMP/ep_text.json"
check "auto: iteration 1 with calls written in \`\`\`json fences" "$S" --steps iteration --data "$A" --out "$TMP/t1" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --seed 3
[ "$(J "$TMP/t1/steps/code.json" "d['entry']")/$(J "$TMP/t1/steps/plan.json" "d['protocol']")" = "script/auto" ] \
    && ok "auto is llamacpp's default; the text calls were taken" || not_ok "auto: the text calls were taken"
# a step with two replies without a native call switches to json, and the later steps start there
[ "$(J "$TMP/t1/history.json" "sorted(set(s['output']['protocol'] for n, s in d['iterations'][0]['steps'].items() if n != 'plan'))")" = "['auto->json']" ] \
    && [ "$(grep -c '"event": *"protocol_switch"' "$TMP/t1/transcript.jsonl")" = 1 ] && [ "$(req "$(n_requests)" "b['response_format']['type']")" = json_schema ] \
    && ok "auto: one switch to json (explore's second text call); the later steps start in json" || not_ok "auto: the switch carries to the later steps"
[ "$(req 1 "b['tool_choice'], len(b['tools']), 'response_format' in b, b['max_tokens']")" = "('auto', 6, False, 4096)" ] \
    && ok "auto: tools with tool_choice auto, the preset's max_tokens (4096)" || not_ok "auto: the request's shape"
grep -q "no scripted reply" "$TMP/server.err" 2>/dev/null && not_ok "auto: every request matched the script" || ok "auto: every request matched the script"

# ---- auto turns json after two replies without a call --------------------------------------
cat > "$TMP/switch.json" <<'EOF'
{"rules": [
 {"match": {"step": "plan", "turn": 0}, "reply": {"content": "Let me think about the plan first."}},
 {"match": {"step": "plan", "turn": 1}, "reply": {"content": "A k-mer model sounds good."}},
 {"match": {"step": "plan", "turn": 2}, "reply": {"content": "{\"action\": \"submit\", \"output\": {\"goal\": \"g\", \"approach\": \"a\"}}"}}]}
EOF
start_server "$TMP/switch.json"
check "auto -> json: the step is accepted" "$S" --step plan --data "$A" --out "$TMP/w1" --agent llm --provider vllm --api-base "$BASE" \
    --model fake-model --baseline none --max-tokens 777
[ "$(J "$TMP/w1/steps/plan.json" "d['goal'], d['protocol']")" = "('g', 'auto->json')" ] && ok "auto -> json: recorded as auto->json" || not_ok "auto -> json: recorded"
[ "$(req 2 "'tools' in b, 'response_format' in b")/$(req 3 "'tools' in b, b['response_format']['type']")" = "(True, False)/(False, 'json_schema')" ] \
    && ok "auto -> json: the third request is a json one" || not_ok "auto -> json: the third request is a json one"
[ "$(req 3 "b['max_tokens']")" = 777 ] && ok "--max-tokens is sent" || not_ok "--max-tokens is sent"
grep -q '"event": *"protocol_switch"' "$TMP/w1/transcript.jsonl" && ok "auto -> json: the switch is in the transcript" || not_ok "auto -> json: the switch is in the transcript"

# ---- the context: asked from the server, requests fitted, a named failure ---------------------
LONG=$(/usr/bin/python3 -c '
import json
r = [{"match": {"step": "plan", "turn": t}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "seq %d 107000" % (100000 + t)}}]}} for t in range(8)]
r.append({"match": {"step": "plan", "turn": 8}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}})
print(json.dumps({"rules": r}))')
printf '%s\n' "$LONG" > "$TMP/long.json"
start_server "$TMP/long.json" --n-ctx 12000
check "context: a long step on a 12000-token server" "$S" --step plan --data "$A" --out "$TMP/c1" --agent llm --provider llamacpp --api-base "$BASE" \
    --model fake-model --baseline none --llm-protocol tools --max-tokens 1000
grep -q '"event": *"context_probe".*"context_tokens": *12000' "$TMP/c1/transcript.jsonl" && ok "context: llama.cpp's /props was asked (12000)" || not_ok "context: llama.cpp's /props was asked"
/usr/bin/python3 - "$TMP/requests.jsonl" <<'PY' && ok "context: every request fits 12000 - 1000 tokens at 3 characters a token" || not_ok "context: every request fits"
import json, sys
for l in open(sys.argv[1]):
    b = json.loads(l)['body']
    chars = len(json.dumps(b['messages'])) + len(json.dumps(b.get('tools', [])))
    assert chars <= (12000 - 1000) * 3 * 1.1, chars
PY
grep -q "elided to keep the conversation within the context" "$TMP/requests.jsonl" && ok "context: old tool outputs were elided" || not_ok "context: old tool outputs were elided"
[ "$(J "$TMP/c1/steps/plan.json" "d['goal']")" = g ] && ok "context: the step still ends in its submit" || not_ok "context: the step still ends in its submit"
start_server "$TMP/long.json" --n-ctx 12000
check "context: a context too small for the prompt is a recorded failure" "$S" --step plan --data "$A" --out "$TMP/c2" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --llm-protocol tools --max-tokens 1000 --context-tokens 3000
[ "$(J "$TMP/c2/history.json" "d['iterations'][0]['failure']['kind']")" = context ] && ok "context: failure kind 'context'" || not_ok "context: failure kind 'context'"
J "$TMP/c2/history.json" "d['iterations'][0]['failure']['message']" | grep -q "context of 3000" && ok "context: the message names the context" || not_ok "context: the message names the context"
[ "$(n_requests)" = 0 ] && ok "context: no request that cannot fit is sent" || not_ok "context: no request that cannot fit is sent ($(n_requests))"
expect_exit 2 "context: --context-tokens below 1024 is a usage error" "$S" --step plan --data "$A" --out "$TMP/c3" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --context-tokens 500
expect_exit 2 "context: a context with no room beside the reply is a usage error" "$S" --step plan --data "$A" --out "$TMP/c4" --agent llm \
    --provider llamacpp --api-base "$BASE" --model fake-model --baseline none --context-tokens 1200 --max-tokens 1000
stderr_has "leaves too little room" "context: the message says what to change"
expect_exit 2 "--llm-protocol names a protocol" "$S" --step plan --data "$A" --out "$TMP/c5" --agent llm --provider llamacpp --api-base "$BASE" \
    --model fake-model --baseline none --llm-protocol smoke

# ---- small models' habits: the output without the submit wrapper, one action on repeat; -------
# ---- the last reply of a step may only submit -------------------------------------------------
cat > "$TMP/bare.json" <<'EOF'
{"rules": [{"match": {"step": "plan", "turn": 0}, "reply": {"content": "```json\n{\"goal\": \"g\", \"approach\": \"a\"}\n```"}}]}
EOF
start_server "$TMP/bare.json"
check "bare output: a reply that is the step's output itself" "$S" --step plan --data "$A" --out "$TMP/b1" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --llm-protocol json
[ "$(J "$TMP/b1/steps/plan.json" "d['goal'], d['plan']['approach']")/$(n_requests)" = "('g', 'a')/1" ] && ok "bare output: taken as the submit (one request)" || not_ok "bare output: taken as the submit"
cat > "$TMP/multi.json" <<'EOF'
{"rules": [
 {"match": {"step": "plan", "turn": 0}, "reply": {"content": "Let me look first: {\"action\": \"bash\", \"command\": \"echo FIRST-RAN\"} then {\"action\": \"bash\", \"command\": \"echo SECOND-RAN\"}"}},
 {"match": {"step": "plan", "turn": 1}, "reply": {"content": "{\"action\": \"submit\", \"output\": {\"goal\": \"g\", \"approach\": \"a\"}}"}}]}
EOF
start_server "$TMP/multi.json"
check "two actions in one reply, after prose" "$S" --step plan --data "$A" --out "$TMP/m1" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --llm-protocol json
req 2 "b['messages'][-1]['content']" | grep -q "FIRST-RAN" && req 2 "b['messages'][-1]['content']" | grep -q "only the first action of your reply was taken" \
    && ! req 2 "b['messages'][-1]['content']" | grep -q "^SECOND-RAN" && ok "two actions: the first ran, and the model is told only the first is taken" || not_ok "two actions: the first ran, the model told"
cat > "$TMP/repeat.json" <<'EOF'
{"rules": [
 {"match": {"step": "plan", "turn": 0}, "reply": {"content": "{\"action\": \"bash\", \"command\": \"wc -l /data/train.tsv\"}"}},
 {"match": {"step": "plan", "turn": 1}, "reply": {"content": "{\"action\": \"bash\", \"command\": \"wc -l /data/train.tsv\"}"}},
 {"match": {"step": "plan", "turn": 2}, "reply": {"content": "{\"action\": \"bash\", \"command\": \"wc -l /data/train.tsv\"}"}},
 {"match": {"step": "plan", "turn": 3}, "reply": {"content": "{\"action\": \"bash\", \"command\": \"echo RAN-ON-A-SUBMIT-ONLY-TURN\"}"}},
 {"match": {"step": "plan", "turn": 4}, "reply": {"content": "{\"action\": \"submit\", \"output\": {\"goal\": \"g\", \"approach\": \"a\"}}"}}]}
EOF
start_server "$TMP/repeat.json"
check "repeat: one action three times, then a step that ends" "$S" --step plan --data "$A" --out "$TMP/r1" --agent llm --provider llamacpp \
    --api-base "$BASE" --model fake-model --baseline none --llm-protocol json
[ "$(req 3 "len(b['response_format']['json_schema']['schema']['oneOf'])")/$(req 4 "[a['properties']['action']['const'] for a in b['response_format']['json_schema']['schema']['oneOf']]")" = "6/['submit']" ] \
    && ok "repeat: after the same action twice in a row, the server may only produce a submit" || not_ok "repeat: only submit offered"
req 3 "b['messages'][-1]['content']" | grep -q "you took exactly this action in your previous turn" && ok "repeat: the result says it was the same action" || not_ok "repeat: the result says so"
req 4 "b['messages'][-1]['content']" | grep -q "You are repeating one action. Submit" && ok "repeat: the model is told to submit, in the last message" || not_ok "repeat: told to submit"
[ "$(req 4 "all(a['role'] != b2['role'] for a, b2 in zip(b['messages'][1:], b['messages'][2:]))")" = True ] && ok "repeat: roles still alternate" || not_ok "repeat: roles alternate"
req 5 "b['messages'][-1]['content']" | grep -q "not run: this reply could only submit" && ok "repeat: an action other than submit on such a turn is not run" || not_ok "repeat: the action is not run"
grep -q "RAN-ON-A-SUBMIT-ONLY-TURN$" "$TMP/requests.jsonl" && not_ok "repeat: its command never ran" || ok "repeat: its command never ran"
[ "$(J "$TMP/r1/steps/plan.json" "d['goal']")" = g ] && ok "repeat: the step ends in its submit" || not_ok "repeat: the step ends in its submit"
cat > "$TMP/last.json" <<'EOF'
{"rules": [
 {"match": {"step": "plan", "turn": 0}, "reply": {"tool_calls": [{"name": "list_files", "arguments": {"path": "/data"}}]}},
 {"match": {"step": "plan", "turn": 1}, "reply": {"tool_calls": [{"name": "list_files", "arguments": {"path": "/workspace"}}]}},
 {"match": {"step": "plan", "turn": 2}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}}]}
EOF
start_server "$TMP/last.json"
check "last reply: --max-turns 3" "$S" --step plan --data "$A" --out "$TMP/l1" --agent llm --provider openai --api-base "$BASE" \
    --model fake-model --baseline none --max-turns 3
[ "$(req 2 "len(b['tools']), b['tool_choice']")/$(req 3 "[t['function']['name'] for t in b['tools']], b['tool_choice']")" \
  = "(6, 'required')/(['submit'], {'type': 'function', 'function': {'name': 'submit'}})" ] \
    && ok "last reply: only submit offered and chosen" || not_ok "last reply: only submit offered and chosen"
req 3 "b['messages'][-1]['role'], b['messages'][-1]['content']" | grep -q "'tool'.*This is your last reply in this step" && ok "last reply: said in the last tool result" || not_ok "last reply: said"
[ "$(J "$TMP/l1/steps/plan.json" "d['goal']")" = g ] && ok "last reply: the step ends in its submit" || not_ok "last reply: the step ends in its submit"

# ---- tool-call arguments as an object, "" and absent; never an empty tool_call_id -------------
cat > "$TMP/args.json" <<'EOF'
{"rules": [
 {"match": {"step": "plan", "turn": 0}, "body": {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
   "tool_calls": [{"type": "function", "function": {"name": "list_files", "arguments": {"path": "/data"}}},
                  {"id": "", "type": "function", "function": {"name": "list_files", "arguments": ""}}]}}]}},
 {"match": {"step": "plan", "turn": 1}, "reply": {"tool_calls": [{"name": "submit", "arguments": {"goal": "g", "approach": "a"}}]}}]}
EOF
start_server "$TMP/args.json"
check "arguments: an object, and an empty string" "$S" --step plan --data "$A" --out "$TMP/a1" --agent llm --provider openai --api-base "$BASE" \
    --model fake-model --baseline none
[ "$(req 2 "[m['tool_call_id'] for m in b['messages'] if m['role'] == 'tool']")" = "['call_0_0', 'call_0_1']" ] \
    && ok "arguments: both calls ran; missing ids are made up, never ''" || not_ok "arguments: both calls ran"
req 2 "[m['content'] for m in b['messages'] if m['role'] == 'tool'][0]" | grep -q "train.tsv" && ok "arguments: the object's path was used" || not_ok "arguments: the object's path was used"

# ---- prompts: compact numbers, sizes in the transcript ---------------------------------------
grep -q '"event": *"prompt"' "$TMP/j1/transcript.jsonl" && ok "prompts: a size report per prompt in the transcript" || not_ok "prompts: a size report per prompt"
/usr/bin/python3 - "$TMP/j1/transcript.jsonl" <<'PY' && ok "prompts: JSON numbers with at most 4 significant digits" || not_ok "prompts: numbers rounded"
import json, re, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get('event') == 'request':
        for m in e['body']['messages']:
            if m['role'] == 'user' and '[agentomics-step:' in (m['content'] or ''):
                for x in re.findall(r'[:\[,](-?\d+\.\d+)(?:e-?\d+)?(?=[,\]}])', m['content']):
                    sig = x.replace('-', '').replace('.', '').strip('0')  # zeros at either end are not significant
                    assert len(sig) <= 4, x
PY

done_testing
