/* package.c — the model package (see package.h): a byte-reproducible
 * tar.gz of the best iteration, and its verified extraction. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "agentomics/data.h"
#include "agentomics/ensemble.h"
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/log.h"
#include "agentomics/model.h"
#include "agentomics/package.h"
#include "agentomics/runstate.h"

#define PKG_MANIFEST "manifest.json"
#define PKG_MODEL_ENTRY "model/"
#define PKG_MANIFEST_MAX (64u << 20)   /* a manifest larger than this is not ours */
#define PKG_BUF 65536

/* ====================================================================== */
/* JSON helpers                                                           */
/* ====================================================================== */

int ao_package_is_clock_key(const char *key)
{
    static const char *exact[] = {"seconds", "duration", "started", "finished", "started_at", "finished_at",
                                  "timestamp", "peak_rss_mb", "peak_rss_kb", NULL};
    size_t n, i;
    if (!key) return 0;
    for (i = 0; exact[i]; i++)
        if (strcmp(key, exact[i]) == 0) return 1;
    n = strlen(key);
    return n > 8 && strcmp(key + n - 8, "_seconds") == 0;
}

void ao_package_strip_clock(json_t *j)
{
    if (json_is_object(j)) {
        const char *k;
        json_t *v, *tmp;
        json_object_foreach_safe(j, tmp, k, v) {
            if (ao_package_is_clock_key(k)) json_object_del(j, k);
            else ao_package_strip_clock(v);
        }
    } else if (json_is_array(j)) {
        size_t i;
        for (i = 0; i < json_array_size(j); i++) ao_package_strip_clock(json_array_get(j, i));
    }
}

/* Sorted keys, two-space indent, trailing newline; *len gets the size. */
static char *dump_json(const json_t *j, size_t *len, ao_err *err)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS), *r;
    size_t n;
    if (!s) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    n = strlen(s);
    if (!(r = realloc(s, n + 2))) { free(s); ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    r[n] = '\n';
    r[n + 1] = '\0';
    *len = n + 1;
    return r;
}

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ====================================================================== */
/* Members of the archive being written                                   */
/* ====================================================================== */

typedef struct member {
    char *name;     /* path inside the archive */
    char *src;      /* file copied from disk, or NULL */
    char *data;     /* in-memory content when src is NULL */
    size_t len;
    char hex[65];
} member;

typedef struct memberlist {
    member *m;
    size_t n, cap;
} memberlist;

static void memberlist_free(memberlist *ml)
{
    size_t i;
    for (i = 0; i < ml->n; i++) {
        free(ml->m[i].name);
        free(ml->m[i].src);
        free(ml->m[i].data);
    }
    free(ml->m);
    ml->m = NULL;
    ml->n = ml->cap = 0;
}

static void sha_hex(const void *data, size_t len, char hex[65])
{
    ao_sha256 h;
    unsigned char d[32];
    ao_sha256_init(&h);
    ao_sha256_update(&h, data, len);
    ao_sha256_final(&h, d);
    ao_sha256_hex(d, hex);
}

