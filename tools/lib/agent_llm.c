/* agent_llm.c — the LLM agent: each step is a conversation in which the
 * model uses sandboxed tools and ends by calling `submit`; the submitted
 * JSON is checked against the step's schema (schemas/submit-STEP) and the
 * step's validator, and a rejection goes back to the model with the reason.
 * Prompts are text files (prompts/), filled with the dataset, the profile,
 * the history and the latest feedback.
 *
 * Failures that are the agent's (budget used up, provider down, the model
 * never produced a valid submit) do not lose the run: they are recorded in
 * the iteration's "failure", the state is committed, train-run records a
 * failed iteration and reflect decides whether to stop.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agentomics/fileio.h"
#include "agentomics/jsonschema.h"
#include "agentomics/llm.h"
#include "agentomics/log.h"
#include "agentomics/modelfile.h"
#include "agentomics/policy.h"
#include "agentomics/recipe.h"
#include "agentomics/sandbox.h"
#include "agentomics/scriptmodel.h"
#include "agentomics/split.h"
#include "agentomics/wsfs.h"
#include "agent_impl.h"

#define TOOL_RESULT_MAX 20000     /* characters of one tool result kept in the conversation */
#define PROMPT_PART_MAX 12000     /* characters of one filled-in prompt variable */
#define KEEP_RECENT 6             /* messages at the end of a conversation never elided */

struct agent_llm {
    ao_llm *llm;
    json_t *cfg;            /* the effective "llm" settings */
    char *prompts, *schemas;
    char *ws_dir, *split_dir, *transcript;
    json_t *tools;          /* prompts/tools.json */
    json_t *prices;
    json_t *usage0;         /* ao_llm_usage() at open: this process's share is the difference */
    json_t *steps_usage;    /* per-step usage records of this process */
    ao_wsfs ws;
    char software[512];
};

/* ---- configuration ---------------------------------------------------------- */

static const char *env_or(const char *v, const char *name)
{
    const char *e;
    if (v) return v;
    e = getenv(name);
    return e && *e ? e : NULL;
}

json_t *agent_llm_run_config(const ao_agent_opts *o)
{
    const char *model = env_or(o->model, "AGENTOMICS_MODEL"), *base = env_or(o->api_base, "AGENTOMICS_API_BASE");
    return json_pack("{s:s,s:s?,s:s?,s:s?,s:i,s:f,s:i,s:i,s:f,s:f,s:f,s:i}", "provider", o->provider ? o->provider : "openai",
                     "model", model, "api_base", base, "price_file", o->price_file, "max_calls", o->max_llm_calls,
                     "max_cost", o->max_cost > 0 ? o->max_cost : 0.0, "max_turns", o->max_turns > 0 ? o->max_turns : 40,
                     "submit_retries", o->submit_retries > 0 ? o->submit_retries : 3,
                     "request_timeout", o->llm_timeout > 0 ? o->llm_timeout : 300.0, "bash_timeout", o->bash_timeout > 0 ? o->bash_timeout : 120.0,
                     "mem_limit_mb", o->mem_limit_mb > 0 ? o->mem_limit_mb : 8192.0, "context_chars", 120000);
}

/* run.json's settings, overridden by what this call's options give. */
static json_t *effective_config(agent_ctx *c)
{
    const ao_agent_opts *o = c->o;
    json_t *cfg = json_deep_copy(json_object_get(c->s->run, "llm"));
    const char *m, *b;
    if (!cfg) cfg = agent_llm_run_config(o);
    if (!cfg) return NULL;
    if (o->provider) json_object_set_new(cfg, "provider", json_string(o->provider));
    if ((m = env_or(o->model, "AGENTOMICS_MODEL"))) json_object_set_new(cfg, "model", json_string(m));
    if ((b = env_or(o->api_base, "AGENTOMICS_API_BASE"))) json_object_set_new(cfg, "api_base", json_string(b));
    if (o->price_file) json_object_set_new(cfg, "price_file", json_string(o->price_file));
    if (o->max_llm_calls > 0) json_object_set_new(cfg, "max_calls", json_integer(o->max_llm_calls));
    if (o->max_cost > 0) json_object_set_new(cfg, "max_cost", json_real(o->max_cost));
    if (o->max_turns > 0) json_object_set_new(cfg, "max_turns", json_integer(o->max_turns));
    if (o->submit_retries > 0) json_object_set_new(cfg, "submit_retries", json_integer(o->submit_retries));
    if (o->llm_timeout > 0) json_object_set_new(cfg, "request_timeout", json_real(o->llm_timeout));
    if (o->bash_timeout > 0) json_object_set_new(cfg, "bash_timeout", json_real(o->bash_timeout));
    if (o->mem_limit_mb > 0) json_object_set_new(cfg, "mem_limit_mb", json_real(o->mem_limit_mb));
    return cfg;
}

