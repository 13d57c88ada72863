/* gbdt.c — histogram-based gradient-boosted decision trees (see gbdt.h).
 *
 * Layout of the training state:
 *   bins      d x n uint8, column-major (feature f's bins are contiguous),
 *             so one thread can own a range of features and walk the rows
 *             of a node in increasing order: every histogram bin is summed
 *             in the same order whatever the thread count.
 *   rows      the sampled row indices; every tree node owns a contiguous,
 *             ascending segment of it (partitioning is stable).
 *   hist      per node, one {g, h, count} triple per (feature, bin), at
 *             offset hoff[f]; kept only for leaves that may still split,
 *             in a bounded pool of buffers.
 * Trees are finally stored as flat arrays with raw float thresholds.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/gbdt.h"
#include "agentomics/log.h"
#include "agentomics/rng.h"

#define GBDT_MAGIC 0x54444247u      /* "GBDT" little-endian */
#define GBDT_VERSION 1u
#define GBDT_BIN_SAMPLE 200000      /* rows used to choose bin edges */
#define GBDT_HIST_BUDGET ((size_t)512 << 20)   /* bytes of kept histograms */
#define GBDT_MAX_SCORE 1e30         /* |raw score| beyond which a run has diverged */
#define GBDT_PAR_MIN_WORK 32768     /* rows x features below which one thread works */

struct ao_gbdt {
    int n_features, n_classes, n_out;
    int n_rounds, best_iter, n_hist, stopped, diverged;
    double learning_rate;
    double *base;               /* n_out initial scores */
    double *hist_train, *hist_valid;   /* n_hist */
    int64_t n_trees;            /* n_rounds * n_out, round-major */
    int64_t *tree_off;          /* n_trees + 1 */
    int64_t n_nodes;
    int32_t *feat;              /* -1 for a leaf */
    int32_t *left, *right;      /* child node index within the tree */
    float *thr;                 /* x <= thr goes left */
    double *value;              /* leaf output (learning rate applied) */
    double *gain;               /* split gain (0 for leaves) */
    int32_t *edge_off;          /* n_features + 1 */
    float *edges;               /* bin upper edges per feature */
};

/* ---------------------------------------------------------------- */
/* A tiny fixed thread pool: run(fn) calls fn(arg, tid, nth) on every
 * thread (the caller is thread 0) and returns when all are done. */

typedef void (*pool_fn)(void *arg, int tid, int nth);

typedef struct pool {
    int nth;                    /* including the caller */
    pthread_t *th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pool_fn fn;
    void *arg;
    unsigned gen;
    int pending, quit;
} pool;

typedef struct pool_worker { pool *p; int tid; } pool_worker;

static void *pool_main(void *a)
{
    pool_worker *w = a;
    pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        pool_fn fn;
        void *arg;
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->quit) { pthread_mutex_unlock(&p->mu); break; }
        seen = p->gen;
        fn = p->fn;
        arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        fn(arg, w->tid, p->nth);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

typedef struct pool_box { pool p; pool_worker *w; } pool_box;

static void pool_destroy(pool_box *b)
{
    int i;
    if (!b) return;
    if (b->p.th) {
        pthread_mutex_lock(&b->p.mu);
        b->p.quit = 1;
        pthread_cond_broadcast(&b->p.cv_work);
        pthread_mutex_unlock(&b->p.mu);
        for (i = 0; i < b->p.started; i++) pthread_join(b->p.th[i], NULL);
    }
    pthread_mutex_destroy(&b->p.mu);
    pthread_cond_destroy(&b->p.cv_work);
    pthread_cond_destroy(&b->p.cv_done);
    free(b->p.th);
    free(b->w);
    free(b);
}

static pool_box *pool_create(int nth)
{
    pool_box *b = calloc(1, sizeof *b);
    int i;
    if (!b) return NULL;
    pthread_mutex_init(&b->p.mu, NULL);
    pthread_cond_init(&b->p.cv_work, NULL);
    pthread_cond_init(&b->p.cv_done, NULL);
    b->p.nth = nth < 1 ? 1 : nth;
    if (b->p.nth > 1) {
        if (!(b->p.th = calloc((size_t)b->p.nth - 1, sizeof *b->p.th))) goto ERROR;
        if (!(b->w = calloc((size_t)b->p.nth - 1, sizeof *b->w))) goto ERROR;
        for (i = 0; i < b->p.nth - 1; i++) {
            b->w[i].p = &b->p;
            b->w[i].tid = i + 1;
            if (pthread_create(&b->p.th[i], NULL, pool_main, &b->w[i]) != 0) goto ERROR;
            b->p.started++;
        }
    }
    return b;
ERROR:
    pool_destroy(b);
    return NULL;
}

/* Runs fn on all threads, or only on the caller when parallel is 0; the
 * work split must not change results (it never does here). */
static void pool_run(pool_box *b, pool_fn fn, void *arg, int parallel)
{
    pool *p = &b->p;
    if (!parallel || p->nth == 1) { fn(arg, 0, 1); return; }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->pending = p->nth - 1;
    p->gen++;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, p->nth);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void chunk(int64_t n, int tid, int nth, int64_t *a, int64_t *b)
{
    *a = n * tid / nth;
    *b = n * (tid + 1) / nth;
}

/* ---------------------------------------------------------------- */
/* Parameters */

void ao_gbdt_params_init(ao_gbdt_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_estimators = 100;
    p->learning_rate = 0.1;
    p->max_depth = 0;
    p->max_leaves = 31;
    p->lambda = 1.0;
    p->min_split_gain = 0.0;
    p->min_child_weight = 1e-3;
    p->min_samples_leaf = 20;
    p->max_bins = 255;
    p->subsample = 1.0;
    p->colsample = 1.0;
    p->early_stopping_rounds = 0;
    p->class_weight_mode = AO_GBDT_CW_NONE;
    p->class_weight = NULL;
    p->seed = 0;
    p->threads = 1;
}

static int check_params(const ao_gbdt_params *p, int n_classes, ao_err *err)
{
    if (!p) return ao_err_set(err, AO_EUSAGE, "gbdt: no parameters");
    if (p->n_estimators < 1) return ao_err_set(err, AO_EUSAGE, "gbdt: n_estimators must be >= 1");
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return ao_err_set(err, AO_EUSAGE, "gbdt: learning_rate must be a positive finite number");
    if (p->max_depth <= 0 && p->max_leaves <= 0)
        return ao_err_set(err, AO_EUSAGE, "gbdt: set max_depth or max_leaves");
    if (p->max_leaves == 1) return ao_err_set(err, AO_EUSAGE, "gbdt: max_leaves must be >= 2");
    if (!(p->lambda >= 0) || !isfinite(p->lambda)) return ao_err_set(err, AO_EUSAGE, "gbdt: lambda must be >= 0");
    if (!(p->min_split_gain >= 0) || !isfinite(p->min_split_gain))
        return ao_err_set(err, AO_EUSAGE, "gbdt: min_split_gain must be >= 0");
    if (!(p->min_child_weight >= 0) || !isfinite(p->min_child_weight))
        return ao_err_set(err, AO_EUSAGE, "gbdt: min_child_weight must be >= 0");
    if (p->min_samples_leaf < 1) return ao_err_set(err, AO_EUSAGE, "gbdt: min_samples_leaf must be >= 1");
    if (p->max_bins < 2 || p->max_bins > 255) return ao_err_set(err, AO_EUSAGE, "gbdt: max_bins must be in 2..255");
    if (!(p->subsample > 0 && p->subsample <= 1)) return ao_err_set(err, AO_EUSAGE, "gbdt: subsample must be in (0, 1]");
    if (!(p->colsample > 0 && p->colsample <= 1)) return ao_err_set(err, AO_EUSAGE, "gbdt: colsample must be in (0, 1]");
    if (p->early_stopping_rounds < 0) return ao_err_set(err, AO_EUSAGE, "gbdt: early_stopping_rounds must be >= 0");
    if (p->threads < 1) return ao_err_set(err, AO_EUSAGE, "gbdt: threads must be >= 1");
    if (n_classes < 2) return ao_err_set(err, AO_EUSAGE, "gbdt: need at least 2 classes");
    if (p->class_weight_mode == AO_GBDT_CW_EXPLICIT) {
        int k;
        if (!p->class_weight) return ao_err_set(err, AO_EUSAGE, "gbdt: explicit class weights missing");
        for (k = 0; k < n_classes; k++)
            if (!(p->class_weight[k] >= 0) || !isfinite(p->class_weight[k]))
                return ao_err_set(err, AO_EUSAGE, "gbdt: class weight %d must be finite and >= 0", k);
    } else if (p->class_weight_mode != AO_GBDT_CW_NONE && p->class_weight_mode != AO_GBDT_CW_BALANCED) {
        return ao_err_set(err, AO_EUSAGE, "gbdt: unknown class weight mode %d", p->class_weight_mode);
    }
    return AO_OK;
}

