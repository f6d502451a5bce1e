/*
 * supervisor.h — the services of a rehearsal: start, health-check, watch,
 * stop.
 *
 * One supervisor thread owns every service process: it forks them (so the
 * parent-death signal, which follows the forking *thread*, lasts as long as
 * the run, whichever step thread asked for the start), reaps them, and
 * notices when one exits while it should be running (a crash).  Each
 * service runs in its own process group with stdout and stderr appended to
 * logs/NAME.stdout.log and logs/NAME.stderr.log in the run directory, and is
 * registered with the guardian so that it dies with rehearse even on
 * SIGKILL.  Stopping sends the configured signal to the whole group, waits
 * for the service's stop_timeout, then SIGKILLs the group.
 *
 * The same thread watches one more process it did not start (the embedded
 * PostgreSQL) without reaping it, and reports when it exits.
 *
 * Every port a service may use is allocated when the supervisor is created,
 * so ${service.NAME.url} is known before NAME starts.
 */
#ifndef REHEARSE_SUPERVISOR_H
#define REHEARSE_SUPERVISOR_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "errors.h"

struct scenario;
struct subst;
struct buf;
struct guardian;
struct run_control;

struct supervisor_config {
    const struct scenario *scenario;
    const char *run_dir;               /* logs go to RUN_DIR/logs */
    struct guardian *guardian;         /* may be NULL */
    int64_t run_start_us;              /* run_clock_us() at the start: journal offsets */
    /* Expand a template of service `service` (its argv, env, cwd). */
    int (*expand)(void *ctx, int service, const struct subst *t, struct buf *out,
                  struct error *err);
    /* A service exited while it was running (not while starting or stopping).
     * Called from the supervisor thread, without its lock held. */
    void (*on_crash)(void *ctx, int service, const char *description);
    /* The watched process exited. */
    void (*on_watch_exit)(void *ctx, pid_t pid, const char *description);
    void *ctx;
    pid_t watch_pid;                   /* e.g. the postmaster; 0: none */
};

struct supervisor;

int supervisor_new(struct supervisor **out, const struct supervisor_config *cfg,
                   struct error *err);
/* Stop every service still running (bounded by their stop timeouts), end the
 * thread, free. NULL is fine. */
void supervisor_free(struct supervisor *sv);

int supervisor_port(const struct supervisor *sv, int service);

/* Return values of start/stop besides 0 and negative error codes: the
 * service itself failed (it exited while starting, or never became healthy).
 * That is a finding about the service, not an environment failure. */
#define SUPERVISOR_SERVICE_FAILED 1

/*
 * Start a service and wait until its health check answers with the expected
 * status (or until it has been spawned, without a health check).  Adds what
 * happened to `outputs` (pid, port, ready_ms, attempts).  Returns 0,
 * SUPERVISOR_SERVICE_FAILED with err set, ERR_INTERRUPTED when `control`
 * stopped meanwhile, or another negative code (the program could not be
 * executed: environment).
 */
int supervisor_start(struct supervisor *sv, int service, struct run_control *control,
                     json_t *outputs, struct error *err);
/* Stop it (idempotent: stopping a service that is not running succeeds and
 * says so in outputs). */
int supervisor_stop(struct supervisor *sv, int service, json_t *outputs, struct error *err);
/* Kill it with SIGKILL, on purpose (a fault, not a crash): the run goes on.
 * Outputs as for stop. */
int supervisor_kill(struct supervisor *sv, int service, json_t *outputs, struct error *err);
/* Send `sig` to a running service's process group (SIGSTOP/SIGCONT to pause
 * it); ERR_STATE when it is not running. A service stopped with SIGSTOP is
 * continued by supervisor_stop. */
int supervisor_signal(struct supervisor *sv, int service, int sig, struct error *err);
/* "http://127.0.0.1:PORT" of a service (whether it runs or not). */
void supervisor_url(const struct supervisor *sv, int service, char *out, size_t size);
/* Stop every running service at once; waits for all of them. */
void supervisor_stop_all(struct supervisor *sv);

/* The journal's "services" array: name, port, url, logs, every run of each
 * service with its pid, times and how it ended (new reference). */
json_t *supervisor_journal(struct supervisor *sv);
/* Process group ids of services that are running now (for tests and the
 * journal). Returns the count written. */
size_t supervisor_running_pids(struct supervisor *sv, pid_t *out, size_t max);

#endif
