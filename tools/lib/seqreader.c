/* seqreader.c — one reader for every labelled-sequence format
 * (seqreader.h): FASTA/FASTQ, SAM/BAM/CRAM through htslib, CSV/TSV with
 * RFC 4180 quoting; every record carries its FILE:LINE. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <htslib/bgzf.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/sam.h>
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/seqreader.h"

struct ao_reader {
    char *path;
    ao_reader_opts opts;
    enum ao_format fmt;
    BGZF *bg;               /* text formats */
    htsFile *hts;           /* BAM / CRAM */
    sam_hdr_t *hdr;
    bam1_t *b;
    char nt_pair[256][2], nt_pair_rc[256][2];   /* BAM byte -> two bases (forward / reverse-complemented) */
    kstring_t line;
    size_t max_line;        /* longest line accepted, bytes */
    int pending;            /* line holds an unconsumed line (FASTA lookahead) */
    long lineno;
    long nrec;
    /* tables */
    char delim;
    int n_header, n_data;   /* header fields in use; fields of the first data row */
    int n_header_alloc;
    char **header;
    int id_idx, label_idx, seq_idx[AO_MAX_SEQ_COLS], keep_idx[AO_MAX_KEEP_COLS];
    int n_seq, n_keep;
    kstring_t *fields;
    int n_fields, m_fields;
    long rec_start;         /* line where the last logical table record began */
    int fields_ready;       /* the first data row is parsed and waiting */
};

#define AO_MAX_TABLE_COLS 100000   /* columns of a table header */

static const char *id_names[] = {"id", "name", "read_name", "seq_id", "sequence_id", NULL};
static const char *label_names[] = {"label", "class", "target", "y", "labels", NULL};
static const char *seq_names[] = {"sequence", "seq", "seqs", "sequences", "dna", "rna", NULL};

void ao_reader_opts_init(ao_reader_opts *o)
{
    memset(o, 0, sizeof *o);
    o->id_prefix = "seq";
    o->threads = 1;
}

void ao_record_free(ao_record *r)
{
    int i;
    if (!r) return;
    ks_free(&r->id);
    ks_free(&r->label);
    for (i = 0; i < AO_MAX_SEQ_COLS; i++) ks_free(&r->seq[i]);
    for (i = 0; i < AO_MAX_KEEP_COLS; i++) ks_free(&r->keep[i]);
}

const char *ao_format_name(enum ao_format f)
{
    static const char *n[] = {"unknown", "fasta", "fastq", "sam", "bam", "cram", "csv", "tsv"};
    return (f >= AO_FMT_UNKNOWN && f <= AO_FMT_TSV) ? n[f] : "unknown";
}

enum ao_format ao_reader_format(const ao_reader *r) { return r->fmt; }
const char *ao_reader_path(const ao_reader *r) { return r->path; }
int ao_reader_n_seq_cols(const ao_reader *r) { return r->n_seq; }
int ao_reader_n_keep_cols(const ao_reader *r) { return r->n_keep; }

const char *ao_reader_seq_col_name(const ao_reader *r, int i)
{
    if (r->header && r->n_seq > 1) return r->header[r->seq_idx[i]];
    return "sequence";
}

const char *ao_reader_keep_col_name(const ao_reader *r, int i) { return r->header[r->keep_idx[i]]; }

int ao_reader_has_label_source(const ao_reader *r)
{
    if (r->opts.fixed_label) return 1;
    switch (r->fmt) {
    case AO_FMT_CSV: case AO_FMT_TSV: return r->label_idx >= 0;
    case AO_FMT_SAM: case AO_FMT_BAM: case AO_FMT_CRAM: return r->opts.label_tag[0] || r->opts.label_from_rg || r->opts.label_from_ref;
    default: return 1; /* FASTA/FASTQ headers may carry one; checked per record */
    }
}

/* Upper-cased IUPAC code for each byte, 0 for anything else. */
#define NORM_PAIR(u, l) [u] = u, [l] = u
static const unsigned char norm_tab[256] = {
    NORM_PAIR('A', 'a'), NORM_PAIR('C', 'c'), NORM_PAIR('G', 'g'), NORM_PAIR('T', 't'), NORM_PAIR('U', 'u'),
    NORM_PAIR('N', 'n'), NORM_PAIR('R', 'r'), NORM_PAIR('Y', 'y'), NORM_PAIR('S', 's'), NORM_PAIR('W', 'w'),
    NORM_PAIR('K', 'k'), NORM_PAIR('M', 'm'), NORM_PAIR('B', 'b'), NORM_PAIR('D', 'd'), NORM_PAIR('H', 'h'),
    NORM_PAIR('V', 'v')};

long ao_seq_normalise(char *s, size_t len, int u_to_t)
{
    size_t i;
    unsigned char bad = 0xff;
    /* branch-free pass; locate the offender only if there is one */
    for (i = 0; i < len; i++) {
        unsigned char c = norm_tab[(unsigned char)s[i]];
        bad &= (unsigned char)-(c != 0);
        s[i] = c ? (char)c : s[i];
    }
    if (u_to_t)
        for (i = 0; i < len; i++) if (s[i] == 'U') s[i] = 'T';
    if (bad) return -1;
    for (i = 0; i < len; i++)
        if (!norm_tab[(unsigned char)s[i]]) return (long)i;
    return -1;
}

static int oom(const ao_reader *r, long line, ao_err *err)
{
    return ao_err_at(err, AO_EMEM, r->path, line, "out of memory (a record or line larger than the memory available)");
}

