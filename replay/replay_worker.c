/*
 * replay_worker.c — one replay event loop: libcurl's multi interface driven
 * by epoll (curl_multi_socket_action), a timerfd for both libcurl's timeout
 * and the schedule, and an eventfd for the inbox and stop requests.
 *
 * One target connection per captured connection.  libcurl keeps finished
 * connections in a pool shared by every transfer of the multi handle and
 * hands an idle one to whichever transfer to the same host asks next, so two
 * captured connections would swap target connections.  To prevent that,
 * every live captured connection holds a *slot*, and its requests to target
 * T connect through a name of their own, "s<slot>t<T>.rehearse.invalid"
 * (CURLOPT_CONNECT_TO), which CURLOPT_RESOLVE pins to the target's vetted
 * addresses: libcurl only reuses a connection made to the same name, so a
 * slot's connection serves that slot alone.  The URL keeps the target's real
 * host, so TLS (SNI, certificate names) is unaffected.
 *
 * When a captured connection ends (it has been idle for conn_idle of
 * capture time, the trace is over, or too many are open), its slot is freed
 * for reuse and its target connections are shut down (shutdown(2) on the
 * socket libcurl opened, known from CURLOPT_OPENSOCKETFUNCTION): libcurl
 * sees them dead and closes them, and the server sees the client go, as it
 * did in the capture.  CURLOPT_PREREQFUNCTION checks the invariant on every
 * request: a reused connection must have the local port this captured
 * connection used before (a violation aborts the request and is counted).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "now.h"
#include "replay_internal.h"
#include "schedule.h"
#include "sha256.h"
#include "tx_clone.h"

#define SLOT_DOMAIN "rehearse.invalid"
#define HEAD_STORE_MAX ((size_t)4 << 20)
#define LINE_SCRATCH_MAX ((size_t)1 << 31)
#define BODY_KEEP ((size_t)64 << 10)
#define BATCH_FLUSH ((size_t)1 << 20)
#define MAX_EVENTS 256

struct request;

/* A slot's view of one target: its pinned name and current socket. */
struct slot_target {
    struct worker *w;
    unsigned target;
    curl_socket_t fd;          /* socket of the slot's connection, or -1 */
    struct request *active;    /* the request in progress on this slot, if any */
    bool resolved;             /* the RESOLVE entry is in the multi's DNS cache */
    struct curl_slist *connect_to; /* "::NAME:PORT" */
    struct curl_slist *resolve_list; /* "NAME:PORT:ADDRESSES" */
};

struct slot {
    unsigned index;
    struct slot *next_free;
    struct slot_target t[]; /* one per target */
};

struct rconn;

/* One captured connection replayed against one target. */
struct stream {
    struct rconn *conn;
    unsigned target;
    struct rtx *next;          /* next transaction to send; NULL when caught up */
    int64_t answered;          /* monotonic µs the previous request finished */
    int64_t scheduled;         /* monotonic µs the next request is scheduled */
    int local_port;            /* of its target connection; 0 before the first */
    bool busy;                 /* a request is in flight */
    bool queued;               /* in the schedule or the target's wait queue */
    struct stream *wait_next;  /* the target's wait queue (concurrency cap) */
};

/* A captured connection on this worker. */
struct rconn {
    uint64_t id;
    struct rconn *hash_next;
    struct rconn *idle_prev, *idle_next; /* idle list, oldest first */
    bool idle;
    struct slot *slot;
    struct rtx *head, *tail;   /* unfinished transactions in capture order */
    int64_t last_capture_us;
    unsigned busy;             /* streams with a request in flight */
    struct stream streams[];   /* one per target */
};

struct request {
    struct request *next_free;
    struct request *prev_live, *next_live; /* in-flight list */
    CURL *easy;
    struct worker *w;
    struct rconn *conn;
    unsigned target;
    struct rtx *tx;
    struct slot_target *st;
    struct curl_slist *headers;  /* = header_nodes, or NULL */
    struct curl_slist *header_nodes; /* our own list: no allocation per request */
    size_t node_cap;
    struct buf header_text;      /* the lines the nodes point to */
    const unsigned char *upload_body; /* borrowed from tx for chunked uploads */
    size_t upload_len, upload_pos;
    const struct http_header *trailers;
    size_t trailer_count;
    int64_t scheduled, sent;   /* monotonic µs */
    bool new_conn, connected, mixup, redacted;
    /* the response */
    int status;
    unsigned vmajor, vminor;
    char reason[256];
    size_t reason_len;
    struct buf store;          /* header entries: kind, lengths, name, value */
    size_t header_count, trailer_count_in;
    bool headers_done;
    struct buf body;
    uint64_t body_total;
    bool omitted, too_large;
    struct sha256 *sha;
    char errbuf[CURL_ERROR_SIZE];
    int url_target;            /* 1 + the target whose URL the handle has */
};

struct worker {
    struct replay *r;
    unsigned index;
    size_t targets;
    CURLM *multi;
    int epfd, wake_fd, timer_fd;
    int64_t curl_due, armed;
    struct inbox inbox;
    bool input_closed;

    /* captured connections */
    struct rconn **buckets;
    size_t bucket_count, conn_count;
    struct rconn *idle_head, *idle_tail;
    size_t idle_count, max_open;
    int64_t frontier;          /* latest capture time received */
    size_t open_tx;            /* received, not finished by every target */

    struct slot **slots;       /* by index; never moved once made */
    size_t slot_count;
    struct slot *free_slots;

    /* scheduling */
    struct schedule due;
    struct stream **wait_head, **wait_tail; /* per target */
    unsigned *inflight, cap;   /* per target; cap 0 = unlimited */
    size_t inflight_total;
    struct request *free_requests, *live;

    bool stopping;
    struct outgoing og;        /* scratch for building requests */
    struct target_stats *stats;
    struct buf batch;          /* formatted results, a line each, for the writer */
    uint64_t batch_count;
};

/* ------------------------------------------------------------ helpers */

static void slot_target_release(struct slot_target *st)
{
    curl_slist_free_all(st->connect_to);
    curl_slist_free_all(st->resolve_list);
    st->connect_to = st->resolve_list = NULL;
}

void rtx_free(struct rtx *t, size_t target_count)
{
    if (!t)
        return;
    for (size_t i = 0; i < target_count; i++) {
        struct tx_result *res = &t->results[i];
        free(res->error_message);
        free(res->store); /* headers, trailers and reason live in it */
    }
    free(t->tx);
}

