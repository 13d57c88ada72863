/* llm.c — an OpenAI-compatible chat-completions client (libcurl + jansson).
 *
 * One request per ao_llm_chat(): the body is built once, then sent until
 * it is answered: 1 + max_retries times for failures, and for as long as
 * the deadline allows while the answer is a rate limit (429). Each
 * attempt is classified as done, retryable (transport errors,
 * 408/409/429/5xx, a body that is not JSON, an error object with one of
 * those codes inside a 200 body) or fatal (any other status, other errors
 * in the body, a reply without a message); a fatal one that says the
 * request exceeded the model's context is told apart (with the size it
 * states), since the caller can cure it by sending less.
 *
 * Ledger: every attempt counts as one call, answered or not, whatever its
 * status, because that is what a provider may bill and rate limit, and
 * the call budget is checked before each ao_llm_chat() and before each
 * retry, so it bounds the attempts. Cost: usage.cost when the provider
 * reports it, else the config's price table on the reply's usage, else (a
 * reply without usage) the price table on tokens estimated from the
 * request's and the reply's sizes (CHARS_PER_TOKEN_ESTIMATE), marked
 * cost_estimated; a delivered completion whose cost cannot be known makes
 * cost_known false; attempts that delivered no completion (error
 * statuses, unparseable bodies) cost 0. Provider numbers are clamped.
 *
 * The key lives only in the Authorization header. Every reply body is
 * scrubbed as it arrives, before it is parsed, and everything written to
 * the transcript and every error message goes through the same scrub,
 * which replaces each occurrence of the key (plain or escaped) with
 * "[REDACTED]", so a provider that echoes the key back cannot leak it
 * through us, into the transcript or into anything the agent makes of
 * the reply.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "agentomics/jsonfield.h"
#include "agentomics/llm.h"
#include "agentomics/log.h"
#include "agentomics/rng.h"

#ifndef AO_VERSION
#define AO_VERSION "dev"
#endif

#define LLM_REPLY_MAX ((size_t)32 << 20)   /* a chat reply is KBs; more is a broken server */
#define LLM_RAW_LOG_MAX ((size_t)64 << 10) /* raw (non-JSON) bodies kept in the transcript */
#define LLM_SNIPPET_MAX 300                /* raw body text quoted in an error message */
#define LLM_REDACTED "[REDACTED]"
/* Replies are scrubbed only of keys this long: shorter ones are a local
 * server's placeholder ("EMPTY", "x"), no secret, and scrubbing them would
 * rewrite ordinary words in the code the model writes. The transcript is
 * scrubbed of any key. */
#define LLM_REPLY_SCRUB_MIN 8

/* Hosted APIs call tools natively; local servers often run small models
 * that answer a tool call as JSON text, so they default to "auto" (content
 * calls taken, "json" after two misses) or, for Ollama, whose OpenAI
 * endpoint ignores tool_choice, to "json" (schema-constrained replies).
 * llama.cpp ignores a tool_choice object (it logs a type error). */
static const ao_llm_preset llm_presets[] = {
    /* name          api_base                       tc obj js par cost key max_tok probe                protocol */
    {"openai",     "https://api.openai.com/v1",    1, 1,  1, 1,  0,   1,  4096, AO_LLM_PROBE_NONE,   "tools"},
    {"openrouter", "https://openrouter.ai/api/v1", 1, 1,  1, 1,  1,   1,  4096, AO_LLM_PROBE_NONE,   "tools"},
    {"ollama",     "http://127.0.0.1:11434/v1",    0, 0,  1, 0,  0,   0,  4096, AO_LLM_PROBE_NONE,   "json"},
    {"vllm",       "http://127.0.0.1:8000/v1",     1, 1,  1, 1,  0,   0,  4096, AO_LLM_PROBE_MODELS, "auto"},
    {"llamacpp",   "http://127.0.0.1:8080/v1",     1, 0,  1, 0,  0,   0,  4096, AO_LLM_PROBE_PROPS,  "auto"},
    {"custom",     "",                             1, 0,  1, 1,  0,   0,  4096, AO_LLM_PROBE_NONE,   "auto"},
};

/* Token and cost sums: one per ao_llm (the process) and one per chat. */
typedef struct llm_tally {
    json_int_t prompt, completion, cached, reasoning;
    double cost;            /* sum of the known costs */
    int cost_unknown;       /* some delivered completion had no known cost */
    int cost_estimated;     /* some cost came from estimated tokens (no usage in the reply) */
} llm_tally;

struct ao_llm {
    const ao_llm_preset *preset;
    char *url;              /* {api_base}/chat/completions */
    char *model;
    char *key;              /* NULL or non-empty */
    size_t key_len;
    double connect_timeout, request_timeout, backoff_base, backoff_cap, temperature;
    int max_retries, max_tokens, max_calls;
    double max_cost;
    json_t *prices;
    int tfd;                /* transcript, -1 when none */
    char *transcript;
    ao_rng rng;             /* backoff jitter only */
    CURL *curl;             /* kept across calls so connections are reused */
    int curl_inited;
    long calls, retries;    /* this process */
    llm_tally tally;        /* this process */
    long seed_calls;
    double seed_cost;
    int context_probed;     /* ao_llm_context_tokens asked the server already */
    long context_tokens;    /* its answer (0: unknown) */
    int fail_cause;         /* enum ao_llm_cause of the last failed ao_llm_chat */
    long fail_context;      /* the context size its overflow stated (0: none said) */
    double deadline;        /* ao_now() past which rate-limited calls stop waiting (0: none) */
    double rate_limit_wait; /* without a deadline, seconds one call waits out rate limits */
    long rate_limited;      /* 429 answers, this process */
    double rate_limit_seconds;   /* seconds slept on them */
    int parallel;           /* parallel_tool_calls: -1 not sent, 0 false, 1 true */
};

/* The body of one attempt, capped. */
typedef struct llm_buf {
    char *data;
    size_t len, cap;
    int too_big;
} llm_buf;

/* Retry hints from the response headers of one attempt (<0: absent). */
typedef struct llm_hints {
    double retry_after, retry_after_ms;
} llm_hints;

enum { ATT_OK, ATT_RETRY, ATT_FATAL };

typedef struct llm_attempt {
    int kind;
    long status;            /* 0: no HTTP response */
    int rate_limited;       /* HTTP 429, or an error with code 429 in a 200 body */
    long context_limit;     /* -1: not a context overflow; else the context size the error states (0: none) */
    char reason[AO_ERRMSG_MAX];
    llm_hints hints;
    json_t *body;           /* parsed body (NULL if it did not parse) */
    json_t *choice;         /* borrowed from body when kind == ATT_OK */
} llm_attempt;

/* ---- presets and config ------------------------------------------------ */

const ao_llm_preset *ao_llm_preset_find(const char *name)
{
    size_t i;
    if (!name) return NULL;
    for (i = 0; i < sizeof llm_presets / sizeof llm_presets[0]; i++)
        if (strcmp(llm_presets[i].name, name) == 0) return &llm_presets[i];
    return NULL;
}

