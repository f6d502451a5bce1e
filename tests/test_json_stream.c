/* Walking one large JSON document value by value, with located errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "json_stream.h"
#include "testutil.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(json_stream, .init = setup, .fini = teardown, .timeout = 30);

static struct json_stream *open_text(const char *text, size_t len, size_t max_value)
{
    struct json_stream *s;
    struct error err;
    const char *path = test_path(dir, "doc.json");
    test_write_file(path, text, len);
    error_init(&err);
    cr_assert_eq(json_stream_open(&s, path, max_value, &err), 0, "%s", err.message);
    return s;
}

Test(json_stream, walks_an_array_of_values_larger_than_the_read_window)
{
    /* Values straddle the 256 KiB read chunks; numbers sit at chunk ends. */
    size_t n = 40, big = 100000, len = 0, cap = n * (big + 64) + 64;
    char *doc = malloc(cap);
    struct error err;
    bool first = true;
    json_t *v;
    int rc;

    len += (size_t)sprintf(doc + len, "\xEF\xBB\xBF [");
    for (size_t i = 0; i < n; i++) {
        if (i)
            doc[len++] = ',';
        if (i % 2) {
            len += (size_t)sprintf(doc + len, "%zu", 1234567890123 + i);
        } else {
            len += (size_t)sprintf(doc + len, "{\"i\":%zu,\"s\":\"", i);
            memset(doc + len, 'a' + (int)(i % 26), big);
            len += big;
            len += (size_t)sprintf(doc + len, "\"}");
        }
    }
    len += (size_t)sprintf(doc + len, "]\n");
    struct json_stream *s = open_text(doc, len, 0);
    error_init(&err);
    cr_assert_eq(json_stream_enter(s, '[', "list", &err), 0, "%s", err.message);
    for (size_t i = 0; (rc = json_stream_next(s, ']', &first, "list", &err)) > 0; i++) {
        cr_assert_eq(json_stream_value(s, &v, &err), 0, "%s", err.message);
        if (i % 2) {
            cr_assert_eq(json_integer_value(v), (json_int_t)(1234567890123 + i));
        } else {
            cr_assert_eq(json_integer_value(json_object_get(v, "i")), (json_int_t)i);
            cr_assert_eq(json_string_length(json_object_get(v, "s")), big);
        }
        json_decref(v);
    }
    cr_assert_eq(rc, 0, "%s", err.message);
    cr_assert_eq(json_stream_end(s, &err), 0, "%s", err.message);
    json_stream_close(s);
    free(doc);
}

static void expect_error(const char *doc, int code, const char *needle)
{
    struct json_stream *s = open_text(doc, strlen(doc), 64);
    struct error err;
    const char *key;
    bool first = true;
    json_t *v;
    int rc;

    error_init(&err);
    rc = json_stream_enter(s, '{', "doc", &err);
    while (!rc && (rc = json_stream_next(s, '}', &first, "doc", &err)) > 0) {
        if ((rc = json_stream_key(s, &key, &err)))
            break;
        if (!(rc = json_stream_value(s, &v, &err)))
            json_decref(v);
    }
    if (!rc)
        rc = json_stream_end(s, &err);
    cr_assert_eq(rc, code, "'%s': got %d (%s)", doc, rc, err.message);
    cr_assert(strstr(err.message, needle), "'%s' lacks '%s'", err.message, needle);
    json_stream_close(s);
}

Test(json_stream, errors_name_file_line_column_and_offset)
{
    /* jansson locates a bad token at its last character */
    expect_error("{\"a\": 1,\n \"b\": tru }", ERR_INPUT, "doc.json:2:9: invalid JSON");
    expect_error("{\"a\": 1\n \"b\": 2}", ERR_INPUT, "doc.json:2:2: doc: expected ',' or '}', "
                                                   "found a string (byte offset 9)");
    expect_error("{\"a\": 1,}", ERR_INPUT, "doc: expected a value after ','");
    expect_error("{\"a\" 1}", ERR_INPUT, "expected ':' after \"a\"");
    expect_error("{1: 2}", ERR_INPUT, "doc.json:1:2: expected an object member name");
    expect_error("[1]", ERR_INPUT, "doc.json:1:1: doc: expected an object, found an array");
    expect_error("{\"a\": [1, 2", ERR_EOF, "doc.json:1:");
    expect_error("{\"a\": 1} {", ERR_INPUT, "doc.json:1:10: found '{' after the end");
    expect_error("{\"a\": \"\xc3\xa9\xc3\xa9\" x}", ERR_INPUT, "doc.json:1:12:");
}

Test(json_stream, a_value_over_the_limit_is_refused_not_loaded)
{
    char doc[512];
    memset(doc, ' ', sizeof doc);
    memcpy(doc, "{\"a\": \"", 7);
    memset(doc + 7, 'x', 400);
    memcpy(doc + 407, "\"}", 3);
    expect_error(doc, ERR_TOOBIG, "larger than the limit of 64 bytes");
}
