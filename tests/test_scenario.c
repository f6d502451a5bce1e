/* Reading scenarios: every problem located at file:line:column with its JSON
 * path, before anything starts; substitutions; metric names. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "scenario.h"
#include "subst.h"
#include "suggest.h"
#include "testutil.h"

TestSuite(scenario, .timeout = 60);

static size_t count_lines(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, prefix, plen) == 0)
            n++;
    return n;
}

/* tests/scenarios/bad/NAME.json must give exactly the located lines in
 * NAME.expected (regenerate with tests/scenarios/bad/regen.sh, review the
 * diff). */
Test(scenario, every_bad_scenario_gives_exactly_its_located_errors_and_starts_nothing)
{
    char dir[PATH_MAX];
    DIR *d;
    struct dirent *e;
    int cases = 0;

    cr_assert_not_null(realpath(test_repo_path("tests/scenarios/bad"), dir));
    cr_assert_not_null(d = opendir(dir));
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char json[PATH_MAX], expected_path[PATH_MAX], prefix[300];
        struct run_result res;

        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(json, sizeof json, "%s/%s", dir, e->d_name);
        snprintf(expected_path, sizeof expected_path, "%s/%.*s.expected", dir, (int)(len - 5),
                 e->d_name);
        char *expected = test_read_file(expected_path, NULL);
        cr_assert_not_null(expected, "%s has no .expected file", e->d_name);
        cr_assert_eq(test_rehearse(&res, 30, "run", "--check", json, NULL), 0);
        cr_assert_eq(res.exit_code, 2, "%s: exit %d\n%s", e->d_name, res.exit_code, res.err);
        cr_assert(strstr(res.err, "nothing was started"), "%s", res.err);

        size_t lines = 0;
        for (char *line = strtok(expected, "\n"); line; line = strtok(NULL, "\n")) {
            char *want = NULL;
            const char *at = strstr(line, "@DIR@");
            if (at)
                cr_assert(asprintf(&want, "rehearse run: %.*s%s%s", (int)(at - line), line, dir,
                                   at + 5) > 0);
            else
                cr_assert(asprintf(&want, "rehearse run: %s\n", line) > 0);
            cr_expect(strstr(res.err, want), "%s: missing\n  %s\nin\n%s", e->d_name, want,
                      res.err);
            free(want);
            lines++;
        }
        snprintf(prefix, sizeof prefix, "rehearse run: %s:", e->d_name);
        cr_expect_eq(count_lines(res.err, prefix), lines, "%s: expected %zu problems:\n%s",
                     e->d_name, lines, res.err);
        free(expected);
        test_run_free(&res);
        cases++;
    }
    closedir(d);
    cr_assert_geq(cases, 12, "only %d bad scenarios found", cases);
}

Test(scenario, the_documented_example_error_is_located_exactly)
{
    struct run_result res;
    const char *path = test_repo_path("tests/scenarios/bad/lock_timeout_not_a_duration.json");
    cr_assert_eq(test_rehearse(&res, 30, "run", path, NULL), 0);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "lock_timeout_not_a_duration.json:14:25: "
                              "steps[3].sql.lock_timeout: expected a duration such as \"500ms\""),
              "%s", res.err);
    cr_assert(strstr(res.err, "found true"), "%s", res.err);
    test_run_free(&res);
}

Test(scenario, a_valid_scenario_passes_the_check)
{
    char *dir = test_tmpdir();
    const char *path = test_path(dir, "ok.json");
    const char *text =
        "{\"version\": 1, \"name\": \"ok\",\n"
        " \"databases\": [{\"name\": \"app\", \"embedded\": true, \"clones\": [\"a\", \"b\"]}],\n"
        " \"services\": [{\"name\": \"svc\", \"argv\": [\"/bin/sleep\", \"60\"],\n"
        "   \"env\": {\"DB\": \"${db.a.conninfo}\", \"PEER\": \"${service.svc.url}\",\n"
        "           \"P\": \"$${port} is literal, ${port} is not\", \"H\": \"${env.HOME}\"},\n"
        "   \"health\": {\"path\": \"/health\", \"status\": 204, \"timeout\": \"2s\"},\n"
        "   \"stop_signal\": \"INT\", \"stop_timeout\": \"1.5s\"}],\n"
        " \"steps\": [{\"name\": \"s\", \"start\": \"svc\"},\n"
        "   {\"name\": \"m\", \"description\": \"the migration\", \"sql\": {\"database\": \"b\",\n"
        "    \"query\": \"SELECT 1\", \"statement_timeout\": \"1m\", \"expect_error\": false}},\n"
        "   {\"name\": \"p\", \"parallel\": [{\"name\": \"p1\", \"sleep\": \"1ms\"},\n"
        "     {\"name\": \"p2\", \"at\": \"250us\", \"sleep\": \"1ms\"}]},\n"
        "   {\"name\": \"a\", \"on_failure\": \"stop\", \"assert\": [\n"
        "     {\"metric\": \"sql.m.duration_ms\", \"max\": 1000},\n"
        "     {\"metric\": \"sleep.p2.duration_ms\", \"min\": 0}]}],\n"
        " \"always\": [{\"name\": \"z\", \"stop\": \"svc\"}]}\n";
    struct run_result res;

    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    cr_assert_eq(test_rehearse(&res, 30, "run", "--check", path, NULL), 0);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.out, "ok (4 steps, 1 always steps, 1 services, 3 databases)"), "%s",
              res.out);
    test_run_free(&res);

    /* The same through the library: clones are databases of their own. */
    struct scenario *s;
    struct scenario_diagnostics diags;
    struct error err;
    error_init(&err);
    cr_assert_eq(scenario_load(&s, path, &diags, &err), 0, "%s", err.message);
    cr_assert_eq(s->database_count, 3);
    cr_assert_eq(s->databases[2].clone_of, 0);
    cr_assert_eq(s->services[0].health.status, 204);
    cr_assert_eq(s->services[0].stop_timeout_us, 1500000);
    cr_assert_str_eq(s->steps[1]->description, "the migration");
    cr_assert_eq(s->steps[3]->on_failure, STEP_STOP_RUN); /* asserts continue by default */
    scenario_free(s);
    test_tmpdir_remove(dir);
}

