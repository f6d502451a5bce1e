/*
 * fault_proxy.c — the fault proxy's control side: links, toxics and
 * counters, reached from any thread.
 *
 * Control calls validate against, and update, the configuration kept under
 * `mu` (so a second call already sees the first one's toxic), queue an
 * operation, wake the event thread (fault_loop.c) through an eventfd and
 * wait on `cv` until the operation is done or their deadline passes.  The
 * event thread takes `mu` only to dequeue operations and to mark them done,
 * never while doing I/O.  An operation whose caller gave up is freed by the
 * event thread.
 */
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fault_loop.h"
#include "now.h"

#define SCRATCH_SIZE (64 * 1024)
#define DEFAULT_BUFFER_MAX (256 * 1024)

/* ---- control side -------------------------------------------------------- */

static int deadline_ms_or_default(int ms)
{
    return ms > 0 ? ms : FAULT_PROXY_DEADLINE_MS;
}

/* Queue op (mu held), wake the event thread and wait for it, at most
 * deadline_ms.  On success the caller owns op again and frees it; on a
 * timeout the event thread frees it. */
static int submit_locked(struct fault_proxy *p, struct fp_op *op, int deadline_ms,
                         const char *what, struct error *err)
{
    struct timespec until;
    uint64_t one = 1;
    int ms = deadline_ms_or_default(deadline_ms);

    if (p->ops_tail)
        p->ops_tail->next = op;
    else
        p->ops_head = op;
    p->ops_tail = op;
    if (write(p->wakefd, &one, sizeof one) < 0 && errno != EAGAIN) {
        /* eventfd writes only fail when the counter is full: it is awake */
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!op->done) {
        int rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
        if (rc == ETIMEDOUT && !op->done) {
            op->abandoned = true;
            return error_set(err, ERR_STATE,
                             "fault proxy: %s was not applied within %d ms; it stays queued "
                             "and applies when the proxy thread catches up",
                             what, ms);
        }
    }
    return 0;
}

static struct fp_link *link_find_locked(struct fault_proxy *p, const char *name,
                                        struct error *err)
{
    for (size_t i = 0; i < p->nlinks; i++)
        if (strcmp(p->links[i]->name, name) == 0)
            return p->links[i];
    if (p->nlinks == 0)
        error_set(err, ERR_USAGE, "fault proxy: no link '%s': the proxy has no links yet",
                  name);
    else
        error_set(err, ERR_USAGE, "fault proxy: no link '%s' (links: %s%s)", name,
                  p->links[0]->name, p->nlinks > 1 ? ", ..." : "");
    return NULL;
}

