/*
 * pcapw.h — write small pcap and pcapng files byte by byte, from crafted
 * packets, so capture tests can cover each reassembly and HTTP case
 * deterministically (reordering, loss, wrap-around, VLAN stacks, ...).
 *
 * A `struct tconn` plays one TCP connection: it keeps both sequence
 * numbers and a clock, and writes each segment framed for the file's link
 * type.  Tests that need odd packets use tconn_segment_at() or
 * pcapw_frame() directly.
 */
#ifndef REHEARSE_TEST_PCAPW_H
#define REHEARSE_TEST_PCAPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pcapw_link {
    PCAPW_ETHER,       /* Ethernet, with `vlan` tags if any */
    PCAPW_SLL,         /* Linux cooked v1 */
    PCAPW_SLL2,        /* Linux cooked v2 */
    PCAPW_RAW,         /* LINKTYPE_RAW (101) */
    PCAPW_IPV4,        /* LINKTYPE_IPV4 (228) */
    PCAPW_IPV6,        /* LINKTYPE_IPV6 (229) */
    PCAPW_NULL_LE,     /* BSD null, little-endian family */
    PCAPW_NULL_BE,     /* BSD null, big-endian family */
    PCAPW_LOOP,        /* OpenBSD loop */
};

struct pcapw_opts {
    enum pcapw_link link;
    bool pcapng;
    uint32_t snaplen;         /* 0: 262144; packets longer are cut */
    int nvlan;                /* Ethernet: tags, outermost first */
    uint16_t vlan_tpid[4];    /* 0x8100, 0x88a8, 0x9100 */
    uint16_t vlan_id[4];
};

struct pcapw;

/* Create a capture file; aborts the test on failure. */
struct pcapw *pcapw_open(const char *path, const struct pcapw_opts *opts);
void pcapw_close(struct pcapw *w);

/* Append a frame whose first caplen bytes are `frame`; wirelen is its
 * length on the wire. The snaplen is NOT applied. */
void pcapw_frame(struct pcapw *w, int64_t ts_us, const void *frame, uint32_t caplen,
                 uint32_t wirelen);

/* Frame an IP packet for the file's link type and append it, cut at the
 * snaplen. */
void pcapw_ip(struct pcapw *w, int64_t ts_us, const void *ip, size_t len);

/* One TCP connection between a client and a server. */
struct tconn {
    struct pcapw *w;
    bool v6;
    uint8_t ip[2][16];        /* [0] client, [1] server */
    uint16_t port[2];
    uint32_t seq[2];          /* next sequence number each side sends */
    int64_t ts;               /* advances 100 µs per packet */
    uint16_t ip_id;
};

enum { CLIENT = 0, SERVER = 1 };

/* Addresses as text ("10.0.0.1", "2001:db8::1"); isn: initial sequence
 * numbers of client and server. */
void tconn_init(struct tconn *c, struct pcapw *w, const char *client, uint16_t cport,
                const char *server, uint16_t sport, uint32_t client_isn, uint32_t server_isn);
/* SYN, SYN-ACK, ACK. */
void tconn_handshake(struct tconn *c);
/* One segment of data from `side`, acknowledging the other side. */
void tconn_send(struct tconn *c, int side, const void *data, size_t len);
void tconn_send_str(struct tconn *c, int side, const char *text);
/* The same data cut into segments of at most `mss` bytes. */
void tconn_send_split(struct tconn *c, int side, const void *data, size_t len, size_t mss);
/* A segment at an explicit sequence number; advances nothing. */
void tconn_segment_at(struct tconn *c, int side, uint32_t seq, uint8_t flags, const void *data,
                      size_t len);
/* A pure ACK from `side` of everything the other side sent. */
void tconn_ack(struct tconn *c, int side);
/* FIN from one side, then its ACK; tconn_close: both sides. */
void tconn_fin(struct tconn *c, int side);
void tconn_close(struct tconn *c);
void tconn_rst(struct tconn *c, int side);

/* The IP packet (header + TCP + payload) a segment would be, for tests
 * that fragment it; returns its length. */
size_t tconn_build_ip(struct tconn *c, int side, uint32_t seq, uint8_t flags,
                      const void *data, size_t len, uint8_t *out, size_t out_size);
/* Send a segment as IP fragments carrying at most `frag_payload` bytes
 * each (a multiple of 8), in the given order (indexes; NULL: in order). */
void tconn_send_fragmented(struct tconn *c, int side, const void *data, size_t len,
                           size_t frag_payload, const int *order, int norder);

#endif
