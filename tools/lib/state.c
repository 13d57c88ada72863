/* state.c — state directories: the hard-linked copy of the previous
 * state, atomic writes inside it, and the commit that writes run.json and
 * history.json and renames the whole into place (state.h).
 *
 * A state's workspace holds whatever the agent's sandboxed commands made:
 * paths longer than PATH_MAX, directories nobody may read, names that look
 * like our temporaries, a directory where the state writes a file. So the
 * copy and the unsharing walk descriptor by descriptor (openat: no path
 * grows with the depth) and skip, with a warning, what they cannot carry;
 * every file the state writes goes through a temporary created
 * exclusively under a fresh name, and replaces whatever entry stood at its
 * name. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "agentomics/log.h"
#include "agentomics/state.h"

/* Directory levels a state copy descends: each level holds three
 * descriptors open, and no tool of the agent's reaches deeper
 * (list_files: 32 levels). */
#define STATE_MAX_DEPTH 64
#define STATE_TMP_TRIES 100

static int copy_fd(int in, int out)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        if (write(out, buf, (size_t)n) != n) return -1;
    }
    return 0;
}

/* Opens a fresh temporary beside `name` in dir, created exclusively
 * ("NAME.ao-PID-N"; its name goes to tmp), so no file, link or directory
 * a sandboxed command left under a guessable name is written through. */
static int tmp_at(int dir, const char *name, mode_t mode, char *tmp, size_t size)
{
    unsigned i, base = (unsigned)(time(NULL) % 1000000) * STATE_TMP_TRIES;
    for (i = 0; i < STATE_TMP_TRIES; i++) {
        int fd;
        if ((size_t)snprintf(tmp, size, "%s.ao-%ld-%u", name, (long)getpid(), base + i) >= size) { errno = ENAMETOOLONG; return -1; }
        if ((fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777)) >= 0) return fd;
        if (errno != EEXIST) return -1;
    }
    return -1;
}

/* Renames tmp over name in dir. Anything but a file standing at name (a
 * directory called recipe.json) can only come from a sandboxed command
 * in the workspace: the state's own file wins, and the user is told. */
static int replace_at(int dir, const char *tmp, const char *name, const char *shown)
{
    struct stat st;
    if (renameat(dir, tmp, dir, name) == 0) return 0;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISREG(st.st_mode)) return -1;
    ao_warn("%s: the agent left a %s there; it is replaced by the file the state writes", shown,
            S_ISDIR(st.st_mode) ? "directory" : "special file");
    if (ao_rm_rf_at(dir, name) < 0) return -1;
    return renameat(dir, tmp, dir, name);
}

/* Writes len bytes atomically at path (a fresh temporary, then a rename
 * over whatever stood there). */
