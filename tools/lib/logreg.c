/* logreg.c — L2 logistic regression (binary sigmoid / multinomial
 * softmax) on CSR rows, fitted with L-BFGS.
 *
 * Internally the solver minimises scikit-learn's scaling of the
 * objective, f = sum_i w_i l_i + ||W||^2 / (2C) = L / C, so that tol and
 * the line search behave exactly as scikit-learn's lbfgs solver does.
 *
 * Variables: x[j * K + v] is the weight of feature j for vector v
 * (feature-major, so a row's nonzeros read K contiguous weights), then
 * the K intercepts when fitted. K = 1 for two classes.
 *
 * One evaluation: (1) the rows are cut into B blocks, B set by the data's
 * shape only (at most 64, within a memory budget); threads take
 * contiguous runs of blocks; each block, in one pass over its rows (each
 * row read once, while in cache), computes margins, the loss and the
 * residuals r_iv = w_i (p_iv - [y_i = v]) and accumulates, row by row,
 * its own partial gradient G_b = sum_i r_i x_i (and intercept sums) and
 * partial loss; (2) threads split the variables and add the partials in
 * block order, + W / C; (3) the loss and the penalty are summed serially.
 * No sum depends on the thread count, so a fit is bit-identical for any
 * number of threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/logreg.h"

#define LOGREG_FORMAT 1u
#define LOGREG_MAX_THREADS 256

struct ao_logreg {
    int n_classes, n_vec, fit_intercept;
    int64_t n_features;
    double C;
    double *coef;        /* n_features * n_vec, feature-major */
    double *intercept;   /* n_vec */
    int n_iter, status;
    double loss, gnorm;
};

void ao_logreg_params_init(ao_logreg_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->C = 1.0;
    p->fit_intercept = 1;
    p->max_iter = 100;
    p->tol = 1e-4;
    p->class_weight = AO_LOGREG_CW_NONE;
    p->threads = 1;
    p->lbfgs_m = 10;
    p->progress_every = 10;
}

static ao_logreg *model_alloc(int n_classes, int64_t n_features)
{
    ao_logreg *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_classes = n_classes;
    m->n_vec = n_classes == 2 ? 1 : n_classes;
    m->n_features = n_features;
    m->coef = calloc((size_t)(n_features > 0 ? n_features : 1) * (size_t)m->n_vec, sizeof *m->coef);
    m->intercept = calloc((size_t)m->n_vec, sizeof *m->intercept);
    if (!m->coef || !m->intercept) {
        ao_logreg_destroy(m);
        return NULL;
    }
    return m;
}

void ao_logreg_destroy(ao_logreg *m)
{
    if (!m) return;
    free(m->coef);
    free(m->intercept);
    free(m);
}

int ao_logreg_n_classes(const ao_logreg *m) { return m ? m->n_classes : 0; }
int64_t ao_logreg_n_features(const ao_logreg *m) { return m ? m->n_features : 0; }
int ao_logreg_n_vectors(const ao_logreg *m) { return m ? m->n_vec : 0; }
const double *ao_logreg_coef(const ao_logreg *m) { return m ? m->coef : NULL; }
const double *ao_logreg_intercept(const ao_logreg *m) { return m ? m->intercept : NULL; }
int ao_logreg_n_iter(const ao_logreg *m) { return m ? m->n_iter : 0; }
double ao_logreg_loss(const ao_logreg *m) { return m ? m->loss : NAN; }
double ao_logreg_gnorm(const ao_logreg *m) { return m ? m->gnorm : NAN; }
int ao_logreg_status(const ao_logreg *m) { return m ? m->status : -1; }
int ao_logreg_converged(const ao_logreg *m)
{
    return m && (m->status == AO_LBFGS_CONVERGED_GTOL || m->status == AO_LBFGS_CONVERGED_FTOL);
}

