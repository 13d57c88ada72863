/* split.c — stratified train/validation split with duplicate groups kept
 * together, the normalised TSV writer, and the stratified mini subset. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/rng.h"
#include "agentomics/split.h"

enum { SIDE_TRAIN = 0, SIDE_VALID = 1 };

/* ---- duplicate groups --------------------------------------------------- */

int ao_split_dup_groups(const ao_seqset *s, int64_t *group, int64_t *n_groups, ao_err *err)
{
    ao_row_hash *hr = NULL;
    int64_t *rep = NULL, *reps = NULL, i, a, b, next = 0;
    *n_groups = 0;
    if (s->n <= 0) return AO_OK;
    if (!(hr = ao_seqset_sorted_hashes(s)) || !(rep = malloc(sizeof *rep * (size_t)s->n)) ||
        !(reps = malloc(sizeof *reps * (size_t)s->n)))
        goto ERROR;
    /* Within a run of equal hashes (ascending row order) each row joins
     * the first earlier representative with equal content. */
    for (a = 0; a < s->n; a = b) {
        int64_t nrep = 0, k, r;
        for (b = a + 1; b < s->n && hr[b].h == hr[a].h; b++) {}
        for (k = a; k < b; k++) {
            int64_t row = hr[k].i;
            for (r = 0; r < nrep; r++)
                if (ao_seqset_rows_equal(s, reps[r], s, row)) break;
            if (r < nrep) rep[row] = reps[r];
            else rep[row] = reps[nrep++] = row;
        }
    }
    for (i = 0; i < s->n; i++) group[i] = rep[i] == i ? next++ : group[rep[i]];
    *n_groups = next;
    free(hr);
    free(rep);
    free(reps);
    return AO_OK;
ERROR:
    free(hr);
    free(rep);
    free(reps);
    return ao_err_set(err, AO_EMEM, "out of memory");
}

/* ---- stratified split ---------------------------------------------------- */

