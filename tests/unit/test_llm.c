/* test_llm.c — the LLM client against a scripted fake OpenAI server
 * (tests/llm/fake_openai.py): replies with tool calls, retries with
 * Retry-After and backoff, timeouts, malformed and error replies, budgets,
 * cost, per-provider request shapes and key redaction. Runs from the
 * repository root; scenarios that need python3 are skipped without it. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "agentomics/fileio.h"
#include "agentomics/llm.h"
#include "agentomics/log.h"
#include "unit.h"

extern char **environ;

#define FAKE_SCRIPT "tests/llm/fake_openai.py"
#define KEY "sk-test-SECRET-123"

typedef struct env {
    char dir[PATH_MAX];   /* scratch directory of this run */
    int python;           /* python3 and the fake server script are there */
    int seq;              /* names each scenario's files */
} env;

typedef struct fake {
    pid_t pid;
    int port;
    char log[PATH_MAX + 32];          /* the server's request log */
    char transcript[PATH_MAX + 32];   /* the client's transcript */
    char url[64];                     /* api_base */
} fake;

static int on_path(const char *prog)
{
    const char *path = getenv("PATH"), *p, *colon;
    char buf[PATH_MAX];
    if (!path) return 0;
    for (p = path; *p; p = colon + 1) {
        size_t n;
        colon = strchr(p, ':');
        if (!colon) colon = p + strlen(p);
        n = (size_t)(colon - p);
        if (n == 0) snprintf(buf, sizeof buf, "./%s", prog);
        else snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
        if (access(buf, X_OK) == 0) return 1;
        if (!*colon) break;
    }
    return 0;
}

static int write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fputs(text, fp);
    return fclose(fp) == 0 ? 0 : -1;
}

/* Starts the fake server on a script; 0 when it listens. */
static int fake_start(env *e, fake *f, const char *script)
{
    char spath[PATH_MAX + 32], ppath[PATH_MAX + 32];
    char *argv[] = {"python3", FAKE_SCRIPT, "--script", spath, "--port-file", ppath, "--log", f->log, NULL};
    double t0;
    int n = ++e->seq, status;

    memset(f, 0, sizeof *f);
    f->pid = -1;
    snprintf(spath, sizeof spath, "%s/s%d.json", e->dir, n);
    snprintf(ppath, sizeof ppath, "%s/s%d.port", e->dir, n);
    snprintf(f->log, sizeof f->log, "%s/s%d.requests.jsonl", e->dir, n);
    snprintf(f->transcript, sizeof f->transcript, "%s/s%d.transcript.jsonl", e->dir, n);
    if (write_text(spath, script) != 0) return -1;
    if (posix_spawnp(&f->pid, "python3", NULL, NULL, argv, environ) != 0) { f->pid = -1; return -1; }
    for (t0 = ao_now(); ao_now() - t0 < 10;) {
        FILE *fp = fopen(ppath, "r");
        if (fp) {
            int ok = fscanf(fp, "%d", &f->port) == 1;
            fclose(fp);
            if (ok && f->port > 0) {
                snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/v1", f->port);
                return 0;
            }
        }
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) { f->pid = -1; return -1; }
        usleep(20000);
    }
    return -1;
}

static void fake_stop(fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR) { /* again */ }
    }
    f->pid = -1;
}

/* Starts a scenario's server, or reports why not (skip or failure). */
static int scenario(env *e, fake *f, const char *name, const char *script)
{
    if (!e->python) {
        unit_tap.n++;
        printf("ok %d # SKIP python3 not found (%s)\n", unit_tap.n, name);
        return 0;
    }
    if (fake_start(e, f, script) != 0) {
        CHECK(0, "%s: the fake server starts", name);
        fake_stop(f);
        return 0;
    }
    return 1;
}

/* Lines of a JSONL file as an array (empty if the file is missing). */
static json_t *read_jsonl(const char *path)
{
    json_t *a = json_array();
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!fp) return a;
    while (getline(&line, &cap, fp) > 0) {
        json_t *v = json_loads(line, 0, NULL);
        json_array_append_new(a, v ? v : json_string("<unparseable line>"));
    }
    free(line);
    fclose(fp);
    return a;
}

static char *slurp(const char *path)
{
    ao_err err;
    size_t n;
    char *s;
    ao_err_init(&err);
    s = ao_read_file(path, &n, &err);
    return s ? s : strdup("");
}

static size_t count_events(const json_t *tr, const char *event)
{
    size_t i, n = 0;
    json_t *v;
    json_array_foreach((json_t *)tr, i, v)
        if (json_is_string(json_object_get(v, "event")) && !strcmp(json_string_value(json_object_get(v, "event")), event)) n++;
    return n;
}

/* The i-th event named `event` (borrowed; NULL if absent). */
static json_t *nth_event(const json_t *tr, const char *event, size_t k)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)tr, i, v)
        if (json_is_string(json_object_get(v, "event")) && !strcmp(json_string_value(json_object_get(v, "event")), event) && k-- == 0)
            return v;
    return NULL;
}

/* A request header from the server's log, by case-insensitive name. */
static const char *req_header(const json_t *entry, const char *name)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(entry, "headers"), k, v)
        if (!strcasecmp(k, name)) return json_string_value(v);
    return NULL;
}

static json_t *req_body(const json_t *log, size_t i)
{
    return json_object_get(json_array_get(log, i), "body");
}

static json_t *messages(const char *user)
{
    return json_pack("[{s:s,s:s},{s:s,s:s}]", "role", "system", "content", "You test. [agentomics-step: plan]",
                     "role", "user", "content", user);
}

static json_t *tools(void)
{
    return json_pack("[{s:s,s:{s:s,s:s,s:{s:s,s:{s:{s:s}}}}},{s:s,s:{s:s,s:s,s:{s:s}}}]",
                     "type", "function", "function", "name", "run", "description", "runs a command",
                     "parameters", "type", "object", "properties", "x", "type", "integer",
                     "type", "function", "function", "name", "note", "description", "notes a thing",
                     "parameters", "type", "object");
}

/* Defaults for a scenario: a keyless preset aimed at the fake server,
 * fast backoff, the scenario's transcript. */
static void config(ao_llm_config *c, const fake *f, const char *provider)
{
    ao_llm_config_init(c);
    c->provider = provider;
    c->api_base = f->url;
    c->model = "test-model";
    c->connect_timeout = 2;
    c->request_timeout = 5;
    c->max_retries = 2;
    c->backoff_base = 0.05;
    c->backoff_cap = 0.5;
    c->transcript = f->transcript;
    c->seed = 7;
}

