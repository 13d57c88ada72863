/* test_features.c — k-mer spectra, gapped k-mers, global and pair
 * features, one-hot encoding, threading and serialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/features.h"
#include "agentomics/rng.h"
#include "unit.h"

/* Value of (row, col) in a CSR matrix, 0 when absent. */
static float at(const ao_csr *m, int64_t r, int64_t c)
{
    int64_t k;
    for (k = m->indptr[r]; k < m->indptr[r + 1]; k++)
        if (m->indices[k] == c) return m->values[k];
    return 0.0f;
}

static int64_t col_of(const ao_featurizer *f, const char *name)
{
    char buf[64];
    int64_t j;
    for (j = 0; j < ao_featurizer_n_cols(f); j++) {
        ao_featurizer_col_name(f, j, buf, sizeof buf);
        if (!strcmp(buf, name)) return j;
    }
    return -1;
}

static float by_name(const ao_featurizer *f, const ao_csr *m, int64_t r, const char *name)
{
    int64_t j = col_of(f, name);
    return j < 0 ? NAN : at(m, r, j);
}

static int rows_sorted(const ao_csr *m)
{
    int64_t r, k;
    for (r = 0; r < m->n_rows; r++)
        for (k = m->indptr[r]; k < m->indptr[r + 1]; k++)
            if (m->indices[k] < 0 || m->indices[k] >= m->n_cols ||
                (k > m->indptr[r] && m->indices[k] <= m->indices[k - 1]))
                return 0;
    return 1;
}

static int csr_equal(const ao_csr *a, const ao_csr *b)
{
    return a->n_rows == b->n_rows && a->n_cols == b->n_cols && a->nnz == b->nnz &&
           !memcmp(a->indptr, b->indptr, sizeof *a->indptr * (size_t)(a->n_rows + 1)) &&
           !memcmp(a->indices, b->indices, sizeof *a->indices * (size_t)a->nnz) &&
           !memcmp(a->values, b->values, sizeof *a->values * (size_t)a->nnz);
}

static ao_csr *run1(const ao_featspec *s, int ncols, const char *const *seqs, int64_t n, int threads,
                    ao_featurizer **fo)
{
    ao_err e;
    ao_csr *m = NULL;
    ao_featurizer *f;
    ao_err_init(&e);
    f = ao_featurizer_create(s, ncols, &e);
    if (!f) { printf("# create: %s\n", e.msg); return NULL; }
    if (ao_featurize(f, seqs, n, threads, &m, &e) < -1) printf("# featurize: %s\n", e.msg);
    if (fo) *fo = f;
    else ao_featurizer_destroy(f);
    return m;
}

static void rand_seq(ao_rng *r, char *s, int len, double pn)
{
    static const char a[] = "ACGT";
    int i;
    for (i = 0; i < len; i++)
        s[i] = ao_rng_uniform(r) < pn ? "NRYn"[ao_rng_below(r, 4)] : a[ao_rng_below(r, 4)];
    s[len] = '\0';
}

