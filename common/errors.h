/*
 * errors.h — error codes and the caller-owned error record every module fills.
 *
 * Convention (see DEVELOPERS.md): a function returns 0 on success or a
 * negative code from the table below, and writes a sentence a user can act on
 * into the `struct error` its caller passed last.  Lower layers never print.
 *
 * The table is the single source of the enum, the symbolic name and the
 * generic description, so the three cannot drift apart (libuv's errno map).
 */
#ifndef REHEARSE_ERRORS_H
#define REHEARSE_ERRORS_H

#include <stdarg.h>
#include <stddef.h>

/*   name            value  exit  description */
#define ERROR_CODE_MAP(X)                                                    \
    X(ERR_USAGE,       -1,   2,   "usage error")                             \
    X(ERR_INPUT,       -2,   2,   "bad input")                               \
    X(ERR_IO,          -3,   3,   "input/output error")                      \
    X(ERR_NOMEM,       -4,   3,   "out of memory")                           \
    X(ERR_TOOBIG,      -5,   2,   "input exceeds a configured limit")        \
    X(ERR_ENV,         -6,   3,   "environment failure")                     \
    X(ERR_NETWORK,     -7,   3,   "network failure")                         \
    X(ERR_DATABASE,    -8,   3,   "database failure")                        \
    X(ERR_UNSUPPORTED, -9,   2,   "unsupported input")                       \
    X(ERR_INTERRUPTED, -10,  3,   "interrupted")                             \
    X(ERR_STATE,       -11,  3,   "internal state error")                    \
    X(ERR_EOF,         -12,  2,   "unexpected end of input")

enum error_code {
    ERR_OK = 0,
#define ERROR_ENUM_ENTRY(name, value, exit_code, text) name = value,
    ERROR_CODE_MAP(ERROR_ENUM_ENTRY)
#undef ERROR_ENUM_ENTRY
};

/* Process exit codes of the `rehearse` binary (documented in README.md). */
enum exit_code {
    EXIT_OK = 0,          /* done, nothing found */
    EXIT_FINDINGS = 1,    /* regressions / differences / failed assertions */
    EXIT_BAD_INPUT = 2,   /* usage error or unusable input */
    EXIT_ENVIRONMENT = 3, /* the environment failed (I/O, network, database) */
};

#define ERROR_MESSAGE_MAX 1024

/* Filled by the callee on failure; code is 0 while nothing failed. */
struct error {
    int code;
    char message[ERROR_MESSAGE_MAX];
};

void error_init(struct error *err);

/*
 * Record a failure and return `code` so a failure path is one line:
 *     return error_set(err, ERR_INPUT, "%s:%d: expected ...", path, line);
 * `err` may be NULL (the message is dropped).  The message should start
 * lowercase with what failed, name the subject, and say what to do.
 */
int error_set(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_setv(struct error *err, int code, const char *fmt, va_list ap);

/* Like error_set, appending ": strerror(errnum)". */
int error_errno(struct error *err, int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix the existing message with more context ("while reading X: ..."). */
int error_prefix(struct error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *error_name(int code);        /* "ERR_INPUT" */
const char *error_description(int code); /* "bad input" */
int error_exit_code(int code);           /* enum exit_code for a failure */

#endif
