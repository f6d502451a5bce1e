/* `rehearse capture -r`: every link type, VLAN stacks, IPv6 extension
 * headers, IP fragments, pcapng, and bad input (not a capture, cut files,
 * snaplen-cut packets) — each a clear error or a counted skip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "packet.h"
#include "pcapw.h"
#include "testutil.h"
#include "tracecheck.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(capture_input, .init = setup, .fini = teardown, .timeout = 60);

#define REQ "GET /hello HTTP/1.1\r\nHost: example.test\r\n\r\n"
#define RESP "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld"

/* One complete exchange on a fresh connection. */
static void exchange(struct pcapw *w, const char *client, const char *server)
{
    struct tconn c;
    tconn_init(&c, w, client, 40000, server, 80, 7, 9);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, REQ);
    tconn_send_str(&c, SERVER, RESP);
    tconn_close(&c);
}

static int capture(struct run_result *res, struct trace_lines *t, const char *name)
{
    char trace[128];
    snprintf(trace, sizeof trace, "%s.jsonl", name);
    return capture_file(res, t, test_path(dir, name), test_path(dir, trace), NULL);
}

static void expect_one_exchange(const struct trace_lines *t, const char *client)
{
    cr_assert_eq(tx_count(t), 1);
    json_t *tx = tx_get(t, 0);
    cr_expect_str_eq(jstr(tx, "request.target"), "/hello");
    cr_expect_eq(jint(tx, "response.status"), 200);
    cr_expect_str_eq(jstr(tx, "response.body"), "world");
    cr_expect_str_eq(jstr(tx, "client"), client);
}

struct link_case {
    const char *name;
    struct pcapw_opts opts;
    bool v6;
    const char *linktype;
};