static void test_kmer_counts(void)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    const char *seqs[] = {"ACGTACGT", "ACGNACG", "acgu", "", "NNNN"};
    ao_csr *m;
    char name[64];

    ao_featspec_init(&s);
    s.n_k = 3;
    s.k[0] = 1; s.k[1] = 2; s.k[2] = 4;
    m = run1(&s, 1, seqs, 5, 1, &f);
    CHECK(m && f, "k = 1,2,4 featurizer built");
    if (!m) return;
    CHECK(ao_featurizer_n_cols(f) == 4 + 16 + 256, "n_cols = 4 + 16 + 256");
    ao_featurizer_col_name(f, 0, name, sizeof name);
    CHECK(!strcmp(name, "k1:A"), "column 0 is k1:A (%s)", name);
    ao_featurizer_col_name(f, 4 + 16 + 27, name, sizeof name);
    CHECK(!strcmp(name, "k4:ACGT"), "k4 code 27 is ACGT (%s)", name);
    ao_featurizer_col_name(f, 4 + 6, name, sizeof name);
    CHECK(!strcmp(name, "k2:CG"), "k2 code 6 is CG (%s)", name);
    CHECK(ao_featurizer_col_name(f, 276, name, sizeof name) == AO_EUSAGE, "col_name rejects j = n_cols");

    /* ACGTACGT: 1-mers 2 each; 2-mers AC 2, CG 2, GT 2, TA 1; 4-mers ACGT 2, CGTA, GTAC, TACG 1 */
    CHECK(at(m, 0, 0) == 2 && at(m, 0, 1) == 2 && at(m, 0, 2) == 2 && at(m, 0, 3) == 2, "ACGTACGT 1-mers");
    CHECK(by_name(f, m, 0, "k2:AC") == 2 && by_name(f, m, 0, "k2:CG") == 2 && by_name(f, m, 0, "k2:GT") == 2 &&
              by_name(f, m, 0, "k2:TA") == 1,
          "ACGTACGT 2-mers AC=CG=GT=2, TA=1");
    CHECK(m->indptr[1] - m->indptr[0] == 4 + 4 + 4, "ACGTACGT has 12 non-zeros");
    CHECK(by_name(f, m, 0, "k4:ACGT") == 2 && by_name(f, m, 0, "k4:CGTA") == 1 &&
              by_name(f, m, 0, "k4:GTAC") == 1 && by_name(f, m, 0, "k4:TACG") == 1,
          "ACGTACGT 4-mers");
    /* ACGNACG: the N breaks windows: 2-mers AC 2, CG 2 only; no 4-mer */
    CHECK(by_name(f, m, 1, "k2:AC") == 2 && by_name(f, m, 1, "k2:CG") == 2 && by_name(f, m, 1, "k2:GN") != 2,
          "N breaks 2-mer windows");
    CHECK(m->indptr[2] - m->indptr[1] == 3 + 2, "ACGNACG: 3 distinct 1-mers + 2 distinct 2-mers, no 4-mers");
    CHECK(by_name(f, m, 2, "k4:ACGT") == 1, "lower case and U read as ACGT");
    CHECK(m->indptr[4] == m->indptr[3] && m->indptr[5] == m->indptr[4], "empty and all-N rows are empty");
    CHECK(rows_sorted(m), "indices sorted within rows");
    ao_csr_destroy(m);
    ao_featurizer_destroy(f);
}

static void rc_str(const char *in, char *out)
{
    size_t n = strlen(in);
    ao_seq_revcomp(in, n, out);
    out[n] = '\0';
}

static void test_canonical(void)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    ao_rng r;
    char a[201], b[201], name[64];
    const char *seqs[2];
    ao_csr *m;
    int i, k, ok = 1;

    ao_featspec_init(&s);
    s.canonical = 1;
    s.n_k = 8;
    for (k = 1; k <= 8; k++) s.k[k - 1] = k;
    s.n_masks = 2;
    strcpy(s.masks[0], "11011");
    strcpy(s.masks[1], "1001");
    f = ao_featurizer_create(&s, 1, NULL);
    CHECK(f != NULL, "canonical k = 1..8 + masks built");
    if (!f) return;
    {
        int64_t want = 0;
        for (k = 1; k <= 8; k++) want += ((1 << (2 * k)) + (k % 2 ? 0 : 1 << k)) / 2;
        want += (256 + 16) / 2 + (16 + 4) / 2;
        CHECK(ao_featurizer_n_cols(f) == want, "canonical columns compact: %lld", (long long)want);
    }
    ao_featurizer_col_name(f, 0, name, sizeof name);
    CHECK(!strcmp(name, "k1:A"), "canonical k1 col 0 = A");
    ao_featurizer_col_name(f, 1, name, sizeof name);
    CHECK(!strcmp(name, "k1:C"), "canonical k1 col 1 = C");
    ao_featurizer_col_name(f, 2 + 9, name, sizeof name);
    CHECK(!strcmp(name, "k2:TA"), "canonical k2 last col = TA (%s)", name);
    ao_featurizer_destroy(f);
    f = NULL;

    ao_rng_seed(&r, 7);
    for (i = 0; i < 20; i++) {
        rand_seq(&r, a, 50 + i * 7, 0.03);
        rc_str(a, b);
        seqs[0] = a;
        seqs[1] = b;
        m = run1(&s, 1, seqs, 2, 1, NULL);
        if (!m) { ok = 0; break; }
        if (m->indptr[1] != m->indptr[2] - m->indptr[1] ||
            memcmp(m->indices, m->indices + m->indptr[1], sizeof *m->indices * (size_t)m->indptr[1]) ||
            memcmp(m->values, m->values + m->indptr[1], sizeof *m->values * (size_t)m->indptr[1]))
            ok = 0;
        ao_csr_destroy(m);
    }
    CHECK(ok, "a sequence and its reverse complement have identical canonical spectra (20 random, with N)");

    /* AAAA and TTTT both count 3 on k2:AA */
    {
        const char *p[] = {"AAAA", "TTTT", "ACGT"};
        s.n_k = 1;
        s.k[0] = 2;
        s.n_masks = 0;
        m = run1(&s, 1, p, 3, 1, &f);
        CHECK(m && by_name(f, m, 0, "k2:AA") == 3 && by_name(f, m, 1, "k2:AA") == 3, "AAAA and TTTT merge on k2:AA");
        /* ACGT: AC(=GT) 2, CG 1 (palindrome) */
        CHECK(m && by_name(f, m, 2, "k2:AC") == 2 && by_name(f, m, 2, "k2:CG") == 1, "ACGT: AC+GT = 2, CG = 1");
        ao_csr_destroy(m);
        ao_featurizer_destroy(f);
    }
}

