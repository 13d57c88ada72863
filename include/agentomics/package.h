/* package.h — the model package: a byte-reproducible gzip-compressed tar
 * holding the best iteration's model, and its verified extraction.
 *
 * Members (ustar; a pax header only for paths over 100 bytes), in this order:
 *   manifest.json     first, so a reader knows every member before it sees it
 *   then, sorted by path (bytewise):
 *   environment.json  tool version, model kind, entry points, interpreter
 *   history.json      the state's history without wall-clock fields
 *   model/...         every regular file of the best run's model directory,
 *                     or of an ensemble: model/ensemble.json and each
 *                     member's model directory as model/members/N/
 *   recipe.json       a copy of model/recipe.json (when the model has one)
 *   report.md         the run in Markdown (iterations table, best, feedback)
 * No directory entries; mtime 0, uid/gid 0, no owner names, mode 0644; the
 * gzip header carries no timestamp or name; JSON is written with sorted
 * keys. The same inputs therefore give the same bytes.
 *
 * manifest.json: {"format_version": 1, "tool": "agentomics VERSION",
 *   "dataset_hash", "task", "classes", ["positive_class",
 *   "sequence_columns"], "best_iteration", "best_run", "metric",
 *   "model_kind" ("ensemble" for an ensemble), "validation_metrics" (of
 *   the best run), "ensemble" (what was decided: {"kept", "reason",
 *   "candidates", and when it was tried "metric", "valid", "selection",
 *   "selection_best_single", "selection_difference_sd", "members": [{"run", "iteration", "weight",
 *   "dir"}]}), "recipe" (of the best run; object or null),
 *   "model_entry": "model/", "files": {"member path": "sha256 hex", ...}}
 * ("files" covers every member except manifest.json itself).
 */
#ifndef AGENTOMICS_PACKAGE_H
#define AGENTOMICS_PACKAGE_H

#include <jansson.h>
#include "agentomics/error.h"

#define AO_PACKAGE_FORMAT_VERSION 1
/* Extraction stops with AO_EDATA once the members written exceed this many
 * MB (a decompression bomb); $AGENTOMICS_MAX_EXTRACT_MB overrides it. */
#define AO_PACKAGE_MAX_EXTRACT_MB 16384
/* Bounds on what a package may list: members, path components per member
 * and bytes per path (every component also at most NAME_MAX bytes). */
#define AO_PACKAGE_MAX_MEMBERS 100000
#define AO_PACKAGE_MAX_DEPTH 32
#define AO_PACKAGE_MAX_PATH 1024
#define AO_STR_(x) #x
#define AO_STR(x) AO_STR_(x)

typedef struct ao_package_opts {
    const char *state_dir;        /* agent state: run.json, history.json */
    const char *const *run_dirs;  /* candidate run directories (train-run outputs) */
    int n_runs;
    const char *out;              /* MODEL.tar.gz */
    int force;                    /* replace an existing output file */
    const char *data_dir;         /* the agent data directory (dataset.json: classes, positive
                                   * class, sequence columns), checked against the run's content
                                   * hash; NULL: run.json's data.dir, which a workflow engine's
                                   * staging may not reproduce (then a warning, and the class
                                   * list from the best run, without positive class or columns) */
    /* An ensemble of the lineage's best builtin runs (ensemble.h) is
     * packaged instead of the single best model when greedy selection on
     * the agent's validation rows picks two or more and the selection
     * slice confirms it. ensemble_max: at most this many members (< 2:
     * no ensemble); selection_dir: the slice (selection.tsv; NULL: the
     * data directory's ../selection when it exists, else no ensemble). */
    int ensemble_max;
    const char *selection_dir;
    int threads;                  /* prediction threads for the ensemble check (>= 1) */
} ao_package_opts;

/* Packages the run whose directory basename is history.json's best.run_id.
 * AO_EDATA: no best iteration, best run not among run_dirs, run failed or
 * has no model, no class list (dataset.json or metrics.json), malformed
 * JSON, a data_dir of another dataset. AO_EIO: unreadable inputs (a
 * data_dir without dataset.json), unwritable output. AO_EUSAGE: the
 * output exists and !force. The output appears whole or not at all. */
int ao_package_write(const ao_package_opts *o, ao_err *err) AO_WUR;

/* A verified, extracted package in a private temporary directory. */
typedef struct ao_pkg_tmp {
    char *dir;         /* mkdtemp() directory under $TMPDIR (or /tmp) */
    char *model_dir;   /* dir + "/model": what ao_predict_file() takes */
    json_t *manifest;  /* the parsed manifest.json (owned) */
    int cleanup;       /* dir's slot in the signal cleanup list (fileio.h), or -1 */
} ao_pkg_tmp;

/* Reads a package (gzip tar or plain tar) and extracts it into a new
 * private temporary directory, hashing every member as it is written.
 * Refuses with AO_EDATA (and removes everything it wrote): a missing or
 * non-first manifest.json, an unknown format_version, absolute paths, '..'
 * or other non-canonical path components, paths past the bounds above
 * (more members, components or bytes; a component longer than NAME_MAX),
 * symlink, hardlink, device, fifo or sparse members, duplicate members,
 * members the manifest does not list, directory entries that no listed
 * member needs, listed files the archive lacks, sha256 mismatches
 * (tampering) and corrupt or truncated archives. Files are created with
 * O_EXCL|O_NOFOLLOW below the fresh directory, so nothing outside it is
 * touched. Returns NULL on error. */
ao_pkg_tmp *ao_package_open(const char *archive, ao_err *err) AO_WUR;
/* Removes the temporary directory and frees t. NULL-safe. */
void ao_pkg_tmp_destroy(ao_pkg_tmp *t);

/* For tools taking --model: a directory is used as is (*model_dir = a
 * copy of model_arg, *tmp = NULL); a file is opened as a package
 * (*model_dir = the extracted model directory, *tmp = the handle to give
 * to ao_pkg_tmp_destroy() when done). Returns AO_OK or an error code. */
int ao_model_path_resolve(const char *model_arg, char **model_dir, ao_pkg_tmp **tmp, ao_err *err) AO_WUR;

/* Wall-clock keys (run times, memory peaks, timestamps) are dropped from
 * packaged JSON: "seconds", "*_seconds", "duration", "started",
 * "finished", "started_at", "finished_at", "timestamp", "peak_rss_mb",
 * "peak_rss_kb". Returns 1 for such a key. */
int ao_package_is_clock_key(const char *key);
/* Removes clock keys at any depth, in place. */
void ao_package_strip_clock(json_t *j);

#endif
