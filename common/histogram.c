#include "histogram.h"

#include <stdbool.h>
#include <string.h>

#include "errors.h"

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
}

/* floor(log2(x^8)) for x >= 1, exactly: x squared three times in 64-bit
 * limbs (x^8 < 2^512), then the position of the highest bit. */
static unsigned log2_pow8(uint64_t x)
{
    uint64_t a[8] = {x}, b[8];
    size_t n = 1;

    if (x < (1u << 16)) {
        unsigned __int128 p = (uint64_t)x * x;
        p *= p;
        p *= p;
        uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
        return hi ? 127u - (unsigned)__builtin_clzll(hi) : 63u - (unsigned)__builtin_clzll(lo);
    }
    for (int round = 0; round < 3; round++, n *= 2) {
        memset(b, 0, sizeof b);
        for (size_t i = 0; i < n; i++) {
            unsigned __int128 carry = 0;
            for (size_t j = 0; j < n; j++) {
                unsigned __int128 t = (unsigned __int128)a[i] * a[j] + b[i + j] + carry;
                b[i + j] = (uint64_t)t;
                carry = t >> 64;
            }
            b[i + n] = (uint64_t)carry;
        }
        memcpy(a, b, sizeof a);
    }
    for (size_t i = 8; i-- > 0;)
        if (a[i])
            return (unsigned)(64 * i) + 63u - (unsigned)__builtin_clzll(a[i]);
    return 0;
}

unsigned histogram_bucket(uint64_t v)
{
    /* v + 1 = 2^64 for the largest value: 8 * 64 */
    return v == UINT64_MAX ? HISTOGRAM_BUCKETS - 1 : log2_pow8(v + 1);
}

uint64_t histogram_bucket_lower(unsigned b)
{
    uint64_t lo = 0, hi = UINT64_MAX;

    if (b >= HISTOGRAM_BUCKETS - 1)
        return UINT64_MAX;
    /* the smallest v with bucket(v) >= b; bucket() is monotonic */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (histogram_bucket(mid) >= b)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

uint64_t histogram_bucket_upper(unsigned b)
{
    if (b >= HISTOGRAM_BUCKETS - 1)
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
