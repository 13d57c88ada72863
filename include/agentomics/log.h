/* log.h — levelled logging to stderr, prefixed with the program name. */
#ifndef AGENTOMICS_LOG_H
#define AGENTOMICS_LOG_H

#include "agentomics/error.h"

enum ao_log_level { AO_LOG_ERROR = 0, AO_LOG_WARN = 1, AO_LOG_INFO = 2, AO_LOG_DEBUG = 3 };

/* The program name and verbosity are process-wide by nature (stderr is);
 * main() sets them once. Default level: AO_LOG_WARN. */
void ao_log_setup(const char *progname, int level);
int ao_log_level(void);
const char *ao_log_progname(void);
void ao_log(int level, const char *fmt, ...) AO_PRINTF(2, 3);
#define ao_error(...) ao_log(AO_LOG_ERROR, __VA_ARGS__)
#define ao_warn(...) ao_log(AO_LOG_WARN, __VA_ARGS__)
#define ao_info(...) ao_log(AO_LOG_INFO, __VA_ARGS__)
#define ao_debug(...) ao_log(AO_LOG_DEBUG, __VA_ARGS__)

/* Peak resident set size of this process in kilobytes (getrusage). */
long ao_peak_rss_kb(void);
/* Seconds on a monotonic clock. */
double ao_now(void);
/* "agentomics-x: real 1.23 s, user 1.10 s, sys 0.05 s, peak RSS 12.3 MB"
 * at AO_LOG_INFO — the minimap2-style resource summary. */
void ao_log_resources(double t_start);

#endif
