/*
 * runner.h — run a checked scenario: prepare the databases, run the steps,
 * always run the `always` steps, stop everything, keep the journal.
 *
 *   setup    the run directory (0700), the guardian, the embedded PostgreSQL
 *            (its log in logs/postgres.log), databases created and loaded,
 *            clones made, external databases reached, service ports chosen;
 *   steps    in order; the first failure (unless the step says
 *            "on_failure": "continue"), a crashed service, the embedded
 *            server exiting, or SIGINT/SIGTERM/SIGHUP stops them: what runs is
 *            interrupted, what has not started is skipped;
 *   always   every one of them, whatever happened (once the setup succeeded);
 *            signals do not interrupt them until the third one;
 *   teardown every service stopped (its stop signal, then SIGKILL to its
 *            process group), the embedded server stopped, the journal closed.
 *
 * The outcome and exit code:  0 passed — every step ok, every assertion
 * held;  1 failed — a step failed, an assertion failed, or a service
 * crashed;  3 error — the environment failed (PostgreSQL, I/O, a database
 * unreachable or lost) or the run was interrupted by a signal;  2 — a setup
 * SQL file was rejected (bad input, located).
 *
 * The runner installs its own handlers for SIGINT, SIGTERM and SIGHUP for the
 * duration of runner_run() and restores the previous ones after.
 */
#ifndef REHEARSE_RUNNER_H
#define REHEARSE_RUNNER_H

#include <stdbool.h>

#include "errors.h"
#include "scenario.h"
#include "step.h"

enum runner_phase { RUNNER_SETUP, RUNNER_STEPS, RUNNER_ALWAYS, RUNNER_TEARDOWN };

/* What the progress callback sees: one event when a step begins, one when
 * it ends (then status, duration and message are set). */
struct runner_event {
    enum runner_phase phase;
    const struct step *step;   /* NULL for phase announcements */
    int depth;                 /* 0 for top-level steps, 1 inside a parallel block ... */
    int index, total;          /* 1-based position among the top-level steps of the phase */
    bool begin;
    enum step_status status;
    double duration_ms;
    const char *message;       /* failure or note, may be empty */
};

struct runner_options {
    const char *run_dir;       /* created 0700; must not exist or be empty */
    bool keep_db;              /* keep the embedded cluster's data directory */
    void (*on_event)(void *ctx, const struct runner_event *event);
    void *ctx;
};

struct runner_result {
    int exit_code;
    char status[16];           /* passed, failed, error, interrupted */
    char reason[ERROR_MESSAGE_MAX]; /* why it is not "passed" */
    char journal[4096];        /* path of journal.json */
    int steps_ok, steps_failed, steps_skipped;
    int assertions_passed, assertions_failed;
    /* The reports (run_report.h), when the scenario has a diff step. */
    char report_html[4096];    /* "" when none was written */
    char report_verdict[16];   /* pass, regressions, no_data */
    char report_summary[1024]; /* or why no report was written */
};

/* Run `s`.  Returns the exit code (also in res).  Problems that prevent even
 * the journal from being written are returned as a negative code in err. */
int runner_run(const struct scenario *s, const struct runner_options *options,
               struct runner_result *res, struct error *err);

#endif
