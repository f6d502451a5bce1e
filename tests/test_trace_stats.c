/* `rehearse trace stats`: counts on a trace crafted with trace_writer,
 * checked exactly in both formats; caps, hostile text, bad input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "trace_writer.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(trace_stats, .init = setup, .fini = teardown, .timeout = 30);

#define T0 1700000000000000LL

struct spec {
    uint64_t conn;
    const char *method, *target;
    int status; /* 0: no response */
    int64_t start_ms, end_ms;
    uint32_t flags;
};

static const struct spec crafted[] = {
    {1, "GET", "/users/1", 200, 0, 10, 0},
    {1, "GET", "/users/2", 200, 20, 30, 0},
    {1, "GET", "/users/2?x=1", 404, 40, 45, 0},
    {2, "POST", "/orders", 201, 100, 180, 0},
    {2, "GET", "/orders/0123456789abcdef0123", 200, 200, 230, 0},
    {3, "DELETE", "/items/3fa85f64-5717-4562-b3fc-2c963f66afa6", 0, 500, 0, 0},
    {4, "GET", "/health", 503, 1000, 1010, TX_FLAG(TX_PIPELINED)},
    {4, "GET", "/static/app.js", 200, 1005, 2000, TX_FLAG(TX_PIPELINED) | TX_FLAG(TX_RESYNC)},
};

static const char *summary =
    "{\"packets\":120,\"bytes\":54321,\"flows\":4,\"transactions\":8,\"skipped\":{"
    "\"not_tcp\":{\"count\":3,\"description\":\"packets that were not TCP\"},"
    "\"snaplen\":{\"count\":1,\"description\":\"packets cut by the snaplen\"},"
    "\"gap\":{\"count\":3,\"bytes\":1460,\"description\":\"bytes lost in a TCP gap\"}}}";

static const char *write_trace(const char *name, const struct spec *specs, size_t n,
                               const char *summary_json)
{
    static struct http_header host = {"Host", 4, "api", 3};
    struct trace_header h = {.source_kind = "file", .source = "x.pcap", .linktype = "EN10MB",
                             .capture_start_us = T0, .created_by = "test"};
    struct trace_writer *w;
    struct error err;
    const char *path = test_path(dir, name);

    error_init(&err);
    cr_assert_eq(trace_writer_open(&w, path, &h, &err), 0, "%s", err.message);
    for (size_t i = 0; i < n; i++) {
        struct trace_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.id = i + 1;
        tx.conn = specs[i].conn;
        tx.req_start_us = T0 + specs[i].start_ms * 1000;
        tx.req_end_us = tx.req_start_us + 100;
        tx.request.method = specs[i].method;
        tx.request.target = specs[i].target;
        tx.request.version_major = tx.request.version_minor = 1;
        tx.request.headers = &host;
        tx.request.header_count = 1;
        tx.has_response = specs[i].status != 0;
        tx.resp_start_us = tx.resp_end_us = TRACE_TIME_NONE;
        if (tx.has_response) {
            tx.response.status = specs[i].status;
            tx.response.reason = "";
            tx.response.version_major = tx.response.version_minor = 1;
            tx.resp_start_us = tx.req_end_us + 50;
            tx.resp_end_us = T0 + specs[i].end_ms * 1000;
        }
        tx.flags = specs[i].flags | (tx.has_response ? 0 : TX_FLAG(TX_NO_RESPONSE));
        cr_assert_eq(trace_writer_write(w, &tx, &err), 0, "%s", err.message);
    }
    if (summary_json)
        cr_assert_eq(trace_writer_write_summary(w, summary_json, &err), 0, "%s", err.message);
    cr_assert_eq(trace_writer_close(w, &err), 0, "%s", err.message);
    return path;
}

#define CRAFTED_COUNT (sizeof crafted / sizeof crafted[0])

