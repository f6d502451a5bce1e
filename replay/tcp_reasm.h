/*
 * tcp_reasm.h — rebuild one direction of a TCP connection as a byte stream.
 *
 * Segments are placed by sequence number only (serial arithmetic, so
 * streams that wrap past 2^32 are fine), never by ACK number: keying data by
 * ACK is how GoReplay loses a fifth of its requests.  In-order payload is
 * handed to the sink straight from the packet, without a copy; segments
 * that arrive ahead of a hole are copied and held until the hole fills.
 * Retransmitted bytes are dropped (and counted); where a retransmission
 * overlaps held bytes with different content, the first copy wins and the
 * conflict is counted.
 *
 * A hole becomes a declared *gap* (sink->gap) when it can no longer fill:
 *  - the peer acknowledged bytes past it (tcp_half_acked): the receiver got
 *    them, so the capture lost them;
 *  - the held bytes reached the per-direction cap (`max_buffer`);
 *  - the stream ends (tcp_half_flush: FIN, RST, idle timeout, end of file).
 * A segment cut by the snaplen is delivered up to the cut, followed by a
 * gap for the rest.  The sink resynchronises after a gap; the stream
 * itself just carries on.
 */
#ifndef REHEARSE_TCP_REASM_H
#define REHEARSE_TCP_REASM_H

#include <stdbool.h>
#include <stdint.h>

#include "membudget.h"

enum tcp_gap_reason {
    TCP_GAP_LOST,        /* bytes never captured */
    TCP_GAP_SNAPLEN,     /* bytes cut from their packet by the snaplen */
    TCP_GAP_BUFFER_FULL, /* hole given up because max_buffer was reached */
    TCP_GAP_MEMORY,      /* segment not held because --max-memory was reached */
};

/* Where the rebuilt stream goes.  ctx is the sink's own state. */
struct tcp_sink {
    /* The direction starts: from its SYN, or (midstream) from the first
     * data seen when the SYN was not captured. */
    void (*start)(void *ctx, bool midstream);
    void (*data)(void *ctx, const uint8_t *p, uint32_t n, int64_t ts);
    void (*gap)(void *ctx, uint64_t n, enum tcp_gap_reason why, int64_t ts);
    /* Every byte before the FIN was delivered (or declared a gap). */
    void (*fin)(void *ctx, int64_t ts);
};

struct tcp_counters {
    uint64_t retransmitted_bytes; /* duplicates of bytes already placed */
    uint64_t overlap_conflicts;   /* segments overlapping held bytes with other content */
    uint64_t out_of_order;        /* segments that arrived ahead of a hole */
    uint64_t gaps;                /* holes declared lost */
    uint64_t gap_bytes;
    uint64_t snaplen_segments;    /* segments cut by the snaplen */
    uint64_t snaplen_bytes;
    uint64_t buffer_full;         /* holes given up because of max_buffer */
    uint64_t memory_segments;     /* segments not held because of the memory cap */
    uint64_t memory_bytes;
};

/* Shared by every direction of every flow. */
struct tcp_env {
    uint64_t max_buffer;       /* out-of-order bytes held per direction */
    struct membudget *budget;  /* the capture's memory */
    struct tcp_counters counters;
};

struct tcp_seg;

/* One direction.  Zero-initialised (tcp_half_init) until its first segment. */
struct tcp_half {
    uint32_t next_seq;     /* next byte the sink expects */
    uint32_t fin_seq;      /* sequence number of the FIN */
    bool synced;           /* next_seq is known */
    bool midstream;        /* synced from data: the SYN was not captured */
    bool fin;              /* a FIN was seen */
    bool done;             /* the FIN was delivered: nothing more comes */
    struct tcp_seg *ooo;   /* held segments, sorted, not overlapping */
    uint64_t held;         /* bytes held in ooo (this direction's memory) */
};

/* One segment of this direction, as decoded from a packet. */
struct tcp_segment {
    uint32_t seq;
    uint8_t flags;          /* TCP_SYN, TCP_FIN, ... (packet.h) */
    const uint8_t *data;    /* captured payload */
    uint32_t len;           /* captured payload bytes */
    uint32_t missing;       /* payload bytes cut by the snaplen, after data */
    int64_t ts;
};

void tcp_half_init(struct tcp_half *h);

/* Place a segment sent in this direction; delivers whatever became
 * contiguous. */
void tcp_half_segment(struct tcp_half *h, struct tcp_env *env, const struct tcp_segment *seg,
                      const struct tcp_sink *sink, void *ctx);

/* The other direction acknowledged bytes up to `ack` of this one: holes
 * before it are lost to the capture, declare them and deliver what
 * follows. */
void tcp_half_acked(struct tcp_half *h, struct tcp_env *env, uint32_t ack, int64_t ts,
                    const struct tcp_sink *sink, void *ctx);

/* The stream is over: declare every remaining hole, deliver everything
 * held, and the FIN if one was seen. */
void tcp_half_flush(struct tcp_half *h, struct tcp_env *env, int64_t ts,
                    const struct tcp_sink *sink, void *ctx);

/* Free held segments without delivering them (after a flush, or when the
 * sink no longer wants data). */
void tcp_half_release(struct tcp_half *h, struct tcp_env *env);

/* Serial-number comparisons (RFC 1982) for 32-bit sequence numbers. */
static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

#endif
