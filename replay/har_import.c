/*
 * har_import.c — HAR 1.2 → trace, streamed (see har.h and docs/cli/trace.md
 * for the mapping).
 *
 * The HAR is walked with json_stream: the outer {"log": {"entries": [...]}}
 * by hand, each entry parsed whole by jansson.  Entries are converted as
 * they are read (so a bad entry is reported at once, located), then held in
 * a small min-heap ordered by request start, because a trace is in capture
 * order and HAR writers only "prefer" start-time order.  Transaction and
 * connection ids are given when an entry leaves the heap.
 */
#include "har.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "base64.h"
#include "buf.h"
#include "counter.h"
#include "http_json.h"
#include "json_locate.h"
#include "json_stream.h"
#include "jsonw.h"
#include "redact.h"
#include "timefmt.h"
#include "trace_writer.h"
#include "version.h"

/* Bytes of entry JSON the reorder window may hold, whatever its length. */
#define REORDER_MAX_BYTES ((size_t)64 << 20)
#define CONN_KEY_MAX 512

#define HAR_NAME(name, text, description) text,
#define HAR_DESCRIPTION(name, text, description) description,
static const char *const skip_names[] = {HAR_SKIP_MAP(HAR_NAME)};
static const char *const skip_descriptions[] = {HAR_SKIP_MAP(HAR_DESCRIPTION)};
static const char *const note_names[] = {HAR_NOTE_MAP(HAR_NAME)};
static const char *const note_descriptions[] = {HAR_NOTE_MAP(HAR_DESCRIPTION)};
#undef HAR_NAME
#undef HAR_DESCRIPTION

const char *har_skip_name(enum har_skip s) { return skip_names[s]; }
const char *har_skip_description(enum har_skip s) { return skip_descriptions[s]; }
const char *har_note_name(enum har_note n) { return note_names[n]; }
const char *har_note_description(enum har_note n) { return note_descriptions[n]; }

/* One converted entry waiting in the reorder window. */
struct pending {
    json_t *json;         /* the entry; strings in tx are borrowed from it */
    struct arena arena;   /* everything else tx points to */
    struct trace_tx tx;
    uint64_t index;       /* position in log.entries, 0-based */
    size_t size;          /* bytes of JSON text */
    struct json_stream_pos at;
    const char *text;     /* the entry's JSON text while it is converted, else NULL */
    const char *conn_key; /* NULL: a connection of its own */
    size_t conn_key_len;
};

struct importer {
    const char *har_path, *trace_path;
    struct json_stream *in;
    struct trace_writer *out;
    struct har_import_result *res;
    const struct redactor *redactor;
    struct buf redacted; /* scratch for one redacted value */
    struct error *err;

    struct pending **heap;
    size_t heap_len, window, heap_bytes;
    size_t max_entry;
    uint64_t max_index_emitted;
    int64_t last_start;
    bool emitted;

    struct counter conns; /* connection key → conn id (in .value) */
    uint64_t next_conn;

    bool seen_log, seen_entries;
    char har_version[32];
    char creator[160];
};

enum want { T_STRING, T_OBJECT, T_ARRAY, T_INTEGER, T_NUMBER };

static const char *want_name(enum want w)
{
    static const char *const names[] = {"a string", "an object", "an array", "an integer",
                                        "a number"};
    return names[w];
}

static bool has_type(const json_t *v, enum want w)
{
    switch (w) {
    case T_STRING: return json_is_string(v);
    case T_OBJECT: return json_is_object(v);
    case T_ARRAY: return json_is_array(v);
    case T_INTEGER: return json_is_integer(v);
    case T_NUMBER: return json_is_number(v);
    }
    return false;
}

/* "request.headers[2].value" → "/request/headers/2/value" */
static void field_pointer(const char *field, char *out, size_t size)
{
    size_t n = 0;

    if (size < 2)
        return;
    if (*field)
        out[n++] = '/';
    for (; *field && n + 1 < size; field++) {
        if (*field == '.' || *field == '[')
            out[n++] = '/';
        else if (*field != ']')
            out[n++] = *field;
    }
    out[n] = '\0';
}

/* Where `field` of the entry is in the file: the entry's text is rescanned
 * (errors are rare); a missing member points at the object that lacks it. */
static void locate_field(const struct pending *p, const char *field, uint64_t *line,
                         uint64_t *col)
{
    struct json_location loc;
    char pointer[160];

    *line = p->at.line;
    *col = p->at.column;
    if (!p->text)
        return;
    field_pointer(field, pointer, sizeof pointer);
    json_locate(p->text, p->size, pointer, &loc);
    if (loc.line > 1) {
        *line += (uint64_t)loc.line - 1;
        *col = (uint64_t)loc.column;
    } else {
        *col += (uint64_t)loc.column - 1;
    }
}

