/* test_metrics.c — the trusted scorer equals scikit-learn to 1e-9.
 *
 * Fixtures and expected values: tests/data/metrics/ (made by
 * make_fixtures.py with scikit-learn; read here without Python). The data
 * directory is $AO_TEST_DATA, default "tests/data" (tests run from the
 * repository root). */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/metrics.h"
#include "agentomics/tsv.h"
#include "unit.h"

#define TOL 1e-9

static double jnum(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int near(double a, double b)
{
    return (isnan(a) && isnan(b)) || fabs(a - b) <= TOL;
}

/* Per-class metrics and the confusion matrix against expected; prints
 * the first difference. */
static int per_class_match(const ao_metrics *m, const json_t *e)
{
    const json_t *pc = json_object_get(e, "per_class"), *cm = json_object_get(e, "confusion_matrix");
    const json_t *cl = json_object_get(e, "classes");
    int k, j, K = m->n_classes;
    if ((int)json_array_size(pc) != K || (int)json_array_size(cm) != K || (int)json_array_size(cl) != K) {
        printf("#   expected %d classes\n", (int)json_array_size(pc));
        return 0;
    }
    for (k = 0; k < K; k++) {
        const json_t *c = json_array_get(pc, k), *row = json_array_get(cm, k);
        struct { const char *key; double got; } f[] = {
            {"precision", m->precision[k]}, {"recall", m->recall[k]}, {"f1", m->f1[k]},
            {"support", (double)m->support[k]}, {"predicted", (double)m->predicted[k]},
            {"auroc", m->auroc_class[k]}, {"auprc", m->auprc_class[k]},
        };
        size_t i;
        if (strcmp(m->classes[k], json_string_value(json_array_get(cl, k))) != 0) {
            printf("#   class %d is '%s', expected '%s'\n", k, m->classes[k], json_string_value(json_array_get(cl, k)));
            return 0;
        }
        for (i = 0; i < sizeof f / sizeof f[0]; i++)
            if (!near(f[i].got, jnum(json_object_get(c, f[i].key)))) {
                printf("#   class %s %s: got %.12g, expected %.12g\n", m->classes[k], f[i].key, f[i].got,
                       jnum(json_object_get(c, f[i].key)));
                return 0;
            }
        for (j = 0; j < K; j++)
            if (m->confusion[(size_t)k * K + j] != (long)json_integer_value(json_array_get(row, j))) {
                printf("#   confusion[%d][%d] = %ld, expected %ld\n", k, j, m->confusion[(size_t)k * K + j],
                       (long)json_integer_value(json_array_get(row, j)));
                return 0;
            }
    }
    return 1;
}

static void run_fixtures(const char *dir)
{
    char path[4096], pred[4096], lab[4096];
    json_error_t jerr;
    json_t *doc, *cases, *c;
    size_t ci;

    snprintf(path, sizeof path, "%s/metrics/expected.json", dir);
    doc = json_load_file(path, 0, &jerr);
    CHECK(doc != NULL, "read %s", path);
    if (!doc) { printf("#   %s\n", jerr.text); return; }
    cases = json_object_get(doc, "cases");
    CHECK(json_array_size(cases) >= 10, "at least 10 fixture cases (%zu)", json_array_size(cases));
    json_array_foreach(cases, ci, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *e = json_object_get(c, "expected");
        ao_err err;
        ao_metrics *m;
        json_t *js;
        static const char *keys[] = {"accuracy", "balanced_accuracy", "auroc", "auprc",
                                     "f1_macro", "mcc", "log_loss"};
        int i;

        snprintf(pred, sizeof pred, "%s/metrics/%s", dir, json_string_value(json_object_get(c, "predictions")));
        snprintf(lab, sizeof lab, "%s/metrics/%s", dir, json_string_value(json_object_get(c, "labels")));
        ao_err_init(&err);
        m = ao_metrics_from_files(pred, lab, &err);
        CHECK(m != NULL, "%s: scored", name);
        if (!m) { printf("#   %s\n", err.msg); continue; }
        {
            double got[] = {m->accuracy, m->balanced_accuracy, m->auroc, m->auprc,
                            m->f1_macro, m->mcc, m->log_loss};
            for (i = 0; i < 7; i++)
                CHECK_NEAR(got[i], jnum(json_object_get(e, keys[i])), TOL, "%s: %s equals scikit-learn", name, keys[i]);
        }
        CHECK(m->n == (size_t)json_integer_value(json_object_get(e, "n")), "%s: n", name);
        CHECK(per_class_match(m, e), "%s: per-class metrics and confusion matrix equal scikit-learn", name);

        /* The JSON carries the same numbers, null where undefined. */
        js = ao_metrics_json(m);
        CHECK(js != NULL, "%s: JSON built", name);
        if (js) {
            int same = 1;
            for (i = 0; i < 7; i++) {
                json_t *v = json_object_get(js, keys[i]);
                double want = jnum(json_object_get(e, keys[i]));
                if (isnan(want) ? !json_is_null(v) : !(json_is_real(v) && near(json_real_value(v), want))) same = 0;
            }
            CHECK(same, "%s: JSON headline values (null when undefined)", name);
            CHECK((json_array_size(json_object_get(js, "warnings")) > 0) ==
                      (m->support[0] == 0 || m->support[1] == 0 ||
                       (m->n_classes > 2 && isnan(m->auroc))),
                  "%s: warnings exactly when a class has no true rows", name);
            json_decref(js);
        }
        ao_metrics_destroy(m);
    }
    json_decref(doc);
}

/* Hand-checked values through ao_metrics_compute(). */
static void run_direct(void)
{
    ao_err err;
    ao_metrics *m;
    /* scores 0.1 0.4 0.35 0.8 with truth 0 0 1 1: sklearn's docstring example */
    int y[] = {0, 0, 1, 1};
    double p[] = {0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8};
    int y2[] = {0, 1, 0, 1};
    double tied[] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    double bad[] = {0.5, 0.5, NAN, 0.5};
    const char *names[] = {"neg", "pos"};
    json_t *js;
    char *s;

    ao_err_init(&err);
    m = ao_metrics_compute(4, 2, names, y, p, &err);
    CHECK(m != NULL, "compute on 4 rows");
    if (m) {
        CHECK_NEAR(m->auroc, 0.75, 1e-15, "AUROC of sklearn's example is 0.75");
        CHECK_NEAR(m->auprc, 0.8333333333333333, 1e-15, "AP of sklearn's example is 0.8333");
        CHECK_NEAR(m->accuracy, 0.75, 1e-15, "accuracy 3/4 (0.4 -> neg, 0.35 -> neg, 0.8 -> pos)");
        CHECK(m->confusion[0] == 2 && m->confusion[1] == 0 && m->confusion[2] == 1 && m->confusion[3] == 1,
              "confusion matrix rows = true, columns = predicted");
        js = ao_metrics_json(m);
        s = js ? json_dumps(js, 0) : NULL;
        {
            const char *want = "{\"n\": 4, \"n_classes\": 2, \"task\": \"binary\", \"classes\": [\"neg\", \"pos\"], "
                               "\"positive_class\": \"pos\", \"average\": \"binary\", \"accuracy\": 0.75, "
                               "\"balanced_accuracy\": 0.75, \"auroc\": 0.75, ";
            CHECK(s && strncmp(s, want, strlen(want)) == 0, "JSON keys in a stable order");
            if (s && strncmp(s, want, strlen(want)) != 0) printf("#   %s\n", s);
        }
        if (s && !strstr(s, "\"warnings\": []}")) CHECK(0, "JSON ends with an empty warnings list");
        free(s);
        json_decref(js);
        {
            char *txt = NULL;
            size_t len = 0;
            FILE *mf = open_memstream(&txt, &len);
            int rc = ao_metrics_print(mf, m);
            fclose(mf);
            CHECK(rc == AO_OK && strstr(txt, "auroc") && strstr(txt, "0.750000") && strstr(txt, "confusion matrix"),
                  "text table");
            free(txt);
        }
    }
    ao_metrics_destroy(m);

    m = ao_metrics_compute(4, 2, NULL, y2, tied, &err);
    CHECK(m && m->auroc == 0.5 && m->predicted[0] == 4 && strcmp(m->classes[1], "1") == 0,
          "all tied: AUROC 0.5, argmax ties go to the first class, default names");
    ao_metrics_destroy(m);

    ao_err_init(&err);
    CHECK(!ao_metrics_compute(2, 2, NULL, y, bad, &err) && err.code == AO_EDATA, "a NaN probability is refused");
    ao_err_init(&err);
    CHECK(!ao_metrics_compute(0, 2, NULL, y, p, &err) && err.code == AO_EDATA, "no rows is refused");
    ao_err_init(&err);
    CHECK(!ao_metrics_compute(4, 1, NULL, y, p, &err) && err.code == AO_EUSAGE, "one class is refused");
    ao_metrics_destroy(NULL);
}

/* The join: each bad input is AO_EDATA naming FILE:LINE. */
static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp) { fputs(text, fp); fclose(fp); }
}

