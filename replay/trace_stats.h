/*
 * trace_stats.h — what a trace holds, counted in one streaming pass:
 * transactions per method, status, status class, endpoint (common/endpoint.h)
 * and connection, flags, duration and rate, plus the counters and skip
 * reasons its producer recorded in the summary line (docs/trace-format.md).
 *
 * Memory is bounded whatever the trace holds: the endpoint and connection
 * tables are capped (options below); what does not fit is counted as
 * "other", and the output says so.  Output is rendered into a buffer as
 * text or JSON, in a deterministic order (count desc, then name).
 */
#ifndef REHEARSE_TRACE_STATS_H
#define REHEARSE_TRACE_STATS_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "trace.h"

#define TRACE_STATS_DEFAULT_MAX_ENDPOINTS 1000
#define TRACE_STATS_DEFAULT_MAX_CONNECTIONS 1000000
#define TRACE_STATS_MAX_METHODS 64
#define TRACE_STATS_MAX_STATUSES 1000

struct trace_stats_options {
    size_t max_endpoints;   /* 0 = TRACE_STATS_DEFAULT_MAX_ENDPOINTS */
    size_t max_connections; /* 0 = TRACE_STATS_DEFAULT_MAX_CONNECTIONS */
};

struct trace_stats;

int trace_stats_new(struct trace_stats **out, const struct trace_stats_options *opt,
                    struct error *err);
void trace_stats_free(struct trace_stats *s); /* NULL is fine */

/* Read the trace at `path` to the end, counting every transaction and
 * keeping its summary line.  Errors are the reader's, located. */
int trace_stats_collect(struct trace_stats *s, const char *path, struct error *err);

/* Count one transaction (for callers that read traces themselves). */
int trace_stats_add(struct trace_stats *s, const struct trace_tx *tx, struct error *err);

/* Append the report as aligned text, or as one JSON object and a newline.
 * ERR_INPUT when the summary line is malformed (the message says where). */
int trace_stats_render_text(const struct trace_stats *s, struct buf *out, struct error *err);
int trace_stats_render_json(const struct trace_stats *s, struct buf *out, struct error *err);

#endif
