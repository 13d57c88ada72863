/* progress.h — training progress while it runs: one record per epoch,
 * boosting round or solver iteration in the run directory's
 * learning_curve.tsv (for the report's learning curves), and a line on
 * stderr at the default verbosity (quiet with -q) so that a terminal or a
 * workflow log shows a long run advancing.
 *
 * learning_curve.tsv: a header, then one row per record:
 *   unit  step  train_loss  valid_loss  valid_accuracy  elapsed_seconds
 * unit is "epoch", "round" or "iteration"; NA where a learner has no such
 * value (logistic regression has no validation loss). Rows are flushed as
 * they are written.
 *
 * The stderr line: "PROG: epoch 3/60: train_loss 0.41, valid_loss 0.45,
 * valid_accuracy 0.812, 12.3 s elapsed, ETA 40 s (time limit 600 s)",
 * every `every`-th step and the first; the ETA extrapolates the mean step
 * time to the last step and is capped by what the time limit leaves.
 */
#ifndef AGENTOMICS_PROGRESS_H
#define AGENTOMICS_PROGRESS_H

#include <stdio.h>
#include "agentomics/error.h"

typedef struct ao_progress {
    FILE *tsv;            /* learning_curve.tsv (header already written); NULL: none */
    double t0;            /* ao_now() when training started */
    double time_limit;    /* seconds after t0; <= 0: none */
    int echo;             /* 1: the stderr lines */
    int every;            /* rounds and iterations: a stderr line every this many (epochs: each) */
} ao_progress;

/* Writes learning_curve.tsv's header to fp. */
void ao_progress_header(FILE *fp);

/* One record. p may be NULL (nothing happens); total: the planned last
 * step, <= 0 when unknown; NAN for absent values. */
void ao_progress_step(ao_progress *p, const char *unit, int step, int total, double train_loss, double valid_loss, double valid_acc);

/* A progress line on stderr ("PROG: text") at the default verbosity;
 * silent under -q. For the steps of a long process (agent-step's steps,
 * train-run's start). */
void ao_progress_note(const char *fmt, ...) AO_PRINTF(1, 2);

#endif
