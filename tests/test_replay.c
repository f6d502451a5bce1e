/*
 * `rehearse replay` end to end: traces written with trace_writer, the real
 * binary, real sockets, and http_recorder fixture servers that write down
 * what they received (their view is what the assertions check).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "fixture_server.h"
#include "runutil.h"
#include "results.h"
#include "selection.h"
#include "sha256.h"
#include "testutil.h"
#include "trace_writer.h"

static char *dir;
static void setup(void)
{
    dir = test_tmpdir();
}
static void teardown(void)
{
    fixture_server_stop_all();
    test_tmpdir_remove(dir);
}
TestSuite(replay, .init = setup, .fini = teardown, .timeout = 90);

#define T0 1700000000000000LL /* capture start, µs */

/* test_path() rotates a few buffers; keep a path for the whole test */
static const char *keep(const char *path)
{
    static char kept[32][512];
    static int next;
    char *out = kept[next++ % 32];
    snprintf(out, sizeof kept[0], "%s", path);
    return out;
}

/* ------------------------------------------------------------ traces */

struct tx_def {
    uint64_t conn;
    int64_t at_ms;        /* capture time after T0 */
    const char *method;
    const char *target;
    const char *headers;  /* "Name: value\n..." ("Name:" for an empty value) */
    const char *body;
    unsigned minor;       /* HTTP/1.minor; 1 unless set to 0 via http10 */
    bool http10;
    const char *trailers;
};

/* Parse "Name: value" lines into an array (names and values point into
 * `copy`, which the caller frees). */
static size_t parse_headers(const char *text, char **copy, struct http_header *out, size_t max)
{
    size_t n = 0;
    char *p;
    *copy = strdup(text ? text : "");
    p = *copy;
    while (*p && n < max) {
        char *eol = strchr(p, '\n'), *colon;
        if (eol)
            *eol = '\0';
        colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            out[n].name = p;
            out[n].name_len = strlen(p);
            out[n].value = colon + 1 + (colon[1] == ' ');
            out[n].value_len = strlen(out[n].value);
            n++;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return n;
}

static void write_trace(const char *path, const struct tx_def *defs, size_t count)
{
    struct trace_header h = {0};
    struct trace_writer *w;
    struct error err;
    error_init(&err);
    snprintf(h.source_kind, sizeof h.source_kind, "file");
    snprintf(h.source, sizeof h.source, "test");
    h.capture_start_us = T0;
    cr_assert_eq(trace_writer_open(&w, path, &h, &err), 0, "%s", err.message);
    for (size_t i = 0; i < count; i++) {
        const struct tx_def *d = &defs[i];
        struct http_header hs[32], ts[8];
        struct http_header resp_h[] = {{"Content-Type", 12, "text/plain", 10}};
        char *hcopy, *tcopy;
        struct trace_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.id = i + 1;
        tx.conn = d->conn;
        snprintf(tx.client, sizeof tx.client, "10.0.0.1:%llu",
                 (unsigned long long)(20000 + d->conn));
        snprintf(tx.server, sizeof tx.server, "10.0.0.2:80");
        tx.req_start_us = tx.req_end_us = T0 + d->at_ms * 1000;
        tx.resp_start_us = tx.resp_end_us = tx.req_start_us + 500;
        tx.request.method = d->method ? d->method : "GET";
        tx.request.target = d->target;
        tx.request.version_major = 1;
        tx.request.version_minor = d->http10 ? 0 : 1;
        tx.request.headers = hs;
        tx.request.header_count = parse_headers(d->headers, &hcopy, hs, 32);
        tx.request.trailers = ts;
        tx.request.trailer_count = parse_headers(d->trailers, &tcopy, ts, 8);
        tx.request.body = (const unsigned char *)(d->body ? d->body : "");
        tx.request.body_len = tx.request.body_size = d->body ? strlen(d->body) : 0;
        tx.has_response = true;
        tx.response = (struct http_message){.status = 200, .reason = "OK", .version_major = 1,
                                            .version_minor = 1, .headers = resp_h,
                                            .header_count = 1,
                                            .body = (const unsigned char *)"captured",
                                            .body_len = 8, .body_size = 8};
        cr_assert_eq(trace_writer_write(w, &tx, &err), 0, "%s", err.message);
        free(hcopy);
        free(tcopy);
    }
    cr_assert_eq(trace_writer_close(w, &err), 0, "%s", err.message);
}

/* n connections with k GET requests each, interleaved, `gap_ms` apart;
 * request r of connection c has target /c<c>/r<r>. */
static const char *simple_trace(const char *name, unsigned conns, unsigned per_conn,
                                int64_t gap_ms)
{
    size_t n = (size_t)conns * per_conn, i = 0;
    struct tx_def *defs = calloc(n, sizeof *defs);
    char (*targets)[32] = calloc(n, sizeof *targets);
    static char paths[4][512];
    static int next_path;
    char *path = paths[next_path++ % 4];
    snprintf(path, sizeof paths[0], "%s", test_path(dir, name));
    for (unsigned r = 0; r < per_conn; r++) {
        for (unsigned c = 1; c <= conns; c++, i++) {
            snprintf(targets[i], sizeof targets[i], "/c%u/r%u", c, r);
            defs[i] = (struct tx_def){.conn = c, .at_ms = (int64_t)i * gap_ms,
                                      .target = targets[i], .headers = "Host: api.example"};
        }
    }
    write_trace(path, defs, n);
    free(defs);
    free(targets);
    return path;
}

/* ------------------------------------------------------------ logs */

/* The recorder's log as an array of objects, in arrival order. */
static json_t *read_log(const char *path)
{
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    cr_assert_not_null(f, "no recorder log %s", path);
    while (getline(&line, &cap, f) > 0) {
        json_error_t e;
        json_t *v = json_loads(line, 0, &e);
        cr_assert_not_null(v, "bad log line: %s", line);
        json_array_append_new(all, v);
    }
    free(line);
    fclose(f);
    return all;
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* A recorder started with --log DIR/NAME.jsonl plus extra arguments. */
static void start_recorder(struct fixture_server *s, const char *log_name, const char *a1,
                           const char *a2, const char *a3, const char *a4)
{
    const char *args[] = {"--log", test_path(dir, log_name), a1, a2, a3, a4, NULL};
    cr_assert_eq(fixture_server_start(s, "http_recorder", args), 0,
                 "cannot start http_recorder (build/fixtures/http_recorder)");
}

static char *target_arg(const char *name, const struct fixture_server *s)
{
    static char bufs[4][96];
    static int next;
    char *out = bufs[next++ % 4];
    snprintf(out, 96, "%s=%s", name, s->url);
    return out;
}

/* Results file rows, for assertions. */
struct row {
    uint64_t tx, conn;
    int status[4];
    enum result_error error[4];
    char message[4][256];
    char body[4][128];
    bool omitted[4];
    uint64_t body_size[4];
    char sha[4][65];
    int64_t scheduled[4], sent[4], total[4];
};

static size_t read_results(const char *path, struct row *rows, size_t max, json_t **summary)
{
    struct results_reader *r;
    const struct result_record *rec;
    struct error err;
    size_t n = 0;
    int rc;
    error_init(&err);
    cr_assert_eq(results_reader_open(&r, path, 0, &err), 0, "%s", err.message);
    while ((rc = results_reader_next(r, &rec, &err)) > 0) {
        cr_assert_lt(n, max);
        struct row *w = &rows[n++];
        memset(w, 0, sizeof *w);
        w->tx = rec->tx;
        w->conn = rec->conn;
        for (size_t t = 0; t < rec->target_count && t < 4; t++) {
            const struct result_target *rt = &rec->targets[t];
            w->status[t] = rt->has_response ? rt->response.status : 0;
            w->error[t] = rt->error;
            snprintf(w->message[t], sizeof w->message[t], "%s",
                     rt->error_message ? rt->error_message : "");
            snprintf(w->body[t], sizeof w->body[t], "%.*s", (int)rt->response.body_len,
                     rt->response.body ? (const char *)rt->response.body : "");
            w->omitted[t] = rt->body_omitted;
            w->body_size[t] = rt->response.body_size;
            memcpy(w->sha[t], rt->body_sha256, 65);
            w->scheduled[t] = rt->scheduled_us;
            w->sent[t] = rt->sent_us;
            w->total[t] = rt->total_us;
        }
    }
    cr_assert_eq(rc, 0, "%s", err.message);
    if (summary) {
        json_t *s = results_reader_summary(r);
        *summary = s ? json_deep_copy(s) : NULL;
    }
    results_reader_close(r);
    return n;
}

static const struct row *find_row(const struct row *rows, size_t n, uint64_t tx)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].tx == tx)
            return &rows[i];
    return NULL;
}

