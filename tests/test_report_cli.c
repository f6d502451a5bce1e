/*
 * `rehearse report DIFF.json -o DIR`, run as a user runs it: golden
 * report.json, junit.xml and summary.md (tests/reports/golden, remade by
 * tests/reports/regen-golden.sh), junit.xml read by real parsers (xmllint
 * against tests/reports/junit.xsd, python3's xml.etree), summary.md rendered
 * by GitHub's Markdown implementation (cmark-gfm), exit codes, located
 * errors for bad input, atomic writes, and the size caps on a large input.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char *dir;

static void setup(void)
{
    dir = test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(report_cli, .init = setup, .fini = teardown, .timeout = 300);

static char *fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/reports/%s", name);
    return strdup(test_repo_path(rel));
}

static char *read_or_fail(const char *path, size_t *len)
{
    char *text = test_read_file(path, len);
    cr_assert_not_null(text, "cannot read %s", path);
    return text;
}

/* Run `rehearse report ARGS... -o OUT`; returns the exit code. */
static int report(struct run_result *r, const char *out, const char *diff, const char *context)
{
    if (context)
        cr_assert_eq(test_rehearse(r, 120, "report", diff, "--context", context, "-o", out,
                                   NULL), 0);
    else
        cr_assert_eq(test_rehearse(r, 120, "report", diff, "-o", out, NULL), 0);
    return r->exit_code;
}

Test(report_cli, golden_files_match_for_every_case)
{
    char *cases = read_or_fail(test_repo_path("tests/reports/golden/CASES"), NULL);
    char *save = NULL;
    int n = 0;

    for (char *line = strtok_r(cases, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64], diff[128], context[128], out[512];
        int want;
        struct run_result r;
        static const char *const files[] = {"report.json", "junit.xml", "summary.md"};

        if (line[0] == '#' || sscanf(line, "%63s %127s %127s %d", name, diff, context, &want) != 4)
            continue;
        char *d = fixture(diff), *c = strcmp(context, "-") ? fixture(context) : NULL;
        snprintf(out, sizeof out, "%s/%s", dir, name);
        cr_assert_eq(report(&r, out, d, c), want, "%s: exit %d: %s", name, r.exit_code, r.err);
        for (size_t i = 0; i < 3; i++) {
            char golden[256], got_path[600];
            size_t glen, len;
            snprintf(golden, sizeof golden, "tests/reports/golden/%s/%s", name, files[i]);
            snprintf(got_path, sizeof got_path, "%s/%s", out, files[i]);
            char *want_text = read_or_fail(test_repo_path(golden), &glen);
            char *got = read_or_fail(got_path, &len);
            cr_expect(glen == len && memcmp(want_text, got, len) == 0,
                      "%s differs from %s; if the change is intended, run "
                      "tests/reports/regen-golden.sh and review the diff", got_path, golden);
            free(want_text);
            free(got);
        }
        test_run_free(&r);
        free(d);
        free(c);
        n++;
    }
    cr_assert_geq(n, 4);
    free(cases);
}

Test(report_cli, the_same_input_gives_the_same_bytes_in_every_file)
{
    static const char *const files[] = {"report.json", "report.html", "junit.xml", "summary.md"};
    char *d = fixture("demo.diff.json"), *c = fixture("demo.context.json");
    char a[512], b[512];
    struct run_result r;

    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    cr_assert_eq(report(&r, a, d, c), 1);
    test_run_free(&r);
    cr_assert_eq(report(&r, b, d, c), 1);
    test_run_free(&r);
    for (size_t i = 0; i < 4; i++) {
        char pa[600], pb[600];
        size_t la, lb;
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        char *x = read_or_fail(pa, &la), *y = read_or_fail(pb, &lb);
        cr_expect(la == lb && memcmp(x, y, la) == 0, "%s differs between two runs", files[i]);
        free(x);
        free(y);
    }
    free(d);
    free(c);
}

