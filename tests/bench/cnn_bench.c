/* cnn_bench.c — times ao_cnn training epochs for tests/bench/cnn_bench.py.
 *
 *   cnn_bench CSV ARCH EPOCHS THREADS BATCH
 *
 * CSV: a `sequence,label` file (integer labels, fixed-length sequences);
 * ARCH: blocks "F:W:D:POOL:P" joined by '/', then "|GLOBAL|DROPOUT|HIDDEN"
 * (POOL none/max/avg; GLOBAL max/avg/maxavg/flatten), e.g.
 * "64:9:1:avg:4/64:9:1:avg:4|flatten|0.3|64" (the builtin default).
 * Trains EPOCHS epochs (Adam, RC augmentation, no validation set) with
 * the default training parameters and prints one JSON line:
 * seconds per epoch (mean of the epochs after the first), first epoch,
 * peak RSS. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cnn.h"
#include "agentomics/log.h"

typedef struct { double sum, first; int n; } timing;

static int on_epoch(void *ctx, const ao_cnn_epoch_info *e)
{
    timing *t = ctx;
    if (e->epoch == 1) t->first = e->seconds;
    else { t->sum += e->seconds; t->n++; }
    fprintf(stderr, "cnn_bench: epoch %d loss %.4f %.3f s\n", e->epoch, e->train_loss, e->seconds);
    return 0;
}

static int parse_arch(const char *s, ao_cnn_arch *a)
{
    char buf[1024], *blocks, *glob, *drop, *hid, *tok, *save = NULL;
    memset(a, 0, sizeof *a);
    snprintf(buf, sizeof buf, "%s", s);
    blocks = buf;
    if (!(glob = strchr(blocks, '|'))) return -1;
    *glob++ = 0;
    if (!(drop = strchr(glob, '|'))) return -1;
    *drop++ = 0;
    if (!(hid = strchr(drop, '|'))) return -1;
    *hid++ = 0;
    for (tok = strtok_r(blocks, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        ao_cnn_block *b;
        char pool[16];
        if (a->n_blocks >= AO_CNN_MAX_BLOCKS) return -1;
        b = &a->blocks[a->n_blocks++];
        if (sscanf(tok, "%d:%d:%d:%15[a-z]:%d", &b->filters, &b->width, &b->dilation, pool, &b->pool_size) != 5) return -1;
        b->pool = !strcmp(pool, "max") ? AO_CNN_POOL_MAX : !strcmp(pool, "avg") ? AO_CNN_POOL_AVG : AO_CNN_POOL_NONE;
    }
    a->global_pool = !strcmp(glob, "max") ? AO_CNN_GLOBAL_MAX : !strcmp(glob, "avg") ? AO_CNN_GLOBAL_AVG
                   : !strcmp(glob, "maxavg") ? AO_CNN_GLOBAL_MAXAVG : AO_CNN_FLATTEN;
    a->dropout = (float)atof(drop);
    a->hidden = atoi(hid);
    return 0;
}

int main(int argc, char **argv)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    float *X = NULL;
    int *y = NULL, L = 0, n = 0, ncap = 0, K = 0, rc = 1;
    ao_cnn_arch a;
    ao_cnn_train_params p;
    ao_cnn_train_result res;
    ao_cnn *m = NULL;
    ao_err err;
    timing t = {0, 0, 0};
    int64_t np = 0;

    if (argc != 6 || parse_arch(argv[2], &a) < 0) {
        fprintf(stderr, "usage: cnn_bench CSV ARCH EPOCHS THREADS BATCH\n");
        return 2;
    }
    if (!(f = fopen(argv[1], "r"))) { perror(argv[1]); return 74; }
    while ((len = getline(&line, &cap, f)) > 0) {
        char *comma = strchr(line, ',');
        int l;
        if (!comma || !isdigit((unsigned char)comma[1])) continue;   /* header */
        *comma = 0;
        if (!L) L = (int)strlen(line);
        if (n == ncap) {
            ncap = ncap ? 2 * ncap : 1024;
            X = realloc(X, (size_t)ncap * 4 * L * sizeof *X);
            y = realloc(y, (size_t)ncap * sizeof *y);
            if (!X || !y) { fprintf(stderr, "cnn_bench: out of memory\n"); return 71; }
        }
        memset(X + (size_t)n * 4 * L, 0, (size_t)4 * L * sizeof *X);
        for (l = 0; l < L && line[l]; l++) {
            const char *c = strchr("ACGT", toupper((unsigned char)line[l]));
            if (c && *c) X[((size_t)n * 4 + (c - "ACGT")) * L + l] = 1.0f;
        }
        y[n] = atoi(comma + 1);
        if (y[n] + 1 > K) K = y[n] + 1;
        n++;
    }
    fclose(f);
    free(line);
    ao_err_init(&err);
    if (!(m = ao_cnn_create(&a, 4, L, K < 2 ? 2 : K, 1, &err))) goto ERROR;
    ao_cnn_train_params_default(&p);
    p.max_epochs = atoi(argv[3]);
    p.threads = atoi(argv[4]);
    p.batch_size = atoi(argv[5]);
    p.progress = on_epoch;
    p.progress_ctx = &t;
    if (ao_cnn_train(m, &p, X, y, n, NULL, NULL, 0, &res, &err) < 0) goto ERROR;
    ao_cnn_params(m, &np);
    printf("{\"n\": %d, \"len\": %d, \"params\": %lld, \"epochs\": %d, \"s_per_epoch\": %.4f, \"first_epoch_s\": %.4f, "
           "\"peak_rss_mb\": %.1f}\n", n, L, (long long)np, res.epochs,
           t.n ? t.sum / t.n : t.first, t.first, ao_peak_rss_kb() / 1024.0);
    rc = 0;
ERROR:
    if (rc) fprintf(stderr, "cnn_bench: %s\n", err.msg);
    ao_cnn_destroy(m);
    free(X);
    free(y);
    return rc;
}
