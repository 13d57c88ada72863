/* test_profile.c — the explore step's dataset profile: its fields on a real
 * slice (tests/data/gue_tata_train.csv, $AO_TEST_DATA), determinism, the
 * separability score on hand-made cases, duplicate counting, and the
 * positional signal of a planted motif against shuffled controls. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/data.h"
#include "agentomics/profile.h"
#include "agentomics/rng.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_profile.XXXXXX";

static double jnum(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static const json_t *jpath(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

static void test_separability(void)
{
    double x[] = {1, 2, 3, 4}, tie[] = {5, 5, 5, 5}, x6[] = {1, 2, 3, 4, 5, 6};
    int y[] = {0, 0, 1, 1}, yr[] = {1, 1, 0, 0}, ym[] = {0, 1, 0, 1}, y3[] = {0, 0, 1, 1, 2, 2};
    CHECK_NEAR(ao_profile_separability(x, y, 4, 2), 1.0, 1e-12, "separability: perfectly ordered classes give 1");
    CHECK_NEAR(ao_profile_separability(x, yr, 4, 2), 1.0, 1e-12, "separability: reversed order is folded to 1");
    CHECK_NEAR(ao_profile_separability(tie, y, 4, 2), 0.5, 1e-12, "separability: all ties give 0.5");
    CHECK_NEAR(ao_profile_separability(x, ym, 4, 2), 0.75, 1e-12, "separability: 3 of 4 pairs ordered give 0.75");
    /* 3 classes, one-vs-rest: class 0 {1,2} vs rest: AUROC 0 -> folded 1;
     * class 1 {3,4}: 4 of 8 pairs above -> 0.5; class 2 {5,6}: 1. */
    CHECK_NEAR(ao_profile_separability(x6, y3, 6, 3), (1.0 + 0.5 + 1.0) / 3, 1e-12,
               "separability: multiclass is the mean folded one-vs-rest AUROC");
    CHECK(isnan(ao_profile_separability(x, (int[]){0, 0, 0, 0}, 4, 2)), "separability: one class only is NaN");
}

