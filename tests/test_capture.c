/* `rehearse capture -r`: TCP reassembly and HTTP/1.x cases, each from a
 * capture file crafted byte by byte (tests/support/pcapw.h), checked in the
 * trace the real binary writes. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcapw.h"
#include "testutil.h"
#include "tracecheck.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(capture, .init = setup, .fini = teardown, .timeout = 60);

#define GET(path) "GET " path " HTTP/1.1\r\nHost: example.test\r\n\r\n"

/* "HTTP/1.1 STATUS X\r\nContent-Length: N\r\n\r\nBODY" in a rotating buffer. */
static const char *resp(int status, const char *body)
{
    static char bufs[8][8192];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n\r\n%s", status,
             strlen(body), body);
    return b;
}

static struct pcapw *open_pcap(const char *name, enum pcapw_link link)
{
    struct pcapw_opts o = {.link = link};
    return pcapw_open(test_path(dir, name), &o);
}

/* Write NAME: one connection from 10.0.0.1:51000 to 10.0.0.2:80 — the
 * handshake, each (side, text) pair as one segment, then FIN both ways.
 * The pairs end with -1. */
static void conversation(const char *name, ...)
{
    struct pcapw *w = open_pcap(name, PCAPW_ETHER);
    struct tconn c;
    va_list ap;
    int side;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    va_start(ap, name);
    while ((side = va_arg(ap, int)) >= 0)
        tconn_send_str(&c, side, va_arg(ap, const char *));
    va_end(ap);
    tconn_close(&c);
    pcapw_close(w);
}

/* Capture `name` into NAME.jsonl, expect exit 0. */
static void run(struct trace_lines *t, const char *name, const char *extra1, const char *extra2)
{
    struct run_result res;
    char trace[256];
    snprintf(trace, sizeof trace, "%s.jsonl", name);
    int rc = capture_file(&res, t, test_path(dir, name), test_path(dir, trace), extra1, extra2,
                          NULL);
    cr_assert_eq(rc, 0, "capture failed (exit %d): %s", rc, res.err);
    cr_assert(t->summary, "no summary line; stderr: %s", res.err);
    test_run_free(&res);
}

static void expect_tx(json_t *tx, const char *method, const char *target, long long status)
{
    cr_expect_str_eq(jstr(tx, "request.method"), method);
    cr_expect_str_eq(jstr(tx, "request.target"), target);
    cr_expect_eq(jint(tx, "response.status"), status, "status of %s %s", method, target);
}

/* ---- basics ---------------------------------------------------------- */

