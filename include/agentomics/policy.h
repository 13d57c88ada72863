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
 * Strategy: a cheap strong baseline first (k-mer logistic regression),
 * then the family the data calls for (a CNN when there is enough data and
 * position carries signal; gradient-boosted trees on k-mer and global
 * features otherwise), then the remaining family, then refinements of the
 * best family driven by the last diagnosis (overfitting: regularise and
 * augment; underfitting: more capacity; failure or time limit: a safer,
 * smaller recipe).
 */
#ifndef AGENTOMICS_POLICY_H
#define AGENTOMICS_POLICY_H

#include <jansson.h>

/* The plan step's output for the iteration about to start. */
json_t *ao_policy_plan(const json_t *run, const json_t *history, const json_t *profile);
/* The next recipe (a complete recipe.json) and, in *why, the reasoning:
 * {"family", "basis", "changes": [...], "representation_rationale", "model_rationale"}. */
json_t *ao_policy_next_recipe(const json_t *run, const json_t *history, const json_t *profile, json_t **why);
/* A safe fallback recipe (k-mer logistic regression) for when a proposal
 * fails its smoke run. */
json_t *ao_policy_fallback_recipe(const json_t *run, const json_t *profile);

/* Diagnosis of one run from its metrics.json and analysis:
 * {"diagnosis": "ok"|"overfitting"|"underfitting"|"failed"|"diverged"|"time_limit",
 *  "evidence": {...numbers...}, "suggestions": {"represent": ..., "architect": ..., "code": ...}}. */
json_t *ao_policy_diagnose(const json_t *run, const json_t *metrics, const json_t *analysis);

/* The metric that ranks iterations: run.json "metric", else auroc for
 * binary and f1_macro for multiclass tasks. */
const char *ao_policy_metric(const json_t *run, int n_classes);

#endif
