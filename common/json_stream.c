#include "json_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"

#define READ_CHUNK (256 * 1024)

struct json_stream {
    char *path;
    gzFile gz;
    bool eof;
    struct buf win;       /* unread text is win.data[pos..win.len) */
    size_t pos;
    uint64_t base_offset; /* file offset of win.data[0] */
    uint64_t line;        /* line of win.data[pos], 1-based */
    uint64_t col;         /* characters before win.data[pos] on its line */
    size_t max_value;
    json_t *key;
    size_t last_size;
};

static int located(const struct json_stream *s, struct error *err, int code, uint64_t line,
                   uint64_t col, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int located(const struct json_stream *s, struct error *err, int code, uint64_t line,
                   uint64_t col, uint64_t offset, const char *fmt, ...)
{
    char msg[ERROR_MESSAGE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return error_set(err, code, "%s:%llu:%llu: %s (byte offset %llu)", s->path,
                     (unsigned long long)line, (unsigned long long)col, msg,
                     (unsigned long long)offset);
}

/* An error at the cursor. */
#define HERE(s) (s)->line, (s)->col + 1, (s)->base_offset + (s)->pos

void json_stream_position(const struct json_stream *s, struct json_stream_pos *pos)
{
    pos->line = s->line;
    pos->column = s->col + 1;
    pos->offset = s->base_offset + s->pos;
}

const char *json_stream_path(const struct json_stream *s)
{
    return s->path;
}

size_t json_stream_last_size(const struct json_stream *s)
{
    return s->last_size;
}

const char *json_stream_last_text(const struct json_stream *s)
{
    /* the window is compacted only when more is read, so the value's text
     * still lies just before the cursor */
    return s->win.data + s->pos - s->last_size;
}

/* Move the cursor over n bytes, keeping line and column (jansson's way:
 * a column counts characters, not UTF-8 continuation bytes). */
static void advance(struct json_stream *s, size_t n)
{
    const char *p = s->win.data + s->pos, *end = p + n, *nl, *last = NULL;

    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        s->line++;
        last = nl;
        p = nl + 1;
    }
    if (last)
        s->col = 0;
    for (p = last ? last + 1 : s->win.data + s->pos; p < end; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            s->col++;
    s->pos += n;
}

/* Read at least `want` more unread bytes into the window, unless the input
 * ends first.  Consumed text is dropped to make room. */
static int fill(struct json_stream *s, size_t want, struct error *err)
{
    size_t have = s->win.len - s->pos;

    if (s->pos) {
        s->base_offset += s->pos;
        buf_consume(&s->win, s->pos);
        s->pos = 0;
    }
    while (!s->eof && s->win.len - s->pos < have + want) {
        size_t room = s->win.max - s->win.len;
        int n;

        if (room == 0)
            break; /* the caller sees no progress and reports the limit */
        if (room > READ_CHUNK)
            room = READ_CHUNK;
        if (buf_reserve(&s->win, room))
            return error_set(err, ERR_NOMEM, "out of memory reading '%s'", s->path);
        n = gzread(s->gz, s->win.data + s->win.len, (unsigned)room);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(s->gz, &zerr);
            return error_set(err, ERR_IO, "%s: read failed at byte %llu: %s", s->path,
                             (unsigned long long)(s->base_offset + s->win.len),
                             zerr == Z_ERRNO ? strerror(errno) : msg);
        }
        if (n == 0)
            s->eof = true;
        s->win.len += (size_t)n;
        s->win.data[s->win.len] = '\0';
    }
    return 0;
}

int json_stream_open(struct json_stream **out, const char *path, size_t max_value,
                     struct error *err)
{
    struct json_stream *s;
    int fd = -1, rc;

    *out = NULL;
    if (!max_value)
        max_value = JSON_STREAM_DEFAULT_MAX_VALUE;
    if (max_value > JSON_STREAM_MAX_VALUE_LIMIT)
        return error_set(err, ERR_USAGE, "a JSON value limit of %zu bytes is above the %zu "
                         "bytes this reader supports", max_value, JSON_STREAM_MAX_VALUE_LIMIT);
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return error_set(err, ERR_NOMEM, "out of memory opening '%s'", path);
    }
    s->line = 1;
    s->max_value = max_value;
    buf_init(&s->win, max_value + READ_CHUNK);
    if (strcmp(path, "-") == 0) {
        fd = dup(STDIN_FILENO);
        if (fd < 0) {
            rc = error_errno(err, ERR_IO, errno, "cannot read standard input");
            goto fail;
        }
    }
    errno = 0;
    s->gz = fd >= 0 ? gzdopen(fd, "rb") : gzopen(path, "rb");
    if (!s->gz) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        rc = error_errno(err, e == ENOENT ? ERR_INPUT : ERR_IO, e ? e : ENOMEM,
                         "cannot open '%s'", path);
        goto fail;
    }
    gzbuffer(s->gz, READ_CHUNK);
    if ((rc = fill(s, 3, err)))
        goto fail;
    if (s->win.len >= 3 && memcmp(s->win.data, "\xEF\xBB\xBF", 3) == 0)
        s->pos = 3; /* a UTF-8 byte order mark, as some Windows tools write */
    *out = s;
    return 0;
fail:
    json_stream_close(s);
    return rc;
}

void json_stream_close(struct json_stream *s)
{
    if (!s)
        return;
    if (s->gz)
        gzclose(s->gz);
    json_decref(s->key);
    buf_release(&s->win);
    free(s->path);
    free(s);
}

