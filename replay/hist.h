/*
 * hist.h — a log-linear histogram of non-negative integers (latencies in
 * µs), for percentiles over any number of samples in fixed memory.
 *
 * Values below 64 have a bucket each; above, every power of two is split
 * into 32 buckets, so a reported percentile is within 1/32 (3.1%) of the
 * true value, and never above the largest sample.  Histograms of the same
 * layout merge by adding counts, which is how per-worker (and, later,
 * per-shard) results combine into exact totals and honest percentiles.
 */
#ifndef REHEARSE_HIST_H
#define REHEARSE_HIST_H

#include <stdint.h>

#include "buf.h"

#define HIST_LINEAR 64   /* values 0..63 are exact */
#define HIST_SUB_BITS 5  /* 32 buckets per power of two above */
#define HIST_BUCKETS (HIST_LINEAR + (63 - 6 + 1) * (1 << HIST_SUB_BITS))

struct hist {
    uint64_t count;
    uint64_t min, max;
    uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t value);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at percentile p (0 < p <= 100): the upper bound of the bucket
 * holding that rank, clipped to the largest sample; 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);

/* Bucket index of a value, and the largest value a bucket holds. */
unsigned hist_bucket(uint64_t value);
uint64_t hist_bucket_upper(unsigned index);

/* Append the non-empty buckets as [[index,count],...] (for merging later). */
int hist_write_buckets(struct buf *out, const struct hist *h);

#endif
