/* error.h — return conventions, error messages and exit codes.
 *
 * Every library function returns int: >= 0 success, -1 end of input,
 * < -1 an error of the kind given by enum ao_rc. Details go into an
 * ao_err the caller owns (no globals); only main() turns a code into an
 * exit status with ao_exit_code().
 */
#ifndef AGENTOMICS_ERROR_H
#define AGENTOMICS_ERROR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define AO_WUR __attribute__((warn_unused_result))
#define AO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AO_WUR
#define AO_PRINTF(a, b)
#endif

enum ao_rc {
    AO_OK = 0,
    AO_END = -1,      /* end of input: not an error */
    AO_EDATA = -2,    /* malformed or inconsistent input data  -> exit 65 */
    AO_EIO = -3,      /* cannot open/read/write a file         -> exit 74 */
    AO_EMEM = -4,     /* out of memory                         -> exit 71 */
    AO_EUSAGE = -5,   /* invalid arguments / options           -> exit 2  */
    AO_EINTERNAL = -6, /* a bug                                -> exit 70 */
    AO_ELLM = -7,     /* the LLM provider failed (after retries) -> exit 69 */
    AO_EBUDGET = -8   /* an LLM call or cost budget is used up   -> exit 75 */
};

/* Exit statuses documented in the README (sysexits.h values). */
enum ao_exit {
    AO_EXIT_OK = 0,
    AO_EXIT_FAIL = 1,
    AO_EXIT_USAGE = 2,
    AO_EXIT_DATA = 65,
    AO_EXIT_SOFTWARE = 70,
    AO_EXIT_OSERR = 71,
    AO_EXIT_UNAVAILABLE = 69,
    AO_EXIT_IO = 74,
    AO_EXIT_TEMPFAIL = 75
};

#define AO_ERRMSG_MAX 1024

/* The first error wins: later ao_err_set() calls on a set ao_err are
 * ignored, so the root cause is what the user sees. */
typedef struct ao_err {
    int code;                  /* enum ao_rc, AO_OK when unset */
    char msg[AO_ERRMSG_MAX];   /* "FILE:LINE: problem" or a plain message */
} ao_err;

void ao_err_init(ao_err *e);   /* unset: code AO_OK, empty message */
/* Sets e (if not already set) and returns code, so callers can write
 * `return ao_err_set(e, AO_EDATA, "%s:%ld: bad record", path, line);` */
int ao_err_set(ao_err *e, int code, const char *fmt, ...) AO_PRINTF(3, 4);
int ao_err_vset(ao_err *e, int code, const char *fmt, va_list ap);
/* Same, for data errors located at FILE:LINE (line <= 0 omits it). */
int ao_err_at(ao_err *e, int code, const char *file, long line, const char *fmt, ...) AO_PRINTF(5, 6);
int ao_exit_code(int rc);

#endif
