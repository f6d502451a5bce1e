#include "pcapw.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcapw {
    FILE *f;
    struct pcapw_opts o;
};

static void die(const char *what)
{
    fprintf(stderr, "pcapw: %s\n", what);
    abort();
}

static void put(struct pcapw *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, w->f) != n)
        die("write failed");
}

static void put32(struct pcapw *w, uint32_t v)
{
    put(w, &v, 4);
}

static void put16(struct pcapw *w, uint16_t v)
{
    put(w, &v, 2);
}

static uint32_t linktype(enum pcapw_link l)
{
    switch (l) {
    case PCAPW_ETHER: return 1;
    case PCAPW_SLL: return 113;
    case PCAPW_SLL2: return 276;
    case PCAPW_RAW: return 101;
    case PCAPW_IPV4: return 228;
    case PCAPW_IPV6: return 229;
    case PCAPW_NULL_LE:
    case PCAPW_NULL_BE: return 0;
    case PCAPW_LOOP: return 108;
    }
    return 1;
}

struct pcapw *pcapw_open(const char *path, const struct pcapw_opts *opts)
{
    struct pcapw *w = calloc(1, sizeof *w);
    if (!w)
        die("out of memory");
    if (opts)
        w->o = *opts;
    if (!w->o.snaplen)
        w->o.snaplen = 262144;
    w->f = fopen(path, "wb");
    if (!w->f)
        die("cannot create file");
    if (!w->o.pcapng) {
        put32(w, 0xa1b2c3d4);
        put16(w, 2);
        put16(w, 4);
        put32(w, 0);
        put32(w, 0);
        put32(w, w->o.snaplen);
        put32(w, linktype(w->o.link));
        return w;
    }
    /* Section header block, then one interface description block. */
    put32(w, 0x0A0D0D0A);
    put32(w, 28);
    put32(w, 0x1A2B3C4D);
    put16(w, 1);
    put16(w, 0);
    put32(w, 0xFFFFFFFF);
    put32(w, 0xFFFFFFFF);
    put32(w, 28);
    put32(w, 1);
    put32(w, 20);
    put16(w, (uint16_t)linktype(w->o.link));
    put16(w, 0);
    put32(w, w->o.snaplen);
    put32(w, 20);
    return w;
}

void pcapw_close(struct pcapw *w)
{
    if (fclose(w->f) != 0)
        die("close failed");
    free(w);
}