/* Scores a prediction text against a label text, written as dir/p.tsv
 * and dir/l.tsv (removed after). */
static ao_metrics *score_texts(const char *dir, const char *pred_text, const char *lab_text, ao_err *err)
{
    char pred[512], lab[512];
    ao_metrics *m;
    snprintf(pred, sizeof pred, "%s/p.tsv", dir);
    snprintf(lab, sizeof lab, "%s/l.tsv", dir);
    write_file(pred, pred_text);
    write_file(lab, lab_text);
    ao_err_init(err);
    m = ao_metrics_from_files(pred, lab, err);
    unlink(pred);
    unlink(lab);
    return m;
}

static void join_case(const char *dir, const char *pred_text, const char *lab_text, const char *want, const char *what)
{
    char full[1024];
    ao_err err;
    ao_metrics *m = score_texts(dir, pred_text, lab_text, &err);
    snprintf(full, sizeof full, "%s/%s", dir, want);
    if (!want) {
        CHECK(m != NULL, "%s", what);
        if (!m) printf("#   %s\n", err.msg);
    } else {
        CHECK(!m && err.code == AO_EDATA && strstr(err.msg, full), "%s", what);
        if (m || !strstr(err.msg, full)) printf("#   got: %s\n#   want: %s\n", err.msg, full);
    }
    ao_metrics_destroy(m);
}

