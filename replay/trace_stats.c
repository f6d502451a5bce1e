#include "trace_stats.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "endpoint.h"
#include "jsonw.h"
#include "trace_reader.h"
#include "utf8.h"

/* Longest endpoint key kept; longer paths are counted under one key. */
#define ENDPOINT_KEY_MAX 2048
#define STATUS_CLASSES 6 /* 1xx..5xx, other */

struct trace_stats {
    struct trace_stats_options opt;
    char path[1024];
    struct trace_header header;
    bool has_header;

    uint64_t transactions, without_response;
    struct counter methods, statuses, endpoints;
    uint64_t classes[STATUS_CLASSES];
    uint64_t flags[TX_FLAG_COUNT];
    int64_t first_us, last_us;

    /* connection id → transactions, open addressing; count 0 = empty slot */
    uint64_t *conn_ids;
    uint32_t *conn_counts;
    size_t conn_slots, conn_count;
    uint64_t conn_untracked_tx;

    json_t *summary;
    struct buf key;
};

int trace_stats_new(struct trace_stats **out, const struct trace_stats_options *opt,
                    struct error *err)
{
    struct trace_stats *s = calloc(1, sizeof *s);

    *out = NULL;
    if (!s)
        return error_set(err, ERR_NOMEM, "out of memory starting trace statistics");
    if (opt)
        s->opt = *opt;
    if (!s->opt.max_endpoints)
        s->opt.max_endpoints = TRACE_STATS_DEFAULT_MAX_ENDPOINTS;
    if (!s->opt.max_connections)
        s->opt.max_connections = TRACE_STATS_DEFAULT_MAX_CONNECTIONS;
    counter_init(&s->methods, TRACE_STATS_MAX_METHODS, 256);
    counter_init(&s->statuses, TRACE_STATS_MAX_STATUSES, 16);
    counter_init(&s->endpoints, s->opt.max_endpoints, ENDPOINT_KEY_MAX + 64);
    buf_init(&s->key, ENDPOINT_KEY_MAX + 64);
    s->first_us = s->last_us = TRACE_TIME_NONE;
    *out = s;
    return 0;
}

void trace_stats_free(struct trace_stats *s)
{
    if (!s)
        return;
    counter_release(&s->methods);
    counter_release(&s->statuses);
    counter_release(&s->endpoints);
    free(s->conn_ids);
    free(s->conn_counts);
    json_decref(s->summary);
    buf_release(&s->key);
    free(s);
}

static size_t conn_slot(uint64_t id, size_t slots)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull; /* murmur3 finaliser: ids are sequential */
    id ^= id >> 33;
    return (size_t)id & (slots - 1);
}

static int conn_grow(struct trace_stats *s)
{
    size_t n = s->conn_slots ? s->conn_slots * 2 : 1024;
    uint64_t *ids = calloc(n, sizeof *ids);
    uint32_t *counts = calloc(n, sizeof *counts);

    if (!ids || !counts) {
        free(ids);
        free(counts);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < s->conn_slots; i++) {
        if (!s->conn_counts[i])
            continue;
        size_t j = conn_slot(s->conn_ids[i], n);
        while (counts[j])
            j = (j + 1) & (n - 1);
        ids[j] = s->conn_ids[i];
        counts[j] = s->conn_counts[i];
    }
    free(s->conn_ids);
    free(s->conn_counts);
    s->conn_ids = ids;
    s->conn_counts = counts;
    s->conn_slots = n;
    return 0;
}

static int conn_add(struct trace_stats *s, uint64_t id)
{
    size_t j;

    if (!s->conn_slots && conn_grow(s))
        return ERR_NOMEM;
    j = conn_slot(id, s->conn_slots);
    while (s->conn_counts[j]) {
        if (s->conn_ids[j] == id) {
            if (s->conn_counts[j] < UINT32_MAX)
                s->conn_counts[j]++;
            return 0;
        }
        j = (j + 1) & (s->conn_slots - 1);
    }
    if (s->conn_count >= s->opt.max_connections) {
        s->conn_untracked_tx++;
        return 0;
    }
    s->conn_ids[j] = id;
    s->conn_counts[j] = 1;
    s->conn_count++;
    if (s->conn_count * 2 > s->conn_slots)
        return conn_grow(s);
    return 0;
}

