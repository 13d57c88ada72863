/* Unit tests of the model package: a package from a small fake state and
 * runs, byte reproducibility, the manifest, verified extraction, and every
 * refusal on archives crafted here with libarchive. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <jansson.h>
#include <zlib.h>
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/package.h"
#include "agentomics/rng.h"
#include "unit.h"

static char *root;     /* scratch directory of this test */
static char *tmpdir;   /* TMPDIR for extractions: must be empty after each test */

static char *pathf(const char *fmt, const char *a)
{
    char *p = NULL;
    if (asprintf(&p, fmt, root, a) < 0) abort();
    return p;
}

static void put(const char *rel, const char *text)
{
    char *p = NULL, *slash;
    FILE *fp;
    if (asprintf(&p, "%s/%s", root, rel) < 0) abort();
    slash = strrchr(p, '/');
    *slash = '\0';
    if (ao_mkdir_p(p, NULL) < 0) abort();
    *slash = '/';
    if (!(fp = fopen(p, "wb"))) abort();
    fputs(text, fp);
    fclose(fp);
    free(p);
}

static void sha_hex_of(const char *s, size_t n, char hex[65])
{
    ao_sha256 h;
    unsigned char d[32];
    ao_sha256_init(&h);
    ao_sha256_update(&h, s, n);
    ao_sha256_final(&h, d);
    ao_sha256_hex(d, hex);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d) return -1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    ao_err e;
    ao_err_init(&e);
    return ao_read_file(path, len, &e);
}

/* ---- the fake state -------------------------------------------------- */

/* Three iterations with runs iter1..iter3; BEST is the best pointer. */
#define HISTORY_WITH(BEST, STOP) \
    "{\"format_version\": 2, \"split\": {\"version\": 1, \"source\": \"agent\"}, \"iterations\": [" \
    " {\"iteration\": 1, \"split_version\": 1, \"steps\": {\"plan\": {\"seconds\": 0.5, \"output\": {\"text\": \"start simple\", \"started\": \"2024-01-01T00:00:00Z\"}}}," \
    "  \"run\": {\"run_id\": \"iter1\", \"status\": \"ok\", \"metrics\": {\"valid\": {\"accuracy\": 0.7, \"auroc\": 0.75}}," \
    "           \"wall_seconds\": 12.3, \"peak_rss_mb\": 100}," \
    "  \"feedback\": {\"diagnosis\": \"underfitting\", \"suggestions\": {\"architect\": \"more capacity\"}}, \"decision\": \"continue\"}," \
    " {\"iteration\": 2, \"split_version\": 1, \"steps\": {}," \
    "  \"run\": {\"run_id\": \"iter2\", \"status\": \"ok\", \"metrics\": {\"valid\": {\"accuracy\": 0.8, \"auroc\": 0.83}}, \"wall_seconds\": 20.1}," \
    "  \"feedback\": {\"diagnosis\": \"good fit | small gap\", \"suggestions\": {}}, \"decision\": \"continue\"}," \
    " {\"iteration\": 3, \"split_version\": 1, \"steps\": {}," \
    "  \"run\": {\"run_id\": \"iter3\", \"status\": \"failed\", \"metrics\": {}, \"wall_seconds\": 1.0}," \
    "  \"feedback\": {\"diagnosis\": \"the run crashed\", \"suggestions\": {}}, \"decision\": \"stop\"}]," \
    " \"best\": " BEST "," \
    " \"stop\": " STOP "}\n"
static const char *HISTORY = HISTORY_WITH("{\"iteration\": 2, \"run_id\": \"iter2\", \"metric\": \"auroc\", \"value\": 0.83, \"split_version\": 1}",
                                          "{\"reason\": \"plateau\", \"iteration\": 3}");

/* run.json (format 2) of a builtin run on data directory `data` with content hash `hash`. */
static char *run_json(const char *data, const char *hash)
{
    char *run = NULL;
    if (asprintf(&run, "{\"format_version\": 2, \"agent\": \"builtin\", \"seed\": 7, \"lineage\": 0, \"lineage_seed\": %llu, "
                 "\"metric\": \"auroc\", \"n_classes\": 2, \"data\": {\"dir\": \"%s\", \"content_hash\": \"%s\"}, "
                 "\"budgets\": {\"iterations\": 3, \"wall_seconds\": 0, \"train_time_limit\": 600, \"plateau\": 3, \"target\": null}, "
                 "\"valid_fraction\": 0}\n", (unsigned long long)ao_seed_derive(7, AO_SEED_LINEAGE, 0), data, hash) < 0) abort();
    return run;
}