struct inbox *worker_inbox(struct worker *w)
{
    return &w->inbox;
}

void worker_wake(struct worker *w)
{
    uint64_t one = 1;
    if (write(w->wake_fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is already non-zero, the worker will wake */
    }
}

/* ------------------------------------------------------------ connections */

static struct rconn *conn_find(struct worker *w, uint64_t id)
{
    struct rconn *c = w->buckets[(id * 0x9e3779b97f4a7c15ull >> 20) & (w->bucket_count - 1)];
    while (c && c->id != id)
        c = c->hash_next;
    return c;
}

static void hash_insert(struct rconn **buckets, size_t count, struct rconn *c)
{
    size_t b = (c->id * 0x9e3779b97f4a7c15ull >> 20) & (count - 1);
    c->hash_next = buckets[b];
    buckets[b] = c;
}

static int conn_grow_hash(struct worker *w)
{
    size_t count = w->bucket_count * 2;
    struct rconn **buckets = calloc(count, sizeof *buckets);
    if (!buckets)
        return ERR_NOMEM;
    for (size_t i = 0; i < w->bucket_count; i++) {
        struct rconn *c = w->buckets[i];
        while (c) {
            struct rconn *next = c->hash_next;
            hash_insert(buckets, count, c);
            c = next;
        }
    }
    free(w->buckets);
    w->buckets = buckets;
    w->bucket_count = count;
    return 0;
}

static struct slot *slot_take(struct worker *w)
{
    struct slot *s = w->free_slots;
    const struct replay *r = w->r;

    if (s) {
        w->free_slots = s->next_free;
        return s;
    }
    if ((w->slot_count & (w->slot_count - 1)) == 0) { /* grow at powers of two */
        size_t cap = w->slot_count ? w->slot_count * 2 : 64;
        struct slot **grown = realloc(w->slots, cap * sizeof *grown);
        if (!grown)
            return NULL;
        w->slots = grown;
    }
    s = calloc(1, sizeof *s + w->targets * sizeof s->t[0]);
    if (!s)
        return NULL;
    s->index = (unsigned)w->slot_count;
    for (size_t t = 0; t < w->targets; t++) {
        struct slot_target *st = &s->t[t];
        const struct replay_target *tg = &r->cfg.targets[t];
        char entry[TARGET_MAX_ADDRS * 48 + 128];
        st->w = w;
        st->target = (unsigned)t;
        st->fd = CURL_SOCKET_BAD;
        snprintf(entry, sizeof entry, "::s%ut%zu." SLOT_DOMAIN ":%u", s->index, t, tg->port);
        st->connect_to = curl_slist_append(NULL, entry);
        snprintf(entry, sizeof entry, "s%ut%zu." SLOT_DOMAIN ":%u:%s", s->index, t, tg->port,
                 tg->addrs);
        st->resolve_list = curl_slist_append(NULL, entry);
        if (!st->connect_to || !st->resolve_list) {
            for (size_t k = 0; k <= t; k++)
                slot_target_release(&s->t[k]);
            free(s);
            return NULL;
        }
    }
    w->slots[w->slot_count++] = s;
    return s;
}

static void idle_unlink(struct worker *w, struct rconn *c)
{
    if (!c->idle)
        return;
    if (c->idle_prev)
        c->idle_prev->idle_next = c->idle_next;
    else
        w->idle_head = c->idle_next;
    if (c->idle_next)
        c->idle_next->idle_prev = c->idle_prev;
    else
        w->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
    c->idle = false;
    w->idle_count--;
}

/* The captured connection is over: free its slot, shut its target
 * connections down, forget it. */
static void conn_retire(struct worker *w, struct rconn *c)
{
    struct rconn **p = &w->buckets[(c->id * 0x9e3779b97f4a7c15ull >> 20) &
                                   (w->bucket_count - 1)];
    idle_unlink(w, c);
    while (*p != c)
        p = &(*p)->hash_next;
    *p = c->hash_next;
    w->conn_count--;
    if (c->slot) {
        for (size_t t = 0; t < w->targets; t++) {
            struct slot_target *st = &c->slot->t[t];
            st->active = NULL;
            if (st->fd != CURL_SOCKET_BAD)
                shutdown(st->fd, SHUT_RDWR);
        }
        c->slot->next_free = w->free_slots;
        w->free_slots = c->slot;
    }
    free(c);
}

static struct rconn *conn_get(struct worker *w, uint64_t id)
{
    struct rconn *c = conn_find(w, id);
    if (c)
        return c;
    if (w->conn_count >= w->bucket_count && conn_grow_hash(w))
        return NULL;
    c = calloc(1, sizeof *c + w->targets * sizeof c->streams[0]);
    if (!c)
        return NULL;
    c->id = id;
    c->slot = slot_take(w);
    if (!c->slot) {
        free(c);
        return NULL;
    }
    for (size_t t = 0; t < w->targets; t++) {
        c->streams[t].conn = c;
        c->streams[t].target = (unsigned)t;
    }
    hash_insert(w->buckets, w->bucket_count, c);
    w->conn_count++;
    return c;
}

/* Retire idle connections that ended: idle for conn_idle of capture time,
 * the input is over, or more are open than file descriptors allow. */
static void sweep_idle(struct worker *w)
{
    while (w->idle_head) {
        struct rconn *c = w->idle_head;
        bool old = w->frontier - c->last_capture_us > w->r->cfg.conn_idle_us;
        if (!(w->input_closed || old || w->conn_count > w->max_open))
            break;
        conn_retire(w, c);
    }
}

static void conn_maybe_idle(struct worker *w, struct rconn *c)
{
    if (c->head || c->busy || c->idle)
        return;
    c->idle = true;
    c->idle_prev = w->idle_tail;
    c->idle_next = NULL;
    if (w->idle_tail)
        w->idle_tail->idle_next = c;
    else
        w->idle_head = c;
    w->idle_tail = c;
    w->idle_count++;
}

/* ------------------------------------------------------------ curl callbacks */

static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct slot_target *st = clientp;
    int fd;
    (void)purpose;
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    st->fd = fd;
    if (st->active)
        st->active->new_conn = true;
    st->w->stats[st->target].connections++;
    return fd;
}