/* ------------------------------------------------------------ tests */

Test(replay, what_a_target_receives_is_byte_equal_to_the_capture_except_host)
{
    static const struct tx_def defs[] = {
        /* header order, case and duplicates, a lowercase host not first */
        {1, 0, "GET", "/a%20b;p?x=1&&y=%41",
         "User-Agent: ua/1\nhost: api.example\nX-Dup: 1\nx-dup: 2\nAccept-Encoding: gzip\n"
         "X-Empty:",
         NULL, 1, false, NULL},
        /* a body with Content-Length, an unusual method */
        {1, 10, "PATCH", "/items/7", "Host: api.example\nContent-Length: 13\nContent-Type: text/x",
         "{\"name\":\"a\"}\n", 1, false, NULL},
        /* HEAD, then an empty POST with Content-Length: 0 */
        {2, 20, "HEAD", "/h", "Host: api.example", NULL, 1, false, NULL},
        {2, 30, "POST", "/empty", "Host: api.example\nContent-Length: 0", "", 1, false, NULL},
        /* OPTIONS *, and HTTP/1.0 without Host */
        {3, 40, "OPTIONS", "*", "Host: api.example", NULL, 1, false, NULL},
        {4, 50, "GET", "/old", "Accept: */*", NULL, 0, true, NULL},
        /* chunked, with a trailer: re-chunked, same bytes, same trailer */
        {5, 60, "PUT", "/upload",
         "Host: api.example\nTransfer-Encoding: chunked\nTrailer: X-Sum", "0123456789abcdef",
         1, false, "X-Sum: 42"},
        /* a POST body bigger than libcurl's Expect: 100-continue threshold */
        {6, 70, "POST", "/big", "Host: api.example\nContent-Length: 1100000", NULL, 1, false,
         NULL},
    };
    struct tx_def d[8];
    struct fixture_server rec;
    struct run_result res;
    char *big = malloc(1100001);
    const char *trace = keep(test_path(dir, "t.jsonl"));
    char host[64], expect[2048];

    memcpy(d, defs, sizeof defs);
    memset(big, 'b', 1100000);
    big[1100000] = '\0';
    d[7].body = big;
    write_trace(trace, d, 8);
    start_recorder(&rec, "raw.jsonl", "--raw", NULL, NULL, NULL);
    test_rehearse(&res, 60, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "--speed", "max", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);

    json_t *log = read_log(test_path(dir, "raw.jsonl"));
    cr_assert_eq(json_array_size(log), 8);
    snprintf(host, sizeof host, "127.0.0.1:%d", rec.port);
    /* in arrival order per connection; find each by target */
    for (size_t i = 0; i < json_array_size(log); i++) {
        json_t *e = json_array_get(log, i);
        const char *target = jstr(e, "target"), *raw = jstr(e, "raw_head");
        cr_assert_not_null(raw);
        if (strcmp(target, "/a%20b;p?x=1&&y=%41") == 0) {
            snprintf(expect, sizeof expect,
                     "GET /a%%20b;p?x=1&&y=%%41 HTTP/1.1\r\nUser-Agent: ua/1\r\nhost: %s\r\n"
                     "X-Dup: 1\r\nx-dup: 2\r\nAccept-Encoding: gzip\r\nX-Empty:\r\n\r\n",
                     host);
        } else if (strcmp(target, "/items/7") == 0) {
            snprintf(expect, sizeof expect,
                     "PATCH /items/7 HTTP/1.1\r\nHost: %s\r\nContent-Length: 13\r\n"
                     "Content-Type: text/x\r\n\r\n",
                     host);
            cr_assert_str_eq(jstr(e, "body"), "{\"name\":\"a\"}\n");
        } else if (strcmp(target, "/h") == 0) {
            snprintf(expect, sizeof expect, "HEAD /h HTTP/1.1\r\nHost: %s\r\n\r\n", host);
        } else if (strcmp(target, "/empty") == 0) {
            snprintf(expect, sizeof expect,
                     "POST /empty HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", host);
        } else if (strcmp(target, "*") == 0) {
            snprintf(expect, sizeof expect, "OPTIONS * HTTP/1.1\r\nHost: %s\r\n\r\n", host);
        } else if (strcmp(target, "/old") == 0) {
            snprintf(expect, sizeof expect, "GET /old HTTP/1.0\r\nAccept: */*\r\n\r\n");
        } else if (strcmp(target, "/upload") == 0) {
            snprintf(expect, sizeof expect,
                     "PUT /upload HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n"
                     "Trailer: X-Sum\r\n\r\n",
                     host);
            cr_assert_str_eq(jstr(e, "body"), "0123456789abcdef");
        } else if (strcmp(target, "/big") == 0) {
            snprintf(expect, sizeof expect,
                     "POST /big HTTP/1.1\r\nHost: %s\r\nContent-Length: 1100000\r\n\r\n", host);
            cr_assert_eq(strlen(jstr(e, "body")), 1100000);
            cr_assert_eq(strspn(jstr(e, "body"), "b"), 1100000);
        } else {
            cr_assert_fail("unexpected target %s", target);
        }
        cr_assert_str_eq(raw, expect, "request %s differs", target);
    }
    json_decref(log);
    free(big);
}

