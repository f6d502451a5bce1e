#include "runner.h"

#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fault_proxy.h"
#include "fault_windows.h"
#include "guardian.h"
#include "journal.h"
#include "metrics.h"
#include "now.h"
#include "pg_cluster.h"
#include "pgconn.h"
#include "run_control.h"
#include "run_report.h"
#include "subst.h"
#include "supervisor.h"
#include "fileutil.h"

#define SETUP_SQL_MAX (256u << 20)
#define CONNINFO_MAX 2048

/* What rehearse knows about a database once it exists. */
struct run_db {
    char *conninfo;            /* for connecting (may hold a password) */
    char display[CONNINFO_MAX]; /* the same, password masked */
    char host[256];
    char port[16];
    char dbname[128];
    char user[128];
    char *password;            /* from the conninfo, for ${db.X.url}; NULL if none */
};

/* A link of the fault proxy, once it listens. */
struct run_link {
    char address[FAULT_PROXY_ADDRESS_MAX]; /* "127.0.0.1:40123" */
    char host[FAULT_PROXY_ADDRESS_MAX];
    char port[16];
    char upstream[FAULT_PROXY_ADDRESS_MAX];
    struct run_db db;          /* a link to a database: that database, through the link */
};

struct run {
    const struct scenario *s;
    const struct runner_options *opt;
    char dir[PATH_MAX];
    int64_t start_us;
    _Atomic enum runner_phase phase; /* read by the supervisor's callbacks */
    struct journal *journal;
    struct metrics *metrics;
    struct run_control steps_control, always_control;
    struct guardian *guardian;
    struct pg_cluster *cluster;
    struct run_db *dbs;
    struct supervisor *sv;
    struct fault_proxy *proxy;  /* NULL when the scenario has no links */
    struct run_link *links;
    struct fault_windows *faults;
    pthread_mutex_t lock;      /* the counters below */
    int worst;                 /* 0 ok, 1 a finding, 3 the environment failed */
    int steps_ok, steps_failed, steps_skipped;
    int assertions_passed, assertions_failed;
    bool database_lost;        /* reported once */
    char journal_error[ERROR_MESSAGE_MAX]; /* the first failure to write the journal */
};

struct step_run {
    struct run *run;
    const struct step *step;
    struct run_control *control;
    json_t *record;            /* the step's object in the journal tree */
    int depth;
    int64_t start_us;
    char message[ERROR_MESSAGE_MAX];
};

/* ---- signals -------------------------------------------------------------- */

/* The handler can only reach globals. The first signal stops the steps; the
 * third also stops the always steps (for a user who really wants out). */
static struct run_control *volatile signal_steps, *volatile signal_always;
static volatile sig_atomic_t signal_count;

static void on_signal(int signo)
{
    int saved = errno;
    signal_count++;
    if (signal_steps)
        run_control_signal(signal_steps, signo);
    if (signal_count >= 3 && signal_always)
        run_control_signal(signal_always, signo);
    errno = saved;
}

static void install_signals(struct sigaction old[3])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    sigaction(SIGHUP, &sa, &old[2]);
}

static void restore_signals(const struct sigaction old[3])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGHUP, &old[2], NULL);
    signal_steps = signal_always = NULL;
    signal_count = 0;
}

/* ---- small helpers -------------------------------------------------------- */

static double offset_ms(const struct run *run, int64_t at_us)
{
    return (double)(at_us - run->start_us) / 1000.0;
}

static void set_worst(struct run *run, int level)
{
    pthread_mutex_lock(&run->lock);
    if (level > run->worst)
        run->worst = level;
    pthread_mutex_unlock(&run->lock);
}

static json_t *json_ms(double ms)
{
    return json_real((double)(int64_t)(ms * 1000.0) / 1000.0);
}

/* Refresh the parts of the journal owned by other modules, then write it. */
static void save(struct run *run)
{
    struct error err;
    json_t *root;

    error_init(&err);
    journal_lock(run->journal);
    root = journal_root(run->journal);
    if (run->sv)
        json_object_set_new(root, "services", supervisor_journal(run->sv));
    if (run->faults)
        json_object_set_new(root, "faults", fault_windows_json(run->faults));
    json_object_set_new(root, "metrics", metrics_json(run->metrics));
    journal_unlock(run->journal);
    /* A journal that cannot be written fails the run (exit 3) at the end;
     * the run itself goes on: its services still need stopping. */
    if (journal_save(run->journal, &err)) {
        pthread_mutex_lock(&run->lock);
        bool first = !run->journal_error[0];
        if (first)
            snprintf(run->journal_error, sizeof run->journal_error, "%s", err.message);
        pthread_mutex_unlock(&run->lock);
        if (first && run->opt->on_event) {
            struct runner_event ev = {.phase = run->phase, .message = err.message};
            run->opt->on_event(run->opt->ctx, &ev);
        }
    }
}

