/* runstate.c — run.json and history.json: validation against the
 * compiled-in schemas, the rules no schema can state, and the typed
 * structures every reader of a state uses (runstate.h). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/fileio.h"
#include "agentomics/jsonschema.h"
#include "agentomics/rng.h"
#include "agentomics/runstate.h"

static const char *const metric_names[] = {"auroc", "auprc", "mcc", "f1_macro", "accuracy", "balanced_accuracy", NULL};

int ao_metric_known(const char *name, int allow_auto)
{
    int i;
    if (!name) return 0;
    if (allow_auto && !strcmp(name, "auto")) return 1;
    for (i = 0; metric_names[i]; i++) if (!strcmp(metric_names[i], name)) return 1;
    return 0;
}

const char *ao_metric_resolve(const char *name, int n_classes)
{
    if (name && strcmp(name, "auto") != 0) return name;
    return n_classes > 2 ? "f1_macro" : "auroc";
}

/* ---- helpers ------------------------------------------------------------------ */

/* Validates j against the compiled-in schema `name`. */
static int schema_check(const char *name, const json_t *j, const char *file, ao_err *err)
{
    const char *text = ao_embedded_schema(name);
    json_error_t je;
    json_t *schema;
    char msg[AO_ERRMSG_MAX - 128];
    int ok;
    if (!text || !(schema = json_loads(text, 0, &je))) return ao_err_set(err, AO_EINTERNAL, "the compiled-in %s is missing or invalid", name);
    ok = ao_jsonschema_validate(schema, j, NULL, msg, sizeof msg, err);
    json_decref(schema);
    if (ok < 0) return ok;
    return ok ? AO_OK : ao_err_set(err, AO_EDATA, "%s: %s", file, msg);
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double jnum(const json_t *o, const char *k, double dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* strdup of a JSON string member, NULL when absent; *oom set when a copy fails. */
static char *jdup(const json_t *o, const char *k, int *oom)
{
    const char *s = jstr(o, k);
    char *d;
    if (!s) return NULL;
    if (!(d = strdup(s))) *oom = 1;
    return d;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* ---- run.json ------------------------------------------------------------------- */

void ao_run_config_clear(ao_run_config *rc)
{
    if (!rc) return;
    free(rc->data_dir);
    free(rc->content_hash);
    free(rc->llm.provider);
    free(rc->llm.model);
    free(rc->llm.api_base);
    free(rc->llm.price_file);
    free(rc->llm.protocol);
    memset(rc, 0, sizeof *rc);
}

int ao_run_config_parse(const json_t *j, const char *file, ao_run_config *rc, ao_err *err)
{
    const json_t *b = json_object_get(j, "budgets"), *llm = json_object_get(j, "llm"), *data = json_object_get(j, "data");
    const char *baseline;
    int rc_, oom = 0;
    memset(rc, 0, sizeof *rc);
    if ((rc_ = schema_check("run.schema.json", j, file, err)) < 0) return rc_;
    rc->agent = !strcmp(jstr(j, "agent"), "llm") ? AO_AGENT_LLM : AO_AGENT_BUILTIN;
    rc->base_seed = (uint64_t)json_integer_value(json_object_get(j, "seed"));
    rc->lineage = (int)json_integer_value(json_object_get(j, "lineage"));
    rc->seed = (uint64_t)json_integer_value(json_object_get(j, "lineage_seed"));
    snprintf(rc->metric, sizeof rc->metric, "%s", jstr(j, "metric"));
    rc->n_classes = (int)json_integer_value(json_object_get(j, "n_classes"));
    rc->data_dir = jdup(data, "dir", &oom);
    rc->content_hash = jdup(data, "content_hash", &oom);
    rc->budgets.iterations = (int)json_integer_value(json_object_get(b, "iterations"));
    rc->budgets.wall_seconds = jnum(b, "wall_seconds", 0);
    rc->budgets.train_time_limit = jnum(b, "train_time_limit", 0);
    rc->budgets.train_mem_limit = jnum(b, "train_mem_limit", 0);
    rc->budgets.plateau = (int)json_integer_value(json_object_get(b, "plateau"));
    rc->budgets.target = jnum(b, "target", NAN);
    rc->valid_fraction = jnum(j, "valid_fraction", 0);
    baseline = jstr(j, "baseline");
    rc->baseline = !baseline || !strcmp(baseline, "builtin");
    if (llm) {
        rc->has_llm = 1;
        rc->llm.provider = jdup(llm, "provider", &oom);
        rc->llm.model = jdup(llm, "model", &oom);
        rc->llm.api_base = jdup(llm, "api_base", &oom);
        rc->llm.price_file = jdup(llm, "price_file", &oom);
        rc->llm.max_calls = (int)json_integer_value(json_object_get(llm, "max_calls"));
        rc->llm.max_cost = jnum(llm, "max_cost", 0);
        rc->llm.max_turns = (int)json_integer_value(json_object_get(llm, "max_turns"));
        rc->llm.submit_retries = (int)json_integer_value(json_object_get(llm, "submit_retries"));
        rc->llm.request_timeout = jnum(llm, "request_timeout", 300);
        rc->llm.step_timeout = jnum(llm, "step_timeout", 0);
        rc->llm.workspace_mb = jnum(llm, "workspace_quota_mb", 0);
        rc->llm.workspace_files = (long)json_integer_value(json_object_get(llm, "workspace_files"));
        rc->llm.sandbox_tmp_mb = jnum(llm, "sandbox_tmp_mb", 0);
        rc->llm.bash_timeout = jnum(llm, "bash_timeout", 120);
        rc->llm.mem_limit_mb = jnum(llm, "mem_limit_mb", 8192);
        rc->llm.protocol = jdup(llm, "protocol", &oom);
        rc->llm.max_tokens = (int)json_integer_value(json_object_get(llm, "max_tokens"));
        rc->llm.context_tokens = (long)json_integer_value(json_object_get(llm, "context_tokens"));
    }
    if (oom) { ao_run_config_clear(rc); return ao_err_set(err, AO_EMEM, "out of memory"); }
    /* what the schema cannot say */
    if (rc->seed != ao_seed_derive(rc->base_seed, AO_SEED_LINEAGE, (uint64_t)rc->lineage)) {
        ao_run_config_clear(rc);
        return ao_err_set(err, AO_EDATA, "%s: $.lineage_seed: not the seed of lineage %d under seed %llu (edited by hand?)", file,
                          (int)json_integer_value(json_object_get(j, "lineage")), (unsigned long long)json_integer_value(json_object_get(j, "seed")));
    }
    if (rc->agent == AO_AGENT_LLM && !rc->has_llm) {
        ao_run_config_clear(rc);
        return ao_err_set(err, AO_EDATA, "%s: $: an llm run needs its \"llm\" settings", file);
    }
    return AO_OK;
}

json_t *ao_run_config_to_json(const ao_run_config *rc)
{
    json_t *j = json_pack("{s:i,s:s,s:I,s:i,s:I,s:s,s:i,s:{s:s,s:s},s:{s:i,s:f,s:f,s:i,s:o},s:f}",
                          "format_version", AO_RUNSTATE_FORMAT_VERSION, "agent", rc->agent == AO_AGENT_LLM ? "llm" : "builtin",
                          "seed", (json_int_t)rc->base_seed, "lineage", rc->lineage, "lineage_seed", (json_int_t)rc->seed,
                          "metric", rc->metric, "n_classes", rc->n_classes,
                          "data", "dir", rc->data_dir ? rc->data_dir : "", "content_hash", rc->content_hash ? rc->content_hash : "",
                          "budgets", "iterations", rc->budgets.iterations, "wall_seconds", rc->budgets.wall_seconds,
                          "train_time_limit", rc->budgets.train_time_limit, "plateau", rc->budgets.plateau, "target", num_or_null(rc->budgets.target),
                          "valid_fraction", rc->valid_fraction);
    if (j && rc->budgets.train_mem_limit > 0)
        json_object_set_new(json_object_get(j, "budgets"), "train_mem_limit", json_real(rc->budgets.train_mem_limit));
    if (j && rc->agent == AO_AGENT_LLM) json_object_set_new(j, "baseline", json_string(rc->baseline ? "builtin" : "none"));
    if (j && rc->has_llm) {
        const ao_llm_settings *l = &rc->llm;
        json_t *o = json_pack("{s:s,s:s*,s:s*,s:s*,s:i,s:f,s:i,s:i,s:f,s:f,s:f,s:s*,s:i,s:I}", "provider", l->provider ? l->provider : "openai",
                              "model", l->model, "api_base", l->api_base, "price_file", l->price_file, "max_calls", l->max_calls,
                              "max_cost", l->max_cost, "max_turns", l->max_turns, "submit_retries", l->submit_retries,
                              "request_timeout", l->request_timeout, "bash_timeout", l->bash_timeout, "mem_limit_mb", l->mem_limit_mb,
                              "protocol", l->protocol, "max_tokens", l->max_tokens, "context_tokens", (json_int_t)l->context_tokens);
        /* written only when set: states without one stay byte-identical */
        if (o && l->step_timeout > 0 && json_object_set_new(o, "step_timeout", json_real(l->step_timeout)) != 0) { json_decref(o); o = NULL; }
        if (o && l->workspace_mb > 0 && json_object_set_new(o, "workspace_quota_mb", json_real(l->workspace_mb)) != 0) { json_decref(o); o = NULL; }
        if (o && l->workspace_files > 0 && json_object_set_new(o, "workspace_files", json_integer(l->workspace_files)) != 0) { json_decref(o); o = NULL; }
        if (o && l->sandbox_tmp_mb > 0 && json_object_set_new(o, "sandbox_tmp_mb", json_real(l->sandbox_tmp_mb)) != 0) { json_decref(o); o = NULL; }
        if (!o || json_object_set_new(j, "llm", o) != 0) { json_decref(j); return NULL; }
    }
    return j;
}

int ao_run_config_check_data(const ao_run_config *rc, const char *data_dir, ao_err *err)
{
    char *path = ao_path_join(data_dir, "dataset.json");
    json_t *ds = NULL;
    json_error_t je;
    const char *hash;
    int ret = AO_OK;
    if (!path) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!ao_file_exists(path)) { ret = ao_err_set(err, AO_EIO, "%s: no such file (not an agent data directory)", path); goto DONE; }
    if (!(ds = json_load_file(path, 0, &je)) || !json_is_object(ds)) { ret = ao_err_set(err, AO_EDATA, "%s:%d: not a JSON object: %s", path, je.line, je.text); goto DONE; }
    hash = jstr(ds, "content_hash");
    if (!hash || !rc->content_hash || strcmp(hash, rc->content_hash) != 0)
        ret = ao_err_set(err, AO_EDATA, "%s: content hash %.16s... is not the run's %.16s... (run.json $.data.content_hash): "
                         "this state belongs to another dataset", path, hash ? hash : "(none)", rc->content_hash ? rc->content_hash : "(none)");
    else if (json_array_size(json_object_get(ds, "classes")) != (size_t)rc->n_classes)
        ret = ao_err_set(err, AO_EDATA, "%s: %zu classes, the run has %d (run.json $.n_classes)", path,
                         json_array_size(json_object_get(ds, "classes")), rc->n_classes);
DONE:
    json_decref(ds);
    free(path);
    return ret;
}

/* ---- history.json --------------------------------------------------------------- */

void ao_history_init(ao_history *h) { memset(h, 0, sizeof *h); }

static void run_record_clear(ao_run_record *r)
{
    free(r->run_id);
    free(r->message);
    json_decref(r->train);
    json_decref(r->valid);
    json_decref(r->selection);
    memset(r, 0, sizeof *r);
}

static void iteration_clear(ao_iteration *it)
{
    json_decref(it->steps);
    json_decref(it->failure);
    json_decref(it->feedback);
    if (it->has_run) run_record_clear(&it->run);
    memset(it, 0, sizeof *it);
}

void ao_history_clear(ao_history *h)
{
    int i;
    if (!h) return;
    for (i = 0; i < h->n_iters; i++) iteration_clear(&h->iters[i]);
    free(h->iters);
    json_decref(h->profile);
    free(h->best.run_id);
    free(h->stop_reason);
    memset(h, 0, sizeof *h);
}

static int grow(ao_history *h)
{
    ao_iteration *n;
    int cap;
    if (h->n_iters < h->cap) return AO_OK;
    cap = h->cap ? h->cap * 2 : 8;
    if (!(n = realloc(h->iters, sizeof *n * (size_t)cap))) return AO_EMEM;
    h->iters = n;
    h->cap = cap;
    return AO_OK;
}

static int parse_run_record(const json_t *j, ao_run_record *r)
{
    const json_t *m = json_object_get(j, "metrics"), *e = json_object_get(j, "epochs");
    int oom = 0;
    memset(r, 0, sizeof *r);
    r->run_id = jdup(j, "run_id", &oom);
    snprintf(r->status, sizeof r->status, "%s", jstr(j, "status"));
    r->message = jdup(j, "message", &oom);
    if (json_is_object(json_object_get(m, "train"))) r->train = json_deep_copy(json_object_get(m, "train"));
    if (json_is_object(json_object_get(m, "valid"))) r->valid = json_deep_copy(json_object_get(m, "valid"));
    if (json_is_object(json_object_get(m, "selection")) && !(r->selection = json_deep_copy(json_object_get(m, "selection")))) return AO_EMEM;
    r->wall_seconds = jnum(j, "wall_seconds", NAN);
    r->peak_rss_mb = jnum(j, "peak_rss_mb", NAN);
    r->epochs = json_is_integer(e) ? (int)json_integer_value(e) : -1;
    if (oom || (json_object_get(m, "train") && json_is_object(json_object_get(m, "train")) && !r->train) ||
        (json_is_object(json_object_get(m, "valid")) && !r->valid)) return AO_EMEM;
    return AO_OK;
}

static json_t *run_record_json(const ao_run_record *r)
{
    json_t *j = json_pack("{s:s,s:s,s:{}}", "run_id", r->run_id ? r->run_id : "", "status", r->status, "metrics"), *m;
    if (!j) return NULL;
    m = json_object_get(j, "metrics");
    json_object_set_new(j, "message", r->message ? json_string(r->message) : json_null());
    if (r->train) json_object_set(m, "train", r->train);
    if (r->valid) json_object_set(m, "valid", r->valid);
    if (r->selection) json_object_set(m, "selection", r->selection);
    json_object_set_new(j, "wall_seconds", num_or_null(r->wall_seconds));
    json_object_set_new(j, "peak_rss_mb", num_or_null(r->peak_rss_mb));
    json_object_set_new(j, "epochs", r->epochs >= 0 ? json_integer(r->epochs) : json_null());
    return j;
}

/* The rules beyond the schema; the history is already parsed. */
static int history_rules(const ao_history *h, const char *file, ao_err *err)
{
    int i;
    for (i = 0; i < h->n_iters; i++) {
        const ao_iteration *it = &h->iters[i];
        if (it->number != i + 1)
            return ao_err_set(err, AO_EDATA, "%s: $.iterations[%d].iteration: %d, expected %d (iterations are numbered 1, 2, ... in order)", file, i, it->number, i + 1);
        if (it->split_version > h->split_version)
            return ao_err_set(err, AO_EDATA, "%s: $.iterations[%d].split_version: %d is newer than the split in force (%d)", file, i, it->split_version, h->split_version);
        if (!it->has_run && i + 1 < h->n_iters)
            return ao_err_set(err, AO_EDATA, "%s: $.iterations[%d]: not reflected on, yet a later iteration follows", file, i);
    }
    if (h->best.iteration) {
        const ao_iteration *it = h->best.iteration <= h->n_iters ? &h->iters[h->best.iteration - 1] : NULL;
        if (!it || !it->has_run)
            return ao_err_set(err, AO_EDATA, "%s: $.best.iteration: %d is not a reflected iteration", file, h->best.iteration);
        if (strcmp(it->run.run_id, h->best.run_id) != 0)
            return ao_err_set(err, AO_EDATA, "%s: $.best.run_id: '%s', but iteration %d ran as '%s'", file, h->best.run_id, h->best.iteration, it->run.run_id);
        if (h->best.split_version > h->split_version)
            return ao_err_set(err, AO_EDATA, "%s: $.best.split_version: %d is newer than the split in force (%d)", file, h->best.split_version, h->split_version);
        if (!isfinite(h->best.value)) return ao_err_set(err, AO_EDATA, "%s: $.best.value: not a finite number", file);
    }
    if (h->stop_reason && (h->stop_iteration != h->n_iters))
        return ao_err_set(err, AO_EDATA, "%s: $.stop.iteration: %d, but the history has %d iterations", file, h->stop_iteration, h->n_iters);
    return AO_OK;
}

int ao_history_parse(const json_t *j, const char *file, ao_history *h, ao_err *err)
{
    const json_t *split = json_object_get(j, "split"), *best = json_object_get(j, "best"), *stop = json_object_get(j, "stop"), *its, *v;
    size_t i;
    int rc, oom = 0;
    ao_history_init(h);
    if ((rc = schema_check("history.schema.json", j, file, err)) < 0) return rc;
    if (json_is_object(split)) {
        h->split_version = (int)json_integer_value(json_object_get(split, "version"));
        snprintf(h->split_source, sizeof h->split_source, "%s", jstr(split, "source"));
    }
    if ((v = json_object_get(j, "profile")) && !(h->profile = json_deep_copy(v))) oom = 1;
    if (json_is_object(best)) {
        h->best.iteration = (int)json_integer_value(json_object_get(best, "iteration"));
        h->best.run_id = jdup(best, "run_id", &oom);
        snprintf(h->best.metric, sizeof h->best.metric, "%s", jstr(best, "metric"));
        h->best.value = jnum(best, "value", NAN);
        h->best.split_version = (int)json_integer_value(json_object_get(best, "split_version"));
        h->best.on_selection = jstr(best, "on") && !strcmp(jstr(best, "on"), "selection");
    }
    if (stop) {
        h->stop_reason = jdup(stop, "reason", &oom);
        h->stop_iteration = (int)json_integer_value(json_object_get(stop, "iteration"));
    }
    its = json_object_get(j, "iterations");
    for (i = 0; !oom && i < json_array_size(its); i++) {
        const json_t *o = json_array_get(its, i), *imp = json_object_get(o, "improved");
        const char *dec = jstr(o, "decision");
        ao_iteration *it;
        if (grow(h) < 0) { oom = 1; break; }
        it = &h->iters[h->n_iters++];
        memset(it, 0, sizeof *it);
        it->number = (int)json_integer_value(json_object_get(o, "iteration"));
        it->split_version = (int)json_integer_value(json_object_get(o, "split_version"));
        it->improved = json_is_boolean(imp) ? json_is_true(imp) : -1;
        it->decision = !dec ? AO_DECISION_NONE : !strcmp(dec, "stop") ? AO_DECISION_STOP : AO_DECISION_CONTINUE;
        if (!(it->steps = json_deep_copy(json_object_get(o, "steps")))) oom = 1;
        if ((v = json_object_get(o, "failure")) && !(it->failure = json_deep_copy(v))) oom = 1;
        if ((v = json_object_get(o, "feedback")) && !(it->feedback = json_deep_copy(v))) oom = 1;
        if ((v = json_object_get(o, "run"))) {
            it->has_run = 1;
            if (parse_run_record(v, &it->run) < 0) oom = 1;
        }
    }
    if (oom) { ao_history_clear(h); return ao_err_set(err, AO_EMEM, "out of memory reading %s", file); }
    if ((rc = history_rules(h, file, err)) < 0) ao_history_clear(h);
    return rc;
}

json_t *ao_best_json(const ao_best *b)
{
    if (!b->iteration) return json_null();
    return json_pack("{s:i,s:s,s:s,s:f,s:i,s:s}", "iteration", b->iteration, "run_id", b->run_id, "metric", b->metric, "value", b->value,
                     "split_version", b->split_version, "on", b->on_selection ? "selection" : "valid");
}

json_t *ao_history_to_json(const ao_history *h)
{
    json_t *j = json_pack("{s:i,s:[]}", "format_version", AO_HISTORY_FORMAT_VERSION, "iterations"), *its;
    int i, oom = 0;
    if (!j) return NULL;
    its = json_object_get(j, "iterations");
    json_object_set_new(j, "split", h->split_version > 0 ? json_pack("{s:i,s:s}", "version", h->split_version, "source", h->split_source) : json_null());
    if (h->profile) json_object_set(j, "profile", h->profile);
    json_object_set_new(j, "best", ao_best_json(&h->best));
    if (h->stop_reason) json_object_set_new(j, "stop", json_pack("{s:s,s:i}", "reason", h->stop_reason, "iteration", h->stop_iteration));
    for (i = 0; i < h->n_iters; i++) {
        const ao_iteration *it = &h->iters[i];
        json_t *o = json_pack("{s:i,s:i,s:O}", "iteration", it->number, "split_version", it->split_version, "steps", it->steps);
        if (!o) { oom = 1; break; }
        if (it->failure) json_object_set(o, "failure", it->failure);
        if (it->has_run) json_object_set_new(o, "run", run_record_json(&it->run));
        if (it->feedback) json_object_set(o, "feedback", it->feedback);
        if (it->decision != AO_DECISION_NONE) json_object_set_new(o, "decision", json_string(it->decision == AO_DECISION_STOP ? "stop" : "continue"));
        if (it->improved >= 0) json_object_set_new(o, "improved", json_boolean(it->improved));
        if (json_array_append_new(its, o) != 0) { oom = 1; break; }
    }
    if (oom || !json_object_get(j, "split") || !json_object_get(j, "best")) { json_decref(j); return NULL; }
    return j;
}

ao_iteration *ao_history_current(const ao_history *h) { return h->n_iters ? &h->iters[h->n_iters - 1] : NULL; }

ao_iteration *ao_history_iteration(const ao_history *h, int n) { return n >= 1 && n <= h->n_iters ? &h->iters[n - 1] : NULL; }

ao_iteration *ao_history_new_iteration(ao_history *h)
{
    ao_iteration *it;
    if (grow(h) < 0) return NULL;
    it = &h->iters[h->n_iters];
    memset(it, 0, sizeof *it);
    if (!(it->steps = json_object())) return NULL;
    it->number = h->n_iters + 1;
    it->split_version = h->split_version;
    it->improved = -1;
    h->n_iters++;
    return it;
}

json_t *ao_iteration_output(const ao_iteration *it, const char *step)
{
    return it ? json_object_get(json_object_get(it->steps, step), "output") : NULL;
}

int ao_iteration_set_step(ao_iteration *it, const char *step, json_t *output, double seconds)
{
    json_t *rec = json_pack("{s:o,s:f}", "output", output, "seconds", seconds > 0 ? seconds : 0.0);
    if (!rec || json_object_set_new(it->steps, step, rec) != 0) return AO_EMEM;
    return AO_OK;
}

int ao_iteration_set_failure(ao_iteration *it, const char *step, const char *kind, const char *message)
{
    json_t *f = json_pack("{s:s,s:s,s:s}", "step", step, "kind", kind, "message", message);
    if (!f) return AO_EMEM;
    json_decref(it->failure);
    it->failure = f;
    return AO_OK;
}

double ao_iteration_valid_value(const ao_iteration *it, const char *metric)
{
    json_t *v = it && it->has_run ? json_object_get(it->run.valid, metric) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

double ao_iteration_selection_value(const ao_iteration *it, const char *metric)
{
    json_t *v = it && it->has_run ? json_object_get(it->run.selection, metric) : NULL;
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const json_t *ao_iteration_rank_scores(const ao_iteration *it)
{
    return !it || !it->has_run ? NULL : it->run.selection ? it->run.selection : it->run.valid;
}

double ao_iteration_rank_value(const ao_iteration *it, const char *metric)
{
    json_t *v = json_object_get(ao_iteration_rank_scores(it), metric);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

enum ao_iteration_kind ao_iteration_kind(const ao_iteration *it)
{
    const char *entry;
    if (!it) return AO_ITERATION_BUILTIN;
    if (it->failure) return AO_ITERATION_FAILED;
    entry = jstr(ao_iteration_output(it, "code"), "entry");
    return entry && !strcmp(entry, "script") ? AO_ITERATION_SCRIPT : AO_ITERATION_BUILTIN;
}

int ao_history_set_best(ao_history *h, const ao_iteration *it, const char *metric, double value)
{
    char *id = strdup(it->run.run_id ? it->run.run_id : "");
    if (!id) return AO_EMEM;
    free(h->best.run_id);
    h->best.run_id = id;
    h->best.iteration = it->number;
    snprintf(h->best.metric, sizeof h->best.metric, "%s", metric);
    h->best.value = value;
    h->best.split_version = it->split_version;
    h->best.on_selection = it->run.selection != NULL;
    return AO_OK;
}

int ao_history_rebest(ao_history *h, const char *metric)
{
    const ao_iteration *pick = NULL;
    double best = -INFINITY;
    int i;
    for (i = 0; i < h->n_iters; i++) {
        const ao_iteration *it = &h->iters[i];
        double v = ao_iteration_rank_value(it, metric);
        if (it->split_version == h->split_version && isfinite(v) && v > best) { best = v; pick = it; }
    }
    if (!pick) {
        free(h->best.run_id);
        memset(&h->best, 0, sizeof h->best);
        return AO_OK;
    }
    return ao_history_set_best(h, pick, metric, best);
}

double ao_history_elapsed(const ao_history *h)
{
    double t = 0;
    int i;
    for (i = 0; i < h->n_iters; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(h->iters[i].steps, k, v) t += jnum(v, "seconds", 0);
        if (h->iters[i].has_run && isfinite(h->iters[i].run.wall_seconds)) t += h->iters[i].run.wall_seconds;
    }
    return t;
}

/* ---- a state directory ------------------------------------------------------------ */

static json_t *load(const char *dir, const char *name, char **path, ao_err *err)
{
    json_error_t je;
    json_t *j;
    if (!(*path = ao_path_join(dir, name))) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (!ao_file_exists(*path)) { ao_err_set(err, AO_EIO, "%s: no such file (not an agent state directory)", *path); return NULL; }
    if (!(j = json_load_file(*path, JSON_REJECT_DUPLICATES, &je))) ao_err_set(err, AO_EDATA, "%s:%d: invalid JSON: %s", *path, je.line, je.text);
    return j;
}

int ao_runstate_read(const char *dir, ao_run_config *rc, ao_history *h, ao_err *err)
{
    char *rp = NULL, *hp = NULL;
    json_t *rj = NULL, *hj = NULL;
    int ret;
    memset(rc, 0, sizeof *rc);
    ao_history_init(h);
    if (!(rj = load(dir, "run.json", &rp, err)) || !(hj = load(dir, "history.json", &hp, err))) { ret = err->code; goto DONE; }
    if ((ret = ao_run_config_parse(rj, rp, rc, err)) < 0) goto DONE;
    if ((ret = ao_history_parse(hj, hp, h, err)) < 0) { ao_run_config_clear(rc); goto DONE; }
    if (h->best.iteration && strcmp(h->best.metric, rc->metric) != 0) {
        ret = ao_err_set(err, AO_EDATA, "%s: $.best.metric: '%s', but the run ranks by '%s' (run.json $.metric)", hp, h->best.metric, rc->metric);
        ao_run_config_clear(rc);
        ao_history_clear(h);
    }
DONE:
    json_decref(rj);
    json_decref(hj);
    free(rp);
    free(hp);
    return ret;
}
