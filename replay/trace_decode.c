#include "trace_decode.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "utf8.h"

#define MAX_DEPTH 64

struct dec {
    const char *p, *end;
    struct arena *arena;
};

static void ws(struct dec *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        d->p++;
}

static bool eat(struct dec *d, char c)
{
    ws(d);
    if (d->p < d->end && *d->p == c) {
        d->p++;
        return true;
    }
    return false;
}

static bool peek(struct dec *d, char c)
{
    ws(d);
    return d->p < d->end && *d->p == c;
}

static bool literal(struct dec *d, const char *word)
{
    size_t n = strlen(word);
    ws(d);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return false;
    d->p += n;
    return true;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/*
 * A string at d->p.  With `out`, its decoded bytes are copied into the
 * arena, NUL-terminated.  false for anything jansson would reject (control
 * characters, bad escapes, lone surrogates, \u0000, invalid UTF-8).
 */
static bool string(struct dec *d, const char **out, size_t *out_len)
{
    const char *s, *run;
    char *w = NULL, *dst = NULL;

    ws(d);
    if (d->p >= d->end || *d->p != '"')
        return false;
    s = ++d->p;
    /* find the end first: the decoded text is never longer than the raw */
    while (d->p < d->end && *d->p != '"') {
        if ((unsigned char)*d->p < 0x20)
            return false;
        if (*d->p == '\\') {
            if (++d->p >= d->end)
                return false;
        }
        d->p++;
    }
    if (d->p >= d->end)
        return false;
    if (out) {
        dst = arena_alloc(d->arena, (size_t)(d->p - s) + 1);
        if (!dst)
            return false;
        w = dst;
    }
    run = s;
    for (const char *c = s; c < d->p;) {
        unsigned cp;
        if (*c != '\\') {
            c++;
            continue;
        }
        if (!utf8_valid(run, (size_t)(c - run)))
            return false;
        if (w) {
            memcpy(w, run, (size_t)(c - run));
            w += c - run;
        }
        c++;
        switch (*c) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            int v;
            if (d->p - c < 5 || (v = hex4(c + 1)) < 0)
                return false;
            c += 4;
            cp = (unsigned)v;
            if (cp >= 0xd800 && cp <= 0xdbff) { /* a high surrogate needs its low half */
                int lo;
                if (d->p - c < 7 || c[1] != '\\' || c[2] != 'u' || (lo = hex4(c + 3)) < 0 ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return false;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
                c += 6;
            } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
                return false; /* a lone low surrogate; \u0000 (jansson refuses it) */
            }
            break;
        }
        default:
            return false;
        }
        c++;
        run = c;
        if (w) {
            if (cp < 0x80) {
                *w++ = (char)cp;
            } else if (cp < 0x800) {
                *w++ = (char)(0xc0 | cp >> 6);
                *w++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *w++ = (char)(0xe0 | cp >> 12);
                *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *w++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *w++ = (char)(0xf0 | cp >> 18);
                *w++ = (char)(0x80 | (cp >> 12 & 0x3f));
                *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
                *w++ = (char)(0x80 | (cp & 0x3f));
            }
        }
    }
    if (!utf8_valid(run, (size_t)(d->p - run)))
        return false;
    if (w) {
        memcpy(w, run, (size_t)(d->p - run));
        w += d->p - run;
        *w = '\0';
        *out = dst;
        if (out_len)
            *out_len = (size_t)(w - dst);
    }
    d->p++; /* the closing quote */
    return true;
}

/* A member name: only plain ones (no escapes) are handled here. */
static bool key(struct dec *d, const char **k, size_t *len)
{
    const char *s;
    ws(d);
    if (d->p >= d->end || *d->p != '"')
        return false;
    s = ++d->p;
    while (d->p < d->end && *d->p != '"') {
        if (*d->p == '\\' || (unsigned char)*d->p < 0x20)
            return false;
        d->p++;
    }
    if (d->p >= d->end || !utf8_valid(s, (size_t)(d->p - s)))
        return false;
    *k = s;
    *len = (size_t)(d->p - s);
    d->p++;
    return eat(d, ':');
}

static bool key_is(const char *k, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(k, name, len) == 0;
}

