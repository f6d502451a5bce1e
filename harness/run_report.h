/*
 * run_report.h — the reports at the end of a rehearsal.
 *
 * The response diff of the run (a DIFF.json written by a diff step, or made
 * at the end from whatever the replays kept when the run was cut short) is
 * rendered by the report library (reports/report.h) with the context of the
 * run, built from its journal (docs/report-format.md, "The context"):
 *
 *   run         the scenario, its status — an interrupted run is marked
 *               incomplete —, start and duration;
 *   timeline    every step that ran (parallel children nested), the fault
 *               windows with what each target did during them and how long
 *               it took to recover (reports/fault_impact.h), the events
 *               (crashes, the database lost), and per target the series of
 *               requests, failures and latency over the run;
 *   assertions  every check of the run: asserts, and the expectations of
 *               snapshot and dbdiff steps (the rollback check);
 *   database    the old-vs-new database diff of a dbdiff step: schema
 *               changes (the migration's own, not regressions) and the
 *               tables whose rows differ (regressions).
 *
 * report.json, report.html, junit.xml and summary.md go to the run
 * directory, each written atomically.
 */
#ifndef REHEARSE_RUN_REPORT_H
#define REHEARSE_RUN_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "errors.h"

struct run_report_config {
    const char *run_dir;       /* absolute */
    const json_t *journal;     /* the run's journal as it ends */
    const char *diff_path;     /* the DIFF.json to render */
    const char *dbdiff_step;   /* the dbdiff step for the database section, or NULL */
};

struct run_report_result {
    char verdict[16];          /* "pass", "regressions", "no_data" */
    int exit_code;             /* the report's: 0 or 1 */
    char summary[1024];
    char html[4096];           /* path of report.html */
};

/* The context object for the report library (new reference), or NULL when
 * out of memory; problems reading results files become warnings in
 * `warnings` (an array to append strings to). */
json_t *run_report_context(const struct run_report_config *c, json_t *warnings);

/* Build the context, render the reports into the run directory. */
int run_report_write(const struct run_report_config *c, struct run_report_result *res,
                     struct error *err);

#endif
