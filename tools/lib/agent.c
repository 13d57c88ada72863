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
#include "agentomics/log.h"
#include "agentomics/model.h"
#include "agentomics/policy.h"
#include "agentomics/profile.h"
#include "agentomics/recipe.h"
#include "agentomics/split.h"
#include "agentomics/state.h"
#include "agent_impl.h"

static const char *const known_steps[] = {"plan", "explore", "split", "represent", "architect", "code", "analyze", NULL};

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
                                        "--max-turns", "--submit-retries", "--llm-timeout", "--bash-timeout", "--sandbox-mem"};
    if (k < 0 || k > 11) { snprintf(msg, n, "invalid option"); return -1; }
    if (k >= 4 && k != 6) {
        errno = 0;
        d = strtod(arg, &end);
        if (errno || end == arg || *end || !isfinite(d) || d <= 0) { snprintf(msg, n, "%s expects a number > 0, got '%s'", names[k], arg); return -1; }
        v = (long)d;
        if ((k == 4 || k == 7 || k == 8) && ((double)v != d || v > 1000000)) { snprintf(msg, n, "%s expects an integer >= 1, got '%s'", names[k], arg); return -1; }
    }
    switch (k) {
    case 0:
        if (strcmp(arg, "openai") && strcmp(arg, "openrouter") && strcmp(arg, "ollama") && strcmp(arg, "vllm") && strcmp(arg, "llamacpp") && strcmp(arg, "custom")) {
            snprintf(msg, n, "--provider expects openai, openrouter, ollama, vllm, llamacpp or custom, got '%s'", arg);
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
"  --sandbox-mem MB       address-space limit of sandboxed commands [8192]\n", fp);
}

int ao_agent_metric_known(const char *name)
{
    static const char *const metrics[] = {"auto", "auroc", "auprc", "mcc", "f1_macro", "accuracy", "balanced_accuracy", NULL};
    int i;
    for (i = 0; metrics[i]; i++) if (!strcmp(metrics[i], name)) return 1;
    return 0;
}

int ao_agent_step_known(const char *name)
{
    int i;
    for (i = 0; known_steps[i]; i++) if (!strcmp(known_steps[i], name)) return 1;
    return 0;
}

static void ctx_free(agent_ctx *c)
{
    agent_llm_close(c);
    ao_dataset_info_destroy(c->info);
    ao_seqset_destroy(c->train);
    ao_seqset_destroy(c->valid);
}

static const char *data_dir(agent_ctx *c) { return c->o->data; }

/* The split in force: the agent's (in the new state) or the user's. */
int agent_load_split(agent_ctx *c, ao_err *err)
{
    char *st = NULL, *sv = NULL, *dt = NULL, *dv = NULL;
    int rc = AO_OK;
    if (c->train) return AO_OK;
    if (!c->info && !(c->info = ao_dataset_info_load(data_dir(c), err))) return err->code;
    st = ao_path_join(c->s->dir, "split/train.tsv");
    sv = ao_path_join(c->s->dir, "split/valid.tsv");
    dt = ao_path_join(data_dir(c), "train.tsv");
    dv = ao_path_join(data_dir(c), "valid.tsv");
    if (!st || !sv || !dt || !dv) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    c->user_valid = ao_file_exists(dv);
    if (ao_file_exists(st) && ao_file_exists(sv)) {
        if (!(c->train = ao_seqset_read(st, c->info, 1, c->o->threads, err)) || !(c->valid = ao_seqset_read(sv, c->info, 1, c->o->threads, err))) rc = err->code;
    } else {
        if (!(c->train = ao_seqset_read(dt, c->info, 1, c->o->threads, err))) rc = err->code;
        else if (c->user_valid && !(c->valid = ao_seqset_read(dv, c->info, 1, c->o->threads, err))) rc = err->code;
    }
DONE:
    free(st); free(sv); free(dt); free(dv);
    return rc;
}

json_t *agent_profile(agent_ctx *c) { return json_object_get(c->s->history, "profile"); }

/* ---- steps ---------------------------------------------------------------- */

