/* test_gbdt.c — histogram gradient-boosted trees. */
#include <stdlib.h>
#include <string.h>
#include "agentomics/gbdt.h"
#include "agentomics/rng.h"
#include "unit.h"

/* n x d uniform(-1, 1) features. */
static ao_dense *rand_matrix(int64_t n, int64_t d, uint64_t seed)
{
    ao_dense *X = ao_dense_create(n, d);
    ao_rng r;
    int64_t i;
    ao_rng_seed(&r, seed);
    if (X) for (i = 0; i < n * d; i++) X->data[i] = (float)(2.0 * ao_rng_uniform(&r) - 1.0);
    return X;
}

static double accuracy(const ao_gbdt *m, const ao_dense *X, const int *y)
{
    int K = ao_gbdt_n_classes(m), ok = 0;
    double *p = malloc((size_t)X->n_rows * K * sizeof *p);
    int64_t i;
    if (!p || ao_gbdt_predict_proba(m, X, p) < 0) { free(p); return -1; }
    for (i = 0; i < X->n_rows; i++) {
        int k, best = 0;
        for (k = 1; k < K; k++) if (p[i * K + k] > p[i * K + best]) best = k;
        ok += best == y[i];
    }
    free(p);
    return (double)ok / (double)X->n_rows;
}

static int save_bytes(const ao_gbdt *m, ao_buf *b)
{
    memset(b, 0, sizeof *b);
    return ao_gbdt_save(m, b);
}

static int same_buf(const ao_buf *a, const ao_buf *b)
{
    return a->len == b->len && a->len > 0 && memcmp(a->data, b->data, a->len) == 0;
}

typedef struct stopper { int at, calls; } stopper;

static int stop_cb(void *ctx, int round, double tl, double vl)
{
    stopper *s = ctx;
    (void)tl; (void)vl;
    s->calls++;
    return round >= s->at;
}

static void test_separable(void)
{
    ao_dense *X = rand_matrix(400, 5, 1);
    int *y = malloc(400 * sizeof *y), i;
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    double imp[5];
    ao_err_init(&err);
    for (i = 0; i < 400; i++) y[i] = X->data[i * 5] > 0.3f;
    ao_gbdt_params_init(&p);
    p.n_estimators = 50;
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_OK, "separable: fit (%s)", err.msg);
    CHECK(m && accuracy(m, X, y) >= 0.995, "separable: train accuracy %.4f", m ? accuracy(m, X, y) : -1);
    CHECK(m && ao_gbdt_n_rounds(m) == 50 && ao_gbdt_n_history(m) == 50 && ao_gbdt_best_iteration(m) == 49,
          "separable: all rounds kept");
    CHECK(m && ao_gbdt_train_loss(m, 49) < ao_gbdt_train_loss(m, 0) && isnan(ao_gbdt_valid_loss(m, 0)),
          "separable: training loss falls, no validation loss");
    {
        /* raw-threshold prediction reproduces the binned training scores */
        double *pr = malloc(400 * 2 * sizeof *pr), ll = 0;
        CHECK(m && ao_gbdt_predict_proba(m, X, pr) == AO_OK, "separable: predict");
        for (i = 0; i < 400; i++) ll -= log(pr[2 * i + y[i]]);
        CHECK_NEAR(ll / 400, ao_gbdt_train_loss(m, 49), 1e-9, "separable: predicted train loss = recorded loss");
        free(pr);
    }
    CHECK(m && ao_gbdt_feature_importance(m, imp) == AO_OK && imp[0] > 0 &&
          imp[0] > 10 * (imp[1] + imp[2] + imp[3] + imp[4]), "separable: feature 0 carries the gain");
    ao_gbdt_destroy(m);
    ao_dense_destroy(X);
    free(y);
}

