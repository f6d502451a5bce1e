/*
 * fault_proxy.c — the event thread, its links and connections, and the
 * control calls that reach it through a queue of operations.
 *
 * Threads.  Control calls validate against, and update, the configuration
 * kept under `mu` (so a second call already sees the first one's toxic),
 * queue an operation, wake the event thread through an eventfd and wait on
 * `cv` until the operation is done or their deadline passes.  The event
 * thread owns every socket and every connection; it takes `mu` only to
 * dequeue operations and to mark them done, never while doing I/O.  An
 * operation whose caller gave up is freed by the event thread.
 *
 * Connections.  Both sockets of a connection are registered once,
 * edge-triggered, for input and output; readiness is remembered in the
 * flows (fault_flow.h), so the data path makes no epoll_ctl calls.  Closed
 * connections are freed at the end of the loop iteration, after the events
 * already fetched for them have been skipped.
 */
#include "fault_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fault_flow.h"

#define SCRATCH_SIZE (64 * 1024)
#define DEFAULT_BUFFER_MAX (256 * 1024)
#define EVENTS_MAX 256
#define ACCEPTS_PER_TURN 64
#define READS_PER_TURN 8        /* per flow, before other connections get a turn */
#define ACCEPT_RETRY_US 100000  /* after EMFILE and the like */
#define LISTEN_BACKLOG 1024

enum { SIDE_CLIENT = 0, SIDE_SERVER = 1 };
/* epoll_data.u64 = pointer | tag (allocations are 16-byte aligned). */
enum { TAG_CLIENT = 0, TAG_SERVER = 1, TAG_LISTENER = 2, TAG_WAKE = 3 };

struct fp_link;

struct fp_conn {
    struct fp_link *link;
    struct fp_conn *prev, *next;   /* the link's open connections */
    struct fp_conn *run_next;      /* on the run-again list */
    struct fp_conn *dead_next;     /* on the graveyard */
    uint64_t seq;                  /* 1, 2, ... on its link */
    int fd[2];
    struct fault_flow flow[FAULT_STREAMS]; /* [FAULT_UPSTREAM] reads fd[CLIENT] */
    int upstream_port;             /* our local port towards the upstream */
    bool connecting;
    bool closed;
    bool run_again;
    int64_t wake_us;
    size_t heap_index;             /* SIZE_MAX: not in the timer heap */
};

struct fp_link {
    /* Fixed at creation. */
    char name[FAULT_PROXY_LINK_NAME_MAX];
    char upstream_text[FAULT_PROXY_ADDRESS_MAX];
    char bound_text[FAULT_PROXY_ADDRESS_MAX];
    struct sockaddr_storage upstream;
    socklen_t upstream_len;
    uint64_t name_hash;
    int listen_fd;

    /* Control side, under proxy->mu. */
    struct fault_toxic config[FAULT_PROXY_TOXICS_MAX];
    size_t nconfig;

    /* Event thread only. */
    struct fault_live_toxic *live[FAULT_PROXY_TOXICS_MAX];
    size_t nlive;
    struct fp_conn *conns;
    unsigned nconns;
    uint64_t next_seq;
    bool down;
    bool accept_again;

    /* Written by the event thread, read by anyone, field by field. */
    struct fault_link_stats stats;
};

enum fp_op_kind { OP_ADD_LINK, OP_ADD_TOXIC, OP_UPDATE_TOXIC, OP_REMOVE_TOXIC, OP_PORTS };

struct fp_op {
    struct fp_op *next;
    enum fp_op_kind kind;
    struct fp_link *link;
    struct fault_toxic toxic;      /* add, update; remove: toxic.name */
    int *ports;                    /* OP_PORTS: filled up to ports_max */
    size_t ports_max, ports_count;
    struct fault_effect effect;
    bool done, abandoned;
};

struct fault_proxy {
    uint64_t seed;
    int epfd, wakefd;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fp_op *ops_head, *ops_tail;
    bool stop_requested;
    struct fp_link *links[FAULT_PROXY_LINKS_MAX];
    size_t nlinks;