static double cfg_num(const json_t *cfg, const char *k, double dflt)
{
    json_t *v = json_object_get(cfg, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

int agent_llm_drives(agent_ctx *c, const char *step)
{
    const char *baseline;
    size_t n;
    if (c->o->agent != AO_AGENT_LLM || !strcmp(step, "analyze")) return 0;
    baseline = json_string_value(json_object_get(c->s->run, "baseline"));
    if (c->o->baseline >= 0) baseline = c->o->baseline ? "builtin" : "none";
    n = json_array_size(json_object_get(c->s->history, "iterations"));
    if (!strcmp(step, "plan")) n++;
    return !(n == 1 && (!baseline || !strcmp(baseline, "builtin")));
}

/* Interpreters and Python packages the sandbox can use, for the prompt. */
static void detect_software(char *buf, size_t n)
{
    static const char *const interp[] = {"/usr/bin/python3", "/usr/bin/Rscript", "/usr/bin/perl", "/usr/bin/julia", NULL};
    static const char *const pkgs[] = {"numpy", "scipy", "pandas", "sklearn", "torch", "xgboost", "lightgbm", NULL};
    static const char *const sites[] = {"/usr/lib/python3/dist-packages", "/usr/local/lib/python3.11/dist-packages", NULL};
    size_t len;
    int i, j;
    snprintf(buf, n, "bash, coreutils, awk, sed, grep");
    for (i = 0; interp[i]; i++) {
        if (access(interp[i], X_OK) != 0) continue;
        len = strlen(buf);
        snprintf(buf + len, n - len, ", %s", interp[i]);
        if (!strcmp(interp[i], "/usr/bin/python3")) {
            int any = 0;
            for (j = 0; pkgs[j]; j++) {
                int k, found = 0;
                for (k = 0; sites[k] && !found; k++) {
                    char p[256];
                    snprintf(p, sizeof p, "%s/%s", sites[k], pkgs[j]);
                    found = ao_is_dir(p);
                }
                if (!found) continue;
                len = strlen(buf);
                snprintf(buf + len, n - len, "%s%s", any ? ", " : " (with ", pkgs[j]);
                any = 1;
            }
            if (any) { len = strlen(buf); snprintf(buf + len, n - len, ")"); }
        }
    }
}

static int llm_open(agent_ctx *c, ao_err *err)
{
    struct agent_llm *a;
    ao_llm_config lc;
    json_t *u = NULL;
    const char *key, *which = NULL, *pf;
    char *p = NULL;
    int rc = AO_OK;
    if (c->llm) return AO_OK;
    if (!(a = calloc(1, sizeof *a))) return ao_err_set(err, AO_EMEM, "out of memory");
    c->llm = a;
    if (!(a->cfg = effective_config(c))) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!json_string_value(json_object_get(a->cfg, "model")))
        return ao_err_set(err, AO_EUSAGE, "--agent llm needs a model: --model NAME or AGENTOMICS_MODEL");
    if (!(a->prompts = ao_share_dir("prompts", err)) || !(a->schemas = ao_share_dir("schemas", err))) return err->code;
    if (!(p = ao_path_join(a->prompts, "tools.json"))) return ao_err_set(err, AO_EMEM, "out of memory");
    {
        json_error_t je;
        if (!(a->tools = json_load_file(p, 0, &je)) || !json_is_array(a->tools))
            rc = ao_err_set(err, AO_EIO, "%s:%d: cannot load the tool definitions: %s", p, je.line, je.text);
    }
    free(p);
    if (rc < 0) return rc;
    if ((pf = json_string_value(json_object_get(a->cfg, "price_file")))) {
        json_error_t je;
        if (!(a->prices = json_load_file(pf, 0, &je)) || !json_is_object(a->prices))
            return ao_err_set(err, AO_EDATA, "%s:%d: not a JSON price table: %s", pf, je.line, je.text);
    }
    /* the transcript and the workspace are written in place from now on:
     * break their hard links with the previous state first */
    if ((rc = ao_state_unshare(c->s, "transcript.jsonl", err)) < 0 || (rc = ao_state_unshare(c->s, "workspace", err)) < 0) return rc;
    if (!(a->transcript = ao_state_path(c->s, "transcript.jsonl", err))) return err->code;
    if (!(a->ws_dir = ao_state_path(c->s, "workspace/.keep", err))) return err->code;
    *strrchr(a->ws_dir, '/') = '\0';
    if (!(a->split_dir = ao_path_join(c->s->dir, "split"))) return ao_err_set(err, AO_EMEM, "out of memory");
    a->ws.workspace = a->ws_dir;
    a->ws.data = c->o->data;
    a->ws.max_read = 65536;
    a->ws.max_write = 1 << 20;
    detect_software(a->software, sizeof a->software);

    key = ao_llm_key_from_env(&which);
    ao_llm_config_init(&lc);
    lc.provider = json_string_value(json_object_get(a->cfg, "provider"));
    lc.api_base = json_string_value(json_object_get(a->cfg, "api_base"));
    lc.model = json_string_value(json_object_get(a->cfg, "model"));
    lc.api_key = key;
    lc.request_timeout = cfg_num(a->cfg, "request_timeout", 300);
    lc.max_calls = (int)cfg_num(a->cfg, "max_calls", 0);
    lc.max_cost = cfg_num(a->cfg, "max_cost", 0);
    lc.prices = a->prices;
    lc.transcript = a->transcript;
    lc.seed = (uint64_t)json_integer_value(json_object_get(c->s->run, "seed"));
    {
        const char *e = getenv("AGENTOMICS_LLM_RETRIES"), *b = getenv("AGENTOMICS_LLM_BACKOFF");
        if (e && *e) lc.max_retries = atoi(e);
        if (b && *b) lc.backoff_base = atof(b);
    }
    if (lc.max_cost > 0 && !(a->prices && json_object_get(a->prices, lc.model))) {
        const ao_llm_preset *pr = ao_llm_preset_find(lc.provider ? lc.provider : "openai");
        if (pr && !pr->reports_cost)
            return ao_err_set(err, AO_EUSAGE, "--max-cost needs the price of model '%s': give --price-file (provider '%s' does not report costs)", lc.model, pr->name);
    }
    if (!(a->llm = ao_llm_create(&lc, err))) return err->code;
    if (which) ao_debug("LLM key taken from $%s", which);
    if ((u = ao_state_read_json(c->s->dir, "usage.json", err))) {
        ao_llm_ledger_seed(a->llm, (int)json_integer_value(json_object_get(u, "llm_calls")), json_number_value(json_object_get(u, "cost")));
        json_decref(u);
    }
    ao_err_init(err);
    a->usage0 = ao_llm_usage(a->llm);
    a->steps_usage = json_array();
    return AO_OK;
}

void agent_llm_close(agent_ctx *c)
{
    struct agent_llm *a = c->llm;
    if (!a) return;
    ao_llm_destroy(a->llm);
    json_decref(a->cfg);
    json_decref(a->tools);
    json_decref(a->prices);
    json_decref(a->usage0);
    json_decref(a->steps_usage);
    free(a->prompts); free(a->schemas); free(a->ws_dir); free(a->split_dir); free(a->transcript);
    free(a);
    c->llm = NULL;
}

/* ---- usage ------------------------------------------------------------------ */

static const char *const usage_keys[] = {"llm_calls", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "retries", NULL};

/* b - a for every counter, as a new object. */
static json_t *usage_diff(const json_t *a, const json_t *b)
{
    json_t *d = json_object();
    int i;
    for (i = 0; usage_keys[i]; i++)
        json_object_set_new(d, usage_keys[i], json_integer(json_integer_value(json_object_get(b, usage_keys[i])) - json_integer_value(json_object_get(a, usage_keys[i]))));
    json_object_set_new(d, "cost", json_real(json_number_value(json_object_get(b, "cost")) - json_number_value(json_object_get(a, "cost"))));
    return d;
}

int agent_usage_write(agent_ctx *c, double seconds, ao_err *err)
{
    json_t *u = ao_state_read_json(c->s->dir, "usage.json", err);
    int rc, i;
    ao_err_init(err);
    if (!u) u = json_pack("{s:i,s:i,s:i,s:f,s:f}", "llm_calls", 0, "prompt_tokens", 0, "completion_tokens", 0, "cost", 0.0, "wall_seconds", 0.0);
    if (!u) return ao_err_set(err, AO_EMEM, "out of memory");
    if (c->llm && c->llm->llm) {
        json_t *now = ao_llm_usage(c->llm->llm), *d = usage_diff(c->llm->usage0, now), *steps = json_object_get(u, "steps");
        for (i = 0; usage_keys[i]; i++)
            json_object_set_new(u, usage_keys[i], json_integer(json_integer_value(json_object_get(u, usage_keys[i])) + json_integer_value(json_object_get(d, usage_keys[i]))));
        json_object_set_new(u, "cost", json_real(json_number_value(json_object_get(u, "cost")) + json_number_value(json_object_get(d, "cost"))));
        if (json_is_false(json_object_get(now, "cost_known"))) json_object_set_new(u, "cost_known", json_false());
        else if (!json_object_get(u, "cost_known")) json_object_set_new(u, "cost_known", json_true());
        if (!json_is_array(steps)) { steps = json_array(); json_object_set_new(u, "steps", steps); }
        json_array_extend(steps, c->llm->steps_usage);
        json_decref(now);
        json_decref(d);
    }
    json_object_set_new(u, "wall_seconds", json_real(json_number_value(json_object_get(u, "wall_seconds")) + seconds));
    rc = ao_state_write_json(c->s, "usage.json", u, err);
    json_decref(u);
    return rc;
}

/* ---- prompts ---------------------------------------------------------------- */

/* A compact JSON text of j, cut to max characters with a note. */
static char *compact(const json_t *j, size_t max)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(none)");
    if (s && strlen(s) > max) {
        memcpy(s + max - 40, " ...[truncated]", 16);
    }
    return s;
}

static int set_text(json_t *vars, const char *k, char *text /* freed */)
{
    int rc = text ? json_object_set_new(vars, k, json_string(text)) : -1;
    free(text);
    return rc;
}

