/* sandbox.c — runs agent-written commands under bubblewrap (see sandbox.h).
 *
 * The parent builds bwrap's whole argument vector and environment before
 * fork(), so the child only does async-signal-safe work (setsid, rlimits,
 * dup2, close, execve) — the caller may be multi-threaded. bwrap gets the
 * scrubbed environment as its own envp as well as via --clearenv/--setenv:
 * bwrap's pid-1 monitor inside the sandbox keeps the environment it was
 * started with in /proc/1/environ, so the caller's secrets must never reach
 * bwrap at all.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "agentomics/jsonfield.h"
#include "agentomics/fileio.h"
#include "agentomics/sandbox.h"

#define SANDBOX_OUTPUT_DEFAULT 16384
#define SANDBOX_KILL_GRACE 2.0      /* seconds between SIGTERM and SIGKILL */
#define SANDBOX_DRAIN_MAX 0.5       /* seconds to keep reading once bwrap is gone */
#define SANDBOX_NS_WAIT 2.0         /* seconds to wait for the pid namespace to empty */
#define STATUS_FD 3                 /* bwrap --json-status-fd in the child */
#define STATUS_FD_STR "3"
#define ARGS_FD 4                   /* bwrap --args in the child */
#define ARGS_FD_STR "4"
#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin"

static const char bwrap_missing[] =
    "bubblewrap (bwrap) not found: install the bubblewrap package "
    "(the agent's commands never run unsandboxed)";

/* The scrubbed environment every command starts from. */
static const char *const base_env[] = {
    "PATH=" SANDBOX_PATH, "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8",
    "PYTHONDONTWRITEBYTECODE=1", NULL
};

/* /etc entries bound read-only when they exist: the dynamic linker's
 * configuration, the alternatives links (BLAS/LAPACK for numpy resolve
 * through /etc/alternatives), user and group names (python's getpass,
 * torch's cache paths), time zone, name service switch and hosts (some
 * libraries resolve "localhost" even offline), MIME types and the python
 * and matplotlib configuration. Anything else in /etc (shadow, ssh keys,
 * credentials of package managers) stays invisible. Names starting with
 * "python" are added by a directory scan (python3, python3.11, ...). */
static const char *const etc_files[] = {
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd", "group",
    "nsswitch.conf", "host.conf", "hosts", "localtime", "timezone", "mime.types",
    "matplotlibrc", "fonts", "os-release", "debian_version", "ssl", "ca-certificates",
    NULL
};

/* Top-level system directories besides /usr: on a merged-/usr system they
 * are symlinks (recreated as such), otherwise real directories (bound). */
static const char *const sys_dirs[] = { "bin", "sbin", "lib", "lib64", "lib32", "libx32", NULL };

