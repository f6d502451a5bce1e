#include "trace_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "jsonl_reader.h"

/* A growable array of headers that the reader reuses from line to line. */
struct header_array {
    struct http_header *items;
    size_t cap;
};

/* Decoded base64 values of the current line: freed on the next call. */
struct scratch {
    void **blocks;
    size_t count, cap;
};

struct trace_reader {
    struct jsonl_reader *lines;
    struct trace_header header;
    struct trace_tx tx;
    struct header_array arrays[4]; /* request headers/trailers, response headers/trailers */
    struct scratch scratch;
    json_t *summary;
};

static void scratch_clear(struct scratch *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->blocks[i]);
    s->count = 0;
}

static int scratch_keep(struct scratch *s, void *block)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        void **p = realloc(s->blocks, cap * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        s->blocks = p;
        s->cap = cap;
    }
    s->blocks[s->count++] = block;
    return 0;
}

/* Decode base64 text into a block kept until the next line. */
static int decode_base64(struct trace_reader *r, const char *text, size_t len,
                         const char *where, const char **out, size_t *out_len,
                         struct error *err)
{
    struct buf b;
    size_t bad = 0;
    int rc;

    buf_init(&b, len); /* decoded is never longer than the text */
    rc = base64_decode(&b, text, len, &bad);
    if (rc) {
        buf_release(&b);
        if (rc == ERR_INPUT)
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "%s: invalid base64 at character %zu", where, bad);
        return jsonl_reader_error(r->lines, err, rc, "%s: cannot decode base64", where);
    }
    *out = buf_take(&b, out_len);
    if (scratch_keep(&r->scratch, (void *)*out)) {
        free((void *)*out);
        return error_set(err, ERR_NOMEM, "out of memory reading a trace");
    }
    return 0;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "something else";
}

static int expect(struct trace_reader *r, const json_t *v, json_type type, const char *where,
                  const char *what, struct error *err)
{
    if (!v)
        return jsonl_reader_error(r->lines, err, ERR_INPUT, "%s: missing; expected %s", where,
                                  what);
    if (json_typeof(v) != type)
        return jsonl_reader_error(r->lines, err, ERR_INPUT, "%s: expected %s, found %s", where,
                                  what, type_name(v));
    return 0;
}

static int read_headers(struct trace_reader *r, json_t *list, const char *where,
                        struct header_array *into, struct http_header **out, size_t *count,
                        struct error *err)
{
    size_t n, i;
    int rc;

    *out = NULL;
    *count = 0;
    if (!list)
        return 0;
    if ((rc = expect(r, list, JSON_ARRAY, where, "an array of [name, value] pairs", err)))
        return rc;
    n = json_array_size(list);
    if (n > into->cap) {
        struct http_header *p = realloc(into->items, n * sizeof *p);
        if (!p)
            return error_set(err, ERR_NOMEM, "out of memory reading a trace");
        into->items = p;
        into->cap = n;
    }
    for (i = 0; i < n; i++) {
        json_t *pair = json_array_get(list, i);
        json_t *name = json_array_get(pair, 0), *value = json_array_get(pair, 1);
        json_t *enc = json_array_get(pair, 2);
        struct http_header *h = &into->items[i];

        if (!json_is_array(pair) || !json_is_string(name) || !json_is_string(value) ||
            json_array_size(pair) > 3 || (enc && !json_is_string(enc)))
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "%s[%zu]: expected [name, value] or [name, value, \"base64\"]",
                                      where, i);
        h->name = json_string_value(name);
        h->name_len = json_string_length(name);
        h->value = json_string_value(value);
        h->value_len = json_string_length(value);
        if (enc) {
            char at[128];
            if (strcmp(json_string_value(enc), "base64") != 0)
                return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                          "%s[%zu][2]: unknown encoding '%s'; expected \"base64\"",
                                          where, i, json_string_value(enc));
            snprintf(at, sizeof at, "%s[%zu][1]", where, i);
            if ((rc = decode_base64(r, h->value, h->value_len, at, &h->value, &h->value_len,
                                    err)))
                return rc;
        }
    }
    *out = into->items;
    *count = n;
    return 0;
}

static int parse_version(const char *s, unsigned *major, unsigned *minor)
{
    if (strncmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
        s[7] < '0' || s[7] > '9' || s[8])
        return -1;
    *major = (unsigned)(s[5] - '0');
    *minor = (unsigned)(s[7] - '0');
    return 0;
}

static int read_message(struct trace_reader *r, json_t *obj, int is_request,
                        struct http_message *m, struct error *err)
{
    const char *side = is_request ? "request" : "response";
    char where[64];
    json_t *v;
    int rc;

