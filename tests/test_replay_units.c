/* The replay engine's parts on their own: selection, rewrites, target
 * safety, the schedule and transaction copies. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"
#include "schedule.h"
#include "selection.h"
#include "target.h"
#include "tx_clone.h"

TestSuite(replay_units, .timeout = 30);

static struct trace_tx make_tx(uint64_t id, uint64_t conn, int64_t t_us, const char *method,
                               const char *target)
{
    struct trace_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.id = id;
    tx.conn = conn;
    tx.req_start_us = t_us;
    tx.request.method = method;
    tx.request.target = target;
    tx.request.version_major = 1;
    tx.request.version_minor = 1;
    return tx;
}

Test(replay_units, slice_bounds_parse_offsets_times_and_ids)
{
    struct bound b;
    struct error err;
    error_init(&err);
    cr_assert_eq(bound_parse("--from", "30s", &b, &err), 0);
    cr_assert_eq(b.kind, BOUND_OFFSET);
    cr_assert_eq(b.value, 30000000);
    cr_assert_eq(bound_parse("--from", "1.5m", &b, &err), 0);
    cr_assert_eq(b.value, 90000000);
    cr_assert_eq(bound_parse("--to", "@1700000000123456", &b, &err), 0);
    cr_assert_eq(b.kind, BOUND_ABSOLUTE);
    cr_assert_eq(b.value, 1700000000123456);
    cr_assert_eq(bound_parse("--to", "#120", &b, &err), 0);
    cr_assert_eq(b.kind, BOUND_TX);
    cr_assert_eq(b.value, 120);
    cr_assert_neq(bound_parse("--to", "#0", &b, &err), 0);
    cr_assert_neq(bound_parse("--to", "#x", &b, &err), 0);
    cr_assert_neq(bound_parse("--to", "@-5", &b, &err), 0);
    cr_assert_neq(bound_parse("--from", "soon", &b, &err), 0);
    cr_assert(strstr(err.message, "--from: 'soon'"), "%s", err.message);
}

Test(replay_units, slices_are_half_open_so_consecutive_slices_partition)
{
    struct selection s;
    struct error err;
    const int64_t start = 1000000000;
    error_init(&err);
    selection_init(&s);
    bound_parse("--from", "10s", &s.from, &err);
    bound_parse("--to", "20s", &s.to, &err);
    selection_begin(&s, start);
    struct trace_tx a = make_tx(1, 1, start + 9999999, "GET", "/");
    struct trace_tx b = make_tx(2, 1, start + 10000000, "GET", "/");
    struct trace_tx c = make_tx(3, 1, start + 19999999, "GET", "/");
    struct trace_tx d = make_tx(4, 1, start + 20000000, "GET", "/");
    cr_assert_eq(selection_slice(&s, &a), SLICE_BEFORE);
    cr_assert_eq(selection_slice(&s, &b), SLICE_IN);
    cr_assert_eq(selection_slice(&s, &c), SLICE_IN);
    cr_assert_eq(selection_slice(&s, &d), SLICE_AFTER);

    selection_init(&s);
    bound_parse("--from", "#2", &s.from, &err);
    bound_parse("--to", "#4", &s.to, &err);
    cr_assert_eq(selection_slice(&s, &a), SLICE_BEFORE);
    cr_assert_eq(selection_slice(&s, &b), SLICE_IN);
    cr_assert_eq(selection_slice(&s, &c), SLICE_IN);
    cr_assert_eq(selection_slice(&s, &d), SLICE_AFTER);
}

Test(replay_units, shards_partition_connections_and_samples_are_deterministic)
{
    unsigned counts[5] = {0}, sampled = 0;
    for (uint64_t conn = 1; conn <= 10000; conn++) {
        uint32_t shard = selection_shard_of(conn, 5);
        cr_assert_lt(shard, 5);
        cr_assert_eq(shard, selection_shard_of(conn, 5)); /* same answer every time */
        counts[shard]++;
        if (selection_sampled(conn, 25))
            sampled++;
        cr_assert(selection_sampled(conn, 100));
    }
    for (int i = 0; i < 5; i++) /* roughly even: 2000 each */
        cr_assert(counts[i] > 1700 && counts[i] < 2300, "shard %d has %u", i, counts[i]);
    cr_assert(sampled > 2200 && sampled < 2800, "25%% sample took %u of 10000", sampled);
}

