# tests/llm/server.sh — sourced by the LLM CLI tests after tests/cli/lib.sh:
# the scripted OpenAI-compatible server (fake_openai.py) on 127.0.0.1.
#   start_server SCRIPT.json [fake_openai options]   serves it; sets PORT and BASE
#   stop_server                                      stops it (also at exit)
#   n_requests                                       chat requests served so far
PY=$(command -v python3 || true)
SRV=
start_server() {
    local script=$1; shift
    stop_server
    rm -f "$TMP/port" "$TMP/requests.jsonl"
    "$PY" "$ROOT/tests/llm/fake_openai.py" --script "$script" --port-file "$TMP/port" --log "$TMP/requests.jsonl" "$@" 2>>"$TMP/server.err" &
    SRV=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
    PORT=$(cat "$TMP/port"); BASE="http://127.0.0.1:$PORT/v1"
}
stop_server() { if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null; SRV=; fi; }
trap 'stop_server; rm -rf "$TMP"' EXIT
n_requests() { if [ -f "$TMP/requests.jsonl" ]; then wc -l < "$TMP/requests.jsonl"; else echo 0; fi; }
# llm_skip_unless_ready: python3 and a working bubblewrap, or a TAP skip
llm_skip_unless_ready() {
    if [ -z "$PY" ] || ! bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev true 2>/dev/null; then
        echo "ok 1 # SKIP python3 or a working bubblewrap is missing"; echo "1..1"; exit 0
    fi
}