    /* Event thread only. */
    struct fault_flow_io io;
    struct fp_link *tlinks[FAULT_PROXY_LINKS_MAX];
    size_t ntlinks;
    struct fp_conn **heap;
    size_t heap_len, heap_cap;
    struct fp_conn *run_list;
    struct fp_conn *graveyard;
    int64_t accept_retry_us;
    bool stopping;
    bool no_pwait2;         /* the kernel lacks epoll_pwait2 */
};

/* ---- time, counters, draws ---------------------------------------------- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One writer (the event thread), readers anywhere: relaxed atomics suffice
 * and cost a plain load and store on the data path. */
static void stat_add(uint64_t *field, uint64_t n)
{
    __atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static void stat_sub(uint64_t *field, uint64_t n)
{
    __atomic_store_n(field, __atomic_load_n(field, __ATOMIC_RELAXED) - n, __ATOMIC_RELAXED);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static uint64_t mix(uint64_t x)
{
    return fault_rng_next(&x);
}

/* The draw for (link, toxic, connection): a function of the seed alone, so
 * it does not depend on the order in which connections and toxics came. */
static uint64_t draw_bits(const struct fault_proxy *p, const struct fp_link *link,
                          const struct fault_live_toxic *t, uint64_t seq)
{
    return mix(mix(mix(p->seed ^ link->name_hash) ^ t->name_hash) ^ seq);
}

static bool draw_applies(const struct fault_proxy *p, const struct fp_link *link,
                         const struct fault_live_toxic *t, uint64_t seq)
{
    double u = (double)(draw_bits(p, link, t, seq) >> 11) * 0x1.0p-53;
    return u < t->def.toxicity;
}

/* ---- timer heap of connections ----------------------------------------- */

static void heap_swap(struct fault_proxy *p, size_t a, size_t b)
{
    struct fp_conn *t = p->heap[a];
    p->heap[a] = p->heap[b];
    p->heap[b] = t;
    p->heap[a]->heap_index = a;
    p->heap[b]->heap_index = b;
}

static void heap_up(struct fault_proxy *p, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (p->heap[parent]->wake_us <= p->heap[i]->wake_us)
            break;
        heap_swap(p, i, parent);
        i = parent;
    }
}

static void heap_down(struct fault_proxy *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->heap_len && p->heap[l]->wake_us < p->heap[m]->wake_us)
            m = l;
        if (r < p->heap_len && p->heap[r]->wake_us < p->heap[m]->wake_us)
            m = r;
        if (m == i)
            return;
        heap_swap(p, i, m);
        i = m;
    }
}

static void heap_remove(struct fault_proxy *p, struct fp_conn *c)
{
    size_t i = c->heap_index;
    if (i == SIZE_MAX)
        return;
    c->heap_index = SIZE_MAX;
    if (--p->heap_len == i)
        return;
    p->heap[i] = p->heap[p->heap_len];
    p->heap[i]->heap_index = i;
    heap_up(p, i);
    heap_down(p, p->heap[i]->heap_index);
}

/* Wake c at `when` (INT64_MAX: never).  Returns -1 when memory ran out. */
static int heap_set(struct fault_proxy *p, struct fp_conn *c, int64_t when)
{
    if (when == INT64_MAX) {
        heap_remove(p, c);
        c->wake_us = when;
        return 0;
    }
    if (c->heap_index == SIZE_MAX) {
        if (p->heap_len == p->heap_cap) {
            size_t cap = p->heap_cap ? p->heap_cap * 2 : 64;
            struct fp_conn **h = realloc(p->heap, cap * sizeof *h);
            if (!h)
                return -1;
            p->heap = h;
            p->heap_cap = cap;
        }
        c->wake_us = when;
        c->heap_index = p->heap_len;
        p->heap[p->heap_len++] = c;
        heap_up(p, c->heap_index);
        return 0;
    }
    int64_t old = c->wake_us;
    c->wake_us = when;
    if (when < old)
        heap_up(p, c->heap_index);
    else if (when > old)
        heap_down(p, c->heap_index);
    return 0;
}

/* ---- connections --------------------------------------------------------- */

