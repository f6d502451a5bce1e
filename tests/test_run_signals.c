/* `rehearse run` when things go wrong: SIGINT, SIGKILL of rehearse itself, a
 * crashing service, a service that ignores SIGTERM, an embedded PostgreSQL
 * that cannot start or a setup file it rejects.  Nothing may survive. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runutil.h"
#include "testutil.h"

static char *dir;
static void setup(void)
{
    dir = test_tmpdir();
    /* The embedded server runs as the `rehearse` user when we are root: it
     * must reach fixture files here. */
    chmod(dir, 0755);
}
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(run_signals, .init = setup, .fini = teardown, .timeout = 120);

static const char *write_scenario(const char *name, const char *text)
{
    static char path[4096];
    char *scenario = test_template(text, "PGSERVICE", test_fixture_path("pgservice"), "STUBBORN",
                                   test_fixture_path("stubborn"), "DIR", dir, NULL);
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

static const char *status_of(json_t *journal, const char *step)
{
    const char *status = test_step_status(journal, step);
    cr_assert_not_null(status, "no step '%s' in the journal", step);
    return status;
}

/* Every process group rehearse started, from its journal: services (every
 * run), the postmaster, the guardian.  Returns the count. */
static size_t started_groups(json_t *j, pid_t *out, size_t max)
{
    size_t n = 0, i, k;
    json_t *svc, *run;
    json_array_foreach(json_object_get(j, "services"), i, svc)
        json_array_foreach(json_object_get(svc, "runs"), k, run)
            if (n < max)
                out[n++] = (pid_t)json_integer_value(json_object_get(run, "pid"));
    json_t *pg = json_object_get(json_object_get(j, "postgres"), "pid");
    if (pg && n < max)
        out[n++] = (pid_t)json_integer_value(pg);
    return n;
}

static const char embedded_scenario[] =
    "{\"version\": 1, \"name\": \"rehearsal\",\n"
    " \"databases\": [{\"name\": \"app\", \"embedded\": true, \"setup\": [\"schema.sql\"],\n"
    "                  \"clones\": [\"app_old\", \"app_new\"]}],\n"
    " \"services\": [\n"
    "   {\"name\": \"svc\", \"argv\": [\"@PGSERVICE@\"],\n"
    "    \"env\": {\"PORT\": \"${port}\", \"DATABASE\": \"${db.app_old.url}\"},\n"
    "    \"health\": {\"path\": \"/health\", \"timeout\": \"20s\"}},\n"
    "   {\"name\": \"stubborn\", \"argv\": [\"@STUBBORN@\"], \"env\": {\"PORT\": \"${port}\"},\n"
    "    \"health\": {\"path\": \"/health\"}, \"stop_timeout\": \"300ms\"}],\n"
    " \"steps\": [\n"
    "   {\"name\": \"start-svc\", \"start\": \"svc\"},\n"
    "   {\"name\": \"start-stubborn\", \"start\": \"stubborn\"},\n"
    "   {\"name\": \"diverge\", \"sql\": {\"database\": \"app_old\", \"query\": \"DELETE FROM items\"}},\n"
    "   {\"name\": \"clone-intact\", \"sql\": {\"database\": \"app_new\", \"query\":\n"
    "     \"DO $$ BEGIN IF (SELECT count(*) FROM items) <> 3 THEN RAISE EXCEPTION 'clone changed'; END IF; END $$\"}},\n"
    "   {\"name\": \"wait\", \"sleep\": \"60s\"},\n"
    "   {\"name\": \"never\", \"sleep\": \"1ms\"}],\n"
    " \"always\": [\n"
    "   {\"name\": \"rollback\", \"sql\": {\"database\": \"app_old\", \"query\": \"INSERT INTO items VALUES (1)\"}},\n"
    "   {\"name\": \"stop-svc\", \"stop\": \"svc\"}]}\n";

static const char schema[] = "CREATE TABLE items (id int primary key);\n"
                             "INSERT INTO items VALUES (1), (2), (3);\n";

static pid_t start_rehearsal(const char *name, json_t **journal)
{
    cr_assert_eq(test_write_file(test_path(dir, "schema.sql"), schema, strlen(schema)), 0);
    const char *path = write_scenario(name, embedded_scenario);
    pid_t pid = test_rehearse_spawn(dir, "run", path, "-o", run_dir_of(name), NULL);
    cr_assert_gt(pid, 0);
    if (!test_wait_step_status(run_dir_of(name), "wait", "running", 60)) {
        kill(pid, SIGKILL);
        char *err = test_read_file(test_path(dir, "stderr"), NULL);
        char *out = test_read_file(test_path(dir, "stdout"), NULL);
        cr_assert_fail("the rehearsal never reached its sleep step:\n%s%s", out, err);
    }
    *journal = test_journal(run_dir_of(name));
    cr_assert_not_null(*journal);
    return pid;
}

Test(run_signals, sigint_runs_the_always_steps_stops_everything_and_marks_the_run_incomplete)
{
    json_t *j;
    pid_t groups[16];
    pid_t pid = start_rehearsal("sigint", &j);
    size_t n = started_groups(j, groups, 16);
    cr_assert_eq(n, 3, "expected two services and the postmaster");
    pid_t guardian = (pid_t)json_integer_value(json_object_get(j, "guardian_pid"));
    json_decref(j);
    for (size_t i = 0; i < n; i++)
        cr_assert(test_group_alive(groups[i]));

    cr_assert_eq(kill(pid, SIGINT), 0);
    int code = test_wait_exit(pid, 60);
    char *out = test_read_file(test_path(dir, "stdout"), NULL);
    cr_assert_eq(code, 3, "exit %d: %s", code, out);
    cr_assert(strstr(out, "interrupted (exit 3): interrupted by SIGINT"), "%s", out);
    free(out);

    j = test_journal(run_dir_of("sigint"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "interrupted");
    cr_assert(json_is_false(json_object_get(j, "complete")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "stopped_by")), "signal");
    cr_assert_str_eq(status_of(j, "clone-intact"), "ok");
    cr_assert_str_eq(status_of(j, "wait"), "interrupted");
    cr_assert_str_eq(status_of(j, "never"), "skipped");
    cr_assert_str_eq(status_of(j, "rollback"), "ok");
    cr_assert_str_eq(status_of(j, "stop-svc"), "ok");
    /* The stubborn service ignored SIGTERM: it was killed after its timeout. */
    json_t *stubborn = json_array_get(json_object_get(j, "services"), 1);
    json_t *last = json_array_get(json_object_get(stubborn, "runs"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(last, "ended")),
                     "killed_after_stop_timeout");
    json_decref(j);
    for (size_t i = 0; i < n; i++)
        cr_assert_not(test_group_alive(groups[i]), "process group %d survived", (int)groups[i]);
    cr_assert_not(test_group_alive(guardian), "the guardian survived");
    cr_assert(test_file_contains(test_path(run_dir_of("sigint"), "logs/postgres.log"),
                                 "database system is shut down"));
    cr_assert(test_file_contains(test_path(run_dir_of("sigint"), "logs/stubborn.stdout.log"),
                                 "stubborn: helper pid"));
}

Test(run_signals, nothing_survives_when_rehearse_itself_is_killed)
{
    json_t *j;
    pid_t groups[16];
    pid_t pid = start_rehearsal("sigkill", &j);
    size_t n = started_groups(j, groups, 16);
    cr_assert_eq(n, 3);
    json_decref(j);

    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(test_wait_exit(pid, 10), 128 + SIGKILL);
    /* The stubborn service and its helper ignore SIGTERM; the postmaster
     * gets SIGQUIT: all must be gone within the guardian's grace. */
    for (size_t i = 0; i < n; i++)
        cr_assert(test_wait_group_gone(groups[i], 15), "process group %d survived",
                  (int)groups[i]);
    /* The journal is still valid JSON: it says the run never finished. */
    j = test_journal(run_dir_of("sigkill"));
    cr_assert_not_null(j, "the journal of a killed run must stay valid");
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "running");
    cr_assert(json_is_false(json_object_get(j, "complete")));
    json_decref(j);
}

