/* common/histogram: loglin32 buckets, percentiles, merging. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

TestSuite(histogram);

/* Bucket edges worked out by hand from the scheme: 0..63 exact; then 32
 * buckets of width 2^(e-5) per power of two 2^e; 2^40 and above: one. */
static const struct {
    unsigned b;
    uint64_t lower, upper;
} edges[] = {
    {0, 0, 0}, {1, 1, 1}, {63, 63, 63},
    {64, 64, 65}, {65, 66, 67}, {95, 126, 127},          /* e = 6, width 2 */
    {96, 128, 131}, {127, 252, 255},                     /* e = 7, width 4 */
    {64 + 4 * 32, 1024, 1055},                           /* e = 10, width 32 */
    {64 + 4 * 32 + 31, 2016, 2047},
    {64 + 34 * 32 - 1, 1082331758592ull, 1099511627775ull}, /* e = 39, the last width */
    {64 + 34 * 32, 1099511627776ull, UINT64_MAX},        /* 2^40 and above */
};

Test(histogram, buckets_are_exact_at_their_edges)
{
    cr_assert_eq(HISTOGRAM_BUCKETS, 64 + 34 * 32 + 1);
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        unsigned b = edges[i].b;
        cr_assert_eq(histogram_bucket_lower(b), edges[i].lower, "lower(%u)", b);
        cr_assert_eq(histogram_bucket_upper(b), edges[i].upper, "upper(%u)", b);
        cr_assert_eq(histogram_bucket(edges[i].lower), b, "bucket(lower(%u))", b);
        cr_assert_eq(histogram_bucket(edges[i].upper), b, "bucket(upper(%u))", b);
        if (edges[i].lower)
            cr_assert_eq(histogram_bucket(edges[i].lower - 1), b - 1, "bucket below %u", b);
    }
    cr_assert_eq(histogram_bucket(1000), 64 + 3 * 32 + 30); /* 992..1007 */
    cr_assert_eq(histogram_bucket(UINT64_MAX), HISTOGRAM_BUCKETS - 1);
}

Test(histogram, every_bucket_follows_the_last_and_is_at_most_a_32nd_wide)
{
    for (unsigned b = 0; b + 1 < HISTOGRAM_BUCKETS; b++) {
        uint64_t lo = histogram_bucket_lower(b), hi = histogram_bucket_upper(b);
        cr_assert_eq(histogram_bucket_lower(b + 1), hi + 1, "bucket %u", b);
        cr_assert_leq(hi - lo, lo / 32, "bucket %u is %llu..%llu", b, (unsigned long long)lo,
                      (unsigned long long)hi);
    }
    /* and values land in the bucket whose bounds hold them */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        uint64_t v;
        unsigned b;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = x >> (x % 64);
        b = histogram_bucket(v);
        cr_assert(histogram_bucket_lower(b) <= v && v <= histogram_bucket_upper(b), "v=%llu",
                  (unsigned long long)v);
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
        cr_assert_leq((double)got, exact * (1 + 1.0 / 32), "p%g: %llu", p, (unsigned long long)got);
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
    cr_assert_str_eq(out.data, "[[0,1],[190,2]]");
    buf_release(&out);
}
