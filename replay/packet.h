/*
 * packet.h — decode one captured frame down to its TCP segment.
 *
 * Link layers: Ethernet (with any stack of 802.1Q / 802.1ad / old-QinQ
 * 0x9100 tags), Linux cooked capture v1 and v2 (the `any` interface), raw IP
 * (DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6), BSD null/loop (address family in
 * either byte order).  Network: IPv4 (options skipped, header checksum not
 * checked: capture points see offloaded packets with bad checksums) and
 * IPv6 with its extension headers.  Transport: TCP.
 *
 * Every read of packet bytes goes through one bounds-checked accessor
 * (packet.c's GET_* macros), so a hostile or cut frame can only yield a
 * status, never a read past the captured bytes.
 *
 * Nothing is allocated: the decoded packet points into the caller's frame.
 */
#ifndef REHEARSE_PACKET_H
#define REHEARSE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP header flags. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Outcome of decoding a frame; the capture pipeline counts each. */
enum packet_status {
    PACKET_TCP,          /* a TCP segment: the `tcp` fields are set */
    PACKET_FRAGMENT,     /* an IP fragment: the `frag` fields are set */
    PACKET_NOT_IP,       /* ARP, LLDP, 802.3 frames, other ethertypes */
    PACKET_NOT_TCP,      /* UDP, ICMP, ESP, ... */
    PACKET_TRUNCATED,    /* a header was cut by the snaplen */
    PACKET_MALFORMED,    /* a header contradicts itself (bad length, version) */
};

/* An IP address pair and the upper-layer protocol, for TCP and fragments. */
struct packet_ip {
    uint8_t version;     /* 4 or 6 */
    uint8_t src[16];     /* IPv4 uses the first 4 bytes */
    uint8_t dst[16];
};

struct packet {
    struct packet_ip ip;

    /* TCP (status PACKET_TCP). */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;            /* TCP_* bits */
    const uint8_t *payload;   /* captured payload bytes */
    uint32_t payload_len;     /* bytes captured */
    uint32_t payload_missing; /* bytes the segment carried past the snaplen */

    /* IP fragment (status PACKET_FRAGMENT): one piece of a datagram. */
    struct {
        uint32_t id;          /* IPv4 identification or IPv6 fragment id */
        uint8_t proto;        /* upper-layer protocol (IPv6: of the fragmentable part) */
        uint32_t offset;      /* byte offset of this piece in the datagram's payload */
        bool more;            /* MF: more fragments follow */
        const uint8_t *data;  /* the piece */
        uint32_t len;         /* bytes captured */
        bool cut;             /* the piece was cut by the snaplen */
    } frag;
};

/* Whether the decoder understands a libpcap DLT_* link type. */
bool packet_linktype_supported(int dlt);
/* The link types packet_decode() accepts, for error messages. */
const char *packet_linktypes_supported(void);

/*
 * Decode frame[0..caplen) of link type `dlt`; wirelen is the frame's length
 * on the wire (more than caplen when the snaplen cut it).  Fills *pkt and
 * returns a status.  pkt's pointers point into `frame`.
 */
enum packet_status packet_decode(int dlt, const uint8_t *frame, uint32_t caplen,
                                 uint32_t wirelen, struct packet *pkt);

/*
 * Decode the payload of a reassembled IP datagram: `proto` is the protocol
 * that follows the IP header (IPv6: the fragment header's next header), so
 * IPv6 extension headers inside the fragmentable part are walked too.  The
 * ip fields of *pkt must already be set.  Returns PACKET_TCP,
 * PACKET_NOT_TCP, PACKET_TRUNCATED or PACKET_MALFORMED.
 */
enum packet_status packet_decode_transport(uint8_t proto, const uint8_t *data, uint32_t len,
                                           struct packet *pkt);

#endif
