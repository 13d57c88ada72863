/* agentomics-train-run — run one iteration's training entry in full,
 * predict the validation and training splits through the inference path,
 * and score them with the trusted scorer. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <htslib/hts.h>
#include <jansson.h>
#include "agentomics/cli.h"
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/metrics.h"
#include "agentomics/model.h"
#include "agentomics/predict.h"
#include "agentomics/scriptmodel.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-train-run --state DIR --data AGENTDIR --out RUNDIR [options]\n"
"\n"
"Runs the training entry of the state's last iteration on the training split:\n"
"the builtin recipe DIR/workspace/recipe.json in process, or, when the code step\n"
"left scripts (\"entry\": \"script\"), the agent's training entry in the sandbox.\n"
"Writes RUNDIR/model/, predictions.valid.tsv and predictions.train.tsv (made by\n"
"the same inference path as agentomics-predict), metrics.json (scored by the\n"
"evaluate library) and train.log. Splits: DIR/split/{train,valid}.tsv when the\n"
"agent made them, else AGENTDIR/{train,valid}.tsv. A diverged, timed-out or\n"
"failed training, a crashing script, a bad prediction file and an iteration whose\n"
"agent steps failed are recorded in metrics.json (\"status\", \"message\",\n"
"\"log_tail\") and are not errors.\n"
"\n"
"  --state DIR        agent state directory (run.json, workspace/recipe.json)\n"
"  --data AGENTDIR    the agent/ directory written by agentomics-prepare-data\n"
"  --out RUNDIR       output directory (created whole, or not at all)\n"
"  --time-limit S     training wall-time limit in seconds; for scripts also each\n"
"                     inference run [none]\n"
"  --mem-limit MB     refuse recipes whose data structures need more; for scripts\n"
"                     the address-space limit [none]\n"
"  --threads N        worker threads (scripts: AO_THREADS, OMP_NUM_THREADS...) [1]\n"
"  --gpus N           GPUs available: bound into a script's training sandbox\n"
"                     (builtin learners run on CPU) [0]\n"
"  --force            replace an existing RUNDIR\n"
"  -v, --verbose      more log output; -q, --quiet: errors only\n"
"  -h, --help         this help;  --version: print the version\n"
"\n"
"Exit status: 0 ran (see metrics.json status), 2 usage, 65 invalid recipe or data, 74 I/O.\n");
}

/* A run for an iteration whose agent steps failed: nothing to train, but
 * the iteration is recorded, with the reason, for reflect. */
