/*
 * process.h — start and stop child processes that must never outlive us.
 *
 * Every child runs in its own process group (so its own children are
 * stopped with it), gets a parent-death signal (so it is stopped even when
 * rehearse is killed with SIGKILL), never goes through a shell (argv only),
 * and can run as another user (PostgreSQL refuses to run as root).
 *
 * The parent-death signal fires when the *thread* that forked the child
 * exits: spawn from a thread that lives as long as the child.
 */
#ifndef REHEARSE_PROCESS_H
#define REHEARSE_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "errors.h"

struct process_spec {
    char *const *argv;       /* argv[0] is looked up in PATH unless it has a '/' */
    char *const *env;        /* full environment, or NULL to inherit ours */
    const char *cwd;         /* NULL: inherit */
    const char *stdout_path; /* appended to; NULL: /dev/null */
    const char *stderr_path; /* appended to; NULL: same file as stdout */
    const char *run_as;      /* user name to switch to, or NULL */
    int death_signal;        /* sent when we die; 0 = SIGTERM */
};

struct process {
    pid_t pid;          /* also the process group id; 0 when not running */
    bool exited;
    int status;         /* waitpid status once exited */
};

/* Start the process. Failures of exec itself are reported here, not later:
 * the child reports errno through a close-on-exec pipe. */
int process_spawn(struct process *p, const struct process_spec *spec, struct error *err);

/* Reap without blocking. Returns true when the process has exited. */
bool process_poll(struct process *p);

/* Wait up to timeout_ms (-1 = forever) for exit. Returns true if exited. */
bool process_wait(struct process *p, int timeout_ms);

/* Signal the whole process group. */
int process_signal(struct process *p, int sig);

/* Send `sig`, wait up to grace_ms, then SIGKILL the group and reap. */
void process_stop(struct process *p, int sig, int grace_ms);

/* "exited with status 3", "killed by signal 9 (Killed)". */
const char *process_describe_status(int status, char *buf, size_t size);

/* Resolve a user name; ERR_ENV with a hint to run scripts/install-deps.sh
 * when it does not exist. */
int process_lookup_user(const char *name, uid_t *uid, gid_t *gid, struct error *err);

#endif
