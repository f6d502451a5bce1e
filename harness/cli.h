/*
 * cli.h — helpers shared by the subcommands: reporting errors with the right
 * exit code, and parsing option values with messages that name the option.
 * Only harness/ prints; lower layers fill a struct error.
 */
#ifndef REHEARSE_CLI_H
#define REHEARSE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "errors.h"

/* Print "rehearse CMD: MESSAGE" on stderr; return the exit code for err. */
int cli_report(const char *cmd, const struct error *err);

/* Print a usage error plus a hint to run --help; return EXIT_BAD_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse option values; on failure print which option and what was expected,
 * and return false. */
bool cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out);
bool cli_parse_double(const char *cmd, const char *option, const char *text, double *out);
/* Sizes accept a suffix: 64k, 16M, 2G (powers of 1024). */
bool cli_parse_size(const char *cmd, const char *option, const char *text, uint64_t *out);
/* Durations accept a unit: 500ms, 30s, 5m, 1h; a bare number is seconds. */
bool cli_parse_duration_us(const char *cmd, const char *option, const char *text,
                           int64_t *out_us);

/* Flush stdout and report a failure to write it (a full disk must not look
 * like success).  Returns 0 or EXIT_ENVIRONMENT. */
int cli_finish_stdout(const char *cmd);

#endif
