#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_json.h"
#include "jsonl_reader.h"
#include "jsonw.h"
#include "outfile.h"
#include "sha256.h"
#include "version.h"

#define LINE_MAX_BYTES ((size_t)2 << 30)

static const char *const error_names[RESULT_ERROR_COUNT] = {
#define RESULT_ERROR_NAME(name, text, description) text,
    RESULT_ERROR_MAP(RESULT_ERROR_NAME)
#undef RESULT_ERROR_NAME
};

static const char *const error_descriptions[RESULT_ERROR_COUNT] = {
#define RESULT_ERROR_DESCRIPTION(name, text, description) description,
    RESULT_ERROR_MAP(RESULT_ERROR_DESCRIPTION)
#undef RESULT_ERROR_DESCRIPTION
};

static const char *const class_names[RESULTS_STATUS_CLASSES] = {"1xx", "2xx", "3xx",
                                                                "4xx", "5xx", "other"};

unsigned results_status_class(int status)
{
    return status >= 100 && status <= 599 ? (unsigned)(status / 100 - 1) : 5;
}

const char *results_status_class_name(unsigned index)
{
    return index < RESULTS_STATUS_CLASSES ? class_names[index] : "other";
}

const char *result_error_name(enum result_error e)
{
    return (unsigned)e < RESULT_ERROR_COUNT ? error_names[e] : "other";
}

const char *result_error_description(enum result_error e)
{
    return (unsigned)e < RESULT_ERROR_COUNT ? error_descriptions[e] : "unknown error";
}

enum result_error result_error_lookup(const char *name)
{
    for (int i = 0; i < RESULT_ERROR_COUNT; i++)
        if (strcmp(error_names[i], name) == 0)
            return (enum result_error)i;
    return RESULT_ERROR_OTHER;
}

/* ---------------------------------------------------------------- writer */

struct results_writer {
    struct outfile *file;
    size_t target_count;
    char names[RESULTS_MAX_TARGETS][64];
    uint64_t count;
};

static int end_line(struct results_writer *w, struct error *err)
{
    if (buf_append_char(outfile_buf(w->file), '\n')) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG, "a results line is larger than %zu bytes",
                         (size_t)LINE_MAX_BYTES);
    }
    return outfile_commit(w->file, err);
}

static int write_header(struct buf *out, const struct results_header *h)
{
    int rc = 0;
    rc |= buf_printf(out, "{\"format\":\"%s\",\"version\":%d,\"trace\":", RESULTS_FORMAT_NAME,
                     RESULTS_FORMAT_VERSION);
    rc |= jsonw_cstring(out, h->trace, 0);
    rc |= buf_append_str(out, ",\"started_us\":");
    rc |= jsonw_int(out, h->started_us);
    rc |= buf_append_str(out, ",\"created_by\":");
    rc |= jsonw_cstring(out, h->created_by[0] ? h->created_by : "rehearse " REHEARSE_VERSION, 0);
    rc |= buf_append_str(out, ",\"targets\":[");
    for (size_t i = 0; i < h->target_count; i++) {
        rc |= buf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
        rc |= jsonw_cstring(out, h->targets[i].name, 0);
        rc |= buf_append_str(out, ",\"url\":");
        rc |= jsonw_cstring(out, h->targets[i].url, 0);
        rc |= buf_append_char(out, '}');
    }
    rc |= buf_append_str(out, "],\"options\":");
    rc |= buf_append_str(out, h->options_json && *h->options_json ? h->options_json : "{}");
    if (h->trace_header_json && *h->trace_header_json)
        rc |= buf_append_str(out, ",\"trace_header\":") | buf_append_str(out, h->trace_header_json);
    rc |= buf_append_char(out, '}');
    return rc ? ERR_TOOBIG : 0;
}

