/*
 * step_sql.c — run SQL on a database and measure what it did to locks.
 *
 *     {"name": "expand", "sql": {"database": "app", "file": "migrations/expand.sql",
 *                                "lock_timeout": "500ms", "statement_timeout": "30s"}}
 *     {"name": "must-fail", "sql": {"database": "app", "query": "...",
 *                                   "expect_error": "55P03"}}
 *
 * The text goes to the server as one simple-query message, so it runs as one
 * implicit transaction unless it has its own BEGIN/COMMIT (statements that
 * refuse a transaction block, such as CREATE INDEX CONCURRENTLY, need a step
 * of their own).
 *
 * While it runs, a second connection samples pg_stat_activity and pg_locks
 * every SAMPLE_US for the step's backend: whether it waits for a lock (which
 * lock, who holds it, for how long), which ACCESS EXCLUSIVE locks it holds
 * on existing relations and since when, and how many other sessions are
 * blocked behind it.  This is what goes wrong when a migration meets
 * traffic: DDL queued behind a long transaction, then blocking everything
 * queued behind it.  Measurements have the resolution of the sampling.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pgconn.h"
#include "run_control.h"
#include "step.h"
#include "fileutil.h"

#define SAMPLE_US 10000
#define SQL_MAX (256u << 20)
#define MAX_EPISODES 50
#define MAX_RELATIONS 50
#define NOTICES_MAX (1u << 20)

struct sql_step {
    int database;
    const char *file;          /* absolute, owned by the scenario; or NULL */
    char *query;               /* inline SQL; or NULL */
    int64_t lock_timeout_us, statement_timeout_us; /* -1: not set */
    bool expect_error;
    char expect_sqlstate[6];   /* empty: any error */
};

static const char *const sql_keys[] = {"database", "file", "query", "lock_timeout",
                                       "statement_timeout", "expect_error", NULL};

static const char *const sql_measures[] = {
    "lock_wait_ms", "lock_waits", "exclusive_lock_ms", "exclusive_wait_ms",
    "blocked_sessions", "blocking_ms", "rows", NULL};

static void free_sql(void *data)
{
    struct sql_step *q = data;
    if (q)
        free(q->query);
    free(q);
}