/* ---- a growable vector of malloc'd strings (argv / envp) ---- */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static void strvec_free(strvec *s)
{
    size_t i;
    if (!s) return;
    for (i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* Takes ownership of str (NULL means an allocation already failed). */
static int strvec_take(strvec *s, char *str)
{
    if (!str) return AO_EMEM;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) { free(str); return AO_EMEM; }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;   /* always NULL-terminated, ready for execve */
    return AO_OK;
}

static int strvec_add(strvec *s, const char *str) { return strvec_take(s, strdup(str)); }

static int strvec_add3(strvec *s, const char *a, const char *b, const char *c)
{
    if (strvec_add(s, a) < 0) return AO_EMEM;
    if (b && strvec_add(s, b) < 0) return AO_EMEM;
    if (c && strvec_add(s, c) < 0) return AO_EMEM;
    return AO_OK;
}

/* ---- small helpers ---- */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int path_exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* $AGENTOMICS_BWRAP, else the first executable `bwrap` on PATH; malloc'd. */
static char *find_bwrap(void)
{
    const char *env = getenv("AGENTOMICS_BWRAP"), *path = getenv("PATH"), *p, *colon;
    if (env && *env) return access(env, X_OK) == 0 ? strdup(env) : NULL;
    if (!path || !*path) path = SANDBOX_PATH;
    for (p = path; ; p = colon + 1) {
        char *cand = NULL;
        size_t len;
        colon = strchr(p, ':');
        len = colon ? (size_t)(colon - p) : strlen(p);
        if (asprintf(&cand, "%.*s/bwrap", (int)len, len ? p : ".") < 0) return NULL;
        if (access(cand, X_OK) == 0) return cand;
        free(cand);
        if (!colon) break;
    }
    return NULL;
}

/* The environment: base_env, then the caller's entries (a later NAME
 * replaces an earlier one, so the caller may override e.g. PATH). */
static int build_env(const char *const *extra, strvec *env, ao_err *err)
{
    size_t i, j;
    const char *const *lists[2] = { base_env, extra };
    int l;
    for (l = 0; l < 2; l++) {
        for (i = 0; lists[l] && lists[l][i]; i++) {
            const char *e = lists[l][i], *eq = strchr(e, '=');
            size_t nlen;
            if (!eq || eq == e)
                return ao_err_set(err, AO_EUSAGE, "sandbox environment entry '%s' is not NAME=VALUE", e);
            nlen = (size_t)(eq - e) + 1;
            for (j = 0; j < env->n; j++) {
                if (strncmp(env->v[j], e, nlen) == 0) {
                    char *d = strdup(e);
                    if (!d) return ao_err_set(err, AO_EMEM, "out of memory");
                    free(env->v[j]);
                    env->v[j] = d;
                    break;
                }
            }
            if (j == env->n && strvec_add(env, e) < 0) return ao_err_set(err, AO_EMEM, "out of memory");
        }
    }
    return AO_OK;
}

/* Adds the system part of the sandbox: /usr, the merged-/usr links,
 * the /etc whitelist, /proc, /dev and a private /tmp (of tmp_mb MB when
 * > 0). */
static int add_system(strvec *a, long tmp_mb)
{
    char src[PATH_MAX], dst[PATH_MAX], link[PATH_MAX];
    struct stat st;
    DIR *d = NULL;
    struct dirent *de;
    size_t i;
    int rc = AO_EMEM;

    if (strvec_add3(a, "--ro-bind", "/usr", "/usr") < 0) goto DONE;
    for (i = 0; sys_dirs[i]; i++) {
        snprintf(src, sizeof src, "/%s", sys_dirs[i]);
        if (lstat(src, &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(src, link, sizeof link - 1);
            if (n <= 0) continue;
            link[n] = '\0';
            if (strvec_add3(a, "--symlink", link, src) < 0) goto DONE;
        } else if (S_ISDIR(st.st_mode)) {
            if (strvec_add3(a, "--ro-bind", src, src) < 0) goto DONE;
        }
    }
    for (i = 0; etc_files[i]; i++) {
        snprintf(src, sizeof src, "/etc/%s", etc_files[i]);
        if (path_exists(src) && strvec_add3(a, "--ro-bind-try", src, src) < 0) goto DONE;
    }
    if ((d = opendir("/etc"))) {
        while ((de = readdir(d))) {
            if (strncmp(de->d_name, "python", 6) != 0) continue;
            snprintf(dst, sizeof dst, "/etc/%s", de->d_name);
            if (strvec_add3(a, "--ro-bind-try", dst, dst) < 0) goto DONE;
        }
    }
    if (strvec_add3(a, "--proc", "/proc", NULL) < 0) goto DONE;
    if (strvec_add3(a, "--dev", "/dev", NULL) < 0) goto DONE;
    if (tmp_mb > 0) {
        char bytes[32];
        snprintf(bytes, sizeof bytes, "%lld", (long long)tmp_mb << 20);
        if (strvec_add3(a, "--size", bytes, NULL) < 0) goto DONE;
    }
    if (strvec_add3(a, "--tmpfs", "/tmp", NULL) < 0) goto DONE;
    rc = AO_OK;
DONE:
    if (d) closedir(d);
    return rc;
}

/* GPU device nodes: /dev/nvidia*, /dev/nvidia-caps, /dev/dri. */
static int add_gpus(strvec *a)
{
    char p[PATH_MAX];
    DIR *d = opendir("/dev");
    struct dirent *de;
    int rc = AO_OK;
    if (!d) return AO_OK;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "nvidia", 6) != 0 && strcmp(de->d_name, "dri") != 0) continue;
        snprintf(p, sizeof p, "/dev/%s", de->d_name);
        if (strvec_add3(a, "--dev-bind-try", p, p) < 0) { rc = AO_EMEM; break; }
    }
    closedir(d);
    return rc;
}

/* Whether this bwrap has --size (bubblewrap 0.5.0 and later): its --help
 * lists the option. Without it /tmp stays an unsized tmpfs, bounded by
 * the memory cgroup where there is one. */
static int bwrap_has_size(const char *bwrap)
{
    char buf[4096], *all = NULL;
    size_t len = 0;
    int p[2], found = 0, status;
    pid_t pid;
    ssize_t n;
    if (pipe2(p, O_CLOEXEC) != 0) return 0;
    if ((pid = fork()) < 0) { close(p[0]); close(p[1]); return 0; }
    if (pid == 0) {
        char *const argv[] = {(char *)bwrap, (char *)"--help", NULL};
        char *const envp[] = {NULL};
        if (dup2(p[1], 1) >= 0) execve(bwrap, argv, envp);
        _exit(127);
    }
    close(p[1]);
    while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        char *more;
        if (n < 0) continue;
        if (len > (1 << 20) || !(more = realloc(all, len + (size_t)n + 1))) break;
        all = more;
        memcpy(all + len, buf, (size_t)n);
        len += (size_t)n;
        all[len] = '\0';
    }
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    found = all && strstr(all, "--size ") != NULL;
    free(all);
    return found;
}

/* The bwrap command for opts o and argv: its options go to a (read by
 * bwrap from a descriptor, --args), the exec line to x: "bwrap --args 4
 * -- argv...". bwrap's first process stays in the sandbox as its pid 1,
 * and its command line is what a sandboxed command reads in
 * /proc/1/cmdline: the mounts' host paths must not be on it. */