static int bad_symbol(ao_reader *r, long line, unsigned char c, long pos, long col, ao_err *err)
{
    char where[64] = "";
    if (col > 0) snprintf(where, sizeof where, " (column %ld of this line)", col);
    if (isprint(c))
        return ao_err_at(err, AO_EDATA, r->path, line, "symbol '%c' at position %ld of the sequence%s is not an IUPAC nucleotide code", c, pos, where);
    return ao_err_at(err, AO_EDATA, r->path, line, "byte 0x%02x at position %ld of the sequence%s is not an IUPAC nucleotide code", c, pos, where);
}

/* Appends the line just read to a FASTA/FASTQ sequence, normalised and
 * checked, so a bad symbol is reported at the line that holds it. */
static int append_seq_line(ao_reader *r, kstring_t *seq, ao_err *err)
{
    size_t start = seq->l;
    long bad;
    if (kputsn(r->line.s, r->line.l, seq) < 0) return oom(r, r->lineno, err);
    if ((bad = ao_seq_normalise(seq->s + start, r->line.l, r->opts.u_to_t)) >= 0)
        return bad_symbol(r, r->lineno, (unsigned char)seq->s[start + bad], (long)start + bad + 1, bad + 1, err);
    return AO_OK;
}

static int check_seq(ao_reader *r, kstring_t *s, long line, const char *what, ao_err *err)
{
    long bad;
    if (s->l == 0) return ao_err_at(err, AO_EDATA, r->path, line, "record without sequence%s%s", what ? " in column " : "", what ? what : "");
    bad = ao_seq_normalise(s->s, s->l, r->opts.u_to_t);
    if (bad >= 0) return bad_symbol(r, line, (unsigned char)s->s[bad], bad + 1, 0, err);
    return AO_OK;
}

/* ---- text lines ---------------------------------------------------- */

/* Whether any of n bytes is a control byte other than tab and CR: eight
 * bytes at a time, looking closer only when a word has a byte < 0x20. */
static const unsigned char *find_control(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (((x - 0x2020202020202020ULL) & ~x & 0x8080808080808080ULL) == 0) continue;
        break;
    }
    for (; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r') return p + i;
    return NULL;
}

int ao_bgzf_getline(BGZF *fp, kstring_t *str, size_t max_line, const char *path, long line, ao_err *err)
{
    int cr_pending = 0, got_any = 0;
    str->l = 0;
    for (;;) {
        const unsigned char *buf, *nl, *bad;
        size_t avail, take;
        if (fp->block_offset >= fp->block_length) {
            if (bgzf_read_block(fp) != 0)
                return ao_err_at(err, AO_EDATA, path, line, "read error: truncated or corrupt compressed data");
            if (fp->block_length == 0) {
                if (!got_any) return AO_END;
                break;
            }
        }
        got_any = 1;
        buf = (const unsigned char *)fp->uncompressed_block + fp->block_offset;
        avail = (size_t)(fp->block_length - fp->block_offset);
        nl = memchr(buf, '\n', avail);
        take = nl ? (size_t)(nl - buf) : avail;
        if (cr_pending && take > 0)
            return ao_err_at(err, AO_EDATA, path, line, "carriage return without a line feed: CR-only (old Mac) line ends; convert them to LF (tr '\\r' '\\n')");
        if ((bad = find_control(buf, take)))
            return ao_err_at(err, AO_EDATA, path, line, "binary data (byte 0x%02x): not a sequence or table file", *bad);
        {
            const unsigned char *cr = memchr(buf, '\r', take);
            if (cr && cr + 1 < buf + take)
                return ao_err_at(err, AO_EDATA, path, line, "carriage return without a line feed: CR-only (old Mac) line ends; convert them to LF (tr '\\r' '\\n')");
            cr_pending = cr != NULL && !nl;
        }
        if (str->l + take > max_line)
            return ao_err_at(err, AO_EDATA, path, line, "line longer than %zu MB (set AGENTOMICS_MAX_LINE_MB to raise the limit)", max_line >> 20);
        if (ks_resize(str, str->l + take + 2) < 0)
            return ao_err_at(err, AO_EMEM, path, line, "out of memory (a record or line larger than the memory available)");
        memcpy(str->s + str->l, buf, take);
        str->l += take;
        fp->block_offset += (int)take + (nl ? 1 : 0);
        fp->uncompressed_address += (int64_t)take + (nl ? 1 : 0);
        /* as bgzf_getline does: the gzip path of bgzf_read_block refills
         * from offset 0 without resetting it */
        if (fp->block_offset >= fp->block_length) fp->block_offset = fp->block_length = 0;
        if (nl) break;
    }
    if (str->l && str->s[str->l - 1] == '\r') str->l--;
    str->s[str->l] = '\0';
    return 0;
}

/* The next physical line into r->line; -1 at EOF. */
static int next_line(ao_reader *r, ao_err *err)
{
    int ret;
    if (r->pending) { r->pending = 0; return 0; }
    if ((ret = ao_bgzf_getline(r->bg, &r->line, r->max_line, r->path, r->lineno + 1, err)) == 0) r->lineno++;
    return ret;
}

/* ---- FASTA / FASTQ --------------------------------------------------- */