static void test_real(const char *data)
{
    static const char *keys[] = {
        "n_train", "n_valid", "n_classes", "classes", "class_counts", "class_counts_valid", "imbalance_ratio", "task",
        "n_seq_cols", "length", "alphabet", "gc_by_class", "gc_separability", "length_separability", "kmer_enrichment",
        "kmer_signal", "positional_signal", "duplicates", "duplicate_groups", "conflicting_labels", "valid_in_train"};
    char path[4096], vpath[4096], *classes[] = {"0", "1"}, *cols[] = {"sequence"}, *d1, *d2;
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_err err;
    ao_seqset *s, *v;
    json_t *p, *p2, *len, *ke, *ks, *ps;
    const char *key;
    json_t *val;
    size_t i, ki = 0;
    int ok;

    snprintf(path, sizeof path, "%s/gue_tata_train.csv", data);
    snprintf(vpath, sizeof vpath, "%s/gue_tata_dev.csv", data);
    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    v = ao_seqset_read(vpath, info, 1, 1, &err);
    CHECK(s && v, "read the TATA train and dev slices");
    if (!s || !v) { printf("#   %s\n", err.msg); goto DONE; }
    p = ao_profile_compute(s, v, info, 11, 1, &err);
    CHECK(p != NULL, "profile of the TATA slice");
    if (!p) { printf("#   %s\n", err.msg); goto DONE; }
    ok = json_object_size(p) == sizeof keys / sizeof keys[0];
    json_object_foreach(p, key, val) ok &= ki < sizeof keys / sizeof keys[0] && strcmp(key, keys[ki++]) == 0;
    CHECK(ok, "every documented key, in the documented order");
    CHECK(json_integer_value(json_object_get(p, "n_train")) == 400 && json_integer_value(json_object_get(p, "n_valid")) == 100 &&
          json_integer_value(json_object_get(p, "n_classes")) == 2 &&
          strcmp(json_string_value(json_object_get(p, "task")), "binary") == 0, "sizes and task");
    CHECK(json_integer_value(jpath(p, "class_counts", "0")) + json_integer_value(jpath(p, "class_counts", "1")) == 400 &&
          json_integer_value(jpath(p, "class_counts_valid", "0")) + json_integer_value(jpath(p, "class_counts_valid", "1")) == 100,
          "class counts add up");
    CHECK(jnum(json_object_get(p, "imbalance_ratio")) >= 1, "imbalance ratio >= 1");
    len = json_array_get(json_object_get(p, "length"), 0);
    CHECK(json_array_size(json_object_get(p, "length")) == 1 && json_integer_value(json_object_get(len, "min")) == 300 &&
          json_integer_value(json_object_get(len, "max")) == 300 && jnum(json_object_get(len, "median")) == 300 &&
          jnum(json_object_get(len, "cv")) == 0 && json_is_true(json_object_get(len, "fixed")),
          "lengths: fixed at 300");
    CHECK(jnum(jpath(p, "alphabet", "non_acgt_fraction")) >= 0 && jnum(jpath(p, "alphabet", "non_acgt_fraction")) < 0.01,
          "alphabet: (almost) only ACGT");
    CHECK(jnum(jpath(p, "gc_by_class", "0")) > 0.3 && jnum(jpath(p, "gc_by_class", "0")) < 0.7 &&
          jnum(jpath(p, "gc_by_class", "1")) > 0.3 && jnum(jpath(p, "gc_by_class", "1")) < 0.7, "GC by class is plausible");
    CHECK(jnum(json_object_get(p, "gc_separability")) >= 0.5 && jnum(json_object_get(p, "gc_separability")) <= 1,
          "gc separability in [0.5, 1] (%.3f)", jnum(json_object_get(p, "gc_separability")));
    CHECK(jnum(json_object_get(p, "length_separability")) == 0.5, "length separability 0.5 for fixed lengths");
    ke = json_object_get(json_object_get(p, "kmer_enrichment"), "1");
    ok = json_array_size(ke) == 10;
    for (i = 0; ok && i < json_array_size(ke); i++) {
        json_t *e = json_array_get(ke, i);
        int k = (int)json_integer_value(json_object_get(e, "k"));
        ok = k >= 4 && k <= 6 && strlen(json_string_value(json_object_get(e, "kmer"))) == (size_t)k &&
             json_integer_value(json_object_get(e, "count")) >= 5 && jnum(json_object_get(e, "log2_odds")) > 0 &&
             (i == 0 || jnum(json_object_get(e, "log2_odds")) <= jnum(json_object_get(json_array_get(ke, i - 1), "log2_odds")));
    }
    CHECK(ok, "k-mer enrichment: 10 k-mers of k 4-6, count >= 5, positive and descending log2 odds");
    ks = json_object_get(p, "kmer_signal");
    CHECK(jnum(json_object_get(ks, "chance")) == 0.5 && json_integer_value(json_object_get(ks, "n_fit")) == 320 &&
          json_integer_value(json_object_get(ks, "n_eval")) == 80 &&
          jnum(json_object_get(ks, "kmer_centroid_balanced_accuracy")) >= 0 &&
          jnum(json_object_get(ks, "kmer_centroid_balanced_accuracy")) <= 1,
          "k-mer signal: an 80/20 draw scored (%.3f)", jnum(json_object_get(ks, "kmer_centroid_balanced_accuracy")));
    ps = json_object_get(p, "positional_signal");
    CHECK(json_integer_value(json_object_get(ps, "length_used")) == 300 &&
          strcmp(json_string_value(json_object_get(ps, "aligned")), "fixed") == 0 &&
          json_array_size(json_object_get(ps, "top_positions")) == 5 &&
          jnum(json_object_get(ps, "positional_mi_max")) ==
              jnum(json_object_get(json_array_get(json_object_get(ps, "top_positions"), 0), "mi_bits")),
          "positional signal: 300 positions, 5 top positions, max = first of them");
    CHECK(fabs(jnum(json_object_get(ps, "mi_excess_bits")) -
               (jnum(json_object_get(ps, "mi_sum_bits")) - jnum(json_object_get(ps, "mi_permuted_bits")))) < 1e-9,
          "mi_excess = mi_sum - mi_permuted");
    CHECK(json_integer_value(json_object_get(p, "valid_in_train")) >= 0 && json_integer_value(json_object_get(p, "duplicates")) >= 0,
          "duplicates and overlap counted");

    /* Determinism: same seed, same bytes; another seed changes the random parts only. */
    p2 = ao_profile_compute(s, v, info, 11, 1, &err);
    d1 = json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(17));
    d2 = p2 ? json_dumps(p2, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    CHECK(d1 && d2 && strcmp(d1, d2) == 0, "same seed, identical profile");
    free(d2);
    json_decref(p2);
    p2 = ao_profile_compute(s, v, info, 12, 1, &err);
    CHECK(p2 && json_equal(json_object_get(p, "kmer_enrichment"), json_object_get(p2, "kmer_enrichment")) &&
          json_equal(json_object_get(p, "length"), json_object_get(p2, "length")) &&
          jnum(jpath(p, "positional_signal", "mi_sum_bits")) == jnum(jpath(p2, "positional_signal", "mi_sum_bits")),
          "another seed: the deterministic parts are unchanged");
    free(d1);
    json_decref(p2);
    json_decref(p);

    p = ao_profile_compute(s, NULL, info, 11, 1, &err);
    CHECK(p && json_is_null(json_object_get(p, "valid_in_train")) && json_is_null(json_object_get(p, "class_counts_valid")) &&
          json_integer_value(json_object_get(p, "n_valid")) == 0, "without validation rows: nulls and 0");
    json_decref(p);
DONE:
    ao_seqset_destroy(s);
    ao_seqset_destroy(v);
    ao_dataset_info_destroy(info);
}

