/* `rehearse capture -i lo`: a real HTTP server on loopback, real client
 * requests (libcurl), captured live and stopped by --duration or by
 * SIGINT; the trace must be complete and valid either way.  Needs root
 * (CI runs as root); skipped otherwise. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "tracecheck.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(capture_live, .init = setup, .fini = teardown, .timeout = 60);

/* ---- a small keep-alive HTTP server ------------------------------------ */

struct server {
    int fd;
    int port;
    pthread_t thread;
};

/* Answer each request on one connection with its path as the body. */
static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    size_t have = 0;

    for (;;) {
        char *end = memmem(buf, have, "\r\n\r\n", 4);
        if (!end) {
            ssize_t n = read(fd, buf + have, sizeof buf - have);
            if (n <= 0)
                break;
            have += (size_t)n;
            continue;
        }
        size_t head = (size_t)(end + 4 - buf), body = 0;
        char *cl = strcasestr(buf, "content-length:");
        if (cl && cl < end)
            body = strtoul(cl + 15, NULL, 10);
        while (have < head + body) {
            ssize_t n = read(fd, buf + have, sizeof buf - have);
            if (n <= 0)
                goto out;
            have += (size_t)n;
        }
        char path[256] = "", resp[512];
        sscanf(buf, "%*s %255s", path);
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: %zu\r\n\r\n%s", strlen(path), path);
        if (write(fd, resp, (size_t)len) != len)
            break;
        memmove(buf, buf + head + body, have - head - body);
        have -= head + body;
    }
out:
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)c);
        pthread_detach(t);
    }
}

static void server_start(struct server *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(s->fd >= 0);
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->fd, 16), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, accept_loop, s);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

/* ---- the capture process ------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

/* Three GETs on one keep-alive connection, then a POST on another. */
static void make_requests(int port)
{
    char url[128];
    CURL *c = curl_easy_init();
    cr_assert(c);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    for (int i = 1; i <= 3; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/get/%d", port, i);
        curl_easy_setopt(c, CURLOPT_URL, url);
        cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    }
    curl_easy_cleanup(c);
    c = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d/post", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "name=ada");
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
}

/* Start `rehearse capture -i lo --port P -o TRACE [extra]`, stderr to a
 * file; return once it says it is capturing. */
static pid_t start_capture(int port, const char *trace, const char *errpath, const char *extra1,
                           const char *extra2)
{
    char portarg[16];
    snprintf(portarg, sizeof portarg, "%d", port);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        const char *argv[] = {test_rehearse_bin(), "capture", "-i", "lo", "--port", portarg,
                              "-o", trace, extra1, extra2, NULL};
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        char *text = test_read_file(errpath, NULL);
        bool ready = text && strstr(text, "capturing on lo");
        free(text);
        if (ready)
            return pid;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert_fail("rehearse capture did not start capturing within 10 s");
    return -1;
}

static int wait_exit(pid_t pid, int timeout_s)
{
    int status;
    for (int i = 0; i < timeout_s * 20; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    cr_assert_fail("rehearse capture did not stop");
    return -1;
}

static void check_trace(const char *trace, const char *errpath)
{
    struct trace_lines t;
    char partial[512];
    char *err = test_read_file(errpath, NULL);

    snprintf(partial, sizeof partial, "%s.partial", trace);
    cr_expect(access(partial, F_OK) != 0, "the .partial file was renamed");
    trace_lines_load(&t, trace);
    cr_assert(t.summary, "the summary line was written; stderr: %s", err);
    cr_expect_str_eq(jstr(t.header, "source.kind"), "interface");
    cr_expect_str_eq(jstr(t.header, "source.name"), "lo");
    cr_assert_eq(tx_count(&t), 4, "stderr: %s", err);
    for (int i = 0; i < 3; i++) {
        char target[32];
        snprintf(target, sizeof target, "/get/%d", i + 1);
        json_t *tx = tx_get(&t, (size_t)i);
        cr_expect_str_eq(jstr(tx, "request.target"), target);
        cr_expect_eq(jint(tx, "response.status"), 200);
        cr_expect_str_eq(jstr(tx, "response.body"), target);
        cr_expect_eq(jint(tx, "conn"), jint(tx_get(&t, 0), "conn"), "one keep-alive connection");
        cr_expect_eq(json_array_size(json_object_get(tx, "flags")), 0);
    }
    json_t *post = tx_get(&t, 3);
    cr_expect_str_eq(jstr(post, "request.method"), "POST");
    cr_expect_str_eq(jstr(post, "request.body"), "name=ada");
    cr_expect_str_eq(jstr(post, "response.body"), "/post");
    cr_expect_neq(jint(post, "conn"), jint(tx_get(&t, 0), "conn"));
    cr_expect_eq(jint(t.summary, "transactions"), 4);
    cr_expect_eq(skipped_count(&t, "gap"), 0);
    cr_expect_eq(skipped_count(&t, "kernel_drop"), 0);
    cr_expect(strstr(err, "4 transactions written"), "%s", err);
    trace_lines_free(&t);
    free(err);
}

Test(capture_live, a_capture_on_loopback_stops_after_its_duration)
{
    struct server s;
    const char *trace = test_path(dir, "live.jsonl");
    const char *errpath = test_path(dir, "live.err");

    if (geteuid() != 0)
        cr_skip_test("live capture needs root");
    server_start(&s);
    pid_t pid = start_capture(s.port, trace, errpath, "--duration", "3s");
    make_requests(s.port);
    cr_expect_eq(wait_exit(pid, 20), 0);
    server_stop(&s);
    check_trace(trace, errpath);
}

Test(capture_live, sigint_stops_a_live_capture_cleanly)
{
    struct server s;
    const char *trace = test_path(dir, "int.jsonl");
    const char *errpath = test_path(dir, "int.err");

    if (geteuid() != 0)
        cr_skip_test("live capture needs root");
    server_start(&s);
    pid_t pid = start_capture(s.port, trace, errpath, NULL, NULL);
    make_requests(s.port);
    usleep(200000);
    kill(pid, SIGINT);
    cr_expect_eq(wait_exit(pid, 20), 0);
    server_stop(&s);
    check_trace(trace, errpath);
}

Test(capture_live, an_unknown_interface_is_a_usage_error)
{
    struct run_result res;
    if (geteuid() != 0)
        cr_skip_test("live capture needs root");
    cr_assert_eq(test_rehearse(&res, 20, "capture", "-i", "no-such-if0", "-o",
                               test_path(dir, "x.jsonl"), NULL), 0);
    cr_expect_eq(res.exit_code, 2, "%s", res.err);
    cr_expect(strstr(res.err, "no-such-if0") && strstr(res.err, "ip link"), "%s", res.err);
    test_run_free(&res);
}