/* A brute-force spectrum computed through the column names. */
static void test_bruteforce(void)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    ao_rng r;
    char seq[30][81];
    const char *seqs[30];
    ao_csr *m;
    int canon, i, ok = 1;
    char **names = NULL;

    ao_rng_seed(&r, 11);
    for (i = 0; i < 30; i++) {
        rand_seq(&r, seq[i], 20 + (int)ao_rng_below(&r, 61), 0.05);
        seqs[i] = seq[i];
    }
    for (canon = 0; canon <= 1 && ok; canon++) {
        int64_t j, n;
        ao_featspec_init(&s);
        s.canonical = canon;
        s.n_k = 3;
        s.k[0] = 2; s.k[1] = 3; s.k[2] = 5;
        s.n_masks = 1;
        strcpy(s.masks[0], canon ? "11011" : "1101");
        m = run1(&s, 1, seqs, 30, 1, &f);
        if (!m) { ok = 0; break; }
        n = ao_featurizer_n_cols(f);
        names = calloc((size_t)n, sizeof *names);
        for (j = 0; j < n; j++) {
            names[j] = malloc(64);
            ao_featurizer_col_name(f, j, names[j], 64);
        }
        for (i = 0; i < 30 && ok; i++) {
            float *dense = calloc((size_t)n, sizeof *dense);
            int b;
            for (b = 0; b < 4; b++) {
                const char *mask = b == 0 ? "11" : b == 1 ? "111" : b == 2 ? "11111" : s.masks[0];
                int span = (int)strlen(mask), p, q;
                for (p = 0; p + span <= (int)strlen(seq[i]); p++) {
                    char w[16], wr[16], name[64];
                    int nw = 0, bad = 0;
                    for (q = 0; q < span; q++) {
                        if (mask[q] != '1') continue;
                        if (!strchr("ACGT", seq[i][p + q])) bad = 1;
                        w[nw++] = seq[i][p + q];
                    }
                    if (bad) continue;
                    w[nw] = '\0';
                    rc_str(w, wr);
                    if (canon && strcmp(wr, w) < 0) strcpy(w, wr);
                    if (b < 3) {
                        snprintf(name, sizeof name, "k%d:%s", nw, w);
                    } else {
                        char g[16];
                        int t = 0;
                        for (q = 0; q < span; q++) g[q] = mask[q] == '1' ? w[t++] : '-';
                        g[span] = '\0';
                        snprintf(name, sizeof name, "g%s:%s", mask, g);
                    }
                    for (j = 0; j < n && strcmp(names[j], name); j++) {}
                    if (j == n) { printf("# no column %s\n", name); ok = 0; }
                    else dense[j] += 1.0f;
                }
            }
            for (j = 0; j < n; j++)
                if (dense[j] != at(m, i, j)) {
                    printf("# row %d col %s: %g vs %g\n", i, names[j], dense[j], at(m, i, j));
                    ok = 0;
                    break;
                }
            free(dense);
        }
        for (j = 0; j < n; j++) free(names[j]);
        free(names);
        ok = ok && rows_sorted(m);
        ao_csr_destroy(m);
        ao_featurizer_destroy(f);
    }
    CHECK(ok, "k = 2,3,5 + gapped spectra equal a brute-force count (plain and canonical, 30 random rows)");
}