static int write_failed_run(const char *out, int force, const char *msg, const json_t *failure, ao_err *err)
{
    ao_outdir *od = ao_outdir_create(out, force, err);
    char *logp = NULL, *mj = NULL;
    json_t *metrics = NULL;
    FILE *log = NULL;
    int rc = AO_OK;
    if (!od) return err->code;
    if (!(logp = ao_outdir_path(od, "train.log", err)) || !(mj = ao_outdir_path(od, "metrics.json", err))) { rc = err->code; goto DONE; }
    if (!(log = fopen(logp, "w"))) { rc = ao_err_set(err, AO_EIO, "%s: cannot create", logp); goto DONE; }
    fprintf(log, "# agentomics-train-run %s: nothing to train\n# failed: %s\n", AO_VERSION, msg);
    if (fclose(log) != 0) { rc = ao_err_set(err, AO_EIO, "%s: write error", logp); goto DONE; }
    metrics = json_pack("{s:i,s:s,s:s,s:n,s:O}", "format_version", 1, "status", "failed", "message", msg, "model", "failure", failure);
    if (!metrics) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (json_dump_file(metrics, mj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) { rc = ao_err_set(err, AO_EIO, "%s: cannot write", mj); goto DONE; }
    rc = ao_outdir_commit(od, err);
DONE:
    json_decref(metrics);
    ao_outdir_destroy(od);
    free(logp);
    free(mj);
    return rc;
}

typedef struct run_paths {
    char *train, *valid;   /* split files */
} run_paths;

static int pick_splits(const char *state, const char *data, run_paths *p, ao_err *err)
{
    char *st = ao_path_join(state, "split/train.tsv"), *sv = ao_path_join(state, "split/valid.tsv");
    if (!st || !sv) { free(st); free(sv); return ao_err_set(err, AO_EMEM, "out of memory"); }
    if (ao_file_exists(st) && ao_file_exists(sv)) { p->train = st; p->valid = sv; return AO_OK; }
    free(st);
    free(sv);
    p->train = ao_path_join(data, "train.tsv");
    p->valid = ao_path_join(data, "valid.tsv");
    if (!p->train || !p->valid) return ao_err_set(err, AO_EMEM, "out of memory");
    if (!ao_file_exists(p->train)) return ao_err_set(err, AO_EIO, "%s: no training split", p->train);
    if (!ao_file_exists(p->valid))
        return ao_err_set(err, AO_EDATA, "%s: no validation split (give prepare-data --valid, or run the agent's split step into %s/split/)", p->valid, state);
    return AO_OK;
}

int main(int argc, char **argv)
{
    enum { O_STATE = 256, O_DATA, O_OUT, O_TIME, O_MEM, O_THREADS, O_GPUS, O_FORCE, O_VERSION };
    static const struct option lopts[] = {
        {"state", required_argument, 0, O_STATE}, {"data", required_argument, 0, O_DATA}, {"out", required_argument, 0, O_OUT},
        {"time-limit", required_argument, 0, O_TIME}, {"mem-limit", required_argument, 0, O_MEM},
        {"threads", required_argument, 0, O_THREADS}, {"gpus", required_argument, 0, O_GPUS}, {"force", no_argument, 0, O_FORCE},
        {"verbose", no_argument, 0, 'v'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *state = NULL, *data = NULL, *out = NULL;
    double time_limit = 0, t0 = ao_now();
    long mem_limit = 0, threads = 1, gpus = 0;
    int c, level = AO_LOG_WARN, force = 0, rc = AO_OK;
    ao_err err;
    ao_recipe recipe;
    ao_dataset_info *info = NULL;
    ao_seqset *tr = NULL, *va = NULL;
    ao_model *model = NULL;
    ao_train_report rep;
    ao_outdir *od = NULL;
    run_paths sp = {0};
    char *recipe_path = NULL, *runjson = NULL, *logp = NULL, *modeldir = NULL, *pv = NULL, *pt = NULL, *mj = NULL, *histpath = NULL;
    char *workspace = NULL, fail_msg[AO_ERRMSG_MAX + 64];
    json_t *metrics = NULL, *rj = NULL, *hist = NULL, *failure = NULL;
    const json_t *code_out = NULL;
    ao_script_spec spec = {0};
    int kind;
    FILE *log = NULL;

    ao_log_setup(argv[0], level);
    ao_err_init(&err);
    memset(&recipe, 0, sizeof recipe);
    while ((c = getopt_long(argc, argv, "vqh", lopts, NULL)) != -1) {
        switch (c) {
        case O_STATE: state = optarg; break;
        case O_DATA: data = optarg; break;
        case O_OUT: out = optarg; break;
        case O_TIME:
            if (ao_cli_double(optarg, &time_limit) < 0 || time_limit <= 0) return ao_cli_usage_error("--time-limit expects seconds > 0, got '%s'", optarg);
            break;
        case O_MEM:
            if (ao_cli_int(optarg, 1, 1L << 30, &mem_limit) < 0) return ao_cli_usage_error("--mem-limit expects megabytes >= 1, got '%s'", optarg);
            break;
        case O_THREADS:
            if (ao_cli_int(optarg, 1, 1024, &threads) < 0) return ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg);
            break;
        case O_GPUS:
            if (ao_cli_int(optarg, 0, 64, &gpus) < 0) return ao_cli_usage_error("--gpus expects an integer >= 0, got '%s'", optarg);
            break;
        case O_FORCE: force = 1; break;
        case 'v': level++; break;
        case 'q': level = AO_LOG_ERROR; break;
        case 'h': usage(stdout); return 0;
        case O_VERSION: puts(AO_VERSION); return 0;
        default: return ao_cli_usage_error("invalid option");
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!state || !data || !out) return ao_cli_usage_error("--state, --data and --out are required");
    ao_log_setup(argv[0], level);
    hts_set_log_level(HTS_LOG_OFF);

    /* the state: run.json and the recipe the agent wrote */
    if (!(runjson = ao_path_join(state, "run.json")) || !(recipe_path = ao_path_join(state, "workspace/recipe.json"))) { rc = ao_err_set(&err, AO_EMEM, "out of memory"); goto DONE; }
    {
        json_error_t je;
        if (!ao_file_exists(runjson)) { rc = ao_err_set(&err, AO_EIO, "%s: no such file (not an agent state directory)", runjson); goto DONE; }
        if (!(rj = json_load_file(runjson, 0, &je)) || !json_is_object(rj)) { rc = ao_err_set(&err, AO_EDATA, "%s:%d: not a JSON object: %s", runjson, je.line, je.text); goto DONE; }
    }
    /* what the last iteration asks for: a builtin recipe, scripts, or nothing (its agent steps failed) */
    if (!(histpath = ao_path_join(state, "history.json")) || !(workspace = ao_path_join(state, "workspace"))) { rc = ao_err_set(&err, AO_EMEM, "out of memory"); goto DONE; }
    if (ao_file_exists(histpath)) {
        json_error_t je;
        if (!(hist = json_load_file(histpath, 0, &je))) { rc = ao_err_set(&err, AO_EDATA, "%s:%d: %s", histpath, je.line, je.text); goto DONE; }
    }
    kind = ao_script_iteration(hist, &code_out, fail_msg, sizeof fail_msg);
    if (kind == AO_ITERATION_SCRIPT && ao_script_spec_parse(code_out, &spec, &err) < 0) {
        if (err.code != AO_EDATA) { rc = err.code; goto DONE; }
        /* an invalid script spec is the agent's failure, recorded like the others */
        snprintf(fail_msg, sizeof fail_msg, "the agent's code step failed (invalid_output): %s", err.msg);
        failure = json_pack("{s:s,s:s,s:s}", "step", "code", "kind", "invalid_output", "message", err.msg);
        ao_err_init(&err);
        kind = AO_ITERATION_FAILED;
        code_out = failure;
    }
    if (kind == AO_ITERATION_FAILED) {
        if ((rc = write_failed_run(out, force, fail_msg, code_out, &err)) < 0) goto DONE;
        ao_info("failed: %s", fail_msg);
        goto DONE;
    }
    if (kind == AO_ITERATION_BUILTIN) {
        if (!ao_file_exists(recipe_path)) { rc = ao_err_set(&err, AO_EDATA, "%s: the workspace has no recipe.json", recipe_path); goto DONE; }
        if ((rc = ao_recipe_load(recipe_path, &recipe, &err)) < 0) goto DONE;
    }
    if (!(info = ao_dataset_info_load(data, &err))) { rc = err.code; goto DONE; }
    if ((rc = pick_splits(state, data, &sp, &err)) < 0) goto DONE;
    if (!(tr = ao_seqset_read(sp.train, info, 1, (int)threads, &err))) { rc = err.code; goto DONE; }
    if (!(va = ao_seqset_read(sp.valid, info, 1, (int)threads, &err))) { rc = err.code; goto DONE; }

    if (!(od = ao_outdir_create(out, force, &err))) { rc = err.code; goto DONE; }
    if (!(logp = ao_outdir_path(od, "train.log", &err))) { rc = err.code; goto DONE; }
    if (kind == AO_ITERATION_SCRIPT) {
        ao_script_limits lim = {time_limit, mem_limit, (int)threads, (int)gpus, (uint64_t)json_integer_value(json_object_get(rj, "seed")), logp};
        if (!(log = fopen(logp, "w"))) { rc = ao_err_set(&err, AO_EIO, "%s: cannot create", logp); goto DONE; }
        fprintf(log, "# agentomics-train-run %s: agent-written scripts, %lld training and %lld validation rows, %ld thread(s)\n", AO_VERSION,
                (long long)tr->n, (long long)va->n, threads);
        if (fclose(log) != 0) { log = NULL; rc = ao_err_set(&err, AO_EIO, "%s: write error", logp); goto DONE; }
        log = NULL;
        metrics = json_pack("{s:i}", "format_version", 1);
        if ((rc = ao_script_run(&spec, workspace, data, sp.train, sp.valid, tr, va, od->tmp, &lim, metrics, &err)) < 0) goto DONE;
        json_object_set_new(metrics, "data", json_pack("{s:s,s:I,s:s,s:I}", "train", sp.train, "n_train", (json_int_t)tr->n, "valid", sp.valid, "n_valid", (json_int_t)va->n));
        goto FINISH;
    }
    if (!(modeldir = ao_outdir_path(od, "model/.keep", &err))) { rc = err.code; goto DONE; }
    *strrchr(modeldir, '/') = '\0';
    if (!(log = fopen(logp, "w"))) { rc = ao_err_set(&err, AO_EIO, "%s: cannot create", logp); goto DONE; }
    fprintf(log, "# agentomics-train-run %s: %s recipe, %lld training and %lld validation rows, %ld thread(s)\n", AO_VERSION,
            ao_model_type_name(recipe.model), (long long)tr->n, (long long)va->n, threads);
    {
        ao_train_opts to = {(int)threads, time_limit, mem_limit, log};
        if ((rc = ao_model_train(&recipe, info, tr, va, &to, &model, &rep, &err)) < 0) {
            if (rc != AO_EDATA) goto DONE;
            /* a recipe that cannot run on this data (memory, shapes) is a data error too */
            goto DONE;
        }
    }
    fprintf(log, "# %s: %s (%.2f s)\n", ao_train_status_name(rep.status), rep.message, rep.seconds);

    metrics = json_pack("{s:i,s:s,s:s,s:s,s:O}", "format_version", 1, "status", ao_train_status_name(rep.status),
                        "message", rep.message, "model", ao_model_type_name(recipe.model), "recipe", recipe.json);
    json_object_set_new(metrics, "epochs", json_integer(rep.epochs));
    json_object_set_new(metrics, "best", json_integer(rep.best));
    if (rep.n_features) json_object_set_new(metrics, "n_features", json_integer(rep.n_features));
    if (rep.input_length) json_object_set_new(metrics, "input_length", json_integer(rep.input_length));
    json_object_set_new(metrics, "data", json_pack("{s:s,s:I,s:s,s:I}", "train", sp.train, "n_train", (json_int_t)tr->n, "valid", sp.valid, "n_valid", (json_int_t)va->n));
    if (model) {
        json_t *mt = NULL, *mv = NULL;
        if ((rc = ao_model_save(model, modeldir, &err)) < 0) goto DONE;
        if (!(pv = ao_outdir_path(od, "predictions.valid.tsv", &err)) || !(pt = ao_outdir_path(od, "predictions.train.tsv", &err))) { rc = err.code; goto DONE; }
        /* the inference path of agentomics-predict, from the saved model */
        if ((rc = ao_predict_file(modeldir, sp.valid, pv, (int)threads, &err)) < 0) goto DONE;
        if ((rc = ao_predict_file(modeldir, sp.train, pt, (int)threads, &err)) < 0) goto DONE;
        if ((rc = ao_score_files(pv, sp.valid, &mv, &err)) < 0) goto DONE;
        if ((rc = ao_score_files(pt, sp.train, &mt, &err)) < 0) { json_decref(mv); goto DONE; }
        json_object_set_new(metrics, "train", mt);
        json_object_set_new(metrics, "valid", mv);
    } else {
        ao_rm_rf(modeldir);
    }
    json_object_set_new(metrics, "train_seconds", json_real(rep.seconds));
    if (fclose(log) != 0) { log = NULL; rc = ao_err_set(&err, AO_EIO, "%s: write error", logp); goto DONE; }
    log = NULL;
FINISH:
    json_object_set_new(metrics, "wall_seconds", json_real(ao_now() - t0));
    json_object_set_new(metrics, "peak_rss_mb", json_real(ao_peak_rss_kb() / 1024.0));
    json_object_set_new(metrics, "threads", json_integer(threads));
    json_object_set_new(metrics, "time_limit", time_limit > 0 ? json_real(time_limit) : json_null());
    if (!(mj = ao_outdir_path(od, "metrics.json", &err))) { rc = err.code; goto DONE; }
    if (json_dump_file(metrics, mj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) { rc = ao_err_set(&err, AO_EIO, "%s: cannot write", mj); goto DONE; }
    if ((rc = ao_outdir_commit(od, &err)) < 0) goto DONE;
    ao_info("%s: %s", json_string_value(json_object_get(metrics, "status")), json_string_value(json_object_get(metrics, "message")));
    ao_log_resources(t0);
DONE:
    if (log) fclose(log);
    json_decref(metrics);
    json_decref(rj);
    json_decref(hist);
    json_decref(failure);
    ao_script_spec_free(&spec);
    ao_outdir_destroy(od);
    ao_model_destroy(model);
    ao_seqset_destroy(tr);
    ao_seqset_destroy(va);
    ao_dataset_info_destroy(info);
    ao_recipe_free(&recipe);
    free(sp.train); free(sp.valid); free(recipe_path); free(runjson); free(logp); free(modeldir); free(pv); free(pt); free(mj); free(histpath); free(workspace);
    if (rc < 0) {
        if (rc == AO_EUSAGE) return ao_cli_usage_error("%s", err.msg);
        ao_error("%s", err.msg);
        return ao_exit_code(rc);
    }
    return 0;
}
