/* cnn.c — 1-D CNN on BLAS: im2col + sgemm convolutions in a channels-last
 * layout, ReLU, max/avg pooling, global pooling or flatten, dropout, dense
 * layers, softmax cross-entropy, Adam; see cnn.h for the contract. */
/* The element-wise loops below are written branch-free so that GCC can
 * vectorise them; at -O2 its cheap cost model leaves loops with a runtime
 * trip count scalar, so this file asks for the full vectoriser. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "agentomics/cnn.h"
#include "agentomics/log.h"
#include "agentomics/rng.h"

#define CNN_FORMAT_VERSION 1u
#define CNN_EVAL_BATCH 128           /* most samples per prediction chunk */
#define CNN_EVAL_COL_FLOATS (4 << 20) /* im2col buffer budget per prediction thread */
#define CNN_MICRO_COL_FLOATS (1 << 20) /* the same for a training micro-batch */
#define CNN_MAX_GRAD_BATCH 4096
#define MAXB AO_CNN_MAX_BLOCKS
/* A mini-batch mean cross-entropy above this many nats means logit gaps
 * of ~10^4: the weights have blown up even if floats did not overflow
 * yet (Adam with a huge step keeps the loss finite but meaningless). */
#define CNN_DIVERGED_LOSS 1e4

struct ao_cnn {
    ao_cnn_arch arch;
    int C0, L0, K;                /* input channels, input length, classes */
    int nb;                       /* conv blocks */
    int cin[MAXB], lin[MAXB], lout[MAXB], kc[MAXB];
    int Clast, Llast;             /* shape after the last block */
    int G, H;                     /* pooled features, hidden units (0: none) */
    int64_t offW[MAXB], offb[MAXB], offW1, offb1, offW2, offb2, np;
    float *w;                     /* all parameters */
    int rc_average;
};

/* Activations and gradients for a batch of up to B samples. */
typedef struct cnn_ws {
    int B, train;
    float *x0;                    /* [B][L0][C0] */
    float *col[MAXB];             /* [B*lin][kc]; all alias one buffer in eval mode */
    float *act[MAXB];             /* [B][lin][F] after ReLU */
    float *pool[MAXB];            /* [B][lout][F] or NULL */
    int32_t *pidx[MAXB];          /* argmax positions of max pooling */
    float *g;                     /* [B][G] pooled features (after dropout) */
    int32_t *gidx;                /* [B][Clast] argmax of global max */
    const float *gmask;           /* [B][G] dropout masks, not owned; NULL: none */
    float *h;                     /* [B][H] */
    const float *hmask;           /* [B][H] not owned */
    float *z;                     /* [B][K] logits, then probabilities */
    float *dact[MAXB], *dpool[MAXB], *dcol, *dg, *dh, *dz;
    float *colbuf;
    int dry;                      /* only count: no buffer is allocated */
    double bytes;                 /* what the buffers take (or would) */
} cnn_ws;

/* ---------------------------------------------------------------- arch */

/* Tuned on gue_prom_300_tata (train; dev for early stopping and model
 * choice): average pooling keeps local composition, and flattening keeps
 * position, which this task needs (TATA box near -30, partly shuffled
 * negatives); global max/avg pooling of the same convolutions stalled at
 * a validation accuracy of ~0.6. 64x9 conv, avg-pool 4, 64x9 conv,
 * avg-pool 4, flatten (19 x 64), dropout 0.3, dense 64, softmax. */
void ao_cnn_arch_default(ao_cnn_arch *a)
{
    memset(a, 0, sizeof *a);
    a->n_blocks = 2;
    a->blocks[0] = (ao_cnn_block){64, 9, 1, AO_CNN_POOL_AVG, 4};
    a->blocks[1] = (ao_cnn_block){64, 9, 1, AO_CNN_POOL_AVG, 4};
    a->global_pool = AO_CNN_FLATTEN;
    a->dropout = 0.3f;
    a->hidden = 64;
    a->hidden_dropout = 0.0f;
}

void ao_cnn_train_params_default(ao_cnn_train_params *p)
{
    memset(p, 0, sizeof *p);
    p->lr = 1e-3;
    p->beta1 = 0.9;
    p->beta2 = 0.999;
    p->eps = 1e-8;
    p->weight_decay = 0.0;
    p->decoupled_wd = 1;
    p->batch_size = 32;
    p->max_epochs = 60;
    p->patience = 8;
    p->min_delta = 0.0;
    p->lr_patience = 3;
    p->lr_factor = 0.3;
    p->schedule = AO_CNN_SCHED_PLATEAU;
    p->rc_augment = 1;
    p->rc_average = 1;
    p->class_weight = AO_CNN_CW_NONE;
    p->seed = 1;
    p->threads = 1;
    p->time_limit = 0;
}

int ao_cnn_arch_check(const ao_cnn_arch *a, int in_channels, int in_len, int n_classes, ao_err *err)
{
    int i, L = in_len;
    int64_t feat;
    if (!a) return ao_err_set(err, AO_EUSAGE, "cnn: no architecture");
    if (in_channels < 1 || in_len < 1)
        return ao_err_set(err, AO_EUSAGE, "cnn: input shape %d x %d is empty", in_channels, in_len);
    /* bounds that keep every int product of the layout (width x channels,
     * positions x filters) in range */
    if (in_channels > 65536 || in_len > (1 << 24))
        return ao_err_set(err, AO_EUSAGE, "cnn: input shape %d x %d is too large (at most 65536 x %d)", in_channels, in_len, 1 << 24);
    if (n_classes < 2) return ao_err_set(err, AO_EUSAGE, "cnn: need at least 2 classes, got %d", n_classes);
    if (a->n_blocks < 1 || a->n_blocks > MAXB)
        return ao_err_set(err, AO_EUSAGE, "cnn: n_blocks must be 1..%d, got %d", MAXB, a->n_blocks);
    for (i = 0; i < a->n_blocks; i++) {
        const ao_cnn_block *b = &a->blocks[i];
        if (b->filters < 1 || b->filters > 65536)
            return ao_err_set(err, AO_EUSAGE, "cnn: block %d: filters must be 1..65536, got %d", i, b->filters);
        if (b->width < 1 || b->width > 4096)
            return ao_err_set(err, AO_EUSAGE, "cnn: block %d: width must be 1..4096, got %d", i, b->width);
        if (b->dilation < 1 || (int64_t)b->dilation * (b->width - 1) > 1000000)
            return ao_err_set(err, AO_EUSAGE, "cnn: block %d: bad dilation %d", i, b->dilation);
        if (b->pool != AO_CNN_POOL_NONE && b->pool != AO_CNN_POOL_MAX && b->pool != AO_CNN_POOL_AVG)
            return ao_err_set(err, AO_EUSAGE, "cnn: block %d: unknown pooling %d", i, b->pool);
        if (b->pool != AO_CNN_POOL_NONE) {
            if (b->pool_size < 1)
                return ao_err_set(err, AO_EUSAGE, "cnn: block %d: pool_size must be >= 1, got %d", i, b->pool_size);
            L = (L + b->pool_size - 1) / b->pool_size;
        }
    }
    if (a->global_pool < AO_CNN_GLOBAL_MAX || a->global_pool > AO_CNN_FLATTEN)
        return ao_err_set(err, AO_EUSAGE, "cnn: unknown global pooling %d", a->global_pool);
    feat = a->blocks[a->n_blocks - 1].filters;
    if (a->global_pool == AO_CNN_GLOBAL_MAXAVG) feat *= 2;
    if (a->global_pool == AO_CNN_FLATTEN) feat *= L;
    if (feat > (1 << 24)) return ao_err_set(err, AO_EUSAGE, "cnn: %lld pooled features is too many", (long long)feat);
    if (!(a->dropout >= 0 && a->dropout < 1) || !(a->hidden_dropout >= 0 && a->hidden_dropout < 1))
        return ao_err_set(err, AO_EUSAGE, "cnn: dropout must be in [0, 1)");
    if (a->hidden < 0 || a->hidden > 65536)
        return ao_err_set(err, AO_EUSAGE, "cnn: hidden units must be 0..65536, got %d", a->hidden);
    return AO_OK;
}

/* Shapes and parameter offsets, then the weights (zeroed) unless
 * with_weights is 0: a model file's parameter count is compared with the
 * layout before anything that large is allocated. */
