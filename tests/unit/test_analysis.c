/* test_analysis.c — the analyze step's prediction exploration: a hand-made
 * prediction file with a known confusion matrix, error buckets and
 * calibration (worked out by hand below), the generalisation gap, the id
 * join's errors, and agreement with the trusted scorer on a real slice
 * (tests/data/gue_tata_dev.csv, $AO_TEST_DATA). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/analysis.h"
#include "agentomics/data.h"
#include "agentomics/metrics.h"
#include "agentomics/split.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_analysis.XXXXXX";

static double jnum(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fputs(text, fp);
    return fclose(fp);
}

/* Ten validation rows r0..r9: r0-r4 "neg", r5-r9 "pos"; r_i is i+1 copies
 * of a 10-mer with g_i of 10 bases G or C, so its length is 10 (i + 1)
 * and its GC fraction g_i / 10. */
static const int gc10[10] = {5, 5, 5, 5, 5, 2, 2, 8, 8, 8};
static const double ppos[10] = {0.1, 0.2, 0.65, 0.3, 0.95, 0.9, 0.8, 0.4, 0.75, 0.55};

static void make_valid(const char *path)
{
    FILE *fp = fopen(path, "w");
    int i, j;
    fputs("id,sequence,label\n", fp);
    for (i = 0; i < 10; i++) {
        char unit[11];
        for (j = 0; j < 10; j++) unit[j] = j < gc10[i] ? "GC"[j % 2] : "AT"[j % 2];
        unit[10] = '\0';
        fprintf(fp, "r%d,", i);
        for (j = 0; j <= i; j++) fputs(unit, fp);
        fprintf(fp, ",%s\n", i < 5 ? "neg" : "pos");
    }
    fclose(fp);
}

/* Predictions in a shuffled row order and with the columns swapped. */
static void make_pred(const char *path)
{
    static const int order[10] = {7, 2, 9, 0, 4, 1, 8, 3, 6, 5};
    FILE *fp = fopen(path, "w");
    int k;
    fputs("probability_pos\tid\tprediction\tprobability_neg\n", fp);
    for (k = 0; k < 10; k++) {
        int i = order[k];
        fprintf(fp, "%.17g\tr%d\t%s\t%.17g\n", ppos[i], i, ppos[i] > 0.5 ? "pos" : "neg", 1 - ppos[i]);
    }
    fclose(fp);
}

