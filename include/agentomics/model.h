/* model.h — a trained builtin model: the recipe, the dataset schema
 * (class order, sequence columns), the representation and the learner,
 * saved as one checksummed model file in a model directory.
 *
 * Training and prediction both go through here, so the predictions that
 * train-run scores and those agentomics-predict writes come from the same
 * code path. The learner is reached through its row of the learner table
 * (learner.h); this module owns the representation and the file layout.
 *
 * Model file sections: META (JSON: format_version, tool, "model" = the
 * learner's name, classes, sequence_columns, the recipe as given, and
 * "onehot" = the resolved one-hot layout for one-hot representations,
 * "threshold" = the binary decision threshold when the model has one),
 * FEAT (the featurizer of a k-mer representation), SCAL (per-feature
 * scales, for learners whose row says scaled), LRNR (the learner's own
 * section, as its row saves it).
 */
#ifndef AGENTOMICS_MODEL_H
#define AGENTOMICS_MODEL_H

#include <stdio.h>
#include "agentomics/data.h"
#include "agentomics/error.h"
#include "agentomics/recipe.h"

#define AO_MODEL_FILE "model.aom"

typedef struct ao_model ao_model;

typedef struct ao_train_opts {
    int threads;
    double time_limit;     /* seconds of training; <= 0: none */
    long mem_limit_mb;     /* recipes that would need more are refused; <= 0: none */
    FILE *log;             /* per-epoch / per-round progress lines; may be NULL */
    struct ao_progress *progress;   /* learning_curve.tsv and stderr lines (progress.h); may be NULL */
} ao_train_opts;

/* Trains per the recipe. Returns AO_OK with *out set (or NULL with
 * rep->status == AO_TRAIN_FAILED when training ran but produced nothing
 * usable), or < -1 on bad input. */
int ao_model_train(const ao_recipe *r, const ao_dataset_info *info, const ao_seqset *train, const ao_seqset *valid,
                   const ao_train_opts *o, ao_model **out, ao_train_report *rep, ao_err *err) AO_WUR;
/* AO_OK when the recipe's learner, by its own estimate, needs at most
 * 80% of mem_limit_mb (<= 0: no limit) to train on these rows (valid may
 * be NULL); else AO_EDATA naming the recipe path and the estimate, as
 * ao_model_train would refuse it, without building anything large (the
 * code step checks a proposal against the whole split with it before its
 * smoke run on a mini split). */
int ao_model_check_memory(const ao_recipe *r, const ao_dataset_info *info, const ao_seqset *train, const ao_seqset *valid, int threads,
                          long mem_limit_mb, ao_err *err) AO_WUR;
/* Writes dir/model.aom and dir/recipe.json (the recipe as given; the
 * directory must exist). Returns AO_OK, or AO_EIO / AO_EMEM. */
int ao_model_save(const ao_model *m, const char *dir, ao_err *err) AO_WUR;
/* At most this many classes in a model's META (prepare-data makes at
 * most 1000). */
#define AO_MODEL_MAX_CLASSES 65536

/* dir: a model directory (or the model file itself). The file is hostile
 * input: besides its checksum, every count and shape is checked before
 * use — META's classes (2..AO_MODEL_MAX_CLASSES distinct names) and
 * sequence columns (1..AO_MAX_SEQ_COLS), the one-hot layout, the
 * featurizer's columns, the scales (one finite positive value per
 * feature), the learner's own payload (counts against its size, finite
 * weights, indices in range) and the learner's classes and input shape
 * against META and the representation. NULL with err set: AO_EIO, or
 * AO_EDATA naming the file and the disagreement (e.g. "invalid model
 * description: unknown learner 'x'", "the logreg learner has 2 classes,
 * the model description names 3"). */
ao_model *ao_model_load(const char *dir, ao_err *err) AO_WUR;
void ao_model_destroy(ao_model *m);   /* NULL-safe */
/* The dataset schema the model was trained on (class order, sequence columns). */
const ao_dataset_info *ao_model_info(const ao_model *m);
/* The binary decision threshold the model declares (META "threshold":
 * class 1 when its probability is >= it), NaN for the argmax (models
 * without one, older models included). */
double ao_model_threshold(const ao_model *m);
/* Sets it (NaN: none). AO_EUSAGE unless the model has two classes and
 * threshold is NaN or in (0, 1). */
int ao_model_set_threshold(ao_model *m, double threshold, ao_err *err) AO_WUR;
/* Class probabilities for every row of s into proba (s->n x n_classes,
 * row-major). Returns AO_OK; AO_EDATA when s has another number of
 * sequence columns than the model, AO_EMEM. */
int ao_model_predict(const ao_model *m, const ao_seqset *s, int threads, double *proba, ao_err *err) AO_WUR;

#endif
