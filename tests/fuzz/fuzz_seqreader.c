/* fuzz_seqreader.c — the sequence reader (seqreader.h) on any bytes: every
 * format it detects (FASTA, FASTQ, SAM, BAM, CRAM, CSV, TSV; plain, gzip
 * or BGZF), read to the end under option sets chosen by the input's last
 * byte (label sources, U->T, threads stay 1). The CRAM reference is
 * tests/data/ex1.fa, so run from the repository root. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include <stdlib.h>
#include <string.h>
#include "agentomics/log.h"
#include "agentomics/seqreader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    ao_reader_opts o;
    ao_reader *r;
    ao_record rec;
    ao_err err;
    int fd, k = size ? data[size - 1] : 0, n = 0;
    ao_log_setup("fuzz", AO_LOG_ERROR);   /* quiet: warnings are expected */
    if ((fd = fuzz_file(data, size, path, sizeof path)) < 0) return 0;
    ao_reader_opts_init(&o);
    o.reference = "tests/data/ex1.fa";
    o.u_to_t = k & 1;
    switch ((k >> 1) & 7) {
    case 1: o.label_token = 2; break;
    case 2: o.label_token = -1; break;
    case 3: memcpy(o.label_tag, "XB", 3); break;
    case 4: o.label_from_rg = 1; break;
    case 5: o.label_from_ref = 1; break;
    case 6: o.fixed_label = "fixed"; break;
    case 7: o.seq_cols[o.n_seq_cols++] = "sequence"; o.keep_cols[o.n_keep_cols++] = "id"; break;
    }
    memset(&rec, 0, sizeof rec);
    ao_err_init(&err);
    if ((r = ao_reader_open(path, &o, &err))) {
        while (n++ < 100000 && ao_reader_next(r, &rec, &err) == 0) {}
        ao_reader_destroy(r);
    }
    ao_record_free(&rec);
    close(fd);
    return 0;
}