Test(trace_stats, text_report_counts_everything_in_a_fixed_order)
{
    char path[1024], expected[8192];
    struct run_result res;

    snprintf(path, sizeof path, "%s", write_trace("t.jsonl", crafted, CRAFTED_COUNT, summary));
    snprintf(expected, sizeof expected,
             "trace         %s\n"
             "source        file x.pcap (EN10MB), written by test\n"
             "transactions  8 (7 with a response, 1 without)\n"
             "duration      2.000000 s (first request start to last response end)\n"
             "rate          4.00 transactions/s\n"
             "connections   4; requests per connection: min 1, median 2, max 3\n"
             "\n"
             "methods\n"
             "  6  GET\n"
             "  1  DELETE\n"
             "  1  POST\n"
             "\n"
             "statuses\n"
             "  4  200\n"
             "  1  201\n"
             "  1  404\n"
             "  1  503\n"
             "  1  (no response)\n"
             "\n"
             "status classes\n"
             "  5  2xx\n"
             "  1  4xx\n"
             "  1  5xx\n"
             "  1  (no response)\n"
             "\n"
             "endpoints (method and path; numeric, UUID and long hex segments as {id}, query "
             "dropped; up to 1000 tracked)\n"
             "  3  GET /users/{id}\n"
             "  1  DELETE /items/{id}\n"
             "  1  GET /health\n"
             "  1  GET /orders/{id}\n"
             "  1  GET /static/app.js\n"
             "  1  POST /orders\n"
             "\n"
             "flags\n"
             "  2  pipelined    the request was sent before the previous response\n"
             "  1  no_response  no response was captured for the request\n"
             "  1  resync       the connection's start was not captured; parsing "
             "resynchronised here\n"
             "\n"
             "summary (recorded by the program that wrote the trace)\n"
             "  packets       120\n"
             "  bytes         54321\n"
             "  flows         4\n"
             "  transactions  8\n"
             "\n"
             "skipped\n"
             "  3  gap      bytes lost in a TCP gap (1460 bytes)\n"
             "  3  not_tcp  packets that were not TCP\n"
             "  1  snaplen  packets cut by the snaplen\n",
             path);
    test_rehearse(&res, 10, "trace", "stats", path, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert_str_eq(res.out, expected);
    cr_assert_str_eq(res.err, "");
    test_run_free(&res);
}

Test(trace_stats, json_report_holds_the_same_figures)
{
    char path[1024], expected[8192];
    struct run_result res;

    snprintf(path, sizeof path, "%s", write_trace("t.jsonl", crafted, CRAFTED_COUNT, summary));
    snprintf(expected, sizeof expected,
             "{\"trace\":\"%s\",\"source\":{\"kind\":\"file\",\"name\":\"x.pcap\","
             "\"linktype\":\"EN10MB\",\"created_by\":\"test\"},\"transactions\":8,"
             "\"without_response\":1,\"first_us\":1700000000000000,\"last_us\":1700000002000000,"
             "\"duration_us\":2000000,\"rate_per_s\":4,"
             "\"methods\":[{\"method\":\"GET\",\"count\":6},{\"method\":\"DELETE\",\"count\":1},"
             "{\"method\":\"POST\",\"count\":1}],\"methods_other\":0,"
             "\"statuses\":[{\"status\":200,\"count\":4},{\"status\":201,\"count\":1},"
             "{\"status\":404,\"count\":1},{\"status\":503,\"count\":1}],\"statuses_other\":0,"
             "\"status_classes\":{\"1xx\":0,\"2xx\":5,\"3xx\":0,\"4xx\":1,\"5xx\":1,\"other\":0},"
             "\"endpoints\":{\"max\":1000,\"tracked\":6,\"other\":0,\"items\":["
             "{\"method\":\"GET\",\"path\":\"/users/{id}\",\"count\":3},"
             "{\"method\":\"DELETE\",\"path\":\"/items/{id}\",\"count\":1},"
             "{\"method\":\"GET\",\"path\":\"/health\",\"count\":1},"
             "{\"method\":\"GET\",\"path\":\"/orders/{id}\",\"count\":1},"
             "{\"method\":\"GET\",\"path\":\"/static/app.js\",\"count\":1},"
             "{\"method\":\"POST\",\"path\":\"/orders\",\"count\":1}]},"
             "\"connections\":{\"count\":4,\"max\":1000000,\"untracked_transactions\":0,"
             "\"requests_min\":1,\"requests_median\":2,\"requests_max\":3},"
             "\"flags\":[{\"flag\":\"pipelined\",\"count\":2,\"description\":\"the request was "
             "sent before the previous response\"},{\"flag\":\"no_response\",\"count\":1,"
             "\"description\":\"no response was captured for the request\"},{\"flag\":\"resync\","
             "\"count\":1,\"description\":\"the connection's start was not captured; parsing "
             "resynchronised here\"}],"
             "\"summary\":{\"counters\":{\"packets\":120,\"bytes\":54321,\"flows\":4,"
             "\"transactions\":8},\"skipped\":[{\"reason\":\"gap\",\"count\":3,\"bytes\":1460,\"description\":"
             "\"bytes lost in a TCP gap\"},{\"reason\":\"not_tcp\",\"count\":3,\"description\":"
             "\"packets that were not TCP\"},{\"reason\":\"snaplen\",\"count\":1,\"description\":"
             "\"packets cut by the snaplen\"}],\"notes\":[]}}\n",
             path);
    test_rehearse(&res, 10, "trace", "stats", path, "--format", "json", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert_str_eq(res.out, expected);
    test_run_free(&res);
}

Test(trace_stats, capped_tables_count_the_rest_and_say_so)
{
    const char *path = write_trace("t.jsonl", crafted, CRAFTED_COUNT, summary);
    struct run_result res;

    test_rehearse(&res, 10, "trace", "stats", path, "--max-endpoints", "2",
                  "--max-connections", "2", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    /* First come, first tracked: the first two distinct endpoints and
     * connections; the other transactions are counted, not dropped. */
    cr_assert(strstr(res.out,
                     "connections   2; requests per connection: min 2, median 2.5, max 3\n"
                     "              3 transactions on connections beyond the first 2 tracked "
                     "(raise --max-connections)\n"),
              "%s", res.out);
    cr_assert(strstr(res.out,
                     "up to 2 tracked)\n"
                     "  3  GET /users/{id}\n"
                     "  1  POST /orders\n"
                     "  4  (other: beyond the first 2 distinct values tracked)\n"),
              "%s", res.out);
    test_run_free(&res);
}

Test(trace_stats, hostile_text_is_escaped_and_a_missing_summary_is_said)
{
    static const struct spec evil[] = {
        {1, "GE\x1bT", "/a/\x1b[31mred\xc2\x85/\xe2\x80\xae", 200, 0, 1, 0},
    };
    const char *path = write_trace("evil.jsonl", evil, 1, NULL);
    struct run_result res;

    test_rehearse(&res, 10, "trace", "stats", path, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.out, "  1  GE\\x1bT /a/\\x1b[31mred\\u{0085}/\\u{202e}\n"), "%s", res.out);
    cr_assert_null(strstr(res.out, "\x1b"));
    cr_assert(strstr(res.out, "summary\n  (none: the trace has no summary line"), "%s", res.out);
    test_run_free(&res);
}

Test(trace_stats, an_empty_trace_reports_zero_without_dividing_by_it)
{
    const char *path = write_trace("empty.jsonl", crafted, 0, NULL);
    struct run_result res;

    test_rehearse(&res, 10, "trace", "stats", path, NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.out, "transactions  0 (0 with a response, 0 without)\n"
                              "duration      (no timestamps)\n"
                              "connections   0\n"), "%s", res.out);
    test_run_free(&res);
    test_rehearse(&res, 10, "trace", "stats", path, "--format", "json", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.out, "\"rate_per_s\":null"), "%s", res.out);
    test_run_free(&res);
}