int results_writer_open(struct results_writer **out, const char *path,
                        const struct results_header *header, struct error *err)
{
    struct results_writer *w;
    int rc;

    *out = NULL;
    if (header->target_count == 0 || header->target_count > RESULTS_MAX_TARGETS)
        return error_set(err, ERR_USAGE, "a replay needs between 1 and %d targets",
                         RESULTS_MAX_TARGETS);
    w = calloc(1, sizeof *w);
    if (!w)
        return error_set(err, ERR_NOMEM, "out of memory opening results '%s'", path);
    w->target_count = header->target_count;
    for (size_t i = 0; i < header->target_count; i++)
        snprintf(w->names[i], sizeof w->names[i], "%s", header->targets[i].name);
    if ((rc = outfile_open(&w->file, path, LINE_MAX_BYTES, err))) {
        free(w);
        return rc;
    }
    if (write_header(outfile_buf(w->file), header)) {
        rc = error_set(err, ERR_TOOBIG, "results header for '%s' is too large", path);
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

static int write_time(struct buf *out, const char *key, int64_t t)
{
    if (t == RESULTS_TIME_NONE)
        return 0;
    return buf_append_str(out, key) | jsonw_int(out, t);
}

static int write_target(struct buf *out, const struct result_target *t)
{
    int rc = buf_append_char(out, '{');
    bool need_comma = false;

    if (t->has_response) {
        rc |= http_json_write_fields(out, &t->response, false);
        need_comma = true;
        if (t->body_omitted)
            rc |= buf_append_str(out, ",\"body_omitted\":true");
        if (t->body_sha256[0]) {
            rc |= buf_append_str(out, ",\"body_sha256\":");
            rc |= jsonw_cstring(out, t->body_sha256, 0);
        }
    }
    rc |= buf_append_str(out, need_comma ? ",\"scheduled_us\":" : "\"scheduled_us\":");
    rc |= jsonw_int(out, t->scheduled_us);
    rc |= write_time(out, ",\"sent_us\":", t->sent_us);
    rc |= write_time(out, ",\"connect_us\":", t->connect_us);
    rc |= write_time(out, ",\"first_byte_us\":", t->first_byte_us);
    rc |= write_time(out, ",\"total_us\":", t->total_us);
    if (t->error != RESULT_ERROR_NONE) {
        rc |= buf_append_str(out, ",\"error\":{\"kind\":");
        rc |= jsonw_cstring(out, result_error_name(t->error), 0);
        rc |= buf_printf(out, ",\"curl_code\":%d,\"message\":", t->curl_code);
        rc |= jsonw_cstring(out, t->error_message ? t->error_message : "", 0);
        rc |= buf_append_char(out, '}');
    }
    rc |= buf_append_char(out, '}');
    return rc;
}

/* The record as one JSON object (no newline); target names from `names`. */
static int record_to_json(struct buf *out, const char (*names)[64], size_t name_count,
                          const struct result_record *rec)
{
    int rc = 0;

    if (rec->target_count != name_count)
        return ERR_STATE;
    rc |= buf_append_str(out, "{\"type\":\"result\",\"tx\":");
    rc |= jsonw_uint(out, rec->tx);
    rc |= buf_append_str(out, ",\"conn\":");
    rc |= jsonw_uint(out, rec->conn);
    rc |= buf_append_str(out, ",\"request\":{\"method\":");
    rc |= jsonw_cstring(out, rec->method ? rec->method : "", 0);
    rc |= buf_append_str(out, ",\"target\":");
    rc |= jsonw_cstring(out, rec->target ? rec->target : "", 0);
    if (rec->host) {
        rc |= buf_append_str(out, ",\"host\":");
        rc |= jsonw_cstring(out, rec->host, 0);
    }
    rc |= buf_append_str(out, "},\"captured\":");
    if (rec->has_captured)
        rc |= http_json_write_message(out, &rec->captured, false);
    else
        rc |= buf_append_str(out, "null");
    if (rec->captured_flags) {
        rc |= buf_append_str(out, ",\"captured_flags\":[");
        for (int bit = 0, first = 1; bit < TX_FLAG_COUNT; bit++) {
            if (!(rec->captured_flags & (1u << bit)))
                continue;
            rc |= buf_printf(out, first ? "\"%s\"" : ",\"%s\"", tx_flag_name((enum tx_flag)bit));
            first = 0;
        }
        rc |= buf_append_char(out, ']');
    }
    rc |= buf_append_str(out, ",\"targets\":{");
    for (size_t i = 0; i < rec->target_count; i++) {
        if (i)
            rc |= buf_append_char(out, ',');
        rc |= jsonw_cstring(out, names[i], 0);
        rc |= buf_append_char(out, ':');
        rc |= write_target(out, &rec->targets[i]);
    }
    rc |= buf_append_str(out, "}}");
    return rc ? ERR_TOOBIG : 0;
}

int results_record_to_json(struct buf *out, const struct results_header *h,
                           const struct result_record *rec)
{
    char names[RESULTS_MAX_TARGETS][64];
    if (h->target_count > RESULTS_MAX_TARGETS)
        return ERR_STATE;
    for (size_t i = 0; i < h->target_count; i++)
        snprintf(names[i], sizeof names[i], "%s", h->targets[i].name);
    return record_to_json(out, (const char (*)[64])names, h->target_count, rec);
}

int results_writer_write(struct results_writer *w, const struct result_record *rec,
                         struct error *err)
{
    int rc;

    if (rec->target_count != w->target_count)
        return error_set(err, ERR_STATE, "result for transaction %llu has %zu targets, not %zu",
                         (unsigned long long)rec->tx, rec->target_count, w->target_count);
    rc = record_to_json(outfile_buf(w->file), (const char (*)[64])w->names, w->target_count,
                        rec);
    if (rc) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG,
                         "result for transaction %llu does not fit in %zu bytes; lower the "
                         "inline body cap",
                         (unsigned long long)rec->tx, (size_t)LINE_MAX_BYTES);
    }
    w->count++;
    return end_line(w, err);
}

