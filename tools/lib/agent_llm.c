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
#include "agentomics/jsonfield.h"
#include "agentomics/jsonschema.h"
#include "agentomics/llm.h"
#include "agentomics/log.h"
#include "agentomics/modelfile.h"
#include "agentomics/policy.h"
#include "agentomics/recipe.h"
#include "agentomics/rng.h"
#include "agentomics/sandbox.h"
#include "agentomics/scriptmodel.h"
#include "agentomics/split.h"
#include "agentomics/wsfs.h"
#include "agent_impl.h"

#define TOOL_RESULT_MAX 20000     /* characters of one tool result kept in the conversation */
#define MAX_CALLS_PER_REPLY 8     /* tool calls of one reply that are run; the others are answered "not run" */
#define PROMPT_PART_MAX 12000     /* characters of one filled-in prompt variable, at most */
#define KEEP_RECENT 6             /* messages at the end of a conversation never elided */

/* The effective LLM settings: run.json's, overridden by this call's
 * options (strings borrowed from the run config or the options). */
typedef struct llm_cfg {
    const char *provider, *model, *api_base, *price_file;
    int max_calls;
    double max_cost;
    int max_turns, submit_retries;
    double request_timeout, bash_timeout, mem_limit_mb;
    const char *protocol;   /* NULL: the preset's */
    int max_tokens;         /* 0: the preset's */
    long context_tokens;    /* 0: ask the server */
    double step_timeout;    /* 0: none */
    double workspace_mb, sandbox_tmp_mb;   /* 0: the defaults */
    long workspace_files;
} llm_cfg;

#define DEFAULT_CONTEXT_TOKENS 32768   /* when neither the user nor the server says */
#define CHARS_PER_TOKEN 3               /* a conservative estimate for JSON, code and English */
#define CONTEXT_MARGIN 512              /* tokens kept free for the chat template's own text */
#define CONTEXT_SHRINKS 3               /* smaller tries of one reply after a provider's context-overflow refusal */

#define HIDE_MAX 12   /* the workspace, /split, /data and the state: as given, resolved, and within their file system */

struct agent_llm {
    ao_llm *llm;
    llm_cfg cfg;
    long context_tokens;    /* the context every request is fitted to */
    size_t part_max;        /* characters of one filled-in prompt variable: a tenth of the context */
    const char *protocol;   /* the protocol steps start in: --llm-protocol, else the preset's */
    int auto_json;          /* an auto step switched to json: later steps start in json */
    char *prompts, *schemas;
    char *ws_dir, *split_dir, *transcript;
    json_t *tools;          /* prompts/tools.json */
    json_t *prices;
    json_t *usage0;         /* ao_llm_usage() at open: this process's share is the difference */
    json_t *steps_usage;    /* per-step usage records of this process */
    ao_wsfs ws;
    char software[512];
    double step_deadline;   /* ao_now() past which the step in progress fails (0: none) */
    struct { char *host; const char *shown; } hide[HIDE_MAX];   /* host paths and their sandbox names, longest first */
    int n_hide;
};

/* ---- host paths ---------------------------------------------------------------- */

/* The path of real (resolved, absolute) within the file system holding
 * it, as a sandboxed /proc/self/mountinfo shows a bind mount's source:
 * the root of the mount holding it joined with the rest. malloc'd; NULL
 * when it is real itself or cannot be found. */
static char *fs_relative(const char *real)
{
    char line[8192], root[4096], mnt[4096], *best = NULL;
    size_t best_len = 0;
    FILE *fp = fopen("/proc/self/mountinfo", "re");
    if (!fp) return NULL;
    while (fgets(line, sizeof line, fp)) {
        size_t ml;
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2) continue;
        ml = strlen(mnt);
        if (strncmp(real, mnt, ml) != 0 || (real[ml] != '/' && real[ml] != '\0' && strcmp(mnt, "/") != 0) || ml < best_len) continue;
        free(best);
        best_len = ml;
        if (asprintf(&best, "%s%s", strcmp(root, "/") ? root : "", real + (strcmp(mnt, "/") ? ml : 0)) < 0) best = NULL;
    }
    fclose(fp);
    if (best && (!strcmp(best, real) || best[0] != '/')) { free(best); best = NULL; }
    return best;
}

/* The host paths a message for the model could name (a reader's or a
 * check's error names the host file; a sandboxed /proc/self/mountinfo
 * names the bind mounts' sources within their file systems), each as
 * given, resolved and within its file system, with the sandbox name that
 * replaces it; longest first, so the workspace goes before the state
 * holding it. */
static int hide_paths(agent_ctx *c, ao_err *err)
{
    struct agent_llm *a = c->llm;
    const char *host[4] = {a->ws_dir, a->split_dir, c->o->data, c->s->dir}, *shown[4] = {"/workspace", "/split", "/data", "[the state directory]"};
    int i, j, k;
    for (i = 0; i < 4; i++) {
        char *form[3] = {NULL, NULL, NULL};
        form[1] = host[i] ? realpath(host[i], NULL) : NULL;
        form[2] = form[1] ? fs_relative(form[1]) : NULL;
        for (k = 0; k < 3; k++) {
            const char *h = k ? form[k] : host[i];
            int dup = 0;
            if (!h || h[0] != '/' || !h[1]) continue;   /* a relative form would match inside other words */
            for (j = 0; j < a->n_hide; j++) dup |= !strcmp(a->hide[j].host, h);
            if (dup || a->n_hide == HIDE_MAX) continue;
            if (!(a->hide[a->n_hide].host = strdup(h))) { free(form[1]); free(form[2]); return ao_err_set(err, AO_EMEM, "out of memory"); }
            a->hide[a->n_hide++].shown = shown[i];
        }
        free(form[1]);
        free(form[2]);
    }
    for (i = 1; i < a->n_hide; i++)
        for (j = i; j > 0 && strlen(a->hide[j].host) > strlen(a->hide[j - 1].host); j--) {
            char *h = a->hide[j].host;
            const char *sh = a->hide[j].shown;
            a->hide[j] = a->hide[j - 1];
            a->hide[j - 1].host = h;
            a->hide[j - 1].shown = sh;
        }
    return AO_OK;
}

/* The next occurrence of host path h (length hl) in p that ends where a
 * path component ends ("/d" is no match inside "/data"). */
static const char *find_path(const char *p, const char *h, size_t hl)
{
    for (; (p = strstr(p, h)); p++) {
        char e = p[hl];
        if (!(isalnum((unsigned char)e) || e == '.' || e == '_' || e == '-')) return p;
    }
    return NULL;
}

/* text (taken) with every host path of hide_paths replaced by its sandbox
 * name; NULL when out of memory. */
static char *neutral_paths(const struct agent_llm *a, char *text)
{
    int i;
    for (i = 0; text && i < a->n_hide; i++) {
        const char *h = a->hide[i].host, *p;
        size_t hl = strlen(h), sl = strlen(a->hide[i].shown), n = 0;
        char *out, *o;
        for (p = text; (p = find_path(p, h, hl)); p += hl) n++;
        if (!n) continue;
        if (!(out = malloc(strlen(text) + n * sl + 1))) { free(text); return NULL; }
        for (o = out, p = text; ; ) {
            const char *q = find_path(p, h, hl);
            size_t k = q ? (size_t)(q - p) : strlen(p);
            memcpy(o, p, k);
            o += k;
            if (!q) break;
            memcpy(o, a->hide[i].shown, sl);
            o += sl;
            p = q + hl;
        }
        *o = '\0';
        free(text);
        text = out;
    }
    return text;
}

/* ---- configuration ---------------------------------------------------------- */

static const char *env_or(const char *v, const char *name)
{
    const char *e;
    if (v) return v;
    e = getenv(name);
    return e && *e ? e : NULL;
}

/* The settings of a run started with options o and no run.json yet. */
static void cfg_from_options(const ao_agent_opts *o, llm_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->provider = o->provider ? o->provider : "openai";
    c->model = env_or(o->model, "AGENTOMICS_MODEL");
    c->api_base = env_or(o->api_base, "AGENTOMICS_API_BASE");
    c->price_file = o->price_file;
    c->max_calls = o->max_llm_calls;
    c->max_cost = o->max_cost > 0 ? o->max_cost : 0;
    c->max_turns = o->max_turns > 0 ? o->max_turns : 40;
    c->submit_retries = o->submit_retries > 0 ? o->submit_retries : 3;
    c->request_timeout = o->llm_timeout > 0 ? o->llm_timeout : 300;
    c->bash_timeout = o->bash_timeout > 0 ? o->bash_timeout : 120;
    c->mem_limit_mb = o->mem_limit_mb > 0 ? o->mem_limit_mb : 8192;
    c->protocol = o->protocol;
    c->max_tokens = o->max_tokens;
    c->context_tokens = o->context_tokens;
    c->step_timeout = o->step_timeout;
    c->workspace_mb = o->workspace_mb;
    c->workspace_files = o->workspace_files;
    c->sandbox_tmp_mb = o->sandbox_tmp_mb;
}

int agent_llm_run_settings(const ao_agent_opts *o, ao_llm_settings *s, ao_err *err)
{
    llm_cfg c;
    cfg_from_options(o, &c);
    memset(s, 0, sizeof *s);
    if (!(s->provider = strdup(c.provider)) || (c.model && !(s->model = strdup(c.model))) ||
        (c.api_base && !(s->api_base = strdup(c.api_base))) || (c.price_file && !(s->price_file = strdup(c.price_file))) ||
        (c.protocol && !(s->protocol = strdup(c.protocol))))
        return ao_err_set(err, AO_EMEM, "out of memory");
    s->max_calls = c.max_calls;
    s->max_cost = c.max_cost;
    s->max_turns = c.max_turns;
    s->submit_retries = c.submit_retries;
    s->request_timeout = c.request_timeout;
    s->bash_timeout = c.bash_timeout;
    s->mem_limit_mb = c.mem_limit_mb;
    s->max_tokens = c.max_tokens;
    s->context_tokens = c.context_tokens;
    s->step_timeout = c.step_timeout;
    s->workspace_mb = c.workspace_mb;
    s->workspace_files = c.workspace_files;
    s->sandbox_tmp_mb = c.sandbox_tmp_mb;
    return AO_OK;
}

