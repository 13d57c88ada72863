/* split.h — the split step: a stratified, seeded train/validation split
 * that keeps exact duplicate sequences on one side, the normalised TSV
 * writer for its two halves, and a stratified mini subset for smoke runs.
 *
 * Duplicates: rows whose sequence columns are all identical (byte for
 * byte, after the reader's upper-casing) form a group; a split assigns
 * whole groups, so no validation sequence also occurs in training.
 */
#ifndef AGENTOMICS_SPLIT_H
#define AGENTOMICS_SPLIT_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/error.h"
#include "agentomics/data.h"

/* Groups of identical rows (every sequence column equal). group[i] (n
 * entries, the caller's array) gets the row's group number, numbered
 * 0, 1, ... in order of each group's first row; *n_groups the number of
 * groups. Exact: hashes (ao_hash64) only pick candidates, contents are
 * compared. AO_OK or AO_EMEM. */
int ao_split_dup_groups(const ao_seqset *s, int64_t *group, int64_t *n_groups, ao_err *err) AO_WUR;

/* Stratified split of the labelled set s (s->y must be set).
 *
 * - valid_fraction in (0, 1): each class c gets round(rows_c *
 *   valid_fraction) validation rows, at least 1 and at most rows_c - 1
 *   when the class has >= 2 rows. Without duplicates this is exact, so
 *   every class is within +-1 of rows_c * valid_fraction.
 * - Duplicate groups go to one side whole. A group is stratified by its
 *   majority label (ties: the lowest class index). Groups are drawn in a
 *   seeded random order and a group is taken for validation while it
 *   fits the class's target; a repair pass then moves the smallest
 *   suitable group when a class with >= 2 rows has no row on one side.
 * - A class with a single row goes to training (a warning in the report).
 *   A class with >= 2 rows that cannot have a row on both sides (e.g. all
 *   its rows are one duplicate group) is an AO_EDATA error.
 * - Every row is used exactly once; both index lists are ascending.
 *   Deterministic given seed.
 *
 * Outputs (the caller frees *train_idx and *valid_idx with free() and
 * *report with json_decref()): row indices into s, and a report (report
 * may be NULL if not wanted):
 *   {"valid_fraction": f, "seed": seed, "n_train": n, "n_valid": n,
 *    "class_counts": {"train": {"<class>": n, ...}, "valid": {...}},
 *    "duplicate_groups_kept_together": groups with >= 2 rows,
 *    "duplicate_rows": rows beyond the first of their group,
 *    "warnings": ["..."]}
 * Class keys are the class indices in decimal ("0", "1", ...), since s
 * carries no names; ao_split_report_name_classes() renames them.
 * Returns AO_OK, AO_EUSAGE (no labels, fraction outside (0, 1), fewer
 * than 2 rows), AO_EDATA (see above) or AO_EMEM. */
int ao_split_stratified(const ao_seqset *s, double valid_fraction, uint64_t seed,
                        int64_t **train_idx, int64_t *n_train, int64_t **valid_idx, int64_t *n_valid,
                        json_t **report, ao_err *err) AO_WUR;

/* The selection slice (prepare-data): a stratified part of a labelled
 * pool that no agent-written code and no agent tool ever sees, scored by
 * train-run to choose iterations and lineages (see prepare.h).
 *
 * Each class gets round(rows_c * fraction) rows, at least 2, and the
 * slice is carved only when every class has >= AO_SELECTION_MIN_CLASS_ROWS
 * rows; duplicate groups stay whole (slice or agent side),
 * so no slice sequence also occurs in the rest of the pool. Deterministic
 * given seed.
 *
 * AO_OK with sel_idx and keep_idx (ascending, the caller frees both) set;
 * or AO_OK with both NULL and why (a message) when no slice can be made
 * (a small class, a single class, duplicate groups that cannot be
 * divided). AO_EUSAGE (no labels, fraction outside (0, 1)), AO_EMEM. */
#define AO_SELECTION_MIN_CLASS_ROWS 10
int ao_split_selection(const ao_seqset *s, double fraction, uint64_t seed, int64_t **keep_idx, int64_t *n_keep,
                       int64_t **sel_idx, int64_t *n_sel, char *why, size_t why_size, ao_err *err) AO_WUR;

/* Replaces the class-index keys of a split report's class_counts by the
 * class names of info (in class order). AO_OK, or AO_EMEM. */
int ao_split_report_name_classes(json_t *report, const ao_dataset_info *info) AO_WUR;

/* Writes rows idx[0..n) of s as a normalised TSV: header `id`, the
 * sequence columns named info->seq_cols, then `label` (class names from
 * info; the column is left out when s has no labels). Written to
 * "<path>.tmp.<pid>" and renamed when complete ("-" = stdout). AO_EDATA
 * for an id containing a tab or newline, or a class index outside info;
 * AO_EUSAGE when s and info disagree on the sequence columns; AO_EIO,
 * AO_EMEM. */
int ao_split_write(const ao_seqset *s, const int64_t *idx, int64_t n, const ao_dataset_info *info,
                   const char *path, ao_err *err) AO_WUR;

/* A stratified mini subset for smoke runs: min(per_class, rows of the
 * class) rows of every class, drawn with the seed; *idx (ascending, the
 * caller's to free) and *n. Returns AO_OK, AO_EUSAGE (no labels,
 * per_class < 1) or AO_EMEM. */
int ao_split_mini(const ao_seqset *s, int64_t per_class, uint64_t seed, int64_t **idx, int64_t *n) AO_WUR;

#endif
