/* `rehearse proxy`: the real binary relaying to a real server, changed at
 * runtime through its standard input, stopped by a signal; and its usage
 * errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testnet.h"
#include "testutil.h"

TestSuite(cmd_proxy, .timeout = 60);

struct child {
    pid_t pid;
    int in, out;          /* its stdin (we write), its stdout (we read) */
    char buf[16384];
    size_t len;
};

static void child_start(struct child *c, char *const argv[])
{
    int in[2], out[2];
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    c->len = 0;
    c->pid = fork();
    cr_assert_geq(c->pid, 0);
    if (c->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->in = in[1];
    c->out = out[0];
}

/* Wait (up to 10 s) for a stdout line starting with prefix; returns it
 * (in c->buf, valid until the next call). */
static const char *child_line(struct child *c, const char *prefix)
{
    int64_t deadline = testnet_now_us() + 10 * 1000000;
    size_t plen = strlen(prefix);
    for (;;) {
        char *start = c->buf;
        char *nl;
        while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
            *nl = '\0';
            if (strncmp(start, prefix, plen) == 0) {
                static char line[4096];
                snprintf(line, sizeof line, "%s", start);
                size_t used = (size_t)(nl + 1 - c->buf);
                memmove(c->buf, nl + 1, c->len - used);
                c->len -= used;
                return line;
            }
            start = nl + 1;
        }
        /* Drop the lines that did not match. */
        size_t used = (size_t)(start - c->buf);
        memmove(c->buf, start, c->len - used);
        c->len -= used;
        int left = (int)((deadline - testnet_now_us()) / 1000);
        cr_assert_gt(left, 0, "no line starting with '%s' from rehearse proxy", prefix);
        struct pollfd pfd = {c->out, POLLIN, 0};
        poll(&pfd, 1, left);
        ssize_t n = read(c->out, c->buf + c->len, sizeof c->buf - c->len - 1);
        cr_assert_gt(n, 0, "rehearse proxy ended before printing '%s'", prefix);
        c->len += (size_t)n;
    }
}

static void child_say(struct child *c, const char *line)
{
    cr_assert_eq(write(c->in, line, strlen(line)), (ssize_t)strlen(line));
}