static void set_linger0(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Close c.  CLOSE and OK end with FIN, RESET and ABORT with RST (an abort
 * passes a socket failure on to the other side, as a cable would). */
static void conn_end(struct fault_proxy *p, struct fp_conn *c, enum fault_flow_result how)
{
    struct fp_link *link = c->link;

    if (c->closed)
        return;
    c->closed = true;
    if (how == FAULT_FLOW_RESET || how == FAULT_FLOW_ABORT) {
        set_linger0(c->fd[SIDE_CLIENT]);
        set_linger0(c->fd[SIDE_SERVER]);
    }
    if (how == FAULT_FLOW_CLOSE)
        stat_add(&link->stats.closed_by_toxics, 1);
    else if (how == FAULT_FLOW_RESET)
        stat_add(&link->stats.reset_by_toxics, 1);
    close(c->fd[SIDE_CLIENT]);
    close(c->fd[SIDE_SERVER]);
    heap_remove(p, c);
    if (c->prev)
        c->prev->next = c->next;
    else
        link->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    link->nconns--;
    stat_sub(&link->stats.connections_open, 1);
    c->dead_next = p->graveyard;
    p->graveyard = c;
}

static void conn_free(struct fp_conn *c)
{
    fault_flow_release(&c->flow[FAULT_UPSTREAM]);
    fault_flow_release(&c->flow[FAULT_DOWNSTREAM]);
    free(c);
}

static void run_later(struct fault_proxy *p, struct fp_conn *c)
{
    if (c->run_again)
        return;
    c->run_again = true;
    c->run_next = p->run_list;
    p->run_list = c;
}

/* Move data on both flows, then decide when c needs to run again. */
static void conn_run(struct fault_proxy *p, struct fp_conn *c)
{
    struct fp_link *link = c->link;
    bool more = false;

    if (c->closed || c->connecting)
        return;
    for (int s = 0; s < FAULT_STREAMS; s++) {
        unsigned budget = READS_PER_TURN;
        enum fault_flow_result r = fault_flow_pump(&c->flow[s], &p->io, true, &budget);
        if (p->io.written) {
            stat_add(s == FAULT_UPSTREAM ? &link->stats.bytes_upstream
                                         : &link->stats.bytes_downstream,
                     p->io.written);
            p->io.written = 0;
        }
        if (p->io.dropped) {
            stat_add(&link->stats.bytes_dropped, p->io.dropped);
            p->io.dropped = 0;
        }
        if (r != FAULT_FLOW_OK) {
            conn_end(p, c, r);
            return;
        }
        if (budget == 0 && fault_flow_wants_read(&c->flow[s], &p->io))
            more = true;
    }
    if (c->flow[FAULT_UPSTREAM].eof_sent && c->flow[FAULT_DOWNSTREAM].eof_sent) {
        conn_end(p, c, FAULT_FLOW_OK);
        return;
    }
    if (more)
        run_later(p, c);
    int64_t w1 = fault_flow_next_wake(&c->flow[FAULT_UPSTREAM]);
    int64_t w2 = fault_flow_next_wake(&c->flow[FAULT_DOWNSTREAM]);
    if (heap_set(p, c, w1 < w2 ? w1 : w2))
        conn_end(p, c, FAULT_FLOW_ABORT);
}

enum change { CHANGE_NONE, CHANGE_ADDED, CHANGE_UPDATED, CHANGE_REMOVED };

/*
 * Recompute which of the link's toxics apply to c, keeping the state of
 * those that still do.  `changed` is the toxic being added, updated or
 * removed (a removed one is still in the live list but treated as gone).
 * Returns whether `changed` applies (added, updated) or applied (removed)
 * to c; *closed tells whether c was closed (a timeout stopped applying).
 */
static bool conn_retoxic(struct fault_proxy *p, struct fp_conn *c,
                         const struct fault_live_toxic *changed, enum change kind,
                         bool *closed)
{
    struct fp_link *link = c->link;
    bool affected = false;
    enum fault_flow_result result = FAULT_FLOW_OK;
    int64_t now = p->io.now_us;

    *closed = false;
    for (int s = 0; s < FAULT_STREAMS; s++) {
        struct fault_flow *f = &c->flow[s];
        struct fault_tstate *tox = NULL;
        unsigned n = 0;
        bool released = false;

        if (link->nlive) {
            tox = calloc(link->nlive, sizeof *tox);
            if (!tox) {
                conn_end(p, c, FAULT_FLOW_ABORT);
                *closed = true;
                return false;
            }
        }
        for (size_t i = 0; i < link->nlive; i++) {
            struct fault_live_toxic *lt = link->live[i];
            const struct fault_tstate *old = NULL;
            if ((int)lt->def.stream != s || lt->def.type == FAULT_TOXIC_DOWN)
                continue;
            for (unsigned j = 0; j < f->ntox && !old; j++)
                if (f->tox[j].toxic == lt)
                    old = &f->tox[j];
            bool applies = !(kind == CHANGE_REMOVED && lt == changed) &&
                           draw_applies(p, link, lt, c->seq);
            if (lt == changed) {
                affected = kind == CHANGE_REMOVED ? old != NULL : applies;
                /* A toxic that held data changed or went: its data goes now. */
                if (old && kind != CHANGE_ADDED)
                    released = true;
            }
            if (!applies)
                continue;
            if (old) {
                tox[n] = *old;
                if (lt == changed && kind == CHANGE_UPDATED)
                    tox[n].started_us = now; /* Toxiproxy restarts the toxic */
            } else {
                tox[n].toxic = lt;
                tox[n].rng = draw_bits(p, link, lt, c->seq) ^ (uint64_t)(s + 1);
                tox[n].started_us = now;
                stat_add(&link->stats.toxics_applied, 1);
            }
            n++;
        }
        if (fault_flow_set_toxics(f, tox, n, released, now) != FAULT_FLOW_OK)
            result = FAULT_FLOW_CLOSE;
    }
    if (result != FAULT_FLOW_OK) {
        conn_end(p, c, result);
        *closed = true;
    }
    return affected;
}

static void conn_open(struct fault_proxy *p, struct fp_link *link, int client)
{
    struct fp_conn *c = calloc(1, sizeof *c);
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    int server = -1;
    bool closed;

    if (!c)
        goto fail;
    server = socket(link->upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (server < 0)
        goto fail;
    set_nodelay(client);
    set_nodelay(server);
    if (connect(server, (struct sockaddr *)&link->upstream, link->upstream_len) != 0) {
        if (errno != EINPROGRESS) {
            stat_add(&link->stats.upstream_failures, 1);
            goto fail;
        }
        c->connecting = true;
    }
    if (getsockname(server, (struct sockaddr *)&local, &local_len) == 0)
        c->upstream_port = ntohs(local.ss_family == AF_INET6
                                     ? ((struct sockaddr_in6 *)&local)->sin6_port
                                     : ((struct sockaddr_in *)&local)->sin_port);
    c->link = link;
    c->seq = ++link->next_seq;
    c->fd[SIDE_CLIENT] = client;
    c->fd[SIDE_SERVER] = server;
    c->heap_index = SIZE_MAX;
    c->wake_us = INT64_MAX;
    fault_flow_init(&c->flow[FAULT_UPSTREAM], client, server);
    fault_flow_init(&c->flow[FAULT_DOWNSTREAM], server, client);

    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
    ev.data.u64 = (uint64_t)(uintptr_t)c | TAG_CLIENT;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, client, &ev) != 0)
        goto fail;
    ev.data.u64 = (uint64_t)(uintptr_t)c | TAG_SERVER;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, server, &ev) != 0)
        goto fail; /* closing the client removes its registration */

    c->next = link->conns;
    if (link->conns)
        link->conns->prev = c;
    link->conns = c;
    link->nconns++;
    stat_add(&link->stats.connections_total, 1);
    stat_add(&link->stats.connections_open, 1);
    conn_retoxic(p, c, NULL, CHANGE_NONE, &closed);
    return;

