/*
 * The fault proxy with real sockets on loopback: every toxic measured at the
 * client, toxicity and seeds, control deadlines under load.  Timing
 * assertions are generous (the machine is shared): they check that a fault
 * happened and roughly how big it was, not the scheduler's precision.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "testnet.h"

TestSuite(fault_proxy, .timeout = 60);

struct rig {
    struct fault_proxy *proxy;
    struct testnet_server *server;
    int port; /* the proxy's */
};

static void rig_start(struct rig *r, enum testnet_mode mode, size_t send_bytes, uint64_t seed)
{
    struct fault_proxy_options options = {.has_seed = true, .seed = seed};
    struct error err;
    char upstream[64], bound[FAULT_PROXY_ADDRESS_MAX];

    error_init(&err);
    r->server = testnet_server_start(mode, send_bytes);
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", testnet_server_port(r->server));
    cr_assert_eq(fault_proxy_new(&r->proxy, &options, &err), 0, "%s", err.message);
    cr_assert_eq(fault_proxy_add_link(r->proxy, "app", "127.0.0.1:0", upstream, 0, &err), 0,
                 "%s", err.message);
    cr_assert_eq(fault_proxy_link_address(r->proxy, "app", bound, sizeof bound, &err), 0);
    r->port = atoi(strrchr(bound, ':') + 1);
    cr_assert_gt(r->port, 0);
}

static void rig_stop(struct rig *r)
{
    fault_proxy_free(r->proxy);
    testnet_server_stop(r->server);
}

static void add(struct rig *r, const char *spec)
{
    struct fault_toxic t;
    struct error err;
    error_init(&err);
    cr_assert_eq(fault_toxic_parse(&t, spec, &err), 0, "%s", err.message);
    cr_assert_eq(fault_proxy_add_toxic(r->proxy, "app", &t, 0, NULL, &err), 0, "%s", err.message);
}

static void del(struct rig *r, const char *name, struct fault_effect *effect)
{
    struct error err;
    error_init(&err);
    cr_assert_eq(fault_proxy_remove_toxic(r->proxy, "app", name, 0, effect, &err), 0, "%s",
                 err.message);
}

static struct fault_link_stats stats(struct rig *r)
{
    struct fault_link_stats s;
    struct error err;
    error_init(&err);
    cr_assert_eq(fault_proxy_link_stats(r->proxy, "app", &s, &err), 0, "%s", err.message);
    return s;
}

static double ms_since(int64_t start_us)
{
    return (double)(testnet_now_us() - start_us) / 1000.0;
}

Test(fault_proxy, relays_a_megabyte_both_ways_unchanged_without_toxics)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    size_t len = 1 << 20;
    unsigned char *out = malloc(len), *back = malloc(len);
    for (size_t i = 0; i < len; i++)
        out[i] = testnet_pattern(i);
    /* Write from a thread-free loop in pieces small enough not to deadlock
     * on full buffers: send a piece, read it back. */
    for (size_t off = 0; off < len; off += 65536) {
        cr_assert_eq(testnet_send_all(fd, out + off, 65536), 0);
        cr_assert_eq(testnet_recv_exact(fd, back + off, 65536), 0, "errno %d", errno);
    }
    cr_assert_eq(memcmp(out, back, len), 0);
    shutdown(fd, SHUT_WR);
    int end;
    cr_assert_eq(testnet_recv_all(fd, back, len, &end, NULL), 0);
    cr_assert_eq(end, 0, "the client's FIN must come back as the server's");
    close(fd);
    struct fault_link_stats s = stats(&r);
    cr_assert_eq(s.connections_total, 1);
    cr_assert_eq(s.bytes_upstream, len);
    cr_assert_eq(s.bytes_downstream, len);
    free(out);
    free(back);
    rig_stop(&r);
}

