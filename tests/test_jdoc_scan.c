/* reports/jdoc: the eight-bytes-at-a-time string scan stops at every byte
 * that needs attention, wherever it falls in the word. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "jdoc.h"

TestSuite(jdoc_scan);

Test(jdoc_scan, escapes_quotes_controls_and_utf8_are_found_at_every_position)
{
    static const char *const specials[] = {"\\\"", "\\\\", "\\n", "\xc3\xa9", "\\u00e9", "~"};
    static const char *const decoded[] = {"\"", "\\", "\n", "\xc3\xa9", "\xc3\xa9", "~"};
    struct jdoc d;
    struct error err;
    char text[128], want[128];

    jdoc_init(&d);
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++)
        for (int pos = 0; pos < 24; pos++)
            for (int tail = 0; tail < 10; tail += 3) {
                int n = snprintf(text, sizeof text, "\"%.*s%s%.*s\"", pos,
                                 "abcdefghijklmnopqrstuvwxyz", specials[k], tail, "0123456789");
                snprintf(want, sizeof want, "%.*s%s%.*s", pos, "abcdefghijklmnopqrstuvwxyz",
                         decoded[k], tail, "0123456789");
                error_init(&err);
                cr_assert_eq(jdoc_parse(&d, text, (size_t)n, "t", NULL, &err), 0, "%s: %s",
                             text, err.message);
                cr_assert_eq(d.nodes[0].len, strlen(want), "%s", text);
                cr_assert(memcmp(d.nodes[0].text, want, strlen(want)) == 0, "%s", text);
            }
    /* a raw control character or an invalid byte is refused where it is */
    for (int pos = 0; pos < 20; pos++) {
        int n = snprintf(text, sizeof text, "\"%.*s\x01xyz\"", pos, "abcdefghijklmnopqrstuvwxyz");
        error_init(&err);
        cr_assert_eq(jdoc_parse(&d, text, (size_t)n, "t", NULL, &err), ERR_INPUT);
        snprintf(want, sizeof want, "(byte offset %d)", pos + 1);
        cr_assert_not_null(strstr(err.message, want), "%s", err.message);
        n = snprintf(text, sizeof text, "\"%.*s\xff\"", pos, "abcdefghijklmnopqrstuvwxyz");
        error_init(&err);
        cr_assert_eq(jdoc_parse(&d, text, (size_t)n, "t", NULL, &err), ERR_INPUT);
        cr_assert_not_null(strstr(err.message, "invalid UTF-8"), "%s", err.message);
    }
    jdoc_release(&d);
}