static int fake_db(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "app") == 0 ? 0 : -1;
}

static int fake_service(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "old") == 0 ? 3 : -1;
}

static int fake_value(void *ctx, const struct subst_part *part, struct buf *out,
                      struct error *err)
{
    (void)ctx;
    (void)err;
    switch (part->kind) {
    case SUBST_DB: return buf_printf(out, "db%d.%d", part->index, part->field);
    case SUBST_SERVICE: return buf_printf(out, "svc%d.%d", part->index, part->field);
    case SUBST_PORT: return buf_append_str(out, "4242");
    default: return buf_append_str(out, "?");
    }
}

static char *expand(const char *text, unsigned allow, struct error *err)
{
    struct subst_names names = {fake_db, fake_service, NULL, NULL, NULL, NULL};
    struct subst_values values = {fake_value, NULL};
    struct subst *s;
    struct buf b;
    size_t where;

    if (subst_parse(&s, text, allow, &names, &where, err))
        return NULL;
    buf_init(&b, 4096);
    cr_assert_eq(subst_expand(s, &values, &b, err), 0);
    subst_free(s);
    return buf_take(&b, NULL);
}

Test(scenario, substitutions_expand_references_and_keep_literal_dollars)
{
    struct error err;
    char *out;

    error_init(&err);
    setenv("REHEARSE_TEST_SUBST", "value", 1);
    unsetenv("REHEARSE_TEST_UNSET");
    out = expand("a=${db.app.port} b=${service.old.url} c=${port} $$ $HOME ${env.REHEARSE_TEST_SUBST}"
                 " ${env.REHEARSE_TEST_UNSET:-fallback} $",
                 SUBST_ALLOW_ALL, &err);
    cr_assert_not_null(out, "%s", err.message);
    cr_assert_str_eq(out, "a=db0.2 b=svc3.0 c=4242 $ $HOME value fallback $");
    free(out);

    cr_assert_null(expand("${port}", SUBST_ALLOW_ALL & ~SUBST_ALLOW_PORT, &err));
    cr_assert(strstr(err.message, "${service.NAME.port}"), "%s", err.message);
    cr_assert_null(expand("x ${db.app", SUBST_ALLOW_ALL, &err));
    cr_assert(strstr(err.message, "not closed"), "%s", err.message);
    cr_assert_null(expand("${db.nope.conninfo}", SUBST_ALLOW_ALL, &err));
    cr_assert(strstr(err.message, "unknown database \"nope\""), "%s", err.message);
    cr_assert_null(expand("${nonsense}", SUBST_ALLOW_ALL, &err));
    cr_assert(strstr(err.message, "unknown substitution ${nonsense}"), "%s", err.message);
}

Test(scenario, near_misses_are_suggested_and_far_ones_are_not)
{
    static const char *const keys[] = {"database", "lock_timeout", "statement_timeout", NULL};
    cr_assert_str_eq(suggest_nearest("lock_timout", keys), "lock_timeout");
    cr_assert_str_eq(suggest_nearest("databse", keys), "database");
    cr_assert_str_eq(suggest_nearest("Database", keys), "database");
    cr_assert_null(suggest_nearest("color", keys));
    cr_assert_eq(suggest_distance("ab", "ba", 5), 1);
}

Test(scenario, metric_patterns_match_one_component_per_star)
{
    cr_assert(metrics_name_matches("sql.expand.duration_ms", "sql.expand.duration_ms"));
    cr_assert(metrics_name_matches("replay.base.*.error_rate", "replay.base.new.error_rate"));
    cr_assert_not(metrics_name_matches("replay.base.*.error_rate", "replay.base.error_rate"));
    cr_assert_not(metrics_name_matches("replay.base.*.error_rate", "replay.base.a.b.error_rate"));
    cr_assert_not(metrics_name_matches("sql.expand.duration_ms", "sql.expand.duration_ms.x"));
}

Test(scenario, json_pointers_escape_keys_with_slashes)
{
    char out[128];
    scenario_pointer(out, sizeof out, "/services/0/env", "A/B~C");
    cr_assert_str_eq(out, "/services/0/env/A~1B~0C");
}