static int file_has(const char *path, const char *needle)
{
    char *s = slurp(path);
    int has = strstr(s, needle) != NULL;
    free(s);
    return has;
}

/* ---- scenarios ----------------------------------------------------------- */

static void test_tool_calls(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *t = tools(), *log, *tr, *tc, *args, *u;
    int rc;

    if (!scenario(e, &f, "two tool calls", "{\"rules\":[{\"match\":{\"step\":\"plan\",\"turn\":0,\"contains\":\"hello\"},"
                  "\"reply\":{\"content\":null,\"tool_calls\":[{\"name\":\"run\",\"arguments\":{\"x\":1}},"
                  "{\"name\":\"note\",\"arguments_raw\":\"{not json, kept\"}],"
                  "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,"
                  "\"prompt_tokens_details\":{\"cached_tokens\":40},\"completion_tokens_details\":{\"reasoning_tokens\":5}}}}]}"))
        goto DONE;
    config(&c, &f, "openai");
    c.api_key = KEY;
    c.temperature = 0.25;
    c.max_tokens = 100;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(l != NULL, "create an openai client aimed at the fake server");
    rc = l ? ao_llm_chat(l, m, t, "auto", NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && r.attempts == 1, "a reply with two tool calls: OK in 1 attempt (%s)", err.msg);
    CHECK(r.finish == AO_LLM_FINISH_TOOL_CALLS && !strcmp(r.finish_reason, "tool_calls"), "finish_reason tool_calls");
    tc = json_object_get(r.message, "tool_calls");
    CHECK(json_array_size(tc) == 2 && !strcmp(json_string_value(json_object_get(json_array_get(tc, 0), "id")), "call_1_0"),
          "both tool calls come back with their ids");
    args = json_loads(json_string_value(json_object_get(json_object_get(json_array_get(tc, 0), "function"), "arguments")), 0, NULL);
    CHECK(args && json_integer_value(json_object_get(args, "x")) == 1, "JSON arguments as a string");
    json_decref(args);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(json_array_get(tc, 1), "function"), "arguments")) ?
                  json_string_value(json_object_get(json_object_get(json_array_get(tc, 1), "function"), "arguments")) : "",
                  "{not json, kept"), "non-JSON arguments kept verbatim");
    u = r.usage;
    CHECK(json_integer_value(json_object_get(u, "prompt_tokens")) == 100 &&
          json_integer_value(json_object_get(u, "completion_tokens")) == 20 &&
          json_integer_value(json_object_get(u, "cached_tokens")) == 40 &&
          json_integer_value(json_object_get(u, "reasoning_tokens")) == 5 && json_is_null(json_object_get(u, "cost")),
          "usage normalised (cached, reasoning), cost null without prices");
    u = ao_llm_usage(l);
    CHECK(json_integer_value(json_object_get(u, "llm_calls")) == 1 && json_is_false(json_object_get(u, "cost_known")) &&
          json_integer_value(json_object_get(u, "retries")) == 0, "totals: 1 call, cost unknown, 0 retries");
    json_decref(u);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);

    log = read_jsonl(f.log);
    CHECK(json_array_size(log) == 1, "the server saw one request");
    {
        json_t *b = req_body(log, 0), *entry = json_array_get(log, 0);
        CHECK(!strcmp(json_string_value(json_object_get(entry, "path")), "/v1/chat/completions"), "POST {api_base}/chat/completions");
        CHECK(!strcmp(json_string_value(json_object_get(b, "model")), "test-model") &&
              json_array_size(json_object_get(b, "messages")) == 2 && json_array_size(json_object_get(b, "tools")) == 2,
              "model, messages and tools sent");
        CHECK(!strcmp(json_string_value(json_object_get(b, "tool_choice")) ? json_string_value(json_object_get(b, "tool_choice")) : "", "auto") &&
              !json_object_get(b, "parallel_tool_calls"), "tool_choice auto; parallel_tool_calls not sent unless asked");
        CHECK(json_integer_value(json_object_get(b, "max_completion_tokens")) == 100 && !json_object_get(b, "max_tokens") &&
              fabs(json_number_value(json_object_get(b, "temperature")) - 0.25) < 1e-12 && !json_object_get(b, "response_format"),
              "openai: max_completion_tokens, temperature, no response_format");
        CHECK(req_header(entry, "Content-Type") && !strcmp(req_header(entry, "Content-Type"), "application/json"),
              "Content-Type: application/json");
    }
    json_decref(log);
    tr = read_jsonl(f.transcript);
    CHECK(count_events(tr, "request") == 1 && count_events(tr, "response") == 1, "transcript: a request and a response event");
    CHECK(json_integer_value(json_object_get(nth_event(tr, "response", 0), "status")) == 200 &&
          json_is_object(json_object_get(nth_event(tr, "response", 0), "body")) &&
          json_is_number(json_object_get(nth_event(tr, "response", 0), "seconds")) &&
          json_is_number(json_object_get(nth_event(tr, "request", 0), "time")),
          "the response event has status, seconds and the parsed body");
    json_decref(tr);
DONE:
    json_decref(m);
    json_decref(t);
}

static void test_retry_after(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *tr, *u;
    double t0, dt;
    int rc;

    if (!scenario(e, &f, "Retry-After", "{\"rules\":[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
                  "\"body\":{\"error\":{\"message\":\"slow down\"}}},{\"reply\":{\"content\":\"ok\"}}]}"))
        goto DONE;
    config(&c, &f, "vllm");
    c.backoff_cap = 5;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_OK && r.attempts == 2, "429 with Retry-After: 1, then a reply: OK in 2 attempts (%s)", err.msg);
    CHECK(dt >= 1.0 && dt < 3.0, "waited the second Retry-After asked for (%.2f s)", dt);
    CHECK(!strcmp(json_string_value(json_object_get(r.message, "content")) ? json_string_value(json_object_get(r.message, "content")) : "", "ok"),
          "the message content");
    u = ao_llm_usage(l);
    CHECK(json_integer_value(json_object_get(u, "llm_calls")) == 2 && json_integer_value(json_object_get(u, "retries")) == 1,
          "both attempts count as calls; 1 retry");
    json_decref(u);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    tr = read_jsonl(f.transcript);
    CHECK(count_events(tr, "retry") == 1 && json_number_value(json_object_get(nth_event(tr, "retry", 0), "delay")) == 1.0 &&
          strstr(json_string_value(json_object_get(nth_event(tr, "retry", 0), "reason")), "HTTP 429: slow down"),
          "transcript: a retry event with reason and delay 1");
    CHECK(count_events(tr, "request") == 2 && count_events(tr, "response") == 2, "transcript: 2 requests, 2 responses");
    json_decref(tr);
