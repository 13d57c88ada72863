/* gbdt.h — histogram-based gradient-boosted decision trees.
 *
 * Binary (logistic loss, one tree per round, sigmoid) and multiclass
 * (softmax cross-entropy, K trees per round) classification on dense
 * float features.
 *
 * Training: every feature is quantised into at most max_bins (<= 255)
 * bins whose edges are quantiles of the training values (all distinct
 * values when there are few); split finding works on per-bin
 * gradient/hessian histograms, with the larger child's histogram derived
 * from its parent by subtraction. Trees grow leaf-wise, best gain first
 * (as in LightGBM), bounded by max_leaves and max_depth; leaf values are
 * Newton steps -G/(H + lambda) times the learning rate.
 *
 * Prediction compares raw feature values with float thresholds (the bin
 * edges), so it needs no binning and works on any data: x <= threshold
 * goes left.
 *
 * Determinism: the result (model bytes, probabilities) depends only on the
 * parameters, the data and the seed — the same for any thread count, since
 * threads split the work by feature and every sum is taken in row order.
 */
#ifndef AGENTOMICS_GBDT_H
#define AGENTOMICS_GBDT_H

#include <stdint.h>
#include "agentomics/error.h"
#include "agentomics/matrix.h"
#include "agentomics/modelfile.h"

/* Returned by ao_gbdt_fit when the training or validation loss became NaN
 * or infinite, or raw scores left +-1e30 (an absurd learning rate does
 * that without a NaN, the sigmoid saturating). *out then still
 * holds a usable model: the rounds before the divergence (cut back to the
 * best validation round when early stopping is on). The caller records
 * the run as diverged and destroys *out. ao_exit_code() maps it to 70.
 * Same value as AO_LBFGS_EDIVERGED / AO_LOGREG_EDIVERGED. */
#define AO_GBDT_EDIVERGED (-16)

enum ao_gbdt_class_weight {
    AO_GBDT_CW_NONE = 0,       /* every class weight 1 */
    AO_GBDT_CW_BALANCED = 1,   /* n / (K * n_k), as scikit-learn */
    AO_GBDT_CW_EXPLICIT = 2    /* params.class_weight[k] */
};

/* Called after every round (0-based) with the training log loss (mean
 * over all training rows, weighted by sample x class weight) and the
 * validation log loss (class-weighted; NaN without a validation set). A
 * non-zero return stops training cleanly (e.g. a time limit): the model
 * keeps the rounds done so far (the best ones under early stopping) and
 * ao_gbdt_stopped() reports it. */
typedef int (*ao_gbdt_progress_fn)(void *ctx, int round, double train_loss, double valid_loss);

typedef struct ao_gbdt_params {
    int n_estimators;          /* maximum boosting rounds (100) */
    double learning_rate;      /* shrinkage (0.1) */
    int max_depth;             /* <= 0: unlimited (0) */
    int max_leaves;            /* leaves per tree, <= 0: unlimited (31);
                                  at least one of the two limits must be set */
    double lambda;             /* L2 penalty on leaf values (1.0) */
    double min_split_gain;     /* minimum gain to split (0.0); gain = half the
                                  XGBoost-style score, also the importance unit */
    double min_child_weight;   /* minimum weighted hessian sum in a child (1e-3) */
    int min_samples_leaf;      /* minimum rows in a child (20) */
    int max_bins;              /* 2..255 (255) */
    double subsample;          /* fraction of rows drawn (without replacement) per
                                  round, shared by its K trees, (0, 1] (1.0) */
    double colsample;          /* fraction of features per tree, (0, 1] (1.0) */
    int early_stopping_rounds; /* > 0 with a validation set: stop after this many
                                  rounds without a strictly lower validation
                                  log loss, keep the best round's trees (0: off) */
    int class_weight_mode;     /* enum ao_gbdt_class_weight (NONE) */
    const double *class_weight;/* n_classes weights for AO_GBDT_CW_EXPLICIT */
    uint64_t seed;             /* row/column subsampling; binning sample when
                                  n > 200000 rows (0) */
    int threads;               /* worker threads, >= 1 (1) */
    ao_gbdt_progress_fn progress;   /* may be NULL */
    void *progress_ctx;
    double deadline;               /* ao_now() after which boosting stops, checked before
                                      every tree (a cut round is dropped); 0: none */
} ao_gbdt_params;

typedef struct ao_gbdt ao_gbdt;

/* The defaults documented with each field above. */
void ao_gbdt_params_init(ao_gbdt_params *p);

/* Trains a model. X: n x d training features (finite values), y: labels in
 * [0, n_classes), n_classes >= 2; sample_weight: n non-negative weights or
 * NULL. X_valid/y_valid: an optional validation set (X_valid NULL: none)
 * whose log loss — with the same class weights — drives early stopping.
 * On success *out owns the model; on error *out is NULL, except for
 * AO_GBDT_EDIVERGED (see above). */
int ao_gbdt_fit(const ao_gbdt_params *p, const ao_dense *X, const int *y, int n_classes,
                const double *sample_weight, const ao_dense *X_valid, const int *y_valid,
                ao_gbdt **out, ao_err *err) AO_WUR;

/* proba: X->n_rows x n_classes, row-major (binary: [1 - p, p]).
 * AO_EUSAGE if X has the wrong number of columns. */
int ao_gbdt_predict_proba(const ao_gbdt *m, const ao_dense *X, double *proba) AO_WUR;
/* Raw scores (log-odds / softmax logits): n x ao_gbdt_n_outputs(m). */
int ao_gbdt_predict_raw(const ao_gbdt *m, const ao_dense *X, double *score) AO_WUR;

void ao_gbdt_destroy(ao_gbdt *m);

/* The trained model's shape and history. */
int ao_gbdt_n_features(const ao_gbdt *m);
int ao_gbdt_n_classes(const ao_gbdt *m);
int ao_gbdt_n_outputs(const ao_gbdt *m);     /* 1 for binary, K for multiclass */
int ao_gbdt_n_rounds(const ao_gbdt *m);      /* rounds kept in the model */
int ao_gbdt_best_iteration(const ao_gbdt *m);/* 0-based round with the lowest validation
                                                loss (last kept round without one) */
int ao_gbdt_n_history(const ao_gbdt *m);     /* rounds run (>= n_rounds) */
/* Loss of 0-based round r (r < n_history); valid is NaN without a validation set. */
double ao_gbdt_train_loss(const ao_gbdt *m, int round);
double ao_gbdt_valid_loss(const ao_gbdt *m, int round);
int ao_gbdt_stopped(const ao_gbdt *m);       /* 1 if the progress callback stopped it */
int ao_gbdt_diverged(const ao_gbdt *m);      /* 1 if a NaN/inf loss ended training */
/* Total split gain per feature over the kept trees (d values). */
int ao_gbdt_feature_importance(const ao_gbdt *m, double *gain);
int64_t ao_gbdt_n_nodes(const ao_gbdt *m);

/* Serialises the model (version-tagged little-endian payload, meant for a
 * model-file section); AO_EMEM if the buffer ran out of memory. The bytes
 * depend only on the model, so equal fits give equal buffers. */
int ao_gbdt_save(const ao_gbdt *m, ao_buf *b) AO_WUR;
/* Reads a payload written by ao_gbdt_save; AO_EDATA if malformed. */
int ao_gbdt_load(ao_cursor *c, ao_gbdt **out, ao_err *err) AO_WUR;

#endif