Test(replay, the_trailer_of_a_chunked_request_arrives)
{
    static const struct tx_def defs[] = {
        {1, 0, "POST", "/t", "Host: x\nTransfer-Encoding: chunked\nTrailer: X-Sum", "abc", 1,
         false, "X-Sum: 42"},
    };
    struct fixture_server rec;
    struct run_result res;
    const char *trace = keep(test_path(dir, "t.jsonl"));
    write_trace(trace, defs, 1);
    start_recorder(&rec, "mhd.jsonl", NULL, NULL, NULL, NULL);
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    json_t *log = read_log(test_path(dir, "mhd.jsonl"));
    cr_assert_eq(json_array_size(log), 1);
    cr_assert_str_eq(jstr(json_array_get(log, 0), "body"), "abc");
    json_decref(log);
}

Test(replay, rewrites_reach_the_targets_and_redacted_secrets_are_counted)
{
    static const struct tx_def defs[] = {
        {1, 0, "GET", "/v1/users/7?q=1",
         "Host: api.example\nAuthorization: Bearer [redacted:hmac:5f1c09a2]\nX-Drop: 1\n"
         "Cookie: [redacted:hmac:77aa]",
         NULL, 1, false, NULL},
        {1, 5, "GET", "/v1/orders", "Host: api.example\nX-Drop: 2", NULL, 1, false, NULL},
    };
    struct fixture_server a, b;
    struct run_result res;
    const char *trace = keep(test_path(dir, "t.jsonl"));
    json_t *summary;
    struct row rows[4];

    write_trace(trace, defs, 2);
    start_recorder(&a, "a.jsonl", NULL, NULL, NULL, NULL);
    start_recorder(&b, "b.jsonl", NULL, NULL, NULL, NULL);
    setenv("REHEARSE_STAGING_TOKEN", "staging-123", 1);
    char *env[] = {NULL};
    (void)env;
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("a", &a), "--target",
                  target_arg("b", &b), "-o", test_path(dir, "r.jsonl"), "--speed", "max",
                  "--set-header", "b=Authorization: Bearer ${REHEARSE_STAGING_TOKEN}",
                  "--remove-header", "X-Drop", "--rewrite-path", "^/v1/(.*)=/v2/\\1",
                  "--set-header", "X-Replay: yes", NULL);
    fixture_server_stop(&a);
    fixture_server_stop(&b);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    /* a still carries the fingerprints: said on stderr and in the summary */
    cr_assert(strstr(res.err, "requests sent with a redacted secret: 2"), "stderr: %s", res.err);
    test_run_free(&res);

    json_t *la = read_log(test_path(dir, "a.jsonl")), *lb = read_log(test_path(dir, "b.jsonl"));
    cr_assert_eq(json_array_size(la), 2);
    cr_assert_eq(json_array_size(lb), 2);
    json_t *a0 = json_array_get(la, 0), *b0 = json_array_get(lb, 0);
    cr_assert_str_eq(jstr(a0, "target"), "/v2/users/7?q=1");
    cr_assert_str_eq(jstr(json_array_get(la, 1), "target"), "/v2/orders");
    json_t *ha = json_object_get(a0, "headers"), *hb = json_object_get(b0, "headers");
    /* a: Host rewritten, Authorization as captured, X-Drop gone, X-Replay added last */
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", a.port);
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(ha, 0), 1)), host);
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(ha, 1), 1)),
                     "Bearer [redacted:hmac:5f1c09a2]");
    cr_assert_eq(json_array_size(ha), 4);
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(ha, 3), 0)), "X-Replay");
    /* b: the staging credential replaced the fingerprint in place */
    cr_assert_str_eq(json_string_value(json_array_get(json_array_get(hb, 1), 1)),
                     "Bearer staging-123");
    json_decref(la);
    json_decref(lb);

    cr_assert_eq(read_results(test_path(dir, "r.jsonl"), rows, 4, &summary), 2);
    cr_assert_eq(json_integer_value(json_object_get(summary, "redacted_sent")), 2,
                 "a sent 1 (Authorization + Cookie), b sent 1 (Cookie)");
    json_t *ts = json_object_get(summary, "targets");
    cr_assert_eq(jint(json_object_get(ts, "a"), "redacted_sent"), 1);
    cr_assert_eq(jint(json_object_get(ts, "b"), "redacted_sent"), 1);
    json_decref(summary);

    /* --keep-host keeps the captured Host */
    start_recorder(&a, "k.jsonl", NULL, NULL, NULL, NULL);
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("a", &a), "-o",
                  test_path(dir, "k-r.jsonl"), "--keep-host", "-q", NULL);
    fixture_server_stop(&a);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    la = read_log(test_path(dir, "k.jsonl"));
    cr_assert_str_eq(json_string_value(json_array_get(
                         json_array_get(json_object_get(json_array_get(la, 0), "headers"), 0), 1)),
                     "api.example");
    json_decref(la);
}