static int build_args(const char *bwrap, const ao_sandbox_opts *o, const char *const *argv,
                      const strvec *env, strvec *a, strvec *x, ao_err *err)
{
    size_t i;
    int k;
    /* --unshare-user explicitly: as root, --unshare-all alone would skip the
     * user namespace, and --cap-drop ALL then has to drop real host caps. */
    if (strvec_add3(a, "--unshare-all", "--unshare-user", "--die-with-parent") < 0) goto ERROR_MEM;
    if (strvec_add3(a, "--new-session", "--cap-drop", "ALL") < 0) goto ERROR_MEM;
    /* fd 3 in the child: bwrap reports the sandbox's pid 1 there (see
     * wait_namespace_gone); it is not inherited by the command */
    if (strvec_add(a, "--json-status-fd") < 0 || strvec_add(a, STATUS_FD_STR) < 0) goto ERROR_MEM;
    if (add_system(a, o->tmp_mb > 0 && bwrap_has_size(bwrap) ? o->tmp_mb : 0) < 0) goto ERROR_MEM;
    for (k = 0; k < o->n_mounts; k++) {
        const ao_sandbox_mount *m = &o->mounts[k];
        if (!m->src || !m->dst || m->dst[0] != '/')
            return ao_err_set(err, AO_EUSAGE, "sandbox mount '%s': the destination must be an absolute path",
                              m->dst ? m->dst : "(null)");
        if (!path_exists(m->src))
            return ao_err_set(err, AO_EIO, "sandbox mount source %s: %s", m->src, strerror(errno));
        if (strvec_add3(a, m->writable ? "--bind" : "--ro-bind", m->src, m->dst) < 0) goto ERROR_MEM;
    }
    if (o->gpus > 0 && add_gpus(a) < 0) goto ERROR_MEM;
    /* The root tmpfs read-only last: writes to "/" or to /etc fail instead
     * of silently landing in a throw-away tmpfs. /tmp and the caller's
     * binds are separate mounts and keep their own flags. */
    if (strvec_add3(a, "--remount-ro", "/", NULL) < 0) goto ERROR_MEM;
    if (strvec_add3(a, "--chdir", o->cwd ? o->cwd : "/", NULL) < 0) goto ERROR_MEM;
    if (strvec_add(a, "--clearenv") < 0) goto ERROR_MEM;
    for (i = 0; i < env->n; i++) {
        const char *eq = strchr(env->v[i], '=');
        if (strvec_add(a, "--setenv") < 0) goto ERROR_MEM;
        if (strvec_take(a, strndup(env->v[i], (size_t)(eq - env->v[i]))) < 0) goto ERROR_MEM;
        if (strvec_add(a, eq + 1) < 0) goto ERROR_MEM;
    }
    if (strvec_add(x, bwrap) < 0 || strvec_add3(x, "--args", ARGS_FD_STR, "--") < 0) goto ERROR_MEM;
    for (i = 0; argv[i]; i++)
        if (strvec_add(x, argv[i]) < 0) goto ERROR_MEM;
    return AO_OK;
ERROR_MEM:
    return ao_err_set(err, AO_EMEM, "out of memory");
}

/* bwrap's options, NUL-separated, in an anonymous file read from its
 * start; the descriptor is above ARGS_FD, so the child's dup2 calls never
 * clobber it. -1 with errno on failure. */
static int args_file(const strvec *a)
{
    int fd = memfd_create("bwrap-args", MFD_CLOEXEC), hi;
    size_t i;
    if (fd < 0) return -1;
    for (i = 0; i < a->n; i++) {
        const char *p = a->v[i];
        size_t left = strlen(p) + 1;
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { close(fd); return -1; }
            p += w;
            left -= (size_t)w;
        }
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || (hi = fcntl(fd, F_DUPFD_CLOEXEC, ARGS_FD + 1)) < 0) { close(fd); return -1; }
    close(fd);
    return hi;
}

/* ---- output capture: head, ring-buffered tail, optional log ---- */

typedef struct capture {
    char *head, *tail;
    size_t hmax, tmax, hlen;
    size_t tpos, tlen;     /* ring: next write position, bytes held */
    size_t total;
    int log_fd;
} capture;

static void capture_add(capture *c, const char *buf, size_t n)
{
    size_t k;
    c->total += n;
    if (c->log_fd >= 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(c->log_fd, buf + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { close(c->log_fd); c->log_fd = -1; break; }   /* a full disk must not stop the run */
            off += (size_t)w;
        }
    }
    k = c->hmax - c->hlen < n ? c->hmax - c->hlen : n;
    memcpy(c->head + c->hlen, buf, k);
    c->hlen += k;
    buf += k;
    n -= k;
    if (c->tmax == 0) return;
    if (n >= c->tmax) {      /* only the last tmax bytes can matter */
        buf += n - c->tmax;
        n = c->tmax;
    }
    while (n > 0) {
        k = c->tmax - c->tpos < n ? c->tmax - c->tpos : n;
        memcpy(c->tail + c->tpos, buf, k);
        c->tpos = (c->tpos + k) % c->tmax;
        c->tlen = c->tlen + k > c->tmax ? c->tmax : c->tlen + k;
        buf += k;
        n -= k;
    }
}

/* Head, a "[... N bytes omitted ...]" line when bytes were lost, tail:
 * text for messages and JSON, so each part is made valid UTF-8
 * (ao_utf8_text: NUL shown as \0, invalid bytes as U+FFFD, a character
 * cut at the head's end or the tail's start dropped). */
