/* learner_gbdt.c — the gradient-boosted-trees row of the learner table
 * (learner.h): its recipe parameters and its adapter to gbdt.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "agentomics/jsonfield.h"
#include "agentomics/learner.h"
#include "agentomics/log.h"
#include "agentomics/progress.h"

static const char *const cw_names[] = {"none", "balanced", NULL};
static const int cw_values[] = {AO_GBDT_CW_NONE, AO_GBDT_CW_BALANCED};

static void defaults(ao_learner_params *p) { ao_gbdt_params_init(&p->gbdt); }

static int parse(const json_t *o, const char *file, ao_learner_params *lp, ao_err *err)
{
    static const char *const keys[] = {"type", "n_estimators", "learning_rate", "max_depth", "max_leaves", "lambda",
                                       "min_split_gain", "min_child_weight", "min_samples_leaf", "max_bins", "subsample",
                                       "colsample", "early_stopping_rounds", "class_weight", NULL};
    const char *P = "$.model";
    const ao_jf c = {file, err};
    ao_gbdt_params *g = &lp->gbdt;
    AO_JF_TRY(ao_jf_keys(&c, o, P, keys));
    AO_JF_TRY(ao_jf_int(&c, o, P, "n_estimators", 1, 100000, &g->n_estimators));
    AO_JF_TRY(ao_jf_num(&c, o, P, "learning_rate", 1e-6, 10, &g->learning_rate));
    AO_JF_TRY(ao_jf_int(&c, o, P, "max_depth", 0, 64, &g->max_depth));
    AO_JF_TRY(ao_jf_int(&c, o, P, "max_leaves", 0, 65536, &g->max_leaves));
    AO_JF_TRY(ao_jf_num(&c, o, P, "lambda", 0, 1e6, &g->lambda));
    AO_JF_TRY(ao_jf_num(&c, o, P, "min_split_gain", 0, 1e6, &g->min_split_gain));
    AO_JF_TRY(ao_jf_num(&c, o, P, "min_child_weight", 0, 1e6, &g->min_child_weight));
    AO_JF_TRY(ao_jf_int(&c, o, P, "min_samples_leaf", 1, 1000000, &g->min_samples_leaf));
    AO_JF_TRY(ao_jf_int(&c, o, P, "max_bins", 2, 255, &g->max_bins));
    AO_JF_TRY(ao_jf_num(&c, o, P, "subsample", 1e-3, 1, &g->subsample));
    AO_JF_TRY(ao_jf_num(&c, o, P, "colsample", 1e-3, 1, &g->colsample));
    AO_JF_TRY(ao_jf_int(&c, o, P, "early_stopping_rounds", 0, 100000, &g->early_stopping_rounds));
    AO_JF_TRY(ao_jf_enum(&c, o, P, "class_weight", cw_names, cw_values, &g->class_weight_mode));
    if (g->max_depth <= 0 && g->max_leaves <= 0)
        return ao_jf_fail(&c, P, "max_depth", "max_depth and max_leaves cannot both be unlimited (0)", NULL);
    return AO_OK;
}

static json_t *to_json(const ao_learner_params *lp)
{
    const ao_gbdt_params *g = &lp->gbdt;
    return json_pack("{s:s,s:i,s:f,s:i,s:i,s:f,s:f,s:f,s:i,s:i,s:f,s:f,s:i,s:s}", "type", "gbdt",
                     "n_estimators", g->n_estimators, "learning_rate", g->learning_rate, "max_depth", g->max_depth,
                     "max_leaves", g->max_leaves, "lambda", g->lambda, "min_split_gain", g->min_split_gain,
                     "min_child_weight", g->min_child_weight, "min_samples_leaf", g->min_samples_leaf, "max_bins", g->max_bins,
                     "subsample", g->subsample, "colsample", g->colsample, "early_stopping_rounds", g->early_stopping_rounds,
                     "class_weight", ao_jf_enum_name(cw_names, cw_values, g->class_weight_mode));
}

static void shrink(ao_learner_params *p)
{
    if (p->gbdt.n_estimators > 10) p->gbdt.n_estimators = 10;
}

static double memory(const ao_learner_params *p, const ao_learner_shape *s, const char **what)
{
    /* a dense float matrix plus its one-byte bin codes, and per row and
     * class the scores, probabilities and gradient pairs */
    double K = s->n_classes > 2 ? s->n_classes : 1;
    (void)p;
    *what = s->length > 0 ? "$.representation.length: the dense one-hot matrix for gradient-boosted trees"
                          : "$.representation.k: the dense feature matrix for gradient-boosted trees";
    return (double)s->n_rows * (double)s->n_features * 5.0 + (double)s->n_rows * K * 8.0 * 4;
}

typedef struct progress_ctx {
    const ao_fit_opts *o;
    int hit_limit, capped, cap, hard, best;
    double best_vl;
} progress_ctx;