Test(fault_proxy, latency_delays_each_response_by_about_its_value)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    add(&r, "latency:latency=200");
    add(&r, "upstream:latency:latency=100,jitter=20");
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    for (int i = 0; i < 3; i++) {
        double ms = testnet_roundtrip_ms(fd, "ping");
        cr_assert_geq(ms, 280, "round trip %.1f ms, expected 300 ± 20", ms);
        cr_assert_lt(ms, 320 + 150, "round trip %.1f ms", ms);
    }
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, toxics_apply_to_connections_already_open_and_stop_when_removed)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    double before = testnet_roundtrip_ms(fd, "hello");
    cr_assert(before >= 0 && before < 100, "%.1f ms", before);
    add(&r, "latency:latency=300");
    double during = testnet_roundtrip_ms(fd, "hello");
    cr_assert_geq(during, 300, "%.1f ms: the open connection must see the new toxic", during);
    cr_assert_lt(during, 450);
    struct fault_effect effect;
    del(&r, "latency_downstream", &effect);
    cr_assert_eq(effect.connections_affected, 1);
    cr_assert_eq(effect.connections_open, 1);
    double after = testnet_roundtrip_ms(fd, "hello");
    cr_assert(after >= 0 && after < 100, "%.1f ms", after);
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, removing_a_toxic_releases_the_data_it_holds_at_once)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    add(&r, "latency:latency=5000");
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    int64_t start = testnet_now_us();
    cr_assert_eq(testnet_send_all(fd, "held", 4), 0);
    usleep(200 * 1000);
    del(&r, "latency_downstream", NULL);
    char back[4];
    cr_assert_eq(testnet_recv_exact(fd, back, 4), 0);
    cr_assert_lt(ms_since(start), 1500, "the held chunk must not wait its 5 s");
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, bandwidth_limits_the_rate_within_twenty_percent)
{
    struct rig r;
    size_t total = 400 * 1000;
    rig_start(&r, TESTNET_SEND_CLOSE, total, 1);
    add(&r, "bandwidth:rate=500"); /* 500 KB/s: 400 KB take 0.8 s */
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    int64_t start = testnet_now_us();
    unsigned char *buf = malloc(total);
    int end;
    size_t got = testnet_recv_all(fd, buf, total, &end, NULL);
    double secs = ms_since(start) / 1000.0;
    cr_assert_eq(got, total);
    cr_assert_eq(end, 0);
    for (size_t i = 0; i < total; i++)
        cr_assert_eq(buf[i], testnet_pattern(i), "byte %zu", i);
    double rate = (double)total / 1000.0 / secs;
    cr_assert(rate > 400 && rate < 600, "measured %.1f KB/s over %.3f s, expected 500 ± 20%%",
              rate, secs);
    free(buf);
    close(fd);
    rig_stop(&r);
}

/* Connect, send "hello", read until the connection ends: what came back,
 * how it ended (0: FIN, else the errno) and when (ms after the send). */
static size_t hello_until_end(struct rig *r, int *end, double *ms)
{
    char buf[64];
    int fd = testnet_connect(r->port);
    cr_assert_geq(fd, 0);
    int64_t start = testnet_now_us();
    cr_assert_eq(testnet_send_all(fd, "hello", 5), 0);
    size_t got = testnet_recv_all(fd, buf, sizeof buf, end, NULL);
    *ms = ms_since(start);
    close(fd);
    return got;
}

Test(fault_proxy, reset_peer_gives_the_client_a_connection_reset)
{
    struct rig r;
    int end;
    double ms;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    add(&r, "upstream:reset_peer:timeout=150");
    cr_assert_eq(hello_until_end(&r, &end, &ms), 0, "the data is swallowed");
    cr_assert_eq(end, ECONNRESET, "expected ECONNRESET, got %s", strerror(end));
    cr_assert(ms >= 150 && ms < 150 + 300, "reset after %.1f ms, expected 150", ms);
    cr_assert_eq(stats(&r).reset_by_toxics, 1);
    rig_stop(&r);
}