/* A JSON number; *is_int when it has neither fraction nor exponent and
 * fits in int64 (jansson rejects larger integers). */
static bool number(struct dec *d, bool *is_int, int64_t *value)
{
    const char *s;
    bool neg = false;
    uint64_t v = 0;
    bool overflow = false;

    ws(d);
    s = d->p;
    if (d->p < d->end && *d->p == '-')
        neg = true, d->p++;
    if (d->p >= d->end || *d->p < '0' || *d->p > '9')
        return false;
    if (*d->p == '0' && d->p + 1 < d->end && d->p[1] >= '0' && d->p[1] <= '9')
        return false; /* leading zero */
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
        unsigned digit = (unsigned)(*d->p++ - '0');
        if (v > (UINT64_MAX - digit) / 10)
            overflow = true;
        else
            v = v * 10 + digit;
    }
    *is_int = true;
    if (d->p < d->end && *d->p == '.') {
        *is_int = false;
        d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9')
            return false;
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    }
    if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
        *is_int = false;
        d->p++;
        if (d->p < d->end && (*d->p == '+' || *d->p == '-'))
            d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9')
            return false;
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    }
    if (*is_int) {
        if (overflow || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
            return false; /* jansson: "too big integer" */
        *value = neg ? (int64_t)(0 - v) : (int64_t)v;
    }
    (void)s;
    return true;
}

static bool skip_value(struct dec *d, int depth);

static bool skip_container(struct dec *d, char close, bool object, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    if (eat(d, close))
        return true;
    for (;;) {
        if (object) {
            if (!string(d, NULL, NULL) || !eat(d, ':'))
                return false;
        }
        if (!skip_value(d, depth + 1))
            return false;
        if (eat(d, close))
            return true;
        if (!eat(d, ','))
            return false;
    }
}

static bool skip_value(struct dec *d, int depth)
{
    bool is_int;
    int64_t v;
    ws(d);
    if (d->p >= d->end)
        return false;
    switch (*d->p) {
    case '"': return string(d, NULL, NULL);
    case '{': d->p++; return skip_container(d, '}', true, depth);
    case '[': d->p++; return skip_container(d, ']', false, depth);
    case 't': return literal(d, "true");
    case 'f': return literal(d, "false");
    case 'n': return literal(d, "null");
    default: return number(d, &is_int, &v);
    }
}

static bool integer(struct dec *d, int64_t *out)
{
    bool is_int;
    return number(d, &is_int, out) && is_int;
}

/* An integer, or null (TRACE_TIME_NONE). */
static bool time_value(struct dec *d, int64_t *out)
{
    if (peek(d, 'n')) {
        *out = TRACE_TIME_NONE;
        return literal(d, "null");
    }
    return integer(d, out);
}

static bool decode_b64(struct dec *d, const char *text, size_t len, const char **out,
                       size_t *out_len)
{
    struct buf b;
    char *copy;
    buf_init(&b, len);
    if (base64_decode(&b, text, len, NULL)) {
        buf_release(&b);
        return false;
    }
    copy = arena_alloc(d->arena, b.len + 1);
    if (copy) {
        memcpy(copy, b.data ? b.data : "", b.len);
        copy[b.len] = '\0';
        *out = copy;
        *out_len = b.len;
    }
    buf_release(&b);
    return copy != NULL;
}

/* [[name, value], [name, value, "base64"], ...] or null. */
static bool headers(struct dec *d, struct http_header **out, size_t *count)
{
    struct http_header *items = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    *count = 0;
    if (peek(d, 'n'))
        return literal(d, "null");
    if (!eat(d, '['))
        return false;
    if (eat(d, ']'))
        return true;
    for (;;) {
        struct http_header h;
        const char *enc;
        size_t enc_len;
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 16;
            struct http_header *bigger = arena_alloc(d->arena, grown * sizeof *bigger);
            if (!bigger)
                return false;
            if (n)
                memcpy(bigger, items, n * sizeof *items);
            items = bigger;
            cap = grown;
        }
        if (!eat(d, '[') || !string(d, &h.name, &h.name_len) || !eat(d, ',') ||
            !string(d, &h.value, &h.value_len))
            return false;
        if (eat(d, ',')) {
            if (!string(d, &enc, &enc_len) || !key_is(enc, enc_len, "base64") ||
                !decode_b64(d, h.value, h.value_len, &h.value, &h.value_len))
                return false;
        }
        if (!eat(d, ']'))
            return false;
        items[n++] = h;
        if (eat(d, ']'))
            break;
        if (!eat(d, ','))
            return false;
    }
    *out = items;
    *count = n;
    return true;
}