static void add_event(struct run *run, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_event(struct run *run, const char *kind, const char *fmt, ...)
{
    char message[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    journal_lock(run->journal);
    json_t *events = json_object_get(journal_root(run->journal), "events");
    json_array_append_new(events, json_pack("{s:f, s:s, s:s}", "at_ms",
                                            offset_ms(run, run_clock_us()), "kind", kind,
                                            "message", message));
    journal_unlock(run->journal);
}

static int mkdir_private(const char *path, struct error *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return error_errno(err, ERR_IO, errno, "cannot create directory '%s'", path);
    return 0;
}

/* ---- step_run: what kinds may use ---------------------------------------- */

bool step_run_sleep(struct step_run *sr, int64_t us)
{
    return run_control_sleep(sr->control, us);
}

bool step_run_stopped(struct step_run *sr)
{
    return run_control_stopped(sr->control);
}

struct run_control *step_run_control(struct step_run *sr)
{
    return sr->control;
}

struct supervisor *step_run_supervisor(struct step_run *sr)
{
    return sr->run->sv;
}

const struct scenario *step_run_scenario(struct step_run *sr)
{
    return sr->run->s;
}

const char *step_run_conninfo(struct step_run *sr, int database)
{
    return sr->run->dbs[database].conninfo;
}

const char *step_run_database_display(struct step_run *sr, int database)
{
    return sr->run->dbs[database].display;
}

const char *step_run_dbname(struct step_run *sr, int database)
{
    return sr->run->dbs[database].dbname;
}

struct fault_proxy *step_run_proxy(struct step_run *sr)
{
    return sr->run->proxy;
}

struct fault_windows *step_run_faults(struct step_run *sr)
{
    return sr->run->faults;
}

static int part_value(void *ctx, const struct subst_part *part, struct buf *out,
                      struct error *err);

struct expansion {
    struct run *run;
    int service;
};

int step_run_expand(struct step_run *sr, const struct subst *t, struct buf *out,
                    struct error *err)
{
    struct expansion x = {sr->run, -1};
    struct subst_values values = {part_value, &x};
    return subst_expand(t, &values, out, err);
}

const char *step_run_run_dir(struct step_run *sr)
{
    return sr->run->dir;
}

void step_run_step_dir(struct step_run *sr, const char *step, char *out, size_t size)
{
    snprintf(out, size, "%s/steps/%s", sr->run->dir, step);
}

int step_run_dir(struct step_run *sr, char *out, size_t size, struct error *err)
{
    char steps[PATH_MAX];
    int rc;
    snprintf(steps, sizeof steps, "%s/steps", sr->run->dir);
    snprintf(out, size, "%s/%s", steps, sr->step->name);
    if ((rc = mkdir_private(steps, err)) || (rc = mkdir_private(out, err)))
        return rc;
    return 0;
}

int64_t step_run_elapsed_us(struct step_run *sr)
{
    return run_clock_us() - sr->start_us;
}

double step_run_offset_ms(struct step_run *sr)
{
    return offset_ms(sr->run, run_clock_us());
}

void step_run_output(struct step_run *sr, const char *key, json_t *value)
{
    journal_lock(sr->run->journal);
    json_t *outputs = json_object_get(sr->record, "outputs");
    if (!outputs) {
        outputs = json_object();
        json_object_set_new(sr->record, "outputs", outputs);
    }
    json_object_set_new(outputs, key, value);
    journal_unlock(sr->run->journal);
}

void step_run_metric_named(struct step_run *sr, const char *name, double value)
{
    metrics_set(sr->run->metrics, name, value);
}

void step_run_metric(struct step_run *sr, const char *measure, double value)
{
    char name[METRIC_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s.%s", sr->step->kind->name, sr->step->name, measure);
    metrics_set(sr->run->metrics, name, value);
}

bool step_run_metric_get(struct step_run *sr, const char *name, double *value)
{
    return metrics_get(sr->run->metrics, name, value);
}

void step_run_assertion(struct step_run *sr, json_t *result, bool passed)
{
    journal_lock(sr->run->journal);
    json_t *list = json_object_get(sr->record, "assertions");
    if (!list) {
        list = json_array();
        json_object_set_new(sr->record, "assertions", list);
    }
    json_array_append_new(list, result);
    journal_unlock(sr->run->journal);
    pthread_mutex_lock(&sr->run->lock);
    if (passed)
        sr->run->assertions_passed++;
    else
        sr->run->assertions_failed++;
    pthread_mutex_unlock(&sr->run->lock);
}

enum step_status step_run_fail(struct step_run *sr, enum step_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sr->message, sizeof sr->message, fmt, ap);
    va_end(ap);
    return status;
}

const char *step_status_name(enum step_status status)
{
    switch (status) {
    case STEP_PENDING: return "pending";
    case STEP_RUNNING: return "running";
    case STEP_OK: return "ok";
    case STEP_FAILED: return "failed";
    case STEP_ERROR: return "error";
    case STEP_INTERRUPTED: return "interrupted";
    case STEP_SKIPPED: return "skipped";
    }
    return "unknown";
}

/* ---- running steps -------------------------------------------------------- */

static void notify(struct run *run, const struct step *step, int depth, int index, int total,
                   bool begin, enum step_status status, double ms, const char *message)
{
    struct runner_event ev = {run->phase, step, depth, index, total, begin, status, ms,
                              message ? message : ""};
    if (run->opt->on_event)
        run->opt->on_event(run->opt->ctx, &ev);
}

static json_t *new_record(struct run *run, const struct step *step, json_t *list)
{
    json_t *record = json_pack("{s:s, s:s, s:s}", "name", step->name, "kind", step->kind->name,
                               "status", "pending");
    if (step->description)
        json_object_set_new(record, "description", json_string(step->description));
    journal_lock(run->journal);
    json_array_append_new(list, record);
    journal_unlock(run->journal);
    return record;
}

static void record_skipped(struct run *run, const struct step *step, json_t *list, int depth,
                           int index, int total)
{
    json_t *record = new_record(run, step, list);
    journal_lock(run->journal);
    json_object_set_new(record, "status", json_string("skipped"));
    journal_unlock(run->journal);
    pthread_mutex_lock(&run->lock);
    run->steps_skipped++;
    pthread_mutex_unlock(&run->lock);
    notify(run, step, depth, index, total, false, STEP_SKIPPED, 0, "");
}

static enum step_status run_step(struct run *run, struct run_control *control,
                                 const struct step *step, json_t *list, int depth, int index,
                                 int total)
{
    struct step_run sr = {.run = run, .step = step, .control = control, .depth = depth};
    char stamp[40];
    enum step_status status;

    if (run_control_stopped(control)) {
        record_skipped(run, step, list, depth, index, total);
        return STEP_SKIPPED;
    }
    sr.record = new_record(run, step, list);
    sr.start_us = run_clock_us();
    journal_timestamp(stamp, sizeof stamp);
    journal_lock(run->journal);
    json_object_set_new(sr.record, "status", json_string("running"));
    json_object_set_new(sr.record, "started_at", json_string(stamp));
    json_object_set_new(sr.record, "start_ms", json_ms(offset_ms(run, sr.start_us)));
    journal_unlock(run->journal);
    save(run);
    notify(run, step, depth, index, total, true, STEP_RUNNING, 0, NULL);

    status = step->kind->run(&sr, step);

    int64_t end_us = run_clock_us();
    double ms = (double)(end_us - sr.start_us) / 1000.0;
    /* A step cut short by a stopped run was interrupted, whatever it says. */
    if (status == STEP_FAILED && run_control_stopped(control) && !sr.message[0])
        status = STEP_INTERRUPTED;
    if (status == STEP_OK || status == STEP_FAILED)
        step_run_metric(&sr, "duration_ms", ms);
    if (status == STEP_INTERRUPTED && !sr.message[0]) {
        char reason[ERROR_MESSAGE_MAX];
        run_control_reason(control, reason, sizeof reason);
        snprintf(sr.message, sizeof sr.message, "interrupted: %s", reason);
    }
    journal_timestamp(stamp, sizeof stamp);
    journal_lock(run->journal);
    json_object_set_new(sr.record, "status", json_string(step_status_name(status)));
    json_object_set_new(sr.record, "ended_at", json_string(stamp));
    json_object_set_new(sr.record, "end_ms", json_ms(offset_ms(run, end_us)));
    json_object_set_new(sr.record, "duration_ms", json_ms(ms));
    if (sr.message[0])
        json_object_set_new(sr.record, "message", json_string(sr.message));
    journal_unlock(run->journal);

    pthread_mutex_lock(&run->lock);
    if (status == STEP_OK)
        run->steps_ok++;
    else if (status == STEP_FAILED || status == STEP_ERROR)
        run->steps_failed++;
    pthread_mutex_unlock(&run->lock);
    if (status == STEP_FAILED)
        set_worst(run, 1);
    if (status == STEP_ERROR)
        set_worst(run, 3);
    /* In the always phase every step runs whatever the others did. */
    if (run->phase == RUNNER_STEPS) {
        if (status == STEP_FAILED && step->on_failure == STEP_STOP_RUN)
            run_control_stop(control, RUN_STOP_STEP_FAILED, "step '%s' failed: %s", step->name,
                             sr.message);
        else if (status == STEP_ERROR)
            run_control_stop(control, RUN_STOP_ENVIRONMENT, "step '%s' could not run: %s",
                             step->name, sr.message);
    }
    save(run);
    notify(run, step, depth, index, total, false, status, ms, sr.message);
    return status;
}

enum step_status step_run_child(struct step_run *sr, const struct step *child)
{
    json_t *children;
    journal_lock(sr->run->journal);
    children = json_object_get(sr->record, "children");
    if (!children) {
        children = json_array();
        json_object_set_new(sr->record, "children", children);
    }
    journal_unlock(sr->run->journal);
    return run_step(sr->run, sr->control, child, children, sr->depth + 1, 0, 0);
}

static void run_list(struct run *run, struct run_control *control, struct step **steps,
                     size_t count, const char *key)
{
    json_t *list = json_array();
    journal_lock(run->journal);
    json_object_set_new(journal_root(run->journal), key, list);
    journal_unlock(run->journal);
    for (size_t i = 0; i < count; i++)
        run_step(run, control, steps[i], list, 0, (int)i + 1, (int)count);
}

/* ---- substitutions -------------------------------------------------------- */

/* Percent-encode for a URI component. */
static int append_uri_part(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c && !rc; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~", *c))
            rc = buf_append_char(out, (char)*c);
        else
            rc = buf_printf(out, "%%%c%c", hex[*c >> 4], hex[*c & 15]);
    }
    return rc;
}

static int db_value(const struct run_db *db, int field, struct buf *out)
{
    int rc;
    switch (field) {
    case SUBST_DB_CONNINFO: return buf_append_str(out, db->conninfo);
    case SUBST_DB_HOST: return buf_append_str(out, db->host);
    case SUBST_DB_PORT: return buf_append_str(out, db->port);
    case SUBST_DB_DBNAME: return buf_append_str(out, db->dbname);
    case SUBST_DB_USER: return buf_append_str(out, db->user);
    case SUBST_DB_URL:
        if ((rc = buf_append_str(out, "postgresql://")) || (rc = append_uri_part(out, db->user)))
            return rc;
        if (db->password && ((rc = buf_append_char(out, ':')) ||
                             (rc = append_uri_part(out, db->password))))
            return rc;
        if (strchr(db->host, ':') && !strchr(db->host, '/'))
            rc = buf_printf(out, "@[%s]:%s/", db->host, db->port);
        else if (db->host[0] == '/')
            rc = buf_printf(out, "@:%s/", db->port); /* socket dir goes in ?host= */
        else
            rc = buf_printf(out, "@%s:%s/", db->host, db->port);
        if (rc || (rc = append_uri_part(out, db->dbname)))
            return rc;
        if (db->host[0] == '/' && ((rc = buf_append_str(out, "?host=")) ||
                                   (rc = append_uri_part(out, db->host))))
            return rc;
        return 0;
    }
    return ERR_STATE;
}

static int link_value(struct run *run, const struct subst_part *part, struct buf *out)
{
    const struct run_link *l = &run->links[part->index];
    switch (part->field) {
    case SUBST_LINK_ADDRESS: return buf_append_str(out, l->address);
    case SUBST_LINK_HOST: return buf_append_str(out, l->host);
    case SUBST_LINK_PORT: return buf_append_str(out, l->port);
    case SUBST_LINK_URL:
        if (run->s->links[part->index].to != LINK_TO_DATABASE)
            return buf_printf(out, "http://%s", l->address);
        return db_value(&l->db, SUBST_DB_URL, out);
    case SUBST_LINK_CONNINFO: return db_value(&l->db, SUBST_DB_CONNINFO, out);
    case SUBST_LINK_DBNAME: return db_value(&l->db, SUBST_DB_DBNAME, out);
    case SUBST_LINK_USER: return db_value(&l->db, SUBST_DB_USER, out);
    }
    return ERR_STATE;
}

static int part_value(void *ctx, const struct subst_part *part, struct buf *out,
                      struct error *err)
{
    struct expansion *x = ctx;
    struct run *run = x->run;
    int rc = ERR_STATE;

    switch (part->kind) {
    case SUBST_DB: rc = db_value(&run->dbs[part->index], part->field, out); break;
    case SUBST_LINK: rc = run->links ? link_value(run, part, out) : ERR_STATE; break;
    case SUBST_SERVICE:
        if (part->field == SUBST_SERVICE_URL) {
            char url[64];
            supervisor_url(run->sv, part->index, url, sizeof url);
            rc = buf_append_str(out, url);
        }
        else if (part->field == SUBST_SERVICE_HOST)
            rc = buf_append_str(out, "127.0.0.1");
        else
            rc = buf_printf(out, "%d", supervisor_port(run->sv, part->index));
        break;
    case SUBST_PORT: rc = buf_printf(out, "%d", supervisor_port(run->sv, x->service)); break;
    case SUBST_RUN_DIR: rc = buf_append_str(out, run->dir); break;
    case SUBST_SCENARIO_DIR: rc = buf_append_str(out, run->s->dir); break;
    case SUBST_LITERAL:
    case SUBST_ENV: break; /* handled by subst_expand */
    }
    if (rc)
        return error_set(err, rc == ERR_TOOBIG ? ERR_TOOBIG : rc,
                         "cannot expand a substitution: %s", error_description(rc));
    return 0;
}

static int expand_service(void *ctx, int service, const struct subst *t, struct buf *out,
                          struct error *err)
{
    struct expansion x = {ctx, service};
    struct subst_values values = {part_value, &x};
    return subst_expand(t, &values, out, err);
}

/* ---- setup ---------------------------------------------------------------- */

static int prepare_dir(struct run *run, struct error *err)
{
    const char *dir = run->opt->run_dir;
    char sub[PATH_MAX];
    int rc;

    /* Parents as needed (0700 too: runs hold logs and database dumps). */
    for (char *slash = strchr(strcpy(sub, dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(sub, 0700) != 0 && errno != EEXIST)
            return error_errno(err, ERR_IO, errno, "cannot create directory '%s'", sub);
        *slash = '/';
    }
    if (mkdir(dir, 0700) != 0) {
        if (errno != EEXIST)
            return error_errno(err, ERR_IO, errno, "cannot create run directory '%s'", dir);
        if (rmdir(dir) != 0) /* an empty directory may be reused; anything else is kept */
            return error_set(err, ERR_USAGE,
                             "run directory '%s' already exists and is not empty; choose another "
                             "with -o or remove it",
                             dir);
        if (mkdir(dir, 0700) != 0)
            return error_errno(err, ERR_IO, errno, "cannot create run directory '%s'", dir);
    }
    if (!realpath(dir, run->dir))
        return error_errno(err, ERR_IO, errno, "cannot resolve '%s'", dir);
    snprintf(sub, sizeof sub, "%s/logs", run->dir);
    if ((rc = mkdir_private(sub, err)))
        return rc;
    return 0;
}

static int load_sql_file(struct run *run, PGconn *conn, const char *path, const char *pointer,
                         struct error *err)
{
    char *text = NULL, where[SCENARIO_POINTER_MAX + 64], message[ERROR_MESSAGE_MAX];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    PGresult *res;
    int rc;

    if ((rc = file_read_text(path, SETUP_SQL_MAX, "setup SQL file", &text, NULL, err)))
        return rc;
    res = PQexec(conn, text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
        PQresultStatus(res) != PGRES_EMPTY_QUERY) {
        const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        pgconn_result_message(res, text, base, message, sizeof message);
        scenario_locate(run->s, pointer, where, sizeof where);
        rc = error_set(err, pgconn_sqlstate_lost(sqlstate) ? ERR_DATABASE : ERR_INPUT,
                       "%s\n  while loading %s (%s)", message, path, where);
        /* "scenario.json:5:20: databases[0].setup[1]: " reads better without the final ": " */
        size_t len = strlen(err->message);
        if (len > 3 && strcmp(err->message + len - 3, ": )") == 0)
            memmove(err->message + len - 3, ")", 2);
    }
    PQclear(res);
    free(text);
    return rc;
}

static int fill_db_from_connection(struct run_db *db, PGconn *conn)
{
    const char *host = PQhost(conn);
    snprintf(db->host, sizeof db->host, "%s", host && *host ? host : "localhost");
    snprintf(db->port, sizeof db->port, "%s", PQport(conn) ? PQport(conn) : "5432");
    snprintf(db->dbname, sizeof db->dbname, "%s", PQdb(conn) ? PQdb(conn) : "");
    snprintf(db->user, sizeof db->user, "%s", PQuser(conn) ? PQuser(conn) : "");
    return 0;
}

static int setup_database(struct run *run, size_t i, struct error *err)
{
    const struct scenario_database *def = &run->s->databases[i];
    struct run_db *db = &run->dbs[i];
    char pointer[SCENARIO_POINTER_MAX], app[128];
    PGconn *conn = NULL;
    int rc;

    if (def->embedded) {
        const char *template_db = def->clone_of >= 0 ? run->s->databases[def->clone_of].name
                                                     : NULL;
        if ((rc = pg_cluster_create_database(run->cluster, def->name, template_db, err)))
            return rc;
        db->conninfo = strdup(pg_cluster_conninfo(run->cluster, def->name));
    } else {
        struct buf b;
        struct expansion x = {run, -1};
        struct subst_values values = {part_value, &x};
        buf_init(&b, CONNINFO_MAX);
        if ((rc = subst_expand(def->conninfo, &values, &b, err))) {
            buf_release(&b);
            return rc;
        }
        db->conninfo = buf_take(&b, NULL);
    }
    if (!db->conninfo)
        return error_set(err, ERR_NOMEM, "out of memory");
    pgconn_mask(db->conninfo, db->display, sizeof db->display);

    char *errmsg = NULL;
    PQconninfoOption *options = PQconninfoParse(db->conninfo, &errmsg);
    PQfreemem(errmsg);
    for (PQconninfoOption *o = options; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            db->password = strdup(o->val);
    PQconninfoFree(options);

    snprintf(app, sizeof app, "rehearse:setup:%s", def->name);
    if ((rc = pgconn_connect(&conn, db->conninfo, app, err))) {
        error_prefix(err, "database '%s'", def->name);
        return rc == ERR_DATABASE ? ERR_ENV : rc;
    }
    fill_db_from_connection(db, conn);
    for (size_t k = 0; k < def->setup_count && !rc; k++) {
        char setup_ptr[SCENARIO_POINTER_MAX];
        scenario_pointer(pointer, sizeof pointer, def->pointer, "setup");
        scenario_pointer_index(setup_ptr, sizeof setup_ptr, pointer, k);
        rc = load_sql_file(run, conn, def->setup[k], setup_ptr, err);
    }
    PQfinish(conn);
    return rc;
}

static int start_cluster(struct run *run, struct error *err)
{
    char dir[PATH_MAX], log[PATH_MAX];
    int rc;

    snprintf(dir, sizeof dir, "%s/pg", run->dir);
    snprintf(log, sizeof log, "%s/logs/postgres.log", run->dir);
    struct pg_cluster_options options = {.dir = dir, .log_path = log,
                                         .keep = run->opt->keep_db};
    if ((rc = pg_cluster_new(&run->cluster, &options, err)))
        return rc;
    if ((rc = pg_cluster_start(run->cluster, err)))
        return rc;
    guardian_watch(run->guardian, pg_cluster_pid(run->cluster), SIGQUIT);
    journal_lock(run->journal);
    json_object_set_new(journal_root(run->journal), "postgres",
                        json_pack("{s:i, s:i, s:s, s:i, s:s}", "pid",
                                  (int)pg_cluster_pid(run->cluster), "port",
                                  pg_cluster_port(run->cluster), "data_dir",
                                  pg_cluster_dir(run->cluster), "server_version",
                                  pg_cluster_server_version(run->cluster), "log",
                                  "logs/postgres.log"));
    journal_unlock(run->journal);
    return 0;
}

static void on_crash(void *ctx, int service, const char *description)
{
    struct run *run = ctx;
    const char *name = run->s->services[service].name;
    add_event(run, "service_crashed", "service '%s' %s while running", name, description);
    if (run->phase == RUNNER_STEPS || run->phase == RUNNER_SETUP) {
        set_worst(run, 1);
        run_control_stop(&run->steps_control, RUN_STOP_SERVICE_CRASHED,
                         "service '%s' %s while running; see logs/%s.stderr.log", name,
                         description, name);
    }
    save(run);
}

static void on_database_exit(void *ctx, pid_t pid, const char *description)
{
    struct run *run = ctx;
    (void)pid;
    if (run->phase == RUNNER_TEARDOWN)
        return;
    run->database_lost = true;
    add_event(run, "database_lost", "the embedded PostgreSQL %s", description);
    set_worst(run, 3);
    if (run->phase == RUNNER_STEPS || run->phase == RUNNER_SETUP)
        run_control_stop(&run->steps_control, RUN_STOP_DATABASE_LOST,
                         "the embedded PostgreSQL %s; see logs/postgres.log", description);
    save(run);
}

/* ---- links ---------------------------------------------------------------- */

/* conninfo with its host and port replaced by the link's: the same database,
 * user and password, reached through the proxy. */
static int link_conninfo(const char *conninfo, const char *host, const char *port,
                         struct buf *out)
{
    char *errmsg = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &errmsg);
    int rc = 0;

    PQfreemem(errmsg);
    if (!options)
        return ERR_INPUT;
    for (PQconninfoOption *o = options; o->keyword && !rc; o++) {
        if (!o->val || !*o->val || strcmp(o->keyword, "host") == 0 ||
            strcmp(o->keyword, "hostaddr") == 0 || strcmp(o->keyword, "port") == 0)
            continue;
        rc = buf_printf(out, "%s='", o->keyword);
        for (const char *c = o->val; *c && !rc; c++)
            rc = (*c == '\'' || *c == '\\') ? buf_printf(out, "\\%c", *c) : buf_append_char(out, *c);
        rc = rc ? rc : buf_append_str(out, "' ");
    }
    PQconninfoFree(options);
    return rc ? rc : buf_printf(out, "host=%s port=%s", host, port);
}

static int start_link(struct run *run, size_t i, json_t *journal, struct error *err)
{
    const struct scenario_link *def = &run->s->links[i];
    struct run_link *l = &run->links[i];
    const char *colon;
    int rc;

    switch (def->to) {
    case LINK_TO_SERVICE:
        snprintf(l->upstream, sizeof l->upstream, "127.0.0.1:%d",
                 supervisor_port(run->sv, def->index));
        break;
    case LINK_TO_DATABASE: {
        const struct run_db *db = &run->dbs[def->index];
        char where[SCENARIO_POINTER_MAX + 64];
        if (db->host[0] == '/') {
            scenario_locate(run->s, def->pointer, where, sizeof where);
            return error_set(err, ERR_INPUT,
                             "%slink '%s': database '%s' is reached through the unix socket in "
                             "%s, but a link relays TCP; give the database's conninfo a host "
                             "name or address",
                             where, def->name, run->s->databases[def->index].name, db->host);
        }
        snprintf(l->upstream, sizeof l->upstream, strchr(db->host, ':') ? "[%s]:%s" : "%s:%s",
                 db->host, db->port);
        break;
    }
    case LINK_TO_ADDRESS:
        snprintf(l->upstream, sizeof l->upstream, "%s", def->address);
        break;
    }
    if ((rc = fault_proxy_add_link(run->proxy, def->name, def->listen, l->upstream, 0, err)) ||
        (rc = fault_proxy_link_address(run->proxy, def->name, l->address, sizeof l->address,
                                       err))) {
        error_prefix(err, "link '%s'", def->name);
        return rc == ERR_USAGE ? ERR_INPUT : rc;
    }
    colon = strrchr(l->address, ':');
    snprintf(l->port, sizeof l->port, "%s", colon + 1);
    if (l->address[0] == '[')
        snprintf(l->host, sizeof l->host, "%.*s", (int)(colon - l->address - 2), l->address + 1);
    else
        snprintf(l->host, sizeof l->host, "%.*s", (int)(colon - l->address), l->address);
    if (def->to == LINK_TO_DATABASE) {
        const struct run_db *db = &run->dbs[def->index];
        struct buf b;
        buf_init(&b, CONNINFO_MAX);
        l->db = *db;
        l->db.password = db->password ? strdup(db->password) : NULL;
        snprintf(l->db.host, sizeof l->db.host, "%s", l->host);
        snprintf(l->db.port, sizeof l->db.port, "%s", l->port);
        if (link_conninfo(db->conninfo, l->host, l->port, &b) || !(l->db.conninfo = buf_take(&b, NULL))) {
            buf_release(&b);
            return error_set(err, ERR_NOMEM, "link '%s': cannot build its conninfo", def->name);
        }
        pgconn_mask(l->db.conninfo, l->db.display, sizeof l->db.display);
    }
    static const char *const to_names[] = {"service", "database", "address"};
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", def->name, "to", to_names[def->to],
                          "address", l->address, "upstream", l->upstream);
    if (def->index >= 0)
        json_object_set_new(o, "of", json_string(def->to == LINK_TO_SERVICE
                                                     ? run->s->services[def->index].name
                                                     : run->s->databases[def->index].name));
    if (def->to == LINK_TO_DATABASE)
        json_object_set_new(o, "conninfo", json_string(l->db.display));
    journal_lock(run->journal);
    json_array_append_new(journal, o);
    journal_unlock(run->journal);
    return 0;
}

/* The proxy and its links: before any service starts, so services get the
 * links' addresses; stopped after every service has stopped. */
static int start_links(struct run *run, struct error *err)
{
    const struct scenario *s = run->s;
    struct fault_proxy_options options = {.has_seed = s->has_seed, .seed = s->seed};
    json_t *links;
    int rc;

    if (s->link_count == 0)
        return 0;
    if (!(run->links = calloc(s->link_count, sizeof *run->links)))
        return error_set(err, ERR_NOMEM, "out of memory");
    if ((rc = fault_proxy_new(&run->proxy, &options, err)))
        return rc;
    links = json_array();
    journal_lock(run->journal);
    json_object_set_new(journal_root(run->journal), "links", links);
    /* Toxicity draws follow the seed: the same seed gives the same draws. */
    json_object_set_new(journal_root(run->journal), "seed",
                        json_integer((json_int_t)(fault_proxy_seed(run->proxy) &
                                                  0x1fffffffffffffULL)));
    journal_unlock(run->journal);
    for (size_t i = 0; i < s->link_count; i++)
        if ((rc = start_link(run, i, links, err)))
            return rc;
    return 0;
}

/* Each link's counters, into the journal, before the proxy goes. */
static void record_link_stats(struct run *run)
{
    json_t *links;
    journal_lock(run->journal);
    links = json_object_get(journal_root(run->journal), "links");
    for (size_t i = 0; i < json_array_size(links); i++) {
        struct fault_link_stats st;
        struct error err;
        json_t *o = json_array_get(links, i);
        error_init(&err);
        if (fault_proxy_link_stats(run->proxy, json_string_value(json_object_get(o, "name")),
                                   &st, &err))
            continue;
        json_object_set_new(
            o, "stats",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "connections",
                      (json_int_t)st.connections_total, "bytes_upstream",
                      (json_int_t)st.bytes_upstream, "bytes_downstream",
                      (json_int_t)st.bytes_downstream, "bytes_dropped",
                      (json_int_t)st.bytes_dropped, "closed_by_toxics",
                      (json_int_t)st.closed_by_toxics, "reset_by_toxics",
                      (json_int_t)st.reset_by_toxics, "upstream_failures",
                      (json_int_t)st.upstream_failures));
    }
    journal_unlock(run->journal);
}

