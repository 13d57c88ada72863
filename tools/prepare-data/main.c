/* agentomics-prepare-data — normalise labelled sequences into the agent's
 * dataset (agent/) and the held-out test (heldout/). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <htslib/hts.h>
#include "agentomics/cli.h"
#include "agentomics/log.h"
#include "agentomics/prepare.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-prepare-data --train FILE [--valid FILE] [--test FILE] --out DIR [options]\n"
"\n"
"Reads FASTA/FASTQ (plain, gzip, BGZF), SAM/BAM/CRAM and CSV/TSV (plain or gzip),\n"
"detected from content; '-' is standard input. Writes DIR/agent/{train,valid}.tsv,\n"
"dataset.json, description.md, DIR/heldout/test.tsv and DIR/selection/ (neither\n"
"ever shown to the agent).\n"
"\n"
"Inputs (each repeatable; files of one split are concatenated):\n"
"  --train FILE            training data\n"
"  --valid FILE            validation data (otherwise the agent splits train)\n"
"  --test FILE             held-out test data\n"
"  --class NAME=FILE       a training file whose records all have label NAME\n"
"  --valid-class NAME=FILE, --test-class NAME=FILE   the same for valid / test\n"
"Labels:\n"
"  --label-col NAME        table column with the label [first of label,class,target,y,labels]\n"
"  --label-from SPEC       token:N (N-th header token, 1 = the id; negative from the end),\n"
"                          rg (the read group of SAM/BAM/CRAM records), ref (the\n"
"                          reference a read is aligned to; unmapped reads have none)\n"
"                          or tag:XX (B arrays as SAM writes them: c,1,2)\n"
"                          [FASTA/FASTQ: a 'label=NAME' header token]\n"
"  --label-tag TAG         SAM/BAM/CRAM aux tag with the label (same as --label-from tag:TAG)\n"
"  --labels FILE           side table (TSV/CSV with header) mapping id -> label\n"
"  --classes A,B,...       class order (labels outside it are errors) [sorted names]\n"
"  --positive NAME         positive class of a binary task [1/true/yes/pos..., else the\n"
"                          class not named non*/not*/neg*, else the second sorted name]\n"
"Columns (tables):\n"
"  --seq-col NAME          sequence column, repeatable for multi-sequence tasks\n"
"                          [first of sequence,seq,seqs,dna,rna, else sniffed from content]\n"
"  --id-col NAME           id column [first of id,name,read_name,seq_id,sequence_id;\n"
"                          else <split>_<row number>]\n"
"  --keep-col NAME         keep an extra column, repeatable\n"
"Other:\n"
"  --out DIR               output directory (created whole, or not at all)\n"
"  --description FILE      Markdown description of the dataset for the agent\n"
"  --reference FASTA       reference for CRAM decoding\n"
"  --u-to-t                convert U to T (RNA written as RNA)\n"
"  --selection-fraction F  the selection slice: held back from the agent, it chooses\n"
"                          the best iteration and lineage [0.2 of --valid's rows, else\n"
"                          0.05 of --train's; each class round(F*rows), at least 2;\n"
"                          none when a class has fewer than 10 rows; 0: none]\n"
"  --strict                test sequences present in train/valid (leakage) are an error\n"
"  --force                 replace an existing output directory\n"
"  --threads N             decompression threads [1]\n"
"  -v, --verbose           more log output (repeatable); -q, --quiet: errors only\n"
"  -h, --help              this help;  --version: the version, then htslib's\n"
"\n"
"Exit status: 0 ok, 2 usage error, 65 data error (FILE:LINE: problem), 71 out of\n"
"memory, 74 I/O error. A line longer than AGENTOMICS_MAX_LINE_MB (1024) is a data error.\n");
}

static int add_input(ao_prepare_opts *o, int split, const char *path, const char *label)
{
    if (o->n_inputs[split] >= AO_PREP_MAX_INPUTS) return -1;
    o->inputs[split][o->n_inputs[split]].path = path;
    o->inputs[split][o->n_inputs[split]].fixed_label = label;
    o->n_inputs[split]++;
    return 0;
}

/* NAME=FILE: splits in place */
static int add_class_input(ao_prepare_opts *o, int split, char *arg)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) return -1;
    *eq = '\0';
    return add_input(o, split, eq + 1, arg);
}

