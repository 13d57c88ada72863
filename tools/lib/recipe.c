#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/recipe.h"

/* ---- strict JSON field access -------------------------------------- */

typedef struct jctx { const char *file; ao_err *err; } jctx;

static int jfail(jctx *c, const char *path, const char *key, const char *fmt, const char *got)
{
    char full[256];
    snprintf(full, sizeof full, key ? "%s.%s" : "%s", path, key ? key : "");
    return ao_err_set(c->err, AO_EDATA, "%s: %s: %s%s%s", c->file, full, fmt, got ? ", got " : "", got ? got : "");
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Every key of o must be in allowed (NULL-terminated). */
static int jkeys(jctx *c, const json_t *o, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int i, found = 0;
        for (i = 0; allowed[i]; i++) if (strcmp(key, allowed[i]) == 0) found = 1;
        if (!found) return jfail(c, path, key, "unknown key", NULL);
    }
    return AO_OK;
}

/* Optional number in [lo, hi]; absent keeps *out. */
static int jnum(jctx *c, const json_t *o, const char *path, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(o, key);
    char msg[128];
    if (!v) return AO_OK;
    snprintf(msg, sizeof msg, "expected a number in [%g, %g]", lo, hi);
    if (!json_is_number(v)) return jfail(c, path, key, msg, json_kind(v));
    if (!(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
        char got[64];
        snprintf(got, sizeof got, "%g", json_number_value(v));
        return jfail(c, path, key, msg, got);
    }
    *out = json_number_value(v);
    return AO_OK;
}

static int jint(jctx *c, const json_t *o, const char *path, const char *key, long lo, long hi, int *out)
{
    json_t *v = json_object_get(o, key);
    char msg[128];
    if (!v) return AO_OK;
    snprintf(msg, sizeof msg, "expected an integer in [%ld, %ld]", lo, hi);
    if (!json_is_integer(v)) return jfail(c, path, key, msg, json_kind(v));
    if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char got[64];
        snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
        return jfail(c, path, key, msg, got);
    }
    *out = (int)json_integer_value(v);
    return AO_OK;
}

static int jbool(jctx *c, const json_t *o, const char *path, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return AO_OK;
    if (!json_is_boolean(v)) return jfail(c, path, key, "expected true or false", json_kind(v));
    *out = json_is_true(v);
    return AO_OK;
}

/* Optional string naming one of names[]; *out gets values[i]. */
static int jenum(jctx *c, const json_t *o, const char *path, const char *key, const char *const *names, const int *values, int *out)
{
    json_t *v = json_object_get(o, key);
    char msg[256];
    size_t l = 0;
    int i;
    if (!v) return AO_OK;
    l += (size_t)snprintf(msg, sizeof msg, "expected one of");
    for (i = 0; names[i] && l < sizeof msg; i++) l += (size_t)snprintf(msg + l, sizeof msg - l, "%s \"%s\"", i ? "," : "", names[i]);
    if (!json_is_string(v)) return jfail(c, path, key, msg, json_kind(v));
    for (i = 0; names[i]; i++)
        if (strcmp(json_string_value(v), names[i]) == 0) { *out = values[i]; return AO_OK; }
    {
        char got[96];
        snprintf(got, sizeof got, "\"%.80s\"", json_string_value(v));
        return jfail(c, path, key, msg, got);
    }
}

static int jobject(jctx *c, const json_t *o, const char *path, const char *key, int required, json_t **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) return required ? jfail(c, path, key, "required object is missing", NULL) : AO_OK;
    if (!json_is_object(v)) return jfail(c, path, key, "expected an object", json_kind(v));
    *out = v;
    return AO_OK;
}

#define TRY(x) do { int rc_ = (x); if (rc_ < 0) return rc_; } while (0)

static const char *const cw_names[] = {"none", "balanced", NULL};
static const int cw_values[] = {0, 1};   /* the NONE/BALANCED values of every learner's enum */

/* ---- representation ------------------------------------------------ */

