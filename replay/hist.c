#include "hist.h"

#include <stdbool.h>
#include <string.h>

#include "errors.h"

#include "jsonw.h"

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

unsigned hist_bucket(uint64_t v)
{
    unsigned e;
    if (v < HIST_LINEAR)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v); /* 6..63 */
    return HIST_LINEAR + (e - 6) * (1u << HIST_SUB_BITS) +
           (unsigned)((v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

uint64_t hist_bucket_upper(unsigned index)
{
    unsigned e, sub;
    uint64_t base, width;
    if (index < HIST_LINEAR)
        return index;
    index -= HIST_LINEAR;
    e = 6 + (index >> HIST_SUB_BITS);
    sub = index & ((1u << HIST_SUB_BITS) - 1);
    width = (uint64_t)1 << (e - HIST_SUB_BITS);
    base = (uint64_t)1 << e;
    return base + (sub + 1) * width - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->buckets[hist_bucket(v)]++;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    if (!from->count)
        return;
    if (into->count == 0 || from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->count += from->count;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    uint64_t rank, seen = 0;
    if (!h->count)
        return 0;
    /* the smallest value with at least p% of the samples at or below it */
    rank = (uint64_t)((p / 100.0) * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t upper = hist_bucket_upper(i);
            if (upper > h->max)
                upper = h->max;
            return upper < h->min ? h->min : upper;
        }
    }
    return h->max;
}

int hist_write_buckets(struct buf *out, const struct hist *h)
{
    int rc = buf_append_char(out, '[');
    bool first = true;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        if (!h->buckets[i])
            continue;
        rc |= buf_printf(out, first ? "[%u,%llu]" : ",[%u,%llu]", i,
                         (unsigned long long)h->buckets[i]);
        first = false;
    }
    rc |= buf_append_char(out, ']');
    return rc ? ERR_TOOBIG : 0;
}
