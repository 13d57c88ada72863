/* test_cnn.c — the 1-D CNN learner: gradients of every layer type against
 * finite differences, a planted-motif toy, determinism, save/load,
 * divergence, time limit, early stopping and argument checks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cnn.h"
#include "agentomics/rng.h"
#include "unit.h"

/* ------------------------------------------------------------ helpers */

/* Parameter groups in ao_cnn_params() order: per block W, b; then the
 * hidden W, b (if any); then the output W, b. */
typedef struct group { const char *name; int64_t off, len; } group;

static int param_groups(const ao_cnn_arch *a, int C0, int L0, int K, group *g)
{
    int i, n = 0, C = C0, L = L0, G;
    int64_t off = 0;
    static const char *wn[] = {"conv0 W", "conv1 W", "conv2 W", "conv3 W", "conv4 W", "conv5 W", "conv6 W", "conv7 W"};
    static const char *bn[] = {"conv0 b", "conv1 b", "conv2 b", "conv3 b", "conv4 b", "conv5 b", "conv6 b", "conv7 b"};
    for (i = 0; i < a->n_blocks; i++) {
        const ao_cnn_block *b = &a->blocks[i];
        int64_t nw = (int64_t)b->filters * b->width * C;
        g[n++] = (group){wn[i], off, nw}; off += nw;
        g[n++] = (group){bn[i], off, b->filters}; off += b->filters;
        C = b->filters;
        if (b->pool != AO_CNN_POOL_NONE) L = (L + b->pool_size - 1) / b->pool_size;
    }
    G = a->global_pool == AO_CNN_GLOBAL_MAXAVG ? 2 * C : a->global_pool == AO_CNN_FLATTEN ? L * C : C;
    if (a->hidden > 0) {
        g[n++] = (group){"hidden W", off, (int64_t)a->hidden * G}; off += (int64_t)a->hidden * G;
        g[n++] = (group){"hidden b", off, a->hidden}; off += a->hidden;
        G = a->hidden;
    }
    g[n++] = (group){"output W", off, (int64_t)K * G}; off += (int64_t)K * G;
    g[n++] = (group){"output b", off, K}; off += K;
    return n;
}

static float *random_onehot(ao_rng *r, int n, int C, int L)
{
    float *X = calloc((size_t)n * C * L, sizeof *X);
    int i, l;
    for (i = 0; i < n; i++)
        for (l = 0; l < L; l++) X[((size_t)i * C + ao_rng_below(r, 4)) * L + l] = 1.0f;
    return X;
}

static const char ACGT[] = "ACGT";

static void put_base(float *x, int L, int l, char b)
{
    int c;
    for (c = 0; c < 4; c++) x[c * L + l] = ACGT[c] == b ? 1.0f : 0.0f;
}

/* n sequences of length L; label 1 ones carry `motif` at a random place */
static void motif_data(ao_rng *r, int n, int L, const char *motif, float **X, int **y)
{
    int i, k, ml = (int)strlen(motif);
    *X = random_onehot(r, n, 4, L);
    *y = malloc((size_t)n * sizeof **y);
    for (i = 0; i < n; i++) {
        (*y)[i] = (int)(i % 2);
        if ((*y)[i]) {
            int pos = (int)ao_rng_below(r, (uint64_t)(L - ml + 1));
            for (k = 0; k < ml; k++) put_base(*X + (size_t)i * 4 * L, L, pos + k, motif[k]);
        }
    }
}

/* ---------------------------------------------------- gradient checks */

/* Directional finite differences per parameter group, plus single
 * parameters; returns the worst relative error seen. */