void ao_llm_preset_names(char *buf, size_t n)
{
    size_t i, len = 0;
    if (n) buf[0] = '\0';
    for (i = 0; i < sizeof llm_presets / sizeof llm_presets[0] && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", llm_presets[i].name);
}

const char *ao_llm_key_from_env(const char **which)
{
    static const char *const vars[] = {"AGENTOMICS_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"};
    size_t i;
    for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            if (which) *which = vars[i];
            return v;
        }
    }
    if (which) *which = NULL;
    return NULL;
}

void ao_llm_config_init(ao_llm_config *c)
{
    memset(c, 0, sizeof *c);
    c->provider = "openai";
    c->connect_timeout = 10;
    c->request_timeout = 300;
    c->max_retries = 5;
    c->backoff_base = 1;
    c->backoff_cap = 60;
    c->rate_limit_wait = 600;
    c->temperature = NAN;
    c->parallel_tool_calls = -1;
}

const ao_llm_preset *ao_llm_preset_of(const ao_llm *l) { return l ? l->preset : NULL; }

/* ---- redaction ----------------------------------------------------------- */

static int hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The length of the key written at s[i..n) in one of its obvious forms,
 * 0 when it is not there. Each key byte may be itself or, where text
 * holds JSON or a URL, an escape of it: "\u00XX" behind any number of
 * backslashes (JSON inside JSON strings, as tool-call arguments are) or
 * "%XX". A provider that echoes the key escaped must not get it past the
 * scrub and into a file the agent writes after the arguments are
 * decoded. */
static size_t key_span(const char *s, size_t n, size_t i, const char *key, size_t klen)
{
    size_t j, p = i;
    for (j = 0; j < klen; j++) {
        unsigned char k = (unsigned char)key[j];
        if (p < n && (unsigned char)s[p] == k) { p++; continue; }
        if (p + 3 <= n && s[p] == '%' && hex_digit(s[p + 1]) >= 0 && hex_digit(s[p + 2]) >= 0 &&
            hex_digit(s[p + 1]) * 16 + hex_digit(s[p + 2]) == k) { p += 3; continue; }
        if (p < n && s[p] == '\\') {
            size_t q = p;
            while (q < n && s[q] == '\\') q++;
            if (q + 5 <= n && s[q] == 'u' && hex_digit(s[q + 1]) == 0 && hex_digit(s[q + 2]) == 0 &&
                hex_digit(s[q + 3]) >= 0 && hex_digit(s[q + 4]) >= 0 && hex_digit(s[q + 3]) * 16 + hex_digit(s[q + 4]) == k) {
                p = q + 5;
                continue;
            }
        }
        return 0;
    }
    return p - i;
}

/* A malloc'd copy of s[0..n) with every occurrence of key (in any form
 * key_span knows) replaced; *out_n gets its length. Two passes: the
 * first measures, the second writes. */
static char *scrub_mem(const char *s, size_t n, const char *key, size_t klen, size_t *out_n)
{
    size_t rl = strlen(LLM_REDACTED), i, o = 0, span;
    char *out = NULL;
    int pass;
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(out = malloc(o + 1))) return NULL;
        for (i = 0, o = 0; i < n;) {
            if (klen && (span = key_span(s, n, i, key, klen)) > 0) {
                if (out) memcpy(out + o, LLM_REDACTED, rl);
                o += rl;
                i += span;
            } else {
                if (out) out[o] = s[i];
                o++;
                i++;
            }
        }
    }
    out[o] = '\0';
    if (out_n) *out_n = o;
    return out;
}

/* Whether s[0..n) holds the key in any form key_span knows. */
static int has_key(const char *s, size_t n, const char *key, size_t klen)
{
    size_t i;
    for (i = 0; klen && i < n; i++)
        if (key_span(s, n, i, key, klen)) return 1;
    return 0;
}

/* A copy of v in which no string (value or object key) contains the key.
 * Unchanged leaves are shared with v: the copy is only dumped. New ref. */
static json_t *scrub_json(const json_t *v, const char *key, size_t klen)
{
    json_t *out = NULL, *item;
    const char *k;
    size_t i;
    if (!v) return NULL;
    if (!klen) return json_incref((json_t *)v);
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), on;
        char *t;
        if (!has_key(s, n, key, klen)) return json_incref((json_t *)v);
        if (!(t = scrub_mem(s, n, key, klen, &on))) return NULL;
        out = json_stringn(t, on);
        free(t);
        return out;
    }
    case JSON_OBJECT:
        if (!(out = json_object())) return NULL;
        json_object_foreach((json_t *)v, k, item) {
            json_t *c = scrub_json(item, key, klen);
            char *sk = NULL;
            int bad;
            if (!c) goto ERROR;
            if (has_key(k, strlen(k), key, klen)) {
                if (!(sk = scrub_mem(k, strlen(k), key, klen, NULL))) { json_decref(c); goto ERROR; }
            }
            bad = json_object_set_new(out, sk ? sk : k, c);
            free(sk);
            if (bad) goto ERROR;
        }
        return out;
    case JSON_ARRAY:
        if (!(out = json_array())) return NULL;
        json_array_foreach((json_t *)v, i, item) {
            json_t *c = scrub_json(item, key, klen);
            if (!c || json_array_append_new(out, c)) goto ERROR;
        }
        return out;
    default:
        return json_incref((json_t *)v);
    }
ERROR:
    json_decref(out);
    return NULL;
}

/* Printable, valid UTF-8 text from arbitrary bytes, for messages and the
 * transcript: invalid sequences become '?' so jansson accepts the string. */
static size_t utf8_clean(const char *s, size_t n, char *out, int flatten)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned char c = u[i];
        size_t len = ao_utf8_seq(u + i, n - i);
        if (!len) { out[o++] = '?'; i++; continue; }
        if (len == 1 && flatten && (c < 0x20 || c == 0x7F)) { out[o++] = ' '; i++; continue; }
        memmove(out + o, s + i, len);   /* out may be s: cleaning in place */
        o += len;
        i += len;
    }
    out[o] = '\0';
    return o;
}

/* ---- transcript ---------------------------------------------------------- */

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int ao_llm_transcript(ao_llm *l, const char *event, json_t *fields, ao_err *err)
{
    json_t *ev = NULL, *clean = NULL;
    char *line = NULL;
    struct timeval tv;
    size_t n;
    int rc = AO_OK;

    if (!l || l->tfd < 0) goto DONE;
    if (!fields) {
        /* every caller builds fields with json_pack: NULL is a string that
         * is not UTF-8 (or no memory), never a reason to drop the event */
        rc = ao_err_set(err, AO_EINTERNAL, "transcript event '%s': its JSON could not be built (text that is not UTF-8, or out of memory)", event ? event : "note");
        goto DONE;
    }
    gettimeofday(&tv, NULL);
    if (!(ev = json_object()) ||
        json_object_set_new(ev, "time", json_real((double)tv.tv_sec + tv.tv_usec * 1e-6)) ||
        json_object_set_new(ev, "event", json_string(event ? event : "note"))) goto ERROR_MEM;
    if (json_is_object(fields)) {
        if (json_object_update(ev, fields)) goto ERROR_MEM;
    } else if (fields) {
        if (json_object_set(ev, "data", fields)) goto ERROR_MEM;
    }
    if (!(clean = scrub_json(ev, l->key, l->key_len))) goto ERROR_MEM;
    if (!(line = json_dumps(clean, JSON_COMPACT))) goto ERROR_MEM;
    n = strlen(line);
    line[n] = '\n';   /* replaces the NUL: the line goes out in one write */
    if (write_all(l->tfd, line, n + 1) != 0) {
        rc = ao_err_set(err, AO_EIO, "%s: cannot write the LLM transcript: %s", l->transcript, strerror(errno));
        goto DONE;
    }
    goto DONE;
ERROR_MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    free(line);
    json_decref(clean);
    json_decref(ev);
    json_decref(fields);
    return rc;
}

