/* agentomics-evaluate — the trusted scorer: joins a prediction file with a
 * labels file and writes accuracy, balanced accuracy, AUROC, AUPRC, macro
 * F1, MCC, log loss, per-class metrics and the confusion matrix. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "agentomics/cli.h"
#include "agentomics/error.h"
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/metrics.h"


static void usage(FILE *fp)
{
    fprintf(fp,
        "Usage: agentomics-evaluate --predictions PRED.tsv --labels TEST.tsv [options]\n"
        "\n"
        "Scores a prediction file against the true labels (the trusted scorer).\n"
        "\n"
        "  -p, --predictions FILE  predictions: id, prediction, probability_<class> for\n"
        "                          every class (plain or gzip; '-' = stdin)\n"
        "  -l, --labels FILE       true labels: id, label (other columns are ignored;\n"
        "                          e.g. heldout/test.tsv)\n"
        "  -o, --out FILE          write the result here (atomically) instead of stdout\n"
        "  -f, --format FMT        json (default) or text\n"
        "  -t, --threads N         accepted for uniformity with the other tools (scoring\n"
        "                          is single-threaded)\n"
        "  -v, --verbose           log progress and resource use to stderr (repeatable)\n"
        "  -q, --quiet             errors only\n"
        "  -h, --help              show this help and exit\n"
        "      --version           print the version, then htslib's, and exit (also -V)\n"
        "\n"
        "Every label id needs exactly one prediction row and vice versa. Classes are the\n"
        "probability_<class> columns in file order; with two classes the second is the\n"
        "positive class for AUROC and AUPRC, with more they are one-vs-rest macro means.\n"
        "The predicted class is the argmax of the probabilities (the prediction column\n"
        "must name a class but is not used), unless the file has a threshold column (a\n"
        "model with a decision threshold wrote it): then the task must be binary, every\n"
        "row must hold the same threshold in (0, 1) and a prediction that is the second\n"
        "class exactly when its probability is >= it, and the prediction column is\n"
        "scored (AUROC, AUPRC and log loss still come from the probabilities). Values\n"
        "equal scikit-learn's accuracy_score,\n"
        "balanced_accuracy_score, roc_auc_score, average_precision_score, f1_score\n"
        "(macro), matthews_corrcoef and log_loss; undefined values are null.\n"
        "\n"
        "Exit status: 0 ok, 2 usage, 65 bad data (FILE:LINE: message), 74 I/O error.\n");
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"predictions", required_argument, NULL, 'p'}, {"labels", required_argument, NULL, 'l'},
        {"out", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'},
        {"threads", required_argument, NULL, 't'}, AO_CLI_LONGOPTS, {NULL, 0, NULL, 0}};
    const char *pred = NULL, *labels = NULL, *out = "-", *format = "json";
    int c, st, rc = AO_OK;
    long threads = 1;   /* accepted for uniformity; scoring is single-threaded */
    ao_cli cli;
    ao_err err;
    ao_metrics *m = NULL;
    ao_outfile *of = NULL;
    json_t *js = NULL;

    ao_cli_init(&cli, argv[0], usage);
    ao_err_init(&err);
    while ((c = getopt_long(argc, argv, "p:l:o:f:t:V" AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case 'p': pred = optarg; break;
        case 'l': labels = optarg; break;
        case 'o': out = optarg; break;
        case 'f': format = optarg; break;
        case 't':
            if (ao_cli_int(optarg, 1, 4096, &threads) < 0)
                return ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg);
            break;
        default:
            /* -V: the older spelling of --version */
            if ((st = ao_cli_option(&cli, c == 'V' ? AO_CLI_OPT_VERSION : c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!pred) return ao_cli_usage_error("--predictions is required");
    if (!labels) return ao_cli_usage_error("--labels is required");
    if (!*out) return ao_cli_usage_error("--out needs a file name");
    if (strcmp(format, "json") != 0 && strcmp(format, "text") != 0)
        return ao_cli_usage_error("--format must be json or text, got '%s'", format);
    ao_cli_start(&cli);

    if (!(m = ao_metrics_from_files(pred, labels, &err))) { rc = err.code; goto DONE; }
    ao_debug("threads: %ld (unused: scoring is single-threaded)", threads);
    ao_info("scored %zu rows, %d classes: accuracy %.4f, AUROC %.4f, AUPRC %.4f, MCC %.4f",
            m->n, m->n_classes, m->accuracy, m->auroc, m->auprc, m->mcc);
    if (!(js = ao_metrics_json(m))) { rc = ao_err_set(&err, AO_EMEM, "out of memory"); goto DONE; }
    {
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(js, "warnings"), i, w) ao_warn("%s", json_string_value(w));
    }
    if (!(of = ao_outfile_open(out, &err))) { rc = err.code; goto DONE; }
    if (strcmp(format, "json") == 0) {
        if (json_dumpf(js, of->fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 || fputc('\n', of->fp) == EOF) {
            rc = ao_err_set(&err, AO_EIO, "%s: write error", strcmp(out, "-") ? out : "standard output");
            goto DONE;
        }
    } else if (ao_metrics_print(of->fp, m) < 0) {
        rc = ao_err_set(&err, AO_EIO, "%s: write error", strcmp(out, "-") ? out : "standard output");
        goto DONE;
    }
    rc = ao_outfile_commit(of, &err);
DONE:
    ao_outfile_destroy(of);
    json_decref(js);
    ao_metrics_destroy(m);
    return ao_cli_finish(&cli, rc, &err);
}
