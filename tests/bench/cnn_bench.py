#!/usr/bin/env python3
"""CNN training speed: agentomics (C, OpenBLAS) vs the same network in PyTorch.

Builds tests/bench/cnn_bench.c against build/libagentomics.a, times training
epochs of the same architecture, batch size and thread count in both (by
default the builtin default CNN with its batch size 32, 2 threads; Adam,
per-sample reverse-complement augmentation, dropout; no validation pass),
and prints one markdown table row: seconds per epoch (mean of the epochs
after the first, which holds one-off warm-up in both), the ratio C/PyTorch
and the peak RSS of each process. Every run is a separate process; the two
are run alternately --rounds times and the fastest round of each is kept,
which makes the comparison robust to a busy machine.

    python3 tests/bench/cnn_bench.py [--data CSV] [--threads N] [--epochs N]
                                     [--batch N] [--rounds N] [--arch SPEC]

Uses Debian's python3-torch (CPU); without it the PyTorch cells read n/a.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_DATA = os.path.join(ROOT, "..", "shared", "data", "gue_prom_300_tata", "train.csv")
# Blocks F:W:D:POOL:P joined by '/', then |GLOBAL|DROPOUT|HIDDEN — the
# builtin default CNN (ao_cnn_arch_default).
DEFAULT_ARCH = "64:9:1:avg:4/64:9:1:avg:4|flatten|0.3|64"


def parse_arch(spec):
    blocks, glob, drop, hidden = spec.split("|")
    out = []
    for b in blocks.split("/"):
        f, w, d, pool, p = b.split(":")
        out.append((int(f), int(w), int(d), pool, int(p)))
    return out, glob, float(drop), int(hidden)


def torch_worker(args):
    import numpy as np
    import torch
    import torch.nn as nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    seqs, labels = [], []
    with open(args.data) as f:
        for line in f:
            s, _, y = line.strip().partition(",")
            if not y.isdigit():
                continue
            seqs.append(s.upper())
            labels.append(int(y))
    L = len(seqs[0])
    lut = np.full(256, 4, np.int64)
    for i, c in enumerate(b"ACGT"):
        lut[c] = i
    idx = lut[np.frombuffer("".join(s[:L].ljust(L, "N") for s in seqs).encode(), np.uint8)].reshape(len(seqs), L)
    X = np.zeros((len(seqs), 5, L), np.float32)
    np.put_along_axis(X, idx[:, None, :], 1.0, axis=1)
    X = torch.from_numpy(np.ascontiguousarray(X[:, :4]))
    y = torch.tensor(labels)
    K = max(2, int(y.max()) + 1)

    blocks, glob, drop, hidden = parse_arch(args.arch)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layers, C, Ll = [], 4, L
            for f, w, d, pool, p in blocks:
                layers += [nn.Conv1d(C, f, w, dilation=d, padding="same"), nn.ReLU()]
                if pool == "max":
                    layers.append(nn.MaxPool1d(p, ceil_mode=True))
                elif pool == "avg":
                    layers.append(nn.AvgPool1d(p, ceil_mode=True))
                if pool != "none":
                    Ll = -(-Ll // p)
                C = f
            self.convs = nn.Sequential(*layers)
            G = {"max": C, "avg": C, "maxavg": 2 * C}.get(glob, C * Ll)
            head = [nn.Dropout(drop)]
            if hidden > 0:
                head += [nn.Linear(G, hidden), nn.ReLU()]
                G = hidden
            head.append(nn.Linear(G, K))
            self.head = nn.Sequential(*head)

        def forward(self, x):
            x = self.convs(x)
            if glob == "max":
                x = x.amax(2)
            elif glob == "avg":
                x = x.mean(2)
            elif glob == "maxavg":
                x = torch.cat([x.amax(2), x.mean(2)], 1)
            else:
                x = x.flatten(1)
            return self.head(x)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    times = []
    for _ in range(args.epochs):
        t = time.perf_counter()
        net.train()
        perm = torch.randperm(len(X))
        for i in range(0, len(X), args.batch):
            b = perm[i:i + args.batch]
            xb = X[b]
            flip = torch.rand(len(b)) < 0.5
            xb = torch.where(flip[:, None, None], xb.flip(1).flip(2), xb)
            opt.zero_grad()
            loss = lossf(net(xb), y[b])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    rest = times[1:] or times
    print(json.dumps({"s_per_epoch": sum(rest) / len(rest), "first_epoch_s": times[0],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def build_driver():
    out = os.path.join(ROOT, "build", "bench", "cnn_bench")
    src = os.path.join(ROOT, "tests", "bench", "cnn_bench.c")
    lib = os.path.join(ROOT, "build", "libagentomics.a")
    if not os.path.exists(lib):
        sys.exit("cnn_bench.py: build/libagentomics.a is missing; run make first")
    if os.path.exists(out) and os.path.getmtime(out) > max(os.path.getmtime(src), os.path.getmtime(lib)):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "htslib", "jansson", "libarchive", "libcurl", "zlib",
                         "openblas"], capture_output=True, text=True)
    flags = pc.stdout.split() if pc.returncode == 0 else ["-lopenblas"]
    cmd = [os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror",
           "-I" + os.path.join(ROOT, "include"), "-o", out, src, lib] + flags + ["-lm", "-lpthread"]
    subprocess.run(cmd, check=True)
    return out


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--arch", default=DEFAULT_ARCH)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)
    if not os.path.exists(args.data):
        print(f"| CNN epoch | skipped: {args.data} not found | | | |")
        return 0
    drv = build_driver()
    env_py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    c_runs, t_runs = [], []
    for _ in range(args.rounds):
        r = run_json([drv, args.data, args.arch, str(args.epochs), str(args.threads), str(args.batch)])
        if r:
            c_runs.append(r)
        r = run_json([env_py, os.path.abspath(__file__), "--torch-worker", "--data", args.data, "--arch", args.arch,
                      "--threads", str(args.threads), "--epochs", str(args.epochs), "--batch", str(args.batch)])
        if r:
            t_runs.append(r)
    if not c_runs:
        sys.exit("cnn_bench.py: the C driver failed")
    c = min(c_runs, key=lambda r: r["s_per_epoch"])
    t = min(t_runs, key=lambda r: r["s_per_epoch"]) if t_runs else None
    what = (f"CNN train epoch ({os.path.basename(os.path.dirname(args.data))}, n={c['n']}, L={c['len']}, "
            f"arch `{args.arch}`, batch {args.batch}, {args.threads} threads)")
    if t:
        print(f"| {what} | {c['s_per_epoch']:.2f} s, RSS {c['peak_rss_mb']:.0f} MB "
              f"| PyTorch {t['s_per_epoch']:.2f} s, RSS {t['peak_rss_mb']:.0f} MB "
              f"| {c['s_per_epoch'] / t['s_per_epoch']:.2f}x |")
    else:
        print(f"| {what} | {c['s_per_epoch']:.2f} s, RSS {c['peak_rss_mb']:.0f} MB | PyTorch n/a | n/a |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