int results_writer_write_line(struct results_writer *w, const char *line, size_t len,
                              struct error *err)
{
    if (buf_append(outfile_buf(w->file), line, len)) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG, "a results line is larger than %zu bytes",
                         (size_t)LINE_MAX_BYTES);
    }
    w->count++;
    return end_line(w, err);
}

int results_writer_write_summary(struct results_writer *w, const char *object,
                                 struct error *err)
{
    int rc = jsonw_typed_object(outfile_buf(w->file), "summary", object);
    if (rc) {
        outfile_rollback(w->file);
        return error_set(err, rc == ERR_INPUT ? ERR_STATE : rc,
                         rc == ERR_INPUT ? "results summary must be a JSON object"
                                         : "results summary is too large");
    }
    return end_line(w, err);
}

int results_writer_flush(struct results_writer *w, struct error *err)
{
    return outfile_flush(w->file, err);
}

int results_writer_close(struct results_writer *w, struct error *err)
{
    int rc;
    if (!w)
        return 0;
    rc = outfile_close(w->file, err);
    free(w);
    return rc;
}

int results_writer_write_lines(struct results_writer *w, const char *lines, size_t len,
                               uint64_t count, struct error *err)
{
    if (buf_append(outfile_buf(w->file), lines, len)) {
        outfile_rollback(w->file);
        return error_set(err, ERR_TOOBIG, "a block of results is larger than %zu bytes",
                         (size_t)LINE_MAX_BYTES);
    }
    w->count += count;
    return outfile_commit(w->file, err);
}

void results_writer_discard(struct results_writer *w)
{
    if (!w)
        return;
    outfile_discard(w->file);
    free(w);
}

uint64_t results_writer_count(const struct results_writer *w)
{
    return w->count;
}

/* ---------------------------------------------------------------- reader */

struct results_reader {
    struct jsonl_reader *lines;
    struct results_header header;
    json_t *header_value; /* owns the options object */
    struct result_record rec;
    struct result_target targets[RESULTS_MAX_TARGETS];
    struct arena arena;
    json_t *summary;
};

/* Semantic error in the current line: prefix file and line. */
static int line_error(struct results_reader *r, struct error *err, int code, const char *msg)
{
    return jsonl_reader_error(r->lines, err, code, "%s", msg);
}

/* The first 16 hex digits of SHA-256 over the object's canonical text
 * (keys sorted, compact), without member `drop`; "" for a non-object. */
