#include "dbconn.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pgconn.h"

/* Connecting never waits longer than this, even without a deadline. */
#define CONNECT_TIMEOUT_US (30 * 1000000LL)

/*
 * The session every diff runs in.  Text output is made independent of the
 * server's and the user's settings, so two servers print equal values
 * equally: timestamptz in UTC, ISO dates, shortest exact floats, hex bytea.
 * JIT compilation costs more than it saves on our scans; cursors are not
 * used, so parallel plans stay possible.  One REPEATABLE READ READ ONLY
 * transaction makes every query of a diff see the same snapshot.
 */
static const char SESSION_SQL[] =
    "SET client_encoding = 'UTF8'; SET timezone = 'UTC'; SET datestyle = 'ISO, YMD'; "
    "SET intervalstyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'; "
    "SET statement_timeout = 0; SET lock_timeout = 0; "
    "SET idle_in_transaction_session_timeout = 0; SET jit = off; SET work_mem = '64MB'; "
    "SET application_name = 'rehearse dbdiff'; "
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

int64_t dbconn_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void dbconn_mask(const struct dbconn *c, char *text, size_t size)
{
    if (c->conninfo)
        pgconn_scrub(c->conninfo, text, size);
}

/* ---- errors ------------------------------------------------------------- */

/* libpq messages span lines ("...\n\tIs the server running..."): flatten. */
static void flatten(char *s)
{
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\t' || *p == '\r')
            *p = ' ';
}

static int conn_error(struct dbconn *c, int code, struct error *err, const char *what,
                      const char *libpq_message)
{
    char msg[ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s database (%s): %s: %s", c->label, c->where, what,
             libpq_message && *libpq_message ? libpq_message : "no message from libpq");
    flatten(msg);
    dbconn_mask(c, msg, sizeof msg);
    return error_set(err, code, "%s", msg);
}

/* ---- waiting ------------------------------------------------------------ */

