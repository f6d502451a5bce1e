/* common/histogram: log2x8 buckets computed exactly, percentiles, merging. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

TestSuite(histogram);

/* The smallest value of bucket b: ceil(2^(b/8)) - 1, computed with exact
 * integer roots (python3: isqrt(isqrt(isqrt(2**b))), + 1 unless exact). */
static const struct {
    unsigned b;
    uint64_t lower;
} edges[] = {
    {0, 0}, {8, 1}, {10, 2}, {12, 2}, {16, 3}, {17, 4}, {80, 1023}, {100, 5792},
    {159, 961548}, {160, 1048575}, {200, 33554431}, {300, 194368031998ull},
    {400, 1125899906842623ull}, {480, 1152921504606846975ull},
    {500, 6521908912666391106ull}, {511, 16915738899553466670ull},
    {512, 18446744073709551615ull},
};

Test(histogram, buckets_are_exact_at_their_edges)
{
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        uint64_t v = edges[i].lower;
        /* equal for a bucket that holds values; above it for an empty one */
        cr_assert_geq(histogram_bucket(v), edges[i].b, "bucket(%llu)", (unsigned long long)v);
        if (v)
            cr_assert_lt(histogram_bucket(v - 1), edges[i].b, "bucket(%llu)",
                         (unsigned long long)v - 1);
        cr_assert_eq(histogram_bucket_lower(edges[i].b), v, "lower(%u)", edges[i].b);
    }
    /* floor(8 log2 1001) = 79, floor(8 log2 1023) = 79.98, floor(8 log2 1024) = 80 */
    cr_assert_eq(histogram_bucket(1000), 79);
    cr_assert_eq(histogram_bucket(1022), 79);
    cr_assert_eq(histogram_bucket(1023), 80);
    cr_assert_eq(histogram_bucket(50000), 124);
    /* buckets 1..7 are empty: 0 is bucket 0 and 1 already bucket 8 */
    cr_assert_eq(histogram_bucket(1), 8);
    cr_assert_gt(histogram_bucket_lower(3), histogram_bucket_upper(3));
    cr_assert_eq(histogram_bucket_upper(8), 1);
    cr_assert_eq(histogram_bucket_upper(79), 1022);
}

Test(histogram, buckets_agree_with_floating_point_away_from_edges)
{
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        uint64_t v;
        long double l;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = x >> (x % 60);
        l = 8.0L * log2l((long double)v + 1.0L);
        if (fabsl(l - roundl(l)) < 1e-9L)
            continue; /* too close to an edge for long double to tell */
        cr_assert_eq(histogram_bucket(v), (unsigned)floorl(l), "v=%llu", (unsigned long long)v);
    }
}

Test(histogram, percentiles_are_within_a_bucket_and_never_above_the_max)
{
    struct histogram h;
    histogram_init(&h);
    cr_assert_eq(histogram_percentile(&h, 50), 0);
    for (uint64_t v = 1; v <= 1000; v++)
        histogram_add(&h, v);
    cr_assert_eq(h.count, 1000);
    cr_assert_eq(h.min, 1);
    cr_assert_eq(h.max, 1000);
    for (double p = 1; p <= 100; p += 1) {
        uint64_t got = histogram_percentile(&h, p), exact = (uint64_t)ceil(p * 10);
        cr_assert_geq(got, exact, "p%g", p);
        cr_assert_leq((double)got, exact * 1.0906 + 1, "p%g: %llu", p, (unsigned long long)got);
    }
    cr_assert_eq(histogram_percentile(&h, 100), 1000);

    histogram_init(&h);
    histogram_add(&h, 12345);
    cr_assert_eq(histogram_percentile(&h, 50), 12345);
    cr_assert_eq(histogram_percentile(&h, 99), 12345);
}

Test(histogram, merged_histograms_equal_one_over_all_samples)
{
    struct histogram all, a, b, from_counts;
    histogram_init(&all);
    histogram_init(&a);
    histogram_init(&b);
    histogram_init(&from_counts);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t v = (i * 7919) % 100000;
        histogram_add(&all, v);
        histogram_add(i % 3 ? &a : &b, v);
    }
    histogram_merge(&a, &b);
    cr_assert_eq(memcmp(&a, &all, sizeof a), 0);
    for (unsigned k = 0; k < HISTOGRAM_BUCKETS; k++)
        histogram_add_bucket(&from_counts, k, all.buckets[k]);
    cr_assert_eq(from_counts.count, all.count);
    /* the same buckets; only the clipping to min and max is lost */
    for (double p = 5; p <= 100; p += 5)
        cr_assert_eq(histogram_bucket(histogram_percentile(&from_counts, p)),
                     histogram_bucket(histogram_percentile(&all, p)), "p%g", p);
}

Test(histogram, counts_are_written_sparse_in_bucket_order)
{
    struct histogram h;
    struct buf out;
    histogram_init(&h);
    buf_init(&out, 1 << 20);
    cr_assert_eq(histogram_write_counts(&out, &h), 0);
    cr_assert_str_eq(out.data, "[]");
    histogram_add(&h, 1000);
    histogram_add(&h, 0);
    histogram_add(&h, 1000);
    buf_reset(&out);
    cr_assert_eq(histogram_write_counts(&out, &h), 0);
    cr_assert_str_eq(out.data, "[[0,1],[79,2]]");
    buf_release(&out);
}
