/*
 * fault_windows.h — the faults a run applied, and the promise that each one
 * is lifted.
 *
 * Every fault step records its fault here when it applies it: what (a toxic,
 * a link down, a paused service, a held lock ...), where (a link, a service,
 * a database), when it began, what applying it did, and — for a fault that
 * lasts — how to lift it.  The step lifts it itself when its duration has
 * passed (or when the run is stopped); whatever is still active when the run
 * enters its `always` steps, or ends, is lifted by the runner through
 * fault_windows_end_all().  So a rollback never runs under a fault left
 * behind, and nothing outlives the run.
 *
 * The windows, with wall-clock and run-relative times, go to the journal's
 * "faults" array (docs/scenario-format.md) and from there to the report's
 * timeline, which lays them over each target's errors and latency.
 *
 * Thread-safe: fault steps run in parallel blocks.  A lift function runs
 * without the lock held, exactly once.
 */
#ifndef REHEARSE_FAULT_WINDOWS_H
#define REHEARSE_FAULT_WINDOWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* Lift a fault: undo it, and describe what that did in `effect` (an object
 * to fill).  Returns 0 or an error (recorded in the window). */
typedef int (*fault_lift_fn)(void *ctx, json_t *effect, struct error *err);

struct fault_window_spec {
    const char *step;     /* the fault step's name */
    const char *what;     /* "toxic", "down", "kill", "pause", "restart", "terminate",
                             "cancel", "lock" */
    const char *where;    /* "link new_db", "service new", "database new_db" */
    const char *detail;   /* e.g. the toxic's canonical spec; NULL: none */
    int64_t planned_us;   /* the duration asked for; 0: until lifted / instant */
};

struct fault_windows;

/* run_start_us: run_clock_us() at the start of the run (for *_ms offsets). */
int fault_windows_new(struct fault_windows **out, int64_t run_start_us, struct error *err);
/* Lifts nothing: call fault_windows_end_all() first. NULL is fine. */
void fault_windows_free(struct fault_windows *w);

/*
 * Record a fault that has just been applied.  `applied` describes what
 * applying it did (stolen; NULL: none).  `lift` NULL makes an instant fault
 * (a kill, a terminate): its window ends when it begins.  Otherwise `ctx` is
 * handed to `lift` once, then to `free_ctx` (may be NULL).  Returns the
 * window's id (>= 0), or -1 when out of memory — then the fault has been
 * lifted already, so nothing is left active untracked.
 */
int fault_windows_begin(struct fault_windows *w, const struct fault_window_spec *spec,
                        json_t *applied, fault_lift_fn lift, void *ctx,
                        void (*free_ctx)(void *ctx));

/* Lift window `id` if it is still active; `by` says why ("duration",
 * "interrupted", "always", "exit").  Returns 0, or the lift's error.  A
 * window already ended is left as it is (0). */
int fault_windows_end(struct fault_windows *w, int id, const char *by, struct error *err);

/* Lift every active window.  Returns how many there were. */
size_t fault_windows_end_all(struct fault_windows *w, const char *by);

/* A copy of window `id` for a step's outputs (new reference), or NULL. */
json_t *fault_windows_get(struct fault_windows *w, int id);
/* The journal's "faults" array (new reference). */
json_t *fault_windows_json(struct fault_windows *w);

#endif
