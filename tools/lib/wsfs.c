/* wsfs.c — the agent's file tools, confined to its workspace.
 *
 * A sandbox path is parsed into components first (no "..", no control
 * characters), then opened one component at a time below a descriptor of
 * the root with O_NOFOLLOW, so neither a ".." nor a symbolic link planted
 * by a sandboxed command can lead outside: the kernel refuses to follow a
 * link at any step, and we report which component was one.
 *
 * Messages for the model name the path as the model wrote it, normalised
 * ("/workspace/src/x.py"), never the host path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "agentomics/jsonfield.h"
#include "agentomics/wsfs.h"

#define DEFAULT_MAX_READ 65536
#define DEFAULT_MAX_WRITE 1048576
#define BINARY_PROBE 8192      /* a NUL in this many leading bytes: binary */
#define LIST_MAX_ENTRIES 500
#define LIST_MAX_DEPTH 32      /* each level holds a descriptor open */
#define PATH_MAX_LEN 4096

/* ---- growable output text ------------------------------------------------ */

typedef struct tbuf { char *s; size_t len, cap; } tbuf;

static int tb_put(tbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *s;
        while (b->len + n + 1 > cap) cap *= 2;
        if (!(s = realloc(b->s, cap))) return AO_EMEM;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return AO_OK;
}

static int tb_printf(tbuf *b, const char *fmt, ...) AO_PRINTF(2, 3);
static int tb_printf(tbuf *b, const char *fmt, ...)
{
    char tmp[512], *big = NULL;
    va_list ap;
    int n, rc;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return AO_EINTERNAL;
    if ((size_t)n < sizeof tmp) return tb_put(b, tmp, (size_t)n);
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0) return AO_EMEM;
    rc = tb_put(b, big, (size_t)n);
    free(big);
    return rc;
}

/* Appends text with invalid UTF-8 bytes replaced by U+FFFD: the result
 * goes into JSON for the model, which cannot carry raw Latin-1 bytes. */
static int tb_put_utf8(tbuf *b, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, start = 0;
    int rc = AO_OK;
    while (i < n && rc == AO_OK) {
        size_t k = ao_utf8_seq(u + i, n - i);
        if (k) { i += k; continue; }
        rc = tb_put(b, p + start, i - start);
        if (rc == AO_OK) rc = tb_put(b, "\xEF\xBF\xBD", 3);
        start = ++i;
    }
    if (rc == AO_OK) rc = tb_put(b, p + start, i - start);
    return rc;
}

/* ---- sandbox paths --------------------------------------------------------- */

typedef struct wpath {
    const char *root;    /* host directory of /workspace or /data */
    int writable;
    char *buf;           /* the components, NUL-separated */
    char **comp;
    size_t n;
    char *shown;         /* "/workspace/a/b", for messages */
} wpath;

static void wpath_free(wpath *p)
{
    free(p->buf);
    free(p->comp);
    free(p->shown);
    memset(p, 0, sizeof *p);
}

/* The shown path of the first k components. */
static char *shown_prefix(const wpath *p, size_t k)
{
    tbuf b = {0};
    size_t i;
    int rc = tb_printf(&b, "%s", p->writable ? "/workspace" : "/data");
    for (i = 0; i < k && rc == AO_OK; i++) rc = tb_printf(&b, "/%s", p->comp[i]);
    if (rc != AO_OK) { free(b.s); return NULL; }
    return b.s;
}