static void widen(struct trace_stats *s, int64_t t)
{
    if (t == TRACE_TIME_NONE)
        return;
    if (s->first_us == TRACE_TIME_NONE || t < s->first_us)
        s->first_us = t;
    if (s->last_us == TRACE_TIME_NONE || t > s->last_us)
        s->last_us = t;
}

int trace_stats_add(struct trace_stats *s, const struct trace_tx *tx, struct error *err)
{
    const char *method = tx->request.method ? tx->request.method : "";
    const char *target = tx->request.target ? tx->request.target : "";
    int rc;

    s->transactions++;
    for (int bit = 0; bit < TX_FLAG_COUNT; bit++)
        if (tx->flags & (1u << bit))
            s->flags[bit]++;
    if (tx->has_response) {
        char status[16];
        int n = snprintf(status, sizeof status, "%d", tx->response.status);
        int cls = tx->response.status / 100;
        if ((rc = counter_add(&s->statuses, status, (size_t)n, 1)) < 0)
            goto nomem;
        s->classes[cls >= 1 && cls <= 5 ? cls - 1 : STATUS_CLASSES - 1]++;
    } else {
        s->without_response++;
    }
    if ((rc = counter_add(&s->methods, method, strlen(method), 1)) < 0)
        goto nomem;

    buf_reset(&s->key);
    if (endpoint_template(&s->key, method, target, strlen(target))) {
        buf_reset(&s->key);
        buf_printf(&s->key, "%.64s (path longer than %d bytes)", method, ENDPOINT_KEY_MAX);
    }
    if ((rc = counter_add(&s->endpoints, s->key.data, s->key.len, 1)) < 0)
        goto nomem;
    if (conn_add(s, tx->conn))
        goto nomem;

    /* Duration: first request start to last response end (or the request's
     * own end when nothing came back). */
    widen(s, tx->req_start_us);
    widen(s, tx->has_response && tx->resp_end_us != TRACE_TIME_NONE ? tx->resp_end_us
                                                                     : tx->req_end_us);
    return 0;
nomem:
    return error_set(err, ERR_NOMEM, "out of memory counting transaction %llu",
                     (unsigned long long)tx->id);
}

int trace_stats_collect(struct trace_stats *s, const char *path, struct error *err)
{
    struct trace_reader *r;
    const struct trace_tx *tx;
    int rc;

    if ((rc = trace_reader_open(&r, path, 0, err)))
        return rc;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->header = *trace_reader_header(r);
    s->has_header = true;
    while ((rc = trace_reader_next(r, &tx, err)) > 0)
        if ((rc = trace_stats_add(s, tx, err)))
            break;
    if (rc == 0 && trace_reader_summary(r)) {
        json_decref(s->summary);
        s->summary = json_incref(trace_reader_summary(r));
    }
    trace_reader_close(r);
    return rc;
}

/* ---- shared by both renderings ---- */

