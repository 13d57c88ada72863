/* agent.c — the agent's steps and its reflection over a state directory
 * (agent.h): the step table, the builtin agent's version of every step,
 * the loop of agentomics-agent-step and the whole of agentomics-reflect.
 * The LLM agent's hooks live in agent_llm.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/agent.h"
#include "agentomics/analysis.h"
#include "agentomics/data.h"
#include "agentomics/fileio.h"
#include "agentomics/llm.h"
#include "agentomics/log.h"
#include "agentomics/model.h"
#include "agentomics/policy.h"
#include "agentomics/progress.h"
#include "agentomics/profile.h"
#include "agentomics/recipe.h"
#include "agentomics/rng.h"
#include "agentomics/split.h"
#include "agentomics/state.h"
#include "agent_impl.h"

void ao_agent_opts_init(ao_agent_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->iterations = 5;
    o->train_time_limit = 600;
    o->plateau = 3;
    o->target = NAN;
    o->threads = 1;
    o->baseline = -1;
}

int ao_agent_llm_option(ao_agent_opts *o, int code, const char *arg, char *msg, size_t n)
{
    char *end = NULL;
    double d = 0;
    long v = 0;
    int k = code - AO_AGENT_LLM_OPT_BASE;
    static const char *const names[] = {"--provider", "--model", "--api-base", "--price-file", "--max-llm-calls", "--max-cost", "--baseline",
                                        "--max-turns", "--submit-retries", "--llm-timeout", "--bash-timeout", "--sandbox-mem",
                                        "--llm-protocol", "--max-tokens", "--context-tokens", "--step-timeout",
                                        "--workspace-quota", "--workspace-files", "--sandbox-tmp"};
    if (k < 0 || k > 18) { snprintf(msg, n, "invalid option"); return -1; }
    if (k >= 4 && k != 6 && k != 12) {
        errno = 0;
        d = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(d) || d <= 0) { snprintf(msg, n, "%s expects a number > 0, got '%s'", names[k], arg); return -1; }
        v = (long)d;
        if ((k == 4 || k == 7 || k == 8 || k == 13 || k == 14 || k == 17) && ((double)v != d || v > (k == 14 ? 100000000 : 1000000))) {
            snprintf(msg, n, "%s expects an integer >= 1, got '%s'", names[k], arg);
            return -1;
        }
        if (k == 14 && v < 1024) { snprintf(msg, n, "--context-tokens expects at least 1024, got '%s'", arg); return -1; }
    }
    switch (k) {
    case 0:
        if (!ao_llm_preset_find(arg)) {
            char names[256];
            ao_llm_preset_names(names, sizeof names);
            snprintf(msg, n, "--provider expects one of %s, got '%s'", names, arg);
            return -1;
        }
        o->provider = arg;
        break;
    case 1: o->model = arg; break;
    case 2: o->api_base = arg; break;
    case 3: o->price_file = arg; break;
    case 4: o->max_llm_calls = (int)v; break;
    case 5: o->max_cost = d; break;
    case 6:
        if (!strcmp(arg, "builtin")) o->baseline = 1;
        else if (!strcmp(arg, "none")) o->baseline = 0;
        else { snprintf(msg, n, "--baseline expects builtin or none, got '%s'", arg); return -1; }
        break;
    case 7: o->max_turns = (int)v; break;
    case 8: o->submit_retries = (int)v; break;
    case 9: o->llm_timeout = d; break;
    case 10: o->bash_timeout = d; break;
    case 11: o->mem_limit_mb = d; break;
    case 12:
        if (strcmp(arg, "tools") && strcmp(arg, "json") && strcmp(arg, "auto")) {
            snprintf(msg, n, "--llm-protocol expects tools, json or auto, got '%s'", arg);
            return -1;
        }
        o->protocol = arg;
        break;
    case 13: o->max_tokens = (int)v; break;
    case 14: o->context_tokens = v; break;
    case 15: o->step_timeout = d; break;
    case 16: o->workspace_mb = d; break;
    case 17: o->workspace_files = v; break;
    case 18: o->sandbox_tmp_mb = d; break;
    }
    return 0;
}

void ao_agent_llm_usage(FILE *fp)
{
    fputs(
"LLM agent (--agent llm; stored in run.json by the first call, later calls may override):\n"
"  --provider NAME        openai, openrouter, ollama, vllm, llamacpp or custom [openai]\n"
"  --model NAME           model name [$AGENTOMICS_MODEL]\n"
"  --api-base URL         base URL of the OpenAI-compatible API [$AGENTOMICS_API_BASE,\n"
"                         else the provider's]; the key is read from AGENTOMICS_API_KEY,\n"
"                         OPENAI_API_KEY or OPENROUTER_API_KEY, never from an option\n"
"  --price-file FILE      JSON prices, USD per 1M tokens: {\"MODEL\": {\"prompt\": P,\n"
"                         \"completion\": C, \"cached_prompt\": K}}\n"
"  --max-llm-calls N      LLM calls allowed for the whole run [no limit]\n"
"  --max-cost USD         spend allowed for the whole run [no limit]\n"
"  --baseline builtin|none  iteration 1 by the builtin agent, or by the LLM [builtin]\n"
"  --max-turns N          model replies per step [40]\n"
"  --submit-retries N     rejected submits tolerated per step [3]\n"
"  --llm-timeout S        seconds per LLM request [300]\n"
"  --bash-timeout S       seconds per sandboxed command [120]\n"
"  --sandbox-mem MB       address-space limit of sandboxed commands [8192]\n"
"  --llm-protocol P       tools (native tool calls), json (one schema-constrained JSON\n"
"                         action per reply) or auto (tools; a call written as JSON text\n"
"                         is taken, and json after two replies without one) [the\n"
"                         provider's: tools for openai and openrouter, json for ollama,\n"
"                         auto for vllm, llamacpp and custom]\n"
"  --max-tokens N         completion tokens per reply, always sent [4096]\n"
"  --context-tokens N     the model's context size [asked from llama.cpp and vLLM\n"
"                         servers, else 32768]; every request is fitted to it\n"
"  --step-timeout S       wall seconds of one LLM step: checked before every request and\n"
"                         tool call, and a bash call gets at most what is left; past it\n"
"                         the step fails (kind step_timeout) [none]. Rate limits (429)\n"
"                         are waited out until it or the end of the run's time budget,\n"
"                         else 600 s a request (then kind rate_limit)\n"
"  --workspace-quota MB   what /workspace may hold, checked after every command and\n"
"                         file write; over it the step fails (kind workspace_quota) [1024]\n"
"  --workspace-files N    entries /workspace may hold (files, directories) [20000]\n"
"  --sandbox-tmp MB       size of the sandbox's private /tmp [1024]\n", fp);
}

static void ctx_free(agent_ctx *c)
{
    agent_llm_close(c);
    ao_dataset_info_destroy(c->info);
    ao_seqset_destroy(c->train);
    ao_seqset_destroy(c->valid);
}

/* ---- what the steps share ---------------------------------------------------- */

