#include "packet.h"

#include <pcap/dlt.h>
#include <string.h>

/* libpcap maps LINKTYPE_IPV4/IPV6 (228/229) to these DLTs of the same value. */
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

/*
 * The one way packet bytes are read: a span of captured bytes and accessors
 * that check the span before every read and jump to the function's
 * `truncated` label when the bytes are not there (tcpdump's GET_* style).
 */
struct span {
    const uint8_t *p;
    size_t len;
};

static inline bool span_has(struct span s, size_t off, size_t n)
{
    return off <= s.len && s.len - off >= n;
}

#define NEED(s, off, n)                                                              \
    do {                                                                             \
        if (!span_has((s), (off), (n)))                                              \
            goto truncated;                                                          \
    } while (0)
#define GET_U8(s, off) ({ size_t o_ = (off); NEED(s, o_, 1); (s).p[o_]; })
#define GET_BE16(s, off)                                                             \
    ({ size_t o_ = (off); NEED(s, o_, 2); (uint16_t)((s).p[o_] << 8 | (s).p[o_ + 1]); })
#define GET_BE32(s, off)                                                             \
    ({                                                                               \
        size_t o_ = (off);                                                           \
        NEED(s, o_, 4);                                                              \
        (uint32_t)(s).p[o_] << 24 | (uint32_t)(s).p[o_ + 1] << 16 |                  \
            (uint32_t)(s).p[o_ + 2] << 8 | (uint32_t)(s).p[o_ + 3];                  \
    })
#define GET_BYTES(s, off, dst, n)                                                    \
    do {                                                                             \
        size_t o_ = (off);                                                           \
        NEED(s, o_, n);                                                              \
        memcpy((dst), (s).p + o_, (n));                                              \
    } while (0)

/* A sub-span starting at `off` (which the caller has checked). */
static struct span span_from(struct span s, size_t off)
{
    struct span r = {s.p + off, s.len - off};
    return r;
}

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100

#define IPPROTO_TCP_ 6
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_NONE 59
#define IP6_DSTOPTS 60
#define IP6_MOBILITY 135
#define IP6_HIP 139
#define IP6_SHIM6 140

bool packet_linktype_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

const char *packet_linktypes_supported(void)
{
    return "EN10MB (Ethernet, VLAN/QinQ), LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP";
}

static enum packet_status tcp_decode(struct span s, size_t wire, struct packet *pkt)
{
    uint8_t doff;

    pkt->sport = GET_BE16(s, 0);
    pkt->dport = GET_BE16(s, 2);
    pkt->seq = GET_BE32(s, 4);
    pkt->ack = GET_BE32(s, 8);
    doff = (uint8_t)((GET_U8(s, 12) >> 4) * 4);
    pkt->flags = GET_U8(s, 13);
    if (doff < 20 || doff > wire)
        return PACKET_MALFORMED;
    NEED(s, 0, doff); /* options must be complete to find the payload */
    pkt->payload = s.p + doff;
    pkt->payload_len = (uint32_t)(s.len - doff);
    pkt->payload_missing = (uint32_t)(wire - s.len);
    return PACKET_TCP;
truncated:
    return PACKET_TRUNCATED;
}

/*
 * Walk IPv6 extension headers starting with *nh at s[*off]; stop at the
 * upper-layer header.  A fragment header that really fragments fills
 * pkt->frag and returns PACKET_FRAGMENT; an atomic fragment (offset 0, no
 * more fragments) is skipped like any other extension header.
 */