struct conn_figures {
    uint64_t min, max;
    double median;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int conn_figures(const struct trace_stats *s, struct conn_figures *f)
{
    uint32_t *v;
    size_t n = 0;

    memset(f, 0, sizeof *f);
    if (!s->conn_count)
        return 0;
    v = malloc(s->conn_count * sizeof *v);
    if (!v)
        return ERR_NOMEM;
    for (size_t i = 0; i < s->conn_slots; i++)
        if (s->conn_counts[i])
            v[n++] = s->conn_counts[i];
    qsort(v, n, sizeof *v, cmp_u32);
    f->min = v[0];
    f->max = v[n - 1];
    f->median = n % 2 ? v[n / 2] : ((double)v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return 0;
}

static double duration_s(const struct trace_stats *s)
{
    if (s->first_us == TRACE_TIME_NONE)
        return 0;
    return (double)(s->last_us - s->first_us) / 1e6;
}

static const char *const class_names[STATUS_CLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx",
                                                        "other"};

/* One {count, description} item of the summary's "skipped" or "notes". */
struct reason {
    const char *name;
    size_t name_len;
    uint64_t count;
    const char *description;
    int64_t bytes; /* capture counts the bytes of some reasons; -1 when not */
};

static int by_reason(const void *pa, const void *pb)
{
    const struct reason *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The reasons of summary[member], validated and sorted; *list is malloc'd. */
static int summary_reasons(const struct trace_stats *s, const char *member,
                           struct reason **list, size_t *n, struct error *err)
{
    json_t *obj = s->summary ? json_object_get(s->summary, member) : NULL;
    const char *key;
    json_t *item;
    size_t i = 0;

    *list = NULL;
    *n = 0;
    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return error_set(err, ERR_INPUT, "%s: summary line: \"%s\": expected an object of "
                         "{\"count\": N, \"description\": \"...\"}", s->path, member);
    if (!json_object_size(obj))
        return 0;
    *list = calloc(json_object_size(obj), sizeof **list);
    if (!*list)
        return error_set(err, ERR_NOMEM, "out of memory reading the summary line");
    json_object_foreach(obj, key, item) {
        json_t *count = json_object_get(item, "count");
        json_t *desc = json_object_get(item, "description");
        json_t *bytes = json_object_get(item, "bytes");
        if (!json_is_integer(count) || json_integer_value(count) < 0 ||
            (desc && !json_is_string(desc)) ||
            (bytes && (!json_is_integer(bytes) || json_integer_value(bytes) < 0))) {
            free(*list);
            *list = NULL;
            return error_set(err, ERR_INPUT, "%s: summary line: \"%s\".\"%s\": expected "
                             "{\"count\": N, \"description\": \"...\", \"bytes\": N}", s->path,
                             member, key);
        }
        (*list)[i++] = (struct reason){key, strlen(key), (uint64_t)json_integer_value(count),
                                       desc ? json_string_value(desc) : "",
                                       bytes ? (int64_t)json_integer_value(bytes) : -1};
    }
    qsort(*list, i, sizeof **list, by_reason);
    *n = i;
    return 0;
}

/* The summary's "skipped" and "notes" lists, validated and sorted. */
struct summary_lists {
    struct reason *skipped, *notes;
    size_t nskipped, nnotes;
};

static void summary_lists_release(struct summary_lists *l)
{
    free(l->skipped);
    free(l->notes);
}

static int summary_lists_load(const struct trace_stats *s, struct summary_lists *l,
                              struct error *err)
{
    int rc;
    memset(l, 0, sizeof *l);
    if ((rc = summary_reasons(s, "skipped", &l->skipped, &l->nskipped, err)) ||
        (rc = summary_reasons(s, "notes", &l->notes, &l->nnotes, err)))
        summary_lists_release(l);
    return rc;
}

/* The flags that occur, as reasons sorted by count desc, then name. */
static size_t flag_rows(const struct trace_stats *s, struct reason rows[TX_FLAG_COUNT])
{
    size_t n = 0;
    for (int bit = 0; bit < TX_FLAG_COUNT; bit++) {
        if (!s->flags[bit])
            continue;
        const char *name = tx_flag_name((enum tx_flag)bit);
        rows[n++] = (struct reason){name, strlen(name), s->flags[bit],
                                    tx_flag_description((enum tx_flag)bit), -1};
    }
    qsort(rows, n, sizeof rows[0], by_reason);
    return n;
}

static bool is_summary_counter(const char *key)
{
    return strcmp(key, "type") != 0 && strcmp(key, "skipped") != 0 && strcmp(key, "notes") != 0;
}

/* ---- text ---- */

/* Append hostile text so a terminal shows it and nothing else: control
 * characters, DEL, bidi overrides and bytes that are not UTF-8 become
 * escapes. */
static int put_text(struct buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int rc = 0;

    while (i < len && !rc) {
        size_t n = utf8_sequence_length(p + i, len - i);
        if (n == 0 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\') {
            rc = p[i] == '\\' ? buf_append_str(out, "\\\\") : buf_printf(out, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (n == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] >= 0xaa && p[i + 2] <= 0xae)) {
            rc = buf_printf(out, "\\u{20%02x}", p[i + 2] - 0x80); /* U+202A..U+202E */
        } else if (n == 3 && p[i] == 0xe2 && p[i + 1] == 0x81 && p[i + 2] >= 0xa6 &&
                   p[i + 2] <= 0xa9) {
            rc = buf_printf(out, "\\u{20%02x}", p[i + 2] - 0x80 + 0x40); /* U+2066..U+2069 */
        } else if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
            rc = buf_printf(out, "\\u{%04x}", p[i + 1]); /* C1 controls */
        } else {
            rc = buf_append(out, p + i, n);
        }
        i += n;
    }
    return rc;
}

static int digits_of(uint64_t v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static int text_rows(struct buf *out, const struct counter *c, const char *title,
                     uint64_t extra_count, const char *extra_label, struct error *err)
{
    struct counter_entry *rows = counter_sorted(c);
    uint64_t widest = extra_count;
    int rc = 0, width;

    if (c->count && !rows)
        return error_set(err, ERR_NOMEM, "out of memory sorting %s", title);
    for (size_t i = 0; i < c->count; i++)
        if (rows[i].count > widest)
            widest = rows[i].count;
    if (c->other > widest)
        widest = c->other;
    width = digits_of(widest);
    rc |= buf_printf(out, "\n%s\n", title);
    if (!c->count && !extra_count)
        rc |= buf_append_str(out, "  (none)\n");
    for (size_t i = 0; i < c->count; i++) {
        rc |= buf_printf(out, "  %*llu  ", width, (unsigned long long)rows[i].count);
        rc |= put_text(out, rows[i].key, rows[i].key_len);
        rc |= buf_append_char(out, '\n');
    }
    if (extra_count)
        rc |= buf_printf(out, "  %*llu  %s\n", width, (unsigned long long)extra_count,
                         extra_label);
    if (c->other)
        rc |= buf_printf(out, "  %*llu  (other: beyond the first %zu distinct values tracked)\n",
                         width, (unsigned long long)c->other, c->max_keys);
    free(rows);
    return rc ? error_set(err, ERR_TOOBIG, "the statistics report is too large") : 0;
}

static int text_reasons(struct buf *out, const struct reason *r, size_t n, const char *title)
{
    uint64_t widest = 0;
    size_t name_width = 0;
    int rc = 0, width;

    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].count > widest)
            widest = r[i].count;
        if (r[i].name_len > name_width)
            name_width = r[i].name_len;
    }
    width = digits_of(widest);
    rc |= buf_printf(out, "\n%s\n", title);
    for (size_t i = 0; i < n; i++) {
        rc |= buf_printf(out, "  %*llu  ", width, (unsigned long long)r[i].count);
        rc |= put_text(out, r[i].name, r[i].name_len);
        if (r[i].description[0]) {
            rc |= buf_printf(out, "%*s  ", (int)(name_width - r[i].name_len), "");
            rc |= put_text(out, r[i].description, strlen(r[i].description));
        }
        if (r[i].bytes >= 0)
            rc |= buf_printf(out, " (%lld bytes)", (long long)r[i].bytes);
        rc |= buf_append_char(out, '\n');
    }
    return rc;
}

