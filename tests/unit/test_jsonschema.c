/* test_jsonschema.c — the schema subset: every project schema is accepted
 * and a realistic instance passes; the messages invalid instances get
 * (type, required, enum, const, bounds, lengths, pattern, uniqueItems,
 * unexpected properties, oneOf/anyOf/allOf/not); $ref within a document
 * (with ~0 ~1 escapes), to other files and in cycles; schema errors
 * (unknown keyword, bad values, dangling references).
 * Schemas: every schemas/NAME.schema.json (cwd = repository root). */
#define _GNU_SOURCE
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/jsonschema.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_jsonschema.XXXXXX";

static json_t *J(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", text, je.text);
    return v;
}

/* Validates instance text against schema text; msg gets the message or the
 * error. */
static int run(const char *schema, const char *inst, const char *dir, char *msg, size_t msz)
{
    json_t *s = J(schema), *i = J(inst);
    ao_err err;
    int rc;
    ao_err_init(&err);
    rc = ao_jsonschema_validate(s, i, dir, msg, msz, &err);
    if (rc < 0) snprintf(msg, msz, "%s", err.msg);
    json_decref(s);
    json_decref(i);
    return rc;
}

static int runf(const char *name, const char *inst, char *msg, size_t msz)
{
    json_t *i = J(inst);
    ao_err err;
    int rc;
    ao_err_init(&err);
    rc = ao_jsonschema_validate_file("schemas", name, i, msg, msz, &err);
    if (rc < 0) snprintf(msg, msz, "%s", err.msg);
    json_decref(i);
    return rc;
}

/* Invalid, with exactly this message. */
#define BAD(schema, inst, want) do { \
    char m_[1024]; int r_ = run(schema, inst, NULL, m_, sizeof m_); \
    CHECK(r_ == 0 && strcmp(m_, want) == 0, "%s -> %s", inst, want); \
    if (r_ != 0 || strcmp(m_, want) != 0) printf("#   got %d: %s\n", r_, m_); \
} while (0)
#define GOOD(schema, inst) do { \
    char m_[1024]; int r_ = run(schema, inst, NULL, m_, sizeof m_); \
    CHECK(r_ == 1, "%s is valid against %s", inst, schema); \
    if (r_ != 1) printf("#   got %d: %s\n", r_, m_); \
} while (0)
/* A schema error whose message contains want. */
#define SCHEMA_ERR(schema, want) do { \
    char m_[1024]; int r_ = run(schema, "{}", NULL, m_, sizeof m_); \
    CHECK(r_ == AO_EDATA && strstr(m_, want), "schema %s refused: %s", schema, want); \
    if (r_ != AO_EDATA || !strstr(m_, want)) printf("#   got %d: %s\n", r_, m_); \
} while (0)

static void test_project_schemas(void)
{
    glob_t g;
    size_t i;
    char msg[1024];
    int rc = glob("schemas/*.schema.json", 0, NULL, &g);
    CHECK(rc == 0 && g.gl_pathc >= 10, "found the project's schemas (%zu)", rc == 0 ? g.gl_pathc : 0);
    for (i = 0; rc == 0 && i < g.gl_pathc; i++) {
        const char *name = strrchr(g.gl_pathv[i], '/') + 1;
        /* {} fails the schema's "required" (every schema has one) but only
         * after the whole schema, $refs included, was checked. */
        int r = runf(name, "{}", msg, sizeof msg);
        CHECK(r == 0 || r == 1, "%s is a usable schema (%s)", name, r < 0 ? msg : "ok");
        r = runf(name, "\"not an object\"", msg, sizeof msg);
        CHECK(r == 0 && strncmp(msg, "$", 1) == 0, "%s: a string is refused: %s", name, msg);
    }
    if (rc == 0) globfree(&g);
}

