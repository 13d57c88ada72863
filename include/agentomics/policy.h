/* policy.h — the builtin agent: an expert policy over the builtin
 * learners' search space.
 *
 * It reads the dataset profile (explore), the configuration and budgets
 * (run.json) and every earlier iteration (history.json: recipes, run
 * status, train/validation metrics, diagnoses) and decides the next
 * recipe; after a run it diagnoses the result and decides whether to go
 * on. Everything it decides is plain JSON in the state, with the numbers
 * behind each choice, so a reader (or the LLM agent) can follow it.
 *
 * Strategy: a cheap strong baseline first (k-mer logistic regression);
 * for aligned sequences whose positions carry signal, logistic regression
 * and gradient-boosted trees on positional one-hot features next; then
 * the family the data calls for (a CNN when there is enough data and
 * position carries signal; gradient-boosted trees on k-mer and global
 * features otherwise), then the remaining family, then refinements of the
 * best family driven by the last diagnosis (overfitting: regularise and
 * augment; underfitting: more capacity; failure or time limit: a safer,
 * smaller recipe).
 */
#ifndef AGENTOMICS_POLICY_H
#define AGENTOMICS_POLICY_H

#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/runstate.h"

/* Every function returns AO_OK with its outputs set, or AO_EMEM (out of
 * memory is an error, never a decision). Recipes are complete recipe.json
 * documents (recipe.h); their seed is ao_seed_derive(run->seed,
 * AO_SEED_TRAIN, iteration) for the current iteration of h. */

/* The plan step's output for the current iteration (plan appended it):
 * {"iteration", "goal", "metric", "iterations_budget", "best_so_far", "tried"}. */
int ao_policy_plan(const ao_run_config *run, const ao_history *h, json_t **out, ao_err *err) AO_WUR;
/* The next recipe and, in *why, the reasoning: {"family", "basis",
 * "changes": [...], "metric", "cnn_considered", "evidence", ...}. */
int ao_policy_next_recipe(const ao_run_config *run, const ao_history *h, json_t **recipe, json_t **why, ao_err *err) AO_WUR;
/* A safe fallback recipe (k-mer logistic regression) for when a proposal
 * fails its smoke run. */
int ao_policy_fallback_recipe(const ao_run_config *run, const ao_history *h, json_t **recipe, ao_err *err) AO_WUR;

/* Diagnosis of one run from its metrics.json and analysis:
 * {"diagnosis": "ok"|"overfitting"|"underfitting"|"failed"|"diverged"|"time_limit",
 *  "evidence": {...numbers...}, "suggestions": {"represent": ..., "architect": ..., "code": ...}}. */
int ao_policy_diagnose(const ao_run_config *run, const json_t *metrics, const json_t *analysis, json_t **out, ao_err *err) AO_WUR;

#endif
