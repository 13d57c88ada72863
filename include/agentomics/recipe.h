/* recipe.h — recipe.json: what a builtin training run does.
 *
 * A recipe names a representation (k-mer spectra with global/pair
 * features, or one-hot), a model (one of the learners of learner.h: the
 * recipe's "model" object is that learner's parameter block), the seed,
 * and which split is used for early stopping. Parsing is strict: unknown keys, wrong types
 * and out-of-range values are data errors naming the JSON path
 * ("recipe.json: $.model.learning_rate: ..."). The schema is documented in
 * the README and in schemas/recipe.schema.json.
 */
#ifndef AGENTOMICS_RECIPE_H
#define AGENTOMICS_RECIPE_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/features.h"
#include "agentomics/learner.h"

enum ao_repr_type { AO_REPR_KMER = 0, AO_REPR_ONEHOT = 1 };
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
    enum ao_learner_kind model;   /* the learner, and so the member of params in use */
    ao_learner_params params;     /* that learner's parameter block */
    uint64_t seed;
    int early_stopping;           /* enum ao_es_split */
    json_t *json;                 /* the recipe as given (owned): the model file keeps it verbatim */
} ao_recipe;

/* Parses and validates j (not stolen) into r; `file` names it in
 * messages. Returns AO_OK; AO_EDATA ("FILE: $.path: problem") for
 * anything the schema or a learner refuses, AO_EMEM. r needs
 * ao_recipe_free() whatever the result. */
int ao_recipe_parse(const json_t *j, const char *file, ao_recipe *r, ao_err *err) AO_WUR;
/* Reads and parses a recipe file: as ao_recipe_parse, plus AO_EIO when
 * path cannot be opened and AO_EDATA ("FILE:LINE: invalid JSON") when it
 * is not JSON. */
int ao_recipe_load(const char *path, ao_recipe *r, ao_err *err) AO_WUR;
/* The canonical, complete recipe for r: format_version, name and notes
 * (when the given recipe had them), seed, representation, model and
 * early_stopping with every parameter explicit, so that parsing it gives
 * r again. New reference; NULL when out of memory. */
json_t *ao_recipe_to_json(const ao_recipe *r);
/* Makes r a quick version of itself for a smoke run: its learner's shrink
 * (few iterations, rounds or epochs). */
void ao_recipe_shrink(ao_recipe *r);
/* Frees what r owns; NULL-safe. */
void ao_recipe_free(ao_recipe *r);

#endif