DONE:
    json_decref(m);
}

static void test_retry_hints(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *tr;
    double t0, dt;
    int rc;

    if (!scenario(e, &f, "retry-after-ms", "{\"rules\":["
                  "{\"status\":429,\"headers\":{\"retry-after-ms\":\"300\",\"Retry-After\":\"20\"},\"body\":{}},"
                  "{\"reply\":{\"content\":\"a\"}},"
                  "{\"status\":503,\"headers\":{\"Retry-After\":\"30\"},\"raw\":\"<html>busy</html>\"},"
                  "{\"reply\":{\"content\":\"b\"}},"
                  "{\"status\":503,\"headers\":{\"Retry-After\":\"Wed, 21 Oct 2015 07:28:00 GMT\"},\"raw\":\"\"},"
                  "{\"reply\":{\"content\":\"c\"}}]}"))
        goto DONE;
    config(&c, &f, "llamacpp");
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_OK && r.attempts == 2 && dt >= 0.3 && dt < 0.9,
          "retry-after-ms 300 wins over Retry-After (%.2f s, %s)", dt, err.msg);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_OK && r.attempts == 2 && dt >= 0.5 && dt < 1.5, "Retry-After: 30 capped at backoff_cap 0.5 (%.2f s)", dt);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && r.attempts == 2, "Retry-After as a past HTTP date, then a reply");
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    tr = read_jsonl(f.transcript);
    CHECK(count_events(tr, "retry") == 3 && json_number_value(json_object_get(nth_event(tr, "retry", 2), "delay")) == 0.0,
          "an HTTP date in the past means no wait");
    CHECK(strstr(json_string_value(json_object_get(nth_event(tr, "retry", 1), "reason")), "HTTP 503: <html>busy</html>") != NULL,
          "a non-JSON error body is quoted in the reason");
    CHECK(json_is_string(json_object_get(nth_event(tr, "response", 2), "body")) &&
          !strcmp(json_string_value(json_object_get(nth_event(tr, "response", 2), "body")), "<html>busy</html>"),
          "a non-JSON body is kept as raw text in the transcript");
    json_decref(tr);
DONE:
    json_decref(m);
}

static void test_5xx(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *tr, *log;
    double t0, dt, lo = 0, hi = 0;
    size_t i;
    int rc, ok;

    if (!scenario(e, &f, "5xx", "{\"rules\":[{\"status\":500,\"body\":{\"error\":{\"message\":\"oops\"}}},"
                  "{\"reply\":{\"content\":\"fine\"}},"
                  "{\"status\":503,\"times\":-1,\"body\":{\"error\":{\"message\":\"overloaded\"}}}]}"))
        goto DONE;
    config(&c, &f, "vllm");
    c.max_retries = 3;
    c.backoff_cap = 1;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && r.attempts == 2, "500 then a reply: OK in 2 attempts");
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_ELLM && r.attempts == 4 && r.message == NULL, "503 forever: AO_ELLM after 1 + 3 attempts");
    CHECK(strstr(err.msg, f.url) == err.msg && strstr(err.msg, "HTTP 503: overloaded") &&
          strstr(err.msg, "gave up after 4 attempts"), "the message names the URL, the last cause and the attempts: %s", err.msg);
    /* Backoff 0.05, 0.1, 0.2 s, each jittered into [50%, 100%]. */
    for (i = 0; i < 3; i++) { lo += 0.05 * (1 << i) * 0.5; hi += 0.05 * (1 << i); }
    CHECK(dt >= lo - 0.01 && dt < hi + 0.6, "exponential backoff with jitter (%.3f s within [%.3f, %.3f+])", dt, lo, hi);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    log = read_jsonl(f.log);
    CHECK(json_array_size(log) == 6, "the server saw 2 + 4 requests");
    json_decref(log);
    tr = read_jsonl(f.transcript);
    ok = count_events(tr, "retry") == 4 && count_events(tr, "error") == 1;
    for (i = 1; ok && i < 4; i++) {
        double d = json_number_value(json_object_get(nth_event(tr, "retry", i), "delay"));
        double base = 0.05 * (1 << (i - 1));
        if (d < base * 0.5 - 1e-9 || d > base + 1e-9) ok = 0;
    }
    CHECK(ok, "transcript: each backoff delay in [base/2, base], base doubling; one error event");
    CHECK(strstr(json_string_value(json_object_get(nth_event(tr, "error", 0), "message")), "HTTP 503") != NULL,
          "the error event carries the message");
    json_decref(tr);
DONE:
    json_decref(m);
}

/* 429 answers do not use up max_retries: they are waited out until the
 * deadline (ao_llm_set_deadline, else rate_limit_wait from the call's
 * start), and a wait that would pass it fails the call at once. */
static void test_rate_limit(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *u, *tr;
    double t0, dt;
    int rc;

    if (!scenario(e, &f, "rate limits", "{\"rules\":["
                  "{\"status\":429,\"times\":7,\"headers\":{\"Retry-After\":\"0\"},\"body\":{\"error\":{\"message\":\"slow down\"}}},"
                  "{\"reply\":{\"content\":\"through\"}},"
                  "{\"status\":429,\"times\":-1,\"headers\":{\"Retry-After\":\"1\"},\"body\":{\"error\":{\"message\":\"still slow\"}}}]}"))
        goto DONE;
    config(&c, &f, "vllm");
    c.max_retries = 1;
    c.backoff_cap = 5;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && r.attempts == 8, "seven 429s with max_retries 1: waited out, OK in 8 attempts (%d; %s)", r.attempts, err.msg);
    u = ao_llm_usage(l);
    CHECK(json_integer_value(json_object_get(u, "rate_limited")) == 7 && json_integer_value(json_object_get(u, "retries")) == 7 &&
          json_integer_value(json_object_get(u, "llm_calls")) == 8 && json_is_number(json_object_get(u, "rate_limit_seconds")),
          "usage: 7 rate-limited answers, 7 retries, 8 calls, the seconds waited");
    json_decref(u);
    ao_llm_set_deadline(l, ao_now() + 2.5);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_ELLM && ao_llm_failure_cause(l, NULL) == AO_LLM_CAUSE_RATE_LIMIT && r.attempts == 3 && dt >= 1.9 && dt < 2.6,
          "429 forever, Retry-After 1, a deadline 2.5 s away: two waits, then AO_ELLM (rate limit) without sleeping past it "
          "(%d attempts, %.2f s)", r.attempts, dt);
    CHECK(strstr(err.msg, "still slow") && strstr(err.msg, "rate limited 3 times") && strstr(err.msg, "would pass the time bound"),
          "the message says rate limited and the bound: %s", err.msg);
    ao_llm_destroy(l);
    c.rate_limit_wait = 0.5;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_ELLM && ao_llm_failure_cause(l, NULL) == AO_LLM_CAUSE_RATE_LIMIT && r.attempts == 1 && dt < 0.9,
          "no deadline: rate_limit_wait bounds the wait (0.5 s < Retry-After 1: fails at once, %.2f s)", dt);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    tr = read_jsonl(f.transcript);
    CHECK(count_events(tr, "retry") == 9 && json_is_true(json_object_get(nth_event(tr, "retry", 0), "rate_limited")),
          "transcript: every wait is a retry event marked rate_limited");
    json_decref(tr);