static void test_recipe(void)
{
    char m[1024];
    static const char *const good[] = {
        "{\"representation\":{\"type\":\"kmer\",\"k\":[3,4,5],\"canonical\":true,\"gapped\":[\"1101\",\"1\"]},"
        " \"model\":{\"type\":\"logreg\",\"C\":1.0,\"class_weight\":\"balanced\"},\"seed\":42,\"format_version\":1}",
        "{\"representation\":{\"type\":\"kmer\",\"k\":6},\"model\":{\"type\":\"gbdt\",\"n_estimators\":300,"
        " \"learning_rate\":0.05,\"subsample\":0.8,\"max_depth\":6}}",
        "{\"representation\":{\"type\":\"onehot\",\"length\":\"auto\",\"pad\":\"centre\"},\"model\":{\"type\":\"cnn\","
        " \"blocks\":[{\"filters\":64,\"width\":9,\"pool\":\"max\",\"pool_size\":2},{\"filters\":64,\"width\":5,\"dilation\":2}],"
        " \"global_pool\":\"maxavg\",\"dropout\":0.2,\"epochs\":20,\"batch_size\":64,\"learning_rate\":1e-3}}",
        /* 20.0 is an integer to the draft */
        "{\"representation\":{\"type\":\"onehot\",\"length\":300},\"model\":{\"type\":\"cnn\",\"epochs\":20.0}}",
    };
    static const struct { const char *inst, *want; } bad[] = {
        {"{\"representation\":{\"type\":\"kmer\",\"k\":5},\"model\":{\"type\":\"gbdt\",\"n_estimators\":\"300\"}}",
         "$.model.n_estimators: expected integer, got string (oneOf at $.model: none of 3 alternatives matches; closest #2)"},
        {"{\"representation\":{\"type\":\"kmer\",\"k\":5},\"model\":{\"type\":\"xgboost\"}}",
         "$.model: none of the 3 alternatives of oneOf matches: (#1) $.model.type: expected \"logreg\", got \"xgboost\";"
         " (#2) $.model.type: expected \"gbdt\", got \"xgboost\"; (#3) $.model.type: expected \"cnn\", got \"xgboost\""},
        {"{\"representation\":{\"type\":\"kmer\"},\"model\":\"gbdt\"}",
         "$.model: expected object, got string (oneOf at $.model: none of 3 alternatives matches)"},
        {"{\"representation\":{\"type\":\"kmer\"},\"model\":{\"type\":\"logreg\"},\"extra\":1}",
         "$: unexpected property 'extra' (allowed: format_version, name, "},
        {"{\"representation\":{\"type\":\"kmer\"}}", "$: missing required property 'model'"},
        {"{\"representation\":{\"type\":\"kmer\"},\"model\":{\"type\":\"logreg\"},\"early_stopping\":\"foo\"}",
         "$.early_stopping: 'foo' is not one of [\"valid\", \"none\"]"},
        {"{\"representation\":{\"type\":\"kmer\"},\"model\":{\"type\":\"logreg\"},\"format_version\":2}",
         "$.format_version: expected 1, got 2"},
        {"{\"representation\":{\"type\":\"kmer\"},\"model\":{\"type\":\"logreg\"},\"seed\":-1}",
         "$.seed: -1 is less than the minimum 0"},
        {"{\"representation\":{\"type\":\"kmer\"},\"model\":{\"type\":\"logreg\"},\"seed\":1.5}",
         "$.seed: expected integer, got number"},
        {"{\"representation\":{\"type\":\"kmer\",\"gapped\":[\"1101\",\"10x1\"]},\"model\":{\"type\":\"logreg\"}}",
         "$.representation.gapped[1]: '10x1' does not match the pattern ^(1[01]*1|1)$"
         " (oneOf at $.representation: none of 2 alternatives matches; closest #1)"},
        {"{\"representation\":{\"type\":\"kmer\",\"k\":[3,3]},\"model\":{\"type\":\"logreg\"}}",
         "$.representation.k: items [0] and [1] are equal; items must be unique"
         " (oneOf at $.representation.k: none of 2 alternatives matches; closest #2)"
         " (oneOf at $.representation: none of 2 alternatives matches; closest #1)"},
        {"{\"representation\":{\"type\":\"onehot\"},\"model\":{\"type\":\"gbdt\",\"subsample\":0}}",
         "$.model.subsample: 0 must be greater than 0 (oneOf at $.model: none of 3 alternatives matches; closest #2)"},
        {"{\"representation\":{\"type\":\"onehot\"},\"model\":{\"type\":\"cnn\",\"blocks\":[{\"filters\":8},{\"widht\":3}]}}",
         "$.model.blocks[1]: unexpected property 'widht' (allowed: filters, width, dilation, pool, pool_size)"
         " (oneOf at $.model: none of 3 alternatives matches; closest #3)"},
        {"{\"representation\":{\"type\":\"onehot\"},\"model\":{\"type\":\"cnn\",\"blocks\":[]}}",
         "$.model.blocks: expected at least 1 item, got 0 (oneOf at $.model: none of 3 alternatives matches; closest #3)"},
        {"{\"representation\":{\"type\":\"onehot\"},\"model\":{\"type\":\"logreg\",\"C\":1e-9}}",
         "$.model.C: 1e-09 is less than the minimum 1e-08 (oneOf at $.model: none of 3 alternatives matches; closest #1)"},
        {"[]", "$: expected object, got array"},
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof *good; i++) {
        int rc = runf("recipe.schema.json", good[i], m, sizeof m);
        CHECK(rc == 1, "valid recipe %zu passes", i);
        if (rc != 1) printf("#   %s\n", m);
    }
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = runf("recipe.schema.json", bad[i].inst, m, sizeof m);
        /* a prefix, so the allowed-property list may grow with the schema */
        int same = strncmp(m, bad[i].want, strlen(bad[i].want)) == 0;
        CHECK(rc == 0 && same, "invalid recipe %zu: %s", i, bad[i].want);
        if (rc != 0 || !same) printf("#   got %d: %s\n", rc, m);
    }
    /* $ref into recipe.schema.json from a sibling schema */
    {
        int rc = runf("architect.schema.json", "{\"model\":{\"type\":\"gbdt\",\"max_depth\":-1},\"rationale\":\"deeper\"}", m, sizeof m);
        CHECK(rc == 0 && strstr(m, "$.model.max_depth: -1 is less than the minimum 0"), "architect: file $ref followed: %s", m);
        rc = runf("architect.schema.json", "{\"model\":{\"type\":\"gbdt\"},\"rationale\":\"x\"}", m, sizeof m);
        CHECK(rc == 1, "architect: valid");
        rc = runf("code.schema.json", "{\"entry\":\"builtin\",\"smoke\":{\"status\":\"ok\"},"
                  "\"recipe\":{\"representation\":{\"type\":\"kmer\"},\"model\":{\"type\":\"cnn\",\"dropout\":0.99}}}", m, sizeof m);
        CHECK(rc == 0 && strstr(m, "$.recipe.model.dropout: 0.99 is greater than the maximum 0.95") == m,
              "code: whole-file $ref followed: %s", m);
    }
    /* a short message buffer is cut, not overrun */
    {
        char small[12];
        int rc = runf("recipe.schema.json", "[]", small, sizeof small);
        CHECK(rc == 0 && strcmp(small, "$: expected") == 0, "message cut to the buffer: '%s'", small);
        rc = runf("recipe.schema.json", "[]", NULL, 0);
        CHECK(rc == 0, "NULL message buffer is fine");
    }
}

