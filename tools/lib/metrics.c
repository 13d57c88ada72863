/* metrics.c — classification metrics equal to scikit-learn's, and the
 * prediction/labels join (see metrics.h for the definitions). */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/hash.h"
#include "agentomics/jsonfield.h"
#include "agentomics/metrics.h"

#define PROB_PREFIX "probability_"
#define SUM_TOL 1e-3

void ao_metrics_destroy(ao_metrics *m)
{
    int k;
    if (!m) return;
    if (m->classes)
        for (k = 0; k < m->n_classes; k++) free(m->classes[k]);
    free(m->classes);
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->auroc_class);
    free(m->auprc_class);
    free(m->support);
    free(m->predicted);
    free(m->confusion);
    free(m);
}

/* One (score, is positive) pair for the ranking metrics. */
typedef struct scored { double s; int pos; } scored;

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

/* AUROC (trapezoid over distinct thresholds = Mann-Whitney with ties
 * counted one half) and average precision of one ranking, sorted by
 * descending score. AUROC is NaN without positives or without negatives;
 * AP is 0 without positives (as sklearn). */
static void rank_metrics(const scored *v, size_t n, double *auroc, double *ap)
{
    double tp = 0, fp = 0, area = 0, sum_ap = 0, prev_recall = 0, npos = 0, nneg;
    size_t i, j;
    for (i = 0; i < n; i++) npos += v[i].pos;
    nneg = (double)n - npos;
    for (i = 0; i < n; i = j) {
        double dtp = 0, dfp = 0;
        for (j = i; j < n && v[j].s == v[i].s; j++) {
            if (v[j].pos) dtp++; else dfp++;
        }
        area += dfp * (2 * tp + dtp) / 2;
        tp += dtp;
        fp += dfp;
        if (npos > 0) {
            double recall = tp / npos, precision = tp / (tp + fp);
            sum_ap += (recall - prev_recall) * precision;
            prev_recall = recall;
        }
    }
    *auroc = (npos > 0 && nneg > 0) ? area / (npos * nneg) : NAN;
    *ap = npos > 0 ? sum_ap : 0.0;
}

ao_metrics *ao_metrics_compute(size_t n, int n_classes, const char *const *classes,
                               const int *y_true, const double *prob, ao_err *err)
{
    return ao_metrics_compute_at(n, n_classes, classes, y_true, prob, NAN, err);
}

