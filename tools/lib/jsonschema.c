/* jsonschema.c — the JSON Schema subset of jsonschema.h.
 *
 * Two passes per call. First the schema itself is checked as a whole
 * (every keyword known, every value of the right shape, every pattern
 * compiles, every $ref resolves), so a typo in a branch the instance never
 * reaches still fails loudly. Then the instance is walked; the first
 * problem becomes the message, phrased for a language model to act on
 * ("$.model.type: expected integer, got string").
 *
 * Referenced files are loaded once per call and kept in a small cache;
 * compiled patterns likewise. Nothing outlives the call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/jsonschema.h"

/* A chain of $refs deeper than this is taken for a cycle: legitimate
 * recursive schemas follow one reference per instance level, and no
 * instance the agent writes is this deep. */
#define REF_DEPTH_MAX 100
/* Room for one message, internally and per oneOf/anyOf branch. */
#define MSG_MAX 1024
/* Values quoted in messages are cut to this many bytes. */
#define QUOTE_MAX 80

/* ---- growable string (paths) ------------------------------------------ */

typedef struct sbuf { char *s; size_t len, cap; } sbuf;

static int sb_add(sbuf *b, const char *fmt, ...) AO_PRINTF(2, 3);
static int sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return AO_EINTERNAL;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        char *s;
        while (b->len + (size_t)n + 1 > cap) cap *= 2;
        if (!(s = realloc(b->s, cap))) return AO_EMEM;
        b->s = s;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return AO_OK;
}

static void sb_cut(sbuf *b, size_t len)
{
    if (b->s && len <= b->len) { b->len = len; b->s[len] = '\0'; }
}

/* Appends a JSON-pointer token (RFC 6901: '~' -> "~0", '/' -> "~1"). */
static int sb_ptr_token(sbuf *b, const char *key)
{
    int rc = sb_add(b, "/");
    for (; rc == AO_OK && *key; key++) {
        if (*key == '~') rc = sb_add(b, "~0");
        else if (*key == '/') rc = sb_add(b, "~1");
        else rc = sb_add(b, "%c", *key);
    }
    return rc;
}

/* Appends an instance-path member: ".name" for identifiers, otherwise
 * ["quoted"] so the model can tell exactly which key is meant. */
static int sb_member(sbuf *b, const char *key)
{
    const char *p = key;
    int ident = (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
    for (; ident && *p; p++)
        ident = (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
    if (ident) return sb_add(b, ".%s", key);
    {
        json_t *s = json_string(key);
        char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        int rc = q ? sb_add(b, "[%s]", q) : AO_EMEM;
        free(q);
        json_decref(s);
        return rc;
    }
}

/* ---- per-call state ----------------------------------------------------- */

typedef struct sdoc {
    char *name;          /* file name as referenced; "" for the caller's schema */
    json_t *root;        /* owned except for the caller's schema (index 0) */
} sdoc;

typedef struct spat {
    const json_t *node;  /* the "pattern" string node */
    regex_t re;
} spat;

typedef struct vctx {
    const char *dir;     /* where "x.schema.json" references are looked up */
    const char *label;   /* how the caller's schema is named in errors */
    sdoc *docs;
    size_t n_docs, cap_docs;
    spat *pats;
    size_t n_pats, cap_pats;
    const json_t **checked;   /* $ref targets already checked as schemas */
    size_t n_checked, cap_checked;
    sbuf ipath;          /* instance path, "$.a[2]" */
    sbuf spath;          /* schema location (JSON pointer within docs[doc]) */
    int ref_depth;
    long progress;       /* keywords passed so far: how far a branch got */
    ao_err *err;
} vctx;

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    void *q;
    size_t c;
    if (n < *cap) return AO_OK;
    c = *cap ? *cap * 2 : 8;
    if (!(q = realloc(*p, c * size))) return AO_EMEM;
    *p = q;
    *cap = c;
    return AO_OK;
}

static const char *doc_label(const vctx *c, size_t doc)
{
    return doc == 0 ? c->label : c->docs[doc].name;
}

/* A problem with the schema itself: AO_EDATA naming where it is. */
static int schema_err(vctx *c, size_t doc, const char *fmt, ...) AO_PRINTF(3, 4);
static int schema_err(vctx *c, size_t doc, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ao_err_set(c->err, AO_EDATA, "schema %s#%s: %s", doc_label(c, doc),
                      c->spath.s ? c->spath.s : "", what);
}

static int oom(vctx *c)
{
    return ao_err_set(c->err, AO_EMEM, "out of memory");
}

/* ---- small JSON helpers -------------------------------------------------- */

/* JSON Schema type names, as the model will read them. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE: case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

/* "integer" accepts 3.0 (the draft counts mathematical values). */
static int is_integral(const json_t *v)
{
    double d;
    if (json_is_integer(v)) return 1;
    if (!json_is_real(v)) return 0;
    d = json_real_value(v);
    return isfinite(d) && floor(d) == d;
}

static int has_type(const json_t *v, const char *t)
{
    if (strcmp(t, "integer") == 0) return is_integral(v);
    if (strcmp(t, "number") == 0) return json_is_number(v);
    return strcmp(t, type_name(v)) == 0;
}

/* Equality as the draft defines it: 1 == 1.0, objects unordered. */
static int json_eq(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) return 0;
    if (json_is_array(a)) {
        size_t i, n = json_array_size(a);
        if (n != json_array_size(b)) return 0;
        for (i = 0; i < n; i++)
            if (!json_eq(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b)) return 0;
        json_object_foreach((json_t *)a, k, v) {
            json_t *w = json_object_get(b, k);
            if (!w || !json_eq(v, w)) return 0;
        }
        return 1;
    }
    return json_equal(a, b);
}