static char *capture_text(const capture *c, ao_sandbox_result *r)
{
    size_t omitted = c->total - c->hlen - c->tlen, start;
    char note[96] = "";
    char *s = NULL, *head = NULL, *tail = NULL, *raw = NULL;
    if (omitted > 0) snprintf(note, sizeof note, "%s[... %zu bytes omitted ...]\n",
                              c->hlen && c->head[c->hlen - 1] != '\n' ? "\n" : "", omitted);
    /* raw: the head, then the tail; contiguous text when nothing was omitted */
    if (!(raw = malloc(c->hlen + c->tlen + 1))) return NULL;
    memcpy(raw, c->head, c->hlen);
    start = (c->tpos + c->tmax - c->tlen) % (c->tmax ? c->tmax : 1);
    if (c->tlen) {
        size_t first = c->tmax - start < c->tlen ? c->tmax - start : c->tlen;
        memcpy(raw + c->hlen, c->tail + start, first);
        memcpy(raw + c->hlen + first, c->tail, c->tlen - first);
    }
    if (omitted > 0) {
        head = ao_utf8_text(raw, c->hlen, 0, AO_UTF8_TRIM_END, NULL);
        tail = ao_utf8_text(raw + c->hlen, c->tlen, 0, AO_UTF8_TRIM_START, NULL);
    } else {
        head = ao_utf8_text(raw, c->hlen + c->tlen, 0, 0, NULL);
        tail = strdup("");
    }
    if (head && tail && asprintf(&s, "%s%s%s", head, note, tail) < 0) s = NULL;
    free(raw);
    free(head);
    free(tail);
    if (!s) return NULL;
    r->output_total = c->total;
    r->truncated = omitted > 0;
    r->shown_head = omitted ? c->hlen : 0;
    r->shown_tail = omitted ? c->tlen : 0;
    return s;
}

/* ---- bounds on the whole sandbox: pids and memory cgroups ----
 *
 * RLIMIT_NPROC does not bind a caller that is root on the host: the kernel
 * exempts real uid 0 (root_user) even inside a fresh user namespace,
 * because the namespace's uid 0 maps back to host uid 0; and RLIMIT_AS
 * bounds each process, not the sandbox (256 processes, or files in its
 * /tmp, which is memory). So where the caller may create cgroups (root
 * with writable v1 hierarchies, or a delegated cgroup v2 subtree) the
 * sandbox is also put into a new pids cgroup (pids.max = nproc) and a new
 * memory cgroup (mem_mb for all its processes and its /tmp together; swap
 * too where it is accounted). This is best effort, each controller on its
 * own: without one, the rlimits (RLIMIT_NPROC does hold for non-root
 * callers) and the wall-clock timeout remain. Each cgroup made is in the
 * signal cleanup list, so a killed caller removes it too. */

enum { CG_PIDS, CG_MEMORY, CG_N };
static const char *const cg_ctrl[CG_N] = {"pids", "memory"};

typedef struct sbcg {
    char *dir[CG_N];     /* the cgroups made for this run (v2: one, in dir[CG_PIDS]); NULL: none */
    int procs_fd[CG_N];  /* their cgroup.procs, open for the child to join */
    int cleanup[CG_N];   /* their slots in the signal cleanup list */
} sbcg;

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), ok;
    if (fd < 0) return -1;
    ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok ? 0 : -1;
}

/* Writes text to dir/name; -1 when it cannot. */
static int write_ctl(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return -1;
    return write_text(path, text);
}

static int file_has_word(const char *path, const char *word)
{
    char buf[512], *tok, *save = NULL;
    FILE *fp = fopen(path, "re");
    int found = 0;
    if (!fp) return 0;
    while (!found && fgets(buf, sizeof buf, fp))
        for (tok = strtok_r(buf, " \t\n", &save); tok && !found; tok = strtok_r(NULL, " \t\n", &save))
            found = strcmp(tok, word) == 0;
    fclose(fp);
    return found;
}

/* Whether a comma-separated list has item. */
static int list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;
    while ((p = strstr(p, item))) {
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
        p += n;
    }
    return 0;
}

/* This process's cgroup in the v2 hierarchy (ctrl NULL) or in the v1
 * hierarchy that has controller ctrl; malloc'd. */
static char *own_cgroup(const char *ctrl)
{
    char line[1024], *path = NULL;
    FILE *fp = fopen("/proc/self/cgroup", "re");
    if (!fp) return NULL;
    while (!path && fgets(line, sizeof line, fp)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = '\0';
        line[strcspn(line, "\n")] = '\0';
        c2[1 + strcspn(c2 + 1, "\n")] = '\0';
        if (!ctrl ? (strcmp(line, "0") == 0 && c1[1] == '\0') : list_has(c1 + 1, ctrl)) path = strdup(c2 + 1);
    }
    fclose(fp);
    return path;
}

/* Makes a cgroup below this process's own one in the hierarchy mounted
 * at mnt (from root); v2 (ctrl NULL) with the pids and memory controllers
 * enabled for it where they can be. malloc'd path, or NULL. */
static char *cg_make(const char *ctrl, const char *root, const char *mnt, const char *tag)
{
    char *own = own_cgroup(ctrl), *parent = NULL, *dir = NULL, ctl[PATH_MAX];
    const char *rel;
    size_t rl = strlen(root);
    int k;
    if (!own) return NULL;
    rel = own;
    if (strcmp(root, "/") != 0 && strncmp(own, root, rl) == 0 && (own[rl] == '/' || own[rl] == '\0')) rel = own + rl;
    if (asprintf(&parent, "%s%s", mnt, rel) < 0) parent = NULL;
    else if (!ctrl) {
        snprintf(ctl, sizeof ctl, "%s/cgroup.subtree_control", parent);
        for (k = 0; k < CG_N; k++) {
            char plus[16];
            snprintf(plus, sizeof plus, "+%s", cg_ctrl[k]);
            if (!file_has_word(ctl, cg_ctrl[k])) (void)write_text(ctl, plus);
        }
    }
    if (parent && asprintf(&dir, "%s/agentomics-sandbox-%ld-%s", parent, (long)getpid(), tag) < 0) dir = NULL;
    if (dir && mkdir(dir, 0755) != 0) { free(dir); dir = NULL; }
    free(own);
    free(parent);
    return dir;
}