ao_metrics *ao_metrics_compute_at(size_t n, int n_classes, const char *const *classes,
                                  const int *y_true, const double *prob, double threshold, ao_err *err)
{
    ao_metrics *m = NULL;
    scored *v = NULL;
    size_t K = (size_t)n_classes, i, k, j;
    double correct = 0, sum_recall = 0, sum_f1 = 0, loss = 0;
    double t_dot_p = 0, t_dot_t = 0, p_dot_p = 0, nn, cov_tp, cov_tt, cov_pp;
    int n_present = 0, n_seen = 0, all_auroc = 1;
    const double eps = DBL_EPSILON;

    if (n_classes < 2) { ao_err_set(err, AO_EUSAGE, "at least two classes are needed, got %d", n_classes); return NULL; }
    if (!isnan(threshold) && !ao_threshold_usable(threshold, n_classes)) {
        ao_err_set(err, AO_EUSAGE, "a decision threshold needs two classes and a value in (0, 1), got %d classes and %g", n_classes, threshold);
        return NULL;
    }
    if (n == 0) { ao_err_set(err, AO_EDATA, "no rows to score"); return NULL; }
    for (i = 0; i < n; i++) {
        if (y_true[i] < 0 || y_true[i] >= n_classes) {
            ao_err_set(err, AO_EUSAGE, "row %zu: class index %d out of range [0, %d)", i + 1, y_true[i], n_classes);
            return NULL;
        }
        for (k = 0; k < K; k++)
            if (!isfinite(prob[i * K + k])) {
                ao_err_set(err, AO_EDATA, "row %zu: probability of class %zu is not finite", i + 1, k);
                return NULL;
            }
    }

    if (!(m = calloc(1, sizeof *m))) goto ERROR_MEM;
    m->n = n;
    m->n_classes = n_classes;
    m->threshold = threshold;
    if (!(m->classes = calloc(K, sizeof *m->classes))) goto ERROR_MEM;
    for (k = 0; k < K; k++) {
        if (classes) m->classes[k] = strdup(classes[k]);
        else if (asprintf(&m->classes[k], "%zu", k) < 0) m->classes[k] = NULL;
        if (!m->classes[k]) goto ERROR_MEM;
    }
    if (!(m->precision = calloc(K, sizeof(double))) || !(m->recall = calloc(K, sizeof(double))) ||
        !(m->f1 = calloc(K, sizeof(double))) || !(m->auroc_class = calloc(K, sizeof(double))) ||
        !(m->auprc_class = calloc(K, sizeof(double))) || !(m->support = calloc(K, sizeof(long))) ||
        !(m->predicted = calloc(K, sizeof(long))) || !(m->confusion = calloc(K * K, sizeof(long))))
        goto ERROR_MEM;

    /* Argmax (or thresholded) predictions, confusion matrix, log loss. */
    for (i = 0; i < n; i++) {
        const double *p = prob + i * K;
        size_t best = 0;
        double rowsum = 0;
        for (k = 1; k < K; k++)
            if (p[k] > p[best]) best = k;
        if (!isnan(threshold)) best = p[1] >= threshold;
        m->confusion[(size_t)y_true[i] * K + best]++;
        for (k = 0; k < K; k++) rowsum += fmin(fmax(p[k], eps), 1 - eps);
        loss -= log(fmin(fmax(p[y_true[i]], eps), 1 - eps) / rowsum);
    }
    m->log_loss = loss / (double)n;

    for (k = 0; k < K; k++) {
        long tp = m->confusion[k * K + k];
        for (j = 0; j < K; j++) {
            m->support[k] += m->confusion[k * K + j];
            m->predicted[k] += m->confusion[j * K + k];
        }
        correct += (double)tp;
        m->precision[k] = m->predicted[k] ? (double)tp / (double)m->predicted[k] : 0.0;
        m->recall[k] = m->support[k] ? (double)tp / (double)m->support[k] : 0.0;
        m->f1[k] = (m->precision[k] + m->recall[k]) > 0
                       ? 2 * m->precision[k] * m->recall[k] / (m->precision[k] + m->recall[k]) : 0.0;
        if (m->support[k]) { sum_recall += m->recall[k]; n_present++; }
        if (m->support[k] || m->predicted[k]) { sum_f1 += m->f1[k]; n_seen++; }
        t_dot_p += (double)m->support[k] * (double)m->predicted[k];
        t_dot_t += (double)m->support[k] * (double)m->support[k];
        p_dot_p += (double)m->predicted[k] * (double)m->predicted[k];
    }
    nn = (double)n;
    m->accuracy = correct / nn;
    m->balanced_accuracy = sum_recall / n_present;
    m->f1_macro = sum_f1 / n_seen;
    cov_tp = correct * nn - t_dot_p;
    cov_pp = nn * nn - p_dot_p;
    cov_tt = nn * nn - t_dot_t;
    m->mcc = (cov_pp * cov_tt == 0) ? 0.0 : cov_tp / sqrt(cov_tt * cov_pp);

    /* One-vs-rest ranking metrics. */
    if (!(v = malloc(n * sizeof *v))) goto ERROR_MEM;
    m->auroc = 0;
    m->auprc = 0;
    for (k = 0; k < K; k++) {
        for (i = 0; i < n; i++) {
            v[i].s = prob[i * K + k];
            v[i].pos = (size_t)y_true[i] == k;
        }
        qsort(v, n, sizeof *v, cmp_desc);
        rank_metrics(v, n, &m->auroc_class[k], &m->auprc_class[k]);
        if (isnan(m->auroc_class[k])) all_auroc = 0;
        m->auroc += m->auroc_class[k];
        m->auprc += m->auprc_class[k];
    }
    if (K == 2) {
        m->auroc = m->auroc_class[1];
        m->auprc = m->auprc_class[1];
    } else {
        m->auroc = all_auroc ? m->auroc / (double)K : NAN;
        m->auprc /= (double)K;
    }
    free(v);
    return m;

ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory");
    free(v);
    ao_metrics_destroy(m);
    return NULL;
}

double ao_metrics_value(const ao_metrics *m, const char *name)
{
    return !m || !name ? NAN : !strcmp(name, "auroc") ? m->auroc : !strcmp(name, "auprc") ? m->auprc : !strcmp(name, "mcc") ? m->mcc
         : !strcmp(name, "f1_macro") ? m->f1_macro : !strcmp(name, "accuracy") ? m->accuracy
         : !strcmp(name, "balanced_accuracy") ? m->balanced_accuracy : !strcmp(name, "log_loss") ? m->log_loss : NAN;
}

/* ---- decision thresholds ---- */

static const char *const threshold_metrics[] = {"mcc", "f1_macro", "accuracy", "balanced_accuracy", NULL};

/* metric's index in threshold_metrics (binary_metric's `which`), -1 for another */
static int threshold_metric_index(const char *metric)
{
    int i;
    for (i = 0; metric && threshold_metrics[i]; i++) if (!strcmp(metric, threshold_metrics[i])) return i;
    return -1;
}

int ao_metric_needs_threshold(const char *metric) { return threshold_metric_index(metric) >= 0; }

/* A threshold metric from a binary confusion matrix, with the definitions
 * of ao_metrics_compute (macro F1 over the classes present in truth or
 * prediction, balanced accuracy over the classes present in truth). */
