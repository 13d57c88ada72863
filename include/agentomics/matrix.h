/* matrix.h — the feature matrices every learner consumes.
 * Sparse rows (CSR) for k-mer spectra and other wide features; dense
 * row-major float matrices for narrow ones. Both own their memory. */
#ifndef AGENTOMICS_MATRIX_H
#define AGENTOMICS_MATRIX_H

#include <stdint.h>
#include <stddef.h>
#include "agentomics/error.h"

typedef struct ao_csr {
    int64_t n_rows, n_cols;
    int64_t *indptr;     /* n_rows + 1 */
    int32_t *indices;    /* nnz, sorted within a row */
    float *values;       /* nnz */
    int64_t nnz, cap;    /* entries used / allocated */
    int64_t row_cap;     /* indptr entries allocated */
} ao_csr;

/* An empty matrix with n_cols columns, ready for ao_csr_add_row(). */
ao_csr *ao_csr_create(int64_t n_cols);
void ao_csr_destroy(ao_csr *m);
/* Appends a row; idx must be sorted ascending and < n_cols. */
int ao_csr_add_row(ao_csr *m, const int32_t *idx, const float *val, int64_t n) AO_WUR;

typedef struct ao_dense {
    int64_t n_rows, n_cols;
    float *data;         /* row-major, n_rows * n_cols */
} ao_dense;

ao_dense *ao_dense_create(int64_t n_rows, int64_t n_cols);   /* zero-filled */
void ao_dense_destroy(ao_dense *m);
/* Densifies a CSR matrix (for narrow feature sets). */
ao_dense *ao_csr_to_dense(const ao_csr *m);

#endif