static int parse_path(const ao_wsfs *w, const char *path, wpath *p, ao_err *err)
{
    const char *rest;
    char *s, *tok, *save = NULL;
    size_t i, len;
    memset(p, 0, sizeof *p);
    if (!w || !w->workspace) return ao_err_set(err, AO_EUSAGE, "wsfs: no workspace configured");
    if (!path || !*path) return ao_err_set(err, AO_EDATA, "empty path; give a path under /workspace or /data");
    len = strlen(path);
    if (len > PATH_MAX_LEN) return ao_err_set(err, AO_EDATA, "path is %zu bytes long; the limit is %d", len, PATH_MAX_LEN);
    for (i = 0; i < len; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
            return ao_err_set(err, AO_EDATA, "path contains a control character (byte 0x%02x at offset %zu); use plain file names",
                              (unsigned char)path[i], i);
    if (strncmp(path, "/workspace", 10) == 0 && (path[10] == '/' || path[10] == '\0')) {
        p->root = w->workspace;
        p->writable = 1;
        rest = path + 10;
    } else if (strncmp(path, "/data", 5) == 0 && (path[5] == '/' || path[5] == '\0')) {
        if (!w->data) return ao_err_set(err, AO_EDATA, "%s: there is no /data in this workspace", path);
        p->root = w->data;
        p->writable = 0;
        rest = path + 5;
    } else if (path[0] == '/') {
        return ao_err_set(err, AO_EDATA, "%s: path must be under /workspace or /data", path);
    } else {
        p->root = w->workspace;
        p->writable = 1;
        rest = path;
    }
    if (!(p->buf = strdup(rest)) || !(p->comp = calloc(len / 2 + 2, sizeof *p->comp))) goto ERROR_MEM;
    /* Repeated slashes and "." collapse; ".." never does: even a harmless
     * "a/../b" is refused, so there is one rule to state to the model. */
    for (s = p->buf; (tok = strtok_r(s, "/", &save)); s = NULL) {
        if (strcmp(tok, ".") == 0) continue;
        if (strcmp(tok, "..") == 0) {
            wpath_free(p);
            return ao_err_set(err, AO_EDATA, "%s: '..' is not allowed in paths", path);
        }
        p->comp[p->n++] = tok;
    }
    if (!(p->shown = shown_prefix(p, p->n))) goto ERROR_MEM;
    return AO_OK;
ERROR_MEM:
    wpath_free(p);
    return ao_err_set(err, AO_EMEM, "out of memory");
}

/* Why component k (0-based) of p could not be opened. */
static int comp_err(const wpath *p, int dirfd, size_t k, int e, ao_err *err)
{
    char *at = shown_prefix(p, k + 1);
    struct stat st;
    int rc;
    if (!at) return ao_err_set(err, AO_EMEM, "out of memory");
    /* O_NOFOLLOW|O_DIRECTORY on a link may say ENOTDIR or ELOOP: ask. */
    if ((e == ELOOP || e == ENOTDIR) && fstatat(dirfd, p->comp[k], &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) e = ELOOP;
        else if (!S_ISDIR(st.st_mode)) e = ENOTDIR;
    }
    switch (e) {
    case ELOOP:
        rc = ao_err_set(err, AO_EDATA, "%s is a symbolic link; links are not followed (use the real path)", at);
        break;
    case ENOENT:
        rc = ao_err_set(err, AO_EDATA, "%s: no such file or directory", at);
        break;
    case ENOTDIR:
        rc = ao_err_set(err, AO_EDATA, "%s is not a directory", at);
        break;
    case EACCES: case EPERM:
        rc = ao_err_set(err, AO_EDATA, "%s: permission denied", at);
        break;
    case ENAMETOOLONG:
        rc = ao_err_set(err, AO_EDATA, "%s: name too long", at);
        break;
    case ENOMEM:
        rc = ao_err_set(err, AO_EMEM, "out of memory");
        break;
    default:
        rc = ao_err_set(err, AO_EIO, "%s: %s", at, strerror(e));
        break;
    }
    free(at);
    return rc;
}

/* Opens the directory holding the last component (or the root itself
 * when ndirs is 0), descending with O_NOFOLLOW. create: missing
 * directories are made (0755). *out: the descriptor. */
static int open_dirs(const wpath *p, size_t ndirs, int create, int *out, ao_err *err)
{
    int fd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), next;
    size_t i;
    *out = -1;
    if (fd < 0)
        return ao_err_set(err, AO_EIO, "%s: cannot open the %s root: %s", p->writable ? "/workspace" : "/data",
                          p->writable ? "workspace" : "data", strerror(errno));
    for (i = 0; i < ndirs; i++) {
        next = openat(fd, p->comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            /* EEXIST: made meanwhile (perhaps as a link) -- the open below
             * still refuses anything but a real directory. */
            if (mkdirat(fd, p->comp[i], 0755) != 0 && errno != EEXIST) {
                int e = errno, rc = comp_err(p, fd, i, e, err);
                close(fd);
                return rc;
            }
            next = openat(fd, p->comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int e = errno, rc = comp_err(p, fd, i, e, err);
            close(fd);
            return rc;
        }
        close(fd);
        fd = next;
    }
    *out = fd;
    return AO_OK;
}

/* Opens an existing file for reading: a regular file only (a FIFO would
 * block, a device could be anything). */
static int open_file(const wpath *p, int *dirfd, int *out, ao_err *err)
{
    int rc, fd;
    struct stat st;
    *out = -1;
    if (p->n == 0) return ao_err_set(err, AO_EDATA, "%s is a directory (use list_files)", p->shown);
    if ((rc = open_dirs(p, p->n - 1, 0, dirfd, err)) < 0) return rc;
    fd = openat(*dirfd, p->comp[p->n - 1], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return comp_err(p, *dirfd, p->n - 1, errno, err);
    if (fstat(fd, &st) != 0) {
        rc = ao_err_set(err, AO_EIO, "%s: %s", p->shown, strerror(errno));
        close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) rc = ao_err_set(err, AO_EDATA, "%s is a directory (use list_files)", p->shown);
    else if (!S_ISREG(st.st_mode)) rc = ao_err_set(err, AO_EDATA, "%s is not a regular file", p->shown);
    if (rc < 0) { close(fd); return rc; }
    /* Back to blocking reads now that we know it is a plain file. */
    if (fcntl(fd, F_SETFL, 0) != 0) { /* regular files never block anyway */ }
    *out = fd;
    return AO_OK;
}

/* Reads a whole (small) file. Refuses files over limit bytes. */
static int slurp(int fd, const wpath *p, size_t limit, char **data, size_t *len, ao_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    ssize_t r;
    *data = NULL;
    *len = 0;
    if (fstat(fd, &st) != 0) return ao_err_set(err, AO_EIO, "%s: %s", p->shown, strerror(errno));
    if ((uintmax_t)st.st_size > limit)
        return ao_err_set(err, AO_EDATA, "%s is %jd bytes; files over %zu bytes cannot be edited this way",
                          p->shown, (intmax_t)st.st_size, limit);
    if (!(buf = malloc(limit + 1))) return ao_err_set(err, AO_EMEM, "out of memory");
    while (n <= limit && (r = read(fd, buf + n, limit + 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            free(buf);
            return ao_err_set(err, AO_EIO, "%s: read error: %s", p->shown, strerror(errno));
        }
        n += (size_t)r;
    }
    if (n > limit) {   /* grew while we read */
        free(buf);
        return ao_err_set(err, AO_EDATA, "%s is over %zu bytes; files this large cannot be edited this way", p->shown, limit);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return AO_OK;
}

/* Writes content as dirfd/name: a new file under a temporary name, then
 * renamed over the old one, so a reader never sees half a file and an
 * existing link is replaced, never written through. */
static int write_at(const wpath *p, int dirfd, const char *content, size_t len, mode_t mode, ao_err *err)
{
    const char *name = p->comp[p->n - 1];
    char tmp[64];
    struct timespec ts;
    int fd = -1, rc = AO_OK, tries;
    size_t off = 0;
    for (tries = 0; ; tries++) {
        /* A short name: NAME itself may be near NAME_MAX. */
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(tmp, sizeof tmp, ".wsfs.%ld.%lx.%d", (long)getpid(), (unsigned long)ts.tv_nsec, tries);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST || tries >= 100) break;
    }
    if (fd < 0) return ao_err_set(err, AO_EIO, "%s: cannot create a temporary file: %s", p->shown, strerror(errno));
    while (off < len) {
        ssize_t r = write(fd, content + off, len - off);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = ao_err_set(err, errno == ENOSPC || errno == EDQUOT ? AO_EDATA : AO_EIO, "%s: write error: %s",
                            p->shown, strerror(errno));
            goto DONE;
        }
        off += (size_t)r;
    }
    /* fchmod, not the open mode, so the umask does not decide. */
    if (fchmod(fd, mode) != 0) {
        rc = ao_err_set(err, AO_EIO, "%s: cannot set the mode: %s", p->shown, strerror(errno));
        goto DONE;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = ao_err_set(err, AO_EIO, "%s: write error: %s", p->shown, strerror(errno));
        goto DONE;
    }
    fd = -1;
    if (renameat(dirfd, tmp, dirfd, name) != 0) {
        int e = errno;
        if (e == EISDIR || e == ENOTEMPTY || e == EEXIST)
            rc = ao_err_set(err, AO_EDATA, "%s is a directory; it cannot be replaced by a file", p->shown);
        else
            rc = ao_err_set(err, AO_EIO, "%s: cannot rename into place: %s", p->shown, strerror(e));
        goto DONE;
    }
    return AO_OK;
DONE:
    if (fd >= 0) close(fd);
    unlinkat(dirfd, tmp, 0);
    return rc;
}

/* What the target of a write is now: refuse links and directories. */
static int check_target(const wpath *p, int dirfd, struct stat *st, int *exists, ao_err *err)
{
    *exists = 0;
    if (fstatat(dirfd, p->comp[p->n - 1], st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) return AO_OK;
        return comp_err(p, dirfd, p->n - 1, errno, err);
    }
    *exists = 1;
    if (S_ISLNK(st->st_mode)) return comp_err(p, dirfd, p->n - 1, ELOOP, err);
    if (S_ISDIR(st->st_mode)) return ao_err_set(err, AO_EDATA, "%s is a directory; it cannot be replaced by a file", p->shown);
    if (!S_ISREG(st->st_mode)) return ao_err_set(err, AO_EDATA, "%s is not a regular file", p->shown);
    return AO_OK;
}

static int refuse_readonly(const wpath *p, ao_err *err)
{
    return ao_err_set(err, AO_EDATA, "%s: /data is read-only; write under /workspace instead", p->shown);
}

/* ---- read_file --------------------------------------------------------------- */

int ao_wsfs_read(const ao_wsfs *w, const char *path, long first, long last, char **text, ao_err *err)
{
    wpath p;
    int dirfd = -1, fd = -1, rc;
    FILE *fp = NULL;
    tbuf out = {0};
    char *line = NULL;
    size_t cap = 0, max_read;
    ssize_t n;
    long lineno = 0, shown = 0;
    unsigned char probe[BINARY_PROBE];
    ssize_t np;
    if (text) *text = NULL;
    if ((rc = parse_path(w, path, &p, err)) < 0) return rc;
    max_read = w->max_read ? w->max_read : DEFAULT_MAX_READ;
    if (first < 1) first = 1;
    if (last > 0 && last < first) {
        rc = ao_err_set(err, AO_EDATA, "%s: last line %ld is before first line %ld", p.shown, last, first);
        goto DONE;
    }
    if ((rc = open_file(&p, &dirfd, &fd, err)) < 0) goto DONE;
    /* Binary files would be noise to the model (and invalid in JSON). */
    do np = pread(fd, probe, sizeof probe, 0); while (np < 0 && errno == EINTR);
    if (np < 0) { rc = ao_err_set(err, AO_EIO, "%s: read error: %s", p.shown, strerror(errno)); goto DONE; }
    if (memchr(probe, '\0', (size_t)np)) {
        struct stat st;
        rc = fstat(fd, &st) == 0 ? tb_printf(&out, "[%s is a binary file (%jd bytes); its content is not shown]",
                                             p.shown, (intmax_t)st.st_size)
                                 : tb_printf(&out, "[%s is a binary file; its content is not shown]", p.shown);
        if (rc < 0) goto ERROR_MEM;
        goto OK;
    }
    if (!(fp = fdopen(fd, "r"))) { rc = ao_err_set(err, AO_EIO, "%s: %s", p.shown, strerror(errno)); goto DONE; }
    fd = -1;
    while ((n = getline(&line, &cap, fp)) > 0) {
        size_t len = (size_t)n, before = out.len;
        char num[32];
        int nl;
        lineno++;
        if (lineno < first) continue;
        if (last > 0 && lineno > last) break;
        nl = line[len - 1] == '\n';
        if (nl) len--;
        snprintf(num, sizeof num, "%ld\t", lineno);
        if (out.len + strlen(num) + len + 1 > max_read) {
            if (shown == 0) {
                /* A single line over the cap (minified JSON, a FASTA
                 * record) would otherwise be unreachable: show its start,
                 * cut on a character boundary. */
                size_t cut = max_read > strlen(num) + 1 ? max_read - strlen(num) - 1 : 0;
                while (cut > 0 && ((unsigned char)line[cut] & 0xC0) == 0x80) cut--;
                if (tb_put(&out, num, strlen(num)) < 0 || tb_put_utf8(&out, line, cut) < 0 ||
                    tb_printf(&out, "\n[line %ld cut after %zu of its %zu bytes", lineno, cut, len) < 0)
                    goto ERROR_MEM;
                /* Point on only if there is a next line to ask for. */
                if ((last <= 0 || lineno < last) && getline(&line, &cap, fp) > 0) {
                    if (tb_printf(&out, "; ask for lines %ld.. to continue]", lineno + 1) < 0) goto ERROR_MEM;
                } else if (tb_put(&out, "]", 1) < 0) goto ERROR_MEM;
                shown++;
                goto OK;
            }
            out.len = before;
            if (tb_printf(&out, "[truncated at line %ld; ask for lines %ld.. to continue]", lineno, lineno) < 0) goto ERROR_MEM;
            goto OK;
        }
        if (tb_put(&out, num, strlen(num)) < 0 || tb_put_utf8(&out, line, len) < 0 || tb_put(&out, "\n", 1) < 0)
            goto ERROR_MEM;
        shown++;
    }
    if (ferror(fp)) { rc = ao_err_set(err, AO_EIO, "%s: read error: %s", p.shown, strerror(errno)); goto DONE; }
    if (shown == 0) {
        if (lineno == 0 && first == 1) {
            if (tb_printf(&out, "[%s is empty]", p.shown) < 0) goto ERROR_MEM;
        } else {
            rc = ao_err_set(err, AO_EDATA, "%s: line %ld is past the end; the file has %ld line%s", p.shown, first,
                            lineno, lineno == 1 ? "" : "s");
            goto DONE;
        }
    }
OK:
    if (!out.s && tb_put(&out, "", 0) < 0) goto ERROR_MEM;
    if (text) { *text = out.s; out.s = NULL; }
    rc = AO_OK;
    goto DONE;
ERROR_MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    if (fp) fclose(fp);
    if (fd >= 0) close(fd);
    if (dirfd >= 0) close(dirfd);
    free(line);
    free(out.s);
    wpath_free(&p);
    return rc;
}

/* ---- write_file ---------------------------------------------------------------- */

int ao_wsfs_write(const ao_wsfs *w, const char *path, const char *content, size_t len, int executable, ao_err *err)
{
    wpath p;
    int dirfd = -1, rc, exists;
    size_t max_write;
    struct stat st;
    if ((rc = parse_path(w, path, &p, err)) < 0) return rc;
    max_write = w->max_write ? w->max_write : DEFAULT_MAX_WRITE;
    if (!p.writable) { rc = refuse_readonly(&p, err); goto DONE; }
    if (p.n == 0) { rc = ao_err_set(err, AO_EDATA, "%s is a directory; give a file name", p.shown); goto DONE; }
    if (len > 0 && !content) { rc = ao_err_set(err, AO_EUSAGE, "wsfs: no content"); goto DONE; }
    if (len > max_write) {
        rc = ao_err_set(err, AO_EDATA, "%s: content is %zu bytes, over the %zu-byte limit of one write; nothing written",
                        p.shown, len, max_write);
        goto DONE;
    }
    if ((rc = open_dirs(&p, p.n - 1, 1, &dirfd, err)) < 0) goto DONE;
    if ((rc = check_target(&p, dirfd, &st, &exists, err)) < 0) goto DONE;
    rc = write_at(&p, dirfd, content ? content : "", len, executable ? 0755 : 0644, err);
DONE:
    if (dirfd >= 0) close(dirfd);
    wpath_free(&p);
    return rc;
}

/* ---- replace_in_file ------------------------------------------------------------- */

int ao_wsfs_replace(const ao_wsfs *w, const char *path, const char *old, const char *new_text, int expected, ao_err *err)
{
    wpath p;
    int dirfd = -1, fd = -1, rc;
    char *data = NULL, *res = NULL;
    size_t len, olen, nlen, count = 0, max_write, rlen, i;
    const char *s, *hit;
    struct stat st;
    if ((rc = parse_path(w, path, &p, err)) < 0) return rc;
    max_write = w->max_write ? w->max_write : DEFAULT_MAX_WRITE;
    if (!p.writable) { rc = refuse_readonly(&p, err); goto DONE; }
    if (!old || !*old) { rc = ao_err_set(err, AO_EDATA, "%s: the text to replace is empty", p.shown); goto DONE; }
    if (expected < 1) { rc = ao_err_set(err, AO_EDATA, "%s: the expected count must be at least 1, not %d", p.shown, expected); goto DONE; }
    if (!new_text) new_text = "";
    olen = strlen(old);
    nlen = strlen(new_text);
    if ((rc = open_file(&p, &dirfd, &fd, err)) < 0) goto DONE;
    if ((rc = slurp(fd, &p, max_write, &data, &len, err)) < 0) goto DONE;
    if (fstat(fd, &st) != 0) { rc = ao_err_set(err, AO_EIO, "%s: %s", p.shown, strerror(errno)); goto DONE; }
    /* Non-overlapping occurrences, left to right, as the replacement sees them. */
    for (s = data; (hit = memmem(s, len - (size_t)(s - data), old, olen)); s = hit + olen) count++;
    if (count != (size_t)expected) {
        rc = ao_err_set(err, AO_EDATA, "%s: found %zu occurrence%s of the text, expected %d; nothing changed%s", p.shown,
                        count, count == 1 ? "" : "s", expected,
                        count == 0 ? " (the text must match exactly, whitespace and indentation included)" : "");
        goto DONE;
    }
    rlen = len - count * olen + count * nlen;
    if (rlen > max_write) {
        rc = ao_err_set(err, AO_EDATA, "%s: the result would be %zu bytes, over the %zu-byte limit; nothing changed",
                        p.shown, rlen, max_write);
        goto DONE;
    }
    if (!(res = malloc(rlen + 1))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    for (s = data, i = 0; (hit = memmem(s, len - (size_t)(s - data), old, olen)); s = hit + olen) {
        memcpy(res + i, s, (size_t)(hit - s));
        i += (size_t)(hit - s);
        memcpy(res + i, new_text, nlen);
        i += nlen;
    }
    memcpy(res + i, s, len - (size_t)(s - data));
    /* Keep the file's mode (an executable script stays executable). */
    rc = write_at(&p, dirfd, res, rlen, st.st_mode & 07777, err);
DONE:
    if (fd >= 0) close(fd);
    if (dirfd >= 0) close(dirfd);
    free(data);
    free(res);
    wpath_free(&p);
    return rc;
}

/* ---- list_files -------------------------------------------------------------------- */

typedef struct lctx {
    tbuf out;
    int entries;
    int full;            /* the entry cap was reached */
} lctx;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends a name for display: control characters (a sandboxed command
 * can create "a\nb") become '?', so one entry stays one line. */
static int put_name(tbuf *b, const char *name)
{
    size_t i, n = strlen(name);
    char *c = malloc(n + 1);
    int rc;
    if (!c) return AO_EMEM;
    for (i = 0; i < n; i++) c[i] = ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) ? '?' : name[i];
    rc = tb_put_utf8(b, c, n);
    free(c);
    return rc;
}

/* Lists directory fd (owned: closed here) at the given level. */
static int list_dir(lctx *l, int fd, int level, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = AO_OK;
    if (!d) { close(fd); return AO_EIO; }
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof *names);
            if (!nn) { rc = AO_EMEM; goto DONE; }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) { rc = AO_EMEM; goto DONE; }
        n++;
    }
    /* Sorted, so the same tree always lists the same way. */
    if (n > 1) qsort(names, n, sizeof *names, cmp_names);
    for (i = 0; i < n && rc == AO_OK; i++) {
        struct stat st;
        if (l->entries >= LIST_MAX_ENTRIES) { l->full = 1; break; }
        l->entries++;
        if ((rc = tb_printf(&l->out, "%*s", 2 * level, "")) < 0 || (rc = put_name(&l->out, names[i])) < 0) break;
        if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = tb_printf(&l->out, " (cannot stat: %s)\n", strerror(errno));
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            rc = tb_printf(&l->out, "@\n");
        } else if (S_ISDIR(st.st_mode)) {
            int sub;
            if ((rc = tb_printf(&l->out, "/\n")) < 0) break;
            if (level + 1 >= depth) continue;
            sub = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                rc = tb_printf(&l->out, "%*s(cannot open: %s)\n", 2 * (level + 1), "", strerror(errno));
                continue;
            }
            rc = list_dir(l, sub, level + 1, depth);
        } else if (S_ISREG(st.st_mode)) {
            rc = tb_printf(&l->out, " (%jd bytes)\n", (intmax_t)st.st_size);
        } else {
            rc = tb_printf(&l->out, " (special file)\n");
        }
    }
