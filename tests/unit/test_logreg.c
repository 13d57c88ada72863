/* test_logreg.c — L-BFGS and logistic regression.
 *
 * The scikit-learn fixture is tests/data/logreg/fixture.txt (made by
 * tests/data/logreg/make_fixture.py); the data directory is
 * $AO_TEST_DATA, default "tests/data" (tests run from the repository root).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/lbfgs.h"
#include "agentomics/logreg.h"
#include "agentomics/modelfile.h"
#include "agentomics/rng.h"
#include "unit.h"

/* ---- L-BFGS on its own ---------------------------------------------------- */

typedef struct rosen_ctx { int evals; int nan_far; } rosen_ctx;

/* Extended Rosenbrock: sum over pairs of 100 (x2 - x1^2)^2 + (1 - x1)^2.
 * With nan_far, NaN wherever some |x_i| > 3 (the search must back off). */
static int rosen(void *vctx, const double *x, double *f, double *g)
{
    rosen_ctx *c = vctx;
    int n = 6;
    c->evals++;
    *f = 0.0;
    for (int i = 0; i < n; i++) g[i] = 0.0;
    for (int i = 0; i < n; i += 2) {
        double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        *f += 100.0 * a * a + b * b;
        g[i] += -400.0 * x[i] * a - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    if (c->nan_far)
        for (int i = 0; i < n; i++)
            if (fabs(x[i]) > 3.0) *f = NAN;
    return 0;
}

static int nan_obj(void *ctx, const double *x, double *f, double *g)
{
    (void)ctx;
    *f = NAN;
    g[0] = x[0];
    return 0;
}

static int fail_obj(void *ctx, const double *x, double *f, double *g)
{
    (void)ctx; (void)x;
    *f = 1.0; g[0] = 1.0;
    return AO_EIO;
}

/* Moré & Thuente (1994) line-search test functions of alpha = x[0]. */
typedef struct mt_fn { int which; double beta; } mt_fn;

static int mt_eval(void *vctx, const double *x, double *f, double *g)
{
    const mt_fn *m = vctx;
    double a = x[0], b = m->beta;
    if (m->which == 1) {            /* -a / (a^2 + b) */
        double q = a * a + b;
        *f = -a / q;
        *g = (a * a - b) / (q * q);
    } else if (m->which == 2) {     /* (a + b)^5 - 2 (a + b)^4 */
        double t = a + b;
        *f = pow(t, 5) - 2.0 * pow(t, 4);
        *g = 5.0 * pow(t, 4) - 8.0 * pow(t, 3);
    } else {                        /* function 3: l = 39, b = 0.01 */
        const double l = 39.0, pi = 3.14159265358979323846;
        double f0, g0;
        if (a <= 1.0 - b) { f0 = 1.0 - a; g0 = -1.0; }
        else if (a >= 1.0 + b) { f0 = a - 1.0; g0 = 1.0; }
        else { f0 = (a - 1.0) * (a - 1.0) / (2.0 * b) + b / 2.0; g0 = (a - 1.0) / b; }
        *f = f0 + 2.0 * (1.0 - b) / (l * pi) * sin(l * pi * a / 2.0);
        *g = g0 + (1.0 - b) * cos(l * pi * a / 2.0);
    }
    return 0;
}

static void test_linesearch(void)
{
    /* function, beta, c1, c2 as in the paper's tables 1-3 */
    const struct { int which; double beta, c1, c2; } fns[3] = {
        {1, 2.0, 1e-3, 0.1}, {2, 0.004, 0.1, 0.1}, {3, 0.01, 0.1, 0.1}};
    const double starts[4] = {1e-3, 1e-1, 1e1, 1e3};
    /* evaluations reported in the paper's tables 1-3 */
    const int paper_evals[3][4] = {{6, 3, 1, 4}, {12, 8, 8, 11}, {12, 12, 10, 13}};
    int bad = 0, total_evals = 0, evals_differ = 0;

    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 4; s++) {
            mt_fn m = {fns[k].which, fns[k].beta};
            ao_lbfgs_params p;
            double x0 = 0.0, f0, g0, d = 1.0, stp = starts[s], x, f, g;
            int ne = 0, rc;
            ao_lbfgs_params_init(&p);
            p.ls_c1 = fns[k].c1;
            p.ls_c2 = fns[k].c2;
            p.max_linesearch = 30;
            p.ls_xtol = 1e-10;
            mt_eval(&m, &x0, &f0, &g0);
            rc = ao_lbfgs_linesearch(&p, 1, &x0, f0, &g0, &d, &stp, &x, &f, &g, mt_eval, &m, &ne);
            int wolfe = f <= f0 + p.ls_c1 * stp * g0 && fabs(g) <= p.ls_c2 * fabs(g0);
            if (rc != AO_LBFGS_LS_WOLFE || !wolfe || x != stp) {
                bad++;
                printf("# function %d from %g: rc %d, stp %g, %d evaluations\n", fns[k].which, starts[s], rc, stp, ne);
            }
            total_evals += ne;
            evals_differ += ne != paper_evals[k][s];
        }
    CHECK(bad == 0, "More-Thuente test functions 1-3 from 4 initial steps: strong Wolfe point found (%d evaluations)",
          total_evals);
    CHECK(evals_differ == 0, "More-Thuente: evaluation counts equal the paper's tables (%d differ)", evals_differ);
}

