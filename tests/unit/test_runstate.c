/* Unit tests of the typed run state (runstate.h): a valid state round
 * trips; every corrupted state is a data error naming the file and the
 * JSON path; a state continued on another dataset is refused; the
 * iteration kinds and the best pointer. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/fileio.h"
#include "agentomics/rng.h"
#include "agentomics/runstate.h"
#include "unit.h"

static char dir[] = "/tmp/agentomics-unit-runstate.XXXXXX";

static json_t *valid_run(void)
{
    return json_pack("{s:i,s:s,s:I,s:i,s:I,s:s,s:i,s:{s:s,s:s},s:{s:i,s:f,s:f,s:i,s:n},s:f}", "format_version", 2, "agent", "builtin",
                     "seed", (json_int_t)7, "lineage", 2, "lineage_seed", (json_int_t)ao_seed_derive(7, AO_SEED_LINEAGE, 2), "metric", "mcc",
                     "n_classes", 2, "data", "dir", "data/agent", "content_hash", "c0ffee",
                     "budgets", "iterations", 5, "wall_seconds", 0.0, "train_time_limit", 600.0, "plateau", 3, "target", "valid_fraction", 0.0);
}

static json_t *valid_history(void)
{
    return json_loads("{\"format_version\": 2, \"split\": {\"version\": 1, \"source\": \"agent\"},"
                      " \"best\": {\"iteration\": 1, \"run_id\": \"iter1\", \"metric\": \"mcc\", \"value\": 0.5, \"split_version\": 1},"
                      " \"iterations\": ["
                      "  {\"iteration\": 1, \"split_version\": 1, \"steps\": {\"plan\": {\"output\": {\"goal\": \"g\"}, \"seconds\": 0.5},"
                      "    \"code\": {\"output\": {\"entry\": \"builtin\", \"recipe\": {}}, \"seconds\": 1.5}},"
                      "   \"run\": {\"run_id\": \"iter1\", \"status\": \"ok\", \"metrics\": {\"valid\": {\"mcc\": 0.5}}, \"wall_seconds\": 10},"
                      "   \"feedback\": {\"diagnosis\": \"ok\"}, \"decision\": \"continue\", \"improved\": true},"
                      "  {\"iteration\": 2, \"split_version\": 1, \"steps\": {\"code\": {\"output\": {\"entry\": \"script\", \"train_entry\": \"t\","
                      "    \"inference_entry\": \"p\"}, \"seconds\": 2}}}]}", 0, NULL);
}

static void write_state(const json_t *run, const json_t *hist)
{
    char *r = ao_path_join(dir, "run.json"), *h = ao_path_join(dir, "history.json");
    unlink(r);
    unlink(h);
    if (run) json_dump_file(run, r, JSON_INDENT(2));
    if (hist) json_dump_file(hist, h, JSON_INDENT(2));
    free(r);
    free(h);
}

/* Reads the state written above: the return code, message in e. */
static int read_state(ao_err *e)
{
    ao_run_config rc;
    ao_history h;
    int ret;
    ao_err_init(e);
    ret = ao_runstate_read(dir, &rc, &h, e);
    if (ret == AO_OK) { ao_run_config_clear(&rc); ao_history_clear(&h); }
    return ret;
}

/* A corrupted copy of the valid state, made by `edit` on run.json (which
 * = 'r') or history.json ('h'), must be refused with AO_EDATA naming the
 * file and `path`. */
static void corrupted(char which, const char *edit, const char *path, const char *what)
{
    json_t *run = valid_run(), *hist = valid_history(), *target = which == 'r' ? run : hist, *patch;
    json_error_t je;
    ao_err e;
    int rc;
    /* edit: a JSON object merged into the document at top level, or
     * "ITER:{...}" merged into that iteration, or "budgets:{...}" */
    if (!strncmp(edit, "it2:", 4)) target = json_array_get(json_object_get(hist, "iterations"), 1);
    else if (!strncmp(edit, "it1:", 4)) target = json_array_get(json_object_get(hist, "iterations"), 0);
    else if (!strncmp(edit, "budgets:", 8)) target = json_object_get(run, "budgets");
    else if (!strncmp(edit, "best:", 5)) target = json_object_get(hist, "best");
    patch = json_loads(strchr(edit, ':') && edit[0] != '{' ? strchr(edit, ':') + 1 : edit, 0, &je);
    if (!patch) { CHECK(0, "%s: bad test patch %s", what, je.text); goto DONE; }
    json_object_update(target, patch);
    json_decref(patch);
    write_state(run, hist);
    rc = read_state(&e);
    CHECK(rc == AO_EDATA && strstr(e.msg, which == 'r' ? "run.json" : "history.json") && strstr(e.msg, path), "%s: refused (%s)", what, e.msg);
DONE:
    json_decref(run);
    json_decref(hist);
}

