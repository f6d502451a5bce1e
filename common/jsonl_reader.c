#include "jsonl_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"

#define READ_CHUNK (256 * 1024)

struct jsonl_reader {
    char *path;
    gzFile gz;
    struct buf pending;   /* bytes read; pending[start..len) not yet returned */
    size_t start;         /* lines are consumed by moving this, not the bytes */
    size_t scan_from;     /* pending[start..scan_from) holds no newline */
    size_t max_line;
    int eof;
    json_t *value;
    char *line;           /* points into pending; valid until next call */
    size_t line_len;
    size_t consumed;      /* bytes of pending to drop on the next call */
    uint64_t line_number;
    uint64_t line_offset;
    uint64_t next_offset;
};

int jsonl_reader_open(struct jsonl_reader **out, const char *path, size_t max_line,
                      struct error *err)
{
    struct jsonl_reader *r;
    int fd;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return error_set(err, ERR_NOMEM, "out of memory opening '%s'", path);
    }
    r->max_line = max_line ? max_line : JSONL_DEFAULT_MAX_LINE;
    buf_init(&r->pending, r->max_line + READ_CHUNK);
    fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : -1;
    r->gz = fd >= 0 ? gzdopen(fd, "rb") : gzopen(path, "rb");
    if (!r->gz) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        error_errno(err, ERR_INPUT, e ? e : ENOMEM, "cannot open '%s'", path);
        free(r->path);
        free(r);
        return err ? err->code : ERR_INPUT;
    }
    gzbuffer(r->gz, READ_CHUNK);
    *out = r;
    return 0;
}

/* Read more bytes into pending. Returns bytes read, 0 at EOF, <0 on error. */
static int fill(struct jsonl_reader *r, struct error *err)
{
    int rc = buf_reserve(&r->pending, READ_CHUNK);
    int n;

    if (rc)
        return error_set(err, ERR_TOOBIG,
                         "%s:%llu: line is longer than %zu bytes (byte offset %llu); "
                         "is this a JSON Lines file?",
                         r->path, (unsigned long long)r->line_number + 1, r->max_line,
                         (unsigned long long)r->next_offset);
    n = gzread(r->gz, r->pending.data + r->pending.len, READ_CHUNK);
    if (n < 0) {
        int zerr;
        const char *msg = gzerror(r->gz, &zerr);
        return error_set(err, ERR_IO, "%s: read failed at byte %llu: %s", r->path,
                         (unsigned long long)r->next_offset,
                         zerr == Z_ERRNO ? strerror(errno) : msg);
    }
    r->pending.len += (size_t)n;
    r->pending.data[r->pending.len] = '\0';
    return n;
}

int jsonl_reader_next_line(struct jsonl_reader *r, const char **line, size_t *line_len,
                           struct error *err)
{
    json_decref(r->value);
    r->value = NULL;
    for (;;) {
        char *nl;
        size_t len;

        if (r->consumed) {
            r->start += r->consumed;
            r->scan_from = r->start;
            r->consumed = 0;
        }
        nl = r->pending.len > r->scan_from
                 ? memchr(r->pending.data + r->scan_from, '\n', r->pending.len - r->scan_from)
                 : NULL;
        if (!nl && !r->eof) {
            /* Move the unreturned bytes to the front only now, once per
             * read, instead of once per line (quadratic in the chunk). */
            buf_consume(&r->pending, r->start);
            r->start = 0;
            r->scan_from = r->pending.len;
            if (r->pending.len > r->max_line)
                return error_set(err, ERR_TOOBIG,
                                 "%s:%llu: line is longer than %zu bytes (byte offset %llu)",
                                 r->path, (unsigned long long)r->line_number + 1,
                                 r->max_line, (unsigned long long)r->next_offset);
            int n = fill(r, err);
            if (n < 0)
                return n;
            if (n == 0)
                r->eof = 1;
            continue;
        }
        if (!nl && r->pending.len == r->start)
            return 0;
        len = nl ? (size_t)(nl - (r->pending.data + r->start)) : r->pending.len - r->start;
        r->line = r->pending.data + r->start;
        r->line_len = len;
        r->line_number++;
        r->line_offset = r->next_offset;
        r->consumed = nl ? len + 1 : len;
        r->next_offset += r->consumed;
        if (len && r->line[len - 1] == '\r')
            r->line_len = --len;
        /* Skip blank lines (a trailing newline, hand-edited files). */
        size_t i = 0;
        while (i < len && (r->line[i] == ' ' || r->line[i] == '\t'))
            i++;
        if (i == len)
            continue;
        *line = r->line;
        *line_len = len;
        return 1;
    }
}

int jsonl_reader_parse_line(struct jsonl_reader *r, json_t **value, struct error *err)
{
    json_error_t jerr;

    json_decref(r->value);
    r->value = json_loadb(r->line, r->line_len, 0, &jerr);
    if (!r->value)
        return error_set(err, ERR_INPUT, "%s:%llu:%d: invalid JSON (byte offset %llu): %s",
                         r->path, (unsigned long long)r->line_number, jerr.column,
                         (unsigned long long)(r->line_offset + (uint64_t)jerr.position),
                         jerr.text);
    *value = r->value;
    return 1;
}

int jsonl_reader_next(struct jsonl_reader *r, json_t **value, struct error *err)
{
    const char *line;
    size_t len;
    int rc;

    *value = NULL;
    rc = jsonl_reader_next_line(r, &line, &len, err);
    if (rc <= 0)
        return rc;
    return jsonl_reader_parse_line(r, value, err);
}

const char *jsonl_reader_line_text(const struct jsonl_reader *r, size_t *len)
{
    if (len)
        *len = r->line_len;
    return r->line;
}

uint64_t jsonl_reader_line_number(const struct jsonl_reader *r)
{
    return r->line_number;
}

uint64_t jsonl_reader_line_offset(const struct jsonl_reader *r)
{
    return r->line_offset;
}

const char *jsonl_reader_path(const struct jsonl_reader *r)
{
    return r->path;
}

int jsonl_reader_error(const struct jsonl_reader *r, struct error *err, int code,
                       const char *fmt, ...)
{
    char msg[ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return error_set(err, code, "%s:%llu: %s (line starts at byte offset %llu)", r->path,
                     (unsigned long long)r->line_number, msg,
                     (unsigned long long)r->line_offset);
}

void jsonl_reader_close(struct jsonl_reader *r)
{
    if (!r)
        return;
    json_decref(r->value);
    if (r->gz)
        gzclose(r->gz);
    buf_release(&r->pending);
    free(r->path);
    free(r);
}

int jsonl_reader_seek(struct jsonl_reader *r, uint64_t offset, uint64_t line_number,
                      struct error *err)
{
    json_decref(r->value);
    r->value = NULL;
    /* gzseek is a plain lseek on uncompressed files; on compressed ones it
     * decompresses forward (from the start when going back), so callers
     * seek in increasing offset order. */
    if (gzseek(r->gz, (z_off_t)offset, SEEK_SET) < 0) {
        int zerr;
        const char *msg = gzerror(r->gz, &zerr);
        return error_set(err, ERR_IO, "%s: cannot go back to byte offset %llu: %s", r->path,
                         (unsigned long long)offset, zerr == Z_ERRNO ? strerror(errno) : msg);
    }
    buf_reset(&r->pending);
    r->start = r->scan_from = r->consumed = 0;
    r->eof = 0;
    r->line = NULL;
    r->line_len = 0;
    r->line_number = line_number ? line_number - 1 : 0;
    r->line_offset = r->next_offset = offset;
    return 0;
}
