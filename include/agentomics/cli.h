/* cli.h — what every tool's main() shares: the common options (-v, -q,
 * -h/--help, --version), number parsing for the others, the standard
 * usage-error behaviour, and the exit block (the error message, the exit
 * status, and the resource summary under -v). A main reads:
 *
 *   ao_cli cli;
 *   ao_cli_init(&cli, argv[0], usage);
 *   while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
 *       switch (c) {
 *       case O_THING: ...; break;
 *       default: if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
 *       }
 *   }
 *   ...check required options, ao_cli_usage_error() on a missing one...
 *   ao_cli_start(&cli);
 *   rc = ao_the_library_call(&opts, &err);
 *   return ao_cli_finish(&cli, rc, &err);
 *
 * --help goes to stdout (exit 0), usage errors to stderr (exit 2), data
 * errors are "PROG: FILE:LINE: problem" with the exit status of
 * ao_exit_code().
 */
#ifndef AGENTOMICS_CLI_H
#define AGENTOMICS_CLI_H

#include <stdio.h>
#include "agentomics/error.h"

/* getopt_long code of --version (outside the char range, below the
 * tools' own codes, which start at 256) */
#define AO_CLI_OPT_VERSION 255
#define AO_CLI_SHORTOPTS "vqh"
#define AO_CLI_LONGOPTS \
    {"verbose", no_argument, 0, 'v'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, \
    {"version", no_argument, 0, AO_CLI_OPT_VERSION}
/* ao_cli_option(): the option was handled, parsing goes on */
#define AO_CLI_GO_ON (-1)

typedef struct ao_cli {
    const char *prog;           /* argv[0] */
    void (*usage)(FILE *fp);    /* the tool's --help text */
    int level;                  /* enum ao_log_level from -v / -q */
    double t0;                  /* start time, for the resource summary */
} ao_cli;

/* Sets up logging (program name, default level) and the start time. */
void ao_cli_init(ao_cli *cli, const char *argv0, void (*usage)(FILE *fp));
/* Handles a getopt_long code that is not one of the tool's own: -v (more
 * output, repeatable), -q (errors only), -h/--help, --version, getopt's
 * ':' (missing argument) and '?' (unknown option). Returns AO_CLI_GO_ON
 * to go on parsing, else the status main() returns (0 after --help or
 * --version, 2 on a usage error, 74 when stdout cannot be written).
 * --version prints two lines: the bare version (what scripts read with
 * `head -1`) and "Using htslib X.Y", as samtools does. */
int ao_cli_option(ao_cli *cli, int opt) AO_WUR;
/* After parsing: applies the verbosity (and htslib's, which stays quiet
 * below -vv) and installs the signal handler that removes the process's
 * temporaries on SIGTERM, SIGINT and SIGHUP (fileio.h). */
void ao_cli_start(ao_cli *cli);
/* The exit block: rc < 0 prints err (a usage error with the --help hint)
 * and returns its exit status; rc >= 0 logs the resource summary (at -v)
 * and returns 0. */
int ao_cli_finish(const ao_cli *cli, int rc, const ao_err *err);

/* An option that takes every following non-option argument and may
 * repeat: --runs r1 r2 --runs r3. Parse with "-" AO_CLI_SHORTOPTS (getopt
 * then returns each non-option, in order, as code 1) and offer every code
 * to ao_cli_list_take first. */
typedef struct ao_cli_list {
    int opt;              /* the option's getopt_long code */
    const char **items;   /* the arguments taken, in order (argv's strings) */
    int n;
    int open;             /* the last option seen was opt: non-options belong to it */
} ao_cli_list;

/* Room for every argument of argc; -1 when out of memory. */
int ao_cli_list_init(ao_cli_list *l, int opt, int argc) AO_WUR;
/* 1: c was the list's option or a non-option after it (arg taken);
 * 0: another option (the caller handles it); -1: a non-option that
 * follows no list option (a usage error for the caller to report). */
int ao_cli_list_take(ao_cli_list *l, int c, const char *arg);
void ao_cli_list_free(ao_cli_list *l);

/* Parses a whole decimal integer in [lo, hi]; 0 on success, -1 otherwise. */
int ao_cli_int(const char *s, long lo, long hi, long *out);
/* Parses a whole finite double; 0 on success, -1 otherwise. */
int ao_cli_double(const char *s, double *out);
/* Prints "PROG: MESSAGE\nTry 'PROG --help' for more information." to
 * stderr and returns the usage exit status (2), for `return ao_cli_usage_error(...)`. */
int ao_cli_usage_error(const char *fmt, ...) AO_PRINTF(1, 2);

#endif