/* log(1 + exp(z)) without overflow. */
static inline double log1pexp(double z)
{
    return z > 0.0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static inline double sigmoid(double z)
{
    if (z >= 0.0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* sum_k val[k] * w[idx[k]] with four accumulators (a fixed order, so
 * still deterministic; breaks the add latency chain). */
static inline double dot_sparse(const int32_t *idx, const float *val, int64_t n, const double *w)
{
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    int64_t k = 0;
    for (; k + 4 <= n; k += 4) {
        a0 += (double)val[k] * w[idx[k]];
        a1 += (double)val[k + 1] * w[idx[k + 1]];
        a2 += (double)val[k + 2] * w[idx[k + 2]];
        a3 += (double)val[k + 3] * w[idx[k + 3]];
    }
    for (; k < n; k++) a0 += (double)val[k] * w[idx[k]];
    return (a0 + a1) + (a2 + a3);
}

/* ---- the objective ---------------------------------------------------- */

/* Rows are cut into B blocks (B fixed by the data's shape, never by the
 * thread count). Each block accumulates its rows, in order, into its own
 * partial gradient G_b (d*K weights + K intercepts) and partial loss in
 * one pass over its rows, so each row is read once while it is in cache.
 * The partials are then added in block order. */
#define LOGREG_MAX_BLOCKS 64
#define LOGREG_MIN_BLOCK_BUDGET (8u << 20)   /* bytes of partial gradients allowed at least */

typedef struct fit_ctx {
    const ao_csr *X;
    const int *y;
    double *w;               /* per-row weights (sample x class) */
    int K, fit_intercept;
    int64_t n, d, gdim;      /* gdim = d*K + K: partial gradient length */
    int64_t nvar;            /* d*K (+ K with an intercept): variables */
    double inv_C;
    int B;                   /* row blocks */
    int64_t *bbound;         /* B + 1 row boundaries */
    double *G;               /* B * gdim partial gradients */
    double *bloss;           /* B partial losses */
    double *zbuf;            /* threads * 2K scratch */
    int threads;
} fit_ctx;

typedef struct job {
    fit_ctx *c;
    int t;                   /* thread index */
    int phase;               /* 0: row blocks, 1: reduction */
    const double *x;
    double *g;
} job;

static void block_pass(fit_ctx *c, int b, const double *x, double *z)
{
    const ao_csr *X = c->X;
    const int K = c->K;
    const int64_t dk = c->d * K;
    const double *W = x, *icpt = c->fit_intercept ? x + dk : NULL;
    double *G = c->G + (size_t)b * c->gdim, *Gi = G + dk, *r = z + K;
    double loss = 0.0;

    memset(G, 0, sizeof *G * (size_t)c->gdim);
    for (int64_t i = c->bbound[b]; i < c->bbound[b + 1]; i++) {
        const int64_t lo = X->indptr[i], n = X->indptr[i + 1] - lo;
        const int32_t *idx = X->indices + lo;
        const float *val = X->values + lo;
        const double wi = c->w[i];
        if (wi == 0.0) continue;
        if (K == 1) {
            double zi = dot_sparse(idx, val, n, W) + (icpt ? icpt[0] : 0.0);
            double yi = c->y[i] == 1 ? 1.0 : 0.0;
            double ri = wi * (sigmoid(zi) - yi);
            loss += wi * (log1pexp(zi) - yi * zi);
            Gi[0] += ri;
            for (int64_t k = 0; k < n; k++) G[idx[k]] += ri * (double)val[k];
        } else {
            for (int v = 0; v < K; v++) z[v] = icpt ? icpt[v] : 0.0;
            for (int64_t k = 0; k < n; k++) {
                const double xv = val[k];
                const double *wj = W + (int64_t)idx[k] * K;
                for (int v = 0; v < K; v++) z[v] += xv * wj[v];
            }
            double mx = z[0], s = 0.0;
            for (int v = 1; v < K; v++) if (z[v] > mx) mx = z[v];
            for (int v = 0; v < K; v++) s += exp(z[v] - mx);
            double lse = mx + log(s);
            loss += wi * (lse - z[c->y[i]]);
            for (int v = 0; v < K; v++) r[v] = wi * exp(z[v] - lse);
            r[c->y[i]] -= wi;
            for (int v = 0; v < K; v++) Gi[v] += r[v];
            for (int64_t k = 0; k < n; k++) {
                const double xv = val[k];
                double *gj = G + (int64_t)idx[k] * K;
                for (int v = 0; v < K; v++) gj[v] += xv * r[v];
            }
        }
    }
    c->bloss[b] = loss;
}

/* g[j] = sum_b G_b[j] in block order (+ W/C for weights), for the
 * thread's share of [0, gdim). */
static void reduce_pass(fit_ctx *c, int t, const double *x, double *g)
{
    const int64_t dk = c->d * c->K, gdim = c->gdim;
    const int64_t lo = c->nvar * t / c->threads, hi = c->nvar * (t + 1) / c->threads;
    const double inv_C = c->inv_C;

    memcpy(g + lo, c->G + lo, sizeof *g * (size_t)(hi - lo));
    for (int b = 1; b < c->B; b++) {
        const double *Gb = c->G + (size_t)b * gdim;
        for (int64_t j = lo; j < hi; j++) g[j] += Gb[j];
    }
    for (int64_t j = lo; j < hi && j < dk; j++) g[j] += inv_C * x[j];
}

static void *job_run(void *arg)
{
    job *jb = arg;
    fit_ctx *c = jb->c;
    if (jb->phase == 0) {
        /* Blocks [tB/T, (t+1)B/T) */
        int b0 = (int)((int64_t)c->B * jb->t / c->threads);
        int b1 = (int)((int64_t)c->B * (jb->t + 1) / c->threads);
        for (int b = b0; b < b1; b++) block_pass(c, b, jb->x, c->zbuf + (size_t)jb->t * 2 * c->K);
    } else {
        reduce_pass(c, jb->t, jb->x, jb->g);
    }
    return NULL;
}

/* Runs one phase: share 0 on this thread, the others on their own threads
 * (run inline if a thread cannot be started: same result). */
static void run_phase(fit_ctx *c, int phase, const double *x, double *g)
{
    job jobs[LOGREG_MAX_THREADS];
    pthread_t tid[LOGREG_MAX_THREADS];
    int started[LOGREG_MAX_THREADS];
    int T = c->threads;

    for (int t = 0; t < T; t++) {
        jobs[t].c = c; jobs[t].t = t; jobs[t].phase = phase; jobs[t].x = x; jobs[t].g = g;
        started[t] = 0;
    }
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&tid[t], NULL, job_run, &jobs[t]) == 0;
    job_run(&jobs[0]);
    for (int t = 1; t < T; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else job_run(&jobs[t]);
    }
}

static int objective(void *vctx, const double *x, double *f, double *g)
{
    fit_ctx *c = vctx;
    const int64_t dk = c->d * c->K;
    double loss = 0.0, pen = 0.0;

    run_phase(c, 0, x, g);
    run_phase(c, 1, x, g);
    for (int b = 0; b < c->B; b++) loss += c->bloss[b];
    for (int64_t j = 0; j < dk; j++) pen += x[j] * x[j];
    *f = loss + 0.5 * c->inv_C * pen;
    return AO_OK;
}

/* Splits [0, n) into T slices of about equal weight, weight given by a
 * prefix array ptr (ptr[0..n]). Deterministic. */
static void split_by_prefix(const int64_t *ptr, int64_t n, int T, int64_t *bound)
{
    const int64_t total = ptr[n];
    int64_t i = 0;
    bound[0] = 0;
    for (int t = 1; t < T; t++) {
        int64_t target = (int64_t)((double)total * t / T);
        while (i < n && ptr[i] < target) i++;
        bound[t] = i;
    }
    bound[T] = n;
}

typedef struct prog_ctx {
    const ao_logreg_params *p;
    double C;
} prog_ctx;

static int progress_tramp(void *vctx, int iter, double f, double gnorm)
{
    prog_ctx *pc = vctx;
    return pc->p->progress(pc->p->progress_ctx, iter, pc->C * f, gnorm);
}

static void ctx_free(fit_ctx *c)
{
    free(c->w);
    free(c->bbound); free(c->G); free(c->bloss); free(c->zbuf);
    memset(c, 0, sizeof *c);
}

/* Validates the inputs and builds everything one evaluation needs. */
static int ctx_setup(fit_ctx *c, const ao_logreg_params *p, const ao_csr *X, const int *y,
                     int n_classes, const double *sample_weight, ao_err *err)
{
    double *cw = NULL;
    int rc;

    memset(c, 0, sizeof *c);
    if (!X || !y || X->n_rows < 1 || X->n_cols < 0 || X->n_cols > INT32_MAX) {
        rc = ao_err_set(err, AO_EUSAGE, "logreg: invalid arguments (empty matrix?)");
        goto ERROR;
    }
    if (n_classes < 2) {
        rc = ao_err_set(err, AO_EDATA, "logreg: need at least two classes (got %d)", n_classes);
        goto ERROR;
    }
    if (!(p->C > 0.0) || !isfinite(p->C) || p->max_iter < 0 || !(p->tol >= 0.0) || p->lbfgs_m < 1 ||
        p->progress_every < 0 || p->class_weight < AO_LOGREG_CW_NONE ||
        p->class_weight > AO_LOGREG_CW_EXPLICIT ||
        (p->class_weight == AO_LOGREG_CW_EXPLICIT && !p->class_weights)) {
        rc = ao_err_set(err, AO_EUSAGE, "logreg: invalid parameters (C=%g max_iter=%d tol=%g)",
                        p->C, p->max_iter, p->tol);
        goto ERROR;
    }

    c->X = X; c->y = y; c->n = X->n_rows; c->d = X->n_cols;
    c->K = n_classes == 2 ? 1 : n_classes;
    c->fit_intercept = p->fit_intercept ? 1 : 0;
    c->inv_C = 1.0 / p->C;
    c->threads = p->threads < 1 ? 1 : p->threads > LOGREG_MAX_THREADS ? LOGREG_MAX_THREADS : p->threads;
    if (c->threads > c->n) c->threads = (int)c->n;

    /* Per-row weights: sample weight times class weight. */
    if (!(c->w = malloc(sizeof *c->w * (size_t)c->n)) ||
        !(cw = malloc(sizeof *cw * (size_t)n_classes))) {
        rc = ao_err_set(err, AO_EMEM, "logreg: out of memory");
        goto ERROR;
    }
    for (int k = 0; k < n_classes; k++) cw[k] = 1.0;
    for (int64_t i = 0; i < c->n; i++) {
        if (y[i] < 0 || y[i] >= n_classes) {
            rc = ao_err_set(err, AO_EDATA, "logreg: label %d of row %lld outside [0, %d)",
                            y[i], (long long)i, n_classes);
            goto ERROR;
        }
        if (sample_weight && (!isfinite(sample_weight[i]) || sample_weight[i] < 0.0)) {
            rc = ao_err_set(err, AO_EDATA, "logreg: sample weight %g of row %lld is not finite and >= 0",
                            sample_weight[i], (long long)i);
            goto ERROR;
        }
    }
    if (p->class_weight == AO_LOGREG_CW_BALANCED) {
        for (int k = 0; k < n_classes; k++) cw[k] = 0.0;
        for (int64_t i = 0; i < c->n; i++) cw[y[i]] += 1.0;
        for (int k = 0; k < n_classes; k++)
            cw[k] = cw[k] > 0.0 ? (double)c->n / ((double)n_classes * cw[k]) : 0.0;
    } else if (p->class_weight == AO_LOGREG_CW_EXPLICIT) {
        for (int k = 0; k < n_classes; k++) {
            if (!isfinite(p->class_weights[k]) || p->class_weights[k] < 0.0) {
                rc = ao_err_set(err, AO_EUSAGE, "logreg: class weight %d is not finite and >= 0", k);
                goto ERROR;
            }
            cw[k] = p->class_weights[k];
        }
    }
    for (int64_t i = 0; i < c->n; i++)
        c->w[i] = (sample_weight ? sample_weight[i] : 1.0) * cw[y[i]];

    for (int64_t k = 0; k < X->nnz; k++)
        if (X->indices[k] < 0 || X->indices[k] >= c->d) {
            rc = ao_err_set(err, AO_EDATA, "logreg: column index %d out of range", (int)X->indices[k]);
            goto ERROR;
        }

    /* Row blocks: up to LOGREG_MAX_BLOCKS, as many as fit a budget of
     * max(8 MiB, half the matrix) for the partial gradients. */
    c->gdim = c->d * c->K + c->K;
    c->nvar = c->d * c->K + (c->fit_intercept ? c->K : 0);
    {
        double budget = fmax((double)LOGREG_MIN_BLOCK_BUDGET, 0.5 * (double)X->nnz * 8.0);
        double nb = floor(budget / (8.0 * (double)c->gdim));
        c->B = nb < 1.0 ? 1 : nb > LOGREG_MAX_BLOCKS ? LOGREG_MAX_BLOCKS : (int)nb;
        if (c->B > c->n) c->B = (int)c->n;
    }
    if (c->threads > c->B) c->threads = c->B;
    c->bbound = malloc(sizeof *c->bbound * ((size_t)c->B + 1));
    c->G = malloc(sizeof *c->G * (size_t)c->B * (size_t)c->gdim);
    c->bloss = malloc(sizeof *c->bloss * (size_t)c->B);
    c->zbuf = malloc(sizeof *c->zbuf * (size_t)c->threads * 2 * (size_t)c->K);
    if (!c->bbound || !c->G || !c->bloss || !c->zbuf) {
        rc = ao_err_set(err, AO_EMEM, "logreg: out of memory (%lld x %lld x %d)",
                        (long long)c->n, (long long)c->d, c->K);
        goto ERROR;
    }
    split_by_prefix(X->indptr, c->n, c->B, c->bbound);
    free(cw);
    return AO_OK;

ERROR:
    free(cw);
    ctx_free(c);
    return rc;
}

int ao_logreg_fit(const ao_logreg_params *pin, const ao_csr *X, const int *y, int n_classes,
                  const double *sample_weight, ao_logreg **out, ao_err *err)
{
    ao_logreg_params p;
    fit_ctx c;
    ao_lbfgs_params lp;
    ao_lbfgs_result lr;
    prog_ctx pc;
    ao_logreg *m = NULL;
    double *x = NULL;
    int64_t nvar;
    int rc;

    memset(&c, 0, sizeof c);
    if (pin) p = *pin;
    else ao_logreg_params_init(&p);
    if (!out) {
        rc = ao_err_set(err, AO_EUSAGE, "logreg: invalid arguments");
        goto ERROR;
    }
    *out = NULL;
    if ((rc = ctx_setup(&c, &p, X, y, n_classes, sample_weight, err)) < 0) goto ERROR;
    nvar = c.d * c.K + (c.fit_intercept ? c.K : 0);
    if (nvar == 0) {
        rc = ao_err_set(err, AO_EUSAGE, "logreg: nothing to fit (no features, no intercept)");
        goto ERROR;
    }
    if (!(x = calloc((size_t)nvar, sizeof *x))) {
        rc = ao_err_set(err, AO_EMEM, "logreg: out of memory");
        goto ERROR;
    }

    ao_lbfgs_params_init(&lp);
    lp.m = p.lbfgs_m;
    lp.max_iter = p.max_iter;
    lp.gtol = p.tol;
    lp.progress_every = p.progress_every;
    lp.deadline = p.deadline;
    if (p.progress) {
        pc.p = &p;
        pc.C = p.C;
        lp.progress = progress_tramp;
        lp.progress_ctx = &pc;
    }
    rc = ao_lbfgs_minimize(&lp, nvar, x, objective, &c, &lr, err);
    if (rc < -1) {
        if (rc == AO_LBFGS_EDIVERGED)
            ao_err_set(err, rc, "logreg: diverged (non-finite loss; non-finite features?)");
        goto ERROR;
    }

    if (!(m = model_alloc(n_classes, c.d))) {
        rc = ao_err_set(err, AO_EMEM, "logreg: out of memory");
        goto ERROR;
    }
    m->fit_intercept = c.fit_intercept;
    m->C = p.C;
    if (c.d > 0) memcpy(m->coef, x, sizeof *x * (size_t)(c.d * c.K));
    if (c.fit_intercept) memcpy(m->intercept, x + c.d * c.K, sizeof *x * (size_t)c.K);
    m->n_iter = lr.n_iter;
    m->status = lr.status;
    m->loss = p.C * lr.f;
    m->gnorm = lr.gnorm;
    *out = m;
    rc = AO_OK;

ERROR:
    free(x);
    ctx_free(&c);
    return rc;
}

int ao_logreg_loss_grad(const ao_logreg_params *pin, const ao_csr *X, const int *y, int n_classes,
                        const double *sample_weight, const double *coef, const double *intercept,
                        double *loss, double *grad_coef, double *grad_intercept, ao_err *err)
{
    ao_logreg_params p;
    fit_ctx c;
    double *x = NULL, *g = NULL, f = 0.0;
    int64_t dk, nvar;
    int rc;

    memset(&c, 0, sizeof c);
    if (pin) p = *pin;
    else ao_logreg_params_init(&p);
    if (!coef || !loss || !grad_coef || (p.fit_intercept && (!intercept || !grad_intercept))) {
        rc = ao_err_set(err, AO_EUSAGE, "logreg: invalid arguments");
        goto ERROR;
    }
    if ((rc = ctx_setup(&c, &p, X, y, n_classes, sample_weight, err)) < 0) goto ERROR;
    dk = c.d * c.K;
    nvar = dk + (c.fit_intercept ? c.K : 0);
    x = malloc(sizeof *x * (size_t)(nvar > 0 ? nvar : 1));
    g = malloc(sizeof *g * (size_t)(nvar > 0 ? nvar : 1));
    if (!x || !g) {
        rc = ao_err_set(err, AO_EMEM, "logreg: out of memory");
        goto ERROR;
    }
    if (dk > 0) memcpy(x, coef, sizeof *x * (size_t)dk);
    if (c.fit_intercept) memcpy(x + dk, intercept, sizeof *x * (size_t)c.K);
    if ((rc = objective(&c, x, &f, g)) < 0) goto ERROR;
    *loss = p.C * f;
    for (int64_t k = 0; k < dk; k++) grad_coef[k] = p.C * g[k];
    if (c.fit_intercept)
        for (int v = 0; v < c.K; v++) grad_intercept[v] = p.C * g[dk + v];
    rc = AO_OK;

ERROR:
    free(x);
    free(g);
    ctx_free(&c);
    return rc;
}

/* ---- prediction --------------------------------------------------------- */

int ao_logreg_decision_function(const ao_logreg *m, const ao_csr *X, double *z)
{
    if (!m || !X || !z || X->n_cols > m->n_features) return AO_EUSAGE;
    const int K = m->n_vec;
    for (int64_t i = 0; i < X->n_rows; i++) {
        double *zi = z + i * K;
        for (int v = 0; v < K; v++) zi[v] = m->intercept[v];
        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) {
            const int32_t j = X->indices[k];
            const double xv = X->values[k];
            if (j < 0 || j >= m->n_features) return AO_EUSAGE;
            const double *wj = m->coef + (int64_t)j * K;
            for (int v = 0; v < K; v++) zi[v] += xv * wj[v];
        }
    }
    return AO_OK;
}

int ao_logreg_predict_proba(const ao_logreg *m, const ao_csr *X, double *proba)
{
    if (!m || !X || !proba || X->n_cols > m->n_features) return AO_EUSAGE;
    const int K = m->n_classes, V = m->n_vec;
    double zb[1];
    for (int64_t i = 0; i < X->n_rows; i++) {
        double *pi = proba + i * K;
        /* The margins go into the row's own output slots. */
        double *zi = V == 1 ? zb : pi;
        for (int v = 0; v < V; v++) zi[v] = m->intercept[v];
        for (int64_t k = X->indptr[i]; k < X->indptr[i + 1]; k++) {
            const int32_t j = X->indices[k];
            const double xv = X->values[k];
            if (j < 0 || j >= m->n_features) return AO_EUSAGE;
            const double *wj = m->coef + (int64_t)j * V;
            for (int v = 0; v < V; v++) zi[v] += xv * wj[v];
        }
        if (V == 1) {
            double p1 = sigmoid(zb[0]);
            pi[0] = sigmoid(-zb[0]);
            pi[1] = p1;
        } else {
            double mx = pi[0], s = 0.0;
            for (int v = 1; v < K; v++) if (pi[v] > mx) mx = pi[v];
            for (int v = 0; v < K; v++) s += (pi[v] = exp(pi[v] - mx));
            for (int v = 0; v < K; v++) pi[v] /= s;
        }
    }
    return AO_OK;
}

/* ---- serialisation ------------------------------------------------------ */

int ao_logreg_save(const ao_logreg *m, ao_buf *b)
{
    if (!m || !b) return AO_EUSAGE;
    ao_buf_u32(b, LOGREG_FORMAT);
    ao_buf_u32(b, (uint32_t)m->n_classes);
    ao_buf_u32(b, (uint32_t)m->n_vec);
    ao_buf_u64(b, (uint64_t)m->n_features);
    ao_buf_u32(b, (uint32_t)m->fit_intercept);
    ao_buf_f64(b, m->C);
    ao_buf_i32(b, m->n_iter);
    ao_buf_i32(b, m->status);
    ao_buf_f64(b, m->loss);
    ao_buf_f64(b, m->gnorm);
    ao_buf_f64s(b, m->coef, (size_t)m->n_features * (size_t)m->n_vec);
    ao_buf_f64s(b, m->intercept, (size_t)m->n_vec);
    return b->oom ? AO_EMEM : AO_OK;
}

int ao_logreg_load(ao_cursor *cur, ao_logreg **out, ao_err *err)
{
    ao_logreg *m = NULL;
    uint32_t ver, ncls, nvec, fi;
    uint64_t nfeat;
    int32_t n_iter, status;
    double C, loss, gnorm;
    int rc;

    if (out) *out = NULL;
    if (!cur || !out) return ao_err_set(err, AO_EUSAGE, "logreg: invalid arguments");
    if ((rc = ao_cur_u32(cur, &ver)) < 0) goto TRUNC;
    if (ver != LOGREG_FORMAT) {
        rc = ao_err_set(err, AO_EDATA, "logreg: unsupported model format version %u", ver);
        goto ERROR;
    }
    if ((rc = ao_cur_u32(cur, &ncls)) < 0 || (rc = ao_cur_u32(cur, &nvec)) < 0 ||
        (rc = ao_cur_u64(cur, &nfeat)) < 0 || (rc = ao_cur_u32(cur, &fi)) < 0 ||
        (rc = ao_cur_f64(cur, &C)) < 0 || (rc = ao_cur_i32(cur, &n_iter)) < 0 ||
        (rc = ao_cur_i32(cur, &status)) < 0 || (rc = ao_cur_f64(cur, &loss)) < 0 ||
        (rc = ao_cur_f64(cur, &gnorm)) < 0)
        goto TRUNC;
    if (ncls < 2 || ncls > 1000000 || nvec != (ncls == 2 ? 1u : ncls) || fi > 1 ||
        nfeat > (uint64_t)INT32_MAX ||
        nfeat * nvec > (cur->len - cur->pos) / 8) {
        rc = ao_err_set(err, AO_EDATA, "logreg: inconsistent model header (%u classes, %llu features)",
                        ncls, (unsigned long long)nfeat);
        goto ERROR;
    }
    if (!(m = model_alloc((int)ncls, (int64_t)nfeat))) {
        rc = ao_err_set(err, AO_EMEM, "logreg: out of memory");
        goto ERROR;
    }
    m->fit_intercept = (int)fi;
    m->C = C;
    m->n_iter = n_iter;
    m->status = status;
    m->loss = loss;
    m->gnorm = gnorm;
    if ((rc = ao_cur_f64s(cur, m->coef, (size_t)nfeat * nvec)) < 0 ||
        (rc = ao_cur_f64s(cur, m->intercept, nvec)) < 0)
        goto TRUNC;
    for (size_t k = 0; k < (size_t)nfeat * nvec; k++)
        if (!isfinite(m->coef[k])) {
            rc = ao_err_set(err, AO_EDATA, "logreg: non-finite weight in model");
            goto ERROR;
        }
    for (uint32_t v = 0; v < nvec; v++)
        if (!isfinite(m->intercept[v])) {
            rc = ao_err_set(err, AO_EDATA, "logreg: non-finite intercept in model");
            goto ERROR;
        }
    *out = m;
    return AO_OK;

TRUNC:
    rc = ao_err_set(err, AO_EDATA, "logreg: truncated model payload");
ERROR:
    ao_logreg_destroy(m);
    return rc;
}