static ao_cnn *cnn_alloc(const ao_cnn_arch *a, int C0, int L0, int K, int with_weights, ao_err *err)
{
    ao_cnn *m = NULL;
    int i, L = L0, C = C0;
    int64_t off = 0, din;
    if (ao_cnn_arch_check(a, C0, L0, K, err) < 0) return NULL;
    if (!(m = calloc(1, sizeof *m))) goto ERROR;
    m->arch = *a;
    m->C0 = C0; m->L0 = L0; m->K = K; m->nb = a->n_blocks;
    for (i = 0; i < m->nb; i++) {
        const ao_cnn_block *b = &a->blocks[i];
        m->cin[i] = C;
        m->lin[i] = L;
        m->kc[i] = b->width * C;
        m->lout[i] = b->pool == AO_CNN_POOL_NONE ? L : (L + b->pool_size - 1) / b->pool_size;
        m->offW[i] = off; off += (int64_t)b->filters * m->kc[i];
        m->offb[i] = off; off += b->filters;
        L = m->lout[i];
        C = b->filters;
    }
    m->Clast = C; m->Llast = L;
    m->G = a->global_pool == AO_CNN_GLOBAL_MAXAVG ? 2 * C : a->global_pool == AO_CNN_FLATTEN ? L * C : C;
    m->H = a->hidden;
    din = m->G;
    if (m->H > 0) {
        m->offW1 = off; off += (int64_t)m->H * m->G;
        m->offb1 = off; off += m->H;
        din = m->H;
    }
    m->offW2 = off; off += (int64_t)K * din;
    m->offb2 = off; off += K;
    m->np = off;
    if (with_weights && !(m->w = calloc((size_t)m->np, sizeof(float)))) goto ERROR;
    return m;
ERROR:
    ao_err_set(err, AO_EMEM, "cnn: out of memory");
    ao_cnn_destroy(m);
    return NULL;
}

static void fill_normal(ao_rng *r, float *w, int64_t n, double sd)
{
    int64_t i;
    for (i = 0; i < n; i++) w[i] = (float)(sd * ao_rng_normal(r));
}

ao_cnn *ao_cnn_create(const ao_cnn_arch *a, int in_channels, int in_len, int n_classes,
                      uint64_t seed, ao_err *err)
{
    ao_cnn *m;
    ao_rng r;
    int i;
    if (!(m = cnn_alloc(a, in_channels, in_len, n_classes, 1, err))) return NULL;
    ao_rng_seed(&r, seed);
    /* He normal for layers followed by ReLU, LeCun normal for the output. */
    for (i = 0; i < m->nb; i++)
        fill_normal(&r, m->w + m->offW[i], (int64_t)a->blocks[i].filters * m->kc[i], sqrt(2.0 / m->kc[i]));
    if (m->H > 0) {
        fill_normal(&r, m->w + m->offW1, (int64_t)m->H * m->G, sqrt(2.0 / m->G));
        fill_normal(&r, m->w + m->offW2, (int64_t)m->K * m->H, sqrt(1.0 / m->H));
    } else {
        fill_normal(&r, m->w + m->offW2, (int64_t)m->K * m->G, sqrt(1.0 / m->G));
    }
    return m;
}

void ao_cnn_destroy(ao_cnn *m)
{
    if (!m) return;
    free(m->w);
    free(m);
}

int ao_cnn_in_channels(const ao_cnn *m) { return m->C0; }
int ao_cnn_in_len(const ao_cnn *m) { return m->L0; }
int ao_cnn_n_classes(const ao_cnn *m) { return m->K; }
const ao_cnn_arch *ao_cnn_get_arch(const ao_cnn *m) { return &m->arch; }
int ao_cnn_rc_average(const ao_cnn *m) { return m->rc_average; }
void ao_cnn_set_rc_average(ao_cnn *m, int on) { m->rc_average = on != 0; }

float *ao_cnn_params(ao_cnn *m, int64_t *n_params)
{
    if (n_params) *n_params = m->np;
    return m->w;
}

/* ----------------------------------------------------------- workspace */

static void ws_free(cnn_ws *s)
{
    int i;
    if (!s) return;
    free(s->x0);
    for (i = 0; i < MAXB; i++) {
        if (s->train) free(s->col[i]);
        free(s->act[i]); free(s->pool[i]); free(s->pidx[i]);
        free(s->dact[i]); free(s->dpool[i]);
    }
    free(s->colbuf);
    free(s->g); free(s->gidx); free(s->h); free(s->z);
    free(s->dcol); free(s->dg); free(s->dh); free(s->dz);
    free(s);
}

/* One buffer of the workspace: counted, and allocated unless dry. */
#define WS_ALLOC(p, cnt) do { \
        s->bytes += (double)(cnt) * sizeof *(p) + 1; \
        if (!s->dry && !((p) = malloc((size_t)(cnt) * sizeof *(p) + 1))) goto ERROR; \
    } while (0)

/* A workspace for micro-batches of B samples; dry: only its size in
 * s->bytes (the memory estimate, from the same code that allocates). */
static cnn_ws *ws_create_sized(const ao_cnn *m, int B, int train, int dry)
{
    cnn_ws *s = calloc(1, sizeof *s);
    int i;
    int64_t maxcol = 1, maxdcol = 1;
    if (!s) return NULL;
    s->B = B;
    s->train = train;
    s->dry = dry;
    /* sgemm takes int dimensions: B * L rows must fit */
    for (i = 0; i < m->nb; i++)
        if ((int64_t)B * m->lin[i] > INT32_MAX || (int64_t)m->lin[i] * m->kc[i] > INT32_MAX) goto ERROR;
    WS_ALLOC(s->x0, (int64_t)B * m->L0 * m->C0);
    for (i = 0; i < m->nb; i++) {
        const ao_cnn_block *b = &m->arch.blocks[i];
        int64_t ncol = (int64_t)B * m->lin[i] * m->kc[i];
        int64_t nact = (int64_t)B * m->lin[i] * b->filters;
        int64_t npool = (int64_t)B * m->lout[i] * b->filters;
        if (ncol > maxcol) maxcol = ncol;
        if (i > 0 && ncol > maxdcol) maxdcol = ncol;
        if (train) WS_ALLOC(s->col[i], ncol);
        WS_ALLOC(s->act[i], nact);
        if (b->pool != AO_CNN_POOL_NONE) {
            WS_ALLOC(s->pool[i], npool);
            if (b->pool == AO_CNN_POOL_MAX) WS_ALLOC(s->pidx[i], npool);
        }
        if (train) {
            WS_ALLOC(s->dact[i], nact);
            if (b->pool != AO_CNN_POOL_NONE) WS_ALLOC(s->dpool[i], npool);
        }
    }
    if (!train) {
        WS_ALLOC(s->colbuf, maxcol);
        for (i = 0; i < m->nb; i++) s->col[i] = s->colbuf;
    }
    WS_ALLOC(s->g, (int64_t)B * m->G);
    WS_ALLOC(s->gidx, (int64_t)B * m->Clast);
    WS_ALLOC(s->z, (int64_t)B * m->K);
    if (m->H > 0) WS_ALLOC(s->h, (int64_t)B * m->H);
    if (train) {
        if (m->H > 0) WS_ALLOC(s->dh, (int64_t)B * m->H);
        if (m->nb > 1) WS_ALLOC(s->dcol, maxdcol);
        WS_ALLOC(s->dg, (int64_t)B * m->G);
        WS_ALLOC(s->dz, (int64_t)B * m->K);
    }
    return s;
ERROR:
    ws_free(s);
    return NULL;
}

static cnn_ws *ws_create(const ao_cnn *m, int B, int train) { return ws_create_sized(m, B, train, 0); }

/* --------------------------------------------------------------- layers */

/* d[j] = 0 where the ReLU output a[j] was 0 */
static void relu_mask(float *restrict d, const float *restrict a, int64_t cnt)
{
    int64_t j;
    for (j = 0; j < cnt; j++) d[j] = a[j] > 0 ? d[j] : 0.0f;
}

/* running max with argmax: y = max(y, x), ix = t where x won */
static void max_update(float *restrict y, int32_t *restrict ix, const float *restrict x, int F, int32_t t)
{
    int f;
    for (f = 0; f < F; f++) {
        float xv = x[f], yv = y[f];
        int32_t gt = xv > yv, iv = ix[f];
        y[f] = xv > yv ? xv : yv;
        ix[f] = iv + (t - iv) * gt;
    }
}

static void add_to(float *restrict y, const float *restrict x, int F)
{
    int f;
    for (f = 0; f < F; f++) y[f] += x[f];
}

/* The channel that channel c comes from under reverse complement: in
 * each whole group of four (A, C, G, T) the complement, c -> 3 - c;
 * trailing channels beyond the last whole group map to themselves. */