static int config_find(const struct fp_link *link, const char *name)
{
    for (size_t i = 0; i < link->nconfig; i++)
        if (strcmp(link->config[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int config_find_type(const struct fp_link *link, enum fault_toxic_type type)
{
    for (size_t i = 0; i < link->nconfig; i++)
        if (link->config[i].type == type)
            return (int)i;
    return -1;
}

/* Begin a control call on a link: allocate its operation, take mu, find
 * the link.  On success *out holds the operation and mu is held. */
static int call_begin(struct fault_proxy *p, const char *link_name, enum fp_op_kind kind,
                      struct fp_op **out, struct error *err)
{
    struct fp_op *op = calloc(1, sizeof *op);
    *out = NULL;
    if (!op)
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    pthread_mutex_lock(&p->mu);
    op->kind = kind;
    op->link = link_find_locked(p, link_name, err);
    if (!op->link) {
        pthread_mutex_unlock(&p->mu);
        free(op);
        return ERR_USAGE;
    }
    *out = op;
    return 0;
}

/* Give up a call that call_begin started (its checks failed). */
static int call_cancel(struct fault_proxy *p, struct fp_op *op, int rc)
{
    pthread_mutex_unlock(&p->mu);
    fault_op_free(op);
    return rc;
}

/* Run a call that call_begin started: queue it, wait, hand its results out,
 * release mu.  `what` names it for the deadline message. */
static int call_run(struct fault_proxy *p, struct fp_op *op, int deadline_ms,
                    struct fault_effect *effect, struct error *err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int call_run(struct fault_proxy *p, struct fp_op *op, int deadline_ms,
                    struct fault_effect *effect, struct error *err, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int rc = submit_locked(p, op, deadline_ms, what, err);
    pthread_mutex_unlock(&p->mu);
    if (rc)
        return rc; /* the event thread frees the operation */
    if (effect)
        *effect = op->effect;
    if (op->kind == OP_PORTS) {
        size_t n = op->ports_count < op->ports_max ? op->ports_count : op->ports_max;
        if (n)
            memcpy(op->dest_ports, op->ports, n * sizeof *op->ports);
        *op->dest_count = op->ports_count;
    }
    fault_op_free(op);
    return 0;
}

int fault_proxy_add_toxic(struct fault_proxy *p, const char *link_name,
                          const struct fault_toxic *t, int deadline_ms,
                          struct fault_effect *effect, struct error *err)
{
    struct fp_op *op;
    struct fp_link *link;
    int rc;

    if ((rc = fault_toxic_validate(t, err)))
        return rc;
    if ((rc = call_begin(p, link_name, OP_ADD_TOXIC, &op, err)))
        return rc;
    link = op->link;
    if (config_find(link, t->name) >= 0)
        return call_cancel(p, op, error_set(err, ERR_USAGE,
                           "fault proxy: link '%s' already has a toxic named '%s'; remove or "
                           "update it, or give the new one another name", link_name, t->name));
    if (t->type == FAULT_TOXIC_DOWN && config_find_type(link, FAULT_TOXIC_DOWN) >= 0)
        return call_cancel(p, op, error_set(err, ERR_USAGE,
                           "fault proxy: link '%s' is already down", link_name));
    if (link->nconfig == FAULT_PROXY_TOXICS_MAX)
        return call_cancel(p, op, error_set(err, ERR_USAGE,
                           "fault proxy: link '%s' already has %d toxics, the most it can hold",
                           link_name, FAULT_PROXY_TOXICS_MAX));
    link->config[link->nconfig++] = *t;
    op->toxic = *t;
    return call_run(p, op, deadline_ms, effect, err, "adding toxic '%s' to link '%s'", t->name,
                    link_name);
}

int fault_proxy_update_toxic(struct fault_proxy *p, const char *link_name,
                             const struct fault_toxic *t, int deadline_ms,
                             struct fault_effect *effect, struct error *err)
{
    struct fp_op *op;
    struct fp_link *link;
    int rc, i;

    if ((rc = fault_toxic_validate(t, err)))
        return rc;
    if ((rc = call_begin(p, link_name, OP_UPDATE_TOXIC, &op, err)))
        return rc;
    link = op->link;
    if ((i = config_find(link, t->name)) < 0)
        return call_cancel(p, op, error_set(err, ERR_USAGE,
                           "fault proxy: link '%s' has no toxic named '%s' to update", link_name,
                           t->name));
    if (link->config[i].type != t->type || link->config[i].stream != t->stream)
        return call_cancel(p, op, error_set(err, ERR_USAGE,
                           "fault proxy: toxic '%s' on link '%s' is %s %s; an update cannot "
                           "change its type or stream (remove it and add a new one)",
                           t->name, link_name, fault_stream_name(link->config[i].stream),
                           fault_toxic_type_name(link->config[i].type)));
    link->config[i] = *t;
    op->toxic = *t;
    return call_run(p, op, deadline_ms, effect, err, "updating toxic '%s' on link '%s'", t->name,
                    link_name);
}

int fault_proxy_remove_toxic(struct fault_proxy *p, const char *link_name, const char *name,
                             int deadline_ms, struct fault_effect *effect, struct error *err)
{
    struct fp_op *op;
    struct fp_link *link;
    int rc, i;

    if ((rc = call_begin(p, link_name, OP_REMOVE_TOXIC, &op, err)))
        return rc;
    link = op->link;
    if ((i = config_find(link, name)) < 0)
        return call_cancel(p, op, error_set(err, ERR_USAGE,
                           "fault proxy: link '%s' has no toxic named '%s'", link_name, name));
    op->toxic = link->config[i];
    memmove(&link->config[i], &link->config[i + 1],
            (link->nconfig - (size_t)i - 1) * sizeof link->config[0]);
    link->nconfig--;
    return call_run(p, op, deadline_ms, effect, err, "removing toxic '%s' from link '%s'", name,
                    link_name);
}

int fault_proxy_set_down(struct fault_proxy *p, const char *link_name, bool down,
                         int deadline_ms, struct fault_effect *effect, struct error *err)
{
    struct fault_toxic t;
    char name[FAULT_TOXIC_NAME_MAX];
    struct fp_link *link;
    int i;

    pthread_mutex_lock(&p->mu);
    link = link_find_locked(p, link_name, err);
    i = link ? config_find_type(link, FAULT_TOXIC_DOWN) : -1;
    if (i >= 0)
        snprintf(name, sizeof name, "%s", link->config[i].name);
    pthread_mutex_unlock(&p->mu);
    if (!link)
        return ERR_USAGE;
    if (down == (i >= 0)) { /* already so: nothing to do */
        if (effect) {
            memset(effect, 0, sizeof *effect);
            effect->applied_at_us = now_wall_us();
        }
        return 0;
    }
    if (!down)
        return fault_proxy_remove_toxic(p, link_name, name, deadline_ms, effect, err);
    fault_toxic_init(&t, FAULT_TOXIC_DOWN, FAULT_DOWNSTREAM);
    return fault_proxy_add_toxic(p, link_name, &t, deadline_ms, effect, err);
}

int fault_proxy_list_toxics(struct fault_proxy *p, const char *link_name,
                            struct fault_toxic *out, size_t max, size_t *count,
                            struct error *err)
{
    struct fp_link *link;

    pthread_mutex_lock(&p->mu);
    link = link_find_locked(p, link_name, err);
    if (link) {
        for (size_t i = 0; i < link->nconfig && i < max; i++)
            out[i] = link->config[i];
        *count = link->nconfig;
    }
    pthread_mutex_unlock(&p->mu);
    return link ? 0 : ERR_USAGE;
}

int fault_proxy_link_stats(struct fault_proxy *p, const char *link_name,
                           struct fault_link_stats *out, struct error *err)
{
    struct fp_link *link;

    pthread_mutex_lock(&p->mu);
    link = link_find_locked(p, link_name, err);
    pthread_mutex_unlock(&p->mu);
    if (!link)
        return ERR_USAGE;
    _Static_assert(sizeof(struct fault_link_stats) % sizeof(uint64_t) == 0,
                   "fault_link_stats holds only uint64_t counters");
    const uint64_t *src = (const uint64_t *)&link->stats;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof *out / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    return 0;
}

int fault_proxy_link_upstream_ports(struct fault_proxy *p, const char *link_name, int *ports,
                                    size_t max, size_t *count, int deadline_ms,
                                    struct error *err)
{
    struct fp_op *op;
    int rc = call_begin(p, link_name, OP_PORTS, &op, err);
    if (rc)
        return rc;
    /* The event thread fills the operation's own array: if we give up
     * waiting, it must not write into the caller's. */
    if (max && !(op->ports = calloc(max, sizeof *ports)))
        return call_cancel(p, op, error_set(err, ERR_NOMEM, "fault proxy: out of memory"));
    op->ports_max = max;
    op->dest_ports = ports;
    op->dest_count = count;
    return call_run(p, op, deadline_ms, NULL, err, "listing the upstream ports of link '%s'",
                    link_name);
}

/* ---- addresses and links -------------------------------------------------- */

/* Split "host:port" or "[v6]:port". */
static int split_address(const char *text, const char *what, char *host, size_t host_size,
                         char *port, size_t port_size, struct error *err)
{
    const char *colon, *h = text;
    size_t hlen;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return error_set(err, ERR_USAGE,
                             "%s '%s': expected [IPV6]:PORT, e.g. [::1]:5432", what, text);
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return error_set(err, ERR_USAGE,
                             "%s '%s': expected HOST:PORT, e.g. 127.0.0.1:5432", what, text);
        hlen = (size_t)(colon - text);
        if (memchr(text, ':', hlen))
            return error_set(err, ERR_USAGE,
                             "%s '%s': an IPv6 address needs brackets, e.g. [::1]:5432", what,
                             text);
    }
    if (hlen == 0 || hlen >= host_size)
        return error_set(err, ERR_USAGE, "%s '%s': expected a host before ':PORT'", what, text);
    const char *pt = colon + 1;
    size_t plen = strlen(pt);
    char *end;
    long v = strtol(pt, &end, 10);
    if (plen == 0 || plen >= port_size || *end || v < 0 || v > 65535 ||
        pt[strspn(pt, "0123456789")] != '\0')
        return error_set(err, ERR_USAGE, "%s '%s': the port must be a number from 0 to 65535",
                         what, text);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, port_size, "%s", pt);
    return 0;
}

static int resolve(const char *text, const char *what, bool passive,
                   struct sockaddr_storage *out, socklen_t *out_len, struct error *err)
{
    char host[256], port[8];
    struct addrinfo hints = {0}, *res = NULL;
    int rc;

    if ((rc = split_address(text, what, host, sizeof host, port, sizeof port, err)))
        return rc;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return error_set(err, ERR_NETWORK, "%s '%s': cannot resolve '%s': %s", what, text, host,
                         gai_strerror(rc));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *out_len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int sockaddr_port(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
                                           : ((const struct sockaddr_in *)ss)->sin_port);
}

static void sockaddr_set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static void format_address(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof ip);
        snprintf(out, size, "[%s]:%d", ip, sockaddr_port(ss));
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof ip);
        snprintf(out, size, "%s:%d", ip, sockaddr_port(ss));
    }
}

