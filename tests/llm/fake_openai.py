#!/usr/bin/env python3
"""fake_openai.py - a scripted OpenAI-compatible chat-completions server.

For tests only (Python 3 standard library, no network beyond 127.0.0.1).

    fake_openai.py --script SCRIPT.json --port-file FILE [--log REQUESTS.jsonl] [--n-ctx N]

Binds 127.0.0.1 on a free port, writes the port number to FILE (atomically)
once it listens, and serves until killed. Every POST to a path ending in
/chat/completions is appended to the log as
{"n": seq, "path": ..., "headers": {...}, "body": parsed JSON or raw text}
and answered by the first rule of SCRIPT.json that is not used up and whose
"match" matches:

    {"rules": [
      {"match": {"step": "NAME",        # a message contains "[agentomics-step: NAME]"
                 "turn": 2,             # number of assistant messages in the request
                 "contains": "text",    # substring of the last message's content
                 "min_bytes": 30000},   # the request body has at least this many bytes
       "times": 1,                      # requests served (default 1, -1: unlimited)
       "delay": 0.0,                    # seconds before answering (e.g. a hang: 30)
       "status": 200,
       "headers": {"Retry-After": "1"},
       # exactly one of:
       "raw": "text sent verbatim",
       "body": {...any JSON sent as is...},
       "reply": {"content": "text" | null,
                 "tool_calls": [{"name": "f", "arguments": {...}} | {"name": "f", "arguments_raw": "text"}],
                 "finish_reason": "stop",   # default "tool_calls" when there are tool calls
                 "refusal": "text",
                 "reasoning_content": ..., "reasoning": ..., "reasoning_details": ...,   # copied into the message
                 "usage": {...}}}           # default: a plausible token count; false: none
    ]}

With --n-ctx N (or a top-level "n_ctx" in the script) the server says its
context size as the real ones do:
GET .../props (llama.cpp: default_generation_settings.n_ctx) and GET
.../models (vLLM: data[].max_model_len); other GETs are 404.

When no rule matches, the answer is HTTP 500 with
{"error": {"message": "fake_openai: no scripted reply for request N"}}
and a line on stderr, so the test sees it.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STEP_MARK = "[agentomics-step: %s]"


def content_text(content):
    """A message content as one string (string, null, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, str):
                parts.append(p)
        return "".join(parts)
    return json.dumps(content)


class Script:
    """The rules and their use counts; one lock for the whole server."""

    def __init__(self, rules, log_path):
        self.rules = rules
        self.used = [0] * len(rules)
        self.seq = 0
        self.lock = threading.Lock()
        self.log_path = log_path

    @staticmethod
    def matches(rule, body, size):
        m = rule.get("match") or {}
        if "min_bytes" in m and size < m["min_bytes"]:
            return False
        msgs = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(msgs, list):
            msgs = []
        msgs = [x for x in msgs if isinstance(x, dict)]
        if "step" in m:
            mark = STEP_MARK % m["step"]
            if not any(mark in content_text(x.get("content")) for x in msgs):
                return False
        if "turn" in m:
            if sum(1 for x in msgs if x.get("role") == "assistant") != m["turn"]:
                return False
        if "contains" in m:
            last = content_text(msgs[-1].get("content")) if msgs else ""
            if m["contains"] not in last:
                return False
        return True

    def take(self, path, headers, raw):
        """Logs the request and picks its rule: (n, rule or None, body)."""
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
        with self.lock:
            self.seq += 1
            n = self.seq
            if self.log_path:
                entry = {"n": n, "path": path, "headers": headers, "body": body}
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")
                    f.flush()
            for i, rule in enumerate(self.rules):
                times = rule.get("times", 1)
                if times != -1 and self.used[i] >= times:
                    continue
                if self.matches(rule, body, len(raw)):
                    self.used[i] += 1
                    return n, rule, body
        return n, None, body


