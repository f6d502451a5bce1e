#include "tcp_reasm.h"

#include <stdlib.h>
#include <string.h>

#include "packet.h"

/* A segment held ahead of a hole: `len` captured bytes, then `hole` bytes
 * the snaplen cut off. */
struct tcp_seg {
    struct tcp_seg *next;
    uint32_t seq;
    uint32_t len;
    uint32_t hole;
    int64_t ts;
    uint8_t data[];
};

#define SEG_COST(len) ((uint64_t)(len) + sizeof(struct tcp_seg))

void tcp_half_init(struct tcp_half *h)
{
    memset(h, 0, sizeof *h);
}

static void seg_free(struct tcp_half *h, struct tcp_env *env, struct tcp_seg *s)
{
    h->held -= SEG_COST(s->len);
    membudget_give(env->budget, SEG_COST(s->len));
    free(s);
}

/* Hand in-order bytes to the sink and move past them. */
static void deliver(struct tcp_half *h, const uint8_t *data, uint32_t len, uint32_t hole,
                    int64_t ts, const struct tcp_sink *sink, void *ctx)
{
    if (len)
        sink->data(ctx, data, len, ts);
    if (hole)
        sink->gap(ctx, hole, TCP_GAP_SNAPLEN, ts);
    h->next_seq += len + hole;
}

static void check_fin(struct tcp_half *h, int64_t ts, const struct tcp_sink *sink, void *ctx)
{
    if (h->fin && !h->done && h->next_seq == h->fin_seq) {
        h->done = true;
        h->next_seq++; /* the FIN takes one sequence number */
        sink->fin(ctx, ts);
    }
}

/* Deliver held segments that became contiguous. */
static void drain(struct tcp_half *h, struct tcp_env *env, int64_t ts,
                  const struct tcp_sink *sink, void *ctx)
{
    struct tcp_seg *s;

    while ((s = h->ooo) && seq_le(s->seq, h->next_seq)) {
        uint32_t total = s->len + s->hole, skip = h->next_seq - s->seq;
        h->ooo = s->next;
        if (skip < s->len)
            deliver(h, s->data + skip, s->len - skip, s->hole, s->ts, sink, ctx);
        else if (skip < total)
            deliver(h, NULL, 0, total - skip, s->ts, sink, ctx);
        seg_free(h, env, s);
    }
    check_fin(h, ts, sink, ctx);
}

/* Give up on the hole before `target`: declare it, move on, deliver what
 * follows. */
static void skip_to(struct tcp_half *h, struct tcp_env *env, uint32_t target,
                    enum tcp_gap_reason why, int64_t ts, const struct tcp_sink *sink, void *ctx)
{
    uint32_t n = target - h->next_seq;
    if (n) {
        env->counters.gaps++;
        env->counters.gap_bytes += n;
        sink->gap(ctx, n, why, ts);
        h->next_seq = target;
    }
    drain(h, env, ts, sink, ctx);
}

/* Make a held segment for [seq, seq+len+hole); NULL when memory refused
 * it (counted: the hole it leaves becomes a gap later). */
static struct tcp_seg *seg_new(struct tcp_env *env, uint32_t seq, const uint8_t *data,
                               uint32_t len, uint32_t hole, int64_t ts)
{
    struct tcp_seg *s;
    if (!membudget_take(env->budget, SEG_COST(len)))
        goto refused;
    s = malloc(SEG_COST(len));
    if (!s) {
        membudget_give(env->budget, SEG_COST(len));
        goto refused;
    }
    s->next = NULL;
    s->seq = seq;
    s->len = len;
    s->hole = hole;
    s->ts = ts;
    memcpy(s->data, data, len);
    return s;
refused:
    env->counters.memory_segments++;
    env->counters.memory_bytes += len;
    return NULL;
}

/*
 * Hold a segment that starts ahead of next_seq.  Parts that overlap held
 * segments are dropped: the first copy wins; a differing copy is counted
 * as a conflict.  The rest is inserted in order.
 */
static void hold(struct tcp_half *h, struct tcp_env *env, uint32_t seq, const uint8_t *data,
                 uint32_t len, uint32_t hole, int64_t ts)
{
    uint32_t end = seq + len + hole, cap_end = seq + len, cursor = seq;
    struct tcp_seg **pp = &h->ooo;
    bool conflict = false;

    env->counters.out_of_order++;
    while (seq_lt(cursor, end)) {
        struct tcp_seg *x = *pp;
        uint32_t piece_end = end;

        if (x) {
            uint32_t xend = x->seq + x->len + x->hole;
            if (seq_le(xend, cursor)) { /* x lies before us */
                pp = &x->next;
                continue;
            }
            if (seq_le(x->seq, cursor)) { /* x covers cursor: skip the overlap */
                uint32_t ov_end = seq_lt(xend, end) ? xend : end;
                uint32_t cmp_end = ov_end;
                uint32_t x_cap = x->seq + x->len;
                if (seq_lt(cap_end, cmp_end))
                    cmp_end = cap_end;
                if (seq_lt(x_cap, cmp_end))
                    cmp_end = x_cap;
                if (seq_lt(cursor, cmp_end) &&
                    memcmp(data + (cursor - seq), x->data + (cursor - x->seq),
                           cmp_end - cursor) != 0)
                    conflict = true;
                env->counters.retransmitted_bytes += ov_end - cursor;
                cursor = ov_end;
                pp = &x->next;
                continue;
            }
            if (seq_lt(x->seq, end))
                piece_end = x->seq; /* stop where x starts */
        }
        /* Insert [cursor, piece_end) before x. */
        uint32_t plen = 0, phole;
        if (seq_lt(cursor, cap_end))
            plen = (seq_lt(piece_end, cap_end) ? piece_end : cap_end) - cursor;
        phole = piece_end - cursor - plen;
        struct tcp_seg *s = seg_new(env, cursor, data + (cursor - seq) * (plen != 0), plen,
                                    phole, ts);
        if (s) {
            s->next = x;
            *pp = s;
            pp = &s->next;
            h->held += SEG_COST(plen);
        }
        cursor = piece_end;
    }
    if (conflict)
        env->counters.overlap_conflicts++;
}