static int bind_listener(struct sockaddr_storage *addr, socklen_t len, int *out)
{
    int one = 1;
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)addr, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *out = fd;
    return 0;
}

/*
 * Listen on addr.  A socket bound to port 0 forgets its port when it stops
 * listening (down), so port 0 is first turned into a concrete free port
 * and the listener bound to that explicitly.
 */
static int open_listener(struct sockaddr_storage *addr, socklen_t len, int *out)
{
    if (sockaddr_port(addr) != 0)
        return bind_listener(addr, len, out);
    for (int attempt = 0; attempt < 20; attempt++) {
        struct sockaddr_storage probe = *addr;
        socklen_t plen = len;
        int fd;
        if (bind_listener(&probe, len, &fd) != 0)
            return -1;
        getsockname(fd, (struct sockaddr *)&probe, &plen);
        close(fd);
        struct sockaddr_storage fixed = *addr;
        sockaddr_set_port(&fixed, sockaddr_port(&probe));
        if (bind_listener(&fixed, len, out) == 0) {
            *addr = fixed;
            return 0;
        }
        if (errno != EADDRINUSE)
            return -1;
    }
    errno = EADDRINUSE;
    return -1;
}

int fault_proxy_add_link(struct fault_proxy *p, const char *name, const char *listen_text,
                         const char *upstream, int deadline_ms, struct error *err)
{
    struct fp_link *link = NULL;
    struct sockaddr_storage laddr;
    socklen_t llen;
    struct fp_op *op = NULL;
    char what[160];
    int rc;

    if (!*name || strlen(name) >= FAULT_PROXY_LINK_NAME_MAX || strpbrk(name, " \t\n"))
        return error_set(err, ERR_USAGE,
                         "fault proxy: link name '%s': expected 1 to %d characters, no spaces",
                         name, FAULT_PROXY_LINK_NAME_MAX - 1);
    if (!(link = calloc(1, sizeof *link)) || !(op = calloc(1, sizeof *op))) {
        free(link);
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    }
    link->listen_fd = -1;
    snprintf(link->name, sizeof link->name, "%s", name);
    snprintf(link->upstream_text, sizeof link->upstream_text, "%s", upstream);
    if ((rc = resolve(upstream, "upstream", false, &link->upstream, &link->upstream_len, err)) ||
        (rc = resolve(listen_text, "listen address", true, &laddr, &llen, err)))
        goto fail;
    if (open_listener(&laddr, llen, &link->listen_fd) != 0) {
        rc = error_errno(err, ERR_NETWORK, errno, "fault proxy: cannot listen on '%s'",
                         listen_text);
        goto fail;
    }
    llen = sizeof laddr;
    getsockname(link->listen_fd, (struct sockaddr *)&laddr, &llen);
    format_address(&laddr, link->bound_text, sizeof link->bound_text);

    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nlinks; i++) {
        if (strcmp(p->links[i]->name, name) == 0) {
            pthread_mutex_unlock(&p->mu);
            rc = error_set(err, ERR_USAGE, "fault proxy: a link named '%s' already exists", name);
            goto fail;
        }
    }
    if (p->nlinks == FAULT_PROXY_LINKS_MAX) {
        pthread_mutex_unlock(&p->mu);
        rc = error_set(err, ERR_USAGE, "fault proxy: at most %d links", FAULT_PROXY_LINKS_MAX);
        goto fail;
    }
    p->links[p->nlinks++] = link;
    op->kind = OP_ADD_LINK;
    op->link = link;
    snprintf(what, sizeof what, "adding link '%s'", name);
    rc = submit_locked(p, op, deadline_ms, what, err);
    pthread_mutex_unlock(&p->mu);
    if (rc == 0)
        fault_op_free(op);
    return rc; /* the link belongs to the proxy now, even on a timeout */