static int setup(struct run *run, struct error *err)
{
    const struct scenario *s = run->s;
    bool embedded = false;
    int rc;

    for (size_t i = 0; i < s->database_count; i++)
        embedded = embedded || s->databases[i].embedded;
    if (embedded && (rc = start_cluster(run, err)))
        return rc;
    json_t *dbs = json_array();
    journal_lock(run->journal);
    json_object_set_new(journal_root(run->journal), "databases", dbs);
    journal_unlock(run->journal);
    for (size_t i = 0; i < s->database_count; i++) {
        if (run_control_stopped(&run->steps_control))
            return error_set(err, ERR_INTERRUPTED, "interrupted while preparing the databases");
        if ((rc = setup_database(run, i, err)))
            return rc;
        const struct scenario_database *def = &s->databases[i];
        journal_lock(run->journal);
        json_t *o = json_pack("{s:s, s:b, s:s, s:s, s:s}", "name", def->name, "embedded",
                              def->embedded, "conninfo", run->dbs[i].display, "host",
                              run->dbs[i].host, "port", run->dbs[i].port);
        if (def->clone_of >= 0)
            json_object_set_new(o, "clone_of", json_string(s->databases[def->clone_of].name));
        json_array_append_new(dbs, o);
        journal_unlock(run->journal);
    }
    struct supervisor_config cfg = {
        .scenario = s, .run_dir = run->dir, .guardian = run->guardian,
        .run_start_us = run->start_us, .expand = expand_service, .on_crash = on_crash,
        .on_watch_exit = on_database_exit, .ctx = run,
        .watch_pid = run->cluster ? pg_cluster_pid(run->cluster) : 0,
    };
    if ((rc = supervisor_new(&run->sv, &cfg, err)))
        return rc;
    if ((rc = start_links(run, err)))
        return rc;
    return 0;
}

