/* agentomics-package-model — pack the best iteration of an agent run into
 * a byte-reproducible, checksummed model package (tar.gz). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cli.h"
#include "agentomics/ensemble.h"
#include "agentomics/log.h"
#include "agentomics/package.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-package-model --state DIR --runs RUNDIR... --data AGENTDIR --out MODEL.tar.gz [options]\n"
"\n"
"Packs the best iteration of an agent run (history.json's best pointer) into a\n"
"gzip-compressed tar: manifest.json (format version, tool version, dataset hash,\n"
"classes, validation metrics, recipe, sha256 of every member), model/ (every file\n"
"of the best run's model directory), recipe.json, history.json (without\n"
"wall-clock fields), environment.json and report.md. The same inputs give the\n"
"same bytes. agentomics-predict --model accepts the package and verifies it.\n"
"\n"
"Ensembles: the lineage's finished builtin runs on the split in force (at most\n"
"--ensemble of them: the best run of each model family first, then the others,\n"
"as the history ranks them) are weighted by greedy ensemble selection on that\n"
"split's validation rows; the weighted mean is packaged instead of the best run\n"
"when it keeps two or more models and, on the selection slice (rows no model\n"
"was fit or chosen on), beats the best run or trails it by less than the\n"
"paired-bootstrap SD of the difference. For a binary task ranked by a metric of\n"
"the predicted class (mcc, f1_macro, accuracy, balanced_accuracy) the mean gets\n"
"its own decision threshold, chosen on the validation rows and kept only when\n"
"the selection slice scores it above the argmax. The manifest's \"ensemble\"\n"
"says what was decided and why; a failed ensemble check never fails the package.\n"
"\n"
"  --state DIR             agent state directory (run.json, history.json)\n"
"  --runs RUNDIR...        run directories written by agentomics-train-run; the\n"
"                          best one is picked by its name (history's best run_id).\n"
"                          Takes every following non-option argument and may be\n"
"                          repeated: --runs r1 r2 r3  or  --runs r1 --runs r2\n"
"  --out FILE              the package to write (appears whole or not at all)\n"
"  --data AGENTDIR         the agent/ directory of agentomics-prepare-data: its\n"
"                          dataset.json gives the classes, the positive class and\n"
"                          the sequence columns (must be the run's dataset); without\n"
"                          it, run.json's data.dir is tried (a workflow's staging\n"
"                          may have renamed it: then a warning, and the package\n"
"                          lacks the positive class and sequence columns)\n"
"  --selection DIR         the selection slice of agentomics-prepare-data\n"
"                          (selection.tsv) [AGENTDIR/../selection when it exists;\n"
"                          none: no ensemble]\n"
"  --ensemble N            at most N models in an ensemble; 0 or 1: never [5]\n"
"  --threads N             prediction threads for the ensemble check [1]\n"
"  --force                 replace an existing output file\n"
"  -v, --verbose           more log output (repeatable); -q, --quiet: errors only\n"
"  -h, --help              this help;  --version: the version, then htslib's\n"
"\n"
"Exit status: 0 ok, 2 usage error, 65 data error (no best iteration, best run\n"
"missing or failed, no class list, malformed JSON, --data of another dataset),\n"
"74 I/O error (--data without dataset.json included).\n");
}

int main(int argc, char **argv)
{
    enum { O_STATE = 256, O_RUNS, O_OUT, O_FORCE, O_DATA, O_SELECTION, O_ENSEMBLE, O_THREADS };
    static const struct option lopts[] = {
        {"state", required_argument, 0, O_STATE}, {"runs", required_argument, 0, O_RUNS},
        {"out", required_argument, 0, O_OUT}, {"force", no_argument, 0, O_FORCE}, {"data", required_argument, 0, O_DATA},
        {"selection", required_argument, 0, O_SELECTION}, {"ensemble", required_argument, 0, O_ENSEMBLE},
        {"threads", required_argument, 0, O_THREADS}, AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    ao_package_opts o;
    ao_cli_list runs;
    ao_cli cli;
    ao_err err;
    int c, status;
    long v;

    ao_cli_init(&cli, argv[0], usage);
    memset(&o, 0, sizeof o);
    o.ensemble_max = 5;
    o.threads = 1;
    ao_err_init(&err);
    if (ao_cli_list_init(&runs, O_RUNS, argc) < 0) { ao_error("out of memory"); return AO_EXIT_OSERR; }
    while ((c = getopt_long(argc, argv, "-" AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        int taken = ao_cli_list_take(&runs, c, optarg);
        if (taken < 0) { status = ao_cli_usage_error("unexpected argument '%s' (run directories follow --runs)", optarg); goto DONE; }
        if (taken) continue;
        switch (c) {
        case O_STATE: o.state_dir = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_FORCE: o.force = 1; break;
        case O_DATA: o.data_dir = optarg; break;
        case O_SELECTION: o.selection_dir = optarg; break;
        case O_ENSEMBLE:
            if (ao_cli_int(optarg, 0, AO_ENSEMBLE_MAX_MEMBERS, &v) < 0) {
                status = ao_cli_usage_error("--ensemble expects an integer in 0..%d, got '%s'", AO_ENSEMBLE_MAX_MEMBERS, optarg);
                goto DONE;
            }
            o.ensemble_max = (int)v;
            break;
        case O_THREADS:
            if (ao_cli_int(optarg, 1, 1024, &v) < 0) { status = ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg); goto DONE; }
            o.threads = (int)v;
            break;
        default:
            if ((status = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) goto DONE;
        }
    }
    if (optind < argc) { status = ao_cli_usage_error("unexpected argument '%s'", argv[optind]); goto DONE; }   /* after "--" */
    if (!o.state_dir) { status = ao_cli_usage_error("no state directory: give --state DIR"); goto DONE; }
    if (runs.n == 0) { status = ao_cli_usage_error("no run directories: give --runs RUNDIR..."); goto DONE; }
    if (!o.out) { status = ao_cli_usage_error("no output: give --out MODEL.tar.gz"); goto DONE; }
    ao_cli_start(&cli);
    o.run_dirs = runs.items;
    o.n_runs = runs.n;
    status = ao_cli_finish(&cli, ao_package_write(&o, &err), &err);
DONE:
    ao_cli_list_free(&runs);
    return status;
}
