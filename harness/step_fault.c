/*
 * step_fault.c — inject a fault, for a while:
 *
 *     {"name": "db-down", "at": "2s", "fault": {"down": "new_db", "duration": "2s"}}
 *     {"name": "slow-db", "fault": {"toxic": "latency:latency=200,jitter=20", "link": "new_db",
 *                                   "duration": "5s"}}
 *     {"name": "freeze", "fault": {"pause": "new", "duration": "1s"}}
 *     {"name": "crash", "fault": {"kill": "new"}}
 *     {"name": "bounce", "fault": {"restart": "new"}}
 *     {"name": "drop-sessions", "fault": {"terminate": {"link": "new_db"}}}
 *     {"name": "cancel", "fault": {"cancel": {"database": "new_db", "application_name": "demo_v2"}}}
 *     {"name": "hold", "fault": {"lock": {"database": "new_db", "table": "users"}, "duration": "3s"}}
 *
 * One action per step.  A fault with a duration is applied, held for that
 * long (the step runs that long, so inside a parallel block "at" and
 * "duration" place it on the timeline of a replay or a migration), then
 * lifted; when the run stops meanwhile it is lifted at once.  A toxic, a
 * link down or a pause without a duration lasts until the run enters its
 * always steps.  Every fault is recorded in the run's fault windows
 * (fault_windows.h): what, where, when, what applying and lifting it did.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_faults.h"
#include "fault_proxy.h"
#include "fault_windows.h"
#include "now.h"
#include "run_control.h"
#include "step.h"
#include "supervisor.h"

#define FAULT_TOXICS_MAX 8
#define LOCK_POLL_MS 100

enum fault_action { FAULT_DO_TOXIC, FAULT_DO_DOWN, FAULT_DO_KILL, FAULT_DO_PAUSE, FAULT_DO_RESTART, FAULT_DO_TERMINATE, FAULT_DO_CANCEL, FAULT_DO_LOCK };

static const char *const action_names[] = {"toxic", "down", "kill", "pause", "restart",
                                           "terminate", "cancel", "lock", NULL};

struct fault_step {
    enum fault_action action;
    int link;                   /* toxic, down, terminate/cancel/lock by link; else -1 */
    int service;                /* kill, pause, restart; else -1 */
    int database;               /* terminate, cancel, lock; else -1 */
    struct fault_toxic toxics[FAULT_TOXICS_MAX];
    size_t toxic_count;
    char *application_name, *query_contains; /* terminate, cancel */
    char *table, *mode;         /* lock */
    int64_t duration_us;        /* 0: none */
    int64_t acquire_timeout_us; /* lock */
};

static const char *const fault_keys[] = {"toxic", "down", "kill", "pause", "restart", "terminate",
                                         "cancel", "lock", "link", "duration", NULL};
static const char *const sessions_keys[] = {"database", "link", "application_name",
                                            "query_contains", NULL};
static const char *const lock_keys[] = {"database", "link", "table", "mode", "acquire_timeout",
                                        NULL};

static void free_fault(void *data)
{
    struct fault_step *f = data;
    if (!f)
        return;
    free(f->application_name);
    free(f->query_contains);
    free(f->table);
    free(f->mode);
    free(f);
}

/* ---- parsing ------------------------------------------------------------- */

