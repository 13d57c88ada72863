/* fileio.c — outputs that appear whole or not at all (fileio.h):
 * temporary files and directories renamed into place on commit (or a
 * non-regular target written through), the process-wide list of
 * temporaries that a fatal signal removes, tree removal, path helpers,
 * and finding the installed prompts/ and schemas/ directories. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "agentomics/fileio.h"

char *ao_path_join(const char *a, const char *b)
{
    char *p = NULL;
    size_t la = strlen(a);
    if (asprintf(&p, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/", b) < 0) return NULL;
    return p;
}

int ao_file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int ao_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *ao_share_dir(const char *sub, ao_err *err)
{
    char env[64], exe[4096], *cand[3] = {NULL, NULL, NULL}, *found = NULL;
    const char *e;
    ssize_t n;
    size_t i;
    int k;
    snprintf(env, sizeof env, "AGENTOMICS_");
    for (i = 0; sub[i] && strlen(env) + 1 < sizeof env; i++) {
        size_t l = strlen(env);
        env[l] = (char)(sub[i] >= 'a' && sub[i] <= 'z' ? sub[i] - 32 : sub[i]);
        env[l + 1] = '\0';
    }
    if ((e = getenv(env)) && *e) {
        if (ao_is_dir(e)) return strdup(e);
        ao_err_set(err, AO_EIO, "%s=%s: not a directory", env, e);
        return NULL;
    }
    if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
        char *slash;
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/'))) *slash = '\0';
        if (asprintf(&cand[0], "%s/../%s", exe, sub) < 0) cand[0] = NULL;
        if (asprintf(&cand[1], "%s/../share/agentomics/%s", exe, sub) < 0) cand[1] = NULL;
    }
#ifdef AO_DATADIR
    if (asprintf(&cand[2], "%s/%s", AO_DATADIR, sub) < 0) cand[2] = NULL;
#endif
    for (k = 0; k < 3 && !found; k++)
        if (cand[k] && ao_is_dir(cand[k])) { found = cand[k]; cand[k] = NULL; }
    if (!found) ao_err_set(err, AO_EIO, "no %s directory found (set %s, or install with make install)", sub, env);
    for (k = 0; k < 3; k++) free(cand[k]);
    return found;
}

static char *tmp_name(const char *path)
{
    char *t = NULL;
    if (asprintf(&t, "%s.tmp.%ld", path, (long)getpid()) < 0) return NULL;
    return t;
}

ao_outfile *ao_outfile_open(const char *path, ao_err *err)
{
    ao_outfile *of;
    struct stat st;
    if (!*path) { ao_err_set(err, AO_EUSAGE, "the output file name is empty"); return NULL; }
    if (!(of = calloc(1, sizeof *of))) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    of->cleanup = -1;
    if (!(of->path = strdup(path))) goto ERROR_MEM;
    if (strcmp(path, "-") == 0) {
        of->fp = stdout;
        return of;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device, a FIFO or a link to one: renaming over it would
         * replace it, so write through (opening a FIFO waits for its reader) */
        int fd;
        if (S_ISDIR(st.st_mode)) { ao_err_set(err, AO_EIO, "%s: is a directory", path); goto ERROR; }
        if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || !(of->fp = fdopen(fd, "w"))) {
            ao_err_set(err, AO_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
            goto ERROR;
        }
        return of;
    }
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* a link to a regular file: replace the file, keep the link */
        char *real = realpath(path, NULL);
        if (real) { free(of->path); of->path = real; }
    }
    if (!(of->tmp = tmp_name(of->path))) goto ERROR_MEM;
    of->cleanup = ao_cleanup_add(of->tmp);
    if (!(of->fp = fopen(of->tmp, "w"))) {
        ao_err_set(err, AO_EIO, "%s: cannot create: %s", path, strerror(errno));
        goto ERROR;
    }
    return of;
ERROR_MEM:
    ao_err_set(err, AO_EMEM, "out of memory");
ERROR:
    ao_outfile_destroy(of);
    return NULL;
}