static void digest_of(json_t *obj, const char *drop, char out[17])
{
    json_t *copy = json_is_object(obj) ? json_copy(obj) : NULL;
    unsigned char d[SHA256_LEN];
    char *text;

    out[0] = '\0';
    if (!copy)
        return;
    if (drop)
        json_object_del(copy, drop);
    text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    if (text && sha256_digest(text, strlen(text), d))
        for (int i = 0; i < 8; i++)
            snprintf(out + 2 * i, 3, "%02x", d[i]);
    free(text);
    json_decref(copy);
}

/* "I/N" with 0 <= I < N, as --shard records it. */
static bool parse_shard(const char *text, uint32_t *index, uint32_t *count)
{
    char *end;
    unsigned long long i, n;

    if (*text < '0' || *text > '9')
        return false;
    i = strtoull(text, &end, 10);
    if (*end != '/' || end[1] < '0' || end[1] > '9')
        return false;
    n = strtoull(end + 1, &end, 10);
    if (*end || n < 1 || n > UINT32_MAX || i >= n)
        return false;
    *index = (uint32_t)i;
    *count = (uint32_t)n;
    return true;
}

static int read_header_line(struct results_reader *r, json_t *obj, struct error *err)
{
    const char *path = jsonl_reader_path(r->lines);
    struct results_header *h = &r->header;
    json_t *format = json_object_get(obj, "format");
    json_t *version = json_object_get(obj, "version");
    json_t *targets = json_object_get(obj, "targets");
    json_t *v, *t;
    size_t i;

    if (!json_is_string(format) || strcmp(json_string_value(format), RESULTS_FORMAT_NAME) != 0)
        return error_set(err, ERR_INPUT,
                         "%s:1: not a rehearse results file: the first line must be a header "
                         "with \"format\":\"%s\" (made by 'rehearse replay')",
                         path, RESULTS_FORMAT_NAME);
    if (!json_is_integer(version) || json_integer_value(version) < 1)
        return error_set(err, ERR_INPUT, "%s:1: header \"version\" must be a positive integer",
                         path);
    if (json_integer_value(version) > RESULTS_FORMAT_VERSION)
        return error_set(err, ERR_UNSUPPORTED,
                         "%s:1: results format version %lld is newer than this rehearse "
                         "understands (%d); upgrade rehearse",
                         path, (long long)json_integer_value(version), RESULTS_FORMAT_VERSION);
    h->version = (int)json_integer_value(version);
    if (!json_is_array(targets) || json_array_size(targets) == 0 ||
        json_array_size(targets) > RESULTS_MAX_TARGETS)
        return error_set(err, ERR_INPUT,
                         "%s:1: header \"targets\": expected an array of 1 to %d "
                         "{\"name\",\"url\"} objects",
                         path, RESULTS_MAX_TARGETS);
    json_array_foreach(targets, i, t) {
        json_t *name = json_object_get(t, "name"), *url = json_object_get(t, "url");
        if (!json_is_string(name) || json_string_length(name) == 0 ||
            json_string_length(name) >= sizeof h->targets[i].name)
            return error_set(err, ERR_INPUT, "%s:1: targets[%zu].name: expected a short name",
                             path, i);
        snprintf(h->targets[i].name, sizeof h->targets[i].name, "%s", json_string_value(name));
        snprintf(h->targets[i].url, sizeof h->targets[i].url, "%s",
                 json_is_string(url) ? json_string_value(url) : "");
    }
    h->target_count = json_array_size(targets);
    if ((v = json_object_get(obj, "trace")) && json_is_string(v))
        snprintf(h->trace, sizeof h->trace, "%s", json_string_value(v));
    v = json_object_get(obj, "started_us");
    h->started_us = json_is_integer(v) ? json_integer_value(v) : RESULTS_TIME_NONE;
    if ((v = json_object_get(obj, "created_by")) && json_is_string(v))
        snprintf(h->created_by, sizeof h->created_by, "%s", json_string_value(v));
    v = json_object_get(json_object_get(obj, "options"), "shard");
    if (v && (!json_is_string(v) ||
              !parse_shard(json_string_value(v), &h->shard_index, &h->shard_count)))
        return error_set(err, ERR_INPUT,
                         "%s:1: header \"options\".\"shard\": expected \"I/N\" with 0 <= I < N, "
                         "as 'rehearse replay --shard' records it",
                         path);
    digest_of(json_object_get(obj, "trace_header"), NULL, h->trace_id);
    digest_of(json_object_get(obj, "options"), "shard", h->options_id);
    r->header_value = json_incref(obj);
    return 0;
}