static void test_keywords(void)
{
    GOOD("{\"type\":\"integer\"}", "3");
    GOOD("{\"type\":\"integer\"}", "3.0");
    BAD("{\"type\":\"integer\"}", "3.5", "$: expected integer, got number");
    GOOD("{\"type\":\"number\"}", "3");
    BAD("{\"type\":[\"string\",\"null\",\"boolean\"]}", "1", "$: expected string, null or boolean, got integer");
    GOOD("{\"type\":[\"string\",\"null\"]}", "null");
    BAD("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}}}",
        "{\"a\":{\"b\":[1,2,\"x\"]}}", "$.a.b[2]: expected integer, got string");
    BAD("{\"properties\":{\"a b\":{\"type\":\"integer\"}}}", "{\"a b\":\"x\"}", "$[\"a b\"]: expected integer, got string");
    BAD("{\"properties\":{\"steps\":{\"required\":[\"x\"]}}}", "{\"steps\":{}}", "$.steps: missing required property 'x'");
    GOOD("{\"required\":[\"x\"]}", "[]");   /* required only constrains objects */
    BAD("{\"properties\":{\"model\":{\"enum\":[\"a\",\"b\"]}}}", "{\"model\":\"foo\"}", "$.model: 'foo' is not one of [\"a\", \"b\"]");
    BAD("{\"enum\":[1,\"two\",null]}", "2", "$: 2 is not one of [1, \"two\", null]");
    GOOD("{\"enum\":[1,{\"a\":[1,2]}]}", "{\"a\":[1.0,2]}");
    GOOD("{\"const\":{\"a\":1,\"b\":2}}", "{\"b\":2,\"a\":1}");
    BAD("{\"const\":[1,2]}", "[2,1]", "$: expected [1,2], got [2,1]");
    BAD("{\"additionalProperties\":false}", "{\"extra\":1}", "$: unexpected property 'extra' (no properties are allowed)");
    BAD("{\"properties\":{\"a\":true},\"additionalProperties\":{\"type\":\"string\"}}", "{\"a\":1,\"b\":2}",
        "$.b: expected string, got integer");
    BAD("{\"properties\":{\"a\":false}}", "{\"a\":1}", "$.a: no value is allowed here");
    BAD("{\"maximum\":10}", "10.5", "$: 10.5 is greater than the maximum 10");
    GOOD("{\"maximum\":10}", "10");
    BAD("{\"exclusiveMaximum\":10}", "10", "$: 10 must be less than 10");
    GOOD("{\"minimum\":9007199254740993}", "9007199254740993");
    BAD("{\"minimum\":9007199254740993}", "9007199254740992", "$: 9007199254740992 is less than the minimum 9007199254740993");
    GOOD("{\"minimum\":5}", "\"strings are not numbers\"");
    BAD("{\"minLength\":3}", "\"ab\"", "$: expected at least 3 characters, got 2");
    GOOD("{\"maxLength\":2}", "\"\\u00e9\\u00e9\"");   /* code points, not bytes */
    BAD("{\"maxLength\":1}", "\"\\u00e9\\u00e9\"", "$: expected at most 1 character, got 2");
    BAD("{\"maxItems\":1}", "[1,2]", "$: expected at most 1 item, got 2");
    GOOD("{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1}]");
    BAD("{\"uniqueItems\":true}", "[{\"a\":1},2,{\"a\":1.0}]", "$: items [0] and [2] are equal; items must be unique");
    /* patterns: unanchored like ECMA, \d and \w translated */
    GOOD("{\"pattern\":\"b+\"}", "\"abbbc\"");
    BAD("{\"pattern\":\"^b+$\"}", "\"abbbc\"", "$: 'abbbc' does not match the pattern ^b+$");
    GOOD("{\"pattern\":\"^\\\\d{3}-\\\\w+$\"}", "\"123-ab_c\"");
    BAD("{\"pattern\":\"^\\\\d{3}$\"}", "\"12d\"", "$: '12d' does not match the pattern ^\\d{3}$");
    GOOD("{\"pattern\":\"^[\\\\d.]+$\"}", "\"1.5\"");
    /* combinators */
    GOOD("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3");
    BAD("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1", "$: 1 is less than the minimum 2");
    GOOD("{\"anyOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1");
    BAD("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\",\"minimum\":2}]}", "1",
        "$: 1 is less than the minimum 2 (anyOf at $: none of 2 alternatives matches; closest #2)");
    BAD("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", "1",
        "$: matches alternatives #1 and #2 of oneOf; it must match exactly one");
    BAD("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0},{\"maximum\":5}]}", "1",
        "$: matches alternatives #1 and #2 (and 1 more) of oneOf; it must match exactly one");
    GOOD("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}", "\"x\"");
    BAD("{\"not\":{\"type\":\"string\"}}", "\"x\"", "$: must not match the schema {\"type\":\"string\"}");
    GOOD("{\"not\":{\"type\":\"string\"}}", "1");
    GOOD("true", "[1]");
    BAD("false", "[1]", "$: no value is allowed here");
    GOOD("{\"title\":\"t\",\"description\":\"d\",\"$comment\":\"c\",\"default\":1,\"examples\":[1],\"$id\":\"x\"}", "1");
}

