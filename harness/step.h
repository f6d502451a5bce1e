/*
 * step.h — the interface every scenario step kind implements.
 *
 * A kind is a name (the key that selects it in a step object), a parser for
 * its value, a run function, and the metrics it publishes.  The runner owns
 * everything else: ordering, `at` offsets, the journal record (start, end,
 * status), the `<kind>.<step>.duration_ms` metric, stopping the run when a
 * step fails, interruption.  Adding a kind is one module plus one line in
 * the table in step_kinds.c; nothing in the runner changes.
 *
 * Run functions are called from the runner's thread or, inside a parallel
 * block, from a thread of their own: they must only touch their step's data
 * and the run through the step_run_* functions below (which are
 * thread-safe).  Long waits must be interruptible: poll
 * step_run_stopped() / run_control_fd(), or sleep with step_run_sleep().
 */
#ifndef REHEARSE_STEP_H
#define REHEARSE_STEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"

enum step_status {
    STEP_PENDING,     /* not started yet */
    STEP_RUNNING,
    STEP_OK,
    STEP_FAILED,      /* a finding: the migration failed, an assertion failed (exit 1) */
    STEP_ERROR,       /* the environment failed: database gone, I/O (exit 3) */
    STEP_INTERRUPTED, /* stopped by a signal or because another part of the run failed */
    STEP_SKIPPED,     /* never started because the run had stopped */
};

const char *step_status_name(enum step_status status); /* "ok", "failed", ... */

struct step_run;

struct step_kind {
    const char *name;        /* "sql" */
    const char *summary;     /* one line for docs and --help */
    /* Non-NULL for a reserved kind that this build cannot run; the text says
     * what it needs, e.g. "the replay engine". */
    const char *unavailable;
    /* Metric names published per step, after "<kind>.<step>." (duration_ms
     * is published for every kind by the runner), NULL-terminated. A "*"
     * component stands for a name known only at run time (a target). */
    const char *const *measures;
    /* Parse `value` (the member named after the kind) into step->data.
     * Problems go to scenario_error(); return false when there were any. */
    bool (*parse)(struct scenario_parser *p, struct step *step, const json_t *value,
                  const char *pointer);
    enum step_status (*run)(struct step_run *run, const struct step *step);
    void (*free)(void *data);
    /* Optional: make the step's main output at the end of a run that never
     * ran the step to its end (a run cut short), from what exists in
     * run_dir; write its path into out.  The diff step uses it so that an
     * interrupted rehearsal still gets its reports. */
    int (*finish)(const struct step *step, const char *run_dir, char *out, size_t size,
                  struct error *err);
    /* Default for the step's "on_failure" when it does not say. */
    enum step_on_failure default_on_failure;
};

/* The kinds this build knows, reserved ones included. */
const struct step_kind *step_kind_find(const char *name);
const struct step_kind *const *step_kinds(void); /* NULL-terminated */

/* ---- what a running step may use ---------------------------------------- */

struct run_control;
struct supervisor;
struct fault_proxy;
struct fault_windows;
struct subst;
struct buf;

/* Interruptible sleep; false when the run was stopped meanwhile. */
bool step_run_sleep(struct step_run *run, int64_t us);
bool step_run_stopped(struct step_run *run);
struct run_control *step_run_control(struct step_run *run);
struct supervisor *step_run_supervisor(struct step_run *run);
const struct scenario *step_run_scenario(struct step_run *run);
/* libpq conninfo of a scenario database (with its password, for connecting;
 * never print it: use step_run_database_display). Borrowed for the run. */
const char *step_run_conninfo(struct step_run *run, int database);
const char *step_run_database_display(struct step_run *run, int database);
/* The database's name on its server (what pg_stat_activity.datname says). */
const char *step_run_dbname(struct step_run *run, int database);
/* The run's fault proxy (NULL when the scenario declares no links); links
 * are named as in the scenario.  Thread-safe (fault_proxy.h). */
struct fault_proxy *step_run_proxy(struct step_run *run);
/* Where fault steps record their faults, and how they are lifted
 * (fault_windows.h). */
struct fault_windows *step_run_faults(struct step_run *run);
/* Expand a template parsed with scenario_template() (its references to
 * databases, services, links and directories). */
int step_run_expand(struct step_run *run, const struct subst *t, struct buf *out,
                    struct error *err);
/* The run directory (absolute). */
const char *step_run_run_dir(struct step_run *run);
/* "RUN_DIR/steps/<step>", the directory of any step's files (not created:
 * it exists once that step wrote something). */
void step_run_step_dir(struct step_run *run, const char *step, char *out, size_t size);
/* Directory for this step's files, "steps/<name>" under the run directory,
 * created (0700) on first use. Returns 0 or an error. */
int step_run_dir(struct step_run *run, char *out, size_t size, struct error *err);
/* Microseconds since the step started (monotonic). */
int64_t step_run_elapsed_us(struct step_run *run);
/* Milliseconds since the run started (monotonic), as in the journal. */
double step_run_offset_ms(struct step_run *run);

/* Journal outputs of this step: outputs[key] = value (the reference is
 * stolen). */
void step_run_output(struct step_run *run, const char *key, json_t *value);
/* Publish a metric "<kind>.<step>.<measure>" (see metrics.h). */
void step_run_metric(struct step_run *run, const char *measure, double value);
/* Publish a metric with a full name (for kinds that publish per target). */
void step_run_metric_named(struct step_run *run, const char *name, double value);
/* Look up a metric published so far. */
bool step_run_metric_get(struct step_run *run, const char *name, double *value);
/* Record one assertion result in the journal (stolen reference). */
void step_run_assertion(struct step_run *run, json_t *result, bool passed);
/* Set the step's message and return `status` — for one-line failures:
 *     return step_run_fail(run, STEP_FAILED, "expected ..., got ...");  */
enum step_status step_run_fail(struct step_run *run, enum step_status status, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));
/* Run a child step (parallel blocks); it is journaled under this step. */
enum step_status step_run_child(struct step_run *run, const struct step *child);

#endif
