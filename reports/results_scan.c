/*
 * results_scan.c — results records parsed with jdoc (results_scan.h).
 *
 * The checks mirror replay/results.c and replay/http_json.c field by field,
 * with the same messages, so a file is refused the same way by both.
 */
#include "results_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "base64.h"
#include "jdoc.h"
#include "jsonl_reader.h"

/* Lines as long as results.c writes them. */
#define SCAN_MAX_LINE ((size_t)2 << 30)

/* Everything one record read back points to. */
struct results_slot {
    struct buf line;                    /* the line's text (jdoc points into it) */
    struct jdoc doc;
    struct arena arena;
    struct buf scratch;                 /* base64 decoding */
    struct result_record rec;
    struct result_target targets[RESULTS_MAX_TARGETS];
    uint64_t line_number, offset;
};

struct results_scan {
    struct jsonl_reader *lines;
    struct results_header header;
    struct results_slot *own;           /* for results_scan_next */
    struct results_slot *cur;           /* the slot being filled */
    struct buf summary;                 /* the summary line's text, once read */
    uint64_t summary_line;              /* its line number; 0: not read yet */
};

struct results_slot *results_slot_new(void)
{
    struct results_slot *slot = calloc(1, sizeof *slot);
    if (!slot)
        return NULL;
    buf_init(&slot->line, SCAN_MAX_LINE);
    jdoc_init(&slot->doc);
    arena_init(&slot->arena, 0);
    buf_init(&slot->scratch, SCAN_MAX_LINE);
    return slot;
}

void results_slot_free(struct results_slot *slot)
{
    if (!slot)
        return;
    buf_release(&slot->line);
    jdoc_release(&slot->doc);
    arena_release(&slot->arena);
    buf_release(&slot->scratch);
    free(slot);
}

uint64_t results_slot_line_number(const struct results_slot *slot)
{
    return slot->line_number;
}

uint64_t results_slot_line_offset(const struct results_slot *slot)
{
    return slot->offset;
}

/* ------------------------------------------------------------- helpers */

static uint32_t member(const struct jdoc *d, uint32_t obj, const char *key)
{
    return obj == JDOC_NONE ? JDOC_NONE : jdoc_get(d, obj, key, strlen(key));
}

static bool is_type(const struct jdoc *d, uint32_t n, enum jdoc_type t)
{
    return n != JDOC_NONE && d->nodes[n].type == t;
}

static bool is_null(const struct jdoc *d, uint32_t n)
{
    return n == JDOC_NONE || d->nodes[n].type == JDOC_NULL;
}

