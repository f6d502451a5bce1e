/*
 * runutil.h — helpers for tests that run scenarios: a PostgreSQL cluster
 * shared by the tests of one binary, scenarios written from templates,
 * rehearse started in the background, journals, and process-group checks.
 */
#ifndef REHEARSE_RUNUTIL_H
#define REHEARSE_RUNUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

/* Start one embedded cluster for the whole test binary: call from
 * ReportHook(PRE_ALL); the tests (separate processes) find it through the
 * environment.  test_shared_pg_stop() from ReportHook(POST_ALL). */
void test_shared_pg_start(void);
void test_shared_pg_stop(void);
/* conninfo of a database of the shared cluster (static rotating buffer). */
const char *test_pg_conninfo(const char *dbname);
/* A fresh database on the shared cluster named after the test, with `sql`
 * run in it (may be NULL); returns its name (static rotating buffer). */
const char *test_pg_database(const char *name, const char *sql);
/* First column of the first row of `sql`, or NULL (malloc'ed). */
char *test_pg_value(const char *conninfo, const char *sql);

/* Copy `text` replacing each "@KEY@" by its value; pairs end with NULL.
 * Returns malloc'ed text. */
char *test_template(const char *text, ...);

/* Run rehearse in the background with stdout/stderr to files in `dir`
 * (DIR/stdout, DIR/stderr); argv after the binary, NULL-terminated. */
pid_t test_rehearse_spawn(const char *dir, ...);
/* Wait for pid up to timeout_s; the exit code, 128+signal, or -1 on timeout. */
int test_wait_exit(pid_t pid, int timeout_s);

/* The journal of a run directory (NULL if missing or invalid). */
json_t *test_journal(const char *run_dir);
/* A step's record by name, searching parallel children too (borrowed). */
json_t *test_journal_step(json_t *journal, const char *name);
/* A step's status by name (NULL when there is no such step). */
const char *test_step_status(json_t *journal, const char *name);
/* Wait until the journal shows step `name` with `status`; true if it did. */
bool test_wait_step_status(const char *run_dir, const char *name, const char *status,
                           int timeout_s);

/* Is any process (zombies aside) of process group `pgid` alive? */
bool test_group_alive(pid_t pgid);
/* Wait up to timeout_s for the group to disappear; true when it did. */
bool test_wait_group_gone(pid_t pgid, int timeout_s);

/* Absolute path of a built fixture program. */
const char *test_fixture_path(const char *name);

/* Does the whole file contain `needle`? */
bool test_file_contains(const char *path, const char *needle);

#endif
