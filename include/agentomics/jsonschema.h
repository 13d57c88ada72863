/* jsonschema.h — validation against the JSON Schema subset the project's
 * schemas use (draft 2020-12 keywords): type (name or list), enum, const,
 * properties, required, additionalProperties (boolean or schema), items,
 * minItems, maxItems, uniqueItems, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, maxLength, pattern (POSIX extended regex),
 * oneOf, anyOf, allOf, not, $ref (to "#/json/pointer" within the schema or
 * to "FILE.schema.json[#/pointer]" beside it), $defs. Annotations ($schema,
 * $id, title, description, default, examples, $comment) are ignored; any other
 * keyword is an error in the schema, so a typo there cannot pass silently.
 * "integer" accepts a real with no fractional part, as the draft says.
 */
#ifndef AGENTOMICS_JSONSCHEMA_H
#define AGENTOMICS_JSONSCHEMA_H

#include <stddef.h>
#include <jansson.h>
#include "agentomics/error.h"

/* Validates instance against schema. schema_dir: where "$ref": "x.schema.json"
 * files are looked up (NULL: file references are errors). Returns 1 valid;
 * 0 invalid with msg = the first problem as "$.path.to[3].field: problem"
 * (for the model to act on); < -1 when the schema itself is unusable
 * (AO_EDATA, reason in err). */
int ao_jsonschema_validate(const json_t *schema, const json_t *instance, const char *schema_dir,
                           char *msg, size_t msg_size, ao_err *err) AO_WUR;

/* Loads DIR/NAME and validates, as above. */
int ao_jsonschema_validate_file(const char *schema_dir, const char *name, const json_t *instance,
                                char *msg, size_t msg_size, ao_err *err) AO_WUR;

/* The text of a schema compiled into the library (the Makefile embeds
 * schemas/run.schema.json and schemas/history.schema.json, so reading a
 * state never depends on an installed share directory), or NULL. */
const char *ao_embedded_schema(const char *name);

#endif
