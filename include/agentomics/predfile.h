/* predfile.h — the prediction file every model writes.
 *
 * A TSV with the header `id  prediction  probability_<class>...` (classes
 * in the dataset's order, and `threshold` for a model with a decision
 * threshold) and one row per sequence: the id, the class with the highest
 * probability (the first on ties) or the thresholded class, and every
 * probability with 9 significant digits. Builtin and script models, train-run and
 * agentomics-predict all write it through here, so the evaluator sees one
 * format.
 */
#ifndef AGENTOMICS_PREDFILE_H
#define AGENTOMICS_PREDFILE_H

#include "agentomics/data.h"
#include "agentomics/error.h"

/* Writes the predictions for s (proba: s->n x info->n_classes, row-major)
 * to path atomically (a temporary name renamed into place when complete);
 * path "-" is stdout. threshold: NaN for the argmax; for a binary model
 * that declares a decision threshold (in (0, 1)), the prediction is the
 * second class exactly when its probability, as written (9 significant
 * digits, so a reader of the file decides the same), is >= threshold, and
 * a last column `threshold` repeats it on every row (17 significant
 * digits: the value read back is the double given) so that the scorer
 * knows to score the prediction column (metrics.h). Returns AO_OK, or
 * < -1 (AO_EIO, AO_EMEM) with err set and nothing left at path. */
int ao_predfile_write(const char *path, const ao_dataset_info *info, const ao_seqset *s, const double *proba, double threshold,
                      ao_err *err) AO_WUR;

#endif