/* run.json's settings (or, for a run started without them, the options'
 * defaults), overridden by what this call's options give. */
static void effective_config(const agent_ctx *c, llm_cfg *cfg)
{
    const ao_agent_opts *o = c->o;
    const ao_llm_settings *r = &c->s->run.llm;
    const char *m, *b;
    if (!c->s->run.has_llm) { cfg_from_options(o, cfg); return; }
    cfg->provider = r->provider;
    cfg->model = r->model;
    cfg->api_base = r->api_base;
    cfg->price_file = r->price_file;
    cfg->max_calls = r->max_calls;
    cfg->max_cost = r->max_cost;
    cfg->max_turns = r->max_turns;
    cfg->submit_retries = r->submit_retries;
    cfg->request_timeout = r->request_timeout;
    cfg->bash_timeout = r->bash_timeout;
    cfg->mem_limit_mb = r->mem_limit_mb;
    cfg->protocol = r->protocol;
    cfg->max_tokens = r->max_tokens;
    cfg->context_tokens = r->context_tokens;
    cfg->step_timeout = r->step_timeout;
    cfg->workspace_mb = r->workspace_mb;
    cfg->workspace_files = r->workspace_files;
    cfg->sandbox_tmp_mb = r->sandbox_tmp_mb;
    if (o->provider) cfg->provider = o->provider;
    if ((m = env_or(o->model, "AGENTOMICS_MODEL"))) cfg->model = m;
    if ((b = env_or(o->api_base, "AGENTOMICS_API_BASE"))) cfg->api_base = b;
    if (o->price_file) cfg->price_file = o->price_file;
    if (o->max_llm_calls > 0) cfg->max_calls = o->max_llm_calls;
    if (o->max_cost > 0) cfg->max_cost = o->max_cost;
    if (o->max_turns > 0) cfg->max_turns = o->max_turns;
    if (o->submit_retries > 0) cfg->submit_retries = o->submit_retries;
    if (o->llm_timeout > 0) cfg->request_timeout = o->llm_timeout;
    if (o->bash_timeout > 0) cfg->bash_timeout = o->bash_timeout;
    if (o->mem_limit_mb > 0) cfg->mem_limit_mb = o->mem_limit_mb;
    if (o->protocol) cfg->protocol = o->protocol;
    if (o->max_tokens > 0) cfg->max_tokens = o->max_tokens;
    if (o->context_tokens > 0) cfg->context_tokens = o->context_tokens;
    if (o->step_timeout > 0) cfg->step_timeout = o->step_timeout;
    if (o->workspace_mb > 0) cfg->workspace_mb = o->workspace_mb;
    if (o->workspace_files > 0) cfg->workspace_files = o->workspace_files;
    if (o->sandbox_tmp_mb > 0) cfg->sandbox_tmp_mb = o->sandbox_tmp_mb;
}

