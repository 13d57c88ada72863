/* test_wsfs.c — the agent's file tools: every way out of the workspace is
 * refused (.., absolute paths elsewhere, symbolic links to files and to
 * directories, /data writes, control characters), with the link targets
 * left untouched; writes (parents, modes, size cap, binary content),
 * replace (0, 1, 2 occurrences), read (line numbers, ranges, truncation,
 * long lines, binary files, FIFOs), list (sorting, depth, markers, the
 * entry cap) and host paths. Everything happens in a temporary directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "agentomics/wsfs.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_wsfs.XXXXXX";
static char ws[4096], data[4096], outside[4096];

static int put(const char *dir, const char *rel, const char *text)
{
    char path[8192];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (!(fp = fopen(path, "w"))) return -1;
    fputs(text, fp);
    return fclose(fp);
}

/* The whole of a host file, or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    size_t n;
    if (!fp) return NULL;
    buf = malloc(1 << 20);
    n = buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
    fclose(fp);
    if (buf) buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static int host_equals(const char *dir, const char *rel, const char *want)
{
    char path[8192], *got;
    int ok;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    got = slurp(path, NULL);
    ok = got && strcmp(got, want) == 0;
    free(got);
    return ok;
}

static int host_mode(const char *rel)
{
    char path[8192];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", ws, rel);
    return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Open descriptors of this process: every call must close its own. */
static int open_fds(void)
{
    int n = 0, fd;
    for (fd = 0; fd < 1024; fd++) n += fcntl(fd, F_GETFD) != -1;
    return n;
}

static ao_wsfs W(void)
{
    ao_wsfs w = {ws, data, 0, 0};
    return w;
}

/* rc and message of a read (text freed). */
static int rd(const ao_wsfs *w, const char *path, long a, long b, char *msg, size_t msz)
{
    char *text = NULL;
    ao_err err;
    int rc;
    ao_err_init(&err);
    rc = ao_wsfs_read(w, path, a, b, &text, &err);
    snprintf(msg, msz, "%s", rc == AO_OK ? (text ? text : "(null)") : err.msg);
    free(text);
    return rc;
}

static int wr(const ao_wsfs *w, const char *path, const char *content, size_t len, int ex, char *msg, size_t msz)
{
    ao_err err;
    int rc;
    ao_err_init(&err);
    rc = ao_wsfs_write(w, path, content, len, ex, &err);
    snprintf(msg, msz, "%s", err.msg);
    return rc;
}

static int rp(const ao_wsfs *w, const char *path, const char *old, const char *nw, int expected, char *msg, size_t msz)
{
    ao_err err;
    int rc;
    ao_err_init(&err);
    rc = ao_wsfs_replace(w, path, old, nw, expected, &err);
    snprintf(msg, msz, "%s", err.msg);
    return rc;
}

static int ls(const ao_wsfs *w, const char *path, int depth, char **text, char *msg, size_t msz)
{
    ao_err err;
    int rc;
    ao_err_init(&err);
    *text = NULL;
    rc = ao_wsfs_list(w, path, depth, text, &err);
    snprintf(msg, msz, "%s", err.msg);
    return rc;
}