static void test_xor(void)
{
    ao_dense *X = rand_matrix(1000, 4, 2), *Xt = rand_matrix(500, 4, 3);
    int *y = malloc(1000 * sizeof *y), *yt = malloc(500 * sizeof *yt), i;
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    ao_err_init(&err);
    for (i = 0; i < 1000; i++) y[i] = (X->data[i * 4] > 0) ^ (X->data[i * 4 + 1] > 0);
    for (i = 0; i < 500; i++) yt[i] = (Xt->data[i * 4] > 0) ^ (Xt->data[i * 4 + 1] > 0);
    ao_gbdt_params_init(&p);
    p.n_estimators = 60;
    p.max_depth = 2;
    p.max_leaves = 0;
    p.learning_rate = 0.3;
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_OK, "xor: fit (%s)", err.msg);
    CHECK(m && accuracy(m, Xt, yt) >= 0.97, "xor depth 2: test accuracy %.4f", m ? accuracy(m, Xt, yt) : -1);
    {
        int64_t nn = ao_gbdt_n_nodes(m);
        CHECK(m && nn <= 60 * 7, "xor: trees have at most 7 nodes (%lld)", (long long)nn);
    }
    ao_gbdt_destroy(m);
    ao_dense_destroy(X);
    ao_dense_destroy(Xt);
    free(y);
    free(yt);
}

static int class3(const float *x) { return x[0] < -0.33f ? 0 : x[0] < 0.33f ? (x[1] > 0 ? 1 : 2) : 2; }

static void test_multiclass(void)
{
    ao_dense *X = rand_matrix(900, 6, 4), *Xt = rand_matrix(300, 6, 5);
    int *y = malloc(900 * sizeof *y), *yt = malloc(300 * sizeof *yt), i, ok = 1;
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    double *pr = malloc(300 * 3 * sizeof *pr);
    ao_err_init(&err);
    for (i = 0; i < 900; i++) y[i] = class3(X->data + i * 6);
    for (i = 0; i < 300; i++) yt[i] = class3(Xt->data + i * 6);
    ao_gbdt_params_init(&p);
    p.n_estimators = 80;
    p.max_leaves = 8;
    CHECK(ao_gbdt_fit(&p, X, y, 3, NULL, NULL, NULL, &m, &err) == AO_OK, "multiclass: fit (%s)", err.msg);
    CHECK(m && ao_gbdt_n_outputs(m) == 3 && ao_gbdt_n_classes(m) == 3, "multiclass: 3 outputs");
    CHECK(m && accuracy(m, X, y) >= 0.99, "multiclass: train accuracy %.4f", m ? accuracy(m, X, y) : -1);
    CHECK(m && accuracy(m, Xt, yt) >= 0.95, "multiclass: test accuracy %.4f", m ? accuracy(m, Xt, yt) : -1);
    CHECK(m && ao_gbdt_predict_proba(m, Xt, pr) == AO_OK, "multiclass: predict");
    for (i = 0; m && i < 300; i++) if (fabs(pr[3 * i] + pr[3 * i + 1] + pr[3 * i + 2] - 1) > 1e-12) ok = 0;
    CHECK(ok, "multiclass: probabilities sum to 1");
    ao_gbdt_destroy(m);
    m = NULL;
    /* with a validation set and early stopping; labels of the validation half flipped to noise */
    for (i = 0; i < 300; i += 3) yt[i] = (yt[i] + 1) % 3;
    p.n_estimators = 300;
    p.learning_rate = 0.5;
    p.min_samples_leaf = 1;
    p.early_stopping_rounds = 5;
    p.subsample = 0.8;
    p.colsample = 0.7;
    CHECK(ao_gbdt_fit(&p, X, y, 3, NULL, Xt, yt, &m, &err) == AO_OK, "multiclass early stopping: fit (%s)", err.msg);
    CHECK(m && ao_gbdt_n_history(m) < 300 && ao_gbdt_n_rounds(m) == ao_gbdt_best_iteration(m) + 1 &&
          ao_gbdt_n_history(m) == ao_gbdt_n_rounds(m) + 5,
          "multiclass early stopping: ran %d, kept %d", ao_gbdt_n_history(m), ao_gbdt_n_rounds(m));
    CHECK(m && ao_gbdt_n_nodes(m) > 0 && ao_gbdt_predict_proba(m, Xt, pr) == AO_OK, "multiclass early stopping: predict");
    ao_gbdt_destroy(m);
    ao_dense_destroy(X);
    ao_dense_destroy(Xt);
    free(y);
    free(yt);
    free(pr);
}