static inline int rc_channel(int c, int C)
{
    return c < C - C % 4 ? (c & ~3) + 3 - (c & 3) : c;
}

/* x0[b][l][c] from X[idx[b]][c][l], reverse-complemented where rc[b]. */
static void gather(const ao_cnn *m, const float *X, const int64_t *idx, int64_t start, int n,
                   const unsigned char *rc, float *x0)
{
    int b, c, l, C = m->C0, L = m->L0;
    for (b = 0; b < n; b++) {
        const float *src = X + (idx ? idx[b] : start + b) * (int64_t)C * L;
        float *dst = x0 + (int64_t)b * L * C;
        if (rc && rc[b]) {
            for (c = 0; c < C; c++) {
                const float *s = src + (int64_t)rc_channel(c, C) * L;
                for (l = 0; l < L; l++) dst[(int64_t)l * C + c] = s[L - 1 - l];
            }
        } else {
            for (c = 0; c < C; c++) {
                const float *s = src + (int64_t)c * L;
                for (l = 0; l < L; l++) dst[(int64_t)l * C + c] = s[l];
            }
        }
    }
}

static void im2col(const float *in, int n, int L, int C, int Kw, int d, float *col)
{
    int b, l, k, padL = d * (Kw - 1) / 2;
    size_t rowlen = (size_t)Kw * C;
    for (b = 0; b < n; b++) {
        const float *x = in + (int64_t)b * L * C;
        for (l = 0; l < L; l++) {
            float *row = col + ((int64_t)b * L + l) * rowlen;
            for (k = 0; k < Kw; k++) {
                int pos = l + k * d - padL;
                if (pos < 0 || pos >= L) memset(row + (size_t)k * C, 0, (size_t)C * sizeof(float));
                else memcpy(row + (size_t)k * C, x + (int64_t)pos * C, (size_t)C * sizeof(float));
            }
        }
    }
}

static void col2im(const float *col, int n, int L, int C, int Kw, int d, float *din)
{
    int b, l, k, padL = d * (Kw - 1) / 2;
    size_t rowlen = (size_t)Kw * C;
    memset(din, 0, (size_t)n * L * C * sizeof(float));
    for (b = 0; b < n; b++) {
        float *dx = din + (int64_t)b * L * C;
        for (l = 0; l < L; l++) {
            const float *row = col + ((int64_t)b * L + l) * rowlen;
            for (k = 0; k < Kw; k++) {
                int pos = l + k * d - padL;
                float *t;
                const float *r;
                if (pos < 0 || pos >= L) continue;
                t = dx + (int64_t)pos * C;
                r = row + (size_t)k * C;
                add_to(t, r, C);
            }
        }
    }
}

static void bias_relu(float *a, int64_t rows, int F, const float *bias)
{
    int64_t r;
    int f;
    for (r = 0; r < rows; r++) {
        float *restrict x = a + r * F;
        const float *restrict bb = bias;
        for (f = 0; f < F; f++) {
            float v = x[f] + bb[f];
            x[f] = v > 0 ? v : 0.0f;
        }
    }
}

static void pool_fwd(const float *a, int n, int L, int F, int type, int p, float *out, int32_t *idx)
{
    int b, o, t, f, Lo = (L + p - 1) / p;
    for (b = 0; b < n; b++) {
        for (o = 0; o < Lo; o++) {
            int s = o * p, e = s + p < L ? s + p : L;
            float *y = out + ((int64_t)b * Lo + o) * F;
            const float *x = a + ((int64_t)b * L + s) * F;
            memcpy(y, x, (size_t)F * sizeof(float));
            if (type == AO_CNN_POOL_MAX) {
                int32_t *ix = idx + ((int64_t)b * Lo + o) * F;
                for (f = 0; f < F; f++) ix[f] = s;
                for (t = s + 1; t < e; t++) max_update(y, ix, a + ((int64_t)b * L + t) * F, F, t);
            } else {
                float inv = 1.0f / (float)(e - s);
                for (t = s + 1; t < e; t++) add_to(y, a + ((int64_t)b * L + t) * F, F);
                for (f = 0; f < F; f++) y[f] *= inv;
            }
        }
    }
}

static void pool_bwd(const float *dout, int n, int L, int F, int type, int p, const int32_t *idx, float *da)
{
    int b, o, t, f, Lo = (L + p - 1) / p;
    if (type == AO_CNN_POOL_MAX) memset(da, 0, (size_t)n * L * F * sizeof(float));
    for (b = 0; b < n; b++) {
        for (o = 0; o < Lo; o++) {
            int s = o * p, e = s + p < L ? s + p : L;
            const float *dy = dout + ((int64_t)b * Lo + o) * F;
            if (type == AO_CNN_POOL_MAX) {
                const int32_t *ix = idx + ((int64_t)b * Lo + o) * F;
                for (f = 0; f < F; f++) da[((int64_t)b * L + ix[f]) * F + f] = dy[f];
            } else {
                float inv = 1.0f / (float)(e - s);
                for (t = s; t < e; t++) {
                    float *dx = da + ((int64_t)b * L + t) * F;
                    for (f = 0; f < F; f++) dx[f] = dy[f] * inv;
                }
            }
        }
    }
}

static void dense_fwd(const float *x, int n, int din, const float *W, const float *bias, int dout, float *y)
{
    int b, j;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, dout, din, 1.0f, x, din, W, din, 0.0f, y, dout);
    for (b = 0; b < n; b++)
        for (j = 0; j < dout; j++) y[(int64_t)b * dout + j] += bias[j];
}

/* out (+)= column sums of d[rows][F] */
static void colsum(const float *d, int64_t rows, int F, float *out, int acc)
{
    int64_t r;
    if (!acc) memset(out, 0, (size_t)F * sizeof(float));
    for (r = 0; r < rows; r++) add_to(out, d + r * F, F);
}

/* Dropout mask with inverted scaling: 0 or 1/(1-p). */
static void dropout_mask(ao_rng *r, float *mask, int64_t cnt, float p)
{
    int64_t i;
    /* keep if the top 24 bits of a draw are >= p * 2^24 */
    uint64_t thr = (uint64_t)((double)p * 16777216.0);
    float scale = 1.0f / (1.0f - p);
    for (i = 0; i < cnt; i++) mask[i] = (ao_rng_u64(r) >> 40) >= thr ? scale : 0.0f;
}

static void mul_by(float *restrict x, const float *restrict mask, int64_t cnt)
{
    int64_t i;
    for (i = 0; i < cnt; i++) x[i] *= mask[i];
}

static inline const float *block_out(const cnn_ws *s, int i) { return s->pool[i] ? s->pool[i] : s->act[i]; }

/* Forward pass on ws->x0 (n samples); logits into ws->z. Dropout with
 * the given masks (training), none where they are NULL. */
static void forward(const ao_cnn *m, cnn_ws *s, int n, const float *gmask, const float *hmask)
{
    int i, b, l, f;
    const float *in = s->x0;
    int F = m->Clast, Ll = m->Llast;
    const float *last;
    for (i = 0; i < m->nb; i++) {
        const ao_cnn_block *bk = &m->arch.blocks[i];
        int L = m->lin[i], C = m->cin[i], KC = m->kc[i];
        im2col(in, n, L, C, bk->width, bk->dilation, s->col[i]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n * L, bk->filters, KC, 1.0f,
                    s->col[i], KC, m->w + m->offW[i], KC, 0.0f, s->act[i], bk->filters);
        bias_relu(s->act[i], (int64_t)n * L, bk->filters, m->w + m->offb[i]);
        if (bk->pool != AO_CNN_POOL_NONE)
            pool_fwd(s->act[i], n, L, bk->filters, bk->pool, bk->pool_size, s->pool[i], s->pidx[i]);
        in = block_out(s, i);
    }
    last = in;
    for (b = 0; b < n; b++) {
        const float *x = last + (int64_t)b * Ll * F;
        float *g = s->g + (int64_t)b * m->G;
        int32_t *gi = s->gidx + (int64_t)b * F;
        switch (m->arch.global_pool) {
        case AO_CNN_FLATTEN:
            memcpy(g, x, (size_t)Ll * F * sizeof(float));
            break;
        case AO_CNN_GLOBAL_AVG:
            memset(g, 0, (size_t)F * sizeof(float));
            for (l = 0; l < Ll; l++) add_to(g, x + (int64_t)l * F, F);
            for (f = 0; f < F; f++) g[f] /= (float)Ll;
            break;
        default: /* MAX, MAXAVG */
            memcpy(g, x, (size_t)F * sizeof(float));
            for (f = 0; f < F; f++) gi[f] = 0;
            if (m->arch.global_pool == AO_CNN_GLOBAL_MAXAVG) memcpy(g + F, x, (size_t)F * sizeof(float));
            for (l = 1; l < Ll; l++) {
                const float *xl = x + (int64_t)l * F;
                max_update(g, gi, xl, F, l);
                if (m->arch.global_pool == AO_CNN_GLOBAL_MAXAVG) add_to(g + F, xl, F);
            }
            if (m->arch.global_pool == AO_CNN_GLOBAL_MAXAVG)
                for (f = 0; f < F; f++) g[F + f] /= (float)Ll;
            break;
        }
    }
    s->gmask = m->arch.dropout > 0 ? gmask : NULL;
    s->hmask = m->arch.hidden_dropout > 0 ? hmask : NULL;
    if (s->gmask) mul_by(s->g, s->gmask, (int64_t)n * m->G);
    if (m->H > 0) {
        int64_t j, cnt = (int64_t)n * m->H;
        dense_fwd(s->g, n, m->G, m->w + m->offW1, m->w + m->offb1, m->H, s->h);
        for (j = 0; j < cnt; j++) s->h[j] = s->h[j] > 0 ? s->h[j] : 0.0f;
        if (s->hmask) mul_by(s->h, s->hmask, cnt);
        dense_fwd(s->h, n, m->H, m->w + m->offW2, m->w + m->offb2, m->K, s->z);
    } else {
        dense_fwd(s->g, n, m->G, m->w + m->offW2, m->w + m->offb2, m->K, s->z);
    }
}