Test(capture_input, every_supported_link_type_and_vlan_stack_is_decoded)
{
    static const struct link_case cases[] = {
        {"ether", {.link = PCAPW_ETHER}, false, "EN10MB"},
        {"ether6", {.link = PCAPW_ETHER}, true, "EN10MB"},
        {"vlan", {.link = PCAPW_ETHER, .nvlan = 1, .vlan_tpid = {0x8100}, .vlan_id = {42}},
         false, "EN10MB"},
        {"qinq", {.link = PCAPW_ETHER, .nvlan = 2, .vlan_tpid = {0x88a8, 0x8100},
                  .vlan_id = {100, 42}}, false, "EN10MB"},
        {"triple", {.link = PCAPW_ETHER, .nvlan = 3, .vlan_tpid = {0x9100, 0x88a8, 0x8100},
                    .vlan_id = {7, 100, 42}}, true, "EN10MB"},
        {"sll", {.link = PCAPW_SLL}, false, "LINUX_SLL"},
        {"sll2", {.link = PCAPW_SLL2}, true, "LINUX_SLL2"},
        {"raw4", {.link = PCAPW_RAW}, false, "RAW"},
        {"raw6", {.link = PCAPW_RAW}, true, "RAW"},
        {"ipv4", {.link = PCAPW_IPV4}, false, "IPV4"},
        {"ipv6", {.link = PCAPW_IPV6}, true, "IPV6"},
        {"null_le", {.link = PCAPW_NULL_LE}, false, "NULL"},
        {"null_le6", {.link = PCAPW_NULL_LE}, true, "NULL"},
        {"null_be6", {.link = PCAPW_NULL_BE}, true, "NULL"},
        {"loop", {.link = PCAPW_LOOP}, false, "LOOP"},
        {"pcapng", {.link = PCAPW_ETHER, .pcapng = true}, true, "EN10MB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct link_case *k = &cases[i];
        char name[64];
        struct run_result res;
        struct trace_lines t;
        snprintf(name, sizeof name, "%s.pcap", k->name);
        struct pcapw *w = pcapw_open(test_path(dir, name), &k->opts);
        exchange(w, k->v6 ? "2001:db8::1" : "192.0.2.1", k->v6 ? "2001:db8::2" : "192.0.2.2");
        pcapw_close(w);
        cr_assert_eq(capture(&res, &t, name), 0, "%s: %s", k->name, res.err);
        cr_expect_str_eq(jstr(t.header, "source.linktype"), k->linktype, "%s", k->name);
        expect_one_exchange(&t, k->v6 ? "[2001:db8::1]:40000" : "192.0.2.1:40000");
        cr_expect_eq(json_object_size(json_object_get(t.summary, "skipped")), 0, "%s", k->name);
        trace_lines_free(&t);
        test_run_free(&res);
    }
}

/* Send `data` from `side` with 16 bytes of options after the fixed IP
 * header: IPv6 hop-by-hop then destination options headers; IPv4 options
 * (record route, end of list) with the header checksum left wrong, as
 * captures of offloaded packets often have it. */
static void send_with_ip_options(struct tconn *c, int side, const char *data)
{
    static const uint8_t v6[16] = {60, 0, 1, 4, 0, 0, 0, 0, /* hop-by-hop, next: dest opts */
                                   6, 0, 1, 4, 0, 0, 0, 0}; /* dest options, next: TCP */
    static const uint8_t v4[16] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    uint8_t pkt[2048], out[2048];
    size_t n = tconn_build_ip(c, side, c->seq[side], 0x18, data, strlen(data), pkt, sizeof pkt);
    size_t fixed = c->v6 ? 40 : 20;

    memcpy(out, pkt, fixed);
    memcpy(out + fixed, c->v6 ? v6 : v4, 16);
    memcpy(out + fixed + 16, pkt + fixed, n - fixed);
    if (c->v6) {
        out[6] = 0; /* hop-by-hop follows */
        uint16_t plen = (uint16_t)((pkt[4] << 8 | pkt[5]) + 16);
        out[4] = (uint8_t)(plen >> 8);
        out[5] = (uint8_t)plen;
    } else {
        out[0] = 0x49; /* IHL 9: 36 bytes of header */
        out[2] = (uint8_t)((n + 16) >> 8);
        out[3] = (uint8_t)(n + 16);
        out[10] = out[11] = 0;
    }
    pcapw_ip(c->w, c->ts, out, n + 16);
    c->ts += 100;
    c->seq[side] += (uint32_t)strlen(data);
}

Test(capture_input, ip_options_and_ipv6_extension_headers_are_skipped)
{
    static const char *addrs[2][3] = {{"192.0.2.1", "192.0.2.2", "192.0.2.1:40000"},
                                      {"2001:db8::1", "2001:db8::2", "[2001:db8::1]:40000"}};
    for (int v = 0; v < 2; v++) {
        const char *name = v ? "ext6.pcap" : "opt4.pcap";
        struct pcapw_opts o = {.link = PCAPW_ETHER};
        struct pcapw *w = pcapw_open(test_path(dir, name), &o);
        struct tconn c;
        struct run_result res;
        struct trace_lines t;

        tconn_init(&c, w, addrs[v][0], 40000, addrs[v][1], 80, 7, 9);
        tconn_handshake(&c);
        send_with_ip_options(&c, CLIENT, REQ);
        send_with_ip_options(&c, SERVER, RESP);
        tconn_close(&c);
        pcapw_close(w);
        cr_assert_eq(capture(&res, &t, name), 0, "%s", res.err);
        expect_one_exchange(&t, addrs[v][2]);
        trace_lines_free(&t);
        test_run_free(&res);
    }
}

Test(capture_input, ip_fragments_are_reassembled_in_any_order)
{
    static const char *addrs[2][2] = {{"192.0.2.1", "192.0.2.2"}, {"2001:db8::1", "2001:db8::2"}};
    static const int order[] = {2, 0, 3, 1};
    for (int v = 0; v < 2; v++) {
        struct pcapw_opts o = {.link = PCAPW_ETHER};
        const char *name = v ? "frag6.pcap" : "frag4.pcap";
        struct pcapw *w = pcapw_open(test_path(dir, name), &o);
        struct tconn c;
        struct run_result res;
        struct trace_lines t;
        char req[256];

        snprintf(req, sizeof req, "POST /frag HTTP/1.1\r\nHost: h\r\nContent-Length: 40\r\n\r\n"
                                  "0123456789012345678901234567890123456789");
        tconn_init(&c, w, addrs[v][0], 40000, addrs[v][1], 80, 7, 9);
        tconn_handshake(&c);
        /* 20 bytes of TCP header + 94 of payload in pieces of 32: four. */
        tconn_send_fragmented(&c, CLIENT, req, strlen(req), 32, order, 4);
        tconn_send_str(&c, SERVER, RESP);
        tconn_close(&c);
        pcapw_close(w);
        cr_assert_eq(capture(&res, &t, name), 0, "%s", res.err);
        cr_assert_eq(tx_count(&t), 1, "%s", name);
        cr_expect_str_eq(jstr(tx_get(&t, 0), "request.body"),
                         "0123456789012345678901234567890123456789");
        cr_expect_eq(jint(t.summary, "ip_datagrams_reassembled"), 1);
        trace_lines_free(&t);
        test_run_free(&res);
    }
}

Test(capture_input, a_datagram_missing_a_fragment_is_counted)
{
    struct pcapw_opts o = {.link = PCAPW_ETHER};
    struct pcapw *w = pcapw_open(test_path(dir, "fraglost.pcap"), &o);
    struct tconn c;
    struct run_result res;
    struct trace_lines t;
    static const int order[] = {0, 2};

    tconn_init(&c, w, "192.0.2.1", 40000, "192.0.2.2", 80, 7, 9);
    tconn_handshake(&c);
    tconn_send_fragmented(&c, CLIENT, REQ, strlen(REQ), 16, order, 2);
    pcapw_close(w);
    cr_assert_eq(capture(&res, &t, "fraglost.pcap"), 0, "%s", res.err);
    cr_expect_eq(tx_count(&t), 0);
    cr_expect_eq(skipped_count(&t, "ip_fragment_timeout"), 1);
    trace_lines_free(&t);
    test_run_free(&res);
}

Test(capture_input, a_file_cut_mid_packet_keeps_what_came_before_and_warns)
{
    struct pcapw_opts o = {.link = PCAPW_ETHER};
    const char *path = test_path(dir, "cut.pcap");
    struct pcapw *w = pcapw_open(path, &o);
    struct tconn c;
    struct run_result res;
    struct trace_lines t;
    size_t len;

    tconn_init(&c, w, "192.0.2.1", 40000, "192.0.2.2", 80, 7, 9);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, REQ);
    tconn_send_str(&c, SERVER, RESP);
    tconn_send_str(&c, CLIENT, "GET /never-finished HTTP/1.1\r\nHost: example.test\r\n\r\n");
    pcapw_close(w);
    char *bytes = test_read_file(path, &len);
    cr_assert_eq(test_write_file(path, bytes, len - 30), 0);
    free(bytes);

    cr_assert_eq(capture(&res, &t, "cut.pcap"), 0, "%s", res.err);
    expect_one_exchange(&t, "192.0.2.1:40000");
    cr_expect_eq(skipped_count(&t, "truncated_file"), 1);
    cr_expect(strstr(res.err, "warning") && strstr(res.err, "ends in the middle of packet 6"),
              "%s", res.err);
    trace_lines_free(&t);
    test_run_free(&res);
}

