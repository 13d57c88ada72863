/* agentomics-predict — run a trained model on any input format. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/cli.h"
#include "agentomics/log.h"
#include "agentomics/package.h"
#include "agentomics/predict.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-predict --model MODEL --input FILE --output PRED.tsv [options]\n"
"\n"
"Predicts class probabilities for every record of FILE (FASTA/FASTQ, SAM/BAM/CRAM,\n"
"CSV/TSV, plain or compressed, labelled or not; '-' is stdin). MODEL is a model\n"
"directory written by agentomics-train-run, or a package written by\n"
"agentomics-package-model (verified before use). Output: a TSV with id, prediction and\n"
"probability_<class> for every class, one row per input record ('-' is stdout). The\n"
"prediction is the argmax, or, for a binary model that declares a decision threshold\n"
"(chosen on validation and confirmed on the selection slice by train-run, or an\n"
"ensemble's own), the second class exactly when its probability\n"
"is >= the threshold, which a last column, threshold, repeats on every row.\n"
"Builtin models run in this process. Script models (agent-written code) run their\n"
"inference entry in the bubblewrap sandbox, without network and without a time\n"
"limit, on the input's ids and sequences only; its prediction file is checked\n"
"(every input id once, known classes, probabilities summing to 1) and a failed\n"
"or invalid run is a data error naming the problem.\n"
"\n"
"  --model MODEL      model directory or package (MODEL.tar.gz)\n"
"  --input FILE       sequences to classify\n"
"  --output FILE      prediction TSV (written atomically)\n"
"  --threads N        worker threads (script models: AO_THREADS, OMP_NUM_THREADS) [1]\n"
"  -v, --verbose      more log output; -q, --quiet: errors only\n"
"  -h, --help         this help;  --version: the version, then htslib's\n"
"\n"
"Exit status: 0 ok, 2 usage, 65 invalid model or input (or a failed script\n"
"model), 74 I/O (e.g. no working bubblewrap for a script model).\n");
}

int main(int argc, char **argv)
{
    enum { O_MODEL = 256, O_INPUT, O_OUTPUT, O_THREADS };
    static const struct option lopts[] = {
        {"model", required_argument, 0, O_MODEL}, {"input", required_argument, 0, O_INPUT},
        {"output", required_argument, 0, O_OUTPUT}, {"threads", required_argument, 0, O_THREADS},
        AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    const char *model = NULL, *input = NULL, *output = NULL;
    long threads = 1;
    int c, st, rc;
    ao_cli cli;
    ao_err err;

    ao_cli_init(&cli, argv[0], usage);
    ao_err_init(&err);
    while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_INPUT: input = optarg; break;
        case O_OUTPUT: output = optarg; break;
        case O_THREADS:
            if (ao_cli_int(optarg, 1, 1024, &threads) < 0) return ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg);
            break;
        default: if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!model || !input || !output) return ao_cli_usage_error("--model, --input and --output are required");
    ao_cli_start(&cli);
    {
        /* a package is verified and unpacked into a private directory first */
        char *model_dir = NULL;
        ao_pkg_tmp *pkg = NULL;
        rc = ao_model_path_resolve(model, &model_dir, &pkg, &err);
        if (rc == AO_OK) rc = ao_predict_file(model_dir, input, output, (int)threads, &err);
        free(model_dir);
        ao_pkg_tmp_destroy(pkg);
    }
    return ao_cli_finish(&cli, rc, &err);
}