static void run_join(void)
{
    char dir[] = "/tmp/test_metrics.XXXXXX";
    const char *P = "id\tprediction\tprobability_a\tprobability_b\n"
                    "r1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.8\nr3\ta\t0.6\t0.4\n";
    const char *L = "id\tlabel\nr3\ta\nr1\ta\nr2\tb\n";
    json_t *js = NULL;
    ao_err err;
    char pred[512], lab[512];
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }

    join_case(dir, P, L, NULL, "a well-formed pair scores");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\tb\t0.9\t0.1\nr2\ta\t0.2\t0.8\nr3\ta\t0.6\t0.4\n",
              L, NULL, "a prediction column that is not the argmax is allowed");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr3\ta\t0.6\t0.4\n",
              L, "l.tsv:4: no prediction for id 'r2'", "missing id");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.8\nr3\ta\t0.6\t0.4\n"
              "r9\ta\t0.6\t0.4\n", L, "p.tsv:5: id 'r9' is not in", "extra id");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.8\nr1\ta\t0.6\t0.4\n",
              L, "p.tsv:4: duplicate id 'r1' (also on line 2)", "duplicate id in predictions");
    join_case(dir, P, "id\tlabel\nr3\ta\nr1\ta\nr2\tb\nr1\ta\n", "l.tsv:5: duplicate id 'r1' (also on line 3)",
              "duplicate id in labels");
    join_case(dir, P, "id\tlabel\nr3\ta\nr1\tc\nr2\tb\n", "l.tsv:3: label 'c' is not one of the classes",
              "unknown label");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\tz\t0.9\t0.1\nr2\tb\t0.2\t0.8\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:2: prediction 'z' is not one of the classes", "unknown predicted class");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t-0.2\t1.2\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:3: probability_a is -0.2, outside [0, 1]", "probability below 0");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t1.5\t0.1\nr2\tb\t0.2\t0.8\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:2: probability_a is 1.5, outside [0, 1]", "probability above 1");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\tnan\t0.8\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:3: probability_a is 'nan', not a finite number", "NaN");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\tinf\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:3: probability_b is 'inf', not a finite number", "infinity");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.8x\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:3: probability_b is '0.8x', not a number", "trailing garbage");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\t\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:3: probability_b is '', not a number", "empty probability");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.7\nr3\ta\t0.6\t0.4\n",
              L, "p.tsv:3: the probabilities sum to 0.9", "row sum off by 0.1");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.8005\nr3\ta\t0.6\t0.4\n",
              L, NULL, "row sum within 1e-3 is accepted");
    join_case(dir, "id\tprobability_a\tprobability_b\nr1\t0.9\t0.1\n", L, "p.tsv:1: no 'prediction' column",
              "missing prediction column");
    join_case(dir, "name\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t0.1\n", L, "p.tsv:1: no 'id' column",
              "missing id column in predictions");
    join_case(dir, P, "id\tclass\nr1\ta\n", "l.tsv:1: no 'label' column", "missing label column");
    join_case(dir, "id\tprediction\tprobability_a\nr1\ta\t1\n", L, "p.tsv:1: only one probability_<class> column",
              "one probability column");
    join_case(dir, "id\tprediction\tprobability_\tprobability_b\nr1\ta\t0.9\t0.1\n", L,
              "p.tsv:1: column 3 is 'probability_' without a class name", "probability_ without a class");
    join_case(dir, P, "id\tlabel\n", "l.tsv:1: no rows to score", "labels without rows");
    join_case(dir, P, "id\tlabel\nr3\ta\n\tb\n", "l.tsv:3: empty id", "empty id");
    join_case(dir, P, "id\tlabel\nr3\ta\nr1\n", "l.tsv:3: 1 field, but the header has 2 columns", "ragged labels");

    snprintf(pred, sizeof pred, "%s/p.tsv", dir);
    snprintf(lab, sizeof lab, "%s/l.tsv", dir);
    write_file(pred, P);
    write_file(lab, L);
    ao_err_init(&err);
    CHECK(ao_score_files(pred, lab, &js, &err) == AO_OK && js &&
          json_real_value(json_object_get(js, "accuracy")) == 1.0, "ao_score_files returns the JSON");
    json_decref(js);
    ao_err_init(&err);
    CHECK(ao_score_files(pred, "/nonexistent/l.tsv", &js, &err) == AO_EIO && !js, "a missing file is AO_EIO");
    unlink(pred);
    unlink(lab);
    rmdir(dir);
}

