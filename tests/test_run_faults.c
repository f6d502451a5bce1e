/* `rehearse run` with traffic and faults: replay steps and their metrics,
 * asserts on error rates and latency ratios, links through the fault proxy
 * and fault steps.  Real PostgreSQL (one cluster shared by this file's
 * tests), real fixture services, real sockets. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runutil.h"
#include "testutil.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    test_shared_pg_start();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    test_shared_pg_stop();
}

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(run_faults, .init = setup, .fini = teardown, .timeout = 120);

/* A trace of `requests` GETs of `path` over `conns` connections, evenly
 * spread over span_ms of capture time.  Its path stays valid for the next
 * three calls. */
static const char *make_trace(const char *name, const char *path, int requests, int conns,
                              int span_ms)
{
    static char paths[4][4096];
    static int next;
    char *out = paths[next++ % 4];
    char n[16], c[16], s[16];
    struct run_result res;
    snprintf(out, sizeof paths[0], "%s/%s.jsonl", dir, name);
    snprintf(n, sizeof n, "%d", requests);
    snprintf(c, sizeof c, "%d", conns);
    snprintf(s, sizeof s, "%d", span_ms);
    char *argv[] = {(char *)test_fixture_path("trace_gen"), "-o", out, "--requests", n,
                    "--conns", c, "--span", s, "--path", (char *)path, NULL};
    cr_assert_eq(test_run(&res, argv, 30), 0);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    return out;
}

static char *scenario_text(const char *text, const char *conninfo)
{
    return test_template(text, "PGSERVICE", test_fixture_path("pgservice"), "RECORDER",
                         test_fixture_path("http_recorder"), "DEMO_V1",
                         test_repo_path("build/fixtures/demo_v1"), "CONNINFO",
                         conninfo ? conninfo : "", "DIR", dir, NULL);
}

static const char *write_scenario(const char *name, const char *text, const char *conninfo)
{
    static char path[4096];
    char *scenario = scenario_text(text, conninfo);
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    cr_assert_eq(test_write_file(path, scenario, strlen(scenario)), 0);
    free(scenario);
    return path;
}

static const char *run_dir_of(const char *name)
{
    static char out[4096];
    snprintf(out, sizeof out, "%s/runs/%s", dir, name);
    return out;
}

static int run_scenario(struct run_result *res, const char *name, const char *text,
                        const char *conninfo)
{
    const char *path = write_scenario(name, text, conninfo);
    return test_rehearse(res, 100, "run", path, "-o", run_dir_of(name), NULL);
}

static double metric(json_t *journal, const char *name)
{
    json_t *v = json_object_get(json_object_get(journal, "metrics"), name);
    cr_assert(json_is_number(v), "no metric '%s'", name);
    return json_number_value(v);
}

static json_t *step_of(json_t *journal, const char *name)
{
    json_t *s = test_journal_step(journal, name);
    cr_assert_not_null(s, "no step '%s' in the journal", name);
    return s;
}

static const char *status_of(json_t *journal, const char *name)
{
    return json_string_value(json_object_get(step_of(journal, name), "status"));
}

/* The journal's fault window recorded by step `name`. */
static json_t *fault_of(json_t *journal, const char *name)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(journal, "faults"), i, w)
        if (strcmp(json_string_value(json_object_get(w, "step")), name) == 0)
            return w;
    cr_assert_fail("no fault window of step '%s'", name);
    return NULL;
}

static const char two_services[] =
    "   {\"name\": \"old\", \"argv\": [\"@PGSERVICE@\"], \"env\": {\"PORT\": \"${port}\"},\n"
    "    \"health\": {\"path\": \"/health\"}},\n"
    "   {\"name\": \"new\", \"argv\": [\"@PGSERVICE@\"], \"env\": {\"PORT\": \"${port}\"},\n"
    "    \"health\": {\"path\": \"/health\"}}";

