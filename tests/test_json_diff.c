/*
 * The JSON engine under the response diff: the parser (reports/jdoc.h) and
 * the structural diff with its rules (reports/json_diff.h).  Every patch the
 * diff makes is applied with our RFC 6902 implementation and must give B;
 * tests/test_json_cli.c checks the same patches with python3-jsonpatch.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "jdoc.h"
#include "json_diff.h"
#include "json_patch.h"
#include "testutil.h"

/* ------------------------------------------------------------- helpers */

static void parse(struct jdoc *d, const char *text)
{
    struct error err;
    error_init(&err);
    cr_assert_eq(jdoc_parse(d, text, strlen(text), "t.json", NULL, &err), 0, "%.80s: %s", text,
                 err.message);
}

/* Parse text that must fail; returns the message. */
static const char *parse_error(const char *text, size_t len, const struct jdoc_limits *lim,
                               int code)
{
    static struct error err;
    struct jdoc d;
    jdoc_init(&d);
    error_init(&err);
    cr_assert_eq(jdoc_parse(&d, text, len, "bad.json", lim, &err), code,
                 "expected code %d for %.60s: %s", code, text, err.message);
    cr_assert_eq(d.count, 0);
    jdoc_release(&d);
    return err.message;
}

/* Apply the diff's patch to A (as jansson) with our json_patch: must give B. */
static void assert_patch_gives_b(const struct jdiff_result *r, const char *what)
{
    json_t *patch, *a, *b;
    struct error err;

    error_init(&err);
    cr_assert_eq(jdiff_patch(r, &patch, &err), 0, "%s: %s", what, err.message);
    cr_assert_eq(jdoc_to_jansson(r->a, 0, &a, &err), 0);
    cr_assert_eq(jdoc_to_jansson(r->b, 0, &b, &err), 0);
    cr_assert_eq(jpatch_apply(&a, patch, NULL, &err), 0, "%s: the patch does not apply: %s",
                 what, err.message);
    cr_assert(jpatch_equal(a, b), "%s: the patched document is not B", what);
    json_decref(patch);
    json_decref(a);
    json_decref(b);
}

struct pair {
    struct jdoc a, b;
    struct jdiff_result r;
};

static void diff_texts(struct pair *p, const char *a, const char *b,
                       const struct jdiff_options *opt)
{
    struct error err;
    jdoc_init(&p->a);
    jdoc_init(&p->b);
    jdiff_result_init(&p->r);
    parse(&p->a, a);
    parse(&p->b, b);
    error_init(&err);
    cr_assert_eq(jdiff_docs(&p->r, &p->a, &p->b, opt, &err), 0, "%s", err.message);
}

static void pair_release(struct pair *p)
{
    jdiff_result_release(&p->r);
    jdoc_release(&p->a);
    jdoc_release(&p->b);
}

/* The patch as compact text, for exact comparisons. */
static char *patch_text(const struct jdiff_result *r)
{
    struct buf b;
    size_t len;
    buf_init(&b, 1 << 24);
    for (size_t i = 0; i < r->count; i++) {
        cr_assert_eq(jdiff_write_op(&b, r, i, 0), 0);
        buf_append_char(&b, '\n');
    }
    return buf_take(&b, &len);
}

static struct jdiff_rules *rules_of(const struct jdiff_rule *list, size_t n)
{
    struct jdiff_rules *rules = jdiff_rules_new();
    struct error err;
    error_init(&err);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(jdiff_rules_add(rules, &list[i], &err), 0, "%s", err.message);
    return rules;
}

/* -------------------------------------------------------------- parser */