static void grad_check(const char *what, const ao_cnn_arch *a, int C0, int L0, int K, int n)
{
    ao_err err;
    ao_cnn *m;
    ao_rng r;
    group g[2 * AO_CNN_MAX_BLOCKS + 4];
    int ng, gi, i, ok_dir = 1, bad_elem = 0, tot_elem = 0;
    int64_t np, j;
    float *w, *grad, *X, *v;
    int *y;
    double *sw, worst = 0;
    ao_err_init(&err);
    m = ao_cnn_create(a, C0, L0, K, 7, &err);
    CHECK(m != NULL, "%s: create (%s)", what, err.msg);
    if (!m) return;
    w = ao_cnn_params(m, &np);
    ng = param_groups(a, C0, L0, K, g);
    CHECK(g[ng - 1].off + g[ng - 1].len == np, "%s: parameter layout (%lld params)", what, (long long)np);
    ao_rng_seed(&r, 99);
    /* continuous inputs: no ties in max pooling */
    X = malloc((size_t)n * C0 * L0 * sizeof *X);
    for (j = 0; j < (int64_t)n * C0 * L0; j++) X[j] = (float)ao_rng_normal(&r);
    y = malloc((size_t)n * sizeof *y);
    sw = malloc((size_t)n * sizeof *sw);
    for (i = 0; i < n; i++) { y[i] = (int)ao_rng_below(&r, (uint64_t)K); sw[i] = 0.5 + ao_rng_uniform(&r); }
    /* small random biases so that bias gradients are exercised off zero */
    for (gi = 0; gi < ng; gi++)
        if (strstr(g[gi].name, " b"))
            for (j = 0; j < g[gi].len; j++) w[g[gi].off + j] = (float)(0.1 * ao_rng_normal(&r));
    grad = malloc((size_t)np * sizeof *grad);
    v = malloc((size_t)np * sizeof *v);
    {
        double l0;
        int rc = ao_cnn_loss_grad(m, X, y, sw, n, 5, &l0, grad);
        CHECK(rc == 0 && isfinite(l0), "%s: loss_grad runs (loss %g)", what, l0);
    }
    for (gi = 0; gi < ng; gi++) {
        const double h = 1e-3;
        double lp, lm, fd, an = 0, vn = 0, rel;
        memset(v, 0, (size_t)np * sizeof *v);
        for (j = 0; j < g[gi].len; j++) { v[g[gi].off + j] = (float)ao_rng_normal(&r); vn += (double)v[g[gi].off + j] * v[g[gi].off + j]; }
        vn = sqrt(vn);
        for (j = 0; j < g[gi].len; j++) v[g[gi].off + j] /= (float)vn;
        for (j = 0; j < g[gi].len; j++) an += (double)grad[g[gi].off + j] * v[g[gi].off + j];
        for (j = 0; j < g[gi].len; j++) w[g[gi].off + j] += (float)(h * v[g[gi].off + j]);
        if (ao_cnn_loss_grad(m, X, y, sw, n, 5, &lp, NULL) < 0) lp = NAN;
        for (j = 0; j < g[gi].len; j++) w[g[gi].off + j] -= (float)(2 * h * v[g[gi].off + j]);
        if (ao_cnn_loss_grad(m, X, y, sw, n, 5, &lm, NULL) < 0) lm = NAN;
        for (j = 0; j < g[gi].len; j++) w[g[gi].off + j] += (float)(h * v[g[gi].off + j]);
        fd = (lp - lm) / (2 * h);
        rel = fabs(fd - an) / fmax(fmax(fabs(fd), fabs(an)), 1e-3);
        if (!(rel < 2e-2)) {
            ok_dir = 0;
            printf("#   %s: %s: directional derivative fd %.6g analytic %.6g\n", what, g[gi].name, fd, an);
        }
        if (rel > worst) worst = rel;
        /* a few single parameters */
        for (i = 0; i < 4 && i < g[gi].len; i++) {
            int64_t k = g[gi].off + (int64_t)ao_rng_below(&r, (uint64_t)g[gi].len);
            float keep = w[k];
            const double he = 2e-3;
            w[k] = keep + (float)he;
            if (ao_cnn_loss_grad(m, X, y, sw, n, 5, &lp, NULL) < 0) lp = NAN;
            w[k] = keep - (float)he;
            if (ao_cnn_loss_grad(m, X, y, sw, n, 5, &lm, NULL) < 0) lm = NAN;
            w[k] = keep;
            fd = (lp - (double)lm) / (2 * he);
            tot_elem++;
            if (!(fabs(fd - grad[k]) <= 3e-3 + 5e-2 * fabs(grad[k]))) {
                bad_elem++;
                printf("#   %s: %s[%lld]: fd %.6g analytic %.6g\n", what, g[gi].name, (long long)(k - g[gi].off), fd, grad[k]);
            }
        }
    }
    CHECK(ok_dir, "%s: directional gradients of %d parameter groups (worst rel. error %.2g)", what, ng, worst);
    CHECK(bad_elem == 0, "%s: %d single-parameter gradients", what, tot_elem);
    free(X); free(y); free(sw); free(grad); free(v);
    ao_cnn_destroy(m);
}

static void test_gradients(void)
{
    ao_cnn_arch a;
    memset(&a, 0, sizeof a);
    /* conv (dilated) -> max pool -> conv -> avg pool -> global max+avg ->
     * dropout -> hidden (dropout) -> output */
    a.n_blocks = 2;
    a.blocks[0] = (ao_cnn_block){6, 5, 2, AO_CNN_POOL_MAX, 3};
    a.blocks[1] = (ao_cnn_block){5, 3, 1, AO_CNN_POOL_AVG, 2};
    a.global_pool = AO_CNN_GLOBAL_MAXAVG;
    a.dropout = 0.25f;
    a.hidden = 7;
    a.hidden_dropout = 0.2f;
    grad_check("maxpool+avgpool+maxavg+hidden+dropout", &a, 4, 23, 3, 5);
    /* no pooling, global max, no hidden, even kernel width */
    memset(&a, 0, sizeof a);
    a.n_blocks = 2;
    a.blocks[0] = (ao_cnn_block){5, 4, 1, AO_CNN_POOL_NONE, 1};
    a.blocks[1] = (ao_cnn_block){4, 2, 3, AO_CNN_POOL_NONE, 1};
    a.global_pool = AO_CNN_GLOBAL_MAX;
    grad_check("nopool+globalmax", &a, 5, 17, 2, 4);
    /* global average, one block */
    memset(&a, 0, sizeof a);
    a.n_blocks = 1;
    a.blocks[0] = (ao_cnn_block){6, 7, 1, AO_CNN_POOL_MAX, 4};
    a.global_pool = AO_CNN_GLOBAL_AVG;
    a.hidden = 5;
    grad_check("globalavg+hidden", &a, 4, 19, 2, 4);
    /* flatten (position-aware) with dropout, three blocks */
    memset(&a, 0, sizeof a);
    a.n_blocks = 3;
    a.blocks[0] = (ao_cnn_block){4, 3, 1, AO_CNN_POOL_AVG, 2};
    a.blocks[1] = (ao_cnn_block){5, 3, 2, AO_CNN_POOL_MAX, 2};
    a.blocks[2] = (ao_cnn_block){3, 1, 1, AO_CNN_POOL_NONE, 1};
    a.global_pool = AO_CNN_FLATTEN;
    a.dropout = 0.3f;
    grad_check("flatten+dropout+3 blocks", &a, 4, 21, 4, 3);
}

