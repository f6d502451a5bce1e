/* The one-pass transaction decoder (replay/trace_decode.c) reads every line
 * exactly as the jansson path does, and hands everything else back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "testutil.h"
#include "trace_decode.h"
#include "trace_reader.h"
#include "trace_writer.h"

static char *dir;
static void setup(void)
{
    dir = test_tmpdir();
}
static void teardown(void)
{
    test_tmpdir_remove(dir);
}
TestSuite(trace_decode, .init = setup, .fini = teardown, .timeout = 60);

static void same_str(const char *a, const char *b, const char *what, uint64_t id)
{
    if (!a || !b) {
        cr_assert_eq(a == NULL, b == NULL, "tx %llu %s: %s vs %s", (unsigned long long)id, what,
                     a ? a : "NULL", b ? b : "NULL");
        return;
    }
    cr_assert_str_eq(a, b, "tx %llu %s", (unsigned long long)id, what);
}

static void same_headers(const struct http_header *a, size_t na, const struct http_header *b,
                         size_t nb, const char *what, uint64_t id)
{
    cr_assert_eq(na, nb, "tx %llu %s count", (unsigned long long)id, what);
    for (size_t i = 0; i < na; i++) {
        cr_assert_eq(a[i].name_len, b[i].name_len);
        cr_assert_eq(a[i].value_len, b[i].value_len, "tx %llu %s[%zu]", (unsigned long long)id,
                     what, i);
        cr_assert_eq(memcmp(a[i].name, b[i].name, a[i].name_len), 0);
        cr_assert_eq(memcmp(a[i].value, b[i].value, a[i].value_len), 0, "tx %llu %s[%zu]",
                     (unsigned long long)id, what, i);
    }
}

static void same_message(const struct http_message *a, const struct http_message *b,
                         const char *what, uint64_t id)
{
    same_str(a->method, b->method, what, id);
    same_str(a->target, b->target, what, id);
    same_str(a->reason, b->reason, what, id);
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->version_major, b->version_major);
    cr_assert_eq(a->version_minor, b->version_minor);
    same_headers(a->headers, a->header_count, b->headers, b->header_count, "headers", id);
    same_headers(a->trailers, a->trailer_count, b->trailers, b->trailer_count, "trailers", id);
    cr_assert_eq(a->body_len, b->body_len, "tx %llu %s body", (unsigned long long)id, what);
    cr_assert_eq(a->body == NULL, b->body == NULL, "tx %llu %s body presence",
                 (unsigned long long)id, what);
    if (a->body_len)
        cr_assert_eq(memcmp(a->body, b->body, a->body_len), 0);
    cr_assert_eq(a->body_size, b->body_size);
}

static void same_tx(const struct trace_tx *a, const struct trace_tx *b)
{
    cr_assert_eq(a->id, b->id);
    cr_assert_eq(a->conn, b->conn);
    cr_assert_str_eq(a->client, b->client);
    cr_assert_str_eq(a->server, b->server);
    cr_assert_eq(a->req_start_us, b->req_start_us);
    cr_assert_eq(a->req_end_us, b->req_end_us);
    cr_assert_eq(a->resp_start_us, b->resp_start_us);
    cr_assert_eq(a->resp_end_us, b->resp_end_us);
    cr_assert_eq(a->flags, b->flags, "tx %llu flags", (unsigned long long)a->id);
    cr_assert_eq(a->has_response, b->has_response);
    same_message(&a->request, &b->request, "request", a->id);
    if (a->has_response)
        same_message(&a->response, &b->response, "response", a->id);
}

/* Read `path` with and without the fast path; every transaction and the
 * final status (an error message included) must be the same. */