/* ---- teardown ------------------------------------------------------------- */

static void teardown(struct run *run)
{
    struct error err;

    run->phase = RUNNER_TEARDOWN;
    /* Faults first: lifting a pause needs its service, a toxic its link. */
    if (run->faults && fault_windows_end_all(run->faults, "exit"))
        save(run);
    /* Services next: they hold connections to the databases.  The
     * supervisor goes with them: it watches the server, whose exit is
     * expected from here on. */
    if (run->sv) {
        supervisor_stop_all(run->sv);
        save(run);
        supervisor_free(run->sv);
        run->sv = NULL;
    }
    /* The proxy after the services: their connections pass through it. */
    if (run->proxy) {
        record_link_stats(run);
        fault_proxy_free(run->proxy);
        run->proxy = NULL;
    }
    if (run->cluster) {
        char data[PATH_MAX];
        snprintf(data, sizeof data, "%s/pg", run->dir);
        pid_t pid = pg_cluster_pid(run->cluster);
        error_init(&err);
        if (pg_cluster_stop(run->cluster, &err) && err.message[0] && !run->database_lost) {
            add_event(run, "database_lost", "%s", err.message);
            set_worst(run, 3);
        }
        /* A server that died by itself may leave backends behind for a
         * moment: its whole group goes now. */
        if (pid > 0)
            kill(-pid, SIGKILL);
        guardian_forget(run->guardian, pid);
        pg_cluster_free(run->cluster);
        run->cluster = NULL;
        /* The data directory is large and rebuilt by every run. */
        if (!run->opt->keep_db)
            file_remove_tree(data);
    }
}