static void test_escapes(void)
{
    ao_wsfs w = W();
    char m[2048], path[8192];
    static const char *const bad[] = {"../x", "/workspace/../etc/passwd", "/etc/passwd", "a/../../x", "a/..",
                                      "/workspacex/a", "/split/train.tsv", "/", "", "/data/../workspace/x"};
    size_t i;
    int rc;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        int w_rc = wr(&w, bad[i], "x", 1, 0, m, sizeof m);
        int r_rc = rd(&w, bad[i], 0, 0, m, sizeof m);
        char *t = NULL, *hp;
        ao_err err;
        ao_err_init(&err);
        hp = ao_wsfs_host_path(&w, bad[i], NULL, &err);
        CHECK(w_rc == AO_EDATA && r_rc == AO_EDATA && !hp, "'%s' refused for write, read, host_path: %s", bad[i], err.msg);
        free(hp);
        rc = ls(&w, bad[i], 1, &t, m, sizeof m);
        CHECK(rc == AO_EDATA && !t, "'%s' refused for list", bad[i]);
        free(t);
    }
    rc = rd(&w, "/etc/passwd", 0, 0, m, sizeof m);
    CHECK(strcmp(m, "/etc/passwd: path must be under /workspace or /data") == 0, "absolute path message: %s", m);
    rc = rd(&w, "a/../../x", 0, 0, m, sizeof m);
    CHECK(strstr(m, "'..' is not allowed") != NULL, "'..' message: %s", m);
    CHECK(!host_equals(tmpdir, "x", "x"), "nothing was written beside the workspace");

    /* a link to a file outside: read, write and replace through it refused,
     * the target unchanged */
    snprintf(path, sizeof path, "%s/secret.txt", outside);
    put(outside, "secret.txt", "top secret\n");
    {
        char lp[8192];
        snprintf(lp, sizeof lp, "%s/link.txt", ws);
        CHECK(symlink(path, lp) == 0, "made a link to a file outside");
        snprintf(lp, sizeof lp, "%s/passwd", ws);
        CHECK(symlink("/etc/passwd", lp) == 0, "made a link to /etc/passwd");
    }
    rc = rd(&w, "/workspace/passwd", 0, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/workspace/passwd is a symbolic link; links are not followed (use the real path)") == 0,
          "read through a link to /etc/passwd refused: %s", m);
    rc = rd(&w, "link.txt", 0, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "symbolic link"), "read through a link refused: %s", m);
    rc = wr(&w, "link.txt", "pwned\n", 6, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "/workspace/link.txt is a symbolic link"), "write through a link refused: %s", m);
    rc = rp(&w, "link.txt", "top", "pwned", 1, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "symbolic link"), "replace through a link refused: %s", m);
    rc = wr(&w, "passwd", "root::0:0::/root:/bin/sh\n", 25, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "symbolic link"), "write through the /etc/passwd link refused");
    CHECK(host_equals(outside, "secret.txt", "top secret\n"), "the link target is untouched");
    {
        struct stat st;
        snprintf(path, sizeof path, "%s/link.txt", ws);
        CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode), "the link itself is untouched");
    }

    /* a linked directory pointing outside */
    snprintf(path, sizeof path, "%s/ldir", ws);
    CHECK(symlink(outside, path) == 0, "made a link to a directory outside");
    rc = rd(&w, "ldir/secret.txt", 0, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/workspace/ldir is a symbolic link; links are not followed (use the real path)") == 0,
          "read below a linked directory refused: %s", m);
    rc = wr(&w, "/workspace/ldir/new.txt", "x", 1, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "/workspace/ldir is a symbolic link"), "write below a linked directory refused: %s", m);
    rc = wr(&w, "ldir/sub/new.txt", "x", 1, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "symbolic link"), "mkdir below a linked directory refused: %s", m);
    {
        char *t = NULL;
        ao_err err;
        char *hp;
        snprintf(path, sizeof path, "%s/new.txt", outside);
        CHECK(access(path, F_OK) != 0, "nothing created outside");
        snprintf(path, sizeof path, "%s/sub", outside);
        CHECK(access(path, F_OK) != 0, "no directory created outside");
        rc = ls(&w, "ldir", 1, &t, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "symbolic link"), "listing a linked directory refused: %s", m);
        free(t);
        ao_err_init(&err);
        hp = ao_wsfs_host_path(&w, "ldir/secret.txt", NULL, &err);
        CHECK(!hp && strstr(err.msg, "/workspace/ldir is a symbolic link"), "host_path below a link refused: %s", err.msg);
        free(hp);
        ao_err_init(&err);
        hp = ao_wsfs_host_path(&w, "link.txt", NULL, &err);
        CHECK(!hp && strstr(err.msg, "symbolic link"), "host_path of a link refused: %s", err.msg);
        free(hp);
    }
    /* a link inside /data is refused as well */
    snprintf(path, sizeof path, "%s/dlink", data);
    CHECK(symlink("/etc", path) == 0, "made a link in /data");
    rc = rd(&w, "/data/dlink/passwd", 0, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "/data/dlink is a symbolic link"), "read through a /data link refused: %s", m);
    unlink(path);

    /* control characters: refused alike everywhere */
    {
        static const char *const odd[] = {"a\nb.txt", "tab\there", "esc\x1b", "del\x7f"};
        for (i = 0; i < sizeof odd / sizeof *odd; i++) {
            char *t = NULL, *hp;
            ao_err err;
            int r1 = wr(&w, odd[i], "x", 1, 0, m, sizeof m);
            int r2 = rd(&w, odd[i], 0, 0, m, sizeof m);
            int r3 = ls(&w, odd[i], 1, &t, m, sizeof m);
            ao_err_init(&err);
            hp = ao_wsfs_host_path(&w, odd[i], NULL, &err);
            CHECK(r1 == AO_EDATA && r2 == AO_EDATA && r3 == AO_EDATA && !hp && strstr(err.msg, "control character"),
                  "odd path %zu refused consistently: %s", i, err.msg);
            free(t);
            free(hp);
        }
        /* spaces, quotes and UTF-8 are ordinary characters */
        rc = wr(&w, "dir with space/caf\xc3\xa9 'q'.txt", "ok\n", 3, 0, m, sizeof m);
        CHECK(rc == AO_OK && host_equals(ws, "dir with space/caf\xc3\xa9 'q'.txt", "ok\n"), "unusual but plain names work");
    }
}

