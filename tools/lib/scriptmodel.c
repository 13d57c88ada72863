/* scriptmodel.c — models trained and run by agent-written code.
 *
 * The two entries never run outside the sandbox (sandbox.h). Everything
 * that can go wrong on the agent's side (a missing entry, a crash, a
 * timeout, a malformed prediction file) is reported in an
 * ao_script_report with ok == 0 and a message written for the model that
 * will read it; only faults of the caller or the machine (no bwrap, I/O,
 * memory) are error codes.
 *
 * Static leakage check: which files are scanned. The inference entry runs
 * with nothing of the run visible, so a reference to the splits can only
 * fail at run time; the check exists to tell the agent early and by
 * FILE:LINE. It scans the inference entry and, transitively, every text
 * file of the workspace that an already scanned file names: by its base
 * name ("helpers.R", "config.yaml") or, for source files, by its stem or
 * a directory component ("import features", "from pkg.sub import x").
 * That is a language-agnostic over-approximation of "what it could
 * import". The training entry itself is never scanned: it legitimately
 * reads /data/train.tsv. Lines whose first non-blank characters are '#'
 * or '//' are comments and skipped.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/log.h"
#include "agentomics/metrics.h"
#include "agentomics/predfile.h"
#include "agentomics/sandbox.h"
#include "agentomics/scriptmodel.h"
#include "agentomics/tsv.h"

#define WS_MAX_BYTES (100LL << 20)   /* workspace copied into a model: 100 MiB at most */
#define WS_MAX_FILES 20000
#define WS_MAX_DEPTH 32
#define SCAN_MAX_BYTES (4L << 20)    /* larger files are data, not source */
#define OUTPUT_KEEP 8192             /* bytes of an entry's output kept in a report */
#define LOG_TAIL_MAX 4096
#define PROBA_TOL 1e-3

/* ====================================================================== */
/* The spec                                                               */
/* ====================================================================== */

void ao_script_spec_free(ao_script_spec *s)
{
    if (!s) return;
    free(s->interpreter);
    free(s->train_entry);
    free(s->inference_entry);
    memset(s, 0, sizeof *s);
}

/* A workspace-relative entry path in canonical form ("./a//b.py" ->
 * "a/b.py"), or NULL with *why set (why is NULL when out of memory). */
static char *entry_path(const char *p, const char **why)
{
    char *out, *o;
    const char *c = p;
    *why = NULL;
    if (!*p) { *why = "is empty"; return NULL; }
    if (p[0] == '/') { *why = "is absolute (give a path relative to the workspace)"; return NULL; }
    for (; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) { *why = "contains a control character"; return NULL; }
    if (!(out = malloc(strlen(p) + 1))) return NULL;
    o = out;
    for (c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') { free(out); *why = "contains '..'"; return NULL; }
        if (n > 0 && !(n == 1 && c[0] == '.')) {
            if (o > out) *o++ = '/';
            memcpy(o, c, n);
            o += n;
        }
        c += n;
        if (*c == '/') c++;
    }
    *o = '\0';
    if (o == out) { free(out); *why = "names no file"; return NULL; }
    return out;
}

int ao_script_spec_parse(const json_t *code_output, ao_script_spec *s, ao_err *err)
{
    static const char *const fields[] = {"train_entry", "inference_entry"};
    const json_t *in;
    const char *entry, *why;
    char **dst[2];
    int i;
    memset(s, 0, sizeof *s);
    dst[0] = &s->train_entry;
    dst[1] = &s->inference_entry;
    if (!json_is_object(code_output)) return ao_err_set(err, AO_EDATA, "the code step's output is not a JSON object");
    /* script-model.json has no "entry"; a code step output must say "script" */
    entry = json_string_value(json_object_get(code_output, "entry"));
    if (json_object_get(code_output, "entry") && (!entry || strcmp(entry, "script") != 0))
        return ao_err_set(err, AO_EDATA, "code output: \"entry\" is '%s', not \"script\"", entry ? entry : "(not a string)");
    in = json_object_get(code_output, "interpreter");
    if (in && !json_is_null(in)) {
        const char *v = json_string_value(in), *c;
        if (!v) return ao_err_set(err, AO_EDATA, "code output: \"interpreter\" must be an absolute path or null");
        if (v[0] != '/') return ao_err_set(err, AO_EDATA, "code output: interpreter '%s' is not an absolute path (e.g. /usr/bin/python3)", v);
        for (c = v; *c; c++)
            if (isspace((unsigned char)*c) || (unsigned char)*c < 0x20)
                return ao_err_set(err, AO_EDATA, "code output: interpreter '%s' must be one absolute path, without arguments", v);
        if (!(s->interpreter = strdup(v))) goto MEM;
    }
    for (i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(code_output, fields[i]));
        if (!v) { ao_script_spec_free(s); return ao_err_set(err, AO_EDATA, "code output: \"%s\" (a path relative to the workspace) is missing", fields[i]); }
        if (!(*dst[i] = entry_path(v, &why))) {
            ao_script_spec_free(s);
            if (!why) goto MEM;
            return ao_err_set(err, AO_EDATA, "code output: %s '%s' %s", fields[i], v, why);
        }
    }
    return AO_OK;
MEM:
    ao_script_spec_free(s);
    return ao_err_set(err, AO_EMEM, "out of memory");
}

json_t *ao_script_spec_json(const ao_script_spec *s)
{
    return json_pack("{s:s,s:s?,s:s,s:s}", "entry", "script", "interpreter", s->interpreter,
                     "train_entry", s->train_entry, "inference_entry", s->inference_entry);
}

