/* agent_impl.h — internal interface between the agent's steps (agent.c)
 * and the LLM driver (agent_llm.c). Not installed; the public interface
 * is include/agentomics/agent.h. */
#ifndef AGENTOMICS_AGENT_IMPL_H
#define AGENTOMICS_AGENT_IMPL_H

#include <jansson.h>
#include "agentomics/agent.h"
#include "agentomics/data.h"
#include "agentomics/state.h"

struct agent_llm;

/* Everything a step may need, loaded on demand. */
typedef struct agent_ctx {
    const ao_agent_opts *o;
    ao_state *s;
    ao_dataset_info *info;
    ao_seqset *train, *valid;   /* the current split */
    int user_valid;             /* the user gave a validation set */
    double valid_fraction;      /* > 0: the LLM's choice for the builtin split */
    struct agent_llm *llm;      /* the LLM session (llm mode), opened on first use */
} agent_ctx;

/* The split in force (the agent's in the new state, else the user's). */
int agent_load_split(agent_ctx *c, ao_err *err) AO_WUR;
/* The cached dataset profile of history.json (borrowed), or NULL. */
json_t *agent_profile(agent_ctx *c);
/* The output of step in the current iteration (borrowed), or NULL. */
json_t *agent_current_output(agent_ctx *c, const char *step);
/* Trains a quick version of a builtin recipe on a stratified mini split and
 * checks its predictions: *report {"status": "ok"|"failed", "message", ...}. */
int agent_smoke_recipe(agent_ctx *c, const json_t *recipe, json_t **report, ao_err *err) AO_WUR;
/* Runs the builtin version of a step. */
int agent_builtin_step(agent_ctx *c, const char *step, json_t **out, ao_err *err) AO_WUR;

/* ---- the LLM agent (agent_llm.c) ---- */

/* Whether the current (or, for plan, the next) iteration is driven by the
 * LLM: llm mode, except the builtin baseline iteration 1. */
int agent_llm_drives(agent_ctx *c, const char *step);
/* Runs step through the LLM. AO_OK with *out set, or AO_OK with *out NULL
 * when the step failed in a way that is the agent's (budget, provider,
 * invalid output...): the cause is then recorded in the iteration's
 * "failure" and the remaining steps are skipped. < -1: a real error. */
int agent_llm_step(agent_ctx *c, const char *step, json_t **out, ao_err *err) AO_WUR;
/* The LLM's reflection on the current iteration (its run record already in
 * history): AO_OK with *feedback set, or NULL and *failure = {"kind",
 * "message"} when the LLM could not be used. */
int agent_llm_reflect(agent_ctx *c, const json_t *metrics, json_t **feedback, json_t **failure, ao_err *err) AO_WUR;
/* Adds this process's LLM usage and wall time to usage.json. */
int agent_usage_write(agent_ctx *c, double seconds, ao_err *err) AO_WUR;
void agent_llm_close(agent_ctx *c);

/* run.json's "llm" section of a new run (NULL in builtin mode). */
json_t *agent_llm_run_config(const ao_agent_opts *o);

#endif
