/* model.c — a trained builtin model (see model.h): it owns the
 * representation (featurizer or one-hot layout, feature scaling), turns
 * sequences into the input its learner reads, and keeps the model file's
 * layout; the learner itself is reached only through its row of the
 * learner table (learner.h). */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/matrix.h"
#include "agentomics/metrics.h"
#include "agentomics/model.h"
#include "agentomics/modelfile.h"
#include "agentomics/seqreader.h"

struct ao_model {
    const ao_learner *learner;
    ao_dataset_info *info;
    json_t *recipe;            /* as given */
    ao_featurizer *feat;       /* k-mer representation */
    float *scale;              /* per-feature 1/sd from training when the learner is scaled (NULL: none) */
    int64_t n_scale;
    ao_onehot_spec onehot;     /* one-hot representation; length resolved */
    void *state;               /* the fitted learner */
    double threshold;          /* binary decision threshold in (0, 1); NaN: the argmax */
};

void ao_model_destroy(ao_model *m)
{
    if (!m) return;
    ao_dataset_info_destroy(m->info);
    json_decref(m->recipe);
    ao_featurizer_destroy(m->feat);
    free(m->scale);
    if (m->learner) m->learner->destroy(m->state);
    free(m);
}

const ao_dataset_info *ao_model_info(const ao_model *m) { return m->info; }

double ao_model_threshold(const ao_model *m) { return m->threshold; }

