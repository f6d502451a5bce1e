/* `rehearse run` end to end: real PostgreSQL (one cluster shared by this
 * file's tests, each test with its own database), real fixture services. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
TestSuite(run, .init = setup, .fini = teardown, .timeout = 90);

/* Write the scenario (a template: @PGSERVICE@, @STUBBORN@ and @CONNINFO@
 * are replaced) and run it with -o DIR/runs/NAME. */
static int run_scenario(struct run_result *res, const char *name, const char *text,
                        const char *conninfo)
{
    char *scenario = test_template(text, "PGSERVICE", test_fixture_path("pgservice"), "STUBBORN",
                                   test_fixture_path("stubborn"), "CONNINFO",
                                   conninfo ? conninfo : "", NULL);
    char path[4096], run_dir[4096];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    snprintf(run_dir, sizeof run_dir, "%s/runs/%s", dir, name);
    cr_assert_eq(test_write_file(path, scenario, strlen(scenario)), 0);
    free(scenario);
    return test_rehearse(res, 80, "run", path, "-o", run_dir, NULL);
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

static double number_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_number(v), "no number '%s'", key);
    return json_number_value(v);
}

static double metric(json_t *journal, const char *name)
{
    return number_at(json_object_get(journal, "metrics"), name);
}

Test(run, steps_run_in_order_services_start_healthy_and_the_journal_records_everything)
{
    const char *db = test_pg_database("order", "CREATE TABLE items (id int primary key); "
                                               "INSERT INTO items SELECT generate_series(1, 5)");
    struct run_result res;
    run_scenario(&res, "order",
                 "{\"version\": 1, \"name\": \"order\",\n"
                 " \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
                 " \"services\": [{\"name\": \"svc\", \"argv\": [\"@PGSERVICE@\"],\n"
                 "   \"env\": {\"PORT\": \"${port}\", \"DATABASE\": \"${db.app.conninfo}\"},\n"
                 "   \"health\": {\"path\": \"/health\", \"timeout\": \"10s\"},\n"
                 /* Sanitized binaries can take seconds to exit (leak scan) on a
                  * loaded machine; the test is about a clean stop, not its speed. */
                 "   \"stop_timeout\": \"30s\"}],\n"
                 " \"steps\": [\n"
                 "   {\"name\": \"start-svc\", \"start\": \"svc\"},\n"
                 "   {\"name\": \"add\", \"sql\": {\"database\": \"app\",\n"
                 "     \"query\": \"INSERT INTO items VALUES (6), (7); UPDATE items SET id = id; "
                 "DO $$ BEGIN RAISE NOTICE 'migrated %', 7; END $$\"}},\n"
                 "   {\"name\": \"nap\", \"sleep\": \"100ms\"},\n"
                 "   {\"name\": \"bounce\", \"restart\": \"svc\"},\n"
                 "   {\"name\": \"check\", \"assert\": [{\"metric\": \"sql.add.rows\", \"min\": 9, \"max\": 9},\n"
                 "     {\"metric\": \"sql.add.duration_ms\", \"max\": 30000}]}],\n"
                 " \"always\": [{\"name\": \"stop-svc\", \"stop\": \"svc\"}]}\n",
                 test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "passed: 6 steps ok, 2 assertions held"), "%s", res.out);

    json_t *j = test_journal(run_dir_of("order"));
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "passed");
    cr_assert(json_is_true(json_object_get(j, "complete")));
    cr_assert_eq(json_integer_value(json_object_get(j, "exit_code")), 0);
    const char *order[] = {"start-svc", "add", "nap", "bounce", "check", "stop-svc"};
    double previous_end = 0;
    for (size_t i = 0; i < 6; i++) {
        json_t *s = test_journal_step(j, order[i]);
        cr_assert_str_eq(status_of(j, order[i]), "ok");
        cr_assert_geq(number_at(s, "start_ms"), previous_end, "%s started early", order[i]);
        previous_end = number_at(s, "end_ms");
        cr_assert_geq(previous_end, number_at(s, "start_ms"));
    }
    cr_assert_geq(number_at(test_journal_step(j, "nap"), "duration_ms"), 100);
    /* The service was up (its health check used the database) and was stopped. */
    json_t *svc = json_array_get(json_object_get(j, "services"), 0);
    json_t *first = json_array_get(json_object_get(svc, "runs"), 0);
    json_t *second = json_array_get(json_object_get(svc, "runs"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(first, "ended")), "stopped");
    cr_assert_str_eq(json_string_value(json_object_get(second, "ended")), "stopped");
    cr_assert_neq(json_integer_value(json_object_get(first, "pid")),
                  json_integer_value(json_object_get(second, "pid")), "restart made a new process");
    cr_assert_not(test_group_alive((pid_t)json_integer_value(json_object_get(second, "pid"))));
    cr_assert(test_file_contains(test_path(run_dir_of("order"), "logs/svc.stdout.log"),
                                 "pgservice: listening"));
    cr_assert_not(test_group_alive((pid_t)json_integer_value(json_object_get(first, "pid"))));
    cr_assert_eq(metric(j, "sql.add.rows"), 9);
    /* What the server said on the way is kept beside the step. */
    cr_assert(test_file_contains(test_path(run_dir_of("order"), "steps/add/notices.log"),
                                 "NOTICE:  migrated 7"));
    json_t *a = json_array_get(json_object_get(test_journal_step(j, "check"), "assertions"), 0);
    cr_assert(json_is_true(json_object_get(a, "passed")));
    json_decref(j);

    /* Private modes: the run directory and what is in it. */
    struct stat st;
    cr_assert_eq(stat(run_dir_of("order"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    cr_assert_eq(stat(test_path(run_dir_of("order"), "journal.json"), &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(stat(test_path(run_dir_of("order"), "logs/svc.stderr.log"), &st), 0);
    cr_assert_eq(st.st_mode & 0077, 0);
    char *count = test_pg_value(test_pg_conninfo(db), "SELECT count(*) FROM items");
    cr_assert_str_eq(count, "7");
    free(count);
    test_run_free(&res);
}

Test(run, parallel_children_overlap_and_at_offsets_are_honoured)
{
    struct run_result res;
    run_scenario(&res, "parallel",
                 "{\"version\": 1, \"steps\": [\n"
                 "  {\"name\": \"block\", \"parallel\": [\n"
                 "    {\"name\": \"a\", \"sleep\": \"600ms\"},\n"
                 "    {\"name\": \"b\", \"sleep\": \"600ms\"},\n"
                 "    {\"name\": \"late\", \"at\": \"300ms\", \"sleep\": \"200ms\"}]},\n"
                 "  {\"name\": \"after\", \"sleep\": \"1ms\"}]}\n",
                 NULL);
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);
    json_t *j = test_journal(run_dir_of("parallel"));
    json_t *block = test_journal_step(j, "block"), *a = test_journal_step(j, "a"),
           *b = test_journal_step(j, "b"), *late = test_journal_step(j, "late");
    double start = number_at(block, "start_ms");
    /* a and b overlap: each started before the other ended. */
    cr_assert_lt(number_at(a, "start_ms"), number_at(b, "end_ms"));
    cr_assert_lt(number_at(b, "start_ms"), number_at(a, "end_ms"));
    /* late started 300 ms after the block (never before). */
    cr_assert_geq(number_at(late, "start_ms") - start, 300);
    cr_assert_lt(number_at(late, "start_ms") - start, 1000);
    /* Together, not one after the other (600 + 600 + 200 ms). */
    cr_assert_lt(number_at(block, "duration_ms"), 1350);
    cr_assert_geq(number_at(test_journal_step(j, "after"), "start_ms"), number_at(block, "end_ms"));
    json_decref(j);
    test_run_free(&res);
}

Test(run, a_failed_assertion_exits_1_the_run_goes_on_and_always_runs)
{
    const char *db = test_pg_database("assertfail", "CREATE TABLE log (what text)");
    struct run_result res;
    run_scenario(&res, "assertfail",
                 "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
                 " \"steps\": [\n"
                 "   {\"name\": \"slow\", \"sql\": {\"database\": \"app\", \"query\": \"SELECT pg_sleep(0.05)\"}},\n"
                 "   {\"name\": \"too-strict\", \"assert\": {\"metric\": \"sql.slow.duration_ms\", \"max\": 1}},\n"
                 "   {\"name\": \"holds\", \"assert\": {\"metric\": \"sql.slow.duration_ms\", \"min\": 50}},\n"
                 "   {\"name\": \"goes-on\", \"sql\": {\"database\": \"app\", \"query\": \"INSERT INTO log VALUES ('steps')\"}}],\n"
                 " \"always\": [{\"name\": \"rollback\", \"sql\": {\"database\": \"app\",\n"
                 "   \"query\": \"INSERT INTO log VALUES ('always')\"}}]}\n",
                 test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "failed (exit 1): 1 of 2 assertions failed"), "%s", res.out);
    json_t *j = test_journal(run_dir_of("assertfail"));
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "failed");
    cr_assert_str_eq(status_of(j, "too-strict"), "failed");
    cr_assert_str_eq(status_of(j, "holds"), "ok");
    cr_assert_str_eq(status_of(j, "goes-on"), "ok");
    cr_assert_str_eq(status_of(j, "rollback"), "ok");
    json_t *a = json_array_get(json_object_get(test_journal_step(j, "too-strict"), "assertions"), 0);
    cr_assert(json_is_false(json_object_get(a, "passed")));
    cr_assert_gt(number_at(a, "value"), 1);
    cr_assert(strstr(json_string_value(json_object_get(a, "message")), "above the maximum 1"));
    json_decref(j);
    char *rows = test_pg_value(test_pg_conninfo(db),
                               "SELECT string_agg(what, ',' ORDER BY what) FROM log");
    cr_assert_str_eq(rows, "always,steps");
    free(rows);
    test_run_free(&res);
}

Test(run, a_failed_step_stops_the_run_skips_the_rest_and_always_runs)
{
    const char *db = test_pg_database("stepfail", "CREATE TABLE log (what text)");
    struct run_result res;
    run_scenario(&res, "stepfail",
                 "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
                 " \"steps\": [\n"
                 "   {\"name\": \"broken\", \"sql\": {\"database\": \"app\",\n"
                 "     \"query\": \"SELECT 1;\\nSELECT * FROM\\n  no_such_table\"}},\n"
                 "   {\"name\": \"never\", \"sql\": {\"database\": \"app\", \"query\": \"INSERT INTO log VALUES ('never')\"}}],\n"
                 " \"always\": [{\"name\": \"cleanup\", \"sql\": {\"database\": \"app\",\n"
                 "   \"query\": \"INSERT INTO log VALUES ('always')\"}}]}\n",
                 test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    json_t *j = test_journal(run_dir_of("stepfail"));
    cr_assert_str_eq(status_of(j, "broken"), "failed");
    cr_assert_str_eq(status_of(j, "never"), "skipped");
    cr_assert_str_eq(status_of(j, "cleanup"), "ok");
    cr_assert(json_is_false(json_object_get(j, "complete")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "stopped_by")), "step_failed");
    /* The server's error, located in the SQL text, with its SQLSTATE. */
    const char *message = json_string_value(json_object_get(test_journal_step(j, "broken"), "message"));
    cr_assert(strstr(message, "at line 3, column 3: ERROR 42P01: relation \"no_such_table\" does not exist"),
              "%s", message);
    json_t *error = json_object_get(json_object_get(test_journal_step(j, "broken"), "outputs"), "error");
    cr_assert_str_eq(json_string_value(json_object_get(error, "sqlstate")), "42P01");
    json_decref(j);
    char *rows = test_pg_value(test_pg_conninfo(db), "SELECT string_agg(what, ',') FROM log");
    cr_assert_str_eq(rows, "always");
    free(rows);
    test_run_free(&res);
}

Test(run, expect_error_passes_only_on_the_expected_sqlstate)
{
    const char *db = test_pg_database("expect", "CREATE TABLE t (id int primary key); "
                                                "INSERT INTO t VALUES (1)");
    struct run_result res;
    run_scenario(&res, "expect",
                 "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
                 " \"steps\": [\n"
                 "   {\"name\": \"dup\", \"sql\": {\"database\": \"app\", \"query\": \"INSERT INTO t VALUES (1)\",\n"
                 "     \"expect_error\": \"23505\"}},\n"
                 "   {\"name\": \"any\", \"sql\": {\"database\": \"app\", \"query\": \"SELECT 1/0\", \"expect_error\": true}},\n"
                 "   {\"name\": \"wrong-state\", \"on_failure\": \"continue\", \"sql\": {\"database\": \"app\",\n"
                 "     \"query\": \"SELECT 1/0\", \"expect_error\": \"23505\"}},\n"
                 "   {\"name\": \"no-error\", \"on_failure\": \"continue\", \"sql\": {\"database\": \"app\",\n"
                 "     \"query\": \"SELECT 1\", \"expect_error\": \"23505\"}}]}\n",
                 test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    json_t *j = test_journal(run_dir_of("expect"));
    cr_assert_str_eq(status_of(j, "dup"), "ok");
    cr_assert_str_eq(status_of(j, "any"), "ok");
    cr_assert_str_eq(status_of(j, "wrong-state"), "failed");
    cr_assert(strstr(json_string_value(json_object_get(test_journal_step(j, "wrong-state"), "message")),
                     "expected SQLSTATE 23505, got ERROR 22012"));
    cr_assert_str_eq(status_of(j, "no-error"), "failed");
    cr_assert(strstr(json_string_value(json_object_get(test_journal_step(j, "no-error"), "message")),
                     "expected an error with SQLSTATE 23505, but the SQL succeeded"));
    json_decref(j);
    test_run_free(&res);
}

Test(run, lock_waits_are_measured_while_a_concurrent_transaction_holds_the_lock)
{
    const char *db = test_pg_database("locks", "CREATE TABLE users (id int primary key, name text)");
    struct run_result res;
    run_scenario(&res, "locks",
                 "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
                 " \"steps\": [\n"
                 "   {\"name\": \"migrate-under-load\", \"parallel\": [\n"
                 "     {\"name\": \"long-tx\", \"sql\": {\"database\": \"app\", \"query\":\n"
                 "       \"BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT\"}},\n"
                 "     {\"name\": \"expand\", \"at\": \"500ms\", \"sql\": {\"database\": \"app\",\n"
                 "       \"query\": \"ALTER TABLE users ADD COLUMN first_name text\"}},\n"
                 "     {\"name\": \"impatient\", \"at\": \"500ms\", \"sql\": {\"database\": \"app\",\n"
                 "       \"query\": \"ALTER TABLE users ADD COLUMN last_name text\", \"lock_timeout\": \"100ms\",\n"
                 "       \"expect_error\": \"55P03\"}}]},\n"
                 "   {\"name\": \"waited\", \"assert\": [{\"metric\": \"sql.expand.lock_wait_ms\", \"min\": 400},\n"
                 "     {\"metric\": \"sql.long-tx.blocked_sessions\", \"min\": 1},\n"
                 "     {\"metric\": \"sql.long-tx.exclusive_lock_ms\", \"min\": 1000}]}]}\n",
                 test_pg_conninfo(db));
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);
    json_t *j = test_journal(run_dir_of("locks"));
    json_t *expand = json_object_get(test_journal_step(j, "expand"), "outputs");
    json_t *wait = json_array_get(json_object_get(expand, "lock_waits"), 0);
    cr_assert_not_null(wait, "no lock wait recorded");
    json_t *wants = json_array_get(json_object_get(wait, "waiting_for"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(wants, "mode")), "AccessExclusiveLock");
    cr_assert_str_eq(json_string_value(json_object_get(wants, "relation")), "users");
    /* Blocked by the long transaction (and maybe by "impatient", queued
     * for the same lock ahead of it). */
    bool by_long_tx = false;
    size_t i;
    json_t *blocker;
    json_array_foreach(json_object_get(wait, "blocked_by"), i, blocker)
        by_long_tx = by_long_tx || strcmp(json_string_value(json_object_get(
                                              blocker, "application_name")),
                                          "rehearse:long-tx") == 0;
    cr_assert(by_long_tx, "the long transaction is not among the blockers");
    cr_assert(json_is_true(json_object_get(wait, "access_exclusive")));
    /* The wait is bounded by the holder: it cannot exceed the 2 s hold. */
    cr_assert_lt(metric(j, "sql.expand.lock_wait_ms"), 2000);
    cr_assert_gt(metric(j, "sql.long-tx.blocking_ms"), 300);
    json_t *held = json_array_get(json_object_get(json_object_get(test_journal_step(j, "long-tx"),
                                                                  "outputs"),
                                                  "access_exclusive_locks"),
                                  0);
    cr_assert_str_eq(json_string_value(json_object_get(held, "relation")), "users");
    /* lock_timeout gave up with 55P03, as expected. */
    cr_assert_str_eq(status_of(j, "impatient"), "ok");
    json_decref(j);
    test_run_free(&res);
}

Test(run, an_unreachable_external_database_exits_3_without_showing_the_password)
{
    struct run_result res;
    /* A port nothing listens on: the shared cluster's port + nothing is not
     * guaranteed free, so use port 1 (privileged, never a PostgreSQL). */
    run_scenario(&res, "unreachable",
                 "{\"version\": 1, \"databases\": [\n"
                 "   {\"name\": \"prod_copy\", \"conninfo\": \"host=127.0.0.1 port=1 user=app "
                 "password=s3cr3t-pw dbname=shop connect_timeout=3\"},\n"
                 "   {\"name\": \"other\", \"conninfo\": \"postgresql://app:s3cr3t-pw@127.0.0.1:1/shop\"}],\n"
                 " \"steps\": [{\"name\": \"never\", \"sleep\": \"1ms\"}],\n"
                 " \"always\": [{\"name\": \"not-either\", \"sleep\": \"1ms\"}]}\n",
                 NULL);
    cr_assert_eq(res.exit_code, 3, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "cannot connect to PostgreSQL"), "%s", res.out);
    cr_assert(strstr(res.out, "prod_copy"), "%s", res.out);
    cr_assert(strstr(res.out, "password=********"), "%s", res.out);
    cr_assert(strstr(res.out, "Connection refused"), "%s", res.out);
    cr_assert_null(strstr(res.out, "s3cr3t"), "%s", res.out);
    cr_assert_null(strstr(res.err, "s3cr3t"), "%s", res.err);
    char *journal = test_read_file(test_path(run_dir_of("unreachable"), "journal.json"), NULL);
    cr_assert_not_null(journal);
    cr_assert_null(strstr(journal, "s3cr3t"), "%s", journal);
    cr_assert(strstr(journal, "\"status\": \"error\""), "%s", journal);
    free(journal);
    test_run_free(&res);
}

