/* wsfs.h — the agent's file tools, confined to its workspace.
 *
 * The model names files as the sandbox shows them: "/workspace/x" (or a
 * relative "x") is the writable workspace, "/data/x" the read-only agent
 * data. Anything else is refused, as are ".." components, empty
 * components, NUL bytes, and every symbolic link on the way (each
 * component is opened with O_NOFOLLOW below the root's descriptor, so a
 * link planted by a sandboxed command cannot lead outside). Writes go to
 * a temporary name and are renamed into place.
 *
 * Errors meant for the model (bad path, no such file, text not found) are
 * AO_EDATA with a one-line message; AO_EMEM/AO_EIO are real failures.
 */
#ifndef AGENTOMICS_WSFS_H
#define AGENTOMICS_WSFS_H

#include <stddef.h>
#include "agentomics/error.h"

typedef struct ao_wsfs {
    const char *workspace;      /* host directory shown as /workspace (read-write) */
    const char *data;           /* host directory shown as /data (read-only); NULL: none */
    size_t max_read;            /* bytes returned by one read [65536] */
    size_t max_write;           /* bytes accepted by one write [1048576] */
} ao_wsfs;

/* read_file: lines first..last (1-based, inclusive; last <= 0: to the end),
 * each prefixed "N\t"; stops at max_read bytes with a note naming the next
 * line to ask for. *text malloc'd. */
int ao_wsfs_read(const ao_wsfs *w, const char *path, long first, long last, char **text, ao_err *err) AO_WUR;
/* write_file: creates or replaces the file (parents created), mode 0644
 * (0755 when executable). Workspace only. */
int ao_wsfs_write(const ao_wsfs *w, const char *path, const char *content, size_t len, int executable, ao_err *err) AO_WUR;
/* replace_in_file: replaces old by new_text; old must occur exactly
 * `expected` times (>= 1), else nothing changes and the count is reported.
 * Workspace only. */
int ao_wsfs_replace(const ao_wsfs *w, const char *path, const char *old, const char *new_text, int expected, ao_err *err) AO_WUR;
/* list_files: a tree of the directory to depth levels (>= 1), one entry
 * per line with sizes, "/" after directories and "@" after links (not
 * followed); at most 500 entries. *text malloc'd. */
int ao_wsfs_list(const ao_wsfs *w, const char *path, int depth, char **text, ao_err *err) AO_WUR;

/* Whether path names an existing regular file (opened O_NONBLOCK and
 * checked with fstat, so a FIFO or a device is refused at once, never
 * waited on; no link on the way). AO_OK, or AO_EDATA with a message that
 * names the sandbox path only. */
int ao_wsfs_check_file(const ao_wsfs *w, const char *path, ao_err *err) AO_WUR;

/* What the workspace holds, for its quota: the apparent bytes of its
 * regular files and its entries of every kind (files, directories,
 * links). The walk goes by descriptor, AO_WSFS_USAGE_DEPTH levels deep at
 * most; the first entry it cannot measure (nested deeper, or a directory
 * it cannot open) is named in odd by its sandbox path, and counts as over
 * any quota: what cannot be measured cannot be carried either. */
#define AO_WSFS_USAGE_DEPTH 64
typedef struct ao_wsfs_usage {
    long long bytes;
    long entries;
    char odd[512];              /* "" when everything was measured */
} ao_wsfs_usage;
/* AO_OK, or AO_EIO when the workspace itself cannot be opened. */
int ao_wsfs_measure(const ao_wsfs *w, ao_wsfs_usage *u, ao_err *err) AO_WUR;

/* The host path of a sandbox path (same rules; the file need not exist).
 * *writable: 1 for workspace paths. malloc'd, NULL on error. */
char *ao_wsfs_host_path(const ao_wsfs *w, const char *path, int *writable, ao_err *err) AO_WUR;

#endif
