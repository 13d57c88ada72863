#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/matrix.h"
#include "agentomics/model.h"
#include "agentomics/modelfile.h"

struct ao_model {
    int kind;                  /* enum ao_model_type */
    ao_dataset_info *info;
    json_t *recipe;            /* as given */
    ao_featurizer *feat;       /* k-mer models */
    float *scale;              /* logreg: per-feature 1/sd from training (NULL: none) */
    int64_t n_scale;
    ao_onehot_spec onehot;     /* CNN; length resolved */
    ao_logreg *lr;
    ao_gbdt *gb;
    ao_cnn *cnn;
};

const char *ao_train_status_name(int status)
{
    static const char *n[] = {"ok", "time_limit", "diverged", "failed"};
    return status >= 0 && status <= 3 ? n[status] : "unknown";
}

void ao_model_destroy(ao_model *m)
{
    if (!m) return;
    ao_dataset_info_destroy(m->info);
    json_decref(m->recipe);
    ao_featurizer_destroy(m->feat);
    free(m->scale);
    ao_logreg_destroy(m->lr);
    ao_gbdt_destroy(m->gb);
    ao_cnn_destroy(m->cnn);
    free(m);
}

const ao_dataset_info *ao_model_info(const ao_model *m) { return m->info; }
int ao_model_kind(const ao_model *m) { return m->kind; }

/* ---- representations --------------------------------------------------- */

/* One-hot tensor [n][4 * n_seq][L]: each sequence column adds 4 channels. */
static float *encode_onehot(const ao_model *m, const ao_seqset *s, ao_err *err)
{
    int64_t L = m->onehot.length, C = 4 * (int64_t)s->n_seq, i;
    float *x = calloc((size_t)(s->n * C * L), sizeof *x);
    int c;
    if (!x) { ao_err_set(err, AO_EMEM, "out of memory for a %lld x %lld x %lld one-hot tensor", (long long)s->n, (long long)C, (long long)L); return NULL; }
    for (i = 0; i < s->n; i++)
        for (c = 0; c < s->n_seq; c++) {
            const char *q = s->seqs[i * s->n_seq + c];
            if (ao_onehot(q, strlen(q), (int)L, m->onehot.pad, m->onehot.ambig, x + (i * C + 4 * c) * L) < 0) {
                free(x);
                ao_err_set(err, AO_EINTERNAL, "one-hot encoding failed");
                return NULL;
            }
        }
    return x;
}

static void apply_scale(const ao_model *m, ao_csr *X)
{
    int64_t k;
    for (k = 0; k < X->nnz; k++) X->values[k] *= m->scale[X->indices[k]];
}

/* The one-hot length: the recipe's, or the longest training sequence. */
static int64_t resolve_onehot(ao_model *m, const ao_recipe *r, const ao_seqset *tr)
{
    int64_t L = r->onehot.length;
    int c;
    if (L <= 0) {
        for (c = 0; c < tr->n_seq; c++) if (ao_seqset_max_len(tr, c) > L) L = ao_seqset_max_len(tr, c);
        if (L > AO_ONEHOT_MAX_LEN) L = AO_ONEHOT_MAX_LEN;
    }
    m->onehot = r->onehot;
    m->onehot.length = (int)L;
    return L;
}

/* Positional features for the linear and tree learners: the one-hot
 * tensor flattened (column = (sequence column, base, position)), kept
 * sparse since at most one base per position is set for plain sequence. */
