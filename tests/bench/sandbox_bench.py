#!/usr/bin/python3
"""Sandbox overhead: ao_sandbox_run vs the bwrap CLI invoked directly (and an unsandboxed fork/exec).

Commands: `true` and a small real one, `python3 -c 'import numpy'` when
/usr/bin/python3 has numpy (else `awk 'BEGIN{}'`). Ours: ao_sandbox_run
with ao_sandbox_opts_init() defaults and a writable workspace mount at
/workspace (tests/bench/sandbox_bench.c). Peer: the `bwrap` CLI given
exactly the argument list the library builds (captured once through
$AGENTOMICS_BWRAP pointing at a wrapper that records its arguments, then
replayed), started by the same driver with fork/execve, its output read
from a pipe to EOF. Second reference: the command itself, fork/execve, no
sandbox. As root, ours is also run with nproc = 0 (no pids cgroup) to
show that cgroup's share. All start from the same scrubbed environment. Runs are
interleaved in rounds so drift hits all alike; per-run wall time in
the driver (the driver's own start-up is not counted).

Prints markdown table rows:
| command | runs | ours | bwrap CLI | ratio ours/bwrap | unsandboxed fork/exec |

Run from the repository root after `make` (it needs build/libagentomics.a):
    /usr/bin/python3 tests/bench/sandbox_bench.py [--runs-true 200] [--runs-real 30]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import pkg_libs  # noqa: E402

BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1"}


def driver(bin_, args, env):
    out = subprocess.run([bin_] + args, check=True, capture_output=True, text=True, env=env).stdout
    return [float(x) for x in out.split()]


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs-true", type=int, default=200, help="runs of `true` per method")
    ap.add_argument("--runs-real", type=int, default=30, help="runs of the real command per method")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds the runs are split into")
    ap.add_argument("--lib", default=os.path.join(root, "build", "libagentomics.a"))
    ap.add_argument("--include", default=os.path.join(root, "include"))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bench", "sandbox_bench"))
    ap.add_argument("--no-build", action="store_true", help="use --bin as it is")
    args = ap.parse_args()

    bwrap = shutil.which("bwrap", path=BASE_ENV["PATH"])
    if not bwrap:
        print("sandbox_bench: bwrap not found (apt-get install bubblewrap)", file=sys.stderr)
        return 74
    if not args.no_build:
        if not os.path.exists(args.lib):
            print(f"sandbox_bench: {args.lib}: not found (run make first)", file=sys.stderr)
            return 74
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_bench.c")
        os.makedirs(os.path.dirname(args.bin), exist_ok=True)
        cmd = [os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-I" + args.include,
               "-o", args.bin, src, args.lib] + pkg_libs() + ["-lm", "-lpthread"]
        subprocess.run(cmd, check=True)

    has_numpy = subprocess.run(["/usr/bin/python3", "-c", "import numpy"], capture_output=True).returncode == 0
    real = ["python3", "-c", "import numpy"] if has_numpy else ["awk", "BEGIN{}"]
    commands = [(["true"], args.runs_true), (real, args.runs_real)]

    tmp = tempfile.mkdtemp(prefix="ao_sandbox_bench.")
    rows = []
    try:
        ws = os.path.join(tmp, "workspace")
        os.mkdir(ws)
        # The library's exact bwrap argument list, recorded by a wrapper.
        wrapper, argfile = os.path.join(tmp, "bwrap-record"), os.path.join(tmp, "args")
        with open(wrapper, "w") as fh:
            fh.write(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > '{argfile}'\nexec '{bwrap}' \"$@\"\n")
        os.chmod(wrapper, 0o755)
        for cmd, n in commands:
            driver(args.bin, ["ao", "1", ws] + cmd, dict(BASE_ENV, AGENTOMICS_BWRAP=wrapper))
            with open(argfile, "rb") as fh:
                bw_args = [a.decode() for a in fh.read().split(b"\0")[:-1]]
            assert bw_args[-len(cmd):] == cmd and "--unshare-all" in bw_args and ws in bw_args, bw_args
            # --json-status-fd is the library's own channel (the sandbox's pid 1,
            # to wait for the namespace to empty); the bare CLI has no such fd
            if "--json-status-fd" in bw_args:
                i = bw_args.index("--json-status-fd")
                del bw_args[i:i + 2]
            prog = shutil.which(cmd[0], path=BASE_ENV["PATH"])
            methods = {
                "ours": ["ao", None, ws] + cmd,
                "bwrap": ["exec", None, bwrap] + bw_args,
                "exec": ["exec", None, prog] + cmd[1:],
            }
            if os.geteuid() == 0:   # root: what the per-run pids cgroup costs
                methods["nproc0"] = ["ao-nproc0", None, ws] + cmd
            for m in methods.values():   # warm-up: page cache, dynamic loader
                m[1] = "2"
                driver(args.bin, m, BASE_ENV)
            times = {k: [] for k in methods}
            per_round = max(1, n // args.rounds)
            for _ in range(args.rounds):
                for k, m in methods.items():
                    m[1] = str(per_round)
                    times[k] += driver(args.bin, m, BASE_ENV)
            rows.append((cmd, len(bw_args), times))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def fmt(ts):
        return f"{1e3 * statistics.mean(ts):.2f} ms (median {1e3 * statistics.median(ts):.2f})"

    bw_ver = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"| command | runs per method | ours: ao_sandbox_run (defaults + workspace mount), mean per run | "
          f"peer: {bw_ver} CLI, same {rows[0][1]}-argument list, fork/exec | ratio ours/bwrap (mean) | "
          f"unsandboxed fork/exec |")
    print("|---|---|---|---|---|---|")
    for cmd, _, t in rows:
        shown = " ".join(a if " " not in a and a else f"'{a}'" for a in cmd)
        print(f"| `{shown}` | {len(t['ours'])} | {fmt(t['ours'])} | {fmt(t['bwrap'])} | "
              f"{statistics.mean(t['ours']) / statistics.mean(t['bwrap']):.2f} | {fmt(t['exec'])} |")
    if os.geteuid() == 0:
        print("\nRun as root, so ours also puts each run into a new pids cgroup (the process limit; root ignores "
              "RLIMIT_NPROC), which the bare CLI does not; the same runs with nproc = 0 (no cgroup): " +
              "; ".join(f"`{' '.join(c[:1])}` {fmt(t['nproc0'])}, ratio "
                        f"{statistics.mean(t['nproc0']) / statistics.mean(t['bwrap']):.2f}" for c, _, t in rows) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