static void test_gapped(void)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    const char *seqs[] = {"ACGTN", "ANG"};
    ao_csr *m;
    char name[64];

    ao_featspec_init(&s);
    s.n_k = 0;
    s.n_masks = 1;
    strcpy(s.masks[0], "101");
    m = run1(&s, 1, seqs, 2, 1, &f);
    CHECK(m && ao_featurizer_n_cols(f) == 16, "mask 101: 16 columns");
    if (!m) return;
    ao_featurizer_col_name(f, 2, name, sizeof name);
    CHECK(!strcmp(name, "g101:A-G"), "gapped name g101:A-G (%s)", name);
    /* ACGTN: A_G, C_T, G_N (skipped) */
    CHECK(at(m, 0, 2) == 1 && at(m, 0, 7) == 1 && m->indptr[1] == 2, "ACGTN: A-G and C-T, G-N skipped");
    CHECK(at(m, 1, 2) == 1 && m->indptr[2] - m->indptr[1] == 1, "ANG: an N in the gap does not break the window");
    ao_csr_destroy(m);
    ao_featurizer_destroy(f);
}

static void test_freq(void)
{
    ao_featspec s;
    ao_rng r;
    char a[301];
    const char *seqs[1] = {a};
    ao_csr *m;
    ao_featurizer *f = NULL;
    double sum[3] = {0, 0, 0};
    int64_t k;

    ao_rng_seed(&r, 3);
    rand_seq(&r, a, 300, 0.02);
    ao_featspec_init(&s);
    s.freq = 1;
    s.n_k = 2;
    s.k[0] = 3; s.k[1] = 6;
    s.n_masks = 1;
    strcpy(s.masks[0], "1100011");
    m = run1(&s, 1, seqs, 1, 1, &f);
    CHECK(m != NULL, "frequency featurizer");
    if (!m) return;
    for (k = 0; k < m->nnz; k++) {
        int b = m->indices[k] < 64 ? 0 : m->indices[k] < 64 + 4096 ? 1 : 2;
        sum[b] += m->values[k];
    }
    CHECK_NEAR(sum[0], 1.0, 1e-5, "3-mer frequencies sum to 1");
    CHECK_NEAR(sum[1], 1.0, 1e-5, "6-mer frequencies sum to 1");
    CHECK_NEAR(sum[2], 1.0, 1e-5, "gapped frequencies sum to 1");
    ao_csr_destroy(m);
    ao_featurizer_destroy(f);
}

