#include "ipfrag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An IP datagram's payload is at most 65535 bytes minus its header. */
#define DATAGRAM_MAX 65535u
/* More distinct pieces than this is not a datagram, it is an attack. */
#define MAX_RANGES 64

struct range {
    uint32_t start, end; /* [start, end) of the payload, merged and sorted */
};

struct datagram {
    struct datagram *next;
    uint8_t version, proto;
    uint8_t src[16], dst[16];
    uint32_t id;
    int64_t first_seen;
    bool broken;          /* a piece was cut: wait out the rest, then count once */
    bool have_last;       /* the fragment without MF arrived */
    uint32_t total;       /* payload length, known once have_last */
    uint8_t *data;
    uint32_t cap;         /* bytes allocated in data (accounted) */
    struct range ranges[MAX_RANGES];
    unsigned nranges;
};

struct ipfrag {
    struct ipfrag_limits limits;
    struct ipfrag_counters counters;
    struct datagram *list; /* in arrival order of first fragments: oldest first */
    uint32_t count;
    uint64_t bytes;
    uint8_t *done;         /* the last completed datagram, handed out borrowed */
};

struct ipfrag *ipfrag_new(const struct ipfrag_limits *limits)
{
    struct ipfrag *f = calloc(1, sizeof *f);
    if (f)
        f->limits = *limits;
    return f;
}

static void datagram_free(struct ipfrag *f, struct datagram *d)
{
    f->bytes -= d->cap;
    f->count--;
    free(d->data);
    free(d);
}

void ipfrag_free(struct ipfrag *f)
{
    if (!f)
        return;
    while (f->list) {
        struct datagram *d = f->list;
        f->list = d->next;
        datagram_free(f, d);
    }
    free(f->done);
    free(f);
}

static bool same_datagram(const struct datagram *d, const struct packet *pkt)
{
    size_t alen = pkt->ip.version == 4 ? 4 : 16;
    return d->version == pkt->ip.version && d->id == pkt->frag.id &&
           (d->version == 6 || d->proto == pkt->frag.proto) &&
           memcmp(d->src, pkt->ip.src, alen) == 0 && memcmp(d->dst, pkt->ip.dst, alen) == 0;
}

/* Unlink d from the list (prev is its predecessor or NULL). */
static void unlink_datagram(struct ipfrag *f, struct datagram *prev, struct datagram *d)
{
    if (prev)
        prev->next = d->next;
    else
        f->list = d->next;
}

/* Copy the parts of [start, end) not yet received, then record the range.
 * Returns false when the datagram has too many separate pieces. */
static bool add_range(struct ipfrag *f, struct datagram *d, uint32_t start, uint32_t end,
                      const uint8_t *src)
{
    uint32_t cursor = start;
    unsigned i, j;
    bool overlapped = false;

    for (i = 0; i < d->nranges && cursor < end; i++) {
        const struct range *r = &d->ranges[i];
        if (r->end <= cursor || r->start >= end)
            continue;
        overlapped = true;
        if (r->start > cursor)
            memcpy(d->data + cursor, src + (cursor - start), r->start - cursor);
        if (r->end > cursor)
            cursor = r->end;
    }
    if (cursor < end)
        memcpy(d->data + cursor, src + (cursor - start), end - cursor);
    if (overlapped)
        f->counters.overlaps++;

    /* Insert [start, end) in order, then merge neighbours that touch. */
    for (i = 0; i < d->nranges && d->ranges[i].start < start; i++)
        ;
    if (d->nranges == MAX_RANGES)
        return false;
    memmove(&d->ranges[i + 1], &d->ranges[i], (d->nranges - i) * sizeof d->ranges[0]);
    d->ranges[i].start = start;
    d->ranges[i].end = end;
    d->nranges++;
    for (i = 0, j = 1; j < d->nranges; j++) {
        if (d->ranges[j].start <= d->ranges[i].end) {
            if (d->ranges[j].end > d->ranges[i].end)
                d->ranges[i].end = d->ranges[j].end;
        } else {
            d->ranges[++i] = d->ranges[j];
        }
    }
    d->nranges = i + 1;
    return true;
}