static void make_state(void)
{
    char *run = NULL, *dataset;
    dataset = pathf("%s/data%s", "");
    put("data/dataset.json", "{\"format_version\": 1, \"task\": \"binary\", \"classes\": [\"neg\", \"pos\"], "
        "\"positive_class\": \"pos\", \"sequence_columns\": [\"sequence\"], \"content_hash\": \"ab12\"}\n");
    {
        char zeros[65];
        memset(zeros, '0', 64);
        zeros[64] = '\0';
        run = run_json(dataset, zeros);
    }
    put("state/run.json", run);
    put("state/history.json", HISTORY);
    put("runs/iter1/metrics.json", "{\"status\": \"ok\", \"model\": \"logreg\", \"valid\": {\"auroc\": 0.75}}\n");
    put("runs/iter1/model/model.aom", "model one\n");
    put("runs/iter2/metrics.json", "{\"status\": \"ok\", \"model\": \"cnn\", \"recipe\": {\"model\": \"cnn\"}, "
        "\"train\": {\"auroc\": 0.9}, \"valid\": {\"accuracy\": 0.8, \"auroc\": 0.83, \"mcc\": 0.6, \"wall_seconds\": 3.5}, "
        "\"wall_seconds\": 20.1, \"peak_rss_mb\": 50}\n");
    put("runs/iter2/model/model.aom", "AOM binary model two\n");
    put("runs/iter2/model/recipe.json", "{\"model\": \"cnn\", \"epochs\": 5}\n");
    put("runs/iter2/model/sub/extra.bin", "extra bytes\n");
    /* a name over ustar's 100 bytes: needs a pax header */
    put("runs/iter2/model/long_name_0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789.txt", "long\n");
    put("runs/iter3/metrics.json", "{\"status\": \"failed\", \"model\": \"gbdt\"}\n");
    free(run);
    free(dataset);
}

static int write_pkg(const char *out, const char *state, int force, ao_err *e)
{
    char *runs[3];
    const char *rr[3];
    int i, rc;
    runs[0] = pathf("%s/runs/%s", "iter1");
    runs[1] = pathf("%s/runs/%s/", "iter2");   /* a trailing slash is fine */
    runs[2] = pathf("%s/runs/%s", "iter3");
    for (i = 0; i < 3; i++) rr[i] = runs[i];
    {
        char *st = pathf("%s/%s", state);
        ao_package_opts o = {st, rr, 3, out, force, NULL, 0, NULL, 1};
        ao_err_init(e);
        rc = ao_package_write(&o, e);
        free(st);
    }
    for (i = 0; i < 3; i++) free(runs[i]);
    return rc;
}

