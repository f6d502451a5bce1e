/* RFC 6901 JSON Pointers and wildcard patterns (reports/json_pointer.h). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "jdoc.h"
#include "json_pointer.h"

static void parse_ok(struct jpointer *p, const char *text)
{
    struct error err;
    error_init(&err);
    cr_assert_eq(jpointer_parse(p, text, strlen(text), &err), 0, "%s: %s", text, err.message);
}

static bool token_is(const struct jpointer *p, size_t i, const char *s, size_t len)
{
    return p->tokens[i].len == len && memcmp(p->tokens[i].s, s, len) == 0;
}

Test(jpointer, parses_tokens_and_unescapes_in_the_right_order)
{
    struct jpointer p;
    jpointer_init(&p);
    parse_ok(&p, "");
    cr_assert_eq(p.count, 0, "the empty pointer is the whole document");
    parse_ok(&p, "/");
    cr_assert_eq(p.count, 1);
    cr_assert(token_is(&p, 0, "", 0), "\"/\" is the member named \"\"");
    parse_ok(&p, "/a~1b/m~0n/~01/c%d/ /");
    cr_assert_eq(p.count, 6);
    cr_assert(token_is(&p, 0, "a/b", 3));
    cr_assert(token_is(&p, 1, "m~n", 3));
    cr_assert(token_is(&p, 2, "~1", 2), "~01 is ~ then 1, not /");
    cr_assert(token_is(&p, 3, "c%d", 3));
    cr_assert(token_is(&p, 4, " ", 1));
    cr_assert(token_is(&p, 5, "", 0));
    jpointer_release(&p);
}

Test(jpointer, rejects_a_missing_slash_and_bad_escapes_with_the_position)
{
    struct jpointer p;
    struct error err;
    jpointer_init(&p);
    error_init(&err);
    cr_assert_eq(jpointer_parse(&p, "foo", 3, &err), ERR_INPUT);
    cr_assert(strstr(err.message, "start with '/'"), "%s", err.message);
    cr_assert_eq(jpointer_parse(&p, "/a~2", 4, &err), ERR_INPUT);
    cr_assert(strstr(err.message, "character 3"), "%s", err.message);
    cr_assert_eq(jpointer_parse(&p, "/a~", 3, &err), ERR_INPUT);
    jpointer_release(&p);
}

Test(jpointer, formats_tokens_back_to_the_same_text)
{
    const char *texts[] = {"", "/", "/a~1b/m~0n", "/~01", "/0/-/x"};
    struct jpointer p;
    struct buf b;
    jpointer_init(&p);
    buf_init(&b, 1024);
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        parse_ok(&p, texts[i]);
        buf_reset(&b);
        cr_assert_eq(jpointer_format(&b, &p, p.count), 0);
        cr_assert_str_eq(b.data ? b.data : "", texts[i]);
    }
    buf_reset(&b);
    cr_assert_eq(jpointer_append_token(&b, "x/~y", 4), 0);
    cr_assert_eq(jpointer_append_index(&b, 120), 0);
    cr_assert_str_eq(b.data, "/x~1~0y/120");
    buf_release(&b);
    jpointer_release(&p);
}

Test(jpointer, reads_array_indices_without_leading_zeros)
{
    size_t i = 99;
    cr_assert_eq(jpointer_index("0", 1, &i), JPOINTER_INDEX);
    cr_assert_eq(i, 0);
    cr_assert_eq(jpointer_index("120", 3, &i), JPOINTER_INDEX);
    cr_assert_eq(i, 120);
    cr_assert_eq(jpointer_index("-", 1, &i), JPOINTER_END);
    cr_assert_eq(jpointer_index("01", 2, &i), JPOINTER_BAD);
    cr_assert_eq(jpointer_index("00", 2, &i), JPOINTER_BAD);
    cr_assert_eq(jpointer_index("1e0", 3, &i), JPOINTER_BAD);
    cr_assert_eq(jpointer_index("-1", 2, &i), JPOINTER_BAD);
    cr_assert_eq(jpointer_index("", 0, &i), JPOINTER_BAD);
    cr_assert_eq(jpointer_index("99999999999999999999", 20, &i), JPOINTER_BAD);
}

Test(jpointer, resolves_in_jansson_values_and_says_which_token_failed)
{
    json_t *doc = json_loads("{\"a\":{\"b\":[10,{\"c\":true}]},\"x/y\":1,\"\":{\"\":2}}", 0, NULL);
    struct jpointer p;
    struct error err;
    json_t *v;

    jpointer_init(&p);
    error_init(&err);
    parse_ok(&p, "/a/b/1/c");
    cr_assert(json_is_true(jpointer_get(doc, &p, p.count, &err)));
    parse_ok(&p, "/x~1y");
    cr_assert_eq(json_integer_value(jpointer_get(doc, &p, p.count, &err)), 1);
    parse_ok(&p, "//");
    cr_assert_eq(json_integer_value(jpointer_get(doc, &p, p.count, &err)), 2);
    parse_ok(&p, "");
    cr_assert_eq(jpointer_get(doc, &p, p.count, &err), doc);

    parse_ok(&p, "/a/nope/c");
    v = jpointer_get(doc, &p, p.count, &err);
    cr_assert_null(v);
    cr_assert(strstr(err.message, "no member \"nope\" in the object at \"/a\""), "%s",
              err.message);
    parse_ok(&p, "/a/b/2");
    cr_assert_null(jpointer_get(doc, &p, p.count, &err));
    cr_assert(strstr(err.message, "index 2 is out of range for the array of 2 elements at "
                                  "\"/a/b\""), "%s", err.message);
    parse_ok(&p, "/a/b/01");
    cr_assert_null(jpointer_get(doc, &p, p.count, &err));
    cr_assert(strstr(err.message, "\"01\" is not an array index"), "%s", err.message);
    parse_ok(&p, "/x~1y/z");
    cr_assert_null(jpointer_get(doc, &p, p.count, &err));
    cr_assert(strstr(err.message, "in the number at \"/x~1y\""), "%s", err.message);
    jpointer_release(&p);
    json_decref(doc);
}

Test(jpointer, finds_nodes_in_parsed_documents)
{
    const char text[] = "{\"a\":[1,{\"k\":\"v\"}],\"a/b\":3}";
    struct jdoc d;
    struct jpointer p;
    struct error err;
    uint32_t n;

    jdoc_init(&d);
    jpointer_init(&p);
    error_init(&err);
    cr_assert_eq(jdoc_parse(&d, text, sizeof text - 1, "t", NULL, &err), 0);
    parse_ok(&p, "/a/1/k");
    n = jpointer_find(&d, 0, &p);
    cr_assert_neq(n, JDOC_NONE);
    cr_assert_eq(memcmp(d.nodes[n].text, "v", 1), 0);
    parse_ok(&p, "/a~1b");
    cr_assert_eq(d.nodes[jpointer_find(&d, 0, &p)].type, JDOC_NUMBER);
    parse_ok(&p, "/a/2");
    cr_assert_eq(jpointer_find(&d, 0, &p), JDOC_NONE);
    parse_ok(&p, "/a/0/x");
    cr_assert_eq(jpointer_find(&d, 0, &p), JDOC_NONE);
    jpointer_release(&p);
    jdoc_release(&d);
}

static bool matches(const char *pattern, const char *pointer)
{
    struct jpointer_pattern pat;
    struct jpointer p;
    struct error err;
    bool m;

    jpointer_pattern_init(&pat);
    jpointer_init(&p);
    error_init(&err);
    cr_assert_eq(jpointer_pattern_compile(&pat, pattern, strlen(pattern), &err), 0, "%s",
                 err.message);
    parse_ok(&p, pointer);
    m = jpointer_pattern_match(&pat, &p);
    jpointer_pattern_release(&pat);
    jpointer_release(&p);
    return m;
}

Test(jpattern, star_matches_one_token_and_globstar_any_number)
{
    cr_assert(matches("/data/*/updated_at", "/data/0/updated_at"));
    cr_assert(matches("/data/*/updated_at", "/data/x/updated_at"));
    cr_assert_not(matches("/data/*/updated_at", "/data/updated_at"));
    cr_assert_not(matches("/data/*/updated_at", "/data/0/1/updated_at"));
    cr_assert_not(matches("/data/*/updated_at", "/data/0/updated_at/x"));
    cr_assert(matches("/**/password", "/password"), "** also matches nothing");
    cr_assert(matches("/**/password", "/a/b/0/password"));
    cr_assert_not(matches("/**/password", "/a/password/x"));
    cr_assert(matches("/a/**", "/a"));
    cr_assert(matches("/a/**", "/a/b/c"));
    cr_assert(matches("/**", ""));
    cr_assert(matches("", ""));
    cr_assert_not(matches("", "/a"));
    cr_assert(matches("/a/**/b/**/c", "/a/x/b/y/z/c"));
    cr_assert_not(matches("/a/**/b/**/c", "/a/x/c"));
    cr_assert(matches("/x~1y/*", "/x~1y/0"), "escapes in patterns");
    cr_assert_not(matches("/x~1y/*", "/x/y/0"));
}

