/* recipe.h — recipe.json: what a builtin training run does.
 *
 * A recipe names a representation (k-mer spectra with global/pair
 * features, or one-hot), a model (logistic regression, gradient-boosted
 * trees, 1-D CNN) with its hyperparameters, the seed, and which split is
 * used for early stopping. Parsing is strict: unknown keys, wrong types
 * and out-of-range values are data errors naming the JSON path
 * ("recipe.json: $.model.learning_rate: ..."). The schema is documented in
 * the README and in schemas/recipe.schema.json.
 */
#ifndef AGENTOMICS_RECIPE_H
#define AGENTOMICS_RECIPE_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/cnn.h"
#include "agentomics/error.h"
#include "agentomics/features.h"
#include "agentomics/gbdt.h"
#include "agentomics/logreg.h"

enum ao_repr_type { AO_REPR_KMER = 0, AO_REPR_ONEHOT = 1 };
enum ao_model_type { AO_MODEL_LOGREG = 0, AO_MODEL_GBDT = 1, AO_MODEL_CNN = 2 };
enum ao_es_split { AO_ES_VALID = 0, AO_ES_NONE = 1 };

#define AO_ONEHOT_MAX_LEN 100000

typedef struct ao_onehot_spec {
    int length;      /* positions; 0 = the longest training sequence */
    int pad;         /* AO_PAD_LEFT / RIGHT / CENTRE */
    int ambig;       /* AO_AMBIG_ZERO / FRACTIONAL */
} ao_onehot_spec;

typedef struct ao_recipe {
    int repr;                     /* enum ao_repr_type */
    ao_featspec feat;             /* AO_REPR_KMER */
    ao_onehot_spec onehot;        /* AO_REPR_ONEHOT */
    int model;                    /* enum ao_model_type */
    ao_logreg_params logreg;
    ao_gbdt_params gbdt;
    ao_cnn_arch cnn_arch;
    ao_cnn_train_params cnn_train;
    uint64_t seed;
    int early_stopping;           /* enum ao_es_split */
    json_t *json;                 /* the recipe as given (owned) */
} ao_recipe;

/* Parses and validates j (not stolen); `file` names it in messages. */
int ao_recipe_parse(const json_t *j, const char *file, ao_recipe *r, ao_err *err) AO_WUR;
int ao_recipe_load(const char *path, ao_recipe *r, ao_err *err) AO_WUR;
void ao_recipe_free(ao_recipe *r);
const char *ao_model_type_name(int model);

/* Refuses (AO_EDATA, "$.path: ...") a recipe whose data structures would
 * not fit in mem_limit_mb for n_rows rows (0 = no limit), e.g. a long k
 * for a dense GBDT matrix or a one-hot length too large. */
int ao_recipe_check_memory(const ao_recipe *r, const char *file, int64_t n_rows, int n_seq_cols, int64_t onehot_len,
                           int64_t n_feat_cols, long mem_limit_mb, ao_err *err) AO_WUR;

#endif