static void test_write(void)
{
    char *out1 = pathf("%s/%s", "a.tar.gz"), *out2 = pathf("%s/%s", "b.tar.gz"), *b1, *b2, *txt;
    size_t n1 = 0, n2 = 0, n;
    ao_err e;
    ao_pkg_tmp *t;
    json_t *m, *files;
    char hex[65], *p;

    CHECK(write_pkg(out1, "state", 0, &e) == AO_OK, "package written (%s)", e.msg);
    CHECK(write_pkg(out2, "state", 0, &e) == AO_OK, "package written again");
    b1 = slurp(out1, &n1);
    b2 = slurp(out2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "two writes give identical bytes (%zu, %zu)", n1, n2);
    CHECK(b1 && n1 > 10 && (unsigned char)b1[0] == 0x1f && (unsigned char)b1[1] == 0x8b, "gzip stream");
    CHECK(b1 && n1 > 10 && !b1[4] && !b1[5] && !b1[6] && !b1[7] && !(b1[3] & 0x08), "gzip header: no mtime, no name");
    free(b1);
    free(b2);
    CHECK(write_pkg(out1, "state", 0, &e) == AO_EUSAGE && strstr(e.msg, "--force"), "existing output refused without force");
    CHECK(write_pkg(out1, "state", 1, &e) == AO_OK, "existing output replaced with force");
    CHECK(count_entries(root) == 6, "no temporary file left beside the output");

    ao_err_init(&e);
    t = ao_package_open(out1, &e);
    CHECK(t != NULL, "own package opens (%s)", e.msg);
    if (!t) return;
    m = t->manifest;
    files = json_object_get(m, "files");
    CHECK(json_integer_value(json_object_get(m, "format_version")) == 1, "manifest format_version 1");
    CHECK(strcmp(json_string_value(json_object_get(m, "tool")), "agentomics " AO_VERSION) == 0, "manifest tool");
    CHECK(strncmp(json_string_value(json_object_get(m, "dataset_hash")), "0000", 4) == 0, "dataset hash from run.json");
    CHECK(strcmp(json_string_value(json_object_get(m, "task")), "binary") == 0, "task");
    CHECK(json_array_size(json_object_get(m, "classes")) == 2 &&
          strcmp(json_string_value(json_array_get(json_object_get(m, "classes"), 1)), "pos") == 0, "classes from dataset.json");
    CHECK(json_integer_value(json_object_get(m, "best_iteration")) == 2, "best iteration 2");
    CHECK(strcmp(json_string_value(json_object_get(m, "metric")), "auroc") == 0, "metric");
    CHECK(json_real_value(json_object_get(json_object_get(m, "validation_metrics"), "auroc")) == 0.83, "validation auroc");
    CHECK(!json_object_get(json_object_get(m, "validation_metrics"), "wall_seconds"), "no clock in validation metrics");
    CHECK(json_integer_value(json_object_get(json_object_get(m, "recipe"), "epochs")) == 5, "recipe from model/recipe.json");
    CHECK(strcmp(json_string_value(json_object_get(m, "model_entry")), "model/") == 0, "model entry");
    CHECK(json_object_size(files) == 8, "8 files listed (%zu)", json_object_size(files));
    sha_hex_of("AOM binary model two\n", 21, hex);
    CHECK(json_string_value(json_object_get(files, "model/model.aom")) &&
          strcmp(json_string_value(json_object_get(files, "model/model.aom")), hex) == 0, "sha256 of model/model.aom");
    CHECK(json_object_get(files, "model/sub/extra.bin") && json_object_get(files, "recipe.json") &&
          json_object_get(files, "history.json") && json_object_get(files, "report.md") &&
          json_object_get(files, "environment.json") && !json_object_get(files, "manifest.json"), "members listed");

    p = ao_path_join(t->model_dir, "sub/extra.bin");
    txt = slurp(p, &n);
    CHECK(txt && strcmp(txt, "extra bytes\n") == 0, "nested model file extracted");
    free(txt);
    free(p);
    p = ao_path_join(t->model_dir, "long_name_0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789.txt");
    txt = slurp(p, &n);
    CHECK(txt && strcmp(txt, "long\n") == 0, "member with a long name (pax header) extracted");
    free(txt);
    free(p);
    p = ao_path_join(t->dir, "history.json");
    txt = slurp(p, &n);
    CHECK(txt && !strstr(txt, "seconds") && !strstr(txt, "peak_rss") && !strstr(txt, "started") && strstr(txt, "\"iter2\""),
          "history without wall-clock fields");
    free(txt);
    free(p);
    p = ao_path_join(t->dir, "report.md");
    txt = slurp(p, &n);
    CHECK(txt && strstr(txt, "| **2** | iter2 | cnn | ok | 0.8000 | 0.8300 |") && strstr(txt, "| 1 | iter1 | logreg |") &&
          strstr(txt, "the run crashed") && strstr(txt, "plateau"), "report: table, best, last feedback");
    CHECK(txt && strstr(txt, "| 3 | iter3 | gbdt | failed | - |"), "report: failed iteration row");
    free(txt);
    free(p);
    p = ao_path_join(t->dir, "environment.json");
    txt = slurp(p, &n);
    CHECK(txt && strstr(txt, "\"model_kind\": \"cnn\"") && strstr(txt, "\"runtime\": \"builtin\""), "environment.json");
    free(txt);
    free(p);
    p = strdup(t->dir);
    ao_pkg_tmp_destroy(t);
    CHECK(!ao_file_exists(p), "cleanup removes the temporary directory");
    free(p);
    ao_pkg_tmp_destroy(NULL);

    {   /* ao_model_path_resolve: directory as is, archive extracted */
        char *dir = NULL, *md = pathf("%s/runs/%s/model", "iter2");
        ao_pkg_tmp *tt = NULL;
        ao_err_init(&e);
        CHECK(ao_model_path_resolve(md, &dir, &tt, &e) == AO_OK && dir && strcmp(dir, md) == 0 && !tt, "resolve: a directory");
        free(dir);
        dir = NULL;
        CHECK(ao_model_path_resolve(out1, &dir, &tt, &e) == AO_OK && dir && tt && ao_is_dir(dir), "resolve: an archive");
        ao_pkg_tmp_destroy(tt);
        free(dir);
        dir = NULL;
        CHECK(ao_model_path_resolve("/nonexistent/m.tar.gz", &dir, &tt, &e) == AO_EIO && !dir && !tt, "resolve: missing file is I/O");
        free(md);
    }
    CHECK(count_entries(tmpdir) == 0, "nothing left in TMPDIR");
    free(out1);
    free(out2);
}