static enum packet_status ip6_walk(struct span s, size_t *off, uint8_t *nh, struct packet *pkt)
{
    for (;;) {
        switch (*nh) {
        case IP6_HOPOPTS:
        case IP6_ROUTING:
        case IP6_DSTOPTS:
        case IP6_MOBILITY:
        case IP6_HIP:
        case IP6_SHIM6: {
            uint8_t next = GET_U8(s, *off);
            size_t hlen = ((size_t)GET_U8(s, *off + 1) + 1) * 8;
            *nh = next;
            *off += hlen;
            break;
        }
        case IP6_AH: {
            uint8_t next = GET_U8(s, *off);
            size_t hlen = ((size_t)GET_U8(s, *off + 1) + 2) * 4;
            *nh = next;
            *off += hlen;
            break;
        }
        case IP6_FRAGMENT: {
            uint8_t next = GET_U8(s, *off);
            uint16_t fo = GET_BE16(s, *off + 2);
            uint32_t id = GET_BE32(s, *off + 4);
            *off += 8;
            *nh = next;
            if ((fo & 0xFFF8) == 0 && !(fo & 1))
                break; /* atomic fragment: the whole datagram */
            pkt->frag.id = id;
            pkt->frag.proto = next;
            pkt->frag.offset = fo & 0xFFF8;
            pkt->frag.more = fo & 1;
            return PACKET_FRAGMENT;
        }
        case IP6_NONE:
            return PACKET_NOT_TCP;
        default:
            return PACKET_TCP; /* the upper layer starts at *off */
        }
    }
truncated:
    return PACKET_TRUNCATED;
}

/* s: the captured bytes from the IP header on; wire: bytes on the wire from there. */
static enum packet_status ip6_decode(struct span s, size_t wire, struct packet *pkt)
{
    size_t total, off = 40;
    uint8_t nh;
    enum packet_status st;

    if (GET_U8(s, 0) >> 4 != 6)
        return PACKET_MALFORMED;
    total = 40 + (size_t)GET_BE16(s, 4);
    nh = GET_U8(s, 6);
    GET_BYTES(s, 8, pkt->ip.src, 16);
    GET_BYTES(s, 24, pkt->ip.dst, 16);
    pkt->ip.version = 6;
    if (total == 40)
        total = wire; /* jumbogram or segmentation offload: trust the frame */
    if (total > wire)
        return PACKET_MALFORMED;
    if (s.len > total)
        s.len = total; /* link-layer padding */
    st = ip6_walk(s, &off, &nh, pkt);
    if (st == PACKET_FRAGMENT) {
        if (off > s.len)
            return PACKET_TRUNCATED;
        pkt->frag.data = s.p + off;
        pkt->frag.len = (uint32_t)(s.len - off);
        pkt->frag.cut = s.len < total;
        return st;
    }
    if (st != PACKET_TCP)
        return st;
    if (nh != IPPROTO_TCP_)
        return PACKET_NOT_TCP;
    if (off > total)
        return PACKET_MALFORMED;
    if (off > s.len)
        return PACKET_TRUNCATED;
    return tcp_decode(span_from(s, off), total - off, pkt);
truncated:
    return PACKET_TRUNCATED;
}

static enum packet_status ip4_decode(struct span s, size_t wire, struct packet *pkt)
{
    uint8_t vihl = GET_U8(s, 0), proto;
    size_t ihl = (size_t)(vihl & 15) * 4, total;
    uint16_t fo;

    if (vihl >> 4 != 4 || ihl < 20)
        return PACKET_MALFORMED;
    total = GET_BE16(s, 2);
    fo = GET_BE16(s, 6);
    proto = GET_U8(s, 9);
    memset(&pkt->ip, 0, sizeof pkt->ip);
    pkt->ip.version = 4;
    GET_BYTES(s, 12, pkt->ip.src, 4);
    GET_BYTES(s, 16, pkt->ip.dst, 4);
    NEED(s, 0, ihl);
    if (total == 0)
        total = wire; /* segmentation offload leaves the length unset */
    if (total < ihl || total > wire)
        return PACKET_MALFORMED;
    if (s.len > total)
        s.len = total; /* link-layer padding */
    if (fo & 0x3FFF) { /* MF set or a non-zero offset */
        pkt->frag.id = GET_BE16(s, 4);
        pkt->frag.proto = proto;
        pkt->frag.offset = (uint32_t)(fo & 0x1FFF) * 8;
        pkt->frag.more = (fo & 0x2000) != 0;
        pkt->frag.data = s.p + ihl;
        pkt->frag.len = (uint32_t)(s.len - ihl);
        pkt->frag.cut = s.len < total;
        return PACKET_FRAGMENT;
    }
    if (proto != IPPROTO_TCP_)
        return PACKET_NOT_TCP;
    return tcp_decode(span_from(s, ihl), total - ihl, pkt);
truncated:
    return PACKET_TRUNCATED;
}