/* A value as compact JSON for a message, cut to about QUOTE_MAX bytes. */
static void quote(const json_t *v, char *out, size_t size)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) { snprintf(out, size, "(a %s)", type_name(v)); return; }
    if (strlen(s) > QUOTE_MAX) snprintf(out, size, "%.*s...", QUOTE_MAX, s);
    else snprintf(out, size, "%s", s);
    free(s);
}

/* Strings as the brief's messages show them ('foo'); other values as JSON. */
static void quote_value(const json_t *v, char *out, size_t size)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (n > QUOTE_MAX) snprintf(out, size, "'%.*s...'", QUOTE_MAX, s);
        else snprintf(out, size, "'%s'", s);
    } else {
        quote(v, out, size);
    }
}

/* Shortest %g that reads back to the same double. */
static void fmt_num(const json_t *v, char *out, size_t size)
{
    double d;
    if (json_is_integer(v)) { snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); return; }
    d = json_number_value(v);
    snprintf(out, size, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, size, "%.17g", d);
}

/* Compares a number instance against a bound: <0, 0, >0. Integers are
 * compared exactly so large values do not round together. */
static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    } else {
        double x = json_number_value(a), y = json_number_value(b);
        return (x > y) - (x < y);
    }
}

/* Code points in a UTF-8 string (jansson guarantees valid UTF-8). */
static size_t utf8_len(const json_t *s)
{
    const unsigned char *p = (const unsigned char *)json_string_value(s);
    size_t i, n = json_string_length(s), k = 0;
    for (i = 0; i < n; i++) if ((p[i] & 0xC0) != 0x80) k++;
    return k;
}

/* ---- patterns ------------------------------------------------------------ */

/* ECMA-262 patterns often use \d \w \s, which POSIX ERE lacks (glibc would
 * quietly read "\d" as "d"); rewrite them to bracket classes. Other
 * escapes pass through. */