void ao_script_report_clear(ao_script_report *r)
{
    if (!r) return;
    free(r->output);
    memset(r, 0, sizeof *r);
}

static void report_fail(ao_script_report *r, const char *fmt, ...) AO_PRINTF(2, 3);
static void report_fail(ao_script_report *r, const char *fmt, ...)
{
    va_list ap;
    r->ok = 0;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

/* ====================================================================== */
/* The workspace's files                                                  */
/* ====================================================================== */

typedef struct ws_file {
    char *rel;
    off_t size;
    mode_t mode;
} ws_file;

typedef struct ws_list {
    ws_file *f;
    size_t n, cap;
    off_t bytes;
    char *odd;       /* the first entry that is neither a file nor a directory */
    const char *shown; /* the root's sandbox path, for messages ("/workspace") */
} ws_list;

static void ws_list_free(ws_list *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) free(l->f[i].rel);
    free(l->f);
    free(l->odd);
    memset(l, 0, sizeof *l);
}

static int ws_cmp(const void *a, const void *b) { return strcmp(((const ws_file *)a)->rel, ((const ws_file *)b)->rel); }

/* Every regular file below root/rel (lstat: links are never followed,
 * and recorded in l->odd with other special files). AO_EDATA past the
 * file count or depth caps. */
static int ws_walk(const char *root, const char *rel, int depth, ws_list *l, ao_err *err)
{
    char *dir = rel ? ao_path_join(root, rel) : strdup(root), *path = NULL, *sub = NULL;
    DIR *d = NULL;
    struct dirent *de;
    int rc = AO_OK;
    if (!dir) return ao_err_set(err, AO_EMEM, "out of memory");
    /* what the agent's commands made is its fault (AO_EDATA: a failed
     * iteration), named by its sandbox path */
    if (depth > WS_MAX_DEPTH) { rc = ao_err_set(err, AO_EDATA, "%s/%s: directories nested deeper than %d levels", l->shown, rel, WS_MAX_DEPTH); goto DONE; }
    if (!(d = opendir(dir))) { rc = ao_err_set(err, AO_EDATA, "%s%s%s: cannot open directory: %s", l->shown, rel ? "/" : "", rel ? rel : "", strerror(errno)); goto DONE; }
    while ((errno = 0, de = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        free(path);
        free(sub);
        sub = rel ? ao_path_join(rel, de->d_name) : strdup(de->d_name);
        path = ao_path_join(root, sub ? sub : "");
        if (!sub || !path) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if (lstat(path, &st) != 0) { rc = ao_err_set(err, AO_EDATA, "%s/%s: %s", l->shown, sub, strerror(errno)); goto DONE; }
        if (S_ISDIR(st.st_mode)) {
            if ((rc = ws_walk(root, sub, depth + 1, l, err)) < 0) goto DONE;
        } else if (S_ISREG(st.st_mode)) {
            if (l->n >= WS_MAX_FILES) { rc = ao_err_set(err, AO_EDATA, "more than %d files", WS_MAX_FILES); goto DONE; }
            if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 64;
                ws_file *f = realloc(l->f, cap * sizeof *f);
                if (!f) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
                l->f = f;
                l->cap = cap;
            }
            l->f[l->n].rel = sub;
            l->f[l->n].size = st.st_size;
            l->f[l->n].mode = st.st_mode;
            l->n++;
            l->bytes += st.st_size;
            sub = NULL;
        } else if (!l->odd) {
            l->odd = sub;
            sub = NULL;
        }
    }
    if (errno != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot read directory: %s", dir, strerror(errno));
DONE:
    if (d) closedir(d);
    free(dir);
    free(path);
    free(sub);
    return rc;
}

static int ws_list_load(const char *root, const char *shown, ws_list *l, ao_err *err)
{
    int rc;
    memset(l, 0, sizeof *l);
    l->shown = shown;
    if ((rc = ws_walk(root, NULL, 0, l, err)) < 0) return rc;
    if (l->n) qsort(l->f, l->n, sizeof *l->f, ws_cmp);
    return AO_OK;
}

/* Copies src to a new file dst (O_EXCL), keeping the executable bits. */
static int copy_file(const char *src, const char *dst, mode_t mode, ao_err *err)
{
    char buf[65536];
    int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = AO_OK;
    ssize_t n;
    if (in < 0) return ao_err_set(err, AO_EIO, "%s: cannot open: %s", src, strerror(errno));
    if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode & 0111) ? 0755 : 0644)) < 0) {
        rc = ao_err_set(err, AO_EIO, "%s: cannot create: %s", dst, strerror(errno));
        goto DONE;
    }
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = ao_err_set(err, AO_EIO, "%s: read error: %s", src, strerror(errno));
            goto DONE;
        }
        if (write(out, buf, (size_t)n) != n) { rc = ao_err_set(err, AO_EIO, "%s: write error: %s", dst, strerror(errno)); goto DONE; }
    }
    if (close(out) != 0) { out = -1; rc = ao_err_set(err, AO_EIO, "%s: write error: %s", dst, strerror(errno)); }
    out = -1;
DONE:
    if (out >= 0) close(out);
    close(in);
    return rc;
}

/* ====================================================================== */
/* Static leakage check                                                   */
/* ====================================================================== */

static int word_char(int c) { return isalnum(c) || c == '_'; }

/* Whether needle occurs in text [t, t+n) with no identifier character on
 * either side. */
static int has_word(const char *t, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    const char *p = t, *end = t + n;
    if (!k) return 0;
    while (p + k <= end && (p = memmem(p, (size_t)(end - p), needle, k)) != NULL) {
        int before = p > t && word_char((unsigned char)p[-1]);
        int after = p + k < end && word_char((unsigned char)p[k]);
        if (!before && !after) return 1;
        p++;
    }
    return 0;
}