static void compare_paths(const char *path, size_t expect_tx)
{
    struct trace_reader *fast, *slow;
    struct error ef, es;
    size_t n = 0;
    error_init(&ef);
    error_init(&es);
    cr_assert_eq(trace_reader_open(&fast, path, 0, &ef), 0, "%s", ef.message);
    cr_assert_eq(trace_reader_open(&slow, path, 0, &es), 0);
    trace_reader_set_slow_only(slow, true);
    for (;;) {
        const struct trace_tx *a, *b;
        int ra = trace_reader_next(fast, &a, &ef), rb = trace_reader_next(slow, &b, &es);
        cr_assert_eq(ra, rb, "line %llu: fast %d (%s), slow %d (%s)",
                     (unsigned long long)trace_reader_line_number(slow), ra, ef.message, rb,
                     es.message);
        if (ra <= 0) {
            if (ra < 0)
                cr_assert_str_eq(ef.message, es.message);
            break;
        }
        same_tx(a, b);
        n++;
    }
    cr_assert_eq(n, expect_tx);
    trace_reader_close(fast);
    trace_reader_close(slow);
}

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* A random byte string: ASCII, control characters, UTF-8, invalid bytes. */
static size_t random_bytes(unsigned *seed, char *out, size_t max, bool text_only)
{
    static const char *pieces[] = {"a", "Z", "/", "\"", "\\", "\t", "\x01", "\x1f", "é",
                                   "€", "😀", " ", "=", "?", "&", "\x7f", "\n", "\r\b\f",
                                   "\xff", "\xc3", "\xe2\x82", "\x00"};
    size_t n = 0, count = next_rand(seed) % 12;
    for (size_t i = 0; i < count; i++) {
        unsigned k = next_rand(seed) % (sizeof pieces / sizeof pieces[0]);
        size_t len = k == 21 ? 1 : strlen(pieces[k]);
        if (text_only && k >= 18)
            continue;
        if (n + len >= max)
            break;
        memcpy(out + n, pieces[k], len);
        n += len;
    }
    out[n] = '\0';
    return n;
}

Test(trace_decode, written_traces_read_the_same_on_both_paths)
{
    const char *path = test_path(dir, "t.jsonl");
    struct trace_header h = {0};
    struct trace_writer *w;
    struct error err;
    unsigned seed = 42;
    const size_t count = 3000;

    error_init(&err);
    h.capture_start_us = 1700000000000000;
    cr_assert_eq(trace_writer_open(&w, path, &h, &err), 0);
    for (size_t i = 0; i < count; i++) {
        char names[4][64], values[4][64], trailer_v[64], method[16], target[64], reason[64],
            body[64], rbody[64];
        struct http_header hs[4], ts[1];
        struct trace_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.id = i + 1;
        tx.conn = next_rand(&seed) % 50;
        snprintf(tx.client, sizeof tx.client, "10.0.0.%u:%u", next_rand(&seed) % 255,
                 next_rand(&seed) % 65535);
        if (next_rand(&seed) % 5)
            snprintf(tx.server, sizeof tx.server, "[2001:db8::1]:443");
        tx.req_start_us = next_rand(&seed) % 4 ? 1700000000000000 + (int64_t)i : TRACE_TIME_NONE;
        tx.req_end_us = tx.req_start_us;
        tx.resp_start_us = next_rand(&seed) % 3 ? -5 : TRACE_TIME_NONE;
        tx.resp_end_us = TRACE_TIME_NONE;
        snprintf(method, sizeof method, "%s", next_rand(&seed) % 2 ? "GET" : "PATCH");
        random_bytes(&seed, target, sizeof target, true);
        tx.request.method = method;
        tx.request.target = target;
        tx.request.version_major = 1;
        tx.request.version_minor = next_rand(&seed) % 2;
        size_t nh = next_rand(&seed) % 5;
        for (size_t k = 0; k < nh; k++) {
            hs[k].name_len = random_bytes(&seed, names[k], sizeof names[k], true);
            hs[k].name = names[k];
            hs[k].value_len = random_bytes(&seed, values[k], sizeof values[k], false);
            hs[k].value = values[k];
        }
        tx.request.headers = hs;
        tx.request.header_count = nh;
        if (next_rand(&seed) % 4 == 0) {
            ts[0] = (struct http_header){"X-T", 3, trailer_v, 0};
            ts[0].value_len = random_bytes(&seed, trailer_v, sizeof trailer_v, false);
            tx.request.trailers = ts;
            tx.request.trailer_count = 1;
        }
        tx.request.body_len = random_bytes(&seed, body, sizeof body, false);
        tx.request.body = (const unsigned char *)body;
        tx.request.body_size = tx.request.body_len + (next_rand(&seed) % 7 == 0 ? 100 : 0);
        if (next_rand(&seed) % 4) {
            tx.has_response = true;
            tx.response.status = (int)(next_rand(&seed) % 600);
            random_bytes(&seed, reason, sizeof reason, true);
            tx.response.reason = reason;
            tx.response.version_major = 1;
            tx.response.version_minor = 1;
            tx.response.headers = hs;
            tx.response.header_count = nh > 1 ? 1 : 0;
            tx.response.body_len = random_bytes(&seed, rbody, sizeof rbody, false);
            tx.response.body = (const unsigned char *)rbody;
            tx.response.body_size = tx.response.body_len;
        }
        tx.flags = next_rand(&seed) & ((1u << TX_FLAG_COUNT) - 1);
        cr_assert_eq(trace_writer_write(w, &tx, &err), 0, "%s", err.message);
    }
    cr_assert_eq(trace_writer_write_summary(w, "{\"transactions\":3000}", &err), 0);
    cr_assert_eq(trace_writer_close(w, &err), 0);
    compare_paths(path, count);
}

