/* sandbox_bench.c — times one command run N times (built and run by
 * tests/bench/sandbox_bench.py).
 *
 *   sandbox_bench ao N WORKSPACE CMD [ARG...]
 *       ao_sandbox_run with ao_sandbox_opts_init() defaults, WORKSPACE
 *       bound writable at /workspace, cwd /workspace.
 *   sandbox_bench ao-nproc0 N WORKSPACE CMD [ARG...]
 *       the same with nproc = 0: no process limit, so (as root) no pids
 *       cgroup is made; shows what that cgroup costs.
 *   sandbox_bench exec N PROGRAM [ARG...]
 *       fork + execve(PROGRAM, ARGS, environ) with stdout and stderr on a
 *       pipe that is read to EOF, then waitpid: the minimal way a caller
 *       runs a program and collects its output. With PROGRAM = bwrap and
 *       the library's own bwrap argument list, this is the `bwrap` CLI
 *       invoked directly; with PROGRAM = the command, an unsandboxed run.
 *
 * Every run must exit 0. Prints the wall time of each run in seconds, one
 * per line (the caller takes mean and median).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agentomics/sandbox.h"

extern char **environ;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int run_exec(char **argv)
{
    int pfd[2], status = 0;
    char buf[65536];
    pid_t pid;
    if (pipe2(pfd, O_CLOEXEC) != 0) return -1;
    if ((pid = fork()) < 0) return -1;
    if (pid == 0) {
        if (dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0) _exit(127);
        execve(argv[0], argv, environ);
        _exit(127);
    }
    close(pfd[1]);
    for (;;) {
        ssize_t n = read(pfd[0], buf, sizeof buf);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
    int n, i;
    if (argc < 4) {
        fprintf(stderr, "usage: sandbox_bench ao|ao-nproc0 N WORKSPACE CMD [ARG...] | exec N PROGRAM [ARG...]\n");
        return 2;
    }
    n = atoi(argv[2]);
    if (!strcmp(argv[1], "ao") || !strcmp(argv[1], "ao-nproc0")) {
        ao_sandbox_mount m = { argv[3], "/workspace", 1 };
        ao_sandbox_opts o;
        if (argc < 5) return 2;
        ao_sandbox_opts_init(&o);
        o.mounts = &m;
        o.n_mounts = 1;
        o.cwd = "/workspace";
        if (!strcmp(argv[1], "ao-nproc0")) o.nproc = 0;   /* no pids cgroup, no RLIMIT_NPROC */
        for (i = 0; i < n; i++) {
            ao_sandbox_result r;
            ao_err err;
            double t0 = now_sec(), t;
            if (ao_sandbox_run(&o, (const char *const *)(argv + 4), &r, &err) < 0) {
                fprintf(stderr, "sandbox_bench: %s\n", err.msg);
                return 1;
            }
            t = now_sec() - t0;
            if (r.exit_code != 0) {
                fprintf(stderr, "sandbox_bench: exit status %d: %s\n", r.exit_code, r.output);
                return 1;
            }
            ao_sandbox_result_clear(&r);
            printf("%.6f\n", t);
        }
    } else if (!strcmp(argv[1], "exec")) {
        for (i = 0; i < n; i++) {
            double t0 = now_sec(), t;
            int rc = run_exec(argv + 3);
            t = now_sec() - t0;
            if (rc != 0) {
                fprintf(stderr, "sandbox_bench: %s: exit status %d\n", argv[3], rc);
                return 1;
            }
            printf("%.6f\n", t);
        }
    } else {
        return 2;
    }
    return 0;
}