static void test_lbfgs(void)
{
    double x[6] = {-1.2, 1.0, -1.2, 1.0, 0.5, -0.5};
    ao_lbfgs_params p;
    ao_lbfgs_result r;
    rosen_ctx c = {0, 0};
    ao_err err;
    int rc;

    ao_err_init(&err);
    ao_lbfgs_params_init(&p);
    p.gtol = 1e-8;
    p.ftol = 0.0;
    rc = ao_lbfgs_minimize(&p, 6, x, rosen, &c, &r, &err);
    CHECK(rc == AO_LBFGS_CONVERGED_GTOL, "rosenbrock: converged on the gradient test (%s, %d iterations, %d evaluations)",
          ao_lbfgs_status_str(rc), r.n_iter, r.n_eval);
    double maxdev = 0.0;
    for (int i = 0; i < 6; i++) maxdev = fmax(maxdev, fabs(x[i] - 1.0));
    CHECK(maxdev < 1e-6, "rosenbrock: minimiser (1, .., 1) found (max deviation %.3g)", maxdev);
    CHECK(r.n_eval == c.evals && r.gnorm <= 1e-8 && r.f < 1e-12, "rosenbrock: result fields consistent");
    CHECK(r.n_iter < 200, "rosenbrock: %d iterations (< 200)", r.n_iter);

    /* Same problem, objective NaN far from the path's start: still solved. */
    double x2[6] = {-1.2, 1.0, -1.2, 1.0, 0.5, -0.5};
    rosen_ctx c2 = {0, 1};
    ao_err_init(&err);
    rc = ao_lbfgs_minimize(&p, 6, x2, rosen, &c2, &r, &err);
    maxdev = 0.0;
    for (int i = 0; i < 6; i++) maxdev = fmax(maxdev, fabs(x2[i] - 1.0));
    CHECK(rc >= 0 && maxdev < 1e-5, "rosenbrock with NaN region: line search backs off (rc %d, dev %.3g)", rc, maxdev);

    /* Deterministic. */
    double x3[6] = {-1.2, 1.0, -1.2, 1.0, 0.5, -0.5};
    rosen_ctx c3 = {0, 0};
    ao_lbfgs_result r3;
    rc = ao_lbfgs_minimize(&p, 6, x3, rosen, &c3, &r3, &err);
    CHECK(memcmp(x, x3, sizeof x) == 0 && r3.n_eval == c.evals, "rosenbrock: repeat run bit-identical");

    /* max_iter */
    double x4[6] = {-1.2, 1.0, -1.2, 1.0, 0.5, -0.5};
    p.max_iter = 5;
    rc = ao_lbfgs_minimize(&p, 6, x4, rosen, &c3, &r3, &err);
    CHECK(rc == AO_LBFGS_MAX_ITER && r3.n_iter == 5, "max_iter stops after 5 iterations");

    /* NaN at the start: divergence code. */
    double y = 1.0;
    ao_err_init(&err);
    rc = ao_lbfgs_minimize(NULL, 1, &y, nan_obj, NULL, NULL, &err);
    CHECK(rc == AO_LBFGS_EDIVERGED && err.code == AO_LBFGS_EDIVERGED && strstr(err.msg, "diverged"),
          "NaN objective: AO_LBFGS_EDIVERGED (%s)", err.msg);
    /* Objective errors pass through. */
    ao_err_init(&err);
    rc = ao_lbfgs_minimize(NULL, 1, &y, fail_obj, NULL, NULL, &err);
    CHECK(rc == AO_EIO, "objective error code returned unchanged");
    ao_err_init(&err);
    rc = ao_lbfgs_minimize(NULL, 0, &y, rosen, &c, NULL, &err);
    CHECK(rc == AO_EUSAGE, "n = 0 rejected");
}