/* Softmax in place over rows of z[n][K]. */
static void softmax_rows(float *z, int n, int K)
{
    int b, k;
    for (b = 0; b < n; b++) {
        float *x = z + (int64_t)b * K, mx = x[0];
        double sum = 0;
        for (k = 1; k < K; k++) if (x[k] > mx) mx = x[k];
        for (k = 0; k < K; k++) sum += exp((double)x[k] - mx);
        for (k = 0; k < K; k++) x[k] = (float)(exp((double)x[k] - mx) / sum);
    }
}

/* Cross-entropy of logits z against y, weighted by w (NULL: 1): returns
 * the weighted sum over the n rows; writes d(sum/wsum)/dz into dz (if
 * non-NULL), wsum being the total weight of the whole mini-batch. */
static double xent(const float *z, const int *y, const double *w, int n, int K, double wsum, float *dz)
{
    int b, k;
    double tot = 0;
    if (!(wsum > 0)) wsum = 1;
    for (b = 0; b < n; b++) {
        const float *x = z + (int64_t)b * K;
        double mx = x[0], sum = 0, lse, wb = w ? w[b] : 1.0;
        for (k = 1; k < K; k++) if (x[k] > mx) mx = x[k];
        for (k = 0; k < K; k++) sum += exp((double)x[k] - mx);
        lse = mx + log(sum);
        tot += wb * (lse - x[y[b]]);
        if (dz)
            for (k = 0; k < K; k++)
                dz[(int64_t)b * K + k] = (float)(wb / wsum * (exp((double)x[k] - lse) - (k == y[b])));
    }
    return tot;
}

/* Backward pass from ws->dz; gradients into grad (overwritten, or added
 * to it when acc). */
static void backward(const ao_cnn *m, cnn_ws *s, int n, float *grad, int acc)
{
    const float beta = acc ? 1.0f : 0.0f;
    int i, b, l, f, F = m->Clast, Ll = m->Llast, G = m->G;
    const float *hin = m->H > 0 ? s->h : s->g;
    int din = m->H > 0 ? m->H : G;
    float *dlast;
    /* output layer */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m->K, din, n, 1.0f, s->dz, m->K, hin, din,
                beta, grad + m->offW2, din);
    colsum(s->dz, n, m->K, grad + m->offb2, acc);
    if (m->H > 0) {
        int64_t cnt = (int64_t)n * m->H;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m->H, m->K, 1.0f, s->dz, m->K,
                    m->w + m->offW2, m->H, 0.0f, s->dh, m->H);
        relu_mask(s->dh, s->h, cnt);
        if (s->hmask) mul_by(s->dh, s->hmask, cnt);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m->H, G, n, 1.0f, s->dh, m->H, s->g, G,
                    beta, grad + m->offW1, G);
        colsum(s->dh, n, m->H, grad + m->offb1, acc);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, G, m->H, 1.0f, s->dh, m->H,
                    m->w + m->offW1, G, 0.0f, s->dg, G);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, G, m->K, 1.0f, s->dz, m->K,
                    m->w + m->offW2, G, 0.0f, s->dg, G);
    }
    if (s->gmask) mul_by(s->dg, s->gmask, (int64_t)n * G);
    /* global pooling */
    i = m->nb - 1;
    dlast = s->pool[i] ? s->dpool[i] : s->dact[i];
    for (b = 0; b < n; b++) {
        float *dx = dlast + (int64_t)b * Ll * F;
        const float *dg = s->dg + (int64_t)b * G;
        const int32_t *gi = s->gidx + (int64_t)b * F;
        switch (m->arch.global_pool) {
        case AO_CNN_FLATTEN:
            memcpy(dx, dg, (size_t)Ll * F * sizeof(float));
            break;
        case AO_CNN_GLOBAL_AVG:
        case AO_CNN_GLOBAL_MAXAVG: {
            const float *da = m->arch.global_pool == AO_CNN_GLOBAL_AVG ? dg : dg + F;
            for (l = 0; l < Ll; l++)
                for (f = 0; f < F; f++) dx[(int64_t)l * F + f] = da[f] / (float)Ll;
            if (m->arch.global_pool == AO_CNN_GLOBAL_MAXAVG)
                for (f = 0; f < F; f++) dx[(int64_t)gi[f] * F + f] += dg[f];
            break;
        }
        default:
            memset(dx, 0, (size_t)Ll * F * sizeof(float));
            for (f = 0; f < F; f++) dx[(int64_t)gi[f] * F + f] = dg[f];
            break;
        }
    }
    /* conv blocks, last to first */
    for (i = m->nb - 1; i >= 0; i--) {
        const ao_cnn_block *bk = &m->arch.blocks[i];
        int L = m->lin[i], KC = m->kc[i], Fi = bk->filters;
        int64_t cnt = (int64_t)n * L * Fi;
        float *da = s->dact[i];
        if (bk->pool != AO_CNN_POOL_NONE)
            pool_bwd(s->dpool[i], n, L, Fi, bk->pool, bk->pool_size, s->pidx[i], da);
        relu_mask(da, s->act[i], cnt);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Fi, KC, n * L, 1.0f, da, Fi, s->col[i], KC,
                    beta, grad + m->offW[i], KC);
        colsum(da, (int64_t)n * L, Fi, grad + m->offb[i], acc);
        if (i > 0) {
            float *dprev = s->pool[i - 1] ? s->dpool[i - 1] : s->dact[i - 1];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n * L, KC, Fi, 1.0f, da, Fi,
                        m->w + m->offW[i], KC, 0.0f, s->dcol, KC);
            col2im(s->dcol, n, L, m->cin[i], bk->width, bk->dilation, dprev);
        }
    }
}

/* ------------------------------------------------- data-parallel shards
 *
 * With T threads a mini-batch is cut into T contiguous shards; each
 * thread runs gather, forward and backward on its shard with
 * single-threaded BLAS into its own gradient buffer, and the buffers are
 * summed in shard order. Dropout masks and reverse-complement flags are
 * drawn beforehand in sample order from the one seeded ao_rng, so the
 * random stream does not depend on T and a fixed T gives identical bits. */

typedef struct shard {
    const ao_cnn *m;
    cnn_ws *s;
    float *grad;
    const float *X;
    const int64_t *idx;
    const unsigned char *rc;
    const int *y;
    const double *w;
    const float *gmask, *hmask;
    int n;
    double wsum;
    double loss;                  /* weighted sum of the shard's sample losses */
    double deadline;              /* ao_now() past which the shard stops (0: none) */
    int cut;                      /* set when it stopped there: its gradient is partial */
} shard;

/* The shard's samples go through in micro-batches of up to s->B samples
 * (sized so the im2col buffers stay cache-friendly); gradients add up. */
