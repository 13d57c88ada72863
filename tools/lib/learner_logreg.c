/* learner_logreg.c — the logistic-regression row of the learner table
 * (learner.h): its recipe parameters and its adapter to logreg.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "agentomics/jsonfield.h"
#include "agentomics/learner.h"
#include "agentomics/log.h"
#include "agentomics/progress.h"

static const char *const cw_names[] = {"none", "balanced", NULL};
static const int cw_values[] = {AO_LOGREG_CW_NONE, AO_LOGREG_CW_BALANCED};

static void defaults(ao_learner_params *p) { ao_logreg_params_init(&p->logreg); }

static int parse(const json_t *o, const char *file, ao_learner_params *lp, ao_err *err)
{
    static const char *const keys[] = {"type", "C", "max_iter", "tol", "class_weight", NULL};
    const char *P = "$.model";
    const ao_jf c = {file, err};
    ao_logreg_params *p = &lp->logreg;
    AO_JF_TRY(ao_jf_keys(&c, o, P, keys));
    AO_JF_TRY(ao_jf_num(&c, o, P, "C", 1e-8, 1e8, &p->C));
    AO_JF_TRY(ao_jf_int(&c, o, P, "max_iter", 1, 100000, &p->max_iter));
    AO_JF_TRY(ao_jf_num(&c, o, P, "tol", 0, 1, &p->tol));
    AO_JF_TRY(ao_jf_enum(&c, o, P, "class_weight", cw_names, cw_values, &p->class_weight));
    return AO_OK;
}

static json_t *to_json(const ao_learner_params *lp)
{
    const ao_logreg_params *p = &lp->logreg;
    return json_pack("{s:s,s:f,s:i,s:f,s:s}", "type", "logreg", "C", p->C, "max_iter", p->max_iter, "tol", p->tol,
                     "class_weight", ao_jf_enum_name(cw_names, cw_values, p->class_weight));
}

static void shrink(ao_learner_params *p)
{
    if (p->logreg.max_iter > 20) p->logreg.max_iter = 20;
}

static double memory(const ao_learner_params *p, const ao_learner_shape *s, const char **what)
{
    /* weights, gradient and L-BFGS history (2m vectors and four more) per
     * class vector and feature (doubles), and the scores per row and class */
    double nvec = s->n_classes > 2 ? s->n_classes : 1;
    *what = s->length > 0 ? "$.representation.length: the logistic-regression weights and solver state for the one-hot matrix"
                          : "$.representation.k: the logistic-regression weights and solver state";
    return (double)(s->n_features + 1) * nvec * (p->logreg.lbfgs_m * 2 + 4) * 8.0 + (double)s->n_rows * nvec * 8.0 * 2;
}

/* The L-BFGS callback runs every iteration (for the soft cap) but logs
 * every 10th, as the other learners' blocks; fit logs the last one. */
typedef struct progress_ctx {
    const ao_fit_opts *o;
    int hit_limit, plateau, cap, hard, logged;
    double f[AO_LOGREG_WINDOW + 1];   /* the objective of the last window + 1 iterations, by iter mod size */
} progress_ctx;

static void log_iter(progress_ctx *p, int iter, double loss, double gnorm)
{
    if (p->o->log) fprintf(p->o->log, "iter\t%d\tloss\t%.6g\tgrad_norm\t%.6g\telapsed\t%.2f\n", iter, loss, gnorm, ao_now() - p->o->t0);
    ao_progress_step(p->o->progress, "iteration", iter, iter <= p->cap ? p->cap : p->hard, loss, NAN, NAN);
    p->logged = iter;
}

static int progress(void *ctx, int iter, double loss, double gnorm)
{
    progress_ctx *p = ctx;
    if (iter % 10 == 0) log_iter(p, iter, loss, gnorm);
    p->f[iter % (AO_LOGREG_WINDOW + 1)] = loss;
    if (ao_fit_over_time(p->o)) p->hit_limit = 1;
    if (p->hit_limit) return 1;
    /* past the recipe's cap (only unconverged iterates get here): go on
     * while the objective still falls measurably */
    if (iter >= p->cap && iter >= AO_LOGREG_WINDOW) {
        double old = p->f[(iter - AO_LOGREG_WINDOW) % (AO_LOGREG_WINDOW + 1)];
        if (!(old - loss > AO_LOGREG_PLATEAU * fmax(fabs(old), 1.0))) p->plateau = 1;
    }
    return p->plateau;
}