DONE:
    json_decref(m);
}

/* Context-overflow refusals as the servers word them are told apart
 * (and their stated size read) from other 400s. */
static void test_context_overflow(env *e)
{
    static const struct { const char *what, *rule; int cause; long limit; } cases[] = {
        {"OpenAI context_length_exceeded",
         "{\"status\":400,\"body\":{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens. However, your messages "
         "resulted in 9000 tokens.\",\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}}",
         AO_LLM_CAUSE_CONTEXT, 8192},
        {"llama.cpp exceed_context_size_error with n_ctx",
         "{\"status\":400,\"body\":{\"error\":{\"code\":400,\"message\":\"the request exceeds the available context size, try increasing it\","
         "\"type\":\"exceed_context_size_error\",\"n_prompt_tokens\":5000,\"n_ctx\":4096}}}",
         AO_LLM_CAUSE_CONTEXT, 4096},
        {"older llama.cpp, no size",
         "{\"status\":400,\"body\":{\"error\":{\"code\":400,\"message\":\"the request exceeds the available context size. try increasing "
         "the context size or enable context shift\",\"type\":\"invalid_request_error\"}}}",
         AO_LLM_CAUSE_CONTEXT, 0},
        {"vLLM, the error is the body",
         "{\"status\":400,\"body\":{\"object\":\"error\",\"message\":\"This model's maximum context length is 16384 tokens. However, you "
         "requested 17000 tokens (13000 in the messages, 4000 in the completion).\",\"type\":\"BadRequestError\",\"code\":400}}",
         AO_LLM_CAUSE_CONTEXT, 16384},
        {"OpenRouter, in a 200 body",
         "{\"body\":{\"error\":{\"message\":\"This endpoint's maximum context length is 32768 tokens. However, you requested about "
         "40000 tokens.\",\"code\":400}}}",
         AO_LLM_CAUSE_CONTEXT, 32768},
        {"another 400", "{\"status\":400,\"body\":{\"error\":{\"message\":\"unknown parameter: foo\"}}}", AO_LLM_CAUSE_OTHER, 0},
        {"401", "{\"status\":401,\"body\":{\"error\":{\"message\":\"Incorrect API key\"}}}", AO_LLM_CAUSE_AUTH, 0},
    };
    char script[4096];
    size_t i, len = 0;
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello");
    long limit;
    int rc, cause;

    len += (size_t)snprintf(script + len, sizeof script - len, "{\"rules\":[");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        len += (size_t)snprintf(script + len, sizeof script - len, "%s%s", i ? "," : "", cases[i].rule);
    snprintf(script + len, sizeof script - len, "]}");
    if (!scenario(e, &f, "context overflow", script)) goto DONE;
    config(&c, &f, "openrouter");
    c.api_key = "test-key-0123";
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    for (i = 0; l && i < sizeof cases / sizeof cases[0]; i++) {
        rc = ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err);
        cause = ao_llm_failure_cause(l, &limit);
        CHECK(rc == AO_ELLM && cause == cases[i].cause && limit == cases[i].limit && r.attempts == 1,
              "%s: cause %d, stated size %ld, not retried (got %d, %ld; %s)", cases[i].what, cases[i].cause, cases[i].limit, cause, limit, err.msg);
    }
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
DONE:
    json_decref(m);
}

static void test_timeout(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello");
    double t0, dt;
    int rc;

    if (!scenario(e, &f, "hang", "{\"rules\":[{\"delay\":30,\"reply\":{\"content\":\"late\"}},"
                  "{\"delay\":30,\"reply\":{\"content\":\"late\"}},{\"reply\":{\"content\":\"prompt\"}}]}"))
        goto DONE;
    config(&c, &f, "vllm");
    c.request_timeout = 1;
    c.max_retries = 0;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_ELLM && r.attempts == 1 && strstr(err.msg, "timed out after 1.0 s"),
          "a hang past the 1 s request timeout: AO_ELLM naming the timeout (%s)", err.msg);
    CHECK(dt >= 0.9 && dt < 2.5, "given up after about 1 s (%.2f s)", dt);
    ao_llm_destroy(l);
    c.max_retries = 1;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(rc == AO_OK && r.attempts == 2 && dt < 3.0, "a hang, then a good reply on the retry: OK (%.2f s, %s)", dt, err.msg);
    {
        json_t *u = ao_llm_usage(l);
        CHECK(json_integer_value(json_object_get(u, "llm_calls")) == 2, "a timed-out attempt counts in the ledger too (issue 12: every attempt)");
        json_decref(u);
    }
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
DONE:
    json_decref(m);
}