/* Splits a header line (after '>' or '@') into id and label. */
static int parse_header(ao_reader *r, const char *hdr, ao_record *rec, ao_err *err)
{
    const char *p = hdr, *tok[256], *end[256];
    int nt = 0, want = r->opts.label_token, i;
    while (*p && nt < 256) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        tok[nt] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        end[nt++] = p;
    }
    if (nt == 0) return ao_err_at(err, AO_EDATA, r->path, r->lineno, "header without a sequence id");
    rec->id.l = 0;
    if (kputsn(tok[0], end[0] - tok[0], &rec->id) < 0) return oom(r, r->lineno, err);
    rec->label.l = 0;
    rec->has_label = 0;
    if (r->opts.fixed_label) return AO_OK;
    if (want == 0) {
        for (i = 1; i < nt; i++)
            if (end[i] - tok[i] > 6 && strncmp(tok[i], "label=", 6) == 0) {
                if (kputsn(tok[i] + 6, end[i] - tok[i] - 6, &rec->label) < 0) return oom(r, r->lineno, err);
                rec->has_label = 1;
                break;
            }
        return AO_OK;
    }
    i = want > 0 ? want - 1 : nt + want;
    if (i < 0 || i >= nt)
        return ao_err_at(err, AO_EDATA, r->path, r->lineno, "header has %d token%s, no token %d to take the label from", nt, nt == 1 ? "" : "s", want);
    if (kputsn(tok[i], end[i] - tok[i], &rec->label) < 0) return oom(r, r->lineno, err);
    rec->has_label = 1;
    return AO_OK;
}

static int read_fasta(ao_reader *r, ao_record *rec, ao_err *err)
{
    int ret;
    long start;
    do {
        if ((ret = next_line(r, err)) < 0) return ret;
    } while (r->line.l == 0 || r->line.s[0] == ';');
    if (r->line.s[0] != '>')
        return ao_err_at(err, AO_EDATA, r->path, r->lineno, "expected a '>' header line");
    start = r->lineno;
    if ((ret = parse_header(r, r->line.s + 1, rec, err)) < 0) return ret;
    rec->seq[0].l = 0;
    while ((ret = next_line(r, err)) == 0) {
        if (r->line.l && r->line.s[0] == '>') { r->pending = 1; break; }
        if ((ret = append_seq_line(r, &rec->seq[0], err)) < 0) return ret;
    }
    if (ret < -1) return ret;
    rec->line = start;
    rec->n_seq = 1;
    if (rec->seq[0].l == 0) return ao_err_at(err, AO_EDATA, r->path, start, "record without sequence");
    return AO_OK;
}

static int read_fastq(ao_reader *r, ao_record *rec, ao_err *err)
{
    int ret;
    long start;
    size_t qlen = 0;
    do {
        if ((ret = next_line(r, err)) < 0) return ret;
    } while (r->line.l == 0);
    if (r->line.s[0] != '@') return ao_err_at(err, AO_EDATA, r->path, r->lineno, "expected a '@' FASTQ header line");
    start = r->lineno;
    if ((ret = parse_header(r, r->line.s + 1, rec, err)) < 0) return ret;
    rec->seq[0].l = 0;
    for (;;) {
        if ((ret = next_line(r, err)) < 0)
            return ret == AO_END ? ao_err_at(err, AO_EDATA, r->path, start, "FASTQ record truncated: no '+' line") : ret;
        if (r->line.l && r->line.s[0] == '+') break;
        if ((ret = append_seq_line(r, &rec->seq[0], err)) < 0) return ret;
    }
    while (qlen < rec->seq[0].l) {
        if ((ret = next_line(r, err)) < 0)
            return ret == AO_END ? ao_err_at(err, AO_EDATA, r->path, start, "FASTQ record truncated: quality shorter than sequence (%zu < %zu)", qlen, rec->seq[0].l) : ret;
        qlen += r->line.l;
    }
    if (qlen != rec->seq[0].l)
        return ao_err_at(err, AO_EDATA, r->path, start, "FASTQ quality length %zu differs from sequence length %zu", qlen, rec->seq[0].l);
    rec->line = start;
    rec->n_seq = 1;
    if (rec->seq[0].l == 0) return ao_err_at(err, AO_EDATA, r->path, start, "record without sequence");
    return AO_OK;
}

/* ---- SAM text (parsed here so header-less SAM works too) -------------- */

static int revcomp_inplace(char *s, size_t n)
{
    static const char comp[256] = {
        ['A'] = 'T', ['C'] = 'G', ['G'] = 'C', ['T'] = 'A', ['U'] = 'A', ['N'] = 'N', ['R'] = 'Y', ['Y'] = 'R',
        ['S'] = 'S', ['W'] = 'W', ['K'] = 'M', ['M'] = 'K', ['B'] = 'V', ['V'] = 'B', ['D'] = 'H', ['H'] = 'D'};
    size_t i, j;
    for (i = 0; i < n; i++) {
        char c = comp[(unsigned char)s[i]];
        s[i] = c ? c : s[i];
    }
    for (i = 0, j = n ? n - 1 : 0; i < j; i++, j--) { char t = s[i]; s[i] = s[j]; s[j] = t; }
    return 0;
}

/* Suffix /1 or /2 for paired reads, as samtools fasta does, so mates keep distinct ids. */
static int mate_suffix(kstring_t *id, int flag)
{
    if ((flag & BAM_FPAIRED) && (flag & BAM_FREAD1)) return kputs("/1", id) < 0 ? AO_EMEM : AO_OK;
    if ((flag & BAM_FPAIRED) && (flag & BAM_FREAD2)) return kputs("/2", id) < 0 ? AO_EMEM : AO_OK;
    return AO_OK;
}

