/* matrix.c — the sparse (CSR) and dense feature matrices the learners
 * consume (matrix.h). */
#include <stdlib.h>
#include <string.h>
#include "agentomics/matrix.h"

ao_csr *ao_csr_create(int64_t n_cols)
{
    ao_csr *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_cols = n_cols;
    if (!(m->indptr = malloc(sizeof *m->indptr * 1024))) { free(m); return NULL; }
    m->indptr[0] = 0;
    m->row_cap = 1024;
    return m;
}

void ao_csr_destroy(ao_csr *m)
{
    if (!m) return;
    free(m->indptr);
    free(m->indices);
    free(m->values);
    free(m);
}

int ao_csr_add_row(ao_csr *m, const int32_t *idx, const float *val, int64_t n)
{
    if (m->n_rows + 2 > m->row_cap) {
        int64_t cap = m->row_cap * 2;
        int64_t *np = realloc(m->indptr, sizeof *np * (size_t)cap);
        if (!np) return AO_EMEM;
        m->indptr = np;
        m->row_cap = cap;
    }
    if (m->nnz + n > m->cap) {
        int64_t cap = m->cap ? m->cap : 4096;
        int32_t *ni;
        float *nv;
        while (cap < m->nnz + n) cap *= 2;
        if (!(ni = realloc(m->indices, sizeof *ni * (size_t)cap))) return AO_EMEM;
        m->indices = ni;
        if (!(nv = realloc(m->values, sizeof *nv * (size_t)cap))) return AO_EMEM;
        m->values = nv;
        m->cap = cap;
    }
    if (n) {
        memcpy(m->indices + m->nnz, idx, sizeof *idx * (size_t)n);
        memcpy(m->values + m->nnz, val, sizeof *val * (size_t)n);
    }
    m->nnz += n;
    m->n_rows++;
    m->indptr[m->n_rows] = m->nnz;
    return AO_OK;
}

ao_dense *ao_dense_create(int64_t n_rows, int64_t n_cols)
{
    ao_dense *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_rows = n_rows;
    m->n_cols = n_cols;
    if (!(m->data = calloc((size_t)(n_rows * n_cols > 0 ? n_rows * n_cols : 1), sizeof *m->data))) { free(m); return NULL; }
    return m;
}

void ao_dense_destroy(ao_dense *m)
{
    if (!m) return;
    free(m->data);
    free(m);
}

ao_dense *ao_csr_to_dense(const ao_csr *m)
{
    ao_dense *d = ao_dense_create(m->n_rows, m->n_cols);
    int64_t i, k;
    if (!d) return NULL;
    for (i = 0; i < m->n_rows; i++)
        for (k = m->indptr[i]; k < m->indptr[i + 1]; k++)
            d->data[i * m->n_cols + m->indices[k]] = m->values[k];
    return d;
}
