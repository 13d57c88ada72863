/* error.c — the error record every library call fills (error.h) and the
 * mapping from return codes to the documented exit statuses. */
#include <stdio.h>
#include <string.h>
#include "agentomics/error.h"

void ao_err_init(ao_err *e)
{
    if (!e) return;
    e->code = AO_OK;
    e->msg[0] = '\0';
}

int ao_err_vset(ao_err *e, int code, const char *fmt, va_list ap)
{
    if (!e || e->code != AO_OK) return code;
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int ao_err_set(ao_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ao_err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int ao_err_at(ao_err *e, int code, const char *file, long line, const char *fmt, ...)
{
    char tmp[AO_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (line > 0) return ao_err_set(e, code, "%s:%ld: %s", file ? file : "-", line, tmp);
    return ao_err_set(e, code, "%s: %s", file ? file : "-", tmp);
}

int ao_exit_code(int rc)
{
    switch (rc) {
    case AO_OK: case AO_END: return AO_EXIT_OK;
    case AO_EDATA: return AO_EXIT_DATA;
    case AO_EIO: return AO_EXIT_IO;
    case AO_EMEM: return AO_EXIT_OSERR;
    case AO_EUSAGE: return AO_EXIT_USAGE;
    case AO_ELLM: return AO_EXIT_UNAVAILABLE;
    case AO_EBUDGET: return AO_EXIT_TEMPFAIL;
    default: return AO_EXIT_SOFTWARE;
    }
}