/* -------------------------------------------------------- training */

static void small_arch(ao_cnn_arch *a)
{
    memset(a, 0, sizeof *a);
    a->n_blocks = 1;
    a->blocks[0] = (ao_cnn_block){16, 8, 1, AO_CNN_POOL_NONE, 1};
    a->global_pool = AO_CNN_GLOBAL_MAX;
    a->dropout = 0.1f;
    a->hidden = 0;
}

static int count_epochs(void *ctx, const ao_cnn_epoch_info *e)
{
    int *c = ctx;
    if (isfinite(e->train_loss) && e->seconds >= 0 && e->epoch == *c + 1) (*c)++;
    return 0;
}

static double accuracy(const ao_cnn *m, const float *X, const int *y, int n)
{
    double *P = malloc((size_t)n * ao_cnn_n_classes(m) * sizeof *P);
    int i, k, K = ao_cnn_n_classes(m), ok = 0;
    if (ao_cnn_predict_proba(m, X, n, 1, P) < 0) { free(P); return -1; }
    for (i = 0; i < n; i++) {
        int best = 0;
        for (k = 1; k < K; k++) if (P[(size_t)i * K + k] > P[(size_t)i * K + best]) best = k;
        ok += best == y[i];
    }
    free(P);
    return (double)ok / n;
}

static ao_cnn *train_toy(const ao_cnn_arch *a, const ao_cnn_train_params *p, const float *X, const int *y, int n,
                         const float *Xv, const int *yv, int nv, ao_cnn_train_result *res, int *rc)
{
    ao_err err;
    ao_cnn *m;
    ao_err_init(&err);
    m = ao_cnn_create(a, 4, 40, 2, 3, &err);
    if (!m) { *rc = err.code; return NULL; }
    *rc = ao_cnn_train(m, p, X, y, n, Xv, yv, nv, res, &err);
    if (*rc < 0 && *rc != AO_EUSAGE) printf("#   train: %s\n", err.msg);
    return m;
}

/* The training settings the motif toy is run with. */
static void toy_params(ao_cnn_train_params *p, int patience, uint64_t seed)
{
    ao_cnn_train_params_default(p);
    p->lr = 3e-3;
    p->batch_size = 32;
    p->max_epochs = 25;
    p->patience = patience;
    p->seed = seed;
}