/* The previous iterations, reduced to what the next decision needs. */
static json_t *history_digest(const json_t *history, int upto)
{
    json_t *its = json_object_get(history, "iterations"), *out = json_array();
    size_t i;
    for (i = 0; i < json_array_size(its) && (int)i < upto; i++) {
        json_t *it = json_array_get(its, i), *steps = json_object_get(it, "steps"), *run = json_object_get(it, "run");
        json_t *code = json_object_get(json_object_get(steps, "code"), "output"), *d = json_object();
        json_object_set(d, "iteration", json_object_get(it, "iteration"));
        if (json_object_get(json_object_get(json_object_get(steps, "plan"), "output"), "goal"))
            json_object_set(d, "goal", json_object_get(json_object_get(json_object_get(steps, "plan"), "output"), "goal"));
        if (code) {
            json_object_set(d, "entry", json_object_get(code, "entry"));
            if (json_object_get(code, "recipe")) json_object_set(d, "recipe", json_object_get(code, "recipe"));
            if (json_object_get(code, "train_entry")) json_object_set(d, "train_entry", json_object_get(code, "train_entry"));
        }
        if (json_object_get(it, "failure")) json_object_set(d, "failure", json_object_get(it, "failure"));
        if (run) {
            json_object_set(d, "status", json_object_get(run, "status"));
            json_object_set(d, "valid", json_object_get(json_object_get(run, "metrics"), "valid"));
            json_object_set(d, "train", json_object_get(json_object_get(run, "metrics"), "train"));
        }
        if (json_object_get(it, "feedback")) json_object_set(d, "feedback", json_object_get(it, "feedback"));
        json_array_append_new(out, d);
    }
    return out;
}

/* The outputs of this iteration's steps so far (without the bulky profile). */
static json_t *iteration_digest(const json_t *it)
{
    json_t *d = json_object(), *v;
    const char *k;
    json_object_foreach(json_object_get(it, "steps"), k, v) {
        json_t *o = json_deep_copy(json_object_get(v, "output"));
        json_object_del(o, "profile");
        json_object_del(o, "proposal");
        json_object_set_new(d, k, o);
    }
    return d;
}

/* Replaces {{name}} by vars[name]; an unknown name is an error (a prompt
 * file out of step with this code). */
static char *fill_template(const char *tpl, const json_t *vars, const char *file, ao_err *err)
{
    ao_buf b = {0};
    const char *p = tpl, *q;
    while ((q = strstr(p, "{{"))) {
        const char *e = strstr(q, "}}");
        char name[64];
        const char *val;
        if (!e || e - q - 2 >= (long)sizeof name) { ao_err_set(err, AO_EDATA, "%s: unterminated or overlong {{placeholder}}", file); goto ERROR; }
        memcpy(name, q + 2, (size_t)(e - q - 2));
        name[e - q - 2] = '\0';
        if (!(val = json_string_value(json_object_get(vars, name)))) { ao_err_set(err, AO_EDATA, "%s: unknown placeholder {{%s}}", file, name); goto ERROR; }
        ao_buf_put(&b, p, (size_t)(q - p));
        ao_buf_put(&b, val, strlen(val));
        p = e + 2;
    }
    ao_buf_put(&b, p, strlen(p) + 1);
    if (b.oom) goto NOMEM;
    return (char *)b.data;
NOMEM:
    ao_err_set(err, AO_EMEM, "out of memory");
ERROR:
    ao_buf_free(&b);
    return NULL;
}

static char *load_prompt(struct agent_llm *a, const char *name, const json_t *vars, ao_err *err)
{
    char *path = NULL, *tpl = NULL, *out = NULL;
    size_t len;
    if (asprintf(&path, "%s/%s.md", a->prompts, name) < 0) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if ((tpl = ao_read_file(path, &len, err))) out = fill_template(tpl, vars, path, err);
    free(tpl);
    free(path);
    return out;
}

/* Follows a JSON pointer ("/a/b", with ~1 and ~0 escapes). */
static json_t *json_pointer(json_t *doc, const char *ptr)
{
    char tok[256];
    while (doc && *ptr == '/') {
        size_t n = 0;
        ptr++;
        while (*ptr && *ptr != '/' && n + 1 < sizeof tok) {
            if (ptr[0] == '~' && ptr[1] == '1') { tok[n++] = '/'; ptr += 2; }
            else if (ptr[0] == '~' && ptr[1] == '0') { tok[n++] = '~'; ptr += 2; }
            else tok[n++] = *ptr++;
        }
        tok[n] = '\0';
        doc = json_is_array(doc) ? json_array_get(doc, (size_t)strtoul(tok, NULL, 10)) : json_object_get(doc, tok);
    }
    return doc;
}

/* A copy of schema with file $refs replaced by their targets: providers
 * want one self-contained JSON schema per tool. */
static json_t *inline_refs(const json_t *schema, const char *dir, int depth, ao_err *err)
{
    json_t *out, *v;
    const char *k, *ref;
    size_t i;
    if (depth > 16) { ao_err_set(err, AO_EDATA, "schema $ref chain too deep"); return NULL; }
    if (json_is_array(schema)) {
        out = json_array();
        json_array_foreach(schema, i, v) {
            json_t *x = inline_refs(v, dir, depth, err);
            if (!x) { json_decref(out); return NULL; }
            json_array_append_new(out, x);
        }
        return out;
    }
    if (!json_is_object(schema)) return json_deep_copy(schema);
    if ((ref = json_string_value(json_object_get(schema, "$ref"))) && ref[0] != '#') {
        const char *hash = strchr(ref, '#');
        char *file = hash ? strndup(ref, (size_t)(hash - ref)) : strdup(ref), *path = file ? ao_path_join(dir, file) : NULL;
        json_t *doc = NULL, *target;
        json_error_t je;
        out = NULL;
        if (!path) ao_err_set(err, AO_EMEM, "out of memory");
        else if (!(doc = json_load_file(path, 0, &je))) ao_err_set(err, AO_EDATA, "%s: %s", path, je.text);
        else if (!(target = hash ? json_pointer(doc, hash + 1) : doc)) ao_err_set(err, AO_EDATA, "%s: no %s", path, hash);
        else out = inline_refs(target, dir, depth + 1, err);
        json_decref(doc);
        free(file);
        free(path);
        return out;
    }
    out = json_object();
    json_object_foreach((json_t *)schema, k, v) {
        json_t *x;
        if (!strcmp(k, "$schema")) continue;
        if (!(x = inline_refs(v, dir, depth, err))) { json_decref(out); return NULL; }
        json_object_set_new(out, k, x);
    }
    return out;
}

