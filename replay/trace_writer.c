#include "trace_writer.h"

#include <stdlib.h>
#include <string.h>

#include "http_json.h"
#include "jsonw.h"
#include "outfile.h"

/* One line may hold a capped body several times over once escaped. */
#define LINE_MAX_BYTES ((size_t)2 << 30)

struct trace_writer {
    struct outfile *file;
    uint64_t count;
};

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
    if (h->split_count)
        rc |= buf_printf(out, ",\"split\":{\"index\":%u,\"count\":%u}", h->split_index,
                         h->split_count);
    rc |= buf_append_char(out, '}');
    return rc ? ERR_TOOBIG : 0;
}

static int write_time(struct buf *out, const char *key, int64_t t)
{
    if (t == TRACE_TIME_NONE)
        return 0;
    return buf_append_str(out, key) | jsonw_int(out, t);
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
    rc |= http_json_write_message(out, &tx->request, true);
    rc |= buf_append_str(out, ",\"response\":");
    if (tx->has_response)
        rc |= http_json_write_message(out, &tx->response, false);
    else
        rc |= buf_append_str(out, "null");
    rc |= buf_append_str(out, ",\"flags\":[");
    for (int bit = 0, first = 1; bit < TX_FLAG_COUNT; bit++) {
        if (!(tx->flags & (1u << bit)))
            continue;
        if (!first)
            rc |= buf_append_char(out, ',');
        first = 0;
        rc |= buf_append_char(out, '"');
        rc |= buf_append_str(out, tx_flag_name((enum tx_flag)bit));
        rc |= buf_append_char(out, '"');
    }
    rc |= buf_append_str(out, "]}");
    return rc ? ERR_TOOBIG : 0;
}

/* Finish the record appended to the buffer: newline, then commit. */
static int end_line(struct trace_writer *w, struct error *err)
{
    if (buf_append_char(outfile_buf(w->file), '\n')) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG, "a trace line is larger than %zu bytes",
                         (size_t)LINE_MAX_BYTES);
    }
    return outfile_commit(w->file, err);
}

/* Create the file; `header` serialises the first line into the buffer. */
static int open_with(struct trace_writer **out, const char *path, const struct trace_header *h,
                     const char *line, size_t len, struct error *err)
{
    struct trace_writer *w;
    int rc;

    *out = NULL;
    w = calloc(1, sizeof *w);
    if (!w)
        return error_set(err, ERR_NOMEM, "out of memory opening trace '%s'", path);
    if ((rc = outfile_open(&w->file, path, LINE_MAX_BYTES, err))) {
        free(w);
        return rc;
    }
    if (h ? trace_header_to_json(outfile_buf(w->file), h)
          : buf_append(outfile_buf(w->file), line, len)) {
        rc = error_set(err, ERR_TOOBIG, "trace header for '%s' is too large", path);
        goto fail;
    }
    if ((rc = end_line(w, err)))
        goto fail;
    *out = w;
    return 0;
fail:
    outfile_discard(w->file);
    free(w);
    return rc;
}

int trace_writer_open(struct trace_writer **out, const char *path,
                      const struct trace_header *header, struct error *err)
{
    return open_with(out, path, header, NULL, 0, err);
}

int trace_writer_open_line(struct trace_writer **out, const char *path, const char *header_line,
                           size_t len, struct error *err)
{
    return open_with(out, path, NULL, header_line, len, err);
}

int trace_writer_write(struct trace_writer *w, const struct trace_tx *tx, struct error *err)
{
    if (trace_tx_to_json(outfile_buf(w->file), tx)) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG,
                         "transaction %llu does not fit in a trace line of at most %zu bytes; "
                         "lower the body size cap",
                         (unsigned long long)tx->id, (size_t)LINE_MAX_BYTES);
    }
    w->count++;
    return end_line(w, err);
}

int trace_writer_write_raw(struct trace_writer *w, const char *line, size_t len,
                           struct error *err)
{
    if (buf_append(outfile_buf(w->file), line, len)) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG, "a trace line is larger than %zu bytes",
                         (size_t)LINE_MAX_BYTES);
    }
    w->count++;
    return end_line(w, err);
}

int trace_writer_write_summary(struct trace_writer *w, const char *object, struct error *err)
{
    int rc = jsonw_typed_object(outfile_buf(w->file), "summary", object);
    if (rc) {
        outfile_rollback(w->file);
        return error_set(err, rc == ERR_INPUT ? ERR_STATE : rc,
                         rc == ERR_INPUT ? "trace summary must be a JSON object"
                                         : "trace summary is too large");
    }
    return end_line(w, err);
}

int trace_writer_flush(struct trace_writer *w, struct error *err)
{
    return outfile_flush(w->file, err);
}

int trace_writer_close(struct trace_writer *w, struct error *err)
{
    int rc;
    if (!w)
        return 0;
    rc = outfile_close(w->file, err);
    free(w);
    return rc;
}

void trace_writer_discard(struct trace_writer *w)
{
    if (!w)
        return;
    outfile_discard(w->file);
    free(w);
}

uint64_t trace_writer_bytes(const struct trace_writer *w)
{
    return outfile_bytes(w->file);
}

uint64_t trace_writer_count(const struct trace_writer *w)
{
    return w->count;
}
