/* fuzz_recipe.c — the strict recipe reader (recipe.h, every learner row's
 * parser) on any JSON text; a recipe that parses must give canonical JSON
 * that parses back. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include <stdlib.h>
#include "agentomics/recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je), *c;
    ao_recipe r, r2;
    ao_err err;
    if (!j) return 0;
    ao_err_init(&err);
    if (ao_recipe_parse(j, "recipe.json", &r, &err) == AO_OK && (c = ao_recipe_to_json(&r))) {
        ao_err_init(&err);
        if (ao_recipe_parse(c, "recipe.json", &r2, &err) != AO_OK) abort();   /* the canonical form must parse */
        ao_recipe_free(&r2);
        json_decref(c);
    }
    ao_recipe_free(&r);
    json_decref(j);
    return 0;
}