static bool sqlstate_ok(const char *s)
{
    if (strlen(s) != 5)
        return false;
    for (int i = 0; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

static bool parse_sql(struct scenario_parser *p, struct step *step, const json_t *value,
                      const char *pointer)
{
    struct sql_step *q = calloc(1, sizeof *q);
    const char *database = NULL, *file = NULL, *query = NULL;
    char ptr[SCENARIO_POINTER_MAX], found[96];
    bool ok;

    if (!q)
        return false;
    step->data = q;
    q->database = -1;
    q->lock_timeout_us = q->statement_timeout_us = -1;
    ok = scenario_check_object(p, value, pointer, sql_keys, "an sql step");
    if (!json_is_object(value))
        return false;
    if (scenario_get_string(p, value, pointer, "database", true, &database) && database) {
        scenario_pointer(ptr, sizeof ptr, pointer, "database");
        q->database = scenario_ref_database(p, ptr, database);
        ok = ok && q->database >= 0;
    } else {
        ok = false;
    }
    ok = scenario_get_string(p, value, pointer, "file", false, &file) && ok;
    ok = scenario_get_string(p, value, pointer, "query", false, &query) && ok;
    if (file && query) {
        scenario_pointer(ptr, sizeof ptr, pointer, "query");
        scenario_error(p, ptr, "give either \"file\" or \"query\", not both");
        ok = false;
    } else if (!file && !query && json_is_object(value) && !json_object_get(value, "file") &&
               !json_object_get(value, "query")) {
        scenario_error(p, pointer, "missing \"file\" (an SQL file) or \"query\" (inline SQL)");
        ok = false;
    } else if (file) {
        scenario_pointer(ptr, sizeof ptr, pointer, "file");
        q->file = scenario_input_file(p, ptr, file);
        ok = ok && q->file;
    } else if (query) {
        q->query = strdup(query);
    }
    ok = scenario_get_duration(p, value, pointer, "lock_timeout", false, &q->lock_timeout_us) && ok;
    ok = scenario_get_duration(p, value, pointer, "statement_timeout", false,
                               &q->statement_timeout_us) && ok;
    const json_t *expect = json_object_get(value, "expect_error");
    if (expect) {
        scenario_pointer(ptr, sizeof ptr, pointer, "expect_error");
        if (json_is_boolean(expect)) {
            q->expect_error = json_is_true(expect);
        } else if (json_is_string(expect) && sqlstate_ok(json_string_value(expect))) {
            q->expect_error = true;
            snprintf(q->expect_sqlstate, sizeof q->expect_sqlstate, "%s",
                     json_string_value(expect));
        } else {
            scenario_describe(expect, found, sizeof found);
            scenario_error(p, ptr,
                           "expected true, false or a SQLSTATE of five digits or capital "
                           "letters such as \"55P03\", found %s",
                           found);
            ok = false;
        }
    }
    return ok;
}

/* ---- lock sampling --------------------------------------------------------- */

/* One query per sample, for the step's backend ($1). */
static const char sample_sql[] =
    "SELECT coalesce(a.wait_event_type = 'Lock', false),"
    " (SELECT json_agg(json_build_object('locktype', l.locktype, 'mode', l.mode,"
    "    'relation', CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text END))"
    "  FROM pg_locks l WHERE l.pid = $1 AND NOT l.granted),"
    " (SELECT json_agg(json_build_object('pid', b.pid, 'application_name', b.application_name,"
    "    'state', b.state, 'query', left(b.query, 300),"
    "    'xact_ms', (extract(epoch FROM clock_timestamp() - b.xact_start) * 1000)::bigint))"
    "  FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids($1))),"
    " (SELECT json_agg(DISTINCT c.oid::regclass::text) FROM pg_locks l"
    "  JOIN pg_class c ON c.oid = l.relation"
    "  WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation'"
    "    AND l.mode = 'AccessExclusiveLock'"
    "    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())),"
    " (SELECT count(*) FROM pg_stat_activity o WHERE $1 = ANY (pg_blocking_pids(o.pid)))"
    " FROM pg_stat_activity a WHERE a.pid = $1";

struct episode {               /* one continuous lock wait */
    double start_ms, end_ms;
    json_t *wants;             /* what it waited for */
    json_t *blockers;          /* who held it, when first seen */
    bool exclusive;            /* waited for an ACCESS EXCLUSIVE lock */
};

struct held {                  /* an ACCESS EXCLUSIVE lock held on a relation */
    char relation[256];
    double first_ms, last_ms;
    bool open;
};

struct sampler {
    PGconn *conn;
    bool broken;
    char pid[16];
    int64_t last_us;           /* time of the previous sample */
    double wait_ms, exclusive_wait_ms, blocking_ms;
    long samples, max_blocked;
    struct episode episodes[MAX_EPISODES];
    size_t episode_count, episodes_dropped;
    bool waiting;
    struct held held[MAX_RELATIONS];
    size_t held_count;
};

static bool wants_exclusive(const json_t *wants)
{
    size_t i;
    json_t *w;
    json_array_foreach(wants, i, w) {
        const char *mode = json_string_value(json_object_get(w, "mode"));
        if (mode && strcmp(mode, "AccessExclusiveLock") == 0)
            return true;
    }
    return false;
}

static struct held *held_find(struct sampler *s, const char *relation)
{
    for (size_t i = 0; i < s->held_count; i++)
        if (strcmp(s->held[i].relation, relation) == 0)
            return &s->held[i];
    if (s->held_count == MAX_RELATIONS)
        return NULL;
    struct held *h = &s->held[s->held_count++];
    snprintf(h->relation, sizeof h->relation, "%s", relation);
    h->first_ms = -1;
    return h;
}

/* Take one sample at `now_ms` (ms from the step start). */
static void sample(struct sampler *s, double now_ms, int64_t now_us)
{
    const char *params[1] = {s->pid};
    PGresult *res;
    double dt = s->last_us ? (double)(now_us - s->last_us) / 1000.0 : 0;
    json_error_t jerr;

    if (s->broken)
        return;
    res = PQexecPrepared(s->conn, "sample", 1, params, NULL, NULL, 0);
    s->last_us = now_us;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        /* The monitor is an observer: if it fails, measurement stops, the step goes on. */
        s->broken = true;
        PQclear(res);
        return;
    }
    s->samples++;
    if (PQntuples(res) == 0) { /* the backend is gone */
        PQclear(res);
        return;
    }
    bool waiting = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    json_t *wants = PQgetisnull(res, 0, 1) ? NULL : json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
    json_t *blockers = PQgetisnull(res, 0, 2) ? NULL : json_loads(PQgetvalue(res, 0, 2), 0, &jerr);
    json_t *exclusive = PQgetisnull(res, 0, 3) ? NULL : json_loads(PQgetvalue(res, 0, 3), 0, &jerr);
    long blocked = strtol(PQgetvalue(res, 0, 4), NULL, 10);
    PQclear(res);

    /* Time since the previous sample is attributed to the state seen now. */
    if (waiting) {
        s->wait_ms += dt;
        if (wants && wants_exclusive(wants))
            s->exclusive_wait_ms += dt;
        if (!s->waiting) {
            if (s->episode_count < MAX_EPISODES) {
                struct episode *e = &s->episodes[s->episode_count++];
                e->start_ms = now_ms - dt;
                e->end_ms = now_ms;
                e->wants = wants ? json_incref(wants) : json_array();
                e->blockers = blockers ? json_incref(blockers) : json_array();
                e->exclusive = wants && wants_exclusive(wants);
            } else {
                s->episodes_dropped++;
            }
        } else if (s->episode_count && !s->episodes_dropped) {
            s->episodes[s->episode_count - 1].end_ms = now_ms;
        }
    }
    s->waiting = waiting;
    if (blocked > 0) {
        s->blocking_ms += dt;
        if (blocked > s->max_blocked)
            s->max_blocked = blocked;
    }
    for (size_t i = 0; i < s->held_count; i++)
        s->held[i].open = false;
    size_t i;
    json_t *rel;
    json_array_foreach(exclusive, i, rel) {
        struct held *h = json_is_string(rel) ? held_find(s, json_string_value(rel)) : NULL;
        if (!h)
            continue;
        if (h->first_ms < 0)
            h->first_ms = now_ms;
        h->last_ms = now_ms;
        h->open = true;
    }
    json_decref(wants);
    json_decref(blockers);
    json_decref(exclusive);
}

static int sampler_open(struct sampler *s, const char *conninfo, int pid, const char *step,
                        struct error *err)
{
    char app[128];
    PGresult *res;
    int rc;

    snprintf(app, sizeof app, "rehearse:monitor:%s", step);
    snprintf(s->pid, sizeof s->pid, "%d", pid);
    if ((rc = pgconn_connect(&s->conn, conninfo, app, err)))
        return rc;
    res = PQexec(s->conn, "SET statement_timeout = 2000; SET lock_timeout = 1000");
    PQclear(res);
    res = PQprepare(s->conn, "sample", sample_sql, 1, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        s->broken = true;
    PQclear(res);
    return 0;
}

static void sampler_close(struct sampler *s)
{
    for (size_t i = 0; i < s->episode_count; i++) {
        json_decref(s->episodes[i].wants);
        json_decref(s->episodes[i].blockers);
    }
    PQfinish(s->conn);
}

/* ---- running ----------------------------------------------------------------- */

struct outcome {
    bool failed;               /* the server reported an error */
    bool lost;                 /* the connection or server went away */
    bool cancelled;            /* we cancelled it (the run was stopped) */
    char sqlstate[6];
    char message[ERROR_MESSAGE_MAX];
    long long rows;
    int results;
};

static void on_notice(void *arg, const PGresult *res)
{
    struct buf *notices = arg;
    const char *msg = PQresultErrorMessage(res);
    if (msg && notices->len + strlen(msg) < notices->max)
        buf_append_str(notices, msg);
}

static void take_result(PGresult *res, const char *text, const char *source,
                        struct outcome *out)
{
    ExecStatusType st = PQresultStatus(res);
    out->results++;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        const char *n = PQcmdTuples(res);
        if (n && *n)
            out->rows += strtoll(n, NULL, 10);
        return;
    }
    if (st == PGRES_EMPTY_QUERY || out->failed)
        return;
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    out->failed = true;
    snprintf(out->sqlstate, sizeof out->sqlstate, "%s", sqlstate ? sqlstate : "");
    out->lost = pgconn_sqlstate_lost(sqlstate);
    pgconn_result_message(res, text, source, out->message, sizeof out->message);
}

/* Send the text, then wait for its results while sampling. */
static void execute(PGconn *conn, struct sampler *sampler, struct step_run *run,
                    const char *text, const char *source, struct outcome *out)
{
    int64_t next_sample = run_clock_us();
    int fd = PQsocket(conn);
    PGresult *res;

    if (!PQsendQuery(conn, text)) {
        out->failed = out->lost = true;
        snprintf(out->message, sizeof out->message, "cannot send the query: %s",
                 PQerrorMessage(conn));
        return;
    }
    for (;;) {
        while (!PQisBusy(conn)) {
            if (!(res = PQgetResult(conn)))
                return;
            take_result(res, text, source, out);
            PQclear(res);
        }
        int64_t now = run_clock_us();
        if (now >= next_sample) {
            sample(sampler, step_run_elapsed_us(run) / 1000.0, now);
            next_sample = now + SAMPLE_US;
        }
        if (!out->cancelled && step_run_stopped(run)) {
            PGcancel *cancel = PQgetCancel(conn);
            char why[256];
            if (cancel) {
                PQcancel(cancel, why, sizeof why);
                PQfreeCancel(cancel);
            }
            out->cancelled = true;
        }
        int wait_ms = (int)((next_sample - run_clock_us() + 999) / 1000);
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms) < 0 && errno != EINTR)
            continue;
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !PQconsumeInput(conn)) {
            out->failed = out->lost = true;
            snprintf(out->message, sizeof out->message, "the connection broke: %s",
                     PQerrorMessage(conn));
            return;
        }
    }
}

