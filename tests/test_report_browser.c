/*
 * report.html opened in a real browser: headless Chromium (Debian's
 * `chromium`), driven over its DevTools protocol by
 * tests/reports/browser_check.py.
 *
 * The hostile report carries the payloads of tests/reports/xss-payloads.json
 * in endpoint paths, header names and values, JSON keys and values, rule
 * patterns, target names, step names...  Those that could run script try to
 * set window.__xss; those that could load something point at a listener on
 * 127.0.0.1 that the driver runs.  The page must: run no payload, request
 * nothing but itself, log no error (a CSP violation is logged), show every
 * payload as text, draw the examples, and sort its endpoint table.
 * Screenshots go to $BUILD/report-screenshots/ for a person to look at.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

TestSuite(report_browser, .init = setup, .fini = teardown, .timeout = 180);

/* A port nothing listens on right now; the driver will. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Copy a fixture, pointing its payloads at 127.0.0.1:port. */
static const char *with_port(const char *fixture, const char *name, int port)
{
    size_t len;
    char *text = test_read_file(test_repo_path(fixture), &len);
    char to[32], *out, *p, *o;
    const char *from = "127.0.0.1:9/";

    cr_assert_not_null(text);
    snprintf(to, sizeof to, "127.0.0.1:%d/", port);
    out = malloc(len * 2 + 1);
    for (p = text, o = out; *p;) {
        if (strncmp(p, from, strlen(from)) == 0) {
            o = stpcpy(o, to);
            p += strlen(from);
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    const char *path = test_path(dir, name);
    cr_assert_eq(test_write_file(path, out, (size_t)(o - out)), 0);
    free(text);
    free(out);
    return strdup(path);
}

static const char *shots_dir(void)
{
    static char path[1024];
    const char *build = getenv("BUILD");
    snprintf(path, sizeof path, "%s/report-screenshots",
             test_repo_path(build && *build ? build : "build"));
    mkdir(path, 0755);
    return path;
}

/* Things every report page must satisfy. */
static void expect_inert(json_t *page, const char *what)
{
    json_t *checks = json_object_get(page, "checks"), *requests = json_object_get(page, "requests");
    const char *url = json_string_value(json_object_get(page, "url"));
    size_t i;
    json_t *v;

    cr_assert_null(json_object_get(page, "error"), "%s: the page broke the driver: %s", what,
                   json_string_value(json_object_get(page, "error")));
    cr_assert_str_eq(json_string_value(json_object_get(checks, "ready")), "1",
                     "%s: the page's script did not finish", what);
    cr_assert(json_is_null(json_object_get(checks, "marker")),
              "%s: a payload ran: window.__xss = %s", what,
              json_string_value(json_object_get(checks, "marker")));
    cr_assert_eq(json_array_size(requests), 1, "%s: the page requested more than itself", what);
    cr_assert_str_eq(json_string_value(json_array_get(requests, 0)), url);
    json_array_foreach(json_object_get(page, "console"), i, v)
        cr_assert_fail("%s: console %s: %s", what,
                       json_string_value(json_object_get(v, "type")),
                       json_string_value(json_object_get(v, "text")));
    json_array_foreach(json_object_get(page, "exceptions"), i, v)
        cr_assert_fail("%s: exception: %s", what, json_string_value(v));
    json_array_foreach(json_object_get(page, "log"), i, v)
        cr_assert_fail("%s: log %s (%s): %s", what, json_string_value(json_object_get(v, "level")),
                       json_string_value(json_object_get(v, "source")),
                       json_string_value(json_object_get(v, "text")));
    cr_assert_eq(json_integer_value(json_object_get(checks, "scripts")), 2,
                 "%s: only our data block and our script", what);
    cr_assert_eq(json_integer_value(json_object_get(checks, "styles")), 1, "%s", what);
    cr_assert_eq(json_integer_value(json_object_get(checks, "forbidden")), 0,
                 "%s: an element that loads or embeds something exists", what);
    cr_assert_eq(json_integer_value(json_object_get(checks, "svg_scripts")), 0, "%s", what);
    cr_assert_eq(json_array_size(json_object_get(checks, "event_attributes")), 0,
                 "%s: an event handler or javascript: URL attribute exists", what);
    cr_assert_eq(json_array_size(json_object_get(checks, "external_links")), 0,
                 "%s: a link leaves the page", what);
    cr_assert_gt(json_integer_value(json_object_get(checks, "findings")), 0, "%s", what);
    cr_assert_eq(json_integer_value(json_object_get(checks, "findings_drawn")),
                 json_integer_value(json_object_get(checks, "findings")),
                 "%s: every example is drawn", what);
}

static bool is_png(const char *path)
{
    size_t len;
    char *data = test_read_file(path, &len);
    bool ok = data && len > 1000 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
    free(data);
    return ok;
}

Test(report_browser, hostile_reports_stay_inert_and_readable_in_chromium)
{
    int port = free_port();
    const char *xss = with_port("fixtures/reports/xss.diff.json", "xss.diff.json", port);
    const char *xss_ctx = with_port("fixtures/reports/xss.context.json", "xss.context.json", port);
    char *demo = strdup(test_repo_path("fixtures/reports/demo.diff.json"));
    char *demo_ctx = strdup(test_repo_path("fixtures/reports/demo.context.json"));
    char out_xss[512], out_demo[512], html_xss[600], html_demo[600], result[600];
    char shot_demo[1100], shot_xss[1100], port_text[16];
    struct run_result r;

    snprintf(out_xss, sizeof out_xss, "%s/xss", dir);
    snprintf(out_demo, sizeof out_demo, "%s/demo", dir);
    cr_assert_eq(test_rehearse(&r, 60, "report", xss, "--context", xss_ctx, "-o", out_xss, "-q",
                               NULL), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 60, "report", demo, "--context", demo_ctx, "-o", out_demo,
                               "-q", NULL), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    test_run_free(&r);

    snprintf(html_xss, sizeof html_xss, "%s/report.html", out_xss);
    snprintf(html_demo, sizeof html_demo, "%s/report.html", out_demo);
    snprintf(result, sizeof result, "%s/browser.json", dir);
    snprintf(shot_demo, sizeof shot_demo, "%s/demo", shots_dir());
    snprintf(shot_xss, sizeof shot_xss, "%s/hostile", shots_dir());
    snprintf(port_text, sizeof port_text, "%d", port);
    char *argv[] = {"python3", (char *)test_repo_path("tests/reports/browser_check.py"),
                    html_demo, "--shot", shot_demo, "--full",
                    html_xss, "--shot", shot_xss,
                    "--listener-port", port_text, "--out", result, NULL};
    cr_assert_eq(test_run(&r, argv, 150), 0);
    cr_assert_eq(r.exit_code, 0, "the browser driver failed (%d): %s", r.exit_code, r.err);
    test_run_free(&r);

    json_error_t jerr;
    json_t *res = json_load_file(result, 0, &jerr);
    cr_assert_not_null(res, "%s", jerr.text);
    json_t *pages = json_object_get(res, "pages");
    cr_assert_eq(json_array_size(pages), 2);
    cr_assert_eq(json_array_size(json_object_get(res, "listener_hits")), 0,
                 "something connected to the payloads' address: %s",
                 json_string_value(json_array_get(json_object_get(res, "listener_hits"), 0)));

    /* the demo report: inert too, and its table sorts */
    json_t *page = json_array_get(pages, 0);
    expect_inert(page, "demo");
    json_t *sort = json_object_get(page, "sort");
    json_t *desc = json_object_get(sort, "by_second_first_click");
    json_t *asc = json_object_get(sort, "by_second_second_click");
    json_t *names = json_object_get(sort, "by_first");
    cr_assert_eq(json_array_size(desc), 9);
    for (size_t i = 1; i < json_array_size(desc); i++) {
        cr_assert_geq(json_number_value(json_array_get(desc, i - 1)),
                      json_number_value(json_array_get(desc, i)), "requests sort descending");
        cr_assert_leq(json_number_value(json_array_get(asc, i - 1)),
                      json_number_value(json_array_get(asc, i)), "then ascending");
        cr_assert_leq(strcmp(json_string_value(json_array_get(names, i - 1)),
                             json_string_value(json_array_get(names, i))), 0,
                      "endpoints sort by name");
    }
    cr_assert_str_eq(json_string_value(json_object_get(sort, "aria_first")), "descending");
    cr_assert_str_eq(json_string_value(json_object_get(sort, "aria_second")), "ascending");
    json_t *checks = json_object_get(page, "checks");
    cr_assert_gt(json_integer_value(json_object_get(checks, "highlighted_lines")), 0,
                 "differing paths are highlighted in the bodies");
    const char *text = json_string_value(json_object_get(checks, "text"));
    cr_assert_not_null(strstr(text, "REGRESSIONS"));
    cr_assert_not_null(strstr(text, "\"Mary Ann van der Berg\""), "bodies are shown");
    cr_assert_not_null(strstr(text, "{\"op\":\"replace\",\"path\":\"/user/name\",\"value\":\"Mary Ann\"}"),
                       "the JSON Patch is shown");

    /* the hostile report */
    page = json_array_get(pages, 1);
    expect_inert(page, "hostile");
    checks = json_object_get(page, "checks");
    text = json_string_value(json_object_get(checks, "text"));
    cr_assert_gt(json_integer_value(json_object_get(checks, "visible_controls")), 0);
    cr_assert_null(strstr(text, "\xE2\x80\xAE"), "a raw RIGHT-TO-LEFT OVERRIDE reached the page");
    cr_assert_not_null(strstr(text, "admin[U+202E]gnp.exe"), "bidi controls are shown");
    cr_assert_not_null(strstr(text, "nul\xE2\x90\x80" "byte"), "NUL is shown");
    cr_assert_not_null(strstr(text, "bad\xEF\xBF\xBD\xEF\xBF\xBD utf8"), "invalid UTF-8 replaced");
    cr_assert_not_null(strstr(text, "AAAAAAAAAA"), "very long strings are shown, cut");
    cr_assert_null(strstr(json_string_value(json_object_get(checks, "title")), "<"));

    /* every payload without hidden characters appears as text */
    json_t *payloads = json_load_file(test_repo_path("tests/reports/xss-payloads.json"),
                                      JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(payloads, "%s", jerr.text);
    size_t i;
    json_t *v;
    json_array_foreach(payloads, i, v) {
        char want[512], *o = want;
        const char *p = json_string_value(v);
        bool plain = true;
        for (const unsigned char *c = (const unsigned char *)p; *c; c++)
            plain = plain && *c >= 0x20 && *c < 0x7f;
        if (!plain)
            continue;
        for (; *p && o < want + sizeof want - 8; p++) {
            if (strncmp(p, "PORT", 4) == 0) {
                o += sprintf(o, "%d", port);
                p += 3;
            } else {
                *o++ = *p;
            }
        }
        *o = '\0';
        cr_assert_not_null(strstr(text, want), "payload %zu is not shown as text: %s", i, want);
    }
    json_decref(payloads);
    json_decref(res);

    snprintf(result, sizeof result, "%s.png", shot_demo);
    cr_assert(is_png(result), "no screenshot at %s", result);
    snprintf(result, sizeof result, "%s-full.png", shot_demo);
    cr_assert(is_png(result), "no screenshot at %s", result);
    snprintf(result, sizeof result, "%s.png", shot_xss);
    cr_assert(is_png(result), "no screenshot at %s", result);
    free((char *)xss);
    free((char *)xss_ctx);
    free(demo);
    free(demo_ctx);
}
