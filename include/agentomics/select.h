/* select.h — lineage selection: which of several independent agent
 * lineages is packaged.
 *
 * Input: one final (reflected) state directory per lineage, holding
 *   run.json and history.json (read and validated by runstate.h: the
 *                  lineage number, the metric, the dataset's content hash,
 *                  the iterations and the best pointer)
 *   decision.json  {"decision": "continue"|"stop", "reason": ...}
 *
 * Rule: the lineage whose best iteration has the highest ranking value
 * (history.json best.value: the metric on prepare-data's selection slice,
 * which no lineage's agent saw, so lineages are compared on the same rows;
 * else the validation value; every metric is higher-is-better); ties go to
 * the lowest lineage number; a best without a finite value (null) does not
 * compete; when no lineage has one, the lowest lineage number is chosen.
 * Lineages are comparable only when they share run.json's metric and the
 * dataset's content hash.
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
 *   AO_EDATA   a state file that is not JSON or fails its schema (the
 *              message names the file and the JSON path); no decision in
 *              decision.json; two states with the same lineage number;
 *              lineages whose metrics or dataset content hashes differ.
 *   AO_EIO     a state file missing or unreadable; the output cannot be
 *              written.
 *   AO_EUSAGE  no state directory or no output; the output exists and
 *              !o->force.
 *   AO_EMEM    out of memory.
 * Nothing is written unless the selection succeeds. */
int ao_select_lineages(const ao_select_opts *o, ao_err *err) AO_WUR;

#endif