static int set_timeouts(PGconn *conn, const struct sql_step *q, struct error *err)
{
    char sql[128];
    PGresult *res;
    int rc = 0;
    if (q->lock_timeout_us < 0 && q->statement_timeout_us < 0)
        return 0;
    /* Milliseconds, rounded up: 0 would mean "no timeout". */
    if (q->lock_timeout_us >= 0 && q->statement_timeout_us >= 0)
        snprintf(sql, sizeof sql, "SET lock_timeout = %lld; SET statement_timeout = %lld",
                 (long long)((q->lock_timeout_us + 999) / 1000),
                 (long long)((q->statement_timeout_us + 999) / 1000));
    else if (q->lock_timeout_us >= 0)
        snprintf(sql, sizeof sql, "SET lock_timeout = %lld",
                 (long long)((q->lock_timeout_us + 999) / 1000));
    else
        snprintf(sql, sizeof sql, "SET statement_timeout = %lld",
                 (long long)((q->statement_timeout_us + 999) / 1000));
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = error_set(err, ERR_DATABASE, "cannot set the timeouts: %s",
                       PQresultErrorMessage(res));
    PQclear(res);
    return rc;
}

static void publish(struct step_run *run, const struct sampler *s, const struct outcome *out,
                    double duration_ms, double end_ms)
{
    json_t *waits = json_array(), *exclusive = json_array();
    double exclusive_ms = 0;

    for (size_t i = 0; i < s->episode_count; i++) {
        const struct episode *e = &s->episodes[i];
        json_array_append_new(waits,
                              json_pack("{s:f, s:f, s:f, s:O, s:O, s:b}", "start_ms",
                                        e->start_ms, "end_ms", e->end_ms, "wait_ms",
                                        e->end_ms - e->start_ms, "waiting_for", e->wants,
                                        "blocked_by", e->blockers, "access_exclusive",
                                        e->exclusive));
    }
    for (size_t i = 0; i < s->held_count; i++) {
        const struct held *h = &s->held[i];
        /* Held until the end of the step when last seen in the last sample
         * (locks are released at commit, which ends the step). */
        double until = h->open ? end_ms : h->last_ms;
        double ms = until - h->first_ms;
        if (ms > exclusive_ms)
            exclusive_ms = ms;
        json_array_append_new(exclusive,
                              json_pack("{s:s, s:f, s:f, s:f}", "relation", h->relation,
                                        "first_seen_ms", h->first_ms, "released_ms", until,
                                        "held_ms", ms));
    }
    step_run_output(run, "lock_waits", waits);
    step_run_output(run, "access_exclusive_locks", exclusive);
    step_run_output(run, "locks",
                    json_pack("{s:f, s:i, s:f, s:f, s:f, s:i, s:i, s:i, s:b}", "lock_wait_ms",
                              s->wait_ms, "lock_waits", (int)s->episode_count,
                              "exclusive_wait_ms", s->exclusive_wait_ms, "exclusive_lock_ms",
                              exclusive_ms, "blocking_ms", s->blocking_ms, "blocked_sessions",
                              (int)s->max_blocked, "samples", (int)s->samples,
                              "sample_interval_us", SAMPLE_US, "monitor_failed", s->broken));
    if (!out->cancelled) {
        step_run_metric(run, "lock_wait_ms", s->wait_ms);
        step_run_metric(run, "lock_waits", (double)(s->episode_count + s->episodes_dropped));
        step_run_metric(run, "exclusive_lock_ms", exclusive_ms);
        step_run_metric(run, "exclusive_wait_ms", s->exclusive_wait_ms);
        step_run_metric(run, "blocked_sessions", (double)s->max_blocked);
        step_run_metric(run, "blocking_ms", s->blocking_ms);
        step_run_metric(run, "rows", (double)out->rows);
    }
    (void)duration_ms;
}

