/* features.c — k-mer spectra, gapped k-mers, global and pair features,
 * one-hot encoding. See include/agentomics/features.h for the contract. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/features.h"

#define FEAT_FORMAT 1u
#define NOT_ACGT 4

/* A=0 C=1 G=2 T/U=3, everything else 4. Read-only lookup table. */
static const unsigned char enc_tab[256] = {
    ['A'] = 0, ['C'] = 1, ['G'] = 2, ['T'] = 3, ['U'] = 3,
    ['a'] = 0, ['c'] = 1, ['g'] = 2, ['t'] = 3, ['u'] = 3,
};
/* enc_tab's implicit zeros mean nothing for the other bytes: valid_tab
 * says which bytes are ACGT(U). */
static const unsigned char valid_tab[256] = {
    ['A'] = 1, ['C'] = 1, ['G'] = 1, ['T'] = 1, ['U'] = 1,
    ['a'] = 1, ['c'] = 1, ['g'] = 1, ['t'] = 1, ['u'] = 1,
};

static const char BASES[4] = {'A', 'C', 'G', 'T'};
static const char *const GLOBAL_NAMES[AO_GLOBAL_N] = {"len", "loglen", "gc", "cpg_oe", "entropy"};
static const char *const PAIR_NAMES[AO_PAIR_N] = {"6mer", "7mer-A1", "7mer-m8", "8mer", "lcs"};

typedef struct kblock {
    int k;                   /* informative positions */
    int span;                /* window length */
    int pos[AO_FEAT_MAX_K];  /* offsets of the informative positions */
    int mask;                /* index into spec.masks, -1 for a contiguous k-mer */
    int32_t width;           /* columns */
    int32_t *map;            /* code -> column (canonical), NULL = identity */
    uint32_t *rep;           /* column -> code (canonical), NULL = identity */
} kblock;

struct ao_featurizer {
    ao_featspec spec;
    int n_seq_cols;
    int n_kb;
    kblock kb[AO_FEAT_MAX_KS + AO_FEAT_MAX_MASKS];
    int64_t kmer_width;                          /* sum of block widths */
    int kmer_on[AO_FEAT_MAX_SEQ_COLS];
    int global_on[AO_FEAT_MAX_SEQ_COLS];
    int64_t col_start[AO_FEAT_MAX_SEQ_COLS + 1]; /* [n_seq_cols] = pair block */
    int pair_on;
    int64_t n_cols;
    int32_t max_width;
};

void ao_featspec_init(ao_featspec *s)
{
    if (!s) return;
    memset(s, 0, sizeof *s);
    s->n_k = 1;
    s->k[0] = 4;
    s->kmer_cols = AO_FEAT_ALL_COLS;
    s->global_cols = AO_FEAT_ALL_COLS;
    s->pair = 1;
    s->pair_mirna = 0;
    s->pair_target = 1;
}

static uint32_t revcomp_code(uint32_t x, int k)
{
    uint32_t r = 0;
    int i;
    for (i = 0; i < k; i++) {
        r = (r << 2) | (3u - (x & 3u));
        x >>= 2;
    }
    return r;
}

/* Canonical tables for k informative positions. */
static int kblock_canonical(kblock *b)
{
    uint32_t n = 1u << (2 * b->k), x;
    int32_t next = 0;
    if (!(b->map = malloc(sizeof *b->map * n))) return AO_EMEM;
    for (x = 0; x < n; x++) {
        uint32_t rc = revcomp_code(x, b->k);
        b->map[x] = x <= rc ? next++ : b->map[rc];
    }
    if (!(b->rep = malloc(sizeof *b->rep * (size_t)(next ? next : 1)))) return AO_EMEM;
    for (x = 0; x < n; x++)
        if (x <= revcomp_code(x, b->k)) b->rep[b->map[x]] = x;
    b->width = next;
    return AO_OK;
}

static int check_flag(int v, const char *name, ao_err *err)
{
    if (v == 0 || v == 1) return AO_OK;
    return ao_err_set(err, AO_EUSAGE, "feature spec: %s must be 0 or 1, not %d", name, v);
}