    memset(m, 0, sizeof *m);
    if ((rc = expect(r, obj, JSON_OBJECT, side, "an object", err)))
        return rc;
    if (is_request) {
        snprintf(where, sizeof where, "%s.method", side);
        if ((rc = expect(r, v = json_object_get(obj, "method"), JSON_STRING, where, "a string", err)))
            return rc;
        m->method = json_string_value(v);
        snprintf(where, sizeof where, "%s.target", side);
        if ((rc = expect(r, v = json_object_get(obj, "target"), JSON_STRING, where, "a string", err)))
            return rc;
        m->target = json_string_value(v);
    } else {
        snprintf(where, sizeof where, "%s.status", side);
        if ((rc = expect(r, v = json_object_get(obj, "status"), JSON_INTEGER, where,
                         "an integer", err)))
            return rc;
        m->status = (int)json_integer_value(v);
        v = json_object_get(obj, "reason");
        m->reason = json_is_string(v) ? json_string_value(v) : "";
    }
    m->version_major = 1;
    m->version_minor = 1;
    v = json_object_get(obj, "version");
    if (v && (!json_is_string(v) ||
              parse_version(json_string_value(v), &m->version_major, &m->version_minor)))
        return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                  "%s.version: expected \"HTTP/1.0\" or \"HTTP/1.1\"", side);

    struct header_array *arrays = &r->arrays[is_request ? 0 : 2];
    snprintf(where, sizeof where, "%s.headers", side);
    if ((rc = read_headers(r, json_object_get(obj, "headers"), where, &arrays[0], &m->headers,
                           &m->header_count, err)))
        return rc;
    snprintf(where, sizeof where, "%s.trailers", side);
    if ((rc = read_headers(r, json_object_get(obj, "trailers"), where, &arrays[1],
                           &m->trailers, &m->trailer_count, err)))
        return rc;

    v = json_object_get(obj, "body");
    if (v && !json_is_null(v)) {
        json_t *enc = json_object_get(obj, "body_encoding");
        snprintf(where, sizeof where, "%s.body", side);
        if ((rc = expect(r, v, JSON_STRING, where, "a string", err)))
            return rc;
        m->body = (const unsigned char *)json_string_value(v);
        m->body_len = json_string_length(v);
        if (enc && !json_is_null(enc)) {
            const char *name = json_is_string(enc) ? json_string_value(enc) : "";
            if (strcmp(name, "base64") == 0) {
                const char *decoded;
                if ((rc = decode_base64(r, (const char *)m->body, m->body_len, where, &decoded,
                                        &m->body_len, err)))
                    return rc;
                m->body = (const unsigned char *)decoded;
            } else if (strcmp(name, "utf8") != 0) {
                return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                          "%s.body_encoding: expected \"utf8\" or \"base64\"",
                                          side);
            }
        }
    }
    m->body_size = m->body_len;
    v = json_object_get(obj, "body_size");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)m->body_len)
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "%s.body_size: expected an integer >= the body's length",
                                      side);
        m->body_size = (uint64_t)json_integer_value(v);
    }
    return 0;
}

static int read_time(struct trace_reader *r, json_t *obj, const char *key, int64_t *out,
                     struct error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = TRACE_TIME_NONE;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                  "%s: expected microseconds since the epoch as an integer", key);
    *out = json_integer_value(v);
    return 0;
}

static int read_uint(struct trace_reader *r, json_t *obj, const char *key, uint64_t *out,
                     struct error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return jsonl_reader_error(r->lines, err, ERR_INPUT, "%s: expected a non-negative integer",
                                  key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int read_address(struct trace_reader *r, json_t *obj, const char *key, char *out,
                        size_t size, struct error *err)
{
    json_t *v = json_object_get(obj, key);
    out[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= size)
        return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                  "%s: expected an address such as \"10.0.0.1:8080\"", key);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int read_tx(struct trace_reader *r, json_t *obj, struct error *err)
{
    struct trace_tx *tx = &r->tx;
    json_t *flags, *resp;
    int rc;

    memset(tx, 0, sizeof *tx);
    if ((rc = read_uint(r, obj, "id", &tx->id, err)) ||
        (rc = read_uint(r, obj, "conn", &tx->conn, err)) ||
        (rc = read_address(r, obj, "client", tx->client, sizeof tx->client, err)) ||
        (rc = read_address(r, obj, "server", tx->server, sizeof tx->server, err)) ||
        (rc = read_time(r, obj, "req_start_us", &tx->req_start_us, err)) ||
        (rc = read_time(r, obj, "req_end_us", &tx->req_end_us, err)) ||
        (rc = read_time(r, obj, "resp_start_us", &tx->resp_start_us, err)) ||
        (rc = read_time(r, obj, "resp_end_us", &tx->resp_end_us, err)))
        return rc;
    if ((rc = read_message(r, json_object_get(obj, "request"), 1, &tx->request, err)))
        return rc;
    resp = json_object_get(obj, "response");
    if (resp && !json_is_null(resp)) {
        if ((rc = read_message(r, resp, 0, &tx->response, err)))
            return rc;
        tx->has_response = true;
    }
    flags = json_object_get(obj, "flags");
    if (flags) {
        size_t i;
        json_t *f;
        if (!json_is_array(flags))
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "flags: expected an array of flag names");
        json_array_foreach(flags, i, f) {
            int bit;
            if (!json_is_string(f))
                return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                          "flags[%zu]: expected a flag name", i);
            bit = tx_flag_lookup(json_string_value(f), json_string_length(f));
            if (bit >= 0) /* unknown flags come from newer writers: ignore */
                tx->flags |= 1u << bit;
        }
    }
    if (!tx->has_response)
        tx->flags |= TX_FLAG(TX_NO_RESPONSE);
    return 0;
}

