/* kmer_bench.c — times k-mer featurisation of the sequences of a CSV
 * (built and run by tests/bench/kmer_bench.py).
 *
 *   kmer_bench FILE.csv K THREADS REPEATS
 *
 * Reads the column named "sequence" (else the first column) into memory
 * (not timed), then REPEATS times creates a featurizer for K-mer counts
 * and featurises every row (timed together). Prints one line:
 *   rows=N cols=N nnz=N sum=N median_s=X min_s=X
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/features.h"
#include "agentomics/log.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    FILE *fp = NULL;
    char *line = NULL, **seqs = NULL;
    size_t cap = 0, n = 0, scap = 0;
    ssize_t got;
    int col = 0, k, threads, reps, i, rc = 1;
    double *times = NULL, sum = 0.0;
    ao_featspec spec;
    ao_err err;
    ao_csr *m = NULL;

    if (argc != 5) {
        fprintf(stderr, "usage: kmer_bench FILE.csv K THREADS REPEATS\n");
        return 2;
    }
    k = atoi(argv[2]);
    threads = atoi(argv[3]);
    reps = atoi(argv[4]);
    if (reps < 1) reps = 1;
    if (!(fp = fopen(argv[1], "r"))) { perror(argv[1]); goto ERROR; }
    if ((got = getline(&line, &cap, fp)) > 0) {   /* header */
        char *tok, *save = NULL;
        int c = 0;
        line[strcspn(line, "\r\n")] = '\0';
        for (tok = strtok_r(line, ",\t", &save); tok; tok = strtok_r(NULL, ",\t", &save), c++)
            if (!strcmp(tok, "sequence")) col = c;
    }
    while ((got = getline(&line, &cap, fp)) > 0) {
        char *p = line, *e;
        int c;
        line[strcspn(line, "\r\n")] = '\0';
        for (c = 0; c < col && p; c++) {
            p = strpbrk(p, ",\t");
            if (p) p++;
        }
        if (!p) continue;
        e = p + strcspn(p, ",\t");
        *e = '\0';
        if (n == scap) {
            char **ns;
            scap = scap ? 2 * scap : 1024;
            if (!(ns = realloc(seqs, sizeof *ns * scap))) goto ERROR;
            seqs = ns;
        }
        if (!(seqs[n] = strdup(p))) goto ERROR;
        n++;
    }
    if (!(times = calloc((size_t)reps, sizeof *times))) goto ERROR;
    ao_featspec_init(&spec);
    spec.k[0] = k;
    for (i = 0; i < reps; i++) {
        double t0 = ao_now();
        ao_featurizer *f;
        ao_csr_destroy(m);
        m = NULL;
        ao_err_init(&err);
        if (!(f = ao_featurizer_create(&spec, 1, &err)) ||
            ao_featurize(f, (const char *const *)seqs, (int64_t)n, threads, &m, &err) < -1) {
            fprintf(stderr, "kmer_bench: %s\n", err.msg);
            ao_featurizer_destroy(f);
            goto ERROR;
        }
        ao_featurizer_destroy(f);
        times[i] = ao_now() - t0;
    }
    for (i = 0; i < m->nnz; i++) sum += m->values[i];
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    printf("rows=%lld cols=%lld nnz=%lld sum=%.0f median_s=%.6f min_s=%.6f\n", (long long)m->n_rows,
           (long long)m->n_cols, (long long)m->nnz, sum, times[reps / 2], times[0]);
    rc = 0;

ERROR:
    if (fp) fclose(fp);
    free(line);
    for (size_t j = 0; j < n; j++) free(seqs[j]);
    free(seqs);
    free(times);
    ao_csr_destroy(m);
    return rc;
}
