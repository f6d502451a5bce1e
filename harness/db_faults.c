/*
 * db_faults.c — terminate, cancel and lock on PostgreSQL with libpq's
 * asynchronous calls, so every wait is bounded by a deadline (and, for the
 * lock's thread, can be cut short through an eventfd).
 */
#include "db_faults.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "now.h"

#define FAULT_APPLICATION_NAME "rehearse-fault"
#define LOCK_ACQUIRE_DEFAULT_MS 10000
#define LOCK_END_MS 5000        /* bound on the ROLLBACK that ends a lock */
#define LOCK_FREE_WAIT_MS 5000  /* db_lock_free waits this long, then lets go */
#define GONE_POLL_US 10000

/* libpq's messages end with a newline; drop it for ours. */
static const char *pq_message(const char *msg, char *out, size_t size)
{
    snprintf(out, size, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return out;
}

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_CANCELLED, WAIT_ERROR };

/* Wait until conn's socket is ready for `events`, cancel_fd (-1: none) is
 * readable, or the deadline (CLOCK_MONOTONIC µs) passes. */
static enum wait_result wait_io(PGconn *conn, short events, int cancel_fd, int64_t deadline)
{
    for (;;) {
        struct pollfd fds[2] = {{PQsocket(conn), events, 0}, {cancel_fd, POLLIN, 0}};
        int64_t left = deadline - now_mono_us();
        if (left <= 0)
            return WAIT_TIMEOUT;
        int n = poll(fds, cancel_fd >= 0 ? 2 : 1, (int)((left + 999) / 1000));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return WAIT_ERROR;
        }
        if (cancel_fd >= 0 && (fds[1].revents & POLLIN))
            return WAIT_CANCELLED;
        if (fds[0].revents)
            return WAIT_READY;
    }
}

/* Connect without waiting past the deadline.  The session is named
 * application_name (overriding the conninfo's). */
static int connect_bounded(PGconn **out, const char *conninfo, const char *application_name,
                           int64_t deadline, int cancel_fd, struct error *err)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *values[] = {conninfo, application_name, NULL};
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    char msg[512];
    PGconn *conn;

    *out = NULL;
    conn = PQconnectStartParams(keys, values, 1);
    if (!conn)
        return error_set(err, ERR_NOMEM, "cannot connect to the database: out of memory");
    if (PQstatus(conn) == CONNECTION_BAD)
        goto failed;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            goto failed;
        enum wait_result w = wait_io(conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                                     cancel_fd, deadline);
        if (w == WAIT_CANCELLED) {
            PQfinish(conn);
            return error_set(err, ERR_INTERRUPTED, "connecting to the database was cancelled");
        }
        if (w != WAIT_READY) {
            PQfinish(conn);
            return error_set(err, ERR_DATABASE,
                             "cannot connect to the database: no answer before the deadline");
        }
        st = PQconnectPoll(conn);
    }
    PQsetnonblocking(conn, 1);
    *out = conn;
    return 0;
failed:
    error_set(err, ERR_DATABASE, "cannot connect to the database: %s",
              pq_message(PQerrorMessage(conn), msg, sizeof msg));
    PQfinish(conn);
    return ERR_DATABASE;
}

/* Ask the server to cancel conn's query and read what is left, briefly. */
static void cancel_and_drain(PGconn *conn)
{
    char errbuf[256];
    PGcancel *cancel = PQgetCancel(conn);
    if (cancel) {
        PQcancel(cancel, errbuf, sizeof errbuf);
        PQfreeCancel(cancel);
    }
    int64_t until = now_mono_us() + 1000000;
    while (PQstatus(conn) == CONNECTION_OK) {
        if (!PQconsumeInput(conn))
            return;
        while (!PQisBusy(conn)) {
            PGresult *r = PQgetResult(conn);
            if (!r)
                return;
            PQclear(r);
        }
        if (wait_io(conn, POLLIN, -1, until) != WAIT_READY)
            return;
    }
}