/* ---- the run -------------------------------------------------------------- */

static void finish(struct run *run, struct runner_result *res, int setup_rc,
                   const struct error *setup_err)
{
    char reason[ERROR_MESSAGE_MAX] = "", stamp[40];
    enum run_stop stop = run_control_reason(&run->steps_control, reason, sizeof reason);
    bool complete = setup_rc == 0 && stop == RUN_STOP_NONE && run->steps_skipped == 0;
    const char *status;
    int code;

    if (setup_rc) {
        code = error_exit_code(setup_rc);
        status = code == EXIT_BAD_INPUT ? "error" : setup_rc == ERR_INTERRUPTED ? "interrupted"
                                                                                 : "error";
        snprintf(reason, sizeof reason, "%s", setup_err->message);
        stop = setup_rc == ERR_INTERRUPTED ? RUN_STOP_SIGNAL : RUN_STOP_ENVIRONMENT;
    } else if (stop == RUN_STOP_SIGNAL) {
        code = EXIT_ENVIRONMENT;
        status = "interrupted";
    } else if (run->worst >= 3) {
        code = EXIT_ENVIRONMENT;
        status = "error";
    } else if (run->worst >= 1 || run->assertions_failed) {
        code = EXIT_FINDINGS;
        status = "failed";
    } else {
        code = EXIT_OK;
        status = "passed";
    }
    if (run->journal_error[0] && code != EXIT_ENVIRONMENT && code != EXIT_BAD_INPUT) {
        code = EXIT_ENVIRONMENT;
        status = "error";
        snprintf(reason, sizeof reason, "cannot write the journal: %s", run->journal_error);
    }
    if (!reason[0] && run->assertions_failed)
        snprintf(reason, sizeof reason, "%d of %d assertions failed", run->assertions_failed,
                 run->assertions_failed + run->assertions_passed);
    if (!reason[0] && code == EXIT_ENVIRONMENT)
        snprintf(reason, sizeof reason, "an always step could not run (see the journal)");
    if (!reason[0] && code == EXIT_FINDINGS)
        snprintf(reason, sizeof reason, "a step failed (see the journal)");

    journal_timestamp(stamp, sizeof stamp);
    journal_lock(run->journal);
    json_t *root = journal_root(run->journal);
    json_object_set_new(root, "status", json_string(status));
    json_object_set_new(root, "complete", json_boolean(complete));
    json_object_set_new(root, "exit_code", json_integer(code));
    if (reason[0])
        json_object_set_new(root, "reason", json_string(reason));
    if (stop != RUN_STOP_NONE)
        json_object_set_new(root, "stopped_by", json_string(run_stop_name(stop)));
    json_object_set_new(root, "ended_at", json_string(stamp));
    json_object_set_new(root, "duration_ms", json_ms(offset_ms(run, run_clock_us())));
    json_object_set_new(root, "assertions",
                        json_pack("{s:i, s:i}", "passed", run->assertions_passed, "failed",
                                  run->assertions_failed));
    journal_unlock(run->journal);
    save(run);
    if (run->journal_error[0] && code != EXIT_ENVIRONMENT && code != EXIT_BAD_INPUT) {
        code = EXIT_ENVIRONMENT;
        snprintf(reason, sizeof reason, "cannot write the journal: %s", run->journal_error);
        status = "error";
    }

    res->exit_code = code;
    snprintf(res->status, sizeof res->status, "%s", status);
    snprintf(res->reason, sizeof res->reason, "%s", reason);
    res->steps_ok = run->steps_ok;
    res->steps_failed = run->steps_failed;
    res->steps_skipped = run->steps_skipped;
    res->assertions_passed = run->assertions_passed;
    res->assertions_failed = run->assertions_failed;
}