static double binary_metric(int which, double tp, double fp, double fn, double tn)
{
    double P = tp + fn, N = tn + fp, n = P + N, den;
    switch (which) {
    case 0:
        den = (tp + fp) * P * (tn + fn) * N;
        return den == 0 ? 0.0 : (tp * tn - fp * fn) / sqrt(den);
    case 1: {
        double sum = 0;
        int seen = 0;
        if (P > 0 || tp + fp > 0) { sum += 2 * tp / (2 * tp + fp + fn); seen++; }
        if (N > 0 || tn + fn > 0) { sum += 2 * tn / (2 * tn + fn + fp); seen++; }
        return seen ? sum / seen : 0.0;
    }
    case 2: return (tp + tn) / n;
    default: {
        double sum = 0;
        int present = 0;
        if (P > 0) { sum += tp / P; present++; }
        if (N > 0) { sum += tn / N; present++; }
        return present ? sum / present : 0.0;
    }
    }
}

typedef struct { double p; int y; } thr_row;

static int by_p_asc(const void *a, const void *b)
{
    double x = ((const thr_row *)a)->p, y = ((const thr_row *)b)->p;
    return (x > y) - (x < y);
}

int ao_threshold_choose(size_t n, const int *y, const double *prob, const char *metric, double *threshold, double *best,
                        double *at_argmax, ao_err *err)
{
    thr_row *v = NULL;
    double tp = 0, fp = 0, fn = 0, tn = 0, bt = NAN, bv = -INFINITY;
    size_t i, j;
    int which = threshold_metric_index(metric);
    *threshold = NAN;
    *best = *at_argmax = NAN;
    if (which < 0) return ao_err_set(err, AO_EUSAGE, "metric '%s' does not depend on a threshold", metric ? metric : "(null)");
    if (n == 0) return ao_err_set(err, AO_EDATA, "no rows to choose a threshold on");
    if (!(v = malloc(n * sizeof *v))) return ao_err_set(err, AO_EMEM, "out of memory");
    for (i = 0; i < n; i++) {
        v[i].p = prob[2 * i + 1];
        v[i].y = y[i] == 1;
        if (v[i].y) tp++; else fp++;
    }
    *at_argmax = ao_threshold_metric(n, y, prob, metric, NAN);
    qsort(v, n, sizeof *v, by_p_asc);
    /* sweep upwards: everything starts predicted positive; each group of
     * equal probabilities moves to negative, then the midpoint to the next
     * value is a candidate */
    for (i = 0; i < n; i = j) {
        for (j = i; j < n && v[j].p == v[i].p; j++) {
            if (v[j].y) { tp--; fn++; } else { fp--; tn++; }
        }
        if (j < n) {
            double t = v[i].p + (v[j].p - v[i].p) / 2, val = binary_metric(which, tp, fp, fn, tn);
            if (val > bv || (val == bv && (fabs(t - 0.5) < fabs(bt - 0.5)))) { bv = val; bt = t; }
        }
    }
    free(v);
    if (isnan(bt)) return AO_OK;
    *best = bv;
    if (bv > *at_argmax) *threshold = bt;
    return AO_OK;
}

double ao_threshold_metric(size_t n, const int *y, const double *prob, const char *metric, double threshold)
{
    double tp = 0, fp = 0, fn = 0, tn = 0;
    size_t i;
    int which = threshold_metric_index(metric);
    if (which < 0 || n == 0) return NAN;
    for (i = 0; i < n; i++) {
        /* as agentomics-predict decides: p >= threshold, else the argmax (first class on ties) */
        int pos = isnan(threshold) ? prob[2 * i + 1] > prob[2 * i] : prob[2 * i + 1] >= threshold;
        if (y[i] == 1) { if (pos) tp++; else fn++; }
        else { if (pos) fp++; else tn++; }
    }
    return binary_metric(which, tp, fp, fn, tn);
}

int ao_threshold_decide(size_t n, const int *y, const double *prob, size_t nc, const int *yc, const double *pc, const char *metric,
                        ao_threshold_decision *d, ao_err *err)
{
    int rc = ao_threshold_choose(n, y, prob, metric, &d->chosen, &d->best, &d->at_argmax, err);
    d->threshold = d->confirm = d->confirm_argmax = NAN;
    if (rc < 0 || isnan(d->chosen)) return rc;
    d->threshold = d->chosen;
    if (nc == 0) return AO_OK;
    d->confirm = ao_threshold_metric(nc, yc, pc, metric, d->chosen);
    d->confirm_argmax = ao_threshold_metric(nc, yc, pc, metric, NAN);
    if (!(d->confirm > d->confirm_argmax)) d->threshold = NAN;
    return AO_OK;
}

/* ---- JSON and text output ---- */