static char *translate_pattern(const char *p)
{
    size_t n = strlen(p);
    char *out = malloc(n * 14 + 1), *o = out;   /* "\W" -> "[^[:alnum:]_]" is the longest */
    int in_br = 0;
    if (!out) return NULL;
    for (; *p; p++) {
        if (*p == '\\' && p[1]) {
            const char *rep = NULL;
            char e = p[1];
            if (!in_br) {
                switch (e) {
                case 'd': rep = "[0-9]"; break;
                case 'D': rep = "[^0-9]"; break;
                case 'w': rep = "[[:alnum:]_]"; break;
                case 'W': rep = "[^[:alnum:]_]"; break;
                case 's': rep = "[[:space:]]"; break;
                case 'S': rep = "[^[:space:]]"; break;
                default: break;
                }
            } else {
                switch (e) {
                case 'd': rep = "0-9"; break;
                case 'w': rep = "[:alnum:]_"; break;
                case 's': rep = "[:space:]"; break;
                case '\\': rep = "\\"; break;
                case ']': rep = "]"; break;   /* cannot be expressed mid-bracket in ERE; rare */
                default: break;
                }
            }
            if (rep) {
                size_t l = strlen(rep);
                memcpy(o, rep, l);
                o += l;
                p++;
                continue;
            }
            *o++ = *p++;
            *o++ = *p;
            continue;
        }
        if (!in_br && *p == '[') {
            in_br = 1;
            *o++ = *p;
            /* "[]...]" and "[^]...]": a leading ']' is literal */
            if (p[1] == '^') *o++ = *++p;
            if (p[1] == ']') *o++ = *++p;
            continue;
        }
        if (in_br && *p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            /* a [:class:] inside brackets: copy through its closing ":]" */
            char close = p[1];
            *o++ = *p++;
            *o++ = *p++;
            while (*p && !(*p == close && p[1] == ']')) *o++ = *p++;
            if (*p) { *o++ = *p++; *o++ = *p; }
            else p--;
            continue;
        }
        if (in_br && *p == ']') in_br = 0;
        *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* The compiled pattern of a "pattern" node, compiling it on first use. */
static int get_pattern(vctx *c, size_t doc, const json_t *node, regex_t **re)
{
    size_t i;
    char *tr;
    int rc;
    for (i = 0; i < c->n_pats; i++)
        if (c->pats[i].node == node) { *re = &c->pats[i].re; return AO_OK; }
    if (grow((void **)&c->pats, &c->cap_pats, c->n_pats, sizeof *c->pats) < 0) return oom(c);
    if (!(tr = translate_pattern(json_string_value(node)))) return oom(c);
    rc = regcomp(&c->pats[c->n_pats].re, tr, REG_EXTENDED | REG_NOSUB);
    free(tr);
    if (rc != 0) {
        char why[256];
        regerror(rc, &c->pats[c->n_pats].re, why, sizeof why);
        return schema_err(c, doc, "pattern \"%s\" does not compile: %s", json_string_value(node), why);
    }
    c->pats[c->n_pats].node = node;
    *re = &c->pats[c->n_pats++].re;
    return AO_OK;
}

/* ---- documents and references ------------------------------------------ */

/* Loads (or finds) a referenced schema file; *doc its index. */
static int load_doc(vctx *c, size_t from, const char *name, size_t len, size_t *doc)
{
    size_t i;
    char *nm = NULL, *path = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    int rc = AO_OK;
    for (i = 1; i < c->n_docs; i++)
        if (strlen(c->docs[i].name) == len && memcmp(c->docs[i].name, name, len) == 0) { *doc = i; return AO_OK; }
    if (!(nm = strndup(name, len))) { rc = oom(c); goto DONE; }
    if (!c->dir) { rc = schema_err(c, from, "$ref to file \"%s\" but no schema directory was given", nm); goto DONE; }
    /* The schema directory is the whole namespace: no escaping it. */
    if (nm[0] == '/' || strcmp(nm, "..") == 0 || strncmp(nm, "../", 3) == 0 || strstr(nm, "/../") ||
        (len >= 3 && strcmp(nm + len - 3, "/..") == 0)) {
        rc = schema_err(c, from, "$ref \"%s\" must name a file inside the schema directory", nm);
        goto DONE;
    }
    if (asprintf(&path, "%s/%s", c->dir, nm) < 0) { path = NULL; rc = oom(c); goto DONE; }
    if (!(root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
        rc = schema_err(c, from, "cannot load $ref file %s: line %d: %s", path, jerr.line, jerr.text);
        goto DONE;
    }
    if (!json_is_object(root) && !json_is_boolean(root)) {
        rc = schema_err(c, from, "$ref file %s is not a schema (an object or a boolean)", path);
        goto DONE;
    }
    if (grow((void **)&c->docs, &c->cap_docs, c->n_docs, sizeof *c->docs) < 0) { rc = oom(c); goto DONE; }
    c->docs[c->n_docs].name = nm;
    c->docs[c->n_docs].root = root;
    *doc = c->n_docs++;
    nm = NULL;
    root = NULL;
DONE:
    free(nm);
    free(path);
    json_decref(root);
    return rc;
}

/* Follows a URI-fragment JSON pointer ("/a/b~1c/0", percent-escapes
 * allowed) from root. NULL when it leads nowhere. */
static const json_t *follow_pointer(const json_t *root, const char *ptr, char **why)
{
    const json_t *cur = root;
    char *tok = malloc(strlen(ptr) + 1);
    *why = NULL;
    if (!tok) return NULL;
    while (*ptr) {
        size_t n = 0;
        if (*ptr != '/') { *why = "a JSON pointer must start with '/'"; cur = NULL; break; }
        ptr++;
        while (*ptr && *ptr != '/') {
            char ch = *ptr++;
            if (ch == '%' && ptr[0] && ptr[1]) {
                char hex[3] = {ptr[0], ptr[1], 0}, *end;
                long v = strtol(hex, &end, 16);
                if (*end == '\0' && v > 0) { ch = (char)v; ptr += 2; }
            }
            if (ch == '~') {
                if (*ptr == '0') ch = '~';
                else if (*ptr == '1') ch = '/';
                else { *why = "'~' must be followed by 0 or 1"; cur = NULL; goto DONE; }
                ptr++;
            }
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(tok, &end, 10);
            cur = (*tok >= '0' && *tok <= '9' && *end == '\0' && (tok[0] != '0' || n == 1))
                  ? json_array_get(cur, i) : NULL;
        } else {
            cur = NULL;
        }
        if (!cur) { *why = "no such location"; break; }
    }
DONE:
    free(tok);
    return cur;
}

/* Resolves a $ref string seen in document `from`. On success *target and
 * *doc are set and, when spath is wanted, c->spath holds the target's
 * pointer. */
static int resolve_ref(vctx *c, size_t from, const char *ref, const json_t **target, size_t *doc)
{
    const char *hash = strchr(ref, '#');
    size_t flen = hash ? (size_t)(hash - ref) : strlen(ref);
    const char *frag = hash ? hash + 1 : "";
    const json_t *t;
    char *why;
    int rc;
    *doc = from;
    if (flen > 0 && (rc = load_doc(c, from, ref, flen, doc)) < 0) return rc;
    t = follow_pointer(c->docs[*doc].root, frag, &why);
    if (!t) return schema_err(c, from, "$ref \"%s\" does not resolve (%s)", ref, why ? why : "out of memory");
    if (!json_is_object(t) && !json_is_boolean(t))
        return schema_err(c, from, "$ref \"%s\" points at a JSON %s, not at a schema", ref, type_name(t));
    *target = t;
    return AO_OK;
}

/* ---- pass 1: the schema is well formed ----------------------------------- */

static int check_schema(vctx *c, const json_t *s, size_t doc);

static const char *const type_names[] = {"null", "boolean", "object", "array", "number", "string", "integer", NULL};
static const char *const annotations[] = {"$schema", "$id", "title", "description", "default", "examples", "$comment", NULL};

static int in_list(const char *const *list, const char *s)
{
    int i;
    for (i = 0; list[i]; i++) if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

/* Checks s[key] (a subschema) with the schema path extended by key. */
static int check_sub(vctx *c, const json_t *sub, size_t doc, const char *k1, const char *k2)
{
    size_t mark = c->spath.len;
    int rc = sb_ptr_token(&c->spath, k1);
    if (rc == AO_OK && k2) rc = sb_ptr_token(&c->spath, k2);
    if (rc < 0) return oom(c);
    rc = check_schema(c, sub, doc);
    sb_cut(&c->spath, mark);
    return rc;
}

static int is_count(const json_t *v)
{
    return is_integral(v) && json_number_value(v) >= 0;
}

static int check_keyword(vctx *c, const json_t *s, size_t doc, const char *key, const json_t *v)
{
    size_t i;
    const char *k;
    json_t *x;
    int rc;
    if (in_list(annotations, key)) return AO_OK;
    if (strcmp(key, "type") == 0) {
        if (json_is_string(v)) {
            if (!in_list(type_names, json_string_value(v)))
                return schema_err(c, doc, "unknown type \"%s\"", json_string_value(v));
            return AO_OK;
        }
        if (!json_is_array(v) || json_array_size(v) == 0) return schema_err(c, doc, "\"type\" must be a type name or a non-empty list of them");
        json_array_foreach(v, i, x)
            if (!json_is_string(x) || !in_list(type_names, json_string_value(x)))
                return schema_err(c, doc, "\"type\" lists an unknown type");
        return AO_OK;
    }
    if (strcmp(key, "enum") == 0)
        return json_is_array(v) ? AO_OK : schema_err(c, doc, "\"enum\" must be an array");
    if (strcmp(key, "const") == 0) return AO_OK;
    if (strcmp(key, "properties") == 0 || strcmp(key, "$defs") == 0) {
        if (!json_is_object(v)) return schema_err(c, doc, "\"%s\" must be an object of schemas", key);
        json_object_foreach((json_t *)v, k, x)
            if ((rc = check_sub(c, x, doc, key, k)) < 0) return rc;
        return AO_OK;
    }
    if (strcmp(key, "required") == 0) {
        if (!json_is_array(v)) return schema_err(c, doc, "\"required\" must be an array of property names");
        json_array_foreach(v, i, x)
            if (!json_is_string(x)) return schema_err(c, doc, "\"required\" must be an array of property names");
        return AO_OK;
    }
    if (strcmp(key, "additionalProperties") == 0 || strcmp(key, "not") == 0)
        return check_sub(c, v, doc, key, NULL);
    if (strcmp(key, "items") == 0) {
        if (json_is_array(v)) return schema_err(c, doc, "\"items\" must be one schema (the tuple form, \"prefixItems\", is not supported)");
        return check_sub(c, v, doc, key, NULL);
    }
    if (strcmp(key, "minItems") == 0 || strcmp(key, "maxItems") == 0 ||
        strcmp(key, "minLength") == 0 || strcmp(key, "maxLength") == 0)
        return is_count(v) ? AO_OK : schema_err(c, doc, "\"%s\" must be a non-negative integer", key);
    if (strcmp(key, "uniqueItems") == 0)
        return json_is_boolean(v) ? AO_OK : schema_err(c, doc, "\"uniqueItems\" must be true or false");
    if (strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0 ||
        strcmp(key, "exclusiveMinimum") == 0 || strcmp(key, "exclusiveMaximum") == 0)
        return json_is_number(v) ? AO_OK : schema_err(c, doc, "\"%s\" must be a number", key);
    if (strcmp(key, "pattern") == 0) {
        regex_t *re;
        if (!json_is_string(v)) return schema_err(c, doc, "\"pattern\" must be a string");
        return get_pattern(c, doc, v, &re);
    }
    if (strcmp(key, "oneOf") == 0 || strcmp(key, "anyOf") == 0 || strcmp(key, "allOf") == 0) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return schema_err(c, doc, "\"%s\" must be a non-empty array of schemas", key);
        json_array_foreach(v, i, x) {
            char idx[32];
            snprintf(idx, sizeof idx, "%zu", i);
            if ((rc = check_sub(c, x, doc, key, idx)) < 0) return rc;
        }
        return AO_OK;
    }
    if (strcmp(key, "$ref") == 0) {
        const json_t *t;
        size_t tdoc, mark = c->spath.len;
        if (!json_is_string(v)) return schema_err(c, doc, "\"$ref\" must be a string");
        if ((rc = resolve_ref(c, doc, json_string_value(v), &t, &tdoc)) < 0) return rc;
        for (i = 0; i < c->n_checked; i++) if (c->checked[i] == t) return AO_OK;
        /* Check the target once, wherever it lives, so a reference into
         * another file is as strictly checked as the caller's schema. */
        if (grow((void **)&c->checked, &c->cap_checked, c->n_checked, sizeof *c->checked) < 0) return oom(c);
        c->checked[c->n_checked++] = t;
        {
            /* Report problems in the target at the target's location. */
            const char *hash = strchr(json_string_value(v), '#');
            char *saved = strdup(c->spath.s ? c->spath.s : "");
            if (!saved) return oom(c);
            sb_cut(&c->spath, 0);
            rc = (hash && hash[1]) ? sb_add(&c->spath, "%s", hash + 1) : AO_OK;
            if (rc == AO_OK) rc = check_schema(c, t, tdoc);
            else rc = oom(c);
            sb_cut(&c->spath, 0);
            if (sb_add(&c->spath, "%s", saved) < 0 && rc == AO_OK) rc = oom(c);
            free(saved);
        }
        sb_cut(&c->spath, mark);
        return rc;
    }
    (void)s;
    return schema_err(c, doc, "unknown keyword \"%s\"", key);
}

static int check_schema(vctx *c, const json_t *s, size_t doc)
{
    const char *key;
    json_t *v;
    int rc;
    if (json_is_boolean(s)) return AO_OK;
    if (!json_is_object(s)) return schema_err(c, doc, "a schema must be an object or a boolean, got %s", type_name(s));
    json_object_foreach((json_t *)s, key, v)
        if ((rc = check_keyword(c, s, doc, key, v)) < 0) return rc;
    return AO_OK;
}

/* ---- pass 2: the instance ------------------------------------------------ */

static int validate(vctx *c, const json_t *s, size_t doc, const json_t *inst, char *msg, size_t msz);

/* Fails with "PATH: problem". Returns 0 (invalid). */
static int fail(vctx *c, char *msg, size_t msz, const char *fmt, ...) AO_PRINTF(4, 5);
static int fail(vctx *c, char *msg, size_t msz, const char *fmt, ...)
{
    char what[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* Long messages are cut; the path and the start say enough. */
    if (snprintf(msg, msz, "%s: %s", c->ipath.s, what) >= (int)msz) msg[msz - 1] = '\0';
    return 0;
}

/* Validates a child instance (member key or array index) against sub. */
static int validate_child(vctx *c, const json_t *sub, size_t doc, const json_t *inst,
                          const char *key, size_t index, char *msg, size_t msz)
{
    size_t mark = c->ipath.len;
    int rc = key ? sb_member(&c->ipath, key) : sb_add(&c->ipath, "[%zu]", index);
    if (rc < 0) return oom(c);
    rc = validate(c, sub, doc, inst, msg, msz);
    sb_cut(&c->ipath, mark);
    return rc;
}

static int v_type(vctx *c, const json_t *t, const json_t *inst, char *msg, size_t msz)
{
    char want[256];
    size_t i, l = 0;
    json_t *x;
    if (json_is_string(t)) {
        if (has_type(inst, json_string_value(t))) return 1;
        return fail(c, msg, msz, "expected %s, got %s", json_string_value(t), type_name(inst));
    }
    json_array_foreach(t, i, x) if (has_type(inst, json_string_value(x))) return 1;
    want[0] = '\0';
    json_array_foreach(t, i, x)
        if (l < sizeof want)
            l += (size_t)snprintf(want + l, sizeof want - l, "%s%s", i == 0 ? "" : i + 1 == json_array_size(t) ? " or " : ", ",
                                  json_string_value(x));
    return fail(c, msg, msz, "expected %s, got %s", want, type_name(inst));
}

static int v_enum(vctx *c, const json_t *e, const json_t *inst, char *msg, size_t msz)
{
    char list[512], got[QUOTE_MAX + 16];
    size_t i, l = 0;
    json_t *x;
    json_array_foreach(e, i, x) if (json_eq(inst, x)) return 1;
    l += (size_t)snprintf(list, sizeof list, "[");
    json_array_foreach(e, i, x) {
        char q[QUOTE_MAX + 16];
        quote(x, q, sizeof q);
        if (l < sizeof list) l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", q);
    }
    if (l < sizeof list) snprintf(list + l, sizeof list - l, "]");
    quote_value(inst, got, sizeof got);
    return fail(c, msg, msz, "%s is not one of %s", got, list);
}

static int v_number(vctx *c, const json_t *s, const json_t *inst, char *msg, size_t msz)
{
    static const struct { const char *kw; int bad_if; int strict; const char *text; } bounds[] = {
        {"minimum", -1, 0, "is less than the minimum"},
        {"maximum", 1, 0, "is greater than the maximum"},
        {"exclusiveMinimum", -1, 1, "must be greater than"},
        {"exclusiveMaximum", 1, 1, "must be less than"},
    };
    size_t i;
    for (i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        const json_t *b = json_object_get(s, bounds[i].kw);
        int cmp;
        char got[64], lim[64];
        if (!b) continue;
        cmp = num_cmp(inst, b);
        if (cmp == bounds[i].bad_if || (bounds[i].strict && cmp == 0)) {
            fmt_num(inst, got, sizeof got);
            fmt_num(b, lim, sizeof lim);
            return fail(c, msg, msz, "%s %s %s", got, bounds[i].text, lim);
        }
        c->progress++;
    }
    return 1;
}

static int v_string(vctx *c, const json_t *s, size_t doc, const json_t *inst, char *msg, size_t msz)
{
    const json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
    const json_t *pat = json_object_get(s, "pattern");
    size_t n = (mn || mx) ? utf8_len(inst) : 0;
    if (mn && (double)n < json_number_value(mn))
        return fail(c, msg, msz, "expected at least %.0f character%s, got %zu", json_number_value(mn),
                    json_number_value(mn) == 1 ? "" : "s", n);
    if (mx && (double)n > json_number_value(mx))
        return fail(c, msg, msz, "expected at most %.0f character%s, got %zu", json_number_value(mx),
                    json_number_value(mx) == 1 ? "" : "s", n);
    if (pat) {
        regex_t *re;
        int rc = get_pattern(c, doc, pat, &re);
        char got[QUOTE_MAX + 16];
        if (rc < 0) return rc;
        /* Like ECMA's test(): a match anywhere counts unless anchored. */
        if (regexec(re, json_string_value(inst), 0, NULL, 0) != 0) {
            quote_value(inst, got, sizeof got);
            return fail(c, msg, msz, "%s does not match the pattern %s", got, json_string_value(pat));
        }
    }
    if (mn || mx || pat) c->progress++;
    return 1;
}

static int v_array(vctx *c, const json_t *s, size_t doc, const json_t *inst, char *msg, size_t msz)
{
    const json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
    const json_t *items = json_object_get(s, "items");
    size_t i, j, n = json_array_size(inst);
    int rc;
    if (mn && (double)n < json_number_value(mn))
        return fail(c, msg, msz, "expected at least %.0f item%s, got %zu", json_number_value(mn),
                    json_number_value(mn) == 1 ? "" : "s", n);
    if (mx && (double)n > json_number_value(mx))
        return fail(c, msg, msz, "expected at most %.0f item%s, got %zu", json_number_value(mx),
                    json_number_value(mx) == 1 ? "" : "s", n);
    if (json_is_true(json_object_get(s, "uniqueItems")))
        for (i = 0; i < n; i++)
            for (j = i + 1; j < n; j++)
                if (json_eq(json_array_get(inst, i), json_array_get(inst, j)))
                    return fail(c, msg, msz, "items [%zu] and [%zu] are equal; items must be unique", i, j);
    if (mn || mx) c->progress++;
    if (items)
        for (i = 0; i < n; i++)
            if ((rc = validate_child(c, items, doc, json_array_get(inst, i), NULL, i, msg, msz)) <= 0) return rc;
    return 1;
}

static int v_object(vctx *c, const json_t *s, size_t doc, const json_t *inst, char *msg, size_t msz)
{
    const json_t *props = json_object_get(s, "properties"), *req = json_object_get(s, "required");
    const json_t *add = json_object_get(s, "additionalProperties");
    const char *key;
    json_t *sub, *v;
    size_t i;
    int rc;
    /* In the schema's order, so a discriminator listed first ("type")
     * is what a wrong oneOf branch trips over first. */
    if (props)
        json_object_foreach((json_t *)props, key, sub) {
            if (!(v = json_object_get(inst, key))) continue;
            if ((rc = validate_child(c, sub, doc, v, key, 0, msg, msz)) <= 0) return rc;
            c->progress++;
        }
    if (req)
        json_array_foreach(req, i, v)
            if (!json_object_get(inst, json_string_value(v)))
                return fail(c, msg, msz, "missing required property '%s'", json_string_value(v));
    if (add && !json_is_true(add))
        json_object_foreach((json_t *)inst, key, v) {
            if (props && json_object_get(props, key)) continue;
            if (json_is_false(add)) {
                /* Name what is allowed: the model usually misspelt one. */
                char allowed[512];
                size_t l = 0;
                const char *pk;
                json_t *pv;
                allowed[0] = '\0';
                if (props)
                    json_object_foreach((json_t *)props, pk, pv)
                        if (l < sizeof allowed) l += (size_t)snprintf(allowed + l, sizeof allowed - l, "%s%s", l ? ", " : "", pk);
                if (l) return fail(c, msg, msz, "unexpected property '%s' (allowed: %s)", key, allowed);
                return fail(c, msg, msz, "unexpected property '%s' (no properties are allowed)", key);
            }
            if ((rc = validate_child(c, add, doc, v, key, 0, msg, msz)) <= 0) return rc;
        }
    if (req || (add && !json_is_true(add))) c->progress++;
    return 1;
}

/* oneOf / anyOf: every branch is tried; when none matches, the message
 * names the branch that got furthest (most keywords passed), or all tied
 * ones, with each one's first problem. */
static int v_alternatives(vctx *c, const json_t *alts, size_t doc, const json_t *inst, int exactly_one,
                          char *msg, size_t msz)
{
    size_t n = json_array_size(alts), i, n_ok = 0, ok_first = 0, ok_second = 0;
    char *bufs = malloc(n * MSG_MAX);
    long *score = malloc(n * sizeof *score), best = -1, start = c->progress;
    int rc = AO_OK;
    if (!bufs || !score) { rc = oom(c); goto DONE; }
    for (i = 0; i < n; i++) {
        long before = c->progress;
        bufs[i * MSG_MAX] = '\0';
        rc = validate(c, json_array_get(alts, i), doc, inst, bufs + i * MSG_MAX, MSG_MAX);
        if (rc < 0) goto DONE;
        score[i] = rc ? -1 : c->progress - before;
        if (rc) {
            if (n_ok == 0) ok_first = i;
            else if (n_ok == 1) ok_second = i;
            n_ok++;
            if (!exactly_one) break;
        } else if (score[i] > best) {
            best = score[i];
        }
    }
    /* Only the successful branch's progress counts towards an enclosing
     * oneOf's notion of "furthest". */
    c->progress = start + (n_ok ? 1 : best > 0 ? best : 0);
    if (n_ok == 1 || (n_ok > 1 && !exactly_one)) { rc = 1; goto DONE; }
    if (n_ok > 1) {
        char more[48] = "";
        if (n_ok > 2) snprintf(more, sizeof more, " (and %zu more)", n_ok - 2);
        rc = fail(c, msg, msz, "matches alternatives #%zu and #%zu%s of oneOf; it must match exactly one",
                  ok_first + 1, ok_second + 1, more);
        goto DONE;
    }
    {
        /* The branches that got furthest; identical complaints ("expected
         * object, got string" from every branch) are said once. */
        const char *kw = exactly_one ? "oneOf" : "anyOf";
        char text[MSG_MAX];
        size_t l, n_best = 0, n_distinct = 0, first = 0;
        for (i = 0; i < n; i++) {
            size_t j;
            int dup = 0;
            if (score[i] != best) continue;
            if (n_best++ == 0) first = i;
            for (j = 0; j < i; j++)
                if (score[j] == best && strcmp(bufs + j * MSG_MAX, bufs + i * MSG_MAX) == 0) dup = 1;
            if (!dup) n_distinct++;
        }
        if (n_distinct == 1) {
            /* One problem to fix: lead with it, its own path first. */
            char where[64];
            if (n_best == 1) snprintf(where, sizeof where, "; closest #%zu", first + 1);
            else where[0] = '\0';
            if (snprintf(msg, msz, "%s (%s at %s: none of %zu alternatives matches%s)", bufs + first * MSG_MAX,
                         kw, c->ipath.s, n, where) >= (int)msz) msg[msz - 1] = '\0';
            rc = 0;
            goto DONE;
        }
        l = (size_t)snprintf(text, sizeof text, "none of the %zu alternatives of %s matches:", n, kw);
        for (i = 0; i < n && l < sizeof text; i++) {
            size_t j;
            int dup = 0;
            if (score[i] != best) continue;
            for (j = 0; j < i; j++)
                if (score[j] == best && strcmp(bufs + j * MSG_MAX, bufs + i * MSG_MAX) == 0) dup = 1;
            if (!dup) l += (size_t)snprintf(text + l, sizeof text - l, " (#%zu) %s;", i + 1, bufs + i * MSG_MAX);
        }
        if (l < sizeof text && text[l - 1] == ';') text[l - 1] = '\0';
        rc = fail(c, msg, msz, "%s", text);
    }
DONE:
    free(bufs);
    free(score);
    return rc;
}

static int validate(vctx *c, const json_t *s, size_t doc, const json_t *inst, char *msg, size_t msz)
{
    const json_t *v;
    int rc;
    if (json_is_true(s)) return 1;
    if (json_is_false(s)) return fail(c, msg, msz, "no value is allowed here");
    /* progress counts only keywords present and passed, so a branch that
     * merely lacks keywords does not look "closer". */
    if ((v = json_object_get(s, "type"))) {
        if ((rc = v_type(c, v, inst, msg, msz)) <= 0) return rc;
        c->progress++;
    }
    if ((v = json_object_get(s, "const")) && !json_eq(inst, v)) {
        char want[QUOTE_MAX + 16], got[QUOTE_MAX + 16];
        quote(v, want, sizeof want);
        quote(inst, got, sizeof got);
        return fail(c, msg, msz, "expected %s, got %s", want, got);
    }
    if ((v = json_object_get(s, "const"))) c->progress++;
    if ((v = json_object_get(s, "enum"))) {
        if ((rc = v_enum(c, v, inst, msg, msz)) <= 0) return rc;
        c->progress++;
    }
    if (json_is_number(inst) && (rc = v_number(c, s, inst, msg, msz)) <= 0) return rc;
    if (json_is_string(inst) && (rc = v_string(c, s, doc, inst, msg, msz)) <= 0) return rc;
    if (json_is_array(inst) && (rc = v_array(c, s, doc, inst, msg, msz)) <= 0) return rc;
    if (json_is_object(inst) && (rc = v_object(c, s, doc, inst, msg, msz)) <= 0) return rc;
    if ((v = json_object_get(s, "$ref"))) {
        const json_t *t;
        size_t tdoc;
        if (c->ref_depth >= REF_DEPTH_MAX)
            return schema_err(c, doc, "$ref \"%s\" nested more than %d deep (a reference cycle?)",
                              json_string_value(v), REF_DEPTH_MAX);
        if ((rc = resolve_ref(c, doc, json_string_value(v), &t, &tdoc)) < 0) return rc;
        c->ref_depth++;
        rc = validate(c, t, tdoc, inst, msg, msz);
        c->ref_depth--;
        if (rc <= 0) return rc;
    }
    if ((v = json_object_get(s, "allOf"))) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if ((rc = validate(c, x, doc, inst, msg, msz)) <= 0) return rc;
    }
    if ((v = json_object_get(s, "anyOf")) && (rc = v_alternatives(c, v, doc, inst, 0, msg, msz)) <= 0) return rc;
    if ((v = json_object_get(s, "oneOf")) && (rc = v_alternatives(c, v, doc, inst, 1, msg, msz)) <= 0) return rc;
    if ((v = json_object_get(s, "not"))) {
        char scratch[MSG_MAX], shown[QUOTE_MAX + 16];
        long saved = c->progress;
        if ((rc = validate(c, v, doc, inst, scratch, sizeof scratch)) < 0) return rc;
        c->progress = saved;
        if (rc == 1) {
            quote(v, shown, sizeof shown);
            return fail(c, msg, msz, "must not match the schema %s", shown);
        }
    }
    return 1;
}

/* ---- entry points -------------------------------------------------------- */

static int run(const json_t *schema, const char *label, const json_t *instance, const char *schema_dir,
               char *msg, size_t msg_size, ao_err *err)
{
    vctx c;
    char buf[MSG_MAX];
    size_t i;
    int rc;
    memset(&c, 0, sizeof c);
    c.dir = schema_dir;
    c.label = label;
    c.err = err;
    buf[0] = '\0';
    if (msg && msg_size) msg[0] = '\0';
    if (!schema || !instance) { rc = ao_err_set(err, AO_EUSAGE, "jsonschema: no schema or no instance"); goto DONE; }
    if (grow((void **)&c.docs, &c.cap_docs, 0, sizeof *c.docs) < 0) { rc = oom(&c); goto DONE; }
    c.docs[0].name = NULL;
    c.docs[0].root = (json_t *)schema;
    c.n_docs = 1;
    if (sb_add(&c.spath, "%s", "") < 0 || sb_add(&c.ipath, "$") < 0) { rc = oom(&c); goto DONE; }
    if ((rc = check_schema(&c, schema, 0)) < 0) goto DONE;
    sb_cut(&c.spath, 0);
    rc = validate(&c, schema, 0, instance, buf, sizeof buf);
    if (rc == 0 && msg && msg_size) snprintf(msg, msg_size, "%s", buf);
DONE:
    for (i = 1; i < c.n_docs; i++) {
        free(c.docs[i].name);
        json_decref(c.docs[i].root);
    }
    for (i = 0; i < c.n_pats; i++) regfree(&c.pats[i].re);
    free(c.docs);
    free(c.pats);
    free(c.checked);
    free(c.ipath.s);
    free(c.spath.s);
    return rc;
}

int ao_jsonschema_validate(const json_t *schema, const json_t *instance, const char *schema_dir,
                           char *msg, size_t msg_size, ao_err *err)
{
    return run(schema, "(schema)", instance, schema_dir, msg, msg_size, err);
}

int ao_jsonschema_validate_file(const char *schema_dir, const char *name, const json_t *instance,
                                char *msg, size_t msg_size, ao_err *err)
{
    char *path = NULL;
    json_t *schema = NULL;
    json_error_t jerr;
    FILE *fp = NULL;
    int rc;
    if (msg && msg_size) msg[0] = '\0';
    if (!schema_dir || !name) return ao_err_set(err, AO_EUSAGE, "jsonschema: no schema directory or name");
    if (asprintf(&path, "%s/%s", schema_dir, name) < 0) return ao_err_set(err, AO_EMEM, "out of memory");
    /* A missing file is an I/O problem; a broken one is a data problem. */
    if (!(fp = fopen(path, "rb"))) {
        rc = ao_err_set(err, AO_EIO, "%s: cannot open: %s", path, strerror(errno));
        goto DONE;
    }
    if (!(schema = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr))) {
        rc = ao_err_at(err, AO_EDATA, path, jerr.line, "%s", jerr.text);
        goto DONE;
    }
    rc = run(schema, name, instance, schema_dir, msg, msg_size, err);
DONE:
    if (fp) fclose(fp);
    json_decref(schema);
    free(path);
    return rc;
}