fail:
    if (server >= 0)
        close(server);
    close(client);
    free(c);
}

/* The upstream connect finished (or failed). */
static void conn_connected(struct fault_proxy *p, struct fp_conn *c)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;

    if (getsockopt(c->fd[SIDE_SERVER], SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
        soerr = errno;
    if (soerr == EINPROGRESS || soerr == EALREADY)
        return;
    if (soerr != 0) {
        stat_add(&c->link->stats.upstream_failures, 1);
        conn_end(p, c, FAULT_FLOW_OK);
        return;
    }
    c->connecting = false;
}

/* ---- links --------------------------------------------------------------- */

static void link_accept(struct fault_proxy *p, struct fp_link *link)
{
    link->accept_again = false;
    if (link->down)
        return;
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept4(link->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Leave the backlog queued and try again shortly. */
                link->accept_again = true;
                p->accept_retry_us = p->io.now_us + ACCEPT_RETRY_US;
            }
            return;
        }
        conn_open(p, link, fd);
    }
    link->accept_again = true;
    p->accept_retry_us = p->io.now_us;
}

/* Down: stop listening (the port stays bound, so nobody takes it and
 * connecting clients are refused) and close every connection. */
static void link_set_down(struct fault_proxy *p, struct fp_link *link, bool down,
                          struct fault_effect *effect)
{
    if (down == link->down)
        return;
    link->down = down;
    if (!down) {
        listen(link->listen_fd, LISTEN_BACKLOG);
        return;
    }
    shutdown(link->listen_fd, SHUT_RDWR);
    while (link->conns) {
        conn_end(p, link->conns, FAULT_FLOW_CLOSE);
        effect->connections_affected++;
        effect->connections_closed++;
    }
}

