/* The builtin policy's decisions on hand-made profiles and histories. */
#include <string.h>
#include <jansson.h>
#include "agentomics/policy.h"
#include "unit.h"

static json_t *profile(int n, int K, double median, double max, double cv, double pos_bits, double pos_snr, double kmer_bacc)
{
    return json_pack("{s:i,s:i,s:[{s:f,s:f,s:f}],s:{s:f},s:{s:f,s:f}}", "n_train", n, "n_classes", K,
                     "length", "median", median, "max", max, "cv", cv, "kmer_signal", "kmer_centroid_balanced_accuracy", kmer_bacc,
                     "positional_signal", "mi_positional_excess_bits", pos_bits, "positional_snr", pos_snr);
}

/* A history whose iterations used these recipes with these statuses and validation values. */
static json_t *history(int n, json_t **recipes, const char **status, const double *value)
{
    json_t *its = json_array();
    int i;
    for (i = 0; i < n; i++)
        json_array_append_new(its, json_pack("{s:i,s:{s:{s:{s:O}}},s:{s:s,s:{s:{s:f}}},s:{s:s}}", "iteration", i + 1,
                                             "steps", "code", "output", "recipe", recipes[i],
                                             "run", "status", status[i], "metrics", "valid", "auroc", value[i],
                                             "feedback", "diagnosis", !strcmp(status[i], "ok") ? "ok" : status[i]));
    return json_pack("{s:o}", "iterations", its);
}

static const char *model_of(const json_t *r) { return json_string_value(json_object_get(json_object_get(r, "model"), "type")); }
static const char *repr_of(const json_t *r) { return json_string_value(json_object_get(json_object_get(r, "representation"), "type")); }

