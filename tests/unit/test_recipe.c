/* test_recipe.c — recipes and the learner table.
 *
 * Round trips (parse -> ao_recipe_to_json -> parse) for every learner,
 * checked against schemas/recipe.schema.json; every recipe the builtin
 * policy produces over a grid of dataset profiles and histories; the smoke
 * shrink; unknown learners in recipes and model files; and each learner
 * trained, saved, loaded and predicted through the table. Tests run from
 * the repository root, so the schemas are in "schemas".
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/fileio.h"
#include "agentomics/jsonschema.h"
#include "agentomics/learner.h"
#include "agentomics/model.h"
#include "agentomics/modelfile.h"
#include "agentomics/policy.h"
#include "agentomics/runstate.h"
#include "agentomics/recipe.h"
#include "unit.h"

#define SCHEMAS "schemas"

/* ---- helpers ---------------------------------------------------------------- */

static int parse_text(const char *text, ao_recipe *r, ao_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    int rc;
    ao_err_init(err);
    memset(r, 0, sizeof *r);
    if (!j) return ao_err_set(err, AO_EDATA, "test recipe is not JSON: %s", je.text);
    rc = ao_recipe_parse(j, "recipe.json", r, err);
    json_decref(j);
    return rc;
}

/* Everything a recipe sets, compared byte for byte (parse starts from a
 * zeroed recipe, so padding and unused union bytes are zero in both). */
static int same_recipe(const ao_recipe *a, const ao_recipe *b)
{
    return a->model == b->model && memcmp(&a->params, &b->params, sizeof a->params) == 0 && a->repr == b->repr &&
           memcmp(&a->feat, &b->feat, sizeof a->feat) == 0 && memcmp(&a->onehot, &b->onehot, sizeof a->onehot) == 0 &&
           a->seed == b->seed && a->early_stopping == b->early_stopping;
}

/* NULL if j parses, its canonical form validates against the schema,
 * parses back to the same recipe and is a fixed point; else what failed
 * (in buf). */
static const char *roundtrip(const json_t *j, char *buf, size_t size)
{
    ao_recipe r1, r2;
    ao_err err;
    json_t *c1 = NULL, *c2 = NULL;
    char msg[512];
    const char *fail = NULL;
    int v;
    memset(&r2, 0, sizeof r2);
    ao_err_init(&err);
    if (ao_recipe_parse(j, "recipe.json", &r1, &err) < 0) { snprintf(buf, size, "parse: %.400s", err.msg); fail = buf; goto DONE; }
    if ((v = ao_jsonschema_validate_file(SCHEMAS, "recipe.schema.json", j, msg, sizeof msg, &err)) != 1) {
        snprintf(buf, size, "the given recipe fails the schema: %.400s", v < 0 ? err.msg : msg);
        fail = buf;
        goto DONE;
    }
    if (!(c1 = ao_recipe_to_json(&r1))) { fail = "ao_recipe_to_json returned NULL"; goto DONE; }
    if ((v = ao_jsonschema_validate_file(SCHEMAS, "recipe.schema.json", c1, msg, sizeof msg, &err)) != 1) {
        snprintf(buf, size, "the canonical recipe fails the schema: %.400s", v < 0 ? err.msg : msg);
        fail = buf;
        goto DONE;
    }
    if (ao_recipe_parse(c1, "recipe.json", &r2, &err) < 0) { snprintf(buf, size, "parse of the canonical recipe: %.400s", err.msg); fail = buf; goto DONE; }
    if (!same_recipe(&r1, &r2)) { fail = "the canonical recipe parses to another recipe"; goto DONE; }
    c2 = ao_recipe_to_json(&r2);
    if (!json_equal(c1, c2)) fail = "the canonical recipe is not a fixed point";
DONE:
    ao_recipe_free(&r1);
    ao_recipe_free(&r2);
    json_decref(c1);
    json_decref(c2);
    return fail;
}

/* ---- the table -------------------------------------------------------------- */

static void test_table(void)
{
    const ao_learner *l;
    char names[128], want[64];
    int k, ok = 1;
    for (k = 0; (l = ao_learner_get((enum ao_learner_kind)k)); k++)
        if ((int)l->kind != k || ao_learner_find(l->name) != l || strcmp(ao_model_type_name(k), l->name) != 0 || !l->defaults ||
            !l->parse || !l->to_json || !l->shrink || !l->memory || !l->fit || !l->predict_proba || !l->save || !l->load || !l->destroy)
            ok = 0;
    CHECK(ok && k >= 3, "%d rows, each at its kind, found by its name, with every function", k);
    CHECK(!ao_learner_find("no-such-learner") && !ao_learner_find(NULL) && !ao_learner_get((enum ao_learner_kind)k) &&
          !strcmp(ao_model_type_name(-1), "unknown"), "no row for an unknown name or kind");
    /* written so that a new row at the end keeps it true */
    ao_learner_names(names, sizeof names, " or ");
    snprintf(want, sizeof want, " or \"%s\"", ao_learner_get((enum ao_learner_kind)(k - 1))->name);
    CHECK(!strncmp(names, "\"logreg\", \"gbdt\"", 16) && strlen(names) > strlen(want) && !strcmp(names + strlen(names) - strlen(want), want),
          "the names for messages, the last after the last separator: %s", names);
    CHECK(ao_learner_get(AO_LEARNER_LOGREG)->scaled && !ao_learner_get(AO_LEARNER_GBDT)->scaled && !ao_learner_get(AO_LEARNER_CNN)->scaled,
          "only logistic regression scales its features");
    CHECK(ao_learner_get(AO_LEARNER_CNN)->input == AO_INPUT_ONEHOT && ao_learner_get(AO_LEARNER_LOGREG)->input == AO_INPUT_FEATURES &&
          ao_learner_get(AO_LEARNER_GBDT)->input == AO_INPUT_FEATURES, "the CNN reads the one-hot tensor, the others a feature matrix");
}

/* ---- round trips ------------------------------------------------------------ */

