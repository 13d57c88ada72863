/* unit.h — a minimal TAP producer for the C unit tests.
 * Each test binary prints "ok N - what" / "not ok N - what" lines and
 * exits non-zero if anything failed; tests/run.sh sums them up. */
#ifndef AGENTOMICS_UNIT_H
#define AGENTOMICS_UNIT_H

#include <math.h>
#include <stdio.h>

typedef struct unit_state { int n, failed; } unit_state;

static unit_state unit_tap;   /* one per test binary */

#define CHECK(cond, ...) do { \
    unit_tap.n++; \
    if (cond) { printf("ok %d - ", unit_tap.n); printf(__VA_ARGS__); putchar('\n'); } \
    else { unit_tap.failed++; printf("not ok %d - ", unit_tap.n); printf(__VA_ARGS__); \
           printf("\n#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); } \
    fflush(stdout); \
} while (0)

#define CHECK_NEAR(a, b, tol, ...) do { \
    double unit_a_ = (a), unit_b_ = (b); \
    int unit_ok_ = fabs(unit_a_ - unit_b_) <= (tol) || (isnan(unit_a_) && isnan(unit_b_)); \
    CHECK(unit_ok_, __VA_ARGS__); \
    if (!unit_ok_) printf("#   got %.12g, expected %.12g\n", unit_a_, unit_b_); \
} while (0)

#define UNIT_DONE() (printf("1..%d\n", unit_tap.n), unit_tap.failed ? 1 : 0)

#endif
