/*
 * replay.h — the replay engine: send a trace's requests to one or more
 * targets with libcurl, in captured order and timing, and stream what each
 * target answered into a results file (docs/results-format.md).  The user's
 * view is docs/cli/replay.md; this header is the library's.
 *
 * Threads (all started by replay_start):
 *   reader   streams the trace, applies the selection, hands transactions
 *            to workers through bounded queues (backpressure: memory stays
 *            bounded however long the trace);
 *   workers  N event loops (libcurl multi + epoll + timerfd); a captured
 *            connection belongs to one worker (by connection id) and is
 *            replayed on one target connection per target, its requests in
 *            captured order, each sent after the previous response;
 *   writer   writes finished results (formatted by the workers) to the file.
 *
 * Ordering and memory: a worker takes a transaction from its queue only
 * while fewer than `window` of its transactions are unfinished (not yet
 * answered by every target).  So a fast target runs at most `window`
 * transactions ahead of the slowest one on that worker, and results waiting
 * for the slowest target never exceed window x targets per worker.
 *
 * The engine never prints; progress is polled with replay_progress() and
 * the outcome comes back in a struct replay_report.
 */
#ifndef REHEARSE_REPLAY_H
#define REHEARSE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "errors.h"
#include "results.h"
#include "rewrite.h"
#include "selection.h"
#include "target.h"
#include "trace.h"

struct replay_config {
    const char *trace_path;
    const char *results_path;        /* unused by a dry run */
    struct replay_target targets[RESULTS_MAX_TARGETS];
    size_t target_count;
    const struct selection *selection; /* borrowed for the whole run */
    const struct rewrite_rules *rules; /* borrowed for the whole run */
    uint64_t limit;                  /* at most this many transactions; 0 = all */

    /* Timing: rate > 0 sends transaction k of the selection at k/rate s;
     * else speed > 0 scales captured time; speed 0 is "max". */
    double speed;
    double rate;
    unsigned concurrency;            /* in-flight requests per target; 0 = no cap */

    unsigned workers;                /* event-loop threads; 0 = one per CPU (max 8) */
    unsigned window;                 /* unfinished transactions per worker */
    unsigned queue;                  /* queued transactions per worker */
    int64_t timeout_us;              /* whole request */
    int64_t connect_timeout_us;
    int64_t conn_idle_us;            /* close a target connection whose captured
                                        connection was idle this long (capture time) */
    int64_t grace_us;                /* how long a stop waits for in-flight requests */
    uint64_t max_response;           /* hard cap on a response body (error too_large) */
    uint64_t max_inline_body;        /* larger bodies are kept as SHA-256 and size */
    bool fail_fast;                  /* stop at the first failed request */
    bool insecure;                   /* do not verify TLS certificates */
    const char *options_json;        /* recorded in the results header */

    /* Dry run: nothing is sent and no results file is written; instead this
     * is called for every request that would be sent (per target). */
    void (*dry_run)(void *arg, const struct trace_tx *tx, size_t target_index,
                    const struct replay_target *target, const struct outgoing *request);
    void *dry_run_arg;
};

/* Defaults: speed 1, 30 s timeout, 5 s connect timeout, window 1024, queue
 * 1024, conn_idle 60 s, grace 2 s, max_response 256 MiB, inline body 1 MiB. */
void replay_config_init(struct replay_config *c);

/* Why a replay ended before the end of its selection. */
#define REPLAY_STOP_MAP(X)                                                 \
    X(REPLAY_COMPLETE, "complete")                                         \
    X(REPLAY_STOP_SIGNAL, "signal")                                        \
    X(REPLAY_STOP_FAIL_FAST, "fail_fast")                                  \
    X(REPLAY_STOP_TRACE_ERROR, "trace_error")                              \
    X(REPLAY_STOP_OUTPUT_ERROR, "output_error")

enum replay_stop_reason {
#define REPLAY_STOP_ENUM(name, text) name,
    REPLAY_STOP_MAP(REPLAY_STOP_ENUM)
#undef REPLAY_STOP_ENUM
};
const char *replay_stop_name(enum replay_stop_reason r);

/* Status classes counted per target: 1xx..5xx, and anything else. */
#define REPLAY_STATUS_CLASSES RESULTS_STATUS_CLASSES

struct replay_target_report {
    char name[TARGET_NAME_MAX];
    uint64_t requests;                     /* finished, with or without error */
    uint64_t errors[RESULT_ERROR_COUNT];   /* by kind; [RESULT_ERROR_NONE] unused */
    uint64_t error_total;
    uint64_t status[REPLAY_STATUS_CLASSES];
    uint64_t latency_p50, latency_p90, latency_p99, latency_max; /* µs, total time */
    uint64_t lateness_p50, lateness_p99, lateness_max; /* µs, sent - scheduled */
    uint64_t connections;                  /* TCP connections opened */
    uint64_t redacted_sent;
};

struct replay_report {
    enum replay_stop_reason stop;
    char stop_message[ERROR_MESSAGE_MAX];  /* first failure for fail_fast */
    uint64_t read;                         /* transactions read from the trace */
    uint64_t replayed;                     /* results written */
    uint64_t unfinished;                   /* started but cut off by a stop */
    uint64_t skipped[SKIP_COUNT];
    uint64_t redacted_sent;                /* requests, all targets */
    int64_t duration_us;
    size_t target_count;
    struct replay_target_report targets[RESULTS_MAX_TARGETS];
};

struct replay_progress {
    uint64_t read, selected, replayed;
    bool total_known;                     /* selected is final (trace read) */
    uint64_t total;                       /* when known: what will be replayed */
    size_t target_count;
    uint64_t requests[RESULTS_MAX_TARGETS];
    uint64_t errors[RESULTS_MAX_TARGETS];
};

struct replay;

/* Open the trace and the results file and start the threads.  The caller
 * should block SIGINT/SIGTERM first if it wants to handle them (threads
 * inherit the signal mask). */
int replay_start(struct replay **out, const struct replay_config *cfg, struct error *err);

/* A file descriptor that becomes readable when the replay has finished
 * (poll it next to a signalfd). */
int replay_done_fd(const struct replay *r);

void replay_progress(struct replay *r, struct replay_progress *p);

/* Stop: the first call stops sending and gives in-flight requests the grace
 * period; a second call aborts them at once.  Safe from any thread. */
void replay_stop(struct replay *r);

/*
 * Wait for the threads, write the summary line and close the results file
 * (renamed into place even when the replay was stopped: what completed is
 * valid, and the summary says it was interrupted).  Fills the report.
 * Returns 0, or the error that ended the run (a bad trace line: ERR_INPUT
 * with its location; a results file that could not be written: ERR_IO).
 * Frees r.
 */
int replay_finish(struct replay *r, struct replay_report *report, struct error *err);

#endif