static void test_write_errors(void)
{
    char *out = pathf("%s/%s", "err.tar.gz");
    ao_err e;
    char *run = run_json("/nonexistent", "abcd");
    put("state2/run.json", run);
    free(run);
    put("state2/history.json", "{\"format_version\": 2, \"split\": null, \"iterations\": [], \"best\": null}");
    CHECK(write_pkg(out, "state2", 0, &e) == AO_EDATA && strstr(e.msg, "no best iteration"), "no best: data error (%s)", e.msg);
    put("state2/history.json", "{\"format_version\": 2, \"split\": null, \"best\": {\"iteration\": 1, \"run_id\": \"iter9\", \"metric\": \"auroc\", "
        "\"value\": 0.5, \"split_version\": 0}, \"iterations\": [{\"iteration\": 1, \"split_version\": 0, \"steps\": {}, "
        "\"run\": {\"run_id\": \"iter9\", \"status\": \"ok\", \"metrics\": {}}}]}");
    CHECK(write_pkg(out, "state2", 0, &e) == AO_EDATA && strstr(e.msg, "not among --runs"), "best run not given: data error (%s)", e.msg);
    put("state2/history.json", HISTORY_WITH("{\"iteration\": 3, \"run_id\": \"iter3\", \"metric\": \"auroc\", \"value\": 0.5, \"split_version\": 1}", "{\"reason\": \"plateau\", \"iteration\": 3}"));
    CHECK(write_pkg(out, "state2", 0, &e) == AO_EDATA && strstr(e.msg, "status 'failed'"), "failed best run: data error (%s)", e.msg);
    put("state2/history.json", HISTORY_WITH("{\"iteration\": 1, \"run_id\": \"iter1\", \"metric\": \"auroc\", \"value\": 0.75, \"split_version\": 1}", "{\"reason\": \"plateau\", \"iteration\": 3}"));
    CHECK(write_pkg(out, "state2", 0, &e) == AO_EDATA && strstr(e.msg, "no class list"), "no class list: data error (%s)", e.msg);
    put("state2/history.json", "{\"iterations\": [");
    CHECK(write_pkg(out, "state2", 0, &e) == AO_EDATA, "malformed history: data error");
    CHECK(write_pkg(out, "nostate", 0, &e) == AO_EIO, "missing state: I/O error");
    CHECK(!ao_file_exists(out), "no output after errors");
    free(out);
}

/* ---- crafted archives ------------------------------------------------ */

typedef struct centry {
    const char *name;
    int type;            /* AE_IFREG, AE_IFLNK, AE_IFCHR, AE_IFIFO, AE_IFDIR; 1 = hard link */
    const char *data;    /* content, or the link target */
} centry;

/* The manifest text for the regular entries (data hashed; listed = all
 * regular entries whose names don't start with '!'), with format_version
 * fv; extra: a "name" to list although the archive lacks it. */
static char *manifest_for(const centry *ents, int n, int fv, const char *extra)
{
    json_t *m = json_object(), *files = json_object();
    char hex[65], *s;
    int i;
    for (i = 0; i < n; i++)
        if (ents[i].type == AE_IFREG) {
            sha_hex_of(ents[i].data, strlen(ents[i].data), hex);
            json_object_set_new(files, ents[i].name, json_string(hex));
        }
    if (extra) {
        sha_hex_of("", 0, hex);
        json_object_set_new(files, extra, json_string(hex));
    }
    json_object_set_new(m, "format_version", json_integer(fv));
    json_object_set_new(m, "model_entry", json_string("model/"));
    json_object_set_new(m, "files", files);
    s = json_dumps(m, JSON_SORT_KEYS);
    json_decref(m);
    return s;
}

