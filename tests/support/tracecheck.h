/*
 * tracecheck.h — run `rehearse capture` on a crafted capture file and look
 * at the trace it wrote, line by line, with jansson.
 */
#ifndef REHEARSE_TEST_TRACECHECK_H
#define REHEARSE_TEST_TRACECHECK_H

#include <jansson.h>
#include <stdbool.h>

#include "testutil.h"

struct trace_lines {
    json_t *header;   /* first line */
    json_t *txs;      /* array of transaction objects, in file order */
    json_t *summary;  /* the summary line, or NULL */
};

/* Parse a trace file; aborts the test (criterion assert) on bad JSON. */
void trace_lines_load(struct trace_lines *t, const char *path);
void trace_lines_free(struct trace_lines *t);

/*
 * Run `rehearse capture -r PCAP -o TRACE [extra args...] NULL` and load the
 * trace.  Returns the exit code; res keeps the output (free it).
 */
int capture_file(struct run_result *res, struct trace_lines *t, const char *pcap,
                 const char *trace, ...);

size_t tx_count(const struct trace_lines *t);
json_t *tx_get(const struct trace_lines *t, size_t i);
bool tx_has_flag(json_t *tx, const char *flag);
/* "request.method", "response.status", "request.body": dotted paths. */
json_t *jpath(json_t *obj, const char *path);
const char *jstr(json_t *obj, const char *path);   /* "" when absent */
long long jint(json_t *obj, const char *path);     /* -1 when absent */
/* Header value by name (first match, case-insensitive), or NULL. */
const char *tx_header(json_t *tx, const char *msg, const char *name);
/* summary.skipped.REASON.count (0 when absent) and .bytes. */
long long skipped_count(const struct trace_lines *t, const char *reason);
long long skipped_bytes(const struct trace_lines *t, const char *reason);

#endif
