/* state.c — state directories: the hard-linked copy of the previous
 * state, atomic writes inside it, and the commit that writes run.json and
 * history.json and renames the whole into place (state.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agentomics/state.h"

/* Recursively mirrors src into dst: directories made, files hard-linked
 * (copied when linking is impossible, e.g. across file systems). */
static int mirror(const char *src, const char *dst, ao_err *err)
{
    DIR *d = opendir(src);
    struct dirent *e;
    int rc = AO_OK;
    if (!d) return ao_err_set(err, AO_EIO, "%s: cannot read: %s", src, strerror(errno));
    while (rc == AO_OK && (e = readdir(d))) {
        char *s, *t;
        struct stat st;
        /* workflow-engine markers (e.g. .snakemake_timestamp) belong to the
         * old directory: linking them would make touching the new state
         * touch the old one */
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strncmp(e->d_name, ".snakemake", 10)) continue;
        s = ao_path_join(src, e->d_name);
        t = ao_path_join(dst, e->d_name);
        if (!s || !t) rc = ao_err_set(err, AO_EMEM, "out of memory");
        else if (lstat(s, &st) != 0) rc = ao_err_set(err, AO_EIO, "%s: %s", s, strerror(errno));
        else if (S_ISDIR(st.st_mode)) {
            if (mkdir(t, 0777) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot create: %s", t, strerror(errno));
            else rc = mirror(s, t, err);
        } else if (S_ISREG(st.st_mode)) {
            if (link(s, t) != 0) {
                size_t len;
                char *buf = ao_read_file(s, &len, err);
                FILE *fp;
                if (!buf) rc = err->code;
                else if (!(fp = fopen(t, "wb")) || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
                    rc = ao_err_set(err, AO_EIO, "%s: cannot copy", t);
                free(buf);
            }
        } /* symlinks and special files are not part of a state: skipped */
        free(s);
        free(t);
    }
    closedir(d);
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
    char *p = ao_state_path(s, rel, err), *tmp = NULL;
    int rc = AO_OK;
    if (!p) return err->code;
    /* never write through a hard link shared with the previous state */
    if (asprintf(&tmp, "%s.new", p) < 0) { free(p); return ao_err_set(err, AO_EMEM, "out of memory"); }
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || rename(tmp, p) != 0)
        rc = ao_err_set(err, AO_EIO, "%s: cannot write", p);
    unlink(tmp);
    free(tmp);
    free(p);
    return rc;
}

int ao_state_copy_file(ao_state *s, const char *src, const char *rel, ao_err *err)
{
    size_t len;
    char *buf = ao_read_file(src, &len, err), *p = NULL, *tmp = NULL;
    FILE *fp = NULL;
    int rc = AO_OK;
    if (!buf) return err->code;
    if (!(p = ao_state_path(s, rel, err))) { rc = err->code; goto DONE; }
    if (asprintf(&tmp, "%s.new", p) < 0) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if (!(fp = fopen(tmp, "wb")) || fwrite(buf, 1, len, fp) != len) rc = ao_err_set(err, AO_EIO, "%s: cannot write", p);
    if (fp && fclose(fp) != 0 && rc == AO_OK) rc = ao_err_set(err, AO_EIO, "%s: cannot write", p);
    if (rc == AO_OK && rename(tmp, p) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot write", p);
    if (rc < 0 && tmp) unlink(tmp);
DONE:
    free(buf);
    free(p);
    free(tmp);
    return rc;
}

static int unshare_path(const char *path, ao_err *err)
{
    struct stat st;
    int rc = AO_OK;
    if (lstat(path, &st) != 0) return errno == ENOENT ? AO_OK : ao_err_set(err, AO_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        if (!d) return ao_err_set(err, AO_EIO, "%s: cannot read: %s", path, strerror(errno));
        while (rc == AO_OK && (e = readdir(d))) {
            char *c;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            if (!(c = ao_path_join(path, e->d_name))) rc = ao_err_set(err, AO_EMEM, "out of memory");
            else rc = unshare_path(c, err);
            free(c);
        }
        closedir(d);
    } else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        char *tmp = NULL;
        int in = -1, out = -1;
        if (asprintf(&tmp, "%s.unshare", path) < 0) return ao_err_set(err, AO_EMEM, "out of memory");
        if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777)) < 0) {
            rc = ao_err_set(err, AO_EIO, "%s: cannot copy: %s", path, strerror(errno));
        } else {
            char buf[65536];
            ssize_t r;
            while ((r = read(in, buf, sizeof buf)) > 0)
                if (write(out, buf, (size_t)r) != r) { r = -1; break; }
            if (r < 0) rc = ao_err_set(err, AO_EIO, "%s: cannot copy: %s", path, strerror(errno));
        }
        if (in >= 0) close(in);
        if (out >= 0 && close(out) != 0 && rc == AO_OK) rc = ao_err_set(err, AO_EIO, "%s: cannot copy", tmp);
        if (rc == AO_OK && rename(tmp, path) != 0) rc = ao_err_set(err, AO_EIO, "%s: cannot replace: %s", path, strerror(errno));
        if (rc < 0) unlink(tmp);
        free(tmp);
    }
    return rc;
}

int ao_state_unshare(ao_state *s, const char *rel, ao_err *err)
{
    char *p = ao_path_join(s->dir, rel);
    int rc;
    if (!p) return ao_err_set(err, AO_EMEM, "out of memory");
    rc = unshare_path(p, err);
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