static void test_write(void)
{
    ao_wsfs w = W();
    char m[2048];
    int rc;
    static const char bin[] = {'a', '\0', 'b', '\n'};
    rc = wr(&w, "/workspace/src/deep/er/train.py", "print('hi')\n", 12, 0, m, sizeof m);
    CHECK(rc == AO_OK && host_equals(ws, "src/deep/er/train.py", "print('hi')\n"), "write creates parents: %s", m);
    CHECK(host_mode("src/deep/er/train.py") == 0644, "mode 0644 (%o)", host_mode("src/deep/er/train.py"));
    CHECK(host_mode("src/deep") == 0755 || (host_mode("src/deep") & 0700) == 0700, "parent directories made");
    rc = wr(&w, "run.sh", "#!/bin/sh\necho hi\n", 18, 1, m, sizeof m);
    CHECK(rc == AO_OK && host_mode("run.sh") == 0755, "executable: mode 0755 (%o)", host_mode("run.sh"));
    rc = wr(&w, "run.sh", "#!/bin/sh\necho bye\n", 19, 0, m, sizeof m);
    CHECK(rc == AO_OK && host_mode("run.sh") == 0644 && host_equals(ws, "run.sh", "#!/bin/sh\necho bye\n"), "rewrite replaces");
    rc = wr(&w, ".//src///x.txt", "", 0, 0, m, sizeof m);
    CHECK(rc == AO_OK && host_equals(ws, "src/x.txt", ""), "repeated slashes and '.' collapse; empty content ok");
    rc = wr(&w, "bin.dat", bin, sizeof bin, 0, m, sizeof m);
    {
        char path[8192], *got;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/bin.dat", ws);
        got = slurp(path, &n);
        CHECK(rc == AO_OK && got && n == 4 && memcmp(got, bin, 4) == 0, "content with a NUL byte written by length");
        free(got);
    }
    rc = wr(&w, "/data/x", "x", 1, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/data/x: /data is read-only; write under /workspace instead") == 0, "/data write refused: %s", m);
    CHECK(access(data, F_OK) == 0 && !host_equals(data, "x", "x"), "nothing written in /data");
    rc = wr(&w, "/workspace", "x", 1, 0, m, sizeof m);
    CHECK(rc == AO_EDATA, "writing the root refused: %s", m);
    rc = wr(&w, "src", "x", 1, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "is a directory"), "writing over a directory refused: %s", m);
    rc = wr(&w, "run.sh/x", "x", 1, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "/workspace/run.sh is not a directory"), "a file as a parent refused: %s", m);
    {
        ao_wsfs small = W();
        small.max_write = 16;
        rc = wr(&small, "big.txt", "0123456789abcdefX", 17, 0, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "17 bytes, over the 16-byte limit"), "over-size write refused: %s", m);
        CHECK(access("big.txt", F_OK) != 0 && !host_equals(ws, "big.txt", ""), "nothing written");
        rc = wr(&small, "ok.txt", "0123456789abcdef", 16, 0, m, sizeof m);
        CHECK(rc == AO_OK, "a write at the limit is fine");
    }
    /* no temporary files left behind */
    {
        char *t = NULL;
        rc = ls(&w, "/workspace", 1, &t, m, sizeof m);
        CHECK(rc == AO_OK && t && !strstr(t, ".wsfs."), "no temporary files left");
        free(t);
    }
}