/* ---- reports ------------------------------------------------------------- */

/* The reports of the run (run_report.h), once it has ended: from the diff
 * step's DIFF.json, or — when the run was cut short before it — from a
 * diff of whatever the replays kept.  Recorded in the journal's "report". */
static void write_reports(struct run *run, struct runner_result *res)
{
    const struct step *ds = run->s->report_diff;
    struct run_report_result rr;
    struct error err;
    char diff[PATH_MAX + 64];
    json_t *info, *copy;
    int rc = 0;

    if (!ds)
        return;
    error_init(&err);
    info = json_object();
    snprintf(diff, sizeof diff, "%s/steps/%s/diff.json", run->dir, ds->name);
    if (access(diff, R_OK) == 0) {
        json_object_set_new(info, "diff", json_string(diff + strlen(run->dir) + 1));
    } else if (ds->kind->finish &&
               (rc = ds->kind->finish(ds, run->dir, diff, sizeof diff, &err)) == 0) {
        json_object_set_new(info, "diff", json_string(diff + strlen(run->dir) + 1));
        json_object_set_new(info, "note", json_string("the diff step did not run to its end; "
                                                      "the diff covers what the replays kept"));
    } else if (!rc) {
        rc = error_set(&err, ERR_STATE, "step '%s' made no diff", ds->name);
    }
    if (!rc) {
        journal_lock(run->journal);
        copy = json_deep_copy(journal_root(run->journal));
        journal_unlock(run->journal);
        struct run_report_config c = {run->dir, copy, diff,
                                      run->s->report_database ? run->s->report_database->name
                                                              : NULL};
        rc = run_report_write(&c, &rr, &err);
        json_decref(copy);
    }
    if (rc) {
        json_object_set_new(info, "error", json_string(err.message));
        snprintf(res->report_summary, sizeof res->report_summary, "no report: %s", err.message);
        /* No diff because nothing was replayed is a fact of the run; a
         * report that cannot be written is the environment failing. */
        if (rc != ERR_INPUT && res->exit_code < EXIT_ENVIRONMENT && res->exit_code != 2)
            res->exit_code = EXIT_ENVIRONMENT;
    } else {
        json_object_set_new(info, "html", json_string("report.html"));
        json_object_set_new(info, "json", json_string("report.json"));
        json_object_set_new(info, "junit", json_string("junit.xml"));
        json_object_set_new(info, "markdown", json_string("summary.md"));
        json_object_set_new(info, "verdict", json_string(rr.verdict));
        json_object_set_new(info, "summary", json_string(rr.summary));
        snprintf(res->report_html, sizeof res->report_html, "%s", rr.html);
        snprintf(res->report_verdict, sizeof res->report_verdict, "%s", rr.verdict);
        snprintf(res->report_summary, sizeof res->report_summary, "%s", rr.summary);
        /* Regressions (or nothing compared) are findings. */
        if (rr.exit_code && res->exit_code == EXIT_OK) {
            res->exit_code = EXIT_FINDINGS;
            snprintf(res->reason, sizeof res->reason, "the report says %s: %s", rr.verdict,
                     rr.summary);
        }
    }
    journal_lock(run->journal);
    json_t *root = journal_root(run->journal);
    json_object_set_new(root, "report", info);
    if (json_integer_value(json_object_get(root, "exit_code")) != res->exit_code) {
        json_object_set_new(root, "exit_code", json_integer(res->exit_code));
        if (res->exit_code == EXIT_FINDINGS)
            json_object_set_new(root, "status", json_string("failed"));
        else if (res->exit_code == EXIT_ENVIRONMENT &&
                 strcmp(res->status, "interrupted") != 0)
            json_object_set_new(root, "status", json_string("error"));
        snprintf(res->status, sizeof res->status, "%s",
                 json_string_value(json_object_get(root, "status")));
        json_object_set_new(root, "reason", json_string(res->reason));
    }
    journal_unlock(run->journal);
    save(run);
}