static void add_entry(struct archive *a, const char *name, int type, const char *data)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mtime(e, 0, 0);
    if (type == 1) {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_hardlink(e, data);
        archive_entry_set_size(e, 0);
    } else if (type == AE_IFLNK) {
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_perm(e, 0777);
        archive_entry_set_symlink(e, data);
    } else if (type == AE_IFREG) {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(data));
    } else {
        archive_entry_set_filetype(e, (unsigned)type);
        archive_entry_set_perm(e, 0755);
        if (type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) { fprintf(stderr, "craft: %s\n", archive_error_string(a)); abort(); }
    if (type == AE_IFREG && *data) archive_write_data(a, data, strlen(data));
    archive_entry_free(e);
}

/* Writes a gzip (or plain) tar: an optional manifest first, then ents;
 * tamper: index of a regular entry whose bytes are changed after hashing. */
static char *craft(const char *file, const char *manifest, const centry *ents, int n, int tamper, int gz)
{
    char *path = pathf("%s/%s", file);
    struct archive *a = archive_write_new();
    int i;
    archive_write_set_format_pax_restricted(a);
    if (gz) archive_write_add_filter_gzip(a);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK) abort();
    if (manifest) add_entry(a, "manifest.json", AE_IFREG, manifest);
    for (i = 0; i < n; i++) {
        if (i == tamper) {
            char *d = strdup(ents[i].data);
            d[0] ^= 1;
            add_entry(a, ents[i].name, ents[i].type, d);
            free(d);
        } else {
            add_entry(a, ents[i].name, ents[i].type, ents[i].data);
        }
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
}

/* Expects ao_package_open to refuse path with AO_EDATA and a message
 * containing want, leaving nothing in TMPDIR. */
static void refuse(const char *what, const char *path, const char *want)
{
    ao_err e;
    ao_pkg_tmp *t;
    ao_err_init(&e);
    t = ao_package_open(path, &e);
    CHECK(!t && e.code == AO_EDATA && strstr(e.msg, want), "%s: refused (%s)", what, e.msg);
    if (!(!t && e.code == AO_EDATA && strstr(e.msg, want))) printf("#   expected message with '%s'\n", want);
    ao_pkg_tmp_destroy(t);
    CHECK(count_entries(tmpdir) == 0, "%s: temporary directory removed", what);
}

