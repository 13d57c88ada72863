/* sandbox.h — runs agent-written commands under bubblewrap.
 *
 * Inside: the system directories read-only (/usr and the merged-/usr
 * links, a short whitelist of /etc), a fresh /proc, a minimal /dev, a
 * private /tmp; only the mounts the caller lists, at the paths it names;
 * no network (all namespaces unshared, including the user namespace so
 * that RLIMIT_NPROC holds even when the caller is root); a new session;
 * every capability dropped; it dies with its parent. The environment is
 * built from scratch (PATH, HOME=/tmp, TMPDIR=/tmp, LANG=C.UTF-8,
 * PYTHONDONTWRITEBYTECODE=1, plus the caller's env list), so no secret of
 * the caller's environment reaches it. Resource limits (CPU seconds,
 * address space, file size, processes) are set before exec; where the
 * caller may make cgroups, a pids and a memory cgroup bound the whole
 * sandbox (its /tmp included), and /tmp has a size (bwrap --size, where
 * bwrap has it). The wall clock timeout kills the whole process group
 * (SIGTERM, then SIGKILL after a grace period). bwrap takes its options
 * from a descriptor (--args), so no host path is on the command line a
 * sandboxed process sees as /proc/1/cmdline.
 *
 * bubblewrap is found as $AGENTOMICS_BWRAP or `bwrap` on PATH. There is no
 * unsandboxed fallback: without a working bwrap every run fails with
 * AO_EIO and a message saying how to install it.
 */
#ifndef AGENTOMICS_SANDBOX_H
#define AGENTOMICS_SANDBOX_H

#include <stddef.h>
#include "agentomics/error.h"

typedef struct ao_sandbox_mount {
    const char *src;   /* host path (must exist) */
    const char *dst;   /* absolute path inside the sandbox */
    int writable;      /* 0: read-only bind */
} ao_sandbox_mount;

typedef struct ao_sandbox_opts {
    const ao_sandbox_mount *mounts;
    int n_mounts;
    const char *cwd;            /* working directory inside; NULL: "/" */
    const char *const *env;     /* NULL-terminated "NAME=VALUE" list added to the scrubbed environment; may be NULL */
    double timeout;             /* wall-clock seconds; <= 0: none */
    long cpu_seconds;           /* RLIMIT_CPU; 0: none */
    long mem_mb;                /* RLIMIT_AS (not with gpus) and, where one can be made, a memory
                                 * cgroup bounding all processes and /tmp together; 0: none */
    long file_mb;               /* RLIMIT_FSIZE; 0: none */
    long nproc;                 /* RLIMIT_NPROC and, where one can be made, a pids cgroup; 0: none */
    long tmp_mb;                /* size of the private /tmp (bwrap --size, where bwrap has it); 0: unsized */
    size_t output_max;          /* bytes of stdout+stderr kept for the caller (head and tail halves); 0: 16384 */
    const char *log_path;       /* also append the whole output here (a training log); NULL: none */
    int gpus;                   /* > 0: bind the NVIDIA/DRI device nodes that exist */
} ao_sandbox_opts;

/* Default limits for agent commands (documented in the README). */
void ao_sandbox_opts_init(ao_sandbox_opts *o);

typedef struct ao_sandbox_result {
    int exit_code;        /* the command's exit status; 128 + signal when killed */
    int signal;           /* the signal that ended it, 0 if it exited */
    int timed_out;        /* killed by the wall-clock timeout */
    double seconds;       /* wall time */
    char *output;         /* stdout and stderr interleaved; head and tail kept, the middle replaced by a note */
    size_t output_total;  /* bytes the command wrote in all */
    int truncated;        /* output_total > output_max */
    size_t shown_head;    /* when truncated: bytes kept from the start ... */
    size_t shown_tail;    /* ... and from the end (for the describe line) */
    double timeout;       /* the wall-clock limit that applied (0: none) */
    int out_of_memory;    /* the memory cgroup's bound killed a process of the sandbox */
} ao_sandbox_result;

/* Whether bubblewrap is present and can create the namespaces (runs
 * `true` in a minimal sandbox). AO_OK or AO_EIO with the reason. */
int ao_sandbox_check(ao_err *err) AO_WUR;

/* Runs argv[0] (looked up on the sandbox's PATH) with argv. Returns AO_OK
 * whenever the command ran, whatever its exit status (see r); AO_EIO when
 * bwrap is missing or a mount source does not exist; AO_EUSAGE for bad
 * options. r is zeroed first; free it with ao_sandbox_result_clear(). */
int ao_sandbox_run(const ao_sandbox_opts *o, const char *const *argv, ao_sandbox_result *r, ao_err *err) AO_WUR;
void ao_sandbox_result_clear(ao_sandbox_result *r);   /* NULL-safe */

/* The text a model gets back: the output, then a line such as
 * "[exit status 1 after 2.31 s; output truncated: first 8192 and last
 * 8192 of 120034 bytes shown]" or "[killed after the 60 s timeout]".
 * malloc'd; NULL when out of memory. */
char *ao_sandbox_describe(const ao_sandbox_result *r);

#endif
