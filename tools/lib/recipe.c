/* recipe.c — recipe.json: strict parsing into an ao_recipe (see recipe.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/jsonfield.h"
#include "agentomics/recipe.h"

static const char *const cw_names[] = {"none", "balanced", NULL};
static const int cw_values[] = {0, 1};   /* the NONE/BALANCED values of every learner's enum */

/* ---- representation ------------------------------------------------ */

static int parse_repr(const ao_jf *c, const json_t *o, ao_recipe *r)
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
    if (!json_object_get(o, "type")) return ao_jf_fail(c, P, "type", "required: \"kmer\" or \"onehot\"", NULL);
    AO_JF_TRY(ao_jf_enum(c, o, P, "type", types, type_v, &r->repr));
    if (r->repr == AO_REPR_ONEHOT) {
        json_t *len = json_object_get(o, "length");
        AO_JF_TRY(ao_jf_keys(c, o, P, oh_keys));
        if (len && !(json_is_string(len) && strcmp(json_string_value(len), "auto") == 0))
            AO_JF_TRY(ao_jf_int(c, o, P, "length", 1, AO_ONEHOT_MAX_LEN, &r->onehot.length));
        AO_JF_TRY(ao_jf_enum(c, o, P, "pad", pads, pad_v, &r->onehot.pad));
        AO_JF_TRY(ao_jf_enum(c, o, P, "ambiguity", ambs, amb_v, &r->onehot.ambig));
        return AO_OK;
    }
    AO_JF_TRY(ao_jf_keys(c, o, P, kmer_keys));
    {
        json_t *k = json_object_get(o, "k");
        if (json_is_integer(k)) {
            AO_JF_TRY(ao_jf_int(c, o, P, "k", 1, AO_FEAT_MAX_K, &r->feat.k[0]));
            r->feat.n_k = 1;
        } else if (json_is_array(k)) {
            size_t i;
            if (json_array_size(k) > AO_FEAT_MAX_KS) return ao_jf_fail(c, P, "k", "too many k values", NULL);
            r->feat.n_k = 0;
            for (i = 0; i < json_array_size(k); i++) {
                json_t *v = json_array_get(k, i);
                char path[64];
                snprintf(path, sizeof path, "%s.k[%zu]", P, i);
                if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > AO_FEAT_MAX_K)
                    return ao_jf_fail(c, path, NULL, "expected an integer k in [1, 8]", ao_jf_kind(v));
                for (int j = 0; j < r->feat.n_k; j++)
                    if (r->feat.k[j] == (int)json_integer_value(v)) return ao_jf_fail(c, path, NULL, "k listed twice", NULL);
                r->feat.k[r->feat.n_k++] = (int)json_integer_value(v);
            }
        } else if (k) {
            return ao_jf_fail(c, P, "k", "expected an integer or an array of integers in [1, 8]", ao_jf_kind(k));
        }
    }
    AO_JF_TRY(ao_jf_bool(c, o, P, "canonical", &r->feat.canonical));
    AO_JF_TRY(ao_jf_bool(c, o, P, "frequencies", &r->feat.freq));
    AO_JF_TRY(ao_jf_bool(c, o, P, "global", &r->feat.global));
    AO_JF_TRY(ao_jf_bool(c, o, P, "pair", &r->feat.pair));
    {
        json_t *g = json_object_get(o, "gapped");
        size_t i;
        if (g && !json_is_array(g)) return ao_jf_fail(c, P, "gapped", "expected an array of masks such as \"11011\"", ao_jf_kind(g));
        if (g && json_array_size(g) > AO_FEAT_MAX_MASKS) return ao_jf_fail(c, P, "gapped", "too many masks", NULL);
        for (i = 0; g && i < json_array_size(g); i++) {
            json_t *v = json_array_get(g, i);
            char path[64];
            snprintf(path, sizeof path, "%s.gapped[%zu]", P, i);
            if (!json_is_string(v) || strlen(json_string_value(v)) > AO_FEAT_MASK_LEN || strspn(json_string_value(v), "01") != strlen(json_string_value(v)))
                return ao_jf_fail(c, path, NULL, "expected a mask of 0 and 1, such as \"11011\"", ao_jf_kind(v));
            strcpy(r->feat.masks[r->feat.n_masks++], json_string_value(v));
        }
    }
    if (r->feat.n_k == 0 && r->feat.n_masks == 0 && !r->feat.global && !r->feat.pair)
        return ao_jf_fail(c, P, NULL, "no features: give k, gapped masks, global or pair", NULL);
    return AO_OK;
}