/* "x.har:LINE:COL: log.entries[I].FIELD: MESSAGE", located at the field. */
static int entry_error(struct importer *im, const struct pending *p, int code,
                       const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int entry_error(struct importer *im, const struct pending *p, int code,
                       const char *field, const char *fmt, ...)
{
    char msg[ERROR_MESSAGE_MAX];
    uint64_t line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    locate_field(p, field, &line, &col);
    return error_set(im->err, code, "%s:%llu:%llu: log.entries[%llu]%s%s: %s", im->har_path,
                     (unsigned long long)line, (unsigned long long)col,
                     (unsigned long long)p->index, field[0] ? "." : "", field, msg);
}

/*
 * obj[key] when it has the wanted type.  An absent (or null) optional
 * member gives *out = NULL; an absent required one or a wrong type is an
 * error naming the JSON path parent.key.
 */
static int member(struct importer *im, const struct pending *p, json_t *obj, const char *parent,
                  const char *key, enum want w, bool required, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    char path[128];

    *out = NULL;
    snprintf(path, sizeof path, "%s%s%s", parent, parent[0] ? "." : "", key);
    if (!v || json_is_null(v)) {
        if (required)
            return entry_error(im, p, ERR_INPUT, path, "missing; expected %s", want_name(w));
        return 0;
    }
    if (!has_type(v, w))
        return entry_error(im, p, ERR_INPUT, path, "expected %s, found %s", want_name(w),
                           http_json_type_name(v));
    *out = v;
    return 0;
}

static char *arena_copy(struct arena *a, const char *s, size_t len)
{
    char *c = arena_alloc(a, len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = '\0';
    }
    return c;
}

/* Decode base64 text into the entry's arena. */
static int decode_into(struct importer *im, struct pending *p, const char *field, const char *text,
                       size_t len, const char **out, size_t *out_len)
{
    struct buf b;
    size_t bad = 0;
    int rc;

    buf_init(&b, len);
    rc = base64_decode(&b, text, len, &bad);
    if (rc == ERR_INPUT) {
        buf_release(&b);
        return entry_error(im, p, ERR_INPUT, field, "invalid base64 at character %zu", bad);
    }
    *out = rc ? NULL : arena_copy(&p->arena, b.data ? b.data : "", b.len);
    *out_len = b.len;
    buf_release(&b);
    if (!*out)
        return error_set(im->err, ERR_NOMEM, "out of memory decoding log.entries[%llu].%s",
                         (unsigned long long)p->index, field);
    return 0;
}

/* ---- versions, URLs, headers ---- */

enum har_version { HV_10, HV_11, HV_2, HV_3, HV_UNKNOWN };

static enum har_version classify_version(const char *s)
{
    if (!s)
        return HV_UNKNOWN;
    if (strcasecmp(s, "HTTP/1.0") == 0)
        return HV_10;
    if (strcasecmp(s, "HTTP/1.1") == 0)
        return HV_11;
    if (strcasestr(s, "quic") || strcasecmp(s, "h3") == 0 || strncasecmp(s, "h3-", 3) == 0 ||
        strcasecmp(s, "HTTP/3") == 0 || strcasecmp(s, "HTTP/3.0") == 0)
        return HV_3;
    if (strcasecmp(s, "h2") == 0 || strcasecmp(s, "h2c") == 0 || strcasecmp(s, "HTTP/2") == 0 ||
        strcasecmp(s, "HTTP/2.0") == 0)
        return HV_2;
    return HV_UNKNOWN;
}

struct url {
    bool absolute, http;
    const char *authority; /* host[:port], userinfo removed */
    size_t authority_len;
    unsigned default_port;
    const char *rest; /* path, query and fragment */
    size_t rest_len;
};

static void parse_url(const char *u, size_t len, struct url *out)
{
    size_t i = 0;

    memset(out, 0, sizeof *out);
    while (i < len && u[i] != ':' && u[i] != '/' && u[i] != '?' && u[i] != '#')
        i++;
    if (i == len || u[i] != ':') { /* relative reference: take it as the target */
        out->http = true;
        out->rest = u;
        out->rest_len = len;
        return;
    }
    size_t scheme_len = i;
    if ((scheme_len == 4 && strncasecmp(u, "http", 4) == 0) ||
        (scheme_len == 2 && strncasecmp(u, "ws", 2) == 0)) {
        out->http = true;
        out->default_port = 80;
    } else if ((scheme_len == 5 && strncasecmp(u, "https", 5) == 0) ||
               (scheme_len == 3 && strncasecmp(u, "wss", 3) == 0)) {
        out->http = true;
        out->default_port = 443;
    }
    if (!out->http || len - i < 3 || u[i + 1] != '/' || u[i + 2] != '/') {
        out->http = false;
        return;
    }
    out->absolute = true;
    i += 3;
    size_t start = i;
    while (i < len && u[i] != '/' && u[i] != '?' && u[i] != '#')
        i++;
    out->authority = u + start;
    out->authority_len = i - start;
    const char *at = memrchr(out->authority, '@', out->authority_len);
    if (at) {
        out->authority_len -= (size_t)(at + 1 - out->authority);
        out->authority = at + 1;
    }
    out->rest = u + i;
    out->rest_len = len - i;
}

/* The port of "host:port" / "[v6]:port", or the default. */
static unsigned authority_port(const char *a, size_t len, unsigned dflt)
{
    const char *colon = memrchr(a, ':', len);
    const char *bracket = memrchr(a, ']', len);
    unsigned port = 0;

    if (!colon || (bracket && bracket > colon) || colon + 1 == a + len)
        return dflt;
    for (const char *c = colon + 1; c < a + len; c++) {
        if (*c < '0' || *c > '9' || port > 65535)
            return dflt;
        port = port * 10 + (unsigned)(*c - '0');
    }
    return port && port <= 65535 ? port : dflt;
}

static bool header_is(const struct http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/*
 * Convert a HAR headers array ([{"name":..,"value":..}], plus rehearse's
 * own "_encoding":"base64" for values that are not text).  Pseudo-headers
 * (":authority", ":path", ...) of HTTP/2 and HTTP/3 are dropped; the value of
 * ":authority" is returned.  `front` empty slots are left at the start.
 */
static int read_headers(struct importer *im, struct pending *p, json_t *list, const char *where,
                        size_t front, struct http_header **out, size_t *count,
                        const char **authority, size_t *authority_len)
{
    size_t n = list ? json_array_size(list) : 0, kept = front;
    struct http_header *items;

    *out = NULL;
    *count = 0;
    if (!(items = arena_alloc(&p->arena, (n + front + 1) * sizeof *items)))
        return error_set(im->err, ERR_NOMEM, "out of memory reading headers");
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(list, i), *name, *value, *enc;
        char at[96];
        int rc;

        snprintf(at, sizeof at, "%s[%zu]", where, i);
        if (!json_is_object(h))
            return entry_error(im, p, ERR_INPUT, at, "expected {\"name\": ..., \"value\": ...}, "
                               "found %s", http_json_type_name(h));
        if ((rc = member(im, p, h, at, "name", T_STRING, true, &name)) ||
            (rc = member(im, p, h, at, "value", T_STRING, true, &value)) ||
            (rc = member(im, p, h, at, "_encoding", T_STRING, false, &enc)))
            return rc;
        struct http_header *dst = &items[kept];
        dst->name = json_string_value(name);
        dst->name_len = json_string_length(name);
        dst->value = json_string_value(value);
        dst->value_len = json_string_length(value);
        if (dst->name_len && dst->name[0] == ':') {
            if (authority && header_is(dst, ":authority")) {
                *authority = dst->value;
                *authority_len = dst->value_len;
            }
            continue;
        }
        if (enc) {
            char field[112];
            snprintf(field, sizeof field, "%s.value", at);
            if (strcmp(json_string_value(enc), "base64") != 0)
                return entry_error(im, p, ERR_INPUT, field, "unknown _encoding \"%s\"; expected "
                                   "\"base64\"", json_string_value(enc));
            if ((rc = decode_into(im, p, field, dst->value, dst->value_len, &dst->value,
                                  &dst->value_len)))
                return rc;
        }
        kept++;
    }
    *out = items;
    *count = kept;
    return 0;
}

static const struct http_header *find_header(const struct http_message *m, size_t from,
                                             const char *name)
{
    for (size_t i = from; i < m->header_count; i++)
        if (header_is(&m->headers[i], name))
            return &m->headers[i];
    return NULL;
}

/* ---- bodies ---- */

/*
 * A HAR body: `text` (base64 when `encoding` says so) into m's body.  A
 * writer that did not save the body leaves text out; the size it declared
 * is kept as body_size and *missing set.  `where` is the JSON path of the
 * object holding text and encoding ("response.content").
 */
static int take_body(struct importer *im, struct pending *p, const char *where, json_t *text,
                     json_t *enc, json_t *declared, struct http_message *m, bool *missing)
{
    char field[64];
    int rc;

    *missing = false;
    if (!text) {
        /* a number: some writers use reals for sizes */
        if (declared && json_number_value(declared) >= 1 &&
            json_number_value(declared) < 9e15) {
            m->body_size = (uint64_t)json_number_value(declared);
            *missing = true;
        }
        return 0;
    }
    m->body = (const unsigned char *)json_string_value(text);
    m->body_len = json_string_length(text);
    if (enc) {
        snprintf(field, sizeof field, "%s.encoding", where);
        if (strcmp(json_string_value(enc), "base64") != 0)
            return entry_error(im, p, ERR_INPUT, field, "expected \"base64\", found \"%s\"",
                               json_string_value(enc));
        snprintf(field, sizeof field, "%s.text", where);
        if ((rc = decode_into(im, p, field, (const char *)m->body, m->body_len,
                              (const char **)&m->body, &m->body_len)))
            return rc;
    }
    m->body_size = m->body_len;
    return 0;
}

/* postData {text, encoding} (or bodySize without it) → request body. */
static int read_request_body(struct importer *im, struct pending *p, json_t *req,
                             bool *missing)
{
    json_t *post, *text = NULL, *enc = NULL, *size;
    int rc;

    if ((rc = member(im, p, req, "request", "postData", T_OBJECT, false, &post)) ||
        (rc = member(im, p, req, "request", "bodySize", T_NUMBER, false, &size)))
        return rc;
    if (post && ((rc = member(im, p, post, "request.postData", "text", T_STRING, false, &text)) ||
                 (rc = member(im, p, post, "request.postData", "encoding", T_STRING, false,
                              &enc))))
        return rc;
    return take_body(im, p, "request.postData", text, enc, size, &p->tx.request, missing);
}

static bool is_identity(const struct http_header *h)
{
    size_t a = 0, b = h->value_len;
    while (a < b && (h->value[a] == ' ' || h->value[a] == '\t'))
        a++;
    while (b > a && (h->value[b - 1] == ' ' || h->value[b - 1] == '\t'))
        b--;
    return b == a || (b - a == 8 && strncasecmp(h->value + a, "identity", 8) == 0);
}

/* content {text, encoding, size, _contentEncoding} → response body.  HAR
 * writers store bodies decoded (Content-Encoding undone); rehearse stores
 * them as sent.  So a decoded body loses the headers that no longer
 * describe it, unless rehearse's own export marked it as still encoded. */
static int read_response_body(struct importer *im, struct pending *p, json_t *resp,
                              bool *missing, bool *decoded)
{
    struct http_message *m = &p->tx.response;
    json_t *content, *text = NULL, *enc = NULL, *size = NULL, *marker = NULL;
    int rc;

    *decoded = false;
    if ((rc = member(im, p, resp, "response", "content", T_OBJECT, false, &content)))
        return rc;
    if (content &&
        ((rc = member(im, p, content, "response.content", "text", T_STRING, false, &text)) ||
         (rc = member(im, p, content, "response.content", "encoding", T_STRING, false, &enc)) ||
         (rc = member(im, p, content, "response.content", "size", T_NUMBER, false, &size)) ||
         (rc = member(im, p, content, "response.content", "_contentEncoding", T_STRING, false,
                      &marker))))
        return rc;
    if ((rc = take_body(im, p, "response.content", text, enc, size, m, missing)))
        return rc;

    const struct http_header *ce = find_header(m, 0, "Content-Encoding");
    if (marker || !ce || is_identity(ce) || m->body_len == 0)
        return 0;
    /* Raw gzip bytes (some proxies store them): still encoded, keep all. */
    if (m->body_len >= 2 && m->body[0] == 0x1f && m->body[1] == 0x8b)
        return 0;
    size_t kept = 0;
    for (size_t i = 0; i < m->header_count; i++)
        if (!header_is(&m->headers[i], "Content-Encoding") &&
            !header_is(&m->headers[i], "Content-Length"))
            m->headers[kept++] = m->headers[i];
    m->header_count = kept;
    *decoded = true;
    return 0;
}

/* ---- times, addresses, connections ---- */

static int64_t ms_to_us(double ms)
{
    return ms > 0 ? (int64_t)llround(ms * 1000.0) : 0;
}

static int read_times(struct importer *im, struct pending *p, json_t *e, int64_t started)
{
    static const char *const phases[] = {"blocked", "dns", "connect", "send", "wait", "receive"};
    struct trace_tx *tx = &p->tx;
    int64_t us[6] = {0};
    json_t *timings, *time, *v;
    int rc;

    if ((rc = member(im, p, e, "", "timings", T_OBJECT, false, &timings)) ||
        (rc = member(im, p, e, "", "time", T_NUMBER, false, &time)))
        return rc;
    for (size_t i = 0; timings && i < 6; i++) {
        if ((rc = member(im, p, timings, "timings", phases[i], T_NUMBER, false, &v)))
            return rc;
        us[i] = v ? ms_to_us(json_number_value(v)) : 0; /* -1: not applicable */
    }
    /* The request's first byte leaves once the connection is ready. */
    tx->req_start_us = started + us[0] + us[1] + us[2];
    tx->req_end_us = tx->req_start_us + us[3];
    tx->resp_start_us = tx->req_end_us + us[4];
    tx->resp_end_us = tx->resp_start_us + us[5];
    if (!timings && time)
        tx->resp_start_us = tx->resp_end_us = started + ms_to_us(json_number_value(time));
    return 0;
}

/* serverIPAddress ("10.0.0.1", "2001:db8::1", "[2001:db8::1]") + port. */
static int read_server(struct importer *im, struct pending *p, json_t *e, const struct url *u)
{
    json_t *ip;
    int rc;

    if ((rc = member(im, p, e, "", "serverIPAddress", T_STRING, false, &ip)) || !ip)
        return rc;
    const char *a = json_string_value(ip);
    size_t len = json_string_length(ip);
    if (len >= 2 && a[0] == '[' && a[len - 1] == ']') {
        a++;
        len -= 2;
    }
    if (!len)
        return 0;
    unsigned port = u->authority ? authority_port(u->authority, u->authority_len,
                                                  u->default_port)
                                 : 80;
    int n = snprintf(p->tx.server, sizeof p->tx.server, memchr(a, ':', len) ? "[%.*s]:%u"
                                                                              : "%.*s:%u",
                     (int)len, a, port);
    if (n < 0 || (size_t)n >= sizeof p->tx.server)
        return entry_error(im, p, ERR_INPUT, "serverIPAddress", "expected an IP address, "
                           "found \"%.80s\"", json_string_value(ip));
    return 0;
}

/* "connection" groups entries into connections; the server tells apart
 * equal ids (client ports) towards different servers. */
static int read_connection(struct importer *im, struct pending *p, json_t *e, const struct url *u)
{
    json_t *c = json_object_get(e, "connection");
    char id[32];
    const char *text;
    const char *server = p->tx.server[0] ? p->tx.server : "";
    size_t server_len = strlen(server);

    if (!c || json_is_null(c))
        return 0;
    if (json_is_string(c)) {
        text = json_string_value(c);
    } else if (json_is_integer(c)) {
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(c));
        text = id;
    } else {
        return entry_error(im, p, ERR_INPUT, "connection", "expected a string, found %s",
                           http_json_type_name(c));
    }
    if (!server_len && u->authority) {
        server = u->authority;
        server_len = u->authority_len;
    }
    struct buf key;
    buf_init(&key, CONN_KEY_MAX);
    if (buf_append(&key, server, server_len) || buf_append_char(&key, '\n') ||
        buf_append_str(&key, text)) {
        buf_release(&key);
        return entry_error(im, p, ERR_INPUT, "connection", "longer than %d bytes",
                           CONN_KEY_MAX);
    }
    p->conn_key = arena_copy(&p->arena, key.data, key.len);
    p->conn_key_len = key.len;
    buf_release(&key);
    return p->conn_key ? 0 : error_set(im->err, ERR_NOMEM, "out of memory");
}

