#include "resultsbuild.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "sha256.h"

struct rb {
    struct results_writer *w;
    size_t n;
};

struct rb *rb_open(const char *path, const char *targets)
{
    struct results_header h;
    struct rb *b = calloc(1, sizeof *b);
    struct error err;
    const char *p = targets;

    cr_assert_not_null(b);
    memset(&h, 0, sizeof h);
    snprintf(h.trace, sizeof h.trace, "crafted.jsonl");
    h.started_us = 1700000000000000;
    while (*p && h.target_count < RESULTS_MAX_TARGETS) {
        size_t len = strcspn(p, ",");
        snprintf(h.targets[h.target_count].name, sizeof h.targets[0].name, "%.*s", (int)len, p);
        snprintf(h.targets[h.target_count].url, sizeof h.targets[0].url,
                 "http://127.0.0.1:%zu", 8081 + h.target_count);
        h.target_count++;
        p += len + (p[len] == ',');
    }
    error_init(&err);
    cr_assert_eq(results_writer_open(&b->w, path, &h, &err), 0, "%s", err.message);
    b->n = h.target_count;
    return b;
}

static void fill(struct http_message *m, struct http_header *hs, const struct rb_response *r)
{
    size_t n = 0;
    memset(m, 0, sizeof *m);
    m->status = r->status;
    m->reason = "";
    m->version_major = m->version_minor = 1;
    if (r->content_type)
        hs[n++] = (struct http_header){"Content-Type", 12, r->content_type,
                                       strlen(r->content_type)};
    if (r->content_encoding)
        hs[n++] = (struct http_header){"Content-Encoding", 16, r->content_encoding,
                                       strlen(r->content_encoding)};
    for (size_t i = 0; i < 8 && r->headers[i][0]; i++)
        hs[n++] = (struct http_header){r->headers[i][0], strlen(r->headers[i][0]),
                                       r->headers[i][1], strlen(r->headers[i][1])};
    m->headers = hs;
    m->header_count = n;
    m->body = (const unsigned char *)(r->body ? r->body : "");
    m->body_len = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
    m->body_size = m->body_len;
    if (r->omitted) {
        m->body = (const unsigned char *)"";
        m->body_len = 0;
        m->body_size = r->size;
    }
}

void rb_add(struct rb *b, uint64_t tx, uint64_t conn, const char *method, const char *target,
            const struct rb_response *responses, const struct rb_response *captured)
{
    struct result_target t[RESULTS_MAX_TARGETS];
    struct http_header hs[RESULTS_MAX_TARGETS + 1][10];
    struct result_record rec;
    struct error err;

    memset(t, 0, sizeof t);
    memset(&rec, 0, sizeof rec);
    for (size_t i = 0; i < b->n; i++) {
        const struct rb_response *r = &responses[i];
        t[i].scheduled_us = t[i].sent_us = 1700000000000000 + (int64_t)tx * 1000;
        t[i].connect_us = t[i].first_byte_us = RESULTS_TIME_NONE;
        t[i].total_us = r->total_us ? r->total_us : 1000;
        if (r->status) {
            t[i].has_response = true;
            fill(&t[i].response, hs[i], r);
            t[i].body_omitted = r->omitted;
            if (r->sha256)
                snprintf(t[i].body_sha256, sizeof t[i].body_sha256, "%s", r->sha256);
        } else {
            t[i].error = r->error ? r->error : RESULT_ERROR_TIMEOUT;
            t[i].curl_code = 28;
            t[i].error_message = "Operation timed out";
        }
    }
    rec.tx = tx;
    rec.conn = conn;
    rec.method = method;
    rec.target = target;
    rec.host = "api.example";
    if (captured) {
        rec.has_captured = true;
        fill(&rec.captured, hs[RESULTS_MAX_TARGETS], captured);
    }
    rec.target_count = b->n;
    rec.targets = t;
    error_init(&err);
    cr_assert_eq(results_writer_write(b->w, &rec, &err), 0, "%s", err.message);
}

void rb_close(struct rb *b)
{
    struct error err;
    error_init(&err);
    cr_assert_eq(results_writer_write_summary(b->w, "{\"interrupted\":false}", &err), 0);
    cr_assert_eq(results_writer_close(b->w, &err), 0, "%s", err.message);
    free(b);
}

char *rb_compress(const char *data, size_t len, bool gzip, size_t *out_len)
{
    z_stream z;
    size_t cap = compressBound((uLong)len) + 64;
    char *out = malloc(cap);

    cr_assert_not_null(out);
    memset(&z, 0, sizeof z);
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY),
                 Z_OK);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

const char *rb_sha256(const void *data, size_t len)
{
    static char hex[65];
    struct sha256 *h = sha256_new();
    cr_assert(h && sha256_update(h, data, len) && sha256_final_hex(h, hex));
    sha256_free(h);
    return hex;
}

int rb_diff(struct run_result *r, const char *dir, const char *out, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    char key[4096];
    static const char secret[] = "a fixed key for the tests";

    snprintf(key, sizeof key, "%s/redact.key", dir);
    cr_assert_eq(test_write_file(key, secret, sizeof secret - 1), 0);
    argv[argc++] = (char *)test_rehearse_bin();
    argv[argc++] = "diff";
    va_start(ap, out);
    while (argc < 58 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc++] = "--redact-key";
    argv[argc++] = key;
    argv[argc++] = "-o";
    argv[argc++] = (char *)out;
    argv[argc] = NULL;
    cr_assert_eq(test_run(r, argv, 120), 0);
    return r->exit_code;
}

json_t *rb_load(const char *path)
{
    json_error_t jerr;
    json_t *v = json_load_file(path, 0, &jerr);
    cr_assert_not_null(v, "%s:%d: %s", path, jerr.line, jerr.text);
    return v;
}

json_t *rb_endpoint(json_t *diff, const char *name)
{
    size_t i;
    json_t *ep;
    json_array_foreach(json_object_get(diff, "endpoints"), i, ep)
        if (strcmp(json_string_value(json_object_get(ep, "endpoint")), name) == 0)
            return ep;
    return NULL;
}

json_t *rb_field(json_t *endpoint, const char *path, bool header)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(endpoint, "fields"), i, f) {
        json_t *k = json_object_get(f, header ? "header" : "path");
        if (json_is_string(k) && strcmp(json_string_value(k), path) == 0)
            return f;
    }
    return NULL;
}

static json_t *dotted(json_t *obj, const char *path)
{
    char key[128];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        if (json_is_array(obj))
            obj = json_array_get(obj, (size_t)atoi(key));
        else
            obj = json_object_get(obj, key);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

long long rb_int(json_t *obj, const char *path)
{
    json_t *v = dotted(obj, path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

const char *rb_str(json_t *obj, const char *path)
{
    const char *s = json_string_value(dotted(obj, path));
    return s ? s : "";
}