static void shard_step(shard *j)
{
    const ao_cnn *m = j->m;
    cnn_ws *s = j->s;
    int c, chunks = (j->n + s->B - 1) / s->B;
    j->loss = 0;
    j->cut = 0;
    for (c = 0; c < chunks; c++) {
        /* the time limit holds inside a batch too: one batch of a large
         * network can take minutes */
        if (j->deadline > 0 && ao_now() > j->deadline) { j->cut = 1; return; }
        /* equal chunks: a short tail chunk would waste a BLAS pass */
        int lo = (int)((int64_t)j->n * c / chunks), nb = (int)((int64_t)j->n * (c + 1) / chunks) - lo;
        gather(m, j->X, j->idx ? j->idx + lo : NULL, lo, nb, j->rc ? j->rc + lo : NULL, s->x0);
        forward(m, s, nb, j->gmask ? j->gmask + (int64_t)lo * m->G : NULL,
                j->hmask ? j->hmask + (int64_t)lo * m->H : NULL);
        j->loss += xent(s->z, j->y + lo, j->w ? j->w + lo : NULL, nb, m->K, j->wsum, s->dz);
        if (j->grad) backward(m, s, nb, j->grad, lo > 0);
    }
}

/* Samples per micro-batch: the largest im2col buffer stays near
 * CNN_MICRO_COL_FLOATS (measured: 16-32 samples of 300 x 64 x 9 train
 * ~10% faster than 64 or 128 on one core). */
static int micro_batch(const ao_cnn *m, int cap)
{
    int64_t per = 1, b;
    int i;
    for (i = 0; i < m->nb; i++)
        if ((int64_t)m->lin[i] * m->kc[i] > per) per = (int64_t)m->lin[i] * m->kc[i];
    b = CNN_MICRO_COL_FLOATS / per;
    if (b < 1) b = 1;
    return b < cap ? (int)b : cap;
}

static void *shard_main(void *arg)
{
    shard_step(arg);
    return NULL;
}

/* Runs jobs[0..T) on T threads (job 0 on the caller); a thread that
 * cannot be started runs its job on the caller instead. */
static void run_parallel(void *jobs, size_t size, int T, void *(*fn)(void *))
{
    pthread_t th[AO_CNN_MAX_THREADS];
    int started[AO_CNN_MAX_THREADS], t;
    for (t = 1; t < T; t++) started[t] = pthread_create(&th[t], NULL, fn, (char *)jobs + t * size) == 0;
    fn(jobs);
    for (t = 1; t < T; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else fn((char *)jobs + t * size);
    }
}

int ao_cnn_loss_grad(ao_cnn *m, const float *X, const int *y, const double *sample_w, int n,
                     uint64_t dropout_seed, double *loss, float *grad)
{
    cnn_ws *s = NULL;
    float *gmask = NULL, *hmask = NULL;
    ao_rng r;
    shard j;
    double wsum = 0;
    int rc = AO_EMEM, b;
    if (!m || !X || !y || !loss || n < 1 || n > CNN_MAX_GRAD_BATCH) return AO_EUSAGE;
    for (b = 0; b < n; b++) if (y[b] < 0 || y[b] >= m->K) return AO_EUSAGE;
    if (!(s = ws_create(m, micro_batch(m, n), 1))) goto ERROR;
    if (!(gmask = malloc((size_t)n * m->G * sizeof *gmask))) goto ERROR;
    if (m->H > 0 && !(hmask = malloc((size_t)n * m->H * sizeof *hmask))) goto ERROR;
    ao_rng_seed(&r, dropout_seed);
    if (m->arch.dropout > 0) dropout_mask(&r, gmask, (int64_t)n * m->G, m->arch.dropout);
    if (m->H > 0 && m->arch.hidden_dropout > 0) dropout_mask(&r, hmask, (int64_t)n * m->H, m->arch.hidden_dropout);
    for (b = 0; b < n; b++) wsum += sample_w ? sample_w[b] : 1.0;
    j = (shard){m, s, grad, X, NULL, NULL, y, sample_w, gmask, hmask, n, wsum, 0, 0, 0};
    shard_step(&j);
    *loss = j.loss / (wsum > 0 ? wsum : 1);
    rc = AO_OK;
ERROR:
    ws_free(s);
    free(gmask);
    free(hmask);
    return rc;
}

/* ------------------------------------------------------------ predict */

typedef struct pjob {
    const ao_cnn *m;
    cnn_ws *s;
    const float *X;
    int64_t n;
    int rcavg, t, T;
    double *proba;
    double deadline;   /* ao_now() past which the job stops (0: none) */
    int cut;           /* set when it stopped there: proba is incomplete */
} pjob;

/* Chunks t, t+T, t+2T, ... of B samples: proba[n][K] with optional
 * reverse-complement averaging. */
static void *pjob_main(void *arg)
{
    pjob *j = arg;
    const ao_cnn *m = j->m;
    cnn_ws *s = j->s;
    int64_t start;
    int b, k, K = m->K;
    unsigned char ones[CNN_EVAL_BATCH];
    memset(ones, 1, sizeof ones);
    for (start = (int64_t)j->t * s->B; start < j->n; start += (int64_t)j->T * s->B) {
        int nb = j->n - start < s->B ? (int)(j->n - start) : s->B;
        if (j->deadline > 0 && ao_now() > j->deadline) { j->cut = 1; break; }
        double *p = j->proba + start * K;
        gather(m, j->X, NULL, start, nb, NULL, s->x0);
        forward(m, s, nb, NULL, NULL);
        softmax_rows(s->z, nb, K);
        for (b = 0; b < nb * K; b++) p[b] = s->z[b];
        if (j->rcavg) {
            gather(m, j->X, NULL, start, nb, ones, s->x0);
            forward(m, s, nb, NULL, NULL);
            softmax_rows(s->z, nb, K);
            for (b = 0; b < nb; b++)
                for (k = 0; k < K; k++)
                    p[(int64_t)b * K + k] = 0.5 * (p[(int64_t)b * K + k] + s->z[(int64_t)b * K + k]);
        }
    }
    return NULL;
}

/* Samples per prediction chunk for n samples, and (in *T) the threads
 * that have a chunk to do. */
static int eval_batch(const ao_cnn *m, int64_t n, int *T)
{
    int B = CNN_EVAL_BATCH, i;
    int64_t chunks, per = 1;
    /* fewer samples per chunk for long inputs: the shared im2col buffer
     * holds B * L * width * channels floats */
    for (i = 0; i < m->nb; i++)
        if ((int64_t)m->lin[i] * m->kc[i] > per) per = (int64_t)m->lin[i] * m->kc[i];
    if ((int64_t)B * per > CNN_EVAL_COL_FLOATS) B = (int)(CNN_EVAL_COL_FLOATS / per);
    if (B < 1) B = 1;
    if (n < B) B = n > 0 ? (int)n : 1;
    chunks = (n + B - 1) / B;
    if (*T > chunks) *T = chunks > 0 ? (int)chunks : 1;
    return B;
}

/* T evaluation workspaces for up to n samples; T is lowered to the number
 * of chunks. Returns the number made, 0 on failure. */
static int eval_ws_create(const ao_cnn *m, int64_t n, int T, cnn_ws **ws)
{
    int B = eval_batch(m, n, &T), t;
    for (t = 0; t < T; t++)
        if (!(ws[t] = ws_create(m, B, 0))) {
            while (t-- > 0) { ws_free(ws[t]); ws[t] = NULL; }
            return 0;
        }
    return T;
}

/* Returns 1 when the deadline (0: none) cut it short, else 0. */
static int predict_par(const ao_cnn *m, cnn_ws **ws, int T, const float *X, int64_t n, int rcavg, double *proba, double deadline)
{
    pjob jobs[AO_CNN_MAX_THREADS];
    int t, cut = 0;
    for (t = 0; t < T; t++) jobs[t] = (pjob){m, ws[t], X, n, rcavg, t, T, proba, deadline, 0};
    run_parallel(jobs, sizeof jobs[0], T, pjob_main);
    for (t = 0; t < T; t++) cut |= jobs[t].cut;
    return cut;
}

static int clamp_threads(int threads)
{
    return threads < 1 ? 1 : threads > AO_CNN_MAX_THREADS ? AO_CNN_MAX_THREADS : threads;
}

int ao_cnn_predict_proba(const ao_cnn *m, const float *X, int64_t n, int threads, double *proba)
{
    cnn_ws *ws[AO_CNN_MAX_THREADS] = {0};
    int T, t, old;
    if (!m || (n > 0 && (!X || !proba))) return AO_EUSAGE;
    if (n <= 0) return AO_OK;
    if (!(T = eval_ws_create(m, n, clamp_threads(threads), ws))) return AO_EMEM;
    old = openblas_get_num_threads();
    openblas_set_num_threads(1);
    predict_par(m, ws, T, X, n, m->rc_average && m->C0 >= 4, proba, 0);
    openblas_set_num_threads(old);
    for (t = 0; t < T; t++) ws_free(ws[t]);
    return AO_OK;
}