/* ---- data helpers ------------------------------------------------------------ */

static ao_csr *dense_to_csr(const double *X, int n, int d)
{
    ao_csr *m = ao_csr_create(d);
    int32_t *idx = malloc(sizeof *idx * (size_t)d);
    float *val = malloc(sizeof *val * (size_t)d);
    if (!m || !idx || !val) goto FAIL;
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = 0; j < d; j++)
            if (X[i * d + j] != 0.0) { idx[k] = j; val[k] = (float)X[i * d + j]; k++; }
        if (ao_csr_add_row(m, idx, val, k) < 0) goto FAIL;
    }
    free(idx); free(val);
    return m;
FAIL:
    free(idx); free(val);
    ao_csr_destroy(m);
    return NULL;
}

/* A random sparse problem: n x d counts, K classes from a noisy linear rule. */
static ao_csr *random_problem(uint64_t seed, int n, int d, int K, double noise, int *y, double *sw)
{
    ao_rng r;
    double *X = calloc((size_t)n * d, sizeof *X), *B = malloc(sizeof *B * (size_t)d * K);
    ao_csr *m = NULL;
    ao_rng_seed(&r, seed);
    if (!X || !B) goto DONE;
    for (int k = 0; k < d * K; k++) B[k] = ao_rng_normal(&r);
    for (int i = 0; i < n; i++) {
        double best = -1e300;
        for (int j = 0; j < d; j++)
            if (ao_rng_uniform(&r) < 0.4) X[i * d + j] = (double)(1 + ao_rng_below(&r, 4));
        for (int v = 0; v < K; v++) {
            double s = noise * ao_rng_normal(&r) - 1.0 * v;
            for (int j = 0; j < d; j++) s += X[i * d + j] * B[j * K + v];
            if (s > best) { best = s; y[i] = v; }
        }
        if (sw) sw[i] = 0.25 + 2.0 * ao_rng_uniform(&r);
    }
    m = dense_to_csr(X, n, d);
DONE:
    free(X); free(B);
    return m;
}

/* ---- gradient check ------------------------------------------------------------ */

static void gradcheck(const char *what, int K, int fit_intercept, int cw_mode, int use_sw)
{
    enum { N = 40, D = 9 };
    int y[N];
    double sw[N], cwv[4] = {0.5, 2.0, 1.5, 0.75};
    ao_csr *X = random_problem(7 + K, N, D, K, 1.0, y, sw);
    int V = K == 2 ? 1 : K;
    int nc = D * V, ni = V;
    double coef[D * 4], icpt[4], gc[D * 4], gi[4], gc2[D * 4], gi2[4], f0, fp, fm;
    ao_logreg_params p;
    ao_err err;
    ao_rng r;
    double maxrel = 0.0;
    int rc;

    ao_logreg_params_init(&p);
    p.C = 0.7;
    p.fit_intercept = fit_intercept;
    p.class_weight = cw_mode;
    p.class_weights = cwv;
    ao_rng_seed(&r, 99);
    for (int k = 0; k < nc; k++) coef[k] = 0.3 * ao_rng_normal(&r);
    for (int v = 0; v < ni; v++) icpt[v] = 0.5 * ao_rng_normal(&r);
    ao_err_init(&err);
    rc = ao_logreg_loss_grad(&p, X, y, K, use_sw ? sw : NULL, coef, icpt, &f0, gc, gi, &err);
    CHECK(rc == 0 && isfinite(f0), "%s: loss evaluates (%g) %s", what, f0, err.msg);

    for (int k = 0; k < nc + (fit_intercept ? ni : 0); k++) {
        double *xv = k < nc ? &coef[k] : &icpt[k - nc];
        double an = k < nc ? gc[k] : gi[k - nc];
        double h = 1e-5, save = *xv, num;
        *xv = save + h;
        rc |= ao_logreg_loss_grad(&p, X, y, K, use_sw ? sw : NULL, coef, icpt, &fp, gc2, gi2, &err);
        *xv = save - h;
        rc |= ao_logreg_loss_grad(&p, X, y, K, use_sw ? sw : NULL, coef, icpt, &fm, gc2, gi2, &err);
        *xv = save;
        num = (fp - fm) / (2 * h);
        maxrel = fmax(maxrel, fabs(num - an) / fmax(1.0, fabs(an)));
    }
    CHECK(rc == 0 && maxrel < 1e-6, "%s: gradient matches central differences (max rel err %.2e)", what, maxrel);

    /* The penalty: 0.5 ||W||^2 with weights only (intercept excluded). */
    if (fit_intercept) {
        double f1, pen = 0.0;
        ao_logreg_params q = p;
        q.C = 1e-9;   /* the loss term all but vanishes */
        rc = ao_logreg_loss_grad(&q, X, y, K, use_sw ? sw : NULL, coef, icpt, &f1, gc2, gi2, &err);
        for (int k = 0; k < nc; k++) pen += 0.5 * coef[k] * coef[k];
        CHECK(rc == 0 && fabs(f1 - pen) < 1e-6, "%s: penalty is 0.5 ||W||^2, intercept unpenalised", what);
    }
    ao_csr_destroy(X);
}