Test(run_faults, a_replay_step_keeps_its_results_and_publishes_metrics_per_target)
{
    const char *trace = make_trace("health", "/health", 120, 4, 600);
    char text[8192];
    struct run_result res;

    snprintf(text, sizeof text,
             "{\"version\": 1, \"name\": \"replay\",\n"
             " \"services\": [\n%s],\n"
             " \"links\": [{\"name\": \"new_http\", \"to\": \"service new\"}],\n"
             " \"steps\": [\n"
             "   {\"name\": \"start-old\", \"start\": \"old\"},\n"
             "   {\"name\": \"start-new\", \"start\": \"new\"},\n"
             "   {\"name\": \"first-half\", \"replay\": {\"trace\": \"%s\", \"to\": \"300ms\",\n"
             "     \"speed\": \"max\", \"targets\": {\"old\": \"old\", \"new\": \"${link.new_http.url}\"}}},\n"
             "   {\"name\": \"second-half\", \"replay\": {\"trace\": \"%s\", \"from\": \"300ms\",\n"
             "     \"speed\": 2, \"targets\": {\"old\": \"${service.old.url}\"},\n"
             "     \"rewrites\": [{\"set_header\": \"X-Rehearsal: yes\"}]}},\n"
             "   {\"name\": \"check\", \"assert\": [\n"
             "     {\"metric\": \"replay.first-half.new.error_rate\", \"max\": 0},\n"
             "     {\"metric\": \"replay.first-half.old.requests\", \"min\": 60, \"max\": 60}]}],\n"
             " \"always\": [{\"name\": \"stop-new\", \"stop\": \"new\"}]}\n",
             two_services, trace, trace);
    run_scenario(&res, "replay", text, NULL);
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);

    json_t *j = test_journal(run_dir_of("replay"));
    cr_assert_not_null(j);
    /* The slices split the trace: nothing lost, nothing repeated. */
    cr_assert_eq(metric(j, "replay.first-half.transactions"), 60);
    cr_assert_eq(metric(j, "replay.second-half.transactions"), 60);
    cr_assert_eq(metric(j, "replay.first-half.new.requests"), 60);
    cr_assert_eq(metric(j, "replay.first-half.old.errors"), 0);
    cr_assert_eq(metric(j, "replay.first-half.new.status_5xx"), 0);
    cr_assert_eq(metric(j, "replay.second-half.old.error_rate"), 0);
    double p50 = metric(j, "replay.first-half.old.p50_ms");
    double p99 = metric(j, "replay.first-half.old.p99_ms");
    cr_assert(p50 > 0 && p99 >= p50, "p50 %g p99 %g", p50, p99);
    /* Each step's results are its own, in the results format. */
    json_t *out = json_object_get(step_of(j, "first-half"), "outputs");
    cr_assert_str_eq(json_string_value(json_object_get(out, "results")),
                     "steps/first-half/results.jsonl");
    json_t *new_target = json_object_get(json_object_get(out, "targets"), "new");
    const char *url = json_string_value(json_object_get(new_target, "url"));
    json_t *link = json_array_get(json_object_get(j, "links"), 0);
    cr_assert_not_null(strstr(url, json_string_value(json_object_get(link, "address"))),
                       "the new target went through the link: %s", url);
    cr_assert_geq(json_integer_value(json_object_get(json_object_get(link, "stats"),
                                                     "connections")),
                  1);
    char *results = test_read_file(test_path(run_dir_of("replay"),
                                             "steps/second-half/results.jsonl"),
                                   NULL);
    cr_assert_not_null(results);
    cr_assert(strstr(results, "\"format\":\"rehearse-results\""));
    cr_assert(strstr(results, "\"from\":\"300ms\""), "the options are recorded");
    cr_assert(strstr(results, "{\"set_header\":\"X-Rehearsal\"}"), "%.400s", results);
    size_t lines = 0;
    for (char *c = results; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 62, "header, 60 results, summary");
    free(results);
    json_decref(j);
    test_run_free(&res);
}

