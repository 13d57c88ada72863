/* llm.h — an OpenAI-compatible chat-completions client (libcurl + jansson).
 *
 * One ao_llm per process: it holds the provider settings, the key, the
 * usage ledger and the transcript. ao_llm_chat() sends one request
 * (messages, tools, tool_choice, response_format) with retries and returns
 * the assistant message. The ledger counts every call that reached the
 * provider and refuses new ones once a call or cost budget is used up.
 *
 * The key is taken from the environment by the caller
 * (ao_llm_key_from_env) and is never written anywhere: the transcript
 * shows the Authorization header as "[REDACTED]", and every reply body is
 * scrubbed as it arrives, before it is parsed: the key, as itself or
 * escaped (JSON "\u00XX" at any depth, "\/", URL "%XX"), becomes
 * "[REDACTED]", so no reply, error message or anything made from them
 * (files the agent writes, recipes, the state) can hold it. A key shorter
 * than 8 characters (a local server's placeholder) is left in replies,
 * where scrubbing it would rewrite ordinary words, and redacted only in
 * the transcript.
 *
 * Return values: AO_OK; AO_ELLM when the provider failed for good
 * (non-retryable HTTP status such as 400/401/403/404, retries exhausted,
 * rate limiting (429) that outlasts the time bound, connect or total
 * timeout on the last attempt, a body that is not JSON, an "error" object
 * inside an HTTP 200 body, a reply without choices; ao_llm_failure_cause
 * says which of these a caller can act on);
 * AO_EBUDGET when max_calls or max_cost is reached before the call;
 * AO_EMEM, AO_EIO (transcript not writable), AO_EUSAGE (bad config).
 */
#ifndef AGENTOMICS_LLM_H
#define AGENTOMICS_LLM_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/error.h"

/* What a provider is known to support; requests leave out what it lacks
 * (e.g. no tool_choice on Ollama) instead of failing. */
/* Where a server says its context size. */
enum ao_llm_probe {
    AO_LLM_PROBE_NONE = 0,     /* it does not: --context-tokens, else the agent's default */
    AO_LLM_PROBE_PROPS = 1,    /* llama.cpp: GET {server}/props, default_generation_settings.n_ctx */
    AO_LLM_PROBE_MODELS = 2    /* vLLM: GET {api_base}/models, data[].max_model_len */
};

typedef struct ao_llm_preset {
    const char *name;          /* openai openrouter ollama vllm llamacpp custom */
    const char *api_base;      /* default base URL ("" for custom: --api-base required) */
    int tool_choice;           /* honours tool_choice as "auto"/"required"/"none" */
    int tool_choice_object;    /* also honours tool_choice naming one function */
    int json_schema;           /* honours response_format {"type":"json_schema"} */
    int parallel_tool_calls;   /* accepts parallel_tool_calls (sent only when the config asks) */
    int reports_cost;          /* usage.cost in replies (OpenRouter) */
    int needs_key;             /* refuses requests without a key */
    int max_tokens;            /* completion tokens asked for when the user gives none */
    enum ao_llm_probe probe;   /* how to learn the context size */
    const char *protocol;      /* the agent's default protocol: "tools", "json" or "auto" */
} ao_llm_preset;

/* NULL when name is not a preset. */
const ao_llm_preset *ao_llm_preset_find(const char *name);
/* "openai, openrouter, ...": every preset's name, for messages and help. */
void ao_llm_preset_names(char *buf, size_t n);
/* The key from AGENTOMICS_API_KEY, else OPENAI_API_KEY, else
 * OPENROUTER_API_KEY (NULL if none is set or all are empty); *which (if
 * not NULL) gets the variable's name. */
const char *ao_llm_key_from_env(const char **which);

typedef struct ao_llm_config {
    const char *provider;      /* preset name [openai] */
    const char *api_base;      /* NULL: the preset's; "custom" needs one */
    const char *model;         /* required */
    const char *api_key;       /* NULL: no Authorization header */
    double connect_timeout;    /* seconds [10] */
    double request_timeout;    /* seconds for one whole attempt [300] */
    int max_retries;           /* retries after the first attempt [5] */
    double backoff_base;       /* first backoff in seconds [1]; doubles per retry */
    double backoff_cap;        /* cap of one backoff and of Retry-After [60] */
    double rate_limit_wait;    /* seconds one call waits out 429 answers when no deadline is set
                                * (ao_llm_set_deadline) [600]; 429s do not use up max_retries */
    double temperature;        /* NAN: not sent */
    int max_tokens;            /* completion tokens per reply; 0: the preset's (always sent) */
    const json_t *prices;      /* {"MODEL": {"prompt": USD per 1M tokens, "completion": ..., "cached_prompt": ...}} or NULL */
    int max_calls;             /* calls allowed in total (ledger included); 0: no limit */
    double max_cost;           /* USD allowed in total; <= 0: no limit */
    const char *transcript;    /* JSONL file appended to (created if absent); NULL: none */
    uint64_t seed;             /* seeds the backoff jitter */
    int parallel_tool_calls;   /* -1: not sent, the server's default [-1]; 0 or 1: sent as false or
                                * true, where the preset accepts it (OpenAI's o-series refuses it) */
} ao_llm_config;

/* Fills the defaults above (provider "openai", temperature NAN, ...). */
void ao_llm_config_init(ao_llm_config *c);

