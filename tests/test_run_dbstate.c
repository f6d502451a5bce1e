/* `rehearse run` and database state: snapshot and dbdiff steps, and the
 * rollback check (a snapshot after the rollback expected to equal one taken
 * before the migration).  Real PostgreSQL: one cluster shared by this
 * file's tests, each test with its own databases. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
TestSuite(run_dbstate, .init = setup, .fini = teardown, .timeout = 90);

static const char *run_dir_of(const char *name)
{
    static char out[4096];
    snprintf(out, sizeof out, "%s/runs/%s", dir, name);
    return out;
}

/* Write the scenario (@A@, @B@, @C@: conninfo strings; @DEMO@: the demo
 * fixtures directory; @DIR@: the test's directory) and run it. */
static int run_scenario(struct run_result *res, const char *name, const char *text,
                        const char *a, const char *b, const char *c)
{
    char *scenario = test_template(text, "A", a ? a : "", "B", b ? b : "", "C", c ? c : "",
                                   "DEMO", test_repo_path("fixtures/demo"), "DIR", dir, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    cr_assert_eq(test_write_file(path, scenario, strlen(scenario)), 0);
    free(scenario);
    return test_rehearse(res, 80, "run", path, "-o", run_dir_of(name), NULL);
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

static json_t *outputs_of(json_t *journal, const char *name)
{
    return json_object_get(step_of(journal, name), "outputs");
}

static const char base_sql[] =
    "CREATE TABLE accounts (id int primary key, owner text, balance numeric(10,2));\n"
    "INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 500) g;\n"
    "CREATE TABLE log (at int, note text);\n"
    "INSERT INTO log VALUES (1, 'a'), (2, 'b');\n";

Test(run_dbstate, snapshots_and_dbdiffs_record_each_databases_state_and_differences)
{
    const char *left = test_pg_database("left", base_sql);
    const char *right = test_pg_database(
        "right", "CREATE TABLE accounts (id int primary key, owner text, balance numeric(10,2), "
                 "nickname text);\n"
                 "INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5, NULL FROM "
                 "generate_series(1, 500) g;\n"
                 "CREATE TABLE log (at int, note text);\n"
                 "INSERT INTO log VALUES (1, 'a'), (2, 'b');\n"
                 "UPDATE accounts SET balance = 0 WHERE id IN (7, 70);\n"
                 "DELETE FROM accounts WHERE id = 500;\n"
                 "INSERT INTO accounts VALUES (501, 'new', 1, NULL);\n");
    const char map[] = "{\"version\": 1, \"tables\": {\"accounts\": {\"ignore\": [\"nickname\"]}}}\n";
    cr_assert_eq(test_write_file(test_path(dir, "map.json"), map, strlen(map)), 0);
    struct run_result res;
    run_scenario(&res, "state",
                 "{\"version\": 1, \"name\": \"state\",\n"
                 " \"databases\": [{\"name\": \"l\", \"conninfo\": \"@A@\"}, {\"name\": \"r\", \"conninfo\": \"@B@\"}],\n"
                 " \"steps\": [\n"
                 "   {\"name\": \"left-state\", \"snapshot\": \"l\"},\n"
                 "   {\"name\": \"right-state\", \"snapshot\": {\"database\": \"r\", \"tables\": [\"accounts\"]}},\n"
                 "   {\"name\": \"grow\", \"sql\": {\"database\": \"l\", \"query\": \"INSERT INTO log VALUES (3, 'c')\"}},\n"
                 "   {\"name\": \"left-again\", \"snapshot\": {\"database\": \"l\", \"compare_to\": \"left-state\"}},\n"
                 "   {\"name\": \"data\", \"dbdiff\": {\"left\": \"l\", \"right\": \"r\", \"map\": \"map.json\",\n"
                 "                                \"max_examples\": 2}},\n"
                 "   {\"name\": \"check\", \"assert\": [\n"
                 "     {\"metric\": \"dbdiff.data.rows_changed\", \"max\": 0},\n"
                 "     {\"metric\": \"snapshot.left-again.tables_changed\", \"min\": 1, \"max\": 1}]}]}\n",
                 test_pg_conninfo(left), test_pg_conninfo(right), NULL);
    cr_assert_eq(res.exit_code, 1, "the rows_changed assertion fails: %s%s", res.out, res.err);

    json_t *j = test_journal(run_dir_of("state"));
    cr_assert_not_null(j);
    /* The snapshot is kept in the journal, table by table. */
    json_t *snap = json_object_get(outputs_of(j, "left-state"), "snapshot");
    cr_assert_str_eq(json_string_value(json_object_get(snap, "format")), "rehearse-snapshot");
    json_t *tables = json_object_get(snap, "tables");
    cr_assert_eq(json_array_size(tables), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tables, 0), "table")),
                     "accounts");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(tables, 0), "rows")), 500);
    cr_assert_eq(metric(j, "snapshot.left-state.rows"), 502);
    cr_assert_eq(metric(j, "snapshot.right-state.tables"), 1);
    /* The state evolved: log gained a row. */
    json_t *changes = json_object_get(outputs_of(j, "left-again"), "changes");
    cr_assert_eq(json_array_size(changes), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "table")),
                     "log");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "change")),
                     "rows 2 -> 3");
    /* The diff: counts in the journal, the document beside the step. */
    cr_assert_eq(metric(j, "dbdiff.data.rows_changed"), 2);
    cr_assert_eq(metric(j, "dbdiff.data.rows_only_left"), 2, "account 500 and the new log row");
    cr_assert_eq(metric(j, "dbdiff.data.rows_only_right"), 1);
    cr_assert_eq(metric(j, "dbdiff.data.rows_different"), 5);
    cr_assert_eq(metric(j, "dbdiff.data.differs"), 1);
    cr_assert_geq(metric(j, "dbdiff.data.schema_changes"), 1, "the nickname column");
    json_t *out = outputs_of(j, "data");
    cr_assert_str_eq(json_string_value(json_object_get(out, "dbdiff")), "steps/data/dbdiff.json");
    json_t *doc = json_load_file(test_path(run_dir_of("state"), "steps/data/dbdiff.json"), 0,
                                 NULL);
    cr_assert_not_null(doc);
    cr_assert_str_eq(json_string_value(json_object_get(doc, "format")), "rehearse-dbdiff");
    json_t *accounts = json_array_get(json_object_get(doc, "tables"), 0);
    cr_assert_eq(json_integer_value(json_object_get(accounts, "changed")), 2);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(accounts, "examples"), "changed")),
                 2);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(accounts, "ignored_columns"),
                                                      0)),
                     "nickname");
    /* The failed assertion is recorded. */
    json_t *a = json_array_get(json_object_get(step_of(j, "check"), "assertions"), 0);
    cr_assert(json_is_false(json_object_get(a, "passed")));
    json_decref(doc);
    json_decref(j);
    test_run_free(&res);
}