Test(run_faults, asserts_on_error_rate_and_p99_ratio_pass_and_fail_as_measured)
{
    const char *trace = make_trace("ratio", "/ping", 40, 2, 400);
    char text[8192];
    struct run_result res;

    /* fast answers at once, slow after 40 ms; nothing listens behind
     * "dead" (a link to a port of our own that we close). */
    snprintf(text, sizeof text,
             "{\"version\": 1, \"name\": \"ratio\",\n"
             " \"services\": [\n"
             "   {\"name\": \"fast\", \"argv\": [\"@RECORDER@\", \"--log\", \"${run_dir}/fast.log\","
             " \"--port\", \"${port}\"], \"health\": {\"path\": \"/health\"}},\n"
             "   {\"name\": \"slow\", \"argv\": [\"@RECORDER@\", \"--log\", \"${run_dir}/slow.log\","
             " \"--port\", \"${port}\", \"--action\", \"/ping=delay:40\"], \"health\": {\"path\": \"/health\"}},\n"
             "   {\"name\": \"dead\", \"argv\": [\"@RECORDER@\", \"--log\", \"${run_dir}/dead.log\","
             " \"--port\", \"${port}\"]}],\n"
             " \"steps\": [\n"
             "   {\"name\": \"up-fast\", \"start\": \"fast\"},\n"
             "   {\"name\": \"up-slow\", \"start\": \"slow\"},\n"
             "   {\"name\": \"traffic\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\",\n"
             "     \"connect_timeout\": \"1s\", \"targets\": {\"fast\": \"fast\", \"slow\": \"slow\", \"dead\": \"dead\"}}},\n"
             "   {\"name\": \"budgets\", \"assert\": [\n"
             "     {\"metric\": \"replay.traffic.fast.error_rate\", \"max\": 0},\n"
             "     {\"metric\": \"replay.traffic.dead.error_rate\", \"max\": 0.1},\n"
             "     {\"metric\": \"replay.traffic.slow.p99_ms\", \"over\": \"replay.traffic.fast.p99_ms\", \"max\": 1.5},\n"
             "     {\"metric\": \"replay.traffic.fast.p99_ms\", \"over\": \"replay.traffic.slow.p99_ms\", \"max\": 1.5}]}]}\n",
             trace);
    run_scenario(&res, "ratio", text, NULL);
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "2 of 4 assertions failed"), "%s", res.out);

    json_t *j = test_journal(run_dir_of("ratio"));
    json_t *list = json_object_get(step_of(j, "budgets"), "assertions");
    cr_assert_eq(json_array_size(list), 4);
    bool expected[] = {true, false, false, true};
    for (size_t i = 0; i < 4; i++) {
        json_t *a = json_array_get(list, i);
        cr_assert_eq(json_is_true(json_object_get(a, "passed")), expected[i], "assertion %zu: %s",
                     i, json_string_value(json_object_get(a, "message")));
    }
    cr_assert_eq(metric(j, "replay.traffic.dead.error_rate"), 1);
    cr_assert_eq(metric(j, "replay.traffic.dead.errors"), 40);
    json_t *ratio = json_array_get(list, 2);
    double value = json_number_value(json_object_get(ratio, "value"));
    cr_assert_gt(value, 1.5);
    cr_assert(fabs(value * json_number_value(json_object_get(ratio, "denominator")) -
                   json_number_value(json_object_get(ratio, "numerator"))) < 1e-6);
    cr_assert(strstr(json_string_value(json_object_get(ratio, "message")),
                     "replay.traffic.slow.p99_ms / replay.traffic.fast.p99_ms = "));
    json_decref(j);
    test_run_free(&res);
}

static const char count_service[] =
    "   {\"name\": \"svc\", \"argv\": [\"@PGSERVICE@\"],\n"
    "    \"env\": {\"PORT\": \"${port}\", \"DATABASE\": \"${link.db.conninfo}\"},\n"
    "    \"health\": {\"path\": \"/health\", \"timeout\": \"20s\"}}";

