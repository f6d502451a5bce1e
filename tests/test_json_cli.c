/*
 * The `rehearse json-diff` and `rehearse json-patch` commands, run as a user
 * runs them, and json-diff's patches checked by an independent RFC 6902
 * implementation (python3-jsonpatch, tests/jsonpatch_check.py).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conformance.h"
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

static const char *put(const char *name, const char *text)
{
    const char *path = test_path(dir, name);
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    return path;
}

TestSuite(json_cli, .init = setup, .fini = teardown, .timeout = 300);

Test(json_cli, equal_documents_print_an_empty_patch_and_exit_0)
{
    struct run_result r;
    const char *a = put("a.json", "{\"a\": [1, 2], \"n\": 1}");
    const char *b = put("b.json", "{\"n\": 1.0,\n \"a\": [1, 2]}\n");
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "[]\n");
    test_run_free(&r);
}

Test(json_cli, different_documents_print_the_patch_and_exit_1)
{
    struct run_result r;
    const char *a = put("a.json", "{\"list\": [1, 2, 3], \"s\": \"x\", \"gone\": true}");
    const char *b = put("b.json", "{\"list\": [1, 2, 3, 4], \"s\": \"y\"}");
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert_str_eq(r.out, "[\n"
                            "  {\"op\": \"add\", \"path\": \"/list/3\", \"value\": 4},\n"
                            "  {\"op\": \"replace\", \"path\": \"/s\", \"value\": \"y\"},\n"
                            "  {\"op\": \"remove\", \"path\": \"/gone\"}\n"
                            "]\n");
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--quiet", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 1);
    cr_assert_eq(r.out_len, 0);
    test_run_free(&r);
}

Test(json_cli, the_diff_applies_with_json_patch)
{
    struct run_result r;
    const char *a = put("a.json", "{\"users\": [{\"id\": 1, \"name\": \"a\"}], \"big\": 1.5e3}");
    const char *b = put("b.json", "{\"users\": [{\"id\": 0}, {\"id\": 1, \"name\": \"b\"}], "
                                  "\"big\": 1500}");
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 1);
    const char *patch = put("patch.json", r.out);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", a, patch, NULL), 0);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "{\"users\":[{\"id\":0},{\"id\":1,\"name\":\"b\"}],\"big\":1500.0}\n");
    test_run_free(&r);
}

Test(json_cli, invalid_json_is_located_and_exits_2)
{
    struct run_result r;
    const char *a = put("a.json", "{}");
    const char *b = put("b.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "rehearse json-diff: "), "%s", r.err);
    cr_assert(strstr(r.err, "b.json:3:8: invalid JSON: expected 'true' (byte offset 19)"), "%s",
              r.err);
    cr_assert_eq(r.out_len, 0);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", a, test_path(dir, "missing.json"), NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "cannot open"), "%s", r.err);
    test_run_free(&r);
}

Test(json_cli, limits_refuse_hostile_documents_with_the_option_to_raise)
{
    struct run_result r;
    char deep[2001];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    const char *a = put("deep.json", deep);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", a, a, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "deep.json:1:513: nested deeper than 512 levels: the depth limit; "
                            "raise it with --max-depth"), "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--max-depth", "1000", a, a, NULL), 0);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--max-nodes", "10", a, a, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "raise it with --max-nodes"), "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--max-size", "1k", a, a, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "larger than the size limit of 1024 bytes"), "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--max-depth", "99999", a, a, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "--max-depth: expected 1 to 4096"), "%s", r.err);
    test_run_free(&r);
}

Test(json_cli, rules_ignore_match_by_key_and_report_hits)
{
    struct run_result r;
    const char *rules = put("rules.json",
                            "{\n"
                            "  \"ignore\": [\"/**/updated_at\"],\n"
                            "  \"array_key\": {\"/items\": \"id\"},\n"
                            "  \"endpoints\": {\n"
                            "    \"GET /users/{id}\": {\"ignore\": [\"/etag\"]}\n"
                            "  }\n"
                            "}\n");
    const char *a = put("a.json", "{\"items\": [{\"id\": 1, \"updated_at\": 1}, {\"id\": 2}], "
                                  "\"etag\": \"x\"}");
    const char *b = put("b.json", "{\"items\": [{\"id\": 2}, {\"id\": 1, \"updated_at\": 2}], "
                                  "\"etag\": \"y\"}");
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--rules", rules, "--format", "diffs", a, b,
                               NULL), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert_str_eq(r.out,
                     "{\"kind\":\"changed\",\"path\":\"/etag\",\"field\":\"/etag\",\"a_path\":"
                     "\"/etag\",\"b_path\":\"/etag\",\"old\":\"x\",\"new\":\"y\"}\n"
                     "{\"summary\":{\"differences\":1,\"ignored\":1,\"truncated\":false,\"rules\":["
                     "{\"id\":0,\"rule\":\"ignore\",\"path\":\"/**/updated_at\",\"scope\":\"global\","
                     "\"line\":2,\"hits\":1},"
                     "{\"id\":1,\"rule\":\"array_key\",\"path\":\"/items\",\"scope\":\"global\","
                     "\"line\":3,\"hits\":1},"
                     "{\"id\":2,\"rule\":\"ignore\",\"path\":\"/etag\",\"scope\":"
                     "\"GET /users/{id}\",\"line\":5,\"hits\":0}]}}\n");
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--rules", rules, "--endpoint",
                               "GET /users/{id}", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 0, "the endpoint's rule hides the etag: %s", r.out);
    cr_assert_str_eq(r.out, "[]\n");
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--rules", rules, "--endpoint",
                               "GET /user/{id}", a, b, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "has no \"endpoints\" entry for it"), "%s", r.err);
    test_run_free(&r);
}