Test(jdoc, reports_invalid_json_with_line_column_and_offset)
{
    struct {
        const char *text, *message;
    } cases[] = {
        {"{\n  \"a\": 1,\n  \"b\": tru\n}", "bad.json:3:8: invalid JSON: expected 'true'"},
        {"{\"a\": 1,}", "bad.json:1:9: invalid JSON: expected a member name in double quotes, "
                        "found '}'"},
        {"[1 2]", "bad.json:1:4: invalid JSON: expected ',' or ']' after an array element, "
                  "found '2'"},
        {"{\"a\" 1}", "bad.json:1:6: invalid JSON: expected ':' after a member name, found '1'"},
        {"[01]", "bad.json:1:2: invalid JSON: numbers cannot have leading zeros"},
        {"[1.]", "bad.json:1:4: invalid JSON: expected a digit after the decimal point"},
        {"[-]", "bad.json:1:3: invalid JSON: expected a digit after '-'"},
        {"[1e+]", "bad.json:1:5: invalid JSON: expected a digit in the exponent"},
        {"[NaN]", "bad.json:1:2: invalid JSON: expected a value"},
        {"\"abc", "bad.json:1:1: invalid JSON: unterminated string"},
        {"\"a\tb\"", "bad.json:1:3: invalid JSON: control character U+0009 inside a string"},
        {"\"\\x\"", "bad.json:1:2: invalid JSON: invalid escape '\\x'"},
        {"\"\\ud800\"", "lone"},
        {"\"\\udc00\"", "bad.json:1:2: invalid JSON: \\udc00 is a lone low surrogate"},
        {"\"\\u12g4\"", "expected four hex digits after \\u"},
        {"{} x", "bad.json:1:4: invalid JSON: unexpected 'x' after the JSON value"},
        {"   ", "bad.json:1:4: invalid JSON: empty input: expected a JSON value"},
        {"[1,\n\"caf\xc3\xa9\", \xff]", "bad.json:2:9: invalid JSON: expected a value (object, "
                                         "array, string, number, true, false or null), found "
                                         "byte 0xff (byte offset 13)"},
        {"[\"\xc3\x28\"]", "invalid UTF-8 byte 0xc3 in a string"},
        {"// comment\n{}", "bad.json:1:1: invalid JSON: expected a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *msg = parse_error(cases[i].text, strlen(cases[i].text), NULL, ERR_INPUT);
        if (strcmp(cases[i].message, "lone") == 0)
            cr_assert(strstr(msg, "high surrogate not followed by a low surrogate"), "%s", msg);
        else
            cr_assert(strstr(msg, cases[i].message), "case %zu: got: %s", i, msg);
    }
}

Test(jdoc, accepts_the_corners_of_rfc_8259)
{
    struct jdoc d;
    const char bom[] = "\xEF\xBB\xBF {\"a\":[]}";
    jdoc_init(&d);
    parse(&d, "0");
    parse(&d, "-0.0e-0");
    parse(&d, "\"\"");
    parse(&d, " null ");
    parse(&d, "\"\\u0000\"");
    cr_assert_eq(d.nodes[0].len, 1, "U+0000 is kept (strings carry a length)");
    parse(&d, "\"\\ud83d\\ude00 \\/ \\b\\f\\n\\r\\t\"");
    cr_assert_eq(d.nodes[0].len, 4 + 1 + 1 + 1 + 5);
    cr_assert_eq(memcmp(d.nodes[0].text, "\xF0\x9F\x98\x80", 4), 0);
    parse(&d, bom);
    cr_assert_eq(d.nodes[0].type, JDOC_OBJECT, "a UTF-8 BOM is skipped");
    jdoc_release(&d);
}

Test(jdoc, keeps_the_last_of_duplicate_keys_like_jansson)
{
    struct jdoc a, b;
    struct error err;
    char big[4096];
    size_t n = 0;

    jdoc_init(&a);
    jdoc_init(&b);
    parse(&a, "{\"k\":1,\"x\":0,\"k\":2}");
    parse(&b, "{\"x\":0,\"k\":2}");
    cr_assert_eq(a.nodes[0].len, 2, "live members");
    cr_assert(jdoc_equal(&a, 0, &b, 0, true));
    cr_assert_eq(a.nodes[0].hash, b.nodes[0].hash);
    cr_assert_eq(memcmp(a.nodes[jdoc_get(&a, 0, "k", 1)].text, "2", 1), 0);
    /* A large object takes the sorting path. */
    n += (size_t)snprintf(big + n, sizeof big - n, "{");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "\"k%d\":%d,", i % 20, i);
    n += (size_t)snprintf(big + n, sizeof big - n, "\"end\":0}");
    error_init(&err);
    cr_assert_eq(jdoc_parse(&a, big, n, "big", NULL, &err), 0);
    cr_assert_eq(a.nodes[0].len, 21);
    cr_assert_eq(memcmp(a.nodes[jdoc_get(&a, 0, "k3", 2)].text, "23", 2), 0);
    jdoc_release(&a);
    jdoc_release(&b);
}