static int source_ext(const char *name)
{
    static const char *const ext[] = {".py", ".R", ".r", ".sh", ".bash", ".jl", ".pl", ".pm", ".rb", ".js", ".mjs", ".lua", ".awk", NULL};
    const char *dot = strrchr(name, '.');
    int i;
    for (i = 0; dot && ext[i]; i++)
        if (!strcmp(dot, ext[i])) return 1;
    return 0;
}

/* Whether text names workspace file rel: its base name, or for source
 * files its stem or one of its directories. */
static int names_file(const char *text, size_t n, const char *rel)
{
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel, *c;
    char part[PATH_MAX];
    if (has_word(text, n, base)) return 1;
    if (!source_ext(base)) return 0;
    snprintf(part, sizeof part, "%.*s", (int)(strrchr(base, '.') - base), base);
    if (*part && has_word(text, n, part)) return 1;
    for (c = rel; c < base;) {
        size_t k = strcspn(c, "/");
        snprintf(part, sizeof part, "%.*s", (int)k, c);
        if (has_word(text, n, part)) return 1;
        c += k + 1;
    }
    return 0;
}

/* The first reference to a split, label or held-out file in line [p, p+n),
 * or NULL. */
static const char *leak_in_line(const char *p, size_t n)
{
    static const char *const words[] = {"train.tsv", "valid.tsv", "test.tsv", NULL};
    size_t i;
    int w;
    for (w = 0; words[w]; w++)
        if (has_word(p, n, words[w])) return words[w];
    for (i = 0; i < n; i++) {
        int prev = i > 0 ? (unsigned char)p[i - 1] : ' ';
        /* "/data" as a path of its own: not ".../metadata" or "out/data.pkl" */
        if (i + 5 <= n && !memcmp(p + i, "/data", 5) && !word_char(prev) && !strchr(".~-/", prev)) {
            int next = i + 5 < n ? (unsigned char)p[i + 5] : ' ';
            if (next == '/' || (!word_char(next) && !strchr(".-", next))) return "/data";
        }
        if (i + 7 <= n && !strncasecmp(p + i, "heldout", 7) && !isalnum(prev)) return "heldout";
        if (i + 6 <= n && !memcmp(p + i, "split/", 6) && !word_char(prev) && prev != '.') return "split/";
    }
    return NULL;
}

/* Scans one file's text; sets msg on the first finding and counts all. */
static void scan_text(const char *rel, const char *t, size_t n, char *msg, size_t msg_size, int *found)
{
    const char *p = t, *end = t + n;
    long line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end, *q = p, *what;
        line++;
        while (q < eol && (*q == ' ' || *q == '\t')) q++;
        if (!(q < eol && (*q == '#' || (q + 1 < eol && q[0] == '/' && q[1] == '/'))) && (what = leak_in_line(p, (size_t)(eol - p)))) {
            if (!*found) snprintf(msg, msg_size, "%s:%ld: refers to '%s'", rel, line, what);
            (*found)++;
        }
        p = eol + 1;
    }
}

