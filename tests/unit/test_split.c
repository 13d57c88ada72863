/* test_split.c — the split step: stratification, duplicate groups kept
 * together, every row used once, determinism, the single-row and
 * impossible cases, the TSV writer (read back) and the mini subset.
 * Real data: tests/data/gue_tata_train.csv ($AO_TEST_DATA, default
 * "tests/data"); hand-made tables in a temporary directory. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/data.h"
#include "agentomics/split.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_split.XXXXXX";

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fputs(text, fp);
    return fclose(fp);
}

/* Every row in exactly one of the two lists, both ascending. */
static int partition_ok(int64_t n, const int64_t *a, int64_t na, const int64_t *b, int64_t nb)
{
    char *seen = calloc((size_t)n, 1);
    int64_t i;
    int ok = seen && na + nb == n;
    for (i = 0; ok && i < na; i++) ok = a[i] >= 0 && a[i] < n && !seen[a[i]]++ && (i == 0 || a[i] > a[i - 1]);
    for (i = 0; ok && i < nb; i++) ok = b[i] >= 0 && b[i] < n && !seen[b[i]]++ && (i == 0 || b[i] > b[i - 1]);
    free(seen);
    return ok;
}

static void count_classes(const ao_seqset *s, const int64_t *idx, int64_t n, int64_t *cnt, int K)
{
    int64_t i;
    memset(cnt, 0, sizeof *cnt * (size_t)K);
    for (i = 0; i < n; i++) cnt[s->y[idx[i]]]++;
}