int main(void)
{
    json_t *run = json_pack("{s:i,s:s}", "seed", 1, "metric", "auto"), *why = NULL, *r1, *r2, *r3, *h, *p, *recs[3];
    const char *ok3[] = {"ok", "ok", "ok"}, *div[] = {"diverged"};
    double v3[] = {0.70, 0.90, 0.80}, v1[] = {0.5};

    CHECK(!strcmp(ao_policy_metric(run, 2), "auroc") && !strcmp(ao_policy_metric(run, 5), "f1_macro"), "default metrics: auroc / f1_macro");

    /* aligned sequences with positional signal: k-mer baseline, then the positional linear model, then a CNN */
    p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
    h = json_pack("{s:[]}", "iterations");
    r1 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(!strcmp(model_of(r1), "logreg") && !strcmp(repr_of(r1), "kmer"), "iteration 1: k-mer logistic regression");
    json_decref(why); json_decref(h);
    recs[0] = r1;
    h = history(1, recs, ok3, v3);
    r2 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(!strcmp(model_of(r2), "logreg") && !strcmp(repr_of(r2), "onehot"), "aligned + positional: positional logistic regression next");
    json_decref(why); json_decref(h);
    recs[1] = r2;
    h = history(2, recs, ok3, v3);
    r3 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(!strcmp(model_of(r3), "cnn"), "then a CNN");
    CHECK(json_integer_value(json_object_get(r3, "seed")) != json_integer_value(json_object_get(r1, "seed")), "each iteration gets its own seed");
    json_decref(why); json_decref(h);
    recs[2] = r3;
    h = history(3, recs, ok3, v3);
    json_decref(ao_policy_next_recipe(run, h, p, &why));
    CHECK(!strcmp(json_string_value(json_object_get(why, "family")), "kmer-gbdt"), "the remaining family is tried before refining");
    json_decref(why); json_decref(h); json_decref(p); json_decref(r2); json_decref(r3);

    /* variable-length, composition-driven data: GBDT before the CNN; the CNN pools globally */
    p = profile(3000, 13, 130, 1100, 0.6, 0.0, 0.5, 0.9);
    recs[0] = r1;
    h = history(1, recs, ok3, v3);
    r2 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(!strcmp(model_of(r2), "gbdt"), "no positional signal, strong composition: GBDT second");
    json_decref(why); json_decref(h);
    recs[1] = r2;
    h = history(2, recs, ok3, v3);
    r3 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(!strcmp(model_of(r3), "cnn") && !strcmp(json_string_value(json_object_get(json_object_get(r3, "model"), "global_pool")), "maxavg"),
          "variable lengths: a globally pooled CNN");
    CHECK(json_is_false(json_object_get(json_object_get(r3, "model"), "rc_augment")), "no reverse-complement augmentation for it");
    json_decref(why); json_decref(h); json_decref(r2); json_decref(r3); json_decref(p);

    /* little data: no CNN at all */
    p = profile(120, 2, 200, 200, 0, 0, 0, 0.7);
    recs[0] = r1;
    recs[1] = ao_policy_next_recipe(run, (h = history(1, recs, ok3, v3)), p, &why);
    json_decref(why); json_decref(h);
    h = history(2, recs, ok3, v3);
    r3 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(strcmp(model_of(r3), "cnn") != 0, "120 sequences: no CNN is proposed");
    json_decref(why); json_decref(h); json_decref(r3); json_decref(recs[1]); json_decref(p);

    /* a diverged CNN is repaired with a lower learning rate */
    p = profile(5000, 2, 300, 300, 0, 1.5, 40, 0.6);
    recs[0] = json_pack("{s:{s:s},s:{s:s,s:f}}", "representation", "type", "onehot", "model", "type", "cnn", "learning_rate", 0.01);
    h = history(1, recs, div, v1);
    r2 = ao_policy_next_recipe(run, h, p, &why);
    CHECK(!strcmp(model_of(r2), "cnn") && json_real_value(json_object_get(json_object_get(r2, "model"), "learning_rate")) < 0.01 + 1e-12 &&
          json_real_value(json_object_get(json_object_get(r2, "model"), "learning_rate")) > 0, "a diverged CNN comes back with a lower learning rate");
    json_decref(why); json_decref(h); json_decref(r2); json_decref(recs[0]); json_decref(p);

    /* diagnosis */
    {
        json_t *m = json_pack("{s:s,s:{s:f,s:f,s:f,s:[s,s]},s:{s:f,s:f,s:f,s:[s,s]}}", "status", "ok",
                              "train", "auroc", 0.99, "accuracy", 0.98, "log_loss", 0.05, "classes", "a", "b",
                              "valid", "auroc", 0.80, "accuracy", 0.75, "log_loss", 0.60, "classes", "a", "b");
        json_t *d = ao_policy_diagnose(run, m, NULL);
        CHECK(!strcmp(json_string_value(json_object_get(d, "diagnosis")), "overfitting"), "a large train-validation gap is overfitting");
        json_decref(d); json_decref(m);
        m = json_pack("{s:s,s:{s:f,s:f,s:f,s:[s,s]},s:{s:f,s:f,s:f,s:[s,s]}}", "status", "ok",
                      "train", "auroc", 0.70, "accuracy", 0.65, "log_loss", 0.62, "classes", "a", "b",
                      "valid", "auroc", 0.69, "accuracy", 0.64, "log_loss", 0.63, "classes", "a", "b");
        d = ao_policy_diagnose(run, m, NULL);
        CHECK(!strcmp(json_string_value(json_object_get(d, "diagnosis")), "underfitting"), "low train accuracy with no gap is underfitting");
        json_decref(d); json_decref(m);
        m = json_pack("{s:s}", "status", "time_limit");
        d = ao_policy_diagnose(run, m, NULL);
        CHECK(!strcmp(json_string_value(json_object_get(d, "diagnosis")), "time_limit"), "a timed-out run is diagnosed as such");
        json_decref(d); json_decref(m);
    }
    json_decref(r1);
    json_decref(run);
    return UNIT_DONE();
}