/* Sets err to a scrubbed message and records it in the transcript. */
static int llm_fail(ao_llm *l, ao_err *err, int code, int attempt, const char *fmt, ...) AO_PRINTF(5, 6);
static int llm_fail(ao_llm *l, ao_err *err, int code, int attempt, const char *fmt, ...)
{
    char raw[AO_ERRMSG_MAX];
    char *clean;
    va_list ap;
    ao_err terr;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    clean = scrub_mem(raw, strlen(raw), l->key, l->key_len, NULL);
    if (!clean) return ao_err_set(err, AO_EMEM, "out of memory");
    utf8_clean(clean, strlen(clean), clean, 1);   /* vsnprintf may have cut a character */
    ao_err_set(err, code, "%s", clean);
    /* The root cause is already in err; a transcript failure now adds nothing. */
    ao_err_init(&terr);
    if (ao_llm_transcript(l, "error", json_pack("{s:i,s:s,s:s}", "attempt", attempt, "kind",
                                                code == AO_EBUDGET ? "budget" : code == AO_ELLM ? "llm" : "other",
                                                "message", clean), &terr) < 0) {
        /* ignored on purpose */
    }
    free(clean);
    return code;
}

/* ---- create / destroy ---------------------------------------------------- */

ao_llm *ao_llm_create(const ao_llm_config *c, ao_err *err)
{
    ao_llm *l = NULL;
    const char *base, *prov;
    size_t blen;

    if (!c) { ao_err_set(err, AO_EUSAGE, "no LLM configuration"); return NULL; }
    prov = c->provider && *c->provider ? c->provider : "openai";
    if (!(l = calloc(1, sizeof *l))) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    l->tfd = -1;
    if (!(l->preset = ao_llm_preset_find(prov))) {
        char names[256];
        ao_llm_preset_names(names, sizeof names);
        ao_err_set(err, AO_EUSAGE, "unknown LLM provider '%s' (%s)", prov, names);
        goto ERROR;
    }
    if (!c->model || !*c->model) {
        ao_err_set(err, AO_EUSAGE, "no LLM model given (--model or AGENTOMICS_MODEL)");
        goto ERROR;
    }
    base = c->api_base && *c->api_base ? c->api_base : l->preset->api_base;
    if (!*base) {
        ao_err_set(err, AO_EUSAGE, "the %s provider needs an API base URL (--api-base or AGENTOMICS_API_BASE)", prov);
        goto ERROR;
    }
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        ao_err_set(err, AO_EUSAGE, "%s: the API base URL must start with http:// or https://", base);
        goto ERROR;
    }
    if (c->api_key && *c->api_key) {
        const char *p;
        for (p = c->api_key; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7F) {
                /* A newline in a header value would smuggle in headers. */
                ao_err_set(err, AO_EUSAGE, "the API key contains control characters");
                goto ERROR;
            }
    } else if (l->preset->needs_key) {
        ao_err_set(err, AO_EUSAGE, "the %s provider needs an API key "
                   "(AGENTOMICS_API_KEY, OPENAI_API_KEY or OPENROUTER_API_KEY)", prov);
        goto ERROR;
    }
    if (!(c->connect_timeout > 0) || !(c->request_timeout > 0) || c->max_retries < 0 ||
        !(c->backoff_base >= 0) || !(c->backoff_cap >= 0) || !(c->rate_limit_wait >= 0) || c->max_tokens < 0 || c->max_calls < 0) {
        ao_err_set(err, AO_EUSAGE, "invalid LLM timeouts, retries, backoff or limits");
        goto ERROR;
    }
    if (c->prices && !json_is_object(c->prices)) {
        ao_err_set(err, AO_EUSAGE, "the LLM price table must be a JSON object");
        goto ERROR;
    }
    /* "http://host/v1/" and "http://host/v1" are the same base. */
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') blen--;
    if (asprintf(&l->url, "%.*s/chat/completions", (int)blen, base) < 0) { l->url = NULL; goto ERROR_MEM; }
    if (!(l->model = strdup(c->model))) goto ERROR_MEM;
    if (c->api_key && *c->api_key) {
        if (!(l->key = strdup(c->api_key))) goto ERROR_MEM;
        l->key_len = strlen(l->key);
    }
    l->connect_timeout = c->connect_timeout;
    l->request_timeout = c->request_timeout;
    l->max_retries = c->max_retries;
    l->backoff_base = c->backoff_base;
    l->backoff_cap = c->backoff_cap;
    l->rate_limit_wait = c->rate_limit_wait;
    l->temperature = c->temperature;
    l->parallel = c->parallel_tool_calls;
    l->max_tokens = c->max_tokens;
    l->max_calls = c->max_calls;
    l->max_cost = c->max_cost;
    if (c->prices && !(l->prices = json_deep_copy(c->prices))) goto ERROR_MEM;
    ao_rng_seed(&l->rng, c->seed);
    if (c->transcript) {
        if (!(l->transcript = strdup(c->transcript))) goto ERROR_MEM;
        /* 0600: the transcript holds the prompts, which may be private. */
        l->tfd = open(c->transcript, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (l->tfd < 0) {
            ao_err_set(err, AO_EIO, "%s: cannot open the LLM transcript: %s", c->transcript, strerror(errno));
            goto ERROR;
        }
    }
    /* Reference-counted by libcurl, so one per ao_llm is fine. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ao_err_set(err, AO_EINTERNAL, "libcurl failed to initialise");
        goto ERROR;
    }
    l->curl_inited = 1;
    if (!(l->curl = curl_easy_init())) goto ERROR_MEM;
    return l;
ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory");
ERROR:
    ao_llm_destroy(l);
    return NULL;
}

void ao_llm_destroy(ao_llm *l)
{
    if (!l) return;
    if (l->curl) curl_easy_cleanup(l->curl);
    if (l->curl_inited) curl_global_cleanup();
    if (l->tfd >= 0) close(l->tfd);
    if (l->key) {
        explicit_bzero(l->key, l->key_len);
        free(l->key);
    }
    free(l->url);
    free(l->model);
    free(l->transcript);
    json_decref(l->prices);
    free(l);
}

int ao_llm_max_tokens(const ao_llm *l) { return l->max_tokens > 0 ? l->max_tokens : l->preset->max_tokens; }

void ao_llm_ledger_seed(ao_llm *l, int calls, double cost)
{
    if (!l) return;
    l->seed_calls = calls > 0 ? calls : 0;
    l->seed_cost = isfinite(cost) && cost > 0 ? cost : 0;
}

/* ---- usage --------------------------------------------------------------- */

/* A provider's token count, clamped to [0, LLM_TOKENS_MAX]: a count of
 * 1e300 or INT64_MAX must not overflow the sums (a count past the bound
 * is taken as the bound: the budget then holds, it is not reset). */
#define LLM_TOKENS_MAX 1000000000000LL
static json_int_t int_member(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_integer(v)) return json_integer_value(v) <= 0 ? 0 : json_integer_value(v) > LLM_TOKENS_MAX ? LLM_TOKENS_MAX : json_integer_value(v);
    if (json_is_real(v) && json_real_value(v) > 0) return json_real_value(v) >= (double)LLM_TOKENS_MAX ? LLM_TOKENS_MAX : (json_int_t)json_real_value(v);
    return 0;
}