/* A body cut at capture (size cap, lost segments): the size it had. */
static int body_size_field(struct importer *im, struct pending *p, json_t *r, const char *key,
                           struct http_message *m)
{
    char field[48];
    json_t *v;
    int rc;

    if ((rc = member(im, p, r, "_rehearse", key, T_INTEGER, false, &v)) || !v)
        return rc;
    snprintf(field, sizeof field, "_rehearse.%s", key);
    if (json_integer_value(v) < (json_int_t)m->body_len)
        return entry_error(im, p, ERR_INPUT, field, "expected at least the body's length %zu",
                           m->body_len);
    m->body_size = (uint64_t)json_integer_value(v);
    return 0;
}

/* rehearse's own fields, written by export-har: {client, server, flags,
 * request_body_size, response_body_size}. */
static int read_rehearse_fields(struct importer *im, struct pending *p, json_t *e)
{
    json_t *r, *client, *server, *flags, *f;
    size_t i;
    int rc;

    if ((rc = member(im, p, e, "", "_rehearse", T_OBJECT, false, &r)) || !r)
        return rc;
    if ((rc = member(im, p, r, "_rehearse", "client", T_STRING, false, &client)) ||
        (rc = member(im, p, r, "_rehearse", "server", T_STRING, false, &server)) ||
        (rc = member(im, p, r, "_rehearse", "flags", T_ARRAY, false, &flags)))
        return rc;
    if (client && json_string_length(client) >= sizeof p->tx.client)
        return entry_error(im, p, ERR_INPUT, "_rehearse.client", "expected an address");
    if (server && json_string_length(server) >= sizeof p->tx.server)
        return entry_error(im, p, ERR_INPUT, "_rehearse.server", "expected an address");
    if (client)
        memcpy(p->tx.client, json_string_value(client), json_string_length(client) + 1);
    if (server)
        memcpy(p->tx.server, json_string_value(server), json_string_length(server) + 1);
    if ((rc = body_size_field(im, p, r, "request_body_size", &p->tx.request)) ||
        (p->tx.has_response &&
         (rc = body_size_field(im, p, r, "response_body_size", &p->tx.response))))
        return rc;
    json_array_foreach(flags, i, f) {
        int bit;
        if (!json_is_string(f))
            return entry_error(im, p, ERR_INPUT, "_rehearse.flags", "expected flag names");
        bit = tx_flag_lookup(json_string_value(f), json_string_length(f));
        if (bit >= 0) /* unknown flags come from newer versions: ignore */
            p->tx.flags |= 1u << bit;
    }
    return 0;
}