/* ROC and precision-recall points, calibration bins (the report's curves). */
static void run_curves(void)
{
    int y[4] = {0, 0, 1, 1}, yt[4] = {0, 1, 0, 1};
    double prob[8] = {0.9, 0.1, 0.8, 0.2, 0.2, 0.8, 0.1, 0.9}, tied[8] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    char *cls[2] = {"a", "b"};
    ao_scored s = {4, 2, cls, y, prob};
    double *a = NULL, *b = NULL, mp[4], fr[4];
    long cnt[4];
    size_t n = 0;
    ao_err err;
    ao_err_init(&err);
    CHECK(ao_roc_curve(&s, 1, &a, &b, &n, &err) == AO_OK && n == 5 && a[0] == 0 && b[0] == 0 && a[2] == 0 && b[2] == 1 && a[4] == 1 && b[4] == 1,
          "ROC of a perfect ranking: (0,0) (0,.5) (0,1) (.5,1) (1,1)");
    free(a); free(b);
    CHECK(ao_pr_curve(&s, 1, &a, &b, &n, &err) == AO_OK && n == 4 && a[0] == 0.5 && b[0] == 1 && a[3] == 1 && b[3] == 0.5,
          "precision-recall of a perfect ranking: from (.5, 1) to (1, .5)");
    free(a); free(b);
    s.prob = tied;
    s.y = yt;
    CHECK(ao_roc_curve(&s, 1, &a, &b, &n, &err) == AO_OK && n == 2 && a[1] == 1 && b[1] == 1, "tied scores: one threshold, (0,0) then (1,1)");
    free(a); free(b);
    CHECK(ao_roc_curve(&s, 2, &a, &b, &n, &err) == AO_EUSAGE && !a && !b, "a class out of range is refused");
    s.prob = prob;
    s.y = y;
    ao_calibration(&s, 4, mp, fr, cnt);
    CHECK(cnt[0] == 2 && cnt[3] == 2 && cnt[1] == 0 && fr[0] == 0 && fr[3] == 1 && isnan(fr[1]) && fabs(mp[0] - 0.15) < 1e-12,
          "calibration: two low bins right, two high bins right, empty bins NaN");
}

