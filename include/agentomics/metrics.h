/* metrics.h — the trusted scorer: classification metrics that match
 * scikit-learn, and the join of a prediction file with a labels file.
 *
 * Definitions (each checked against scikit-learn 1.2 to 1e-9 by
 * tests/unit/test_metrics.c; fixtures made by tests/data/metrics/make_fixtures.py):
 *
 * - Predicted class = argmax of the row's probabilities (the first maximum
 *   on ties), as numpy.argmax. The prediction file's `prediction` column is
 *   informational: it must name a known class, but it is not used.
 * - accuracy, balanced_accuracy (mean recall over the classes present
 *   among the true labels), mcc (sklearn matthews_corrcoef, multiclass
 *   form; 0 when undefined), f1_macro (sklearn f1_score average="macro":
 *   the mean over the classes that occur among the true or the predicted
 *   labels; 0/0 precision or recall counts as 0).
 * - log_loss: probabilities clipped to [eps, 1 - eps] with eps = DBL_EPSILON,
 *   each row renormalised to sum 1, then the mean of -log p(true class)
 *   (sklearn log_loss with eps="auto" and labels = all classes).
 * - auroc / auprc: binary (K = 2): of class index 1, the positive class,
 *   scored by its probability column. Multiclass: the unweighted mean of
 *   the one-vs-rest values over all K classes. AUROC is the exact
 *   Mann-Whitney statistic with ties counted one half (= sklearn
 *   roc_auc_score); AUPRC is average precision with one threshold per
 *   distinct score (= sklearn average_precision_score).
 * - Classes without positive rows among the true labels (as sklearn):
 *   their one-vs-rest AUROC is undefined (sklearn raises), so the class's
 *   auroc is NaN and so is the multiclass macro AUROC (and the binary AUROC
 *   when the labels hold one class only); their average precision is 0 and
 *   counts as 0 in the macro AUPRC. Undefined values are NaN in the struct,
 *   null in JSON and "NA" in text, and each one is explained in the JSON
 *   "warnings" array.
 */
#ifndef AGENTOMICS_METRICS_H
#define AGENTOMICS_METRICS_H

#include <stdio.h>
#include <stddef.h>
#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/tsv.h"

typedef struct ao_metrics {
    size_t n;              /* rows scored */
    int n_classes;         /* K >= 2 */
    char **classes;        /* K class names (owned) */
    /* Headline metrics; NaN when undefined. */
    double accuracy, balanced_accuracy, auroc, auprc, f1_macro, mcc, log_loss;
    /* Per class, K each. */
    double *precision, *recall, *f1;
    double *auroc_class, *auprc_class;   /* one-vs-rest */
    long *support;         /* rows whose true class is k */
    long *predicted;       /* rows predicted as k */
    long *confusion;       /* K*K counts: confusion[true * K + predicted] */
    /* Binary only: the decision threshold the predicted class came from
     * (class 1 when its probability is >= threshold); NaN: the argmax. */
    double threshold;
} ao_metrics;

/* Scores n rows: y_true[i] in [0, K), prob is row-major n x K (rows need
 * not sum exactly to 1; see log_loss). classes: K names, or NULL for
 * "0", "1", ... NULL on error (AO_EDATA: no rows, a non-finite
 * probability; AO_EUSAGE: K < 2 or a class index out of range). */
ao_metrics *ao_metrics_compute(size_t n, int n_classes, const char *const *classes,
                               const int *y_true, const double *prob, ao_err *err) AO_WUR;
/* The same with the predicted class of a binary task taken from a
 * decision threshold in (0, 1): class 1 when prob[i][1] >= threshold.
 * NaN: the argmax (ao_metrics_compute). AO_EUSAGE for a threshold with
 * more than two classes or outside (0, 1). Ranking metrics and log loss
 * do not depend on it. */
ao_metrics *ao_metrics_compute_at(size_t n, int n_classes, const char *const *classes,
                                  const int *y_true, const double *prob, double threshold, ao_err *err) AO_WUR;

/* 1 when metric's value depends on the predicted class (mcc, f1_macro,
 * accuracy, balanced_accuracy), 0 for the ranking metrics and others. */
int ao_metric_needs_threshold(const char *metric);

/* Chooses a binary decision threshold on scored rows (y[i] in {0, 1},
 * prob n x 2 row-major) that maximises metric (one that needs a
 * threshold). Candidates are the midpoints of consecutive distinct values
 * of prob[i][1]; ties go to the candidate closest to 0.5, then to the
 * lower one. *best is its value; *at_argmax the metric of the argmax
 * decision. *threshold is the candidate when it beats the argmax
 * strictly, else NaN (keep the argmax; also when there are fewer than two
 * distinct values). Returns AO_OK, AO_EUSAGE for a metric without a
 * threshold, AO_EDATA for no rows, AO_EMEM. */
int ao_threshold_choose(size_t n, const int *y, const double *prob, const char *metric, double *threshold, double *best,
                        double *at_argmax, ao_err *err) AO_WUR;
/* The threshold metric `metric` of binary rows decided as agentomics-predict
 * decides them: class 1 when prob[i][1] >= threshold, the argmax when
 * threshold is NaN. NaN for a metric without a threshold or no rows. */
double ao_threshold_metric(size_t n, const int *y, const double *prob, const char *metric, double threshold);

/* 1 when t can decide a model's classes: a number strictly inside (0, 1)
 * (so not NaN or infinite) of a two-class model. */
