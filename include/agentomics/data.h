/* data.h — labelled or unlabelled sequence sets in memory, as the
 * learners and the predictor consume them, plus the dataset description
 * (dataset.json) that fixes class order and sequence columns.
 *
 * Any input format the sequence reader knows can be loaded, so a model
 * predicts on FASTA, BAM or CSV alike; the normalised agent TSVs are just
 * one such input.
 */
#ifndef AGENTOMICS_DATA_H
#define AGENTOMICS_DATA_H

#include <stdint.h>
#include <htslib/kstring.h>
#include "agentomics/error.h"

/* Unique ids within one set: a set of 64-bit id hashes. */
typedef struct ao_idset {
    uint64_t *slot;
    size_t cap, n;
} ao_idset;

/* Appends _2, _3, ... to id until it is new; returns 1 if renamed, 0 if
 * not, < 0 on error. */
int ao_idset_make_unique(ao_idset *s, kstring_t *id) AO_WUR;
void ao_idset_free(ao_idset *s);

/* What dataset.json says about the task. */
typedef struct ao_dataset_info {
    int n_classes;
    char **classes;          /* class index -> name */
    int n_seq_cols;
    char **seq_cols;         /* normalised column names */
    int binary;
} ao_dataset_info;

/* path: a dataset.json, or a directory holding one. */
ao_dataset_info *ao_dataset_info_load(const char *path, ao_err *err) AO_WUR;
/* From explicit lists (used when a model carries its own schema). */
ao_dataset_info *ao_dataset_info_create(int n_classes, char *const *classes, int n_seq_cols, char *const *seq_cols);
void ao_dataset_info_destroy(ao_dataset_info *d);
/* Class index of name, or -1. */
int ao_dataset_info_class(const ao_dataset_info *d, const char *name);
/* 1 when a and b name the same classes and sequence columns in the same order. */
int ao_dataset_info_same(const ao_dataset_info *a, const ao_dataset_info *b);

typedef struct ao_seqset {
    int64_t n;
    int n_seq;               /* sequence columns per row */
    char **ids;              /* n */
    char **seqs;             /* n * n_seq, row-major */
    int *y;                  /* n class indices, or NULL when unlabelled */
    int64_t ids_renamed;
    struct ao_arena *arena;  /* owns the strings */
} ao_seqset;

/* Reads every record of path ('-' = stdin) with the columns info names.
 * need_labels: 1 = every record must carry a known class (FILE:LINE
 * errors otherwise); 0 = labels are ignored. */
ao_seqset *ao_seqset_read(const char *path, const ao_dataset_info *info, int need_labels, int threads, ao_err *err) AO_WUR;
/* Rows idx[0..n) of s, sharing nothing with s. */
ao_seqset *ao_seqset_subset(const ao_seqset *s, const int64_t *idx, int64_t n, ao_err *err) AO_WUR;
void ao_seqset_destroy(ao_seqset *s);
/* Exact-duplicate detection over rows (all sequence columns). */
typedef struct ao_row_hash { uint64_t h; int64_t i; } ao_row_hash;
/* The seeded 64-bit hash of row i's sequences (every column): equal rows
 * hash equal; equal hashes are only candidates (ao_seqset_rows_equal). */
uint64_t ao_seqset_row_hash(const ao_seqset *s, int64_t i);
/* Whether row i of a and row j of b have identical sequences. */
int ao_seqset_rows_equal(const ao_seqset *a, int64_t i, const ao_seqset *b, int64_t j);
/* (hash, row) of every row, sorted by hash then row; malloc'd, NULL when
 * out of memory. */
ao_row_hash *ao_seqset_sorted_hashes(const ao_seqset *s);

/* Length of the longest sequence in column col. */
int64_t ao_seqset_max_len(const ao_seqset *s, int col);

#endif