/* Decision thresholds: the chooser against brute force over the same
 * candidates, its tie rule, the argmax fallback, and the scorer's
 * threshold column. */
static double metric_of(const ao_metrics *m, const char *name)
{
    return !strcmp(name, "mcc") ? m->mcc : !strcmp(name, "f1_macro") ? m->f1_macro : !strcmp(name, "accuracy") ? m->accuracy
                                                                                   : m->balanced_accuracy;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run_thresholds(void)
{
    static const char *const names[] = {"mcc", "f1_macro", "accuracy", "balanced_accuracy"};
    enum { N = 60 };
    double prob[2 * N], sorted[N];
    int y[N], i, k, trial;
    unsigned seed = 7;
    ao_err err;
    for (trial = 0; trial < 3; trial++) {
        /* imbalanced, overlapping scores on a coarse grid (ties included) */
        for (i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            y[i] = (seed >> 16) % 4 == 0;
            seed = seed * 1103515245u + 12345u;
            prob[2 * i + 1] = (double)((seed >> 16) % 20 + (y[i] ? 4 + trial : 0)) / (24 + trial) * 0.98 + 0.01;
            prob[2 * i] = 1 - prob[2 * i + 1];
            sorted[i] = prob[2 * i + 1];
        }
        qsort(sorted, N, sizeof *sorted, cmp_dbl);
        for (k = 0; k < 4; k++) {
            double t, best, am, want = -1, want_t = NAN;
            ao_metrics *m;
            int j, ok;
            ao_err_init(&err);
            ok = ao_threshold_choose(N, y, prob, names[k], &t, &best, &am, &err) == AO_OK;
            for (j = 0; j + 1 < N; j++) {
                double c;
                if (sorted[j] == sorted[j + 1]) continue;
                c = sorted[j] + (sorted[j + 1] - sorted[j]) / 2;
                m = ao_metrics_compute_at(N, 2, NULL, y, prob, c, &err);
                if (m && (metric_of(m, names[k]) > want + 1e-12 ||
                          (fabs(metric_of(m, names[k]) - want) <= 1e-12 && fabs(c - 0.5) < fabs(want_t - 0.5)))) {
                    want = metric_of(m, names[k]);
                    want_t = c;
                }
                ao_metrics_destroy(m);
            }
            m = ao_metrics_compute(N, 2, NULL, y, prob, &err);
            ok = ok && m && fabs(am - metric_of(m, names[k])) < 1e-12 && fabs(best - want) < 1e-12 &&
                 (best > am ? t == want_t : isnan(t));
            CHECK(ok, "threshold for %s (trial %d): %.6g at %.6g (brute force %.6g at %.6g; argmax %.6g)", names[k], trial, best, t,
                  want, want_t, am);
            ao_metrics_destroy(m);
            /* ao_threshold_metric decides as the scorer does, at a threshold and at the argmax */
            m = ao_metrics_compute_at(N, 2, NULL, y, prob, 0.37, &err);
            ok = m && fabs(ao_threshold_metric(N, y, prob, names[k], 0.37) - metric_of(m, names[k])) < 1e-12;
            ao_metrics_destroy(m);
            m = ao_metrics_compute(N, 2, NULL, y, prob, &err);
            ok = ok && m && fabs(ao_threshold_metric(N, y, prob, names[k], NAN) - metric_of(m, names[k])) < 1e-12;
            ao_metrics_destroy(m);
            CHECK(ok, "ao_threshold_metric(%s, trial %d) equals the scorer at 0.37 and at the argmax", names[k], trial);
        }
    }
    {
        /* every candidate between the two groups ties: the one closest to 0.5 wins */
        int yy[4] = {0, 0, 1, 1};
        double pp[8] = {0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.1, 0.9}, t, best, am;
        /* positives at 0.7 and 0.9, negatives at 0.1 and 0.2: argmax already perfect -> no threshold */
        CHECK(ao_threshold_choose(4, yy, pp, "mcc", &t, &best, &am, &err) == AO_OK && isnan(t) && am == 1 && best == 1,
              "a threshold that does not beat the argmax is not kept");
        CHECK(isnan(ao_threshold_metric(4, yy, pp, "auroc", 0.5)) && isnan(ao_threshold_metric(0, yy, pp, "mcc", 0.5)),
              "ao_threshold_metric: NaN for a metric without a threshold and for no rows");
        /* shift everything below 0.5: argmax predicts all negative (MCC 0);
         * candidates 0.15, 0.25, 0.35: 0.25 separates and is the only best */
        pp[1] = 0.1; pp[3] = 0.2; pp[5] = 0.3; pp[7] = 0.4;
        pp[0] = 0.9; pp[2] = 0.8; pp[4] = 0.7; pp[6] = 0.6;
        CHECK(ao_threshold_choose(4, yy, pp, "mcc", &t, &best, &am, &err) == AO_OK && t == 0.25 && best == 1 && am == 0,
              "scores all below 0.5: the separating midpoint 0.25 (got %g)", t);
        {
            /* the rule: kept when other rows confirm it, dropped when they do not, standing without them */
            int yc[4] = {0, 1, 0, 1};
            double good[8] = {0.9, 0.1, 0.6, 0.4, 0.8, 0.2, 0.7, 0.3}, bad[8] = {0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4};
            ao_threshold_decision d;
            CHECK(ao_threshold_decide(4, yy, pp, 4, yc, good, "mcc", &d, &err) == AO_OK && d.chosen == 0.25 && d.threshold == 0.25 &&
                      d.confirm == 1 && d.confirm_argmax == 0, "ao_threshold_decide: confirmed (slice MCC %g vs %g at the argmax)", d.confirm, d.confirm_argmax);
            CHECK(ao_threshold_decide(4, yy, pp, 4, yc, bad, "mcc", &d, &err) == AO_OK && d.chosen == 0.25 && isnan(d.threshold) &&
                      d.confirm == 0 && d.confirm_argmax == 0, "ao_threshold_decide: not confirmed (slice MCC %g, argmax %g): the argmax", d.confirm, d.confirm_argmax);
            CHECK(ao_threshold_decide(4, yy, pp, 0, NULL, NULL, "mcc", &d, &err) == AO_OK && d.threshold == 0.25 && isnan(d.confirm),
                  "ao_threshold_decide: no confirming rows: the choice stands");
        }
        /* accuracy ties: all scores below 0.5 (argmax 2/5 right);
         * candidates 0.25 and 0.375 both get 4/5: 0.375 is closer to 0.5 */
        {
            int y2[5] = {0, 1, 0, 1, 1};
            double p2[10] = {0.8, 0.2, 0.7, 0.3, 0.65, 0.35, 0.6, 0.4, 0.55, 0.45};
            CHECK(ao_threshold_choose(5, y2, p2, "accuracy", &t, &best, &am, &err) == AO_OK && fabs(best - 0.8) < 1e-15 &&
                  fabs(am - 0.4) < 1e-15 && t == 0.375, "ties go to the candidate closest to 0.5 (got %.17g, accuracy %g, argmax %g)", t, best, am);
        }
        ao_err_init(&err);
        CHECK(ao_threshold_choose(4, yy, pp, "auroc", &t, &best, &am, &err) == AO_EUSAGE, "auroc needs no threshold");
        CHECK(ao_metric_needs_threshold("mcc") && ao_metric_needs_threshold("balanced_accuracy") && !ao_metric_needs_threshold("auprc") &&
              !ao_metric_needs_threshold(NULL), "which metrics need a threshold");
        pp[1] = pp[3] = pp[5] = pp[7] = 0.3;
        pp[0] = pp[2] = pp[4] = pp[6] = 0.7;
        CHECK(ao_threshold_choose(4, yy, pp, "mcc", &t, &best, &am, &err) == AO_OK && isnan(t), "one distinct score: no threshold");
        ao_err_init(&err);
        CHECK(!ao_metrics_compute_at(4, 2, NULL, yy, pp, 1.0, &err) && err.code == AO_EUSAGE, "a threshold of 1 is refused");
    }
}

static void run_threshold_column(void)
{
    char dir[] = "/tmp/test_metrics_t.XXXXXX";
    const char *H = "id\tprediction\tprobability_a\tprobability_b\tthreshold\n";
    const char *L = "id\tlabel\nr1\ta\nr2\tb\nr3\ta\n";
    char P[512];
    ao_metrics *m;
    ao_err err;
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    /* r3 (b 0.4) is b at threshold 0.35: the prediction column is scored */
    snprintf(P, sizeof P, "%sr1\ta\t0.9\t0.1\t0.35\nr2\tb\t0.2\t0.8\t0.35\nr3\tb\t0.6\t0.4\t0.35\n", H);
    m = score_texts(dir, P, L, &err);
    CHECK(m && m->threshold == 0.35 && m->confusion[1] == 1 && fabs(m->accuracy - 2.0 / 3) < 1e-15 && m->auroc == 1,
          "a threshold column: the thresholded predictions are scored, AUROC unchanged");
    ao_metrics_destroy(m);
    snprintf(P, sizeof P, "%sr1\ta\t0.9\t0.1\t0.35\nr2\tb\t0.2\t0.8\t0.35\nr3\ta\t0.6\t0.4\t0.35\n", H);
    join_case(dir, P, L, "p.tsv:4: prediction 'a' is not the thresholded class", "a prediction that is not the thresholded class");
    snprintf(P, sizeof P, "%sr1\ta\t0.9\t0.1\t0.35\nr2\tb\t0.2\t0.8\t0.4\nr3\tb\t0.6\t0.4\t0.35\n", H);
    join_case(dir, P, L, "p.tsv:3: threshold 0.4 differs", "thresholds that differ between rows");
    snprintf(P, sizeof P, "%sr1\ta\t0.9\t0.1\t1.5\nr2\tb\t0.2\t0.8\t1.5\nr3\tb\t0.6\t0.4\t1.5\n", H);
    join_case(dir, P, L, "p.tsv:2: threshold is '1.5', not a finite number in (0, 1)", "a threshold outside (0, 1)");
    snprintf(P, sizeof P, "%sr1\ta\t0.9\t0.1\tnan\nr2\tb\t0.2\t0.8\tnan\nr3\tb\t0.6\t0.4\tnan\n", H);
    join_case(dir, P, L, "p.tsv:2: threshold is 'nan'", "a NaN threshold");
    join_case(dir, "id\tprediction\tprobability_a\tprobability_b\tprobability_c\tthreshold\nr1\ta\t0.8\t0.1\t0.1\t0.5\n"
              "r2\tb\t0.2\t0.7\t0.1\t0.5\nr3\ta\t0.6\t0.2\t0.2\t0.5\n", L, "p.tsv:1: a threshold column needs two classes", "a threshold with three classes");
    rmdir(dir);
}

int main(void)
{
    const char *dir = getenv("AO_TEST_DATA");
    if (!dir || !*dir) dir = "tests/data";
    run_fixtures(dir);
    run_direct();
    run_join();
    run_curves();
    run_thresholds();
    run_threshold_column();
    return UNIT_DONE();
}
