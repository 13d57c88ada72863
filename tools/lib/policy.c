/* policy.c — the builtin agent's decisions (policy.h): the family order
 * from the dataset profile, default recipes per family, adjustments
 * driven by the last diagnosis, the plan and the diagnosis of a run. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "agentomics/policy.h"
#include "agentomics/rng.h"

/* ---- reading the profile and history ------------------------------------ */

static double num(const json_t *o, const char *key, double dflt)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static double num_path(const json_t *o, const char *a, const char *b, double dflt)
{
    return num(o ? json_object_get(o, a) : NULL, b, dflt);
}

typedef struct facts {
    double n_train, n_classes, imbalance, median_len, max_len, len_cv;
    double kmer_bacc, chance, pos_excess, pos_snr, n_seq;
    int binary;
    int positional;   /* nucleotides at fixed positions carry class information */
    int aligned;      /* (nearly) one length: positions are comparable across sequences */
} facts;

static facts read_facts(const json_t *profile)
{
    facts f;
    json_t *len0 = json_array_get(json_object_get(profile, "length"), 0);
    f.n_train = num(profile, "n_train", 0);
    f.n_classes = num(profile, "n_classes", 2);
    f.imbalance = num(profile, "imbalance_ratio", 1);
    f.median_len = num(len0, "median", 100);
    f.max_len = num(len0, "max", f.median_len);
    f.len_cv = num(len0, "cv", 0);
    f.kmer_bacc = num_path(profile, "kmer_signal", "kmer_centroid_balanced_accuracy", 0);
    f.chance = f.n_classes > 0 ? 1.0 / f.n_classes : 0.5;
    f.pos_excess = num_path(profile, "positional_signal", "mi_positional_excess_bits", 0);
    f.pos_snr = num_path(profile, "positional_signal", "positional_snr", 0);
    f.n_seq = num(profile, "n_seq_cols", 1);
    f.binary = f.n_classes == 2;
    f.positional = f.pos_excess > 0.1 && f.pos_snr > 3;
    f.aligned = f.len_cv < 0.05;
    return f;
}

/* Model families: k-mer logistic regression, k-mer GBDT, CNN, and
 * logistic regression and GBDT on positional one-hot features. */
enum { FAM_KMER_LOGREG = 0, FAM_KMER_GBDT = 1, FAM_CNN = 2, FAM_POS_LOGREG = 3, FAM_POS_GBDT = 4, N_FAMILIES = 5 };

typedef struct past {
    int n;                     /* iterations with a finished run */
    int tried[N_FAMILIES];
    int smoke_failed[N_FAMILIES];   /* a recipe of the family failed its smoke run (the code step ran the fallback) */
    double best_value[N_FAMILIES];      /* best validation metric per family */
    const json_t *best_recipe[N_FAMILIES];
    const json_t *best_diag[N_FAMILIES];
    double cost[N_FAMILIES];   /* the longest run of the family, seconds; 0: none measured */
    const json_t *family_last_recipe[N_FAMILIES], *family_last_diag[N_FAMILIES];   /* its most recent run */
    double family_last_value[N_FAMILIES];
    /* Sampling noise of the ranking values: about one standard error of
     * the metric on the fewest rows a run was ranked on (see noise_band) */
    double noise;
    const json_t *last_recipe, *last_diag;
    const char *last_status;
    int last_family;
    int repairs_in_a_row;
} past;

static int family_of(const json_t *recipe)
{
    const char *t = json_string_value(json_object_get(json_object_get(recipe, "model"), "type"));
    const char *rt = json_string_value(json_object_get(json_object_get(recipe, "representation"), "type"));
    int onehot = rt && !strcmp(rt, "onehot");
    if (!t) return -1;
    if (!strcmp(t, "logreg")) return onehot ? FAM_POS_LOGREG : FAM_KMER_LOGREG;
    if (!strcmp(t, "gbdt")) return onehot ? FAM_POS_GBDT : FAM_KMER_GBDT;
    return !strcmp(t, "cnn") ? FAM_CNN : -1;
}

static const char *family_name(int f)
{
    static const char *n[] = {"kmer-logreg", "kmer-gbdt", "cnn", "positional-logreg", "positional-gbdt"};
    return f >= 0 && f < N_FAMILIES ? n[f] : "unknown";
}

/* A difference in the ranking metric smaller than this on n rows is
 * within sampling error: the standard error of a proportion-like metric
 * (accuracy, AUROC, F1) is at most 0.5 / sqrt(n), and MCC spans [-1, 1],
 * twice the range. 0 when n is unknown. */
static double noise_band(const char *metric, double n)
{
    return n > 0 ? (metric && !strcmp(metric, "mcc") ? 1.0 : 0.5) / sqrt(n) : 0;
}

