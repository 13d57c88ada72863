/* cli.c — the option handling and exit block every tool's main() shares
 * (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <htslib/hts.h>
#include "agentomics/cli.h"
#include "agentomics/error.h"
#include "agentomics/fileio.h"
#include "agentomics/log.h"

void ao_cli_init(ao_cli *cli, const char *argv0, void (*usage)(FILE *fp))
{
    cli->prog = argv0;
    cli->usage = usage;
    cli->level = AO_LOG_WARN;
    cli->t0 = ao_now();
    ao_log_setup(argv0, cli->level);
}

int ao_cli_option(ao_cli *cli, int opt)
{
    switch (opt) {
    case 'v':
        if (cli->level < AO_LOG_DEBUG) cli->level++;
        return AO_CLI_GO_ON;
    case 'q':
        cli->level = AO_LOG_ERROR;
        return AO_CLI_GO_ON;
    case 'h':
        cli->usage(stdout);
        return fflush(stdout) == 0 ? AO_EXIT_OK : AO_EXIT_IO;
    case AO_CLI_OPT_VERSION:
        /* line 1 stays the bare version, for scripts ($(tool --version | head -1));
         * line 2 names the htslib the tool runs with, as samtools does */
        printf("%s\nUsing htslib %s\n", AO_VERSION, hts_version());
        return fflush(stdout) == 0 ? AO_EXIT_OK : AO_EXIT_IO;
    case '?':
        /* getopt_long has said what is wrong (unknown option, missing argument) */
        fprintf(stderr, "Try '%s --help' for more information.\n", ao_log_progname());
        return AO_EXIT_USAGE;
    default:
        /* a code in the tool's table that its switch does not handle */
        return ao_cli_usage_error("invalid option");
    }
}

void ao_cli_start(ao_cli *cli)
{
    ao_log_setup(cli->prog, cli->level);
    hts_set_log_level(cli->level >= AO_LOG_DEBUG ? HTS_LOG_WARNING : HTS_LOG_OFF);
    /* a workflow engine stops a task with SIGTERM: leave no temporaries */
    ao_cleanup_install();
}

int ao_cli_finish(const ao_cli *cli, int rc, const ao_err *err)
{
    if (rc < 0) {
        if (rc == AO_EUSAGE) return ao_cli_usage_error("%s", err->msg[0] ? err->msg : "invalid arguments");
        ao_error("%s", err->msg[0] ? err->msg : "internal error");
        return ao_exit_code(rc);
    }
    ao_log_resources(cli->t0);
    return AO_EXIT_OK;
}

int ao_cli_list_init(ao_cli_list *l, int opt, int argc)
{
    l->opt = opt;
    l->n = 0;
    l->open = 0;
    /* argc bounds the number of arguments */
    return (l->items = calloc((size_t)argc + 1, sizeof *l->items)) ? 0 : -1;
}

int ao_cli_list_take(ao_cli_list *l, int c, const char *arg)
{
    if (c != 1) {
        l->open = c == l->opt;
        if (!l->open) return 0;
    } else if (!l->open) {
        return -1;
    }
    l->items[l->n++] = arg;
    return 1;
}

void ao_cli_list_free(ao_cli_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int ao_cli_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int ao_cli_double(const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int ao_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", ao_log_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", ao_log_progname());
    return AO_EXIT_USAGE;
}