/* Every captured connection's requests reach the target in order, on one
 * TCP connection of its own (the client port, seen by the server). */
static void check_connections(json_t *log, unsigned conns, unsigned per_conn)
{
    int *port = calloc(conns + 1, sizeof *port);
    int *next = calloc(conns + 1, sizeof *next);
    cr_assert_eq(json_array_size(log), (size_t)conns * per_conn);
    for (size_t i = 0; i < json_array_size(log); i++) {
        json_t *e = json_array_get(log, i);
        unsigned c, r;
        cr_assert_eq(sscanf(jstr(e, "target"), "/c%u/r%u", &c, &r), 2);
        cr_assert_eq((int)r, next[c], "connection %u: request r%u arrived before r%d", c, r,
                     next[c]);
        next[c]++;
        if (!port[c])
            port[c] = (int)jint(e, "port");
        cr_assert_eq(jint(e, "port"), port[c],
                     "connection %u moved from client port %d to %lld", c, port[c],
                     jint(e, "port"));
    }
    for (unsigned c = 1; c <= conns; c++)
        for (unsigned d = c + 1; d <= conns; d++)
            cr_assert_neq(port[c], port[d], "connections %u and %u shared a target connection",
                          c, d);
    free(port);
    free(next);
}

Test(replay, every_captured_connection_keeps_its_order_on_its_own_target_connection)
{
    const unsigned conns = 40, per = 8;
    const char *trace = simple_trace("t.jsonl", conns, per, 1);
    struct fixture_server rec;
    struct run_result res;
    start_recorder(&rec, "log.jsonl", "--random-delay", "15", "--seed", "7");
    test_rehearse(&res, 60, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "--speed", "max", "--workers", "3", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    json_t *log = read_log(test_path(dir, "log.jsonl"));
    check_connections(log, conns, per);
    json_decref(log);
}

Test(replay, a_slow_target_does_not_reorder_a_fast_one)
{
    const unsigned conns = 12, per = 6;
    const char *trace = simple_trace("t.jsonl", conns, per, 1);
    struct fixture_server fast, slow;
    struct run_result res;
    struct row rows[128];
    start_recorder(&fast, "fast.jsonl", NULL, NULL, NULL, NULL);
    start_recorder(&slow, "slow.jsonl", "--random-delay", "40", "--seed", "3");
    test_rehearse(&res, 60, "replay", trace, "--target", target_arg("fast", &fast), "--target",
                  target_arg("slow", &slow), "-o", test_path(dir, "r.jsonl"), "--speed", "max",
                  "--window", "16", "-q", NULL);
    fixture_server_stop(&fast);
    fixture_server_stop(&slow);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    json_t *lf = read_log(test_path(dir, "fast.jsonl")), *ls = read_log(test_path(dir, "slow.jsonl"));
    check_connections(lf, conns, per);
    check_connections(ls, conns, per);
    json_decref(lf);
    json_decref(ls);
    /* every transaction has both answers */
    cr_assert_eq(read_results(test_path(dir, "r.jsonl"), rows, 128, NULL), conns * per);
    for (size_t i = 0; i < conns * per; i++)
        cr_assert(rows[i].status[0] == 200 && rows[i].status[1] == 200);
}

Test(replay, the_concurrency_cap_holds_per_target)
{
    const char *trace = simple_trace("t.jsonl", 6, 4, 1);
    struct fixture_server rec;
    struct run_result res;
    struct row rows[32];
    size_t n;
    start_recorder(&rec, "log.jsonl", "--delay", "20", NULL, NULL);
    test_rehearse(&res, 60, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "--speed", "max", "--concurrency", "2", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    n = read_results(test_path(dir, "r.jsonl"), rows, 32, NULL);
    cr_assert_eq(n, 24);
    /* at every request's start, at most 2 were in flight (itself included) */
    for (size_t i = 0; i < n; i++) {
        int inflight = 0;
        for (size_t j = 0; j < n; j++)
            if (rows[j].sent[0] <= rows[i].sent[0] &&
                rows[j].sent[0] + rows[j].total[0] > rows[i].sent[0])
                inflight++;
        cr_assert_leq(inflight, 2, "%d requests in flight at once", inflight);
    }
}

Test(replay, an_idle_captured_connection_is_closed_and_a_later_one_gets_a_new_connection)
{
    /* connection 1 talks at 0 s and again at 120 s of capture time; with
     * --conn-idle 30s its first target connection is closed in between */
    static const struct tx_def defs[] = {
        {1, 0, "GET", "/c1/r0", "Host: x", NULL, 1, false, NULL},
        {2, 1000, "GET", "/c2/r0", "Host: x", NULL, 1, false, NULL},
        {3, 60000, "GET", "/c3/r0", "Host: x", NULL, 1, false, NULL},
        {1, 120000, "GET", "/c1/r1", "Host: x", NULL, 1, false, NULL},
    };
    struct fixture_server rec;
    struct run_result res;
    char trace[512];
    snprintf(trace, sizeof trace, "%s", test_path(dir, "t.jsonl"));
    write_trace(trace, defs, 4);
    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    /* --window 1: the replay cannot see a connection's next request coming
     * (a known next request keeps a connection open, as it did in the
     * capture) */
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "--speed", "max", "--conn-idle", "30s",
                  "--workers", "1", "--window", "1", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    json_t *log = read_log(test_path(dir, "log.jsonl"));
    cr_assert_eq(json_array_size(log), 4);
    long long p[4];
    for (int i = 0; i < 4; i++)
        p[i] = jint(json_array_get(log, i), "port");
    /* c3 reused c1's slot: it must not have reused c1's connection; and c1's
     * return after its idle gap comes on a fresh connection */
    cr_assert_neq(p[2], p[0]);
    cr_assert_neq(p[2], p[1]);
    cr_assert_neq(p[3], p[0]);
    cr_assert_neq(p[3], p[2]);
    json_decref(log);
}

/* A port with nothing listening. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

Test(replay, failures_are_recorded_per_request_and_the_replay_goes_on)
{
    static const struct tx_def defs[] = {
        {1, 0, "GET", "/reset", "Host: x", NULL, 1, false, NULL},
        {2, 1, "GET", "/hang", "Host: x", NULL, 1, false, NULL},
        {3, 2, "GET", "/garbage", "Host: x", NULL, 1, false, NULL},
        {4, 3, "GET", "/flood", "Host: x", NULL, 1, false, NULL},
        {5, 4, "GET", "/ok", "Host: x", NULL, 1, false, NULL},
        {1, 5, "GET", "/after-reset", "Host: x", NULL, 1, false, NULL},
    };
    struct fixture_server rec;
    struct run_result res;
    struct row rows[8];
    json_t *summary;
    char refused[64];
    const char *trace = keep(test_path(dir, "t.jsonl"));

    write_trace(trace, defs, 6);
    const char *args[] = {"--log", test_path(dir, "log.jsonl"), "--action", "/reset=reset",
                          "--action", "/hang=hang", "--action", "/garbage=garbage",
                          "--action", "/flood=flood", NULL};
    cr_assert_eq(fixture_server_start(&rec, "http_recorder", args), 0);
    snprintf(refused, sizeof refused, "down=http://127.0.0.1:%d", closed_port());
    test_rehearse(&res, 60, "replay", trace, "--target", target_arg("t", &rec), "--target",
                  refused, "-o", test_path(dir, "r.jsonl"), "--speed", "max", "--timeout",
                  "700ms", "--max-response", "1M", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "failed requests are data, not a failure: %s", res.err);
    test_run_free(&res);

    cr_assert_eq(read_results(test_path(dir, "r.jsonl"), rows, 8, &summary), 6);
    const struct row *r;
    r = find_row(rows, 6, 1);
    cr_assert_eq(r->error[0], RESULT_ERROR_RESET, "reset: %d %s", r->error[0], r->message[0]);
    r = find_row(rows, 6, 2);
    cr_assert_eq(r->error[0], RESULT_ERROR_TIMEOUT, "hang: %s", r->message[0]);
    cr_assert(strstr(r->message[0], "timed out"), "%s", r->message[0]);
    r = find_row(rows, 6, 3);
    cr_assert_eq(r->error[0], RESULT_ERROR_MALFORMED, "garbage: %d %s", r->error[0],
                 r->message[0]);
    r = find_row(rows, 6, 4);
    cr_assert_eq(r->error[0], RESULT_ERROR_TOO_LARGE, "flood: %d %s", r->error[0], r->message[0]);
    cr_assert_eq(r->status[0], 200);
    r = find_row(rows, 6, 5);
    cr_assert_eq(r->error[0], RESULT_ERROR_NONE);
    cr_assert_eq(r->status[0], 200);
    /* the connection that was reset carries on, on a new target connection */
    r = find_row(rows, 6, 6);
    cr_assert_eq(r->status[0], 200, "%s", r->message[0]);
    for (size_t i = 0; i < 6; i++) {
        cr_assert_eq(rows[i].error[1], RESULT_ERROR_CONNECT_REFUSED, "%s", rows[i].message[1]);
        cr_assert(strstr(rows[i].message[1], "127.0.0.1"), "the message names the target: %s",
                  rows[i].message[1]);
        cr_assert_null(strstr(rows[i].message[1], "rehearse.invalid"));
    }
    json_t *down = json_object_get(json_object_get(summary, "targets"), "down");
    cr_assert_eq(jint(json_object_get(down, "errors"), "connect_refused"), 6);
    json_decref(summary);
}

Test(replay, fail_fast_stops_at_the_first_failed_request)
{
    const char *trace = simple_trace("t.jsonl", 1, 50, 20);
    struct run_result res;
    struct row rows[64];
    json_t *summary;
    char refused[64];
    snprintf(refused, sizeof refused, "down=http://127.0.0.1:%d", closed_port());
    test_rehearse(&res, 30, "replay", trace, "--target", refused, "-o",
                  test_path(dir, "r.jsonl"), "--fail-fast", NULL);
    cr_assert_eq(res.exit_code, 1, "stderr: %s", res.err);
    cr_assert(strstr(res.err, "stopped by --fail-fast"), "%s", res.err);
    test_run_free(&res);
    size_t n = read_results(test_path(dir, "r.jsonl"), rows, 64, &summary);
    cr_assert_lt(n, 5, "it went on: %zu results", n);
    cr_assert(json_is_true(json_object_get(summary, "interrupted")));
    cr_assert_str_eq(jstr(summary, "stop_reason"), "fail_fast");
    json_decref(summary);
}

/* The tx ids in a results file, as a bitmap over 1..max. */
static void result_ids(const char *path, bool *seen, size_t max)
{
    struct row *rows = calloc(max, sizeof *rows);
    size_t n = read_results(path, rows, max, NULL);
    for (size_t i = 0; i < n; i++) {
        cr_assert_leq(rows[i].tx, max);
        cr_assert_not(seen[rows[i].tx - 1], "transaction %llu twice",
                      (unsigned long long)rows[i].tx);
        seen[rows[i].tx - 1] = true;
    }
    free(rows);
}

Test(replay, shards_partition_the_trace_and_samples_keep_connections_whole)
{
    const unsigned conns = 30, per = 3, total = conns * per;
    const char *trace = simple_trace("t.jsonl", conns, per, 1);
    struct fixture_server rec;
    struct run_result res;
    bool seen[90] = {false};

    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    for (int s = 0; s < 3; s++) {
        char shard[16], out[32];
        snprintf(shard, sizeof shard, "%d/3", s);
        snprintf(out, sizeof out, "shard%d.jsonl", s);
        test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                      test_path(dir, out), "--speed", "max", "--shard", shard, "-q", NULL);
        cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
        test_run_free(&res);
        result_ids(test_path(dir, out), seen, total); /* fails on a transaction twice */
    }
    for (unsigned i = 0; i < total; i++)
        cr_assert(seen[i], "transaction %u is in no shard", i + 1);

    /* --sample 40: exactly the connections the hash picks, each whole */
    bool sampled[90] = {false};
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "sample.jsonl"), "--speed", "max", "--sample", "40", "-q",
                  NULL);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    fixture_server_stop(&rec);
    result_ids(test_path(dir, "sample.jsonl"), sampled, total);
    unsigned taken = 0;
    for (unsigned i = 0; i < total; i++) {
        unsigned conn = i % conns + 1; /* simple_trace interleaves connections */
        cr_assert_eq(sampled[i], selection_sampled(conn, 40), "transaction %u", i + 1);
        taken += sampled[i];
    }
    cr_assert(taken > 0 && taken < total);
}