static void test_bad_replies(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *log, *tr;
    int rc;

    if (!scenario(e, &f, "bad replies", "{\"rules\":["
                  "{\"raw\":\"{\\\"choices\\\": [\",\"times\":2},"
                  "{\"body\":{\"error\":{\"message\":\"upstream exploded\",\"code\":400}}},"
                  "{\"body\":{\"error\":{\"message\":\"upstream rate limit\",\"code\":429}}},"
                  "{\"reply\":{\"content\":\"after the 200 error\"}},"
                  "{\"status\":401,\"body\":{\"error\":{\"message\":\"Invalid API key\"}}},"
                  "{\"body\":{\"id\":\"x\",\"choices\":[]}},"
                  "{\"status\":200,\"raw\":\"[1,2]\"}]}"))
        goto DONE;
    config(&c, &f, "vllm");
    c.max_retries = 1;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && r.attempts == 2 && strstr(err.msg, "malformed JSON reply"),
          "malformed JSON: retried, then AO_ELLM (%s)", err.msg);
    ao_err_init(&err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && r.attempts == 1 && strstr(err.msg, "upstream exploded"),
          "an error object in a 200 body: AO_ELLM at once with its message (%s)", err.msg);
    ao_err_init(&err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && r.attempts == 2, "an error with a retryable code (429) in a 200 body is retried (%s)", err.msg);
    ao_err_init(&err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && r.attempts == 1, "401: AO_ELLM after one attempt");
    CHECK(strstr(err.msg, f.url) == err.msg && strstr(err.msg, "/chat/completions: HTTP 401: Invalid API key"),
          "401 message: URL, status and the provider's message (%s)", err.msg);
    ao_err_init(&err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && r.attempts == 1 && strstr(err.msg, "choices[0].message"),
          "a 200 reply without choices: AO_ELLM (%s)", err.msg);
    ao_err_init(&err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && r.attempts == 1, "a 200 reply that is JSON but not an object: AO_ELLM (%s)", err.msg);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    log = read_jsonl(f.log);
    CHECK(json_array_size(log) == 8, "requests: 2 + 1 + 2 + 1 + 1 + 1");
    json_decref(log);
    tr = read_jsonl(f.transcript);
    CHECK(json_is_string(json_object_get(nth_event(tr, "response", 0), "body")) &&
          !strcmp(json_string_value(json_object_get(nth_event(tr, "response", 0), "body")), "{\"choices\": ["),
          "transcript: the malformed body as raw text");
    json_decref(tr);
DONE:
    json_decref(m);
}

static void test_refused(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    char url[64];
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *u;
    double t0, dt;
    int rc;

    /* A port that was just free and is closed again. */
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(s, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (s >= 0) close(s);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/", port);
    ao_llm_config_init(&c);
    c.provider = "custom";
    c.api_base = url;
    c.model = "m";
    c.max_retries = 1;
    c.backoff_base = 0.05;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    t0 = ao_now();
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    dt = ao_now() - t0;
    CHECK(port > 0 && rc == AO_ELLM && r.attempts == 2 && dt < 2, "connection refused: retried, then AO_ELLM (%s)", err.msg);
    CHECK(strstr(err.msg, "/v1/chat/completions:") != NULL && !strstr(err.msg, "/v1//"),
          "the trailing / of api_base is stripped");
    u = ao_llm_usage(l);
    CHECK(json_integer_value(json_object_get(u, "llm_calls")) == 2 && json_integer_value(json_object_get(u, "retries")) == 1,
          "no response: both attempts in the ledger");
    json_decref(u);
    ao_llm_destroy(l);
    json_decref(m);
}

static void test_finish(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello");
    static const struct { int finish; const char *reason; } want[] = {
        {AO_LLM_FINISH_LENGTH, "length"}, {AO_LLM_FINISH_CONTENT_FILTER, "stop"},
        {AO_LLM_FINISH_CONTENT_FILTER, "content_filter"}, {AO_LLM_FINISH_TOOL_CALLS, "function_call"},
        {AO_LLM_FINISH_OTHER, "eos_token"}, {AO_LLM_FINISH_STOP, "stop"}};
    size_t i;
    int rc;

    if (!scenario(e, &f, "finish reasons", "{\"rules\":["
                  "{\"reply\":{\"content\":\"cut\",\"finish_reason\":\"length\"}},"
                  "{\"reply\":{\"content\":null,\"refusal\":\"I can't help with that\"}},"
                  "{\"reply\":{\"content\":\"\",\"finish_reason\":\"content_filter\"}},"
                  "{\"reply\":{\"content\":\"\",\"finish_reason\":\"function_call\"}},"
                  "{\"reply\":{\"content\":\"x\",\"finish_reason\":\"eos_token\"}},"
                  "{\"reply\":{\"content\":\"x\",\"refusal\":null}}]}"))
        goto DONE;
    config(&c, &f, "ollama");
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
        CHECK(rc == AO_OK && r.finish == want[i].finish && !strcmp(r.finish_reason, want[i].reason),
              "finish %d for finish_reason \"%s\"%s", want[i].finish, want[i].reason,
              i == 1 ? " with a refusal" : i == 5 ? " and a null refusal" : "");
    }
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
DONE:
    json_decref(m);
}

static void test_budgets(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *log, *prices, *u, *tr;
    int rc;

    if (!scenario(e, &f, "budgets", "{\"rules\":[{\"times\":-1,\"reply\":{\"content\":\"ok\",\"usage\":"
                  "{\"prompt_tokens\":100,\"completion_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":40}}}}]}"))
        goto DONE;
    config(&c, &f, "vllm");
    c.max_calls = 2;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    rc = rc == AO_OK && l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : rc;
    CHECK(rc == AO_OK, "max_calls 2: two calls go through");
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_EBUDGET && !strcmp(err.msg, "the LLM call budget (2 calls) is used up") && r.message == NULL,
          "the third: AO_EBUDGET (%s)", err.msg);
    ao_llm_destroy(l);
    log = read_jsonl(f.log);
    CHECK(json_array_size(log) == 2, "no request reached the server for the refused call");
    json_decref(log);

    /* The seeded ledger counts too. */
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    if (l) ao_llm_ledger_seed(l, 2, 0.5);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_EBUDGET, "calls seeded from earlier steps count against max_calls");
    u = ao_llm_usage(l);
    CHECK(json_integer_value(json_object_get(u, "llm_calls")) == 2 && fabs(json_number_value(json_object_get(u, "cost")) - 0.5) < 1e-12 &&
          json_is_true(json_object_get(u, "cost_known")), "usage includes the seeded calls and cost");
    json_decref(u);
    ao_llm_destroy(l);

    /* 60 uncached prompt tokens at 1000, 40 cached at 500, 20 completion
     * tokens at 2000 USD per 1M: 0.06 + 0.02 + 0.04 = 0.12 per call. */
    prices = json_pack("{s:{s:f,s:f,s:f},s:{s:f,s:f}}", "test-model", "prompt", 1000.0, "completion", 2000.0,
                       "cached_prompt", 500.0, "other", "prompt", 1.0, "completion", 1.0);
    c.max_calls = 0;
    c.max_cost = 0.2;
    c.prices = prices;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK_NEAR(rc == AO_OK ? json_number_value(json_object_get(r.usage, "cost")) : -1, 0.12, 1e-12,
               "cost from the price table, cached tokens at cached_prompt");
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK, "the second call starts under the cost budget (0.12 < 0.2)");
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_EBUDGET && strstr(err.msg, "the LLM cost budget (USD 0.2) is used up (spent 0.24"),
          "then AO_EBUDGET for cost (%s)", err.msg);
    u = ao_llm_usage(l);
    CHECK(json_integer_value(json_object_get(u, "llm_calls")) == 2 && json_is_true(json_object_get(u, "cost_known")) &&
          fabs(json_number_value(json_object_get(u, "cost")) - 0.24) < 1e-9 &&
          json_integer_value(json_object_get(u, "cached_tokens")) == 80,
          "totals: 2 calls, USD 0.24, cost known, 80 cached tokens");
    json_decref(u);
    ao_llm_destroy(l);
    json_decref(prices);
    ao_llm_reply_clear(&r);
    fake_stop(&f);
    tr = read_jsonl(f.transcript);
    CHECK(count_events(tr, "error") == 3 && !strcmp(json_string_value(json_object_get(nth_event(tr, "error", 0), "kind")), "budget"),
          "budget refusals are recorded in the transcript");
    json_decref(tr);