Test(capture_input, a_file_that_is_not_a_capture_is_an_input_error)
{
    struct run_result res;
    struct trace_lines t;
    const char *trace = test_path(dir, "x.jsonl");

    cr_assert_eq(test_write_file(test_path(dir, "notes.txt"), "hello, not a pcap\n", 18), 0);
    cr_expect_eq(capture(&res, &t, "notes.txt"), 2);
    cr_expect(strstr(res.err, "notes.txt") && strstr(res.err, "not a readable pcap or pcapng"),
              "%s", res.err);
    test_run_free(&res);

    cr_expect_eq(capture_file(&res, &t, test_path(dir, "missing.pcap"), trace, NULL), 2);
    cr_expect(strstr(res.err, "missing.pcap") && strstr(res.err, "No such file"), "%s", res.err);
    test_run_free(&res);

    cr_expect_eq(capture_file(&res, &t, dir, trace, NULL), 2);
    cr_expect(strstr(res.err, "is a directory"), "%s", res.err);
    test_run_free(&res);
    cr_expect(access(trace, F_OK) != 0, "no trace is left behind");
}

Test(capture_input, an_unsupported_link_type_is_refused_by_name)
{
    /* A pcap header announcing IEEE 802.11 (105). */
    uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 105};
    struct run_result res;
    struct trace_lines t;
    cr_assert_eq(test_write_file(test_path(dir, "wifi.pcap"), (const char *)hdr, sizeof hdr), 0);
    cr_expect_eq(capture(&res, &t, "wifi.pcap"), 2);
    cr_expect(strstr(res.err, "IEEE802_11") && strstr(res.err, "not supported"), "%s", res.err);
    test_run_free(&res);
}