Test(fault_proxy, timeout_swallows_data_then_closes_after_its_time)
{
    struct rig r;
    int end;
    double ms;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    add(&r, "timeout:timeout=300");
    cr_assert_eq(hello_until_end(&r, &end, &ms), 0);
    cr_assert_eq(end, 0, "closed with FIN, got %s", strerror(end));
    cr_assert(ms >= 280 && ms < 300 + 300, "closed after %.1f ms, expected 300", ms);
    cr_assert_eq(stats(&r).closed_by_toxics, 1);
    cr_assert_eq(stats(&r).bytes_dropped, 5);
    rig_stop(&r);
}

Test(fault_proxy, timeout_zero_holds_until_removed_and_removal_closes)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    cr_assert_geq(testnet_roundtrip_ms(fd, "before"), 0);
    add(&r, "timeout:timeout=0");
    cr_assert_eq(testnet_send_all(fd, "hello", 5), 0);
    testnet_recv_timeout(fd, 700);
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
              "held: neither data nor close for 700 ms (n=%zd, %s)", n, strerror(errno));
    struct fault_effect effect;
    int64_t start = testnet_now_us();
    del(&r, "timeout_downstream", &effect);
    cr_assert_eq(effect.connections_closed, 1);
    testnet_recv_timeout(fd, 5000);
    n = recv(fd, buf, sizeof buf, 0);
    cr_assert_eq(n, 0, "removal closes the held connection (n=%zd, %s)", n, strerror(errno));
    cr_assert_lt(ms_since(start), 500);
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, limit_data_closes_after_exactly_n_bytes)
{
    struct rig r;
    rig_start(&r, TESTNET_SEND_CLOSE, 100000, 1);
    add(&r, "limit_data:bytes=12345");
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    unsigned char buf[100000];
    int end;
    size_t got = testnet_recv_all(fd, buf, sizeof buf, &end, NULL);
    cr_assert_eq(got, 12345);
    for (size_t i = 0; i < got; i++)
        cr_assert_eq(buf[i], testnet_pattern(i), "byte %zu", i);
    cr_assert_eq(stats(&r).closed_by_toxics, 1);
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, slicer_delivers_the_same_bytes_in_small_delayed_chunks)
{
    struct rig r;
    size_t total = 3000;
    rig_start(&r, TESTNET_SEND_CLOSE, total, 1);
    add(&r, "slicer:average_size=10,size_variation=5,delay=2000");
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    unsigned char buf[4000];
    int end, reads;
    int64_t start = testnet_now_us();
    size_t got = testnet_recv_all(fd, buf, sizeof buf, &end, &reads);
    double ms = ms_since(start);
    cr_assert_eq(got, total);
    cr_assert_eq(end, 0);
    for (size_t i = 0; i < got; i++)
        cr_assert_eq(buf[i], testnet_pattern(i), "byte %zu", i);
    /* About 300 slices 2 ms apart: at least 0.5 s, in well over 100 reads. */
    cr_assert_gt(reads, 100, "only %d reads: the data was not sliced", reads);
    cr_assert_geq(ms, 500, "%.1f ms", ms);
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, slow_close_delays_the_close_but_not_the_data)
{
    struct rig r;
    rig_start(&r, TESTNET_SEND_CLOSE, 100, 1);
    add(&r, "slow_close:delay=400");
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    unsigned char buf[100];
    int64_t start = testnet_now_us();
    cr_assert_eq(testnet_recv_exact(fd, buf, sizeof buf), 0);
    double data_ms = ms_since(start);
    int end;
    cr_assert_eq(testnet_recv_all(fd, buf, sizeof buf, &end, NULL), 0);
    double close_ms = ms_since(start);
    cr_assert_eq(end, 0);
    cr_assert_lt(data_ms, 200, "the data came after %.1f ms", data_ms);
    cr_assert(close_ms >= 400 && close_ms < 400 + 300, "the close came after %.1f ms", close_ms);
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, down_refuses_new_connections_and_closes_open_ones_then_comes_back)
{
    struct rig r;
    struct error err;
    struct fault_effect effect;
    error_init(&err);
    rig_start(&r, TESTNET_ECHO, 0, 1);
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    cr_assert_geq(testnet_roundtrip_ms(fd, "up"), 0);

    cr_assert_eq(fault_proxy_set_down(r.proxy, "app", true, 0, &effect, &err), 0, "%s",
                 err.message);
    cr_assert_eq(effect.connections_closed, 1);
    char buf[16];
    int end;
    cr_assert_eq(testnet_recv_all(fd, buf, sizeof buf, &end, NULL), 0);
    close(fd);
    cr_assert_eq(testnet_connect(r.port), -1);
    cr_assert_eq(errno, ECONNREFUSED, "%s", strerror(errno));
    struct fault_toxic list[4];
    size_t count;
    cr_assert_eq(fault_proxy_list_toxics(r.proxy, "app", list, 4, &count, &err), 0);
    cr_assert_eq(count, 1);
    cr_assert_eq(list[0].type, FAULT_TOXIC_DOWN);

    cr_assert_eq(fault_proxy_set_down(r.proxy, "app", false, 0, NULL, &err), 0, "%s",
                 err.message);
    fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0, "the same port listens again: %s", strerror(errno));
    cr_assert_geq(testnet_roundtrip_ms(fd, "back"), 0);
    close(fd);
    rig_stop(&r);
}