Test(report_cli, the_exit_code_is_the_verdicts_and_stdout_says_what_was_written)
{
    struct run_result r;
    char *p = fixture("pass.diff.json"), *n = fixture("nodata.diff.json");
    char out[512];

    snprintf(out, sizeof out, "%s/pass", dir);
    cr_assert_eq(report(&r, out, p, NULL), 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "pass: no regression in 1 endpoint"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "/report.html\n"));
    test_run_free(&r);
    snprintf(out, sizeof out, "%s/nodata", dir);
    cr_assert_eq(report(&r, out, n, NULL), 1, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "no_data: "));
    test_run_free(&r);
    free(p);
    free(n);
}

Test(report_cli, a_failed_assertion_in_the_context_fails_a_passing_diff)
{
    struct run_result r;
    char *p = fixture("pass.diff.json");
    const char *ctx = test_path(dir, "ctx.json");
    const char *text = "{\"format\": \"rehearse-report-context\", \"version\": 1,\n"
                       " \"assertions\": {\"checks\": [\n"
                       "  {\"step\": \"budgets\", \"metric\": \"sql.expand.lock_wait_ms\", "
                       "\"value\": 812, \"max\": 500, \"passed\": false}]}}\n";
    char out[512], path[600];

    cr_assert_eq(test_write_file(ctx, text, strlen(text)), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(report(&r, out, p, ctx), 1, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "regressions: no regression in 1 endpoint; 1 assertion "
                                     "failed"), "%s", r.out);
    snprintf(path, sizeof path, "%s/report.json", out);
    json_t *doc = json_load_file(path, 0, NULL);
    cr_assert_not_null(doc);
    json_t *reason = json_array_get(json_object_get(json_object_get(doc, "verdict"), "reasons"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(reason, "kind")), "assertion");
    cr_assert_str_eq(json_string_value(json_object_get(reason, "rule")), "812 > max 500");
    cr_assert_str_eq(json_string_value(json_object_get(reason, "metric")),
                     "sql.expand.lock_wait_ms");
    json_decref(doc);
    test_run_free(&r);
    free(p);
}

Test(report_cli, junit_xml_passes_the_schema_and_a_real_parser)
{
    static const char *const cases[][2] = {{"demo.diff.json", "demo.context.json"},
                                           {"xss.diff.json", "xss.context.json"},
                                           {"nodata.diff.json", NULL}};
    for (size_t i = 0; i < 3; i++) {
        struct run_result r;
        char out[512], junit[600];
        char *d = fixture(cases[i][0]), *c = cases[i][1] ? fixture(cases[i][1]) : NULL;
        snprintf(out, sizeof out, "%s/%zu", dir, i);
        snprintf(junit, sizeof junit, "%s/junit.xml", out);
        report(&r, out, d, c);
        test_run_free(&r);

        char *xmllint[] = {"xmllint", "--noout", "--schema",
                           (char *)test_repo_path("tests/reports/junit.xsd"), junit, NULL};
        cr_assert_eq(test_run(&r, xmllint, 60), 0);
        cr_assert_eq(r.exit_code, 0, "%s: %s", cases[i][0], r.err);
        test_run_free(&r);

        char *check[] = {"python3", (char *)test_repo_path("tests/reports/junit_check.py"),
                         junit, NULL};
        cr_assert_eq(test_run(&r, check, 60), 0);
        cr_assert_eq(r.exit_code, 0, "%s: %s", cases[i][0], r.err);
        json_t *summary = json_loads(r.out, 0, NULL);
        cr_assert_not_null(summary);
        json_t *suites = json_object_get(summary, "suites");
        if (i == 0) {
            json_t *name = json_object_get(json_object_get(suites, "GET /users/{id}"),
                                           "body /user/name");
            cr_assert_str_eq(json_string_value(json_object_get(name, "outcome")), "failure");
            cr_assert_not_null(strstr(json_string_value(json_object_get(name, "text")),
                                      "\"Mary Ann van der Berg\" \xE2\x86\x92 \"Mary Ann\""));
            json_t *lock = json_object_get(json_object_get(suites, "assertions"),
                                           "budgets: sql.expand.lock_wait_ms");
            cr_assert_str_eq(json_string_value(json_object_get(lock, "outcome")), "failure");
            json_t *users = json_object_get(json_object_get(suites, "database"), "table users");
            cr_assert_str_eq(json_string_value(json_object_get(users, "outcome")), "failure");
        } else if (i == 2) {
            json_t *compared = json_object_get(json_object_get(suites, "GET /health"),
                                               "compared");
            cr_assert_str_eq(json_string_value(json_object_get(compared, "outcome")), "error");
        } else {
            /* hostile names: controls made visible, nothing lost to the parser */
            cr_assert_not_null(json_object_get(suites, "GET /nul\xE2\x90\x80" "byte and bell"
                                                       "\xE2\x90\x87 and esc\xE2\x90\x9B[31mred"));
        }
        json_decref(summary);
        test_run_free(&r);
        free(d);
        free(c);
    }
}