Test(replay, slices_limits_and_filters_pick_the_documented_transactions)
{
    /* 10 transactions, 1 s apart: ids 1..10 at 0s..9s */
    static const struct tx_def defs[] = {
        {1, 0, "GET", "/users/1", "Host: x", NULL, 1, false, NULL},
        {1, 1000, "POST", "/users/2", "Host: x\nContent-Length: 0", "", 1, false, NULL},
        {2, 2000, "GET", "/orders/3", "Host: x", NULL, 1, false, NULL},
        {2, 3000, "GET", "/users/admin", "Host: x", NULL, 1, false, NULL},
        {3, 4000, "HEAD", "/users/5", "Host: x", NULL, 1, false, NULL},
        {3, 5000, "GET", "/users/6", "Host: x", NULL, 1, false, NULL},
        {4, 6000, "GET", "/v1/users/7", "Host: x", NULL, 1, false, NULL},
        {4, 7000, "GET", "/users/8", "Host: x", NULL, 1, false, NULL},
        {5, 8000, "GET", "/users/9", "Host: x", NULL, 1, false, NULL},
        {5, 9000, "GET", "/users/10", "Host: x", NULL, 1, false, NULL},
    };
    static const struct {
        const char *args[6];
        const char *expect; /* ids, as a string of 0/1 for ids 1..10 */
    } cases[] = {
        {{"--from", "2s", "--to", "5s"}, "0011100000"},
        {{"--from", "#3", "--to", "#6"}, "0011100000"},
        {{"--from", "@1700000007000000"}, "0000000111"},
        {{"--from", "8s"}, "0000000011"},
        {{"--limit", "4"}, "1111000000"},
        {{"--from", "1s", "--limit", "2"}, "0110000000"},
        {{"--include", "GET|HEAD /users/.*", "--exclude", "* /users/admin"}, "1000110111"},
        {{"--include", "/orders/.*", "--include", "POST .*"}, "0110000000"},
        {{"--exclude", "GET .*"}, "0100100000"},
    };
    struct fixture_server rec;
    const char *trace = keep(test_path(dir, "t.jsonl"));
    write_trace(trace, defs, 10);
    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *argv[24] = {"replay", trace, "--target", target_arg("t", &rec), "-o",
                                test_path(dir, "r.jsonl"), "--speed", "max", "-q"};
        size_t argc = 9;
        char *full[25];
        struct run_result res;
        bool seen[10] = {false};
        for (size_t i = 0; i < 6 && cases[c].args[i]; i++)
            argv[argc++] = cases[c].args[i];
        full[0] = (char *)test_rehearse_bin();
        for (size_t i = 0; i < argc; i++)
            full[i + 1] = (char *)argv[i];
        full[argc + 1] = NULL;
        test_run(&res, full, 30);
        cr_assert_eq(res.exit_code, 0, "case %zu: %s", c, res.err);
        test_run_free(&res);
        result_ids(test_path(dir, "r.jsonl"), seen, 10);
        for (int i = 0; i < 10; i++)
            cr_assert_eq(seen[i], cases[c].expect[i] == '1', "case %zu (%s %s): transaction %d",
                         c, cases[c].args[0], cases[c].args[1], i + 1);
    }
    fixture_server_stop(&rec);
}