static void test_real(const char *data)
{
    char path[4096], out[4096];
    char *classes[] = {"0", "1"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_err err;
    ao_seqset *s, *back;
    int64_t *tr = NULL, *va = NULL, *tr2 = NULL, *va2 = NULL, ntr, nva, ntr2, nva2, all[2], cv[2], i;
    int64_t *group, ng;
    json_t *rep = NULL, *rep2 = NULL;
    int k, ok, same;

    snprintf(path, sizeof path, "%s/gue_tata_train.csv", data);
    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    CHECK(s != NULL, "read %s", path);
    if (!s) { printf("#   %s\n", err.msg); ao_dataset_info_destroy(info); return; }
    CHECK(ao_split_stratified(s, 0.2, 42, &tr, &ntr, &va, &nva, &rep, &err) == AO_OK, "split the TATA slice");
    CHECK(partition_ok(s->n, tr, ntr, va, nva), "every row used exactly once, both lists ascending");
    for (i = 0; i < s->n; i++) all[s->y[i]] = 0;
    all[0] = all[1] = 0;
    for (i = 0; i < s->n; i++) all[s->y[i]]++;
    count_classes(s, va, nva, cv, 2);
    ok = 1;
    for (k = 0; k < 2; k++) ok &= fabs((double)cv[k] - 0.2 * (double)all[k]) <= 1.0;
    CHECK(ok, "stratified: validation holds 20%% +-1 of each class (%lld/%lld, %lld/%lld)", (long long)cv[0],
          (long long)all[0], (long long)cv[1], (long long)all[1]);
    CHECK(rep && json_integer_value(json_object_get(rep, "n_valid")) == nva &&
          json_integer_value(json_object_get(rep, "n_train")) == ntr &&
          json_integer_value(json_object_get(json_object_get(json_object_get(rep, "class_counts"), "valid"), "1")) == cv[1],
          "report: sizes and class counts");
    CHECK(json_integer_value(json_object_get(rep, "seed")) == 42 &&
          fabs(json_real_value(json_object_get(rep, "valid_fraction")) - 0.2) < 1e-12, "report: seed and fraction");

    /* Duplicates stay together. */
    group = malloc(sizeof *group * (size_t)s->n);
    CHECK(ao_split_dup_groups(s, group, &ng, &err) == AO_OK, "duplicate groups of the slice (%lld groups)", (long long)ng);
    {
        char *side = calloc((size_t)ng, 1);   /* 1 = train, 2 = valid */
        ok = 1;
        for (i = 0; i < ntr; i++) side[group[tr[i]]] |= 1;
        for (i = 0; i < nva; i++) side[group[va[i]]] |= 2;
        for (i = 0; i < ng; i++) ok &= side[i] == 1 || side[i] == 2;
        CHECK(ok, "no duplicate group straddles the split");
        free(side);
    }
    free(group);

    /* Determinism. */
    CHECK(ao_split_stratified(s, 0.2, 42, &tr2, &ntr2, &va2, &nva2, &rep2, &err) == AO_OK, "split again, same seed");
    same = ntr2 == ntr && nva2 == nva && memcmp(tr, tr2, sizeof *tr * (size_t)ntr) == 0 &&
           memcmp(va, va2, sizeof *va * (size_t)nva) == 0 && json_equal(rep, rep2);
    CHECK(same, "same seed, same split and report");
    free(tr2); free(va2); json_decref(rep2);
    CHECK(ao_split_stratified(s, 0.2, 43, &tr2, &ntr2, &va2, &nva2, NULL, &err) == AO_OK, "split with another seed");
    CHECK(nva2 != nva || memcmp(va, va2, sizeof *va * (size_t)nva) != 0, "another seed, another split");
    free(tr2); free(va2);

    CHECK(ao_split_report_name_classes(rep, info) == AO_OK &&
          json_integer_value(json_object_get(json_object_get(json_object_get(rep, "class_counts"), "train"), "0")) ==
          all[0] - cv[0], "report with class names");

    /* Write the validation half and read it back. */
    snprintf(out, sizeof out, "%s/valid.tsv", tmpdir);
    CHECK(ao_split_write(s, va, nva, info, out, &err) == AO_OK, "write the validation half");
    back = ao_seqset_read(out, info, 1, 1, &err);
    ok = back && back->n == nva;
    for (i = 0; ok && i < nva; i++)
        ok = strcmp(back->ids[i], s->ids[va[i]]) == 0 && strcmp(back->seqs[i], s->seqs[va[i]]) == 0 &&
             back->y[i] == s->y[va[i]];
    CHECK(ok, "the written TSV reads back with the same ids, sequences and labels");
    {
        FILE *fp = fopen(out, "r");
        char line[64] = "";
        CHECK(fp && fgets(line, sizeof line, fp) && strcmp(line, "id\tsequence\tlabel\n") == 0, "header id, sequence, label");
        if (fp) fclose(fp);
    }
    unlink(out);
    ao_seqset_destroy(back);
    free(tr); free(va); json_decref(rep);
    ao_seqset_destroy(s);
    ao_dataset_info_destroy(info);
}

/* Hand-made: 60 rows of A and 30 of B, with duplicate groups (one of
 * them with conflicting labels), plus a class C with one row. */
static void test_handmade(void)
{
    char path[4096], *classes[] = {"A", "B", "C", "D"}, *cols[] = {"sequence"};
    ao_dataset_info *info = ao_dataset_info_create(3, classes, 1, cols), *info4 = ao_dataset_info_create(4, classes, 1, cols);
    ao_err err;
    ao_seqset *s;
    char *text = NULL;
    size_t tlen = 0;
    FILE *fp = open_memstream(&text, &tlen);
    int64_t *tr, *va, ntr, nva, i, cv[3], ct[3];
    json_t *rep = NULL;
    int r, c, ok;

    fputs("id,sequence,label\n", fp);
    for (r = 0; r < 60; r++) {
        /* rows 0-5: one sequence (a group of 6); rows 6-9: another group of 4 */
        const char *q = r < 6 ? "AAAACCCCGGGG" : r < 10 ? "TTTTGGGGCCCC" : NULL;
        if (q) fprintf(fp, "a%d,%s,A\n", r, q);
        else {
            fprintf(fp, "a%d,", r);
            for (c = 0; c < 12; c++) fputc("ACGT"[(r * 7 + c * c + c * r) % 4], fp);
            fprintf(fp, "%c%c%c,A\n", "ACGT"[r % 4], "ACGT"[(r / 4) % 4], "ACGT"[(r / 16) % 4]);
        }
    }
    for (r = 0; r < 30; r++) {
        if (r < 2) fprintf(fp, "b%d,TTTTGGGGCCCC,B\n", r);   /* conflicts with A's group of 4 */
        else fprintf(fp, "b%d,GG%c%c%cTCCCCTT,B\n", r, "ACGT"[r % 4], "ACGT"[(r / 4) % 4], "ACGT"[(r / 16) % 4]);
    }
    fputs("c0,ACGTACGTACGTAAA,C\n", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/hand.csv", tmpdir);
    write_file(path, text);
    free(text);

    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    CHECK(s && s->n == 91, "read the hand-made table (91 rows)");
    if (!s) { printf("#   %s\n", err.msg); goto DONE; }
    r = ao_split_stratified(s, 0.25, 1, &tr, &ntr, &va, &nva, &rep, &err);
    CHECK(r == AO_OK, "split with a single-row class succeeds");
    if (r != AO_OK) { printf("#   %s\n", err.msg); goto DONE; }
    CHECK(partition_ok(s->n, tr, ntr, va, nva), "every row used exactly once");
    count_classes(s, va, nva, cv, 3);
    count_classes(s, tr, ntr, ct, 3);
    CHECK(cv[0] >= 1 && cv[1] >= 1 && ct[0] >= 1 && ct[1] >= 1, "A and B on both sides");
    CHECK(ct[2] == 1 && cv[2] == 0, "the single C row is in training");
    CHECK(json_array_size(json_object_get(rep, "warnings")) == 1 &&
          strstr(json_string_value(json_array_get(json_object_get(rep, "warnings"), 0)), "single row"),
          "a warning about the single-row class");
    CHECK(json_integer_value(json_object_get(rep, "duplicate_groups_kept_together")) == 2 &&
          json_integer_value(json_object_get(rep, "duplicate_rows")) == 5 + 5,
          "report: 2 duplicate groups, 10 rows beyond the first");
    {
        /* Rows 0-5 share a side; rows 6-9 and b0, b1 (rows 60, 61) share a side. */
        char *side = calloc((size_t)s->n, 1);
        for (i = 0; i < nva; i++) side[va[i]] = 1;
        ok = 1;
        for (i = 1; i < 6; i++) ok &= side[i] == side[0];
        ok &= side[7] == side[6] && side[8] == side[6] && side[9] == side[6] && side[60] == side[6] && side[61] == side[6];
        CHECK(ok, "duplicate groups (one with conflicting labels) are kept on one side");
        free(side);
    }
    /* Stratification: group A's majority stratum (A rows + the conflicting
     * group) gets round(0.25 * size) +- the group granularity. */
    CHECK(labs((long)(cv[0] + cv[1]) - 23) <= 4, "about a quarter in validation (%lld)", (long long)(cv[0] + cv[1]));
    free(tr); free(va); json_decref(rep);
    rep = NULL;

    /* Mini subset. */
    {
        int64_t *m1, *m2, n1, n2, cm[3];
        CHECK(ao_split_mini(s, 10, 5, &m1, &n1) == AO_OK && n1 == 21, "mini: 10 + 10 + 1 rows (%lld)", (long long)n1);
        count_classes(s, m1, n1, cm, 3);
        CHECK(cm[0] == 10 && cm[1] == 10 && cm[2] == 1, "mini: min(per_class, count) per class");
        ok = 1;
        for (i = 1; i < n1; i++) ok &= m1[i] > m1[i - 1];
        CHECK(ok, "mini: ascending, no repeats");
        CHECK(ao_split_mini(s, 10, 5, &m2, &n2) == AO_OK && n2 == n1 && memcmp(m1, m2, sizeof *m1 * (size_t)n1) == 0,
              "mini: deterministic");
        free(m2);
        CHECK(ao_split_mini(s, 1000, 5, &m2, &n2) == AO_OK && n2 == s->n, "mini: per_class above every count takes all rows");
        free(m1); free(m2);
        CHECK(ao_split_mini(s, 0, 5, &m2, &n2) == AO_EUSAGE, "mini: per_class 0 is a usage error");
    }

    /* Usage errors. */
    CHECK(ao_split_stratified(s, 0, 1, &tr, &ntr, &va, &nva, NULL, &err) == AO_EUSAGE, "fraction 0 is a usage error");
    ao_err_init(&err);
    CHECK(ao_split_stratified(s, 1, 1, &tr, &ntr, &va, &nva, NULL, &err) == AO_EUSAGE, "fraction 1 is a usage error");
    ao_seqset_destroy(s);
    s = NULL;

    /* A class with 2 rows that are one duplicate group cannot be split. */
    write_file(path, "id,sequence,label\nx1,ACGTAC,A\nx2,ACGTTT,A\nx3,ACGGGG,A\nx4,CCCCCC,D\nx5,CCCCCC,D\n");
    ao_err_init(&err);
    s = ao_seqset_read(path, info4, 1, 1, &err);
    CHECK(s != NULL, "read the impossible case");
    if (s) {
        ao_err_init(&err);
        r = ao_split_stratified(s, 0.3, 1, &tr, &ntr, &va, &nva, NULL, &err);
        CHECK(r == AO_EDATA && strstr(err.msg, "class 3"), "a class whose 2 rows are identical is AO_EDATA (%s)", err.msg);
    }
    ao_seqset_destroy(s);

    /* Class B is two groups of 5 identical rows: a 10% target (1 row)
     * fits neither, so the repair pass moves one whole group. */
    {
        char *t2 = NULL;
        size_t l2 = 0;
        FILE *f2 = open_memstream(&t2, &l2);
        fputs("id,sequence,label\n", f2);
        for (r = 0; r < 20; r++) fprintf(f2, "a%d,ACGT%c%c%cA,A\n", r, "ACGT"[r % 4], "ACGT"[(r / 4) % 4], "ACGT"[(r / 16) % 4]);
        for (r = 0; r < 10; r++) fprintf(f2, "b%d,%s,B\n", r, r < 5 ? "GGGGGG" : "TTTTTT");
        fclose(f2);
        write_file(path, t2);
        free(t2);
    }
    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    CHECK(s && s->n == 30, "read the coarse-group case");
    if (s) {
        r = ao_split_stratified(s, 0.1, 3, &tr, &ntr, &va, &nva, NULL, &err);
        CHECK(r == AO_OK, "coarse groups: split succeeds");
        if (r == AO_OK) {
            count_classes(s, va, nva, cv, 3);
            count_classes(s, tr, ntr, ct, 3);
            CHECK(cv[0] == 2 && cv[1] == 5 && ct[1] == 5, "coarse groups: A gets 2, B one whole group of 5 in validation");
            free(tr); free(va);
        }
    }
DONE:
    unlink(path);
    ao_seqset_destroy(s);
    ao_dataset_info_destroy(info);
    ao_dataset_info_destroy(info4);
}

/* Two sequence columns: rows equal in one column only are not duplicates. */
static void test_two_columns(void)
{
    char path[4096], out[4096], *classes[] = {"n", "p"}, *cols[] = {"mirna", "target"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 2, cols);
    ao_err err;
    ao_seqset *s, *back = NULL;
    int64_t group[8], ng, idx[3] = {0, 2, 5};
    int ok;
    snprintf(path, sizeof path, "%s/pairs.csv", tmpdir);
    snprintf(out, sizeof out, "%s/pairs.tsv", tmpdir);
    write_file(path, "id,mirna,target,label\n"
                     "q1,UGAGGUAG,ACGTAC,n\nq2,UGAGGUAG,ACGTAA,p\nq3,UGAGGUAG,ACGTAC,p\nq4,CCAGGUAG,ACGTAC,n\n"
                     "q5,UGAGGUAG,ACGTAA,n\nq6,AAAA,CCCC,p\n");
    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    CHECK(s && s->n == 6 && s->n_seq == 2, "read a two-column table");
    if (!s) { printf("#   %s\n", err.msg); ao_dataset_info_destroy(info); return; }
    CHECK(ao_split_dup_groups(s, group, &ng, &err) == AO_OK && ng == 4 && group[0] == group[2] && group[1] == group[4] &&
          group[0] != group[1] && group[3] != group[0], "groups compare every column (4 groups)");
    CHECK(ao_split_write(s, idx, 3, info, out, &err) == AO_OK, "write three rows with two sequence columns");
    back = ao_seqset_read(out, info, 1, 1, &err);
    ok = back && back->n == 3 && strcmp(back->ids[2], "q6") == 0 && strcmp(back->seqs[2 * 2 + 1], "CCCC") == 0 &&
         strcmp(back->seqs[1 * 2], "UGAGGUAG") == 0 && back->y[1] == 1;
    CHECK(ok, "two-column TSV reads back");
    {
        FILE *fp = fopen(out, "r");
        char line[64] = "";
        CHECK(fp && fgets(line, sizeof line, fp) && strcmp(line, "id\tmirna\ttarget\tlabel\n") == 0,
              "header names the sequence columns");
        if (fp) fclose(fp);
    }
    {
        char bad[4096];
        snprintf(bad, sizeof bad, "%s/missing-dir/x.tsv", tmpdir);
        ao_err_init(&err);
        CHECK(ao_split_write(s, idx, 3, info, bad, &err) == AO_EIO, "an unwritable path is AO_EIO");
    }
    unlink(out);
    unlink(path);
    ao_seqset_destroy(back);
    ao_seqset_destroy(s);
    ao_dataset_info_destroy(info);
}

/* The selection slice's size rule: round(f x rows) per class, at least 2,
 * none when a class has fewer than 10 rows; duplicate groups stay whole. */
static void test_selection(void)
{
    char path[4096], *classes[] = {"A", "B"}, *cols[] = {"sequence"}, why[256];
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_err err;
    ao_seqset *s = NULL;
    int64_t *keep = NULL, *sel = NULL, nk, ns, cnt[2], *group = NULL, ng, i, j;
    int r, c, whole = 1;
    FILE *fp;

    /* A: 40 rows (rows 0-3 one sequence), B: 10 rows */
    snprintf(path, sizeof path, "%s/sel.csv", tmpdir);
    fp = fopen(path, "w");
    fputs("id,sequence,label\n", fp);
    for (r = 0; r < 50; r++) {
        fprintf(fp, "r%d,", r);
        if (r < 4) fputs("AAAACCCCGGGGTTTT", fp);
        else for (c = 0; c < 16; c++) fputc("ACGT"[(r >> (c % 6)) % 4 ^ (c & 1)], fp);
        fprintf(fp, "%c%c%c,%s\n", "ACGT"[r % 4], "ACGT"[(r / 4) % 4], "ACGT"[(r / 16) % 4], r < 40 ? "A" : "B");
    }
    fclose(fp);
    ao_err_init(&err);
    s = ao_seqset_read(path, info, 1, 1, &err);
    CHECK(s && s->n == 50, "read the selection table (50 rows)");
    if (!s) goto DONE;
    CHECK(ao_split_selection(s, 0.05, 7, &keep, &nk, &sel, &ns, why, sizeof why, &err) == AO_OK && sel, "a slice at 5%%");
    if (!sel) goto DONE;
    count_classes(s, sel, ns, cnt, 2);
    CHECK(cnt[0] == 2 && cnt[1] == 2, "5%% of 40 and of 10 is raised to 2 per class (got %lld, %lld)", (long long)cnt[0], (long long)cnt[1]);
    CHECK(partition_ok(s->n, keep, nk, sel, ns), "slice and rest partition the rows");
    free(keep); free(sel); keep = sel = NULL;
    CHECK(ao_split_selection(s, 0.2, 7, &keep, &nk, &sel, &ns, why, sizeof why, &err) == AO_OK && sel, "a slice at 20%%");
    if (!sel) goto DONE;
    count_classes(s, sel, ns, cnt, 2);
    CHECK(cnt[0] == 8 && cnt[1] == 2, "20%%: round(0.2 x 40) = 8 and round(0.2 x 10) = 2 (got %lld, %lld)", (long long)cnt[0], (long long)cnt[1]);
    group = malloc(sizeof *group * (size_t)s->n);
    CHECK(group && ao_split_dup_groups(s, group, &ng, &err) == AO_OK, "duplicate groups");
    for (i = 0; group && i < ns; i++)
        for (j = 0; j < nk; j++) if (group[sel[i]] == group[keep[j]]) whole = 0;
    CHECK(whole, "no slice sequence also occurs in the rest");
    free(keep); free(sel); keep = sel = NULL;
    {
        /* B reduced to 9 rows: no slice, and why */
        ao_seqset *sub;
        int64_t idx[49];
        for (i = 0; i < 49; i++) idx[i] = i;
        sub = ao_seqset_subset(s, idx, 49, &err);
        CHECK(sub && ao_split_selection(sub, 0.2, 7, &keep, &nk, &sel, &ns, why, sizeof why, &err) == AO_OK && !sel && strstr(why, "fewer than 10"),
              "a class of 9 rows: no slice (%s)", why);
        ao_seqset_destroy(sub);
    }
    CHECK(ao_split_selection(s, 0, 7, &keep, &nk, &sel, &ns, why, sizeof why, &err) == AO_EUSAGE, "fraction 0 is a usage error");
DONE:
    free(keep); free(sel); free(group);
    ao_seqset_destroy(s);
    ao_dataset_info_destroy(info);
    unlink(path);
}

int main(void)
{
    const char *data = getenv("AO_TEST_DATA");
    if (!data || !*data) data = "tests/data";
    if (!mkdtemp(tmpdir)) { CHECK(0, "mkdtemp"); return UNIT_DONE(); }
    test_real(data);
    test_handmade();
    test_two_columns();
    test_selection();
    rmdir(tmpdir);
    return UNIT_DONE();
}