/* Sets controller k's bound in dir (v2: its files in the one cgroup). */
static int cg_limit(const char *dir, int k, int v2, long nproc, long mem_mb)
{
    char num[32];
    if (k == CG_PIDS) {
        snprintf(num, sizeof num, "%ld", nproc);
        return write_ctl(dir, "pids.max", num);
    }
    snprintf(num, sizeof num, "%lld", (long long)mem_mb << 20);
    if (v2) {
        if (write_ctl(dir, "memory.max", num) != 0) return -1;
        (void)write_ctl(dir, "memory.swap.max", "0");   /* not every kernel accounts swap */
        return 0;
    }
    if (write_ctl(dir, "memory.limit_in_bytes", num) != 0) return -1;
    (void)write_ctl(dir, "memory.memsw.limit_in_bytes", num);   /* only with swap accounting */
    return 0;
}

static void cg_remove(char *dir)
{
    int i;
    for (i = 0; i < 100 && rmdir(dir) != 0 && errno == EBUSY; i++) {
        (void)write_ctl(dir, "cgroup.kill", "1");   /* v2: whatever is left */
        poll(NULL, 0, 10);
    }
}

/* Makes the run's cgroups: a pids bound when nproc > 0, a memory bound
 * when mem_mb > 0; each one that cannot be made is simply absent. */
static void sbcg_create(sbcg *cg, long nproc, long mem_mb)
{
    char line[4096], root[PATH_MAX], mnt[PATH_MAX], fstype[64], source[256], opts[1024], tag[48];
    FILE *fp;
    struct timespec ts;
    int k, pass;
    for (k = 0; k < CG_N; k++) { cg->dir[k] = NULL; cg->procs_fd[k] = -1; cg->cleanup[k] = -1; }
    if (nproc <= 0 && mem_mb <= 0) return;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(tag, sizeof tag, "%.0f", (double)ts.tv_nsec + 1e9 * (double)(ts.tv_sec % 1000));
    /* Pass 0: v1 hierarchies (where a controller has one, the unified
     * hierarchy cannot have it too); pass 1: cgroup v2, when no v1
     * hierarchy served. */
    for (pass = 0; pass < 2 && !cg->dir[CG_PIDS] && !cg->dir[CG_MEMORY]; pass++) {
        if (!(fp = fopen("/proc/self/mountinfo", "re"))) return;
        while (fgets(line, sizeof line, fp)) {
            char *dash = strstr(line, " - ");
            if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2) continue;
            if (sscanf(dash + 3, "%63s %255s %1023s", fstype, source, opts) != 3) continue;
            if (pass == 1) {
                char ctl[PATH_MAX];
                int bound = 0;
                if (strcmp(fstype, "cgroup2") != 0 || cg->dir[CG_PIDS] || !(cg->dir[CG_PIDS] = cg_make(NULL, root, mnt, tag))) continue;
                /* one cgroup, each bound where its controller is enabled */
                snprintf(ctl, sizeof ctl, "%s/cgroup.controllers", cg->dir[CG_PIDS]);
                if (nproc > 0 && file_has_word(ctl, "pids")) bound |= cg_limit(cg->dir[CG_PIDS], CG_PIDS, 1, nproc, mem_mb) == 0;
                if (mem_mb > 0 && file_has_word(ctl, "memory")) bound |= cg_limit(cg->dir[CG_PIDS], CG_MEMORY, 1, nproc, mem_mb) == 0;
                if (!bound) { cg_remove(cg->dir[CG_PIDS]); free(cg->dir[CG_PIDS]); cg->dir[CG_PIDS] = NULL; }
                continue;
            }
            if (strcmp(fstype, "cgroup") != 0) continue;
            for (k = 0; k < CG_N; k++) {
                if (cg->dir[k] || !list_has(opts, cg_ctrl[k]) || (k == CG_PIDS ? nproc : mem_mb) <= 0) continue;
                if (!(cg->dir[k] = cg_make(cg_ctrl[k], root, mnt, tag))) continue;
                if (cg_limit(cg->dir[k], k, 0, nproc, mem_mb) != 0) { cg_remove(cg->dir[k]); free(cg->dir[k]); cg->dir[k] = NULL; }
            }
        }
        fclose(fp);
    }
    for (k = 0; k < CG_N; k++) {
        char procs[PATH_MAX];
        if (!cg->dir[k]) continue;
        snprintf(procs, sizeof procs, "%s/cgroup.procs", cg->dir[k]);
        if ((cg->procs_fd[k] = open(procs, O_WRONLY | O_CLOEXEC)) < 0) { cg_remove(cg->dir[k]); free(cg->dir[k]); cg->dir[k] = NULL; continue; }
        cg->cleanup[k] = ao_cleanup_add_cgroup(cg->dir[k]);
    }
}

/* Whether the memory bound killed a process of the sandbox (the
 * "oom_kill N" count: v1 memory.oom_control, v2 memory.events). */