/* ---- secrets ---- */

/* "[redacted:hmac:" + 16 hex digits + "]" at the end of the value (after
 * an Authorization scheme): redacted by rehearse already. */
static bool already_redacted(const char *v, size_t len)
{
    static const char mark[] = "[redacted:hmac:";
    const char *m;

    if (len < REDACT_MARK_LEN || v[len - 1] != ']')
        return false;
    m = v + len - REDACT_MARK_LEN;
    if (memcmp(m, mark, sizeof mark - 1) != 0)
        return false;
    for (size_t i = sizeof mark - 1; i < REDACT_MARK_LEN - 1; i++)
        if (!strchr("0123456789abcdef", m[i]))
            return false;
    return true;
}

/* Redact the secret values of h[0..n) into the entry's arena; count them. */
static int redact_headers(struct importer *im, struct pending *p, struct http_header *h,
                          size_t n, size_t *count)
{
    for (size_t i = 0; i < n; i++) {
        if (!redactor_is_secret(im->redactor, h[i].name, h[i].name_len) ||
            already_redacted(h[i].value, h[i].value_len))
            continue;
        buf_reset(&im->redacted);
        if (redactor_value(im->redactor, h[i].name, h[i].name_len, h[i].value, h[i].value_len,
                           &im->redacted) ||
            !(h[i].value = arena_copy(&p->arena, im->redacted.data, im->redacted.len)))
            return error_set(im->err, ERR_NOMEM, "out of memory redacting log.entries[%llu]",
                             (unsigned long long)p->index);
        h[i].value_len = im->redacted.len;
        (*count)++;
    }
    return 0;
}