static void test_roundtrips(void)
{
    static const struct { const char *what, *json; } cases[] = {
        {"logreg, defaults", "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"logreg\"}}"},
        {"logreg, every key", "{\"format_version\": 1, \"name\": \"n\", \"notes\": \"x\", \"seed\": 12345, \"early_stopping\": \"none\","
                              " \"representation\": {\"type\": \"kmer\", \"k\": [2, 5], \"canonical\": true, \"frequencies\": true,"
                              " \"gapped\": [\"11011\", \"101\"], \"global\": true, \"pair\": false},"
                              " \"model\": {\"type\": \"logreg\", \"C\": 0.25, \"max_iter\": 37, \"tol\": 1e-6, \"class_weight\": \"balanced\"}}"},
        {"logreg, positional", "{\"representation\": {\"type\": \"onehot\", \"length\": 120, \"pad\": \"center\", \"ambiguity\": \"zero\"},"
                               " \"model\": {\"type\": \"logreg\", \"C\": 0.001}}"},
        {"gbdt, defaults", "{\"representation\": {\"type\": \"kmer\", \"k\": 3}, \"model\": {\"type\": \"gbdt\"}}"},
        {"gbdt, every key", "{\"seed\": 0, \"representation\": {\"type\": \"kmer\", \"k\": [1, 2, 3], \"global\": true},"
                            " \"model\": {\"type\": \"gbdt\", \"n_estimators\": 77, \"learning_rate\": 0.3, \"max_depth\": 6, \"max_leaves\": 0,"
                            " \"lambda\": 2.5, \"min_split_gain\": 0.01, \"min_child_weight\": 0.5, \"min_samples_leaf\": 3, \"max_bins\": 64,"
                            " \"subsample\": 0.7, \"colsample\": 0.35, \"early_stopping_rounds\": 9, \"class_weight\": \"balanced\"}}"},
        {"gbdt, positional", "{\"representation\": {\"type\": \"onehot\", \"pad\": \"left\"}, \"model\": {\"type\": \"gbdt\", \"max_depth\": 3}}"},
        {"cnn, defaults", "{\"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\"}}"},
        {"cnn, every key", "{\"seed\": 9, \"representation\": {\"type\": \"onehot\", \"length\": 512, \"pad\": \"centre\", \"ambiguity\": \"fractional\"},"
                           " \"model\": {\"type\": \"cnn\", \"blocks\": [{\"filters\": 128, \"width\": 9, \"pool\": \"max\", \"pool_size\": 3},"
                           " {\"filters\": 7, \"width\": 1, \"dilation\": 4}, {\"pool\": \"avg\"}], \"global_pool\": \"maxavg\", \"dropout\": 0.3,"
                           " \"hidden\": 0, \"hidden_dropout\": 0.95, \"epochs\": 5, \"batch_size\": 17, \"learning_rate\": 0.0003,"
                           " \"weight_decay\": 0.01, \"decoupled_weight_decay\": false, \"patience\": 0, \"lr_patience\": 2,"
                           " \"lr_factor\": 0.5, \"schedule\": \"onecycle\", \"rc_augment\": false, \"rc_average\": true, \"class_weight\": \"balanced\"}}"},
    };
    const ao_learner *l;
    size_t i;
    int k;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = json_loads(cases[i].json, 0, NULL);
        char buf[1024];
        const char *fail = j ? roundtrip(j, buf, sizeof buf) : "not JSON";
        CHECK(!fail, "round trip, %s%s%s", cases[i].what, fail ? ": " : "", fail ? fail : "");
        json_decref(j);
    }
    /* the canonical recipe is complete: every parameter explicit */
    {
        ao_recipe r;
        ao_err err;
        json_t *c = NULL;
        int rc = parse_text(cases[6].json, &r, &err);
        c = rc == AO_OK ? ao_recipe_to_json(&r) : NULL;
        CHECK(c && json_object_size(json_object_get(c, "model")) == 18 && json_array_size(json_object_get(json_object_get(c, "model"), "blocks")) == 2 &&
              !strcmp(json_string_value(json_object_get(json_object_get(c, "representation"), "length")), "auto") &&
              json_integer_value(json_object_get(c, "seed")) == 1 && !strcmp(json_string_value(json_object_get(c, "early_stopping")), "valid") &&
              !json_object_get(c, "name"), "the canonical CNN recipe spells out the defaults (blocks, length \"auto\", seed, early stopping)");
        json_decref(c);
        ao_recipe_free(&r);
        rc = parse_text(cases[1].json, &r, &err);
        c = rc == AO_OK ? ao_recipe_to_json(&r) : NULL;
        CHECK(c && !strcmp(json_string_value(json_object_get(c, "name")), "n") && !strcmp(json_string_value(json_object_get(c, "notes")), "x"),
              "name and notes are kept");
        json_decref(c);
        ao_recipe_free(&r);
    }
    /* each row on its own: parse(to_json(defaults)) == defaults, and a
     * recipe with its defaults round-trips and meets the schema */
    for (k = 0; (l = ao_learner_get((enum ao_learner_kind)k)); k++) {
        ao_learner_params p, q;
        ao_err err;
        json_t *j, *recipe;
        char buf[1024];
        const char *fail;
        memset(&p, 0, sizeof p);
        memset(&q, 0, sizeof q);
        ao_err_init(&err);
        l->defaults(&p);
        l->defaults(&q);
        j = l->to_json(&p);
        CHECK(j && !strcmp(json_string_value(json_object_get(j, "type")), l->name) && l->parse(j, "recipe.json", &q, &err) == AO_OK &&
              memcmp(&p, &q, sizeof p) == 0, "%s: parse(to_json(defaults)) gives the defaults back", l->name);
        recipe = json_pack("{s:{s:s},s:O}", "representation", "type", l->input == AO_INPUT_ONEHOT ? "onehot" : "kmer", "model", j);
        fail = recipe ? roundtrip(recipe, buf, sizeof buf) : "json_pack failed";
        CHECK(!fail, "%s: a recipe of its defaults round-trips and meets the schema%s%s", l->name, fail ? ": " : "", fail ? fail : "");
        json_decref(recipe);
        json_decref(j);
    }
}

/* ---- errors ----------------------------------------------------------------- */

static void expect_error(const char *what, const char *json, const char *const *needles)
{
    ao_recipe r;
    ao_err err;
    int rc = parse_text(json, &r, &err), i, found = 1;
    for (i = 0; needles[i]; i++) if (!strstr(err.msg, needles[i])) found = 0;
    CHECK(rc == AO_EDATA && found, "%s: %s", what, err.msg);
    ao_recipe_free(&r);
}