static int hash_file(const char *path, char hex[65], size_t *len, ao_err *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    ao_sha256 h;
    unsigned char d[32];
    size_t got, n = 0;
    if (!fp) return ao_err_set(err, AO_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (!(buf = malloc(PKG_BUF))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    ao_sha256_init(&h);
    while ((got = fread(buf, 1, PKG_BUF, fp)) > 0) {
        ao_sha256_update(&h, buf, got);
        n += got;
    }
    if (ferror(fp)) { ao_err_set(err, AO_EIO, "%s: read error", path); goto ERROR; }
    ao_sha256_final(&h, d);
    ao_sha256_hex(d, hex);
    *len = n;
    free(buf);
    fclose(fp);
    return AO_OK;
ERROR:
    free(buf);
    fclose(fp);
    return err->code;
}

/* Adds a member; takes ownership of data (in-memory) whatever happens. */
static int member_add(memberlist *ml, const char *name, const char *src, char *data, size_t len, ao_err *err)
{
    member *m;
    if (ml->n == ml->cap) {
        size_t ncap = ml->cap ? ml->cap * 2 : 16;
        member *nm = realloc(ml->m, ncap * sizeof *nm);
        if (!nm) goto ERROR_MEM;
        ml->m = nm;
        ml->cap = ncap;
    }
    m = &ml->m[ml->n];
    memset(m, 0, sizeof *m);
    if (!(m->name = strdup(name))) goto ERROR_MEM;
    if (src) {
        if (!(m->src = strdup(src))) { free(m->name); goto ERROR_MEM; }
        if (hash_file(src, m->hex, &m->len, err) < 0) { free(m->name); free(m->src); goto ERROR; }
        free(data);
    } else {
        m->data = data;
        m->len = len;
        sha_hex(data, len, m->hex);
    }
    ml->n++;
    return AO_OK;
ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory");
ERROR:
    free(data);
    return err->code;
}

static int member_add_json(memberlist *ml, const char *name, const json_t *j, ao_err *err)
{
    size_t len;
    char *s = dump_json(j, &len, err);
    if (!s) return err->code;
    return member_add(ml, name, NULL, s, len, err);
}

static int member_cmp(const void *a, const void *b)
{
    return strcmp(((const member *)a)->name, ((const member *)b)->name);
}

/* Every regular file below dir, as prefix + relative path. Symlinks and
 * special files are errors: a package holds regular files only, and a
 * link could smuggle in a file from outside the model. */
static int collect_dir(memberlist *ml, const char *dir, const char *prefix, ao_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *path = NULL, *name = NULL;
    if (!d) return ao_err_set(err, AO_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    while ((errno = 0, de = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (!(path = ao_path_join(dir, de->d_name)) || asprintf(&name, "%s%s", prefix, de->d_name) < 0) {
            name = NULL;
            ao_err_set(err, AO_EMEM, "out of memory");
            goto ERROR;
        }
        if (lstat(path, &st) != 0) { ao_err_set(err, AO_EIO, "%s: %s", path, strerror(errno)); goto ERROR; }
        if (S_ISDIR(st.st_mode)) {
            char *sub = NULL;
            if (asprintf(&sub, "%s/", name) < 0) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
            if (collect_dir(ml, path, sub, err) < 0) { free(sub); goto ERROR; }
            free(sub);
        } else if (S_ISREG(st.st_mode)) {
            if (member_add(ml, name, path, NULL, 0, err) < 0) goto ERROR;
        } else {
            ao_err_set(err, AO_EDATA, "%s: not a regular file (a model package holds regular files only)", path);
            goto ERROR;
        }
        free(path);
        free(name);
        path = name = NULL;
    }
    if (errno != 0) { ao_err_set(err, AO_EIO, "%s: cannot read directory: %s", dir, strerror(errno)); goto ERROR; }
    closedir(d);
    return AO_OK;
ERROR:
    free(path);
    free(name);
    closedir(d);
    return err->code;
}

/* ====================================================================== */
/* Writing the archive                                                    */
/* ====================================================================== */

static int write_member(struct archive *a, const member *m, const char *out, char *buf, ao_err *err)
{
    struct archive_entry *e = archive_entry_new();
    FILE *fp = NULL;
    if (!e) return ao_err_set(err, AO_EMEM, "out of memory");
    archive_entry_set_pathname(e, m->name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)m->len);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (archive_write_header(a, e) != ARCHIVE_OK) {
        ao_err_set(err, AO_EIO, "%s: cannot write member %s: %s", out, m->name, archive_error_string(a));
        goto ERROR;
    }
    if (m->src) {
        /* Stream the file, checking it still is what was hashed. */
        ao_sha256 h;
        unsigned char d[32];
        char hex[65];
        size_t got, n = 0;
        if (!(fp = fopen(m->src, "rb"))) { ao_err_set(err, AO_EIO, "%s: cannot open: %s", m->src, strerror(errno)); goto ERROR; }
        ao_sha256_init(&h);
        while ((got = fread(buf, 1, PKG_BUF, fp)) > 0) {
            if (n + got > m->len) break;
            ao_sha256_update(&h, buf, got);
            if (archive_write_data(a, buf, got) != (la_ssize_t)got) {
                ao_err_set(err, AO_EIO, "%s: cannot write member %s: %s", out, m->name, archive_error_string(a));
                goto ERROR;
            }
            n += got;
        }
        if (ferror(fp)) { ao_err_set(err, AO_EIO, "%s: read error", m->src); goto ERROR; }
        ao_sha256_final(&h, d);
        ao_sha256_hex(d, hex);
        if (n != m->len || got > 0 || strcmp(hex, m->hex) != 0) {
            ao_err_set(err, AO_EIO, "%s: changed while it was being packaged", m->src);
            goto ERROR;
        }
        fclose(fp);
        fp = NULL;
    } else if (m->len > 0 && archive_write_data(a, m->data, m->len) != (la_ssize_t)m->len) {
        ao_err_set(err, AO_EIO, "%s: cannot write member %s: %s", out, m->name, archive_error_string(a));
        goto ERROR;
    }
    if (archive_write_finish_entry(a) != ARCHIVE_OK) {
        ao_err_set(err, AO_EIO, "%s: cannot write member %s: %s", out, m->name, archive_error_string(a));
        goto ERROR;
    }
    archive_entry_free(e);
    return AO_OK;
ERROR:
    if (fp) fclose(fp);
    archive_entry_free(e);
    return err->code;
}

/* ustar headers (pax records only where ustar cannot say it, e.g. paths
 * over 100 bytes), gzip without timestamp or name, no padding after the
 * compressed stream. */
static int write_archive(FILE *fp, const char *out, const member *manifest, const memberlist *ml, ao_err *err)
{
    struct archive *a = archive_write_new();
    char *buf = malloc(PKG_BUF);
    size_t i;
    if (!a || !buf) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
        ao_err_set(err, AO_EINTERNAL, "libarchive cannot write reproducible tar.gz: %s", archive_error_string(a));
        goto ERROR;
    }
    if (archive_write_open_FILE(a, fp) != ARCHIVE_OK) {
        ao_err_set(err, AO_EIO, "%s: %s", out, archive_error_string(a));
        goto ERROR;
    }
    if (write_member(a, manifest, out, buf, err) < 0) goto ERROR;
    for (i = 0; i < ml->n; i++)
        if (write_member(a, &ml->m[i], out, buf, err) < 0) goto ERROR;
    if (archive_write_close(a) != ARCHIVE_OK) {
        ao_err_set(err, AO_EIO, "%s: %s", out, archive_error_string(a));
        goto ERROR;
    }
    archive_write_free(a);
    free(buf);
    return AO_OK;
ERROR:
    if (a) archive_write_free(a);
    free(buf);
    return err->code;
}

/* ====================================================================== */
/* What goes into the package                                             */
/* ====================================================================== */

/* Everything ao_package_write gathers, freed in one place. */
typedef struct pkg {
    const ao_package_opts *o;
    ao_run_config run;
    ao_history hist;
    json_t *metrics, *dataset, *recipe;
    json_t **run_metrics;     /* metrics.json of each --runs directory (or NULL) */
    const char *best_dir;     /* one of o->run_dirs */
    const char *run_id;
    long long best_iter;
    const char *metric;
    json_t *classes;          /* borrowed */
    const char *task;
    const char *dataset_hash;
    char *model_dir, *history_path, *run_path;
    memberlist ml;
    json_t *ensemble;         /* the ensemble decision (manifest "ensemble") */
    int n_members;            /* > 0: package these model directories as an ensemble */
    char *member_dir[AO_ENSEMBLE_MAX_MEMBERS];
} pkg;

static void pkg_free(pkg *p)
{
    int i;
    ao_run_config_clear(&p->run);
    ao_history_clear(&p->hist);
    json_decref(p->metrics);
    json_decref(p->dataset);
    json_decref(p->recipe);
    if (p->run_metrics)
        for (i = 0; i < p->o->n_runs; i++) json_decref(p->run_metrics[i]);
    free(p->run_metrics);
    free(p->model_dir);
    free(p->history_path);
    free(p->run_path);
    memberlist_free(&p->ml);
    json_decref(p->ensemble);
    for (i = 0; i < p->n_members; i++) free(p->member_dir[i]);
}

/* basename of a directory path, ignoring trailing slashes: [*b, *b + *n) */
static void dir_basename(const char *path, const char **b, size_t *n)
{
    size_t len = strlen(path);
    const char *s;
    while (len > 1 && path[len - 1] == '/') len--;
    for (s = path + len; s > path && s[-1] != '/'; s--) {}
    *b = s;
    *n = (size_t)(path + len - s);
}

static int run_index(const pkg *p, const char *run_id)
{
    int i;
    if (!run_id) return -1;
    for (i = 0; i < p->o->n_runs; i++) {
        const char *b;
        size_t n;
        dir_basename(p->o->run_dirs[i], &b, &n);
        if (n == strlen(run_id) && memcmp(b, run_id, n) == 0) return i;
    }
    return -1;
}

/* metrics.json of each run directory that has one (missing ones are only
 * an error for the best run). */
static int load_run_metrics(pkg *p, ao_err *err)
{
    int i;
    if (!(p->run_metrics = calloc((size_t)p->o->n_runs, sizeof *p->run_metrics)))
        return ao_err_set(err, AO_EMEM, "out of memory");
    for (i = 0; i < p->o->n_runs; i++) {
        char *path = ao_path_join(p->o->run_dirs[i], "metrics.json");
        json_error_t je;
        if (!path) return ao_err_set(err, AO_EMEM, "out of memory");
        p->run_metrics[i] = json_load_file(path, 0, &je);
        if (!p->run_metrics[i] && ao_file_exists(path)) {
            ao_err_set(err, AO_EDATA, "%s:%d: %s", path, je.line, je.text);
            free(path);
            return err->code;
        }
        free(path);
    }
    return AO_OK;
}

static int find_best(pkg *p, ao_err *err)
{
    const char *status;
    char *mpath = NULL;
    int idx;
    if (!p->hist.best.iteration)
        return ao_err_set(err, AO_EDATA, "%s: no best iteration (no run has succeeded yet): nothing to package", p->history_path);
    p->run_id = p->hist.best.run_id;
    p->best_iter = p->hist.best.iteration;
    p->metric = p->hist.best.metric;
    if ((idx = run_index(p, p->run_id)) < 0)
        return ao_err_set(err, AO_EDATA, "%s: the best run '%s' (iteration %lld) is not among --runs", p->history_path,
                          p->run_id, p->best_iter);
    p->best_dir = p->o->run_dirs[idx];
    if (!(mpath = ao_path_join(p->best_dir, "metrics.json"))) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!p->run_metrics[idx]) {
        ao_err_set(err, AO_EDATA, "%s: missing: the best run did not finish", mpath);
        goto ERROR;
    }
    p->metrics = json_incref(p->run_metrics[idx]);
    status = jstr(p->metrics, "status");
    if (!status || (strcmp(status, "ok") != 0 && strcmp(status, "time_limit") != 0 && strcmp(status, "diverged") != 0)) {
        ao_err_set(err, AO_EDATA, "%s: the best run has status '%s', not a usable model", mpath, status ? status : "(none)");
        goto ERROR;
    }
    if (!json_is_object(json_object_get(p->metrics, "valid"))) {
        ao_err_set(err, AO_EDATA, "%s: no validation metrics ('valid')", mpath);
        goto ERROR;
    }
    if (!(p->model_dir = ao_path_join(p->best_dir, "model"))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!ao_is_dir(p->model_dir)) {
        ao_err_set(err, AO_EDATA, "%s: the best run has no model directory", p->model_dir);
        goto ERROR;
    }
    free(mpath);
    return AO_OK;
ERROR:
    free(mpath);
    return err->code;
}

/* Class list: the dataset's dataset.json, else the scorer's
 * metrics.json valid.classes, else the model's recipe.json. */
static int find_classes(pkg *p, ao_err *err)
{
    const char *dir = p->o->data_dir ? p->o->data_dir : p->run.data_dir;
    size_t i;
    /* a directory given explicitly must be the run's dataset; run.json's
     * data.dir is only where the run started (a workflow engine stages
     * it under another name), so there a missing file is a warning */
    if (p->o->data_dir && ao_run_config_check_data(&p->run, p->o->data_dir, err) < 0) return err->code;
    if (dir) {
        char *path = ao_path_join(dir, "dataset.json");
        json_error_t je;
        if (!path) return ao_err_set(err, AO_EMEM, "out of memory");
        p->dataset = json_load_file(path, 0, &je);
        if (!p->dataset && ao_file_exists(path)) {
            ao_err_set(err, AO_EDATA, "%s:%d: %s", path, je.line, je.text);
            free(path);
            return err->code;
        }
        if (!p->dataset) ao_warn("%s: not found; taking the class list from the best run, and the package will lack "
                                 "the positive class and sequence columns (give --data AGENTDIR)", path);
        free(path);
    }
    p->classes = json_object_get(p->dataset, "classes");
    if (!json_is_array(p->classes)) p->classes = json_object_get(json_object_get(p->metrics, "valid"), "classes");
    if (!json_is_array(p->classes)) p->classes = json_object_get(p->recipe, "classes");
    if (!json_is_array(p->classes) || json_array_size(p->classes) < 2)
        return ao_err_set(err, AO_EDATA, "%s: no class list: neither the dataset's dataset.json (run.json data.dir) nor "
                          "the best run's metrics.json (valid.classes) names at least two classes", p->run_path);
    for (i = 0; i < json_array_size(p->classes); i++)
        if (!json_is_string(json_array_get(p->classes, i)))
            return ao_err_set(err, AO_EDATA, "%s: the class list holds a non-string", p->run_path);
    p->task = jstr(p->dataset, "task");
    if (!p->task) p->task = json_array_size(p->classes) == 2 ? "binary" : "multiclass";
    p->dataset_hash = p->run.content_hash;
    return AO_OK;
}

/* model/recipe.json: parsed for the manifest and copied to recipe.json. */
static int load_recipe(pkg *p, ao_err *err)
{
    char *path = ao_path_join(p->model_dir, "recipe.json"), *bytes = NULL;
    size_t len;
    json_error_t je;
    if (!path) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!ao_file_exists(path)) {
        json_t *r = json_object_get(p->metrics, "recipe");
        p->recipe = json_is_object(r) ? json_deep_copy(r) : NULL;
        free(path);
        return AO_OK;
    }
    if (!(bytes = ao_read_file(path, &len, err))) goto ERROR;
    if (!(p->recipe = json_loadb(bytes, len, 0, &je))) {
        ao_err_set(err, AO_EDATA, "%s:%d: %s", path, je.line, je.text);
        goto ERROR;
    }
    free(path);
    return member_add(&p->ml, "recipe.json", NULL, bytes, len, err);
ERROR:
    free(path);
    free(bytes);
    return err->code;
}