static int redact_entry(struct importer *im, struct pending *p)
{
    struct trace_tx *tx = &p->tx;
    size_t count = 0;
    int rc;

    if (!im->redactor)
        return 0;
    if ((rc = redact_headers(im, p, tx->request.headers, tx->request.header_count, &count)) ||
        (rc = redact_headers(im, p, tx->response.headers, tx->response.header_count, &count)) ||
        (rc = redact_headers(im, p, tx->response.trailers, tx->response.trailer_count, &count)))
        return rc;
    if (count) {
        tx->flags |= TX_FLAG(TX_REDACTED);
        im->res->redacted++;
    }
    return 0;
}

/* ---- one entry ---- */

static void count_version_note(struct importer *im, enum har_version v, bool *noted)
{
    if (*noted)
        return;
    if (v == HV_2 || v == HV_3 || v == HV_UNKNOWN) {
        im->res->notes[v == HV_2 ? HAR_NOTE_HTTP2 : v == HV_3 ? HAR_NOTE_HTTP3
                                                              : HAR_NOTE_UNKNOWN_VERSION]++;
        *noted = true;
    }
}

static int convert_entry(struct importer *im, struct pending *p, int *skip)
{
    json_t *e = p->json, *started, *req, *resp, *method, *url, *ver, *headers, *status;
    struct trace_tx *tx = &p->tx;
    struct http_message *rq = &tx->request, *rs = &tx->response;
    const char *authority = NULL;
    size_t authority_len = 0, bad = 0;
    enum har_version rqv, rsv = HV_11;
    bool version_noted = false, missing, decoded;
    struct url u;
    int64_t started_us;
    int rc;

    *skip = -1;
    if (!json_is_object(e))
        return entry_error(im, p, ERR_INPUT, "", "expected an entry object, found %s",
                           http_json_type_name(e));
    if ((rc = member(im, p, e, "", "startedDateTime", T_STRING, true, &started)) ||
        (rc = member(im, p, e, "", "request", T_OBJECT, true, &req)) ||
        (rc = member(im, p, e, "", "response", T_OBJECT, true, &resp)) ||
        (rc = member(im, p, req, "request", "method", T_STRING, true, &method)) ||
        (rc = member(im, p, req, "request", "url", T_STRING, true, &url)) ||
        (rc = member(im, p, req, "request", "httpVersion", T_STRING, false, &ver)) ||
        (rc = member(im, p, req, "request", "headers", T_ARRAY, false, &headers)))
        return rc;
    if (timefmt_parse_iso8601(json_string_value(started), json_string_length(started),
                              &started_us, &bad))
        return entry_error(im, p, ERR_INPUT, "startedDateTime",
                           "expected an ISO 8601 date-time such as \"2024-05-01T10:00:00.123Z\", "
                           "found \"%.64s\" (wrong from character %zu)",
                           json_string_value(started), bad + 1);
    if (json_string_length(method) == 0)
        return entry_error(im, p, ERR_INPUT, "request.method", "empty; expected a method");
    parse_url(json_string_value(url), json_string_length(url), &u);
    if (!u.http) {
        *skip = HAR_SKIP_NOT_HTTP;
        return 0;
    }

    /* Request line and headers. */
    rq->method = json_string_value(method);
    size_t tlen = u.rest_len;
    const char *hash = memchr(u.rest, '#', u.rest_len);
    if (hash)
        tlen = (size_t)(hash - u.rest);
    bool slash = tlen == 0 || u.rest[0] == '?';
    char *target = arena_alloc(&p->arena, tlen + 2);
    if (!target)
        return error_set(im->err, ERR_NOMEM, "out of memory");
    if (slash)
        target[0] = '/';
    memcpy(target + slash, u.rest, tlen);
    target[tlen + slash] = '\0';
    rq->target = target;
    rqv = classify_version(ver ? json_string_value(ver) : NULL);
    count_version_note(im, rqv, &version_noted);
    rq->version_major = 1;
    rq->version_minor = rqv == HV_10 ? 0 : 1;
    if ((rc = read_headers(im, p, headers, "request.headers", 1, &rq->headers, &rq->header_count,
                           &authority, &authority_len)))
        return rc;
    if (!find_header(rq, 1, "Host") && (authority || u.authority)) {
        rq->headers[0] = (struct http_header){"Host", 4, authority ? authority : u.authority,
                                              authority ? authority_len : u.authority_len};
        if (rqv == HV_10 || rqv == HV_11)
            im->res->notes[HAR_NOTE_HOST_ADDED]++;
    } else {
        rq->headers++; /* the reserved slot is not needed */
        rq->header_count--;
    }
    if ((rc = read_request_body(im, p, req, &missing)))
        return rc;
    if (missing)
        im->res->notes[HAR_NOTE_BODY_MISSING]++;

    /* Response: status 0 is how browsers record a request that got none. */
    if ((rc = member(im, p, resp, "response", "status", T_INTEGER, true, &status)))
        return rc;
    if (json_integer_value(status) < 0 || json_integer_value(status) > 999)
        return entry_error(im, p, ERR_INPUT, "response.status", "expected a status code from "
                           "0 to 999, found %lld", (long long)json_integer_value(status));
    tx->has_response = json_integer_value(status) != 0;
    if (tx->has_response) {
        json_t *reason, *rver, *rheaders, *trailers;
        if ((rc = member(im, p, resp, "response", "statusText", T_STRING, false, &reason)) ||
            (rc = member(im, p, resp, "response", "httpVersion", T_STRING, false, &rver)) ||
            (rc = member(im, p, resp, "response", "headers", T_ARRAY, false, &rheaders)) ||
            (rc = member(im, p, resp, "response", "_trailers", T_ARRAY, false, &trailers)))
            return rc;
        rs->status = (int)json_integer_value(status);
        rs->reason = reason ? json_string_value(reason) : "";
        rsv = classify_version(rver ? json_string_value(rver) : NULL);
        count_version_note(im, rsv, &version_noted);
        rs->version_major = 1;
        rs->version_minor = rsv == HV_10 ? 0 : 1;
        if ((rc = read_headers(im, p, rheaders, "response.headers", 0, &rs->headers,
                               &rs->header_count, NULL, NULL)) ||
            (rc = read_headers(im, p, trailers, "response._trailers", 0, &rs->trailers,
                               &rs->trailer_count, NULL, NULL)))
            return rc;
        if ((rc = read_response_body(im, p, resp, &missing, &decoded)))
            return rc;
        if (missing)
            im->res->notes[HAR_NOTE_BODY_MISSING]++;
        if (decoded)
            im->res->notes[HAR_NOTE_DECODED_BODY]++;
        if (rs->status == 101)
            tx->flags |= TX_FLAG(TX_UPGRADE);
    } else {
        tx->flags |= TX_FLAG(TX_NO_RESPONSE);
        im->res->notes[HAR_NOTE_NO_RESPONSE]++;
    }
    if (strcasecmp(rq->method, "CONNECT") == 0)
        tx->flags |= TX_FLAG(TX_UPGRADE);

    if ((rc = read_times(im, p, e, started_us)))
        return rc;
    if (!tx->has_response)
        tx->resp_start_us = tx->resp_end_us = TRACE_TIME_NONE;
    if ((rc = read_server(im, p, e, &u)) || (rc = read_rehearse_fields(im, p, e)) ||
        (rc = read_connection(im, p, e, &u)))
        return rc;
    return redact_entry(im, p);
}