Test(run_faults, latency_on_a_database_link_slows_the_services_queries)
{
    const char *db = test_pg_database("latency", "CREATE TABLE items (id int)");
    const char *trace = make_trace("count", "/count", 10, 1, 100);
    char text[8192];
    struct run_result res;

    snprintf(text, sizeof text,
             "{\"version\": 1, \"name\": \"latency\", \"seed\": 42,\n"
             " \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
             " \"links\": [{\"name\": \"db\", \"to\": \"database app\"}],\n"
             " \"services\": [\n%s],\n"
             " \"steps\": [\n"
             "   {\"name\": \"up\", \"start\": \"svc\"},\n"
             "   {\"name\": \"before\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\", \"targets\": {\"svc\": \"svc\"}}},\n"
             "   {\"name\": \"slow-db\", \"fault\": {\"toxic\": \"latency:latency=40\", \"link\": \"db\"}},\n"
             "   {\"name\": \"during\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\", \"targets\": {\"svc\": \"svc\"}}},\n"
             "   {\"name\": \"slower\", \"assert\": [\n"
             "     {\"metric\": \"replay.during.svc.p50_ms\", \"over\": \"replay.before.svc.p50_ms\", \"min\": 2},\n"
             "     {\"metric\": \"replay.during.svc.error_rate\", \"max\": 0}]}],\n"
             " \"always\": [{\"name\": \"after\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\", \"targets\": {\"svc\": \"svc\"}}}]}\n",
             count_service, trace, trace, trace);
    run_scenario(&res, "latency", text, test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);

    json_t *j = test_journal(run_dir_of("latency"));
    double before = metric(j, "replay.before.svc.p50_ms");
    double during = metric(j, "replay.during.svc.p50_ms");
    double after = metric(j, "replay.after.svc.p50_ms");
    /* A connection's start-up crosses the link several times: each reply
     * waits 40 ms. */
    cr_assert_geq(during, before + 40, "before %g ms, during %g ms", before, during);
    /* Without a duration the toxic lasted until the always steps, and was
     * lifted before they ran. */
    json_t *w = fault_of(j, "slow-db");
    cr_assert_str_eq(json_string_value(json_object_get(w, "ended_by")), "always");
    cr_assert_str_eq(json_string_value(json_object_get(w, "what")), "toxic");
    cr_assert_str_eq(json_string_value(json_object_get(w, "where")), "link db");
    cr_assert(strstr(json_string_value(json_object_get(w, "detail")), "latency=40"));
    cr_assert_lt(after, during - 20, "the toxic was lifted: after %g ms, during %g ms", after,
                 during);
    cr_assert_lt(json_number_value(json_object_get(w, "end_ms")),
                 json_number_value(json_object_get(step_of(j, "after"), "start_ms")));
    cr_assert_eq(json_integer_value(json_object_get(j, "seed")), 42);
    json_decref(j);
    test_run_free(&res);
}