Test(report_cli, the_schema_rejects_repeated_test_names)
{
    /* the schema check can fail: a junit.xml that breaks GitLab's rule */
    const char *bad = test_path(dir, "bad.xml");
    const char *text = "<?xml version=\"1.0\"?>\n<testsuites tests=\"2\" failures=\"0\" "
                       "errors=\"0\"><testsuite name=\"s\" tests=\"2\" failures=\"0\" "
                       "errors=\"0\"><testcase classname=\"s\" name=\"x\"/><testcase "
                       "classname=\"s\" name=\"x\"/></testsuite></testsuites>\n";
    struct run_result r;

    cr_assert_eq(test_write_file(bad, text, strlen(text)), 0);
    char *xmllint[] = {"xmllint", "--noout", "--schema",
                       (char *)test_repo_path("tests/reports/junit.xsd"), (char *)bad, NULL};
    cr_assert_eq(test_run(&r, xmllint, 60), 0);
    cr_assert_neq(r.exit_code, 0);
    cr_assert_not_null(strstr(r.err, "Duplicate key-sequence"), "%s", r.err);
    test_run_free(&r);
    char *check[] = {"python3", (char *)test_repo_path("tests/reports/junit_check.py"),
                     (char *)bad, NULL};
    cr_assert_eq(test_run(&r, check, 60), 0);
    cr_assert_eq(r.exit_code, 1);
    test_run_free(&r);
}

/* Render summary.md of `diff` with GitHub's own Markdown implementation
 * (cmark-gfm and its extensions) and check that no input became markup. */
static void check_markdown(const char *diff, const char *must_show)
{
    struct run_result r;
    char out[512], md[600];
    struct stat st;

    snprintf(out, sizeof out, "%s/md", dir);
    snprintf(md, sizeof md, "%s/summary.md", out);
    cr_assert_eq(test_rehearse(&r, 60, "report", diff, "-o", out, "--format", "markdown", "-q",
                               NULL), 0);
    cr_assert_lt(r.exit_code, 2, "%s: %s", diff, r.err);
    test_run_free(&r);
    cr_assert_eq(stat(md, &st), 0);
    cr_assert_lt(st.st_size, 60000);
    char *cmark[] = {"cmark-gfm", "-e", "table", "-e", "autolink", "-e", "tagfilter", "-e",
                     "strikethrough", md, NULL};
    cr_assert_eq(test_run(&r, cmark, 60), 0);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_null(strstr(r.out, "<a "), "%s: a link was made:\n%s", diff, r.out);
    cr_assert_null(strstr(r.out, "<img"), "%s: an image was made:\n%s", diff, r.out);
    cr_assert_null(strstr(r.out, "<script"), "%s", diff);
    cr_assert_null(strstr(r.out, "<iframe"), "%s", diff);
    cr_assert_null(strstr(r.out, "<b>"), "%s", diff);
    /* tables hold our numbers only: no code span (no input) inside one */
    for (char *t = strstr(r.out, "<table"); t; t = strstr(t + 1, "<table")) {
        char *end = strstr(t, "</table>");
        cr_assert_not_null(end);
        char *code = strstr(t, "<code>");
        cr_assert(!code || code > end, "%s: captured data must not sit in a table", diff);
    }
    if (must_show)
        cr_assert_not_null(strstr(r.out, must_show), "%s: expected %s in:\n%s", diff, must_show,
                           r.out);
    /* nothing outside code spans came from the input: without the code spans
     * no payload is left */
    char *text = strdup(r.out), *p;
    while ((p = strstr(text, "<code>")) != NULL) {
        char *end = strstr(p, "</code>");
        cr_assert_not_null(end);
        memmove(p, end + 7, strlen(end + 7) + 1);
    }
    cr_assert_null(strstr(text, "xss"), "%s: input outside code spans:\n%s", diff, text);
    cr_assert_null(strstr(text, "@everyone"), "%s: %s", diff, text);
    cr_assert_null(strstr(text, "127.0.0.1"), "%s: %s", diff, text);
    free(text);
    test_run_free(&r);
}

