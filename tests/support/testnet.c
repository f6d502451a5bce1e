#include "testnet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 512

struct testnet_conn {
    struct testnet_server *server;
    int fd;
    pthread_t thread;
};

struct testnet_server {
    enum testnet_mode mode;
    size_t send_bytes;
    int listen_fd;
    int stop_pipe[2];
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    bool paused;
    bool stopping;
    struct testnet_conn conns[CONNS_MAX];
    unsigned nconns;
};

static void die(const char *what)
{
    fprintf(stderr, "testnet: %s: %s\n", what, strerror(errno));
    abort();
}

int64_t testnet_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

unsigned char testnet_pattern(size_t i)
{
    return (unsigned char)((i * 7 + (i >> 8) * 13) & 0xff);
}

static bool is_paused(struct testnet_server *s)
{
    pthread_mutex_lock(&s->mu);
    bool p = s->paused && !s->stopping;
    pthread_mutex_unlock(&s->mu);
    return p;
}

static void *conn_main(void *arg)
{
    struct testnet_conn *c = arg;
    struct testnet_server *s = c->server;
    char buf[65536];

    if (s->mode == TESTNET_SEND_CLOSE) {
        size_t sent = 0;
        while (sent < s->send_bytes) {
            size_t n = s->send_bytes - sent < sizeof buf ? s->send_bytes - sent : sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)testnet_pattern(sent + i);
            if (testnet_send_all(c->fd, buf, n) != 0)
                break;
            sent += n;
        }
        shutdown(c->fd, SHUT_WR);
    }
    for (;;) {
        while (is_paused(s))
            usleep(5000);
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (s->mode == TESTNET_ECHO && testnet_send_all(c->fd, buf, (size_t)n) != 0)
            break;
    }
    shutdown(c->fd, SHUT_WR); /* the client sees our FIN; close() waits for stop */
    return NULL;
}

static void *accept_main(void *arg)
{
    struct testnet_server *s = arg;
    for (;;) {
        struct pollfd fds[2] = {{s->listen_fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_mutex_lock(&s->mu);
        if (s->nconns == CONNS_MAX || s->stopping) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        struct testnet_conn *c = &s->conns[s->nconns];
        c->server = s;
        c->fd = fd;
        if (pthread_create(&c->thread, NULL, conn_main, c) == 0)
            s->nconns++;
        else
            close(fd);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

struct testnet_server *testnet_server_start(enum testnet_mode mode, size_t send_bytes)
{
    struct testnet_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof addr;
    int one = 1;

    if (!s)
        die("calloc");
    s->mode = mode;
    s->send_bytes = send_bytes;
    pthread_mutex_init(&s->mu, NULL);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
        die("socket");
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(s->listen_fd, 256) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) != 0)
        die("listen");
    s->port = ntohs(addr.sin_port);
    if (pipe(s->stop_pipe) != 0)
        die("pipe");
    if (pthread_create(&s->thread, NULL, accept_main, s) != 0)
        die("pthread_create");
    return s;
}

int testnet_server_port(const struct testnet_server *s)
{
    return s->port;
}

void testnet_server_pause(struct testnet_server *s, bool paused)
{
    pthread_mutex_lock(&s->mu);
    s->paused = paused;
    pthread_mutex_unlock(&s->mu);
}

unsigned testnet_server_accepted(struct testnet_server *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->nconns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void testnet_server_stop(struct testnet_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    if (write(s->stop_pipe[1], "x", 1) != 1)
        die("write");
    pthread_join(s->thread, NULL);
    for (unsigned i = 0; i < s->nconns; i++)
        shutdown(s->conns[i].fd, SHUT_RDWR);
    for (unsigned i = 0; i < s->nconns; i++) {
        pthread_join(s->conns[i].thread, NULL);
        close(s->conns[i].fd);
    }
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void testnet_recv_timeout(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int testnet_connect(int port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {10, 0};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int testnet_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int testnet_recv_exact(int fd, void *out, size_t len)
{
    char *p = out;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

size_t testnet_recv_all(int fd, void *out, size_t max, int *end_errno, int *reads)
{
    char scratch[65536];
    size_t total = 0;
    if (reads)
        *reads = 0;
    for (;;) {
        char *dst = total < max ? (char *)out + total : scratch;
        size_t room = total < max ? max - total : sizeof scratch;
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *end_errno = n == 0 ? 0 : errno;
            return total;
        }
        total += (size_t)n;
        if (reads)
            (*reads)++;
    }
}

double testnet_roundtrip_ms(int fd, const char *msg)
{
    char back[4096];
    size_t len = strlen(msg);
    int64_t start = testnet_now_us();
    if (len > sizeof back || testnet_send_all(fd, msg, len) != 0 ||
        testnet_recv_exact(fd, back, len) != 0 || memcmp(back, msg, len) != 0)
        return -1;
    return (double)(testnet_now_us() - start) / 1000.0;
}
