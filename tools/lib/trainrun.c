/* trainrun.c — agentomics-train-run as a library call (trainrun.h): the
 * state's current iteration, the split in force, and the two backends
 * (builtin recipes in process, agent-written scripts in the sandbox)
 * behind one run directory and one metrics.json. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "agentomics/data.h"
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/metrics.h"
#include "agentomics/model.h"
#include "agentomics/predfile.h"
#include "agentomics/predict.h"
#include "agentomics/progress.h"
#include "agentomics/recipe.h"
#include "agentomics/rng.h"
#include "agentomics/runstate.h"
#include "agentomics/scriptmodel.h"
#include "agentomics/state.h"
#include "agentomics/trainrun.h"

#define LOG_TAIL_MAX 4096

/* One train-run. */
typedef struct trainrun {
    const ao_trainrun_opts *o;
    ao_run_config run;
    ao_history hist;
    const ao_iteration *it;       /* the iteration being run (NULL: a state without iterations) */
    ao_dataset_info *info;
    ao_seqset *train, *valid;
    char *train_path, *valid_path;
    ao_seqset *sel;               /* the selection slice (NULL: none) */
    char *sel_path;
    ao_outdir *od;
    char *log_path;
    json_t *metrics;              /* metrics.json, keys in the order a reader wants them */
} trainrun;

static void trainrun_clear(trainrun *t)
{
    ao_run_config_clear(&t->run);
    ao_history_clear(&t->hist);
    ao_dataset_info_destroy(t->info);
    ao_seqset_destroy(t->train);
    ao_seqset_destroy(t->valid);
    free(t->train_path);
    free(t->valid_path);
    ao_seqset_destroy(t->sel);
    free(t->sel_path);
    ao_outdir_destroy(t->od);
    free(t->log_path);
    json_decref(t->metrics);
}

/* Appends a line to the training log; the entries' own output goes there
 * too, in order, because every write is an append. */
static void log_line(const char *path, const char *fmt, ...) AO_PRINTF(2, 3);
static void log_line(const char *path, const char *fmt, ...)
{
    FILE *fp = path ? fopen(path, "a") : NULL;
    va_list ap;
    if (!fp) return;
    va_start(ap, fmt);
    vfprintf(fp, fmt, ap);
    va_end(ap);
    fputc('\n', fp);
    fclose(fp);
}

/* A JSON string of text that may not be UTF-8 (an entry prints what it
 * likes): invalid bytes become '?'. */
static json_t *text_json(const char *p)
{
    size_t n = strlen(p), i = 0, k;
    char *b = malloc(n + 1);
    json_t *j;
    if (!b) return NULL;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
        for (k = 1; len && k < len; k++)
            if (i + k >= n || ((unsigned char)p[i + k] & 0xc0) != 0x80) len = 0;
        if (len) memcpy(b + i, p + i, len);
        else { b[i] = '?'; len = 1; }
        i += len;
    }
    b[n] = '\0';
    j = json_string(b);   /* NULL only for the overlong or surrogate forms left: rare, and then no text */
    free(b);
    return j ? j : json_string("(output not valid UTF-8)");
}

/* The last LOG_TAIL_MAX bytes of an entry's output, from a line start. */
static json_t *log_tail(const char *out)
{
    size_t n = out ? strlen(out) : 0;
    const char *p = out;
    if (!out) return json_null();
    if (n > LOG_TAIL_MAX) {
        const char *nl;
        p = out + n - LOG_TAIL_MAX;
        if ((nl = strchr(p, '\n')) && nl[1]) p = nl + 1;
    }
    return text_json(p);
}

static int set(trainrun *t, const char *key, json_t *v /* stolen */, ao_err *err)
{
    return v && json_object_set_new(t->metrics, key, v) == 0 ? AO_OK : ao_err_set(err, AO_EMEM, "out of memory");
}

static json_t *data_json(const trainrun *t)
{
    return json_pack("{s:s,s:I,s:s,s:I,s:I}", "train", t->train_path, "n_train", (json_int_t)t->train->n, "valid", t->valid_path,
                     "n_valid", (json_int_t)t->valid->n, "n_selection", (json_int_t)(t->sel ? t->sel->n : 0));
}