static int text_summary(const struct trace_stats *s, struct buf *out, struct error *err)
{
    struct summary_lists l;
    size_t key_width = 0;
    const char *key;
    json_t *v;
    int rc;

    if (!s->summary)
        return buf_append_str(out, "\nsummary\n  (none: the trace has no summary line; "
                              "it was not written by a finished capture or import)\n")
                   ? ERR_TOOBIG : 0;
    if ((rc = summary_lists_load(s, &l, err)))
        return rc;
    rc = buf_append_str(out, "\nsummary (recorded by the program that wrote the trace)\n");
    json_object_foreach(s->summary, key, v)
        if (is_summary_counter(key) && strlen(key) > key_width)
            key_width = strlen(key);
    json_object_foreach(s->summary, key, v) {
        if (!is_summary_counter(key))
            continue;
        rc |= buf_append_str(out, "  ");
        rc |= put_text(out, key, strlen(key));
        rc |= buf_printf(out, "%*s  ", (int)(key_width - strlen(key)), "");
        if (json_is_string(v)) {
            rc |= put_text(out, json_string_value(v), json_string_length(v));
        } else {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            rc |= text ? put_text(out, text, strlen(text)) : ERR_NOMEM;
            free(text);
        }
        rc |= buf_append_char(out, '\n');
    }
    if (!l.nskipped)
        rc |= buf_append_str(out, "\nskipped\n  (nothing)\n");
    rc |= text_reasons(out, l.skipped, l.nskipped, "skipped");
    rc |= text_reasons(out, l.notes, l.nnotes, "notes");
    summary_lists_release(&l);
    return rc ? error_set(err, ERR_TOOBIG, "the statistics report is too large") : 0;
}

