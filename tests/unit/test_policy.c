/* The builtin policy's decisions on hand-made profiles and histories. */
#include <string.h>
#include <jansson.h>
#include "agentomics/policy.h"
#include "agentomics/rng.h"
#include "agentomics/runstate.h"
#include "unit.h"

static json_t *profile(int n, int K, double median, double max, double cv, double pos_bits, double pos_snr, double kmer_bacc)
{
    return json_pack("{s:i,s:i,s:[{s:f,s:f,s:f}],s:{s:f},s:{s:f,s:f}}", "n_train", n, "n_classes", K,
                     "length", "median", median, "max", max, "cv", cv, "kmer_signal", "kmer_centroid_balanced_accuracy", kmer_bacc,
                     "positional_signal", "mi_positional_excess_bits", pos_bits, "positional_snr", pos_snr);
}

/* history.json for iterations that used these recipes with these
 * statuses and validation values (scored on `rows` rows when > 0), on
 * profile p. */
static json_t *history_doc(const json_t *p, int n, json_t **recipes, const char **status, const double *value, const double *secs, double rows)
{
    json_t *its = json_array();
    int i;
    char id[16];
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof id, "iter%d", i + 1);
        json_array_append_new(its, json_pack("{s:i,s:i,s:{s:{s:{s:O},s:f}},s:{s:s,s:s,s:{s:{s:f}}},s:{s:s},s:s}", "iteration", i + 1, "split_version", 1,
                                             "steps", "code", "output", "recipe", recipes[i], "seconds", 0.1,
                                             "run", "run_id", id, "status", status[i], "metrics", "valid", "auroc", value[i],
                                             "feedback", "diagnosis", !strcmp(status[i], "ok") ? "ok" : status[i], "decision", "continue"));
        if (secs) json_object_set_new(json_object_get(json_array_get(its, (size_t)i), "run"), "wall_seconds", json_real(secs[i]));
        if (rows > 0)
            json_object_set_new(json_object_get(json_object_get(json_object_get(json_array_get(its, (size_t)i), "run"), "metrics"), "valid"),
                                "n", json_real(rows));
    }
    return json_pack("{s:i,s:{s:i,s:s},s:n,s:o,s:O}", "format_version", 2, "split", "version", 1, "source", "agent", "best", "iterations", its, "profile", p);
}

/* h from history document j (taken), read through the history parser as
 * a state is, plus the current iteration being planned (the policy runs
 * after plan appended it). */
static ao_history *history_from(ao_history *h, json_t *j)
{
    ao_err e;
    ao_err_init(&e);
    if (ao_history_parse(j, "history.json", h, &e) < 0) printf("# history: %s\n", e.msg);
    json_decref(j);
    ao_history_new_iteration(h);
    return h;
}

static ao_history *history_rows(ao_history *h, const json_t *p, int n, json_t **recipes, const char **status, const double *value,
                                const double *secs, double rows)
{
    return history_from(h, history_doc(p, n, recipes, status, value, secs, rows));
}

static ao_history *history_timed(ao_history *h, const json_t *p, int n, json_t **recipes, const char **status, const double *value,
                                  const double *secs)
{
    return history_rows(h, p, n, recipes, status, value, secs, 0);
}

static ao_history *history(ao_history *h, const json_t *p, int n, json_t **recipes, const char **status, const double *value)
{
    return history_timed(h, p, n, recipes, status, value, NULL);
}

/* As history(), with iteration i's (0-based) code step recording that
 * it first tried `failed` (its smoke run failed) and then ran the recipe
 * the iteration has, as the code step records a fallback. */
