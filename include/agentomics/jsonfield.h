/* jsonfield.h — strict reading of JSON objects, with JSON-path messages.
 *
 * For documents parsed strictly (recipe.json, and each learner's "model"
 * object in it): an unknown key, a wrong type or an out-of-range value is
 * a data error naming the file and the JSON path, e.g.
 *
 *     recipe.json: $.model.learning_rate: expected a number in [1e-06, 10], got "fast"
 *
 * Every getter leaves its output untouched when the key is absent, so a
 * caller fills in defaults first and then reads the document over them.
 * Getters return AO_OK, or AO_EDATA with the message in the context's err.
 */
#ifndef AGENTOMICS_JSONFIELD_H
#define AGENTOMICS_JSONFIELD_H

#include <jansson.h>
#include "agentomics/error.h"

/* JSON strings are UTF-8 (jansson refuses anything else: json_string()
 * returns NULL), so text bound for a JSON document is checked first. The
 * offset of the first byte of s[0..n) that does not start a valid UTF-8
 * sequence (overlong forms, surrogates and values past U+10FFFF are
 * invalid), or -1 when all of it is valid. */
long ao_utf8_invalid(const char *s, size_t n);

/* The length of the valid UTF-8 sequence at p[0..n) (1 to 4), 0 when p[0]
 * starts none or the sequence is cut short by n; n >= 1. The one validator
 * every module uses, so text that passes it is text jansson accepts. */
size_t ao_utf8_seq(const unsigned char *p, size_t n);

/* Text for a JSON document or an LLM message from arbitrary bytes
 * s[0..n): valid UTF-8 is kept, each byte that starts no valid sequence
 * becomes U+FFFD and a NUL byte the two characters "\0", so jansson
 * always accepts the result. AO_UTF8_TRIM_START drops the continuation
 * bytes of a character cut off at the start (a tail of longer text),
 * AO_UTF8_TRIM_END a character cut short at the end (a head). max > 0
 * bounds the result's bytes, cut on a character boundary (*cut, when not
 * NULL, says so). A malloc'd NUL-terminated string; NULL when out of
 * memory. */
#define AO_UTF8_TRIM_START 1u
#define AO_UTF8_TRIM_END 2u
char *ao_utf8_text(const char *s, size_t n, size_t max, unsigned flags, int *cut);

/* Where messages go: file names the document ("recipe.json"). */
typedef struct ao_jf {
    const char *file;
    ao_err *err;
} ao_jf;

/* Returns from the calling function when x is an error (< 0). */
#define AO_JF_TRY(x) do { int ao_jf_rc_ = (x); if (ao_jf_rc_ < 0) return ao_jf_rc_; } while (0)

/* Sets "FILE: PATH.KEY: what[, got GOT]" (key and got may be NULL) and
 * returns AO_EDATA. */
int ao_jf_fail(const ao_jf *c, const char *path, const char *key, const char *what, const char *got);
/* "an object", "a string", "an integer", ... : what v is, for messages. */
const char *ao_jf_kind(const json_t *v);

/* Every key of o must be in allowed (NULL-terminated). */
int ao_jf_keys(const ao_jf *c, const json_t *o, const char *path, const char *const *allowed) AO_WUR;
/* A number in [lo, hi]. */
int ao_jf_num(const ao_jf *c, const json_t *o, const char *path, const char *key, double lo, double hi, double *out) AO_WUR;
/* An integer in [lo, hi]. */
int ao_jf_int(const ao_jf *c, const json_t *o, const char *path, const char *key, long lo, long hi, int *out) AO_WUR;
/* true or false, as 1 or 0. */
int ao_jf_bool(const ao_jf *c, const json_t *o, const char *path, const char *key, int *out) AO_WUR;
/* A string naming one of names[] (NULL-terminated); *out gets values[i]. */
int ao_jf_enum(const ao_jf *c, const json_t *o, const char *path, const char *key, const char *const *names,
               const int *values, int *out) AO_WUR;
/* An object; *out is borrowed from o (NULL when absent and not required). */
int ao_jf_object(const ao_jf *c, const json_t *o, const char *path, const char *key, int required, json_t **out) AO_WUR;

/* The inverse of ao_jf_enum for writing: the first name whose value is v,
 * or NULL when none is. */
const char *ao_jf_enum_name(const char *const *names, const int *values, int v);

#endif
