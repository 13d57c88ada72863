/* tsv.h — a whole tab-separated table with a header, loaded into memory.
 *
 * For the project's own normalised tables (agent/train.tsv, prediction
 * files, heldout/test.tsv): one header line naming the columns, then one
 * row per line, fields separated by single tabs, no quoting. Input may be
 * plain or gzip/BGZF-compressed ("-" is standard input).
 *
 * Accepted: CRLF line ends, a UTF-8 byte-order mark, a last line without a
 * newline, and empty lines (skipped; line numbers still count them).
 * Rejected with AO_EDATA and a "FILE:LINE: problem" message: an empty file
 * (no header), empty or duplicate column names, rows whose field count
 * differs from the header's, and binary data (NUL or other control bytes
 * besides tab, CR before LF, and LF). AO_EIO when the file cannot be
 * opened or read.
 *
 * Every field is a NUL-terminated string inside one buffer owned by the
 * table; nothing is copied per field.
 */
#ifndef AGENTOMICS_TSV_H
#define AGENTOMICS_TSV_H

#include <stddef.h>
#include "agentomics/error.h"

typedef struct ao_tsv {
    char *path;        /* the name used in messages ("-" for stdin) */
    int n_cols;
    char **cols;       /* n_cols column names */
    size_t n_rows;
    char **fields;     /* n_rows * n_cols, row-major: fields[r * n_cols + c] */
    long *line;        /* n_rows: the 1-based file line of each row */
    long header_line;  /* the header's line (1 unless empty lines precede it) */
    char *buf;         /* the file's text, split in place */
    size_t len;
} ao_tsv;

/* Loads path ("-" = stdin). NULL on error, with err set. */
ao_tsv *ao_tsv_load(const char *path, ao_err *err) AO_WUR;
/* Parses a text already in memory; takes ownership of buf (malloc'd,
 * len bytes, with room for one more byte: buf[len] is overwritten) even on
 * failure. name is used in messages. */
ao_tsv *ao_tsv_parse(const char *name, char *buf, size_t len, ao_err *err) AO_WUR;
void ao_tsv_destroy(ao_tsv *t);

/* Index of the column called name, or -1. */
int ao_tsv_col(const ao_tsv *t, const char *name);

static inline const char *ao_tsv_get(const ao_tsv *t, size_t row, int col)
{
    return t->fields[row * (size_t)t->n_cols + (size_t)col];
}

#endif