Test(capture, a_get_on_its_own_connection_is_one_complete_transaction)
{
    struct pcapw *w = open_pcap("get.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 8080, 1000, 5000);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/v1/items?q=1"));
    tconn_send_str(&c, SERVER, resp(200, "{\"ok\":true}"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "get.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "GET", "/v1/items?q=1", 200);
    cr_expect_eq(jint(tx, "id"), 1);
    cr_expect_eq(jint(tx, "conn"), 1);
    cr_expect_str_eq(jstr(tx, "client"), "10.0.0.1:51000");
    cr_expect_str_eq(jstr(tx, "server"), "10.0.0.2:8080");
    cr_expect_str_eq(tx_header(tx, "request", "host"), "example.test");
    cr_expect_str_eq(jstr(tx, "response.body"), "{\"ok\":true}");
    cr_expect_lt(jint(tx, "req_start_us"), jint(tx, "resp_start_us"));
    cr_expect_eq(json_array_size(json_object_get(tx, "flags")), 0);
    cr_expect_str_eq(jstr(t.header, "source.linktype"), "EN10MB");
    cr_expect_eq(jint(t.header, "capture_start_us"), 1700000000000000LL);
    cr_expect_eq(jint(t.summary, "transactions"), 1);
    cr_expect_eq(jint(t.summary, "flows"), 1);
    cr_expect_eq(json_object_size(json_object_get(t.summary, "skipped")), 0);
    trace_lines_free(&t);
}

Test(capture, connections_are_numbered_in_order_of_their_first_packet)
{
    struct pcapw *w = open_pcap("conns.pcap", PCAPW_ETHER);
    struct tconn a, b, quiet;
    struct trace_lines t;

    tconn_init(&a, w, "10.0.0.1", 40001, "10.0.0.2", 80, 1, 1);
    tconn_init(&quiet, w, "10.0.0.9", 40009, "10.0.0.2", 443, 1, 1);
    tconn_init(&b, w, "10.0.0.1", 40002, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&a);
    quiet.ts = a.ts;
    tconn_handshake(&quiet); /* a non-HTTP connection still takes a number */
    b.ts = quiet.ts;
    tconn_handshake(&b);
    tconn_send_str(&b, CLIENT, GET("/b"));
    a.ts = b.ts;
    tconn_send_str(&a, CLIENT, GET("/a"));
    b.ts = a.ts;
    tconn_send_str(&b, SERVER, resp(200, "b"));
    a.ts = b.ts;
    tconn_send_str(&a, SERVER, resp(200, "a"));
    pcapw_close(w);

    run(&t, "conns.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    /* Transactions in order of their request's first byte: /b first. */
    expect_tx(tx_get(&t, 0), "GET", "/b", 200);
    cr_expect_eq(jint(tx_get(&t, 0), "conn"), 3);
    expect_tx(tx_get(&t, 1), "GET", "/a", 200);
    cr_expect_eq(jint(tx_get(&t, 1), "conn"), 1);
    cr_expect_eq(jint(t.summary, "flows"), 3);
    trace_lines_free(&t);
}

/* ---- reassembly ------------------------------------------------------ */

Test(capture, out_of_order_segments_are_reordered)
{
    struct pcapw *w = open_pcap("ooo.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    const char *req = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\nhello world!";
    uint32_t s = 1001;
    size_t n = strlen(req);

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1000, 5000);
    tconn_handshake(&c);
    /* Three segments sent 1, 3, 2. */
    tconn_segment_at(&c, CLIENT, s, 0x18, req, 20);
    tconn_segment_at(&c, CLIENT, s + 40, 0x18, req + 40, n - 40);
    tconn_segment_at(&c, CLIENT, s + 20, 0x18, req + 20, 20);
    c.seq[CLIENT] += (uint32_t)n;
    tconn_send_str(&c, SERVER, resp(201, "created"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "ooo.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    expect_tx(tx_get(&t, 0), "POST", "/upload", 201);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "request.body"), "hello world!");
    cr_expect_eq(json_array_size(json_object_get(tx_get(&t, 0), "flags")), 0);
    cr_expect_geq(jint(t.summary, "out_of_order_segments"), 1);
    cr_expect_eq(skipped_count(&t, "gap"), 0);
    trace_lines_free(&t);
}

Test(capture, retransmitted_segments_are_not_duplicated)
{
    struct pcapw *w = open_pcap("retx.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    const char *req = GET("/once");

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1000, 5000);
    tconn_handshake(&c);
    tconn_segment_at(&c, CLIENT, c.seq[CLIENT], 0x18, req, strlen(req));
    tconn_segment_at(&c, CLIENT, c.seq[CLIENT], 0x18, req, strlen(req)); /* retransmission */
    c.seq[CLIENT] += (uint32_t)strlen(req);
    tconn_send_str(&c, SERVER, resp(200, "x"));
    tconn_send_str(&c, CLIENT, GET("/twice"));
    tconn_send_str(&c, SERVER, resp(200, "y"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "retx.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    expect_tx(tx_get(&t, 0), "GET", "/once", 200);
    expect_tx(tx_get(&t, 1), "GET", "/twice", 200);
    cr_expect_eq(jint(t.summary, "retransmitted_bytes"), (long long)strlen(req));
    trace_lines_free(&t);
}

Test(capture, overlapping_segments_with_different_bytes_keep_the_first_and_are_counted)
{
    struct pcapw *w = open_pcap("overlap.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    const char *req = "GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: h\r\n\r\n";
    char evil[64];
    uint32_t s = 1001;
    size_t n = strlen(req);

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1000, 5000);
    tconn_handshake(&c);
    /* Bytes 10.. first (held), then an overlapping copy of 8..20 with other
     * content, then the start. */
    tconn_segment_at(&c, CLIENT, s + 10, 0x18, req + 10, n - 10);
    memcpy(evil, req + 8, 12);
    memset(evil + 2, 'Z', 10);
    tconn_segment_at(&c, CLIENT, s + 8, 0x18, evil, 12);
    tconn_segment_at(&c, CLIENT, s, 0x18, req, 10);
    c.seq[CLIENT] += (uint32_t)n;
    tconn_send_str(&c, SERVER, resp(200, "ok"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "overlap.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "request.target"), "/aaaaaaaaaaaaaaaa");
    cr_expect_eq(skipped_count(&t, "overlap_conflict"), 1);
    trace_lines_free(&t);
}

Test(capture, a_lost_segment_flags_its_transaction_and_the_rest_of_the_flow_is_parsed)
{
    struct pcapw *w = open_pcap("gap.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    const char *req2 = "GET /second HTTP/1.1\r\nHost: h\r\nX-Pad: 0123456789\r\n\r\n";

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1000, 5000);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/first"));
    tconn_send_str(&c, SERVER, resp(200, "1"));
    /* The middle of the second request's headers is never captured. */
    tconn_send(&c, CLIENT, req2, 20);
    c.seq[CLIENT] += 15; /* lost */
    tconn_send(&c, CLIENT, req2 + 35, strlen(req2) - 35);
    tconn_send_str(&c, SERVER, resp(200, "2")); /* its ACK covers the hole */
    tconn_send_str(&c, CLIENT, GET("/third"));
    tconn_send_str(&c, SERVER, resp(404, "3"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "gap.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 3);
    expect_tx(tx_get(&t, 0), "GET", "/first", 200);
    json_t *tx2 = tx_get(&t, 1);
    expect_tx(tx2, "GET", "/second", 200);
    cr_expect(tx_has_flag(tx2, "request_gap"));
    cr_expect(tx_has_flag(tx2, "request_truncated"));
    json_t *tx3 = tx_get(&t, 2);
    expect_tx(tx3, "GET", "/third", 404);
    cr_expect(!tx_has_flag(tx3, "request_gap"));
    cr_expect_eq(skipped_count(&t, "gap"), 1);
    cr_expect_eq(skipped_bytes(&t, "gap"), 15);
    cr_expect_eq(skipped_count(&t, "message_cut"), 1);
    trace_lines_free(&t);
}

Test(capture, a_lost_segment_inside_a_body_keeps_the_message_in_step)
{
    struct pcapw *w = open_pcap("bodygap.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    char body[3001], head[128];

    memset(body, 'b', 3000);
    body[3000] = '\0';
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n");
    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1000, 5000);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/big"));
    tconn_send_str(&c, SERVER, head);
    tconn_send(&c, SERVER, body, 1000);
    c.seq[SERVER] += 1000; /* lost */
    tconn_send(&c, SERVER, body, 1000);
    tconn_send_str(&c, CLIENT, GET("/next")); /* ACKs the whole response */
    tconn_send_str(&c, SERVER, resp(200, "n"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "bodygap.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "GET", "/big", 200);
    cr_expect(tx_has_flag(tx, "response_gap"));
    cr_expect(!tx_has_flag(tx, "response_truncated"));
    cr_expect_eq(strlen(jstr(tx, "response.body")), 2000);
    cr_expect_eq(jint(tx, "response.body_size"), 3000);
    expect_tx(tx_get(&t, 1), "GET", "/next", 200);
    cr_expect_eq(jint(t.summary, "body_gaps_bridged"), 1);
    cr_expect_eq(skipped_bytes(&t, "gap"), 1000);
    trace_lines_free(&t);
}

Test(capture, a_lost_response_does_not_shift_the_pairing_of_later_ones)
{
    struct pcapw *w = open_pcap("lostresp.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    const char *r1 = resp(500, "first answer, never captured");

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1000, 5000);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/one"));
    c.seq[SERVER] += (uint32_t)strlen(r1); /* the whole response is lost */
    tconn_send_str(&c, CLIENT, GET("/two")); /* the client had received it */
    tconn_send_str(&c, SERVER, resp(200, "second"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "lostresp.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    json_t *one = tx_get(&t, 0);
    cr_expect_str_eq(jstr(one, "request.target"), "/one");
    cr_expect(json_is_null(json_object_get(one, "response")));
    cr_expect(tx_has_flag(one, "no_response"));
    cr_expect(tx_has_flag(one, "response_gap"));
    expect_tx(tx_get(&t, 1), "GET", "/two", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 1), "response.body"), "second");
    trace_lines_free(&t);
}

Test(capture, sequence_numbers_wrapping_past_2_32_are_followed)
{
    struct pcapw *w = open_pcap("wrap.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    const char *req = "POST /wrap HTTP/1.1\r\nHost: h\r\nContent-Length: 30\r\n\r\n"
                      "012345678901234567890123456789";
    char body[200];

    memset(body, 'w', 150);
    body[150] = '\0';
    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 0xFFFFFFD0u, 0xFFFFFFF0u);
    tconn_handshake(&c);
    tconn_send_split(&c, CLIENT, req, strlen(req), 16); /* crosses 2^32 */
    tconn_send_split(&c, SERVER, resp(200, body), strlen(resp(200, body)), 50);
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "wrap.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    expect_tx(tx_get(&t, 0), "POST", "/wrap", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "request.body"), "012345678901234567890123456789");
    cr_expect_str_eq(jstr(tx_get(&t, 0), "response.body"), body);
    cr_expect_eq(json_object_size(json_object_get(t.summary, "skipped")), 0);
    trace_lines_free(&t);
}

Test(capture, a_capture_starting_mid_connection_resynchronises_on_the_next_message)
{
    struct pcapw *w = open_pcap("mid.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 77777, 99999);
    /* No handshake: we join while a POST body and its answer are under way. */
    tconn_send_str(&c, CLIENT, "ody of a request we joined late\r\n\r\n");
    tconn_send_str(&c, SERVER, "ld\"}\r\nHTTP is mentioned in the body\r\n");
    tconn_send_str(&c, CLIENT, GET("/after"));
    tconn_send_str(&c, SERVER, resp(200, "fine"));
    tconn_send_str(&c, CLIENT, GET("/again"));
    tconn_send_str(&c, SERVER, resp(204, ""));
    pcapw_close(w);

    run(&t, "mid.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "GET", "/after", 200);
    cr_expect_str_eq(jstr(tx, "client"), "10.0.0.1:51000");
    cr_expect(tx_has_flag(tx, "resync"));
    expect_tx(tx_get(&t, 1), "GET", "/again", 204);
    cr_expect(!tx_has_flag(tx_get(&t, 1), "resync"));
    cr_expect_eq(skipped_bytes(&t, "resync"), 35 + 37);
    trace_lines_free(&t);
}

/* ---- the byte stream, not packets ------------------------------------- */

Test(capture, two_requests_in_one_segment_are_two_transactions)
{
    struct trace_lines t;
    char both[512], answers[512];

    snprintf(both, sizeof both, "%s%s", GET("/a"), GET("/b"));
    snprintf(answers, sizeof answers, "%s%s", resp(200, "A"), resp(202, "B"));
    conversation("two.pcap", CLIENT, both, SERVER, answers, -1);

    run(&t, "two.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    expect_tx(tx_get(&t, 0), "GET", "/a", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "response.body"), "A");
    expect_tx(tx_get(&t, 1), "GET", "/b", 202);
    cr_expect_str_eq(jstr(tx_get(&t, 1), "response.body"), "B");
    cr_expect(tx_has_flag(tx_get(&t, 1), "pipelined"));
    cr_expect(!tx_has_flag(tx_get(&t, 0), "pipelined"));
    trace_lines_free(&t);
}

Test(capture, one_request_over_many_segments_is_one_transaction)
{
    struct pcapw *w = open_pcap("many.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    char req[4096], body[2001];

    memset(body, 'x', 2000);
    body[2000] = '\0';
    snprintf(req, sizeof req,
             "PUT /doc/7 HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
             "Content-Length: 2000\r\n\r\n%s", body);
    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_split(&c, CLIENT, req, strlen(req), 7);
    tconn_send_split(&c, SERVER, resp(200, "stored"), strlen(resp(200, "stored")), 3);
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "many.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    expect_tx(tx_get(&t, 0), "PUT", "/doc/7", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "request.body"), body);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "response.body"), "stored");
    cr_expect_str_eq(tx_header(tx_get(&t, 0), "request", "Content-Type"), "text/plain");
    trace_lines_free(&t);
}

Test(capture, pipelined_requests_are_paired_in_order)
{
    struct trace_lines t;

    conversation("pipe.pcap",
                 CLIENT, GET("/1"),
                 CLIENT, GET("/2"),
                 CLIENT, GET("/3"),
                 SERVER, resp(201, "one"),
                 SERVER, resp(202, "two"),
                 SERVER, resp(203, "three"),
                 -1);

    run(&t, "pipe.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 3);
    expect_tx(tx_get(&t, 0), "GET", "/1", 201);
    expect_tx(tx_get(&t, 1), "GET", "/2", 202);
    expect_tx(tx_get(&t, 2), "GET", "/3", 203);
    cr_expect(tx_has_flag(tx_get(&t, 2), "pipelined"));
    trace_lines_free(&t);
}

/* ---- HTTP message framing --------------------------------------------- */

Test(capture, chunked_bodies_are_joined_and_trailers_kept)
{
    struct pcapw *w = open_pcap("chunked.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/stream"));
    tconn_send_str(&c, SERVER,
                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
                   "5\r\nhello\r\n");
    tconn_send_str(&c, SERVER, "7;ext=1\r\n, world\r\n0\r\nX-Sum: 42\r\n\r\n");
    tconn_send_str(&c, CLIENT, GET("/after"));
    tconn_send_str(&c, SERVER, resp(200, "z"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "chunked.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    json_t *tx = tx_get(&t, 0);
    cr_expect_str_eq(jstr(tx, "response.body"), "hello, world");
    json_t *trailers = jpath(tx, "response.trailers");
    cr_assert_eq(json_array_size(trailers), 1);
    cr_expect_str_eq(json_string_value(json_array_get(json_array_get(trailers, 0), 0)), "X-Sum");
    cr_expect_str_eq(json_string_value(json_array_get(json_array_get(trailers, 0), 1)), "42");
    cr_expect_eq(json_array_size(jpath(tx, "response.headers")), 2);
    expect_tx(tx_get(&t, 1), "GET", "/after", 200);
    trace_lines_free(&t);
}

Test(capture, a_response_to_head_has_no_body_whatever_its_length_says)
{
    struct trace_lines t;

    conversation("head.pcap",
                 CLIENT, "HEAD /file HTTP/1.1\r\nHost: h\r\n\r\n",
                 SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
                 CLIENT, GET("/next"),
                 SERVER, resp(200, "body"),
                 -1);

    run(&t, "head.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    expect_tx(tx_get(&t, 0), "HEAD", "/file", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 0), "response.body"), "");
    expect_tx(tx_get(&t, 1), "GET", "/next", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 1), "response.body"), "body");
    trace_lines_free(&t);
}

Test(capture, responses_204_and_304_have_no_body)
{
    struct trace_lines t;

    conversation("nobody.pcap",
                 CLIENT, "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n",
                 SERVER, "HTTP/1.1 204 No Content\r\n\r\n",
                 CLIENT, "GET /y HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"e\"\r\n\r\n",
                 SERVER, "HTTP/1.1 304 Not Modified\r\nContent-Length: 77\r\nETag: \"e\"\r\n\r\n",
                 CLIENT, GET("/z"),
                 SERVER, resp(200, "zz"),
                 -1);

    run(&t, "nobody.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 3);
    expect_tx(tx_get(&t, 0), "DELETE", "/x", 204);
    expect_tx(tx_get(&t, 1), "GET", "/y", 304);
    expect_tx(tx_get(&t, 2), "GET", "/z", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 2), "response.body"), "zz");
    trace_lines_free(&t);
}

Test(capture, an_interim_100_continue_is_flagged_and_the_final_response_paired)
{
    struct trace_lines t;

    conversation("continue.pcap",
                 CLIENT, "POST /big HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n" "Content-Length: 4\r\n\r\n",
                 SERVER, "HTTP/1.1 100 Continue\r\n\r\n",
                 CLIENT, "data",
                 SERVER, resp(201, "made"),
                 -1);

    run(&t, "continue.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "POST", "/big", 201);
    cr_expect_str_eq(jstr(tx, "request.body"), "data");
    cr_expect_str_eq(jstr(tx, "response.body"), "made");
    cr_expect(tx_has_flag(tx, "continue"));
    cr_expect_eq(jint(t.summary, "interim_responses"), 1);
    trace_lines_free(&t);
}

Test(capture, an_accepted_upgrade_stops_parsing_that_connection)
{
    struct pcapw *w = open_pcap("upgrade.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    static const char frame[] = "\x81\x05hello\x82\x03\x00\x01\x02";

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: abc\r\n\r\n");
    tconn_send_str(&c, SERVER, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\n\r\n");
    tconn_send(&c, CLIENT, frame, sizeof frame - 1);
    tconn_send(&c, SERVER, frame, sizeof frame - 1);
    tconn_send_str(&c, CLIENT, GET("/not-http-anymore"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "upgrade.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    expect_tx(tx_get(&t, 0), "GET", "/ws", 101);
    cr_expect(tx_has_flag(tx_get(&t, 0), "upgrade"));
    cr_expect_eq(skipped_count(&t, "upgrade"), 1);
    cr_expect_eq(skipped_bytes(&t, "upgrade"),
                 2 * (long long)(sizeof frame - 1) + (long long)strlen(GET("/not-http-anymore")));
    cr_expect_eq(skipped_count(&t, "http_error"), 0);
    trace_lines_free(&t);
}

Test(capture, a_refused_upgrade_leaves_the_connection_in_http)
{
    struct pcapw *w = open_pcap("refused.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, "GET /maybe HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n"
                               "Connection: Upgrade\r\n\r\n");
    tconn_send_str(&c, CLIENT, GET("/next")); /* pipelined behind the offer */
    tconn_send_str(&c, SERVER, resp(200, "no upgrade"));
    tconn_send_str(&c, SERVER, resp(200, "next"));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "refused.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    expect_tx(tx_get(&t, 0), "GET", "/maybe", 200);
    cr_expect(!tx_has_flag(tx_get(&t, 0), "upgrade"));
    expect_tx(tx_get(&t, 1), "GET", "/next", 200);
    cr_expect_str_eq(jstr(tx_get(&t, 1), "response.body"), "next");
    cr_expect_eq(skipped_count(&t, "upgrade"), 0);
    trace_lines_free(&t);
}

Test(capture, a_connect_tunnel_is_flagged_and_not_parsed)
{
    struct pcapw *w = open_pcap("connect.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 3128, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, "CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n");
    tconn_send_str(&c, SERVER, "HTTP/1.1 200 Connection established\r\n\r\n");
    tconn_send(&c, CLIENT, "\x16\x03\x01\x00\x05hello", 10);
    tconn_send(&c, SERVER, "\x16\x03\x03\x00\x02hi", 7);
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "connect.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    expect_tx(tx_get(&t, 0), "CONNECT", "api.example:443", 200);
    cr_expect(tx_has_flag(tx_get(&t, 0), "upgrade"));
    cr_expect_eq(skipped_bytes(&t, "upgrade"), 17);
    trace_lines_free(&t);
}

Test(capture, a_body_delimited_by_the_close_ends_at_the_fin)
{
    struct pcapw *w = open_pcap("close.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, "GET /old HTTP/1.0\r\n\r\n");
    tconn_send_str(&c, SERVER, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ");
    tconn_send_str(&c, SERVER, "the end");
    tconn_fin(&c, SERVER);
    tconn_fin(&c, CLIENT);
    pcapw_close(w);

    run(&t, "close.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "GET", "/old", 200);
    cr_expect_str_eq(jstr(tx, "request.version"), "HTTP/1.0");
    cr_expect_str_eq(jstr(tx, "response.body"), "until the end");
    cr_expect_eq(json_array_size(json_object_get(tx, "flags")), 0);
    trace_lines_free(&t);
}

Test(capture, a_request_without_response_is_kept_and_flagged)
{
    struct pcapw *w = open_pcap("noresp.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/ok"));
    tconn_send_str(&c, SERVER, resp(200, "ok"));
    tconn_send_str(&c, CLIENT, GET("/hang"));
    pcapw_close(w);

    run(&t, "noresp.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    json_t *tx = tx_get(&t, 1);
    cr_expect_str_eq(jstr(tx, "request.target"), "/hang");
    cr_expect(json_is_null(json_object_get(tx, "response")));
    cr_expect(tx_has_flag(tx, "no_response"));
    cr_expect(jpath(tx, "resp_start_us") == NULL);
    cr_expect_eq(jint(jpath(t.summary, "flags"), "no_response"), 1);
    trace_lines_free(&t);
}

Test(capture, a_reset_flags_the_open_transaction)
{
    struct pcapw *w = open_pcap("rst.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/slow"));
    tconn_send_str(&c, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    tconn_rst(&c, SERVER);
    pcapw_close(w);

    run(&t, "rst.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "GET", "/slow", 200);
    cr_expect(tx_has_flag(tx, "conn_reset"));
    cr_expect(tx_has_flag(tx, "response_truncated"));
    cr_expect_str_eq(jstr(tx, "response.body"), "partial");
    cr_expect_eq(skipped_count(&t, "message_cut"), 1);
    trace_lines_free(&t);
}

Test(capture, responses_without_a_request_are_counted_as_orphans)
{
    struct trace_lines t;

    conversation("orphan.pcap",
                 SERVER, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n",
                 CLIENT, GET("/x"),
                 SERVER, resp(200, "x"),
                 -1);

    run(&t, "orphan.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 1);
    expect_tx(tx_get(&t, 0), "GET", "/x", 200);
    cr_expect_eq(skipped_count(&t, "orphan_response"), 1);
    trace_lines_free(&t);
}

Test(capture, a_connection_that_is_not_http_is_counted_not_parsed)
{
    struct pcapw *w = open_pcap("ssh.pcap", PCAPW_ETHER);
    struct tconn c, h;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 22, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, SERVER, "SSH-2.0-OpenSSH_9.2\r\n");
    tconn_send_str(&c, CLIENT, "SSH-2.0-OpenSSH_9.2\r\n");
    tconn_close(&c);
    tconn_init(&h, w, "10.0.0.1", 51001, "10.0.0.2", 443, 1, 1);
    h.ts = c.ts;
    tconn_handshake(&h);
    tconn_send(&h, CLIENT, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    tconn_close(&h);
    pcapw_close(w);

    run(&t, "ssh.pcap", NULL, NULL);
    cr_expect_eq(tx_count(&t), 0);
    cr_expect_eq(skipped_count(&t, "non_http"), 2);
    cr_expect_eq(skipped_bytes(&t, "non_http"), 21 + 21 + 11);
    cr_expect_eq(jint(t.summary, "flows"), 2);
    cr_expect_eq(jint(t.summary, "http_flows"), 0);
    trace_lines_free(&t);
}

Test(capture, invalid_http_in_a_flow_is_counted_and_the_next_request_parsed)
{
    struct trace_lines t;

    conversation("garbage.pcap",
                 CLIENT, GET("/good"),
                 SERVER, resp(200, "g"),
                 CLIENT, "GET /bad HTTP/1.1\r\nContent-Length: nope\r\n\r\n\x01\x02garbage\r\n",
                 SERVER, resp(400, "bad"),
                 CLIENT, GET("/good-again"),
                 SERVER, resp(200, "g2"),
                 -1);

    run(&t, "garbage.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 3);
    expect_tx(tx_get(&t, 0), "GET", "/good", 200);
    json_t *bad = tx_get(&t, 1);
    expect_tx(bad, "GET", "/bad", 400);
    cr_expect(tx_has_flag(bad, "request_truncated"));
    json_t *again = tx_get(&t, 2);
    expect_tx(again, "GET", "/good-again", 200);
    cr_expect(tx_has_flag(again, "resync"));
    cr_expect_eq(skipped_count(&t, "http_error"), 1);
    cr_expect_gt(skipped_bytes(&t, "resync"), 0);
    trace_lines_free(&t);
}

/* ---- secrets ----------------------------------------------------------- */

Test(capture, secrets_are_redacted_with_stable_fingerprints)
{
    struct pcapw *w = open_pcap("secrets.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    for (int i = 0; i < 2; i++) {
        tconn_send_str(&c, CLIENT, "GET /me HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer s3cr3t\r\n"
                                   "Cookie: sid=abc\r\nX-Api-Key: k-123\r\n\r\n");
        tconn_send_str(&c, SERVER, "HTTP/1.1 200 OK\r\nSet-Cookie: sid=def; HttpOnly\r\n"
                                   "Content-Length: 0\r\n\r\n");
    }
    tconn_send_str(&c, CLIENT, "GET /me HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer other\r\n\r\n");
    tconn_send_str(&c, SERVER, resp(200, ""));
    tconn_close(&c);
    pcapw_close(w);

    run(&t, "secrets.pcap", "--redact-header", "x-api-key");
    cr_assert_eq(tx_count(&t), 3);
    json_t *a = tx_get(&t, 0), *b = tx_get(&t, 1), *other = tx_get(&t, 2);
    const char *auth = tx_header(a, "request", "Authorization");
    cr_assert(auth);
    cr_expect_eq(strncmp(auth, "Bearer [redacted:hmac:", 22), 0, "%s", auth);
    cr_expect_eq(strlen(auth), strlen("Bearer ") + 32);
    cr_expect_str_eq(auth, tx_header(b, "request", "Authorization"));
    cr_expect_str_neq(auth, tx_header(other, "request", "Authorization"));
    cr_expect_eq(strncmp(tx_header(a, "request", "Cookie"), "[redacted:hmac:", 15), 0);
    cr_expect_eq(strncmp(tx_header(a, "request", "X-Api-Key"), "[redacted:hmac:", 15), 0);
    cr_expect_eq(strncmp(tx_header(a, "response", "Set-Cookie"), "[redacted:hmac:", 15), 0);
    cr_expect_str_eq(tx_header(a, "request", "Host"), "h");
    cr_expect(tx_has_flag(a, "redacted"));
    cr_expect(!tx_has_flag(other, "continue"));
    trace_lines_free(&t);

    /* The file must not hold the secrets anywhere. */
    char *text = test_read_file(test_path(dir, "secrets.pcap.jsonl"), NULL);
    cr_expect(!strstr(text, "s3cr3t") && !strstr(text, "sid=abc") && !strstr(text, "k-123"));
    free(text);

    run(&t, "secrets.pcap", "--keep-secrets", NULL);
    cr_expect_str_eq(tx_header(tx_get(&t, 0), "request", "Authorization"), "Bearer s3cr3t");
    cr_expect(!tx_has_flag(tx_get(&t, 0), "redacted"));
    trace_lines_free(&t);
}

/* ---- caps -------------------------------------------------------------- */

Test(capture, a_body_over_max_body_is_cut_flagged_and_counted)
{
    struct trace_lines t;

    conversation("cap.pcap",
                 CLIENT, GET("/big"),
                 SERVER, resp(200, "0123456789abcdefghij"),
                 -1);

    run(&t, "cap.pcap", "--max-body", "8");
    json_t *tx = tx_get(&t, 0);
    cr_expect_str_eq(jstr(tx, "response.body"), "01234567");
    cr_expect_eq(jint(tx, "response.body_size"), 20);
    cr_expect(tx_has_flag(tx, "response_body_capped"));
    cr_expect_eq(skipped_count(&t, "body_capped"), 1);
    cr_expect_eq(skipped_bytes(&t, "body_capped"), 12);
    trace_lines_free(&t);
}

Test(capture, holes_beyond_max_flow_buffer_are_given_up_and_counted)
{
    struct pcapw *w = open_pcap("flowbuf.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    char body[5000];

    memset(body, 'q', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/held"));
    const char *r = resp(200, body);
    uint32_t s = c.seq[SERVER];
    /* The first 100 bytes never come; 4 KiB arrive behind the hole. */
    for (size_t off = 100; off < strlen(r); off += 1000) {
        size_t n = strlen(r) - off < 1000 ? strlen(r) - off : 1000;
        tconn_segment_at(&c, SERVER, s + (uint32_t)off, 0x18, r + off, n);
    }
    pcapw_close(w);

    run(&t, "flowbuf.pcap", "--max-flow-buffer", "2k");
    cr_expect_geq(skipped_count(&t, "flow_buffer_full"), 1);
    cr_expect_geq(skipped_count(&t, "gap"), 1);
    cr_assert_eq(tx_count(&t), 1);
    cr_expect(tx_has_flag(tx_get(&t, 0), "no_response"));
    trace_lines_free(&t);
}

Test(capture, bytes_over_max_memory_are_counted_not_kept)
{
    struct pcapw *w = open_pcap("mem.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;
    size_t n = 1536 * 1024;
    char *big = malloc(n + 128);

    int h = snprintf(big, 128, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
    memset(big + h, 'm', n);
    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 1, 1);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/huge"));
    tconn_send_split(&c, SERVER, big, (size_t)h + n, 60000);
    tconn_close(&c);
    pcapw_close(w);
    free(big);

    run(&t, "mem.pcap", "--max-memory", "1M");
    json_t *tx = tx_get(&t, 0);
    expect_tx(tx, "GET", "/huge", 200);
    cr_expect(tx_has_flag(tx, "response_body_capped"));
    cr_expect_eq(jint(tx, "response.body_size"), (long long)n);
    cr_expect_lt(strlen(jstr(tx, "response.body")), 1024 * 1024);
    cr_expect_eq(skipped_count(&t, "memory_cap"), 1);
    cr_expect_gt(skipped_bytes(&t, "memory_cap"), 0);
    cr_expect_leq(jint(t.summary, "memory_peak_bytes"), 1024 * 1024);
    trace_lines_free(&t);
}

Test(capture, a_new_syn_on_an_old_four_tuple_is_a_new_connection)
{
    struct pcapw *w = open_pcap("reuse.pcap", PCAPW_ETHER);
    struct tconn c, d;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 100, 100);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/first"));
    tconn_send_str(&c, SERVER, resp(200, "1"));
    tconn_close(&c);
    tconn_init(&d, w, "10.0.0.1", 51000, "10.0.0.2", 80, 900000, 900000);
    d.ts = c.ts;
    tconn_handshake(&d);
    tconn_send_str(&d, CLIENT, GET("/second"));
    tconn_send_str(&d, SERVER, resp(200, "2"));
    tconn_close(&d);
    pcapw_close(w);

    run(&t, "reuse.pcap", NULL, NULL);
    cr_assert_eq(tx_count(&t), 2);
    cr_expect_eq(jint(tx_get(&t, 0), "conn"), 1);
    cr_expect_eq(jint(tx_get(&t, 1), "conn"), 2);
    cr_expect_eq(jint(t.summary, "flows"), 2);
    trace_lines_free(&t);
}

Test(capture, an_idle_connection_is_finished_after_the_idle_timeout)
{
    struct pcapw *w = open_pcap("idle.pcap", PCAPW_ETHER);
    struct tconn c;
    struct trace_lines t;

    tconn_init(&c, w, "10.0.0.1", 51000, "10.0.0.2", 80, 100, 100);
    tconn_handshake(&c);
    tconn_send_str(&c, CLIENT, GET("/before"));
    tconn_send_str(&c, SERVER, resp(200, "1"));
    c.ts += 10 * 1000000LL; /* ten quiet seconds */
    tconn_send_str(&c, CLIENT, GET("/after"));
    tconn_send_str(&c, SERVER, resp(200, "2"));
    pcapw_close(w);

    run(&t, "idle.pcap", "--idle-timeout", "2s");
    cr_assert_eq(tx_count(&t), 2);
    cr_expect_eq(jint(tx_get(&t, 0), "conn"), 1);
    cr_expect_eq(jint(tx_get(&t, 1), "conn"), 2, "the expired connection starts anew");
    cr_expect(tx_has_flag(tx_get(&t, 1), "resync") == false);
    trace_lines_free(&t);

    run(&t, "idle.pcap", NULL, NULL);
    cr_expect_eq(jint(tx_get(&t, 1), "conn"), 1);
    trace_lines_free(&t);
}