static bool parse_toxics(struct scenario_parser *p, struct fault_step *f, const struct step *step,
                         const json_t *v, const char *pointer)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    char ptr[SCENARIO_POINTER_MAX], found[96];
    bool ok = true;

    if ((!json_is_string(v) && !json_is_array(v)) || n == 0 || n > FAULT_TOXICS_MAX) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, pointer,
                       "expected a toxic such as \"latency:latency=200,jitter=20\" (as `rehearse "
                       "proxy --toxic`) or an array of 1 to %d of them, found %s",
                       FAULT_TOXICS_MAX, found);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *spec = json_is_array(v) ? json_array_get(v, i) : v;
        struct fault_toxic *t = &f->toxics[f->toxic_count];
        struct error err;
        if (json_is_array(v))
            scenario_pointer_index(ptr, sizeof ptr, pointer, i);
        else
            snprintf(ptr, sizeof ptr, "%s", pointer);
        if (!json_is_string(spec)) {
            scenario_describe(spec, found, sizeof found);
            scenario_error(p, ptr, "expected a toxic spec string, found %s", found);
            ok = false;
            continue;
        }
        error_init(&err);
        if (fault_toxic_parse(t, json_string_value(spec), &err)) {
            scenario_error(p, ptr, "%s", err.message);
            ok = false;
            continue;
        }
        if (t->type == FAULT_TOXIC_DOWN) {
            scenario_error(p, ptr, "take a link down with {\"down\": \"LINK\"}, not a toxic");
            ok = false;
            continue;
        }
        /* Unique on the link whoever else adds toxics: named after the step
         * unless the spec names it. */
        if (!strstr(json_string_value(spec), "name=") && step->name)
            snprintf(t->name, sizeof t->name, n > 1 ? "%.50s-%zu" : "%.60s", step->name, i + 1);
        f->toxic_count++;
    }
    return ok;
}

/* The database of a terminate, cancel or lock: "database", or the database
 * a "link" leads to. */
static bool parse_database(struct scenario_parser *p, struct fault_step *f, const json_t *v,
                           const char *pointer)
{
    const struct scenario *s = scenario_parser_scenario(p);
    const char *database = NULL, *link = NULL;
    char ptr[SCENARIO_POINTER_MAX];

    scenario_get_string(p, v, pointer, "database", false, &database);
    scenario_get_string(p, v, pointer, "link", false, &link);
    if (!database == !link) {
        scenario_error(p, pointer, "expected a \"database\" or a \"link\" to a database (one of "
                                   "them)");
        return false;
    }
    if (database) {
        scenario_pointer(ptr, sizeof ptr, pointer, "database");
        return (f->database = scenario_ref_database(p, ptr, database)) >= 0;
    }
    scenario_pointer(ptr, sizeof ptr, pointer, "link");
    if ((f->link = scenario_ref_link(p, ptr, link)) < 0)
        return false;
    if (s->links[f->link].to != LINK_TO_DATABASE) {
        scenario_error(p, ptr, "link \"%s\" does not lead to a database", link);
        return false;
    }
    f->database = s->links[f->link].index;
    return true;
}

static bool parse_sessions(struct scenario_parser *p, struct fault_step *f, const json_t *v,
                           const char *pointer)
{
    const char *app = NULL, *query = NULL;
    if (!scenario_check_object(p, v, pointer, sessions_keys, "the sessions to end"))
        return false;
    if (!parse_database(p, f, v, pointer))
        return false;
    if (scenario_get_string(p, v, pointer, "application_name", false, &app) && app)
        f->application_name = strdup(app);
    if (scenario_get_string(p, v, pointer, "query_contains", false, &query) && query)
        f->query_contains = strdup(query);
    if (f->link < 0 && !app && !query) {
        scenario_error(p, pointer,
                       "expected which sessions: a \"link\" (those that came through it), an "
                       "\"application_name\" or \"query_contains\" (ending every session of a "
                       "database is refused)");
        return false;
    }
    return true;
}

static bool parse_lock(struct scenario_parser *p, struct fault_step *f, const json_t *v,
                       const char *pointer)
{
    const char *table = NULL, *mode = NULL;
    bool ok = scenario_check_object(p, v, pointer, lock_keys, "a lock");
    if (!json_is_object(v))
        return false;
    ok = parse_database(p, f, v, pointer) && ok;
    if (scenario_get_string(p, v, pointer, "table", true, &table) && table)
        f->table = strdup(table);
    else
        ok = false;
    if (scenario_get_string(p, v, pointer, "mode", false, &mode) && mode)
        f->mode = strdup(mode);
    ok = scenario_get_duration(p, v, pointer, "acquire_timeout", false, &f->acquire_timeout_us) &&
         ok;
    return ok;
}

