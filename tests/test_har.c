/* `rehearse trace import-har` / `export-har`: a browser-like HAR and our own
 * export imported exactly, exports valid for an independent reader (Python's
 * json + jsonschema against the HAR 1.2 schema), lossless round trips, and
 * bad input located with exit code 2. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "trace_reader.h"
#include "trace_writer.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(har, .init = setup, .fini = teardown, .timeout = 60);

static char *path_copy(const char *name)
{
    return strdup(test_path(dir, name));
}

/* Import HAR into NAME.jsonl (in the temp dir); return its path. */
static char *import_ok(const char *har, const char *name, struct run_result *res)
{
    char *out = path_copy(name);
    test_rehearse(res, 30, "trace", "import-har", har, "-o", out, NULL);
    cr_assert_eq(res->exit_code, 0, "import of %s: %s", har, res->err);
    return out;
}

static void expect_show(const char *trace, const char *golden)
{
    struct run_result res;
    size_t len;
    char *want = test_read_file(test_repo_path(golden), &len);

    cr_assert_not_null(want, "%s", golden);
    test_rehearse(&res, 30, "trace", "show", trace, "--format", "tsv", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert_str_eq(res.out, want, "trace show differs from %s", golden);
    test_run_free(&res);
    free(want);
}

static const struct http_header *header_at(const struct http_message *m, size_t i)
{
    cr_assert_lt(i, m->header_count);
    return &m->headers[i];
}

static void expect_header(const struct http_message *m, size_t i, const char *name,
                          const char *value)
{
    const struct http_header *h = header_at(m, i);
    cr_assert(h->name_len == strlen(name) && memcmp(h->name, name, h->name_len) == 0,
              "header %zu is '%.*s', expected '%s'", i, (int)h->name_len, h->name, name);
    cr_assert(h->value_len == strlen(value) && memcmp(h->value, value, h->value_len) == 0,
              "header %zu value '%.*s', expected '%s'", i, (int)h->value_len, h->value, value);
}

Test(har, a_browser_har_imports_with_every_change_counted)
{
    struct run_result res;
    char *trace = import_ok(test_repo_path("fixtures/har/browser-session.har"), "b.jsonl", &res);

    cr_assert(strstr(res.err, "10 entries, 9 transactions written"), "%s", res.err);
    cr_assert(strstr(res.err, "skipped 1 not_http"), "%s", res.err);
    cr_assert(strstr(res.err, "note    4 http2_as_http11"), "%s", res.err);
    cr_assert(strstr(res.err, "note    1 http3_as_http11"), "%s", res.err);
    cr_assert(strstr(res.err, "note    1 host_added"), "%s", res.err);
    cr_assert(strstr(res.err, "note    1 decoded_body"), "%s", res.err);
    cr_assert(strstr(res.err, "note    1 reordered"), "%s", res.err);
    cr_assert(strstr(res.err, "3 transactions with secret values redacted"), "%s", res.err);
    test_run_free(&res);
    expect_show(trace, "fixtures/har/browser-session.tsv");

    struct trace_reader *r;
    const struct trace_tx *tx;
    struct error err;
    error_init(&err);
    cr_assert_eq(trace_reader_open(&r, trace, 0, &err), 0, "%s", err.message);
    cr_assert_str_eq(trace_reader_header(r)->source_kind, "har");

    /* 1: HTTP/2 document: pseudo-headers gone, Host first, br body decoded
     * by the browser, so Content-Encoding is dropped with it. */
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    cr_assert_eq(tx->request.version_minor, 1);
    expect_header(&tx->request, 0, "Host", "shop.example.com");
    expect_header(&tx->request, 1, "accept", "text/html,application/xhtml+xml");
    cr_assert_eq(tx->request.header_count, 5);
    /* secrets redacted as capture does, the transaction flagged */
    cr_assert_eq(header_at(&tx->request, 3)->value_len, 32);
    cr_assert(memcmp(header_at(&tx->request, 3)->value, "[redacted:hmac:", 15) == 0);
    cr_assert(tx->flags & TX_FLAG(TX_REDACTED));
    expect_header(&tx->response, 0, "content-type", "text/html; charset=utf-8");
    cr_assert_eq(tx->response.header_count, 3);
    cr_assert(memmem(tx->response.body, tx->response.body_len, "Caf\xc3\xa9 \xe2\x98\x95", 7));
    cr_assert_str_eq(tx->server, "93.184.216.34:443");
    /* started 03.517 + blocked 1.204 + dns 12.51 + connect 48.73 ms, then
     * send 0.311, wait 61.942, receive 2.118 */
    cr_assert_eq(tx->req_start_us, 1715677923579444);
    cr_assert_eq(tx->req_end_us, 1715677923579755);
    cr_assert_eq(tx->resp_start_us, 1715677923641697);
    cr_assert_eq(tx->resp_end_us, 1715677923643815);

    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    /* Authorization keeps its scheme */
    cr_assert(memcmp(header_at(&tx->request, 2)->value, "Bearer [redacted:hmac:", 22) == 0);
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    cr_assert(!(tx->flags & TX_FLAG(TX_REDACTED)));
    /* 4: the PNG, base64 in the HAR, bytes in the trace */
    cr_assert_eq(tx->response.body_len, 70);
    cr_assert(memcmp(tx->response.body, "\x89PNG\r\n\x1a\n", 8) == 0);

    /* 5: POST with its body, duplicate headers in order */
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1);
    cr_assert_str_eq(tx->request.method, "POST");
    cr_assert_eq(tx->request.body_len, 34);
    cr_assert(memcmp(tx->request.body, "{\"sku\": \"CUP-1842\"", 18) == 0);
    expect_header(&tx->request, 4, "X-Request-Id", "a1");
    expect_header(&tx->request, 5, "X-Request-Id", "a2");
    cr_assert_eq(tx->conn, 2);

    cr_assert_eq(trace_reader_next(r, &tx, &err), 1);
    /* 7: blocked by the browser: no response */
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1);
    cr_assert(!tx->has_response);
    cr_assert(tx->flags & TX_FLAG(TX_NO_RESPONSE));
    cr_assert_eq(tx->resp_end_us, TRACE_TIME_NONE);

    /* 9: HTTP/1.0 without Host, raw gzip kept with its Content-Encoding */
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1);
    cr_assert_eq(tx->request.version_minor, 0);
    expect_header(&tx->request, 0, "Host", "legacy.example.org");
    expect_header(&tx->response, 1, "Content-Encoding", "gzip");
    cr_assert(tx->response.body[0] == 0x1f && tx->response.body[1] == 0x8b);

    cr_assert_eq(trace_reader_next(r, &tx, &err), 1);
    cr_assert_str_eq(tx->server, "[2001:db8::17]:443");
    cr_assert_eq(trace_reader_next(r, &tx, &err), 0, "%s", err.message);
    json_t *summary = trace_reader_summary(r);
    cr_assert_not_null(summary);
    cr_assert_eq(json_integer_value(json_object_get(summary, "entries")), 10);
    cr_assert_str_eq(json_string_value(json_object_get(summary, "har_creator")),
                     "WebInspector 537.36");
    trace_reader_close(r);
    free(trace);
}