/* Variables every prompt may use. */
static json_t *prompt_vars(agent_ctx *c, const char *step, const json_t *submit_schema, const json_t *extra)
{
    struct agent_llm *a = c->llm;
    json_t *vars = json_object(), *ds, *it = ao_state_iteration(c->s), *v;
    json_t *budgets = json_object_get(c->s->run, "budgets");
    ao_err e;
    char buf[512], *desc, *path;
    const char *k;
    int n_iter = (int)json_array_size(json_object_get(c->s->history, "iterations"));
    size_t len;
    ao_err_init(&e);
    snprintf(buf, sizeof buf, "[agentomics-step: %s]", step);
    json_object_set_new(vars, "marker", json_string(buf));
    json_object_set_new(vars, "step", json_string(step));
    snprintf(buf, sizeof buf, "%d", n_iter);
    json_object_set_new(vars, "iteration", json_string(buf));
    snprintf(buf, sizeof buf, "%d", (int)json_integer_value(json_object_get(budgets, "iterations")));
    json_object_set_new(vars, "iterations_budget", json_string(buf));
    {
        const char *m = json_string_value(json_object_get(c->s->run, "metric"));
        json_object_set_new(vars, "metric", json_string(m && strcmp(m, "auto") ? m : "auroc for binary tasks, macro F1 for multiclass tasks"));
    }
    json_object_set_new(vars, "software", json_string(a->software));
    snprintf(buf, sizeof buf, "%d thread(s), %.0f s of training time, an address-space limit of %.0f MB, %s",
             c->o->threads, json_number_value(json_object_get(budgets, "train_time_limit")), cfg_num(a->cfg, "mem_limit_mb", 8192),
             "no GPU unless the run was given --gpus");
    json_object_set_new(vars, "resources", json_string(buf));
    ds = ao_state_read_json(c->o->data, "dataset.json", &e);
    set_text(vars, "dataset", compact(ds, PROMPT_PART_MAX));
    json_decref(ds);
    set_text(vars, "profile", compact(agent_profile(c), PROMPT_PART_MAX));
    path = ao_path_join(c->o->data, "description.md");
    desc = path && ao_file_exists(path) ? ao_read_file(path, &len, &e) : NULL;
    if (desc && strlen(desc) > PROMPT_PART_MAX) desc[PROMPT_PART_MAX] = '\0';
    json_object_set_new(vars, "description", json_string(desc && *desc ? desc : "(none given)"));
    free(desc);
    free(path);
    {
        json_t *h = history_digest(c->s->history, n_iter - 1);   /* the iterations before the current one */
        set_text(vars, "history", json_array_size(h) ? compact(h, PROMPT_PART_MAX) : strdup("(no earlier iterations)"));
        json_decref(h);
    }
    {
        json_t *its = json_object_get(c->s->history, "iterations"), *prev = NULL;
        size_t i;
        for (i = json_array_size(its); i > 0 && !prev; i--)
            if (json_object_get(json_array_get(its, i - 1), "feedback")) prev = json_object_get(json_array_get(its, i - 1), "feedback");
        set_text(vars, "feedback", prev ? compact(prev, PROMPT_PART_MAX) : strdup("(none yet)"));
    }
    {
        json_t *d = it ? iteration_digest(it) : json_object();
        set_text(vars, "this_iteration", compact(d, PROMPT_PART_MAX));
        json_decref(d);
    }
    {
        char *s = json_dumps(submit_schema, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        set_text(vars, "submit_schema", s);
    }
    json_object_set_new(vars, "recipe_schema_hint", json_string("the `recipe` property of the submit schema below"));
    json_object_set_new(vars, "run", json_string("(none)"));
    set_text(vars, "best", compact(json_object_get(c->s->history, "best"), 2000));
    json_object_foreach((json_t *)extra, k, v) json_object_set(vars, k, v);
    return vars;
}

/* ---- tools ------------------------------------------------------------------ */

typedef struct conv conv;
/* A step's validator: 1 accepted (*out set), 0 rejected (msg for the
 * model), < -1 error. */
typedef int (*validate_fn)(agent_ctx *c, conv *cv, const json_t *submitted, json_t **out, char *msg, size_t n, ao_err *err);

struct conv {
    const char *step;
    const char *schema_file;    /* submit-STEP.schema.json */
    validate_fn validate;
    int read_only;              /* only read_file, list_files, submit */
    json_t *accepted;           /* the validator's output */
    json_t *attempts;           /* every submit and its verdict */
};

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static char *tool_bash(agent_ctx *c, const json_t *args, ao_err *err)
{
    struct agent_llm *a = c->llm;
    const char *cmd = jstr(args, "command");
    ao_sandbox_opts so;
    ao_sandbox_result r;
    ao_sandbox_mount m[3];
    char threads[32], *text = NULL;
    const char *env[3] = {threads, "AO_SANDBOX=1", NULL};
    const char *argv[4] = {"bash", "-c", cmd, NULL};
    double limit = cfg_num(a->cfg, "bash_timeout", 120), t = cfg_num(args, "timeout", limit);
    int nm = 0, rc;
    if (!cmd) return strdup("error: bash needs a \"command\" string");
    memset(&r, 0, sizeof r);
    m[nm++] = (ao_sandbox_mount){a->ws_dir, "/workspace", 1};
    m[nm++] = (ao_sandbox_mount){c->o->data, "/data", 0};
    if (ao_is_dir(a->split_dir)) m[nm++] = (ao_sandbox_mount){a->split_dir, "/split", 0};
    snprintf(threads, sizeof threads, "AO_THREADS=%d", c->o->threads);
    ao_sandbox_opts_init(&so);
    so.mounts = m;
    so.n_mounts = nm;
    so.cwd = "/workspace";
    so.env = env;
    so.timeout = t > 0 && t < limit ? t : limit;
    so.mem_mb = (long)cfg_num(a->cfg, "mem_limit_mb", 8192);
    if ((rc = ao_sandbox_run(&so, argv, &r, err)) < 0) return NULL;
    text = ao_sandbox_describe(&r);
    ao_sandbox_result_clear(&r);
    if (!text) ao_err_set(err, AO_EMEM, "out of memory");
    return text;
}

/* Runs one tool call; the result text goes back to the model. *submitted
 * is set for an accepted submit. NULL with err set on real errors. */
static char *run_tool(agent_ctx *c, conv *cv, const char *name, const json_t *args, int *accepted, ao_err *err)
{
    struct agent_llm *a = c->llm;
    ao_err te;
    char *text = NULL, msg[AO_ERRMSG_MAX + 256];
    int rc = AO_OK;
    ao_err_init(&te);
    *accepted = 0;
    if (!strcmp(name, "submit")) {
        json_t *out = NULL;
        int ok = ao_jsonschema_validate_file(a->schemas, cv->schema_file, args, msg, sizeof msg, err);
        if (ok < 0) return NULL;
        if (ok == 0) {
            json_array_append_new(cv->attempts, json_pack("{s:O,s:s,s:s}", "submitted", args, "verdict", "rejected", "reason", msg));
            if (asprintf(&text, "submit rejected: %s. Fix it and call submit again.", msg) < 0) text = NULL;
            return text ? text : (ao_err_set(err, AO_EMEM, "out of memory"), NULL);
        }
        if ((ok = cv->validate(c, cv, args, &out, msg, sizeof msg, err)) < 0) return NULL;
        json_array_append_new(cv->attempts, json_pack("{s:O,s:s,s:s}", "submitted", args, "verdict", ok ? "accepted" : "rejected", "reason", ok ? "" : msg));
        if (!ok) {
            if (asprintf(&text, "submit rejected: %s. Fix it and call submit again.", msg) < 0) text = NULL;
            return text ? text : (ao_err_set(err, AO_EMEM, "out of memory"), NULL);
        }
        json_decref(cv->accepted);
        cv->accepted = out;
        *accepted = 1;
        return strdup("accepted");
    }
    if (!strcmp(name, "read_file")) {
        json_t *f = json_object_get(args, "first_line"), *l = json_object_get(args, "last_line");
        rc = ao_wsfs_read(&a->ws, jstr(args, "path") ? jstr(args, "path") : "", f ? (long)json_integer_value(f) : 1, l ? (long)json_integer_value(l) : 0, &text, &te);
    } else if (!strcmp(name, "list_files")) {
        json_t *d = json_object_get(args, "depth");
        char *t2 = NULL;
        rc = ao_wsfs_list(&a->ws, jstr(args, "path") ? jstr(args, "path") : "/workspace", d ? (int)json_integer_value(d) : 2, &t2, &te);
        text = t2;
    } else if (cv->read_only && (!strcmp(name, "bash") || !strcmp(name, "write_file") || !strcmp(name, "replace_in_file"))) {
        return strdup("error: this step may only read files and submit");
    } else if (!strcmp(name, "write_file")) {
        const char *content = jstr(args, "content");
        if (!content) return strdup("error: write_file needs \"path\" and \"content\" strings");
        rc = ao_wsfs_write(&a->ws, jstr(args, "path") ? jstr(args, "path") : "", content, strlen(content), json_is_true(json_object_get(args, "executable")), &te);
        if (rc == AO_OK) { if (asprintf(&text, "wrote %zu bytes", strlen(content)) < 0) text = NULL; }
    } else if (!strcmp(name, "replace_in_file")) {
        json_t *cnt = json_object_get(args, "count");
        if (!jstr(args, "old") || !jstr(args, "new")) return strdup("error: replace_in_file needs \"path\", \"old\" and \"new\" strings");
        rc = ao_wsfs_replace(&a->ws, jstr(args, "path") ? jstr(args, "path") : "", jstr(args, "old"), jstr(args, "new"), cnt ? (int)json_integer_value(cnt) : 1, &te);
        if (rc == AO_OK) text = strdup("replaced");
    } else if (!strcmp(name, "bash")) {
        return tool_bash(c, args, err);
    } else {
        if (asprintf(&text, "error: unknown tool '%s'; the tools are bash, read_file, write_file, replace_in_file, list_files and submit", name) < 0) text = NULL;
        return text ? text : (ao_err_set(err, AO_EMEM, "out of memory"), NULL);
    }
    if (rc == AO_EDATA) {
        free(text);
        if (asprintf(&text, "error: %s", te.msg) < 0) text = NULL;
    } else if (rc < 0) {
        free(text);
        ao_err_set(err, rc, "%s", te.msg);
        return NULL;
    }
    if (!text) ao_err_set(err, AO_EMEM, "out of memory");
    return text;
}

/* ---- the conversation --------------------------------------------------------- */

static size_t message_chars(const json_t *m)
{
    const char *c = json_string_value(json_object_get(m, "content"));
    size_t n = c ? strlen(c) : 0, i;
    json_t *call;
    json_array_foreach(json_object_get(m, "tool_calls"), i, call) {
        const char *a = json_string_value(json_object_get(json_object_get(call, "function"), "arguments"));
        n += a ? strlen(a) : 0;
    }
    return n;
}

/* Keeps a long conversation within `budget` characters: the oldest tool
 * results (never the prompts or the last KEEP_RECENT messages) are
 * replaced by a note, so a step with many commands does not overflow the
 * model's context. Returns the number of results elided. */
static int elide_old_results(json_t *messages, size_t budget)
{
    static const char note[] = "[this earlier tool output was elided to keep the conversation short; run the tool again if you need it]";
    size_t total = 0, i, n = json_array_size(messages);
    int elided = 0;
    for (i = 0; i < n; i++) total += message_chars(json_array_get(messages, i));
    for (i = 2; i + KEEP_RECENT < n && total > budget; i++) {
        json_t *m = json_array_get(messages, i);
        size_t len = message_chars(m);
        if (strcmp(jstr(m, "role"), "tool") != 0 || len <= sizeof note) continue;
        json_object_set_new(m, "content", json_string(note));
        total -= len - (sizeof note - 1);
        elided++;
    }
    return elided;
}

static void record_failure(agent_ctx *c, const char *step, const char *kind, const char *message)
{
    json_t *it = ao_state_iteration(c->s);
    ao_error("the LLM %s step failed (%s): %s", step, kind, message);
    if (it) json_object_set_new(it, "failure", json_pack("{s:s,s:s,s:s}", "step", step, "kind", kind, "message", message));
}

/* The tools offered in this step: every tool, or the read-only ones, with
 * submit's parameters set to the step's schema. */
static json_t *step_tools(struct agent_llm *a, const conv *cv, const json_t *submit_schema)
{
    json_t *tools = json_array(), *t;
    size_t i;
    json_array_foreach(a->tools, i, t) {
        const char *n = jstr(json_object_get(t, "function"), "name");
        json_t *copy;
        if (!n) continue;
        if (cv->read_only && strcmp(n, "read_file") && strcmp(n, "list_files") && strcmp(n, "submit")) continue;
        copy = json_deep_copy(t);
        if (!strcmp(n, "submit")) json_object_set_new(json_object_get(copy, "function"), "parameters", json_deep_copy(submit_schema));
        json_array_append_new(tools, copy);
    }
    return tools;
}

/* Runs the step's conversation. AO_OK with cv->accepted set, or AO_OK and
 * *fail_kind/fail_msg set when the agent failed; < -1 on real errors. */
static int converse(agent_ctx *c, conv *cv, const json_t *extra_vars, const char **fail_kind, char *fail_msg, size_t fail_n, ao_err *err)
{
    struct agent_llm *a = c->llm;
    json_t *schema_file = NULL, *schema = NULL, *vars = NULL, *messages = NULL, *tools = NULL, *u0 = NULL;
    char *sys = NULL, *user = NULL, *path = NULL;
    int rc = AO_OK, turn, max_turns = (int)cfg_num(a->cfg, "max_turns", 40), rejects = 0, nudges = 0, lengths = 0;
    int max_rejects = (int)cfg_num(a->cfg, "submit_retries", 3);
    double t0 = ao_now();
    ao_llm_reply r;
    memset(&r, 0, sizeof r);
    *fail_kind = NULL;
    if (!(path = ao_path_join(a->schemas, cv->schema_file))) return ao_err_set(err, AO_EMEM, "out of memory");
    {
        json_error_t je;
        if (!(schema_file = json_load_file(path, 0, &je))) { rc = ao_err_set(err, AO_EIO, "%s:%d: %s", path, je.line, je.text); goto DONE; }
    }
    if (!(schema = inline_refs(schema_file, a->schemas, 0, err))) { rc = err->code; goto DONE; }
    vars = prompt_vars(c, cv->step, schema, extra_vars);
    if (!(sys = load_prompt(a, "system", vars, err)) || !(user = load_prompt(a, cv->step, vars, err))) { rc = err->code; goto DONE; }
    messages = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", sys, "role", "user", "content", user);
    tools = step_tools(a, cv, schema);
    cv->attempts = json_array();
    u0 = ao_llm_usage(a->llm);
    if ((rc = ao_llm_transcript(a->llm, "step_start", json_pack("{s:s,s:I}", "step", cv->step, "iteration",
                                (json_int_t)json_array_size(json_object_get(c->s->history, "iterations"))), err)) < 0) goto DONE;
    for (turn = 0; turn < max_turns && !cv->accepted && !*fail_kind; turn++) {
        json_t *calls, *msg, *call;
        size_t i;
        ao_err ce;
        ao_err_init(&ce);
        ao_llm_reply_clear(&r);
        if (elide_old_results(messages, (size_t)cfg_num(a->cfg, "context_chars", 120000)) > 0)
            ao_debug("step %s: older tool results elided to fit the context budget", cv->step);
        rc = ao_llm_chat(a->llm, messages, tools, "required", NULL, &r, &ce);
        if (rc == AO_EBUDGET || rc == AO_ELLM) {
            *fail_kind = rc == AO_EBUDGET ? "budget" : "provider";
            snprintf(fail_msg, fail_n, "%s", ce.msg);
            rc = AO_OK;
            break;
        }
        if (rc < 0) { ao_err_set(err, rc, "%s", ce.msg); goto DONE; }
        msg = json_pack("{s:s,s:O}", "role", "assistant", "content", json_object_get(r.message, "content") ? json_object_get(r.message, "content") : json_null());
        calls = json_object_get(r.message, "tool_calls");
        if (json_array_size(calls)) json_object_set(msg, "tool_calls", calls);
        json_array_append_new(messages, msg);
        if (r.finish == AO_LLM_FINISH_CONTENT_FILTER) {
            *fail_kind = "content_filter";
            snprintf(fail_msg, fail_n, "the provider filtered the reply or the model refused (finish_reason '%s')", r.finish_reason);
            break;
        }
        if (!json_array_size(calls)) {
            const char *nudge;
            if (r.finish == AO_LLM_FINISH_LENGTH) {
                if (++lengths > 2) { *fail_kind = "length"; snprintf(fail_msg, fail_n, "the model's replies were cut by the length limit %d times", lengths); break; }
                nudge = "Your reply was cut off by the length limit. Keep messages short and write long files in parts with write_file.";
            } else {
                if (++nudges > 3) { *fail_kind = "no_submit"; snprintf(fail_msg, fail_n, "the model stopped calling tools without submitting"); break; }
                nudge = "Continue with the tools; the step ends only when you call submit.";
            }
            json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "user", "content", nudge));
            continue;
        }
        json_array_foreach(calls, i, call) {
            json_t *fn = json_object_get(call, "function"), *args = NULL;
            const char *name = jstr(fn, "name"), *argstr = jstr(fn, "arguments"), *id = jstr(call, "id");
            char *result = NULL;
            int accepted = 0;
            double ts = ao_now();
            json_error_t je;
            if (cv->accepted) {
                result = strdup("not run: the step was already accepted");
            } else if (!name) {
                result = strdup("error: a tool call without a function name");
            } else if (!(args = json_loads(argstr ? argstr : "{}", JSON_DECODE_ANY, &je)) || !json_is_object(args)) {
                if (asprintf(&result, "error: the arguments of %s are not a JSON object (%s at character %d); send them again as valid JSON",
                             name, args ? "not an object" : je.text, je.position) < 0) result = NULL;
            } else {
                if (!(result = run_tool(c, cv, name, args, &accepted, err))) { json_decref(args); rc = err->code; goto DONE; }
                if (!strcmp(name, "submit") && !accepted && ++rejects > max_rejects) {
                    *fail_kind = "invalid_output";
                    snprintf(fail_msg, fail_n, "%d submits rejected; the last: %.400s", rejects, result);
                }
            }
            if (!result) { json_decref(args); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            if (strlen(result) > TOOL_RESULT_MAX) strcpy(result + TOOL_RESULT_MAX - 32, "\n[result truncated]");
            if ((rc = ao_llm_transcript(a->llm, "tool", json_pack("{s:s,s:s?,s:s?,s:s,s:f}", "step", cv->step, "name", name, "arguments", argstr,
                                        "result", result, "seconds", ao_now() - ts), err)) < 0) { free(result); json_decref(args); goto DONE; }
            json_array_append_new(messages, json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id", id ? id : "", "content", result));
            free(result);
            json_decref(args);
        }
    }
    if (!cv->accepted && !*fail_kind) {
        *fail_kind = "max_turns";
        snprintf(fail_msg, fail_n, "no accepted submit within %d model replies", max_turns);
    }
    {
        json_t *u1 = ao_llm_usage(a->llm), *d = usage_diff(u0, u1);
        json_object_set_new(d, "step", json_string(cv->step));
        json_object_set_new(d, "iteration", json_integer((json_int_t)json_array_size(json_object_get(c->s->history, "iterations"))));
        json_object_set_new(d, "seconds", json_real(ao_now() - t0));
        json_array_append_new(a->steps_usage, d);
        json_decref(u1);
    }
    rc = ao_llm_transcript(a->llm, "step_end", json_pack("{s:s,s:s,s:s}", "step", cv->step, "status", cv->accepted ? "accepted" : "failed",
                                                         "reason", *fail_kind ? fail_msg : ""), err);
DONE:
    ao_llm_reply_clear(&r);
    json_decref(schema_file);
    json_decref(schema);
    json_decref(vars);
    json_decref(messages);
    json_decref(tools);
    json_decref(u0);
    free(sys); free(user); free(path);
    return rc;
}

/* ---- validators --------------------------------------------------------------- */

static int accept_as_is(agent_ctx *c, conv *cv, const json_t *submitted, json_t **out, char *msg, size_t n, ao_err *err)
{
    (void)c; (void)cv; (void)msg; (void)n; (void)err;
    *out = json_deep_copy(submitted);
    return 1;
}

typedef struct id_row { const char *id; int64_t row; } id_row;
static int id_row_cmp(const void *a, const void *b) { return strcmp(((const id_row *)a)->id, ((const id_row *)b)->id); }

/* Checks an agent-written split against the training data: every row
 * exactly once, unchanged, no id in both files. *idx gets the rows of part
 * in the data's numbering. 1 ok, 0 rejected (msg), < -1 error. */
static int split_part(const ao_seqset *all, const id_row *index, unsigned char *seen, const ao_seqset *part, const char *name,
                      int64_t **idx, char *msg, size_t n)
{
    int64_t i;
    if (!(*idx = malloc(sizeof **idx * (size_t)(part->n ? part->n : 1)))) return AO_EMEM;
    for (i = 0; i < part->n; i++) {
        id_row key = {part->ids[i], 0}, *hit = bsearch(&key, index, (size_t)all->n, sizeof *index, id_row_cmp);
        if (!hit) { snprintf(msg, n, "%s: id '%s' is not in /data/train.tsv", name, part->ids[i]); return 0; }
        if (seen[hit->row]) { snprintf(msg, n, "%s: id '%s' appears twice (in this file or in both files)", name, part->ids[i]); return 0; }
        if (!ao_seqset_rows_equal(all, hit->row, part, i) || all->y[hit->row] != part->y[i]) {
            snprintf(msg, n, "%s: the row of id '%s' differs from /data/train.tsv (rows must be copied unchanged)", name, part->ids[i]);
            return 0;
        }
        seen[hit->row] = 1;
        (*idx)[i] = hit->row;
    }
    return 1;
}

static json_t *class_report(const ao_seqset *s, const int64_t *idx, int64_t n, const ao_dataset_info *info)
{
    json_t *r = json_object();
    int64_t *cnt = calloc((size_t)info->n_classes, sizeof *cnt), i;
    int k;
    if (!cnt) return r;
    for (i = 0; i < n; i++) cnt[s->y[idx[i]]]++;
    for (k = 0; k < info->n_classes; k++) json_object_set_new(r, info->classes[k], json_integer(cnt[k]));
    free(cnt);
    return r;
}

/* A class with at least two rows must have rows on both sides, else the
 * validation metrics of every later iteration are undefined or meaningless. */
static int every_class_on_both_sides(const ao_seqset *s, const int64_t *ti, int64_t nt, const int64_t *vi, int64_t nv,
                                     const ao_dataset_info *info, char *msg, size_t n)
{
    int64_t *ct = calloc((size_t)info->n_classes, sizeof *ct), *cv = calloc((size_t)info->n_classes, sizeof *cv), i;
    int k, ok = 1;
    if (!ct || !cv) { free(ct); free(cv); return 1; }   /* the check is advisory under memory pressure */
    for (i = 0; i < nt; i++) ct[s->y[ti[i]]]++;
    for (i = 0; i < nv; i++) cv[s->y[vi[i]]]++;
    for (k = 0; k < info->n_classes && ok; k++) {
        if (ct[k] + cv[k] < 2 || (ct[k] && cv[k])) continue;
        snprintf(msg, n, "class '%s' has no rows in the %s file (%lld in the other): stratify so that every class is on both sides",
                 info->classes[k], ct[k] ? "validation" : "training", (long long)(ct[k] + cv[k]));
        ok = 0;
    }
    free(ct);
    free(cv);
    return ok;
}

static int validate_split(agent_ctx *c, conv *cv, const json_t *sub, json_t **out, char *msg, size_t n, ao_err *err)
{
    struct agent_llm *a = c->llm;
    const char *method = jstr(sub, "method");
    ao_seqset *pt = NULL, *pv = NULL;
    id_row *index = NULL;
    unsigned char *seen = NULL;
    int64_t *ti = NULL, *vi = NULL, i;
    char *ht = NULL, *hv = NULL, *st = NULL, *sv = NULL;
    int ok = 0, rc, w1, w2;
    json_t *report = NULL;
    ao_err de;
    (void)cv;
    if (!strcmp(method, "builtin")) {
        json_t *b = NULL;
        c->valid_fraction = cfg_num(sub, "valid_fraction", 0);
        if ((rc = agent_builtin_step(c, "split", &b, err)) < 0) return rc;
        json_object_set_new(b, "agent", json_string("llm"));
        json_object_set(b, "submitted", (json_t *)sub);
        *out = b;
        return 1;
    }
    if (!jstr(sub, "train_file") || !jstr(sub, "valid_file")) { snprintf(msg, n, "method 'files' needs train_file and valid_file"); return 0; }
    ao_err_init(&de);
    if (!(ht = ao_wsfs_host_path(&a->ws, jstr(sub, "train_file"), &w1, &de)) || !(hv = ao_wsfs_host_path(&a->ws, jstr(sub, "valid_file"), &w2, &de))) {
        snprintf(msg, n, "%s", de.msg);
        goto DONE;
    }
    if (!w1 || !w2) { snprintf(msg, n, "the split files must be under /workspace"); goto DONE; }
    if ((rc = agent_load_split(c, err)) < 0) { ok = rc; goto DONE; }
    if (!(pt = ao_seqset_read(ht, c->info, 1, 1, &de)) || !(pv = ao_seqset_read(hv, c->info, 1, 1, &de))) {
        snprintf(msg, n, "cannot read the split files: %s", de.msg);
        goto DONE;
    }
    if (!pt->n || !pv->n) { snprintf(msg, n, "both split files need rows"); goto DONE; }
    if (!(index = malloc(sizeof *index * (size_t)c->train->n)) || !(seen = calloc((size_t)c->train->n, 1))) { ok = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (i = 0; i < c->train->n; i++) index[i] = (id_row){c->train->ids[i], i};
    qsort(index, (size_t)c->train->n, sizeof *index, id_row_cmp);
    if ((ok = split_part(c->train, index, seen, pt, jstr(sub, "train_file"), &ti, msg, n)) != 1) goto DONE;
    if ((ok = split_part(c->train, index, seen, pv, jstr(sub, "valid_file"), &vi, msg, n)) != 1) goto DONE;
    ok = 0;
    if (pt->n + pv->n != c->train->n) {
        snprintf(msg, n, "the split files hold %lld rows but /data/train.tsv has %lld: every row must be used exactly once",
                 (long long)(pt->n + pv->n), (long long)c->train->n);
        goto DONE;
    }
    if (!every_class_on_both_sides(c->train, ti, pt->n, vi, pv->n, c->info, msg, n)) goto DONE;
    /* the split in force is written by agentomics from the data's own rows */
    if (!(st = ao_state_path(c->s, "split/train.tsv", err)) || !(sv = ao_state_path(c->s, "split/valid.tsv", err))) { ok = err->code; goto DONE; }
    if ((rc = ao_split_write(c->train, ti, pt->n, c->info, st, err)) < 0 || (rc = ao_split_write(c->train, vi, pv->n, c->info, sv, err)) < 0) { ok = rc; goto DONE; }
    {
        int version = (int)json_integer_value(json_object_get(json_object_get(c->s->history, "split"), "version")) + 1;
        report = json_pack("{s:s,s:I,s:I,s:o,s:o,s:i,s:s}", "method", "files", "n_train", (json_int_t)pt->n, "n_valid", (json_int_t)pv->n,
                           "train_classes", class_report(c->train, ti, pt->n, c->info), "valid_classes", class_report(c->train, vi, pv->n, c->info),
                           "version", version, "source", "agent");
        if ((rc = ao_state_write_json(c->s, "split/split.json", report, err)) < 0) { ok = rc; goto DONE; }
        json_object_set_new(c->s->history, "split", json_pack("{s:i,s:s}", "version", version, "source", "agent"));
        json_object_set(ao_state_iteration(c->s), "split_version", json_object_get(report, "version"));
        *out = json_pack("{s:b,s:s,s:i,s:O,s:s,s:O}", "skipped", 0, "source", "agent", "version", version, "report", report, "agent", "llm", "submitted", sub);
    }
    /* the copies in the workspace would otherwise travel into the model */
    unlink(ht);
    unlink(hv);
    ao_seqset_destroy(c->train);
    ao_seqset_destroy(c->valid);
    c->train = c->valid = NULL;
    ok = 1;
DONE:
    json_decref(report);
    ao_seqset_destroy(pt);
    ao_seqset_destroy(pv);
    free(index); free(seen); free(ti); free(vi); free(ht); free(hv); free(st); free(sv);
    return ok;
}

/* Writes rows idx of s as a TSV for a smoke run. */
static int write_rows(const ao_seqset *s, const int64_t *idx, int64_t n, const ao_dataset_info *info, const char *path, ao_err *err)
{
    return ao_split_write(s, idx, n, info, path, err);
}

/* The script smoke run: train on a stratified mini split, predict another,
 * in the sandbox, exactly as train-run will. */
static int smoke_script(agent_ctx *c, const ao_script_spec *spec, json_t **report, char *msg, size_t n, ao_err *err)
{
    struct agent_llm *a = c->llm;
    char tmpl[] = "/tmp/agentomics-smoke.XXXXXX", *tr = NULL, *va = NULL, *md = NULL;
    int64_t *ti = NULL, *vi = NULL, nt = 0, nv = 0;
    ao_seqset *mv = NULL;
    ao_script_limits lim;
    ao_script_report rep;
    double *proba = NULL, t0 = ao_now();
    uint64_t seed = (uint64_t)json_integer_value(json_object_get(c->s->run, "seed"));
    int rc = AO_OK, ok = 0;
    memset(&rep, 0, sizeof rep);
    memset(&lim, 0, sizeof lim);
    lim.time_limit = cfg_num(a->cfg, "bash_timeout", 120) * 2;
    lim.mem_mb = (long)cfg_num(a->cfg, "mem_limit_mb", 8192);
    lim.threads = c->o->threads;
    lim.seed = seed;
    if (!mkdtemp(tmpl)) return ao_err_set(err, AO_EIO, "cannot create a temporary directory: %s", strerror(errno));
    if (!(tr = ao_path_join(tmpl, "train.tsv")) || !(va = ao_path_join(tmpl, "valid.tsv")) || !(md = ao_path_join(tmpl, "model"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (ao_split_mini(c->train, 50, seed, &ti, &nt) < 0 || ao_split_mini(c->valid, 50, seed, &vi, &nv) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = write_rows(c->train, ti, nt, c->info, tr, err)) < 0 || (rc = write_rows(c->valid, vi, nv, c->info, va, err)) < 0) goto DONE;
    if ((rc = ao_script_train(spec, a->ws_dir, c->o->data, tr, va, md, &lim, &rep, err)) < 0) goto DONE;
    if (!rep.ok) {
        snprintf(msg, n, "the training entry failed its smoke run on %lld rows: %s; output: %.3000s", (long long)nt, rep.message, rep.output ? rep.output : "");
        goto REPORT;
    }
    ao_script_report_clear(&rep);
    if (!(mv = ao_seqset_subset(c->valid, vi, nv, err))) { rc = err->code; goto DONE; }
    if (!(proba = malloc(sizeof *proba * (size_t)(mv->n * c->info->n_classes)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = ao_script_predict(md, mv, &lim, proba, &rep, err)) < 0) goto DONE;
    if (!rep.ok) {
        snprintf(msg, n, "the inference entry failed its smoke run: %s; output: %.3000s", rep.message, rep.output ? rep.output : "");
        goto REPORT;
    }
    ok = 1;
REPORT:
    *report = json_pack("{s:s,s:s,s:I,s:I,s:f}", "status", ok ? "ok" : "failed", "message", ok ? "trained and predicted on the mini split in the sandbox" : msg,
                        "n_train", (json_int_t)nt, "n_valid", (json_int_t)nv, "seconds", ao_now() - t0);
DONE:
    ao_script_report_clear(&rep);
    ao_seqset_destroy(mv);
    ao_rm_rf(tmpl);
    free(proba); free(ti); free(vi); free(tr); free(va); free(md);
    return rc < 0 ? rc : ok;
}

static int validate_code(agent_ctx *c, conv *cv, const json_t *sub, json_t **out, char *msg, size_t n, ao_err *err)
{
    const char *entry = jstr(sub, "entry");
    json_t *smoke = NULL;
    int rc;
    (void)cv;
    if ((rc = agent_load_split(c, err)) < 0) return rc;
    if (!c->valid) return ao_err_set(err, AO_EDATA, "no validation split: run the split step first");
    if (!strcmp(entry, "builtin")) {
        json_t *recipe = json_object_get(sub, "recipe");
        if (!recipe) { snprintf(msg, n, "entry 'builtin' needs a recipe"); return 0; }
        if ((rc = agent_smoke_recipe(c, recipe, &smoke, err)) < 0) return rc;
        if (strcmp(jstr(smoke, "status"), "ok") != 0) {
            snprintf(msg, n, "the recipe failed its smoke run: %s", jstr(smoke, "message"));
            json_decref(smoke);
            return 0;
        }
        if ((rc = ao_state_write_json(c->s, "workspace/recipe.json", recipe, err)) < 0) { json_decref(smoke); return rc; }
        *out = json_pack("{s:s,s:s,s:O,s:o,s:s}", "entry", "builtin", "recipe_path", "workspace/recipe.json", "recipe", recipe, "smoke", smoke, "agent", "llm");
        return 1;
    } else {
        ao_script_spec spec;
        ao_err de;
        int clean;
        memset(&spec, 0, sizeof spec);
        ao_err_init(&de);
        if (ao_script_spec_parse(sub, &spec, &de) < 0) { snprintf(msg, n, "%s", de.msg); ao_script_spec_free(&spec); return 0; }
        if ((clean = ao_script_static_check(&spec, c->llm->ws_dir, msg, n, err)) < 0) { ao_script_spec_free(&spec); return clean; }
        if (clean == 0) {
            size_t l = strlen(msg);
            snprintf(msg + l, n - l, " (the inference entry may read only its model directory and its input)");
            ao_script_spec_free(&spec);
            return 0;
        }
        rc = smoke_script(c, &spec, &smoke, msg, n, err);
        ao_script_spec_free(&spec);
        if (rc <= 0) { json_decref(smoke); return rc; }
        *out = json_pack("{s:s,s:O,s:O,s:O,s:o,s:s}", "entry", "script", "interpreter", json_object_get(sub, "interpreter") ? json_object_get(sub, "interpreter") : json_null(),
                         "train_entry", json_object_get(sub, "train_entry"), "inference_entry", json_object_get(sub, "inference_entry"), "smoke", smoke, "agent", "llm");
        return 1;
    }
}

/* ---- steps ------------------------------------------------------------------ */

int agent_llm_step(agent_ctx *c, const char *step, json_t **out, ao_err *err)
{
    conv cv;
    const char *fail_kind = NULL;
    char fail_msg[1024] = "", schema_file[64];
    json_t *base = NULL;
    int rc;
    *out = NULL;
    memset(&cv, 0, sizeof cv);
    cv.step = step;
    snprintf(schema_file, sizeof schema_file, "submit-%s.schema.json", step);
    cv.schema_file = schema_file;
    cv.validate = accept_as_is;
    if (!strcmp(step, "plan")) ao_state_new_iteration(c->s);
    if (!strcmp(step, "explore")) {
        /* the trusted profile first (once per run); the model explores on top */
        if ((rc = agent_builtin_step(c, "explore", &base, err)) < 0) return rc;
    }
    if (!strcmp(step, "split")) {
        json_t *sp = json_object_get(c->s->history, "split");
        if ((rc = agent_load_split(c, err)) < 0) return rc;
        /* a split in force is kept: iterations must stay comparable */
        if (c->user_valid || json_integer_value(json_object_get(sp, "version")) > 0) return agent_builtin_step(c, "split", out, err);
        cv.validate = validate_split;
    }
    if (!strcmp(step, "code")) cv.validate = validate_code;
    if ((rc = llm_open(c, err)) < 0) goto DONE;
    if ((rc = converse(c, &cv, NULL, &fail_kind, fail_msg, sizeof fail_msg, err)) < 0) goto DONE;
    if (fail_kind) {
        record_failure(c, step, fail_kind, fail_msg);
        json_object_set(json_object_get(ao_state_iteration(c->s), "failure"), "attempts", cv.attempts);
        goto DONE;
    }
    if (!strcmp(step, "plan")) {
        json_t *best = json_object_get(c->s->history, "best");
        if (!c->info && !(c->info = ao_dataset_info_load(c->o->data, err))) { rc = err->code; goto DONE; }
        *out = json_pack("{s:I,s:O,s:s,s:I,s:O,s:s,s:O}", "iteration", (json_int_t)json_array_size(json_object_get(c->s->history, "iterations")),
                         "goal", json_object_get(cv.accepted, "goal"),
                         "metric", ao_policy_metric(c->s->run, c->info->n_classes),
                         "iterations_budget", json_integer_value(json_object_get(json_object_get(c->s->run, "budgets"), "iterations")),
                         "best_so_far", best ? best : json_null(), "agent", "llm", "plan", cv.accepted);
    } else if (!strcmp(step, "explore")) {
        *out = base;
        base = NULL;
        json_object_set_new(*out, "agent", json_string("llm"));
        json_object_set(*out, "findings", cv.accepted);
    } else if (!strcmp(step, "represent") || !strcmp(step, "architect")) {
        *out = json_deep_copy(cv.accepted);
        json_object_set_new(*out, "agent", json_string("llm"));
    } else {   /* split, code: the validator built the output */
        *out = json_incref(cv.accepted);
        json_object_set(*out, "attempts", cv.attempts);
    }
DONE:
    json_decref(base);
    json_decref(cv.accepted);
    json_decref(cv.attempts);
    return rc;
}

int agent_llm_reflect(agent_ctx *c, const json_t *metrics, json_t **feedback, json_t **failure, ao_err *err)
{
    conv cv;
    const char *fail_kind = NULL;
    char fail_msg[1024] = "";
    json_t *run = NULL, *extra = NULL, *it = ao_state_iteration(c->s);
    int rc;
    *feedback = NULL;
    *failure = NULL;
    memset(&cv, 0, sizeof cv);
    cv.step = "reflect";
    cv.schema_file = "submit-reflect.schema.json";
    cv.validate = accept_as_is;
    cv.read_only = 1;
    if (!c->o->data) return ao_err_set(err, AO_EUSAGE, "LLM reflection needs --data AGENTDIR");
    if ((rc = llm_open(c, err)) < 0) return rc;
    run = json_pack("{s:O*,s:O*,s:O*,s:O*,s:O*,s:O*}", "status", json_object_get(metrics, "status"), "message", json_object_get(metrics, "message"),
                    "valid", json_object_get(metrics, "valid"), "train", json_object_get(metrics, "train"),
                    "analysis", json_object_get(json_object_get(json_object_get(it, "steps"), "analyze"), "output"),
                    "log_tail", json_object_get(metrics, "log_tail"));
    if (json_object_get(it, "failure")) json_object_set(run, "agent_failure", json_object_get(it, "failure"));
    extra = json_object();
    set_text(extra, "run", compact(run, PROMPT_PART_MAX));
    rc = converse(c, &cv, extra, &fail_kind, fail_msg, sizeof fail_msg, err);
    if (rc == AO_OK && fail_kind) {
        ao_warn("LLM reflection failed (%s): %s; the builtin diagnosis stands", fail_kind, fail_msg);
        *failure = json_pack("{s:s,s:s,s:s}", "step", "reflect", "kind", fail_kind, "message", fail_msg);
    } else if (rc == AO_OK) {
        *feedback = json_incref(cv.accepted);
    }
    json_decref(run);
    json_decref(extra);
    json_decref(cv.accepted);
    json_decref(cv.attempts);
    return rc;
}