static int child_stop(struct child *c, int sig)
{
    int status;
    kill(c->pid, sig);
    cr_assert_eq(waitpid(c->pid, &status, 0), c->pid);
    close(c->in);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int port_of(const char *link_line)
{
    /* "link NAME 127.0.0.1:PORT -> ..." */
    const char *arrow = strstr(link_line, " -> ");
    cr_assert_not_null(arrow, "%s", link_line);
    const char *p = arrow;
    while (p > link_line && p[-1] != ':')
        p--;
    return atoi(p);
}

Test(cmd_proxy, relays_with_toxics_changes_them_from_stdin_and_prints_counters_on_sigterm)
{
    struct testnet_server *server = testnet_server_start(TESTNET_ECHO, 0);
    char upstream[64];
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", testnet_server_port(server));
    char *argv[] = {(char *)test_rehearse_bin(), "proxy", "--listen", "127.0.0.1:0",
                    "--upstream", upstream, "--name", "web",
                    "--toxic", "latency:latency=200", "--seed", "99", NULL};
    struct child c;
    child_start(&c, argv);
    cr_assert_str_eq(child_line(&c, "seed "), "seed 99");
    int port = port_of(child_line(&c, "link web "));
    cr_assert(strstr(child_line(&c, "toxic web "), "latency=200"));
    child_line(&c, "ready");

    int fd = testnet_connect(port);
    cr_assert_geq(fd, 0);
    double ms = testnet_roundtrip_ms(fd, "hello");
    cr_assert(ms >= 200 && ms < 450, "%.1f ms", ms);

    child_say(&c, "remove latency_downstream\n");
    cr_assert(strstr(child_line(&c, "ok web removed"), "affected 1"));
    ms = testnet_roundtrip_ms(fd, "hello");
    cr_assert(ms >= 0 && ms < 100, "%.1f ms", ms);

    child_say(&c, "add upstream:latency:latency=150,name=slow\n");
    child_line(&c, "ok web added");
    child_say(&c, "list\n");
    cr_assert(strstr(child_line(&c, "toxic web "), "name=slow"));
    ms = testnet_roundtrip_ms(fd, "hello");
    cr_assert(ms >= 150, "%.1f ms", ms);

    child_say(&c, "down\n");
    cr_assert(strstr(child_line(&c, "ok web down"), "closed 1"));
    close(fd);
    cr_assert_eq(testnet_connect(port), -1);
    child_say(&c, "up\n");
    child_line(&c, "ok web up");

    cr_assert_eq(child_stop(&c, SIGTERM), 0);
    const char *stats = child_line(&c, "stats web ");
    cr_assert(strstr(stats, "connections=1 "), "%s", stats);
    cr_assert(strstr(stats, "bytes_upstream=15 "), "%s", stats);
    cr_assert(strstr(stats, "closed_by_toxics=1 "), "%s", stats);
    close(c.out);
    testnet_server_stop(server);
}

struct bad_case {
    const char *args[8];
    const char *needle;
};

Test(cmd_proxy, bad_command_lines_are_usage_errors_that_name_the_token)
{
    static const struct bad_case cases[] = {
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic", "latency:latncy=5"},
         "unknown attribute 'latncy'"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic", "jitter:latency=5"},
         "unknown toxic type 'jitter'"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic",
          "latency:latency=-1"},
         "latency '-1': must not be negative"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--toxic",
          "latency:toxicity=1.01"},
         "toxicity '1.01'"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--seed", "-3"}, "--seed"},
        {{"--toxic", "latency"}, "must follow the --listen"},
        {{"--listen", "127.0.0.1:0"}, "has no --upstream"},
        {{"--upstream", "127.0.0.1:1"}, "must follow its own --listen"},
        {{"--listen", "nowhere", "--upstream", "127.0.0.1:1"}, "expected HOST:PORT"},
        {{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:99999"}, "99999"},
        {{NULL}, "expected --listen"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[12] = {(char *)test_rehearse_bin(), "proxy"};
        int argc = 2;
        for (int j = 0; cases[i].args[j]; j++)
            argv[argc++] = (char *)cases[i].args[j];
        argv[argc] = NULL;
        struct run_result res;
        cr_assert_eq(test_run(&res, argv, 10), 0);
        cr_assert_eq(res.exit_code, 2, "case %zu: exit %d: %s", i, res.exit_code, res.err);
        cr_assert(strstr(res.err, cases[i].needle), "case %zu: %s", i, res.err);
        test_run_free(&res);
    }
}

Test(cmd_proxy, a_port_in_use_is_an_environment_error)
{
    struct testnet_server *server = testnet_server_start(TESTNET_ECHO, 0);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", testnet_server_port(server));
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 10, "proxy", "--listen", taken, "--upstream", taken, NULL),
                 0);
    cr_assert_eq(res.exit_code, 3, "%s", res.err);
    cr_assert(strstr(res.err, "cannot listen on"), "%s", res.err);
    cr_assert(strstr(res.err, "in use"), "%s", res.err);
    test_run_free(&res);
    testnet_server_stop(server);
}

Test(cmd_proxy, help_lists_every_toxic)
{
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 10, "proxy", "--help", NULL), 0);
    cr_assert_eq(res.exit_code, 0);
    static const char *types[] = {"latency", "bandwidth", "slow_close", "timeout",
                                  "reset_peer", "slicer", "limit_data", "down"};
    for (size_t i = 0; i < 8; i++)
        cr_assert(strstr(res.out, types[i]), "%s", types[i]);
    test_run_free(&res);
}