Test(jdoc, compares_numbers_by_exact_decimal_value)
{
    struct {
        const char *a, *b;
        bool equal;
    } cases[] = {
        {"1", "1.0", true}, {"100", "1e2", true}, {"0", "-0", true}, {"0.0", "-0e5", true},
        {"1.5", "15e-1", true}, {"0.001", "1E-3", true}, {"120", "1.20e2", true},
        {"12345678901234567890", "12345678901234567890.0", true},
        {"12345678901234567890", "12345678901234567891", false},
        {"9007199254740993", "9007199254740992", false},
        {"0.1", "0.10000000000000001", false}, {"1", "-1", false}, {"1e400", "1e400", true},
        {"1e400", "1e401", false}, {"10", "1", false}, {"0.5", "5", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct jdoc a, b;
        jdoc_init(&a);
        jdoc_init(&b);
        parse(&a, cases[i].a);
        parse(&b, cases[i].b);
        cr_assert_eq(jdoc_number_equal(a.nodes[0].text, a.nodes[0].len, b.nodes[0].text,
                                       b.nodes[0].len), cases[i].equal, "%s vs %s", cases[i].a,
                     cases[i].b);
        if (cases[i].equal)
            cr_assert_eq(a.nodes[0].hash, b.nodes[0].hash, "equal values hash equal: %s %s",
                         cases[i].a, cases[i].b);
        cr_assert_eq(jdoc_equal(&a, 0, &b, 0, false), cases[i].equal);
        jdoc_release(&a);
        jdoc_release(&b);
    }
}

Test(jdoc, writes_numbers_exactly_as_they_were_written)
{
    const char text[] = "{\"a\":[0.1,1.0,1e2,-0,12345678901234567890123],\"s\":\"<\\u00e9>\"}";
    struct jdoc d;
    struct buf b;
    jdoc_init(&d);
    buf_init(&b, 4096);
    parse(&d, text);
    cr_assert_eq(jdoc_write(&b, &d, 0, 0, 0), 0);
    cr_assert_str_eq(b.data, "{\"a\":[0.1,1.0,1e2,-0,12345678901234567890123],\"s\":\"<\xc3\xa9>\"}");
    buf_reset(&b);
    cr_assert_eq(jdoc_write(&b, &d, 0, 0, JDOC_WRITE_HTML_SAFE), 0);
    cr_assert(strstr(b.data, "\\u003c"), "%s", b.data);
    buf_release(&b);
    jdoc_release(&d);
}

Test(jdoc, converts_to_jansson_and_writes_reals_in_their_shortest_form)
{
    const char text[] = "{\"i\":9223372036854775807,\"r\":0.1,\"one\":1.0,"
                        "\"big\":12345678901234567890,\"u\":\"\\u0000\"}";
    struct jdoc d;
    struct error err;
    struct buf b;
    json_t *v;

    jdoc_init(&d);
    buf_init(&b, 4096);
    error_init(&err);
    parse(&d, text);
    cr_assert_eq(jdoc_to_jansson(&d, 0, &v, &err), 0, "%s", err.message);
    cr_assert(json_is_integer(json_object_get(v, "i")));
    cr_assert(json_is_real(json_object_get(v, "big")), "beyond int64: a real");
    cr_assert_eq(json_string_length(json_object_get(v, "u")), 1);
    cr_assert_eq(jdoc_write_jansson(&b, v, 0, 0), 0);
    cr_assert_str_eq(b.data, "{\"i\":9223372036854775807,\"r\":0.1,\"one\":1.0,"
                             "\"big\":1.2345678901234567e+19,\"u\":\"\\u0000\"}");
    json_decref(v);
    parse(&d, "[1e400]");
    cr_assert_eq(jdoc_to_jansson(&d, 0, &v, &err), ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "t.json:1:2: the number 1e400 is beyond the range of a double"),
              "%s", err.message);
    buf_release(&b);
    jdoc_release(&d);
}

Test(jdoc, finds_the_numbers_jansson_cannot_carry_exactly)
{
    struct jdoc d;
    size_t count;
    uint32_t n;
    jdoc_init(&d);
    parse(&d, "[9223372036854775807,-9223372036854775808,0.1,1e2,2.5e-3,1.7976931348623157e308]");
    cr_assert_eq(jdoc_find_inexact(&d, 0, &count), JDOC_NONE);
    cr_assert_eq(count, 0);
    parse(&d, "{\"a\":[1,9223372036854775808],\"b\":0.30000000000000000001,\"c\":1e-400}");
    n = jdoc_find_inexact(&d, 0, &count);
    cr_assert_neq(n, JDOC_NONE);
    cr_assert_eq(memcmp(d.nodes[n].text, "9223372036854775808", 19), 0);
    cr_assert_eq(count, 3, "2^63, 31 digits and an underflow to 0");
    jdoc_release(&d);
}

Test(jdoc, refuses_input_beyond_its_limits)
{
    struct jdoc_limits depth = {.max_depth = 8}, nodes = {.max_nodes = 5}, size = {.max_size = 4};
    char deep[64];
    const char *msg;

    memset(deep, '[', 9);
    memset(deep + 9, ']', 9);
    msg = parse_error(deep, 18, &depth, ERR_TOOBIG);
    cr_assert(strstr(msg, "bad.json:1:9: nested deeper than 8 levels: the depth limit"), "%s",
              msg);
    /* Exactly at the limit is fine. */
    {
        struct jdoc d;
        struct error err;
        jdoc_init(&d);
        error_init(&err);
        cr_assert_eq(jdoc_parse(&d, deep + 1, 16, "ok", &depth, &err), 0, "%s", err.message);
        cr_assert_eq(d.depth, 8);
        jdoc_release(&d);
    }
    msg = parse_error("[1,2,3,4,5]", 11, &nodes, ERR_TOOBIG);
    cr_assert(strstr(msg, "more than 5 values: the node limit"), "%s", msg);
    msg = parse_error("[1,2]", 5, &size, ERR_TOOBIG);
    cr_assert(strstr(msg, "larger than the size limit"), "%s", msg);
}

Test(jdoc, parses_the_default_depth_of_hostile_nesting_without_crashing)
{
    size_t n = 100000;
    char *text = malloc(2 * n);
    const char *msg;
    memset(text, '[', n);
    memset(text + n, ']', n);
    msg = parse_error(text, 2 * n, NULL, ERR_TOOBIG);
    cr_assert(strstr(msg, "nested deeper than 512 levels"), "%s", msg);
    free(text);
}

