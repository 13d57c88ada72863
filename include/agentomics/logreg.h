/* logreg.h — L2-regularised logistic regression on sparse rows.
 *
 * Objective (scikit-learn's, up to the constant factor C):
 *
 *     L(W, b) = C * sum_i w_i * logloss_i + 0.5 * ||W||^2
 *
 * with w_i = sample_weight[i] * class_weight[y_i]; the intercepts b are
 * not penalised. Two classes: one weight vector and the sigmoid (as
 * scikit-learn). More classes: multinomial softmax with one weight vector
 * per class (scikit-learn's multi_class='multinomial').
 *
 * Solved with L-BFGS (lbfgs.h) using scikit-learn's stopping rules:
 * tol is compared with the max-norm of the gradient of L / C (SciPy's
 * pgtol on scikit-learn's objective), plus SciPy's default relative
 * reduction test; max_iter bounds the iterations.
 *
 * Threads share fixed row blocks (one pass per block computes margins,
 * losses and a partial gradient) and then the reduction of the partials;
 * every sum runs in an order fixed by the data alone, so a fit is
 * bit-identical whatever the thread count. Extra memory: the row weights
 * and up to 64 partial gradients (budget max(8 MiB, 4 bytes per nonzero)).
 */
#ifndef AGENTOMICS_LOGREG_H
#define AGENTOMICS_LOGREG_H

#include <stdint.h>
#include "agentomics/error.h"
#include "agentomics/matrix.h"
#include "agentomics/modelfile.h"
#include "agentomics/lbfgs.h"

/* ao_logreg_fit's code for a NaN/inf loss or gradient at the start (NaN
 * or inf features). Later overflows at trial points are backed away from
 * by the line search; if it cannot, the fit ends with the last finite
 * iterate and status AO_LBFGS_LINESEARCH (not converged), never a
 * non-finite model. */
#define AO_LOGREG_EDIVERGED AO_LBFGS_EDIVERGED

enum ao_logreg_class_weight {
    AO_LOGREG_CW_NONE = 0,
    AO_LOGREG_CW_BALANCED = 1,   /* n_samples / (n_classes * count_c), as scikit-learn */
    AO_LOGREG_CW_EXPLICIT = 2    /* class_weights[c] for each class */
};

/* Called at the start, every progress_every iterations and at the end:
 * iter, the objective L above, and the max-norm of the gradient of L / C
 * (the number compared with tol). Return non-zero to stop (for a time
 * limit); the fit then returns the current model, not converged. */
typedef int (*ao_logreg_progress_fn)(void *ctx, int iter, double loss, double gnorm);

typedef struct ao_logreg_params {
    double C;                    /* inverse regularisation strength (1.0), > 0 */
    int fit_intercept;           /* 1 */
    int max_iter;                /* 100 */
    double tol;                  /* 1e-4 */
    int class_weight;            /* enum ao_logreg_class_weight (NONE) */
    const double *class_weights; /* n_classes entries, >= 0, for EXPLICIT */
    int threads;                 /* 1 */
    int lbfgs_m;                 /* L-BFGS memory (10) */
    ao_logreg_progress_fn progress;   /* may be NULL */
    void *progress_ctx;
    int progress_every;          /* iterations between calls (10) */
    double deadline;             /* ao_now() after which the solver stops, checked every
                                    iteration; 0: none (default) */
} ao_logreg_params;

/* The defaults documented with each field above. */
void ao_logreg_params_init(ao_logreg_params *p);

typedef struct ao_logreg ao_logreg;

/* Fits on X (n_rows x n_cols) with labels y[i] in [0, n_classes),
 * n_classes >= 2; sample_weight (n_rows entries, >= 0) may be NULL.
 * Returns AO_OK with *out set; AO_EUSAGE for bad parameters, AO_EDATA for
 * bad labels/weights, AO_EMEM, or AO_LOGREG_EDIVERGED, with err set. Not
 * reaching tol within max_iter is not an error: see ao_logreg_converged. */
int ao_logreg_fit(const ao_logreg_params *p, const ao_csr *X, const int *y, int n_classes,
                  const double *sample_weight, ao_logreg **out, ao_err *err) AO_WUR;

/* The objective L above and its gradient at (coef, intercept), with the
 * same data checks as ao_logreg_fit; coef and grad_coef are feature-major
 * (n_cols x n_vectors), intercept/grad_intercept have n_vectors entries and
 * are used only with p->fit_intercept. For tests and diagnostics. */
int ao_logreg_loss_grad(const ao_logreg_params *p, const ao_csr *X, const int *y, int n_classes,
                        const double *sample_weight, const double *coef, const double *intercept,
                        double *loss, double *grad_coef, double *grad_intercept, ao_err *err) AO_WUR;

/* Class probabilities, n_rows x n_classes row-major. X may have fewer
 * columns than the model (missing ones count as zero) but not more.
 * Returns AO_OK, or AO_EUSAGE. */
int ao_logreg_predict_proba(const ao_logreg *m, const ao_csr *X, double *proba) AO_WUR;
/* Raw margins, n_rows x ao_logreg_n_vectors(m). */
int ao_logreg_decision_function(const ao_logreg *m, const ao_csr *X, double *z) AO_WUR;

/* The trained model's shape. */
int ao_logreg_n_classes(const ao_logreg *m);
int64_t ao_logreg_n_features(const ao_logreg *m);
/* 1 for two classes, n_classes otherwise. */
int ao_logreg_n_vectors(const ao_logreg *m);
/* Feature-major weights: coef[j * n_vectors + v] is feature j, vector v. */
const double *ao_logreg_coef(const ao_logreg *m);
/* n_vectors intercepts (zeros without fit_intercept). */
const double *ao_logreg_intercept(const ao_logreg *m);
int ao_logreg_n_iter(const ao_logreg *m);
/* The final objective L (see above). */
double ao_logreg_loss(const ao_logreg *m);
/* Max-norm of the gradient of L / C at the solution. */
double ao_logreg_gnorm(const ao_logreg *m);
/* 1 when the tol or relative-reduction test stopped the solver. */
int ao_logreg_converged(const ao_logreg *m);
/* enum ao_lbfgs_status of the fit. */
int ao_logreg_status(const ao_logreg *m);

/* Appends the model to b (a payload for one ao_modelfile section):
 * little-endian and versioned; the model file adds the checksum.
 * Returns AO_OK, or AO_EMEM when b ran out of memory. */
int ao_logreg_save(const ao_logreg *m, ao_buf *b) AO_WUR;
/* Reads a payload written by ao_logreg_save. AO_EDATA if malformed. */
int ao_logreg_load(ao_cursor *c, ao_logreg **out, ao_err *err) AO_WUR;

void ao_logreg_destroy(ao_logreg *m);

#endif
