/* ISO 8601 date-times to and from µs since the epoch, host-independent. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "timefmt.h"

static int64_t parse_ok(const char *s)
{
    int64_t us = 0;
    cr_assert_eq(timefmt_parse_iso8601(s, strlen(s), &us, NULL), 0, "'%s' should parse", s);
    return us;
}

static void parse_bad(const char *s, size_t at)
{
    int64_t us;
    size_t bad = 999;
    cr_assert_eq(timefmt_parse_iso8601(s, strlen(s), &us, &bad), ERR_INPUT, "'%s'", s);
    cr_assert_eq(bad, at, "'%s': wrong at %zu, expected %zu", s, bad, at);
}

Test(timefmt, parses_zones_fractions_and_separators)
{
    cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(parse_ok("2024-05-14T09:12:03.517Z"), 1715677923517000);
    cr_assert_eq(parse_ok("2024-05-14T11:12:03.517+02:00"), 1715677923517000);
    cr_assert_eq(parse_ok("2024-05-14T04:42:03.517-0430"), 1715677923517000);
    cr_assert_eq(parse_ok("2024-05-14T10:12:03.517+01"), 1715677923517000);
    cr_assert_eq(parse_ok("2024-05-14 09:12:03.5171239z"), 1715677923517123);
    cr_assert_eq(parse_ok("2024-05-14T09:12Z"), 1715677920000000);
    cr_assert_eq(parse_ok("2024-02-29T00:00:00Z"), 1709164800000000);
    cr_assert_eq(parse_ok("1969-12-31T23:59:59.5Z"), -500000);
}

Test(timefmt, rejects_what_is_not_a_date_time_and_says_where)
{
    parse_bad("", 0);
    parse_bad("yesterday", 0);
    parse_bad("2024-05-14", 10);           /* no time */
    parse_bad("2024-05-14T09:12:03", 19);  /* no zone: ambiguous */
    parse_bad("2024-13-01T00:00:00Z", 5);  /* month */
    parse_bad("2023-02-29T00:00:00Z", 5);  /* not a leap year */
    parse_bad("2024-05-14T24:00:00Z", 19);
    parse_bad("2024-05-14T09:12:03.Z", 20);
    parse_bad("2024-05-14T09:12:03Zjunk", 20);
}

static void format_is(int64_t us, const char *want)
{
    struct buf b;
    buf_init(&b, 64);
    cr_assert_eq(timefmt_iso8601(&b, us), 0);
    cr_assert_str_eq(b.data, want);
    buf_release(&b);
}

Test(timefmt, formats_utc_with_microseconds_and_reads_back)
{
    format_is(0, "1970-01-01T00:00:00.000000Z");
    format_is(1715677923517123, "2024-05-14T09:12:03.517123Z");
    format_is(-500000, "1969-12-31T23:59:59.500000Z");
    format_is(951782400000001, "2000-02-29T00:00:00.000001Z");
    for (int64_t us = -86400000000LL * 800; us < 86400000000LL * 40000; us += 86399999999LL) {
        struct buf b;
        int64_t back;
        buf_init(&b, 64);
        timefmt_iso8601(&b, us);
        cr_assert_eq(timefmt_parse_iso8601(b.data, b.len, &back, NULL), 0, "%s", b.data);
        cr_assert_eq(back, us, "%s", b.data);
        buf_release(&b);
    }
}