int json_stream_peek(struct json_stream *s, int *c, struct error *err)
{
    int rc;

    for (;;) {
        while (s->pos < s->win.len) {
            char ch = s->win.data[s->pos];
            if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
                *c = (unsigned char)ch;
                return 0;
            }
            advance(s, 1);
        }
        if (s->eof) {
            *c = -1;
            return 0;
        }
        if ((rc = fill(s, 1, err)))
            return rc;
    }
}

/* What a value starting with c is, for "expected X, found Y". */
static const char *describe(int c, char *tmp, size_t size)
{
    switch (c) {
    case -1: return "the end of the file (is it truncated?)";
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9': return "a number";
    }
    if (c >= 0x20 && c < 0x7f)
        snprintf(tmp, size, "'%c'", c);
    else
        snprintf(tmp, size, "byte 0x%02x", (unsigned)c);
    return tmp;
}

int json_stream_enter(struct json_stream *s, char open, const char *what, struct error *err)
{
    char tmp[16];
    int c, rc;

    if ((rc = json_stream_peek(s, &c, err)))
        return rc;
    if (c != open)
        return located(s, err, ERR_INPUT, HERE(s), "%s: expected %s, found %s", what,
                       open == '{' ? "an object" : "an array", describe(c, tmp, sizeof tmp));
    advance(s, 1);
    return 0;
}

int json_stream_next(struct json_stream *s, char close, bool *first, const char *what,
                     struct error *err)
{
    char tmp[16];
    int c, rc;

    if ((rc = json_stream_peek(s, &c, err)))
        return rc;
    if (c == close) {
        advance(s, 1);
        return 0;
    }
    if (!*first) {
        if (c != ',')
            return located(s, err, ERR_INPUT, HERE(s), "%s: expected ',' or '%c', found %s",
                           what, close, describe(c, tmp, sizeof tmp));
        advance(s, 1);
        if ((rc = json_stream_peek(s, &c, err)))
            return rc;
        if (c == close || c == -1)
            return located(s, err, ERR_INPUT, HERE(s), "%s: expected a value after ',', "
                           "found %s", what, describe(c, tmp, sizeof tmp));
    }
    *first = false;
    return 1;
}

int json_stream_value(struct json_stream *s, json_t **value, struct error *err)
{
    json_error_t jerr;
    int c, rc;

    *value = NULL;
    if ((rc = json_stream_peek(s, &c, err)))
        return rc;
    if (c == -1)
        return located(s, err, ERR_EOF, HERE(s), "expected a value, found the end of the "
                       "file (is it truncated?)");
    for (;;) {
        size_t avail = s->win.len - s->pos;
        json_t *v = json_loadb(s->win.data + s->pos, avail,
                               JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &jerr);
        size_t used = jerr.position < 0 ? 0 : (size_t)jerr.position;

        /* A value that runs to the end of the window may continue past it
         * (a number cut in two parses fine): trust it only with a byte to
         * spare or at the end of the input.  Likewise an error near the end
         * of the window may only mean the value is not all here yet. */
        if (v && used > s->max_value) {
            json_decref(v);
            return located(s, err, ERR_TOOBIG, HERE(s),
                           "a JSON value starting here is larger than the limit of %zu bytes "
                           "(%zu bytes)", s->max_value, used);
        }
        if (v && (used < avail || s->eof)) {
            s->last_size = used;
            advance(s, used);
            *value = v;
            return 0;
        }
        json_decref(v);
        if (!v && (s->eof || used + 4 < avail)) {
            uint64_t line = s->line, col = (uint64_t)(jerr.column < 0 ? 0 : jerr.column);
            if (jerr.line > 1)
                line += (uint64_t)jerr.line - 1;
            else
                col += s->col;
            return located(s, err, s->eof && used >= avail ? ERR_EOF : ERR_INPUT, line, col,
                           s->base_offset + s->pos + used, "invalid JSON: %s", jerr.text);
        }
        if (avail >= s->max_value)
            return located(s, err, ERR_TOOBIG, HERE(s),
                           "a JSON value starting here is larger than the limit of %zu bytes",
                           s->max_value);
        /* Double what is buffered, so re-parsing stays linear overall. */
        if ((rc = fill(s, avail > READ_CHUNK ? avail : READ_CHUNK, err)))
            return rc;
    }
}

int json_stream_key(struct json_stream *s, const char **key, struct error *err)
{
    struct json_stream_pos at;
    json_t *v;
    int c, rc;

    json_stream_position(s, &at);
    if ((rc = json_stream_value(s, &v, err)))
        return rc;
    if (!json_is_string(v)) {
        json_decref(v);
        return located(s, err, ERR_INPUT, at.line, at.column, at.offset,
                       "expected an object member name (a string)");
    }
    json_decref(s->key);
    s->key = v;
    if ((rc = json_stream_peek(s, &c, err)))
        return rc;
    if (c != ':') {
        char tmp[16];
        return located(s, err, ERR_INPUT, HERE(s), "expected ':' after \"%s\", found %s",
                       json_string_value(v), describe(c, tmp, sizeof tmp));
    }
    advance(s, 1);
    *key = json_string_value(v);
    return 0;
}

int json_stream_end(struct json_stream *s, struct error *err)
{
    char tmp[16];
    int c, rc;

    if ((rc = json_stream_peek(s, &c, err)))
        return rc;
    if (c != -1) {
        if (c >= 0x20 && c < 0x7f)
            snprintf(tmp, sizeof tmp, "'%c'", c);
        else
            snprintf(tmp, sizeof tmp, "byte 0x%02x", (unsigned)c);
        return located(s, err, ERR_INPUT, HERE(s), "found %s after the end of the JSON "
                       "document; the file should end there", tmp);
    }
    return 0;
}