Test(replay, a_public_target_is_refused_unless_allowed)
{
    const char *trace = simple_trace("t.jsonl", 1, 1, 1);
    struct run_result res;
    test_rehearse(&res, 30, "replay", trace, "--target", "prod=http://8.8.8.8:80", "-o",
                  test_path(dir, "r.jsonl"), NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "refusing to replay") && strstr(res.err, "public address"),
              "%s", res.err);
    cr_assert(access(test_path(dir, "r.jsonl"), F_OK) != 0, "nothing may be written");
    cr_assert(access(test_path(dir, "r.jsonl.partial"), F_OK) != 0);
    test_run_free(&res);
    /* allowed, as a dry run (nothing is sent anywhere) */
    test_rehearse(&res, 30, "replay", trace, "--target", "prod=http://8.8.8.8:80", "--dry-run",
                  "--allow-public-target", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert(strstr(res.err, "warning: target prod resolves to the public address 8.8.8.8"),
              "%s", res.err);
    test_run_free(&res);
}

Test(replay, dry_run_prints_the_rewritten_requests_and_sends_nothing)
{
    static const struct tx_def defs[] = {
        {1, 0, "POST", "/v1/x", "Host: api\nContent-Length: 2\nX-Keep: k", "hi", 1, false,
         NULL},
    };
    struct fixture_server rec;
    struct run_result res;
    const char *trace = keep(test_path(dir, "t.jsonl"));
    char want[128];
    write_trace(trace, defs, 1);
    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "--dry-run",
                  "--rewrite-path", "^/v1=/v2", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    snprintf(want, sizeof want, "t POST %s/v2/x  (tx 1, conn 1, HTTP/1.1, body 2 bytes)\n",
             rec.url);
    cr_assert(strstr(res.out, want), "stdout: %s", res.out);
    snprintf(want, sizeof want, "  Host: 127.0.0.1:%d\n  Content-Length: 2\n  X-Keep: k\n",
             rec.port);
    cr_assert(strstr(res.out, want), "stdout: %s", res.out);
    test_run_free(&res);
    json_t *log = read_log(test_path(dir, "log.jsonl"));
    cr_assert_eq(json_array_size(log), 0, "a dry run sent requests");
    json_decref(log);
}