static struct fault_live_toxic *live_find(struct fp_link *link, const char *name, size_t *index)
{
    for (size_t i = 0; i < link->nlive; i++) {
        if (strcmp(link->live[i]->def.name, name) == 0) {
            if (index)
                *index = i;
            return link->live[i];
        }
    }
    return NULL;
}

/* Re-evaluate every open connection of the link after `t` changed. */
static void link_retoxic(struct fault_proxy *p, struct fp_link *link,
                         struct fault_live_toxic *t, enum change kind,
                         struct fault_effect *effect)
{
    struct fp_conn *c = link->conns, *next;
    for (; c; c = next) {
        bool closed;
        next = c->next;
        if (conn_retoxic(p, c, t, kind, &closed))
            effect->connections_affected++;
        if (closed)
            effect->connections_closed++;
        else
            conn_run(p, c); /* released data goes now; timers change */
    }
}

/* ---- operations (event thread side) ------------------------------------ */

static void op_apply(struct fault_proxy *p, struct fp_op *op)
{
    struct fp_link *link = op->link;
    struct fault_live_toxic *t;
    size_t index;

    op->effect.applied_at_us = wall_us();
    if (link)
        op->effect.connections_open = link->nconns;
    switch (op->kind) {
    case OP_ADD_LINK: {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
        ev.data.u64 = (uint64_t)(uintptr_t)link | TAG_LISTENER;
        epoll_ctl(p->epfd, EPOLL_CTL_ADD, link->listen_fd, &ev);
        p->tlinks[p->ntlinks++] = link;
        link->accept_again = true; /* connections may already wait */
        p->accept_retry_us = p->io.now_us;
        break;
    }
    case OP_ADD_TOXIC:
        if (op->toxic.type == FAULT_TOXIC_DOWN) {
            link_set_down(p, link, true, &op->effect);
            /* Kept in the live list only to be listed; it applies to no flow. */
        }
        t = calloc(1, sizeof *t);
        if (!t)
            break; /* the control side reported success; nothing better to do */
        t->def = op->toxic;
        t->name_hash = hash_name(t->def.name);
        link->live[link->nlive++] = t;
        if (t->def.type != FAULT_TOXIC_DOWN)
            link_retoxic(p, link, t, CHANGE_ADDED, &op->effect);
        break;
    case OP_UPDATE_TOXIC:
        t = live_find(link, op->toxic.name, NULL);
        if (!t || t->def.type == FAULT_TOXIC_DOWN)
            break;
        t->def = op->toxic;
        link_retoxic(p, link, t, CHANGE_UPDATED, &op->effect);
        break;
    case OP_REMOVE_TOXIC:
        t = live_find(link, op->toxic.name, &index);
        if (!t)
            break;
        if (t->def.type == FAULT_TOXIC_DOWN)
            link_set_down(p, link, false, &op->effect);
        else
            link_retoxic(p, link, t, CHANGE_REMOVED, &op->effect);
        memmove(&link->live[index], &link->live[index + 1],
                (link->nlive - index - 1) * sizeof link->live[0]);
        link->nlive--;
        free(t);
        break;
    case OP_PORTS:
        for (struct fp_conn *c = link->conns; c; c = c->next) {
            if (op->ports_count < op->ports_max)
                op->ports[op->ports_count] = c->upstream_port;
            op->ports_count++;
        }
        break;
    }
}