Test(run_signals, the_embedded_database_going_away_stops_the_run_with_exit_3_and_always_runs)
{
    json_t *j;
    pid_t groups[16];
    pid_t pid = start_rehearsal("dblost", &j);
    size_t n = started_groups(j, groups, 16);
    pid_t postmaster = (pid_t)json_integer_value(json_object_get(json_object_get(j, "postgres"), "pid"));
    json_decref(j);
    cr_assert_gt(postmaster, 0);

    cr_assert_eq(kill(postmaster, SIGKILL), 0);
    int code = test_wait_exit(pid, 60);
    char *out = test_read_file(test_path(dir, "stdout"), NULL);
    cr_assert_eq(code, 3, "exit %d: %s", code, out);
    cr_assert(strstr(out, "the embedded PostgreSQL killed by signal 9"), "%s", out);
    free(out);
    j = test_journal(run_dir_of("dblost"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "stopped_by")), "database_lost");
    cr_assert_str_eq(status_of(j, "wait"), "interrupted");
    /* always ran: the rollback could not reach the database (an environment
     * error), the service was still stopped. */
    cr_assert_str_eq(status_of(j, "rollback"), "error");
    cr_assert_str_eq(status_of(j, "stop-svc"), "ok");
    json_decref(j);
    for (size_t i = 0; i < n; i++)
        cr_assert(test_wait_group_gone(groups[i], 10), "process group %d survived",
                  (int)groups[i]);
}

