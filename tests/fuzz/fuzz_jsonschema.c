/* fuzz_jsonschema.c — the JSON Schema validator (jsonschema.h) on any JSON
 * text, both as an instance of the project's compiled-in schemas and as a
 * schema itself (an LLM-facing validator meets schemas it did not write
 * only through the project, but a malformed one must be an error, never a
 * crash); the input's first byte picks the role. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include "agentomics/jsonschema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *docs[] = {"{\"format_version\": 2, \"iterations\": []}", "[1, \"a\", null, {\"k\": 2.5}]",
                                 "{\"a\": {\"b\": [true, false]}, \"n\": -3}"};
    json_error_t je;
    json_t *j, *other;
    char msg[256];
    ao_err err;
    int role, i;
    if (size < 1) return 0;
    role = data[0] & 1;
    if (!(j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &je))) return 0;
    for (i = 0; i < 3; i++) {
        const char *text = role ? docs[i] : ao_embedded_schema(i == 0 ? "run.schema.json" : "history.schema.json");
        if (!text || !(other = json_loads(text, 0, &je))) continue;
        ao_err_init(&err);
        /* any verdict will do: only a crash is a finding */
        if ((role ? ao_jsonschema_validate(j, other, NULL, msg, sizeof msg, &err)
                  : ao_jsonschema_validate(other, j, NULL, msg, sizeof msg, &err)) > 1) abort();
        json_decref(other);
    }
    json_decref(j);
    return 0;
}
