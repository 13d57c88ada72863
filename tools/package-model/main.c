/* agentomics-package-model — pack the best iteration of an agent run into
 * a byte-reproducible, checksummed model package (tar.gz). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cli.h"
#include "agentomics/log.h"
#include "agentomics/package.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-package-model --state DIR --runs RUNDIR... --out MODEL.tar.gz [options]\n"
"\n"
"Packs the best iteration of an agent run (history.json's best pointer) into a\n"
"gzip-compressed tar: manifest.json (format version, tool version, dataset hash,\n"
"classes, validation metrics, recipe, sha256 of every member), model/ (every file\n"
"of the best run's model directory), recipe.json, history.json (without\n"
"wall-clock fields), environment.json and report.md. The same inputs give the\n"
"same bytes. agentomics-predict --model accepts the package and verifies it.\n"
"\n"
"  --state DIR             agent state directory (run.json, history.json)\n"
"  --runs RUNDIR...        run directories written by agentomics-train-run; the\n"
"                          best one is picked by its name (history's best run_id).\n"
"                          Takes every following non-option argument and may be\n"
"                          repeated: --runs r1 r2 r3  or  --runs r1 --runs r2\n"
"  --out FILE              the package to write (appears whole or not at all)\n"
"  --force                 replace an existing output file\n"
"  -v, --verbose           more log output (repeatable); -q, --quiet: errors only\n"
"  -h, --help              this help;  --version: print the version\n"
"\n"
"Exit status: 0 ok, 2 usage error, 65 data error (no best iteration, best run\n"
"missing or failed, no class list, malformed JSON), 74 I/O error.\n");
}

int main(int argc, char **argv)
{
    enum { O_STATE = 256, O_RUNS, O_OUT, O_FORCE };
    static const struct option lopts[] = {
        {"state", required_argument, 0, O_STATE}, {"runs", required_argument, 0, O_RUNS},
        {"out", required_argument, 0, O_OUT}, {"force", no_argument, 0, O_FORCE}, AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    ao_package_opts o;
    ao_cli cli;
    ao_err err;
    const char **runs = NULL;
    int c, n_runs = 0, in_runs = 0, status;

    ao_cli_init(&cli, argv[0], usage);
    memset(&o, 0, sizeof o);
    ao_err_init(&err);
    /* argc bounds the number of run directories. */
    if (!(runs = calloc((size_t)argc + 1, sizeof *runs))) {
        ao_error("out of memory");
        return AO_EXIT_OSERR;
    }
    /* "-" first: non-options come back in order as code 1, so the ones
     * right after --runs DIR are more run directories. */
    while ((c = getopt_long(argc, argv, "-" AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        if (c != 1) in_runs = (c == O_RUNS);
        switch (c) {
        case 1:
            if (!in_runs) {
                status = ao_cli_usage_error("unexpected argument '%s' (run directories follow --runs)", optarg);
                goto DONE;
            }
            runs[n_runs++] = optarg;
            break;
        case O_STATE: o.state_dir = optarg; break;
        case O_RUNS: runs[n_runs++] = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_FORCE: o.force = 1; break;
        default:
            if ((status = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) goto DONE;
        }
    }
    if (optind < argc) { /* after "--" */
        status = ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
        goto DONE;
    }
    if (!o.state_dir) { status = ao_cli_usage_error("no state directory: give --state DIR"); goto DONE; }
    if (n_runs == 0) { status = ao_cli_usage_error("no run directories: give --runs RUNDIR..."); goto DONE; }
    if (!o.out) { status = ao_cli_usage_error("no output: give --out MODEL.tar.gz"); goto DONE; }
    ao_cli_start(&cli);
    o.run_dirs = runs;
    o.n_runs = n_runs;
    status = ao_cli_finish(&cli, ao_package_write(&o, &err), &err);
DONE:
    free(runs);
    return status;
}