static void test_refusals(void)
{
    const centry good[] = {{"model/model.aom", AE_IFREG, "weights"}, {"report.md", AE_IFREG, "# r\n"}};
    char *man = manifest_for(good, 2, 1, NULL), *p, *man2;
    ao_pkg_tmp *t;
    ao_err e;

    p = craft("good.tar.gz", man, good, 2, -1, 1);
    ao_err_init(&e);
    t = ao_package_open(p, &e);
    CHECK(t != NULL, "crafted good archive opens (%s)", e.msg);
    ao_pkg_tmp_destroy(t);
    free(p);
    p = craft("good.tar", man, good, 2, -1, 0);
    ao_err_init(&e);
    t = ao_package_open(p, &e);
    CHECK(t != NULL, "uncompressed tar opens too (%s)", e.msg);
    ao_pkg_tmp_destroy(t);
    free(p);

    p = craft("tampered.tar.gz", man, good, 2, 0, 1);
    refuse("tampered member", p, "tampered member 'model/model.aom'");
    free(p);
    {
        /* a decompression bomb: 3 MB of zeros (a few KB compressed) against a 1 MB cap */
        char *zeros = malloc(3u << 20), *bman;
        if (zeros) {
            memset(zeros, '0', (3u << 20) - 1);
            zeros[(3u << 20) - 1] = '\0';
            {
                const centry bomb[] = {{"model/model.aom", AE_IFREG, zeros}, {"report.md", AE_IFREG, "# r\n"}};
                bman = manifest_for(bomb, 2, 1, NULL);
                p = craft("bomb.tar.gz", bman, bomb, 2, -1, 1);
                setenv("AGENTOMICS_MAX_EXTRACT_MB", "1", 1);
                refuse("a package that unpacks past the extraction cap", p, "unpacks to more than 1 MB");
                unsetenv("AGENTOMICS_MAX_EXTRACT_MB");
                ao_err_init(&e);
                t = ao_package_open(p, &e);
                CHECK(t != NULL, "the same package opens under the default cap (%s)", e.msg);
                ao_pkg_tmp_destroy(t);
                free(p);
                free(bman);
            }
            free(zeros);
        }
    }
    {
        const centry ents[] = {{"model/model.aom", AE_IFREG, "weights"}, {"report.md", AE_IFREG, "# r\n"}, {"/tmp/agentomics-evil", AE_IFREG, "x"}};
        p = craft("abs.tar.gz", man, ents, 3, -1, 1);
        refuse("absolute path", p, "absolute path");
        free(p);
        CHECK(!ao_file_exists("/tmp/agentomics-evil"), "absolute path: nothing written outside");
    }
    {
        const centry ents[] = {{"model/../../agentomics-evil", AE_IFREG, "x"}};
        man2 = manifest_for(good, 0, 1, NULL);
        p = craft("dotdot.tar.gz", man2, ents, 1, -1, 1);
        refuse("'..' path", p, "'..' path component");
        free(p);
        free(man2);
    }
    {
        const centry ents[] = {{"model/model.aom", AE_IFREG, "weights"}, {"model/link", AE_IFLNK, "/etc/passwd"}};
        p = craft("symlink.tar.gz", man, ents, 2, -1, 1);
        refuse("symlink member", p, "symbolic link");
        free(p);
    }
    {
        const centry ents[] = {{"model/model.aom", AE_IFREG, "weights"}, {"model/hard", 1, "model/model.aom"}};
        p = craft("hardlink.tar.gz", man, ents, 2, -1, 1);
        refuse("hardlink member", p, "hard link");
        free(p);
    }
    {
        const centry ents[] = {{"model/model.aom", AE_IFREG, "weights"}, {"model/null", AE_IFCHR, ""}};
        p = craft("device.tar.gz", man, ents, 2, -1, 1);
        refuse("device member", p, "a device");
        free(p);
    }
    {
        const centry ents[] = {{"model/fifo", AE_IFIFO, ""}};
        p = craft("fifo.tar.gz", man, ents, 1, -1, 1);
        refuse("fifo member", p, "fifo");
        free(p);
    }
    {
        man2 = manifest_for(good, 2, 2, NULL);
        p = craft("version.tar.gz", man2, good, 2, -1, 1);
        refuse("unknown format version", p, "unknown package format_version 2");
        free(p);
        free(man2);
    }
    p = craft("nomanifest.tar.gz", NULL, good, 2, -1, 1);
    refuse("missing manifest", p, "missing manifest.json");
    free(p);
    p = craft("empty.tar.gz", NULL, good, 0, -1, 1);
    refuse("empty archive", p, "missing manifest.json");
    free(p);
    {
        const centry ents[] = {{"model/model.aom", AE_IFREG, "weights"}, {"report.md", AE_IFREG, "# r\n"}, {"model/extra", AE_IFREG, "x"}};
        p = craft("unlisted.tar.gz", man, ents, 3, -1, 1);
        refuse("unlisted member", p, "not listed in the manifest");
        free(p);
    }
    {
        man2 = manifest_for(good, 2, 1, "model/gone.bin");
        p = craft("lacking.tar.gz", man2, good, 2, -1, 1);
        refuse("listed member missing", p, "which the archive lacks");
        free(p);
        free(man2);
    }
    {
        const centry ents[] = {{"model/model.aom", AE_IFREG, "weights"}, {"report.md", AE_IFREG, "# r\n"}, {"model/model.aom", AE_IFREG, "weights"}};
        p = craft("dup.tar.gz", man, ents, 3, -1, 1);
        refuse("duplicate member", p, "appears twice");
        free(p);
    }
    p = craft("badjson.tar.gz", "{\"format_version\": 1,", good, 2, -1, 1);
    refuse("malformed manifest", p, "manifest.json:1:");
    free(p);
    put("notanarchive.tar.gz", "just some text, not an archive\n");
    p = pathf("%s/%s", "notanarchive.tar.gz");
    refuse("not an archive", p, "corrupt or truncated");
    free(p);
    free(man);
}

