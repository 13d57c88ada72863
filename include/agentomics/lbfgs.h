/* lbfgs.h — a limited-memory BFGS minimiser (double precision) with the
 * Moré–Thuente line search (strong Wolfe conditions, MINPACK-2 dcsrch).
 *
 * Unconstrained; defaults and stopping rules follow SciPy's L-BFGS-B as
 * scikit-learn calls it (m = 10, c1 = 1e-3, c2 = 0.9, first trial step
 * 1/||g||, unit steps afterwards, maxls = 20 with one steepest-descent
 * restart, pgtol on the max-norm of the gradient, factr-style relative
 * reduction test), so a problem solved here and by scikit-learn's lbfgs
 * takes a comparable path.
 *
 * Deterministic: no randomness, no threads of its own (the objective may
 * use threads; it must then be deterministic itself).
 */
#ifndef AGENTOMICS_LBFGS_H
#define AGENTOMICS_LBFGS_H

#include <stdint.h>
#include "agentomics/error.h"

/* Returned (< -1) when the objective or its gradient is NaN/inf at the
 * starting point, or becomes non-finite and cannot be recovered by
 * shrinking the step. Callers record it as a diverged run. Distinct from
 * the values of enum ao_rc; ao_exit_code() maps it to 70. */
#define AO_LBFGS_EDIVERGED (-16)

/* Objective: writes f(x) to *f and the gradient to g (n entries).
 * Returns >= 0 on success; a value < -1 aborts the minimisation and is
 * returned unchanged by ao_lbfgs_minimize. Non-finite *f or g is allowed
 * at trial points (the line search backs off). */
typedef int (*ao_lbfgs_eval_fn)(void *ctx, const double *x, double *f, double *g);

/* Progress: called after iteration 0 (the start) and every `every`
 * iterations that did not converge (the convergence tests come first),
 * and once at the end unless the last iterate was just reported. gnorm is
 * max_i |g_i|. Return non-zero to stop early (status AO_LBFGS_STOPPED, x
 * holds the current iterate). */
typedef int (*ao_lbfgs_progress_fn)(void *ctx, int iter, double f, double gnorm);

typedef struct ao_lbfgs_params {
    int m;               /* correction pairs kept (10) */
    int max_iter;        /* iterations (15000; scikit-learn passes max_iter) */
    int max_eval;        /* objective evaluations (15000) */
    int max_linesearch;  /* evaluations per line search (20) */
    double gtol;         /* converged when max|g_i| <= gtol (1e-5) */
    double ftol;         /* converged when (f_prev - f) <= ftol * max(|f_prev|, |f|, 1)
                          * (2.220446049250313e-09, SciPy's factr 1e7); 0 disables */
    double ls_c1;        /* sufficient decrease (1e-3) */
    double ls_c2;        /* curvature, strong Wolfe (0.9) */
    double ls_xtol;      /* relative width of the uncertainty interval (0.1) */
    double step_max;     /* largest step along a direction (1e10) */
    ao_lbfgs_progress_fn progress;   /* may be NULL */
    void *progress_ctx;
    int progress_every;  /* 0: only at the start and the end (default 10) */
    double deadline;     /* ao_now() after which it stops (AO_LBFGS_STOPPED), checked
                            after every iteration; 0: none (default) */
} ao_lbfgs_params;

/* The defaults documented with each field above. */
void ao_lbfgs_params_init(ao_lbfgs_params *p);

enum ao_lbfgs_status {
    AO_LBFGS_CONVERGED_GTOL = 0,  /* max|g| <= gtol */
    AO_LBFGS_CONVERGED_FTOL = 1,  /* relative reduction of f <= ftol */
    AO_LBFGS_MAX_ITER = 2,
    AO_LBFGS_MAX_EVAL = 3,
    AO_LBFGS_LINESEARCH = 4,      /* no acceptable step even after a restart */
    AO_LBFGS_STOPPED = 5          /* the progress callback asked to stop */
};

typedef struct ao_lbfgs_result {
    int status;          /* enum ao_lbfgs_status */
    int n_iter;          /* completed iterations */
    int n_eval;          /* objective evaluations */
    double f;            /* f at the returned x */
    double gnorm;        /* max|g| at the returned x */
} ao_lbfgs_result;

/* Minimises fn from x (n entries, overwritten with the best point found).
 * p may be NULL (defaults); res may be NULL. Returns the status (>= 0) on
 * a normal end, including the iteration limit and line-search failure;
 * AO_LBFGS_EDIVERGED, AO_EMEM, AO_EUSAGE or the objective's own error
 * (< -1) otherwise, with err set. On an error after the start, x holds
 * the last finite iterate. */
int ao_lbfgs_minimize(const ao_lbfgs_params *p, int64_t n, double *x,
                      ao_lbfgs_eval_fn fn, void *ctx, ao_lbfgs_result *res,
                      ao_err *err) AO_WUR;

const char *ao_lbfgs_status_str(int status);   /* a status in words */

/* One Moré–Thuente line search (the one ao_lbfgs_minimize uses), exposed
 * for reuse and tests: from x0 (value f0, gradient g0) along a descent
 * direction d (g0'd < 0), first trial step *stp (0 < *stp <= step_max),
 * using p's ls_c1, ls_c2, ls_xtol, step_max and max_linesearch. On return
 * *stp is the step taken and x = x0 + *stp d, f, g the point's value and
 * gradient, unless it failed. Returns AO_LBFGS_LS_WOLFE when the strong
 * Wolfe conditions hold there, AO_LBFGS_LS_WARNING when it stopped on one
 * of MINPACK's warnings (uncertainty interval below xtol, rounding, a step
 * bound) at a point with f < f0, AO_LBFGS_LS_FAILED when no such point
 * was found in max_linesearch evaluations; AO_EUSAGE or the objective's
 * error (< -1). n_eval (may be NULL) receives the evaluations used. */
enum { AO_LBFGS_LS_WOLFE = 0, AO_LBFGS_LS_WARNING = 1, AO_LBFGS_LS_FAILED = 2 };
int ao_lbfgs_linesearch(const ao_lbfgs_params *p, int64_t n, const double *x0, double f0,
                        const double *g0, const double *d, double *stp, double *x, double *f,
                        double *g, ao_lbfgs_eval_fn fn, void *ctx, int *n_eval) AO_WUR;

#endif