static bool version(const char *s, size_t len, unsigned *major, unsigned *minor)
{
    if (len != 8 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
        s[7] < '0' || s[7] > '9')
        return false;
    *major = (unsigned)(s[5] - '0');
    *minor = (unsigned)(s[7] - '0');
    return true;
}

/* A message object, as http_json_read_message reads it. */
static bool message(struct dec *d, bool is_request, struct http_message *m)
{
    bool have_status = false, have_body = false, have_size = false;
    const char *body = NULL, *enc = NULL;
    size_t body_len = 0, enc_len = 0;
    int enc_kind = 0; /* 0 absent or null, 1 a string, 2 another type */
    int64_t status = 0, size = 0;

    memset(m, 0, sizeof *m);
    m->version_major = 1;
    m->version_minor = 1;
    m->reason = is_request ? NULL : "";
    if (!eat(d, '{'))
        return false;
    if (!eat(d, '}')) {
        for (;;) {
            const char *k;
            size_t kl;
            if (!key(d, &k, &kl))
                return false;
            if (is_request && key_is(k, kl, "method")) {
                if (!string(d, &m->method, NULL))
                    return false;
            } else if (is_request && key_is(k, kl, "target")) {
                if (!string(d, &m->target, NULL))
                    return false;
            } else if (!is_request && key_is(k, kl, "status")) {
                if (!integer(d, &status) || status < 0 || status > 999)
                    return false;
                have_status = true;
            } else if (!is_request && key_is(k, kl, "reason")) {
                m->reason = "";
                if (peek(d, '"')) {
                    if (!string(d, &m->reason, NULL))
                        return false;
                } else if (!skip_value(d, 1)) {
                    return false;
                }
            } else if (key_is(k, kl, "version")) {
                const char *v;
                size_t vl;
                if (!string(d, &v, &vl) || !version(v, vl, &m->version_major, &m->version_minor))
                    return false;
            } else if (key_is(k, kl, "headers")) {
                if (!headers(d, &m->headers, &m->header_count))
                    return false;
            } else if (key_is(k, kl, "trailers")) {
                if (!headers(d, &m->trailers, &m->trailer_count))
                    return false;
            } else if (key_is(k, kl, "body")) {
                if (peek(d, 'n')) {
                    if (!literal(d, "null"))
                        return false;
                    have_body = false;
                } else {
                    if (!string(d, &body, &body_len))
                        return false;
                    have_body = true;
                }
            } else if (key_is(k, kl, "body_encoding")) {
                if (peek(d, '"')) {
                    if (!string(d, &enc, &enc_len))
                        return false;
                    enc_kind = 1;
                } else if (peek(d, 'n')) {
                    if (!literal(d, "null"))
                        return false;
                    enc_kind = 0;
                } else {
                    if (!skip_value(d, 1))
                        return false;
                    enc_kind = 2;
                }
            } else if (key_is(k, kl, "body_size")) {
                if (!integer(d, &size))
                    return false;
                have_size = true;
            } else if (!skip_value(d, 1)) {
                return false;
            }
            if (eat(d, '}'))
                break;
            if (!eat(d, ','))
                return false;
        }
    }
    if (is_request ? !m->method || !m->target : !have_status)
        return false;
    m->status = (int)status;
    if (have_body) {
        if (enc_kind == 2)
            return false;
        if (enc_kind == 1) {
            if (key_is(enc, enc_len, "base64")) {
                if (!decode_b64(d, body, body_len, &body, &body_len))
                    return false;
            } else if (!key_is(enc, enc_len, "utf8")) {
                return false;
            }
        }
        m->body = (const unsigned char *)body;
        m->body_len = body_len;
    }
    m->body_size = m->body_len;
    if (have_size) {
        if (size < (int64_t)m->body_len)
            return false;
        m->body_size = (uint64_t)size;
    }
    return true;
}

