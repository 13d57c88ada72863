/* report.c — agentomics-report as a library call (report.h): reads a
 * results folder and writes report.html and report.md from one pass, so
 * the two carry the same numbers: every piece of text goes through the
 * emitters below, which write it to both documents (HTML-escaped into the
 * page, as Markdown into the twin); only the plots are the page's own. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <htslib/hts.h>
#include <jansson.h>
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/metrics.h"
#include "agentomics/package.h"
#include "agentomics/report.h"
#include "agentomics/runstate.h"
#include "agentomics/svg.h"
#include "agentomics/tsv.h"

#define MAX_LINEAGES 4096
#define CODE_MAX_BYTES 16384
#define CODE_MAX_FILES 6
#define N_RICH 0.10           /* a sequence with more than this share of non-ACGT is N-rich */

static const char *const stages[] = {"decided", "reflected", "analyzed", "agent", NULL};
static const char *const headline[] = {"accuracy", "balanced_accuracy", "auroc", "auprc", "f1_macro", "mcc", "log_loss", "n", NULL};

typedef struct lineage {
    int number;
    int last_iter;
    char *state;              /* the final state directory */
    ao_run_config rc;
    ao_history h;
    json_t *usage;            /* usage.json, NULL when absent */
} lineage;

typedef struct rep {
    const ao_report_opts *o;
    const char *res;
    char *title;
    json_t *dataset, *test_info, *selection, *test_metrics;
    json_t *manifest;         /* model.tar.gz's verified manifest.json, NULL when absent */
    char *package_error;      /* why the package did not verify, NULL when it did or is absent */
    lineage *lin;
    int n_lin, chosen;        /* index into lin */
    const ao_iteration *best;
    json_t *best_run;         /* the chosen run's metrics.json */
    char *best_run_dir;
    FILE *h, *m;              /* the two documents */
    json_t *mqc_lines;        /* MultiQC: series name -> {iteration: value} */
} rep;

/* ---- small helpers ---------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double jnum(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static char *fmt(const char *f, ...) AO_PRINTF(1, 2);
static char *fmt(const char *f, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

/* One number format for both documents: integers as integers (counts,
 * "n"), everything else with four decimals; NA when undefined. */
static void num(char *b, size_t n, double v)
{
    if (!isfinite(v)) snprintf(b, n, "NA");
    else if (v == floor(v) && fabs(v) < 1e15 && fabs(v) >= 1) snprintf(b, n, "%.0f", v);
    else snprintf(b, n, "%.4f", v);
}
static void jnum_str(char *b, size_t n, const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_integer(v)) snprintf(b, n, "%lld", (long long)json_integer_value(v));
    else num(b, n, json_is_number(v) ? json_number_value(v) : NAN);
}

static json_t *load_json(const char *dir, const char *rel, ao_err *err)
{
    char *p = ao_path_join(dir, rel);
    json_error_t je;
    json_t *j = NULL;
    if (!p) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (ao_file_exists(p) && !(j = json_load_file(p, JSON_REJECT_DUPLICATES, &je)))
        ao_err_set(err, AO_EDATA, "%s:%d: %s", p, je.line, je.text);
    free(p);
    return j;
}

/* ---- the emitters: everything textual goes to both documents ---------------------- */

static void h_text(FILE *fp, const char *s) { ao_svg_escape(fp, s); }

/* Markdown: a table cell or a line; '|' escaped, line breaks flattened. */
static void m_text(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", fp);
        else if (*s == '\n' || *s == '\r' || *s == '\t') fputc(' ', fp);
        else fputc(*s, fp);
    }
}

static void section(rep *r, const char *id, const char *title)
{
    fprintf(r->h, "</section>\n<section id=\"%s\"><h2>", id);
    h_text(r->h, title);
    fputs("</h2>\n", r->h);
    fputs("\n## ", r->m);
    m_text(r->m, title);
    fputs("\n\n", r->m);
}

static void subsection(rep *r, const char *title)
{
    fputs("<h3>", r->h);
    h_text(r->h, title);
    fputs("</h3>\n", r->h);
    fputs("### ", r->m);
    m_text(r->m, title);
    fputs("\n\n", r->m);
}

static void para(rep *r, const char *cls, const char *f, ...) AO_PRINTF(3, 4);
static void para(rep *r, const char *cls, const char *f, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) return;
    fprintf(r->h, "<p class=\"%s\">", cls ? cls : "");
    h_text(r->h, s);
    fputs("</p>\n", r->h);
    m_text(r->m, s);
    fputs("\n\n", r->m);
    free(s);
}

static void tbl_begin(rep *r, int n, const char *const *head)
{
    int i;
    fputs("<table><thead><tr>", r->h);
    fputc('|', r->m);
    for (i = 0; i < n; i++) {
        fputs("<th>", r->h);
        h_text(r->h, head[i]);
        fputs("</th>", r->h);
        fputc(' ', r->m);
        m_text(r->m, head[i]);
        fputs(" |", r->m);
    }
    fputs("</tr></thead><tbody>\n", r->h);
    fputs("\n|", r->m);
    for (i = 0; i < n; i++) fputs("---|", r->m);
    fputc('\n', r->m);
}

static void tbl_row(rep *r, int n, const char *const *cells, const char *cls)
{
    int i;
    fprintf(r->h, "<tr%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    fputc('|', r->m);
    for (i = 0; i < n; i++) {
        fputs("<td>", r->h);
        h_text(r->h, cells[i] ? cells[i] : "-");
        fputs("</td>", r->h);
        fputc(' ', r->m);
        if (cls && i == 0) fputs("**", r->m);
        m_text(r->m, cells[i] ? cells[i] : "-");
        if (cls && i == 0) fputs("**", r->m);
        fputs(" |", r->m);
    }
    fputs("</tr>\n", r->h);
    fputc('\n', r->m);
}

static void tbl_end(rep *r)
{
    fputs("</tbody></table>\n", r->h);
    fputc('\n', r->m);
}

/* A key-value row of the summary card. */
static void kv(rep *r, const char *key, const char *f, ...) AO_PRINTF(3, 4);
static void kv(rep *r, const char *key, const char *f, ...)
{
    char *s = NULL;
    const char *cells[2];
    va_list ap;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    cells[0] = key;
    cells[1] = s ? s : "-";
    tbl_row(r, 2, cells, NULL);
    free(s);
}

enum { FLAG_OK = 0, FLAG_WARN = 1, FLAG_RED = 2 };
static void flag(rep *r, int level, const char *title, const char *f, ...) AO_PRINTF(4, 5);
static void flag(rep *r, int level, const char *title, const char *f, ...)
{
    static const char *const cls[] = {"ok", "warn", "red"}, *const word[] = {"OK", "WARNING", "RED FLAG"};
    char *s = NULL;
    va_list ap;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0) s = NULL;
    va_end(ap);
    fprintf(r->h, "<div class=\"flag %s\"><b>%s: ", cls[level], word[level]);
    h_text(r->h, title);
    fputs("</b> ", r->h);
    h_text(r->h, s ? s : "");
    fputs("</div>\n", r->h);
    fprintf(r->m, "- **%s: ", word[level]);
    m_text(r->m, title);
    fputs("** ", r->m);
    m_text(r->m, s ? s : "");
    fputc('\n', r->m);
    free(s);
}

static void card_begin(rep *r, const char *summary, int open)
{
    fprintf(r->h, "<details class=\"card\"%s><summary>", open ? " open" : "");
    h_text(r->h, summary);
    fputs("</summary>\n", r->h);
    fputs("#### ", r->m);
    m_text(r->m, summary);
    fputs("\n\n", r->m);
}
static void card_end(rep *r) { fputs("</details>\n", r->h); }

static void pre(rep *r, const char *text)
{
    fputs("<pre>", r->h);
    h_text(r->h, text);
    fputs("</pre>\n", r->h);
    fprintf(r->m, "````\n%s%s````\n\n", text, *text && text[strlen(text) - 1] == '\n' ? "" : "\n");
}

static void fig_begin(rep *r) { fputs("<figure>", r->h); }
static void fig_end(rep *r, const char *caption)
{
    fputs("<figcaption>", r->h);
    h_text(r->h, caption);
    fputs("</figcaption></figure>\n", r->h);
    fputs("_Plot (in report.html): ", r->m);
    m_text(r->m, caption);
    fputs("_\n\n", r->m);
}

/* ---- reading the results folder --------------------------------------------------- */

static int name_number(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end;
    long v;
    if (strncmp(name, prefix, n) != 0 || !name[n]) return -1;
    v = strtol(name + n, &end, 10);
    return *end || v < 1 || v > 1000000 ? -1 : (int)v;
}

/* The lineage's final state: its last iteration's most advanced stage. */
static int find_final_state(rep *r, lineage *l, const char *ldir, ao_err *err)
{
    DIR *d = opendir(ldir);
    struct dirent *e;
    int best = -1, s;
    if (!d) return ao_err_set(err, AO_EIO, "%s: cannot read", ldir);
    while ((e = readdir(d))) {
        int i = name_number(e->d_name, "iter");
        if (i > best) {
            for (s = 0; stages[s]; s++) {
                char *p = fmt("%s/%s/%s/history.json", ldir, e->d_name, stages[s]);
                int ok = p && ao_file_exists(p);
                free(p);
                if (ok) { best = i; break; }
            }
        }
    }
    closedir(d);
    (void)r;
    l->last_iter = best;
    if (best < 0) return AO_OK;
    for (s = 0; stages[s]; s++) {
        char *p = fmt("%s/iter%d/%s/history.json", ldir, best, stages[s]);
        int ok = p && ao_file_exists(p);
        free(p);
        if (ok) break;
    }
    if (!(l->state = fmt("%s/iter%d/%s", ldir, best, stages[s]))) return ao_err_set(err, AO_EMEM, "out of memory");
    return AO_OK;
}

static int cmp_lineage(const void *a, const void *b) { return ((const lineage *)a)->number - ((const lineage *)b)->number; }