static int write_replace(const char *path, const char *buf, size_t len, mode_t mode, ao_err *err)
{
    char *dir = strdup(path), *slash, tmp[512];
    const char *base;
    int dfd = -1, fd = -1, rc = AO_OK;
    if (!dir) return ao_err_set(err, AO_EMEM, "out of memory");
    if ((slash = strrchr(dir, '/'))) { *slash = '\0'; base = path + (slash - dir) + 1; }
    else { free(dir); dir = strdup("."); base = path; if (!dir) return ao_err_set(err, AO_EMEM, "out of memory"); }
    tmp[0] = '\0';
    if ((dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (fd = tmp_at(dfd, base, mode, tmp, sizeof tmp)) < 0) {
        rc = ao_err_set(err, AO_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto DONE;
    }
    {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(fd, buf + off, len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { rc = ao_err_set(err, AO_EIO, "%s: cannot write: %s", path, strerror(errno)); break; }
            off += (size_t)w;
        }
    }
    if (close(fd) != 0 && rc == AO_OK) rc = ao_err_set(err, AO_EIO, "%s: cannot write: %s", path, strerror(errno));
    fd = -1;
    if (rc == AO_OK && replace_at(dfd, tmp, base, path) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (rc < 0) unlinkat(dfd, tmp, 0);
DONE:
    if (fd >= 0) close(fd);
    if (dfd >= 0) close(dfd);
    free(dir);
    return rc;
}

/* Mirrors directory sfd into dfd: directories made, files hard-linked
 * (copied when linking is impossible, e.g. across file systems); shown
 * names sfd in warnings. What cannot be carried (a directory that cannot
 * be opened, one nested past STATE_MAX_DEPTH) is skipped with a warning:
 * the rest of the state still moves on. */
static int mirror_at(int sfd, int dfd, const char *shown, int depth, ao_err *err)
{
    int fd = dup(sfd), rc = AO_OK;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    if (!d) {
        if (fd >= 0) close(fd);
        return ao_err_set(err, AO_EIO, "%s: cannot read: %s", shown, strerror(errno));
    }
    while (rc == AO_OK && (errno = 0, e = readdir(d))) {
        struct stat st;
        char *sub = NULL;
        /* workflow-engine markers (e.g. .snakemake_timestamp) belong to the
         * old directory: linking them would make touching the new state
         * touch the old one */
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strncmp(e->d_name, ".snakemake", 10)) continue;
        if (asprintf(&sub, "%s/%s", shown, e->d_name) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); break; }
        if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) rc = ao_err_set(err, AO_EIO, "%s: %s", sub, strerror(errno));
        else if (S_ISDIR(st.st_mode)) {
            int s2 = -1, d2 = -1;
            if (depth >= STATE_MAX_DEPTH)
                ao_warn("%s: nested deeper than %d directories: not carried into the new state", sub, STATE_MAX_DEPTH);
            else if ((s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                ao_warn("%s: cannot be read (%s): not carried into the new state", sub, strerror(errno));
            else if (mkdirat(dfd, e->d_name, 0777) != 0 || (d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                rc = ao_err_set(err, AO_EIO, "%s: cannot create its copy: %s", sub, strerror(errno));
            else
                rc = mirror_at(s2, d2, sub, depth + 1, err);
            if (s2 >= 0) close(s2);
            if (d2 >= 0) close(d2);
        } else if (S_ISREG(st.st_mode) && linkat(sfd, e->d_name, dfd, e->d_name, 0) != 0) {
            int in = openat(sfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1;
            if (in < 0)
                ao_warn("%s: cannot be read (%s): not carried into the new state", sub, strerror(errno));
            else if ((out = openat(dfd, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777)) < 0 || copy_fd(in, out) != 0)
                rc = ao_err_set(err, AO_EIO, "%s: cannot copy: %s", sub, strerror(errno));
            if (out >= 0 && close(out) != 0 && rc == AO_OK) rc = ao_err_set(err, AO_EIO, "%s: cannot copy: %s", sub, strerror(errno));
            if (in >= 0) close(in);
        } /* symlinks and special files are not part of a state: skipped */
        free(sub);
    }
    if (rc == AO_OK && errno != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot read: %s", shown, strerror(errno));
    closedir(d);
    return rc;
}

static int mirror(const char *src, const char *dst, ao_err *err)
{
    int s = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC), d = -1, rc;
    if (s < 0) return ao_err_set(err, AO_EIO, "%s: cannot read: %s", src, strerror(errno));
    if ((d = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) rc = ao_err_set(err, AO_EIO, "%s: cannot open: %s", dst, strerror(errno));
    else rc = mirror_at(s, d, src, 0, err);
    close(s);
    if (d >= 0) close(d);
    return rc;
}

void ao_state_destroy(ao_state *s)
{
    if (!s) return;
    ao_outdir_destroy(s->od);
    free(s->dir);
    ao_run_config_clear(&s->run);
    ao_history_clear(&s->hist);
    free(s);
}

json_t *ao_state_read_json(const char *dir, const char *rel, ao_err *err)
{
    char *p = ao_path_join(dir, rel);
    json_error_t je;
    json_t *j;
    if (!p) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (!ao_file_exists(p)) { ao_err_set(err, AO_EIO, "%s: no such file", p); free(p); return NULL; }
    if (!(j = json_load_file(p, 0, &je))) ao_err_set(err, AO_EDATA, "%s:%d: invalid JSON: %s", p, je.line, je.text);
    free(p);
    return j;
}

ao_state *ao_state_begin(const char *in, const char *data, const char *out, int force, ao_err *err)
{
    ao_state *s = calloc(1, sizeof *s);
    if (!s) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    ao_history_init(&s->hist);
    if (in) {
        if (ao_runstate_read(in, &s->run, &s->hist, err) < 0) goto ERROR;
        if (data && ao_run_config_check_data(&s->run, data, err) < 0) goto ERROR;
    }
    if (!(s->od = ao_outdir_create(out, force, err))) goto ERROR;
    if (!(s->dir = strdup(s->od->tmp))) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    if (in && mirror(in, s->dir, err) < 0) goto ERROR;
    return s;
ERROR:
    ao_state_destroy(s);
    return NULL;
}

char *ao_state_path(ao_state *s, const char *rel, ao_err *err)
{
    return ao_outdir_path(s->od, rel, err);
}

int ao_state_write_json(ao_state *s, const char *rel, const json_t *j, ao_err *err)
{
    char *p = ao_state_path(s, rel, err), *text = NULL;
    int rc;
    if (!p) return err->code;
    /* never written in place: the file may be a hard link shared with the previous state */
    if (!(text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS))) rc = ao_err_set(err, AO_EMEM, "%s: out of memory", p);
    else rc = write_replace(p, text, strlen(text), 0644, err);
    free(text);
    free(p);
    return rc;
}

int ao_state_copy_file(ao_state *s, const char *src, const char *rel, ao_err *err)
{
    size_t len;
    char *buf = ao_read_file(src, &len, err), *p = NULL;
    int rc;
    if (!buf) return err->code;
    if (!(p = ao_state_path(s, rel, err))) rc = err->code;
    else rc = write_replace(p, buf, len, 0644, err);
    free(buf);
    free(p);
    return rc;
}

/* Replaces every regular file below directory dir (or its entry name,
 * when name is a file) that has other links by a private copy; shown
 * names it in messages. Bounded and skipping like mirror_at. */
static int unshare_at(int dir, const char *name, const char *shown, int depth, ao_err *err)
{
    struct stat st;
    int rc = AO_OK;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? AO_OK : ao_err_set(err, AO_EIO, "%s: %s", shown, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        int fd;
        DIR *d;
        struct dirent *e;
        if (depth >= STATE_MAX_DEPTH) { ao_warn("%s: nested deeper than %d directories: left as it is", shown, STATE_MAX_DEPTH); return AO_OK; }
        if ((fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            ao_warn("%s: cannot be read (%s): left as it is", shown, strerror(errno));
            return AO_OK;
        }
        if (!(d = fdopendir(fd))) { close(fd); return ao_err_set(err, AO_EIO, "%s: cannot read: %s", shown, strerror(errno)); }
        while (rc == AO_OK && (e = readdir(d))) {
            char *sub = NULL;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (asprintf(&sub, "%s/%s", shown, e->d_name) < 0) rc = ao_err_set(err, AO_EMEM, "out of memory");
            else rc = unshare_at(dirfd(d), e->d_name, sub, depth + 1, err);
            free(sub);
        }
        closedir(d);
    } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        char tmp[512];
        int in = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1;
        tmp[0] = '\0';
        if (in < 0 || (out = tmp_at(dir, name, st.st_mode, tmp, sizeof tmp)) < 0 || copy_fd(in, out) != 0)
            rc = ao_err_set(err, AO_EIO, "%s: cannot copy: %s", shown, strerror(errno));
        if (in >= 0) close(in);
        if (out >= 0 && close(out) != 0 && rc == AO_OK) rc = ao_err_set(err, AO_EIO, "%s: cannot copy: %s", shown, strerror(errno));
        if (rc == AO_OK && renameat(dir, tmp, dir, name) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot replace: %s", shown, strerror(errno));
        if (rc < 0 && out >= 0) unlinkat(dir, tmp, 0);
    }
    return rc;
}

int ao_state_unshare(ao_state *s, const char *rel, ao_err *err)
{
    char *p = ao_path_join(s->dir, rel);
    int rc;
    if (!p) return ao_err_set(err, AO_EMEM, "out of memory");
    rc = unshare_at(AT_FDCWD, p, p, 0, err);
    free(p);
    return rc;
}

int ao_state_record_step(ao_state *s, const char *step, json_t *output, double seconds, ao_err *err)
{
    ao_iteration *it = ao_history_current(&s->hist);
    char rel[64];
    int rc;
    if (!it) { json_decref(output); return ao_err_set(err, AO_EINTERNAL, "no iteration to record step %s in", step); }
    snprintf(rel, sizeof rel, "steps/%s.json", step);
    if ((rc = ao_state_write_json(s, rel, output, err)) < 0) { json_decref(output); return rc; }
    return ao_iteration_set_step(it, step, output, seconds) < 0 ? ao_err_set(err, AO_EMEM, "out of memory") : AO_OK;
}

int ao_state_split_paths(const char *state_dir, const char *data_dir, char **train, char **valid, ao_err *err)
{
    char *st = ao_path_join(state_dir, "split/train.tsv"), *sv = ao_path_join(state_dir, "split/valid.tsv");
    *train = *valid = NULL;
    if (!st || !sv) goto NOMEM;
    if (ao_file_exists(st) && ao_file_exists(sv)) { *train = st; *valid = sv; return AO_OK; }
    free(st);
    free(sv);
    st = sv = NULL;
    if (!(*train = ao_path_join(data_dir, "train.tsv")) || !(*valid = ao_path_join(data_dir, "valid.tsv"))) goto NOMEM;
    if (!ao_file_exists(*valid)) { free(*valid); *valid = NULL; }
    return AO_OK;
NOMEM:
    free(st); free(sv); free(*train); free(*valid);
    *train = *valid = NULL;
    return ao_err_set(err, AO_EMEM, "out of memory");
}

int ao_state_commit(ao_state *s, ao_err *err)
{
    json_t *run = ao_run_config_to_json(&s->run), *hist = ao_history_to_json(&s->hist);
    int rc;
    if (!run || !hist) rc = ao_err_set(err, AO_EMEM, "out of memory");
    else if ((rc = ao_state_write_json(s, "run.json", run, err)) >= 0) rc = ao_state_write_json(s, "history.json", hist, err);
    json_decref(run);
    json_decref(hist);
    if (rc < 0) return rc;
    {
        /* files every state has, even when no step wrote them yet */
        static const char *touch[] = {"transcript.jsonl", NULL};
        int i;
        for (i = 0; touch[i]; i++) {
            char *p = ao_state_path(s, touch[i], err);
            FILE *fp;
            if (!p) return err->code;
            if (!ao_file_exists(p) && (fp = fopen(p, "w"))) fclose(fp);
            free(p);
        }
        if (!ao_file_exists(s->dir) ) return ao_err_set(err, AO_EIO, "state directory vanished");
    }
    return ao_outdir_commit(s->od, err);
}