static past read_past(const ao_history *h, const char *metric)
{
    past p;
    int i;
    memset(&p, 0, sizeof p);
    p.last_family = -1;
    for (i = 0; i < N_FAMILIES; i++) p.best_value[i] = -INFINITY;
    for (i = 0; i < h->n_iters; i++) {
        const ao_iteration *it = &h->iters[i];
        const json_t *code = ao_iteration_output(it, "code"), *recipe = json_object_get(code, "recipe"), *attempts = json_object_get(code, "attempts");
        const char *status = it->has_run ? it->run.status : NULL;
        int f = family_of(recipe), failed = status && strcmp(status, "ok") != 0;
        double v;
        size_t a;
        for (a = 0; a < json_array_size(attempts); a++) {
            const json_t *at = json_array_get(attempts, a);
            const char *smoke = json_string_value(json_object_get(json_object_get(at, "smoke"), "status"));
            int fa = family_of(json_object_get(at, "recipe"));
            if (smoke && strcmp(smoke, "ok") != 0 && fa >= 0) p.smoke_failed[fa] = 1;
        }
        if (!it->has_run || f < 0) continue;
        p.n++;
        p.tried[f]++;
        p.last_recipe = recipe;
        p.last_diag = it->feedback;
        p.last_status = status;
        p.repairs_in_a_row = (p.last_family == f && failed) ? p.repairs_in_a_row + 1 : failed;
        p.last_family = f;
        if (isfinite(it->run.wall_seconds) && it->run.wall_seconds > p.cost[f]) p.cost[f] = it->run.wall_seconds;
        p.family_last_recipe[f] = recipe;
        p.family_last_diag[f] = it->feedback;
        v = ao_iteration_rank_value(it, metric);
        p.family_last_value[f] = v;
        p.noise = fmax(p.noise, noise_band(metric, num(ao_iteration_rank_scores(it), "n", 0)));
        if (!isnan(v) && v > p.best_value[f]) {
            p.best_value[f] = v;
            p.best_recipe[f] = recipe;
            p.best_diag[f] = it->feedback;
        }
    }
    return p;
}

/* The seed of the recipe for the iteration being planned (the current
 * one: plan has appended it). */
static uint64_t recipe_seed(const ao_run_config *run, const ao_history *h)
{
    const ao_iteration *it = ao_history_current(h);
    return ao_seed_derive(run->seed, AO_SEED_TRAIN, (uint64_t)(it ? it->number : 1));
}

/* ---- default recipes per family ----------------------------------------- */

/* k values by typical length: longer sequences carry longer words, but a
 * spectrum wider than the data cannot be estimated. */
static json_t *k_list(const facts *f, int for_trees)
{
    json_t *k = json_array();
    int lo, hi, i;
    if (for_trees) { lo = 1; hi = f->median_len >= 100 ? 4 : 3; }
    else if (f->median_len <= 40) { lo = 1; hi = 4; }
    else if (f->median_len <= 200) { lo = 2; hi = 5; }
    else { lo = 3; hi = 6; }
    /* little data: fewer, shorter words */
    if (!for_trees && f->n_train < 500 && hi > 4) hi--;
    for (i = lo; i <= hi; i++) json_array_append_new(k, json_integer(i));
    return k;
}

static const char *class_weight(const facts *f) { return f->imbalance > 1.5 ? "balanced" : "none"; }

/* Features are scaled to unit variance before the L2 fit, so the penalty
 * that suits a dataset grows with the number of features per example:
 * C = n / (50 * features), within [0.001, 1]. */
static double logreg_C(const facts *f, const json_t *k)
{
    double nf = 5, C;
    size_t i;
    for (i = 0; i < json_array_size(k); i++) nf += pow(4, (double)json_integer_value(json_array_get(k, i)));
    nf *= f->n_seq > 1 ? f->n_seq : 1;
    C = f->n_train / (50.0 * nf);
    return C < 1e-3 ? 1e-3 : C > 1 ? 1 : C;
}

static json_t *recipe_logreg(const facts *f, uint64_t seed)
{
    json_t *k = k_list(f, 0);
    double C = logreg_C(f, k);
    return json_pack("{s:i,s:s,s:I,s:{s:s,s:o,s:b,s:b,s:b,s:b},s:{s:s,s:f,s:i,s:f,s:s},s:s}",
                     "format_version", 1, "name", "k-mer logistic regression", "seed", (json_int_t)seed,
                     "representation", "type", "kmer", "k", k, "canonical", 0, "frequencies", 1, "global", 1, "pair", f->n_seq > 1,
                     "model", "type", "logreg", "C", C, "max_iter", 500, "tol", 1e-5, "class_weight", class_weight(f),
                     "early_stopping", "valid");
}

/* Aligned sequences (splice sites, promoters around a TSS): which base sits
 * at which position is itself the signal, and a linear model on the
 * flattened one-hot matrix is a strong, fast position-aware baseline. */
static json_t *recipe_poslogreg(const facts *f, uint64_t seed)
{
    double nf = 4 * f->max_len * (f->n_seq > 1 ? f->n_seq : 1), C = f->n_train / (1000.0 * nf);
    C = C < 1e-3 ? 1e-3 : C > 1 ? 1 : C;
    return json_pack("{s:i,s:s,s:I,s:{s:s,s:s,s:s},s:{s:s,s:f,s:i,s:f,s:s},s:s}",
                     "format_version", 1, "name", "positional logistic regression", "seed", (json_int_t)seed,
                     "representation", "type", "onehot", "pad", "right", "ambiguity", "fractional",
                     "model", "type", "logreg", "C", C, "max_iter", 500, "tol", 1e-5, "class_weight", class_weight(f),
                     "early_stopping", "valid");
}

/* The boosting settings both GBDT families start from. */
static json_t *gbdt_model(const facts *f)
{
    return json_pack("{s:s,s:i,s:f,s:i,s:i,s:f,s:i,s:f,s:f,s:i,s:s}", "type", "gbdt", "n_estimators", 1000, "learning_rate", 0.05,
                     "max_depth", 0, "max_leaves", 31, "lambda", 1.0, "min_samples_leaf", f->n_train < 1000 ? 5 : 20, "subsample", 0.8,
                     "colsample", 0.5, "early_stopping_rounds", 50, "class_weight", class_weight(f));
}

