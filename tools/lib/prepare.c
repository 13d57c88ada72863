/* prepare.c — agentomics-prepare-data as a library call (prepare.h):
 * every input read once, labels resolved, records normalised into
 * agent/train.tsv, agent/valid.tsv and heldout/test.tsv, dataset.json with
 * its checks (duplicates, conflicting labels, train/test overlap). */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <htslib/bgzf.h>
#include <htslib/khash.h>
#include <jansson.h>
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/jsonfield.h"
#include "agentomics/log.h"
#include "agentomics/prepare.h"
#include "agentomics/rng.h"
#include "agentomics/split.h"
#include "agentomics/data.h"

KHASH_MAP_INIT_STR(str2str, char *)
KHASH_MAP_INIT_STR(str2int, int)
KHASH_MAP_INIT_INT64(len2n, uint64_t)

#define MAX_CLASSES 1000
#define SHORT_LEN 4096
static const char *split_names[AO_N_SPLITS] = {"train", "valid", "test"};

/* One remembered record: enough for the duplicate-sequence, conflict,
 * overlap and duplicate-id checks. Packed: 21 bytes a record. Ids are made
 * unique after the fact (sorting these keys by id hash), so the common
 * case of unique ids costs no hash-table probe per record. */
typedef struct __attribute__((packed)) seqkey {
    uint64_t h;      /* hash of the sequence column(s) */
    uint64_t idh;    /* hash of the id */
    uint32_t cls;
    uint8_t split;
} seqkey;

/* A small open-addressing set of 64-bit hashes (0 marks an empty slot),
 * for the names made while renaming duplicate ids. */
typedef struct idset_t { uint64_t *slot; size_t cap, n; } idset_t;

static int idset_has(const idset_t *s, uint64_t h)
{
    size_t i;
    if (!s->cap) return 0;
    if (!h) h = 1;
    for (i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1)) if (s->slot[i] == h) return 1;
    return 0;
}

static int idset_put(idset_t *s, uint64_t h)
{
    size_t i;
    if (!h) h = 1;
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64, j;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns) return AO_EMEM;
        for (j = 0; j < s->cap; j++)
            if (s->slot[j]) { size_t k = s->slot[j] & (ncap - 1); while (ns[k]) k = (k + 1) & (ncap - 1); ns[k] = s->slot[j]; }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    for (i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1)) if (s->slot[i] == h) return 0;
    s->slot[i] = h;
    s->n++;
    return 1;
}

#define KEYS_PER_CHUNK (1 << 16)
typedef struct keylist {
    seqkey **chunk;
    size_t n, n_chunks;
} keylist;


typedef struct colstats {
    uint64_t short_len[SHORT_LEN];
    khash_t(len2n) *long_len;
    uint64_t (*alphabet)[256];   /* symbol counts per class */
} colstats;

typedef struct splitstats {
    uint64_t n;
    uint64_t *class_n;           /* per provisional class */
    colstats col[AO_MAX_SEQ_COLS];
    uint64_t ids_renamed, fields_sanitised;
    uint64_t dig_a, dig_b;       /* row digest chain of the normalised split file */
    char sha_hex[33];            /* its 128-bit hex form */
    char formats[256];
} splitstats;

typedef struct prep {
    const ao_prepare_opts *o;
    khash_t(str2str) *side;      /* id -> label */
    khash_t(str2int) *cls_idx;   /* label -> provisional index */
    char **cls_name;
    unsigned char *cls_spelling; /* per class: 1 = seen as written, 2 = seen with tabs or line breaks made spaces */
    int n_cls, frozen;
    keylist keys;
    splitstats st[AO_N_SPLITS];
    int n_seq, n_keep;
    char *seq_names[AO_MAX_SEQ_COLS];
    char *keep_names[AO_MAX_KEEP_COLS];
    kstring_t line;
} prep;

/* ---- small containers ---------------------------------------------- */

static int keylist_push(keylist *kl, seqkey k)
{
    size_t c = kl->n / KEYS_PER_CHUNK;
    if (c == kl->n_chunks) {
        seqkey **nc = realloc(kl->chunk, sizeof *nc * (kl->n_chunks + 1));
        if (!nc) return AO_EMEM;
        kl->chunk = nc;
        if (!(kl->chunk[c] = malloc(sizeof(seqkey) * KEYS_PER_CHUNK))) return AO_EMEM;
        kl->n_chunks++;
    }
    kl->chunk[c][kl->n % KEYS_PER_CHUNK] = k;
    kl->n++;
    return AO_OK;
}


static void keylist_free(keylist *kl)
{
    size_t i;
    for (i = 0; i < kl->n_chunks; i++) free(kl->chunk[i]);
    free(kl->chunk);
    memset(kl, 0, sizeof *kl);
}

/* ---- side label table ---------------------------------------------- */

static int split_line(char *s, char delim, char **f, int max)
{
    int n = 0;
    f[n++] = s;
    for (; *s && n < max; s++)
        if (*s == delim) { *s = '\0'; f[n++] = s + 1; }
    return n;
}

static void trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    while (s[i] && isspace((unsigned char)s[i])) i++;
    if (i) memmove(s, s + i, n - i + 1);
}

/* Labels and column names go into dataset.json, and JSON strings are
 * UTF-8: a Latin-1 "caf\xe9" would otherwise vanish from the class list. */
static int check_utf8(const char *path, long line, const char *what, const char *s, ao_err *err)
{
    long bad = ao_utf8_invalid(s, strlen(s));
    char shown[256];
    size_t i, n = 0;
    if (bad < 0) return AO_OK;
    /* the bytes as \xHH: the terminal gets no invalid UTF-8 either */
    for (i = 0; s[i] && n + 5 < sizeof shown; i++)
        n += (size_t)snprintf(shown + n, sizeof shown - n, (unsigned char)s[i] < 0x80 ? "%c" : "\\x%02x", (unsigned char)s[i]);
    return ao_err_at(err, AO_EDATA, path, line, "%s '%s' is not valid UTF-8 (byte 0x%02x at position %ld); convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8",
                     what, shown, (unsigned char)s[bad], bad + 1);
}