Test(trace_decode, hand_written_lines_read_the_same_on_both_paths)
{
    const char *path = test_path(dir, "h.jsonl");
    const char *text =
        "{\"format\":\"rehearse-trace\",\"version\":1,\"capture_start_us\":null}\n"
        /* members in another order, whitespace, unknown members of every kind */
        "  { \"request\" : {\"target\":\"/\\u00e9\\/x\",\"method\":\"GET\",\"extra\":[1,2.5e3,"
        "{\"a\":[true,false,null]}],\"headers\":[[\"H\",\"\\ud83d\\ude00\"]]} , \"conn\":2,"
        "\"id\":1,\"type\":\"tx\",\"future\":{\"x\":-0.5},\"flags\":[\"resync\",\"newflag\"],"
        "\"response\":null}\t\r\n"
        "\n"
        /* a summary line and an unknown line type in between */
        "{\"type\":\"summary\",\"transactions\":2}\n"
        "{\"type\":\"future\",\"x\":1}\n"
        /* body encodings, body_size, trailers, a reason of another type */
        "{\"type\":\"tx\",\"id\":2,\"conn\":3,\"client\":null,\"req_start_us\":null,"
        "\"request\":{\"method\":\"POST\",\"target\":\"/b\",\"version\":\"HTTP/1.0\","
        "\"body\":\"aGVsbG8=\",\"body_encoding\":\"base64\",\"body_size\":9,"
        "\"trailers\":[[\"T\",\"AAE=\",\"base64\"]]},"
        "\"response\":{\"status\":204,\"reason\":7,\"body\":\"x\",\"body_encoding\":\"utf8\"}}\n"
        /* a key with an escape: only jansson takes it */
        "{\"type\":\"tx\",\"id\":3,\"conn\":1,\"request\":{\"method\":\"GET\",\"targ\\u0065t\":\"/e\"}}\n"
        /* duplicate members: the last one counts */
        "{\"type\":\"tx\",\"id\":4,\"id\":5,\"conn\":1,\"request\":{\"method\":\"A\",\"target\":\"/1\"},"
        "\"request\":{\"method\":\"B\",\"target\":\"/2\"},\"flags\":[\"resync\"],\"flags\":[]}\n";
    test_write_file(path, text, strlen(text));
    compare_paths(path, 4);
}

Test(trace_decode, bad_lines_give_the_same_located_errors)
{
    static const char *bad[] = {
        "{\"type\":\"tx\",\"id\":1.5,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\","
        "\"version\":\"HTTP/2\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\","
        "\"headers\":[[\"a\"]]}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\","
        "\"body\":\"!!\",\"body_encoding\":\"base64\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\","
        "\"body\":\"abc\",\"body_size\":2}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"\\u0000\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"\\ud800\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"}} x",
        "{\"type\":\"tx\",\"id\":99999999999999999999,\"conn\":1,\"request\":{}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"client\":\"0123456789012345678901234567890123456789"
        "01234567890123456789012345\",\"request\":{\"method\":\"GET\",\"target\":\"/\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"},"
        "\"response\":{\"reason\":\"OK\"}}",
        "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\xff\"}}",
        "[1,2]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"format\":\"rehearse-trace\",\"version\":1}\n"
                 "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"}}\n"
                 "%s\n",
                 bad[i]);
        const char *path = test_path(dir, "bad.jsonl");
        test_write_file(path, text, strlen(text));
        compare_paths(path, 1);
    }
}

Test(trace_decode, the_decoder_declines_what_it_does_not_read)
{
    struct arena a;
    struct trace_tx tx;
    const char *summary = "{\"type\":\"summary\",\"transactions\":1}";
    const char *ok = "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\","
                     "\"target\":\"/x\",\"headers\":[[\"A\",\"b\"]]}}";
    arena_init(&a, 0);
    cr_assert_eq(trace_decode_tx(summary, strlen(summary), &a, &tx), 0);
    cr_assert_eq(trace_decode_tx(ok, strlen(ok), &a, &tx), 1);
    cr_assert_str_eq(tx.request.target, "/x");
    cr_assert_eq(tx.request.header_count, 1);
    cr_assert(tx.flags & TX_FLAG(TX_NO_RESPONSE));
    cr_assert_eq(trace_decode_tx(ok, strlen(ok) - 1, &a, &tx), 0); /* cut short */
    arena_release(&a);
}