static void test_global(void)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    const char *seqs[] = {"ACGTACGTNN", "AAAA", "CCGG", "AACCCGGGTT"};
    ao_csr *m;

    ao_featspec_init(&s);
    s.n_k = 0;
    s.global = 1;
    m = run1(&s, 1, seqs, 4, 1, &f);
    CHECK(m && ao_featurizer_n_cols(f) == AO_GLOBAL_N, "global block: %d columns", AO_GLOBAL_N);
    if (!m) return;
    CHECK_NEAR(by_name(f, m, 0, "len"), 10, 0, "len counts N");
    CHECK_NEAR(by_name(f, m, 0, "loglen"), log(11.0), 1e-6, "loglen = ln(1 + len)");
    CHECK_NEAR(by_name(f, m, 0, "gc"), 0.5, 1e-7, "gc of ACGTACGTNN = 0.5 (N ignored)");
    CHECK_NEAR(by_name(f, m, 0, "cpg_oe"), 4.0, 1e-6, "CpG o/e of ACGTACGTNN = 2*8/(2*2) = 4");
    CHECK_NEAR(by_name(f, m, 0, "entropy"), 2.0, 1e-6, "entropy of a uniform composition = 2 bits");
    CHECK(m->indptr[2] - m->indptr[1] == 2, "AAAA: only len and loglen non-zero (gc, cpg, entropy 0)");
    CHECK_NEAR(by_name(f, m, 2, "gc"), 1.0, 1e-7, "gc of CCGG = 1");
    CHECK_NEAR(by_name(f, m, 2, "cpg_oe"), 1.0, 1e-6, "CpG o/e of CCGG = 1*4/(2*2) = 1");
    CHECK_NEAR(by_name(f, m, 2, "entropy"), 1.0, 1e-6, "entropy of CCGG = 1 bit");
    /* AACCCGGGTT: A2 C3 G3 T2, one CG: o/e = 1*10/9; H = -2(.2 log .2) - 2(.3 log .3) */
    CHECK_NEAR(by_name(f, m, 3, "cpg_oe"), 10.0 / 9.0, 1e-6, "CpG o/e of AACCCGGGTT = 10/9");
    CHECK_NEAR(by_name(f, m, 3, "entropy"), -0.4 * log2(0.2) - 0.6 * log2(0.3), 1e-6, "entropy of AACCCGGGTT");
    ao_csr_destroy(m);
    ao_featurizer_destroy(f);
}

static void test_pair(void)
{
    ao_featspec s;
    ao_featurizer *f = NULL;
    char name[64];
    /* let-7a: UGAGGUAGUAGGUUGUAUAGUU. nt 2-8 = GAGGUAG; the target reads
     * its reverse complement CUACCUC; A1 follows it. Sites (target 5'->3'):
     *   CTACCTC A  -> 8mer; CTACCTC G -> 7mer-m8;
     *   G TACCTC A -> 7mer-A1 (G is not the nt-8 partner C); G TACCTC G -> 6mer */
    const char *seqs[] = {
        "UGAGGUAGUAGGUUGUAUAGUU", "GGGCTACCTCAGGGCTACCTCGTTTGTACCTCAGGGGTACCTCGTTTT",
        "UGAGGUAGUAGGUUGUAUAGUU", "TACCTCA",            /* site at the very start: 7mer-A1 */
        "UGAGGUAGUAGGUUGUAUAGUU", "CTACCTC",            /* at the very end: 7mer-m8 */
        "UGAGGUAGUAGGUUGUAUAGUU", "GGGCTACNTCAGGG",     /* N: no site */
        "UGAGGU", "CTACCTCA",                           /* miRNA too short for a seed */
    };
    ao_csr *m;

    ao_featspec_init(&s);
    s.n_k = 0;
    m = run1(&s, 2, seqs, 5, 1, &f);
    CHECK(m && ao_featurizer_n_cols(f) == AO_PAIR_N, "pair block only: %d columns", AO_PAIR_N);
    if (!m) return;
    ao_featurizer_col_name(f, AO_PAIR_8MER, name, sizeof name);
    CHECK(!strcmp(name, "pair:8mer"), "pair column name pair:8mer (%s)", name);
    CHECK(at(m, 0, AO_PAIR_8MER) == 1 && at(m, 0, AO_PAIR_7MER_M8) == 1 && at(m, 0, AO_PAIR_7MER_A1) == 1 &&
              at(m, 0, AO_PAIR_6MER) == 1,
          "one site of each TargetScan type, each counted once under its best type");
    CHECK(at(m, 0, AO_PAIR_LCS) == 8, "longest complementary stretch = 8 (CTACCTCA)");
    CHECK(at(m, 1, AO_PAIR_7MER_A1) == 1 && at(m, 1, AO_PAIR_6MER) == 0 && at(m, 1, AO_PAIR_8MER) == 0,
          "site at target start: 7mer-A1");
    CHECK(at(m, 2, AO_PAIR_7MER_M8) == 1 && at(m, 2, AO_PAIR_8MER) == 0, "site at target end: 7mer-m8");
    CHECK(at(m, 3, AO_PAIR_6MER) + at(m, 3, AO_PAIR_7MER_A1) + at(m, 3, AO_PAIR_7MER_M8) +
                  at(m, 3, AO_PAIR_8MER) == 0 && at(m, 3, AO_PAIR_LCS) == 4,
          "N in the site: no site; lcs stops at the N (4: CTAC)");
    CHECK(at(m, 4, AO_PAIR_6MER) + at(m, 4, AO_PAIR_8MER) == 0, "6-nt miRNA: no seed sites");
    ao_csr_destroy(m);
    ao_featurizer_destroy(f);

    /* Per-column k-mers + pair: prefixes and layout */
    ao_featspec_init(&s);
    s.n_k = 1;
    s.k[0] = 1;
    s.global = 1;
    s.global_cols = 2u;   /* target only */
    m = run1(&s, 2, seqs, 1, 1, &f);
    CHECK(m && ao_featurizer_n_cols(f) == 4 + 4 + AO_GLOBAL_N + AO_PAIR_N, "2 columns: k1 each + global(s1) + pair");
    if (!m) return;
    ao_featurizer_col_name(f, 4, name, sizeof name);
    CHECK(!strcmp(name, "s1:k1:A"), "column 4 = s1:k1:A (%s)", name);
    ao_featurizer_col_name(f, 8, name, sizeof name);
    CHECK(!strcmp(name, "s1:len"), "column 8 = s1:len (%s)", name);
    CHECK(by_name(f, m, 0, "s0:k1:T") == 9 && by_name(f, m, 0, "s1:len") == 48 &&
              by_name(f, m, 0, "pair:8mer") == 1,
          "values land in their blocks");
    ao_csr_destroy(m);
    ao_featurizer_destroy(f);
}