static enum packet_status ip_decode(struct span s, size_t wire, struct packet *pkt)
{
    uint8_t version = GET_U8(s, 0) >> 4;
    if (version == 4)
        return ip4_decode(s, wire, pkt);
    if (version == 6)
        return ip6_decode(s, wire, pkt);
    return PACKET_NOT_IP;
truncated:
    return PACKET_TRUNCATED;
}

/* Skip VLAN tags (any stack of them), then dispatch on the ethertype. */
static enum packet_status ether_payload(struct span s, size_t off, uint16_t type, size_t wire,
                                        struct packet *pkt)
{
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        type = GET_BE16(s, off + 2);
        off += 4;
    }
    if (type != ETH_IPV4 && type != ETH_IPV6)
        return PACKET_NOT_IP;
    NEED(s, off, 1);
    if (type == ETH_IPV4)
        return ip4_decode(span_from(s, off), wire - off, pkt);
    return ip6_decode(span_from(s, off), wire - off, pkt);
truncated:
    return PACKET_TRUNCATED;
}

/* BSD null/loop: a 4-byte address family, host order of the capturing
 * machine for DLT_NULL, network order for DLT_LOOP; accept either. */
static enum packet_status null_decode(struct span s, size_t wire, struct packet *pkt)
{
    uint32_t family = GET_BE32(s, 0);
    if (family > 0xFFFF)
        family = __builtin_bswap32(family);
    NEED(s, 4, 1);
    switch (family) {
    case 2: /* AF_INET everywhere */
        return ip4_decode(span_from(s, 4), wire - 4, pkt);
    case 10: /* AF_INET6: Linux */
    case 24: /* NetBSD, OpenBSD, BSD/OS */
    case 28: /* FreeBSD, DragonFly */
    case 30: /* macOS */
        return ip6_decode(span_from(s, 4), wire - 4, pkt);
    default:
        return PACKET_NOT_IP;
    }
truncated:
    return PACKET_TRUNCATED;
}

enum packet_status packet_decode(int dlt, const uint8_t *frame, uint32_t caplen,
                                 uint32_t wirelen, struct packet *pkt)
{
    struct span s = {frame, caplen};
    size_t wire = wirelen < caplen ? caplen : wirelen;

    pkt->payload = NULL;
    pkt->payload_len = 0;
    pkt->payload_missing = 0;
    switch (dlt) {
    case DLT_EN10MB:
        return ether_payload(s, 14, GET_BE16(s, 12), wire, pkt);
    case DLT_LINUX_SLL:
        return ether_payload(s, 16, GET_BE16(s, 14), wire, pkt);
    case DLT_LINUX_SLL2:
        return ether_payload(s, 20, GET_BE16(s, 0), wire, pkt);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return ip_decode(s, wire, pkt);
    case DLT_NULL:
    case DLT_LOOP:
        return null_decode(s, wire, pkt);
    default:
        return PACKET_NOT_IP;
    }
truncated:
    return PACKET_TRUNCATED;
}

enum packet_status packet_decode_transport(uint8_t proto, const uint8_t *data, uint32_t len,
                                           struct packet *pkt)
{
    struct span s = {data, len};
    size_t off = 0;

    pkt->payload = NULL;
    pkt->payload_len = 0;
    pkt->payload_missing = 0;
    if (pkt->ip.version == 6) {
        enum packet_status st = ip6_walk(s, &off, &proto, pkt);
        if (st == PACKET_FRAGMENT)
            return PACKET_MALFORMED; /* a fragment header inside a fragment */
        if (st != PACKET_TCP)
            return st;
        if (off > len)
            return PACKET_TRUNCATED;
    }
    if (proto != IPPROTO_TCP_)
        return PACKET_NOT_TCP;
    return tcp_decode(span_from(s, off), len - off, pkt);
}
