/* ensemble.c — weighted averages of builtin models (ensemble.h): the
 * hostile-input load of an ensemble directory, its prediction, and the
 * greedy selection that chooses the weights. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/ensemble.h"
#include "agentomics/fileio.h"
#include "agentomics/jsonfield.h"
#include "agentomics/metrics.h"
#include "agentomics/model.h"
#include "agentomics/rng.h"

struct ao_ensemble {
    int n;
    ao_model *member[AO_ENSEMBLE_MAX_MEMBERS];
    double weight[AO_ENSEMBLE_MAX_MEMBERS];
    double threshold;   /* binary decision threshold in (0, 1); NaN: the argmax */
};

int ao_ensemble_is(const char *dir)
{
    char *p = dir ? ao_path_join(dir, AO_ENSEMBLE_FILE) : NULL;
    struct stat st;
    int yes = p && lstat(p, &st) == 0;
    free(p);
    return yes;
}

void ao_ensemble_destroy(ao_ensemble *e)
{
    int i;
    if (!e) return;
    for (i = 0; i < e->n; i++) ao_model_destroy(e->member[i]);
    free(e);
}

const ao_dataset_info *ao_ensemble_info(const ao_ensemble *e) { return ao_model_info(e->member[0]); }
int ao_ensemble_n_members(const ao_ensemble *e) { return e->n; }
double ao_ensemble_threshold(const ao_ensemble *e) { return e->threshold; }

/* ensemble.json: a regular file (never a FIFO or device to block on, never
 * a symlink out of the directory) of bounded size, parsed. */