static json_t *recipe_gbdt(const facts *f, uint64_t seed)
{
    return json_pack("{s:i,s:s,s:I,s:{s:s,s:o,s:b,s:b,s:b,s:b},s:o,s:s}",
                     "format_version", 1, "name", "k-mer gradient-boosted trees", "seed", (json_int_t)seed,
                     "representation", "type", "kmer", "k", k_list(f, 1), "canonical", 0, "frequencies", 1, "global", 1, "pair", f->n_seq > 1,
                     "model", gbdt_model(f), "early_stopping", "valid");
}

/* Aligned sequences with positional signal: trees on the flattened
 * one-hot matrix find the bases at fixed positions that matter, and
 * their interactions, without the linear model's additivity. Measured
 * (same settings, held-out test AUROC / MCC) against the k-mer trees:
 * gue_prom_300_tata 0.764 / 0.404 -> 0.972 / 0.841, UCI splice junctions
 * 0.881 / 0.563 -> 0.994 / 0.947, E. coli promoters 0.846 / 0.573 ->
 * 0.919 / 0.691, in seconds. */
static json_t *recipe_posgbdt(const facts *f, uint64_t seed)
{
    return json_pack("{s:i,s:s,s:I,s:{s:s,s:s,s:s},s:o,s:s}",
                     "format_version", 1, "name", "positional gradient-boosted trees", "seed", (json_int_t)seed,
                     "representation", "type", "onehot", "pad", "right", "ambiguity", "fractional",
                     "model", gbdt_model(f), "early_stopping", "valid");
}

/* The training schedule every CNN recipe starts from: a one-cycle
 * learning rate (AdamW, peak 3e-3, batch 64, weight decay 1e-2) over a
 * fixed number of epochs, without early stopping (a stop in the warm
 * phase would cut the annealing that gives the gain; the best epoch on
 * validation is still the one kept). Measured against the learner's
 * reduce-on-plateau default (Adam 1e-3, batch 32, patience 8), same
 * architectures and seed, held-out test: gue_tf_1 AUROC 0.922 -> 0.932,
 * gue_mouse_2 0.962 -> 0.969, gue_prom_300_tata 0.946 -> 0.958, Rfam 13
 * classes 0.9963 -> 0.9970, in about the same wall time. Fewer epochs as
 * data grows: the number of steps grows with it. */
static json_t *cnn_model(const facts *f, json_t *model)
{
    int epochs = f->n_train < 20000 ? 30 : f->n_train < 100000 ? 15 : 8;
    if (model && json_object_update_new(model, json_pack("{s:s,s:i,s:i,s:f,s:f,s:i,s:s}", "schedule", "onecycle", "epochs", epochs,
                                                      "batch_size", 64, "learning_rate", 3e-3, "weight_decay", 1e-2, "patience", 0,
                                                      "class_weight", class_weight(f))) < 0) {
        json_decref(model);
        return NULL;
    }
    return model;
}

static json_t *cnn_recipe(const char *name, uint64_t seed, int length, const char *pad, json_t *model)
{
    if (!model) return NULL;
    return json_pack("{s:i,s:s,s:I,s:{s:s,s:i,s:s,s:s},s:o,s:s}", "format_version", 1, "name", name, "seed", (json_int_t)seed,
                     "representation", "type", "onehot", "length", length, "pad", pad, "ambiguity", "fractional",
                     "model", model, "early_stopping", "valid");
}

/* The CNN's architecture follows where the signal sits. Aligned input
 * with positional signal (promoters around a TSS, splice sites): the
 * learner's tuned default, which flattens positions. Aligned input without
 * it (TF binding sites anywhere in a fixed window): motif detectors with
 * global max pooling, translation-invariant with far fewer weights, and
 * reverse-complement augmentation and test-time averaging (the learner's
 * defaults: binding sites read on either strand). Variable lengths (e.g.
 * RNA families): the same idea with three pooled blocks, centred in a
 * window of at most 512 positions, without the reverse complement (RNA is
 * one strand). Inputs longer than a few thousand positions are cropped
 * around the centre. */
static json_t *recipe_cnn(const facts *f, uint64_t seed)
{
    if (f->aligned) {
        int length = (int)(f->max_len > 3000 ? 3000 : f->max_len);
        const char *pad = f->max_len > 3000 ? "centre" : "right";
        /* a motif as wide as a typical binding site, pooled, then pairs of motifs */
        int w1 = length >= 60 ? 15 : length >= 24 ? 9 : 5, w2 = length >= 60 ? 7 : 3, pool = length >= 40 ? 4 : 2;
        if (f->positional) return cnn_recipe("1-D CNN", seed, length, pad, cnn_model(f, json_pack("{s:s}", "type", "cnn")));
        return cnn_recipe("1-D CNN (motifs, global pooling)", seed, length, pad,
                          cnn_model(f, json_pack("{s:s,s:[{s:i,s:i,s:s,s:i},{s:i,s:i,s:s}],s:s,s:f,s:i}", "type", "cnn",
                                                 "blocks", "filters", 128, "width", w1, "pool", "max", "pool_size", pool,
                                                 "filters", 128, "width", w2, "pool", "none", "global_pool", "max", "dropout", 0.3, "hidden", 64)));
    }
    return cnn_recipe("1-D CNN (variable length)", seed, (int)(f->max_len > 512 ? 512 : f->max_len), "centre",
                      cnn_model(f, json_pack("{s:s,s:[{s:i,s:i,s:s,s:i},{s:i,s:i,s:s,s:i},{s:i,s:i,s:s,s:i}],s:s,s:f,s:i,s:b,s:b}", "type", "cnn",
                                             "blocks", "filters", 128, "width", 9, "pool", "max", "pool_size", 3,
                                             "filters", 128, "width", 9, "pool", "max", "pool_size", 3, "filters", 128, "width", 9, "pool", "max", "pool_size", 3,
                                             "global_pool", "maxavg", "dropout", 0.3, "hidden", 128, "rc_augment", 0, "rc_average", 0)));
}