static void test_errors(void)
{
    /* the lists of learners are matched so that a new row at the end keeps them true */
    static const char *const unknown[] = {"recipe.json: $.model.type: expected one of \"logreg\", \"gbdt\", \"cnn\"", ", got \"xgboost\"", NULL};
    static const char *const missing[] = {"recipe.json: $.model.type: required: \"logreg\", \"gbdt\"", "\"cnn\"", " or \"", NULL};
    static const char *const not_str[] = {"$.model.type: expected one of \"logreg\", \"gbdt\", \"cnn\"", ", got an integer", NULL};
    static const char *const mismatch[] = {"$.representation.type: the cnn model reads \"onehot\" input", NULL};
    static const char *const range[] = {"recipe.json: $.model.learning_rate: expected a number in [1e-06, 10], got a string", NULL};
    static const char *const key[] = {"$.model.dropout_rate: unknown key", NULL};
    static const char *const block[] = {"$.model.blocks[1].widht: unknown key", NULL};
    static const char *const leaves[] = {"$.model.max_depth: max_depth and max_leaves cannot both be unlimited (0)", NULL};
    static const char *const other[] = {"$.model.n_estimators: unknown key", NULL};
    expect_error("an unknown learner names $.model.type and the known ones",
                 "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"xgboost\"}}", unknown);
    expect_error("a missing learner", "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"C\": 1}}", missing);
    expect_error("a learner that is not a string", "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": 3}}", not_str);
    expect_error("a one-hot learner on k-mers", "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"cnn\"}}", mismatch);
    expect_error("a parameter of the wrong type",
                 "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"gbdt\", \"learning_rate\": \"fast\"}}", range);
    expect_error("an unknown parameter", "{\"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"dropout_rate\": 0.2}}", key);
    expect_error("an unknown block key", "{\"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"blocks\": [{}, {\"widht\": 3}]}}", block);
    expect_error("a cross-parameter check", "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"gbdt\", \"max_leaves\": 0}}", leaves);
    expect_error("another learner's parameter", "{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"logreg\", \"n_estimators\": 5}}", other);
}

/* ---- the smoke shrink ------------------------------------------------------- */

/* The canonical "model" object of r. */
static json_t *model_json(const ao_recipe *r)
{
    json_t *c = ao_recipe_to_json(r), *m = json_incref(json_object_get(c, "model"));
    json_decref(c);
    return m;
}

/* The canonical model object of text before and after ao_recipe_shrink. */
static void shrunk(const char *text, json_t **before, json_t **after)
{
    ao_recipe r;
    ao_err err;
    *before = *after = NULL;
    if (parse_text(text, &r, &err) == AO_OK) {
        *before = model_json(&r);
        ao_recipe_shrink(&r);
        *after = model_json(&r);
    }
    ao_recipe_free(&r);
}

static void test_shrink(void)
{
    static const struct { const char *json, *key; long before, after; } cases[] = {
        {"{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"logreg\", \"max_iter\": 500}}", "max_iter", 500, 20},
        {"{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"logreg\", \"max_iter\": 7}}", "max_iter", 7, 7},
        {"{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"gbdt\", \"n_estimators\": 1000}}", "n_estimators", 1000, 10},
        {"{\"representation\": {\"type\": \"kmer\"}, \"model\": {\"type\": \"gbdt\", \"n_estimators\": 4}}", "n_estimators", 4, 4},
        {"{\"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"epochs\": 60}}", "epochs", 60, 1},
        {"{\"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"epochs\": 1}}", "epochs", 1, 1},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *b, *a;
        int ok;
        shrunk(cases[i].json, &b, &a);
        ok = b && a && json_integer_value(json_object_get(b, cases[i].key)) == cases[i].before &&
             json_integer_value(json_object_get(a, cases[i].key)) == cases[i].after;
        /* nothing else changes */
        if (ok) {
            json_object_del(b, cases[i].key);
            json_object_del(a, cases[i].key);
            ok = json_equal(a, b);
        }
        CHECK(ok, "smoke shrink: %s %ld -> %ld, nothing else changed", cases[i].key, cases[i].before, cases[i].after);
        json_decref(a);
        json_decref(b);
    }
}

/* ---- every recipe of the builtin policy -------------------------------------- */

/* The only call sites of the policy. run: {"seed", "metric"}; history:
 * history.json as history() writes it, or NULL; the policy runs for the
 * iteration after the history's last (plan has appended it). */
static json_t *policy_recipe(const json_t *run, const json_t *history, const json_t *profile, int fallback)
{
    ao_run_config rc;
    ao_history h;
    ao_err e;
    json_t *why = NULL, *r = NULL, *hj = history ? json_deep_copy(history) : json_pack("{s:i,s:n,s:n,s:[]}", "format_version", 2, "split", "best", "iterations");
    memset(&rc, 0, sizeof rc);
    ao_err_init(&e);
    rc.seed = (uint64_t)json_integer_value(json_object_get(run, "seed"));
    snprintf(rc.metric, sizeof rc.metric, "%s", json_string_value(json_object_get(run, "metric")));
    rc.budgets.iterations = 5;
    json_object_set(hj, "profile", (json_t *)profile);
    if (ao_history_parse(hj, "history.json", &h, &e) < 0) { printf("# history: %s\n", e.msg); json_decref(hj); return NULL; }
    json_decref(hj);
    if (!ao_history_new_iteration(&h) ||
        (fallback ? ao_policy_fallback_recipe(&rc, &h, &r, &e) : ao_policy_next_recipe(&rc, &h, &r, &why, &e)) < 0) r = NULL;
    json_decref(why);
    ao_history_clear(&h);
    return r;
}

/* One finished iteration as the policy reads history.json. */
typedef struct past_run { const json_t *recipe; const char *status, *diagnosis; double value; } past_run;

static json_t *history(const past_run *runs, int n)
{
    json_t *its = json_array();
    int i;
    char id[16];
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof id, "iter%d", i + 1);
        json_array_append_new(its, json_pack("{s:i,s:i,s:{s:{s:{s:O},s:f}},s:{s:s,s:s,s:{s:{s:f}}},s:{s:s},s:s}", "iteration", i + 1,
                                             "split_version", 1, "steps", "code", "output", "recipe", runs[i].recipe, "seconds", 1.0,
                                             "run", "run_id", id, "status", runs[i].status, "metrics", "valid", "mcc", runs[i].value,
                                             "feedback", "diagnosis", runs[i].diagnosis, "decision", "continue"));
    }
    return json_pack("{s:i,s:{s:i,s:s},s:n,s:o}", "format_version", 2, "split", "version", 1, "source", "agent", "best", "iterations", its);
}

