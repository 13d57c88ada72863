/* analysis.c — prediction exploration for the analyze step (analysis.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/analysis.h"
#include "agentomics/hash.h"
#include "agentomics/metrics.h"
#include "agentomics/tsv.h"

#define PROB_PREFIX "probability_"
#define SUM_TOL 1e-3
#define N_BUCKETS 5
#define N_BINS 10
#define TOP_CONFUSED 5

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static int jset(json_t *o, const char *key, json_t *v) { return v ? json_object_set_new(o, key, v) : -1; }

/* ---- id lookup (open addressing on ao_hash64) ------------------------- */

typedef struct idmap { int64_t cap; int64_t *slot; } idmap;   /* slot: row + 1, 0 = empty */

static int idmap_build(idmap *m, const ao_seqset *s)
{
    int64_t i;
    m->cap = 16;
    while (m->cap < 2 * s->n) m->cap *= 2;
    if (!(m->slot = calloc((size_t)m->cap, sizeof *m->slot))) return -1;
    for (i = 0; i < s->n; i++) {
        uint64_t h = ao_hash64(s->ids[i], strlen(s->ids[i]), 0x1d) & (uint64_t)(m->cap - 1);
        while (m->slot[h]) h = (h + 1) & (uint64_t)(m->cap - 1);
        m->slot[h] = i + 1;
    }
    return 0;
}

/* First row with this id, or -1. (Ids in a seqset are unique.) */
static int64_t idmap_get(const idmap *m, const ao_seqset *s, const char *id)
{
    uint64_t h = ao_hash64(id, strlen(id), 0x1d) & (uint64_t)(m->cap - 1);
    while (m->slot[h]) {
        if (strcmp(s->ids[m->slot[h] - 1], id) == 0) return m->slot[h] - 1;
        h = (h + 1) & (uint64_t)(m->cap - 1);
    }
    return -1;
}

/* ---- prediction files ------------------------------------------------------ */

/* Reads path's predictions for the rows of s into prob (s->n x K, in s's
 * row order and info's class order). */
static int load_preds(const char *path, const ao_seqset *s, const ao_dataset_info *info, double *prob, ao_err *err)
{
    ao_tsv *t = NULL;
    idmap m = {0, NULL};
    int *pcol = NULL, c, k, K = info->n_classes, p_id, p_pred, rc = AO_EMEM;
    long *seen = NULL;   /* per row of s: the prediction file line + 1, 0 = none yet */
    size_t r;
    int64_t i, missing = 0, first_missing = -1;

    if (!(t = ao_tsv_load(path, err))) return err && err->code < AO_END ? err->code : AO_EIO;
    if (!(pcol = malloc(sizeof *pcol * (size_t)K)) || !(seen = calloc((size_t)s->n, sizeof *seen)) ||
        idmap_build(&m, s) < 0)
        goto ERROR;
    rc = AO_EDATA;
    if ((p_id = ao_tsv_col(t, "id")) < 0 || (p_pred = ao_tsv_col(t, "prediction")) < 0) {
        ao_err_at(err, AO_EDATA, path, t->header_line, "no '%s' column: prediction files have id, prediction, probability_<class>...",
                  p_id < 0 ? "id" : "prediction");
        goto ERROR;
    }
    for (k = 0; k < K; k++) {
        char name[512];
        snprintf(name, sizeof name, PROB_PREFIX "%s", info->classes[k]);
        if ((pcol[k] = ao_tsv_col(t, name)) < 0) {
            ao_err_at(err, AO_EDATA, path, t->header_line, "no '%s' column (one probability column per class)", name);
            goto ERROR;
        }
    }
    for (c = 0; c < t->n_cols; c++)
        if (strncmp(t->cols[c], PROB_PREFIX, strlen(PROB_PREFIX)) == 0 &&
            ao_dataset_info_class(info, t->cols[c] + strlen(PROB_PREFIX)) < 0) {
            ao_err_at(err, AO_EDATA, path, t->header_line, "column '%s' is not a class of the dataset", t->cols[c]);
            goto ERROR;
        }
    for (r = 0; r < t->n_rows; r++) {
        const char *id = ao_tsv_get(t, r, p_id), *pc = ao_tsv_get(t, r, p_pred);
        long line = t->line[r];
        double sum = 0;
        if ((i = idmap_get(&m, s, id)) < 0) {
            ao_err_at(err, AO_EDATA, path, line, "id '%s' is not in the set being analysed", id);
            goto ERROR;
        }
        if (seen[i]) {
            ao_err_at(err, AO_EDATA, path, line, "duplicate id '%s' (also on line %ld)", id, seen[i] - 1);
            goto ERROR;
        }
        seen[i] = line + 1;
        if (ao_dataset_info_class(info, pc) < 0) {
            ao_err_at(err, AO_EDATA, path, line, "prediction '%s' is not one of the classes", pc);
            goto ERROR;
        }
        for (k = 0; k < K; k++) {
            const char *f = ao_tsv_get(t, r, pcol[k]);
            char *end;
            double x;
            if (!*f || (unsigned char)*f <= ' ' || (x = strtod(f, &end), *end) || !isfinite(x) || x < 0 || x > 1) {
                ao_err_at(err, AO_EDATA, path, line, "%s is '%s', not a number in [0, 1]", t->cols[pcol[k]], f);
                goto ERROR;
            }
            prob[i * K + k] = x;
            sum += x;
        }
        if (fabs(sum - 1) > SUM_TOL) {
            ao_err_at(err, AO_EDATA, path, line, "the probabilities sum to %.6g, not 1 (tolerance %g)", sum, SUM_TOL);
            goto ERROR;
        }
    }
    for (i = 0; i < s->n; i++)
        if (!seen[i] && missing++ == 0) first_missing = i;
    if (missing) {
        ao_err_at(err, AO_EDATA, path, 0, "no prediction for id '%s' (%lld of %lld ids missing)", s->ids[first_missing],
                  (long long)missing, (long long)s->n);
        goto ERROR;
    }
    rc = AO_OK;
ERROR:
    if (rc == AO_EMEM) ao_err_set(err, AO_EMEM, "out of memory");
    ao_tsv_destroy(t);
    free(m.slot);
    free(pcol);
    free(seen);
    return rc;
}