static void test_early_stopping(void)
{
    /* weak signal + noise: validation loss bottoms out early */
    ao_dense *X = rand_matrix(600, 10, 6), *Xv = rand_matrix(300, 10, 7);
    int *y = malloc(600 * sizeof *y), *yv = malloc(300 * sizeof *yv), i, r, best, ok = 1;
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    ao_rng rng;
    ao_err_init(&err);
    ao_rng_seed(&rng, 99);
    for (i = 0; i < 600; i++) y[i] = X->data[i * 10] + 1.5 * (ao_rng_uniform(&rng) - 0.5) > 0;
    for (i = 0; i < 300; i++) yv[i] = Xv->data[i * 10] + 1.5 * (ao_rng_uniform(&rng) - 0.5) > 0;
    ao_gbdt_params_init(&p);
    p.n_estimators = 500;
    p.learning_rate = 0.3;
    p.min_samples_leaf = 2;
    p.early_stopping_rounds = 10;
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, Xv, yv, &m, &err) == AO_OK, "early stopping: fit (%s)", err.msg);
    best = ao_gbdt_best_iteration(m);
    CHECK(m && ao_gbdt_n_history(m) < 500, "early stopping: stopped after %d of 500 rounds", ao_gbdt_n_history(m));
    CHECK(m && ao_gbdt_n_rounds(m) == best + 1 && ao_gbdt_n_history(m) == best + 1 + 10,
          "early stopping: kept %d rounds, best %d, ran %d", ao_gbdt_n_rounds(m), best, ao_gbdt_n_history(m));
    for (r = 0; m && r < ao_gbdt_n_history(m); r++)
        if (ao_gbdt_valid_loss(m, r) < ao_gbdt_valid_loss(m, best)) ok = 0;
    CHECK(ok, "early stopping: best iteration has the lowest validation loss");
    {
        /* the kept model's validation loss is the best round's */
        double *pr = malloc(300 * 2 * sizeof *pr), ll = 0;
        CHECK(ao_gbdt_predict_proba(m, Xv, pr) == AO_OK, "early stopping: predict");
        for (i = 0; i < 300; i++) ll -= log(pr[2 * i + yv[i]]);
        CHECK_NEAR(ll / 300, ao_gbdt_valid_loss(m, best), 1e-9, "early stopping: model = best round");
        free(pr);
    }
    ao_gbdt_destroy(m);
    m = NULL;
    {
        stopper s = { 4, 0 };
        p.early_stopping_rounds = 0;
        p.progress = stop_cb;
        p.progress_ctx = &s;
        CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, Xv, yv, &m, &err) == AO_OK, "callback stop: fit");
        CHECK(m && s.calls == 5 && ao_gbdt_n_rounds(m) == 5 && ao_gbdt_stopped(m), "callback stop: 5 rounds kept");
        ao_gbdt_destroy(m);
    }
    ao_dense_destroy(X);
    ao_dense_destroy(Xv);
    free(y);
    free(yv);
}

static ao_gbdt *fit_noisy(const ao_dense *X, const int *y, int nc, double sub, double col, uint64_t seed, int threads)
{
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    ao_err_init(&err);
    ao_gbdt_params_init(&p);
    p.n_estimators = 30;
    p.subsample = sub;
    p.colsample = col;
    p.seed = seed;
    p.threads = threads;
    p.max_bins = 63;
    if (ao_gbdt_fit(&p, X, y, nc, NULL, NULL, NULL, &m, &err) != AO_OK) return NULL;
    return m;
}