void pcapw_frame(struct pcapw *w, int64_t ts_us, const void *frame, uint32_t caplen,
                 uint32_t wirelen)
{
    static const uint8_t zero[4];
    if (!w->o.pcapng) {
        put32(w, (uint32_t)(ts_us / 1000000));
        put32(w, (uint32_t)(ts_us % 1000000));
        put32(w, caplen);
        put32(w, wirelen);
        put(w, frame, caplen);
        return;
    }
    uint32_t pad = (4 - caplen % 4) % 4, total = 32 + caplen + pad;
    put32(w, 6);
    put32(w, total);
    put32(w, 0);
    put32(w, (uint32_t)((uint64_t)ts_us >> 32));
    put32(w, (uint32_t)ts_us);
    put32(w, caplen);
    put32(w, wirelen);
    put(w, frame, caplen);
    put(w, zero, pad);
    put32(w, total);
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void pcapw_ip(struct pcapw *w, int64_t ts_us, const void *ip, size_t len)
{
    uint8_t frame[70000];
    size_t off = 0;
    bool v6 = (((const uint8_t *)ip)[0] >> 4) == 6;
    uint16_t ethertype = v6 ? 0x86DD : 0x0800;

    switch (w->o.link) {
    case PCAPW_ETHER:
        memcpy(frame, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
        off = 12;
        for (int i = 0; i < w->o.nvlan; i++) {
            be16(frame + off, w->o.vlan_tpid[i]);
            be16(frame + off + 2, w->o.vlan_id[i]);
            off += 4;
        }
        be16(frame + off, ethertype);
        off += 2;
        break;
    case PCAPW_SLL:
        memset(frame, 0, 16);
        be16(frame + 2, 1);  /* ARPHRD_ETHER */
        be16(frame + 4, 6);
        memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
        be16(frame + 14, ethertype);
        off = 16;
        break;
    case PCAPW_SLL2:
        memset(frame, 0, 20);
        be16(frame, ethertype);
        be32(frame + 4, 1);  /* ifindex */
        be16(frame + 8, 1);  /* ARPHRD_ETHER */
        frame[11] = 6;
        memcpy(frame + 12, "\x02\x00\x00\x00\x00\x01", 6);
        off = 20;
        break;
    case PCAPW_RAW:
    case PCAPW_IPV4:
    case PCAPW_IPV6:
        break;
    case PCAPW_NULL_LE: {
        uint32_t fam = v6 ? 30 : 2;
        memcpy(frame, &fam, 4); /* host order: little-endian here */
        off = 4;
        break;
    }
    case PCAPW_NULL_BE:
    case PCAPW_LOOP:
        be32(frame, v6 ? 24 : 2);
        off = 4;
        break;
    }
    if (off + len > sizeof frame)
        die("frame too large");
    memcpy(frame + off, ip, len);
    uint32_t wire = (uint32_t)(off + len);
    pcapw_frame(w, ts_us, frame, wire < w->o.snaplen ? wire : w->o.snaplen, wire);
}

/* ---- TCP connections -------------------------------------------------- */

void tconn_init(struct tconn *c, struct pcapw *w, const char *client, uint16_t cport,
                const char *server, uint16_t sport, uint32_t client_isn, uint32_t server_isn)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->v6 = strchr(client, ':') != NULL;
    if (inet_pton(c->v6 ? AF_INET6 : AF_INET, client, c->ip[0]) != 1 ||
        inet_pton(c->v6 ? AF_INET6 : AF_INET, server, c->ip[1]) != 1)
        die("bad address");
    c->port[0] = cport;
    c->port[1] = sport;
    c->seq[0] = client_isn;
    c->seq[1] = server_isn;
    c->ts = 1700000000000000LL;
    c->ip_id = 1;
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

/* IP header for `payload_len` bytes of upper-layer protocol `proto`. */
static size_t ip_header(struct tconn *c, int side, uint8_t proto, size_t payload_len,
                        uint8_t *out)
{
    if (c->v6) {
        memset(out, 0, 40);
        out[0] = 0x60;
        be16(out + 4, (uint16_t)payload_len);
        out[6] = proto;
        out[7] = 64;
        memcpy(out + 8, c->ip[side], 16);
        memcpy(out + 24, c->ip[!side], 16);
        return 40;
    }
    memset(out, 0, 20);
    out[0] = 0x45;
    be16(out + 2, (uint16_t)(20 + payload_len));
    be16(out + 4, c->ip_id++);
    out[8] = 64;
    out[9] = proto;
    memcpy(out + 12, c->ip[side], 4);
    memcpy(out + 16, c->ip[!side], 4);
    be16(out + 10, ip_checksum(out, 20));
    return 20;
}

static size_t tcp_header(struct tconn *c, int side, uint32_t seq, uint8_t flags, uint8_t *out)
{
    memset(out, 0, 20);
    be16(out, c->port[side]);
    be16(out + 2, c->port[!side]);
    be32(out + 4, seq);
    be32(out + 8, (flags & 0x10) ? c->seq[!side] : 0);
    out[12] = 5 << 4;
    out[13] = flags;
    be16(out + 14, 65535);
    return 20;
}

size_t tconn_build_ip(struct tconn *c, int side, uint32_t seq, uint8_t flags,
                      const void *data, size_t len, uint8_t *out, size_t out_size)
{
    size_t off;
    if (60 + len > out_size)
        die("segment too large");
    off = ip_header(c, side, 6, 20 + len, out);
    off += tcp_header(c, side, seq, flags, out + off);
    memcpy(out + off, data, len);
    return off + len;
}

void tconn_segment_at(struct tconn *c, int side, uint32_t seq, uint8_t flags, const void *data,
                      size_t len)
{
    uint8_t pkt[70000];
    size_t n = tconn_build_ip(c, side, seq, flags, data, len, pkt, sizeof pkt);
    pcapw_ip(c->w, c->ts, pkt, n);
    c->ts += 100;
}

void tconn_handshake(struct tconn *c)
{
    tconn_segment_at(c, CLIENT, c->seq[0], 0x02, "", 0);
    c->seq[0]++;
    tconn_segment_at(c, SERVER, c->seq[1], 0x12, "", 0);
    c->seq[1]++;
    tconn_segment_at(c, CLIENT, c->seq[0], 0x10, "", 0);
}

void tconn_send(struct tconn *c, int side, const void *data, size_t len)
{
    tconn_segment_at(c, side, c->seq[side], 0x18, data, len);
    c->seq[side] += (uint32_t)len;
}

void tconn_send_str(struct tconn *c, int side, const char *text)
{
    tconn_send(c, side, text, strlen(text));
}

void tconn_send_split(struct tconn *c, int side, const void *data, size_t len, size_t mss)
{
    const uint8_t *p = data;
    while (len) {
        size_t n = len < mss ? len : mss;
        tconn_send(c, side, p, n);
        p += n;
        len -= n;
    }
}

void tconn_ack(struct tconn *c, int side)
{
    tconn_segment_at(c, side, c->seq[side], 0x10, "", 0);
}

void tconn_fin(struct tconn *c, int side)
{
    tconn_segment_at(c, side, c->seq[side], 0x11, "", 0);
    c->seq[side]++;
    tconn_ack(c, !side);
}

void tconn_close(struct tconn *c)
{
    tconn_fin(c, CLIENT);
    tconn_fin(c, SERVER);
}

void tconn_rst(struct tconn *c, int side)
{
    tconn_segment_at(c, side, c->seq[side], 0x04, "", 0);
}

void tconn_send_fragmented(struct tconn *c, int side, const void *data, size_t len,
                           size_t frag_payload, const int *order, int norder)
{
    uint8_t whole[70000], frag[70000];
    size_t hlen = c->v6 ? 40 : 20;
    size_t n = tconn_build_ip(c, side, c->seq[side], 0x18, data, len, whole, sizeof whole);
    size_t body = n - hlen; /* TCP header + payload, to be fragmented */
    int count = (int)((body + frag_payload - 1) / frag_payload);
    uint32_t id = 0x1234u + c->ip_id;

    c->seq[side] += (uint32_t)len;
    for (int k = 0; k < (order ? norder : count); k++) {
        int i = order ? order[k] : k;
        size_t off = (size_t)i * frag_payload;
        size_t piece = body - off < frag_payload ? body - off : frag_payload;
        bool more = off + piece < body;
        size_t fl;
        if (c->v6) {
            fl = ip_header(c, side, 44, 8 + piece, frag);
            frag[fl] = 6; /* next header: TCP */
            frag[fl + 1] = 0;
            be16(frag + fl + 2, (uint16_t)(off | (more ? 1 : 0)));
            be32(frag + fl + 4, id);
            fl += 8;
        } else {
            fl = ip_header(c, side, 6, piece, frag);
            be16(frag + 4, (uint16_t)id);
            be16(frag + 6, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
            be16(frag + 10, 0);
            be16(frag + 10, ip_checksum(frag, 20));
        }
        memcpy(frag + fl, whole + hlen + off, piece);
        pcapw_ip(c->w, c->ts, frag, fl + piece);
        c->ts += 100;
    }
}