static ao_metrics *score(const char *path, const ao_seqset *s, const ao_dataset_info *info, double **prob_out, ao_err *err)
{
    double *prob = malloc(sizeof *prob * (size_t)s->n * (size_t)info->n_classes);
    ao_metrics *m = NULL;
    if (!prob) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (load_preds(path, s, info, prob, err) == AO_OK)
        m = ao_metrics_compute((size_t)s->n, info->n_classes, (const char *const *)info->classes, s->y, prob, err);
    if (m && prob_out) *prob_out = prob;
    else free(prob);
    return m;
}

/* ---- buckets -------------------------------------------------------------- */

typedef struct vrow { double v; int wrong; } vrow;

static int vrow_cmp(const void *a, const void *b)
{
    const vrow *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v;
}

/* Quintile buckets of v (sorted in place). */
static json_t *buckets(vrow *v, int64_t n, int integer)
{
    json_t *arr = json_array();
    double q[N_BUCKETS];
    int64_t i = 0;
    int j;
    if (!arr) return NULL;
    qsort(v, (size_t)n, sizeof *v, vrow_cmp);
    for (j = 1; j < N_BUCKETS; j++) {
        int64_t pos = (int64_t)ceil((double)j * (double)n / N_BUCKETS) - 1;
        q[j - 1] = v[pos < 0 ? 0 : pos].v;
    }
    q[N_BUCKETS - 1] = INFINITY;
    for (j = 0; j < N_BUCKETS && i < n; j++) {
        int64_t a = i, errors = 0;
        json_t *b;
        while (i < n && v[i].v <= q[j]) errors += v[i++].wrong;
        if (i == a) continue;
        if (!(b = json_object()) || json_array_append_new(arr, b) < 0 ||
            jset(b, "min", integer ? json_integer((json_int_t)v[a].v) : json_real(v[a].v)) < 0 ||
            jset(b, "max", integer ? json_integer((json_int_t)v[i - 1].v) : json_real(v[i - 1].v)) < 0 ||
            jset(b, "n", json_integer(i - a)) < 0 || jset(b, "errors", json_integer(errors)) < 0 ||
            jset(b, "error_rate", json_real((double)errors / (double)(i - a))) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ---- calibration -------------------------------------------------------------- */

/* 10 equal-width bins of score p with outcome hit (0/1); *ece, *mce. */
static json_t *calib_bins(const double *p, const unsigned char *hit, int64_t n, const char *mean_key,
                          const char *frac_key, double *ece, double *mce)
{
    double sp[N_BINS] = {0}, sh[N_BINS] = {0};
    int64_t cnt[N_BINS] = {0}, i;
    json_t *arr = json_array();
    int b;
    *ece = 0;
    *mce = 0;
    if (!arr) return NULL;
    for (i = 0; i < n; i++) {
        b = (int)(p[i] * N_BINS);
        if (b >= N_BINS) b = N_BINS - 1;
        if (b < 0) b = 0;
        cnt[b]++;
        sp[b] += p[i];
        sh[b] += hit[i];
    }
    for (b = 0; b < N_BINS; b++) {
        json_t *o = json_object();
        double mp = cnt[b] ? sp[b] / (double)cnt[b] : NAN, mh = cnt[b] ? sh[b] / (double)cnt[b] : NAN;
        if (cnt[b]) {
            double gap = fabs(mh - mp);
            *ece += (double)cnt[b] / (double)n * gap;
            if (gap > *mce) *mce = gap;
        }
        if (!o || json_array_append_new(arr, o) < 0 || jset(o, "lower", json_real((double)b / N_BINS)) < 0 ||
            jset(o, "upper", json_real((double)(b + 1) / N_BINS)) < 0 || jset(o, "count", json_integer(cnt[b])) < 0 ||
            jset(o, mean_key, jnum(mp)) < 0 || jset(o, frac_key, jnum(mh)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ---- the analysis ------------------------------------------------------------- */

typedef struct cell { int64_t count; int t, p; } cell;

static int cell_cmp(const void *a, const void *b)
{
    const cell *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    if (x->t != y->t) return x->t - y->t;
    return x->p - y->p;
}

static double gc_fraction(const char *s)
{
    int64_t acgt = 0, gc = 0;
    for (; *s; s++)
        switch (*s) {
        case 'G': case 'C': case 'g': case 'c': gc++; acgt++; break;
        case 'A': case 'T': case 'U': case 'a': case 't': case 'u': acgt++; break;
        default: break;
        }
    return acgt ? (double)gc / (double)acgt : 0;
}

json_t *ao_analysis_compute(const ao_seqset *valid, const ao_dataset_info *info, const char *pred_tsv,
                            const ao_seqset *train, const char *train_pred_tsv, ao_err *err)
{
    ao_metrics *m = NULL, *tm = NULL;
    double *prob = NULL, *maxp = NULL, *pos = NULL;
    unsigned char *hit = NULL;
    vrow *vr = NULL;
    cell *cells = NULL;
    json_t *out = NULL, *o, *a;
    int K, k, j;
    int64_t i, n, n_ok = 0, n_bad = 0, nc = 0;
    double s_ok = 0, s_bad = 0, ece, mce;

    if (!valid || !valid->y || !info || info->n_classes < 2 || !pred_tsv || (!train) != (!train_pred_tsv) ||
        (train && !train->y) || valid->n < 1 || valid->n_seq < 1) {
        ao_err_set(err, AO_EUSAGE, "analysis: needs labelled validation rows, >= 2 classes and a prediction file "
                                   "(and labelled training rows with training predictions)");
        return NULL;
    }
    K = info->n_classes;
    n = valid->n;
    if (!(m = score(pred_tsv, valid, info, &prob, err))) goto ERROR;
    if (train && !(tm = score(train_pred_tsv, train, info, NULL, err))) goto ERROR;
    if (!(maxp = malloc(sizeof *maxp * (size_t)n)) || !(hit = malloc((size_t)n)) ||
        !(vr = malloc(sizeof *vr * (size_t)n)) || !(cells = malloc(sizeof *cells * (size_t)K * (size_t)K)) ||
        !(pos = malloc(sizeof *pos * (size_t)n)) || !(out = json_object()))
        goto ERROR_MEM;
    for (i = 0; i < n; i++) {
        const double *p = prob + i * K;
        int best = 0;
        for (k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        maxp[i] = p[best];
        hit[i] = best == valid->y[i];
        if (hit[i]) { n_ok++; s_ok += maxp[i]; }
        else { n_bad++; s_bad += maxp[i]; }
    }

    if (jset(out, "n", json_integer(n)) < 0 || jset(out, "classes", a = json_array()) < 0) goto ERROR_MEM;
    for (k = 0; k < K; k++)
        if (json_array_append_new(a, json_string(info->classes[k])) < 0) goto ERROR_MEM;
    if (jset(out, "metrics", ao_metrics_json(m)) < 0 ||
        jset(out, "train_metrics", tm ? ao_metrics_json(tm) : json_null()) < 0)
        goto ERROR_MEM;

    /* Confusion matrix and the most confused pairs. */
    {
        json_t *cls, *mat;
        if (jset(out, "confusion_matrix", o = json_object()) < 0 || jset(o, "classes", cls = json_array()) < 0 ||
            jset(o, "matrix", mat = json_array()) < 0)
            goto ERROR_MEM;
        for (k = 0; k < K; k++) {
            json_t *row = json_array();
            if (json_array_append_new(cls, json_string(info->classes[k])) < 0 || json_array_append_new(mat, row) < 0)
                goto ERROR_MEM;
            for (j = 0; j < K; j++) {
                int64_t c = m->confusion[(size_t)k * K + j];
                if (json_array_append_new(row, json_integer(c)) < 0) goto ERROR_MEM;
                if (k != j && c > 0) {
                    cells[nc].count = c;
                    cells[nc].t = k;
                    cells[nc].p = j;
                    nc++;
                }
            }
        }
        qsort(cells, (size_t)nc, sizeof *cells, cell_cmp);
        if (jset(out, "most_confused", a = json_array()) < 0) goto ERROR_MEM;
        for (i = 0; i < nc && i < TOP_CONFUSED; i++) {
            json_t *e = json_object();
            if (json_array_append_new(a, e) < 0 || jset(e, "true", json_string(info->classes[cells[i].t])) < 0 ||
                jset(e, "predicted", json_string(info->classes[cells[i].p])) < 0 ||
                jset(e, "count", json_integer(cells[i].count)) < 0 ||
                jset(e, "fraction_of_true", json_real((double)cells[i].count / (double)m->support[cells[i].t])) < 0)
                goto ERROR_MEM;
        }
    }

    if (jset(out, "per_class", o = json_object()) < 0) goto ERROR_MEM;
    for (k = 0; k < K; k++) {
        json_t *e = json_object();
        if (jset(o, info->classes[k], e) < 0 || jset(e, "recall", jnum(m->recall[k])) < 0 ||
            jset(e, "precision", jnum(m->precision[k])) < 0 || jset(e, "f1", jnum(m->f1[k])) < 0 ||
            jset(e, "support", json_integer(m->support[k])) < 0 || jset(e, "predicted", json_integer(m->predicted[k])) < 0)
            goto ERROR_MEM;
    }

    for (i = 0; i < n; i++) {
        vr[i].v = (double)strlen(valid->seqs[i * valid->n_seq]);
        vr[i].wrong = !hit[i];
    }
    if (jset(out, "errors_by_length", buckets(vr, n, 1)) < 0) goto ERROR_MEM;
    for (i = 0; i < n; i++) {
        vr[i].v = gc_fraction(valid->seqs[i * valid->n_seq]);
        vr[i].wrong = !hit[i];
    }
    if (jset(out, "errors_by_gc", buckets(vr, n, 0)) < 0) goto ERROR_MEM;

    /* Calibration. */
    if (jset(out, "calibration", o = json_object()) < 0 ||
        jset(o, "bins", calib_bins(maxp, hit, n, "mean_confidence", "accuracy", &ece, &mce)) < 0 ||
        jset(o, "ece", json_real(ece)) < 0 || jset(o, "mce", json_real(mce)) < 0)
        goto ERROR_MEM;
    if (K == 2) {
        json_t *pc = json_object();
        unsigned char *ispos = hit;   /* reused: hit is not needed after this point */
        for (i = 0; i < n; i++) {
            pos[i] = prob[i * K + 1];
            ispos[i] = valid->y[i] == 1;
        }
        if (jset(o, "positive_class", pc) < 0 || jset(pc, "class", json_string(info->classes[1])) < 0 ||
            jset(pc, "bins", calib_bins(pos, ispos, n, "mean_predicted", "fraction_positive", &ece, &mce)) < 0 ||
            jset(pc, "ece", json_real(ece)) < 0)
            goto ERROR_MEM;
    } else if (jset(o, "positive_class", json_null()) < 0)
        goto ERROR_MEM;

    if (jset(out, "confidence", o = json_object()) < 0 ||
        jset(o, "mean_max_prob_correct", n_ok ? json_real(s_ok / (double)n_ok) : json_null()) < 0 ||
        jset(o, "mean_max_prob_wrong", n_bad ? json_real(s_bad / (double)n_bad) : json_null()) < 0 ||
        jset(o, "n_correct", json_integer(n_ok)) < 0 || jset(o, "n_wrong", json_integer(n_bad)) < 0)
        goto ERROR_MEM;

    if (!tm) {
        if (jset(out, "generalisation_gap", json_null()) < 0) goto ERROR_MEM;
    } else if (jset(out, "generalisation_gap", o = json_object()) < 0 ||
               jset(o, "accuracy", jnum(tm->accuracy - m->accuracy)) < 0 ||
               jset(o, "auroc", jnum(tm->auroc - m->auroc)) < 0 ||
               jset(o, "f1_macro", jnum(tm->f1_macro - m->f1_macro)) < 0 ||
               jset(o, "mcc", jnum(tm->mcc - m->mcc)) < 0 ||
               jset(o, "log_loss", jnum(tm->log_loss - m->log_loss)) < 0)
        goto ERROR_MEM;

    ao_metrics_destroy(m);
    ao_metrics_destroy(tm);
    free(prob); free(maxp); free(hit); free(vr); free(cells); free(pos);
    return out;
ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory");
ERROR:
    ao_metrics_destroy(m);
    ao_metrics_destroy(tm);
    free(prob); free(maxp); free(hit); free(vr); free(cells); free(pos);
    json_decref(out);
    return NULL;
}
