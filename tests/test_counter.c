/* Bounded counting: exact per key up to the cap, exact "other" beyond. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

Test(counter, counts_exactly_and_sorts_by_count_then_key)
{
    struct counter c;
    counter_init(&c, 100, 64);
    const char *keys[] = {"b", "a", "c", "b", "ab", "c", "b", "a"};
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(counter_add(&c, keys[i], strlen(keys[i]), 1), 0);
    struct counter_entry *s = counter_sorted(&c);
    cr_assert_eq(c.count, 4);
    cr_assert_str_eq(s[0].key, "b");
    cr_assert_eq(s[0].count, 3);
    cr_assert_str_eq(s[1].key, "a");  /* 2, before "c" (2) by key */
    cr_assert_str_eq(s[2].key, "c");
    cr_assert_str_eq(s[3].key, "ab");
    cr_assert_eq(c.total, 8);
    free(s);
    counter_release(&c);
}

Test(counter, keys_beyond_the_cap_go_to_other_and_memory_stays_bounded)
{
    struct counter c;
    char key[32];
    counter_init(&c, 10, 64);
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i % 1000);
        int rc = counter_add(&c, key, (size_t)n, 1);
        cr_assert_eq(rc, i % 1000 < 10 ? 0 : 1);
    }
    cr_assert_eq(c.count, 10);
    cr_assert_eq(c.other, 99000);
    cr_assert_eq(c.total, 100000);
    cr_assert_leq(c.slot_count, 64);
    counter_release(&c);
}

Test(counter, lookup_keeps_a_value_per_key_and_cuts_long_keys)
{
    struct counter c;
    int rc;
    counter_init(&c, 2, 4);
    struct counter_entry *e = counter_lookup(&c, "abcdef", 6, &rc);
    cr_assert_not_null(e);
    cr_assert_str_eq(e->key, "abcd");
    e->value = 7;
    cr_assert_eq(counter_lookup(&c, "abcdXY", 6, &rc)->value, 7);
    cr_assert_not_null(counter_lookup(&c, "z", 1, &rc));
    cr_assert_null(counter_lookup(&c, "y", 1, &rc));
    cr_assert_eq(rc, 1);
    counter_release(&c);
}