int ao_outfile_commit(ao_outfile *of, ao_err *err)
{
    int bad = ferror(of->fp), e;
    if (fflush(of->fp) != 0) bad = 1;
    e = errno;
    if (of->fp == stdout) {
        of->committed = 1;
        return bad ? ao_err_set(err, AO_EIO, "error writing to standard output: %s", strerror(e)) : AO_OK;
    }
    if (fclose(of->fp) != 0 && !bad) { bad = 1; e = errno; }
    of->fp = NULL;
    if (bad) return ao_err_set(err, AO_EIO, "%s: write error: %s", of->path, strerror(e));
    if (of->tmp && rename(of->tmp, of->path) != 0)
        return ao_err_set(err, AO_EIO, "%s: cannot rename into place: %s", of->path, strerror(errno));
    of->committed = 1;
    ao_cleanup_remove(of->cleanup);
    of->cleanup = -1;
    return AO_OK;
}

void ao_outfile_destroy(ao_outfile *of)
{
    if (!of) return;
    if (of->fp && of->fp != stdout) fclose(of->fp);
    if (of->tmp && !of->committed) unlink(of->tmp);
    ao_cleanup_remove(of->cleanup);
    free(of->path);
    free(of->tmp);
    free(of);
}

int ao_mkdir_p_made(const char *path, char **made, ao_err *err)
{
    char *p = strdup(path), *s;
    if (made) *made = NULL;
    if (!p) return ao_err_set(err, AO_EMEM, "out of memory");
    for (s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) == 0) {
                if (made && !*made && !(*made = strdup(p))) {
                    free(p);
                    return ao_err_set(err, AO_EMEM, "out of memory");
                }
            } else if (errno != EEXIST) {
                int code = ao_err_set(err, AO_EIO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return code;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    if (!ao_is_dir(path)) return ao_err_set(err, AO_EIO, "%s: not a directory", path);
    return AO_OK;
}

int ao_mkdir_p(const char *path, ao_err *err) { return ao_mkdir_p_made(path, NULL, err); }

/* ---- tree removal ------------------------------------------------------ */

/* getdents64 has no glibc wrapper in Debian 12's libc; readdir() is not
 * async-signal-safe (it allocates), the raw system call is. */
struct ao_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int is_dot(const char *n) { return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])); }

/* Removes name below dirfd. Descends with openat(), climbs back with
 * "..", finding the child just emptied by its inode number, so it holds
 * one descriptor whatever the depth. Anything that cannot be removed ends
 * the walk with -1 (a loop over an undeletable entry is impossible). */