#define LLM_COST_MAX 1e6   /* USD of one reply that is believed */
/* Bytes per token when a reply has no usage: low, so the estimate errs
 * on the side of spending less (JSON and code run 3-4 bytes a token). */
#define CHARS_PER_TOKEN_ESTIMATE 3

/* Adds one attempt's usage to t. delivered: the attempt returned a
 * completion, so it was billed and its cost matters. */
static void tally_add(const ao_llm *l, llm_tally *t, const json_t *body, int delivered, size_t sent, size_t got)
{
    json_t *u = json_object_get(body, "usage"), *cost, *price;
    json_int_t p, c, ca, re;
    if (!json_is_object(u)) {
        /* no usage: tokens estimated from the sizes, priced when a price is known */
        const json_t *pr = l->prices ? json_object_get(l->prices, l->model) : NULL;
        if (!delivered) return;
        p = (json_int_t)(sent / CHARS_PER_TOKEN_ESTIMATE);
        c = (json_int_t)(got / CHARS_PER_TOKEN_ESTIMATE);
        t->prompt += p;
        t->completion += c;
        if (json_is_object(pr) && json_is_number(json_object_get(pr, "prompt")) && json_is_number(json_object_get(pr, "completion"))) {
            t->cost += ((double)p * json_number_value(json_object_get(pr, "prompt")) + (double)c * json_number_value(json_object_get(pr, "completion"))) / 1e6;
            t->cost_estimated = 1;
        } else {
            t->cost_unknown = 1;
        }
        return;
    }
    p = int_member(u, "prompt_tokens");
    c = int_member(u, "completion_tokens");
    ca = int_member(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
    re = int_member(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
    if (ca > p) ca = p;
    t->prompt += p;
    t->completion += c;
    t->cached += ca;
    t->reasoning += re;
    cost = json_object_get(u, "cost");
    price = l->prices ? json_object_get(l->prices, l->model) : NULL;
    if (json_is_number(cost) && isfinite(json_number_value(cost)) && json_number_value(cost) >= 0) {
        /* one reply's cost is bounded too, so the sum stays finite */
        t->cost += json_number_value(cost) < LLM_COST_MAX ? json_number_value(cost) : LLM_COST_MAX;
    } else if (json_is_object(price) && json_is_number(json_object_get(price, "prompt")) &&
               json_is_number(json_object_get(price, "completion"))) {
        double pp = json_number_value(json_object_get(price, "prompt"));
        double cp = json_number_value(json_object_get(price, "completion"));
        json_t *cached = json_object_get(price, "cached_prompt");
        double cap = json_is_number(cached) ? json_number_value(cached) : pp;
        t->cost += ((double)(p - ca) * pp + (double)ca * cap + (double)c * cp) / 1e6;
    } else if (delivered) {
        t->cost_unknown = 1;
    }
}

static json_t *tally_json(const llm_tally *t)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:o}", "prompt_tokens", t->prompt, "completion_tokens", t->completion,
                     "cached_tokens", t->cached, "reasoning_tokens", t->reasoning,
                     "cost", t->cost_unknown ? json_null() : json_real(t->cost));
}

int ao_llm_failure_cause(const ao_llm *l, long *context_limit)
{
    if (context_limit) *context_limit = l && l->fail_cause == AO_LLM_CAUSE_CONTEXT ? l->fail_context : 0;
    return l ? l->fail_cause : AO_LLM_CAUSE_OTHER;
}

void ao_llm_set_deadline(ao_llm *l, double deadline)
{
    if (l) l->deadline = deadline > 0 ? deadline : 0;
}

json_t *ao_llm_usage(const ao_llm *l)
{
    if (!l) return NULL;
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:f,s:b,s:b,s:I,s:I,s:f}", "llm_calls", (json_int_t)(l->seed_calls + l->calls),
                     "prompt_tokens", l->tally.prompt, "completion_tokens", l->tally.completion,
                     "cached_tokens", l->tally.cached, "reasoning_tokens", l->tally.reasoning,
                     "cost", l->seed_cost + l->tally.cost, "cost_known", !l->tally.cost_unknown,
                     "cost_estimated", l->tally.cost_estimated,
                     "retries", (json_int_t)l->retries, "rate_limited", (json_int_t)l->rate_limited,
                     "rate_limit_seconds", l->rate_limit_seconds);
}

void ao_llm_reply_clear(ao_llm_reply *r)
{
    if (!r) return;
    json_decref(r->message);
    json_decref(r->usage);
    memset(r, 0, sizeof *r);
}

/* ---- one HTTP attempt ---------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    llm_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > LLM_REPLY_MAX) { b->too_big = 1; return 0; }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        char *d;
        while (cap < b->len + n + 1) cap *= 2;
        if (!(d = realloc(b->data, cap))) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Value of header line "Name: value" if its name is `name`, else NULL;
 * the value is copied into buf without surrounding blanks. */
static const char *header_value(const char *line, size_t n, const char *name, char *buf, size_t bufsz)
{
    size_t nl = strlen(name), s, e;
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return NULL;
    s = nl + 1;
    e = n;
    while (s < e && (line[s] == ' ' || line[s] == '\t')) s++;
    while (e > s && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' ' || line[e - 1] == '\t')) e--;
    if (e - s >= bufsz) e = s + bufsz - 1;
    memcpy(buf, line + s, e - s);
    buf[e - s] = '\0';
    return buf;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    llm_hints *h = ud;
    size_t n = size * nmemb;
    char buf[128], *end;
    const char *v;
    double d;
    /* A new status line (after a 100 Continue or a redirect) starts over. */
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        h->retry_after = h->retry_after_ms = -1;
        return n;
    }
    if ((v = header_value(ptr, n, "retry-after-ms", buf, sizeof buf)) != NULL) {
        d = strtod(v, &end);
        if (end != v && *end == '\0' && d >= 0 && isfinite(d)) h->retry_after_ms = d;
    } else if ((v = header_value(ptr, n, "retry-after", buf, sizeof buf)) != NULL) {
        d = strtod(v, &end);
        if (end != v && *end == '\0' && d >= 0 && isfinite(d)) {
            h->retry_after = d;
        } else {
            /* RFC 9110 also allows an HTTP date. */
            time_t t = curl_getdate(v, NULL);
            if (t != (time_t)-1) {
                double delta = difftime(t, time(NULL));
                h->retry_after = delta > 0 ? delta : 0;
            }
        }
    }
    return n;
}