static void test_training(void)
{
    ao_rng r;
    float *X, *Xv, *Xt;
    int *y, *yv, *yt, rc, epochs_seen = 0;
    const int n = 400, nv = 200, L = 40;
    ao_cnn_arch a;
    ao_cnn_train_params p;
    ao_cnn_train_result res, res2;
    ao_cnn *m, *m2, *m3 = NULL;
    ao_buf b1 = {0}, b2 = {0}, b3 = {0};
    double *P1, *P2;
    ao_cursor cur;
    ao_err err;

    ao_rng_seed(&r, 2024);
    motif_data(&r, n, L, "TATAAT", &X, &y);
    motif_data(&r, nv, L, "TATAAT", &Xv, &yv);
    motif_data(&r, nv, L, "TATAAT", &Xt, &yt);
    small_arch(&a);
    toy_params(&p, 5, 11);
    p.threads = 1;
    p.progress = count_epochs;
    p.progress_ctx = &epochs_seen;

    /* motif toy */
    m = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res, &rc);
    CHECK(m && rc >= 0, "motif toy: trains (status %d, %d epochs, best %d)", res.status, res.epochs, res.best_epoch);
    CHECK(epochs_seen == res.epochs && res.epochs >= 1, "progress callback once per epoch (%d calls)", epochs_seen);
    {
        double acc = m ? accuracy(m, Xt, yt, nv) : 0;
        CHECK(acc >= 0.95, "motif toy: test accuracy %.3f >= 0.95", acc);
    }
    CHECK(res.best_epoch >= 1 && isfinite(res.best_valid_loss) && res.best_valid_loss < 0.3,
          "best validation loss %.3f at epoch %d", res.best_valid_loss, res.best_epoch);

    /* determinism: same seeds -> byte-identical model and predictions */
    p.progress = NULL;
    m2 = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res2, &rc);
    CHECK(m && m2 && ao_cnn_save(m, &b1) == 0 && ao_cnn_save(m2, &b2) == 0 && b1.len == b2.len
          && memcmp(b1.data, b2.data, b1.len) == 0, "two trainings give byte-identical models (%zu bytes)", b1.len);
    CHECK(res.epochs == res2.epochs && res.best_valid_loss == res2.best_valid_loss, "and identical training histories");
    P1 = malloc((size_t)nv * 2 * sizeof *P1);
    P2 = malloc((size_t)nv * 2 * sizeof *P2);
    CHECK(m && m2 && ao_cnn_predict_proba(m, Xt, nv, 1, P1) == 0 && ao_cnn_predict_proba(m2, Xt, nv, 1, P2) == 0
          && memcmp(P1, P2, (size_t)nv * 2 * sizeof *P1) == 0, "identical predictions");
    /* 2 BLAS threads: deterministic for a fixed thread count too */
    {
        ao_cnn_train_params p2 = p;
        ao_cnn *ma, *mb;
        ao_buf ba = {0}, bb = {0};
        p2.threads = 2;
        ma = train_toy(&a, &p2, X, y, n, Xv, yv, nv, &res2, &rc);
        mb = train_toy(&a, &p2, X, y, n, Xv, yv, nv, &res2, &rc);
        CHECK(ma && mb && ao_cnn_save(ma, &ba) == 0 && ao_cnn_save(mb, &bb) == 0 && ba.len == bb.len
              && memcmp(ba.data, bb.data, ba.len) == 0, "deterministic with 2 threads");
        {
            double acc = ma ? accuracy(ma, Xt, yt, nv) : 0;
            CHECK(acc >= 0.95, "2 data-parallel shards learn the motif too (accuracy %.3f)", acc);
        }
        {
            /* predictions do not depend on the prediction thread count */
            double *P3 = malloc((size_t)nv * 2 * sizeof *P3), *P4 = malloc((size_t)nv * 2 * sizeof *P4);
            CHECK(ma && ao_cnn_predict_proba(ma, Xt, nv, 1, P3) == 0 && ao_cnn_predict_proba(ma, Xt, nv, 3, P4) == 0
                  && memcmp(P3, P4, (size_t)nv * 2 * sizeof *P3) == 0, "predictions identical with 1 and 3 threads");
            free(P3); free(P4);
        }
        ao_buf_free(&ba); ao_buf_free(&bb);
        ao_cnn_destroy(ma); ao_cnn_destroy(mb);
    }

    /* save / load round trip */
    ao_err_init(&err);
    cur = (ao_cursor){b1.data, b1.len, 0};
    rc = ao_cnn_load(&cur, &m3, &err);
    CHECK(rc == 0 && m3 != NULL && cur.pos == b1.len, "load the saved model (%s)", err.msg);
    CHECK(m3 && ao_cnn_predict_proba(m3, Xt, nv, 1, P2) == 0 && memcmp(P1, P2, (size_t)nv * 2 * sizeof *P1) == 0,
          "loaded model predicts identically");
    CHECK(m3 && ao_cnn_save(m3, &b3) == 0 && b3.len == b1.len && memcmp(b1.data, b3.data, b1.len) == 0,
          "re-saved model is byte-identical");
    CHECK(m3 && ao_cnn_rc_average(m3) == 1 && ao_cnn_in_len(m3) == L && ao_cnn_in_channels(m3) == 4
          && ao_cnn_n_classes(m3) == 2 && ao_cnn_get_arch(m3)->blocks[0].filters == 16, "loaded shape and settings");
    {
        /* truncated payloads fail cleanly */
        size_t cut;
        int all_fail = 1;
        for (cut = 0; cut < b1.len; cut += b1.len / 17 + 1) {
            ao_cnn *mx = NULL;
            ao_cursor c2 = {b1.data, cut, 0};
            ao_err_init(&err);
            if (ao_cnn_load(&c2, &mx, &err) != AO_EDATA || mx) all_fail = 0;
            ao_cnn_destroy(mx);
        }
        CHECK(all_fail, "truncated models are rejected with AO_EDATA");
    }
    /* reverse-complement averaging is symmetric */
    {
        float *Xr = malloc((size_t)nv * 4 * L * sizeof *Xr);
        int i, c, l, same;
        for (i = 0; i < nv; i++)
            for (c = 0; c < 4; c++)
                for (l = 0; l < L; l++)
                    Xr[((size_t)i * 4 + c) * L + l] = Xt[((size_t)i * 4 + (3 - c)) * L + (L - 1 - l)];
        same = m && ao_cnn_predict_proba(m, Xr, nv, 1, P2) == 0 && memcmp(P1, P2, (size_t)nv * 2 * sizeof *P1) == 0;
        CHECK(same, "forward+RC averaged predictions are strand-symmetric");
        free(Xr);
    }

    /* weight averaging (EMA) */
    {
        ao_cnn_train_params pe = p;
        ao_cnn *me;
        pe.ema = 0.99;
        me = train_toy(&a, &pe, X, y, n, Xv, yv, nv, &res2, &rc);
        CHECK(me && rc >= 0 && accuracy(me, Xt, yt, nv) >= 0.95, "EMA of the weights learns the motif (best epoch %d)",
              res2.best_epoch);
        ao_cnn_destroy(me);
        pe.ema = 1.0;
        me = train_toy(&a, &pe, X, y, n, Xv, yv, nv, &res2, &rc);
        CHECK(rc == AO_EUSAGE, "EMA decay 1 rejected");
        ao_cnn_destroy(me);
    }

    /* NaN-inducing learning rate: divergence detected, best checkpoint kept */
    {
        ao_cnn_train_params pd = p;
        ao_cnn *md;
        int64_t np, j, finite = 1;
        float *w;
        pd.lr = 1e6;
        pd.max_epochs = 20;
        md = train_toy(&a, &pd, X, y, n, Xv, yv, nv, &res2, &rc);
        CHECK(md && rc >= 0 && res2.status == AO_CNN_DIVERGED, "lr 1e6 is reported as divergence (status %d, epochs %d)",
              res2.status, res2.epochs);
        w = md ? ao_cnn_params(md, &np) : NULL;
        for (j = 0; w && j < np; j++) if (!isfinite(w[j])) finite = 0;
        CHECK(w && finite && md && accuracy(md, Xt, yt, nv) >= 0, "the kept checkpoint is finite (best epoch %d)", res2.best_epoch);
        ao_cnn_destroy(md);
    }

    /* the time limit holds inside a batch (issue 13: a batch can take
     * minutes): a limit that has passed before the first batch ends stops
     * training with no epoch completed and the initial weights kept */
    {
        ao_cnn_train_params pt = p;
        ao_cnn *mt;
        pt.time_limit = 1e-6;
        pt.max_epochs = 50;
        pt.patience = 0;
        mt = train_toy(&a, &pt, X, y, n, Xv, yv, nv, &res2, &rc);
        CHECK(mt && rc >= 0 && res2.status == AO_CNN_TIME_LIMIT && res2.epochs == 0 && res2.best_epoch == 0,
              "a passed time limit stops inside the first batch (status %d, epochs %d)", res2.status, res2.epochs);
        ao_cnn_destroy(mt);
    }

    /* early stopping on labels that carry no signal */
    {
        ao_cnn_train_params pe = p;
        ao_cnn *me;
        int *yr = malloc((size_t)n * sizeof *yr), i;
        for (i = 0; i < n; i++) yr[i] = (int)ao_rng_below(&r, 2);
        pe.max_epochs = 200;
        pe.patience = 3;
        pe.lr = 1e-2;
        me = train_toy(&a, &pe, X, yr, n, Xv, yv, nv, &res2, &rc);
        CHECK(me && rc >= 0 && res2.status == AO_CNN_EARLY_STOP && res2.epochs == res2.best_epoch + 3,
              "early stopping after 3 epochs without improvement (epochs %d, best %d)", res2.epochs, res2.best_epoch);
        ao_cnn_destroy(me);
        free(yr);
    }

    /* class weights, no validation set, cancel from the callback */
    {
        ao_cnn_train_params pc = p;
        ao_cnn *mc;
        double cw[2] = {1.0, 3.0};
        pc.class_weight = AO_CNN_CW_EXPLICIT;
        pc.class_weights = cw;
        pc.max_epochs = 3;
        mc = train_toy(&a, &pc, X, y, n, NULL, NULL, 0, &res2, &rc);
        CHECK(mc && rc >= 0 && res2.status == AO_CNN_MAX_EPOCHS && res2.epochs == 3 && res2.best_epoch == 3
              && isnan(res2.best_valid_loss), "explicit class weights without validation data run all epochs");
        ao_cnn_destroy(mc);
        pc.class_weight = AO_CNN_CW_BALANCED;
        mc = train_toy(&a, &pc, X, y, n, Xv, yv, nv, &res2, &rc);
        CHECK(mc && rc >= 0 && res2.epochs == 3, "balanced class weights");
        ao_cnn_destroy(mc);
    }

    ao_buf_free(&b1); ao_buf_free(&b2); ao_buf_free(&b3);
    free(P1); free(P2);
    ao_cnn_destroy(m); ao_cnn_destroy(m2); ao_cnn_destroy(m3);
    free(X); free(y); free(Xv); free(yv); free(Xt); free(yt);
}