static bool address(struct dec *d, char *out, size_t size)
{
    const char *s;
    size_t len;
    out[0] = '\0';
    if (peek(d, 'n'))
        return literal(d, "null");
    if (!string(d, &s, &len) || len >= size)
        return false;
    memcpy(out, s, len + 1);
    return true;
}

static bool flags(struct dec *d, uint32_t *out)
{
    if (!eat(d, '['))
        return false;
    if (eat(d, ']'))
        return true;
    for (;;) {
        const char *f;
        size_t len;
        int bit;
        if (!string(d, &f, &len))
            return false;
        bit = tx_flag_lookup(f, len);
        if (bit >= 0) /* unknown flags come from newer writers: ignore */
            *out |= 1u << bit;
        if (eat(d, ']'))
            return true;
        if (!eat(d, ','))
            return false;
    }
}

int trace_decode_tx(const char *line, size_t len, struct arena *arena, struct trace_tx *tx)
{
    struct dec d = {line, line + len, arena};
    bool have_type = false, have_id = false, have_conn = false, have_request = false;
    int64_t v;

    memset(tx, 0, sizeof *tx);
    tx->req_start_us = tx->req_end_us = TRACE_TIME_NONE;
    tx->resp_start_us = tx->resp_end_us = TRACE_TIME_NONE;
    if (!eat(&d, '{') || eat(&d, '}'))
        return 0;
    for (;;) {
        const char *k;
        size_t kl;
        if (!key(&d, &k, &kl))
            return 0;
        if (key_is(k, kl, "type")) {
            const char *t;
            size_t tl;
            if (!string(&d, &t, &tl) || !key_is(t, tl, "tx"))
                return 0; /* summaries and newer line types: the slow path */
            have_type = true;
        } else if (key_is(k, kl, "id")) {
            if (!integer(&d, &v) || v < 0)
                return 0;
            tx->id = (uint64_t)v;
            have_id = true;
        } else if (key_is(k, kl, "conn")) {
            if (!integer(&d, &v) || v < 0)
                return 0;
            tx->conn = (uint64_t)v;
            have_conn = true;
        } else if (key_is(k, kl, "client")) {
            if (!address(&d, tx->client, sizeof tx->client))
                return 0;
        } else if (key_is(k, kl, "server")) {
            if (!address(&d, tx->server, sizeof tx->server))
                return 0;
        } else if (key_is(k, kl, "req_start_us")) {
            if (!time_value(&d, &tx->req_start_us))
                return 0;
        } else if (key_is(k, kl, "req_end_us")) {
            if (!time_value(&d, &tx->req_end_us))
                return 0;
        } else if (key_is(k, kl, "resp_start_us")) {
            if (!time_value(&d, &tx->resp_start_us))
                return 0;
        } else if (key_is(k, kl, "resp_end_us")) {
            if (!time_value(&d, &tx->resp_end_us))
                return 0;
        } else if (key_is(k, kl, "request")) {
            if (!message(&d, true, &tx->request))
                return 0;
            have_request = true;
        } else if (key_is(k, kl, "response")) {
            if (peek(&d, 'n')) {
                if (!literal(&d, "null"))
                    return 0;
                tx->has_response = false;
                memset(&tx->response, 0, sizeof tx->response);
            } else {
                if (!message(&d, false, &tx->response))
                    return 0;
                tx->has_response = true;
            }
        } else if (key_is(k, kl, "flags")) {
            tx->flags = 0;
            if (!flags(&d, &tx->flags))
                return 0;
        } else if (!skip_value(&d, 1)) {
            return 0;
        }
        if (eat(&d, '}'))
            break;
        if (!eat(&d, ','))
            return 0;
    }
    ws(&d);
    if (d.p != d.end || !have_type || !have_id || !have_conn || !have_request)
        return 0;
    if (!tx->has_response)
        tx->flags |= TX_FLAG(TX_NO_RESPONSE);
    return 1;
}