/*
 * Send sql (with params, or several statements when nparams < 0) and read
 * every result before the deadline.  *last gets the last result (the
 * caller clears it); the first failing statement ends it with ERR_DATABASE.
 * On a timeout or a cancel the query is cancelled on the server.
 */
static int exec_bounded(PGconn *conn, const char *sql, int nparams, const char *const *params,
                        int64_t deadline, int cancel_fd, PGresult **last, struct error *err)
{
    PGresult *keep = NULL;
    char msg[512];
    int sent, rc = 0;

    *last = NULL;
    sent = nparams < 0 ? PQsendQuery(conn, sql)
                       : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!sent)
        return error_set(err, ERR_DATABASE, "cannot send a query: %s",
                         pq_message(PQerrorMessage(conn), msg, sizeof msg));
    for (;;) {
        int f = PQflush(conn);
        if (f == 0)
            break;
        enum wait_result w = f < 0 ? WAIT_ERROR : wait_io(conn, POLLOUT, cancel_fd, deadline);
        if (w != WAIT_READY) {
            rc = w == WAIT_CANCELLED ? ERR_INTERRUPTED : ERR_DATABASE;
            goto interrupted;
        }
    }
    for (;;) {
        if (!PQconsumeInput(conn)) {
            rc = error_set(err, ERR_DATABASE, "the database connection failed: %s",
                           pq_message(PQerrorMessage(conn), msg, sizeof msg));
            break;
        }
        if (PQisBusy(conn)) {
            enum wait_result w = wait_io(conn, POLLIN, cancel_fd, deadline);
            if (w != WAIT_READY) {
                rc = w == WAIT_CANCELLED ? ERR_INTERRUPTED : ERR_DATABASE;
                goto interrupted;
            }
            continue;
        }
        PGresult *r = PQgetResult(conn);
        if (!r)
            break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
            if (!rc)
                rc = error_set(err, ERR_DATABASE, "%s",
                               pq_message(PQresultErrorMessage(r), msg, sizeof msg));
            PQclear(r);
            continue;
        }
        PQclear(keep);
        keep = r;
    }
    if (rc)
        PQclear(keep);
    else
        *last = keep;
    return rc;

interrupted:
    PQclear(keep);
    cancel_and_drain(conn);
    if (rc == ERR_INTERRUPTED)
        return error_set(err, ERR_INTERRUPTED, "the query was cancelled");
    return error_set(err, ERR_DATABASE, "the database did not answer before the deadline");
}

/* ---- terminate and cancel ------------------------------------------------ */

static bool filter_empty(const struct db_backend_filter *f)
{
    return !f || (!f->application_name && !f->database && !f->client_addr &&
                  !(f->client_ports && f->nclient_ports) && !f->query_contains);
}

/* The session filter as SQL, its five parameters named in order:
 * application_name, database, client_addr, client ports, query text. */
#define FILTER_SQL                                                                    \
    " FROM pg_stat_activity"                                                          \
    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"              \
    "   AND ($1::text IS NULL OR application_name = $1::text)"                        \
    "   AND ($2::text IS NULL OR datname = $2::text)"                                 \
    "   AND ($3::inet IS NULL OR client_addr = $3::inet)"                             \
    "   AND ($4::int[] IS NULL OR client_port = ANY($4::int[]))"                      \
    "   AND ($5::text IS NULL OR strpos(query, $5::text) > 0)"