/* ---- models ---------------------------------------------------------- */

static int parse_logreg(const ao_jf *c, const json_t *o, ao_recipe *r)
{
    static const char *const keys[] = {"type", "C", "max_iter", "tol", "class_weight", NULL};
    const char *P = "$.model";
    AO_JF_TRY(ao_jf_keys(c, o, P, keys));
    AO_JF_TRY(ao_jf_num(c, o, P, "C", 1e-8, 1e8, &r->logreg.C));
    AO_JF_TRY(ao_jf_int(c, o, P, "max_iter", 1, 100000, &r->logreg.max_iter));
    AO_JF_TRY(ao_jf_num(c, o, P, "tol", 0, 1, &r->logreg.tol));
    AO_JF_TRY(ao_jf_enum(c, o, P, "class_weight", cw_names, cw_values, &r->logreg.class_weight));
    return AO_OK;
}

static int parse_gbdt(const ao_jf *c, const json_t *o, ao_recipe *r)
{
    static const char *const keys[] = {"type", "n_estimators", "learning_rate", "max_depth", "max_leaves", "lambda",
                                       "min_split_gain", "min_child_weight", "min_samples_leaf", "max_bins", "subsample",
                                       "colsample", "early_stopping_rounds", "class_weight", NULL};
    const char *P = "$.model";
    ao_gbdt_params *g = &r->gbdt;
    AO_JF_TRY(ao_jf_keys(c, o, P, keys));
    AO_JF_TRY(ao_jf_int(c, o, P, "n_estimators", 1, 100000, &g->n_estimators));
    AO_JF_TRY(ao_jf_num(c, o, P, "learning_rate", 1e-6, 10, &g->learning_rate));
    AO_JF_TRY(ao_jf_int(c, o, P, "max_depth", 0, 64, &g->max_depth));
    AO_JF_TRY(ao_jf_int(c, o, P, "max_leaves", 0, 65536, &g->max_leaves));
    AO_JF_TRY(ao_jf_num(c, o, P, "lambda", 0, 1e6, &g->lambda));
    AO_JF_TRY(ao_jf_num(c, o, P, "min_split_gain", 0, 1e6, &g->min_split_gain));
    AO_JF_TRY(ao_jf_num(c, o, P, "min_child_weight", 0, 1e6, &g->min_child_weight));
    AO_JF_TRY(ao_jf_int(c, o, P, "min_samples_leaf", 1, 1000000, &g->min_samples_leaf));
    AO_JF_TRY(ao_jf_int(c, o, P, "max_bins", 2, 255, &g->max_bins));
    AO_JF_TRY(ao_jf_num(c, o, P, "subsample", 1e-3, 1, &g->subsample));
    AO_JF_TRY(ao_jf_num(c, o, P, "colsample", 1e-3, 1, &g->colsample));
    AO_JF_TRY(ao_jf_int(c, o, P, "early_stopping_rounds", 0, 100000, &g->early_stopping_rounds));
    AO_JF_TRY(ao_jf_enum(c, o, P, "class_weight", cw_names, cw_values, &g->class_weight_mode));
    if (g->max_depth <= 0 && g->max_leaves <= 0) return ao_jf_fail(c, P, "max_depth", "max_depth and max_leaves cannot both be unlimited (0)", NULL);
    return AO_OK;
}