static int parse_repr(jctx *c, const json_t *o, ao_recipe *r)
{
    static const char *const types[] = {"kmer", "onehot", NULL};
    static const int type_v[] = {AO_REPR_KMER, AO_REPR_ONEHOT};
    static const char *const kmer_keys[] = {"type", "k", "canonical", "frequencies", "gapped", "global", "pair", NULL};
    static const char *const oh_keys[] = {"type", "length", "pad", "ambiguity", NULL};
    static const char *const pads[] = {"left", "right", "centre", "center", NULL};
    static const int pad_v[] = {AO_PAD_LEFT, AO_PAD_RIGHT, AO_PAD_CENTRE, AO_PAD_CENTRE};
    static const char *const ambs[] = {"zero", "fractional", NULL};
    static const int amb_v[] = {AO_AMBIG_ZERO, AO_AMBIG_FRACTIONAL};
    const char *P = "$.representation";
    if (!json_object_get(o, "type")) return jfail(c, P, "type", "required: \"kmer\" or \"onehot\"", NULL);
    TRY(jenum(c, o, P, "type", types, type_v, &r->repr));
    if (r->repr == AO_REPR_ONEHOT) {
        json_t *len = json_object_get(o, "length");
        TRY(jkeys(c, o, P, oh_keys));
        if (len && !(json_is_string(len) && strcmp(json_string_value(len), "auto") == 0))
            TRY(jint(c, o, P, "length", 1, AO_ONEHOT_MAX_LEN, &r->onehot.length));
        TRY(jenum(c, o, P, "pad", pads, pad_v, &r->onehot.pad));
        TRY(jenum(c, o, P, "ambiguity", ambs, amb_v, &r->onehot.ambig));
        return AO_OK;
    }
    TRY(jkeys(c, o, P, kmer_keys));
    {
        json_t *k = json_object_get(o, "k");
        if (json_is_integer(k)) {
            TRY(jint(c, o, P, "k", 1, AO_FEAT_MAX_K, &r->feat.k[0]));
            r->feat.n_k = 1;
        } else if (json_is_array(k)) {
            size_t i;
            if (json_array_size(k) > AO_FEAT_MAX_KS) return jfail(c, P, "k", "too many k values", NULL);
            r->feat.n_k = 0;
            for (i = 0; i < json_array_size(k); i++) {
                json_t *v = json_array_get(k, i);
                char path[64];
                snprintf(path, sizeof path, "%s.k[%zu]", P, i);
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > AO_FEAT_MAX_K)
                    return jfail(c, path, NULL, "expected an integer k in [1, 8]", json_kind(v));
                for (int j = 0; j < r->feat.n_k; j++)
                    if (r->feat.k[j] == (int)json_integer_value(v)) return jfail(c, path, NULL, "k listed twice", NULL);
                r->feat.k[r->feat.n_k++] = (int)json_integer_value(v);
            }
        } else if (k) {
            return jfail(c, P, "k", "expected an integer or an array of integers in [1, 8]", json_kind(k));
        }
    }
    TRY(jbool(c, o, P, "canonical", &r->feat.canonical));
    TRY(jbool(c, o, P, "frequencies", &r->feat.freq));
    TRY(jbool(c, o, P, "global", &r->feat.global));
    TRY(jbool(c, o, P, "pair", &r->feat.pair));
    {
        json_t *g = json_object_get(o, "gapped");
        size_t i;
        if (g && !json_is_array(g)) return jfail(c, P, "gapped", "expected an array of masks such as \"11011\"", json_kind(g));
        if (g && json_array_size(g) > AO_FEAT_MAX_MASKS) return jfail(c, P, "gapped", "too many masks", NULL);
        for (i = 0; g && i < json_array_size(g); i++) {
            json_t *v = json_array_get(g, i);
            char path[64];
            snprintf(path, sizeof path, "%s.gapped[%zu]", P, i);
            if (!json_is_string(v) || strlen(json_string_value(v)) > AO_FEAT_MASK_LEN || strspn(json_string_value(v), "01") != strlen(json_string_value(v)))
                return jfail(c, path, NULL, "expected a mask of 0 and 1, such as \"11011\"", json_kind(v));
            strcpy(r->feat.masks[r->feat.n_masks++], json_string_value(v));
        }
    }
    if (r->feat.n_k == 0 && r->feat.n_masks == 0 && !r->feat.global && !r->feat.pair)
        return jfail(c, P, NULL, "no features: give k, gapped masks, global or pair", NULL);
    return AO_OK;
}