static int cancel_at_2(void *ctx, const ao_cnn_epoch_info *e)
{
    (void)ctx;
    return e->epoch >= 2;
}

static void test_errors(void)
{
    ao_cnn_arch a;
    ao_cnn_train_params p;
    ao_cnn_train_result res;
    ao_err err;
    ao_cnn *m;
    ao_rng r;
    float *X;
    int y[8] = {0, 1, 0, 1, 0, 1, 0, 1}, ybad[8] = {0, 1, 2, 1, 0, 1, 0, 1}, rc;

    ao_cnn_destroy(NULL);
    CHECK(1, "ao_cnn_destroy(NULL) is a no-op");
    ao_cnn_arch_default(&a);
    ao_err_init(&err);
    CHECK(ao_cnn_arch_check(&a, 4, 300, 2, &err) == 0, "the default architecture is valid for 4 x 300");
    a.blocks[0].filters = 0;
    ao_err_init(&err);
    CHECK(ao_cnn_create(&a, 4, 30, 2, 1, &err) == NULL && err.code == AO_EUSAGE, "zero filters rejected: %s", err.msg);
    ao_cnn_arch_default(&a);
    ao_err_init(&err);
    CHECK(ao_cnn_create(&a, 4, 30, 1, 1, &err) == NULL && err.code == AO_EUSAGE, "one class rejected: %s", err.msg);
    a.n_blocks = AO_CNN_MAX_BLOCKS + 1;
    ao_err_init(&err);
    CHECK(ao_cnn_create(&a, 4, 30, 2, 1, &err) == NULL && err.code == AO_EUSAGE, "too many blocks rejected");
    ao_cnn_arch_default(&a);
    a.dropout = 1.0f;
    ao_err_init(&err);
    CHECK(ao_cnn_create(&a, 4, 30, 2, 1, &err) == NULL && err.code == AO_EUSAGE, "dropout 1 rejected");

    small_arch(&a);
    ao_rng_seed(&r, 5);
    X = random_onehot(&r, 8, 4, 12);
    ao_err_init(&err);
    m = ao_cnn_create(&a, 4, 12, 2, 1, &err);
    ao_cnn_train_params_default(&p);
    p.max_epochs = 5;
    ao_err_init(&err);
    rc = ao_cnn_train(m, &p, X, ybad, 8, NULL, NULL, 0, &res, &err);
    CHECK(rc == AO_EDATA, "a label out of range is a data error: %s", err.msg);
    p.batch_size = 0;
    ao_err_init(&err);
    CHECK(ao_cnn_train(m, &p, X, y, 8, NULL, NULL, 0, &res, &err) == AO_EUSAGE, "batch size 0 rejected");
    ao_cnn_train_params_default(&p);
    p.max_epochs = 5;
    p.batch_size = 3;
    p.progress = cancel_at_2;
    ao_err_init(&err);
    rc = ao_cnn_train(m, &p, X, y, 8, X, y, 8, &res, &err);
    CHECK(rc == 0 && res.status == AO_CNN_CANCELLED && res.epochs == 2, "callback cancels training (epochs %d)", res.epochs);
    ao_cnn_destroy(m);
    free(X);
    /* reverse complement needs 4 nucleotide channels */
    ao_err_init(&err);
    m = ao_cnn_create(&a, 2, 12, 2, 1, &err);
    ao_cnn_train_params_default(&p);
    X = calloc(8 * 2 * 12, sizeof *X);
    ao_err_init(&err);
    CHECK(m && ao_cnn_train(m, &p, X, y, 8, NULL, NULL, 0, &res, &err) == AO_EUSAGE,
          "RC augmentation with 2 channels rejected: %s", err.msg);
    p.rc_augment = p.rc_average = 0;
    p.max_epochs = 2;
    ao_err_init(&err);
    CHECK(m && ao_cnn_train(m, &p, X, y, 8, NULL, NULL, 0, &res, &err) == 0 && res.epochs == 2,
          "2 channels without RC trains");
    ao_cnn_destroy(m);
    free(X);
}

