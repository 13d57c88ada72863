/* scriptmodel.h — models trained and run by agent-written code.
 *
 * The code step of the LLM agent may leave, instead of a builtin
 * recipe.json, a training entry and an inference entry in the workspace
 * (any language the environment has, e.g. /usr/bin/python3). Both always
 * run in the sandbox (sandbox.h) with this contract:
 *
 *   training:  [INTERPRETER] /workspace/TRAIN_ENTRY /data/train.tsv /data/valid.tsv /model
 *              mounts: the workspace read-only at /workspace (cwd), the two
 *              split files and dataset.json read-only under /data, the new
 *              model directory read-write at /model. Must write everything
 *              inference needs below /model and exit 0.
 *   inference: [INTERPRETER] /model/code/INFERENCE_ENTRY /model/artifacts /input/input.tsv /output/predictions.tsv
 *              mounts: the model directory read-only at /model (cwd
 *              /model/code), the input read-only, /output read-write;
 *              nothing else of the run (no split, no labels) is visible.
 *              input.tsv has `id` and the sequence column(s), never labels.
 *              predictions.tsv: `id`, `prediction`, `probability_<class>`
 *              for every class, one row per input id.
 *   environment (both): AO_THREADS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
 *              MKL_NUM_THREADS = threads; AO_CLASSES = class names,
 *              comma-separated, in index order; AO_SEED.
 *
 * A trained script model directory:
 *   script-model.json  {"format_version": 1, "kind": "script", "interpreter",
 *                       "train_entry", "inference_entry", "classes", "seed",
 *                       and "threshold" when train-run chose a decision threshold}
 *   dataset.json       the dataset schema (columns, classes), for reading inputs
 *   code/              the workspace files at training time (regular files only)
 *   artifacts/         what the training entry wrote to /model
 */
#ifndef AGENTOMICS_SCRIPTMODEL_H
#define AGENTOMICS_SCRIPTMODEL_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/data.h"
#include "agentomics/error.h"

#define AO_SCRIPT_MODEL_FILE "script-model.json"

typedef struct ao_script_spec {
    char *interpreter;       /* absolute path inside the sandbox, or NULL: the entry is executable */
    char *train_entry;       /* path relative to the workspace */
    char *inference_entry;   /* path relative to the workspace */
} ao_script_spec;

/* From a code step output {"entry": "script", "interpreter", "train_entry",
 * "inference_entry"}. AO_EDATA (message for the model) on absolute or
 * ".."-containing entry paths, a relative interpreter, missing fields. */
int ao_script_spec_parse(const json_t *code_output, ao_script_spec *s, ao_err *err) AO_WUR;
void ao_script_spec_free(ao_script_spec *s);   /* NULL-safe; zeroes */
/* {"entry": "script", "interpreter", "train_entry", "inference_entry"};
 * NULL when out of memory. */
json_t *ao_script_spec_json(const ao_script_spec *s);

/* Static leakage check of the inference entry (and the workspace files it
 * could import): 1 clean; 0 with msg naming the file, line and the
 * reference to split, label or held-out files (/data, train.tsv,
 * valid.tsv, test.tsv, heldout, split/), or the workspace entry that
 * cannot be walked (a directory that cannot be opened, nested deeper than
 * 32 levels, more than 20,000 files). < -1 on I/O errors.
 * Scanned: the inference entry and, transitively, every text file of the
 * workspace that a scanned file names by base name, or (source files) by
 * stem or directory ("import features" -> features.py); never the
 * training entry, which reads /data legitimately; comment lines ('#',
 * '//') are skipped. Only a diagnostic: inference cannot see /data anyway. */
int ao_script_static_check(const ao_script_spec *s, const char *workspace, char *msg, size_t msg_size, ao_err *err) AO_WUR;

typedef struct ao_script_limits {
    double time_limit;     /* wall seconds of each run of an entry; <= 0: none */
    long mem_mb;           /* address-space limit; 0: none */
    int threads;
    int gpus;              /* > 0: GPU device nodes bound in (training only) */
    uint64_t seed;         /* AO_SEED of training; inference gets the seed recorded in script-model.json */
    const char *log_path;  /* the whole output of the entry is appended here; NULL: none */
} ao_script_limits;

/* How a run of an entry went. ok == 0 is an agent failure (crash, timeout,
 * bad output), not an error of the caller: message says what happened and
 * output holds the head and tail of what the entry printed. */
typedef struct ao_script_report {
    int ok;
    int exit_code;
    int timed_out;
    double seconds;
    char message[512];
    char *output;          /* malloc'd; may be NULL */
} ao_script_report;
void ao_script_report_clear(ao_script_report *r);   /* NULL-safe */

/* Runs the training entry and assembles model_dir (which must not exist;
 * created whole or removed). data_dir holds dataset.json. Returns AO_OK
 * whenever the entry ran (see rep->ok); < -1 on caller-side failures
 * (missing bwrap, I/O). */
int ao_script_train(const ao_script_spec *s, const char *workspace, const char *data_dir,
                    const char *train_tsv, const char *valid_tsv, const char *model_dir,
                    const ao_script_limits *lim, ao_script_report *rep, ao_err *err) AO_WUR;

/* Whether dir is a script model directory (has script-model.json). */
int ao_script_model_is(const char *model_dir);
/* The dataset schema saved with a script model. */
ao_dataset_info *ao_script_model_info(const char *model_dir, ao_err *err) AO_WUR;
/* The binary decision threshold a script model declares: script-model.json
 * "threshold", which train-run writes when it chooses one on the
 * validation predictions (README "Decision thresholds"). *t is NaN when
 * there is none. AO_EDATA, naming the file, when it is not a finite number
 * in (0, 1) or the model's "classes" are not two; AO_EIO, AO_EMEM. */
int ao_script_model_threshold(const char *model_dir, double *t, ao_err *err) AO_WUR;
/* Writes t (in (0, 1)) as script-model.json's "threshold", atomically.
 * AO_OK, AO_EDATA (an unreadable description), AO_EIO, AO_EMEM. */
int ao_script_model_set_threshold(const char *model_dir, double t, ao_err *err) AO_WUR;

/* Runs the inference entry of model_dir on s (ids and sequences only are
 * written for it) and checks its prediction file: exactly the input ids,
 * a probability column per class, probabilities finite in [0, 1] summing
 * to 1 within 1e-3, predictions that are class names. proba: s->n x
 * n_classes in s's row order. A failed or invalid run gives rep->ok == 0
 * and AO_OK. */
int ao_script_predict(const char *model_dir, const ao_seqset *s, const ao_script_limits *lim,
                      double *proba, ao_script_report *rep, ao_err *err) AO_WUR;

#endif
