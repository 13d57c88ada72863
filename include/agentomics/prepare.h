/* prepare.h — turning user inputs into the normalised dataset that the
 * agent sees (agent/), the held-out test it never sees (heldout/) and the
 * selection slice it never sees either (selection/: selection.tsv and
 * selection.json, carved from the validation set when one is given, else
 * from the training data; see ao_split_selection for the size rule).
 * train-run scores every iteration on the slice, and the best iteration
 * and lineage are chosen by that score, so a model that memorised the
 * agent's validation labels cannot win.
 *
 * Streams every input once: records are normalised and written as they
 * are read; memory grows only with what the duplicate, overlap and id
 * checks must remember (a 64-bit hash per record and per id).
 */
#ifndef AGENTOMICS_PREPARE_H
#define AGENTOMICS_PREPARE_H

#include "agentomics/error.h"
#include "agentomics/seqreader.h"

enum ao_split { AO_SPLIT_TRAIN = 0, AO_SPLIT_VALID = 1, AO_SPLIT_TEST = 2, AO_N_SPLITS = 3 };

#define AO_PREP_MAX_INPUTS 64

/* One input file of a split; fixed_label set for one-file-per-class inputs. */
typedef struct ao_prep_input {
    const char *path;
    const char *fixed_label;
} ao_prep_input;

typedef struct ao_prepare_opts {
    ao_reader_opts reader;            /* columns, label source, threads, U->T */
    ao_prep_input inputs[AO_N_SPLITS][AO_PREP_MAX_INPUTS];
    int n_inputs[AO_N_SPLITS];
    const char *labels_path;          /* side table id -> label */
    const char *description_path;     /* copied to agent/description.md */
    const char *classes;              /* "A,B,C": class order */
    const char *positive;             /* binary: the positive class */
    const char *out;                  /* output directory */
    int strict;                       /* leakage and conflicting labels are errors */
    int force;                        /* replace an existing output directory */
    double selection_fraction;        /* the selection slice's share of its pool; < 0: the default
                                       * (AO_SELECTION_FRACTION_VALID of a validation set, else
                                       * AO_SELECTION_FRACTION_TRAIN of the training data); 0: none */
} ao_prepare_opts;

#define AO_SELECTION_FRACTION_VALID 0.2
#define AO_SELECTION_FRACTION_TRAIN 0.05

/* The defaults of agentomics-prepare-data --help: no inputs, one thread. */
void ao_prepare_opts_init(ao_prepare_opts *o);

/* Runs the whole preparation; the output directory appears only on
 * success. Returns AO_OK or a negative ao_rc with err set. */
int ao_prepare_run(const ao_prepare_opts *o, ao_err *err) AO_WUR;

#endif