/* long inputs are predicted in smaller chunks; results must not change */
static void test_long_input(void)
{
    ao_cnn_arch a;
    ao_err err;
    ao_cnn *m;
    ao_rng r;
    const int n = 60, L = 5000;
    float *X;
    double *P1 = malloc((size_t)n * 3 * sizeof *P1), *P2 = malloc((size_t)n * 3 * sizeof *P2), *P3;
    int i, ok = 1;
    small_arch(&a);
    a.blocks[0].pool = AO_CNN_POOL_MAX;
    a.blocks[0].pool_size = 50;
    a.global_pool = AO_CNN_FLATTEN;
    a.dropout = 0;   /* no random masks: the gradient comparison below needs that */
    ao_rng_seed(&r, 3);
    X = random_onehot(&r, n, 4, L);
    ao_err_init(&err);
    m = ao_cnn_create(&a, 4, L, 3, 1, &err);
    ao_cnn_set_rc_average(m, 1);
    CHECK(m && ao_cnn_predict_proba(m, X, n, 1, P1) == 0 && ao_cnn_predict_proba(m, X, n, 2, P2) == 0
          && memcmp(P1, P2, (size_t)n * 3 * sizeof *P1) == 0, "long inputs (L %d): chunked predictions agree", L);
    for (i = 0; i < n; i++) ok &= fabs(P1[i * 3] + P1[i * 3 + 1] + P1[i * 3 + 2] - 1) < 1e-6;
    CHECK(ok, "probabilities sum to 1");
    /* one sample at a time gives the same numbers up to float rounding
     * (BLAS may block a 1-row product differently) */
    P3 = malloc(3 * sizeof *P3);
    for (i = 0; i < n && ok; i++)
        ok = ao_cnn_predict_proba(m, X + (size_t)i * 4 * L, 1, 1, P3) == 0 && fabs(P3[0] - P1[i * 3]) < 1e-5
             && fabs(P3[1] - P1[i * 3 + 1]) < 1e-5;
    CHECK(ok, "a sample's prediction does not depend on its chunk (to 1e-5)");
    {
        /* long inputs are also trained in micro-batches: the gradient of
         * 20 samples (several micro-batches) is the mean of the
         * single-sample gradients */
        int64_t np, j;
        float *g, *g1, *gm;
        int y[20], okg = 1;
        double l, l1, lm = 0, worst = 0;
        ao_cnn_params(m, &np);
        g = malloc((size_t)np * sizeof *g);
        g1 = malloc((size_t)np * sizeof *g1);
        gm = calloc((size_t)np, sizeof *gm);
        for (i = 0; i < 20; i++) y[i] = i % 3;
        okg = ao_cnn_loss_grad(m, X, y, NULL, 20, 1, &l, g) == 0;
        for (i = 0; i < 20 && okg; i++) {
            okg = ao_cnn_loss_grad(m, X + (size_t)i * 4 * L, y + i, NULL, 1, 1, &l1, g1) == 0;
            lm += l1 / 20;
            for (j = 0; j < np; j++) gm[j] += g1[j] / 20;
        }
        for (j = 0; okg && j < np; j++) {
            double e = fabs(g[j] - gm[j]) / (fabs(gm[j]) + 1e-4);
            if (e > worst) worst = e;
        }
        CHECK(okg && fabs(l - lm) < 1e-5 && worst < 1e-2,
              "micro-batched gradient = mean of per-sample gradients (loss %.6f vs %.6f, worst rel. %.2g)", l, lm, worst);
        free(g); free(g1); free(gm);
    }
    free(P1); free(P2); free(P3); free(X);
    ao_cnn_destroy(m);
}

