/*
 * har.h — HAR 1.2 (HTTP Archive, what browsers' developer tools, proxies
 * such as mitmproxy, Charles and Fiddler, and many test tools export) to and
 * from rehearse traces (docs/trace-format.md).  Mapping: docs/cli/trace.md.
 *
 * Both directions stream.  Import walks the HAR with common/json_stream.h so
 * only one entry (at most `max_entry` bytes of JSON) plus a small reorder
 * window is in memory, whatever the file size; export reads the trace line
 * by line and writes the HAR incrementally through common/outfile.h (temp
 * file + rename, so a reader never sees half a HAR).
 *
 * What import cannot carry over exactly is never dropped silently: each case
 * is counted under a reason (skipped) or a note (changed), printed by the
 * CLI and written to the trace's summary line for `rehearse trace stats`.
 */
#ifndef REHEARSE_HAR_H
#define REHEARSE_HAR_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* Entries not imported.  X(enum, name in the summary, description) */
#define HAR_SKIP_MAP(X)                                                                     \
    X(HAR_SKIP_NOT_HTTP, "not_http",                                                        \
      "entries whose URL is not http:, https:, ws: or wss: (data:, blob:, extensions)")

/* Entries imported with a change. */
#define HAR_NOTE_MAP(X)                                                                      \
    X(HAR_NOTE_HTTP2, "http2_as_http11",                                                     \
      "HTTP/2 entries imported as HTTP/1.1: pseudo-headers dropped, Host from :authority")    \
    X(HAR_NOTE_HTTP3, "http3_as_http11",                                                     \
      "HTTP/3 entries imported as HTTP/1.1: pseudo-headers dropped, Host from :authority")    \
    X(HAR_NOTE_UNKNOWN_VERSION, "unknown_version",                                           \
      "entries with an empty or unknown httpVersion, imported as HTTP/1.1")                  \
    X(HAR_NOTE_HOST_ADDED, "host_added",                                                     \
      "HTTP/1.x requests without a Host header: one was added from the URL")                 \
    X(HAR_NOTE_NO_RESPONSE, "no_response",                                                   \
      "entries with response status 0 (failed, blocked or cancelled): imported without a "   \
      "response")                                                                             \
    X(HAR_NOTE_DECODED_BODY, "decoded_body",                                                 \
      "responses whose HAR body was already decoded: Content-Encoding and Content-Length "   \
      "headers removed so the body matches its headers")                                     \
    X(HAR_NOTE_BODY_MISSING, "body_missing",                                                 \
      "messages whose body the HAR does not hold: stored empty, with the size it reported")  \
    X(HAR_NOTE_REORDERED, "reordered",                                                       \
      "entries moved into start-time order (the HAR listed a later entry first)")            \
    X(HAR_NOTE_OUT_OF_ORDER, "out_of_order",                                                 \
      "entries further out of start-time order than the reorder window: kept in file order") \
    X(HAR_NOTE_CONN_UNTRACKED, "connections_untracked",                                      \
      "entries on connections beyond the tracked maximum: given a connection of their own")

enum har_skip {
#define HAR_ENUM(name, text, description) name,
    HAR_SKIP_MAP(HAR_ENUM)
    HAR_SKIP_COUNT
};
enum har_note {
    HAR_NOTE_MAP(HAR_ENUM)
#undef HAR_ENUM
    HAR_NOTE_COUNT
};

const char *har_skip_name(enum har_skip s);
const char *har_skip_description(enum har_skip s);
const char *har_note_name(enum har_note n);
const char *har_note_description(enum har_note n);

#define HAR_DEFAULT_REORDER_WINDOW 1024
#define HAR_MAX_CONNECTIONS 1000000

struct redactor;

struct har_import_options {
    size_t max_entry;      /* largest entry, bytes of JSON; 0 = 512 MiB */
    size_t reorder_window; /* entries held to restore start-time order; 0 = default */
    /* Secret header values are replaced as capture does (common/redact.h)
     * and the transaction flagged `redacted`; values already redacted (a
     * HAR exported by rehearse) stay as they are.  Borrowed; NULL keeps
     * every value as the HAR has it. */
    const struct redactor *redactor;
};

struct har_import_result {
    uint64_t entries;      /* entries read */
    uint64_t transactions; /* transactions written */
    uint64_t redacted;     /* transactions with secret values redacted */
    uint64_t skipped[HAR_SKIP_COUNT];
    uint64_t notes[HAR_NOTE_COUNT];
};

/* Convert the HAR at har_path ("-" = stdin; gzip is read transparently)
 * into a trace at trace_path.  On failure nothing is left under trace_path
 * and err says where the HAR is wrong: "x.har:LINE:COL: log.entries[3].
 * request.url: missing; ...". */
int har_import(const char *har_path, const char *trace_path,
               const struct har_import_options *opt, struct har_import_result *res,
               struct error *err);

struct har_export_result {
    uint64_t entries;
    uint64_t no_response;     /* written with status 0, as browsers do */
    uint64_t encoded_bodies;  /* content kept Content-Encoded (marked _contentEncoding) */
    uint64_t clamped_timings; /* negative phases (response before request end) set to 0 */
};

/* Convert the trace at trace_path into a HAR 1.2 file at har_path ("-" =
 * stdout).  On failure the partial output is removed. */
int har_export(const char *trace_path, const char *har_path, struct har_export_result *res,
               struct error *err);

#endif