static bool parse_fault(struct scenario_parser *p, struct step *step, const json_t *value,
                        const char *pointer)
{
    struct fault_step *f = calloc(1, sizeof *f);
    char ptr[SCENARIO_POINTER_MAX], found[96];
    const char *name = NULL, *action = NULL;
    int count = 0;
    bool ok;

    if (!f)
        return false;
    step->data = f;
    f->link = f->service = f->database = -1;
    ok = scenario_check_object(p, value, pointer, fault_keys, "a fault");
    if (!json_is_object(value))
        return false;
    for (int i = 0; action_names[i]; i++) {
        if (!json_object_get(value, action_names[i]))
            continue;
        if (count++ == 0) {
            f->action = (enum fault_action)i;
            action = action_names[i];
        } else {
            scenario_pointer(ptr, sizeof ptr, pointer, action_names[i]);
            scenario_error(p, ptr,
                           "a fault step does one thing, but this one has both \"%s\" and "
                           "\"%s\"; split it into two steps (a parallel block runs them at "
                           "once)",
                           action, action_names[i]);
            ok = false;
        }
    }
    if (!count) {
        scenario_error(p, pointer,
                       "missing the fault: expected one of \"toxic\" (with \"link\"), \"down\", "
                       "\"kill\", \"pause\", \"restart\", \"terminate\", \"cancel\", \"lock\"");
        return false;
    }
    const json_t *what = json_object_get(value, action);
    scenario_pointer(ptr, sizeof ptr, pointer, action);
    switch (f->action) {
    case FAULT_DO_TOXIC: {
        const char *link = NULL;
        ok = parse_toxics(p, f, step, what, ptr) && ok;
        if (!json_object_get(value, "link")) {
            scenario_error(p, pointer, "missing \"link\": the link the toxic goes on");
            ok = false;
        } else if (scenario_get_string(p, value, pointer, "link", true, &link) && link) {
            scenario_pointer(ptr, sizeof ptr, pointer, "link");
            ok = (f->link = scenario_ref_link(p, ptr, link)) >= 0 && ok;
        } else {
            ok = false;
        }
        break;
    }
    case FAULT_DO_DOWN:
    case FAULT_DO_KILL:
    case FAULT_DO_PAUSE:
    case FAULT_DO_RESTART:
        if (!json_is_string(what)) {
            scenario_describe(what, found, sizeof found);
            scenario_error(p, ptr, "expected the name of a %s, found %s",
                           f->action == FAULT_DO_DOWN ? "link" : "service", found);
            return false;
        }
        name = json_string_value(what);
        if (f->action == FAULT_DO_DOWN)
            ok = (f->link = scenario_ref_link(p, ptr, name)) >= 0 && ok;
        else
            ok = (f->service = scenario_ref_service(p, ptr, name)) >= 0 && ok;
        break;
    case FAULT_DO_TERMINATE:
    case FAULT_DO_CANCEL:
        ok = parse_sessions(p, f, what, ptr) && ok;
        break;
    case FAULT_DO_LOCK:
        ok = parse_lock(p, f, what, ptr) && ok;
        break;
    }
    if (f->action != FAULT_DO_TOXIC && json_object_get(value, "link")) {
        scenario_pointer(ptr, sizeof ptr, pointer, "link");
        scenario_error(p, ptr, "\"link\" goes with \"toxic\"; a %s names its target itself",
                       action);
        ok = false;
    }
    ok = scenario_get_duration(p, value, pointer, "duration", false, &f->duration_us) && ok;
    scenario_pointer(ptr, sizeof ptr, pointer, "duration");
    bool instant = f->action == FAULT_DO_KILL || f->action == FAULT_DO_RESTART || f->action == FAULT_DO_TERMINATE ||
                   f->action == FAULT_DO_CANCEL;
    if (instant && json_object_get(value, "duration")) {
        scenario_error(p, ptr,
                       "a %s happens at once and has no duration; to bring a service back "
                       "later, add a start step (\"at\" places it in a parallel block)",
                       action);
        ok = false;
    } else if (f->action == FAULT_DO_LOCK && !json_object_get(value, "duration")) {
        scenario_error(p, pointer, "missing \"duration\": how long to hold the lock");
        ok = false;
    } else if (json_object_get(value, "duration") && f->duration_us <= 0) {
        scenario_error(p, ptr, "expected a duration above 0");
        ok = false;
    }
    return ok;
}