/* ---- models ---------------------------------------------------------- */

static int parse_logreg(jctx *c, const json_t *o, ao_recipe *r)
{
    static const char *const keys[] = {"type", "C", "max_iter", "tol", "class_weight", NULL};
    const char *P = "$.model";
    TRY(jkeys(c, o, P, keys));
    TRY(jnum(c, o, P, "C", 1e-8, 1e8, &r->logreg.C));
    TRY(jint(c, o, P, "max_iter", 1, 100000, &r->logreg.max_iter));
    TRY(jnum(c, o, P, "tol", 0, 1, &r->logreg.tol));
    TRY(jenum(c, o, P, "class_weight", cw_names, cw_values, &r->logreg.class_weight));
    return AO_OK;
}

static int parse_gbdt(jctx *c, const json_t *o, ao_recipe *r)
{
    static const char *const keys[] = {"type", "n_estimators", "learning_rate", "max_depth", "max_leaves", "lambda",
                                       "min_split_gain", "min_child_weight", "min_samples_leaf", "max_bins", "subsample",
                                       "colsample", "early_stopping_rounds", "class_weight", NULL};
    const char *P = "$.model";
    ao_gbdt_params *g = &r->gbdt;
    TRY(jkeys(c, o, P, keys));
    TRY(jint(c, o, P, "n_estimators", 1, 100000, &g->n_estimators));
    TRY(jnum(c, o, P, "learning_rate", 1e-6, 10, &g->learning_rate));
    TRY(jint(c, o, P, "max_depth", 0, 64, &g->max_depth));
    TRY(jint(c, o, P, "max_leaves", 0, 65536, &g->max_leaves));
    TRY(jnum(c, o, P, "lambda", 0, 1e6, &g->lambda));
    TRY(jnum(c, o, P, "min_split_gain", 0, 1e6, &g->min_split_gain));
    TRY(jnum(c, o, P, "min_child_weight", 0, 1e6, &g->min_child_weight));
    TRY(jint(c, o, P, "min_samples_leaf", 1, 1000000, &g->min_samples_leaf));
    TRY(jint(c, o, P, "max_bins", 2, 255, &g->max_bins));
    TRY(jnum(c, o, P, "subsample", 1e-3, 1, &g->subsample));
    TRY(jnum(c, o, P, "colsample", 1e-3, 1, &g->colsample));
    TRY(jint(c, o, P, "early_stopping_rounds", 0, 100000, &g->early_stopping_rounds));
    TRY(jenum(c, o, P, "class_weight", cw_names, cw_values, &g->class_weight_mode));
    if (g->max_depth <= 0 && g->max_leaves <= 0) return jfail(c, P, "max_depth", "max_depth and max_leaves cannot both be unlimited (0)", NULL);
    return AO_OK;
}

