#!/usr/bin/python3
"""Gradient-boosted trees: agentomics (tools/lib/gbdt.c) vs XGBoost and
scikit-learn HistGradientBoostingClassifier.

Features: 4-mer frequencies (256 dense columns) of gue_prom_300_tata
train.csv, dev.csv and test.csv, computed here with numpy and handed to every
side (a binary file for the small C driver embedded below, compiled against
build/libagentomics.a), so all fits see the same matrix. The same thread
count for everyone. Metrics (test MCC, AUROC, log loss) are computed here
with scikit-learn from each side's test probabilities.

Rows printed (markdown):
  1. XGBoost's defaults (depth-wise, max_depth 6, lambda 1, min_child_weight
     1, 255 bins, learning rate 0.1), up to 1000 rounds with early stopping
     after 50 rounds without a lower dev log loss, best round kept. Ours with
     the same settings (max_depth 6, no leaf limit: best-first growth then
     builds the same trees as depth-wise growth). Time per round run.
  2. Leaf-wise, 31 leaves, min 20 rows per leaf, lambda 1, 100 rounds, no
     early stopping: scikit-learn's HistGradientBoostingClassifier
     (max_leaf_nodes 31, l2_regularization 1) vs ours.
If xgboost is not installed (Debian: python3-xgboost) its row is skipped.

Run from the repository root after `make` (it needs build/libagentomics.a):
    /usr/bin/python3 tests/bench/gbdt_bench.py [--threads N] [--repeats 3]
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

DRIVER = r'''
/* gbdt_bench driver: TRAIN.bin VALID.bin|- TEST.bin PROBA.out key=value...
 * Files: "AODNS1\0\0", i64 rows, i64 cols, f32 rows*cols, i32 labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/gbdt.h"
#include "agentomics/log.h"

static ao_dense *load(const char *path, int **y)
{
    FILE *f = fopen(path, "rb");
    char mg[8];
    int64_t sh[2];
    ao_dense *X;
    if (!f || fread(mg, 1, 8, f) != 8 || memcmp(mg, "AODNS1\0\0", 8) || fread(sh, 8, 2, f) != 2) exit(74);
    if (!(X = ao_dense_create(sh[0], sh[1])) || !(*y = malloc((size_t)sh[0] * sizeof **y))) exit(71);
    if (fread(X->data, 4, (size_t)(sh[0] * sh[1]), f) != (size_t)(sh[0] * sh[1]) ||
        fread(*y, 4, (size_t)sh[0], f) != (size_t)sh[0]) exit(74);
    fclose(f);
    return X;
}

int main(int argc, char **argv)
{
    int *yt, *yv = NULL, *ye, i, nc = 0;
    ao_dense *Xt, *Xv = NULL, *Xe;
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    double t0, t1, *pr;
    FILE *fo;
    if (argc < 5) return 2;
    Xt = load(argv[1], &yt);
    if (strcmp(argv[2], "-")) Xv = load(argv[2], &yv);
    Xe = load(argv[3], &ye);
    for (i = 0; i < Xt->n_rows; i++) if (yt[i] + 1 > nc) nc = yt[i] + 1;
    ao_gbdt_params_init(&p);
    for (i = 5; i < argc; i++) {
        char *v = strchr(argv[i], '=');
        if (!v) return 2;
        *v++ = 0;
        if (!strcmp(argv[i], "n_estimators")) p.n_estimators = atoi(v);
        else if (!strcmp(argv[i], "learning_rate")) p.learning_rate = atof(v);
        else if (!strcmp(argv[i], "max_depth")) p.max_depth = atoi(v);
        else if (!strcmp(argv[i], "max_leaves")) p.max_leaves = atoi(v);
        else if (!strcmp(argv[i], "lambda")) p.lambda = atof(v);
        else if (!strcmp(argv[i], "min_child_weight")) p.min_child_weight = atof(v);
        else if (!strcmp(argv[i], "min_samples_leaf")) p.min_samples_leaf = atoi(v);
        else if (!strcmp(argv[i], "max_bins")) p.max_bins = atoi(v);
        else if (!strcmp(argv[i], "early_stopping_rounds")) p.early_stopping_rounds = atoi(v);
        else if (!strcmp(argv[i], "threads")) p.threads = atoi(v);
        else return 2;
    }
    ao_err_init(&err);
    t0 = ao_now();
    if (ao_gbdt_fit(&p, Xt, yt, nc, NULL, Xv, yv, &m, &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
    t1 = ao_now();
    if (!(pr = malloc((size_t)Xe->n_rows * nc * sizeof *pr)) || ao_gbdt_predict_proba(m, Xe, pr) < 0) return 1;
    printf("fit_s=%.6f rounds_run=%d best=%d predict_s=%.6f\n", t1 - t0, ao_gbdt_n_history(m),
           ao_gbdt_best_iteration(m), ao_now() - t1);
    if (!(fo = fopen(argv[4], "wb")) || fwrite(pr, sizeof *pr, (size_t)Xe->n_rows * nc, fo) != (size_t)Xe->n_rows * nc)
        return 74;
    fclose(fo);
    ao_gbdt_destroy(m);
    return 0;
}
'''




def kmer_freq(seqs, k=4):
    """Dense k-mer frequencies (counts / number of valid k-mers), float32."""
    X = np.zeros((len(seqs), 4 ** k), dtype=np.float32)
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
        if len(code):
            X[i] = np.bincount(code, minlength=4 ** k) / len(code)
    return X


def write_dense(path, X, y):
    with open(path, "wb") as fh:
        fh.write(b"AODNS1\0\0")
        np.array(X.shape, dtype="<i8").tofile(fh)
        X.astype("<f4").tofile(fh)
        y.astype("<i4").tofile(fh)


def metrics(y, p1):
    from sklearn.metrics import log_loss, matthews_corrcoef, roc_auc_score
    return matthews_corrcoef(y, (p1 > 0.5).astype(int)), roc_auc_score(y, p1), log_loss(y, p1)


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/shared/data/gue_prom_300_tata",
                    help="directory with train.csv, dev.csv and test.csv")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each fit (median reported)")
    ap.add_argument("--lib", default=os.path.join(root, "build", "libagentomics.a"))
    ap.add_argument("--include", default=os.path.join(root, "include"))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bench", "gbdt_bench"))
    args = ap.parse_args()

    for f in ("train.csv", "dev.csv", "test.csv"):
        if not os.path.exists(os.path.join(args.data, f)):
            print(f"gbdt_bench: {os.path.join(args.data, f)}: not found", file=sys.stderr)
            return 74
    if not os.path.exists(args.lib):
        print(f"gbdt_bench: {args.lib}: not found (run make first)", file=sys.stderr)
        return 74
    tmp = tempfile.mkdtemp(prefix="ao_gbdt_bench.")
    try:
        src = os.path.join(tmp, "gbdt_bench.c")
        with open(src, "w") as fh:
            fh.write(DRIVER)
        os.makedirs(os.path.dirname(args.bin), exist_ok=True)
        subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-I" + args.include,
                        "-o", args.bin, src, args.lib] + pkg_libs() + ["-lm", "-lpthread"], check=True)

        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[v] = str(args.threads)
        from sklearn import __version__ as skv
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        data = {}
        for part in ("train", "dev", "test"):
            s, y = load_csv(os.path.join(args.data, part + ".csv"))
            data[part] = (kmer_freq(s), y)
            write_dense(os.path.join(tmp, part + ".bin"), *data[part])
        (Xt, yt), (Xv, yv), (Xe, ye) = data["train"], data["dev"], data["test"]
        fproba = os.path.join(tmp, "proba.bin")

        def ours(valid, **kw):
            times, res = [], None
            cmd = [args.bin, os.path.join(tmp, "train.bin"), os.path.join(tmp, "dev.bin") if valid else "-",
                   os.path.join(tmp, "test.bin"), fproba, f"threads={args.threads}"]
            cmd += [f"{k}={v}" for k, v in kw.items()]
            for _ in range(args.repeats):
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                res = dict(f.split("=", 1) for f in out.split())
                times.append(float(res["fit_s"]))
            p = np.fromfile(fproba, dtype="<f8").reshape(len(ye), 2)[:, 1]
            return statistics.median(times), int(res["rounds_run"]), int(res["best"]), metrics(ye, p)

        def fmt(m):
            return f"MCC {m[0]:.3f}, AUROC {m[1]:.3f}, log loss {m[2]:.3f}"

        name = os.path.basename(args.data)
        print(f"| GBDT fit, 4-mer frequencies of {name} ({Xt.shape[0]} x {Xt.shape[1]}), {args.threads} thread(s) "
              "| peer | peer s (s/round) | agentomics s (s/round) | speed-up per round |")
        print("|---|---|---|---|---|")

        try:
            import xgboost as xgb
        except ImportError:
            xgb = None
        if xgb is not None:
            a_s, a_n, a_best, a_m = ours(True, n_estimators=1000, learning_rate=0.1, max_depth=6, max_leaves=0,
                                         **{"lambda": 1.0}, min_child_weight=1.0, min_samples_leaf=1, max_bins=255,
                                         early_stopping_rounds=50)
            times, model = [], None
            for _ in range(args.repeats):
                model = xgb.XGBClassifier(n_estimators=1000, learning_rate=0.1, max_depth=6, reg_lambda=1.0,
                                          min_child_weight=1.0, tree_method="hist", max_bin=255, n_jobs=args.threads,
                                          early_stopping_rounds=50, eval_metric="logloss", random_state=0)
                t0 = time.perf_counter()
                model.fit(Xt, yt, eval_set=[(Xv, yv)], verbose=False)
                times.append(time.perf_counter() - t0)
            x_s = statistics.median(times)
            x_n = model.best_iteration + 1 + 50
            x_n = min(x_n, 1000)
            x_m = metrics(ye, model.predict_proba(Xe)[:, 1])
            print(f"| depth 6, lr 0.1, early stopping on dev (50 rounds); test: ours {fmt(a_m)} "
                  f"(best round {a_best + 1} of {a_n}), XGBoost {fmt(x_m)} (best round {model.best_iteration + 1} "
                  f"of {x_n}) | XGBoost {xgb.__version__} hist | {x_s:.3f} s ({x_s / x_n * 1000:.2f} ms) "
                  f"| {a_s:.3f} s ({a_s / a_n * 1000:.2f} ms) | {(x_s / x_n) / (a_s / a_n):.1f}x |")

        a_s, a_n, _, a_m = ours(False, n_estimators=100, learning_rate=0.1, max_depth=0, max_leaves=31,
                                **{"lambda": 1.0}, min_child_weight=1e-3, min_samples_leaf=20, max_bins=255)
        times, model = [], None
        for _ in range(args.repeats):
            model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=31,
                                                   min_samples_leaf=20, l2_regularization=1.0, max_bins=255,
                                                   early_stopping=False, random_state=0)
            with warnings.catch_warnings(), threadpool_limits(limits=args.threads):
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                model.fit(Xt, yt)
                times.append(time.perf_counter() - t0)
        s_s = statistics.median(times)
        s_m = metrics(ye, model.predict_proba(Xe)[:, 1])
        print(f"| 31 leaves, min 20 rows/leaf, lr 0.1, 100 rounds; test: ours {fmt(a_m)}, "
              f"scikit-learn {fmt(s_m)} | scikit-learn {skv} HistGradientBoostingClassifier "
              f"| {s_s:.3f} s ({s_s / 100 * 1000:.2f} ms) | {a_s:.3f} s ({a_s / a_n * 1000:.2f} ms) "
              f"| {(s_s / 100) / (a_s / a_n):.1f}x |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