Test(report_cli, summary_md_renders_without_links_html_or_mentions)
{
    char *d = fixture("xss.diff.json");
    check_markdown(d, "<code>GET /&lt;script&gt;window.__xss=1&lt;/script&gt;</code>");
    free(d);
    /* one small DIFF.json per payload, where each is shown */
    for (int i = 0; i < 100; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fuzz/corpus/report/payload-%02d.diff.json", i);
        const char *path = test_repo_path(rel);
        if (access(path, F_OK) != 0) {
            cr_assert_gt(i, 20, "the payload seeds are missing");
            break;
        }
        check_markdown(path, i == 24 ? "candidate <code>@everyone [link](http://127.0.0.1:9/md)"
                                     : NULL);
    }
}

/* ---- bad input: every problem located, exit 2 ---- */

struct bad_case {
    const char *what;
    const char *text;
    const char *message; /* a substring of stderr */
};

static void expect_bad(const struct bad_case *c)
{
    struct run_result r;
    const char *in = test_path(dir, "in.json");
    char out[512];

    cr_assert_eq(test_write_file(in, c->text, strlen(c->text)), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(test_rehearse(&r, 60, "report", in, "-o", out, NULL), 0);
    cr_assert_eq(r.exit_code, 2, "%s: exit %d: %s", c->what, r.exit_code, r.err);
    cr_assert_not_null(strstr(r.err, c->message), "%s: expected \"%s\" in:\n%s", c->what,
                       c->message, r.err);
    cr_assert_eq(access(out, F_OK), -1, "%s: nothing is written for bad input", c->what);
    test_run_free(&r);
}

/* The demo DIFF.json with `from` replaced by `to` (once). */
static char *demo_with(const char *from, const char *to)
{
    size_t len;
    char *text = read_or_fail(test_repo_path("fixtures/reports/demo.diff.json"), &len);
    char *at = strstr(text, from);
    cr_assert_not_null(at, "the fixture has no \"%s\"", from);
    char *out = malloc(len + strlen(to) + 1);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out + head, at + strlen(from));
    free(text);
    return out;
}

Test(report_cli, input_that_is_not_json_is_located)
{
    struct bad_case c = {"not JSON", "{\"format\": \"rehearse-diff\",\n \"version\": 1,,\n}",
                         ":2:15: invalid JSON"};
    expect_bad(&c);
}

Test(report_cli, another_kind_of_file_is_refused_with_what_was_expected)
{
    struct bad_case a = {"an array", "[1, 2]", "expected a DIFF.json written by 'rehearse diff'"};
    struct bad_case b = {"a journal", "{\"format\": \"rehearse-journal\", \"version\": 1}",
                         "in.json:1:12: format: this is not a DIFF.json written by 'rehearse "
                         "diff' (docs/diff-format.md): expected \"format\": \"rehearse-diff\""};
    expect_bad(&a);
    expect_bad(&b);
}

Test(report_cli, a_newer_version_asks_for_an_upgrade)
{
    char *text = demo_with("\"version\": 1,", "\"version\": 2,");
    struct bad_case c = {"version 2", text, "in.json:3:13: version: version 2 is newer than "
                                            "this rehearse knows; this rehearse reads version 1 "
                                            "(upgrade rehearse to report on this file)"};
    expect_bad(&c);
    free(text);
}