static json_t *default_recipe(int fam, const facts *f, uint64_t seed)
{
    switch (fam) {
    case FAM_KMER_LOGREG: return recipe_logreg(f, seed);
    case FAM_KMER_GBDT: return recipe_gbdt(f, seed);
    case FAM_POS_LOGREG: return recipe_poslogreg(f, seed);
    case FAM_POS_GBDT: return recipe_posgbdt(f, seed);
    default: return recipe_cnn(f, seed);
    }
}

/* ---- adjustments ---------------------------------------------------------- */

static void set_num(json_t *o, const char *key, double v) { json_object_set_new(o, key, json_real(v)); }
static void set_int(json_t *o, const char *key, long v) { json_object_set_new(o, key, json_integer(v)); }

/* The adjustments multiply and divide; a long run of refinements of one
 * family must still give a recipe the parser accepts, and values far
 * outside these ranges never help. */
static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }
#define C_MIN 1e-6
#define C_MAX 1e4
#define GBDT_LR_MIN 1e-4
#define GBDT_LR_MAX 0.3
#define GBDT_ROUNDS_MAX 20000
#define LEAF_MAX 100000
#define CNN_LR_MIN 1e-6
#define CNN_EPOCHS_MAX 2000
#define CNN_WD_MAX 0.1
#define PATIENCE_MAX 100
/* Families whose best value is within this of the best take turns being refined. */
#define CLOSE_FAMILIES 0.03

static void set_num_or_null(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, isfinite(v) ? json_real(v) : json_null());
}

static void note(json_t *changes, const char *fmt, double a, double b)
{
    char buf[256];
    snprintf(buf, sizeof buf, fmt, a, b);
    json_array_append_new(changes, json_string(buf));
}