Test(replay_units, include_and_exclude_match_method_and_whole_path)
{
    struct selection s;
    struct error err;
    error_init(&err);
    selection_init(&s);
    cr_assert_eq(selection_add_filter(&s, true, "GET|HEAD /users/.*", &err), 0, "%s",
                 err.message);
    cr_assert_eq(selection_add_filter(&s, false, "* /users/admin", &err), 0);
    struct trace_tx a = make_tx(1, 1, 0, "GET", "/users/7?x=1");
    struct trace_tx b = make_tx(2, 1, 0, "POST", "/users/7");
    struct trace_tx c = make_tx(3, 1, 0, "GET", "/users/admin");
    struct trace_tx d = make_tx(4, 1, 0, "GET", "/v1/users/7"); /* whole path must match */
    cr_assert_eq(selection_pick(&s, &a), SKIP_NONE);
    cr_assert_eq(selection_pick(&s, &b), SKIP_FILTERED);
    cr_assert_eq(selection_pick(&s, &c), SKIP_FILTERED);
    cr_assert_eq(selection_pick(&s, &d), SKIP_FILTERED);
    cr_assert_neq(selection_add_filter(&s, true, "GET /users/(", &err), 0);
    cr_assert(strstr(err.message, "invalid regular expression"), "%s", err.message);
    cr_assert_neq(selection_add_filter(&s, true, "G@T /x", &err), 0);
    selection_release(&s);

    struct selection shard;
    selection_init(&shard);
    cr_assert_neq(selection_set_shard(&shard, "3/3", &err), 0);
    cr_assert_neq(selection_set_shard(&shard, "1", &err), 0);
    cr_assert_eq(selection_set_shard(&shard, "2/3", &err), 0);
}

static const char *header_value(const struct outgoing *o, const char *name, size_t nth)
{
    static char out[256];
    for (size_t i = 0; i < o->header_count; i++) {
        if (o->headers[i].name_len == strlen(name) &&
            strncasecmp(o->headers[i].name, name, o->headers[i].name_len) == 0 && nth-- == 0) {
            snprintf(out, sizeof out, "%.*s", (int)o->headers[i].value_len, o->headers[i].value);
            return out;
        }
    }
    return NULL;
}