/* ---- an iteration whose agent steps failed -------------------------------------- */

/* Nothing to train, but the iteration is recorded, with the reason, for reflect. */
static int backend_failed(trainrun *t, const char *msg, const json_t *failure, ao_err *err)
{
    FILE *log = fopen(t->log_path, "w");
    int rc;
    if (!log) return ao_err_set(err, AO_EIO, "%s: cannot create", t->log_path);
    fprintf(log, "# agentomics-train-run %s: nothing to train\n# failed: %s\n", AO_VERSION, msg);
    if (fclose(log) != 0) return ao_err_set(err, AO_EIO, "%s: write error", t->log_path);
    if ((rc = set(t, "status", json_string("failed"), err)) < 0 || (rc = set(t, "message", text_json(msg), err)) < 0 ||
        (rc = set(t, "model", json_null(), err)) < 0 || (rc = set(t, "failure", json_deep_copy(failure), err)) < 0) return rc;
    ao_info("failed: %s", msg);
    return AO_OK;
}

/* ---- builtin recipes ------------------------------------------------------------------ */

/* Predicts split `path` with the saved model (the inference path of
 * agentomics-predict) into the run's `pred` file and scores it; keep 0
 * removes the file after scoring (the selection slice's predictions stay
 * out of the run directory, which the agent reads). */
static int predict_and_score(trainrun *t, const char *model_dir, const char *path, const char *pred, int keep, json_t **score, ao_err *err)
{
    char *p = ao_outdir_path(t->od, pred, err);
    int rc;
    if (!p) return err->code;
    if ((rc = ao_predict_file(model_dir, path, p, t->o->threads, err)) >= 0) rc = ao_score_files(p, path, score, err);
    if (!keep) unlink(p);
    free(p);
    return rc;
}

/* A binary run ranked by a metric of the predicted class gets a decision
 * threshold (metrics.h, ao_threshold_decide; README "Decision thresholds"). */
static int wants_threshold(const trainrun *t, int n_classes)
{
    return n_classes == 2 && ao_metric_needs_threshold(t->run.metric) && t->valid->n > 0;
}

static void round_as_written(double *p, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        char b[40];
        snprintf(b, sizeof b, "%.9g", p[i]);
        p[i] = strtod(b, NULL);
    }
}

/* The threshold chosen on the validation probabilities pv (n x 2) and
 * confirmed on the selection slice's ps (NULL when there is none), both
 * rounded first as the prediction files write them (in place). *th is NaN
 * when the argmax stays; line gets the train.log line. Callers check
 * wants_threshold. */
static int decide_threshold(const trainrun *t, double *pv, double *ps, double *th, char *line, size_t size, ao_err *err)
{
    const char *metric = t->run.metric;
    size_t ns = ps ? (size_t)t->sel->n : 0;
    ao_threshold_decision d;
    int rc;
    round_as_written(pv, 2 * t->valid->n);
    if (ns) round_as_written(ps, 2 * (int64_t)ns);
    if ((rc = ao_threshold_decide((size_t)t->valid->n, t->valid->y, pv, ns, ns ? t->sel->y : NULL, ps, metric, &d, err)) < 0) return rc;
    *th = d.threshold;
    if (isnan(d.chosen))
        snprintf(line, size, "# threshold: the argmax kept (validation %s %.6g; no threshold does better)", metric, d.at_argmax);
    else if (!ns)
        snprintf(line, size, "# threshold: %.9g chosen on the validation split (%s %.6g; %.6g with the argmax; no selection slice to confirm it)",
                 d.chosen, metric, d.best, d.at_argmax);
    else
        snprintf(line, size, "# threshold: %.9g chosen on the validation split (%s %.6g; %.6g with the argmax), %s on the selection slice (%.6g; %.6g with the argmax)",
                 d.chosen, metric, d.best, d.at_argmax, isnan(d.threshold) ? "not confirmed, the argmax kept," : "confirmed", d.confirm, d.confirm_argmax);
    return AO_OK;
}

/* A builtin model's threshold, set on the model before it is saved; *out
 * is metrics.json's "threshold" (JSON null for the argmax), NULL when the
 * run has none to choose. */
