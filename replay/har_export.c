/*
 * har_export.c — trace → HAR 1.2, streamed: each transaction becomes one
 * entry, written as soon as it is read, one entry per line.  The mapping is
 * in docs/cli/trace.md; what HAR has no field for goes into fields starting
 * with "_" (the spec's extension mechanism), which import-har reads back.
 */
#include "har.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "buf.h"
#include "jsonw.h"
#include "outfile.h"
#include "timefmt.h"
#include "trace_reader.h"
#include "utf8.h"
#include "version.h"

/* A trace line is at most 512 MiB; its entry can be a little larger. */
#define ENTRY_MAX ((size_t)2 << 30)

/* JSON text cannot carry other bytes losslessly; NUL trips many readers. */
static bool is_text(const void *data, size_t len)
{
    /* len 0 first: an empty body may have a NULL pointer (memchr(NULL) is UB) */
    return len == 0 || (utf8_valid(data, len) && memchr(data, '\0', len) == NULL);
}

static bool header_is(const struct http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

static int put_headers(struct buf *b, const struct http_header *h, size_t n)
{
    int rc = buf_append_char(b, '[');
    for (size_t i = 0; i < n; i++) {
        rc |= buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
        rc |= jsonw_string(b, h[i].name, h[i].name_len, 0);
        rc |= buf_append_str(b, ",\"value\":");
        if (is_text(h[i].value, h[i].value_len)) {
            rc |= jsonw_string(b, h[i].value, h[i].value_len, 0);
            rc |= buf_append_char(b, '}');
        } else {
            rc |= buf_append_char(b, '"');
            rc |= base64_encode(b, h[i].value, h[i].value_len);
            rc |= buf_append_str(b, "\",\"_encoding\":\"base64\"}");
        }
    }
    return rc | buf_append_char(b, ']');
}

/* {"name":N,"value":V} for s[0..len) split at the first '=' (trimmed). */
static int put_pair(struct buf *b, const char *s, size_t len, bool comma)
{
    const char *eq = memchr(s, '=', len);
    size_t name_len = eq ? (size_t)(eq - s) : len;
    int rc = buf_append_str(b, comma ? ",{\"name\":" : "{\"name\":");
    rc |= jsonw_string(b, s, name_len, 0);
    rc |= buf_append_str(b, ",\"value\":");
    rc |= eq ? jsonw_string(b, eq + 1, len - name_len - 1, 0) : buf_append_str(b, "\"\"");
    return rc | buf_append_char(b, '}');
}

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* Request cookies from every Cookie header ("a=1; b=2"); response cookies
 * from each Set-Cookie (its name=value, attributes left in the header).
 * Values rehearse redacted are not cookies any more: none are listed. */
static int put_cookies(struct buf *b, const struct http_message *m, bool request)
{
    bool comma = false;
    int rc = buf_append_char(b, '[');

    for (size_t i = 0; i < m->header_count; i++) {
        const struct http_header *h = &m->headers[i];
        const char *s = h->value, *end = h->value + h->value_len;
        if (!header_is(h, request ? "Cookie" : "Set-Cookie") ||
            (h->value_len >= 10 && memcmp(h->value, "[redacted:", 10) == 0))
            continue;
        while (s < end) {
            const char *semi = memchr(s, ';', (size_t)(end - s));
            const char *stop = semi ? semi : end;
            const char *part = s;
            size_t len = (size_t)(stop - s);
            trim(&part, &len);
            if (len) {
                rc |= put_pair(b, part, len, comma);
                comma = true;
            }
            if (!request)
                break; /* attributes (Path, Expires, ...) are not cookies */
            s = stop + (semi != NULL);
        }
    }
    return rc | buf_append_char(b, ']');
}

static int put_query(struct buf *b, const char *target)
{
    const char *q = strchr(target, '?'), *end;
    bool comma = false;
    int rc = buf_append_char(b, '[');

    if (q) {
        end = strchr(q, '#');
        if (!end)
            end = q + strlen(q);
        for (const char *s = q + 1; s < end;) {
            const char *amp = memchr(s, '&', (size_t)(end - s));
            const char *stop = amp ? amp : end;
            if (stop > s) {
                rc |= put_pair(b, s, (size_t)(stop - s), comma);
                comma = true;
            }
            s = stop + 1;
        }
    }
    return rc | buf_append_char(b, ']');
}

static const struct http_header *first_header(const struct http_message *m, const char *name)
{
    for (size_t i = 0; i < m->header_count; i++)
        if (header_is(&m->headers[i], name))
            return &m->headers[i];
    return NULL;
}

/* The body as HAR text: UTF-8 as is, anything else base64. */
static int put_text(struct buf *b, const struct http_message *m)
{
    int rc = buf_append_str(b, ",\"text\":");
    if (is_text(m->body, m->body_len))
        return rc | jsonw_string(b, (const char *)m->body, m->body_len, 0);
    rc |= buf_append_char(b, '"');
    rc |= base64_encode(b, m->body, m->body_len);
    return rc | buf_append_str(b, "\",\"encoding\":\"base64\"");
}

static int put_header_value(struct buf *b, const struct http_header *h, const char *dflt)
{
    return h ? jsonw_string(b, h->value, h->value_len, 0) : jsonw_cstring(b, dflt, 0);
}

/* The absolute URL HAR wants: http:// (https:// towards port 443) + Host
 * (or the server address) + target; an absolute-form target (sent to a
 * proxy) is one already. */
static int put_url(struct buf *b, const struct trace_tx *tx)
{
    const char *t = tx->request.target;
    const struct http_header *host = first_header(&tx->request, "Host");
    size_t start = b->len;
    int rc = 0;

    if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0)
        return jsonw_cstring(b, t, 0);
    /* The trace does not say whether TLS was used; port 443 says it was. */
    size_t slen = strlen(tx->server);
    bool tls = slen > 4 && strcmp(tx->server + slen - 4, ":443") == 0;
    rc |= buf_append_str(b, tls ? "https://" : "http://");
    if (host)
        rc |= buf_append(b, host->value, host->value_len);
    else
        rc |= buf_append_str(b, tx->server[0] ? tx->server : "unknown.invalid");
    if (t[0] != '/')
        rc |= buf_append_char(b, '/');
    rc |= buf_append_str(b, t);
    if (rc)
        return rc;
    /* Escape what was appended as one JSON string. */
    size_t len = b->len - start;
    char *raw = malloc(len);
    if (!raw)
        return ERR_NOMEM;
    memcpy(raw, b->data + start, len);
    b->len = start;
    rc = jsonw_string(b, raw, len, 0);
    free(raw);
    return rc;
}

