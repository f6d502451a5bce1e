/*
 * selection.h — which transactions of a trace a replay sends
 * (docs/cli/replay.md, "Selecting transactions").
 *
 * Applied in this order to each transaction as the trace streams by:
 *   1. the slice  --from/--to      by capture time or transaction id
 *   2. the shard  --shard I/N      by connection id
 *   3. the sample --sample P       by connection id
 *   4. the filter --include/--exclude by method and path
 * (then the replay engine checks the request can be sent, and --limit).
 *
 * Shard and sample hash the connection id (two independent hashes), so a
 * captured connection is taken or dropped whole, the same way on every
 * run and on every machine: shards 0..N-1 partition the trace exactly.
 */
#ifndef REHEARSE_SELECTION_H
#define REHEARSE_SELECTION_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "trace.h"

/* Why a transaction was not replayed. X(enum, name in the results summary) */
#define SKIP_REASON_MAP(X)                                                         \
    X(SKIP_OUT_OF_SLICE, "out_of_slice", "before --from")                          \
    X(SKIP_OTHER_SHARD, "other_shard", "belongs to another --shard")               \
    X(SKIP_NOT_SAMPLED, "not_sampled", "connection not in the --sample")           \
    X(SKIP_FILTERED, "filtered", "excluded by --include/--exclude")                \
    X(SKIP_INCOMPLETE, "request_incomplete",                                       \
      "the captured request is incomplete (gap, truncated or capped body)")        \
    X(SKIP_UPGRADE, "upgrade", "CONNECT or protocol upgrade: not HTTP/1.x after")  \
    X(SKIP_UNSENDABLE, "unsendable",                                               \
      "the request cannot be sent as captured (invalid bytes, unframed body)")

enum skip_reason {
#define SKIP_ENUM(name, text, description) name,
    SKIP_REASON_MAP(SKIP_ENUM)
#undef SKIP_ENUM
    SKIP_COUNT,
    SKIP_NONE = SKIP_COUNT /* taken */
};

const char *skip_reason_name(enum skip_reason r);
const char *skip_reason_description(enum skip_reason r);

/* One end of a slice: an offset from the trace start ("30s"), an absolute
 * capture time in µs since the epoch ("@1700000000123456"), or a
 * transaction id ("#120"). */
enum bound_kind { BOUND_NONE, BOUND_OFFSET, BOUND_ABSOLUTE, BOUND_TX };

struct bound {
    enum bound_kind kind;
    int64_t value; /* µs for OFFSET/ABSOLUTE, transaction id for TX */
};

/* Parse a bound; ERR_USAGE with a message naming `option` on bad syntax. */
int bound_parse(const char *option, const char *text, struct bound *out, struct error *err);

#define SELECTION_MAX_RULES 64

struct path_filter {
    char methods[256]; /* "GET|HEAD", or "" for any method */
    regex_t re;        /* anchored ERE over the path (target without query) */
    char text[512];    /* as given, for messages and the results header */
};

struct selection {
    struct bound from, to;       /* --from inclusive, --to exclusive */
    double sample_percent;       /* 100 = every connection */
    uint32_t shard_index, shard_count; /* shard_count 0 = no sharding */
    struct path_filter include[SELECTION_MAX_RULES];
    struct path_filter exclude[SELECTION_MAX_RULES];
    unsigned include_count, exclude_count;
    int64_t trace_start_us;      /* for offsets; set by selection_begin */
};

void selection_init(struct selection *s);
void selection_release(struct selection *s);

/* "I/N" with 0 <= I < N. */
int selection_set_shard(struct selection *s, const char *text, struct error *err);
/* A percentage in (0, 100]. */
int selection_set_sample(struct selection *s, double percent, struct error *err);
/* "[METHODS ]REGEX": METHODS is a method, "GET|HEAD", or "*"; the POSIX
 * extended REGEX must match the whole path. */
int selection_add_filter(struct selection *s, bool include, const char *text,
                         struct error *err);

/* The trace's start, for offsets: the header's capture_start_us, else the
 * first transaction's request time.  Call once before the first check. */
void selection_begin(struct selection *s, int64_t trace_start_us);

enum slice_position { SLICE_BEFORE, SLICE_IN, SLICE_AFTER };
/* Where the transaction lies relative to --from/--to.  Traces are in
 * capture order, so SLICE_AFTER means no later transaction can be in. */
enum slice_position selection_slice(const struct selection *s, const struct trace_tx *tx);

/* Shard, sample and filter, for a transaction inside the slice:
 * SKIP_NONE when it is taken, else why not. */
enum skip_reason selection_pick(const struct selection *s, const struct trace_tx *tx);

/* Whether the transaction belongs to this --shard (true without one). */
bool selection_in_shard(const struct selection *s, const struct trace_tx *tx);

/* The deterministic hashes behind --shard and --sample (exposed for tests). */
uint32_t selection_shard_of(uint64_t conn, uint32_t shard_count);
bool selection_sampled(uint64_t conn, double percent);

#endif
