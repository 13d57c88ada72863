/* lbfgs.c — L-BFGS with the Moré–Thuente line search.
 *
 * The line search is a direct (non reverse-communication) transcription
 * of MINPACK-2's dcsrch/dcstep (Moré and Thuente, ACM TOMS 20, 1994), the
 * routine L-BFGS-B uses; the outer loop follows L-BFGS-B's unconstrained
 * path: two-loop recursion with H0 = (s'y / y'y) I, curvature pairs
 * skipped when s'y <= eps * (-g_old's), a first trial step of 1/||d||,
 * at most max_linesearch evaluations per search and, when a search fails,
 * one restart from steepest descent with the memory cleared.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/lbfgs.h"
#include "agentomics/log.h"

void ao_lbfgs_params_init(ao_lbfgs_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->m = 10;
    p->max_iter = 15000;
    p->max_eval = 15000;
    p->max_linesearch = 20;
    p->gtol = 1e-5;
    p->ftol = 2.220446049250313e-09;
    p->ls_c1 = 1e-3;
    p->ls_c2 = 0.9;
    p->ls_xtol = 0.1;
    p->step_max = 1e10;
    p->progress_every = 10;
}

const char *ao_lbfgs_status_str(int status)
{
    switch (status) {
    case AO_LBFGS_CONVERGED_GTOL: return "converged (gradient norm <= gtol)";
    case AO_LBFGS_CONVERGED_FTOL: return "converged (relative reduction of f <= ftol)";
    case AO_LBFGS_MAX_ITER: return "iteration limit reached";
    case AO_LBFGS_MAX_EVAL: return "evaluation limit reached";
    case AO_LBFGS_LINESEARCH: return "line search failed";
    case AO_LBFGS_STOPPED: return "stopped by the caller";
    default: return "unknown status";
    }
}

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double maxabs(const double *a, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = fabs(a[i]);
        if (v > m || v != v) m = v;   /* NaN propagates */
    }
    return m;
}