/* --------------------------------------------------------------- train */

double ao_cnn_train_bytes(const ao_cnn_arch *a, int in_channels, int in_len, int n_classes, int batch_size,
                          int threads, int64_t n_valid)
{
    ao_cnn *m;
    cnn_ws *ws;
    ao_err e;
    double bytes;
    int T = clamp_threads(threads), B = batch_size > 0 ? batch_size : 1, t, TE;
    ao_err_init(&e);
    if (!(m = cnn_alloc(a, in_channels, in_len, n_classes, 0, &e))) return -1;
    if (T > B) T = B;
    /* weights, gradient, Adam's two moments, the best checkpoint and the
     * EMA copy; one more gradient per extra thread; the weight-decay mask */
    bytes = (double)m->np * (4.0 * (6 + (T - 1)) + 1);
    /* each shard's training workspace (activations, im2col, their gradients) */
    for (t = 0; t < T && isfinite(bytes); t++) {
        int cap = (int)((int64_t)B * (t + 1) / T - (int64_t)B * t / T);
        if ((ws = ws_create_sized(m, micro_batch(m, cap), 1, 1))) bytes += ws->bytes;
        else bytes = INFINITY;   /* a micro-batch whose products overflow int */
        ws_free(ws);
    }
    /* the validation passes' workspaces and probabilities */
    TE = T;
    if (n_valid > 0 && isfinite(bytes)) {
        int BE = eval_batch(m, n_valid, &TE);
        if ((ws = ws_create_sized(m, BE, 0, 1))) bytes += ws->bytes * TE;
        else bytes = INFINITY;
        ws_free(ws);
        bytes += (double)n_valid * n_classes * 8.0;
    }
    /* the batch's dropout masks, indices, labels, weights and flags */
    bytes += (double)B * ((double)m->G + m->H) * 4.0 + (double)B * 21.0;
    ao_cnn_destroy(m);
    return bytes;
}

static int all_finite(const float *x, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) if (!isfinite(x[i])) return 0;
    return 1;
}

/* Weighted validation loss and accuracy from probabilities. */
static void valid_score(const double *pv, const int *yv, int64_t nv, int K, const double *cw, double *loss, double *acc)
{
    double tl = 0, tw = 0;
    int64_t i, ok = 0;
    int k;
    for (i = 0; i < nv; i++) {
        const double *q = pv + i * K;
        int am = 0;
        for (k = 1; k < K; k++) if (q[k] > q[am]) am = k;
        ok += am == yv[i];
        tl -= cw[yv[i]] * log(q[yv[i]] > 1e-300 ? q[yv[i]] : 1e-300);
        tw += cw[yv[i]];
    }
    *loss = tw > 0 ? tl / tw : tl;
    *acc = nv > 0 ? (double)ok / (double)nv : NAN;
}

static int check_train_args(const ao_cnn *m, const ao_cnn_train_params *p, const float *X, const int *y, int64_t n,
                            const float *Xv, const int *yv, int64_t nv, ao_err *err)
{
    int64_t i;
    int K;
    if (!m || !p || !X || !y || n < 1) return ao_err_set(err, AO_EUSAGE, "cnn: no training data");
    if (n > INT32_MAX) return ao_err_set(err, AO_EUSAGE, "cnn: too many training samples");
    if (nv > 0 && (!Xv || !yv)) return ao_err_set(err, AO_EUSAGE, "cnn: validation data missing");
    K = m->K;
    if (p->batch_size < 1 || p->batch_size > 65536)
        return ao_err_set(err, AO_EUSAGE, "cnn: batch_size must be 1..65536, got %d", p->batch_size);
    if (p->max_epochs < 0) return ao_err_set(err, AO_EUSAGE, "cnn: max_epochs must be >= 0");
    if (!(p->lr > 0) || !(p->beta1 >= 0 && p->beta1 < 1) || !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps > 0)
        || !(p->weight_decay >= 0) || !isfinite(p->lr) || !(p->ema >= 0 && p->ema < 1))
        return ao_err_set(err, AO_EUSAGE, "cnn: bad Adam settings (lr %g, betas %g %g, eps %g, weight decay %g, ema %g)",
                          p->lr, p->beta1, p->beta2, p->eps, p->weight_decay, p->ema);
    if (p->schedule != AO_CNN_SCHED_PLATEAU && p->schedule != AO_CNN_SCHED_ONECYCLE && p->schedule != AO_CNN_SCHED_COSINE)
        return ao_err_set(err, AO_EUSAGE, "cnn: unknown learning-rate schedule %d", p->schedule);
    if ((p->rc_augment || p->rc_average) && m->C0 < 4)
        return ao_err_set(err, AO_EUSAGE, "cnn: reverse complement needs A,C,G,T in channels 0..3 (have %d channels)", m->C0);
    if (p->class_weight != AO_CNN_CW_NONE && p->class_weight != AO_CNN_CW_BALANCED && p->class_weight != AO_CNN_CW_EXPLICIT)
        return ao_err_set(err, AO_EUSAGE, "cnn: unknown class weight mode %d", p->class_weight);
    if (p->class_weight == AO_CNN_CW_EXPLICIT) {
        if (!p->class_weights) return ao_err_set(err, AO_EUSAGE, "cnn: explicit class weights missing");
        for (i = 0; i < K; i++)
            if (!(p->class_weights[i] >= 0) || !isfinite(p->class_weights[i]))
                return ao_err_set(err, AO_EUSAGE, "cnn: class weight %d is not a finite value >= 0", (int)i);
    }
    for (i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) return ao_err_set(err, AO_EDATA, "cnn: training label %d out of range 0..%d", y[i], K - 1);
    for (i = 0; i < nv; i++)
        if (yv[i] < 0 || yv[i] >= K) return ao_err_set(err, AO_EDATA, "cnn: validation label %d out of range 0..%d", yv[i], K - 1);
    return AO_OK;
}

/* The rate of Adam step `step` (0-based) of `total` under an annealing
 * schedule (cnn.h); peak is the recipe's rate. */
static double scheduled_lr(int schedule, double peak, double step, double total)
{
    double warm = 0.3 * total, lo = peak / 25.0, t;
    if (total < 1) total = 1;
    if (step > total - 1) step = total - 1;
    if (schedule == AO_CNN_SCHED_COSINE) return peak * 0.5 * (1.0 + cos(M_PI * step / total));
    if (step < warm) return lo + (peak - lo) * 0.5 * (1.0 - cos(M_PI * step / warm));
    t = total - 1 - warm > 0 ? (step - warm) / (total - 1 - warm) : 1.0;
    return lo / 1e4 + (peak - lo / 1e4) * 0.5 * (1.0 + cos(M_PI * t));
}

