/*
 * ipfrag.h — reassemble fragmented IPv4 and IPv6 datagrams.
 *
 * TCP rarely fragments (path MTU discovery), but captures from tunnels,
 * VPNs and odd middleboxes do contain fragments, and a request hidden in
 * them must not vanish.  Memory is bounded: at most `max_datagrams`
 * datagrams in progress holding at most `max_bytes` in total; a datagram
 * that is not complete `timeout_us` after its first fragment is dropped.
 * Every datagram that could not be rebuilt is counted by reason.
 *
 * Overlapping fragments keep the bytes that arrived first (and are counted:
 * overlaps are how fragment attacks hide data from inspection).
 */
#ifndef REHEARSE_IPFRAG_H
#define REHEARSE_IPFRAG_H

#include <stdint.h>

#include "packet.h"

struct ipfrag_limits {
    uint32_t max_datagrams; /* datagrams in progress at once */
    uint64_t max_bytes;     /* bytes held for all of them */
    int64_t timeout_us;     /* capture time allowed from first to last fragment */
};

/* Datagrams (not fragments) unless the name says otherwise. */
struct ipfrag_counters {
    uint64_t fragments;     /* fragments seen */
    uint64_t reassembled;   /* datagrams rebuilt */
    uint64_t timed_out;     /* incomplete when their time ran out (or at the end) */
    uint64_t cut;           /* a fragment was cut by the snaplen */
    uint64_t over_cap;      /* dropped: the datagram or byte limit was reached */
    uint64_t invalid;       /* longer than 64 KiB, or contradicting its own end */
    uint64_t overlaps;      /* fragments overlapping bytes already received */
};

struct ipfrag;

/* Returns NULL when out of memory. */
struct ipfrag *ipfrag_new(const struct ipfrag_limits *limits);
void ipfrag_free(struct ipfrag *f); /* NULL is fine */

/*
 * Add the fragment in *pkt (status PACKET_FRAGMENT) seen at time `now`.
 * Returns 1 when it completed its datagram: *data and *len hold the datagram's
 * payload (everything after the IP header, or after the IPv6 fragment
 * header) and *proto the protocol that follows, borrowed until the next
 * call.  Returns 0 while fragments are missing or when the fragment was
 * dropped (and counted).
 */
int ipfrag_add(struct ipfrag *f, const struct packet *pkt, int64_t now, const uint8_t **data,
               uint32_t *len, uint8_t *proto);

/* Drop (and count) datagrams whose time ran out before `now`; INT64_MAX
 * drops everything still incomplete (end of capture). */
void ipfrag_expire(struct ipfrag *f, int64_t now);

const struct ipfrag_counters *ipfrag_counters(const struct ipfrag *f);
/* Bytes held right now, for the memory summary. */
uint64_t ipfrag_bytes(const struct ipfrag *f);

#endif