static int step_plan(agent_ctx *c, json_t **out, ao_err *err)
{
    (void)err;
    ao_state_new_iteration(c->s);
    *out = ao_policy_plan(c->s->run, c->s->history, agent_profile(c));
    return AO_OK;
}

static int step_explore(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = agent_profile(c);
    int rc;
    if (p) {   /* the data do not change within a run: profile once */
        *out = json_pack("{s:b,s:O}", "cached", 1, "profile", p);
        return AO_OK;
    }
    if ((rc = agent_load_split(c, err)) < 0) return rc;
    if (!(p = ao_profile_compute(c->train, c->valid, c->info, (uint64_t)json_integer_value(json_object_get(c->s->run, "seed")), c->o->threads, err)))
        return err->code ? err->code : AO_EINTERNAL;
    json_object_set_new(c->s->history, "profile", json_incref(p));
    *out = json_pack("{s:b,s:o}", "cached", 0, "profile", p);
    return AO_OK;
}

static double choose_valid_fraction(const agent_ctx *c, int64_t n)
{
    if (c->valid_fraction > 0) return c->valid_fraction;
    if (c->o->valid_fraction > 0) return c->o->valid_fraction;
    return n < 5000 ? 0.2 : n < 50000 ? 0.15 : 0.1;
}

/* The iteration is evaluated on the split in force after the split step. */
static void stamp_split(agent_ctx *c)
{
    json_t *it = ao_state_iteration(c->s);
    json_t *v = json_object_get(json_object_get(c->s->history, "split"), "version");
    if (it && v) json_object_set(it, "split_version", v);
}

