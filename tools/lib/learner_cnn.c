/* learner_cnn.c — the 1-D CNN row of the learner table (learner.h): its
 * recipe parameters (architecture and training schedule) and its adapter
 * to cnn.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "agentomics/jsonfield.h"
#include "agentomics/learner.h"
#include "agentomics/log.h"
#include "agentomics/progress.h"

static const char *const cw_names[] = {"none", "balanced", NULL};
static const int cw_values[] = {AO_CNN_CW_NONE, AO_CNN_CW_BALANCED};
static const char *const pools[] = {"none", "max", "avg", NULL};
static const int pool_v[] = {AO_CNN_POOL_NONE, AO_CNN_POOL_MAX, AO_CNN_POOL_AVG};
static const char *const schedules[] = {"plateau", "onecycle", "cosine", NULL};
static const int schedule_v[] = {AO_CNN_SCHED_PLATEAU, AO_CNN_SCHED_ONECYCLE, AO_CNN_SCHED_COSINE};
static const char *const gpools[] = {"max", "avg", "maxavg", "flatten", NULL};
static const int gpool_v[] = {AO_CNN_GLOBAL_MAX, AO_CNN_GLOBAL_AVG, AO_CNN_GLOBAL_MAXAVG, AO_CNN_FLATTEN};

static void defaults(ao_learner_params *p)
{
    ao_cnn_arch_default(&p->cnn.arch);
    ao_cnn_train_params_default(&p->cnn.train);
}

/* "blocks": replaces the default blocks; a block's absent keys take the
 * block defaults below, not the default architecture's. */
static int parse_blocks(const ao_jf *c, const json_t *blocks, ao_cnn_arch *a)
{
    static const char *const block_keys[] = {"filters", "width", "dilation", "pool", "pool_size", NULL};
    const char *P = "$.model";
    size_t i;
    if (!json_is_array(blocks) || json_array_size(blocks) < 1 || json_array_size(blocks) > AO_CNN_MAX_BLOCKS)
        return ao_jf_fail(c, P, "blocks", "expected an array of 1 to 8 conv blocks", ao_jf_kind(blocks));
    a->n_blocks = (int)json_array_size(blocks);
    for (i = 0; i < json_array_size(blocks); i++) {
        json_t *b = json_array_get(blocks, i);
        char path[64];
        ao_cnn_block *bl = &a->blocks[i];
        snprintf(path, sizeof path, "%s.blocks[%zu]", P, i);
        if (!json_is_object(b)) return ao_jf_fail(c, path, NULL, "expected an object", ao_jf_kind(b));
        *bl = (ao_cnn_block){64, 9, 1, AO_CNN_POOL_NONE, 2};
        AO_JF_TRY(ao_jf_keys(c, b, path, block_keys));
        AO_JF_TRY(ao_jf_int(c, b, path, "filters", 1, 4096, &bl->filters));
        AO_JF_TRY(ao_jf_int(c, b, path, "width", 1, 1024, &bl->width));
        AO_JF_TRY(ao_jf_int(c, b, path, "dilation", 1, 1024, &bl->dilation));
        AO_JF_TRY(ao_jf_enum(c, b, path, "pool", pools, pool_v, &bl->pool));
        AO_JF_TRY(ao_jf_int(c, b, path, "pool_size", 1, 1024, &bl->pool_size));
    }
    return AO_OK;
}

static int parse(const json_t *o, const char *file, ao_learner_params *lp, ao_err *err)
{
    static const char *const keys[] = {"type", "blocks", "global_pool", "dropout", "hidden", "hidden_dropout", "epochs",
                                       "batch_size", "learning_rate", "weight_decay", "decoupled_weight_decay", "patience",
                                       "lr_patience", "lr_factor", "schedule", "rc_augment", "rc_average", "class_weight", NULL};
    const char *P = "$.model";
    const ao_jf c = {file, err};
    ao_cnn_arch *a = &lp->cnn.arch;
    ao_cnn_train_params *t = &lp->cnn.train;
    json_t *blocks = json_object_get(o, "blocks");
    double d;
    AO_JF_TRY(ao_jf_keys(&c, o, P, keys));
    if (blocks) AO_JF_TRY(parse_blocks(&c, blocks, a));
    AO_JF_TRY(ao_jf_enum(&c, o, P, "global_pool", gpools, gpool_v, &a->global_pool));
    /* the network keeps dropout rates as floats */
    d = a->dropout;
    AO_JF_TRY(ao_jf_num(&c, o, P, "dropout", 0, 0.95, &d));
    a->dropout = (float)d;
    AO_JF_TRY(ao_jf_int(&c, o, P, "hidden", 0, 65536, &a->hidden));
    d = a->hidden_dropout;
    AO_JF_TRY(ao_jf_num(&c, o, P, "hidden_dropout", 0, 0.95, &d));
    a->hidden_dropout = (float)d;
    AO_JF_TRY(ao_jf_int(&c, o, P, "epochs", 1, 100000, &t->max_epochs));
    AO_JF_TRY(ao_jf_int(&c, o, P, "batch_size", 1, 65536, &t->batch_size));
    AO_JF_TRY(ao_jf_num(&c, o, P, "learning_rate", 0, 1e9, &t->lr));
    AO_JF_TRY(ao_jf_num(&c, o, P, "weight_decay", 0, 10, &t->weight_decay));
    AO_JF_TRY(ao_jf_bool(&c, o, P, "decoupled_weight_decay", &t->decoupled_wd));
    AO_JF_TRY(ao_jf_int(&c, o, P, "patience", 0, 100000, &t->patience));
    AO_JF_TRY(ao_jf_int(&c, o, P, "lr_patience", 0, 100000, &t->lr_patience));
    AO_JF_TRY(ao_jf_num(&c, o, P, "lr_factor", 1e-6, 1, &t->lr_factor));
    AO_JF_TRY(ao_jf_enum(&c, o, P, "schedule", schedules, schedule_v, &t->schedule));
    AO_JF_TRY(ao_jf_bool(&c, o, P, "rc_augment", &t->rc_augment));
    AO_JF_TRY(ao_jf_bool(&c, o, P, "rc_average", &t->rc_average));
    AO_JF_TRY(ao_jf_enum(&c, o, P, "class_weight", cw_names, cw_values, &t->class_weight));
    return AO_OK;
}