enum { FAM_KMER_LOGREG, FAM_GBDT, FAM_CNN, FAM_POS_LOGREG, FAM_POS_GBDT, N_FAM };
static const char *const fam_names[] = {"k-mer logreg", "gbdt", "cnn", "positional logreg", "positional gbdt"};

static int family(const json_t *recipe)
{
    const char *m = json_string_value(json_object_get(json_object_get(recipe, "model"), "type"));
    const char *rt = json_string_value(json_object_get(json_object_get(recipe, "representation"), "type"));
    if (!m || !rt) return -1;
    if (!strcmp(m, "logreg")) return !strcmp(rt, "onehot") ? FAM_POS_LOGREG : FAM_KMER_LOGREG;
    if (!strcmp(m, "gbdt")) return !strcmp(rt, "onehot") ? FAM_POS_GBDT : FAM_GBDT;
    return !strcmp(m, "cnn") ? FAM_CNN : -1;
}

static const char *const diags[] = {"overfitting", "underfitting", "ok", "time_limit", "diverged"};
#define N_DIAG 5
/* Successive refinements of the best family with one diagnosis: long
 * enough for every multiplicative adjustment in policy.c to reach its
 * clamp (C, learning rates, rounds and epochs stay within the recipe's
 * ranges however often one family is refined). */
#define REFINE_DEPTH 12
#define MAX_FAMILIES 8

typedef struct grid_stats {
    int recipes, failures;
    char first_failure[1200];
    int refined[N_FAM][N_DIAG];     /* refinements of the best family, per diagnosis */
    int repaired[N_FAM][2];         /* repairs of a last run: time_limit, diverged */
    int models[3];                  /* recipes per learner */
    int fallbacks;
} grid_stats;

/* Checks one produced recipe; returns it (owned) for further use. */
static json_t *check_policy_recipe(grid_stats *g, json_t *r, const char *context)
{
    char buf[1024];
    const char *fail = r ? roundtrip(r, buf, sizeof buf) : "the policy returned NULL";
    const ao_learner *l = ao_learner_find(json_string_value(json_object_get(json_object_get(r, "model"), "type")));
    g->recipes++;
    if (l) g->models[l->kind]++;
    if (fail && !g->failures++) {
        char *text = r ? json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        snprintf(g->first_failure, sizeof g->first_failure, "%s: %s: %.700s", context, fail, text ? text : "");
        free(text);
    }
    return r;
}

/* Refinements of the best family (all families tried) and repairs of a
 * failed last run, for the families the policy proposed for profile. */
static void policy_paths(grid_stats *g, const json_t *run, const json_t *profile, json_t *const *fams, int n_fam, int depth)
{
    past_run runs[MAX_FAMILIES + 8];
    int best, d, i, s;
    for (best = 0; best < n_fam; best++) {
        int f = family(fams[best]);
        /* a repair of the last run (time limit, divergence), again and
         * again until the family is abandoned */
        for (s = 0; s < 2; s++) {
            const char *st = s ? "diverged" : "time_limit";
            json_t *chain[4] = {json_incref(fams[best]), NULL, NULL, NULL}, *h, *r;
            int n;
            for (n = 0; n < 4 && chain[n]; n++) {
                runs[n] = (past_run){chain[n], st, st, 0.5};
                h = history(runs, n + 1);
                r = check_policy_recipe(g, policy_recipe(run, h, profile, 0), s ? "repair of a diverged run" : "repair of a timed-out run");
                json_decref(h);
                if (n == 0 && r && family(r) == f && !json_equal(r, chain[0])) g->repaired[f][s]++;
                if (n + 1 < 4) chain[n + 1] = r;
                else json_decref(r);
            }
            for (n = 0; n < 4; n++) json_decref(chain[n]);
        }
        /* every family tried, this one best with diagnosis d: refined `depth` times in a row */
        for (d = 0; d < N_DIAG; d++) {
            json_t *cur = json_incref(fams[best]), *h, *r;
            int n, k;
            for (k = 0; k < depth; k++) {
                for (i = 0, n = 0; i < n_fam; i++)
                    runs[n++] = (past_run){fams[i], "ok", "ok", i == best ? 0.5 : 0.1};
                runs[n++] = (past_run){cur, "ok", diags[d], 0.6 + 0.01 * k};
                h = history(runs, n);
                r = check_policy_recipe(g, policy_recipe(run, h, profile, 0), "refinement of the best family");
                json_decref(h);
                if (k == 0 && r && family(r) == f && !json_equal(r, cur)) g->refined[f][d]++;
                json_decref(cur);
                if (!(cur = r)) break;
            }
            json_decref(cur);
        }
    }
}

static json_t *profile(double n_train, int K, double median, double max, double cv, int positional, double kmer_bacc, int n_seq, double imbalance)
{
    return json_pack("{s:f,s:i,s:f,s:i,s:[{s:f,s:f,s:f}],s:{s:f},s:{s:f,s:f}}", "n_train", n_train, "n_classes", K,
                     "imbalance_ratio", imbalance, "n_seq_cols", n_seq, "length", "median", median, "max", max, "cv", cv,
                     "kmer_signal", "kmer_centroid_balanced_accuracy", kmer_bacc, "positional_signal",
                     "mi_positional_excess_bits", positional ? 1.5 : 0.02, "positional_snr", positional ? 40.0 : 0.5);
}