fail:
    if (link->listen_fd >= 0)
        close(link->listen_fd);
    free(link);
    fault_op_free(op);
    return rc;
}

int fault_proxy_link_address(struct fault_proxy *p, const char *link_name, char *out,
                             size_t size, struct error *err)
{
    struct fp_link *link;
    pthread_mutex_lock(&p->mu);
    link = link_find_locked(p, link_name, err);
    if (link)
        snprintf(out, size, "%s", link->bound_text);
    pthread_mutex_unlock(&p->mu);
    return link ? 0 : ERR_USAGE;
}

size_t fault_proxy_links(struct fault_proxy *p, const char **names, size_t max)
{
    size_t n;
    pthread_mutex_lock(&p->mu);
    n = p->nlinks;
    for (size_t i = 0; i < n && i < max; i++)
        names[i] = p->links[i]->name;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* ---- lifecycle ------------------------------------------------------------ */

uint64_t fault_proxy_seed(const struct fault_proxy *p)
{
    return p->seed;
}

int fault_proxy_new(struct fault_proxy **out, const struct fault_proxy_options *options,
                    struct error *err)
{
    struct fault_proxy *p = calloc(1, sizeof *p);
    pthread_condattr_t ca;
    sigset_t all, old;
    int rc;

    *out = NULL;
    if (!p)
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    p->epfd = p->wakefd = -1;
    if (options && options->has_seed) {
        p->seed = options->seed;
    } else if (getrandom(&p->seed, sizeof p->seed, 0) != sizeof p->seed) {
        p->seed = (uint64_t)now_wall_us() ^ ((uint64_t)getpid() << 32);
    }
    p->io.buffer_max = options && options->buffer_max ? options->buffer_max : DEFAULT_BUFFER_MAX;
    p->io.scratch_size = SCRATCH_SIZE;
    p->io.scratch = malloc(SCRATCH_SIZE);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!p->io.scratch) {
        rc = error_set(err, ERR_NOMEM, "fault proxy: out of memory");
        goto fail;
    }
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->epfd < 0 || p->wakefd < 0) {
        rc = error_errno(err, ERR_ENV, errno, "fault proxy: cannot create its event loop");
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = TAG_WAKE;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wakefd, &ev) != 0) {
        rc = error_errno(err, ERR_ENV, errno, "fault proxy: cannot create its event loop");
        goto fail;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&p->thread, NULL, fault_loop_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        rc = error_errno(err, ERR_ENV, rc, "fault proxy: cannot start its thread");
        goto fail;
    }
    p->thread_started = true;
    *out = p;
    return 0;
fail:
    fault_proxy_free(p);
    return rc;
}

void fault_proxy_free(struct fault_proxy *p)
{
    if (!p)
        return;
    if (p->thread_started) {
        uint64_t one = 1;
        pthread_mutex_lock(&p->mu);
        p->stop_requested = true;
        pthread_mutex_unlock(&p->mu);
        if (write(p->wakefd, &one, sizeof one) < 0) {
            /* the counter is full: the thread is awake anyway */
        }
        pthread_join(p->thread, NULL);
    }
    /* Operations still queued (their callers gave up) were never applied. */
    while (p->ops_head) {
        struct fp_op *op = p->ops_head;
        p->ops_head = op->next;
        fault_op_free(op);
    }
    for (size_t i = 0; i < p->nlinks; i++) {
        if (p->links[i]->listen_fd >= 0)
            close(p->links[i]->listen_fd);
        free(p->links[i]);
    }
    if (p->epfd >= 0)
        close(p->epfd);
    if (p->wakefd >= 0)
        close(p->wakefd);
    free(p->io.scratch);
    free(p->io.segs);
    free(p->io.segs2);
    free(p->heap);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