int results_reader_open(struct results_reader **out, const char *path, size_t max_line,
                        struct error *err)
{
    struct results_reader *r;
    json_t *first;
    int rc;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, ERR_NOMEM, "out of memory opening results '%s'", path);
    arena_init(&r->arena, 0);
    if ((rc = jsonl_reader_open(&r->lines, path, max_line, err)))
        goto fail;
    rc = jsonl_reader_next(r->lines, &first, err);
    if (rc == 0)
        rc = error_set(err, ERR_INPUT, "%s: empty file; expected rehearse results", path);
    if (rc < 0)
        goto fail;
    if (!json_is_object(first)) {
        rc = error_set(err, ERR_INPUT, "%s:1: expected the results header object, found %s",
                       path, http_json_type_name(first));
        goto fail;
    }
    if ((rc = read_header_line(r, first, err)))
        goto fail;
    *out = r;
    return 0;
fail:
    results_reader_close(r);
    return rc;
}

const struct results_header *results_reader_header(const struct results_reader *r)
{
    return &r->header;
}

json_t *results_reader_options(const struct results_reader *r)
{
    json_t *o = json_object_get(r->header_value, "options");
    return json_is_object(o) ? o : NULL;
}

json_t *results_reader_trace_header(const struct results_reader *r)
{
    json_t *o = json_object_get(r->header_value, "trace_header");
    return json_is_object(o) ? o : NULL;
}

/* The first option whose value differs between two headers' "options"
 * (but "shard"), for a message; "" when none is found. */
static void differing_option(const char *a_path, const char *b_path, char *out, size_t size)
{
    struct results_reader *a = NULL, *b = NULL;
    struct error ignored;
    json_t *oa, *ob, *v;
    const char *key;

    snprintf(out, size, "%s", "");
    if (results_reader_open(&a, a_path, 0, &ignored) == 0 &&
        results_reader_open(&b, b_path, 0, &ignored) == 0) {
        oa = results_reader_options(a);
        ob = results_reader_options(b);
        json_object_foreach(oa, key, v) {
            if (strcmp(key, "shard") != 0 && !json_equal(v, json_object_get(ob, key))) {
                snprintf(out, size, " (\"%s\" first)", key);
                break;
            }
        }
        if (!out[0])
            json_object_foreach(ob, key, v) {
                if (strcmp(key, "shard") != 0 && !json_object_get(oa, key)) {
                    snprintf(out, size, " (\"%s\" first)", key);
                    break;
                }
            }
    }
    results_reader_close(a);
    results_reader_close(b);
}

static bool same_targets(const struct results_header *a, const struct results_header *b,
                         bool urls)
{
    if (a->target_count != b->target_count)
        return false;
    for (size_t t = 0; t < a->target_count; t++)
        if (strcmp(a->targets[t].name, b->targets[t].name) != 0 ||
            (urls && strcmp(a->targets[t].url, b->targets[t].url) != 0))
            return false;
    return true;
}

static void target_list(const struct results_header *h, bool urls, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < h->target_count && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s%s%s", i ? ", " : "",
                                h->targets[i].name, urls ? "=" : "", urls ? h->targets[i].url : "");
}