static void test_duplicates(void)
{
    char path[4096], vpath[4096], *classes[] = {"x", "y"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_err err;
    ao_seqset *s = NULL, *v = NULL, *u = NULL;
    json_t *p;
    FILE *fp;
    snprintf(path, sizeof path, "%s/dups.csv", tmpdir);
    snprintf(vpath, sizeof vpath, "%s/dups_valid.csv", tmpdir);
    fp = fopen(path, "w");
    /* AAAA x3 (one conflicting), CCCC x2 (same label), GGGG, TTNT. */
    fputs("id,sequence,label\n1,AAAACG,x\n2,CCCCAT,y\n3,AAAACG,x\n4,GGGGTA,y\n5,AAAACG,y\n6,CCCCAT,y\n7,TTNTGC,x\n", fp);
    fclose(fp);
    fp = fopen(vpath, "w");
    fputs("id,sequence,label\nv1,GGGGTA,x\nv2,ACACAC,y\nv3,AAAACG,x\n", fp);
    fclose(fp);
    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    v = ao_seqset_read(vpath, info, 1, 1, &err);
    CHECK(s && v, "read the duplicate case");
    if (!s || !v) { printf("#   %s\n", err.msg); goto DONE; }
    p = ao_profile_compute(s, v, info, 1, 1, &err);
    CHECK(p && json_integer_value(json_object_get(p, "duplicates")) == 3 &&
          json_integer_value(json_object_get(p, "duplicate_groups")) == 2 &&
          json_integer_value(json_object_get(p, "conflicting_labels")) == 1 &&
          json_integer_value(json_object_get(p, "valid_in_train")) == 2,
          "3 duplicate rows in 2 groups, 1 conflicting, 2 validation rows in train");
    CHECK(p && fabs(jnum(jpath(p, "alphabet", "non_acgt_fraction")) - 1.0 / 42) < 1e-12 &&
          fabs(jnum(jpath(p, "alphabet", "rows_with_non_acgt_fraction")) - 1.0 / 7) < 1e-12, "alphabet: one N in 42 symbols");
    /* GC of x rows: AAAACG 2/6 twice, TTNTGC 2/5 -> mean (1/3 + 1/3 + 2/5) / 3. */
    CHECK(p && fabs(jnum(jpath(p, "gc_by_class", "x")) - (1.0 / 3 + 1.0 / 3 + 0.4) / 3) < 1e-12, "GC by class over ACGT bases");
    CHECK(p && json_array_size(json_object_get(json_object_get(p, "kmer_enrichment"), "x")) == 0,
          "no k-mer is seen 5 times: no enrichment listed");
    json_decref(p);
    /* Errors. */
    u = ao_seqset_read(path, info, 0, 1, &err);
    ao_err_init(&err);
    CHECK(u && !ao_profile_compute(u, NULL, info, 1, 1, &err) && err.code == AO_EUSAGE, "an unlabelled train set is AO_EUSAGE");
DONE:
    unlink(path);
    unlink(vpath);
    ao_seqset_destroy(s);
    ao_seqset_destroy(v);
    ao_seqset_destroy(u);
    ao_dataset_info_destroy(info);
}

/* 300 random sequences of 100 nt; mode 0: class 1 carries MOTIF at
 * position 40; mode 1: the motif sits at position 40 in a random half of
 * the rows, labels independent of it; mode 2: class 1 carries the motif at
 * a random position. */
#define MOTIF "TATAAAAGGC"
static json_t *motif_profile(int mode, ao_dataset_info *info)
{
    char path[4096], seq[101];
    ao_rng rng;
    ao_err err;
    ao_seqset *s;
    json_t *p = NULL;
    FILE *fp;
    int r, j;
    snprintf(path, sizeof path, "%s/motif%d.csv", tmpdir, mode);
    fp = fopen(path, "w");
    ao_rng_seed(&rng, 99);
    fputs("id,sequence,label\n", fp);
    for (r = 0; r < 300; r++) {
        int y = r % 2, plant = mode == 1 ? (int)ao_rng_below(&rng, 2) : y;
        int at = mode == 2 ? (int)ao_rng_below(&rng, 100 - (int)strlen(MOTIF)) : 40;
        for (j = 0; j < 100; j++) seq[j] = "ACGT"[ao_rng_below(&rng, 4)];
        seq[100] = '\0';
        if (plant) memcpy(seq + at, MOTIF, strlen(MOTIF));
        fprintf(fp, "r%d,%s,%d\n", r, seq, y);
    }
    fclose(fp);
    ao_err_init(&err);
    if ((s = ao_seqset_read(path, info, 1, 1, &err))) p = ao_profile_compute(s, NULL, info, 5, 1, &err);
    if (!p) printf("#   %s\n", err.msg);
    ao_seqset_destroy(s);
    unlink(path);
    return p;
}

static void test_motif(void)
{
    char *classes[] = {"0", "1"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    json_t *planted = motif_profile(0, info), *shuffled = motif_profile(1, info), *floating = motif_profile(2, info);
    const json_t *pp = json_object_get(planted, "positional_signal"), *sp = json_object_get(shuffled, "positional_signal"),
                 *fp = json_object_get(floating, "positional_signal");
    int64_t top = json_integer_value(json_object_get(pp, "positional_mi_max_position"));
    const json_t *ke;
    size_t i;
    int found = 0;
    CHECK(planted && shuffled && floating, "profiles of the planted motif and its controls");
    printf("# planted: excess %.3f positional excess %.3f snr %.2f max %.3f at %lld\n",
           jnum(json_object_get(pp, "mi_excess_bits")), jnum(json_object_get(pp, "mi_positional_excess_bits")),
           jnum(json_object_get(pp, "positional_snr")), jnum(json_object_get(pp, "positional_mi_max")), (long long)top);
    printf("# shuffled labels: excess %.3f snr %.2f; floating motif: excess %.3f positional excess %.3f snr %.2f\n",
           jnum(json_object_get(sp, "mi_excess_bits")), jnum(json_object_get(sp, "positional_snr")),
           jnum(json_object_get(fp, "mi_excess_bits")), jnum(json_object_get(fp, "mi_positional_excess_bits")),
           jnum(json_object_get(fp, "positional_snr")));
    CHECK(top >= 40 && top < 40 + (int64_t)strlen(MOTIF), "the most informative position is inside the motif (%lld)", (long long)top);
    CHECK(jnum(json_object_get(pp, "positional_mi_max")) > 0.3, "planted: a single position carries > 0.3 bits");
    CHECK(jnum(json_object_get(pp, "mi_excess_bits")) > 3 && jnum(json_object_get(pp, "positional_snr")) > 2,
          "planted: high positional signal");
    CHECK(fabs(jnum(json_object_get(sp, "mi_excess_bits"))) < 0.3 * jnum(json_object_get(sp, "mi_permuted_bits")) + 0.1 &&
          fabs(jnum(json_object_get(sp, "positional_snr"))) < 0.5,
          "shuffled labels: no positional signal beyond the permutation baseline");
    CHECK(jnum(json_object_get(fp, "positional_snr")) < 0.25 * jnum(json_object_get(pp, "positional_snr")),
          "floating motif: far less position-specific signal than the planted one");
    ke = json_object_get(json_object_get(floating, "kmer_enrichment"), "1");
    for (i = 0; i < json_array_size(ke) && i < 3; i++)
        found |= strstr(MOTIF, json_string_value(json_object_get(json_array_get(ke, i), "kmer"))) != NULL;
    CHECK(found, "floating motif: a piece of the motif is among class 1's top 3 enriched k-mers");
    CHECK(jnum(jpath(planted, "kmer_signal", "kmer_centroid_balanced_accuracy")) > 0.6,
          "planted: the k-mer centroid separates above chance (%.3f)",
          jnum(jpath(planted, "kmer_signal", "kmer_centroid_balanced_accuracy")));
    json_decref(planted);
    json_decref(shuffled);
    json_decref(floating);
    ao_dataset_info_destroy(info);
}

int main(void)
{
    const char *data = getenv("AO_TEST_DATA");
    if (!data || !*data) data = "tests/data";
    if (!mkdtemp(tmpdir)) { CHECK(0, "mkdtemp"); return UNIT_DONE(); }
    test_separability();
    test_real(data);
    test_duplicates();
    test_motif();
    rmdir(tmpdir);
    return UNIT_DONE();
}