static int read_sam_text(ao_reader *r, ao_record *rec, ao_err *err)
{
    int ret;
    for (;;) {
        char *f[12], *p, *q;
        int nf = 0;
        long flag;
        if ((ret = next_line(r, err)) < 0) return ret;
        if (r->line.l == 0 || r->line.s[0] == '@') continue;
        p = r->line.s;
        for (nf = 0; nf < 11; nf++) {
            f[nf] = p;
            q = strchr(p, '\t');
            if (!q) { nf++; break; }
            *q = '\0';
            p = q + 1;
        }
        if (nf < 11) return ao_err_at(err, AO_EDATA, r->path, r->lineno, "SAM line has %d fields, expected at least 11", nf);
        f[11] = (f[10] + strlen(f[10]) < r->line.s + r->line.l) ? f[10] + strlen(f[10]) + 1 : NULL;
        flag = strtol(f[1], &q, 10);
        if (*q || flag < 0) return ao_err_at(err, AO_EDATA, r->path, r->lineno, "SAM FLAG '%s' is not a number", f[1]);
        if (flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
        rec->id.l = 0;
        rec->seq[0].l = 0;
        if (kputs(f[0], &rec->id) < 0 || mate_suffix(&rec->id, (int)flag) < 0 ||
            (strcmp(f[9], "*") != 0 && kputs(f[9], &rec->seq[0]) < 0))
            return oom(r, r->lineno, err);
        rec->line = r->lineno;
        rec->n_seq = 1;
        if ((ret = check_seq(r, &rec->seq[0], r->lineno, NULL, err)) < 0) return ret;
        if (flag & BAM_FREVERSE) revcomp_inplace(rec->seq[0].s, rec->seq[0].l);
        rec->has_label = 0;
        rec->label.l = 0;
        if (r->opts.fixed_label) return AO_OK;
        if (r->opts.label_from_ref) {
            /* an unmapped read may carry its mate's RNAME as a placement only */
            if (!(flag & BAM_FUNMAP) && strcmp(f[2], "*") != 0) {
                if (kputs(f[2], &rec->label) < 0) return oom(r, r->lineno, err);
                rec->has_label = 1;
            }
        } else if ((r->opts.label_tag[0] || r->opts.label_from_rg) && f[11]) {
            const char *want = r->opts.label_from_rg ? "RG" : r->opts.label_tag;
            char *tags = f[11], *save = NULL, *t;
            for (t = strtok_r(tags, "\t", &save); t; t = strtok_r(NULL, "\t", &save))
                if (strlen(t) > 5 && strncmp(t, want, 2) == 0 && t[2] == ':' && t[4] == ':') {
                    if (kputs(t + 5, &rec->label) < 0) return oom(r, r->lineno, err);
                    rec->has_label = 1;
                    break;
                }
        }
        return AO_OK;
    }
}

/* ---- BAM / CRAM through htslib ---------------------------------------- */

/* An aux tag's value as SAM text writes it: Z/H strings, A characters,
 * integers, floats (%g), and B arrays as "SUBTYPE,v1,v2,..." (so two
 * different arrays never become the same label). */
static int aux_label(ao_reader *r, const uint8_t *aux, kstring_t *out, ao_err *err)
{
    char type = (char)*aux;
    int rc = 0;
    errno = 0;
    switch (type) {
    case 'Z': case 'H': rc = kputs(bam_aux2Z(aux), out); break;
    case 'A': rc = kputc(bam_aux2A(aux), out); break;
    case 'f': case 'd': rc = ksprintf(out, "%g", bam_aux2f(aux)); break;
    case 'c': case 'C': case 's': case 'S': case 'i': case 'I': rc = kputll(bam_aux2i(aux), out); break;
    case 'B': {
        uint32_t i, n = bam_auxB_len(aux);
        char sub = (char)aux[1];
        rc = kputc(sub, out);
        for (i = 0; i < n && rc >= 0; i++) {
            if (kputc(',', out) < 0) rc = -1;
            else if (sub == 'f') rc = ksprintf(out, "%g", bam_auxB2f(aux, i));
            else rc = kputll(bam_auxB2i(aux, i), out);
        }
        break;
    }
    default:
        return ao_err_at(err, AO_EDATA, r->path, r->nrec, "aux tag of unknown type '%c'", type);
    }
    if (errno == EINVAL) return ao_err_at(err, AO_EDATA, r->path, r->nrec, "malformed aux tag of type '%c'", type);
    return rc < 0 ? oom(r, r->nrec, err) : AO_OK;
}

static int read_bam(ao_reader *r, ao_record *rec, ao_err *err)
{
    int ret, i;
    for (;;) {
        const uint8_t *seq;
        uint8_t *aux;
        int len;
        ret = sam_read1(r->hts, r->hdr, r->b);
        if (ret == -1) return AO_END;
        if (ret < -1) {
            if (r->fmt == AO_FMT_CRAM)
                return ao_err_at(err, AO_EDATA, r->path, r->nrec + 1, "cannot decode CRAM record (corrupt or truncated file, or its reference is missing: give --reference FASTA)");
            return ao_err_at(err, AO_EDATA, r->path, r->nrec + 1, "cannot decode record: truncated or corrupt %s", ao_format_name(r->fmt));
        }
        r->nrec++;
        if (r->b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
        rec->id.l = 0;
        if (kputs(bam_get_qname(r->b), &rec->id) < 0 || mate_suffix(&rec->id, r->b->core.flag) < 0) return oom(r, r->nrec, err);
        len = r->b->core.l_qseq;
        seq = bam_get_seq(r->b);
        rec->seq[0].l = 0;
        if (ks_resize(&rec->seq[0], (size_t)len + 2) < 0) return oom(r, r->nrec, err);
        /* two bases per byte through a pair table; reverse-strand reads
         * are written back to front with complemented bases */
        if (r->b->core.flag & BAM_FREVERSE) {
            char *o = rec->seq[0].s + len;
            for (i = 0; i < len / 2; i++) { o -= 2; memcpy(o, r->nt_pair_rc[seq[i]], 2); }
            if (len & 1) o[-1] = r->nt_pair_rc[seq[len / 2]][1];
        } else {
            char *o = rec->seq[0].s;
            for (i = 0; i < len / 2; i++, o += 2) memcpy(o, r->nt_pair[seq[i]], 2);
            if (len & 1) *o = r->nt_pair[seq[len / 2]][0];
        }
        rec->seq[0].l = (size_t)len;
        rec->seq[0].s[len] = '\0';
        rec->line = r->nrec;
        rec->n_seq = 1;
        /* nt16 decoding yields only IUPAC letters and '=' (a base equal
         * to the reference, which we cannot resolve here) */
        if (len == 0) return ao_err_at(err, AO_EDATA, r->path, r->nrec, "record without sequence");
        if (memchr(rec->seq[0].s, '=', (size_t)len))
            return ao_err_at(err, AO_EDATA, r->path, r->nrec, "sequence uses '=' (base equal to the reference); decode it with samtools first");
        rec->has_label = 0;
        rec->label.l = 0;
        if (r->opts.fixed_label) return AO_OK;
        if (r->opts.label_from_ref) {
            if (r->b->core.tid >= 0 && !(r->b->core.flag & BAM_FUNMAP)) {
                const char *ref = sam_hdr_tid2name(r->hdr, r->b->core.tid);
                if (!ref) return ao_err_at(err, AO_EDATA, r->path, r->nrec, "reference id %d is not in the header", r->b->core.tid);
                if (kputs(ref, &rec->label) < 0) return oom(r, r->nrec, err);
                rec->has_label = 1;
            }
            return AO_OK;
        }
        aux = (r->opts.label_tag[0] || r->opts.label_from_rg)
                  ? bam_aux_get(r->b, r->opts.label_from_rg ? "RG" : r->opts.label_tag) : NULL;
        if (aux) {
            if ((ret = aux_label(r, aux, &rec->label, err)) < 0) return ret;
            rec->has_label = 1;
        }
        return AO_OK;
    }
}

/* ---- CSV / TSV -------------------------------------------------------- */

/* Makes room for field nf (an empty string). */
static int field_slot(ao_reader *r, int nf, long line, ao_err *err)
{
    if (nf >= r->m_fields) {
        int m = r->m_fields ? r->m_fields * 2 : 16;
        kstring_t *nfd = realloc(r->fields, (size_t)m * sizeof *nfd);
        if (!nfd) return oom(r, line, err);
        memset(nfd + r->m_fields, 0, (size_t)(m - r->m_fields) * sizeof *nfd);
        r->fields = nfd;
        r->m_fields = m;
    }
    r->fields[nf].l = 0;
    if (ks_resize(&r->fields[nf], 16) < 0) return oom(r, line, err);
    r->fields[nf].s[0] = 0;
    return AO_OK;
}

/* Reads one logical record (quoted fields may span lines) and splits it
 * into r->fields. A record with more than max_fields fields is refused as
 * soon as the field after the last is reached, so a row of millions of
 * delimiters costs no more than the expected fields. Returns the number
 * of fields, -1 at EOF, < -1 on error. */
static int read_fields(ao_reader *r, int max_fields, ao_err *err)
{
    int ret, nf = 0, inq = 0, atstart = 1;
    long start;
    size_t i;
    do {
        if ((ret = next_line(r, err)) < 0) return ret;
    } while (r->line.l == 0);
    start = r->lineno;
    if ((ret = field_slot(r, 0, start, err)) < 0) return ret;
    for (;;) {
        for (i = 0; i < r->line.l; i++) {
            char c = r->line.s[i];
            kstring_t *f = &r->fields[nf];
            if (inq) {
                if (c == '"') {
                    if (i + 1 < r->line.l && r->line.s[i + 1] == '"') { if (kputc('"', f) < 0) return oom(r, r->lineno, err); i++; }
                    else inq = 0;
                } else if (kputc(c, f) < 0) return oom(r, r->lineno, err);
                atstart = 0;
                continue;
            }
            if (c == '"' && atstart) { inq = 1; atstart = 0; continue; }
            if (c == r->delim) {
                if (++nf >= max_fields) {
                    if (!r->n_header)
                        return ao_err_at(err, AO_EDATA, r->path, start, "more than %d columns in the header", max_fields);
                    if (!r->n_data)
                        return ao_err_at(err, AO_EDATA, r->path, start, "ragged row: more fields than the %d columns the header names", max_fields);
                    return ao_err_at(err, AO_EDATA, r->path, start, "ragged row: more than %d fields, expected %d", max_fields, max_fields);
                }
                if ((ret = field_slot(r, nf, r->lineno, err)) < 0) return ret;
                atstart = 1;
                continue;
            }
            if (c == '"' && !atstart && r->delim == ',')
                return ao_err_at(err, AO_EDATA, r->path, r->lineno, "stray '\"' inside an unquoted field (RFC 4180 quoting)");
            if (kputc(c, f) < 0) return oom(r, r->lineno, err);
            atstart = 0;
        }
        if (!inq) break;
        /* quoted field continues on the next line */
        if (kputc('\n', &r->fields[nf]) < 0) return oom(r, r->lineno, err);
        if ((ret = next_line(r, err)) < 0)
            return ret == AO_END ? ao_err_at(err, AO_EDATA, r->path, start, "unterminated quoted field") : ret;
    }
    r->n_fields = nf + 1;
    r->rec_start = start;
    return r->n_fields;
}

static int find_col(ao_reader *r, const char *name)
{
    int i;
    for (i = 0; i < r->n_header; i++)
        if (strcasecmp(r->header[i], name) == 0) return i;
    return -1;
}

static int find_default_col(ao_reader *r, const char **names)
{
    int i, j;
    for (j = 0; names[j]; j++)
        if ((i = find_col(r, names[j])) >= 0) return i;
    return -1;
}

static int looks_like_sequence(const char *s, size_t n)
{
    size_t i;
    if (n < 8) return 0;
    for (i = 0; i < n; i++) {
        if (!norm_tab[(unsigned char)s[i]]) return 0;
    }
    return 1;
}

/* The first data row fixes the field count (a header wider than the rows,
 * as in files whose header names more columns than exist, is a warning);
 * it also lets us find the sequence column by content when none is named. */
static int first_data_row(ao_reader *r, ao_err *err)
{
    int i;
    r->n_data = r->n_fields;
    if (r->n_data > r->n_header)
        return ao_err_at(err, AO_EDATA, r->path, r->lineno, "ragged row: %d fields but the header names %d columns", r->n_data, r->n_header);
    if (r->n_data < r->n_header) {
        ao_warn("%s: the header names %d columns but data rows have %d; ignoring header names after '%s'",
                r->path, r->n_header, r->n_data, r->header[r->n_data - 1]);
        r->n_header = r->n_data;
        if (r->id_idx >= r->n_data) r->id_idx = -1;
        if (r->label_idx >= r->n_data) r->label_idx = -1;
        for (i = 0; i < r->n_seq; i++)
            if (r->seq_idx[i] >= r->n_data)
                return ao_err_at(err, AO_EDATA, r->path, r->lineno, "sequence column '%s' is beyond the %d fields of the data rows", r->header[r->seq_idx[i]], r->n_data);
        for (i = 0; i < r->n_keep; i++)
            if (r->keep_idx[i] >= r->n_data)
                return ao_err_at(err, AO_EDATA, r->path, r->lineno, "column '%s' is beyond the %d fields of the data rows", r->header[r->keep_idx[i]], r->n_data);
    }
    if (r->n_seq == 0) {
        for (i = 0; i < r->n_data; i++)
            if (i != r->label_idx && i != r->id_idx && looks_like_sequence(r->fields[i].s, r->fields[i].l)) {
                r->seq_idx[0] = i;
                r->n_seq = 1;
                ao_warn("%s: no column named sequence/seq/seqs; using column '%s', whose values look like sequences (set --seq-col to choose)", r->path, r->header[i]);
                break;
            }
        if (r->n_seq == 0)
            return ao_err_at(err, AO_EDATA, r->path, r->lineno, "no sequence column: name one with --seq-col");
    }
    return AO_OK;
}

static int open_table(ao_reader *r, ao_err *err)
{
    int ret, i, ntab = 0, ncomma = 0;
    long hline;
    size_t k;
    /* Sniff the delimiter from the header line. */
    if ((ret = next_line(r, err)) < 0)
        return ret == AO_END ? ao_err_at(err, AO_EDATA, r->path, 0, "empty file") : ret;
    while (r->line.l == 0) {
        if ((ret = next_line(r, err)) < 0)
            return ret == AO_END ? ao_err_at(err, AO_EDATA, r->path, 0, "empty file") : ret;
    }
    for (k = 0; k < r->line.l; k++) {
        if (r->line.s[k] == '\t') ntab++;
        else if (r->line.s[k] == ',') ncomma++;
    }
    if (ntab > 0) { r->delim = '\t'; r->fmt = AO_FMT_TSV; }
    else if (ncomma > 0) { r->delim = ','; r->fmt = AO_FMT_CSV; }
    else {
        const char *ext = strrchr(r->path, '.');
        r->delim = (ext && strncasecmp(ext, ".csv", 4) == 0) ? ',' : '\t';
        r->fmt = r->delim == ',' ? AO_FMT_CSV : AO_FMT_TSV;
    }
    /* Parse the header line we hold as fields (quoting applies there too). */
    r->pending = 1;
    if ((ret = read_fields(r, AO_MAX_TABLE_COLS, err)) < 0) return ret;
    hline = r->lineno;
    r->n_header = r->n_header_alloc = r->n_fields;
    if (!(r->header = calloc((size_t)r->n_header, sizeof *r->header))) return ao_err_set(err, AO_EMEM, "out of memory");
    for (i = 0; i < r->n_header; i++) {
        if (!(r->header[i] = strdup(r->fields[i].s ? r->fields[i].s : ""))) return ao_err_set(err, AO_EMEM, "out of memory");
        if (!r->header[i][0]) return ao_err_at(err, AO_EDATA, r->path, hline, "header column %d has no name", i + 1);
        if (looks_like_sequence(r->header[i], strlen(r->header[i])) && strlen(r->header[i]) >= 20)
            return ao_err_at(err, AO_EDATA, r->path, hline, "the first line looks like data, not a header (tables need a header line naming the columns)");
    }
    /* Columns by name. */
    r->id_idx = r->opts.id_col ? find_col(r, r->opts.id_col) : find_default_col(r, id_names);
    if (r->opts.id_col && r->id_idx < 0)
        return ao_err_at(err, AO_EDATA, r->path, hline, "no id column named '%s'", r->opts.id_col);
    r->label_idx = r->opts.label_col ? find_col(r, r->opts.label_col) : find_default_col(r, label_names);
    if (r->opts.label_col && r->label_idx < 0 && !r->opts.fixed_label)
        return ao_err_at(err, AO_EDATA, r->path, hline, "missing label column '%s'", r->opts.label_col);
    r->n_seq = r->opts.n_seq_cols;
    for (i = 0; i < r->opts.n_seq_cols; i++) {
        if ((r->seq_idx[i] = find_col(r, r->opts.seq_cols[i])) < 0)
            return ao_err_at(err, AO_EDATA, r->path, hline, "no sequence column named '%s'", r->opts.seq_cols[i]);
    }
    if (r->n_seq == 0 && (r->seq_idx[0] = find_default_col(r, seq_names)) >= 0) r->n_seq = 1;
    r->n_keep = r->opts.n_keep_cols;
    for (i = 0; i < r->opts.n_keep_cols; i++)
        if ((r->keep_idx[i] = find_col(r, r->opts.keep_cols[i])) < 0)
            return ao_err_at(err, AO_EDATA, r->path, hline, "no column named '%s' to keep", r->opts.keep_cols[i]);
    /* The first data row settles the field count and, when no sequence
     * column is named, which column holds sequences. */
    if ((ret = read_fields(r, r->n_header, err)) < 0)
        return ret == AO_END ? ao_err_at(err, AO_EDATA, r->path, hline, "no data rows after the header") : ret;
    r->fields_ready = 1;
    return first_data_row(r, err);
}

static int read_table(ao_reader *r, ao_record *rec, ao_err *err)
{
    int ret, i;
    long start;
    if (r->fields_ready) r->fields_ready = 0;
    else if ((ret = read_fields(r, r->n_data, err)) < 0) return ret;
    start = r->rec_start;
    r->nrec++;
    if (r->n_fields != r->n_data)
        return ao_err_at(err, AO_EDATA, r->path, start, "ragged row: %d fields, expected %d", r->n_fields, r->n_data);
    rec->id.l = 0;
    if (r->id_idx >= 0) {
        if (kputsn(r->fields[r->id_idx].s, r->fields[r->id_idx].l, &rec->id) < 0) return oom(r, start, err);
        if (rec->id.l == 0) return ao_err_at(err, AO_EDATA, r->path, start, "empty id in column '%s'", r->header[r->id_idx]);
    } else if (ksprintf(&rec->id, "%s_%ld", r->opts.id_prefix, r->nrec) < 0) {
        return oom(r, start, err);
    }
    rec->n_seq = r->n_seq;
    for (i = 0; i < r->n_seq; i++) {
        kstring_t *f = &r->fields[r->seq_idx[i]];
        rec->seq[i].l = 0;
        if (kputsn(f->s, f->l, &rec->seq[i]) < 0) return oom(r, start, err);
        /* surrounding blanks are formatting, not sequence */
        while (rec->seq[i].l && isspace((unsigned char)rec->seq[i].s[rec->seq[i].l - 1])) rec->seq[i].s[--rec->seq[i].l] = 0;
        if (rec->seq[i].l && isspace((unsigned char)rec->seq[i].s[0])) {
            size_t s = 0;
            while (s < rec->seq[i].l && isspace((unsigned char)rec->seq[i].s[s])) s++;
            memmove(rec->seq[i].s, rec->seq[i].s + s, rec->seq[i].l - s + 1);
            rec->seq[i].l -= s;
        }
        if ((ret = check_seq(r, &rec->seq[i], start, r->n_seq > 1 ? r->header[r->seq_idx[i]] : NULL, err)) < 0) return ret;
    }
    rec->has_label = 0;
    rec->label.l = 0;
    if (!r->opts.fixed_label && r->label_idx >= 0) {
        kstring_t *f = &r->fields[r->label_idx];
        if (kputsn(f->s, f->l, &rec->label) < 0) return oom(r, start, err);
        rec->has_label = rec->label.l > 0;
    }
    rec->n_keep = r->n_keep;
    for (i = 0; i < r->n_keep; i++) {
        kstring_t *f = &r->fields[r->keep_idx[i]];
        rec->keep[i].l = 0;
        if (kputsn(f->s, f->l, &rec->keep[i]) < 0) return oom(r, start, err);
    }
    rec->line = start;
    return AO_OK;
}

/* ---- open / next / destroy -------------------------------------------- */

ao_reader *ao_reader_open(const char *path, const ao_reader_opts *opts, ao_err *err)
{
    ao_reader *r = calloc(1, sizeof *r);
    hFILE *hf = NULL;
    htsFormat fmt;
    if (!r) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    r->opts = *opts;
    r->id_idx = r->label_idx = -1;
    r->max_line = ao_max_line_bytes();
    if (!(r->path = strdup(path))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!(hf = hopen(path, "r"))) {
        ao_err_set(err, AO_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto ERROR;
    }
    if (hts_detect_format2(hf, path, &fmt) < 0) {
        ao_err_set(err, AO_EIO, "%s: cannot read: %s", path, strerror(errno));
        goto ERROR;
    }
    switch (fmt.format) {
    case bam: case cram:
        r->fmt = fmt.format == bam ? AO_FMT_BAM : AO_FMT_CRAM;
        if (!(r->hts = hts_hopen(hf, path, "r"))) {
            /* a failed hts_hopen leaves hf open: the ERROR path closes it */
            ao_err_at(err, AO_EDATA, path, 0, "cannot open as %s", ao_format_name(r->fmt));
            goto ERROR;
        }
        hf = NULL;
        if (r->fmt == AO_FMT_CRAM && opts->reference && hts_set_fai_filename(r->hts, opts->reference) < 0) {
            ao_err_set(err, AO_EIO, "%s: cannot use reference", opts->reference);
            goto ERROR;
        }
        if (opts->threads > 1) hts_set_threads(r->hts, opts->threads);
        if (!(r->hdr = sam_hdr_read(r->hts))) {
            ao_err_at(err, AO_EDATA, path, 0, "cannot read the %s header (truncated or corrupt file)", ao_format_name(r->fmt));
            goto ERROR;
        }
        if (!(r->b = bam_init1())) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
        if (opts->label_from_rg && !opts->fixed_label && sam_hdr_count_lines(r->hdr, "RG") <= 0) {
            ao_err_at(err, AO_EDATA, path, 0, "no read groups (no @RG header lines): --label-from rg has nothing to read");
            goto ERROR;
        }
        /* a file cut at a block boundary decodes cleanly to the cut: only
         * the missing end-of-file marker tells (htslib's own warning is
         * silenced with its log) */
        if (hts_check_EOF(r->hts) == 0)
            ao_warn("%s: no end-of-file marker: the %s file may be truncated (records after the cut are missing)", path, ao_format_name(r->fmt));
        {
            static const char comp16[] = "=TGKCYSBAWRDMHVN";   /* complement of "=ACMGRSVTWYHKDBN" */
            int k;
            for (k = 0; k < 256; k++) {
                r->nt_pair[k][0] = seq_nt16_str[k >> 4];
                r->nt_pair[k][1] = seq_nt16_str[k & 15];
                /* reversed pair order, complemented */
                r->nt_pair_rc[k][0] = comp16[k & 15];
                r->nt_pair_rc[k][1] = comp16[k >> 4];
            }
        }
        r->n_seq = 1;
        return r;
    case empty_format:
        ao_err_at(err, AO_EDATA, path, 0, "empty file");
        goto ERROR;
    case binary_format: case bai: case crai: case csi: case gzi: case tbi: case bcf: case fai_format: case fqi_format:
        {
            char *desc = hts_format_description(&fmt);
            ao_err_at(err, AO_EDATA, path, 0, "binary data (%s): not a sequence or table file", desc ? desc : "unknown");
            free(desc);
        }
        goto ERROR;
    default:
        break;
    }
    if (fmt.compression != no_compression && fmt.compression != gzip && fmt.compression != bgzf) {
        char *desc = hts_format_description(&fmt);
        ao_err_at(err, AO_EDATA, path, 0, "unsupported compression (%s); use plain, gzip or BGZF files", desc ? desc : "unknown");
        free(desc);
        goto ERROR;
    }
    if (!(r->bg = bgzf_hopen(hf, "r"))) {
        ao_err_at(err, AO_EDATA, path, 0, "cannot open compressed stream");
        goto ERROR;
    }
    hf = NULL;
    if (fmt.compression == bgzf && bgzf_check_EOF(r->bg) == 0)
        ao_warn("%s: no BGZF end-of-file marker: the file may be truncated", path);
    if (opts->threads > 1 && fmt.compression == bgzf) bgzf_mt(r->bg, opts->threads, 64);
    switch (fmt.format) {
    case fasta_format: r->fmt = AO_FMT_FASTA; break;
    case fastq_format: r->fmt = AO_FMT_FASTQ; break;
    case sam: r->fmt = AO_FMT_SAM; break;
    default: {
        /* htslib's detector wants a few well-formed records; decide from
         * the first line so short or broken files get the right parser
         * (and so a precise error). */
        int ret = next_line(r, err);
        while (ret == 0 && r->line.l == 0) ret = next_line(r, err);
        if (ret < -1) goto ERROR;
        if (ret == AO_END) { ao_err_at(err, AO_EDATA, path, 0, "empty file"); goto ERROR; }
        r->pending = 1;
        if (r->line.s[0] == '>') r->fmt = AO_FMT_FASTA;
        else if (r->line.s[0] == '@')
            r->fmt = (r->line.l > 3 && r->line.s[3] == '\t' && strchr("HSRPC", r->line.s[1])) ? AO_FMT_SAM : AO_FMT_FASTQ;
        else if ((ret = open_table(r, err)) < 0) goto ERROR;
        break;
    }
    }
    if (r->fmt != AO_FMT_CSV && r->fmt != AO_FMT_TSV) r->n_seq = 1;
    return r;
ERROR:
    if (hf) hclose_abruptly(hf);
    ao_reader_destroy(r);
    return NULL;
}

int ao_reader_next(ao_reader *r, ao_record *rec, ao_err *err)
{
    int ret;
    switch (r->fmt) {
    case AO_FMT_FASTA: ret = read_fasta(r, rec, err); break;
    case AO_FMT_FASTQ: ret = read_fastq(r, rec, err); break;
    case AO_FMT_SAM: ret = read_sam_text(r, rec, err); break;
    case AO_FMT_BAM: case AO_FMT_CRAM: ret = read_bam(r, rec, err); break;
    case AO_FMT_CSV: case AO_FMT_TSV: ret = read_table(r, rec, err); break;
    default: return ao_err_set(err, AO_EINTERNAL, "%s: unknown format", r->path);
    }
    if (ret == 0 && r->opts.fixed_label) {
        rec->label.l = 0;
        if (kputs(r->opts.fixed_label, &rec->label) < 0) return oom(r, rec->line, err);
        rec->has_label = 1;
    }
    if (ret == 0) rec->n_keep = r->n_keep;
    return ret;
}

void ao_reader_destroy(ao_reader *r)
{
    int i;
    if (!r) return;
    if (r->bg) bgzf_close(r->bg);
    if (r->b) bam_destroy1(r->b);
    if (r->hdr) sam_hdr_destroy(r->hdr);
    if (r->hts) hts_close(r->hts);
    if (r->header) {
        for (i = 0; i < r->n_header_alloc; i++) free(r->header[i]);
        free(r->header);
    }
    for (i = 0; i < r->m_fields; i++) ks_free(&r->fields[i]);
    free(r->fields);
    ks_free(&r->line);
    free(r->path);
    free(r);
}