Test(json_cli, a_bad_rules_file_is_located)
{
    struct run_result r;
    const char *rules = put("rules.json", "{\n  \"ignore\": [\"/a\"],\n  \"ignroe\": []\n}\n");
    const char *a = put("a.json", "{}");
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--rules", rules, a, a, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "rules.json:3:3: unknown member \"ignroe\" in the rules file "
                            "(expected one of: version, templates,"), "%s", r.err);
    test_run_free(&r);
}

Test(json_cli, json_patch_prints_the_result_or_a_located_failure)
{
    struct run_result r;
    const char *doc = put("doc.json", "{\"a\": {\"b\": [1, 2]}, \"n\": 0.1, "
                                      "\"id\": 9007199254740993}");
    const char *ok = put("ok.json", "[{\"op\": \"test\", \"path\": \"/n\", \"value\": 0.1},\n"
                                    " {\"op\": \"add\", \"path\": \"/a/b/-\", \"value\": 3}]");
    const char *bad = put("bad.json", "[\n  {\"op\": \"add\", \"path\": \"/c\", \"value\": 1},\n"
                                      "  {\"op\": \"remove\", \"path\": \"/a/x\"}\n]\n");
    const char *test = put("test.json", "[{\"op\": \"test\", \"path\": \"/a/b/0\", \"value\": 2}]");
    const char *notpatch = put("np.json", "{\"op\": \"add\"}");

    cr_assert_eq(test_rehearse(&r, 30, "json-patch", doc, ok, NULL), 0);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "{\"a\":{\"b\":[1,2,3]},\"n\":0.1,\"id\":9007199254740993}\n");
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", "--pretty", doc, ok, NULL), 0);
    cr_assert_str_eq(r.out, "{\n  \"a\": {\n    \"b\": [\n      1,\n      2,\n      3\n    ]\n"
                            "  },\n  \"n\": 0.1,\n  \"id\": 9007199254740993\n}\n");
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", doc, bad, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "/bad.json:3:3: operation 1 (remove \"/a/x\"): no member \"x\" to "
                            "remove\n"), "%s", r.err);
    cr_assert_eq(r.out_len, 0, "nothing is printed when the patch fails");
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", doc, test, NULL), 0);
    cr_assert_eq(r.exit_code, 1, "a failed test operation is a finding");
    cr_assert(strstr(r.err, "test.json:1:2: operation 0 (test \"/a/b/0\"): the value is 1, the "
                            "test expects 2"), "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", doc, notpatch, NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "np.json: a JSON Patch must be an array of operations"), "%s", r.err);
    test_run_free(&r);
}

