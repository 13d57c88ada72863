/* predfile.c — writes prediction TSVs (see predfile.h); owns the format
 * of the file that the evaluator and the user read. */
#include <stdio.h>
#include "agentomics/fileio.h"
#include "agentomics/predfile.h"

int ao_predfile_write(const char *path, const ao_dataset_info *info, const ao_seqset *s, const double *proba, ao_err *err)
{
    ao_outfile *of = ao_outfile_open(path, err);
    int64_t i;
    int c, K = info->n_classes, rc;
    if (!of) return err->code;
    fputs("id\tprediction", of->fp);
    for (c = 0; c < K; c++) fprintf(of->fp, "\tprobability_%s", info->classes[c]);
    fputc('\n', of->fp);
    for (i = 0; i < s->n; i++) {
        const double *p = proba + i * K;
        int best = 0;
        for (c = 1; c < K; c++) if (p[c] > p[best]) best = c;
        fprintf(of->fp, "%s\t%s", s->ids[i], info->classes[best]);
        for (c = 0; c < K; c++) fprintf(of->fp, "\t%.9g", p[c]);
        fputc('\n', of->fp);
    }
    rc = ao_outfile_commit(of, err);
    ao_outfile_destroy(of);
    return rc;
}