/* ---------------------------------------------------------------- diff */

static char *repo_file(const char *rel, size_t *len)
{
    char *text = test_read_file(test_repo_path(rel), len);
    cr_assert_not_null(text, "cannot read %s", rel);
    return text;
}

/* Write one member of a jdoc as text and parse it on its own. */
static void sub_doc(struct jdoc *out, const struct jdoc *line, const char *member, char **keep)
{
    struct buf b;
    struct error err;
    size_t len;
    uint32_t n = jdoc_get(line, 0, member, strlen(member));
    cr_assert_neq(n, JDOC_NONE, "member %s", member);
    buf_init(&b, 1 << 24);
    cr_assert_eq(jdoc_write(&b, line, n, 0, 0), 0);
    *keep = buf_take(&b, &len);
    error_init(&err);
    cr_assert_eq(jdoc_parse(out, *keep, len, member, NULL, &err), 0, "%s", err.message);
}

Test(jdiff, crafted_pairs_give_the_expected_patches_and_the_patch_gives_b)
{
    size_t len, cases = 0;
    char *text = repo_file("tests/json/diff_pairs.jsonl", &len), *line, *save = NULL;

    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct jdoc l, a, b, want;
        struct jdiff_result r;
        struct error err;
        char *ta, *tb, *tw = NULL, name[200];
        uint32_t nn;

        jdoc_init(&l);
        jdoc_init(&a);
        jdoc_init(&b);
        jdoc_init(&want);
        jdiff_result_init(&r);
        error_init(&err);
        cr_assert_eq(jdoc_parse(&l, line, strlen(line), "diff_pairs.jsonl", NULL, &err), 0,
                     "%s", err.message);
        nn = jdoc_get(&l, 0, "name", 4);
        snprintf(name, sizeof name, "%.*s", (int)l.nodes[nn].len, l.nodes[nn].text);
        sub_doc(&a, &l, "a", &ta);
        sub_doc(&b, &l, "b", &tb);
        cr_assert_eq(jdiff_docs(&r, &a, &b, NULL, &err), 0, "%s: %s", name, err.message);
        assert_patch_gives_b(&r, name);
        if (jdoc_get(&l, 0, "patch", 5) != JDOC_NONE) {
            json_t *got, *expect;
            sub_doc(&want, &l, "patch", &tw);
            cr_assert_eq(jdiff_patch(&r, &got, &err), 0);
            cr_assert_eq(jdoc_to_jansson(&want, 0, &expect, &err), 0);
            char *g = json_dumps(got, JSON_COMPACT);
            cr_assert(jpatch_equal(got, expect), "%s: got %s", name, g);
            free(g);
            json_decref(got);
            json_decref(expect);
        }
        cr_assert_eq(r.count == 0, jdoc_equal(&a, 0, &b, 0, false), "%s", name);
        jdiff_result_release(&r);
        jdoc_release(&l);
        jdoc_release(&a);
        jdoc_release(&b);
        jdoc_release(&want);
        free(ta);
        free(tb);
        free(tw);
        cases++;
    }
    cr_assert_geq(cases, 25);
    free(text);
}

/* For every conformance record with an expected document, diff(doc,
 * expected) applied with our json-patch gives expected. */
Test(jdiff_conformance, diff_of_doc_and_expected_turns_doc_into_expected)
{
    const char *files[] = {"tests.json", "spec_tests.json"};
    const char *dir = test_conformance_dir("json-patch-tests");
    int checked = 0;

    cr_assert_not_null(dir, "the JSON Patch conformance suite is not at ../shared/conformance; "
                            "set REHEARSE_CONFORMANCE_DIR");
    for (int f = 0; f < 2; f++) {
        char path[4096];
        json_t *cases, *rec;
        size_t i;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        cases = json_load_file(path, 0, NULL);
        cr_assert_not_null(cases, "%s", path);
        json_array_foreach(cases, i, rec) {
            struct jdoc a, b;
            struct jdiff_result r;
            struct error err;
            json_t *exp = json_object_get(rec, "expected");
            if (!exp || !json_object_get(rec, "doc"))
                continue;
            jdoc_init(&a);
            jdoc_init(&b);
            jdiff_result_init(&r);
            error_init(&err);
            cr_assert_eq(jdoc_from_jansson(&a, json_object_get(rec, "doc"), "doc", &err), 0);
            cr_assert_eq(jdoc_from_jansson(&b, exp, "expected", &err), 0);
            cr_assert_eq(jdiff_docs(&r, &a, &b, NULL, &err), 0);
            assert_patch_gives_b(&r, files[f]);
            checked++;
            jdiff_result_release(&r);
            jdoc_release(&a);
            jdoc_release(&b);
        }
        json_decref(cases);
    }
    /* 74 enabled + 1 disabled record carry an expected document. */
    cr_assert_eq(checked, 75, "records with an expected document: %d", checked);
}