static void test_refs(void)
{
    char m[1024], path[4096];
    FILE *fp;
    /* local pointers, with ~0 ~1 and percent escapes */
    GOOD("{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},\"properties\":{\"n\":{\"$ref\":\"#/$defs/pos\"}}}", "{\"n\":3}");
    BAD("{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},\"properties\":{\"n\":{\"$ref\":\"#/$defs/pos\"}}}", "{\"n\":0}",
        "$.n: 0 is less than the minimum 1");
    BAD("{\"$defs\":{\"a/b\":{\"type\":\"string\"},\"c~d\":{\"type\":\"integer\"}},"
        "\"items\":{\"anyOf\":[{\"$ref\":\"#/$defs/a~1b\"},{\"$ref\":\"#/$defs/c~0d\"}]}}", "[\"x\",2,null]",
        "$[2]: none of the 2 alternatives of anyOf matches: (#1) $[2]: expected string, got null; (#2) $[2]: expected integer, got null");
    GOOD("{\"$defs\":{\"a b\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a%20b\"}", "\"x\"");
    /* an index into an array of schemas */
    BAD("{\"anyOf\":[{\"type\":\"string\"},{\"$ref\":\"#/anyOf/0\"}]}", "1",
        "$: expected string, got integer (anyOf at $: none of 2 alternatives matches)");
    /* a recursive schema (a tree) works; a cycle that makes no progress is refused */
    GOOD("{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}}}",
         "{\"kids\":[{\"kids\":[]},{\"kids\":[{}]}]}");
    BAD("{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}}}",
        "{\"kids\":[{\"kids\":[]},{\"kids\":[3]}]}", "$.kids[1].kids[0]: expected object, got integer");
    {
        int rc = run("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}", "1", NULL, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "nested more than"), "a $ref cycle is a schema error: %s", m);
        rc = run("{\"$ref\":\"#\"}", "1", NULL, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "nested more than"), "a self $ref is a schema error: %s", m);
    }
    /* files beside the schema, cached, with fragments and their own local refs */
    snprintf(path, sizeof path, "%s/pos.schema.json", tmpdir);
    fp = fopen(path, "w");
    if (fp) {
        fputs("{\"$defs\":{\"n\":{\"type\":\"integer\",\"minimum\":1}},\"properties\":{\"count\":{\"$ref\":\"#/$defs/n\"}},"
              "\"items\":{\"$ref\":\"other.schema.json\"}}", fp);
        fclose(fp);
    }
    snprintf(path, sizeof path, "%s/other.schema.json", tmpdir);
    fp = fopen(path, "w");
    if (fp) { fputs("{\"type\":\"string\",\"maxLength\":2}", fp); fclose(fp); }
    {
        int rc = run("{\"properties\":{\"a\":{\"$ref\":\"pos.schema.json\"},\"b\":{\"$ref\":\"pos.schema.json#/$defs/n\"}}}",
                     "{\"a\":{\"count\":0}}", tmpdir, m, sizeof m);
        CHECK(rc == 0 && strcmp(m, "$.a.count: 0 is less than the minimum 1") == 0, "file $ref, local ref inside it: %s", m);
        rc = run("{\"properties\":{\"a\":{\"$ref\":\"pos.schema.json\"},\"b\":{\"$ref\":\"pos.schema.json#/$defs/n\"}}}",
                 "{\"a\":{\"count\":1},\"b\":\"x\"}", tmpdir, m, sizeof m);
        CHECK(rc == 0 && strcmp(m, "$.b: expected integer, got string") == 0, "file $ref with fragment: %s", m);
        rc = run("{\"$ref\":\"pos.schema.json\"}", "[\"ab\",\"abc\"]", tmpdir, m, sizeof m);
        CHECK(rc == 0 && strcmp(m, "$[1]: expected at most 2 characters, got 3") == 0, "file $ref inside a file $ref: %s", m);
        rc = run("{\"$ref\":\"pos.schema.json\"}", "{\"count\":2}", tmpdir, m, sizeof m);
        CHECK(rc == 1, "file $ref valid");
        rc = run("{\"$ref\":\"pos.schema.json\"}", "1", NULL, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "no schema directory"), "file $ref without a directory: %s", m);
        rc = run("{\"$ref\":\"missing.schema.json\"}", "1", tmpdir, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "missing.schema.json"), "missing $ref file: %s", m);
        rc = run("{\"$ref\":\"../etc/x.json\"}", "1", tmpdir, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "inside the schema directory"), "$ref outside the directory refused: %s", m);
        rc = run("{\"$ref\":\"pos.schema.json#/$defs/nope\"}", "1", tmpdir, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "does not resolve"), "dangling fragment: %s", m);
    }
    /* a typo in a referenced file is found even where the instance never goes */
    snprintf(path, sizeof path, "%s/typo.schema.json", tmpdir);
    fp = fopen(path, "w");
    if (fp) { fputs("{\"anyOf\":[true,{\"minimun\":1}]}", fp); fclose(fp); }
    {
        int rc = run("{\"$ref\":\"typo.schema.json\"}", "1", tmpdir, m, sizeof m);
        CHECK(rc == AO_EDATA && strcmp(m, "schema typo.schema.json#/anyOf/1: unknown keyword \"minimun\"") == 0,
              "typo in a referenced file: %s", m);
    }
    {
        ao_err err;
        json_t *i = json_integer(1);
        int rc;
        ao_err_init(&err);
        rc = ao_jsonschema_validate_file(tmpdir, "absent.schema.json", i, m, sizeof m, &err);
        CHECK(rc == AO_EIO && strstr(err.msg, "absent.schema.json"), "validate_file: missing schema is AO_EIO: %s", err.msg);
        json_decref(i);
    }
}

