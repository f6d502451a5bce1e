/*
 * guardian.h — make sure no process rehearse started outlives it, even when
 * rehearse itself is killed with SIGKILL.
 *
 * A parent-death signal (process.h) reaches only a direct child; a service's
 * own children, and a child that ignores the signal, would survive.  The
 * guardian is a small process forked at the start of a run, before any
 * thread exists.  Every process group rehearse starts is reported to it
 * through a pipe; when that pipe reaches end-of-file without a clean
 * goodbye — rehearse died — the guardian signals every group still on its
 * list (each with its own first signal: SIGQUIT lets PostgreSQL shut down),
 * waits a moment, SIGKILLs what is left, and exits.
 *
 * The guardian ignores SIGINT/SIGTERM/SIGHUP (a Ctrl-C at the terminal is
 * for rehearse, which stops everything itself) and holds no other file
 * descriptor, so it never keeps a caller's pipe open.
 */
#ifndef REHEARSE_GUARDIAN_H
#define REHEARSE_GUARDIAN_H

#include <sys/types.h>

#include "errors.h"

struct guardian;

/* Fork the guardian.  Call before starting threads. */
int guardian_start(struct guardian **out, struct error *err);
/* Watch process group `pgid`; `first_signal` is sent first if rehearse dies. */
void guardian_watch(struct guardian *g, pid_t pgid, int first_signal);
/* The group was stopped by rehearse: forget it. */
void guardian_forget(struct guardian *g, pid_t pgid);
/* Say goodbye (nothing is killed), wait for the guardian, free. NULL is fine. */
void guardian_free(struct guardian *g);
pid_t guardian_pid(const struct guardian *g);

#endif