static int on_close_socket(void *clientp, curl_socket_t fd)
{
    struct slot_target *st = clientp;
    if (st->fd == fd)
        st->fd = CURL_SOCKET_BAD;
    return close(fd);
}

static int on_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    struct request *q = clientp;
    struct stream *s = &q->conn->streams[q->target];
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    q->connected = true;
    if (!q->new_conn && s->local_port && local_port != s->local_port) {
        q->mixup = true;
        return CURL_PREREQFUNC_ABORT;
    }
    s->local_port = local_port;
    return CURL_PREREQFUNC_OK;
}

static int store_entry(struct request *q, char kind, const char *name, size_t nlen,
                       const char *value, size_t vlen)
{
    int rc = buf_append_char(&q->store, kind);
    rc |= buf_append(&q->store, &nlen, sizeof nlen);
    rc |= buf_append(&q->store, &vlen, sizeof vlen);
    rc |= buf_append(&q->store, name, nlen);
    rc |= buf_append(&q->store, value, vlen);
    return rc;
}

static size_t on_header(char *data, size_t size, size_t n, void *p)
{
    struct request *q = p;
    size_t len = size * n, line = len;
    const char *colon, *v;
    size_t vlen;

    while (line && (data[line - 1] == '\n' || data[line - 1] == '\r'))
        line--;
    if (line >= 5 && memcmp(data, "HTTP/", 5) == 0 && !q->headers_done) {
        /* a status line: a new (final or interim) response begins:
         * "HTTP/1.1 200 OK", "HTTP/1.0 404 Not Found", "HTTP/2 200" */
        const char *c = data + 5, *end = data + line;
        unsigned major = 0, minor = 0;
        int status = 0;
        while (c < end && *c >= '0' && *c <= '9')
            major = major * 10 + (unsigned)(*c++ - '0');
        if (c < end && *c == '.')
            for (c++; c < end && *c >= '0' && *c <= '9';)
                minor = minor * 10 + (unsigned)(*c++ - '0');
        while (c < end && *c == ' ')
            c++;
        for (int i = 0; i < 3 && c < end && *c >= '0' && *c <= '9'; i++)
            status = status * 10 + (*c++ - '0');
        if (c < end && *c == ' ')
            c++;
        q->status = status;
        q->vmajor = major;
        q->vminor = minor;
        q->reason_len = (size_t)(end - c) < sizeof q->reason ? (size_t)(end - c)
                                                                : sizeof q->reason - 1;
        memcpy(q->reason, c, q->reason_len);
        buf_reset(&q->store);
        q->header_count = q->trailer_count_in = 0;
        return len;
    }
    if (line == 0) {
        if (q->status >= 200)
            q->headers_done = true;
        return len;
    }
    colon = memchr(data, ':', line);
    if (!colon)
        return len; /* libcurl only passes well-formed lines; ignore others */
    v = colon + 1;
    vlen = line - (size_t)(v - data);
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (store_entry(q, q->headers_done ? 'T' : 'H', data, (size_t)(colon - data), v, vlen))
        return 0; /* headers beyond HEAD_STORE_MAX: abort the transfer */
    if (q->headers_done)
        q->trailer_count_in++;
    else
        q->header_count++;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *p)
{
    struct request *q = p;
    size_t len = size * n;
    uint64_t max_inline = q->w->r->cfg.max_inline_body;

    q->body_total += len;
    if (q->body_total > q->w->r->cfg.max_response) {
        q->too_large = true;
        return 0; /* stops the transfer: CURLE_WRITE_ERROR */
    }
    if (!q->omitted && q->body.len + len <= max_inline) {
        if (buf_append(&q->body, data, len) == 0)
            return len;
    }
    if (!q->omitted) {
        /* over the inline cap: keep only SHA-256 and size from here on */
        q->omitted = true;
        if (!q->sha)
            q->sha = sha256_new();
        if (!q->sha || !sha256_reset(q->sha) || !sha256_update(q->sha, q->body.data, q->body.len))
            return 0;
        buf_release(&q->body);
    }
    return sha256_update(q->sha, data, len) ? len : 0;
}

static size_t on_read(char *buffer, size_t size, size_t n, void *p)
{
    struct request *q = p;
    size_t max = size * n, left = q->upload_len - q->upload_pos;
    if (max > left)
        max = left;
    memcpy(buffer, q->upload_body + q->upload_pos, max);
    q->upload_pos += max;
    return max;
}

static int on_trailers(struct curl_slist **list, void *p)
{
    struct request *q = p;
    struct buf line;
    buf_init(&line, (size_t)1 << 20);
    for (size_t i = 0; i < q->trailer_count; i++) {
        const struct http_header *h = &q->trailers[i];
        struct curl_slist *grown;
        buf_reset(&line);
        if (buf_printf(&line, "%.*s: %.*s", (int)h->name_len, h->name, (int)h->value_len,
                       h->value))
            break;
        grown = curl_slist_append(*list, line.data);
        if (!grown)
            break;
        *list = grown;
    }
    buf_release(&line);
    return CURL_TRAILERFUNC_OK;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct worker *w = userp;
    struct epoll_event ev = {0};
    (void)e;

    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (socketp) {
        if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
            epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev);
    } else {
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev) && errno == EEXIST)
            epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(w->multi, s, w);
    }
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct worker *w = userp;
    (void)m;
    w->curl_due = timeout_ms < 0 ? SCHEDULE_NONE : now_mono_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

/* ------------------------------------------------------------ requests */

static void request_setup_once(struct worker *w, struct request *q);

static struct request *request_get(struct worker *w)
{
    struct request *q = w->free_requests;
    if (q) {
        w->free_requests = q->next_free;
    } else {
        q = calloc(1, sizeof *q);
        if (!q)
            return NULL;
        q->easy = curl_easy_init();
        if (!q->easy) {
            free(q);
            return NULL;
        }
        q->w = w;
        buf_init(&q->store, HEAD_STORE_MAX);
        buf_init(&q->body, w->r->cfg.max_inline_body ? w->r->cfg.max_inline_body : 1);
        buf_init(&q->header_text, (size_t)64 << 20);
        request_setup_once(w, q);
    }
    return q;
}

static void request_put(struct worker *w, struct request *q)
{
    q->headers = NULL;
    buf_reset(&q->store);
    buf_reset(&q->body);
    if (q->body.cap > BODY_KEEP) /* pooled requests keep small buffers only */
        buf_release(&q->body);
    q->next_free = w->free_requests;
    w->free_requests = q;
}

