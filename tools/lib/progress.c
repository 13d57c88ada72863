/* progress.c — learning_curve.tsv records and stderr progress lines (progress.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "agentomics/log.h"
#include "agentomics/progress.h"

void ao_progress_note(const char *fmt, ...)
{
    va_list ap;
    if (ao_log_level() < AO_LOG_WARN) return;
    fprintf(stderr, "%s: ", ao_log_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ao_progress_header(FILE *fp)
{
    fputs("unit\tstep\ttrain_loss\tvalid_loss\tvalid_accuracy\telapsed_seconds\n", fp);
    fflush(fp);
}

static void cell(FILE *fp, double v)
{
    if (isfinite(v)) fprintf(fp, "\t%.6g", v);
    else fputs("\tNA", fp);
}

void ao_progress_step(ao_progress *p, const char *unit, int step, int total, double train_loss, double valid_loss, double valid_acc)
{
    double el;
    if (!p) return;
    el = ao_now() - p->t0;
    if (p->tsv) {
        fprintf(p->tsv, "%s\t%d", unit, step);
        cell(p->tsv, train_loss);
        cell(p->tsv, valid_loss);
        cell(p->tsv, valid_acc);
        fprintf(p->tsv, "\t%.3f\n", el);
        fflush(p->tsv);
    }
    if (p->echo && (step == 1 || p->every <= 1 || step % p->every == 0 || step == total)) {
        char line[512], tot[32] = "", eta[96] = "";
        size_t n = 0;
        double left = -1;
        if (total > 0) snprintf(tot, sizeof tot, "/%d", total);
        if (total > 0 && step > 0 && step < total) left = el / step * (total - step);
        if (p->time_limit > 0 && (left < 0 || left > p->time_limit - el)) left = p->time_limit - el > 0 ? p->time_limit - el : 0;
        if (left >= 0 && p->time_limit > 0) snprintf(eta, sizeof eta, ", ETA %.0f s (time limit %.0f s)", left, p->time_limit);
        else if (left >= 0) snprintf(eta, sizeof eta, ", ETA %.0f s", left);
        n += (size_t)snprintf(line + n, sizeof line - n, "%s %d%s:", unit, step, tot);
        if (isfinite(train_loss) && n < sizeof line) n += (size_t)snprintf(line + n, sizeof line - n, " train_loss %.4g,", train_loss);
        if (isfinite(valid_loss) && n < sizeof line) n += (size_t)snprintf(line + n, sizeof line - n, " valid_loss %.4g,", valid_loss);
        if (isfinite(valid_acc) && n < sizeof line) n += (size_t)snprintf(line + n, sizeof line - n, " valid_accuracy %.4f,", valid_acc);
        if (n < sizeof line) snprintf(line + n, sizeof line - n, " %.1f s elapsed%s", el, eta);
        ao_progress_note("%s", line);
    }
}