static int rm_tree_at(int dirfd, const char *name)
{
    char buf[4096];
    struct stat st;
    int fd, depth = 0;
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return 0;
    if (errno != EISDIR && errno != EPERM) return -1;
    if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) return -1;
    for (;;) {
        long n;
        int descended = 0;
        if (lseek(fd, 0, SEEK_SET) < 0) break;
        while (!descended && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            long off;
            for (off = 0; off < n; ) {
                struct ao_dirent64 *e = (struct ao_dirent64 *)(buf + off);
                int sub;
                off += e->d_reclen;
                if (is_dot(e->d_name) || unlinkat(fd, e->d_name, 0) == 0) continue;
                if (errno != EISDIR && errno != EPERM) goto FAIL;
                if (unlinkat(fd, e->d_name, AT_REMOVEDIR) == 0) continue;
                if ((sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) goto FAIL;
                close(fd);
                fd = sub;
                depth++;
                descended = 1;
                break;
            }
        }
        if (descended) continue;
        if (n < 0) break;
        /* fd is empty */
        if (depth == 0) {
            close(fd);
            return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 ? 0 : -1;
        }
        {
            int up, found = 0;
            if (fstat(fd, &st) != 0 || (up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) break;
            close(fd);
            fd = up;
            depth--;
            while (!found && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
                long off;
                for (off = 0; off < n && !found; ) {
                    struct ao_dirent64 *e = (struct ao_dirent64 *)(buf + off);
                    off += e->d_reclen;
                    if (e->d_ino == (uint64_t)st.st_ino && !is_dot(e->d_name)) {
                        if (unlinkat(fd, e->d_name, AT_REMOVEDIR) != 0) goto FAIL;
                        found = 1;
                    }
                }
            }
            if (!found) break;
        }
    }
FAIL:
    close(fd);
    return -1;
}

int ao_rm_rf(const char *path)
{
    return rm_tree_at(AT_FDCWD, path) == 0 ? AO_OK : AO_EIO;
}

int ao_rm_rf_at(int dirfd, const char *name)
{
    return rm_tree_at(dirfd, name) == 0 ? AO_OK : AO_EIO;
}

/* ---- temporaries removed on a fatal signal -------------------------------
 * Process-wide by nature: the handler can reach nothing else. Slots are
 * filled with signals blocked (so the handler never sees a half-written
 * slot) and under a mutex (so threads do not race for one). */
#define CLEANUP_SLOTS 256
static struct {
    char *volatile path;
    volatile pid_t pid;
    volatile int cgroup;   /* path is a cgroup: its processes are killed, then it is removed */
} cleanup_slot[CLEANUP_SLOTS];
static pthread_mutex_t cleanup_lock = PTHREAD_MUTEX_INITIALIZER;
static const int cleanup_signals[] = {SIGTERM, SIGINT, SIGHUP};

static void cleanup_block(sigset_t *old)
{
    sigset_t set;
    size_t i;
    sigemptyset(&set);
    for (i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++) sigaddset(&set, cleanup_signals[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static int cleanup_add(const char *path, int cgroup);
int ao_cleanup_add(const char *path) { return cleanup_add(path, 0); }
int ao_cleanup_add_cgroup(const char *dir) { return cleanup_add(dir, 1); }

static int cleanup_add(const char *path, int cgroup)
{
    char *abs = NULL;
    sigset_t old;
    int i, slot = -1;
    if (path[0] == '/') abs = strdup(path);
    else {
        char *cwd = getcwd(NULL, 0);
        if (cwd) abs = ao_path_join(cwd, path);
        free(cwd);
    }
    if (!abs) return -1;
    cleanup_block(&old);
    pthread_mutex_lock(&cleanup_lock);
    for (i = 0; i < CLEANUP_SLOTS && slot < 0; i++)
        if (!cleanup_slot[i].path) {
            cleanup_slot[i].pid = getpid();
            cleanup_slot[i].cgroup = cgroup;
            cleanup_slot[i].path = abs;
            slot = i;
        }
    pthread_mutex_unlock(&cleanup_lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (slot < 0) free(abs);
    return slot;
}

void ao_cleanup_remove(int slot)
{
    sigset_t old;
    char *p;
    if (slot < 0 || slot >= CLEANUP_SLOTS) return;
    cleanup_block(&old);
    pthread_mutex_lock(&cleanup_lock);
    p = cleanup_slot[slot].path;
    cleanup_slot[slot].path = NULL;
    pthread_mutex_unlock(&cleanup_lock);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(p);
}

/* Kills every process of cgroup dir (its cgroup.procs) and removes it,
 * waiting up to a second for the kernel to let the killed ones go. */
static void cgroup_kill_remove(const char *dir)
{
    char buf[4096];
    int tries;
    for (tries = 0; tries < 100; tries++) {
        struct timespec pause = {0, 10000000};
        int fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), procs;
        if (fd < 0) return;
        procs = openat(fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        close(fd);
        if (procs >= 0) {
            long pid = 0;
            ssize_t n, k;
            while ((n = read(procs, buf, sizeof buf)) > 0)
                for (k = 0; k < n; k++) {
                    if (buf[k] >= '0' && buf[k] <= '9') { pid = pid * 10 + (buf[k] - '0'); continue; }
                    if (pid > 0) kill((pid_t)pid, SIGKILL);
                    pid = 0;
                }
            if (pid > 0) kill((pid_t)pid, SIGKILL);
            close(procs);
        }
        if (rmdir(dir) == 0 || errno != EBUSY) return;
        nanosleep(&pause, NULL);
    }
}

/* Async-signal-safe: getpid, kill, nanosleep, read, rmdir, the removal
 * walk (openat, unlinkat, fstat, lseek, getdents64, close), signal and
 * raise. Cgroups go first: killing the sandbox they hold stops whatever
 * it still writes into a temporary tree before the tree is removed. */
static void cleanup_handler(int sig)
{
    pid_t me = getpid();
    int i, saved = errno;
    for (i = 0; i < CLEANUP_SLOTS; i++) {
        char *p = cleanup_slot[i].path;
        if (p && cleanup_slot[i].pid == me && cleanup_slot[i].cgroup) cgroup_kill_remove(p);
    }
    for (i = 0; i < CLEANUP_SLOTS; i++) {
        char *p = cleanup_slot[i].path;
        if (p && cleanup_slot[i].pid == me && !cleanup_slot[i].cgroup) rm_tree_at(AT_FDCWD, p);
    }
    errno = saved;
    /* die of the same signal (SA_RESETHAND restored the default action,
     * SA_NODEFER lets it arrive now) */
    raise(sig);
}

void ao_cleanup_install(void)
{
    size_t i;
    for (i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++) {
        struct sigaction sa, old;
        if (sigaction(cleanup_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = cleanup_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(cleanup_signals[i], &sa, NULL);
    }
}

ao_outdir *ao_outdir_create(const char *path, int replace, ao_err *err)
{
    ao_outdir *od;
    struct stat st;
    if (!*path) { ao_err_set(err, AO_EUSAGE, "the output directory name is empty"); return NULL; }
    if (!(od = calloc(1, sizeof *od))) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    od->replace = replace;
    od->cleanup = -1;
    if (!(od->path = strdup(path)) || !(od->tmp = tmp_name(path))) {
        ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    if (lstat(path, &st) == 0 && !replace) {
        /* An empty directory (e.g. made by a workflow engine) is fine. */
        int empty = 0;
        if (S_ISDIR(st.st_mode)) empty = (rmdir(path) == 0);
        if (!empty) {
            ao_err_set(err, AO_EUSAGE, "%s: output already exists (use --force to replace it)", path);
            goto ERROR;
        }
    }
    ao_rm_rf(od->tmp);
    od->cleanup = ao_cleanup_add(od->tmp);
    if (ao_mkdir_p_made(od->tmp, &od->made, err) < 0) goto ERROR;
    return od;
ERROR:
    ao_outdir_destroy(od);
    return NULL;
}

char *ao_outdir_path(ao_outdir *od, const char *rel, ao_err *err)
{
    char *p = ao_path_join(od->tmp, rel), *slash;
    if (!p) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    slash = strrchr(p, '/');
    if (slash && slash > p + strlen(od->tmp)) {
        *slash = '\0';
        if (ao_mkdir_p(p, err) < 0) { free(p); return NULL; }
        *slash = '/';
    }
    return p;
}

int ao_outdir_commit(ao_outdir *od, ao_err *err)
{
    if (ao_file_exists(od->path)) {
        char *old = NULL;
        if (asprintf(&old, "%s.old.%ld", od->path, (long)getpid()) < 0)
            return ao_err_set(err, AO_EMEM, "out of memory");
        if (rename(od->path, old) != 0) {
            int code = ao_err_set(err, AO_EIO, "%s: cannot move old output aside: %s", od->path, strerror(errno));
            free(old);
            return code;
        }
        if (rename(od->tmp, od->path) != 0) {
            int code = ao_err_set(err, AO_EIO, "%s: cannot rename into place: %s", od->path, strerror(errno));
            if (rename(old, od->path) != 0) { /* the old output stays under its .old name */ }
            free(old);
            return code;
        }
        ao_rm_rf(old);
        free(old);
    } else if (rename(od->tmp, od->path) != 0) {
        return ao_err_set(err, AO_EIO, "%s: cannot rename into place: %s", od->path, strerror(errno));
    }
    od->committed = 1;
    ao_cleanup_remove(od->cleanup);
    od->cleanup = -1;
    return AO_OK;
}

void ao_outdir_destroy(ao_outdir *od)
{
    if (!od) return;
    if (od->tmp && !od->committed) {
        ao_rm_rf(od->tmp);
        /* and the parents this run created, innermost first; rmdir leaves
         * any that something else has filled meanwhile */
        if (od->made) {
            char *p = strdup(od->tmp), *slash;
            size_t keep = strlen(od->made);
            while (p && (slash = strrchr(p, '/')) && (size_t)(slash - p) >= keep) {
                *slash = '\0';
                if (rmdir(p) != 0) break;
            }
            free(p);
        }
    }
    ao_cleanup_remove(od->cleanup);
    free(od->path);
    free(od->tmp);
    free(od->made);
    free(od);
}

size_t ao_max_line_bytes(void)
{
    const char *e = getenv("AGENTOMICS_MAX_LINE_MB");
    char *end = NULL;
    unsigned long long mb = e && *e ? strtoull(e, &end, 10) : 0;
    if (!(e && *e && end && !*end && mb > 0 && mb < (1ULL << 40))) mb = AO_MAX_LINE_MB;
    return (size_t)mb << 20;
}

char *ao_read_file(const char *path, size_t *len, ao_err *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!fp) { ao_err_set(err, AO_EIO, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    for (;;) {
        size_t got;
        if (n + 65536 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 65536 * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) { ao_err_set(err, AO_EMEM, "out of memory reading %s", path); goto ERROR; }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) { ao_err_set(err, AO_EIO, "%s: read error", path); goto ERROR; }
    fclose(fp);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
ERROR:
    fclose(fp);
    free(buf);
    return NULL;
}