static int sbcg_memory_hit(const sbcg *cg)
{
    char path[PATH_MAX], buf[128];
    int v1 = cg->dir[CG_MEMORY] != NULL, hit = 0;
    const char *dir = v1 ? cg->dir[CG_MEMORY] : cg->dir[CG_PIDS];
    FILE *fp;
    if (!dir) return 0;
    snprintf(path, sizeof path, "%s/%s", dir, v1 ? "memory.oom_control" : "memory.events");
    if (!(fp = fopen(path, "re"))) return 0;
    while (!hit && fgets(buf, sizeof buf, fp)) hit = !strncmp(buf, "oom_kill ", 9) && strtol(buf + 9, NULL, 10) > 0;
    fclose(fp);
    return hit;
}

/* Removes the cgroups once their processes are gone (they are: bwrap was
 * reaped and took the pid namespace with it; the kernel may need a moment
 * to drop the last exited tasks). */
static void sbcg_destroy(sbcg *cg)
{
    int k;
    for (k = 0; k < CG_N; k++) {
        if (cg->procs_fd[k] >= 0) close(cg->procs_fd[k]);
        cg->procs_fd[k] = -1;
        if (!cg->dir[k]) continue;
        cg_remove(cg->dir[k]);
        ao_cleanup_remove(cg->cleanup[k]);
        cg->cleanup[k] = -1;
        free(cg->dir[k]);
        cg->dir[k] = NULL;
    }
}

/* ---- the child ---- */

static void set_limit(int res, rlim_t v)
{
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = v;
    if (setrlimit(res, &rl) != 0) {
        /* Cannot raise above the caller's hard limit: lower only the soft one. */
        if (getrlimit(res, &rl) == 0 && v < rl.rlim_max) {
            rl.rlim_cur = v;
            setrlimit(res, &rl);
        }
    }
}

/* After fork: async-signal-safe calls only. Never returns. */
static void child_exec(const ao_sandbox_opts *o, int out_fd, int status_fd, int args_fd, const int *cg_fd, char **args, char **envp)
{
    static const char msg[] = "agentomics: cannot execute bubblewrap\n";
    int devnull = open("/dev/null", O_RDONLY);
    long maxfd;
    /* One session and process group for bwrap and everything it starts,
     * so the timeout can signal the whole tree at once. */
    setsid();
    /* Join the cgroups before exec, so bwrap and all it starts count. */
    for (int k = 0; k < CG_N; k++)
        if (cg_fd[k] >= 0 && write(cg_fd[k], "0", 1) != 1) { /* best effort: the rlimits still apply */ }
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) _exit(127);
    /* bwrap's status pipe on fd 3 (dup2 clears close-on-exec; a pipe that
     * already is fd 3 needs it cleared by hand) */
    if (status_fd == STATUS_FD) { if (fcntl(STATUS_FD, F_SETFD, 0) != 0) _exit(127); }
    else if (dup2(status_fd, STATUS_FD) < 0) _exit(127);
    /* bwrap's options on fd 4 (args_fd is above it: see ao_sandbox_run) */
    if (dup2(args_fd, ARGS_FD) < 0) _exit(127);
    /* No other descriptor of the caller (sockets, logs, the API
     * connection) leaks into the sandbox. */
    if (close_range(ARGS_FD + 1, ~0U, 0) != 0) {
        maxfd = sysconf(_SC_OPEN_MAX);
        if (maxfd < 0 || maxfd > 65536) maxfd = 65536;
        for (long fd = ARGS_FD + 1; fd < maxfd; fd++) close((int)fd);
    }
    set_limit(RLIMIT_CORE, 0);
    if (o->cpu_seconds > 0) set_limit(RLIMIT_CPU, (rlim_t)o->cpu_seconds);
    /* Not with GPUs: CUDA reserves tens of GB of virtual address space at
     * start-up, so an address-space limit would break every GPU job. */
    if (o->mem_mb > 0 && o->gpus <= 0) set_limit(RLIMIT_AS, (rlim_t)o->mem_mb << 20);
    if (o->file_mb > 0) set_limit(RLIMIT_FSIZE, (rlim_t)o->file_mb << 20);
    if (o->nproc > 0) set_limit(RLIMIT_NPROC, (rlim_t)o->nproc);
    /* The caller may have SIGPIPE or others ignored; the command should
     * start with default dispositions and nothing blocked. */
    {
        sigset_t none;
        int s;
        for (s = 1; s < NSIG; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
    execve(args[0], args, envp);
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
    _exit(127);
}

/* bwrap's exit does not mean the sandbox is empty: its pid 1 is killed
 * (--die-with-parent) and the kernel then kills the rest of the pid
 * namespace, asynchronously. Pid 1 finishes exiting only after every other
 * process of its namespace is gone, so waiting for it (gone, or a zombie
 * waiting for its new parent) means nothing started in the sandbox still
 * runs when ao_sandbox_run returns. Its pid comes from bwrap's
 * --json-status-fd; bounded by SANDBOX_NS_WAIT. */
static void wait_namespace_gone(int status_fd)
{
    char buf[1024], path[64], stat[256];
    const char *p;
    ssize_t n;
    long child;
    double until = now_sec() + SANDBOX_NS_WAIT;
    if (status_fd < 0 || (n = read(status_fd, buf, sizeof buf - 1)) <= 0) return;
    buf[n] = '\0';
    if (!(p = strstr(buf, "\"child-pid\":")) || (child = strtol(p + 12, NULL, 10)) <= 1) return;
    snprintf(path, sizeof path, "/proc/%ld/stat", child);
    while (now_sec() < until) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        const char *close_paren;
        if (fd < 0) return;
        n = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (n <= 0) return;
        stat[n] = '\0';
        /* "pid (comm) S ...": the state follows the last ')' */
        if (!(close_paren = strrchr(stat, ')')) || close_paren[1] != ' ' || close_paren[2] == 'Z' || close_paren[2] == 'X') return;
        poll(NULL, 0, 2);
    }
}