int results_check_together(const struct results_header *const *hs, const char *const *paths,
                           size_t n, unsigned flags, struct error *err)
{
    bool strict = flags & RESULTS_TOGETHER_STRICT;
    const struct results_header *first = n ? hs[0] : NULL;
    size_t sharded = 0, shard_from = 0;

    for (size_t i = 0; i < n; i++) {
        const struct results_header *h = hs[i];
        if (i > 0 && !same_targets(h, first, strict)) {
            char a[1200], b[1200];
            target_list(h, strict, a, sizeof a);
            target_list(first, strict, b, sizeof b);
            return error_set(err, ERR_INPUT,
                             "%s:1: its targets (%s) are not those of %s (%s); results "
                             "given together must be shards of one replay%s",
                             paths[i], a, paths[0], b,
                             strict ? ", with the same --target NAME=URL on every shard" : "");
        }
        if (i > 0 && h->trace_id[0] && first->trace_id[0] &&
            strcmp(h->trace_id, first->trace_id) != 0)
            return error_set(err, ERR_INPUT,
                             "%s:1: it replayed the trace '%s' and %s the trace '%s': their "
                             "\"trace_header\" lines differ, so these are not shards of one "
                             "replay (replay one trace, or the parts 'rehearse trace split' "
                             "made of it)",
                             paths[i], h->trace, paths[0], first->trace);
        if (strict && i > 0 && strcmp(h->options_id, first->options_id) != 0) {
            char which[128];
            differing_option(paths[0], paths[i], which, sizeof which);
            return error_set(err, ERR_INPUT,
                             "%s:1: its replay options differ from those of %s%s; shards of "
                             "one replay differ in --shard only: run them with the same "
                             "options",
                             paths[i], paths[0], which);
        }
        if (h->shard_count) {
            if (sharded++ == 0)
                shard_from = i;
            const struct results_header *f = hs[shard_from];
            if (h->shard_count != f->shard_count)
                return error_set(err, ERR_INPUT,
                                 "%s:1: it is shard %u/%u but %s is shard %u/%u; shards of "
                                 "one replay share N",
                                 paths[i], h->shard_index, h->shard_count, paths[shard_from],
                                 f->shard_index, f->shard_count);
            for (size_t k = shard_from; k < i; k++)
                if (hs[k]->shard_count && hs[k]->shard_index == h->shard_index)
                    return error_set(err, ERR_INPUT,
                                     "%s:1: it is shard %u/%u, and so is %s: give each shard "
                                     "once",
                                     paths[i], h->shard_index, h->shard_count, paths[k]);
        } else if (strict && n > 1) {
            return error_set(err, ERR_INPUT,
                             "%s:1: it was not replayed with --shard, so it already holds the "
                             "whole trace; merge the results of 'rehearse replay --shard I/N' "
                             "runs",
                             paths[i]);
        }
    }
    if (strict && sharded && sharded < first->shard_count) {
        char missing[256];
        size_t len = 0, listed = 0;
        missing[0] = '\0';
        for (uint32_t s = 0; s < first->shard_count && len < sizeof missing - 16; s++) {
            bool found = false;
            for (size_t i = 0; i < n && !found; i++)
                found = hs[i]->shard_index == s;
            if (!found && listed++ < 10)
                len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%u",
                                        listed > 1 ? ", " : "", s);
        }
        return error_set(err, ERR_INPUT,
                         "%zu of %u shards given, missing: %s%s (of %u); a merged results "
                         "file stands for the whole trace, so give every shard (or compare "
                         "the shards you have with 'rehearse diff R1 R2 ...')",
                         sharded, first->shard_count, missing,
                         first->shard_count - sharded > 10 ? ", ..." : "", first->shard_count);
    }
    return 0;
}

static int64_t time_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : RESULTS_TIME_NONE;
}

static int read_target(struct results_reader *r, json_t *obj, size_t index, struct error *err)
{
    struct result_target *t = &r->targets[index];
    const char *name = r->header.targets[index].name;
    char where[128];
    json_t *v, *e;
    int rc;

    memset(t, 0, sizeof *t);
    snprintf(where, sizeof where, "targets.%s", name);
    if (!json_is_object(obj)) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: missing or not an object (every header target needs a "
                 "result)", where);
        return line_error(r, err, ERR_INPUT, msg);
    }
    if (json_object_get(obj, "status")) {
        rc = http_json_read_message(obj, false, where, &r->arena, &t->response, err);
        if (rc)
            return line_error(r, err, rc, err ? err->message : "");
        t->has_response = true;
        t->body_omitted = json_is_true(json_object_get(obj, "body_omitted"));
        v = json_object_get(obj, "body_sha256");
        if (json_is_string(v) && json_string_length(v) == 64)
            memcpy(t->body_sha256, json_string_value(v), 65);
    }
    t->scheduled_us = time_field(obj, "scheduled_us");
    t->sent_us = time_field(obj, "sent_us");
    t->connect_us = time_field(obj, "connect_us");
    t->first_byte_us = time_field(obj, "first_byte_us");
    t->total_us = time_field(obj, "total_us");
    e = json_object_get(obj, "error");
    if (e && !json_is_null(e)) {
        json_t *kind = json_object_get(e, "kind");
        if (!json_is_string(kind)) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s.error.kind: expected an error kind such as \"timeout\"",
                     where);
            return line_error(r, err, ERR_INPUT, msg);
        }
        t->error = result_error_lookup(json_string_value(kind));
        v = json_object_get(e, "curl_code");
        t->curl_code = json_is_integer(v) ? (int)json_integer_value(v) : 0;
        v = json_object_get(e, "message");
        t->error_message = json_is_string(v) ? json_string_value(v) : "";
    } else if (!t->has_response) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: neither a response (\"status\") nor an \"error\"", where);
        return line_error(r, err, ERR_INPUT, msg);
    }
    return 0;
}