static const json_t *jp(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

static int matrix_is(const json_t *m, const long *want, int K)
{
    int i, j;
    if ((int)json_array_size(m) != K) return 0;
    for (i = 0; i < K; i++)
        for (j = 0; j < K; j++)
            if (json_integer_value(json_array_get(json_array_get(m, i), j)) != want[i * K + j]) return 0;
    return 1;
}

static int bucket_is(const json_t *b, double lo, double hi, long n, long errors)
{
    return fabs(jnum(json_object_get(b, "min")) - lo) < 1e-12 && fabs(jnum(json_object_get(b, "max")) - hi) < 1e-12 &&
           json_integer_value(json_object_get(b, "n")) == n && json_integer_value(json_object_get(b, "errors")) == errors &&
           fabs(jnum(json_object_get(b, "error_rate")) - (double)errors / (double)n) < 1e-12;
}

static void test_handmade(void)
{
    char vpath[4096], ppath[4096], tpath[4096], tppath[4096], *classes[] = {"neg", "pos"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_err err;
    ao_seqset *v = NULL, *t = NULL;
    json_t *a = NULL, *cal, *bins, *eb, *gb, *mc, *gap;
    static const long cm[4] = {3, 2, 1, 4};
    int ok, b;

    snprintf(vpath, sizeof vpath, "%s/valid.csv", tmpdir);
    snprintf(ppath, sizeof ppath, "%s/pred.tsv", tmpdir);
    snprintf(tpath, sizeof tpath, "%s/train.csv", tmpdir);
    snprintf(tppath, sizeof tppath, "%s/pred_train.tsv", tmpdir);
    make_valid(vpath);
    make_pred(ppath);
    write_file(tpath, "id,sequence,label\nt1,ACGT,neg\nt2,GGCC,pos\nt3,ATAT,neg\nt4,GCGC,pos\n");
    write_file(tppath, "id\tprediction\tprobability_neg\tprobability_pos\n"
                       "t1\tneg\t0.9\t0.1\nt2\tpos\t0.2\t0.8\nt3\tneg\t0.7\t0.3\nt4\tpos\t0.05\t0.95\n");
    ao_err_init(&err);
    v = ao_seqset_read(vpath, info, 1, 1, &err);
    t = ao_seqset_read(tpath, info, 1, 1, &err);
    CHECK(v && t && v->n == 10, "read the hand-made sets");
    if (!v || !t) { printf("#   %s\n", err.msg); goto DONE; }
    a = ao_analysis_compute(v, info, ppath, t, tppath, &err);
    CHECK(a != NULL, "analysis of the hand-made predictions");
    if (!a) { printf("#   %s\n", err.msg); goto DONE; }

    CHECK(json_integer_value(json_object_get(a, "n")) == 10 && fabs(jnum(jp(a, "metrics", "accuracy")) - 0.7) < 1e-12,
          "10 rows, accuracy 0.7");
    CHECK(matrix_is(jp(a, "confusion_matrix", "matrix"), cm, 2) &&
          strcmp(json_string_value(json_array_get(jp(a, "confusion_matrix", "classes"), 1)), "pos") == 0,
          "confusion matrix [[3, 2], [1, 4]] in class order");
    mc = json_object_get(a, "most_confused");
    CHECK(json_array_size(mc) == 2 && strcmp(json_string_value(json_object_get(json_array_get(mc, 0), "true")), "neg") == 0 &&
          json_integer_value(json_object_get(json_array_get(mc, 0), "count")) == 2 &&
          fabs(jnum(json_object_get(json_array_get(mc, 0), "fraction_of_true")) - 0.4) < 1e-12 &&
          json_integer_value(json_object_get(json_array_get(mc, 1), "count")) == 1,
          "most confused: neg->pos (2), then pos->neg (1)");
    CHECK(fabs(jnum(jp(json_object_get(a, "per_class"), "pos", "recall")) - 0.8) < 1e-12 &&
          fabs(jnum(jp(json_object_get(a, "per_class"), "pos", "precision")) - 4.0 / 6) < 1e-12 &&
          json_integer_value(jp(json_object_get(a, "per_class"), "neg", "support")) == 5,
          "per class: recall, precision, support");

    /* Lengths 10..100: quintile edges 20, 40, 60, 80; errors r2, r4, r7. */
    eb = json_object_get(a, "errors_by_length");
    CHECK(json_array_size(eb) == 5 && bucket_is(json_array_get(eb, 0), 10, 20, 2, 0) &&
          bucket_is(json_array_get(eb, 1), 30, 40, 2, 1) && bucket_is(json_array_get(eb, 2), 50, 60, 2, 1) &&
          bucket_is(json_array_get(eb, 3), 70, 80, 2, 1) && bucket_is(json_array_get(eb, 4), 90, 100, 2, 0),
          "errors by length: 5 quintile buckets with 0, 1, 1, 1, 0 errors");
    /* GC 0.2 x2, 0.5 x5, 0.8 x3: edges 0.2, 0.5, 0.5, 0.8 -> 3 non-empty buckets. */
    gb = json_object_get(a, "errors_by_gc");
    CHECK(json_array_size(gb) == 3 && bucket_is(json_array_get(gb, 0), 0.2, 0.2, 2, 0) &&
          bucket_is(json_array_get(gb, 1), 0.5, 0.5, 5, 2) && bucket_is(json_array_get(gb, 2), 0.8, 0.8, 3, 1),
          "errors by GC: tied quintiles merge into 3 buckets");

    /* Calibration of the max probability (worked out in the comments of
     * the fixture): bins 5..9 hold 1, 2, 2, 2, 3 rows; ECE 0.34, MCE 0.625. */
    cal = json_object_get(a, "calibration");
    bins = json_object_get(cal, "bins");
    ok = json_array_size(bins) == 10;
    for (b = 0; ok && b < 5; b++) ok = json_integer_value(json_object_get(json_array_get(bins, b), "count")) == 0 &&
                                      json_is_null(json_object_get(json_array_get(bins, b), "accuracy"));
    ok = ok && json_integer_value(json_object_get(json_array_get(bins, 6), "count")) == 2 &&
         fabs(jnum(json_object_get(json_array_get(bins, 6), "mean_confidence")) - 0.625) < 1e-12 &&
         jnum(json_object_get(json_array_get(bins, 6), "accuracy")) == 0 &&
         json_integer_value(json_object_get(json_array_get(bins, 9), "count")) == 3 &&
         fabs(jnum(json_object_get(json_array_get(bins, 9), "accuracy")) - 2.0 / 3) < 1e-12 &&
         fabs(jnum(json_object_get(json_array_get(bins, 9), "lower")) - 0.9) < 1e-12;
    CHECK(ok, "calibration bins: counts, confidence and accuracy");
    CHECK_NEAR(jnum(json_object_get(cal, "ece")), 0.34, 1e-12, "ECE of the max probability");
    CHECK_NEAR(jnum(json_object_get(cal, "mce")), 0.625, 1e-12, "MCE of the max probability");
    CHECK_NEAR(jnum(jp(cal, "positive_class", "ece")), 0.36, 1e-12, "binary: ECE of the positive-class probability");
    CHECK(strcmp(json_string_value(jp(cal, "positive_class", "class")), "pos") == 0 &&
          json_integer_value(json_object_get(json_array_get(jp(cal, "positive_class", "bins"), 9), "count")) == 2,
          "binary: positive-class bins");
    CHECK_NEAR(jnum(jp(a, "confidence", "mean_max_prob_correct")), 5.4 / 7, 1e-12, "mean confidence when correct");
    CHECK_NEAR(jnum(jp(a, "confidence", "mean_max_prob_wrong")), 2.2 / 3, 1e-12, "mean confidence when wrong");

    gap = json_object_get(a, "generalisation_gap");
    CHECK(fabs(jnum(jp(a, "train_metrics", "accuracy")) - 1) < 1e-12 && fabs(jnum(json_object_get(gap, "accuracy")) - 0.3) < 1e-12 &&
          fabs(jnum(json_object_get(gap, "auroc")) - (1 - jnum(jp(a, "metrics", "auroc")))) < 1e-12 &&
          jnum(json_object_get(gap, "log_loss")) < 0,
          "generalisation gap: train minus valid");
    json_decref(a);
    a = ao_analysis_compute(v, info, ppath, NULL, NULL, &err);
    CHECK(a && json_is_null(json_object_get(a, "generalisation_gap")) && json_is_null(json_object_get(a, "train_metrics")),
          "without training predictions: nulls");
    json_decref(a);

    /* Join errors: FILE:LINE. */
    {
        struct { const char *text, *want, *what; } bad[] = {
            {"id\tprediction\tprobability_neg\tprobability_pos\nt1\tneg\t0.9\t0.1\nt2\tpos\t0.2\t0.8\nx9\tneg\t0.7\t0.3\n"
             "t4\tpos\t0.05\t0.95\n", "pt.tsv:4: id 'x9' is not in", "an unknown id"},
            {"id\tprediction\tprobability_neg\tprobability_pos\nt1\tneg\t0.9\t0.1\nt2\tpos\t0.2\t0.8\nt3\tneg\t0.7\t0.3\n",
             "pt.tsv: no prediction for id 't4'", "a missing id"},
            {"id\tprediction\tprobability_neg\tprobability_pos\nt1\tneg\t0.9\t0.1\nt2\tpos\t0.2\t0.8\nt3\tneg\t0.7\t0.3\n"
             "t4\tpos\t0.05\t0.95\nt2\tpos\t0.2\t0.8\n", "pt.tsv:6: duplicate id 't2' (also on line 3)", "a duplicate id"},
            {"id\tprediction\tprobability_neg\nt1\tneg\t1\n", "pt.tsv:1: no 'probability_pos' column", "a missing column"},
            {"id\tprediction\tprobability_neg\tprobability_pos\tprobability_x\nt1\tneg\t0.9\t0.1\t0\n",
             "pt.tsv:1: column 'probability_x' is not a class", "an extra class column"},
            {"id\tprediction\tprobability_neg\tprobability_pos\nt1\tneg\t0.9\t0.2\n", "pt.tsv:2: the probabilities sum to 1.1",
             "probabilities not summing to 1"},
            {"id\tprediction\tprobability_neg\tprobability_pos\nt1\tneg\tabc\t0.2\n", "pt.tsv:2: probability_neg is 'abc'",
             "a probability that is not a number"},
            {"id\tprediction\tprobability_neg\tprobability_pos\nt1\tmaybe\t0.9\t0.1\n", "pt.tsv:2: prediction 'maybe'",
             "an unknown predicted class"},
        };
        char bpath[4096];
        size_t i;
        snprintf(bpath, sizeof bpath, "%s/pt.tsv", tmpdir);
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            write_file(bpath, bad[i].text);
            ao_err_init(&err);
            a = ao_analysis_compute(t, info, bpath, NULL, NULL, &err);
            CHECK(!a && err.code == AO_EDATA && strstr(err.msg, bad[i].want), "%s is AO_EDATA at FILE:LINE (%s)", bad[i].what,
                  err.msg);
            json_decref(a);
        }
        unlink(bpath);
        ao_err_init(&err);
        a = ao_analysis_compute(t, info, "/nonexistent/pred.tsv", NULL, NULL, &err);
        CHECK(!a && err.code == AO_EIO, "a missing prediction file is AO_EIO");
        ao_err_init(&err);
        a = ao_analysis_compute(v, info, ppath, t, NULL, &err);
        CHECK(!a && err.code == AO_EUSAGE, "training rows without training predictions is AO_EUSAGE");
    }
DONE:
    unlink(vpath);
    unlink(ppath);
    unlink(tpath);
    unlink(tppath);
    ao_seqset_destroy(v);
    ao_seqset_destroy(t);
    ao_dataset_info_destroy(info);
}

/* Three classes: positive_class is null, matrix 3 x 3. */
static void test_multiclass(void)
{
    char vpath[4096], ppath[4096], *classes[] = {"a", "b", "c"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(3, classes, 1, cols);
    static const long cm[9] = {1, 1, 0, 0, 2, 0, 1, 0, 1};
    ao_err err;
    ao_seqset *v;
    json_t *a = NULL;
    snprintf(vpath, sizeof vpath, "%s/v3.csv", tmpdir);
    snprintf(ppath, sizeof ppath, "%s/p3.tsv", tmpdir);
    write_file(vpath, "id,sequence,label\nx1,ACGTAC,a\nx2,ACG,a\nx3,GGGGCC,b\nx4,ATATAT,b\nx5,CCCAAA,c\nx6,ACGTTT,c\n");
    write_file(ppath, "id\tprediction\tprobability_a\tprobability_b\tprobability_c\n"
                      "x1\ta\t0.6\t0.3\t0.1\nx2\tb\t0.2\t0.5\t0.3\nx3\tb\t0.1\t0.8\t0.1\nx4\tb\t0.3\t0.4\t0.3\n"
                      "x5\ta\t0.5\t0.1\t0.4\nx6\tc\t0.2\t0.2\t0.6\n");
    ao_err_init(&err);
    v = ao_seqset_read(vpath, info, 1, 1, &err);
    if (v) a = ao_analysis_compute(v, info, ppath, NULL, NULL, &err);
    CHECK(a != NULL, "multiclass analysis");
    if (!a) printf("#   %s\n", err.msg);
    CHECK(a && matrix_is(jp(a, "confusion_matrix", "matrix"), cm, 3) && json_array_size(json_object_get(a, "most_confused")) == 2 &&
          strcmp(json_string_value(json_object_get(json_array_get(json_object_get(a, "most_confused"), 0), "true")), "a") == 0,
          "3 x 3 confusion matrix; ties among confused pairs in class order");
    CHECK(a && json_is_null(jp(a, "calibration", "positive_class")), "multiclass: no positive-class calibration");
    json_decref(a);
    unlink(vpath);
    unlink(ppath);
    ao_seqset_destroy(v);
    ao_dataset_info_destroy(info);
}

/* The metrics equal the trusted scorer's on a real slice. */
static void test_real(const char *data)
{
    char path[4096], lpath[4096], ppath[4096], *classes[] = {"0", "1"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_err err;
    ao_seqset *v;
    json_t *a = NULL, *scored = NULL;
    int64_t *idx, i;
    FILE *fp;
    snprintf(path, sizeof path, "%s/gue_tata_dev.csv", data);
    snprintf(lpath, sizeof lpath, "%s/labels.tsv", tmpdir);
    snprintf(ppath, sizeof ppath, "%s/pred.tsv", tmpdir);
    ao_err_init(&err);
    v = ao_seqset_read(path, info, 1, 1, &err);
    CHECK(v != NULL, "read %s", path);
    if (!v) { printf("#   %s\n", err.msg); ao_dataset_info_destroy(info); return; }
    /* A GC-content "model". */
    fp = fopen(ppath, "w");
    fputs("id\tprediction\tprobability_0\tprobability_1\n", fp);
    for (i = 0; i < v->n; i++) {
        const char *s = v->seqs[i];
        double gc = 0, n = 0, p;
        for (; *s; s++, n++) gc += *s == 'G' || *s == 'C';
        p = gc / n;
        fprintf(fp, "%s\t%s\t%.6f\t%.6f\n", v->ids[i], p > 0.5 ? "1" : "0", 1 - p, p);
    }
    fclose(fp);
    idx = malloc(sizeof *idx * (size_t)v->n);
    for (i = 0; i < v->n; i++) idx[i] = i;
    CHECK(ao_split_write(v, idx, v->n, info, lpath, &err) == AO_OK, "write the labels");
    free(idx);
    a = ao_analysis_compute(v, info, ppath, NULL, NULL, &err);
    CHECK(a != NULL, "analysis of a GC model on the TATA dev slice");
    CHECK(ao_score_files(ppath, lpath, &scored, &err) == AO_OK, "the trusted scorer on the same files");
    CHECK(a && scored && json_equal(json_object_get(a, "metrics"), scored), "analysis metrics equal the trusted scorer's");
    CHECK(a && json_array_size(json_object_get(a, "errors_by_length")) == 1 && json_array_size(json_object_get(a, "errors_by_gc")) == 5,
          "fixed lengths give one length bucket, GC five");
    json_decref(a);
    json_decref(scored);
    unlink(lpath);
    unlink(ppath);
    ao_seqset_destroy(v);
    ao_dataset_info_destroy(info);
}

int main(void)
{
    const char *data = getenv("AO_TEST_DATA");
    if (!data || !*data) data = "tests/data";
    if (!mkdtemp(tmpdir)) { CHECK(0, "mkdtemp"); return UNIT_DONE(); }
    test_handmade();
    test_multiclass();
    test_real(data);
    rmdir(tmpdir);
    return UNIT_DONE();
}