/* ---- the reorder window ---- */

static bool earlier(const struct pending *a, const struct pending *b)
{
    if (a->tx.req_start_us != b->tx.req_start_us)
        return a->tx.req_start_us < b->tx.req_start_us;
    return a->index < b->index;
}

static void heap_push(struct importer *im, struct pending *p)
{
    size_t i = im->heap_len++;
    im->heap[i] = p;
    while (i && earlier(im->heap[i], im->heap[(i - 1) / 2])) {
        struct pending *t = im->heap[i];
        im->heap[i] = im->heap[(i - 1) / 2];
        im->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    im->heap_bytes += p->size;
}

static struct pending *heap_pop(struct importer *im)
{
    struct pending *top = im->heap[0];
    size_t i = 0, n = --im->heap_len;

    im->heap[0] = im->heap[n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && earlier(im->heap[l], im->heap[m]))
            m = l;
        if (r < n && earlier(im->heap[r], im->heap[m]))
            m = r;
        if (m == i)
            break;
        struct pending *t = im->heap[i];
        im->heap[i] = im->heap[m];
        im->heap[m] = t;
        i = m;
    }
    im->heap_bytes -= top->size;
    return top;
}

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    json_decref(p->json);
    arena_release(&p->arena);
    free(p);
}

static int open_output(struct importer *im, int64_t start_us)
{
    struct trace_header h = {.capture_start_us = start_us};

    snprintf(h.source_kind, sizeof h.source_kind, "har");
    snprintf(h.source, sizeof h.source, "%s", im->har_path);
    snprintf(h.created_by, sizeof h.created_by, "rehearse %s", REHEARSE_VERSION);
    return trace_writer_open(&im->out, im->trace_path, &h, im->err);
}

