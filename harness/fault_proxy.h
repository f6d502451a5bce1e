/*
 * fault_proxy.h — a TCP proxy that injects network faults (Toxiproxy's
 * toxics, fault_toxic.h) between a client and a server.
 *
 * One proxy runs one event thread (epoll, non-blocking sockets) that serves
 * any number of links; a link is a listening address whose connections are
 * relayed to one upstream address.  Every other function here is a control
 * call, safe from any thread, and none of them waits on the network:
 *
 *  - Each control call takes a deadline (ms; <= 0 means
 *    FAULT_PROXY_DEADLINE_MS) and returns once the event thread has applied
 *    the change, or ERR_STATE when the deadline passes first.  In that case
 *    the change stays queued and applies when the thread catches up; the
 *    configuration that fault_proxy_list_toxics shows already includes it.
 *  - Toxics apply to connections already open as well as to new ones.
 *  - Whether a toxic applies to a connection (its toxicity) is drawn from
 *    the proxy's seed, the link name, the toxic name and the connection's
 *    number on the link (1, 2, ... in accept order): the same seed gives the
 *    same draws, whatever the timing.  Jitter and slice sizes come from a
 *    generator seeded the same way, per connection.
 *  - Removing a toxic releases the data it was holding at once; removing a
 *    timeout toxic (or updating it so it no longer applies) closes the
 *    connections it held, as Toxiproxy does.  The `down` toxic takes the
 *    whole link down: new connections are refused (the listening socket
 *    stops listening but keeps its port) and open ones are closed.
 *
 * With no toxic on a connection, data is relayed with one read and one
 * write per chunk through a shared 64 KiB buffer; only what the peer cannot
 * take yet is copied aside.  Each direction of a connection buffers at most
 * `buffer_max` bytes: beyond that the proxy stops reading that side, so
 * backpressure reaches the sender.
 */
#ifndef REHEARSE_FAULT_PROXY_H
#define REHEARSE_FAULT_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "fault_toxic.h"

#define FAULT_PROXY_DEADLINE_MS 2000
#define FAULT_PROXY_LINKS_MAX 64
#define FAULT_PROXY_TOXICS_MAX 32      /* per link */
#define FAULT_PROXY_LINK_NAME_MAX 64
#define FAULT_PROXY_ADDRESS_MAX 300     /* "host:port" as given */

struct fault_proxy_options {
    bool has_seed;        /* false: a random seed, reported by fault_proxy_seed */
    uint64_t seed;
    size_t buffer_max;    /* per connection and direction; 0: 256 KiB */
};

/* What a control call did, for a journal.  Times are wall-clock
 * microseconds since the epoch (CLOCK_REALTIME). */
struct fault_effect {
    int64_t applied_at_us;          /* when the event thread applied it */
    unsigned connections_open;      /* open connections on the link at that time */
    unsigned connections_affected;  /* add/update: open connections the toxic now
                                       applies to; remove: those it applied to */
    unsigned connections_closed;    /* closed by this call (down, timeout removal) */
};

/* Per-link counters since the link was added.  Bytes count what was
 * delivered to the other side. */
struct fault_link_stats {
    uint64_t connections_total;
    uint64_t connections_open;
    uint64_t bytes_upstream;        /* client → server */
    uint64_t bytes_downstream;      /* server → client */
    uint64_t bytes_dropped;         /* swallowed by timeout, reset_peer, limit_data */
    uint64_t toxics_applied;        /* (toxic, connection) pairs whose draw applied */
    uint64_t closed_by_toxics;      /* timeout, limit_data, down, timeout removal */
    uint64_t reset_by_toxics;       /* reset_peer */
    uint64_t upstream_failures;     /* connections the upstream refused or dropped
                                       before they were established */
};

struct fault_proxy;

/* Create the proxy and start its event thread.  The thread blocks every
 * signal, so signals reach the caller's threads. */
int fault_proxy_new(struct fault_proxy **out, const struct fault_proxy_options *options,
                    struct error *err);
/* Stop the thread, close every connection and listener, free.  NULL is fine. */
void fault_proxy_free(struct fault_proxy *p);

/* The seed in use (given, or drawn at creation). */
uint64_t fault_proxy_seed(const struct fault_proxy *p);

/*
 * Add a link: listen on `listen` ("127.0.0.1:5433", "[::1]:0", "localhost:0";
 * port 0 picks a free port) and relay each connection to `upstream`
 * ("HOST:PORT", resolved once, now).  Bind and resolution errors are
 * reported here (ERR_USAGE for a malformed address, ERR_NETWORK otherwise).
 * Names are unique per proxy.
 */
int fault_proxy_add_link(struct fault_proxy *p, const char *name, const char *listen,
                         const char *upstream, int deadline_ms, struct error *err);
/* The address the link listens on, with its actual port ("127.0.0.1:40123"). */
int fault_proxy_link_address(struct fault_proxy *p, const char *link, char *out, size_t size,
                             struct error *err);
/* The names of the links, in the order they were added (borrowed until the
 * proxy is freed).  Returns the count. */
size_t fault_proxy_links(struct fault_proxy *p, const char **names, size_t max);

/* Add a toxic (validated; its name must be new on the link). */
int fault_proxy_add_toxic(struct fault_proxy *p, const char *link, const struct fault_toxic *t,
                          int deadline_ms, struct fault_effect *effect, struct error *err);
/* Replace the attributes and toxicity of the toxic named t->name; its type
 * and stream must stay the same. */
int fault_proxy_update_toxic(struct fault_proxy *p, const char *link,
                             const struct fault_toxic *t, int deadline_ms,
                             struct fault_effect *effect, struct error *err);
int fault_proxy_remove_toxic(struct fault_proxy *p, const char *link, const char *name,
                             int deadline_ms, struct fault_effect *effect, struct error *err);
/* Take the link down (add the `down` toxic) or bring it back up (remove it). */
int fault_proxy_set_down(struct fault_proxy *p, const char *link, bool down, int deadline_ms,
                         struct fault_effect *effect, struct error *err);

/* Copy the link's toxics, in the order they were added, into out[0..max);
 * *count receives how many there are (possibly more than max). */
int fault_proxy_list_toxics(struct fault_proxy *p, const char *link, struct fault_toxic *out,
                            size_t max, size_t *count, struct error *err);

/* Read the link's counters (a consistent-enough snapshot: each counter is
 * read atomically). */
int fault_proxy_link_stats(struct fault_proxy *p, const char *link,
                           struct fault_link_stats *out, struct error *err);

/* The local ports of the proxy's open connections to the upstream of a
 * link: what the upstream server sees as client ports (e.g. PostgreSQL's
 * pg_stat_activity.client_port), so database faults can target exactly the
 * sessions that came through this link.  *count receives how many there
 * are (possibly more than max). */
int fault_proxy_link_upstream_ports(struct fault_proxy *p, const char *link, int *ports,
                                    size_t max, size_t *count, int deadline_ms,
                                    struct error *err);

#endif