/* The value of header `name` in transaction `index` (1-based) of a trace. */
static char *header_value(const char *trace, int index, const char *name)
{
    struct trace_reader *r;
    const struct trace_tx *tx;
    struct error err;
    char *value = NULL;

    error_init(&err);
    cr_assert_eq(trace_reader_open(&r, trace, 0, &err), 0, "%s", err.message);
    for (int i = 0; i < index; i++)
        cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    const struct http_header *h = http_message_header(&tx->request, name);
    if (h)
        value = strndup(h->value, h->value_len);
    trace_reader_close(r);
    return value;
}

Test(har, secrets_are_kept_on_request_and_more_headers_redacted_on_demand)
{
    const char *har = test_repo_path("fixtures/har/browser-session.har");
    char *out = path_copy("k.jsonl");
    struct run_result res;

    test_rehearse(&res, 30, "trace", "import-har", har, "-o", out, "--keep-secrets", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert_null(strstr(res.err, "redacted"), "%s", res.err);
    test_run_free(&res);
    char *v = header_value(out, 3, "authorization");
    cr_assert_str_eq(v, "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig");
    free(v);

    test_rehearse(&res, 30, "trace", "import-har", har, "-o", out, "--redact-header",
                  "User-Agent", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    v = header_value(out, 1, "user-agent");
    cr_assert(strncmp(v, "[redacted:hmac:", 15) == 0, "%s", v);
    free(v);

    test_rehearse(&res, 30, "trace", "import-har", har, "-o", out, "--redact-header", "X",
                  "--keep-secrets", NULL);
    cr_assert_eq(res.exit_code, 2);
    test_run_free(&res);
    free(out);
}

Test(har, our_own_export_imports_to_the_expected_transactions)
{
    struct run_result res;
    char *trace = import_ok(test_repo_path("fixtures/har/rehearse-export.har"), "e.jsonl", &res);
    test_run_free(&res);
    expect_show(trace, "fixtures/har/rehearse-export.tsv");
    free(trace);
}

Test(har, export_of_the_crafted_trace_matches_the_golden_har)
{
    struct run_result res;
    char *out = path_copy("x.har");
    size_t got_len, want_len;

    test_rehearse(&res, 30, "trace", "export-har", test_repo_path("fixtures/har/crafted.jsonl"),
                  "-o", out, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.err, "6 entries written"), "%s", res.err);
    test_run_free(&res);
    char *got = test_read_file(out, &got_len);
    char *want = test_read_file(test_repo_path("fixtures/har/rehearse-export.har"), &want_len);
    cr_assert_eq(got_len, want_len);
    cr_assert(memcmp(got, want, got_len) == 0, "export differs from fixtures/har/"
              "rehearse-export.har (regenerate with fixtures/har/regen.sh and review)");
    free(got);
    free(want);
    free(out);
}

static void check_har(const char *har, int want_exit, const char *needle)
{
    char *argv[] = {(char *)test_repo_path("fixtures/har/check_har.py"), (char *)har, NULL};
    struct run_result res;

    test_run(&res, argv, 60);
    cr_assert_eq(res.exit_code, want_exit, "check_har.py %s: %s%s", har, res.out, res.err);
    if (needle)
        cr_assert(strstr(res.out, needle), "%s", res.out);
    test_run_free(&res);
}

Test(har, exports_are_valid_har_for_an_independent_reader)
{
    struct run_result res;
    char *trace = import_ok(test_repo_path("fixtures/har/browser-session.har"), "b.jsonl", &res);
    char *out = path_copy("b.har");
    test_run_free(&res);

    test_rehearse(&res, 30, "trace", "export-har", trace, "-o", out, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    check_har(out, 0, NULL);
    check_har(test_repo_path("fixtures/har/rehearse-export.har"), 0, NULL);
    check_har(test_repo_path("fixtures/har/browser-session.har"), 0, NULL);

    /* The checker can fail: drop a required field and break a sum. */
    json_error_t jerr;
    json_t *doc = json_load_file(out, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    json_t *entry = json_array_get(json_object_get(json_object_get(doc, "log"), "entries"), 2);
    json_object_del(json_object_get(entry, "request"), "queryString");
    json_object_set_new(entry, "time", json_real(999.5));
    char *broken = path_copy("broken.har");
    cr_assert_eq(json_dump_file(doc, broken, 0), 0);
    json_decref(doc);
    check_har(broken, 1, "'queryString' is a required property");
    check_har(broken, 1, "log.entries[2].time: 999.5 is not the sum of the timings");
    free(broken);
    free(out);
    free(trace);
}

/* Parse every transaction line of a trace (jansson objects, in order). */
static json_t *tx_lines(const char *trace)
{
    struct trace_reader *r;
    const struct trace_tx *tx;
    struct error err;
    json_t *all = json_array();
    size_t len;
    int rc;

    error_init(&err);
    cr_assert_eq(trace_reader_open(&r, trace, 0, &err), 0, "%s", err.message);
    while ((rc = trace_reader_next(r, &tx, &err)) > 0) {
        const char *line = trace_reader_raw_line(r, &len);
        json_error_t jerr;
        json_array_append_new(all, json_loadb(line, len, 0, &jerr));
    }
    cr_assert_eq(rc, 0, "%s", err.message);
    trace_reader_close(r);
    return all;
}

Test(har, export_then_import_gives_back_the_same_transactions)
{
    const char *crafted = test_repo_path("fixtures/har/crafted.jsonl");
    struct run_result res;
    char *har = path_copy("c.har");

    test_rehearse(&res, 30, "trace", "export-har", crafted, "-o", har, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    char *back = path_copy("c.jsonl");
    test_rehearse(&res, 30, "trace", "import-har", har, "-o", back, "--keep-secrets", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);

    /* Every member of every transaction line: method, target, headers in
     * order with duplicates and a non-UTF-8 value, text and binary bodies,
     * trailers, a capped body's size, status, flags, addresses, times. */
    json_t *a = tx_lines(crafted), *b = tx_lines(back);
    cr_assert_eq(json_array_size(a), 6);
    cr_assert_eq(json_array_size(b), 6);
    for (size_t i = 0; i < 6; i++) {
        char *x = json_dumps(json_array_get(a, i), JSON_SORT_KEYS);
        char *y = json_dumps(json_array_get(b, i), JSON_SORT_KEYS);
        cr_assert_str_eq(y, x, "transaction %zu changed in the round trip", i + 1);
        free(x);
        free(y);
    }
    json_decref(b);

    /* By default, import redacts what is not redacted yet (the second
     * Set-Cookie of transaction 2) and leaves fingerprints alone. */
    char *redacted = import_ok(har, "r.jsonl", &res);
    test_run_free(&res);
    b = tx_lines(redacted);
    json_t *want = json_array_get(json_object_get(json_object_get(json_array_get(a, 1),
                                                                  "response"), "headers"), 1);
    json_t *got = json_object_get(json_object_get(json_array_get(b, 1), "response"), "headers");
    cr_assert(json_equal(json_array_get(got, 1), want));
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(got, 2), 0)), "Set-Cookie");
    cr_assert(strncmp(json_string_value(json_array_get(json_array_get(got, 2), 1)),
                      "[redacted:hmac:", 15) == 0);
    cr_assert(json_equal(json_array_get(b, 0), json_array_get(a, 0)));
    json_decref(a);
    json_decref(b);
    free(redacted);
    free(back);
    free(har);
}

Test(har, round_trip_of_a_trace_written_by_the_trace_writer)
{
    static struct http_header req_headers[] = {
        {"Host", 4, "svc:8080", 8},
        {"X-Dup", 5, "one", 3},
        {"X-Dup", 5, "two", 3},
        {"X-Bin", 5, "\xff\x00\x01", 3},
    };
    static struct http_header resp_headers[] = {{"Content-Type", 12, "image/png", 9}};
    static const unsigned char binary[] = {0x89, 'P', 'N', 'G', 0x00, 0xff, 0x00, 0x10};
    struct trace_header h = {.source_kind = "file", .source = "t.pcap", .capture_start_us = 1};
    struct trace_tx tx[2];
    struct trace_writer *w;
    struct error err;
    char *trace = path_copy("w.jsonl"), *har = path_copy("w.har");

    memset(tx, 0, sizeof tx);
    for (int i = 0; i < 2; i++) {
        tx[i].id = (uint64_t)i + 1;
        tx[i].conn = 3;
        strcpy(tx[i].client, "10.0.0.1:5000");
        strcpy(tx[i].server, "10.0.0.2:8080");
        tx[i].req_start_us = 1700000000000000 + i * 1000;
        tx[i].req_end_us = tx[i].req_start_us + 10;
        tx[i].request.method = i ? "GET" : "PUT";
        tx[i].request.target = i ? "/a?b=c&d" : "/items/7";
        tx[i].request.version_major = 1;
        tx[i].request.version_minor = 1;
        tx[i].request.headers = req_headers;
        tx[i].request.header_count = 4;
    }
    tx[0].request.body = (const unsigned char *)"caf\xc3\xa9 \"quoted\"\n";
    tx[0].request.body_len = tx[0].request.body_size = 16;
    tx[0].has_response = true;
    tx[0].response = (struct http_message){.status = 200, .reason = "OK", .version_major = 1,
                                           .version_minor = 1, .headers = resp_headers,
                                           .header_count = 1, .body = binary,
                                           .body_len = sizeof binary, .body_size = sizeof binary};
    /* The server answered before the request was complete: HAR cannot say
     * so (no negative phases); export clamps and counts it. */
    tx[0].resp_start_us = tx[0].req_end_us - 5;
    tx[0].resp_end_us = tx[0].req_end_us + 20;
    tx[1].resp_start_us = tx[1].resp_end_us = TRACE_TIME_NONE;
    tx[1].flags = TX_FLAG(TX_NO_RESPONSE);

    error_init(&err);
    cr_assert_eq(trace_writer_open(&w, trace, &h, &err), 0, "%s", err.message);
    cr_assert_eq(trace_writer_write(w, &tx[0], &err), 0, "%s", err.message);
    cr_assert_eq(trace_writer_write(w, &tx[1], &err), 0, "%s", err.message);
    cr_assert_eq(trace_writer_close(w, &err), 0, "%s", err.message);

    struct run_result res;
    test_rehearse(&res, 30, "trace", "export-har", trace, "-o", har, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.err, "1 with a response that began before the request ended"), "%s",
              res.err);
    test_run_free(&res);
    check_har(har, 0, NULL);
    char *back = import_ok(har, "back.jsonl", &res);
    test_run_free(&res);

    struct trace_reader *r;
    const struct trace_tx *got;
    cr_assert_eq(trace_reader_open(&r, back, 0, &err), 0, "%s", err.message);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(trace_reader_next(r, &got, &err), 1, "%s", err.message);
        cr_assert_str_eq(got->request.method, tx[i].request.method);
        cr_assert_str_eq(got->request.target, tx[i].request.target);
        cr_assert_eq(got->request.header_count, 4);
        for (size_t k = 0; k < 4; k++)
            cr_assert(got->request.headers[k].value_len == req_headers[k].value_len &&
                      memcmp(got->request.headers[k].value, req_headers[k].value,
                             req_headers[k].value_len) == 0 &&
                      memcmp(got->request.headers[k].name, req_headers[k].name,
                             req_headers[k].name_len) == 0, "header %zu", k);
        cr_assert_eq(got->request.body_len, tx[i].request.body_len);
        cr_assert(memcmp(got->request.body, tx[i].request.body ? tx[i].request.body
                                                              : (const unsigned char *)"",
                         got->request.body_len) == 0);
        cr_assert_eq(got->has_response, tx[i].has_response);
        cr_assert_eq(got->conn, 1); /* ids are renumbered densely */
        cr_assert_str_eq(got->client, "10.0.0.1:5000");
        cr_assert_eq(got->req_start_us, tx[i].req_start_us);
        cr_assert_eq(got->req_end_us, tx[i].req_end_us);
        cr_assert_eq(got->flags, tx[i].flags);
    }
    cr_assert_eq(trace_reader_next(r, &got, &err), 0, "%s", err.message);
    trace_reader_close(r);
    cr_assert_eq(trace_reader_open(&r, back, 0, &err), 0);
    cr_assert_eq(trace_reader_next(r, &got, &err), 1);
    cr_assert_eq(got->response.status, 200);
    cr_assert_eq(got->response.body_len, sizeof binary);
    cr_assert(memcmp(got->response.body, binary, sizeof binary) == 0);
    cr_assert_eq(got->resp_start_us, got->req_end_us); /* clamped: wait 0 */
    cr_assert_eq(got->resp_end_us, tx[0].req_end_us + 20 + 5);
    trace_reader_close(r);
    free(back);
    free(trace);
    free(har);
}