DONE:
    json_decref(m);
}

static void test_openrouter(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *log, *u, *b;
    int rc;

    if (!scenario(e, &f, "openrouter cost", "{\"rules\":[{\"reply\":{\"content\":\"ok\",\"usage\":"
                  "{\"prompt_tokens\":10,\"completion_tokens\":5,\"cost\":0.0042}}}]}"))
        goto DONE;
    config(&c, &f, "openrouter");
    c.api_key = KEY;
    c.max_tokens = 50;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, "auto", NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK, "openrouter-style reply (%s)", err.msg);
    CHECK_NEAR(json_number_value(json_object_get(r.usage, "cost")), 0.0042, 1e-12, "usage.cost as reported");
    u = ao_llm_usage(l);
    CHECK(json_is_true(json_object_get(u, "cost_known")) && fabs(json_number_value(json_object_get(u, "cost")) - 0.0042) < 1e-12,
          "totals: cost known");
    json_decref(u);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    log = read_jsonl(f.log);
    b = req_body(log, 0);
    CHECK(json_is_true(json_object_get(json_object_get(b, "usage"), "include")), "openrouter: usage.include sent");
    CHECK(req_header(json_array_get(log, 0), "X-Title") && !strcmp(req_header(json_array_get(log, 0), "X-Title"), "agentomics"),
          "openrouter: X-Title header");
    CHECK(json_integer_value(json_object_get(b, "max_tokens")) == 50 && !json_object_get(b, "max_completion_tokens") &&
          !json_object_get(b, "tool_choice") && !json_object_get(b, "tools") && !json_object_get(b, "temperature"),
          "max_tokens elsewhere than openai; no tools means no tool_choice; NAN temperature not sent");
    json_decref(log);
DONE:
    json_decref(m);
}

static void test_presets(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello"), *t = tools(), *log, *b, *schema;
    static const char *const provs[] = {"ollama", "openai", "llamacpp", "vllm", "vllm", "llamacpp"};
    static const char *const choices[] = {"required", "required", "none", "note", "auto", "note"};
    size_t i;
    int rc, ok = 1;

    if (!scenario(e, &f, "presets", "{\"rules\":[{\"times\":-1,\"reply\":{\"content\":\"ok\"}}]}")) goto DONE;
    schema = json_pack("{s:s,s:{s:s,s:{s:{s:s}},s:[s]}}", "name", "plan", "schema", "type", "object", "properties",
                       "goal", "type", "string", "required", "goal");
    for (i = 0; i < 6; i++) {
        config(&c, &f, provs[i]);
        c.api_key = KEY;
        c.max_tokens = i == 5 ? 0 : 7;
        ao_err_init(&err);
        l = ao_llm_create(&c, &err);
        rc = l ? ao_llm_chat(l, m, t, choices[i], i == 4 ? schema : NULL, &r, &err) : AO_EINTERNAL;
        if (rc != AO_OK) ok = 0;
        ao_llm_destroy(l);
    }
    CHECK(ok, "one call per preset");
    ao_llm_reply_clear(&r);
    fake_stop(&f);
    log = read_jsonl(f.log);
    b = req_body(log, 0);
    CHECK(json_array_size(log) == 6 && !json_object_get(b, "tool_choice") && !json_object_get(b, "parallel_tool_calls") &&
          json_array_size(json_object_get(b, "tools")) == 2 && json_integer_value(json_object_get(b, "max_tokens")) == 7,
          "ollama: tools but no tool_choice, no parallel_tool_calls");
    b = req_body(log, 1);
    CHECK(json_is_string(json_object_get(b, "tool_choice")) && !strcmp(json_string_value(json_object_get(b, "tool_choice")), "required") &&
          !json_object_get(b, "parallel_tool_calls"), "openai: tool_choice required, parallel_tool_calls not sent unless asked");
    b = req_body(log, 2);
    CHECK(json_is_string(json_object_get(b, "tool_choice")) && !strcmp(json_string_value(json_object_get(b, "tool_choice")), "none") &&
          !json_object_get(b, "parallel_tool_calls"), "llamacpp: tool_choice, no parallel_tool_calls");
    b = req_body(log, 3);
    CHECK(json_is_string(json_object_get(json_object_get(json_object_get(b, "tool_choice"), "function"), "name")) &&
          !strcmp(json_string_value(json_object_get(json_object_get(json_object_get(b, "tool_choice"), "function"), "name")), "note") &&
          !strcmp(json_string_value(json_object_get(json_object_get(b, "tool_choice"), "type")), "function"),
          "a function name as tool_choice becomes {type: function, function: {name}}");
    b = req_body(log, 5);
    CHECK(json_is_string(json_object_get(b, "tool_choice")) && !strcmp(json_string_value(json_object_get(b, "tool_choice")), "required") &&
          json_integer_value(json_object_get(b, "max_tokens")) == 4096,
          "llamacpp: a function name becomes \"required\" (it ignores objects); the preset's max_tokens is sent when none is given");
    b = req_body(log, 4);
    {
        json_t *rf = json_object_get(b, "response_format"), *js = json_object_get(rf, "json_schema");
        CHECK(json_is_string(json_object_get(rf, "type")) && !strcmp(json_string_value(json_object_get(rf, "type")), "json_schema") &&
              !strcmp(json_string_value(json_object_get(js, "name")), "plan") && json_is_true(json_object_get(js, "strict")) &&
              json_equal(json_object_get(js, "schema"), json_object_get(schema, "schema")),
              "response_format json_schema (name, schema, strict) sent");
    }
    CHECK(req_header(json_array_get(log, 0), "Authorization") && req_header(json_array_get(log, 2), "Authorization"),
          "a given key is sent to keyless presets too");
    CHECK(!file_has(f.transcript, "SECRET"), "the key is not in the transcript");
    json_decref(log);
    json_decref(schema);
DONE:
    json_decref(m);
    json_decref(t);
}