static enum step_status run_sql(struct step_run *run, const struct step *step)
{
    const struct sql_step *q = step->data;
    const char *conninfo = step_run_conninfo(run, q->database);
    const char *source = NULL;
    char *text = NULL, app[128], dir[4096];
    struct sampler *sampler = calloc(1, sizeof *sampler);
    struct outcome out;
    struct buf notices;
    PGconn *conn = NULL;
    struct error err;
    enum step_status status;
    int rc;

    memset(&out, 0, sizeof out);
    error_init(&err);
    buf_init(&notices, NOTICES_MAX);
    if (!sampler)
        return step_run_fail(run, STEP_ERROR, "out of memory");
    if (q->file) {
        source = strrchr(q->file, '/') ? strrchr(q->file, '/') + 1 : q->file;
        if ((rc = file_read_text(q->file, SQL_MAX, "SQL file", &text, NULL, &err))) {
            status = step_run_fail(run, STEP_ERROR, "%s", err.message);
            goto out;
        }
    } else if (!(text = strdup(q->query))) {
        status = step_run_fail(run, STEP_ERROR, "out of memory");
        goto out;
    }
    snprintf(app, sizeof app, "rehearse:%s", step->name);
    if ((rc = pgconn_connect(&conn, conninfo, app, &err)) ||
        (rc = sampler_open(sampler, conninfo, PQbackendPID(conn), step->name, &err)) ||
        (rc = set_timeouts(conn, q, &err))) {
        status = step_run_fail(run, STEP_ERROR, "database '%s': %s",
                               step_run_scenario(run)->databases[q->database].name, err.message);
        goto out;
    }
    PQsetNoticeReceiver(conn, on_notice, &notices);
    step_run_output(run, "database",
                    json_string(step_run_scenario(run)->databases[q->database].name));
    step_run_output(run, "backend_pid", json_integer(PQbackendPID(conn)));
    if (q->file)
        step_run_output(run, "file", json_string(q->file));

