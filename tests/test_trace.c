/* The trace format: what the writer writes, the reader reads back exactly;
 * bad trace files give located errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "testutil.h"
#include "trace_reader.h"
#include "trace_writer.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(trace, .init = setup, .fini = teardown, .timeout = 30);

static struct http_header req_headers[] = {
    {"Host", 4, "api.example", 11},
    {"X-Dup", 5, "one", 3},
    {"X-Dup", 5, "two", 3},
    {"X-Bin", 5, "\xff\x00\x01", 3},
};
static struct http_header resp_headers[] = {
    {"Content-Type", 12, "application/json", 16},
};
static struct http_header trailers[] = {
    {"X-Checksum", 10, "abc", 3},
};
static const unsigned char binary_body[] = {0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0x41};

static void fill_tx(struct trace_tx *tx, uint64_t id, int with_response)
{
    memset(tx, 0, sizeof *tx);
    tx->id = id;
    tx->conn = 7;
    strcpy(tx->client, "[2001:db8::1]:50000");
    strcpy(tx->server, "10.0.0.2:8080");
    tx->req_start_us = 1700000000000000 + (int64_t)id;
    tx->req_end_us = tx->req_start_us + 10;
    tx->resp_start_us = with_response ? tx->req_end_us + 100 : TRACE_TIME_NONE;
    tx->resp_end_us = with_response ? tx->resp_start_us + 5 : TRACE_TIME_NONE;
    tx->request.method = "POST";
    tx->request.target = "/v1/items?q=caf\xc3\xa9";
    tx->request.version_major = 1;
    tx->request.version_minor = 1;
    tx->request.headers = req_headers;
    tx->request.header_count = 4;
    tx->request.body = (const unsigned char *)"{\"name\":\"line\\nbreak\"}";
    tx->request.body_len = strlen((const char *)tx->request.body);
    tx->request.body_size = tx->request.body_len;
    tx->has_response = with_response;
    if (with_response) {
        tx->response.status = 201;
        tx->response.reason = "Created";
        tx->response.version_major = 1;
        tx->response.version_minor = 0;
        tx->response.headers = resp_headers;
        tx->response.header_count = 1;
        tx->response.trailers = trailers;
        tx->response.trailer_count = 1;
        tx->response.body = binary_body;
        tx->response.body_len = sizeof binary_body;
        tx->response.body_size = 1000; /* capped */
        tx->flags = TX_FLAG(TX_RESPONSE_BODY_CAPPED) | TX_FLAG(TX_PIPELINED);
    } else {
        tx->flags = TX_FLAG(TX_NO_RESPONSE);
    }
}

static void assert_headers_equal(const struct http_header *a, size_t na,
                                 const struct http_header *b, size_t nb)
{
    cr_assert_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_eq(a[i].name_len, b[i].name_len);
        cr_assert(memcmp(a[i].name, b[i].name, a[i].name_len) == 0);
        cr_assert_eq(a[i].value_len, b[i].value_len, "header %zu", i);
        cr_assert(memcmp(a[i].value, b[i].value, a[i].value_len) == 0, "header %zu", i);
    }
}

static void assert_message_equal(const struct http_message *a, const struct http_message *b)
{
    if (a->method) {
        cr_assert_str_eq(a->method, b->method);
        cr_assert_str_eq(a->target, b->target);
    } else {
        cr_assert_eq(a->status, b->status);
        cr_assert_str_eq(a->reason, b->reason);
    }
    cr_assert_eq(a->version_major, b->version_major);
    cr_assert_eq(a->version_minor, b->version_minor);
    assert_headers_equal(a->headers, a->header_count, b->headers, b->header_count);
    assert_headers_equal(a->trailers, a->trailer_count, b->trailers, b->trailer_count);
    cr_assert_eq(a->body_len, b->body_len);
    cr_assert(memcmp(a->body, b->body, a->body_len) == 0);
    cr_assert_eq(a->body_size, b->body_size);
}

static void round_trip(const char *name)
{
    struct trace_header h = {.source_kind = "file", .source = "x.pcap", .linktype = "EN10MB",
                             .capture_start_us = 1700000000000000, .created_by = "test"};
    struct trace_writer *w;
    struct trace_reader *r;
    struct trace_tx tx[2];
    const struct trace_tx *got;
    struct error err;
    const char *path = test_path(dir, name);

    error_init(&err);
    fill_tx(&tx[0], 1, 1);
    fill_tx(&tx[1], 2, 0);
    cr_assert_eq(trace_writer_open(&w, path, &h, &err), 0, "%s", err.message);
    cr_assert_eq(trace_writer_write(w, &tx[0], &err), 0);
    cr_assert_eq(trace_writer_write(w, &tx[1], &err), 0);
    cr_assert_eq(trace_writer_write_summary(w, "{\"packets\":12}", &err), 0);
    cr_assert_eq(trace_writer_close(w, &err), 0, "%s", err.message);

    cr_assert_eq(trace_reader_open(&r, path, 0, &err), 0, "%s", err.message);
    cr_assert_str_eq(trace_reader_header(r)->linktype, "EN10MB");
    cr_assert_eq(trace_reader_header(r)->capture_start_us, 1700000000000000);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(trace_reader_next(r, &got, &err), 1, "%s", err.message);
        cr_assert_eq(got->id, tx[i].id);
        cr_assert_eq(got->conn, tx[i].conn);
        cr_assert_str_eq(got->client, tx[i].client);
        cr_assert_str_eq(got->server, tx[i].server);
        cr_assert_eq(got->req_start_us, tx[i].req_start_us);
        cr_assert_eq(got->resp_end_us, tx[i].resp_end_us);
        cr_assert_eq(got->flags, tx[i].flags);
        cr_assert_eq(got->has_response, tx[i].has_response);
        assert_message_equal(&tx[i].request, &got->request);
        if (tx[i].has_response)
            assert_message_equal(&tx[i].response, &got->response);
    }
    cr_assert_eq(trace_reader_next(r, &got, &err), 0);
    cr_assert_not_null(trace_reader_summary(r));
    trace_reader_close(r);
}