/* The demo's expand migration and its rollback, on two copies of the seed:
 * on "clean" nothing else happens, on "dirty" a row is changed while the
 * migration is in place.  The rollback check must pass on the first and
 * fail on the second, naming the table. */
Test(run_dbstate, the_rollback_check_passes_after_expand_and_rollback_and_fails_when_a_row_changed)
{
    char *schema = test_read_file(test_repo_path("fixtures/demo/schema.sql"), NULL);
    char *seed = test_read_file(test_repo_path("fixtures/demo/seed.sql"), NULL);
    char *sql = NULL;
    cr_assert(asprintf(&sql, "%s\n%s", schema, seed) > 0);
    const char *clean = test_pg_database("clean", sql);
    const char *dirty = test_pg_database("dirty", sql);
    const char *fresh = test_pg_database("fresh", sql);
    free(schema);
    free(seed);
    free(sql);
    struct run_result res;
    run_scenario(
        &res, "rollback",
        "{\"version\": 1, \"name\": \"rollback\",\n"
        " \"databases\": [{\"name\": \"clean\", \"conninfo\": \"@A@\"},\n"
        "                 {\"name\": \"dirty\", \"conninfo\": \"@B@\"},\n"
        "                 {\"name\": \"fresh\", \"conninfo\": \"@C@\"}],\n"
        " \"steps\": [\n"
        "   {\"name\": \"clean-before\", \"snapshot\": \"clean\"},\n"
        "   {\"name\": \"dirty-before\", \"snapshot\": \"dirty\"},\n"
        "   {\"name\": \"expand-clean\", \"sql\": {\"database\": \"clean\", \"file\": \"@DEMO@/expand.sql\"}},\n"
        "   {\"name\": \"expand-dirty\", \"sql\": {\"database\": \"dirty\", \"file\": \"@DEMO@/expand.sql\"}},\n"
        "   {\"name\": \"expanded\", \"snapshot\": {\"database\": \"clean\", \"compare_to\": \"clean-before\",\n"
        "                                     \"expect\": \"different\"}},\n"
        "   {\"name\": \"touch\", \"sql\": {\"database\": \"dirty\",\n"
        "     \"query\": \"UPDATE orders SET amount = amount + 1 WHERE id = 5\"}},\n"
        "   {\"name\": \"rollback-clean\", \"sql\": {\"database\": \"clean\", \"file\": \"@DEMO@/expand-rollback.sql\"}},\n"
        "   {\"name\": \"rollback-dirty\", \"sql\": {\"database\": \"dirty\", \"file\": \"@DEMO@/expand-rollback.sql\"}},\n"
        "   {\"name\": \"clean-restored\", \"snapshot\": {\"database\": \"clean\", \"compare_to\": \"clean-before\",\n"
        "                                           \"expect\": \"same\"}},\n"
        "   {\"name\": \"dirty-restored\", \"snapshot\": {\"database\": \"dirty\", \"compare_to\": \"dirty-before\",\n"
        "                                           \"expect\": \"same\"}},\n"
        "   {\"name\": \"clean-vs-fresh\", \"dbdiff\": {\"left\": \"fresh\", \"right\": \"clean\", \"expect\": \"same\"}},\n"
        "   {\"name\": \"dirty-vs-fresh\", \"dbdiff\": {\"left\": \"fresh\", \"right\": \"dirty\", \"expect\": \"same\"}}]}\n",
        test_pg_conninfo(clean), test_pg_conninfo(dirty), test_pg_conninfo(fresh));
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "2 of 5 assertions failed"), "%s", res.out);

    json_t *j = test_journal(run_dir_of("rollback"));
    const char *verdicts[][2] = {{"expanded", "ok"},         {"clean-restored", "ok"},
                                 {"dirty-restored", "failed"}, {"clean-vs-fresh", "ok"},
                                 {"dirty-vs-fresh", "failed"}};
    for (size_t i = 0; i < 5; i++) {
        json_t *s = step_of(j, verdicts[i][0]);
        cr_assert_str_eq(json_string_value(json_object_get(s, "status")), verdicts[i][1], "%s: %s",
                         verdicts[i][0], json_string_value(json_object_get(s, "message")));
        json_t *a = json_array_get(json_object_get(s, "assertions"), 0);
        cr_assert_eq(json_is_true(json_object_get(a, "passed")), verdicts[i][1][0] == 'o');
    }
    /* The failure says what differs: the orders table, same row count. */
    const char *message = json_string_value(json_object_get(step_of(j, "dirty-restored"), "message"));
    cr_assert(strstr(message, "orders rows changed (same count, 2000)"), "%s", message);
    cr_assert_eq(metric(j, "dbdiff.dirty-vs-fresh.rows_changed"), 1);
    cr_assert_eq(metric(j, "dbdiff.clean-vs-fresh.differs"), 0);
    /* The expanded state differs in the schema and in users (new columns). */
    json_t *out = outputs_of(j, "expanded");
    cr_assert(json_is_true(json_object_get(out, "schema_changed")));
    /* A failed check is a finding, like an assert: the run went on. */
    cr_assert_str_eq(json_string_value(json_object_get(step_of(j, "dirty-vs-fresh"), "status")),
                     "failed");
    json_decref(j);
    test_run_free(&res);
}