int main(int argc, char **argv)
{
    enum { O_TRAIN = 256, O_VALID, O_TEST, O_CLASS, O_VCLASS, O_TCLASS, O_OUT, O_LABELCOL, O_LABELFROM, O_LABELTAG, O_SELFRAC,
           O_LABELS, O_CLASSES, O_POSITIVE, O_SEQCOL, O_IDCOL, O_KEEPCOL, O_DESC, O_REF, O_UTOT, O_STRICT, O_FORCE,
           O_THREADS };
    static const struct option lopts[] = {
        {"train", required_argument, 0, O_TRAIN}, {"valid", required_argument, 0, O_VALID},
        {"test", required_argument, 0, O_TEST}, {"class", required_argument, 0, O_CLASS},
        {"valid-class", required_argument, 0, O_VCLASS}, {"test-class", required_argument, 0, O_TCLASS},
        {"out", required_argument, 0, O_OUT}, {"label-col", required_argument, 0, O_LABELCOL},
        {"label-from", required_argument, 0, O_LABELFROM}, {"label-tag", required_argument, 0, O_LABELTAG},
        {"labels", required_argument, 0, O_LABELS}, {"classes", required_argument, 0, O_CLASSES},
        {"positive", required_argument, 0, O_POSITIVE}, {"seq-col", required_argument, 0, O_SEQCOL},
        {"id-col", required_argument, 0, O_IDCOL}, {"keep-col", required_argument, 0, O_KEEPCOL},
        {"description", required_argument, 0, O_DESC}, {"reference", required_argument, 0, O_REF},
        {"u-to-t", no_argument, 0, O_UTOT}, {"strict", no_argument, 0, O_STRICT}, {"force", no_argument, 0, O_FORCE},
        {"selection-fraction", required_argument, 0, O_SELFRAC},
        {"threads", required_argument, 0, O_THREADS}, AO_CLI_LONGOPTS, {0, 0, 0, 0}};
    ao_prepare_opts o;
    ao_cli cli;
    ao_err err;
    int c, st;
    long v;

    ao_cli_init(&cli, argv[0], usage);
    ao_prepare_opts_init(&o);
    ao_err_init(&err);
    while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case O_TRAIN: case O_VALID: case O_TEST:
            if (add_input(&o, c - O_TRAIN, optarg, NULL) < 0) return ao_cli_usage_error("too many input files");
            break;
        case O_CLASS: case O_VCLASS: case O_TCLASS:
            if (add_class_input(&o, c - O_CLASS, optarg) < 0) return ao_cli_usage_error("--class expects NAME=FILE, got '%s'", optarg);
            break;
        case O_OUT: o.out = optarg; break;
        case O_LABELCOL: o.reader.label_col = optarg; break;
        case O_LABELFROM:
            if (strncmp(optarg, "token:", 6) == 0) {
                if (ao_cli_int(optarg + 6, -1000, 1000, &v) < 0 || v == 0)
                    return ao_cli_usage_error("--label-from token:N needs a non-zero integer N, got '%s'", optarg);
                o.reader.label_token = (int)v;
            } else if (strcmp(optarg, "rg") == 0) {
                o.reader.label_from_rg = 1;
            } else if (strcmp(optarg, "ref") == 0) {
                o.reader.label_from_ref = 1;
            } else if (strncmp(optarg, "tag:", 4) == 0 && strlen(optarg) == 6) {
                memcpy(o.reader.label_tag, optarg + 4, 2);
            } else {
                return ao_cli_usage_error("--label-from expects token:N, rg, ref or tag:XX, got '%s'", optarg);
            }
            break;
        case O_LABELTAG:
            if (strlen(optarg) != 2) return ao_cli_usage_error("--label-tag expects a two-character SAM tag, got '%s'", optarg);
            memcpy(o.reader.label_tag, optarg, 2);
            break;
        case O_LABELS: o.labels_path = optarg; break;
        case O_CLASSES: o.classes = optarg; break;
        case O_POSITIVE: o.positive = optarg; break;
        case O_SEQCOL:
            if (o.reader.n_seq_cols >= AO_MAX_SEQ_COLS) return ao_cli_usage_error("at most %d --seq-col", AO_MAX_SEQ_COLS);
            o.reader.seq_cols[o.reader.n_seq_cols++] = optarg;
            break;
        case O_IDCOL: o.reader.id_col = optarg; break;
        case O_KEEPCOL:
            if (o.reader.n_keep_cols >= AO_MAX_KEEP_COLS) return ao_cli_usage_error("at most %d --keep-col", AO_MAX_KEEP_COLS);
            o.reader.keep_cols[o.reader.n_keep_cols++] = optarg;
            break;
        case O_DESC: o.description_path = optarg; break;
        case O_REF: o.reader.reference = optarg; break;
        case O_UTOT: o.reader.u_to_t = 1; break;
        case O_STRICT: o.strict = 1; break;
        case O_FORCE: o.force = 1; break;
        case O_SELFRAC:
            if (ao_cli_double(optarg, &o.selection_fraction) < 0 || !(o.selection_fraction >= 0 && o.selection_fraction < 0.5))
                return ao_cli_usage_error("--selection-fraction expects a number in [0, 0.5), got '%s'", optarg);
            break;
        case O_THREADS:
            if (ao_cli_int(optarg, 1, 1024, &v) < 0) return ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg);
            o.reader.threads = (int)v;
            break;
        default: if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (o.n_inputs[0] == 0) return ao_cli_usage_error("no training input: give --train FILE or --class NAME=FILE");
    if (!o.out) return ao_cli_usage_error("no output directory: give --out DIR");
    {
        /* standard input can be read once: a second '-' would find it empty */
        const char *first = NULL, *opt[] = {"--labels", "--description", "--reference"};
        const char *val[] = {o.labels_path, o.description_path, o.reader.reference};
        int s, i;
        for (s = 0; s < AO_N_SPLITS; s++)
            for (i = 0; i < o.n_inputs[s]; i++)
                if (strcmp(o.inputs[s][i].path, "-") == 0) {
                    if (first) return ao_cli_usage_error("standard input ('-') is given twice (%s and a %s input)", first, s == 0 ? "training" : s == 1 ? "validation" : "test");
                    first = s == 0 ? "a training input" : s == 1 ? "a validation input" : "a test input";
                }
        for (i = 0; i < 3; i++)
            if (val[i] && strcmp(val[i], "-") == 0) {
                if (first) return ao_cli_usage_error("standard input ('-') is given twice (%s and %s)", first, opt[i]);
                first = opt[i];
            }
    }
    ao_cli_start(&cli);
    return ao_cli_finish(&cli, ao_prepare_run(&o, &err), &err);
}
