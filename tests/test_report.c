/*
 * The report library (reports/report.h) as the scenario runner uses it:
 * a DIFF.json loaded from memory, the run's context handed over as a
 * jansson tree, the verdict made from both, each format rendered into a
 * buffer.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "report.h"
#include "testutil.h"

static struct report *load(const char *fixture)
{
    struct report *r;
    struct error err;
    size_t len;
    char rel[256];

    snprintf(rel, sizeof rel, "fixtures/reports/%s", fixture);
    char *text = test_read_file(test_repo_path(rel), &len);
    cr_assert_not_null(text);
    error_init(&err);
    cr_assert_eq(report_new(&r, &err), 0);
    cr_assert_eq(report_load_diff_text(r, text, len, fixture, NULL, &err), 0, "%s", err.message);
    free(text);
    return r;
}

static char *render(struct report *r, enum report_format f)
{
    struct buf out;
    struct error err;

    buf_init(&out, (size_t)64 << 20);
    error_init(&err);
    cr_assert_eq(report_render(r, f, &out, &err), 0, "%s", err.message);
    return buf_take(&out, NULL);
}

Test(report, a_passing_diff_passes)
{
    struct report *r = load("pass.diff.json");
    cr_assert_str_eq(report_result(r), "pass");
    cr_assert_eq(report_exit_code(r), 0);
    cr_assert_str_eq(report_summary(r), "no regression in 1 endpoint");
    cr_assert_eq(report_warning_count(r), 0);
    report_free(r);
}

Test(report, the_runner_context_as_a_jansson_tree_can_fail_the_verdict)
{
    struct report *r = load("pass.diff.json");
    struct error err;
    json_t *ctx = json_pack(
        "{s:s, s:i, s:{s:[{s:s, s:s, s:s, s:f, s:f}]}, s:{s:[{s:s, s:f, s:f, s:b}]},"
        " s:{s:b, s:s}}",
        "format", "rehearse-report-context", "version", 1,
        "timeline", "steps", "name", "expand", "kind", "sql", "status", "ok", "start_ms", 1.0,
        "end_ms", 20.5,
        "assertions", "checks", "metric", "sql.expand.rows", "value", 10.0, "min", 1000.0,
        "passed", 0,
        "database", "regression", 1, "summary", "users.name differs in 19 rows");

    error_init(&err);
    cr_assert_eq(report_set_context(r, ctx, &err), 0, "%s", err.message);
    json_decref(ctx);
    cr_assert_str_eq(report_result(r), "regressions");
    cr_assert_eq(report_exit_code(r), 1);
    cr_assert_str_eq(report_summary(r), "no regression in 1 endpoint; 1 assertion failed; the "
                                        "database differs (1 finding)");
    char *json = render(r, REPORT_JSON);
    cr_assert_not_null(strstr(json, "\"kind\": \"assertion\""));
    cr_assert_not_null(strstr(json, "\"rule\": \"10 < min 1000\""));
    cr_assert_not_null(strstr(json, "\"rule\": \"users.name differs in 19 rows\""));
    cr_assert_not_null(strstr(json, "\"timeline\": {"));
    free(json);
    char *html = render(r, REPORT_HTML);
    cr_assert_not_null(strstr(html, "<section id=\"timeline\">"));
    cr_assert_not_null(strstr(html, "<section id=\"assertions\">"));
    cr_assert_not_null(strstr(html, "<section id=\"database\">"));
    free(html);
    report_free(r);
}

Test(report, a_context_that_passes_leaves_the_verdict_alone)
{
    struct report *r = load("pass.diff.json");
    struct error err;
    const char *ctx = "{\"format\": \"rehearse-report-context\", \"version\": 1, "
                      "\"assertions\": {\"checks\": [{\"metric\": \"m\", \"value\": 1, "
                      "\"max\": 2, \"passed\": true}]}, "
                      "\"database\": {\"regression\": false, \"tables\": [{\"table\": \"t\"}]}}";
    error_init(&err);
    cr_assert_eq(report_load_context_text(r, ctx, strlen(ctx), "ctx", &err), 0, "%s",
                 err.message);
    cr_assert_eq(report_exit_code(r), 0);
    report_free(r);
}

Test(report, a_bad_context_is_refused_and_the_report_keeps_working)
{
    struct report *r = load("demo.diff.json");
    struct error err;
    json_t *ctx = json_pack("{s:s, s:i, s:{s:[{s:s}]}}", "format", "rehearse-report-context",
                            "version", 1, "assertions", "checks", "metric", "m");

    error_init(&err);
    cr_assert_eq(report_set_context(r, ctx, &err), ERR_INPUT);
    cr_assert_not_null(strstr(err.message, "assertions.checks[0]: missing required member "
                                           "\"passed\""), "%s", err.message);
    json_decref(ctx);
    cr_assert_str_eq(report_result(r), "regressions");
    char *md = render(r, REPORT_MARKDOWN);
    cr_assert_null(strstr(md, "Assertions"));
    free(md);
    report_free(r);
}

Test(report, every_format_renders_and_names_its_file)
{
    static const enum report_format formats[] = {REPORT_JSON, REPORT_HTML, REPORT_JUNIT,
                                                 REPORT_MARKDOWN};
    static const char *const names[] = {"report.json", "report.html", "junit.xml", "summary.md"};
    struct report *r = load("demo.diff.json");

    for (size_t i = 0; i < 4; i++) {
        char *text = render(r, formats[i]);
        cr_assert_gt(strlen(text), 500);
        cr_assert_str_eq(report_file_name(formats[i]), names[i]);
        free(text);
    }
    report_free(r);
}

Test(report, the_html_policy_hashes_match_the_inline_script_and_style)
{
    struct report *r = load("demo.diff.json");
    char *html = render(r, REPORT_HTML);
    char *csp = strstr(html, "Content-Security-Policy\" content=\"");
    cr_assert_not_null(csp);
    cr_assert_not_null(strstr(csp, "default-src 'none'; script-src 'sha256-"));
    cr_assert_not_null(strstr(csp, "base-uri 'none'; form-action 'none'"));
    cr_assert_null(strstr(html, "unsafe-inline"));
    cr_assert_null(strstr(html, "style=\""), "no style attributes: the policy forbids them");
    cr_assert_null(strstr(html, " src="), "nothing to load");
    /* exactly one executable script and one style element */
    size_t scripts = 0;
    for (char *p = strstr(html, "<script"); p; p = strstr(p + 1, "<script"))
        scripts++;
    cr_assert_eq(scripts, 2); /* the inert data block and the script */
    cr_assert_not_null(strstr(html, "<script type=\"application/json\" id=\"report-data\">"));
    free(html);
    report_free(r);
}

Test(report, nothing_renders_before_a_diff_is_loaded)
{
    struct report *r;
    struct error err;
    struct buf out;

    error_init(&err);
    cr_assert_eq(report_new(&r, &err), 0);
    buf_init(&out, 1024);
    cr_assert_eq(report_render(r, REPORT_JSON, &out, &err), ERR_STATE);
    buf_release(&out);
    report_free(r);
    report_free(NULL);
}
