/*
 * results.h — the results file written by `rehearse replay` and read by
 * `rehearse diff` (format: docs/results-format.md).
 *
 * One record per replayed transaction holds what every target answered, and
 * the response captured in the trace, so the diff needs nothing else.
 * Records are streamed in both directions; all pointers in a record read
 * back are borrowed until the next results_reader_next() call.
 */
#ifndef REHEARSE_RESULTS_H
#define REHEARSE_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "trace.h"

#define RESULTS_FORMAT_NAME "rehearse-results"
#define RESULTS_FORMAT_VERSION 1
#define RESULTS_MAX_TARGETS 16
#define RESULTS_TIME_NONE INT64_MIN

/* How a request to a target failed. X(enum, name in the file, description) */
#define RESULT_ERROR_MAP(X)                                                                   \
    X(RESULT_ERROR_NONE, "none", "no error")                                                  \
    X(RESULT_ERROR_CONNECT_REFUSED, "connect_refused", "the target refused the connection")  \
    X(RESULT_ERROR_CONNECT_TIMEOUT, "connect_timeout", "connecting to the target timed out") \
    X(RESULT_ERROR_TIMEOUT, "timeout", "the response did not complete in time")              \
    X(RESULT_ERROR_RESET, "reset", "the connection was reset or closed mid-response")        \
    X(RESULT_ERROR_MALFORMED, "malformed_response", "the target's answer was not valid HTTP") \
    X(RESULT_ERROR_RESOLVE, "resolve", "the target's host name could not be resolved")       \
    X(RESULT_ERROR_TOO_LARGE, "too_large", "the response exceeded the hard size limit")      \
    X(RESULT_ERROR_OTHER, "other", "another transfer error (see the message)")

enum result_error {
#define RESULT_ERROR_ENUM(name, text, description) name,
    RESULT_ERROR_MAP(RESULT_ERROR_ENUM)
#undef RESULT_ERROR_ENUM
    RESULT_ERROR_COUNT
};

/* Responses are counted by status class: 1xx..5xx, and anything else. */
#define RESULTS_STATUS_CLASSES 6
/* 0 for 1xx .. 4 for 5xx, 5 for any other status; and the class's name. */
unsigned results_status_class(int status);
const char *results_status_class_name(unsigned index);

const char *result_error_name(enum result_error e);
const char *result_error_description(enum result_error e);
/* The error for a name, or RESULT_ERROR_OTHER when unknown. */
enum result_error result_error_lookup(const char *name);

struct results_target_info {
    char name[64];
    char url[1024];
};

struct results_header {
    int version;
    char trace[1024];     /* the trace that was replayed */
    int64_t started_us;   /* µs since the epoch */
    char created_by[64];
    size_t target_count;
    struct results_target_info targets[RESULTS_MAX_TARGETS];
    /* Replay options as a JSON object text when writing (may be NULL);
     * when reading, see results_reader_options(). */
    const char *options_json;
    /* The replayed trace's header line, without "split", as a JSON object
     * text when writing (may be NULL): it identifies the trace whatever its
     * path, so the shards of one replay can be recognised.  When reading,
     * see results_reader_trace_header(). */
    const char *trace_header_json;

    /* Filled in when reading (not written as such): */
    uint32_t shard_index, shard_count; /* options "shard"; shard_count 0: none */
    char trace_id[17];   /* digest of "trace_header" ("" when absent) */
    char options_id[17]; /* digest of "options" without "shard" */
};

/* What one target answered to one transaction. */
struct result_target {
    enum result_error error;
    int curl_code;             /* 0 when no error */
    const char *error_message; /* NULL when no error */
    bool has_response;         /* a status line and headers arrived */
    struct http_message response;
    /* The body was larger than the inline cap: response.body is empty,
     * response.body_size and body_sha256 describe it. */
    bool body_omitted;
    char body_sha256[65];      /* lowercase hex, or "" when not computed */
    int64_t scheduled_us;      /* when the capture's timing said to send */
    int64_t sent_us;           /* when it was actually sent */
    /* Durations from sent_us in µs, RESULTS_TIME_NONE when unknown. */
    int64_t connect_us, first_byte_us, total_us;
};

struct result_record {
    uint64_t tx;   /* transaction id in the trace */
    uint64_t conn; /* connection id in the trace */
    const char *method, *target, *host; /* the captured request line and Host */
    bool has_captured;                  /* the trace held a response */
    struct http_message captured;       /* the production response */
    uint32_t captured_flags;            /* the trace transaction's TX_FLAG bits */
    size_t target_count;
    struct result_target *targets; /* in the order of the header's targets */
};

struct results_writer;
struct results_reader;

/* Writing: open writes the header line; records and the summary stream to
 * PATH.partial, renamed to PATH by close (common/outfile.h). */
int results_writer_open(struct results_writer **out, const char *path,
                        const struct results_header *header, struct error *err);
int results_writer_write(struct results_writer *w, const struct result_record *rec,
                         struct error *err);
/* Serialise a record as results_writer_write() would, without the newline,
 * onto `out` (so threads can format records in parallel); target names come
 * from `h`.  0, ERR_TOOBIG or ERR_STATE (target count mismatch). */
int results_record_to_json(struct buf *out, const struct results_header *h,
                           const struct result_record *rec);
/* Append a record serialised by results_record_to_json (no newline). */
int results_writer_write_line(struct results_writer *w, const char *line, size_t len,
                              struct error *err);
/* Append `count` such records at once, each already followed by '\n'. */
int results_writer_write_lines(struct results_writer *w, const char *lines, size_t len,
                               uint64_t count, struct error *err);
/* `object`: a JSON object text; written as {"type":"summary",...}. */
int results_writer_write_summary(struct results_writer *w, const char *object,
                                 struct error *err);
int results_writer_flush(struct results_writer *w, struct error *err);
int results_writer_close(struct results_writer *w, struct error *err);
/* Close and delete the .partial file (a run that could not start); NULL ok. */
void results_writer_discard(struct results_writer *w);
uint64_t results_writer_count(const struct results_writer *w);

/* Reading. max_line 0 = default. */
int results_reader_open(struct results_reader **out, const char *path, size_t max_line,
                        struct error *err);
const struct results_header *results_reader_header(const struct results_reader *r);
/* The header's "options" and "trace_header" objects (borrowed), or NULL. */
json_t *results_reader_options(const struct results_reader *r);
json_t *results_reader_trace_header(const struct results_reader *r);

/*
 * Check that results files can be read together as shards of one replay
 * (their headers, read back, and paths, in the same order): the same
 * target names, the same trace (when both headers identify it), and,
 * among the files made with --shard, one shard count and no index twice.
 * RESULTS_TOGETHER_STRICT (for `rehearse merge`, whose output stands for
 * one replay of the whole trace) adds: the same target URLs and the same
 * options but the shard, every file a shard, every shard present.
 * ERR_INPUT naming the files and what differs.
 */
#define RESULTS_TOGETHER_STRICT 1u
int results_check_together(const struct results_header *const *headers,
                           const char *const *paths, size_t n, unsigned flags,
                           struct error *err);
/* 1 with *rec set, 0 at the end, or a negative error naming file and line. */
int results_reader_next(struct results_reader *r, const struct result_record **rec,
                        struct error *err);
/* The summary object once reached (borrowed), or NULL. */
json_t *results_reader_summary(const struct results_reader *r);
void results_reader_close(struct results_reader *r);

#endif