/* 0: ready; 1: deadline passed; -1: poll failed. */
static int wait_socket(PGconn *pg, bool for_write, int64_t deadline_us)
{
    struct pollfd pfd = {.fd = PQsocket(pg), .events = for_write ? POLLOUT : POLLIN};
    for (;;) {
        int timeout_ms = -1;
        if (deadline_us) {
            int64_t left = deadline_us - dbconn_now_us();
            if (left <= 0)
                return 1;
            timeout_ms = (int)((left + 999) / 1000);
        }
        int n = poll(&pfd, 1, timeout_ms);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static void cancel_and_drain(struct dbconn *c)
{
    PGcancel *cancel = PQgetCancel(c->pg);
    char buf[256];
    PGresult *r;

    if (cancel) {
        PQcancel(cancel, buf, sizeof buf);
        PQfreeCancel(cancel);
    }
    while ((r = PQgetResult(c->pg)))
        PQclear(r);
    c->streaming = false;
}

static int timed_out(struct dbconn *c, struct error *err)
{
    cancel_and_drain(c);
    return error_set(err, ERR_INTERRUPTED,
                     "%s database (%s): timed out; the running query was cancelled", c->label,
                     c->where);
}

/* Wait until PQgetResult will not block.  Input is read only when libpq
 * has no complete message buffered: PQconsumeInput moves the unparsed
 * buffer down each time it is called, so calling it once per row of a
 * streamed result is quadratic. */
static int wait_result(struct dbconn *c, int64_t deadline_us, struct error *err)
{
    while (PQisBusy(c->pg)) {
        int w = wait_socket(c->pg, false, deadline_us);
        if (w == 1)
            return timed_out(c, err);
        if (w < 0)
            return error_errno(err, ERR_DATABASE, errno, "%s database (%s): poll failed",
                               c->label, c->where);
        if (!PQconsumeInput(c->pg))
            return conn_error(c, ERR_DATABASE, err, "connection lost", PQerrorMessage(c->pg));
    }
    return 0;
}

static bool failed_status(ExecStatusType s)
{
    return s == PGRES_FATAL_ERROR || s == PGRES_BAD_RESPONSE || s == PGRES_NONFATAL_ERROR;
}

/* Collect every result of the statement(s) sent; keep the last. */
static int collect(struct dbconn *c, PGresult **out, int64_t deadline_us, struct error *err)
{
    PGresult *last = NULL;
    int rc = 0;

    for (;;) {
        int w = wait_result(c, deadline_us, err);
        if (w) {
            rc = rc ? rc : w;
            break;
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            break;
        if (failed_status(PQresultStatus(r))) {
            if (!rc)
                rc = conn_error(c, ERR_DATABASE, err, "query failed", PQresultErrorMessage(r));
            PQclear(r);
            continue;
        }
        PQclear(last);
        last = r;
    }
    if (rc || !out)
        PQclear(last);
    else
        *out = last;
    return rc;
}

static int send_query(struct dbconn *c, const char *sql, int nparams, const char *const *params,
                      struct error *err)
{
    int ok = nparams ? PQsendQueryParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0)
                     : PQsendQuery(c->pg, sql);
    if (!ok)
        return conn_error(c, ERR_DATABASE, err, "cannot send a query", PQerrorMessage(c->pg));
    return 0;
}

/* ---- public ------------------------------------------------------------- */

int dbconn_open(struct dbconn *c, const char *label, const char *conninfo, int64_t deadline_us,
                struct error *err)
{
    char *parse_error = NULL;
    PQconninfoOption *opts;
    int rc;

    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    opts = PQconninfoParse(conninfo, &parse_error);
    if (!opts) {
        char msg[ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", parse_error ? parse_error : "out of memory");
        PQfreemem(parse_error);
        flatten(msg);
        pgconn_scrub(conninfo, msg, sizeof msg);
        return error_set(err, ERR_USAGE,
                         "the %s conninfo cannot be parsed: %s; expected 'key=value ...' "
                         "(e.g. 'host=127.0.0.1 port=5432 dbname=app') or a postgresql:// URI",
                         label, msg);
    }
    PQconninfoFree(opts);
    if (!(c->conninfo = strdup(conninfo)))
        return error_set(err, ERR_NOMEM, "out of memory connecting to the %s database", label);
    pgconn_mask(conninfo, c->where, sizeof c->where);

    c->pg = PQconnectStart(conninfo);
    if (!c->pg) {
        rc = error_set(err, ERR_NOMEM, "out of memory connecting to the %s database", label);
        goto fail;
    }
    int64_t connect_deadline = dbconn_now_us() + CONNECT_TIMEOUT_US;
    if (deadline_us && deadline_us < connect_deadline)
        connect_deadline = deadline_us;
    for (PostgresPollingStatusType st = PGRES_POLLING_WRITING;;) {
        if (PQstatus(c->pg) == CONNECTION_BAD)
            st = PGRES_POLLING_FAILED;
        if (st == PGRES_POLLING_OK)
            break;
        if (st == PGRES_POLLING_FAILED) {
            rc = conn_error(c, ERR_DATABASE, err, "cannot connect", PQerrorMessage(c->pg));
            goto fail;
        }
        int w = wait_socket(c->pg, st == PGRES_POLLING_WRITING, connect_deadline);
        if (w == 1) {
            rc = error_set(err, ERR_DATABASE, "%s database (%s): cannot connect: timed out",
                           label, c->where);
            goto fail;
        }
        st = PQconnectPoll(c->pg);
    }
    c->server_version = PQserverVersion(c->pg);
    if (c->server_version < DBCONN_MIN_SERVER_VERSION) {
        rc = error_set(err, ERR_UNSUPPORTED,
                       "%s database (%s): PostgreSQL %d.%d is too old; rehearse needs 14 or "
                       "later (for hash_record_extended)",
                       label, c->where, c->server_version / 10000, c->server_version % 10000);
        goto fail;
    }
    if ((rc = send_query(c, SESSION_SQL, 0, NULL, err)) ||
        (rc = collect(c, NULL, deadline_us, err)))
        goto fail;
    return 0;
fail:
    PQfinish(c->pg);
    c->pg = NULL;
    free(c->conninfo);
    c->conninfo = NULL;
    return rc;
}

void dbconn_close(struct dbconn *c)
{
    if (!c)
        return;
    if (c->pg) {
        if (c->streaming)
            dbconn_stream_abandon(c);
        if (PQtransactionStatus(c->pg) == PQTRANS_INTRANS)
            PQclear(PQexec(c->pg, "COMMIT"));
        PQfinish(c->pg);
        c->pg = NULL;
    }
    free(c->conninfo);
    c->conninfo = NULL;
}

int dbconn_query(struct dbconn *c, const char *sql, int nparams, const char *const *params,
                 PGresult **out, int64_t deadline_us, struct error *err)
{
    int rc;
    if (out)
        *out = NULL;
    if ((rc = send_query(c, sql, nparams, params, err)))
        return rc;
    return collect(c, out, deadline_us, err);
}

int dbconn_query_pair(struct dbconn *conns[2], const char *const sql[2], int nparams,
                      const char *const *const params[2], PGresult *out[2], int64_t deadline_us,
                      struct error *err)
{
    int rc;

    out[0] = out[1] = NULL;
    if ((rc = send_query(conns[0], sql[0], nparams, params[0], err)))
        return rc;
    if ((rc = send_query(conns[1], sql[1], nparams, params[1], err))) {
        cancel_and_drain(conns[0]);
        return rc;
    }
    rc = collect(conns[0], &out[0], deadline_us, err);
    if (rc) {
        cancel_and_drain(conns[1]);
        return rc;
    }
    if ((rc = collect(conns[1], &out[1], deadline_us, err))) {
        PQclear(out[0]);
        out[0] = NULL;
    }
    return rc;
}

int dbconn_stream_start(struct dbconn *c, const char *sql, int nparams,
                        const char *const *params, struct error *err)
{
    int rc;
    if ((rc = send_query(c, sql, nparams, params, err)))
        return rc;
    if (!PQsetSingleRowMode(c->pg)) {
        cancel_and_drain(c);
        return error_set(err, ERR_STATE, "%s database: cannot enter single-row mode", c->label);
    }
    c->streaming = true;
    return 0;
}

int dbconn_stream_next(struct dbconn *c, PGresult **row, int64_t deadline_us, struct error *err)
{
    int rc;

    *row = NULL;
    if (!c->streaming)
        return 0;
    if ((rc = wait_result(c, deadline_us, err))) {
        c->streaming = false;
        return rc;
    }
    PGresult *r = PQgetResult(c->pg);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_TUPLES_OK;
    if (st == PGRES_SINGLE_TUPLE) {
        *row = r;
        return 1;
    }
    c->streaming = false;
    rc = failed_status(st) ? conn_error(c, ERR_DATABASE, err, "query failed",
                                        PQresultErrorMessage(r))
                           : 0;
    PQclear(r);
    /* The final result is followed by NULL; collect whatever remains. */
    int rest = collect(c, NULL, deadline_us, rc ? NULL : err);
    return rc ? rc : rest;
}

void dbconn_stream_abandon(struct dbconn *c)
{
    if (c && c->pg && c->streaming)
        cancel_and_drain(c);
}
