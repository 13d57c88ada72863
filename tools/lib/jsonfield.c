/* jsonfield.c — strict JSON field access with JSON-path messages (see
 * jsonfield.h): shared by the recipe reader and the learners' parameter
 * parsers, so every strict document reports problems the same way. */
#include <stdio.h>
#include <stdlib.h>
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

size_t ao_utf8_seq(const unsigned char *p, size_t n)
{
    size_t k, j;
    unsigned cp;
    if (p[0] < 0x80) return 1;
    if ((p[0] & 0xe0) == 0xc0) { k = 1; cp = p[0] & 0x1f; }
    else if ((p[0] & 0xf0) == 0xe0) { k = 2; cp = p[0] & 0x0f; }
    else if ((p[0] & 0xf8) == 0xf0) { k = 3; cp = p[0] & 0x07; }
    else return 0;
    if (k >= n) return 0;
    for (j = 1; j <= k; j++) {
        if ((p[j] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[j] & 0x3f);
    }
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k + 1;
}

long ao_utf8_invalid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;
    while (i < n) {
        if (!(k = ao_utf8_seq(p + i, n - i))) return (long)i;
        i += k;
    }
    return -1;
}

char *ao_utf8_text(const char *s, size_t n, size_t max, unsigned flags, int *cut)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0, k;
    char *out;
    if (cut) *cut = 0;
    /* a tail cut from a longer text: the continuation bytes of a character whose start was cut off go */
    if (flags & AO_UTF8_TRIM_START)
        while (i < n && i < 3 && (p[i] & 0xc0) == 0x80) i++;
    if (flags & AO_UTF8_TRIM_END) {
        /* a head cut from a longer text: a character cut short at the end goes */
        size_t b = n, back;
        for (back = 0; back < 3 && b > i && (p[b - 1] & 0xc0) == 0x80; back++) b--;
        if (b > i && p[b - 1] >= 0xc0 && !ao_utf8_seq(p + b - 1, n - (b - 1))) n = b - 1;
    }
    /* worst case: every byte becomes U+FFFD (3 bytes) */
    if (n > ((size_t)-1 - 4) / 3 || !(out = malloc(3 * (n - i) + 4))) return NULL;
    while (i < n) {
        const char *add;
        size_t len;
        if (p[i] == 0) { add = "\\0"; len = 2; k = 1; }
        else if ((k = ao_utf8_seq(p + i, n - i))) { add = s + i; len = k; }
        else { add = "\xEF\xBF\xBD"; len = 3; k = 1; }
        if (max && o + len > max) { if (cut) *cut = 1; break; }
        memcpy(out + o, add, len);
        o += len;
        i += k;
    }
    out[o] = '\0';
    return out;
}