Test(run_signals, a_crashing_service_stops_the_run_with_exit_1_and_always_still_runs)
{
    const char *path = write_scenario(
        "crash",
        "{\"version\": 1, \"services\": [{\"name\": \"fragile\", \"argv\": [\"@PGSERVICE@\"],\n"
        "   \"env\": {\"PORT\": \"${port}\", \"CRASH_AFTER_MS\": \"300\"},\n"
        "   \"health\": {\"path\": \"/health\"}}],\n"
        " \"steps\": [{\"name\": \"start\", \"start\": \"fragile\"},\n"
        "            {\"name\": \"wait\", \"sleep\": \"30s\"}],\n"
        " \"always\": [{\"name\": \"cleanup\", \"sleep\": \"1ms\"},\n"
        "             {\"name\": \"stop\", \"stop\": \"fragile\"}]}\n");
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 60, "run", path, "-o", run_dir_of("crash"), NULL), 0);
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "service 'fragile' killed by signal 6"), "%s", res.out);
    json_t *j = test_journal(run_dir_of("crash"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "stopped_by")), "service_crashed");
    cr_assert_str_eq(status_of(j, "wait"), "interrupted");
    cr_assert_lt(json_number_value(json_object_get(test_journal_step(j, "wait"), "duration_ms")),
                 10000);
    cr_assert_str_eq(status_of(j, "cleanup"), "ok");
    json_t *event = json_array_get(json_object_get(j, "events"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(event, "kind")), "service_crashed");
    /* Stopping a crashed service is not an error: always can stop everything. */
    json_t *stop = json_object_get(test_journal_step(j, "stop"), "outputs");
    cr_assert(json_is_false(json_object_get(stop, "was_running")));
    json_decref(j);
    cr_assert(test_file_contains(test_path(run_dir_of("crash"), "logs/fragile.stderr.log"),
                                 "crashing on purpose"));
    test_run_free(&res);
}