static int read_header_line(struct trace_reader *r, json_t *obj, struct error *err)
{
    const char *path = jsonl_reader_path(r->lines);
    json_t *format = json_object_get(obj, "format");
    json_t *version = json_object_get(obj, "version");
    json_t *source = json_object_get(obj, "source");
    json_t *v;
    struct trace_header *h = &r->header;

    if (!json_is_string(format) || strcmp(json_string_value(format), TRACE_FORMAT_NAME) != 0)
        return error_set(err, ERR_INPUT,
                         "%s:1: not a rehearse trace: the first line must be a header with "
                         "\"format\":\"%s\" (make one with 'rehearse capture' or "
                         "'rehearse trace import-har')",
                         path, TRACE_FORMAT_NAME);
    if (!json_is_integer(version) || json_integer_value(version) < 1)
        return error_set(err, ERR_INPUT, "%s:1: header \"version\" must be a positive integer",
                         path);
    if (json_integer_value(version) > TRACE_FORMAT_VERSION)
        return error_set(err, ERR_UNSUPPORTED,
                         "%s:1: trace format version %lld is newer than this rehearse "
                         "understands (%d); upgrade rehearse",
                         path, (long long)json_integer_value(version), TRACE_FORMAT_VERSION);
    h->version = (int)json_integer_value(version);
    if ((v = json_object_get(source, "kind")) && json_is_string(v))
        snprintf(h->source_kind, sizeof h->source_kind, "%s", json_string_value(v));
    if ((v = json_object_get(source, "name")) && json_is_string(v))
        snprintf(h->source, sizeof h->source, "%s", json_string_value(v));
    if ((v = json_object_get(source, "linktype")) && json_is_string(v))
        snprintf(h->linktype, sizeof h->linktype, "%s", json_string_value(v));
    v = json_object_get(obj, "capture_start_us");
    h->capture_start_us = json_is_integer(v) ? json_integer_value(v) : TRACE_TIME_NONE;
    if ((v = json_object_get(obj, "created_by")) && json_is_string(v))
        snprintf(h->created_by, sizeof h->created_by, "%s", json_string_value(v));
    return 0;
}

int trace_reader_open(struct trace_reader **out, const char *path, size_t max_line,
                      struct error *err)
{
    struct trace_reader *r;
    json_t *first;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, ERR_NOMEM, "out of memory opening trace '%s'", path);
    if ((rc = jsonl_reader_open(&r->lines, path, max_line, err)))
        goto fail;
    rc = jsonl_reader_next(r->lines, &first, err);
    if (rc == 0)
        rc = error_set(err, ERR_INPUT, "%s: empty file; expected a rehearse trace", path);
    if (rc < 0) {
        if (err && err->code == ERR_INPUT && jsonl_reader_line_number(r->lines) <= 1)
            error_prefix(err, "not a rehearse trace (the first line must be a JSON header)");
        goto fail;
    }
    if (!json_is_object(first)) {
        rc = error_set(err, ERR_INPUT, "%s:1: expected the trace header object, found %s", path,
                       type_name(first));
        goto fail;
    }
    if ((rc = read_header_line(r, first, err)))
        goto fail;
    *out = r;
    return 0;
fail:
    trace_reader_close(r);
    return rc;
}

const struct trace_header *trace_reader_header(const struct trace_reader *r)
{
    return &r->header;
}

int trace_reader_next(struct trace_reader *r, const struct trace_tx **tx, struct error *err)
{
    json_t *obj;
    int rc;

    *tx = NULL;
    scratch_clear(&r->scratch);
    for (;;) {
        json_t *type;
        rc = jsonl_reader_next(r->lines, &obj, err);
        if (rc <= 0)
            return rc;
        if (!json_is_object(obj))
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "expected a transaction object, found %s", type_name(obj));
        type = json_object_get(obj, "type");
        if (!json_is_string(type))
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "\"type\": missing; expected \"tx\" or \"summary\"");
        if (strcmp(json_string_value(type), "tx") == 0)
            break;
        if (strcmp(json_string_value(type), "summary") == 0) {
            json_decref(r->summary);
            r->summary = json_incref(obj);
        }
        /* other types: written by newer versions; skip */
    }
    if ((rc = read_tx(r, obj, err)))
        return rc;
    *tx = &r->tx;
    return 1;
}

const char *trace_reader_raw_line(const struct trace_reader *r, size_t *len)
{
    return jsonl_reader_line_text(r->lines, len);
}

json_t *trace_reader_summary(const struct trace_reader *r)
{
    return r->summary;
}

uint64_t trace_reader_line_number(const struct trace_reader *r)
{
    return jsonl_reader_line_number(r->lines);
}

void trace_reader_close(struct trace_reader *r)
{
    if (!r)
        return;
    jsonl_reader_close(r->lines);
    scratch_clear(&r->scratch);
    free(r->scratch.blocks);
    for (size_t i = 0; i < 4; i++)
        free(r->arrays[i].items);
    json_decref(r->summary);
    free(r);
}