Test(replay, sigint_leaves_a_valid_results_file_with_an_interrupted_summary)
{
    /* 200 requests over 20 s of capture time at speed 1: interrupted early */
    const char *trace = simple_trace("t.jsonl", 4, 50, 100);
    struct fixture_server rec;
    struct row rows[256];
    json_t *summary;
    const char *results = keep(test_path(dir, "r.jsonl"));
    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    pid_t pid = test_rehearse_spawn(dir, "replay", trace, "--target", target_arg("t", &rec), "-o",
                                    results, NULL);
    struct timespec wait = {1, 500000000};
    nanosleep(&wait, NULL);
    kill(pid, SIGINT);
    int code = test_wait_exit(pid, 20);
    if (code < 0)
        kill(pid, SIGKILL);
    fixture_server_stop(&rec);
    char *err = test_read_file(test_path(dir, "stderr"), NULL);
    cr_assert_eq(code, 3, "exit %d, stderr: %s", code, err);
    cr_assert(strstr(err, "interrupted"), "%s", err);
    free(err);
    cr_assert(access(results, F_OK) == 0, "the results file was not renamed into place");
    size_t n = read_results(results, rows, 256, &summary);
    cr_assert(n > 3 && n < 200, "%zu results", n);
    cr_assert_not_null(summary);
    cr_assert(json_is_true(json_object_get(summary, "interrupted")));
    cr_assert_str_eq(jstr(summary, "stop_reason"), "signal");
    cr_assert_eq(jint(json_object_get(summary, "transactions"), "replayed"), (long long)n);
    json_decref(summary);
}

static double seconds_of(const char *trace, const char *speed, const char *rate,
                         struct fixture_server *rec)
{
    struct run_result res;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (rate)
        test_rehearse(&res, 60, "replay", trace, "--target", target_arg("t", rec), "-o",
                      test_path(dir, "r.jsonl"), "--rate", rate, "-q", NULL);
    else
        test_rehearse(&res, 60, "replay", trace, "--target", target_arg("t", rec), "-o",
                      test_path(dir, "r.jsonl"), "--speed", speed, "-q", NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

Test(replay, speed_scales_the_captured_timing_and_rate_sets_its_own)
{
    /* 41 requests over 2 s of capture time on 4 connections */
    const char *trace = simple_trace("t.jsonl", 4, 10, 50);
    struct fixture_server rec;
    struct row rows[64];
    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    double s2 = seconds_of(trace, "2", NULL, &rec);
    double s1 = seconds_of(trace, "1", NULL, &rec);
    double rate = seconds_of(trace, NULL, "20", &rec); /* 40 requests at 20/s: 2 s */
    double max = seconds_of(trace, "max", NULL, &rec);
    fixture_server_stop(&rec);
    /* loose bounds: this is not a benchmark, and the machine is shared */
    cr_assert(s1 > 1.9 && s1 < 4.0, "--speed 1 took %.2f s for a 1.95 s capture", s1);
    cr_assert(s2 > 0.95 && s2 < 2.5, "--speed 2 took %.2f s", s2);
    cr_assert(s2 < s1, "--speed 2 (%.2f s) was not faster than --speed 1 (%.2f s)", s2, s1);
    cr_assert(rate > 1.9 && rate < 4.0, "--rate 20 took %.2f s for 40 requests", rate);
    cr_assert(max < 1.5, "--speed max took %.2f s", max);
    /* at speed 1 (the last timed run was --rate), requests go out on time */
    seconds_of(trace, "1", NULL, (start_recorder(&rec, "log2.jsonl", NULL, NULL, NULL, NULL),
                                  &rec));
    fixture_server_stop(&rec);
    size_t n = read_results(test_path(dir, "r.jsonl"), rows, 64, NULL);
    cr_assert_eq(n, 40);
    for (size_t i = 0; i < n; i++) {
        int64_t late = rows[i].sent[0] - rows[i].scheduled[0];
        /* a broken schedule is seconds off; a loaded machine tens of ms */
        cr_assert(late >= 0 && late < 1000000, "transaction %llu sent %lld µs late",
                  (unsigned long long)rows[i].tx, (long long)late);
    }
}

Test(replay, large_bodies_are_kept_as_sha256_and_size)
{
    static const struct tx_def defs[] = {
        {1, 0, "GET", "/flood", "Host: x", NULL, 1, false, NULL},
        {1, 1, "GET", "/small", "Host: x", NULL, 1, false, NULL},
    };
    struct fixture_server rec;
    struct run_result res;
    struct row rows[4];
    const char *trace = keep(test_path(dir, "t.jsonl"));
    char want[65];
    write_trace(trace, defs, 2);
    const char *args[] = {"--log", test_path(dir, "log.jsonl"), "--action", "/flood=flood:300000",
                          NULL};
    cr_assert_eq(fixture_server_start(&rec, "http_recorder", args), 0);
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "--max-inline-body", "64k", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    cr_assert_eq(read_results(test_path(dir, "r.jsonl"), rows, 4, NULL), 2);
    const struct row *big = find_row(rows, 2, 1), *small = find_row(rows, 2, 2);
    cr_assert(big->omitted[0]);
    cr_assert_eq(big->body_size[0], 300000);
    char *x = malloc(300000);
    memset(x, 'x', 300000);
    struct sha256 *h = sha256_new();
    sha256_update(h, x, 300000);
    sha256_final_hex(h, want);
    sha256_free(h);
    free(x);
    cr_assert_str_eq(big->sha[0], want);
    cr_assert_not(small->omitted[0]);
    cr_assert(strstr(small->body[0], "\"n\":"), "%s", small->body[0]);
}

Test(replay, bad_input_gets_a_located_error_and_exit_2)
{
    const char *trace = keep(test_path(dir, "bad.jsonl"));
    const char *good = keep(simple_trace("good.jsonl", 1, 2, 1));
    struct fixture_server rec;
    struct run_result res;
    json_t *summary;
    struct row rows[4];
    char *text = test_read_file(good, NULL);
    char *content = malloc(strlen(text) + 64);
    sprintf(content, "%s{\"type\":\"tx\",\"id\":3,\"conn\":\n", text);
    test_write_file(trace, content, strlen(content));
    free(text);
    free(content);

    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), "--speed", "max", "-q", NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 2, "%s", res.err);
    cr_assert(strstr(res.err, "bad.jsonl:4:"), "the error names file and line: %s", res.err);
    test_run_free(&res);
    /* what was read before the bad line was replayed and is kept */
    cr_assert_eq(read_results(test_path(dir, "r.jsonl"), rows, 4, &summary), 2);
    cr_assert_str_eq(jstr(summary, "stop_reason"), "trace_error");
    json_decref(summary);