static void test_replace(void)
{
    ao_wsfs w = W();
    char m[2048];
    int rc;
    put(ws, "r.py", "a = 1\nb = 1\nc = 2\n");
    chmod(ws, 0755);
    {
        char p[8192];
        snprintf(p, sizeof p, "%s/r.py", ws);
        chmod(p, 0750);
    }
    rc = rp(&w, "r.py", "= 1", "= 3", 1, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/workspace/r.py: found 2 occurrences of the text, expected 1; nothing changed") == 0,
          "2 occurrences, 1 expected: %s", m);
    rc = rp(&w, "r.py", "z = 9", "x", 1, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "found 0 occurrences of the text, expected 1; nothing changed"), "0 occurrences: %s", m);
    CHECK(host_equals(ws, "r.py", "a = 1\nb = 1\nc = 2\n"), "nothing changed");
    rc = rp(&w, "r.py", "= 1", "= 3", 2, m, sizeof m);
    CHECK(rc == AO_OK && host_equals(ws, "r.py", "a = 3\nb = 3\nc = 2\n"), "both replaced when 2 expected: %s", m);
    CHECK(host_mode("r.py") == 0750, "mode kept (%o)", host_mode("r.py"));
    rc = rp(&w, "r.py", "c = 2\n", "", 1, m, sizeof m);
    CHECK(rc == AO_OK && host_equals(ws, "r.py", "a = 3\nb = 3\n"), "replace by nothing");
    put(ws, "aaa.txt", "aaaa");
    rc = rp(&w, "aaa.txt", "aa", "b", 2, m, sizeof m);
    CHECK(rc == AO_OK && host_equals(ws, "aaa.txt", "bb"), "occurrences do not overlap");
    rc = rp(&w, "r.py", "", "x", 1, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "empty"), "empty old text refused: %s", m);
    rc = rp(&w, "r.py", "a", "x", 0, m, sizeof m);
    CHECK(rc == AO_EDATA, "expected 0 refused: %s", m);
    rc = rp(&w, "nope.py", "a", "x", 1, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/workspace/nope.py: no such file or directory") == 0, "missing file: %s", m);
    put(data, "d.txt", "abc\n");
    rc = rp(&w, "/data/d.txt", "abc", "x", 1, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "read-only") && host_equals(data, "d.txt", "abc\n"), "/data replace refused: %s", m);
}