static ao_csr *onehot_csr(const ao_model *m, const ao_seqset *s, ao_err *err)
{
    int64_t L = m->onehot.length, W = 4 * L * s->n_seq, i, j, n;
    float *row = malloc(sizeof *row * (size_t)W), *val = malloc(sizeof *val * (size_t)W);
    int32_t *idx = malloc(sizeof *idx * (size_t)W);
    ao_csr *X = ao_csr_create(W);
    int c;
    if (!row || !val || !idx || !X) goto MEM;
    for (i = 0; i < s->n; i++) {
        for (c = 0; c < s->n_seq; c++) {
            const char *q = s->seqs[i * s->n_seq + c];
            if (ao_onehot(q, strlen(q), (int)L, m->onehot.pad, m->onehot.ambig, row + 4 * L * c) < 0) {
                ao_err_set(err, AO_EINTERNAL, "one-hot encoding failed");
                goto ERROR;
            }
        }
        for (j = 0, n = 0; j < W; j++)
            if (row[j] != 0) { idx[n] = (int32_t)j; val[n++] = row[j]; }
        if (ao_csr_add_row(X, idx, val, n) < 0) goto MEM;
    }
    free(row); free(val); free(idx);
    return X;
MEM:
    ao_err_set(err, AO_EMEM, "out of memory for positional features");
ERROR:
    free(row); free(val); free(idx);
    ao_csr_destroy(X);
    return NULL;
}

static ao_csr *featurize(const ao_model *m, const ao_seqset *s, int threads, ao_err *err)
{
    ao_csr *X = NULL;
    if (m->feat) {
        if (ao_featurize(m->feat, (const char *const *)s->seqs, s->n, threads, &X, err) < 0) return NULL;
    } else if (!(X = onehot_csr(m, s, err))) {
        return NULL;
    }
    if (m->scale) apply_scale(m, X);
    return X;
}

/* An L2 penalty treats every feature alike, so features on very different
 * scales (k-mer frequencies of order 1/L next to GC fractions and log
 * lengths) are scaled to unit standard deviation on the training rows,
 * without centring so the matrix stays sparse (scikit-learn's
 * StandardScaler(with_mean=False)). Constant features keep scale 1. */