static void test_valid_and_round_trip(void)
{
    json_t *run = valid_run(), *hist = valid_history(), *r2, *h2;
    ao_run_config rc;
    ao_history h;
    ao_err e;
    char *a, *b;
    write_state(run, hist);
    ao_err_init(&e);
    CHECK(ao_runstate_read(dir, &rc, &h, &e) == AO_OK, "a valid state is read (%s)", e.msg);
    CHECK(rc.lineage == 2 && rc.base_seed == 7 && rc.seed == ao_seed_derive(7, AO_SEED_LINEAGE, 2) && !strcmp(rc.metric, "mcc") &&
          rc.budgets.iterations == 5 && isnan(rc.budgets.target) && rc.budgets.plateau == 3, "run.json fields typed");
    CHECK(h.n_iters == 2 && h.split_version == 1 && h.best.iteration == 1 && h.best.value == 0.5 && h.iters[0].has_run &&
          !strcmp(h.iters[0].run.status, "ok") && h.iters[0].decision == AO_DECISION_CONTINUE && h.iters[0].improved == 1 &&
          !h.iters[1].has_run && h.iters[1].improved == -1, "history.json fields typed");
    CHECK(ao_iteration_kind(ao_history_current(&h)) == AO_ITERATION_SCRIPT && ao_iteration_kind(&h.iters[0]) == AO_ITERATION_BUILTIN &&
          ao_iteration_kind(NULL) == AO_ITERATION_BUILTIN, "iteration kinds: script, builtin, none");
    CHECK(fabs(ao_history_elapsed(&h) - 14.0) < 1e-9, "elapsed: every step's seconds and every run's wall time");
    CHECK(ao_iteration_valid_value(&h.iters[0], "mcc") == 0.5 && isnan(ao_iteration_valid_value(&h.iters[0], "auroc")) &&
          isnan(ao_iteration_valid_value(&h.iters[1], "mcc")), "validation values");
    r2 = ao_run_config_to_json(&rc);
    h2 = ao_history_to_json(&h);
    a = json_dumps(r2, JSON_SORT_KEYS);
    b = json_dumps(run, JSON_SORT_KEYS);
    CHECK(a && b && !strcmp(a, b), "run.json round trips");
    free(a);
    free(b);
    {
        ao_run_config rc2;
        ao_history h3;
        json_t *h4;
        CHECK(ao_run_config_parse(r2, "x", &rc2, &e) == AO_OK && ao_history_parse(h2, "y", &h3, &e) == AO_OK, "the serialised state parses again");
        h4 = ao_history_to_json(&h3);
        a = json_dumps(h2, JSON_SORT_KEYS);
        b = json_dumps(h4, JSON_SORT_KEYS);
        CHECK(a && b && !strcmp(a, b), "history.json round trips");
        free(a);
        free(b);
        json_decref(h4);
        ao_run_config_clear(&rc2);
        ao_history_clear(&h3);
    }
    /* iteration failure turns the kind */
    CHECK(ao_iteration_set_failure(ao_history_current(&h), "code", "budget", "the cost limit") == AO_OK &&
          ao_iteration_kind(ao_history_current(&h)) == AO_ITERATION_FAILED, "an iteration with a failure is FAILED");
    /* a metric changed mid-run: the best pointer follows */
    json_decref(h.iters[0].run.valid);
    h.iters[0].run.valid = json_pack("{s:f,s:f}", "mcc", 0.5, "auroc", 0.8);
    CHECK(ao_history_rebest(&h, "auroc") == AO_OK && h.best.iteration == 1 && h.best.value == 0.8 && !strcmp(h.best.metric, "auroc"),
          "rebest under another metric");
    CHECK(ao_history_rebest(&h, "accuracy") == AO_OK && h.best.iteration == 0, "rebest: no value under a metric no run reported");
    json_decref(r2);
    json_decref(h2);
    ao_run_config_clear(&rc);
    ao_history_clear(&h);
    json_decref(run);
    json_decref(hist);
}

/* An llm run's settings (provider, protocol, token limits) survive the
 * round trip that a resumed run depends on; bad ones are refused. */
static json_t *llm_run(const char *settings)
{
    json_t *run = valid_run();
    json_object_set_new(run, "agent", json_string("llm"));
    json_object_set_new(run, "baseline", json_string("none"));
    json_object_set_new(run, "llm", json_loads(settings, 0, NULL));
    return run;
}