static json_t *num_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int add(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

static int add_warnings(json_t *arr, const ao_metrics *m)
{
    int k, K = m->n_classes, bad = 0;
    char *s = NULL;
    for (k = 0; k < K; k++) {
        if (m->support[k] > 0) continue;
        if (K == 2 && k == 0) {
            if (asprintf(&s, "the labels hold no row of class '%s': AUROC is undefined (null)",
                         m->classes[k]) < 0) return -1;
        } else if (K == 2) {
            if (asprintf(&s, "the labels hold no row of the positive class '%s': AUROC is undefined "
                         "(null) and average precision is 0", m->classes[k]) < 0) return -1;
        } else {
            if (asprintf(&s, "the labels hold no row of class '%s': its one-vs-rest AUROC is "
                         "undefined, so the macro AUROC is null; its average precision counts as 0 "
                         "in the macro AUPRC", m->classes[k]) < 0) return -1;
        }
        bad |= json_array_append_new(arr, json_string(s));
        free(s);
        s = NULL;
    }
    return bad ? -1 : 0;
}

json_t *ao_metrics_json(const ao_metrics *m)
{
    json_t *o = json_object(), *a, *pc, *cm, *row, *c;
    int k, j, K, bad = 0;
    if (!o || !m) { json_decref(o); return NULL; }
    K = m->n_classes;
    bad |= add(o, "n", json_integer((json_int_t)m->n));
    bad |= add(o, "n_classes", json_integer(K));
    bad |= add(o, "task", json_string(K == 2 ? "binary" : "multiclass"));
    if (!(a = json_array()) || add(o, "classes", a) < 0) goto ERROR;
    for (k = 0; k < K; k++) bad |= json_array_append_new(a, json_string(m->classes[k]));
    bad |= add(o, "positive_class", K == 2 ? json_string(m->classes[1]) : json_null());
    bad |= add(o, "average", json_string(K == 2 ? "binary" : "macro-ovr"));
    bad |= add(o, "accuracy", num_or_null(m->accuracy));
    bad |= add(o, "balanced_accuracy", num_or_null(m->balanced_accuracy));
    bad |= add(o, "auroc", num_or_null(m->auroc));
    bad |= add(o, "auprc", num_or_null(m->auprc));
    bad |= add(o, "f1_macro", num_or_null(m->f1_macro));
    bad |= add(o, "mcc", num_or_null(m->mcc));
    bad |= add(o, "log_loss", num_or_null(m->log_loss));
    bad |= add(o, "threshold", num_or_null(m->threshold));
    if (!(pc = json_object()) || add(o, "per_class", pc) < 0) goto ERROR;
    for (k = 0; k < K; k++) {
        if (!(c = json_object()) || add(pc, m->classes[k], c) < 0) goto ERROR;
        bad |= add(c, "precision", num_or_null(m->precision[k]));
        bad |= add(c, "recall", num_or_null(m->recall[k]));
        bad |= add(c, "f1", num_or_null(m->f1[k]));
        bad |= add(c, "support", json_integer(m->support[k]));
        bad |= add(c, "predicted", json_integer(m->predicted[k]));
        bad |= add(c, "auroc", num_or_null(m->auroc_class[k]));
        bad |= add(c, "auprc", num_or_null(m->auprc_class[k]));
    }
    if (!(cm = json_array()) || add(o, "confusion_matrix", cm) < 0) goto ERROR;
    for (k = 0; k < K; k++) {
        if (!(row = json_array()) || json_array_append_new(cm, row) < 0) goto ERROR;
        for (j = 0; j < K; j++)
            bad |= json_array_append_new(row, json_integer(m->confusion[(size_t)k * K + j]));
    }
    if (!(a = json_array()) || add(o, "warnings", a) < 0) goto ERROR;
    if (add_warnings(a, m) < 0) goto ERROR;
    if (bad) goto ERROR;
    return o;
ERROR:
    json_decref(o);
    return NULL;
}

static void put_num(FILE *fp, double x)
{
    if (isfinite(x)) fprintf(fp, "  %10.6f", x);
    else fprintf(fp, "  %10s", "NA");
}

int ao_metrics_print(FILE *fp, const ao_metrics *m)
{
    int k, j, K = m->n_classes, w = 9;
    static const char *names[] = {"accuracy", "balanced_accuracy", "auroc", "auprc",
                                  "f1_macro", "mcc", "log_loss"};
    double vals[7];
    vals[0] = m->accuracy; vals[1] = m->balanced_accuracy; vals[2] = m->auroc;
    vals[3] = m->auprc; vals[4] = m->f1_macro; vals[5] = m->mcc; vals[6] = m->log_loss;

    for (k = 0; k < K; k++) {
        int l = (int)strlen(m->classes[k]);
        if (l > w) w = l;
    }
    if (K == 2)
        fprintf(fp, "%zu rows, 2 classes (binary; AUROC/AUPRC of the positive class '%s')\n\n",
                m->n, m->classes[1]);
    else
        fprintf(fp, "%zu rows, %d classes (multiclass; AUROC/AUPRC are one-vs-rest macro averages)\n\n",
                m->n, K);
    fprintf(fp, "%-18s  %10s\n", "metric", "value");
    for (k = 0; k < 7; k++) {
        fprintf(fp, "%-18s", names[k]);
        put_num(fp, vals[k]);
        fputc('\n', fp);
    }
    fprintf(fp, "\n%-*s  %10s  %10s  %10s  %10s  %10s  %10s  %10s\n", w, "class", "precision",
            "recall", "f1", "support", "predicted", "auroc", "auprc");
    for (k = 0; k < K; k++) {
        fprintf(fp, "%-*s", w, m->classes[k]);
        put_num(fp, m->precision[k]);
        put_num(fp, m->recall[k]);
        put_num(fp, m->f1[k]);
        fprintf(fp, "  %10ld  %10ld", m->support[k], m->predicted[k]);
        put_num(fp, m->auroc_class[k]);
        put_num(fp, m->auprc_class[k]);
        fputc('\n', fp);
    }
    fprintf(fp, "\nconfusion matrix (rows: true class, columns: predicted class)\n%-*s", w, "");
    for (j = 0; j < K; j++) fprintf(fp, "  %*s", w, m->classes[j]);
    fputc('\n', fp);
    for (k = 0; k < K; k++) {
        fprintf(fp, "%-*s", w, m->classes[k]);
        for (j = 0; j < K; j++) fprintf(fp, "  %*ld", w, m->confusion[(size_t)k * K + j]);
        fputc('\n', fp);
    }
    for (k = 0, j = 0; k < K; k++)
        if (m->support[k] == 0)
            fprintf(fp, "%snote: no true row of class '%s': its AUROC is undefined (NA)%s\n", j++ ? "" : "\n",
                    m->classes[k], K > 2 ? ", and so is the macro AUROC; its average precision counts as 0" : "");
    return ferror(fp) ? AO_EIO : AO_OK;
}

/* ---- the prediction/labels join ---- */

/* An open-addressing set of row indices keyed by a table column. */
typedef struct idmap {
    size_t cap;        /* power of two */
    size_t *slot;      /* row + 1, 0 = empty */
} idmap;

static int idmap_init(idmap *h, size_t n)
{
    h->cap = 16;
    while (h->cap < 2 * n) h->cap <<= 1;
    h->slot = calloc(h->cap, sizeof *h->slot);
    return h->slot ? 0 : -1;
}

/* Finds key; returns its row, or inserts `row` and returns (size_t)-1. */
static size_t idmap_put(idmap *h, const ao_tsv *t, int col, const char *key, size_t row)
{
    size_t i = (size_t)ao_hash64(key, strlen(key), 0x5eed) & (h->cap - 1);
    for (;; i = (i + 1) & (h->cap - 1)) {
        if (!h->slot[i]) { h->slot[i] = row + 1; return (size_t)-1; }
        if (strcmp(ao_tsv_get(t, h->slot[i] - 1, col), key) == 0) return h->slot[i] - 1;
    }
}

static size_t idmap_get(const idmap *h, const ao_tsv *t, int col, const char *key)
{
    size_t i = (size_t)ao_hash64(key, strlen(key), 0x5eed) & (h->cap - 1);
    for (;; i = (i + 1) & (h->cap - 1)) {
        if (!h->slot[i]) return (size_t)-1;
        if (strcmp(ao_tsv_get(t, h->slot[i] - 1, col), key) == 0) return h->slot[i] - 1;
    }
}

static int find_class(char *const *classes, int K, const char *name)
{
    int k;
    for (k = 0; k < K; k++)
        if (strcmp(classes[k], name) == 0) return k;
    return -1;
}

/* "'a', 'b', 'c'" (shortened when long) for messages. */
static void class_list(char *out, size_t size, char *const *classes, int K)
{
    size_t used = 0;
    int k;
    out[0] = '\0';
    for (k = 0; k < K; k++) {
        size_t need = strlen(classes[k]) + 4;
        if (used + need + 6 > size) {
            snprintf(out + used, size - used, "%s...", k ? ", " : "");
            return;
        }
        used += (size_t)snprintf(out + used, size - used, "%s'%s'", k ? ", " : "", classes[k]);
    }
}

/* Whether s is valid UTF-8 (JSON strings must be). */

static int need_col(const ao_tsv *t, const char *name, const char *what, ao_err *err)
{
    int c = ao_tsv_col(t, name);
    if (c < 0) ao_err_at(err, AO_EDATA, t->path, t->header_line, "no '%s' column (%s)", name, what);
    return c;
}

/* The join of ao_metrics_from_tables(): per labels row, its class index
 * and its K probabilities. *classes point into pred's fields. */
/* The `threshold` column of a prediction file (see metrics.h): *t is NaN
 * without one. The predictions pp (n_rows x 2, already checked) must be
 * the thresholded probabilities. */
static int read_threshold(const ao_tsv *pred, int K, char **classes, int p_pred, const double *pp, double *t, ao_err *err)
{
    int c = ao_tsv_col(pred, "threshold");
    size_t r;
    *t = NAN;
    if (c < 0) return AO_OK;
    if (K != 2)
        return ao_err_at(err, AO_EDATA, pred->path, pred->header_line, "a threshold column needs two classes, the file has %d", K);
    for (r = 0; r < pred->n_rows; r++) {
        const char *f = ao_tsv_get(pred, r, c), *pc = ao_tsv_get(pred, r, p_pred);
        char *endp = (char *)f;
        double x;
        long line = pred->line[r];
        x = *f && (unsigned char)*f > ' ' ? strtod(f, &endp) : NAN;
        if (*endp || !ao_threshold_usable(x, K))
            return ao_err_at(err, AO_EDATA, pred->path, line, "threshold is '%.40s', not a finite number in (0, 1)", f);
        if (r == 0) *t = x;
        else if (x != *t) return ao_err_at(err, AO_EDATA, pred->path, line, "threshold %.40s differs from the first row's %.17g", f, *t);
        if (strcmp(pc, classes[pp[2 * r + 1] >= x]) != 0)
            return ao_err_at(err, AO_EDATA, pred->path, line, "prediction '%s' is not the thresholded class: probability_%s %.9g is %s the threshold %.17g",
                             pc, classes[1], pp[2 * r + 1], pp[2 * r + 1] >= x ? ">=" : "<", x);
    }
    return AO_OK;
}

static int join_tables(const ao_tsv *pred, const ao_tsv *labels, int *n_classes, char ***classes_out, int **y_out, double **prob_out,
                       double *threshold, ao_err *err)
{
    int rc = AO_EDATA;
    idmap pmap = {0, NULL};
    char **classes = NULL, list[512];
    int *pcol = NULL, *y = NULL, K = 0, c, k;
    int p_id, p_pred, l_id, l_label;
    size_t *label_row = NULL;   /* per prediction row: matching labels row + 1 */
    double *pp = NULL, *prob = NULL;
    size_t i, r;

    if ((p_id = need_col(pred, "id", "prediction files have id, prediction, probability_<class>...", err)) < 0 ||
        (p_pred = need_col(pred, "prediction", "prediction files have id, prediction, probability_<class>...", err)) < 0 ||
        (l_id = need_col(labels, "id", "the labels file needs id and label", err)) < 0 ||
        (l_label = need_col(labels, "label", "the labels file needs id and label", err)) < 0)
        goto ERROR;

    /* Classes: the probability_<class> columns in file order. */
    if (!(classes = calloc((size_t)pred->n_cols, sizeof *classes)) ||
        !(pcol = calloc((size_t)pred->n_cols, sizeof *pcol)))
        goto ERROR_MEM;
    for (c = 0; c < pred->n_cols; c++) {
        const char *name = pred->cols[c];
        if (strncmp(name, PROB_PREFIX, strlen(PROB_PREFIX)) != 0) continue;
        if (!name[strlen(PROB_PREFIX)]) {
            ao_err_at(err, AO_EDATA, pred->path, pred->header_line,
                      "column %d is '%s' without a class name", c + 1, name);
            goto ERROR;
        }
        if (ao_utf8_invalid(name, strlen(name)) >= 0) {
            ao_err_at(err, AO_EDATA, pred->path, pred->header_line, "column %d: the class name is not valid UTF-8", c + 1);
            goto ERROR;
        }
        classes[K] = (char *)name + strlen(PROB_PREFIX);
        pcol[K++] = c;
    }
    if (K < 2) {
        ao_err_at(err, AO_EDATA, pred->path, pred->header_line,
                  "%s probability_<class> column%s: one per class is needed, at least two",
                  K ? "only one" : "no", K ? "" : "s");
        goto ERROR;
    }
    class_list(list, sizeof list, classes, K);

    /* Predictions: ids, classes and probabilities. */
    if (!(pp = malloc((pred->n_rows ? pred->n_rows : 1) * (size_t)K * sizeof *pp)) ||
        !(label_row = calloc(pred->n_rows ? pred->n_rows : 1, sizeof *label_row)) ||
        idmap_init(&pmap, pred->n_rows) < 0)
        goto ERROR_MEM;
    for (r = 0; r < pred->n_rows; r++) {
        const char *id = ao_tsv_get(pred, r, p_id), *pc = ao_tsv_get(pred, r, p_pred);
        double sum = 0;
        long line = pred->line[r];
        if (!*id) { ao_err_at(err, AO_EDATA, pred->path, line, "empty id"); goto ERROR; }
        if ((i = idmap_put(&pmap, pred, p_id, id, r)) != (size_t)-1) {
            ao_err_at(err, AO_EDATA, pred->path, line, "duplicate id '%s' (also on line %ld)", id, pred->line[i]);
            goto ERROR;
        }
        if (find_class(classes, K, pc) < 0) {
            ao_err_at(err, AO_EDATA, pred->path, line, "prediction '%s' is not one of the classes (%s)", pc, list);
            goto ERROR;
        }
        for (k = 0; k < K; k++) {
            const char *f = ao_tsv_get(pred, r, pcol[k]);
            char *endp;
            double x;
            if (!*f || (unsigned char)*f <= ' ') {
                ao_err_at(err, AO_EDATA, pred->path, line, "%s is '%s', not a number", pred->cols[pcol[k]], f);
                goto ERROR;
            }
            x = strtod(f, &endp);
            if (*endp) {
                ao_err_at(err, AO_EDATA, pred->path, line, "%s is '%s', not a number", pred->cols[pcol[k]], f);
                goto ERROR;
            }
            if (!isfinite(x)) {
                ao_err_at(err, AO_EDATA, pred->path, line, "%s is '%s', not a finite number", pred->cols[pcol[k]], f);
                goto ERROR;
            }
            if (x < 0 || x > 1) {
                ao_err_at(err, AO_EDATA, pred->path, line, "%s is %s, outside [0, 1]", pred->cols[pcol[k]], f);
                goto ERROR;
            }
            pp[r * (size_t)K + (size_t)k] = x;
            sum += x;
        }
        if (fabs(sum - 1) > SUM_TOL) {
            ao_err_at(err, AO_EDATA, pred->path, line,
                      "the probabilities sum to %.6g, not 1 (tolerance %g)", sum, SUM_TOL);
            goto ERROR;
        }
    }

    if (read_threshold(pred, K, classes, p_pred, pp, threshold, err) < 0) goto ERROR;

    /* Labels, in their own order. */
    if (labels->n_rows == 0) {
        ao_err_at(err, AO_EDATA, labels->path, labels->header_line, "no rows to score");
        goto ERROR;
    }
    if (!(y = malloc(labels->n_rows * sizeof *y)) ||
        !(prob = malloc(labels->n_rows * (size_t)K * sizeof *prob)))
        goto ERROR_MEM;
    for (r = 0; r < labels->n_rows; r++) {
        const char *id = ao_tsv_get(labels, r, l_id), *lab = ao_tsv_get(labels, r, l_label);
        long line = labels->line[r];
        if (!*id) { ao_err_at(err, AO_EDATA, labels->path, line, "empty id"); goto ERROR; }
        if ((i = idmap_get(&pmap, pred, p_id, id)) == (size_t)-1) {
            ao_err_at(err, AO_EDATA, labels->path, line, "no prediction for id '%s' in %s", id, pred->path);
            goto ERROR;
        }
        if (label_row[i]) {
            ao_err_at(err, AO_EDATA, labels->path, line, "duplicate id '%s' (also on line %ld)", id,
                      labels->line[label_row[i] - 1]);
            goto ERROR;
        }
        label_row[i] = r + 1;
        if ((k = find_class(classes, K, lab)) < 0) {
            ao_err_at(err, AO_EDATA, labels->path, line,
                      "label '%s' is not one of the classes of %s (%s): no probability_%s column",
                      lab, pred->path, list, lab);
            goto ERROR;
        }
        y[r] = k;
        memcpy(prob + r * (size_t)K, pp + i * (size_t)K, (size_t)K * sizeof *prob);
    }
    for (r = 0; r < pred->n_rows; r++)
        if (!label_row[r]) {
            ao_err_at(err, AO_EDATA, pred->path, pred->line[r], "id '%s' is not in %s (extra prediction)",
                      ao_tsv_get(pred, r, p_id), labels->path);
            goto ERROR;
        }

    *n_classes = K;
    *classes_out = classes;
    *y_out = y;
    *prob_out = prob;
    classes = NULL;
    y = NULL;
    prob = NULL;
    rc = AO_OK;
ERROR:
    free(pmap.slot);
    free(classes);
    free(pcol);
    free(label_row);
    free(pp);
    free(prob);
    free(y);
    return rc;
ERROR_MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory");
    goto ERROR;
}

ao_metrics *ao_metrics_from_tables(const ao_tsv *pred, const ao_tsv *labels, ao_err *err)
{
    ao_metrics *m = NULL;
    char **classes = NULL;
    int *y = NULL, K = 0;
    double *prob = NULL, t;
    if (join_tables(pred, labels, &K, &classes, &y, &prob, &t, err) == AO_OK)
        m = ao_metrics_compute_at(labels->n_rows, K, (const char *const *)classes, y, prob, t, err);
    free(classes);
    free(y);
    free(prob);
    return m;
}

int ao_scored_from_files(const char *pred_path, const char *labels_path, ao_scored *s, ao_err *err)
{
    ao_tsv *pred = NULL, *labels = NULL;
    char **classes = NULL;
    int rc, k;
    double t;
    memset(s, 0, sizeof *s);
    if (!(pred = ao_tsv_load(pred_path, err)) || !(labels = ao_tsv_load(labels_path, err))) { rc = err->code; goto DONE; }
    if ((rc = join_tables(pred, labels, &s->n_classes, &classes, &s->y, &s->prob, &t, err)) < 0) goto DONE;
    s->n = labels->n_rows;
    if (!(s->classes = calloc((size_t)s->n_classes, sizeof *s->classes))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (k = 0; k < s->n_classes; k++)
        if (!(s->classes[k] = strdup(classes[k]))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
DONE:
    if (rc < 0) ao_scored_clear(s);
    free(classes);
    ao_tsv_destroy(pred);
    ao_tsv_destroy(labels);
    return rc;
}

void ao_scored_clear(ao_scored *s)
{
    int k;
    if (!s) return;
    for (k = 0; s->classes && k < s->n_classes; k++) free(s->classes[k]);
    free(s->classes);
    free(s->y);
    free(s->prob);
    memset(s, 0, sizeof *s);
}

/* Row indices sorted by class k's probability, highest first. */
typedef struct { double p; size_t i; } scored_row;
static int by_score_desc(const void *a, const void *b)
{
    const scored_row *x = a, *y = b;
    return x->p > y->p ? -1 : x->p < y->p ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

/* One point per distinct threshold of class k's probability: the
 * cumulative true and false positives above it. */
static int sweep(const ao_scored *s, int k, double **a, double **b, size_t *n, int pr, ao_err *err)
{
    scored_row *r = NULL;
    double P = 0, N = 0, tp = 0, fp = 0;
    size_t i, m = 0;
    *a = *b = NULL;
    *n = 0;
    if (k < 0 || k >= s->n_classes) return ao_err_set(err, AO_EUSAGE, "class index %d out of range", k);
    if (!(r = malloc((s->n ? s->n : 1) * sizeof *r)) || !(*a = malloc((s->n + 2) * sizeof **a)) || !(*b = malloc((s->n + 2) * sizeof **b))) {
        free(r);
        free(*a);
        free(*b);
        *a = *b = NULL;
        return ao_err_set(err, AO_EMEM, "out of memory");
    }
    for (i = 0; i < s->n; i++) {
        r[i].p = s->prob[i * (size_t)s->n_classes + (size_t)k];
        r[i].i = i;
        if (s->y[i] == k) P++; else N++;
    }
    qsort(r, s->n, sizeof *r, by_score_desc);
    if (!pr) { (*a)[m] = 0; (*b)[m++] = 0; }
    for (i = 0; i < s->n; i++) {
        if (s->y[r[i].i] == k) tp++; else fp++;
        if (i + 1 < s->n && r[i + 1].p == r[i].p) continue;
        if (pr) { (*a)[m] = P > 0 ? tp / P : NAN; (*b)[m++] = tp / (tp + fp); }
        else { (*a)[m] = N > 0 ? fp / N : NAN; (*b)[m++] = P > 0 ? tp / P : NAN; }
    }
    free(r);
    *n = m;
    return AO_OK;
}

int ao_roc_curve(const ao_scored *s, int k, double **fpr, double **tpr, size_t *n, ao_err *err)
{
    return sweep(s, k, fpr, tpr, n, 0, err);
}

int ao_pr_curve(const ao_scored *s, int k, double **recall, double **precision, size_t *n, ao_err *err)
{
    return sweep(s, k, recall, precision, n, 1, err);
}

void ao_calibration(const ao_scored *s, int bins, double *mean_pred, double *frac, long *count)
{
    size_t i;
    int b, k;
    for (b = 0; b < bins; b++) { mean_pred[b] = 0; frac[b] = 0; count[b] = 0; }
    for (i = 0; i < s->n; i++) {
        const double *p = s->prob + i * (size_t)s->n_classes;
        double conf;
        int hit;
        if (s->n_classes == 2) {
            conf = p[1];
            hit = s->y[i] == 1;
        } else {
            int top = 0;
            for (k = 1; k < s->n_classes; k++) if (p[k] > p[top]) top = k;
            conf = p[top];
            hit = s->y[i] == top;
        }
        b = (int)(conf * bins);
        if (b >= bins) b = bins - 1;
        if (b < 0) b = 0;
        mean_pred[b] += conf;
        frac[b] += hit;
        count[b]++;
    }
    for (b = 0; b < bins; b++) {
        if (count[b]) { mean_pred[b] /= (double)count[b]; frac[b] /= (double)count[b]; }
        else mean_pred[b] = frac[b] = NAN;
    }
}

ao_metrics *ao_metrics_from_files(const char *pred_path, const char *labels_path, ao_err *err)
{
    ao_tsv *pred = NULL, *labels = NULL;
    ao_metrics *m = NULL;
    if (pred_path && labels_path && strcmp(pred_path, "-") == 0 && strcmp(labels_path, "-") == 0) {
        ao_err_set(err, AO_EUSAGE, "the predictions and the labels cannot both be read from standard input");
        return NULL;
    }
    if (!(pred = ao_tsv_load(pred_path, err))) goto ERROR;
    if (!(labels = ao_tsv_load(labels_path, err))) goto ERROR;
    m = ao_metrics_from_tables(pred, labels, err);
ERROR:
    ao_tsv_destroy(pred);
    ao_tsv_destroy(labels);
    return m;
}

int ao_score_files(const char *pred_path, const char *labels_path, json_t **out, ao_err *err)
{
    ao_metrics *m = ao_metrics_from_files(pred_path, labels_path, err);
    *out = NULL;
    if (!m) return err && err->code < AO_END ? err->code : AO_EINTERNAL;
    *out = ao_metrics_json(m);
    ao_metrics_destroy(m);
    return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}