Test(replay_units, rewrites_follow_the_documented_order)
{
    struct replay_target targets[2];
    struct rewrite_rules r;
    struct outgoing o;
    struct error err;
    struct http_header h[] = {
        {"host", 4, "api.example", 11},
        {"X-A", 3, "1", 1},
        {"Authorization", 13, "Bearer [redacted:hmac:00ff]", 27},
        {"X-A", 3, "2", 1},
    };
    struct http_message m = {.method = "GET", .target = "/v1/users/7?q=1", .version_major = 1,
                             .version_minor = 1, .headers = h, .header_count = 4};

    error_init(&err);
    cr_assert_eq(target_parse("old=http://127.0.0.1:8081", &targets[0], &err), 0);
    cr_assert_eq(target_parse("new=http://[::1]:8082/base/", &targets[1], &err), 0);
    cr_assert_str_eq(targets[1].authority, "[::1]:8082");
    cr_assert_str_eq(targets[1].prefix, "/base");
    rewrite_init(&r);
    outgoing_init(&o);

    /* no rules: only Host follows the target, in place and with its case */
    cr_assert_eq(rewrite_apply(&r, &targets[0], 0, &m, &o), 0);
    cr_assert_str_eq(o.target.data, "/v1/users/7?q=1");
    cr_assert_eq(o.header_count, 4);
    cr_assert_eq(strncmp(o.headers[0].name, "host", 4), 0);
    cr_assert_str_eq(header_value(&o, "Host", 0), "127.0.0.1:8081");
    cr_assert(o.redacted);

    setenv("REHEARSE_TEST_TOKEN", "s3cret", 1);
    cr_assert_eq(rewrite_add_path(&r, "^/v1/([a-z]+)/=/v2/\\1/", &err), 0, "%s", err.message);
    cr_assert_eq(rewrite_add_set_header(&r, "Authorization: Bearer ${REHEARSE_TEST_TOKEN}",
                                        targets, 2, &err),
                 0, "%s", err.message);
    cr_assert_eq(rewrite_add_remove_header(&r, "new=X-A", targets, 2, &err), 0, "%s",
                 err.message);
    cr_assert_eq(rewrite_add_set_header(&r, "X-New: yes", targets, 2, &err), 0);

    cr_assert_eq(rewrite_apply(&r, &targets[0], 0, &m, &o), 0);
    cr_assert_str_eq(o.target.data, "/v2/users/7?q=1");
    cr_assert_str_eq(header_value(&o, "Authorization", 0), "Bearer s3cret");
    cr_assert_str_eq(header_value(&o, "X-A", 1), "2"); /* duplicates kept for "old" */
    cr_assert_str_eq(header_value(&o, "X-New", 0), "yes");
    cr_assert_eq(strncmp(o.headers[o.header_count - 1].name, "X-New", 5), 0); /* appended */
    cr_assert_not(o.redacted);

    cr_assert_eq(rewrite_apply(&r, &targets[1], 1, &m, &o), 0);
    cr_assert_str_eq(o.target.data, "/base/v2/users/7?q=1"); /* the prefix comes last... */
    cr_assert_null(header_value(&o, "X-A", 0));         /* ...and new loses X-A */
    cr_assert_str_eq(header_value(&o, "Host", 0), "[::1]:8082");

    r.keep_host = true;
    cr_assert_eq(rewrite_apply(&r, &targets[0], 0, &m, &o), 0);
    cr_assert_str_eq(header_value(&o, "Host", 0), "api.example");

    cr_assert_neq(rewrite_add_set_header(&r, "X: ${REHEARSE_TEST_UNSET_VARIABLE}", targets, 2,
                                         &err),
                  0);
    cr_assert(strstr(err.message, "'REHEARSE_TEST_UNSET_VARIABLE' is not set"), "%s",
              err.message);
    cr_assert_neq(rewrite_add_set_header(&r, "nope=X: 1", targets, 2, &err), 0);
    cr_assert(strstr(err.message, "not a --target name"), "%s", err.message);
    cr_assert_neq(rewrite_add_path(&r, "no-separator", &err), 0);
    cr_assert_eq(rewrite_add_path(&r, "a\\=b=c", &err), 0, "%s", err.message);
    outgoing_release(&o);
    rewrite_release(&r);
}

Test(replay_units, requests_that_cannot_be_sent_as_captured_are_classified)
{
    struct http_header cl5[] = {{"Content-Length", 14, "5", 1}};
    struct http_header te[] = {{"Transfer-Encoding", 17, "chunked", 7}};
    struct http_header bad[] = {{"X", 1, "a\r\nb", 4}};
    struct trace_tx tx = make_tx(1, 1, 0, "POST", "/x");
    tx.request.body = (const unsigned char *)"hello";
    tx.request.body_len = tx.request.body_size = 5;
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_UNSENDABLE); /* no framing */
    tx.request.headers = cl5;
    tx.request.header_count = 1;
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_NONE);
    tx.request.headers = te;
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_NONE);
    tx.request.version_minor = 0;
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_UNSENDABLE); /* chunked needs 1.1 */
    tx.request.version_minor = 1;
    tx.request.body_size = 500;
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_INCOMPLETE);
    tx.request.body_size = 5;
    tx.flags = TX_FLAG(TX_UPGRADE);
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_UPGRADE);
    tx.flags = 0;
    tx.request.headers = bad;
    cr_assert_eq(rewrite_check_sendable(&tx), SKIP_UNSENDABLE);
    struct trace_tx sp = make_tx(1, 1, 0, "GET", "/a b");
    cr_assert_eq(rewrite_check_sendable(&sp), SKIP_UNSENDABLE);
}

static bool private_v4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, text, &a.sin_addr);
    return target_address_private((struct sockaddr *)&a);
}

static bool private_v6(const char *text)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, text, &a.sin6_addr);
    return target_address_private((struct sockaddr *)&a);
}