Test(run_faults, a_link_down_mid_replay_fails_requests_only_inside_its_window)
{
    const char *db = test_pg_database("down", "CREATE TABLE items (id int)");
    const char *trace = make_trace("count6", "/count", 240, 3, 6000);
    char text[8192];
    struct run_result res;

    snprintf(text, sizeof text,
             "{\"version\": 1, \"name\": \"down\",\n"
             " \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
             " \"links\": [{\"name\": \"db\", \"to\": \"database app\"}],\n"
             " \"services\": [\n%s],\n"
             " \"steps\": [\n"
             "   {\"name\": \"up\", \"start\": \"svc\"},\n"
             "   {\"name\": \"cut\", \"parallel\": [\n"
             "     {\"name\": \"traffic\", \"replay\": {\"trace\": \"%s\", \"targets\": {\"svc\": \"svc\"}}},\n"
             "     {\"name\": \"db-down\", \"at\": \"2s\", \"fault\": {\"down\": \"db\", \"duration\": \"2s\"}}]}]}\n",
             count_service, trace);
    run_scenario(&res, "down", text, test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);

    json_t *j = test_journal(run_dir_of("down"));
    json_t *w = fault_of(j, "db-down");
    cr_assert_str_eq(json_string_value(json_object_get(w, "ended_by")), "duration");
    cr_assert(json_is_false(json_object_get(w, "active")));
    int64_t start = json_integer_value(json_object_get(w, "start_us"));
    int64_t end = json_integer_value(json_object_get(w, "end_us"));
    cr_assert(end - start >= 2000000 && end - start < 2500000, "window %lld us",
              (long long)(end - start));

    /* Every failed request was sent inside the window (give or take the
     * time a request takes), every request well outside it succeeded. */
    char *results = test_read_file(test_path(run_dir_of("down"), "steps/traffic/results.jsonl"),
                                   NULL);
    cr_assert_not_null(results);
    int inside = 0, inside_failed = 0, outside = 0, after = 0;
    const int64_t slack = 250000;
    for (char *line = strtok(results, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *r = json_loads(line, 0, NULL);
        json_t *t = json_object_get(json_object_get(r, "targets"), "svc");
        if (!t) {
            json_decref(r);
            continue;
        }
        int64_t sent = json_integer_value(json_object_get(t, "sent_us"));
        int status = (int)json_integer_value(json_object_get(t, "status"));
        bool failed = json_object_get(t, "error") || status >= 500;
        if (failed)
            cr_assert(sent >= start - slack && sent <= end + slack,
                      "a request sent %lld ms from the window's start failed",
                      (long long)(sent - start) / 1000);
        if (sent > start + slack && sent < end - slack) {
            inside++;
            inside_failed += failed;
        } else if (sent < start - slack || sent > end + slack) {
            outside++;
            cr_assert_not(failed);
            after += sent > end + slack;
        }
        json_decref(r);
    }
    free(results);
    cr_assert_gt(inside, 30);
    cr_assert_eq(inside_failed, inside, "%d of %d requests inside the window failed",
                 inside_failed, inside);
    cr_assert_gt(after, 30, "the link came back: requests after the window succeeded");
    cr_assert_gt(outside, 100);
    cr_assert_gt(metric(j, "replay.traffic.svc.status_5xx"), 30);
    json_decref(j);
    test_run_free(&res);
}

Test(run_faults, a_fault_active_at_sigint_is_lifted_before_always_runs)
{
    const char *db = test_pg_database("sigint", "CREATE TABLE items (id int)");
    const char *slow_trace = make_trace("long", "/count", 200, 2, 40000);
    const char *trace = make_trace("short", "/count", 5, 1, 50);
    char *text = NULL;

    cr_assert(asprintf(&text,
             "{\"version\": 1, \"name\": \"sigint\",\n"
             " \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
             " \"links\": [{\"name\": \"db\", \"to\": \"database app\"}],\n"
             " \"services\": [\n%s,\n"
             "   {\"name\": \"other\", \"argv\": [\"@PGSERVICE@\"], \"env\": {\"PORT\": \"${port}\","
             " \"DATABASE\": \"${db.app.conninfo}\"}, \"health\": {\"path\": \"/health\"}}],\n"
             " \"steps\": [\n"
             "   {\"name\": \"up\", \"start\": \"svc\"},\n"
             "   {\"name\": \"up-other\", \"start\": \"other\"},\n"
             "   {\"name\": \"freeze\", \"fault\": {\"pause\": \"other\"}},\n"
             "   {\"name\": \"cut\", \"parallel\": [\n"
             "     {\"name\": \"traffic\", \"replay\": {\"trace\": \"%s\", \"targets\": {\"svc\": \"svc\"}}},\n"
             "     {\"name\": \"db-down\", \"at\": \"300ms\", \"fault\": {\"down\": \"db\", \"duration\": \"60s\"}}]}],\n"
             " \"always\": [{\"name\": \"after\", \"replay\": {\"trace\": \"%s\", \"timeout\": \"5s\",\n"
             "   \"targets\": {\"svc\": \"svc\", \"other\": \"other\"}}}]}\n",
             count_service, slow_trace, trace) > 0);
    const char *path = write_scenario("sigint", text, test_pg_conninfo(db));
    free(text);
    pid_t pid = test_rehearse_spawn(dir, "run", path, "-o", run_dir_of("sigint"), NULL);
    cr_assert_gt(pid, 0);
    bool running = test_wait_step_status(run_dir_of("sigint"), "db-down", "running", 60);
    if (!running)
        kill(pid, SIGKILL);
    cr_assert(running, "the fault never started");
    usleep(300000);
    cr_assert_eq(kill(pid, SIGINT), 0);
    int code = test_wait_exit(pid, 60);
    cr_assert_eq(code, 3, "interrupted runs exit 3 (got %d)", code);

    json_t *j = test_journal(run_dir_of("sigint"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "interrupted");
    cr_assert_str_eq(status_of(j, "db-down"), "interrupted");
    cr_assert_str_eq(status_of(j, "traffic"), "interrupted");
    json_t *down = fault_of(j, "db-down");
    cr_assert_str_eq(json_string_value(json_object_get(down, "ended_by")), "interrupted");
    cr_assert_lt(json_number_value(json_object_get(down, "duration_ms")), 30000);
    json_t *freeze = fault_of(j, "freeze");
    cr_assert_str_eq(json_string_value(json_object_get(freeze, "ended_by")), "always");
    /* Both were lifted before the always steps: the link is up (the
     * service's queries pass) and the paused service answers again. */
    cr_assert_str_eq(status_of(j, "after"), "ok");
    cr_assert_eq(metric(j, "replay.after.svc.error_rate"), 0);
    cr_assert_eq(metric(j, "replay.after.other.error_rate"), 0);
    cr_assert_eq(metric(j, "replay.after.other.requests"), 5);
    json_decref(j);
}

Test(run_faults, process_and_database_faults_do_what_they_say)
{
    char *schema = test_read_file(test_repo_path("fixtures/demo/schema.sql"), NULL);
    char *seed = test_read_file(test_repo_path("fixtures/demo/seed.sql"), NULL);
    char *sql = NULL;
    cr_assert(asprintf(&sql, "%s\n%s", schema, seed) > 0);
    const char *db = test_pg_database("demo", sql);
    free(schema);
    free(seed);
    free(sql);
    const char *trace = make_trace("user", "/users/1", 10, 1, 1000);
    char text[8192];
    struct run_result res;

    snprintf(text, sizeof text,
             "{\"version\": 1, \"name\": \"faults\",\n"
             " \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
             " \"links\": [{\"name\": \"db\", \"to\": \"database app\"}],\n"
             " \"services\": [{\"name\": \"shop\", \"argv\": [\"@DEMO_V1@\"],\n"
             "   \"env\": {\"PORT\": \"${port}\", \"DATABASE_URL\": \"${link.db.url}\", \"THREADS\": \"2\"},\n"
             "   \"health\": {\"path\": \"/health\", \"timeout\": \"20s\"}}],\n"
             " \"steps\": [\n"
             "   {\"name\": \"up\", \"start\": \"shop\"},\n"
             "   {\"name\": \"warm\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\", \"targets\": {\"shop\": \"shop\"}}},\n"
             "   {\"name\": \"drop\", \"fault\": {\"terminate\": {\"link\": \"db\"}}},\n"
             "   {\"name\": \"reconnect\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\", \"targets\": {\"shop\": \"shop\"}}},\n"
             "   {\"name\": \"locked\", \"parallel\": [\n"
             "     {\"name\": \"hold\", \"fault\": {\"lock\": {\"database\": \"app\", \"table\": \"users\"}, \"duration\": \"1s\"}},\n"
             "     {\"name\": \"blocked\", \"at\": \"300ms\", \"sql\": {\"database\": \"app\",\n"
             "       \"query\": \"BEGIN; LOCK TABLE users IN ACCESS SHARE MODE; COMMIT\", \"lock_timeout\": \"100ms\", \"expect_error\": \"55P03\"}}]},\n"
             "   {\"name\": \"cancelled\", \"parallel\": [\n"
             "     {\"name\": \"sleeper\", \"sql\": {\"database\": \"app\", \"query\": \"SELECT pg_sleep(20)\", \"expect_error\": \"57014\"}},\n"
             "     {\"name\": \"cancel\", \"at\": \"300ms\", \"fault\": {\"cancel\": {\"database\": \"app\", \"application_name\": \"rehearse:sleeper\"}}}]},\n"
             "   {\"name\": \"frozen\", \"parallel\": [\n"
             "     {\"name\": \"slowed\", \"replay\": {\"trace\": \"%s\", \"targets\": {\"shop\": \"shop\"}}},\n"
             "     {\"name\": \"freeze\", \"at\": \"200ms\", \"fault\": {\"pause\": \"shop\", \"duration\": \"600ms\"}}]},\n"
             "   {\"name\": \"crash\", \"fault\": {\"kill\": \"shop\"}},\n"
             "   {\"name\": \"bounce\", \"fault\": {\"restart\": \"shop\"}},\n"
             "   {\"name\": \"back\", \"replay\": {\"trace\": \"%s\", \"speed\": \"max\", \"targets\": {\"shop\": \"shop\"}}},\n"
             "   {\"name\": \"check\", \"assert\": [\n"
             "     {\"metric\": \"replay.reconnect.shop.error_rate\", \"max\": 0},\n"
             "     {\"metric\": \"replay.slowed.shop.max_ms\", \"min\": 300},\n"
             "     {\"metric\": \"replay.back.shop.error_rate\", \"max\": 0}]}]}\n",
             trace, trace, trace, trace);
    run_scenario(&res, "faults", text, test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);

    json_t *j = test_journal(run_dir_of("faults"));
    json_t *drop = json_object_get(fault_of(j, "drop"), "applied");
    cr_assert_geq(json_integer_value(json_object_get(drop, "matched")), 1,
                  "the service's sessions came through the link");
    cr_assert_eq(json_integer_value(json_object_get(drop, "gone")),
                 json_integer_value(json_object_get(drop, "matched")));
    json_t *hold = fault_of(j, "hold");
    cr_assert_str_eq(json_string_value(json_object_get(hold, "detail")),
                     "ACCESS EXCLUSIVE on users");
    cr_assert_geq(json_number_value(json_object_get(hold, "duration_ms")), 1000);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(fault_of(j, "cancel"),
                                                                    "applied"),
                                                    "signalled")),
                 1);
    cr_assert_str_eq(status_of(j, "sleeper"), "ok");
    cr_assert_str_eq(json_string_value(json_object_get(fault_of(j, "freeze"), "ended_by")),
                     "duration");
    /* A kill on purpose is not a crash: the run went on. */
    json_t *crash = fault_of(j, "crash");
    cr_assert_str_eq(json_string_value(json_object_get(crash, "ended_by")), "instant");
    cr_assert_eq(json_array_size(json_object_get(j, "events")), 0, "no crash was reported");
    cr_assert_str_eq(json_string_value(json_object_get(fault_of(j, "bounce"), "ended_by")),
                     "restarted");
    json_t *svc = json_array_get(json_object_get(j, "services"), 0);
    cr_assert_eq(json_array_size(json_object_get(svc, "runs")), 2);
    json_decref(j);
    test_run_free(&res);
}