static int http_retryable(long status)
{
    return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

static int curl_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* Text of an error object ({"error": {"message"}}, {"error": "text"},
 * {"message"}), "" when none. */
static const char *error_text(const json_t *body)
{
    json_t *e = json_object_get(body, "error");
    const char *s;
    if (json_is_string(e)) return json_string_value(e);
    if ((s = json_string_value(json_object_get(e, "message"))) != NULL) return s;
    if ((s = json_string_value(json_object_get(body, "message"))) != NULL) return s;
    if ((s = json_string_value(json_object_get(body, "detail"))) != NULL) return s;
    return "";
}

/* HTTP-like code of an error object (OpenRouter puts 429/502 there even
 * in a 200 reply); 0 when it has none. */
static long error_code(const json_t *e)
{
    json_t *c = json_object_get(e, "code");
    char *end;
    long v;
    if (json_is_integer(c)) return (long)json_integer_value(c);
    if (json_is_string(c)) {
        v = strtol(json_string_value(c), &end, 10);
        if (end != json_string_value(c) && *end == '\0') return v;
    }
    return 0;
}

/* A malloc'd copy of s[0..n) fit for a message or a transcript string:
 * the key scrubbed, then valid UTF-8 (flatten: control characters become
 * blanks). Scrubbing comes first so no cut can leave part of the key. */
static char *clean_text(const ao_llm *l, const char *s, size_t n, size_t max, int flatten, size_t *out_n)
{
    size_t sn, m;
    char *sc = scrub_mem(s, n, l->key, l->key_len, &sn), *out;
    if (!sc) return NULL;
    m = sn < max ? sn : max;
    if ((out = malloc(m + 1)) != NULL) {
        m = utf8_clean(sc, m, out, flatten);
        if (out_n) *out_n = m;
    }
    free(sc);
    return out;
}

/* Whether a refused request was longer than the model's context, from
 * the error object e the server sent and the reason quoting it: OpenAI's
 * code "context_length_exceeded", llama.cpp's type
 * "exceed_context_size_error" or "exceeds the available context size",
 * vLLM's and OpenRouter's "maximum context length is N tokens",
 * Anthropic's "prompt is too long". -1 when not; else the size it states
 * (llama.cpp's n_ctx, vLLM's N; a server's number, so bounded), 0 when
 * it states none. */
static long context_overflow(const json_t *e, const char *text)
{
    static const char *const phrases[] = {"context_length_exceeded", "exceed_context_size", "exceeds the available context size",
                                          "maximum context length", "prompt is too long", NULL};
    static const char said[] = "maximum context length is ";
    const char *code = json_string_value(json_object_get(e, "code")), *type = json_string_value(json_object_get(e, "type")), *p;
    json_t *nctx = json_object_get(e, "n_ctx");
    long v;
    int i, hit = 0;
    for (i = 0; phrases[i] && !hit; i++)
        hit = (code && strcasestr(code, phrases[i])) || (type && strcasestr(type, phrases[i])) || strcasestr(text, phrases[i]);
    if (!hit) return -1;
    if (json_is_integer(nctx) && json_integer_value(nctx) >= 256 && json_integer_value(nctx) <= 100000000) return (long)json_integer_value(nctx);
    if ((p = strcasestr(text, said)) && (v = strtol(p + strlen(said), NULL, 10)) >= 256 && v <= 100000000) return v;
    return 0;
}

/* Sorts out an attempt whose transfer has ended (a->status is set). */
static int classify(const ao_llm *l, CURLcode cc, const char *errbuf, const llm_buf *b, curl_off_t connect_us,
                    llm_attempt *a)
{
    json_error_t jerr;
    json_t *e, *choice;
    char *quote = NULL;
    long code;

    if (cc != CURLE_OK) {
        if (b->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
            a->kind = ATT_FATAL;
            snprintf(a->reason, sizeof a->reason, "reply larger than %zu MiB", LLM_REPLY_MAX >> 20);
        } else if (cc == CURLE_OPERATION_TIMEDOUT) {
            a->kind = ATT_RETRY;
            if (connect_us <= 0 && a->status == 0)
                snprintf(a->reason, sizeof a->reason, "connect timed out after %.1f s",
                         l->connect_timeout < l->request_timeout ? l->connect_timeout : l->request_timeout);
            else
                snprintf(a->reason, sizeof a->reason, "timed out after %.1f s", l->request_timeout);
        } else {
            a->kind = curl_retryable(cc) ? ATT_RETRY : ATT_FATAL;
            snprintf(a->reason, sizeof a->reason, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        }
        return AO_OK;
    }
    if (b->len) a->body = json_loadb(b->data, b->len, 0, &jerr);
    else snprintf(jerr.text, sizeof jerr.text, "empty body");
    if (a->status >= 200 && a->status < 300) {
        if (!a->body) {
            /* Proxies and overloaded gateways answer with HTML or cut
             * bodies; worth another try. */
            a->kind = ATT_RETRY;
            snprintf(a->reason, sizeof a->reason, "malformed JSON reply (HTTP %ld): %s", a->status, jerr.text);
            return AO_OK;
        }
        if (!json_is_object(a->body)) {
            a->kind = ATT_FATAL;
            snprintf(a->reason, sizeof a->reason, "HTTP %ld: the reply is not a JSON object", a->status);
            return AO_OK;
        }
        choice = json_array_get(json_object_get(a->body, "choices"), 0);
        e = json_object_get(a->body, "error");
        /* OpenRouter reports upstream failures inside a 200 body, at the
         * top or in the choice. */
        if (!e || json_is_null(e)) e = json_object_get(choice, "error");
        if (e && !json_is_null(e) && !json_is_false(e)) {
            json_t *holder = json_object_get(a->body, "error") == e ? a->body : choice;
            code = error_code(e);
            a->kind = http_retryable(code) ? ATT_RETRY : ATT_FATAL;
            a->rate_limited = code == 429;
            if (code)
                snprintf(a->reason, sizeof a->reason, "HTTP %ld with an error in the reply (code %ld): %s", a->status,
                         code, *error_text(holder) ? error_text(holder) : "no message");
            else
                snprintf(a->reason, sizeof a->reason, "HTTP %ld with an error in the reply: %s", a->status,
                         *error_text(holder) ? error_text(holder) : "no message");
            if (a->kind == ATT_FATAL) a->context_limit = context_overflow(e, a->reason);
            return AO_OK;
        }
        if (!json_is_object(json_object_get(choice, "message"))) {
            a->kind = ATT_FATAL;
            snprintf(a->reason, sizeof a->reason, "HTTP %ld: the reply has no choices[0].message", a->status);
            return AO_OK;
        }
        a->kind = ATT_OK;
        a->choice = choice;
        return AO_OK;
    }
    a->kind = http_retryable(a->status) ? ATT_RETRY : ATT_FATAL;
    a->rate_limited = a->status == 429;
    if (a->body && *error_text(a->body)) {
        snprintf(a->reason, sizeof a->reason, "HTTP %ld: %s", a->status, error_text(a->body));
    } else if (b->len) {
        if (!(quote = clean_text(l, b->data, b->len, LLM_SNIPPET_MAX, 1, NULL))) return AO_EMEM;
        snprintf(a->reason, sizeof a->reason, "HTTP %ld: %s%s", a->status, quote, b->len > LLM_SNIPPET_MAX ? "..." : "");
        free(quote);
    } else {
        snprintf(a->reason, sizeof a->reason, "HTTP %ld", a->status);
    }
    /* vLLM's error is the body itself, OpenAI's and llama.cpp's its "error" */
    e = json_object_get(a->body, "error");
    if (a->kind == ATT_FATAL) a->context_limit = context_overflow(json_is_object(e) ? e : a->body, a->reason);
    return AO_OK;
}

/* The response body as the transcript shows it: the parsed JSON, or the
 * raw text (scrubbed, valid UTF-8, at most 64 KiB). New ref. */
static json_t *logged_body(const ao_llm *l, const llm_attempt *a, const llm_buf *b)
{
    char *t;
    size_t n;
    json_t *s;
    if (a->body) return json_incref(a->body);
    if (!(t = clean_text(l, b->data ? b->data : "", b->len, LLM_RAW_LOG_MAX, 0, &n))) return NULL;
    s = json_stringn(t, n);
    free(t);
    return s;
}

/* One HTTP attempt: logs the request, performs it, classifies the result
 * into a, books the ledger and logs the response. AO_OK unless the
 * transcript or memory failed. */
static int run_attempt(ao_llm *l, int attempt, const char *payload, const json_t *req, struct curl_slist *hdrs,
                       const json_t *hdr_log, llm_tally *call, llm_attempt *a, ao_err *err)
{
    llm_buf b = {0};
    char errbuf[CURL_ERROR_SIZE];
    CURLcode cc;
    curl_off_t connect_us = 0;
    double t0, secs;
    json_t *fields, *body;
    char *reason;
    int rc = AO_OK;

    a->kind = ATT_FATAL;
    a->status = 0;
    a->rate_limited = 0;
    a->context_limit = -1;
    a->reason[0] = '\0';
    a->hints.retry_after = a->hints.retry_after_ms = -1;
    a->body = a->choice = NULL;
    errbuf[0] = '\0';

    fields = json_pack("{s:i,s:s,s:O,s:O}", "attempt", attempt, "url", l->url, "headers", (json_t *)hdr_log,
                       "body", (json_t *)req);
    if (!fields) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = ao_llm_transcript(l, "request", fields, err)) < 0) goto DONE;

    curl_easy_reset(l->curl);   /* keeps the connection cache */
    curl_easy_setopt(l->curl, CURLOPT_URL, l->url);
    curl_easy_setopt(l->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(l->curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(l->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(l->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(l->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(l->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(l->curl, CURLOPT_HEADERDATA, &a->hints);
    curl_easy_setopt(l->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(l->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(l->connect_timeout * 1000));
    curl_easy_setopt(l->curl, CURLOPT_TIMEOUT_MS, (long)ceil(l->request_timeout * 1000));
    /* Signals would be process-wide; the timeouts work without them. */
    curl_easy_setopt(l->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(l->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)LLM_REPLY_MAX);
    curl_easy_setopt(l->curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(l->curl, CURLOPT_USERAGENT, "agentomics/" AO_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(l->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif

    t0 = ao_now();
    cc = curl_easy_perform(l->curl);
    secs = ao_now() - t0;
    curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_getinfo(l->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (b.len && l->key_len >= LLM_REPLY_SCRUB_MIN) {
        /* Provider text enters here: the key it echoes (in content, tool
         * calls, reasoning or an error, escaped or not) is redacted in the
         * raw body before anything parses it, so no reply, message, file
         * or record made from it can hold the key. */
        size_t n;
        char *clean = scrub_mem(b.data, b.len, l->key, l->key_len, &n);
        if (!clean) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        free(b.data);
        b.data = clean;
        b.len = n;
        b.cap = n + 1;
    }
    if ((rc = classify(l, cc, errbuf, &b, connect_us, a)) < 0) {
        ao_err_set(err, rc, "out of memory");
        goto DONE;
    }
    /* The reason may quote the provider, which may quote the key. */
    if (!(reason = clean_text(l, a->reason, strlen(a->reason), sizeof a->reason - 1, 1, NULL))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    snprintf(a->reason, sizeof a->reason, "%s", reason);
    free(reason);
    /* every attempt counts, answered or not (a hang, a closed connection):
     * the call budget bounds what was sent */
    l->calls++;
    if (a->status > 0) {
        tally_add(l, &l->tally, a->body, a->kind == ATT_OK, strlen(payload), b.len);
        tally_add(l, call, a->body, a->kind == ATT_OK, strlen(payload), b.len);
        if (!(body = logged_body(l, a, &b))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        fields = json_pack("{s:i,s:I,s:f,s:o}", "attempt", attempt, "status", (json_int_t)a->status,
                           "seconds", secs, "body", body);
        if (!fields) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if ((rc = ao_llm_transcript(l, "response", fields, err)) < 0) goto DONE;
    }
DONE:
    free(b.data);
    return rc;
}

/* ---- the server's context size ------------------------------------------ */

/* GET url with the client's timeouts; the body (capped) in *b. */
static int http_get(ao_llm *l, const char *url, llm_buf *b, long *status, char *errbuf)
{
    struct curl_slist *hdrs = NULL;
    char *auth = NULL;
    CURLcode cc;
    if (l->key && asprintf(&auth, "Authorization: Bearer %s", l->key) >= 0) hdrs = curl_slist_append(hdrs, auth);
    curl_easy_reset(l->curl);
    curl_easy_setopt(l->curl, CURLOPT_URL, url);
    curl_easy_setopt(l->curl, CURLOPT_HTTPGET, 1L);
    if (hdrs) curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(l->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(l->curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(l->curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(l->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(l->connect_timeout * 1000));
    curl_easy_setopt(l->curl, CURLOPT_TIMEOUT_MS, (long)ceil(l->connect_timeout * 1000) + 10000);
    curl_easy_setopt(l->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(l->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)LLM_REPLY_MAX);
    curl_easy_setopt(l->curl, CURLOPT_USERAGENT, "agentomics/" AO_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(l->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    cc = curl_easy_perform(l->curl);
    *status = 0;
    curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    if (auth) { explicit_bzero(auth, strlen(auth)); free(auth); }
    return cc == CURLE_OK ? AO_OK : AO_ELLM;
}

long ao_llm_context_tokens(ao_llm *l, ao_err *err)
{
    llm_buf b = {0};
    char *url = NULL, errbuf[CURL_ERROR_SIZE] = "";
    json_t *j = NULL, *v = NULL, *m;
    long status = 0, n = 0;
    size_t blen, i;
    if (l->context_probed) return l->context_tokens;
    l->context_probed = 1;
    if (l->preset->probe == AO_LLM_PROBE_NONE) return 0;
    /* the base is ".../v1"; llama.cpp serves /props beside it, at the root */
    blen = strlen(l->url) - strlen("/chat/completions");
    if (l->preset->probe == AO_LLM_PROBE_PROPS) {
        size_t root = blen;
        if (root >= 3 && !strncmp(l->url + root - 3, "/v1", 3)) root -= 3;
        if (asprintf(&url, "%.*s/props", (int)root, l->url) < 0) url = NULL;
    } else if (asprintf(&url, "%.*s/models", (int)blen, l->url) < 0) {
        url = NULL;
    }
    if (!url) return ao_err_set(err, AO_EMEM, "out of memory");
    if (http_get(l, url, &b, &status, errbuf) == AO_OK && status == 200 && b.data && (j = json_loadb(b.data, b.len, 0, NULL))) {
        if (l->preset->probe == AO_LLM_PROBE_PROPS) {
            v = json_object_get(json_object_get(j, "default_generation_settings"), "n_ctx");
            if (!v) v = json_object_get(j, "n_ctx");
        } else {
            json_array_foreach(json_object_get(j, "data"), i, m)
                if (!v || !strcmp(json_string_value(json_object_get(m, "id")) ? json_string_value(json_object_get(m, "id")) : "", l->model))
                    v = json_object_get(m, "max_model_len");
        }
        /* a server's number, so checked: a context is thousands of tokens, not 1e300 */
        if (json_is_integer(v) && json_integer_value(v) >= 256 && json_integer_value(v) <= 100000000) n = (long)json_integer_value(v);
    }
    if (ao_llm_transcript(l, "context_probe", json_pack("{s:s,s:I,s:I,s:s}", "url", url, "status", (json_int_t)status, "context_tokens", (json_int_t)n,
                                                         "error", errbuf), err) < 0) n = -1;
    if (!n) ao_warn("%s: the server did not say its context size; give --context-tokens", url);
    json_decref(j);
    free(b.data);
    free(url);
    if (n < 0) return err->code;
    l->context_tokens = n;
    return n;
}

/* ---- the call ------------------------------------------------------------ */

static int build_request(const ao_llm *l, const json_t *messages, const json_t *tools, const char *tool_choice,
                         const json_t *response_schema, json_t **out, ao_err *err)
{
    json_t *req = NULL, *rf = NULL;
    int with_tools = json_is_array(tools) && json_array_size(tools) > 0;
    int rc = AO_OK;

    *out = NULL;
    if (tools && !json_is_array(tools)) { rc = ao_err_set(err, AO_EUSAGE, "LLM tools must be a JSON array"); goto DONE; }
    if (response_schema && (!json_is_string(json_object_get(response_schema, "name")) ||
                            !json_is_object(json_object_get(response_schema, "schema")))) {
        rc = ao_err_set(err, AO_EUSAGE, "an LLM response schema needs a \"name\" and a \"schema\" object");
        goto DONE;
    }
    if (!(req = json_object())) goto ERROR_MEM;
    /* The caller's messages and tools are referenced, never modified. */
    if (json_object_set_new(req, "model", json_string(l->model)) ||
        json_object_set(req, "messages", (json_t *)messages)) goto ERROR_MEM;
    /* OpenAI rejects an empty tools array and a tool_choice without tools. */
    if (with_tools) {
        if (json_object_set(req, "tools", (json_t *)tools)) goto ERROR_MEM;
        if (tool_choice && *tool_choice && l->preset->tool_choice) {
            json_t *tc;
            if (!strcmp(tool_choice, "auto") || !strcmp(tool_choice, "required") || !strcmp(tool_choice, "none"))
                tc = json_string(tool_choice);
            else if (l->preset->tool_choice_object)
                tc = json_pack("{s:s,s:{s:s}}", "type", "function", "function", "name", tool_choice);
            else   /* one named function, where only strings are honoured: some tool call */
                tc = json_string("required");
            if (!tc || json_object_set_new(req, "tool_choice", tc)) goto ERROR_MEM;
        }
        /* a capability, sent only when asked: some models refuse the parameter itself */
        if (l->preset->parallel_tool_calls && l->parallel >= 0 && json_object_set_new(req, "parallel_tool_calls", json_boolean(l->parallel)))
            goto ERROR_MEM;
    }
    if (response_schema && l->preset->json_schema) {
        rf = json_pack("{s:s,s:{s:O,s:O,s:b}}", "type", "json_schema", "json_schema",
                       "name", json_object_get(response_schema, "name"),
                       "schema", json_object_get(response_schema, "schema"), "strict", 1);
        if (!rf || json_object_set_new(req, "response_format", rf)) goto ERROR_MEM;
    }
    if (!isnan(l->temperature) && json_object_set_new(req, "temperature", json_real(l->temperature))) goto ERROR_MEM;
    /* Always bounded: without it a server may generate until the context is
     * full (a grammar that blocks end-of-sequence pads with newlines).
     * OpenAI's newer models refuse max_tokens; its replacement is OpenAI-only. */
    if (json_object_set_new(req, strcmp(l->preset->name, "openai") == 0 ? "max_completion_tokens" : "max_tokens",
                            json_integer(l->max_tokens > 0 ? l->max_tokens : l->preset->max_tokens))) goto ERROR_MEM;
    if (l->preset->reports_cost && json_object_set_new(req, "usage", json_pack("{s:b}", "include", 1))) goto ERROR_MEM;
    *out = req;
    req = NULL;
    goto DONE;
ERROR_MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    json_decref(req);
    return rc;
}

static int finish_of(const char *fr, const json_t *msg)
{
    json_t *refusal = json_object_get(msg, "refusal");
    if (json_is_string(refusal) && *json_string_value(refusal)) return AO_LLM_FINISH_CONTENT_FILTER;
    /* Some local servers leave finish_reason out; the message tells. */
    if (!*fr) return json_array_size(json_object_get(msg, "tool_calls")) ? AO_LLM_FINISH_TOOL_CALLS : AO_LLM_FINISH_STOP;
    if (!strcmp(fr, "stop")) return AO_LLM_FINISH_STOP;
    if (!strcmp(fr, "tool_calls") || !strcmp(fr, "function_call")) return AO_LLM_FINISH_TOOL_CALLS;
    if (!strcmp(fr, "length")) return AO_LLM_FINISH_LENGTH;
    if (!strcmp(fr, "content_filter")) return AO_LLM_FINISH_CONTENT_FILTER;
    return AO_LLM_FINISH_OTHER;
}

static void sleep_s(double s)
{
    struct timespec ts;
    if (!(s > 0)) return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { /* sleep the rest */ }
}

/* Seconds to wait before retry number `retry` (0-based). */
static double retry_delay(ao_llm *l, const llm_hints *h, int retry)
{
    double d;
    if (h->retry_after_ms >= 0) d = h->retry_after_ms / 1000.0;
    else if (h->retry_after >= 0) d = h->retry_after;
    else {
        d = l->backoff_base * ldexp(1.0, retry < 60 ? retry : 60);
        if (d > l->backoff_cap) d = l->backoff_cap;
        /* Jitter keeps parallel lineages from retrying in lockstep. */
        d *= 0.5 + 0.5 * ao_rng_uniform(&l->rng);
    }
    return d < l->backoff_cap ? d : l->backoff_cap;
}

/* Wipes header copies that hold the key before they are freed. */
static void free_headers(struct curl_slist *h)
{
    struct curl_slist *p;
    for (p = h; p; p = p->next)
        if (p->data) explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

int ao_llm_chat(ao_llm *l, const json_t *messages, const json_t *tools, const char *tool_choice,
                const json_t *response_schema, ao_llm_reply *r, ao_err *err)
{
    json_t *req = NULL, *hdr_log = NULL, *msg, *fr;
    char *payload = NULL, *auth = NULL;
    struct curl_slist *hdrs = NULL, *t;
    llm_tally call = {0, 0, 0, 0, 0.0, 0, 0};
    llm_attempt a;
    double spent, delay, wait_until, t_start = ao_now();
    int rc = AO_OK, attempt, failed = 0, limited = 0;

    memset(&a, 0, sizeof a);
    ao_llm_reply_clear(r);
    if (!l || !r || !json_is_array(messages)) {
        rc = ao_err_set(err, AO_EUSAGE, "ao_llm_chat needs an ao_llm, a reply and a messages array");
        goto DONE;
    }
    l->fail_cause = AO_LLM_CAUSE_OTHER;
    l->fail_context = 0;
    if (l->max_calls > 0 && l->seed_calls + l->calls >= l->max_calls) {
        rc = llm_fail(l, err, AO_EBUDGET, 0, "the LLM call budget (%d calls) is used up", l->max_calls);
        goto DONE;
    }
    spent = l->seed_cost + l->tally.cost;
    if (l->max_cost > 0 && spent >= l->max_cost) {
        rc = llm_fail(l, err, AO_EBUDGET, 0, "the LLM cost budget (USD %g) is used up (spent %.4f)", l->max_cost, spent);
        goto DONE;
    }
    if ((rc = build_request(l, messages, tools, tool_choice, response_schema, &req, err)) < 0) goto DONE;
    if (!(payload = json_dumps(req, JSON_COMPACT))) goto ERROR_MEM;

    if (!(hdr_log = json_pack("{s:s}", "Content-Type", "application/json"))) goto ERROR_MEM;
    /* "Expect:" stops curl from waiting for a 100 Continue on big bodies. */
    if (!(t = curl_slist_append(hdrs, "Content-Type: application/json"))) goto ERROR_MEM;
    hdrs = t;
    if (!(t = curl_slist_append(hdrs, "Expect:"))) goto ERROR_MEM;
    hdrs = t;
    if (l->key) {
        if (asprintf(&auth, "Authorization: Bearer %s", l->key) < 0) { auth = NULL; goto ERROR_MEM; }
        t = curl_slist_append(hdrs, auth);
        explicit_bzero(auth, strlen(auth));
        if (!t) goto ERROR_MEM;
        hdrs = t;
        if (json_object_set_new(hdr_log, "Authorization", json_string("Bearer " LLM_REDACTED))) goto ERROR_MEM;
    }
    if (strcmp(l->preset->name, "openrouter") == 0) {
        if (!(t = curl_slist_append(hdrs, "X-Title: agentomics"))) goto ERROR_MEM;
        hdrs = t;
        if (json_object_set_new(hdr_log, "X-Title", json_string("agentomics"))) goto ERROR_MEM;
    }

    /* rate limits are waited out until the deadline (the caller's, else
     * rate_limit_wait from now); other failures get max_retries retries */
    wait_until = l->deadline > 0 ? l->deadline : ao_now() + l->rate_limit_wait;
    for (attempt = 1;; attempt++) {
        json_decref(a.body);
        a.body = NULL;
        rc = run_attempt(l, attempt, payload, req, hdrs, hdr_log, &call, &a, err);
        r->attempts = attempt;
        if (rc < 0) goto DONE;
        if (a.kind == ATT_OK) break;
        if (a.rate_limited) l->rate_limited++;
        l->fail_cause = a.status == 401 || a.status == 403 ? AO_LLM_CAUSE_AUTH : a.rate_limited ? AO_LLM_CAUSE_RATE_LIMIT
                      : a.context_limit >= 0 ? AO_LLM_CAUSE_CONTEXT : AO_LLM_CAUSE_OTHER;
        l->fail_context = a.context_limit;
        if (a.kind == ATT_FATAL) {
            rc = llm_fail(l, err, AO_ELLM, attempt, "%s: %s", l->url, a.reason);
            goto DONE;
        }
        delay = a.rate_limited ? retry_delay(l, &a.hints, limited++) : retry_delay(l, &a.hints, failed);
        if (a.rate_limited && ao_now() + delay > wait_until) {
            rc = llm_fail(l, err, AO_ELLM, attempt, "%s: %s (rate limited %d time%s in %.0f s; waiting %.1f s more would pass the time bound)",
                          l->url, a.reason, limited, limited == 1 ? "" : "s", ao_now() - t_start, delay);
            goto DONE;
        }
        if (!a.rate_limited && ++failed > l->max_retries) {
            rc = llm_fail(l, err, AO_ELLM, attempt, "%s: %s (gave up after %d attempt%s)", l->url, a.reason, attempt,
                          attempt == 1 ? "" : "s");
            goto DONE;
        }
        if (l->max_calls > 0 && l->seed_calls + l->calls >= l->max_calls) {
            rc = llm_fail(l, err, AO_EBUDGET, attempt, "the LLM call budget (%d calls) is used up by the retries of a failing request (%s)",
                          l->max_calls, a.reason);
            goto DONE;
        }
        if ((rc = ao_llm_transcript(l, "retry", json_pack("{s:i,s:s,s:f,s:b}", "attempt", attempt, "reason", a.reason,
                                                          "delay", delay, "rate_limited", a.rate_limited), err)) < 0) goto DONE;
        if (a.rate_limited)
            ao_warn("LLM request rate limited (%s); waiting %.1f s (%d so far, until the time bound)", a.reason, delay, limited);
        else
            ao_warn("LLM request failed (%s); retry %d of %d in %.1f s", a.reason, failed, l->max_retries, delay);
        sleep_s(delay);
        if (a.rate_limited) l->rate_limit_seconds += delay;
        l->retries++;
    }

    msg = json_object_get(a.choice, "message");
    fr = json_object_get(a.choice, "finish_reason");
    snprintf(r->finish_reason, sizeof r->finish_reason, "%s", json_is_string(fr) ? json_string_value(fr) : "");
    r->finish = finish_of(r->finish_reason, msg);
    r->message = json_incref(msg);
    if (!(r->usage = tally_json(&call))) goto ERROR_MEM;
    goto DONE;
ERROR_MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    if (rc < 0 && r) {
        /* Nothing half-made goes back; the attempt count stays. */
        int attempts = r->attempts;
        ao_llm_reply_clear(r);
        r->attempts = attempts;
    }
    json_decref(a.body);
    free(auth);
    free(payload);
    free_headers(hdrs);
    json_decref(hdr_log);
    json_decref(req);
    return rc;
}
