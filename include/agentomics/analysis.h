/* analysis.h — the analyze step: what the validation predictions say about
 * the model (where it errs, how well calibrated it is, how much it
 * overfits), as structured JSON for reflect (builtin or LLM).
 *
 * Predictions are read from the prediction files the model's inference
 * entry wrote (`id`, `prediction`, `probability_<class>` for every class
 * of info, any column order; other columns ignored) and joined to the
 * rows of the labelled set by id. As in metrics.h, the predicted class is
 * the argmax of the probabilities (first maximum on ties); the
 * `prediction` column must name a class but is not used; metrics are
 * those of ao_metrics_compute() (the trusted scorer), with the classes in
 * info's order.
 *
 * The JSON object, in this key order:
 *   "n"                  validation rows
 *   "classes"            [class names] (info order)
 *   "metrics"            ao_metrics_json() of the validation predictions
 *   "train_metrics"      the same for the training predictions, or null
 *   "confusion_matrix"   {"classes": [...], "matrix": [[...]]}: rows =
 *                        true class, columns = predicted class
 *   "most_confused"      up to 5 of {"true", "predicted", "count",
 *                        "fraction_of_true" (count / support of true)}:
 *                        the largest off-diagonal cells with count > 0,
 *                        largest first (ties: true, then predicted, in
 *                        class order)
 *   "per_class"          {class: {"recall", "precision", "f1", "support",
 *                        "predicted"}} (precision 0 when never predicted,
 *                        as metrics.h)
 *   "errors_by_length"   buckets of the first sequence column's length at
 *                        its quintiles: [{"min", "max", "n", "errors",
 *                        "error_rate"}], ascending; a bucket holds the
 *                        values v with q(j-1) < v <= q(j), where q(j) is
 *                        the ceil(j n / 5)-th smallest value (j = 1..4;
 *                        the last bucket takes the rest); empty buckets
 *                        (ties) are left out, so fixed-length data gives
 *                        one bucket; min/max are the bucket's own extremes
 *   "errors_by_gc"       the same for the GC fraction of the first column
 *                        ((G+C)/(A+C+G+T), U = T; 0 without ACGT bases)
 *   "calibration"        {"bins": 10 of {"lower", "upper", "count",
 *                        "mean_confidence", "accuracy"} over the max
 *                        probability in equal-width bins [0, 0.1), ...,
 *                        [0.9, 1] (means null for empty bins),
 *                        "ece": sum over bins of count / n *
 *                        |accuracy - mean_confidence|, "mce": the largest
 *                        such gap over non-empty bins,
 *                        "positive_class": binary only (else null):
 *                        {"class" (class index 1), "bins": 10 of {"lower",
 *                        "upper", "count", "mean_predicted",
 *                        "fraction_positive"} over that class's
 *                        probability, "ece"}}
 *   "confidence"         {"mean_max_prob_correct", "mean_max_prob_wrong"
 *                        (null when there are none), "n_correct",
 *                        "n_wrong"}
 *   "generalisation_gap" train minus validation, or null without training
 *                        predictions: {"accuracy", "auroc", "f1_macro",
 *                        "mcc", "log_loss"} (positive accuracy/AUROC/F1/MCC
 *                        gaps and a negative log-loss gap mean the model
 *                        fits training better; undefined values are null)
 * Numbers that are undefined are null.
 */
#ifndef AGENTOMICS_ANALYSIS_H
#define AGENTOMICS_ANALYSIS_H

#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/data.h"

/* valid: labelled validation rows; pred_tsv: their predictions (exactly
 * one row per validation id). train and train_pred_tsv: the training rows
 * (labelled) and their predictions, both NULL or both given. Returns a new
 * JSON object (the caller's) or NULL with err set: AO_EDATA with
 * "FILE:LINE: problem" for a prediction file that is malformed (missing
 * or extra probability_<class> column, a probability that is not a
 * number in [0, 1], rows not summing to 1 within 1e-3, an unknown
 * prediction) or whose ids do not match the set (an unknown or duplicate
 * id; a missing id names the file without a line); AO_EIO when a file
 * cannot be read; AO_EUSAGE for an unlabelled set, K < 2 or mismatched
 * arguments; AO_EMEM. */
json_t *ao_analysis_compute(const ao_seqset *valid, const ao_dataset_info *info, const char *pred_tsv,
                            const ao_seqset *train, const char *train_pred_tsv, ao_err *err) AO_WUR;

#endif