/* ---- an ensemble of the lineage's best runs ------------------------------------ */

typedef struct ens_cand {
    const ao_iteration *it;
    int run;                  /* index into o->run_dirs */
    double rank;              /* the history's ranking value */
    char *dir;                /* its model directory (owned) */
} ens_cand;

static int by_rank_desc(const void *a, const void *b)
{
    const ens_cand *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? 1 : -1;
    return (x->it->number > y->it->number) - (x->it->number < y->it->number);
}

/* A run usable as a member: a finished builtin model trained on the split
 * in force (the best run's split version: the validation rows the state's
 * split, or the prepared data's, holds now). *model_dir: its model
 * directory (malloc'd) when usable. */
static int ens_usable(const pkg *p, const ao_iteration *it, int run, char **model_dir)
{
    const json_t *m = p->run_metrics[run];
    const char *st = jstr(m, "status"), *valid = jstr(json_object_get(m, "data"), "valid");
    char *dir = ao_path_join(p->o->run_dirs[run], "model"), *file = dir ? ao_path_join(dir, AO_MODEL_FILE) : NULL;
    int ok = st && (!strcmp(st, "ok") || !strcmp(st, "time_limit")) && it->split_version == p->hist.best.split_version &&
             valid && file && ao_file_exists(file);
    free(file);
    if (ok) *model_dir = dir;
    else free(dir);
    return ok;
}

/* Whether two runs are of one model family: the same learner on the same
 * representation (from their recipes in metrics.json). */
static int same_family(const pkg *p, const ens_cand *a, const ens_cand *b)
{
    const json_t *ra = json_object_get(p->run_metrics[a->run], "recipe"), *rb = json_object_get(p->run_metrics[b->run], "recipe");
    const char *ma = jstr(json_object_get(ra, "model"), "type"), *mb = jstr(json_object_get(rb, "model"), "type");
    const char *ea = jstr(json_object_get(ra, "representation"), "type"), *eb = jstr(json_object_get(rb, "representation"), "type");
    return ma && mb && ea && eb && !strcmp(ma, mb) && !strcmp(ea, eb);
}

/* Reorders cand (sorted by rank) so that the best run of each model
 * family comes first, in rank order, then the other runs, also in rank
 * order: refinements of one family are near-copies that would crowd out
 * the others. */
static int by_family_first(const pkg *p, ens_cand *cand, int n, ao_err *err)
{
    ens_cand *order = malloc(sizeof *order * (size_t)(n ? n : 1));
    char *first = calloc((size_t)(n ? n : 1), 1);
    int i, j, m = 0;
    if (!order || !first) { free(order); free(first); return ao_err_set(err, AO_EMEM, "out of memory"); }
    for (i = 0; i < n; i++) {
        for (j = 0; j < i && !same_family(p, &cand[j], &cand[i]); j++) {}
        if (j == i) { first[i] = 1; order[m++] = cand[i]; }
    }
    for (i = 0; i < n; i++) if (!first[i]) order[m++] = cand[i];
    memcpy(cand, order, sizeof *cand * (size_t)n);
    free(order);
    free(first);
    return AO_OK;
}

static int ens_record(pkg *p, const char *key, json_t *v, ao_err *err)
{
    if (!v || json_object_set_new(p->ensemble, key, v) != 0) return ao_err_set(err, AO_EMEM, "out of memory");
    return AO_OK;
}

/* Decides whether the package holds an ensemble (ensemble.h) and records
 * the decision in p->ensemble; a reason not to is never an error. */
