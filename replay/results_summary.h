/*
 * results_summary.h — the summary line of a results file
 * (docs/results-format.md, "Summary"): what a replay read, replayed and
 * skipped, and per target its requests, errors, status classes and latency
 * histograms.  The replay builds and writes one; `rehearse merge` reads the
 * summaries of a replay's shards back and adds them up into the summary
 * one unsharded run would have written: counts add, histograms merge
 * bucket by bucket, percentiles are read from the merged histograms.
 *
 * A struct results_summary is large (two histograms per target): allocate
 * it.  It holds no pointers.
 */
#ifndef REHEARSE_RESULTS_SUMMARY_H
#define REHEARSE_RESULTS_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "histogram.h"
#include "results.h"
#include "selection.h"

struct results_target_summary {
    uint64_t requests;                          /* finished, with or without error */
    uint64_t errors[RESULT_ERROR_COUNT];        /* by kind; [RESULT_ERROR_NONE] unused */
    uint64_t status[RESULTS_STATUS_CLASSES];
    uint64_t connections;                       /* TCP connections opened */
    uint64_t redacted_sent;
    struct histogram latency;                   /* total_us */
    struct histogram lateness;                  /* sent_us - scheduled_us */
    bool lateness_known;  /* read back: the file had lateness_buckets (older ones do not) */
};

struct results_summary {
    bool interrupted;
    char stop_reason[32];      /* "" when not interrupted */
    char stop_message[ERROR_MESSAGE_MAX];
    int64_t finished_us, duration_us; /* RESULTS_TIME_NONE when unknown */
    uint64_t read, replayed, unfinished;
    uint64_t skipped[SKIP_COUNT];
    uint64_t redacted_sent;
    uint32_t shards;           /* merged from this many shards; 0 for one run */
    size_t target_count;       /* as in the header */
    struct results_target_summary targets[RESULTS_MAX_TARGETS];
};

/* Everything zero and the histograms empty. */
void results_summary_init(struct results_summary *s, size_t target_count);

/* Serialise as the summary object (without "type"); target names from h.
 * 0 or ERR_TOOBIG. */
int results_summary_to_json(struct buf *out, const struct results_summary *s,
                            const struct results_header *h);

/*
 * Read a summary object back (the "type":"summary" line of a results file
 * whose header is h).  `where` locates it in messages ("shard1.jsonl:412").
 * ERR_INPUT naming the field when it is not of the documented shape:
 * counts must be non-negative integers, histogram buckets in range, each
 * latency maximum inside its histogram's highest bucket, skip reasons and
 * error kinds known to this version.
 */
int results_summary_from_json(struct results_summary *s, json_t *obj,
                              const struct results_header *h, const char *where,
                              struct error *err);

/*
 * Add the summary of one shard (`label` names it in a stop message, e.g.
 * "shard 2/4 (r2.jsonl)").  What the shard read but left to other shards
 * (skipped.other_shard) is not counted: once every shard is added, "read"
 * and the skip counts are those of one run over the whole trace.
 * duration_us is left to the caller (it spans the shards' start times).
 */
void results_summary_add_shard(struct results_summary *into, const struct results_summary *shard,
                               const char *label);

#endif