static double ms(int64_t us)
{
    return (double)us / 1000.0;
}

/* A phase from a to b in µs; 0 when either end is unknown or it would be
 * negative (HAR allows no negative send/wait/receive). */
static int64_t phase(int64_t a, int64_t b, bool *clamped)
{
    if (a == TRACE_TIME_NONE || b == TRACE_TIME_NONE)
        return 0;
    if (b < a) {
        *clamped = true;
        return 0;
    }
    return b - a;
}

static int put_server_ip(struct buf *b, const char *server)
{
    const char *end = strrchr(server, ':');
    size_t len;

    if (!server[0])
        return 0;
    if (server[0] == '[') {
        const char *close = strchr(server, ']');
        if (!close)
            return 0;
        server++;
        len = (size_t)(close - server);
    } else {
        len = end ? (size_t)(end - server) : strlen(server);
    }
    int rc = buf_append_str(b, ",\"serverIPAddress\":");
    return rc | jsonw_string(b, server, len, 0);
}

static int put_flags(struct buf *b, uint32_t flags)
{
    int rc = buf_append_str(b, ",\"flags\":[");
    for (int bit = 0, first = 1; bit < TX_FLAG_COUNT; bit++) {
        if (!(flags & (1u << bit)))
            continue;
        rc |= buf_printf(b, "%s\"%s\"", first ? "" : ",", tx_flag_name((enum tx_flag)bit));
        first = 0;
    }
    return rc | buf_append_char(b, ']');
}