Test(jdiff, items_carry_kind_paths_field_and_values)
{
    struct pair p;
    diff_texts(&p, "{\"items\":[{\"id\":1,\"p\":1.5},{\"id\":2,\"p\":2}],\"t\":\"x\",\"gone\":1}",
               "{\"items\":[{\"id\":0},{\"id\":1,\"p\":1.75},{\"id\":2,\"p\":\"2\"}],\"t\":\"y\"}",
               NULL);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"add\", \"path\": \"/items/0\", \"value\": {\"id\":0}}\n"
                        "{\"op\": \"replace\", \"path\": \"/items/1/p\", \"value\": 1.75}\n"
                        "{\"op\": \"replace\", \"path\": \"/items/2/p\", \"value\": \"2\"}\n"
                        "{\"op\": \"replace\", \"path\": \"/t\", \"value\": \"y\"}\n"
                        "{\"op\": \"remove\", \"path\": \"/gone\"}\n");
    free(t);
    cr_assert_eq(p.r.count, 5);
    cr_assert_eq(p.r.differences, 5);
    cr_assert_eq(p.r.items[0].kind, JDIFF_ADDED);
    cr_assert_null(p.r.items[0].a_path);
    cr_assert_str_eq(p.r.items[0].b_path, "/items/0");
    cr_assert_str_eq(p.r.items[0].field, "/items/*");
    cr_assert_eq(p.r.items[1].kind, JDIFF_CHANGED);
    cr_assert_str_eq(p.r.items[1].path, "/items/1/p");
    cr_assert_str_eq(p.r.items[1].a_path, "/items/0/p", "the value's place in A");
    cr_assert_str_eq(p.r.items[1].b_path, "/items/1/p");
    cr_assert_str_eq(p.r.items[1].field, "/items/*/p");
    cr_assert_eq(memcmp(p.a.nodes[p.r.items[1].a_node].text, "1.5", 3), 0);
    cr_assert_eq(p.r.items[2].kind, JDIFF_TYPE_CHANGED);
    cr_assert_str_eq(jdoc_type_name(&p.a, p.r.items[2].a_node, false), "number");
    cr_assert_str_eq(jdoc_type_name(&p.b, p.r.items[2].b_node, false), "string");
    cr_assert_eq(p.r.items[4].kind, JDIFF_REMOVED);
    cr_assert_null(p.r.items[4].b_path);
    cr_assert_eq(p.r.items[4].b_node, JDOC_NONE);
    cr_assert_str_eq(jdiff_kind_name(JDIFF_TYPE_CHANGED), "type_changed");
    assert_patch_gives_b(&p.r, "items");
    pair_release(&p);
}

Test(jdiff, big_integers_and_decimals_keep_their_text)
{
    struct pair p;
    diff_texts(&p, "{\"id\":12345678901234567890,\"x\":0.1,\"same\":1e2}",
               "{\"id\":12345678901234567891,\"x\":0.10000000000000001,\"same\":100}", NULL);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"replace\", \"path\": \"/id\", \"value\": 12345678901234567891}\n"
                        "{\"op\": \"replace\", \"path\": \"/x\", \"value\": 0.10000000000000001}\n");
    free(t);
    pair_release(&p);
}

Test(jdiff, caps_the_items_kept_but_counts_them_all)
{
    struct jdiff_options opt = {NULL, 2};
    struct pair p;
    diff_texts(&p, "[1,2,3,4,5]", "[6,7,8,9,10]", &opt);
    cr_assert_eq(p.r.count, 2);
    cr_assert_eq(p.r.differences, 5);
    cr_assert(p.r.truncated);
    pair_release(&p);
}

/* --------------------------------------------------------------- rules */