static ao_history *history_failed_attempt(ao_history *h, const json_t *p, int n, json_t **recipes, const char **status, const double *value,
                                          int i, const json_t *failed)
{
    json_t *j = history_doc(p, n, recipes, status, value, NULL, 0);
    json_t *code = json_object_get(json_object_get(json_object_get(json_array_get(json_object_get(j, "iterations"), (size_t)i), "steps"), "code"), "output");
    json_object_set_new(code, "attempts", json_pack("[{s:O,s:{s:s,s:s}},{s:O,s:{s:s}}]", "recipe", failed, "smoke", "status", "failed",
                                                    "message", "too large", "recipe", recipes[i], "smoke", "status", "ok"));
    return history_from(h, j);
}

/* The policy's next recipe for history h (one place for the call). */
static json_t *next_recipe(const ao_run_config *run, ao_history *h, json_t **why)
{
    json_t *r = NULL;
    ao_err e;
    ao_err_init(&e);
    *why = NULL;
    if (ao_policy_next_recipe(run, h, &r, why, &e) < 0) printf("# policy: %s\n", e.msg);
    ao_history_clear(h);
    return r;
}

static json_t *diagnose(const ao_run_config *run, const json_t *metrics)
{
    json_t *d = NULL;
    ao_err e;
    ao_err_init(&e);
    return ao_policy_diagnose(run, metrics, NULL, &d, &e) < 0 ? NULL : d;
}

static const char *model_of(const json_t *r) { return json_string_value(json_object_get(json_object_get(r, "model"), "type")); }
static const char *repr_of(const json_t *r) { return json_string_value(json_object_get(json_object_get(r, "representation"), "type")); }

/* The recipes of n successive iterations r[0..n) on profile p, each planned
 * on the history of those before it with these statuses and values. */
static void plan_iterations(const ao_run_config *run, ao_history *h, const json_t *p, int n, json_t **r, const char **status,
                            const double *value)
{
    json_t *why;
    int i;
    for (i = 0; i < n; i++) {
        r[i] = next_recipe(run, history(h, p, i, i ? r : NULL, i ? status : NULL, i ? value : NULL), &why);
        json_decref(why);
    }
}