/* Add one header line to the request's text; nodes are linked afterwards,
 * when the text no longer moves. */
static int add_header_line(struct request *q, const char *name, size_t nlen, const char *value,
                           size_t vlen)
{
    /* "Name;" is libcurl's way to send a header with an empty value; a bare
     * "Name:" would remove it instead */
    if (buf_append(&q->header_text, name, nlen) ||
        (vlen ? buf_append(&q->header_text, ": ", 2) ||
                    buf_append(&q->header_text, value, vlen)
              : buf_append_char(&q->header_text, ';')) ||
        buf_append(&q->header_text, "", 1))
        return ERR_TOOBIG;
    return 0;
}

static bool has_header(const struct outgoing *o, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < o->header_count; i++)
        if (o->headers[i].name_len == n && strncasecmp(o->headers[i].name, name, n) == 0)
            return true;
    return false;
}

/* The header list libcurl sends: suppress everything libcurl would add on
 * its own, then the request's headers in order.  "Host:" comes first even
 * when the request has a Host header: libcurl moves a custom Host to the
 * top unless its own Host is switched off, and this keeps it in place. */
static int build_headers(struct request *q, const struct outgoing *o, bool body)
{
    static const char *const suppress[] = {"Host:", "Accept:", "Expect:", "Content-Type:",
                                           "Content-Length:", "Transfer-Encoding:"};
    size_t lines = 0, pos = 0;
    int rc = 0;

    buf_reset(&q->header_text);
    for (size_t i = 0; i < sizeof suppress / sizeof suppress[0] && !rc; i++) {
        char name[32];
        size_t n = strlen(suppress[i]) - 1;
        memcpy(name, suppress[i], n);
        name[n] = '\0';
        if (i > 0 && has_header(o, name))
            continue;
        if (i >= 2 && !body)
            continue; /* libcurl adds those only to requests with a body */
        rc = buf_append(&q->header_text, suppress[i], n + 2); /* with its NUL */
        lines++;
    }
    for (size_t i = 0; i < o->header_count && !rc; i++, lines++)
        rc = add_header_line(q, o->headers[i].name, o->headers[i].name_len,
                             o->headers[i].value, o->headers[i].value_len);
    if (rc)
        return rc;
    if (lines > q->node_cap) {
        struct curl_slist *nodes = realloc(q->header_nodes, lines * sizeof *nodes);
        if (!nodes)
            return ERR_NOMEM;
        q->header_nodes = nodes;
        q->node_cap = lines;
    }
    for (size_t i = 0; i < lines; i++) {
        q->header_nodes[i].data = q->header_text.data + pos;
        q->header_nodes[i].next = i + 1 < lines ? &q->header_nodes[i + 1] : NULL;
        pos += strlen(q->header_nodes[i].data) + 1;
    }
    q->headers = lines ? q->header_nodes : NULL;
    return 0;
}

/* Options that never change for an easy handle: set once when it is made. */
static void request_setup_once(struct worker *w, struct request *q)
{
    const struct replay_config *c = &w->r->cfg;
    CURL *e = q->easy;

    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout_us / 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_us / 1000));
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 30L * 24 * 3600); /* we decide when to close */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* never a proxy from http_proxy & co: traffic must reach the checked,
     * pinned addresses (and reading the environment per request is slow) */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, q);
    curl_easy_setopt(e, CURLOPT_TRAILERDATA, q);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, q);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf);
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/*
 * Set the options that vary per request.  Easy handles are reused across
 * requests, so every option a previous request may have set is set again:
 * the method options in the order libcurl needs (POSTFIELDS switches to
 * POST, HTTPGET back to a plain GET without body or NOBODY).
 */
static int request_setup(struct request *q, const struct replay_target *tg,
                         const struct outgoing *o)
{
    CURL *e = q->easy;
    bool body = o->chunked || o->body_len || has_header(o, "Content-Length");
    bool head = strcmp(o->method, "HEAD") == 0;
    int rc;

    if ((rc = build_headers(q, o, body && !head)))
        return rc;
    if (q->url_target != (int)q->target + 1) { /* libcurl parses the URL on every set */
        curl_easy_setopt(e, CURLOPT_URL, tg->base);
        q->url_target = (int)q->target + 1;
    }
    curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, o->target.data);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, q->st->connect_to);
    /* the pinned addresses enter the multi's DNS cache (permanently) when
     * the first transfer through this name starts; later ones find them */
    curl_easy_setopt(e, CURLOPT_RESOLVE, q->st->resolved ? NULL : q->st->resolve_list);
    q->st->resolved = true;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, q->st);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, q->st);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     o->version_minor == 0 ? (long)CURL_HTTP_VERSION_1_0
                                           : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(e, CURLOPT_TRAILERFUNCTION, NULL);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    } else if (o->chunked) {
        q->upload_body = o->body;
        q->upload_len = o->body_len;
        q->upload_pos = 0;
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        if (o->trailer_count) {
            q->trailers = o->trailers;
            q->trailer_count = o->trailer_count;
            curl_easy_setopt(e, CURLOPT_TRAILERFUNCTION, on_trailers);
        }
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
    } else if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body_len ? (const char *)o->body : "");
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, o->method);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(o->method, "GET") ? o->method : NULL);
    }
    return 0;
}

static void stream_ready(struct worker *w, struct stream *s);
static void conn_flush(struct worker *w, struct rconn *c);
static void flush_results(struct worker *w);

