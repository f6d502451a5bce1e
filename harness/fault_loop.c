/*
 * fault_loop.c — the fault proxy's event thread: accepting, relaying and
 * closing connections, applying the operations the control side queues,
 * and waking connections whose toxics have something due.
 *
 * Both sockets of a connection are registered once, edge-triggered, for
 * input and output; readiness is remembered in the flows (fault_flow.h), so
 * the data path makes no epoll_ctl calls.  Closed connections are freed at
 * the end of the loop iteration, after the events already fetched for them
 * have been skipped.  Nothing here blocks: the thread only waits in
 * epoll_pwait2, so control calls are served within one iteration.
 */
#include "fault_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "now.h"

#define EVENTS_MAX 256
#define ACCEPTS_PER_TURN 64
#define READS_PER_TURN 8        /* per flow, before other connections get a turn */
#define ACCEPT_RETRY_US 100000  /* after EMFILE and the like */

enum { SIDE_CLIENT = 0, SIDE_SERVER = 1 };

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

/* ---- time, counters, draws ---------------------------------------------- */

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

    op->effect.applied_at_us = now_wall_us();
    if (link)
        op->effect.connections_open = link->nconns;
    switch (op->kind) {
    case OP_ADD_LINK: {
        link->name_hash = hash_name(link->name);
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

void fault_op_free(struct fp_op *op)
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
            fault_op_free(op);
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
    until -= now_mono_us();
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

void *fault_loop_main(void *arg)
{
    struct fault_proxy *p = arg;
    struct epoll_event events[EVENTS_MAX];

    for (;;) {
        p->io.now_us = now_mono_us();
        ops_run(p);
        if (p->stopping)
            break;
        int n = wait_events(p, events, next_timeout_us(p));
        p->io.now_us = now_mono_us();
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
        /* A connection closed after it was put on the run-again list stays
         * until that list has let go of it (next iteration). */
        struct fp_conn *dead = p->graveyard, *keep = NULL;
        p->graveyard = NULL;
        while (dead) {
            struct fp_conn *c = dead;
            dead = c->dead_next;
            if (c->run_again) {
                c->dead_next = keep;
                keep = c;
            } else {
                conn_free(c);
            }
        }
        p->graveyard = keep;
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