static void write_har_entries(const char *path, const char *starts[], size_t n)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"t\",\"version\":\"1\"},"
               "\"entries\":[");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s{\"startedDateTime\":\"%s\",\"time\":0,\"request\":{\"method\":\"GET\","
                   "\"url\":\"http://h/%zu\"},\"response\":{\"status\":200},\"connection\":"
                   "\"%zu\",\"timings\":{\"send\":0,\"wait\":0,\"receive\":0}}",
                i ? "," : "", starts[i], i, i % 2);
    fprintf(f, "]}}");
    fclose(f);
}

Test(har, entries_are_put_in_start_time_order_within_the_window)
{
    const char *starts[] = {"2024-01-01T00:00:03Z", "2024-01-01T00:00:01Z",
                            "2024-01-01T00:00:02Z"};
    char *har = path_copy("o.har"), *out = path_copy("o.jsonl");
    struct run_result res;

    write_har_entries(har, starts, 3);
    test_rehearse(&res, 30, "trace", "import-har", har, "-o", out, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.err, "note    1 reordered"), "%s", res.err);
    test_run_free(&res);
    test_rehearse(&res, 30, "trace", "show", out, NULL);
    /* connections numbered in order of first request: "1", then "0" */
    cr_assert_str_eq(res.out, "conn\tstart_us\tmethod\thost\ttarget\tstatus\n"
                              "1\t1704067201000000\tGET\th\t/1\t200\n"
                              "2\t1704067202000000\tGET\th\t/2\t200\n"
                              "2\t1704067203000000\tGET\th\t/0\t200\n");
    test_run_free(&res);

    /* A window of one cannot reorder: file order is kept, and said. */
    test_rehearse(&res, 30, "trace", "import-har", har, "-o", out, "--reorder-window", "1",
                  NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.err, "note    2 out_of_order"), "%s", res.err);
    test_run_free(&res);
    free(har);
    free(out);
}

