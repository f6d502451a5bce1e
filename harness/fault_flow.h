/*
 * fault_flow.h — internal to the fault proxy (fault_proxy.c): one direction
 * of a proxied connection.  Bytes read from `src` pass through the toxics
 * that apply to this connection, wait in a bounded queue of chunks until
 * their release time, and are written to `dst`.
 *
 * Timing model.  Each toxic is a stage that handles chunks one after the
 * other, as Toxiproxy's goroutine per toxic does; since a stage's output
 * time depends only on the chunk's arrival time at the stage and on the
 * stage's own clock (`free_at_us`), a chunk's release time through every
 * stage is computed once, when it is read.  No timer runs per stage: the
 * event loop wakes the connection at the earliest release time.
 *
 *   latency     t' = max(free_at, t + latency ± jitter)        per chunk
 *   bandwidth   pieces of at most 100 ms worth; each ends len/rate after
 *               max(free_at, t)
 *   slicer      slices of average_size ± size_variation bytes, one every
 *               `delay` µs from max(free_at, t)
 *   limit_data  passes the first `bytes` bytes, then closes the connection
 *               once they are written
 *   timeout     drops data; closes the connection `timeout` ms after it
 *               began to apply (never for 0)
 *   reset_peer  drops data; the first data (or EOF) arms a reset `timeout`
 *               ms later
 *   slow_close  data passes; the EOF is passed on `delay` ms late
 *
 * The end of the stream (EOF) passes the stages after the data before it.
 */
#ifndef REHEARSE_FAULT_FLOW_H
#define REHEARSE_FAULT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fault_toxic.h"

/* Bytes waiting to be written, with the time they may be. */
struct fault_chunk {
    struct fault_chunk *next;
    int64_t release_us;
    uint32_t len, off;      /* off: bytes of data[] already written */
    bool close_after;       /* limit_data: close the connection once written */
    char data[];
};

/* A toxic as the event thread holds it (owned by its link). */
struct fault_live_toxic {
    struct fault_toxic def;
    uint64_t name_hash;     /* for the per-connection draws */
};

/* A toxic's state on one flow; only toxics whose draw applied have one. */
struct fault_tstate {
    struct fault_live_toxic *toxic;
    uint64_t rng;           /* jitter and slice sizes */
    int64_t free_at_us;     /* the stage's clock */
    int64_t started_us;     /* when it began to apply (timeout) */
    int64_t fire_at_us;     /* reset_peer: reset at; 0 = not armed */
    int64_t passed;         /* limit_data: bytes let through */
    bool closing;           /* limit_data: the close is queued */
};

struct fault_flow {
    int src, dst;
    struct fault_chunk *head, *tail;
    size_t queued;          /* bytes in the chunks */
    bool readable;          /* an edge said readable and no read drained it yet */
    bool src_hup;           /* src's FIN (or an error) has arrived: read to EOF */
    bool writable;
    bool eof_read;          /* src sent FIN */
    bool eof_sent;          /* dst was shut down for writing */
    int64_t eof_at_us;      /* the FIN may be passed on from then */
    struct fault_tstate *tox;
    unsigned ntox;
};

/* Scratch space and counters shared by every flow of a proxy. */
struct fault_flow_io {
    char *scratch;
    size_t scratch_size;
    size_t buffer_max;      /* per flow */
    int64_t now_us;         /* CLOCK_MONOTONIC */
    struct fault_seg *segs; /* work arrays for the stages */
    struct fault_seg *segs2;
    size_t segs_cap;
    uint64_t written;       /* bytes written (the caller adds and resets) */
    uint64_t dropped;       /* bytes swallowed by toxics */
};

enum fault_flow_result {
    FAULT_FLOW_OK,
    FAULT_FLOW_CLOSE,   /* a toxic closes the connection (FIN both ways) */
    FAULT_FLOW_RESET,   /* reset_peer: RST both ways */
    FAULT_FLOW_ABORT,   /* a socket failed (or memory ran out): RST the other side */
};

void fault_flow_init(struct fault_flow *f, int src, int dst);
/* Free the chunks and toxic states (sockets are the caller's). */
void fault_flow_release(struct fault_flow *f);

/* Move data: write what is due, pass on a due EOF, read while allowed
 * (can_read false: the upstream is still connecting).  `budget` bounds the
 * reads of this call; the caller runs the flow again when it is used up and
 * the source is still readable. */
enum fault_flow_result fault_flow_pump(struct fault_flow *f, struct fault_flow_io *io,
                                       bool can_read, unsigned *budget);

/* True when a pump could read more right now (budget was the limit). */
bool fault_flow_wants_read(const struct fault_flow *f, const struct fault_flow_io *io);

/* The earliest time the flow needs a pump without any socket event, or
 * INT64_MAX. */
int64_t fault_flow_next_wake(const struct fault_flow *f);

/* Replace the set of toxics that apply to this flow.  `tox` (n entries,
 * moved into the flow, which frees it) is in link order; entries may carry
 * state from the old set.  `released`: release every queued chunk now and
 * restart the stage clocks (a toxic that held data was removed or changed).
 * Returns FAULT_FLOW_CLOSE when a timeout toxic stopped applying. */
enum fault_flow_result fault_flow_set_toxics(struct fault_flow *f, struct fault_tstate *tox,
                                             unsigned n, bool released, int64_t now_us);

/* A splitmix64 step: the proxy's generator for draws, jitter and slices. */
uint64_t fault_rng_next(uint64_t *state);

#endif