static int read_lineages(rep *r, ao_err *err)
{
    DIR *d = opendir(r->res);
    struct dirent *e;
    int rc = AO_OK, i;
    if (!d) return ao_err_set(err, AO_EIO, "%s: cannot read the results folder", r->res);
    while ((e = readdir(d))) {
        int n = name_number(e->d_name, "lineage");
        char *ldir;
        lineage *l;
        if (n < 0) continue;
        if (!(ldir = ao_path_join(r->res, e->d_name))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); break; }
        if (!ao_is_dir(ldir) || r->n_lin >= MAX_LINEAGES) { free(ldir); continue; }
        if (!(l = realloc(r->lin, sizeof *r->lin * (size_t)(r->n_lin + 1)))) { free(ldir); rc = ao_err_set(err, AO_EMEM, "out of memory"); break; }
        r->lin = l;
        l = &r->lin[r->n_lin];
        memset(l, 0, sizeof *l);
        ao_history_init(&l->h);
        l->number = n;
        rc = find_final_state(r, l, ldir, err);
        free(ldir);
        if (rc < 0) break;
        if (!l->state) continue;
        r->n_lin++;
        if ((rc = ao_runstate_read(l->state, &l->rc, &l->h, err)) < 0) break;
        if (!(l->usage = load_json(l->state, "usage.json", err)) && err->code) { rc = err->code; break; }
    }
    closedir(d);
    if (rc < 0) return rc;
    if (r->n_lin == 0)
        return ao_err_set(err, AO_EDATA, "%s: no lineage state found (expected lineage<L>/iter<I>/decided/history.json, as the workflows write)", r->res);
    qsort(r->lin, (size_t)r->n_lin, sizeof *r->lin, cmp_lineage);
    /* the chosen lineage: lineages.json, else the highest best value (ties: the lowest number, as agentomics-select) */
    r->chosen = -1;
    if (r->selection) {
        json_t *c = json_object_get(r->selection, "chosen");
        for (i = 0; i < r->n_lin; i++) if (json_is_integer(c) && r->lin[i].number == json_integer_value(c)) r->chosen = i;
    }
    if (r->chosen < 0)
        for (i = 0; i < r->n_lin; i++)
            if (r->lin[i].h.best.iteration > 0 && (r->chosen < 0 || r->lin[i].h.best.value > r->lin[r->chosen].h.best.value)) r->chosen = i;
    if (r->chosen < 0) r->chosen = 0;
    return AO_OK;
}

/* A run id names a directory below lineage<L>/runs/: one path component. */
static int safe_id(const char *id) { return id && *id && !strchr(id, '/') && strcmp(id, ".") && strcmp(id, ".."); }

/* NULL for an id that is not one path component (nothing is read for it) or out of memory. */
static char *run_dir(const rep *r, const lineage *l, const char *run_id)
{
    return safe_id(run_id) ? fmt("%s/lineage%d/runs/%s", r->res, l->number, run_id) : NULL;
}

/* The validation labels the chosen run was scored on: the agent's split
 * when it made one, else the user's. */
static char *valid_labels(const rep *r)
{
    const lineage *l = &r->lin[r->chosen];
    char *p = NULL;
    if (!strcmp(l->h.split_source, "agent")) p = ao_path_join(l->state, "split/valid.tsv");
    if (p && ao_file_exists(p)) return p;
    free(p);
    p = ao_path_join(r->res, "data/agent/valid.tsv");
    if (p && ao_file_exists(p)) return p;
    free(p);
    return NULL;
}

/* ---- per-class sequence statistics (from the training table) ----------------------- */

typedef struct seqstats {
    int n_classes;
    char **classes;           /* borrowed from dataset.json */
    long *n, *n_rich, *short_out, *long_out;
    double *gc;               /* GC share of A+C+G+T, per class */
    double *len;              /* every row's length (for the histogram) */
    int *cls;
    size_t rows;
    double median;
} seqstats;

