/* agentomics-select — choose the lineage a workflow packages, from every
 * lineage's final state (the rule and the output: select.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cli.h"
#include "agentomics/log.h"
#include "agentomics/select.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-select --states DIR... --out lineages.json [options]\n"
"\n"
"Chooses which of several independent agent lineages to package. Each DIR is one\n"
"lineage's final (reflected) state directory with run.json, history.json and\n"
"decision.json. The chosen lineage is the one whose best iteration has the highest\n"
"ranking value (history.json best.value: the metric on prepare-data's selection\n"
"slice, which the agent never sees, else on validation; higher is better);\n"
"ties go to the lowest lineage number; a best without a value does not compete;\n"
"when no lineage has a best iteration, the lowest lineage number is chosen.\n"
"Lineages must share the metric and the dataset (content hash).\n"
"\n"
"Output (JSON, sorted keys): {\"format_version\": 1, \"metric\", \"chosen\" (lineage\n"
"number), \"chosen_best\" (its best iteration or null), \"chosen_state\" (its DIR),\n"
"\"lineages\": [{\"lineage\", \"iterations\", \"best\", \"decision\", \"state\"}, ...]}\n"
"with the lineages sorted by number and every DIR as given.\n"
"\n"
"  --states DIR...    final state directories, one per lineage. Takes every\n"
"                     following non-option argument and may be repeated:\n"
"                     --states s1 s2 s3  or  --states s1 --states s2\n"
"  --out FILE         the selection to write (atomically; '-' is stdout)\n"
"  --force            replace an existing output file\n"
"  -v, --verbose      more log output (-v names the choice); -q, --quiet: errors only\n"
"  -h, --help         this help;  --version: the version, then htslib's\n"
"\n"
"Exit status: 0 ok, 2 usage error (also: the output exists without --force),\n"
"65 data error (a state file missing or malformed, two states of the same\n"
"lineage, lineages whose metrics or datasets differ), 74 I/O error (a state file\n"
"exists but cannot be read, the output cannot be written).\n");
}

int main(int argc, char **argv)
{
    enum { O_STATES = 256, O_OUT, O_FORCE };
    static const struct option lopts[] = {
        {"states", required_argument, 0, O_STATES}, {"out", required_argument, 0, O_OUT},
        {"force", no_argument, 0, O_FORCE}, AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    ao_select_opts o;
    ao_cli_list states;
    ao_cli cli;
    ao_err err;
    int c, status;

    ao_cli_init(&cli, argv[0], usage);
    memset(&o, 0, sizeof o);
    ao_err_init(&err);
    if (ao_cli_list_init(&states, O_STATES, argc) < 0) { ao_error("out of memory"); return AO_EXIT_OSERR; }
    while ((c = getopt_long(argc, argv, "-" AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        int taken = ao_cli_list_take(&states, c, optarg);
        if (taken < 0) { status = ao_cli_usage_error("unexpected argument '%s' (state directories follow --states)", optarg); goto DONE; }
        if (taken) continue;
        switch (c) {
        case O_OUT: o.out = optarg; break;
        case O_FORCE: o.force = 1; break;
        default:
            if ((status = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) goto DONE;
        }
    }
    if (optind < argc) { status = ao_cli_usage_error("unexpected argument '%s'", argv[optind]); goto DONE; }   /* after "--" */
    if (states.n == 0) { status = ao_cli_usage_error("no state directories: give --states DIR..."); goto DONE; }
    if (!o.out) { status = ao_cli_usage_error("no output: give --out lineages.json (or - for stdout)"); goto DONE; }
    ao_cli_start(&cli);
    o.state_dirs = states.items;
    o.n_states = states.n;
    status = ao_cli_finish(&cli, ao_select_lineages(&o, &err), &err);
DONE:
    ao_cli_list_free(&states);
    return status;
}
