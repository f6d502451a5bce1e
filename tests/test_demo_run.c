/* The scenarios shipped in scenarios/, run end to end as `make demo` runs
 * them: the demo rehearsal must find every regression planted in v2 of the
 * demo shop (R1–R4, fixtures/demo/README.md) and report none of the noise
 * fields as one; the cut-over under faults must show each fault window and
 * what every target did during it.  Embedded PostgreSQL, the demo services,
 * the captured pcap: all real. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runutil.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
    char fixtures[PATH_MAX];
    dir = test_tmpdir();
    /* The embedded server runs as the `rehearse` user when we are root. */
    chmod(dir, 0755);
    /* The scenarios find the demo services here (make asan: the sanitized ones). */
    snprintf(fixtures, sizeof fixtures, "%s", test_fixture_path("demo_v1"));
    setenv("REHEARSE_FIXTURES", dirname(fixtures), 1);
}
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(demo_run, .init = setup, .fini = teardown, .timeout = 150);

static const char *run_dir_of(const char *name)
{
    static char out[4096];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    return out;
}

static json_t *load(const char *run, const char *file)
{
    json_t *j = json_load_file(test_path(run, file), 0, NULL);
    cr_assert_not_null(j, "no %s in %s", file, run);
    return j;
}

static json_t *step_of(json_t *journal, const char *name)
{
    json_t *s = test_journal_step(journal, name);
    cr_assert_not_null(s, "no step '%s' in the journal", name);
    return s;
}

Test(demo_run, the_demo_finds_every_planted_regression_and_reports_no_noise_field)
{
    struct run_result res, check;
    const char *run = run_dir_of("demo");

    cr_assert_eq(test_rehearse(&res, 140, "run", test_repo_path("scenarios/demo.json"), "-o", run,
                               NULL),
                 0);
    /* The planted regressions are findings: exit 1, and a report. */
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "report.html (regressions)"), "%s", res.out);

    char *argv[] = {(char *)test_fixture_path("demo_check"), (char *)run,
                    (char *)test_repo_path("scenarios/demo-expected.json"), NULL};
    cr_assert_eq(test_run(&check, argv, 30), 0);
    cr_assert_eq(check.exit_code, 0, "the demo did not behave as designed:\n%s%s", check.out,
                 check.err);
    cr_assert_null(strstr(check.out, "MISSED"), "%s", check.out);
    cr_assert_null(strstr(check.out, "REPORTED"), "%s", check.out);
    cr_assert(strstr(check.out, "behaved as designed"), "%s", check.out);

    /* The report itself, as a reviewer reads it. */
    json_t *report = load(run, "report.json");
    json_t *verdict = json_object_get(report, "verdict");
    cr_assert_str_eq(json_string_value(json_object_get(verdict, "result")), "regressions");
    size_t i;
    json_t *reason;
    bool kinds[4] = {false, false, false, false}; /* field, status, assertion, database */
    json_array_foreach(json_object_get(verdict, "reasons"), i, reason) {
        const char *kind = json_string_value(json_object_get(reason, "kind"));
        const char *path = json_string_value(json_object_get(reason, "path"));
        kinds[0] |= strcmp(kind, "field") == 0;
        kinds[1] |= strcmp(kind, "status") == 0;
        kinds[2] |= strcmp(kind, "assertion") == 0;
        kinds[3] |= strcmp(kind, "database") == 0;
        /* Noise never decides the verdict. */
        cr_assert(!path || (!strstr(path, "request_id") && !strstr(path, "served_at")), "%s",
                  path);
        cr_assert_null(json_object_get(reason, "header"), "a header reason: %s",
                       json_string_value(json_object_get(reason, "header")));
    }
    cr_assert(kinds[0] && kinds[1] && kinds[2] && kinds[3]);
    json_t *context = json_object_get(report, "context");
    json_t *db = json_object_get(context, "database");
    cr_assert(json_is_true(json_object_get(db, "regression")), "R1 shows in the database");
    json_t *users = json_array_get(json_object_get(db, "tables"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(users, "table")), "users");
    cr_assert_gt(json_integer_value(json_object_get(users, "changed")), 0);
    json_decref(report);

    char *html = test_read_file(test_path(run, "report.html"), NULL);
    cr_assert_not_null(html);
    static const char *const shown[] = {"/user/name", "/order/amount", "/orders/*/id",
                                        "201", "rollback-restored", "id=1", "Mary Ann"};
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++)
        cr_assert(strstr(html, shown[k]), "report.html does not show %s", shown[k]);
    free(html);

    /* The run: migrated under load, contracted, and the rollback check. */
    json_t *j = load(run, "journal.json");
    cr_assert_str_eq(json_string_value(json_object_get(step_of(j, "expand"), "status")), "ok");
    cr_assert_str_eq(json_string_value(json_object_get(step_of(j, "contract"), "status")), "ok");
    cr_assert_str_eq(json_string_value(json_object_get(step_of(j, "rollback-restored"),
                                                       "status")),
                     "ok");
    cr_assert_str_eq(json_string_value(json_object_get(step_of(j, "compare"), "status")),
                     "failed");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "report"), "html")),
                     "report.html");
    json_decref(j);
    test_run_free(&res);
    test_run_free(&check);
}