Test(capture_input, an_empty_capture_gives_an_empty_trace)
{
    struct pcapw_opts o = {.link = PCAPW_ETHER};
    struct run_result res;
    struct trace_lines t;
    pcapw_close(pcapw_open(test_path(dir, "empty.pcap"), &o));
    cr_assert_eq(capture(&res, &t, "empty.pcap"), 0, "%s", res.err);
    cr_expect_eq(tx_count(&t), 0);
    cr_expect(json_is_null(json_object_get(t.header, "capture_start_us")));
    cr_expect_eq(jint(t.summary, "packets"), 0);
    trace_lines_free(&t);
    test_run_free(&res);
}

Test(capture_input, packets_cut_by_the_snaplen_are_counted_and_flagged)
{
    struct pcapw_opts o = {.link = PCAPW_ETHER, .snaplen = 200};
    struct pcapw *w = pcapw_open(test_path(dir, "snap.pcap"), &o);
    struct tconn c;
    struct run_result res;
    struct trace_lines t;
    char big[1200];

    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    size_t h = strlen(big);
    memset(big + h, 'b', 1000);
    big[h + 1000] = '\0';
    tconn_init(&c, w, "192.0.2.1", 40000, "192.0.2.2", 80, 7, 9);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, REQ);
    tconn_send_str(&c, SERVER, big);
    tconn_send_str(&c, CLIENT, REQ);
    tconn_send_str(&c, SERVER, RESP);
    tconn_close(&c);
    pcapw_close(w);

    cr_assert_eq(capture(&res, &t, "snap.pcap"), 0, "%s", res.err);
    cr_assert_eq(tx_count(&t), 2);
    json_t *cut = tx_get(&t, 0);
    cr_expect(tx_has_flag(cut, "snaplen"));
    cr_expect_eq(jint(cut, "response.body_size"), 1000);
    cr_expect_eq(strlen(jstr(cut, "response.body")), 200 - 54 - h);
    cr_expect_str_eq(jstr(tx_get(&t, 1), "response.body"), "world");
    cr_expect_eq(skipped_count(&t, "snaplen"), 1);
    cr_expect_eq(skipped_bytes(&t, "snaplen"), (long long)(h + 1000 - (200 - 54)));
    trace_lines_free(&t);
    test_run_free(&res);
}

Test(capture_input, a_record_longer_than_the_file_snaplen_does_not_crash)
{
    struct pcapw_opts o = {.link = PCAPW_ETHER, .snaplen = 128};
    struct pcapw *w = pcapw_open(test_path(dir, "long.pcap"), &o);
    uint8_t frame[600];
    struct run_result res;
    struct trace_lines t;

    memset(frame, 0x45, sizeof frame);
    pcapw_frame(w, 1700000000000000LL, frame, sizeof frame, sizeof frame); /* caplen > snaplen */
    pcapw_frame(w, 1700000000000100LL, frame, 100, 40);                   /* caplen > len */
    pcapw_close(w);
    int rc = capture(&res, &t, "long.pcap");
    /* libpcap either accepts the record (cut to the snaplen) or reports the
     * file as damaged; both are handled, neither crashes. */
    cr_expect(rc == 0 || rc == 2, "exit %d: %s", rc, res.err);
    if (rc == 0)
        cr_expect_eq(tx_count(&t), 0);
    else
        cr_expect(strstr(res.err, "long.pcap") && strstr(res.err, "packet 1"), "%s", res.err);
    trace_lines_free(&t);
    test_run_free(&res);
}

/* Every prefix of a valid frame, and random frames, decode to a status
 * without reading past the captured bytes (ASan checks the reads). */
Test(capture_input, decoding_never_reads_past_the_captured_bytes)
{
    static const int dlts[] = {1, 113, 276, 12, 228, 229, 0, 108};
    uint8_t full[200] = {0};
    struct packet pkt;
    unsigned seed = 12345;

    /* Ethernet, two VLAN tags, IPv6 + fragment header, TCP. */
    memcpy(full + 12, "\x88\xa8\x00\x01\x81\x00\x00\x02\x86\xdd", 10);
    full[22] = 0x60;
    full[26] = 0;
    full[27] = 60;
    full[28] = 6;
    full[74] = 0x50; /* TCP data offset: 22 + 40 + 12 */
    for (uint32_t len = 0; len <= 140; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, full, len);
        enum packet_status st = packet_decode(1, copy, len, 140, &pkt);
        cr_expect(st == PACKET_TRUNCATED || st == PACKET_TCP || st == PACKET_MALFORMED,
                  "length %u: status %d", len, st);
        free(copy);
    }
    for (int i = 0; i < 20000; i++) {
        uint32_t len = (uint32_t)(rand_r(&seed) % 120);
        uint8_t *f = malloc(len ? len : 1);
        for (uint32_t k = 0; k < len; k++)
            f[k] = (uint8_t)rand_r(&seed);
        if (len > 14 && (i & 1)) { /* steer half of them into IP */
            f[12] = 0x08;
            f[13] = 0x00;
            f[14] = 0x45;
        }
        packet_decode(dlts[i % 8], f, len, len + (uint32_t)(rand_r(&seed) % 3), &pkt);
        free(f);
    }
}

