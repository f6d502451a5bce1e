#include "tx_queue.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* http_parser stops at 80 KiB of start line and headers, and as much
 * again of trailers: this is far beyond both. */
#define TEXT_MAX ((size_t)512 << 10)
#define HEADERS_MAX 65536u
/* Pooled records keep buffers up to this size; larger ones are freed. */
#define KEEP_CAPACITY ((size_t)64 << 10)
#define POOL_MAX 256

struct tx_queue {
    struct membudget *budget;
    tx_emit_fn emit;
    void *ctx;
    struct cap_tx *head, *tail;  /* every transaction not yet written, by id */
    struct cap_tx *pool;
    unsigned pooled;
    uint64_t next_id;
    uint64_t ready_bytes;        /* charge of ready transactions still held */
    int failed;
    struct tx_queue_counters counters;
};

struct tx_queue *tx_queue_new(struct membudget *budget, tx_emit_fn emit, void *ctx)
{
    struct tx_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->budget = budget;
    q->emit = emit;
    q->ctx = ctx;
    return q;
}

static void msg_release(struct cap_msg *m)
{
    buf_release(&m->text);
    buf_release(&m->body);
    free(m->hdrs);
}

void tx_queue_free(struct tx_queue *q)
{
    if (!q)
        return;
    while (q->head) {
        struct cap_tx *tx = q->head;
        q->head = tx->next;
        membudget_give(q->budget, tx->req.charged + tx->resp.charged);
        msg_release(&tx->req);
        msg_release(&tx->resp);
        free(tx);
    }
    while (q->pool) {
        struct cap_tx *tx = q->pool;
        q->pool = tx->next;
        msg_release(&tx->req);
        msg_release(&tx->resp);
        free(tx);
    }
    free(q);
}

void cap_msg_clear(struct tx_queue *q, struct cap_msg *m)
{
    membudget_give(q->budget, m->charged);
    m->charged = 0;
    buf_reset(&m->text);
    buf_reset(&m->body);
    m->line_len = 0;
    m->nhdrs = 0;
    m->ntrailers = 0;
    m->body_size = 0;
    m->start_us = m->end_us = 0;
    m->status = 0;
    m->method = 0;
    m->version_major = 1;
    m->version_minor = 1;
    m->started = false;
    m->complete = false;
}

/* Reset a record for reuse, dropping buffers that grew large. */
static void msg_recycle(struct tx_queue *q, struct cap_msg *m)
{
    cap_msg_clear(q, m);
    if (m->text.cap > KEEP_CAPACITY)
        buf_release(&m->text);
    if (m->body.cap > KEEP_CAPACITY)
        buf_release(&m->body);
    if (m->hdr_cap > 256) {
        free(m->hdrs);
        m->hdrs = NULL;
        m->hdr_cap = 0;
    }
}

struct cap_tx *tx_queue_open(struct tx_queue *q)
{
    struct cap_tx *tx = q->pool;
    if (tx) {
        q->pool = tx->next;
        q->pooled--;
    } else {
        tx = calloc(1, sizeof *tx);
        if (!tx)
            return NULL;
        buf_init(&tx->req.text, TEXT_MAX);
        buf_init(&tx->resp.text, TEXT_MAX);
        buf_init(&tx->req.body, 0);
        buf_init(&tx->resp.body, 0);
        cap_msg_clear(q, &tx->req);
        cap_msg_clear(q, &tx->resp);
    }
    tx->next = NULL;
    tx->conn_next = NULL;
    tx->id = ++q->next_id;
    tx->conn = 0;
    tx->client[0] = tx->server[0] = '\0';
    tx->has_response = false;
    tx->req_done = tx->resp_done = false;
    tx->upgrade_requested = false;
    tx->queued = false;
    tx->ready = false;
    tx->req_end_pos = 0;
    tx->flags = 0;
    if (q->tail)
        q->tail->next = tx;
    else
        q->head = tx;
    q->tail = tx;
    return tx;
}