/* An integer node's value; false when it is not an integer that fits. */
static bool int_value(const struct jdoc *d, uint32_t n, int64_t *out)
{
    const struct jdoc_node *x;
    const char *s;
    uint64_t v = 0;
    bool neg;
    uint32_t i;

    if (!is_type(d, n, JDOC_NUMBER) || !(d->nodes[n].flags & JDOC_F_INTEGER))
        return false;
    x = &d->nodes[n];
    s = x->text;
    neg = s[0] == '-';
    for (i = neg; i < x->len; i++) {
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (v > (uint64_t)INT64_MAX + neg)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static int64_t time_value(const struct jdoc *d, uint32_t obj, const char *key)
{
    int64_t v;
    return int_value(d, member(d, obj, key), &v) ? v : RESULTS_TIME_NONE;
}

/* A NUL-terminated copy of a string node in the record's arena. */
static const char *text_copy(struct results_scan *s, uint32_t n)
{
    const struct jdoc_node *x = &s->cur->doc.nodes[n];
    char *p = arena_alloc(&s->cur->arena, (size_t)x->len + 1);
    if (p) {
        memcpy(p, x->text, x->len);
        p[x->len] = '\0';
    }
    return p;
}

static int line_error(struct results_scan *s, struct error *err, int code, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static int line_error(struct results_scan *s, struct error *err, int code, const char *fmt, ...)
{
    char msg[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jsonl_reader_error(s->lines, err, code, "%s", msg);
}

static int nomem(struct results_scan *s, struct error *err)
{
    return line_error(s, err, ERR_NOMEM, "out of memory reading the record");
}

static int decode_base64(struct results_scan *s, const char *text, size_t len,
                         const char *where, const char **out, size_t *out_len,
                         struct error *err)
{
    size_t bad = 0;
    char *copy;
    int rc;

    buf_reset(&s->cur->scratch);
    rc = base64_decode(&s->cur->scratch, text, len, &bad);
    if (rc == ERR_INPUT)
        return line_error(s, err, ERR_INPUT, "%s: invalid base64 at character %zu", where, bad);
    if (rc)
        return line_error(s, err, rc, "%s: cannot decode base64", where);
    if (!(copy = arena_alloc(&s->cur->arena, s->cur->scratch.len + 1)))
        return nomem(s, err);
    memcpy(copy, s->cur->scratch.data ? s->cur->scratch.data : "", s->cur->scratch.len + 1);
    *out = copy;
    *out_len = s->cur->scratch.len;
    return 0;
}

/* --------------------------------------------------------------- messages */

static int read_headers(struct results_scan *s, uint32_t list, const char *where,
                        struct http_header **out, size_t *count, struct error *err)
{
    const struct jdoc *d = &s->cur->doc;
    struct http_header *items;
    size_t n, i = 0;

    *out = NULL;
    *count = 0;
    if (is_null(d, list))
        return 0;
    if (!is_type(d, list, JDOC_ARRAY))
        return line_error(s, err, ERR_INPUT,
                          "%s: expected an array of [name, value] pairs, found %s", where,
                          jdoc_type_name(d, list, false));
    if (!(n = d->nodes[list].len))
        return 0;
    if (!(items = arena_alloc(&s->cur->arena, n * sizeof *items)))
        return nomem(s, err);
    for (uint32_t p = jdoc_first(d, list); p != JDOC_NONE; p = jdoc_next(d, list, p), i++) {
        uint32_t name = JDOC_NONE, value = JDOC_NONE, enc = JDOC_NONE;
        struct http_header *h = &items[i];

        if (is_type(d, p, JDOC_ARRAY) && d->nodes[p].len >= 2 && d->nodes[p].len <= 3) {
            name = jdoc_first(d, p);
            value = jdoc_next(d, p, name);
            enc = d->nodes[p].len == 3 ? jdoc_next(d, p, value) : JDOC_NONE;
        }
        if (!is_type(d, name, JDOC_STRING) || !is_type(d, value, JDOC_STRING) ||
            (enc != JDOC_NONE && !is_type(d, enc, JDOC_STRING)))
            return line_error(s, err, ERR_INPUT,
                              "%s[%zu]: expected [name, value] or [name, value, \"base64\"]",
                              where, i);
        h->name = d->nodes[name].text;
        h->name_len = d->nodes[name].len;
        h->value = d->nodes[value].text;
        h->value_len = d->nodes[value].len;
        if (enc != JDOC_NONE) {
            char at[160];
            int rc;
            if (d->nodes[enc].len != 6 || memcmp(d->nodes[enc].text, "base64", 6) != 0)
                return line_error(s, err, ERR_INPUT,
                                  "%s[%zu][2]: unknown encoding; expected \"base64\"", where, i);
            snprintf(at, sizeof at, "%s[%zu][1]", where, i);
            if ((rc = decode_base64(s, h->value, h->value_len, at, &h->value, &h->value_len,
                                    err)))
                return rc;
        }
    }
    *out = items;
    *count = n;
    return 0;
}

static bool parse_version(const struct jdoc_node *v, unsigned *major, unsigned *minor)
{
    const char *s = v->text;
    if (v->len != 8 || memcmp(s, "HTTP/", 5) != 0 || s[5] < '0' || s[5] > '9' ||
        s[6] != '.' || s[7] < '0' || s[7] > '9')
        return false;
    *major = (unsigned)(s[5] - '0');
    *minor = (unsigned)(s[7] - '0');
    return true;
}

/* A response in the trace's message shape (http_json.h). */
static int read_response(struct results_scan *s, uint32_t obj, const char *where,
                         struct http_message *m, struct error *err)
{
    const struct jdoc *d = &s->cur->doc;
    uint32_t v;
    int64_t status;
    char at[160];
    int rc;

    memset(m, 0, sizeof *m);
    if (!is_type(d, obj, JDOC_OBJECT))
        return line_error(s, err, ERR_INPUT, "%s: expected an object, found %s", where,
                          obj == JDOC_NONE ? "nothing" : jdoc_type_name(d, obj, false));
    v = member(d, obj, "status");
    if (!int_value(d, v, &status) || status < 0 || status > 999)
        return line_error(s, err, ERR_INPUT, "%s.status: %s; expected an integer status code",
                          where, v != JDOC_NONE ? "wrong type or range" : "missing");
    m->status = (int)status;
    v = member(d, obj, "reason");
    m->reason = is_type(d, v, JDOC_STRING) ? text_copy(s, v) : "";
    if (!m->reason)
        return nomem(s, err);
    m->version_major = 1;
    m->version_minor = 1;
    v = member(d, obj, "version");
    if (v != JDOC_NONE && (!is_type(d, v, JDOC_STRING) ||
                           !parse_version(&d->nodes[v], &m->version_major, &m->version_minor)))
        return line_error(s, err, ERR_INPUT, "%s.version: expected \"HTTP/1.0\" or \"HTTP/1.1\"",
                          where);
    snprintf(at, sizeof at, "%s.headers", where);
    if ((rc = read_headers(s, member(d, obj, "headers"), at, &m->headers, &m->header_count,
                           err)))
        return rc;
    snprintf(at, sizeof at, "%s.trailers", where);
    if ((rc = read_headers(s, member(d, obj, "trailers"), at, &m->trailers, &m->trailer_count,
                           err)))
        return rc;
    v = member(d, obj, "body");
    if (!is_null(d, v)) {
        uint32_t enc = member(d, obj, "body_encoding");
        snprintf(at, sizeof at, "%s.body", where);
        if (!is_type(d, v, JDOC_STRING))
            return line_error(s, err, ERR_INPUT, "%s: expected a string, found %s", at,
                              jdoc_type_name(d, v, false));
        m->body = (const unsigned char *)d->nodes[v].text;
        m->body_len = d->nodes[v].len;
        if (!is_null(d, enc)) {
            const struct jdoc_node *e = &d->nodes[enc];
            bool str = e->type == JDOC_STRING;
            if (str && e->len == 6 && memcmp(e->text, "base64", 6) == 0) {
                const char *decoded;
                if ((rc = decode_base64(s, (const char *)m->body, m->body_len, at, &decoded,
                                        &m->body_len, err)))
                    return rc;
                m->body = (const unsigned char *)decoded;
            } else if (!str || e->len != 4 || memcmp(e->text, "utf8", 4) != 0) {
                return line_error(s, err, ERR_INPUT,
                                  "%s.body_encoding: expected \"utf8\" or \"base64\"", where);
            }
        }
    }
    m->body_size = m->body_len;
    v = member(d, obj, "body_size");
    if (v != JDOC_NONE) {
        int64_t size;
        if (!int_value(d, v, &size) || size < 0 || (uint64_t)size < m->body_len)
            return line_error(s, err, ERR_INPUT,
                              "%s.body_size: expected an integer >= the body's length", where);
        m->body_size = (uint64_t)size;
    }
    return 0;
}

static int read_target(struct results_scan *s, uint32_t obj, size_t index, struct error *err)
{
    const struct jdoc *d = &s->cur->doc;
    struct result_target *t = &s->cur->targets[index];
    char where[128];
    uint32_t v, e;
    int rc;

    memset(t, 0, sizeof *t);
    snprintf(where, sizeof where, "targets.%s", s->header.targets[index].name);
    if (!is_type(d, obj, JDOC_OBJECT))
        return line_error(s, err, ERR_INPUT,
                          "%s: missing or not an object (every header target needs a result)",
                          where);
    if (member(d, obj, "status") != JDOC_NONE) {
        if ((rc = read_response(s, obj, where, &t->response, err)))
            return rc;
        t->has_response = true;
        v = member(d, obj, "body_omitted");
        t->body_omitted = is_type(d, v, JDOC_BOOL) && (d->nodes[v].flags & JDOC_F_TRUE);
        v = member(d, obj, "body_sha256");
        if (is_type(d, v, JDOC_STRING) && d->nodes[v].len == 64) {
            memcpy(t->body_sha256, d->nodes[v].text, 64);
            t->body_sha256[64] = '\0';
        }
    }
    t->scheduled_us = time_value(d, obj, "scheduled_us");
    t->sent_us = time_value(d, obj, "sent_us");
    t->connect_us = time_value(d, obj, "connect_us");
    t->first_byte_us = time_value(d, obj, "first_byte_us");
    t->total_us = time_value(d, obj, "total_us");
    e = member(d, obj, "error");
    if (!is_null(d, e)) {
        uint32_t kind = member(d, e, "kind");
        int64_t code;
        const char *name;
        if (!is_type(d, kind, JDOC_STRING))
            return line_error(s, err, ERR_INPUT,
                              "%s.error.kind: expected an error kind such as \"timeout\"", where);
        if (!(name = text_copy(s, kind)))
            return nomem(s, err);
        t->error = result_error_lookup(name);
        t->curl_code = int_value(d, member(d, e, "curl_code"), &code) ? (int)code : 0;
        v = member(d, e, "message");
        t->error_message = is_type(d, v, JDOC_STRING) ? text_copy(s, v) : "";
        if (!t->error_message)
            return nomem(s, err);
    } else if (!t->has_response) {
        return line_error(s, err, ERR_INPUT, "%s: neither a response (\"status\") nor an \"error\"",
                          where);
    }
    return 0;
}

static int read_record(struct results_scan *s, struct error *err)
{
    const struct jdoc *d = &s->cur->doc;
    struct result_record *rec = &s->cur->rec;
    uint32_t v, req, targets;
    int64_t n;
    int rc;

    memset(rec, 0, sizeof *rec);
    if (!int_value(d, member(d, 0, "tx"), &n) || n < 0)
        return line_error(s, err, ERR_INPUT, "tx: expected the transaction id");
    rec->tx = (uint64_t)n;
    rec->conn = int_value(d, member(d, 0, "conn"), &n) && n >= 0 ? (uint64_t)n : 0;
    req = member(d, 0, "request");
    if (!is_type(d, member(d, req, "method"), JDOC_STRING) ||
        !is_type(d, member(d, req, "target"), JDOC_STRING))
        return line_error(s, err, ERR_INPUT,
                          "request: expected {\"method\": string, \"target\": string}");
    rec->method = text_copy(s, member(d, req, "method"));
    rec->target = text_copy(s, member(d, req, "target"));
    v = member(d, req, "host");
    rec->host = is_type(d, v, JDOC_STRING) ? text_copy(s, v) : NULL;
    if (!rec->method || !rec->target || (v != JDOC_NONE && is_type(d, v, JDOC_STRING) &&
                                         !rec->host))
        return nomem(s, err);
    v = member(d, 0, "captured");
    if (!is_null(d, v)) {
        if ((rc = read_response(s, v, "captured", &rec->captured, err)))
            return rc;
        rec->has_captured = true;
    }
    v = member(d, 0, "captured_flags");
    if (is_type(d, v, JDOC_ARRAY))
        for (uint32_t f = jdoc_first(d, v); f != JDOC_NONE; f = jdoc_next(d, v, f)) {
            int bit = is_type(d, f, JDOC_STRING)
                          ? tx_flag_lookup(d->nodes[f].text, d->nodes[f].len)
                          : -1;
            if (bit >= 0)
                rec->captured_flags |= 1u << bit;
        }
    targets = member(d, 0, "targets");
    if (!is_type(d, targets, JDOC_OBJECT))
        return line_error(s, err, ERR_INPUT, "targets: expected an object keyed by target name");
    for (size_t i = 0; i < s->header.target_count; i++)
        if ((rc = read_target(s, member(d, targets, s->header.targets[i].name), i, err)))
            return rc;
    rec->target_count = s->header.target_count;
    rec->targets = s->cur->targets;
    return 0;
}

/* ------------------------------------------------------------------ API */

int results_scan_open(struct results_scan **out, const char *path, struct error *err)
{
    struct results_scan *s;
    struct results_reader *r;
    const char *line;
    size_t len;
    int rc;

    *out = NULL;
    if (strcmp(path, "-") == 0)
        return error_set(err, ERR_USAGE,
                         "results cannot come from standard input (they are read twice: "
                         "once to compare, once for the examples); give a file");
    /* The header, checked by the results reader itself. */
    if ((rc = results_reader_open(&r, path, SCAN_MAX_LINE, err)))
        return rc;
    if (!(s = calloc(1, sizeof *s))) {
        results_reader_close(r);
        return error_set(err, ERR_NOMEM, "out of memory opening results '%s'", path);
    }
    s->header = *results_reader_header(r);
    s->header.options_json = NULL;
    s->header.trace_header_json = NULL;
    results_reader_close(r);
    buf_init(&s->summary, (size_t)64 << 20);
    if (!(s->own = results_slot_new())) {
        rc = error_set(err, ERR_NOMEM, "out of memory opening results '%s'", path);
        goto fail;
    }
    if ((rc = jsonl_reader_open(&s->lines, path, SCAN_MAX_LINE, err)))
        goto fail;
    rc = jsonl_reader_next_line(s->lines, &line, &len, err);
    if (rc == 0)
        rc = error_set(err, ERR_INPUT, "%s: the header line went missing while reading", path);
    if (rc < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    results_scan_close(s);
    return rc;
}

void results_scan_close(struct results_scan *s)
{
    if (!s)
        return;
    jsonl_reader_close(s->lines);
    results_slot_free(s->own);
    buf_release(&s->summary);
    free(s);
}

const struct results_header *results_scan_header(const struct results_scan *s)
{
    return &s->header;
}

const char *results_scan_path(const struct results_scan *s)
{
    return jsonl_reader_path(s->lines);
}

/* jdoc says "NAME:1:COL: ..." about the one line it parsed; say FILE:LINE:COL. */
static int relocate(struct results_scan *s, int rc, struct error *err)
{
    char msg[ERROR_MESSAGE_MAX];
    const char *m;

    if (!err)
        return rc;
    m = strncmp(err->message, ":1:", 3) == 0 ? err->message + 3 : err->message;
    snprintf(msg, sizeof msg, "%s", m);
    return error_set(err, rc, "%s:%llu:%s (the line starts at byte offset %llu of the file)",
                     jsonl_reader_path(s->lines),
                     (unsigned long long)jsonl_reader_line_number(s->lines), msg,
                     (unsigned long long)jsonl_reader_line_offset(s->lines));
}

int results_scan_read(struct results_scan *s, struct results_slot *slot,
                      const struct result_record **rec, struct error *err)
{
    const char *line;
    size_t len;
    int rc;

    *rec = NULL;
    s->cur = slot;
    arena_reset(&slot->arena);
    for (;;) {
        uint32_t type;
        rc = jsonl_reader_next_line(s->lines, &line, &len, err);
        if (rc <= 0)
            return rc;
        /* the slot keeps its own copy: jdoc's strings point into it */
        buf_reset(&slot->line);
        if (buf_append(&slot->line, line, len))
            return line_error(s, err, ERR_NOMEM, "out of memory for a line of %zu bytes", len);
        slot->line_number = jsonl_reader_line_number(s->lines);
        slot->offset = jsonl_reader_line_offset(s->lines);
        if ((rc = jdoc_parse(&slot->doc, slot->line.data, len, "", NULL, err)))
            return relocate(s, rc, err);
        if (slot->doc.nodes[0].type != JDOC_OBJECT)
            return line_error(s, err, ERR_INPUT, "expected a result object, found %s",
                              jdoc_type_name(&slot->doc, 0, false));
        type = member(&slot->doc, 0, "type");
        if (!is_type(&slot->doc, type, JDOC_STRING))
            return line_error(s, err, ERR_INPUT,
                              "\"type\": missing; expected \"result\" or \"summary\"");
        if (slot->doc.nodes[type].len == 6 && memcmp(slot->doc.nodes[type].text, "result", 6) == 0)
            break;
        if (slot->doc.nodes[type].len == 7 &&
            memcmp(slot->doc.nodes[type].text, "summary", 7) == 0) {
            buf_reset(&s->summary);
            if (buf_append(&s->summary, line, len))
                return line_error(s, err, ERR_TOOBIG, "the summary line is too large");
            s->summary_line = slot->line_number;
        }
    }
    if ((rc = read_record(s, err)))
        return rc;
    *rec = &slot->rec;
    return 1;
}

int results_scan_next(struct results_scan *s, const struct result_record **rec,
                      struct error *err)
{
    return results_scan_read(s, s->own, rec, err);
}

const char *results_scan_line_text(const struct results_scan *s, size_t *len)
{
    *len = s->own->line.len;
    return s->own->line.data;
}

const char *results_scan_summary(const struct results_scan *s, size_t *len, uint64_t *line)
{
    *len = s->summary.len;
    *line = s->summary_line;
    return s->summary_line ? s->summary.data : NULL;
}

uint64_t results_scan_line_number(const struct results_scan *s)
{
    return s->own->line_number;
}

uint64_t results_scan_line_offset(const struct results_scan *s)
{
    return s->own->offset;
}

int results_scan_seek(struct results_scan *s, uint64_t offset, uint64_t line, struct error *err)
{
    return jsonl_reader_seek(s->lines, offset, line, err);
}