static double cfg_num(const json_t *cfg, const char *k, double dflt)
{
    json_t *v = json_object_get(cfg, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

int agent_llm_drives(agent_ctx *c, const agent_step *st)
{
    const ao_iteration *it = ao_history_current(&c->s->hist);
    int baseline = c->o->baseline >= 0 ? c->o->baseline : c->s->run.baseline;
    if (c->o->agent != AO_AGENT_LLM || !(st->flags & AGENT_STEP_LLM)) return 0;
    return !(it && it->number == 1 && baseline);
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
    effective_config(c, &a->cfg);
    if (!a->cfg.model) return ao_err_set(err, AO_EUSAGE, "--agent llm needs a model: --model NAME or AGENTOMICS_MODEL");
    if (!(a->prompts = ao_share_dir("prompts", err)) || !(a->schemas = ao_share_dir("schemas", err))) return err->code;
    if (!(p = ao_path_join(a->prompts, "tools.json"))) return ao_err_set(err, AO_EMEM, "out of memory");
    {
        json_error_t je;
        if (!(a->tools = json_load_file(p, 0, &je)) || !json_is_array(a->tools))
            rc = ao_err_set(err, AO_EIO, "%s:%d: cannot load the tool definitions: %s", p, je.line, je.text);
    }
    free(p);
    if (rc < 0) return rc;
    if ((pf = a->cfg.price_file)) {
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
    if ((rc = hide_paths(c, err)) < 0) return rc;
    a->ws.max_read = 65536;
    a->ws.max_write = 1 << 20;
    detect_software(a->software, sizeof a->software);

    key = ao_llm_key_from_env(&which);
    ao_llm_config_init(&lc);
    lc.provider = a->cfg.provider;
    lc.api_base = a->cfg.api_base;
    lc.model = a->cfg.model;
    lc.api_key = key;
    lc.request_timeout = a->cfg.request_timeout;
    lc.max_calls = a->cfg.max_calls;
    lc.max_tokens = a->cfg.max_tokens;
    lc.max_cost = a->cfg.max_cost;
    lc.prices = a->prices;
    lc.transcript = a->transcript;
    lc.seed = ao_seed_derive(c->s->run.seed, AO_SEED_LLM, 0);
    {
        const char *e = getenv("AGENTOMICS_LLM_RETRIES"), *b = getenv("AGENTOMICS_LLM_BACKOFF"), *p = getenv("AGENTOMICS_LLM_PARALLEL_TOOL_CALLS");
        if (e && *e) lc.max_retries = atoi(e);
        if (p && (!strcmp(p, "0") || !strcmp(p, "1"))) lc.parallel_tool_calls = *p - '0';
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
    a->protocol = a->cfg.protocol ? a->cfg.protocol : ao_llm_preset_of(a->llm)->protocol;
    /* the context every request is fitted to: the user's, else the server's, else a default */
    if ((a->context_tokens = a->cfg.context_tokens) <= 0) {
        long n = ao_llm_context_tokens(a->llm, err);
        if (n < 0) return (int)n;
        a->context_tokens = n > 0 ? n : DEFAULT_CONTEXT_TOKENS;
    }
    a->part_max = (size_t)a->context_tokens * CHARS_PER_TOKEN / 10;
    if (a->part_max > PROMPT_PART_MAX) a->part_max = PROMPT_PART_MAX;
    if (a->context_tokens < ao_llm_max_tokens(a->llm) + CONTEXT_MARGIN + 1024)
        return ao_err_set(err, AO_EUSAGE, "a context of %ld tokens leaves too little room for prompts beside %d reply tokens: "
                          "raise --context-tokens (and the server's) or lower --max-tokens", a->context_tokens, ao_llm_max_tokens(a->llm));
    return AO_OK;
}

void agent_llm_close(agent_ctx *c)
{
    struct agent_llm *a = c->llm;
    if (!a) return;
    ao_llm_destroy(a->llm);
    json_decref(a->tools);
    json_decref(a->prices);
    json_decref(a->usage0);
    json_decref(a->steps_usage);
    free(a->prompts); free(a->schemas); free(a->ws_dir); free(a->split_dir); free(a->transcript);
    for (int i = 0; i < a->n_hide; i++) free(a->hide[i].host);
    free(a);
    c->llm = NULL;
}

/* ---- usage ------------------------------------------------------------------ */

static const char *const usage_keys[] = {"llm_calls", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "retries",
                                         "rate_limited", NULL};
static const char *const usage_reals[] = {"cost", "rate_limit_seconds", NULL};

/* b - a for every counter, as a new object. */
static json_t *usage_diff(const json_t *a, const json_t *b)
{
    json_t *d = json_object();
    int i;
    for (i = 0; usage_keys[i]; i++)
        json_object_set_new(d, usage_keys[i], json_integer(json_integer_value(json_object_get(b, usage_keys[i])) - json_integer_value(json_object_get(a, usage_keys[i]))));
    for (i = 0; usage_reals[i]; i++)
        json_object_set_new(d, usage_reals[i], json_real(json_number_value(json_object_get(b, usage_reals[i])) - json_number_value(json_object_get(a, usage_reals[i]))));
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
        for (i = 0; usage_reals[i]; i++)
            json_object_set_new(u, usage_reals[i], json_real(json_number_value(json_object_get(u, usage_reals[i])) + json_number_value(json_object_get(d, usage_reals[i]))));
        if (json_is_false(json_object_get(now, "cost_known"))) json_object_set_new(u, "cost_known", json_false());
        else if (!json_object_get(u, "cost_known")) json_object_set_new(u, "cost_known", json_true());
        /* replies without usage were priced on estimated tokens: the cost is an estimate */
        if (json_is_true(json_object_get(now, "cost_estimated"))) json_object_set_new(u, "cost_estimated", json_true());
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
/* Keys whose values are bulk in a prompt: calibration bins, the
 * analysis's own copies of the metrics the run context gives once,
 * digests and hashes, histograms and base counts, the smoke-run attempts
 * (the accepted recipe stays). */
static const char *const bulky_keys[] = {"bins", "metrics", "train_metrics", "content_hash", "row_digest", "histogram", "alphabet",
                                         "attempts", "tool", "format_version", NULL};

/* A copy of j without the bulky keys, at any depth (NULL when out of memory). */
static json_t *slim(const json_t *j)
{
    json_t *c = json_deep_copy(j), *v;
    const char *k;
    void *tmp;
    size_t i;
    int b;
    if (json_is_object(c)) {
        json_object_foreach_safe(c, tmp, k, v) {
            for (b = 0; bulky_keys[b] && strcmp(bulky_keys[b], k); b++) continue;
            if (bulky_keys[b]) json_object_del(c, k);
            else json_object_set_new(c, k, slim(v));
        }
    } else if (json_is_array(c)) {
        json_array_foreach(c, i, v) json_array_set_new(c, i, slim(v));
    }
    return c;
}

/* A scorer's metric object for a prompt: its numbers (accuracy, AUROC,
 * MCC, ...) and, with_matrix, the confusion matrix; the per-class blocks
 * are in the analysis. A new reference, JSON null for NULL. */
static json_t *metrics_brief(const json_t *m, int with_matrix)
{
    json_t *o, *v;
    const char *k;
    if (!json_is_object(m)) return json_null();
    if (!(o = json_object())) return NULL;
    json_object_foreach((json_t *)m, k, v)
        if (json_is_number(v) || (with_matrix && !strcmp(k, "confusion_matrix"))) json_object_set(o, k, v);
    return o;
}

/* JSON for a prompt: compact, numbers to 4 significant digits (17-digit
 * floats cost tokens and say nothing more), cut to max characters. */
static char *compact(const json_t *j, size_t max)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(4)) : strdup("(none)");
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
static json_t *history_digest(const ao_history *h, int upto)
{
    json_t *out = json_array();
    int i;
    for (i = 0; out && i < h->n_iters && i < upto; i++) {
        const ao_iteration *it = &h->iters[i];
        json_t *code = ao_iteration_output(it, "code"), *goal = json_object_get(ao_iteration_output(it, "plan"), "goal");
        json_t *d = json_pack("{s:i}", "iteration", it->number);
        if (!d) { json_decref(out); return NULL; }
        if (goal) json_object_set(d, "goal", goal);
        if (code) {
            json_object_set(d, "entry", json_object_get(code, "entry"));
            if (json_object_get(code, "recipe")) json_object_set(d, "recipe", json_object_get(code, "recipe"));
            if (json_object_get(code, "train_entry")) json_object_set(d, "train_entry", json_object_get(code, "train_entry"));
        }
        if (it->failure) json_object_set(d, "failure", it->failure);
        if (it->has_run) {
            json_object_set_new(d, "status", json_string(it->run.status));
            json_object_set_new(d, "valid", metrics_brief(it->run.valid, 1));
            json_object_set_new(d, "train", metrics_brief(it->run.train, 0));
            /* the slice's score only: its rows are never shown */
            if (it->run.selection) json_object_set_new(d, "selection", metrics_brief(it->run.selection, 1));
        }
        if (it->feedback) json_object_set(d, "feedback", it->feedback);
        json_array_append_new(out, d);
    }
    return out;
}

/* The outputs of this iteration's steps so far (without the bulky profile). */
static json_t *iteration_digest(const ao_iteration *it)
{
    json_t *d = json_object(), *v;
    const char *k;
    json_object_foreach(it->steps, k, v) {
        json_t *o;
        if (!strcmp(k, "analyze")) continue;   /* the reflect prompt's run context carries it */
        o = slim(json_object_get(v, "output"));
        json_object_del(o, "profile");
        json_object_del(o, "proposal");
        json_object_set_new(d, k, o);
    }
    /* the builtin policy gives represent and architect one rationale: say it once */
    if (json_equal(json_object_get(json_object_get(d, "architect"), "rationale"), json_object_get(json_object_get(d, "represent"), "rationale")))
        json_object_del(json_object_get(d, "architect"), "rationale");
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
/* For the code step: the builtin recipe made of this iteration's represent
 * and architect outputs when both are builtin parts (a valid recipe), so a
 * model can train what it chose without restating it; else why not. */
static char *builtin_candidate(agent_ctx *c, const ao_iteration *it)
{
    json_t *rep = it ? json_object_get(ao_iteration_output(it, "represent"), "representation") : NULL;
    json_t *model = it ? json_object_get(ao_iteration_output(it, "architect"), "model") : NULL;
    json_t *sub;
    char msg[256] = "", *s = NULL;
    ao_err e;
    int ok;
    if (!rep || !model) return strdup("(none: this iteration has no representation and model yet)");
    if (!(sub = json_pack("{s:s,s:{s:O,s:O}}", "entry", "builtin", "recipe", "representation", rep, "model", model))) return NULL;
    ao_err_init(&e);
    ok = ao_jsonschema_validate_file(c->llm->schemas, "recipe.schema.json", json_object_get(sub, "recipe"), msg, sizeof msg, &e);
    if (ok == 1) s = json_dumps(sub, JSON_COMPACT | JSON_SORT_KEYS);
    else if (asprintf(&s, "(none: the representation and model chosen are not both builtin parts: %s)", ok == 0 ? msg : e.msg) < 0) s = NULL;
    json_decref(sub);
    return s;
}

static json_t *prompt_vars(agent_ctx *c, const char *step, const json_t *submit_schema, const json_t *extra)
{
    struct agent_llm *a = c->llm;
    const ao_history *h = &c->s->hist;
    const ao_iteration *it = ao_history_current(h);
    json_t *vars = json_object(), *ds, *v;
    ao_err e;
    char buf[512], *desc, *path;
    const char *k;
    int n_iter = h->n_iters;
    size_t len;
    ao_err_init(&e);
    snprintf(buf, sizeof buf, "[agentomics-step: %s]", step);
    json_object_set_new(vars, "marker", json_string(buf));
    json_object_set_new(vars, "step", json_string(step));
    snprintf(buf, sizeof buf, "%d", n_iter);
    json_object_set_new(vars, "iteration", json_string(buf));
    /* "Iteration 2 of at most 5"; a workflow's run carries no budget of its
     * own (it decides with reflect --decide, and may raise it later) */
    if (c->s->run.budgets.iterations > 0) snprintf(buf, sizeof buf, "of at most %d", c->s->run.budgets.iterations);
    else snprintf(buf, sizeof buf, "(no fixed iteration budget: the workflow decides after each iteration)");
    json_object_set_new(vars, "iterations_budget", json_string(buf));
    json_object_set_new(vars, "metric", json_string(c->s->run.metric));
    json_object_set_new(vars, "software", json_string(a->software));
    snprintf(buf, sizeof buf, "%d thread(s), %.0f s of training time, an address-space limit of %.0f MB, %s",
             c->o->threads, c->s->run.budgets.train_time_limit, a->cfg.mem_limit_mb, "no GPU unless the run was given --gpus");
    json_object_set_new(vars, "resources", json_string(buf));
    ds = ao_state_read_json(c->o->data, "dataset.json", &e);
    {
        json_t *sl = slim(ds);
        set_text(vars, "dataset", compact(sl, a->part_max));
        json_decref(sl);
    }
    json_decref(ds);
    set_text(vars, "profile", compact(h->profile, a->part_max));
    path = ao_path_join(c->o->data, "description.md");
    desc = path && ao_file_exists(path) ? ao_read_file(path, &len, &e) : NULL;
    if (desc && strlen(desc) > a->part_max) desc[a->part_max] = '\0';
    json_object_set_new(vars, "description", json_string(desc && *desc ? desc : "(none given)"));
    free(desc);
    free(path);
    {
        json_t *d = history_digest(h, n_iter - 1);   /* the iterations before the current one */
        set_text(vars, "history", json_array_size(d) ? compact(d, a->part_max) : strdup("(no earlier iterations)"));
        json_decref(d);
    }
    {
        const json_t *prev = NULL;
        int i;
        for (i = h->n_iters; i > 0 && !prev; i--) prev = h->iters[i - 1].feedback;
        set_text(vars, "feedback", prev ? compact(prev, a->part_max) : strdup("(none yet)"));
    }
    {
        json_t *d = it ? iteration_digest(it) : json_object();
        set_text(vars, "this_iteration", compact(d, a->part_max));
        json_decref(d);
    }
    {
        char *s = json_dumps(submit_schema, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4));
        set_text(vars, "submit_schema", s);
    }
    json_object_set_new(vars, "recipe_schema_hint", json_string("the `recipe` property of the submit schema below"));
    if (!strcmp(step, "code")) set_text(vars, "builtin_candidate", builtin_candidate(c, it));
    json_object_set_new(vars, "run", json_string("(none)"));
    {
        json_t *b = ao_best_json(&h->best);
        set_text(vars, "best", compact(b, 2000));
        json_decref(b);
    }
    json_object_foreach((json_t *)extra, k, v) json_object_set(vars, k, v);
    return vars;
}

/* ---- tools ------------------------------------------------------------------ */

/* A step's validator: 1 accepted (*out set), 0 rejected (msg for the
 * model), < -1 error (agent_step's llm_validate). */
typedef int (*validate_fn)(agent_ctx *c, const json_t *submitted, json_t **out, char *msg, size_t n, ao_err *err);

/* One step's conversation. */
typedef struct conv {
    const char *step;
    char schema_file[64];       /* submit-STEP.schema.json */
    validate_fn validate;
    int read_only;              /* only read_file, list_files, submit */
    int proto;                  /* enum proto in use (auto turns into json) */
    char protocol[16];          /* recorded: "tools", "json", "auto", "auto->json" */
    json_t *accepted;           /* the validator's output */
    json_t *attempts;           /* every submit and its verdict */
} conv;

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* A fixed buffer made valid UTF-8 in place (a snprintf %.Ns may have cut
 * a character; a validator's message may quote the agent's bytes). */
static void clean_buf(char *buf, size_t cap)
{
    char *t = ao_utf8_text(buf, strlen(buf), cap - 1, 0, NULL);
    if (t) { memcpy(buf, t, strlen(t) + 1); free(t); }
    else snprintf(buf, cap, "(text not shown: out of memory)");
}

/* Records a submit and its verdict; a JSON build failure is an error, never
 * a silently missing attempt. */
static int attempt_add(conv *cv, const json_t *args, const char *verdict, char *reason, size_t reason_cap, ao_err *err)
{
    clean_buf(reason, reason_cap);
    if (json_array_append_new(cv->attempts, json_pack("{s:O,s:s,s:s}", "submitted", args, "verdict", verdict, "reason", reason)) < 0)
        return ao_err_set(err, AO_EINTERNAL, "step %s: the submit attempt could not be recorded (JSON build failed)", cv->step);
    return AO_OK;
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
    double limit = a->cfg.bash_timeout, t = cfg_num(args, "timeout", limit);
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
    if (a->step_deadline > 0) {
        /* a command gets at most what is left of the step's time */
        double left = a->step_deadline - ao_now();
        if (left <= 0) return strdup("not run: the step's time (--step-timeout) is up");
        if (left < so.timeout) so.timeout = left;
    }
    so.mem_mb = (long)a->cfg.mem_limit_mb;
    if (a->cfg.sandbox_tmp_mb > 0) so.tmp_mb = (long)a->cfg.sandbox_tmp_mb;
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
            if (attempt_add(cv, args, "rejected", msg, sizeof msg, err) < 0) return NULL;
            if (asprintf(&text, "submit rejected: %s. Fix it and call submit again.", msg) < 0) text = NULL;
            return text ? text : (ao_err_set(err, AO_EMEM, "out of memory"), NULL);
        }
        if ((ok = cv->validate(c, args, &out, msg, sizeof msg, err)) < 0) return NULL;
        if (ok) msg[0] = '\0';
        if (attempt_add(cv, args, ok ? "accepted" : "rejected", msg, sizeof msg, err) < 0) { json_decref(out); return NULL; }
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

/* How a model acts (--llm-protocol): native tool calls; one JSON action per
 * reply under a response_format json_schema; or tools with a call written
 * as JSON text taken as a call and a switch to json after two replies
 * without one. */
enum proto { PROTO_TOOLS = 0, PROTO_JSON = 1, PROTO_AUTO = 2 };
static const char *const proto_names[] = {"tools", "json", "auto"};

static enum proto proto_of(const char *name)
{
    if (name && !strcmp(name, "json")) return PROTO_JSON;
    if (name && !strcmp(name, "auto")) return PROTO_AUTO;
    return PROTO_TOOLS;
}


/* What reasoning models return beside the content (DeepSeek, vLLM and
 * llama.cpp: reasoning_content; OpenRouter: reasoning and
 * reasoning_details). It goes back in the assistant message, as the
 * providers ask within a tool loop, and is never read as the reply. */
static const char *const reasoning_keys[] = {"reasoning_content", "reasoning", "reasoning_details", NULL};

static size_t message_chars(const json_t *m)
{
    const char *c = json_string_value(json_object_get(m, "content"));
    size_t n = (c ? strlen(c) : 0) + 16, i;
    json_t *call, *v;
    int k;
    json_array_foreach(json_object_get(m, "tool_calls"), i, call) {
        const char *a = json_string_value(json_object_get(json_object_get(call, "function"), "arguments"));
        n += (a ? strlen(a) : 0) + 32;
    }
    for (k = 0; reasoning_keys[k]; k++) {
        if (!(v = json_object_get(m, reasoning_keys[k]))) continue;
        if (json_is_string(v)) n += json_string_length(v) + 32;
        else { char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); n += (d ? strlen(d) : 0) + 32; free(d); }
    }
    return n;
}

static size_t messages_chars(const json_t *messages)
{
    size_t n = 0, i;
    for (i = 0; i < json_array_size(messages); i++) n += message_chars(json_array_get(messages, i));
    return n;
}

/* A tool result: a "tool" message, or a user message carrying a result
 * in the text protocols ("[result of NAME]"). */
static int is_result(const json_t *m)
{
    const char *role = jstr(m, "role"), *c = jstr(m, "content");
    return role && (!strcmp(role, "tool") || (!strcmp(role, "user") && c && !strncmp(c, "[result of ", 11)));
}

/* Cuts a result to about max characters, keeping its head and tail on
 * UTF-8 character boundaries. */
static json_t *cut_text(const char *t, size_t max)
{
    size_t n = strlen(t), h, tl;
    char *b;
    json_t *j;
    if (n <= max || max < 200) return json_string(max < 200 ? "[cut: no room left in the context]" : t);
    h = max * 2 / 3;
    tl = max - h - 60;
    while (h > 0 && ((unsigned char)t[h] & 0xc0) == 0x80) h--;
    while (tl > 0 && ((unsigned char)t[n - tl] & 0xc0) == 0x80) tl--;
    if (asprintf(&b, "%.*s\n[... %zu characters cut to fit the context ...]\n%s", (int)h, t, n - h - tl, t + n - tl) < 0) return NULL;
    j = json_string(b);
    free(b);
    return j;
}

/* Fits a conversation into `budget` characters (the context, less the
 * reply, in characters), least useful first: the oldest tool results
 * (before the last KEEP_RECENT messages) become a note; then the model's
 * own long tool-call arguments and JSON actions there (written files,
 * mostly) and its reasoning; then older results of the recent messages;
 * last, the newest results are cut to their head and tail. The prompts
 * are never touched.
 * Returns the characters still over budget (0: it fits). */
static size_t fit_conversation(json_t *messages, size_t budget, int *elided)
{
    static const char note[] = "[this earlier tool output was elided to keep the conversation within the context; run the tool again if you need it]";
    static const char arg_note[] = "{\"elided\": \"a long earlier argument, removed to keep the conversation within the context\"}";
    size_t total = messages_chars(messages), i, k, n = json_array_size(messages), last = 0;
    int pass, r;
    for (i = 0; i < n; i++) if (!strcmp(jstr(json_array_get(messages, i), "role") ? jstr(json_array_get(messages, i), "role") : "", "assistant")) last = i;
    for (pass = 0; pass < 4 && total > budget; pass++)
        for (i = 2; i < n && total > budget; i++) {
            json_t *m = json_array_get(messages, i), *call;
            size_t len = message_chars(m);
            int recent = i + KEEP_RECENT >= n, tool = !strcmp(jstr(m, "role") ? jstr(m, "role") : "", "tool");
            if ((pass <= 1 && recent) || (pass == 2 && (!recent || i > last)) || (pass == 3 && i <= last)) continue;
            if (pass == 1) {
                if (strcmp(jstr(m, "role") ? jstr(m, "role") : "", "assistant") != 0) continue;
                json_array_foreach(json_object_get(m, "tool_calls"), k, call) {
                    json_t *fn = json_object_get(call, "function");
                    const char *a = jstr(fn, "arguments");
                    if (a && strlen(a) > sizeof arg_note) json_object_set_new(fn, "arguments", json_string(arg_note));
                }
                /* the providers want the reasoning of the current tool loop back, not of old turns */
                for (r = 0; reasoning_keys[r]; r++) json_object_del(m, reasoning_keys[r]);
                if (jstr(m, "content") && strlen(jstr(m, "content")) > sizeof arg_note) json_object_set_new(m, "content", json_string(arg_note));
            } else {
                if (!is_result(m) || len <= sizeof note + 64) continue;
                if (pass == 3) {
                    /* the newest results: what is left of the budget, shared */
                    size_t rest = total - len < budget ? budget - (total - len) : 0;
                    json_t *cut = cut_text(jstr(m, "content"), rest > 64 ? rest - 64 : 0);
                    if (!cut) continue;
                    json_object_set_new(m, "content", cut);
                } else {
                    json_object_set_new(m, "content", json_string(tool ? note : "[result of an earlier action] elided to keep the conversation within the context"));
                }
            }
            total -= len - message_chars(m);
            (*elided)++;
        }
    return total > budget ? total - budget : 0;
}

/* The characters a conversation may take: the context less the reply
 * and the margin, at least 256 tokens' worth (fitting then fails). */
static size_t context_budget(struct agent_llm *a)
{
    long room = a->context_tokens - ao_llm_max_tokens(a->llm) - CONTEXT_MARGIN;
    return (size_t)(room > 256 ? room : 256) * CHARS_PER_TOKEN;
}

/* After a provider refused a request as longer than its context: the
 * context later requests (this step's and the process's next steps') are
 * fitted to. The size the provider stated where it is below what was
 * sent, else 3/4 of what was sent (the server counts more tokens than
 * CHARS_PER_TOKEN estimates); never more than before. */
static void shrink_context(struct agent_llm *a, size_t sent_chars, long stated)
{
    long sent = (long)(sent_chars / CHARS_PER_TOKEN) + ao_llm_max_tokens(a->llm) + CONTEXT_MARGIN;
    long to = stated > 0 && stated < sent ? stated : sent * 3 / 4;
    if (to < a->context_tokens) a->context_tokens = to;
}

/* The rate-limit bound of the step's requests: the step's deadline
 * (--step-timeout) or the end of the run's time budget, whichever comes
 * first (0: neither; the client's own bound holds). t0: the step's start. */
static double rate_limit_deadline(const agent_ctx *c, double t0)
{
    double dl = c->llm->step_deadline, wall = c->s->run.budgets.wall_seconds;
    if (wall > 0) {
        double run_end = t0 + wall - ao_history_elapsed(&c->s->hist);
        if (!(dl > 0) || run_end < dl) dl = run_end;   /* a budget already spent: a bound in the past */
    }
    return dl;
}

static int record_failure(agent_ctx *c, const conv *cv, const char *kind, const char *message, ao_err *err)
{
    ao_iteration *it = ao_history_current(&c->s->hist);
    ao_error("the LLM %s step failed (%s): %s", cv->step, kind, message);
    if (ao_iteration_set_failure(it, cv->step, kind, message) < 0 || json_object_set(it->failure, "attempts", cv->attempts) != 0 ||
        json_object_set_new(it->failure, "protocol", json_string(cv->protocol)) != 0)
        return ao_err_set(err, AO_EMEM, "out of memory");
    return AO_OK;
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

/* The json protocol's response schema: one object per tool, {"action":
 * NAME, ...its parameters}, and {"action": "submit", "output": <the step's
 * submit schema>}, as a oneOf. Plain keywords only (const, properties,
 * required, additionalProperties, oneOf), which the servers' schema-to-
 * grammar converters accept. */
static json_t *action_schema(const json_t *tools)
{
    json_t *one = json_array(), *t;
    size_t i;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function"), *par = json_object_get(fn, "parameters"), *props, *req, *alt;
        const char *name = jstr(fn, "name");
        if (!strcmp(name, "submit")) {
            props = json_pack("{s:{s:s},s:O}", "action", "const", name, "output", par);
            req = json_pack("[s,s]", "action", "output");
        } else {
            json_t *p0 = json_object_get(par, "properties"), *r0 = json_object_get(par, "required");
            props = json_pack("{s:{s:s}}", "action", "const", name);
            json_object_update(props, p0);
            req = json_pack("[s]", "action");
            json_array_extend(req, r0);
        }
        alt = json_pack("{s:s,s:o,s:o,s:b}", "type", "object", "properties", props, "required", req, "additionalProperties", 0);
        if (!alt || json_array_append_new(one, alt) != 0) { json_decref(one); return NULL; }
    }
    return json_pack("{s:s,s:{s:o}}", "name", "action", "schema", "oneOf", one);
}

/* 1 when obj has every key of the array `keys` (and there is one). */
static int has_keys(const json_t *obj, const json_t *keys)
{
    size_t i;
    json_t *k;
    if (!json_array_size(keys)) return 0;
    json_array_foreach(keys, i, k) if (!json_string_value(k) || !json_object_get(obj, json_string_value(k))) return 0;
    return 1;
}

/* The keys the step's submit requires (its tool's parameters), or NULL. */
static const json_t *submit_required(const json_t *tools)
{
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        if (jstr(fn, "name") && !strcmp(jstr(fn, "name"), "submit")) return json_object_get(json_object_get(fn, "parameters"), "required");
    }
    return NULL;
}

/* A call the model wrote as text: {"name", "arguments"} (arguments an
 * object or a JSON string; "parameters" also taken), {"action": NAME,
 * ...}, or the step's output itself (an object with every key the submit
 * schema requires, which small models write instead of a submit call),
 * in <tool_call> tags, in a ```json fence or bare (prose before it is
 * skipped). Only the first is taken: *more says another object follows.
 * 1 with *name and *args (new) set; 0 when the text holds no call. */
static int text_call(const char *content, const json_t *submit_required, const char **name, json_t **args, json_t **doc, int *more)
{
    const char *p = content, *e;
    json_t *j = NULL, *a;
    json_error_t je;
    size_t n;
    *args = *doc = NULL;
    *name = NULL;
    *more = 0;
    if (!content) return 0;
    if ((e = strstr(p, "<tool_call>"))) { p = e + 11; e = strstr(p, "</tool_call>"); n = e ? (size_t)(e - p) : strlen(p); }
    else if ((e = strstr(p, "```"))) {
        p = e + 3;
        if (!strncmp(p, "json", 4)) p += 4;
        e = strstr(p, "```");
        n = e ? (size_t)(e - p) : strlen(p);
    } else {
        if (!(p = strchr(p, '{'))) return 0;
        n = strlen(p);
    }
    while (n > 0 && isspace((unsigned char)*p)) { p++; n--; }
    if (!(j = json_loadb(p, n, JSON_DISABLE_EOF_CHECK, &je)) || !json_is_object(j)) { json_decref(j); return 0; }
    *more = je.position >= 0 && strchr(p + je.position, '{') != NULL;
    if (!json_object_get(j, "action") && !json_object_get(j, "arguments") && !json_object_get(j, "parameters") && has_keys(j, submit_required)) {
        *name = "submit";
        a = json_incref(j);
    } else if (jstr(j, "action")) {
        *name = jstr(j, "action");
        if (!strcmp(*name, "submit")) a = json_incref(json_object_get(j, "output") ? json_object_get(j, "output") : json_object());
        else { a = json_deep_copy(j); json_object_del(a, "action"); }
    } else if (jstr(j, "name")) {
        json_t *v = json_object_get(j, "arguments");
        if (!v) v = json_object_get(j, "parameters");
        *name = jstr(j, "name");
        a = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : json_incref(v ? v : json_object());
        if (!json_is_object(a)) { json_decref(a); a = json_object(); }
    } else {
        json_decref(j);
        return 0;
    }
    *args = a;
    *doc = j;
    return a != NULL;
}

/* The arguments of a native tool call: a JSON object string, an object
 * (some servers send one), "" or absent ({}). NULL with *why when they are
 * not an object. */
static json_t *call_args(const json_t *fn, char *why, size_t n)
{
    const json_t *v = json_object_get(fn, "arguments");
    json_error_t je;
    json_t *a;
    if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v))) return json_object();
    if (json_is_object(v)) return json_deep_copy(v);
    if (!json_is_string(v)) { snprintf(why, n, "arguments must be a JSON object"); return NULL; }
    if (!(a = json_loads(json_string_value(v), JSON_DECODE_ANY, &je)) || !json_is_object(a)) {
        snprintf(why, n, "%s at character %d", a ? "not an object" : je.text, je.position);
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The reply's tool calls as they go back to the provider: every call has
 * an id (a made-up "call_TURN_I" where the server gave none or "") and
 * its arguments as a JSON string (a server may send an object), so the
 * echoed conversation is what the API accepts. New array; NULL when out
 * of memory. */
static json_t *normalise_calls(const json_t *calls, int turn)
{
    json_t *out = json_array(), *call;
    size_t i;
    if (!out) return NULL;
    json_array_foreach(calls, i, call) {
        const json_t *fn = json_object_get(call, "function"), *args = json_object_get(fn, "arguments");
        const char *id = jstr(call, "id");
        char made[64], *as = NULL;
        json_t *c, *f;
        snprintf(made, sizeof made, "call_%d_%zu", turn, i);
        if (json_is_string(args)) as = strdup(*json_string_value(args) ? json_string_value(args) : "{}");
        else if (json_is_object(args)) as = json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
        else if (!args || json_is_null(args)) as = strdup("{}");
        else as = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);   /* refused by call_args, with the reason */
        c = json_is_object(call) ? json_deep_copy(call) : json_object();
        f = c ? json_object_get(c, "function") : NULL;
        /* a call without a function object stays without one: the loop answers it with an error */
        if (!as || !c || json_object_set_new(c, "id", json_string(id && *id ? id : made)) < 0 ||
            (json_is_object(f) && json_object_set_new(f, "arguments", json_string(as)) < 0)) {
            json_decref(c);
            free(as);
            json_decref(out);
            return NULL;
        }
        free(as);
        if (json_array_append_new(out, c) < 0) { json_decref(out); return NULL; }
    }
    return out;
}