Test(jdiff_rules, ignore_hides_differences_and_counts_them_per_rule)
{
    struct jdiff_rule list[] = {
        {.kind = JDIFF_RULE_IGNORE, .path = "/data/*/updated_at", .id = 0},
        {.kind = JDIFF_RULE_IGNORE, .path = "/**/request_id", .id = 3},
        {.kind = JDIFF_RULE_IGNORE, .path = "/never", .id = 1},
    };
    struct jdiff_rules *rules = rules_of(list, 3);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p,
               "{\"data\":[{\"id\":1,\"updated_at\":\"a\"},{\"id\":2,\"updated_at\":\"b\"}],"
               "\"meta\":{\"request_id\":\"r1\",\"deep\":{\"request_id\":7}},\"n\":1}",
               "{\"data\":[{\"id\":1,\"updated_at\":\"c\"},{\"id\":2}],"
               "\"meta\":{\"request_id\":\"r2\",\"deep\":{}},\"n\":2}",
               &opt);
    cr_assert_eq(p.r.count, 1, "only /n is reported");
    cr_assert_str_eq(p.r.items[0].path, "/n");
    cr_assert_eq(p.r.ignored, 4);
    cr_assert_eq(p.r.rule_hits_len, 4);
    cr_assert_eq(p.r.rule_hits[0], 2, "updated_at changed once and vanished once");
    cr_assert_eq(p.r.rule_hits[3], 2);
    cr_assert_eq(p.r.rule_hits[1], 0, "a rule that matches nothing shows 0");
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, an_ignored_removal_stays_in_the_patched_array)
{
    static const char *const id[] = {"id", NULL};
    struct jdiff_rule list[] = {
        {.kind = JDIFF_RULE_ARRAY_KEY, .path = "/items", .keys = id, .id = 0},
        {.kind = JDIFF_RULE_IGNORE, .path = "/items/0", .id = 1},
    };
    struct jdiff_rules *rules = rules_of(list, 2);
    struct jdiff_options opt = {rules, 0};
    struct pair p;
    /* Element 0 disappears but is ignored: the patch leaves it in place, so
     * element 1 is removed at index 1, not 0. */
    diff_texts(&p, "{\"items\":[{\"id\":1},{\"id\":2},{\"id\":3}]}",
               "{\"items\":[{\"id\":3}]}", &opt);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"remove\", \"path\": \"/items/1\"}\n");
    free(t);
    cr_assert_eq(p.r.ignored, 1);
    cr_assert_eq(p.r.rule_hits[1], 1);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, array_key_matches_moved_elements_and_diffs_changed_ones)
{
    static const char *const id[] = {"id", NULL};
    struct jdiff_rule list[] = {{.kind = JDIFF_RULE_ARRAY_KEY, .path = "/items", .keys = id,
                                 .id = 0}};
    struct jdiff_rules *rules = rules_of(list, 1);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p,
               "{\"items\":[{\"id\":1,\"v\":\"a\"},{\"id\":2,\"v\":\"b\"},{\"id\":3,\"v\":\"c\"},"
               "{\"id\":4,\"v\":\"d\"}]}",
               "{\"items\":[{\"id\":4,\"v\":\"d\"},{\"id\":3,\"v\":\"C\"},{\"id\":1.0,\"v\":\"a\"},"
               "{\"id\":5,\"v\":\"e\"}]}",
               &opt);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"remove\", \"path\": \"/items/1\"}\n"
                        "{\"op\": \"replace\", \"path\": \"/items/1/v\", \"value\": \"C\"}\n"
                        "{\"op\": \"add\", \"path\": \"/items/3\", \"value\": {\"id\":5,\"v\":\"e\"}}\n");
    free(t);
    cr_assert_str_eq(p.r.items[1].a_path, "/items/2/v");
    cr_assert_str_eq(p.r.items[1].b_path, "/items/1/v");
    cr_assert_eq(p.r.rule_hits[0], 1);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, array_key_with_compound_nested_and_duplicate_keys)
{
    static const char *const keys[] = {"order", "/ref/line", NULL};
    struct jdiff_rule list[] = {{.kind = JDIFF_RULE_ARRAY_KEY, .path = "/**/lines", .keys = keys,
                                 .id = 0}};
    struct jdiff_rules *rules = rules_of(list, 1);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    /* (1,11) and (11,1) must not be confused; the key (2,1) appears twice:
     * occurrences pair in order; the element without a key pairs with B's. */
    diff_texts(&p,
               "{\"x\":{\"lines\":[{\"order\":1,\"ref\":{\"line\":11},\"q\":1},"
               "{\"order\":11,\"ref\":{\"line\":1},\"q\":2},"
               "{\"order\":2,\"ref\":{\"line\":1},\"q\":3},{\"order\":2,\"ref\":{\"line\":1},\"q\":4},"
               "{\"note\":\"no key\"}]}}",
               "{\"x\":{\"lines\":[{\"note\":\"no key!\"},{\"order\":2,\"ref\":{\"line\":1},\"q\":3},"
               "{\"order\":11,\"ref\":{\"line\":1},\"q\":2},{\"order\":1,\"ref\":{\"line\":11},\"q\":1},"
               "{\"order\":2,\"ref\":{\"line\":1},\"q\":5}]}}",
               &opt);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"replace\", \"path\": \"/x/lines/3/q\", \"value\": 5}\n"
                        "{\"op\": \"replace\", \"path\": \"/x/lines/4/note\", \"value\": \"no key!\"}\n");
    free(t);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, unordered_compares_multisets_with_duplicates)
{
    struct jdiff_rule list[] = {{.kind = JDIFF_RULE_UNORDERED, .path = "/tags", .id = 0},
                                {.kind = JDIFF_RULE_UNORDERED, .path = "/objs", .id = 1}};
    struct jdiff_rules *rules = rules_of(list, 2);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p, "{\"tags\":[\"a\",\"b\",\"b\",\"c\"],\"objs\":[{\"k\":1},{\"k\":2}]}",
               "{\"tags\":[\"c\",\"b\",\"a\",\"b\"],\"objs\":[{\"k\":2},{\"k\":1}]}", &opt);
    cr_assert_eq(p.r.count, 0, "same multisets");
    cr_assert_eq(p.r.rule_hits[0], 1);
    pair_release(&p);

    diff_texts(&p, "{\"tags\":[1,1,2]}", "{\"tags\":[2,1,2]}", &opt);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"replace\", \"path\": \"/tags/1\", \"value\": 2}\n",
                     "one 1 became a 2: one change, whatever the order");
    free(t);
    pair_release(&p);

    diff_texts(&p, "{\"tags\":[\"x\",\"y\",\"y\"]}", "{\"tags\":[\"y\"]}", &opt);
    cr_assert_eq(p.r.count, 2);
    cr_assert_eq(p.r.items[0].kind, JDIFF_REMOVED);
    cr_assert_eq(p.r.items[1].kind, JDIFF_REMOVED);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, unordered_elements_equal_under_ignore_rules_pair_up)
{
    struct jdiff_rule list[] = {{.kind = JDIFF_RULE_UNORDERED, .path = "/rows", .id = 0},
                                {.kind = JDIFF_RULE_IGNORE, .path = "/rows/*/ts", .id = 1}};
    struct jdiff_rules *rules = rules_of(list, 2);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p, "{\"rows\":[{\"v\":1,\"ts\":1},{\"v\":2,\"ts\":2},{\"v\":3,\"ts\":3}]}",
               "{\"rows\":[{\"v\":3,\"ts\":9},{\"v\":1,\"ts\":8},{\"v\":2,\"ts\":7}]}", &opt);
    cr_assert_eq(p.r.count, 0);
    cr_assert_eq(p.r.ignored, 3);
    cr_assert_eq(p.r.rule_hits[1], 3);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, tolerance_absolute_and_relative)
{
    struct jdiff_rule list[] = {
        {.kind = JDIFF_RULE_TOLERANCE, .path = "/price", .absolute = 0.01, .relative = -1,
         .id = 0},
        {.kind = JDIFF_RULE_TOLERANCE, .path = "/stats/*", .absolute = -1, .relative = 1e-6,
         .id = 1},
    };
    struct jdiff_rules *rules = rules_of(list, 2);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p, "{\"price\":10.00,\"stats\":{\"a\":1000000,\"b\":1e-9,\"c\":5},\"raw\":1.0}",
               "{\"price\":10.009,\"stats\":{\"a\":1000000.9,\"b\":2e-9,\"c\":5.1},\"raw\":1.0000001}",
               &opt);
    char *t = patch_text(&p.r);
    cr_assert_str_eq(t, "{\"op\": \"replace\", \"path\": \"/stats/b\", \"value\": 2e-9}\n"
                        "{\"op\": \"replace\", \"path\": \"/stats/c\", \"value\": 5.1}\n"
                        "{\"op\": \"replace\", \"path\": \"/raw\", \"value\": 1.0000001}\n");
    free(t);
    cr_assert_eq(p.r.rule_hits[0], 1);
    cr_assert_eq(p.r.rule_hits[1], 1);
    pair_release(&p);
    diff_texts(&p, "{\"price\":10.00}", "{\"price\":10.02}", &opt);
    cr_assert_eq(p.r.count, 1, "beyond the tolerance");
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, strict_numbers_tell_integers_from_reals)
{
    struct jdiff_rule list[] = {{.kind = JDIFF_RULE_STRICT_NUMBERS, .path = "/ids/**", .id = 0}};
    struct jdiff_rules *rules = rules_of(list, 1);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p, "{\"ids\":[1,2],\"n\":1}", "{\"ids\":[1.0,2],\"n\":1.0}", &opt);
    cr_assert_eq(p.r.count, 1);
    cr_assert_eq(p.r.items[0].kind, JDIFF_TYPE_CHANGED);
    cr_assert_str_eq(p.r.items[0].path, "/ids/0");
    cr_assert_str_eq(jdoc_type_name(&p.b, p.r.items[0].b_node, true), "real");
    cr_assert_eq(p.r.rule_hits[0], 1);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, the_first_rule_of_a_kind_wins)
{
    struct jdiff_rule list[] = {
        {.kind = JDIFF_RULE_TOLERANCE, .path = "/x", .absolute = 0, .relative = -1, .id = 0},
        {.kind = JDIFF_RULE_TOLERANCE, .path = "/**", .absolute = 1, .relative = -1, .id = 1},
    };
    struct jdiff_rules *rules = rules_of(list, 2);
    struct jdiff_options opt = {rules, 0};
    struct pair p;

    diff_texts(&p, "{\"x\":1,\"y\":1}", "{\"x\":1.5,\"y\":1.5}", &opt);
    cr_assert_eq(p.r.count, 1);
    cr_assert_str_eq(p.r.items[0].path, "/x");
    cr_assert_eq(p.r.rule_hits[1], 1);
    pair_release(&p);
    jdiff_rules_free(rules);
}

