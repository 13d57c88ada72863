/* profile.h — the explore step's dataset profile: cheap numbers that say
 * what kind of model a dataset calls for (composition vs position-aware,
 * how imbalanced, how noisy), read by the builtin expert policy and shown
 * to the LLM agent.
 *
 * Cost: a few linear passes over the training set (about 0.1-0.2 s per
 * 10k sequences of 300 nt on one core); nothing is quadratic in the rows.
 * Deterministic given the seed (the only random parts are the 80/20
 * fit/evaluation draw of kmer_signal and the permutations of
 * positional_signal).
 *
 * Conventions used below: "first column" = sequence column 0 (the only one
 * for most tasks); bases are A, C, G, T, with U counted as T; any other
 * symbol (N, IUPAC codes) is "non-ACGT". GC fraction of a sequence =
 * (G + C) / (A + C + G + T) over its ACGT bases (sequences without ACGT
 * bases are left out of GC statistics). Numbers that are undefined
 * (e.g. a ratio over an empty class) are JSON null.
 *
 * The JSON object, in this key order:
 *
 *   "n_train"            rows in train
 *   "n_valid"            rows in valid (0 when valid is NULL)
 *   "n_classes"          K (from info)
 *   "classes"            [class names], class-index order
 *   "class_counts"       {class: rows in train}, class order
 *   "class_counts_valid" {class: rows in valid}, or null without valid
 *   "imbalance_ratio"    largest / smallest train class count (null when
 *                        a class has no train rows)
 *   "task"               "binary" (K == 2) or "multiclass"
 *   "n_seq_cols"         sequence columns per row
 *   "length"             one object per sequence column, train rows:
 *                        {"min", "median", "max", "mean", "cv" (standard
 *                        deviation / mean, population sd; 0 when fixed),
 *                        "fixed" (true when every length is equal)}
 *   "alphabet"           first column, train: {"non_acgt_fraction" (of all
 *                        symbols), "rows_with_non_acgt_fraction" (of rows)}
 *   "gc_by_class"        {class: mean per-sequence GC fraction}, first column
 *   "gc_separability"    how well GC content alone ranks the classes: AUROC
 *                        of per-sequence GC, folded to >= 0.5 (max(a, 1-a)).
 *                        Binary: that AUROC; multiclass: the mean over the
 *                        classes of the folded one-vs-rest AUROC. 0.5 = no
 *                        signal, 1 = GC alone separates perfectly.
 *   "length_separability" the same for the first column's length (0.5
 *                        when lengths are fixed)
 *   "kmer_enrichment"    {class: [up to 10 of {"kmer", "k", "log2_odds",
 *                        "count", "rest_count"}]}: the k-mers (k = 4, 5
 *                        and 6 together, first column, windows with a
 *                        non-ACGT symbol skipped) most over-represented in
 *                        the class versus all other classes, best first.
 *                        count a = occurrences in the class (k-mers with
 *                        a < 5 are left out), rest_count b = in the other
 *                        classes; A, B = all k-mers of that k in the class
 *                        and in the rest; with p = A / (A + B) and 10
 *                        pseudo-occurrences spread by p,
 *                          log2_odds = log2( ((a + 10 p) / A) / ((b + 10 (1 - p)) / B) )
 *                        (the ratio of the k-mer's frequency in the class
 *                        to its frequency elsewhere; ~0 = not enriched; the
 *                        pseudocounts shrink rare k-mers toward 0). Only
 *                        k-mers with log2_odds > 0 are listed.
 *   "kmer_signal"        {"kmer_centroid_balanced_accuracy", "chance",
 *                        "n_fit", "n_eval"}: a quick estimate of what a
 *                        bag-of-k-mers model can reach. Train is split
 *                        80/20 within each class (seeded; a class with one
 *                        row is fit only); each row is the vector of its
 *                        3-mer and 4-mer frequencies (first column, each
 *                        block summing to 1), standardised with the fit
 *                        part's per-feature mean and sd; each evaluation
 *                        row goes to the class centroid of highest cosine
 *                        similarity; balanced accuracy = mean recall over
 *                        the classes present in the evaluation part.
 *                        chance = 1 / (those classes). null accuracy when
 *                        the evaluation part is empty. Linear models on
 *                        k-mer spectra usually do better than this.
 *   "positional_signal"  first column, train, sequences aligned at their
 *                        first base and cropped to length_used: per
 *                        position, the mutual information (bits, plug-in
 *                        estimate) between the symbol there (A/C/G/T/other)
 *                        and the class, over the rows long enough to reach
 *                        the position, weighted by the fraction of rows
 *                        that do (shorter rows are not padded, so length
 *                        carries no information here; length_separability
 *                        covers that):
 *                        {"length_used" (the median length, capped at
 *                         65536), "aligned" ("fixed" when all lengths are
 *                         equal, else "crop_pad"),
 *                         "class_entropy_bits" H(class),
 *                         "mi_sum_bits"      sum over positions,
 *                         "mi_permuted_bits" the same with the labels
 *                                            permuted once (seeded): the
 *                                            estimator's bias, ~ noise,
 *                         "mi_excess_bits"   mi_sum - mi_permuted (the
 *                                            headline: > 0 means the
 *                                            nucleotides at fixed positions
 *                                            carry class information),
 *                         "mi_composition_bits" the sum again after
 *                                            shuffling each sequence's
 *                                            symbols (within the window)
 *                                            among its positions (seeded):
 *                                            what composition alone explains,
 *                         "mi_positional_excess_bits" mi_sum -
 *                                            mi_composition: information
 *                                            tied to positions beyond
 *                                            composition (motifs at fixed
 *                                            offsets: position-aware models,
 *                                            e.g. CNNs, should help when
 *                                            this is clearly > 0),
 *                         "positional_snr"   mi_positional_excess /
 *                                            mi_permuted: the positional
 *                                            excess in units of the noise
 *                                            level, a significance measure
 *                                            (about 0 +- 1/sqrt(length_used)
 *                                            without positional signal;
 *                                            > 0.5 is clearly real; it grows
 *                                            with n_train, so use the bits
 *                                            above for the size of the
 *                                            effect; null when mi_permuted
 *                                            is 0),
 *                         "noise_floor_per_position_bits" mi_permuted /
 *                                            length_used,
 *                         "positional_mi_max" the largest per-position MI,
 *                         "positional_mi_max_position" its 0-based position,
 *                         "top_positions"    [5 of {"position" (0-based),
 *                                            "mi_bits"}], most informative
 *                                            first},
 *                        or null when the median length is 0.
 *   "duplicates"         train rows that repeat an earlier row exactly
 *                        (every sequence column identical): records beyond
 *                        the first of each group
 *   "duplicate_groups"   groups of identical train rows with >= 2 rows
 *   "conflicting_labels" of those groups, the ones whose rows carry more
 *                        than one label
 *   "valid_in_train"     valid rows identical to some train row (null
 *                        without valid)
 */
#ifndef AGENTOMICS_PROFILE_H
#define AGENTOMICS_PROFILE_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/data.h"

/* train: labelled (y set), >= 1 row; valid: may be NULL (labels optional);
 * both with info->n_seq_cols sequence columns. threads: accepted for
 * interface stability; the profile is single-threaded. Returns a new
 * JSON object (the caller's), or NULL with err set: AO_EUSAGE for an
 * unlabelled or empty train set, mismatched columns or a class index
 * outside info; AO_EMEM. */
json_t *ao_profile_compute(const ao_seqset *train, const ao_seqset *valid, const ao_dataset_info *info,
                           uint64_t seed, int threads, ao_err *err) AO_WUR;

/* The separability score used for gc_separability and
 * length_separability, exposed for tests and for the policy: folded AUROC
 * of score x for the labels y in [0, K) (mean one-vs-rest over classes
 * with rows on both sides; binary: the AUROC itself, folded). NaN when no
 * class has rows on both sides; -1.0 (and no result) when out of memory. */
double ao_profile_separability(const double *x, const int *y, int64_t n, int K);

#endif