/* Send the stream's next transaction now. */
static void request_start(struct worker *w, struct stream *s)
{
    const struct replay_target *tg = &w->r->cfg.targets[s->target];
    struct rconn *c = s->conn;
    struct rtx *t = s->next;
    struct request *q = request_get(w);
    int rc;

    s->queued = false;
    if (!q || rewrite_apply(w->r->cfg.rules, tg, (int)s->target, &t->tx->request, &w->og)) {
        struct error err;
        error_init(&err);
        error_set(&err, ERR_NOMEM, "out of memory preparing a request");
        if (q)
            request_put(w, q);
        replay_request_stop(w->r, REPLAY_STOP_OUTPUT_ERROR, &err);
        return;
    }
    q->conn = c;
    q->target = s->target;
    q->tx = t;
    q->st = &c->slot->t[s->target];
    q->st->active = q;
    q->new_conn = q->connected = q->mixup = false;
    q->redacted = w->og.redacted;
    q->status = 0;
    q->reason_len = 0;
    q->header_count = q->trailer_count_in = 0;
    q->headers_done = false;
    q->body_total = 0;
    q->omitted = q->too_large = false;
    q->errbuf[0] = '\0';
    q->trailers = NULL;
    q->trailer_count = 0;
    q->scheduled = s->scheduled;
    if ((rc = request_setup(q, tg, &w->og))) {
        struct error err;
        error_init(&err);
        error_set(&err, rc, "cannot prepare transaction %llu for target %s",
                  (unsigned long long)t->tx->id, tg->name);
        request_put(w, q);
        replay_request_stop(w->r, REPLAY_STOP_OUTPUT_ERROR, &err);
        return;
    }
    q->sent = now_mono_us(); /* `now` is the loop's: a batch of starts takes time */
    s->busy = true;
    c->busy++;
    w->inflight[s->target]++;
    w->inflight_total++;
    q->prev_live = NULL;
    q->next_live = w->live;
    if (w->live)
        w->live->prev_live = q;
    w->live = q;
    curl_multi_add_handle(w->multi, q->easy);
}

/* When the stream's next transaction is due (the rule in schedule.h). */
static int64_t stream_due(const struct worker *w, const struct stream *s)
{
    const struct replay_config *c = &w->r->cfg;
    int64_t due = w->r->origin;
    if (c->rate > 0)
        due = schedule_due(w->r->origin, s->next->offset_us, 1.0);
    else if (c->speed > 0)
        due = schedule_due(w->r->origin, s->next->offset_us, c->speed);
    return s->answered > due ? s->answered : due;
}

/* Queue the stream's next transaction for its due time, or send it. */
static void stream_schedule(struct worker *w, struct stream *s, int64_t now)
{
    int64_t due;
    if (!s->next || s->busy || s->queued || w->stopping)
        return;
    due = stream_due(w, s);
    s->scheduled = due;
    if (due <= now) {
        stream_ready(w, s);
        return;
    }
    if (schedule_push(&w->due, due, s, 0) == 0)
        s->queued = true;
}

/* Send now, or wait for the target's concurrency cap. */
static void stream_ready(struct worker *w, struct stream *s)
{
    unsigned t = s->target;
    if (w->stopping || atomic_load(&w->r->stop_level))
        return;
    if (w->cap && w->inflight[t] >= w->cap) {
        s->queued = true;
        s->wait_next = NULL;
        if (w->wait_tail[t])
            w->wait_tail[t]->wait_next = s;
        else
            w->wait_head[t] = s;
        w->wait_tail[t] = s;
        return;
    }
    request_start(w, s);
}

/* Requests waiting for the cap go as soon as there is room. */
static void release_waiting(struct worker *w, unsigned t)
{
    while (!w->stopping && w->wait_head[t] && (!w->cap || w->inflight[t] < w->cap)) {
        struct stream *s = w->wait_head[t];
        w->wait_head[t] = s->wait_next;
        if (!w->wait_head[t])
            w->wait_tail[t] = NULL;
        s->wait_next = NULL;
        request_start(w, s);
    }
}

static enum result_error classify(CURLcode code, bool connected, bool too_large)
{
    if (too_large || code == CURLE_FILESIZE_EXCEEDED)
        return RESULT_ERROR_TOO_LARGE;
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return RESULT_ERROR_RESOLVE;
    case CURLE_COULDNT_CONNECT:
        return RESULT_ERROR_CONNECT_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return connected ? RESULT_ERROR_TIMEOUT : RESULT_ERROR_CONNECT_TIMEOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return RESULT_ERROR_RESET;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return RESULT_ERROR_MALFORMED;
    default:
        return RESULT_ERROR_OTHER;
    }
}

/* libcurl's messages name the pinned connect-to name; show the target's
 * host instead ("s3t0.rehearse.invalid" means nothing to a user). */
static char *user_message(const char *msg, const char *host)
{
    const char *dom = strstr(msg, "." SLOT_DOMAIN), *start;
    struct buf b;
    if (!dom)
        return strdup(msg);
    start = dom;
    while (start > msg && start[-1] != ' ' && start[-1] != '\'' && start[-1] != '(')
        start--;
    buf_init(&b, ERROR_MESSAGE_MAX * 2);
    buf_append(&b, msg, (size_t)(start - msg));
    buf_append_str(&b, host);
    buf_append_str(&b, dom + sizeof("." SLOT_DOMAIN) - 1);
    return buf_take(&b, NULL);
}