static int put_entry(struct buf *b, const struct trace_tx *tx, struct har_export_result *res)
{
    const struct http_message *rq = &tx->request, *rs = &tx->response;
    bool clamped = false;
    int64_t start = tx->req_start_us == TRACE_TIME_NONE ? 0 : tx->req_start_us;
    int64_t send = phase(tx->req_start_us, tx->req_end_us, &clamped);
    int64_t wait = tx->has_response ? phase(tx->req_end_us, tx->resp_start_us, &clamped) : 0;
    int64_t receive = tx->has_response ? phase(tx->resp_start_us, tx->resp_end_us, &clamped) : 0;
    int rc = 0;

    res->clamped_timings += clamped;
    rc |= buf_append_str(b, "{\"startedDateTime\":\"");
    rc |= timefmt_iso8601(b, start);
    rc |= buf_append_str(b, "\",\"time\":");
    rc |= jsonw_double(b, ms(send + wait + receive));

    rc |= buf_append_str(b, ",\"request\":{\"method\":");
    rc |= jsonw_cstring(b, rq->method, 0);
    rc |= buf_append_str(b, ",\"url\":");
    rc |= put_url(b, tx);
    rc |= buf_printf(b, ",\"httpVersion\":\"HTTP/%u.%u\",\"cookies\":", rq->version_major,
                     rq->version_minor);
    rc |= put_cookies(b, rq, true);
    rc |= buf_append_str(b, ",\"headers\":");
    rc |= put_headers(b, rq->headers, rq->header_count);
    rc |= buf_append_str(b, ",\"queryString\":");
    rc |= put_query(b, rq->target);
    if (rq->body_len || rq->body_size) {
        rc |= buf_append_str(b, ",\"postData\":{\"mimeType\":");
        rc |= put_header_value(b, first_header(rq, "Content-Type"), "");
        rc |= put_text(b, rq);
        rc |= buf_append_char(b, '}');
    }
    rc |= buf_append_str(b, ",\"headersSize\":-1,\"bodySize\":");
    rc |= jsonw_uint(b, rq->body_size);
    rc |= buf_append_char(b, '}');

    if (tx->has_response) {
        const struct http_header *ce = first_header(rs, "Content-Encoding");
        rc |= buf_printf(b, ",\"response\":{\"status\":%d,\"statusText\":", rs->status);
        rc |= jsonw_cstring(b, rs->reason ? rs->reason : "", 0);
        rc |= buf_printf(b, ",\"httpVersion\":\"HTTP/%u.%u\",\"cookies\":", rs->version_major,
                         rs->version_minor);
        rc |= put_cookies(b, rs, false);
        rc |= buf_append_str(b, ",\"headers\":");
        rc |= put_headers(b, rs->headers, rs->header_count);
        rc |= buf_append_str(b, ",\"content\":{\"size\":");
        rc |= jsonw_uint(b, rs->body_len);
        rc |= buf_append_str(b, ",\"mimeType\":");
        rc |= put_header_value(b, first_header(rs, "Content-Type"), "x-unknown");
        if (rs->body_len)
            rc |= put_text(b, rs);
        /* HAR bodies are decoded; ours are as sent.  Say so. */
        if (ce && rs->body_len) {
            rc |= buf_append_str(b, ",\"_contentEncoding\":");
            rc |= jsonw_string(b, ce->value, ce->value_len, 0);
            res->encoded_bodies++;
        }
        rc |= buf_append_str(b, "},\"redirectURL\":");
        rc |= put_header_value(b, first_header(rs, "Location"), "");
        rc |= buf_append_str(b, ",\"headersSize\":-1,\"bodySize\":");
        rc |= jsonw_uint(b, rs->body_size);
        if (rs->trailer_count) {
            rc |= buf_append_str(b, ",\"_trailers\":");
            rc |= put_headers(b, rs->trailers, rs->trailer_count);
        }
        rc |= buf_append_char(b, '}');
    } else {
        /* What browsers write for a request that got no answer. */
        rc |= buf_append_str(b, ",\"response\":{\"status\":0,\"statusText\":\"\","
                                "\"httpVersion\":\"\",\"cookies\":[],\"headers\":[],"
                                "\"content\":{\"size\":0,\"mimeType\":\"x-unknown\"},"
                                "\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":-1,"
                                "\"_error\":\"no response was captured\"}");
        res->no_response++;
    }
    rc |= buf_append_str(b, ",\"cache\":{},\"timings\":{\"blocked\":-1,\"dns\":-1,"
                            "\"connect\":-1,\"send\":");
    rc |= jsonw_double(b, ms(send));
    rc |= buf_append_str(b, ",\"wait\":");
    rc |= jsonw_double(b, ms(wait));
    rc |= buf_append_str(b, ",\"receive\":");
    rc |= jsonw_double(b, ms(receive));
    rc |= buf_append_str(b, ",\"ssl\":-1}");
    rc |= put_server_ip(b, tx->server);
    rc |= buf_printf(b, ",\"connection\":\"%llu\"", (unsigned long long)tx->conn);

    rc |= buf_append_str(b, ",\"_rehearse\":{\"id\":");
    rc |= jsonw_uint(b, tx->id);
    rc |= buf_append_str(b, ",\"client\":");
    rc |= jsonw_cstring(b, tx->client, 0);
    rc |= buf_append_str(b, ",\"server\":");
    rc |= jsonw_cstring(b, tx->server, 0);
    rc |= put_flags(b, tx->flags);
    if (rq->body_size != rq->body_len) {
        rc |= buf_append_str(b, ",\"request_body_size\":");
        rc |= jsonw_uint(b, rq->body_size);
    }
    if (tx->has_response && rs->body_size != rs->body_len) {
        rc |= buf_append_str(b, ",\"response_body_size\":");
        rc |= jsonw_uint(b, rs->body_size);
    }
    rc |= buf_append_str(b, "}}");
    return rc;
}