static int read_record(struct results_reader *r, json_t *obj, struct error *err)
{
    struct result_record *rec = &r->rec;
    json_t *v, *req = json_object_get(obj, "request"), *targets = json_object_get(obj, "targets");
    int rc;

    memset(rec, 0, sizeof *rec);
    v = json_object_get(obj, "tx");
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return line_error(r, err, ERR_INPUT, "tx: expected the transaction id");
    rec->tx = (uint64_t)json_integer_value(v);
    v = json_object_get(obj, "conn");
    rec->conn = json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v)
                                                                 : 0;
    if (!json_is_object(req) || !json_is_string(json_object_get(req, "method")) ||
        !json_is_string(json_object_get(req, "target")))
        return line_error(r, err, ERR_INPUT,
                          "request: expected {\"method\": string, \"target\": string}");
    rec->method = json_string_value(json_object_get(req, "method"));
    rec->target = json_string_value(json_object_get(req, "target"));
    v = json_object_get(req, "host");
    rec->host = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(obj, "captured");
    if (v && !json_is_null(v)) {
        rc = http_json_read_message(v, false, "captured", &r->arena, &rec->captured, err);
        if (rc)
            return line_error(r, err, rc, err ? err->message : "");
        rec->has_captured = true;
    }
    v = json_object_get(obj, "captured_flags");
    if (json_is_array(v)) {
        size_t i;
        json_t *f;
        json_array_foreach(v, i, f) {
            int bit = json_is_string(f) ? tx_flag_lookup(json_string_value(f),
                                                         json_string_length(f))
                                        : -1;
            if (bit >= 0)
                rec->captured_flags |= 1u << bit;
        }
    }
    if (!json_is_object(targets))
        return line_error(r, err, ERR_INPUT, "targets: expected an object keyed by target name");
    for (size_t i = 0; i < r->header.target_count; i++)
        if ((rc = read_target(r, json_object_get(targets, r->header.targets[i].name), i, err)))
            return rc;
    rec->target_count = r->header.target_count;
    rec->targets = r->targets;
    return 0;
}

int results_reader_next(struct results_reader *r, const struct result_record **rec,
                        struct error *err)
{
    json_t *obj;
    int rc;

    *rec = NULL;
    arena_reset(&r->arena);
    for (;;) {
        json_t *type;
        rc = jsonl_reader_next(r->lines, &obj, err);
        if (rc <= 0)
            return rc;
        type = json_object_get(obj, "type");
        if (!json_is_string(type))
            return line_error(r, err, ERR_INPUT,
                              "\"type\": missing; expected \"result\" or \"summary\"");
        if (strcmp(json_string_value(type), "result") == 0)
            break;
        if (strcmp(json_string_value(type), "summary") == 0) {
            json_decref(r->summary);
            r->summary = json_incref(obj);
        }
    }
    if ((rc = read_record(r, obj, err)))
        return rc;
    *rec = &r->rec;
    return 1;
}

json_t *results_reader_summary(const struct results_reader *r)
{
    return r->summary;
}

void results_reader_close(struct results_reader *r)
{
    if (!r)
        return;
    jsonl_reader_close(r->lines);
    json_decref(r->header_value);
    json_decref(r->summary);
    arena_release(&r->arena);
    free(r);
}