static void test_read(void)
{
    ao_wsfs w = W();
    char m[4096], big[200];
    int rc, i;
    put(ws, "lines.txt", "one\ntwo\nthree\nfour\nfive");
    rc = rd(&w, "lines.txt", 0, 0, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "1\tone\n2\ttwo\n3\tthree\n4\tfour\n5\tfive\n") == 0, "whole file numbered: %s", m);
    rc = rd(&w, "/workspace/lines.txt", 2, 3, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "2\ttwo\n3\tthree\n") == 0, "lines 2..3: %s", m);
    rc = rd(&w, "lines.txt", 4, 99, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "4\tfour\n5\tfive\n") == 0, "range past the end is cut: %s", m);
    rc = rd(&w, "lines.txt", 9, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/workspace/lines.txt: line 9 is past the end; the file has 5 lines") == 0,
          "first past the end: %s", m);
    rc = rd(&w, "lines.txt", 3, 2, m, sizeof m);
    CHECK(rc == AO_EDATA, "last before first refused: %s", m);
    put(data, "t.tsv", "x\ty\n1\t2\n");
    rc = rd(&w, "/data/t.tsv", 0, 0, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "1\tx\ty\n2\t1\t2\n") == 0, "read from /data: %s", m);
    rc = rd(&w, "missing.txt", 0, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strcmp(m, "/workspace/missing.txt: no such file or directory") == 0, "missing: %s", m);
    rc = rd(&w, "src", 0, 0, m, sizeof m);
    CHECK(rc == AO_EDATA && strstr(m, "is a directory"), "directory: %s", m);
    put(ws, "empty.txt", "");
    rc = rd(&w, "empty.txt", 0, 0, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "[/workspace/empty.txt is empty]") == 0, "empty file: %s", m);
    rc = rd(&w, "bin.dat", 0, 0, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "[/workspace/bin.dat is a binary file (4 bytes); its content is not shown]") == 0,
          "binary file: %s", m);
    put(ws, "latin1.txt", "caf\xe9\n");
    rc = rd(&w, "latin1.txt", 0, 0, m, sizeof m);
    CHECK(rc == AO_OK && strcmp(m, "1\tcaf\xef\xbf\xbd\n") == 0, "invalid UTF-8 replaced by U+FFFD");
    {
        /* truncation: 100 lines of 10 bytes, cap 64 bytes */
        ao_wsfs small = W();
        FILE *fp;
        char p[8192];
        small.max_read = 64;
        snprintf(p, sizeof p, "%s/many.txt", ws);
        fp = fopen(p, "w");
        for (i = 1; fp && i <= 100; i++) fprintf(fp, "line %04d\n", i);
        if (fp) fclose(fp);
        rc = rd(&small, "many.txt", 0, 0, m, sizeof m);
        CHECK(rc == AO_OK && strcmp(m, "1\tline 0001\n2\tline 0002\n3\tline 0003\n4\tline 0004\n5\tline 0005\n"
                                       "[truncated at line 6; ask for lines 6.. to continue]") == 0, "truncated: %s", m);
        rc = rd(&small, "many.txt", 5, 0, m, sizeof m);
        CHECK(rc == AO_OK && strncmp(m, "5\tline 0005\n", 12) == 0 && strstr(m, "9\tline 0009\n[truncated at line 10; ask for lines 10.. to continue]"), "continued: %s", m);
        rc = rd(&small, "many.txt", 99, 0, m, sizeof m);
        CHECK(rc == AO_OK && strcmp(m, "99\tline 0099\n100\tline 0100\n") == 0, "the end needs no note: %s", m);
        /* one line longer than the cap is shown cut, not skipped */
        memset(big, 'G', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        put(ws, "long.txt", big);
        rc = rd(&small, "long.txt", 0, 0, m, sizeof m);
        CHECK(rc == AO_OK && strncmp(m, "1\tGGGG", 6) == 0 && strstr(m, "\n[line 1 cut after 61 of its 199 bytes]"),
              "an over-long line is cut: %s", m);
        put(ws, "long2.txt", "short\n");
        {
            char p2[8192];
            FILE *f2;
            snprintf(p2, sizeof p2, "%s/long2.txt", ws);
            if ((f2 = fopen(p2, "a"))) { fprintf(f2, "%s\nafter\n", big); fclose(f2); }
        }
        rc = rd(&small, "long2.txt", 2, 0, m, sizeof m);
        CHECK(rc == AO_OK && strncmp(m, "2\tGGGG", 6) == 0 && strstr(m, "[line 2 cut after 61 of its 199 bytes; ask for lines 3.. to continue]"),
              "an over-long line points on to the next: %s", m);
        rc = rd(&small, "long2.txt", 0, 0, m, sizeof m);
        CHECK(rc == AO_OK && strcmp(m, "1\tshort\n[truncated at line 2; ask for lines 2.. to continue]") == 0,
              "an over-long line after others waits for its own read: %s", m);
    }
    {
        char p[8192];
        snprintf(p, sizeof p, "%s/fifo", ws);
        if (mkfifo(p, 0644) == 0) {
            rc = rd(&w, "fifo", 0, 0, m, sizeof m);
            CHECK(rc == AO_EDATA && strstr(m, "not a regular file"), "a FIFO is refused without blocking: %s", m);
            unlink(p);
        }
    }
}

