/* select.c — lineage selection (select.h). This module owns the rule that
 * picks the lineage a workflow packages and the lineages.json it writes;
 * both workflows (Snakemake and Nextflow) call it through agentomics-select
 * instead of carrying their own copy of the rule.
 *
 * Every read of a state file is in read_lineage(): the rest of the module
 * works on the lineage record it fills, so moving to a typed run-state
 * reader changes that one function. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/select.h"

/* What selection needs from one lineage's final state. */
typedef struct lineage {
    const char *dir;       /* the state directory as given (not owned) */
    long long number;      /* run.json lineage */
    char *metric;          /* run.json metric */
    char *content_hash;    /* run.json data.content_hash */
    char *best_metric;     /* history.json best.metric; NULL without a best or metric */
    long long iterations;  /* length of history.json iterations */
    int has_value;         /* best.value is a finite number */
    double value;          /* best.value when has_value */
    json_t *best;          /* history.json best: an object, or null (owned) */
    json_t *decision;      /* decision.json (owned) */
} lineage;

static void lineage_free(lineage *l)
{
    free(l->metric);
    free(l->content_hash);
    free(l->best_metric);
    json_decref(l->best);
    json_decref(l->decision);
    memset(l, 0, sizeof *l);
}

/* Fills *l from DIR's run.json, history.json and decision.json (see
 * select.h for the members used). A missing file or a malformed member is
 * AO_EDATA naming the file; a file that exists but cannot be opened is
 * AO_EIO. On error *l holds nothing to free. */