Test(report_cli, a_missing_required_field_names_its_json_path_and_line)
{
    char *text = demo_with("\"noise\": 0,\n    \"remaining\": 49", "\"noise\": 0");
    /* where the object of the first endpoint's "body" starts */
    char *body = strstr(strstr(text, "\"endpoints\""), "\"body\": {") + 8;
    int line = 1, column = 1;
    for (char *p = text; p < body; p++) {
        column = *p == '\n' ? 1 : column + 1;
        line += *p == '\n';
    }
    char message[256];
    snprintf(message, sizeof message, "in.json:%d:%d: endpoints[0].body: missing required "
             "member \"remaining\"", line, column);
    struct bad_case c = {"missing body.remaining", text, message};
    expect_bad(&c);
    free(text);
}

Test(report_cli, a_field_of_the_wrong_type_says_what_was_found)
{
    char *text = demo_with("\"requests\": 49,", "\"requests\": \"49\",");
    struct bad_case c = {"requests as a string", text,
                         "endpoints[0].requests: expected a count (an integer >= 0), found a "
                         "string (\"49\")"};
    expect_bad(&c);
    free(text);
    text = demo_with("\"regression\": true,", "\"regression\": \"yes\",");
    struct bad_case d = {"regression as a string", text,
                         "endpoints[0].regression: expected true or false, found a string"};
    expect_bad(&d);
    free(text);
    text = demo_with("\"risk\": \"high\",\n   \"regression\"", "\"risk\": \"severe\",\n   "
                                                           "\"regression\"");
    struct bad_case e = {"unknown risk", text,
                         "endpoints[0].risk: expected a risk (one of \"high\", \"medium\", "
                         "\"low\", \"none\"), found a string (\"severe\")"};
    expect_bad(&e);
    free(text);
}

Test(report_cli, a_verdict_whose_exit_code_contradicts_its_result_is_refused)
{
    char *text = demo_with("\"exit_code\": 1", "\"exit_code\": 0");
    struct bad_case c = {"exit code", text,
                         "verdict.exit_code: exit code 0 does not match the result "
                         "\"regressions\" (expected 1)"};
    expect_bad(&c);
    free(text);
}

Test(report_cli, a_bad_context_is_located_in_the_context_file)
{
    struct run_result r;
    char *d = fixture("demo.diff.json");
    const char *ctx = test_path(dir, "ctx.json");
    const char *text = "{\"format\": \"rehearse-report-context\", \"version\": 1,\n"
                       " \"timeline\": {\"steps\": [{\"name\": \"a\", \"status\": \"ok\"}]}}\n";
    char out[512];

    cr_assert_eq(test_write_file(ctx, text, strlen(text)), 0);
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(report(&r, out, d, ctx), 2);
    cr_assert_not_null(strstr(r.err, "ctx.json:2:25: timeline.steps[0]: missing required "
                                     "member \"start_ms\""), "%s", r.err);
    test_run_free(&r);
    free(d);
}