static void test_invalid(void)
{
    ao_featspec s;
    ao_err e;
    ao_featurizer *f;

    ao_featspec_init(&s);
    s.k[0] = 9;
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 1, &e);
    CHECK(!f && e.code == AO_EUSAGE, "k = 9 rejected (%s)", e.msg);
    ao_featspec_init(&s);
    s.n_k = 2;
    s.k[0] = s.k[1] = 3;
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 1, &e);
    CHECK(!f && e.code == AO_EUSAGE, "duplicate k rejected");
    ao_featspec_init(&s);
    s.n_masks = 1;
    strcpy(s.masks[0], "0110");
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 1, &e);
    CHECK(!f && e.code == AO_EUSAGE, "mask starting with 0 rejected");
    strcpy(s.masks[0], "111111111");
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 1, &e);
    CHECK(!f && e.code == AO_EUSAGE, "mask with 9 ones rejected");
    strcpy(s.masks[0], "1101");
    s.canonical = 1;
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 1, &e);
    CHECK(!f && e.code == AO_EUSAGE, "canonical with an asymmetric mask rejected (%s)", e.msg);
    ao_featspec_init(&s);
    s.n_k = 0;
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 1, &e);
    CHECK(!f && e.code == AO_EUSAGE, "no feature at all rejected");
    ao_featspec_init(&s);
    s.pair_target = 5;
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 2, &e);
    CHECK(!f && e.code == AO_EUSAGE, "pair column out of range rejected");
    ao_err_init(&e);
    f = ao_featurizer_create(&s, 0, &e);
    CHECK(!f && e.code == AO_EUSAGE, "0 sequence columns rejected");
    ao_featurizer_destroy(NULL);
    CHECK(ao_featurizer_n_cols(NULL) == 0, "NULL-safe accessors");
}

static int same_floats(const float *a, const float *b, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (fabsf(a[i] - b[i]) > 1e-7f) return 0;
    return 1;
}

