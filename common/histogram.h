/*
 * histogram.h — exact counts of non-negative integers (latencies in µs) in
 * logarithmic buckets, for percentiles over any number of samples in fixed
 * memory, and for merging: two histograms add up bucket by bucket, so the
 * latency of several shards of a replay (or several diffs) combines into the
 * same percentiles one run would give, never into averaged percentiles.
 *
 * The scheme is "log2x8" (docs/diff-format.md): value v goes to bucket
 * floor(8 * log2(v + 1)), computed exactly in integers (no floating point
 * at a bucket's edge), so a bucket spans a factor of 2^(1/8): a percentile
 * read from the histogram is within 9.1% of the true sample.  v = 0 is
 * bucket 0, v = 1 bucket 8; buckets 1..7 stay empty.
 *
 * A struct histogram is 4 KiB, caller-owned, with no heap memory.
 */
#ifndef REHEARSE_HISTOGRAM_H
#define REHEARSE_HISTOGRAM_H

#include <stdint.h>

#include "buf.h"

#define HISTOGRAM_SCHEME "log2x8"
/* floor(8 * log2(2^64)) = 512 for the largest value, so 513 buckets. */
#define HISTOGRAM_BUCKETS 513u

struct histogram {
    uint64_t count;       /* samples */
    uint64_t min, max;    /* smallest and largest sample (0 when empty) */
    uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_init(struct histogram *h);
void histogram_add(struct histogram *h, uint64_t value);
/* Add n samples to bucket b (from a histogram written out earlier); min
 * and max widen to the bucket's bounds.  Ignored when b is out of range. */
void histogram_add_bucket(struct histogram *h, unsigned b, uint64_t n);
void histogram_merge(struct histogram *into, const struct histogram *from);

/* The bucket of a value, and the smallest and largest value bucket b can
 * hold (lower > upper for the empty buckets 1..7). */
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