/* Write the earliest pending entry as the next transaction. */
static int emit_one(struct importer *im)
{
    struct pending *p = heap_pop(im);
    struct trace_tx *tx = &p->tx;
    int rc;

    if (!im->out && (rc = open_output(im, tx->req_start_us)))
        goto out;
    if (im->emitted && tx->req_start_us < im->last_start)
        im->res->notes[HAR_NOTE_OUT_OF_ORDER]++;
    else if (im->emitted && p->index < im->max_index_emitted)
        im->res->notes[HAR_NOTE_REORDERED]++;
    if (!im->emitted || p->index > im->max_index_emitted)
        im->max_index_emitted = p->index;
    if (!im->emitted || tx->req_start_us > im->last_start)
        im->last_start = tx->req_start_us;
    im->emitted = true;

    tx->id = ++im->res->transactions;
    tx->conn = 0;
    if (p->conn_key) {
        struct counter_entry *c = counter_lookup(&im->conns, p->conn_key, p->conn_key_len, &rc);
        if (!c && rc < 0) {
            rc = error_set(im->err, ERR_NOMEM, "out of memory tracking connections");
            goto out;
        }
        if (c && !c->value)
            c->value = ++im->next_conn;
        if (c)
            tx->conn = c->value;
        else
            im->res->notes[HAR_NOTE_CONN_UNTRACKED]++;
    }
    if (!tx->conn)
        tx->conn = ++im->next_conn;
    rc = trace_writer_write(im->out, tx, im->err);
out:
    pending_free(p);
    return rc;
}

static int take_entry(struct importer *im, json_t *json, uint64_t index,
                      const struct json_stream_pos *at)
{
    struct pending *p = calloc(1, sizeof *p);
    int skip, rc;

    if (!p) {
        json_decref(json);
        return error_set(im->err, ERR_NOMEM, "out of memory reading log.entries[%llu]",
                         (unsigned long long)index);
    }
    p->json = json;
    p->index = index;
    p->at = *at;
    p->size = json_stream_last_size(im->in);
    p->text = json_stream_last_text(im->in);
    p->tx.resp_start_us = p->tx.resp_end_us = TRACE_TIME_NONE;
    arena_init(&p->arena, 4096);
    im->res->entries++;
    rc = convert_entry(im, p, &skip);
    p->text = NULL; /* the stream's window moves on */
    if (rc || skip >= 0) {
        if (skip >= 0)
            im->res->skipped[skip]++;
        pending_free(p);
        return rc;
    }
    heap_push(im, p);
    while (im->heap_len && (im->heap_len >= im->window || im->heap_bytes > REORDER_MAX_BYTES))
        if ((rc = emit_one(im)))
            return rc;
    return 0;
}

/* ---- walking the document ---- */

static int skip_value(struct importer *im)
{
    json_t *v;
    int rc = json_stream_value(im->in, &v, im->err);
    json_decref(v);
    return rc;
}

static int walk_entries(struct importer *im)
{
    struct json_stream_pos at;
    bool first = true;
    uint64_t index = 0;
    json_t *v;
    int rc;

    if ((rc = json_stream_enter(im->in, '[', "log.entries", im->err)))
        return rc;
    while ((rc = json_stream_next(im->in, ']', &first, "log.entries", im->err)) > 0) {
        json_stream_position(im->in, &at);
        if ((rc = json_stream_value(im->in, &v, im->err))) {
            if (rc == ERR_TOOBIG)
                error_set(im->err, ERR_TOOBIG, "%s:%llu:%llu: log.entries[%llu]: larger than "
                          "the limit of %zu bytes of JSON per entry; raise --max-entry-size",
                          im->har_path, (unsigned long long)at.line,
                          (unsigned long long)at.column, (unsigned long long)index,
                          im->max_entry);
            return rc;
        }
        if ((rc = take_entry(im, v, index++, &at)))
            return rc;
    }
    return rc;
}

static void copy_string(char *dst, size_t size, json_t *v)
{
    if (json_is_string(v))
        snprintf(dst, size, "%s", json_string_value(v));
}

/* A member that may appear only once, e.g. "log.entries". */
static int once(struct importer *im, bool *seen, const char *path)
{
    struct json_stream_pos at;

    if (!*seen) {
        *seen = true;
        return 0;
    }
    json_stream_position(im->in, &at);
    return error_set(im->err, ERR_INPUT, "%s:%llu:%llu: %s: appears twice; a HAR file has one",
                     im->har_path, (unsigned long long)at.line, (unsigned long long)at.column,
                     path);
}

/* Walk the members of the object that comes next (`what` names it in
 * errors); `on_member` reads the value of each member it knows and skips
 * the others. */