#define LLM_SETTINGS "{\"provider\": \"llamacpp\", \"model\": \"q\", \"max_calls\": 60, \"max_cost\": 0.0, \"max_turns\": 8," \
    " \"submit_retries\": 3, \"request_timeout\": 900.0, \"bash_timeout\": 60.0, \"mem_limit_mb\": 2048.0, \"protocol\": \"json\"," \
    " \"max_tokens\": 2048, \"context_tokens\": 16384}"

static void test_llm_settings(void)
{
    json_t *run = llm_run(LLM_SETTINGS), *hist = valid_history(), *r2 = NULL;
    ao_run_config rc;
    ao_history h;
    ao_err e;
    char *a = NULL, *b = NULL;
    write_state(run, hist);
    ao_err_init(&e);
    if (ao_runstate_read(dir, &rc, &h, &e) != AO_OK) {
        CHECK(0, "an llm run's state is read (%s)", e.msg);
        goto DONE;
    }
    CHECK(rc.llm.protocol && !strcmp(rc.llm.protocol, "json") && rc.llm.max_tokens == 2048 && rc.llm.context_tokens == 16384,
          "llm protocol and token limits typed");
    r2 = ao_run_config_to_json(&rc);
    a = json_dumps(r2, JSON_SORT_KEYS);
    b = json_dumps(run, JSON_SORT_KEYS);
    CHECK(a && b && !strcmp(a, b), "an llm run.json round trips");
    ao_run_config_clear(&rc);
    ao_history_clear(&h);
DONE:
    free(a);
    free(b);
    json_decref(r2);
    json_decref(run);
    json_decref(hist);
    {
        static const struct { const char *key, *value, *what; } bad[] = {
            {"protocol", "\"xml\"", "an unknown protocol"},
            {"max_tokens", "-1", "negative max_tokens"},
            {"context_tokens", "\"big\"", "context_tokens as a string"},
        };
        size_t i;
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            json_t *r = llm_run(LLM_SETTINGS), *hh = valid_history();
            int ret;
            json_object_set_new(json_object_get(r, "llm"), bad[i].key, json_loads(bad[i].value, JSON_DECODE_ANY, NULL));
            write_state(r, hh);
            ret = read_state(&e);
            CHECK(ret == AO_EDATA && strstr(e.msg, bad[i].key), "%s: refused (%s)", bad[i].what, e.msg);
            json_decref(r);
            json_decref(hh);
        }
    }
}

static void test_corrupted(void)
{
    ao_err e;
    json_t *run = valid_run(), *hist = valid_history();
    corrupted('r', "{\"format_version\": 1}", "$.format_version", "an older format version");
    corrupted('r', "{\"format_version\": 3}", "$.format_version", "an unknown format version");
    corrupted('r', "{\"metric\": \"bogus\"}", "$.metric", "an unknown metric");
    corrupted('r', "{\"metric\": \"auto\"}", "$.metric", "an unresolved metric");
    corrupted('r', "budgets:{\"iterations\": -3}", "$.budgets.iterations", "a negative iteration budget");
    corrupted('r', "budgets:{\"iterations\": \"5\"}", "$.budgets.iterations", "an iteration budget as a string");
    corrupted('r', "budgets:{\"plateau\": 1.5}", "$.budgets.plateau", "a fractional plateau");
    corrupted('r', "budgets:{\"wall_seconds\": -1}", "$.budgets.wall_seconds", "a negative time budget");
    corrupted('r', "{\"seed\": -1}", "$.seed", "a negative seed");
    corrupted('r', "{\"lineage_seed\": 12345}", "$.lineage_seed", "a lineage seed that is not the lineage's");
    corrupted('r', "{\"n_classes\": 1}", "$.n_classes", "one class");
    corrupted('r', "{\"surprise\": true}", "surprise", "an unknown key");
    corrupted('r', "{\"agent\": \"llm\"}", "llm", "an llm run without its settings");
    corrupted('r', "{\"valid_fraction\": 0.95}", "$.valid_fraction", "a validation fraction out of range");
    corrupted('h', "{\"format_version\": \"2\"}", "$.format_version", "a history format version as a string");
    corrupted('h', "it1:{\"split_version\": \"1\"}", "$.iterations[0].split_version", "a split version as a string");
    corrupted('h', "it2:{\"iteration\": 5}", "$.iterations[1].iteration", "iterations not numbered in order");
    corrupted('h', "it2:{\"split_version\": 4}", "$.iterations[1].split_version", "an iteration on a split newer than the one in force");
    corrupted('h', "it1:{\"run\": {\"run_id\": \"iter1\", \"status\": \"great\", \"metrics\": {}}}", "$.iterations[0].run.status", "an unknown run status");
    corrupted('h', "it1:{\"steps\": []}", "$.iterations[0].steps", "steps that are not an object");
    corrupted('h', "best:{\"iteration\": 2}", "$.best.iteration", "a best pointer at an iteration without a run");
    corrupted('h', "best:{\"run_id\": \"iter9\"}", "$.best.run_id", "a best pointer at another run");
    corrupted('h', "best:{\"metric\": \"auroc\"}", "$.best.metric", "a best pointer in another metric than the run's");
    corrupted('h', "{\"iterations\": {}}", "$.iterations", "iterations that are not an array");
    corrupted('h', "{\"stop\": {\"reason\": \"x\", \"iteration\": 1}}", "$.stop.iteration", "a stop record at an earlier iteration");
    /* missing and malformed files */
    write_state(run, NULL);
    CHECK(read_state(&e) == AO_EIO && strstr(e.msg, "history.json"), "no history.json: an I/O error naming it (%s)", e.msg);
    write_state(NULL, hist);
    CHECK(read_state(&e) == AO_EIO && strstr(e.msg, "run.json"), "no run.json: an I/O error naming it");
    write_state(run, hist);
    {
        char *p = ao_path_join(dir, "history.json");
        FILE *fp = fopen(p, "w");
        fputs("{\"format_version\": 2, \"split\": null,", fp);
        fclose(fp);
        CHECK(read_state(&e) == AO_EDATA && strstr(e.msg, "history.json:1"), "truncated JSON: file and line (%s)", e.msg);
        fp = fopen(p, "w");
        fputs("{\"format_version\": 2, \"format_version\": 2, \"split\": null, \"best\": null, \"iterations\": []}", fp);
        fclose(fp);
        CHECK(read_state(&e) == AO_EDATA, "a duplicated key is refused");
        free(p);
    }
    json_decref(run);
    json_decref(hist);
}