static void test_policy(void)
{
    /* sequence shapes: median, max, cv, positional signal, k-mer centroid accuracy */
    static const struct { double median, max, cv; int positional; double kmer_bacc; } shapes[] = {
        {30, 30, 0, 1, 0.9},         /* short, aligned, position matters (splice sites) */
        {300, 300, 0, 1, 0.6},       /* promoter-like */
        {3500, 3500, 0.01, 1, 0.7},  /* long aligned: cropped CNN input, no positional logreg */
        {120, 600, 0.5, 0, 0.9},     /* variable lengths, composition-driven (ncRNA families) */
        {250, 260, 0.02, 0, 0.52},   /* aligned, no positional signal, weak composition */
        {6, 8, 0.1, 0, 0.6},         /* too short for a CNN */
    };
    static const double n_trains[] = {120, 3000, 150000};
    grid_stats *g = calloc(1, sizeof *g);
    json_t *run = json_pack("{s:i,s:s}", "seed", 7, "metric", "mcc");
    size_t sh, nt;
    int K, n_seq, f, d, n_profiles = 0, all;
    for (sh = 0; sh < sizeof shapes / sizeof *shapes; sh++)
        for (nt = 0; nt < sizeof n_trains / sizeof *n_trains; nt++)
            for (K = 2; K <= 5; K += 3)
                for (n_seq = 1; n_seq <= 2; n_seq++) {
                    json_t *p = profile(n_trains[nt], K, shapes[sh].median, shapes[sh].max, shapes[sh].cv, shapes[sh].positional,
                                        shapes[sh].kmer_bacc, n_seq, K == 2 ? 1.0 : 3.0);
                    json_t *fams[MAX_FAMILIES], *h;
                    past_run runs[MAX_FAMILIES];
                    int n = 0, i;
                    n_profiles++;
                    json_decref(check_policy_recipe(g, policy_recipe(run, NULL, p, 1), "fallback"));
                    g->fallbacks++;
                    /* families in the policy's order, each run ok, until it refines */
                    for (;;) {
                        json_t *r;
                        h = history(runs, n);
                        r = check_policy_recipe(g, policy_recipe(run, h, p, 0), "next family");
                        json_decref(h);
                        if (!r) break;
                        for (i = 0; i < n && family(fams[i]) != family(r); i++) continue;
                        if (i < n || n == MAX_FAMILIES) { json_decref(r); break; }   /* a family again: refining */
                        fams[n] = r;
                        runs[n] = (past_run){r, "ok", "ok", 0.1 * (n + 1)};
                        n++;
                    }
                    policy_paths(g, run, p, fams, n, REFINE_DEPTH);
                    for (i = 0; i < n; i++) json_decref(fams[i]);
                    json_decref(p);
                }
    CHECK(g->failures == 0, "%d recipes from the policy over %d profiles: every one parses, validates and round-trips (%d failed%s%s)",
          g->recipes, n_profiles, g->failures, g->failures ? "; first: " : "", g->failures ? g->first_failure : "");
    CHECK(g->models[AO_LEARNER_LOGREG] > 0 && g->models[AO_LEARNER_GBDT] > 0 && g->models[AO_LEARNER_CNN] > 0 && g->fallbacks == n_profiles,
          "every learner proposed (logreg %d, gbdt %d, cnn %d), a fallback per profile", g->models[0], g->models[1], g->models[2]);
    for (f = 0, all = 1; f < N_FAM; f++) {
        for (d = 0; d < N_DIAG; d++) if (!g->refined[f][d]) { all = 0; printf("#   no %s refinement of %s\n", diags[d], fam_names[f]); }
        for (d = 0; d < 2; d++) if (!g->repaired[f][d]) { all = 0; printf("#   no %s repair of %s\n", d ? "diverged" : "time_limit", fam_names[f]); }
    }
    CHECK(all, "every adjustment path reached: 5 diagnoses refined and 2 failures repaired for each of the %d families", N_FAM);
    json_decref(run);
    free(g);
}

/* ---- each learner through the table: train, save, load, predict ------------ */

/* Two classes that differ by a motif at a fixed position, in otherwise
 * random sequence; deterministic. */
static int write_set(const char *path, int n, unsigned seed)
{
    FILE *fp = fopen(path, "w");
    int i, j;
    if (!fp) return 0;
    fputs("id\tsequence\tlabel\n", fp);
    for (i = 0; i < n; i++) {
        char s[41];
        for (j = 0; j < 40; j++) { seed = seed * 1103515245u + 12345u; s[j] = "ACGT"[(seed >> 16) & 3]; }
        s[40] = '\0';
        if (i % 2) memcpy(s + 12, "TATAAA", 6);
        fprintf(fp, "r%d\t%s\t%s\n", i, s, i % 2 ? "pos" : "neg");
    }
    return fclose(fp) == 0;
}

static void test_train(const char *dir)
{
    static const struct { const char *what, *json; } cases[] = {
        {"logreg on k-mers", "{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [2, 3], \"global\": true}, \"model\": {\"type\": \"logreg\", \"max_iter\": 50}}"},
        {"logreg on positions", "{\"seed\": 3, \"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"logreg\", \"C\": 0.1}}"},
        {"gbdt", "{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [2, 3]}, \"model\": {\"type\": \"gbdt\", \"n_estimators\": 20, \"min_samples_leaf\": 5}}"},
        {"gbdt on positions", "{\"seed\": 3, \"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"gbdt\", \"n_estimators\": 20, \"min_samples_leaf\": 5}}"},
        {"cnn", "{\"seed\": 3, \"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"epochs\": 2, \"blocks\": [{\"filters\": 4, \"width\": 5}], \"global_pool\": \"max\", \"hidden\": 0}}"},
    };
    char *classes[] = {"neg", "pos"}, *cols[] = {"sequence"}, tpath[4096], vpath[4096], mdir[4096];
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_seqset *tr = NULL, *va = NULL;
    ao_err err;
    size_t i;
    snprintf(tpath, sizeof tpath, "%s/train.tsv", dir);
    snprintf(vpath, sizeof vpath, "%s/valid.tsv", dir);
    ao_err_init(&err);
    if (!info || !write_set(tpath, 120, 1) || !write_set(vpath, 40, 2) || !(tr = ao_seqset_read(tpath, info, 1, 1, &err)) ||
        !(va = ao_seqset_read(vpath, info, 1, 1, &err))) {
        CHECK(0, "training data: %s", err.msg);
        goto DONE;
    }
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        ao_recipe r;
        ao_model *m = NULL, *m2 = NULL;
        ao_train_report rep;
        ao_train_opts o = {1, 0, 0, NULL, NULL};
        double p1[80], p2[80];
        int ok;
        memset(&rep, 0, sizeof rep);
        snprintf(mdir, sizeof mdir, "%s/model%zu", dir, i);
        ok = parse_text(cases[i].json, &r, &err) == AO_OK && ao_model_train(&r, info, tr, va, &o, &m, &rep, &err) == AO_OK && m &&
             rep.status == AO_TRAIN_OK && ao_model_predict(m, va, 1, p1, &err) == AO_OK && ao_mkdir_p(mdir, &err) == AO_OK &&
             ao_model_save(m, mdir, &err) == AO_OK && (m2 = ao_model_load(mdir, &err)) && ao_model_predict(m2, va, 1, p2, &err) == AO_OK &&
             memcmp(p1, p2, sizeof p1) == 0;
        CHECK(ok, "%s: trained (%s), saved, loaded, identical predictions%s%s", cases[i].what, rep.message, err.code ? ": " : "", err.msg);
        ao_model_destroy(m);
        ao_model_destroy(m2);
        ao_recipe_free(&r);
        ao_err_init(&err);
    }
    /* a memory limit refuses a recipe with its learner's own estimate */
    {
        static const struct { const char *json, *why; } big[] = {
            {"{\"representation\": {\"type\": \"kmer\", \"k\": 8}, \"model\": {\"type\": \"logreg\"}}",
             "recipe.json: $.representation.k: the logistic-regression weights and solver state needs about 12 MB, over 80% of the 1 MB memory limit"},
            {"{\"representation\": {\"type\": \"kmer\", \"k\": 8}, \"model\": {\"type\": \"gbdt\"}}",
             "recipe.json: $.representation.k: the dense feature matrix for gradient-boosted trees needs about 50 MB"},
            {"{\"representation\": {\"type\": \"onehot\", \"length\": 100000}, \"model\": {\"type\": \"cnn\"}}",
             "recipe.json: $.model: the network's weights, optimizer state and activations needs about"},
            {"{\"representation\": {\"type\": \"onehot\", \"length\": 100000}, \"model\": {\"type\": \"gbdt\"}}",
             "recipe.json: $.representation.length: the dense one-hot matrix for gradient-boosted trees needs about"},
        };
        for (i = 0; i < sizeof big / sizeof *big; i++) {
            ao_recipe r;
            ao_model *m = NULL;
            ao_train_report rep;
            ao_train_opts o = {1, 0, 1, NULL, NULL};
            char first[AO_ERRMSG_MAX] = "";
            int rc = parse_text(big[i].json, &r, &err), rc2 = AO_OK;
            /* the check without training says the same */
            if (rc == AO_OK) {
                rc2 = ao_model_check_memory(&r, info, tr, va, 1, 1, &err);
                snprintf(first, sizeof first, "%s", err.msg);
                ao_err_init(&err);
                rc = ao_model_train(&r, info, tr, va, &o, &m, &rep, &err);
            }
            CHECK(rc == AO_EDATA && !m && strstr(err.msg, big[i].why), "memory limit: %s", err.msg);
            CHECK(rc2 == AO_EDATA && !strcmp(first, err.msg), "ao_model_check_memory refuses it alike: %s", first);
            ao_model_destroy(m);
            ao_recipe_free(&r);
        }
    }
    {
        ao_recipe r;
        int rc = parse_text("{\"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"gbdt\"}}", &r, &err);
        CHECK(rc == AO_OK && ao_model_check_memory(&r, info, tr, va, 1, 1, &err) == AO_OK && ao_model_check_memory(&r, info, tr, NULL, 1, 0, &err) == AO_OK,
              "the positional trees on these rows fit 1 MB; no limit, no refusal");
        ao_recipe_free(&r);
    }