ao_featurizer *ao_featurizer_create(const ao_featspec *spec, int n_seq_cols, ao_err *err)
{
    ao_featurizer *f = NULL;
    int i, j, c;
    int64_t col;

    if (!spec) { ao_err_set(err, AO_EUSAGE, "feature spec: missing"); goto ERROR; }
    if (n_seq_cols < 1 || n_seq_cols > AO_FEAT_MAX_SEQ_COLS) {
        ao_err_set(err, AO_EUSAGE, "feature spec: %d sequence columns (1..%d supported)",
                   n_seq_cols, AO_FEAT_MAX_SEQ_COLS);
        goto ERROR;
    }
    if (spec->n_k < 0 || spec->n_k > AO_FEAT_MAX_KS) {
        ao_err_set(err, AO_EUSAGE, "feature spec: %d k values (0..%d supported)", spec->n_k, AO_FEAT_MAX_KS);
        goto ERROR;
    }
    if (spec->n_masks < 0 || spec->n_masks > AO_FEAT_MAX_MASKS) {
        ao_err_set(err, AO_EUSAGE, "feature spec: %d gapped masks (0..%d supported)",
                   spec->n_masks, AO_FEAT_MAX_MASKS);
        goto ERROR;
    }
    if (check_flag(spec->freq, "freq", err) < -1 || check_flag(spec->canonical, "canonical", err) < -1 ||
        check_flag(spec->global, "global", err) < -1 || check_flag(spec->pair, "pair", err) < -1)
        goto ERROR;
    if (!(f = calloc(1, sizeof *f))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    f->spec = *spec;
    f->n_seq_cols = n_seq_cols;

    for (i = 0; i < spec->n_k; i++) {
        int k = spec->k[i];
        kblock *b = &f->kb[f->n_kb];
        if (k < 1 || k > AO_FEAT_MAX_K) {
            ao_err_set(err, AO_EUSAGE, "feature spec: k = %d out of range 1..%d", k, AO_FEAT_MAX_K);
            goto ERROR;
        }
        for (j = 0; j < i; j++)
            if (spec->k[j] == k) {
                ao_err_set(err, AO_EUSAGE, "feature spec: k = %d given twice", k);
                goto ERROR;
            }
        b->k = b->span = k;
        for (j = 0; j < k; j++) b->pos[j] = j;
        b->mask = -1;
        f->n_kb++;
    }
    for (i = 0; i < spec->n_masks; i++) {
        const char *m = spec->masks[i];
        kblock *b = &f->kb[f->n_kb];
        size_t len;
        if (!memchr(m, '\0', AO_FEAT_MASK_LEN + 1)) {
            ao_err_set(err, AO_EUSAGE, "feature spec: gapped mask %d longer than %d", i, AO_FEAT_MASK_LEN);
            goto ERROR;
        }
        len = strlen(m);
        if (!len || m[0] != '1' || m[len - 1] != '1' || strspn(m, "01") != len) {
            ao_err_set(err, AO_EUSAGE,
                       "feature spec: gapped mask \"%s\" must be 0s and 1s starting and ending with 1", m);
            goto ERROR;
        }
        for (j = 0; j < i; j++)
            if (!strcmp(spec->masks[j], m)) {
                ao_err_set(err, AO_EUSAGE, "feature spec: gapped mask \"%s\" given twice", m);
                goto ERROR;
            }
        b->k = 0;
        for (j = 0; j < (int)len; j++) {
            if (m[j] != '1') continue;
            if (b->k == AO_FEAT_MAX_K) {
                ao_err_set(err, AO_EUSAGE, "feature spec: gapped mask \"%s\" has more than %d ones",
                           m, AO_FEAT_MAX_K);
                goto ERROR;
            }
            b->pos[b->k++] = j;
        }
        if (spec->canonical)
            for (j = 0; j < (int)len / 2; j++)
                if (m[j] != m[len - 1 - j]) {
                    ao_err_set(err, AO_EUSAGE,
                               "feature spec: canonical k-mers need a mask that reads the same reversed, "
                               "not \"%s\"", m);
                    goto ERROR;
                }
        b->span = (int)len;
        b->mask = i;
        f->n_kb++;
    }
    for (i = 0; i < f->n_kb; i++) {
        kblock *b = &f->kb[i];
        if (spec->canonical) {
            if (kblock_canonical(b) < -1) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
        } else {
            b->width = (int32_t)1 << (2 * b->k);
        }
        f->kmer_width += b->width;
        if (b->width > f->max_width) f->max_width = b->width;
    }

    col = 0;
    for (c = 0; c < n_seq_cols; c++) {
        f->kmer_on[c] = f->n_kb > 0 && ((spec->kmer_cols >> c) & 1u);
        f->global_on[c] = spec->global && ((spec->global_cols >> c) & 1u);
        f->col_start[c] = col;
        col += (f->kmer_on[c] ? f->kmer_width : 0) + (f->global_on[c] ? AO_GLOBAL_N : 0);
    }
    f->col_start[n_seq_cols] = col;
    f->pair_on = spec->pair && n_seq_cols >= 2;
    if (f->pair_on) {
        if (spec->pair_mirna < 0 || spec->pair_mirna >= n_seq_cols || spec->pair_target < 0 ||
            spec->pair_target >= n_seq_cols || spec->pair_mirna == spec->pair_target) {
            ao_err_set(err, AO_EUSAGE, "feature spec: pair columns %d (miRNA) and %d (target) must be "
                       "two different columns of 0..%d", spec->pair_mirna, spec->pair_target, n_seq_cols - 1);
            goto ERROR;
        }
        col += AO_PAIR_N;
    }
    if (col == 0) { ao_err_set(err, AO_EUSAGE, "feature spec: no feature selected"); goto ERROR; }
    if (col > INT32_MAX) { ao_err_set(err, AO_EUSAGE, "feature spec: too many columns"); goto ERROR; }
    f->n_cols = col;
    return f;

ERROR:
    ao_featurizer_destroy(f);
    return NULL;
}

void ao_featurizer_destroy(ao_featurizer *f)
{
    int i;
    if (!f) return;
    for (i = 0; i < f->n_kb; i++) {
        free(f->kb[i].map);
        free(f->kb[i].rep);
    }
    free(f);
}

int64_t ao_featurizer_n_cols(const ao_featurizer *f) { return f ? f->n_cols : 0; }
int ao_featurizer_n_seq_cols(const ao_featurizer *f) { return f ? f->n_seq_cols : 0; }
const ao_featspec *ao_featurizer_spec(const ao_featurizer *f) { return f ? &f->spec : NULL; }

int ao_featurizer_col_name(const ao_featurizer *f, int64_t j, char *buf, size_t n)
{
    char pre[16] = "", word[AO_FEAT_MASK_LEN + 1];
    int c, i;
    int64_t o;

    if (!f || j < 0 || j >= f->n_cols) {
        if (buf && n) buf[0] = '\0';
        return AO_EUSAGE;
    }
    if (j >= f->col_start[f->n_seq_cols])
        return snprintf(buf, n, "pair:%s", PAIR_NAMES[j - f->col_start[f->n_seq_cols]]);
    for (c = 0; j >= f->col_start[c + 1]; c++) {}
    if (f->n_seq_cols > 1) snprintf(pre, sizeof pre, "s%d:", c);
    o = j - f->col_start[c];
    if (f->kmer_on[c]) {
        for (i = 0; i < f->n_kb; i++) {
            const kblock *b = &f->kb[i];
            if (o < b->width) {
                uint32_t code = b->rep ? b->rep[o] : (uint32_t)o;
                int p;
                memset(word, '-', (size_t)b->span);
                word[b->span] = '\0';
                for (p = b->k - 1; p >= 0; p--) {
                    word[b->pos[p]] = BASES[code & 3u];
                    code >>= 2;
                }
                if (b->mask < 0) return snprintf(buf, n, "%sk%d:%s", pre, b->k, word);
                return snprintf(buf, n, "%sg%s:%s", pre, f->spec.masks[b->mask], word);
            }
            o -= b->width;
        }
    }
    return snprintf(buf, n, "%s%s", pre, GLOBAL_NAMES[o]);
}

/* ---- featurisation ---------------------------------------------------- */

/* Per-thread scratch and output. */
typedef struct work {
    const ao_featurizer *f;
    const char *const *seqs;
    int64_t row0, row1;
    /* output */
    int64_t *row_nnz;        /* row1 - row0 */
    int32_t *idx;
    float *val;
    int64_t nnz, cap;
    /* scratch */
    uint32_t *cnt;           /* max_width, all zero between rows */
    uint64_t *bits;          /* max_width / 64 words, all zero between rows */
    unsigned char *code[2];
    size_t code_cap[2];
    int32_t *lcs;
    size_t lcs_cap;
    int rc;
} work;

static int reserve(work *w, int64_t more)
{
    if (w->nnz + more <= w->cap) return AO_OK;
    int64_t cap = w->cap ? w->cap : 4096;
    while (cap < w->nnz + more) cap *= 2;
    int32_t *ni = realloc(w->idx, sizeof *ni * (size_t)cap);
    if (!ni) return AO_EMEM;
    w->idx = ni;
    float *nv = realloc(w->val, sizeof *nv * (size_t)cap);
    if (!nv) return AO_EMEM;
    w->val = nv;
    w->cap = cap;
    return AO_OK;
}

static void push(work *w, int64_t col, float v)
{
    if (v == 0.0f) return;
    w->idx[w->nnz] = (int32_t)col;
    w->val[w->nnz] = v;
    w->nnz++;
}

/* Encodes s into w->code[slot] (codes 0..3, NOT_ACGT). */
static int encode(work *w, int slot, const char *s, size_t *len_out)
{
    size_t len = s ? strlen(s) : 0, i;
    if (len + 1 > w->code_cap[slot]) {
        size_t cap = w->code_cap[slot] ? w->code_cap[slot] : 1024;
        unsigned char *nc;
        while (cap < len + 1) cap *= 2;
        if (!(nc = realloc(w->code[slot], cap))) return AO_EMEM;
        w->code[slot] = nc;
        w->code_cap[slot] = cap;
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        w->code[slot][i] = valid_tab[ch] ? enc_tab[ch] : NOT_ACGT;
    }
    *len_out = len;
    return AO_OK;
}

/* Counts one k-mer block of one sequence and appends it at column base. */
static int kmer_block(work *w, const kblock *b, const unsigned char *code, size_t len, int64_t base, int freq)
{
    uint32_t *cnt = w->cnt;
    uint64_t *bits = w->bits;
    const int32_t *map = b->map;
    uint32_t nwin = 0;
    size_t p;
    int64_t wd, nwords = ((int64_t)b->width + 63) / 64;

    if (b->mask < 0) {
        const uint32_t kmask = (uint32_t)((1ull << (2 * b->k)) - 1);
        uint32_t x = 0;
        int run = 0, k = b->k;
        for (p = 0; p < len; p++) {
            uint32_t c = code[p];
            if (c == NOT_ACGT) { run = 0; continue; }
            x = ((x << 2) | c) & kmask;
            if (++run >= k) {
                uint32_t col = map ? (uint32_t)map[x] : x;
                cnt[col]++;
                bits[col >> 6] |= 1ull << (col & 63);
                nwin++;
            }
        }
    } else if (len >= (size_t)b->span) {
        for (p = 0; p + (size_t)b->span <= len; p++) {
            uint32_t x = 0, col;
            int i;
            for (i = 0; i < b->k; i++) {
                uint32_t c = code[p + (size_t)b->pos[i]];
                if (c == NOT_ACGT) break;
                x = (x << 2) | c;
            }
            if (i < b->k) continue;
            col = map ? (uint32_t)map[x] : x;
            if (!cnt[col]++) bits[col >> 6] |= 1ull << (col & 63);
            nwin++;
        }
    }
    if (!nwin) return AO_OK;
    if (reserve(w, nwin) < -1) {
        /* leave the scratch clean for the destroy path */
        memset(cnt, 0, sizeof *cnt * (size_t)b->width);
        memset(bits, 0, sizeof *bits * (size_t)nwords);
        return AO_EMEM;
    }
    {
        const double inv = 1.0 / (double)nwin;
        int32_t *oi = w->idx + w->nnz;
        float *ov = w->val + w->nnz;
        int64_t n = 0;
        for (wd = 0; wd < nwords; wd++) {
            uint64_t m = bits[wd];
            if (!m) continue;
            bits[wd] = 0;
            do {
                uint32_t col = (uint32_t)(wd * 64 + __builtin_ctzll(m));
                oi[n] = (int32_t)(base + col);
                ov[n] = freq ? (float)((double)cnt[col] * inv) : (float)cnt[col];
                cnt[col] = 0;
                n++;
                m &= m - 1;
            } while (m);
        }
        w->nnz += n;
    }
    return AO_OK;
}

static int global_block(work *w, const unsigned char *code, size_t len, int64_t base)
{
    uint64_t n[5] = {0, 0, 0, 0, 0}, cg = 0, acgt;
    double v[AO_GLOBAL_N], h = 0.0;
    size_t p;
    int i;

    for (p = 0; p < len; p++) {
        n[code[p]]++;
        if (code[p] == 1 && p + 1 < len && code[p + 1] == 2) cg++;
    }
    acgt = n[0] + n[1] + n[2] + n[3];
    v[AO_GLOBAL_LEN] = (double)len;
    v[AO_GLOBAL_LOGLEN] = log1p((double)len);
    v[AO_GLOBAL_GC] = acgt ? (double)(n[1] + n[2]) / (double)acgt : 0.0;
    v[AO_GLOBAL_CPG_OE] = n[1] && n[2] ? (double)cg * (double)acgt / ((double)n[1] * (double)n[2]) : 0.0;
    for (i = 0; i < 4; i++)
        if (n[i]) {
            double q = (double)n[i] / (double)acgt;
            h -= q * log2(q);
        }
    v[AO_GLOBAL_ENTROPY] = h > 0.0 ? h : 0.0;
    if (reserve(w, AO_GLOBAL_N) < -1) return AO_EMEM;
    for (i = 0; i < AO_GLOBAL_N; i++) push(w, base + i, (float)v[i]);
    return AO_OK;
}

static int pair_block(work *w, const unsigned char *mir, size_t lm, const unsigned char *tg, size_t lt, int64_t base)
{
    double v[AO_PAIR_N] = {0};
    unsigned char site[6];
    size_t p, i, j;
    int i8 = -1, best = 0;

    /* seed sites: target 5'->3' reads comp(nt7) .. comp(nt2) */
    if (lm >= 7) {
        int ok = 1;
        for (i = 0; i < 6; i++) {
            if (mir[6 - i] == NOT_ACGT) ok = 0;
            site[i] = (unsigned char)(3 - mir[6 - i]);
        }
        if (lm >= 8 && mir[7] != NOT_ACGT) i8 = 3 - mir[7];
        for (p = 0; ok && p + 6 <= lt; p++) {
            int m8, a1;
            if (memcmp(tg + p, site, 6)) continue;
            m8 = i8 >= 0 && p >= 1 && tg[p - 1] == i8;
            a1 = p + 6 < lt && tg[p + 6] == 0;
            v[m8 && a1 ? AO_PAIR_8MER : m8 ? AO_PAIR_7MER_M8 : a1 ? AO_PAIR_7MER_A1 : AO_PAIR_6MER] += 1.0;
        }
    }
    /* longest common substring of the target and revcomp(miRNA):
     * revcomp(mir)[j] = 3 - mir[lm - 1 - j] */
    if (lm && lt) {
        int32_t *prev, *cur;
        if (2 * (lm + 1) > w->lcs_cap) {
            int32_t *nl = realloc(w->lcs, sizeof *nl * 2 * (lm + 1));
            if (!nl) return AO_EMEM;
            w->lcs = nl;
            w->lcs_cap = 2 * (lm + 1);
        }
        prev = w->lcs;
        cur = w->lcs + lm + 1;
        memset(prev, 0, sizeof *prev * (lm + 1));
        cur[0] = 0;
        for (i = 0; i < lt; i++) {
            int32_t *t;
            for (j = 1; j <= lm; j++) {
                unsigned char r = mir[lm - j];
                if (tg[i] != NOT_ACGT && r != NOT_ACGT && tg[i] == 3 - r) {
                    cur[j] = prev[j - 1] + 1;
                    if (cur[j] > best) best = cur[j];
                } else {
                    cur[j] = 0;
                }
            }
            t = prev; prev = cur; cur = t;
        }
    }
    v[AO_PAIR_LCS] = best;
    if (reserve(w, AO_PAIR_N) < -1) return AO_EMEM;
    for (i = 0; i < AO_PAIR_N; i++) push(w, base + (int64_t)i, (float)v[i]);
    return AO_OK;
}

static int featurize_row(work *w, int64_t r)
{
    const ao_featurizer *f = w->f;
    const char *const *row = w->seqs + r * f->n_seq_cols;
    size_t len, lm, lt;
    int c, i, rc;

    for (c = 0; c < f->n_seq_cols; c++) {
        int64_t base = f->col_start[c];
        if (!f->kmer_on[c] && !f->global_on[c]) continue;
        if ((rc = encode(w, 0, row[c], &len)) < -1) return rc;
        if (f->kmer_on[c]) {
            for (i = 0; i < f->n_kb; i++) {
                if ((rc = kmer_block(w, &f->kb[i], w->code[0], len, base, f->spec.freq)) < -1) return rc;
                base += f->kb[i].width;
            }
        }
        if (f->global_on[c] && (rc = global_block(w, w->code[0], len, base)) < -1) return rc;
    }
    if (f->pair_on) {
        if ((rc = encode(w, 0, row[f->spec.pair_mirna], &lm)) < -1) return rc;
        if ((rc = encode(w, 1, row[f->spec.pair_target], &lt)) < -1) return rc;
        if ((rc = pair_block(w, w->code[0], lm, w->code[1], lt, f->col_start[f->n_seq_cols])) < -1) return rc;
    }
    return AO_OK;
}

/* Upper bound on this block's non-zeros: per k-mer block min(windows,
 * width), plus the global and pair blocks. */
static int64_t nnz_bound(const work *w)
{
    const ao_featurizer *f = w->f;
    int64_t r, bound = 0;
    int c, i;
    for (r = w->row0; r < w->row1; r++) {
        const char *const *row = w->seqs + r * f->n_seq_cols;
        for (c = 0; c < f->n_seq_cols; c++) {
            if (f->kmer_on[c]) {
                int64_t len = row[c] ? (int64_t)strlen(row[c]) : 0;
                for (i = 0; i < f->n_kb; i++) {
                    int64_t win = len - f->kb[i].span + 1;
                    if (win > 0) bound += win < f->kb[i].width ? win : f->kb[i].width;
                }
            }
            if (f->global_on[c]) bound += AO_GLOBAL_N;
        }
        if (f->pair_on) bound += AO_PAIR_N;
    }
    return bound;
}

static void *work_run(void *arg)
{
    work *w = arg;
    int64_t r;
    w->rc = AO_OK;
    if (w->f->max_width > 0) {
        w->cnt = calloc((size_t)w->f->max_width, sizeof *w->cnt);
        w->bits = calloc((size_t)(w->f->max_width + 63) / 64, sizeof *w->bits);
        if (!w->cnt || !w->bits) { w->rc = AO_EMEM; return NULL; }
    }
    if (!(w->row_nnz = malloc(sizeof *w->row_nnz * (size_t)(w->row1 - w->row0 + 1)))) {
        w->rc = AO_EMEM;
        return NULL;
    }
    /* One allocation of an upper bound on the non-zeros, so the output is
     * never copied while it grows (untouched pages cost nothing). */
    if ((w->rc = reserve(w, nnz_bound(w))) < -1) return NULL;
    for (r = w->row0; r < w->row1; r++) {
        int64_t before = w->nnz;
        if ((w->rc = featurize_row(w, r)) < -1) return NULL;
        w->row_nnz[r - w->row0] = w->nnz - before;
    }
    return NULL;
}

static void work_free(work *w)
{
    free(w->row_nnz);
    free(w->idx);
    free(w->val);
    free(w->cnt);
    free(w->bits);
    free(w->code[0]);
    free(w->code[1]);
    free(w->lcs);
}

int ao_featurize(const ao_featurizer *f, const char *const *seqs, int64_t n_rows,
                 int threads, ao_csr **out, ao_err *err)
{
    work *ws = NULL;
    pthread_t *tid = NULL;
    ao_csr *m = NULL;
    int t, nt, started = 0, rc = AO_OK;
    int64_t nnz = 0, r, pos;

    if (out) *out = NULL;
    if (!f || !out || n_rows < 0 || (n_rows > 0 && !seqs))
        return ao_err_set(err, AO_EUSAGE, "ao_featurize: invalid arguments");
    nt = threads < 1 ? 1 : threads;
    if (nt > n_rows) nt = n_rows > 0 ? (int)n_rows : 1;
    /* fewer than ~64 rows per thread is not worth a thread */
    if (nt > 1 && n_rows / nt < 64) nt = (int)(n_rows / 64) > 1 ? (int)(n_rows / 64) : 1;
    if (!(ws = calloc((size_t)nt, sizeof *ws)) || !(tid = calloc((size_t)nt, sizeof *tid))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    for (t = 0; t < nt; t++) {
        ws[t].f = f;
        ws[t].seqs = seqs;
        ws[t].row0 = n_rows * t / nt;
        ws[t].row1 = n_rows * (t + 1) / nt;
    }
    for (t = 1; t < nt; t++) {
        if (pthread_create(&tid[t], NULL, work_run, &ws[t])) break;
        started = t;
    }
    work_run(&ws[0]);
    for (t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    if (started < nt - 1) {   /* thread creation failed: do the rest here */
        for (t = started + 1; t < nt; t++) work_run(&ws[t]);
    }
    for (t = 0; t < nt; t++) {
        if (ws[t].rc < -1) {
            rc = ao_err_set(err, ws[t].rc, "featurisation: out of memory");
            goto ERROR;
        }
        nnz += ws[t].nnz;
    }

    /* The matrix takes over thread 0's arrays (resized in place where
     * the allocator can) and the other threads' output is appended. */
    if (!(m = calloc(1, sizeof *m)) ||
        !(m->indptr = malloc(sizeof *m->indptr * (size_t)(n_rows + 1)))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    {
        size_t want = (size_t)(nnz ? nnz : 1);
        int32_t *ni = realloc(ws[0].idx, sizeof *ni * want);
        float *nv;
        if (ni) ws[0].idx = ni;
        nv = ni ? realloc(ws[0].val, sizeof *nv * want) : NULL;
        if (!ni || !nv) {
            rc = ao_err_set(err, AO_EMEM, "out of memory");
            goto ERROR;
        }
        m->indices = ni;
        m->values = nv;
        ws[0].idx = NULL;
        ws[0].val = NULL;
    }
    m->n_rows = n_rows;
    m->n_cols = f->n_cols;
    m->nnz = nnz;
    m->cap = nnz ? nnz : 1;
    m->row_cap = n_rows + 1;
    m->indptr[0] = 0;
    pos = 0;
    for (t = 0; t < nt; t++) {
        work *w = &ws[t];
        for (r = w->row0; r < w->row1; r++) m->indptr[r + 1] = m->indptr[r] + w->row_nnz[r - w->row0];
        if (w->nnz && t > 0) {
            memcpy(m->indices + pos, w->idx, sizeof *m->indices * (size_t)w->nnz);
            memcpy(m->values + pos, w->val, sizeof *m->values * (size_t)w->nnz);
        }
        pos += w->nnz;
    }
    for (t = 0; t < nt; t++) work_free(&ws[t]);
    free(ws);
    free(tid);
    *out = m;
    return AO_OK;

ERROR:
    if (ws)
        for (t = 0; t < nt; t++) work_free(&ws[t]);
    free(ws);
    free(tid);
    ao_csr_destroy(m);
    return rc;
}

/* ---- serialisation ----------------------------------------------------- */

int ao_featurizer_save(const ao_featurizer *f, ao_buf *b)
{
    const ao_featspec *s;
    int i;
    if (!f || !b) return AO_EUSAGE;
    s = &f->spec;
    ao_buf_u32(b, FEAT_FORMAT);
    ao_buf_i32(b, f->n_seq_cols);
    ao_buf_i32(b, s->n_k);
    for (i = 0; i < s->n_k; i++) ao_buf_i32(b, s->k[i]);
    ao_buf_i32(b, s->n_masks);
    for (i = 0; i < s->n_masks; i++) ao_buf_str(b, s->masks[i]);
    ao_buf_i32(b, s->freq);
    ao_buf_i32(b, s->canonical);
    ao_buf_u32(b, s->kmer_cols);
    ao_buf_i32(b, s->global);
    ao_buf_u32(b, s->global_cols);
    ao_buf_i32(b, s->pair);
    ao_buf_i32(b, s->pair_mirna);
    ao_buf_i32(b, s->pair_target);
    return b->oom ? AO_EMEM : AO_OK;
}

ao_featurizer *ao_featurizer_load(ao_cursor *c, ao_err *err)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    ao_err e2;
    uint32_t ver;
    int32_t n_seq_cols, v;
    char *str = NULL;
    int i;

    ao_featspec_init(&s);
    ao_err_init(&e2);
    if (!c) { ao_err_set(err, AO_EUSAGE, "ao_featurizer_load: no payload"); goto ERROR; }
    if (ao_cur_u32(c, &ver) < -1) goto TRUNC;
    if (ver != FEAT_FORMAT) {
        ao_err_set(err, AO_EDATA, "featurizer: unsupported format version %u", ver);
        goto ERROR;
    }
    if (ao_cur_i32(c, &n_seq_cols) < -1 || ao_cur_i32(c, &v) < -1) goto TRUNC;
    if (v < 0 || v > AO_FEAT_MAX_KS) goto BAD;
    s.n_k = v;
    for (i = 0; i < s.n_k; i++)
        if (ao_cur_i32(c, &s.k[i]) < -1) goto TRUNC;
    if (ao_cur_i32(c, &v) < -1) goto TRUNC;
    if (v < 0 || v > AO_FEAT_MAX_MASKS) goto BAD;
    s.n_masks = v;
    for (i = 0; i < s.n_masks; i++) {
        if (ao_cur_str(c, &str) < -1) goto TRUNC;
        if (strlen(str) > AO_FEAT_MASK_LEN) goto BAD;
        strcpy(s.masks[i], str);
        free(str);
        str = NULL;
    }
    if (ao_cur_i32(c, &s.freq) < -1 || ao_cur_i32(c, &s.canonical) < -1 || ao_cur_u32(c, &s.kmer_cols) < -1 ||
        ao_cur_i32(c, &s.global) < -1 || ao_cur_u32(c, &s.global_cols) < -1 || ao_cur_i32(c, &s.pair) < -1 ||
        ao_cur_i32(c, &s.pair_mirna) < -1 || ao_cur_i32(c, &s.pair_target) < -1)
        goto TRUNC;
    if (!(f = ao_featurizer_create(&s, n_seq_cols, &e2))) {
        ao_err_set(err, e2.code == AO_EMEM ? AO_EMEM : AO_EDATA, "featurizer: %s", e2.msg);
        goto ERROR;
    }
    return f;

TRUNC:
    ao_err_set(err, AO_EDATA, "featurizer: truncated payload");
    goto ERROR;
BAD:
    ao_err_set(err, AO_EDATA, "featurizer: invalid payload");
ERROR:
    free(str);
    return NULL;
}

/* ---- one-hot ------------------------------------------------------------ */

/* IUPAC code -> bit set over A(1) C(2) G(4) T(8). */
static unsigned iupac_bits(unsigned char ch)
{
    switch (ch | 0x20) {   /* lower case */
    case 'a': return 1;
    case 'c': return 2;
    case 'g': return 4;
    case 't': case 'u': return 8;
    case 'r': return 1 | 4;
    case 'y': return 2 | 8;
    case 's': return 2 | 4;
    case 'w': return 1 | 8;
    case 'k': return 4 | 8;
    case 'm': return 1 | 2;
    case 'b': return 2 | 4 | 8;
    case 'd': return 1 | 4 | 8;
    case 'h': return 1 | 2 | 8;
    case 'v': return 1 | 2 | 4;
    case 'n': return 15;
    default: return 0;
    }
}

int ao_onehot(const char *seq, size_t len, int out_len, int pad, int ambig, float *out)
{
    size_t L, n, src0 = 0, dst0 = 0, i;
    int ch;

    if (out_len < 1 || !out || (!seq && len > 0) ||
        (pad != AO_PAD_LEFT && pad != AO_PAD_RIGHT && pad != AO_PAD_CENTRE) ||
        (ambig != AO_AMBIG_ZERO && ambig != AO_AMBIG_FRACTIONAL))
        return AO_EUSAGE;
    L = (size_t)out_len;
    memset(out, 0, sizeof *out * 4 * L);
    if (len <= L) {
        n = len;
        dst0 = pad == AO_PAD_LEFT ? L - len : pad == AO_PAD_RIGHT ? 0 : (L - len) / 2;
    } else {
        n = L;
        src0 = pad == AO_PAD_LEFT ? len - L : pad == AO_PAD_RIGHT ? 0 : (len - L) / 2;
    }
    for (i = 0; i < n; i++) {
        unsigned bits = iupac_bits((unsigned char)seq[src0 + i]);
        int pc = __builtin_popcount(bits);
        float wgt;
        if (!pc || (pc > 1 && ambig == AO_AMBIG_ZERO)) continue;
        wgt = 1.0f / (float)pc;
        for (ch = 0; ch < 4; ch++)
            if (bits & (1u << ch)) out[(size_t)ch * L + dst0 + i] = wgt;
    }
    return (int)n;
}

void ao_onehot_revcomp(const float *in, int len, float *out)
{
    size_t L, p;
    int c;
    if (len < 1 || !in || !out) return;
    L = (size_t)len;
    for (c = 0; c < 2; c++) {
        const float *ic = in + (size_t)c * L, *id = in + (size_t)(3 - c) * L;
        float *oc = out + (size_t)c * L, *od = out + (size_t)(3 - c) * L;
        for (p = 0; p <= (L - 1) / 2; p++) {
            size_t q = L - 1 - p;
            float x0 = ic[p], x1 = ic[q], y0 = id[p], y1 = id[q];
            oc[p] = y1;
            oc[q] = y0;
            od[p] = x1;
            od[q] = x0;
        }
    }
}

static char comp_char(char ch)
{
    static const char from[] = "ACGTURYSWKMBDHVNacgturyswkmbdhvn";
    static const char to[]   = "TGCAAYRSWMKVHDBNtgcaayrswmkvhdbn";
    const char *p = ch ? strchr(from, ch) : NULL;
    return p ? to[p - from] : ch;
}

void ao_seq_revcomp(const char *in, size_t len, char *out)
{
    size_t i;
    if (!len || !in || !out) return;
    for (i = 0; i < (len + 1) / 2; i++) {
        char a = in[i], b = in[len - 1 - i];
        out[i] = comp_char(b);
        out[len - 1 - i] = comp_char(a);
    }
}