int ao_script_static_check(const ao_script_spec *s, const char *workspace, char *msg, size_t msg_size, ao_err *err)
{
    ws_list l;
    char **text = NULL;
    size_t *len = NULL, i, j;
    int *in = NULL, rc, found = 0, grew, entry = -1;
    if (msg_size) msg[0] = '\0';
    if ((rc = ws_list_load(workspace, "/workspace", &l, err)) < 0) {
        /* a workspace its own commands made unwalkable is a finding, not an error */
        if (rc != AO_EDATA) return rc;
        snprintf(msg, msg_size, "%s", err->msg);
        ao_err_init(err);
        return 0;
    }
    text = calloc(l.n + 1, sizeof *text);
    len = calloc(l.n + 1, sizeof *len);
    in = calloc(l.n + 1, sizeof *in);
    if (!text || !len || !in) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (i = 0; i < l.n; i++) {
        char *path;
        if (!strcmp(l.f[i].rel, s->inference_entry)) entry = (int)i;
        if (l.f[i].size > SCAN_MAX_BYTES || !strcmp(l.f[i].rel, s->train_entry)) continue;
        if (!(path = ao_path_join(workspace, l.f[i].rel))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        text[i] = ao_read_file(path, &len[i], err);
        free(path);
        if (!text[i]) goto DONE_ERR;
        if (memchr(text[i], '\0', len[i])) { free(text[i]); text[i] = NULL; }   /* binary: not source */
    }
    if (entry < 0) {
        snprintf(msg, msg_size, "%s: the inference entry is not a regular file of the workspace", s->inference_entry);
        rc = 0;
        goto DONE;
    }
    if (!strcmp(s->inference_entry, s->train_entry)) { rc = 1; goto DONE; }
    /* the closure of "names" from the inference entry */
    in[entry] = 1;
    do {
        grew = 0;
        for (i = 0; i < l.n; i++) {
            if (in[i] != 1 || !text[i]) continue;
            in[i] = 2;
            for (j = 0; j < l.n; j++)
                if (!in[j] && text[j] && names_file(text[i], len[i], l.f[j].rel)) { in[j] = 1; grew = 1; }
        }
    } while (grew);
    for (i = 0; i < l.n; i++)
        if (in[i] && text[i]) scan_text(l.f[i].rel, text[i], len[i], msg, msg_size, &found);
    if (found > 1) {
        size_t k = strlen(msg);
        snprintf(msg + k, msg_size - k, " (and %d more reference%s)", found - 1, found > 2 ? "s" : "");
    }
    rc = found ? 0 : 1;
    goto DONE;
DONE_ERR:
    rc = err->code;
DONE:
    if (text) for (i = 0; i < l.n; i++) free(text[i]);
    free(text);
    free(len);
    free(in);
    ws_list_free(&l);
    return rc;
}

/* ====================================================================== */
/* Running an entry                                                       */
/* ====================================================================== */

/* The environment both entries get (sandbox.h adds the basics). */
typedef struct entry_env {
    char threads[4][48];
    char seed[48];
    char *classes;
    const char *list[7];
} entry_env;

static int entry_env_init(entry_env *e, const ao_dataset_info *info, int threads, uint64_t seed, ao_err *err)
{
    static const char *const names[] = {"AO_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"};
    size_t n = strlen("AO_CLASSES=") + 1;
    int i;
    memset(e, 0, sizeof *e);
    for (i = 0; i < info->n_classes; i++) n += strlen(info->classes[i]) + 1;
    if (!(e->classes = malloc(n))) return ao_err_set(err, AO_EMEM, "out of memory");
    strcpy(e->classes, "AO_CLASSES=");
    for (i = 0; i < info->n_classes; i++) {
        if (i) strcat(e->classes, ",");
        strcat(e->classes, info->classes[i]);
    }
    for (i = 0; i < 4; i++) {
        snprintf(e->threads[i], sizeof e->threads[i], "%s=%d", names[i], threads > 0 ? threads : 1);
        e->list[i] = e->threads[i];
    }
    snprintf(e->seed, sizeof e->seed, "AO_SEED=%llu", (unsigned long long)seed);
    e->list[4] = e->classes;
    e->list[5] = e->seed;
    e->list[6] = NULL;
    return AO_OK;
}

/* The last non-blank line of an entry's output (its error, usually). */
static void last_line(const char *out, char *buf, size_t size)
{
    const char *end = out ? out + strlen(out) : NULL, *b;
    buf[0] = '\0';
    if (!out) return;
    while (end > out && isspace((unsigned char)end[-1])) end--;
    for (b = end; b > out && b[-1] != '\n'; b--) {}
    if (end > b) snprintf(buf, size, ": %.*s", (int)(end - b > 200 ? 200 : end - b), b);
}

/* Runs one entry in the sandbox and fills rep from how it went. */
static int run_entry(const char *what, const ao_script_spec *s, const char *entry_path, const char *const *args,
                     const ao_sandbox_mount *mounts, int n_mounts, const char *cwd, const ao_script_limits *lim,
                     int gpus, const entry_env *env, ao_script_report *rep, ao_err *err)
{
    const char *argv[8];
    ao_sandbox_opts o;
    ao_sandbox_result r;
    char tail[256];
    int a = 0, rc;
    memset(&r, 0, sizeof r);
    if (s->interpreter) argv[a++] = s->interpreter;
    argv[a++] = entry_path;
    for (; *args && a < 7; args++) argv[a++] = *args;
    argv[a] = NULL;
    ao_sandbox_opts_init(&o);
    o.mounts = mounts;
    o.n_mounts = n_mounts;
    o.cwd = cwd;
    o.env = env->list;
    o.timeout = lim && lim->time_limit > 0 ? lim->time_limit : 0;
    o.cpu_seconds = 0;   /* the wall clock bounds it; CPU seconds would punish threads */
    o.mem_mb = lim ? lim->mem_mb : 0;
    o.output_max = OUTPUT_KEEP;
    o.log_path = lim ? lim->log_path : NULL;
    o.gpus = gpus;
    if ((rc = ao_sandbox_run(&o, argv, &r, err)) < 0) goto DONE;
    rep->exit_code = r.exit_code;
    rep->timed_out = r.timed_out;
    rep->seconds = r.seconds;
    free(rep->output);
    if (!(rep->output = ao_sandbox_describe(&r))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    last_line(r.output, tail, sizeof tail);
    rep->ok = 0;
    if (r.timed_out) report_fail(rep, "the %s entry was killed after the %g s time limit", what, o.timeout);
    else if (r.signal) report_fail(rep, "the %s entry was killed by signal %d (%s)%s", what, r.signal, strsignal(r.signal), tail);
    else if (r.exit_code != 0) report_fail(rep, "the %s entry exited with status %d%s", what, r.exit_code, tail);
    else {
        rep->ok = 1;
        snprintf(rep->message, sizeof rep->message, "the %s entry finished in %.2f s", what, r.seconds);
    }
DONE:
    ao_sandbox_result_clear(&r);
    return rc;
}

/* Checks that an entry can be run: a regular file of dir; executable
 * when there is no interpreter; an interpreter that exists. 1 or 0 with
 * rep failed. */
static int entry_runnable(const char *what, const ao_script_spec *s, const char *dir, const char *rel, ao_script_report *rep, ao_err *err)
{
    char *path = ao_path_join(dir, rel);
    struct stat st;
    int ok = 0;
    if (!path) return ao_err_set(err, AO_EMEM, "out of memory");
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) report_fail(rep, "the %s entry '%s' is not a regular file of the workspace", what, rel);
    else if (!s->interpreter && !(st.st_mode & 0111))
        report_fail(rep, "the %s entry '%s' is not executable and no interpreter was given", what, rel);
    else if (s->interpreter && access(s->interpreter, X_OK) != 0)
        report_fail(rep, "the interpreter '%s' does not exist in this environment", s->interpreter);
    else ok = 1;
    free(path);
    return ok;
}

/* ====================================================================== */
/* Training                                                               */
/* ====================================================================== */

static int write_model_json(const ao_script_spec *s, const ao_dataset_info *info, uint64_t seed, const char *path, ao_err *err)
{
    json_t *j = ao_script_spec_json(s), *cls = json_array();
    int i, rc = AO_OK;
    if (!j || !cls) { json_decref(j); json_decref(cls); return ao_err_set(err, AO_EMEM, "out of memory"); }
    json_object_del(j, "entry");
    if (!s->interpreter) json_object_set_new(j, "interpreter", json_null());
    for (i = 0; i < info->n_classes; i++) json_array_append_new(cls, json_string(info->classes[i]));
    json_object_set_new(j, "format_version", json_integer(1));
    json_object_set_new(j, "kind", json_string("script"));
    json_object_set_new(j, "tool", json_string("agentomics " AO_VERSION));
    json_object_set_new(j, "classes", cls);
    json_object_set_new(j, "seed", json_integer((json_int_t)seed));
    if (json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot write", path);
    json_decref(j);
    return rc;
}

int ao_script_train(const ao_script_spec *s, const char *workspace, const char *data_dir,
                    const char *train_tsv, const char *valid_tsv, const char *model_dir,
                    const ao_script_limits *lim, ao_script_report *rep, ao_err *err)
{
    ao_dataset_info *info = NULL;
    ao_outdir *od = NULL;
    ws_list l, art;
    entry_env env;
    char *ws = NULL, *tr = NULL, *va = NULL, *ds = NULL, *ds_real = NULL, *code = NULL, *arts = NULL, *entry = NULL, *p = NULL;
    size_t i;
    int rc = AO_OK;
    memset(&l, 0, sizeof l);
    memset(&art, 0, sizeof art);
    memset(&env, 0, sizeof env);
    ao_script_report_clear(rep);
    /* caller-side inputs: their absence is not the agent's fault */
    if (!(ds = ao_path_join(data_dir, "dataset.json"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(ws = realpath(workspace, NULL))) { rc = ao_err_set(err, AO_EIO, "%s: %s", workspace, strerror(errno)); goto DONE; }
    if (!(tr = realpath(train_tsv, NULL))) { rc = ao_err_set(err, AO_EIO, "%s: %s", train_tsv, strerror(errno)); goto DONE; }
    if (!(va = realpath(valid_tsv, NULL))) { rc = ao_err_set(err, AO_EIO, "%s: %s", valid_tsv, strerror(errno)); goto DONE; }
    if (!(ds_real = realpath(ds, NULL))) { rc = ao_err_set(err, AO_EIO, "%s: %s", ds, strerror(errno)); goto DONE; }
    if (!(info = ao_dataset_info_load(ds_real, err))) { rc = err->code; goto DONE; }
    if ((rc = entry_runnable("training", s, ws, s->train_entry, rep, err)) <= 0) goto DONE;
    if ((rc = entry_runnable("inference", s, ws, s->inference_entry, rep, err)) <= 0) goto DONE;
    rc = AO_OK;

    /* code/: the workspace as it is now, so that inference runs the code that trained */
    if ((rc = ws_list_load(ws, "/workspace", &l, err)) < 0) {
        if (rc != AO_EDATA) goto DONE;
        report_fail(rep, "the workspace cannot be kept with the model: %s", err->msg);
        ao_err_init(err);
        rc = AO_OK;
        goto DONE;
    }
    if (l.bytes > WS_MAX_BYTES) {
        report_fail(rep, "the workspace holds %.1f MiB of files, more than the %lld MiB kept with a model: keep data and outputs out of it",
                    (double)l.bytes / (1 << 20), WS_MAX_BYTES >> 20);
        goto DONE;
    }
    if (!(od = ao_outdir_create(model_dir, 0, err))) { rc = err->code; goto DONE; }
    if (!(code = ao_path_join(od->tmp, "code")) || !(arts = ao_path_join(od->tmp, "artifacts"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = ao_mkdir_p(code, err)) < 0 || (rc = ao_mkdir_p(arts, err)) < 0) goto DONE;
    for (i = 0; i < l.n; i++) {
        char *src = ao_path_join(ws, l.f[i].rel), *dst = src ? ao_path_join(code, l.f[i].rel) : NULL;
        if (!src || !dst) { free(src); free(dst); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        *strrchr(dst, '/') = '\0';
        rc = ao_mkdir_p(dst, err);
        dst[strlen(dst)] = '/';
        if (rc >= 0) rc = copy_file(src, dst, l.f[i].mode, err);
        free(src);
        free(dst);
        if (rc < 0) goto DONE;
    }

    {
        const ao_sandbox_mount m[] = {{ws, "/workspace", 0}, {tr, "/data/train.tsv", 0}, {va, "/data/valid.tsv", 0},
                                      {ds_real, "/data/dataset.json", 0}, {arts, "/model", 1}};
        const char *args[] = {"/data/train.tsv", "/data/valid.tsv", "/model", NULL};
        if (asprintf(&entry, "/workspace/%s", s->train_entry) < 0) { entry = NULL; rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if ((rc = entry_env_init(&env, info, lim->threads, lim->seed, err)) < 0) goto DONE;
        if ((rc = run_entry("training", s, entry, args, m, (int)(sizeof m / sizeof *m), "/workspace", lim, lim->gpus, &env, rep, err)) < 0) goto DONE;
    }
    if (!rep->ok) goto DONE;
    /* a package holds regular files only: say so now, not at packaging */
    if ((rc = ws_list_load(arts, "/model", &art, err)) < 0) {
        if (rc != AO_EDATA) goto DONE;
        report_fail(rep, "the model directory cannot be kept: %s", err->msg);
        ao_err_init(err);
        rc = AO_OK;
        goto DONE;
    }
    if (art.odd) { report_fail(rep, "the training entry left /model/%s, which is not a regular file or directory", art.odd); goto DONE; }
    if (!(p = ao_outdir_path(od, AO_SCRIPT_MODEL_FILE, err))) { rc = err->code; goto DONE; }
    if ((rc = write_model_json(s, info, lim->seed, p, err)) < 0) goto DONE;
    free(p);
    if (!(p = ao_outdir_path(od, "dataset.json", err))) { rc = err->code; goto DONE; }
    if ((rc = copy_file(ds_real, p, 0644, err)) < 0) goto DONE;
    rc = ao_outdir_commit(od, err);
DONE:
    if (rc < 0) rep->ok = 0;
    ao_outdir_destroy(od);   /* removes the model unless committed */
    ao_dataset_info_destroy(info);
    ws_list_free(&l);
    ws_list_free(&art);
    free(env.classes);
    free(ws); free(tr); free(va); free(ds); free(ds_real); free(code); free(arts); free(entry); free(p);
    return rc;
}

/* ====================================================================== */
/* Prediction                                                             */
/* ====================================================================== */

int ao_script_model_is(const char *model_dir)
{
    char *p = model_dir ? ao_path_join(model_dir, AO_SCRIPT_MODEL_FILE) : NULL;
    int yes = p && ao_file_exists(p);
    free(p);
    return yes;
}

ao_dataset_info *ao_script_model_info(const char *model_dir, ao_err *err)
{
    char *p = ao_path_join(model_dir, "dataset.json");
    ao_dataset_info *d;
    if (!p) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    d = ao_dataset_info_load(p, err);
    free(p);
    return d;
}

/* script-model.json as JSON; AO_EDATA naming it when it is not an object. */
static int load_description(const char *model_dir, char **path, json_t **j, ao_err *err)
{
    json_error_t je;
    json_t *x;
    *j = NULL;
    if (!(*path = ao_path_join(model_dir, AO_SCRIPT_MODEL_FILE))) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!(x = json_load_file(*path, 0, &je))) return ao_err_set(err, ao_file_exists(*path) ? AO_EDATA : AO_EIO, "%s:%d: %s", *path, je.line, je.text);
    if (!json_is_object(x)) { json_decref(x); return ao_err_set(err, AO_EDATA, "%s: not a JSON object", *path); }
    *j = x;
    return AO_OK;
}

int ao_script_model_threshold(const char *model_dir, double *t, ao_err *err)
{
    char *path = NULL;
    json_t *j = NULL, *v;
    int rc;
    *t = NAN;
    if ((rc = load_description(model_dir, &path, &j, err)) < 0) goto DONE;
    if ((v = json_object_get(j, "threshold"))) {
        /* hostile: as in a builtin model's META */
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (!ao_threshold_usable(x, (int)json_array_size(json_object_get(j, "classes")))) {
            rc = ao_err_set(err, AO_EDATA, "%s: threshold must be a finite number in (0, 1) of a two-class model", path);
            goto DONE;
        }
        *t = x;
    }
DONE:
    json_decref(j);
    free(path);
    return rc;
}

int ao_script_model_set_threshold(const char *model_dir, double t, ao_err *err)
{
    char *path = NULL;
    json_t *j = NULL;
    ao_outfile *of = NULL;
    int rc;
    if ((rc = load_description(model_dir, &path, &j, err)) < 0) goto DONE;
    if (json_object_set_new(j, "threshold", json_real(t)) != 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(of = ao_outfile_open(path, err))) { rc = err->code; goto DONE; }
    if (json_dumpf(j, of->fp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) { rc = ao_err_set(err, AO_EIO, "%s: cannot write", path); goto DONE; }
    rc = ao_outfile_commit(of, err);
DONE:
    ao_outfile_destroy(of);
    json_decref(j);
    free(path);
    return rc;
}

/* Input ids -> row, for checking a prediction file. */
typedef struct id_index {
    int64_t *slot;   /* row + 1; 0 empty */
    size_t mask;
} id_index;

static int64_t *id_slot(const id_index *x, const ao_seqset *s, const char *id)
{
    size_t i = (size_t)ao_hash64(id, strlen(id), 0) & x->mask;
    for (;; i = (i + 1) & x->mask)
        if (!x->slot[i] || !strcmp(s->ids[x->slot[i] - 1], id)) return &x->slot[i];
}

static int id_index_build(id_index *x, const ao_seqset *s, ao_err *err)
{
    size_t cap = 16;
    int64_t i;
    while (cap < 2 * (size_t)s->n + 1) cap *= 2;
    if (!(x->slot = calloc(cap, sizeof *x->slot))) return ao_err_set(err, AO_EMEM, "out of memory");
    x->mask = cap - 1;
    for (i = 0; i < s->n; i++) {
        int64_t *sl = id_slot(x, s, s->ids[i]);
        if (*sl) return ao_err_set(err, AO_EDATA, "input id '%.100s' occurs twice: predictions could not be matched to rows", s->ids[i]);
        *sl = i + 1;
    }
    return AO_OK;
}

/* Checks predictions.tsv (text of len bytes, taken) against the input;
 * fills proba. 1 valid, 0 not (rep failed), < -1 errors. */
static int check_predictions(char *text, size_t len, const ao_dataset_info *info, const ao_seqset *s, double *proba,
                             ao_script_report *rep, ao_err *err)
{
    const int K = info->n_classes;
    ao_err perr;
    ao_tsv *t;
    id_index x = {NULL, 0};
    int *pcol = NULL, idc, prc, c, rc = 1;
    unsigned char *seen = NULL;
    size_t r;
    int64_t i, got = 0;
    ao_err_init(&perr);
    if (!(t = ao_tsv_parse("predictions.tsv", text, len, &perr))) {
        if (perr.code == AO_EMEM) return ao_err_set(err, AO_EMEM, "out of memory");
        report_fail(rep, "%s", perr.msg);
        return 0;
    }
    if (!(pcol = malloc(sizeof *pcol * (size_t)K)) || !(seen = calloc((size_t)s->n + 1, 1))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    idc = ao_tsv_col(t, "id");
    prc = ao_tsv_col(t, "prediction");
    if (idc < 0 || prc < 0) { report_fail(rep, "predictions.tsv:%ld: no '%s' column", t->header_line, idc < 0 ? "id" : "prediction"); rc = 0; goto DONE; }
    for (c = 0; c < K; c++) {
        char name[600];
        snprintf(name, sizeof name, "probability_%s", info->classes[c]);
        if ((pcol[c] = ao_tsv_col(t, name)) < 0) { report_fail(rep, "predictions.tsv:%ld: no '%.200s' column", t->header_line, name); rc = 0; goto DONE; }
    }
    if (t->n_cols != K + 2) {
        for (c = 0; c < t->n_cols; c++) {
            const char *n = t->cols[c];
            if (strcmp(n, "id") && strcmp(n, "prediction") && (strncmp(n, "probability_", 12) || ao_dataset_info_class(info, n + 12) < 0)) break;
        }
        report_fail(rep, "predictions.tsv:%ld: unexpected column '%.200s' (expected id, prediction and probability_<class> per class)",
                    t->header_line, c < t->n_cols ? t->cols[c] : "?");
        rc = 0;
        goto DONE;
    }
    if ((rc = id_index_build(&x, s, err)) < 0) goto DONE;
    rc = 1;
    for (r = 0; r < t->n_rows; r++) {
        const char *id = ao_tsv_get(t, r, idc), *pred = ao_tsv_get(t, r, prc);
        long line = t->line[r];
        double sum = 0, *row;
        int64_t k = *id_slot(&x, s, id);
        if (!k) { report_fail(rep, "predictions.tsv:%ld: id '%.100s' is not an input id", line, id); rc = 0; goto DONE; }
        if (seen[k - 1]) { report_fail(rep, "predictions.tsv:%ld: id '%.100s' appears twice", line, id); rc = 0; goto DONE; }
        seen[k - 1] = 1;
        got++;
        if (ao_dataset_info_class(info, pred) < 0) { report_fail(rep, "predictions.tsv:%ld: prediction '%.100s' is not a class name", line, pred); rc = 0; goto DONE; }
        row = proba + (k - 1) * K;
        for (c = 0; c < K; c++) {
            const char *f = ao_tsv_get(t, r, pcol[c]);
            char *end;
            errno = 0;
            row[c] = strtod(f, &end);
            if (!*f || *end || errno == ERANGE || !isfinite(row[c]) || row[c] < 0 || row[c] > 1) {
                report_fail(rep, "predictions.tsv:%ld: probability_%.100s '%.40s' is not a number in [0, 1]", line, info->classes[c], f);
                rc = 0;
                goto DONE;
            }
            sum += row[c];
        }
        if (fabs(sum - 1) > PROBA_TOL) { report_fail(rep, "predictions.tsv:%ld: the probabilities sum to %.6g, not 1", line, sum); rc = 0; goto DONE; }
        for (c = 0; c < K; c++) row[c] /= sum;   /* exactly 1, for the scorer's log loss */
    }
    if (got < s->n) {
        for (i = 0; i < s->n && seen[i]; i++) {}
        report_fail(rep, "predictions.tsv: %lld input id(s) have no prediction (the first: '%.100s')", (long long)(s->n - got), s->ids[i]);
        rc = 0;
    }
DONE:
    free(x.slot);
    free(pcol);
    free(seen);
    ao_tsv_destroy(t);
    return rc;
}

/* input.tsv: id and the sequence columns, nothing else. */
static int write_input(const char *path, const ao_dataset_info *info, const ao_seqset *s, ao_err *err)
{
    FILE *fp = fopen(path, "w");
    int64_t i;
    int c;
    if (!fp) return ao_err_set(err, AO_EIO, "%s: cannot create: %s", path, strerror(errno));
    fputs("id", fp);
    for (c = 0; c < info->n_seq_cols; c++) fprintf(fp, "\t%s", info->seq_cols[c]);
    fputc('\n', fp);
    for (i = 0; i < s->n; i++) {
        if (strpbrk(s->ids[i], "\t\n\r")) { fclose(fp); return ao_err_set(err, AO_EDATA, "input id '%.100s' contains a tab or newline", s->ids[i]); }
        fputs(s->ids[i], fp);
        for (c = 0; c < s->n_seq; c++) fprintf(fp, "\t%s", s->seqs[i * s->n_seq + c]);
        fputc('\n', fp);
    }
    if (fclose(fp) != 0) return ao_err_set(err, AO_EIO, "%s: write error", path);
    return AO_OK;
}

/* script-model.json: the spec and the seed recorded at training. */
static int load_model_spec(const char *model_dir, ao_script_spec *s, uint64_t *seed, ao_err *err)
{
    char *p = ao_path_join(model_dir, AO_SCRIPT_MODEL_FILE);
    json_error_t je;
    json_t *j = NULL;
    int rc;
    if (!p) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!(j = json_load_file(p, 0, &je))) { rc = ao_err_set(err, ao_file_exists(p) ? AO_EDATA : AO_EIO, "%s:%d: %s", p, je.line, je.text); goto DONE; }
    if (json_integer_value(json_object_get(j, "format_version")) != 1 || strcmp(json_string_value(json_object_get(j, "kind")) ? json_string_value(json_object_get(j, "kind")) : "", "script")) {
        rc = ao_err_set(err, AO_EDATA, "%s: not a script model description (format_version 1, kind \"script\")", p);
        goto DONE;
    }
    if ((rc = ao_script_spec_parse(j, s, err)) < 0) {
        ao_err_init(err);
        rc = ao_err_set(err, AO_EDATA, "%s: invalid entries", p);
        goto DONE;
    }
    *seed = (uint64_t)json_integer_value(json_object_get(j, "seed"));
DONE:
    json_decref(j);
    free(p);
    return rc;
}

int ao_script_predict(const char *model_dir, const ao_seqset *s, const ao_script_limits *lim,
                      double *proba, ao_script_report *rep, ao_err *err)
{
    const char *tmpdir = getenv("TMPDIR");
    ao_script_spec spec;
    ao_dataset_info *info = NULL;
    entry_env env;
    uint64_t seed = 0;
    char *mdir = NULL, *tmp = NULL, *in = NULL, *out = NULL, *inpath = NULL, *outpath = NULL, *entry = NULL, *text = NULL;
    size_t len;
    int rc, cleanup = -1;
    memset(&spec, 0, sizeof spec);
    memset(&env, 0, sizeof env);
    ao_script_report_clear(rep);
    if ((rc = load_model_spec(model_dir, &spec, &seed, err)) < 0) goto DONE;
    if (!(info = ao_script_model_info(model_dir, err))) { rc = err->code; goto DONE; }
    if (s->n_seq != info->n_seq_cols) { rc = ao_err_set(err, AO_EINTERNAL, "the input has %d sequence columns, the model %d", s->n_seq, info->n_seq_cols); goto DONE; }
    if (!(mdir = realpath(model_dir, NULL))) { rc = ao_err_set(err, AO_EIO, "%s: %s", model_dir, strerror(errno)); goto DONE; }
    {
        /* a package stores files without the executable bit, and may omit an empty artifacts/ */
        char *e = ao_path_join(mdir, "code"), *a = ao_path_join(mdir, "artifacts");
        struct stat st;
        if (!e || !a) { free(e); free(a); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if (!ao_is_dir(a)) rc = ao_mkdir_p(a, err);
        free(a);
        if (rc >= 0 && (rc = entry_runnable("inference", &spec, e, spec.inference_entry, rep, err)) == 0 && !spec.interpreter) {
            char *f = ao_path_join(e, spec.inference_entry);
            if (f && lstat(f, &st) == 0 && S_ISREG(st.st_mode) && chmod(f, st.st_mode | 0111) == 0)
                rc = entry_runnable("inference", &spec, e, spec.inference_entry, rep, err);
            free(f);
        }
        free(e);
        if (rc <= 0) goto DONE;
    }
    if (asprintf(&tmp, "%s/agentomics-predict.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0) { tmp = NULL; rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!mkdtemp(tmp)) { rc = ao_err_set(err, AO_EIO, "%s: cannot create a temporary directory: %s", tmp, strerror(errno)); free(tmp); tmp = NULL; goto DONE; }
    cleanup = ao_cleanup_add(tmp);
    if (!(in = ao_path_join(tmp, "input")) || !(out = ao_path_join(tmp, "output")) || !(inpath = ao_path_join(in, "input.tsv")) ||
        !(outpath = ao_path_join(out, "predictions.tsv")) || asprintf(&entry, "/model/code/%s", spec.inference_entry) < 0) {
        entry = NULL;
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if ((rc = ao_mkdir_p(in, err)) < 0 || (rc = ao_mkdir_p(out, err)) < 0) goto DONE;
    if ((rc = write_input(inpath, info, s, err)) < 0) goto DONE;
    {
        const ao_sandbox_mount m[] = {{mdir, "/model", 0}, {in, "/input", 0}, {out, "/output", 1}};
        const char *args[] = {"/model/artifacts", "/input/input.tsv", "/output/predictions.tsv", NULL};
        if ((rc = entry_env_init(&env, info, lim ? lim->threads : 1, seed, err)) < 0) goto DONE;
        if ((rc = run_entry("inference", &spec, entry, args, m, 3, "/model/code", lim, 0, &env, rep, err)) < 0) goto DONE;
    }
    if (!rep->ok) goto DONE;
    {
        struct stat st;
        if (lstat(outpath, &st) != 0 || !S_ISREG(st.st_mode)) {
            report_fail(rep, "the inference entry exited with status 0 but wrote no /output/predictions.tsv");
            goto DONE;
        }
    }
    if (!(text = ao_read_file(outpath, &len, err))) { rc = err->code; goto DONE; }
    rc = check_predictions(text, len, info, s, proba, rep, err);
    text = NULL;   /* taken */
    if (rc > 0) rc = AO_OK;
    else if (rc == 0) rep->ok = 0;
DONE:
    if (rc > 0) rc = AO_OK;
    if (rc < 0) rep->ok = 0;
    if (tmp) ao_rm_rf(tmp);
    ao_cleanup_remove(cleanup);
    ao_script_spec_free(&spec);
    ao_dataset_info_destroy(info);
    free(env.classes);
    free(mdir); free(tmp); free(in); free(out); free(inpath); free(outpath); free(entry); free(text);
    return rc;
}