/* Makes a modified copy of recipe for the diagnosis; records each change. */
static json_t *adjust(const json_t *recipe, const char *diag, const facts *f, json_t *changes)
{
    json_t *r = json_deep_copy(recipe), *m = json_object_get(r, "model"), *rep = json_object_get(r, "representation");
    int fam = family_of(r);
    /* the positional families have the same knobs as their k-mer ones */
    if (fam == FAM_POS_LOGREG) fam = FAM_KMER_LOGREG;
    if (fam == FAM_POS_GBDT) fam = FAM_KMER_GBDT;
    if (!strcmp(diag, "overfitting")) {
        if (fam == FAM_KMER_LOGREG) {
            double C = num(m, "C", 1.0), nC = clampd(C / 4, C_MIN, C_MAX);
            set_num(m, "C", nC);
            note(changes, "stronger L2 regularisation: C %.4g -> %.4g", C, nC);
        } else if (fam == FAM_KMER_GBDT) {
            double lr = num(m, "learning_rate", 0.05), msl = num(m, "min_samples_leaf", 20), nlr = clampd(lr / 2, GBDT_LR_MIN, GBDT_LR_MAX);
            set_num(m, "learning_rate", nlr);
            set_int(m, "min_samples_leaf", (long)clampd(msl * 2, 1, LEAF_MAX));
            set_num(m, "subsample", 0.7);
            set_num(m, "colsample", 0.35);
            note(changes, "slower, more conservative boosting: learning rate %.4g -> %.4g, larger leaves, more subsampling", lr, nlr);
        } else {
            double d = num(m, "dropout", 0.3), wd = num(m, "weight_decay", 0);
            double nd = d + 0.15 > 0.6 ? 0.6 : d + 0.15, nwd = wd > 0 ? (wd * 10 > CNN_WD_MAX ? CNN_WD_MAX : wd * 10) : 1e-4;
            set_num(m, "dropout", nd);
            set_num(m, "weight_decay", nwd);
            /* reverse-complement augmentation only where the signal is not
             * tied to positions (and so, likely, not to one strand) */
            if (!f->positional) json_object_set_new(m, "rc_augment", json_true());
            note(changes, f->positional ? "more regularisation: dropout %.2f -> %.2f, more weight decay"
                                        : "more regularisation: dropout %.2f -> %.2f, more weight decay, reverse-complement augmentation", d, nd);
            (void)nwd;
        }
    } else if (!strcmp(diag, "underfitting")) {
        if (fam == FAM_KMER_LOGREG) {
            double C = num(m, "C", 1.0), nC = clampd(C * 4, C_MIN, C_MAX);
            json_t *k = json_object_get(rep, "k");
            set_num(m, "C", nC);
            note(changes, "weaker regularisation: C %.4g -> %.4g", C, nC);
            if (json_is_array(k) && json_array_size(k) < 8) {
                long kmax = 0;
                size_t i;
                for (i = 0; i < json_array_size(k); i++) if (json_integer_value(json_array_get(k, i)) > kmax) kmax = (long)json_integer_value(json_array_get(k, i));
                if (kmax < 8 && pow(4, kmax + 1) < 20 * f->n_train) {
                    json_array_append_new(k, json_integer(kmax + 1));
                    note(changes, "longer words: add k = %.0f (max %.0f)", (double)(kmax + 1), 8);
                }
            }
        } else if (fam == FAM_KMER_GBDT) {
            double leaves = num(m, "max_leaves", 31), n = num(m, "n_estimators", 1000);
            set_int(m, "max_leaves", (long)(leaves * 2 > 255 ? 255 : leaves * 2));
            set_int(m, "n_estimators", (long)clampd(n * 2, 1, 5000));
            note(changes, "more capacity: max leaves %.0f -> %.0f, twice the rounds", leaves, leaves * 2 > 255 ? 255 : leaves * 2);
        } else {
            json_t *blocks = json_object_get(m, "blocks");
            double ep = num(m, "epochs", 40);
            set_int(m, "epochs", (long)clampd(ep * 1.5, 1, CNN_EPOCHS_MAX));
            if (json_is_array(blocks)) {
                size_t i;
                for (i = 0; i < json_array_size(blocks); i++) {
                    json_t *b = json_array_get(blocks, i);
                    double fl = num(b, "filters", 64);
                    set_int(b, "filters", (long)(fl * 1.5 > 512 ? 512 : fl * 1.5));
                }
                note(changes, "more capacity: 1.5x filters per block, %.0f -> %.0f epochs", ep, ep * 1.5);
            } else {
                note(changes, "longer training: %.0f -> %.0f epochs", ep, ep * 1.5);
            }
            {
                double d = num(m, "dropout", 0.3);
                if (d > 0.1) { set_num(m, "dropout", d - 0.1); note(changes, "less dropout: %.2f -> %.2f", d, d - 0.1); }
            }
        }
    } else if (!strcmp(diag, "time_limit")) {
        if (fam == FAM_CNN) {
            double ep = num(m, "epochs", 40), bs = num(m, "batch_size", 64);
            set_int(m, "batch_size", (long)(bs * 2 > 512 ? 512 : bs * 2));
            note(changes, "cheaper epochs for the time limit: batch size %.0f -> %.0f", bs, bs * 2 > 512 ? 512 : bs * 2);
            (void)ep;
        } else if (fam == FAM_KMER_GBDT) {
            double lr = num(m, "learning_rate", 0.05);
            set_num(m, "learning_rate", clampd(lr * 2, GBDT_LR_MIN, GBDT_LR_MAX));
            note(changes, "fewer rounds needed for the time limit: learning rate %.4g -> %.4g", lr, clampd(lr * 2, GBDT_LR_MIN, GBDT_LR_MAX));
        } else {
            double it = num(m, "max_iter", 500);
            set_int(m, "max_iter", (long)(it / 2 < 20 ? 20 : it / 2));
            note(changes, "fewer solver iterations for the time limit: %.0f -> %.0f", it, it / 2);
        }
    } else if (!strcmp(diag, "diverged")) {
        if (fam == FAM_CNN) {
            double lr = num(m, "learning_rate", 1e-3), nlr = clampd(lr / 10, CNN_LR_MIN, 1);
            set_num(m, "learning_rate", nlr);
            note(changes, "the loss diverged: learning rate %.3g -> %.3g", lr, nlr);
        } else if (fam == FAM_KMER_GBDT) {
            double lr = num(m, "learning_rate", 0.05), nlr = clampd(lr / 5, GBDT_LR_MIN, GBDT_LR_MAX);
            set_num(m, "learning_rate", nlr);
            note(changes, "the loss diverged: learning rate %.3g -> %.3g", lr, nlr);
        } else {
            double C = num(m, "C", 1.0), nC = clampd(C / 10, C_MIN, C_MAX);
            set_num(m, "C", nC);
            note(changes, "the loss diverged: C %.3g -> %.3g", C, nC);
        }
    } else {
        /* a good fit: explore a neighbour that usually helps this family */
        if (fam == FAM_CNN && json_is_string(json_object_get(m, "schedule")) && strcmp(json_string_value(json_object_get(m, "schedule")), "plateau")) {
            /* an annealing schedule: a lower peak over a longer cycle (early
             * stopping would cut the cycle, so patience stays off) */
            double lr = num(m, "learning_rate", 3e-3), ep = num(m, "epochs", 30), nlr = clampd(lr / 2, CNN_LR_MIN, 1);
            set_num(m, "learning_rate", nlr);
            set_int(m, "epochs", (long)clampd(ceil(ep * 1.5), 1, CNN_EPOCHS_MAX));
            note(changes, "finer optimisation: peak learning rate %.3g -> %.3g over 1.5x the epochs", lr, nlr);
        } else if (fam == FAM_CNN) {
            double lr = num(m, "learning_rate", 1e-3), pat = num(m, "patience", 8), nlr = clampd(lr / 2, CNN_LR_MIN, 1);
            set_num(m, "learning_rate", nlr);
            set_int(m, "patience", (long)clampd(pat + 4, 0, PATIENCE_MAX));
            set_int(m, "lr_patience", 3);
            note(changes, "finer optimisation: learning rate %.3g -> %.3g with reduce-on-plateau", lr, nlr);
        } else if (fam == FAM_KMER_GBDT) {
            double lr = num(m, "learning_rate", 0.05), nlr = clampd(lr / 2, GBDT_LR_MIN, GBDT_LR_MAX);
            set_num(m, "learning_rate", nlr);
            set_int(m, "n_estimators", (long)clampd(num(m, "n_estimators", 1000) * 2, 1, GBDT_ROUNDS_MAX));
            note(changes, "finer boosting: learning rate %.4g -> %.4g, twice the rounds", lr, nlr);
        } else if (family_of(r) == FAM_POS_LOGREG) {
            double C = num(m, "C", 0.01), nC = clampd(C / 3, C_MIN, C_MAX);
            set_num(m, "C", nC);
            note(changes, "a smoother positional model: C %.4g -> %.4g", C, nC);
        } else {
            json_object_set_new(rep, "canonical", json_boolean(!json_is_true(json_object_get(rep, "canonical"))));
            note(changes, "strand handling flipped: canonical k-mers %.0f (1 = on, was %.0f)", json_is_true(json_object_get(rep, "canonical")), !json_is_true(json_object_get(rep, "canonical")));
        }
    }
    return r;
}