Test(trace, round_trips_text_binary_duplicates_and_missing_responses)
{
    round_trip("t.jsonl");
}

Test(trace, round_trips_through_gzip)
{
    round_trip("t.jsonl.gz");
    size_t len;
    char *data = test_read_file(test_path(dir, "t.jsonl.gz"), &len);
    cr_assert(len > 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b);
    free(data);
}

static void expect_open_error(const char *content, const char *needle)
{
    struct trace_reader *r;
    struct error err;
    const char *path = test_path(dir, "bad.jsonl");
    test_write_file(path, content, strlen(content));
    error_init(&err);
    cr_assert_lt(trace_reader_open(&r, path, 0, &err), 0);
    cr_assert(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
}

Test(trace, rejects_files_that_are_not_traces_with_a_located_message)
{
    expect_open_error("", "empty file");
    expect_open_error("\xd4\xc3\xb2\xa1garbage", "not a rehearse trace");
    expect_open_error("{\"format\":\"other\"}\n", "not a rehearse trace");
    expect_open_error("{\"format\":\"rehearse-trace\",\"version\":99}\n", "newer");
}

static void expect_next_error(const char *second_line, const char *needle)
{
    struct trace_reader *r;
    const struct trace_tx *tx;
    struct error err;
    char content[4096];
    const char *path = test_path(dir, "bad.jsonl");

    snprintf(content, sizeof content,
             "{\"format\":\"rehearse-trace\",\"version\":1}\n%s\n", second_line);
    test_write_file(path, content, strlen(content));
    error_init(&err);
    cr_assert_eq(trace_reader_open(&r, path, 0, &err), 0, "%s", err.message);
    cr_assert_lt(trace_reader_next(r, &tx, &err), 0);
    cr_assert(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
    trace_reader_close(r);
}

Test(trace, bad_transaction_lines_name_the_line_and_the_field)
{
    expect_next_error("{\"type\":\"tx\",\"id\":1,", "bad.jsonl:2:");
    expect_next_error("{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\"}}",
                      "request.target: missing");
    expect_next_error("{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\","
                      "\"target\":\"/\",\"headers\":[[\"a\"]]}}",
                      "request.headers[0]");
    expect_next_error("{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\","
                      "\"target\":\"/\",\"body\":\"@@@@\",\"body_encoding\":\"base64\"}}",
                      "invalid base64");
    expect_next_error("{\"type\":\"tx\",\"id\":-1}", "id: expected a non-negative integer");
}

Test(trace, unknown_line_types_and_flags_are_skipped)
{
    struct trace_reader *r;
    const struct trace_tx *tx;
    struct error err;
    const char *path = test_path(dir, "future.jsonl");
    const char *content =
        "{\"format\":\"rehearse-trace\",\"version\":1}\n"
        "{\"type\":\"marker\",\"x\":1}\n"
        "\n"
        "{\"type\":\"tx\",\"id\":3,\"conn\":1,\"request\":{\"method\":\"GET\",\"target\":\"/\"},"
        "\"response\":{\"status\":204},\"flags\":[\"from_the_future\",\"resync\"]}\n";
    test_write_file(path, content, strlen(content));
    error_init(&err);
    cr_assert_eq(trace_reader_open(&r, path, 0, &err), 0, "%s", err.message);
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    cr_assert_eq(tx->id, 3);
    cr_assert_eq(tx->flags, TX_FLAG(TX_RESYNC));
    cr_assert_eq(tx->response.status, 204);
    cr_assert_eq(trace_reader_next(r, &tx, &err), 0);
    trace_reader_close(r);
}

Test(trace, show_prints_tsv_and_fails_cleanly_on_a_missing_file)
{
    struct trace_header h = {.capture_start_us = 1};
    struct trace_writer *w;
    struct trace_tx tx[2];
    struct error err;
    struct run_result res;
    const char *path = test_path(dir, "show.jsonl");

    fill_tx(&tx[0], 1, 1);
    fill_tx(&tx[1], 2, 0);
    cr_assert_eq(trace_writer_open(&w, path, &h, &err), 0);
    trace_writer_write(w, &tx[0], &err);
    trace_writer_write(w, &tx[1], &err);
    cr_assert_eq(trace_writer_close(w, &err), 0);

    test_rehearse(&res, 10, "trace", "show", path, "--format", "tsv", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert_str_eq(res.out,
                     "conn\tstart_us\tmethod\thost\ttarget\tstatus\n"
                     "7\t1700000000000001\tPOST\tapi.example\t/v1/items?q=caf\xc3\xa9\t201\n"
                     "7\t1700000000000002\tPOST\tapi.example\t/v1/items?q=caf\xc3\xa9\t\n");
    test_run_free(&res);

    test_rehearse(&res, 10, "trace", "show", test_path(dir, "nope.jsonl"), NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "nope.jsonl"), "%s", res.err);
    test_run_free(&res);
}