Test(replay_units, only_private_addresses_are_staging)
{
    const char *priv4[] = {"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                           "192.168.1.1", "169.254.1.1", "100.64.0.1", "100.127.255.255"};
    const char *pub4[] = {"8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
                          "100.63.255.255", "1.1.1.1", "0.0.0.0"};
    for (size_t i = 0; i < sizeof priv4 / sizeof *priv4; i++)
        cr_assert(private_v4(priv4[i]), "%s should be private", priv4[i]);
    for (size_t i = 0; i < sizeof pub4 / sizeof *pub4; i++)
        cr_assert_not(private_v4(pub4[i]), "%s should be public", pub4[i]);
    cr_assert(private_v6("::1"));
    cr_assert(private_v6("fd00::1"));
    cr_assert(private_v6("fe80::1"));
    cr_assert(private_v6("::ffff:10.0.0.1"));
    cr_assert_not(private_v6("::ffff:8.8.8.8"));
    cr_assert_not(private_v6("2001:4860:4860::8888"));
}

Test(replay_units, public_targets_are_refused_with_the_reason)
{
    struct replay_target t;
    struct error err;
    error_init(&err);
    cr_assert_eq(target_parse("prod=http://8.8.8.8:80", &t, &err), 0);
    cr_assert_eq(target_resolve(&t, false, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "8.8.8.8, a public address"), "%s", err.message);
    cr_assert(strstr(err.message, "--allow-public-target"), "%s", err.message);
    cr_assert_eq(target_resolve(&t, true, &err), 0);
    cr_assert(t.public_address);
    cr_assert_eq(target_parse("local=http://127.0.0.1:9", &t, &err), 0);
    cr_assert_eq(target_resolve(&t, false, &err), 0);
    cr_assert_str_eq(t.addrs, "127.0.0.1");
    cr_assert_neq(target_parse("x=ftp://127.0.0.1", &t, &err), 0);
    cr_assert_neq(target_parse("bad name=http://127.0.0.1", &t, &err), 0);
    cr_assert_neq(target_parse("x=http://u:p@127.0.0.1", &t, &err), 0);
}

Test(replay_units, the_schedule_pops_in_time_order_only_when_due)
{
    struct schedule s;
    struct schedule_entry e;
    int64_t last = 0;
    schedule_init(&s);
    for (int i = 0; i < 1000; i++)
        schedule_push(&s, (i * 7919) % 1000, NULL, (unsigned)i);
    cr_assert_eq(schedule_next(&s), 0);
    cr_assert_eq(schedule_pop_due(&s, -1, &e), 0);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(schedule_pop_due(&s, 10000, &e), 1);
        cr_assert_geq(e.due, last);
        last = e.due;
    }
    cr_assert_eq(schedule_next(&s), SCHEDULE_NONE);
    cr_assert_eq(schedule_due(1000, 2000000, 2.0), 1000 + 1000000);
    schedule_release(&s);
}

Test(replay_units, a_cloned_transaction_owns_all_its_bytes)
{
    struct http_header h[] = {{"A", 1, "x", 1}, {"Bb", 2, "yy", 2}};
    struct http_header rh[] = {{"C", 1, "z", 1}};
    struct trace_tx tx = make_tx(9, 3, 42, "PUT", "/t");
    char *body = strdup("payload");
    tx.request.headers = h;
    tx.request.header_count = 2;
    tx.request.body = (const unsigned char *)body;
    tx.request.body_len = tx.request.body_size = 7;
    tx.has_response = true;
    tx.response.status = 200;
    tx.response.reason = "OK";
    tx.response.headers = rh;
    tx.response.header_count = 1;
    struct trace_tx *c = tx_clone(&tx, 64, NULL);
    cr_assert_not_null(c);
    memset(body, 'X', 7);
    free(body);
    cr_assert_eq(c->id, 9);
    cr_assert_str_eq(c->request.method, "PUT");
    cr_assert_eq(memcmp(c->request.body, "payload", 7), 0);
    cr_assert_str_eq(c->request.headers[1].name, "Bb");
    cr_assert_str_eq(c->request.headers[1].value, "yy");
    cr_assert_str_eq(c->response.headers[0].value, "z");
    cr_assert_eq(((uintptr_t)c->request.headers) % sizeof(void *), 0);
    cr_assert_eq(((uintptr_t)c->response.headers) % sizeof(void *), 0);
    memset(tx_clone_extra(c), 1, 64); /* the extra space is usable */
    free(c);
}