int agent_load_split(agent_ctx *c, ao_err *err)
{
    char *tr = NULL, *va = NULL, *uv = NULL;
    int rc = AO_OK;
    if (c->train) return AO_OK;
    if (!c->info && !(c->info = ao_dataset_info_load(c->o->data, err))) return err->code;
    if ((rc = ao_state_split_paths(c->s->dir, c->o->data, &tr, &va, err)) < 0) return rc;
    if (!(uv = ao_path_join(c->o->data, "valid.tsv"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    c->user_valid = ao_file_exists(uv);
    if (!(c->train = ao_seqset_read(tr, c->info, 1, c->o->threads, err))) rc = err->code;
    else if (va && !(c->valid = ao_seqset_read(va, c->info, 1, c->o->threads, err))) rc = err->code;
DONE:
    free(tr); free(va); free(uv);
    return rc;
}

static void drop_split(agent_ctx *c)
{
    ao_seqset_destroy(c->train);
    ao_seqset_destroy(c->valid);
    c->train = c->valid = NULL;
}

int agent_install_split(agent_ctx *c, const int64_t *ti, int64_t nt, const int64_t *vi, int64_t nv, json_t *report, int *version, ao_err *err)
{
    ao_history *h = &c->s->hist;
    char *pt = NULL, *pv = NULL;
    int rc, v = h->split_version + 1;
    if (!(pt = ao_state_path(c->s, "split/train.tsv", err)) || !(pv = ao_state_path(c->s, "split/valid.tsv", err))) { rc = err->code; goto DONE; }
    if ((rc = ao_split_write(c->train, ti, nt, c->info, pt, err)) < 0 || (rc = ao_split_write(c->train, vi, nv, c->info, pv, err)) < 0) goto DONE;
    if (json_object_set_new(report, "version", json_integer(v)) != 0 || json_object_set_new(report, "source", json_string("agent")) != 0) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if ((rc = ao_state_write_json(c->s, "split/split.json", report, err)) < 0) goto DONE;
    h->split_version = v;
    snprintf(h->split_source, sizeof h->split_source, "agent");
    ao_history_current(h)->split_version = v;
    *version = v;
    /* later steps of this call read the new split */
    drop_split(c);
DONE:
    free(pt);
    free(pv);
    return rc;
}

static uint64_t iteration_seed(const agent_ctx *c, enum ao_seed_purpose purpose)
{
    const ao_iteration *it = ao_history_current(&c->s->hist);
    return ao_seed_derive(c->s->run.seed, purpose, (uint64_t)(it ? it->number : 0));
}

/* ---- the builtin steps ---------------------------------------------------------- */

static int step_plan(agent_ctx *c, json_t **out, ao_err *err)
{
    return ao_policy_plan(&c->s->run, &c->s->hist, out, err);
}

static int step_explore(agent_ctx *c, json_t **out, ao_err *err)
{
    ao_history *h = &c->s->hist;
    json_t *p;
    int rc;
    if (h->profile) {   /* the data do not change within a run: profile once */
        *out = json_pack("{s:b,s:O}", "cached", 1, "profile", h->profile);
        return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
    }
    if ((rc = agent_load_split(c, err)) < 0) return rc;
    if (!(p = ao_profile_compute(c->train, c->valid, c->info, c->s->run.seed, c->o->threads, err))) return err->code ? err->code : AO_EINTERNAL;
    h->profile = json_incref(p);
    *out = json_pack("{s:b,s:o}", "cached", 0, "profile", p);
    return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

static double choose_valid_fraction(const agent_ctx *c, int64_t n)
{
    if (c->valid_fraction > 0) return c->valid_fraction;
    if (c->s->run.valid_fraction > 0) return c->s->run.valid_fraction;
    return n < 5000 ? 0.2 : n < 50000 ? 0.15 : 0.1;
}

static int step_split(agent_ctx *c, json_t **out, ao_err *err)
{
    ao_history *h = &c->s->hist;
    ao_iteration *it = ao_history_current(h);
    int64_t *ti = NULL, *vi = NULL, nt = 0, nv = 0;
    json_t *report = NULL;
    int rc, version = 0;
    if ((rc = agent_load_split(c, err)) < 0) return rc;
    if (c->user_valid || (h->split_version && c->valid)) {
        /* the split in force is kept: iterations stay comparable */
        if (!h->split_version) { h->split_version = 1; snprintf(h->split_source, sizeof h->split_source, "user"); }
        it->split_version = h->split_version;
        *out = json_pack("{s:b,s:s,s:i,s:s,s:I,s:I}", "skipped", 1, "source", h->split_source, "version", h->split_version,
                         "reason", c->user_valid ? "the user supplied a validation set" : "the current split is kept",
                         "n_train", (json_int_t)c->train->n, "n_valid", (json_int_t)c->valid->n);
        return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
    }
    if ((rc = ao_split_stratified(c->train, choose_valid_fraction(c, c->train->n), ao_seed_derive(c->s->run.seed, AO_SEED_SPLIT, (uint64_t)h->split_version + 1),
                                  &ti, &nt, &vi, &nv, &report, err)) < 0) goto DONE;
    if (ao_split_report_name_classes(report, c->info) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = agent_install_split(c, ti, nt, vi, nv, report, &version, err)) < 0) goto DONE;
    *out = json_pack("{s:b,s:s,s:i,s:O}", "skipped", 0, "source", "agent", "version", version, "report", report);
    if (!*out) rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    json_decref(report);
    free(ti);
    free(vi);
    return rc;
}

json_t *agent_current_output(agent_ctx *c, const char *step)
{
    return ao_iteration_output(ao_history_current(&c->s->hist), step);
}

/* The proposal of this iteration: computed by represent, reused by architect and code. */
static int proposal(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *rep = agent_current_output(c, "represent"), *why = NULL, *r = NULL;
    int rc;
    if (rep && json_object_get(rep, "proposal")) { *out = json_incref(json_object_get(rep, "proposal")); return AO_OK; }
    if ((rc = ao_policy_next_recipe(&c->s->run, &c->s->hist, &r, &why, err)) < 0) return rc;
    *out = json_pack("{s:o,s:o}", "recipe", r, "why", why);
    return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

static int step_represent(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = NULL;
    int rc;
    if ((rc = proposal(c, &p, err)) < 0) return rc;
    *out = json_pack("{s:O,s:O,s:o}", "representation", json_object_get(json_object_get(p, "recipe"), "representation"),
                     "rationale", json_object_get(p, "why"), "proposal", p);
    return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

static int step_architect(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = NULL;
    int rc;
    if ((rc = proposal(c, &p, err)) < 0) return rc;
    *out = json_pack("{s:O,s:O}", "model", json_object_get(json_object_get(p, "recipe"), "model"), "rationale", json_object_get(p, "why"));
    json_decref(p);
    return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

/* Trains the recipe on a stratified mini split and checks its predictions. */
int agent_smoke_recipe(agent_ctx *c, const json_t *recipe_json, json_t **report, ao_err *err)
{
    ao_recipe r;
    ao_seqset *mt = NULL, *mv = NULL;
    ao_model *m = NULL;
    ao_train_report rep;
    ao_err e2;
    int64_t *ti = NULL, *vi = NULL, nt = 0, nv = 0, i;
    double *proba = NULL, t0 = ao_now(), epoch_estimate = 0;
    uint64_t seed = iteration_seed(c, AO_SEED_SMOKE);
    long train_mem = (long)c->s->run.budgets.train_mem_limit;
    int rc, ok = 0, k;
    const char *problem = NULL;
    char msg[AO_ERRMSG_MAX + 64] = "";
    ao_err_init(&e2);
    memset(&r, 0, sizeof r);
    memset(&rep, 0, sizeof rep);
    if (ao_recipe_parse(recipe_json, "recipe.json", &r, &e2) < 0) { snprintf(msg, sizeof msg, "%s", e2.msg); goto REPORT; }
    /* train-run's memory limit is checked against the whole split, as
     * train-run will: the mini split would pass what the full run must
     * refuse (and the workflow would lose the lineage to that refusal) */
    if (train_mem > 0 && ao_model_check_memory(&r, c->info, c->train, c->valid, c->o->threads, train_mem, &e2) < 0) {
        if (e2.code != AO_EDATA) { rc = ao_err_set(err, e2.code, "%s", e2.msg); goto DONE; }
        snprintf(msg, sizeof msg, "on the %lld training rows: %.900s", (long long)c->train->n, e2.msg);
        goto REPORT;
    }
    /* a quick version of the same recipe */
    ao_recipe_shrink(&r);
    if ((rc = ao_split_mini(c->train, 100, seed, &ti, &nt)) < 0 || (rc = ao_split_mini(c->valid, 100, seed, &vi, &nv)) < 0) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if (!(mt = ao_seqset_subset(c->train, ti, nt, err)) || !(mv = ao_seqset_subset(c->valid, vi, nv, err))) { rc = err->code; goto DONE; }
    {
        /* bounded in time and, by the learner's own estimate before it
         * allocates, in memory (the sandbox's address-space limit: a
         * recipe whose network alone needs more is no candidate) */
        ao_train_opts to = {c->o->threads, 120, c->o->mem_limit_mb > 0 ? (long)c->o->mem_limit_mb : 0, NULL, NULL};
        if (ao_model_train(&r, c->info, mt, mv, &to, &m, &rep, &e2) < 0) { snprintf(msg, sizeof msg, "%s", e2.msg); goto REPORT; }
    }
    if (!m) { snprintf(msg, sizeof msg, "training produced no model: %s", rep.message); goto REPORT; }
    if (!(proba = malloc(sizeof *proba * (size_t)(mv->n * c->info->n_classes)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (ao_model_predict(m, mv, c->o->threads, proba, &e2) < 0) { snprintf(msg, sizeof msg, "prediction failed: %s", e2.msg); goto REPORT; }
    for (i = 0; i < mv->n && !problem; i++) {
        double sum = 0;
        for (k = 0; k < c->info->n_classes; k++) {
            double p = proba[i * c->info->n_classes + k];
            if (!isfinite(p) || p < 0 || p > 1) problem = "a probability outside [0, 1]";
            sum += p;
        }
        if (fabs(sum - 1) > 1e-3) problem = "probabilities that do not sum to 1";
    }
    /* The cost of the full run, scaled from the mini split: seconds per
     * epoch (round, solver iteration) per training row. One epoch on the
     * whole training split that would take more than twice train-run's
     * time limit cannot produce a model in time (the factor absorbs the
     * mini split's fixed overheads, which make the estimate err high). */
    if (rep.epochs > 0 && nt > 0) epoch_estimate = rep.seconds / rep.epochs * (double)c->train->n / (double)nt;
    if (problem) snprintf(msg, sizeof msg, "predictions have %s", problem);
    else if (c->s->run.budgets.train_time_limit > 0 && epoch_estimate > 2 * c->s->run.budgets.train_time_limit)
        snprintf(msg, sizeof msg, "one epoch (or round) of this recipe on the %lld training rows would take about %.0f s "
                 "(scaled from the mini split), more than twice the training time limit of %.0f s",
                 (long long)c->train->n, epoch_estimate, c->s->run.budgets.train_time_limit);
    else ok = 1;
REPORT:
    *report = json_pack("{s:s,s:s,s:I,s:I,s:f}", "status", ok ? "ok" : "failed", "message", ok ? "trained and predicted on the mini split" : msg,
                        "n_train", (json_int_t)nt, "n_valid", (json_int_t)nv, "seconds", ao_now() - t0);
    if (*report && epoch_estimate > 0) json_object_set_new(*report, "estimated_epoch_seconds", json_real(epoch_estimate));
    rc = *report ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    free(proba);
    free(ti);
    free(vi);
    ao_model_destroy(m);
    ao_seqset_destroy(mt);
    ao_seqset_destroy(mv);
    ao_recipe_free(&r);
    return rc;
}

static int smoke_ok(const json_t *smoke) { return !strcmp(json_string_value(json_object_get(smoke, "status")), "ok"); }

static int step_code(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = NULL, *recipe = NULL, *smoke = NULL, *attempts = json_array();
    int rc;
    if (!attempts) return ao_err_set(err, AO_EMEM, "out of memory");
    if ((rc = agent_load_split(c, err)) < 0) goto DONE;
    if (!c->valid) { rc = ao_err_set(err, AO_EDATA, "no validation split: run the split step first"); goto DONE; }
    if ((rc = proposal(c, &p, err)) < 0) goto DONE;
    recipe = json_incref(json_object_get(p, "recipe"));
    /* the architect step's model and the represent step's representation are what is coded */
    if (agent_current_output(c, "architect")) json_object_set(recipe, "model", json_object_get(agent_current_output(c, "architect"), "model"));
    if ((rc = agent_smoke_recipe(c, recipe, &smoke, err)) < 0) goto DONE;
    json_array_append_new(attempts, json_pack("{s:O,s:O}", "recipe", recipe, "smoke", smoke));
    if (!smoke_ok(smoke)) {
        ao_warn("the proposed recipe failed its smoke run (%s); falling back to the baseline", json_string_value(json_object_get(smoke, "message")));
        json_decref(recipe);
        json_decref(smoke);
        recipe = smoke = NULL;
        if ((rc = ao_policy_fallback_recipe(&c->s->run, &c->s->hist, &recipe, err)) < 0) goto DONE;
        if ((rc = agent_smoke_recipe(c, recipe, &smoke, err)) < 0) goto DONE;
        json_array_append_new(attempts, json_pack("{s:O,s:O}", "recipe", recipe, "smoke", smoke));
        if (!smoke_ok(smoke)) {
            rc = ao_err_set(err, AO_EDATA, "even the fallback recipe failed its smoke run: %s", json_string_value(json_object_get(smoke, "message")));
            goto DONE;
        }
    }
    if ((rc = ao_state_write_json(c->s, "workspace/recipe.json", recipe, err)) < 0) goto DONE;
    *out = json_pack("{s:s,s:s,s:O,s:O,s:O}", "entry", "builtin", "recipe_path", "workspace/recipe.json", "recipe", recipe, "smoke", smoke, "attempts", attempts);
    if (!*out) rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    json_decref(p);
    json_decref(recipe);
    json_decref(smoke);
    json_decref(attempts);
    return rc;
}

static int step_analyze(agent_ctx *c, json_t **out, ao_err *err)
{
    char *pv = NULL, *pt = NULL;
    json_t *metrics = NULL, *an = NULL;
    const char *status;
    int rc = AO_OK;
    if (!(pv = ao_path_join(c->o->run_dir, "predictions.valid.tsv")) || !(pt = ao_path_join(c->o->run_dir, "predictions.train.tsv"))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if (!(metrics = ao_state_read_json(c->o->run_dir, "metrics.json", err))) { rc = err->code; goto DONE; }
    status = json_string_value(json_object_get(metrics, "status"));
    if (!ao_file_exists(pv)) {
        *out = json_pack("{s:s,s:O*}", "run_status", status ? status : "failed", "message", json_object_get(metrics, "message"));
        if (!*out) rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if ((rc = agent_load_split(c, err)) < 0) goto DONE;
    if (!(an = ao_analysis_compute(c->valid, c->info, pv, ao_file_exists(pt) ? c->train : NULL, ao_file_exists(pt) ? pt : NULL, err))) {
        rc = err->code ? err->code : AO_EINTERNAL;
        goto DONE;
    }
    json_object_set_new(an, "run_status", json_string(status ? status : "failed"));
    *out = an;
DONE:
    json_decref(metrics);
    free(pv);
    free(pt);
    return rc;
}

/* ---- the step table ----------------------------------------------------------- */

/* One row per step, in the order of an iteration. To add a step: a row
 * here, its builtin function, prompts/STEP.md, schemas/STEP.schema.json
 * and schemas/submit-STEP.schema.json (and LLM hooks in agent_llm.c when
 * the defaults do not fit). */
static const agent_step step_table[] = {
    {"plan", AGENT_STEP_STARTS_ITERATION | AGENT_STEP_ITERATION | AGENT_STEP_LLM, step_plan, NULL, NULL, agent_llm_post_plan},
    {"explore", AGENT_STEP_ITERATION | AGENT_STEP_LLM, step_explore, agent_llm_prefill_explore, NULL, agent_llm_post_explore},
    {"split", AGENT_STEP_ITERATION | AGENT_STEP_LLM, step_split, agent_llm_prefill_split, agent_llm_validate_split, agent_llm_post_validated},
    {"represent", AGENT_STEP_ITERATION | AGENT_STEP_LLM, step_represent, NULL, NULL, NULL},
    {"architect", AGENT_STEP_ITERATION | AGENT_STEP_LLM, step_architect, NULL, NULL, NULL},
    {"code", AGENT_STEP_ITERATION | AGENT_STEP_LLM, step_code, NULL, agent_llm_validate_code, agent_llm_post_validated},
    {"analyze", AGENT_STEP_NEEDS_RUN | AGENT_STEP_AFTER_FAILURE, step_analyze, NULL, NULL, NULL},
};
#define N_STEPS ((int)(sizeof step_table / sizeof step_table[0]))

const agent_step *agent_step_find(const char *name)
{
    int i;
    for (i = 0; i < N_STEPS; i++) if (!strcmp(step_table[i].name, name)) return &step_table[i];
    return NULL;
}

int ao_agent_step_known(const char *name) { return agent_step_find(name) != NULL; }

void ao_agent_step_names(char *buf, size_t n)
{
    size_t len = 0;
    int i;
    if (n) buf[0] = '\0';
    for (i = 0; i < N_STEPS && len < n; i++) len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", step_table[i].name);
}

int ao_agent_parse_steps(char *list, ao_agent_opts *o, ao_err *err)
{
    char *save = NULL, *t;
    o->n_steps = 0;
    for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int i, group = !strcmp(t, "iteration");
        if (!group && !agent_step_find(t)) {
            char names[256];
            ao_agent_step_names(names, sizeof names);
            return ao_err_set(err, AO_EUSAGE, "unknown step '%s' (the steps: %s; 'iteration' for every step up to analyze)", t, names);
        }
        for (i = 0; i < N_STEPS; i++) {
            if (group ? !(step_table[i].flags & AGENT_STEP_ITERATION) : strcmp(step_table[i].name, t) != 0) continue;
            if (o->n_steps == AO_AGENT_MAX_STEPS) return ao_err_set(err, AO_EUSAGE, "more than %d steps", AO_AGENT_MAX_STEPS);
            o->steps[o->n_steps++] = step_table[i].name;
        }
    }
    return o->n_steps ? AO_OK : ao_err_set(err, AO_EUSAGE, "no step given");
}

int agent_builtin_step(agent_ctx *c, const char *step, json_t **out, ao_err *err)
{
    const agent_step *st = agent_step_find(step);
    if (!st) return ao_err_set(err, AO_EINTERNAL, "no step '%s'", step);
    return st->builtin(c, out, err);
}

/* ---- agentomics-agent-step ------------------------------------------------------ */

/* run.json of a new run: the options, resolved against the dataset. */
static int new_run(agent_ctx *c, ao_err *err)
{
    const ao_agent_opts *o = c->o;
    ao_run_config *rc = &c->s->run;
    json_t *ds = ao_state_read_json(o->data, "dataset.json", err);
    const char *hash;
    int ret = AO_OK;
    if (!ds) return err->code;
    hash = json_string_value(json_object_get(ds, "content_hash"));
    memset(rc, 0, sizeof *rc);
    rc->agent = o->agent;
    rc->base_seed = o->seed;
    rc->lineage = o->lineage;
    rc->seed = ao_seed_derive(o->seed, AO_SEED_LINEAGE, (uint64_t)o->lineage);
    rc->n_classes = (int)json_array_size(json_object_get(ds, "classes"));
    if (rc->n_classes < 2 || !hash) { ret = ao_err_set(err, AO_EDATA, "%s/dataset.json: no class list or content hash (not written by agentomics-prepare-data?)", o->data); goto DONE; }
    snprintf(rc->metric, sizeof rc->metric, "%s", ao_metric_resolve(o->metric, rc->n_classes));
    if (!(rc->data_dir = strdup(o->data)) || !(rc->content_hash = strdup(hash))) { ret = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    rc->budgets.iterations = o->iterations;
    rc->budgets.wall_seconds = o->time_budget > 0 ? o->time_budget : 0;
    rc->budgets.train_time_limit = o->train_time_limit > 0 ? o->train_time_limit : 0;
    rc->budgets.train_mem_limit = o->train_mem_limit > 0 ? o->train_mem_limit : 0;
    rc->budgets.plateau = o->plateau;
    rc->budgets.target = o->target;
    rc->valid_fraction = o->valid_fraction;
    if (o->agent == AO_AGENT_LLM) {
        rc->baseline = o->baseline != 0;
        rc->has_llm = 1;
        if ((ret = agent_llm_run_settings(o, &rc->llm, err)) < 0) goto DONE;
    }
DONE:
    json_decref(ds);
    return ret;
}

/* The budgets given with a continued state replace run.json's: a run may
 * be extended (or cut short) after it started, e.g. a workflow re-run
 * with a larger --iterations. Only what was given changes. */
static void update_budgets(const ao_agent_opts *o, ao_run_config *rc)
{
    if (o->budgets_given & AO_BUDGET_ITERATIONS) rc->budgets.iterations = o->iterations;
    if (o->budgets_given & AO_BUDGET_TIME) rc->budgets.wall_seconds = o->time_budget > 0 ? o->time_budget : 0;
}

/* plan: a new iteration, once the last one is reflected on. */
static int start_iteration(agent_ctx *c, ao_err *err)
{
    ao_history *h = &c->s->hist;
    const ao_iteration *cur = ao_history_current(h);
    if (cur && !cur->has_run)
        return ao_err_set(err, AO_EUSAGE, "iteration %d has not been reflected on: run train-run and reflect before the next plan", cur->number);
    if (!ao_history_new_iteration(h)) return ao_err_set(err, AO_EMEM, "out of memory");
    /* a stopped run that is continued is no longer stopped */
    free(h->stop_reason);
    h->stop_reason = NULL;
    h->stop_iteration = 0;
    return AO_OK;
}

int ao_agent_run_steps(const ao_agent_opts *o, ao_err *err)
{
    agent_ctx c;
    int i, rc = AO_OK;
    double t0 = ao_now();
    memset(&c, 0, sizeof c);
    c.o = o;
    if (!(c.s = ao_state_begin(o->state_in, o->data, o->out, o->force, err))) return err->code;
    if (!o->state_in && (rc = new_run(&c, err)) < 0) goto DONE;
    if (o->state_in) update_budgets(o, &c.s->run);
    for (i = 0; i < o->n_steps; i++) {
        const agent_step *st = agent_step_find(o->steps[i]);
        const ao_iteration *it;
        json_t *out = NULL;
        double ts = ao_now();
        if (!st) { rc = ao_err_set(err, AO_EUSAGE, "unknown step '%s'", o->steps[i]); goto DONE; }
        if ((st->flags & AGENT_STEP_NEEDS_RUN) && !o->run_dir) { rc = ao_err_set(err, AO_EUSAGE, "the %s step needs --run RUNDIR", st->name); goto DONE; }
        if ((st->flags & AGENT_STEP_STARTS_ITERATION) && (rc = start_iteration(&c, err)) < 0) goto DONE;
        if (!(it = ao_history_current(&c.s->hist))) { rc = ao_err_set(err, AO_EUSAGE, "step '%s' before any plan step: an iteration starts with plan", st->name); goto DONE; }
        if (it->failure && !(st->flags & (AGENT_STEP_AFTER_FAILURE | AGENT_STEP_STARTS_ITERATION))) {
            ao_warn("step %s skipped: the iteration failed at step %s", st->name, json_string_value(json_object_get(it->failure, "step")));
            continue;
        }
        ao_progress_note("%s%.0d%siteration %d: step %s (%s)", c.s->run.lineage > 0 ? "lineage " : "", c.s->run.lineage,
                         c.s->run.lineage > 0 ? ", " : "", it->number, st->name,
                         agent_llm_drives(&c, st) ? "LLM" : "builtin");
        if (agent_llm_drives(&c, st)) rc = agent_llm_step(&c, st, &out, err);
        else rc = st->builtin(&c, &out, err);
        if (rc < 0) goto DONE;
        if (!out) continue;   /* an LLM step failed: recorded in the iteration */
        if ((rc = ao_state_record_step(c.s, st->name, out, ao_now() - ts, err)) < 0) goto DONE;
        ao_info("step %s done in %.2f s", st->name, ao_now() - ts);
    }
    if ((rc = agent_usage_write(&c, ao_now() - t0, err)) < 0) goto DONE;
    rc = ao_state_commit(c.s, err);
DONE:
    ao_state_destroy(c.s);
    ctx_free(&c);
    return rc;
}

/* ---- agentomics-reflect -------------------------------------------------------- */

/* Stop reasons of the LLM agent, per cause (the README's table): its
 * budget is used up, the provider refused the credentials, or the same
 * step failed in two iterations in a row; NULL otherwise (a provider
 * failure, an invalid output or a failed LLM reflection: the next
 * iteration tries again). */
static const char *llm_stop_reason(const ao_history *h, const ao_iteration *it, const json_t *reflect_failure)
{
    const json_t *f[2] = {it->failure, reflect_failure};
    const ao_iteration *prev = it->number > 1 ? ao_history_iteration(h, it->number - 1) : NULL;
    const char *step = json_string_value(json_object_get(it->failure, "step")), *pstep;
    int i;
    for (i = 0; i < 2; i++) {
        const char *kind = json_string_value(json_object_get(f[i], "kind"));
        if (!kind) continue;
        if (!strcmp(kind, "budget")) return "LLM budget used up";
        if (!strcmp(kind, "auth")) return "the LLM provider refused the credentials (authentication)";
    }
    /* any other failure of a step is retried by the next iteration; the
     * same step failing twice in a row ends the lineage. A failed LLM
     * reflection never does: the builtin diagnosis stands. */
    pstep = prev ? json_string_value(json_object_get(prev->failure, "step")) : NULL;
    if (step && pstep && !strcmp(step, pstep)) return "the same agent step failed in two iterations in a row";
    return NULL;
}

/* The run record of a train-run's metrics.json (run_id: the run
 * directory's name). Its shape is checked: the file is an input. */
static int run_record(const json_t *m, const char *file, const char *run_dir, ao_run_record *r, ao_err *err)
{
    static const char *const statuses[] = {"ok", "time_limit", "diverged", "failed", NULL};
    const char *status = json_string_value(json_object_get(m, "status")), *msg = json_string_value(json_object_get(m, "message")), *slash;
    const json_t *tr = json_object_get(m, "train"), *va = json_object_get(m, "valid"), *se = json_object_get(m, "selection"), *e = json_object_get(m, "epochs");
    size_t l = strlen(run_dir);
    int i, known = 0;
    memset(r, 0, sizeof *r);
    for (i = 0; status && statuses[i]; i++) known |= !strcmp(status, statuses[i]);
    if (!json_is_object(m)) return ao_err_set(err, AO_EDATA, "%s: not a JSON object", file);
    if (status && !known) return ao_err_set(err, AO_EDATA, "%s: $.status: '%.40s' is not ok, time_limit, diverged or failed", file, status);
    if ((tr && !json_is_object(tr) && !json_is_null(tr)) || (va && !json_is_object(va) && !json_is_null(va)) || (se && !json_is_object(se) && !json_is_null(se)))
        return ao_err_set(err, AO_EDATA, "%s: $.train, $.valid and $.selection must be metric objects", file);
    while (l > 1 && run_dir[l - 1] == '/') l--;
    for (slash = run_dir + l; slash > run_dir && slash[-1] != '/'; slash--) {}
    if (!(r->run_id = strndup(slash, (size_t)(run_dir + l - slash))) || (msg && !(r->message = strdup(msg)))) goto NOMEM;
    snprintf(r->status, sizeof r->status, "%s", status ? status : "failed");
    if (json_is_object(tr) && !(r->train = json_deep_copy(tr))) goto NOMEM;
    if (json_is_object(va) && !(r->valid = json_deep_copy(va))) goto NOMEM;
    if (json_is_object(se) && !(r->selection = json_deep_copy(se))) goto NOMEM;
    r->wall_seconds = json_is_number(json_object_get(m, "wall_seconds")) ? json_number_value(json_object_get(m, "wall_seconds")) : NAN;
    r->peak_rss_mb = json_is_number(json_object_get(m, "peak_rss_mb")) ? json_number_value(json_object_get(m, "peak_rss_mb")) : NAN;
    r->epochs = json_is_integer(e) && json_integer_value(e) >= 0 ? (int)json_integer_value(e) : -1;
    return AO_OK;
NOMEM:
    free(r->run_id); free(r->message); json_decref(r->train); json_decref(r->valid);
    memset(r, 0, sizeof *r);
    return ao_err_set(err, AO_EMEM, "out of memory");
}

/* A validation metric well above the selection slice's: the model fits
 * what the agent saw (tuned on it, or memorised its labels). Recorded in
 * the feedback as "overfit" ({valid, selection, gap, note}); report.md
 * flags it. */
static int agent_overfit_check(const ao_iteration *it, const char *metric, json_t *fb, ao_err *err)
{
    double va = ao_iteration_valid_value(it, metric), se = ao_iteration_selection_value(it, metric);
    char line[256];
    if (!isfinite(va) || !isfinite(se) || va - se <= AO_OVERFIT_GAP) return AO_OK;
    snprintf(line, sizeof line, "validation over-fit: validation %s %.4f but %.4f on the selection slice the agent never saw (gap %.4f)",
             metric, va, se, va - se);
    if (json_object_set_new(fb, "overfit", json_pack("{s:f,s:f,s:f,s:s}", "valid", va, "selection", se, "gap", va - se, "note", line)) < 0)
        return ao_err_set(err, AO_EMEM, "out of memory");
    ao_warn("iteration %d: %s", it->number, line);
    return AO_OK;
}

/* The decision after iteration it: a stop reason, or NULL to go on. */
static const char *stop_reason(const ao_run_config *run, const ao_history *h, const ao_iteration *it, const json_t *llm_failure)
{
    const ao_budgets *b = &run->budgets;
    int since_best = h->best.iteration ? h->n_iters - h->best.iteration : h->n_iters;
    const char *llm = llm_stop_reason(h, it, llm_failure);
    if (llm) return llm;
    if (b->iterations > 0 && h->n_iters >= b->iterations) return "iteration budget used";
    if (b->wall_seconds > 0 && ao_history_elapsed(h) >= b->wall_seconds) return "wall-time budget used";
    if (!isnan(b->target) && h->best.iteration && h->best.value >= b->target) return "target metric reached";
    if (b->plateau > 0 && since_best >= b->plateau) return "plateau: no improvement";
    return NULL;
}

/* The stop decision after the reflected iteration it (the last): recorded
 * in the iteration, in history.json's stop record (cleared on continue:
 * a re-decided run may go on) and in decision.json. *reason: the stop
 * reason, NULL to go on. */
static int decide(ao_state *s, ao_iteration *it, const json_t *llm_failure, const char **reason, ao_err *err)
{
    ao_history *h = &s->hist;
    json_t *best, *decision = NULL;
    int rc;
    *reason = stop_reason(&s->run, h, it, llm_failure);
    it->decision = *reason ? AO_DECISION_STOP : AO_DECISION_CONTINUE;
    free(h->stop_reason);
    h->stop_reason = NULL;
    h->stop_iteration = 0;
    if (*reason) {
        if (!(h->stop_reason = strdup(*reason))) return ao_err_set(err, AO_EMEM, "out of memory");
        h->stop_iteration = it->number;
    }
    if ((best = ao_best_json(&h->best)))
        decision = json_pack("{s:s,s:s,s:i,s:O}", "decision", *reason ? "stop" : "continue", "reason",
                             *reason ? *reason : "budget left and room to improve", "iteration", h->n_iters, "best", best);
    rc = decision ? ao_state_write_json(s, "decision.json", decision, err) : ao_err_set(err, AO_EMEM, "out of memory");
    json_decref(best);
    json_decref(decision);
    return rc;
}

int ao_agent_decide(const ao_agent_opts *o, ao_err *err)
{
    ao_state *s = NULL;
    ao_iteration *it;
    const char *reason;
    int rc = AO_OK;
    if (!o->state_in) return ao_err_set(err, AO_EUSAGE, "--decide needs --state");
    if (!(s = ao_state_begin(o->state_in, o->data, o->out, o->force, err))) return err->code;
    update_budgets(o, &s->run);
    if (!(it = ao_history_current(&s->hist)) || !it->has_run) {
        rc = ao_err_set(err, AO_EDATA, "%s: %s: --decide re-decides a reflected iteration (run reflect first)", o->state_in,
                        it ? "the last iteration has not been reflected on" : "the state has no iteration");
        goto DONE;
    }
    /* the LLM reflection's own failure, as reflect recorded it beside its diagnosis */
    if ((rc = decide(s, it, json_object_get(it->feedback, "llm_error"), &reason, err)) < 0) goto DONE;
    if ((rc = ao_state_commit(s, err)) == AO_OK)
        ao_info("iteration %d re-decided under %d iterations, %.0f s: %s (%s)", it->number, s->run.budgets.iterations,
                s->run.budgets.wall_seconds, reason ? "stop" : "continue", reason ? reason : "");
DONE:
    ao_state_destroy(s);
    return rc;
}

int ao_agent_reflect(const ao_agent_opts *o, ao_err *err)
{
    ao_state *s = NULL;
    ao_history *h;
    ao_iteration *it;
    json_t *metrics = NULL, *fb = NULL, *llm_failure = NULL;
    char *mpath = NULL;
    const char *reason;
    int rc = AO_OK;
    double v, t0 = ao_now();
    agent_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    if (!o->state_in || !o->run_dir) return ao_err_set(err, AO_EUSAGE, "reflect needs --state and --run");
    if (!(mpath = ao_path_join(o->run_dir, "metrics.json"))) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!(metrics = ao_state_read_json(o->run_dir, "metrics.json", err))) { rc = err->code; goto DONE; }
    if (!(s = ao_state_begin(o->state_in, o->data, o->out, o->force, err))) { rc = err->code; goto DONE; }
    c.s = s;
    h = &s->hist;
    update_budgets(o, &s->run);
    if (o->metric) {
        /* a new ranking metric: the best pointer is recomputed under it */
        const char *m = ao_metric_resolve(o->metric, s->run.n_classes);
        if (strcmp(m, s->run.metric) != 0) {
            snprintf(s->run.metric, sizeof s->run.metric, "%s", m);
            if (ao_history_rebest(h, m) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        }
    }
    if (!(it = ao_history_current(h))) { rc = ao_err_set(err, AO_EDATA, "%s: the state has no iteration to reflect on", o->state_in); goto DONE; }
    if (it->has_run) { rc = ao_err_set(err, AO_EDATA, "%s: iteration %d was already reflected on", o->state_in, it->number); goto DONE; }
    if ((rc = run_record(metrics, mpath, o->run_dir, &it->run, err)) < 0) goto DONE;
    it->has_run = 1;
    if ((rc = ao_policy_diagnose(&s->run, metrics, ao_iteration_output(it, "analyze"), &fb, err)) < 0) goto DONE;
    if (o->agent == AO_AGENT_LLM && !llm_stop_reason(h, it, NULL)) {
        /* the LLM's verbal feedback goes beside the builtin diagnosis,
         * which stays as the trusted, structured part */
        json_t *llm_fb = NULL;
        if ((rc = agent_llm_reflect(&c, metrics, &llm_fb, &llm_failure, err)) < 0) goto DONE;
        if (llm_fb) json_object_set_new(fb, "llm", llm_fb);
        if (llm_failure) json_object_set(fb, "llm_error", llm_failure);
    }
    it->feedback = json_incref(fb);
    if ((rc = agent_overfit_check(it, s->run.metric, fb, err)) < 0) goto DONE;
    /* the best pointer: strict improvement of the ranking value (the
     * selection slice's when there is one), on the split in force only */
    v = ao_iteration_rank_value(it, s->run.metric);
    it->improved = it->run.valid && it->split_version == h->split_version && isfinite(v) &&
                   (!h->best.iteration || h->best.split_version != h->split_version || v > h->best.value);
    if (it->improved && ao_history_set_best(h, it, s->run.metric, v) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = decide(s, it, llm_failure, &reason, err)) < 0) goto DONE;
    if ((rc = ao_state_write_json(s, "steps/reflect.json", fb, err)) < 0) goto DONE;
    if ((rc = agent_usage_write(&c, ao_now() - t0, err)) < 0) goto DONE;
    if ((rc = ao_state_commit(s, err)) == AO_OK)
        ao_info("iteration %d: %s %s = %.4f; %s (%s)", h->n_iters, it->run.status, s->run.metric, v, reason ? "stop" : "continue", reason ? reason : "");
DONE:
    json_decref(metrics);
    json_decref(fb);
    json_decref(llm_failure);
    free(mpath);
    agent_llm_close(&c);
    ao_state_destroy(s);
    return rc;
}