DONE:
    ao_seqset_destroy(tr);
    ao_seqset_destroy(va);
    ao_dataset_info_destroy(info);
}

/* One fit of a recipe text for test_caps; 1 when it trained. */
static int fit_text(const char *json, const ao_dataset_info *info, const ao_seqset *tr, const ao_seqset *va, ao_train_report *rep,
                    double *proba)
{
    ao_recipe r;
    ao_model *m = NULL;
    ao_train_opts o = {1, 0, 0, NULL, NULL};
    ao_err err;
    int ok;
    ao_err_init(&err);
    ok = parse_text(json, &r, &err) == AO_OK && ao_model_train(&r, info, tr, va, &o, &m, rep, &err) == AO_OK && m &&
         ao_model_predict(m, va, 1, proba, &err) == AO_OK;
    if (!ok) fprintf(stderr, "# %s: %s\n", json, err.msg);
    ao_model_destroy(m);
    ao_recipe_free(&r);
    return ok;
}

/* Soft training caps (learner.h): past a recipe's cap a learner goes on
 * while it improves, to a bounded multiple, says so when it stops there,
 * and two fits give one model. */
static void test_caps(const char *dir)
{
    char *classes[] = {"neg", "pos"}, *cols[] = {"sequence"}, tpath[4096], vpath[4096];
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_seqset *tr = NULL, *va = NULL;
    ao_train_report rep, rep2;
    double p1[80], p2[80];
    ao_err err;
    snprintf(tpath, sizeof tpath, "%s/caps_train.tsv", dir);
    snprintf(vpath, sizeof vpath, "%s/caps_valid.tsv", dir);
    ao_err_init(&err);
    if (!info || !write_set(tpath, 120, 1) || !write_set(vpath, 40, 2) || !(tr = ao_seqset_read(tpath, info, 1, 1, &err)) ||
        !(va = ao_seqset_read(vpath, info, 1, 1, &err))) {
        CHECK(0, "training data: %s", err.msg);
        goto DONE;
    }
    /* logistic regression, nearly unregularised on separable data: far
     * from converged at 3 iterations, still falling at 4 x 3 */
    {
        const char *j = "{\"seed\": 3, \"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"logreg\", \"C\": 10000, \"max_iter\": 3, \"tol\": 0}}";
        int ok = fit_text(j, info, tr, va, &rep, p1);
        CHECK(ok && rep.status == AO_TRAIN_OK && rep.epochs == 3 * AO_LOGREG_EXTEND && strstr(rep.warning, "iteration cap") &&
              strstr(rep.warning, "did not converge in 12") && strcmp(rep.message, rep.warning) == 0,
              "logreg: max_iter 3 extended to %d iterations, then warns: %s", rep.epochs, rep.warning);
        ok = fit_text(j, info, tr, va, &rep2, p2);
        CHECK(ok && rep2.epochs == rep.epochs && memcmp(p1, p2, sizeof p1) == 0, "logreg: the extended fit is deterministic");
    }
    /* the default cap converges on this data: no warning */
    CHECK(fit_text("{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [2]}, \"model\": {\"type\": \"logreg\", \"C\": 0.1}}",
                   info, tr, va, &rep, p1) && !*rep.warning && strstr(rep.message, "converged after"),
          "logreg: a converged fit has no warning (%s)", rep.message);
    /* the objective stops falling measurably before it converges: past
     * the cap that is a stop with a warning, well before 4 x the cap */
    CHECK(fit_text("{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [3, 4]}, \"model\": {\"type\": \"logreg\", \"C\": 1, \"max_iter\": 20, \"tol\": 0}}",
                   info, tr, va, &rep, p1) && rep.epochs > 20 && rep.epochs < 80 && strstr(rep.warning, "fell by less than"),
          "logreg: past max_iter 20 it stops on a plateau after %d iterations: %s", rep.epochs, rep.warning);
    /* gradient boosting with a slow learning rate still improves at 5
     * rounds and at 10 */
    {
        const char *j = "{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [2, 3]}, \"model\": {\"type\": \"gbdt\", \"n_estimators\": 5, "
                        "\"learning_rate\": 0.05, \"min_samples_leaf\": 5, \"early_stopping_rounds\": 20}}";
        int ok = fit_text(j, info, tr, va, &rep, p1);
        CHECK(ok && rep.epochs == 5 * AO_GBDT_EXTEND && strstr(rep.warning, "round cap") && strstr(rep.message, "extended"),
              "gbdt: n_estimators 5 extended to %d rounds, then warns: %s", rep.epochs, rep.warning);
        ok = fit_text(j, info, tr, va, &rep2, p2);
        CHECK(ok && rep2.epochs == rep.epochs && memcmp(p1, p2, sizeof p1) == 0, "gbdt: the extended fit is deterministic");
    }
    /* a fast learning rate stops improving validation before 200 rounds:
     * at most AO_GBDT_WINDOW rounds past the cap, no warning */
    CHECK(fit_text("{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [2, 3]}, \"model\": {\"type\": \"gbdt\", \"n_estimators\": 200, "
                   "\"learning_rate\": 1, \"min_samples_leaf\": 1, \"early_stopping_rounds\": 0}}", info, tr, va, &rep, p1) &&
          rep.epochs >= 200 && rep.epochs <= 200 + AO_GBDT_WINDOW && !*rep.warning, "gbdt: no extension once validation stopped improving (%d rounds: %s)", rep.epochs, rep.message);
    /* a small CNN still improving at its last epoch gets more */
    {
        const char *j = "{\"seed\": 3, \"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"epochs\": 2, \"blocks\": "
                        "[{\"filters\": 8, \"width\": 7}], \"global_pool\": \"max\", \"hidden\": 0}}";
        int ok = fit_text(j, info, tr, va, &rep, p1);
        CHECK(ok && rep.epochs > 2 && rep.epochs <= 2 * AO_CNN_EXTEND && strstr(rep.message, "extended") &&
              (rep.epochs < 2 * AO_CNN_EXTEND ? rep.best < rep.epochs - 1 && !*rep.warning
                                             : rep.best < rep.epochs - 1 || strstr(rep.warning, "epoch cap")),
              "cnn: epochs 2 extended to %d (best %d): %s %s", rep.epochs, rep.best, rep.message, rep.warning);
        ok = fit_text(j, info, tr, va, &rep2, p2);
        CHECK(ok && rep2.epochs == rep.epochs && memcmp(p1, p2, sizeof p1) == 0, "cnn: the extended fit is deterministic");
    }
    /* without validation nothing extends */
    CHECK(fit_text("{\"seed\": 3, \"representation\": {\"type\": \"onehot\"}, \"model\": {\"type\": \"cnn\", \"epochs\": 2, \"blocks\": "
                   "[{\"filters\": 8, \"width\": 7}], \"global_pool\": \"max\", \"hidden\": 0}, \"early_stopping\": \"none\"}",
                   info, tr, va, &rep, p1) && rep.epochs == 2 && !*rep.warning, "cnn: no validation, no extension (%d epochs)", rep.epochs);
    CHECK(ao_fit_extended_cap(100000, 4) == 400000 && ao_fit_extended_cap(400000, 4) == 1000000 && ao_fit_extended_cap(3, 4) == 12 && ao_fit_extended_cap(5, 0) == 5 &&
          ao_fit_extended_cap(2000000, 2) == 2000000, "extended caps are bounded");
DONE:
    ao_seqset_destroy(tr);
    ao_seqset_destroy(va);
    ao_dataset_info_destroy(info);
}