static void test_onehot(void)
{
    float o[4 * 8], e[4 * 8];
    int n, i;

#define SET(ch, p, v) (e[(ch) * L + (p)] = (v))
    {
        enum { L = 6 };
        /* ACGT in 6: LEFT -> positions 2..5, RIGHT -> 0..3, CENTRE -> 1..4 */
        int pads[3] = {AO_PAD_LEFT, AO_PAD_RIGHT, AO_PAD_CENTRE}, off[3] = {2, 0, 1}, t;
        for (t = 0; t < 3; t++) {
            memset(e, 0, sizeof e);
            for (i = 0; i < 4; i++) SET(i, off[t] + i, 1.0f);
            n = ao_onehot("ACGT", 4, L, pads[t], AO_AMBIG_ZERO, o);
            CHECK(n == 4 && same_floats(o, e, 4 * L), "pad policy %d places ACGT at %d", pads[t], off[t]);
        }
    }
    {
        enum { L = 4 };
        /* ACGTAC cropped to 4: LEFT keeps GTAC, RIGHT ACGT, CENTRE CGTA */
        const char *keep[3] = {"GTAC", "ACGT", "CGTA"};
        int pads[3] = {AO_PAD_LEFT, AO_PAD_RIGHT, AO_PAD_CENTRE}, t;
        for (t = 0; t < 3; t++) {
            float r[4 * L];
            n = ao_onehot("ACGTAC", 6, L, pads[t], AO_AMBIG_ZERO, o);
            ao_onehot(keep[t], 4, L, AO_PAD_RIGHT, AO_AMBIG_ZERO, r);
            CHECK(n == 4 && same_floats(o, r, 4 * L), "crop policy %d keeps %s", pads[t], keep[t]);
        }
    }
    {
        enum { L = 5 };
        /* AC centred in 5: left pad floor(3/2) = 1 */
        memset(e, 0, sizeof e);
        SET(0, 1, 1.0f);
        SET(1, 2, 1.0f);
        n = ao_onehot("AC", 2, L, AO_PAD_CENTRE, AO_AMBIG_ZERO, o);
        CHECK(n == 2 && same_floats(o, e, 4 * L), "centre pad: extra padding on the right");
    }
    {
        enum { L = 4 };
        memset(e, 0, sizeof e);
        SET(0, 0, 0.5f); SET(2, 0, 0.5f);                    /* R */
        for (i = 0; i < 4; i++) SET(i, 1, 0.25f);             /* N */
        SET(1, 2, 1.0f / 3); SET(2, 2, 1.0f / 3); SET(3, 2, 1.0f / 3); /* B */
        SET(3, 3, 1.0f);                                      /* u */
        n = ao_onehot("RNBu", 4, L, AO_PAD_RIGHT, AO_AMBIG_FRACTIONAL, o);
        CHECK(n == 4 && same_floats(o, e, 4 * L), "fractional IUPAC: R, N, B, u");
        memset(e, 0, sizeof e);
        SET(3, 3, 1.0f);
        n = ao_onehot("RN-u", 4, L, AO_PAD_RIGHT, AO_AMBIG_ZERO, o);
        CHECK(n == 4 && same_floats(o, e, 4 * L), "ambiguity as zeros");
    }
    {
        enum { L = 5 };
        float r[4 * L];
        ao_onehot("AACGR", 5, L, AO_PAD_RIGHT, AO_AMBIG_FRACTIONAL, o);
        ao_onehot("YCGTT", 5, L, AO_PAD_RIGHT, AO_AMBIG_FRACTIONAL, r);
        ao_onehot_revcomp(o, L, e);
        CHECK(same_floats(e, r, 4 * L), "one-hot reverse complement of AACGR = YCGTT");
        ao_onehot_revcomp(o, L, o);
        CHECK(same_floats(o, r, 4 * L), "one-hot reverse complement in place");
    }
    CHECK(ao_onehot("A", 1, 0, AO_PAD_LEFT, AO_AMBIG_ZERO, o) == AO_EUSAGE &&
              ao_onehot("A", 1, 4, 7, AO_AMBIG_ZERO, o) == AO_EUSAGE,
          "one-hot rejects bad arguments");
    {
        char s[] = "AcGtRN", t[7];
        ao_seq_revcomp(s, 6, t);
        t[6] = '\0';
        CHECK(!strcmp(t, "NYaCgT"), "sequence reverse complement keeps case and IUPAC (%s)", t);
        ao_seq_revcomp(s, 6, s);
        CHECK(!strcmp(s, "NYaCgT"), "sequence reverse complement in place");
    }
#undef SET
}

