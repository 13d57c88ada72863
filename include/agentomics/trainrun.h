/* trainrun.h — the whole of agentomics-train-run as one library call.
 *
 * It runs the current iteration of an agent state on the split in force
 * (the agent's split/{train,valid}.tsv, else the user's train.tsv and
 * valid.tsv of the data directory) through one of two backends:
 *   builtin  the code step wrote workspace/recipe.json: trained in
 *            process (model.h), predicted through the same inference path
 *            as agentomics-predict;
 *   script   the code step left agent-written entries ("entry": "script"):
 *            run in the sandbox (scriptmodel.h), their prediction files
 *            checked.
 * An iteration whose agent steps failed gets a failed run with the reason.
 * Either way the trusted scorer (metrics.h) scores the prediction files.
 *
 * The run directory (created whole, or not at all):
 *   model/                 the trained model (absent when training kept nothing)
 *   predictions.valid.tsv  predictions.train.tsv
 *                          (the selection slice is predicted by the same
 *                          inference path and scored, its predictions not kept)
 *   metrics.json           {"format_version": 1, "status": "ok"|"time_limit"|"diverged"|"failed",
 *                           "message", "model", "train", "valid", "selection" (when the data
 *                           has a selection slice; the shape of "valid"), "data", "wall_seconds",
 *                           "peak_rss_mb", "threads", "time_limit", ...}
 *   train.log              progress lines, the entries' output
 */
#ifndef AGENTOMICS_TRAINRUN_H
#define AGENTOMICS_TRAINRUN_H

#include "agentomics/error.h"

typedef struct ao_trainrun_opts {
    const char *state;      /* the agent state directory */
    const char *data;       /* the agent data directory (prepare-data's agent/) */
    const char *selection;  /* the selection slice's directory; NULL: DATA/../selection when it exists */
    const char *out;        /* the run directory */
    double time_limit;      /* training wall seconds (scripts: also each inference run); <= 0: none */
    long mem_limit_mb;      /* builtin: refuse recipes that need more; scripts: address-space limit; 0: none */
    int threads;
    int gpus;               /* > 0: GPUs bound into a script's training sandbox */
    int force;              /* replace an existing run directory */
} ao_trainrun_opts;

/* Returns AO_OK whenever the run was recorded: a diverged, timed-out or
 * failed training, a crashing script or a bad prediction file is a
 * metrics.json status, not an error. < -1 for errors of the inputs:
 * AO_EDATA (an invalid state, recipe or split file; a state continued on
 * another dataset; no validation split), AO_EIO, AO_EMEM. */
int ao_trainrun(const ao_trainrun_opts *o, ao_err *err) AO_WUR;

#endif
