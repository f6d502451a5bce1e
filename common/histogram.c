#include "histogram.h"

#include <stdbool.h>
#include <string.h>

#include "errors.h"

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
}

#define SUB_COUNT (1u << HISTOGRAM_SUB_BITS)
#define LAST_BUCKET (HISTOGRAM_BUCKETS - 1u)

unsigned histogram_bucket(uint64_t v)
{
    unsigned e;

    if (v < HISTOGRAM_LINEAR)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v); /* 6..63 */
    if (e >= HISTOGRAM_TOP_EXP)
        return LAST_BUCKET;
    return HISTOGRAM_LINEAR + (e - 6u) * SUB_COUNT +
           (unsigned)((v >> (e - HISTOGRAM_SUB_BITS)) & (SUB_COUNT - 1u));
}

uint64_t histogram_bucket_lower(unsigned b)
{
    unsigned e, sub;

    if (b < HISTOGRAM_LINEAR)
        return b;
    if (b >= LAST_BUCKET)
        return (uint64_t)1 << HISTOGRAM_TOP_EXP;
    e = 6u + (b - HISTOGRAM_LINEAR) / SUB_COUNT;
    sub = (b - HISTOGRAM_LINEAR) % SUB_COUNT;
    return ((uint64_t)1 << e) + (uint64_t)sub * ((uint64_t)1 << (e - HISTOGRAM_SUB_BITS));
}

uint64_t histogram_bucket_upper(unsigned b)
{
    if (b < HISTOGRAM_LINEAR)
        return b;
    if (b >= LAST_BUCKET)
        return UINT64_MAX;
    return histogram_bucket_lower(b + 1) - 1;
}

static void widen(struct histogram *h, uint64_t lo, uint64_t hi)
{
    if (h->count == 0 || lo < h->min)
        h->min = lo;
    if (h->count == 0 || hi > h->max)
        h->max = hi;
}

void histogram_add(struct histogram *h, uint64_t v)
{
    widen(h, v, v);
    h->count++;
    h->buckets[histogram_bucket(v)]++;
}

void histogram_add_bucket(struct histogram *h, unsigned b, uint64_t n)
{
    if (b >= HISTOGRAM_BUCKETS || n == 0)
        return;
    widen(h, histogram_bucket_lower(b), histogram_bucket_upper(b));
    h->count += n;
    h->buckets[b] += n;
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
    if (!from->count)
        return;
    widen(into, from->min, from->max);
    into->count += from->count;
    for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
        into->buckets[i] += from->buckets[i];
}

uint64_t histogram_percentile(const struct histogram *h, double p)
{
    uint64_t rank, seen = 0;
    double r;

    if (!h->count)
        return 0;
    /* rank ceil(p% of count), computed so that 50% of 4 is exactly 2 */
    r = p / 100.0 * (double)h->count;
    rank = (uint64_t)r;
    if ((double)rank < r - 1e-9)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t v = histogram_bucket_upper(b);
            if (v > h->max)
                v = h->max;
            return v < h->min ? h->min : v;
        }
    }
    return h->max;
}

int histogram_write_counts(struct buf *out, const struct histogram *h)
{
    int rc = buf_append_char(out, '[');
    bool first = true;

    for (unsigned b = 0; b < HISTOGRAM_BUCKETS; b++) {
        if (!h->buckets[b])
            continue;
        rc |= buf_printf(out, first ? "[%u,%llu]" : ",[%u,%llu]", b,
                         (unsigned long long)h->buckets[b]);
        first = false;
    }
    rc |= buf_append_char(out, ']');
    return rc ? ERR_TOOBIG : 0;
}
