/* jsonfield.c — strict JSON field access with JSON-path messages (see
 * jsonfield.h): shared by the recipe reader and the learners' parameter
 * parsers, so every strict document reports problems the same way. */
#include <stdio.h>
#include <string.h>
#include "agentomics/jsonfield.h"

int ao_jf_fail(const ao_jf *c, const char *path, const char *key, const char *what, const char *got)
{
    char full[256];
    snprintf(full, sizeof full, key ? "%s.%s" : "%s", path, key ? key : "");
    return ao_err_set(c->err, AO_EDATA, "%s: %s: %s%s%s", c->file, full, what, got ? ", got " : "", got ? got : "");
}

const char *ao_jf_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "null";
}

int ao_jf_keys(const ao_jf *c, const json_t *o, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int i, found = 0;
        for (i = 0; allowed[i]; i++) if (strcmp(key, allowed[i]) == 0) found = 1;
        if (!found) return ao_jf_fail(c, path, key, "unknown key", NULL);
    }
    return AO_OK;
}

int ao_jf_num(const ao_jf *c, const json_t *o, const char *path, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(o, key);
    char msg[128];
    if (!v) return AO_OK;
    snprintf(msg, sizeof msg, "expected a number in [%g, %g]", lo, hi);
    if (!json_is_number(v)) return ao_jf_fail(c, path, key, msg, ao_jf_kind(v));
    if (!(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
        char got[64];
        snprintf(got, sizeof got, "%g", json_number_value(v));
        return ao_jf_fail(c, path, key, msg, got);
    }
    *out = json_number_value(v);
    return AO_OK;
}

int ao_jf_int(const ao_jf *c, const json_t *o, const char *path, const char *key, long lo, long hi, int *out)
{
    json_t *v = json_object_get(o, key);
    char msg[128];
    if (!v) return AO_OK;
    snprintf(msg, sizeof msg, "expected an integer in [%ld, %ld]", lo, hi);
    if (!json_is_integer(v)) return ao_jf_fail(c, path, key, msg, ao_jf_kind(v));
    if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char got[64];
        snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
        return ao_jf_fail(c, path, key, msg, got);
    }
    *out = (int)json_integer_value(v);
    return AO_OK;
}

int ao_jf_bool(const ao_jf *c, const json_t *o, const char *path, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) return AO_OK;
    if (!json_is_boolean(v)) return ao_jf_fail(c, path, key, "expected true or false", ao_jf_kind(v));
    *out = json_is_true(v);
    return AO_OK;
}

int ao_jf_enum(const ao_jf *c, const json_t *o, const char *path, const char *key, const char *const *names,
               const int *values, int *out)
{
    json_t *v = json_object_get(o, key);
    char msg[256], got[96];
    size_t l = 0;
    int i;
    if (!v) return AO_OK;
    l += (size_t)snprintf(msg, sizeof msg, "expected one of");
    for (i = 0; names[i] && l < sizeof msg; i++) l += (size_t)snprintf(msg + l, sizeof msg - l, "%s \"%s\"", i ? "," : "", names[i]);
    if (!json_is_string(v)) return ao_jf_fail(c, path, key, msg, ao_jf_kind(v));
    for (i = 0; names[i]; i++)
        if (strcmp(json_string_value(v), names[i]) == 0) { *out = values[i]; return AO_OK; }
    snprintf(got, sizeof got, "\"%.80s\"", json_string_value(v));
    return ao_jf_fail(c, path, key, msg, got);
}

int ao_jf_object(const ao_jf *c, const json_t *o, const char *path, const char *key, int required, json_t **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) return required ? ao_jf_fail(c, path, key, "required object is missing", NULL) : AO_OK;
    if (!json_is_object(v)) return ao_jf_fail(c, path, key, "expected an object", ao_jf_kind(v));
    *out = v;
    return AO_OK;
}

const char *ao_jf_enum_name(const char *const *names, const int *values, int v)
{
    int i;
    for (i = 0; names[i]; i++) if (values[i] == v) return names[i];
    return NULL;
}

long ao_utf8_invalid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        int k, j;
        unsigned cp;
        if (p[i] < 0x80) { i++; continue; }
        if ((p[i] & 0xe0) == 0xc0) { k = 1; cp = p[i] & 0x1f; }
        else if ((p[i] & 0xf0) == 0xe0) { k = 2; cp = p[i] & 0x0f; }
        else if ((p[i] & 0xf8) == 0xf0) { k = 3; cp = p[i] & 0x07; }
        else return (long)i;
        if ((size_t)k >= n - i) return (long)i;   /* cut short */
        for (j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) return (long)i;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return (long)i;
        i += (size_t)k + 1;
    }
    return -1;
}