static void test_determinism(void)
{
    ao_dense *X = rand_matrix(3000, 24, 8);
    int *y = malloc(3000 * sizeof *y), i, t;
    ao_gbdt *a, *b, *c;
    ao_buf ba, bb, bc;
    ao_rng rng;
    ao_rng_seed(&rng, 5);
    for (i = 0; i < 3000; i++) {
        const float *x = X->data + i * 24;
        double s = x[0] * x[1] + sin(3 * x[2]) + 0.5 * x[3] + 0.3 * ao_rng_normal(&rng);
        y[i] = s > 0.5 ? 2 : s > -0.2 ? 1 : 0;
    }
    for (t = 0; t < 2; t++) {
        int nc = t ? 3 : 2, bad = 0;
        if (!t) for (i = 0; i < 3000; i++) if (y[i] == 2) { y[i] = 1; bad++; }
        a = fit_noisy(X, y, nc, 1.0, 1.0, 1, 1);
        b = fit_noisy(X, y, nc, 1.0, 1.0, 1, 1);
        c = fit_noisy(X, y, nc, 1.0, 1.0, 1, 2);
        CHECK(a && b && c && save_bytes(a, &ba) == AO_OK && save_bytes(b, &bb) == AO_OK && save_bytes(c, &bc) == AO_OK,
              "determinism (%d classes): three fits", nc);
        CHECK(same_buf(&ba, &bb), "determinism (%d classes): two fits give identical bytes (%zu)", nc, ba.len);
        CHECK(same_buf(&ba, &bc), "determinism (%d classes): threads 1 and 2 give identical bytes", nc);
        ao_buf_free(&ba); ao_buf_free(&bb); ao_buf_free(&bc);
        ao_gbdt_destroy(a); ao_gbdt_destroy(b); ao_gbdt_destroy(c);
        (void)bad;

        a = fit_noisy(X, y, nc, 0.7, 0.5, 42, 1);
        b = fit_noisy(X, y, nc, 0.7, 0.5, 42, 3);
        c = fit_noisy(X, y, nc, 0.7, 0.5, 43, 1);
        CHECK(a && b && c && save_bytes(a, &ba) == AO_OK && save_bytes(b, &bb) == AO_OK && save_bytes(c, &bc) == AO_OK,
              "subsampling (%d classes): three fits", nc);
        CHECK(same_buf(&ba, &bb), "subsampling (%d classes): same seed, threads 1 and 3: identical bytes", nc);
        CHECK(!same_buf(&ba, &bc), "subsampling (%d classes): another seed gives another model", nc);
        ao_buf_free(&ba); ao_buf_free(&bb); ao_buf_free(&bc);
        ao_gbdt_destroy(a); ao_gbdt_destroy(b); ao_gbdt_destroy(c);
    }
    ao_dense_destroy(X);
    free(y);
}

static void test_save_load(void)
{
    ao_dense *X = rand_matrix(800, 7, 9), *Xt = rand_matrix(200, 7, 10);
    int *y = malloc(800 * sizeof *y), i, nc;
    for (nc = 2; nc <= 4; nc += 2) {
        ao_gbdt *m, *m2 = NULL;
        ao_buf b, b2;
        ao_cursor cur;
        ao_err err;
        double *p1 = malloc(200 * nc * sizeof *p1), *p2 = malloc(200 * nc * sizeof *p2);
        ao_err_init(&err);
        for (i = 0; i < 800; i++) y[i] = (int)((X->data[i * 7] + 1) * 0.5 * nc) % nc;
        m = fit_noisy(X, y, nc, 0.8, 0.8, 7, 2);
        CHECK(m && save_bytes(m, &b) == AO_OK, "save (%d classes)", nc);
        cur.p = b.data; cur.len = b.len; cur.pos = 0;
        CHECK(ao_gbdt_load(&cur, &m2, &err) == AO_OK && cur.pos == b.len, "load (%d classes) (%s)", nc, err.msg);
        CHECK(m2 && ao_gbdt_predict_proba(m, Xt, p1) == AO_OK && ao_gbdt_predict_proba(m2, Xt, p2) == AO_OK &&
              memcmp(p1, p2, 200 * nc * sizeof *p1) == 0, "round trip (%d classes): identical probabilities", nc);
        CHECK(m2 && save_bytes(m2, &b2) == AO_OK && same_buf(&b, &b2), "round trip (%d classes): identical bytes", nc);
        ao_buf_free(&b2);
        ao_gbdt_destroy(m2);
        m2 = NULL;
        cur.p = b.data; cur.len = b.len / 2; cur.pos = 0;
        ao_err_init(&err);
        CHECK(ao_gbdt_load(&cur, &m2, &err) == AO_EDATA && !m2, "truncated payload rejected (%s)", err.msg);
        b.data[0] ^= 1;
        cur.p = b.data; cur.len = b.len; cur.pos = 0;
        CHECK(ao_gbdt_load(&cur, &m2, NULL) == AO_EDATA && !m2, "bad magic rejected");
        ao_buf_free(&b);
        ao_gbdt_destroy(m);
        free(p1);
        free(p2);
    }
    ao_dense_destroy(X);
    ao_dense_destroy(Xt);
    free(y);
}

