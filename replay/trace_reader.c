#include "trace_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_json.h"
#include "jsonl_reader.h"
#include "trace_decode.h"

struct trace_reader {
    struct jsonl_reader *lines;
    struct trace_header header;
    struct trace_tx tx;
    struct arena arena; /* header arrays and decoded base64 of the current line */
    json_t *summary;
    json_t *header_value; /* the header line as read */
    bool slow_only;     /* never use trace_decode_tx (tests compare both) */
};

/* Decode a request or response, adding the file location to errors. */
static int read_message(struct trace_reader *r, json_t *obj, bool is_request,
                        struct http_message *m, struct error *err)
{
    int rc = http_json_read_message(obj, is_request, is_request ? "request" : "response",
                                    &r->arena, m, err);
    if (rc)
        return jsonl_reader_error(r->lines, err, rc, "%s", err ? err->message : "");
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
    if ((rc = read_message(r, json_object_get(obj, "request"), true, &tx->request, err)))
        return rc;
    resp = json_object_get(obj, "response");
    if (resp && !json_is_null(resp)) {
        if ((rc = read_message(r, resp, false, &tx->response, err)))
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
    if ((v = json_object_get(obj, "split")) && !json_is_null(v)) {
        json_t *index = json_object_get(v, "index"), *count = json_object_get(v, "count");
        if (!json_is_integer(index) || !json_is_integer(count) || json_integer_value(count) < 1 ||
            json_integer_value(count) > TRACE_SPLIT_MAX || json_integer_value(index) < 0 ||
            json_integer_value(index) >= json_integer_value(count))
            return error_set(err, ERR_INPUT,
                             "%s:1: header \"split\": expected {\"index\": I, \"count\": N} "
                             "with 0 <= I < N <= %d, as 'rehearse trace split' writes",
                             path, TRACE_SPLIT_MAX);
        h->split_index = (uint32_t)json_integer_value(index);
        h->split_count = (uint32_t)json_integer_value(count);
    }
    r->header_value = json_incref(obj);
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
    arena_init(&r->arena, 0);
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
                       http_json_type_name(first));
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

json_t *trace_reader_header_json(const struct trace_reader *r)
{
    return r->header_value;
}

int trace_reader_next(struct trace_reader *r, const struct trace_tx **tx, struct error *err)
{
    json_t *obj;
    int rc;

    *tx = NULL;
    arena_reset(&r->arena);
    for (;;) {
        const char *line;
        size_t len;
        json_t *type;

        rc = jsonl_reader_next_line(r->lines, &line, &len, err);
        if (rc <= 0)
            return rc;
        /* most lines are transactions: decode them without a JSON tree;
         * anything the fast decoder does not take goes through jansson,
         * which gives the same result or the located error */
        if (!r->slow_only && trace_decode_tx(line, len, &r->arena, &r->tx)) {
            *tx = &r->tx;
            return 1;
        }
        arena_reset(&r->arena);
        rc = jsonl_reader_parse_line(r->lines, &obj, err);
        if (rc < 0)
            return rc;
        if (!json_is_object(obj))
            return jsonl_reader_error(r->lines, err, ERR_INPUT,
                                      "expected a transaction object, found %s", http_json_type_name(obj));
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

void trace_reader_set_slow_only(struct trace_reader *r, bool slow_only)
{
    r->slow_only = slow_only;
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
    arena_release(&r->arena);
    json_decref(r->summary);
    json_decref(r->header_value);
    free(r);
}