int ipfrag_add(struct ipfrag *f, const struct packet *pkt, int64_t now, const uint8_t **data,
               uint32_t *len, uint8_t *proto)
{
    struct datagram *d, *prev = NULL, *last = NULL;
    uint32_t start = pkt->frag.offset, end = start + pkt->frag.len;

    f->counters.fragments++;
    for (d = f->list; d; prev = d, d = d->next)
        if (same_datagram(d, pkt))
            break;
    if (!d) {
        if (f->count >= f->limits.max_datagrams) {
            f->counters.over_cap++;
            return 0;
        }
        d = calloc(1, sizeof *d);
        if (!d) {
            f->counters.over_cap++;
            return 0;
        }
        d->version = pkt->ip.version;
        d->proto = pkt->frag.proto;
        memcpy(d->src, pkt->ip.src, sizeof d->src);
        memcpy(d->dst, pkt->ip.dst, sizeof d->dst);
        d->id = pkt->frag.id;
        d->first_seen = now;
        for (last = f->list; last && last->next; last = last->next)
            ;
        if (last)
            last->next = d;
        else
            f->list = d;
        prev = last;
        f->count++;
    }
    if (d->broken)
        return 0;

    if (end > DATAGRAM_MAX || (d->have_last && end > d->total) ||
        (!pkt->frag.more && ((d->have_last && end != d->total) ||
                             (d->nranges && d->ranges[d->nranges - 1].end > end)))) {
        f->counters.invalid++;
        goto drop;
    }
    if (pkt->frag.cut) {
        /* The rest of this datagram can never be rebuilt: keep its entry
         * (without data) so its other fragments are recognised, and count
         * it once when its time runs out. */
        d->broken = true;
        f->bytes -= d->cap;
        free(d->data);
        d->data = NULL;
        d->cap = 0;
        return 0;
    }
    if (!pkt->frag.more) {
        d->have_last = true;
        d->total = end;
    }
    if (end > d->cap) {
        uint32_t cap = d->have_last ? d->total : end;
        uint8_t *p;
        if (f->bytes + (cap - d->cap) > f->limits.max_bytes) {
            f->counters.over_cap++;
            goto drop;
        }
        p = realloc(d->data, cap);
        if (!p) {
            f->counters.over_cap++;
            goto drop;
        }
        f->bytes += cap - d->cap;
        d->data = p;
        d->cap = cap;
    }
    if (!add_range(f, d, start, end, pkt->frag.data)) {
        f->counters.invalid++;
        goto drop;
    }
    if (!d->have_last || d->nranges != 1 || d->ranges[0].start != 0 ||
        d->ranges[0].end != d->total)
        return 0;

    /* Complete: hand the bytes out and forget the datagram. */
    f->counters.reassembled++;
    free(f->done);
    f->done = d->data;
    d->data = NULL;
    f->bytes -= d->cap;
    d->cap = 0;
    *data = f->done;
    *len = d->total;
    *proto = d->proto;
    unlink_datagram(f, prev, d);
    datagram_free(f, d);
    return 1;

drop:
    unlink_datagram(f, prev, d);
    datagram_free(f, d);
    return 0;
}

void ipfrag_expire(struct ipfrag *f, int64_t now)
{
    /* Oldest first: stop at the first one still in time. */
    while (f->list && (now == INT64_MAX || f->list->first_seen + f->limits.timeout_us < now)) {
        struct datagram *d = f->list;
        if (d->broken)
            f->counters.cut++;
        else
            f->counters.timed_out++;
        f->list = d->next;
        datagram_free(f, d);
    }
}

const struct ipfrag_counters *ipfrag_counters(const struct ipfrag *f)
{
    return &f->counters;
}

uint64_t ipfrag_bytes(const struct ipfrag *f)
{
    return f->bytes;
}