/* ---- lifting ------------------------------------------------------------- */

struct lift_ctx {
    enum fault_action action;
    struct fault_proxy *proxy;
    char link[FAULT_PROXY_LINK_NAME_MAX];
    char toxics[FAULT_TOXICS_MAX][FAULT_TOXIC_NAME_MAX];
    size_t toxic_count;
    struct supervisor *sv;
    int service;
    struct db_lock *lock;
};

static void free_lift(void *data)
{
    struct lift_ctx *l = data;
    if (l)
        db_lock_free(l->lock);
    free(l);
}

static json_t *effect_json(const struct fault_effect *e)
{
    return json_pack("{s:I, s:i, s:i, s:i}", "applied_us", (json_int_t)e->applied_at_us,
                     "connections_open", (int)e->connections_open, "connections_affected",
                     (int)e->connections_affected, "connections_closed",
                     (int)e->connections_closed);
}

static int lift(void *data, json_t *effect, struct error *err)
{
    struct lift_ctx *l = data;
    struct fault_effect e;
    int rc = 0;

    switch (l->action) {
    case FAULT_DO_TOXIC:
        for (size_t i = l->toxic_count; i-- > 0;) {
            int r = fault_proxy_remove_toxic(l->proxy, l->link, l->toxics[i], 0, &e, err);
            if (r == 0)
                json_object_set_new(effect, l->toxics[i], effect_json(&e));
            rc = rc ? rc : r;
        }
        return rc;
    case FAULT_DO_DOWN:
        if ((rc = fault_proxy_set_down(l->proxy, l->link, false, 0, &e, err)) == 0)
            json_object_set_new(effect, "up", effect_json(&e));
        return rc;
    case FAULT_DO_PAUSE:
        /* A service stopped meanwhile is not running: nothing to continue. */
        rc = supervisor_signal(l->sv, l->service, SIGCONT, err);
        json_object_set_new(effect, "continued", json_boolean(rc == 0));
        return rc == ERR_STATE ? 0 : rc;
    case FAULT_DO_LOCK: {
        struct db_lock_info info;
        rc = db_lock_release(l->lock, 0, &info, err);
        json_object_set_new(effect, "released_us", json_integer(info.released_us));
        json_object_set_new(effect, "ended_early", json_boolean(info.ended_early));
        if (info.error[0])
            json_object_set_new(effect, "error", json_string(info.error));
        return rc;
    }
    default: /* restart: its window closes once the service is back */
        return 0;
    }
}

/* ---- running ------------------------------------------------------------- */

static void describe_where(struct step_run *run, const struct fault_step *f, char *out,
                           size_t size)
{
    const struct scenario *s = step_run_scenario(run);
    if (f->service >= 0)
        snprintf(out, size, "service %s", s->services[f->service].name);
    else if (f->action == FAULT_DO_TOXIC || f->action == FAULT_DO_DOWN || f->link >= 0)
        snprintf(out, size, "link %s", s->links[f->link].name);
    else
        snprintf(out, size, "database %s", s->databases[f->database].name);
}

/* Hold the fault for its duration, then lift it; lifted at once when the
 * run stops.  Without a duration it stays until the always steps. */
static enum step_status hold(struct step_run *run, const struct fault_step *f, int id)
{
    struct fault_windows *w = step_run_faults(run);
    struct error err;
    enum step_status status = STEP_OK;
    const char *by = "duration";

    if (!f->duration_us)
        return STEP_OK;
    if (!step_run_sleep(run, f->duration_us)) {
        status = STEP_INTERRUPTED;
        by = "interrupted";
    }
    error_init(&err);
    if (fault_windows_end(w, id, by, &err))
        return step_run_fail(run, STEP_ERROR, "could not lift the fault: %s", err.message);
    return status;
}

