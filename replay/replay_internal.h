/*
 * replay_internal.h — what the replay engine's orchestration (replay.c) and
 * its worker event loops (replay_worker.c) share.  Not a public interface.
 */
#ifndef REHEARSE_REPLAY_INTERNAL_H
#define REHEARSE_REPLAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "histogram.h"
#include "replay.h"
#include "results.h"
#include "trace_reader.h"

/* Start timed replays this long after replay_start, so the reader can fill
 * the queues before the first request is due. */
#define REPLAY_LEAD_US 100000

/* What one target answered to one transaction, with the memory behind it. */
struct tx_result {
    struct result_target r;
    char *error_message;          /* owned */
    char *store;                  /* owned: arrays, header bytes, reason, body */
    struct http_header *headers;  /* in store */
    struct http_header *trailers; /* in store */
    char *reason;                 /* in store */
    char *body;                   /* in store: the inline body */
};

/*
 * A transaction in flight through the engine: the owned copy of the trace
 * transaction (tx_clone) with this struct in its extra space, followed by
 * one tx_result per target.
 */
struct rtx {
    struct trace_tx *tx;
    struct rtx *next;             /* inbox queue, then the connection's list */
    int64_t offset_us;            /* capture offset, or seq/rate offset */
    unsigned pending;             /* targets that have not finished it */
    struct tx_result results[];   /* one per target */
};

/* A bounded queue from the reader to one worker. */
struct inbox {
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    struct rtx *head, *tail;
    size_t count, cap;
    bool closed;                  /* no more transactions will come */
    int wake_fd;                  /* eventfd the worker sleeps on */
};

/* Per-target counters of one worker; merged into the report at the end. */
struct target_stats {
    uint64_t requests;
    uint64_t errors[RESULT_ERROR_COUNT];
    uint64_t status[REPLAY_STATUS_CLASSES];
    uint64_t connections;
    uint64_t redacted_sent;
    uint64_t mixups;              /* connection identity violations (must stay 0) */
    struct histogram latency;         /* total_us */
    struct histogram lateness;        /* sent_us - scheduled_us */
};

struct worker;

/* Formatted results on their way to the writer: `count` lines, each
 * ending with a newline. */
struct out_line {
    struct out_line *next;
    size_t len;
    uint64_t count;
    char data[];
};

/* The whole run. */
struct replay {
    struct replay_config cfg;
    size_t target_count;
    unsigned worker_count;
    struct trace_reader *reader;
    struct results_writer *writer;
    struct results_header header;

    int64_t mono_start, wall_start; /* µs: CLOCK_MONOTONIC and CLOCK_REALTIME */
    int64_t origin;                 /* monotonic µs at which offset 0 is due */

    pthread_t reader_thread, writer_thread;
    bool reader_started, writer_started;
    struct worker **workers;
    unsigned workers_started;
    atomic_uint threads_running;    /* the last one out signals done_fd */
    int done_fd;

    /* stopping */
    atomic_int stop_level;          /* 0 running, 1 graceful, 2 abort in-flight */
    atomic_llong stop_deadline;     /* monotonic µs: graceful stop ends */
    pthread_mutex_t stop_lock;
    enum replay_stop_reason stop_reason;
    struct error stop_error;        /* trace or output error, or the fail-fast cause */

    /* results queue: workers -> writer */
    pthread_mutex_t out_lock;
    pthread_cond_t out_ready, out_room;
    struct out_line *out_head, *out_tail;
    size_t out_bytes, out_max;
    unsigned out_producers;         /* workers still running */
    bool out_failed;

    /* counters read by replay_progress */
    atomic_ullong read, selected, replayed;
    atomic_bool reading_done;
    atomic_ullong skipped[SKIP_COUNT];
    atomic_ullong requests[RESULTS_MAX_TARGETS];
    atomic_ullong errors[RESULTS_MAX_TARGETS];
};

int64_t replay_wall_us(const struct replay *r, int64_t mono);

/* Record why the run stops (the first reason wins) and begin stopping. */
void replay_request_stop(struct replay *r, enum replay_stop_reason reason,
                         const struct error *cause);

/* Hand formatted result lines (a list, `bytes` in all) to the writer, which
 * frees them; blocks while the queue is full.  false when the writer has
 * failed (the lines are freed). */
bool replay_emit_batch(struct replay *r, struct out_line *head, struct out_line *tail,
                       size_t bytes);

/* Workers (replay_worker.c). */
struct worker *worker_new(struct replay *r, unsigned index, unsigned concurrency_share,
                          struct error *err);
struct inbox *worker_inbox(struct worker *w);
void *worker_main(void *arg);
void worker_wake(struct worker *w);
/* Fold this worker's counters into `stats` (after it has exited). */
void worker_report(const struct worker *w, struct target_stats *stats);
void worker_free(struct worker *w);

/* Free an rtx and everything its results own. */
void rtx_free(struct rtx *t, size_t target_count);

#endif
