/* cli.h — what every tool's main() shares: number parsing for options
 * and the standard --help / --version / usage-error behaviour. */
#ifndef AGENTOMICS_CLI_H
#define AGENTOMICS_CLI_H

/* Parses a whole decimal integer in [lo, hi]; 0 on success, -1 otherwise. */
int ao_cli_int(const char *s, long lo, long hi, long *out);
/* Parses a whole finite double; 0 on success, -1 otherwise. */
int ao_cli_double(const char *s, double *out);
/* Prints "PROG: MESSAGE\nTry 'PROG --help' for more information." to
 * stderr and returns the usage exit status (2), for `return ao_cli_usage(...)`. */
int ao_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