static int act(const char *conninfo, const struct db_backend_filter *f, bool terminate,
               int deadline_ms, struct db_fault_result *res, struct error *err)
{
    const char *verb = terminate ? "terminate" : "cancel";
    struct buf ports, pids;
    const char *params[5];
    PGconn *conn = NULL;
    PGresult *r = NULL;
    int64_t deadline;
    int rc;

    memset(res, 0, sizeof *res);
    res->started_us = now_wall_us();
    if (filter_empty(f))
        return error_set(err, ERR_USAGE,
                         "refusing to %s every session of the server: give an application "
                         "name, database, client address, client ports or query text",
                         verb);
    deadline = now_mono_us() + (int64_t)(deadline_ms > 0 ? deadline_ms : DB_FAULT_DEADLINE_MS) * 1000;
    buf_init(&ports, 1 << 20);
    buf_init(&pids, 1 << 20);
    if (f->client_ports && f->nclient_ports) {
        rc = buf_append_char(&ports, '{');
        for (size_t i = 0; !rc && i < f->nclient_ports; i++)
            rc = buf_printf(&ports, "%s%d", i ? "," : "", f->client_ports[i]);
        if (!rc)
            rc = buf_append_char(&ports, '}');
        if (rc) {
            rc = error_set(err, rc, "too many client ports in the session filter");
            goto out;
        }
    }
    params[0] = f->application_name;
    params[1] = f->database;
    params[2] = f->client_addr;
    params[3] = ports.len ? ports.data : NULL;
    params[4] = f->query_contains;

    if ((rc = connect_bounded(&conn, conninfo, FAULT_APPLICATION_NAME, deadline, -1, err)))
        goto out;
    rc = exec_bounded(conn,
                      terminate ? "SELECT pid, pg_terminate_backend(pid)" FILTER_SQL
                                  " ORDER BY pid"
                                : "SELECT pid, pg_cancel_backend(pid)" FILTER_SQL
                                  " AND state = 'active' ORDER BY pid",
                      5, params, deadline, -1, &r, err);
    if (rc)
        goto out;
    res->matched = (unsigned)PQntuples(r);
    rc = buf_append_char(&pids, '{');
    for (int i = 0; !rc && i < PQntuples(r); i++) {
        int pid = atoi(PQgetvalue(r, i, 0));
        if (PQgetvalue(r, i, 1)[0] == 't')
            res->signalled++;
        if (res->npids < DB_FAULT_PIDS_MAX)
            res->pids[res->npids++] = pid;
        rc = buf_printf(&pids, "%s%d", i ? "," : "", pid);
    }
    if (!rc)
        rc = buf_append_char(&pids, '}');
    if (rc) {
        rc = error_set(err, rc, "too many sessions matched");
        goto out;
    }
    PQclear(r);
    r = NULL;

    /* A terminated backend takes a moment to go: wait for it, so the
     * journal can say they are gone (and a restart step finds them so). */
    while (terminate && res->matched) {
        const char *p[1] = {pids.data};
        rc = exec_bounded(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])",
                          1, p, deadline, -1, &r, err);
        if (rc) {
            rc = 0; /* the deadline: report how many are gone so far */
            error_init(err);
            break;
        }
        unsigned left = (unsigned)atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        r = NULL;
        res->gone = res->matched - (left < res->matched ? left : res->matched);
        if (left == 0 || now_mono_us() + GONE_POLL_US >= deadline)
            break;
        usleep(GONE_POLL_US);
    }
out:
    if (rc)
        error_prefix(err, "cannot %s sessions", verb);
    PQclear(r);
    PQfinish(conn);
    buf_release(&ports);
    buf_release(&pids);
    res->finished_us = now_wall_us();
    return rc;
}

int db_fault_terminate(const char *conninfo, const struct db_backend_filter *filter,
                       int deadline_ms, struct db_fault_result *result, struct error *err)
{
    return act(conninfo, filter, true, deadline_ms, result, err);
}

int db_fault_cancel(const char *conninfo, const struct db_backend_filter *filter,
                    int deadline_ms, struct db_fault_result *result, struct error *err)
{
    return act(conninfo, filter, false, deadline_ms, result, err);
}

/* ---- the lock -------------------------------------------------------------- */

static const char *const lock_modes[] = {
    "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE",
    "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE",
};

struct db_lock {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                /* the caller's and the thread's */
    bool end_requested;
    bool finished;           /* the thread is done with the database */
    int end_fd;              /* eventfd: end now */
    pthread_t thread;
    struct db_lock_info info;
    char *conninfo;
    char *sql;               /* BEGIN; SET LOCAL lock_timeout ...; LOCK TABLE ... */
    int64_t duration_ms;
    int64_t acquire_timeout_ms;
};