Test(jdiff_rules, refuses_bad_rules_with_a_reason)
{
    struct jdiff_rules *rules = jdiff_rules_new();
    struct error err;
    struct jdiff_rule bad_path = {.kind = JDIFF_RULE_IGNORE, .path = "items"};
    struct jdiff_rule no_key = {.kind = JDIFF_RULE_ARRAY_KEY, .path = "/items"};
    struct jdiff_rule no_bound = {.kind = JDIFF_RULE_TOLERANCE, .path = "/p", .absolute = -1,
                                  .relative = -1};
    error_init(&err);
    cr_assert_eq(jdiff_rules_add(rules, &bad_path, &err), ERR_INPUT);
    cr_assert(strstr(err.message, "start with '/'"), "%s", err.message);
    cr_assert_eq(jdiff_rules_add(rules, &no_key, &err), ERR_INPUT);
    cr_assert(strstr(err.message, "at least one key"), "%s", err.message);
    cr_assert_eq(jdiff_rules_add(rules, &no_bound, &err), ERR_INPUT);
    cr_assert_eq(jdiff_rules_count(rules), 0);
    jdiff_rules_free(rules);
}

/* ------------------------------------------------------ size and limits */

static char *int_array(size_t n, size_t insert_at, int extra)
{
    struct buf b;
    size_t len;
    buf_init(&b, (size_t)1 << 30);
    buf_append_char(&b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_char(&b, ',');
        if (i == insert_at)
            buf_printf(&b, "%d,", extra);
        buf_printf(&b, "{\"id\":%zu,\"v\":\"x\"}", i);
    }
    if (insert_at == n)
        buf_printf(&b, ",%d", extra);
    buf_append_char(&b, ']');
    return buf_take(&b, &len);
}