static void test_errors_and_weights(void)
{
    ao_dense *X = rand_matrix(300, 3, 11);
    int *y = malloc(300 * sizeof *y), i, pos = 0;
    ao_gbdt_params p;
    ao_gbdt *m = NULL;
    ao_err err;
    double pr[2], *sw = malloc(300 * sizeof *sw);
    ao_dense one = { 1, 3, NULL };
    float x1[3] = { 0, 0, 0 };
    one.data = x1;
    for (i = 0; i < 300; i++) { y[i] = i % 10 == 0; pos += y[i]; sw[i] = 1.0; }
    ao_gbdt_params_init(&p);
    p.n_estimators = 1;
    p.min_samples_leaf = 1000;       /* no split: the prediction is the prior */
    ao_err_init(&err);
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_OK && ao_gbdt_predict_proba(m, &one, pr) == AO_OK,
          "prior: fit");
    CHECK_NEAR(pr[1], (double)pos / 300, 1e-9, "prior: initial score is the class frequency");
    ao_gbdt_destroy(m);
    p.class_weight_mode = AO_GBDT_CW_BALANCED;
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_OK && ao_gbdt_predict_proba(m, &one, pr) == AO_OK,
          "balanced: fit");
    CHECK_NEAR(pr[1], 0.5, 1e-9, "balanced class weights: prior 0.5");
    ao_gbdt_destroy(m);
    p.class_weight_mode = AO_GBDT_CW_NONE;
    for (i = 0; i < 300; i++) sw[i] = y[i] ? 3.0 : 1.0;
    CHECK(ao_gbdt_fit(&p, X, y, 2, sw, NULL, NULL, &m, &err) == AO_OK && ao_gbdt_predict_proba(m, &one, pr) == AO_OK,
          "sample weights: fit");
    CHECK_NEAR(pr[1], 3.0 * pos / (3.0 * pos + (300 - pos)), 1e-9, "sample weights: weighted prior");
    ao_gbdt_destroy(m);
    m = NULL;

    ao_gbdt_params_init(&p);
    p.learning_rate = 1e300;
    p.min_samples_leaf = 1;
    for (i = 0; i < 300; i++) y[i] = X->data[i * 3] > 0;
    ao_err_init(&err);
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_GBDT_EDIVERGED && m && ao_gbdt_diverged(m),
          "absurd learning rate: divergence reported (%s)", err.msg);
    CHECK(m && ao_gbdt_n_rounds(m) < ao_gbdt_n_history(m), "divergence: the diverged round is not kept (%d < %d)",
          ao_gbdt_n_rounds(m), ao_gbdt_n_history(m));
    CHECK(m && ao_gbdt_predict_proba(m, &one, pr) == AO_OK && isfinite(pr[0]) && isfinite(pr[1]),
          "divergence: the kept model predicts finite probabilities");
    ao_gbdt_destroy(m);
    m = NULL;

    ao_gbdt_params_init(&p);
    ao_err_init(&err);
    y[7] = 2;
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_EDATA && !m, "label out of range: %s", err.msg);
    y[7] = 0;
    X->data[5] = NAN;
    ao_err_init(&err);
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_EDATA && !m, "NaN feature: %s", err.msg);
    X->data[5] = 0;
    p.subsample = 0;
    ao_err_init(&err);
    CHECK(ao_gbdt_fit(&p, X, y, 2, NULL, NULL, NULL, &m, &err) == AO_EUSAGE && !m, "bad parameter: %s", err.msg);
    ao_gbdt_destroy(NULL);
    ao_dense_destroy(X);
    free(y);
    free(sw);
}

int main(void)
{
    test_separable();
    test_xor();
    test_multiclass();
    test_early_stopping();
    test_determinism();
    test_save_load();
    test_errors_and_weights();
    return UNIT_DONE();
}
