/* predfile.h — the prediction file every model writes.
 *
 * A TSV with the header `id  prediction  probability_<class>...` (classes
 * in the dataset's order) and one row per sequence: the id, the class with
 * the highest probability (the first on ties) and every probability with
 * 9 significant digits. Builtin and script models, train-run and
 * agentomics-predict all write it through here, so the evaluator sees one
 * format.
 */
#ifndef AGENTOMICS_PREDFILE_H
#define AGENTOMICS_PREDFILE_H

#include "agentomics/data.h"
#include "agentomics/error.h"

/* Writes the predictions for s (proba: s->n x info->n_classes, row-major)
 * to path atomically (a temporary name renamed into place when complete);
 * path "-" is stdout. Returns AO_OK, or < -1 (AO_EIO, AO_EMEM) with err set
 * and nothing left at path. */
int ao_predfile_write(const char *path, const ao_dataset_info *info, const ao_seqset *s, const double *proba, ao_err *err) AO_WUR;

#endif