static int read_lineage(const char *dir, lineage *l, ao_err *err)
{
    static const char *const names[3] = {"run.json", "history.json", "decision.json"};
    json_t *doc[3] = {NULL, NULL, NULL}, *v, *best;
    char *path[3] = {NULL, NULL, NULL};
    const char *s, *h;
    int i, rc = AO_OK;

    memset(l, 0, sizeof *l);
    l->dir = dir;
    for (i = 0; i < 3 && rc == AO_OK; i++) {
        json_error_t je;
        FILE *fp;
        if (!(path[i] = ao_path_join(dir, names[i]))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); break; }
        if (!(fp = fopen(path[i], "r"))) {
            if (errno == ENOENT || errno == ENOTDIR)
                rc = ao_err_set(err, AO_EDATA, "%s: missing (not a final agent state)", path[i]);
            else
                rc = ao_err_set(err, AO_EIO, "%s: cannot open: %s", path[i], strerror(errno));
            break;
        }
        doc[i] = json_loadf(fp, JSON_REJECT_DUPLICATES, &je);
        fclose(fp);
        if (!doc[i]) rc = ao_err_set(err, AO_EDATA, "%s:%d: invalid JSON: %s", path[i], je.line, je.text);
        else if (!json_is_object(doc[i])) rc = ao_err_set(err, AO_EDATA, "%s: not a JSON object", path[i]);
    }
    if (rc < 0) goto DONE;
    /* run.json */
    v = json_object_get(doc[0], "lineage");
    s = json_string_value(json_object_get(doc[0], "metric"));
    h = json_string_value(json_object_get(json_object_get(doc[0], "data"), "content_hash"));
    if (!json_is_integer(v) || json_integer_value(v) < 1) rc = ao_err_set(err, AO_EDATA, "%s: 'lineage' is not an integer >= 1", path[0]);
    else if (!s || !*s) rc = ao_err_set(err, AO_EDATA, "%s: no 'metric' string", path[0]);
    else if (!h || !*h) rc = ao_err_set(err, AO_EDATA, "%s: no 'data.content_hash' string", path[0]);
    if (rc < 0) goto DONE;
    l->number = (long long)json_integer_value(v);
    if (!(l->metric = strdup(s)) || !(l->content_hash = strdup(h))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    /* history.json: the iterations and the best pointer (absent = null) */
    if (!json_is_array(v = json_object_get(doc[1], "iterations"))) {
        rc = ao_err_set(err, AO_EDATA, "%s: no 'iterations' array", path[1]);
        goto DONE;
    }
    l->iterations = (long long)json_array_size(v);
    best = json_object_get(doc[1], "best");
    if (best && !json_is_null(best)) {
        if (!json_is_object(best)) { rc = ao_err_set(err, AO_EDATA, "%s: 'best' is neither an object nor null", path[1]); goto DONE; }
        v = json_object_get(best, "value");
        if (v && !json_is_null(v) && !json_is_number(v)) { rc = ao_err_set(err, AO_EDATA, "%s: 'best.value' is neither a number nor null", path[1]); goto DONE; }
        if (json_is_number(v) && isfinite(json_number_value(v))) { l->has_value = 1; l->value = json_number_value(v); }
        v = json_object_get(best, "metric");
        if (v && !json_is_null(v) && !json_is_string(v)) { rc = ao_err_set(err, AO_EDATA, "%s: 'best.metric' is not a string", path[1]); goto DONE; }
        if (json_is_string(v) && !(l->best_metric = strdup(json_string_value(v)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        l->best = json_incref(best);
    } else {
        l->best = json_null();
    }
    /* decision.json */
    if (!json_is_string(json_object_get(doc[2], "decision"))) {
        rc = ao_err_set(err, AO_EDATA, "%s: no 'decision' string", path[2]);
        goto DONE;
    }
    l->decision = json_incref(doc[2]);
DONE:
    for (i = 0; i < 3; i++) {
        json_decref(doc[i]);
        free(path[i]);
    }
    if (rc < 0) lineage_free(l);
    return rc;
}

static int by_number(const void *a, const void *b)
{
    const lineage *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

/* The lineages can be compared: distinct numbers (ls sorted by number), one
 * metric, one dataset. */
static int check_comparable(const lineage *ls, int n, ao_err *err)
{
    const lineage *with_best = NULL;
    int i;
    for (i = 0; i < n; i++) {
        const lineage *a = &ls[0], *b = &ls[i];
        if (i > 0 && ls[i - 1].number == b->number)
            return ao_err_set(err, AO_EDATA, "%s/run.json: lineage %lld appears twice (also %s/run.json)",
                              b->dir, b->number, ls[i - 1].dir);
        if (strcmp(a->metric, b->metric) != 0)
            return ao_err_set(err, AO_EDATA, "%s/run.json: metric '%s' differs from lineage %lld's '%s' (%s/run.json): their values cannot be compared",
                              b->dir, b->metric, a->number, a->metric, a->dir);
        if (strcmp(a->content_hash, b->content_hash) != 0)
            return ao_err_set(err, AO_EDATA, "%s/run.json: dataset content hash differs from lineage %lld's (%s/run.json): their values cannot be compared",
                              b->dir, a->number, a->dir);
        if (b->best_metric) {
            if (with_best && strcmp(with_best->best_metric, b->best_metric) != 0)
                return ao_err_set(err, AO_EDATA, "%s/history.json: best metric '%s' differs from lineage %lld's '%s' (%s/history.json): their values cannot be compared",
                                  b->dir, b->best_metric, with_best->number, with_best->best_metric, with_best->dir);
            if (!with_best) with_best = b;
        }
    }
    return AO_OK;
}

/* The index of the chosen lineage in ls (sorted by number): the highest
 * finite best value, ties to the lowest number, else the lowest number. */
static int choose(const lineage *ls, int n)
{
    int i, c = 0;
    for (i = 1; i < n; i++)
        if (ls[i].has_value && (!ls[c].has_value || ls[i].value > ls[c].value)) c = i;
    return c;
}

/* lineages.json (select.h) as a new JSON object, NULL when out of memory. */
static json_t *selection_json(const lineage *ls, int n, int c)
{
    json_t *root = NULL, *arr = json_array();
    const char *metric = ls[0].metric;
    int i, ok = arr != NULL;
    for (i = 0; i < n; i++)
        if (ls[i].best_metric) { metric = ls[i].best_metric; break; }
    for (i = 0; ok && i < n; i++)
        ok = json_array_append_new(arr, json_pack("{s:I,s:I,s:O,s:O,s:s}", "lineage", (json_int_t)ls[i].number,
                                                  "iterations", (json_int_t)ls[i].iterations, "best", ls[i].best,
                                                  "decision", ls[i].decision, "state", ls[i].dir)) == 0;
    if (ok)
        root = json_pack("{s:i,s:s,s:I,s:O,s:s,s:o}", "format_version", AO_SELECT_FORMAT_VERSION, "metric", metric,
                         "chosen", (json_int_t)ls[c].number, "chosen_best", ls[c].best, "chosen_state", ls[c].dir,
                         "lineages", arr);
    else
        json_decref(arr);
    return root;   /* json_pack's "o" took arr, also on failure */
}

int ao_select_lineages(const ao_select_opts *o, ao_err *err)
{
    lineage *ls = NULL;
    json_t *out = NULL;
    ao_outfile *of = NULL;
    char *text = NULL;
    int i, c, n = 0, rc = AO_OK;

    if (!o || !o->state_dirs || o->n_states < 1 || !o->out)
        return ao_err_set(err, AO_EUSAGE, "at least one state directory and an output are needed");
    if (!o->force && strcmp(o->out, "-") != 0 && ao_file_exists(o->out))
        return ao_err_set(err, AO_EUSAGE, "%s: output already exists (use --force to replace it)", o->out);
    if (!(ls = calloc((size_t)o->n_states, sizeof *ls))) return ao_err_set(err, AO_EMEM, "out of memory");
    for (n = 0; n < o->n_states; n++)
        if ((rc = read_lineage(o->state_dirs[n], &ls[n], err)) < 0) goto DONE;
    qsort(ls, (size_t)n, sizeof *ls, by_number);
    if ((rc = check_comparable(ls, n, err)) < 0) goto DONE;
    c = choose(ls, n);
    if (!(out = selection_json(ls, n, c)) || !(text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if (!(of = ao_outfile_open(o->out, err))) { rc = err->code; goto DONE; }
    if (fputs(text, of->fp) == EOF || fputc('\n', of->fp) == EOF) {
        rc = ao_err_set(err, AO_EIO, "%s: write error: %s", o->out, strerror(errno));
        goto DONE;
    }
    if ((rc = ao_outfile_commit(of, err)) < 0) goto DONE;
    if (ls[c].has_value)
        ao_info("chose lineage %lld of %d (best %s %.6g in iteration %lld of %lld)", ls[c].number, n,
                ls[c].best_metric ? ls[c].best_metric : ls[c].metric, ls[c].value,
                (long long)json_integer_value(json_object_get(ls[c].best, "iteration")), ls[c].iterations);
    else
        ao_info("chose lineage %lld of %d (no lineage has a best iteration)", ls[c].number, n);
DONE:
    ao_outfile_destroy(of);
    free(text);
    json_decref(out);
    for (i = 0; i < n; i++) lineage_free(&ls[i]);
    free(ls);
    return rc;
}