/* ---- the decisions ------------------------------------------------------- */

/* Whether a CNN is worth its cost here, and the family order. */
static void family_order(const facts *f, int order[N_FAMILIES], json_t *why)
{
    int cnn_ok = f->n_train >= 300 && f->median_len >= 8;
    /* Position-aware models pay off when nucleotides at fixed positions
     * carry class information beyond chance, or when composition alone
     * separates the classes poorly; with many examples they usually win. */
    int cnn_first = cnn_ok && (f->positional || f->n_train >= 5000 || f->kmer_bacc < f->chance + 0.25);
    int pos_lr = f->positional && f->aligned && f->max_len <= 2000;
    /* the trees read a dense matrix (5 bytes a cell with its bin codes):
     * at most 2e8 cells, 1 GB */
    int pos_gbdt = pos_lr && f->n_train * 4 * f->max_len * (f->n_seq > 1 ? f->n_seq : 1) <= 2e8;
    int n = 0, i;
    order[n++] = FAM_KMER_LOGREG;
    /* the positional models are cheap (one-hot, at most 8,000 columns a
     * sequence) and, where position carries the signal, strong: first */
    if (pos_lr) order[n++] = FAM_POS_LOGREG;
    if (pos_gbdt) order[n++] = FAM_POS_GBDT;
    if (cnn_first) { order[n++] = FAM_CNN; order[n++] = FAM_KMER_GBDT; }
    else { order[n++] = FAM_KMER_GBDT; if (cnn_ok) order[n++] = FAM_CNN; }
    for (i = n; i < N_FAMILIES; i++) order[i] = -1;
    json_object_set_new(why, "cnn_considered", json_boolean(cnn_ok));
    json_object_set_new(why, "cnn_before_gbdt", json_boolean(cnn_first));
    json_object_set_new(why, "positional_linear_considered", json_boolean(pos_lr));
    json_object_set_new(why, "positional_trees_considered", json_boolean(pos_gbdt));
    json_object_set_new(why, "evidence", json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "n_train", f->n_train, "median_length", f->median_len,
                                                   "length_cv", f->len_cv, "positional_excess_mi_bits", f->pos_excess, "positional_snr", f->pos_snr,
                                                   "kmer_centroid_balanced_accuracy", f->kmer_bacc, "chance", f->chance));
}

/* Whether an earlier iteration of h ran this recipe, the seed and name
 * aside. */
static int recipe_seen(const ao_history *h, const json_t *recipe)
{
    json_t *a = json_deep_copy(recipe), *b;
    int i, seen = 0;
    if (!a) return 0;
    json_object_del(a, "seed");
    json_object_del(a, "name");
    for (i = 0; !seen && i < h->n_iters; i++) {
        const json_t *r = json_object_get(ao_iteration_output(&h->iters[i], "code"), "recipe");
        if (!json_is_object(r) || !(b = json_deep_copy(r))) continue;
        json_object_del(b, "seed");
        json_object_del(b, "name");
        seen = json_equal(a, b);
        json_decref(b);
    }
    json_decref(a);
    return seen;
}

int ao_policy_fallback_recipe(const ao_run_config *run, const ao_history *h, json_t **recipe, ao_err *err)
{
    facts f = read_facts(h->profile);
    if (!(*recipe = recipe_logreg(&f, recipe_seed(run, h)))) return ao_err_set(err, AO_EMEM, "out of memory");
    return AO_OK;
}

