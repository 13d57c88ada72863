/* prepare.h — turning user inputs into the normalised dataset that the
 * agent sees (agent/) and the held-out test it never sees (heldout/).
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
} ao_prepare_opts;

/* The defaults of agentomics-prepare-data --help: no inputs, one thread. */
void ao_prepare_opts_init(ao_prepare_opts *o);

/* Runs the whole preparation; the output directory appears only on
 * success. Returns AO_OK or a negative ao_rc with err set. */
int ao_prepare_run(const ao_prepare_opts *o, ao_err *err) AO_WUR;

#endif