/* reverse-complement averaging with 8 (a sequence pair) and 6 channels */
static void test_rc_channels(void)
{
    static const int Cs[2] = {8, 6};
    int t;
    for (t = 0; t < 2; t++) {
        ao_cnn_arch a;
        ao_err err;
        ao_cnn *m;
        ao_rng r;
        const int n = 20, L = 30, C = Cs[t];
        float *X = malloc((size_t)n * C * L * sizeof *X), *Xr = malloc((size_t)n * C * L * sizeof *Xr);
        double *P1 = malloc((size_t)n * 2 * sizeof *P1), *P2 = malloc((size_t)n * 2 * sizeof *P2);
        int i, c, l;
        small_arch(&a);
        ao_rng_seed(&r, 8);
        for (i = 0; i < n * C * L; i++) X[i] = (float)ao_rng_uniform(&r);
        for (i = 0; i < n; i++)
            for (c = 0; c < C; c++) {
                int src = c < C - C % 4 ? (c / 4) * 4 + 3 - c % 4 : c;
                for (l = 0; l < L; l++) Xr[((size_t)i * C + c) * L + l] = X[((size_t)i * C + src) * L + (L - 1 - l)];
            }
        ao_err_init(&err);
        m = ao_cnn_create(&a, C, L, 2, 4, &err);
        if (m) ao_cnn_set_rc_average(m, 1);
        CHECK(m && ao_cnn_predict_proba(m, X, n, 1, P1) == 0 && ao_cnn_predict_proba(m, Xr, n, 1, P2) == 0
              && memcmp(P1, P2, (size_t)n * 2 * sizeof *P1) == 0,
              "%d channels: each group of 4 is complemented, the rest only reversed", C);
        ao_cnn_destroy(m);
        free(X); free(Xr); free(P1); free(P2);
    }
}

/* Learning-rate schedules: the rate of each epoch's last step. */
typedef struct lr_trace { int n; double lr[64], last; } lr_trace;

static int record_lr(void *ctx, const ao_cnn_epoch_info *e)
{
    lr_trace *t = ctx;
    if (t->n < 64) t->lr[t->n++] = e->lr;
    t->last = e->lr;
    return 0;
}

