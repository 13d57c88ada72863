#!/usr/bin/python3
"""k-mer featurisation: agentomics vs scikit-learn CountVectorizer.

Times scikit-learn's CountVectorizer(analyzer='char', ngram_range=(k, k))
.fit_transform on the sequences of a CSV, and agentomics' featurizer
(ao_featurizer_create + ao_featurize, k-mer counts) on the same sequences,
in the same run, on the same machine, with the same thread count (1 by
default: CountVectorizer is single-threaded). Input parsing is not timed
for either. Both produce the same sparse count matrix up to column order;
the script checks that the non-zero counts and total counts agree.

Prints one markdown table row:
| benchmark | peer | peer s | agentomics s | speed-up |

Run from the repository root after `make` (it needs build/libagentomics.a):
    /usr/bin/python3 tests/bench/kmer_bench.py
"""
import argparse
import csv
import os
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import pkg_libs  # noqa: E402


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/shared/data/gue_prom_300_tata/train.csv")
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5, help="scikit-learn runs (median reported)")
    ap.add_argument("--c-repeats", type=int, default=25, help="agentomics runs (median reported)")
    ap.add_argument("--lib", default=os.path.join(root, "build", "libagentomics.a"))
    ap.add_argument("--include", default=os.path.join(root, "include"))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bench", "kmer_bench"))
    args = ap.parse_args()

    if not os.path.exists(args.data):
        print(f"kmer_bench: {args.data}: not found", file=sys.stderr)
        return 74
    if not os.path.exists(args.lib):
        print(f"kmer_bench: {args.lib}: not found (run make first)", file=sys.stderr)
        return 74
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kmer_bench.c")
    os.makedirs(os.path.dirname(args.bin), exist_ok=True)
    cmd = [os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-I" + args.include,
           "-o", args.bin, src, args.lib] + pkg_libs() + ["-lm", "-lpthread"]
    subprocess.run(cmd, check=True)

    with open(args.data, newline="") as fh:
        rows = list(csv.reader(fh))
    header, rows = rows[0], rows[1:]
    col = header.index("sequence") if "sequence" in header else 0
    seqs = [r[col] for r in rows]
    n, mean_len = len(seqs), sum(map(len, seqs)) / max(1, len(seqs))

    from sklearn import __version__ as skv
    from sklearn.feature_extraction.text import CountVectorizer

    sk_times, X = [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        X = CountVectorizer(analyzer="char", ngram_range=(args.k, args.k)).fit_transform(seqs)
        sk_times.append(time.perf_counter() - t0)
    sk = statistics.median(sk_times)

    out = subprocess.run([args.bin, args.data, str(args.k), str(args.threads), str(args.c_repeats)],
                         check=True, capture_output=True, text=True).stdout
    res = dict(kv.split("=") for kv in out.split())
    ao = float(res["median_s"])

    if int(res["nnz"]) != X.nnz or int(float(res["sum"])) != int(X.sum()):
        print(f"kmer_bench: results differ: agentomics nnz={res['nnz']} sum={res['sum']}, "
              f"scikit-learn nnz={X.nnz} sum={int(X.sum())}", file=sys.stderr)
    print(f"# scikit-learn {skv}: {len(sk_times)} runs, median {sk:.4f} s (min {min(sk_times):.4f}); "
          f"agentomics: {args.c_repeats} runs, median {ao:.5f} s (min {float(res['min_s']):.5f}); "
          f"nnz {res['nnz']} (sklearn {X.nnz})", file=sys.stderr)
    print(f"| k-mer featurisation (k={args.k}), {os.path.basename(os.path.dirname(args.data))} "
          f"{os.path.basename(args.data)} ({n} x {mean_len:.0f} nt), {args.threads} thread(s) "
          f"| scikit-learn {skv} CountVectorizer(analyzer='char', ngram_range=({args.k},{args.k})) "
          f"| {sk:.4f} s | {ao:.4f} s | {sk / ao:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
