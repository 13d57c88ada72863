/* replay.c — runs a fuzz target's entry on stored inputs, without
 * libFuzzer: `replay FILE...` (a directory argument means every file in
 * it). Linked with one target by the Makefile; make test runs it on the
 * target's regression inputs in tests/data/fuzz/TARGET/, so a crash found
 * by fuzzing stays fixed with the normal compiler (and under ASan with
 * make test-asan). Prints one TAP line per input. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int n;

static void run_one(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (!fp) { printf("not ok %d - %s: cannot open\n", ++n, path); return; }
    do {
        if (len + 65536 > cap) {
            uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 131072);
            if (!nb) { fclose(fp); free(buf); printf("not ok %d - %s: out of memory\n", ++n, path); return; }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
    } while (got > 0);
    fclose(fp);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - %s\n", ++n, path);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct dirent **ents;
            int k, m = scandir(argv[i], &ents, NULL, alphasort);
            for (k = 0; k < m; k++) {
                if (ents[k]->d_name[0] != '.') {
                    char *p = malloc(strlen(argv[i]) + strlen(ents[k]->d_name) + 2);
                    if (p) { sprintf(p, "%s/%s", argv[i], ents[k]->d_name); run_one(p); free(p); }
                }
                free(ents[k]);
            }
            if (m >= 0) free(ents);
        } else {
            run_one(argv[i]);
        }
    }
    printf("1..%d\n", n);
    return 0;
}
