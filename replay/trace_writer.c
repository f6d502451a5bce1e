#include "trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base64.h"
#include "jsonw.h"
#include "utf8.h"

/* Lines are assembled here and written in large blocks. */
#define WRITE_BLOCK (256 * 1024)
/* One line may hold a capped body several times over once escaped. */
#define LINE_MAX_BYTES ((size_t)2 << 30)

struct trace_writer {
    char *path;         /* final name; NULL for stdout */
    char *partial_path; /* where bytes go until close */
    int fd;
    gzFile gz;          /* non-NULL when compressing */
    struct buf out;
    uint64_t bytes;
    uint64_t count;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int write_all(struct trace_writer *w, const char *data, size_t len,
                     struct error *err)
{
    const char *name = w->partial_path ? w->partial_path : "standard output";

    if (w->gz) {
        while (len) {
            unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
            int n = gzwrite(w->gz, data, chunk);
            if (n <= 0) {
                int zerr;
                const char *msg = gzerror(w->gz, &zerr);
                return error_set(err, ERR_IO, "cannot write '%s': %s", name,
                                 zerr == Z_ERRNO ? strerror(errno) : msg);
            }
            data += n;
            len -= (size_t)n;
        }
        return 0;
    }
    while (len) {
        ssize_t n = write(w->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return error_errno(err, ERR_IO, errno, "cannot write '%s'", name);
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int trace_writer_flush(struct trace_writer *w, struct error *err)
{
    int rc;
    if (!w->out.len)
        return 0;
    rc = write_all(w, w->out.data, w->out.len, err);
    buf_reset(&w->out);
    return rc;
}

/* Finish a line that was appended to w->out. */
static int end_line(struct trace_writer *w, size_t line_start, struct error *err)
{
    int rc = buf_append_char(&w->out, '\n');
    if (rc)
        return error_set(err, rc, "a trace line is larger than %zu bytes", (size_t)LINE_MAX_BYTES);
    w->bytes += w->out.len - line_start;
    if (w->out.len >= WRITE_BLOCK)
        return trace_writer_flush(w, err);
    return 0;
}

int trace_header_to_json(struct buf *out, const struct trace_header *h)
{
    int rc = 0;
    rc |= buf_printf(out, "{\"format\":\"%s\",\"version\":%d,\"source\":{\"kind\":",
                     TRACE_FORMAT_NAME, TRACE_FORMAT_VERSION);
    rc |= jsonw_cstring(out, h->source_kind[0] ? h->source_kind : "file", 0);
    rc |= buf_append_str(out, ",\"name\":");
    rc |= jsonw_cstring(out, h->source, 0);
    if (h->linktype[0]) {
        rc |= buf_append_str(out, ",\"linktype\":");
        rc |= jsonw_cstring(out, h->linktype, 0);
    }
    rc |= buf_append_str(out, "},\"capture_start_us\":");
    rc |= h->capture_start_us == TRACE_TIME_NONE ? buf_append_str(out, "null")
                                                 : jsonw_int(out, h->capture_start_us);
    rc |= buf_append_str(out, ",\"created_by\":");
    rc |= jsonw_cstring(out, h->created_by[0] ? h->created_by : "rehearse", 0);
    rc |= buf_append_char(out, '}');
    return rc ? ERR_TOOBIG : 0;
}

int trace_writer_open(struct trace_writer **out, const char *path,
                      const struct trace_header *header, struct error *err)
{
    struct trace_writer *w;
    int rc;

    *out = NULL;
    w = calloc(1, sizeof *w);
    if (!w)
        return error_set(err, ERR_NOMEM, "out of memory opening trace '%s'", path);
    w->fd = -1;
    buf_init(&w->out, LINE_MAX_BYTES + WRITE_BLOCK);

    if (strcmp(path, "-") == 0) {
        w->fd = STDOUT_FILENO;
    } else {
        w->path = strdup(path);
        w->partial_path = malloc(strlen(path) + sizeof ".partial");
        if (!w->path || !w->partial_path) {
            rc = error_set(err, ERR_NOMEM, "out of memory opening trace '%s'", path);
            goto fail;
        }
        sprintf(w->partial_path, "%s.partial", path);
        w->fd = open(w->partial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (w->fd < 0) {
            rc = error_errno(err, ERR_IO, errno,
                             "cannot create trace '%s' (check that the directory exists and is writable)",
                             w->partial_path);
            goto fail;
        }
        if (ends_with(path, ".gz")) {
            w->gz = gzdopen(w->fd, "wb6");
            if (!w->gz) {
                rc = error_set(err, ERR_NOMEM, "cannot start gzip output for '%s'", path);
                goto fail;
            }
            w->fd = -1; /* owned by gz now */
        }
    }

    size_t start = w->out.len;
    if (trace_header_to_json(&w->out, header)) {
        rc = error_set(err, ERR_TOOBIG, "trace header for '%s' is too large", path);
        goto fail;
    }
    if ((rc = end_line(w, start, err)) != 0)
        goto fail;
    *out = w;
    return 0;

fail:
    if (w->gz)
        gzclose(w->gz);
    if (w->fd > STDOUT_FILENO)
        close(w->fd);
    if (w->partial_path)
        unlink(w->partial_path);
    free(w->path);
    free(w->partial_path);
    buf_release(&w->out);
    free(w);
    return rc;
}

/* Bytes that JSON text cannot carry losslessly go to base64. NUL is legal
 * JSON (\u0000) but many readers reject it, so it counts as binary. */
static int is_text(const void *data, size_t len)
{
    return utf8_valid(data, len) && memchr(data, '\0', len) == NULL;
}

static int write_headers(struct buf *out, const struct http_header *h, size_t n)
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
    return rc;
}

static int write_message(struct buf *out, const struct http_message *m, int is_request)
{
    int rc = 0;
    if (is_request) {
        rc |= buf_append_str(out, "{\"method\":");
        rc |= jsonw_cstring(out, m->method ? m->method : "", 0);
        rc |= buf_append_str(out, ",\"target\":");
        rc |= jsonw_cstring(out, m->target ? m->target : "", 0);
    } else {
        rc |= buf_printf(out, "{\"status\":%d,\"reason\":", m->status);
        rc |= jsonw_cstring(out, m->reason ? m->reason : "", 0);
    }
    rc |= buf_printf(out, ",\"version\":\"HTTP/%u.%u\",\"headers\":", m->version_major,
                     m->version_minor);
    rc |= write_headers(out, m->headers, m->header_count);
    if (m->trailer_count) {
        rc |= buf_append_str(out, ",\"trailers\":");
        rc |= write_headers(out, m->trailers, m->trailer_count);
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
    rc |= buf_append_char(out, '}');
    return rc;
}

static int write_time(struct buf *out, const char *key, int64_t t)
{
    int rc;
    if (t == TRACE_TIME_NONE)
        return 0;
    rc = buf_append_str(out, key);
    return rc | jsonw_int(out, t);
}

int trace_tx_to_json(struct buf *out, const struct trace_tx *tx)
{
    int rc = 0;
    rc |= buf_append_str(out, "{\"type\":\"tx\",\"id\":");
    rc |= jsonw_uint(out, tx->id);
    rc |= buf_append_str(out, ",\"conn\":");
    rc |= jsonw_uint(out, tx->conn);
    rc |= buf_append_str(out, ",\"client\":");
    rc |= jsonw_cstring(out, tx->client, 0);
    rc |= buf_append_str(out, ",\"server\":");
    rc |= jsonw_cstring(out, tx->server, 0);
    rc |= write_time(out, ",\"req_start_us\":", tx->req_start_us);
    rc |= write_time(out, ",\"req_end_us\":", tx->req_end_us);
    rc |= write_time(out, ",\"resp_start_us\":", tx->resp_start_us);
    rc |= write_time(out, ",\"resp_end_us\":", tx->resp_end_us);
    rc |= buf_append_str(out, ",\"request\":");
    rc |= write_message(out, &tx->request, 1);
    rc |= buf_append_str(out, ",\"response\":");
    if (tx->has_response)
        rc |= write_message(out, &tx->response, 0);
    else
        rc |= buf_append_str(out, "null");
    rc |= buf_append_str(out, ",\"flags\":[");
    for (int bit = 0, first = 1; bit < TX_FLAG_COUNT; bit++) {
        if (!(tx->flags & (1u << bit)))
            continue;
        if (!first)
            rc |= buf_append_char(out, ',');
        first = 0;
        rc |= buf_printf(out, "\"%s\"", tx_flag_name((enum tx_flag)bit));
    }
    rc |= buf_append_str(out, "]}");
    /* Every failure of the helpers above is "would exceed the buffer limit"
     * or "out of memory"; report the first as the more likely. */
    return rc ? ERR_TOOBIG : 0;
}

int trace_writer_write(struct trace_writer *w, const struct trace_tx *tx, struct error *err)
{
    size_t start = w->out.len;
    if (trace_tx_to_json(&w->out, tx)) {
        w->out.len = start;
        return error_set(err, ERR_TOOBIG,
                         "transaction %llu does not fit in a trace line of at most %zu bytes; "
                         "lower the body size cap",
                         (unsigned long long)tx->id, (size_t)LINE_MAX_BYTES);
    }
    w->count++;
    return end_line(w, start, err);
}

int trace_writer_write_raw(struct trace_writer *w, const char *line, size_t len,
                           struct error *err)
{
    size_t start = w->out.len;
    int rc = buf_append(&w->out, line, len);
    if (rc)
        return error_set(err, rc, "a trace line is larger than %zu bytes", (size_t)LINE_MAX_BYTES);
    w->count++;
    return end_line(w, start, err);
}

int trace_writer_write_summary(struct trace_writer *w, const char *object, struct error *err)
{
    size_t start = w->out.len;
    const char *rest;
    int rc;

    while (*object == ' ')
        object++;
    if (*object != '{')
        return error_set(err, ERR_STATE, "trace summary must be a JSON object");
    rest = object + 1;
    while (*rest == ' ')
        rest++;
    rc = buf_append_str(&w->out, "{\"type\":\"summary\"");
    if (!rc && *rest != '}')
        rc = buf_append_char(&w->out, ',');
    if (!rc)
        rc = buf_append_str(&w->out, rest);
    if (rc)
        return error_set(err, rc, "trace summary is too large");
    return end_line(w, start, err);
}

int trace_writer_close(struct trace_writer *w, struct error *err)
{
    int rc;

    if (!w)
        return 0;
    rc = trace_writer_flush(w, err);
    if (w->gz) {
        int zrc = gzclose(w->gz);
        if (!rc && zrc != Z_OK)
            rc = error_set(err, ERR_IO, "cannot finish gzip stream of '%s'", w->partial_path);
    } else if (w->fd > STDOUT_FILENO) {
        if (!rc && fsync(w->fd) != 0 && errno != EINVAL)
            rc = error_errno(err, ERR_IO, errno, "cannot sync '%s'", w->partial_path);
        if (close(w->fd) != 0 && !rc)
            rc = error_errno(err, ERR_IO, errno, "cannot close '%s'", w->partial_path);
    }
    if (!rc && w->path && rename(w->partial_path, w->path) != 0)
        rc = error_errno(err, ERR_IO, errno, "cannot rename '%s' to '%s'", w->partial_path,
                         w->path);
    if (rc && w->partial_path)
        error_prefix(err, "trace left incomplete in '%s'", w->partial_path);
    free(w->path);
    free(w->partial_path);
    buf_release(&w->out);
    free(w);
    return rc;
}

uint64_t trace_writer_bytes(const struct trace_writer *w)
{
    return w->bytes;
}

uint64_t trace_writer_count(const struct trace_writer *w)
{
    return w->count;
}