int ao_cnn_train(ao_cnn *m, const ao_cnn_train_params *p,
                 const float *X, const int *y, int64_t n,
                 const float *Xv, const int *yv, int64_t nv,
                 ao_cnn_train_result *res, ao_err *err)
{
    cnn_ws *ev[AO_CNN_MAX_THREADS] = {0};
    shard sh[AO_CNN_MAX_THREADS];
    float *grad = NULL, *am = NULL, *av = NULL, *best = NULL, *gmask = NULL, *hmask = NULL, *ema = NULL, *live;
    unsigned char *decay = NULL, *rcflag = NULL;
    int *perm = NULL, *yb = NULL;
    int64_t *idx = NULL, i, j;
    double *cw = NULL, *wb = NULL, *pv = NULL;
    ao_rng r;
    int rc = AO_EMEM, K, B, T, TE = 0, t, epoch, wait = 0, lr_wait = 0, k, old_threads, timed_out = 0, max_epochs = p->max_epochs;
    double t0 = ao_now(), t_epochs, lr, best_loss = INFINITY, step = 0, deadline, steps_per_epoch;
    ao_cnn_train_result tmp;

    if (!res) res = &tmp;
    memset(res, 0, sizeof *res);
    res->best_valid_loss = res->best_valid_acc = NAN;
    res->last_train_loss = NAN;
    memset(sh, 0, sizeof sh);
    if ((rc = check_train_args(m, p, X, y, n, Xv, yv, nv, err)) < 0) return rc;
    rc = AO_EMEM;
    if (nv < 0) nv = 0;
    K = m->K;
    deadline = p->time_limit > 0 ? t0 + p->time_limit : 0;
    B = (int64_t)p->batch_size > n ? (int)n : p->batch_size;
    T = clamp_threads(p->threads);
    if (T > B) T = B;

    /* class weights */
    if (!(cw = malloc((size_t)K * sizeof *cw))) goto ERROR;
    for (k = 0; k < K; k++) cw[k] = 1.0;
    if (p->class_weight == AO_CNN_CW_BALANCED) {
        int64_t *cnt = calloc((size_t)K, sizeof *cnt);
        if (!cnt) goto ERROR;
        for (i = 0; i < n; i++) cnt[y[i]]++;
        for (k = 0; k < K; k++) cw[k] = cnt[k] > 0 ? (double)n / ((double)K * (double)cnt[k]) : 0.0;
        free(cnt);
    } else if (p->class_weight == AO_CNN_CW_EXPLICIT) {
        for (k = 0; k < K; k++) cw[k] = p->class_weights[k];
    }

    /* shard t holds samples [B*t/T, B*(t+1)/T) of a full batch */
    for (t = 0; t < T; t++) {
        int cap = (int)((int64_t)B * (t + 1) / T - (int64_t)B * t / T);
        if (!(sh[t].s = ws_create(m, micro_batch(m, cap), 1))) goto ERROR;
        if (t > 0 && !(sh[t].grad = malloc((size_t)m->np * sizeof(float)))) goto ERROR;
    }
    if (nv > 0 && !(TE = eval_ws_create(m, nv, T, ev))) goto ERROR;
    if (!(grad = malloc((size_t)m->np * sizeof *grad))) goto ERROR;
    sh[0].grad = grad;
    if (!(am = calloc((size_t)m->np, sizeof *am))) goto ERROR;
    if (!(av = calloc((size_t)m->np, sizeof *av))) goto ERROR;
    if (!(best = malloc((size_t)m->np * sizeof *best))) goto ERROR;
    if (p->ema > 0) {
        if (!(ema = malloc((size_t)m->np * sizeof *ema))) goto ERROR;
        memcpy(ema, m->w, (size_t)m->np * sizeof *ema);
    }
    if (!(decay = calloc((size_t)m->np, 1))) goto ERROR;
    if (!(perm = malloc((size_t)n * sizeof *perm))) goto ERROR;
    if (!(idx = malloc((size_t)B * sizeof *idx))) goto ERROR;
    if (!(yb = malloc((size_t)B * sizeof *yb))) goto ERROR;
    if (!(wb = malloc((size_t)B * sizeof *wb))) goto ERROR;
    if (!(rcflag = calloc((size_t)B, 1))) goto ERROR;
    if (!(gmask = malloc((size_t)B * m->G * sizeof *gmask))) goto ERROR;
    if (m->H > 0 && !(hmask = malloc((size_t)B * m->H * sizeof *hmask))) goto ERROR;
    if (nv > 0 && !(pv = malloc((size_t)nv * K * sizeof *pv))) goto ERROR;
    for (k = 0; k < m->nb; k++)
        memset(decay + m->offW[k], 1, (size_t)(m->offb[k] - m->offW[k]));
    if (m->H > 0) memset(decay + m->offW1, 1, (size_t)(m->offb1 - m->offW1));
    memset(decay + m->offW2, 1, (size_t)(m->offb2 - m->offW2));
    for (i = 0; i < n; i++) perm[i] = (int)i;

    old_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    m->rc_average = p->rc_average && m->C0 >= 4;
    ao_rng_seed(&r, p->seed);
    lr = p->lr;
    steps_per_epoch = (double)((n + B - 1) / B);
    memcpy(best, m->w, (size_t)m->np * sizeof *best);

    if (nv > 0 && predict_par(m, ev, TE, Xv, nv, m->rc_average, pv, deadline)) timed_out = 1;
    else if (nv > 0) {
        double vl, va;
        valid_score(pv, yv, nv, K, cw, &vl, &va);
        best_loss = isfinite(vl) ? vl : INFINITY;
        res->best_valid_loss = vl;
        res->best_valid_acc = va;
    }
    res->status = AO_CNN_MAX_EPOCHS;
    t_epochs = ao_now();
    for (epoch = 1; epoch <= max_epochs && !timed_out; epoch++) {
        double te = ao_now(), tot = 0, vl = NAN, va = NAN;
        int64_t seen = 0;
        int diverged = 0, improved = 0;
        ao_cnn_epoch_info info;
        ao_rng_shuffle_int(&r, perm, (size_t)n);
        for (i = 0; i < n && !diverged; i += B) {
            int nb = n - i < B ? (int)(n - i) : B, b, TT = T < nb ? T : nb;
            double loss = 0, wsum = 0, bc1, bc2;
            for (b = 0; b < nb; b++) {
                idx[b] = perm[i + b];
                yb[b] = y[idx[b]];
                wb[b] = cw[yb[b]];
                wsum += wb[b];
                rcflag[b] = p->rc_augment ? (unsigned char)(ao_rng_u64(&r) >> 63) : 0;
            }
            if (m->arch.dropout > 0) dropout_mask(&r, gmask, (int64_t)nb * m->G, m->arch.dropout);
            if (m->H > 0 && m->arch.hidden_dropout > 0)
                dropout_mask(&r, hmask, (int64_t)nb * m->H, m->arch.hidden_dropout);
            for (t = 0; t < TT; t++) {
                int lo = (int)((int64_t)nb * t / TT), hi = (int)((int64_t)nb * (t + 1) / TT);
                shard *q = &sh[t];
                q->m = m;
                q->X = X;
                q->idx = idx + lo;
                q->rc = rcflag + lo;
                q->y = yb + lo;
                q->w = wb + lo;
                q->gmask = gmask + (int64_t)lo * m->G;
                q->hmask = hmask ? hmask + (int64_t)lo * m->H : NULL;
                q->n = hi - lo;
                q->wsum = wsum;
                q->deadline = deadline;
            }
            run_parallel(sh, sizeof sh[0], TT, shard_main);
            for (t = 0; t < TT; t++) timed_out |= sh[t].cut;
            if (timed_out) break;   /* a partial gradient is not applied */
            for (t = 0; t < TT; t++) loss += sh[t].loss;
            for (t = 1; t < TT; t++) {
                const float *restrict g2 = sh[t].grad;
                for (j = 0; j < m->np; j++) grad[j] += g2[j];
            }
            loss /= wsum > 0 ? wsum : 1;
            if (!isfinite(loss) || loss > CNN_DIVERGED_LOSS) { diverged = 1; break; }
            /* Adam */
            if (p->schedule != AO_CNN_SCHED_PLATEAU) lr = scheduled_lr(p->schedule, p->lr, step, max_epochs * steps_per_epoch);
            step += 1;
            bc1 = 1.0 - pow(p->beta1, step);
            bc2 = 1.0 - pow(p->beta2, step);
            {
                float b1 = (float)p->beta1, b2 = (float)p->beta2, eps = (float)p->eps;
                float a = (float)(lr / bc1), ib2 = (float)(1.0 / bc2);
                float wd = (float)p->weight_decay, dec = (float)(1.0 - lr * p->weight_decay);
                int l2 = !p->decoupled_wd && p->weight_decay > 0, dw = p->decoupled_wd && p->weight_decay > 0;
                for (j = 0; j < m->np; j++) {
                    float g = grad[j], w = m->w[j];
                    if (l2 && decay[j]) g += wd * w;
                    am[j] = b1 * am[j] + (1 - b1) * g;
                    av[j] = b2 * av[j] + (1 - b2) * g * g;
                    if (dw && decay[j]) w *= dec;
                    m->w[j] = w - a * am[j] / (sqrtf(av[j] * ib2) + eps);
                }
                if (ema) {
                    /* Polyak averaging with the usual warm-up of the decay */
                    float d = (float)fmin(p->ema, (1.0 + step) / (10.0 + step)), d1 = 1.0f - d;
                    float *restrict e = ema;
                    const float *restrict wl = m->w;
                    for (j = 0; j < m->np; j++) e[j] = d * e[j] + d1 * wl[j];
                }
            }
            tot += loss * nb;
            seen += nb;
        }
        if (timed_out) break;   /* the epoch is incomplete: the best checkpoint stands */
        if (!diverged && !all_finite(m->w, m->np)) diverged = 1;
        /* validation and checkpoints use the averaged weights if asked */
        live = m->w;
        if (ema) m->w = ema;
        if (!diverged && nv > 0) {
            if (predict_par(m, ev, TE, Xv, nv, m->rc_average, pv, deadline)) {
                m->w = live;
                timed_out = 1;
                break;
            }
            valid_score(pv, yv, nv, K, cw, &vl, &va);
            if (!isfinite(vl)) diverged = 1;
        }
        if (diverged) {
            m->w = live;
            res->status = AO_CNN_DIVERGED;
            if (nv == 0) res->best_epoch = epoch - 1;
            ao_warn("cnn: epoch %d: the loss is not finite or exploded (learning rate %g too high?); keeping epoch %d",
                    epoch, lr, res->best_epoch);
            break;
        }
        res->epochs = epoch;
        res->last_train_loss = seen ? tot / (double)seen : NAN;
        if (nv > 0) {
            if (vl < best_loss - p->min_delta) {
                best_loss = vl;
                res->best_valid_loss = vl;
                res->best_valid_acc = va;
                res->best_epoch = epoch;
                memcpy(best, m->w, (size_t)m->np * sizeof *best);
                wait = lr_wait = 0;
                improved = 1;
            } else {
                wait++;
                lr_wait++;
            }
        } else {
            res->best_epoch = epoch;
            memcpy(best, m->w, (size_t)m->np * sizeof *best);
            improved = 1;
        }
        m->w = live;
        info.epoch = epoch;
        info.train_loss = res->last_train_loss;
        info.valid_loss = vl;
        info.valid_acc = va;
        info.lr = lr;
        info.seconds = ao_now() - te;
        info.improved = improved;
        if (p->progress && p->progress(p->progress_ctx, &info)) { res->status = AO_CNN_CANCELLED; break; }
        if (nv > 0 && p->patience > 0 && wait >= p->patience) { res->status = AO_CNN_EARLY_STOP; break; }
        /* An annealing schedule that the time limit would cut ends at a
         * high rate, without the annealing it is for: after each epoch it
         * is re-planned (only ever shortened) over the epochs that fit 90%
         * of the time left at the pace so far (the slower of the mean and
         * the last epoch). A run the limit does not cut keeps its plan and
         * stays deterministic. */
        if (p->schedule != AO_CNN_SCHED_PLATEAU && p->time_limit > 0 && epoch < max_epochs) {
            double now = ao_now(), spent = now - t0, pace = fmax(now - te, (now - t_epochs) / epoch);
            double fit = epoch + floor(0.9 * (p->time_limit - spent) / fmax(pace, 1e-9));
            /* no whole epoch left: the limit cuts the next one as before */
            if (fit > epoch && fit < max_epochs) {
                ao_info("cnn: %d epochs at %.2f s each do not fit the time limit (%.1f s left): the %s schedule is re-planned over %.0f epochs",
                        max_epochs, pace, p->time_limit - spent, p->schedule == AO_CNN_SCHED_ONECYCLE ? "one-cycle" : "cosine", fit);
                max_epochs = (int)fit;
            }
        }
        if (p->time_limit > 0 && ao_now() - t0 >= p->time_limit && epoch < max_epochs) {
            res->status = AO_CNN_TIME_LIMIT;
            break;
        }
        if (p->schedule == AO_CNN_SCHED_PLATEAU && p->lr_patience > 0 && lr_wait >= p->lr_patience && p->lr_factor > 0) {
            lr *= p->lr_factor;
            lr_wait = 0;
        }
    }
    if (timed_out) res->status = AO_CNN_TIME_LIMIT;
    res->schedule_epochs = max_epochs;
    memcpy(m->w, best, (size_t)m->np * sizeof *best);
    res->seconds = ao_now() - t0;
    res->seconds_per_epoch = res->epochs > 0 ? res->seconds / res->epochs : 0;
    openblas_set_num_threads(old_threads);
    rc = AO_OK;
ERROR:
    if (rc == AO_EMEM) ao_err_set(err, AO_EMEM, "cnn: out of memory");
    for (t = 0; t < AO_CNN_MAX_THREADS; t++) {
        ws_free(sh[t].s);
        if (t > 0) free(sh[t].grad);
        ws_free(ev[t]);
    }
    free(grad); free(am); free(av); free(best); free(decay); free(perm); free(idx); free(yb);
    free(wb); free(rcflag); free(cw); free(pv); free(gmask); free(hmask); free(ema);
    return rc;
}