/* Appends a message; -1 when out of memory. */
static int push(json_t *messages, json_t *m) { return m && json_array_append_new(messages, m) == 0 ? 0 : -1; }

/* auto -> json: the step goes on in the json protocol, and so does every
 * later step of this process (a model that does not call tools natively
 * will not start to in the next step). */
static int switch_to_json(struct agent_llm *a, conv *cv, ao_err *err)
{
    cv->proto = PROTO_JSON;
    snprintf(cv->protocol, sizeof cv->protocol, "auto->json");
    a->auto_json = 1;
    return ao_llm_transcript(a->llm, "protocol_switch", json_pack("{s:s,s:s}", "step", cv->step, "to", "json"), err);
}

/* The per-step tallies of converse(). */
typedef struct turn_state {
    int rejects, nudges, lengths, misses;
    int repeats;                /* the same action again, in a row */
    int only_submit;            /* this reply may only submit */
    char *last_action;          /* name and canonical arguments of the last action */
} turn_state;

/* Small models loop on one command; the same action twice in a row is run
 * again (files may have changed) but its result says so. */
static const char repeat_note[] = "\n[note: you took exactly this action in your previous turn and got this result again. "
                                  "Use it: take a different action, or submit the step's output.]";

/* The workspace quota (--workspace-quota, --workspace-files), checked
 * after every call that writes there. It cannot stop a command midway
 * (the disk is the host's), but the step ends at once, and the next
 * iteration's first command can make room. 1 with why set when over, 0
 * when within; < -1 when the workspace cannot be opened. */
