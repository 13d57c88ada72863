#!/usr/bin/python3
"""Logistic regression fit: agentomics vs scikit-learn LogisticRegression(solver='lbfgs').

Features: k = 4, 5, 6 k-mer counts (5376 sparse columns) of
gue_prom_300_tata train.csv and dev.csv, computed here with numpy and
handed to both sides (a binary CSR file for tests/bench/logreg_bench.c),
so both fits see the same matrix. Same C, tol, max_iter and thread count
for both (scikit-learn's OpenMP/BLAS limited with threadpoolctl); only the
fit is timed. Both models' validation (dev.csv) log loss is computed here
with sklearn.metrics.log_loss. Target: no slower, log loss within 1%.

Prints one markdown table row:
| benchmark | peer | peer s | agentomics s | speed-up |

Run from the repository root after `make` (it needs build/libagentomics.a):
    /usr/bin/python3 tests/bench/logreg_bench.py [--threads N] [--C 0.01]
"""
import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import LUT, load_csv, pkg_libs  # noqa: E402




def kmer_counts(seqs, ks, n_cols=None):
    """CSR (indptr, indices, values, n_cols) of k-mer counts, k in ks,
    k-mers with a non-ACGT base skipped; columns: k blocks of 4^k."""
    from scipy import sparse
    rows, cols = [], []
    offset = 0
    for k in ks:
        for i, s in enumerate(seqs):
            a = LUT[np.frombuffer(s.encode(), dtype=np.uint8)]
            m = len(a) - k + 1
            if m <= 0:
                continue
            code = np.zeros(m, dtype=np.int64)
            bad = np.zeros(m, dtype=bool)
            for j in range(k):
                w = a[j:j + m]
                code = code * 4 + np.maximum(w, 0)
                bad |= w < 0
            code = code[~bad]
            rows.append(np.full(len(code), i, dtype=np.int64))
            cols.append(code + offset)
        offset += 4 ** k
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    X = sparse.csr_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(len(seqs), n_cols or offset))
    X.sum_duplicates()
    X.sort_indices()
    return X


def write_csr(path, X, y):
    with open(path, "wb") as fh:
        fh.write(b"AOCSR1\0\0")
        np.array([X.shape[0], X.shape[1], X.nnz], dtype="<i8").tofile(fh)
        X.indptr.astype("<i8").tofile(fh)
        X.indices.astype("<i4").tofile(fh)
        X.data.astype("<f4").tofile(fh)
        y.astype("<i4").tofile(fh)


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/shared/data/gue_prom_300_tata",
                    help="directory with train.csv and dev.csv")
    ap.add_argument("--C", type=float, default=0.01)
    ap.add_argument("--max-iter", type=int, default=1000)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each fit (median reported)")
    ap.add_argument("--lib", default=os.path.join(root, "build", "libagentomics.a"))
    ap.add_argument("--include", default=os.path.join(root, "include"))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bench", "logreg_bench"))
    ap.add_argument("--no-build", action="store_true", help="use --bin as it is")
    args = ap.parse_args()

    for f in ("train.csv", "dev.csv"):
        if not os.path.exists(os.path.join(args.data, f)):
            print(f"logreg_bench: {os.path.join(args.data, f)}: not found", file=sys.stderr)
            return 74
    if not args.no_build:
        if not os.path.exists(args.lib):
            print(f"logreg_bench: {args.lib}: not found (run make first)", file=sys.stderr)
            return 74
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logreg_bench.c")
        os.makedirs(os.path.dirname(args.bin), exist_ok=True)
        cmd = [os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-I" + args.include,
               "-o", args.bin, src, args.lib] + pkg_libs() + ["-lm", "-lpthread"]
        subprocess.run(cmd, check=True)

    # The same thread count for scikit-learn (OpenMP in its loss, BLAS).
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(args.threads)
    from sklearn import __version__ as skv
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from threadpoolctl import threadpool_limits

    ks = (4, 5, 6)
    st, yt = load_csv(os.path.join(args.data, "train.csv"))
    sv, yv = load_csv(os.path.join(args.data, "dev.csv"))
    Xt = kmer_counts(st, ks)
    Xv = kmer_counts(sv, ks, n_cols=Xt.shape[1])
    K = int(yt.max()) + 1
    tmp = tempfile.mkdtemp(prefix="ao_logreg_bench.")
    try:
        ftrain, fvalid, fproba = (os.path.join(tmp, n) for n in ("train.bin", "valid.bin", "proba.bin"))
        write_csr(ftrain, Xt, yt)
        write_csr(fvalid, Xv, yv)
        ao_times, ao_res = [], None
        for _ in range(args.repeats):
            out = subprocess.run([args.bin, ftrain, fvalid, repr(args.C), str(args.max_iter), repr(args.tol),
                                  str(args.threads), fproba], check=True, capture_output=True, text=True).stdout
            ao_res = dict(f.split("=", 1) for f in out.split())
            ao_times.append(float(ao_res["fit_s"]))
        Pa = np.fromfile(fproba, dtype="<f8").reshape(len(yv), K)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ao_ll = log_loss(yv, Pa, labels=list(range(K)))

    sk_times, m = [], None
    for _ in range(args.repeats):
        m = LogisticRegression(solver="lbfgs", C=args.C, tol=args.tol, max_iter=args.max_iter)
        with warnings.catch_warnings(), threadpool_limits(limits=args.threads):
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            m.fit(Xt, yt)
            sk_times.append(time.perf_counter() - t0)
    sk_ll = log_loss(yv, m.predict_proba(Xv), labels=list(range(K)))
    sk_iter = int(np.max(m.n_iter_))
    sk, ao = statistics.median(sk_times), statistics.median(ao_times)

    print(f"# scikit-learn {skv}: {len(sk_times)} fits, median {sk:.4f} s (min {min(sk_times):.4f}), "
          f"{sk_iter} iterations, dev log loss {sk_ll:.6f}; agentomics: {len(ao_times)} fits, median {ao:.4f} s "
          f"(min {min(ao_times):.4f}), {ao_res['n_iter']} iterations (converged={ao_res['converged']}), "
          f"dev log loss {ao_ll:.6f}", file=sys.stderr)
    print(f"| logistic regression fit, k=4..6 k-mer counts of {os.path.basename(args.data)} train.csv "
          f"({Xt.shape[0]} x {Xt.shape[1]}, C={args.C:g}, tol={args.tol:g}), {args.threads} thread(s); "
          f"dev log loss {ao_ll:.5f} vs {sk_ll:.5f} ({100.0 * (ao_ll - sk_ll) / sk_ll:+.2f}%) "
          f"| scikit-learn {skv} LogisticRegression(solver='lbfgs'), {sk_iter} iterations "
          f"| {sk:.4f} s | {ao:.4f} s ({ao_res['n_iter']} iterations) | {sk / ao:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
