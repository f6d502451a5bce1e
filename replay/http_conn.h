/*
 * http_conn.h — HTTP/1.x over one TCP connection, both directions, turned
 * into transactions.
 *
 * Each direction's rebuilt byte stream is parsed with http-parser as a
 * stream, not per packet: two requests in one segment are two messages, a
 * request spread over many segments is one.  Requests open transactions
 * (ids in order of their request line, tx_queue.h); responses are paired
 * with them in order, one transaction per request.
 *
 * Handled: keep-alive and pipelining, Content-Length, chunked bodies with
 * trailers, bodies delimited by the connection's close, responses without
 * a body (to HEAD, 1xx, 204, 304), interim `100 Continue` (flag `continue`),
 * Upgrade and CONNECT (flag `upgrade`; the connection is no longer parsed,
 * its remaining bytes are counted).  Bodies are kept de-chunked, with any
 * Content-Encoding, up to the body cap.
 *
 * Damage is survived and flagged, never hidden:
 *  - a connection whose start was not captured, a gap, or a syntax error
 *    makes the direction *resynchronise*: bytes are skipped (and counted)
 *    up to the next line that is a valid request line (or status line);
 *  - a gap inside a body whose length is known (Content-Length, a chunk)
 *    does not break the message: the missing bytes are counted in
 *    body_size and the message is flagged;
 *  - after a gap in the response direction, a response is paired using
 *    the peer's acknowledgement (which requests the server had received
 *    when it answered), so one lost response does not shift every pairing
 *    after it;
 *  - a connection that does not start with HTTP is counted as non-HTTP and
 *    not parsed further.
 */
#ifndef REHEARSE_HTTP_CONN_H
#define REHEARSE_HTTP_CONN_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "tx_queue.h"

struct http_counters {
    uint64_t requests;          /* request lines seen */
    uint64_t responses;         /* final responses paired with a request */
    uint64_t interim;           /* 1xx interim responses */
    uint64_t orphan_responses;  /* responses without a request to pair with */
    uint64_t parse_errors;      /* messages broken by invalid HTTP */
    uint64_t resyncs;           /* times parsing restarted on a start line */
    uint64_t resync_bytes;      /* bytes skipped looking for a start line */
    uint64_t http_flows;        /* connections that carried HTTP */
    uint64_t non_http_flows;    /* connections whose bytes were not HTTP */
    uint64_t non_http_bytes;
    uint64_t upgrades;          /* connections that left HTTP/1.x */
    uint64_t upgrade_bytes;     /* their bytes after the switch */
    uint64_t bodies_capped;     /* bodies cut at --max-body */
    uint64_t body_capped_bytes;
    uint64_t memory_bodies;     /* bodies cut because --max-memory was reached */
    uint64_t memory_bytes;
    uint64_t body_gaps;         /* gaps bridged inside a body */
    uint64_t messages_cut;      /* messages cut short: gap, invalid HTTP, end of flow */
};

struct http_env {
    struct tx_queue *txq;
    struct membudget *budget;   /* charged for bytes held in resync and hold */
    uint64_t max_body;          /* body bytes kept per message */
    uint64_t max_hold;          /* bytes held while an upgrade is undecided */
    struct http_counters counters;
};

enum http_half_mode {
    HALF_IDLE,      /* nothing seen yet */
    HALF_PARSE,     /* parsing messages */
    HALF_RESYNC,    /* looking for a start line */
    HALF_HOLD,      /* after an Upgrade/CONNECT request, until its answer */
    HALF_OFF,       /* not parsed: non-HTTP, upgraded, or finished */
};

/* One direction.  Private to http_conn.c; here so it can be embedded. */
struct http_half {
    http_parser parser;
    struct http_conn *conn;
    uint8_t dir;
    uint8_t mode;            /* enum http_half_mode */
    uint8_t off_reason;
    uint8_t last_cb;         /* header callback state */
    bool started;            /* inside a message */
    bool orphan;             /* the response being parsed has no request */
    bool headers_done;       /* header fields now are trailers */
    bool line_open;          /* the target/reason is still growing */
    bool in_chunk;           /* inside chunk data */
    bool at_line_start;      /* resync scanner position */
    bool resync_pending;     /* flag the next message `resync` */
    bool probing;            /* first message of a connection seen from its start */
    bool midstream;          /* the direction's start was not captured */
    uint32_t skip_body;      /* filler body bytes not to store */
    uint32_t gap_flags;      /* flags for the message in progress */
    struct cap_msg *msg;     /* the message in progress, NULL if not stored */
    struct cap_tx *tx;       /* its transaction */
    struct buf line;         /* resync: candidate line; hold: held bytes */
    int64_t ts;              /* time of the bytes being parsed */
    int64_t msg_start;       /* time of the message's first byte */
    uint64_t pos;            /* stream position: bytes delivered and lost */
    uint64_t seen;           /* bytes delivered */
    uint64_t acked;          /* position the peer acknowledged */
    uint64_t skipped;        /* bytes skipped, not yet counted */
    uint64_t charged;        /* bytes of `line` charged to the budget */
};

struct http_conn {
    struct http_env *env;
    struct http_half half[2];
    int client;                    /* direction of the client, -1 unknown */
    uint64_t conn;                 /* connection index */
    char endpoint[2][48];          /* sender of direction 0 and 1 */
    struct cap_tx *await_head, *await_tail; /* requests awaiting a response */
    bool any_http;
    bool non_http;
    bool upgraded;
    bool reset;
    bool release_hold;             /* an upgrade was refused: parse held bytes */
    bool closed;
};

/* endpoint0/1: "addr:port" of the sender of direction 0 and 1. */
void http_conn_init(struct http_conn *c, struct http_env *env, uint64_t conn,
                    const char *endpoint0, const char *endpoint1);
/* The sender of direction `dir` is the client (it sent the SYN). */
void http_conn_set_client(struct http_conn *c, int dir);
/* A direction begins (tcp_sink.start). */
void http_conn_start(struct http_conn *c, int dir, bool midstream);
void http_conn_data(struct http_conn *c, int dir, const uint8_t *p, uint32_t n, int64_t ts);
/* n bytes of direction `dir` were lost; snaplen: cut by the snaplen. */
void http_conn_gap(struct http_conn *c, int dir, uint64_t n, bool snaplen, int64_t ts);
/* The direction ended (FIN): close-delimited bodies end here. */
void http_conn_eof(struct http_conn *c, int dir, int64_t ts);
/* The peer acknowledged `pos` bytes of direction `dir` (see http_conn_pos). */
void http_conn_acked(struct http_conn *c, int dir, uint64_t pos);
/* Bytes of direction `dir` delivered or declared lost so far. */
uint64_t http_conn_pos(const struct http_conn *c, int dir);
/* The connection was reset: open transactions get `conn_reset`. */
void http_conn_reset(struct http_conn *c);
/* Finish every open message and transaction and free what the connection
 * holds.  Idempotent. */
void http_conn_close(struct http_conn *c, int64_t ts);
/* False once neither direction is parsed (non-HTTP, upgraded, ended), so
 * the caller can stop holding its bytes. */
bool http_conn_wants_data(const struct http_conn *c);

#endif
