/* fuzz_tsv.c — agentomics-evaluate's readers (tsv.h, metrics.h) on any
 * bytes: the input is split at its first form feed (or in the middle)
 * into a prediction table and a label table, both parsed, then scored. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include <stdlib.h>
#include <string.h>
#include "agentomics/metrics.h"
#include "agentomics/tsv.h"

static ao_tsv *parse(const char *name, const uint8_t *p, size_t n, ao_err *err)
{
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    if (n) memcpy(buf, p, n);
    return ao_tsv_parse(name, buf, n, err);   /* takes buf */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *ff = memchr(data, '\f', size);
    size_t cut = ff ? (size_t)(ff - data) : size / 2;
    ao_tsv *pred, *lab = NULL;
    ao_metrics *m = NULL;
    ao_err err;
    ao_err_init(&err);
    if ((pred = parse("pred.tsv", data, cut, &err)) &&
        (lab = parse("labels.tsv", data + cut + (ff != NULL), size - cut - (ff != NULL), &err))) {
        m = ao_metrics_from_tables(pred, lab, &err);
        if (m) {
            json_t *j = ao_metrics_json(m);
            json_decref(j);
        }
    }
    ao_metrics_destroy(m);
    ao_tsv_destroy(pred);
    ao_tsv_destroy(lab);
    return 0;
}