static inline int ao_threshold_usable(double t, int n_classes) { return n_classes == 2 && t > 0 && t < 1; }

/* What ao_threshold_decide found. */
typedef struct ao_threshold_decision {
    double threshold;        /* the decision: the chosen candidate if confirmed, else NaN (the argmax) */
    double chosen;           /* the candidate ao_threshold_choose returned on the choosing rows (NaN: none beat the argmax) */
    double best, at_argmax;  /* the metric on the choosing rows: the best candidate's, the argmax's */
    double confirm;          /* on the confirming rows: with the candidate (NaN: no candidate or no rows) */
    double confirm_argmax;   /* ... with the argmax */
} ao_threshold_decision;

/* The decision-threshold rule (README "Decision thresholds"): a threshold
 * chosen with ao_threshold_choose on (n, y, prob) is kept only when the
 * confirming rows (nc, yc, pc; nc 0: none, and the choice stands), which
 * it was not chosen on, score it strictly above the argmax
 * (ao_threshold_metric). Returns ao_threshold_choose's codes. */
int ao_threshold_decide(size_t n, const int *y, const double *prob, size_t nc, const int *yc, const double *pc, const char *metric,
                        ao_threshold_decision *d, ao_err *err) AO_WUR;
void ao_metrics_destroy(ao_metrics *m);
/* The headline metric called name (accuracy, balanced_accuracy, auroc,
 * auprc, f1_macro, mcc, log_loss); NaN for another name or when undefined. */
double ao_metrics_value(const ao_metrics *m, const char *name);

/* All metrics as a JSON object with a fixed key order:
 *   n, n_classes, task ("binary"|"multiclass"), classes, positive_class
 *   (null when multiclass), average ("binary"|"macro-ovr"), accuracy,
 *   balanced_accuracy, auroc, auprc, f1_macro, mcc, log_loss,
 *   per_class {name: {precision, recall, f1, support, predicted, auroc,
 *   auprc}}, confusion_matrix (rows = true class, columns = predicted
 *   class, in `classes` order), warnings [strings].
 * NULL only when out of memory. */
json_t *ao_metrics_json(const ao_metrics *m);

/* A human-readable table of the same. AO_OK or AO_EIO on a write error. */
int ao_metrics_print(FILE *fp, const ao_metrics *m);

/* Joins a prediction table (`id`, `prediction`, `probability_<class>` for
 * every class, optionally `threshold`; other columns ignored) with a
 * labels table (`id`, `label`; other columns ignored) on id and scores it.
 * A `threshold` column (written by a model that declares a decision
 * threshold, predfile.h) makes the scorer score the `prediction` column:
 * it must hold one value on every row, a finite number in (0, 1), the
 * task must be binary, and each row's prediction must be the second class
 * exactly when its probability is >= the threshold (else AO_EDATA naming
 * the line); without it the predicted class is the argmax. Classes = the
 * probability_<class> columns in file order (at least two). Rows are scored
 * in the labels file's order. AO_EDATA with "FILE:LINE: problem" on: a
 * missing column, an empty, duplicate, missing or extra id, a label or a
 * prediction that is not one of the classes, a probability that is not a
 * number, not finite or outside [0, 1], a row whose probabilities do not
 * sum to 1 within 1e-3, a labels file without rows. */
ao_metrics *ao_metrics_from_tables(const ao_tsv *pred, const ao_tsv *labels, ao_err *err) AO_WUR;
/* Loads both files (plain or gzip, "-" = stdin for one of them) and
 * calls ao_metrics_from_tables(). */
ao_metrics *ao_metrics_from_files(const char *pred_path, const char *labels_path, ao_err *err) AO_WUR;
/* The same, as the JSON of ao_metrics_json(); *out is the caller's. */
int ao_score_files(const char *pred_path, const char *labels_path, json_t **out, ao_err *err) AO_WUR;

/* Scored rows without the metrics: the join ao_metrics_from_files()
 * makes, for curves (the report's ROC, precision-recall and calibration
 * plots). classes owned; y[n] class indices; prob n x K row-major. */
typedef struct ao_scored {
    size_t n;
    int n_classes;
    char **classes;
    int *y;
    double *prob;
} ao_scored;

/* The join and checks of ao_metrics_from_files() (same errors). */
int ao_scored_from_files(const char *pred_path, const char *labels_path, ao_scored *s, ao_err *err) AO_WUR;
void ao_scored_clear(ao_scored *s);   /* NULL-safe; zeroes */

/* Class k against the rest, one point per distinct probability of class
 * k (ties one point), highest threshold first. ROC: (fpr, tpr) from
 * (0, 0) to (1, 1); NaN rates when a side has no rows. Precision-recall:
 * (recall, precision), no (0, 1) start point. Arrays are the caller's.
 * AO_EMEM, or AO_EUSAGE for k out of range. */
int ao_roc_curve(const ao_scored *s, int k, double **fpr, double **tpr, size_t *n, ao_err *err) AO_WUR;
int ao_pr_curve(const ao_scored *s, int k, double **recall, double **precision, size_t *n, ao_err *err) AO_WUR;

/* Reliability over `bins` equal-width bins of [0, 1]: two classes, the
 * positive class's probability against the positive fraction; more, the
 * top class's probability against the fraction predicted right. Per bin:
 * the mean probability, the observed fraction (NaN when empty), the rows. */
void ao_calibration(const ao_scored *s, int bins, double *mean_pred, double *frac, long *count);

#endif