/* Move the response and timings of a finished request into its result. */
static void collect(struct worker *w, struct request *q, CURLcode code, struct tx_result *res)
{
    struct result_target *rt = &res->r;
    const struct replay_target *tg = &w->r->cfg.targets[q->target];
    CURL *e = q->easy;
    curl_off_t v;
    long connects = 0;

    memset(rt, 0, sizeof *rt);
    rt->scheduled_us = replay_wall_us(w->r, q->scheduled);
    rt->sent_us = replay_wall_us(w->r, q->sent);
    rt->connect_us = rt->first_byte_us = rt->total_us = RESULTS_TIME_NONE;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
    if (connects > 0 && curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &v) == CURLE_OK && v > 0)
        rt->connect_us = v;
    if (q->status > 0 && curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &v) == CURLE_OK &&
        v > 0)
        rt->first_byte_us = v;
    if (curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &v) == CURLE_OK)
        rt->total_us = v;

    if (q->status >= 200) {
        struct http_message *m = &rt->response;
        size_t len = 0, pos = 0, nh = 0, nt = 0;
        rt->has_response = true;
        m->status = q->status;
        m->version_major = q->vmajor;
        m->version_minor = q->vminor;
        /* one block: header and trailer arrays, then their bytes, the
         * reason and the inline body; everything in the result points into it */
        size_t body_len = q->omitted || q->too_large ? 0 : q->body.len;
        len = q->store.len;
        res->store = malloc((q->header_count + q->trailer_count_in) * sizeof(struct http_header) +
                            len + q->reason_len + 1 + body_len + 1);
        if (res->store) {
            char *bytes;
            res->headers = (struct http_header *)res->store;
            res->trailers = res->headers + q->header_count;
            bytes = (char *)(res->trailers + q->trailer_count_in);
            if (len)
                memcpy(bytes, q->store.data, len);
            res->reason = bytes + len;
            memcpy(res->reason, q->reason, q->reason_len);
            res->reason[q->reason_len] = '\0';
            res->body = res->reason + q->reason_len + 1;
            if (body_len)
                memcpy(res->body, q->body.data, body_len);
            res->body[body_len] = '\0';
            while (pos < len) {
                char kind = bytes[pos];
                size_t nlen, vlen;
                struct http_header h;
                memcpy(&nlen, bytes + pos + 1, sizeof nlen);
                memcpy(&vlen, bytes + pos + 1 + sizeof nlen, sizeof vlen);
                h.name = bytes + pos + 1 + 2 * sizeof nlen;
                h.name_len = nlen;
                h.value = h.name + nlen;
                h.value_len = vlen;
                if (kind == 'H' && nh < q->header_count)
                    res->headers[nh++] = h;
                else if (kind == 'T' && nt < q->trailer_count_in)
                    res->trailers[nt++] = h;
                pos += 1 + 2 * sizeof nlen + nlen + vlen;
            }
        }
        buf_reset(&q->store);
        m->reason = res->reason ? res->reason : "";
        m->headers = res->headers;
        m->header_count = nh;
        m->trailers = res->trailers;
        m->trailer_count = nt;
        m->body_size = q->body_total;
        if (q->too_large) {
            m->body = (const unsigned char *)"";
        } else if (q->omitted) {
            m->body = (const unsigned char *)"";
            if (sha256_final_hex(q->sha, rt->body_sha256))
                rt->body_omitted = true;
        } else if (res->body) {
            m->body = (const unsigned char *)res->body;
            m->body_len = body_len;
        } else {
            m->body = (const unsigned char *)"";
        }
    }

    if (code != CURLE_OK || q->mixup) {
        const char *msg = q->errbuf[0] ? q->errbuf : curl_easy_strerror(code);
        if (q->mixup) {
            rt->error = RESULT_ERROR_OTHER;
            msg = "internal error: libcurl offered the target connection of another captured "
                  "connection; the request was not sent (please report this)";
            w->stats[q->target].mixups++;
        } else {
            rt->error = classify(code, q->connected, q->too_large);
        }
        if (q->too_large && !q->mixup) {
            char text[256];
            snprintf(text, sizeof text,
                     "the response exceeded --max-response (%llu bytes); the transfer was "
                     "stopped",
                     (unsigned long long)w->r->cfg.max_response);
            res->error_message = strdup(text);
        } else {
            res->error_message = user_message(msg, tg->host);
        }
        rt->curl_code = (int)code;
        rt->error_message = res->error_message ? res->error_message : "";
    }
}

static void count(struct worker *w, const struct request *q, const struct result_target *rt)
{
    struct target_stats *st = &w->stats[q->target];
    st->requests++;
    atomic_fetch_add_explicit(&w->r->requests[q->target], 1, memory_order_relaxed);
    if (rt->error != RESULT_ERROR_NONE) {
        st->errors[rt->error]++;
        atomic_fetch_add_explicit(&w->r->errors[q->target], 1, memory_order_relaxed);
    }
    if (rt->has_response)
        st->status[results_status_class(rt->response.status)]++;
    if (rt->total_us != RESULTS_TIME_NONE)
        histogram_add(&st->latency, (uint64_t)rt->total_us);
    histogram_add(&st->lateness, q->sent > q->scheduled ? (uint64_t)(q->sent - q->scheduled) : 0);
    if (q->redacted)
        st->redacted_sent++;
}

static void live_unlink(struct worker *w, struct request *q)
{
    if (q->prev_live)
        q->prev_live->next_live = q->next_live;
    else
        w->live = q->next_live;
    if (q->next_live)
        q->next_live->prev_live = q->prev_live;
    q->prev_live = q->next_live = NULL;
}

static void request_done(struct worker *w, struct request *q, CURLcode code, int64_t now)
{
    struct rconn *c = q->conn;
    struct stream *s = &c->streams[q->target];
    struct rtx *t = q->tx;
    struct tx_result *res = &t->results[q->target];
    unsigned target = q->target;

    collect(w, q, code, res);
    count(w, q, &res->r);
    if (res->r.error != RESULT_ERROR_NONE && w->r->cfg.fail_fast) {
        struct error cause;
        error_init(&cause);
        error_set(&cause, ERR_NETWORK, "target %s, transaction %llu: %s: %s",
                  w->r->cfg.targets[target].name, (unsigned long long)t->tx->id,
                  result_error_name(res->r.error), res->r.error_message);
        replay_request_stop(w->r, REPLAY_STOP_FAIL_FAST, &cause);
    }
    curl_multi_remove_handle(w->multi, q->easy);
    live_unlink(w, q);
    q->st->active = NULL;
    request_put(w, q);

    w->inflight[target]--;
    w->inflight_total--;
    s->busy = false;
    c->busy--;
    s->answered = now;
    s->next = t->next;
    t->pending--;
    if (!w->stopping && !atomic_load(&w->r->stop_level)) {
        release_waiting(w, target);
        stream_schedule(w, s, now);
    }
    /* finished transactions are written even while stopping */
    conn_flush(w, c);
    conn_maybe_idle(w, c);
}

/* Write out the connection's finished transactions (they finish in order). */
static void conn_flush(struct worker *w, struct rconn *c)
{
    while (c->head && c->head->pending == 0) {
        struct rtx *t = c->head;
        const struct trace_tx *tx = t->tx;
        const struct http_header *host = http_message_header(&tx->request, "Host");
        struct result_target targets[RESULTS_MAX_TARGETS];
        struct result_record rec;
        size_t mark;
        int rc;

        c->head = t->next;
        if (!c->head)
            c->tail = NULL;
        memset(&rec, 0, sizeof rec);
        rec.tx = tx->id;
        rec.conn = tx->conn;
        rec.method = tx->request.method;
        rec.target = tx->request.target;
        rec.host = host ? host->value : NULL; /* tx_clone NUL-terminates values */
        rec.has_captured = tx->has_response;
        rec.captured = tx->response;
        rec.captured_flags = tx->flags;
        rec.target_count = w->targets;
        for (size_t i = 0; i < w->targets; i++)
            targets[i] = t->results[i].r;
        rec.targets = targets;
        mark = w->batch.len;
        rc = results_record_to_json(&w->batch, &w->r->header, &rec);
        if (!rc)
            rc = buf_append_char(&w->batch, '\n');
        if (rc) {
            struct error err;
            w->batch.len = mark;
            error_init(&err);
            error_set(&err, ERR_TOOBIG,
                      "the result of transaction %llu is too large to write; lower "
                      "--max-inline-body",
                      (unsigned long long)tx->id);
            replay_request_stop(w->r, REPLAY_STOP_OUTPUT_ERROR, &err);
        } else {
            w->batch_count++;
            if (w->batch.len > BATCH_FLUSH)
                flush_results(w);
        }
        rtx_free(t, w->targets);
        w->open_tx--;
    }
}