int trace_stats_render_text(const struct trace_stats *s, struct buf *out, struct error *err)
{
    struct conn_figures cf;
    double dur = duration_s(s);
    int rc = 0;

    if (conn_figures(s, &cf))
        return error_set(err, ERR_NOMEM, "out of memory summarising connections");
    if (s->has_header) {
        const struct trace_header *h = &s->header;
        rc |= buf_append_str(out, "trace         ");
        rc |= put_text(out, s->path, strlen(s->path));
        rc |= buf_printf(out, "\nsource        %s ", h->source_kind[0] ? h->source_kind : "?");
        rc |= put_text(out, h->source, strlen(h->source));
        if (h->linktype[0])
            rc |= buf_printf(out, " (%s)", h->linktype);
        if (h->created_by[0]) {
            rc |= buf_append_str(out, ", written by ");
            rc |= put_text(out, h->created_by, strlen(h->created_by));
        }
        rc |= buf_append_char(out, '\n');
    }
    rc |= buf_printf(out, "transactions  %llu (%llu with a response, %llu without)\n",
                     (unsigned long long)s->transactions,
                     (unsigned long long)(s->transactions - s->without_response),
                     (unsigned long long)s->without_response);
    if (s->first_us != TRACE_TIME_NONE) {
        rc |= buf_printf(out, "duration      %.6f s (first request start to last response end)\n",
                         dur);
        if (dur > 0)
            rc |= buf_printf(out, "rate          %.2f transactions/s\n",
                             (double)s->transactions / dur);
        else
            rc |= buf_append_str(out, "rate          (no duration to divide by)\n");
    } else {
        rc |= buf_append_str(out, "duration      (no timestamps)\n");
    }
    rc |= buf_printf(out, "connections   %zu", s->conn_count);
    if (s->conn_count) {
        rc |= buf_printf(out, "; requests per connection: min %llu, median ",
                         (unsigned long long)cf.min);
        rc |= jsonw_double(out, cf.median);
        rc |= buf_printf(out, ", max %llu", (unsigned long long)cf.max);
    }
    rc |= buf_append_char(out, '\n');
    if (s->conn_untracked_tx)
        rc |= buf_printf(out, "              %llu transactions on connections beyond the first "
                         "%zu tracked (raise --max-connections)\n",
                         (unsigned long long)s->conn_untracked_tx, s->opt.max_connections);
    if (rc)
        return error_set(err, ERR_TOOBIG, "the statistics report is too large");

    if ((rc = text_rows(out, &s->methods, "methods", 0, NULL, err)) ||
        (rc = text_rows(out, &s->statuses, "statuses", s->without_response, "(no response)", err)))
        return rc;
    {
        uint64_t widest = s->without_response;
        for (int i = 0; i < STATUS_CLASSES; i++)
            if (s->classes[i] > widest)
                widest = s->classes[i];
        int w = digits_of(widest);
        rc |= buf_append_str(out, "\nstatus classes\n");
        for (int i = 0; i < STATUS_CLASSES; i++)
            if (s->classes[i])
                rc |= buf_printf(out, "  %*llu  %s\n", w, (unsigned long long)s->classes[i],
                                 class_names[i]);
        if (s->without_response)
            rc |= buf_printf(out, "  %*llu  (no response)\n", w,
                             (unsigned long long)s->without_response);
        if (!s->transactions)
            rc |= buf_append_str(out, "  (none)\n");
    }
    {
        char title[160];
        snprintf(title, sizeof title,
                 "endpoints (method and path; numeric, UUID and long hex segments as %s, "
                 "query dropped; up to %zu tracked)", ENDPOINT_ID, s->opt.max_endpoints);
        if ((rc = text_rows(out, &s->endpoints, title, 0, NULL, err)))
            return rc;
    }
    {
        struct reason rows[TX_FLAG_COUNT];
        size_t n = flag_rows(s, rows);
        if (n)
            rc |= text_reasons(out, rows, n, "flags");
        else
            rc |= buf_append_str(out, "\nflags\n  (none)\n");
    }
    if (rc)
        return error_set(err, ERR_TOOBIG, "the statistics report is too large");
    return text_summary(s, out, err);
}

/* ---- JSON ---- */