static int progress(void *ctx, int round, double train_loss, double valid_loss)
{
    progress_ctx *p = ctx;
    if (p->o->log)
        fprintf(p->o->log, "round\t%d\ttrain_loss\t%.6g\tvalid_loss\t%.6g\telapsed\t%.2f\n", round, train_loss, valid_loss, ao_now() - p->o->t0);
    ao_progress_step(p->o->progress, "round", round, round < p->cap ? p->cap : p->hard, train_loss, valid_loss, NAN);
    if (ao_fit_over_time(p->o)) p->hit_limit = 1;
    if (p->hit_limit) return 1;
    /* the soft round cap (learner.h): from the recipe's last round on, go
     * on while the best validation round (the same strict test as gbdt.c's
     * early stopping) is among the last AO_GBDT_WINDOW */
    if (valid_loss < p->best_vl) { p->best_vl = valid_loss; p->best = round; }
    if (round + 1 >= p->cap && round - p->best >= AO_GBDT_WINDOW) p->capped = 1;
    return p->capped;
}

static int fit(const ao_learner_params *lp, const ao_learner_data *tr, const ao_learner_data *va, const ao_fit_opts *o,
               void **model, ao_train_report *rep, ao_err *err)
{
    ao_gbdt_params p = lp->gbdt;
    int cap = lp->gbdt.n_estimators;
    /* without validation there is no improvement to extend on */
    progress_ctx pc = {o, 0, 0, cap, va && va->n > 0 ? ao_fit_extended_cap(cap, AO_GBDT_EXTEND) : cap, -1, INFINITY};
    ao_dense *D = NULL, *Dv = NULL;
    ao_gbdt *m = NULL;
    int rc;
    *model = NULL;
    p.seed = o->seed;
    p.threads = o->threads;
    p.n_estimators = pc.hard;
    p.progress = progress;
    p.progress_ctx = &pc;
    p.deadline = o->time_limit > 0 ? o->t0 + o->time_limit : 0;
    if (!(D = ao_csr_to_dense(tr->X)) || (va && !(Dv = ao_csr_to_dense(va->X)))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory for the dense feature matrix");
        goto DONE;
    }
    rc = ao_gbdt_fit(&p, D, tr->y, o->n_classes, NULL, Dv, Dv ? va->y : NULL, &m, err);
    if (rc == AO_GBDT_EDIVERGED) {
        /* the rounds before the divergence are kept as the model */
        ao_err_init(err);
        rc = AO_OK;
    }
    if (rc < 0) goto DONE;
    if (ao_gbdt_stopped(m) && !pc.capped && ao_fit_over_time(o)) pc.hit_limit = 1;   /* cut inside a round */
    rep->epochs = ao_gbdt_n_history(m);
    rep->best = ao_gbdt_n_rounds(m);
    if (ao_gbdt_diverged(m)) {
        rep->status = ao_gbdt_n_rounds(m) > 0 ? AO_TRAIN_DIVERGED : AO_TRAIN_FAILED;
        snprintf(rep->message, sizeof rep->message, "a boosting round produced a NaN/inf loss; %d rounds kept", rep->best);
    } else if (pc.hit_limit) {
        rep->status = AO_TRAIN_TIME_LIMIT;
        snprintf(rep->message, sizeof rep->message, "time limit after %d rounds; %d kept", rep->epochs, rep->best);
    } else {
        snprintf(rep->message, sizeof rep->message, "%d rounds run, %d kept%s", rep->epochs, rep->best,
                 rep->epochs > cap ? " (n_estimators extended while the validation loss still improved)" : "");
        if (pc.hard > cap && rep->epochs >= pc.hard && !pc.capped)
            snprintf(rep->warning, sizeof rep->warning, "round cap: the validation loss still improved within the last %d of %d rounds "
                     "(n_estimators %d extended %dx); more rounds may still help", AO_GBDT_WINDOW, rep->epochs, cap, AO_GBDT_EXTEND);
    }
    *model = m;
    m = NULL;
DONE:
    ao_gbdt_destroy(m);
    ao_dense_destroy(D);
    ao_dense_destroy(Dv);
    return rc;
}

static int predict_proba(const void *m, const ao_learner_data *x, int threads, double *proba, ao_err *err)
{
    ao_dense *D = ao_csr_to_dense(x->X);
    int rc = AO_OK;
    (void)threads;
    if (!D || ao_gbdt_predict_proba(m, D, proba) < 0) rc = ao_err_set(err, AO_EMEM, "out of memory predicting");
    ao_dense_destroy(D);
    return rc;
}

static int save(const void *m, ao_buf *b) { return ao_gbdt_save(m, b); }

static int load(ao_cursor *c, void **model, ao_err *err)
{
    ao_gbdt *m = NULL;
    int rc = ao_gbdt_load(c, &m, err);
    *model = m;
    return rc;
}

static void io(const void *m, ao_learner_io *io)
{
    memset(io, 0, sizeof *io);
    io->n_classes = ao_gbdt_n_classes(m);
    io->n_features = ao_gbdt_n_features(m);
}

static void destroy(void *m) { ao_gbdt_destroy(m); }

const ao_learner ao_learner_gbdt = {
    .name = "gbdt",
    .kind = AO_LEARNER_GBDT,
    .input = AO_INPUT_FEATURES,
    .scaled = 0,   /* splits are invariant to the scale of a feature */
    .defaults = defaults,
    .parse = parse,
    .to_json = to_json,
    .shrink = shrink,
    .memory = memory,
    .fit = fit,
    .predict_proba = predict_proba,
    .save = save,
    .load = load,
    .io = io,
    .destroy = destroy,
};
