/* Unit tests for common/: bounded buffers, UTF-8, base64, the JSON writer. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "errors.h"
#include "jsonw.h"
#include "utf8.h"

Test(buf, appends_until_the_maximum_then_refuses)
{
    struct buf b;
    buf_init(&b, 10);
    cr_assert_eq(buf_append_str(&b, "0123456789"), 0);
    cr_assert_eq(buf_append_char(&b, 'x'), ERR_TOOBIG);
    cr_assert_eq(buf_append_str(&b, "y"), ERR_TOOBIG);
    cr_assert_eq(b.len, 10);
    cr_assert_str_eq(b.data, "0123456789");
    buf_consume(&b, 4);
    cr_assert_str_eq(b.data, "456789");
    cr_assert_eq(buf_printf(&b, "%d", 1234), 0);
    cr_assert_str_eq(b.data, "4567891234");
    cr_assert_eq(buf_printf(&b, "%d", 5), ERR_TOOBIG);
    size_t len;
    char *taken = buf_take(&b, &len);
    cr_assert_eq(len, 10);
    cr_assert_null(b.data);
    free(taken);
    buf_release(&b);
}

Test(utf8, accepts_well_formed_and_rejects_malformed_sequences)
{
    cr_assert(utf8_valid("plain ascii, long enough to use the fast path", 46));
    cr_assert(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    cr_assert_not(utf8_valid("\xc0\xaf", 2), "overlong slash");
    cr_assert_not(utf8_valid("\xed\xa0\x80", 3), "surrogate");
    cr_assert_not(utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
    cr_assert_not(utf8_valid("abcdefgh\xe2\x82", 10), "truncated at the end");
    cr_assert_not(utf8_valid("\xff", 1));
}

Test(base64, round_trips_every_length_and_rejects_bad_text)
{
    unsigned char data[256];
    for (int i = 0; i < 256; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    for (size_t len = 0; len < 40; len++) {
        struct buf enc, dec;
        buf_init(&enc, 1024);
        buf_init(&dec, 1024);
        cr_assert_eq(base64_encode(&enc, data, len), 0);
        cr_assert_eq(enc.len, (len + 2) / 3 * 4);
        cr_assert_eq(base64_decode(&dec, enc.data ? enc.data : "", enc.len, NULL), 0);
        cr_assert_eq(dec.len, len);
        cr_assert(len == 0 || memcmp(dec.data, data, len) == 0);
        buf_release(&enc);
        buf_release(&dec);
    }
    struct buf b;
    size_t bad = 99;
    buf_init(&b, 64);
    cr_assert_eq(base64_encode(&b, "hello", 5), 0);
    cr_assert_str_eq(b.data, "aGVsbG8=");
    buf_reset(&b);
    cr_assert_eq(base64_decode(&b, "aGV*bG8=", 8, &bad), ERR_INPUT);
    cr_assert_eq(bad, 3);
    cr_assert_eq(base64_decode(&b, "aGVsbG8", 7, NULL), ERR_INPUT);
    cr_assert_eq(base64_decode(&b, "a=Vs", 4, NULL), ERR_INPUT);
    buf_release(&b);
}

Test(jsonw, escapes_strings_so_jansson_reads_back_the_same_text)
{
    const char text[] = "quote\" back\\ nl\n tab\t ctl\x01 del\x7f caf\xc3\xa9 </script>";
    struct buf b;
    json_error_t jerr;
    buf_init(&b, 4096);
    cr_assert_eq(jsonw_string(&b, text, sizeof text - 1, 0), 0);
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, &jerr);
    cr_assert_not_null(v, "%s: %s", b.data, jerr.text);
    cr_assert_str_eq(json_string_value(v), text);
    json_decref(v);
    buf_release(&b);
}

Test(jsonw, html_safe_mode_leaves_no_markup_characters)
{
    const char text[] = "</script><b>&amp;\xe2\x80\xa8";
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(jsonw_string(&b, text, sizeof text - 1, JSONW_HTML_SAFE), 0);
    cr_assert_null(strpbrk(b.data, "<>&"), "%s", b.data);
    cr_assert_null(strstr(b.data, "\xe2\x80\xa8"));
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
    cr_assert_str_eq(json_string_value(v), text);
    json_decref(v);
    buf_release(&b);
}

Test(jsonw, replaces_invalid_utf8_with_the_replacement_character)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(jsonw_string(&b, "a\xff" "b", 3, 0), 0);
    cr_assert_str_eq(b.data, "\"a\xef\xbf\xbd" "b\"");
    buf_release(&b);
}

Test(jsonw, prints_numbers_that_read_back_exactly)
{
    struct buf b;
    buf_init(&b, 256);
    jsonw_int(&b, INT64_MIN);
    buf_append_char(&b, ' ');
    jsonw_uint(&b, UINT64_MAX);
    buf_append_char(&b, ' ');
    jsonw_double(&b, 0.1);
    buf_append_char(&b, ' ');
    jsonw_double(&b, 2.0);
    cr_assert_str_eq(b.data, "-9223372036854775808 18446744073709551615 0.1 2");
    buf_release(&b);
}

Test(errors, table_gives_names_descriptions_and_exit_codes)
{
    struct error err;
    error_init(&err);
    cr_assert_eq(error_set(&err, ERR_INPUT, "x.json:%d:%d: expected a number", 3, 4), ERR_INPUT);
    cr_assert_str_eq(err.message, "x.json:3:4: expected a number");
    error_prefix(&err, "while reading %s", "scenario");
    cr_assert_str_eq(err.message, "while reading scenario: x.json:3:4: expected a number");
    cr_assert_str_eq(error_name(ERR_TOOBIG), "ERR_TOOBIG");
    cr_assert_eq(error_exit_code(ERR_INPUT), EXIT_BAD_INPUT);
    cr_assert_eq(error_exit_code(ERR_DATABASE), EXIT_ENVIRONMENT);
}

#include "json_locate.h"

Test(json_locate, finds_the_line_and_column_of_a_value_by_pointer)
{
    const char *text =
        "{\n"
        "  \"name\": \"demo\",\n"
        "  \"steps\": [\n"
        "    {\"sleep\": 1},\n"
        "    {\"replay\": {\"trace\": \"t.jsonl\", \"speed\": \"fast\"}},\n"
        "    {\"a/b\": {\"x~y\": [10, 20]}, \"esc\\u0061ped\": true}\n"
        "  ]\n"
        "}\n";
    struct json_location loc;

    cr_assert_eq(json_locate(text, strlen(text), "/steps/1/replay/speed", &loc), 0);
    cr_assert_eq(loc.line, 5);
    cr_assert_eq(loc.column, 46);
    cr_assert_eq(text[loc.offset], '"');
    cr_assert_eq(json_locate(text, strlen(text), "/steps/2/a~1b/x~0y/1", &loc), 0);
    cr_assert_eq(loc.line, 6);
    cr_assert_eq(strncmp(text + loc.offset, "20", 2), 0);
    cr_assert_eq(json_locate(text, strlen(text), "/steps/2/escaped", &loc), 0);
    cr_assert_eq(strncmp(text + loc.offset, "true", 4), 0);
    cr_assert_eq(json_locate(text, strlen(text), "", &loc), 0);
    cr_assert_eq(loc.line, 1);
    /* A missing member points at the deepest existing value: its object. */
    cr_assert_eq(json_locate(text, strlen(text), "/steps/1/replay/targets", &loc), -1);
    cr_assert_eq(loc.line, 5);
    cr_assert_eq(text[loc.offset], '{');
    cr_assert_eq(json_locate(text, strlen(text), "/steps/9", &loc), -1);
    cr_assert_eq(loc.line, 3);
}

Test(json_locate, survives_malformed_text)
{
    struct json_location loc;
    const char *bad[] = {"", "{", "{\"a\":", "[1,2", "{\"a\" 1}", "\"unterminated", "[[[[[["};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(json_locate(bad[i], strlen(bad[i]), "/a/0", &loc), -1);
}

Test(json_locate, displays_pointers_as_paths)
{
    char out[128];
    json_pointer_display("/steps/3/replay/speed", out, sizeof out);
    cr_assert_str_eq(out, "steps[3].replay.speed");
    json_pointer_display("/headers/Content-Type/0", out, sizeof out);
    cr_assert_str_eq(out, "headers.Content-Type[0]");
    json_pointer_display("/a b/x~1y", out, sizeof out);
    cr_assert_str_eq(out, "[\"a b\"][\"x/y\"]");
    json_pointer_display("", out, sizeof out);
    cr_assert_str_eq(out, "");
}
