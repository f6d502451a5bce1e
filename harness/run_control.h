/*
 * run_control.h — stopping a run: one flag that every wait of every step
 * watches.
 *
 * The first reason to stop wins (a signal, a failed step, a crashed service,
 * the database going away); later ones are ignored.  Waiters either sleep
 * with run_control_sleep() or poll run_control_fd(), which becomes readable
 * once the run is stopped and stays so.  run_control_signal() is
 * async-signal-safe, for SIGINT/SIGTERM handlers.
 */
#ifndef REHEARSE_RUN_CONTROL_H
#define REHEARSE_RUN_CONTROL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

enum run_stop {
    RUN_STOP_NONE,
    RUN_STOP_SIGNAL,          /* SIGINT/SIGTERM/SIGHUP */
    RUN_STOP_STEP_FAILED,     /* a step failed and its on_failure is "stop" */
    RUN_STOP_ENVIRONMENT,     /* a step could not run: I/O, database unreachable */
    RUN_STOP_SERVICE_CRASHED, /* a started service exited by itself */
    RUN_STOP_DATABASE_LOST,   /* the embedded PostgreSQL exited */
};

const char *run_stop_name(enum run_stop reason); /* "signal", "step_failed", ... */

struct run_control {
    int fd;                       /* eventfd; readable once stopped */
    atomic_bool stopped;
    volatile sig_atomic_t signo;  /* set by run_control_signal */
    pthread_mutex_t lock;
    enum run_stop reason;
    char message[ERROR_MESSAGE_MAX];
};

int run_control_init(struct run_control *c, struct error *err);
void run_control_release(struct run_control *c);

/* Stop the run for `reason`; returns true when this call was the first. */
bool run_control_stop(struct run_control *c, enum run_stop reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* From a signal handler. */
void run_control_signal(struct run_control *c, int signo);

bool run_control_stopped(struct run_control *c);
/* The reason and its message (copied into msg). */
enum run_stop run_control_reason(struct run_control *c, char *msg, size_t size);
int run_control_fd(const struct run_control *c);
/* Sleep up to us; false when the run was (or became) stopped. */
bool run_control_sleep(struct run_control *c, int64_t us);

/* Monotonic clock, microseconds. */
int64_t run_clock_us(void);

#endif
