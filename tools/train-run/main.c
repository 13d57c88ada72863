/* agentomics-train-run — run one iteration's training entry in full,
 * predict the validation and training splits through the inference path,
 * and score them with the trusted scorer (trainrun.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cli.h"
#include "agentomics/trainrun.h"

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
"\"log_tail\") and are not errors. When prepare-data carved a selection slice,\n"
"the model predicts it too (same inference path) and metrics.json gets its scores\n"
"as \"selection\" (the predictions are not kept: the agent never sees the slice).\n"
"\n"
"  --state DIR        agent state directory (run.json, workspace/recipe.json)\n"
"  --data AGENTDIR    the agent/ directory written by agentomics-prepare-data\n"
"  --out RUNDIR       output directory (created whole, or not at all)\n"
"  --selection DIR    the selection slice (selection.json, selection.tsv)\n"
"                     [AGENTDIR/../selection when it exists]\n"
"  --time-limit S     training wall-time limit in seconds; for scripts also each\n"
"                     inference run [none]\n"
"  --mem-limit MB     refuse recipes whose data structures need more; for scripts\n"
"                     the address-space limit [none]\n"
"  --threads N        worker threads (scripts: AO_THREADS, OMP_NUM_THREADS...) [1]\n"
"  --gpus N           GPUs available: bound into a script's training sandbox\n"
"                     (builtin learners run on CPU) [0]\n"
"  --force            replace an existing RUNDIR\n"
"  -v, --verbose      more log output; -q, --quiet: errors only\n"
"  -h, --help         this help;  --version: the version, then htslib's\n"
"\n"
"Exit status: 0 ran (see metrics.json status), 2 usage, 65 invalid recipe or data, 74 I/O.\n");
}

int main(int argc, char **argv)
{
    enum { O_STATE = 256, O_DATA, O_OUT, O_TIME, O_MEM, O_THREADS, O_GPUS, O_FORCE, O_SEL };
    static const struct option lopts[] = {
        {"state", required_argument, 0, O_STATE}, {"data", required_argument, 0, O_DATA}, {"out", required_argument, 0, O_OUT},
        {"time-limit", required_argument, 0, O_TIME}, {"mem-limit", required_argument, 0, O_MEM},
        {"threads", required_argument, 0, O_THREADS}, {"gpus", required_argument, 0, O_GPUS}, {"force", no_argument, 0, O_FORCE},
        {"selection", required_argument, 0, O_SEL},
        AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    ao_trainrun_opts o = {0};
    long v;
    int c, st;
    ao_cli cli;
    ao_err err;

    ao_cli_init(&cli, argv[0], usage);
    ao_err_init(&err);
    o.threads = 1;
    while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case O_STATE: o.state = optarg; break;
        case O_DATA: o.data = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_SEL: o.selection = optarg; break;
        case O_TIME:
            if (ao_cli_double(optarg, &o.time_limit) < 0 || o.time_limit <= 0) return ao_cli_usage_error("--time-limit expects seconds > 0, got '%s'", optarg);
            break;
        case O_MEM:
            if (ao_cli_int(optarg, 1, 1L << 30, &o.mem_limit_mb) < 0) return ao_cli_usage_error("--mem-limit expects megabytes >= 1, got '%s'", optarg);
            break;
        case O_THREADS:
            if (ao_cli_int(optarg, 1, 1024, &v) < 0) return ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg);
            o.threads = (int)v;
            break;
        case O_GPUS:
            if (ao_cli_int(optarg, 0, 64, &v) < 0) return ao_cli_usage_error("--gpus expects an integer >= 0, got '%s'", optarg);
            o.gpus = (int)v;
            break;
        case O_FORCE: o.force = 1; break;
        default: if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.state || !o.data || !o.out) return ao_cli_usage_error("--state, --data and --out are required");
    ao_cli_start(&cli);
    return ao_cli_finish(&cli, ao_trainrun(&o, &err), &err);
}