/* ---- fits ------------------------------------------------------------------------ */

typedef struct prog_log { int calls, last_iter; double last_loss; int stop_at; } prog_log;

static int on_progress(void *ctx, int iter, double loss, double gnorm)
{
    prog_log *pl = ctx;
    (void)gnorm;
    pl->calls++;
    pl->last_iter = iter;
    pl->last_loss = loss;
    return pl->stop_at > 0 && iter >= pl->stop_at;
}

static int save_bytes(const ao_logreg *m, ao_buf *b)
{
    memset(b, 0, sizeof *b);
    return ao_logreg_save(m, b);
}

static void test_fit_toy(void)
{
    enum { N = 400, D = 12 };
    int y[N];
    double sw[N];
    ao_csr *X = random_problem(11, N, D, 2, 0.3, y, sw);
    ao_logreg_params p;
    ao_logreg *m = NULL, *m2 = NULL, *m3 = NULL, *ml = NULL;
    ao_err err;
    prog_log pl = {0, -1, 0, 0};
    double *P = malloc(sizeof *P * N * 2), *P2 = malloc(sizeof *P2 * N * 2);
    ao_buf b1, b2, b3;
    int rc, correct = 0;

    ao_logreg_params_init(&p);
    p.C = 10.0;
    p.tol = 1e-6;
    p.max_iter = 1000;
    p.progress = on_progress;
    p.progress_ctx = &pl;
    p.progress_every = 5;
    ao_err_init(&err);
    rc = ao_logreg_fit(&p, X, y, 2, NULL, &m, &err);
    CHECK(rc == 0 && m, "toy binary fit succeeds %s", err.msg);
    if (!m) goto DONE;
    CHECK(ao_logreg_converged(m),
          "toy binary: converged in %d iterations (gnorm %.3g, %s)", ao_logreg_n_iter(m),
          ao_logreg_gnorm(m), ao_lbfgs_status_str(ao_logreg_status(m)));
    CHECK(ao_logreg_n_classes(m) == 2 && ao_logreg_n_vectors(m) == 1 && ao_logreg_n_features(m) == D,
          "toy binary: shape accessors");
    rc = ao_logreg_predict_proba(m, X, P);
    for (int i = 0; i < N; i++) correct += (P[2 * i + 1] > 0.5) == (y[i] == 1);
    CHECK(rc == 0 && correct >= 0.9 * N, "toy binary: training accuracy %d/%d", correct, N);
    CHECK(pl.calls >= 2 && pl.last_iter == ao_logreg_n_iter(m) && pl.last_loss == ao_logreg_loss(m),
          "progress callback: %d calls, last at the final iteration with the final loss", pl.calls);

    /* Determinism: refit with 1 and 3 threads → identical bytes. */
    p.progress = NULL;
    rc = ao_logreg_fit(&p, X, y, 2, NULL, &m2, &err);
    p.threads = 3;
    rc |= ao_logreg_fit(&p, X, y, 2, NULL, &m3, &err);
    CHECK(rc == 0 && m2 && m3, "refits succeed");
    if (!m2 || !m3) goto DONE;
    rc = save_bytes(m, &b1) | save_bytes(m2, &b2) | save_bytes(m3, &b3);
    CHECK(rc == 0 && b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
          "determinism: two fits byte-identical (%zu bytes)", b1.len);
    CHECK(b1.len == b3.len && memcmp(b1.data, b3.data, b1.len) == 0,
          "determinism: 3 threads byte-identical to 1 thread");

    /* Save/load round trip. */
    {
        ao_cursor cur = {b1.data, b1.len, 0};
        rc = ao_logreg_load(&cur, &ml, &err);
        CHECK(rc == 0 && ml && cur.pos == b1.len, "load: reads the whole payload");
        if (ml) {
            ao_buf b4;
            rc = ao_logreg_predict_proba(ml, X, P2);
            CHECK(rc == 0 && memcmp(P, P2, sizeof *P * N * 2) == 0, "load: identical probabilities");
            CHECK(ao_logreg_n_iter(ml) == ao_logreg_n_iter(m) && ao_logreg_loss(ml) == ao_logreg_loss(m) &&
                  ao_logreg_converged(ml) == ao_logreg_converged(m), "load: fit summary kept");
            rc = save_bytes(ml, &b4);
            CHECK(rc == 0 && b4.len == b1.len && memcmp(b4.data, b1.data, b1.len) == 0, "load: re-save identical");
            ao_buf_free(&b4);
        }
        /* Truncated payloads are data errors, never crashes. */
        int bad = 0;
        for (size_t cut = 0; cut < b1.len; cut += 7) {
            ao_cursor c2 = {b1.data, cut, 0};
            ao_logreg *mx = NULL;
            ao_err e2;
            ao_err_init(&e2);
            if (ao_logreg_load(&c2, &mx, &e2) != AO_EDATA || mx) bad++;
            ao_logreg_destroy(mx);
        }
        CHECK(bad == 0, "load: every truncation rejected with AO_EDATA");
        /* Corrupt version. */
        b1.data[0] ^= 0x40;
        {
            ao_cursor c3 = {b1.data, b1.len, 0};
            ao_logreg *mx = NULL;
            ao_err e3;
            ao_err_init(&e3);
            CHECK(ao_logreg_load(&c3, &mx, &e3) == AO_EDATA && !mx, "load: unknown version rejected");
        }
    }
    ao_buf_free(&b1); ao_buf_free(&b2); ao_buf_free(&b3);

    /* A callback that asks to stop: model returned, not converged. */
    {
        ao_logreg *ms = NULL;
        prog_log ps = {0, -1, 0, 3};
        p.threads = 1;
        p.progress = on_progress;
        p.progress_ctx = &ps;
        p.progress_every = 1;
        rc = ao_logreg_fit(&p, X, y, 2, NULL, &ms, &err);
        CHECK(rc == 0 && ms && !ao_logreg_converged(ms) && ao_logreg_status(ms) == AO_LBFGS_STOPPED &&
              ao_logreg_n_iter(ms) == 3, "progress callback can stop the fit (time limits)");
        ao_logreg_destroy(ms);
    }
DONE:
    ao_logreg_destroy(m); ao_logreg_destroy(m2); ao_logreg_destroy(m3); ao_logreg_destroy(ml);
    ao_csr_destroy(X);
    free(P); free(P2);
}