static int load_side_table(prep *p, ao_err *err)
{
    const char *path = p->o->labels_path;
    static const char *idn[] = {"id", "name", "read_name", "seq_id", "sequence_id", "qname", NULL};
    static const char *lbn[] = {"label", "class", "target", "y", "labels", NULL};
    BGZF *fp = bgzf_open(path, "r");
    kstring_t ln = {0, 0, NULL};
    char *f[256], delim;
    size_t max_line = ao_max_line_bytes();
    int nf, id_i = 0, lb_i = -1, i, j, rc = AO_OK, ret;
    long line = 0;
    if (!fp) return ao_err_set(err, AO_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (!(p->side = kh_init(str2str))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((ret = ao_bgzf_getline(fp, &ln, max_line, path, 1, err)) < 0) { rc = ret == AO_END ? ao_err_at(err, AO_EDATA, path, 0, "empty file") : ret; goto DONE; }
    line = 1;
    delim = strchr(ln.s, '\t') ? '\t' : ',';
    nf = split_line(ln.s, delim, f, 256);
    if (nf < 2) { rc = ao_err_at(err, AO_EDATA, path, 1, "a label table needs a header with an id and a label column"); goto DONE; }
    for (j = 0; idn[j] && id_i == 0; j++)
        for (i = 0; i < nf; i++) if (strcasecmp(f[i], idn[j]) == 0) { id_i = i; break; }
    if (p->o->reader.label_col) {
        for (i = 0; i < nf; i++) if (strcasecmp(f[i], p->o->reader.label_col) == 0) lb_i = i;
        if (lb_i < 0) { rc = ao_err_at(err, AO_EDATA, path, 1, "missing label column '%s'", p->o->reader.label_col); goto DONE; }
    }
    for (j = 0; lbn[j] && lb_i < 0; j++)
        for (i = 0; i < nf; i++) if (strcasecmp(f[i], lbn[j]) == 0) { lb_i = i; break; }
    if (lb_i < 0) lb_i = id_i == 0 ? 1 : 0;
    while ((ret = ao_bgzf_getline(fp, &ln, max_line, path, line + 1, err)) == 0) {
        khint_t k;
        int absent;
        line++;
        if (ln.l == 0) continue;
        nf = split_line(ln.s, delim, f, 256);
        if (nf <= id_i || nf <= lb_i) { rc = ao_err_at(err, AO_EDATA, path, line, "ragged row: %d fields", nf); goto DONE; }
        trim(f[lb_i]);
        if (!*f[id_i] || !*f[lb_i]) { rc = ao_err_at(err, AO_EDATA, path, line, "empty id or label"); goto DONE; }
        k = kh_get(str2str, p->side, f[id_i]);
        if (k != kh_end(p->side)) {
            if (strcmp(kh_val(p->side, k), f[lb_i]) != 0) {
                rc = ao_err_at(err, AO_EDATA, path, line, "id '%s' has two labels ('%s' and '%s')", f[id_i], kh_val(p->side, k), f[lb_i]);
                goto DONE;
            }
            continue;
        }
        {
            char *key = strdup(f[id_i]), *val = strdup(f[lb_i]);
            if (!key || !val) { free(key); free(val); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            if ((rc = check_utf8(path, line, "label", val, err)) < 0) { free(key); free(val); goto DONE; }
            k = kh_put(str2str, p->side, key, &absent);
            if (absent < 0) { free(key); free(val); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            kh_val(p->side, k) = val;
        }
    }
    if (ret < AO_END) rc = ret;
    else if (kh_size(p->side) == 0) rc = ao_err_at(err, AO_EDATA, path, 0, "no labels in the table");
DONE:
    ks_free(&ln);
    bgzf_close(fp);
    return rc;
}

static const char *side_label(prep *p, const char *id)
{
    khint_t k = kh_get(str2str, p->side, id);
    size_t n;
    if (k != kh_end(p->side)) return kh_val(p->side, k);
    /* BAM mates get /1 and /2 appended; the table may name the pair */
    n = strlen(id);
    if (n > 2 && id[n - 2] == '/' && (id[n - 1] == '1' || id[n - 1] == '2')) {
        char *base = strndup(id, n - 2);
        const char *lab = NULL;
        if (!base) return NULL;
        k = kh_get(str2str, p->side, base);
        if (k != kh_end(p->side)) lab = kh_val(p->side, k);
        free(base);
        return lab;
    }
    return NULL;
}

/* ---- classes --------------------------------------------------------- */

/* Adds class name (first seen at path:line; path NULL for --classes). */
static int class_add(prep *p, const char *name, const char *path, long line, ao_err *err)
{
    khint_t k;
    int absent, i, rc;
    char *dup;
    if (p->n_cls >= MAX_CLASSES) {
        if (!path) return ao_err_set(err, AO_EUSAGE, "--classes names more than %d classes", MAX_CLASSES);
        return ao_err_at(err, AO_EDATA, path, line, "more than %d distinct labels ('%.100s' is one too many): is the label column right?", MAX_CLASSES, name);
    }
    if ((rc = check_utf8(path ? path : "--classes", path ? line : 0, "label", name, err)) < 0) return rc;
    if (!(dup = strdup(name))) return ao_err_set(err, AO_EMEM, "out of memory");
    k = kh_put(str2int, p->cls_idx, dup, &absent);
    if (absent < 0) { free(dup); return ao_err_set(err, AO_EMEM, "out of memory"); }
    if (!absent) { free(dup); return kh_val(p->cls_idx, k); }
    {
        char **nn = realloc(p->cls_name, sizeof *nn * (size_t)(p->n_cls + 1));
        unsigned char *nf;
        if (!nn) return ao_err_set(err, AO_EMEM, "out of memory");
        p->cls_name = nn;
        if (!(nf = realloc(p->cls_spelling, (size_t)(p->n_cls + 1)))) return ao_err_set(err, AO_EMEM, "out of memory");
        p->cls_spelling = nf;
        nf[p->n_cls] = 0;
    }
    p->cls_name[p->n_cls] = dup;
    kh_val(p->cls_idx, k) = p->n_cls;
    for (i = 0; i < AO_N_SPLITS; i++) {
        int c;
        uint64_t *nc = realloc(p->st[i].class_n, sizeof *nc * (size_t)(p->n_cls + 1));
        if (!nc) return ao_err_set(err, AO_EMEM, "out of memory");
        p->st[i].class_n = nc;
        nc[p->n_cls] = 0;
        for (c = 0; c < AO_MAX_SEQ_COLS; c++) {
            uint64_t (*na)[256] = realloc(p->st[i].col[c].alphabet, sizeof *na * (size_t)(p->n_cls + 1));
            if (!na) return ao_err_set(err, AO_EMEM, "out of memory");
            memset(na[p->n_cls], 0, sizeof na[0]);
            p->st[i].col[c].alphabet = na;
        }
    }
    return p->n_cls++;
}

/* ---- per-record work ------------------------------------------------ */

static uint64_t id_hash(const char *id, size_t n) { return ao_hash64(id, n, 0x1d); }

/* The split digest chains the 64-bit hashes of its rows (header
 * included) in file order into 128 bits: a content identity for the
 * normalised file that costs one hash per row, not a SHA-256 pass over
 * gigabytes. */
static void digest_row(splitstats *st, const kstring_t *row)
{
    uint64_t h = ao_hash64(row->s, row->l, 0x726f77), pair[2] = {st->dig_a, h};
    st->dig_a = ao_hash64(pair, sizeof pair, 0x6469);
    st->dig_b = (st->dig_b ^ h) * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
}

static void digest_init(splitstats *st) { st->dig_a = 0x61676e74; st->dig_b = 0x6f6d6963; }

static void digest_final(splitstats *st)
{
    uint64_t b = ao_hash64(&st->dig_b, sizeof st->dig_b, 0x66696e);
    snprintf(st->sha_hex, sizeof st->sha_hex, "%016llx%016llx", (unsigned long long)st->dig_a, (unsigned long long)b);
}

static int sanitise(kstring_t *s)
{
    size_t i;
    int changed = 0;
    for (i = 0; i < s->l; i++)
        if (s->s[i] == '\t' || s->s[i] == '\n' || s->s[i] == '\r') { s->s[i] = ' '; changed = 1; }
    return changed;
}

static int add_length(colstats *c, size_t len)
{
    if (len < SHORT_LEN) c->short_len[len]++;
    else {
        int absent;
        khint_t k;
        if (!c->long_len && !(c->long_len = kh_init(len2n))) return AO_EMEM;
        k = kh_put(len2n, c->long_len, (khint64_t)len, &absent);
        if (absent < 0) return AO_EMEM;
        if (absent) kh_val(c->long_len, k) = 0;
        kh_val(c->long_len, k)++;
    }
    return AO_OK;
}

/* What a missing label lacked, for the message. */
static const char *missing_label_why(const ao_reader_opts *o)
{
    if (o->label_from_ref) return ": the read is unmapped, so there is no reference to label it with (drop unmapped reads first: samtools view -F 4)";
    if (o->label_from_rg) return ": the record has no read group (RG tag)";
    if (o->label_tag[0]) return ": the record lacks the label tag";
    return "";
}

static int process_record(prep *p, int split, const char *path, const char *out_path, ao_record *rec, FILE *out, ao_err *err)
{
    splitstats *st = &p->st[split];
    const char *label = rec->has_label ? rec->label.s : NULL;
    int cls, i, spelling;
    uint64_t h = 0x5eedULL;
    size_t j;
    if (p->side) {
        const char *sl = side_label(p, rec->id.s);
        if (sl) label = sl;
    }
    if (!label || !*label)
        return ao_err_at(err, AO_EDATA, path, rec->line, "missing label for record '%s'%s", rec->id.s, p->side ? "" : missing_label_why(&p->o->reader));
    if (label != rec->label.s) { rec->label.l = 0; if (kputs(label, &rec->label) < 0) return ao_err_set(err, AO_EMEM, "out of memory"); }
    trim(rec->label.s);
    rec->label.l = strlen(rec->label.s);
    if (rec->label.l == 0) return ao_err_at(err, AO_EDATA, path, rec->line, "missing label for record '%s'", rec->id.s);
    spelling = 1;
    if (sanitise(&rec->label)) { st->fields_sanitised++; spelling = 2; }
    {
        khint_t k = kh_get(str2int, p->cls_idx, rec->label.s);
        if (k != kh_end(p->cls_idx)) cls = kh_val(p->cls_idx, k);
        else if (p->frozen)
            return ao_err_at(err, AO_EDATA, path, rec->line, "label '%s' is not one of the classes given with --classes", rec->label.s);
        else if (split != AO_SPLIT_TRAIN)
            return ao_err_at(err, AO_EDATA, path, rec->line, "label '%s' does not occur in the training data", rec->label.s);
        else if ((cls = class_add(p, rec->label.s, path, rec->line, err)) < 0) return cls;
    }
    if ((p->cls_spelling[cls] | spelling) == 3 && p->cls_spelling[cls] != 3)
        ao_warn("%s:%ld: label '%s' is also spelled with tabs or line breaks, which become spaces: both spellings are one class",
                path, rec->line, rec->label.s);
    p->cls_spelling[cls] |= (unsigned char)spelling;
    if (sanitise(&rec->id)) st->fields_sanitised++;
    /* statistics and the duplicate key */
    for (i = 0; i < rec->n_seq; i++) {
        colstats *c = &st->col[i];
        const unsigned char *s = (const unsigned char *)rec->seq[i].s;
        uint64_t *alpha = c->alphabet[cls];
        for (j = 0; j < rec->seq[i].l; j++) alpha[s[j]]++;
        if (add_length(c, rec->seq[i].l) < 0) return ao_err_set(err, AO_EMEM, "out of memory");
        h = ao_hash64(rec->seq[i].s, rec->seq[i].l, h);
    }
    st->n++;
    st->class_n[cls]++;
    if (keylist_push(&p->keys, (seqkey){h, id_hash(rec->id.s, rec->id.l), (uint32_t)cls, (uint8_t)split}) < 0) return ao_err_set(err, AO_EMEM, "out of memory");
    /* the normalised row */
    {
        /* one check for the whole row: an append that fails leaves every later one failing too */
        int bad = 0;
        p->line.l = 0;
        bad |= kputsn(rec->id.s, rec->id.l, &p->line) < 0;
        for (i = 0; i < rec->n_seq; i++) bad |= kputc('\t', &p->line) < 0 || kputsn(rec->seq[i].s, rec->seq[i].l, &p->line) < 0;
        for (i = 0; i < rec->n_keep; i++) {
            if (sanitise(&rec->keep[i])) st->fields_sanitised++;
            bad |= kputc('\t', &p->line) < 0 || kputsn(rec->keep[i].s, rec->keep[i].l, &p->line) < 0;
        }
        bad |= kputc('\t', &p->line) < 0 || kputsn(rec->label.s, rec->label.l, &p->line) < 0 || kputc('\n', &p->line) < 0;
        if (bad) return ao_err_at(err, AO_EMEM, path, rec->line, "out of memory writing the record");
    }
    digest_row(st, &p->line);
    if (fwrite(p->line.s, 1, p->line.l, out) != p->line.l) return ao_err_set(err, AO_EIO, "%s: write error: %s", out_path, strerror(errno));
    return AO_OK;
}

/* Columns must agree across every input of every split. */
static int check_columns(prep *p, ao_reader *r, const char *path, ao_err *err)
{
    int i, n_seq = ao_reader_n_seq_cols(r), n_keep = ao_reader_n_keep_cols(r);
    if (p->n_seq == 0) {
        p->n_seq = n_seq;
        p->n_keep = n_keep;
        for (i = 0; i < n_seq; i++)
            if (!(p->seq_names[i] = strdup(ao_reader_seq_col_name(r, i)))) return ao_err_set(err, AO_EMEM, "out of memory");
        for (i = 0; i < n_keep; i++)
            if (!(p->keep_names[i] = strdup(ao_reader_keep_col_name(r, i)))) return ao_err_set(err, AO_EMEM, "out of memory");
        for (i = 0; i < n_seq + n_keep; i++) {
            const char *nm = i < n_seq ? p->seq_names[i] : p->keep_names[i - n_seq];
            int j, rc;
            if (strcmp(nm, "id") == 0 || strcmp(nm, "label") == 0)
                return ao_err_at(err, AO_EDATA, path, 1, "column '%s' would clash with the output's own '%s' column", nm, nm);
            for (j = 0; j < i; j++)
                if (strcmp(nm, j < n_seq ? p->seq_names[j] : p->keep_names[j - n_seq]) == 0)
                    return ao_err_at(err, AO_EDATA, path, 1, "column '%s' would appear twice in the output (a --keep-col naming a sequence column, or given twice?)", nm);
            if ((rc = check_utf8(path, 1, "column name", nm, err)) < 0) return rc;
        }
        return AO_OK;
    }
    if (n_seq != p->n_seq || n_keep != p->n_keep)
        return ao_err_at(err, AO_EDATA, path, 0, "has %d sequence and %d extra columns, other inputs have %d and %d", n_seq, n_keep, p->n_seq, p->n_keep);
    return AO_OK;
}

static int write_header(prep *p, FILE *out, splitstats *st)
{
    int i, bad = 0;
    p->line.l = 0;
    bad |= kputs("id", &p->line) < 0;
    for (i = 0; i < p->n_seq; i++) bad |= kputc('\t', &p->line) < 0 || kputs(p->seq_names[i], &p->line) < 0;
    for (i = 0; i < p->n_keep; i++) bad |= kputc('\t', &p->line) < 0 || kputs(p->keep_names[i], &p->line) < 0;
    bad |= kputs("\tlabel\n", &p->line) < 0;
    if (bad) return AO_EMEM;
    digest_row(st, &p->line);
    return fwrite(p->line.s, 1, p->line.l, out) == p->line.l ? AO_OK : AO_EIO;
}

static int process_split(prep *p, int split, ao_outdir *od, ao_err *err)
{
    const ao_prepare_opts *o = p->o;
    const char *rel = split == AO_SPLIT_TEST ? "heldout/test.tsv" : split == AO_SPLIT_VALID ? "agent/valid.tsv" : "agent/train.tsv";
    char *path = NULL;
    FILE *out = NULL;
    ao_record rec;
    ao_reader *r = NULL;
    int i, rc = AO_OK;
    memset(&rec, 0, sizeof rec);
    digest_init(&p->st[split]);
    if (!(path = ao_outdir_path(od, rel, err))) { rc = err->code; goto DONE; }
    if (!(out = fopen(path, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot create: %s", path, strerror(errno)); goto DONE; }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    for (i = 0; i < o->n_inputs[split]; i++) {
        const ao_prep_input *in = &o->inputs[split][i];
        ao_reader_opts ro = o->reader;
        long nrec = 0;
        ro.fixed_label = in->fixed_label;
        ro.id_prefix = split_names[split];
        if (!(r = ao_reader_open(in->path, &ro, err))) { rc = err->code; goto DONE; }
        if ((rc = check_columns(p, r, in->path, err)) < 0) goto DONE;
        if (!ao_reader_has_label_source(r) && !p->side) {
            rc = ao_err_at(err, AO_EDATA, in->path, 1, "no label source: no label column (--label-col), tag (--label-tag), --class NAME=FILE or --labels FILE");
            goto DONE;
        }
        if (i == 0 && (rc = write_header(p, out, &p->st[split])) < 0) {
            rc = rc == AO_EMEM ? ao_err_set(err, AO_EMEM, "out of memory") : ao_err_set(err, AO_EIO, "%s: write error: %s", path, strerror(errno));
            goto DONE;
        }
        {
            size_t fl = strlen(p->st[split].formats);
            snprintf(p->st[split].formats + fl, sizeof p->st[split].formats - fl, "%s%s", fl ? "," : "", ao_format_name(ao_reader_format(r)));
        }
        while ((rc = ao_reader_next(r, &rec, err)) == 0) {
            if ((rc = process_record(p, split, in->path, path, &rec, out, err)) < 0) goto DONE;
            nrec++;
        }
        if (rc < AO_END) goto DONE;
        rc = AO_OK;
        if (nrec == 0) { rc = ao_err_at(err, AO_EDATA, in->path, 0, "no records"); goto DONE; }
        ao_info("%s: %ld records (%s) -> %s", in->path, nrec, ao_format_name(ao_reader_format(r)), split_names[split]);
        ao_reader_destroy(r);
        r = NULL;
    }
    if (p->st[split].fields_sanitised)
        ao_warn("%s: %llu fields had tabs or newlines replaced by spaces", split_names[split], (unsigned long long)p->st[split].fields_sanitised);
    digest_final(&p->st[split]);
    if (ferror(out) || fclose(out) != 0) { out = NULL; rc = ao_err_set(err, AO_EIO, "%s: write error", path); goto DONE; }
    out = NULL;
DONE:
    if (out) fclose(out);
    ao_reader_destroy(r);
    ao_record_free(&rec);
    free(path);
    return rc;
}

/* ---- findings across splits ---------------------------------------- */

typedef struct findings {
    uint64_t dup_records[AO_N_SPLITS], dup_groups[AO_N_SPLITS];
    uint64_t conflict_groups, conflict_records;
    uint64_t valid_in_train, test_in_train, test_in_valid;
} findings;

static int cmp_seq(const seqkey *x, const seqkey *y)
{
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    if (x->split != y->split) return x->split - y->split;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

static int cmp_id(const seqkey *x, const seqkey *y)
{
    if (x->split != y->split) return x->split - y->split;
    return x->idh < y->idh ? -1 : x->idh > y->idh;
}

typedef int (*key_cmp)(const seqkey *, const seqkey *);

/* In-place three-way quicksort: glibc's qsort would allocate a copy of
 * the whole array (another 21 bytes per record at peak). Keys are hashes,
 * so pivots are effectively random; runs of equal keys (duplicate
 * sequences) collapse in the middle partition. */
static void sort_keys(seqkey *a, size_t n, key_cmp cmp)
{
    while (n > 16) {
        seqkey pivot = a[n / 2], t;
        size_t lt = 0, i = 0, gt = n;
        while (i < gt) {
            int c = cmp(&a[i], &pivot);
            if (c < 0) { t = a[lt]; a[lt++] = a[i]; a[i++] = t; }
            else if (c > 0) { t = a[--gt]; a[gt] = a[i]; a[i] = t; }
            else i++;
        }
        /* recurse into the smaller side, loop on the larger */
        if (lt < n - gt) { sort_keys(a, lt, cmp); a += gt; n -= gt; }
        else { sort_keys(a + gt, n - gt, cmp); n = lt; }
    }
    for (size_t i = 1; i < n; i++) {
        seqkey v = a[i];
        size_t j = i;
        while (j > 0 && cmp(&a[j - 1], &v) > 0) { a[j] = a[j - 1]; j--; }
        a[j] = v;
    }
}

/* In-place MSD radix sort (American flag sort) on the 64-bit hash, a byte
 * at a time: for hashes the buckets shrink geometrically, so a few passes
 * over the array replace the many unaligned swaps of a comparison sort.
 * Small buckets, and runs of equal hashes once all eight bytes are used,
 * finish with the comparison sort. */
static inline uint64_t key_of(const seqkey *k, int by_id) { return by_id ? k->idh : k->h; }

static void radix_sort(seqkey *a, size_t n, int by_id, int shift, key_cmp cmp)
{
    size_t count[256] = {0}, start[256], end[256], i;
    int b;
    if (n <= 24 || shift < 0) { sort_keys(a, n, cmp); return; }
    for (i = 0; i < n; i++) count[(key_of(&a[i], by_id) >> shift) & 255]++;
    for (b = 0, i = 0; b < 256; b++) { start[b] = i; i += count[b]; end[b] = i; }
    for (b = 0; b < 256; b++) {
        while (start[b] < end[b]) {
            seqkey v = a[start[b]];
            int d = (int)((key_of(&v, by_id) >> shift) & 255);
            while (d != b) {               /* follow the cycle until a key lands here */
                seqkey t = a[start[d]];
                a[start[d]++] = v;
                v = t;
                d = (int)((key_of(&v, by_id) >> shift) & 255);
            }
            a[start[b]++] = v;
        }
    }
    for (b = 0, i = 0; b < 256; i += count[b], b++)
        if (count[b] > 1) radix_sort(a + i, count[b], by_id, shift - 8, cmp);
}

/* Gathers the chunked keys into one array, freeing chunks as it goes. */
static seqkey *gather_keys(prep *p, size_t *n_out)
{
    size_t n = p->keys.n, i;
    seqkey *all = malloc(sizeof *all * (n ? n : 1));
    if (!all) return NULL;
    for (i = 0; i < p->keys.n_chunks; i++) {
        size_t m = (i + 1 == p->keys.n_chunks) ? n - i * KEYS_PER_CHUNK : KEYS_PER_CHUNK;
        memcpy(all + i * KEYS_PER_CHUNK, p->keys.chunk[i], m * sizeof *all);
        free(p->keys.chunk[i]);
        p->keys.chunk[i] = NULL;
    }
    keylist_free(&p->keys);
    *n_out = n;
    return all;
}

static int has_u64(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == x;
}

/* all[lo, hi) holds one split's keys sorted by id hash. */
static int id_taken(const seqkey *all, size_t lo, size_t hi, uint64_t h)
{
    size_t end = hi;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (all[mid].idh < h) lo = mid + 1;
        else hi = mid;
    }
    return lo < end && all[lo].idh == h;
}

/* Rewrites a split whose ids repeat: the first record keeps its id, later
 * ones get _2, _3, ... (skipping names already taken), and the split's row
 * digest is recomputed. keys[lo, hi) are the split's keys sorted by id hash. */
static int rename_duplicate_ids(prep *p, int split, const char *path, const seqkey *all, size_t lo, size_t hi, const uint64_t *dups, size_t n_dups, ao_err *err)
{
    splitstats *st = &p->st[split];
    char *tmp = NULL;
    BGZF *in = NULL;
    FILE *out = NULL;
    khash_t(str2int) *seen = kh_init(str2int);
    idset_t made = {0};
    kstring_t line = {0, 0, NULL}, nid = {0, 0, NULL};
    int rc = AO_OK, ret, first = 1;
    if (!seen || asprintf(&tmp, "%s.ren", path) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(in = bgzf_open(path, "r")) || !(out = fopen(tmp, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot rewrite: %s", path, strerror(errno)); goto DONE; }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    digest_init(st);
    st->ids_renamed = 0;
    while ((ret = bgzf_getline(in, '\n', &line)) >= 0) {
        char *tab = strchr(line.s, '\t');
        size_t idl = tab ? (size_t)(tab - line.s) : line.l;
        uint64_t h = id_hash(line.s, idl);
        if (!first && has_u64(dups, n_dups, h)) {
            khint_t k;
            int absent, n;
            char *key = strndup(line.s, idl);
            if (!key) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            k = kh_put(str2int, seen, key, &absent);
            if (!absent) free(key);
            if (absent) kh_val(seen, k) = 1;
            else {
                n = kh_val(seen, k);
                do {
                    nid.l = 0;
                    if (kputsn(line.s, idl, &nid) < 0 || ksprintf(&nid, "_%d", ++n) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
                } while (id_taken(all, lo, hi, id_hash(nid.s, nid.l)) || idset_has(&made, id_hash(nid.s, nid.l)));
                kh_val(seen, k) = n;
                if (idset_put(&made, id_hash(nid.s, nid.l)) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
                if (kputs(line.s + idl, &nid) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
                ks_free(&line);
                line = nid;
                memset(&nid, 0, sizeof nid);
                st->ids_renamed++;
            }
        }
        first = 0;
        if (kputc('\n', &line) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        digest_row(st, &line);
        if (fwrite(line.s, 1, line.l, out) != line.l) { rc = ao_err_set(err, AO_EIO, "%s: write error", tmp); goto DONE; }
    }
    if (ret < -1) { rc = ao_err_set(err, AO_EIO, "%s: read error", path); goto DONE; }
    if (fclose(out) != 0) { out = NULL; rc = ao_err_set(err, AO_EIO, "%s: write error", tmp); goto DONE; }
    out = NULL;
    if (rename(tmp, path) != 0) { rc = ao_err_set(err, AO_EIO, "%s: cannot rename", path); goto DONE; }
    digest_final(st);
    ao_warn("%s: %llu duplicate ids made unique with a _N suffix", split_names[split], (unsigned long long)st->ids_renamed);
DONE:
    if (in) bgzf_close(in);
    if (out) fclose(out);
    if (tmp && rc < 0) unlink(tmp);
    if (seen) {
        khint_t k;
        for (k = kh_begin(seen); k != kh_end(seen); k++) if (kh_exist(seen, k)) free((char *)kh_key(seen, k));
        kh_destroy(str2int, seen);
    }
    free(made.slot);
    free(tmp);
    ks_free(&line);
    ks_free(&nid);
    return rc;
}

/* Finds repeated ids per split (keys sorted by split, id hash) and
 * rewrites the splits that have any. */
static int unique_ids(prep *p, ao_outdir *od, seqkey *all, size_t n, ao_err *err)
{
    size_t lo, hi, i, j;
    int rc = AO_OK;
    /* keys were recorded split by split, so each split is one run: sort
     * each run by id hash */
    for (lo = 0; lo < n; lo = hi) {
        for (hi = lo; hi < n && all[hi].split == all[lo].split; hi++) {}
        radix_sort(all + lo, hi - lo, 1, 56, cmp_id);
    }
    for (lo = 0; lo < n; lo = hi) {
        uint64_t *dups = NULL;
        size_t n_dups = 0, cap = 0;
        int split = all[lo].split;
        for (hi = lo; hi < n && all[hi].split == split; hi++) {}
        for (i = lo; i < hi; i = j) {
            for (j = i; j < hi && all[j].idh == all[i].idh; j++) {}
            if (j - i > 1) {
                if (n_dups == cap) {
                    uint64_t *nd = realloc(dups, sizeof *nd * (cap = cap ? cap * 2 : 64));
                    if (!nd) { free(dups); return ao_err_set(err, AO_EMEM, "out of memory"); }
                    dups = nd;
                }
                dups[n_dups++] = all[i].idh;
            }
        }
        if (n_dups) {
            const char *rel = split == AO_SPLIT_TEST ? "heldout/test.tsv" : split == AO_SPLIT_VALID ? "agent/valid.tsv" : "agent/train.tsv";
            char *path = ao_outdir_path(od, rel, err);
            rc = path ? rename_duplicate_ids(p, split, path, all, lo, hi, dups, n_dups, err) : err->code;
            free(path);
        }
        free(dups);
        if (rc < 0) return rc;
    }
    return AO_OK;
}

static void find_duplicates(seqkey *all, size_t n, findings *f)
{
    size_t i, j;
    memset(f, 0, sizeof *f);
    radix_sort(all, n, 0, 56, cmp_seq);
    for (i = 0; i < n; i = j) {
        uint64_t per[AO_N_SPLITS] = {0, 0, 0};
        int conflict = 0;
        for (j = i; j < n && all[j].h == all[i].h; j++) {
            per[all[j].split]++;
            if (all[j].cls != all[i].cls) conflict = 1;
        }
        for (int s = 0; s < AO_N_SPLITS; s++)
            if (per[s] > 1) { f->dup_groups[s]++; f->dup_records[s] += per[s] - 1; }
        if (conflict) { f->conflict_groups++; f->conflict_records += j - i; }
        if (per[AO_SPLIT_TRAIN]) { f->valid_in_train += per[AO_SPLIT_VALID]; f->test_in_train += per[AO_SPLIT_TEST]; }
        if (per[AO_SPLIT_VALID]) f->test_in_valid += per[AO_SPLIT_TEST];
    }
}

/* ---- dataset.json ----------------------------------------------------- */

typedef struct lenpair { uint64_t len, n; } lenpair;

static int cmp_lenpair(const void *a, const void *b)
{
    const lenpair *x = a, *y = b;
    return x->len < y->len ? -1 : x->len > y->len;
}

static json_t *length_json(const colstats *c)
{
    lenpair *lp;
    size_t n = 0, i, cap = SHORT_LEN + (c->long_len ? kh_size(c->long_len) : 0);
    uint64_t total = 0, acc = 0, lo, hi, counts[20] = {0};
    double sum = 0, median = 0, width;
    json_t *j, *edges, *cnts;
    int nb, b;
    khint_t k;
    if (!(lp = malloc(sizeof *lp * cap))) return NULL;
    for (i = 0; i < SHORT_LEN; i++) if (c->short_len[i]) lp[n++] = (lenpair){i, c->short_len[i]};
    if (c->long_len)
        for (k = kh_begin(c->long_len); k != kh_end(c->long_len); k++)
            if (kh_exist(c->long_len, k)) lp[n++] = (lenpair){(uint64_t)kh_key(c->long_len, k), kh_val(c->long_len, k)};
    qsort(lp, n, sizeof *lp, cmp_lenpair);
    for (i = 0; i < n; i++) { total += lp[i].n; sum += (double)lp[i].len * lp[i].n; }
    if (!total) { free(lp); return json_object(); }
    /* median as numpy does: mean of the two middle values for even counts */
    {
        uint64_t m1 = (total - 1) / 2, m2 = total / 2;
        double v1 = -1, v2 = -1;
        for (i = 0; i < n; i++) {
            if (v1 < 0 && acc + lp[i].n > m1) v1 = (double)lp[i].len;
            if (v2 < 0 && acc + lp[i].n > m2) v2 = (double)lp[i].len;
            acc += lp[i].n;
        }
        median = (v1 + v2) / 2;
    }
    lo = lp[0].len;
    hi = lp[n - 1].len;
    nb = hi == lo ? 1 : 20;
    width = hi == lo ? 1.0 : (double)(hi - lo) / nb;
    for (i = 0; i < n; i++) {
        b = hi == lo ? 0 : (int)((double)(lp[i].len - lo) / width);
        if (b >= nb) b = nb - 1;
        counts[b] += lp[i].n;
    }
    edges = json_array();
    cnts = json_array();
    for (b = 0; b <= nb; b++) json_array_append_new(edges, json_real(hi == lo ? (double)lo + b : (double)lo + b * width));
    for (b = 0; b < nb; b++) json_array_append_new(cnts, json_integer((json_int_t)counts[b]));
    j = json_pack("{s:I,s:f,s:I,s:f,s:{s:o,s:o}}", "min", (json_int_t)lo, "median", median, "max", (json_int_t)hi,
                  "mean", sum / total, "histogram", "edges", edges, "counts", cnts);
    free(lp);
    return j;
}

/* Classes in output order: --classes, else sorted names; binary tasks put
 * the positive class at index 1. */
static int class_order(prep *p, int *order, ao_err *err)
{
    int i, j, n = p->n_cls;
    for (i = 0; i < n; i++) order[i] = i;
    if (!p->frozen)
        for (i = 1; i < n; i++)
            for (j = i; j > 0 && strcmp(p->cls_name[order[j - 1]], p->cls_name[order[j]]) > 0; j--) {
                int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
            }
    if (n == 2) {
        int pos = -1;
        if (p->o->positive) {
            for (i = 0; i < 2; i++) if (strcmp(p->cls_name[order[i]], p->o->positive) == 0) pos = i;
            if (pos < 0) return ao_err_set(err, AO_EUSAGE, "--positive %s: not one of the classes ('%s', '%s')", p->o->positive, p->cls_name[order[0]], p->cls_name[order[1]]);
        } else if (!p->frozen) {
            static const char *yes[] = {"1", "true", "yes", "pos", "positive", "+", NULL};
            for (i = 0; i < 2 && pos < 0; i++)
                for (j = 0; yes[j]; j++) if (strcasecmp(p->cls_name[order[i]], yes[j]) == 0) pos = i;
            for (i = 0; i < 2 && pos < 0; i++) {
                const char *nm = p->cls_name[order[i]];
                if (!strncasecmp(nm, "non", 3) || !strncasecmp(nm, "not", 3) || !strncasecmp(nm, "neg", 3)) pos = 1 - i;
            }
        }
        if (pos == 0) { int t = order[0]; order[0] = order[1]; order[1] = t; }
    } else if (p->o->positive) {
        return ao_err_set(err, AO_EUSAGE, "--positive only applies to binary tasks (%d classes)", n);
    }
    return AO_OK;
}

static json_t *split_json(prep *p, int split, const int *order, int with_class_stats)
{
    splitstats *st = &p->st[split];
    json_t *j = json_object(), *cc = json_object(), *cols = json_object();
    int i, c;
    json_object_set_new(j, "file", json_string(split == AO_SPLIT_TEST ? "test.tsv" : split == AO_SPLIT_VALID ? "valid.tsv" : "train.tsv"));
    json_object_set_new(j, "formats", json_string(st->formats));
    json_object_set_new(j, "n_records", json_integer((json_int_t)st->n));
    json_object_set_new(j, "row_digest", json_string(st->sha_hex));
    json_object_set_new(j, "ids_renamed", json_integer((json_int_t)st->ids_renamed));
    if (!with_class_stats) { json_decref(cc); json_decref(cols); return j; }
    for (i = 0; i < p->n_cls; i++) json_object_set_new(cc, p->cls_name[order[i]], json_integer((json_int_t)st->class_n[order[i]]));
    json_object_set_new(j, "class_counts", cc);
    for (c = 0; c < p->n_seq; c++) {
        colstats *cs = &st->col[c];
        json_t *col = json_object(), *alpha = json_object(), *gc = json_object();
        for (i = 0; i < 256; i++) {
            uint64_t tot = 0;
            int k;
            for (k = 0; k < p->n_cls; k++) tot += cs->alphabet[k][i];
            if (tot) {
                char key[2] = {(char)i, 0};
                json_object_set_new(alpha, key, json_integer((json_int_t)tot));
            }
        }
        for (i = 0; i < p->n_cls; i++) {
            const uint64_t *a = cs->alphabet[order[i]];
            uint64_t g = a['G'] + a['C'], acgt = g + a['A'] + a['T'];
            json_object_set_new(gc, p->cls_name[order[i]], acgt ? json_real((double)g / acgt) : json_null());
        }
        json_object_set_new(col, "length", length_json(cs));
        json_object_set_new(col, "alphabet", alpha);
        json_object_set_new(col, "gc_fraction_by_class", gc);
        json_object_set_new(cols, p->seq_names[c], col);
    }
    json_object_set_new(j, "columns", cols);
    return j;
}

static int write_json(ao_outdir *od, const char *rel, json_t *j, ao_err *err)
{
    char *path = ao_outdir_path(od, rel, err);
    int rc = AO_OK;
    if (!path) return err->code;
    if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot write", path);
    free(path);
    return rc;
}

static int write_outputs(prep *p, ao_outdir *od, const findings *f, ao_err *err)
{
    const ao_prepare_opts *o = p->o;
    int *order = malloc(sizeof *order * (size_t)p->n_cls), i, rc;
    json_t *ds = NULL, *t = NULL, *arr;
    ao_sha256 all;
    unsigned char dig[32];
    char hex[65];
    if (!order) return ao_err_set(err, AO_EMEM, "out of memory");
    if ((rc = class_order(p, order, err)) < 0) goto DONE;
    ds = json_object();
    json_object_set_new(ds, "format_version", json_integer(1));
    json_object_set_new(ds, "tool", json_string("agentomics-prepare-data " AO_VERSION));
    json_object_set_new(ds, "task", json_string(p->n_cls == 2 ? "binary" : "multiclass"));
    arr = json_array();
    for (i = 0; i < p->n_cls; i++) json_array_append_new(arr, json_string(p->cls_name[order[i]]));
    json_object_set_new(ds, "classes", arr);
    if (p->n_cls == 2) json_object_set_new(ds, "positive_class", json_string(p->cls_name[order[1]]));
    arr = json_array();
    for (i = 0; i < p->n_seq; i++) json_array_append_new(arr, json_string(p->seq_names[i]));
    json_object_set_new(ds, "sequence_columns", arr);
    arr = json_array();
    for (i = 0; i < p->n_keep; i++) json_array_append_new(arr, json_string(p->keep_names[i]));
    json_object_set_new(ds, "extra_columns", arr);
    json_object_set_new(ds, "u_to_t", json_boolean(o->reader.u_to_t));
    t = json_object();
    json_object_set_new(t, "train", split_json(p, AO_SPLIT_TRAIN, order, 1));
    if (o->n_inputs[AO_SPLIT_VALID]) json_object_set_new(t, "valid", split_json(p, AO_SPLIT_VALID, order, 1));
    /* The agent learns how big the held-out test is, nothing about its content. */
    if (o->n_inputs[AO_SPLIT_TEST]) {
        json_t *full = split_json(p, AO_SPLIT_TEST, order, 1);
        json_object_set_new(t, "test", json_pack("{s:O}", "n_records", json_object_get(full, "n_records")));
        json_object_set_new(full, "classes", json_incref(json_object_get(ds, "classes")));
        if ((rc = write_json(od, "heldout/test.json", full, err)) < 0) { json_decref(full); goto DONE; }
        json_decref(full);
    }
    json_object_set_new(ds, "splits", t);
    t = NULL;
    {
        json_t *d = json_object();
        for (i = 0; i < AO_N_SPLITS; i++)
            if (o->n_inputs[i])
                json_object_set_new(d, split_names[i], json_pack("{s:I,s:I}", "duplicate_records", (json_int_t)f->dup_records[i], "groups", (json_int_t)f->dup_groups[i]));
        json_object_set_new(ds, "exact_duplicates", d);
        json_object_set_new(ds, "conflicting_labels", json_pack("{s:I,s:I}", "groups", (json_int_t)f->conflict_groups, "records", (json_int_t)f->conflict_records));
        json_object_set_new(ds, "overlap", json_pack("{s:I,s:I,s:I}", "valid_in_train", (json_int_t)f->valid_in_train,
                                                      "test_in_train", (json_int_t)f->test_in_train, "test_in_valid", (json_int_t)f->test_in_valid));
    }
    /* content hash: over the hashes of the normalised splits, in split order */
    ao_sha256_init(&all);
    for (i = 0; i < AO_N_SPLITS; i++)
        if (o->n_inputs[i]) ao_sha256_update(&all, p->st[i].sha_hex, 32);
    ao_sha256_final(&all, dig);
    ao_sha256_hex(dig, hex);
    json_object_set_new(ds, "content_hash", json_string(hex));
    if ((rc = write_json(od, "agent/dataset.json", ds, err)) < 0) goto DONE;
    if (o->description_path) {
        size_t len;
        char *txt = ao_read_file(o->description_path, &len, err), *dst;
        FILE *fp;
        if (!txt) { rc = err->code; goto DONE; }
        if (!(dst = ao_outdir_path(od, "agent/description.md", err))) { free(txt); rc = err->code; goto DONE; }
        fp = fopen(dst, "w");
        if (!fp || fwrite(txt, 1, len, fp) != len) rc = ao_err_set(err, AO_EIO, "%s: cannot write", dst);
        if (fp && fclose(fp) != 0 && rc == AO_OK) rc = ao_err_set(err, AO_EIO, "%s: cannot write", dst);
        free(txt);
        free(dst);
    }
DONE:
    json_decref(ds);
    json_decref(t);
    free(order);
    return rc;
}

/* ---- the selection slice ------------------------------------------------ */

/* Takes one row's contribution out of the split's statistics (the inverse
 * of process_record's counting): the row is the normalised TSV line. */
static int unstat_row(prep *p, splitstats *st, char *line, ao_err *err)
{
    char *f[AO_MAX_SEQ_COLS + AO_MAX_KEEP_COLS + 2];
    int nf = split_line(line, '\t', f, p->n_seq + p->n_keep + 2), i, cls;
    khint_t k;
    if (nf != p->n_seq + p->n_keep + 2) return ao_err_set(err, AO_EINTERNAL, "selection slice: a row with %d fields", nf);
    k = kh_get(str2int, p->cls_idx, f[nf - 1]);
    if (k == kh_end(p->cls_idx)) return ao_err_set(err, AO_EINTERNAL, "selection slice: unknown label '%s'", f[nf - 1]);
    cls = kh_val(p->cls_idx, k);
    for (i = 0; i < p->n_seq; i++) {
        colstats *c = &st->col[i];
        const unsigned char *q = (const unsigned char *)f[1 + i];
        size_t len = strlen(f[1 + i]), j;
        for (j = 0; j < len; j++) c->alphabet[cls][q[j]]--;
        if (len < SHORT_LEN) c->short_len[len]--;
        else if (c->long_len && (k = kh_get(len2n, c->long_len, (khint64_t)len)) != kh_end(c->long_len) && --kh_val(c->long_len, k) == 0)
            kh_del(len2n, c->long_len, k);
    }
    st->n--;
    st->class_n[cls]--;
    return AO_OK;
}

/* The rows of pool whose sequences (every column) also occur in the
 * training set tr: *elig gets the others (ascending), *n_in_train their
 * count. A slice row that training holds would score memory, not
 * generalisation; from the validation pool such rows stay in validation. */
static int not_in_training(const ao_seqset *pool, const ao_seqset *tr, int64_t **elig, int64_t *n_elig, int64_t *n_in_train, ao_err *err)
{
    ao_row_hash *h = ao_seqset_sorted_hashes(tr);
    int64_t i, n = 0;
    *n_in_train = 0;
    if (!h || !(*elig = malloc(sizeof **elig * (size_t)(pool->n > 0 ? pool->n : 1)))) { free(h); return ao_err_set(err, AO_EMEM, "out of memory"); }
    for (i = 0; i < pool->n; i++) {
        uint64_t hv = ao_seqset_row_hash(pool, i);
        int64_t lo = 0, hi = tr->n, found = 0;
        while (lo < hi) {   /* the first entry with hash >= hv */
            int64_t mid = lo + (hi - lo) / 2;
            if (h[mid].h < hv) lo = mid + 1; else hi = mid;
        }
        for (; lo < tr->n && h[lo].h == hv && !found; lo++) found = ao_seqset_rows_equal(pool, i, tr, h[lo].i);
        if (found) (*n_in_train)++;
        else (*elig)[n++] = i;
    }
    *n_elig = n;
    free(h);
    return AO_OK;
}

/* Carves the selection slice out of the pool split (the validation set
 * when given, else training) of the output being written: the pool file
 * is rewritten without the slice's rows, its statistics and digest follow
 * (dataset.json is written again after), and selection/selection.tsv gets
 * the rows. *pool_out: the pool split, -1 when no slice was made. */
static int carve_selection(prep *p, ao_outdir *od, int *pool_out, json_t **record, ao_err *err)
{
    const ao_prepare_opts *o = p->o;
    int pool = o->n_inputs[AO_SPLIT_VALID] ? AO_SPLIT_VALID : AO_SPLIT_TRAIN, rc;
    double fr = o->selection_fraction < 0 ? (pool == AO_SPLIT_VALID ? AO_SELECTION_FRACTION_VALID : AO_SELECTION_FRACTION_TRAIN) : o->selection_fraction;
    uint64_t seed = ao_seed_derive(0, AO_SEED_SELECTION, 0);
    char *agent = NULL, *pool_path = NULL, *rest_path = NULL, *sel_path = NULL, why[AO_ERRMSG_MAX], *line = NULL;
    size_t cap = 0;
    ssize_t len;
    ao_dataset_info *info = NULL;
    ao_seqset *s = NULL, *tr = NULL, *sub = NULL;
    int64_t *keep = NULL, *sel = NULL, *elig = NULL, nk = 0, ns = 0, ne = 0, n_in_train = 0, row = -1, j = 0;
    FILE *in = NULL, *rest = NULL, *out = NULL;
    splitstats *st = &p->st[pool];
    *pool_out = -1;
    *record = NULL;
    if (fr == 0) { *record = json_pack("{s:b,s:s}", "carved", 0, "reason", "--selection-fraction 0"); goto DONE_NOSLICE; }
    if (!(agent = ao_outdir_path(od, "agent/.x", err)) || !(pool_path = ao_outdir_path(od, pool == AO_SPLIT_VALID ? "agent/valid.tsv" : "agent/train.tsv", err)) ||
        !(rest_path = ao_outdir_path(od, "agent/pool.rest", err))) { rc = err->code; goto DONE; }
    *strrchr(agent, '/') = '\0';
    if (!(info = ao_dataset_info_load(agent, err)) || !(s = ao_seqset_read(pool_path, info, 1, o->reader.threads, err))) { rc = err->code; goto DONE; }
    if (pool == AO_SPLIT_VALID) {
        /* rows whose sequences training also holds never enter the slice:
         * the slice is drawn from the others (a training pool's duplicate
         * groups stay whole, so there no slice row can be in the rest) */
        char *train_path = ao_outdir_path(od, "agent/train.tsv", err);
        if (!train_path || !(tr = ao_seqset_read(train_path, info, 0, o->reader.threads, err))) { free(train_path); rc = err->code; goto DONE; }
        free(train_path);
        if ((rc = not_in_training(s, tr, &elig, &ne, &n_in_train, err)) < 0) goto DONE;
        if (n_in_train > 0 && !(sub = ao_seqset_subset(s, elig, ne, err))) { rc = err->code; goto DONE; }
    }
    if ((rc = ao_split_selection(sub ? sub : s, fr, seed, &keep, &nk, &sel, &ns, why, sizeof why, err)) < 0) goto DONE;
    if (!sel) {
        ao_warn("no selection slice (iterations and lineages are then chosen on the validation metric): %s%s", why,
                n_in_train ? " (among the validation rows whose sequences training does not hold)" : "");
        *record = json_pack("{s:b,s:s,s:f,s:s,s:I}", "carved", 0, "pool", split_names[pool], "fraction", fr, "reason", why,
                            "excluded_in_training", (json_int_t)n_in_train);
        goto DONE_NOSLICE;
    }
    if (sub) {
        int64_t i;   /* back to rows of the pool (elig is ascending, so sel stays so) */
        for (i = 0; i < ns; i++) sel[i] = elig[sel[i]];
    }
    if (!(sel_path = ao_outdir_path(od, "selection/selection.tsv", err))) { rc = err->code; goto DONE; }
    if (!(in = fopen(pool_path, "r"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot read: %s", pool_path, strerror(errno)); goto DONE; }
    if (!(rest = fopen(rest_path, "w")) || !(out = fopen(sel_path, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot create: %s", rest ? sel_path : rest_path, strerror(errno)); goto DONE; }
    digest_init(st);
    /* line 0 is the header (both files); data line r is seqset row r */
    while ((len = getline(&line, &cap, in)) > 0) {
        int to_sel = row >= 0 && j < ns && sel[j] == row;
        kstring_t ks = {(size_t)len, cap, line};
        if (row < 0 || !to_sel) digest_row(st, &ks);
        if ((row < 0 || to_sel) && fwrite(line, 1, (size_t)len, out) != (size_t)len) { rc = ao_err_set(err, AO_EIO, "%s: write error", sel_path); goto DONE; }
        if ((row < 0 || !to_sel) && fwrite(line, 1, (size_t)len, rest) != (size_t)len) { rc = ao_err_set(err, AO_EIO, "%s: write error", rest_path); goto DONE; }
        if (to_sel) {
            j++;
            if (line[len - 1] == '\n') line[len - 1] = '\0';
            if ((rc = unstat_row(p, st, line, err)) < 0) goto DONE;
        }
        row++;
    }
    if (ferror(in) || row != s->n || j != ns) { rc = ao_err_set(err, AO_EINTERNAL, "%s: %" PRId64 " rows re-read, %" PRId64 " expected", pool_path, row, s->n); goto DONE; }
    digest_final(st);
    rc = fclose(rest); rest = NULL;
    if (rc != 0 || fclose(out) != 0) { out = NULL; rc = ao_err_set(err, AO_EIO, "%s: write error", rest_path); goto DONE; }
    out = NULL;
    if (rename(rest_path, pool_path) != 0) { rc = ao_err_set(err, AO_EIO, "%s: cannot rename: %s", rest_path, strerror(errno)); goto DONE; }
    {
        json_t *cc = json_object();
        int64_t *n = calloc((size_t)info->n_classes, sizeof *n), i;
        if (!cc || !n) { json_decref(cc); free(n); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        for (i = 0; i < ns; i++) n[s->y[sel[i]]]++;
        for (i = 0; i < info->n_classes; i++) json_object_set_new(cc, info->classes[i], json_integer((json_int_t)n[i]));
        free(n);
        *record = json_pack("{s:b,s:s,s:f,s:I,s:I,s:o,s:I}", "carved", 1, "pool", split_names[pool], "fraction", fr, "seed", (json_int_t)seed,
                            "n_records", (json_int_t)ns, "class_counts", cc, "excluded_in_training", (json_int_t)n_in_train);
    }
    ao_info("selection slice: %" PRId64 " of %" PRId64 " %s rows held back from the agent", ns, s->n, split_names[pool]);
    if (n_in_train)
        ao_warn("%" PRId64 " validation rows have sequences that training also holds: they stay in validation and out of the selection slice", n_in_train);
    *pool_out = pool;
DONE_NOSLICE:
    rc = *record ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    if (in) fclose(in);
    if (rest) fclose(rest);
    if (out) fclose(out);
    if (rc < 0 && rest_path) unlink(rest_path);
    free(line);
    free(agent);
    free(pool_path);
    free(rest_path);
    free(sel_path);
    free(keep);
    free(sel);
    free(elig);
    ao_seqset_destroy(sub);
    ao_seqset_destroy(tr);
    ao_seqset_destroy(s);
    ao_dataset_info_destroy(info);
    return rc;
}

/* selection/selection.json: what was carved (or why nothing was), tied to
 * the agent data it belongs to by dataset.json's content hash. */
static int write_selection_json(ao_outdir *od, json_t *record, ao_err *err)
{
    char *ds = ao_outdir_path(od, "agent/dataset.json", err);
    json_t *d;
    int rc;
    if (!ds) return err->code;
    d = json_load_file(ds, 0, NULL);
    free(ds);
    if (!d) return ao_err_set(err, AO_EIO, "agent/dataset.json: cannot read back");
    rc = json_object_set_new(record, "format_version", json_integer(1)) < 0 ||
         json_object_set(record, "content_hash", json_object_get(d, "content_hash")) < 0 ? ao_err_set(err, AO_EMEM, "out of memory") : AO_OK;
    json_decref(d);
    return rc < 0 ? rc : write_json(od, "selection/selection.json", record, err);
}

/* ---- driver ------------------------------------------------------------ */

void ao_prepare_opts_init(ao_prepare_opts *o)
{
    memset(o, 0, sizeof *o);
    ao_reader_opts_init(&o->reader);
    o->selection_fraction = -1;
}

static void prep_free(prep *p)
{
    int i, c;
    khint_t k;
    if (p->side) {
        for (k = kh_begin(p->side); k != kh_end(p->side); k++)
            if (kh_exist(p->side, k)) { free((char *)kh_key(p->side, k)); free(kh_val(p->side, k)); }
        kh_destroy(str2str, p->side);
    }
    if (p->cls_idx) kh_destroy(str2int, p->cls_idx);   /* keys are owned by cls_name */
    for (i = 0; i < p->n_cls; i++) free(p->cls_name[i]);
    free(p->cls_name);
    free(p->cls_spelling);
    keylist_free(&p->keys);
    for (i = 0; i < AO_N_SPLITS; i++) {
        free(p->st[i].class_n);
        for (c = 0; c < AO_MAX_SEQ_COLS; c++) {
            free(p->st[i].col[c].alphabet);
            if (p->st[i].col[c].long_len) kh_destroy(len2n, p->st[i].col[c].long_len);
        }
    }
    for (i = 0; i < p->n_seq; i++) free(p->seq_names[i]);
    for (i = 0; i < p->n_keep; i++) free(p->keep_names[i]);
    ks_free(&p->line);
}

int ao_prepare_run(const ao_prepare_opts *o, ao_err *err)
{
    prep p;
    ao_outdir *od = NULL;
    findings f;
    seqkey *keys = NULL;
    size_t n_keys = 0;
    int rc = AO_OK, s;
    memset(&p, 0, sizeof p);
    p.o = o;
    if (o->n_inputs[AO_SPLIT_TRAIN] == 0) return ao_err_set(err, AO_EUSAGE, "no training input (--train FILE or --class NAME=FILE)");
    if (!o->out) return ao_err_set(err, AO_EUSAGE, "no output directory (--out DIR)");
    if (!(p.cls_idx = kh_init(str2int))) return ao_err_set(err, AO_EMEM, "out of memory");
    if (o->classes) {
        char *list = strdup(o->classes), *save = NULL, *tok;
        if (!list) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            trim(tok);
            if (!*tok) continue;
            if (kh_get(str2int, p.cls_idx, tok) != kh_end(p.cls_idx)) {
                rc = ao_err_set(err, AO_EUSAGE, "--classes names '%s' twice", tok);
                break;
            }
            if ((rc = class_add(&p, tok, NULL, 0, err)) < 0) break;
            rc = AO_OK;
        }
        free(list);
        if (rc < 0) goto DONE;
        if (p.n_cls < 2) { rc = ao_err_set(err, AO_EUSAGE, "--classes needs at least two names"); goto DONE; }
        p.frozen = 1;
    }
    if (o->labels_path && (rc = load_side_table(&p, err)) < 0) goto DONE;
    if (!(od = ao_outdir_create(o->out, o->force, err))) { rc = err->code; goto DONE; }
    for (s = 0; s < AO_N_SPLITS; s++) {
        if (!o->n_inputs[s]) continue;
        if ((rc = process_split(&p, s, od, err)) < 0) goto DONE;
        if (s == AO_SPLIT_TRAIN) {
            int seen = 0, c;
            for (c = 0; c < p.n_cls; c++) seen += p.st[s].class_n[c] > 0;
            if (seen < 2) {
                rc = ao_err_at(err, AO_EDATA, o->inputs[s][0].path, 0, "the training data has a single class ('%s'); a classifier needs at least two",
                               p.n_cls ? p.cls_name[0] : "");
                goto DONE;
            }
        }
    }
    if (!(keys = gather_keys(&p, &n_keys))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = unique_ids(&p, od, keys, n_keys, err)) < 0) goto DONE;
    find_duplicates(keys, n_keys, &f);
    free(keys);
    keys = NULL;
    for (s = 0; s < AO_N_SPLITS; s++)
        if (f.dup_records[s]) ao_warn("%s: %llu records repeat an earlier sequence exactly (%llu distinct sequences)", split_names[s],
                                      (unsigned long long)f.dup_records[s], (unsigned long long)f.dup_groups[s]);
    if (f.conflict_groups)
        ao_warn("%llu identical sequences carry different labels (%llu records)", (unsigned long long)f.conflict_groups, (unsigned long long)f.conflict_records);
    if (f.valid_in_train) ao_warn("%llu validation sequences also occur in train", (unsigned long long)f.valid_in_train);
    if (f.test_in_train || f.test_in_valid) {
        const char *tp = o->inputs[AO_SPLIT_TEST][0].path;
        if (o->strict) {
            rc = ao_err_at(err, AO_EDATA, tp, 0, "leakage: %llu test sequences also occur in train and %llu in valid (--strict)",
                           (unsigned long long)f.test_in_train, (unsigned long long)f.test_in_valid);
            goto DONE;
        }
        ao_warn("leakage: %llu test sequences also occur in train and %llu in valid (--strict makes this an error)",
                (unsigned long long)f.test_in_train, (unsigned long long)f.test_in_valid);
    }
    if ((rc = write_outputs(&p, od, &f, err)) < 0) goto DONE;
    {
        /* dataset.json is written once to read the classes back, and again
         * when the slice changed the pool's statistics */
        int pool;
        json_t *record = NULL;
        if ((rc = carve_selection(&p, od, &pool, &record, err)) < 0) goto DONE;
        if (pool >= 0 && (rc = write_outputs(&p, od, &f, err)) < 0) { json_decref(record); goto DONE; }
        rc = write_selection_json(od, record, err);
        json_decref(record);
        if (rc < 0) goto DONE;
    }
    rc = ao_outdir_commit(od, err);
DONE:
    free(keys);
    ao_outdir_destroy(od);
    prep_free(&p);
    return rc;
}