int har_export(const char *trace_path, const char *har_path, struct har_export_result *res,
               struct error *err)
{
    struct trace_reader *r = NULL;
    struct outfile *f = NULL;
    const struct trace_tx *tx;
    struct buf *b;
    int rc = 0;

    memset(res, 0, sizeof *res);
    if ((rc = trace_reader_open(&r, trace_path, 0, err)) ||
        (rc = outfile_open(&f, har_path, ENTRY_MAX, err)))
        goto fail;
    b = outfile_buf(f);
    const struct trace_header *h = trace_reader_header(r);
    rc |= buf_printf(b, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"rehearse\","
                        "\"version\":\"%s\"},\"comment\":", REHEARSE_VERSION);
    {
        char comment[700];
        snprintf(comment, sizeof comment, "exported from the rehearse trace of %s %s",
                 h->source_kind[0] ? h->source_kind : "file", h->source);
        rc |= jsonw_cstring(b, comment, 0);
    }
    rc |= buf_append_str(b, ",\"entries\":[\n");
    if (rc)
        goto toobig;
    if ((rc = outfile_commit(f, err)))
        goto fail;
    /* One entry per line, the separator before each but the first. */
    while ((rc = trace_reader_next(r, &tx, err)) > 0) {
        if ((res->entries && buf_append_str(b, ",\n")) || put_entry(b, tx, res))
            goto toobig;
        if ((rc = outfile_commit(f, err)))
            goto fail;
        res->entries++;
    }
    if (rc < 0)
        goto fail;
    if (buf_append_str(b, "\n]}}\n"))
        goto toobig;
    if ((rc = outfile_commit(f, err)))
        goto fail;
    trace_reader_close(r);
    return outfile_close(f, err);

toobig:
    rc = error_set(err, ERR_TOOBIG, "%s:%llu: transaction does not fit in a HAR entry of "
                       "at most %zu bytes", trace_path,
                       (unsigned long long)trace_reader_line_number(r), ENTRY_MAX);
fail:
    trace_reader_close(r);
    outfile_discard(f);
    return rc;
}
