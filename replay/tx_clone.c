#include "tx_clone.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN_UP(n) (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

/* Header of the block: where the caller's extra space starts. */
struct clone_block {
    struct trace_tx tx; /* first, so a struct trace_tx * is the block */
    size_t extra_offset;
};

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static size_t headers_size(const struct http_header *h, size_t n)
{
    size_t size = n * sizeof *h;
    for (size_t i = 0; i < n; i++)
        size += h[i].name_len + 1 + h[i].value_len + 1;
    return size;
}

static size_t message_size(const struct http_message *m)
{
    return str_size(m->method) + str_size(m->target) + str_size(m->reason) +
           headers_size(m->headers, m->header_count) +
           headers_size(m->trailers, m->trailer_count) + m->body_len + 1;
}

struct cursor {
    char *p;
};

static const char *copy_bytes(struct cursor *c, const void *s, size_t n)
{
    char *out = c->p;
    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
    c->p += n + 1;
    return out;
}

static const char *copy_str(struct cursor *c, const char *s)
{
    return s ? copy_bytes(c, s, strlen(s)) : NULL;
}

static struct http_header *copy_headers(struct cursor *c, const struct http_header *h, size_t n)
{
    struct http_header *out;
    if (!n)
        return NULL;
    c->p = (char *)ALIGN_UP((uintptr_t)c->p);
    out = (struct http_header *)c->p;
    c->p += n * sizeof *h;
    for (size_t i = 0; i < n; i++) {
        out[i].name = copy_bytes(c, h[i].name, h[i].name_len);
        out[i].name_len = h[i].name_len;
        out[i].value = copy_bytes(c, h[i].value, h[i].value_len);
        out[i].value_len = h[i].value_len;
    }
    return out;
}

static void copy_message(struct cursor *c, struct http_message *dst,
                         const struct http_message *src)
{
    *dst = *src;
    dst->headers = copy_headers(c, src->headers, src->header_count);
    dst->trailers = copy_headers(c, src->trailers, src->trailer_count);
    dst->method = copy_str(c, src->method);
    dst->target = copy_str(c, src->target);
    dst->reason = copy_str(c, src->reason);
    dst->body = (const unsigned char *)copy_bytes(c, src->body, src->body_len);
}

struct trace_tx *tx_clone(const struct trace_tx *tx, size_t extra, size_t *size)
{
    struct clone_block *b;
    struct cursor c;
    size_t data = message_size(&tx->request) + (tx->has_response ? message_size(&tx->response) : 0);
    /* header arrays are placed at aligned positions: pad generously */
    size_t total, extra_offset;

    data += 6 * alignof(max_align_t);
    extra_offset = ALIGN_UP(sizeof *b + data);
    total = extra_offset + extra;
    b = malloc(total);
    if (!b)
        return NULL;
    b->tx = *tx;
    b->extra_offset = extra_offset;
    c.p = (char *)b + ALIGN_UP(sizeof *b);
    copy_message(&c, &b->tx.request, &tx->request);
    if (tx->has_response)
        copy_message(&c, &b->tx.response, &tx->response);
    else
        memset(&b->tx.response, 0, sizeof b->tx.response);
    memset((char *)b + extra_offset, 0, extra);
    if (size)
        *size = total;
    return &b->tx;
}

void *tx_clone_extra(struct trace_tx *copy)
{
    struct clone_block *b = (struct clone_block *)copy;
    return (char *)b + b->extra_offset;
}
