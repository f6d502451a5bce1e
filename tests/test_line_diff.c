/* reports/line_diff (text bodies), reports/align (shared with the JSON diff)
 * and common/idset (transactions seen). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "line_diff.h"

TestSuite(line_diff);

static struct line_diff d;

static void diff(const char *a, const char *b, size_t max)
{
    cr_assert_eq(line_diff_texts(&d, a, strlen(a), b, strlen(b), max), 0);
}

static void expect(size_t i, enum jdiff_kind kind, uint32_t a, uint32_t b)
{
    cr_assert_lt(i, d.count);
    cr_assert_eq(d.items[i].kind, kind, "item %zu kind %d", i, d.items[i].kind);
    cr_assert_eq(d.items[i].a_line, a, "item %zu a %u", i, d.items[i].a_line);
    cr_assert_eq(d.items[i].b_line, b, "item %zu b %u", i, d.items[i].b_line);
}

Test(line_diff, equal_texts_have_no_difference)
{
    line_diff_init(&d);
    diff("a\nb\n", "a\nb\n", 0);
    cr_assert_eq(d.count, 0);
    diff("", "", 0);
    cr_assert_eq(d.count, 0);
    line_diff_release(&d);
}

Test(line_diff, an_inserted_line_is_one_addition)
{
    line_diff_init(&d);
    diff("a\nb\nc\nd\n", "a\nnew\nb\nc\nd\n", 0);
    cr_assert_eq(d.count, 1);
    expect(0, JDIFF_ADDED, 0, 2);
    diff("a\nb\nc\nd\n", "a\nc\nd\n", 0);
    cr_assert_eq(d.count, 1);
    expect(0, JDIFF_REMOVED, 2, 0);
    line_diff_release(&d);
}

Test(line_diff, changed_lines_pair_up_and_a_missing_newline_counts)
{
    line_diff_init(&d);
    diff("1\n2\n3\n4\n5\n", "1\nX\n3\nY\nZ\n5\n", 0);
    cr_assert_eq(d.count, 3);
    expect(0, JDIFF_CHANGED, 2, 2);
    expect(1, JDIFF_CHANGED, 4, 4);
    expect(2, JDIFF_ADDED, 0, 5);
    diff("a\nb\n", "a\nb", 0);
    cr_assert_eq(d.count, 1);
    expect(0, JDIFF_CHANGED, 2, 2);
    line_diff_release(&d);
}

Test(line_diff, items_are_capped_but_all_counted)
{
    char a[4096] = "", b[4096] = "";
    line_diff_init(&d);
    for (int i = 0; i < 300; i++) {
        snprintf(a + strlen(a), sizeof a - strlen(a), "a%d\n", i);
        snprintf(b + strlen(b), sizeof b - strlen(b), "b%d\n", i);
    }
    diff(a, b, 10);
    cr_assert_eq(d.count, 10);
    cr_assert_eq(d.differences, 300);
    cr_assert(d.truncated);
    line_diff_release(&d);
}

Test(line_diff, many_edits_fall_back_to_pairing_in_order)
{
    size_t n = 5000, len = 0;
    char *a = malloc(n * 8), *b = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)sprintf(a + len, "%zu\n", i);
    }
    len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(b + len, "%zu\n", i % 2 ? i : i + 1000000);
    line_diff_init(&d);
    diff(a, b, 0);
    cr_assert_geq(d.differences, n / 2);
    line_diff_release(&d);
    free(a);
    free(b);
}

Test(line_diff, an_idset_notices_an_id_seen_twice)
{
    struct idset s;
    idset_init(&s);
    for (uint64_t i = 1; i <= 100000; i++)
        cr_assert_eq(idset_add(&s, i), 1);
    cr_assert_eq(idset_add(&s, 77777), 0);
    cr_assert_eq(idset_add(&s, UINT64_MAX), 1);
    cr_assert_eq(idset_add(&s, UINT64_MAX), 0);
    cr_assert_eq(idset_add(&s, 0), 1);
    cr_assert_eq(s.count, 100002);
    /* dense ids cost about a bit each */
    cr_assert_lt(idset_memory(&s), 64 * 1024);
    idset_release(&s);
}