/* path's model file again with META's "threshold" set to the JSON text
 * value (NULL: removed); every other section copied. 1 on success. */
static int rewrite_threshold(const char *path, const char *value)
{
    static const char tags[][5] = {"FEAT", "SCAL", "LRNR"};
    ao_err err;
    ao_modelfile *in = ao_modelfile_read(path, &err), *out = ao_modelfile_create();
    ao_cursor c;
    ao_buf meta = {0};
    char *text = NULL, *dumped = NULL, val[64];
    json_t *j = NULL, *v = NULL;
    size_t i;
    int ok = in && out && ao_modelfile_section(in, "META", &c) == AO_OK && ao_cur_str(&c, &text) == AO_OK && (j = json_loads(text, 0, NULL));
    if (ok && value) {
        snprintf(val, sizeof val, "[%s]", value);
        ok = (v = json_loads(val, 0, NULL)) && json_object_set(j, "threshold", json_array_get(v, 0)) == 0;
    } else if (ok) {
        json_object_del(j, "threshold");
    }
    ok = ok && (dumped = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS));
    if (ok) ao_buf_str(&meta, dumped);
    ok = ok && ao_modelfile_add(out, "META", &meta) == AO_OK;
    for (i = 0; ok && i < sizeof tags / sizeof *tags; i++) {
        ao_buf b = {0};
        if (ao_modelfile_section(in, tags[i], &c) < 0) continue;
        ao_buf_put(&b, c.p, c.len);
        ok = ao_modelfile_add(out, tags[i], &b) == AO_OK;
        ao_buf_free(&b);
    }
    ok = ok && ao_modelfile_write(out, path, &err) == AO_OK;
    ao_modelfile_destroy(in);
    ao_modelfile_destroy(out);
    ao_buf_free(&meta);
    json_decref(j);
    json_decref(v);
    free(text);
    free(dumped);
    return ok;
}

/* A binary model's decision threshold: saved in META, loaded back,
 * refused when hostile; a model without one predicts as before. */
