#include "http_conn.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "trace.h"

enum { CB_NONE, CB_FIELD, CB_VALUE };
enum { OFF_NONE, OFF_NON_HTTP, OFF_UPGRADE, OFF_ENDED };

/* A request or status line longer than this is not what resync looks for. */
#define RESYNC_LINE_MAX 8192

static void half_feed(struct http_half *h, const uint8_t *p, size_t n);
static void truncate_message(struct http_half *h, uint32_t flags);
static void enter_resync(struct http_half *h, bool at_line_start);

static bool is_client(const struct http_half *h)
{
    return h->conn->client == h->dir;
}

static uint32_t role_flag(const struct http_half *h, enum tx_flag req, enum tx_flag resp)
{
    return 1u << (is_client(h) ? req : resp);
}

/* ---- transactions awaiting a response --------------------------------- */

static void await_push(struct http_conn *c, struct cap_tx *tx)
{
    tx->conn_next = NULL;
    if (c->await_tail)
        c->await_tail->conn_next = tx;
    else
        c->await_head = tx;
    c->await_tail = tx;
    tx->queued = true;
}

static void await_remove(struct http_conn *c, struct cap_tx *tx)
{
    struct cap_tx **pp = &c->await_head, *prev = NULL;
    if (!tx->queued)
        return;
    while (*pp && *pp != tx) {
        prev = *pp;
        pp = &(*pp)->conn_next;
    }
    if (!*pp)
        return;
    *pp = tx->conn_next;
    if (c->await_tail == tx)
        c->await_tail = prev;
    tx->conn_next = NULL;
    tx->queued = false;
}

/* Hand tx to the queue once both of its messages are finished. */
static void maybe_ready(struct http_conn *c, struct cap_tx *tx)
{
    if (tx->req_done && tx->resp_done && !tx->ready)
        tx_queue_ready(c->env->txq, tx);
}

/* The request of h's message is over (complete, or cut with `flags`). */
static void finish_request(struct http_half *h, uint32_t flags)
{
    struct cap_tx *tx = h->tx;
    h->tx = NULL;
    h->msg = NULL;
    h->started = false;
    if (!tx)
        return;
    tx->flags |= flags | h->gap_flags;
    h->gap_flags = 0;
    if (!tx->req.end_us)
        tx->req.end_us = h->ts;
    tx->req_end_pos = h->pos;
    tx->req_done = true;
    maybe_ready(h->conn, tx);
}

static void finish_response(struct http_half *h, uint32_t flags)
{
    struct cap_tx *tx = h->tx;
    h->tx = NULL;
    h->msg = NULL;
    h->started = false;
    h->orphan = false;
    if (!tx)
        return;
    tx->flags |= flags | h->gap_flags;
    h->gap_flags = 0;
    if (!tx->resp.end_us)
        tx->resp.end_us = h->ts;
    await_remove(h->conn, tx);
    tx->resp_done = true;
    h->conn->env->counters.responses++;
    maybe_ready(h->conn, tx);
}

/* Awaiting requests that will never get a response (the server's stream
 * ended, or the client showed it had received bytes we never saw).  Stops
 * at a request still being received unless `all`, and always at the one
 * whose response is being parsed. */
static void answer_none(struct http_conn *c, uint32_t flags, bool all)
{
    struct cap_tx *tx;
    while ((tx = c->await_head) && (tx->req_done || all)) {
        if (c->client >= 0 && c->half[!c->client].tx == tx)
            break;
        await_remove(c, tx);
        if (!tx->has_response)
            tx->flags |= TX_FLAG(TX_NO_RESPONSE);
        tx->flags |= flags;
        tx->resp_done = true;
        maybe_ready(c, tx);
    }
}

/* ---- binding messages to transactions --------------------------------- */

