/*
 * The shared pieces of the report writers: escaping for HTML, XML and
 * Markdown (reports/escape.h), the JSON stream writer (reports/jout.h), the
 * shape checker with its located errors (reports/json_shape.h), and the SVG
 * chart helper (reports/svg.h).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "json_shape.h"
#include "jout.h"
#include "jsonw.h"
#include "svg.h"

static char *esc(enum escape_context ctx, const char *s, size_t len, size_t max, unsigned flags)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    cr_assert_eq(escape_append(&b, ctx, s, len, max, flags), 0);
    return buf_take(&b, NULL);
}

#define ESC(ctx, s) esc(ctx, s, strlen(s), 0, 0)

Test(escape, html_text_escapes_markup_and_keeps_quotes)
{
    char *s = ESC(ESCAPE_HTML_TEXT, "<script>a&b</script> \"q\" 'r'");
    cr_assert_str_eq(s, "&lt;script&gt;a&amp;b&lt;/script&gt; \"q\" 'r'");
    free(s);
}

Test(escape, html_attributes_escape_both_quotes)
{
    char *s = ESC(ESCAPE_HTML_ATTR, "\" onmouseover='x' <>&");
    cr_assert_str_eq(s, "&quot; onmouseover=&#39;x&#39; &lt;&gt;&amp;");
    free(s);
}

Test(escape, control_characters_become_visible_pictures)
{
    char *s = esc(ESCAPE_HTML_TEXT, "a\0b\x1b[31m\x7f", 9, 0, 0);
    cr_assert_str_eq(s, "a<span class=\"cc\">\xE2\x90\x80</span>b"
                        "<span class=\"cc\">\xE2\x90\x9B</span>[31m"
                        "<span class=\"cc\">\xE2\x90\xA1</span>");
    free(s);
    s = esc(ESCAPE_PLAIN, "a\nb\tc", 5, 0, 0);
    cr_assert_str_eq(s, "a\xE2\x90\x8A" "b\xE2\x90\x89" "c");
    free(s);
    s = esc(ESCAPE_PLAIN, "a\nb\tc", 5, 0, ESCAPE_KEEP_NEWLINES);
    cr_assert_str_eq(s, "a\nb\tc");
    free(s);
}

Test(escape, bidi_and_invisible_characters_are_named)
{
    /* RLO, LRI...PDI, zero-width space and joiner, BOM, line separator, C1 NEL */
    const char *in = "admin\xE2\x80\xAEgnp.exe \xE2\x81\xA6x\xE2\x81\xA9 "
                     "\xE2\x80\x8B\xE2\x80\x8D\xEF\xBB\xBF\xE2\x80\xA8\xC2\x85";
    char *s = ESC(ESCAPE_PLAIN, in);
    cr_assert_str_eq(s, "admin[U+202E]gnp.exe [U+2066]x[U+2069] "
                        "[U+200B][U+200D][U+FEFF][U+2028][U+0085]");
    free(s);
    s = ESC(ESCAPE_HTML_TEXT, "\xE2\x80\xAE");
    cr_assert_str_eq(s, "<span class=\"cc\">[U+202E]</span>");
    free(s);
    cr_assert(escape_is_hidden(0x202E));
    cr_assert(escape_is_hidden(0xE0041)); /* a tag character */
    cr_assert_not(escape_is_hidden(0x00E9));
    cr_assert_not(escape_is_hidden(0x4E2D));
}

