/* features.h — sequence representations for the builtin learners.
 *
 * Two families:
 *
 *  1. A featurizer that turns rows of one or more sequences into a sparse
 *     feature matrix (ao_csr): k-mer spectra (k = 1..8, counts or
 *     frequencies, optionally canonical), gapped/spaced k-mers, global
 *     composition features, and pair features for two-sequence tasks
 *     (miRNA seed-match sites in a target, longest complementary stretch).
 *     The featurizer is saved inside a model file so that inference
 *     computes exactly the training columns.
 *
 *  2. One-hot encoding for CNNs with a pad/crop policy, fractional
 *     IUPAC ambiguity codes, and a reverse-complement helper.
 *
 * Alphabet: A=0, C=1, G=2, T=3; U is read as T; lower case is accepted.
 * Every other symbol (N, IUPAC codes, '-', ...) is "non-ACGT": a k-mer
 * window that would use it is skipped (for a gapped mask, only the '1'
 * positions of the window have to be ACGT).
 *
 * k-mer index: 2 bits per base, first base most significant, so the
 * index order is the lexicographic order of the k-mer strings. Canonical
 * spectra count a k-mer and its reverse complement together under
 * min(kmer, revcomp(kmer)); the canonical classes are numbered in
 * increasing order of that minimum, with no unused columns:
 * (4^k + 4^(k/2)) / 2 columns for even k (palindromes included),
 * 4^k / 2 for odd k.
 *
 * Column layout: for each sequence column c = 0..n_seq_cols-1, in order:
 *   the k-mer blocks (in spec.k order), the gapped blocks (in
 *   spec.masks order), the global block; then the pair block.
 * Column names ("k4:ACGT", "g11011:AC-GT", "gc", "pair:8mer") carry an
 * "sC:" prefix (e.g. "s1:k4:ACGT") when there are several sequence columns.
 * Exact zeros are not stored; indices are sorted within each CSR row.
 */
#ifndef AGENTOMICS_FEATURES_H
#define AGENTOMICS_FEATURES_H

#include <stddef.h>
#include <stdint.h>
#include "agentomics/error.h"
#include "agentomics/matrix.h"
#include "agentomics/modelfile.h"

#define AO_FEAT_MAX_K 8          /* largest k (also: most '1's in a mask) */
#define AO_FEAT_MAX_KS 8         /* k values per spec */
#define AO_FEAT_MAX_MASKS 4      /* gapped masks per spec */
#define AO_FEAT_MASK_LEN 32      /* longest mask (window span) */
#define AO_FEAT_MAX_SEQ_COLS 32  /* sequence columns per row */
#define AO_FEAT_ALL_COLS 0xffffffffu

/* Global block, one group per selected sequence column, in this order. */
enum ao_feat_global {
    AO_GLOBAL_LEN = 0,     /* "len": number of symbols (all, N included) */
    AO_GLOBAL_LOGLEN,      /* "loglen": ln(1 + len) */
    AO_GLOBAL_GC,          /* "gc": (C+G) / (A+C+G+T); 0 without ACGT */
    AO_GLOBAL_CPG_OE,      /* "cpg_oe": n(CG) * n(ACGT) / (n(C) * n(G)); 0 if n(C)n(G)=0 */
    AO_GLOBAL_ENTROPY,     /* "entropy": Shannon entropy of A,C,G,T frequencies, bits (0..2) */
    AO_GLOBAL_N
};

/* Pair block (seq pair_mirna = miRNA 5'->3', seq pair_target = target
 * 5'->3'). Site types follow TargetScan: a site is an exact match in the
 * target to the reverse complement of miRNA nt 2-7 (the seed), typed by
 * its flanks and counted once, under its best type:
 *   8mer     = match to nt 2-8 + an A opposite miRNA nt 1
 *   7mer-m8  = match to nt 2-8, no A1
 *   7mer-A1  = match to nt 2-7 + A opposite nt 1, no nt-8 match
 *   6mer     = match to nt 2-7 only
 * "lcs" is the length of the longest common substring of the target and
 * the reverse complement of the whole miRNA (ACGT only). */
enum ao_feat_pair {
    AO_PAIR_6MER = 0,      /* "pair:6mer" */
    AO_PAIR_7MER_A1,       /* "pair:7mer-A1" */
    AO_PAIR_7MER_M8,       /* "pair:7mer-m8" */
    AO_PAIR_8MER,          /* "pair:8mer" */
    AO_PAIR_LCS,           /* "pair:lcs" */
    AO_PAIR_N
};

/* A plain struct, filled by the recipe reader after ao_featspec_init().
 * Defaults (ao_featspec_init):
 *   n_k = 1, k = {4}        k-mer spectrum of 4-mers (n_k = 0: no k-mers)
 *   n_masks = 0             no gapped k-mers
 *   freq = 0                counts (1: divide by the number of valid windows)
 *   canonical = 0           strand-specific (1: merge reverse complements)
 *   kmer_cols = all         k-mer and gapped blocks on every sequence column
 *   global = 0              no global block
 *   global_cols = all       (when global = 1) on every sequence column
 *   pair = 1                pair block whenever the input has >= 2 columns
 *   pair_mirna = 0, pair_target = 1
 */
