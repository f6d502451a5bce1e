#include "http_json.h"

#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "jsonw.h"
#include "utf8.h"

/* NUL is legal JSON (\u0000) but many readers reject it: treat as binary. */
static bool is_text(const void *data, size_t len)
{
    /* len 0 first: an empty body may have a NULL pointer (memchr(NULL) is UB) */
    return len == 0 || (utf8_valid(data, len) && memchr(data, '\0', len) == NULL);
}

int http_json_write_headers(struct buf *out, const struct http_header *h, size_t n)
{
    int rc = buf_append_char(out, '[');
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc |= buf_append_char(out, ',');
        rc |= buf_append_char(out, '[');
        rc |= jsonw_string(out, h[i].name, h[i].name_len, 0);
        rc |= buf_append_char(out, ',');
        if (is_text(h[i].value, h[i].value_len)) {
            rc |= jsonw_string(out, h[i].value, h[i].value_len, 0);
        } else {
            rc |= buf_append_char(out, '"');
            rc |= base64_encode(out, h[i].value, h[i].value_len);
            rc |= buf_append_str(out, "\",\"base64\"");
        }
        rc |= buf_append_char(out, ']');
    }
    rc |= buf_append_char(out, ']');
    return rc ? ERR_TOOBIG : 0;
}

int http_json_write_fields(struct buf *out, const struct http_message *m, bool is_request)
{
    int rc = 0;
    if (is_request) {
        rc |= buf_append_str(out, "\"method\":");
        rc |= jsonw_cstring(out, m->method ? m->method : "", 0);
        rc |= buf_append_str(out, ",\"target\":");
        rc |= jsonw_cstring(out, m->target ? m->target : "", 0);
    } else {
        rc |= buf_printf(out, "\"status\":%d,\"reason\":", m->status);
        rc |= jsonw_cstring(out, m->reason ? m->reason : "", 0);
    }
    rc |= buf_printf(out, ",\"version\":\"HTTP/%u.%u\",\"headers\":", m->version_major,
                     m->version_minor);
    rc |= http_json_write_headers(out, m->headers, m->header_count);
    if (m->trailer_count) {
        rc |= buf_append_str(out, ",\"trailers\":");
        rc |= http_json_write_headers(out, m->trailers, m->trailer_count);
    }
    rc |= buf_append_str(out, ",\"body\":");
    if (is_text(m->body, m->body_len)) {
        rc |= jsonw_string(out, (const char *)m->body, m->body_len, 0);
    } else {
        rc |= buf_append_char(out, '"');
        rc |= base64_encode(out, m->body, m->body_len);
        rc |= buf_append_str(out, "\",\"body_encoding\":\"base64\"");
    }
    if (m->body_size != m->body_len) {
        rc |= buf_append_str(out, ",\"body_size\":");
        rc |= jsonw_uint(out, m->body_size);
    }
    return rc ? ERR_TOOBIG : 0;
}

int http_json_write_message(struct buf *out, const struct http_message *m, bool is_request)
{
    if (buf_append_char(out, '{') || http_json_write_fields(out, m, is_request) ||
        buf_append_char(out, '}'))
        return ERR_TOOBIG;
    return 0;
}

const char *http_json_type_name(const json_t *v)
{
    if (!v)
        return "nothing";
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

static int decode_base64(const char *text, size_t len, const char *where, struct arena *arena,
                         const char **out, size_t *out_len, struct error *err)
{
    struct buf b;
    size_t bad = 0;
    char *copy;
    int rc;

    buf_init(&b, len); /* decoded is never longer than the text */
    rc = base64_decode(&b, text, len, &bad);
    if (rc) {
        buf_release(&b);
        if (rc == ERR_INPUT)
            return error_set(err, ERR_INPUT, "%s: invalid base64 at character %zu", where, bad);
        return error_set(err, rc, "%s: cannot decode base64", where);
    }
    copy = arena_alloc(arena, b.len + 1);
    if (!copy) {
        buf_release(&b);
        return error_set(err, ERR_NOMEM, "out of memory decoding %s", where);
    }
    memcpy(copy, b.data ? b.data : "", b.len + 1);
    *out = copy;
    *out_len = b.len;
    buf_release(&b);
    return 0;
}

int http_json_read_headers(json_t *list, const char *where, struct arena *arena,
                           struct http_header **out, size_t *count, struct error *err)
{
    size_t n, i;
    struct http_header *items;

    *out = NULL;
    *count = 0;
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list))
        return error_set(err, ERR_INPUT, "%s: expected an array of [name, value] pairs, found %s",
                         where, http_json_type_name(list));
    n = json_array_size(list);
    if (!n)
        return 0;
    items = arena_alloc(arena, n * sizeof *items);
    if (!items)
        return error_set(err, ERR_NOMEM, "out of memory reading %s", where);
    for (i = 0; i < n; i++) {
        json_t *pair = json_array_get(list, i);
        json_t *name = json_array_get(pair, 0), *value = json_array_get(pair, 1);
        json_t *enc = json_array_get(pair, 2);
        struct http_header *h = &items[i];

        if (!json_is_array(pair) || !json_is_string(name) || !json_is_string(value) ||
            json_array_size(pair) > 3 || (enc && !json_is_string(enc)))
            return error_set(err, ERR_INPUT,
                             "%s[%zu]: expected [name, value] or [name, value, \"base64\"]",
                             where, i);
        h->name = json_string_value(name);
        h->name_len = json_string_length(name);
        h->value = json_string_value(value);
        h->value_len = json_string_length(value);
        if (enc) {
            char at[160];
            int rc;
            if (strcmp(json_string_value(enc), "base64") != 0)
                return error_set(err, ERR_INPUT,
                                 "%s[%zu][2]: unknown encoding '%s'; expected \"base64\"", where,
                                 i, json_string_value(enc));
            snprintf(at, sizeof at, "%s[%zu][1]", where, i);
            if ((rc = decode_base64(h->value, h->value_len, at, arena, &h->value, &h->value_len,
                                    err)))
                return rc;
        }
    }
    *out = items;
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