Test(har, missing_bodies_keep_their_size_and_upgrades_are_flagged)
{
    const char *text =
        "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"t\",\"version\":\"1\"},"
        "\"entries\":[{\"startedDateTime\":\"2024-01-01T00:00:00Z\",\"time\":1,"
        "\"request\":{\"method\":\"POST\",\"url\":\"http://h/upload\",\"bodySize\":120,"
        "\"postData\":{\"mimeType\":\"multipart/form-data\",\"params\":[{\"name\":\"f\"}]}},"
        "\"response\":{\"status\":200,\"content\":{\"size\":5000.0,\"mimeType\":\"x\"}}},"
        "{\"startedDateTime\":\"2024-01-01T00:00:01Z\",\"time\":1,\"request\":{\"method\":"
        "\"GET\",\"url\":\"wss://h/socket\"},\"response\":{\"status\":101}}]}}";
    char *har = path_copy("m.har"), *out;
    struct run_result res;
    struct trace_reader *r;
    const struct trace_tx *tx;
    struct error err;

    test_write_file(har, text, strlen(text));
    out = import_ok(har, "m.jsonl", &res);
    cr_assert(strstr(res.err, "note    2 body_missing"), "%s", res.err);
    test_run_free(&res);
    error_init(&err);
    cr_assert_eq(trace_reader_open(&r, out, 0, &err), 0, "%s", err.message);
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    cr_assert_eq(tx->request.body_len, 0);
    cr_assert_eq(tx->request.body_size, 120);
    cr_assert_eq(tx->response.body_size, 5000);
    cr_assert_eq(trace_reader_next(r, &tx, &err), 1, "%s", err.message);
    cr_assert(tx->flags & TX_FLAG(TX_UPGRADE));
    expect_header(&tx->request, 0, "Host", "h");
    cr_assert_str_eq(tx->request.target, "/socket");
    trace_reader_close(r);
    free(out);
    free(har);
}