static int json_rows(struct buf *out, const struct counter *c, const char *name_key,
                     bool numeric_name)
{
    struct counter_entry *rows = counter_sorted(c);
    int rc = 0;

    if (c->count && !rows)
        return ERR_NOMEM;
    rc |= buf_append_char(out, '[');
    for (size_t i = 0; i < c->count; i++) {
        rc |= buf_printf(out, "%s{\"%s\":", i ? "," : "", name_key);
        if (numeric_name)
            rc |= buf_append(out, rows[i].key, rows[i].key_len);
        else
            rc |= jsonw_string(out, rows[i].key, rows[i].key_len, 0);
        rc |= buf_append_str(out, ",\"count\":");
        rc |= jsonw_uint(out, rows[i].count);
        rc |= buf_append_char(out, '}');
    }
    rc |= buf_append_char(out, ']');
    free(rows);
    return rc;
}

static int json_reasons(struct buf *out, const struct reason *r, size_t n, const char *name_key)
{
    int rc = buf_append_char(out, '[');
    for (size_t i = 0; i < n; i++) {
        rc |= buf_printf(out, "%s{\"%s\":", i ? "," : "", name_key);
        rc |= jsonw_string(out, r[i].name, r[i].name_len, 0);
        rc |= buf_append_str(out, ",\"count\":");
        rc |= jsonw_uint(out, r[i].count);
        if (r[i].bytes >= 0)
            rc |= buf_printf(out, ",\"bytes\":%lld", (long long)r[i].bytes);
        rc |= buf_append_str(out, ",\"description\":");
        rc |= jsonw_cstring(out, r[i].description, 0);
        rc |= buf_append_char(out, '}');
    }
    return rc | buf_append_char(out, ']');
}

static int json_endpoints(struct buf *out, const struct trace_stats *s)
{
    struct counter_entry *rows = counter_sorted(&s->endpoints);
    int rc = 0;

    if (s->endpoints.count && !rows)
        return ERR_NOMEM;
    rc |= buf_printf(out, "{\"max\":%zu,\"tracked\":%zu,\"other\":", s->opt.max_endpoints,
                     s->endpoints.count);
    rc |= jsonw_uint(out, s->endpoints.other);
    rc |= buf_append_str(out, ",\"items\":[");
    for (size_t i = 0; i < s->endpoints.count; i++) {
        const char *sp = memchr(rows[i].key, ' ', rows[i].key_len);
        size_t mlen = sp ? (size_t)(sp - rows[i].key) : rows[i].key_len;
        rc |= buf_append_str(out, i ? ",{\"method\":" : "{\"method\":");
        rc |= jsonw_string(out, rows[i].key, mlen, 0);
        rc |= buf_append_str(out, ",\"path\":");
        rc |= sp ? jsonw_string(out, sp + 1, rows[i].key_len - mlen - 1, 0)
                 : buf_append_str(out, "\"\"");
        rc |= buf_append_str(out, ",\"count\":");
        rc |= jsonw_uint(out, rows[i].count);
        rc |= buf_append_char(out, '}');
    }
    rc |= buf_append_str(out, "]}");
    free(rows);
    return rc;
}

static int json_summary(const struct trace_stats *s, struct buf *out, struct error *err)
{
    struct summary_lists l;
    const char *key;
    json_t *v;
    int rc, first = 1;

    if (!s->summary)
        return buf_append_str(out, "null") ? ERR_TOOBIG : 0;
    if ((rc = summary_lists_load(s, &l, err)))
        return rc;
    rc = buf_append_str(out, "{\"counters\":{");
    json_object_foreach(s->summary, key, v) {
        char *text;
        if (!is_summary_counter(key))
            continue;
        text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!first)
            rc |= buf_append_char(out, ',');
        first = 0;
        rc |= jsonw_cstring(out, key, 0);
        rc |= buf_append_char(out, ':');
        rc |= text ? buf_append_str(out, text) : ERR_NOMEM;
        free(text);
    }
    rc |= buf_append_str(out, "},\"skipped\":");
    rc |= json_reasons(out, l.skipped, l.nskipped, "reason");
    rc |= buf_append_str(out, ",\"notes\":");
    rc |= json_reasons(out, l.notes, l.nnotes, "note");
    rc |= buf_append_char(out, '}');
    summary_lists_release(&l);
    return rc ? error_set(err, ERR_TOOBIG, "the statistics report is too large") : 0;
}

