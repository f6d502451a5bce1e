#include "results_merge.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "results.h"
#include "results_scan.h"
#include "results_summary.h"
#include "version.h"

struct merge {
    const char *const *paths;
    size_t n;
    struct results_scan **scans;
    const struct results_header **headers;
    size_t *order;                 /* files by shard index */
    struct results_summary *total, *one;
    struct results_writer *writer;
    struct idset seen;
    struct buf text;
    char *options, *trace_header;  /* of the merged header */
};

static void merge_release(struct merge *m)
{
    for (size_t i = 0; m->scans && i < m->n; i++)
        results_scan_close(m->scans[i]);
    free(m->scans);
    free(m->headers);
    free(m->order);
    free(m->total);
    free(m->one);
    results_writer_discard(m->writer); /* NULL once closed */
    idset_release(&m->seen);
    buf_release(&m->text);
    free(m->options);
    free(m->trace_header);
}

/* The first file's "options" without "shard" and its "trace_header", as
 * JSON text for the merged header: the merge stands for the whole trace. */
static int header_objects(struct merge *m, const char *path, struct error *err)
{
    struct results_reader *r;
    json_t *options, *trace_header;
    int rc;

    if ((rc = results_reader_open(&r, path, 0, err)))
        return rc;
    options = results_reader_options(r) ? json_copy(results_reader_options(r)) : json_object();
    trace_header = results_reader_trace_header(r);
    if (options) {
        json_object_del(options, "shard");
        m->options = json_dumps(options, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    if (trace_header)
        m->trace_header = json_dumps(trace_header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(options);
    results_reader_close(r);
    if (!m->options || (trace_header && !m->trace_header))
        return error_set(err, ERR_NOMEM, "out of memory");
    return 0;
}

static int open_output(struct merge *m, const char *output, struct error *err)
{
    const struct results_header *first = m->headers[m->order[0]];
    struct results_header h = *first;
    bool same_trace = true;
    int rc;

    if ((rc = header_objects(m, m->paths[m->order[0]], err)))
        return rc;
    for (size_t i = 0; i < m->n; i++) {
        const struct results_header *x = m->headers[i];
        if (x->started_us != RESULTS_TIME_NONE &&
            (h.started_us == RESULTS_TIME_NONE || x->started_us < h.started_us))
            h.started_us = x->started_us;
        same_trace = same_trace && strcmp(x->trace, first->trace) == 0;
    }
    if (!same_trace)
        snprintf(h.trace, sizeof h.trace, "%s (and %zu more parts of the same trace)",
                 first->trace, m->n - 1);
    snprintf(h.created_by, sizeof h.created_by, "rehearse %s", REHEARSE_VERSION);
    h.options_json = m->options;
    h.trace_header_json = m->trace_header;
    return results_writer_open(&m->writer, output, &h, err);
}

/* Copy the records of file f, checking each belongs to it and is new. */
static int copy_records(struct merge *m, size_t f, uint64_t *records, struct error *err)
{
    const struct results_header *h = m->headers[f];
    struct results_scan *scan = m->scans[f];
    const struct result_record *rec;
    int rc;

    *records = 0;
    while ((rc = results_scan_next(scan, &rec, err)) > 0) {
        const char *line;
        size_t len;
        if (h->shard_count && selection_shard_of(rec->conn, h->shard_count) != h->shard_index)
            return error_set(err, ERR_INPUT,
                             "%s:%llu: transaction %llu (connection %llu) belongs to shard "
                             "%u/%u, not to this file's shard %u/%u: the file was not written "
                             "by 'rehearse replay --shard %u/%u'",
                             m->paths[f], (unsigned long long)results_scan_line_number(scan),
                             (unsigned long long)rec->tx, (unsigned long long)rec->conn,
                             selection_shard_of(rec->conn, h->shard_count), h->shard_count,
                             h->shard_index, h->shard_count, h->shard_index, h->shard_count);
        rc = idset_add(&m->seen, rec->tx);
        if (rc < 0)
            return error_set(err, ERR_NOMEM, "out of memory");
        if (rc == 0)
            return error_set(err, ERR_INPUT,
                             "%s:%llu: transaction %llu was already read; each transaction "
                             "must be in exactly one shard",
                             m->paths[f], (unsigned long long)results_scan_line_number(scan),
                             (unsigned long long)rec->tx);
        line = results_scan_line_text(scan, &len);
        if ((rc = results_writer_write_line(m->writer, line, len, err)))
            return rc;
        (*records)++;
    }
    return rc;
}

/* Read file f's summary into m->one. */
static int read_summary(struct merge *m, size_t f, uint64_t records, struct error *err)
{
    const char *text;
    char where[4200];
    size_t len;
    uint64_t line;
    json_error_t jerr;
    json_t *obj;
    int rc;

    text = results_scan_summary(m->scans[f], &len, &line);
    if (!text)
        return error_set(err, ERR_INPUT,
                         "%s: no summary line at the end: the replay of this shard did not "
                         "finish (a killed process leaves NAME.partial); run the shard again",
                         m->paths[f]);
    snprintf(where, sizeof where, "%s:%llu", m->paths[f], (unsigned long long)line);
    obj = json_loadb(text, len, 0, &jerr);
    if (!obj)
        return error_set(err, ERR_INPUT, "%s:%d: invalid JSON in the summary: %s", where,
                         jerr.column, jerr.text);
    rc = results_summary_from_json(m->one, obj, m->headers[f], where, err);
    json_decref(obj);
    if (rc == 0 && m->one->replayed != records)
        rc = error_set(err, ERR_INPUT,
                       "%s: summary.transactions.replayed is %llu but the file holds %llu "
                       "results; the file is incomplete or was edited",
                       where, (unsigned long long)m->one->replayed,
                       (unsigned long long)records);
    return rc;
}

static int by_shard(const void *a, const void *b, void *arg)
{
    const struct results_header *const *h = arg;
    uint32_t x = h[*(const size_t *)a]->shard_index, y = h[*(const size_t *)b]->shard_index;
    return (x > y) - (x < y);
}

int results_merge(const char *const *paths, size_t n, const char *output,
                  struct results_merge_stats *stats, struct error *err)
{
    struct merge m;
    int64_t started = RESULTS_TIME_NONE, longest = RESULTS_TIME_NONE;
    int rc;

    memset(stats, 0, sizeof *stats);
    memset(&m, 0, sizeof m);
    m.paths = paths;
    m.n = n;
    idset_init(&m.seen);
    if (!n)
        return error_set(err, ERR_USAGE, "no results file given");
    m.scans = calloc(n, sizeof *m.scans);
    m.headers = calloc(n, sizeof *m.headers);
    m.order = calloc(n, sizeof *m.order);
    m.total = malloc(sizeof *m.total);
    m.one = malloc(sizeof *m.one);
    if (!m.scans || !m.headers || !m.order || !m.total || !m.one) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = results_scan_open(&m.scans[i], paths[i], err)))
            goto out;
        m.headers[i] = results_scan_header(m.scans[i]);
        m.order[i] = i;
    }
    if ((rc = results_check_together(m.headers, paths, n, RESULTS_TOGETHER_STRICT, err)))
        goto out;
    qsort_r(m.order, n, sizeof *m.order, by_shard, m.headers);
    if ((rc = open_output(&m, output, err)))
        goto out;

    results_summary_init(m.total, m.headers[0]->target_count);
    for (size_t k = 0; k < n; k++) {
        size_t f = m.order[k];
        const struct results_header *h = m.headers[f];
        uint64_t records;
        char label[4200];
        if ((rc = copy_records(&m, f, &records, err)) || (rc = read_summary(&m, f, records, err)))
            goto out;
        snprintf(label, sizeof label, "shard %u/%u (%s)", h->shard_index, h->shard_count,
                 paths[f]);
        results_summary_add_shard(m.total, m.one, label);
        stats->records += records;
        if (h->started_us != RESULTS_TIME_NONE &&
            (started == RESULTS_TIME_NONE || h->started_us < started))
            started = h->started_us;
        if (m.one->duration_us != RESULTS_TIME_NONE && m.one->duration_us > longest)
            longest = m.one->duration_us;
    }
    /* the shards ran side by side: from the first start to the last end */
    m.total->duration_us = started != RESULTS_TIME_NONE && m.total->finished_us != RESULTS_TIME_NONE
                               ? m.total->finished_us - started
                               : longest;
    if (!m.headers[0]->shard_count)
        m.total->shards = 0; /* one unsharded file: copied as it was */
    buf_init(&m.text, (size_t)64 << 20);
    if (results_summary_to_json(&m.text, m.total, m.headers[0])) {
        rc = error_set(err, ERR_TOOBIG, "the merged summary is too large");
        goto out;
    }
    if ((rc = results_writer_write_summary(m.writer, m.text.data, err)))
        goto out;
    rc = results_writer_close(m.writer, err);
    m.writer = NULL;
    stats->files = n;
    stats->shards = m.headers[0]->shard_count;
    stats->read = m.total->read;
    stats->interrupted = m.total->interrupted;
out:
    merge_release(&m);
    return rc;
}