    int64_t t0 = run_clock_us();
    execute(conn, sampler, run, text, source, &out);
    double ms = (double)(run_clock_us() - t0) / 1000.0;

    step_run_output(run, "statements", json_integer(out.results));
    step_run_output(run, "rows", json_integer(out.rows));
    if (out.failed)
        step_run_output(run, "error", json_pack("{s:s, s:s}", "sqlstate", out.sqlstate,
                                                "message", out.message));
    publish(run, sampler, &out, ms, step_run_elapsed_us(run) / 1000.0);
    if (notices.len && step_run_dir(run, dir, sizeof dir, &err) == 0) {
        char path[4200];
        FILE *f;
        snprintf(path, sizeof path, "%s/notices.log", dir);
        if ((f = fopen(path, "w"))) {
            fwrite(notices.data, 1, notices.len, f);
            fclose(f);
            step_run_output(run, "notices", json_string("notices.log"));
        }
    }

    if (out.cancelled)
        status = STEP_INTERRUPTED;
    else if (out.lost)
        status = step_run_fail(run, STEP_ERROR, "lost the database: %s", out.message);
    else if (q->expect_error && !out.failed)
        status = step_run_fail(run, STEP_FAILED,
                               "expected an error%s%s, but the SQL succeeded",
                               q->expect_sqlstate[0] ? " with SQLSTATE " : "",
                               q->expect_sqlstate);
    else if (q->expect_error && q->expect_sqlstate[0] &&
             strcmp(q->expect_sqlstate, out.sqlstate) != 0)
        status = step_run_fail(run, STEP_FAILED, "expected SQLSTATE %s, got %s",
                               q->expect_sqlstate, out.message);
    else if (!q->expect_error && out.failed)
        status = step_run_fail(run, STEP_FAILED, "%s", out.message);
    else
        status = STEP_OK;
out:
    if (sampler->conn || sampler->episode_count)
        sampler_close(sampler);
    free(sampler);
    PQfinish(conn);
    free(text);
    buf_release(&notices);
    return status;
}

const struct step_kind step_kind_sql = {
    .name = "sql",
    .summary = "run SQL on a database, measuring duration, errors and lock waits",
    .measures = sql_measures,
    .parse = parse_sql,
    .run = run_sql,
    .free = free_sql,
};
