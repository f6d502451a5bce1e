/*
 * flow_table.h — TCP connections by 5-tuple, found in O(1) from a packet of
 * either direction.
 *
 * The key is canonical (the lower address:port first), so both directions
 * of a connection land on one flow; flow_table_find() says which direction
 * a packet travels.  Flows are kept in order of last activity, so idle ones
 * are found from the head without a scan.
 *
 * Connection indexes count flows in order of their first packet, 1-based,
 * including flows that carry no HTTP (and are reassigned when a new SYN
 * reuses the 4-tuple of a finished connection), so they match tshark's
 * `tcp.stream + 1`.
 *
 * Each flow carries `user_size` bytes of caller state right after it
 * (flow_user()), zeroed when the flow is created; the caller releases what
 * that state points to before flow_table_remove().
 */
#ifndef REHEARSE_FLOW_TABLE_H
#define REHEARSE_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "membudget.h"
#include "packet.h"

struct flow_key {
    uint8_t addr[2][16]; /* canonical order: addr[0]:port[0] sorts first */
    uint16_t port[2];
    uint8_t version;     /* 4 or 6 */
    uint8_t pad[3];      /* zero, so keys compare and hash as bytes */
};

struct flow {
    struct flow *hnext;             /* hash chain */
    struct flow *older, *newer;     /* activity order */
    uint64_t hash;
    struct flow_key key;
    uint64_t conn;                  /* connection index, 1-based */
    int64_t first_seen, last_seen;  /* µs */
};

struct flow_table;

/* NULL when out of memory.  Each flow's memory is charged to `budget`. */
struct flow_table *flow_table_new(size_t user_size, struct membudget *budget);
/* Frees every flow (their user state must already be released). */
void flow_table_free(struct flow_table *t);

/*
 * The flow of a TCP packet, created when absent if `create` (then *created
 * is set).  *dir gets 0 when the packet travels from key.addr[0] to
 * key.addr[1], 1 otherwise.  The flow becomes the most recently active.
 * NULL when absent (create false) or out of memory.
 */
struct flow *flow_table_find(struct flow_table *t, const struct packet *pkt, int64_t now,
                             bool create, bool *created, int *dir);

/* Give a flow the next connection index (a new connection on an old 4-tuple). */
void flow_table_renumber(struct flow_table *t, struct flow *f);

/* The least recently active flow, or NULL. */
struct flow *flow_table_oldest(const struct flow_table *t);

/* Unlink and free a flow. */
void flow_table_remove(struct flow_table *t, struct flow *f);

static inline void *flow_user(struct flow *f)
{
    return (char *)f + ((sizeof *f + 15) & ~(size_t)15);
}

uint64_t flow_table_count(const struct flow_table *t);
/* Connection indexes handed out so far (the number of connections seen). */
uint64_t flow_table_connections(const struct flow_table *t);
/* Bytes one flow costs, for the memory summary. */
size_t flow_table_flow_size(const struct flow_table *t);

/* "10.0.0.1:80" or "[2001:db8::1]:443" for side 0 or 1 of a key. */
void flow_key_endpoint(const struct flow_key *k, int side, char *out, size_t size);

#endif
