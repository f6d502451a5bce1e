/*
 * tx_queue.h — captured transactions from their first request byte until
 * they are written, in capture order.
 *
 * A transaction gets its id when its request line is seen, so ids follow
 * the order of requests' first bytes across all connections.  It is written
 * (through the `emit` callback) once it is *ready* — request and response
 * both finished, or known never to finish — and every transaction before it
 * has been written, so the trace is in id order.
 *
 * A transaction that stays open for long (a slow upload, a streamed
 * response) would make everything after it wait in memory.  When the ready
 * transactions held behind open ones exceed a quarter of the memory budget,
 * the ready ones are written ahead of the open ones (counted as
 * `written_early`); the file is then no longer strictly in id order, which
 * docs/trace-format.md allows.
 *
 * Records are pooled: their buffers are reused, so a steady capture does
 * not allocate per transaction.
 */
#ifndef REHEARSE_TX_QUEUE_H
#define REHEARSE_TX_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "membudget.h"

/* A header as offsets into its message's `text`. */
struct cap_header {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
};

/* One HTTP message being captured; owns its bytes. */
struct cap_msg {
    struct buf text;           /* target or reason, NUL, then names and values */
    uint32_t line_len;         /* target (request) or reason (response) at text[0] */
    struct cap_header *hdrs;   /* headers, then trailers */
    uint32_t nhdrs, hdr_cap;
    uint32_t ntrailers;        /* the last ntrailers of hdrs are trailers */
    struct buf body;           /* de-chunked body, at most the body cap */
    uint64_t body_size;        /* body bytes the message carried */
    int64_t start_us, end_us;
    uint16_t status;
    uint8_t method;            /* enum http_method */
    uint8_t version_major, version_minor;
    bool started;              /* bound to its transaction */
    bool complete;             /* the parser saw its end */
    uint64_t charged;          /* bytes charged to the budget */
};

struct cap_tx {
    struct cap_tx *next;        /* order of ids */
    struct cap_tx *conn_next;   /* its connection's transactions awaiting a response */
    uint64_t id;
    uint64_t conn;
    char client[48], server[48];
    struct cap_msg req, resp;
    bool has_response;
    bool req_done, resp_done;   /* no more bytes will come into req / resp */
    bool upgrade_requested;     /* Upgrade header or CONNECT: the answer decides */
    bool queued;                /* on its connection's awaiting list */
    bool ready;                 /* handed to tx_queue_ready() */
    uint64_t req_end_pos;       /* client stream position after the request */
    uint32_t flags;             /* TX_FLAG(...) bits, trace.h */
};

struct tx_queue_counters {
    uint64_t written;
    uint64_t written_early;     /* written ahead of an open earlier transaction */
    uint64_t flag_counts[32];   /* transactions written with each flag bit */
};

/* Called for each transaction to write; a negative return stops the
 * capture (the queue remembers it: tx_queue_failed()). */
typedef int (*tx_emit_fn)(void *ctx, const struct cap_tx *tx);

struct tx_queue;

struct tx_queue *tx_queue_new(struct membudget *budget, tx_emit_fn emit, void *ctx);
/* Frees every record; call tx_queue_finish() first to write them. */
void tx_queue_free(struct tx_queue *q);

/* A new transaction with the next id, at the end of the order.  NULL when
 * out of memory. */
struct cap_tx *tx_queue_open(struct tx_queue *q);

/* Nothing more will change in tx: write it when its turn comes.  The
 * caller must not touch tx afterwards. */
void tx_queue_ready(struct tx_queue *q, struct cap_tx *tx);

/* Write every transaction still held (all must be ready). */
void tx_queue_finish(struct tx_queue *q);

/* The first error the emit callback returned, or 0. */
int tx_queue_failed(const struct tx_queue *q);
const struct tx_queue_counters *tx_queue_counters(const struct tx_queue *q);

/* Message storage, charged to the queue's budget.  Header bytes are always
 * kept (the parser bounds them); body bytes only as far as `max` and the
 * budget allow: the return value is how many were kept. */
int cap_msg_append_text(struct tx_queue *q, struct cap_msg *m, const char *p, size_t n);
size_t cap_msg_append_body(struct tx_queue *q, struct cap_msg *m, const char *p, size_t n,
                           uint64_t max);
/* Empty the message (keeping its storage) and return its charge. */
void cap_msg_clear(struct tx_queue *q, struct cap_msg *m);
/* Room for one more header entry; NULL when out of memory. */
struct cap_header *cap_msg_new_header(struct tx_queue *q, struct cap_msg *m);

#endif