Test(report_cli, usage_errors_exit_2)
{
    struct run_result r;
    char *d = fixture("demo.diff.json");

    cr_assert_eq(test_rehearse(&r, 30, "report", d, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert_not_null(strstr(r.err, "expected -o DIR"));
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "report", d, "-o", dir, "--format", "pdf", NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert_not_null(strstr(r.err, "unknown format 'pdf'"));
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "report", test_path(dir, "missing.json"), "-o", dir,
                               NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert_not_null(strstr(r.err, "cannot open"), "%s", r.err);
    test_run_free(&r);
    free(d);
}

Test(report_cli, format_writes_only_what_is_asked_for)
{
    struct run_result r;
    char *d = fixture("demo.diff.json");
    char out[512];

    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(test_rehearse(&r, 60, "report", d, "-o", out, "--format", "junit,markdown",
                               "-q", NULL), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert_str_eq(r.out, "");
    cr_assert_eq(access(test_path(out, "junit.xml"), F_OK), 0);
    cr_assert_eq(access(test_path(out, "summary.md"), F_OK), 0);
    cr_assert_eq(access(test_path(out, "report.json"), F_OK), -1);
    cr_assert_eq(access(test_path(out, "report.html"), F_OK), -1);
    test_run_free(&r);
    free(d);
}

Test(report_cli, bytes_that_are_not_utf8_are_replaced_with_a_warning)
{
    struct run_result r;
    char *d = fixture("xss.diff.json");
    char out[512];
    size_t len;

    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(report(&r, out, d, NULL), 1, "%s", r.err);
    cr_assert_not_null(strstr(r.err, "warning: "), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "bytes that are not UTF-8 were replaced by U+FFFD"));
    char *json = read_or_fail(test_path(out, "report.json"), &len);
    cr_assert_not_null(strstr(json, "bad\xEF\xBF\xBD\xEF\xBF\xBD utf8"));
    free(json);
    test_run_free(&r);
    free(d);
}

Test(report_cli, write_failures_exit_3_and_name_the_file)
{
    struct run_result r;
    char *d = fixture("demo.diff.json");
    char out[512];

    /* a directory that cannot be made: a component is a file */
    const char *file = test_path(dir, "file");
    cr_assert_eq(test_write_file(file, "x", 1), 0);
    snprintf(out, sizeof out, "%s/file/sub", dir);
    cr_assert_eq(report(&r, out, d, NULL), 3);
    cr_assert_not_null(strstr(r.err, "cannot create directory"), "%s", r.err);
    test_run_free(&r);

    /* report.html cannot replace a directory: the rename fails, the file
     * written before it is complete, nothing half-written is left */
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(mkdir(out, 0755), 0);
    cr_assert_eq(mkdir(test_path(out, "report.html"), 0755), 0);
    cr_assert_eq(mkdir(test_path(test_path(out, "report.html"), "x"), 0755), 0);
    cr_assert_eq(report(&r, out, d, NULL), 3);
    cr_assert_not_null(strstr(r.err, "report.html"), "%s", r.err);
    cr_assert_eq(access(test_path(out, "report.json"), F_OK), 0);
    test_run_free(&r);
    free(d);
}

Test(report_cli, no_partial_files_are_left_after_success)
{
    struct run_result r;
    char *d = fixture("demo.diff.json");
    char out[512];
    static const char *const partials[] = {"report.json.partial", "report.html.partial",
                                           "junit.xml.partial", "summary.md.partial"};

    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(report(&r, out, d, NULL), 1);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(access(test_path(out, partials[i]), F_OK), -1, "%s left", partials[i]);
    test_run_free(&r);
    free(d);
}

/* ---- caps: a DIFF.json as large as its own caps allow ---- */

static void big_string(FILE *f, size_t n, char c)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++)
        fputc(c, f);
    fputc('"', f);
}

/* 1000 endpoints x 200 fields, 5 examples each (the DIFF.json defaults), the
 * first 40 endpoints with four 64 KB bodies per example; a million
 * transactions counted. */
