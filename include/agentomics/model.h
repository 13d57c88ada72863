/* model.h — a trained builtin model: the recipe, the dataset schema
 * (class order, sequence columns), the representation and the learner,
 * saved as one checksummed model file in a model directory.
 *
 * Training and prediction both go through here, so the predictions that
 * train-run scores and those agentomics-predict writes come from the same
 * code path.
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
} ao_train_opts;

/* How training ended. */
enum ao_train_status {
    AO_TRAIN_OK = 0,          /* converged, early-stopped or ran its budget of epochs/rounds */
    AO_TRAIN_TIME_LIMIT = 1,  /* cut by the time limit; best checkpoint kept */
    AO_TRAIN_DIVERGED = 2,    /* a NaN/inf loss; best checkpoint kept if there was one */
    AO_TRAIN_FAILED = 3       /* no usable model */
};

typedef struct ao_train_report {
    int status;               /* enum ao_train_status */
    int epochs;               /* epochs (CNN), rounds (GBDT) or iterations (logreg) run */
    int best;                 /* best epoch / round kept (0 when not applicable) */
    double seconds;
    int n_features;           /* representation width (k-mer models) */
    int input_length;         /* one-hot length (CNN) */
    char message[256];        /* why it stopped, in words */
} ao_train_report;

const char *ao_train_status_name(int status);

/* Trains per the recipe. Returns AO_OK with *out set (or NULL with
 * rep->status == AO_TRAIN_FAILED when training ran but produced nothing
 * usable), or < -1 on bad input. */
int ao_model_train(const ao_recipe *r, const ao_dataset_info *info, const ao_seqset *train, const ao_seqset *valid,
                   const ao_train_opts *o, ao_model **out, ao_train_report *rep, ao_err *err) AO_WUR;
/* Writes dir/model.aom and dir/recipe.json (the directory must exist). */
int ao_model_save(const ao_model *m, const char *dir, ao_err *err) AO_WUR;
/* dir: a model directory (or the model file itself). */
ao_model *ao_model_load(const char *dir, ao_err *err) AO_WUR;
void ao_model_destroy(ao_model *m);
const ao_dataset_info *ao_model_info(const ao_model *m);
int ao_model_kind(const ao_model *m);   /* enum ao_model_type */
/* proba: s->n x n_classes, row-major. */
int ao_model_predict(const ao_model *m, const ao_seqset *s, int threads, double *proba, ao_err *err) AO_WUR;

#endif
