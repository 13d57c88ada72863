/* data.c — sequence sets in memory and dataset.json (data.h): loading
 * any input format into an ao_seqset against a dataset's class order and
 * sequence columns, subsets, row hashes for duplicate checks, the id set
 * that makes record ids unique, and the dataset description. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "agentomics/data.h"
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/log.h"
#include "agentomics/seqreader.h"

/* ---- unique ids ------------------------------------------------------ */

/* Adds h; 1 if new, 0 if present, < 0 on error. Grows at 3/4 load. */
static int idset_add(ao_idset *s, uint64_t h)
{
    size_t i;
    if (!h) h = 1;   /* 0 marks an empty slot */
    if ((s->n + 1) * 4 > s->cap * 3) {
        size_t ncap = s->cap ? s->cap * 2 : 1024, j;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns) return AO_EMEM;
        for (j = 0; j < s->cap; j++)
            if (s->slot[j]) {
                size_t k = s->slot[j] & (ncap - 1);
                while (ns[k]) k = (k + 1) & (ncap - 1);
                ns[k] = s->slot[j];
            }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    for (i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
        if (s->slot[i] == h) return 0;
    s->slot[i] = h;
    s->n++;
    return 1;
}

int ao_idset_make_unique(ao_idset *s, kstring_t *id)
{
    size_t base = id->l;
    int n = 1, rc;
    while ((rc = idset_add(s, ao_hash64(id->s, id->l, 0x1d))) == 0) {
        id->l = base;
        if (ksprintf(id, "_%d", ++n) < 0) return AO_EMEM;
    }
    if (rc < 0) return rc;
    return n > 1;
}

void ao_idset_free(ao_idset *s)
{
    if (!s) return;
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- dataset.json ------------------------------------------------------ */

void ao_dataset_info_destroy(ao_dataset_info *d)
{
    int i;
    if (!d) return;
    for (i = 0; i < d->n_classes; i++) free(d->classes[i]);
    for (i = 0; i < d->n_seq_cols; i++) free(d->seq_cols[i]);
    free(d->classes);
    free(d->seq_cols);
    free(d);
}

ao_dataset_info *ao_dataset_info_create(int n_classes, char *const *classes, int n_seq_cols, char *const *seq_cols)
{
    ao_dataset_info *d = calloc(1, sizeof *d);
    int i;
    if (!d) return NULL;
    d->classes = calloc((size_t)n_classes, sizeof *d->classes);
    d->seq_cols = calloc((size_t)n_seq_cols, sizeof *d->seq_cols);
    if (!d->classes || !d->seq_cols) goto ERROR;
    for (i = 0; i < n_classes; i++, d->n_classes++)
        if (!(d->classes[i] = strdup(classes[i]))) goto ERROR;
    for (i = 0; i < n_seq_cols; i++, d->n_seq_cols++)
        if (!(d->seq_cols[i] = strdup(seq_cols[i]))) goto ERROR;
    d->binary = n_classes == 2;
    return d;
ERROR:
    ao_dataset_info_destroy(d);
    return NULL;
}

static int string_array(json_t *a, char ***out, int *n)
{
    size_t i;
    if (!json_is_array(a) || json_array_size(a) == 0) return -1;
    *out = calloc(json_array_size(a), sizeof **out);
    if (!*out) return -1;
    for (i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !((*out)[i] = strdup(s))) return -1;
        (*n)++;
    }
    return 0;
}

ao_dataset_info *ao_dataset_info_load(const char *path, ao_err *err)
{
    char *file = ao_is_dir(path) ? ao_path_join(path, "dataset.json") : strdup(path);
    json_error_t je;
    json_t *j = NULL;
    ao_dataset_info *d = NULL;
    if (!file) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (!(j = json_load_file(file, 0, &je))) {
        ao_err_set(err, ao_file_exists(file) ? AO_EDATA : AO_EIO, "%s:%d: %s", file, je.line, je.text);
        goto ERROR;
    }
    if (!(d = calloc(1, sizeof *d))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (string_array(json_object_get(j, "classes"), &d->classes, &d->n_classes) < 0 || d->n_classes < 2) {
        ao_err_set(err, AO_EDATA, "%s: 'classes' must list at least two class names", file);
        goto ERROR;
    }
    if (string_array(json_object_get(j, "sequence_columns"), &d->seq_cols, &d->n_seq_cols) < 0) {
        ao_err_set(err, AO_EDATA, "%s: 'sequence_columns' must list the sequence column names", file);
        goto ERROR;
    }
    d->binary = d->n_classes == 2;
    json_decref(j);
    free(file);
    return d;
ERROR:
    ao_dataset_info_destroy(d);
    json_decref(j);
    free(file);
    return NULL;
}

int ao_dataset_info_same(const ao_dataset_info *a, const ao_dataset_info *b)
{
    int i;
    if (a->n_classes != b->n_classes || a->n_seq_cols != b->n_seq_cols) return 0;
    for (i = 0; i < a->n_classes; i++) if (strcmp(a->classes[i], b->classes[i]) != 0) return 0;
    for (i = 0; i < a->n_seq_cols; i++) if (strcmp(a->seq_cols[i], b->seq_cols[i]) != 0) return 0;
    return 1;
}

int ao_dataset_info_class(const ao_dataset_info *d, const char *name)
{
    int i;
    for (i = 0; i < d->n_classes; i++)
        if (strcmp(d->classes[i], name) == 0) return i;
    return -1;
}

/* ---- sequence sets ----------------------------------------------------- */

/* Strings live in 1 MB blocks so pointers stay valid as the set grows. */
typedef struct ao_arena {
    char **block;
    size_t n_block, used, cap;
} ao_arena;

static char *arena_strndup(ao_arena *a, const char *s, size_t n)
{
    char *p;
    if (!a->n_block || a->used + n + 1 > a->cap) {
        size_t cap = n + 1 > (1u << 20) ? n + 1 : (1u << 20);
        char **nb = realloc(a->block, sizeof *nb * (a->n_block + 1));
        if (!nb) return NULL;
        a->block = nb;
        if (!(a->block[a->n_block] = malloc(cap))) return NULL;
        a->n_block++;
        a->used = 0;
        a->cap = cap;
    }
    p = a->block[a->n_block - 1] + a->used;
    memcpy(p, s, n);
    p[n] = '\0';
    a->used += n + 1;
    return p;
}

static void arena_free(ao_arena *a)
{
    size_t i;
    if (!a) return;
    for (i = 0; i < a->n_block; i++) free(a->block[i]);
    free(a->block);
    free(a);
}

void ao_seqset_destroy(ao_seqset *s)
{
    if (!s) return;
    free(s->ids);
    free(s->seqs);
    free(s->y);
    arena_free(s->arena);
    free(s);
}

static ao_seqset *seqset_new(int n_seq, int labelled, int64_t cap)
{
    ao_seqset *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n_seq = n_seq;
    if (cap < 1) cap = 1;
    s->ids = malloc(sizeof *s->ids * (size_t)cap);
    s->seqs = malloc(sizeof *s->seqs * (size_t)(cap * n_seq));
    s->y = labelled ? malloc(sizeof *s->y * (size_t)cap) : NULL;
    s->arena = calloc(1, sizeof *s->arena);
    if (!s->ids || !s->seqs || (labelled && !s->y) || !s->arena) { ao_seqset_destroy(s); return NULL; }
    return s;
}

static int seqset_grow(ao_seqset *s, int64_t *cap)
{
    int64_t nc = *cap * 2;
    char **ni, **ns;
    if (!(ni = realloc(s->ids, sizeof *ni * (size_t)nc))) return AO_EMEM;
    s->ids = ni;
    if (!(ns = realloc(s->seqs, sizeof *ns * (size_t)(nc * s->n_seq)))) return AO_EMEM;
    s->seqs = ns;
    if (s->y) {
        int *ny = realloc(s->y, sizeof *ny * (size_t)nc);
        if (!ny) return AO_EMEM;
        s->y = ny;
    }
    *cap = nc;
    return AO_OK;
}

ao_seqset *ao_seqset_read(const char *path, const ao_dataset_info *info, int need_labels, int threads, ao_err *err)
{
    ao_reader_opts ro;
    ao_reader *r = NULL;
    ao_record rec;
    ao_seqset *s = NULL;
    ao_idset ids = {0};
    int64_t cap = 1024;
    int i, rc;
    memset(&rec, 0, sizeof rec);
    ao_reader_opts_init(&ro);
    ro.threads = threads;
    ro.id_prefix = "row";
    if (info->n_seq_cols > AO_MAX_SEQ_COLS) { ao_err_set(err, AO_EDATA, "too many sequence columns"); return NULL; }
    /* Several sequence columns are found by name; a single one by the
     * reader's usual rules, so FASTA, BAM and any table work. */
    if (info->n_seq_cols > 1)
        for (i = 0; i < info->n_seq_cols; i++) ro.seq_cols[ro.n_seq_cols++] = info->seq_cols[i];
    if (!(r = ao_reader_open(path, &ro, err))) return NULL;
    if (ao_reader_n_seq_cols(r) != info->n_seq_cols) {
        ao_err_at(err, AO_EDATA, path, 0, "has %d sequence column(s); the model needs %d", ao_reader_n_seq_cols(r), info->n_seq_cols);
        goto ERROR;
    }
    if (!(s = seqset_new(info->n_seq_cols, need_labels, cap))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    while ((rc = ao_reader_next(r, &rec, err)) == 0) {
        int renamed;
        if (s->n == cap && seqset_grow(s, &cap) < 0) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
        if ((renamed = ao_idset_make_unique(&ids, &rec.id)) < 0) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
        s->ids_renamed += renamed;
        if (!(s->ids[s->n] = arena_strndup(s->arena, rec.id.s, rec.id.l))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
        for (i = 0; i < s->n_seq; i++)
            if (!(s->seqs[s->n * s->n_seq + i] = arena_strndup(s->arena, rec.seq[i].s, rec.seq[i].l))) {
                ao_err_set(err, AO_EMEM, "out of memory");
                goto ERROR;
            }
        if (need_labels) {
            int c;
            if (!rec.has_label) { ao_err_at(err, AO_EDATA, path, rec.line, "missing label for record '%s'", rec.id.s); goto ERROR; }
            if ((c = ao_dataset_info_class(info, rec.label.s)) < 0) {
                ao_err_at(err, AO_EDATA, path, rec.line, "label '%s' is not one of the dataset's classes", rec.label.s);
                goto ERROR;
            }
            s->y[s->n] = c;
        }
        s->n++;
    }
    if (rc < AO_END) goto ERROR;
    if (s->n == 0) { ao_err_at(err, AO_EDATA, path, 0, "no records"); goto ERROR; }
    if (s->ids_renamed) ao_warn("%s: %lld duplicate ids made unique with a _N suffix", path, (long long)s->ids_renamed);
    ao_reader_destroy(r);
    ao_record_free(&rec);
    ao_idset_free(&ids);
    return s;
ERROR:
    ao_reader_destroy(r);
    ao_record_free(&rec);
    ao_idset_free(&ids);
    ao_seqset_destroy(s);
    return NULL;
}

ao_seqset *ao_seqset_subset(const ao_seqset *s, const int64_t *idx, int64_t n, ao_err *err)
{
    ao_seqset *o = seqset_new(s->n_seq, s->y != NULL, n);
    int64_t i;
    int c;
    if (!o) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    for (i = 0; i < n; i++) {
        int64_t k = idx[i];
        if (!(o->ids[i] = arena_strndup(o->arena, s->ids[k], strlen(s->ids[k])))) goto ERROR;
        for (c = 0; c < s->n_seq; c++) {
            const char *q = s->seqs[k * s->n_seq + c];
            if (!(o->seqs[i * s->n_seq + c] = arena_strndup(o->arena, q, strlen(q)))) goto ERROR;
        }
        if (o->y) o->y[i] = s->y[k];
        o->n++;
    }
    return o;
ERROR:
    ao_err_set(err, AO_EMEM, "out of memory");
    ao_seqset_destroy(o);
    return NULL;
}

int64_t ao_seqset_max_len(const ao_seqset *s, int col)
{
    int64_t i, m = 0;
    for (i = 0; i < s->n; i++) {
        int64_t l = (int64_t)strlen(s->seqs[i * s->n_seq + col]);
        if (l > m) m = l;
    }
    return m;
}

uint64_t ao_seqset_row_hash(const ao_seqset *s, int64_t i)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    int c;
    for (c = 0; c < s->n_seq; c++) {
        const char *q = s->seqs[i * s->n_seq + c];
        h = ao_hash64(q, strlen(q), h + (uint64_t)c);
    }
    return h;
}

int ao_seqset_rows_equal(const ao_seqset *a, int64_t i, const ao_seqset *b, int64_t j)
{
    int c;
    for (c = 0; c < a->n_seq; c++)
        if (strcmp(a->seqs[i * a->n_seq + c], b->seqs[j * b->n_seq + c]) != 0) return 0;
    return 1;
}

static int row_hash_cmp(const void *a, const void *b)
{
    const ao_row_hash *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

ao_row_hash *ao_seqset_sorted_hashes(const ao_seqset *s)
{
    ao_row_hash *h = malloc(sizeof *h * (size_t)(s->n > 0 ? s->n : 1));
    int64_t i;
    if (!h) return NULL;
    for (i = 0; i < s->n; i++) {
        h[i].h = ao_seqset_row_hash(s, i);
        h[i].i = i;
    }
    qsort(h, (size_t)s->n, sizeof *h, row_hash_cmp);
    return h;
}
