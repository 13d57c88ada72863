#!/usr/bin/env python3
"""serve.py - llama.cpp's OpenAI-compatible server (the xllamacpp wheel) on
127.0.0.1 for tests/llm/real/run.sh.

    serve.py --model MODEL.gguf --port-file FILE [--ctx 16384] [--threads 1]

Binds 127.0.0.1 on a free port with the model's chat template (jinja),
writes the port to FILE once it listens, and serves until SIGTERM/SIGINT.
"""
import argparse
import os
import signal
import socket
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--ctx", type=int, default=16384)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import xllamacpp as x
    p = x.CommonParams()
    p.model.path = args.model
    p.n_ctx = args.ctx
    p.n_parallel = 1
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    p.use_jinja = True
    p.endpoint_props = True
    p.hostnames = ["127.0.0.1"]   # never any other address
    port = free_port()
    p.port = port
    srv = x.Server(p)
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    while not stop:
        time.sleep(0.2)
    del srv
    return 0


if __name__ == "__main__":
    sys.exit(main())