static int parse_cnn(jctx *c, const json_t *o, ao_recipe *r)
{
    static const char *const keys[] = {"type", "blocks", "global_pool", "dropout", "hidden", "hidden_dropout", "epochs",
                                       "batch_size", "learning_rate", "weight_decay", "decoupled_weight_decay", "patience",
                                       "lr_patience", "lr_factor", "rc_augment", "rc_average", "class_weight", NULL};
    static const char *const block_keys[] = {"filters", "width", "dilation", "pool", "pool_size", NULL};
    static const char *const pools[] = {"none", "max", "avg", NULL};
    static const int pool_v[] = {AO_CNN_POOL_NONE, AO_CNN_POOL_MAX, AO_CNN_POOL_AVG};
    static const char *const gpools[] = {"max", "avg", "maxavg", "flatten", NULL};
    static const int gpool_v[] = {AO_CNN_GLOBAL_MAX, AO_CNN_GLOBAL_AVG, AO_CNN_GLOBAL_MAXAVG, AO_CNN_FLATTEN};
    const char *P = "$.model";
    ao_cnn_arch *a = &r->cnn_arch;
    ao_cnn_train_params *t = &r->cnn_train;
    json_t *blocks = json_object_get(o, "blocks");
    double d;
    TRY(jkeys(c, o, P, keys));
    if (blocks) {
        size_t i;
        if (!json_is_array(blocks) || json_array_size(blocks) < 1 || json_array_size(blocks) > AO_CNN_MAX_BLOCKS)
            return jfail(c, P, "blocks", "expected an array of 1 to 8 conv blocks", json_kind(blocks));
        a->n_blocks = (int)json_array_size(blocks);
        for (i = 0; i < json_array_size(blocks); i++) {
            json_t *b = json_array_get(blocks, i);
            char path[64];
            ao_cnn_block *bl = &a->blocks[i];
            snprintf(path, sizeof path, "%s.blocks[%zu]", P, i);
            if (!json_is_object(b)) return jfail(c, path, NULL, "expected an object", json_kind(b));
            bl->filters = 64; bl->width = 9; bl->dilation = 1; bl->pool = AO_CNN_POOL_NONE; bl->pool_size = 2;
            TRY(jkeys(c, b, path, block_keys));
            TRY(jint(c, b, path, "filters", 1, 4096, &bl->filters));
            TRY(jint(c, b, path, "width", 1, 1024, &bl->width));
            TRY(jint(c, b, path, "dilation", 1, 1024, &bl->dilation));
            TRY(jenum(c, b, path, "pool", pools, pool_v, &bl->pool));
            TRY(jint(c, b, path, "pool_size", 1, 1024, &bl->pool_size));
        }
    }
    TRY(jenum(c, o, P, "global_pool", gpools, gpool_v, &a->global_pool));
    d = a->dropout;
    TRY(jnum(c, o, P, "dropout", 0, 0.95, &d));
    a->dropout = (float)d;
    TRY(jint(c, o, P, "hidden", 0, 65536, &a->hidden));
    d = a->hidden_dropout;
    TRY(jnum(c, o, P, "hidden_dropout", 0, 0.95, &d));
    a->hidden_dropout = (float)d;
    TRY(jint(c, o, P, "epochs", 1, 100000, &t->max_epochs));
    TRY(jint(c, o, P, "batch_size", 1, 65536, &t->batch_size));
    TRY(jnum(c, o, P, "learning_rate", 0, 1e9, &t->lr));
    TRY(jnum(c, o, P, "weight_decay", 0, 10, &t->weight_decay));
    TRY(jbool(c, o, P, "decoupled_weight_decay", &t->decoupled_wd));
    TRY(jint(c, o, P, "patience", 0, 100000, &t->patience));
    TRY(jint(c, o, P, "lr_patience", 0, 100000, &t->lr_patience));
    TRY(jnum(c, o, P, "lr_factor", 1e-6, 1, &t->lr_factor));
    TRY(jbool(c, o, P, "rc_augment", &t->rc_augment));
    TRY(jbool(c, o, P, "rc_average", &t->rc_average));
    TRY(jenum(c, o, P, "class_weight", cw_names, cw_values, &t->class_weight));
    return AO_OK;
}

const char *ao_model_type_name(int model)
{
    return model == AO_MODEL_LOGREG ? "logreg" : model == AO_MODEL_GBDT ? "gbdt" : model == AO_MODEL_CNN ? "cnn" : "unknown";
}

void ao_recipe_free(ao_recipe *r)
{
    if (!r) return;
    json_decref(r->json);
    r->json = NULL;
}

static void recipe_defaults(ao_recipe *r)
{
    memset(r, 0, sizeof *r);
    ao_featspec_init(&r->feat);
    r->onehot.pad = AO_PAD_RIGHT;
    r->onehot.ambig = AO_AMBIG_FRACTIONAL;
    ao_logreg_params_init(&r->logreg);
    ao_gbdt_params_init(&r->gbdt);
    ao_cnn_arch_default(&r->cnn_arch);
    ao_cnn_train_params_default(&r->cnn_train);
    r->seed = 1;
    r->early_stopping = AO_ES_VALID;
}