/* Open n connections, send one byte on each, and record which ones the
 * proxy cut (an upstream limit_data of 0 bytes closes at the first byte). */
static void cut_pattern(struct rig *r, int n, bool toxic_first, char *out)
{
    int fds[64];
    if (toxic_first)
        add(r, "upstream:limit_data:bytes=0,toxicity=0.5,name=cut");
    for (int i = 0; i < n; i++) {
        /* Connections are numbered in accept order, which is connect order. */
        fds[i] = testnet_connect(r->port);
        cr_assert_geq(fds[i], 0);
        if (!toxic_first) /* make sure it is open through to the server */
            cr_assert_geq(testnet_roundtrip_ms(fds[i], "a"), 0);
    }
    if (!toxic_first)
        add(r, "upstream:limit_data:bytes=0,toxicity=0.5,name=cut");
    for (int i = 0; i < n; i++) {
        char c;
        cr_assert_eq(testnet_send_all(fds[i], "x", 1), 0);
        ssize_t got = recv(fds[i], &c, 1, 0);
        out[i] = got == 1 ? '.' : 'X';
        close(fds[i]);
    }
    out[n] = '\0';
}

Test(fault_proxy, the_seed_makes_the_toxicity_draws_reproducible)
{
    char a[40], b[40], c[40], d[40];
    struct rig r;

    rig_start(&r, TESTNET_ECHO, 0, 42);
    cut_pattern(&r, 32, true, a);
    rig_stop(&r);
    rig_start(&r, TESTNET_ECHO, 0, 42);
    cut_pattern(&r, 32, false, b); /* toxic added after the connections opened */
    rig_stop(&r);
    rig_start(&r, TESTNET_ECHO, 0, 43);
    cut_pattern(&r, 32, true, c);
    cr_assert_eq(fault_proxy_seed(r.proxy), 43);
    rig_stop(&r);

    cr_assert_str_eq(a, b, "same seed, same draws, whatever the order");
    cr_assert_str_neq(a, c, "another seed draws differently");
    cr_assert(strchr(a, 'X') && strchr(a, '.'), "toxicity 0.5 cuts some, not all: %s", a);
    (void)d;
}