static void shuffle_i64(ao_rng *r, int64_t *a, int64_t n)
{
    int64_t i;
    for (i = n; i > 1; i--) {
        int64_t j = (int64_t)ao_rng_below(r, (uint64_t)i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

typedef struct split_ctx {
    int K;
    int64_t G;
    int64_t *gstart, *grows;   /* CSR: rows of group g are grows[gstart[g] .. gstart[g+1]) */
    int *side;                 /* per group */
    int64_t *cnt[2];           /* rows per class on each side (true labels) */
    int64_t *rows;             /* rows per class */
    int64_t *tmp;              /* K scratch */
} split_ctx;

/* Label counts of group g into c->tmp, which is all zero outside a
 * group_counts() ... group_uncount() pair. */
static void group_counts(const ao_seqset *s, split_ctx *c, int64_t g)
{
    int64_t k;
    for (k = c->gstart[g]; k < c->gstart[g + 1]; k++) c->tmp[s->y[c->grows[k]]]++;
}

static void group_uncount(const ao_seqset *s, split_ctx *c, int64_t g)
{
    int64_t k;
    for (k = c->gstart[g]; k < c->gstart[g + 1]; k++) c->tmp[s->y[c->grows[k]]] = 0;
}

/* Whether group g can leave side `from` without leaving it short of a class
 * it must keep: training keeps every class it has, validation every class
 * with >= 2 rows. */
static int can_move(const ao_seqset *s, split_ctx *c, int64_t g, int from)
{
    int64_t k;
    int ok = 1;
    group_counts(s, c, g);
    for (k = c->gstart[g]; k < c->gstart[g + 1]; k++) {
        int d = s->y[c->grows[k]];
        if (c->cnt[from][d] - c->tmp[d] < 1 && (from == SIDE_TRAIN || c->rows[d] >= 2)) ok = 0;
    }
    group_uncount(s, c, g);
    return ok;
}

static void move_group(const ao_seqset *s, split_ctx *c, int64_t g, int to)
{
    int64_t k;
    for (k = c->gstart[g]; k < c->gstart[g + 1]; k++) {
        int d = s->y[c->grows[k]];
        c->cnt[!to][d]--;
        c->cnt[to][d]++;
    }
    c->side[g] = to;
}

/* Moves the smallest group holding class d from side `from` to the other
 * side, if one can move. Returns 1 if moved. */
static int repair_class(const ao_seqset *s, split_ctx *c, int d, int from)
{
    int64_t g, best = -1, best_size = 0;
    for (g = 0; g < c->G; g++) {
        int64_t k, size = c->gstart[g + 1] - c->gstart[g];
        int has = 0;
        if (c->side[g] != from || (best >= 0 && size >= best_size)) continue;
        for (k = c->gstart[g]; k < c->gstart[g + 1] && !has; k++) has = s->y[c->grows[k]] == d;
        if (has && can_move(s, c, g, from)) {
            best = g;
            best_size = size;
        }
    }
    if (best < 0) return 0;
    move_group(s, c, best, !from);
    return 1;
}

static int add_counts(json_t *obj, const int64_t *cnt, int K)
{
    int k;
    for (k = 0; k < K; k++) {
        char key[32];
        snprintf(key, sizeof key, "%d", k);
        if (json_object_set_new(obj, key, json_integer(cnt[k])) < 0) return -1;
    }
    return 0;
}

/* ao_split_stratified with a floor: each class with >= 2 rows gets at
 * least min_valid validation rows (target permitting: at most rows - 1). */
static int split_stratified(const ao_seqset *s, double valid_fraction, int64_t min_valid, uint64_t seed,
                            int64_t **train_idx, int64_t *n_train, int64_t **valid_idx, int64_t *n_valid,
                            json_t **report, ao_err *err)
{
    split_ctx c;
    int64_t *group = NULL, *gmaj = NULL, *order = NULL, *ostart = NULL, *tr = NULL, *va = NULL;
    int64_t i, g, ntr = 0, nva = 0, dup_groups = 0, dup_rows = 0;
    json_t *rep = NULL, *warn = NULL, *cc = NULL;
    ao_rng rng;
    int k, rc = AO_EMEM, pass;

    memset(&c, 0, sizeof c);
    *train_idx = *valid_idx = NULL;
    *n_train = *n_valid = 0;
    if (report) *report = NULL;
    if (!s || !s->y) { rc = ao_err_set(err, AO_EUSAGE, "split: the sequence set has no labels"); goto ERROR; }
    if (!(valid_fraction > 0 && valid_fraction < 1)) {
        rc = ao_err_set(err, AO_EUSAGE, "split: the validation fraction must be in (0, 1), not %g", valid_fraction);
        goto ERROR;
    }
    if (s->n < 2) { rc = ao_err_set(err, AO_EUSAGE, "split: %" PRId64 " row(s), at least 2 are needed", s->n); goto ERROR; }
    for (i = 0; i < s->n; i++) {
        if (s->y[i] < 0) { rc = ao_err_set(err, AO_EUSAGE, "split: row %" PRId64 " has class index %d", i, s->y[i]); goto ERROR; }
        if (s->y[i] + 1 > c.K) c.K = s->y[i] + 1;
    }

    /* Groups as CSR lists of rows. */
    if (!(group = malloc(sizeof *group * (size_t)s->n))) goto ERROR;
    if ((rc = ao_split_dup_groups(s, group, &c.G, err)) < 0) goto ERROR;
    rc = AO_EMEM;
    if (!(c.gstart = calloc((size_t)c.G + 1, sizeof *c.gstart)) || !(c.grows = malloc(sizeof *c.grows * (size_t)s->n)) ||
        !(c.side = calloc((size_t)c.G, sizeof *c.side)) || !(c.cnt[0] = calloc((size_t)c.K, sizeof *c.cnt[0])) ||
        !(c.cnt[1] = calloc((size_t)c.K, sizeof *c.cnt[1])) || !(c.rows = calloc((size_t)c.K, sizeof *c.rows)) ||
        !(c.tmp = calloc((size_t)c.K, sizeof *c.tmp)) || !(gmaj = malloc(sizeof *gmaj * (size_t)c.G)) ||
        !(order = malloc(sizeof *order * (size_t)c.G)) || !(ostart = calloc((size_t)c.K + 1, sizeof *ostart)))
        goto ERROR;
    for (i = 0; i < s->n; i++) {
        c.gstart[group[i] + 1]++;
        c.rows[s->y[i]]++;
    }
    for (g = 0; g < c.G; g++) c.gstart[g + 1] += c.gstart[g];
    {
        int64_t *fill = order;   /* borrowed as a cursor array, reset below */
        for (g = 0; g < c.G; g++) fill[g] = c.gstart[g];
        for (i = 0; i < s->n; i++) c.grows[fill[group[i]]++] = i;
    }

    /* Majority label per group (ties: lowest class index); strata. */
    for (g = 0; g < c.G; g++) {
        int64_t best = -1, k2;
        group_counts(s, &c, g);
        for (k2 = c.gstart[g]; k2 < c.gstart[g + 1]; k2++) {
            int d = s->y[c.grows[k2]];
            if (best < 0 || c.tmp[d] > c.tmp[best] || (c.tmp[d] == c.tmp[best] && d < best)) best = d;
        }
        group_uncount(s, &c, g);
        gmaj[g] = best;
        ostart[best + 1]++;
        if (c.gstart[g + 1] - c.gstart[g] >= 2) {
            dup_groups++;
            dup_rows += c.gstart[g + 1] - c.gstart[g] - 1;
        }
    }
    for (k = 0; k < c.K; k++) ostart[k + 1] += ostart[k];
    {
        int64_t *pos = c.tmp;   /* K cursors */
        for (k = 0; k < c.K; k++) pos[k] = ostart[k];
        for (g = 0; g < c.G; g++) order[pos[gmaj[g]]++] = g;
        memset(c.tmp, 0, sizeof *c.tmp * (size_t)c.K);
    }

    /* Greedy fill of each stratum's validation target in a seeded order. */
    for (i = 0; i < s->n; i++) c.cnt[SIDE_TRAIN][s->y[i]]++;
    ao_rng_seed(&rng, seed ^ 0x53504c4954ULL);
    for (k = 0; k < c.K; k++) {
        int64_t n_rows = 0, target, taken = 0, j;
        for (j = ostart[k]; j < ostart[k + 1]; j++) n_rows += c.gstart[order[j] + 1] - c.gstart[order[j]];
        shuffle_i64(&rng, order + ostart[k], ostart[k + 1] - ostart[k]);
        if (n_rows < 2) continue;
        target = (int64_t)((double)n_rows * valid_fraction + 0.5);
        if (target < min_valid) target = min_valid;
        if (target > n_rows - 1) target = n_rows - 1;
        for (j = ostart[k]; j < ostart[k + 1] && taken < target; j++) {
            int64_t gg = order[j], size = c.gstart[gg + 1] - c.gstart[gg];
            if (taken + size <= target) {
                move_group(s, &c, gg, SIDE_VALID);
                taken += size;
            }
        }
    }

    /* Repair: training holds every class, validation every class with
     * >= 2 rows. */
    for (pass = 0; pass < 2 * c.K + 2; pass++) {
        int moved = 0;
        for (k = 0; k < c.K; k++) {
            if (c.rows[k] >= 1 && c.cnt[SIDE_TRAIN][k] == 0) moved |= repair_class(s, &c, k, SIDE_VALID);
            if (c.rows[k] >= 2 && c.cnt[SIDE_VALID][k] == 0) moved |= repair_class(s, &c, k, SIDE_TRAIN);
        }
        if (!moved) break;
    }
    for (k = 0; k < c.K; k++) {
        if (c.rows[k] >= 2 && (c.cnt[SIDE_TRAIN][k] == 0 || c.cnt[SIDE_VALID][k] == 0)) {
            rc = ao_err_set(err, AO_EDATA,
                            "split: class %d has %" PRId64 " rows but they cannot be put on both sides of the split "
                            "(identical sequences stay together)", k, c.rows[k]);
            goto ERROR;
        }
        if (c.rows[k] >= 1 && c.cnt[SIDE_TRAIN][k] == 0) {
            rc = ao_err_set(err, AO_EDATA, "split: class %d cannot keep a row in training", k);
            goto ERROR;
        }
    }

    /* Outputs. */
    rc = AO_EMEM;
    for (i = 0; i < s->n; i++) {
        if (c.side[group[i]] == SIDE_VALID) nva++;
        else ntr++;
    }
    if (!(tr = malloc(sizeof *tr * (size_t)(ntr ? ntr : 1))) || !(va = malloc(sizeof *va * (size_t)(nva ? nva : 1))))
        goto ERROR;
    ntr = nva = 0;
    for (i = 0; i < s->n; i++) {
        if (c.side[group[i]] == SIDE_VALID) va[nva++] = i;
        else tr[ntr++] = i;
    }
    if (report) {
        json_t *t, *v;
        if (!(rep = json_object()) ||
            json_object_set_new(rep, "valid_fraction", json_real(valid_fraction)) < 0 ||
            json_object_set_new(rep, "seed", json_integer((json_int_t)seed)) < 0 ||
            json_object_set_new(rep, "n_train", json_integer(ntr)) < 0 ||
            json_object_set_new(rep, "n_valid", json_integer(nva)) < 0 ||
            json_object_set_new(rep, "class_counts", cc = json_object()) < 0 ||
            json_object_set_new(cc, "train", t = json_object()) < 0 ||
            json_object_set_new(cc, "valid", v = json_object()) < 0 ||
            add_counts(t, c.cnt[SIDE_TRAIN], c.K) < 0 || add_counts(v, c.cnt[SIDE_VALID], c.K) < 0 ||
            json_object_set_new(rep, "duplicate_groups_kept_together", json_integer(dup_groups)) < 0 ||
            json_object_set_new(rep, "duplicate_rows", json_integer(dup_rows)) < 0 ||
            json_object_set_new(rep, "warnings", warn = json_array()) < 0)
            goto ERROR;
        for (k = 0; k < c.K; k++)
            if (c.rows[k] == 1) {
                char msg[160];
                snprintf(msg, sizeof msg, "class %d has a single row: it is kept in training and absent from validation", k);
                if (json_array_append_new(warn, json_string(msg)) < 0) goto ERROR;
            }
        *report = rep;
    }
    *train_idx = tr;
    *valid_idx = va;
    *n_train = ntr;
    *n_valid = nva;
    rc = AO_OK;
    tr = va = NULL;
    rep = NULL;
ERROR:
    if (rc == AO_EMEM) ao_err_set(err, AO_EMEM, "out of memory");
    json_decref(rep);
    free(group); free(gmaj); free(order); free(ostart); free(tr); free(va);
    free(c.gstart); free(c.grows); free(c.side); free(c.cnt[0]); free(c.cnt[1]); free(c.rows); free(c.tmp);
    return rc;
}

int ao_split_stratified(const ao_seqset *s, double valid_fraction, uint64_t seed,
                        int64_t **train_idx, int64_t *n_train, int64_t **valid_idx, int64_t *n_valid,
                        json_t **report, ao_err *err)
{
    return split_stratified(s, valid_fraction, 1, seed, train_idx, n_train, valid_idx, n_valid, report, err);
}

int ao_split_selection(const ao_seqset *s, double fraction, uint64_t seed, int64_t **keep_idx, int64_t *n_keep,
                       int64_t **sel_idx, int64_t *n_sel, char *why, size_t why_size, ao_err *err)
{
    int64_t *cnt = NULL, i;
    int K = 0, k, rc;
    *keep_idx = *sel_idx = NULL;
    *n_keep = *n_sel = 0;
    if (why_size) why[0] = '\0';
    if (!s || !s->y) return ao_err_set(err, AO_EUSAGE, "selection slice: the sequence set has no labels");
    if (!(fraction > 0 && fraction < 1)) return ao_err_set(err, AO_EUSAGE, "selection slice: the fraction must be in (0, 1), not %g", fraction);
    for (i = 0; i < s->n; i++) if (s->y[i] >= K) K = s->y[i] + 1;
    if (!(cnt = calloc((size_t)(K ? K : 1), sizeof *cnt))) return ao_err_set(err, AO_EMEM, "out of memory");
    for (i = 0; i < s->n; i++) if (s->y[i] >= 0) cnt[s->y[i]]++;
    for (k = 0; k < K; k++)
        if (cnt[k] < AO_SELECTION_MIN_CLASS_ROWS) {
            snprintf(why, why_size, "class %d has %" PRId64 " row(s), fewer than %d", k, cnt[k], AO_SELECTION_MIN_CLASS_ROWS);
            free(cnt);
            return AO_OK;
        }
    free(cnt);
    if (K < 2) { snprintf(why, why_size, "a single class"); return AO_OK; }
    rc = split_stratified(s, fraction, 2, seed, keep_idx, n_keep, sel_idx, n_sel, NULL, err);
    if (rc == AO_EDATA) {
        /* duplicate groups that cannot be divided: no slice, said why */
        snprintf(why, why_size, "%s", err->msg);
        ao_err_init(err);
        return AO_OK;
    }
    return rc;
}

int ao_split_report_name_classes(json_t *report, const ao_dataset_info *info)
{
    json_t *cc = json_object_get(report, "class_counts");
    const char *side[2] = {"train", "valid"};
    int s, k;
    for (s = 0; s < 2; s++) {
        json_t *old = json_object_get(cc, side[s]), *nw;
        if (!old) continue;
        if (!(nw = json_object())) return AO_EMEM;
        for (k = 0; k < info->n_classes; k++) {
            char key[32];
            json_t *v;
            snprintf(key, sizeof key, "%d", k);
            v = json_object_get(old, key);
            if (json_object_set_new(nw, info->classes[k], json_integer(v ? json_integer_value(v) : 0)) < 0) {
                json_decref(nw);
                return AO_EMEM;
            }
        }
        if (json_object_set_new(cc, side[s], nw) < 0) return AO_EMEM;
    }
    return AO_OK;
}

/* ---- writer ---------------------------------------------------------------- */

int ao_split_write(const ao_seqset *s, const int64_t *idx, int64_t n, const ao_dataset_info *info,
                   const char *path, ao_err *err)
{
    ao_outfile *of = NULL;
    int64_t i;
    int c, rc;
    if (s->n_seq != info->n_seq_cols) {
        rc = ao_err_set(err, AO_EUSAGE, "%s: the set has %d sequence column(s), the dataset %d", path, s->n_seq,
                        info->n_seq_cols);
        goto ERROR;
    }
    if (!(of = ao_outfile_open(path, err))) { rc = err && err->code < AO_END ? err->code : AO_EIO; goto ERROR; }
    fputs("id", of->fp);
    for (c = 0; c < s->n_seq; c++) fprintf(of->fp, "\t%s", info->seq_cols[c]);
    fputs(s->y ? "\tlabel\n" : "\n", of->fp);
    for (i = 0; i < n; i++) {
        int64_t r = idx[i];
        if (r < 0 || r >= s->n) { rc = ao_err_set(err, AO_EUSAGE, "%s: row index %" PRId64 " out of range", path, r); goto ERROR; }
        if (strpbrk(s->ids[r], "\t\r\n")) {
            rc = ao_err_set(err, AO_EDATA, "%s: id '%s' contains a tab or line break", path, s->ids[r]);
            goto ERROR;
        }
        fputs(s->ids[r], of->fp);
        for (c = 0; c < s->n_seq; c++) {
            putc('\t', of->fp);
            fputs(s->seqs[r * s->n_seq + c], of->fp);
        }
        if (s->y) {
            if (s->y[r] < 0 || s->y[r] >= info->n_classes) {
                rc = ao_err_set(err, AO_EDATA, "%s: row '%s' has class index %d, outside the dataset's %d classes", path,
                                s->ids[r], s->y[r], info->n_classes);
                goto ERROR;
            }
            putc('\t', of->fp);
            fputs(info->classes[s->y[r]], of->fp);
        }
        putc('\n', of->fp);
    }
    if ((rc = ao_outfile_commit(of, err)) < 0) goto ERROR;
    ao_outfile_destroy(of);
    return AO_OK;
ERROR:
    ao_outfile_destroy(of);
    return rc;
}

/* ---- mini subset ----------------------------------------------------------- */

int ao_split_mini(const ao_seqset *s, int64_t per_class, uint64_t seed, int64_t **idx, int64_t *n)
{
    int64_t *rows = NULL, *start = NULL, *pos = NULL, *out = NULL, i, m = 0;
    unsigned char *take = NULL;
    int K = 0, k, rc = AO_EMEM;
    ao_rng rng;
    *idx = NULL;
    *n = 0;
    if (!s || !s->y || per_class < 1) return AO_EUSAGE;
    for (i = 0; i < s->n; i++) {
        if (s->y[i] < 0) return AO_EUSAGE;
        if (s->y[i] + 1 > K) K = s->y[i] + 1;
    }
    if (!(rows = malloc(sizeof *rows * (size_t)(s->n ? s->n : 1))) || !(start = calloc((size_t)K + 1, sizeof *start)) ||
        !(pos = calloc((size_t)K + 1, sizeof *pos)) || !(take = calloc((size_t)(s->n ? s->n : 1), 1)))
        goto ERROR;
    for (i = 0; i < s->n; i++) start[s->y[i] + 1]++;
    for (k = 0; k < K; k++) start[k + 1] += start[k];
    for (k = 0; k < K; k++) pos[k] = start[k];
    for (i = 0; i < s->n; i++) rows[pos[s->y[i]]++] = i;
    ao_rng_seed(&rng, seed ^ 0x4d494e49ULL);
    for (k = 0; k < K; k++) {
        int64_t cnt = start[k + 1] - start[k], want = cnt < per_class ? cnt : per_class, j;
        /* Partial Fisher-Yates: the first `want` of the class's rows. */
        for (j = 0; j < want; j++) {
            int64_t r = j + (int64_t)ao_rng_below(&rng, (uint64_t)(cnt - j)), t = rows[start[k] + j];
            rows[start[k] + j] = rows[start[k] + r];
            rows[start[k] + r] = t;
            take[rows[start[k] + j]] = 1;
        }
        m += want;
    }
    if (!(out = malloc(sizeof *out * (size_t)(m ? m : 1)))) goto ERROR;
    for (i = 0, m = 0; i < s->n; i++)
        if (take[i]) out[m++] = i;
    *idx = out;
    *n = m;
    rc = AO_OK;
ERROR:
    free(rows); free(start); free(pos); free(take);
    return rc;
}