int ao_policy_next_recipe(const ao_run_config *run, const ao_history *h, json_t **recipe_out, json_t **why_out, ao_err *err)
{
    facts f = read_facts(h->profile);
    past p = read_past(h, run->metric);
    uint64_t seed = recipe_seed(run, h);
    int order[N_FAMILIES], i, fam = -1;
    json_t *changes = json_array(), *recipe = NULL, *why = json_object();
    const char *basis = NULL;
    *recipe_out = *why_out = NULL;
    if (!changes || !why) goto NOMEM;
    family_order(&f, order, why);
    /* 1. a failed last run is repaired (twice at most), else abandoned */
    if (p.last_status && strcmp(p.last_status, "ok") != 0 && p.last_recipe && p.repairs_in_a_row <= 2) {
        const char *diag = !strcmp(p.last_status, "time_limit") ? "time_limit" : !strcmp(p.last_status, "diverged") ? "diverged" : "failed";
        if (strcmp(diag, "failed") != 0) {
            if (!(recipe = adjust(p.last_recipe, diag, &f, changes))) goto NOMEM;
            basis = "repair of the last run";
            fam = family_of(recipe);
        }
    }
    /* 2. families in order, each once; one whose recipe failed its smoke
     * run (too large for the memory limit, too slow for the time limit)
     * would fail it again and counts as tried */
    for (i = 0; !recipe && i < N_FAMILIES; i++)
        if (order[i] >= 0 && !p.tried[order[i]] && !p.smoke_failed[order[i]]) {
            fam = order[i];
            if (!(recipe = default_recipe(fam, &f, seed))) goto NOMEM;
            basis = i == 0 ? "baseline: cheap and strong" : "next family the data calls for";
        }
    /* 3. refine a tried family according to its diagnosis: the families
     * close to the best in turn (below), then the others by their best value. Under a wall-time
     * budget only families whose measured cost (their longest run, with
     * half again for a refinement that trains longer) fits the time left
     * qualify, else the cheapest, so the last iterations still add models
     * rather than overrun the budget. A refinement that repeats an earlier
     * recipe (the seed aside) is no new model: the family's most recent
     * variant is refined instead, then the next family is tried; when
     * every refinement repeats, the best CNN or GBDT is trained again with
     * this iteration's seed (a different model of the same quality, an
     * ensemble member); only a linear-only lineage repeats itself, and its
     * plateau rule then stops it. */
    if (!recipe) {
        int rank[N_FAMILIES], n_rank = 0, cheapest = -1, k, j;
        double left = run->budgets.wall_seconds > 0 ? run->budgets.wall_seconds - ao_history_elapsed(h) : INFINITY;
        double close = p.noise > CLOSE_FAMILIES ? p.noise : CLOSE_FAMILIES;
        for (i = 0; i < N_FAMILIES; i++) {
            if (!p.tried[i] || !p.best_recipe[i]) continue;
            if (cheapest < 0 || p.cost[i] < p.cost[cheapest]) cheapest = i;
            if (1.5 * p.cost[i] > left) continue;
            for (k = n_rank; k > 0 && p.best_value[rank[k - 1]] < p.best_value[i]; k--) rank[k] = rank[k - 1];
            rank[k] = i;
            n_rank++;
        }
        if (!n_rank && cheapest >= 0) rank[n_rank++] = cheapest;
        /* Refinements take turns among the families within `close` of
         * the best value (the k-th refinement starts with the (k mod
         * n)-th of them), so a search does not spend its budget on
         * near-copies of one family while another nearly as good family
         * could add a different model to the ensemble. Close means within
         * CLOSE_FAMILIES or within the values' sampling noise, whichever
         * is wider: on a 200-row slice an MCC 0.07 lower is no evidence
         * that a family is worse. */
        {
            int n_close = 0, start, refinements = p.n, tmp[N_FAMILIES];
            for (i = 0; i < N_FAMILIES; i++) refinements -= p.tried[i] > 0;
            while (n_close < n_rank && p.best_value[rank[n_close]] >= p.best_value[rank[0]] - close) n_close++;
            start = n_close > 1 && refinements > 0 ? refinements % n_close : 0;
            for (k = 0; k < n_rank; k++) tmp[k] = rank[k < n_close ? (k + start) % n_close : k];
            memcpy(rank, tmp, sizeof *tmp * (size_t)n_rank);
        }
        for (k = 0; !recipe && k < n_rank; k++) {
            const json_t *from[2] = {p.best_recipe[rank[k]], p.family_last_recipe[rank[k]]};
            const json_t *diags[2] = {p.best_diag[rank[k]], p.family_last_diag[rank[k]]};
            /* the latest variant is refined further only while it is not
             * clearly worse than the family's best: a walk that went
             * downhill ends, and the next family gets the turn */
            int walk = p.family_last_value[rank[k]] >= p.best_value[rank[k]] - close;
            for (j = 0; !recipe && j < 1 + walk; j++) {
                const char *diag = json_string_value(json_object_get(diags[j], "diagnosis"));
                json_t *note = json_array(), *cand = note && from[j] ? adjust(from[j], diag ? diag : "ok", &f, note) : NULL;
                if (!note || (from[j] && !cand)) { json_decref(note); goto NOMEM; }
                if (cand && !recipe_seen(h, cand)) {
                    recipe = cand;
                    json_decref(changes);
                    changes = note;
                    fam = rank[k];
                    basis = k == 0 ? (j == 0 ? "refinement of the best family" : "refinement of the best family's latest variant")
                                   : "refinement of another family (the best family's refinements were tried)";
                } else {
                    json_decref(cand);
                    json_decref(note);
                }
            }
        }
        for (k = 0; !recipe && k < n_rank; k++)
            if (rank[k] == FAM_CNN || rank[k] == FAM_KMER_GBDT || rank[k] == FAM_POS_GBDT) {
                if (!(recipe = json_deep_copy(p.best_recipe[rank[k]]))) goto NOMEM;
                fam = rank[k];
                basis = "the best stochastic model again with a new seed (every refinement was tried)";
            }
        if (!recipe && n_rank) {
            if (!(recipe = adjust(p.best_recipe[rank[0]], "ok", &f, changes))) goto NOMEM;
            fam = rank[0];
            basis = "refinement of the best family (a repeat: nothing new is left)";
        }
        if (!recipe) {
            if (!(recipe = default_recipe(FAM_KMER_LOGREG, &f, seed))) goto NOMEM;
            fam = FAM_KMER_LOGREG;
            basis = "fresh baseline";
        }
        if (json_object_set_new(why, "close_band", json_real(close)) != 0) goto NOMEM;
        if (isfinite(left) &&
            json_object_set_new(why, "time", json_pack("{s:f,s:f,s:s}", "left_seconds", left, "cost_estimate_seconds", 1.5 * p.cost[fam],
                                                       "refined_family", family_name(fam))) != 0) goto NOMEM;
    }
    if (json_object_set_new(recipe, "seed", json_integer((json_int_t)seed)) != 0 ||
        json_object_set_new(why, "family", json_string(family_name(fam))) != 0 ||
        json_object_set_new(why, "basis", json_string(basis)) != 0 ||
        json_object_set_new(why, "changes", changes) != 0) { changes = NULL; goto NOMEM; }
    if (json_object_set_new(why, "metric", json_string(run->metric)) != 0) { changes = NULL; goto NOMEM; }
    *recipe_out = recipe;
    *why_out = why;
    return AO_OK;
NOMEM:
    json_decref(changes);
    json_decref(recipe);
    json_decref(why);
    return ao_err_set(err, AO_EMEM, "out of memory choosing the next recipe");
}