static json_t *to_json(const ao_learner_params *lp)
{
    const ao_cnn_arch *a = &lp->cnn.arch;
    const ao_cnn_train_params *t = &lp->cnn.train;
    json_t *blocks = json_array();
    int i;
    for (i = 0; blocks && i < a->n_blocks; i++) {
        const ao_cnn_block *b = &a->blocks[i];
        if (json_array_append_new(blocks, json_pack("{s:i,s:i,s:i,s:s,s:i}", "filters", b->filters, "width", b->width,
                                                    "dilation", b->dilation, "pool", ao_jf_enum_name(pools, pool_v, b->pool),
                                                    "pool_size", b->pool_size)) < 0) {
            json_decref(blocks);
            return NULL;
        }
    }
    return json_pack("{s:s,s:o,s:s,s:f,s:i,s:f,s:i,s:i,s:f,s:f,s:b,s:i,s:i,s:f,s:s,s:b,s:b,s:s}", "type", "cnn", "blocks", blocks,
                     "global_pool", ao_jf_enum_name(gpools, gpool_v, a->global_pool), "dropout", (double)a->dropout,
                     "hidden", a->hidden, "hidden_dropout", (double)a->hidden_dropout, "epochs", t->max_epochs,
                     "batch_size", t->batch_size, "learning_rate", t->lr, "weight_decay", t->weight_decay,
                     "decoupled_weight_decay", t->decoupled_wd, "patience", t->patience, "lr_patience", t->lr_patience,
                     "lr_factor", t->lr_factor, "schedule", ao_jf_enum_name(schedules, schedule_v, t->schedule), "rc_augment", t->rc_augment, "rc_average", t->rc_average,
                     "class_weight", ao_jf_enum_name(cw_names, cw_values, t->class_weight));
}

static void shrink(ao_learner_params *p) { p->cnn.train.max_epochs = 1; }

static double memory(const ao_learner_params *p, const ao_learner_shape *s, const char **what)
{
    double input = (double)s->n_rows * (double)s->channels * (double)s->length * 4.0;
    double train = ao_cnn_train_bytes(&p->cnn.arch, (int)s->channels, (int)s->length, s->n_classes,
                                      p->cnn.train.batch_size, s->threads, s->n_valid);
    if (train < 0) train = 0;   /* an arch that does not fit is refused by fit, with its reason */
    *what = train > input ? "$.model: the network's weights, optimizer state and activations"
                          : "$.representation.length: the one-hot input tensor";
    return input + train;
}

typedef struct progress_ctx { const ao_fit_opts *o; int cap, hard, best, capped; } progress_ctx;

static int progress(void *ctx, const ao_cnn_epoch_info *e)
{
    progress_ctx *pc = ctx;
    FILE *log = pc->o->log;
    ao_progress_step(pc->o->progress, "epoch", e->epoch, e->epoch <= pc->cap ? pc->cap : pc->hard, e->train_loss, e->valid_loss, e->valid_acc);
    if (log) {
        fprintf(log, "epoch\t%d\ttrain_loss\t%.6g\tvalid_loss\t%.6g\tvalid_acc\t%.4f\tlr\t%.3g\tseconds\t%.2f%s\n", e->epoch,
                e->train_loss, e->valid_loss, e->valid_acc, e->lr, e->seconds, e->improved ? "\tbest" : "");
        fflush(log);
    }
    if (e->improved) pc->best = e->epoch;
    /* the soft epoch cap (learner.h): from the recipe's last epoch on,
     * training goes on only while the best epoch is this one or the one
     * before; the CNN enforces the time limit itself */
    if (e->epoch >= pc->cap && pc->best < e->epoch - 1) pc->capped = 1;
    return pc->capped;
}

