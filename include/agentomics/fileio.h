/* fileio.h — outputs that appear whole or not at all.
 *
 * Every tool writes into a temporary name beside the destination and
 * renames it into place only when complete, so an interrupted or failed
 * run never leaves a partial file or directory behind. A destination that
 * exists and is not a regular file (a character device such as /dev/null,
 * a FIFO, a link to /proc/self/fd/1) is written through instead: renaming
 * over it would replace the device or starve the reader. A symbolic link
 * to a regular file keeps the link: the file it names is replaced.
 *
 * Temporaries (the outputs' NAME.tmp.PID files and directories, and any
 * other scratch tree a module registers) are listed process-wide so that
 * the handler ao_cleanup_install() sets up for SIGTERM, SIGINT and SIGHUP
 * removes them before the process dies of the signal.
 */
#ifndef AGENTOMICS_FILEIO_H
#define AGENTOMICS_FILEIO_H

#include <stdio.h>
#include <stddef.h>
#include "agentomics/error.h"

/* An output file: ao_outfile_open() creates "<path>.tmp.<pid>" (or uses
 * stdout for "-", or opens an existing non-regular target such as a
 * device or FIFO for writing through); _commit() flushes, checks for
 * write errors and renames; _destroy() without commit removes the
 * temporary. NULL-safe destroy. */
typedef struct ao_outfile {
    FILE *fp;
    char *path;
    char *tmp;      /* NULL for stdout and for a target written through */
    int committed;
    int cleanup;    /* the temporary's slot in the signal cleanup list, or -1 */
} ao_outfile;

/* NULL with AO_EUSAGE for an empty name, AO_EIO (naming the file) when the
 * temporary or the non-regular target cannot be opened. */
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
    char *made;     /* the outermost parent directory this call created, or NULL */
    int replace;
    int committed;
    int cleanup;    /* the temporary's slot in the signal cleanup list, or -1 */
} ao_outdir;

/* NULL with AO_EUSAGE (an empty name; exists and !replace) or AO_EIO.
 * Parent directories are created as needed; a run that fails (destroy
 * without commit) removes those it created again. */
ao_outdir *ao_outdir_create(const char *path, int replace, ao_err *err) AO_WUR;
/* Returns a malloc'd "<tmpdir>/<rel>" and creates its parent directories. */
char *ao_outdir_path(ao_outdir *od, const char *rel, ao_err *err) AO_WUR;
int ao_outdir_commit(ao_outdir *od, ao_err *err) AO_WUR;
void ao_outdir_destroy(ao_outdir *od);

int ao_mkdir_p(const char *path, ao_err *err) AO_WUR;
/* Same; *made gets a malloc'd copy of the outermost directory it had to
 * create (NULL when every one existed), for undoing the call. */
int ao_mkdir_p_made(const char *path, char **made, ao_err *err) AO_WUR;
/* Removes a file or directory tree without following symbolic links;
 * missing paths are fine. The walk is openat()-relative and holds one
 * descriptor at a time, so trees deeper than PATH_MAX are removed too, and
 * it uses only async-signal-safe calls (the signal cleanup runs it).
 * AO_OK, or AO_EIO when something could not be removed. */
int ao_rm_rf(const char *path);
/* Same for the entry name of the open directory dirfd. */
int ao_rm_rf_at(int dirfd, const char *name);

/* ---- cleanup of temporaries on a fatal signal ----
 * A process-wide list (the one exception to "no globals": a signal
 * handler can reach nothing else). ao_cleanup_add() copies path into a
 * free slot and returns the slot (>= 0), or -1 when the list is full or
 * out of memory (the temporary then is simply not covered). Paths should
 * be absolute or stay valid relative to the working directory.
 * ao_cleanup_remove() forgets a slot (-1 is ignored). The handler removes
 * only what the process that registered it registered (a forked child
 * inherits the list but leaves its parent's temporaries alone), then dies
 * of the same signal, so the exit status still says what killed it. */
int ao_cleanup_add(const char *path);
/* The same for a cgroup directory the process made: the handler kills
 * every process in it (SIGKILL) and removes it, before any tree. */
int ao_cleanup_add_cgroup(const char *dir);
void ao_cleanup_remove(int slot);
/* Installs the handler for SIGTERM, SIGINT and SIGHUP (ao_cli_start does;
 * a signal that is ignored, e.g. SIGHUP under nohup, stays ignored). */
void ao_cleanup_install(void);
/* The longest line a text reader accepts: $AGENTOMICS_MAX_LINE_MB
 * megabytes when set to a positive integer, else AO_MAX_LINE_MB. */
#define AO_MAX_LINE_MB 1024
size_t ao_max_line_bytes(void);
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