static void test_threads_and_io(void)
{
    enum { N = 500 };
    ao_featspec s;
    ao_featurizer *f = NULL, *g = NULL;
    ao_rng r;
    char (*buf)[2][201] = malloc(sizeof *buf * N);
    const char **seqs = malloc(sizeof *seqs * 2 * N);
    ao_csr *m1, *m2, *m3, *m4 = NULL;
    ao_buf b = {0};
    ao_cursor c;
    ao_err e;
    int i, names_ok = 1;
    int64_t j;

    ao_rng_seed(&r, 99);
    for (i = 0; i < N; i++) {
        rand_seq(&r, buf[i][0], 18 + (int)ao_rng_below(&r, 8), 0.01);
        rand_seq(&r, buf[i][1], (int)ao_rng_below(&r, 200), 0.02);
        seqs[2 * i] = buf[i][0];
        seqs[2 * i + 1] = i % 17 ? buf[i][1] : NULL;
    }
    ao_featspec_init(&s);
    s.n_k = 3;
    s.k[0] = 2; s.k[1] = 5; s.k[2] = 8;
    s.canonical = 1;
    s.freq = 1;
    s.n_masks = 1;
    strcpy(s.masks[0], "1100011");
    s.global = 1;
    m1 = run1(&s, 2, seqs, N, 1, &f);
    m2 = run1(&s, 2, seqs, N, 2, NULL);
    m3 = run1(&s, 2, seqs, N, 3, NULL);
    CHECK(m1 && m2 && m3 && csr_equal(m1, m2) && csr_equal(m1, m3), "identical CSR bytes with 1, 2 and 3 threads");
    CHECK(m1 && rows_sorted(m1) && m1->n_rows == N, "threaded output: %d rows, sorted", N);

    CHECK(ao_featurizer_save(f, &b) == AO_OK, "featurizer saved (%zu bytes)", b.len);
    c.p = b.data; c.len = b.len; c.pos = 0;
    ao_err_init(&e);
    g = ao_featurizer_load(&c, &e);
    CHECK(g && c.pos == b.len, "featurizer loaded, payload consumed");
    if (g) {
        char n1[64], n2[64];
        CHECK(ao_featurizer_n_cols(g) == ao_featurizer_n_cols(f) && ao_featurizer_n_seq_cols(g) == 2 &&
                  !memcmp(ao_featurizer_spec(g), ao_featurizer_spec(f), sizeof s),
              "loaded featurizer has the same spec and width");
        for (j = 0; j < ao_featurizer_n_cols(f); j++) {
            ao_featurizer_col_name(f, j, n1, sizeof n1);
            ao_featurizer_col_name(g, j, n2, sizeof n2);
            if (strcmp(n1, n2)) names_ok = 0;
        }
        CHECK(names_ok, "loaded featurizer has the same column names");
        ao_err_init(&e);
        if (ao_featurize(g, seqs, N, 2, &m4, &e) < -1) m4 = NULL;
        CHECK(m4 && m1 && csr_equal(m1, m4), "loaded featurizer gives the same matrix");
    }
    c.p = b.data; c.len = b.len - 3; c.pos = 0;
    ao_err_init(&e);
    ao_featurizer_destroy(g);
    g = ao_featurizer_load(&c, &e);
    CHECK(!g && e.code == AO_EDATA, "truncated payload -> AO_EDATA (%s)", e.msg);
    {
        ao_csr *z = NULL;
        ao_err_init(&e);
        CHECK(ao_featurize(f, seqs, 0, 4, &z, &e) == AO_OK && z && z->n_rows == 0 && z->indptr[0] == 0,
              "zero rows -> an empty matrix");
        ao_csr_destroy(z);
    }
    ao_buf_free(&b);
    ao_featurizer_destroy(g);
    ao_featurizer_destroy(f);
    ao_csr_destroy(m1);
    ao_csr_destroy(m2);
    ao_csr_destroy(m3);
    ao_csr_destroy(m4);
    free(buf);
    free(seqs);
}

int main(void)
{
    test_kmer_counts();
    test_canonical();
    test_bruteforce();
    test_gapped();
    test_freq();
    test_global();
    test_pair();
    test_invalid();
    test_onehot();
    test_threads_and_io();
    return UNIT_DONE();
}
