/* tsv.c — whole-file tab-separated tables (see tsv.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <htslib/bgzf.h>
#include "agentomics/tsv.h"

void ao_tsv_destroy(ao_tsv *t)
{
    if (!t) return;
    free(t->path);
    free(t->cols);
    free(t->fields);
    free(t->line);
    free(t->buf);
    free(t);
}

int ao_tsv_col(const ao_tsv *t, const char *name)
{
    int i;
    if (!t || !name) return -1;
    for (i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i], name) == 0) return i;
    return -1;
}

static int bad_byte(ao_err *err, const char *name, long line, unsigned char c)
{
    if (c == '\r')
        return ao_err_at(err, AO_EDATA, name, line,
                         "carriage return inside a line (only CRLF line ends are allowed)");
    return ao_err_at(err, AO_EDATA, name, line,
                     "binary data (byte 0x%02x): not a text tab-separated file", c);
}

/* Scans one line starting at p (end of buffer at end): returns the number
 * of tab-separated fields, stores the end of the line's content (CR
 * excluded) in *content_end and the start of the next line in *next.
 * Control bytes other than tab, and CR not followed by LF, are errors. */
static int scan_line(char *p, char *end, const char *name, long line, long *nf,
                     char **content_end, char **next, ao_err *err)
{
    char *q;
    long n = 1;
    for (q = p; q < end && *q != '\n'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20) {
            if (c == '\t') n++;
            else if (!(c == '\r' && (q + 1 == end || q[1] == '\n'))) return bad_byte(err, name, line, c);
        }
    }
    *nf = n;
    *next = q < end ? q + 1 : end;
    if (q > p && q[-1] == '\r') q--;
    *content_end = q;
    return AO_OK;
}

ao_tsv *ao_tsv_parse(const char *name, char *buf, size_t len, ao_err *err)
{
    ao_tsv *t = calloc(1, sizeof *t);
    char *p, *end, *cend, *next;
    long line = 0, nf;
    size_t cap_rows = 0;
    int i, j;

    if (!t) { free(buf); ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    t->buf = buf;
    t->len = len;
    if (!(t->path = strdup(name ? name : "-"))) goto ERROR_MEM;
    buf[len] = '\0';
    p = buf;
    end = buf + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) p += 3;

    /* Header: the first non-empty line. */
    for (;;) {
        if (p >= end) {
            ao_err_at(err, AO_EDATA, t->path, 1, "empty file (a header line naming the columns is required)");
            goto ERROR;
        }
        line++;
        if (scan_line(p, end, t->path, line, &nf, &cend, &next, err) < 0) goto ERROR;
        if (cend > p) break;
        p = next;
    }
    if (nf > 1000000) { ao_err_at(err, AO_EDATA, t->path, line, "too many columns (%ld)", nf); goto ERROR; }
    t->header_line = line;
    t->n_cols = (int)nf;
    if (!(t->cols = malloc((size_t)t->n_cols * sizeof *t->cols))) goto ERROR_MEM;
    *cend = '\0';
    for (i = 0; i < t->n_cols; i++) {
        char *tab = strchr(p, '\t');
        if (tab) *tab = '\0';
        t->cols[i] = p;
        if (!*p) {
            ao_err_at(err, AO_EDATA, t->path, line, "column %d of the header has an empty name", i + 1);
            goto ERROR;
        }
        for (j = 0; j < i; j++)
            if (strcmp(t->cols[j], p) == 0) {
                ao_err_at(err, AO_EDATA, t->path, line, "duplicate column name '%s' (columns %d and %d)",
                          p, j + 1, i + 1);
                goto ERROR;
            }
        if (tab) p = tab + 1;
    }
    p = next;

    /* Rows. */
    while (p < end) {
        char **f;
        line++;
        if (scan_line(p, end, t->path, line, &nf, &cend, &next, err) < 0) goto ERROR;
        if (cend == p) { p = next; continue; }   /* empty line */
        if (nf != t->n_cols) {
            ao_err_at(err, AO_EDATA, t->path, line, "%ld field%s, but the header has %d column%s",
                      nf, nf == 1 ? "" : "s", t->n_cols, t->n_cols == 1 ? "" : "s");
            goto ERROR;
        }
        if (t->n_rows == cap_rows) {
            size_t ncap = cap_rows ? cap_rows * 2 : 1024;
            char **nfld = realloc(t->fields, ncap * (size_t)t->n_cols * sizeof *nfld);
            long *nline;
            if (!nfld) goto ERROR_MEM;
            t->fields = nfld;
            if (!(nline = realloc(t->line, ncap * sizeof *nline))) goto ERROR_MEM;
            t->line = nline;
            cap_rows = ncap;
        }
        f = t->fields + t->n_rows * (size_t)t->n_cols;
        *cend = '\0';
        *f++ = p;
        for (; p < cend; p++)
            if (*p == '\t') { *p = '\0'; *f++ = p + 1; }
        t->line[t->n_rows++] = line;
        p = next;
    }
    return t;

ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory reading %s", t->path ? t->path : name);
ERROR:
    ao_tsv_destroy(t);
    return NULL;
}

ao_tsv *ao_tsv_load(const char *path, ao_err *err)
{
    BGZF *fp = NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    ssize_t got;

    if (!path) { ao_err_set(err, AO_EUSAGE, "no file name given"); return NULL; }
    errno = 0;
    if (!(fp = bgzf_open(path, "r"))) {
        ao_err_set(err, AO_EIO, "%s: cannot open: %s", path, errno ? strerror(errno) : "unknown error");
        return NULL;
    }
    for (;;) {
        if (cap - n < 65536 + 1) {
            size_t ncap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, ncap);
            if (!nb) { ao_err_set(err, AO_EMEM, "out of memory reading %s", path); goto ERROR; }
            buf = nb;
            cap = ncap;
        }
        got = bgzf_read(fp, buf + n, cap - n - 1);
        if (got < 0) {
            if (fp->is_compressed)
                ao_err_set(err, AO_EDATA, "%s: corrupt or truncated compressed data", path);
            else
                ao_err_set(err, AO_EIO, "%s: read error", path);
            goto ERROR;
        }
        if (got == 0) break;
        {
            /* binary input (/dev/zero) stops at its first block, not once
             * memory runs out; the parse checks the rest of a text file */
            const unsigned char *b = (const unsigned char *)buf + n, *q;
            for (q = b; q < b + got; q++)
                if (*q < 0x20 && *q != '\t' && *q != '\r' && *q != '\n') {
                    long line = 1;
                    const char *c;
                    for (c = buf; c < (const char *)q; c++) line += *c == '\n';
                    ao_err_at(err, AO_EDATA, path, line, "binary data (byte 0x%02x): not a text tab-separated file", *q);
                    goto ERROR;
                }
        }
        n += (size_t)got;
    }
    if (bgzf_close(fp) != 0) {
        fp = NULL;
        ao_err_set(err, AO_EIO, "%s: read error on close", path);
        goto ERROR;
    }
    return ao_tsv_parse(path, buf, n, err);

ERROR:
    if (fp) bgzf_close(fp);
    free(buf);
    return NULL;
}