static void output_window(struct step_run *run, int id)
{
    json_t *o = fault_windows_get(step_run_faults(run), id);
    if (o)
        step_run_output(run, "fault", o);
}

static enum step_status run_network(struct step_run *run, const struct step *step,
                                    const struct fault_step *f)
{
    const struct scenario *s = step_run_scenario(run);
    struct fault_proxy *proxy = step_run_proxy(run);
    struct lift_ctx *l = calloc(1, sizeof *l);
    json_t *applied = json_object();
    struct fault_effect e;
    struct error err;
    char where[128], detail[FAULT_TOXICS_MAX * FAULT_TOXIC_SPEC_MAX] = "";
    size_t n = 0;
    int rc = 0, id;

    error_init(&err);
    if (!l)
        return step_run_fail(run, STEP_ERROR, "out of memory");
    l->action = f->action;
    l->proxy = proxy;
    snprintf(l->link, sizeof l->link, "%s", s->links[f->link].name);
    if (f->action == FAULT_DO_DOWN) {
        rc = fault_proxy_set_down(proxy, l->link, true, 0, &e, &err);
        if (rc == 0)
            json_object_set_new(applied, "down", effect_json(&e));
        snprintf(detail, sizeof detail, "down");
    } else {
        for (size_t i = 0; i < f->toxic_count && rc == 0; i++) {
            char spec[FAULT_TOXIC_SPEC_MAX];
            if ((rc = fault_proxy_add_toxic(proxy, l->link, &f->toxics[i], 0, &e, &err)))
                break;
            snprintf(l->toxics[l->toxic_count++], FAULT_TOXIC_NAME_MAX, "%s", f->toxics[i].name);
            fault_toxic_format(&f->toxics[i], spec, sizeof spec);
            json_object_set_new(applied, f->toxics[i].name, effect_json(&e));
            n += (size_t)snprintf(detail + n, sizeof detail - n, "%s%s", n ? "; " : "", spec);
        }
    }
    if (rc) {
        /* Undo what was added: a half-applied fault is not left behind. */
        json_t *undone = json_object();
        struct error ignored;
        error_init(&ignored);
        if (l->toxic_count)
            lift(l, undone, &ignored);
        json_decref(undone);
        json_decref(applied);
        free_lift(l);
        return step_run_fail(run, STEP_ERROR, "%s", err.message);
    }
    describe_where(run, f, where, sizeof where);
    struct fault_window_spec spec = {step->name, action_names[f->action], where, detail,
                                     f->duration_us};
    id = fault_windows_begin(step_run_faults(run), &spec, applied, lift, l, free_lift);
    if (id < 0)
        return step_run_fail(run, STEP_ERROR, "out of memory (the fault was lifted)");
    enum step_status status = hold(run, f, id);
    output_window(run, id);
    return status;
}