#define DEFAULT_WORKSPACE_MB 1024
#define DEFAULT_WORKSPACE_FILES 20000
static int workspace_over(agent_ctx *c, char *why, size_t n, ao_err *err)
{
    struct agent_llm *a = c->llm;
    ao_wsfs_usage u;
    double mb = a->cfg.workspace_mb > 0 ? a->cfg.workspace_mb : DEFAULT_WORKSPACE_MB;
    long files = a->cfg.workspace_files > 0 ? a->cfg.workspace_files : DEFAULT_WORKSPACE_FILES;
    int rc;
    if ((rc = ao_wsfs_measure(&a->ws, &u, err)) < 0) return rc;
    if (u.odd[0]) snprintf(why, n, "%s", u.odd);
    else if ((double)u.bytes > mb * 1048576.0 || u.entries > files)
        snprintf(why, n, "it holds %.1f MB in %ld entries; the quota is %g MB and %ld entries", (double)u.bytes / 1048576.0, u.entries, mb, files);
    else return 0;
    return 1;
}

/* Runs one call of the model's and returns the text that goes back (NULL
 * with err set on real errors); marks an over-limit of rejected submits
 * and counts repeated actions. */
static char *dispatch(agent_ctx *c, conv *cv, turn_state *ts, const char *name, const json_t *args,
                      const char **fail_kind, char *fail_msg, size_t fail_n, ao_err *err)
{
    int accepted = 0;
    char *result, *key = NULL, *a;
    if (cv->accepted) return strdup("not run: the step was already accepted");
    if (ts->only_submit && strcmp(name, "submit")) return strdup("error: not run: this reply could only submit the step's output");
    if (!(result = run_tool(c, cv, name, args, &accepted, err))) return NULL;
    if (!(result = neutral_paths(c->llm, result))) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    {
        /* everything bound for a message or the transcript is valid UTF-8, cut on a character boundary */
        int cut;
        char *t = ao_utf8_text(result, strlen(result), TOOL_RESULT_MAX - 32, 0, &cut), *more;
        free(result);
        if (!t) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
        if (cut && (more = realloc(t, strlen(t) + 32))) t = strcat(more, "\n[result truncated]");
        result = t;
    }
    if (!cv->read_only && (!strcmp(name, "bash") || !strcmp(name, "write_file") || !strcmp(name, "replace_in_file"))) {
        char why[600], *more = NULL;
        int over = workspace_over(c, why, sizeof why, err);
        if (over < 0) { free(result); return NULL; }
        if (over) {
            if (asprintf(&more, "%s\n[the workspace is over its quota: %s. The step fails here; remove what is not needed]", result, why) < 0) more = NULL;
            free(result);
            if (!(result = more)) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
            *fail_kind = "workspace_quota";
            snprintf(fail_msg, fail_n, "the workspace is over its quota: %s", why);
            clean_buf(fail_msg, fail_n);
        }
    }
    if (!strcmp(name, "submit") && !accepted && ++ts->rejects > c->llm->cfg.submit_retries) {
        *fail_kind = "invalid_output";
        snprintf(fail_msg, fail_n, "%d submits rejected; the last: %.400s", ts->rejects, result);
        clean_buf(fail_msg, fail_n);
    }
    a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    if (!a || asprintf(&key, "%s %s", name, a) < 0) key = NULL;
    free(a);
    if (!key) { free(result); ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (strcmp(name, "submit") && ts->last_action && !strcmp(key, ts->last_action)) {
        char *more = realloc(result, strlen(result) + sizeof repeat_note);
        if (!more) { free(result); free(key); ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
        result = strcat(more, repeat_note);
        ts->repeats++;
    } else {
        ts->repeats = 0;
    }
    free(ts->last_action);
    ts->last_action = key;
    return result;
}

/* Appends a note for the model to the last message when it is a result
 * or a user message (chat templates that insist on alternating roles
 * refuse two user messages in a row), else adds it as a user message. */
static int add_note(json_t *messages, const char *note)
{
    json_t *m = json_array_get(messages, json_array_size(messages) - 1);
    const char *role = jstr(m, "role"), *content = jstr(m, "content");
    char *both = NULL;
    int rc;
    if (!role || !content || (strcmp(role, "tool") && strcmp(role, "user")))
        return push(messages, json_pack("{s:s,s:s}", "role", "user", "content", note));
    if (asprintf(&both, "%s\n\n%s", content, note) < 0) return -1;
    rc = json_object_set_new(m, "content", json_string(both));
    free(both);
    return rc;
}


/* The step's prompts: messages (system, user), the tools and the json
 * protocol's action schema; their sizes go to the transcript. */
static int open_conversation(agent_ctx *c, conv *cv, const json_t *extra_vars, json_t **messages, json_t **tools,
                             json_t **actions, ao_err *err)
{
    struct agent_llm *a = c->llm;
    json_t *schema_file = NULL, *schema = NULL, *vars = NULL, *sizes = NULL, *v;
    char *sys = NULL, *user = NULL, *path = NULL, *proto_text = NULL;
    const char *k;
    int rc = AO_OK;
    if (!(path = ao_path_join(a->schemas, cv->schema_file))) return ao_err_set(err, AO_EMEM, "out of memory");
    {
        json_error_t je;
        if (!(schema_file = json_load_file(path, 0, &je))) { rc = ao_err_set(err, AO_EIO, "%s:%d: %s", path, je.line, je.text); goto DONE; }
    }
    if (!(schema = inline_refs(schema_file, a->schemas, 0, err))) { rc = err->code; goto DONE; }
    if (!(vars = prompt_vars(c, cv->step, schema, extra_vars))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(sys = load_prompt(a, "system", vars, err)) || !(user = load_prompt(a, cv->step, vars, err))) { rc = err->code; goto DONE; }
    /* the text protocols explain the action format once, in the system prompt */
    if (cv->proto != PROTO_TOOLS && !(proto_text = load_prompt(a, "protocol-json", vars, err))) { rc = err->code; goto DONE; }
    if (proto_text) {
        char *both = NULL;
        if (asprintf(&both, "%s\n\n%s", sys, proto_text) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        free(sys);
        sys = both;
    }
    *messages = json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", sys, "role", "user", "content", user);
    *tools = step_tools(a, cv, schema);
    *actions = *tools ? action_schema(*tools) : NULL;
    if (!*messages || !*tools || !*actions) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    /* a size report per prompt: what each filled-in part costs */
    if (!(sizes = json_object())) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    json_object_foreach(vars, k, v) if (json_string_value(v)) json_object_set_new(sizes, k, json_integer((json_int_t)strlen(json_string_value(v))));
    rc = ao_llm_transcript(a->llm, "prompt", json_pack("{s:s,s:s,s:I,s:I,s:I,s:o}", "step", cv->step, "protocol", cv->protocol,
                                                       "chars", (json_int_t)messages_chars(*messages),
                                                       "tokens_estimate", (json_int_t)(messages_chars(*messages) / CHARS_PER_TOKEN),
                                                       "context_tokens", (json_int_t)a->context_tokens, "parts", sizes), err);
    sizes = NULL;
DONE:
    json_decref(schema_file);
    json_decref(schema);
    json_decref(vars);
    json_decref(sizes);
    free(sys); free(user); free(path); free(proto_text);
    return rc;
}

/* Runs the step's conversation. AO_OK with cv->accepted set, or AO_OK and
 * *fail_kind/fail_msg set when the agent failed; < -1 on real errors. */
static int converse(agent_ctx *c, conv *cv, const json_t *extra_vars, const char **fail_kind, char *fail_msg, size_t fail_n, ao_err *err)
{
    struct agent_llm *a = c->llm;
    json_t *messages = NULL, *tools = NULL, *actions = NULL, *u0 = NULL, *submit_tools = NULL, *submit_actions = NULL, *ncalls = NULL;
    int rc = AO_OK, turn, max_turns = a->cfg.max_turns, iteration = c->s->hist.n_iters, elided = 0, forced = 0, shrinks = 0;
    size_t budget = context_budget(a), sent = 0;
    double t0 = ao_now();
    turn_state ts;
    ao_llm_reply r;
    memset(&r, 0, sizeof r);
    memset(&ts, 0, sizeof ts);
    *fail_kind = NULL;
    if (cv->proto == PROTO_AUTO && a->auto_json) {
        cv->proto = PROTO_JSON;
        snprintf(cv->protocol, sizeof cv->protocol, "auto->json");
    } else {
        snprintf(cv->protocol, sizeof cv->protocol, "%s", proto_names[cv->proto]);
    }
    if ((rc = open_conversation(c, cv, extra_vars, &messages, &tools, &actions, err)) < 0) goto DONE;
    /* the last reply of a step (or a model stuck on one action) may only submit */
    {
        size_t i;
        json_t *t;
        submit_tools = json_array();
        json_array_foreach(tools, i, t)
            if (!strcmp(jstr(json_object_get(t, "function"), "name") ? jstr(json_object_get(t, "function"), "name") : "", "submit"))
                json_array_append(submit_tools, t);
        if (!submit_tools || !(submit_actions = action_schema(submit_tools))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    }
    cv->attempts = json_array();
    a->step_deadline = a->cfg.step_timeout > 0 ? t0 + a->cfg.step_timeout : 0;
    ao_llm_set_deadline(a->llm, rate_limit_deadline(c, t0));
    u0 = ao_llm_usage(a->llm);
    if ((rc = ao_llm_transcript(a->llm, "step_start", json_pack("{s:s,s:i,s:s}", "step", cv->step, "iteration", iteration, "protocol", cv->protocol), err)) < 0) goto DONE;
    for (turn = 0; turn < max_turns && !cv->accepted && !*fail_kind; turn++) {
        json_t *calls, *msg, *call, *use_tools = tools, *use_actions = actions;
        const char *content, *tname;
        size_t i, over;
        long stated;
        int k;
        ao_err ce;
        ao_err_init(&ce);
        ao_llm_reply_clear(&r);
        if (a->step_deadline > 0 && ao_now() >= a->step_deadline) {
            *fail_kind = "step_timeout";
            snprintf(fail_msg, fail_n, "the step ran past --step-timeout %g s (%d model replies)", a->cfg.step_timeout, turn);
            break;
        }
        ts.only_submit = turn == max_turns - 1 || ts.repeats >= 2;
        if (ts.only_submit) {
            use_tools = submit_tools;
            use_actions = submit_actions;
            if (!forced++ && add_note(messages, turn == max_turns - 1
                                      ? "[agentomics] This is your last reply in this step: submit the step's output now."
                                      : "[agentomics] You are repeating one action. Submit the step's output now.") < 0) {
                rc = ao_err_set(err, AO_EMEM, "out of memory");
                goto DONE;
            }
        }
        {
            /* the tools (or the action schema) are sent with every request too */
            char *sch = json_dumps(cv->proto == PROTO_JSON ? use_actions : use_tools, JSON_COMPACT);
            size_t sl = sch ? strlen(sch) : 0;
            free(sch);
            over = fit_conversation(messages, budget > sl ? budget - sl : 0, &elided);
            sent = messages_chars(messages) + sl;
        }
        if (over > 0) {
            *fail_kind = "context";
            snprintf(fail_msg, fail_n, "the conversation needs about %zu tokens more than the model's context of %ld (less %d for the reply) holds",
                     over / CHARS_PER_TOKEN, a->context_tokens, ao_llm_max_tokens(a->llm));
            break;
        }
        if (elided) ao_debug("step %s: %d earlier tool results or arguments elided to fit the context", cv->step, elided);
        if (cv->proto == PROTO_JSON) rc = ao_llm_chat(a->llm, messages, NULL, NULL, use_actions, &r, &ce);
        else rc = ao_llm_chat(a->llm, messages, use_tools, use_tools == submit_tools ? "submit" : cv->proto == PROTO_TOOLS ? "required" : "auto",
                              NULL, &r, &ce);
        if (rc == AO_ELLM && ao_llm_failure_cause(a->llm, &stated) == AO_LLM_CAUSE_CONTEXT) {
            /* the server's context is smaller than the one requests were fitted to, or
             * it counts more tokens: the same reply again, fitted smaller, a few times */
            long was = a->context_tokens;
            if (shrinks++ >= CONTEXT_SHRINKS) {
                *fail_kind = "context";
                snprintf(fail_msg, fail_n, "the provider refused the request as longer than the model's context %d times, "
                         "the last fitted to %ld tokens: %.700s", shrinks, a->context_tokens, ce.msg);
                clean_buf(fail_msg, fail_n);
                rc = AO_OK;
                break;
            }
            shrink_context(a, sent, stated);
            budget = context_budget(a);
            ao_warn("step %s: the provider refused the request as longer than its context; fitting it to %ld tokens (was %ld)",
                    cv->step, a->context_tokens, was);
            if ((rc = ao_llm_transcript(a->llm, "context_shrink", json_pack("{s:s,s:I,s:I,s:I,s:s}", "step", cv->step, "from", (json_int_t)was,
                                                                            "to", (json_int_t)a->context_tokens, "stated", (json_int_t)stated,
                                                                            "error", ce.msg), err)) < 0) goto DONE;
            turn--;
            continue;
        }
        if (rc == AO_EBUDGET || rc == AO_ELLM) {
            int cause = ao_llm_failure_cause(a->llm, NULL);
            *fail_kind = rc == AO_EBUDGET ? "budget" : cause == AO_LLM_CAUSE_AUTH ? "auth" : cause == AO_LLM_CAUSE_RATE_LIMIT ? "rate_limit" : "provider";
            snprintf(fail_msg, fail_n, "%s", ce.msg);
            rc = AO_OK;
            break;
        }
        if (rc < 0) { ao_err_set(err, rc, "%s", ce.msg); goto DONE; }
        content = jstr(r.message, "content");
        msg = json_pack("{s:s,s:s?}", "role", "assistant", "content", content);
        for (k = 0; msg && reasoning_keys[k]; k++) {
            json_t *v = json_object_get(r.message, reasoning_keys[k]);
            if (v && !json_is_null(v) && json_object_set(msg, reasoning_keys[k], v) < 0) { json_decref(msg); msg = NULL; }
        }
        json_decref(ncalls);
        if (!(ncalls = normalise_calls(json_object_get(r.message, "tool_calls"), turn))) { json_decref(msg); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        calls = ncalls;
        if (cv->proto != PROTO_JSON && json_array_size(calls)) json_object_set(msg, "tool_calls", calls);
        else if (!content) json_object_set_new(msg, "content", json_string(""));   /* never content null without calls */
        if (push(messages, msg) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if (r.finish == AO_LLM_FINISH_CONTENT_FILTER) {
            *fail_kind = "content_filter";
            snprintf(fail_msg, fail_n, "the provider filtered the reply or the model refused (finish_reason '%s')", r.finish_reason);
            break;
        }
        if (cv->proto == PROTO_JSON || !json_array_size(calls)) {
            /* an action written as JSON text: the json protocol's only form, auto's fallback;
             * in auto, the second reply without a native call switches the step to json */
            json_t *args = NULL, *doc = NULL;
            char *result;
            const char *nudge = NULL;
            int more, to_json = cv->proto == PROTO_AUTO && ++ts.misses >= 2;
            if (to_json && (rc = switch_to_json(a, cv, err)) < 0) goto DONE;
            if (text_call(content, submit_required(tools), &tname, &args, &doc, &more)) {
                result = dispatch(c, cv, &ts, tname, args, fail_kind, fail_msg, fail_n, err);
                if (result) {
                    char *m = NULL;
                    if (asprintf(&m, "[result of %s]\n%s%s", tname, result,
                                 more ? "\n[note: only the first action of your reply was taken: one action per reply]" : "") < 0) m = NULL;
                    if (ao_llm_transcript(a->llm, "tool", json_pack("{s:s,s:s,s:s,s:s}", "step", cv->step, "name", tname, "protocol", "text", "result", result), err) < 0 ||
                        !m || push(messages, json_pack("{s:s,s:s}", "role", "user", "content", m)) < 0) { free(m); free(result); json_decref(args); json_decref(doc); rc = err->code ? err->code : ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
                    free(m);
                    free(result);
                }
                json_decref(args);
                json_decref(doc);
                if (!result) { rc = err->code; goto DONE; }
                continue;
            }
            if (r.finish == AO_LLM_FINISH_LENGTH) {
                if (++ts.lengths > 2) { *fail_kind = "length"; snprintf(fail_msg, fail_n, "the model's replies were cut by the length limit %d times", ts.lengths); break; }
                nudge = "Your reply was cut off by the length limit. Keep replies short and write long files in parts.";
            } else if (to_json) {
                nudge = "From now on reply with exactly one JSON object per turn, as the system prompt's action format says: {\"action\": \"NAME\", ...}.";
            } else {
                if (++ts.nudges > 3) { *fail_kind = "no_submit"; snprintf(fail_msg, fail_n, "the model stopped acting without submitting"); break; }
                nudge = cv->proto == PROTO_JSON ? "Reply with exactly one JSON action object: {\"action\": \"NAME\", ...}; the step ends only with the submit action."
                                                : "Continue with the tools; the step ends only when you call submit.";
            }
            if (push(messages, json_pack("{s:s,s:s}", "role", "user", "content", nudge)) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            continue;
        }
        json_array_foreach(calls, i, call) {
            json_t *fn = json_object_get(call, "function"), *args = NULL;
            const char *name = jstr(fn, "name"), *argstr = jstr(fn, "arguments"), *id = jstr(call, "id");
            char *result = NULL, why[256];
            double tt = ao_now();
            if (!name) {
                result = strdup("error: a tool call without a function name");
            } else if (i >= MAX_CALLS_PER_REPLY) {
                /* every call is answered (the API wants a result per id), but only the first few run */
                if (asprintf(&result, "not run: at most %d tool calls of one reply are run; send this one again in your next reply",
                             MAX_CALLS_PER_REPLY) < 0) result = NULL;
            } else if (a->step_deadline > 0 && ao_now() >= a->step_deadline) {
                result = strdup("not run: the step's time (--step-timeout) is up");
            } else if (*fail_kind) {
                result = strdup("not run: the step has failed (see the previous result)");
            } else if (!(args = call_args(fn, why, sizeof why))) {
                if (asprintf(&result, "error: the arguments of %s are not a JSON object (%s); send them again as valid JSON", name, why) < 0) result = NULL;
            } else if (!(result = dispatch(c, cv, &ts, name, args, fail_kind, fail_msg, fail_n, err))) {
                json_decref(args);
                rc = err->code;
                goto DONE;
            }
            json_decref(args);
            if (!result) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            if ((rc = ao_llm_transcript(a->llm, "tool", json_pack("{s:s,s:s?,s:s?,s:s,s:f}", "step", cv->step, "name", name, "arguments", argstr,
                                        "result", result, "seconds", ao_now() - tt), err)) < 0) { free(result); goto DONE; }
            /* a tool message answers its call by id; a server that gave none gets a made-up one, never "" */
            {
                char made[64];
                snprintf(made, sizeof made, "call_%d_%zu", turn, i);
                if (push(messages, json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id", id && *id ? id : made, "content", result)) < 0) {
                    free(result);
                    rc = ao_err_set(err, AO_EMEM, "out of memory");
                    goto DONE;
                }
            }
            free(result);
        }
    }
    if (!cv->accepted && !*fail_kind) {
        *fail_kind = "max_turns";
        snprintf(fail_msg, fail_n, "no accepted submit within %d model replies", max_turns);
    }
    {
        json_t *u1 = ao_llm_usage(a->llm), *d = usage_diff(u0, u1);
        json_object_set_new(d, "step", json_string(cv->step));
        json_object_set_new(d, "iteration", json_integer(iteration));
        json_object_set_new(d, "protocol", json_string(cv->protocol));
        json_object_set_new(d, "seconds", json_real(ao_now() - t0));
        json_array_append_new(a->steps_usage, d);
        json_decref(u1);
    }
    rc = ao_llm_transcript(a->llm, "step_end", json_pack("{s:s,s:s,s:s,s:s}", "step", cv->step, "status", cv->accepted ? "accepted" : "failed",
                                                         "protocol", cv->protocol, "reason", *fail_kind ? fail_msg : ""), err);
DONE:
    ao_llm_reply_clear(&r);
    json_decref(messages);
    json_decref(tools);
    json_decref(actions);
    json_decref(submit_tools);
    json_decref(submit_actions);
    json_decref(u0);
    json_decref(ncalls);
    a->step_deadline = 0;
    ao_llm_set_deadline(a->llm, 0);
    free(ts.last_action);
    return rc;
}

/* ---- validators --------------------------------------------------------------- */

static int accept_as_is(agent_ctx *c, const json_t *submitted, json_t **out, char *msg, size_t n, ao_err *err)
{
    (void)c; (void)msg; (void)n;
    return (*out = json_deep_copy(submitted)) ? 1 : ao_err_set(err, AO_EMEM, "out of memory");
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

int agent_llm_validate_split(agent_ctx *c, const json_t *sub, json_t **out, char *msg, size_t n, ao_err *err)
{
    struct agent_llm *a = c->llm;
    const char *method = jstr(sub, "method");
    ao_seqset *pt = NULL, *pv = NULL;
    id_row *index = NULL;
    unsigned char *seen = NULL;
    int64_t *ti = NULL, *vi = NULL, i;
    char *ht = NULL, *hv = NULL;
    int ok = 0, rc, w1, w2, version;
    json_t *report = NULL;
    ao_err de;
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
    /* regular files only, checked without blocking: a FIFO would hang the read */
    if (ao_wsfs_check_file(&a->ws, jstr(sub, "train_file"), &de) < 0 || ao_wsfs_check_file(&a->ws, jstr(sub, "valid_file"), &de) < 0) {
        snprintf(msg, n, "%s", de.msg);
        goto DONE;
    }
    if ((rc = agent_load_split(c, err)) < 0) { ok = rc; goto DONE; }
    if (!(pt = ao_seqset_read(ht, c->info, 1, 1, &de)) || !(pv = ao_seqset_read(hv, c->info, 1, 1, &de))) {
        /* the reader names the host path: the result goes through neutral_paths on its way to the model */
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
    report = json_pack("{s:s,s:I,s:I,s:o,s:o}", "method", "files", "n_train", (json_int_t)pt->n, "n_valid", (json_int_t)pv->n,
                       "train_classes", class_report(c->train, ti, pt->n, c->info), "valid_classes", class_report(c->train, vi, pv->n, c->info));
    if (!report) { ok = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = agent_install_split(c, ti, pt->n, vi, pv->n, report, &version, err)) < 0) { ok = rc; goto DONE; }
    *out = json_pack("{s:b,s:s,s:i,s:O,s:s,s:O}", "skipped", 0, "source", "agent", "version", version, "report", report, "agent", "llm", "submitted", sub);
    if (!*out) { ok = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    /* the copies in the workspace would otherwise travel into the model */
    unlink(ht);
    unlink(hv);
    ok = 1;
DONE:
    json_decref(report);
    ao_seqset_destroy(pt);
    ao_seqset_destroy(pv);
    free(index); free(seen); free(ti); free(vi); free(ht); free(hv);
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
    int number = c->s->hist.n_iters, rc = AO_OK, ok = 0, cleanup;
    uint64_t seed = ao_seed_derive(c->s->run.seed, AO_SEED_SMOKE, (uint64_t)number);
    memset(&rep, 0, sizeof rep);
    memset(&lim, 0, sizeof lim);
    lim.time_limit = a->cfg.bash_timeout * 2;
    lim.mem_mb = (long)a->cfg.mem_limit_mb;
    lim.threads = c->o->threads;
    /* the entry's AO_SEED: the one train-run will give it */
    lim.seed = ao_seed_derive(c->s->run.seed, AO_SEED_TRAIN, (uint64_t)number);
    if (!mkdtemp(tmpl)) return ao_err_set(err, AO_EIO, "cannot create a temporary directory: %s", strerror(errno));
    cleanup = ao_cleanup_add(tmpl);   /* a killed step leaves no smoke directory behind */
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
    ao_cleanup_remove(cleanup);
    free(proba); free(ti); free(vi); free(tr); free(va); free(md);
    return rc < 0 ? rc : ok;
}

int agent_llm_validate_code(agent_ctx *c, const json_t *sub, json_t **out, char *msg, size_t n, ao_err *err)
{
    const char *entry = jstr(sub, "entry");
    json_t *smoke = NULL;
    int rc;
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

/* ---- the step table's hooks and the step driver ---------------------------------- */

int agent_llm_prefill_explore(agent_ctx *c, json_t **base, json_t **out, ao_err *err)
{
    /* the trusted profile first (once per run); the model explores on top */
    (void)out;
    return agent_builtin_step(c, "explore", base, err);
}

int agent_llm_prefill_split(agent_ctx *c, json_t **base, json_t **out, ao_err *err)
{
    int rc;
    (void)base;
    if ((rc = agent_load_split(c, err)) < 0) return rc;
    /* a split in force is kept: iterations must stay comparable */
    if (c->user_valid || c->s->hist.split_version > 0) return agent_builtin_step(c, "split", out, err);
    return AO_OK;
}

int agent_llm_post_plan(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err)
{
    json_t *plan = NULL;
    int rc;
    (void)base; (void)attempts;
    /* the builtin plan's numbers, with the model's plan beside them */
    if ((rc = ao_policy_plan(&c->s->run, &c->s->hist, &plan, err)) < 0) return rc;
    if (json_object_set(plan, "goal", json_object_get(accepted, "goal")) != 0 || json_object_set_new(plan, "agent", json_string("llm")) != 0 ||
        json_object_set(plan, "plan", (json_t *)accepted) != 0) {
        json_decref(plan);
        return ao_err_set(err, AO_EMEM, "out of memory");
    }
    *out = plan;
    return AO_OK;
}

int agent_llm_post_explore(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err)
{
    (void)c; (void)attempts;
    if (json_object_set_new(base, "agent", json_string("llm")) != 0 || json_object_set(base, "findings", (json_t *)accepted) != 0)
        return ao_err_set(err, AO_EMEM, "out of memory");
    *out = json_incref(base);
    return AO_OK;
}

int agent_llm_post_validated(agent_ctx *c, const json_t *accepted, json_t *base, const json_t *attempts, json_t **out, ao_err *err)
{
    (void)c; (void)base;
    *out = json_deep_copy(accepted);
    if (!*out || json_object_set(*out, "attempts", (json_t *)attempts) != 0) { json_decref(*out); *out = NULL; return ao_err_set(err, AO_EMEM, "out of memory"); }
    return AO_OK;
}

/* The default post hook: the accepted submit, marked as the LLM's. */
static int post_copy(const json_t *accepted, json_t **out, ao_err *err)
{
    *out = json_deep_copy(accepted);
    if (!*out || json_object_set_new(*out, "agent", json_string("llm")) != 0) { json_decref(*out); *out = NULL; return ao_err_set(err, AO_EMEM, "out of memory"); }
    return AO_OK;
}

int agent_llm_step(agent_ctx *c, const agent_step *st, json_t **out, ao_err *err)
{
    conv cv;
    const char *fail_kind = NULL;
    char fail_msg[1024] = "";
    json_t *base = NULL;
    int rc;
    *out = NULL;
    memset(&cv, 0, sizeof cv);
    cv.step = st->name;
    snprintf(cv.schema_file, sizeof cv.schema_file, "submit-%s.schema.json", st->name);
    cv.validate = st->llm_validate ? st->llm_validate : accept_as_is;
    if (st->llm_prefill) {
        if ((rc = st->llm_prefill(c, &base, out, err)) < 0 || *out) goto DONE;
    }
    if ((rc = llm_open(c, err)) < 0) goto DONE;
    cv.proto = proto_of(c->llm->protocol);
    if ((rc = converse(c, &cv, NULL, &fail_kind, fail_msg, sizeof fail_msg, err)) < 0) goto DONE;
    if (fail_kind) rc = record_failure(c, &cv, fail_kind, fail_msg, err);
    else if (st->llm_post) rc = st->llm_post(c, cv.accepted, base, cv.attempts, out, err);
    else rc = post_copy(cv.accepted, out, err);
    if (rc == AO_OK && *out && json_object_set_new(*out, "protocol", json_string(cv.protocol)) != 0) rc = ao_err_set(err, AO_EMEM, "out of memory");
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
    json_t *run = NULL, *extra = NULL;
    const ao_iteration *it = ao_history_current(&c->s->hist);
    int rc;
    *feedback = NULL;
    *failure = NULL;
    memset(&cv, 0, sizeof cv);
    cv.step = "reflect";
    snprintf(cv.schema_file, sizeof cv.schema_file, "submit-reflect.schema.json");
    cv.validate = accept_as_is;
    cv.read_only = 1;
    if (!c->o->data) return ao_err_set(err, AO_EUSAGE, "LLM reflection needs --data AGENTDIR");
    if ((rc = llm_open(c, err)) < 0) return rc;
    cv.proto = proto_of(c->llm->protocol);
    run = json_pack("{s:O*,s:O*,s:o*,s:o*,s:o*,s:O*,s:O*}", "status", json_object_get(metrics, "status"), "message", json_object_get(metrics, "message"),
                    "valid", metrics_brief(json_object_get(metrics, "valid"), 1), "train", metrics_brief(json_object_get(metrics, "train"), 0),
                    "selection", json_is_object(json_object_get(metrics, "selection")) ? metrics_brief(json_object_get(metrics, "selection"), 1) : NULL,
                    "analysis", ao_iteration_output(it, "analyze"), "log_tail", json_object_get(metrics, "log_tail"));
    if (!run) return ao_err_set(err, AO_EMEM, "out of memory");
    if (it->failure) json_object_set(run, "agent_failure", it->failure);
    extra = json_object();
    {
        json_t *sl = slim(run);
        set_text(extra, "run", compact(sl, c->llm->part_max));
        json_decref(sl);
    }
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