static void op_free(struct fp_op *op)
{
    if (op) {
        free(op->ports);
        free(op);
    }
}

static void ops_run(struct fault_proxy *p)
{
    struct fp_op *list;

    pthread_mutex_lock(&p->mu);
    list = p->ops_head;
    p->ops_head = p->ops_tail = NULL;
    p->stopping = p->stop_requested;
    pthread_mutex_unlock(&p->mu);
    while (list) {
        struct fp_op *op = list;
        list = op->next;
        op_apply(p, op);
        pthread_mutex_lock(&p->mu);
        op->done = true;
        if (op->abandoned)
            op_free(op);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* ---- the event loop ------------------------------------------------------ */

static void dispatch(struct fault_proxy *p, const struct epoll_event *ev)
{
    uintptr_t tag = (uintptr_t)(ev->data.u64 & 3);
    void *ptr = (void *)(uintptr_t)(ev->data.u64 & ~(uint64_t)3);

    if (tag == TAG_WAKE) {
        uint64_t count;
        if (read(p->wakefd, &count, sizeof count) < 0 && errno != EAGAIN) {
            /* nothing to do: the operations run at the top of the loop */
        }
        return;
    }
    if (tag == TAG_LISTENER) {
        link_accept(p, ptr);
        return;
    }
    struct fp_conn *c = ptr;
    if (c->closed)
        return;
    bool in = ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    bool hup = ev->events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
    bool out = ev->events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
    if (tag == TAG_CLIENT) {
        if (in)
            c->flow[FAULT_UPSTREAM].readable = true;
        if (hup)
            c->flow[FAULT_UPSTREAM].src_hup = true;
        if (out)
            c->flow[FAULT_DOWNSTREAM].writable = true;
    } else {
        if (in)
            c->flow[FAULT_DOWNSTREAM].readable = true;
        if (hup)
            c->flow[FAULT_DOWNSTREAM].src_hup = true;
        if (out)
            c->flow[FAULT_UPSTREAM].writable = true;
        if (c->connecting && (out || in))
            conn_connected(p, c);
    }
    conn_run(p, c);
}

static int64_t next_timeout_us(struct fault_proxy *p)
{
    int64_t until = INT64_MAX;
    if (p->run_list)
        return 0;
    if (p->heap_len)
        until = p->heap[0]->wake_us;
    for (size_t i = 0; i < p->ntlinks; i++)
        if (p->tlinks[i]->accept_again && p->accept_retry_us < until)
            until = p->accept_retry_us;
    if (until == INT64_MAX)
        return -1;
    until -= mono_us();
    return until < 0 ? 0 : until;
}

static int wait_events(struct fault_proxy *p, struct epoll_event *events, int64_t timeout_us)
{
    if (!p->no_pwait2) {
        struct timespec ts = {timeout_us / 1000000, (timeout_us % 1000000) * 1000};
        int n = epoll_pwait2(p->epfd, events, EVENTS_MAX, timeout_us < 0 ? NULL : &ts, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        p->no_pwait2 = true;
    }
    int ms = timeout_us < 0 ? -1 : (int)((timeout_us + 999) / 1000);
    return epoll_wait(p->epfd, events, EVENTS_MAX, ms);
}

static void *loop_main(void *arg)
{
    struct fault_proxy *p = arg;
    struct epoll_event events[EVENTS_MAX];

    for (;;) {
        p->io.now_us = mono_us();
        ops_run(p);
        if (p->stopping)
            break;
        int n = wait_events(p, events, next_timeout_us(p));
        p->io.now_us = mono_us();
        for (int i = 0; i < n; i++)
            dispatch(p, &events[i]);

        /* Connections whose time came. */
        while (p->heap_len && p->heap[0]->wake_us <= p->io.now_us) {
            struct fp_conn *c = p->heap[0];
            heap_remove(p, c);
            c->wake_us = INT64_MAX;
            conn_run(p, c);
        }
        /* Connections and listeners that used up their turn. */
        struct fp_conn *again = p->run_list;
        p->run_list = NULL;
        while (again) {
            struct fp_conn *c = again;
            again = c->run_next;
            c->run_again = false;
            conn_run(p, c);
        }
        if (p->accept_retry_us <= p->io.now_us)
            for (size_t i = 0; i < p->ntlinks; i++)
                if (p->tlinks[i]->accept_again)
                    link_accept(p, p->tlinks[i]);
        while (p->graveyard) {
            struct fp_conn *c = p->graveyard;
            p->graveyard = c->dead_next;
            conn_free(c);
        }
    }

    for (size_t i = 0; i < p->ntlinks; i++) {
        struct fp_link *link = p->tlinks[i];
        while (link->conns)
            conn_end(p, link->conns, FAULT_FLOW_OK);
        for (size_t j = 0; j < link->nlive; j++)
            free(link->live[j]);
        link->nlive = 0;
    }
    while (p->graveyard) {
        struct fp_conn *c = p->graveyard;
        p->graveyard = c->dead_next;
        conn_free(c);
    }
    return NULL;
}

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

static void effect_out(struct fault_effect *out, const struct fp_op *op)
{
    if (out)
        *out = op->effect;
}

int fault_proxy_add_toxic(struct fault_proxy *p, const char *link_name,
                          const struct fault_toxic *t, int deadline_ms,
                          struct fault_effect *effect, struct error *err)
{
    struct fp_link *link;
    struct fp_op *op;
    char what[160];
    int rc;

    if ((rc = fault_toxic_validate(t, err)))
        return rc;
    if (!(op = calloc(1, sizeof *op)))
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    pthread_mutex_lock(&p->mu);
    if (!(link = link_find_locked(p, link_name, err))) {
        rc = ERR_USAGE;
        goto out;
    }
    if (config_find(link, t->name) >= 0) {
        rc = error_set(err, ERR_USAGE,
                       "fault proxy: link '%s' already has a toxic named '%s'; remove or update "
                       "it, or give the new one another name",
                       link_name, t->name);
        goto out;
    }
    if (t->type == FAULT_TOXIC_DOWN && config_find_type(link, FAULT_TOXIC_DOWN) >= 0) {
        rc = error_set(err, ERR_USAGE, "fault proxy: link '%s' is already down", link_name);
        goto out;
    }
    if (link->nconfig == FAULT_PROXY_TOXICS_MAX) {
        rc = error_set(err, ERR_USAGE, "fault proxy: link '%s' already has %d toxics, the most "
                       "it can hold", link_name, FAULT_PROXY_TOXICS_MAX);
        goto out;
    }
    link->config[link->nconfig++] = *t;
    op->kind = OP_ADD_TOXIC;
    op->link = link;
    op->toxic = *t;
    snprintf(what, sizeof what, "adding toxic '%s' to link '%s'", t->name, link_name);
    rc = submit_locked(p, op, deadline_ms, what, err);
    if (rc == 0)
        effect_out(effect, op);
    else
        op = NULL; /* the event thread frees it */
out:
    pthread_mutex_unlock(&p->mu);
    op_free(op);
    return rc;
}

int fault_proxy_update_toxic(struct fault_proxy *p, const char *link_name,
                             const struct fault_toxic *t, int deadline_ms,
                             struct fault_effect *effect, struct error *err)
{
    struct fp_link *link;
    struct fp_op *op;
    char what[160];
    int rc, i;

    if ((rc = fault_toxic_validate(t, err)))
        return rc;
    if (!(op = calloc(1, sizeof *op)))
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    pthread_mutex_lock(&p->mu);
    if (!(link = link_find_locked(p, link_name, err))) {
        rc = ERR_USAGE;
        goto out;
    }
    if ((i = config_find(link, t->name)) < 0) {
        rc = error_set(err, ERR_USAGE, "fault proxy: link '%s' has no toxic named '%s' to update",
                       link_name, t->name);
        goto out;
    }
    if (link->config[i].type != t->type || link->config[i].stream != t->stream) {
        rc = error_set(err, ERR_USAGE,
                       "fault proxy: toxic '%s' on link '%s' is %s %s; an update cannot change "
                       "its type or stream (remove it and add a new one)",
                       t->name, link_name, fault_stream_name(link->config[i].stream),
                       fault_toxic_type_name(link->config[i].type));
        goto out;
    }
    link->config[i] = *t;
    op->kind = OP_UPDATE_TOXIC;
    op->link = link;
    op->toxic = *t;
    snprintf(what, sizeof what, "updating toxic '%s' on link '%s'", t->name, link_name);
    rc = submit_locked(p, op, deadline_ms, what, err);
    if (rc == 0)
        effect_out(effect, op);
    else
        op = NULL;
out:
    pthread_mutex_unlock(&p->mu);
    op_free(op);
    return rc;
}

int fault_proxy_remove_toxic(struct fault_proxy *p, const char *link_name, const char *name,
                             int deadline_ms, struct fault_effect *effect, struct error *err)
{
    struct fp_link *link;
    struct fp_op *op;
    char what[160];
    int rc, i;

    if (!(op = calloc(1, sizeof *op)))
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    pthread_mutex_lock(&p->mu);
    if (!(link = link_find_locked(p, link_name, err))) {
        rc = ERR_USAGE;
        goto out;
    }
    if ((i = config_find(link, name)) < 0) {
        rc = error_set(err, ERR_USAGE, "fault proxy: link '%s' has no toxic named '%s'",
                       link_name, name);
        goto out;
    }
    op->toxic = link->config[i];
    memmove(&link->config[i], &link->config[i + 1],
            (link->nconfig - (size_t)i - 1) * sizeof link->config[0]);
    link->nconfig--;
    op->kind = OP_REMOVE_TOXIC;
    op->link = link;
    snprintf(what, sizeof what, "removing toxic '%s' from link '%s'", name, link_name);
    rc = submit_locked(p, op, deadline_ms, what, err);
    if (rc == 0)
        effect_out(effect, op);
    else
        op = NULL;
out:
    pthread_mutex_unlock(&p->mu);
    op_free(op);
    return rc;
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
            effect->applied_at_us = wall_us();
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
    struct fp_link *link;
    struct fp_op *op;
    char what[160];
    int rc;

    if (!(op = calloc(1, sizeof *op)) || (max && !(op->ports = calloc(max, sizeof *ports)))) {
        op_free(op);
        return error_set(err, ERR_NOMEM, "fault proxy: out of memory");
    }
    op->ports_max = max;
    pthread_mutex_lock(&p->mu);
    if (!(link = link_find_locked(p, link_name, err))) {
        rc = ERR_USAGE;
        goto out;
    }
    op->kind = OP_PORTS;
    op->link = link;
    snprintf(what, sizeof what, "listing the upstream ports of link '%s'", link_name);
    rc = submit_locked(p, op, deadline_ms, what, err);
    if (rc == 0) {
        memcpy(ports, op->ports, (op->ports_count < max ? op->ports_count : max) * sizeof *ports);
        *count = op->ports_count;
    } else {
        op = NULL;
    }
out:
    pthread_mutex_unlock(&p->mu);
    op_free(op);
    return rc;
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
    link->name_hash = hash_name(name);
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
        op_free(op);
    return rc; /* the link belongs to the proxy now, even on a timeout */

fail:
    if (link->listen_fd >= 0)
        close(link->listen_fd);
    free(link);
    op_free(op);
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
        p->seed = (uint64_t)wall_us() ^ ((uint64_t)getpid() << 32);
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
    rc = pthread_create(&p->thread, NULL, loop_main, p);
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
        op_free(op);
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