/* A fault window's impact on one target (context timeline.faults[].impact). */
static json_t *impact_of(json_t *fault, const char *target)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(fault, "impact"), i, t)
        if (strcmp(json_string_value(json_object_get(t, "target")), target) == 0)
            return t;
    cr_assert_fail("no impact on target '%s'", target);
    return NULL;
}

Test(demo_run, the_cutover_under_faults_reports_each_window_and_what_each_target_did)
{
    struct run_result res;
    const char *run = run_dir_of("cutover");

    cr_assert_eq(test_rehearse(&res, 140, "run",
                               test_repo_path("scenarios/cutover-faults.json"), "-o", run, NULL),
                 0);
    cr_assert_eq(res.exit_code, 1, "%s%s", res.out, res.err);

    json_t *report = load(run, "report.json");
    json_t *timeline = json_object_get(json_object_get(report, "context"), "timeline");
    json_t *faults = json_object_get(timeline, "faults");
    cr_assert_eq(json_array_size(faults), 2);
    json_t *down = json_array_get(faults, 0), *slow = json_array_get(faults, 1);
    cr_assert_str_eq(json_string_value(json_object_get(down, "name")), "db-link-down");
    double window = json_number_value(json_object_get(down, "end_ms")) -
                    json_number_value(json_object_get(down, "start_ms"));
    cr_assert(window >= 2000 && window < 2600, "the window lasted %g ms", window);

    /* Only the new service, whose database sessions cross the link, failed;
     * and it came back once the link was up. */
    json_t *new_down = impact_of(down, "new");
    cr_assert_gt(json_integer_value(json_object_get(new_down, "requests")), 20);
    cr_assert_gt(json_integer_value(json_object_get(new_down, "failed")),
                 json_integer_value(json_object_get(new_down, "requests")) / 2);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(new_down, "errors"),
                                                    "http_5xx")),
                 0);
    cr_assert(json_is_true(json_object_get(new_down, "recovered")));
    for (const char *const *t = (const char *const[]){"old", "old2", NULL}; *t; t++) {
        cr_assert_eq(json_integer_value(json_object_get(impact_of(down, *t), "failed")), 0,
                     "%s failed during the window", *t);
        cr_assert_eq(json_integer_value(json_object_get(impact_of(slow, *t), "failed")), 0);
    }
    /* Latency on the link shows in new's latency only. */
    double slow_new = json_number_value(json_object_get(impact_of(slow, "new"), "p99_ms"));
    double slow_old = json_number_value(json_object_get(impact_of(slow, "old"), "p99_ms"));
    cr_assert_gt(slow_new, 100, "new's p99 during the latency window: %g ms", slow_new);
    cr_assert_lt(slow_old, 100);
    /* The series under the timeline: new's failures fall inside the window. */
    json_t *series = json_object_get(timeline, "series");
    cr_assert_eq(json_array_size(json_object_get(series, "targets")), 3);
    json_decref(report);

    char *html = test_read_file(test_path(run, "report.html"), NULL);
    cr_assert_not_null(html);
    cr_assert(strstr(html, "What each target did during each fault"));
    cr_assert(strstr(html, "Failed requests, % of those sent"));
    cr_assert(strstr(html, "class=\"fault\""), "fault windows are drawn");
    free(html);

    json_t *j = load(run, "journal.json");
    cr_assert_eq(json_integer_value(json_object_get(j, "seed")), 20260501);
    cr_assert_eq(json_array_size(json_object_get(j, "faults")), 2);
    json_decref(j);
    test_run_free(&res);
}