int ao_model_set_threshold(ao_model *m, double threshold, ao_err *err)
{
    if (!isnan(threshold) && !ao_threshold_usable(threshold, m->info->n_classes))
        return ao_err_set(err, AO_EUSAGE, "a decision threshold needs two classes and a value in (0, 1), got %g", threshold);
    m->threshold = threshold;
    return AO_OK;
}

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
static int64_t onehot_length(const ao_recipe *r, const ao_seqset *tr)
{
    int64_t L = r->onehot.length;
    int c;
    if (L <= 0) {
        for (c = 0; c < tr->n_seq; c++) if (ao_seqset_max_len(tr, c) > L) L = ao_seqset_max_len(tr, c);
        if (L > AO_ONEHOT_MAX_LEN) L = AO_ONEHOT_MAX_LEN;
    }
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

/* A learner's input for s as its row says: the feature matrix (scaled
 * once a scale is fitted) or the one-hot tensor. in owns what it holds. */
typedef struct input {
    ao_learner_data d;
    ao_csr *X;
    float *T;
} input;

static int input_build(const ao_model *m, const ao_seqset *s, int threads, input *in, ao_err *err)
{
    memset(in, 0, sizeof *in);
    in->d.n = s->n;
    switch (m->learner->input) {
    case AO_INPUT_FEATURES:
        if (!(in->X = featurize(m, s, threads, err))) return err->code;
        in->d.X = in->X;
        return AO_OK;
    case AO_INPUT_ONEHOT:
        if (!(in->T = encode_onehot(m, s, err))) return err->code;
        in->d.onehot = in->T;
        in->d.channels = 4 * s->n_seq;
        in->d.length = m->onehot.length;
        return AO_OK;
    }
    return ao_err_set(err, AO_EINTERNAL, "the %s learner reads an unknown input", m->learner->name);
}

static void input_free(input *in)
{
    ao_csr_destroy(in->X);
    free(in->T);
}

/* ---- training -------------------------------------------------------- */

/* The size of the learner's input for these rows: feat is the k-mer
 * featurizer (NULL for one-hot input), L the resolved one-hot length. */
static ao_learner_shape input_shape(const ao_learner *l, const ao_recipe *r, const ao_featurizer *feat, int64_t L, const ao_seqset *tr,
                                    const ao_seqset *va, int n_classes, int threads)
{
    ao_learner_shape s = {tr->n + (va ? va->n : 0), va && r->early_stopping == AO_ES_VALID ? va->n : 0, 0, 0, 0, n_classes, threads};
    switch (l->input) {
    case AO_INPUT_FEATURES:
        s.n_features = feat ? ao_featurizer_n_cols(feat) : 4 * L * tr->n_seq;
        /* flattened one-hot: the length is the knob that sizes it */
        if (!feat) s.length = L;
        break;
    case AO_INPUT_ONEHOT:
        s.channels = 4 * tr->n_seq;
        s.length = L;
        break;
    }
    return s;
}

/* Refuses (AO_EDATA, "recipe.json: $.path: ...") a recipe whose learner
 * would need more than 80% of mem_limit_mb (<= 0: no limit) for input of
 * shape s, e.g. a long k for a dense GBDT matrix or a CNN whose weights,
 * optimizer state and activations do not fit: one estimate, made before
 * the representation is built (the LLM path's limits use it too). */
static int check_memory(const ao_learner *l, const ao_recipe *r, const ao_learner_shape *s, long mem_limit_mb, ao_err *err)
{
    const char *what = "";
    double bytes;
    if (mem_limit_mb <= 0) return AO_OK;
    bytes = l->memory(&r->params, s, &what);
    if (bytes > (double)mem_limit_mb * 1048576.0 * 0.8)
        return ao_err_set(err, AO_EDATA, "recipe.json: %s needs about %.0f MB, over 80%% of the %ld MB memory limit", what, bytes / 1048576.0, mem_limit_mb);
    return AO_OK;
}

int ao_model_check_memory(const ao_recipe *r, const ao_dataset_info *info, const ao_seqset *train, const ao_seqset *valid, int threads,
                          long mem_limit_mb, ao_err *err)
{
    const ao_learner *l = ao_learner_get(r->model);
    ao_featurizer *feat = NULL;
    ao_learner_shape shape;
    int rc;
    if (!l) return ao_err_set(err, AO_EINTERNAL, "the recipe names no learner");
    if (mem_limit_mb <= 0) return AO_OK;
    if (r->repr != AO_REPR_ONEHOT && !(feat = ao_featurizer_create(&r->feat, train->n_seq, err)))
        return err->code == AO_EUSAGE ? ao_err_set(err, AO_EDATA, "recipe.json: $.representation: %.900s", err->msg) : err->code;
    shape = input_shape(l, r, feat, r->repr == AO_REPR_ONEHOT ? onehot_length(r, train) : 0, train, valid, info->n_classes, threads);
    rc = check_memory(l, r, &shape, mem_limit_mb, err);
    ao_featurizer_destroy(feat);
    return rc;
}

/* The representation from the training rows, the learner's inputs, the fit. */
static int train(ao_model *m, const ao_recipe *r, const ao_seqset *tr, const ao_seqset *va, const ao_train_opts *o,
                 ao_train_report *rep, ao_err *err)
{
    const ao_learner *l = m->learner;
    ao_fit_opts fo = {m->info->n_classes, r->seed, o->threads, ao_now(), o->time_limit, o->log, o->progress};
    ao_learner_shape shape;
    input itr, iva;
    int rc, use_valid = va && r->early_stopping == AO_ES_VALID;
    memset(&itr, 0, sizeof itr);
    memset(&iva, 0, sizeof iva);
    if (r->repr == AO_REPR_ONEHOT) {
        m->onehot = r->onehot;
        m->onehot.length = rep->input_length = (int)onehot_length(r, tr);
    } else if (!(m->feat = ao_featurizer_create(&r->feat, tr->n_seq, err))) {
        return err->code ? err->code : AO_EDATA;
    }
    shape = input_shape(l, r, m->feat, rep->input_length, tr, va, m->info->n_classes, o->threads);
    if (l->input == AO_INPUT_FEATURES) rep->n_features = (int)shape.n_features;
    if ((rc = check_memory(l, r, &shape, o->mem_limit_mb, err)) < 0) return rc;
    if ((rc = input_build(m, tr, o->threads, &itr, err)) < 0) goto DONE;
    itr.d.y = tr->y;
    if (l->scaled && itr.X) {
        /* fitted on the unscaled training rows; featurize() scales from now on */
        if ((rc = fit_scale(m, itr.X, err)) < 0) goto DONE;
        apply_scale(m, itr.X);
    }
    if (use_valid) {
        if ((rc = input_build(m, va, o->threads, &iva, err)) < 0) goto DONE;
        iva.d.y = va->y;
    }
    if (o->log) {
        if (itr.X) fprintf(o->log, "# %s on %lld rows x %d features\n", l->name, (long long)tr->n, rep->n_features);
        else fprintf(o->log, "# %s on %lld rows x %d channels x %lld positions\n", l->name, (long long)tr->n, itr.d.channels, (long long)itr.d.length);
    }
    rc = l->fit(&r->params, &itr.d, use_valid ? &iva.d : NULL, &fo, &m->state, rep, err);
DONE:
    input_free(&itr);
    input_free(&iva);
    return rc;
}

int ao_model_train(const ao_recipe *r, const ao_dataset_info *info, const ao_seqset *train_set, const ao_seqset *valid,
                   const ao_train_opts *o, ao_model **out, ao_train_report *rep, ao_err *err)
{
    ao_model *m = calloc(1, sizeof *m);
    double t0 = ao_now();
    int rc;
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    if (!m) return ao_err_set(err, AO_EMEM, "out of memory");
    m->threshold = NAN;   /* the argmax until train-run chooses one (ao_model_set_threshold) */
    if (!(m->learner = ao_learner_get(r->model))) {
        ao_model_destroy(m);
        return ao_err_set(err, AO_EINTERNAL, "the recipe names no learner");
    }
    if (!(m->info = ao_dataset_info_create(info->n_classes, info->classes, info->n_seq_cols, info->seq_cols)) ||
        !(m->recipe = json_deep_copy(r->json))) {
        ao_model_destroy(m);
        return ao_err_set(err, AO_EMEM, "out of memory");
    }
    rc = train(m, r, train_set, valid, o, rep, err);
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
    if (rep->status == AO_TRAIN_FAILED || !m->state) {
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
    input in;
    int rc;
    if (s->n_seq != m->info->n_seq_cols)
        return ao_err_set(err, AO_EDATA, "input has %d sequence columns, the model needs %d", s->n_seq, m->info->n_seq_cols);
    if ((rc = input_build(m, s, threads, &in, err)) == AO_OK) rc = m->learner->predict_proba(m->state, &in.d, threads, proba, err);
    input_free(&in);
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
                  "model", m->learner->name, "classes", string_list(m->info->classes, m->info->n_classes),
                  "sequence_columns", string_list(m->info->seq_cols, m->info->n_seq_cols), "recipe", m->recipe);
    if (j && !isnan(m->threshold)) json_object_set_new(j, "threshold", json_real(m->threshold));
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
    if ((rc = m->learner->save(m->state, &learner)) < 0 || (rc = ao_modelfile_add(mf, "LRNR", &learner)) < 0) goto MEM;
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

/* The strings of a JSON array of 1..max distinct non-empty strings
 * (borrowed from a), NULL otherwise; *why says what is wrong. */
static char **json_strings(json_t *a, int max, int *n, const char **why)
{
    char **v;
    size_t i, j;
    *n = 0;
    *why = "out of memory";
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > (size_t)max) {
        *why = "not an array of 1 to the allowed number of names";
        return NULL;
    }
    if (!(v = calloc(json_array_size(a), sizeof *v))) return NULL;
    for (i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !*s) { *why = "a name that is not a non-empty string"; free(v); return NULL; }
        for (j = 0; j < i; j++)
            if (strcmp(v[j], s) == 0) { *why = "a name given twice"; free(v); return NULL; }
        v[i] = (char *)s;
    }
    *n = (int)i;
    return v;
}