static void test_check_data(void)
{
    json_t *run = valid_run(), *ds;
    ao_run_config rc;
    ao_err e;
    char *data = ao_path_join(dir, "data"), *p;
    ao_err_init(&e);
    if (ao_mkdir_p(data, &e) < 0) CHECK(0, "mkdir %s", data);
    p = ao_path_join(data, "dataset.json");
    CHECK(ao_run_config_parse(run, "run.json", &rc, &e) == AO_OK, "parse");
    ds = json_pack("{s:s,s:[s,s]}", "content_hash", "c0ffee", "classes", "a", "b");
    json_dump_file(ds, p, 0);
    CHECK(ao_run_config_check_data(&rc, data, &e) == AO_OK, "the run's own dataset is accepted");
    json_object_set_new(ds, "content_hash", json_string("deadbeef"));
    json_dump_file(ds, p, 0);
    ao_err_init(&e);
    CHECK(ao_run_config_check_data(&rc, data, &e) == AO_EDATA && strstr(e.msg, "dataset.json") && strstr(e.msg, "$.data.content_hash"),
          "another dataset is refused (%s)", e.msg);
    json_object_set_new(ds, "content_hash", json_string("c0ffee"));
    json_object_set_new(ds, "classes", json_pack("[s,s,s]", "a", "b", "c"));
    json_dump_file(ds, p, 0);
    ao_err_init(&e);
    CHECK(ao_run_config_check_data(&rc, data, &e) == AO_EDATA && strstr(e.msg, "$.n_classes"), "another class count is refused");
    unlink(p);
    ao_err_init(&e);
    CHECK(ao_run_config_check_data(&rc, data, &e) == AO_EIO, "no dataset.json: an I/O error");
    ao_run_config_clear(&rc);
    json_decref(ds);
    json_decref(run);
    rmdir(data);
    free(data);
    free(p);
}

static void test_metric_names(void)
{
    CHECK(ao_metric_known("mcc", 0) && !ao_metric_known("auto", 0) && ao_metric_known("auto", 1) && !ao_metric_known("aucroc", 1),
          "metric names");
    CHECK(!strcmp(ao_metric_resolve("auto", 2), "auroc") && !strcmp(ao_metric_resolve("auto", 3), "f1_macro") &&
          !strcmp(ao_metric_resolve(NULL, 2), "auroc") && !strcmp(ao_metric_resolve("auprc", 9), "auprc"), "auto resolves by class count");
}

int main(void)
{
    if (!mkdtemp(dir)) return 2;
    test_valid_and_round_trip();
    test_llm_settings();
    test_corrupted();
    test_check_data();
    test_metric_names();
    write_state(NULL, NULL);
    rmdir(dir);
    return UNIT_DONE();
}