def completion(n, reply, req):
    """A full chat.completion object from the "reply" shorthand."""
    msg = {"role": "assistant", "content": reply.get("content")}
    calls = []
    for i, tc in enumerate(reply.get("tool_calls") or []):
        if "arguments_raw" in tc:
            args = tc["arguments_raw"]
        else:
            args = json.dumps(tc.get("arguments", {}))
        calls.append({"id": "call_%d_%d" % (n, i), "type": "function",
                      "function": {"name": tc.get("name", ""), "arguments": args}})
    if calls:
        msg["tool_calls"] = calls
    for k in ("refusal", "reasoning_content", "reasoning", "reasoning_details"):
        if k in reply:
            msg[k] = reply[k]
    finish = reply.get("finish_reason", "tool_calls" if calls else "stop")
    usage = reply.get("usage")
    if usage is None:
        prompt = max(1, len(json.dumps(req.get("messages", []) if isinstance(req, dict) else req)) // 4)
        done = max(1, len(json.dumps(msg)) // 4)
        usage = {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
    model = req.get("model", "fake") if isinstance(req, dict) else "fake"
    body = {"id": "chatcmpl-fake-%d" % n, "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": usage}
    if usage is False:   # "usage": false: a server that reports none
        del body["usage"]
    return body


class Handler(BaseHTTPRequestHandler):
    server_version = "fake_openai/1"

    def log_message(self, fmt, *args):  # quiet: the request log says it all
        pass

    def send_body(self, status, headers, data):
        try:
            self.send_response(status)
            names = {k.lower() for k in headers}
            if "content-type" not in names:
                self.send_header("Content-Type", "application/json")
            for k, v in headers.items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
            # The client gave up (a hang it timed out on): nothing to tell.
            self.close_connection = True

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        try:
            raw = self.rfile.read(length) if length > 0 else b""
        except (ConnectionResetError, OSError):
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self.send_body(404, {}, json.dumps({"error": {"message": "fake_openai: no such path %s" % self.path}}).encode())
            return
        script = self.server.script
        n, rule, body = script.take(self.path, dict(self.headers.items()), raw)
        if rule is None:
            msg = "fake_openai: no scripted reply for request %d" % n
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
            self.send_body(500, {}, json.dumps({"error": {"message": msg}}).encode())
            return
        delay = float(rule.get("delay", 0) or 0)
        if delay > 0:
            time.sleep(delay)
        if "raw" in rule:
            data = rule["raw"].encode("utf-8")
        elif "body" in rule:
            data = json.dumps(rule["body"]).encode("utf-8")
        elif "reply" in rule:
            data = json.dumps(completion(n, rule["reply"], body)).encode("utf-8")
        else:
            data = b""
        self.send_body(int(rule.get("status", 200)), rule.get("headers") or {}, data)

    def do_GET(self):
        n_ctx = self.server.n_ctx
        path = self.path.rstrip("/")
        if n_ctx and path.endswith("/props"):
            self.send_body(200, {}, json.dumps({"default_generation_settings": {"n_ctx": n_ctx}, "total_slots": 1}).encode())
        elif n_ctx and path.endswith("/models"):
            self.send_body(200, {}, json.dumps({"object": "list", "data": [{"id": "fake-model", "max_model_len": n_ctx}]}).encode())
        else:
            self.send_body(404, {}, b'{"error": {"message": "fake_openai: POST only"}}')


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Disconnects mid-reply are expected in the hang tests.
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="scripted OpenAI-compatible server (tests only)")
    ap.add_argument("--script", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--n-ctx", type=int, default=0)
    args = ap.parse_args()
    with open(args.script, encoding="utf-8") as f:
        spec = json.load(f)
    rules = spec.get("rules", []) if isinstance(spec, dict) else []
    srv = Server(("127.0.0.1", 0), Handler)
    srv.script = Script(rules, args.log)
    srv.n_ctx = args.n_ctx or (spec.get("n_ctx", 0) if isinstance(spec, dict) else 0)
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
