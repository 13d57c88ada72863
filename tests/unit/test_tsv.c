/* test_tsv.c — whole-file TSV loading: shapes, line numbers, CRLF, gzip,
 * and each rejected input with its FILE:LINE message. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "agentomics/tsv.h"
#include "unit.h"

/* ao_tsv_parse() on a copy of a literal of len bytes. */
static ao_tsv *parse_n(const char *text, size_t len, ao_err *err)
{
    char *buf = malloc(len + 1);
    if (!buf) return NULL;
    memcpy(buf, text, len);
    ao_err_init(err);
    return ao_tsv_parse("t.tsv", buf, len, err);
}

static ao_tsv *parse(const char *text, ao_err *err)
{
    return parse_n(text, strlen(text), err);
}

static int rejects(const char *text, size_t len, const char *msg_part)
{
    ao_err err;
    ao_tsv *t = parse_n(text, len, &err);
    int ok = !t && err.code == AO_EDATA && strstr(err.msg, msg_part) != NULL;
    if (!ok) printf("#   message: %s\n", err.msg);
    ao_tsv_destroy(t);
    return ok;
}

int main(void)
{
    ao_err err;
    ao_tsv *t;
    char dir[] = "/tmp/test_tsv.XXXXXX", path[256];
    FILE *fp;
    gzFile gz;

    t = parse("id\tseq\tlabel\nr1\tACGT\tpos\nr2\tGG\tneg\n", &err);
    CHECK(t != NULL, "a simple table parses");
    if (t) {
        CHECK(t->n_cols == 3 && t->n_rows == 2, "3 columns, 2 rows");
        CHECK(ao_tsv_col(t, "label") == 2 && ao_tsv_col(t, "seq") == 1 && ao_tsv_col(t, "nope") == -1,
              "ao_tsv_col finds columns by name, -1 when absent");
        CHECK(strcmp(ao_tsv_get(t, 1, 1), "GG") == 0 && strcmp(ao_tsv_get(t, 0, 2), "pos") == 0,
              "fields by row and column");
        CHECK(t->line[0] == 2 && t->line[1] == 3 && t->header_line == 1, "row line numbers are 1-based file lines");
    }
    ao_tsv_destroy(t);

    t = parse("id\tlabel\r\na\tx\r\nb\t\r\n", &err);
    CHECK(t && t->n_rows == 2 && strcmp(t->cols[1], "label") == 0 && strcmp(ao_tsv_get(t, 0, 1), "x") == 0 &&
          strcmp(ao_tsv_get(t, 1, 1), "") == 0, "CRLF line ends are stripped; empty fields kept");
    ao_tsv_destroy(t);

    t = parse("\xef\xbb\xbfid\tv\n\na\t1\n\n\nb\t2", &err);
    CHECK(t && strcmp(t->cols[0], "id") == 0, "a UTF-8 byte-order mark is skipped");
    CHECK(t && t->n_rows == 2 && t->line[0] == 3 && t->line[1] == 6 && strcmp(ao_tsv_get(t, 1, 1), "2") == 0,
          "empty lines are skipped but counted; last line without newline");
    ao_tsv_destroy(t);

    t = parse("only\n", &err);
    CHECK(t && t->n_cols == 1 && t->n_rows == 0, "a header without rows is a table of 0 rows");
    ao_tsv_destroy(t);

    t = parse("\n\nid\tx\n1\t2\n", &err);
    CHECK(t && t->header_line == 3 && t->line[0] == 4, "leading empty lines before the header");
    ao_tsv_destroy(t);

    CHECK(rejects("", 0, "t.tsv:1: empty file"), "an empty file is rejected");
    CHECK(rejects("\n\r\n\n", 4, "empty file"), "a file of empty lines is rejected");
    CHECK(rejects("a\tb\n1\t2\n3\n", 10, "t.tsv:3: 1 field, but the header has 2 columns"), "a short row: FILE:LINE");
    CHECK(rejects("a\tb\n1\t2\t3\n", 10, "t.tsv:2: 3 fields"), "a long row: FILE:LINE");
    CHECK(rejects("a\tb\n1\t\0\n", 8, "t.tsv:2: binary data (byte 0x00)"), "a NUL byte is binary data");
    CHECK(rejects("a\tb\n1\t2\n\x1f\x8b\x08\n", 12, "t.tsv:3: binary data"), "control bytes are binary data");
    CHECK(rejects("a\tb\n1\r2\t3\n", 10, "t.tsv:2: carriage return"), "a bare CR inside a line is rejected");
    CHECK(rejects("a\tb\ta\n", 6, "t.tsv:1: duplicate column name 'a'"), "duplicate column names are rejected");
    CHECK(rejects("a\t\tb\n", 5, "t.tsv:1: column 2 of the header has an empty name"), "empty column names are rejected");

    /* Files: plain, gzip, missing. */
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return UNIT_DONE(); }
    snprintf(path, sizeof path, "%s/plain.tsv", dir);
    fp = fopen(path, "w");
    fputs("id\tlabel\nx\t1\ny\t0\n", fp);
    fclose(fp);
    ao_err_init(&err);
    t = ao_tsv_load(path, &err);
    CHECK(t && t->n_rows == 2 && strcmp(t->path, path) == 0, "loads a plain file");
    ao_tsv_destroy(t);
    unlink(path);

    snprintf(path, sizeof path, "%s/z.tsv.gz", dir);
    gz = gzopen(path, "wb");
    gzputs(gz, "id\tlabel\r\nx\t1\r\ny\t0\r\nz\t1\r\n");
    gzclose(gz);
    ao_err_init(&err);
    t = ao_tsv_load(path, &err);
    CHECK(t && t->n_rows == 3 && strcmp(ao_tsv_get(t, 2, 0), "z") == 0, "loads a gzip file with CRLF");
    ao_tsv_destroy(t);

    gz = gzopen(path, "wb");
    gzputs(gz, "id\tlabel\nx\t1\n");
    gzputs(gz, "y\t0\t9\n");
    gzclose(gz);
    ao_err_init(&err);
    t = ao_tsv_load(path, &err);
    CHECK(!t && err.code == AO_EDATA && strstr(err.msg, "z.tsv.gz:3:"), "errors in gzip input name FILE:LINE");
    ao_tsv_destroy(t);
    unlink(path);

    snprintf(path, sizeof path, "%s/missing.tsv", dir);
    ao_err_init(&err);
    t = ao_tsv_load(path, &err);
    CHECK(!t && err.code == AO_EIO && strstr(err.msg, "cannot open"), "a missing file is an I/O error");
    rmdir(dir);

    ao_tsv_destroy(NULL);
    CHECK(ao_tsv_col(NULL, "x") == -1, "NULL-safe destroy and col");
    return UNIT_DONE();
}