static void test_list(void)
{
    ao_wsfs w = W();
    char m[2048], p[8192], *t = NULL;
    int rc, i;
    snprintf(p, sizeof p, "%s/tree", ws);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/tree/b", ws);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/tree/b/c", ws);
    mkdir(p, 0755);
    put(ws, "tree/b/c/deep.txt", "deep");
    put(ws, "tree/z.txt", "zz");
    put(ws, "tree/a.txt", "a");
    snprintf(p, sizeof p, "%s/tree/ln", ws);
    if (symlink("/etc", p) != 0) perror("symlink");
    rc = ls(&w, "tree", 1, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strcmp(t, "/workspace/tree/\n  a.txt (1 bytes)\n  b/\n  ln@\n  z.txt (2 bytes)\n") == 0,
          "depth 1, sorted, markers:\n%s", t ? t : m);
    free(t);
    rc = ls(&w, "/workspace/tree/", 3, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strcmp(t, "/workspace/tree/\n  a.txt (1 bytes)\n  b/\n    c/\n      deep.txt (4 bytes)\n"
                                         "  ln@\n  z.txt (2 bytes)\n") == 0, "depth 3:\n%s", t ? t : m);
    free(t);
    rc = ls(&w, "tree", 2, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strstr(t, "    c/\n") && !strstr(t, "deep.txt"), "depth 2 stops above deep.txt");
    free(t);
    rc = ls(&w, "tree/a.txt", 1, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strcmp(t, "/workspace/tree/a.txt (1 bytes)\n") == 0, "a file lists as itself: %s", t ? t : m);
    free(t);
    rc = ls(&w, NULL, 1, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strncmp(t, "/workspace/\n", 12) == 0 && strstr(t, "  tree/\n"), "NULL lists the workspace");
    free(t);
    rc = ls(&w, "/data", 1, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strncmp(t, "/data/\n", 7) == 0 && strstr(t, "  t.tsv (8 bytes)\n"), "lists /data:\n%s", t ? t : m);
    free(t);
    rc = ls(&w, "nope", 1, &t, m, sizeof m);
    CHECK(rc == AO_EDATA && !t && strstr(m, "no such file"), "missing directory: %s", m);
    snprintf(p, sizeof p, "%s/emptydir", ws);
    mkdir(p, 0755);
    rc = ls(&w, "emptydir", 2, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strcmp(t, "/workspace/emptydir/\n  (empty)\n") == 0, "empty directory: %s", t ? t : m);
    free(t);
    /* the entry cap */
    snprintf(p, sizeof p, "%s/many", ws);
    mkdir(p, 0755);
    for (i = 0; i < 600; i++) {
        char name[64];
        snprintf(name, sizeof name, "many/f%03d", i);
        put(ws, name, "");
    }
    rc = ls(&w, "many", 1, &t, m, sizeof m);
    {
        int lines = 0;
        const char *s;
        for (s = t; s && *s; s++) lines += *s == '\n';
        CHECK(rc == AO_OK && t && lines == 502 && strstr(t, "  f499 (0 bytes)\n") && !strstr(t, "f500") &&
              strstr(t, "[listing stopped at 500 entries; list a subdirectory or use a smaller depth]\n"),
              "capped at 500 entries (%d lines)", lines);
    }
    free(t);
    /* a name with a newline, made by a sandboxed command, stays one line */
    put(ws, "emptydir/a\nb", "");
    rc = ls(&w, "emptydir", 1, &t, m, sizeof m);
    CHECK(rc == AO_OK && t && strcmp(t, "/workspace/emptydir/\n  a?b (0 bytes)\n") == 0, "odd names are made printable: %s", t ? t : m);
    free(t);
}