static int step_split(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *split = json_object_get(c->s->history, "split");
    int64_t *ti = NULL, *vi = NULL, nt = 0, nv = 0;
    json_t *report = NULL;
    char *pt = NULL, *pv = NULL;
    int rc, version = (int)json_integer_value(json_object_get(split, "version"));
    uint64_t seed = (uint64_t)json_integer_value(json_object_get(c->s->run, "seed"));
    double frac;
    if ((rc = agent_load_split(c, err)) < 0) return rc;
    if (c->user_valid) {
        if (!version) json_object_set_new(c->s->history, "split", json_pack("{s:i,s:s}", "version", 1, "source", "user"));
        stamp_split(c);
        *out = json_pack("{s:b,s:s,s:i,s:s,s:I,s:I}", "skipped", 1, "source", "user", "version", 1,
                         "reason", "the user supplied a validation set", "n_train", (json_int_t)c->train->n, "n_valid", (json_int_t)c->valid->n);
        return AO_OK;
    }
    if (version && c->valid) {
        stamp_split(c);
        *out = json_pack("{s:b,s:s,s:i,s:s,s:I,s:I}", "skipped", 1, "source", "agent", "version", version,
                         "reason", "the current split is kept", "n_train", (json_int_t)c->train->n, "n_valid", (json_int_t)c->valid->n);
        return AO_OK;
    }
    frac = choose_valid_fraction(c, c->train->n);
    if ((rc = ao_split_stratified(c->train, frac, seed + (uint64_t)version, &ti, &nt, &vi, &nv, &report, err)) < 0) goto DONE;
    if (!(pt = ao_state_path(c->s, "split/train.tsv", err)) || !(pv = ao_state_path(c->s, "split/valid.tsv", err))) { rc = err->code; goto DONE; }
    if ((rc = ao_split_write(c->train, ti, nt, c->info, pt, err)) < 0 || (rc = ao_split_write(c->train, vi, nv, c->info, pv, err)) < 0) goto DONE;
    if ((rc = ao_split_report_name_classes(report, c->info)) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    json_object_set_new(report, "version", json_integer(version + 1));
    json_object_set_new(report, "source", json_string("agent"));
    if ((rc = ao_state_write_json(c->s, "split/split.json", report, err)) < 0) goto DONE;
    json_object_set_new(c->s->history, "split", json_pack("{s:i,s:s}", "version", version + 1, "source", "agent"));
    stamp_split(c);
    /* later steps of this call use the new split */
    ao_seqset_destroy(c->train);
    ao_seqset_destroy(c->valid);
    c->train = c->valid = NULL;
    *out = json_pack("{s:b,s:s,s:i,s:o}", "skipped", 0, "source", "agent", "version", version + 1, "report", report);
    report = NULL;
DONE:
    json_decref(report);
    free(ti); free(vi); free(pt); free(pv);
    return rc;
}

/* The proposal of this iteration: computed by represent, reused by architect and code. */
json_t *agent_current_output(agent_ctx *c, const char *step)
{
    return json_object_get(json_object_get(json_object_get(ao_state_iteration(c->s), "steps"), step), "output");
}

static json_t *proposal(agent_ctx *c)
{
    json_t *rep = agent_current_output(c, "represent"), *why = NULL, *r;
    if (rep && json_object_get(rep, "proposal")) return json_incref(json_object_get(rep, "proposal"));
    r = ao_policy_next_recipe(c->s->run, c->s->history, agent_profile(c), &why);
    return json_pack("{s:o,s:o}", "recipe", r, "why", why);
}

static int step_represent(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = proposal(c), *r = json_object_get(p, "recipe");
    (void)err;
    *out = json_pack("{s:O,s:O,s:o}", "representation", json_object_get(r, "representation"),
                     "rationale", json_object_get(p, "why"), "proposal", p);
    return AO_OK;
}

static int step_architect(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = proposal(c), *r = json_object_get(p, "recipe");
    (void)err;
    *out = json_pack("{s:O,s:O}", "model", json_object_get(r, "model"), "rationale", json_object_get(p, "why"));
    json_decref(p);
    return AO_OK;
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
    double *proba = NULL, t0 = ao_now();
    int rc, ok = 0, k;
    const char *problem = NULL;
    char msg[AO_ERRMSG_MAX + 64] = "";
    ao_err_init(&e2);
    memset(&r, 0, sizeof r);
    if (ao_recipe_parse(recipe_json, "recipe.json", &r, &e2) < 0) { snprintf(msg, sizeof msg, "%s", e2.msg); goto REPORT; }
    /* a quick version of the same recipe */
    ao_recipe_shrink(&r);
    if ((rc = ao_split_mini(c->train, 100, r.seed, &ti, &nt)) < 0 || (rc = ao_split_mini(c->valid, 100, r.seed, &vi, &nv)) < 0) {
        ao_recipe_free(&r);
        return ao_err_set(err, AO_EMEM, "out of memory");
    }
    if (!(mt = ao_seqset_subset(c->train, ti, nt, err)) || !(mv = ao_seqset_subset(c->valid, vi, nv, err))) { rc = err->code; goto DONE; }
    {
        ao_train_opts to = {c->o->threads, 120, 0, NULL};
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
    if (problem) snprintf(msg, sizeof msg, "predictions have %s", problem);
    else ok = 1;
REPORT:
    *report = json_pack("{s:s,s:s,s:I,s:I,s:f}", "status", ok ? "ok" : "failed", "message", ok ? "trained and predicted on the mini split" : msg,
                        "n_train", (json_int_t)nt, "n_valid", (json_int_t)nv, "seconds", ao_now() - t0);
    rc = AO_OK;
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

static int step_code(agent_ctx *c, json_t **out, ao_err *err)
{
    json_t *p = NULL, *recipe = NULL, *smoke = NULL, *attempts = json_array();
    const char *status;
    int rc;
    if ((rc = agent_load_split(c, err)) < 0) goto DONE;
    if (!c->valid) { rc = ao_err_set(err, AO_EDATA, "no validation split: run the split step first"); goto DONE; }
    p = proposal(c);
    recipe = json_incref(json_object_get(p, "recipe"));
    /* the architect step's model and the represent step's representation are what is coded */
    if (agent_current_output(c, "architect")) json_object_set(recipe, "model", json_object_get(agent_current_output(c, "architect"), "model"));
    if ((rc = agent_smoke_recipe(c, recipe, &smoke, err)) < 0) goto DONE;
    json_array_append_new(attempts, json_pack("{s:O,s:O}", "recipe", recipe, "smoke", smoke));
    status = json_string_value(json_object_get(smoke, "status"));
    if (strcmp(status, "ok") != 0) {
        ao_warn("the proposed recipe failed its smoke run (%s); falling back to the baseline", json_string_value(json_object_get(smoke, "message")));
        json_decref(recipe);
        json_decref(smoke);
        smoke = NULL;
        recipe = ao_policy_fallback_recipe(c->s->run, agent_profile(c));
        if ((rc = agent_smoke_recipe(c, recipe, &smoke, err)) < 0) goto DONE;
        json_array_append_new(attempts, json_pack("{s:O,s:O}", "recipe", recipe, "smoke", smoke));
        if (strcmp(json_string_value(json_object_get(smoke, "status")), "ok") != 0) {
            rc = ao_err_set(err, AO_EDATA, "even the fallback recipe failed its smoke run: %s", json_string_value(json_object_get(smoke, "message")));
            goto DONE;
        }
    }
    if ((rc = ao_state_write_json(c->s, "workspace/recipe.json", recipe, err)) < 0) goto DONE;
    *out = json_pack("{s:s,s:s,s:O,s:O,s:O}", "entry", "builtin", "recipe_path", "workspace/recipe.json", "recipe", recipe, "smoke", smoke, "attempts", attempts);
DONE:
    json_decref(p);
    json_decref(recipe);
    json_decref(smoke);
    json_decref(attempts);
    return rc;
}

static int step_analyze(agent_ctx *c, json_t **out, ao_err *err)
{
    char *mp = NULL, *pv = NULL, *pt = NULL;
    json_t *metrics = NULL, *an = NULL;
    int rc = AO_OK;
    if (!c->o->run_dir) return ao_err_set(err, AO_EUSAGE, "the analyze step needs --run RUNDIR");
    if (!(mp = ao_path_join(c->o->run_dir, "metrics.json")) || !(pv = ao_path_join(c->o->run_dir, "predictions.valid.tsv")) ||
        !(pt = ao_path_join(c->o->run_dir, "predictions.train.tsv"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(metrics = ao_state_read_json(c->o->run_dir, "metrics.json", err))) { rc = err->code; goto DONE; }
    if (!ao_file_exists(pv)) {
        *out = json_pack("{s:s,s:O*}", "run_status", json_string_value(json_object_get(metrics, "status")) ? json_string_value(json_object_get(metrics, "status")) : "failed",
                         "message", json_object_get(metrics, "message"));
        goto DONE;
    }
    if ((rc = agent_load_split(c, err)) < 0) goto DONE;
    if (!(an = ao_analysis_compute(c->valid, c->info, pv, ao_file_exists(pt) ? c->train : NULL, ao_file_exists(pt) ? pt : NULL, err))) { rc = err->code ? err->code : AO_EINTERNAL; goto DONE; }
    json_object_set_new(an, "run_status", json_incref(json_object_get(metrics, "status")));
    *out = an;
DONE:
    json_decref(metrics);
    free(mp); free(pv); free(pt);
    return rc;
}

typedef int (*step_fn)(agent_ctx *, json_t **, ao_err *);

static step_fn step_by_name(const char *n)
{
    if (!strcmp(n, "plan")) return step_plan;
    if (!strcmp(n, "explore")) return step_explore;
    if (!strcmp(n, "split")) return step_split;
    if (!strcmp(n, "represent")) return step_represent;
    if (!strcmp(n, "architect")) return step_architect;
    if (!strcmp(n, "code")) return step_code;
    if (!strcmp(n, "analyze")) return step_analyze;
    return NULL;
}

int agent_builtin_step(agent_ctx *c, const char *step, json_t **out, ao_err *err)
{
    step_fn f = step_by_name(step);
    if (!f) return ao_err_set(err, AO_EUSAGE, "unknown step '%s'", step);
    return f(c, out, err);
}

/* run.json of a new run */
static int new_run(agent_ctx *c, ao_err *err)
{
    const ao_agent_opts *o = c->o;
    json_t *ds = ao_state_read_json(o->data, "dataset.json", err);
    json_t *run;
    if (!ds) return err->code;
    run = json_pack("{s:i,s:s,s:I,s:i,s:s,s:{s:s,s:O*},s:{s:i,s:f,s:f,s:i,s:o},s:f}", "format_version", 1,
                    "agent", o->agent == AO_AGENT_LLM ? "llm" : "builtin",
                    "seed", (json_int_t)(o->seed + (uint64_t)o->lineage * 1000003u), "lineage", o->lineage, "metric", o->metric ? o->metric : "auto",
                    "data", "dir", o->data, "content_hash", json_object_get(ds, "content_hash"),
                    "budgets", "iterations", o->iterations, "wall_seconds", o->time_budget, "train_time_limit", o->train_time_limit,
                    "plateau", o->plateau, "target", isnan(o->target) ? json_null() : json_real(o->target), "valid_fraction", o->valid_fraction);
    json_decref(ds);
    if (!run) return ao_err_set(err, AO_EMEM, "out of memory");
    if (o->agent == AO_AGENT_LLM) {
        json_object_set_new(run, "baseline", json_string(o->baseline == 0 ? "none" : "builtin"));
        json_object_set_new(run, "llm", agent_llm_run_config(o));
    }
    json_decref(c->s->run);
    c->s->run = run;
    return AO_OK;
}

/* Whether the iteration already failed in an earlier step (LLM mode). */
static const char *iteration_failed(agent_ctx *c)
{
    json_t *f = json_object_get(ao_state_iteration(c->s), "failure");
    return f ? json_string_value(json_object_get(f, "step")) : NULL;
}

int ao_agent_run_steps(const ao_agent_opts *o, ao_err *err)
{
    agent_ctx c;
    int i, rc = AO_OK;
    double t0 = ao_now();
    memset(&c, 0, sizeof c);
    c.o = o;
    if (!(c.s = ao_state_begin(o->state_in, o->out, o->force, err))) return err->code;
    if (!o->state_in && (rc = new_run(&c, err)) < 0) goto DONE;
    for (i = 0; i < o->n_steps; i++) {
        const char *step = o->steps[i], *failed;
        json_t *out = NULL;
        double ts = ao_now();
        if (!ao_agent_step_known(step)) { rc = ao_err_set(err, AO_EUSAGE, "unknown step '%s'", step); goto DONE; }
        if (strcmp(step, "plan") != 0 && !ao_state_iteration(c.s)) { rc = ao_err_set(err, AO_EUSAGE, "step '%s' before any plan step: an iteration starts with plan", step); goto DONE; }
        if (strcmp(step, "plan") != 0 && strcmp(step, "analyze") != 0 && (failed = iteration_failed(&c))) {
            ao_warn("step %s skipped: the iteration failed at step %s", step, failed);
            continue;
        }
        if (agent_llm_drives(&c, step)) rc = agent_llm_step(&c, step, &out, err);
        else rc = agent_builtin_step(&c, step, &out, err);
        if (rc < 0) goto DONE;
        if (!out) continue;   /* an LLM step failed: recorded in the iteration */
        if ((rc = ao_state_record_step(c.s, step, out, ao_now() - ts, err)) < 0) goto DONE;
        ao_info("step %s done in %.2f s", step, ao_now() - ts);
    }
    if ((rc = agent_usage_write(&c, ao_now() - t0, err)) < 0) goto DONE;
    rc = ao_state_commit(c.s, err);
DONE:
    ao_state_destroy(c.s);
    ctx_free(&c);
    return rc;
}

/* ---- reflect ---------------------------------------------------------------- */

static double run_elapsed(const json_t *history)
{
    json_t *its = json_object_get(history, "iterations");
    double t = 0;
    size_t i;
    for (i = 0; i < json_array_size(its); i++) {
        json_t *it = json_array_get(its, i), *steps = json_object_get(it, "steps");
        const char *k;
        json_t *v;
        json_object_foreach(steps, k, v) t += json_number_value(json_object_get(v, "seconds"));
        t += json_number_value(json_object_get(json_object_get(it, "run"), "wall_seconds"));
    }
    return t;
}

/* An iteration that failed because the LLM cannot be used any more (its
 * budget is spent or the provider refuses) gets no LLM reflection. */
static int llm_unusable(const json_t *it)
{
    const char *kind = json_string_value(json_object_get(json_object_get(it, "failure"), "kind"));
    return kind && (!strcmp(kind, "budget") || !strcmp(kind, "provider"));
}

/* Stop reasons of the LLM agent: its budget is used up or the provider
 * failed for good; NULL otherwise. */
static const char *llm_stop_reason(const json_t *it, const json_t *reflect_failure)
{
    const json_t *f[2] = {json_object_get(it, "failure"), reflect_failure};
    int i;
    for (i = 0; i < 2; i++) {
        const char *kind = json_string_value(json_object_get(f[i], "kind"));
        if (!kind) continue;
        if (!strcmp(kind, "budget")) return "LLM budget used up";
        if (!strcmp(kind, "provider")) return "the LLM provider failed";
    }
    return NULL;
}

int ao_agent_reflect(const ao_agent_opts *o, ao_err *err)
{
    ao_state *s = NULL;
    json_t *metrics = NULL, *it, *fb, *best, *run, *budgets, *analysis, *decision = NULL, *ds = NULL;
    const char *status, *metric, *slash, *reason = NULL;
    char run_id[256];
    int rc = AO_OK, n_iter, K;
    double v, t0 = ao_now();
    agent_ctx c;
    json_t *llm_failure = NULL;
    memset(&c, 0, sizeof c);
    c.o = o;
    if (!o->state_in || !o->run_dir) return ao_err_set(err, AO_EUSAGE, "reflect needs --state and --run");
    if (!(metrics = ao_state_read_json(o->run_dir, "metrics.json", err))) return err->code;
    if (!(s = ao_state_begin(o->state_in, o->out, o->force, err))) { rc = err->code; goto DONE; }
    if (o->metric) json_object_set_new(s->run, "metric", json_string(o->metric));
    if (!(it = ao_state_iteration(s))) { rc = ao_err_set(err, AO_EDATA, "%s: the state has no iteration to reflect on", o->state_in); goto DONE; }
    if (json_object_get(it, "run")) { rc = ao_err_set(err, AO_EDATA, "%s: iteration %d was already reflected on", o->state_in, (int)json_integer_value(json_object_get(it, "iteration"))); goto DONE; }
    status = json_string_value(json_object_get(metrics, "status"));
    if (!status) status = "failed";
    K = (int)json_array_size(json_object_get(json_object_get(metrics, "valid"), "classes"));
    if (!K && (ds = o->data ? ao_state_read_json(o->data, "dataset.json", err) : NULL)) K = (int)json_array_size(json_object_get(ds, "classes"));
    ao_err_init(err);
    metric = ao_policy_metric(s->run, K ? K : 2);
    {
        /* run id: the run directory's name */
        size_t l = strlen(o->run_dir);
        while (l > 1 && o->run_dir[l - 1] == '/') l--;
        for (slash = o->run_dir + l; slash > o->run_dir && slash[-1] != '/'; slash--) {}
        snprintf(run_id, sizeof run_id, "%.*s", (int)(o->run_dir + l - slash), slash);
    }
    run = json_pack("{s:s,s:s,s:{s:O*,s:O*},s:O*,s:O*,s:O*,s:O*}", "run_id", run_id, "status", status,
                    "metrics", "train", json_object_get(metrics, "train"), "valid", json_object_get(metrics, "valid"),
                    "message", json_object_get(metrics, "message"), "wall_seconds", json_object_get(metrics, "wall_seconds"),
                    "peak_rss_mb", json_object_get(metrics, "peak_rss_mb"), "epochs", json_object_get(metrics, "epochs"));
    json_object_set_new(it, "run", run);
    analysis = json_object_get(json_object_get(json_object_get(it, "steps"), "analyze"), "output");
    fb = ao_policy_diagnose(s->run, metrics, analysis);
    json_object_set_new(it, "feedback", fb);
    c.s = s;
    if (o->agent == AO_AGENT_LLM && !llm_unusable(it)) {
        /* the LLM's verbal feedback goes beside the builtin diagnosis,
         * which stays as the trusted, structured part */
        json_t *llm_fb = NULL;
        if ((rc = agent_llm_reflect(&c, metrics, &llm_fb, &llm_failure, err)) < 0) goto DONE;
        if (llm_fb) json_object_set_new(fb, "llm", llm_fb);
        if (llm_failure) json_object_set(fb, "llm_error", llm_failure);
    }
    /* the best pointer: strict improvement, on the current split only */
    v = json_number_value(json_object_get(json_object_get(metrics, "valid"), metric));
    best = json_object_get(s->history, "best");
    {
        int split_now = (int)json_integer_value(json_object_get(json_object_get(s->history, "split"), "version"));
        int split_it = (int)json_integer_value(json_object_get(it, "split_version"));
        int has_model = json_object_get(metrics, "valid") != NULL;
        int best_current = json_is_object(best) && json_integer_value(json_object_get(best, "split_version")) == split_now;
        if (has_model && split_it == split_now && isfinite(v) && (!best_current || v > json_number_value(json_object_get(best, "value")))) {
            json_object_set_new(s->history, "best", json_pack("{s:O,s:O,s:s,s:f,s:i}", "iteration", json_object_get(it, "iteration"),
                                                              "run_id", json_object_get(run, "run_id"), "metric", metric, "value", v, "split_version", split_now));
            json_object_set_new(it, "improved", json_true());
        } else {
            json_object_set_new(it, "improved", json_false());
        }
    }
    best = json_object_get(s->history, "best");
    /* decision */
    budgets = json_object_get(s->run, "budgets");
    n_iter = (int)json_array_size(json_object_get(s->history, "iterations"));
    {
        int max_it = (int)json_integer_value(json_object_get(budgets, "iterations"));
        double wall = json_number_value(json_object_get(budgets, "wall_seconds"));
        int plateau = (int)json_integer_value(json_object_get(budgets, "plateau"));
        json_t *target = json_object_get(budgets, "target");
        int since_best = json_is_object(best) ? n_iter - (int)json_integer_value(json_object_get(best, "iteration")) : n_iter;
        const char *llm_stop = llm_stop_reason(it, llm_failure);
        if (llm_stop) reason = llm_stop;
        else if (max_it > 0 && n_iter >= max_it) reason = "iteration budget used";
        else if (wall > 0 && run_elapsed(s->history) >= wall) reason = "wall-time budget used";
        else if (json_is_number(target) && json_is_object(best) && json_number_value(json_object_get(best, "value")) >= json_number_value(target)) reason = "target metric reached";
        else if (plateau > 0 && since_best >= plateau) reason = "plateau: no improvement";
    }
    decision = json_pack("{s:s,s:s,s:i,s:O}", "decision", reason ? "stop" : "continue", "reason", reason ? reason : "budget left and room to improve",
                         "iteration", n_iter, "best", best);
    json_object_set_new(it, "decision", json_string(reason ? "stop" : "continue"));
    if (reason) json_object_set_new(s->history, "stop", json_pack("{s:s,s:i}", "reason", reason, "iteration", n_iter));
    if ((rc = ao_state_write_json(s, "decision.json", decision, err)) < 0) goto DONE;
    if ((rc = ao_state_write_json(s, "steps/reflect.json", fb, err)) < 0) goto DONE;
    if ((rc = agent_usage_write(&c, ao_now() - t0, err)) < 0) goto DONE;
    rc = ao_state_commit(s, err);
    if (rc == AO_OK) ao_info("iteration %d: %s %s = %.4f; %s (%s)", n_iter, status, metric, v, reason ? "stop" : "continue", reason ? reason : "");
DONE:
    json_decref(metrics);
    json_decref(decision);
    json_decref(ds);
    json_decref(llm_failure);
    agent_llm_close(&c);
    ao_state_destroy(s);
    return rc;
}
