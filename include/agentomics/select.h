/* select.h — lineage selection: which of several independent agent
 * lineages is packaged.
 *
 * Input: one final (reflected) state directory per lineage, holding
 *   run.json       "lineage" (integer >= 1), "metric", "data": {"content_hash"}
 *   history.json   "iterations" [...], "best": {iteration, run_id, metric,
 *                  value, split_version} or null
 *   decision.json  {"decision": ..., "reason": ...}
 *
 * Rule: the lineage whose best iteration has the highest validation value
 * (history.json best.value; every metric is higher-is-better); ties go to
 * the lowest lineage number; a best without a finite value (null) does not
 * compete; when no lineage has one, the lowest lineage number is chosen.
 * Lineages are comparable only when they share run.json's metric, the
 * dataset's content hash and (where they have one) best.metric.
 *
 * Output (sorted keys, two-space indent, trailing newline, written
 * atomically; "-" is stdout):
 *   {"format_version": 1, "metric": M, "chosen": L, "chosen_best": BEST or
 *    null, "chosen_state": DIR, "lineages": [{"lineage": L, "iterations": N,
 *    "best": BEST or null, "decision": {...}, "state": DIR}, ...]}
 * with the lineages sorted by number, DIR as given, N the length of
 * history.json's iterations, and M the best iterations' metric (run.json's
 * metric when no lineage has a best).
 */
#ifndef AGENTOMICS_SELECT_H
#define AGENTOMICS_SELECT_H

#include "agentomics/error.h"

#define AO_SELECT_FORMAT_VERSION 1

typedef struct ao_select_opts {
    const char *const *state_dirs;  /* one final state directory per lineage */
    int n_states;
    const char *out;                /* lineages.json, "-" for stdout */
    int force;                      /* replace an existing output file */
} ao_select_opts;

/* Chooses the lineage to package and writes the selection to o->out.
 * Returns AO_OK, or:
 *   AO_EDATA   a state file missing (the directory is not a final state),
 *              not JSON, or lacking a required member of the right type;
 *              two states with the same lineage number; lineages whose
 *              metrics or dataset content hashes differ. The message names
 *              the file: "DIR/history.json: ...".
 *   AO_EIO     a state file exists but cannot be read; the output cannot
 *              be written.
 *   AO_EUSAGE  no state directory or no output; the output exists and
 *              !o->force.
 *   AO_EMEM    out of memory.
 * Nothing is written unless the selection succeeds. */
int ao_select_lineages(const ao_select_opts *o, ao_err *err) AO_WUR;

#endif