static int fit(const ao_learner_params *lp, const ao_learner_data *tr, const ao_learner_data *va, const ao_fit_opts *o,
               void **model, ao_train_report *rep, ao_err *err)
{
    ao_cnn_train_params p = lp->cnn.train;
    int cap = lp->cnn.train.max_epochs;
    /* without validation every epoch counts as the best: nothing to extend
     * on; an annealing schedule ends at its last epoch by design */
    int extend = va && va->n > 0 && p.schedule == AO_CNN_SCHED_PLATEAU;
    progress_ctx pc = {o, cap, extend ? ao_fit_extended_cap(cap, AO_CNN_EXTEND) : cap, 0, 0};
    ao_cnn_train_result res;
    ao_cnn *m;
    int rc;
    char replanned[128] = "";
    *model = NULL;
    if (!(m = ao_cnn_create(&lp->cnn.arch, tr->channels, tr->length, o->n_classes, o->seed, err))) return err->code ? err->code : AO_EDATA;
    p.seed = o->seed;
    p.threads = o->threads;
    p.max_epochs = pc.hard;
    /* the limit counts from o->t0 (the representation included) */
    if (o->time_limit > 0) {
        p.time_limit = o->time_limit - (ao_now() - o->t0);
        if (p.time_limit <= 0) p.time_limit = 1e-9;
    }
    p.progress = progress;
    p.progress_ctx = &pc;
    rc = ao_cnn_train(m, &p, tr->onehot, tr->y, tr->n, va ? va->onehot : NULL, va ? va->y : NULL, va ? va->n : 0, &res, err);
    if (rc < 0) { ao_cnn_destroy(m); return rc; }
    rep->epochs = res.epochs;
    rep->best = res.best_epoch;
    switch ((enum ao_cnn_status)res.status) {
    /* cut before any epoch ended: the kept weights are the random start */
    case AO_CNN_TIME_LIMIT: rep->status = res.best_epoch > 0 ? AO_TRAIN_TIME_LIMIT : AO_TRAIN_FAILED; break;
    case AO_CNN_DIVERGED: rep->status = res.best_epoch > 0 ? AO_TRAIN_DIVERGED : AO_TRAIN_FAILED; break;
    case AO_CNN_MAX_EPOCHS: case AO_CNN_EARLY_STOP: case AO_CNN_CANCELLED: rep->status = AO_TRAIN_OK; break;
    }
    if (p.schedule != AO_CNN_SCHED_PLATEAU && res.schedule_epochs < p.max_epochs)
        snprintf(replanned, sizeof replanned, " (the annealing schedule re-planned over %d of %d epochs to fit the time limit)",
                 res.schedule_epochs, p.max_epochs);
    snprintf(rep->message, sizeof rep->message, "%s after %d epochs%s%s; best epoch %d (validation loss %.4g)",
             res.status == AO_CNN_EARLY_STOP ? "early stop" : res.status == AO_CNN_TIME_LIMIT
             ? (res.best_epoch > 0 ? "time limit" : "time limit before the first epoch ended (make epochs cheaper)")
             : res.status == AO_CNN_DIVERGED ? "loss became NaN/inf" : "epoch budget used",
             res.epochs, res.epochs > cap ? " (extended past the recipe's epochs while the best epoch was the last or the one before)" : "",
             replanned,
             res.best_epoch, res.best_valid_loss);
    if (res.status == AO_CNN_MAX_EPOCHS && pc.hard > cap && res.best_epoch >= res.epochs - 1)
        snprintf(rep->warning, sizeof rep->warning, "epoch cap: the best epoch %d is at or next to the last of %d epochs "
                 "(epochs %d extended %dx); more epochs may still help", res.best_epoch, res.epochs, cap, AO_CNN_EXTEND);
    *model = m;
    return AO_OK;
}

static int predict_proba(const void *m, const ao_learner_data *x, int threads, double *proba, ao_err *err)
{
    if (ao_cnn_predict_proba(m, x->onehot, x->n, threads, proba) < 0) return ao_err_set(err, AO_EMEM, "out of memory predicting");
    return AO_OK;
}

static int save(const void *m, ao_buf *b) { return ao_cnn_save(m, b); }

static int load(ao_cursor *c, void **model, ao_err *err)
{
    ao_cnn *m = NULL;
    int rc = ao_cnn_load(c, &m, err);
    *model = m;
    return rc;
}

static void io(const void *m, ao_learner_io *io)
{
    memset(io, 0, sizeof *io);
    io->n_classes = ao_cnn_n_classes(m);
    io->channels = ao_cnn_in_channels(m);
    io->length = ao_cnn_in_len(m);
}

static void destroy(void *m) { ao_cnn_destroy(m); }

const ao_learner ao_learner_cnn = {
    .name = "cnn",
    .kind = AO_LEARNER_CNN,
    .input = AO_INPUT_ONEHOT,
    .scaled = 0,
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