/* ------------------------------------------------------- serialisation */

int ao_cnn_save(const ao_cnn *m, ao_buf *b)
{
    int i;
    if (!m || !b) return AO_EUSAGE;
    ao_buf_u32(b, CNN_FORMAT_VERSION);
    ao_buf_i32(b, m->C0);
    ao_buf_i32(b, m->L0);
    ao_buf_i32(b, m->K);
    ao_buf_i32(b, m->nb);
    for (i = 0; i < m->nb; i++) {
        const ao_cnn_block *bk = &m->arch.blocks[i];
        ao_buf_i32(b, bk->filters);
        ao_buf_i32(b, bk->width);
        ao_buf_i32(b, bk->dilation);
        ao_buf_i32(b, bk->pool);
        ao_buf_i32(b, bk->pool_size);
    }
    ao_buf_i32(b, m->arch.global_pool);
    ao_buf_f32(b, m->arch.dropout);
    ao_buf_i32(b, m->arch.hidden);
    ao_buf_f32(b, m->arch.hidden_dropout);
    ao_buf_i32(b, m->rc_average);
    ao_buf_u64(b, (uint64_t)m->np);
    ao_buf_f32s(b, m->w, (size_t)m->np);
    return b->oom ? AO_EMEM : AO_OK;
}

int ao_cnn_load(ao_cursor *c, ao_cnn **out, ao_err *err)
{
    ao_cnn_arch a;
    ao_cnn *m = NULL;
    uint32_t ver;
    int32_t C0, L0, K, nb, v[5], gp, hid, rcav;
    float dr, hdr;
    uint64_t np;
    int i;
    *out = NULL;
    memset(&a, 0, sizeof a);
    if (ao_cur_u32(c, &ver) < 0) goto TRUNC;
    if (ver != CNN_FORMAT_VERSION)
        return ao_err_set(err, AO_EDATA, "cnn: unsupported model format version %u", ver);
    if (ao_cur_i32(c, &C0) < 0 || ao_cur_i32(c, &L0) < 0 || ao_cur_i32(c, &K) < 0 || ao_cur_i32(c, &nb) < 0)
        goto TRUNC;
    if (nb < 1 || nb > MAXB) return ao_err_set(err, AO_EDATA, "cnn: bad block count %d in model", nb);
    a.n_blocks = nb;
    for (i = 0; i < nb; i++) {
        int t;
        for (t = 0; t < 5; t++) if (ao_cur_i32(c, &v[t]) < 0) goto TRUNC;
        a.blocks[i] = (ao_cnn_block){v[0], v[1], v[2], v[3], v[4]};
    }
    if (ao_cur_i32(c, &gp) < 0 || ao_cur_f32(c, &dr) < 0 || ao_cur_i32(c, &hid) < 0 || ao_cur_f32(c, &hdr) < 0
        || ao_cur_i32(c, &rcav) < 0 || ao_cur_u64(c, &np) < 0)
        goto TRUNC;
    a.global_pool = gp;
    a.dropout = dr;
    a.hidden = hid;
    a.hidden_dropout = hdr;
    {
        ao_err e2;
        ao_err_init(&e2);
        if (ao_cnn_arch_check(&a, C0, L0, K, &e2) < 0)
            return ao_err_set(err, AO_EDATA, "cnn: bad architecture in model (%s)", e2.msg);
    }
    if (!(m = cnn_alloc(&a, C0, L0, K, 0, err))) return err && err->code ? err->code : AO_EMEM;
    if ((uint64_t)m->np != np) {
        int64_t need = m->np;
        ao_cnn_destroy(m);
        return ao_err_set(err, AO_EDATA, "cnn: model has %llu parameters, architecture needs %lld",
                          (unsigned long long)np, (long long)need);
    }
    if (np > (c->len - c->pos) / 4) { ao_cnn_destroy(m); goto TRUNC; }
    if (!(m->w = malloc((size_t)np * sizeof *m->w))) { ao_cnn_destroy(m); return ao_err_set(err, AO_EMEM, "cnn: out of memory"); }
    if (ao_cur_f32s(c, m->w, (size_t)np) < 0) { ao_cnn_destroy(m); goto TRUNC; }
    if (!all_finite(m->w, m->np)) { ao_cnn_destroy(m); return ao_err_set(err, AO_EDATA, "cnn: non-finite weight in model"); }
    m->rc_average = rcav != 0;
    if (m->rc_average && m->C0 < 4) { ao_cnn_destroy(m); return ao_err_set(err, AO_EDATA, "cnn: reverse-complement averaging needs 4 channels, the model has %d", m->C0); }
    *out = m;
    return AO_OK;
TRUNC:
    return ao_err_set(err, AO_EDATA, "cnn: truncated model");
}