static json_t *read_description(const char *path, ao_err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    json_t *j = NULL;
    json_error_t je;
    if (fd < 0) {
        ao_err_set(err, errno == ELOOP ? AO_EDATA : AO_EIO, "%s: cannot open: %s", path, errno == ELOOP ? "a symbolic link" : strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { ao_err_set(err, AO_EDATA, "%s: not a regular file", path); goto DONE; }
    if (st.st_size > AO_ENSEMBLE_MAX_JSON) {
        ao_err_set(err, AO_EDATA, "%s: %lld bytes, more than the %d an ensemble description may have", path, (long long)st.st_size, AO_ENSEMBLE_MAX_JSON);
        goto DONE;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) { ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { ao_err_set(err, AO_EIO, "%s: read error", path); goto DONE; }
        got += (size_t)r;
    }
    if (!(j = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &je)))
        ao_err_set(err, AO_EDATA, "%s:%d: %s", path, je.line, je.text);
DONE:
    free(buf);
    close(fd);
    return j;
}

/* "members/N", N in 1..AO_ENSEMBLE_MAX_MEMBERS without leading zeros: N,
 * else 0. */
static int member_number(const char *dir)
{
    const char *d = dir + 8;
    long v = 0;
    if (strncmp(dir, "members/", 8) != 0 || *d < '1' || *d > '9') return 0;
    for (; *d >= '0' && *d <= '9' && v <= AO_ENSEMBLE_MAX_MEMBERS; d++) v = v * 10 + (*d - '0');
    return *d || v > AO_ENSEMBLE_MAX_MEMBERS ? 0 : (int)v;
}

ao_ensemble *ao_ensemble_load(const char *dir, ao_err *err)
{
    char *path = ao_path_join(dir, AO_ENSEMBLE_FILE), *mdir = NULL;
    json_t *j = NULL, *members, *m, *th;
    ao_ensemble *e = NULL;
    double sum = 0;
    int seen[AO_ENSEMBLE_MAX_MEMBERS + 1] = {0};
    size_t i;
    if (!path || !(e = calloc(1, sizeof *e))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!(j = read_description(path, err))) goto ERROR;
    if (!json_is_object(j) || json_integer_value(json_object_get(j, "format_version")) != 1 ||
        !json_is_integer(json_object_get(j, "format_version"))) {
        ao_err_set(err, AO_EDATA, "%s: not an ensemble description of format_version 1", path);
        goto ERROR;
    }
    members = json_object_get(j, "members");
    if (!json_is_array(members) || json_array_size(members) < 2 || json_array_size(members) > AO_ENSEMBLE_MAX_MEMBERS) {
        ao_err_set(err, AO_EDATA, "%s: members must be an array of 2 to %d models", path, AO_ENSEMBLE_MAX_MEMBERS);
        goto ERROR;
    }
    json_array_foreach(members, i, m) {
        const char *d = json_string_value(json_object_get(m, "dir"));
        json_t *w = json_object_get(m, "weight");
        int k = d ? member_number(d) : 0;
        double wv = json_is_number(w) ? json_number_value(w) : NAN;
        if (!k || seen[k]) {
            ao_err_set(err, AO_EDATA, "%s: members[%zu].dir must be a distinct \"members/N\" with N in 1..%d, got %s%.40s%s", path, i,
                       AO_ENSEMBLE_MAX_MEMBERS, d ? "'" : "", d ? d : json_object_get(m, "dir") ? ao_jf_kind(json_object_get(m, "dir")) : "nothing",
                       d ? "'" : "");
            goto ERROR;
        }
        seen[k] = 1;
        if (!(wv > 0 && wv <= 1)) {
            ao_err_set(err, AO_EDATA, "%s: members[%zu].weight must be a number in (0, 1]", path, i);
            goto ERROR;
        }
        if (!(mdir = ao_path_join(dir, d))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
        if (!ao_is_dir(mdir)) { ao_err_set(err, AO_EDATA, "%s: members[%zu].dir: the model directory %s is missing", path, i, d); goto ERROR; }
        if (!(e->member[e->n] = ao_model_load(mdir, err))) goto ERROR;
        if (!ao_dataset_info_same(ao_model_info(e->member[0]), ao_model_info(e->member[e->n]))) {
            ao_err_set(err, AO_EDATA, "%s: the member in %s has other classes or sequence columns than the first", path, d);
            e->n++;
            goto ERROR;
        }
        e->weight[e->n++] = wv;
        sum += wv;
        free(mdir);
        mdir = NULL;
    }
    if (fabs(sum - 1) > 1e-6) { ao_err_set(err, AO_EDATA, "%s: the member weights sum to %.9g, not 1", path, sum); goto ERROR; }
    for (i = 0; i < (size_t)e->n; i++) e->weight[i] /= sum;
    e->threshold = NAN;
    if ((th = json_object_get(j, "threshold")) && !json_is_null(th)) {
        double t = json_is_number(th) ? json_number_value(th) : NAN;
        if (!ao_threshold_usable(t, ao_ensemble_info(e)->n_classes)) {
            ao_err_set(err, AO_EDATA, "%s: threshold must be a number in (0, 1) of a two-class ensemble", path);
            goto ERROR;
        }
        e->threshold = t;
    }
    json_decref(j);
    free(path);
    return e;
ERROR:
    free(mdir);
    json_decref(j);
    free(path);
    ao_ensemble_destroy(e);
    return NULL;
}

int ao_ensemble_predict(const ao_ensemble *e, const ao_seqset *s, int threads, double *proba, ao_err *err)
{
    size_t cells = (size_t)s->n * (size_t)ao_ensemble_info(e)->n_classes, c;
    double *one = malloc(sizeof *one * (cells ? cells : 1));
    int i, rc = AO_OK;
    if (!one) return ao_err_set(err, AO_EMEM, "out of memory");
    for (c = 0; c < cells; c++) proba[c] = 0;
    for (i = 0; i < e->n; i++) {
        if ((rc = ao_model_predict(e->member[i], s, threads, one, err)) < 0) break;
        for (c = 0; c < cells; c++) proba[c] += e->weight[i] * one[c];
    }
    free(one);
    return rc;
}

/* ---- greedy selection ----------------------------------------------------- */

/* The metric and log loss of probabilities p (n x K), the classes decided
 * by the binary threshold th (NaN: the argmax); AO_OK or an error. */
static int score(size_t n, int K, const int *y, const double *p, double th, const char *metric, double *value, double *log_loss, ao_err *err)
{
    ao_metrics *m = ao_metrics_compute(n, K, NULL, y, p, err);
    if (!m) return err->code;
    *value = !isnan(th) && ao_metric_needs_threshold(metric) ? ao_threshold_metric(n, y, p, metric, th) : ao_metrics_value(m, metric);
    *log_loss = m->log_loss;
    ao_metrics_destroy(m);
    if (isnan(*value)) *value = -INFINITY;   /* undefined (e.g. one class only) never wins */
    return AO_OK;
}

/* a better than b: a higher value, then a lower log loss; differences
 * within rounding (the mean of k copies of one model is not bitwise that
 * model) do not count, so a tie keeps the shorter prefix */
#define ENS_TIE 1e-12
static int better(double va, double la, double vb, double lb)
{
    return va > vb + ENS_TIE || (fabs(va - vb) <= ENS_TIE && la < lb - ENS_TIE);
}

int ao_ensemble_select(int n_cand, size_t n, int n_classes, const int *y, const double *const *proba, const char *metric,
                       int max_members, int rounds, double *weights, ao_err *err)
{
    size_t cells = n * (size_t)n_classes, i;
    double *sum = NULL, *trial = NULL, best_v = -INFINITY, best_l = INFINITY;
    int *count = NULL, *pick = NULL, r, c, distinct = 0, best_len = 0, rc;
    ao_metrics known;
    memset(&known, 0, sizeof known);   /* every headline value 0: NaN only for an unknown name */
    if (n_cand < 1 || !metric || isnan(ao_metrics_value(&known, metric)))
        return ao_err_set(err, AO_EUSAGE, "ensemble selection needs candidates and a known metric");
    if (rounds < 1) rounds = 1;
    if (max_members < 1) max_members = 1;
    if (!(sum = calloc(cells ? cells : 1, sizeof *sum)) || !(trial = malloc(sizeof *trial * (cells ? cells : 1))) ||
        !(count = calloc((size_t)n_cand, sizeof *count)) || !(pick = malloc(sizeof *pick * (size_t)rounds))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    for (r = 0; r < rounds; r++) {
        int choice = -1;
        double cv = -INFINITY, cl = INFINITY;
        for (c = 0; c < n_cand; c++) {
            double v = -INFINITY, l = INFINITY;
            if (!count[c] && distinct >= max_members) continue;
            for (i = 0; i < cells; i++) trial[i] = (sum[i] + proba[c][i]) / (r + 1);
            if ((rc = score(n, n_classes, y, trial, NAN, metric, &v, &l, err)) < 0) goto DONE;
            if (choice < 0 || better(v, l, cv, cl)) { choice = c; cv = v; cl = l; }
        }
        if (!count[choice]++) distinct++;
        pick[r] = choice;
        for (i = 0; i < cells; i++) sum[i] += proba[choice][i];
        if (better(cv, cl, best_v, best_l)) { best_v = cv; best_l = cl; best_len = r + 1; }
    }
    for (c = 0; c < n_cand; c++) weights[c] = 0;
    for (r = 0; r < best_len; r++) weights[pick[r]] += 1.0 / best_len;
    for (c = 0, rc = 0; c < n_cand; c++) rc += weights[c] > 0;
DONE:
    free(sum);
    free(trial);
    free(count);
    free(pick);
    return rc;
}

/* ---- choosing an ensemble for a package ------------------------------------ */

/* The weighted mean of probs (n_cand of them, `cells` values each) into mean. */
static void weighted_mean(int n_cand, const double *const *probs, const double *weights, size_t cells, double *mean)
{
    size_t i;
    int c;
    for (i = 0; i < cells; i++) mean[i] = 0;
    for (c = 0; c < n_cand; c++)
        if (weights[c] > 0) for (i = 0; i < cells; i++) mean[i] += weights[c] * probs[c][i];
}

/* The standard deviation of metric(a) - metric(b) (each decided by its own
 * threshold, NaN: the argmax) over AO_ENSEMBLE_BOOTSTRAP
 * paired bootstrap resamples of the n labelled rows (a fixed seed: the
 * same rows give the same value); resamples where either is undefined
 * are skipped. NaN when fewer than two resamples count. */
static int paired_sd(size_t n, int K, const int *y, const double *a, double ta, const double *b, double tb, const char *metric, double *sd,
                     ao_err *err)
{
    double *pa = malloc(sizeof *pa * n * (size_t)K), *pb = malloc(sizeof *pb * n * (size_t)K), sum = 0, sum2 = 0;
    int *yy = malloc(sizeof *yy * (n ? n : 1)), r, used = 0, k, rc = AO_OK;
    ao_rng rng;
    size_t i;
    *sd = NAN;
    if (!pa || !pb || !yy) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    ao_rng_seed(&rng, AO_ENSEMBLE_BOOTSTRAP_SEED);
    for (r = 0; r < AO_ENSEMBLE_BOOTSTRAP; r++) {
        double va, vb, ll;
        for (i = 0; i < n; i++) {
            size_t j = (size_t)ao_rng_below(&rng, n);
            yy[i] = y[j];
            for (k = 0; k < K; k++) { pa[i * (size_t)K + (size_t)k] = a[j * (size_t)K + (size_t)k]; pb[i * (size_t)K + (size_t)k] = b[j * (size_t)K + (size_t)k]; }
        }
        if ((rc = score(n, K, yy, pa, ta, metric, &va, &ll, err)) < 0 || (rc = score(n, K, yy, pb, tb, metric, &vb, &ll, err)) < 0) goto DONE;
        if (!isfinite(va) || !isfinite(vb)) continue;
        sum += va - vb;
        sum2 += (va - vb) * (va - vb);
        used++;
    }
    if (used >= 2) *sd = sqrt(fmax(0, (sum2 - sum * sum / used) / (used - 1)));
DONE:
    free(pa);
    free(pb);
    free(yy);
    return rc;
}

int ao_ensemble_choose(int n_cand, const ao_model *const *models, const ao_seqset *valid, const ao_seqset *selection,
                       const char *metric, int max_members, int threads, double *weights, ao_ensemble_choice *out,
                       ao_err *err)
{
    double **pv = NULL, **ps = NULL, *mean = NULL;
    int c, K, rc = AO_OK;
    memset(out, 0, sizeof *out);
    out->valid_value = out->selection_value = out->single_value = out->selection_sd = out->threshold = NAN;
    if (n_cand < 1 || !models || !valid || !selection || !valid->y || !selection->y || valid->n < 1 || selection->n < 1)
        return ao_err_set(err, AO_EUSAGE, "an ensemble needs candidates and labelled validation and selection rows");
    K = ao_model_info(models[0])->n_classes;
    if (!(pv = calloc((size_t)n_cand, sizeof *pv)) || !(ps = calloc((size_t)n_cand, sizeof *ps))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (c = 0; c < n_cand; c++) {
        if (!ao_dataset_info_same(ao_model_info(models[0]), ao_model_info(models[c]))) {
            rc = ao_err_set(err, AO_EDATA, "candidate %d has other classes or sequence columns than candidate 0", c);
            goto DONE;
        }
        if (!(pv[c] = malloc(sizeof **pv * (size_t)valid->n * (size_t)K)) || !(ps[c] = malloc(sizeof **ps * (size_t)selection->n * (size_t)K))) {
            rc = ao_err_set(err, AO_EMEM, "out of memory");
            goto DONE;
        }
        if ((rc = ao_model_predict(models[c], valid, threads, pv[c], err)) < 0 || (rc = ao_model_predict(models[c], selection, threads, ps[c], err)) < 0)
            goto DONE;
    }
    if ((rc = ao_ensemble_select(n_cand, (size_t)valid->n, K, valid->y, (const double *const *)pv, metric, max_members,
                                 2 * max_members > 10 ? 2 * max_members : 10, weights, err)) < 0) goto DONE;
    out->n_members = rc;
    rc = AO_OK;
    /* the reference: the candidate validation scores best (its own
     * threshold; ties: the lower index), chosen on the rows the weights
     * were, so the slice judges both sides without the bias of the
     * lineage's best, which was itself chosen on the slice */
    {
        double best = -INFINITY, v, ll;
        for (c = 0; c < n_cand; c++) {
            if ((rc = score((size_t)valid->n, K, valid->y, pv[c], ao_model_threshold(models[c]), metric, &v, &ll, err)) < 0) goto DONE;
            if (v > best) { best = v; out->single = c; }
        }
    }
    {
        size_t nv = (size_t)valid->n, ns = (size_t)selection->n;
        double ll, single_th = ao_model_threshold(models[out->single]), *mv, *ms;
        if (!(mean = malloc(sizeof *mean * (nv + ns) * (size_t)K))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        mv = mean;
        ms = mean + nv * (size_t)K;
        weighted_mean(n_cand, (const double *const *)pv, weights, nv * (size_t)K, mv);
        weighted_mean(n_cand, (const double *const *)ps, weights, ns * (size_t)K, ms);
        if (K == 2 && ao_metric_needs_threshold(metric)) {
            /* the mean's own decision threshold, by train-run's rule: chosen on validation, confirmed on the slice */
            ao_threshold_decision d;
            if ((rc = ao_threshold_decide(nv, valid->y, mv, ns, selection->y, ms, metric, &d, err)) < 0) goto DONE;
            out->threshold = d.threshold;
        }
        if ((rc = score(nv, K, valid->y, mv, out->threshold, metric, &out->valid_value, &ll, err)) < 0 ||
            (rc = score(ns, K, selection->y, ms, out->threshold, metric, &out->selection_value, &ll, err)) < 0 ||
            (rc = score(ns, K, selection->y, ps[out->single], single_th, metric, &out->single_value, &ll, err)) < 0 ||
            (rc = paired_sd(ns, K, selection->y, ms, out->threshold, ps[out->single], single_th, metric, &out->selection_sd, err)) < 0)
            goto DONE;
    }
    if (out->n_members < 2)
        snprintf(out->reason, sizeof out->reason, "greedy selection on the validation rows kept one model");
    else if (out->selection_value > out->single_value) {
        out->kept = 1;
        snprintf(out->reason, sizeof out->reason, "the %d-model mean beat the best single model on the selection slice (%s %.4f vs %.4f)",
                 out->n_members, metric, out->selection_value, out->single_value);
    } else if (out->selection_value >= out->single_value - out->selection_sd) {
        out->kept = 1;
        snprintf(out->reason, sizeof out->reason, "the %d-model mean trails the best single model on the selection slice by less than the "
                 "slice can tell apart (%s %.4f vs %.4f, bootstrap SD of the difference %.4f)",
                 out->n_members, metric, out->selection_value, out->single_value, out->selection_sd);
    } else
        snprintf(out->reason, sizeof out->reason, "the %d-model mean lost to the best single model on the selection slice (%s %.4f vs %.4f, "
                 "bootstrap SD of the difference %.4f)", out->n_members, metric, out->selection_value, out->single_value, out->selection_sd);
DONE:
    for (c = 0; pv && c < n_cand; c++) free(pv[c]);
    for (c = 0; ps && c < n_cand; c++) free(ps[c]);
    free(pv);
    free(ps);
    free(mean);
    return rc;
}