Test(json_cli, json_patch_warns_when_a_number_cannot_be_kept_exactly)
{
    struct run_result r;
    const char *doc = put("doc.json", "{\"ok\": 9223372036854775807, \"r\": 0.1,\n"
                                      " \"big\": 123456789012345678901, \"d\": 0.1000000000000000000001}");
    const char *patch = put("p.json", "[]");
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", doc, patch, NULL), 0);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "{\"ok\":9223372036854775807,\"r\":0.1,\"big\":1.2345678901234568e+20,"
                            "\"d\":0.1}\n");
    cr_assert(strstr(r.err, "warning: "), "%s", r.err);
    cr_assert(strstr(r.err, "doc.json:2:9: the number 123456789012345678901 does not fit a 64-bit "
                            "integer or a double exactly; it and 1 more print as the nearest double"),
              "%s", r.err);
    test_run_free(&r);
}

Test(json_cli, usage_errors_exit_2)
{
    struct run_result r;
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "only-one.json", NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    cr_assert(strstr(r.err, "expected two JSON files"), "%s", r.err);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-diff", "--format", "xml", "a", "b", NULL), 0);
    cr_assert_eq(r.exit_code, 2);
    test_run_free(&r);
    cr_assert_eq(test_rehearse(&r, 30, "json-patch", "--help", NULL), 0);
    cr_assert_eq(r.exit_code, 0);
    cr_assert(strstr(r.out, "usage: rehearse json-patch"), "%s", r.out);
    test_run_free(&r);
}

/* ----------------------------------------- independent RFC 6902 check */

static int run_checker(const char *rehearse, struct run_result *r)
{
    const char *suite = test_conformance_dir("json-patch-tests");
    cr_assert_not_null(suite, "the JSON Patch conformance suite is not at ../shared/conformance; "
                              "set REHEARSE_CONFORMANCE_DIR");
    char script[4096], pairs[4096];
    snprintf(script, sizeof script, "%s", test_repo_path("tests/jsonpatch_check.py"));
    snprintf(pairs, sizeof pairs, "%s", test_repo_path("tests/json/diff_pairs.jsonl"));
    char *argv[] = {"python3", script, (char *)rehearse, (char *)suite, pairs, "300", NULL};
    return test_run(r, argv, 240);
}

Test(json_cli, python_jsonpatch_agrees_with_every_patch_json_diff_makes)
{
    struct run_result r;
    cr_assert_eq(run_checker(test_rehearse_bin(), &r), 0);
    cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
    cr_assert(strstr(r.out, "checked 401 pairs (75 from the suite, 26 crafted, 300 random)"),
              "%s", r.out);
    cr_assert(strstr(r.out, " 0 failures"), "%s", r.out);
    test_run_free(&r);
}

Test(json_cli, the_python_check_catches_a_wrong_patch)
{
    /* A stand-in for rehearse that always claims "equal": the checker must
     * reject it, or the test above proves nothing. */
    struct run_result r;
    const char *fake = put("fake-rehearse", "#!/bin/sh\necho '[]'\nexit 0\n");
    chmod(fake, 0700);
    cr_assert_eq(run_checker(fake, &r), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.out);
    cr_assert(strstr(r.out, "FAIL"), "%s", r.out);
    test_run_free(&r);
}