static enum step_status run_process(struct step_run *run, const struct step *step,
                                    const struct fault_step *f)
{
    struct supervisor *sv = step_run_supervisor(run);
    json_t *applied = json_object();
    struct error err;
    char where[128];
    int rc, id;

    error_init(&err);
    describe_where(run, f, where, sizeof where);
    struct fault_window_spec spec = {step->name, action_names[f->action], where, NULL,
                                     f->duration_us};
    if (f->action == FAULT_DO_PAUSE) {
        struct lift_ctx *l = calloc(1, sizeof *l);
        if (!l) {
            json_decref(applied);
            return step_run_fail(run, STEP_ERROR, "out of memory");
        }
        if ((rc = supervisor_signal(sv, f->service, SIGSTOP, &err))) {
            json_decref(applied);
            free(l);
            return step_run_fail(run, rc == ERR_STATE ? STEP_FAILED : STEP_ERROR,
                                 "cannot pause: %s", err.message);
        }
        *l = (struct lift_ctx){.action = FAULT_DO_PAUSE, .sv = sv, .service = f->service};
        json_object_set_new(applied, "signal", json_string("SIGSTOP"));
        id = fault_windows_begin(step_run_faults(run), &spec, applied, lift, l, free_lift);
        if (id < 0)
            return step_run_fail(run, STEP_ERROR, "out of memory (the service was continued)");
        enum step_status status = hold(run, f, id);
        output_window(run, id);
        return status;
    }

    /* kill, restart: SIGKILL on purpose (not reported as a crash) */
    rc = supervisor_kill(sv, f->service, applied, &err);
    if (rc) {
        json_decref(applied);
        return step_run_fail(run, STEP_ERROR, "cannot kill: %s", err.message);
    }
    if (f->action == FAULT_DO_KILL) {
        id = fault_windows_begin(step_run_faults(run), &spec, applied, NULL, NULL, NULL);
        output_window(run, id);
        return STEP_OK;
    }
    struct lift_ctx *l = calloc(1, sizeof *l);
    if (l)
        l->action = FAULT_DO_RESTART;
    id = fault_windows_begin(step_run_faults(run), &spec, applied, l ? lift : NULL, l, free_lift);
    json_t *started = json_object();
    rc = supervisor_start(sv, f->service, step_run_control(run), started, &err);
    step_run_output(run, "start", started);
    fault_windows_end(step_run_faults(run), id, rc == 0 ? "restarted" : "start_failed", NULL);
    output_window(run, id);
    if (rc == SUPERVISOR_SERVICE_FAILED)
        return step_run_fail(run, STEP_FAILED, "%s", err.message);
    if (rc == ERR_INTERRUPTED)
        return step_run_fail(run, STEP_INTERRUPTED, "%s", err.message);
    if (rc)
        return step_run_fail(run, STEP_ERROR, "%s", err.message);
    return STEP_OK;
}

static json_t *pids_json(const struct db_fault_result *r)
{
    json_t *pids = json_array();
    for (unsigned i = 0; i < r->npids; i++)
        json_array_append_new(pids, json_integer(r->pids[i]));
    return pids;
}

static enum step_status run_sessions(struct step_run *run, const struct step *step,
                                     const struct fault_step *f)
{
    const struct scenario *s = step_run_scenario(run);
    struct db_backend_filter filter = {
        .application_name = f->application_name, .query_contains = f->query_contains,
        .database = step_run_dbname(run, f->database)};
    struct db_fault_result result = {0};
    int ports[DB_FAULT_PIDS_MAX * 4];
    size_t nports = 0;
    json_t *applied;
    struct error err;
    char where[128];
    int rc = 0;

    error_init(&err);
    if (f->link >= 0) {
        rc = fault_proxy_link_upstream_ports(step_run_proxy(run), s->links[f->link].name, ports,
                                             sizeof ports / sizeof ports[0], &nports, 0, &err);
        if (rc)
            return step_run_fail(run, STEP_ERROR, "%s", err.message);
        if (nports > sizeof ports / sizeof ports[0])
            nports = sizeof ports / sizeof ports[0];
        filter.client_ports = ports;
        filter.nclient_ports = nports;
        filter.client_addr = NULL;
    }
    /* No session through the link: nothing to end (an empty port list would
     * match every session). */
    if (f->link < 0 || nports > 0) {
        if (f->action == FAULT_DO_TERMINATE)
            rc = db_fault_terminate(step_run_conninfo(run, f->database), &filter, 0, &result,
                                    &err);
        else
            rc = db_fault_cancel(step_run_conninfo(run, f->database), &filter, 0, &result, &err);
        if (rc)
            return step_run_fail(run, rc == ERR_USAGE ? STEP_FAILED : STEP_ERROR, "%s",
                                 err.message);
    } else {
        result.started_us = result.finished_us = now_wall_us();
    }
    applied = json_pack("{s:i, s:i, s:o}", "matched", (int)result.matched, "signalled",
                        (int)result.signalled, "pids", pids_json(&result));
    if (f->action == FAULT_DO_TERMINATE)
        json_object_set_new(applied, "gone", json_integer(result.gone));
    if (f->link >= 0)
        json_object_set_new(applied, "link_sessions", json_integer((json_int_t)nports));
    describe_where(run, f, where, sizeof where);
    char detail[256];
    snprintf(detail, sizeof detail, "%s%s%s%s%s", f->link >= 0 ? "sessions through the link" : "",
             f->application_name ? " application_name=" : "",
             f->application_name ? f->application_name : "",
             f->query_contains ? " query contains " : "",
             f->query_contains ? f->query_contains : "");
    struct fault_window_spec spec = {step->name, action_names[f->action], where,
                                     detail[0] == ' ' ? detail + 1 : detail, 0};
    int id = fault_windows_begin(step_run_faults(run), &spec, applied, NULL, NULL, NULL);
    output_window(run, id);
    return STEP_OK;
}

