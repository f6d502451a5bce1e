/* common/jsonw: the block-wise string writer produces exactly what the
 * plain definition says, for random text of every kind of byte, across
 * block boundaries, in both modes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jsonw.h"
#include "utf8.h"

TestSuite(jsonw_fast, .timeout = 30);

/* The definition, one byte at a time. */
static void reference(struct buf *out, const unsigned char *s, size_t len, int html)
{
    buf_append_char(out, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t n = utf8_sequence_length(s + i, len - i);
            if (n == 3 && html && c == 0xE2 && s[i + 1] == 0x80 &&
                (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
                buf_append_str(out, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            else if (n)
                buf_append(out, s + i, n);
            else
                buf_append(out, "\xEF\xBF\xBD", 3);
            i += n ? n : 1;
            continue;
        }
        if (c == '"') buf_append_str(out, "\\\"");
        else if (c == '\\') buf_append_str(out, "\\\\");
        else if (c == '\n') buf_append_str(out, "\\n");
        else if (c == '\r') buf_append_str(out, "\\r");
        else if (c == '\t') buf_append_str(out, "\\t");
        else if (c < 0x20 || c == 0x7F || (html && (c == '<' || c == '>' || c == '&')))
            buf_printf(out, "\\u%04x", c);
        else
            buf_append_char(out, (char)c);
        i++;
    }
    buf_append_char(out, '"');
}

Test(jsonw_fast, random_text_is_written_exactly_as_defined)
{
    static const char *pieces[] = {"a", "plain text ", "\"", "\\", "\n", "\t", "\x01", "\x7f",
                                   "<", ">", "&", "\xc3\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                   "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xe2\x80", "{\"k\":1}",
                                   NULL /* a NUL byte */};
    unsigned seed = 42;
    unsigned char *text = malloc(20000);
    struct buf got, want;

    buf_init(&got, 1 << 20);
    buf_init(&want, 1 << 20);
    for (int round = 0; round < 400; round++) {
        size_t len = 0, target = (size_t)(rand_r(&seed) % (round < 200 ? 64 : 12000));
        while (len < target) {
            const char *p = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t n = p ? strlen(p) : 1;
            if (!p && round % 3) /* most rounds without NUL */
                continue;
            if (!p)
                p = "";
            if (len + n > 19999)
                break;
            memcpy(text + len, p, n);
            len += n;
        }
        for (int html = 0; html < 2; html++) {
            buf_reset(&got);
            buf_reset(&want);
            buf_append_str(&got, "prefix:");
            buf_append_str(&want, "prefix:");
            cr_assert_eq(jsonw_string(&got, (const char *)text, len, html ? JSONW_HTML_SAFE : 0), 0);
            reference(&want, text, len, html);
            cr_assert_eq(got.len, want.len, "round %d html %d: length %zu vs %zu", round, html,
                         got.len, want.len);
            cr_assert(memcmp(got.data, want.data, got.len) == 0, "round %d html %d", round, html);
            cr_assert_eq(got.data[got.len], '\0');
        }
        /* Text-only mode: the same output for text, a clean refusal else. */
        bool is_text = utf8_valid(text, len) && !memchr(text, 0, len);
        buf_reset(&got);
        buf_append_str(&got, "prefix:");
        int rc = jsonw_string(&got, (const char *)text, len, JSONW_TEXT_ONLY);
        if (is_text) {
            cr_assert_eq(rc, 0, "round %d", round);
            buf_reset(&want);
            buf_append_str(&want, "prefix:");
            reference(&want, text, len, 0);
            cr_assert(got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
                      "round %d text-only", round);
        } else {
            cr_assert_eq(rc, ERR_INPUT, "round %d", round);
            cr_assert_str_eq(got.data, "prefix:");
        }
    }
    buf_release(&got);
    buf_release(&want);
    free(text);
}

Test(jsonw_fast, integers_print_like_printf_at_every_digit_boundary)
{
    struct buf b;
    char want[32];
    unsigned seed = 7;

    buf_init(&b, 1 << 10);
    for (int k = 0; k < 2000 + 60; k++) {
        uint64_t v;
        if (k < 60) { /* 10^n - 1, 10^n, 10^n + 1 for n = 0..19 */
            uint64_t p = 1;
            for (int n = 0; n < k / 3; n++)
                p *= 10;
            v = p + (uint64_t)(k % 3) - 1;
        } else {
            v = ((uint64_t)rand_r(&seed) << 33 ^ (uint64_t)rand_r(&seed) << 11 ^
                 (uint64_t)rand_r(&seed)) >> (rand_r(&seed) % 64);
        }
        buf_reset(&b);
        cr_assert_eq(jsonw_uint(&b, v), 0);
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        cr_assert_str_eq(b.data, want);
    }
    buf_reset(&b);
    jsonw_uint(&b, UINT64_MAX);
    cr_expect_str_eq(b.data, "18446744073709551615");
    buf_release(&b);
}