static void test_multiclass_threads(void)
{
    enum { N = 300, D = 20, K = 4 };
    int y[N];
    double sw[N];
    ao_csr *X = random_problem(5, N, D, K, 1.0, y, sw);
    ao_logreg_params p;
    ao_logreg *m1 = NULL, *m2 = NULL;
    ao_err err;
    ao_buf b1, b2;
    double *P = malloc(sizeof *P * N * K);
    int rc;

    ao_logreg_params_init(&p);
    p.class_weight = AO_LOGREG_CW_BALANCED;
    p.max_iter = 500;
    ao_err_init(&err);
    rc = ao_logreg_fit(&p, X, y, K, sw, &m1, &err);
    p.threads = 2;
    rc |= ao_logreg_fit(&p, X, y, K, sw, &m2, &err);
    CHECK(rc == 0 && m1 && m2, "multinomial fits succeed %s", err.msg);
    if (m1 && m2) {
        rc = save_bytes(m1, &b1) | save_bytes(m2, &b2);
        CHECK(rc == 0 && b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
              "multinomial: 1 and 2 threads byte-identical");
        CHECK(ao_logreg_converged(m1), "multinomial: converged in %d iterations", ao_logreg_n_iter(m1));
        rc = ao_logreg_predict_proba(m1, X, P);
        double worst = 0.0;
        for (int i = 0; i < N; i++) {
            double s = 0.0;
            for (int v = 0; v < K; v++) s += P[i * K + v];
            worst = fmax(worst, fabs(s - 1.0));
        }
        CHECK(rc == 0 && worst < 1e-12, "multinomial: probabilities sum to 1");
        /* At the optimum the per-feature weight sums over classes are 0. */
        const double *W = ao_logreg_coef(m1);
        double wsum = 0.0;
        for (int j = 0; j < D; j++) {
            double s = 0.0;
            for (int v = 0; v < K; v++) s += W[j * K + v];
            wsum = fmax(wsum, fabs(s));
        }
        CHECK(wsum < 1e-3, "multinomial: class weights centred per feature (%.2g)", wsum);
        ao_buf_free(&b1); ao_buf_free(&b2);
    }
    ao_logreg_destroy(m1); ao_logreg_destroy(m2);
    ao_csr_destroy(X);
    free(P);
}

