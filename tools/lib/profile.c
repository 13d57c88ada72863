/* profile.c — the explore step's dataset profile (see profile.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/hash.h"
#include "agentomics/profile.h"
#include "agentomics/rng.h"
#include "agentomics/split.h"

#define ENRICH_TOP 10
#define ENRICH_MIN_COUNT 5
#define ENRICH_PSEUDO 10.0
#define POS_TOP 5
#define POS_MAX_LEN 65536

/* A C G T (U = T) -> 0..3, everything else 4 (table holds code + 1). */
static const unsigned char base_tab[256] = {
    ['A'] = 1, ['C'] = 2, ['G'] = 3, ['T'] = 4, ['U'] = 4,
    ['a'] = 1, ['c'] = 2, ['g'] = 3, ['t'] = 4, ['u'] = 4,
};
#define base_code(ch) (base_tab[(ch)] ? base_tab[(ch)] - 1u : 4u)

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* set_new that reports failure as -1 (the value is consumed either way). */
static int jset(json_t *o, const char *key, json_t *v) { return v ? json_object_set_new(o, key, v) : -1; }

static void shuffle_i64(ao_rng *r, int64_t *a, int64_t n)
{
    int64_t i;
    for (i = n; i > 1; i--) {
        int64_t j = (int64_t)ao_rng_below(r, (uint64_t)i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- separability ---------------------------------------------------------- */

typedef struct scored { double x; int y; } scored;

static int scored_cmp(const void *a, const void *b)
{
    const scored *p = a, *q = b;
    if (p->x != q->x) return p->x < q->x ? -1 : 1;
    return p->y - q->y;
}

double ao_profile_separability(const double *x, const int *y, int64_t n, int K)
{
    scored *v = NULL;
    double *ranksum = NULL, total = 0;
    int64_t *cnt = NULL, i, j;
    int k, used = 0;
    if (n < 2 || K < 2) return NAN;
    if (!(v = malloc(sizeof *v * (size_t)n)) || !(ranksum = calloc((size_t)K, sizeof *ranksum)) ||
        !(cnt = calloc((size_t)K, sizeof *cnt))) {
        free(v); free(ranksum); free(cnt);
        return -1.0;
    }
    for (i = 0; i < n; i++) {
        v[i].x = x[i];
        v[i].y = y[i];
        cnt[y[i]]++;
    }
    qsort(v, (size_t)n, sizeof *v, scored_cmp);
    for (i = 0; i < n; i = j) {
        double r;
        for (j = i + 1; j < n && v[j].x == v[i].x; j++) {}
        r = (double)(i + 1 + j) / 2.0;   /* average 1-based rank of the tie run */
        for (; i < j; i++) ranksum[v[i].y] += r;
    }
    for (k = 0; k < K; k++) {
        double nc = (double)cnt[k], nr = (double)(n - cnt[k]), a;
        if (cnt[k] == 0 || cnt[k] == n) continue;
        a = (ranksum[k] - nc * (nc + 1) / 2) / (nc * nr);
        total += a >= 0.5 ? a : 1 - a;
        used++;
        if (K == 2) break;   /* the other class gives the same folded value */
    }
    free(v); free(ranksum); free(cnt);
    return used ? total / used : NAN;
}

/* ---- per-row base statistics ------------------------------------------- */

typedef struct rowstat {
    int64_t len;   /* first column */
    int64_t acgt, gc, other;
} rowstat;

static void row_stat(const char *s, rowstat *r)
{
    const unsigned char *p = (const unsigned char *)s;
    memset(r, 0, sizeof *r);
    for (; *p; p++) {
        unsigned b = base_code(*p);
        if (b == 4) r->other++;
        else {
            r->acgt++;
            r->gc += b == 1 || b == 2;
        }
    }
    r->len = r->acgt + r->other;
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static json_t *length_stats(const ao_seqset *s, int col, int64_t *tmp)
{
    json_t *o = json_object();
    double sum = 0, sq = 0, mean, sd, median;
    int64_t i, n = s->n;
    for (i = 0; i < n; i++) {
        tmp[i] = (int64_t)strlen(s->seqs[i * s->n_seq + col]);
        sum += (double)tmp[i];
    }
    mean = sum / (double)n;
    for (i = 0; i < n; i++) sq += ((double)tmp[i] - mean) * ((double)tmp[i] - mean);
    sd = sqrt(sq / (double)n);
    qsort(tmp, (size_t)n, sizeof *tmp, i64_cmp);
    median = n % 2 ? (double)tmp[n / 2] : ((double)tmp[n / 2 - 1] + (double)tmp[n / 2]) / 2;
    if (!o || jset(o, "min", json_integer(tmp[0])) < 0 || jset(o, "median", json_real(median)) < 0 ||
        jset(o, "max", json_integer(tmp[n - 1])) < 0 || jset(o, "mean", json_real(mean)) < 0 ||
        jset(o, "cv", jnum(mean > 0 ? sd / mean : 0)) < 0 || jset(o, "fixed", json_boolean(tmp[0] == tmp[n - 1])) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- k-mer enrichment ------------------------------------------------------ */

typedef struct kcand { double score; int64_t a, b; int k; uint32_t code; } kcand;

static int kcand_cmp(const void *x, const void *y)
{
    const kcand *p = x, *q = y;
    if (p->score != q->score) return p->score > q->score ? -1 : 1;
    if (p->a != q->a) return p->a > q->a ? -1 : 1;
    if (p->k != q->k) return p->k - q->k;
    return p->code < q->code ? -1 : p->code > q->code;
}

static json_t *kmer_enrichment(const ao_seqset *s, const ao_dataset_info *info)
{
    const int K = info->n_classes, kmin = 4, kmax = 6;
    int64_t *cnt[7] = {0}, *tot[7] = {0}, *all[7] = {0};
    int64_t i, ncand_max = 0;
    kcand *cand = NULL;
    json_t *out = json_object();
    int k, c, ok = 0;
    if (!out) return NULL;
    for (k = kmin; k <= kmax; k++) {
        size_t nw = (size_t)1 << (2 * k);
        if (!(cnt[k] = calloc(nw * (size_t)K, sizeof *cnt[k])) || !(tot[k] = calloc((size_t)K, sizeof *tot[k])) ||
            !(all[k] = calloc(nw, sizeof *all[k])))
            goto ERROR;
        ncand_max += (int64_t)nw;
    }
    if (!(cand = malloc(sizeof *cand * (size_t)ncand_max))) goto ERROR;
    for (i = 0; i < s->n; i++) {
        const unsigned char *p = (const unsigned char *)s->seqs[i * s->n_seq];
        uint32_t code = 0;
        int run = 0, y = s->y[i];
        for (; *p; p++) {
            unsigned b = base_code(*p);
            if (b == 4) { run = 0; code = 0; continue; }
            code = ((code << 2) | b) & 0xFFFu;
            if (run < kmax) run++;
            for (k = kmin; k <= run; k++) {
                uint32_t w = code & ((1u << (2 * k)) - 1);
                cnt[k][(size_t)y << (2 * k) | w]++;
                tot[k][y]++;
            }
        }
    }
    for (k = kmin; k <= kmax; k++) {
        size_t nw = (size_t)1 << (2 * k), w;
        for (c = 0; c < K; c++)
            for (w = 0; w < nw; w++) all[k][w] += cnt[k][(size_t)c * nw + w];
    }
    for (c = 0; c < K; c++) {
        json_t *arr = json_array();
        int64_t nc = 0, j;
        if (jset(out, info->classes[c], arr) < 0) goto ERROR;
        for (k = kmin; k <= kmax; k++) {
            size_t nw = (size_t)1 << (2 * k), w;
            int64_t A = tot[k][c], B = 0;
            double p;
            int d;
            for (d = 0; d < K; d++) if (d != c) B += tot[k][d];
            if (A == 0 || B == 0) continue;
            p = (double)A / (double)(A + B);
            for (w = 0; w < nw; w++) {
                int64_t a = cnt[k][(size_t)c * nw + w], b = all[k][w] - a;
                double sc;
                if (a < ENRICH_MIN_COUNT) continue;
                sc = log2(((a + ENRICH_PSEUDO * p) / (double)A) / ((b + ENRICH_PSEUDO * (1 - p)) / (double)B));
                if (!(sc > 0)) continue;
                cand[nc].score = sc;
                cand[nc].a = a;
                cand[nc].b = b;
                cand[nc].k = k;
                cand[nc].code = (uint32_t)w;
                nc++;
            }
        }
        qsort(cand, (size_t)nc, sizeof *cand, kcand_cmp);
        for (j = 0; j < nc && j < ENRICH_TOP; j++) {
            char km[8];
            json_t *e = json_object();
            int q;
            for (q = 0; q < cand[j].k; q++) km[q] = "ACGT"[(cand[j].code >> (2 * (cand[j].k - 1 - q))) & 3];
            km[cand[j].k] = '\0';
            if (json_array_append_new(arr, e) < 0 || jset(e, "kmer", json_string(km)) < 0 ||
                jset(e, "k", json_integer(cand[j].k)) < 0 || jset(e, "log2_odds", json_real(cand[j].score)) < 0 ||
                jset(e, "count", json_integer(cand[j].a)) < 0 || jset(e, "rest_count", json_integer(cand[j].b)) < 0)
                goto ERROR;
        }
    }
    ok = 1;
ERROR:
    for (k = kmin; k <= kmax; k++) { free(cnt[k]); free(tot[k]); free(all[k]); }
    free(cand);
    if (!ok) { json_decref(out); return NULL; }
    return out;
}

/* ---- k-mer nearest-centroid signal -------------------------------------- */

#define KS_DIM (64 + 256)

/* 3-mer and 4-mer frequencies of s, each block summing to 1 (or 0). */
static void kmer_vec(const char *s, double *v)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t code = 0;
    int run = 0, d;
    double n3 = 0, n4 = 0;
    memset(v, 0, sizeof *v * KS_DIM);
    for (; *p; p++) {
        unsigned b = base_code(*p);
        if (b == 4) { run = 0; code = 0; continue; }
        code = ((code << 2) | b) & 0xFFu;
        if (run < 4) run++;
        if (run >= 3) { v[code & 63]++; n3++; }
        if (run >= 4) { v[64 + code]++; n4++; }
    }
    if (n3 > 0) for (d = 0; d < 64; d++) v[d] /= n3;
    if (n4 > 0) for (d = 64; d < KS_DIM; d++) v[d] /= n4;
}

static json_t *kmer_signal(const ao_seqset *s, int K, uint64_t seed)
{
    int64_t *rows = NULL, *start = NULL, *fitc = NULL, *evalc = NULL, *hit = NULL, i, n_fit = 0, n_eval = 0;
    unsigned char *is_eval = NULL;
    double *sum = NULL, *sq = NULL, *csum = NULL, *mu = NULL, *sd = NULL, *cent = NULL, *cnorm = NULL, v[KS_DIM];
    json_t *o = NULL;
    ao_rng rng;
    int k, d, present = 0;
    double bacc = 0;

    if (!(rows = malloc(sizeof *rows * (size_t)s->n)) || !(start = calloc((size_t)K + 1, sizeof *start)) ||
        !(fitc = calloc((size_t)K, sizeof *fitc)) || !(evalc = calloc((size_t)K, sizeof *evalc)) ||
        !(hit = calloc((size_t)K, sizeof *hit)) || !(is_eval = calloc((size_t)s->n, 1)) ||
        !(sum = calloc(KS_DIM, sizeof *sum)) || !(sq = calloc(KS_DIM, sizeof *sq)) ||
        !(csum = calloc((size_t)K * KS_DIM, sizeof *csum)) || !(mu = malloc(sizeof *mu * KS_DIM)) ||
        !(sd = malloc(sizeof *sd * KS_DIM)) || !(cent = calloc((size_t)K * KS_DIM, sizeof *cent)) ||
        !(cnorm = calloc((size_t)K, sizeof *cnorm)))
        goto ERROR;
    /* Seeded 80/20 draw within each class. */
    for (i = 0; i < s->n; i++) start[s->y[i] + 1]++;
    for (k = 0; k < K; k++) start[k + 1] += start[k];
    for (k = 0; k < K; k++) fitc[k] = start[k];   /* cursors */
    for (i = 0; i < s->n; i++) rows[fitc[s->y[i]]++] = i;
    memset(fitc, 0, sizeof *fitc * (size_t)K);
    ao_rng_seed(&rng, ao_seed_derive(seed, AO_SEED_PROFILE, 0));
    for (k = 0; k < K; k++) {
        int64_t nc = start[k + 1] - start[k], ne, j;
        shuffle_i64(&rng, rows + start[k], nc);
        ne = nc >= 2 ? (int64_t)(0.2 * (double)nc + 0.5) : 0;
        if (nc >= 2 && ne < 1) ne = 1;
        for (j = 0; j < ne; j++) is_eval[rows[start[k] + j]] = 1;
    }
    /* Fit: feature means and sds, class sums. */
    for (i = 0; i < s->n; i++) {
        if (is_eval[i]) continue;
        kmer_vec(s->seqs[i * s->n_seq], v);
        for (d = 0; d < KS_DIM; d++) {
            sum[d] += v[d];
            sq[d] += v[d] * v[d];
            csum[(size_t)s->y[i] * KS_DIM + d] += v[d];
        }
        fitc[s->y[i]]++;
        n_fit++;
    }
    for (d = 0; d < KS_DIM; d++) {
        double m = n_fit ? sum[d] / (double)n_fit : 0, var = n_fit ? sq[d] / (double)n_fit - m * m : 0;
        mu[d] = m;
        sd[d] = var > 1e-18 ? sqrt(var) : 0;
    }
    for (k = 0; k < K; k++) {
        if (!fitc[k]) continue;
        for (d = 0; d < KS_DIM; d++) {
            double z = sd[d] > 0 ? (csum[(size_t)k * KS_DIM + d] / (double)fitc[k] - mu[d]) / sd[d] : 0;
            cent[(size_t)k * KS_DIM + d] = z;
            cnorm[k] += z * z;
        }
        cnorm[k] = sqrt(cnorm[k]);
    }
    /* Evaluate. */
    for (i = 0; i < s->n; i++) {
        int best = -1;
        double best_cos = -INFINITY;
        if (!is_eval[i]) continue;
        kmer_vec(s->seqs[i * s->n_seq], v);
        for (d = 0; d < KS_DIM; d++) v[d] = sd[d] > 0 ? (v[d] - mu[d]) / sd[d] : 0;
        for (k = 0; k < K; k++) {
            double dot = 0, cs;
            if (!fitc[k]) continue;
            for (d = 0; d < KS_DIM; d++) dot += v[d] * cent[(size_t)k * KS_DIM + d];
            cs = cnorm[k] > 0 ? dot / cnorm[k] : 0;   /* |v| is common to every class */
            if (cs > best_cos) { best_cos = cs; best = k; }
        }
        evalc[s->y[i]]++;
        if (best == s->y[i]) hit[best]++;
        n_eval++;
    }
    for (k = 0; k < K; k++)
        if (evalc[k]) {
            bacc += (double)hit[k] / (double)evalc[k];
            present++;
        }
    if (!(o = json_object()) ||
        jset(o, "kmer_centroid_balanced_accuracy", present ? json_real(bacc / present) : json_null()) < 0 ||
        jset(o, "chance", present ? json_real(1.0 / present) : json_null()) < 0 ||
        jset(o, "n_fit", json_integer(n_fit)) < 0 || jset(o, "n_eval", json_integer(n_eval)) < 0) {
        json_decref(o);
        o = NULL;
    }
ERROR:
    free(rows); free(start); free(fitc); free(evalc); free(hit); free(is_eval);
    free(sum); free(sq); free(csum); free(mu); free(sd); free(cent); free(cnorm);
    return o;
}

/* ---- positional mutual information ------------------------------------- */

/* MI (bits) of symbol and class at each of L positions from counts
 * cnt[(pos * 5 + sym) * K + class] (rows that do not reach a position are
 * not counted there), weighted by the fraction n_l / n of rows that reach
 * it; the sum goes into *sum. ncl: K scratch. */
static void mi_from_counts(const int64_t *cnt, int64_t L, int K, int64_t n, int64_t *ncl, double *mi, double *sum)
{
    int64_t l;
    double total = 0;
    for (l = 0; l < L; l++) {
        double m = 0, N;
        int64_t nl = 0;
        int sym, k;
        memset(ncl, 0, sizeof *ncl * (size_t)K);
        for (sym = 0; sym < 5; sym++)
            for (k = 0; k < K; k++) ncl[k] += cnt[((size_t)l * 5 + (size_t)sym) * (size_t)K + (size_t)k];
        for (k = 0; k < K; k++) nl += ncl[k];
        N = (double)nl;
        for (sym = 0; nl && sym < 5; sym++) {
            const int64_t *c = cnt + ((size_t)l * 5 + (size_t)sym) * (size_t)K;
            int64_t ns = 0;
            for (k = 0; k < K; k++) ns += c[k];
            if (!ns) continue;
            for (k = 0; k < K; k++)
                if (c[k]) m += (double)c[k] / N * log2((double)c[k] * N / ((double)ns * (double)ncl[k]));
        }
        if (m < 0) m = 0;   /* rounding */
        m *= N / (double)n;
        if (mi) mi[l] = m;
        total += m;
    }
    *sum = total;
}

typedef struct posmi { double mi; int64_t pos; } posmi;

static int posmi_cmp(const void *a, const void *b)
{
    const posmi *p = a, *q = b;
    if (p->mi != q->mi) return p->mi > q->mi ? -1 : 1;
    return p->pos < q->pos ? -1 : p->pos > q->pos;
}

static json_t *positional_signal(const ao_seqset *s, int K, const int64_t *ncls, int64_t L, int fixed, uint64_t seed)
{
    int64_t *cnt = NULL, *ncl = NULL, i, l;
    int *yperm = NULL;
    unsigned char *buf = NULL;
    double *mi = NULL, raw, perm, comp, hcls = 0;
    posmi *top = NULL;
    size_t ncnt = (size_t)L * 5 * (size_t)K;
    json_t *o = NULL, *arr;
    ao_rng rng;
    int k, pass;

    if (!(cnt = malloc(sizeof *cnt * ncnt)) || !(yperm = malloc(sizeof *yperm * (size_t)s->n)) ||
        !(buf = malloc((size_t)L)) || !(mi = malloc(sizeof *mi * (size_t)L)) || !(top = malloc(sizeof *top * (size_t)L)) ||
        !(ncl = malloc(sizeof *ncl * (size_t)K)))
        goto ERROR;
    ao_rng_seed(&rng, ao_seed_derive(seed, AO_SEED_PROFILE, 1));
    for (i = 0; i < s->n; i++) yperm[i] = s->y[i];
    ao_rng_shuffle_int(&rng, yperm, (size_t)s->n);
    /* pass 0: observed; 1: labels permuted; 2: symbols shuffled within each row. */
    for (pass = 0; pass < 3; pass++) {
        memset(cnt, 0, sizeof *cnt * ncnt);
        for (i = 0; i < s->n; i++) {
            const unsigned char *p = (const unsigned char *)s->seqs[i * s->n_seq];
            int y = pass == 1 ? yperm[i] : s->y[i];
            int64_t m = 0;   /* symbols of the row within the window */
            for (; m < L && p[m]; m++) buf[m] = (unsigned char)base_code(p[m]);
            if (pass == 2)
                for (l = m; l > 1; l--) {
                    int64_t j = (int64_t)ao_rng_below(&rng, (uint64_t)l);
                    unsigned char t = buf[l - 1];
                    buf[l - 1] = buf[j];
                    buf[j] = t;
                }
            for (l = 0; l < m; l++) cnt[((size_t)l * 5 + buf[l]) * (size_t)K + (size_t)y]++;
        }
        mi_from_counts(cnt, L, K, s->n, ncl, pass == 0 ? mi : NULL, pass == 0 ? &raw : pass == 1 ? &perm : &comp);
    }
    for (k = 0; k < K; k++)
        if (ncls[k]) {
            double p = (double)ncls[k] / (double)s->n;
            hcls -= p * log2(p);
        }
    for (l = 0; l < L; l++) {
        top[l].mi = mi[l];
        top[l].pos = l;
    }
    qsort(top, (size_t)L, sizeof *top, posmi_cmp);
    if (!(o = json_object()) || jset(o, "length_used", json_integer(L)) < 0 ||
        jset(o, "aligned", json_string(fixed ? "fixed" : "crop_pad")) < 0 ||
        jset(o, "class_entropy_bits", json_real(hcls)) < 0 || jset(o, "mi_sum_bits", json_real(raw)) < 0 ||
        jset(o, "mi_permuted_bits", json_real(perm)) < 0 || jset(o, "mi_excess_bits", json_real(raw - perm)) < 0 ||
        jset(o, "mi_composition_bits", json_real(comp)) < 0 ||
        jset(o, "mi_positional_excess_bits", json_real(raw - comp)) < 0 ||
        jset(o, "positional_snr", jnum(perm > 0 ? (raw - comp) / perm : NAN)) < 0 ||
        jset(o, "noise_floor_per_position_bits", json_real(perm / (double)L)) < 0 ||
        jset(o, "positional_mi_max", json_real(top[0].mi)) < 0 ||
        jset(o, "positional_mi_max_position", json_integer(top[0].pos)) < 0 ||
        jset(o, "top_positions", arr = json_array()) < 0)
        goto ERROR;
    for (l = 0; l < L && l < POS_TOP; l++) {
        json_t *e = json_object();
        if (json_array_append_new(arr, e) < 0 || jset(e, "position", json_integer(top[l].pos)) < 0 ||
            jset(e, "mi_bits", json_real(top[l].mi)) < 0)
            goto ERROR;
    }
    free(cnt); free(ncl); free(yperm); free(buf); free(mi); free(top);
    return o;
ERROR:
    json_decref(o);
    free(cnt); free(ncl); free(yperm); free(buf); free(mi); free(top);
    return NULL;
}

/* ---- duplicates ---------------------------------------------------------------- */

/* Valid rows identical to a train row; -1 when out of memory. */
static int64_t valid_in_train(const ao_seqset *tr, const ao_seqset *va)
{
    ao_row_hash *h = ao_seqset_sorted_hashes(tr);
    int64_t i, hits = 0;
    if (!h) return -1;
    for (i = 0; i < va->n; i++) {
        uint64_t x = ao_seqset_row_hash(va, i);
        int64_t lo = 0, hi = tr->n, j;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (h[mid].h < x) lo = mid + 1;
            else hi = mid;
        }
        for (j = lo; j < tr->n && h[j].h == x; j++)
            if (ao_seqset_rows_equal(tr, h[j].i, va, i)) { hits++; break; }
    }
    free(h);
    return hits;
}

/* ---- the profile ----------------------------------------------------------- */

static json_t *class_counts(const ao_dataset_info *info, const int64_t *cnt)
{
    json_t *o = json_object();
    int k;
    for (k = 0; o && k < info->n_classes; k++)
        if (jset(o, info->classes[k], json_integer(cnt[k])) < 0) { json_decref(o); return NULL; }
    return o;
}

json_t *ao_profile_compute(const ao_seqset *train, const ao_seqset *valid, const ao_dataset_info *info,
                           uint64_t seed, int threads, ao_err *err)
{
    const ao_seqset *s = train;
    json_t *out = NULL, *arr;
    rowstat *rs = NULL;
    int64_t *tmp = NULL, *ncls = NULL, *nval = NULL, *group = NULL, *glab = NULL, i, n_groups = 0, L, n_dup = 0,
            n_dup_groups = 0, n_conf = 0, vin = -1, min_c, max_c, n_other = 0, n_sym = 0, rows_other = 0;
    unsigned char *gconf = NULL;
    double *score = NULL, *gcsum = NULL, sep;
    int64_t *gccnt = NULL;
    int K, k, c, fixed;
    (void)threads;

    if (!s || !s->y || s->n < 1) { ao_err_set(err, AO_EUSAGE, "profile: the training set is empty or unlabelled"); return NULL; }
    if (!info || info->n_classes < 1 || s->n_seq != info->n_seq_cols || s->n_seq < 1 ||
        (valid && valid->n_seq != s->n_seq)) {
        ao_err_set(err, AO_EUSAGE, "profile: the sets' sequence columns do not match the dataset's");
        return NULL;
    }
    K = info->n_classes;
    for (i = 0; i < s->n; i++)
        if (s->y[i] < 0 || s->y[i] >= K) {
            ao_err_set(err, AO_EUSAGE, "profile: row %" PRId64 " has class index %d, outside 0..%d", i, s->y[i], K - 1);
            return NULL;
        }
    if (valid && valid->y)
        for (i = 0; i < valid->n; i++)
            if (valid->y[i] < 0 || valid->y[i] >= K) {
                ao_err_set(err, AO_EUSAGE, "profile: validation row %" PRId64 " has class index %d", i, valid->y[i]);
                return NULL;
            }
    if (!(rs = malloc(sizeof *rs * (size_t)s->n)) || !(tmp = malloc(sizeof *tmp * (size_t)s->n)) ||
        !(ncls = calloc((size_t)K, sizeof *ncls)) || !(nval = calloc((size_t)K, sizeof *nval)) ||
        !(score = malloc(sizeof *score * (size_t)s->n)) || !(gcsum = calloc((size_t)K, sizeof *gcsum)) ||
        !(gccnt = calloc((size_t)K, sizeof *gccnt)) || !(group = malloc(sizeof *group * (size_t)s->n)) ||
        !(out = json_object()))
        goto ERROR_MEM;

    for (i = 0; i < s->n; i++) {
        row_stat(s->seqs[i * s->n_seq], &rs[i]);
        ncls[s->y[i]]++;
        n_other += rs[i].other;
        n_sym += rs[i].len;
        rows_other += rs[i].other > 0;
        if (rs[i].acgt) {
            gcsum[s->y[i]] += (double)rs[i].gc / (double)rs[i].acgt;
            gccnt[s->y[i]]++;
        }
    }
    if (valid && valid->y)
        for (i = 0; i < valid->n; i++) nval[valid->y[i]]++;
    min_c = max_c = ncls[0];
    for (k = 1; k < K; k++) {
        if (ncls[k] < min_c) min_c = ncls[k];
        if (ncls[k] > max_c) max_c = ncls[k];
    }

    if (jset(out, "n_train", json_integer(s->n)) < 0 || jset(out, "n_valid", json_integer(valid ? valid->n : 0)) < 0 ||
        jset(out, "n_classes", json_integer(K)) < 0 || jset(out, "classes", arr = json_array()) < 0)
        goto ERROR_MEM;
    for (k = 0; k < K; k++)
        if (json_array_append_new(arr, json_string(info->classes[k])) < 0) goto ERROR_MEM;
    if (jset(out, "class_counts", class_counts(info, ncls)) < 0 ||
        jset(out, "class_counts_valid", valid && valid->y ? class_counts(info, nval) : json_null()) < 0 ||
        jset(out, "imbalance_ratio", min_c > 0 ? json_real((double)max_c / (double)min_c) : json_null()) < 0 ||
        jset(out, "task", json_string(K == 2 ? "binary" : "multiclass")) < 0 ||
        jset(out, "n_seq_cols", json_integer(s->n_seq)) < 0 || jset(out, "length", arr = json_array()) < 0)
        goto ERROR_MEM;
    for (c = 0; c < s->n_seq; c++)
        if (json_array_append_new(arr, length_stats(s, c, tmp)) < 0) goto ERROR_MEM;
    /* tmp now holds the sorted lengths of the last column; redo column 0. */
    for (i = 0; i < s->n; i++) tmp[i] = rs[i].len;
    qsort(tmp, (size_t)s->n, sizeof *tmp, i64_cmp);
    fixed = tmp[0] == tmp[s->n - 1];
    L = tmp[(s->n - 1) / 2];
    if (L > POS_MAX_LEN) L = POS_MAX_LEN;

    {
        json_t *a = json_object(), *g;
        if (jset(out, "alphabet", a) < 0 ||
            jset(a, "non_acgt_fraction", json_real(n_sym ? (double)n_other / (double)n_sym : 0)) < 0 ||
            jset(a, "rows_with_non_acgt_fraction", json_real((double)rows_other / (double)s->n)) < 0 ||
            jset(out, "gc_by_class", g = json_object()) < 0)
            goto ERROR_MEM;
        for (k = 0; k < K; k++)
            if (jset(g, info->classes[k], gccnt[k] ? json_real(gcsum[k] / (double)gccnt[k]) : json_null()) < 0)
                goto ERROR_MEM;
    }
    for (i = 0; i < s->n; i++) score[i] = rs[i].acgt ? (double)rs[i].gc / (double)rs[i].acgt : 0.5;
    if ((sep = ao_profile_separability(score, s->y, s->n, K)) == -1.0 || jset(out, "gc_separability", jnum(sep)) < 0)
        goto ERROR_MEM;
    for (i = 0; i < s->n; i++) score[i] = (double)rs[i].len;
    if ((sep = ao_profile_separability(score, s->y, s->n, K)) == -1.0 ||
        jset(out, "length_separability", jnum(sep)) < 0)
        goto ERROR_MEM;
    if (jset(out, "kmer_enrichment", kmer_enrichment(s, info)) < 0 ||
        jset(out, "kmer_signal", kmer_signal(s, K, seed)) < 0 ||
        jset(out, "positional_signal", L > 0 ? positional_signal(s, K, ncls, L, fixed, seed) : json_null()) < 0)
        goto ERROR_MEM;

    /* Duplicates and conflicting labels. */
    if (ao_split_dup_groups(s, group, &n_groups, err) < 0) goto ERROR;
    if (!(glab = malloc(sizeof *glab * (size_t)(n_groups ? n_groups : 1))) ||
        !(gconf = calloc((size_t)(n_groups ? n_groups : 1), 1)))
        goto ERROR_MEM;
    memset(tmp, 0, sizeof *tmp * (size_t)(n_groups ? n_groups : 1));   /* group sizes */
    for (i = 0; i < s->n; i++) {
        int64_t g = group[i];
        if (tmp[g]++ == 0) glab[g] = s->y[i];
        else {
            n_dup++;
            if (tmp[g] == 2) n_dup_groups++;
            if (glab[g] != s->y[i] && !gconf[g]) { gconf[g] = 1; n_conf++; }
        }
    }
    if (valid && (vin = valid_in_train(s, valid)) < 0) goto ERROR_MEM;
    if (jset(out, "duplicates", json_integer(n_dup)) < 0 || jset(out, "duplicate_groups", json_integer(n_dup_groups)) < 0 ||
        jset(out, "conflicting_labels", json_integer(n_conf)) < 0 ||
        jset(out, "valid_in_train", valid ? json_integer(vin) : json_null()) < 0)
        goto ERROR_MEM;

    free(rs); free(tmp); free(ncls); free(nval); free(score); free(gcsum); free(gccnt); free(group); free(glab); free(gconf);
    return out;
ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory");
ERROR:
    free(rs); free(tmp); free(ncls); free(nval); free(score); free(gcsum); free(gccnt); free(group); free(glab); free(gconf);
    json_decref(out);
    return NULL;
}
