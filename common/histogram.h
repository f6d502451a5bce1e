/*
 * histogram.h — exact counts of non-negative integers (latencies in µs) in
 * log-linear buckets, for percentiles over any number of samples in fixed
 * memory, and for merging: two histograms add up bucket by bucket, so the
 * latency of several shards of a replay (or several diffs) combines into the
 * same percentiles one run would give, never into averaged percentiles.
 *
 * The scheme is "loglin32" (docs/results-format.md, docs/diff-format.md):
 * values 0..63 have a bucket each; above, every power of two [2^e, 2^(e+1))
 * is split into 32 buckets of equal width 2^(e-5), so a bucket's upper
 * bound is within 1/32 (3.1%) of any value in it — fine enough for a p99.
 * Values of 2^40 µs (12.7 days) and more share the last bucket.  It is the
 * layout HdrHistogram uses with 5 significant bits, and the one results
 * files have carried since their first version (`latency_buckets`).
 *
 * A struct histogram is about 9 KiB, caller-owned, with no heap memory.
 */
#ifndef REHEARSE_HISTOGRAM_H
#define REHEARSE_HISTOGRAM_H

#include <stdint.h>

#include "buf.h"

#define HISTOGRAM_SCHEME "loglin32"
#define HISTOGRAM_LINEAR 64u  /* values 0..63 are exact */
#define HISTOGRAM_SUB_BITS 5u /* 32 buckets per power of two above */
#define HISTOGRAM_TOP_EXP 40u /* values >= 2^40 share the last bucket */
#define HISTOGRAM_BUCKETS \
    (HISTOGRAM_LINEAR + (HISTOGRAM_TOP_EXP - 6u) * (1u << HISTOGRAM_SUB_BITS) + 1u)

struct histogram {
    uint64_t count;       /* samples */
    uint64_t min, max;    /* smallest and largest sample (0 when empty) */
    uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_init(struct histogram *h);
void histogram_add(struct histogram *h, uint64_t value);
/* Add n samples to bucket b (from a histogram written out earlier); min
 * and max widen to the bucket's bounds (set max afterwards when the exact
 * maximum is known).  Ignored when b is out of range. */
void histogram_add_bucket(struct histogram *h, unsigned b, uint64_t n);
void histogram_merge(struct histogram *into, const struct histogram *from);

/* The bucket of a value, and the smallest and largest value bucket b can
 * hold. */
unsigned histogram_bucket(uint64_t value);
uint64_t histogram_bucket_lower(unsigned b);
uint64_t histogram_bucket_upper(unsigned b);

/*
 * The value at percentile p (0 < p <= 100): the upper bound of the bucket
 * holding the sample of rank ceil(p% of count), clipped to [min, max] — so
 * p100 is the exact maximum, and a histogram of one value gives it exactly.
 * 0 when empty.
 */
uint64_t histogram_percentile(const struct histogram *h, double p);

/* Append the non-empty buckets as [[bucket,count],...] in bucket order. */
int histogram_write_counts(struct buf *out, const struct histogram *h);

#endif