/* The context size comes from the server where the preset knows how to
 * ask (llama.cpp /props, vLLM /models), is range-checked, and is 0 where
 * the server does not say. */
static void test_context_probe(env *e)
{
    static const struct { const char *provider; long n_ctx, want; const char *what; } cases[] = {
        {"llamacpp", 12345, 12345, "llama.cpp: n_ctx from /props"},
        {"vllm", 23456, 23456, "vLLM: max_model_len from /models"},
        {"ollama", 12345, 0, "ollama: not asked (its OpenAI endpoint does not say)"},
        {"llamacpp", 0, 0, "a 404 means unknown (0)"},
        {"llamacpp", 100, 0, "an implausible size (100 tokens) is not believed"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake f;
        ao_llm_config c;
        ao_llm *l;
        ao_err err;
        char script[128];
        long n, again;
        snprintf(script, sizeof script, "{\"n_ctx\":%ld,\"rules\":[]}", cases[i].n_ctx);
        if (!scenario(e, &f, cases[i].what, script)) continue;
        config(&c, &f, cases[i].provider);
        ao_err_init(&err);
        l = ao_llm_create(&c, &err);
        n = l ? ao_llm_context_tokens(l, &err) : -1;
        fake_stop(&f);
        again = l ? ao_llm_context_tokens(l, &err) : -1; /* the server is gone: only a cached answer */
        CHECK(n == cases[i].want && again == n, "%s (got %ld, then %ld)", cases[i].what, n, again);
        if (cases[i].want)
            CHECK(file_has(f.transcript, "context_probe"), "%s: the probe is in the transcript", cases[i].what);
        ao_llm_destroy(l);
    }
}

static void test_key(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    /* the key as the wire may carry it: JSON-escaped ("\u0073" for 's'),
     * escaped twice (in tool-call arguments, JSON inside a JSON string),
     * URL-encoded, and plain in the reasoning */
    static const char wire[] = "{\"choices\":[{\"message\":{\"role\":\"assistant\","
        "\"content\":\"u:\\u0073k-test-SECRET-123 d:\\\\u0073k-test-SECRET-123 p:sk%2Dtest%2dSECRET-123 s:" KEY "\","
        "\"reasoning_content\":\"thinking of " KEY "\",\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"run\","
        "\"arguments\":\"{\\\"x\\\": \\\"\\\\u0073k-test-SECRET-123\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}";
    json_t *m = messages("hello " KEY), *log, *tr, *sc, *args;
    struct stat st;
    char *text, *script = NULL;
    int rc;

    sc = json_pack("{s:[{s:{s:s}},{s:s},{s:i,s:{s:{s:s}}},{s:i,s:i,s:s}]}", "rules", "reply", "content", "your key is " KEY, "raw", wire,
                   "status", 401, "body", "error", "message", "Incorrect API key provided: " KEY ".",
                   "status", 502, "times", -1, "raw", "bad gateway for " KEY);
    script = sc ? json_dumps(sc, 0) : NULL;
    json_decref(sc);
    if (!script) { CHECK(0, "key redaction: the script is built"); goto DONE; }
    if (!scenario(e, &f, "key redaction", script)) goto DONE;
    config(&c, &f, "openai");
    c.api_key = KEY;
    c.max_retries = 1;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && !strcmp(json_string_value(json_object_get(r.message, "content")), "your key is [REDACTED]"),
          "the key echoed in a reply is redacted before the caller gets it");
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    text = rc == AO_OK ? json_dumps(r.message, 0) : NULL;
    CHECK(text && !strstr(text, "SECRET") &&
          !strcmp(json_string_value(json_object_get(r.message, "content")), "u:[REDACTED] d:[REDACTED] p:[REDACTED] s:[REDACTED]") &&
          !strcmp(json_string_value(json_object_get(r.message, "reasoning_content")), "thinking of [REDACTED]"),
          "escaped (once, twice), URL-encoded and plain forms of the key are redacted in content and reasoning (%s)", text ? text : err.msg);
    free(text);
    args = json_loads(json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(r.message, "tool_calls"), 0), "function"), "arguments")), 0, NULL);
    CHECK(args && !strcmp(json_string_value(json_object_get(args, "x")), "[REDACTED]"),
          "decoded tool-call arguments hold [REDACTED], not the key");
    json_decref(args);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && !strstr(err.msg, KEY) && strstr(err.msg, "provided: [REDACTED]."),
          "an error message quoting the key is redacted (%s)", err.msg);
    ao_err_init(&err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_ELLM && !strstr(err.msg, KEY) && strstr(err.msg, "HTTP 502: bad gateway for [REDACTED]"),
          "a raw error body quoting the key is redacted (%s)", err.msg);
    rc = l ? ao_llm_transcript(l, "tool_result", json_pack("{s:s,s:{s:s}}", "output", "env: KEY=" KEY, KEY, "x", "y"), &err)
           : AO_EINTERNAL;
    CHECK(rc == AO_OK, "ao_llm_transcript adds a caller's event");
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    log = read_jsonl(f.log);
    CHECK(json_array_size(log) >= 1 && req_header(json_array_get(log, 0), "Authorization") &&
          !strcmp(req_header(json_array_get(log, 0), "Authorization"), "Bearer " KEY),
          "the server got Authorization: Bearer KEY");
    json_decref(log);
    text = slurp(f.transcript);
    CHECK(*text && !strstr(text, "SECRET"), "the key appears nowhere in the transcript");
    CHECK(strstr(text, "\"Bearer [REDACTED]\"") && strstr(text, "your key is [REDACTED]") &&
          strstr(text, "hello [REDACTED]") && strstr(text, "env: KEY=[REDACTED]") && strstr(text, "bad gateway for [REDACTED]"),
          "header, echoed reply, request, raw body and caller event show [REDACTED]");
    free(text);
    tr = read_jsonl(f.transcript);
    CHECK(json_is_object(json_object_get(nth_event(tr, "tool_result", 0), "[REDACTED]")),
          "the key is redacted in object keys too");
    json_decref(tr);
    CHECK(stat(f.transcript, &st) == 0 && (st.st_mode & 077) == 0, "the transcript is private (0600)");
DONE:
    free(script);
    json_decref(m);
}

/* A placeholder key (shorter than 8 characters) is no secret: replies
 * keep the word, the transcript still hides it. */