/* L-BFGS has no early stopping: valid is not used. */
static int fit(const ao_learner_params *lp, const ao_learner_data *tr, const ao_learner_data *va, const ao_fit_opts *o,
               void **model, ao_train_report *rep, ao_err *err)
{
    ao_logreg_params p = lp->logreg;
    progress_ctx pc;
    ao_logreg *m = NULL;
    int rc, n;
    (void)va;
    *model = NULL;
    memset(&pc, 0, sizeof pc);
    pc.o = o;
    pc.cap = lp->logreg.max_iter;
    pc.hard = ao_fit_extended_cap(pc.cap, AO_LOGREG_EXTEND);
    pc.logged = -1;
    p.max_iter = pc.hard;
    p.threads = o->threads;
    p.progress = progress;
    p.progress_ctx = &pc;
    p.progress_every = 1;
    p.deadline = o->time_limit > 0 ? o->t0 + o->time_limit : 0;
    rc = ao_logreg_fit(&p, tr->X, tr->y, o->n_classes, NULL, &m, err);
    if (rc == AO_LOGREG_EDIVERGED) {
        /* a recorded outcome, not an error: no model */
        rep->status = AO_TRAIN_DIVERGED;
        snprintf(rep->message, sizeof rep->message, "the logistic-regression loss became NaN/inf: %.200s", err->msg);
        ao_err_init(err);
        return AO_OK;
    }
    if (rc < 0) return rc;
    n = rep->epochs = ao_logreg_n_iter(m);
    if (pc.logged != n) log_iter(&pc, n, ao_logreg_loss(m), ao_logreg_gnorm(m));
    if (pc.hit_limit || (ao_logreg_status(m) == AO_LBFGS_STOPPED && !pc.plateau)) {
        rep->status = AO_TRAIN_TIME_LIMIT;   /* the callback's check or the solver's own deadline */
        snprintf(rep->message, sizeof rep->message, "time limit after %d L-BFGS iterations (not converged)", n);
    } else if (ao_logreg_converged(m)) {
        snprintf(rep->message, sizeof rep->message, n > pc.cap ? "converged after %d L-BFGS iterations (max_iter %d extended while the objective still fell)"
                 : "converged after %d L-BFGS iterations", n, pc.cap);
    } else {
        if (pc.plateau)
            snprintf(rep->warning, sizeof rep->warning, "iteration cap: logistic regression stopped after %d L-BFGS iterations (max_iter %d), "
                     "not converged (gradient max-norm %.3g > tol %.3g) but the objective fell by less than %g over the last %d iterations",
                     n, pc.cap, ao_logreg_gnorm(m), lp->logreg.tol, AO_LOGREG_PLATEAU, AO_LOGREG_WINDOW);
        else if (ao_logreg_status(m) == AO_LBFGS_MAX_ITER)
            snprintf(rep->warning, sizeof rep->warning, "iteration cap: logistic regression did not converge in %d L-BFGS iterations "
                     "(max_iter %d extended %dx; gradient max-norm %.3g > tol %.3g); raise max_iter or lower C",
                     n, pc.cap, AO_LOGREG_EXTEND, ao_logreg_gnorm(m), lp->logreg.tol);
        else
            snprintf(rep->warning, sizeof rep->warning, "logistic regression stopped after %d L-BFGS iterations, not converged: %s",
                     n, ao_lbfgs_status_str(ao_logreg_status(m)));
        snprintf(rep->message, sizeof rep->message, "%s", rep->warning);
    }
    *model = m;
    return AO_OK;
}

static int predict_proba(const void *m, const ao_learner_data *x, int threads, double *proba, ao_err *err)
{
    (void)threads;
    if (ao_logreg_predict_proba(m, x->X, proba) < 0) return ao_err_set(err, AO_EMEM, "out of memory predicting");
    return AO_OK;
}

static int save(const void *m, ao_buf *b) { return ao_logreg_save(m, b); }

static int load(ao_cursor *c, void **model, ao_err *err)
{
    ao_logreg *m = NULL;
    int rc = ao_logreg_load(c, &m, err);
    *model = m;
    return rc;
}

static void io(const void *m, ao_learner_io *io)
{
    memset(io, 0, sizeof *io);
    io->n_classes = ao_logreg_n_classes(m);
    io->n_features = ao_logreg_n_features(m);
}

static void destroy(void *m) { ao_logreg_destroy(m); }

const ao_learner ao_learner_logreg = {
    .name = "logreg",
    .kind = AO_LEARNER_LOGREG,
    .input = AO_INPUT_FEATURES,
    /* an L2 penalty treats every feature alike, so features on very
     * different scales (k-mer frequencies next to GC fractions and log
     * lengths) are put on one scale first */
    .scaled = 1,
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