Test(trace_stats, bad_input_is_located_and_exits_2)
{
    struct run_result res;
    const char *path = test_path(dir, "bad.jsonl");
    const char *bad = "{\"format\":\"rehearse-trace\",\"version\":1}\n"
                      "{\"type\":\"tx\",\"id\":1,\"conn\":1,\"request\":{\"method\":\"GET\","
                      "\"target\":\"/\"}}\n"
                      "{\"type\":\"tx\",\"id\":2,\"conn\":1,\"request\":{\"method\":\"GET\"}}\n";

    test_write_file(path, bad, strlen(bad));
    test_rehearse(&res, 10, "trace", "stats", path, NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "bad.jsonl:3: request.target: missing"), "%s", res.err);
    cr_assert_str_eq(res.out, "");
    test_run_free(&res);

    path = write_trace("badsum.jsonl", crafted, 1,
                       "{\"skipped\":{\"gap\":{\"count\":\"three\"}}}");
    test_rehearse(&res, 10, "trace", "stats", path, NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "summary line: \"skipped\".\"gap\": expected {\"count\": N"),
              "%s", res.err);
    test_run_free(&res);

    test_rehearse(&res, 10, "trace", "stats", test_path(dir, "nope.jsonl"), NULL);
    cr_assert_eq(res.exit_code, 2);
    test_run_free(&res);

    test_rehearse(&res, 10, "trace", "stats", path, "--format", "xml", NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "--format: expected text or json"), "%s", res.err);
    test_run_free(&res);
}
