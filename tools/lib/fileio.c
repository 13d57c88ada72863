/* fileio.c — outputs that appear whole or not at all (fileio.h):
 * temporary files and directories renamed into place on commit, path
 * helpers, and finding the installed prompts/ and schemas/ directories. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    ao_outfile *of = calloc(1, sizeof *of);
    if (!of) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    if (!(of->path = strdup(path))) goto ERROR_MEM;
    if (strcmp(path, "-") == 0) {
        of->fp = stdout;
        return of;
    }
    if (!(of->tmp = tmp_name(path))) goto ERROR_MEM;
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
    int bad = ferror(of->fp);
    if (fflush(of->fp) != 0) bad = 1;
    if (of->fp == stdout) {
        of->committed = 1;
        return bad ? ao_err_set(err, AO_EIO, "error writing to standard output") : AO_OK;
    }
    if (fclose(of->fp) != 0) bad = 1;
    of->fp = NULL;
    if (bad) return ao_err_set(err, AO_EIO, "%s: write error: %s", of->path, strerror(errno));
    if (rename(of->tmp, of->path) != 0)
        return ao_err_set(err, AO_EIO, "%s: cannot rename into place: %s", of->path, strerror(errno));
    of->committed = 1;
    return AO_OK;
}

void ao_outfile_destroy(ao_outfile *of)
{
    if (!of) return;
    if (of->fp && of->fp != stdout) fclose(of->fp);
    if (of->tmp && !of->committed) unlink(of->tmp);
    free(of->path);
    free(of->tmp);
    free(of);
}

int ao_mkdir_p(const char *path, ao_err *err)
{
    char *p = strdup(path), *s;
    if (!p) return ao_err_set(err, AO_EMEM, "out of memory");
    for (s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
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

static int rm_one(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
    (void)sb; (void)typeflag; (void)ftwbuf;
    remove(fpath);
    return 0;
}

int ao_rm_rf(const char *path)
{
    if (!ao_file_exists(path)) return AO_OK;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? AO_OK : AO_EIO;
}

ao_outdir *ao_outdir_create(const char *path, int replace, ao_err *err)
{
    ao_outdir *od = calloc(1, sizeof *od);
    struct stat st;
    if (!od) { ao_err_set(err, AO_EMEM, "out of memory"); return NULL; }
    od->replace = replace;
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
    if (ao_mkdir_p(od->tmp, err) < 0) goto ERROR;
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
    return AO_OK;
}

void ao_outdir_destroy(ao_outdir *od)
{
    if (!od) return;
    if (od->tmp && !od->committed) ao_rm_rf(od->tmp);
    free(od->path);
    free(od->tmp);
    free(od);
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