static char *gunzip(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    int got;
    *len = 0;
    if (!gz) return NULL;
    for (;;) {
        if (*len + 65536 > cap && !(buf = realloc(buf, cap = cap * 2 + 65536))) abort();
        if ((got = gzread(gz, buf + *len, 65536)) <= 0) break;
        *len += (size_t)got;
    }
    gzclose(gz);
    return buf;
}

static int same_gunzip(const char *a, const char *b)
{
    size_t na, nb;
    char *x = gunzip(a, &na), *y = gunzip(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Every truncation and a flipped byte of a real package are refused. */
static void test_truncated(void)
{
    char *src = pathf("%s/%s", "a.tar.gz"), *dst = pathf("%s/%s", "cut.tar.gz"), *b;
    size_t n = 0, cut;
    int bad = 0, tried = 0;
    b = slurp(src, &n);
    if (!b) { CHECK(0, "package to truncate"); return; }
    for (cut = 0; cut < n; cut += (cut < 64 || cut + 64 > n) ? 1 : 37) {
        FILE *fp = fopen(dst, "wb");
        ao_err e;
        ao_pkg_tmp *t;
        fwrite(b, 1, cut, fp);
        fclose(fp);
        ao_err_init(&e);
        t = ao_package_open(dst, &e);
        tried++;
        if (t || e.code != AO_EDATA) {
            if (!bad) printf("#   cut at %zu of %zu: %s\n", cut, n, t ? "accepted" : e.msg);
            bad++;
        }
        ao_pkg_tmp_destroy(t);
    }
    CHECK(bad == 0, "every truncation refused as a data error (%d of %d accepted)", bad, tried);
    refuse("truncated archive (last one)", dst, "");
    {
        size_t i;
        int flips = 0;
        bad = 0;
        for (i = 20; i + 8 < n; i += 31) {   /* inside the deflate stream */
            FILE *fp = fopen(dst, "wb");
            ao_err e;
            ao_pkg_tmp *t;
            b[i] ^= 0x20;
            fwrite(b, 1, n, fp);
            fclose(fp);
            b[i] ^= 0x20;
            ao_err_init(&e);
            t = ao_package_open(dst, &e);
            flips++;
            /* deflate has a few don't-care bits (e.g. padding after the
             * last block): a flip there changes nothing and may pass */
            if ((t || e.code != AO_EDATA) && !same_gunzip(src, dst)) { bad++; printf("#   flip at %zu of %zu accepted\n", i, n); }
            ao_pkg_tmp_destroy(t);
        }
        CHECK(bad == 0, "every flipped byte refused (%d of %d accepted)", bad, flips);
    }
    CHECK(count_entries(tmpdir) == 0, "nothing left in TMPDIR after corrupt archives");
    free(b);
    free(src);
    free(dst);
}

static void test_clock_keys(void)
{
    json_t *j = json_loads("{\"a\": {\"wall_seconds\": 1, \"train_seconds\": 2, \"b\": [{\"duration\": 3, \"c\": 4}]}, \"seconds\": 5, \"peak_rss_mb\": 6, \"finished\": \"x\", \"keep\": 7}", 0, NULL);
    char *s;
    ao_package_strip_clock(j);
    s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    CHECK(s && strcmp(s, "{\"a\":{\"b\":[{\"c\":4}]},\"keep\":7}") == 0, "clock keys stripped at any depth (%s)", s);
    free(s);
    json_decref(j);
    CHECK(ao_package_is_clock_key("train_seconds") && !ao_package_is_clock_key("seconds_x") && !ao_package_is_clock_key(NULL),
          "clock key names");
}

int main(void)
{
    char tmpl[] = "/tmp/agentomics-test-package.XXXXXX";
    const char *base = getenv("TMPDIR");
    char *t = NULL;
    if (asprintf(&t, "%s/agentomics-test-package.XXXXXX", base && *base ? base : "/tmp") < 0) return 1;
    root = mkdtemp(t);
    if (!root) root = mkdtemp(tmpl);
    if (!root) return 1;
    tmpdir = pathf("%s/%s", "tmp");
    if (ao_mkdir_p(tmpdir, NULL) < 0) return 1;
    setenv("TMPDIR", tmpdir, 1);
    make_state();
    test_clock_keys();
    test_write();
    test_write_errors();
    test_refusals();
    test_truncated();
    ao_rm_rf(root);
    free(tmpdir);
    free(t);
    return UNIT_DONE();
}