static void test_schema_errors(void)
{
    SCHEMA_ERR("{\"type\":\"object\",\"properties\":{\"a\":{\"typ\":\"string\"}}}",
               "schema (schema)#/properties/a: unknown keyword \"typ\"");
    SCHEMA_ERR("{\"oneOf\":[{\"type\":\"string\"},{\"minimun\":3}]}", "#/oneOf/1: unknown keyword \"minimun\"");
    SCHEMA_ERR("{\"$defs\":{\"x\":{\"patternProperties\":{}}}}", "#/$defs/x: unknown keyword \"patternProperties\"");
    SCHEMA_ERR("{\"type\":\"int\"}", "unknown type \"int\"");
    SCHEMA_ERR("{\"type\":[\"string\",\"float\"]}", "unknown type");
    SCHEMA_ERR("{\"required\":\"a\"}", "\"required\" must be an array");
    SCHEMA_ERR("{\"minItems\":-1}", "\"minItems\" must be a non-negative integer");
    SCHEMA_ERR("{\"exclusiveMinimum\":true}", "\"exclusiveMinimum\" must be a number");
    SCHEMA_ERR("{\"items\":[{\"type\":\"string\"}]}", "prefixItems");
    SCHEMA_ERR("{\"pattern\":\"a(b\"}", "does not compile");
    SCHEMA_ERR("{\"oneOf\":[]}", "non-empty array");
    SCHEMA_ERR("{\"properties\":{\"a\":3}}", "#/properties/a: a schema must be an object or a boolean");
    SCHEMA_ERR("{\"$ref\":\"#/$defs/none\"}", "$ref \"#/$defs/none\" does not resolve");
    SCHEMA_ERR("{\"$defs\":{\"a\":1},\"$ref\":\"#/$defs/a\"}", "#/$defs/a: a schema must be an object or a boolean, got integer");
    SCHEMA_ERR("{\"required\":[\"x\"],\"$ref\":\"#/required/0\"}", "$ref \"#/required/0\" points at a JSON string, not at a schema");
    SCHEMA_ERR("{\"properties\":{\"a~b/c\":{\"bad\":1}}}", "#/properties/a~0b~1c: unknown keyword \"bad\"");
    SCHEMA_ERR("[1]", "a schema must be an object or a boolean");
    {
        char m[256];
        ao_err err;
        int rc;
        ao_err_init(&err);
        rc = ao_jsonschema_validate(NULL, NULL, NULL, m, sizeof m, &err);
        CHECK(rc < -1, "NULL schema refused");
    }
}

int main(void)
{
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_project_schemas();
    test_recipe();
    test_keywords();
    test_refs();
    test_schema_errors();
    {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return UNIT_DONE();
}