static void recycle(struct tx_queue *q, struct cap_tx *tx)
{
    if (q->pooled >= POOL_MAX) {
        membudget_give(q->budget, tx->req.charged + tx->resp.charged);
        msg_release(&tx->req);
        msg_release(&tx->resp);
        free(tx);
        return;
    }
    msg_recycle(q, &tx->req);
    msg_recycle(q, &tx->resp);
    tx->next = q->pool;
    q->pool = tx;
    q->pooled++;
}

static void write_one(struct tx_queue *q, struct cap_tx *tx)
{
    if (!q->failed) {
        int rc = q->emit(q->ctx, tx);
        if (rc < 0)
            q->failed = rc;
    }
    q->counters.written++;
    for (unsigned bit = 0; bit < 32; bit++)
        if (tx->flags & (1u << bit))
            q->counters.flag_counts[bit]++;
}

static bool is_ready(const struct cap_tx *tx)
{
    return tx->ready;
}

void tx_queue_ready(struct tx_queue *q, struct cap_tx *tx)
{
    tx->ready = true;
    q->ready_bytes += tx->req.charged + tx->resp.charged;
    while (q->head && is_ready(q->head)) {
        struct cap_tx *h = q->head;
        q->head = h->next;
        if (!q->head)
            q->tail = NULL;
        q->ready_bytes -= h->req.charged + h->resp.charged;
        write_one(q, h);
        recycle(q, h);
    }
    if (q->ready_bytes <= q->budget->max / 4)
        return;
    /* Ready transactions pile up behind an open one: write them now. */
    struct cap_tx **pp = &q->head, *prev = NULL;
    while (*pp) {
        struct cap_tx *t = *pp;
        if (!is_ready(t)) {
            prev = t;
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        if (q->tail == t)
            q->tail = prev;
        q->ready_bytes -= t->req.charged + t->resp.charged;
        q->counters.written_early++;
        write_one(q, t);
        recycle(q, t);
    }
}

void tx_queue_finish(struct tx_queue *q)
{
    while (q->head) {
        struct cap_tx *h = q->head;
        q->head = h->next;
        write_one(q, h);
        recycle(q, h);
    }
    q->tail = NULL;
    q->ready_bytes = 0;
}

int tx_queue_failed(const struct tx_queue *q)
{
    return q->failed;
}

const struct tx_queue_counters *tx_queue_counters(const struct tx_queue *q)
{
    return &q->counters;
}

int cap_msg_append_text(struct tx_queue *q, struct cap_msg *m, const char *p, size_t n)
{
    int rc = buf_append(&m->text, p, n);
    if (rc)
        return rc;
    membudget_force(q->budget, n);
    m->charged += n;
    return 0;
}

size_t cap_msg_append_body(struct tx_queue *q, struct cap_msg *m, const char *p, size_t n,
                           uint64_t max)
{
    size_t room = m->body.len >= max ? 0 : (size_t)(max - m->body.len);
    if (n > room)
        n = room;
    if (!n || !membudget_take(q->budget, n))
        return 0;
    if (m->body.max < max)
        m->body.max = (size_t)max;
    if (buf_append(&m->body, p, n)) {
        membudget_give(q->budget, n);
        return 0;
    }
    m->charged += n;
    return n;
}

struct cap_header *cap_msg_new_header(struct tx_queue *q, struct cap_msg *m)
{
    if (m->nhdrs == m->hdr_cap) {
        uint32_t cap = m->hdr_cap ? m->hdr_cap * 2 : 16;
        struct cap_header *h;
        if (cap > HEADERS_MAX)
            return NULL;
        h = realloc(m->hdrs, cap * sizeof *h);
        if (!h)
            return NULL;
        m->hdrs = h;
        m->hdr_cap = cap;
    }
    membudget_force(q->budget, sizeof(struct cap_header));
    m->charged += sizeof(struct cap_header);
    memset(&m->hdrs[m->nhdrs], 0, sizeof m->hdrs[0]);
    return &m->hdrs[m->nhdrs++];
}
