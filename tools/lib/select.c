/* select.c — lineage selection (select.h). This module owns the rule that
 * picks the lineage a workflow packages and the lineages.json it writes;
 * both workflows (Snakemake and Nextflow) call it through agentomics-select
 * instead of carrying their own copy of the rule.
 *
 * Every read of a state is in read_lineage(), through the typed run state
 * (runstate.h); the rest of the module works on the record it fills. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/runstate.h"
#include "agentomics/select.h"
#include "agentomics/state.h"

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

/* Fills *l from DIR's run.json and history.json (read and validated by
 * runstate.h: AO_EDATA naming the file and JSON path, AO_EIO for a missing
 * file) and decision.json. On error *l holds nothing to free. */
static int read_lineage(const char *dir, lineage *l, ao_err *err)
{
    ao_run_config run;
    ao_history h;
    const char *d;
    int rc;
    memset(l, 0, sizeof *l);
    l->dir = dir;
    if ((rc = ao_runstate_read(dir, &run, &h, err)) < 0) return rc;
    if (!(l->decision = ao_state_read_json(dir, "decision.json", err))) { rc = err->code; goto DONE; }
    d = json_string_value(json_object_get(l->decision, "decision"));
    if (!d || (strcmp(d, "continue") != 0 && strcmp(d, "stop") != 0)) {
        rc = ao_err_set(err, AO_EDATA, "%s/decision.json: $.decision: expected \"continue\" or \"stop\" (not a final agent state)", dir);
        goto DONE;
    }
    l->number = run.lineage;
    l->iterations = h.n_iters;
    l->has_value = h.best.iteration && isfinite(h.best.value);
    l->value = h.best.value;
    if (!(l->metric = strdup(run.metric)) || !(l->content_hash = strdup(run.content_hash)) || !(l->best = ao_best_json(&h.best)) ||
        (h.best.iteration && !(l->best_metric = strdup(h.best.metric)))) rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    ao_run_config_clear(&run);
    ao_history_clear(&h);
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