enum ao_llm_finish {
    AO_LLM_FINISH_STOP = 0,
    AO_LLM_FINISH_TOOL_CALLS = 1,
    AO_LLM_FINISH_LENGTH = 2,          /* cut by max_tokens / context */
    AO_LLM_FINISH_CONTENT_FILTER = 3,  /* provider filter or a "refusal" in the message */
    AO_LLM_FINISH_OTHER = 4
};

typedef struct ao_llm_reply {
    json_t *message;          /* the assistant message as returned (role, content, tool_calls, refusal,
                                 reasoning fields), the key redacted */
    int finish;               /* enum ao_llm_finish (finish_reason absent: TOOL_CALLS if the message has tool calls, else STOP) */
    char finish_reason[32];   /* as returned ("" when absent) */
    json_t *usage;            /* this call: {"prompt_tokens", "completion_tokens", "cached_tokens",
                                 "reasoning_tokens", "cost" (number or null when unknown)} */
    int attempts;             /* HTTP attempts made (1 + retries) */
} ao_llm_reply;

typedef struct ao_llm ao_llm;

/* A client for c (copied; the strings must outlive the client). NULL with
 * AO_EUSAGE for an unknown provider or a missing model or base URL, AO_EMEM. */
ao_llm *ao_llm_create(const ao_llm_config *c, ao_err *err) AO_WUR;
void ao_llm_destroy(ao_llm *l);   /* NULL-safe */
const ao_llm_preset *ao_llm_preset_of(const ao_llm *l);

/* The completion tokens asked for per reply (the config's, else the preset's). */
int ao_llm_max_tokens(const ao_llm *l);
/* The server's context size in tokens, asked once where the preset knows
 * how (llama.cpp /props, vLLM /models; recorded in the transcript), else
 * 0 (unknown: the caller uses --context-tokens or its default). A probe
 * that fails is 0 with a warning, not an error; < -1 only when the
 * transcript cannot be written or memory runs out. Not an LLM call: the
 * ledger does not count it. */
long ao_llm_context_tokens(ao_llm *l, ao_err *err) AO_WUR;

/* Usage already spent by earlier steps of the run (from usage.json), so
 * budgets hold across processes. */
void ao_llm_ledger_seed(ao_llm *l, int calls, double cost);

/* The ao_now() time past which a call stops waiting out rate limits (the
 * step's or the run's time bound); 0: rate_limit_wait from each call's
 * start. A 429's wait (Retry-After, else the backoff) that would end past
 * it fails the call at once instead of sleeping. */
void ao_llm_set_deadline(ao_llm *l, double deadline);

/* One chat completion. messages: array of message objects; tools: array
 * of {"type":"function","function":{name,description,parameters}} or NULL;
 * tool_choice: "auto", "required", "none" or a function name, or NULL
 * (left out when the preset lacks it); response_schema: NULL or
 * {"name": ..., "schema": {...}} sent as response_format json_schema
 * (strict) where the preset supports it. The reply's tool_calls keep their
 * "arguments" strings as returned (they may not be JSON: the caller
 * reports that back to the model). r is cleared first. */
int ao_llm_chat(ao_llm *l, const json_t *messages, const json_t *tools, const char *tool_choice,
                const json_t *response_schema, ao_llm_reply *r, ao_err *err) AO_WUR;
void ao_llm_reply_clear(ao_llm_reply *r);   /* frees and zeroes; NULL-safe */

/* Totals of this process plus the seeded ledger: {"llm_calls",
 * "prompt_tokens", "completion_tokens", "cached_tokens",
 * "reasoning_tokens", "cost", "cost_known" (false if any call's cost was
 * unknown), "cost_estimated", "retries", "rate_limited" (429 answers),
 * "rate_limit_seconds" (time slept on them)}. "llm_calls" counts every attempt, answered or
 * not (a hang, a closed connection, any status; a retried call counts once
 * per attempt); the call budget is checked before each ao_llm_chat() and
 * before each retry, so it bounds the attempts. Token counts are clamped
 * to [0, 1e12] and a reply's cost to [0, 1e6] USD, so the totals stay
 * finite. New reference. */
json_t *ao_llm_usage(const ao_llm *l);

/* Why the last ao_llm_chat() that returned AO_ELLM failed. */
enum ao_llm_cause {
    AO_LLM_CAUSE_OTHER = 0,
    AO_LLM_CAUSE_AUTH = 1,         /* HTTP 401/403: no retry or later step can cure it */
    AO_LLM_CAUSE_RATE_LIMIT = 2,   /* 429 answers outlasted the time bound */
    AO_LLM_CAUSE_CONTEXT = 3       /* the request was longer than the model's context (OpenAI's
                                    * context_length_exceeded, llama.cpp's "exceeds the available
                                    * context size", vLLM's/OpenRouter's "maximum context length") */
};
/* An enum ao_llm_cause; *context_limit (when not NULL) gets, for
 * AO_LLM_CAUSE_CONTEXT, the context size the provider stated (0: none
 * said, or another cause). */
int ao_llm_failure_cause(const ao_llm *l, long *context_limit);

/* Appends {"time": unix seconds, "event": event, ...fields} to the
 * transcript (fields stolen; the key redacted). AO_OK without a transcript.
 * fields NULL (a json_pack that failed: text that is not UTF-8, or no
 * memory) is AO_EINTERNAL naming the event: nothing is dropped silently. */
int ao_llm_transcript(ao_llm *l, const char *event, json_t *fields, ao_err *err) AO_WUR;

#endif