static int fit_scale(ao_model *m, const ao_csr *X, ao_err *err)
{
    double *mean = calloc((size_t)X->n_cols, sizeof *mean), *ss = calloc((size_t)X->n_cols, sizeof *ss);
    int64_t *nz = calloc((size_t)X->n_cols, sizeof *nz), j, k;
    int rc = AO_OK;
    if (!mean || !ss || !nz || !(m->scale = malloc(sizeof *m->scale * (size_t)X->n_cols))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    m->n_scale = X->n_cols;
    /* two passes: a one-pass sum of squares cancels catastrophically for
     * near-constant features such as the length of fixed-length data */
    for (k = 0; k < X->nnz; k++) { mean[X->indices[k]] += X->values[k]; nz[X->indices[k]]++; }
    for (j = 0; j < X->n_cols; j++) mean[j] /= (double)X->n_rows;
    for (k = 0; k < X->nnz; k++) { double d = X->values[k] - mean[X->indices[k]]; ss[X->indices[k]] += d * d; }
    for (j = 0; j < X->n_cols; j++) {
        double var = (ss[j] + (double)(X->n_rows - nz[j]) * mean[j] * mean[j]) / (double)X->n_rows;
        /* relative to the feature's magnitude: float rounding is not signal */
        m->scale[j] = var > 1e-10 * (mean[j] * mean[j]) && var > 1e-30 ? (float)(1.0 / sqrt(var)) : 1.0f;
    }
DONE:
    free(mean);
    free(ss);
    free(nz);
    return rc;
}


/* ---- training -------------------------------------------------------- */

typedef struct progress_ctx {
    FILE *log;
    double t0, limit;
    int hit_limit;
    int last;
} progress_ctx;

static int over_time(progress_ctx *p)
{
    if (p->limit > 0 && ao_now() - p->t0 > p->limit) { p->hit_limit = 1; return 1; }
    return 0;
}

static int logreg_progress(void *ctx, int iter, double loss, double gnorm)
{
    progress_ctx *p = ctx;
    p->last = iter;
    if (p->log) fprintf(p->log, "iter\t%d\tloss\t%.6g\tgrad_norm\t%.6g\telapsed\t%.2f\n", iter, loss, gnorm, ao_now() - p->t0);
    return over_time(p);
}

static int gbdt_progress(void *ctx, int round, double train_loss, double valid_loss)
{
    progress_ctx *p = ctx;
    p->last = round;
    if (p->log) fprintf(p->log, "round\t%d\ttrain_loss\t%.6g\tvalid_loss\t%.6g\telapsed\t%.2f\n", round, train_loss, valid_loss, ao_now() - p->t0);
    return over_time(p);
}

static int cnn_progress(void *ctx, const ao_cnn_epoch_info *e)
{
    progress_ctx *p = ctx;
    p->last = e->epoch;
    if (p->log)
        fprintf(p->log, "epoch\t%d\ttrain_loss\t%.6g\tvalid_loss\t%.6g\tvalid_acc\t%.4f\tlr\t%.3g\tseconds\t%.2f%s\n", e->epoch,
                e->train_loss, e->valid_loss, e->valid_acc, e->lr, e->seconds, e->improved ? "\tbest" : "");
    if (p->log) fflush(p->log);
    return 0;   /* the CNN enforces the time limit itself */
}

static int train_kmer(ao_model *m, const ao_recipe *r, const ao_seqset *tr, const ao_seqset *va, const ao_train_opts *o,
                      ao_train_report *rep, ao_err *err)
{
    ao_csr *X = NULL, *Xv = NULL;
    ao_dense *D = NULL, *Dv = NULL;
    progress_ctx pc = {o->log, ao_now(), o->time_limit, 0, 0};
    int rc = AO_OK;
    if (r->repr == AO_REPR_ONEHOT) {
        rep->input_length = (int)resolve_onehot(m, r, tr);
        rep->n_features = 4 * rep->input_length * tr->n_seq;
    } else {
        if (!(m->feat = ao_featurizer_create(&r->feat, tr->n_seq, err))) return err->code ? err->code : AO_EDATA;
        rep->n_features = (int)ao_featurizer_n_cols(m->feat);
    }
    if ((rc = ao_recipe_check_memory(r, "recipe.json", tr->n + (va ? va->n : 0), tr->n_seq, 0, rep->n_features, o->mem_limit_mb, err)) < 0) return rc;
    if (!(X = featurize(m, tr, o->threads, err))) return err->code;
    if (r->model == AO_MODEL_LOGREG) {
        if ((rc = fit_scale(m, X, err)) < 0) goto DONE;
        apply_scale(m, X);
    }
    if (va && r->early_stopping == AO_ES_VALID && !(Xv = featurize(m, va, o->threads, err))) { rc = err->code; goto DONE; }
    if (o->log) fprintf(o->log, "# %s on %lld rows x %d features\n", ao_model_type_name(r->model), (long long)tr->n, rep->n_features);
    if (r->model == AO_MODEL_LOGREG) {
        ao_logreg_params p = r->logreg;
        p.threads = o->threads;
        p.progress = logreg_progress;
        p.progress_ctx = &pc;
        rc = ao_logreg_fit(&p, X, tr->y, m->info->n_classes, NULL, &m->lr, err);
        if (rc == AO_LOGREG_EDIVERGED) {
            rep->status = AO_TRAIN_DIVERGED;
            snprintf(rep->message, sizeof rep->message, "the logistic-regression loss became NaN/inf: %.200s", err->msg);
            ao_err_init(err);
            rc = AO_OK;
            goto DONE;
        }
        if (rc < 0) goto DONE;
        rep->epochs = ao_logreg_n_iter(m->lr);
        if (pc.hit_limit) rep->status = AO_TRAIN_TIME_LIMIT;
        snprintf(rep->message, sizeof rep->message, "%s after %d L-BFGS iterations", pc.hit_limit ? "time limit" : ao_logreg_converged(m->lr) ? "converged" : "stopped", rep->epochs);
    } else {
        ao_gbdt_params p = r->gbdt;
        p.threads = o->threads;
        p.progress = gbdt_progress;
        p.progress_ctx = &pc;
        if (!(D = ao_csr_to_dense(X))) { rc = ao_err_set(err, AO_EMEM, "out of memory for the dense feature matrix"); goto DONE; }
        if (Xv && !(Dv = ao_csr_to_dense(Xv))) { rc = ao_err_set(err, AO_EMEM, "out of memory for the dense feature matrix"); goto DONE; }
        rc = ao_gbdt_fit(&p, D, tr->y, m->info->n_classes, NULL, Dv, Dv ? va->y : NULL, &m->gb, err);
        if (rc == AO_GBDT_EDIVERGED) {
            /* the rounds before the divergence are kept as the model */
            ao_err_init(err);
            rc = AO_OK;
        }
        if (rc < 0) goto DONE;
        rep->epochs = ao_gbdt_n_history(m->gb);
        rep->best = ao_gbdt_n_rounds(m->gb);
        if (ao_gbdt_diverged(m->gb)) {
            rep->status = ao_gbdt_n_rounds(m->gb) > 0 ? AO_TRAIN_DIVERGED : AO_TRAIN_FAILED;
            snprintf(rep->message, sizeof rep->message, "a boosting round produced a NaN/inf loss; %d rounds kept", rep->best);
        } else if (pc.hit_limit) {
            rep->status = AO_TRAIN_TIME_LIMIT;
            snprintf(rep->message, sizeof rep->message, "time limit after %d rounds; %d kept", rep->epochs, rep->best);
        } else {
            snprintf(rep->message, sizeof rep->message, "%d rounds run, %d kept", rep->epochs, rep->best);
        }
    }
DONE:
    ao_csr_destroy(X);
    ao_csr_destroy(Xv);
    ao_dense_destroy(D);
    ao_dense_destroy(Dv);
    return rc;
}

static int train_cnn(ao_model *m, const ao_recipe *r, const ao_seqset *tr, const ao_seqset *va, const ao_train_opts *o,
                     ao_train_report *rep, ao_err *err)
{
    float *X = NULL, *Xv = NULL;
    ao_cnn_train_params p = r->cnn_train;
    ao_cnn_train_result res;
    progress_ctx pc = {o->log, ao_now(), o->time_limit, 0, 0};
    int rc, C = 4 * tr->n_seq;
    int64_t L = resolve_onehot(m, r, tr);
    rep->input_length = (int)L;
    if ((rc = ao_recipe_check_memory(r, "recipe.json", tr->n + (va ? va->n : 0), tr->n_seq, L * C / 4, 0, o->mem_limit_mb, err)) < 0) return rc;
    if (!(m->cnn = ao_cnn_create(&r->cnn_arch, C, (int)L, m->info->n_classes, r->seed, err))) return err->code ? err->code : AO_EDATA;
    if (!(X = encode_onehot(m, tr, err))) return err->code;
    if (va && r->early_stopping == AO_ES_VALID && !(Xv = encode_onehot(m, va, err))) { free(X); return err->code; }
    p.threads = o->threads;
    p.time_limit = o->time_limit;
    p.progress = cnn_progress;
    p.progress_ctx = &pc;
    if (o->log) fprintf(o->log, "# cnn on %lld rows x %d channels x %lld positions\n", (long long)tr->n, C, (long long)L);
    rc = ao_cnn_train(m->cnn, &p, X, tr->y, tr->n, Xv, Xv ? va->y : NULL, Xv ? va->n : 0, &res, err);
    free(X);
    free(Xv);
    if (rc < 0) return rc;
    rep->epochs = res.epochs;
    rep->best = res.best_epoch;
    switch (res.status) {
    case AO_CNN_TIME_LIMIT: rep->status = AO_TRAIN_TIME_LIMIT; break;
    case AO_CNN_DIVERGED: rep->status = res.best_epoch > 0 ? AO_TRAIN_DIVERGED : AO_TRAIN_FAILED; break;
    default: rep->status = AO_TRAIN_OK; break;
    }
    snprintf(rep->message, sizeof rep->message, "%s after %d epochs; best epoch %d (validation loss %.4g)",
             res.status == AO_CNN_EARLY_STOP ? "early stop" : res.status == AO_CNN_TIME_LIMIT ? "time limit"
             : res.status == AO_CNN_DIVERGED ? "loss became NaN/inf" : "epoch budget used",
             res.epochs, res.best_epoch, res.best_valid_loss);
    return AO_OK;
}

int ao_model_train(const ao_recipe *r, const ao_dataset_info *info, const ao_seqset *train, const ao_seqset *valid,
                   const ao_train_opts *o, ao_model **out, ao_train_report *rep, ao_err *err)
{
    ao_model *m = calloc(1, sizeof *m);
    double t0 = ao_now();
    int rc;
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    if (!m) return ao_err_set(err, AO_EMEM, "out of memory");
    m->kind = r->model;
    if (!(m->info = ao_dataset_info_create(info->n_classes, info->classes, info->n_seq_cols, info->seq_cols)) ||
        !(m->recipe = json_deep_copy(r->json))) {
        ao_model_destroy(m);
        return ao_err_set(err, AO_EMEM, "out of memory");
    }
    rc = r->model == AO_MODEL_CNN ? train_cnn(m, r, train, valid, o, rep, err) : train_kmer(m, r, train, valid, o, rep, err);
    rep->seconds = ao_now() - t0;
    if (rc == AO_EUSAGE) {
        /* the learners call a bad hyperparameter or shape a usage error;
         * here it is a property of the recipe, i.e. of the data */
        char msg[AO_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        ao_err_init(err);
        /* a k-mer model without a featurizer failed on its representation */
        const char *where = (r->repr == AO_REPR_KMER && !m->feat) ? "representation" : "model";
        rc = ao_err_set(err, AO_EDATA, "recipe.json: $.%s: %.900s", where, msg);
    }
    if (rc < 0) { ao_model_destroy(m); return rc; }
    if (rep->status == AO_TRAIN_FAILED || (!m->lr && !m->gb && !m->cnn)) {
        rep->status = AO_TRAIN_FAILED;
        ao_model_destroy(m);
        return AO_OK;
    }
    *out = m;
    return AO_OK;
}

/* ---- prediction ------------------------------------------------------ */

int ao_model_predict(const ao_model *m, const ao_seqset *s, int threads, double *proba, ao_err *err)
{
    int rc = AO_OK;
    if (s->n_seq != m->info->n_seq_cols)
        return ao_err_set(err, AO_EDATA, "input has %d sequence columns, the model needs %d", s->n_seq, m->info->n_seq_cols);
    if (m->kind == AO_MODEL_CNN) {
        float *X = encode_onehot(m, s, err);
        if (!X) return err->code;
        if (ao_cnn_predict_proba(m->cnn, X, s->n, threads, proba) < 0) rc = ao_err_set(err, AO_EMEM, "out of memory predicting");
        free(X);
        return rc;
    }
    {
        ao_csr *X = featurize(m, s, threads, err);
        if (!X) return err->code;
        if (m->kind == AO_MODEL_LOGREG) {
            if (ao_logreg_predict_proba(m->lr, X, proba) < 0) rc = ao_err_set(err, AO_EMEM, "out of memory predicting");
        } else {
            ao_dense *D = ao_csr_to_dense(X);
            if (!D || ao_gbdt_predict_proba(m->gb, D, proba) < 0) rc = ao_err_set(err, AO_EMEM, "out of memory predicting");
            ao_dense_destroy(D);
        }
        ao_csr_destroy(X);
    }
    return rc;
}

/* ---- persistence ---------------------------------------------------- */

static json_t *string_list(char *const *v, int n)
{
    json_t *a = json_array();
    int i;
    for (i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

int ao_model_save(const ao_model *m, const char *dir, ao_err *err)
{
    ao_modelfile *mf = ao_modelfile_create();
    ao_buf meta = {0}, feat = {0}, learner = {0};
    json_t *j = NULL;
    char *text = NULL, *path = NULL, *rpath = NULL;
    int rc = AO_OK;
    if (!mf) return ao_err_set(err, AO_EMEM, "out of memory");
    j = json_pack("{s:i,s:s,s:s,s:o,s:o,s:O}", "format_version", 1, "tool", "agentomics " AO_VERSION,
                  "model", ao_model_type_name(m->kind), "classes", string_list(m->info->classes, m->info->n_classes),
                  "sequence_columns", string_list(m->info->seq_cols, m->info->n_seq_cols), "recipe", m->recipe);
    if (j && m->onehot.length > 0)
        json_object_set_new(j, "onehot", json_pack("{s:i,s:i,s:i}", "length", m->onehot.length, "pad", m->onehot.pad, "ambiguity", m->onehot.ambig));
    if (!j || !(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    ao_buf_str(&meta, text);
    if ((rc = ao_modelfile_add(mf, "META", &meta)) < 0) goto MEM;
    if (m->feat) {
        if ((rc = ao_featurizer_save(m->feat, &feat)) < 0 || (rc = ao_modelfile_add(mf, "FEAT", &feat)) < 0) goto MEM;
    }
    if (m->scale) {
        ao_buf sc = {0};
        ao_buf_u64(&sc, (uint64_t)m->n_scale);
        ao_buf_f32s(&sc, m->scale, (size_t)m->n_scale);
        rc = ao_modelfile_add(mf, "SCAL", &sc);
        ao_buf_free(&sc);
        if (rc < 0) goto MEM;
    }
    switch (m->kind) {
    case AO_MODEL_LOGREG: rc = ao_logreg_save(m->lr, &learner); break;
    case AO_MODEL_GBDT: rc = ao_gbdt_save(m->gb, &learner); break;
    default: rc = ao_cnn_save(m->cnn, &learner); break;
    }
    if (rc < 0 || (rc = ao_modelfile_add(mf, "LRNR", &learner)) < 0) goto MEM;
    if (!(path = ao_path_join(dir, AO_MODEL_FILE)) || !(rpath = ao_path_join(dir, "recipe.json"))) goto MEM;
    if ((rc = ao_modelfile_write(mf, path, err)) < 0) goto DONE;
    if (json_dump_file(m->recipe, rpath, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot write", rpath);
    goto DONE;
MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory saving the model");
DONE:
    ao_buf_free(&meta);
    ao_buf_free(&feat);
    ao_buf_free(&learner);
    ao_modelfile_destroy(mf);
    json_decref(j);
    free(text);
    free(path);
    free(rpath);
    return rc;
}

static char **json_strings(json_t *a, int *n)
{
    char **v;
    size_t i;
    *n = 0;
    if (!json_is_array(a) || json_array_size(a) == 0) return NULL;
    if (!(v = calloc(json_array_size(a), sizeof *v))) return NULL;
    for (i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s) { free(v); return NULL; }
        v[i] = (char *)s;
    }
    *n = (int)i;
    return v;
}

ao_model *ao_model_load(const char *dir, ao_err *err)
{
    char *path = ao_is_dir(dir) ? ao_path_join(dir, AO_MODEL_FILE) : strdup(dir), *text = NULL, **cls = NULL, **cols = NULL;
    ao_modelfile *mf = NULL;
    ao_model *m = NULL;
    ao_cursor c;
    json_t *j = NULL;
    json_error_t je;
    const char *kind;
    int ncls = 0, ncols = 0, rc;
    if (!path) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (!(mf = ao_modelfile_read(path, err))) goto ERROR;
    if (ao_modelfile_section(mf, "META", &c) < 0 || ao_cur_str(&c, &text) < 0 || !(j = json_loads(text, 0, &je))) {
        ao_err_set(err, AO_EDATA, "%s: missing or unreadable model description", path);
        goto ERROR;
    }
    if (!(m = calloc(1, sizeof *m))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    kind = json_string_value(json_object_get(j, "model"));
    m->kind = !kind ? -1 : !strcmp(kind, "logreg") ? AO_MODEL_LOGREG : !strcmp(kind, "gbdt") ? AO_MODEL_GBDT : !strcmp(kind, "cnn") ? AO_MODEL_CNN : -1;
    cls = json_strings(json_object_get(j, "classes"), &ncls);
    cols = json_strings(json_object_get(j, "sequence_columns"), &ncols);
    if (m->kind < 0 || !cls || !cols || ncls < 2) { ao_err_set(err, AO_EDATA, "%s: invalid model description", path); goto ERROR; }
    if (!(m->info = ao_dataset_info_create(ncls, cls, ncols, cols))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    m->recipe = json_incref(json_object_get(j, "recipe"));
    if (json_object_get(j, "onehot")) {
        json_t *oh = json_object_get(j, "onehot");
        m->onehot.length = (int)json_integer_value(json_object_get(oh, "length"));
        m->onehot.pad = (int)json_integer_value(json_object_get(oh, "pad"));
        m->onehot.ambig = (int)json_integer_value(json_object_get(oh, "ambiguity"));
        if (m->onehot.length < 1 || m->onehot.length > AO_ONEHOT_MAX_LEN) { ao_err_set(err, AO_EDATA, "%s: invalid one-hot length", path); goto ERROR; }
    } else if (m->kind == AO_MODEL_CNN) {
        ao_err_set(err, AO_EDATA, "%s: a CNN model without its one-hot description", path);
        goto ERROR;
    }
    if (m->kind != AO_MODEL_CNN) {
        int64_t width = 4 * (int64_t)m->onehot.length * ncols;
        if (!m->onehot.length && (ao_modelfile_section(mf, "FEAT", &c) < 0 || !(m->feat = ao_featurizer_load(&c, err)))) {
            ao_err_set(err, AO_EDATA, "%s: missing or invalid featurizer", path);
            goto ERROR;
        }
        if (m->feat) width = ao_featurizer_n_cols(m->feat);
        if (ao_modelfile_section(mf, "SCAL", &c) == AO_OK) {
            uint64_t n;
            if (ao_cur_u64(&c, &n) < 0 || (int64_t)n != width || !(m->scale = malloc(sizeof *m->scale * (size_t)(n ? n : 1))) ||
                ao_cur_f32s(&c, m->scale, (size_t)n) < 0) {
                ao_err_set(err, AO_EDATA, "%s: invalid feature scaling section", path);
                goto ERROR;
            }
            m->n_scale = (int64_t)n;
        }
    }
    if (ao_modelfile_section(mf, "LRNR", &c) < 0) { ao_err_set(err, AO_EDATA, "%s: no learner section", path); goto ERROR; }
    switch (m->kind) {
    case AO_MODEL_LOGREG: rc = ao_logreg_load(&c, &m->lr, err); break;
    case AO_MODEL_GBDT: rc = ao_gbdt_load(&c, &m->gb, err); break;
    default: rc = ao_cnn_load(&c, &m->cnn, err); break;
    }
    if (rc < 0) { ao_err_set(err, AO_EDATA, "%s: invalid %s learner", path, kind); goto ERROR; }
    free(cls);
    free(cols);
    free(text);
    json_decref(j);
    ao_modelfile_destroy(mf);
    free(path);
    return m;
ERROR:
    free(cls);
    free(cols);
    free(text);
    json_decref(j);
    ao_modelfile_destroy(mf);
    ao_model_destroy(m);
    free(path);
    return NULL;
}