int trace_stats_render_json(const struct trace_stats *s, struct buf *out, struct error *err)
{
    struct conn_figures cf;
    double dur = duration_s(s);
    int rc = 0;

    if (conn_figures(s, &cf))
        return error_set(err, ERR_NOMEM, "out of memory summarising connections");
    rc |= buf_append_str(out, "{\"trace\":");
    rc |= jsonw_cstring(out, s->path, 0);
    if (s->has_header) {
        rc |= buf_append_str(out, ",\"source\":{\"kind\":");
        rc |= jsonw_cstring(out, s->header.source_kind, 0);
        rc |= buf_append_str(out, ",\"name\":");
        rc |= jsonw_cstring(out, s->header.source, 0);
        rc |= buf_append_str(out, ",\"linktype\":");
        rc |= jsonw_cstring(out, s->header.linktype, 0);
        rc |= buf_append_str(out, ",\"created_by\":");
        rc |= jsonw_cstring(out, s->header.created_by, 0);
        rc |= buf_append_char(out, '}');
    }
    rc |= buf_append_str(out, ",\"transactions\":");
    rc |= jsonw_uint(out, s->transactions);
    rc |= buf_append_str(out, ",\"without_response\":");
    rc |= jsonw_uint(out, s->without_response);
    if (s->first_us != TRACE_TIME_NONE) {
        rc |= buf_append_str(out, ",\"first_us\":");
        rc |= jsonw_int(out, s->first_us);
        rc |= buf_append_str(out, ",\"last_us\":");
        rc |= jsonw_int(out, s->last_us);
        rc |= buf_append_str(out, ",\"duration_us\":");
        rc |= jsonw_int(out, s->last_us - s->first_us);
        rc |= buf_append_str(out, ",\"rate_per_s\":");
        rc |= dur > 0 ? jsonw_double(out, (double)s->transactions / dur)
                      : buf_append_str(out, "null");
    } else {
        rc |= buf_append_str(out, ",\"first_us\":null,\"last_us\":null,\"duration_us\":null,"
                                  "\"rate_per_s\":null");
    }
    rc |= buf_append_str(out, ",\"methods\":");
    rc |= json_rows(out, &s->methods, "method", false);
    rc |= buf_append_str(out, ",\"methods_other\":");
    rc |= jsonw_uint(out, s->methods.other);
    rc |= buf_append_str(out, ",\"statuses\":");
    rc |= json_rows(out, &s->statuses, "status", true);
    rc |= buf_append_str(out, ",\"statuses_other\":");
    rc |= jsonw_uint(out, s->statuses.other);
    rc |= buf_append_str(out, ",\"status_classes\":{");
    for (int i = 0; i < STATUS_CLASSES; i++) {
        rc |= buf_printf(out, "%s\"%s\":", i ? "," : "", class_names[i]);
        rc |= jsonw_uint(out, s->classes[i]);
    }
    rc |= buf_append_str(out, "},\"endpoints\":");
    rc |= json_endpoints(out, s);
    rc |= buf_printf(out, ",\"connections\":{\"count\":%zu,\"max\":%zu,"
                     "\"untracked_transactions\":", s->conn_count, s->opt.max_connections);
    rc |= jsonw_uint(out, s->conn_untracked_tx);
    if (s->conn_count) {
        rc |= buf_printf(out, ",\"requests_min\":%llu,\"requests_median\":",
                         (unsigned long long)cf.min);
        rc |= jsonw_double(out, cf.median);
        rc |= buf_printf(out, ",\"requests_max\":%llu}", (unsigned long long)cf.max);
    } else {
        rc |= buf_append_str(out, ",\"requests_min\":null,\"requests_median\":null,"
                                  "\"requests_max\":null}");
    }
    rc |= buf_append_str(out, ",\"flags\":");
    {
        struct reason rows[TX_FLAG_COUNT];
        rc |= json_reasons(out, rows, flag_rows(s, rows), "flag");
    }
    rc |= buf_append_str(out, ",\"summary\":");
    if (rc)
        return error_set(err, ERR_TOOBIG, "the statistics report is too large");
    if ((rc = json_summary(s, out, err)))
        return rc;
    if (buf_append_str(out, "}\n"))
        return error_set(err, ERR_TOOBIG, "the statistics report is too large");
    return 0;
}