/* A transaction arrives from the reader. */
static void receive(struct worker *w, struct rtx *t, int64_t now)
{
    struct rconn *c;

    /* connections idle for longer than conn_idle before this request end
     * first, so their slots can serve this one */
    if (t->tx->req_start_us != TRACE_TIME_NONE && t->tx->req_start_us > w->frontier)
        w->frontier = t->tx->req_start_us;
    sweep_idle(w);
    c = conn_get(w, t->tx->conn);
    if (!c) {
        struct error err;
        error_init(&err);
        error_set(&err, ERR_NOMEM, "out of memory tracking connection %llu",
                  (unsigned long long)t->tx->conn);
        rtx_free(t, w->targets);
        replay_request_stop(w->r, REPLAY_STOP_OUTPUT_ERROR, &err);
        return;
    }
    idle_unlink(w, c);
    t->next = NULL;
    if (c->tail)
        c->tail->next = t;
    else
        c->head = t;
    c->tail = t;
    w->open_tx++;
    if (t->tx->req_start_us != TRACE_TIME_NONE)
        c->last_capture_us = t->tx->req_start_us;
    for (size_t i = 0; i < w->targets; i++) {
        struct stream *s = &c->streams[i];
        if (!s->next && !s->busy) {
            s->next = t;
            stream_schedule(w, s, now);
        }
    }
}

static void pull_inbox(struct worker *w, int64_t now)
{
    struct inbox *in = &w->inbox;
    struct rtx *batch = NULL, **tail = &batch;
    size_t window = w->r->cfg.window;
    size_t room = window > w->open_tx ? window - w->open_tx : 0;
    size_t batch_min = window / 4 < 64 ? (window / 4 ? window / 4 : 1) : 64;
    size_t taken = 0;
    bool closed;

    /* take transactions in batches: one lock and one wake-up per batch */
    if (w->input_closed || room < batch_min)
        return;
    pthread_mutex_lock(&in->lock);
    while (in->head && taken < room) {
        struct rtx *t = in->head;
        in->head = t->next;
        *tail = t;
        tail = &t->next;
        taken++;
    }
    *tail = NULL;
    if (!in->head)
        in->tail = NULL;
    in->count -= taken;
    closed = in->closed && !in->head;
    if (taken && in->count <= in->cap / 2) /* the reader refills half a queue at once */
        pthread_cond_signal(&in->not_full);
    pthread_mutex_unlock(&in->lock);
    while (batch) {
        struct rtx *next = batch->next;
        receive(w, batch, now);
        batch = next;
    }
    /* only now: while the batch is received, its connections are still
     * expecting requests */
    w->input_closed = closed;
}

static void fire_due(struct worker *w, int64_t now)
{
    struct schedule_entry e;
    while (schedule_pop_due(&w->due, now, &e)) {
        struct stream *s = e.item;
        s->queued = false;
        if (s->next && !s->busy)
            stream_ready(w, s);
    }
}

static void drain(struct worker *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg == CURLMSG_DONE) {
            struct request *q = NULL;
            CURLcode code = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
            if (q)
                request_done(w, q, code, now_mono_us());
        }
    }
}

static void begin_stop(struct worker *w)
{
    w->stopping = true;
    schedule_release(&w->due);
    schedule_init(&w->due);
    for (size_t t = 0; t < w->targets; t++)
        w->wait_head[t] = w->wait_tail[t] = NULL;
}

static void abort_live(struct worker *w)
{
    while (w->live) {
        struct request *q = w->live;
        curl_multi_remove_handle(w->multi, q->easy);
        live_unlink(w, q);
        q->st->active = NULL;
        q->conn->streams[q->target].busy = false;
        q->conn->busy--;
        w->inflight[q->target]--;
        w->inflight_total--;
        request_put(w, q);
    }
}

/* Hand the batch of formatted results to the writer: one allocation and
 * one wake-up per batch, not per result. */
static void flush_results(struct worker *w)
{
    struct out_line *l;
    if (!w->batch_count)
        return;
    l = malloc(sizeof *l + w->batch.len);
    if (l) {
        l->next = NULL;
        l->len = w->batch.len;
        l->count = w->batch_count;
        memcpy(l->data, w->batch.data, w->batch.len);
        replay_emit_batch(w->r, l, l, l->len);
    }
    buf_reset(&w->batch);
    w->batch_count = 0;
}