static int bind_request(struct http_half *h)
{
    struct http_conn *c = h->conn;
    struct http_half *server = &c->half[!h->dir];
    struct cap_tx *tx;

    /* The client acknowledged server bytes we never saw: the responses of
     * the requests still awaiting one were lost, and this request does not
     * wait behind them. */
    if (c->await_head && server->acked > server->pos) {
        if (server->mode == HALF_PARSE && server->started) {
            truncate_message(server, TX_FLAG(TX_RESPONSE_GAP));
            enter_resync(server, false);
        }
        answer_none(c, TX_FLAG(TX_RESPONSE_GAP), false);
    }

    tx = tx_queue_open(c->env->txq);
    if (!tx)
        return -1;
    tx->conn = c->conn;
    memcpy(tx->client, c->endpoint[h->dir], sizeof tx->client);
    memcpy(tx->server, c->endpoint[!h->dir], sizeof tx->server);
    tx->req.started = true;
    tx->req.start_us = h->msg_start;
    if (h->resync_pending)
        tx->flags |= TX_FLAG(TX_RESYNC);
    h->resync_pending = false;
    if (c->await_head)
        tx->flags |= TX_FLAG(TX_PIPELINED);
    await_push(c, tx);
    c->any_http = true;
    h->probing = false;
    c->env->counters.requests++;
    h->tx = tx;
    h->msg = &tx->req;
    h->line_open = true;
    return 0;
}

static void bind_response(struct http_half *h)
{
    struct http_conn *c = h->conn;
    struct cap_tx *tx = c->await_head;

    c->any_http = true;
    h->probing = false;
    if (!tx) {
        h->orphan = true;
        h->resync_pending = false;
        c->env->counters.orphan_responses++;
        return;
    }
    tx->resp.started = true;
    tx->resp.start_us = h->msg_start;
    tx->has_response = true;
    if (h->resync_pending)
        tx->flags |= TX_FLAG(TX_RESYNC);
    h->resync_pending = false;
    h->tx = tx;
    h->msg = &tx->resp;
    h->line_open = true;
}

static bool bound(const struct http_half *h)
{
    return h->msg || h->orphan;
}

static int bind(struct http_half *h)
{
    if (bound(h))
        return 0;
    if (is_client(h))
        return bind_request(h);
    bind_response(h);
    return 0;
}

/* End the target/reason with a NUL so it can be handed out as a string. */
static int close_line(struct http_half *h)
{
    if (!h->line_open || !h->msg)
        return 0;
    h->line_open = false;
    h->msg->line_len = (uint32_t)h->msg->text.len;
    return cap_msg_append_text(h->conn->env->txq, h->msg, "", 1) ? -1 : 0;
}

/* ---- http-parser callbacks -------------------------------------------- */

