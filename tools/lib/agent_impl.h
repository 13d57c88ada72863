/* agent_impl.h — internal interface between the agent's steps (agent.c)
 * and the LLM driver (agent_llm.c): the step table's row type and the
 * LLM hooks the table names. Not installed; the public interface is
 * include/agentomics/agent.h. */
#ifndef AGENTOMICS_AGENT_IMPL_H
#define AGENTOMICS_AGENT_IMPL_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/agent.h"
#include "agentomics/data.h"
#include "agentomics/state.h"

struct agent_llm;

/* Everything a step may need, loaded on demand. */
typedef struct agent_ctx {
    const ao_agent_opts *o;
    ao_state *s;                /* the state being written (typed run and history) */
    ao_dataset_info *info;
    ao_seqset *train, *valid;   /* the split in force, loaded by agent_load_split */
    int user_valid;             /* the user gave a validation set */
    double valid_fraction;      /* > 0: the LLM's choice for the builtin split */
    struct agent_llm *llm;      /* the LLM session (llm mode), opened on first use */
} agent_ctx;

/* ---- the step table (agent.c) ---- */

enum agent_step_flags {
    AGENT_STEP_STARTS_ITERATION = 1,   /* appends an iteration before it runs (plan) */
    AGENT_STEP_ITERATION = 2,          /* one of the steps that make an iteration before train-run ("iteration") */
    AGENT_STEP_NEEDS_RUN = 4,          /* reads a train-run output (--run RUNDIR) */
    AGENT_STEP_AFTER_FAILURE = 8,      /* runs even when an earlier step of the iteration failed */
    AGENT_STEP_LLM = 16                /* the LLM agent drives it in llm mode */
};

/* Builds a step's structured output into *out: AO_OK, or < -1. */
typedef int (*agent_step_fn)(agent_ctx *c, json_t **out, ao_err *err);

/* One agent step. The LLM hooks are optional (NULL: the default):
 *   llm_prefill   before the conversation: may build a base output (explore:
 *                 the trusted profile) in *base, or finish the step itself by
 *                 setting *out (split: a split in force is kept). AO_OK or < -1.
 *   llm_validate  a schema-valid submit: 1 accepted (*out: the step's output),
 *                 0 rejected (msg: why, for the model), < -1 an error.
 *                 Default: accepted as submitted.
 *   llm_post      the step output from the accepted submit (the validator's
 *                 output), the base and every submit attempt. Default: a copy
 *                 of the accepted submit marked "agent": "llm". */
typedef struct agent_step {
    const char *name;
    unsigned flags;            /* enum agent_step_flags */
    agent_step_fn builtin;
    int (*llm_prefill)(agent_ctx *c, json_t **base, json_t **out, ao_err *err);
    int (*llm_validate)(agent_ctx *c, const json_t *submitted, json_t **out, char *msg, size_t msg_size, ao_err *err);
    int (*llm_post)(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err);
} agent_step;

/* The row of step `name`, or NULL. */
const agent_step *agent_step_find(const char *name);
/* Runs the builtin version of a step. */
int agent_builtin_step(agent_ctx *c, const char *step, json_t **out, ao_err *err) AO_WUR;

/* ---- what the steps share (agent.c) ---- */

/* Loads the split in force (the agent's, in the new state, else the
 * user's) into c->train / c->valid (NULL when there is none yet). */
int agent_load_split(agent_ctx *c, ao_err *err) AO_WUR;
/* Makes rows ti / vi of c->train the split in force: writes split/train.tsv,
 * split/valid.tsv and split/split.json (report, stolen into the file, gets
 * "version" and "source"), bumps the history's split version and stamps
 * the current iteration; *version gets the new version. */
int agent_install_split(agent_ctx *c, const int64_t *ti, int64_t nt, const int64_t *vi, int64_t nv, json_t *report, int *version, ao_err *err) AO_WUR;
/* The output of step in the current iteration (borrowed), or NULL. */
json_t *agent_current_output(agent_ctx *c, const char *step);
/* Trains a quick version of a builtin recipe on a stratified mini split and
 * checks its predictions: *report {"status": "ok"|"failed", "message", ...}. */
int agent_smoke_recipe(agent_ctx *c, const json_t *recipe, json_t **report, ao_err *err) AO_WUR;

/* ---- the LLM agent (agent_llm.c) ---- */

/* Whether the LLM drives step st now: llm mode, a step the LLM drives,
 * and not the builtin baseline iteration 1. */
int agent_llm_drives(agent_ctx *c, const agent_step *st);
/* Runs step st through the LLM. AO_OK with *out set, or AO_OK with *out
 * NULL when the step failed in a way that is the agent's (budget,
 * provider, invalid output...): the cause is then recorded in the
 * iteration's "failure" and the remaining steps are skipped. < -1: a
 * real error. */
int agent_llm_step(agent_ctx *c, const agent_step *st, json_t **out, ao_err *err) AO_WUR;
/* The LLM's reflection on the current iteration: AO_OK with *feedback
 * set, or NULL and *failure = {"kind", "message"} when the LLM could not
 * be used. */
int agent_llm_reflect(agent_ctx *c, const json_t *metrics, json_t **feedback, json_t **failure, ao_err *err) AO_WUR;
/* Adds this process's LLM usage and wall time to usage.json. */
int agent_usage_write(agent_ctx *c, double seconds, ao_err *err) AO_WUR;
void agent_llm_close(agent_ctx *c);
/* run.json's LLM settings of a new run, from the options and the
 * environment (AGENTOMICS_MODEL, AGENTOMICS_API_BASE). */
int agent_llm_run_settings(const ao_agent_opts *o, ao_llm_settings *s, ao_err *err) AO_WUR;

/* The table's LLM hooks (see agent_step). */
int agent_llm_prefill_explore(agent_ctx *c, json_t **base, json_t **out, ao_err *err);
int agent_llm_prefill_split(agent_ctx *c, json_t **base, json_t **out, ao_err *err);
int agent_llm_validate_split(agent_ctx *c, const json_t *submitted, json_t **out, char *msg, size_t msg_size, ao_err *err);
int agent_llm_validate_code(agent_ctx *c, const json_t *submitted, json_t **out, char *msg, size_t msg_size, ao_err *err);
int agent_llm_post_plan(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err);
int agent_llm_post_explore(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err);
int agent_llm_post_validated(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err);

#endif