static int parse_cnn(const ao_jf *c, const json_t *o, ao_recipe *r)
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
    AO_JF_TRY(ao_jf_keys(c, o, P, keys));
    if (blocks) {
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
            bl->filters = 64; bl->width = 9; bl->dilation = 1; bl->pool = AO_CNN_POOL_NONE; bl->pool_size = 2;
            AO_JF_TRY(ao_jf_keys(c, b, path, block_keys));
            AO_JF_TRY(ao_jf_int(c, b, path, "filters", 1, 4096, &bl->filters));
            AO_JF_TRY(ao_jf_int(c, b, path, "width", 1, 1024, &bl->width));
            AO_JF_TRY(ao_jf_int(c, b, path, "dilation", 1, 1024, &bl->dilation));
            AO_JF_TRY(ao_jf_enum(c, b, path, "pool", pools, pool_v, &bl->pool));
            AO_JF_TRY(ao_jf_int(c, b, path, "pool_size", 1, 1024, &bl->pool_size));
        }
    }
    AO_JF_TRY(ao_jf_enum(c, o, P, "global_pool", gpools, gpool_v, &a->global_pool));
    d = a->dropout;
    AO_JF_TRY(ao_jf_num(c, o, P, "dropout", 0, 0.95, &d));
    a->dropout = (float)d;
    AO_JF_TRY(ao_jf_int(c, o, P, "hidden", 0, 65536, &a->hidden));
    d = a->hidden_dropout;
    AO_JF_TRY(ao_jf_num(c, o, P, "hidden_dropout", 0, 0.95, &d));
    a->hidden_dropout = (float)d;
    AO_JF_TRY(ao_jf_int(c, o, P, "epochs", 1, 100000, &t->max_epochs));
    AO_JF_TRY(ao_jf_int(c, o, P, "batch_size", 1, 65536, &t->batch_size));
    AO_JF_TRY(ao_jf_num(c, o, P, "learning_rate", 0, 1e9, &t->lr));
    AO_JF_TRY(ao_jf_num(c, o, P, "weight_decay", 0, 10, &t->weight_decay));
    AO_JF_TRY(ao_jf_bool(c, o, P, "decoupled_weight_decay", &t->decoupled_wd));
    AO_JF_TRY(ao_jf_int(c, o, P, "patience", 0, 100000, &t->patience));
    AO_JF_TRY(ao_jf_int(c, o, P, "lr_patience", 0, 100000, &t->lr_patience));
    AO_JF_TRY(ao_jf_num(c, o, P, "lr_factor", 1e-6, 1, &t->lr_factor));
    AO_JF_TRY(ao_jf_bool(c, o, P, "rc_augment", &t->rc_augment));
    AO_JF_TRY(ao_jf_bool(c, o, P, "rc_average", &t->rc_average));
    AO_JF_TRY(ao_jf_enum(c, o, P, "class_weight", cw_names, cw_values, &t->class_weight));
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
    ao_jf c = {file, err};
    json_t *rep, *mod, *v;
    int fv = 1;
    recipe_defaults(r);
    if (!json_is_object(j)) return ao_jf_fail(&c, "$", NULL, "a recipe is a JSON object", ao_jf_kind(j));
    AO_JF_TRY(ao_jf_keys(&c, j, "$", top));
    AO_JF_TRY(ao_jf_int(&c, j, "$", "format_version", 1, 1, &fv));
    if ((v = json_object_get(j, "name")) && !json_is_string(v)) return ao_jf_fail(&c, "$", "name", "expected a string", ao_jf_kind(v));
    if ((v = json_object_get(j, "notes")) && !json_is_string(v)) return ao_jf_fail(&c, "$", "notes", "expected a string", ao_jf_kind(v));
    if ((v = json_object_get(j, "seed"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) return ao_jf_fail(&c, "$", "seed", "expected a non-negative integer", ao_jf_kind(v));
        r->seed = (uint64_t)json_integer_value(v);
    }
    AO_JF_TRY(ao_jf_enum(&c, j, "$", "early_stopping", es, es_v, &r->early_stopping));
    AO_JF_TRY(ao_jf_object(&c, j, "$", "representation", 1, &rep));
    AO_JF_TRY(ao_jf_object(&c, j, "$", "model", 1, &mod));
    AO_JF_TRY(parse_repr(&c, rep, r));
    if (!json_object_get(mod, "type")) return ao_jf_fail(&c, "$.model", "type", "required: \"logreg\", \"gbdt\" or \"cnn\"", NULL);
    AO_JF_TRY(ao_jf_enum(&c, mod, "$.model", "type", models, model_v, &r->model));
    /* logreg and gbdt read k-mer spectra or positional one-hot features
     * (flattened); the CNN reads one-hot input only */
    if (r->model == AO_MODEL_CNN && r->repr != AO_REPR_ONEHOT)
        return ao_jf_fail(&c, "$.representation", "type", "the cnn model reads \"onehot\" input", NULL);
    switch (r->model) {
    case AO_MODEL_LOGREG: AO_JF_TRY(parse_logreg(&c, mod, r)); break;
    case AO_MODEL_GBDT: AO_JF_TRY(parse_gbdt(&c, mod, r)); break;
    default: AO_JF_TRY(parse_cnn(&c, mod, r)); break;
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
