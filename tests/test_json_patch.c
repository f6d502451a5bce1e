/* RFC 6902 JSON Patch (reports/json_patch.h), with the shared conformance
 * suite json-patch-tests (tests.json and spec_tests.json). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"
#include "json_patch.h"

static json_t *J(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(v, "test JSON: %s: %s", text, jerr.text);
    return v;
}

struct suite_counts {
    int records, disabled, expected_ok, errors_ok;
};

/* Run every record of one suite file; fail with the record's comment. */
static void run_suite(const char *file, struct suite_counts *n)
{
    const char *dir = test_conformance_dir("json-patch-tests");
    char path[4096];
    json_error_t jerr;
    json_t *cases, *rec;
    size_t i;

    cr_assert_not_null(dir, "the JSON Patch conformance suite is not at ../shared/conformance "
                            "from the repository (or above); set REHEARSE_CONFORMANCE_DIR");
    snprintf(path, sizeof path, "%s/%s", dir, file);
    /* Default flags: some disabled records repeat a key, which jansson
     * accepts (the last one wins). */
    cases = json_load_file(path, 0, &jerr);
    cr_assert_not_null(cases, "%s: %s", path, jerr.text);
    json_array_foreach(cases, i, rec) {
        const char *comment = json_string_value(json_object_get(rec, "comment"));
        json_t *doc, *expected = json_object_get(rec, "expected");
        struct jpatch_status st;
        struct error err;
        int rc;

        if (!json_object_get(rec, "doc"))
            continue; /* a comment-only record */
        n->records++;
        if (json_is_true(json_object_get(rec, "disabled"))) {
            n->disabled++;
            continue;
        }
        doc = json_deep_copy(json_object_get(rec, "doc"));
        error_init(&err);
        rc = jpatch_apply(&doc, json_object_get(rec, "patch"), &st, &err);
        if (expected) {
            cr_assert_eq(rc, 0, "%s #%zu (%s): %s", file, i, comment ? comment : "", err.message);
            cr_assert(jpatch_equal(doc, expected), "%s #%zu (%s): wrong result", file, i,
                      comment ? comment : "");
            n->expected_ok++;
        } else {
            json_t *before = json_object_get(rec, "doc");
            cr_assert_eq(rc, ERR_INPUT, "%s #%zu (%s): expected the error \"%s\"", file, i,
                         comment ? comment : "",
                         json_string_value(json_object_get(rec, "error")));
            cr_assert_neq(st.failure, JPATCH_OK);
            cr_assert(err.message[0]);
            cr_assert(jpatch_equal(doc, before), "%s #%zu: a failed patch changed the document",
                      file, i);
            n->errors_ok++;
        }
        json_decref(doc);
    }
    json_decref(cases);
}

Test(jpatch_conformance, passes_every_enabled_case_of_the_suite)
{
    struct suite_counts n = {0, 0, 0, 0};
    run_suite("tests.json", &n);
    run_suite("spec_tests.json", &n);
    /* The suite's own numbers (anchors.md): 108 usable records, 4 disabled,
     * 74 with an expected document, 34 expecting an error. */
    cr_assert_eq(n.records - n.disabled, 108, "usable records: %d", n.records - n.disabled);
    cr_assert_eq(n.disabled, 4);
    cr_assert_eq(n.expected_ok, 74);
    cr_assert_eq(n.errors_ok, 34);
}

Test(jpatch, is_atomic_when_a_later_operation_fails)
{
    json_t *doc = J("{\"a\":1,\"list\":[1,2]}");
    json_t *patch = J("[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
                      "{\"op\":\"remove\",\"path\":\"/list/0\"},"
                      "{\"op\":\"replace\",\"path\":\"/missing\",\"value\":3}]");
    json_t *orig = J("{\"a\":1,\"list\":[1,2]}");
    struct jpatch_status st;
    struct error err;

    error_init(&err);
    cr_assert_eq(jpatch_apply(&doc, patch, &st, &err), ERR_INPUT);
    cr_assert_eq(st.op, 2);
    cr_assert_eq(st.failure, JPATCH_CONFLICT);
    cr_assert(jpatch_equal(doc, orig), "the document must be unchanged");
    cr_assert_str_eq(err.message, "operation 2 (replace \"/missing\"): the value to replace "
                                  "does not exist: no member \"missing\" in the object at the "
                                  "root");
    json_decref(doc);
    json_decref(patch);
    json_decref(orig);
}