/* ---- public ---- */

void ao_sandbox_opts_init(ao_sandbox_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->timeout = 600;
    o->cpu_seconds = 0;     /* the wall-clock timeout bounds CPU use already */
    o->mem_mb = 8192;
    o->file_mb = 2048;
    o->nproc = 256;
    o->tmp_mb = 1024;
    o->output_max = SANDBOX_OUTPUT_DEFAULT;
}

void ao_sandbox_result_clear(ao_sandbox_result *r)
{
    if (!r) return;
    free(r->output);
    memset(r, 0, sizeof *r);
}

int ao_sandbox_run(const ao_sandbox_opts *o, const char *const *argv, ao_sandbox_result *r, ao_err *err)
{
    strvec args = {0}, exec_line = {0}, env = {0};
    capture cap = {0};
    char *bwrap = NULL;
    int pfd[2] = {-1, -1}, spfd[2] = {-1, -1}, afd = -1, status = 0, rc = AO_OK, exited = 0, term_sent = 0, killed = 0, idle_ms = 1;
    pid_t pid = -1;
    sbcg cg = {{NULL, NULL}, {-1, -1}, {-1, -1}};
    double t0, deadline, kill_at = 0, drain_until = 0;
    size_t output_max;
    char buf[65536];

    cap.log_fd = -1;
    if (r) memset(r, 0, sizeof *r);
    if (!o || !argv || !argv[0] || !r) return ao_err_set(err, AO_EUSAGE, "sandbox: no command given");
    if (o->cwd && o->cwd[0] != '/')
        return ao_err_set(err, AO_EUSAGE, "sandbox working directory '%s' is not an absolute path", o->cwd);
    if (o->n_mounts < 0 || (o->n_mounts > 0 && !o->mounts))
        return ao_err_set(err, AO_EUSAGE, "sandbox: bad mount list");
    if (!(bwrap = find_bwrap())) return ao_err_set(err, AO_EIO, "%s", bwrap_missing);

    if ((rc = build_env(o->env, &env, err)) < 0) goto ERROR;
    if ((rc = build_args(bwrap, o, argv, &env, &args, &exec_line, err)) < 0) goto ERROR;
    if ((afd = args_file(&args)) < 0) {
        rc = ao_err_set(err, AO_EIO, "sandbox: cannot hold bubblewrap's arguments: %s", strerror(errno));
        goto ERROR;
    }

    output_max = o->output_max ? o->output_max : SANDBOX_OUTPUT_DEFAULT;
    cap.hmax = output_max / 2;
    cap.tmax = output_max - cap.hmax;
    if (!(cap.head = malloc(cap.hmax + 1)) || !(cap.tail = malloc(cap.tmax + 1))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    if (o->log_path && (cap.log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        rc = ao_err_set(err, AO_EIO, "%s: cannot open for appending: %s", o->log_path, strerror(errno));
        goto ERROR;
    }
    if (pipe2(spfd, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = ao_err_set(err, AO_EIO, "sandbox: cannot create a pipe: %s", strerror(errno));
        goto ERROR;
    }
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        rc = ao_err_set(err, AO_EIO, "sandbox: cannot create a pipe: %s", strerror(errno));
        goto ERROR;
    }

    sbcg_create(&cg, o->nproc, o->mem_mb);
    t0 = now_sec();
    deadline = o->timeout > 0 ? t0 + o->timeout : 0;
    if ((pid = fork()) < 0) {
        rc = ao_err_set(err, AO_EIO, "sandbox: cannot fork: %s", strerror(errno));
        goto ERROR;
    }
    if (pid == 0) child_exec(o, pfd[1], spfd[1], afd, cg.procs_fd, exec_line.v, env.v);
    close(pfd[1]);
    pfd[1] = -1;
    close(spfd[1]);
    spfd[1] = -1;

    /* Read until bwrap is gone and the pipe is drained. A process that
     * escaped the namespace teardown could keep the pipe open forever, so
     * after bwrap is reaped reading stops within SANDBOX_DRAIN_MAX. */
    idle_ms = 1;
    for (;;) {
        double now = now_sec();
        int wait_ms = 50;
        if (!exited) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            /* WNOWAIT: the process group still exists while we kill it, so
             * its id cannot have been reused by an unrelated process. */
            if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
                kill(-pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
                exited = 1;
                drain_until = now + SANDBOX_DRAIN_MAX;
            }
        }
        if (!exited && deadline > 0 && !term_sent && now >= deadline) {
            /* SIGTERM ends bwrap; its pid-1 monitor then dies with it
             * (--die-with-parent) and the kernel kills the whole pid
             * namespace. SIGKILL follows if anything lingers. */
            r->timed_out = 1;
            kill(-pid, SIGTERM);
            term_sent = 1;
            kill_at = now + SANDBOX_KILL_GRACE;
        }
        if (term_sent && !killed && !exited && now >= kill_at) {
            kill(-pid, SIGKILL);
            killed = 1;
        }
        if (exited && (pfd[0] < 0 || now >= drain_until)) break;
        if (pfd[0] >= 0) {
            struct pollfd p;
            p.fd = pfd[0];
            p.events = POLLIN;
            p.revents = 0;
            if (poll(&p, 1, wait_ms) > 0) {
                ssize_t n = read(pfd[0], buf, sizeof buf);
                if (n > 0) capture_add(&cap, buf, (size_t)n);
                else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                    close(pfd[0]);
                    pfd[0] = -1;
                }
            }
        } else {
            /* the pipe closed: bwrap is usually about to exit, so look again
             * soon, backing off (1, 2, 4 ... 50 ms) for a command that
             * closed its output early and keeps running */
            poll(NULL, 0, idle_ms);
            idle_ms = idle_ms * 2 > wait_ms ? wait_ms : idle_ms * 2;
        }
    }
    wait_namespace_gone(spfd[0]);
    r->seconds = now_sec() - t0;
    r->out_of_memory = sbcg_memory_hit(&cg);
    r->timeout = o->timeout > 0 ? o->timeout : 0;
    if (WIFSIGNALED(status)) {
        r->signal = WTERMSIG(status);
        r->exit_code = 128 + r->signal;
    } else {
        r->exit_code = WEXITSTATUS(status);
        /* bwrap reports a command killed by signal S as exit status 128+S
         * (the shell convention); read it back as the signal. */
        if (r->exit_code > 128 && r->exit_code < 128 + NSIG) r->signal = r->exit_code - 128;
    }
    if (!(r->output = capture_text(&cap, r))) {
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        goto ERROR;
    }
    rc = AO_OK;
    goto DONE;
ERROR:
    if (r) ao_sandbox_result_clear(r);
DONE:
    sbcg_destroy(&cg);
    if (pfd[0] >= 0) close(pfd[0]);
    if (pfd[1] >= 0) close(pfd[1]);
    if (spfd[0] >= 0) close(spfd[0]);
    if (spfd[1] >= 0) close(spfd[1]);
    if (afd >= 0) close(afd);
    if (cap.log_fd >= 0) close(cap.log_fd);
    free(cap.head);
    free(cap.tail);
    strvec_free(&args);
    strvec_free(&exec_line);
    strvec_free(&env);
    free(bwrap);
    return rc;
}