/* A whole integer member of o in [lo, hi], or -1 when absent or out of range. */
static int json_int_in(const json_t *o, const char *key, int lo, int hi, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

/* Every count and shape of a loaded model against META and each other:
 * a model file is hostile input (a package's manifest guarantees its
 * integrity, not that its author was honest), and a class count or input
 * shape that disagrees with what predict allocates would write or read
 * out of bounds. */
static int check_shapes(const ao_model *m, const char *path, ao_err *err)
{
    ao_learner_io io;
    const ao_dataset_info *d = m->info;
    m->learner->io(m->state, &io);
    if (io.n_classes != d->n_classes)
        return ao_err_set(err, AO_EDATA, "%s: the %s learner has %d classes, the model description names %d",
                          path, m->learner->name, io.n_classes, d->n_classes);
    switch (m->learner->input) {
    case AO_INPUT_FEATURES: {
        int64_t width = m->feat ? ao_featurizer_n_cols(m->feat) : 4 * (int64_t)m->onehot.length * d->n_seq_cols;
        if (io.n_features != width)
            return ao_err_set(err, AO_EDATA, "%s: the %s learner reads %lld features, the representation gives %lld",
                              path, m->learner->name, (long long)io.n_features, (long long)width);
        break;
    }
    case AO_INPUT_ONEHOT:
        if (io.channels != 4 * d->n_seq_cols || io.length != m->onehot.length)
            return ao_err_set(err, AO_EDATA, "%s: the %s learner reads %d channels x %d positions, the one-hot representation of %d sequence column(s) gives %d x %d",
                              path, m->learner->name, io.channels, io.length, d->n_seq_cols, 4 * d->n_seq_cols, m->onehot.length);
        break;
    }
    return AO_OK;
}

ao_model *ao_model_load(const char *dir, ao_err *err)
{
    char *path = ao_is_dir(dir) ? ao_path_join(dir, AO_MODEL_FILE) : strdup(dir), *text = NULL, **cls = NULL, **cols = NULL;
    ao_modelfile *mf = NULL;
    ao_model *m = NULL;
    ao_cursor c;
    json_t *j = NULL, *oh, *th;
    json_error_t je;
    const char *kind, *why;
    int ncls = 0, ncols = 0, rc;
    if (!path) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (!(mf = ao_modelfile_read(path, err))) goto ERROR;
    if (ao_modelfile_section(mf, "META", &c) < 0 || ao_cur_str(&c, &text) < 0 || !(j = json_loads(text, 0, &je)) || !json_is_object(j)) {
        ao_err_set(err, AO_EDATA, "%s: missing or unreadable model description", path);
        goto ERROR;
    }
    if (!(m = calloc(1, sizeof *m))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!(kind = json_string_value(json_object_get(j, "model")))) { ao_err_set(err, AO_EDATA, "%s: invalid model description: no learner named", path); goto ERROR; }
    if (!(cls = json_strings(json_object_get(j, "classes"), AO_MODEL_MAX_CLASSES, &ncls, &why)) || ncls < 2) {
        ao_err_set(err, AO_EDATA, "%s: invalid model description: classes: %s", path, cls ? "fewer than two" : why);
        goto ERROR;
    }
    if (!(cols = json_strings(json_object_get(j, "sequence_columns"), AO_MAX_SEQ_COLS, &ncols, &why))) {
        ao_err_set(err, AO_EDATA, "%s: invalid model description: sequence_columns: %s (at most %d)", path, why, AO_MAX_SEQ_COLS);
        goto ERROR;
    }
    if (!(m->learner = ao_learner_find(kind))) {
        ao_err_set(err, AO_EDATA, "%s: invalid model description: unknown learner '%.80s'", path, kind);
        goto ERROR;
    }
    if (!(m->info = ao_dataset_info_create(ncls, cls, ncols, cols))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    m->recipe = json_incref(json_object_get(j, "recipe"));
    m->threshold = NAN;
    if ((th = json_object_get(j, "threshold"))) {
        /* hostile: a decision threshold is a number strictly inside (0, 1),
         * and only a binary model has one */
        double t = json_is_number(th) ? json_number_value(th) : NAN;
        if (!ao_threshold_usable(t, ncls)) {
            ao_err_set(err, AO_EDATA, "%s: invalid model description: threshold must be a finite number in (0, 1) of a two-class model", path);
            goto ERROR;
        }
        m->threshold = t;
    }
    if ((oh = json_object_get(j, "onehot"))) {
        if (json_int_in(oh, "length", 1, AO_ONEHOT_MAX_LEN, &m->onehot.length) < 0 ||
            json_int_in(oh, "pad", AO_PAD_LEFT, AO_PAD_CENTRE, &m->onehot.pad) < 0 ||
            json_int_in(oh, "ambiguity", AO_AMBIG_ZERO, AO_AMBIG_FRACTIONAL, &m->onehot.ambig) < 0) {
            ao_err_set(err, AO_EDATA, "%s: invalid one-hot description (length 1..%d, pad and ambiguity codes)", path, AO_ONEHOT_MAX_LEN);
            goto ERROR;
        }
    } else if (m->learner->input == AO_INPUT_ONEHOT) {
        ao_err_set(err, AO_EDATA, "%s: a %s model without its one-hot description", path, kind);
        goto ERROR;
    }
    if (m->learner->input == AO_INPUT_FEATURES) {
        int64_t width = 4 * (int64_t)m->onehot.length * ncols;
        if (!m->onehot.length) {
            if (ao_modelfile_section(mf, "FEAT", &c) < 0 || !(m->feat = ao_featurizer_load(&c, err))) {
                ao_err_set(err, AO_EDATA, "%s: missing or invalid featurizer", path);
                goto ERROR;
            }
            if (ao_featurizer_n_seq_cols(m->feat) != ncols) {
                ao_err_set(err, AO_EDATA, "%s: the featurizer reads %d sequence column(s), the model description names %d",
                           path, ao_featurizer_n_seq_cols(m->feat), ncols);
                goto ERROR;
            }
            width = ao_featurizer_n_cols(m->feat);
        }
        if (ao_modelfile_section(mf, "SCAL", &c) == AO_OK) {
            uint64_t n, k;
            if (ao_cur_u64(&c, &n) < 0 || n != (uint64_t)width || n > (c.len - c.pos) / 4 ||
                !(m->scale = malloc(sizeof *m->scale * (size_t)(n ? n : 1))) || ao_cur_f32s(&c, m->scale, (size_t)n) < 0) {
                ao_err_set(err, AO_EDATA, "%s: invalid feature scaling section (%lld features expected)", path, (long long)width);
                goto ERROR;
            }
            for (k = 0; k < n; k++)
                if (!(isfinite(m->scale[k]) && m->scale[k] > 0)) {
                    ao_err_set(err, AO_EDATA, "%s: feature scale %llu is not a finite positive number", path, (unsigned long long)k);
                    goto ERROR;
                }
            m->n_scale = (int64_t)n;
        }
    }
    if (ao_modelfile_section(mf, "LRNR", &c) < 0) { ao_err_set(err, AO_EDATA, "%s: no learner section", path); goto ERROR; }
    if ((rc = m->learner->load(&c, &m->state, err)) < 0) {
        /* the learner's own message says what is wrong */
        char msg[AO_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        ao_err_init(err);
        ao_err_set(err, rc == AO_EMEM ? AO_EMEM : AO_EDATA, "%s: invalid %s learner: %.900s", path, kind, msg);
        goto ERROR;
    }
    if (check_shapes(m, path, err) < 0) goto ERROR;
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