static void test_short_key(env *e)
{
    fake f;
    ao_llm_config c;
    ao_llm *l;
    ao_llm_reply r = {0};
    ao_err err;
    json_t *m = messages("hello");
    char *text;
    int rc;

    if (!scenario(e, &f, "short key", "{\"rules\":[{\"reply\":{\"content\":\"x = EMPTY if dummy else None\"}}]}")) goto DONE;
    config(&c, &f, "vllm");
    c.api_key = "EMPTY";
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    rc = l ? ao_llm_chat(l, m, NULL, NULL, NULL, &r, &err) : AO_EINTERNAL;
    CHECK(rc == AO_OK && !strcmp(json_string_value(json_object_get(r.message, "content")), "x = EMPTY if dummy else None"),
          "a 5-character key is left in the reply the caller gets (%s)", err.msg);
    ao_llm_reply_clear(&r);
    ao_llm_destroy(l);
    fake_stop(&f);
    text = slurp(f.transcript);
    CHECK(*text && !strstr(text, "EMPTY") && strstr(text, "x = [REDACTED] if dummy"), "and redacted in the transcript");
    free(text);
DONE:
    json_decref(m);
}

static void test_create(env *e)
{
    ao_llm_config c;
    ao_llm *l;
    ao_err err;
    const ao_llm_preset *p;
    char path[PATH_MAX + 32];

    p = ao_llm_preset_find("ollama");
    CHECK(p && !p->tool_choice && p->json_schema && !p->parallel_tool_calls && !p->needs_key &&
          !strcmp(p->api_base, "http://127.0.0.1:11434/v1"), "the ollama preset");
    p = ao_llm_preset_find("openrouter");
    CHECK(p && p->tool_choice && p->reports_cost && p->needs_key && !strcmp(p->api_base, "https://openrouter.ai/api/v1"),
          "the openrouter preset");
    CHECK(ao_llm_preset_find("nope") == NULL && ao_llm_preset_find(NULL) == NULL, "unknown presets are NULL");

    ao_llm_config_init(&c);
    CHECK(!strcmp(c.provider, "openai") && isnan(c.temperature) && c.max_retries == 5 && c.request_timeout == 300 &&
          c.connect_timeout == 10 && c.backoff_cap == 60, "config defaults");
    c.model = "m";
    c.provider = "nope";
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(!l && err.code == AO_EUSAGE && strstr(err.msg, "nope"), "unknown provider: AO_EUSAGE (%s)", err.msg);
    c.provider = "vllm";
    c.model = NULL;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(!l && err.code == AO_EUSAGE, "no model: AO_EUSAGE (%s)", err.msg);
    c.model = "m";
    c.provider = "custom";
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(!l && err.code == AO_EUSAGE && strstr(err.msg, "base"), "custom without api_base: AO_EUSAGE (%s)", err.msg);
    c.provider = "openai";
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(!l && err.code == AO_EUSAGE && strstr(err.msg, "key"), "openai without a key: AO_EUSAGE (%s)", err.msg);
    c.api_key = "sk-bad\nX-Evil: 1";
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(!l && err.code == AO_EUSAGE && !strstr(err.msg, "Evil"), "a key with a newline: AO_EUSAGE, not echoed");
    c.api_key = KEY;
    snprintf(path, sizeof path, "%s/no/such/dir/t.jsonl", e->dir);
    c.transcript = path;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(!l && err.code == AO_EIO, "an unwritable transcript: AO_EIO (%s)", err.msg);
    c.transcript = NULL;
    ao_err_init(&err);
    l = ao_llm_create(&c, &err);
    CHECK(l && ao_llm_preset_of(l) == ao_llm_preset_find("openai"), "openai with a key is created (no request made)");
    CHECK(l && ao_llm_transcript(l, "note", json_pack("{s:i}", "x", 1), &err) == AO_OK, "ao_llm_transcript without a transcript: AO_OK");
    ao_llm_destroy(l);
    ao_llm_destroy(NULL);
    ao_llm_reply_clear(NULL);
}

static void test_key_from_env(void)
{
    const char *which = "x", *k;
    static const char *const vars[] = {"AGENTOMICS_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"};
    char *saved[3];
    int i;

    for (i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    k = ao_llm_key_from_env(&which);
    CHECK(k == NULL && which == NULL, "no key in the environment: NULL");
    setenv("OPENROUTER_API_KEY", "or-key", 1);
    k = ao_llm_key_from_env(&which);
    CHECK(k && !strcmp(k, "or-key") && !strcmp(which, "OPENROUTER_API_KEY"), "OPENROUTER_API_KEY alone");
    setenv("OPENAI_API_KEY", "oa-key", 1);
    k = ao_llm_key_from_env(&which);
    CHECK(k && !strcmp(k, "oa-key") && !strcmp(which, "OPENAI_API_KEY"), "OPENAI_API_KEY before OPENROUTER_API_KEY");
    setenv("AGENTOMICS_API_KEY", "", 1);
    k = ao_llm_key_from_env(&which);
    CHECK(k && !strcmp(k, "oa-key"), "an empty AGENTOMICS_API_KEY is skipped");
    setenv("AGENTOMICS_API_KEY", "ao-key", 1);
    k = ao_llm_key_from_env(NULL);
    CHECK(k && !strcmp(k, "ao-key"), "AGENTOMICS_API_KEY first");
    for (i = 0; i < 3; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
}

int main(void)
{
    env e;
    char tmpl[] = "/tmp/test_llm.XXXXXX";
    memset(&e, 0, sizeof e);
    /* Retry warnings would only clutter the TAP output. */
    ao_log_setup("test_llm", AO_LOG_ERROR);
    /* The fake server is local: no proxy may see these requests. */
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    unsetenv("all_proxy");
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(tmpl)) {
        CHECK(0, "mkdtemp");
        return UNIT_DONE();
    }
    snprintf(e.dir, sizeof e.dir, "%s", tmpl);
    e.python = on_path("python3");
    if (e.python && access(FAKE_SCRIPT, R_OK) != 0) {
        CHECK(0, "%s is readable (run the unit tests from the repository root)", FAKE_SCRIPT);
        e.python = 0;
    }

    test_create(&e);
    test_key_from_env();
    test_refused();
    test_tool_calls(&e);
    test_retry_after(&e);
    test_retry_hints(&e);
    test_5xx(&e);
    test_rate_limit(&e);
    test_context_overflow(&e);
    test_timeout(&e);
    test_bad_replies(&e);
    test_finish(&e);
    test_budgets(&e);
    test_openrouter(&e);
    test_presets(&e);
    test_context_probe(&e);
    test_key(&e);
    test_short_key(&e);

    ao_rm_rf(e.dir);
    return UNIT_DONE();
}
