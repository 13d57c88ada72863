/* jsonschema_bench.c — times ao_jsonschema_validate over many instances
 * (built and run by tests/bench/jsonschema_bench.py).
 *
 *   jsonschema_bench SCHEMA_DIR SCHEMA_NAME INSTANCES.jsonl REPEATS VERDICTS_OUT
 *
 * Loads SCHEMA_DIR/SCHEMA_NAME and every line of INSTANCES.jsonl (one JSON
 * value a line) into memory (not timed), then REPEATS times validates
 * every instance with ao_jsonschema_validate (schema_dir = SCHEMA_DIR, so
 * file $refs resolve beside it), each pass timed. Writes one character per
 * instance to VERDICTS_OUT ('1' valid, '0' invalid) and prints one line:
 *   n=N valid=N median_s=X min_s=X
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "agentomics/jsonschema.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    char path[4096], msg[512], *line = NULL, *verdict = NULL;
    size_t cap = 0, n = 0, icap = 0, i, n_valid = 0;
    ssize_t got;
    json_t *schema, **inst = NULL;
    json_error_t jerr;
    FILE *fp;
    double *times;
    int reps, r;
    ao_err err;

    if (argc != 6) {
        fprintf(stderr, "usage: jsonschema_bench SCHEMA_DIR SCHEMA_NAME INSTANCES.jsonl REPEATS VERDICTS_OUT\n");
        return 2;
    }
    reps = atoi(argv[4]);
    if (reps < 1) reps = 1;
    snprintf(path, sizeof path, "%s/%s", argv[1], argv[2]);
    if (!(schema = json_load_file(path, 0, &jerr))) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return 1;
    }
    if (!(fp = fopen(argv[3], "r"))) { perror(argv[3]); return 1; }
    while ((got = getline(&line, &cap, fp)) > 0) {
        if (n == icap) {
            icap = icap ? 2 * icap : 1024;
            if (!(inst = realloc(inst, icap * sizeof *inst))) return 1;
        }
        if (!(inst[n] = json_loadb(line, (size_t)got, JSON_DECODE_ANY, &jerr))) {
            fprintf(stderr, "%s:%zu: %s\n", argv[3], n + 1, jerr.text);
            return 1;
        }
        n++;
    }
    fclose(fp);
    free(line);
    if (!(verdict = malloc(n + 1)) || !(times = malloc((size_t)reps * sizeof *times))) return 1;
    for (r = 0; r < reps; r++) {
        double t0 = now_sec();
        for (i = 0; i < n; i++) {
            int v = ao_jsonschema_validate(schema, inst[i], argv[1], msg, sizeof msg, &err);
            if (v < 0) {
                fprintf(stderr, "jsonschema_bench: schema error: %s\n", err.msg);
                return 1;
            }
            verdict[i] = v ? '1' : '0';
        }
        times[r] = now_sec() - t0;
    }
    verdict[n] = '\0';
    for (i = 0; i < n; i++) n_valid += verdict[i] == '1';
    if (!(fp = fopen(argv[5], "w")) || fputs(verdict, fp) < 0 || fclose(fp) != 0) { perror(argv[5]); return 1; }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    printf("n=%zu valid=%zu median_s=%.6f min_s=%.6f\n", n, n_valid, times[reps / 2], times[0]);
    for (i = 0; i < n; i++) json_decref(inst[i]);
    free(inst);
    free(verdict);
    free(times);
    json_decref(schema);
    return 0;
}
