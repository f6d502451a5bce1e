/*
 * db_faults.h — faults on a PostgreSQL server, for a rehearsal's fault
 * steps: terminate the sessions of a service, cancel their running queries,
 * hold a table lock for a while.
 *
 * Sessions are chosen with a filter on pg_stat_activity (application name,
 * database, client address, client ports, query text); only client
 * backends are considered and never our own.  A service connected through a
 * fault proxy link is best targeted by the link's upstream ports
 * (fault_proxy_link_upstream_ports).
 *
 * Every call is bounded by a deadline and returns what it did, with wall
 * clock times (microseconds since the epoch), so a journal can record it.
 * The lock is held by a background thread on its own connection: starting,
 * querying and ending it never wait on the database beyond the deadline
 * given.
 */
#ifndef REHEARSE_DB_FAULTS_H
#define REHEARSE_DB_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define DB_FAULT_DEADLINE_MS 5000
#define DB_FAULT_PIDS_MAX 64
#define DB_LOCK_APPLICATION_NAME "rehearse-fault-lock"

struct db_backend_filter {
    const char *application_name;  /* exact match; NULL: any */
    const char *database;          /* NULL: any */
    const char *client_addr;       /* e.g. "127.0.0.1"; NULL: any */
    const int *client_ports;       /* any of these; NULL or none: any */
    size_t nclient_ports;
    const char *query_contains;    /* the session's current (or last) query contains this */
};

struct db_fault_result {
    int64_t started_us, finished_us;
    unsigned matched;              /* sessions the filter selected */
    unsigned signalled;            /* pg_terminate_backend / pg_cancel_backend said yes */
    unsigned gone;                 /* terminate: sessions that ended before we returned */
    int pids[DB_FAULT_PIDS_MAX];   /* the first matched sessions' pids, ascending */
    unsigned npids;
};

/* Terminate the matching sessions and wait (within the deadline) until they
 * are gone.  An empty filter is refused (ERR_USAGE): it would end every
 * session of the server.  deadline_ms <= 0: DB_FAULT_DEADLINE_MS. */
int db_fault_terminate(const char *conninfo, const struct db_backend_filter *filter,
                       int deadline_ms, struct db_fault_result *result, struct error *err);

/* Cancel the running query of the matching sessions that are active. */
int db_fault_cancel(const char *conninfo, const struct db_backend_filter *filter,
                    int deadline_ms, struct db_fault_result *result, struct error *err);

/* ---- a lock held for a while -------------------------------------------- */

struct db_lock_spec {
    const char *conninfo;
    const char *table;             /* "name" or "schema.name"; quoted as identifiers */
    const char *mode;              /* a PostgreSQL lock mode, any case; NULL: ACCESS EXCLUSIVE */
    int64_t duration_ms;           /* how long to hold it once acquired */
    int64_t acquire_timeout_ms;    /* give up waiting for it after this; 0: 10 s */
};

enum db_lock_state {
    DB_LOCK_CONNECTING,
    DB_LOCK_WAITING,               /* LOCK TABLE sent, not granted yet */
    DB_LOCK_HELD,
    DB_LOCK_RELEASED,              /* the transaction ended (or never got the lock) */
    DB_LOCK_FAILED,                /* could not connect or lock: see error */
};

struct db_lock_info {
    enum db_lock_state state;
    int backend_pid;               /* the session holding (or waiting for) the lock */
    int64_t requested_us;          /* wall clock; 0 until it happened */
    int64_t acquired_us;
    int64_t released_us;
    bool ended_early;              /* db_lock_release ended it before its duration */
    char error[512];               /* FAILED, or why a held lock was lost */
};

struct db_lock;

/* Validate the spec (ERR_USAGE for a bad mode or table name) and start the
 * background thread; returns at once.  The session's application_name is
 * DB_LOCK_APPLICATION_NAME. */
int db_lock_start(struct db_lock **out, const struct db_lock_spec *spec, struct error *err);

/* A snapshot of where the lock is. */
void db_lock_info(struct db_lock *lock, struct db_lock_info *info);

/* Wait up to timeout_ms until the lock is held (until = DB_LOCK_HELD) or has
 * ended (DB_LOCK_RELEASED).  Returns 0 once there, ERR_DATABASE when it
 * failed (or ended before being held), ERR_STATE on a timeout. */
int db_lock_wait(struct db_lock *lock, enum db_lock_state until, int timeout_ms,
                 struct db_lock_info *info, struct error *err);

/* End it now (roll the transaction back, or stop waiting for the lock) and
 * wait up to deadline_ms for that to happen.  Returns 0 or ERR_STATE. */
int db_lock_release(struct db_lock *lock, int deadline_ms, struct db_lock_info *info,
                    struct error *err);

/* Release if needed, waiting a bounded time, and free.  NULL is fine. */
void db_lock_free(struct db_lock *lock);

const char *db_lock_state_name(enum db_lock_state state);

#endif