/* ---------------------------------------------------------------- */
/* Binning */

static uint32_t float_key(float x)
{
    uint32_t u;
    if (x == 0) x = 0;          /* -0 sorts with +0 */
    memcpy(&u, &x, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* LSD radix sort of n keys; tmp has room for n. */
static void radix_sort(uint32_t *a, uint32_t *tmp, int64_t n)
{
    int pass;
    for (pass = 0; pass < 4; pass++) {
        int64_t cnt[257] = {0}, i;
        int sh = pass * 8, b;
        for (i = 0; i < n; i++) cnt[((a[i] >> sh) & 255u) + 1]++;
        for (b = 0; b < 256; b++) cnt[b + 1] += cnt[b];
        for (i = 0; i < n; i++) tmp[cnt[(a[i] >> sh) & 255u]++] = a[i];
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
}

static float midpoint(float a, float b)
{
    float m = (float)(((double)a + (double)b) * 0.5);
    return (m >= a && m < b) ? m : a;
}

/* Upper bin edges from m sorted keys; returns the edge count (< max_bins). */
static int make_edges(const uint32_t *k, int64_t m, int max_bins, float *edges)
{
    int64_t n_distinct = 0, i, start = 0, cur = 0;
    int ne = 0;
    for (i = 0; i < m; i++) if (i == 0 || k[i] != k[i - 1]) n_distinct++;
    if (n_distinct < 2) return 0;
    {
        int64_t j = 0;   /* index of the distinct value */
        for (i = 0; i < m && ne < max_bins - 1; ) {
            int64_t e = i, rem_distinct, rem_bins;
            while (e < m && k[e] == k[i]) e++;
            if (e >= m) break;                   /* the last value closes the last bin */
            cur += e - i;
            rem_distinct = n_distinct - 1 - j;   /* distinct values after this one */
            rem_bins = max_bins - ne;            /* bins left, counting the current one */
            if (rem_distinct <= rem_bins - 1 || (double)cur * (double)rem_bins >= (double)(m - start)) {
                edges[ne++] = midpoint(key_float(k[i]), key_float(k[e]));
                start += cur;
                cur = 0;
            }
            i = e;
            j++;
        }
    }
    return ne;
}

static inline int bin_of(const float *edges, int ne, float x)
{
    int lo = 0, hi = ne;        /* first b with x <= edges[b], else ne */
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (x <= edges[mid]) hi = mid; else lo = mid + 1;
    }
    return lo;
}

typedef struct bin_job {
    const ao_dense *X;
    const int64_t *sample;      /* rows used for edges, or NULL: all */
    int64_t m;                  /* sample size */
    int max_bins;
    uint32_t **keys, **tmp;     /* per thread, m each */
    float *edges_all;           /* d x (max_bins - 1) */
    int32_t *n_edges;           /* d */
    uint8_t *bins;              /* d x n */
} bin_job;

static void bin_worker(void *arg, int tid, int nth)
{
    bin_job *j = arg;
    const ao_dense *X = j->X;
    int64_t n = X->n_rows, d = X->n_cols, f0, f1, f, i;
    uint32_t *keys = j->keys[tid], *tmp = j->tmp[tid];
    chunk(d, tid, nth, &f0, &f1);
    for (f = f0; f < f1; f++) {
        float *edges = j->edges_all + f * (j->max_bins - 1);
        uint8_t *col = j->bins + f * n;
        int ne;
        for (i = 0; i < j->m; i++) {
            int64_t r = j->sample ? j->sample[i] : i;
            keys[i] = float_key(X->data[r * d + f]);
        }
        radix_sort(keys, tmp, j->m);
        ne = make_edges(keys, j->m, j->max_bins, edges);
        j->n_edges[f] = ne;
        for (i = 0; i < n; i++) col[i] = (uint8_t)bin_of(edges, ne, X->data[i * d + f]);
    }
}

/* ---------------------------------------------------------------- */
/* Training state */

typedef struct hbin { double g, h; int64_t c; } hbin;

typedef struct split {
    double gain;
    int feat, bin;              /* bin < 0: none */
} split;

typedef struct tnode {
    int64_t begin, end;         /* segment of rows */
    double G, H;
    int depth;
    int feat, bin;              /* split (feat < 0: leaf) */
    int left, right;
    double gain, value;
    hbin *hist;                 /* kept histogram or NULL */
    split best;
    int open;                   /* a leaf that may still split */
} tnode;

typedef struct trainer {
    const ao_gbdt_params *p;
    int64_t n, d;
    int K, nc;                  /* outputs, classes */
    uint8_t *bins;
    int32_t *nbins;             /* d */
    int64_t *hoff;              /* d */
    int64_t total_bins;
    float *edges_all;           /* d x (max_bins - 1), row f holds nbins[f]-1 */
    int32_t *usable;            /* features with >= 2 bins */
    int n_usable;
    double *w;                  /* n */
    double *F, *P;              /* n x K */
    double *gh;                 /* n x 2: gradient, hessian */
    int32_t *rows, *tmp_rows;   /* n */
    int32_t *round_rows;        /* the round's sampled rows, ascending */
    int64_t n_sampled;
    int32_t *perm_rows, *perm_cols;
    uint8_t *mark;              /* max(n, d) */
    int32_t *sel;               /* selected features, ascending */
    int n_sel;
    pool_box *pool;
    ao_rng rng;
    /* current tree */
    tnode *nodes;
    int n_nodes, cap_nodes;
    /* histogram pool */
    hbin **free_h;
    int n_free, n_alloc, max_alloc;
    hbin *scratch[2];
    split *best_a, *best_b;     /* per selected feature */
    /* finished trees, grown arrays */
    int64_t n_trees, cap_trees, *tree_off;
    int64_t n_tnodes, cap_tnodes;
    int32_t *feat, *left, *right;
    int32_t *tbin;              /* split bin, for updating train scores */
    float *thr;
    double *value, *gain;
} trainer;

static hbin *hist_get(trainer *t)
{
    if (t->n_free > 0) return t->free_h[--t->n_free];
    if (t->n_alloc >= t->max_alloc) return NULL;
    {
        hbin *h = malloc((size_t)t->total_bins * sizeof *h);
        if (h) t->n_alloc++;
        return h;
    }
}

static void hist_put(trainer *t, hbin *h)
{
    if (!h || h == t->scratch[0] || h == t->scratch[1]) return;
    t->free_h[t->n_free++] = h;
}

/* Job for one split: build/derive the children's histograms and find their
 * best splits, each thread over a range of the selected features. */
typedef struct node_job {
    trainer *t;
    hbin *hs; const int32_t *rs; int64_t ns; int build_s, find_s;
    hbin *hl; const int32_t *rl; int64_t nl; int mode_l, find_l;  /* 1 build, 2 hl = hp - hs */
    const hbin *hp;
    double Gs, Hs, Gl, Hl;
} node_job;

/* Histograms of up to 4 features (f[0..nf)) in one pass over the rows:
 * four independent update chains, each bin still summed in row order. */
static void build_hist(const trainer *t, const int32_t *f, int nf, hbin *hist, const int32_t *rows, int64_t cnt)
{
    const double *gh = t->gh;
    int64_t i;
    int q;
    for (q = 0; q < nf; q++) memset(hist + t->hoff[f[q]], 0, (size_t)t->nbins[f[q]] * sizeof *hist);
    if (nf == 4) {
        const uint8_t *c0 = t->bins + (int64_t)f[0] * t->n, *c1 = t->bins + (int64_t)f[1] * t->n;
        const uint8_t *c2 = t->bins + (int64_t)f[2] * t->n, *c3 = t->bins + (int64_t)f[3] * t->n;
        hbin *h0 = hist + t->hoff[f[0]], *h1 = hist + t->hoff[f[1]];
        hbin *h2 = hist + t->hoff[f[2]], *h3 = hist + t->hoff[f[3]];
        for (i = 0; i < cnt; i++) {
            int32_t r = rows[i];
            double g = gh[2 * (int64_t)r], h = gh[2 * (int64_t)r + 1];
            hbin *b0 = h0 + c0[r], *b1 = h1 + c1[r], *b2 = h2 + c2[r], *b3 = h3 + c3[r];
            b0->g += g; b0->h += h; b0->c++;
            b1->g += g; b1->h += h; b1->c++;
            b2->g += g; b2->h += h; b2->c++;
            b3->g += g; b3->h += h; b3->c++;
        }
        return;
    }
    for (q = 0; q < nf; q++) {
        const uint8_t *col = t->bins + (int64_t)f[q] * t->n;
        hbin *H = hist + t->hoff[f[q]];
        for (i = 0; i < cnt; i++) {
            int32_t r = rows[i];
            hbin *b = H + col[r];
            b->g += gh[2 * (int64_t)r];
            b->h += gh[2 * (int64_t)r + 1];
            b->c++;
        }
    }
}

typedef double gbdt_v4 __attribute__((vector_size(32)));

/* Best threshold of one feature: gather the admissible cut points (no
 * division), score them four at a time, take the first maximum. */
static split best_for_feature(const trainer *t, int f, const hbin *H, double G, double Hs, int64_t C)
{
    const ao_gbdt_params *p = t->p;
    double lam = p->lambda, mcw = p->min_child_weight, best = -INFINITY;
    double GL = 0, HL = 0;
    double gl[256] __attribute__((aligned(32))), hl[256] __attribute__((aligned(32)));
    double sc[256] __attribute__((aligned(32)));
    int at[256];
    int64_t CL = 0, msl = p->min_samples_leaf;
    int b, nb = t->nbins[f], m = 0, q;
    split s = { 0.0, f, -1 };
    if (!(Hs + lam > 0)) return s;
    for (b = 0; b < nb - 1; b++) {
        double HR;
        if (H[b].c == 0) continue;      /* same partition as the bin before */
        GL += H[b].g;
        HL += H[b].h;
        CL += H[b].c;
        if (CL < msl) continue;
        if (C - CL < msl) break;
        HR = Hs - HL;
        if (HL < mcw || HR < mcw || !(HL + lam > 1e-300) || !(HR + lam > 1e-300)) continue;
        gl[m] = GL;
        hl[m] = HL;
        at[m++] = b;
    }
    if (m == 0) return s;
    for (q = m; q < ((m + 3) & ~3); q++) { gl[q] = 0; hl[q] = 0; }
    {
        gbdt_v4 vG = { G, G, G, G }, vH = { Hs + lam, Hs + lam, Hs + lam, Hs + lam }, vl = { lam, lam, lam, lam };
        for (q = 0; q < m; q += 4) {
            gbdt_v4 a, h, r;
            memcpy(&a, gl + q, sizeof a);
            memcpy(&h, hl + q, sizeof h);
            r = vG - a;
            a = a * a / (h + vl) + r * r / (vH - h);
            memcpy(sc + q, &a, sizeof a);
        }
    }
    for (q = 0; q < m; q++) if (sc[q] > best) { best = sc[q]; s.bin = at[q]; }
    s.gain = 0.5 * (best - G * G / (Hs + lam));
    return s;
}

static void node_worker(void *arg, int tid, int nth)
{
    node_job *j = arg;
    trainer *t = j->t;
    int64_t a, b, k;
    chunk(t->n_sel, tid, nth, &a, &b);
    for (k = a; k < b; k += 4) {
        int nf = b - k < 4 ? (int)(b - k) : 4;
        if (j->build_s) build_hist(t, t->sel + k, nf, j->hs, j->rs, j->ns);
        if (j->mode_l == 1) build_hist(t, t->sel + k, nf, j->hl, j->rl, j->nl);
    }
    for (k = a; k < b; k++) {
        int f = t->sel[k];
        int64_t off = t->hoff[f];
        int nb = t->nbins[f], i;
        if (j->mode_l == 2) {
            const hbin *P = j->hp + off, *S = j->hs + off;
            hbin *L = j->hl + off;
            for (i = 0; i < nb; i++) {
                L[i].g = P[i].g - S[i].g;
                L[i].h = P[i].h - S[i].h;
                L[i].c = P[i].c - S[i].c;
            }
        }
        if (j->find_s) t->best_a[k] = best_for_feature(t, f, j->hs + off, j->Gs, j->Hs, j->ns);
        if (j->find_l) t->best_b[k] = best_for_feature(t, f, j->hl + off, j->Gl, j->Hl, j->nl);
    }
}

static split reduce_best(const trainer *t, const split *s)
{
    split best = { 0.0, -1, -1 };
    int k;
    double floor = t->p->min_split_gain;
    for (k = 0; k < t->n_sel; k++)
        if (s[k].bin >= 0 && s[k].gain > floor && s[k].gain > best.gain) best = s[k];
    return best;
}

static int node_splittable(const trainer *t, const tnode *nd)
{
    const ao_gbdt_params *p = t->p;
    if (p->max_depth > 0 && nd->depth >= p->max_depth) return 0;
    if (nd->end - nd->begin < 2 * (int64_t)p->min_samples_leaf) return 0;
    if (nd->H < 2 * p->min_child_weight) return 0;
    return 1;
}

static int new_node(trainer *t, int64_t begin, int64_t end, int depth)
{
    tnode *nd;
    if (t->n_nodes == t->cap_nodes) {
        int cap = t->cap_nodes ? 2 * t->cap_nodes : 64;
        tnode *nn = realloc(t->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return AO_EMEM;
        t->nodes = nn;
        t->cap_nodes = cap;
    }
    nd = &t->nodes[t->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->begin = begin;
    nd->end = end;
    nd->depth = depth;
    nd->feat = -1;
    nd->bin = -1;
    nd->left = nd->right = -1;
    nd->best.bin = -1;
    return t->n_nodes++;
}

/* Worth waking the other threads: rows x features plus the per-bin work. */
static int par_ok(const trainer *t, int64_t rows)
{
    int64_t bins = t->n_sel == t->n_usable ? t->total_bins : (int64_t)t->n_sel * (t->total_bins / (t->d ? t->d : 1));
    return rows * (int64_t)t->n_sel + 4 * bins >= GBDT_PAR_MIN_WORK;
}

/* Grows one tree on t->gh over the sampled rows. */
static int grow_tree(trainer *t)
{
    const ao_gbdt_params *p = t->p;
    int64_t i;
    int root, n_leaves = 1, rc, k;
    t->n_nodes = 0;
    if ((rc = new_node(t, 0, t->n_sampled, 0)) < 0) return rc;
    root = rc;
    {
        tnode *nd = &t->nodes[root];
        for (i = 0; i < t->n_sampled; i++) { nd->G += t->gh[2 * (int64_t)t->rows[i]]; nd->H += t->gh[2 * (int64_t)t->rows[i] + 1]; }
        if (node_splittable(t, nd)) {
            node_job j;
            hbin *h = hist_get(t);
            memset(&j, 0, sizeof j);
            j.t = t;
            j.hs = h ? h : t->scratch[0];
            j.rs = t->rows;
            j.ns = t->n_sampled;
            j.build_s = j.find_s = 1;
            j.Gs = nd->G;
            j.Hs = nd->H;
            pool_run(t->pool, node_worker, &j, par_ok(t, j.ns));
            nd->best = reduce_best(t, t->best_a);
            nd->open = nd->best.bin >= 0;
            nd->hist = nd->open ? h : NULL;
            if (!nd->open) hist_put(t, h);
        }
    }
    while (p->max_leaves <= 0 || n_leaves < p->max_leaves) {
        int pick = -1, li, ri, si, gi;
        tnode *pa, *L, *R, *S, *G;
        const uint8_t *col;
        int64_t nl = 0, nr = 0, b, e;
        node_job j;
        hbin *hs = NULL, *hl = NULL;
        for (k = 0; k < t->n_nodes; k++)
            if (t->nodes[k].open && (pick < 0 || t->nodes[k].best.gain > t->nodes[pick].best.gain)) pick = k;
        if (pick < 0) break;
        if ((rc = new_node(t, 0, 0, 0)) < 0) return rc;
        li = rc;
        if ((rc = new_node(t, 0, 0, 0)) < 0) return rc;
        ri = rc;
        pa = &t->nodes[pick];
        L = &t->nodes[li];
        R = &t->nodes[ri];
        pa->open = 0;
        pa->feat = pa->best.feat;
        pa->bin = pa->best.bin;
        pa->gain = pa->best.gain;
        pa->left = li;
        pa->right = ri;
        /* stable partition */
        col = t->bins + (int64_t)pa->feat * t->n;
        b = pa->begin;
        e = pa->end;
        for (i = b; i < e; i++) {
            int32_t r = t->rows[i];
            if (col[r] <= pa->bin) { t->rows[b + nl++] = r; L->G += t->gh[2 * (int64_t)r]; L->H += t->gh[2 * (int64_t)r + 1]; }
            else { t->tmp_rows[nr++] = r; R->G += t->gh[2 * (int64_t)r]; R->H += t->gh[2 * (int64_t)r + 1]; }
        }
        memcpy(t->rows + b + nl, t->tmp_rows, (size_t)nr * sizeof *t->rows);
        L->begin = b; L->end = b + nl;
        R->begin = b + nl; R->end = e;
        L->depth = R->depth = pa->depth + 1;
        n_leaves++;
        /* the smaller child is built, the larger derived */
        if (nl <= nr) { si = li; gi = ri; } else { si = ri; gi = li; }
        S = &t->nodes[si];
        G = &t->nodes[gi];
        memset(&j, 0, sizeof j);
        j.t = t;
        j.find_s = node_splittable(t, S);
        j.find_l = node_splittable(t, G);
        if (j.find_s || j.find_l) {
            j.rs = t->rows + S->begin; j.ns = S->end - S->begin; j.Gs = S->G; j.Hs = S->H;
            j.rl = t->rows + G->begin; j.nl = G->end - G->begin; j.Gl = G->G; j.Hl = G->H;
            if (pa->hist) {
                j.build_s = 1;
                hs = j.find_s ? hist_get(t) : NULL;
                j.hs = hs ? hs : t->scratch[0];
                if (j.find_l) { j.mode_l = 2; j.hp = pa->hist; j.hl = hl = pa->hist; pa->hist = NULL; }
            } else {
                if (j.find_s) { j.build_s = 1; hs = hist_get(t); j.hs = hs ? hs : t->scratch[0]; }
                if (j.find_l) { j.mode_l = 1; hl = hist_get(t); j.hl = hl ? hl : t->scratch[1]; }
            }
            pool_run(t->pool, node_worker, &j, par_ok(t, (j.build_s ? j.ns : 0) + (j.mode_l == 1 ? j.nl : 0)));
            if (j.find_s) {
                S->best = reduce_best(t, t->best_a);
                S->open = S->best.bin >= 0;
            }
            if (j.find_l) {
                G->best = reduce_best(t, t->best_b);
                G->open = G->best.bin >= 0;
            }
            if (S->open && hs) S->hist = hs; else hist_put(t, hs);
            if (G->open && hl) G->hist = hl; else hist_put(t, hl);
        }
        hist_put(t, pa->hist);
        pa->hist = NULL;
    }
    /* leaves: Newton step; release remaining histograms */
    for (k = 0; k < t->n_nodes; k++) {
        tnode *nd = &t->nodes[k];
        hist_put(t, nd->hist);
        nd->hist = NULL;
        nd->open = 0;
        if (nd->feat < 0) {
            double den = nd->H + p->lambda;
            nd->value = den > 0 ? -nd->G / den * p->learning_rate : 0.0;
        }
    }
    return AO_OK;
}

static int grow_arrays(trainer *t, int64_t more_nodes)
{
    if (t->n_trees + 2 > t->cap_trees) {
        int64_t cap = t->cap_trees ? 2 * t->cap_trees : 256;
        int64_t *to = realloc(t->tree_off, (size_t)cap * sizeof *to);
        if (!to) return AO_EMEM;
        t->tree_off = to;
        t->cap_trees = cap;
    }
    if (t->n_tnodes + more_nodes > t->cap_tnodes) {
        int64_t cap = t->cap_tnodes ? t->cap_tnodes : 1024;
        void *q;
        while (cap < t->n_tnodes + more_nodes) cap *= 2;
#define GROW(a) do { if (!(q = realloc(t->a, (size_t)cap * sizeof *t->a))) return AO_EMEM; t->a = q; } while (0)
        GROW(feat); GROW(left); GROW(right); GROW(tbin); GROW(thr); GROW(value); GROW(gain);
#undef GROW
        t->cap_tnodes = cap;
    }
    return AO_OK;
}

/* Appends the grown tree in preorder (root first, children after parents). */
static int store_tree(trainer *t)
{
    int64_t base = t->n_tnodes;
    int32_t *map = NULL, *stack = NULL;
    int sp = 0, next = 0, rc = AO_EMEM;
    if ((rc = grow_arrays(t, t->n_nodes)) < 0) goto ERROR;
    rc = AO_EMEM;
    if (!(map = malloc((size_t)t->n_nodes * sizeof *map))) goto ERROR;
    if (!(stack = malloc((size_t)t->n_nodes * sizeof *stack))) goto ERROR;
    stack[sp++] = 0;
    while (sp > 0) {               /* number nodes in preorder */
        int k = stack[--sp];
        map[k] = next++;
        if (t->nodes[k].feat >= 0) { stack[sp++] = t->nodes[k].right; stack[sp++] = t->nodes[k].left; }
    }
    {
        int k;
        for (k = 0; k < t->n_nodes; k++) {
            const tnode *nd = &t->nodes[k];
            int64_t o = base + map[k];
            if (nd->feat >= 0) {
                t->feat[o] = nd->feat;
                t->tbin[o] = nd->bin;
                t->thr[o] = t->edges_all[(int64_t)nd->feat * (t->p->max_bins - 1) + nd->bin];
                t->left[o] = map[nd->left];
                t->right[o] = map[nd->right];
                t->value[o] = 0.0;
                t->gain[o] = nd->gain;
            } else {
                t->feat[o] = -1;
                t->tbin[o] = -1;
                t->thr[o] = 0.0f;
                t->left[o] = t->right[o] = -1;
                t->value[o] = nd->value;
                t->gain[o] = 0.0;
            }
        }
    }
    t->tree_off[t->n_trees] = base;
    t->n_trees++;
    t->n_tnodes += t->n_nodes;
    t->tree_off[t->n_trees] = t->n_tnodes;
    rc = AO_OK;
ERROR:
    free(map);
    free(stack);
    return rc;
}

static inline double softplus(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/* Weighted mean log loss of raw scores F (n x K). */
static double log_loss(const double *F, const int *y, const double *w, int64_t n, int K, int nc)
{
    double s = 0, ws = 0;
    int64_t i;
    (void)nc;
    for (i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0, l;
        const double *f = F + i * K;
        if (K == 1) l = y[i] ? softplus(-f[0]) : softplus(f[0]);
        else {
            double mx = f[0], se = 0;
            int k;
            for (k = 1; k < K; k++) if (f[k] > mx) mx = f[k];
            for (k = 0; k < K; k++) se += exp(f[k] - mx);
            l = mx + log(se) - f[y[i]];
        }
        s += wi * l;
        ws += wi;
    }
    return ws > 0 ? s / ws : 0.0;
}

static void scores_to_proba(const double *F, int64_t n, int K, double *P)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        const double *f = F + i * K;
        double *q = P + i * K;
        if (K == 1) q[0] = 1.0 / (1.0 + exp(-f[0]));
        else {
            double mx = f[0], se = 0;
            int k;
            for (k = 1; k < K; k++) if (f[k] > mx) mx = f[k];
            for (k = 0; k < K; k++) { q[k] = exp(f[k] - mx); se += q[k]; }
            for (k = 0; k < K; k++) q[k] /= se;
        }
    }
}

/* Scores beyond +-1e30 (log-odds) come only from a diverging run (an
 * absurd learning rate); the loss itself may still be finite there. */
static int scores_exploded(const double *F, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) if (!(fabs(F[i]) <= GBDT_MAX_SCORE)) return 1;
    return 0;
}

static double tree_raw(const int32_t *feat, const int32_t *left, const int32_t *right,
                       const float *thr, const double *value, const float *x)
{
    int32_t k = 0;
    while (feat[k] >= 0) k = x[feat[k]] <= thr[k] ? left[k] : right[k];
    return value[k];
}

static void sample_sorted(ao_rng *rng, int32_t *perm, int64_t n, int64_t m, uint8_t *mark, int32_t *out)
{
    int64_t i, k = 0;
    for (i = 0; i < m; i++) {       /* partial Fisher-Yates */
        int64_t j = i + (int64_t)ao_rng_below(rng, (uint64_t)(n - i));
        int32_t tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
    }
    memset(mark, 0, (size_t)n);
    for (i = 0; i < m; i++) mark[perm[i]] = 1;
    for (i = 0; i < n; i++) if (mark[i]) out[k++] = (int32_t)i;
}

static void trainer_free(trainer *t)
{
    int i;
    free(t->bins); free(t->nbins); free(t->hoff); free(t->edges_all); free(t->usable);
    free(t->w); free(t->F); free(t->P); free(t->gh);
    free(t->rows); free(t->round_rows); free(t->tmp_rows); free(t->perm_rows); free(t->perm_cols); free(t->mark); free(t->sel);
    pool_destroy(t->pool);
    free(t->nodes);
    for (i = 0; i < t->n_free; i++) free(t->free_h[i]);
    free(t->free_h);
    free(t->scratch[0]); free(t->scratch[1]);
    free(t->best_a); free(t->best_b);
    free(t->tree_off); free(t->feat); free(t->left); free(t->right); free(t->tbin);
    free(t->thr); free(t->value); free(t->gain);
}

static int check_matrix(const ao_dense *X, const char *what, ao_err *err)
{
    int64_t i, nn = X->n_rows * X->n_cols;
    for (i = 0; i < nn; i++)
        if (!isfinite(X->data[i]))
            return ao_err_set(err, AO_EDATA, "gbdt: %s feature value not finite (row %lld, column %lld)",
                              what, (long long)(i / X->n_cols), (long long)(i % X->n_cols));
    return AO_OK;
}

/* Builds the model from the first n_rounds rounds of the trainer. */
static ao_gbdt *make_model(const trainer *t, int n_rounds, const double *base,
                           const double *ht, const double *hv, int n_hist)
{
    ao_gbdt *m = calloc(1, sizeof *m);
    int64_t nt = (int64_t)n_rounds * t->K, nn, f, ne = 0;
    if (!m) return NULL;
    m->n_features = (int)t->d;
    m->n_classes = t->nc;
    m->n_out = t->K;
    m->n_rounds = n_rounds;
    m->n_hist = n_hist;
    m->learning_rate = t->p->learning_rate;
    m->n_trees = nt;
    nn = nt ? t->tree_off[nt] : 0;
    m->n_nodes = nn;
    for (f = 0; f < t->d; f++) ne += t->nbins[f] - 1;
    if (!(m->base = malloc((size_t)t->K * sizeof *m->base))) goto ERROR;
    if (!(m->hist_train = malloc((size_t)(n_hist + 1) * sizeof(double)))) goto ERROR;
    if (!(m->hist_valid = malloc((size_t)(n_hist + 1) * sizeof(double)))) goto ERROR;
    if (!(m->tree_off = malloc((size_t)(nt + 1) * sizeof *m->tree_off))) goto ERROR;
    if (!(m->feat = malloc((size_t)(nn + 1) * sizeof *m->feat))) goto ERROR;
    if (!(m->left = malloc((size_t)(nn + 1) * sizeof *m->left))) goto ERROR;
    if (!(m->right = malloc((size_t)(nn + 1) * sizeof *m->right))) goto ERROR;
    if (!(m->thr = malloc((size_t)(nn + 1) * sizeof *m->thr))) goto ERROR;
    if (!(m->value = malloc((size_t)(nn + 1) * sizeof *m->value))) goto ERROR;
    if (!(m->gain = malloc((size_t)(nn + 1) * sizeof *m->gain))) goto ERROR;
    if (!(m->edge_off = malloc((size_t)(t->d + 1) * sizeof *m->edge_off))) goto ERROR;
    if (!(m->edges = malloc((size_t)(ne + 1) * sizeof *m->edges))) goto ERROR;
    memcpy(m->base, base, (size_t)t->K * sizeof *base);
    if (n_hist) {
        memcpy(m->hist_train, ht, (size_t)n_hist * sizeof *ht);
        memcpy(m->hist_valid, hv, (size_t)n_hist * sizeof *hv);
    }
    if (nt) memcpy(m->tree_off, t->tree_off, (size_t)(nt + 1) * sizeof *m->tree_off);
    else m->tree_off[0] = 0;
    if (nn) {
        memcpy(m->feat, t->feat, (size_t)nn * sizeof *m->feat);
        memcpy(m->left, t->left, (size_t)nn * sizeof *m->left);
        memcpy(m->right, t->right, (size_t)nn * sizeof *m->right);
        memcpy(m->thr, t->thr, (size_t)nn * sizeof *m->thr);
        memcpy(m->value, t->value, (size_t)nn * sizeof *m->value);
        memcpy(m->gain, t->gain, (size_t)nn * sizeof *m->gain);
    }
    ne = 0;
    for (f = 0; f < t->d; f++) {
        int nb = t->nbins[f];
        m->edge_off[f] = (int32_t)ne;
        if (nb > 1) memcpy(m->edges + ne, t->edges_all + f * (t->p->max_bins - 1), (size_t)(nb - 1) * sizeof(float));
        ne += nb - 1;
    }
    m->edge_off[t->d] = (int32_t)ne;
    return m;
ERROR:
    ao_gbdt_destroy(m);
    return NULL;
}

int ao_gbdt_fit(const ao_gbdt_params *p, const ao_dense *X, const int *y, int n_classes,
                const double *sample_weight, const ao_dense *X_valid, const int *y_valid,
                ao_gbdt **out, ao_err *err)
{
    trainer T, *t = &T;
    bin_job bj;
    int64_t n, d, nv = 0, i, f;
    int K, rc = AO_EMEM, round, best_round = -1, rounds_done = 0, n_hist = 0, stopped = 0, diverged = 0;
    int nth, kept;
    double *cw = NULL, *base = NULL, *Fv = NULL, *wv = NULL, *ht = NULL, *hv = NULL;
    double best_vl = INFINITY;
    int64_t *sample = NULL;
    ao_gbdt *m = NULL;

    memset(t, 0, sizeof *t);
    memset(&bj, 0, sizeof bj);
    if (out) *out = NULL;
    if (!out || !X || !y) return ao_err_set(err, AO_EUSAGE, "gbdt: missing argument");
    if ((rc = check_params(p, n_classes, err)) < 0) return rc;
    n = X->n_rows;
    d = X->n_cols;
    if (n < 1 || d < 1) return ao_err_set(err, AO_EDATA, "gbdt: empty training matrix");
    if (n > INT32_MAX || d > INT32_MAX) return ao_err_set(err, AO_EDATA, "gbdt: training matrix too large");
    if (X_valid) {
        if (!y_valid) return ao_err_set(err, AO_EUSAGE, "gbdt: validation labels missing");
        if (X_valid->n_cols != d)
            return ao_err_set(err, AO_EDATA, "gbdt: validation set has %lld features, training set %lld",
                              (long long)X_valid->n_cols, (long long)d);
        nv = X_valid->n_rows;
        if ((rc = check_matrix(X_valid, "validation", err)) < 0) return rc;
        for (i = 0; i < nv; i++)
            if (y_valid[i] < 0 || y_valid[i] >= n_classes)
                return ao_err_set(err, AO_EDATA, "gbdt: validation label %d out of range (row %lld)", y_valid[i], (long long)i);
    }
    if ((rc = check_matrix(X, "training", err)) < 0) return rc;
    for (i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= n_classes)
            return ao_err_set(err, AO_EDATA, "gbdt: label %d out of range (row %lld)", y[i], (long long)i);
    if (sample_weight)
        for (i = 0; i < n; i++)
            if (!(sample_weight[i] >= 0) || !isfinite(sample_weight[i]))
                return ao_err_set(err, AO_EDATA, "gbdt: sample weight %lld is negative or not finite", (long long)i);

    K = n_classes == 2 ? 1 : n_classes;
    t->p = p;
    t->n = n;
    t->d = d;
    t->K = K;
    t->nc = n_classes;
    nth = p->threads;
    rc = AO_EMEM;
    ao_rng_seed(&t->rng, p->seed);

    /* class and sample weights */
    if (!(cw = malloc((size_t)n_classes * sizeof *cw))) goto ERROR;
    {
        int64_t *cnt = calloc((size_t)n_classes, sizeof *cnt);
        int k;
        if (!cnt) goto ERROR;
        for (i = 0; i < n; i++) cnt[y[i]]++;
        for (k = 0; k < n_classes; k++) {
            if (p->class_weight_mode == AO_GBDT_CW_BALANCED) cw[k] = cnt[k] ? (double)n / ((double)n_classes * (double)cnt[k]) : 1.0;
            else if (p->class_weight_mode == AO_GBDT_CW_EXPLICIT) cw[k] = p->class_weight[k];
            else cw[k] = 1.0;
        }
        free(cnt);
    }
    if (!(t->w = malloc((size_t)n * sizeof *t->w))) goto ERROR;
    {
        double ws = 0;
        for (i = 0; i < n; i++) { t->w[i] = (sample_weight ? sample_weight[i] : 1.0) * cw[y[i]]; ws += t->w[i]; }
        if (!(ws > 0) || !isfinite(ws)) { rc = ao_err_set(err, AO_EDATA, "gbdt: total training weight is zero or not finite"); goto ERROR; }
    }

    /* binning */
    if (!(t->pool = pool_create(nth))) goto ERROR;
    bj.X = X;
    bj.max_bins = p->max_bins;
    bj.m = n;
    if (n > GBDT_BIN_SAMPLE) {
        int32_t *perm = malloc((size_t)n * sizeof *perm), *pick = malloc((size_t)GBDT_BIN_SAMPLE * sizeof *pick);
        uint8_t *mk = malloc((size_t)n);
        if (perm && pick && mk && (sample = malloc((size_t)GBDT_BIN_SAMPLE * sizeof *sample))) {
            for (i = 0; i < n; i++) perm[i] = (int32_t)i;
            sample_sorted(&t->rng, perm, n, GBDT_BIN_SAMPLE, mk, pick);
            for (i = 0; i < GBDT_BIN_SAMPLE; i++) sample[i] = pick[i];
        }
        free(perm); free(pick); free(mk);
        if (!sample) goto ERROR;
        bj.sample = sample;
        bj.m = GBDT_BIN_SAMPLE;
    }
    if (!(bj.keys = calloc((size_t)nth, sizeof *bj.keys))) goto ERROR;
    if (!(bj.tmp = calloc((size_t)nth, sizeof *bj.tmp))) goto ERROR;
    for (i = 0; i < nth; i++) {
        if (!(bj.keys[i] = malloc((size_t)bj.m * sizeof(uint32_t)))) goto ERROR;
        if (!(bj.tmp[i] = malloc((size_t)bj.m * sizeof(uint32_t)))) goto ERROR;
    }
    if (!(t->edges_all = malloc((size_t)d * (size_t)(p->max_bins - 1) * sizeof(float)))) goto ERROR;
    if (!(t->nbins = malloc((size_t)d * sizeof *t->nbins))) goto ERROR;
    if (!(t->bins = malloc((size_t)d * (size_t)n))) goto ERROR;
    bj.edges_all = t->edges_all;
    bj.n_edges = t->nbins;
    bj.bins = t->bins;
    pool_run(t->pool, bin_worker, &bj, n * d >= GBDT_PAR_MIN_WORK);
    if (!(t->hoff = malloc((size_t)d * sizeof *t->hoff))) goto ERROR;
    if (!(t->usable = malloc((size_t)d * sizeof *t->usable))) goto ERROR;
    for (f = 0; f < d; f++) {
        t->nbins[f] += 1;       /* edges -> bins */
        t->hoff[f] = t->total_bins;
        t->total_bins += t->nbins[f];
        if (t->nbins[f] >= 2) t->usable[t->n_usable++] = (int32_t)f;
    }

    /* working arrays */
    if (!(t->F = malloc((size_t)n * K * sizeof *t->F))) goto ERROR;
    if (!(t->P = malloc((size_t)n * K * sizeof *t->P))) goto ERROR;
    if (!(t->gh = malloc((size_t)n * 2 * sizeof *t->gh))) goto ERROR;
    if (!(t->rows = malloc((size_t)n * sizeof *t->rows))) goto ERROR;
    if (!(t->round_rows = malloc((size_t)n * sizeof *t->round_rows))) goto ERROR;
    if (!(t->tmp_rows = malloc((size_t)n * sizeof *t->tmp_rows))) goto ERROR;
    if (!(t->perm_rows = malloc((size_t)n * sizeof *t->perm_rows))) goto ERROR;
    if (!(t->perm_cols = malloc((size_t)(d + 1) * sizeof *t->perm_cols))) goto ERROR;
    if (!(t->mark = malloc((size_t)(n > d ? n : d)))) goto ERROR;
    if (!(t->sel = malloc((size_t)(d + 1) * sizeof *t->sel))) goto ERROR;
    if (!(t->best_a = malloc((size_t)(d + 1) * sizeof *t->best_a))) goto ERROR;
    if (!(t->best_b = malloc((size_t)(d + 1) * sizeof *t->best_b))) goto ERROR;
    if (!(t->scratch[0] = malloc((size_t)t->total_bins * sizeof(hbin)))) goto ERROR;
    if (!(t->scratch[1] = malloc((size_t)t->total_bins * sizeof(hbin)))) goto ERROR;
    {
        size_t per = (size_t)t->total_bins * sizeof(hbin);
        int64_t lim = (int64_t)(GBDT_HIST_BUDGET / (per ? per : 1));
        int64_t want = p->max_leaves > 0 ? p->max_leaves + 1 : (int64_t)1 << 20;
        if (p->max_depth > 0 && p->max_depth < 20 && ((int64_t)1 << p->max_depth) + 1 < want) want = ((int64_t)1 << p->max_depth) + 1;
        if (lim < 1) lim = 1;
        t->max_alloc = (int)(want < lim ? want : lim);
        if (!(t->free_h = malloc((size_t)t->max_alloc * sizeof *t->free_h))) goto ERROR;
    }
    for (i = 0; i < n; i++) t->perm_rows[i] = (int32_t)i;
    for (i = 0; i < t->n_usable; i++) t->perm_cols[i] = t->usable[i];

    /* initial scores: weighted log-odds / log class priors */
    if (!(base = malloc((size_t)K * sizeof *base))) goto ERROR;
    {
        double *cls = calloc((size_t)n_classes, sizeof *cls), ws = 0;
        int k;
        if (!cls) goto ERROR;
        for (i = 0; i < n; i++) { cls[y[i]] += t->w[i]; ws += t->w[i]; }
        for (k = 0; k < n_classes; k++) {
            cls[k] /= ws;
            if (cls[k] < 1e-12) cls[k] = 1e-12;
            if (cls[k] > 1 - 1e-12) cls[k] = 1 - 1e-12;
        }
        if (K == 1) base[0] = log(cls[1] / cls[0]);
        else for (k = 0; k < K; k++) base[k] = log(cls[k]);
        free(cls);
    }
    for (i = 0; i < n; i++) memcpy(t->F + i * K, base, (size_t)K * sizeof *base);
    if (nv > 0) {
        if (!(Fv = malloc((size_t)nv * K * sizeof *Fv))) goto ERROR;
        if (!(wv = malloc((size_t)nv * sizeof *wv))) goto ERROR;
        for (i = 0; i < nv; i++) { memcpy(Fv + i * K, base, (size_t)K * sizeof *base); wv[i] = cw[y_valid[i]]; }
    }
    if (!(ht = malloc((size_t)p->n_estimators * sizeof *ht))) goto ERROR;
    if (!(hv = malloc((size_t)p->n_estimators * sizeof *hv))) goto ERROR;

    /* boosting */
    for (round = 0; round < p->n_estimators; round++) {
        int k;
        double tl, vl = NAN;
        if (p->subsample < 1.0) {
            int64_t m_rows = (int64_t)floor(p->subsample * (double)n + 0.5);
            if (m_rows < 1) m_rows = 1;
            sample_sorted(&t->rng, t->perm_rows, n, m_rows, t->mark, t->round_rows);
            t->n_sampled = m_rows;
        } else {
            for (i = 0; i < n; i++) t->round_rows[i] = (int32_t)i;
            t->n_sampled = n;
        }
        scores_to_proba(t->F, n, K, t->P);
        for (k = 0; k < K; k++) {
            int64_t tb;
            /* gradients of class k */
            for (i = 0; i < n; i++) {
                double pk = t->P[i * K + k], yk = K == 1 ? (double)y[i] : (double)(y[i] == k);
                double hh = pk * (1.0 - pk);
                t->gh[2 * i] = t->w[i] * (pk - yk);
                t->gh[2 * i + 1] = t->w[i] * (hh > 1e-16 ? hh : 1e-16);
            }
            /* features for this tree */
            if (p->colsample < 1.0 && t->n_usable > 0) {
                int64_t mc = (int64_t)floor(p->colsample * (double)t->n_usable + 0.5), q = 0;
                if (mc < 1) mc = 1;
                for (i = 0; i < mc; i++) {
                    int64_t j = i + (int64_t)ao_rng_below(&t->rng, (uint64_t)(t->n_usable - i));
                    int32_t tmp = t->perm_cols[i]; t->perm_cols[i] = t->perm_cols[j]; t->perm_cols[j] = tmp;
                }
                memset(t->mark, 0, (size_t)d);
                for (i = 0; i < mc; i++) t->mark[t->perm_cols[i]] = 1;
                for (i = 0; i < d; i++) if (t->mark[i]) t->sel[q++] = (int32_t)i;
                t->n_sel = (int)q;
            } else {
                memcpy(t->sel, t->usable, (size_t)t->n_usable * sizeof *t->sel);
                t->n_sel = t->n_usable;
            }
            memcpy(t->rows, t->round_rows, (size_t)t->n_sampled * sizeof *t->rows);
            if (p->deadline > 0 && ao_now() > p->deadline) { stopped = 1; break; }
            if ((rc = grow_tree(t)) < 0) goto ERROR;
            if ((rc = store_tree(t)) < 0) goto ERROR;
            tb = t->tree_off[t->n_trees - 1];
            /* update train scores through the bins, validation through raw values */
            for (i = 0; i < n; i++) {
                int32_t nd = 0;
                while (t->feat[tb + nd] >= 0)
                    nd = t->bins[(int64_t)t->feat[tb + nd] * n + i] <= t->tbin[tb + nd] ? t->left[tb + nd] : t->right[tb + nd];
                t->F[i * K + k] += t->value[tb + nd];
            }
            for (i = 0; i < nv; i++)
                Fv[i * K + k] += tree_raw(t->feat + tb, t->left + tb, t->right + tb, t->thr + tb, t->value + tb,
                                          X_valid->data + i * d);
        }
        if (stopped) break;   /* the time limit cut this round: its trees are not kept */
        tl = log_loss(t->F, y, t->w, n, K, n_classes);
        if (nv > 0) vl = log_loss(Fv, y_valid, wv, nv, K, n_classes);
        ht[n_hist] = tl;
        hv[n_hist] = vl;
        n_hist++;
        if (!isfinite(tl) || (nv > 0 && !isfinite(vl)) || scores_exploded(t->F, n * K) || scores_exploded(Fv, nv * K)) {
            diverged = 1;
            if (p->progress) p->progress(p->progress_ctx, round, tl, vl);
            break;
        }
        rounds_done = round + 1;
        if (nv > 0 && vl < best_vl) { best_vl = vl; best_round = round; }
        if (p->progress && p->progress(p->progress_ctx, round, tl, vl)) { stopped = 1; break; }
        if (nv > 0 && p->early_stopping_rounds > 0 && round - best_round >= p->early_stopping_rounds) break;
    }
    kept = rounds_done;
    if (nv > 0 && p->early_stopping_rounds > 0 && best_round >= 0) kept = best_round + 1;
    if (!(m = make_model(t, kept, base, ht, hv, n_hist))) goto ERROR;
    m->best_iter = nv > 0 ? best_round : kept - 1;
    m->stopped = stopped;
    m->diverged = diverged;
    *out = m;
    m = NULL;
    rc = AO_OK;
    if (diverged) rc = ao_err_set(err, AO_GBDT_EDIVERGED, "gbdt: loss or scores became NaN or infinite in round %d; %d rounds kept",
                                  n_hist, kept);
ERROR:
    if (rc == AO_EMEM) ao_err_set(err, AO_EMEM, "gbdt: out of memory");
    if (bj.keys) for (i = 0; i < nth; i++) free(bj.keys[i]);
    if (bj.tmp) for (i = 0; i < nth; i++) free(bj.tmp[i]);
    free(bj.keys); free(bj.tmp); free(sample);
    free(cw); free(base); free(Fv); free(wv); free(ht); free(hv);
    trainer_free(t);
    ao_gbdt_destroy(m);
    return rc;
}

/* ---------------------------------------------------------------- */
/* Prediction and accessors */

int ao_gbdt_predict_raw(const ao_gbdt *m, const ao_dense *X, double *score)
{
    int64_t i, i0, t, d;
    int K;
    if (!m || !X || !score) return AO_EUSAGE;
    if (X->n_cols != m->n_features) return AO_EUSAGE;
    K = m->n_out;
    d = X->n_cols;
    for (i = 0; i < X->n_rows; i++) memcpy(score + i * K, m->base, (size_t)K * sizeof *score);
    /* blocks of rows against one tree at a time, so the tree stays in cache */
    for (i0 = 0; i0 < X->n_rows; i0 += 128) {
        int64_t i1 = i0 + 128 < X->n_rows ? i0 + 128 : X->n_rows;
        for (t = 0; t < m->n_trees; t++) {
            int64_t b = m->tree_off[t];
            int k = (int)(t % K);
            for (i = i0; i < i1; i++)
                score[i * K + k] += tree_raw(m->feat + b, m->left + b, m->right + b, m->thr + b, m->value + b,
                                             X->data + i * d);
        }
    }
    return AO_OK;
}

int ao_gbdt_predict_proba(const ao_gbdt *m, const ao_dense *X, double *proba)
{
    int64_t i;
    int rc;
    if (!m || !X || !proba) return AO_EUSAGE;
    if ((rc = ao_gbdt_predict_raw(m, X, proba)) < 0) return rc;
    if (m->n_out == 1) {
        for (i = X->n_rows - 1; i >= 0; i--) {    /* spread n scores to n x 2 in place */
            double pr = 1.0 / (1.0 + exp(-proba[i]));
            proba[2 * i + 1] = pr;
            proba[2 * i] = 1.0 - pr;
        }
    } else {
        scores_to_proba(proba, X->n_rows, m->n_out, proba);
    }
    return AO_OK;
}

void ao_gbdt_destroy(ao_gbdt *m)
{
    if (!m) return;
    free(m->base); free(m->hist_train); free(m->hist_valid);
    free(m->tree_off); free(m->feat); free(m->left); free(m->right);
    free(m->thr); free(m->value); free(m->gain);
    free(m->edge_off); free(m->edges);
    free(m);
}

int ao_gbdt_n_features(const ao_gbdt *m) { return m ? m->n_features : 0; }
int ao_gbdt_n_classes(const ao_gbdt *m) { return m ? m->n_classes : 0; }
int ao_gbdt_n_outputs(const ao_gbdt *m) { return m ? m->n_out : 0; }
int ao_gbdt_n_rounds(const ao_gbdt *m) { return m ? m->n_rounds : 0; }
int ao_gbdt_best_iteration(const ao_gbdt *m) { return m ? m->best_iter : -1; }
int ao_gbdt_n_history(const ao_gbdt *m) { return m ? m->n_hist : 0; }
int ao_gbdt_stopped(const ao_gbdt *m) { return m ? m->stopped : 0; }
int ao_gbdt_diverged(const ao_gbdt *m) { return m ? m->diverged : 0; }
int64_t ao_gbdt_n_nodes(const ao_gbdt *m) { return m ? m->n_nodes : 0; }

double ao_gbdt_train_loss(const ao_gbdt *m, int r)
{
    return m && r >= 0 && r < m->n_hist ? m->hist_train[r] : NAN;
}

double ao_gbdt_valid_loss(const ao_gbdt *m, int r)
{
    return m && r >= 0 && r < m->n_hist ? m->hist_valid[r] : NAN;
}

int ao_gbdt_feature_importance(const ao_gbdt *m, double *gain)
{
    int64_t k;
    if (!m || !gain) return AO_EUSAGE;
    memset(gain, 0, (size_t)m->n_features * sizeof *gain);
    for (k = 0; k < m->n_nodes; k++) if (m->feat[k] >= 0) gain[m->feat[k]] += m->gain[k];
    return AO_OK;
}

/* ---------------------------------------------------------------- */
/* Serialisation */

int ao_gbdt_save(const ao_gbdt *m, ao_buf *b)
{
    int64_t i;
    if (!m || !b) return AO_EUSAGE;
    ao_buf_u32(b, GBDT_MAGIC);
    ao_buf_u32(b, GBDT_VERSION);
    ao_buf_i32(b, m->n_features);
    ao_buf_i32(b, m->n_classes);
    ao_buf_i32(b, m->n_out);
    ao_buf_i32(b, m->n_rounds);
    ao_buf_i32(b, m->best_iter);
    ao_buf_i32(b, m->n_hist);
    ao_buf_i32(b, m->stopped);
    ao_buf_i32(b, m->diverged);
    ao_buf_f64(b, m->learning_rate);
    ao_buf_f64s(b, m->base, (size_t)m->n_out);
    ao_buf_f64s(b, m->hist_train, (size_t)m->n_hist);
    ao_buf_f64s(b, m->hist_valid, (size_t)m->n_hist);
    for (i = 0; i <= m->n_features; i++) ao_buf_i32(b, m->edge_off[i]);
    ao_buf_f32s(b, m->edges, (size_t)m->edge_off[m->n_features]);
    ao_buf_u64(b, (uint64_t)m->n_nodes);
    for (i = 0; i <= m->n_trees; i++) ao_buf_u64(b, (uint64_t)m->tree_off[i]);
    for (i = 0; i < m->n_nodes; i++) {
        ao_buf_i32(b, m->feat[i]);
        ao_buf_i32(b, m->left[i]);
        ao_buf_i32(b, m->right[i]);
        ao_buf_f32(b, m->thr[i]);
        ao_buf_f64(b, m->value[i]);
        ao_buf_f64(b, m->gain[i]);
    }
    return b->oom ? AO_EMEM : AO_OK;
}

static int fits(const ao_cursor *c, uint64_t count, size_t size)
{
    return count <= (uint64_t)(c->len - c->pos) / size;
}

int ao_gbdt_load(ao_cursor *c, ao_gbdt **out, ao_err *err)
{
    ao_gbdt *m = NULL;
    uint32_t magic, version;
    uint64_t nn, u;
    int32_t v[8];
    int64_t i, t, ne;
    int rc = AO_EDATA, k;
    if (out) *out = NULL;
    if (!c || !out) return ao_err_set(err, AO_EUSAGE, "gbdt: missing argument");
    if (ao_cur_u32(c, &magic) < 0 || magic != GBDT_MAGIC) { ao_err_set(err, AO_EDATA, "gbdt model: bad magic"); goto ERROR; }
    if (ao_cur_u32(c, &version) < 0 || version != GBDT_VERSION) {
        ao_err_set(err, AO_EDATA, "gbdt model: unsupported version"); goto ERROR;
    }
    for (k = 0; k < 8; k++) if (ao_cur_i32(c, &v[k]) < 0) goto TRUNC;
    if (!(m = calloc(1, sizeof *m))) { rc = AO_EMEM; goto ERROR; }
    m->n_features = v[0]; m->n_classes = v[1]; m->n_out = v[2]; m->n_rounds = v[3];
    m->best_iter = v[4]; m->n_hist = v[5]; m->stopped = v[6]; m->diverged = v[7];
    if (m->n_features < 1 || m->n_classes < 2 || m->n_out != (m->n_classes == 2 ? 1 : m->n_classes) ||
        m->n_rounds < 0 || m->n_hist < m->n_rounds || m->best_iter < -1 || m->best_iter >= (m->n_hist > 0 ? m->n_hist : 1)) {
        ao_err_set(err, AO_EDATA, "gbdt model: inconsistent header"); goto ERROR;
    }
    if (ao_cur_f64(c, &m->learning_rate) < 0) goto TRUNC;
    if (!isfinite(m->learning_rate)) { ao_err_set(err, AO_EDATA, "gbdt model: non-finite learning rate"); goto ERROR; }
    if (!fits(c, (uint64_t)m->n_out + 2u * (uint64_t)m->n_hist + (uint64_t)m->n_features, 4)) goto TRUNC;
    m->n_trees = (int64_t)m->n_rounds * m->n_out;
    rc = AO_EMEM;
    if (!(m->base = malloc((size_t)m->n_out * sizeof *m->base))) goto ERROR;
    if (!(m->hist_train = malloc((size_t)(m->n_hist + 1) * sizeof(double)))) goto ERROR;
    if (!(m->hist_valid = malloc((size_t)(m->n_hist + 1) * sizeof(double)))) goto ERROR;
    if (!(m->edge_off = malloc((size_t)(m->n_features + 1) * sizeof *m->edge_off))) goto ERROR;
    rc = AO_EDATA;
    if (ao_cur_f64s(c, m->base, (size_t)m->n_out) < 0) goto TRUNC;
    for (k = 0; k < m->n_out; k++)
        if (!isfinite(m->base[k])) { ao_err_set(err, AO_EDATA, "gbdt model: non-finite base score"); goto ERROR; }
    if (ao_cur_f64s(c, m->hist_train, (size_t)m->n_hist) < 0) goto TRUNC;
    if (ao_cur_f64s(c, m->hist_valid, (size_t)m->n_hist) < 0) goto TRUNC;
    for (i = 0; i <= m->n_features; i++) {
        if (ao_cur_i32(c, &m->edge_off[i]) < 0) goto TRUNC;
        if (m->edge_off[i] < (i ? m->edge_off[i - 1] : 0) || (i == 0 && m->edge_off[0] != 0) ||
            (i && m->edge_off[i] - m->edge_off[i - 1] > 254)) {
            ao_err_set(err, AO_EDATA, "gbdt model: bad bin edge offsets"); goto ERROR;
        }
    }
    ne = m->edge_off[m->n_features];
    if (!fits(c, (uint64_t)ne, 4)) goto TRUNC;
    rc = AO_EMEM;
    if (!(m->edges = malloc((size_t)(ne + 1) * sizeof *m->edges))) goto ERROR;
    rc = AO_EDATA;
    if (ao_cur_f32s(c, m->edges, (size_t)ne) < 0) goto TRUNC;
    if (ao_cur_u64(c, &nn) < 0) goto TRUNC;
    if (!fits(c, nn, 32) || !fits(c, (uint64_t)m->n_trees + 1, 8)) goto TRUNC;
    m->n_nodes = (int64_t)nn;
    rc = AO_EMEM;
    if (!(m->tree_off = malloc((size_t)(m->n_trees + 1) * sizeof *m->tree_off))) goto ERROR;
    if (!(m->feat = malloc((size_t)(nn + 1) * sizeof *m->feat))) goto ERROR;
    if (!(m->left = malloc((size_t)(nn + 1) * sizeof *m->left))) goto ERROR;
    if (!(m->right = malloc((size_t)(nn + 1) * sizeof *m->right))) goto ERROR;
    if (!(m->thr = malloc((size_t)(nn + 1) * sizeof *m->thr))) goto ERROR;
    if (!(m->value = malloc((size_t)(nn + 1) * sizeof *m->value))) goto ERROR;
    if (!(m->gain = malloc((size_t)(nn + 1) * sizeof *m->gain))) goto ERROR;
    rc = AO_EDATA;
    for (i = 0; i <= m->n_trees; i++) {
        if (ao_cur_u64(c, &u) < 0) goto TRUNC;
        m->tree_off[i] = (int64_t)u;
        if (u > nn || (i == 0 && u != 0) || (i > 0 && m->tree_off[i] <= m->tree_off[i - 1])) {
            ao_err_set(err, AO_EDATA, "gbdt model: bad tree offsets"); goto ERROR;
        }
    }
    if ((uint64_t)m->tree_off[m->n_trees] != nn) { ao_err_set(err, AO_EDATA, "gbdt model: bad tree offsets"); goto ERROR; }
    for (i = 0; i < (int64_t)nn; i++) {
        if (ao_cur_i32(c, &m->feat[i]) < 0 || ao_cur_i32(c, &m->left[i]) < 0 || ao_cur_i32(c, &m->right[i]) < 0 ||
            ao_cur_f32(c, &m->thr[i]) < 0 || ao_cur_f64(c, &m->value[i]) < 0 || ao_cur_f64(c, &m->gain[i]) < 0)
            goto TRUNC;
    }
    /* structure: children lie after their parent inside the same tree */
    for (t = 0; t < m->n_trees; t++) {
        int64_t b = m->tree_off[t], e = m->tree_off[t + 1];
        for (i = b; i < e; i++) {
            int64_t loc = i - b, size = e - b;
            if (m->feat[i] < -1 || m->feat[i] >= m->n_features ||
                (m->feat[i] >= 0 && (m->left[i] <= loc || m->left[i] >= size || m->right[i] <= loc ||
                                     m->right[i] >= size || isnan(m->thr[i]))) ||
                (m->feat[i] < 0 && !isfinite(m->value[i]))) {
                ao_err_set(err, AO_EDATA, "gbdt model: malformed tree %lld", (long long)t); goto ERROR;
            }
        }
    }
    *out = m;
    return AO_OK;
TRUNC:
    rc = ao_err_set(err, AO_EDATA, "gbdt model: truncated payload");
ERROR:
    if (rc == AO_EMEM) ao_err_set(err, AO_EMEM, "gbdt model: out of memory");
    ao_gbdt_destroy(m);
    return rc < -1 ? rc : AO_EDATA;
}