static void release(struct run *run)
{
    supervisor_free(run->sv);
    fault_proxy_free(run->proxy);
    fault_windows_free(run->faults);
    for (size_t i = 0; run->links && i < run->s->link_count; i++) {
        free(run->links[i].db.conninfo);
        free(run->links[i].db.password);
    }
    free(run->links);
    pg_cluster_free(run->cluster);
    for (size_t i = 0; run->dbs && i < run->s->database_count; i++) {
        free(run->dbs[i].conninfo);
        free(run->dbs[i].password);
    }
    free(run->dbs);
    guardian_free(run->guardian);
    journal_free(run->journal);
    metrics_free(run->metrics);
    run_control_release(&run->steps_control);
    run_control_release(&run->always_control);
    pthread_mutex_destroy(&run->lock);
}

int runner_run(const struct scenario *s, const struct runner_options *options,
               struct runner_result *res, struct error *err)
{
    struct run run = {.s = s, .opt = options};
    struct sigaction old[3];
    struct error setup_err;
    char path[PATH_MAX + 16], stamp[40];
    int rc;

    memset(res, 0, sizeof *res);
    pthread_mutex_init(&run.lock, NULL);
    run.steps_control.fd = run.always_control.fd = -1;
    run.start_us = run_clock_us();
    if ((rc = run_control_init(&run.steps_control, err)) ||
        (rc = run_control_init(&run.always_control, err)) ||
        (rc = metrics_new(&run.metrics, err)) ||
        (rc = fault_windows_new(&run.faults, run.start_us, err)) || (rc = prepare_dir(&run, err)))
        goto fail;
    if (!(run.dbs = calloc(s->database_count + 1, sizeof *run.dbs))) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/journal.json", run.dir);
    snprintf(res->journal, sizeof res->journal, "%s", path);
    if ((rc = journal_new(&run.journal, path, err)))
        goto fail;
    /* Before any thread exists: the guardian is forked. */
    if ((rc = guardian_start(&run.guardian, err)))
        goto fail;