Test(run_signals, a_service_that_never_becomes_healthy_fails_its_start_with_its_log)
{
    const char *path = write_scenario(
        "unhealthy",
        "{\"version\": 1, \"services\": [\n"
        "   {\"name\": \"teapot\", \"argv\": [\"@PGSERVICE@\"],\n"
        "    \"env\": {\"PORT\": \"${port}\", \"HEALTH_STATUS\": \"418\"},\n"
        "    \"health\": {\"path\": \"/health\", \"timeout\": \"500ms\"}},\n"
        "   {\"name\": \"no-port\", \"argv\": [\"@PGSERVICE@\"], \"env\": {\"PORT\": \"\"},\n"
        "    \"health\": {\"path\": \"/health\"}}],\n"
        " \"steps\": [{\"name\": \"start\", \"start\": \"teapot\"}],\n"
        " \"always\": [{\"name\": \"start-broken\", \"start\": \"no-port\"}]}\n");
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 60, "run", path, "-o", run_dir_of("unhealthy"), NULL), 0);
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    json_t *j = test_journal(run_dir_of("unhealthy"));
    const char *m = json_string_value(json_object_get(test_journal_step(j, "start"), "message"));
    cr_assert(strstr(m, "did not become healthy within 0.5 s"), "%s", m);
    cr_assert(strstr(m, "the last attempt answered 418 (expected status 200)"), "%s", m);
    m = json_string_value(json_object_get(test_journal_step(j, "start-broken"), "message"));
    cr_assert(strstr(m, "exited with status 2 while starting"), "%s", m);
    cr_assert(strstr(m, "PORT must be a port number"), "%s", m);
    json_decref(j);
    test_run_free(&res);
}

Test(run_signals, a_setup_file_the_server_rejects_is_located_and_exits_2)
{
    const char *broken = "CREATE TABLE ok (id int);\n\nCREATE TABEL oops (id int);\n";
    cr_assert_eq(test_write_file(test_path(dir, "broken.sql"), broken, strlen(broken)), 0);
    const char *path = write_scenario(
        "badsetup",
        "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"embedded\": true,\n"
        "  \"setup\": [\"broken.sql\"]}], \"steps\": []}\n");
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 60, "run", path, "-o", run_dir_of("badsetup"), NULL), 0);
    cr_assert_eq(res.exit_code, 2, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "broken.sql:3:8: ERROR 42601: syntax error at or near \"TABEL\""),
              "%s", res.out);
    cr_assert(strstr(res.out, "badsetup.json:2:13: databases[0].setup[0]"), "%s", res.out);
    test_run_free(&res);
}

Test(run_signals, a_postgresql_that_cannot_start_exits_3_with_the_end_of_its_log)
{
    /* Fake server binaries: initdb succeeds, postgres complains and exits. */
    char bindir[4096];
    snprintf(bindir, sizeof bindir, "%s/bin", dir);
    cr_assert_eq(mkdir(bindir, 0755), 0);
    const char *initdb = "#!/bin/sh\nexit 0\n";
    const char *postgres = "#!/bin/sh\n"
                           "echo 'FATAL:  could not map anonymous shared memory: rehearse test'\n"
                           "exit 1\n";
    cr_assert_eq(test_write_file(test_path(bindir, "initdb"), initdb, strlen(initdb)), 0);
    cr_assert_eq(test_write_file(test_path(bindir, "postgres"), postgres, strlen(postgres)), 0);
    chmod(test_path(bindir, "initdb"), 0755);
    chmod(test_path(bindir, "postgres"), 0755);
    setenv("REHEARSE_PG_BINDIR", bindir, 1);
    const char *path = write_scenario(
        "nopg", "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"embedded\": true}],\n"
                " \"steps\": [{\"name\": \"never\", \"sleep\": \"1ms\"}]}\n");
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 60, "run", path, "-o", run_dir_of("nopg"), NULL), 0);
    unsetenv("REHEARSE_PG_BINDIR");
    cr_assert_eq(res.exit_code, 3, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "PostgreSQL exited with status 1 while starting"), "%s", res.out);
    cr_assert(strstr(res.out, "could not map anonymous shared memory: rehearse test"), "%s",
              res.out);
    json_t *j = test_journal(run_dir_of("nopg"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "error");
    cr_assert_null(json_object_get(j, "steps"), "no step may run without its environment");
    json_decref(j);
    test_run_free(&res);
}
