/* The results format: records round-trip exactly; bad files give located errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "results.h"
#include "testutil.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(results, .init = setup, .fini = teardown, .timeout = 30);

static struct http_header json_ct[] = {{"Content-Type", 12, "application/json", 16}};

static void fill_header(struct results_header *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->trace, sizeof h->trace, "demo.jsonl");
    h->started_us = 1700000000000000;
    h->target_count = 2;
    strcpy(h->targets[0].name, "old");
    strcpy(h->targets[0].url, "http://127.0.0.1:8081");
    strcpy(h->targets[1].name, "new");
    strcpy(h->targets[1].url, "http://127.0.0.1:8082");
    h->options_json = "{\"speed\":\"max\"}";
}

Test(results, records_round_trip_with_responses_errors_and_omitted_bodies)
{
    struct results_header h;
    struct results_writer *w;
    struct results_reader *r;
    struct result_target t[2];
    struct result_record rec;
    const struct result_record *got;
    struct error err;
    const char *path = test_path(dir, "r.jsonl");

    fill_header(&h);
    memset(t, 0, sizeof t);
    t[0].has_response = true;
    t[0].response = (struct http_message){.status = 200, .reason = "OK", .version_major = 1,
                                          .version_minor = 1, .headers = json_ct,
                                          .header_count = 1,
                                          .body = (const unsigned char *)"{\"a\":1}",
                                          .body_len = 7, .body_size = 7};
    t[0].scheduled_us = 10;
    t[0].sent_us = 11;
    t[0].connect_us = 50;
    t[0].first_byte_us = 300;
    t[0].total_us = 320;
    t[1].error = RESULT_ERROR_TIMEOUT;
    t[1].curl_code = 28;
    t[1].error_message = "Operation timed out after 5000 milliseconds";
    t[1].scheduled_us = 10;
    t[1].sent_us = 12;
    t[1].connect_us = t[1].first_byte_us = RESULTS_TIME_NONE;
    t[1].total_us = 5000000;
    memset(&rec, 0, sizeof rec);
    rec.tx = 42;
    rec.conn = 3;
    rec.method = "GET";
    rec.target = "/users/7";
    rec.host = "api";
    rec.has_captured = true;
    rec.captured = t[0].response;
    rec.captured_flags = TX_FLAG(TX_RESYNC);
    rec.target_count = 2;
    rec.targets = t;

    error_init(&err);
    cr_assert_eq(results_writer_open(&w, path, &h, &err), 0, "%s", err.message);
    cr_assert_eq(results_writer_write(w, &rec, &err), 0, "%s", err.message);
    /* second record: big body omitted, only hash and size kept */
    t[1] = t[0];
    t[1].response.body = (const unsigned char *)"";
    t[1].response.body_len = 0;
    t[1].response.body_size = 5000000;
    t[1].body_omitted = true;
    memset(t[1].body_sha256, 'a', 64);
    rec.tx = 43;
    rec.has_captured = false;
    rec.captured_flags = 0;
    cr_assert_eq(results_writer_write(w, &rec, &err), 0, "%s", err.message);
    cr_assert_eq(results_writer_write_summary(w, "{\"replayed\":2}", &err), 0);
    cr_assert_eq(results_writer_close(w, &err), 0, "%s", err.message);

    cr_assert_eq(results_reader_open(&r, path, 0, &err), 0, "%s", err.message);
    cr_assert_eq(results_reader_header(r)->target_count, 2);
    cr_assert_str_eq(results_reader_header(r)->targets[1].url, "http://127.0.0.1:8082");
    cr_assert_str_eq(json_string_value(json_object_get(results_reader_options(r), "speed")),
                     "max");

    cr_assert_eq(results_reader_next(r, &got, &err), 1, "%s", err.message);
    cr_assert_eq(got->tx, 42);
    cr_assert_str_eq(got->target, "/users/7");
    cr_assert_str_eq(got->host, "api");
    cr_assert(got->has_captured);
    cr_assert_eq(got->captured.status, 200);
    cr_assert_eq(got->captured_flags, TX_FLAG(TX_RESYNC));
    cr_assert(got->targets[0].has_response);
    cr_assert_eq(got->targets[0].response.body_len, 7);
    cr_assert(memcmp(got->targets[0].response.body, "{\"a\":1}", 7) == 0);
    cr_assert_eq(got->targets[0].first_byte_us, 300);
    cr_assert_not(got->targets[1].has_response);
    cr_assert_eq(got->targets[1].error, RESULT_ERROR_TIMEOUT);
    cr_assert_eq(got->targets[1].curl_code, 28);
    cr_assert_eq(got->targets[1].connect_us, RESULTS_TIME_NONE);
    cr_assert_str_eq(got->targets[1].error_message,
                     "Operation timed out after 5000 milliseconds");

    cr_assert_eq(results_reader_next(r, &got, &err), 1, "%s", err.message);
    cr_assert_eq(got->tx, 43);
    cr_assert_not(got->has_captured);
    cr_assert(got->targets[1].body_omitted);
    cr_assert_eq(got->targets[1].response.body_size, 5000000);
    cr_assert_eq(strlen(got->targets[1].body_sha256), 64);

    cr_assert_eq(results_reader_next(r, &got, &err), 0);
    cr_assert_not_null(results_reader_summary(r));
    results_reader_close(r);
}

static void expect_error(const char *content, const char *needle)
{
    struct results_reader *r = NULL;
    const struct result_record *rec;
    struct error err;
    const char *path = test_path(dir, "bad.jsonl");
    int rc;

    test_write_file(path, content, strlen(content));
    error_init(&err);
    rc = results_reader_open(&r, path, 0, &err);
    if (rc == 0) {
        rc = results_reader_next(r, &rec, &err);
        results_reader_close(r);
    }
    cr_assert_lt(rc, 0, "expected an error for: %s", content);
    cr_assert(strstr(err.message, needle), "message '%s' lacks '%s'", err.message, needle);
}

Test(results, bad_files_give_located_errors)
{
    const char *hdr = "{\"format\":\"rehearse-results\",\"version\":1,"
                      "\"targets\":[{\"name\":\"old\",\"url\":\"u\"}]}\n";
    char buf[1024];
    expect_error("{\"format\":\"rehearse-trace\",\"version\":1}\n", "not a rehearse results");
    expect_error("{\"format\":\"rehearse-results\",\"version\":1,\"targets\":[]}\n",
                 "\"targets\"");
    snprintf(buf, sizeof buf, "%s{\"type\":\"result\",\"tx\":1,\"request\":{\"method\":\"GET\","
             "\"target\":\"/\"},\"targets\":{}}\n", hdr);
    expect_error(buf, "bad.jsonl:2: targets.old: missing");
    snprintf(buf, sizeof buf, "%s{\"type\":\"result\",\"tx\":1,\"request\":{\"method\":\"GET\","
             "\"target\":\"/\"},\"targets\":{\"old\":{\"status\":\"200\"}}}\n", hdr);
    expect_error(buf, "targets.old.status");
    snprintf(buf, sizeof buf, "%s{\"type\":\"result\",\"tx\":1,\"request\":{\"method\":\"GET\","
             "\"target\":\"/\"},\"targets\":{\"old\":{\"scheduled_us\":1}}}\n", hdr);
    expect_error(buf, "neither a response");
    snprintf(buf, sizeof buf, "%s{\"type\":\"result\",\"tx\":1,", hdr);
    expect_error(buf, "bad.jsonl:2:");
}