/* Place payload [seq, seq+len+missing) of this direction. */
static void place(struct tcp_half *h, struct tcp_env *env, uint32_t seq, const uint8_t *data,
                  uint32_t len, uint32_t missing, int64_t ts, const struct tcp_sink *sink,
                  void *ctx)
{
    for (;;) {
        uint32_t end = seq + len + missing;
        if (h->done)
            return;
        if (seq_le(end, h->next_seq)) { /* all of it was placed before */
            env->counters.retransmitted_bytes += len;
            return;
        }
        if (seq_lt(seq, h->next_seq)) { /* the front was placed before */
            uint32_t off = h->next_seq - seq;
            if (off <= len) {
                env->counters.retransmitted_bytes += off;
                data += off;
                len -= off;
            } else {
                env->counters.retransmitted_bytes += len;
                missing -= off - len;
                len = 0;
            }
            seq = h->next_seq;
        }
        if (seq == h->next_seq) {
            deliver(h, data, len, missing, ts, sink, ctx);
            drain(h, env, ts, sink, ctx);
            return;
        }
        if (h->held + SEG_COST(len) <= env->max_buffer) {
            hold(h, env, seq, data, len, missing, ts);
            return;
        }
        /* Too much held: give up the oldest hole (or the one before this
         * segment when nothing is held) and try again. */
        env->counters.buffer_full++;
        skip_to(h, env, h->ooo && seq_lt(h->ooo->seq, seq) ? h->ooo->seq : seq,
                TCP_GAP_BUFFER_FULL, ts, sink, ctx);
    }
}

void tcp_half_segment(struct tcp_half *h, struct tcp_env *env, const struct tcp_segment *seg,
                      const struct tcp_sink *sink, void *ctx)
{
    uint32_t seq = seg->seq, total = seg->len + seg->missing;

    if (seg->missing) {
        env->counters.snaplen_segments++;
        env->counters.snaplen_bytes += seg->missing;
    }
    if (seg->flags & TCP_SYN) {
        if (!h->synced) {
            h->next_seq = seq + 1;
            h->synced = true;
            sink->start(ctx, false);
        }
        seq++; /* data of a SYN starts after it */
    }
    if (!h->synced) {
        if (total == 0 && !(seg->flags & TCP_FIN))
            return; /* a bare ACK tells nothing about this direction's bytes */
        h->next_seq = seq;
        h->synced = true;
        h->midstream = true;
        sink->start(ctx, true);
    }
    if ((seg->flags & TCP_FIN) && !h->fin) {
        h->fin = true;
        h->fin_seq = seq + total;
    }
    if (total)
        place(h, env, seq, seg->data, seg->len, seg->missing, seg->ts, sink, ctx);
    check_fin(h, seg->ts, sink, ctx);
}

void tcp_half_acked(struct tcp_half *h, struct tcp_env *env, uint32_t ack, int64_t ts,
                    const struct tcp_sink *sink, void *ctx)
{
    while (h->synced && !h->done && h->ooo && seq_lt(h->next_seq, h->ooo->seq) &&
           seq_le(h->ooo->seq, ack))
        skip_to(h, env, h->ooo->seq, TCP_GAP_LOST, ts, sink, ctx);
}

void tcp_half_flush(struct tcp_half *h, struct tcp_env *env, int64_t ts,
                    const struct tcp_sink *sink, void *ctx)
{
    if (!h->synced)
        return;
    while (h->ooo && !h->done)
        skip_to(h, env, h->ooo->seq, TCP_GAP_LOST, ts, sink, ctx);
    if (h->fin && !h->done && seq_lt(h->next_seq, h->fin_seq))
        skip_to(h, env, h->fin_seq, TCP_GAP_LOST, ts, sink, ctx);
    check_fin(h, ts, sink, ctx);
    tcp_half_release(h, env);
}

void tcp_half_release(struct tcp_half *h, struct tcp_env *env)
{
    while (h->ooo) {
        struct tcp_seg *s = h->ooo;
        h->ooo = s->next;
        seg_free(h, env, s);
    }
}