static void test_errors(void)
{
    double Xd[6] = {1, 0, 0, 1, 1, 1};
    int y[3] = {0, 1, 1}, ybad[3] = {0, 2, 1};
    double sw[3] = {1, -1, 1};
    ao_csr *X = dense_to_csr(Xd, 3, 2);
    ao_logreg *m = NULL;
    ao_logreg_params p;
    ao_err err;

    ao_logreg_params_init(&p);
    ao_err_init(&err);
    CHECK(ao_logreg_fit(&p, X, ybad, 2, NULL, &m, &err) == AO_EDATA && !m, "label out of range: AO_EDATA");
    ao_err_init(&err);
    CHECK(ao_logreg_fit(&p, X, y, 2, sw, &m, &err) == AO_EDATA && !m, "negative sample weight: AO_EDATA");
    ao_err_init(&err);
    CHECK(ao_logreg_fit(&p, X, y, 1, NULL, &m, &err) == AO_EDATA && !m, "one class: AO_EDATA");
    p.C = 0.0;
    ao_err_init(&err);
    CHECK(ao_logreg_fit(&p, X, y, 2, NULL, &m, &err) == AO_EUSAGE && !m, "C = 0: AO_EUSAGE");
    p.C = 1.0;
    X->values[1] = NAN;
    ao_err_init(&err);
    CHECK(ao_logreg_fit(&p, X, y, 2, NULL, &m, &err) == AO_LOGREG_EDIVERGED && !m && strstr(err.msg, "diverged"),
          "NaN feature: AO_LOGREG_EDIVERGED (%s)", err.msg);
    X->values[1] = 1.0f;
    ao_err_init(&err);
    CHECK(ao_logreg_fit(&p, X, y, 2, NULL, &m, &err) == 0 && m, "tiny problem fits");
    {
        ao_csr *Xw = ao_csr_create(5);
        double P[2];
        int32_t idx[1] = {4};
        float val[1] = {1};
        CHECK(Xw && ao_csr_add_row(Xw, idx, val, 1) == 0 && ao_logreg_predict_proba(m, Xw, P) == AO_EUSAGE,
              "predict: more columns than the model rejected");
        ao_csr_destroy(Xw);
    }
    ao_logreg_destroy(m);
    ao_logreg_destroy(NULL);
    ao_csr_destroy(X);
}

/* ---- scikit-learn fixture ------------------------------------------------------- */