    journal_timestamp(stamp, sizeof stamp);
    journal_lock(run.journal);
    json_t *root = journal_root(run.journal);
    json_object_set_new(root, "format", json_string("rehearse-journal"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "scenario", json_pack("{s:s, s:s}", "name", s->name, "path",
                                                    s->path));
    json_object_set_new(root, "run_dir", json_string(run.dir));
    json_object_set_new(root, "status", json_string("running"));
    json_object_set_new(root, "complete", json_false());
    json_object_set_new(root, "started_at", json_string(stamp));
    /* The clock of a replay's sent_us, to place requests on the timeline. */
    json_object_set_new(root, "started_us",
                        json_integer(now_wall_us() - (run_clock_us() - run.start_us)));
    json_object_set_new(root, "rehearse_pid", json_integer(getpid()));
    json_object_set_new(root, "guardian_pid", json_integer(guardian_pid(run.guardian)));
    json_object_set_new(root, "events", json_array());
    journal_unlock(run.journal);
    if ((rc = journal_save(run.journal, err)))
        goto fail;

    signal_steps = &run.steps_control;
    signal_always = &run.always_control;
    install_signals(old);

    error_init(&setup_err);
    run.phase = RUNNER_SETUP;
    int64_t setup_start_us = run_clock_us();
    rc = setup(&run, &setup_err);
    /* Clusters, setup SQL, clones and links take seconds before the first
     * step: the timeline shows where they went. */
    journal_lock(run.journal);
    json_object_set_new(root, "setup",
                        json_pack("{s:s, s:o, s:o}", "status", rc ? "failed" : "ok", "start_ms",
                                  json_ms(offset_ms(&run, setup_start_us)), "end_ms",
                                  json_ms(offset_ms(&run, run_clock_us()))));
    journal_unlock(run.journal);
    /* A signal during setup shows up as whatever it cut short. */
    if (rc && run_control_stopped(&run.steps_control) &&
        run_control_reason(&run.steps_control, path, sizeof path) == RUN_STOP_SIGNAL)
        rc = ERR_INTERRUPTED;
    if (rc == 0) {
        run.phase = RUNNER_STEPS;
        notify(&run, NULL, 0, 0, (int)s->step_count, true, STEP_RUNNING, 0, "steps");
        run_list(&run, &run.steps_control, s->steps, s->step_count, "steps");
        run.phase = RUNNER_ALWAYS;
        /* A rollback never runs under a fault left behind. */
        if (fault_windows_end_all(run.faults, "always"))
            save(&run);
        notify(&run, NULL, 0, 0, (int)s->always_count, true, STEP_RUNNING, 0, "always");
        run_list(&run, &run.always_control, s->always, s->always_count, "always");
    } else {
        add_event(&run, "setup_failed", "%s", setup_err.message);
    }
    teardown(&run);
    finish(&run, res, rc, &setup_err);
    if (rc == 0)
        write_reports(&run, res);
    restore_signals(old);
    release(&run);
    return res->exit_code;
fail:
    release(&run);
    return rc;
}
