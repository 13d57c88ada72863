#!/usr/bin/env python3
"""requests.py - plain requests to a real OpenAI-compatible server, for
tests/llm/real/run.sh (TAP lines on stdout, numbered from START).

    requests.py BASE SCHEMAS_DIR START

1. a request with tools: HTTP 200 and an assistant message;
2. for every step, a request whose response_format is json_schema (strict)
   with the step's real submit schema (schemas/submit-STEP.schema.json,
   $refs inlined as the agent does): HTTP 200, and the reply's content is
   JSON valid against the schema (a reply cut at max_tokens is a skip: a
   small model can loop inside a string, and there is nothing to check).
"""
import json
import pathlib
import sys
import time
import urllib.request

import jsonschema

base, schemas, n = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])


def inline(node, doc_dir):
    if isinstance(node, list):
        return [inline(x, doc_dir) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        f, _, ptr = ref.partition("#")
        target = json.load(open(doc_dir / f))
        for tok in [t for t in ptr.split("/") if t]:
            target = target[tok]
        return inline(target, doc_dir)
    return {k: inline(v, doc_dir) for k, v in node.items() if k != "$schema"}


def chat(body):
    t = time.time()
    req = urllib.request.Request(base + "/chat/completions", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=900) as r:
        return r.status, json.load(r), time.time() - t


def tap(ok, what):
    global n
    print(("ok %d - " if ok else "not ok %d - ") % n + what, flush=True)
    n += 1


msgs = [{"role": "system", "content": "You are a careful assistant. Be brief."},
        {"role": "user", "content": "List the files of /data with the list_files tool."}]
tools = [{"type": "function", "function": {"name": "list_files", "description": "list a directory",
                                           "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}]
status, d, secs = chat({"model": "m", "messages": msgs, "tools": tools, "max_tokens": 256})
m = d["choices"][0]["message"]
tap(status == 200 and m.get("role") == "assistant", "tools: HTTP 200 and an assistant message (%.1f s; tool_calls %s, content %r)"
    % (secs, bool(m.get("tool_calls")), (m.get("content") or "")[:60]))
for step in ["plan", "explore", "split", "represent", "architect", "code", "reflect"]:
    schema = inline(json.load(open(schemas / ("submit-%s.schema.json" % step))), schemas)
    # seeded, so a rerun asks the same; greedy decoding loops more often on small models
    body = {"model": "m", "max_tokens": 1024, "seed": 1, "messages": [
        {"role": "system", "content": "You answer with the JSON object the schema asks for."},
        {"role": "user", "content": "Give the %s step's output for a binary promoter classification task (4,900 DNA sequences of 300 nt)." % step}],
        "response_format": {"type": "json_schema", "json_schema": {"name": step, "strict": True, "schema": schema}}}
    d = {}
    try:
        status, d, secs = chat(body)
        content = d["choices"][0]["message"].get("content") or ""
        reply = json.loads(content)
        jsonschema.validate(reply, schema)
        tap(status == 200, "json_schema %s: HTTP 200, a schema-valid reply (%.1f s, %d completion tokens)" % (step, secs, d.get("usage", {}).get("completion_tokens", 0)))
    except Exception as e:  # noqa: BLE001 - every failure is reported as TAP
        finish = (d.get("choices") or [{}])[0].get("finish_reason")
        if finish == "length":
            # a small model can loop inside a string until the cut: the grammar
            # held, but there is no complete reply to check (the agent answers
            # such a reply with a retry)
            print("ok %d # SKIP json_schema %s: the reply ran to max_tokens (finish_reason length)" % (n, step), flush=True)
            n += 1
            continue
        tap(False, "json_schema %s: %s (finish_reason %s)" % (step, str(e)[:300], finish))
