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
 *   run.json           configuration: agent, seeds, lineage, metric, budgets, data
 *                      reference (schemas/run.schema.json; runstate.h)
 *   history.json       every iteration: step outputs and durations, run metrics,
 *                      analysis, feedback, decision; the best pointer; the split
 *                      version (schemas/history.schema.json; runstate.h)
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
#include "agentomics/runstate.h"

/* A state being written: the output directory (temporary until commit)
 * and the typed run.json and history.json it will hold. */
typedef struct ao_state {
    ao_outdir *od;
    char *dir;             /* the temporary directory holding the new state */
    ao_run_config run;     /* run.json (a new run: filled in by the caller) */
    ao_history hist;       /* history.json */
} ao_state;

/* Starts OUT from IN (a hard-linked copy; run.json and history.json read
 * and validated, see runstate.h) or empty when in == NULL. When both in
 * and data are given, data must be the dataset the run started on
 * (AO_EDATA otherwise). */
ao_state *ao_state_begin(const char *in, const char *data, const char *out, int force, ao_err *err) AO_WUR;
/* Writes run.json and history.json, then renames the state into place. */
int ao_state_commit(ao_state *s, ao_err *err) AO_WUR;
void ao_state_destroy(ao_state *s);   /* NULL-safe; an uncommitted state is removed */

/* A malloc'd path inside the new state (parent directories created). */
char *ao_state_path(ao_state *s, const char *rel, ao_err *err) AO_WUR;
/* Writes JSON atomically at rel inside the state (sorted keys, indented). */
int ao_state_write_json(ao_state *s, const char *rel, const json_t *j, ao_err *err) AO_WUR;
/* Reads a JSON file of an existing directory (NULL with AO_EIO if absent,
 * AO_EDATA "FILE:LINE: invalid JSON" if malformed). */
json_t *ao_state_read_json(const char *dir, const char *rel, ao_err *err) AO_WUR;

/* Records a step's output (stolen) in the current iteration and in
 * steps/STEP.json. AO_EINTERNAL when there is no iteration. */
int ao_state_record_step(ao_state *s, const char *step, json_t *output, double seconds, ao_err *err) AO_WUR;

/* Breaks the hard links between the new state and the old one below rel
 * (a file or a directory): every linked regular file is replaced by a
 * private copy. Needed before anything writes in place there (a sandboxed
 * command in the workspace, appending to transcript.jsonl); a missing rel
 * is not an error. */
int ao_state_unshare(ao_state *s, const char *rel, ao_err *err) AO_WUR;

/* Copies a file into the new state (replacing what the old state had). */
int ao_state_copy_file(ao_state *s, const char *src, const char *rel, ao_err *err) AO_WUR;

/* The split files in force for a state: DIR/split/{train,valid}.tsv when
 * the agent split the data, else DATA/train.tsv and DATA/valid.tsv (the
 * user's; *valid is NULL when the user gave none). Malloc'd paths. */
int ao_state_split_paths(const char *state_dir, const char *data_dir, char **train, char **valid, ao_err *err) AO_WUR;

#endif