    static const struct {
        const char *a[4];
        const char *needle;
    } usage[] = {
        {{"-o", "x.jsonl"}, "expected at least one --target"},
        {{"--target", "t=http://127.0.0.1:1"}, "expected -o RESULTS"},
        {{"--target", "t=http://127.0.0.1:1", "--speed", "fast"}, "--speed"},
        {{"--target", "t=http://127.0.0.1:1", "--shard", "4/4"}, "--shard: '4/4'"},
        {{"--target", "t=http://127.0.0.1:1", "--from", "yesterday"}, "--from: 'yesterday'"},
        {{"--target", "t=http://127.0.0.1:1", "--set-header", "X: ${REHEARSE_NOT_SET_ANYWHERE}"},
         "'REHEARSE_NOT_SET_ANYWHERE' is not set"},
        {{"--target", "t=http://127.0.0.1:1", "--include", "GET ("}, "invalid regular"},
        {{"--target", "t=127.0.0.1:1"}, "--target t"},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        char *argv[12] = {(char *)test_rehearse_bin(), "replay", (char *)good};
        int argc = 3;
        for (int k = 0; k < 4 && usage[i].a[k]; k++)
            argv[argc++] = (char *)usage[i].a[k];
        if (!strstr(usage[i].needle, "-o RESULTS") && strcmp(usage[i].a[0], "-o") != 0) {
            argv[argc++] = "-o";
            argv[argc++] = (char *)test_path(dir, "u.jsonl");
        }
        argv[argc] = NULL;
        test_run(&res, argv, 30);
        cr_assert_eq(res.exit_code, 2, "case %zu: exit %d: %s", i, res.exit_code, res.err);
        cr_assert(strstr(res.err, usage[i].needle), "case %zu: '%s' not in: %s", i,
                  usage[i].needle, res.err);
        test_run_free(&res);
    }
}

Test(replay, a_terminal_gets_a_progress_line_and_a_pipe_does_not)
{
    const char *trace = keep(simple_trace("t.jsonl", 2, 10, 60)); /* 1.2 s of capture */
    struct fixture_server rec;
    struct run_result res;
    char cmd[2048];
    start_recorder(&rec, "log.jsonl", NULL, NULL, NULL, NULL);
    /* script(1) runs the command on a pseudo-terminal */
    snprintf(cmd, sizeof cmd, "'%s' replay '%s' --target 't=%s' -o '%s'", test_rehearse_bin(),
             trace, rec.url, test_path(dir, "r.jsonl"));
    char *argv[] = {"script", "-qefc", cmd, "/dev/null", NULL};
    test_run(&res, argv, 30);
    cr_assert_eq(res.exit_code, 0, "%s%s", res.out, res.err);
    cr_assert(strstr(res.out, "\r\033[Kreplay: ") && strstr(res.out, "tx/s  errors: t 0"),
              "no progress line on the terminal: %s", res.out);
    test_run_free(&res);
    test_rehearse(&res, 30, "replay", trace, "--target", target_arg("t", &rec), "-o",
                  test_path(dir, "r.jsonl"), NULL);
    fixture_server_stop(&rec);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    cr_assert_null(strstr(res.err, "\033[K"), "progress written to a pipe: %s", res.err);
    cr_assert(strstr(res.err, "20 transactions replayed"), "no summary: %s", res.err);
    test_run_free(&res);
}

Test(replay, a_results_file_that_cannot_be_written_is_an_environment_failure)
{
    const char *trace = keep(simple_trace("t.jsonl", 1, 1, 1));
    struct run_result res;
    test_rehearse(&res, 30, "replay", trace, "--target", "t=http://127.0.0.1:9", "-o",
                  test_path(dir, "no/such/dir/r.jsonl"), NULL);
    cr_assert_eq(res.exit_code, 3, "%s", res.err);
    cr_assert(strstr(res.err, "no/such/dir/r.jsonl"), "the message names the file: %s", res.err);
    test_run_free(&res);
}
