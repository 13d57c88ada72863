/* agentomics-report — the run's report from a results folder: report.html
 * (self-contained, plots inline), report.md (its text twin) and MultiQC
 * custom content (report.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "agentomics/cli.h"
#include "agentomics/report.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-report --results DIR [options]\n"
"\n"
"Writes the run's report from a results folder as both workflows lay it out\n"
"(data/, lineage<L>/iter<I>/<stage>/, lineage<L>/runs/<run>/, lineages.json,\n"
"test_metrics.json, test_predictions.tsv): report.html, one self-contained page\n"
"(inline SVG plots and CSS, no network), and report.md with the same numbers as\n"
"text. Sections: summary; QC flags (train/test and train/validation overlap,\n"
"duplicates, conflicting labels, imbalance, N-rich sequences, length outliers);\n"
"dataset profile; search progress per lineage and iteration with what changed;\n"
"learning curves; ROC, precision-recall, calibration and confusion matrices of\n"
"the chosen model on validation and test; per-class metrics; LLM usage. Links\n"
"in the page are relative to DIR. Anything missing from DIR is left out and\n"
"said so.\n"
"\n"
"  --results DIR      the results folder (at least one lineage's state)\n"
"  --out-dir DIR      where the files go [the results folder]\n"
"  --title NAME       the dataset's name in the report [DIR's basename]\n"
"  --no-multiqc       do not write agentomics_mqc.json and\n"
"                     agentomics_general_stats_mqc.json (MultiQC custom content)\n"
"  -v, --verbose      more log output; -q, --quiet: errors only\n"
"  -h, --help         this help;  --version: the version, then htslib's\n"
"\n"
"Exit status: 0 written, 2 usage, 65 no lineage state or a malformed file, 74 I/O.\n");
}

int main(int argc, char **argv)
{
    enum { O_RESULTS = 256, O_OUT, O_TITLE, O_NOMQC };
    static const struct option lopts[] = {
        {"results", required_argument, 0, O_RESULTS}, {"out-dir", required_argument, 0, O_OUT},
        {"title", required_argument, 0, O_TITLE}, {"no-multiqc", no_argument, 0, O_NOMQC}, AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    ao_report_opts o = {0};
    int c, st;
    ao_cli cli;
    ao_err err;

    ao_cli_init(&cli, argv[0], usage);
    ao_err_init(&err);
    o.mqc = 1;
    while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case O_RESULTS: o.results = optarg; break;
        case O_OUT: o.out_dir = optarg; break;
        case O_TITLE: o.title = optarg; break;
        case O_NOMQC: o.mqc = 0; break;
        default: if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.results) return ao_cli_usage_error("--results is required");
    ao_cli_start(&cli);
    return ao_cli_finish(&cli, ao_report_write(&o, &err), &err);
}