Test(fault_proxy, toxicity_zero_never_applies_and_one_always_does)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 7);
    add(&r, "upstream:limit_data:bytes=0,toxicity=0,name=never");
    int fds[20];
    for (int i = 0; i < 20; i++) {
        fds[i] = testnet_connect(r.port);
        cr_assert_geq(fds[i], 0);
        cr_assert_geq(testnet_roundtrip_ms(fds[i], "fine"), 0, "connection %d was cut", i);
    }
    cr_assert_eq(stats(&r).toxics_applied, 0);
    del(&r, "never", NULL);
    add(&r, "latency:latency=50,toxicity=1,name=always");
    cr_assert_eq(stats(&r).toxics_applied, 20);
    for (int i = 0; i < 20; i++) {
        double ms = testnet_roundtrip_ms(fds[i], "slow");
        cr_assert_geq(ms, 50, "connection %d: %.1f ms", i, ms);
        close(fds[i]);
    }
    rig_stop(&r);
}

Test(fault_proxy, a_sender_is_held_back_when_the_receiver_stops_reading)
{
    struct rig r;
    rig_start(&r, TESTNET_ECHO, 0, 1);
    testnet_server_pause(r.server, true);
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    struct timeval tv = {0, 300 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char chunk[65536];
    size_t sent = 0;
    while (sent < ((size_t)64 << 20)) {
        ssize_t n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    /* Kernel buffers on both hops plus the proxy's bounded 256 KiB. */
    cr_assert_lt(sent, (size_t)48 << 20, "the proxy took %zu bytes without passing them on",
                 sent);
    testnet_server_pause(r.server, false);
    close(fd);
    rig_stop(&r);
}

Test(fault_proxy, a_refused_upstream_closes_the_client_and_is_counted)
{
    struct fault_proxy *p;
    struct error err;
    char bound[64];
    error_init(&err);
    /* A port with nobody listening: bind one, note it, close it. */
    struct testnet_server *gone = testnet_server_start(TESTNET_ECHO, 0);
    char upstream[64];
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", testnet_server_port(gone));
    testnet_server_stop(gone);
    cr_assert_eq(fault_proxy_new(&p, NULL, &err), 0);
    cr_assert_eq(fault_proxy_add_link(p, "x", "127.0.0.1:0", upstream, 0, &err), 0, "%s",
                 err.message);
    fault_proxy_link_address(p, "x", bound, sizeof bound, &err);
    int fd = testnet_connect(atoi(strrchr(bound, ':') + 1));
    cr_assert_geq(fd, 0);
    char buf[8];
    int end;
    cr_assert_eq(testnet_recv_all(fd, buf, sizeof buf, &end, NULL), 0);
    close(fd);
    struct fault_link_stats s;
    fault_proxy_link_stats(p, "x", &s, &err);
    cr_assert_eq(s.upstream_failures, 1);
    fault_proxy_free(p);
}

Test(fault_proxy, control_errors_name_the_link_and_the_toxic)
{
    struct rig r;
    struct error err;
    struct fault_toxic t;
    error_init(&err);
    rig_start(&r, TESTNET_ECHO, 0, 1);
    fault_toxic_parse(&t, "latency:latency=10", &err);
    cr_assert_eq(fault_proxy_add_toxic(r.proxy, "nope", &t, 0, NULL, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "no link 'nope'"), "%s", err.message);
    cr_assert_eq(fault_proxy_add_toxic(r.proxy, "app", &t, 0, NULL, &err), 0);
    cr_assert_eq(fault_proxy_add_toxic(r.proxy, "app", &t, 0, NULL, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "already has a toxic named 'latency_downstream'"), "%s",
              err.message);
    t.stream = FAULT_UPSTREAM;
    cr_assert_eq(fault_proxy_update_toxic(r.proxy, "app", &t, 0, NULL, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "cannot change its type or stream"), "%s", err.message);
    cr_assert_eq(fault_proxy_remove_toxic(r.proxy, "app", "ghost", 0, NULL, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "'ghost'"), "%s", err.message);
    cr_assert_eq(fault_proxy_add_link(r.proxy, "app", "127.0.0.1:0", "127.0.0.1:1", 0, &err),
                 ERR_USAGE);
    cr_assert_eq(fault_proxy_add_link(r.proxy, "b", "127.0.0.1", "127.0.0.1:1", 0, &err),
                 ERR_USAGE);
    cr_assert(strstr(err.message, "HOST:PORT"), "%s", err.message);
    cr_assert_eq(fault_proxy_add_link(r.proxy, "b", "127.0.0.1:0", "127.0.0.1:70000", 0, &err),
                 ERR_USAGE);
    cr_assert(strstr(err.message, "70000"), "%s", err.message);
    cr_assert_eq(fault_proxy_add_link(r.proxy, "b", "::1:0", "127.0.0.1:1", 0, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "brackets"), "%s", err.message);
    rig_stop(&r);
}

/* Load: clients pushing data through the proxy as fast as they can. */
struct pusher {
    int port;
    volatile bool *stop;
    size_t bytes;
};

static void *push_main(void *arg)
{
    struct pusher *pu = arg;
    static __thread char buf[65536];
    int fd = testnet_connect(pu->port);
    if (fd < 0)
        return NULL;
    while (!*pu->stop) {
        if (testnet_send_all(fd, buf, sizeof buf) != 0 ||
            testnet_recv_exact(fd, buf, sizeof buf) != 0)
            break;
        pu->bytes += sizeof buf;
    }
    close(fd);
    return NULL;
}

Test(fault_proxy, control_calls_return_within_their_deadline_under_load)
{
    struct rig r;
    volatile bool stop = false;
    pthread_t threads[8];
    struct pusher pushers[8];
    struct error err;
    error_init(&err);
    rig_start(&r, TESTNET_ECHO, 0, 1);
    for (int i = 0; i < 8; i++) {
        pushers[i] = (struct pusher){r.port, &stop, 0};
        pthread_create(&threads[i], NULL, push_main, &pushers[i]);
    }
    usleep(200 * 1000);
    double worst = 0;
    for (int i = 0; i < 40; i++) {
        struct fault_toxic t;
        fault_toxic_parse(&t, i % 2 ? "upstream:bandwidth:rate=100000" : "latency:latency=1",
                          &err);
        int64_t start = testnet_now_us();
        cr_assert_eq(fault_proxy_add_toxic(r.proxy, "app", &t, 500, NULL, &err), 0, "%s",
                     err.message);
        cr_assert_eq(fault_proxy_remove_toxic(r.proxy, "app", t.name, 500, NULL, &err), 0, "%s",
                     err.message);
        double ms = ms_since(start);
        if (ms > worst)
            worst = ms;
    }
    stop = true;
    size_t moved = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        moved += pushers[i].bytes;
    }
    cr_assert_gt(moved, (size_t)8 << 20, "the load was real: %zu bytes", moved);
    cr_assert_lt(worst, 1000, "the slowest add+remove took %.1f ms", worst);
    rig_stop(&r);
}

Test(fault_proxy, clients_that_reset_mid_transfer_are_cleaned_up)
{
    struct rig r;
    static char burst[1 << 20];
    rig_start(&r, TESTNET_ECHO, 0, 1);
    for (int round = 0; round < 20; round++) {
        int fd = testnet_connect(r.port);
        cr_assert_geq(fd, 0);
        struct timeval tv = {0, 100 * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        send(fd, burst, sizeof burst, MSG_NOSIGNAL); /* as much as goes in 100 ms */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd); /* RST with data in flight both ways */
    }
    int fd = testnet_connect(r.port);
    cr_assert_geq(fd, 0);
    cr_assert_geq(testnet_roundtrip_ms(fd, "still here"), 0);
    close(fd);
    for (int i = 0; i < 200 && stats(&r).connections_open > 0; i++)
        usleep(10000);
    cr_assert_eq(stats(&r).connections_open, 0);
    cr_assert_eq(stats(&r).connections_total, 21);
    rig_stop(&r);
}