int ao_recipe_parse(const json_t *j, const char *file, ao_recipe *r, ao_err *err)
{
    static const char *const top[] = {"format_version", "name", "notes", "seed", "representation", "model", "early_stopping", NULL};
    static const char *const models[] = {"logreg", "gbdt", "cnn", NULL};
    static const int model_v[] = {AO_MODEL_LOGREG, AO_MODEL_GBDT, AO_MODEL_CNN};
    static const char *const es[] = {"valid", "none", NULL};
    static const int es_v[] = {AO_ES_VALID, AO_ES_NONE};
    jctx c = {file, err};
    json_t *rep, *mod, *v;
    int fv = 1;
    recipe_defaults(r);
    if (!json_is_object(j)) return jfail(&c, "$", NULL, "a recipe is a JSON object", json_kind(j));
    TRY(jkeys(&c, j, "$", top));
    TRY(jint(&c, j, "$", "format_version", 1, 1, &fv));
    if ((v = json_object_get(j, "name")) && !json_is_string(v)) return jfail(&c, "$", "name", "expected a string", json_kind(v));
    if ((v = json_object_get(j, "notes")) && !json_is_string(v)) return jfail(&c, "$", "notes", "expected a string", json_kind(v));
    if ((v = json_object_get(j, "seed"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) return jfail(&c, "$", "seed", "expected a non-negative integer", json_kind(v));
        r->seed = (uint64_t)json_integer_value(v);
    }
    TRY(jenum(&c, j, "$", "early_stopping", es, es_v, &r->early_stopping));
    TRY(jobject(&c, j, "$", "representation", 1, &rep));
    TRY(jobject(&c, j, "$", "model", 1, &mod));
    TRY(parse_repr(&c, rep, r));
    if (!json_object_get(mod, "type")) return jfail(&c, "$.model", "type", "required: \"logreg\", \"gbdt\" or \"cnn\"", NULL);
    TRY(jenum(&c, mod, "$.model", "type", models, model_v, &r->model));
    /* logreg and gbdt read k-mer spectra or positional one-hot features
     * (flattened); the CNN reads one-hot input only */
    if (r->model == AO_MODEL_CNN && r->repr != AO_REPR_ONEHOT)
        return jfail(&c, "$.representation", "type", "the cnn model reads \"onehot\" input", NULL);
    switch (r->model) {
    case AO_MODEL_LOGREG: TRY(parse_logreg(&c, mod, r)); break;
    case AO_MODEL_GBDT: TRY(parse_gbdt(&c, mod, r)); break;
    default: TRY(parse_cnn(&c, mod, r)); break;
    }
    r->gbdt.seed = r->seed;
    r->cnn_train.seed = r->seed;
    r->json = json_deep_copy(j);
    return r->json ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

int ao_recipe_load(const char *path, ao_recipe *r, ao_err *err)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    int rc;
    const char *slash = strrchr(path, '/');
    if (!j) {
        FILE *fp = fopen(path, "r");
        if (!fp) return ao_err_set(err, AO_EIO, "%s: cannot open", path);
        fclose(fp);
        return ao_err_set(err, AO_EDATA, "%s:%d: invalid JSON: %s", path, je.line, je.text);
    }
    rc = ao_recipe_parse(j, slash ? slash + 1 : path, r, err);
    json_decref(j);
    return rc;
}

int ao_recipe_check_memory(const ao_recipe *r, const char *file, int64_t n_rows, int n_seq_cols, int64_t onehot_len,
                           int64_t n_feat_cols, long mem_limit_mb, ao_err *err)
{
    double bytes = 0;
    const char *what = "";
    (void)n_seq_cols;
    if (mem_limit_mb <= 0) return AO_OK;
    switch (r->model) {
    case AO_MODEL_GBDT:
        /* a dense float matrix plus its one-byte bin codes */
        bytes = (double)n_rows * (double)n_feat_cols * 5.0;
        what = "$.representation.k: the dense feature matrix for gradient-boosted trees";
        break;
    case AO_MODEL_LOGREG:
        /* weights, gradient and L-BFGS history per class and feature (doubles) */
        bytes = (double)n_feat_cols * (r->logreg.lbfgs_m * 2 + 4) * 8.0 * 2;
        what = "$.representation.k: the logistic-regression weights and solver state";
        break;
    default:
        bytes = (double)n_rows * 4.0 * (double)onehot_len * 4.0;
        what = "$.representation.length: the one-hot input tensor";
        break;
    }
    if (bytes > (double)mem_limit_mb * 1048576.0 * 0.8)
        return ao_err_set(err, AO_EDATA, "%s: %s needs about %.0f MB, over 80%% of the %ld MB memory limit", file, what, bytes / 1048576.0, mem_limit_mb);
    return AO_OK;
}