Test(har, gzip_input_and_standard_input_are_read)
{
    char cmd[4096];
    char *out = path_copy("s.jsonl");
    struct run_result res;

    snprintf(cmd, sizeof cmd, "gzip -c '%s' | '%s' trace import-har - -o '%s'",
             test_repo_path("fixtures/har/browser-session.har"), test_rehearse_bin(), out);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    test_run(&res, argv, 30);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    expect_show(out, "fixtures/har/browser-session.tsv");
    free(out);
}

struct bad_case {
    const char *har;
    const char *needle;
};

Test(har, bad_har_files_are_located_and_leave_no_output)
{
    static const struct bad_case cases[] = {
        {"", "bad.har:1:1: the HAR document: expected an object, found the end of the file"},
        {"<html><body>not json</body></html>",
         "bad.har:1:1: the HAR document: expected an object, found '<'"},
        {"{\"log\": {\"entries\": [\n  {\"startedDateTime\": }\n]}}",
         "bad.har:2:23: invalid JSON: unexpected token near '}'"},
        {"{\"log\": {\"entries\": [{}]", "bad.har:1:"},
        {"{\"log\": {\"entries\": []}} trailing", "bad.har:1:26: found 't' after the end of the JSON document"},
        {"{\"other\": 1}", "bad.har: log: missing"},
        {"{\"log\": {\"entries\": [], \"entries\": []}}",
         "bad.har:1:35: log.entries: appears twice"},
        {"{\"log\": {\"version\": \"1.2\"}}", "bad.har: log.entries: missing"},
        {"{\"log\": {\"entries\": {}}}", "log.entries: expected an array, found an object"},
        {"{\"log\": {\"entries\": [7]}}", "bad.har:1:22: log.entries[0]: expected an entry"},
        {"{\"log\": {\"entries\": [\n{\"startedDateTime\": \"2024-01-01T00:00:00Z\", "
         "\"request\": {\"method\": \"GET\"}, \"response\": {\"status\": 200}}]}}",
         /* located at the request object that lacks it */
         "bad.har:2:56: log.entries[0].request.url: missing; expected a string"},
        {"{\"log\": {\"entries\": [{\"startedDateTime\": \"2024-01-01T00:00:00Z\", "
         "\"request\": {\"method\": \"GET\", \"url\": \"http://a/\"}, \"response\": "
         "{\"status\": 200}},\n {\"startedDateTime\": \"2024-01-01T00:00:00Z\", "
         "\"request\": {\"method\": \"GET\", \"url\": \"http://a/\"}, \"response\": "
         "{\"status\": \"200\"}}]}}",
         /* located at the offending value */
         "bad.har:2:119: log.entries[1].response.status: expected an integer, found a string"},
        {"{\"log\": {\"entries\": [{\"startedDateTime\": \"2024-01-01\", \"request\": "
         "{\"method\": \"GET\", \"url\": \"http://a/\"}, \"response\": {\"status\": 200}}]}}",
         "log.entries[0].startedDateTime: expected an ISO 8601 date-time"},
        {"{\"log\": {\"entries\": [\n"
         "  {\n"
         "    \"startedDateTime\": \"2024-01-01T00:00:00Z\",\n"
         "    \"request\": {\n"
         "      \"method\": \"GET\", \"url\": \"http://a/\",\n"
         "      \"headers\": [{\"name\": \"A\", \"value\": \"b\"},\n"
         "                  {\"name\": \"C\", \"value\": 7}]\n"
         "    },\n"
         "    \"response\": {\"status\": 200}\n"
         "  }\n"
         "]}}\n",
         "bad.har:7:42: log.entries[0].request.headers[1].value: expected a string, found an "
         "integer"},
        {"{\"log\": {\"entries\": [{\"startedDateTime\": \"2024-01-01T00:00:00Z\", \"request\": "
         "{\"method\": \"GET\", \"url\": \"http://a/\", \"headers\": [[\"A\", \"b\"]]}, "
         "\"response\": {\"status\": 200}}]}}",
         "log.entries[0].request.headers[0]: expected {\"name\": ..., \"value\": ...}, found an "
         "array"},
        {"{\"log\": {\"entries\": [{\"startedDateTime\": \"2024-01-01T00:00:00Z\", \"request\": "
         "{\"method\": \"GET\", \"url\": \"http://a/\"}, \"response\": {\"status\": 200, "
         "\"content\": {\"text\": \"@@@\", \"encoding\": \"base64\"}}}]}}",
         "log.entries[0].response.content.text: invalid base64 at character"},
        {"{\"log\": {\"entries\": [{\"startedDateTime\": \"2024-01-01T00:00:00Z\", \"request\": "
         "{\"method\": \"GET\", \"url\": \"http://a/\"}, \"response\": {\"status\": 200}, "
         "\"timings\": {\"send\": \"fast\"}}]}}",
         "log.entries[0].timings.send: expected a number, found a string"},
    };
    const char *har = test_path(dir, "bad.har");
    char *out = path_copy("out.jsonl"), partial[4200];

    snprintf(partial, sizeof partial, "%s.partial", out);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run_result res;
        test_write_file(har, cases[i].har, strlen(cases[i].har));
        test_rehearse(&res, 30, "trace", "import-har", har, "-o", out, NULL);
        cr_assert_eq(res.exit_code, 2, "case %zu: exit %d: %s", i, res.exit_code, res.err);
        cr_assert(strstr(res.err, cases[i].needle), "case %zu: '%s' lacks '%s'", i, res.err,
                  cases[i].needle);
        cr_assert(access(out, F_OK) != 0 && access(partial, F_OK) != 0,
                  "case %zu left output behind", i);
        test_run_free(&res);
    }
    free(out);
}

