/* test_ensemble.c — greedy ensemble selection (ao_ensemble_select):
 * complementary models are combined, a useless one is left out, the
 * member bound and the argument checks hold, the result is deterministic.
 * Loading and predicting ensembles is tested end to end in
 * tests/cli/test_ensemble.sh (it needs trained models). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/ensemble.h"
#include "agentomics/error.h"
#include "unit.h"

#define N 200

/* Binary probabilities n x 2 from p1 (the positive class's). */
static void fill(double *p, const double *p1)
{
    int i;
    for (i = 0; i < N; i++) { p[2 * i] = 1 - p1[i]; p[2 * i + 1] = p1[i]; }
}

int main(void)
{
    static double a[2 * N], b[2 * N], flat[2 * N], p1[N];
    int y[N], i, rc;
    double w[3], w2[3];
    const double *cand[3] = {a, b, flat};
    ao_err err;
    ao_err_init(&err);
    /* y alternates; model a knows the first half's labels, b the second
     * half's, and each is unsure (0.5 +- a little, in the wrong direction
     * for half the rows) elsewhere */
    for (i = 0; i < N; i++) y[i] = i % 2;
    for (i = 0; i < N; i++) p1[i] = i < N / 2 ? (y[i] ? 0.9 : 0.1) : 0.5 + ((i / 2) % 2 ? 0.02 : -0.02);
    fill(a, p1);
    for (i = 0; i < N; i++) p1[i] = i >= N / 2 ? (y[i] ? 0.8 : 0.2) : 0.5 + ((i / 2) % 2 ? 0.02 : -0.02);
    fill(b, p1);
    for (i = 0; i < N; i++) p1[i] = 0.5;
    fill(flat, p1);

    rc = ao_ensemble_select(3, N, 2, y, cand, "auroc", 3, 10, w, &err);
    CHECK(rc == 2, "complementary models: two members (got %d)", rc);
    CHECK(w[0] > 0 && w[1] > 0 && w[2] == 0, "both informative models weighted, the flat one left out (%g %g %g)", w[0], w[1], w[2]);
    CHECK_NEAR(w[0] + w[1] + w[2], 1.0, 1e-12, "weights sum to 1");

    rc = ao_ensemble_select(3, N, 2, y, cand, "auroc", 3, 10, w2, &err);
    CHECK(rc == 2 && !memcmp(w, w2, sizeof w), "deterministic: the same weights again");

    rc = ao_ensemble_select(3, N, 2, y, cand, "auroc", 1, 10, w, &err);
    CHECK(rc == 1 && w[0] == 1 && w[1] == 0 && w[2] == 0, "max_members 1: the best single model only (%g %g %g)", w[0], w[1], w[2]);

    rc = ao_ensemble_select(1, N, 2, y, cand + 2, "mcc", 3, 10, w, &err);
    CHECK(rc == 1 && w[0] == 1, "a single candidate: weight 1");

    /* the first model alone is perfect: nothing is added */
    for (i = 0; i < N; i++) p1[i] = y[i] ? 0.99 : 0.01;
    fill(a, p1);
    rc = ao_ensemble_select(3, N, 2, y, cand, "mcc", 3, 10, w, &err);
    CHECK(rc == 1 && w[0] == 1, "a perfect model: kept alone (%d members: %g %g %g)", rc, w[0], w[1], w[2]);

    rc = ao_ensemble_select(3, N, 2, y, cand, "bogus", 3, 10, w, &err);
    CHECK(rc == AO_EUSAGE, "an unknown metric is a usage error");
    rc = ao_ensemble_select(0, N, 2, y, cand, "auroc", 3, 10, w, &err);
    CHECK(rc == AO_EUSAGE, "no candidates is a usage error");

    CHECK(!ao_ensemble_is(NULL) && !ao_ensemble_is("/nonexistent/dir"), "ao_ensemble_is: NULL and a missing directory are not ensembles");
    ao_ensemble_destroy(NULL);
    CHECK(1, "ao_ensemble_destroy(NULL) is safe");
    return UNIT_DONE();
}
