/* The rules file of the response diff (reports/diff_rules.h,
 * docs/rules-format.md). */
#include <criterion/criterion.h>
#include <string.h>

#include "diff_rules.h"
#include "jdoc.h"
#include "json_diff.h"

static const char example[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"templates\": [\"/users/{id}\", \"/users/{id}/orders/{order}\", \"/health\"],\n"
    "  \"headers\": [\"Cache-Control\"],\n"
    "  \"ignore_headers\": [\"Date\"],\n"
    "  \"redact\": [\"/**/password\"],\n"
    "  \"redact_headers\": [\"X-Api-Key\"],\n"
    "  \"ignore\": [\"/**/updated_at\"],\n"
    "  \"array_key\": {\"/items\": \"id\", \"/lines\": [\"order\", \"/ref/line\"]},\n"
    "  \"unordered\": [\"/tags\"],\n"
    "  \"tolerance\": {\"/price\": {\"absolute\": 0.01}, \"/ratio\": {\"relative\": 1e-6, "
    "\"absolute\": 0}},\n"
    "  \"strict_numbers\": [\"/ids/*\"],\n"
    "  \"endpoints\": {\n"
    "    \"GET /users/{id}\": {\"ignore\": [\"/last_login\"], \"headers\": [\"*\"], "
    "\"ignore_headers\": [\"ETag\"]},\n"
    "    \"* /users/{id}\": {\"tolerance\": {\"/price\": {\"absolute\": 5}}}\n"
    "  }\n"
    "}\n";

static struct diff_rules *load_text(const char *text)
{
    struct diff_rules *r;
    struct error err;
    error_init(&err);
    cr_assert_eq(diff_rules_parse(&r, text, strlen(text), "rules.json", &err), 0, "%s",
                 err.message);
    return r;
}

static const char *load_error(const char *text)
{
    static struct error err;
    struct diff_rules *r = (struct diff_rules *)1;
    error_init(&err);
    cr_assert_eq(diff_rules_parse(&r, text, strlen(text), "rules.json", &err), ERR_INPUT,
                 "accepted: %s", text);
    cr_assert_null(r);
    return err.message;
}

Test(diff_rules, numbers_every_rule_in_file_order_with_its_place)
{
    struct diff_rules *r = load_text(example);
    const struct diff_rule_info *i;

    cr_assert_eq(diff_rules_count(r), 15);
    i = diff_rules_info(r, 0);
    cr_assert_eq(i->kind, DIFF_RULE_HEADER);
    cr_assert_str_eq(i->subject, "Cache-Control");
    cr_assert_eq(i->line, 4);
    i = diff_rules_info(r, 5);
    cr_assert_eq(i->kind, DIFF_RULE_ARRAY_KEY);
    cr_assert_str_eq(i->subject, "/items");
    cr_assert_str_eq(i->keys[0], "id");
    cr_assert_null(i->keys[1]);
    i = diff_rules_info(r, 6);
    cr_assert_str_eq(i->keys[1], "/ref/line");
    i = diff_rules_info(r, 9);
    cr_assert_eq(i->kind, DIFF_RULE_TOLERANCE);
    cr_assert_str_eq(i->subject, "/ratio");
    cr_assert(i->relative == 1e-6 && i->absolute == 0);
    i = diff_rules_info(r, 11);
    cr_assert_str_eq(i->scope, "GET /users/{id}");
    cr_assert_str_eq(diff_rule_kind_name(i->kind), "ignore");
    cr_assert_eq(i->line, 14);
    cr_assert_eq(i->column, 36, "%zu", i->column);
    i = diff_rules_info(r, 14);
    cr_assert_str_eq(i->scope, "* /users/{id}");
    cr_assert_null(diff_rules_info(r, 15));
    diff_rules_free(r);
}

Test(diff_rules, builds_body_rules_per_endpoint_with_its_own_rules_first)
{
    struct diff_rules *r = load_text(example);
    struct error err;
    const struct jdiff_rules *global, *get, *post, *again;
    error_init(&err);

    global = diff_rules_json(r, NULL, NULL, &err);
    get = diff_rules_json(r, "GET", "/users/{id}", &err);
    post = diff_rules_json(r, "POST", "/users/{id}", &err);
    again = diff_rules_json(r, "GET", "/users/{id}", &err);
    cr_assert(global && get && post);
    cr_assert_eq(get, again, "built once");
    cr_assert_eq(jdiff_rules_count(global), 7);
    cr_assert_eq(jdiff_rules_count(get), 9);
    cr_assert_eq(jdiff_rules_count(post), 8);
    cr_assert(diff_rules_has_endpoint(r, "DELETE", "/users/{id}"), "method *");
    cr_assert_not(diff_rules_has_endpoint(r, "GET", "/users"));

    /* The endpoint's tolerance (5) wins over the global one (0.01). */
    {
        const char ta[] = "{\"price\":10,\"last_login\":1}", tb[] = "{\"price\":13,\"last_login\":2}";
        struct jdoc a, b;
        struct jdiff_result res;
        struct jdiff_options opt = {post, 0};
        jdoc_init(&a);
        jdoc_init(&b);
        jdiff_result_init(&res);
        cr_assert_eq(jdoc_parse(&a, ta, strlen(ta), "a", NULL, &err), 0);
        cr_assert_eq(jdoc_parse(&b, tb, strlen(tb), "b", NULL, &err), 0);
        cr_assert_eq(jdiff_docs(&res, &a, &b, &opt, &err), 0);
        cr_assert_eq(res.count, 1, "only last_login differs for POST");
        cr_assert_eq(res.rule_hits[14], 1, "hits are counted at the file's rule id");
        opt.rules = get;
        cr_assert_eq(jdiff_docs(&res, &a, &b, &opt, &err), 0);
        cr_assert_eq(res.count, 0);
        cr_assert_eq(res.rule_hits[11], 1);
        opt.rules = global;
        cr_assert_eq(jdiff_docs(&res, &a, &b, &opt, &err), 0);
        cr_assert_eq(res.count, 2);
        jdiff_result_release(&res);
        jdoc_release(&a);
        jdoc_release(&b);
    }
    diff_rules_free(r);
}

Test(diff_rules, decides_which_headers_are_compared)
{
    struct diff_rules *r = load_text(example);
    int id;

    cr_assert_eq(diff_rules_header(r, "POST", "/x", "content-type", &id), DIFF_HEADER_COMPARE);
    cr_assert_eq(id, -1, "the built-in default");
    cr_assert_eq(diff_rules_header(r, "POST", "/x", "cache-control", &id), DIFF_HEADER_COMPARE);
    cr_assert_eq(id, 0);
    cr_assert_eq(diff_rules_header(r, "POST", "/x", "ETag", &id), DIFF_HEADER_SKIP);
    cr_assert_eq(diff_rules_header(r, "GET", "/users/{id}", "ETag", &id), DIFF_HEADER_IGNORED);
    cr_assert_eq(id, 13);
    cr_assert_eq(diff_rules_header(r, "GET", "/users/{id}", "Server", &id), DIFF_HEADER_COMPARE,
                 "\"*\" compares every header");
    cr_assert_eq(diff_rules_header(r, "GET", "/users/{id}", "date", &id), DIFF_HEADER_IGNORED);
    cr_assert_eq(id, 1);
    cr_assert_eq(diff_rules_header(NULL, "GET", "/", "Content-Type", NULL), DIFF_HEADER_COMPARE);
    diff_rules_free(r);
}

Test(diff_rules, matches_templates_and_lists_redactions)
{
    struct diff_rules *r = load_text(example);
    struct jpointer p;
    struct error err;

    cr_assert_str_eq(diff_rules_template(r, "/users/42"), "/users/{id}");
    cr_assert_str_eq(diff_rules_template(r, "/users/ann/orders/7"), "/users/{id}/orders/{order}");
    cr_assert_str_eq(diff_rules_template(r, "/health"), "/health");
    cr_assert_null(diff_rules_template(r, "/users/"));
    cr_assert_null(diff_rules_template(r, "/users/42/orders"));
    cr_assert_null(diff_rules_template(r, "/healthz"));
    cr_assert_eq(diff_rules_redact_count(r), 1);
    jpointer_init(&p);
    error_init(&err);
    cr_assert_eq(jpointer_parse(&p, "/a/0/password", 13, &err), 0);
    cr_assert(jpointer_pattern_match(diff_rules_redact(r, 0), &p));
    cr_assert(diff_rules_redact_header(r, "x-api-key"));
    cr_assert_not(diff_rules_redact_header(r, "Date"));
    jpointer_release(&p);
    diff_rules_free(r);
}

Test(diff_rules, refuses_mistakes_with_their_place_and_what_was_expected)
{
    struct {
        const char *text, *message;
    } cases[] = {
        {"[]", "rules.json:1:1: a rules file must hold a JSON object"},
        {"{\"version\": 2}", "rules.json:1:13: this rehearse reads rules files of version 1"},
        {"{\"ignore\": \"/a\"}", "rules.json:1:12: \"ignore\" must be an array of JSON Pointer "
                                 "patterns, found a string"},
        {"{\"ignore\": [\"a\"]}", "rules.json:1:13: in \"ignore\": invalid JSON Pointer \"a\": "
                                  "it must be empty or start with '/'"},
        {"{\"ignore\": [\"/a~2\"]}", "'~' at character 3 must be followed by 0"},
        {"{\"ignore\": [1]}", "rules.json:1:13: \"ignore\" expects JSON Pointer patterns"},
        {"{\"ignore\": [], \"ignore\": []}", "rules.json:1:2: member \"ignore\" appears twice"},
        {"{\"array_key\": {\"/items\": []}}", "the key of array_key \"/items\" must be a member "
                                              "name or a non-empty array"},
        {"{\"array_key\": {\"/items\": [\"id\", 3]}}", "a key member name must be a string"},
        {"{\"array_key\": [\"/items\"]}", "\"array_key\" must be an object"},
        {"{\"tolerance\": {\"/p\": {}}}", "rules.json:1:22: a tolerance needs \"absolute\", "
                                          "\"relative\" or both"},
        {"{\"tolerance\": {\"/p\": {\"absolute\": -1}}}", "\"absolute\" must be a finite number "
                                                      "of 0 or more"},
        {"{\"tolerance\": {\"/p\": {\"abs\": 1}}}", "unknown member \"abs\" in a tolerance"},
        {"{\"headers\": [\"Bad Header\"]}", "\"Bad Header\" in \"headers\" is not a header name"},
        {"{\"templates\": [\"users/{id}\"]}", "a path template must start with '/'"},
        {"{\"templates\": [\"/a{id}\"]}", "a '{' must open a whole segment"},
        {"{\"endpoints\": {\"/users\": {}}}", "rules.json:1:16: an endpoint must be written "
                                              "\"METHOD /path/{template}\""},
        {"{\"endpoints\": {\"get /users\": {}}}", "\"get\" is not a method: use upper case"},
        {"{\"endpoints\": {\"GET /x\": {\"redact\": []}}}", "unknown member \"redact\" in an "
                                                         "endpoint's rules"},
        {"{\"endpoints\": {\"GET /x\": []}}", "the rules of an endpoint must be an object"},
        {"{\"ignore\": [\"/a\\u0000\"]}", "a pattern must not contain U+0000"},
        {"{\"ignore\": [\"/a\"],}", "rules.json:1:19: invalid JSON: expected a member name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *msg = load_error(cases[i].text);
        cr_assert(strstr(msg, cases[i].message), "case %zu: %s", i, msg);
    }
}