Test(escape, invalid_utf8_becomes_the_replacement_character)
{
    /* a stray continuation byte, a truncated sequence, a surrogate, an overlong */
    const char in[] = "a\x80" "b\xC3" "c\xED\xA0\x80" "d\xC0\xAF" "e";
    char *s = esc(ESCAPE_HTML_TEXT, in, sizeof in - 1, 0, 0);
    cr_assert_str_eq(s, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                        "d\xEF\xBF\xBD\xEF\xBF\xBD" "e");
    free(s);
    /* well-formed text of every length passes as it is */
    s = ESC(ESCAPE_HTML_TEXT, "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    cr_assert_str_eq(s, "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
    free(s);
}

Test(escape, xml_replaces_what_xml_forbids_even_as_references)
{
    char *s = esc(ESCAPE_XML_TEXT, "a\x01" "b\r\n\xEF\xBF\xBE", 8, 0, ESCAPE_KEEP_NEWLINES);
    cr_assert_str_eq(s, "a\xE2\x90\x81" "b&#13;\n\xEF\xBF\xBD");
    free(s);
    s = esc(ESCAPE_XML_ATTR, "l1\nl2\t'\"<", 9, 0, ESCAPE_KEEP_NEWLINES);
    cr_assert_str_eq(s, "l1&#10;l2&#9;&#39;&quot;&lt;");
    free(s);
}

Test(escape, long_values_are_cut_with_a_note)
{
    char *s = esc(ESCAPE_PLAIN, "abcdefghij", 10, 4, 0);
    cr_assert_str_eq(s, "abcd\xE2\x80\xA6 [6 more bytes]");
    free(s);
    s = esc(ESCAPE_HTML_TEXT, "\xC3\xA9\xC3\xA9\xC3\xA9", 6, 2, 0);
    cr_assert_str_eq(s, "\xC3\xA9\xC3\xA9<span class=\"more\">\xE2\x80\xA6 [2 more bytes]</span>");
    free(s);
}

Test(jout, pretty_output_puts_scalar_arrays_on_one_line)
{
    struct buf b;
    struct jout j;

    buf_init(&b, 4096);
    jout_init(&j, &b, 2, 0);
    jout_object(&j);
    jout_key(&j, "n");
    jout_uint(&j, 3);
    jout_key(&j, "list");
    jout_array_inline(&j);
    jout_cstring(&j, "a");
    jout_int(&j, -1);
    jout_end(&j);
    jout_key(&j, "o");
    jout_object(&j);
    jout_key(&j, "r");
    jout_double(&j, 0.1);
    jout_end(&j);
    jout_key(&j, "e");
    jout_array(&j);
    jout_end(&j);
    jout_end(&j);
    cr_assert_eq(jout_finish(&j), 0);
    cr_assert_str_eq(b.data, "{\n  \"n\": 3,\n  \"list\": [\"a\", -1],\n  \"o\": {\n    \"r\": 0.1\n"
                             "  },\n  \"e\": []\n}\n");
    buf_release(&b);
}

Test(jout, html_safe_output_cannot_end_a_script_element)
{
    struct buf b;
    struct jout j;

    buf_init(&b, 4096);
    jout_init(&j, &b, 0, JSONW_HTML_SAFE);
    jout_object(&j);
    jout_key(&j, "</script>");
    jout_cstring(&j, "</script><!-- \xE2\x80\xA8 &");
    jout_end(&j);
    cr_assert_eq(jout_finish(&j), 0);
    cr_assert_null(strchr(b.data, '<'));
    cr_assert_null(strchr(b.data, '>'));
    cr_assert_null(strchr(b.data, '&'));
    cr_assert_null(strstr(b.data, "\xE2\x80\xA8"));
    cr_assert_str_eq(b.data, "{\"\\u003c/script\\u003e\":\"\\u003c/script\\u003e\\u003c!-- "
                             "\\u2028 \\u0026\"}");
    buf_release(&b);
}

Test(jout, calls_out_of_order_fail_and_stay_failed)
{
    struct buf b;
    struct jout j;

    buf_init(&b, 4096);
    jout_init(&j, &b, 0, 0);
    jout_object(&j);
    jout_uint(&j, 1); /* a value without a key */
    cr_assert_eq(j.rc, ERR_STATE);
    jout_key(&j, "k");
    jout_end(&j);
    cr_assert_eq(jout_finish(&j), ERR_STATE);
    buf_release(&b);

    buf_init(&b, 8); /* too small */
    jout_init(&j, &b, 0, 0);
    jout_cstring(&j, "a long string");
    cr_assert_eq(jout_finish(&j), ERR_TOOBIG);
    buf_release(&b);
}

/* ---- json_shape ---- */

static const struct jshape s_count = {.kind = JSHAPE_COUNT};
static const struct jshape s_string = {.kind = JSHAPE_STRING};
static const char *const colors[] = {"red", "green", NULL};
static const struct jshape s_color = {.kind = JSHAPE_STRING, .values = colors, .what = "a color"};
static const struct jshape_member m_item[] = {
    {"n", &s_count, true},
    {"color", &s_color, false},
    {NULL, NULL, false},
};
static const struct jshape s_item = {.kind = JSHAPE_OBJECT, .members = m_item};
static const struct jshape_member m_doc[] = {
    {"name", &s_string, true},
    {"items", &(const struct jshape){.kind = JSHAPE_ARRAY, .items = &s_item}, true},
    {"by", &(const struct jshape){.kind = JSHAPE_MAP, .items = &s_count}, false},
    {NULL, NULL, false},
};
static const struct jshape s_doc = {.kind = JSHAPE_OBJECT, .members = m_doc};

static int check_text(const char *text, struct error *err)
{
    struct jdoc d;
    int rc;

    jdoc_init(&d);
    error_init(err);
    cr_assert_eq(jdoc_parse(&d, text, strlen(text), "doc.json", NULL, NULL), 0);
    rc = jshape_check(&d, 0, "", &s_doc, err);
    jdoc_release(&d);
    return rc;
}

Test(json_shape, a_document_of_the_shape_passes_and_unknown_members_are_ignored)
{
    struct error err;
    cr_assert_eq(check_text("{\"name\": \"x\", \"items\": [{\"n\": 0, \"color\": \"red\"}],"
                            " \"future\": [1], \"by\": {\"a\": 18446744073709551615}}", &err),
                 0, "%s", err.message);
}

Test(json_shape, a_missing_member_is_located_at_its_object)
{
    struct error err;
    cr_assert_eq(check_text("{\"name\": \"x\",\n \"items\": [{\"n\": 1},\n   {\"color\": \"red\"}]}",
                            &err), ERR_INPUT);
    cr_assert_str_eq(err.message, "doc.json:3:4: items[1]: missing required member \"n\"");
}

Test(json_shape, a_wrong_type_says_what_was_expected_and_found)
{
    struct error err;
    cr_assert_eq(check_text("{\"name\": \"x\", \"items\": [{\"n\": -1}]}", &err), ERR_INPUT);
    cr_assert_str_eq(err.message, "doc.json:1:31: items[0].n: expected a count (an integer >= 0), "
                                  "found the number -1");
    cr_assert_eq(check_text("{\"name\": 7, \"items\": []}", &err), ERR_INPUT);
    cr_assert_str_eq(err.message, "doc.json:1:10: name: expected a string, found the number 7");
    cr_assert_eq(check_text("{\"name\": \"x\", \"items\": [{\"n\": 1.5}]}", &err), ERR_INPUT);
    cr_assert_eq(check_text("{\"name\": \"x\", \"items\": [{\"n\": 18446744073709551616}]}", &err),
                 ERR_INPUT);
}

Test(json_shape, enumerations_list_the_allowed_values)
{
    struct error err;
    cr_assert_eq(check_text("{\"name\": \"x\", \"items\": [{\"n\": 1, \"color\": \"blue\"}]}", &err),
                 ERR_INPUT);
    cr_assert_str_eq(err.message, "doc.json:1:43: items[0].color: expected a color (one of "
                                  "\"red\", \"green\"), found a string (\"blue\")");
}

Test(json_shape, hostile_member_names_in_paths_are_quoted_and_made_visible)
{
    struct error err;
    cr_assert_eq(check_text("{\"name\": \"x\", \"items\": [], \"by\": {\"a\\u001b[2J/b\": \"no\"}}",
                            &err), ERR_INPUT);
    cr_assert_str_eq(err.message, "doc.json:1:51: by[\"a\xE2\x90\x9B[2J/b\"]: expected a count "
                                  "(an integer >= 0), found a string (\"no\")");
}

/* ---- svg ---- */

Test(svg, labels_are_escaped_and_charts_carry_no_style_or_script)
{
    struct buf b;
    double x[] = {10, 20}, y[] = {0.5, 0.25};
    struct svg_series s = {"<b>base</b>", 11, x, y, 2, NULL, NULL, 0};
    struct svg_tick ticks[4];
    struct svg_axes a = {400, 200, "t\"<>", true, 5, 50, 1, ticks, 0, NULL, 0};

    a.n_x_ticks = svg_us_ticks(6, 50, ticks, 4);
    cr_assert_eq(a.n_x_ticks, 3); /* 10, 20, 50 */
    buf_init(&b, 1 << 20);
    cr_assert_eq(svg_step_chart(&b, &a, &s, 1), 0);
    cr_assert_not_null(strstr(b.data, "&lt;b&gt;base&lt;/b&gt;"));
    cr_assert_not_null(strstr(b.data, "aria-label=\"t&quot;&lt;&gt;\""));
    cr_assert_null(strstr(b.data, "<b>"));
    cr_assert_null(strstr(b.data, "style"));
    cr_assert_null(strstr(b.data, "script"));
    buf_release(&b);
}