Test(run_faults, an_interrupted_run_still_writes_its_reports_marked_incomplete)
{
    const char *trace = make_trace("slow-health", "/health", 400, 2, 40000);
    char *text = NULL;

    cr_assert(asprintf(&text,
             "{\"version\": 1, \"name\": \"cut-short\",\n"
             " \"services\": [\n%s],\n"
             " \"steps\": [\n"
             "   {\"name\": \"start-old\", \"start\": \"old\"},\n"
             "   {\"name\": \"start-new\", \"start\": \"new\"},\n"
             "   {\"name\": \"traffic\", \"replay\": {\"trace\": \"%s\", \"targets\": {\"old\": \"old\", \"new\": \"new\"}}},\n"
             "   {\"name\": \"compare\", \"diff\": {\"replay\": \"traffic\", \"base\": \"old\", \"candidate\": \"new\"}}]}\n",
             two_services, trace) > 0);
    const char *path = write_scenario("cut-short", text, NULL);
    free(text);
    pid_t pid = test_rehearse_spawn(dir, "run", path, "-o", run_dir_of("cut-short"), NULL);
    cr_assert_gt(pid, 0);
    bool running = test_wait_step_status(run_dir_of("cut-short"), "traffic", "running", 60);
    if (!running)
        kill(pid, SIGKILL);
    cr_assert(running, "the replay never started");
    usleep(1500000);
    cr_assert_eq(kill(pid, SIGINT), 0);
    cr_assert_eq(test_wait_exit(pid, 60), 3, "an interrupted run exits 3, report or not");

    json_t *j = test_journal(run_dir_of("cut-short"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "interrupted");
    cr_assert_str_eq(status_of(j, "compare"), "skipped");
    /* The diff was made from what the replay kept, and rendered. */
    json_t *report = json_object_get(j, "report");
    cr_assert_str_eq(json_string_value(json_object_get(report, "diff")), "diff.json", "%s",
                     json_dumps(report, 0));
    cr_assert(strstr(json_string_value(json_object_get(report, "note")), "did not run to its end"));
    json_t *r = json_load_file(test_path(run_dir_of("cut-short"), "report.json"), 0, NULL);
    cr_assert_not_null(r);
    json_t *run = json_object_get(json_object_get(r, "context"), "run");
    cr_assert(json_is_false(json_object_get(run, "complete")), "marked incomplete");
    cr_assert_str_eq(json_string_value(json_object_get(run, "status")), "interrupted");
    json_t *totals = json_object_get(r, "totals");
    cr_assert_gt(json_integer_value(json_object_get(totals, "compared")), 5);
    cr_assert_lt(json_integer_value(json_object_get(totals, "compared")), 400);
    json_decref(r);
    json_decref(j);
    char *stdout_text = test_read_file(test_path(dir, "stdout"), NULL);
    cr_assert(stdout_text && strstr(stdout_text, "report.html"), "%s", stdout_text);
    free(stdout_text);
}
