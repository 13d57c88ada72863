/* seqreader.h — one reader for every labelled-sequence input format.
 *
 * The format is detected from content (htslib's detector plus our own
 * table sniffing), never from the extension alone: FASTA, FASTQ (plain,
 * gzip or BGZF), SAM (text, with or without header), BAM, CRAM, and CSV or
 * TSV with a header (plain or gzip; RFC 4180 quoting, CRLF line ends).
 * Sequences come out upper-cased and checked against the IUPAC nucleotide
 * codes; every record carries the line (or record number for BAM/CRAM)
 * where it started so errors can name FILE:LINE.
 *
 * Hostile input costs at most a block or a line: every decompressed block
 * is checked as it arrives (control bytes other than tab are binary data,
 * a CR without LF is a CR-only line end), a line longer than
 * ao_max_line_bytes() is refused, a table row stops at the field after
 * the last expected one (ragged), and every allocation is checked: out of
 * memory is AO_EMEM, never a shorter sequence. A BAM/CRAM/BGZF file
 * without its end-of-file marker (cut at a block boundary) is read with a
 * warning; a cut inside a block is AO_EDATA.
 */
#ifndef AGENTOMICS_SEQREADER_H
#define AGENTOMICS_SEQREADER_H

#include <htslib/bgzf.h>
#include <htslib/kstring.h>
#include "agentomics/error.h"

enum ao_format {
    AO_FMT_UNKNOWN = 0, AO_FMT_FASTA, AO_FMT_FASTQ, AO_FMT_SAM, AO_FMT_BAM, AO_FMT_CRAM,
    AO_FMT_CSV, AO_FMT_TSV
};

#define AO_MAX_SEQ_COLS 8
#define AO_MAX_KEEP_COLS 64

typedef struct ao_reader_opts {
    /* Tables */
    const char *id_col;                        /* default: id/name/read_name/seq_id/sequence_id */
    const char *label_col;                     /* default: label/class/target/y/labels */
    const char *seq_cols[AO_MAX_SEQ_COLS];     /* default: sequence/seq/seqs/dna/rna, else sniffed */
    int n_seq_cols;
    const char *keep_cols[AO_MAX_KEEP_COLS];
    int n_keep_cols;
    /* FASTA/FASTQ headers: 0 = a `label=NAME` token if present;
     * N > 0 = the N-th whitespace token (1 is the id); N < 0 counts from the end. */
    int label_token;
    /* BAM/CRAM/SAM */
    char label_tag[3];                          /* aux tag holding the label, "" for none */
    int label_from_rg;                          /* label = RG:Z value */
    int label_from_ref;                         /* label = the reference (RNAME) the read is aligned to */
    const char *reference;                      /* FASTA for CRAM decoding */
    /* Every record gets this label (one file per class). */
    const char *fixed_label;
    /* Ids for records that have none (tables without an id column): "<prefix>_<n>". */
    const char *id_prefix;
    int u_to_t;                                 /* convert U to T */
    int threads;                                /* decompression threads (BGZF/BAM/CRAM) */
} ao_reader_opts;

/* Every option off, one thread, and id_prefix "seq" for records that
 * carry no id of their own. */
void ao_reader_opts_init(ao_reader_opts *o);

typedef struct ao_record {
    kstring_t id;
    kstring_t seq[AO_MAX_SEQ_COLS];
    int n_seq;
    kstring_t label;
    int has_label;
    kstring_t keep[AO_MAX_KEEP_COLS];
    int n_keep;
    long line;         /* first line of the record (record number for BAM/CRAM) */
} ao_record;

void ao_record_free(ao_record *r);   /* the record's strings; the record itself is the caller's */

typedef struct ao_reader ao_reader;

/* Opens path ("-" is stdin) and reads what is needed to know the columns.
 * NULL on error with err set (AO_EIO for open errors, AO_EDATA for
 * unrecognised or malformed content). */
ao_reader *ao_reader_open(const char *path, const ao_reader_opts *opts, ao_err *err) AO_WUR;
/* 0 = a record, -1 = end of input, < -1 = error (err says FILE:LINE). */
int ao_reader_next(ao_reader *r, ao_record *rec, ao_err *err) AO_WUR;
void ao_reader_destroy(ao_reader *r);

/* What the reader found: the format (and its name), the sequence columns
 * and the extra columns kept (--keep-col), by index. */
enum ao_format ao_reader_format(const ao_reader *r);
const char *ao_format_name(enum ao_format f);
int ao_reader_n_seq_cols(const ao_reader *r);
const char *ao_reader_seq_col_name(const ao_reader *r, int i);   /* "sequence" for non-tables */
int ao_reader_n_keep_cols(const ao_reader *r);
const char *ao_reader_keep_col_name(const ao_reader *r, int i);
/* Whether the input can carry labels at all with the given options. */
int ao_reader_has_label_source(const ao_reader *r);
const char *ao_reader_path(const ao_reader *r);

/* Reads the next line of fp into line (LF or CR LF stripped, NUL-
 * terminated) as every text reader here does: each decompressed block is
 * checked as it arrives, so binary data (a control byte other than tab),
 * a CR without LF (CR-only line ends) or a line longer than max_line
 * bytes is AO_EDATA at once, naming path:lineno; a failed allocation is
 * AO_EMEM. Returns 0, AO_END at end of input, or < -1. */
int ao_bgzf_getline(BGZF *fp, kstring_t *line, size_t max_line, const char *path, long lineno, ao_err *err) AO_WUR;

/* Normalises a sequence in place: upper case, optional U->T; returns the
 * 0-based position of the first symbol that is not an IUPAC nucleotide
 * code, or -1 when all are valid. */
long ao_seq_normalise(char *s, size_t len, int u_to_t);

#endif