/* Whether recipes a and b are the same but for their seeds. */
static int same_but_seed(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    int same;
    json_object_del(x, "seed");
    json_object_del(y, "seed");
    same = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

int main(void)
{
    ao_run_config run0, *run = &run0;
    ao_history hist;
    json_t *why = NULL, *r1, *r2, *r3, *r4, *p, *recs[4];
    const char *ok3[] = {"ok", "ok", "ok", "ok"}, *div[] = {"diverged"};
    double v3[] = {0.70, 0.90, 0.80, 0.85}, v1[] = {0.5};

    memset(&run0, 0, sizeof run0);
    run0.seed = ao_seed_derive(1, AO_SEED_LINEAGE, 0);
    run0.n_classes = 2;
    run0.budgets.iterations = 5;
    snprintf(run0.metric, sizeof run0.metric, "%s", ao_metric_resolve("auto", 2));
    CHECK(!strcmp(ao_metric_resolve("auto", 2), "auroc") && !strcmp(ao_metric_resolve("auto", 5), "f1_macro") &&
          !strcmp(ao_metric_resolve("mcc", 5), "mcc"), "default metrics: auroc / f1_macro");

    /* aligned sequences with positional signal: k-mer baseline, then the positional linear model and trees, then a CNN */
    p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
    r1 = next_recipe(run, history(&hist, p, 0, NULL, NULL, NULL), &why);
    CHECK(!strcmp(model_of(r1), "logreg") && !strcmp(repr_of(r1), "kmer"), "iteration 1: k-mer logistic regression");
    json_decref(why);
    recs[0] = r1;
    r2 = next_recipe(run, history(&hist, p, 1, recs, ok3, v3), &why);
    CHECK(!strcmp(model_of(r2), "logreg") && !strcmp(repr_of(r2), "onehot"), "aligned + positional: positional logistic regression next");
    json_decref(why);
    recs[1] = r2;
    r3 = next_recipe(run, history(&hist, p, 2, recs, ok3, v3), &why);
    CHECK(!strcmp(model_of(r3), "gbdt") && !strcmp(repr_of(r3), "onehot") && !strcmp(json_string_value(json_object_get(why, "family")), "positional-gbdt"),
          "then gradient-boosted trees on the positional one-hot features");
    json_decref(why);
    recs[2] = r3;
    r4 = next_recipe(run, history(&hist, p, 3, recs, ok3, v3), &why);
    CHECK(!strcmp(model_of(r4), "cnn"), "then a CNN");
    CHECK(json_integer_value(json_object_get(r4, "seed")) != json_integer_value(json_object_get(r1, "seed")), "each iteration gets its own seed");
    json_decref(why);
    recs[3] = r4;
    json_decref(next_recipe(run, history(&hist, p, 4, recs, ok3, v3), &why));
    CHECK(!strcmp(json_string_value(json_object_get(why, "family")), "kmer-gbdt"), "the remaining family is tried before refining");
    json_decref(why); json_decref(p); json_decref(r2); json_decref(r3); json_decref(r4);

    /* the same shape on 150,000 sequences of 1,000 nt: the trees' dense
     * one-hot matrix (6e8 cells) is over the cap, so the CNN follows the
     * positional linear model */
    p = profile(150000, 2, 1000, 1000, 0, 1.5, 40, 0.6);
    recs[0] = r1;
    recs[1] = next_recipe(run, history(&hist, p, 1, recs, ok3, v3), &why);
    json_decref(why);
    r3 = next_recipe(run, history(&hist, p, 2, recs, ok3, v3), &why);
    CHECK(!strcmp(repr_of(recs[1]), "onehot") && !strcmp(model_of(recs[1]), "logreg") && !strcmp(model_of(r3), "cnn") &&
          json_is_false(json_object_get(why, "positional_trees_considered")), "too large a one-hot matrix for the trees: positional logreg, then the CNN");
    json_decref(why); json_decref(recs[1]); json_decref(r3); json_decref(p);

    /* a family whose recipe failed its smoke run (here the positional
     * trees, over the memory limit; the code step ran the k-mer baseline
     * instead) would fail it again: the next family follows */
    p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
    {
        json_t *rs[3], *posgbdt = json_pack("{s:{s:s},s:{s:s}}", "representation", "type", "onehot", "model", "type", "gbdt");
        plan_iterations(run, &hist, p, 2, rs, ok3, v3);
        rs[2] = json_incref(rs[0]);
        r3 = next_recipe(run, history_failed_attempt(&hist, p, 3, rs, ok3, v3, 2, posgbdt), &why);
        CHECK(r3 && !strcmp(model_of(r3), "cnn"), "after the positional trees failed their smoke run: the CNN, not the trees again (got %s on %s)",
              r3 ? model_of(r3) : "none", r3 ? repr_of(r3) : "none");
        json_decref(why); json_decref(r3); json_decref(posgbdt);
        for (int i = 0; i < 3; i++) json_decref(rs[i]);
    }
    json_decref(p);

    /* variable-length, composition-driven data: GBDT before the CNN; the CNN pools globally */
    p = profile(3000, 13, 130, 1100, 0.6, 0.0, 0.5, 0.9);
    recs[0] = r1;
    r2 = next_recipe(run, history(&hist, p, 1, recs, ok3, v3), &why);
    CHECK(!strcmp(model_of(r2), "gbdt"), "no positional signal, strong composition: GBDT second");
    json_decref(why);
    recs[1] = r2;
    r3 = next_recipe(run, history(&hist, p, 2, recs, ok3, v3), &why);
    CHECK(!strcmp(model_of(r3), "cnn") && !strcmp(json_string_value(json_object_get(json_object_get(r3, "model"), "global_pool")), "maxavg"),
          "variable lengths: a globally pooled CNN");
    CHECK(json_is_false(json_object_get(json_object_get(r3, "model"), "rc_augment")), "no reverse-complement augmentation for it");
    json_decref(why); json_decref(r2); json_decref(r3); json_decref(p);

    /* little data: no CNN at all */
    p = profile(120, 2, 200, 200, 0, 0, 0, 0.7);
    recs[0] = r1;
    recs[1] = next_recipe(run, history(&hist, p, 1, recs, ok3, v3), &why);
    json_decref(why);
    r3 = next_recipe(run, history(&hist, p, 2, recs, ok3, v3), &why);
    CHECK(strcmp(model_of(r3), "cnn") != 0, "120 sequences: no CNN is proposed");
    json_decref(why); json_decref(r3); json_decref(recs[1]); json_decref(p);

    /* a diverged CNN is repaired with a lower learning rate */
    p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
    recs[0] = json_pack("{s:{s:s},s:{s:s,s:f}}", "representation", "type", "onehot", "model", "type", "cnn", "learning_rate", 0.01);
    r2 = next_recipe(run, history(&hist, p, 1, recs, div, v1), &why);
    CHECK(!strcmp(model_of(r2), "cnn") && json_real_value(json_object_get(json_object_get(r2, "model"), "learning_rate")) < 0.01 + 1e-12 &&
          json_real_value(json_object_get(json_object_get(r2, "model"), "learning_rate")) > 0, "a diverged CNN comes back with a lower learning rate");
    json_decref(why); json_decref(r2); json_decref(recs[0]); json_decref(p);

    /* aligned, no positional signal (a TF binding window): a CNN of motif detectors with global max pooling */
    p = profile(30000, 2, 101, 101, 0, 0.01, 2, 0.7);
    recs[0] = r1;
    r2 = next_recipe(run, history(&hist, p, 1, recs, ok3, v3), &why);
    CHECK(!strcmp(model_of(r2), "cnn") && !strcmp(json_string_value(json_object_get(json_object_get(r2, "model"), "global_pool")), "max") &&
          json_array_size(json_object_get(json_object_get(r2, "model"), "blocks")) == 2,
          "aligned without positional signal: a motif CNN with global max pooling");
    json_decref(why);

    /* a wall-time budget: the best family is refined while its cost fits the time left, else the best that fits */
    {
        const double vals[] = {0.80, 0.90, 0.85}, secs[] = {10, 300, 50};
        const char *fam;
        recs[1] = r2;
        recs[2] = json_pack("{s:{s:s,s:[i,i]},s:{s:s}}", "representation", "type", "kmer", "k", 1, 2, "model", "type", "gbdt");
        run0.budgets.wall_seconds = 900;   /* 360 s used: 540 left, the CNN's 1.5 x 300 fits */
        json_decref(next_recipe(run, history_timed(&hist, p, 3, recs, ok3, vals, secs), &why));
        fam = json_string_value(json_object_get(json_object_get(why, "time"), "refined_family"));
        CHECK(fam && !strcmp(fam, "cnn"), "time left for it: the best family (CNN) is refined (got %s)", fam ? fam : "none");
        json_decref(why);
        run0.budgets.wall_seconds = 700;   /* 340 left: the CNN does not fit, GBDT (0.85, 50 s) does */
        json_decref(next_recipe(run, history_timed(&hist, p, 3, recs, ok3, vals, secs), &why));
        fam = json_string_value(json_object_get(json_object_get(why, "time"), "refined_family"));
        CHECK(fam && !strcmp(fam, "kmer-gbdt"), "too little time for the CNN: the best family that fits (GBDT) is refined (got %s)", fam ? fam : "none");
        json_decref(why);
        run0.budgets.wall_seconds = 370;   /* 10 left: nothing fits; the cheapest (k-mer logreg) */
        json_decref(next_recipe(run, history_timed(&hist, p, 3, recs, ok3, vals, secs), &why));
        fam = json_string_value(json_object_get(json_object_get(why, "time"), "refined_family"));
        CHECK(fam && !strcmp(fam, "kmer-logreg"), "no family fits: the cheapest is refined (got %s)", fam ? fam : "none");
        json_decref(why);
        run0.budgets.wall_seconds = 0;
        json_decref(recs[2]);
    }
    json_decref(r2); json_decref(p);

    /* no near-duplicates: once the best family's refinement ran, the next
     * iteration refines its latest variant instead of repeating it */
    {
        json_t *rp[7];
        const char *ok7[] = {"ok", "ok", "ok", "ok", "ok", "ok", "ok"};
        const double vals[] = {0.70, 0.95, 0.85, 0.90, 0.80, 0.94, 0.93};
        const char *basis;
        p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
        plan_iterations(run, &hist, p, 5, rp, ok7, vals);
        rp[5] = next_recipe(run, history(&hist, p, 5, rp, ok7, vals), &why);
        CHECK(!strcmp(json_string_value(json_object_get(why, "basis")), "refinement of the best family") && !strcmp(repr_of(rp[5]), "onehot") &&
              !strcmp(model_of(rp[5]), "logreg"), "all families tried: the best (positional logreg) is refined");
        json_decref(why);
        rp[6] = next_recipe(run, history(&hist, p, 6, rp, ok7, vals), &why);
        basis = json_string_value(json_object_get(why, "basis"));
        CHECK(!same_but_seed(rp[5], rp[6]) && basis && !strcmp(basis, "refinement of the best family's latest variant"),
              "the same refinement again is replaced by one of the latest variant (basis: %s)", basis ? basis : "none");
        json_decref(why);
        {
            json_t *r8 = next_recipe(run, history(&hist, p, 7, rp, ok7, vals), &why);
            int i, dup = 0;
            for (i = 0; i < 7; i++) dup |= same_but_seed(rp[i], r8);
            CHECK(!dup, "iteration 8 repeats none of the seven before it (basis: %s)", json_string_value(json_object_get(why, "basis")));
            json_decref(r8);
            json_decref(why);
        }
        for (int i = 0; i < 7; i++) json_decref(rp[i]);
        json_decref(p);
    }

    /* refinements take turns among the families close to the best: CNN 0.90, GBDT 0.89 */
    {
        json_t *rr[7];
        const char *ok7[] = {"ok", "ok", "ok", "ok", "ok", "ok", "ok"};
        const double vals[] = {0.70, 0.80, 0.75, 0.90, 0.89, 0.88, 0.87};
        const char *fam5, *fam6;
        p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
        plan_iterations(run, &hist, p, 5, rr, ok7, vals);
        rr[5] = next_recipe(run, history(&hist, p, 5, rr, ok7, vals), &why);
        fam5 = json_string_value(json_object_get(why, "family"));
        CHECK(fam5 && !strcmp(fam5, "cnn"), "the first refinement: the best family (CNN 0.90; got %s)", fam5 ? fam5 : "none");
        json_decref(why);
        rr[6] = next_recipe(run, history(&hist, p, 6, rr, ok7, vals), &why);
        fam6 = json_string_value(json_object_get(why, "family"));
        CHECK(fam6 && !strcmp(fam6, "kmer-gbdt"), "the second: the close family's turn (GBDT 0.89; got %s)", fam6 ? fam6 : "none");
        json_decref(why);
        for (int i = 0; i < 7; i++) json_decref(rr[i]);
        json_decref(p);
    }

    /* "close" widens with the ranking values' sampling noise: GBDT 0.04
     * below the CNN is no evidence on 100 rows (AUROC's standard error up
     * to 0.05 there) and takes its turn; on 10,000 rows it does not */
    {
        const char *ok6[] = {"ok", "ok", "ok", "ok", "ok", "ok"};
        const double vals[] = {0.70, 0.80, 0.75, 0.90, 0.86, 0.88};
        const double rows[] = {100, 10000};
        const char *want[] = {"kmer-gbdt", "cnn"};
        p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
        for (int c = 0; c < 2; c++) {
            json_t *rr[7];
            const char *fam;
            plan_iterations(run, &hist, p, 6, rr, ok6, vals);
            rr[6] = next_recipe(run, history_rows(&hist, p, 6, rr, ok6, vals, NULL, rows[c]), &why);
            fam = json_string_value(json_object_get(why, "family"));
            CHECK(fam && !strcmp(fam, want[c]) && json_real_value(json_object_get(why, "close_band")) >= 0.03,
                  "second refinement on %.0f rows: %s (close band %.3f; got %s)", rows[c], want[c],
                  json_real_value(json_object_get(why, "close_band")), fam ? fam : "none");
            json_decref(why);
            for (int i = 0; i < 7; i++) json_decref(rr[i]);
        }
        json_decref(p);
    }

    /* a refinement walk ends when it went clearly downhill: the CNN's
     * refinement (iteration 6) scored 0.85 against its best 0.90, so the
     * next refinement goes to another family instead of refining 0.85;
     * at 0.89 (within the band) the walk goes on */
    {
        const char *ok6[] = {"ok", "ok", "ok", "ok", "ok", "ok"};
        double vals[] = {0.70, 0.80, 0.75, 0.90, 0.80, 0.85};
        const char *want[] = {"other", "cnn"};
        p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
        for (int c = 0; c < 2; c++) {
            json_t *rr[7];
            const char *fam, *fam5;
            vals[5] = c ? 0.89 : 0.85;
            plan_iterations(run, &hist, p, 6, rr, ok6, vals);
            fam5 = model_of(rr[5]);
            rr[6] = next_recipe(run, history(&hist, p, 6, rr, ok6, vals), &why);
            fam = json_string_value(json_object_get(why, "family"));
            CHECK(fam5 && !strcmp(fam5, "cnn") && fam && (c ? !strcmp(fam, "cnn") : strcmp(fam, "cnn") != 0),
                  "the CNN's refinement scored %.2f: the next refinement is %s (got %s)", vals[5], want[c], fam ? fam : "none");
            json_decref(why);
            for (int i = 0; i < 7; i++) json_decref(rr[i]);
        }
        json_decref(p);
    }

    /* diagnosis */
    {
        json_t *m = json_pack("{s:s,s:{s:f,s:f,s:f,s:[s,s]},s:{s:f,s:f,s:f,s:[s,s]}}", "status", "ok",
                              "train", "auroc", 0.99, "accuracy", 0.98, "log_loss", 0.05, "classes", "a", "b",
                              "valid", "auroc", 0.80, "accuracy", 0.75, "log_loss", 0.60, "classes", "a", "b");
        json_t *d = diagnose(run, m);
        CHECK(!strcmp(json_string_value(json_object_get(d, "diagnosis")), "overfitting"), "a large train-validation gap is overfitting");
        json_decref(d); json_decref(m);
        m = json_pack("{s:s,s:{s:f,s:f,s:f,s:[s,s]},s:{s:f,s:f,s:f,s:[s,s]}}", "status", "ok",
                      "train", "auroc", 0.70, "accuracy", 0.65, "log_loss", 0.62, "classes", "a", "b",
                      "valid", "auroc", 0.69, "accuracy", 0.64, "log_loss", 0.63, "classes", "a", "b");
        d = diagnose(run, m);
        CHECK(!strcmp(json_string_value(json_object_get(d, "diagnosis")), "underfitting"), "low train accuracy with no gap is underfitting");
        json_decref(d); json_decref(m);
        m = json_pack("{s:s}", "status", "time_limit");
        d = diagnose(run, m);
        CHECK(!strcmp(json_string_value(json_object_get(d, "diagnosis")), "time_limit"), "a timed-out run is diagnosed as such");
        json_decref(d); json_decref(m);
    }
    json_decref(r1);
    return UNIT_DONE();
}
