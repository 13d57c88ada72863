/* log.c — levelled logging to stderr, the monotonic clock and the
 * resource summary every tool prints under -v (log.h). The program name
 * and level are process-wide because stderr is. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/time.h>
#include "agentomics/log.h"

/* stderr is one per process, so are its prefix and verbosity. */
static const char *log_progname = "agentomics";
static int log_level = AO_LOG_WARN;

void ao_log_setup(const char *progname, int level)
{
    if (progname) {
        const char *slash = strrchr(progname, '/');
        log_progname = slash ? slash + 1 : progname;
    }
    log_level = level;
}

int ao_log_level(void) { return log_level; }
const char *ao_log_progname(void) { return log_progname; }

void ao_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    va_list ap;
    if (level > log_level) return;
    if (level < 0) level = 0;
    if (level > AO_LOG_DEBUG) level = AO_LOG_DEBUG;
    /* Errors read "prog: FILE:LINE: problem" as the design fixes; the
     * other levels name themselves. */
    if (level == AO_LOG_ERROR) fprintf(stderr, "%s: ", log_progname);
    else fprintf(stderr, "%s: %s: ", log_progname, names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

long ao_peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss;
}

double ao_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void ao_log_resources(double t_start)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return;
    ao_info("real %.3f s, user %.3f s, sys %.3f s, peak RSS %.1f MB", ao_now() - t_start,
            ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6, ru.ru_maxrss / 1024.0);
}
