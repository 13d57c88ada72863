/* fileio.h — outputs that appear whole or not at all.
 *
 * Every tool writes into a temporary name beside the destination and
 * renames it into place only when complete, so an interrupted or failed
 * run never leaves a partial file or directory behind.
 */
#ifndef AGENTOMICS_FILEIO_H
#define AGENTOMICS_FILEIO_H

#include <stdio.h>
#include <stddef.h>
#include "agentomics/error.h"

/* An output file: ao_outfile_open() creates "<path>.tmp.<pid>" (or uses
 * stdout for "-"); _commit() flushes, checks for write errors and renames;
 * _destroy() without commit removes the temporary. NULL-safe destroy. */
typedef struct ao_outfile {
    FILE *fp;
    char *path;
    char *tmp;      /* NULL for stdout */
    int committed;
} ao_outfile;

/* NULL with AO_EIO (naming the file) when the temporary cannot be created. */
ao_outfile *ao_outfile_open(const char *path, ao_err *err) AO_WUR;
/* AO_OK, or AO_EIO for a write error or a failed rename (the temporary is removed). */
int ao_outfile_commit(ao_outfile *of, ao_err *err) AO_WUR;
void ao_outfile_destroy(ao_outfile *of);

/* An output directory built under "<dir>.tmp.<pid>" and renamed into
 * place by _commit(). An existing destination is an error unless
 * `replace` is set, in which case it is swapped out atomically and then
 * deleted. _destroy() without commit deletes the temporary tree. */
typedef struct ao_outdir {
    char *path;
    char *tmp;
    int replace;
    int committed;
} ao_outdir;

/* NULL with AO_EUSAGE (exists and !replace) or AO_EIO. */
ao_outdir *ao_outdir_create(const char *path, int replace, ao_err *err) AO_WUR;
/* Returns a malloc'd "<tmpdir>/<rel>" and creates its parent directories. */
char *ao_outdir_path(ao_outdir *od, const char *rel, ao_err *err) AO_WUR;
int ao_outdir_commit(ao_outdir *od, ao_err *err) AO_WUR;
void ao_outdir_destroy(ao_outdir *od);

int ao_mkdir_p(const char *path, ao_err *err) AO_WUR;
/* Removes a file or directory tree; missing paths are fine. */
int ao_rm_rf(const char *path);
/* Reads a whole (plain) file; *len gets its size; result is NUL-terminated. */
char *ao_read_file(const char *path, size_t *len, ao_err *err) AO_WUR;
/* malloc'd "a/b" */
char *ao_path_join(const char *a, const char *b);
int ao_file_exists(const char *path);
int ao_is_dir(const char *path);

/* The directory of the installed data files named sub ("prompts",
 * "schemas"): $AGENTOMICS_<SUB> (e.g. AGENTOMICS_PROMPTS) when set, else
 * EXEDIR/../sub (a source tree: bin/../prompts), else
 * EXEDIR/../share/agentomics/sub (an installed prefix moved elsewhere), else
 * the compiled-in AO_DATADIR/sub. malloc'd; NULL with AO_EIO naming the
 * places looked at. */
char *ao_share_dir(const char *sub, ao_err *err) AO_WUR;

#endif