int ao_sandbox_check(ao_err *err)
{
    static const char *const argv[] = { "true", NULL };
    ao_sandbox_opts o;
    ao_sandbox_result r;
    int rc;
    ao_sandbox_opts_init(&o);
    o.timeout = 30;
    if ((rc = ao_sandbox_run(&o, argv, &r, err)) < 0) return rc;
    if (r.exit_code != 0) {
        size_t n = strlen(r.output);
        while (n > 0 && (r.output[n - 1] == '\n' || r.output[n - 1] == ' ')) r.output[--n] = '\0';
        rc = ao_err_set(err, AO_EIO, "bubblewrap cannot create the sandbox (exit status %d)%s%s",
                        r.exit_code, n ? ": " : "", r.output);
    }
    ao_sandbox_result_clear(&r);
    return rc;
}

static const char *signal_note(int sig)
{
    switch (sig) {
    case SIGKILL: return " (SIGKILL; out of memory?)";
    case SIGTERM: return " (SIGTERM)";
    case SIGSEGV: return " (SIGSEGV, segmentation fault)";
    case SIGABRT: return " (SIGABRT, aborted)";
    case SIGBUS: return " (SIGBUS)";
    case SIGFPE: return " (SIGFPE, arithmetic error)";
    case SIGILL: return " (SIGILL, illegal instruction)";
    case SIGXCPU: return " (SIGXCPU, CPU time limit reached)";
    case SIGXFSZ: return " (SIGXFSZ, file size limit reached)";
    case SIGPIPE: return " (SIGPIPE)";
    case SIGINT: return " (SIGINT)";
    default: return "";
    }
}

char *ao_sandbox_describe(const ao_sandbox_result *r)
{
    char status[256], trunc[160] = "";
    const char *out;
    size_t olen;
    char *s = NULL;
    if (!r) return NULL;
    out = r->output ? r->output : "";
    olen = strlen(out);
    if (r->truncated)
        snprintf(trunc, sizeof trunc, "; output truncated: first %zu and last %zu of %zu bytes shown",
                 r->shown_head, r->shown_tail, r->output_total);
    if (r->timed_out)
        snprintf(status, sizeof status, "[killed after the %g s timeout%s]", r->timeout, trunc);
    else if (r->signal == SIGKILL && r->out_of_memory)
        snprintf(status, sizeof status, "[killed by signal %d (SIGKILL: the sandbox's memory bound was reached) after %.2f s%s]",
                 r->signal, r->seconds, trunc);
    else if (r->signal)
        snprintf(status, sizeof status, "[killed by signal %d%s after %.2f s%s]",
                 r->signal, signal_note(r->signal), r->seconds, trunc);
    else
        snprintf(status, sizeof status, "[exit status %d after %.2f s%s]", r->exit_code, r->seconds, trunc);
    if (asprintf(&s, "%s%s%s\n", out, olen && out[olen - 1] != '\n' ? "\n" : "", status) < 0) return NULL;
    return s;
}