typedef struct ao_featspec {
    int n_k;                          /* 0..AO_FEAT_MAX_KS */
    int k[AO_FEAT_MAX_KS];            /* each 1..8, distinct */
    int n_masks;                      /* 0..AO_FEAT_MAX_MASKS */
    /* '0'/'1' strings starting and ending with '1', 1..8 ones, distinct,
     * e.g. "11011": a spaced 4-mer over a 5-nt window. With canonical = 1
     * a mask must read the same reversed (else the merged spectrum would
     * not be strand-symmetric). */
    char masks[AO_FEAT_MAX_MASKS][AO_FEAT_MASK_LEN + 1];
    int freq;
    int canonical;
    uint32_t kmer_cols;               /* bit c: k-mer/gapped blocks on column c */
    int global;
    uint32_t global_cols;             /* bit c: global block on column c */
    int pair;                         /* used only when n_seq_cols >= 2 */
    int pair_mirna, pair_target;      /* sequence column indices */
} ao_featspec;

/* k = 4 counts over every sequence column, and pair features (read only
 * when there are two columns); no masks, frequencies, canonical merging
 * or global features. Recipes override fields. */
void ao_featspec_init(ao_featspec *s);

typedef struct ao_featurizer ao_featurizer;

/* Validates spec for n_seq_cols (1..AO_FEAT_MAX_SEQ_COLS) sequence
 * columns and builds the lookup tables. NULL on error, err says why
 * (AO_EUSAGE for an invalid spec, AO_EMEM). Selecting no column at all
 * is an error. Immutable afterwards: share it between threads freely. */
ao_featurizer *ao_featurizer_create(const ao_featspec *spec, int n_seq_cols, ao_err *err) AO_WUR;
void ao_featurizer_destroy(ao_featurizer *f);

/* Its shape: feature columns, sequence columns, and the spec it was built from. */
int64_t ao_featurizer_n_cols(const ao_featurizer *f);
int ao_featurizer_n_seq_cols(const ao_featurizer *f);
const ao_featspec *ao_featurizer_spec(const ao_featurizer *f);
/* Writes column j's name into buf (always NUL-terminated when n > 0);
 * returns the name's length (as snprintf), or AO_EUSAGE for a bad j.
 * 64 bytes always suffice. */
int ao_featurizer_col_name(const ao_featurizer *f, int64_t j, char *buf, size_t n);

/* Featurizes n_rows rows. seqs is row-major: seqs[i * n_seq_cols + c] is
 * row i's NUL-terminated sequence in column c (NULL = empty). threads <= 1
 * runs in the caller; more splits the rows into contiguous blocks over
 * pthreads. The result (*out, a new matrix with n_cols columns) is
 * byte-identical for every thread count. */
int ao_featurize(const ao_featurizer *f, const char *const *seqs, int64_t n_rows,
                 int threads, ao_csr **out, ao_err *err) AO_WUR;

/* Serialisation inside a model file payload (little-endian). save returns
 * AO_EMEM if the buffer ran out of memory; load validates the spec again
 * and returns NULL with AO_EDATA for a truncated or invalid payload. */
int ao_featurizer_save(const ao_featurizer *f, ao_buf *b) AO_WUR;
ao_featurizer *ao_featurizer_load(ao_cursor *c, ao_err *err) AO_WUR;

/* ---- one-hot ---------------------------------------------------------- */

enum ao_pad {
    /* The sequence sits at the right end: padding goes on the left; a
     * longer sequence keeps its last out_len symbols (3' end). */
    AO_PAD_LEFT = 0,
    /* The sequence sits at the left end: padding goes on the right; a
     * longer sequence keeps its first out_len symbols (5' end). */
    AO_PAD_RIGHT = 1,
    /* Centred: floor((out_len - len) / 2) columns of padding on the left,
     * the rest on the right; a longer sequence keeps the out_len symbols
     * starting at floor((len - out_len) / 2) (the extra one cut at the 3'
     * end when the excess is odd). */
    AO_PAD_CENTRE = 2
};

enum ao_ambig {
    AO_AMBIG_ZERO = 0,        /* every non-ACGT(U) symbol is an all-zero column */
    AO_AMBIG_FRACTIONAL = 1   /* IUPAC codes spread evenly: R = 0.5 A + 0.5 G,
                               * B = 1/3 C,G,T, N = 0.25 each; other symbols zero */
};

/* Writes 4 * out_len floats, layout [channel A,C,G,T][position]; padding
 * columns are zero. Returns the number of sequence symbols placed
 * (min(len, out_len)) or AO_EUSAGE for bad arguments (out_len < 1,
 * unknown pad/ambig, NULL out, NULL seq with len > 0). */
int ao_onehot(const char *seq, size_t len, int out_len, int pad, int ambig, float *out);

/* Reverse complement of a [4][len] one-hot array: out[c][p] =
 * in[3 - c][len - 1 - p]. in == out is allowed (in place). */
void ao_onehot_revcomp(const float *in, int len, float *out);

/* Reverse complement of a sequence string (IUPAC-aware, case kept,
 * U -> A and A -> T, unknown symbols copied). out needs len bytes (no NUL
 * written); in == out is allowed. */
void ao_seq_revcomp(const char *in, size_t len, char *out);

#endif
