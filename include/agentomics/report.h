/* report.h — the run's report (agentomics-report): report.html, a
 * self-contained page (inline CSS and SVG plots, no network, no external
 * script), report.md, its text twin with the same numbers, and
 * agentomics_mqc.json plus agentomics_general_stats_mqc.json, MultiQC
 * custom content.
 *
 * It reads a results folder as both workflows write it (every file is
 * optional except one lineage's state; what is missing is left out of the
 * report and said so):
 *   data/agent/dataset.json, data/agent/train.tsv   the dataset, its QC counts
 *   data/heldout/test.json, data/heldout/test.tsv   the held-out test (labels)
 *   lineages.json                                   agentomics-select's choice
 *   lineage<L>/iter<I>/{decided,reflected,analyzed,agent}/
 *                                                   the states; the last
 *                                                   iteration's most advanced one
 *                                                   is the lineage's final state
 *   lineage<L>/runs/<run id>/                       metrics.json, predictions.valid.tsv,
 *                                                   learning_curve.tsv (train-run)
 *   test_metrics.json, test_predictions.tsv         agentomics-evaluate, -predict
 *
 * Sections: summary, QC flags (train/test and train/validation overlap,
 * the test metric again without the test rows whose sequence is in train,
 * duplicates, conflicting labels, class imbalance, N-rich sequences,
 * length outliers), dataset profile, search progress (per lineage and
 * iteration, with what changed), learning curves, the chosen model on
 * validation, selection and test (ROC, precision-recall, confusion,
 * calibration, per class), LLM usage. A run metrics.json "selection"
 * object (the shape of "valid") adds a selection column wherever
 * validation metrics are shown.
 */
#ifndef AGENTOMICS_REPORT_H
#define AGENTOMICS_REPORT_H

#include "agentomics/error.h"

typedef struct ao_report_opts {
    const char *results;   /* the results folder */
    const char *out_dir;   /* where the files go; NULL: results */
    const char *title;     /* the dataset's name; NULL: results' basename */
    int mqc;               /* also write the MultiQC custom content files */
} ao_report_opts;

/* The overlap share of the test set at or above which the test metric is
 * flagged red (may be inflated); any overlap below it is amber. */
#define AO_REPORT_OVERLAP_RED 0.01

/* Writes OUT/report.html and OUT/report.md (and the MultiQC files), each
 * whole or not at all. AO_EDATA: no lineage state in the folder, a state
 * or JSON file that does not parse; AO_EIO; AO_EMEM. */
int ao_report_write(const ao_report_opts *o, ao_err *err) AO_WUR;

#endif