static enum step_status run_lock(struct step_run *run, const struct step *step,
                                 const struct fault_step *f)
{
    struct db_lock_spec spec = {
        .conninfo = step_run_conninfo(run, f->database), .table = f->table, .mode = f->mode,
        .duration_ms = f->duration_us / 1000, .acquire_timeout_ms = f->acquire_timeout_us / 1000};
    struct lift_ctx *l = calloc(1, sizeof *l);
    struct db_lock_info info;
    struct error err;
    char where[128], detail[256];
    int rc;

    error_init(&err);
    if (!l)
        return step_run_fail(run, STEP_ERROR, "out of memory");
    l->action = FAULT_DO_LOCK;
    if ((rc = db_lock_start(&l->lock, &spec, &err))) {
        free(l);
        return step_run_fail(run, rc == ERR_USAGE ? STEP_FAILED : STEP_ERROR, "%s", err.message);
    }
    /* Wait for the lock, interruptibly. */
    for (;;) {
        rc = db_lock_wait(l->lock, DB_LOCK_HELD, LOCK_POLL_MS, &info, &err);
        if (rc != ERR_STATE || step_run_stopped(run))
            break;
        error_init(&err);
    }
    if (rc) {
        enum step_status status = step_run_stopped(run) ? STEP_INTERRUPTED : STEP_FAILED;
        free_lift(l);
        return step_run_fail(run, status, "could not take the lock: %s", err.message);
    }
    json_t *applied = json_pack("{s:i, s:I, s:I}", "backend_pid", info.backend_pid,
                                "requested_us", (json_int_t)info.requested_us, "acquired_us",
                                (json_int_t)info.acquired_us);
    describe_where(run, f, where, sizeof where);
    snprintf(detail, sizeof detail, "%s on %s", f->mode ? f->mode : "ACCESS EXCLUSIVE", f->table);
    struct fault_window_spec ws = {step->name, "lock", where, detail, f->duration_us};
    int id = fault_windows_begin(step_run_faults(run), &ws, applied, lift, l, free_lift);
    if (id < 0)
        return step_run_fail(run, STEP_ERROR, "out of memory (the lock was released)");
    enum step_status status = hold(run, f, id);
    output_window(run, id);
    return status;
}

static enum step_status run_fault(struct step_run *run, const struct step *step)
{
    const struct fault_step *f = step->data;
    switch (f->action) {
    case FAULT_DO_TOXIC:
    case FAULT_DO_DOWN: return run_network(run, step, f);
    case FAULT_DO_KILL:
    case FAULT_DO_PAUSE:
    case FAULT_DO_RESTART: return run_process(run, step, f);
    case FAULT_DO_TERMINATE:
    case FAULT_DO_CANCEL: return run_sessions(run, step, f);
    case FAULT_DO_LOCK: return run_lock(run, step, f);
    }
    return STEP_ERROR;
}

const struct step_kind step_kind_fault = {
    .name = "fault",
    .summary = "inject a network, process or database fault, for a duration",
    .parse = parse_fault,
    .run = run_fault,
    .free = free_fault,
};