/* Sleep until an event or `due` (monotonic µs; SCHEDULE_NONE = no timer). */
static int wait_events(struct worker *w, int64_t due, int64_t now, struct epoll_event *ev)
{
    int timeout = -1;
    if (due != SCHEDULE_NONE && due <= now) {
        timeout = 0;
    } else if (due != w->armed) {
        struct itimerspec its = {0};
        if (due != SCHEDULE_NONE) {
            its.it_value.tv_sec = due / 1000000;
            its.it_value.tv_nsec = (due % 1000000) * 1000;
        }
        timerfd_settime(w->timer_fd, due != SCHEDULE_NONE ? TFD_TIMER_ABSTIME : 0, &its, NULL);
        w->armed = due;
    }
    return epoll_wait(w->epfd, ev, MAX_EVENTS, timeout);
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event ev[MAX_EVENTS];

    for (;;) {
        int64_t now = now_mono_us(), next;
        int level = atomic_load(&w->r->stop_level), n, running;

        if (level && !w->stopping)
            begin_stop(w);
        if (w->stopping) {
            if (!w->live)
                break;
            if (level >= 2 || now >= (int64_t)atomic_load(&w->r->stop_deadline)) {
                abort_live(w);
                break;
            }
        } else {
            pull_inbox(w, now);
            fire_due(w, now);
            sweep_idle(w);
            if (w->input_closed && w->open_tx == 0 && !w->live)
                break;
        }
        if (w->curl_due <= now) {
            w->curl_due = SCHEDULE_NONE;
            curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            drain(w);
            continue;
        }
        next = w->stopping ? (int64_t)atomic_load(&w->r->stop_deadline) : schedule_next(&w->due);
        if (w->curl_due < next)
            next = w->curl_due;
        flush_results(w);
        n = wait_events(w, next, now, ev);
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == w->wake_fd || fd == w->timer_fd) {
                uint64_t v;
                if (read(fd, &v, sizeof v) == sizeof v && fd == w->timer_fd)
                    w->armed = SCHEDULE_NONE;
                continue;
            }
            curl_multi_socket_action(w->multi, fd,
                                     (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                                         (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                                         (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR
                                                                               : 0),
                                     &running);
        }
        drain(w);
    }
    flush_results(w);
    /* the run is over for this worker: let the servers see every target
     * connection close, as the captured clients' did */
    w->input_closed = true;
    while (w->idle_head)
        conn_retire(w, w->idle_head);
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

struct worker *worker_new(struct replay *r, unsigned index, unsigned concurrency_share,
                          struct error *err)
{
    struct worker *w = calloc(1, sizeof *w);
    struct epoll_event ev = {.events = EPOLLIN};
    struct rlimit rl;
    size_t n = r->target_count;

    if (!w) {
        error_set(err, ERR_NOMEM, "out of memory creating worker %u", index);
        return NULL;
    }
    w->r = r;
    w->index = index;
    w->targets = n;
    w->epfd = w->wake_fd = w->timer_fd = -1;
    w->curl_due = w->armed = SCHEDULE_NONE;
    w->cap = concurrency_share;
    pthread_mutex_init(&w->inbox.lock, NULL);
    pthread_cond_init(&w->inbox.not_full, NULL);
    w->inbox.cap = r->cfg.queue;
    schedule_init(&w->due);
    outgoing_init(&w->og);
    buf_init(&w->batch, LINE_SCRATCH_MAX);
    w->bucket_count = 1024;
    w->buckets = calloc(w->bucket_count, sizeof *w->buckets);
    w->wait_head = calloc(n, sizeof *w->wait_head);
    w->wait_tail = calloc(n, sizeof *w->wait_tail);
    w->inflight = calloc(n, sizeof *w->inflight);
    w->stats = calloc(n, sizeof *w->stats);
    if (!w->buckets || !w->wait_head || !w->wait_tail || !w->inflight || !w->stats) {
        error_set(err, ERR_NOMEM, "out of memory creating worker %u", index);
        goto fail;
    }
    for (size_t t = 0; t < n; t++) {
        histogram_init(&w->stats[t].latency);
        histogram_init(&w->stats[t].lateness);
    }
    /* a share of the file descriptors for target connections */
    w->max_open = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        size_t budget = rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 128 : 16;
        w->max_open = budget / (n * (r->worker_count ? r->worker_count : 1));
        if (w->max_open < 16)
            w->max_open = 16;
    }
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->wake_fd < 0 || w->timer_fd < 0 || w->epfd < 0) {
        error_errno(err, ERR_ENV, errno, "cannot create the event loop of worker %u", index);
        goto fail;
    }
    w->inbox.wake_fd = w->wake_fd;
    ev.data.fd = w->wake_fd;
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev);
    ev.data.fd = w->timer_fd;
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timer_fd, &ev);
    w->multi = curl_multi_init();
    if (!w->multi) {
        error_set(err, ERR_ENV, "cannot create a libcurl multi handle");
        goto fail;
    }
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    /* never let libcurl close idle connections for room: we decide */
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, 1L << 20);
    return w;
fail:
    worker_free(w);
    return NULL;
}

void worker_report(const struct worker *w, struct target_stats *stats)
{
    for (size_t t = 0; t < w->targets; t++) {
        const struct target_stats *s = &w->stats[t];
        struct target_stats *d = &stats[t];
        d->requests += s->requests;
        for (int e = 0; e < RESULT_ERROR_COUNT; e++)
            d->errors[e] += s->errors[e];
        for (int c = 0; c < REPLAY_STATUS_CLASSES; c++)
            d->status[c] += s->status[c];
        d->connections += s->connections;
        d->redacted_sent += s->redacted_sent;
        d->mixups += s->mixups;
        histogram_merge(&d->latency, &s->latency);
        histogram_merge(&d->lateness, &s->lateness);
    }
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    abort_live(w);
    /* closes every connection (CURLOPT_CLOSESOCKETFUNCTION needs the slots) */
    if (w->multi)
        curl_multi_cleanup(w->multi);
    while (w->free_requests) {
        struct request *q = w->free_requests;
        w->free_requests = q->next_free;
        curl_easy_cleanup(q->easy);
        sha256_free(q->sha);
        buf_release(&q->store);
        buf_release(&q->body);
        buf_release(&q->header_text);
        free(q->header_nodes);
        free(q);
    }
    for (size_t i = 0; w->buckets && i < w->bucket_count; i++) {
        struct rconn *c = w->buckets[i];
        while (c) {
            struct rconn *next = c->hash_next;
            while (c->head) {
                struct rtx *t = c->head;
                c->head = t->next;
                rtx_free(t, w->targets);
            }
            free(c);
            c = next;
        }
    }
    while (w->inbox.head) {
        struct rtx *t = w->inbox.head;
        w->inbox.head = t->next;
        rtx_free(t, w->targets);
    }
    for (size_t i = 0; i < w->slot_count; i++) {
        for (size_t t = 0; t < w->targets; t++)
            slot_target_release(&w->slots[i]->t[t]);
        free(w->slots[i]);
    }
    free(w->slots);
    free(w->buckets);
    free(w->wait_head);
    free(w->wait_tail);
    free(w->inflight);
    free(w->stats);
    schedule_release(&w->due);
    outgoing_release(&w->og);
    buf_release(&w->batch);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    if (w->timer_fd >= 0)
        close(w->timer_fd);
    pthread_mutex_destroy(&w->inbox.lock);
    pthread_cond_destroy(&w->inbox.not_full);
    free(w);
}
