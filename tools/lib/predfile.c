/* predfile.c — writes prediction TSVs (see predfile.h); owns the format
 * of the file that the evaluator and the user read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "agentomics/fileio.h"
#include "agentomics/metrics.h"
#include "agentomics/predfile.h"

int ao_predfile_write(const char *path, const ao_dataset_info *info, const ao_seqset *s, const double *proba, double threshold,
                      ao_err *err)
{
    ao_outfile *of;
    int64_t i;
    int c, K = info->n_classes, rc;
    if (!isnan(threshold) && !ao_threshold_usable(threshold, K))
        return ao_err_set(err, AO_EINTERNAL, "a decision threshold needs two classes and a value in (0, 1)");
    if (!(of = ao_outfile_open(path, err))) return err->code;
    fputs("id\tprediction", of->fp);
    for (c = 0; c < K; c++) fprintf(of->fp, "\tprobability_%s", info->classes[c]);
    fputs(isnan(threshold) ? "\n" : "\tthreshold\n", of->fp);
    for (i = 0; i < s->n; i++) {
        const double *p = proba + i * K;
        char text[2][40];
        int best = 0;
        for (c = 0; c < K; c++) if (c < 2) snprintf(text[c], sizeof text[c], "%.9g", p[c]);
        if (isnan(threshold)) {
            for (c = 1; c < K; c++) if (p[c] > p[best]) best = c;
        } else {
            /* decided on the written value, as the scorer re-reads it */
            best = strtod(text[1], NULL) >= threshold;
        }
        fprintf(of->fp, "%s\t%s", s->ids[i], info->classes[best]);
        for (c = 0; c < K; c++) {
            if (c < 2) fprintf(of->fp, "\t%s", text[c]);
            else fprintf(of->fp, "\t%.9g", p[c]);
        }
        if (!isnan(threshold)) fprintf(of->fp, "\t%.17g", threshold);
        fputc('\n', of->fp);
    }
    rc = ao_outfile_commit(of, err);
    ao_outfile_destroy(of);
    return rc;
}
