/* state.h — the agent's state directory.
 *
 * Every step reads a state directory and writes a new one; nothing is
 * edited in place, so a workflow engine can cache and retry each step.
 * A new state starts as a hard-linked copy of the old one (cheap even with
 * split TSVs inside) and files are only ever replaced (written under a
 * temporary name and renamed), never modified, so the old state is never
 * touched.
 *
 * Layout (the same for the builtin and the LLM agent):
 *   run.json           configuration: agent, seed, lineage, metric, budgets, data reference
 *   history.json       every iteration: step outputs and durations, run metrics,
 *                      analysis, feedback, decision; the best pointer; the split version
 *   steps/STEP.json    the latest structured output of each step
 *   workspace/         what the agent wrote: recipe.json (builtin) or scripts
 *   split/             train.tsv, valid.tsv, split.json when the agent split the data
 *   transcript.jsonl   every LLM message and tool call (empty for the builtin agent)
 *   usage.json         LLM calls, tokens, cost, wall time
 *   decision.json      written by reflect: {"decision": "continue"|"stop", "reason": ...}
 */
#ifndef AGENTOMICS_STATE_H
#define AGENTOMICS_STATE_H

#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/fileio.h"

/* A state being written: the output directory (temporary until commit). */
typedef struct ao_state {
    ao_outdir *od;
    char *dir;          /* the temporary directory holding the new state */
    json_t *run;        /* run.json */
    json_t *history;    /* history.json */
} ao_state;

/* Starts OUT from IN (hard-linked copy) or empty when in == NULL. */
ao_state *ao_state_begin(const char *in, const char *out, int force, ao_err *err) AO_WUR;
/* Writes run.json and history.json, then renames the state into place. */
int ao_state_commit(ao_state *s, ao_err *err) AO_WUR;
void ao_state_destroy(ao_state *s);

/* A malloc'd path inside the new state (parent directories created). */
char *ao_state_path(ao_state *s, const char *rel, ao_err *err) AO_WUR;
/* Writes JSON atomically at rel inside the state (sorted keys, indented). */
int ao_state_write_json(ao_state *s, const char *rel, const json_t *j, ao_err *err) AO_WUR;
/* Reads a JSON file of an existing state directory (NULL, AO_EIO if absent). */
json_t *ao_state_read_json(const char *dir, const char *rel, ao_err *err) AO_WUR;

/* The current (last) iteration record of history.json, or NULL. */
json_t *ao_state_iteration(ao_state *s);
/* Appends a new iteration record and returns it. */
json_t *ao_state_new_iteration(ao_state *s);
/* Records a step's output in the current iteration and steps/STEP.json. */
int ao_state_record_step(ao_state *s, const char *step, json_t *output /* stolen */, double seconds, ao_err *err) AO_WUR;

/* Breaks the hard links between the new state and the old one below rel
 * (a file or a directory): every linked regular file is replaced by a
 * private copy. Needed before anything writes in place there (a sandboxed
 * command in the workspace, appending to transcript.jsonl); a missing rel
 * is not an error. */
int ao_state_unshare(ao_state *s, const char *rel, ao_err *err) AO_WUR;

/* Copies a file into the new state (replacing what the old state had). */
int ao_state_copy_file(ao_state *s, const char *src, const char *rel, ao_err *err) AO_WUR;

#endif
