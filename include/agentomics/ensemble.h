/* ensemble.h — a weighted average of builtin models, chosen by greedy
 * ensemble selection and kept only when the selection slice confirms it.
 *
 * An ensemble model directory holds ensemble.json and one builtin model
 * directory per member below members/ (members/1, members/2, ...):
 *
 *   {"format_version": 1,
 *    "members": [{"dir": "members/1", "weight": 0.6, "run": "iter3", "iteration": 3}, ...],
 *    "threshold": 0.43}
 *
 * ("run" and "iteration" say where a member came from; they are not used
 * to predict). Its predicted probabilities are the weighted mean of the
 * members' (weights sum to 1); the predicted class is their argmax, or for
 * a two-class ensemble with a "threshold" (optional; null or absent: the
 * argmax) the positive class when its probability is >= the threshold.
 * The members' own thresholds are not used. Members are builtin models only (model.h): an ensemble is
 * built in process from model files, never from agent-written scripts.
 *
 * The directory is hostile input like any model (a package can be edited
 * and re-hashed): ensemble.json is a regular file of at most
 * AO_ENSEMBLE_MAX_JSON bytes; format_version 1; 2..AO_ENSEMBLE_MAX_MEMBERS
 * members, each "dir" exactly "members/N" (N = 1..AO_ENSEMBLE_MAX_MEMBERS,
 * no two alike: nothing outside the directory is reachable) and a finite
 * weight in (0, 1]; the weights sum to 1 within 1e-6; a threshold is a
 * number in (0, 1) and only in a two-class ensemble; every member loads
 * (ao_model_load's own checks) and has the first member's classes and
 * sequence columns, in the same order.
 */
#ifndef AGENTOMICS_ENSEMBLE_H
#define AGENTOMICS_ENSEMBLE_H

#include <stddef.h>
#include "agentomics/data.h"
#include "agentomics/error.h"
#include "agentomics/model.h"

#define AO_ENSEMBLE_FILE "ensemble.json"
#define AO_ENSEMBLE_MAX_MEMBERS 16
#define AO_ENSEMBLE_MAX_JSON (1 << 20)

typedef struct ao_ensemble ao_ensemble;

/* 1 when dir holds ensemble.json (of any kind: ao_ensemble_load checks it). */
int ao_ensemble_is(const char *dir);
/* Loads and checks an ensemble directory (see above). NULL with err set:
 * AO_EIO (unreadable), AO_EDATA naming the file and the problem, AO_EMEM. */
ao_ensemble *ao_ensemble_load(const char *dir, ao_err *err) AO_WUR;
void ao_ensemble_destroy(ao_ensemble *e);   /* NULL-safe */
/* The members' common dataset schema. */
const ao_dataset_info *ao_ensemble_info(const ao_ensemble *e);
int ao_ensemble_n_members(const ao_ensemble *e);
/* The binary decision threshold, NaN for the argmax. */
double ao_ensemble_threshold(const ao_ensemble *e);
/* Weighted mean of the members' probabilities for every row of s (s->n x
 * n_classes, row-major). AO_OK, or the first member's error. */
int ao_ensemble_predict(const ao_ensemble *e, const ao_seqset *s, int threads, double *proba, ao_err *err) AO_WUR;

/* Greedy ensemble selection with replacement (Caruana et al., ICML 2004)
 * on held-back rows: n rows with labels y, proba[c] the n x K
 * probabilities of candidate c (c < n_cand). Starts from the best single
 * candidate and adds, `rounds` times, the candidate whose addition gives
 * the best metric of the running mean (higher is better; ties: the lower
 * log loss, then the lower index), at most max_members distinct
 * candidates; the best prefix is kept (ties: the shorter). weights[c]
 * (n_cand values) = times chosen / prefix length. Deterministic.
 * Returns the number of distinct candidates with a weight (>= 1), or < -1:
 * AO_EUSAGE (a metric the scorer does not know, n_cand < 1), AO_EMEM,
 * the scorer's AO_EDATA. */
int ao_ensemble_select(int n_cand, size_t n, int n_classes, const int *y, const double *const *proba, const char *metric,
                       int max_members, int rounds, double *weights, ao_err *err) AO_WUR;

/* What ao_ensemble_choose decided. */
typedef struct ao_ensemble_choice {
    int kept;                 /* 1: the weighted mean beat the reference on the selection rows */
    int n_members;            /* candidates with a weight (>= 1) */
    int single;               /* the reference: the candidate with the best validation value */
    double valid_value;       /* the weighted mean's metric on the validation rows */
    double selection_value;   /* ... on the selection rows */
    double single_value;      /* the reference's metric on the selection rows */
    double selection_sd;      /* paired bootstrap SD of the two selection values' difference */
    double threshold;         /* the weighted mean's binary decision threshold; NaN: the argmax */
    char reason[240];         /* why it was kept or not, in words */
} ao_ensemble_choice;

/* Paired bootstrap on the selection rows: resamples and seed. */
#define AO_ENSEMBLE_BOOTSTRAP 100
#define AO_ENSEMBLE_BOOTSTRAP_SEED 0x656e73656d626c65ULL

/* Greedy selection of weights on `valid` (labelled) for the loaded builtin
 * models[0..n_cand) (the caller's; candidate 0: the lineage's best model,
 * the one packaged without an ensemble), then the check that decides, on
 * `selection` (labelled rows no model was fit on): with two or more
 * members, the weighted mean is kept when its metric beats the
 * reference's, or trails it by no more than one standard deviation of the
 * difference over AO_ENSEMBLE_BOOTSTRAP paired bootstrap resamples of the
 * slice (a gap the slice cannot tell from noise; the mean of several good
 * models is the safer bet then). The reference is the single candidate
 * with the best validation value (out->single): chosen on the rows the
 * weights were chosen on, so the slice compares two choices made
 * elsewhere. Candidate 0 is not the reference by default because it was
 * chosen on the slice itself: as the best of many noisy values there, its
 * value is biased upwards (on GUE human TF 1, 11 runs on a 200-row
 * slice, the lineage's best beat the 3-model mean by 0.032 MCC there
 * while the mean scored higher on the held-out test). With a binary metric of
 * the predicted class the weighted mean gets its own decision threshold
 * (chosen on `valid`, kept only when `selection` scores it strictly above
 * the argmax) and every candidate is scored with its own (ao_model_threshold);
 * the greedy weights are chosen on the argmax. weights: n_cand values (0 for those left
 * out). Rounds: 2 x max_members, at least 10. Returns AO_OK (see
 * out->kept), or < -1: models of different schemas (AO_EDATA), a
 * prediction's error, AO_EMEM. */
int ao_ensemble_choose(int n_cand, const ao_model *const *models, const ao_seqset *valid, const ao_seqset *selection,
                       const char *metric, int max_members, int threads, double *weights, ao_ensemble_choice *out,
                       ao_err *err) AO_WUR;

#endif