static int expect_string(json_t *v, const char *where, const char *field, struct error *err)
{
    if (json_is_string(v))
        return 0;
    return error_set(err, ERR_INPUT, "%s.%s: %s; expected a string", where, field,
                     v ? "wrong type" : "missing");
}

int http_json_read_message(json_t *obj, bool is_request, const char *where,
                           struct arena *arena, struct http_message *m, struct error *err)
{
    char at[160];
    json_t *v;
    int rc;

    memset(m, 0, sizeof *m);
    if (!json_is_object(obj))
        return error_set(err, ERR_INPUT, "%s: expected an object, found %s", where,
                         http_json_type_name(obj));
    if (is_request) {
        if ((rc = expect_string(v = json_object_get(obj, "method"), where, "method", err)))
            return rc;
        m->method = json_string_value(v);
        if ((rc = expect_string(v = json_object_get(obj, "target"), where, "target", err)))
            return rc;
        m->target = json_string_value(v);
    } else {
        v = json_object_get(obj, "status");
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 999)
            return error_set(err, ERR_INPUT, "%s.status: %s; expected an integer status code",
                             where, v ? "wrong type or range" : "missing");
        m->status = (int)json_integer_value(v);
        v = json_object_get(obj, "reason");
        m->reason = json_is_string(v) ? json_string_value(v) : "";
    }
    m->version_major = 1;
    m->version_minor = 1;
    v = json_object_get(obj, "version");
    if (v && (!json_is_string(v) ||
              parse_version(json_string_value(v), &m->version_major, &m->version_minor)))
        return error_set(err, ERR_INPUT, "%s.version: expected \"HTTP/1.0\" or \"HTTP/1.1\"",
                         where);
    snprintf(at, sizeof at, "%s.headers", where);
    if ((rc = http_json_read_headers(json_object_get(obj, "headers"), at, arena, &m->headers,
                                     &m->header_count, err)))
        return rc;
    snprintf(at, sizeof at, "%s.trailers", where);
    if ((rc = http_json_read_headers(json_object_get(obj, "trailers"), at, arena, &m->trailers,
                                     &m->trailer_count, err)))
        return rc;

    v = json_object_get(obj, "body");
    if (v && !json_is_null(v)) {
        json_t *enc = json_object_get(obj, "body_encoding");
        snprintf(at, sizeof at, "%s.body", where);
        if (!json_is_string(v))
            return error_set(err, ERR_INPUT, "%s: expected a string, found %s", at,
                             http_json_type_name(v));
        m->body = (const unsigned char *)json_string_value(v);
        m->body_len = json_string_length(v);
        if (enc && !json_is_null(enc)) {
            const char *name = json_is_string(enc) ? json_string_value(enc) : "";
            if (strcmp(name, "base64") == 0) {
                const char *decoded;
                if ((rc = decode_base64((const char *)m->body, m->body_len, at, arena, &decoded,
                                        &m->body_len, err)))
                    return rc;
                m->body = (const unsigned char *)decoded;
            } else if (strcmp(name, "utf8") != 0) {
                return error_set(err, ERR_INPUT,
                                 "%s.body_encoding: expected \"utf8\" or \"base64\"", where);
            }
        }
    }
    m->body_size = m->body_len;
    v = json_object_get(obj, "body_size");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)m->body_len)
            return error_set(err, ERR_INPUT,
                             "%s.body_size: expected an integer >= the body's length", where);
        m->body_size = (uint64_t)json_integer_value(v);
    }
    return 0;
}