static void test_sklearn_fixture(void)
{
    const char *dir = getenv("AO_TEST_DATA");
    char path[1024], line[4096];
    FILE *fp;
    int N, D, ncase = 0;
    int *y2 = NULL, *y3 = NULL;
    double *sw = NULL, *Xd = NULL;
    ao_csr *X = NULL;

    if (!dir || !*dir) dir = "tests/data";
    snprintf(path, sizeof path, "%s/logreg/fixture.txt", dir);
    fp = fopen(path, "r");
    CHECK(fp != NULL, "fixture %s opens", path);
    if (!fp) return;
    while (fgets(line, sizeof line, fp) && line[0] == '#') {}
    if (sscanf(line, "data %d %d", &N, &D) != 2 || N < 1 || D < 1 || N > 100000 || D > 1000) {
        CHECK(0, "fixture header");
        goto DONE;
    }
    y2 = malloc(sizeof *y2 * N); y3 = malloc(sizeof *y3 * N);
    sw = malloc(sizeof *sw * N); Xd = malloc(sizeof *Xd * N * D);
    for (int i = 0; i < N; i++) {
        int ok = fscanf(fp, "%d %d %lf", &y2[i], &y3[i], &sw[i]) == 3;
        for (int j = 0; j < D && ok; j++) ok = fscanf(fp, "%lf", &Xd[i * D + j]) == 1;
        if (!ok) { CHECK(0, "fixture row %d", i); goto DONE; }
    }
    X = dense_to_csr(Xd, N, D);
    for (;;) {
        char name[128];
        int K, fi, cwm, usw, V;
        double C, coef[16 * 8], icpt[8], *P = NULL, *Q = NULL;
        if (fscanf(fp, " case %127s %d %lf %d %d %d", name, &K, &C, &fi, &cwm, &usw) != 6) break;
        V = K == 2 ? 1 : K;
        if (K > 8 || D > 16) { CHECK(0, "fixture case too large"); break; }
        for (int v = 0; v < V; v++)
            for (int j = 0; j < D; j++)
                if (fscanf(fp, "%lf", &coef[v * D + j]) != 1) goto DONE;
        for (int v = 0; v < V; v++)
            if (fscanf(fp, "%lf", &icpt[v]) != 1) goto DONE;
        P = malloc(sizeof *P * N * K);
        Q = malloc(sizeof *Q * N * K);
        for (int k = 0; k < N * K; k++)
            if (fscanf(fp, "%lf", &P[k]) != 1) { free(P); free(Q); goto DONE; }

        ao_logreg_params p;
        ao_logreg *m = NULL;
        ao_err err;
        ao_logreg_params_init(&p);
        p.C = C;
        p.fit_intercept = fi;
        p.class_weight = cwm ? AO_LOGREG_CW_BALANCED : AO_LOGREG_CW_NONE;
        p.tol = 1e-10;
        p.max_iter = 10000;
        ao_err_init(&err);
        int rc = ao_logreg_fit(&p, X, K == 2 ? y2 : y3, K, usw ? sw : NULL, &m, &err);
        CHECK(rc == 0 && m, "sklearn %s: fit %s", name, err.msg);
        if (m) {
            double dp = 0.0, dc = 0.0, di = 0.0;
            const double *W = ao_logreg_coef(m), *b = ao_logreg_intercept(m);
            rc = ao_logreg_predict_proba(m, X, Q);
            for (int k = 0; k < N * K; k++) dp = fmax(dp, fabs(P[k] - Q[k]));
            for (int v = 0; v < V; v++)
                for (int j = 0; j < D; j++) dc = fmax(dc, fabs(coef[v * D + j] - W[j * V + v]));
            if (V == 1) di = fabs(icpt[0] - b[0]);
            CHECK(rc == 0 && dp < 1e-5, "sklearn %s: probabilities within 1e-5 (max diff %.2e, %d iterations)",
                  name, dp, ao_logreg_n_iter(m));
            CHECK(dc < 1e-4 && di < 1e-4, "sklearn %s: coefficients within 1e-4 (coef %.2e, intercept %.2e)",
                  name, dc, di);
        }
        ao_logreg_destroy(m);
        free(P); free(Q);
        ncase++;
    }
    CHECK(ncase == 4, "fixture: %d cases checked", ncase);
DONE:
    fclose(fp);
    free(y2); free(y3); free(sw); free(Xd);
    ao_csr_destroy(X);
}

int main(void)
{
    test_linesearch();
    test_lbfgs();
    gradcheck("binary", 2, 1, AO_LOGREG_CW_NONE, 0);
    gradcheck("binary, no intercept, class+sample weights", 2, 0, AO_LOGREG_CW_EXPLICIT, 1);
    gradcheck("multinomial", 3, 1, AO_LOGREG_CW_NONE, 0);
    gradcheck("multinomial, class+sample weights", 4, 1, AO_LOGREG_CW_EXPLICIT, 1);
    gradcheck("multinomial, balanced, no intercept", 3, 0, AO_LOGREG_CW_BALANCED, 1);
    test_fit_toy();
    test_multiclass_threads();
    test_errors();
    test_sklearn_fixture();
    return UNIT_DONE();
}