Test(jdiff_limits, one_insertion_in_a_large_array_is_one_add, .timeout = 60)
{
    char *a = int_array(200000, SIZE_MAX, 0), *b = int_array(200000, 123456, -1);
    struct pair p;
    diff_texts(&p, a, b, NULL);
    cr_assert_eq(p.r.count, 1);
    cr_assert_str_eq(p.r.items[0].path, "/123456");
    cr_assert_eq(p.r.items[0].kind, JDIFF_ADDED);
    pair_release(&p);
    free(a);
    free(b);
}

Test(jdiff_limits, hostile_shapes_stay_fast, .timeout = 60)
{
    struct jdiff_rule list[] = {{.kind = JDIFF_RULE_UNORDERED, .path = "", .id = 0}};
    struct jdiff_rules *rules = rules_of(list, 1);
    struct jdiff_options opt = {rules, 0};
    size_t n = 200000;
    struct buf a, b;
    size_t len;
    char *ta, *tb;
    struct pair p;

    /* 200,000 equal elements compared as a multiset, one more on one side. */
    buf_init(&a, 1 << 24);
    buf_init(&b, 1 << 24);
    buf_append_char(&a, '[');
    buf_append_char(&b, '[');
    for (size_t i = 0; i < n; i++) {
        buf_append_str(&a, i ? ",0" : "0");
        buf_append_str(&b, i ? ",0" : "0");
    }
    buf_append_str(&a, "]");
    buf_append_str(&b, ",0]");
    ta = buf_take(&a, &len);
    tb = buf_take(&b, &len);
    diff_texts(&p, ta, tb, &opt);
    cr_assert_eq(p.r.count, 1);
    pair_release(&p);
    /* The same by index, then two arrays with nothing in common. */
    diff_texts(&p, ta, tb, NULL);
    cr_assert_eq(p.r.count, 1);
    pair_release(&p);
    free(tb);
    tb = int_array(n, SIZE_MAX, 0);
    diff_texts(&p, ta, tb, NULL);
    cr_assert_eq(p.r.count, n, "paired by index when no alignment is found");
    assert_patch_gives_b(&p.r, "disjoint");
    pair_release(&p);
    free(ta);
    free(tb);

    /* An object with 100,000 members of one name: the last one wins. */
    buf_init(&a, 1 << 24);
    buf_append_char(&a, '{');
    for (size_t i = 0; i < 100000; i++)
        buf_printf(&a, "%s\"k\":%zu", i ? "," : "", i);
    buf_append_char(&a, '}');
    ta = buf_take(&a, &len);
    diff_texts(&p, ta, "{\"k\":99999}", NULL);
    cr_assert_eq(p.r.count, 0);
    pair_release(&p);
    free(ta);
    jdiff_rules_free(rules);
}

Test(jdiff_limits, deep_documents_at_the_limit_diff_fine)
{
    size_t depth = 512;
    char *a = malloc(2 * depth + 2), *b = malloc(2 * depth + 2);
    struct pair p;
    memset(a, '[', depth);
    memset(a + depth, ']', depth);
    a[2 * depth] = '\0';
    memcpy(b, a, 2 * depth + 1);
    b[depth - 1] = '{';
    b[depth] = '}';
    diff_texts(&p, a, b, NULL);
    cr_assert_eq(p.r.count, 1);
    cr_assert_eq(p.r.items[0].kind, JDIFF_TYPE_CHANGED);
    cr_assert_eq(strlen(p.r.items[0].path), 2 * (depth - 1));
    assert_patch_gives_b(&p.r, "deep");
    pair_release(&p);
    free(a);
    free(b);
}