static void seqstats_clear(seqstats *s)
{
    free(s->classes);
    free(s->n);
    free(s->n_rich);
    free(s->short_out);
    free(s->long_out);
    free(s->gc);
    free(s->len);
    free(s->cls);
    memset(s, 0, sizeof *s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int seqstats_read(rep *r, seqstats *s, ao_err *err)
{
    json_t *classes = json_object_get(r->dataset, "classes"), *cols = json_object_get(r->dataset, "sequence_columns");
    char *path = ao_path_join(r->res, "data/agent/train.tsv");
    ao_tsv *t = NULL;
    double *gc_n = NULL, *acgt = NULL, *sorted = NULL;
    int *ci = NULL, lab, k, K = (int)json_array_size(classes), nc = (int)json_array_size(cols), c;
    size_t i;
    int rc = AO_OK;
    memset(s, 0, sizeof *s);
    if (!path) return ao_err_set(err, AO_EMEM, "out of memory");
    if (K < 2 || nc < 1 || !ao_file_exists(path)) goto DONE;
    if (!(t = ao_tsv_load(path, err))) { rc = err->code; goto DONE; }
    if ((lab = ao_tsv_col(t, "label")) < 0) goto DONE;
    s->n_classes = K;
    s->rows = t->n_rows;
    if (!(s->classes = calloc((size_t)K, sizeof *s->classes)) || !(s->n = calloc((size_t)K, sizeof *s->n)) ||
        !(s->n_rich = calloc((size_t)K, sizeof *s->n_rich)) || !(s->short_out = calloc((size_t)K, sizeof *s->short_out)) ||
        !(s->long_out = calloc((size_t)K, sizeof *s->long_out)) || !(s->gc = calloc((size_t)K, sizeof *s->gc)) ||
        !(gc_n = calloc((size_t)K, sizeof *gc_n)) || !(acgt = calloc((size_t)K, sizeof *acgt)) ||
        !(s->len = calloc(t->n_rows + 1, sizeof *s->len)) || !(sorted = calloc(t->n_rows + 1, sizeof *sorted)) ||
        !(s->cls = calloc(t->n_rows + 1, sizeof *s->cls)) || !(ci = calloc((size_t)nc, sizeof *ci))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    for (k = 0; k < K; k++) s->classes[k] = (char *)json_string_value(json_array_get(classes, (size_t)k));
    for (c = 0; c < nc; c++) if ((ci[c] = ao_tsv_col(t, json_string_value(json_array_get(cols, (size_t)c)))) < 0) goto DONE;
    for (i = 0; i < t->n_rows; i++) {
        const char *l = ao_tsv_get(t, i, lab);
        long len = 0, other = 0, g = 0, b = 0;
        for (k = 0; k < K; k++) if (s->classes[k] && !strcmp(s->classes[k], l)) break;
        for (c = 0; c < nc; c++) {
            const char *q;
            for (q = ao_tsv_get(t, i, ci[c]); *q; q++, len++) {
                switch (*q) {
                case 'G': case 'C': case 'g': case 'c': g++; b++; break;
                case 'A': case 'T': case 'a': case 't': b++; break;
                default: other++;
                }
            }
        }
        s->len[i] = sorted[i] = (double)len;
        s->cls[i] = k < K ? k : -1;
        if (k >= K) continue;
        s->n[k]++;
        gc_n[k] += (double)g;
        acgt[k] += (double)b;
        if (len > 0 && (double)other / (double)len > N_RICH) s->n_rich[k]++;
    }
    qsort(sorted, t->n_rows, sizeof *sorted, cmp_double);
    s->median = t->n_rows ? (t->n_rows % 2 ? sorted[t->n_rows / 2] : (sorted[t->n_rows / 2 - 1] + sorted[t->n_rows / 2]) / 2) : NAN;
    for (i = 0; i < t->n_rows; i++) {
        if (s->cls[i] < 0) continue;
        if (s->len[i] < s->median / 2) s->short_out[s->cls[i]]++;
        else if (s->len[i] > s->median * 2) s->long_out[s->cls[i]]++;
    }
    for (k = 0; k < K; k++) s->gc[k] = acgt[k] > 0 ? gc_n[k] / acgt[k] : NAN;
DONE:
    if (rc < 0) seqstats_clear(s);
    ao_tsv_destroy(t);
    free(path);
    free(gc_n);
    free(acgt);
    free(sorted);
    free(ci);
    return rc;
}

/* ---- sections ---------------------------------------------------------------------- */

static long split_count(const rep *r, const char *split, const char *cls)
{
    json_t *sp = json_object_get(json_object_get(r->dataset, "splits"), split), *cc;
    if (!strcmp(split, "test") && r->test_info) sp = r->test_info;
    cc = json_object_get(json_object_get(sp, "class_counts"), cls);
    return json_is_integer(cc) ? (long)json_integer_value(cc) : -1;
}
static long split_n(const rep *r, const char *split)
{
    json_t *sp = json_object_get(json_object_get(r->dataset, "splits"), split);
    json_t *n = json_object_get(sp, "n_records");
    if (!n && !strcmp(split, "test") && r->test_info) n = json_object_get(r->test_info, "n_records");
    return json_is_integer(n) ? (long)json_integer_value(n) : -1;
}

/* The metric objects shown side by side: validation, selection (when the
 * run has it), held-out test. */
typedef struct slices { const json_t *obj[3]; const char *name[3]; int n; } slices;
static void best_slices(const rep *r, slices *s)
{
    json_t *sel = json_object_get(r->best_run, "selection");
    s->n = 0;
    s->obj[s->n] = json_object_get(r->best_run, "valid");
    if (!s->obj[s->n] && r->best && r->best->has_run) s->obj[s->n] = r->best->run.valid;
    s->name[s->n++] = "validation";
    if (json_is_object(sel)) { s->obj[s->n] = sel; s->name[s->n++] = "selection"; }
    if (r->test_metrics) { s->obj[s->n] = r->test_metrics; s->name[s->n++] = "held-out test"; }
}

static void metrics_table(rep *r, const slices *s)
{
    const char *head[4] = {"metric"}, *cells[4];
    char b[3][32];
    int i, k;
    for (k = 0; k < s->n; k++) head[k + 1] = s->name[k];
    tbl_begin(r, s->n + 1, head);
    for (i = 0; headline[i]; i++) {
        cells[0] = headline[i];
        for (k = 0; k < s->n; k++) {
            jnum_str(b[k], sizeof b[k], s->obj[k], headline[i]);
            cells[k + 1] = b[k];
        }
        tbl_row(r, s->n + 1, cells, NULL);
    }
    tbl_end(r);
}

static const char *model_desc(const ao_iteration *it, char *b, size_t n)
{
    json_t *code = ao_iteration_output(it, "code"), *rec = json_object_get(code, "recipe");
    const char *model = jstr(json_object_get(rec, "model"), "type"), *repn = jstr(json_object_get(rec, "representation"), "type");
    json_t *k = json_object_get(json_object_get(rec, "representation"), "k");
    if (code && !strcmp(jstr(code, "entry") ? jstr(code, "entry") : "", "script")) snprintf(b, n, "script model");
    else if (model && repn && json_is_integer(k)) snprintf(b, n, "%s on %s (k=%lld)", model, repn, (long long)json_integer_value(k));
    else if (model && repn) snprintf(b, n, "%s on %s", model, repn);
    else if (it->failure) snprintf(b, n, "(agent step failed)");
    else snprintf(b, n, "-");
    return b;
}

static double iter_seconds(const ao_iteration *it)
{
    double s = 0;
    const char *k;
    json_t *v;
    json_object_foreach(it->steps, k, v) { double x = jnum(v, "seconds"); if (isfinite(x)) s += x; }
    if (it->has_run && isfinite(it->run.wall_seconds)) s += it->run.wall_seconds;
    return s;
}

/* What model.tar.gz holds (its manifest, verified): the best run, or an
 * ensemble led by it, whose members and weights the summary lists; the
 * held-out test metrics are that model's. */
static void packaged_row(rep *r)
{
    const json_t *ens = json_object_get(r->manifest, "ensemble"), *mem = json_object_get(ens, "members"), *e;
    char *text = NULL;
    size_t len = 0, i;
    FILE *c;
    if (r->package_error) { kv(r, "Packaged model", "model.tar.gz did not verify: %s", r->package_error); return; }
    if (!r->manifest) return;
    if (!(c = open_memstream(&text, &len))) return;
    if (json_is_true(json_object_get(ens, "kept"))) {
        fprintf(c, "an ensemble of %zu runs (", json_array_size(mem));
        json_array_foreach(mem, i, e)
            fprintf(c, "%siteration %lld, weight %.3f", i ? "; " : "", (long long)json_integer_value(json_object_get(e, "iteration")),
                    json_number_value(json_object_get(e, "weight")));
        fprintf(c, "): %s", jstr(ens, "reason") ? jstr(ens, "reason") : "-");
    } else {
        fprintf(c, "the best model alone (iteration %lld)", (long long)json_integer_value(json_object_get(r->manifest, "best_iteration")));
        if (jstr(ens, "reason")) fprintf(c, "; no ensemble: %s", jstr(ens, "reason"));
    }
    if (json_is_real(json_object_get(r->manifest, "threshold")))
        fprintf(c, "; decision threshold %.4f (the positive class from that probability on, not the argmax)",
                json_real_value(json_object_get(r->manifest, "threshold")));
    fclose(c);
    kv(r, "Packaged model", "%s", text ? text : "-");
    free(text);
}

static void write_summary(rep *r, const seqstats *ss)
{
    const lineage *l = &r->lin[r->chosen];
    json_t *classes = json_object_get(r->dataset, "classes");
    char *cl = NULL, b[64], desc[128];
    size_t i, len = 0;
    double wall = 0;
    int j;
    slices s;
    FILE *c;
    (void)ss;
    section(r, "summary", "Summary");
    tbl_begin(r, 2, (const char *const[]){"item", "value"});
    kv(r, "Dataset", "%s", r->title);
    if ((c = open_memstream(&cl, &len))) {
        for (i = 0; i < json_array_size(classes); i++) {
            const char *name = json_string_value(json_array_get(classes, i));
            fprintf(c, "%s%s (train %ld, validation %ld, test %ld)", i ? "; " : "", name ? name : "?", split_count(r, "train", name),
                    split_count(r, "valid", name), split_count(r, "test", name));
        }
        fclose(c);
    }
    kv(r, "Task", "%s, %zu classes", jstr(r->dataset, "task") ? jstr(r->dataset, "task") : "-", json_array_size(classes));
    kv(r, "Classes and counts", "%s", cl && *cl ? cl : "-");
    free(cl);
    kv(r, "Positive class", "%s", jstr(r->dataset, "positive_class") ? jstr(r->dataset, "positive_class") : "-");
    if (r->best) {
        kv(r, "Best model", "lineage %d, iteration %d (run %s): %s%s%s", l->number, r->best->number, l->h.best.run_id ? l->h.best.run_id : "-",
           model_desc(r->best, desc, sizeof desc), jstr(json_object_get(ao_iteration_output(r->best, "code"), "recipe"), "name") ? ", " : "",
           jstr(json_object_get(ao_iteration_output(r->best, "code"), "recipe"), "name") ? jstr(json_object_get(ao_iteration_output(r->best, "code"), "recipe"), "name") : "");
    } else {
        kv(r, "Best model", "none: no iteration produced a model");
    }
    num(b, sizeof b, l->h.best.value);
    kv(r, "Ranking metric", "%s (validation %s)", l->rc.metric, b);
    for (j = 0; j < r->n_lin; j++) wall += ao_history_elapsed(&r->lin[j].h);
    kv(r, "Agent and training time", "%.1f s over %d lineage(s)", wall, r->n_lin);
    kv(r, "Seed", "%llu", (unsigned long long)l->rc.base_seed);
    kv(r, "Versions", "agentomics %s, htslib %s", AO_VERSION, hts_version());
    if (l->rc.agent == AO_AGENT_LLM) {
        long calls = 0;
        double cost = 0;
        for (j = 0; j < r->n_lin; j++) {
            calls += (long)json_integer_value(json_object_get(r->lin[j].usage, "llm_calls"));
            if (isfinite(jnum(r->lin[j].usage, "cost"))) cost += jnum(r->lin[j].usage, "cost");
        }
        num(b, sizeof b, cost);
        kv(r, "Agent", "LLM: %s, model %s; %ld call(s), cost USD %s", l->rc.llm.provider ? l->rc.llm.provider : "-",
           l->rc.llm.model ? l->rc.llm.model : "-", calls, b);
    } else {
        kv(r, "Agent", "builtin (offline expert policy, no LLM calls)");
    }
    if (l->h.stop_reason) kv(r, "Stopped", "%s", l->h.stop_reason);
    packaged_row(r);
    tbl_end(r);
    subsection(r, "Metrics of the chosen model");
    best_slices(r, &s);
    if (!r->test_metrics) para(r, "note", "No held-out test metrics (test_metrics.json) in the results folder.");
    metrics_table(r, &s);
}

/* A row's sequence columns joined by tabs (the key prepare-data's overlap counts compare). */
static char *seq_key(const ao_tsv *t, size_t row, const int *ci, int nc)
{
    size_t len = 0, off = 0;
    char *k;
    int c;
    for (c = 0; c < nc; c++) len += strlen(ao_tsv_get(t, row, ci[c])) + 1;
    if (!(k = malloc(len + 1))) return NULL;
    for (c = 0; c < nc; c++) {
        size_t n = strlen(ao_tsv_get(t, row, ci[c]));
        memcpy(k + off, ao_tsv_get(t, row, ci[c]), n);
        off += n;
        k[off++] = c + 1 < nc ? '\t' : '\0';
    }
    return k;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }


/* The held-out metric on the test rows whose sequence is not in the
 * training set: what the test says once the overlap is left out. Sets
 * *n_clean to those rows; NAN (and *n_clean -1) when it cannot be
 * computed (no predictions, no tables, fewer than two classes left). */
static double clean_test_metric(const rep *r, const char *metric, long *n_clean)
{
    json_t *cols = json_object_get(r->dataset, "sequence_columns");
    char *tp = ao_path_join(r->res, "test_predictions.tsv"), *tl = ao_path_join(r->res, "data/heldout/test.tsv");
    char *trp = ao_path_join(r->res, "data/agent/train.tsv"), **keys = NULL;
    ao_tsv *tr = NULL, *te = NULL;
    ao_scored s;
    ao_metrics *m = NULL;
    int nc = (int)json_array_size(cols), ci[64], cj[64], c, K;
    int *y = NULL;
    double *prob = NULL, v = NAN;
    size_t i, n = 0;
    ao_err e;
    ao_err_init(&e);
    memset(&s, 0, sizeof s);
    *n_clean = -1;
    if (!tp || !tl || !trp || nc < 1 || nc > 64 || !ao_file_exists(tp) || !ao_file_exists(tl) || !ao_file_exists(trp)) goto DONE;
    if (ao_scored_from_files(tp, tl, &s, &e) < 0 || !(tr = ao_tsv_load(trp, &e)) || !(te = ao_tsv_load(tl, &e))) goto DONE;
    if (te->n_rows != s.n) goto DONE;
    for (c = 0; c < nc; c++) {
        const char *name = json_string_value(json_array_get(cols, (size_t)c));
        if (!name || (ci[c] = ao_tsv_col(tr, name)) < 0 || (cj[c] = ao_tsv_col(te, name)) < 0) goto DONE;
    }
    if (!(keys = calloc(tr->n_rows + 1, sizeof *keys)) || !(y = malloc((s.n + 1) * sizeof *y)) ||
        !(prob = malloc((s.n + 1) * (size_t)s.n_classes * sizeof *prob))) goto DONE;
    for (i = 0; i < tr->n_rows; i++) if (!(keys[i] = seq_key(tr, i, ci, nc))) goto DONE;
    qsort(keys, tr->n_rows, sizeof *keys, cmp_str);
    K = s.n_classes;
    for (i = 0; i < s.n; i++) {
        char *k = seq_key(te, i, cj, nc);
        int in;
        if (!k) goto DONE;
        in = bsearch(&k, keys, tr->n_rows, sizeof *keys, cmp_str) != NULL;
        free(k);
        if (in) continue;
        y[n] = s.y[i];
        memcpy(prob + n * (size_t)K, s.prob + i * (size_t)K, (size_t)K * sizeof *prob);
        n++;
    }
    *n_clean = (long)n;
    if (n > 0 && (m = ao_metrics_compute(n, K, (const char *const *)s.classes, y, prob, &e))) v = ao_metrics_value(m, metric);
DONE:
    for (i = 0; keys && tr && i < tr->n_rows; i++) free(keys[i]);
    free(keys);
    free(y);
    free(prob);
    ao_metrics_destroy(m);
    ao_scored_clear(&s);
    ao_tsv_destroy(tr);
    ao_tsv_destroy(te);
    free(tp);
    free(tl);
    free(trp);
    return v;
}

static void write_flags(rep *r, const seqstats *ss)
{
    json_t *ov = json_object_get(r->dataset, "overlap"), *dup = json_object_get(r->dataset, "exact_duplicates");
    json_t *conf = json_object_get(r->dataset, "conflicting_labels");
    long n_test = split_n(r, "test"), n_valid = split_n(r, "valid"), n_train = split_n(r, "train");
    char tb[32];
    int k;
    section(r, "qc", "QC flags");
    if (!r->dataset) { para(r, "note", "No dataset.json in the results folder: no QC counts."); return; }
    {
        json_t *v = json_object_get(ov, "test_in_train");
        long n = json_is_integer(v) ? (long)json_integer_value(v) : -1;
        num(tb, sizeof tb, r->test_metrics ? jnum(r->test_metrics, r->lin[r->chosen].rc.metric) : NAN);
        if (n < 0) para(r, "note", "Train/test overlap: not counted (no held-out test).");
        else if (n == 0) flag(r, FLAG_OK, "train/test overlap", "none of the %ld test sequences is in the training set.", n_test);
        else {
            const char *metric = r->lin[r->chosen].rc.metric;
            long clean = -1;
            double cv = r->test_metrics ? clean_test_metric(r, metric, &clean) : NAN;
            char cb[32], rest[160] = "";
            num(cb, sizeof cb, cv);
            if (clean >= 0) snprintf(rest, sizeof rest, " Without them, on the %ld test sequences not in the training set, the %s is %s.", clean, metric, cb);
            if (n_test > 0 && (double)n / (double)n_test >= AO_REPORT_OVERLAP_RED)
                flag(r, FLAG_RED, "train/test overlap", "%ld of %ld test sequences (%.1f%%) are also in the training set: the held-out %s of %s may be inflated.%s",
                     n, n_test, 100.0 * (double)n / (double)n_test, metric, tb, rest);
            else flag(r, FLAG_WARN, "train/test overlap", "%ld of %ld test sequences are also in the training set.%s", n, n_test, rest);
        }
    }
    {
        json_t *v = json_object_get(ov, "valid_in_train");
        long n = json_is_integer(v) && n_valid >= 0 ? (long)json_integer_value(v) : -1;
        if (n_valid < 0) para(r, "note", "No validation set was given: the agent split one off the training set (exact duplicates across that split are counted in the agent's split step).");
        else if (n == 0) flag(r, FLAG_OK, "train/validation overlap", "none of the %ld validation sequences is in the training set.", n_valid);
        else if (n > 0 && n_valid > 0 && (double)n / (double)n_valid >= AO_REPORT_OVERLAP_RED)
            flag(r, FLAG_RED, "train/validation overlap", "%ld of %ld validation sequences (%.1f%%) are also in the training set: validation metrics, and the choice among iterations, may be inflated.",
                 n, n_valid, 100.0 * (double)n / (double)n_valid);
        else if (n > 0) flag(r, FLAG_WARN, "train/validation overlap", "%ld of %ld validation sequences are also in the training set.", n, n_valid);
        v = json_object_get(ov, "test_in_valid");
        if (json_is_integer(v) && json_integer_value(v) > 0)
            flag(r, FLAG_WARN, "validation/test overlap", "%lld test sequences are also in the validation set.", (long long)json_integer_value(v));
    }
    {
        const char *sp;
        json_t *d;
        long total = 0;
        char *txt = NULL;
        size_t len = 0;
        FILE *c = open_memstream(&txt, &len);
        json_object_foreach(dup, sp, d) {
            long n = (long)json_integer_value(json_object_get(d, "duplicate_records"));
            total += n;
            if (c) fprintf(c, "%s%s %ld", total - n > 0 || (c && ftell(c) > 0) ? ", " : "", sp, n);
        }
        if (c) fclose(c);
        if (total > 0) flag(r, FLAG_WARN, "duplicates", "exact duplicate records within a split: %s.", txt ? txt : "");
        else if (dup) flag(r, FLAG_OK, "duplicates", "no exact duplicate records within a split.");
        free(txt);
    }
    if (conf) {
        long g = (long)json_integer_value(json_object_get(conf, "groups")), n = (long)json_integer_value(json_object_get(conf, "records"));
        if (g > 0) flag(r, FLAG_WARN, "conflicting labels", "%ld groups of identical sequences (%ld records) carry different labels.", g, n);
        else flag(r, FLAG_OK, "conflicting labels", "no identical sequences with different labels.");
    }
    if (ss->n_classes > 0) {
        long lo = -1, hi = 0, rich = 0, sh = 0, lg = 0;
        char mb[32];
        for (k = 0; k < ss->n_classes; k++) {
            if (lo < 0 || ss->n[k] < lo) lo = ss->n[k];
            if (ss->n[k] > hi) hi = ss->n[k];
            rich += ss->n_rich[k];
            sh += ss->short_out[k];
            lg += ss->long_out[k];
        }
        num(mb, sizeof mb, lo > 0 ? (double)hi / (double)lo : NAN);
        if (lo <= 0) flag(r, FLAG_RED, "class imbalance", "a class has no training sequences.");
        else if ((double)hi / (double)lo >= 10) flag(r, FLAG_RED, "class imbalance", "the largest class has %s times the training sequences of the smallest (%ld vs %ld).", mb, hi, lo);
        else if ((double)hi / (double)lo >= 3) flag(r, FLAG_WARN, "class imbalance", "the largest class has %s times the training sequences of the smallest (%ld vs %ld).", mb, hi, lo);
        else flag(r, FLAG_OK, "class imbalance", "largest to smallest class: %ld vs %ld training sequences.", hi, lo);
        if (rich > 0) flag(r, FLAG_WARN, "many N", "%ld of %zu training sequences have more than 10%% non-ACGT bases.", rich, ss->rows);
        else flag(r, FLAG_OK, "many N", "no training sequence has more than 10%% non-ACGT bases.");
        snprintf(mb, sizeof mb, "%.1f", ss->median);
        if (sh + lg > 0) flag(r, FLAG_WARN, "length outliers", "%ld training sequences are shorter than half the median length (%s) and %ld longer than twice it.", sh, mb, lg);
        else flag(r, FLAG_OK, "length outliers", "every training sequence is within half to twice the median length (%s).", mb);
    }
    (void)n_train;
}

static int write_profile(rep *r, const seqstats *ss, ao_err *err)
{
    json_t *classes = json_object_get(r->dataset, "classes"), *prof = r->lin[r->chosen].h.profile;
    const char *splits[3] = {"train", "valid", "test"}, *names[3] = {"train", "validation", "test"};
    const char **cls = NULL;
    double *v = NULL;
    int K = (int)json_array_size(classes), k, s, rc = AO_OK;
    section(r, "profile", "Dataset profile");
    if (K < 1) { para(r, "note", "No dataset.json: no profile."); return AO_OK; }
    if (!(cls = calloc((size_t)K, sizeof *cls)) || !(v = calloc((size_t)K * 3 + 1, sizeof *v))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (k = 0; k < K; k++) cls[k] = json_string_value(json_array_get(classes, (size_t)k));
    {
        const char *head[5] = {"class", "train", "validation", "test", "GC (train)"}, *cells[5];
        char b[4][32];
        tbl_begin(r, 5, head);
        for (k = 0; k < K; k++) {
            cells[0] = cls[k];
            for (s = 0; s < 3; s++) {
                long n = split_count(r, splits[s], cls[k]);
                v[s * K + k] = n >= 0 ? (double)n : NAN;
                if (n >= 0) snprintf(b[s], sizeof b[s], "%ld", n); else snprintf(b[s], sizeof b[s], "-");
                cells[s + 1] = b[s];
            }
            num(b[3], sizeof b[3], ss->n_classes == K ? ss->gc[k] : NAN);
            cells[4] = b[3];
            tbl_row(r, 5, cells, NULL);
        }
        tbl_end(r);
    }
    fig_begin(r);
    if ((rc = ao_svg_bars(r->h, "Class balance", "sequences", cls, K, names, v, 3, 480, 300)) < 0) goto IOERR;
    fig_end(r, "Sequences per class in the training, validation and test sets.");
    if (ss->n_classes == K && ss->rows > 0) {
        /* length distribution per class: a histogram over 20 bins */
        double lo = INFINITY, hi = -INFINITY, *x = NULL, *y = NULL;
        ao_svg_series *se = NULL;
        const int nb = 20;
        size_t i;
        for (i = 0; i < ss->rows; i++) { if (ss->len[i] < lo) lo = ss->len[i]; if (ss->len[i] > hi) hi = ss->len[i]; }
        if (!(x = calloc((size_t)nb, sizeof *x)) || !(y = calloc((size_t)(nb * K), sizeof *y)) || !(se = calloc((size_t)K, sizeof *se))) {
            free(x); free(y); free(se);
            rc = ao_err_set(err, AO_EMEM, "out of memory");
            goto DONE;
        }
        for (k = 0; k < nb; k++) x[k] = hi > lo ? lo + (hi - lo) * (k + 0.5) / nb : lo;
        for (i = 0; i < ss->rows; i++) {
            int b = hi > lo ? (int)((ss->len[i] - lo) / (hi - lo) * nb) : 0;
            if (b >= nb) b = nb - 1;
            if (ss->cls[i] >= 0) y[ss->cls[i] * nb + b]++;
        }
        for (k = 0; k < K; k++) {
            se[k].name = cls[k];
            se[k].x = x;
            se[k].y = y + k * nb;
            se[k].n = hi > lo ? (size_t)nb : 1;
            se[k].style = AO_SVG_LINE_POINTS;
            se[k].mark = -1;
        }
        {
            ao_svg_plot p = {"Length distribution per class (training)", 480, 300, {"length (bases)", 0, NAN, NAN}, {"sequences", 0, 0, NAN}, se, K};
            fig_begin(r);
            rc = ao_svg_xy(r->h, &p);
        }
        free(x); free(y); free(se);
        if (rc < 0) goto IOERR;
        fig_end(r, "Histogram of training sequence lengths, one line per class.");
        for (k = 0; k < K; k++) v[k] = ss->gc[k];
        fig_begin(r);
        if ((rc = ao_svg_bars(r->h, "GC content per class (training)", "GC fraction", cls, K, NULL, v, 1, 480, 300)) < 0) goto IOERR;
        fig_end(r, "Share of G and C among the A, C, G and T bases of each class's training sequences.");
    }
    if (prof) {
        json_t *ke = json_object_get(prof, "kmer_enrichment"), *ps = json_object_get(prof, "positional_signal"), *ks = json_object_get(prof, "kmer_signal");
        char b1[32], b2[32], b3[32];
        jnum_str(b1, sizeof b1, ks, "kmer_centroid_balanced_accuracy");
        jnum_str(b2, sizeof b2, ks, "chance");
        jnum_str(b3, sizeof b3, prof, "gc_separability");
        para(r, NULL, "Signals the explore step measured: a k-mer centroid classifier reaches balanced accuracy %s (chance %s); GC content alone separates the classes with %s.",
             b1, b2, b3);
        if (json_is_object(ke)) {
            const char *head[5] = {"class", "k-mer", "log2 odds", "count", "count in the rest"}, *cells[5];
            const char *c;
            json_t *arr;
            char b[3][32];
            subsection(r, "Strongest k-mers per class");
            tbl_begin(r, 5, head);
            json_object_foreach(ke, c, arr) {
                size_t i;
                for (i = 0; i < json_array_size(arr) && i < 5; i++) {
                    json_t *e = json_array_get(arr, i);
                    cells[0] = c;
                    cells[1] = jstr(e, "kmer");
                    jnum_str(b[0], sizeof b[0], e, "log2_odds");
                    jnum_str(b[1], sizeof b[1], e, "count");
                    jnum_str(b[2], sizeof b[2], e, "rest_count");
                    cells[2] = b[0]; cells[3] = b[1]; cells[4] = b[2];
                    tbl_row(r, 5, cells, NULL);
                }
            }
            tbl_end(r);
        }
        if (json_is_object(ps) && json_is_array(json_object_get(ps, "top_positions"))) {
            json_t *tp = json_object_get(ps, "top_positions");
            const char *head[2] = {"position", "mutual information (bits)"}, *cells[2];
            char b[2][32];
            size_t i;
            subsection(r, "Strongest positional signals");
            jnum_str(b[0], sizeof b[0], ps, "positional_snr");
            para(r, NULL, "Positions whose base tells most about the class (signal-to-noise %s).", b[0]);
            tbl_begin(r, 2, head);
            for (i = 0; i < json_array_size(tp); i++) {
                jnum_str(b[0], sizeof b[0], json_array_get(tp, i), "position");
                jnum_str(b[1], sizeof b[1], json_array_get(tp, i), "mi_bits");
                cells[0] = b[0]; cells[1] = b[1];
                tbl_row(r, 2, cells, NULL);
            }
            tbl_end(r);
        }
    } else {
        para(r, "note", "No explore profile in the chosen lineage's history.");
    }
    goto DONE;
IOERR:
    rc = ao_err_set(err, AO_EIO, "cannot write the report");
DONE:
    free(cls);
    free(v);
    return rc;
}

/* ---- search progress -------------------------------------------------------------- */

/* Flattens a JSON object into "a.b.c" -> scalar text. */
static void flatten(const json_t *j, const char *prefix, json_t *out)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        char *key = prefix ? fmt("%s.%s", prefix, k) : strdup(k);
        if (!key) continue;
        if (json_is_object(v)) flatten(v, key, out);
        else {
            char *s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(6));
            if (s) json_object_set_new(out, key, json_string(s));
            free(s);
        }
        free(key);
    }
}

/* "model.type: logreg -> cnn; ..." between two recipes; the seed, which
 * every iteration derives anew, is left out. */
static char *recipe_diff(const json_t *prev, const json_t *cur)
{
    json_t *a = json_object(), *b = json_object();
    const char *k;
    json_t *v;
    char *out = NULL;
    size_t len = 0;
    FILE *c = open_memstream(&out, &len);
    int n = 0;
    if (!a || !b || !c) { json_decref(a); json_decref(b); if (c) fclose(c); free(out); return NULL; }
    flatten(prev, NULL, a);
    flatten(cur, NULL, b);
    json_object_foreach(b, k, v) {
        const char *old = jstr(a, k);
        if (!strcmp(k, "seed")) continue;
        if (!old) fprintf(c, "%s%s: (new) %s", n++ ? "; " : "", k, json_string_value(v));
        else if (strcmp(old, json_string_value(v))) fprintf(c, "%s%s: %s -> %s", n++ ? "; " : "", k, old, json_string_value(v));
    }
    json_object_foreach(a, k, v)
        if (!json_object_get(b, k) && strcmp(k, "seed")) fprintf(c, "%s%s: %s (removed)", n++ ? "; " : "", k, json_string_value(v));
    fclose(c);
    json_decref(a);
    json_decref(b);
    if (n == 0) { free(out); out = strdup("no change to the recipe"); }
    return out;
}

/* The files of a script iteration's workspace (lineage<L>/iter<I>/agent/workspace). */
static void script_code(rep *r, const lineage *l, int iteration)
{
    char *dir = fmt("%s/lineage%d/iter%d/agent/workspace", r->res, l->number, iteration);
    struct dirent **names = NULL;
    int n = dir ? scandir(dir, &names, NULL, alphasort) : -1, i, shown = 0;
    for (i = 0; i < n; i++) {
        char *p = ao_path_join(dir, names[i]->d_name), *text = NULL;
        struct stat st;
        size_t len = 0;
        ao_err e;
        ao_err_init(&e);
        if (p && names[i]->d_name[0] != '.' && shown < CODE_MAX_FILES && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_size <= CODE_MAX_BYTES && (text = ao_read_file(p, &len, &e)) && strlen(text) == len) {
            para(r, NULL, "Code: %s", names[i]->d_name);
            pre(r, text);
            shown++;
        }
        free(text);
        free(p);
        free(names[i]);
    }
    free(names);
    if (n >= 0 && shown == 0) para(r, "note", "The workspace holds no text file to show.");
    free(dir);
}

static void iteration_card(rep *r, const lineage *l, const ao_iteration *it, const ao_iteration *prev)
{
    json_t *code = ao_iteration_output(it, "code"), *plan = ao_iteration_output(it, "plan");
    char title[256], desc[128], tb[32], vb[32];
    const char *status = it->has_run ? it->run.status : it->failure ? "failed" : "-";
    snprintf(tb, sizeof tb, "%.1f", iter_seconds(it));
    num(vb, sizeof vb, ao_iteration_valid_value(it, l->rc.metric));
    snprintf(title, sizeof title, "Lineage %d, iteration %d: %s, %s, validation %s %s, %s s", l->number, it->number, model_desc(it, desc, sizeof desc),
             status, l->rc.metric, vb, tb);
    card_begin(r, title, 0);
    if (jstr(plan, "goal")) para(r, NULL, "Plan: %s", jstr(plan, "goal"));
    if (code && jstr(code, "entry") && !strcmp(jstr(code, "entry"), "script")) {
        char *s = json_dumps(plan, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
        para(r, NULL, "A script model written by the agent. The plan:");
        if (s) pre(r, s);
        free(s);
        script_code(r, l, it->number);
    } else if (json_object_get(code, "recipe")) {
        json_t *pr = prev ? json_object_get(ao_iteration_output(prev, "code"), "recipe") : NULL;
        if (pr) {
            char *d = recipe_diff(pr, json_object_get(code, "recipe"));
            para(r, NULL, "Changed since iteration %d: %s", prev->number, d ? d : "-");
            free(d);
        } else {
            char *s = json_dumps(json_object_get(code, "recipe"), JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
            para(r, NULL, "Recipe:");
            if (s) pre(r, s);
            free(s);
        }
    }
    if (it->has_run && it->run.message) para(r, NULL, "Training: %s (%s).", it->run.message, it->run.status);
    if (it->failure) para(r, "bad", "Failure in the %s step (%s): %s", jstr(it->failure, "step") ? jstr(it->failure, "step") : "?",
                          jstr(it->failure, "kind") ? jstr(it->failure, "kind") : "?", jstr(it->failure, "message") ? jstr(it->failure, "message") : "");
    if (it->feedback && jstr(it->feedback, "diagnosis")) para(r, NULL, "Reflection: %s.", jstr(it->feedback, "diagnosis"));
    card_end(r);
}

static int write_progress(rep *r, ao_err *err)
{
    const char *metric = r->lin[r->chosen].rc.metric;
    ao_svg_series *se = NULL;
    double *x = NULL, *y = NULL;
    size_t tot = 0, off = 0;
    int i, j, ns = 0, rc = AO_OK, any_sel = 0;
    char **names = NULL;
    section(r, "progress", "Search progress");
    for (i = 0; i < r->n_lin; i++) tot += (size_t)r->lin[i].h.n_iters;
    if (!(se = calloc((size_t)r->n_lin * 2 + 1, sizeof *se)) || !(x = calloc(tot * 2 + 1, sizeof *x)) || !(y = calloc(tot * 2 + 1, sizeof *y)) ||
        !(names = calloc((size_t)r->n_lin * 2 + 1, sizeof *names)))
        { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (i = 0; i < r->n_lin; i++) {
        const lineage *l = &r->lin[i];
        json_t *series = json_object();
        ao_svg_series *s = &se[ns++];
        s->x = x + off;
        s->y = y + off;
        s->style = AO_SVG_LINE_POINTS;
        s->mark = -1;
        names[ns - 1] = fmt("lineage %d", l->number);
        s->name = names[ns - 1];
        for (j = 0; j < l->h.n_iters; j++) {
            const ao_iteration *it = &l->h.iters[j];
            x[off] = it->number;
            y[off] = ao_iteration_valid_value(it, metric);
            if (i == r->chosen && it == r->best) s->mark = (long)s->n;
            if (series && isfinite(y[off])) {
                char kb[16];
                snprintf(kb, sizeof kb, "%d", it->number);
                json_object_set_new(series, kb, json_real(y[off]));
            }
            s->n++;
            off++;
        }
        if (r->mqc_lines && series) json_object_set(r->mqc_lines, s->name, series);
        json_decref(series);
    }
    /* the selection slice, when the runs have one */
    for (i = 0; i < r->n_lin; i++) {
        const lineage *l = &r->lin[i];
        ao_svg_series *s = &se[ns];
        s->x = x + off;
        s->y = y + off;
        s->style = AO_SVG_LINE_POINTS;
        s->mark = -1;
        for (j = 0; j < l->h.n_iters; j++) {
            const ao_iteration *it = &l->h.iters[j];
            char *rd = it->has_run ? run_dir(r, l, it->run.run_id) : NULL;
            json_t *m = rd ? load_json(rd, "metrics.json", err) : NULL;
            ao_err_init(err);
            x[off] = it->number;
            y[off] = jnum(json_object_get(m, "selection"), metric);
            if (isfinite(y[off])) any_sel = 1;
            s->n++;
            off++;
            json_decref(m);
            free(rd);
        }
        if (any_sel) { names[ns] = fmt("lineage %d (selection)", l->number); s->name = names[ns]; ns++; }
    }
    {
        char *title = fmt("Validation %s per iteration", metric);
        ao_svg_plot p = {title, 560, 320, {"iteration", 0, NAN, NAN}, {metric, 0, NAN, NAN}, se, ns};
        fig_begin(r);
        if (ao_svg_xy(r->h, &p) < 0) rc = ao_err_set(err, AO_EIO, "cannot write the report");
        free(title);
        if (rc < 0) goto DONE;
        fig_end(r, "The ranking metric of every iteration on the validation split, one line per lineage; the ringed point is the chosen model.");
    }
    {
        const char *head[9] = {"lineage", "iteration", "model", "status", "validation", "selection", "time", "decision", "failure or message"};
        const char *cells[9];
        char b[5][64], desc[128];
        tbl_begin(r, 9, head);
        for (i = 0; i < r->n_lin; i++) {
            const lineage *l = &r->lin[i];
            for (j = 0; j < l->h.n_iters; j++) {
                const ao_iteration *it = &l->h.iters[j];
                char *rd = it->has_run ? run_dir(r, l, it->run.run_id) : NULL;
                json_t *m = rd ? load_json(rd, "metrics.json", err) : NULL;
                ao_err_init(err);
                snprintf(b[0], sizeof b[0], "%d", l->number);
                snprintf(b[1], sizeof b[1], "%d", it->number);
                num(b[2], sizeof b[2], ao_iteration_valid_value(it, metric));
                num(b[3], sizeof b[3], jnum(json_object_get(m, "selection"), metric));
                snprintf(b[4], sizeof b[4], "%.1f s", iter_seconds(it));
                cells[0] = b[0]; cells[1] = b[1]; cells[2] = model_desc(it, desc, sizeof desc);
                cells[3] = it->has_run ? it->run.status : it->failure ? "failed" : "-";
                cells[4] = b[2]; cells[5] = json_object_get(m, "selection") ? b[3] : "-"; cells[6] = b[4];
                cells[7] = it->decision == AO_DECISION_STOP ? "stop" : it->decision == AO_DECISION_CONTINUE ? "continue" : "-";
                cells[8] = it->failure ? jstr(it->failure, "message") : it->has_run && strcmp(it->run.status, "ok") ? it->run.message : NULL;
                tbl_row(r, 9, cells, i == r->chosen && it == r->best ? "chosen" : NULL);
                json_decref(m);
                free(rd);
            }
        }
        tbl_end(r);
        para(r, "note", "The chosen model's row is marked%s. Time: the agent's steps and training together.", r->best ? " (bold in report.md)" : "");
    }
    subsection(r, "Iterations");
    for (i = 0; i < r->n_lin; i++)
        for (j = 0; j < r->lin[i].h.n_iters; j++) iteration_card(r, &r->lin[i], &r->lin[i].h.iters[j], j > 0 ? &r->lin[i].h.iters[j - 1] : NULL);
DONE:
    for (i = 0; names && i < r->n_lin * 2 + 1; i++) free(names[i]);
    free(names);
    free(se);
    free(x);
    free(y);
    return rc;
}

/* ---- learning curves ------------------------------------------------------------- */

/* learning_curve.tsv (train-run): unit, step, train_loss, valid_loss,
 * valid_accuracy, elapsed_seconds; NA where a learner has no value. */
static int learning_curve(rep *r, const lineage *l, const ao_iteration *it, int *drawn, ao_err *err)
{
    static const char *const cols[] = {"train_loss", "valid_loss", "valid_accuracy"};
    char *rd = run_dir(r, l, it->run.run_id), *path = rd ? ao_path_join(rd, "learning_curve.tsv") : NULL, *title = NULL, desc[128];
    ao_tsv *t = NULL;
    ao_svg_series se[3];
    double *x = NULL, *y = NULL;
    int c, ci[3], cs, cu, rc = AO_OK, ns = 0;
    size_t i;
    if (!safe_id(it->run.run_id)) goto DONE;
    if (!path) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!ao_file_exists(path)) goto DONE;
    if (!(t = ao_tsv_load(path, err))) { rc = err->code; goto DONE; }
    if ((cs = ao_tsv_col(t, "step")) < 0 || (cu = ao_tsv_col(t, "unit")) < 0 || t->n_rows == 0) goto DONE;
    if (!(x = calloc(t->n_rows, sizeof *x)) || !(y = calloc(t->n_rows * 3, sizeof *y))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (i = 0; i < t->n_rows; i++) x[i] = strtod(ao_tsv_get(t, i, cs), NULL);
    for (c = 0; c < 3; c++) {
        int any = 0;
        if ((ci[c] = ao_tsv_col(t, cols[c])) < 0) continue;
        for (i = 0; i < t->n_rows; i++) {
            char *end;
            const char *f = ao_tsv_get(t, i, ci[c]);
            double v = strtod(f, &end);
            y[(size_t)c * t->n_rows + i] = *f && !*end ? v : NAN;
            if (isfinite(y[(size_t)c * t->n_rows + i])) any = 1;
        }
        if (!any) continue;
        memset(&se[ns], 0, sizeof se[ns]);
        se[ns].name = cols[c];
        se[ns].x = x;
        se[ns].y = y + (size_t)c * t->n_rows;
        se[ns].n = t->n_rows;
        se[ns].style = t->n_rows > 60 ? AO_SVG_LINE : AO_SVG_LINE_POINTS;
        se[ns].mark = -1;
        ns++;
    }
    if (!(title = fmt("Lineage %d, iteration %d: %s", l->number, it->number, model_desc(it, desc, sizeof desc)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    {
        ao_svg_plot p = {title, 480, 300, {ao_tsv_get(t, 0, cu), 0, NAN, NAN}, {"loss / accuracy", 0, NAN, NAN}, se, ns};
        fig_begin(r);
        if (ao_svg_xy(r->h, &p) < 0) { rc = ao_err_set(err, AO_EIO, "cannot write the report"); goto DONE; }
        fig_end(r, title);
        (*drawn)++;
    }
DONE:
    free(title);
    free(x);
    free(y);
    ao_tsv_destroy(t);
    free(path);
    free(rd);
    return rc;
}

static int write_curves(rep *r, ao_err *err)
{
    int i, j, drawn = 0, rc;
    section(r, "learning", "Learning curves");
    para(r, NULL, "Training and validation loss (and validation accuracy where the learner measures it) per epoch, boosting round or solver iteration, from each run's learning_curve.tsv.");
    for (i = 0; i < r->n_lin; i++)
        for (j = 0; j < r->lin[i].h.n_iters; j++) {
            const ao_iteration *it = &r->lin[i].h.iters[j];
            if (it->has_run && (rc = learning_curve(r, &r->lin[i], it, &drawn, err)) < 0) return rc;
        }
    if (!drawn) para(r, "note", "No run recorded a learning curve (script models and runs of older versions do not).");
    return AO_OK;
}

/* ---- the chosen model on validation, selection and test -------------------------- */

typedef struct split_pred { const char *name; ao_scored s; int ok; } split_pred;
static int eval_curves_of(rep *r, split_pred *sp, int nsp, int roc, ao_err *err);

/* Two classes: one plot, a curve per split. More: a plot per split, a
 * curve per class against the rest. */
static int eval_curves(rep *r, split_pred *sp, int nsp, int roc, ao_err *err)
{
    int i, rc = AO_OK, multi = 0;
    for (i = 0; i < nsp; i++) if (sp[i].ok && sp[i].s.n_classes > 2) multi = 1;
    if (!multi) return eval_curves_of(r, sp, nsp, roc, err);
    for (i = 0; i < nsp && rc >= 0; i++)
        if (sp[i].ok) rc = eval_curves_of(r, sp + i, 1, roc, err);
    return rc;
}

static int eval_curves_of(rep *r, split_pred *sp, int nsp, int roc, ao_err *err)
{
    ao_svg_series se[64];
    double *a[64], *b[64];
    size_t n[64];
    char *names[64], *title = NULL;
    int i, k, ns = 0, rc = AO_OK;
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memset(names, 0, sizeof names);
    for (i = 0; i < nsp; i++) {
        int K = sp[i].s.n_classes;
        if (!sp[i].ok) continue;
        for (k = K == 2 ? 1 : 0; k < K && ns < 63; k++) {
            rc = roc ? ao_roc_curve(&sp[i].s, k, &a[ns], &b[ns], &n[ns], err) : ao_pr_curve(&sp[i].s, k, &a[ns], &b[ns], &n[ns], err);
            if (rc < 0) goto DONE;
            names[ns] = strdup(K == 2 ? sp[i].name : sp[i].s.classes[k]);
            memset(&se[ns], 0, sizeof se[ns]);
            se[ns].name = names[ns];
            se[ns].x = a[ns];
            se[ns].y = b[ns];
            se[ns].n = n[ns];
            se[ns].style = AO_SVG_LINE;
            se[ns].mark = -1;
            ns++;
        }
    }
    if (roc && ns < 64) {
        static const double d[2] = {0, 1};
        memset(&se[ns], 0, sizeof se[ns]);
        se[ns].x = d;
        se[ns].y = d;
        se[ns].n = 2;
        se[ns].dashed = 1;
        se[ns].mark = -1;
        ns++;
    }
    title = nsp == 1 && sp[0].s.n_classes > 2 ? fmt("%s, %s", roc ? "ROC" : "Precision-recall", sp[0].name) : strdup(roc ? "ROC" : "Precision-recall");
    if (!title) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    {
        ao_svg_plot p = {title, ns > 8 ? 520 : 420, 340, {roc ? "false positive rate" : "recall", 0, 0, 1},
                         {roc ? "true positive rate" : "precision", 0, 0, 1}, se, ns};
        fig_begin(r);
        if (ao_svg_xy(r->h, &p) < 0) { rc = ao_err_set(err, AO_EIO, "cannot write the report"); goto DONE; }
        fig_end(r, roc ? "ROC curves of the chosen model (two classes: the positive class; more: each class against the rest); dashed: chance."
                       : "Precision-recall curves of the chosen model (two classes: the positive class; more: each class against the rest).");
    }
DONE:
    for (i = 0; i < 64; i++) { free(a[i]); free(b[i]); free(names[i]); }
    free(title);
    return rc;
}

static int calibration_plot(rep *r, split_pred *sp, int nsp, ao_err *err)
{
    enum { NB = 10 };
    double mp[8][NB], fr[8][NB];
    long cnt[8][NB];
    static const double d[2] = {0, 1};
    ao_svg_series se[9];
    int i, ns = 0, K = 2;
    memset(se, 0, sizeof se);
    for (i = 0; i < nsp && i < 8; i++) {
        if (!sp[i].ok) continue;
        K = sp[i].s.n_classes;
        ao_calibration(&sp[i].s, NB, mp[ns], fr[ns], cnt[ns]);
        se[ns].name = sp[i].name;
        se[ns].x = mp[ns];
        se[ns].y = fr[ns];
        se[ns].n = NB;
        se[ns].style = AO_SVG_LINE_POINTS;
        se[ns].mark = -1;
        ns++;
    }
    se[ns].x = d;
    se[ns].y = d;
    se[ns].n = 2;
    se[ns].dashed = 1;
    se[ns].mark = -1;
    ns++;
    {
        ao_svg_plot p = {"Calibration", 420, 340, {K == 2 ? "mean predicted probability (positive class)" : "mean top-class probability", 0, 0, 1},
                         {K == 2 ? "observed positive fraction" : "fraction predicted right", 0, 0, 1}, se, ns};
        fig_begin(r);
        if (ao_svg_xy(r->h, &p) < 0) return ao_err_set(err, AO_EIO, "cannot write the report");
        fig_end(r, "Calibration over ten probability bins; dashed: perfectly calibrated.");
    }
    return AO_OK;
}

static int confusion(rep *r, const char *name, const json_t *m, ao_err *err)
{
    json_t *cm = json_object_get(m, "confusion_matrix"), *classes = json_object_get(m, "classes");
    int K = (int)json_array_size(classes), i, j, rc = AO_OK;
    const char **cls = NULL;
    double *v = NULL;
    char *title = NULL;
    if (K < 2 || (int)json_array_size(cm) != K) return AO_OK;
    if (!(cls = calloc((size_t)K, sizeof *cls)) || !(v = calloc((size_t)K * (size_t)K, sizeof *v)) || !(title = fmt("Confusion matrix, %s", name))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    for (i = 0; i < K; i++) {
        cls[i] = json_string_value(json_array_get(classes, (size_t)i));
        for (j = 0; j < K; j++) {
            json_t *x = json_array_get(json_array_get(cm, (size_t)i), (size_t)j);
            v[i * K + j] = json_is_number(x) ? json_number_value(x) : NAN;
        }
    }
    fig_begin(r);
    if (ao_svg_heatmap(r->h, title, "predicted class", "true class", cls, cls, v, K, K, K > 6 ? 60 * K + 120 : 360, K > 6 ? 40 * K + 100 : 300) < 0) {
        rc = ao_err_set(err, AO_EIO, "cannot write the report");
        goto DONE;
    }
    fig_end(r, title);
DONE:
    free(cls);
    free(v);
    free(title);
    return rc;
}

static int write_eval(rep *r, ao_err *err)
{
    split_pred sp[2];
    slices s;
    char *vl = valid_labels(r), *vp = r->best_run_dir ? ao_path_join(r->best_run_dir, "predictions.valid.tsv") : NULL;
    char *tp = ao_path_join(r->res, "test_predictions.tsv"), *tl = ao_path_join(r->res, "data/heldout/test.tsv");
    int i, k, rc = AO_OK;
    memset(sp, 0, sizeof sp);
    section(r, "evaluation", "The chosen model on validation and test");
    sp[0].name = "validation";
    sp[1].name = "test";
    if (vl && vp && ao_file_exists(vp)) {
        if (ao_scored_from_files(vp, vl, &sp[0].s, err) == AO_OK) sp[0].ok = 1;
        else { para(r, "note", "Validation predictions not scored: %s", err->msg); ao_err_init(err); }
    } else {
        para(r, "note", "No validation predictions of the chosen run (predictions.valid.tsv) with their labels.");
    }
    if (tp && tl && ao_file_exists(tp) && ao_file_exists(tl)) {
        if (ao_scored_from_files(tp, tl, &sp[1].s, err) == AO_OK) sp[1].ok = 1;
        else { para(r, "note", "Test predictions not scored: %s", err->msg); ao_err_init(err); }
    } else {
        para(r, "note", "No held-out test predictions (test_predictions.tsv) with their labels (data/heldout/test.tsv).");
    }
    if (sp[0].ok || sp[1].ok) {
        if ((rc = eval_curves(r, sp, 2, 1, err)) < 0 || (rc = eval_curves(r, sp, 2, 0, err)) < 0 || (rc = calibration_plot(r, sp, 2, err)) < 0) goto DONE;
    }
    best_slices(r, &s);
    for (i = 0; i < s.n; i++)
        if ((rc = confusion(r, s.name[i], s.obj[i], err)) < 0) goto DONE;
    {
        json_t *classes = json_object_get(s.obj[0], "classes");
        const char *head[8] = {"class", "slice", "precision", "recall", "f1", "support", "predicted", "auroc"}, *cells[8];
        static const char *const keys[] = {"precision", "recall", "f1", "support", "predicted", "auroc"};
        char b[6][32];
        subsection(r, "Per-class metrics");
        tbl_begin(r, 8, head);
        for (k = 0; k < (int)json_array_size(classes); k++) {
            const char *c = json_string_value(json_array_get(classes, (size_t)k));
            for (i = 0; i < s.n; i++) {
                json_t *pc = json_object_get(json_object_get(s.obj[i], "per_class"), c ? c : "");
                int j;
                cells[0] = c;
                cells[1] = s.name[i];
                for (j = 0; j < 6; j++) { jnum_str(b[j], sizeof b[j], pc, keys[j]); cells[j + 2] = b[j]; }
                tbl_row(r, 8, cells, NULL);
            }
        }
        tbl_end(r);
    }
DONE:
    ao_scored_clear(&sp[0].s);
    ao_scored_clear(&sp[1].s);
    free(vl);
    free(vp);
    free(tp);
    free(tl);
    return rc;
}

/* ---- LLM usage --------------------------------------------------------------------- */

static void write_usage(rep *r)
{
    int i, any = 0;
    section(r, "llm", "LLM usage");
    for (i = 0; i < r->n_lin; i++) {
        const lineage *l = &r->lin[i];
        json_t *steps = json_object_get(l->usage, "steps");
        const char *head[7] = {"iteration", "step", "protocol", "calls", "prompt tokens", "completion tokens", "time"}, *cells[7];
        char b[5][32], *rel;
        size_t k;
        if (!l->usage || json_integer_value(json_object_get(l->usage, "llm_calls")) <= 0) continue;
        any = 1;
        rel = fmt("lineage%d/iter%d/%s/transcript.jsonl", l->number, l->last_iter, strrchr(l->state, '/') + 1);
        subsection(r, "Lineage calls");
        jnum_str(b[0], sizeof b[0], l->usage, "llm_calls");
        jnum_str(b[1], sizeof b[1], l->usage, "prompt_tokens");
        jnum_str(b[2], sizeof b[2], l->usage, "completion_tokens");
        num(b[3], sizeof b[3], jnum(l->usage, "cost"));
        para(r, NULL, "Lineage %d: %s calls, %s prompt and %s completion tokens, cost USD %s.", l->number, b[0], b[1], b[2], b[3]);
        if (rel) {
            fputs("<p>Transcript (every message and tool call, key redacted): <a href=\"", r->h);
            h_text(r->h, rel);
            fputs("\">", r->h);
            h_text(r->h, rel);
            fputs("</a></p>\n", r->h);
            fprintf(r->m, "Transcript (every message and tool call, key redacted): `%s`\n\n", rel);
        }
        free(rel);
        tbl_begin(r, 7, head);
        for (k = 0; k < json_array_size(steps); k++) {
            json_t *st = json_array_get(steps, k);
            jnum_str(b[0], sizeof b[0], st, "iteration");
            jnum_str(b[1], sizeof b[1], st, "llm_calls");
            jnum_str(b[2], sizeof b[2], st, "prompt_tokens");
            jnum_str(b[3], sizeof b[3], st, "completion_tokens");
            snprintf(b[4], sizeof b[4], "%.1f s", jnum(st, "seconds"));
            cells[0] = b[0]; cells[1] = jstr(st, "step"); cells[2] = jstr(st, "protocol");
            cells[3] = b[1]; cells[4] = b[2]; cells[5] = b[3]; cells[6] = b[4];
            tbl_row(r, 7, cells, NULL);
        }
        tbl_end(r);
    }
    if (!any) para(r, "note", "No LLM calls: the builtin agent ran every step.");
}

/* ---- MultiQC custom content ------------------------------------------------------- */

static int write_json_file(const char *dir, const char *name, json_t *j, ao_err *err)
{
    char *p = ao_path_join(dir, name);
    ao_outfile *of = NULL;
    int rc;
    if (!p || !j) { free(p); return ao_err_set(err, AO_EMEM, "out of memory"); }
    if (!(of = ao_outfile_open(p, err))) { free(p); return err->code; }
    if (json_dumpf(j, of->fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', of->fp) == EOF) rc = ao_err_set(err, AO_EIO, "%s: write error", p);
    else rc = ao_outfile_commit(of, err);
    ao_outfile_destroy(of);
    free(p);
    return rc;
}

static int write_mqc(rep *r, const char *out, ao_err *err)
{
    const lineage *l = &r->lin[r->chosen];
    const char *metric = l->rc.metric;
    json_t *row = json_object(), *line, *gs, *headers = json_object();
    char *desc = fmt("Validation %s of every iteration of the agent's search, one line per lineage (report.html has the rest).", metric);
    char *ylab = fmt("validation %s", metric), *tkey = fmt("test_%s", metric), *vkey = fmt("valid_%s", metric);
    int rc;
    if (!row || !headers || !desc || !ylab || !tkey || !vkey) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    json_object_set_new(row, vkey, json_real(l->h.best.value));
    json_object_set_new(headers, vkey, json_pack("{s:s,s:s,s:f,s:f,s:s}", "title", "Valid", "description", ylab, "min", 0.0, "max", 1.0, "format", "{:,.4f}"));
    if (r->test_metrics && isfinite(jnum(r->test_metrics, metric))) {
        char *d = fmt("held-out test %s of the chosen model", metric);
        json_object_set_new(row, tkey, json_real(jnum(r->test_metrics, metric)));
        json_object_set_new(headers, tkey, json_pack("{s:s,s:s,s:f,s:f,s:s}", "title", "Test", "description", d ? d : "", "min", 0.0, "max", 1.0, "format", "{:,.4f}"));
        free(d);
    }
    json_object_set_new(row, "iterations", json_integer(l->h.n_iters));
    json_object_set_new(headers, "iterations", json_pack("{s:s,s:s,s:s}", "title", "Iterations", "description", "iterations of the chosen lineage", "format", "{:,.0f}"));
    line = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:O}", "id", "agentomics", "section_name", "agentomics search", "description", desc,
                     "plot_type", "linegraph", "pconfig", "id", "agentomics_search", "title", "agentomics: validation metric per iteration",
                     "xlab", "iteration", "ylab", ylab, "data", r->mqc_lines);
    gs = json_pack("{s:s,s:s,s:s,s:O,s:{s:o}}", "id", "agentomics_general_stats", "plot_type", "generalstats", "namespace", "agentomics",
                   "headers", headers, "data", r->title, row);
    row = NULL;
    if ((rc = write_json_file(out, "agentomics_mqc.json", line, err)) >= 0) rc = write_json_file(out, "agentomics_general_stats_mqc.json", gs, err);
    json_decref(line);
    json_decref(gs);
DONE:
    json_decref(row);
    json_decref(headers);
    free(desc);
    free(ylab);
    free(tkey);
    free(vkey);
    return rc;
}

/* ---- the documents ------------------------------------------------------------------ */

static const char css[] =
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:1em 2em;color:#222;line-height:1.4}"
    "h1{margin-bottom:0}h2{border-bottom:2px solid #0072b2;padding-bottom:.2em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#f0f4f8}tr.chosen td{background:#fff4cc;font-weight:bold}"
    ".flag{padding:.45em .8em;margin:.3em 0;border-radius:4px;border-left:6px solid}"
    ".flag.ok{background:#eef8f0;border-color:#2e7d32}.flag.warn{background:#fff8e1;border-color:#e69f00}"
    ".flag.red{background:#fdecea;border-color:#c62828;font-size:1.05em}"
    "figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}figcaption{font-size:.85em;color:#555;max-width:480px}"
    "details.card{border:1px solid #ccc;border-radius:4px;margin:.4em 0;padding:.3em .8em}details.card summary{cursor:pointer;font-weight:600}"
    "pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:30em;font-size:.85em}p.note{color:#666;font-style:italic}p.bad{color:#c62828}"
    "nav a{margin-right:1em}";

static int write_docs(rep *r, const char *out, ao_err *err)
{
    char *hp = ao_path_join(out, "report.html"), *mp = ao_path_join(out, "report.md");
    ao_outfile *hf = NULL, *mf = NULL;
    seqstats ss;
    int rc;
    memset(&ss, 0, sizeof ss);
    if (!hp || !mp) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = seqstats_read(r, &ss, err)) < 0) goto DONE;
    if (!(hf = ao_outfile_open(hp, err)) || !(mf = ao_outfile_open(mp, err))) { rc = err->code; goto DONE; }
    r->h = hf->fp;
    r->m = mf->fp;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
          "<title>", r->h);
    h_text(r->h, "agentomics report: ");
    h_text(r->h, r->title);
    fprintf(r->h, "</title><style>%s</style></head><body>\n<h1>agentomics report: ", css);
    h_text(r->h, r->title);
    fputs("</h1>\n<nav><a href=\"#summary\">Summary</a><a href=\"#qc\">QC flags</a><a href=\"#profile\">Dataset</a><a href=\"#progress\">Search</a>"
          "<a href=\"#learning\">Learning curves</a><a href=\"#evaluation\">Evaluation</a><a href=\"#llm\">LLM</a>"
          "<a href=\"#\" id=\"toggle\">expand all iterations</a></nav>\n<section>", r->h);
    fputs("# agentomics report: ", r->m);
    m_text(r->m, r->title);
    fputs("\n", r->m);
    para(r, "note", "Written by agentomics-report from the results folder; report.md holds the same numbers as text.");
    write_summary(r, &ss);
    write_flags(r, &ss);
    if ((rc = write_profile(r, &ss, err)) < 0 || (rc = write_progress(r, err)) < 0 || (rc = write_curves(r, err)) < 0 || (rc = write_eval(r, err)) < 0) goto DONE;
    write_usage(r);
    fputs("</section>\n<script>document.getElementById('toggle').addEventListener('click',function(e){e.preventDefault();"
          "var d=document.querySelectorAll('details.card'),o=!Array.prototype.every.call(d,function(x){return x.open});"
          "d.forEach(function(x){x.open=o});this.textContent=o?'collapse all iterations':'expand all iterations'});</script>\n</body></html>\n", r->h);
    if ((rc = ao_outfile_commit(hf, err)) < 0 || (rc = ao_outfile_commit(mf, err)) < 0) goto DONE;
DONE:
    r->h = r->m = NULL;
    ao_outfile_destroy(hf);
    ao_outfile_destroy(mf);
    seqstats_clear(&ss);
    free(hp);
    free(mp);
    return rc;
}

int ao_report_write(const ao_report_opts *o, ao_err *err)
{
    rep r;
    const char *out = o->out_dir ? o->out_dir : o->results;
    int i, rc;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.res = o->results;
    if (!ao_is_dir(o->results)) return ao_err_set(err, AO_EIO, "%s: not a directory", o->results);
    if (o->title) r.title = strdup(o->title);
    else {
        char *c = strdup(o->results), *b;
        size_t n = c ? strlen(c) : 0;
        while (n > 1 && c[n - 1] == '/') c[--n] = '\0';
        b = c ? strrchr(c, '/') : NULL;
        r.title = c ? strdup(b ? b + 1 : c) : NULL;
        free(c);
    }
    if (!r.title || !(r.mqc_lines = json_object())) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((!(r.dataset = load_json(o->results, "data/agent/dataset.json", err)) && err->code) ||
        (!(r.test_info = load_json(o->results, "data/heldout/test.json", err)) && err->code) ||
        (!(r.selection = load_json(o->results, "lineages.json", err)) && err->code) ||
        (!(r.test_metrics = load_json(o->results, "test_metrics.json", err)) && err->code)) { rc = err->code; goto DONE; }
    {
        /* the package, verified as agentomics-predict verifies it; one
         * that does not verify is reported, not fatal */
        char *pkg = ao_path_join(o->results, "model.tar.gz");
        if (!pkg) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if (ao_file_exists(pkg)) {
            ao_err pe;
            ao_pkg_tmp *t;
            ao_err_init(&pe);
            if ((t = ao_package_open(pkg, &pe))) r.manifest = json_incref(t->manifest);
            else if (!(r.package_error = strdup(pe.msg))) { free(pkg); rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            else ao_warn("%s", pe.msg);
            ao_pkg_tmp_destroy(t);
        }
        free(pkg);
    }
    if ((rc = read_lineages(&r, err)) < 0) goto DONE;
    {
        lineage *l = &r.lin[r.chosen];
        r.best = l->h.best.iteration > 0 ? ao_history_iteration(&l->h, l->h.best.iteration) : NULL;
        if (r.best && r.best->has_run && safe_id(r.best->run.run_id)) {
            r.best_run_dir = run_dir(&r, l, r.best->run.run_id);
            if (!r.best_run_dir) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
            if (!(r.best_run = load_json(r.best_run_dir, "metrics.json", err)) && err->code) { rc = err->code; goto DONE; }
        }
    }
    if (o->out_dir && (rc = ao_mkdir_p(o->out_dir, err)) < 0) goto DONE;
    if ((rc = write_docs(&r, out, err)) < 0) goto DONE;
    if (o->mqc) rc = write_mqc(&r, out, err);
DONE:
    for (i = 0; i < r.n_lin; i++) {
        free(r.lin[i].state);
        ao_run_config_clear(&r.lin[i].rc);
        ao_history_clear(&r.lin[i].h);
        json_decref(r.lin[i].usage);
    }
    free(r.lin);
    free(r.title);
    free(r.best_run_dir);
    json_decref(r.best_run);
    json_decref(r.dataset);
    json_decref(r.test_info);
    json_decref(r.selection);
    json_decref(r.test_metrics);
    json_decref(r.manifest);
    free(r.package_error);
    json_decref(r.mqc_lines);
    return rc;
}