static int all_finite(const double *a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* MINPACK-2 dcstep: safeguarded cubic/quadratic step, updates the
 * interval of uncertainty [stx, sty] and returns the new trial step. */
static void dcstep(double *stx, double *fx, double *dx, double *sty, double *fy, double *dy,
                   double *stp, double fp, double dp, int *brackt, double stpmin, double stpmax)
{
    double sgnd = dp * (*dx / fabs(*dx));
    double stpf, stpc, stpq, theta, s, gamma, p, q, r;

    if (fp > *fx) {
        /* Case 1: higher function value; the minimum is bracketed. */
        theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        s = fmax(fabs(theta), fmax(fabs(*dx), fabs(dp)));
        gamma = s * sqrt((theta / s) * (theta / s) - (*dx / s) * (dp / s));
        if (*stp < *stx) gamma = -gamma;
        p = (gamma - *dx) + theta;
        q = ((gamma - *dx) + gamma) + dp;
        r = p / q;
        stpc = *stx + r * (*stp - *stx);
        stpq = *stx + ((*dx / ((*fx - fp) / (*stp - *stx) + *dx)) / 2.0) * (*stp - *stx);
        if (fabs(stpc - *stx) < fabs(stpq - *stx)) stpf = stpc;
        else stpf = stpc + (stpq - stpc) / 2.0;
        *brackt = 1;
    } else if (sgnd < 0.0) {
        /* Case 2: lower value, derivatives of opposite sign: bracketed. */
        theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        s = fmax(fabs(theta), fmax(fabs(*dx), fabs(dp)));
        gamma = s * sqrt((theta / s) * (theta / s) - (*dx / s) * (dp / s));
        if (*stp > *stx) gamma = -gamma;
        p = (gamma - dp) + theta;
        q = ((gamma - dp) + gamma) + *dx;
        r = p / q;
        stpc = *stp + r * (*stx - *stp);
        stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
        if (fabs(stpc - *stp) > fabs(stpq - *stp)) stpf = stpc;
        else stpf = stpq;
        *brackt = 1;
    } else if (fabs(dp) < fabs(*dx)) {
        /* Case 3: lower value, same-sign derivative, its magnitude falls. */
        theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        s = fmax(fabs(theta), fmax(fabs(*dx), fabs(dp)));
        gamma = s * sqrt(fmax(0.0, (theta / s) * (theta / s) - (*dx / s) * (dp / s)));
        if (*stp > *stx) gamma = -gamma;
        p = (gamma - dp) + theta;
        q = (gamma + (*dx - dp)) + gamma;
        r = p / q;
        if (r < 0.0 && gamma != 0.0) stpc = *stp + r * (*stx - *stp);
        else if (*stp > *stx) stpc = stpmax;
        else stpc = stpmin;
        stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
        if (*brackt) {
            if (fabs(stpc - *stp) < fabs(stpq - *stp)) stpf = stpc;
            else stpf = stpq;
            if (*stp > *stx) stpf = fmin(*stp + 0.66 * (*sty - *stp), stpf);
            else stpf = fmax(*stp + 0.66 * (*sty - *stp), stpf);
        } else {
            if (fabs(stpc - *stp) > fabs(stpq - *stp)) stpf = stpc;
            else stpf = stpq;
            stpf = fmin(stpmax, stpf);
            stpf = fmax(stpmin, stpf);
        }
    } else {
        /* Case 4: lower value, same-sign derivative that does not fall. */
        if (*brackt) {
            theta = 3.0 * (fp - *fy) / (*sty - *stp) + *dy + dp;
            s = fmax(fabs(theta), fmax(fabs(*dy), fabs(dp)));
            gamma = s * sqrt((theta / s) * (theta / s) - (*dy / s) * (dp / s));
            if (*stp > *sty) gamma = -gamma;
            p = (gamma - dp) + theta;
            q = ((gamma - dp) + gamma) + *dy;
            r = p / q;
            stpc = *stp + r * (*sty - *stp);
            stpf = stpc;
        } else if (*stp > *stx) {
            stpf = stpmax;
        } else {
            stpf = stpmin;
        }
    }

    if (fp > *fx) {
        *sty = *stp; *fy = fp; *dy = dp;
    } else {
        if (sgnd < 0.0) { *sty = *stx; *fy = *fx; *dy = *dx; }
        *stx = *stp; *fx = fp; *dx = dp;
    }
    *stp = stpf;
}

typedef struct lb_ctx {
    const ao_lbfgs_params *p;
    int64_t n;
    ao_lbfgs_eval_fn fn;
    void *ctx;
    int n_eval;
} lb_ctx;

enum { LS_OK = AO_LBFGS_LS_WOLFE, LS_WARN = AO_LBFGS_LS_WARNING, LS_FAIL = AO_LBFGS_LS_FAILED };

/* Evaluates at xold + stp d into x, f, g. Returns the objective's code. */
static int ls_eval(lb_ctx *c, double stp, const double *xold, const double *d,
                   double *x, double *f, double *g)
{
    for (int64_t i = 0; i < c->n; i++) x[i] = xold[i] + stp * d[i];
    c->n_eval++;
    return c->fn(c->ctx, x, f, g);
}

/* Moré–Thuente search along d from xold (f0, g0'd = ginit < 0), first
 * trial *stp. On LS_OK/LS_WARN, x/f/g hold the accepted point; on LS_FAIL
 * they are unspecified (the caller restores). */
static int linesearch(lb_ctx *c, const double *xold, double f0, double ginit,
                      const double *d, double *stp_io, double *x, double *f, double *g)
{
    const ao_lbfgs_params *p = c->p;
    const double ftol = p->ls_c1, gtol = p->ls_c2, xtol = p->ls_xtol;
    const double stpmin = 0.0;
    double stpmax = p->step_max;
    double stp = *stp_io;
    double finit = f0, gtest = ftol * ginit;
    double width = stpmax - stpmin, width1 = 2.0 * width;
    int brackt = 0, stage = 1, rc;
    double stx = 0.0, fx = finit, gx = ginit;
    double sty = 0.0, fy = finit, gy = ginit;
    double stmin = 0.0, stmax = stp + 4.0 * stp;

    for (int ls = 0; ls < p->max_linesearch; ls++) {
        double dg, ftest;
        int warn = 0;

        if ((rc = ls_eval(c, stp, xold, d, x, f, g)) < -1) return rc;
        dg = dot(g, d, c->n);
        if (!isfinite(*f) || !isfinite(dg) || !all_finite(g, c->n)) {
            /* Overflow at this step: never go this far again; retreat
             * halfway towards the best step so far. */
            stpmax = stx + 0.5 * (stp - stx);
            if (stmax > stpmax) stmax = stpmax;
            stp = stpmax;
            if (!(stp > stx)) return LS_FAIL;
            continue;
        }
        ftest = finit + stp * gtest;
        if (stage == 1 && *f <= ftest && dg >= fmin(ftol, gtol) * ginit) stage = 2;

        /* Warnings: no further progress possible; dcsrch returns the
         * current point. */
        if (brackt && (stp <= stmin || stp >= stmax)) warn = 1;
        if (brackt && stmax - stmin <= xtol * stmax) warn = 1;
        if (stp == stpmax && *f <= ftest && dg <= gtest) warn = 1;
        if (stp == stpmin && (*f > ftest || dg >= gtest)) warn = 1;
        if (warn) {
            if (*f < finit) { *stp_io = stp; return LS_WARN; }
            if (stx > 0.0 && fx < finit) {
                /* The best point seen is better than the current one. */
                stp = stx;
                if ((rc = ls_eval(c, stp, xold, d, x, f, g)) < -1) return rc;
                if (isfinite(*f) && *f < finit && all_finite(g, c->n)) {
                    *stp_io = stp;
                    return LS_WARN;
                }
            }
            return LS_FAIL;
        }
        /* Strong Wolfe conditions hold. */
        if (*f <= ftest && fabs(dg) <= gtol * (-ginit)) { *stp_io = stp; return LS_OK; }

        if (stage == 1 && *f <= fx && *f > ftest) {
            /* Modified function psi(stp) = f - stp * gtest while in stage 1. */
            double fm = *f - stp * gtest, fxm = fx - stx * gtest, fym = fy - sty * gtest;
            double gm = dg - gtest, gxm = gx - gtest, gym = gy - gtest;
            dcstep(&stx, &fxm, &gxm, &sty, &fym, &gym, &stp, fm, gm, &brackt, stmin, stmax);
            fx = fxm + stx * gtest;
            fy = fym + sty * gtest;
            gx = gxm + gtest;
            gy = gym + gtest;
        } else {
            dcstep(&stx, &fx, &gx, &sty, &fy, &gy, &stp, *f, dg, &brackt, stmin, stmax);
        }
        if (brackt) {
            if (fabs(sty - stx) >= 0.66 * width1) stp = stx + 0.5 * (sty - stx);
            width1 = width;
            width = fabs(sty - stx);
        }
        if (brackt) {
            stmin = fmin(stx, sty);
            stmax = fmax(stx, sty);
        } else {
            stmin = stp + 1.1 * (stp - stx);
            stmax = stp + 4.0 * (stp - stx);
        }
        stp = fmax(stp, stpmin);
        stp = fmin(stp, stpmax);
        if ((brackt && (stp <= stmin || stp >= stmax)) || (brackt && stmax - stmin <= xtol * stmax))
            stp = stx;
    }
    return LS_FAIL;
}

int ao_lbfgs_linesearch(const ao_lbfgs_params *pin, int64_t n, const double *x0, double f0,
                        const double *g0, const double *d, double *stp, double *x, double *f,
                        double *g, ao_lbfgs_eval_fn fn, void *ctx, int *n_eval)
{
    ao_lbfgs_params p;
    lb_ctx c;
    double ginit;
    int rc;

    if (pin) p = *pin;
    else ao_lbfgs_params_init(&p);
    if (n_eval) *n_eval = 0;
    if (!x0 || !g0 || !d || !stp || !x || !f || !g || !fn || n <= 0 || !(*stp > 0.0) ||
        p.max_linesearch < 1 || !(p.ls_c1 > 0.0 && p.ls_c1 <= p.ls_c2 && p.ls_c2 < 1.0) ||
        !(p.step_max >= *stp))
        return AO_EUSAGE;
    ginit = dot(g0, d, n);
    if (!(ginit < 0.0) || !isfinite(f0)) return AO_EUSAGE;
    memset(&c, 0, sizeof c);
    c.p = &p; c.n = n; c.fn = fn; c.ctx = ctx;
    rc = linesearch(&c, x0, f0, ginit, d, stp, x, f, g);
    if (n_eval) *n_eval = c.n_eval;
    return rc;
}

int ao_lbfgs_minimize(const ao_lbfgs_params *pin, int64_t n, double *x,
                      ao_lbfgs_eval_fn fn, void *ctx, ao_lbfgs_result *res, ao_err *err)
{
    ao_lbfgs_params p;
    lb_ctx c;
    double *S = NULL, *Y = NULL, *rho = NULL, *alpha = NULL;
    double *g = NULL, *d = NULL, *xold = NULL, *gold = NULL;
    double f = 0.0, fold, gnorm = 0.0;
    int rc, status = AO_LBFGS_MAX_ITER, iter = 0, col = 0, head = 0, reported = -1;

    memset(&c, 0, sizeof c);
    if (pin) p = *pin;
    else ao_lbfgs_params_init(&p);
    if (res) memset(res, 0, sizeof *res);
    if (!x || !fn || n <= 0 || p.m < 1 || p.max_linesearch < 1 || p.max_iter < 0 ||
        !(p.ls_c1 > 0.0 && p.ls_c1 <= p.ls_c2 && p.ls_c2 < 1.0) || !(p.step_max > 0.0)) {
        rc = ao_err_set(err, AO_EUSAGE, "lbfgs: invalid arguments");
        goto ERROR;
    }
    c.p = &p; c.n = n; c.fn = fn; c.ctx = ctx; c.n_eval = 0;

    S = malloc(sizeof *S * (size_t)n * (size_t)p.m);
    Y = malloc(sizeof *Y * (size_t)n * (size_t)p.m);
    rho = malloc(sizeof *rho * (size_t)p.m);
    alpha = malloc(sizeof *alpha * (size_t)p.m);
    g = malloc(sizeof *g * (size_t)n);
    d = malloc(sizeof *d * (size_t)n);
    xold = malloc(sizeof *xold * (size_t)n);
    gold = malloc(sizeof *gold * (size_t)n);
    if (!S || !Y || !rho || !alpha || !g || !d || !xold || !gold) {
        rc = ao_err_set(err, AO_EMEM, "lbfgs: out of memory (%lld variables)", (long long)n);
        goto ERROR;
    }

    c.n_eval++;
    if ((rc = fn(ctx, x, &f, g)) < -1) {
        ao_err_set(err, rc, "lbfgs: objective failed at the starting point");
        goto ERROR;
    }
    if (!isfinite(f) || !all_finite(g, n)) {
        rc = ao_err_set(err, AO_LBFGS_EDIVERGED,
                        "lbfgs: diverged: non-finite objective at the starting point (f = %g)", f);
        goto ERROR;
    }
    gnorm = maxabs(g, n);
    reported = 0;
    if (p.progress && p.progress(p.progress_ctx, 0, f, gnorm)) {
        status = AO_LBFGS_STOPPED;
        goto DONE;
    }
    if (gnorm <= p.gtol) { status = AO_LBFGS_CONVERGED_GTOL; goto DONE; }
    if (p.max_iter == 0) { status = AO_LBFGS_MAX_ITER; goto DONE; }

    for (;;) {
        double gd, stp, sy, yy;
        int lsr;

    DIRECTION:
        /* d = -H g by the two-loop recursion over the col stored pairs,
         * oldest at head. */
        memcpy(d, g, sizeof *d * (size_t)n);
        for (int k = col - 1; k >= 0; k--) {
            int j = (head + k) % p.m;
            double a = rho[j] * dot(S + (size_t)j * n, d, n);
            const double *yj = Y + (size_t)j * n;
            alpha[j] = a;
            for (int64_t i = 0; i < n; i++) d[i] -= a * yj[i];
        }
        if (col > 0) {
            int j = (head + col - 1) % p.m;
            const double *sj = S + (size_t)j * n, *yj = Y + (size_t)j * n;
            double gamma = dot(sj, yj, n) / dot(yj, yj, n);
            for (int64_t i = 0; i < n; i++) d[i] *= gamma;
        }
        for (int k = 0; k < col; k++) {
            int j = (head + k) % p.m;
            const double *sj = S + (size_t)j * n, *yj = Y + (size_t)j * n;
            double b = rho[j] * dot(yj, d, n);
            double a = alpha[j] - b;
            for (int64_t i = 0; i < n; i++) d[i] += a * sj[i];
        }
        for (int64_t i = 0; i < n; i++) d[i] = -d[i];
        gd = dot(g, d, n);
        if (!(gd < 0.0)) {
            /* Not a descent direction (rounding): forget the memory. */
            if (col == 0) { status = AO_LBFGS_LINESEARCH; goto DONE; }
            col = 0; head = 0;
            goto DIRECTION;
        }

        stp = 1.0;
        if (iter == 0) stp = fmin(1.0 / sqrt(dot(d, d, n)), p.step_max);
        memcpy(xold, x, sizeof *x * (size_t)n);
        memcpy(gold, g, sizeof *g * (size_t)n);
        fold = f;
        lsr = linesearch(&c, xold, fold, gd, d, &stp, x, &f, g);
        if (lsr < -1) {
            rc = ao_err_set(err, lsr, "lbfgs: objective failed in iteration %d", iter + 1);
            memcpy(x, xold, sizeof *x * (size_t)n);
            goto ERROR;
        }
        if (lsr == LS_FAIL) {
            memcpy(x, xold, sizeof *x * (size_t)n);
            memcpy(g, gold, sizeof *g * (size_t)n);
            f = fold;
            if (col == 0) { status = AO_LBFGS_LINESEARCH; goto DONE; }
            col = 0; head = 0;
            goto DIRECTION;
        }
        iter++;
        gnorm = maxabs(g, n);
        if (p.deadline > 0 && ao_now() > p.deadline) { status = AO_LBFGS_STOPPED; goto DONE; }
        if (gnorm <= p.gtol) { status = AO_LBFGS_CONVERGED_GTOL; goto DONE; }
        if (p.ftol > 0.0 && fold - f <= p.ftol * fmax(fmax(fabs(fold), fabs(f)), 1.0)) {
            status = AO_LBFGS_CONVERGED_FTOL;
            goto DONE;
        }
        /* after the convergence tests, so a callback deciding whether to go
         * on (a soft iteration cap) is only asked about unconverged iterates;
         * a converged one is reported by the final call below */
        if (p.progress && p.progress_every > 0 && iter % p.progress_every == 0) {
            reported = iter;
            if (p.progress(p.progress_ctx, iter, f, gnorm)) {
                status = AO_LBFGS_STOPPED;
                goto DONE;
            }
        }
        if (iter >= p.max_iter) { status = AO_LBFGS_MAX_ITER; goto DONE; }
        if (c.n_eval >= p.max_eval) { status = AO_LBFGS_MAX_EVAL; goto DONE; }

        /* New correction pair s = x - xold, y = g - gold. */
        {
            int j = col < p.m ? (head + col) % p.m : head;
            double *sj = S + (size_t)j * n, *yj = Y + (size_t)j * n;
            for (int64_t i = 0; i < n; i++) {
                sj[i] = x[i] - xold[i];
                yj[i] = g[i] - gold[i];
            }
            sy = dot(sj, yj, n);
            yy = dot(yj, yj, n);
            if (sy > DBL_EPSILON * (-gd * stp) && yy > 0.0) {
                rho[j] = 1.0 / sy;
                if (col < p.m) col++;
                else head = (head + 1) % p.m;
            }
        }
    }

DONE:
    /* The final line, unless this iterate was just reported. */
    if (p.progress && reported != iter) (void)p.progress(p.progress_ctx, iter, f, gnorm);
    if (res) {
        res->status = status;
        res->n_iter = iter;
        res->n_eval = c.n_eval;
        res->f = f;
        res->gnorm = gnorm;
    }
    free(S); free(Y); free(rho); free(alpha);
    free(g); free(d); free(xold); free(gold);
    return status;

ERROR:
    if (res) {
        res->status = -1;
        res->n_iter = iter;
        res->n_eval = c.n_eval;
        res->f = f;
        res->gnorm = gnorm;
    }
    free(S); free(Y); free(rho); free(alpha);
    free(g); free(d); free(xold); free(gold);
    return rc < -1 ? rc : AO_EINTERNAL;
}