Test(jpattern, steps_many_patterns_at_once_like_a_walk_does)
{
    const char *texts[] = {"/data/*/id", "/**/updated_at", "/data"};
    struct jpointer_pattern pats[3];
    const struct jpointer_pattern *set[3];
    struct jpointer_state s0[16], s1[16], s2[16], s3[16];
    size_t n0, n1, n2, n3, final;
    struct error err;

    error_init(&err);
    for (int i = 0; i < 3; i++) {
        jpointer_pattern_init(&pats[i]);
        cr_assert_eq(jpointer_pattern_compile(&pats[i], texts[i], strlen(texts[i]), &err), 0);
        set[i] = &pats[i];
    }
    cr_assert_leq(jpointer_states_max(set, 3), 16);
    n0 = jpointer_match_start(set, 3, s0);
    n1 = jpointer_match_step(set, s0, n0, "data", 4, s1);
    final = 0;
    for (size_t i = 0; i < n1; i++)
        final += jpointer_state_final(set, &s1[i]) ? 1 + s1[i].pattern * 10 : 0;
    cr_assert_eq(final, 21, "only /data is matched at /data");
    n2 = jpointer_match_step(set, s1, n1, "7", 1, s2);
    n3 = jpointer_match_step(set, s2, n2, "updated_at", 10, s3);
    final = 0;
    for (size_t i = 0; i < n3; i++)
        if (jpointer_state_final(set, &s3[i]))
            final |= 1u << s3[i].pattern;
    cr_assert_eq(final, 2u, "/data/7/updated_at matches the globstar pattern only");
    n3 = jpointer_match_step(set, s2, n2, "id", 2, s3);
    final = 0;
    for (size_t i = 0; i < n3; i++)
        if (jpointer_state_final(set, &s3[i]))
            final |= 1u << s3[i].pattern;
    cr_assert_eq(final, 1u);
    n1 = jpointer_match_step(set, s0, n0, "other", 5, s1);
    cr_assert_eq(n1, 2, "the globstar pattern, before and after its **");
    cr_assert(s1[0].pattern == 1 && s1[1].pattern == 1,
              "only the globstar pattern stays alive off the /data branch");
    for (int i = 0; i < 3; i++)
        jpointer_pattern_release(&pats[i]);
}