Test(jpatch, says_which_operation_failed_and_why)
{
    struct {
        const char *doc, *patch, *message;
        enum jpatch_failure failure;
    } cases[] = {
        {"{}", "{\"op\":\"add\"}", "a JSON Patch must be an array of operations, found an object",
         JPATCH_INVALID},
        {"{}", "[1]", "operation 0: expected an operation object, found a number", JPATCH_INVALID},
        {"{}", "[{\"path\":\"/a\"}]", "operation 0: no \"op\" member", JPATCH_INVALID},
        {"{}", "[{\"op\":\"test\",\"path\":\"\",\"value\":{}},{\"op\":\"spam\",\"path\":\"/a\"}]",
         "operation 1: unknown op \"spam\"", JPATCH_INVALID},
        {"{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
         "operation 0 (move \"/a/b\"): cannot move a value into one of its own children",
         JPATCH_INVALID},
        {"[1,2]", "[{\"op\":\"add\",\"path\":\"/5\",\"value\":0}]",
         "operation 0 (add \"/5\"): index 5 is beyond the end of the array of 2 elements",
         JPATCH_CONFLICT},
        {"{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":0}]",
         "operation 0 (add \"/a/b\"): cannot add a member to a string", JPATCH_CONFLICT},
        {"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]",
         "operation 0 (remove \"\"): cannot remove the whole document", JPATCH_CONFLICT},
        {"{\"a\":[1,2]}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":[1,3]}]",
         "operation 0 (test \"/a\"): the value is [1,2], the test expects [1,3]",
         JPATCH_TEST_FAILED},
        {"{}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
         "operation 0 (test \"/a\"): the value to test does not exist", JPATCH_TEST_FAILED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *doc = J(cases[i].doc), *patch = J(cases[i].patch);
        struct jpatch_status st;
        struct error err;
        error_init(&err);
        cr_assert_eq(jpatch_apply(&doc, patch, &st, &err), ERR_INPUT, "case %zu", i);
        cr_assert(strstr(err.message, cases[i].message), "case %zu: %s", i, err.message);
        cr_assert_eq(st.failure, cases[i].failure, "case %zu: %s", i,
                     jpatch_failure_name(st.failure));
        json_decref(doc);
        json_decref(patch);
    }
}

Test(jpatch, test_compares_numbers_by_value_and_objects_without_order)
{
    json_t *doc = J("{\"n\":1,\"r\":2.5,\"o\":{\"a\":1,\"b\":[1.0,{\"c\":null}]},\"big\":"
                    "9007199254740993}");
    json_t *ok = J("[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0},"
                   "{\"op\":\"test\",\"path\":\"/r\",\"value\":2.5},"
                   "{\"op\":\"test\",\"path\":\"/o\",\"value\":{\"b\":[1,{\"c\":null}],\"a\":1}},"
                   "{\"op\":\"test\",\"path\":\"/big\",\"value\":9007199254740993}]");
    json_t *near = J("[{\"op\":\"test\",\"path\":\"/big\",\"value\":9007199254740992.0}]");
    json_t *type = J("[{\"op\":\"test\",\"path\":\"/n\",\"value\":true}]");
    struct error err;

    error_init(&err);
    cr_assert_eq(jpatch_apply(&doc, ok, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(jpatch_apply(&doc, near, NULL, &err), ERR_INPUT,
                 "2^53+1 is not the double 2^53, though converting it would say so");
    cr_assert_eq(jpatch_apply(&doc, type, NULL, &err), ERR_INPUT);
    json_t *s1 = J("\"a\\u0000b\""), *s2 = J("\"a\\u0000c\"");
    cr_assert_not(jpatch_equal(s1, s2), "strings compare beyond a NUL");
    json_decref(s1);
    json_decref(s2);
    json_decref(doc);
    json_decref(ok);
    json_decref(near);
    json_decref(type);
}

Test(jpatch, copies_values_so_later_operations_do_not_alias)
{
    json_t *doc = J("{\"a\":{\"x\":[1]}}");
    json_t *patch = J("[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},"
                      "{\"op\":\"add\",\"path\":\"/b/x/-\",\"value\":2},"
                      "{\"op\":\"move\",\"from\":\"/a/x\",\"path\":\"/c\"},"
                      "{\"op\":\"add\",\"path\":\"/d\",\"value\":{\"e\":1}}]");
    json_t *want = J("{\"a\":{},\"b\":{\"x\":[1,2]},\"c\":[1],\"d\":{\"e\":1}}");
    struct error err;

    error_init(&err);
    cr_assert_eq(jpatch_apply(&doc, patch, NULL, &err), 0, "%s", err.message);
    cr_assert(jpatch_equal(doc, want));
    /* Changing the document must not change the patch's value. */
    json_object_set_new(json_object_get(doc, "d"), "e", json_integer(5));
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(json_array_get(patch, 3), "value"), "e")), 1);
    json_decref(doc);
    json_decref(patch);
    json_decref(want);
}