static int consider_ensemble(pkg *p, ao_err *err)
{
    const ao_package_opts *o = p->o;
    const char *data = o->data_dir ? o->data_dir : p->run.data_dir;
    char *sel_dir = NULL, *sel_path = NULL, *valid_path = NULL, whybuf[AO_ERRMSG_MAX + 64];
    const char *why = NULL;
    ens_cand *cand = NULL;
    ao_model *models[AO_ENSEMBLE_MAX_MEMBERS] = {0};
    const ao_dataset_info *info = NULL;
    ao_seqset *valid = NULL, *sel = NULL;
    ao_ensemble_choice ch;
    double weights[AO_ENSEMBLE_MAX_MEMBERS];
    int i, n = 0, n_all = 0, max = o->ensemble_max > AO_ENSEMBLE_MAX_MEMBERS ? AO_ENSEMBLE_MAX_MEMBERS : o->ensemble_max, rc = AO_OK;
    if (!(p->ensemble = json_pack("{s:b}", "kept", 0))) return ao_err_set(err, AO_EMEM, "out of memory");
    if (max < 2) { why = "off (--ensemble below 2)"; goto DONE; }
    sel_dir = o->selection_dir ? strdup(o->selection_dir) : data ? ao_path_join(data, "../selection") : NULL;
    if (!(cand = calloc((size_t)p->hist.n_iters + 1, sizeof *cand))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (i = 0; i < p->hist.n_iters; i++) {
        const ao_iteration *it = &p->hist.iters[i];
        int r = it->has_run ? run_index(p, it->run.run_id) : -1;
        double v = ao_iteration_rank_value(it, p->metric);
        char *md = NULL;
        if (r < 0 || !isfinite(v) || !ens_usable(p, it, r, &md)) continue;
        cand[n_all++] = (ens_cand){it, r, v, md};
    }
    qsort(cand, (size_t)n_all, sizeof *cand, by_rank_desc);
    if ((rc = by_family_first(p, cand, n_all, err)) < 0) goto DONE;
    if (json_object_set_new(p->ensemble, "candidates", json_integer(n_all)) != 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (n_all < 2) { why = "fewer than two finished builtin runs on the split in force"; goto DONE; }
    if (strcmp(cand[0].it->run.run_id, p->run_id) != 0) { why = "the best run is not a builtin model"; goto DONE; }
    if (!data || !sel_dir) { why = "no data directory"; goto DONE; }
    /* the validation rows of the split in force: the agent's own split
     * (the state's split/, as train-run reads it) or the prepared one */
    if (!(valid_path = ao_path_join(o->state_dir, "split/valid.tsv"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!ao_file_exists(valid_path)) {
        free(valid_path);
        valid_path = ao_path_join(data, "valid.tsv");
    }
    if (!(sel_path = ao_path_join(sel_dir, "selection.tsv")) || !valid_path) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if (!ao_file_exists(sel_path)) { why = "no selection slice to confirm it (give --selection DIR)"; goto DONE; }
    /* The first `max` candidates' models, loaded once: each must load and
     * share the best one's schema; a run whose model does not is left out
     * (warned), and when the best one's does not, or the rows do not read,
     * there is no ensemble: an optional step never fails the package (out
     * of memory aside). cand[0..n) keeps the loaded ones, in order. */
    for (i = 0; i < n_all && i < max; i++) {
        ao_err le;
        ao_model *m;
        ao_err_init(&le);
        if (!(m = ao_model_load(cand[i].dir, &le)) && le.code == AO_EMEM) { rc = ao_err_set(err, AO_EMEM, "%s", le.msg); goto DONE; }
        if (!m && i == 0) {
            snprintf(whybuf, sizeof whybuf, "the best run's model does not load: %s", le.msg);
            why = whybuf;
            goto DONE;
        }
        if (!m || (info && !ao_dataset_info_same(info, ao_model_info(m)))) {
            ao_warn("ensemble: run %s left out: %s", cand[i].it->run.run_id, m ? "other classes or sequence columns than the best run" : le.msg);
            ao_model_destroy(m);
            continue;
        }
        if (!info) info = ao_model_info(m);
        models[n] = m;
        if (n != i) { ens_cand t = cand[n]; cand[n] = cand[i]; cand[i] = t; }
        n++;
    }
    if (n < 2) { why = "fewer than two builtin models that load"; goto DONE; }
    if (!(valid = ao_seqset_read(valid_path, info, 1, 1, err)) || !(sel = ao_seqset_read(sel_path, info, 1, 1, err))) {
        if (err->code == AO_EMEM) { rc = err->code; goto DONE; }
        snprintf(whybuf, sizeof whybuf, "the validation or selection rows do not read: %s", err->msg);
        ao_err_init(err);
        why = whybuf;
        goto DONE;
    }
    if ((rc = ao_ensemble_choose(n, (const ao_model *const *)models, valid, sel, p->metric, max, o->threads > 0 ? o->threads : 1, weights,
                                 &ch, err)) < 0)
        goto DONE;
    if ((rc = ens_record(p, "metric", json_string(p->metric), err)) < 0 ||
        (rc = ens_record(p, "valid", json_real(ch.valid_value), err)) < 0 ||
        (rc = ens_record(p, "selection", json_real(ch.selection_value), err)) < 0 ||
        (rc = ens_record(p, "selection_best_single", json_real(ch.single_value), err)) < 0 ||
        (rc = ens_record(p, "best_single_run", json_string(cand[ch.single].it->run.run_id), err)) < 0 ||
        (rc = ens_record(p, "selection_difference_sd", isfinite(ch.selection_sd) ? json_real(ch.selection_sd) : json_null(), err)) < 0 ||
        (rc = ens_record(p, "threshold", isnan(ch.threshold) ? json_null() : json_real(ch.threshold), err)) < 0) goto DONE;
    if (ch.kept) {
        json_t *members = json_array();
        if ((rc = ens_record(p, "members", members, err)) < 0) goto DONE;
        for (i = 0; i < n; i++) {
            char rel[32];
            if (!(weights[i] > 0)) continue;
            snprintf(rel, sizeof rel, "members/%d", p->n_members + 1);
            if (json_array_append_new(members, json_pack("{s:s,s:i,s:f,s:s}", "run", cand[i].it->run.run_id, "iteration", cand[i].it->number,
                                                         "weight", weights[i], "dir", rel)) != 0) {
                rc = ao_err_set(err, AO_EMEM, "out of memory");
                goto DONE;
            }
            p->member_dir[p->n_members++] = cand[i].dir;
            cand[i].dir = NULL;
        }
        json_object_set_new(p->ensemble, "kept", json_true());
    }
    if ((rc = ens_record(p, "reason", json_string(ch.reason), err)) < 0) goto DONE;
    ao_info("ensemble: %s", ch.reason);
DONE:
    if (why && rc >= 0) {
        rc = ens_record(p, "reason", json_string(why), err);
        ao_info("ensemble: not tried: %s", why);
    }
    ao_seqset_destroy(valid);
    ao_seqset_destroy(sel);
    for (i = 0; i < n; i++) ao_model_destroy(models[i]);
    for (i = 0; i < n_all; i++) free(cand[i].dir);
    free(cand);
    free(sel_dir);
    free(sel_path);
    free(valid_path);
    return rc;
}

/* model/: the best run's model directory, or the ensemble's description
 * and its members' directories. */
static int collect_model(pkg *p, ao_err *err)
{
    json_t *desc, *members;
    size_t n_before = p->ml.n;
    int i;
    if (!p->n_members) {
        if (collect_dir(&p->ml, p->model_dir, PKG_MODEL_ENTRY, err) < 0) return err->code;
        if (p->ml.n == n_before) return ao_err_set(err, AO_EDATA, "%s: the model directory is empty", p->model_dir);
        return AO_OK;
    }
    members = json_object_get(p->ensemble, "members");
    if (!(desc = json_pack("{s:i,s:O,s:O}", "format_version", 1, "members", members, "threshold", json_object_get(p->ensemble, "threshold"))))
        return ao_err_set(err, AO_EMEM, "out of memory");
    if (member_add_json(&p->ml, PKG_MODEL_ENTRY AO_ENSEMBLE_FILE, desc, err) < 0) { json_decref(desc); return err->code; }
    json_decref(desc);
    for (i = 0; i < p->n_members; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%smembers/%d/", PKG_MODEL_ENTRY, i + 1);
        if (collect_dir(&p->ml, p->member_dir[i], prefix, err) < 0) return err->code;
    }
    return AO_OK;
}

/* ---- report.md ---------------------------------------------------------- */

static void md_cell(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", fp);
        else if (*s == '\n' || *s == '\r' || *s == '\t') fputc(' ', fp);
        else fputc(*s, fp);
    }
}

static void md_number(FILE *fp, const json_t *v)
{
    /* counts ("n", "n_classes") as integers, not "613.0000" */
    if (json_is_integer(v)) fprintf(fp, "%lld", (long long)json_integer_value(v));
    else if (json_is_number(v)) fprintf(fp, "%.4f", json_number_value(v));
    else fputs("-", fp);
}

/* The model kind of an iteration's run, from its run directory's metrics.json. */
static const char *iter_model(const pkg *p, const ao_iteration *it)
{
    int idx = it->has_run ? run_index(p, it->run.run_id) : -1;
    const char *m = idx >= 0 ? jstr(p->run_metrics[idx], "model") : NULL;
    return m ? m : "-";
}

static double jnum_or_nan(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

/* The decision threshold the packaged model applies: the ensemble's own,
 * or the best run's; NULL for the argmax. */
static const json_t *packaged_threshold(const pkg *p)
{
    const json_t *th = json_object_get(p->n_members ? p->ensemble : p->metrics, "threshold");
    return json_is_real(th) ? th : NULL;
}

static char *report_md(const pkg *p, size_t *len, ao_err *err)
{
    static const char *cols[] = {"accuracy", "auroc", "auprc", "f1_macro", "mcc", "log_loss", NULL};
    json_t *valid = json_object_get(p->metrics, "valid");
    const ao_iteration *last = NULL;
    const char *k, *model = jstr(p->metrics, "model");
    json_t *v;
    char *buf = NULL;
    size_t i, n = 0;
    int c, j;
    FILE *fp = open_memstream(&buf, &n);
    if (!fp) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    fprintf(fp, "# agentomics model report\n\n");
    fprintf(fp, "- Tool: agentomics %s\n", AO_VERSION);
    fprintf(fp, "- Dataset content hash: `%s`\n", p->dataset_hash);
    fprintf(fp, "- Task: %s, %zu classes: ", p->task, json_array_size(p->classes));
    for (i = 0; i < json_array_size(p->classes); i++) {
        fputs(i ? ", " : "", fp);
        md_cell(fp, json_string_value(json_array_get(p->classes, i)));
    }
    fputc('\n', fp);
    if (jstr(p->dataset, "positive_class")) {
        fputs("- Positive class: ", fp);
        md_cell(fp, jstr(p->dataset, "positive_class"));
        fputc('\n', fp);
    }
    {
        json_t *sel = json_object_get(p->metrics, "selection");
        const char *mt = p->metric ? p->metric : "-";
        double va = jnum_or_nan(json_object_get(valid, mt)), se = jnum_or_nan(json_object_get(sel, mt));
        if (json_is_object(sel)) {
            fprintf(fp, "- Ranking metric: %s on the selection slice (prepare-data's held-back validation rows, never seen by the agent)\n", mt);
            fprintf(fp, "- Best iteration's %s: validation %.4f, selection slice %.4f", mt, va, se);
            if (isfinite(va) && isfinite(se) && va - se > AO_OVERFIT_GAP) fprintf(fp, " — **validation over-fit** (gap %.4f)", va - se);
            fputc('\n', fp);
        } else {
            fprintf(fp, "- Ranking metric: %s on the validation split (no selection slice)\n", mt);
        }
    }
    fprintf(fp, "- Best iteration: %lld (run `", p->best_iter);
    md_cell(fp, p->run_id);
    fputs("`, model ", fp);
    md_cell(fp, model ? model : "-");
    fputs(")\n", fp);
    if (p->hist.stop_reason) {
        fputs("- Stopped: ", fp);
        md_cell(fp, p->hist.stop_reason);
        fputc('\n', fp);
    }

    fputs("\n## Iterations\n\n| iteration | run | model | status |", fp);
    for (c = 0; cols[c]; c++) fprintf(fp, " %s |", cols[c]);
    fprintf(fp, " selection %s | decision |\n|---:|---|---|---|", p->metric ? p->metric : "-");
    for (c = 0; cols[c]; c++) fputs("---:|", fp);
    fputs("---:|---|\n", fp);
    for (j = 0; j < p->hist.n_iters; j++) {
        const ao_iteration *it = &p->hist.iters[j];
        fprintf(fp, it->number == p->best_iter ? "| **%d** |" : "| %d |", it->number);
        fputc(' ', fp);
        md_cell(fp, it->has_run ? it->run.run_id : "-");
        fputs(" | ", fp);
        md_cell(fp, iter_model(p, it));
        fputs(" | ", fp);
        md_cell(fp, it->has_run ? it->run.status : "-");
        fputs(" |", fp);
        for (c = 0; cols[c]; c++) {
            fputc(' ', fp);
            md_number(fp, it->has_run ? json_object_get(it->run.valid, cols[c]) : NULL);
            fputs(" |", fp);
        }
        fputc(' ', fp);
        md_number(fp, it->has_run && p->metric ? json_object_get(it->run.selection, p->metric) : NULL);
        if (it->has_run && p->metric) {
            double va = ao_iteration_valid_value(it, p->metric), se = ao_iteration_selection_value(it, p->metric);
            if (isfinite(va) && isfinite(se) && va - se > AO_OVERFIT_GAP) fputs(" (validation over-fit)", fp);
        }
        fputs(" |", fp);
        fputc(' ', fp);
        md_cell(fp, it->decision == AO_DECISION_STOP ? "stop" : it->decision == AO_DECISION_CONTINUE ? "continue" : "-");
        fputs(" |\n", fp);
        if (it->feedback) last = it;
    }
    if (p->hist.n_iters == 0) fputs("\n(no iterations recorded)\n", fp);

    fprintf(fp, "\n## Best iteration: %lld\n\nValidation metrics of run `", p->best_iter);
    md_cell(fp, p->run_id);
    fputs("`:\n\n| metric | value |\n|---|---:|\n", fp);
    {
        /* sorted, numbers only */
        const char **keys = calloc(json_object_size(valid) + 1, sizeof *keys);
        size_t nk = 0, a, b;
        if (!keys) { fclose(fp); free(buf); ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
        json_object_foreach(valid, k, v)
            if (json_is_number(v) && !ao_package_is_clock_key(k)) keys[nk++] = k;
        for (a = 1; a < nk; a++)
            for (b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) { const char *t = keys[b]; keys[b] = keys[b - 1]; keys[b - 1] = t; }
        for (a = 0; a < nk; a++) {
            fputs("| ", fp);
            md_cell(fp, keys[a]);
            fputs(" | ", fp);
            md_number(fp, json_object_get(valid, keys[a]));
            fputs(" |\n", fp);
        }
        free(keys);
    }
    {
        /* what model/ holds: the best run, or an ensemble led by it */
        const char *why = jstr(p->ensemble, "reason");
        json_t *mem = json_object_get(p->ensemble, "members"), *e;
        size_t i;
        fprintf(fp, "\n## Packaged model\n\n%s", p->n_members ? "An ensemble (weighted mean of the members' probabilities):\n\n" : "The best iteration's model alone.");
        json_array_foreach(mem, i, e) {
            fprintf(fp, "- iteration %lld (run `", (long long)json_integer_value(json_object_get(e, "iteration")));
            md_cell(fp, jstr(e, "run"));
            fprintf(fp, "`), weight %.4f\n", json_number_value(json_object_get(e, "weight")));
        }
        if (why) {
            fputs(p->n_members ? "\nWhy: " : " Ensemble: ", fp);
            md_cell(fp, why);
            fputs(".\n", fp);
        } else {
            fputc('\n', fp);
        }
        {
            const json_t *th = packaged_threshold(p);
            if (th)
                fprintf(fp, "\nDecision threshold: %.4f (the positive class from that probability on, not the argmax; chosen on validation, "
                        "confirmed on the selection slice).\n", json_real_value(th));
        }
    }

    if (last) {
        json_t *d = json_object_get(last->feedback, "diagnosis"), *sug = json_object_get(last->feedback, "suggestions");
        fprintf(fp, "\n## Last feedback (iteration %d)\n\n", last->number);
        if (json_is_string(d)) {
            fprintf(fp, "%s\n", json_string_value(d));
        } else if (d) {
            char *s = json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
            fprintf(fp, "```json\n%s\n```\n", s ? s : "null");
            free(s);
        }
        if (json_is_object(sug) && json_object_size(sug) > 0) {
            char *s;
            json_t *copy = json_deep_copy(sug);
            ao_package_strip_clock(copy);
            s = json_dumps(copy, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
            fprintf(fp, "\nSuggestions:\n\n```json\n%s\n```\n", s ? s : "{}");
            free(s);
            json_decref(copy);
        }
    }
    if (fclose(fp) != 0 || !buf) {
        free(buf);
        ao_err_set(err, AO_EMEM, "out of memory");
        return NULL;
    }
    *len = n;
    return buf;
}

/* ---- environment.json ----------------------------------------------------- */

/* The interpreter of a script entry: its #! line, else its extension. */
static char *script_interpreter(const char *path, const char *name)
{
    static const char *ext[][2] = {{".py", "python3"}, {".R", "Rscript"}, {".r", "Rscript"}, {".sh", "bash"},
                                   {".jl", "julia"}, {".pl", "perl"}, {NULL, NULL}};
    char line[512];
    FILE *fp = fopen(path, "rb");
    const char *dot = strrchr(name, '.');
    int i;
    if (fp) {
        if (fgets(line, sizeof line, fp) && line[0] == '#' && line[1] == '!') {
            char *save = NULL, *cmd = strtok_r(line + 2, " \t\r\n", &save), *arg;
            if (cmd) {
                const char *base = strrchr(cmd, '/') ? strrchr(cmd, '/') + 1 : cmd;
                if (strcmp(base, "env") == 0) {
                    while ((arg = strtok_r(NULL, " \t\r\n", &save)) && arg[0] == '-') {}
                    if (arg) { fclose(fp); return strdup(arg); }
                } else {
                    fclose(fp);
                    return strdup(base);
                }
            }
        }
        fclose(fp);
    }
    for (i = 0; dot && ext[i][0]; i++)
        if (strcmp(dot, ext[i][0]) == 0) return strdup(ext[i][1]);
    return NULL;
}

/* A script model (scriptmodel.h) names its entries and interpreter in
 * model/script-model.json; they live below model/code/. */
static int script_entries(const member *m, json_t *entries, json_t **interp, ao_err *err)
{
    static const char *const keys[][2] = {{"train", "train_entry"}, {"predict", "inference_entry"}};
    json_error_t je;
    json_t *j = m->src ? json_load_file(m->src, 0, &je) : json_loadb(m->data, m->len, 0, &je), *in;
    int i;
    if (!json_is_object(j)) {
        json_decref(j);
        return ao_err_set(err, AO_EDATA, "%s: not a script model description", m->src ? m->src : m->name);
    }
    for (i = 0; i < 2; i++) {
        const char *e = jstr(j, keys[i][1]);
        char *path = NULL;
        if (!e || asprintf(&path, "%scode/%s", PKG_MODEL_ENTRY, e) < 0) {
            json_decref(j);
            return ao_err_set(err, e ? AO_EMEM : AO_EDATA, "%s: no %s", m->src ? m->src : m->name, keys[i][1]);
        }
        json_object_set_new(entries, keys[i][0], json_string(path));
        free(path);
    }
    in = json_object_get(j, "interpreter");
    json_decref(*interp);
    *interp = json_is_string(in) ? json_incref(in) : json_null();
    json_decref(j);
    return AO_OK;
}

static json_t *environment_json(const pkg *p, ao_err *err)
{
    json_t *env = json_object(), *entries = json_object(), *interp = json_null();
    const char *model = jstr(p->metrics, "model");
    size_t i;
    int builtin = 0;
    json_object_set_new(env, "format_version", json_integer(1));
    json_object_set_new(env, "tool", json_string("agentomics " AO_VERSION));
    json_object_set_new(env, "model_kind", p->n_members ? json_string("ensemble") : model ? json_string(model) : json_null());
    for (i = 0; i < p->ml.n; i++) {
        const member *m = &p->ml.m[i];
        if (strcmp(m->name, PKG_MODEL_ENTRY "script-model.json") != 0) continue;
        if (script_entries(m, entries, &interp, err) < 0) {
            json_decref(env);
            json_decref(entries);
            json_decref(interp);
            return NULL;
        }
        json_object_set_new(env, "model_kind", json_string("script"));
        json_object_set_new(env, "runtime", json_string("script"));
        json_object_set_new(env, "entry_points", entries);
        json_object_set_new(env, "interpreter", interp);
        return env;
    }
    for (i = 0; i < p->ml.n; i++) {
        const member *m = &p->ml.m[i];
        const char *rel = m->name + strlen(PKG_MODEL_ENTRY);
        if (strncmp(m->name, PKG_MODEL_ENTRY, strlen(PKG_MODEL_ENTRY)) != 0 || strchr(rel, '/')) continue;
        if (strcmp(rel, AO_MODEL_FILE) == 0 || strcmp(rel, AO_ENSEMBLE_FILE) == 0) builtin = 1;
        if (strncmp(rel, "train.", 6) == 0 && !json_object_get(entries, "train"))
            json_object_set_new(entries, "train", json_string(m->name));
        if (strncmp(rel, "predict.", 8) == 0 && !json_object_get(entries, "predict")) {
            char *in = m->src ? script_interpreter(m->src, rel) : NULL;
            json_object_set_new(entries, "predict", json_string(m->name));
            if (in) { json_decref(interp); interp = json_string(in); free(in); }
        }
    }
    json_object_set_new(env, "runtime", json_string(builtin && !json_object_get(entries, "predict") ? "builtin" : "script"));
    json_object_set_new(env, "entry_points", entries);
    json_object_set_new(env, "interpreter", interp);
    return env;
}

static json_t *manifest_json(const pkg *p, const memberlist *ml)
{
    json_t *m = json_object(), *files = json_object(), *valid = json_deep_copy(json_object_get(p->metrics, "valid"));
    const char *model = jstr(p->metrics, "model");
    size_t i;
    ao_package_strip_clock(valid);
    json_object_set_new(m, "format_version", json_integer(AO_PACKAGE_FORMAT_VERSION));
    json_object_set_new(m, "tool", json_string("agentomics " AO_VERSION));
    json_object_set_new(m, "dataset_hash", json_string(p->dataset_hash));
    json_object_set_new(m, "task", json_string(p->task));
    json_object_set_new(m, "classes", json_deep_copy(p->classes));
    if (jstr(p->dataset, "positive_class")) json_object_set(m, "positive_class", json_object_get(p->dataset, "positive_class"));
    if (json_is_array(json_object_get(p->dataset, "sequence_columns")))
        json_object_set_new(m, "sequence_columns", json_deep_copy(json_object_get(p->dataset, "sequence_columns")));
    json_object_set_new(m, "best_iteration", json_integer((json_int_t)p->best_iter));
    json_object_set_new(m, "best_run", json_string(p->run_id));
    json_object_set_new(m, "metric", p->metric ? json_string(p->metric) : json_null());
    json_object_set_new(m, "model_kind", p->n_members ? json_string("ensemble") : model ? json_string(model) : json_null());
    json_object_set_new(m, "threshold", packaged_threshold(p) ? json_deep_copy(packaged_threshold(p)) : json_null());
    json_object_set_new(m, "validation_metrics", valid);
    json_object_set(m, "ensemble", p->ensemble ? p->ensemble : json_null());
    json_object_set_new(m, "recipe", p->recipe ? json_deep_copy(p->recipe) : json_null());
    json_object_set_new(m, "model_entry", json_string(PKG_MODEL_ENTRY));
    for (i = 0; i < ml->n; i++) json_object_set_new(files, ml->m[i].name, json_string(ml->m[i].hex));
    json_object_set_new(m, "files", files);
    return m;
}

int ao_package_write(const ao_package_opts *o, ao_err *err)
{
    pkg p;
    ao_outfile *of = NULL;
    json_t *hist = NULL, *env = NULL, *man = NULL;
    member manifest;
    char *report = NULL;
    size_t len;
    memset(&p, 0, sizeof p);
    memset(&manifest, 0, sizeof manifest);
    p.o = o;
    if (!o || !o->state_dir || !o->out || o->n_runs < 1 || !o->run_dirs)
        return ao_err_set(err, AO_EUSAGE, "a state directory, at least one run directory and an output are needed");
    if (!o->force && strcmp(o->out, "-") != 0 && ao_file_exists(o->out))
        return ao_err_set(err, AO_EUSAGE, "%s: output already exists (use --force to replace it)", o->out);
    if (!(p.run_path = ao_path_join(o->state_dir, "run.json")) || !(p.history_path = ao_path_join(o->state_dir, "history.json"))) {
        ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    if (ao_runstate_read(o->state_dir, &p.run, &p.hist, err) < 0) goto ERROR;
    if (load_run_metrics(&p, err) < 0 || find_best(&p, err) < 0) goto ERROR;
    if (load_recipe(&p, err) < 0 || find_classes(&p, err) < 0) goto ERROR;
    if (consider_ensemble(&p, err) < 0 || collect_model(&p, err) < 0) goto ERROR;
    if (!(hist = ao_history_to_json(&p.hist))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    ao_package_strip_clock(hist);
    if (member_add_json(&p.ml, "history.json", hist, err) < 0) goto ERROR;
    qsort(p.ml.m, p.ml.n, sizeof *p.ml.m, member_cmp);
    if (!(env = environment_json(&p, err)) || member_add_json(&p.ml, "environment.json", env, err) < 0) goto ERROR;
    if (!(report = report_md(&p, &len, err))) goto ERROR;
    if (member_add(&p.ml, "report.md", NULL, report, len, err) < 0) { report = NULL; goto ERROR; }
    report = NULL;
    qsort(p.ml.m, p.ml.n, sizeof *p.ml.m, member_cmp);
    if (!(man = manifest_json(&p, &p.ml))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!(manifest.name = strdup(PKG_MANIFEST))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!(manifest.data = dump_json(man, &manifest.len, err))) goto ERROR;
    sha_hex(manifest.data, manifest.len, manifest.hex);
    if (!(of = ao_outfile_open(o->out, err))) goto ERROR;
    if (write_archive(of->fp, o->out, &manifest, &p.ml, err) < 0) goto ERROR;
    if (ao_outfile_commit(of, err) < 0) goto ERROR;
    if (p.n_members)
        ao_info("%s: packaged an ensemble of %d runs led by iteration %lld (run %s; %zu archive members)", o->out, p.n_members, p.best_iter,
                p.run_id, p.ml.n + 1);
    else
        ao_info("%s: packaged iteration %lld (run %s, %zu archive members)", o->out, p.best_iter, p.run_id, p.ml.n + 1);
    ao_outfile_destroy(of);
    free(manifest.name);
    free(manifest.data);
    json_decref(man);
    json_decref(env);
    json_decref(hist);
    pkg_free(&p);
    return AO_OK;
ERROR:
    ao_outfile_destroy(of);
    free(manifest.name);
    free(manifest.data);
    free(report);
    json_decref(man);
    json_decref(env);
    json_decref(hist);
    pkg_free(&p);
    return err->code ? err->code : AO_EINTERNAL;
}

/* ====================================================================== */
/* Reading and verifying a package                                        */
/* ====================================================================== */

/* Why a member path is unsafe or non-canonical, or NULL when it is fine:
 * relative, '/'-separated, no empty, '.' or '..' components, no control
 * characters, components of at most NAME_MAX bytes, at most
 * AO_PACKAGE_MAX_DEPTH of them and AO_PACKAGE_MAX_PATH bytes in all (an
 * extraction tree stays small and removable). */
static const char *unsafe_path(const char *p)
{
    const char *s = p, *c;
    int depth = 0;
    if (!*p) return "empty path";
    if (p[0] == '/') return "absolute path";
    if (strlen(p) > AO_PACKAGE_MAX_PATH) return "path longer than " AO_STR(AO_PACKAGE_MAX_PATH) " bytes";
    for (c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) return "control character in path";
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return "'..' path component";
        if (n == 0) return "empty path component";
        if (n == 1 && s[0] == '.') return "'.' path component";
        if (n > NAME_MAX) return "path component longer than NAME_MAX (255 bytes)";
        if (++depth > AO_PACKAGE_MAX_DEPTH) return "more than " AO_STR(AO_PACKAGE_MAX_DEPTH) " path components";
        if (!e) break;
        s = e + 1;
        if (!*s) return "empty path component";
    }
    return NULL;
}

/* Every directory a listed member needs ("a", "a/b" for "a/b/f"): the
 * only directory entries an archive may carry. */
static json_t *listed_dirs(const json_t *files)
{
    json_t *dirs = json_object(), *v;
    const char *k;
    if (!dirs) return NULL;
    json_object_foreach((json_t *)files, k, v) {
        char *d = strdup(k), *slash;
        if (!d) { json_decref(dirs); return NULL; }
        while ((slash = strrchr(d, '/'))) {
            *slash = '\0';
            if (json_object_get(dirs, d)) break;   /* its parents are in too */
            if (json_object_set_new(dirs, d, json_true()) != 0) { free(d); json_decref(dirs); return NULL; }
        }
        free(d);
    }
    return dirs;
}

/* Opens the directory below rootfd that holds the last component of rel
 * (creating directories as needed, never following a symlink); *base
 * points at that component within rel. With mkleaf, the last component is
 * a directory too and its fd is returned. -1 with errno on failure. */
static int open_parent(int rootfd, const char *rel, int mkleaf, const char **base)
{
    char comp[NAME_MAX + 1];
    const char *s = rel;
    int fd = dup(rootfd);
    while (fd >= 0) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        int nfd;
        if (!e && !mkleaf) { *base = s; return fd; }
        if (n == 0) { *base = s; return fd; }   /* trailing '/' of a directory member */
        if (n > NAME_MAX) { close(fd); errno = ENAMETOOLONG; return -1; }
        memcpy(comp, s, n);
        comp[n] = '\0';
        if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) { close(fd); return -1; }
        nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = nfd;
        if (!e) { *base = s + n; return fd; }
        s = e + 1;
    }
    return -1;
}

/* State of one ao_package_open() call. */
typedef struct reader {
    const char *archive;
    struct archive *a;
    int rootfd;
    json_t *files;    /* manifest "files" (borrowed from the manifest) */
    json_t *dirs;     /* the directories the listed members need (made on the first directory entry) */
    json_t *seen;     /* member path -> true */
    char *buf;
    uint64_t extracted, max_extract;   /* bytes written so far, and the cap (a decompression bomb stops there) */
} reader;

static int corrupt(reader *r, ao_err *err)
{
    const char *msg = archive_error_string(r->a);
    return ao_err_set(err, AO_EDATA, "%s: corrupt or truncated archive: %s", r->archive, msg ? msg : "read error");
}

/* Reads the current member's data into memory (at most max bytes). */
static char *read_small(reader *r, size_t max, size_t *len, ao_err *err)
{
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        la_ssize_t got;
        if (n + PKG_BUF + 1 > cap) {
            size_t ncap = cap ? cap * 2 : PKG_BUF * 2;
            char *nd;
            if (ncap > max + PKG_BUF + 1) {
                ao_err_set(err, AO_EDATA, "%s: %s is larger than %zu bytes", r->archive, PKG_MANIFEST, max);
                goto ERROR;
            }
            if (!(nd = realloc(data, ncap))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
            data = nd;
            cap = ncap;
        }
        got = archive_read_data(r->a, data + n, cap - n - 1);
        if (got < 0) { corrupt(r, err); goto ERROR; }
        if (got == 0) break;
        n += (size_t)got;
    }
    data[n] = '\0';
    *len = n;
    return data;
ERROR:
    free(data);
    return NULL;
}

static int is_sha_hex(const char *s)
{
    int i;
    if (!s || strlen(s) != 64) return 0;
    for (i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

static int check_manifest(reader *r, json_t *m, ao_err *err)
{
    json_t *fv = json_object_get(m, "format_version"), *v;
    const char *k, *why, *entry;
    if (!json_is_object(m)) return ao_err_set(err, AO_EDATA, "%s: %s is not a JSON object", r->archive, PKG_MANIFEST);
    if (!fv) return ao_err_set(err, AO_EDATA, "%s: %s has no format_version", r->archive, PKG_MANIFEST);
    if (!json_is_integer(fv) || json_integer_value(fv) != AO_PACKAGE_FORMAT_VERSION) {
        char *s = json_dumps(fv, JSON_ENCODE_ANY | JSON_COMPACT);
        ao_err_set(err, AO_EDATA, "%s: unknown package format_version %s (this agentomics reads version %d)", r->archive,
                   s ? s : "?", AO_PACKAGE_FORMAT_VERSION);
        free(s);
        return err->code;
    }
    r->files = json_object_get(m, "files");
    if (!json_is_object(r->files)) return ao_err_set(err, AO_EDATA, "%s: %s has no 'files' object", r->archive, PKG_MANIFEST);
    if (json_object_size(r->files) > AO_PACKAGE_MAX_MEMBERS)
        return ao_err_set(err, AO_EDATA, "%s: %s lists %zu members, more than %d", r->archive, PKG_MANIFEST, json_object_size(r->files), AO_PACKAGE_MAX_MEMBERS);
    json_object_foreach(r->files, k, v) {
        if ((why = unsafe_path(k)))
            return ao_err_set(err, AO_EDATA, "%s: %s lists '%.200s': %s", r->archive, PKG_MANIFEST, k, why);
        if (strcmp(k, PKG_MANIFEST) == 0)
            return ao_err_set(err, AO_EDATA, "%s: %s lists itself", r->archive, PKG_MANIFEST);
        if (!is_sha_hex(json_string_value(v)))
            return ao_err_set(err, AO_EDATA, "%s: %s: '%s' has no sha256 (64 lower-case hex digits)", r->archive, PKG_MANIFEST, k);
    }
    entry = jstr(m, "model_entry");
    if (entry) {
        char *copy = strdup(entry);
        size_t n;
        if (!copy) return ao_err_set(err, AO_EMEM, "out of memory");
        n = strlen(copy);
        if (n > 1 && copy[n - 1] == '/') copy[n - 1] = '\0';
        why = unsafe_path(copy);
        free(copy);
        if (why) return ao_err_set(err, AO_EDATA, "%s: %s: model_entry '%s': %s", r->archive, PKG_MANIFEST, entry, why);
    }
    return AO_OK;
}

/* Extracts the current (regular, listed) member below rootfd, hashing it,
 * and compares the hash with the manifest's. */
static int extract_member(reader *r, const char *name, ao_err *err)
{
    const char *base;
    int dfd = open_parent(r->rootfd, name, 0, &base), fd = -1;
    ao_sha256 h;
    unsigned char d[32];
    char hex[65];
    if (dfd < 0) return ao_err_set(err, AO_EDATA, "%s: cannot extract '%.200s': %s", r->archive, name, strerror(errno));
    fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        ao_err_set(err, errno == EEXIST ? AO_EDATA : AO_EIO, "%s: cannot extract '%.200s': %s", r->archive, name, strerror(errno));
        goto ERROR;
    }
    ao_sha256_init(&h);
    for (;;) {
        la_ssize_t got = archive_read_data(r->a, r->buf, PKG_BUF), off = 0;
        if (got < 0) { corrupt(r, err); goto ERROR; }
        if (got == 0) break;
        if ((r->extracted += (uint64_t)got) > r->max_extract) {
            ao_err_set(err, AO_EDATA, "%s: the package unpacks to more than %llu MB (refused at member '%s'; raise AGENTOMICS_MAX_EXTRACT_MB if it is genuine)",
                       r->archive, (unsigned long long)(r->max_extract >> 20), name);
            goto ERROR;
        }
        ao_sha256_update(&h, r->buf, (size_t)got);
        while (off < got) {
            ssize_t w = write(fd, r->buf + off, (size_t)(got - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                ao_err_set(err, AO_EIO, "%s: cannot extract '%.200s': %s", r->archive, name, strerror(errno));
                goto ERROR;
            }
            off += w;
        }
    }
    if (close(fd) != 0) { fd = -1; ao_err_set(err, AO_EIO, "%s: cannot extract '%.200s': %s", r->archive, name, strerror(errno)); goto ERROR; }
    fd = -1;
    close(dfd);
    ao_sha256_final(&h, d);
    ao_sha256_hex(d, hex);
    if (strcmp(hex, jstr(r->files, name)) != 0)
        return ao_err_set(err, AO_EDATA, "%s: tampered member '%s': its sha256 differs from the manifest's", r->archive, name);
    return AO_OK;
ERROR:
    if (fd >= 0) close(fd);
    close(dfd);
    return err->code;
}

static int read_members(reader *r, ao_pkg_tmp *t, ao_err *err)
{
    struct archive_entry *e;
    int first = 1;
    for (;;) {
        const char *name, *why;
        char *dname = NULL;
        int rc = archive_read_next_header(r->a, &e), type;
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK) return corrupt(r, err);
        name = archive_entry_pathname(e);
        if (!name) return ao_err_set(err, AO_EDATA, "%s: a member has no readable path", r->archive);
        type = (int)archive_entry_filetype(e);
        if (archive_entry_hardlink(e))
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': a hard link", r->archive, name);
        if (type == AE_IFLNK || archive_entry_symlink(e))
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': a symbolic link", r->archive, name);
        if (type == AE_IFCHR || type == AE_IFBLK)
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': a device", r->archive, name);
        if (type == AE_IFIFO || type == AE_IFSOCK)
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': a fifo or socket", r->archive, name);
        if (type != AE_IFREG && type != AE_IFDIR)
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': not a regular file", r->archive, name);
        if (archive_entry_sparse_count(e) > 0)
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': a sparse file", r->archive, name);
        if (type == AE_IFDIR) {
            /* directory entries carry nothing; a well-formed name is created */
            size_t n = strlen(name);
            int fd;
            const char *base;
            if (!(dname = strdup(name))) return ao_err_set(err, AO_EMEM, "out of memory");
            if (n > 1 && dname[n - 1] == '/') dname[n - 1] = '\0';
            if ((why = unsafe_path(dname))) {
                ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': %s", r->archive, name, why);
                free(dname);
                return err->code;
            }
            if (first) {
                free(dname);
                return ao_err_set(err, AO_EDATA, "%s: missing %s (it must be the archive's first member)", r->archive, PKG_MANIFEST);
            }
            /* only a directory that a listed member needs, once: an
             * unlisted one could be 3,000 levels deep or one of 200,000 */
            if (!r->dirs && !(r->dirs = listed_dirs(r->files))) { free(dname); return ao_err_set(err, AO_EMEM, "out of memory"); }
            if (!json_object_get(r->dirs, dname)) {
                ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': a directory no listed member needs", r->archive, name);
                free(dname);
                return err->code;
            }
            if (json_object_get(r->seen, dname)) {
                ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': it appears twice", r->archive, name);
                free(dname);
                return err->code;
            }
            if (json_object_set_new(r->seen, dname, json_true()) != 0) { free(dname); return ao_err_set(err, AO_EMEM, "out of memory"); }
            fd = open_parent(r->rootfd, dname, 1, &base);
            free(dname);
            if (fd < 0) return ao_err_set(err, AO_EDATA, "%s: cannot create directory '%s': %s", r->archive, name, strerror(errno));
            close(fd);
            continue;
        }
        if ((why = unsafe_path(name)))
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': %s", r->archive, name, why);
        if (first) {
            char *data;
            size_t len;
            json_error_t je;
            if (strcmp(name, PKG_MANIFEST) != 0)
                return ao_err_set(err, AO_EDATA, "%s: missing %s (it must be the archive's first member)", r->archive, PKG_MANIFEST);
            if (!(data = read_small(r, PKG_MANIFEST_MAX, &len, err))) return err->code;
            t->manifest = json_loadb(data, len, 0, &je);
            free(data);
            if (!t->manifest)
                return ao_err_set(err, AO_EDATA, "%s: %s:%d: %s", r->archive, PKG_MANIFEST, je.line, je.text);
            if (check_manifest(r, t->manifest, err) < 0) return err->code;
            first = 0;
            continue;
        }
        if (strcmp(name, PKG_MANIFEST) == 0)
            return ao_err_set(err, AO_EDATA, "%s: a second %s", r->archive, PKG_MANIFEST);
        if (!json_object_get(r->files, name))
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': not listed in the manifest", r->archive, name);
        if (json_object_get(r->seen, name))
            return ao_err_set(err, AO_EDATA, "%s: refusing member '%.200s': it appears twice", r->archive, name);
        if (json_object_set_new(r->seen, name, json_true()) != 0) return ao_err_set(err, AO_EMEM, "out of memory");
        if (extract_member(r, name, err) < 0) return err->code;
    }
    if (first) return ao_err_set(err, AO_EDATA, "%s: missing %s (no members)", r->archive, PKG_MANIFEST);
    {
        const char *k;
        json_t *v;
        json_object_foreach(r->files, k, v)
            if (!json_object_get(r->seen, k))
                return ao_err_set(err, AO_EDATA, "%s: the manifest lists '%s', which the archive lacks", r->archive, k);
    }
    return AO_OK;
}

/* libarchive does not check the gzip trailer (CRC-32 and length), so a
 * first pass with zlib does: damage anywhere in a compressed package,
 * even in tar padding that no member hash covers, is refused. A plain tar
 * passes through (its headers carry their own checksums). */
static int gzip_check(const char *archive, char *buf, ao_err *err)
{
    gzFile gz = gzopen(archive, "rb");
    int n, errnum = Z_OK;
    const char *msg;
    if (!gz) return ao_err_set(err, AO_EIO, "%s: cannot open: %s", archive, strerror(errno ? errno : ENOMEM));
    while ((n = gzread(gz, buf, PKG_BUF)) > 0) {}
    msg = gzerror(gz, &errnum);
    if (n < 0 || errnum != Z_OK) {
        if (errnum == Z_ERRNO) ao_err_set(err, AO_EIO, "%s: read error: %s", archive, strerror(errno));
        else ao_err_set(err, AO_EDATA, "%s: corrupt or truncated archive: %s", archive,
                        errnum == Z_BUF_ERROR ? "unexpected end of the gzip stream" : msg ? msg : "gzip error");
        gzclose_r(gz);
        return err->code;
    }
    if (gzclose_r(gz) != Z_OK) return ao_err_set(err, AO_EDATA, "%s: corrupt or truncated archive: bad gzip stream", archive);
    return AO_OK;
}

void ao_pkg_tmp_destroy(ao_pkg_tmp *t)
{
    if (!t) return;
    if (t->dir) ao_rm_rf(t->dir);
    ao_cleanup_remove(t->cleanup);
    free(t->dir);
    free(t->model_dir);
    json_decref(t->manifest);
    free(t);
}

ao_pkg_tmp *ao_package_open(const char *archive, ao_err *err)
{
    ao_pkg_tmp *t = calloc(1, sizeof *t);
    reader r;
    const char *tmpdir = getenv("TMPDIR"), *entry;
    char *ent = NULL;
    struct stat st;
    size_t n;
    memset(&r, 0, sizeof r);
    r.archive = archive;
    r.rootfd = -1;
    r.max_extract = (uint64_t)AO_PACKAGE_MAX_EXTRACT_MB << 20;
    {
        const char *cap = getenv("AGENTOMICS_MAX_EXTRACT_MB");
        char *end = NULL;
        unsigned long long mb = cap && *cap ? strtoull(cap, &end, 10) : 0;
        if (cap && *cap && end && !*end && mb > 0) r.max_extract = (uint64_t)mb << 20;
    }
    if (!t) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    t->cleanup = -1;
    if (stat(archive, &st) != 0) { ao_err_set(err, AO_EIO, "%s: cannot open: %s", archive, strerror(errno)); goto ERROR; }
    if (!S_ISREG(st.st_mode)) { ao_err_set(err, AO_EDATA, "%s: not a model package (a regular file)", archive); goto ERROR; }
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    if (asprintf(&t->dir, "%s/agentomics-model.XXXXXX", tmpdir) < 0) { t->dir = NULL; ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!mkdtemp(t->dir)) {
        ao_err_set(err, AO_EIO, "%s: cannot create a temporary directory: %s", t->dir, strerror(errno));
        free(t->dir);
        t->dir = NULL;
        goto ERROR;
    }
    t->cleanup = ao_cleanup_add(t->dir);
    if ((r.rootfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        ao_err_set(err, AO_EIO, "%s: %s", t->dir, strerror(errno));
        goto ERROR;
    }
    if (!(r.seen = json_object()) || !(r.buf = malloc(PKG_BUF)) || !(r.a = archive_read_new())) {
        ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    if (gzip_check(archive, r.buf, err) < 0) goto ERROR;
    archive_read_support_filter_gzip(r.a);
    archive_read_support_format_tar(r.a);
    if (archive_read_open_filename(r.a, archive, PKG_BUF) != ARCHIVE_OK) {
        int e = archive_errno(r.a);
        if (e == ENOENT || e == EACCES || e == EISDIR) ao_err_set(err, AO_EIO, "%s: cannot open: %s", archive, strerror(e));
        else corrupt(&r, err);
        goto ERROR;
    }
    if (read_members(&r, t, err) < 0) goto ERROR;
    entry = jstr(t->manifest, "model_entry");
    if (!entry) entry = PKG_MODEL_ENTRY;
    if (!(ent = strdup(entry))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    n = strlen(ent);
    if (n > 1 && ent[n - 1] == '/') ent[n - 1] = '\0';
    if (!(t->model_dir = ao_path_join(t->dir, ent))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (!ao_is_dir(t->model_dir)) {
        ao_err_set(err, AO_EDATA, "%s: the package holds no model ('%s')", archive, entry);
        goto ERROR;
    }
    free(ent);
    archive_read_free(r.a);
    close(r.rootfd);
    json_decref(r.seen);
    json_decref(r.dirs);
    free(r.buf);
    return t;
ERROR:
    free(ent);
    if (r.a) archive_read_free(r.a);
    if (r.rootfd >= 0) close(r.rootfd);
    json_decref(r.seen);
    json_decref(r.dirs);
    free(r.buf);
    ao_pkg_tmp_destroy(t);
    return NULL;
}

/* A bare model file (model.aom) is used as it is, like a model directory. */
static int is_model_file(const char *path)
{
    char magic[8];
    FILE *fp = fopen(path, "rb");
    int yes;
    if (!fp) return 0;
    yes = fread(magic, 1, 8, fp) == 8 && memcmp(magic, "AOMODEL", 8) == 0;
    fclose(fp);
    return yes;
}

int ao_model_path_resolve(const char *model_arg, char **model_dir, ao_pkg_tmp **tmp, ao_err *err)
{
    ao_pkg_tmp *t;
    *model_dir = NULL;
    *tmp = NULL;
    if (!model_arg) return ao_err_set(err, AO_EUSAGE, "no model given");
    if (ao_is_dir(model_arg) || is_model_file(model_arg)) {
        if (!(*model_dir = strdup(model_arg))) return ao_err_set(err, AO_EMEM, "out of memory");
        return AO_OK;
    }
    if (!(t = ao_package_open(model_arg, err))) return err->code;
    if (!(*model_dir = strdup(t->model_dir))) {
        ao_pkg_tmp_destroy(t);
        return ao_err_set(err, AO_EMEM, "out of memory");
    }
    ao_info("%s: verified %zu members; model extracted to %s", model_arg,
            json_object_size(json_object_get(t->manifest, "files")), t->model_dir);
    *tmp = t;
    return AO_OK;
}