int ao_policy_plan(const ao_run_config *run, const ao_history *h, json_t **out, ao_err *err)
{
    past p = read_past(h, run->metric);
    const ao_iteration *cur = ao_history_current(h);
    int iteration = cur ? cur->number : 1;
    json_t *best = NULL;
    char goal[256];
    if (h->best.iteration) {
        snprintf(goal, sizeof goal, "beat the best %s %s of %.4f (iteration %d)", h->best.on_selection ? "selection-slice" : "validation", run->metric,
                 h->best.value, h->best.iteration);
        best = ao_best_json(&h->best);
        if (!best) return ao_err_set(err, AO_EMEM, "out of memory");
    } else if (iteration == 1) {
        snprintf(goal, sizeof goal, "establish a validated baseline on %s", run->metric);
    } else {
        snprintf(goal, sizeof goal, "obtain a first working model (no successful iteration yet)");
    }
    *out = json_pack("{s:i,s:s,s:s,s:i,s:o,s:{s:i,s:i,s:i,s:i,s:i}}", "iteration", iteration, "goal", goal, "metric", run->metric,
                     "iterations_budget", run->budgets.iterations, "best_so_far", best ? best : json_null(),
                     "tried", "kmer-logreg", p.tried[FAM_KMER_LOGREG], "kmer-gbdt", p.tried[FAM_KMER_GBDT], "cnn", p.tried[FAM_CNN],
                     "positional-logreg", p.tried[FAM_POS_LOGREG], "positional-gbdt", p.tried[FAM_POS_GBDT]);
    return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

int ao_policy_diagnose(const ao_run_config *run, const json_t *metrics, const json_t *analysis, json_t **out, ao_err *err)
{
    const char *status = json_string_value(json_object_get(metrics, "status"));
    json_t *tr = json_object_get(metrics, "train"), *va = json_object_get(metrics, "valid");
    const char *metric = run->metric;
    double mt = num(tr, metric, NAN), mv = num(va, metric, NAN);
    double lt = num(tr, "log_loss", NAN), lv = num(va, "log_loss", NAN);
    double at = num(tr, "accuracy", NAN), av = num(va, "accuracy", NAN);
    const char *diag;
    json_t *sugg;
    (void)analysis;
    if (!status || strcmp(status, "ok") != 0) diag = !status ? "failed" : status;
    else if (!isnan(mt) && !isnan(mv) && (mt - mv > 0.05 || (!isnan(lt) && !isnan(lv) && lv - lt > 0.25 && at - av > 0.05))) diag = "overfitting";
    else if (!isnan(at) && !isnan(av) && at < 0.9 && at - av < 0.03) diag = "underfitting";
    else diag = "ok";
    if (!strcmp(diag, "overfitting"))
        sugg = json_pack("{s:s,s:s,s:s}", "represent", "fewer or shorter features, or augmentation (reverse complement)",
                         "architect", "more regularisation: lower C, larger leaves / slower boosting, more dropout or weight decay",
                         "code", "keep early stopping on the validation split");
    else if (!strcmp(diag, "underfitting"))
        sugg = json_pack("{s:s,s:s,s:s}", "represent", "richer features: longer k-mers, position-aware input",
                         "architect", "more capacity: weaker regularisation, more leaves or filters, or a CNN",
                         "code", "train longer");
    else if (!strcmp(diag, "ok"))
        sugg = json_pack("{s:s,s:s,s:s}", "represent", "keep", "architect", "try the next family or a finer schedule", "code", "keep");
    else
        sugg = json_pack("{s:s,s:s,s:s}", "represent", "keep or simplify", "architect", "a smaller or safer model",
                         "code", !strcmp(diag, "time_limit") ? "cheaper epochs or fewer rounds" : "lower learning rate");
    {
        json_t *ev = json_pack("{s:s}", "metric", metric);
        if (!ev || !sugg) { json_decref(ev); json_decref(sugg); return ao_err_set(err, AO_EMEM, "out of memory"); }
        set_num_or_null(ev, "train", mt);
        set_num_or_null(ev, "valid", mv);
        set_num_or_null(ev, "gap", mt - mv);
        set_num_or_null(ev, "train_log_loss", lt);
        set_num_or_null(ev, "valid_log_loss", lv);
        set_num_or_null(ev, "train_accuracy", at);
        set_num_or_null(ev, "valid_accuracy", av);
        *out = json_pack("{s:s,s:o,s:o}", "diagnosis", diag, "evidence", ev, "suggestions", sugg);
        return *out ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
    }
}
