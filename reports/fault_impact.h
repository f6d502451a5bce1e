/*
 * fault_impact.h — what each target of a rehearsal did around its faults:
 * from the replay results (docs/results-format.md) and the fault windows of
 * the run's journal, the series a report draws under its timeline (per
 * target: requests, failures and latency over time) and, per fault and
 * target, what happened while the fault was in force and how long the
 * target took to recover once it was lifted.
 *
 * Definitions (docs/report-format.md, "timeline.series" and "impact"):
 *   failed     a request that got no HTTP answer (an error of the replay:
 *              refused, reset, timeout ...) or a 5xx answer;
 *   during     a request in flight at some moment of the window: sent
 *              before it ended, finished after it began;
 *   hung       a request during the window that took longer than the hang
 *              threshold (1 s unless set), or timed out;
 *   recovery   for the requests sent after the window ended (until the next
 *              window begins): the time from the end of the window to the
 *              end of the last failed one, 0 when none failed; unknown
 *              (never recovered) when no request succeeded after it.
 *
 * Results files are streamed; memory is bounded by the number of targets,
 * windows and series buckets (at most FAULT_IMPACT_MAX_BUCKETS: buckets
 * widen as the run grows), never by the number of requests.
 */
#ifndef REHEARSE_FAULT_IMPACT_H
#define REHEARSE_FAULT_IMPACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define FAULT_IMPACT_MAX_BUCKETS 240
#define FAULT_IMPACT_MAX_TARGETS 16
#define FAULT_IMPACT_MAX_WINDOWS 256

/* A fault window in wall-clock microseconds since the epoch (the clock of
 * the results' sent_us).  end_us < start_us: still in force at the end. */
struct fault_impact_window {
    int64_t start_us, end_us;
};

struct fault_impact_options {
    int64_t origin_us;   /* the run's start: series times are offsets from it */
    int64_t bucket_us;   /* the finest series resolution; 0: 250 ms */
    int64_t hang_us;     /* 0: 1 s */
};

struct fault_impact;

int fault_impact_new(struct fault_impact **out, const struct fault_impact_options *o,
                     const struct fault_impact_window *windows, size_t nwindows,
                     struct error *err);
void fault_impact_free(struct fault_impact *fi);

/* Read one results file; targets of the same name in several files (the
 * replay steps of one run) add up.  ERR_INPUT (located) for a file that is
 * not a results file, ERR_IO, ERR_TOOBIG past FAULT_IMPACT_MAX_TARGETS. */
int fault_impact_add(struct fault_impact *fi, const char *results_path, struct error *err);

/* {"bucket_ms": B, "targets": [{"name": T, "points": [[t_ms, requests,
 * failed, p50_ms, p99_ms], ...]}]} — targets in the order first seen,
 * points for buckets that hold requests (new reference). */
json_t *fault_impact_series(const struct fault_impact *fi);

/* What each target did around window `w`: [{"target", "requests",
 * "failed", "errors": {KIND: N, "http_5xx": N}, "hung", "p50_ms", "p99_ms",
 * "after": N, "recovery_ms": MS or null}] (new reference; NULL when w is
 * out of range). */
json_t *fault_impact_window(const struct fault_impact *fi, size_t w);

#endif