static int walk_object(struct importer *im, const char *what,
                       int (*on_member)(struct importer *im, const char *key))
{
    bool first = true;
    const char *key;
    int rc;

    if ((rc = json_stream_enter(im->in, '{', what, im->err)))
        return rc;
    while ((rc = json_stream_next(im->in, '}', &first, what, im->err)) > 0)
        if ((rc = json_stream_key(im->in, &key, im->err)) || (rc = on_member(im, key)))
            return rc;
    return rc;
}

static int log_member(struct importer *im, const char *key)
{
    json_t *v;
    int rc;

    if (strcmp(key, "entries") == 0)
        return (rc = once(im, &im->seen_entries, "log.entries")) ? rc : walk_entries(im);
    if (strcmp(key, "version") != 0 && strcmp(key, "creator") != 0)
        return skip_value(im);
    bool version = key[0] == 'v';
    if ((rc = json_stream_value(im->in, &v, im->err)))
        return rc;
    if (version) {
        copy_string(im->har_version, sizeof im->har_version, v);
    } else {
        json_t *name = json_object_get(v, "name"), *ver = json_object_get(v, "version");
        snprintf(im->creator, sizeof im->creator, "%s%s%s",
                 json_is_string(name) ? json_string_value(name) : "",
                 json_is_string(ver) ? " " : "", json_is_string(ver) ? json_string_value(ver) : "");
    }
    json_decref(v);
    return 0;
}

static int document_member(struct importer *im, const char *key)
{
    int rc;

    if (strcmp(key, "log") != 0)
        return skip_value(im);
    if ((rc = once(im, &im->seen_log, "log")) || (rc = walk_object(im, "log", log_member)))
        return rc;
    if (!im->seen_entries)
        return error_set(im->err, ERR_INPUT, "%s: log.entries: missing; a HAR log holds its "
                         "requests in \"entries\": [...]", im->har_path);
    return 0;
}

static int walk_document(struct importer *im)
{
    int rc;

    if ((rc = walk_object(im, "the HAR document", document_member)) ||
        (rc = json_stream_end(im->in, im->err)))
        return rc;
    if (!im->seen_log)
        return error_set(im->err, ERR_INPUT, "%s: log: missing; a HAR file is {\"log\": "
                         "{\"version\": \"1.2\", \"creator\": {...}, \"entries\": [...]}}",
                         im->har_path);
    return 0;
}

static int reasons_json(struct buf *b, const char *key, const uint64_t *counts, size_t n,
                        const char *const *names, const char *const *descriptions)
{
    int rc = buf_printf(b, ",\"%s\":{", key), first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        rc |= buf_printf(b, "%s\"%s\":{\"count\":", first ? "" : ",", names[i]);
        rc |= jsonw_uint(b, counts[i]);
        rc |= buf_append_str(b, ",\"description\":");
        rc |= jsonw_cstring(b, descriptions[i], 0);
        rc |= buf_append_char(b, '}');
        first = 0;
    }
    return rc | buf_append_char(b, '}');
}

static int write_summary(struct importer *im)
{
    struct buf b;
    int rc = 0;

    buf_init(&b, 64 * 1024);
    rc |= buf_append_str(&b, "{\"entries\":");
    rc |= jsonw_uint(&b, im->res->entries);
    rc |= buf_append_str(&b, ",\"transactions\":");
    rc |= jsonw_uint(&b, im->res->transactions);
    rc |= buf_append_str(&b, ",\"har_version\":");
    rc |= jsonw_cstring(&b, im->har_version, 0);
    rc |= buf_append_str(&b, ",\"har_creator\":");
    rc |= jsonw_cstring(&b, im->creator, 0);
    rc |= reasons_json(&b, "skipped", im->res->skipped, HAR_SKIP_COUNT, skip_names,
                       skip_descriptions);
    rc |= reasons_json(&b, "notes", im->res->notes, HAR_NOTE_COUNT, note_names,
                       note_descriptions);
    rc |= buf_append_char(&b, '}');
    rc = rc ? error_set(im->err, ERR_TOOBIG, "the import summary is too large")
            : trace_writer_write_summary(im->out, b.data, im->err);
    buf_release(&b);
    return rc;
}

int har_import(const char *har_path, const char *trace_path,
               const struct har_import_options *opt, struct har_import_result *res,
               struct error *err)
{
    struct importer im = {.har_path = har_path, .trace_path = trace_path, .res = res, .err = err};
    int rc;

    memset(res, 0, sizeof *res);
    im.window = opt && opt->reorder_window ? opt->reorder_window : HAR_DEFAULT_REORDER_WINDOW;
    im.max_entry = opt && opt->max_entry ? opt->max_entry : JSON_STREAM_DEFAULT_MAX_VALUE;
    im.redactor = opt ? opt->redactor : NULL;
    buf_init(&im.redacted, (size_t)64 << 20);
    counter_init(&im.conns, HAR_MAX_CONNECTIONS, CONN_KEY_MAX);
    if (!(im.heap = calloc(im.window + 1, sizeof *im.heap)))
        return error_set(err, ERR_NOMEM, "out of memory starting the HAR import");
    if ((rc = json_stream_open(&im.in, har_path, im.max_entry, err)) ||
        (rc = walk_document(&im)))
        goto out;
    while (im.heap_len)
        if ((rc = emit_one(&im)))
            goto out;
    if (!im.out && (rc = open_output(&im, TRACE_TIME_NONE)))
        goto out;
    if ((rc = write_summary(&im)))
        goto out;
    rc = trace_writer_close(im.out, err);
    im.out = NULL;
out:
    while (im.heap_len)
        pending_free(heap_pop(&im));
    free(im.heap);
    trace_writer_discard(im.out);
    json_stream_close(im.in);
    counter_release(&im.conns);
    buf_release(&im.redacted);
    return rc;
}
