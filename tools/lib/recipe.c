/* recipe.c — recipe.json: strict parsing into an ao_recipe and the
 * canonical recipe back (see recipe.h). The representation and the
 * top-level keys are read here; the "model" object by its learner's row
 * (learner.h). */
#include <stdio.h>
#include <string.h>
#include "agentomics/jsonfield.h"
#include "agentomics/recipe.h"

static const char *const repr_names[] = {"kmer", "onehot", NULL};
static const int repr_values[] = {AO_REPR_KMER, AO_REPR_ONEHOT};
static const char *const pad_names[] = {"left", "right", "centre", "center", NULL};
static const int pad_values[] = {AO_PAD_LEFT, AO_PAD_RIGHT, AO_PAD_CENTRE, AO_PAD_CENTRE};
static const char *const ambig_names[] = {"zero", "fractional", NULL};
static const int ambig_values[] = {AO_AMBIG_ZERO, AO_AMBIG_FRACTIONAL};
static const char *const es_names[] = {"valid", "none", NULL};
static const int es_values[] = {AO_ES_VALID, AO_ES_NONE};

/* ---- representation ------------------------------------------------ */

static int parse_repr(const ao_jf *c, const json_t *o, ao_recipe *r)
{
    static const char *const kmer_keys[] = {"type", "k", "canonical", "frequencies", "gapped", "global", "pair", NULL};
    static const char *const oh_keys[] = {"type", "length", "pad", "ambiguity", NULL};
    const char *P = "$.representation";
    if (!json_object_get(o, "type")) return ao_jf_fail(c, P, "type", "required: \"kmer\" or \"onehot\"", NULL);
    AO_JF_TRY(ao_jf_enum(c, o, P, "type", repr_names, repr_values, &r->repr));
    if (r->repr == AO_REPR_ONEHOT) {
        json_t *len = json_object_get(o, "length");
        AO_JF_TRY(ao_jf_keys(c, o, P, oh_keys));
        if (len && !(json_is_string(len) && strcmp(json_string_value(len), "auto") == 0))
            AO_JF_TRY(ao_jf_int(c, o, P, "length", 1, AO_ONEHOT_MAX_LEN, &r->onehot.length));
        AO_JF_TRY(ao_jf_enum(c, o, P, "pad", pad_names, pad_values, &r->onehot.pad));
        AO_JF_TRY(ao_jf_enum(c, o, P, "ambiguity", ambig_names, ambig_values, &r->onehot.ambig));
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

/* ---- the model: its learner's row ------------------------------------ */

/* $.model.type names a row of the learner table. */
static int parse_model_type(const ao_jf *c, const json_t *mod, const ao_learner **out)
{
    json_t *t = json_object_get(mod, "type");
    char names[256], what[300], got[96];
    ao_learner_names(names, sizeof names, " or ");
    if (!t) {
        snprintf(what, sizeof what, "required: %s", names);
        return ao_jf_fail(c, "$.model", "type", what, NULL);
    }
    if ((*out = ao_learner_find(json_string_value(t)))) return AO_OK;
    ao_learner_names(names, sizeof names, ", ");
    snprintf(what, sizeof what, "expected one of %s", names);
    if (!json_is_string(t)) return ao_jf_fail(c, "$.model", "type", what, ao_jf_kind(t));
    snprintf(got, sizeof got, "\"%.80s\"", json_string_value(t));
    return ao_jf_fail(c, "$.model", "type", what, got);
}

void ao_recipe_free(ao_recipe *r)
{
    if (!r) return;
    json_decref(r->json);
    r->json = NULL;
}

int ao_recipe_parse(const json_t *j, const char *file, ao_recipe *r, ao_err *err)
{
    static const char *const top[] = {"format_version", "name", "notes", "seed", "representation", "model", "early_stopping", NULL};
    const ao_jf c = {file, err};
    const ao_learner *l;
    json_t *rep, *mod, *v;
    int fv = 1;
    memset(r, 0, sizeof *r);
    ao_featspec_init(&r->feat);
    r->onehot.pad = AO_PAD_RIGHT;
    r->onehot.ambig = AO_AMBIG_FRACTIONAL;
    r->seed = 1;
    r->early_stopping = AO_ES_VALID;
    if (!json_is_object(j)) return ao_jf_fail(&c, "$", NULL, "a recipe is a JSON object", ao_jf_kind(j));
    AO_JF_TRY(ao_jf_keys(&c, j, "$", top));
    AO_JF_TRY(ao_jf_int(&c, j, "$", "format_version", 1, 1, &fv));
    if ((v = json_object_get(j, "name")) && !json_is_string(v)) return ao_jf_fail(&c, "$", "name", "expected a string", ao_jf_kind(v));
    if ((v = json_object_get(j, "notes")) && !json_is_string(v)) return ao_jf_fail(&c, "$", "notes", "expected a string", ao_jf_kind(v));
    if ((v = json_object_get(j, "seed"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) return ao_jf_fail(&c, "$", "seed", "expected a non-negative integer", ao_jf_kind(v));
        r->seed = (uint64_t)json_integer_value(v);
    }
    AO_JF_TRY(ao_jf_enum(&c, j, "$", "early_stopping", es_names, es_values, &r->early_stopping));
    AO_JF_TRY(ao_jf_object(&c, j, "$", "representation", 1, &rep));
    AO_JF_TRY(ao_jf_object(&c, j, "$", "model", 1, &mod));
    AO_JF_TRY(parse_repr(&c, rep, r));
    AO_JF_TRY(parse_model_type(&c, mod, &l));
    /* feature-matrix learners read k-mer spectra or positional one-hot
     * features (flattened); a one-hot tensor needs the one-hot representation */
    if (l->input == AO_INPUT_ONEHOT && r->repr != AO_REPR_ONEHOT) {
        char what[96];
        snprintf(what, sizeof what, "the %s model reads \"onehot\" input", l->name);
        return ao_jf_fail(&c, "$.representation", "type", what, NULL);
    }
    r->model = l->kind;
    l->defaults(&r->params);
    AO_JF_TRY(l->parse(mod, file, &r->params, err));
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
        memset(r, 0, sizeof *r);   /* freeable, as after a failed parse */
        if (!fp) return ao_err_set(err, AO_EIO, "%s: cannot open", path);
        fclose(fp);
        return ao_err_set(err, AO_EDATA, "%s:%d: invalid JSON: %s", path, je.line, je.text);
    }
    rc = ao_recipe_parse(j, slash ? slash + 1 : path, r, err);
    json_decref(j);
    return rc;
}

/* ---- the canonical recipe --------------------------------------------- */

static json_t *repr_to_json(const ao_recipe *r)
{
    const char *type = ao_jf_enum_name(repr_names, repr_values, r->repr);
    json_t *k, *gapped;
    int i;
    switch ((enum ao_repr_type)r->repr) {
    case AO_REPR_ONEHOT:
        return json_pack("{s:s,s:o,s:s,s:s}", "type", type,
                         "length", r->onehot.length > 0 ? json_integer(r->onehot.length) : json_string("auto"),
                         "pad", ao_jf_enum_name(pad_names, pad_values, r->onehot.pad),
                         "ambiguity", ao_jf_enum_name(ambig_names, ambig_values, r->onehot.ambig));
    case AO_REPR_KMER:
        k = json_array();
        gapped = json_array();
        for (i = 0; k && i < r->feat.n_k; i++) json_array_append_new(k, json_integer(r->feat.k[i]));
        for (i = 0; gapped && i < r->feat.n_masks; i++) json_array_append_new(gapped, json_string(r->feat.masks[i]));
        return json_pack("{s:s,s:o,s:b,s:b,s:o,s:b,s:b}", "type", type, "k", k, "canonical", r->feat.canonical,
                         "frequencies", r->feat.freq, "gapped", gapped, "global", r->feat.global, "pair", r->feat.pair);
    }
    return NULL;
}

json_t *ao_recipe_to_json(const ao_recipe *r)
{
    const ao_learner *l = ao_learner_get(r->model);
    json_t *j = json_pack("{s:i,s:I,s:o,s:o,s:s}", "format_version", 1, "seed", (json_int_t)r->seed,
                          "representation", repr_to_json(r), "model", l ? l->to_json(&r->params) : NULL,
                          "early_stopping", ao_jf_enum_name(es_names, es_values, r->early_stopping));
    const char *keep[] = {"name", "notes"};
    size_t i;
    for (i = 0; j && i < sizeof keep / sizeof *keep; i++) {
        json_t *v = json_object_get(r->json, keep[i]);
        if (v && json_object_set(j, keep[i], v) < 0) { json_decref(j); return NULL; }
    }
    return j;
}

void ao_recipe_shrink(ao_recipe *r)
{
    ao_learner_get(r->model)->shrink(&r->params);
}