static void test_threshold(const char *dir)
{
    char *classes[] = {"neg", "pos"}, *cols[] = {"sequence"}, tpath[4096], vpath[4096], mdir[4096], mfile[4200];
    static const char *const bad[] = {"1.5", "0", "1", "-0.2", "\"0.3\"", "null", "1e300"};
    ao_dataset_info *info = ao_dataset_info_create(2, classes, 1, cols);
    ao_seqset *tr = NULL, *va = NULL;
    ao_model *m = NULL, *m2 = NULL;
    ao_recipe r;
    ao_train_report rep;
    ao_train_opts o = {1, 0, 0, NULL, NULL};
    ao_err err;
    size_t i;
    memset(&r, 0, sizeof r);
    snprintf(tpath, sizeof tpath, "%s/th_train.tsv", dir);
    snprintf(vpath, sizeof vpath, "%s/th_valid.tsv", dir);
    snprintf(mdir, sizeof mdir, "%s/th_model", dir);
    snprintf(mfile, sizeof mfile, "%s/model.aom", mdir);
    ao_err_init(&err);
    if (!info || !write_set(tpath, 120, 1) || !write_set(vpath, 40, 2) || !(tr = ao_seqset_read(tpath, info, 1, 1, &err)) ||
        !(va = ao_seqset_read(vpath, info, 1, 1, &err)) ||
        parse_text("{\"seed\": 3, \"representation\": {\"type\": \"kmer\", \"k\": [2]}, \"model\": {\"type\": \"logreg\"}}", &r, &err) < 0 ||
        ao_model_train(&r, info, tr, va, &o, &m, &rep, &err) < 0 || !m || ao_mkdir_p(mdir, &err) < 0) {
        CHECK(0, "threshold model: %s", err.msg);
        goto DONE;
    }
    CHECK(isnan(ao_model_threshold(m)), "a trained model has no threshold until one is set");
    CHECK(ao_model_set_threshold(m, 1.0, &err) == AO_EUSAGE && ao_model_set_threshold(m, NAN, &err) == AO_OK &&
          ao_model_set_threshold(m, 0.3125, &err) == AO_OK, "set_threshold takes NaN or a value in (0, 1)");
    CHECK(ao_model_save(m, mdir, &err) == AO_OK && (m2 = ao_model_load(mdir, &err)) && ao_model_threshold(m2) == 0.3125,
          "the threshold is saved in META and loaded back");
    ao_model_destroy(m2);
    m2 = NULL;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        ao_err_init(&err);
        m2 = rewrite_threshold(mfile, bad[i]) ? ao_model_load(mdir, &err) : NULL;
        CHECK(!m2 && err.code == AO_EDATA && strstr(err.msg, "threshold must be a finite number in (0, 1)"),
              "a model file with threshold %s is refused: %s", bad[i], err.msg);
        ao_model_destroy(m2);
        m2 = NULL;
    }
    CHECK(rewrite_threshold(mfile, NULL) && (m2 = ao_model_load(mdir, &err)) && isnan(ao_model_threshold(m2)),
          "a model file without a threshold (an older model) loads with the argmax");
DONE:
    ao_model_destroy(m);
    ao_model_destroy(m2);
    ao_recipe_free(&r);
    ao_seqset_destroy(tr);
    ao_seqset_destroy(va);
    ao_dataset_info_destroy(info);
}

/* A model file whose META names a learner that does not exist. */
static void test_unknown_model(const char *dir)
{
    char path[4096], *text = NULL;
    ao_modelfile *mf = ao_modelfile_create();
    ao_buf meta = {0}, lrnr = {0};
    ao_model *m;
    ao_err err;
    json_t *j = json_pack("{s:i,s:s,s:s,s:[s,s],s:[s],s:{}}", "format_version", 1, "tool", "agentomics test", "model", "svm",
                          "classes", "neg", "pos", "sequence_columns", "sequence", "recipe");
    int ok;
    snprintf(path, sizeof path, "%s/svm.aom", dir);
    ao_err_init(&err);
    text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ao_buf_str(&meta, text ? text : "");
    ao_buf_u32(&lrnr, 1);
    ok = mf && text && ao_modelfile_add(mf, "META", &meta) == AO_OK && ao_modelfile_add(mf, "LRNR", &lrnr) == AO_OK &&
         ao_modelfile_write(mf, path, &err) == AO_OK;
    CHECK(ok, "a model file naming learner 'svm' written");
    m = ao_model_load(path, &err);
    CHECK(!m && err.code == AO_EDATA && strstr(err.msg, "invalid model description") && strstr(err.msg, "unknown learner 'svm'"),
          "a model file naming an unknown learner is refused: %s", err.msg);
    ao_model_destroy(m);
    ao_modelfile_destroy(mf);
    ao_buf_free(&meta);
    ao_buf_free(&lrnr);
    json_decref(j);
    free(text);
}

/* The schema and the parser agree on every bound the parser enforces
 * (issue 13: the schema had no maximum for epochs while the code capped it). */
static void test_bounds(void)
{
    static const struct { const char *model; const char *key; double max; } b[] = {
        {"cnn", "epochs", 100000}, {"cnn", "patience", 100000}, {"cnn", "lr_patience", 100000},
        {"cnn", "learning_rate", 1e9}, {"cnn", "batch_size", 65536}, {"cnn", "hidden", 65536},
        {"gbdt", "n_estimators", 100000}, {"gbdt", "early_stopping_rounds", 100000}, {"gbdt", "max_bins", 255},
        {"logreg", "max_iter", 100000}};
    size_t i;
    int k;
    for (i = 0; i < sizeof b / sizeof *b; i++)
        for (k = 0; k < 2; k++) {
            double v = k ? b[i].max + 1 : b[i].max;
            json_t *j = json_pack("{s:{s:s},s:{s:s,s:f}}", "representation", "type", strcmp(b[i].model, "cnn") ? "kmer" : "onehot",
                                  "model", "type", b[i].model, b[i].key, v);
            ao_recipe r;
            ao_err err;
            char msg[512];
            int parsed, valid;
            if (b[i].max == (double)(long)b[i].max) json_object_set_new(json_object_get(j, "model"), b[i].key, json_integer((json_int_t)v));
            ao_err_init(&err);
            parsed = ao_recipe_parse(j, "recipe.json", &r, &err) == AO_OK;
            ao_recipe_free(&r);
            valid = ao_jsonschema_validate_file(SCHEMAS, "recipe.schema.json", j, msg, sizeof msg, &err) == 1;
            CHECK(parsed == !k && valid == !k, "%s.%s = %g: parser %s, schema %s (both should %s)", b[i].model, b[i].key, v,
                  parsed ? "accepts" : "refuses", valid ? "accepts" : "refuses", k ? "refuse" : "accept");
            json_decref(j);
        }
}

int main(void)
{
    char dir[] = "/tmp/test_recipe.XXXXXX";
    test_table();
    test_bounds();
    test_roundtrips();
    test_errors();
    test_shrink();
    test_policy();
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return UNIT_DONE(); }
    test_train(dir);
    test_caps(dir);
    test_threshold(dir);
    test_unknown_model(dir);
    ao_rm_rf(dir);
    return UNIT_DONE();
}