static void test_schedules(void)
{
    ao_rng r;
    float *X, *Xv;
    int *y, *yv, rc, i, rising = 1, falling = 1;
    const int n = 400, nv = 200, L = 40;
    ao_cnn_arch a;
    ao_cnn_train_params p;
    ao_cnn_train_result res;
    lr_trace one = {0}, cos = {0}, one_lrp = {0};
    ao_cnn *m;
    double peak = 0;
    ao_err err;

    ao_rng_seed(&r, 77);
    motif_data(&r, n, L, "TATAAT", &X, &y);
    motif_data(&r, nv, L, "TATAAT", &Xv, &yv);
    small_arch(&a);
    toy_params(&p, 0, 5);
    p.schedule = AO_CNN_SCHED_ONECYCLE;
    p.progress = record_lr;
    p.progress_ctx = &one;
    m = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res, &rc);
    CHECK(m && rc >= 0 && res.epochs == 25 && one.n == 25 && res.schedule_epochs == 25, "one-cycle: runs its 25 epochs (%d)", res.epochs);
    {
        double acc = m ? accuracy(m, Xv, yv, nv) : 0;
        /* the annealed rate learns the motif (chance: 0.5); its gain over
         * the plateau schedule shows on real data (policy.c), not on a
         * 400-sample toy with 13 steps per epoch */
        CHECK(acc >= 0.9, "one-cycle: learns the motif toy, accuracy %.3f >= 0.9", acc);
    }
    ao_cnn_destroy(m);
    for (i = 0; i < one.n; i++) if (one.lr[i] > peak) peak = one.lr[i];
    for (i = 1; i < 7; i++) rising &= one.lr[i] > one.lr[i - 1];
    for (i = 9; i < one.n; i++) falling &= one.lr[i] < one.lr[i - 1];
    CHECK(one.lr[0] < 0.5 * p.lr && peak > 0.9 * p.lr && peak <= p.lr * (1 + 1e-12),
          "one-cycle: warms up from %.3g to a peak of %.3g (lr %.3g)", one.lr[0], peak, p.lr);
    CHECK(rising && falling && one.lr[one.n - 1] < p.lr * 1e-4, "one-cycle: rises, then anneals to %.3g", one.lr[one.n - 1]);
    /* reduce-on-plateau is off under a schedule: the same rates */
    p.lr_patience = 1;
    p.progress_ctx = &one_lrp;
    m = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res, &rc);
    CHECK(m && one_lrp.n == one.n && memcmp(one_lrp.lr, one.lr, sizeof one.lr) == 0, "one-cycle: lr_patience does not change the rates");
    ao_cnn_destroy(m);
    p.lr_patience = 3;
    p.schedule = AO_CNN_SCHED_COSINE;
    p.progress_ctx = &cos;
    m = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res, &rc);
    falling = cos.n == 25;
    for (i = 1; i < cos.n; i++) falling &= cos.lr[i] < cos.lr[i - 1];
    CHECK(m && falling && cos.lr[0] > 0.9 * p.lr && cos.lr[cos.n - 1] < 0.01 * p.lr,
          "cosine: falls from %.3g to %.3g", cos.lr[0], cos.lr[cos.n - 1]);
    ao_cnn_destroy(m);
    /* a schedule the time limit would cut is re-planned after the first
     * epoch over the epochs that fit, so it still anneals; a plateau
     * schedule is not re-planned */
    {
        lr_trace tl = {0};
        p.schedule = AO_CNN_SCHED_ONECYCLE;
        p.max_epochs = 1000000;
        p.time_limit = 0.5;
        p.progress_ctx = &tl;
        m = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res, &rc);
        CHECK(m && rc >= 0 && res.schedule_epochs >= 1 && res.schedule_epochs < 1000000 && res.epochs <= res.schedule_epochs,
              "one-cycle under a 0.5 s limit: re-planned over %d epochs (%d run, status %d)", res.schedule_epochs, res.epochs, res.status);
        CHECK(res.status != AO_CNN_MAX_EPOCHS || (tl.n > 0 && tl.last < 1e-3 * p.lr),
              "the re-planned schedule anneals when it ends on its own (last rate %.3g)", tl.last);
        ao_cnn_destroy(m);
        p.schedule = AO_CNN_SCHED_PLATEAU;
        p.max_epochs = 1000000;
        p.time_limit = 0.2;
        p.progress_ctx = &tl;
        m = train_toy(&a, &p, X, y, n, Xv, yv, nv, &res, &rc);
        CHECK(m && rc >= 0 && res.schedule_epochs == 1000000 && res.status == AO_CNN_TIME_LIMIT,
              "the plateau schedule is not re-planned (status %d, %d epochs)", res.status, res.epochs);
        ao_cnn_destroy(m);
        p.time_limit = 0;
        p.max_epochs = 25;
    }
    p.schedule = 7;
    ao_err_init(&err);
    m = ao_cnn_create(&a, 4, L, 2, 3, &err);
    CHECK(m && ao_cnn_train(m, &p, X, y, n, Xv, yv, nv, &res, &err) == AO_EUSAGE && strstr(err.msg, "schedule"),
          "an unknown schedule is rejected: %s", err.msg);
    ao_cnn_destroy(m);
    free(X); free(y); free(Xv); free(yv);
}

int main(void)
{
    test_gradients();
    test_training();
    test_schedules();
    test_errors();
    test_long_input();
    test_rc_channels();
    return UNIT_DONE();
}
