/* predict.h — the whole of agentomics-predict: a model directory of
 * either kind (a builtin model, model.h, or an agent-written script model,
 * scriptmodel.h), any input format, one prediction file.
 *
 * train-run predicts its splits through here too, so the predictions it
 * scores come from the same path as the user's.
 */
#ifndef AGENTOMICS_PREDICT_H
#define AGENTOMICS_PREDICT_H

#include "agentomics/error.h"

/* Loads model_dir (a builtin model directory or model file, or a script
 * model directory), reads every record of input ('-' = stdin; labels, if
 * any, are ignored), predicts and writes the prediction file (predfile.h)
 * to output ('-' = stdout). A script model's inference entry runs in the
 * sandbox without a time limit; a failed or invalid run is AO_EDATA with
 * its message (its output goes to the log). Returns AO_OK, or < -1 with
 * err set and no output written. */
int ao_predict_file(const char *model_dir, const char *input, const char *output, int threads, ao_err *err) AO_WUR;

#endif