static void test_host_path(void)
{
    ao_wsfs w = W();
    ao_err err;
    char want[8192], *hp;
    int wr_flag = -1;
    ao_err_init(&err);
    hp = ao_wsfs_host_path(&w, "/workspace/src/train.py", &wr_flag, &err);
    snprintf(want, sizeof want, "%s/src/train.py", ws);
    CHECK(hp && strcmp(hp, want) == 0 && wr_flag == 1, "workspace host path: %s", hp ? hp : err.msg);
    free(hp);
    hp = ao_wsfs_host_path(&w, "not/yet/there.txt", &wr_flag, &err);
    snprintf(want, sizeof want, "%s/not/yet/there.txt", ws);
    CHECK(hp && strcmp(hp, want) == 0, "a path that does not exist yet: %s", hp ? hp : err.msg);
    free(hp);
    hp = ao_wsfs_host_path(&w, "/data/t.tsv", &wr_flag, &err);
    snprintf(want, sizeof want, "%s/t.tsv", data);
    CHECK(hp && strcmp(hp, want) == 0 && wr_flag == 0, "data host path, not writable: %s", hp ? hp : err.msg);
    free(hp);
    hp = ao_wsfs_host_path(&w, "/workspace", &wr_flag, &err);
    CHECK(hp && strcmp(hp, ws) == 0, "the root itself");
    free(hp);
    ao_err_init(&err);
    hp = ao_wsfs_host_path(&w, "run.sh/below", &wr_flag, &err);
    CHECK(!hp && strstr(err.msg, "not a directory"), "below a file refused: %s", err.msg);
    free(hp);
    {
        ao_wsfs nodata = {ws, NULL, 0, 0};
        char m[1024];
        int rc = rd(&nodata, "/data/t.tsv", 0, 0, m, sizeof m);
        CHECK(rc == AO_EDATA && strstr(m, "no /data"), "no data root configured: %s", m);
    }
}

/* The quota's measure: bytes of regular files, entries of every kind,
 * and the first entry it cannot measure (deeper than 64 levels) named by
 * its sandbox path; descriptors only, whatever the path length. */
static void test_measure(void)
{
    char root[4096], link[4200], sub[4200];
    ao_wsfs w;
    ao_wsfs_usage u;
    ao_err err;
    int fd, i, rc;
    snprintf(root, sizeof root, "%s/mws", tmpdir);
    w = (ao_wsfs){root, NULL, 0, 0};
    ao_err_init(&err);
    snprintf(link, sizeof link, "%s/link", root);
    snprintf(sub, sizeof sub, "%s/sub", root);
    CHECK(mkdir(root, 0755) == 0 && mkdir(sub, 0755) == 0 && put(root, "a.txt", "12345") == 0 && put(root, "sub/b.txt", "123") == 0 && symlink("a.txt", link) == 0,
          "measure: a workspace");
    rc = ao_wsfs_measure(&w, &u, &err);
    CHECK(rc == AO_OK && u.bytes == 8 && u.entries == 4 && !u.odd[0], "measure: 8 bytes in 4 entries (2 files, a directory, a link): %lld in %ld", u.bytes, u.entries);
    /* 70 levels of 200-byte names: past PATH_MAX and past the depth bound */
    fd = open(root, O_RDONLY | O_DIRECTORY);
    for (i = 0; i < 70 && fd >= 0; i++) {
        char name[201];
        int next;
        memset(name, 'd', 200);
        name[200] = '\0';
        next = mkdirat(fd, name, 0755) == 0 ? openat(fd, name, O_RDONLY | O_DIRECTORY) : -1;
        close(fd);
        fd = next;
    }
    if (fd >= 0) close(fd);
    rc = ao_wsfs_measure(&w, &u, &err);
    CHECK(rc == AO_OK && strncmp(u.odd, "/workspace/dddd", 15) == 0 && strstr(u.odd, "...: nested deeper than 64 levels") && u.entries == 4 + 64,
          "measure: a tree past PATH_MAX is walked to 64 levels and named by its sandbox path (%ld entries): %.60s", u.entries, u.odd);
    w.workspace = "/nonexistent/agentomics-ws";
    CHECK(ao_wsfs_measure(&w, &u, &err) == AO_EIO, "measure: no workspace is AO_EIO: %s", err.msg);
}

int main(void)
{
    char cmd[4200];
    int fds = open_fds();
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    snprintf(ws, sizeof ws, "%s/ws", tmpdir);
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(outside, sizeof outside, "%s/outside", tmpdir);
    if (mkdir(ws, 0755) != 0 || mkdir(data, 0755) != 0 || mkdir(outside, 0755) != 0) { perror("mkdir"); return 1; }
    test_escapes();
    test_write();
    test_replace();
    test_read();
    test_list();
    test_host_path();
    test_measure();
    CHECK(open_fds() == fds, "no descriptor leaked (%d open, %d before)", open_fds(), fds);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return UNIT_DONE();
}