DONE:
    for (i = 0; i < n; i++) free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int ao_wsfs_list(const ao_wsfs *w, const char *path, int depth, char **text, ao_err *err)
{
    wpath p;
    int dirfd = -1, fd = -1, rc;
    lctx l;
    memset(&l, 0, sizeof l);
    if (text) *text = NULL;
    if ((rc = parse_path(w, path ? path : "/workspace", &p, err)) < 0) return rc;
    if (depth < 1) depth = 1;
    if (depth > LIST_MAX_DEPTH) depth = LIST_MAX_DEPTH;
    if (p.n == 0) {
        if ((rc = open_dirs(&p, 0, 0, &fd, err)) < 0) goto DONE;
    } else {
        struct stat st;
        if ((rc = open_dirs(&p, p.n - 1, 0, &dirfd, err)) < 0) goto DONE;
        fd = openat(dirfd, p.comp[p.n - 1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            /* A plain file: list just it, as ls does. */
            if (e == ENOTDIR && fstatat(dirfd, p.comp[p.n - 1], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
                if (tb_printf(&l.out, "%s (%jd bytes)\n", p.shown, (intmax_t)st.st_size) < 0) goto ERROR_MEM;
                goto OK;
            }
            rc = comp_err(&p, dirfd, p.n - 1, e, err);
            goto DONE;
        }
    }
    if (tb_printf(&l.out, "%s/\n", p.n ? p.shown : p.writable ? "/workspace" : "/data") < 0) goto ERROR_MEM;
    rc = list_dir(&l, fd, 1, depth + 1);
    fd = -1;
    if (rc == AO_EMEM) goto ERROR_MEM;
    if (rc < 0) { rc = ao_err_set(err, AO_EIO, "%s: cannot list: %s", p.shown, strerror(errno)); goto DONE; }
    if (l.entries == 0 && tb_printf(&l.out, "  (empty)\n") < 0) goto ERROR_MEM;
    if (l.full && tb_printf(&l.out, "[listing stopped at %d entries; list a subdirectory or use a smaller depth]\n",
                            LIST_MAX_ENTRIES) < 0)
        goto ERROR_MEM;
OK:
    if (text) { *text = l.out.s; l.out.s = NULL; }
    rc = AO_OK;
    goto DONE;
ERROR_MEM:
    rc = ao_err_set(err, AO_EMEM, "out of memory");
DONE:
    if (fd >= 0) close(fd);
    if (dirfd >= 0) close(dirfd);
    free(l.out.s);
    wpath_free(&p);
    return rc;
}

/* ---- host paths ---------------------------------------------------------------------- */

int ao_wsfs_check_file(const ao_wsfs *w, const char *path, ao_err *err)
{
    wpath p;
    int dirfd = -1, fd = -1, rc;
    if ((rc = parse_path(w, path, &p, err)) < 0) return rc;
    rc = open_file(&p, &dirfd, &fd, err);
    if (fd >= 0) close(fd);
    if (dirfd >= 0) close(dirfd);
    wpath_free(&p);
    return rc;
}

char *ao_wsfs_host_path(const ao_wsfs *w, const char *path, int *writable, ao_err *err)
{
    wpath p;
    int fd = -1, next, rc;
    size_t i;
    tbuf out = {0};
    struct stat st;
    if (parse_path(w, path, &p, err) < 0) return NULL;
    /* Walk what exists: a link anywhere on the way is refused even though
     * nothing is opened for the caller, since the caller's code would
     * follow it. Below the first missing component nothing can be a link. */
    if (open_dirs(&p, 0, 0, &fd, err) < 0) goto ERROR;
    for (i = 0; i < p.n; i++) {
        if (fstatat(fd, p.comp[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) break;
            comp_err(&p, fd, i, errno, err);
            goto ERROR;
        }
        if (S_ISLNK(st.st_mode)) { comp_err(&p, fd, i, ELOOP, err); goto ERROR; }
        if (i + 1 == p.n) break;
        if (!S_ISDIR(st.st_mode)) { comp_err(&p, fd, i, ENOTDIR, err); goto ERROR; }
        next = openat(fd, p.comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) { comp_err(&p, fd, i, errno, err); goto ERROR; }
        close(fd);
        fd = next;
    }
    rc = tb_printf(&out, "%s", p.root);
    for (i = 0; i < p.n && rc == AO_OK; i++)
        rc = tb_printf(&out, "%s%s", out.len && out.s[out.len - 1] == '/' ? "" : "/", p.comp[i]);
    if (rc < 0) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (writable) *writable = p.writable;
    close(fd);
    wpath_free(&p);
    return out.s;
ERROR:
    if (fd >= 0) close(fd);
    free(out.s);
    wpath_free(&p);
    return NULL;
}

/* Adds directory fd (shown as `shown`, depth levels below /workspace) to u. */
static void measure_at(int fd, const char *shown, int depth, ao_wsfs_usage *u)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    if (!d) { close(fd); return; }
    while ((e = readdir(d))) {
        struct stat st;
        char *sub = NULL;
        int c;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;   /* gone meanwhile */
        u->entries++;
        if (S_ISREG(st.st_mode)) u->bytes += st.st_size;
        if (!S_ISDIR(st.st_mode)) continue;
        /* (the depth bound keeps the shown path within 64 names) */
        if (asprintf(&sub, "%s/%s", shown, e->d_name) < 0) { sub = NULL; if (!u->odd[0]) snprintf(u->odd, sizeof u->odd, "out of memory"); continue; }
        if (depth + 1 >= AO_WSFS_USAGE_DEPTH) {
            if (!u->odd[0]) snprintf(u->odd, sizeof u->odd, "%.400s%s: nested deeper than %d levels", sub, strlen(sub) > 400 ? "..." : "", AO_WSFS_USAGE_DEPTH);
        } else if ((c = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            if (!u->odd[0]) snprintf(u->odd, sizeof u->odd, "%.400s%s: cannot be opened (%s)", sub, strlen(sub) > 400 ? "..." : "", strerror(errno));
        } else {
            measure_at(c, sub, depth + 1, u);
        }
        free(sub);
    }
    closedir(d);
}

int ao_wsfs_measure(const ao_wsfs *w, ao_wsfs_usage *u, ao_err *err)
{
    int fd;
    memset(u, 0, sizeof *u);
    if (!w || !w->workspace) return ao_err_set(err, AO_EUSAGE, "wsfs: no workspace configured");
    if ((fd = open(w->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return ao_err_set(err, AO_EIO, "%s: cannot open the workspace: %s", w->workspace, strerror(errno));
    measure_at(fd, "/workspace", 0, u);
    return AO_OK;
}