const char *db_lock_state_name(enum db_lock_state state)
{
    switch (state) {
    case DB_LOCK_CONNECTING: return "connecting";
    case DB_LOCK_WAITING: return "waiting";
    case DB_LOCK_HELD: return "held";
    case DB_LOCK_RELEASED: return "released";
    case DB_LOCK_FAILED: return "failed";
    }
    return "?";
}

static void lock_unref(struct db_lock *l)
{
    pthread_mutex_lock(&l->mu);
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (!last)
        return;
    close(l->end_fd);
    free(l->conninfo);
    free(l->sql);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

/* Move to a state (under mu) and wake the waiters. */
static void lock_set(struct db_lock *l, enum db_lock_state state, const struct error *err)
{
    pthread_mutex_lock(&l->mu);
    l->info.state = state;
    int64_t now = now_wall_us();
    if (state == DB_LOCK_WAITING)
        l->info.requested_us = now;
    else if (state == DB_LOCK_HELD)
        l->info.acquired_us = now;
    else if (state == DB_LOCK_RELEASED || state == DB_LOCK_FAILED)
        l->info.released_us = l->info.acquired_us ? now : 0;
    if (err && err->code)
        snprintf(l->info.error, sizeof l->info.error, "%s", err->message);
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static bool lock_end_requested(struct db_lock *l)
{
    pthread_mutex_lock(&l->mu);
    bool r = l->end_requested;
    pthread_mutex_unlock(&l->mu);
    return r;
}

static void *lock_main(void *arg)
{
    struct db_lock *l = arg;
    PGconn *conn = NULL;
    PGresult *r = NULL;
    struct error err;
    int64_t deadline;
    int rc;

    error_init(&err);
    /* The acquire timeout runs on the server (lock_timeout); ours is a
     * safety net a little later. */
    deadline = now_mono_us() + (l->acquire_timeout_ms + 2000) * 1000;
    rc = connect_bounded(&conn, l->conninfo, DB_LOCK_APPLICATION_NAME, deadline, l->end_fd, &err);
    if (rc) {
        if (rc == ERR_INTERRUPTED) {
            pthread_mutex_lock(&l->mu);
            l->info.ended_early = true;
            pthread_mutex_unlock(&l->mu);
            lock_set(l, DB_LOCK_RELEASED, NULL);
        } else {
            lock_set(l, DB_LOCK_FAILED, &err);
        }
        goto out;
    }
    pthread_mutex_lock(&l->mu);
    l->info.backend_pid = PQbackendPID(conn);
    pthread_mutex_unlock(&l->mu);
    lock_set(l, DB_LOCK_WAITING, NULL);
    rc = exec_bounded(conn, l->sql, -1, NULL, deadline, l->end_fd, &r, &err);
    PQclear(r);
    if (rc == ERR_INTERRUPTED) { /* ended before the lock was granted */
        pthread_mutex_lock(&l->mu);
        l->info.ended_early = true;
        pthread_mutex_unlock(&l->mu);
        lock_set(l, DB_LOCK_RELEASED, NULL);
        goto out;
    }
    if (rc) {
        error_prefix(&err, "cannot lock");
        lock_set(l, DB_LOCK_FAILED, &err);
        goto out;
    }
    lock_set(l, DB_LOCK_HELD, NULL);

    /* Hold it: wait for the end of the duration, an early end, or the
     * connection dying under us (a terminate fault, a server crash). */
    int64_t until = now_mono_us() + l->duration_ms * 1000;
    for (;;) {
        enum wait_result w = wait_io(conn, POLLIN, l->end_fd, until);
        if (w == WAIT_READY) {
            if (PQconsumeInput(conn) && PQstatus(conn) == CONNECTION_OK)
                continue; /* a notice or the like */
            char msg[400];
            error_set(&err, ERR_DATABASE, "the session holding the lock was lost: %s",
                      pq_message(PQerrorMessage(conn), msg, sizeof msg));
            lock_set(l, DB_LOCK_RELEASED, &err);
            goto out;
        }
        if (w == WAIT_CANCELLED) {
            pthread_mutex_lock(&l->mu);
            l->info.ended_early = true;
            pthread_mutex_unlock(&l->mu);
        }
        break;
    }
    /* ROLLBACK ends it; if that does not answer, closing the connection
     * makes the server roll back all the same. */
    rc = exec_bounded(conn, "ROLLBACK", -1, NULL, now_mono_us() + LOCK_END_MS * 1000, -1, &r, &err);
    PQclear(r);
    PQfinish(conn);
    conn = NULL;
    lock_set(l, DB_LOCK_RELEASED, rc ? &err : NULL);
out:
    PQfinish(conn);
    pthread_mutex_lock(&l->mu);
    l->finished = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    lock_unref(l);
    return NULL;
}

/* "schema.name" → "schema"."name", quoted as identifiers. */
static int quote_table(const char *table, struct buf *out, struct error *err)
{
    const char *dot = strchr(table, '.');
    if (!*table || (dot && (dot == table || !dot[1] || strchr(dot + 1, '.'))))
        return error_set(err, ERR_USAGE,
                         "lock: table '%s': expected NAME or SCHEMA.NAME", table);
    for (const char *part = table; part;) {
        const char *end = part == table && dot ? dot : part + strlen(part);
        buf_append_char(out, '"');
        for (const char *c = part; c < end; c++) {
            if (*c == '"')
                buf_append_char(out, '"');
            buf_append_char(out, *c);
        }
        buf_append_char(out, '"');
        if (part == table && dot) {
            buf_append_char(out, '.');
            part = dot + 1;
        } else {
            part = NULL;
        }
    }
    return 0;
}

static const char *lock_mode(const char *mode)
{
    char norm[64];
    size_t n = 0;
    if (!mode)
        return "ACCESS EXCLUSIVE";
    /* Any case, with single spaces or underscores between words. */
    for (const char *c = mode; *c && n < sizeof norm - 1; c++)
        norm[n++] = *c == '_' ? ' ' : (char)toupper((unsigned char)*c);
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof lock_modes / sizeof lock_modes[0]; i++)
        if (strcmp(norm, lock_modes[i]) == 0)
            return lock_modes[i];
    return NULL;
}

int db_lock_start(struct db_lock **out, const struct db_lock_spec *spec, struct error *err)
{
    struct db_lock *l;
    struct buf sql;
    const char *mode = lock_mode(spec->mode);
    int rc;

    *out = NULL;
    if (!mode)
        return error_set(err, ERR_USAGE,
                         "lock: mode '%s': expected one of ACCESS SHARE, ROW SHARE, ROW "
                         "EXCLUSIVE, SHARE UPDATE EXCLUSIVE, SHARE, SHARE ROW EXCLUSIVE, "
                         "EXCLUSIVE, ACCESS EXCLUSIVE",
                         spec->mode);
    if (spec->duration_ms < 0 || spec->acquire_timeout_ms < 0)
        return error_set(err, ERR_USAGE, "lock: durations must not be negative");
    if (!spec->conninfo || !spec->table)
        return error_set(err, ERR_USAGE, "lock: a conninfo and a table are needed");
    int64_t acquire = spec->acquire_timeout_ms ? spec->acquire_timeout_ms : LOCK_ACQUIRE_DEFAULT_MS;

    buf_init(&sql, 4096);
    buf_printf(&sql, "BEGIN; SET LOCAL lock_timeout = %lld; LOCK TABLE ", (long long)acquire);
    if ((rc = quote_table(spec->table, &sql, err))) {
        buf_release(&sql);
        return rc;
    }
    if (buf_printf(&sql, " IN %s MODE", mode)) {
        buf_release(&sql);
        return error_set(err, ERR_USAGE, "lock: table name '%s' is too long", spec->table);
    }
    if (!(l = calloc(1, sizeof *l))) {
        buf_release(&sql);
        return error_set(err, ERR_NOMEM, "lock: out of memory");
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    l->refs = 2;
    l->sql = buf_take(&sql, NULL);
    l->conninfo = strdup(spec->conninfo);
    l->duration_ms = spec->duration_ms;
    l->acquire_timeout_ms = acquire;
    l->info.state = DB_LOCK_CONNECTING;
    l->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!l->conninfo || l->end_fd < 0 || (rc = pthread_create(&l->thread, NULL, lock_main, l))) {
        rc = error_errno(err, ERR_ENV, l->end_fd < 0 ? errno : rc ? rc : ENOMEM,
                         "lock: cannot start its thread");
        l->refs = 1;
        lock_unref(l);
        return rc;
    }
    *out = l;
    return 0;
}

void db_lock_info(struct db_lock *l, struct db_lock_info *info)
{
    pthread_mutex_lock(&l->mu);
    *info = l->info;
    pthread_mutex_unlock(&l->mu);
}

static void deadline_abs(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool reached(const struct db_lock_info *info, enum db_lock_state until)
{
    if (info->state == DB_LOCK_FAILED || info->state == DB_LOCK_RELEASED)
        return true;
    return info->state >= until;
}

int db_lock_wait(struct db_lock *l, enum db_lock_state until, int timeout_ms,
                 struct db_lock_info *info, struct error *err)
{
    struct timespec ts;
    struct db_lock_info snap;

    deadline_abs(&ts, timeout_ms > 0 ? timeout_ms : DB_FAULT_DEADLINE_MS);
    pthread_mutex_lock(&l->mu);
    while (!reached(&l->info, until))
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
            break;
    snap = l->info;
    pthread_mutex_unlock(&l->mu);
    if (info)
        *info = snap;
    if (snap.state == DB_LOCK_FAILED)
        return error_set(err, ERR_DATABASE, "%s", snap.error);
    if (!reached(&snap, until))
        return error_set(err, ERR_STATE, "lock: still %s after %d ms",
                         db_lock_state_name(snap.state), timeout_ms);
    if (until == DB_LOCK_HELD && snap.state == DB_LOCK_RELEASED && !snap.acquired_us)
        return error_set(err, ERR_DATABASE, "lock: ended before it was acquired");
    return 0;
}

int db_lock_release(struct db_lock *l, int deadline_ms, struct db_lock_info *info,
                    struct error *err)
{
    uint64_t one = 1;
    pthread_mutex_lock(&l->mu);
    l->end_requested = true;
    pthread_mutex_unlock(&l->mu);
    if (write(l->end_fd, &one, sizeof one) < 0) {
        /* only fails when the counter is full: already asked */
    }
    int rc = db_lock_wait(l, DB_LOCK_RELEASED, deadline_ms, info, err);
    return rc == ERR_DATABASE ? 0 : rc; /* a lock that had failed is released too */
}

void db_lock_free(struct db_lock *l)
{
    struct timespec ts;
    bool finished;

    if (!l)
        return;
    if (!lock_end_requested(l)) {
        uint64_t one = 1;
        pthread_mutex_lock(&l->mu);
        l->end_requested = true;
        pthread_mutex_unlock(&l->mu);
        if (write(l->end_fd, &one, sizeof one) < 0) {
            /* already asked */
        }
    }
    deadline_abs(&ts, LOCK_FREE_WAIT_MS);
    pthread_mutex_lock(&l->mu);
    while (!l->finished)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
            break;
    finished = l->finished;
    pthread_mutex_unlock(&l->mu);
    /* A thread stuck on an unresponsive server is let go; it frees the lock
     * object when it ends. */
    if (finished)
        pthread_join(l->thread, NULL);
    else
        pthread_detach(l->thread);
    lock_unref(l);
}