static int on_message_begin(http_parser *p)
{
    struct http_half *h = p->data;
    h->started = true;
    h->orphan = false;
    h->headers_done = false;
    h->line_open = false;
    h->in_chunk = false;
    h->last_cb = CB_NONE;
    h->msg = NULL;
    h->tx = NULL;
    h->skip_body = 0;
    h->msg_start = h->ts;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_half *h = p->data;
    if (bind(h))
        return -1;
    if (!h->msg)
        return 0;
    return cap_msg_append_text(h->conn->env->txq, h->msg, at, len) ? -1 : 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    return on_url(p, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_half *h = p->data;
    struct tx_queue *q = h->conn->env->txq;
    struct cap_header *hdr;

    if (bind(h))
        return -1;
    if (!h->msg)
        return 0;
    if (close_line(h))
        return -1;
    if (h->last_cb != CB_FIELD) {
        if (!(hdr = cap_msg_new_header(q, h->msg)))
            return -1;
        hdr->name_off = (uint32_t)h->msg->text.len;
        hdr->value_off = hdr->name_off;
        if (h->headers_done)
            h->msg->ntrailers++;
    }
    hdr = &h->msg->hdrs[h->msg->nhdrs - 1];
    if (cap_msg_append_text(q, h->msg, at, len))
        return -1;
    hdr->name_len += (uint32_t)len;
    h->last_cb = CB_FIELD;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_half *h = p->data;
    struct tx_queue *q = h->conn->env->txq;
    struct cap_header *hdr;

    if (!h->msg)
        return 0;
    if (!h->msg->nhdrs && on_header_field(p, at, 0)) /* lenient: value without name */
        return -1;
    hdr = &h->msg->hdrs[h->msg->nhdrs - 1];
    if (h->last_cb != CB_VALUE)
        hdr->value_off = (uint32_t)h->msg->text.len;
    if (cap_msg_append_text(q, h->msg, at, len))
        return -1;
    hdr->value_len += (uint32_t)len;
    h->last_cb = CB_VALUE;
    return 0;
}

static bool is_interim(unsigned status)
{
    return status >= 100 && status < 200 && status != 101;
}

/*
 * Returns 1 (no body) for responses that cannot have one whatever their
 * headers say — to HEAD, 1xx, 204, 304 — and 2 (no body, and the
 * connection leaves HTTP) for 101 and a successful CONNECT.
 */
static int on_headers_complete(http_parser *p)
{
    struct http_half *h = p->data;
    struct cap_msg *m;
    unsigned st = p->status_code;

    if (bind(h) || close_line(h))
        return -1;
    h->headers_done = true;
    h->last_cb = CB_NONE;
    m = h->msg;
    if (m) {
        m->version_major = (uint8_t)p->http_major;
        m->version_minor = (uint8_t)p->http_minor;
    }
    if (is_client(h)) {
        if (m)
            m->method = (uint8_t)p->method;
        if (p->upgrade && h->tx)
            h->tx->upgrade_requested = true;
        return 0;
    }
    if (m)
        m->status = (uint16_t)st;
    if (is_interim(st))
        return 1;
    if (st == 101 || (h->tx && h->tx->req.method == HTTP_CONNECT && st / 100 == 2)) {
        if (h->tx)
            h->tx->flags |= TX_FLAG(TX_UPGRADE);
        h->conn->upgraded = true;
        return 2;
    }
    if (h->tx && h->tx->req.method == HTTP_HEAD)
        return 1;
    if (st == 204 || st == 304)
        return 1;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_half *h = p->data;
    struct http_env *env = h->conn->env;
    struct cap_msg *m = h->msg;
    size_t kept;

    if (!m)
        return 0;
    m->body_size += len;
    if (h->skip_body) { /* filler for a gap: counted, not stored */
        size_t k = len < h->skip_body ? len : h->skip_body;
        h->skip_body -= (uint32_t)k;
        at += k;
        len -= k;
    }
    if (!len)
        return 0;
    kept = cap_msg_append_body(env->txq, m, at, len, env->max_body);
    if (kept < len) {
        uint32_t flag = role_flag(h, TX_REQUEST_BODY_CAPPED_BIT, TX_RESPONSE_BODY_CAPPED_BIT);
        bool by_cap = m->body.len + (len - kept) > env->max_body;
        if (!(h->tx->flags & flag)) {
            if (by_cap)
                env->counters.bodies_capped++;
            else
                env->counters.memory_bodies++;
        }
        if (by_cap)
            env->counters.body_capped_bytes += len - kept;
        else
            env->counters.memory_bytes += len - kept;
        h->tx->flags |= flag;
    }
    return 0;
}

static int on_chunk_header(http_parser *p)
{
    struct http_half *h = p->data;
    h->in_chunk = p->content_length > 0; /* the chunk's size, per http_parser.h */
    return 0;
}

static int on_chunk_complete(http_parser *p)
{
    struct http_half *h = p->data;
    h->in_chunk = false;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_half *h = p->data;
    struct http_conn *c = h->conn;

    h->started = false;
    if (h->msg) {
        h->msg->end_us = h->ts;
        h->msg->complete = true;
    }
    if (is_client(h)) {
        finish_request(h, 0);
        return 0;
    }
    if (is_interim(p->status_code)) {
        /* 100 Continue and friends: the final response follows, for the
         * same request. */
        c->env->counters.interim++;
        if (h->tx) {
            h->tx->flags |= TX_FLAG(TX_CONTINUE);
            cap_msg_clear(c->env->txq, &h->tx->resp);
            h->tx->has_response = false;
        }
        h->tx = NULL;
        h->msg = NULL;
        h->orphan = false;
        return 0;
    }
    if (h->tx && h->tx->upgrade_requested && !c->upgraded)
        c->release_hold = true; /* refused: the client's held bytes are HTTP */
    finish_response(h, 0);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
};

/* ---- modes ------------------------------------------------------------ */

/* Forget the held line (keeping its storage) and return its charge. */
static void line_reset(struct http_half *h)
{
    membudget_give(h->conn->env->budget, h->charged);
    h->charged = 0;
    h->line.len = 0;
}

static void parser_start(struct http_half *h)
{
    http_parser_init(&h->parser, is_client(h) ? HTTP_REQUEST : HTTP_RESPONSE);
    h->parser.data = h;
    /* We observe what servers accepted; be as lenient as they were. */
    h->parser.allow_chunked_length = 1;
    h->parser.lenient_http_headers = 1;
    h->started = false;
    h->mode = HALF_PARSE;
}

static void enter_resync(struct http_half *h, bool at_line_start)
{
    h->mode = HALF_RESYNC;
    h->at_line_start = at_line_start;
    h->resync_pending = true;
    h->skipped += h->line.len;
    line_reset(h);
}

/* The message in progress is cut short: keep what it has, flagged. */
static void truncate_message(struct http_half *h, uint32_t flags)
{
    uint32_t f = flags | role_flag(h, TX_REQUEST_TRUNCATED_BIT, TX_RESPONSE_TRUNCATED_BIT);
    if (!h->started)
        return;
    if (h->msg || h->orphan)
        h->conn->env->counters.messages_cut++;
    if (is_client(h))
        finish_request(h, f);
    else
        finish_response(h, f);
}

static void make_non_http(struct http_conn *c)
{
    c->non_http = true;
    for (int d = 0; d < 2; d++) {
        struct http_half *h = &c->half[d];
        if (h->started && h->mode == HALF_PARSE)
            truncate_message(h, 0);
        h->mode = HALF_OFF;
        h->off_reason = OFF_NON_HTTP;
    }
}

static void switch_to_upgraded(struct http_conn *c)
{
    c->upgraded = true;
    c->env->counters.upgrades++;
    for (int d = 0; d < 2; d++) {
        struct http_half *h = &c->half[d];
        if (h->mode == HALF_HOLD)
            c->env->counters.upgrade_bytes += h->line.len;
        else if (h->mode == HALF_PARSE && h->started)
            truncate_message(h, 0);
        line_reset(h);
        h->mode = HALF_OFF;
        h->off_reason = OFF_UPGRADE;
    }
}

static void parse_error(struct http_half *h, const uint8_t *p, size_t at)
{
    struct http_conn *c = h->conn;

    if (h->probing && !c->any_http) {
        /* The first bytes of a connection we saw start are not HTTP. */
        make_non_http(c);
        return;
    }
    c->env->counters.parse_errors++;
    truncate_message(h, 0);
    enter_resync(h, at == 0 || p[at - 1] == '\n');
}

/* Run the parser; returns bytes consumed and switches mode on error or
 * upgrade. */
static size_t execute(struct http_half *h, const uint8_t *p, size_t n)
{
    size_t k = http_parser_execute(&h->parser, &settings, (const char *)p, n);

    if (HTTP_PARSER_ERRNO(&h->parser) != HPE_OK) {
        parse_error(h, p, k);
        return k;
    }
    if (h->parser.upgrade) {
        if (!is_client(h) || h->conn->upgraded) {
            switch_to_upgraded(h->conn);
        } else {
            h->mode = HALF_HOLD; /* until the server answers the Upgrade/CONNECT */
            line_reset(h);
        }
        return k;
    }
    if (k < n) { /* cannot happen with http-parser 2.9; never loop on it */
        parse_error(h, p, k);
        return k + (k == 0);
    }
    return k;
}

/* ---- resynchronisation ------------------------------------------------ */

static const char *const method_names[] = {
#define XX(num, name, string) #string,
    HTTP_METHOD_MAP(XX)
#undef XX
};

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

enum line_kind { LINE_NONE, LINE_REQUEST, LINE_RESPONSE };

/* Is line[0..len) (ending in \n) a request line or a status line? */
static enum line_kind classify(const uint8_t *s, size_t len)
{
    size_t i = 0, m;

    if (len >= 13 && memcmp(s, "HTTP/", 5) == 0 && is_digit(s[5]) && s[6] == '.' &&
        is_digit(s[7]) && s[8] == ' ' && is_digit(s[9]) && is_digit(s[10]) &&
        is_digit(s[11]) && (s[12] == ' ' || s[12] == '\r' || s[12] == '\n'))
        return LINE_RESPONSE;

    while (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
        i++;
    if (i == 0 || i >= len || s[i] != ' ')
        return LINE_NONE;
    for (m = 0; m < sizeof method_names / sizeof method_names[0]; m++)
        if (strlen(method_names[m]) == i && memcmp(method_names[m], s, i) == 0)
            break;
    if (m == sizeof method_names / sizeof method_names[0])
        return LINE_NONE;
    size_t t = ++i;
    while (i < len && s[i] > ' ' && s[i] != 0x7F)
        i++;
    if (i == t || i + 9 > len || s[i] != ' ' || memcmp(s + i + 1, "HTTP/", 5) != 0 ||
        !is_digit(s[i + 6]) || s[i + 7] != '.' || !is_digit(s[i + 8]))
        return LINE_NONE;
    i += 9;
    if (i < len && s[i] == '\r')
        i++;
    return i < len && s[i] == '\n' ? LINE_REQUEST : LINE_NONE;
}

static bool could_start(const struct http_half *h, uint8_t c)
{
    int client = h->conn->client;
    if (client == h->dir)
        return c >= 'A' && c <= 'Z';
    if (client >= 0)
        return c == 'H';
    return c >= 'A' && c <= 'Z';
}

static bool line_append(struct http_half *h, const uint8_t *p, size_t n)
{
    if (!membudget_take(h->conn->env->budget, n))
        return false;
    if (buf_append(&h->line, p, n)) {
        membudget_give(h->conn->env->budget, n);
        return false;
    }
    h->charged += n;
    return true;
}

/*
 * Skip bytes up to a complete line that starts a message of this
 * direction's role; when found, the line is in h->line and the mode is
 * HALF_PARSE.  Returns bytes consumed.
 */
static size_t resync_scan(struct http_half *h, const uint8_t *p, size_t n)
{
    struct http_conn *c = h->conn;
    size_t i = 0;

    while (i < n) {
        const uint8_t *nl;
        if (!h->at_line_start) {
            nl = memchr(p + i, '\n', n - i);
            if (!nl) {
                h->skipped += n - i;
                return n;
            }
            h->skipped += (size_t)(nl + 1 - (p + i));
            i = (size_t)(nl + 1 - p);
            h->at_line_start = true;
            continue;
        }
        if (h->line.len == 0 && !could_start(h, p[i])) {
            h->at_line_start = false;
            continue;
        }
        nl = memchr(p + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl + 1 - (p + i)) : n - i;
        if (h->line.len + take > RESYNC_LINE_MAX || !line_append(h, p + i, take)) {
            h->skipped += h->line.len;
            line_reset(h);
            h->at_line_start = false;
            continue;
        }
        i += take;
        if (!nl)
            return i;
        enum line_kind kind = classify((const uint8_t *)h->line.data, h->line.len);
        if (kind != LINE_NONE && c->client < 0)
            c->client = kind == LINE_REQUEST ? h->dir : !h->dir;
        if (kind == LINE_NONE || (kind == LINE_REQUEST) != is_client(h)) {
            h->skipped += h->line.len;
            line_reset(h);
            continue; /* still at a line start */
        }
        c->env->counters.resyncs++;
        c->env->counters.resync_bytes += h->skipped;
        if (h->skipped)
            h->resync_pending = true;
        h->skipped = 0;
        parser_start(h);
        return i;
    }
    return i;
}

/* Parse the start line resync found (in h->line). */
static void feed_line(struct http_half *h)
{
    size_t len = h->line.len, k;
    h->line.len = 0; /* the bytes stay in place while the parser reads them */
    k = execute(h, (const uint8_t *)h->line.data, len);
    if (k < len)
        h->skipped += len - k;
    line_reset(h);
}

static void hold(struct http_half *h, const uint8_t *p, size_t n)
{
    struct http_env *env = h->conn->env;
    if (h->line.len + n > env->max_hold || !line_append(h, p, n)) {
        /* No answer to the Upgrade/CONNECT within max_hold bytes: the
         * client is clearly speaking something else already. */
        switch_to_upgraded(h->conn);
        env->counters.upgrade_bytes += n;
    }
}

/* First bytes of a direction. */
static void half_begin(struct http_half *h, const uint8_t *p)
{
    struct http_conn *c = h->conn;
    bool plausible;

    if (h->midstream || c->client < 0) {
        enter_resync(h, true);
        h->resync_pending = false;
        return;
    }
    plausible = is_client(h) ? (p[0] >= 'A' && p[0] <= 'Z') : p[0] == 'H';
    if (!plausible && !c->any_http) {
        make_non_http(c);
        return;
    }
    parser_start(h);
    h->probing = true;
    if (!plausible)
        parse_error(h, p, 0);
}

static void half_feed(struct http_half *h, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k;
        switch (h->mode) {
        case HALF_IDLE:
            half_begin(h, p);
            continue;
        case HALF_OFF:
            if (h->off_reason == OFF_UPGRADE)
                h->conn->env->counters.upgrade_bytes += n;
            return;
        case HALF_HOLD:
            hold(h, p, n);
            return;
        case HALF_RESYNC:
            k = resync_scan(h, p, n);
            p += k;
            n -= k;
            if (h->mode == HALF_PARSE)
                feed_line(h);
            continue;
        case HALF_PARSE:
        default:
            k = execute(h, p, n);
            p += k;
            n -= k;
            continue;
        }
    }
}

/* An upgrade was refused: what the client sent meanwhile is HTTP again. */
static void release_hold(struct http_conn *c)
{
    struct http_half *h;
    struct buf held;

    c->release_hold = false;
    if (c->client < 0 || c->half[c->client].mode != HALF_HOLD)
        return;
    h = &c->half[c->client];
    held = h->line;
    buf_init(&h->line, held.max);
    membudget_give(c->env->budget, h->charged);
    h->charged = 0;
    parser_start(h);
    half_feed(h, (const uint8_t *)held.data, held.len);
    buf_release(&held);
}

/* ---- public ----------------------------------------------------------- */

void http_conn_init(struct http_conn *c, struct http_env *env, uint64_t conn,
                    const char *endpoint0, const char *endpoint1)
{
    memset(c, 0, sizeof *c);
    c->env = env;
    c->client = -1;
    c->conn = conn;
    snprintf(c->endpoint[0], sizeof c->endpoint[0], "%s", endpoint0);
    snprintf(c->endpoint[1], sizeof c->endpoint[1], "%s", endpoint1);
    for (int d = 0; d < 2; d++) {
        c->half[d].conn = c;
        c->half[d].dir = (uint8_t)d;
        c->half[d].mode = HALF_IDLE;
        buf_init(&c->half[d].line,
                 env->max_hold > RESYNC_LINE_MAX ? env->max_hold : RESYNC_LINE_MAX);
    }
}

void http_conn_set_client(struct http_conn *c, int dir)
{
    if (c->client < 0)
        c->client = dir;
}

void http_conn_start(struct http_conn *c, int dir, bool midstream)
{
    c->half[dir].midstream = midstream;
}

void http_conn_data(struct http_conn *c, int dir, const uint8_t *p, uint32_t n, int64_t ts)
{
    struct http_half *h = &c->half[dir];
    if (c->closed || !n)
        return;
    h->ts = ts;
    h->pos += n;
    h->seen += n;
    half_feed(h, p, n);
    if (c->release_hold)
        release_hold(c);
}

/*
 * Lost bytes inside a body of known length do not break the message: tell
 * the parser they went by.  http-parser keeps the bytes still expected in
 * `content_length` while it reads a Content-Length body or a chunk (the
 * header documents it for chunks); shortening it by n is exactly what
 * reading n bytes would have done.  A gap that ends the body exactly is
 * shortened by n - 1 and the last byte fed as filler, so the parser's own
 * end-of-body transition runs.
 */
static bool bridge_gap(struct http_half *h, uint64_t n)
{
    http_parser *p = &h->parser;
    uint64_t remaining;

    if (!h->headers_done || !h->started)
        return false;
    if (p->flags & F_CHUNKED) {
        if (!h->in_chunk)
            return false;
        remaining = p->content_length;
    } else if (p->content_length == ULLONG_MAX) {
        if (is_client(h))
            return false;
        if (h->msg) /* body until the connection closes: nothing to count down */
            h->msg->body_size += n;
        return true;
    } else {
        remaining = p->content_length;
    }
    if (remaining == 0 || n > remaining)
        return false;
    if (n < remaining) {
        p->content_length -= n;
        if (h->msg)
            h->msg->body_size += n;
        return true;
    }
    p->content_length -= n - 1;
    if (h->msg)
        h->msg->body_size += n - 1;
    h->skip_body = 1;
    execute(h, (const uint8_t *)"", 1);
    return true;
}

void http_conn_gap(struct http_conn *c, int dir, uint64_t n, bool snaplen, int64_t ts)
{
    struct http_half *h = &c->half[dir];
    uint32_t flags;

    if (c->closed || !n)
        return;
    h->ts = ts;
    h->pos += n;
    flags = (c->client >= 0 ? role_flag(h, TX_REQUEST_GAP_BIT, TX_RESPONSE_GAP_BIT) : 0) |
            (snaplen ? TX_FLAG(TX_SNAPLEN) : 0);
    switch (h->mode) {
    case HALF_OFF:
        return;
    case HALF_IDLE:
    case HALF_HOLD:
        enter_resync(h, false);
        return;
    case HALF_RESYNC:
        h->skipped += h->line.len;
        line_reset(h);
        h->at_line_start = false;
        h->resync_pending = true;
        return;
    case HALF_PARSE:
    default:
        if (!h->started) { /* between messages */
            enter_resync(h, false);
            return;
        }
        if (bridge_gap(h, n)) {
            c->env->counters.body_gaps++;
            if (h->tx)
                h->tx->flags |= flags;
            else
                h->gap_flags |= flags;
            return;
        }
        truncate_message(h, flags);
        enter_resync(h, false);
        return;
    }
}

/* End of one direction's bytes: the parser learns of it (a body delimited
 * by the close ends here), a message still open is cut. */
static void end_half(struct http_half *h, int64_t ts)
{
    struct http_env *env = h->conn->env;

    h->ts = ts;
    if (h->mode == HALF_PARSE && h->started) {
        http_parser_execute(&h->parser, &settings, NULL, 0);
        if (h->started)
            truncate_message(h, 0);
    }
    if (h->mode == HALF_HOLD)
        env->counters.upgrade_bytes += h->line.len;
    if (h->mode == HALF_RESYNC)
        h->skipped += h->line.len;
    line_reset(h);
    if (h->mode != HALF_OFF) {
        h->mode = HALF_OFF;
        h->off_reason = OFF_ENDED;
    }
}

void http_conn_eof(struct http_conn *c, int dir, int64_t ts)
{
    if (c->closed)
        return;
    end_half(&c->half[dir], ts);
    if (c->client >= 0 && dir != c->client)
        answer_none(c, 0, false); /* the server said all it will say */
}

void http_conn_acked(struct http_conn *c, int dir, uint64_t pos)
{
    if (pos > c->half[dir].acked)
        c->half[dir].acked = pos;
}

uint64_t http_conn_pos(const struct http_conn *c, int dir)
{
    return c->half[dir].pos;
}

void http_conn_reset(struct http_conn *c)
{
    c->reset = true;
    for (struct cap_tx *tx = c->await_head; tx; tx = tx->conn_next)
        tx->flags |= TX_FLAG(TX_CONN_RESET);
    for (int d = 0; d < 2; d++)
        if (c->half[d].tx)
            c->half[d].tx->flags |= TX_FLAG(TX_CONN_RESET);
}

void http_conn_close(struct http_conn *c, int64_t ts)
{
    struct http_counters *k = &c->env->counters;
    uint64_t skipped = 0;

    if (c->closed)
        return;
    /* The client first: its open request is finished before the
     * awaiting list is emptied. */
    if (c->client >= 0) {
        end_half(&c->half[c->client], ts);
        end_half(&c->half[!c->client], ts);
    } else {
        end_half(&c->half[0], ts);
        end_half(&c->half[1], ts);
    }
    answer_none(c, c->reset ? TX_FLAG(TX_CONN_RESET) : 0, true);
    c->closed = true;

    for (int d = 0; d < 2; d++) {
        skipped += c->half[d].skipped;
        line_reset(&c->half[d]);
        buf_release(&c->half[d].line);
    }
    if (c->any_http) {
        k->http_flows++;
        k->resync_bytes += skipped;
    } else if (c->half[0].seen + c->half[1].seen > 0) {
        k->non_http_flows++;
        k->non_http_bytes += c->half[0].seen + c->half[1].seen;
    }
}