Test(har, an_entry_over_the_size_cap_is_refused_with_its_position)
{
    struct run_result res;
    char *out = path_copy("cap.jsonl");

    test_rehearse(&res, 30, "trace", "import-har",
                  test_repo_path("fixtures/har/browser-session.har"), "-o", out,
                  "--max-entry-size", "2k", NULL);
    cr_assert_eq(res.exit_code, 2, "%s", res.err);
    cr_assert(strstr(res.err, "browser-session.har:20:7: log.entries[0]: larger than the limit "
                              "of 2048 bytes of JSON per entry; raise --max-entry-size"),
              "%s", res.err);
    cr_assert(access(out, F_OK) != 0);
    test_run_free(&res);
    test_rehearse(&res, 30, "trace", "import-har", "x.har", "-o", out, "--max-entry-size", "2G",
                  NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "--max-entry-size: expected 64 bytes to 1G"), "%s", res.err);
    test_run_free(&res);
    free(out);
}

Test(har, export_fails_cleanly_on_a_bad_trace_or_an_unwritable_place)
{
    const char *trace = test_path(dir, "bad.jsonl");
    const char *text = "{\"format\":\"rehearse-trace\",\"version\":1}\n"
                       "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\","
                       "\"target\":\"/\"}}\n{\"type\":\"tx\",\"id\":2,\n";
    char *out = path_copy("bad.har"), partial[4200];
    struct run_result res;

    snprintf(partial, sizeof partial, "%s.partial", out);
    test_write_file(trace, text, strlen(text));
    test_rehearse(&res, 30, "trace", "export-har", trace, "-o", out, NULL);
    cr_assert_eq(res.exit_code, 2, "%s", res.err);
    cr_assert(strstr(res.err, "bad.jsonl:3:"), "%s", res.err);
    cr_assert(access(out, F_OK) != 0 && access(partial, F_OK) != 0);
    test_run_free(&res);

    test_rehearse(&res, 30, "trace", "export-har",
                  test_repo_path("fixtures/har/crafted.jsonl"), "-o",
                  test_path(dir, "no/such/dir/x.har"), NULL);
    cr_assert_eq(res.exit_code, 3, "%s", res.err);
    test_run_free(&res);

    test_rehearse(&res, 30, "trace", "export-har", trace, NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "-o FILE.har is required"), "%s", res.err);
    test_run_free(&res);
    free(out);
}