static void write_big_diff(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"format\":\"rehearse-diff\",\"version\":1,\"inputs\":{\"base\":\"old\","
               "\"candidate\":\"new\",\"noise\":\"old2\"},\"thresholds\":{},"
               "\"verdict\":{\"result\":\"regressions\",\"exit_code\":1,\"summary\":\"many\","
               "\"reasons\":[");
    for (int e = 0; e < 1000; e++)
        fprintf(f, "%s{\"kind\":\"field\",\"endpoint\":\"GET /e%d/{id}\",\"path\":\"/f0\","
                   "\"rule\":\"remaining 50%% > absolute 0.03%%\",\"risk\":\"high\"}",
                e ? "," : "", e);
    fprintf(f, "]},\"totals\":{\"transactions\":1000000,\"compared\":999000,"
               "\"skipped\":{\"base_error\":1000}},\"targets\":{\"old\":{\"requests\":1000000,"
               "\"latency_us\":{\"p50\":900,\"p99\":8000}},\"new\":{\"requests\":1000000}},"
               "\"endpoints\":[");
    for (int e = 0; e < 1000; e++) {
        fprintf(f, "%s{\"endpoint\":\"GET /e%d/{id}\",\"requests\":1000,\"compared\":999,"
                   "\"regression\":true,\"risk\":\"high\",\"body\":{\"raw\":500,\"noise\":10,"
                   "\"remaining\":490},\"latency_us\":{\"old\":{\"p50\":900,\"p95\":3000,"
                   "\"p99\":8000},\"new\":{\"p50\":950,\"p95\":3100,\"p99\":9000}},\"fields\":[",
                e ? "," : "", e);
        for (int k = 0; k < 200; k++)
            fprintf(f, "%s{\"path\":\"/items/*/field_with_a_longer_name_%d\",\"kind\":\"changed\","
                       "\"raw\":500,\"noise\":10,\"remaining\":490,\"regression\":%s,"
                       "\"risk\":\"medium\",\"examples\":[%d,%d,%d]}",
                    k ? "," : "", k, k < 100 ? "true" : "false", e * 10, e * 10 + 1, e * 10 + 2);
        fprintf(f, "],\"examples\":[");
        for (int x = 0; x < 5; x++) {
            size_t body = e < 40 ? 65536 : 512;
            fprintf(f, "%s{\"tx\":%d,\"method\":\"GET\",\"target\":\"/e%d/%d\",\"paths\":[\"/a\"],"
                       "\"patch\":[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2}]",
                    x ? "," : "", e * 10 + x, e, x);
            static const char *const roles[] = {"base", "candidate", "noise", "captured"};
            for (int k = 0; k < 4; k++) {
                fprintf(f, ",\"%s\":{\"status\":200,\"headers\":[[\"Content-Type\",\"text/plain\"]],"
                           "\"body_encoding\":\"text\",\"body\":", roles[k]);
                big_string(f, body, (char)('a' + k));
                fputc('}', f);
            }
            fputc('}', f);
        }
        fprintf(f, "]}");
    }
    fprintf(f, "]}\n");
    cr_assert_eq(fclose(f), 0);
}

Test(report_cli, a_report_of_a_million_transactions_stays_small)
{
    struct run_result r;
    char *in = strdup(test_path(dir, "big.json")); /* test_path's buffer rotates */
    char out[512];
    struct stat st;
    size_t len;

    write_big_diff(in);
    snprintf(out, sizeof out, "%s/out", dir);
    cr_assert_eq(test_rehearse(&r, 240, "report", in, "-o", out, NULL), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(stat(test_path(out, "report.html"), &st), 0);
    cr_assert_lt(st.st_size, 10 * 1000 * 1000, "report.html is %lld bytes", (long long)st.st_size);
    cr_assert_gt(st.st_size, 1000 * 1000);
    cr_assert_eq(stat(test_path(out, "junit.xml"), &st), 0);
    cr_assert_lt(st.st_size, 20 * 1000 * 1000, "junit.xml is %lld bytes", (long long)st.st_size);
    cr_assert_eq(stat(test_path(out, "summary.md"), &st), 0);
    cr_assert_lt(st.st_size, 60 * 1000);
    cr_assert_eq(stat(test_path(out, "report.json"), &st), 0);
    cr_assert_lt(st.st_size, 40 * 1000 * 1000);
    for (size_t i = 0; i < 4; i++) {
        static const char *const files[] = {"report.json", "report.html", "junit.xml",
                                            "summary.md"};
        cr_assert_eq(stat(test_path(out, files[i]), &st), 0);
        cr_log_info("%s: %lld bytes", files[i], (long long)st.st_size);
    }
    cr_assert_eq(stat(in, &st), 0);
    cr_log_info("from a DIFF.json of %lld bytes", (long long)st.st_size);
    /* what a cap left out is said, not hidden */
    char *html = read_or_fail(test_path(out, "report.html"), &len);
    cr_assert_not_null(strstr(html, "more fields of this endpoint are in report.json"));
    char *omitted = strstr(html, "\"omitted\":");
    cr_assert_not_null(omitted);
    cr_assert_gt(atoi(omitted + 10), 0, "some examples must have been left out");
    free(html);
    char *md = read_or_fail(test_path(out, "summary.md"), &len);
    cr_assert_not_null(strstr(md, "more in report.html"));
    free(md);
    free(in);
}