static int choose_threshold(trainrun *t, ao_model *model, FILE *log, json_t **out, ao_err *err)
{
    double *pv = NULL, *ps = NULL, th;
    char line[400];
    int rc;
    *out = NULL;
    if (!wants_threshold(t, t->info->n_classes)) return AO_OK;
    if (!(pv = malloc(sizeof *pv * (size_t)t->valid->n * 2)) || (t->sel && !(ps = malloc(sizeof *ps * (size_t)(t->sel->n + 1) * 2)))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto DONE;
    }
    if ((rc = ao_model_predict(model, t->valid, t->o->threads, pv, err)) < 0 || (ps && (rc = ao_model_predict(model, t->sel, t->o->threads, ps, err)) < 0) ||
        (rc = decide_threshold(t, pv, ps, &th, line, sizeof line, err)) < 0 || (rc = ao_model_set_threshold(model, th, err)) < 0)
        goto DONE;
    fprintf(log, "%s\n", line);
    if (!(*out = isnan(th) ? json_null() : json_real(th))) rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    free(pv);
    free(ps);
    return rc;
}

static int backend_builtin(trainrun *t, ao_err *err)
{
    ao_recipe recipe;
    ao_model *model = NULL;
    ao_train_report rep;
    char *recipe_path = ao_path_join(t->o->state, "workspace/recipe.json"), *model_dir = NULL, *curve_path = NULL;
    json_t *mt = NULL, *mv = NULL, *ms = NULL, *th = NULL;
    FILE *log = NULL, *curve = NULL;
    ao_progress prog = {NULL, ao_now(), t->o->time_limit, ao_log_level() >= AO_LOG_WARN, 10};
    int rc;
    memset(&recipe, 0, sizeof recipe);
    if (!recipe_path) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!ao_file_exists(recipe_path)) { rc = ao_err_set(err, AO_EDATA, "%s: the workspace has no recipe.json", recipe_path); goto DONE; }
    if ((rc = ao_recipe_load(recipe_path, &recipe, err)) < 0) goto DONE;
    if (!(model_dir = ao_outdir_path(t->od, "model/.keep", err))) { rc = err->code; goto DONE; }
    *strrchr(model_dir, '/') = '\0';
    if (!(log = fopen(t->log_path, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot create", t->log_path); goto DONE; }
    fprintf(log, "# agentomics-train-run %s: %s recipe, %lld training and %lld validation rows, %d thread(s)\n", AO_VERSION,
            ao_model_type_name(recipe.model), (long long)t->train->n, (long long)t->valid->n, t->o->threads);
    /* the per-epoch records, under their final name inside the run directory being built */
    if (!(curve_path = ao_outdir_path(t->od, "learning_curve.tsv", err))) { rc = err->code; goto DONE; }
    if (!(curve = fopen(curve_path, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot create", curve_path); goto DONE; }
    ao_progress_header(curve);
    prog.tsv = curve;
    ao_progress_note("training %s (%s) on %lld rows, validating on %lld; per-step records in %s",
                json_string_value(json_object_get(recipe.json, "name")) ? json_string_value(json_object_get(recipe.json, "name")) : "the recipe", ao_model_type_name(recipe.model), (long long)t->train->n, (long long)t->valid->n, curve_path);
    {
        ao_train_opts to = {t->o->threads, t->o->time_limit, t->o->mem_limit_mb, log, &prog};
        /* a recipe that cannot run on this data (memory, shapes) is a data error */
        if ((rc = ao_model_train(&recipe, t->info, t->train, t->valid, &to, &model, &rep, err)) < 0) goto DONE;
    }
    fprintf(log, "# %s: %s (%.2f s)\n", ao_train_status_name(rep.status), rep.message, rep.seconds);
    if (*rep.warning) {
        fprintf(log, "# warning: %s\n", rep.warning);
        ao_warn("%s", rep.warning);
    }
    if (model && (rc = choose_threshold(t, model, log, &th, err)) < 0) goto DONE;
    if (fclose(curve) != 0) { curve = NULL; rc = ao_err_set(err, AO_EIO, "%s: write error", curve_path); goto DONE; }
    curve = NULL;
    if (fclose(log) != 0) { log = NULL; rc = ao_err_set(err, AO_EIO, "%s: write error", t->log_path); goto DONE; }
    log = NULL;
    if ((rc = set(t, "status", json_string(ao_train_status_name(rep.status)), err)) < 0 || (rc = set(t, "message", json_string(rep.message), err)) < 0 ||
        (rc = set(t, "model", json_string(ao_model_type_name(recipe.model)), err)) < 0 || (rc = set(t, "recipe", json_incref(recipe.json), err)) < 0 ||
        (rc = set(t, "epochs", json_integer(rep.epochs), err)) < 0 || (rc = set(t, "best", json_integer(rep.best), err)) < 0 ||
        /* training's own warnings (a cap hit while still improving), beside the status a run keeps */
        (rc = set(t, "warnings", *rep.warning ? json_pack("[s]", rep.warning) : json_array(), err)) < 0) goto DONE;
    if (th) {
        rc = set(t, "threshold", th, err);
        th = NULL;
        if (rc < 0) goto DONE;
    }
    if (rep.n_features && (rc = set(t, "n_features", json_integer(rep.n_features), err)) < 0) goto DONE;
    if (rep.input_length && (rc = set(t, "input_length", json_integer(rep.input_length), err)) < 0) goto DONE;
    if ((rc = set(t, "data", data_json(t), err)) < 0) goto DONE;
    if (model) {
        if ((rc = ao_model_save(model, model_dir, err)) < 0) goto DONE;
        if ((rc = predict_and_score(t, model_dir, t->valid_path, "predictions.valid.tsv", 1, &mv, err)) < 0) goto DONE;
        if ((rc = predict_and_score(t, model_dir, t->train_path, "predictions.train.tsv", 1, &mt, err)) < 0) goto DONE;
        if (t->sel && (rc = predict_and_score(t, model_dir, t->sel_path, "predictions.selection.tsv", 0, &ms, err)) < 0) goto DONE;
        if ((rc = set(t, "train", mt, err)) < 0 || (rc = set(t, "valid", mv, err)) < 0) { mt = mv = NULL; goto DONE; }
        mt = mv = NULL;
        if (ms && (rc = set(t, "selection", ms, err)) < 0) { ms = NULL; goto DONE; }
        ms = NULL;
    } else {
        ao_rm_rf(model_dir);
    }
    rc = set(t, "train_seconds", json_real(rep.seconds), err);
DONE:
    if (log) fclose(log);
    if (curve) fclose(curve);
    free(curve_path);
    json_decref(mt);
    json_decref(mv);
    json_decref(ms);
    json_decref(th);
    ao_model_destroy(model);
    ao_recipe_free(&recipe);
    free(recipe_path);
    free(model_dir);
    return rc;
}

/* ---- agent-written scripts ------------------------------------------------------------ */

static int set_outcome(trainrun *t, const char *status, const ao_script_report *rep, const char *message, ao_err *err)
{
    int rc;
    if ((rc = set(t, "status", json_string(status), err)) < 0 || (rc = set(t, "message", text_json(message), err)) < 0 ||
        (rc = set(t, "exit_code", json_integer(rep->exit_code), err)) < 0 || (rc = set(t, "timed_out", json_boolean(rep->timed_out), err)) < 0)
        return rc;
    return set(t, "log_tail", log_tail(rep->output), err);
}

/* Trains into run/model with the training entry, predicts the validation
 * and training splits with the inference entry and scores them. Whatever
 * the agent's code does is a status; no model and no predictions are
 * kept unless it all worked. */
static int backend_script(trainrun *t, const ao_script_spec *s, ao_err *err)
{
    static const char *const split_name[] = {"validation", "training", "selection"};
    static const char *const pred_file[] = {"predictions.valid.tsv", "predictions.train.tsv", "predictions.selection.tsv"};
    const ao_seqset *sets[3] = {t->valid, t->train, t->sel};
    const char *labels[3] = {t->valid_path, t->train_path, t->sel_path};
    int n_sets = t->sel ? 3 : 2;
    ao_script_limits lim = {t->o->time_limit, t->o->mem_limit_mb, t->o->threads, t->o->gpus,
                            ao_seed_derive(t->run.seed, AO_SEED_TRAIN, (uint64_t)(t->it ? t->it->number : 0)), t->log_path};
    ao_script_report rep, prep;
    ao_dataset_info *info = NULL;
    char *model = ao_path_join(t->od->tmp, "model"), *ws = ao_path_join(t->o->state, "workspace"), *pred[3] = {NULL, NULL, NULL}, msg[1400], leak[512];
    double *proba[3] = {NULL, NULL, NULL}, th = NAN;
    json_t *score[3] = {NULL, NULL, NULL};
    FILE *log;
    int rc, k, ok = 0;
    memset(&rep, 0, sizeof rep);
    memset(&prep, 0, sizeof prep);
    if (!model || !ws) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(log = fopen(t->log_path, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot create", t->log_path); goto DONE; }
    fprintf(log, "# agentomics-train-run %s: agent-written scripts, %lld training and %lld validation rows, %d thread(s)\n", AO_VERSION,
            (long long)t->train->n, (long long)t->valid->n, t->o->threads);
    if (fclose(log) != 0) { rc = ao_err_set(err, AO_EIO, "%s: write error", t->log_path); goto DONE; }
    /* the keys in the order a reader wants them; the outcome replaces the placeholders */
    if ((rc = set(t, "status", json_string("failed"), err)) < 0 || (rc = set(t, "message", json_string(""), err)) < 0 ||
        (rc = set(t, "model", json_string("script"), err)) < 0 || (rc = set(t, "entry", ao_script_spec_json(s), err)) < 0) goto DONE;
    /* run-time isolation is the guarantee; the static check says early, by FILE:LINE, what would fail */
    if ((rc = ao_script_static_check(s, ws, leak, sizeof leak, err)) < 0) goto DONE;
    if ((rc = set(t, "static_check", rc ? json_null() : text_json(leak), err)) < 0) goto DONE;
    log_line(t->log_path, "# training entry: %s%s%s", s->interpreter ? s->interpreter : "", s->interpreter ? " " : "", s->train_entry);
    if ((rc = ao_script_train(s, ws, t->o->data, t->train_path, t->valid_path, model, &lim, &rep, err)) < 0) goto DONE;
    if ((rc = set(t, "train_seconds", json_real(rep.seconds), err)) < 0) goto DONE;
    log_line(t->log_path, "# %s", rep.message);
    if (!rep.ok) { rc = set_outcome(t, rep.timed_out ? "time_limit" : "failed", &rep, rep.message, err); goto DONE; }
    if (!(info = ao_script_model_info(model, err))) { rc = err->code; goto DONE; }
    /* every split's probabilities first: the threshold is chosen on the
     * validation split and confirmed on the selection slice before any
     * prediction file is written */
    for (k = 0; k < n_sets; k++) {
        if (!(proba[k] = malloc(sizeof *proba[k] * (size_t)(sets[k]->n * info->n_classes + 1)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        log_line(t->log_path, "# inference entry on the %s split (%lld rows): %s", split_name[k], (long long)sets[k]->n, s->inference_entry);
        if ((rc = ao_script_predict(model, sets[k], &lim, proba[k], &prep, err)) < 0) goto DONE;
        log_line(t->log_path, "# %s", prep.message);
        if (!prep.ok) {
            snprintf(msg, sizeof msg, "inference on the %s split: %s%s%s", split_name[k], prep.message, *leak ? "; the static check found: " : "", leak);
            rc = set_outcome(t, "failed", &prep, msg, err);
            goto DONE;
        }
        ao_script_report_clear(&prep);
    }
    if (wants_threshold(t, info->n_classes)) {
        char line[400];
        if ((rc = decide_threshold(t, proba[0], proba[2], &th, line, sizeof line, err)) < 0) goto DONE;
        log_line(t->log_path, "%s", line);
        if (!isnan(th) && (rc = ao_script_model_set_threshold(model, th, err)) < 0) goto DONE;
        if ((rc = set(t, "threshold", isnan(th) ? json_null() : json_real(th), err)) < 0) goto DONE;
    }
    for (k = 0; k < n_sets; k++) {
        if (!(pred[k] = ao_path_join(t->od->tmp, pred_file[k]))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        if ((rc = ao_predfile_write(pred[k], info, sets[k], proba[k], th, err)) < 0) goto DONE;
        if ((rc = ao_score_files(pred[k], labels[k], &score[k], err)) < 0) goto DONE;
        /* the selection slice's predictions stay out of the run directory */
        if (k == 2) unlink(pred[k]);
    }
    snprintf(msg, sizeof msg, "trained in %.2f s; the inference entry predicted %lld validation and %lld training rows",
             rep.seconds, (long long)t->valid->n, (long long)t->train->n);
    if ((rc = set_outcome(t, "ok", &rep, msg, err)) < 0 || (rc = set(t, "train", score[1], err)) < 0 || (rc = set(t, "valid", score[0], err)) < 0) {
        score[0] = score[1] = NULL;
        goto DONE;
    }
    score[0] = score[1] = NULL;
    if (score[2] && (rc = set(t, "selection", score[2], err)) < 0) { score[2] = NULL; goto DONE; }
    score[2] = NULL;
    ok = 1;
DONE:
    /* a failed run keeps no model and no predictions: nothing to package or score */
    if (rc >= 0 && !ok) {
        ao_rm_rf(model);
        for (k = 0; k < 3; k++) if (pred[k]) ao_rm_rf(pred[k]);
    }
    if (rc >= 0) rc = set(t, "data", data_json(t), err);
    json_decref(score[0]);
    json_decref(score[1]);
    json_decref(score[2]);
    ao_script_report_clear(&rep);
    ao_script_report_clear(&prep);
    ao_dataset_info_destroy(info);
    free(proba[0]);
    free(proba[1]);
    free(proba[2]);
    free(model);
    free(ws);
    free(pred[0]);
    free(pred[1]);
    free(pred[2]);
    return rc;
}

/* ---- the run ----------------------------------------------------------------------- */

/* The selection slice: --selection DIR, else prepare-data's
 * AGENTDIR/../selection when it exists; its selection.json must belong to
 * this agent data (the content hash) and say a slice was carved. */
static int load_selection(trainrun *t, ao_err *err)
{
    char *dir = t->o->selection ? strdup(t->o->selection) : ao_path_join(t->o->data, "../selection"), *js = NULL;
    json_t *sj = NULL, *dj = NULL;
    const char *h1, *h2;
    int rc = AO_OK;
    if (!dir) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!t->o->selection && !ao_file_exists(dir)) goto DONE;
    if (!(js = ao_path_join(dir, "selection.json"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(sj = ao_state_read_json(dir, "selection.json", err)) || !(dj = ao_state_read_json(t->o->data, "dataset.json", err))) { rc = err->code; goto DONE; }
    h1 = json_string_value(json_object_get(sj, "content_hash"));
    h2 = json_string_value(json_object_get(dj, "content_hash"));
    if (!json_is_integer(json_object_get(sj, "format_version")) || json_integer_value(json_object_get(sj, "format_version")) != 1) {
        rc = ao_err_set(err, AO_EDATA, "%s: $.format_version: expected 1", js);
        goto DONE;
    }
    if (!h1 || !h2 || strcmp(h1, h2) != 0) {
        rc = ao_err_set(err, AO_EDATA, "%s: belongs to another dataset (content hash %.16s, %s/dataset.json has %.16s)", js, h1 ? h1 : "none",
                        t->o->data, h2 ? h2 : "none");
        goto DONE;
    }
    if (!json_is_true(json_object_get(sj, "carved"))) goto DONE;
    if (!(t->sel_path = ao_path_join(dir, "selection.tsv"))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(t->sel = ao_seqset_read(t->sel_path, t->info, 1, t->o->threads, err))) { rc = err->code; goto DONE; }
DONE:
    json_decref(sj);
    json_decref(dj);
    free(js);
    free(dir);
    return rc;
}

/* The split in force, read with labels. */
static int load_split(trainrun *t, ao_err *err)
{
    int rc;
    if (!(t->info = ao_dataset_info_load(t->o->data, err))) return err->code;
    if ((rc = ao_state_split_paths(t->o->state, t->o->data, &t->train_path, &t->valid_path, err)) < 0) return rc;
    if (!ao_file_exists(t->train_path)) return ao_err_set(err, AO_EIO, "%s: no training split", t->train_path);
    if (!t->valid_path)
        return ao_err_set(err, AO_EDATA, "%s/valid.tsv: no validation split (give prepare-data --valid, or run the agent's split step into %s/split/)",
                          t->o->data, t->o->state);
    if (!(t->train = ao_seqset_read(t->train_path, t->info, 1, t->o->threads, err))) return err->code;
    if (!(t->valid = ao_seqset_read(t->valid_path, t->info, 1, t->o->threads, err))) return err->code;
    return load_selection(t, err);
}

/* The outcome every run records, then metrics.json and the commit. */
static int finish(trainrun *t, double t0, ao_err *err)
{
    char *mj = NULL;
    int rc;
    if ((rc = set(t, "wall_seconds", json_real(ao_now() - t0), err)) < 0 || (rc = set(t, "peak_rss_mb", json_real(ao_peak_rss_kb() / 1024.0), err)) < 0 ||
        (rc = set(t, "threads", json_integer(t->o->threads), err)) < 0 ||
        (rc = set(t, "time_limit", t->o->time_limit > 0 ? json_real(t->o->time_limit) : json_null(), err)) < 0) return rc;
    if (!(mj = ao_outdir_path(t->od, "metrics.json", err))) return err->code;
    if (json_dump_file(t->metrics, mj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot write", mj);
    else if ((rc = ao_outdir_commit(t->od, err)) == AO_OK)
        ao_info("%s: %s", json_string_value(json_object_get(t->metrics, "status")), json_string_value(json_object_get(t->metrics, "message")));
    free(mj);
    return rc;
}

int ao_trainrun(const ao_trainrun_opts *o, ao_err *err)
{
    trainrun t;
    ao_script_spec spec;
    json_t *failure = NULL;
    char fail_msg[AO_ERRMSG_MAX + 64];
    double t0 = ao_now();
    enum ao_iteration_kind kind;
    int rc;
    memset(&t, 0, sizeof t);
    memset(&spec, 0, sizeof spec);
    t.o = o;
    if ((rc = ao_runstate_read(o->state, &t.run, &t.hist, err)) < 0) goto DONE;
    if ((rc = ao_run_config_check_data(&t.run, o->data, err)) < 0) goto DONE;
    t.it = ao_history_current(&t.hist);
    kind = ao_iteration_kind(t.it);
    if (kind == AO_ITERATION_SCRIPT && ao_script_spec_parse(ao_iteration_output(t.it, "code"), &spec, err) < 0) {
        if (err->code != AO_EDATA) { rc = err->code; goto DONE; }
        /* an invalid script spec is the agent's failure, recorded like the others */
        failure = json_pack("{s:s,s:s,s:s}", "step", "code", "kind", "invalid_output", "message", err->msg);
        ao_err_init(err);
        if (!failure) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
        kind = AO_ITERATION_FAILED;
    } else if (kind == AO_ITERATION_FAILED) {
        failure = json_incref(t.it->failure);
    }
    if (kind == AO_ITERATION_FAILED) {
        const char *step = json_string_value(json_object_get(failure, "step")), *fk = json_string_value(json_object_get(failure, "kind"));
        const char *m = json_string_value(json_object_get(failure, "message"));
        snprintf(fail_msg, sizeof fail_msg, "the agent's %s step failed (%s): %s", step ? step : "(unknown)", fk ? fk : "unknown", m ? m : "no message");
    } else if ((rc = load_split(&t, err)) < 0) {
        goto DONE;
    }
    if (!(t.od = ao_outdir_create(o->out, o->force, err)) || !(t.log_path = ao_outdir_path(t.od, "train.log", err))) { rc = err->code; goto DONE; }
    if (!(t.metrics = json_pack("{s:i}", "format_version", 1))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    switch (kind) {
    case AO_ITERATION_FAILED: rc = backend_failed(&t, fail_msg, failure, err); break;
    case AO_ITERATION_SCRIPT: rc = backend_script(&t, &spec, err); break;
    case AO_ITERATION_BUILTIN: rc = backend_builtin(&t, err); break;
    }
    if (rc >= 0) rc = finish(&t, t0, err);
DONE:
    json_decref(failure);
    ao_script_spec_free(&spec);
    trainrun_clear(&t);
    return rc;
}
