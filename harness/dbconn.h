/*
 * dbconn.h — libpq connections for reading database state (dbstate, dbdiff).
 *
 * What this adds to libpq:
 *   - a password never reaches a message: every message that may quote the
 *     conninfo or the server's words goes through dbconn_mask()
 *     (pgconn_scrub), the connection is described by pgconn_mask(), and the
 *     parse errors of a conninfo that looks like it holds a password have
 *     their quoted pieces blanked;
 *   - a session set up for stable text output (UTC, ISO dates, exact floats,
 *     hex bytea, UTF-8) inside one REPEATABLE READ READ ONLY transaction, so
 *     every query of a diff sees the same snapshot of the database;
 *   - queries sent asynchronously, so the same query runs on two servers at
 *     once (dbconn_query_pair), and rows streamed one at a time in libpq's
 *     single-row mode, so a large result never sits in memory;
 *   - one deadline for everything: waiting past it cancels the running query
 *     and returns ERR_INTERRUPTED.
 *
 * Errors: ERR_USAGE for a conninfo libpq cannot parse, ERR_DATABASE for a
 * server that cannot be reached or a query that fails, ERR_INTERRUPTED when
 * the deadline passed.  Messages name the side ("left database
 * host=... dbname=...") and carry libpq's own words, masked.
 */
#ifndef REHEARSE_DBCONN_H
#define REHEARSE_DBCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#define DBCONN_MIN_SERVER_VERSION 140000 /* hash_record_extended() */

struct dbconn {
    PGconn *pg;                 /* NULL until opened */
    char label[16];             /* "left", "right", "database" */
    char where[320];            /* pgconn_mask(): the conninfo, password masked */
    char *conninfo;             /* our copy, to scrub messages with (pgconn_scrub) */
    int server_version;         /* e.g. 150018 */
    bool streaming;             /* a single-row query is in progress */
};

/* Monotonic clock in microseconds; deadlines are absolute values of it, and
 * 0 means "no deadline". */
int64_t dbconn_now_us(void);

/*
 * Connect, check the server version, set the session up and open the
 * read-only snapshot transaction.  `label` names the side in messages.  On
 * failure the connection is closed (dbconn_close is still safe).
 */
int dbconn_open(struct dbconn *c, const char *label, const char *conninfo, int64_t deadline_us,
                struct error *err);
/* Commit the read-only transaction (if still open) and disconnect. NULL ok. */
void dbconn_close(struct dbconn *c);

/* Replace the connection's password in text[0..] (in place, within size). */
void dbconn_mask(const struct dbconn *c, char *text, size_t size);

/*
 * Run one statement to completion and hand its result to the caller (who
 * PQclear()s it); *out may be NULL to discard it.  Server errors become
 * ERR_DATABASE "LABEL database WHERE: MESSAGE".
 */
int dbconn_query(struct dbconn *c, const char *sql, int nparams, const char *const *params,
                 PGresult **out, int64_t deadline_us, struct error *err);

/* The same statement shape on two connections at once: both are sent before
 * either is waited for, so the servers work concurrently.  sql[i] and
 * params[i] belong to conns[i]; out[i] receive the results (PQclear them). */
int dbconn_query_pair(struct dbconn *conns[2], const char *const sql[2], int nparams,
                      const char *const *const params[2], PGresult *out[2], int64_t deadline_us,
                      struct error *err);

/*
 * Streaming: dbconn_stream_start() sends a query in single-row mode;
 * dbconn_stream_next() returns 1 with one row in *row (PQclear it), 0 at the
 * end (the query is finished), or a negative error.  Start the query on
 * both sides before reading either.  dbconn_stream_abandon() cancels a
 * stream that is no longer wanted and drains it.
 */
int dbconn_stream_start(struct dbconn *c, const char *sql, int nparams,
                        const char *const *params, struct error *err);
int dbconn_stream_next(struct dbconn *c, PGresult **row, int64_t deadline_us, struct error *err);
void dbconn_stream_abandon(struct dbconn *c);

#endif