/* Hostile traffic: HTTP pieces, garbage, reordering, overlaps, jumps in
 * sequence numbers, stray flags, on a few connections at once.  Whatever
 * comes in, the capture ends cleanly with a valid trace (and, under
 * `make asan`, without a sanitizer report). */
Test(capture_input, random_hostile_traffic_never_breaks_the_capture)
{
    static const char *pieces[] = {
        "GET / HTTP/1.1\r\n", "Host: x\r\n", "\r\n", "HTTP/1.1 200 OK\r\n",
        "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n",
        "0\r\n\r\n", "Upgrade: websocket\r\nConnection: upgrade\r\n",
        "HTTP/1.1 101 Switching\r\n\r\n", "HTTP/1.1 100 Continue\r\n\r\n",
        "CONNECT a:1 HTTP/1.1\r\n", "POST /p HTTP/1.0\r\n", "\x00\xff\x80garbage",
        "ffffffffffffffff\r\n", "Content-Length: 99999999999999999999\r\n", "HEAD /h HTTP/1.1\r\n",
    };
    unsigned seed = 2024;
    for (int round = 0; round < 12; round++) {
        char name[32];
        struct pcapw_opts o = {.link = PCAPW_ETHER, .snaplen = round % 3 ? 0 : 120};
        snprintf(name, sizeof name, "fuzz%d.pcap", round);
        struct pcapw *w = pcapw_open(test_path(dir, name), &o);
        struct tconn c[3];
        for (int k = 0; k < 3; k++) {
            tconn_init(&c[k], w, "192.0.2.1", (uint16_t)(40000 + k), "192.0.2.2", 80,
                       (uint32_t)rand_r(&seed), (uint32_t)rand_r(&seed));
            if (rand_r(&seed) % 2)
                tconn_handshake(&c[k]);
        }
        for (int step = 0; step < 300; step++) {
            struct tconn *t = &c[rand_r(&seed) % 3];
            int side = rand_r(&seed) % 2;
            char seg[600];
            size_t len = 0;
            while (len < 400 && rand_r(&seed) % 4) {
                const char *p = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
                size_t n = p[0] ? strlen(p) : 10; /* the one that starts with NUL */
                memcpy(seg + len, p, n);
                len += n;
            }
            t->ts = c[0].ts > t->ts ? c[0].ts : t->ts;
            switch (rand_r(&seed) % 10) {
            case 0: /* out of order or overlapping */
                tconn_segment_at(t, side, t->seq[side] + (uint32_t)(rand_r(&seed) % 900) - 300,
                                 0x18, seg, len);
                break;
            case 1: /* lost */
                t->seq[side] += (uint32_t)len;
                break;
            case 2: /* stray flags */
                tconn_segment_at(t, side, t->seq[side], (uint8_t)rand_r(&seed), seg, len);
                break;
            case 3: /* a wild jump */
                t->seq[side] += (uint32_t)rand_r(&seed);
                tconn_send(t, side, seg, len);
                break;
            default:
                tconn_send(t, side, seg, len);
                break;
            }
            c[0].ts = t->ts;
        }
        pcapw_close(w);

        struct run_result res;
        struct trace_lines t;
        char trace[64];
        snprintf(trace, sizeof trace, "%s.jsonl", name);
        int rc = capture_file(&res, &t, test_path(dir, name), test_path(dir, trace), "--max-body",
                              "1k", "--max-flow-buffer", "4k", NULL);
        cr_assert_eq(rc, 0, "round %d: exit %d: %s", round, rc, res.err);
        cr_expect(t.summary != NULL, "round %d: no summary", round);
        cr_expect_eq(jint(t.summary, "transactions"), (long long)tx_count(&t));
        trace_lines_free(&t);
        test_run_free(&res);
    }
}