Test(run, a_non_empty_run_directory_is_refused)
{
    struct run_result res;
    char path[4096];
    snprintf(path, sizeof path, "%s/s.json", dir);
    const char *text = "{\"version\": 1, \"steps\": []}";
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    cr_assert_eq(test_write_file(test_path(dir, "precious"), "x", 1), 0);
    cr_assert_eq(test_rehearse(&res, 30, "run", path, "-o", dir, NULL), 0);
    cr_assert_eq(res.exit_code, 2, "%s", res.err);
    cr_assert(strstr(res.err, "already exists and is not empty"), "%s", res.err);
    cr_assert(test_file_contains(test_path(dir, "precious"), "x"));
    test_run_free(&res);
}

Test(run, sigint_cancels_a_running_statement_and_always_still_reaches_the_database)
{
    const char *db = test_pg_database("cancel", "CREATE TABLE log (what text)");
    char path[4096], run_dir[4096];
    char *text = test_template(
        "{\"version\": 1, \"databases\": [{\"name\": \"app\", \"conninfo\": \"@CONNINFO@\"}],\n"
        " \"steps\": [{\"name\": \"endless\", \"sql\": {\"database\": \"app\", \"query\": \"SELECT pg_sleep(60)\"}}],\n"
        " \"always\": [{\"name\": \"note\", \"sql\": {\"database\": \"app\",\n"
        "   \"query\": \"INSERT INTO log VALUES ('always')\"}}]}\n",
        "CONNINFO", test_pg_conninfo(db), NULL);
    snprintf(path, sizeof path, "%s/cancel.json", dir);
    snprintf(run_dir, sizeof run_dir, "%s/runs/cancel", dir);
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    free(text);
    pid_t pid = test_rehearse_spawn(dir, "run", path, "-o", run_dir, NULL);
    cr_assert(test_wait_step_status(run_dir, "endless", "running", 30));
    /* Let the statement reach the server. */
    for (int i = 0; i < 100; i++) {
        char *n = test_pg_value(test_pg_conninfo(db),
                                "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                "'rehearse:endless' AND state = 'active'");
        bool active = n && strcmp(n, "1") == 0;
        free(n);
        if (active)
            break;
        usleep(20000);
    }
    cr_assert_eq(kill(pid, SIGINT), 0);
    cr_assert_eq(test_wait_exit(pid, 20), 3);
    json_t *j = test_journal(run_dir);
    cr_assert_str_eq(status_of(j, "endless"), "interrupted");
    cr_assert_lt(number_at(test_journal_step(j, "endless"), "duration_ms"), 20000);
    cr_assert_str_eq(status_of(j, "note"), "ok");
    json_decref(j);
    char *left = test_pg_value(test_pg_conninfo(db),
                               "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                               "LIKE 'rehearse:%' AND state = 'active' AND datname = current_database()");
    cr_assert_str_eq(left, "0", "the statement must not go on after the run");
    free(left);
    char *rows = test_pg_value(test_pg_conninfo(db), "SELECT string_agg(what, ',') FROM log");
    cr_assert_str_eq(rows, "always");
    free(rows);
}
