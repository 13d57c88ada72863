/* logreg_bench.c — the C side of tests/bench/logreg_bench.py.
 *
 *   logreg_bench TRAIN.bin VALID.bin C MAX_ITER TOL THREADS [PROBA.bin]
 *
 * Reads two CSR matrices with labels written by logreg_bench.py (native
 * little-endian: "AOCSR1\0\0", i64 rows, cols, nnz, i64 indptr[rows+1],
 * i32 indices[nnz], f32 values[nnz], i32 labels[rows]), fits binary or
 * multinomial logistic regression on the first, and prints one line:
 *   fit_s=.. cpu_s=.. n_iter=.. converged=.. loss=.. valid_logloss=..
 * and, if asked, the validation probabilities as raw f64 (rows x classes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agentomics/log.h"
#include "agentomics/logreg.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int read_csr(const char *path, ao_csr **out, int **labels)
{
    FILE *fp = fopen(path, "rb");
    char magic[8];
    int64_t hdr[3], *indptr = NULL;
    int32_t *idx = NULL, *lab = NULL;
    float *val = NULL;
    ao_csr *m = NULL;
    int rc = -1;

    if (!fp || fread(magic, 1, 8, fp) != 8 || memcmp(magic, "AOCSR1\0\0", 8) != 0 ||
        fread(hdr, sizeof *hdr, 3, fp) != 3 || hdr[0] < 1 || hdr[1] < 1 || hdr[2] < 0)
        goto DONE;
    indptr = malloc(sizeof *indptr * (size_t)(hdr[0] + 1));
    idx = malloc(sizeof *idx * (size_t)(hdr[2] + 1));
    val = malloc(sizeof *val * (size_t)(hdr[2] + 1));
    lab = malloc(sizeof *lab * (size_t)hdr[0]);
    if (!indptr || !idx || !val || !lab || !(m = ao_csr_create(hdr[1])) ||
        fread(indptr, sizeof *indptr, (size_t)hdr[0] + 1, fp) != (size_t)hdr[0] + 1 ||
        fread(idx, sizeof *idx, (size_t)hdr[2], fp) != (size_t)hdr[2] ||
        fread(val, sizeof *val, (size_t)hdr[2], fp) != (size_t)hdr[2] ||
        fread(lab, sizeof *lab, (size_t)hdr[0], fp) != (size_t)hdr[0])
        goto DONE;
    for (int64_t i = 0; i < hdr[0]; i++)
        if (indptr[i + 1] < indptr[i] || indptr[i + 1] > hdr[2] ||
            ao_csr_add_row(m, idx + indptr[i], val + indptr[i], indptr[i + 1] - indptr[i]) < 0)
            goto DONE;
    *out = m;
    *labels = lab;
    m = NULL;
    lab = NULL;
    rc = 0;
DONE:
    if (fp) fclose(fp);
    free(indptr); free(idx); free(val); free(lab);
    ao_csr_destroy(m);
    return rc;
}

int main(int argc, char **argv)
{
    ao_csr *Xt = NULL, *Xv = NULL;
    int *yt = NULL, *yv = NULL, K = 0, rc = 1;
    ao_logreg_params p;
    ao_logreg *m = NULL;
    ao_err err;
    double *P = NULL, t0, c0, ll = 0.0;

    if (argc != 7 && argc != 8) {
        fprintf(stderr, "usage: logreg_bench TRAIN.bin VALID.bin C MAX_ITER TOL THREADS [PROBA.bin]\n");
        return 2;
    }
    if (read_csr(argv[1], &Xt, &yt) < 0 || read_csr(argv[2], &Xv, &yv) < 0) {
        fprintf(stderr, "logreg_bench: cannot read %s or %s\n", argv[1], argv[2]);
        goto DONE;
    }
    for (int64_t i = 0; i < Xt->n_rows; i++) if (yt[i] + 1 > K) K = yt[i] + 1;
    ao_logreg_params_init(&p);
    p.C = atof(argv[3]);
    p.max_iter = atoi(argv[4]);
    p.tol = atof(argv[5]);
    p.threads = atoi(argv[6]);
    ao_err_init(&err);
    t0 = ao_now();
    c0 = cpu_now();
    if (ao_logreg_fit(&p, Xt, yt, K, NULL, &m, &err) < 0) {
        fprintf(stderr, "logreg_bench: %s\n", err.msg);
        goto DONE;
    }
    t0 = ao_now() - t0;
    c0 = cpu_now() - c0;
    if (Xv->n_cols > Xt->n_cols || !(P = malloc(sizeof *P * (size_t)Xv->n_rows * K)) ||
        ao_logreg_predict_proba(m, Xv, P) < 0)
        goto DONE;
    for (int64_t i = 0; i < Xv->n_rows; i++) {
        double q = P[i * K + yv[i]];
        ll -= log(q < 1e-15 ? 1e-15 : q);
    }
    if (argc == 8) {
        FILE *fp = fopen(argv[7], "wb");
        size_t nw = fp ? fwrite(P, sizeof *P, (size_t)Xv->n_rows * K, fp) : 0;
        if (!fp || fclose(fp) != 0 || nw != (size_t)Xv->n_rows * K) {
            fprintf(stderr, "logreg_bench: cannot write %s\n", argv[7]);
            goto DONE;
        }
    }
    printf("fit_s=%.4f cpu_s=%.4f n_iter=%d converged=%d loss=%.10g valid_logloss=%.8f\n", t0, c0,
           ao_logreg_n_iter(m), ao_logreg_converged(m), ao_logreg_loss(m), ll / (double)Xv->n_rows);
    rc = 0;
DONE:
    ao_logreg_destroy(m);
    ao_csr_destroy(Xt); ao_csr_destroy(Xv);
    free(yt); free(yv); free(P);
    return rc;
}
