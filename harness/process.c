#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int process_lookup_user(const char *name, uid_t *uid, gid_t *gid, struct error *err)
{
    struct passwd pw, *found = NULL;
    char buf[4096];

    if (getpwnam_r(name, &pw, buf, sizeof buf, &found) != 0 || !found)
        return error_set(err, ERR_ENV,
                         "user '%s' does not exist; create it with scripts/install-deps.sh "
                         "(as root) or run rehearse as an unprivileged user",
                         name);
    *uid = found->pw_uid;
    *gid = found->pw_gid;
    return 0;
}

/* In the child: report errno to the parent and die. Async-signal-safe. */
static void child_fail(int fd, int stage)
{
    int report[2] = {stage, errno};
    ssize_t ignored = write(fd, report, sizeof report);
    (void)ignored;
    _exit(127);
}

enum child_stage { STAGE_STDIN, STAGE_STDOUT, STAGE_STDERR, STAGE_CWD, STAGE_USER, STAGE_EXEC };

static const char *stage_text(int stage)
{
    switch (stage) {
    case STAGE_STDIN: return "cannot open /dev/null";
    case STAGE_STDOUT: return "cannot open its stdout log";
    case STAGE_STDERR: return "cannot open its stderr log";
    case STAGE_CWD: return "cannot change to its working directory";
    case STAGE_USER: return "cannot switch to its user";
    default: return "cannot execute it";
    }
}

int process_spawn(struct process *p, const struct process_spec *spec, struct error *err)
{
    int pipefd[2];
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t parent = getpid();
    int report[2];
    ssize_t n;
    int rc;

    p->pid = 0;
    p->exited = false;
    p->status = 0;
    if (!spec->argv || !spec->argv[0])
        return error_set(err, ERR_USAGE, "no program to start (empty argv)");
    if (spec->run_as && (rc = process_lookup_user(spec->run_as, &uid, &gid, err)))
        return rc;
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return error_errno(err, ERR_ENV, errno, "cannot create a pipe to start '%s'",
                           spec->argv[0]);

    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return error_errno(err, ERR_ENV, errno, "cannot fork to start '%s'", spec->argv[0]);
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        int fd;
        sigset_t none;

        setpgid(0, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);

        if ((fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) < 0)
            child_fail(pipefd[1], STAGE_STDIN);
        fd = spec->stdout_path
                 ? open(spec->stdout_path, O_WRONLY | O_CREAT | O_APPEND, 0640)
                 : open("/dev/null", O_WRONLY);
        if (fd < 0 || dup2(fd, 1) < 0)
            child_fail(pipefd[1], STAGE_STDOUT);
        if (spec->stderr_path) {
            fd = open(spec->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0640);
            if (fd < 0 || dup2(fd, 2) < 0)
                child_fail(pipefd[1], STAGE_STDERR);
        } else if (dup2(1, 2) < 0) {
            child_fail(pipefd[1], STAGE_STDERR);
        }
        if (spec->cwd && chdir(spec->cwd) != 0)
            child_fail(pipefd[1], STAGE_CWD);
        if (spec->run_as) {
            if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
                child_fail(pipefd[1], STAGE_USER);
        }
        /* After the credential change: the kernel clears it on setuid. */
        prctl(PR_SET_PDEATHSIG, spec->death_signal ? spec->death_signal : SIGTERM);
        if (getppid() != parent) /* we died before the prctl took effect */
            _exit(1);
        if (strchr(spec->argv[0], '/'))
            execve(spec->argv[0], spec->argv, spec->env ? spec->env : environ);
        else if (spec->env) {
            /* execvpe is a GNU extension; the environment comes from spec. */
            execvpe(spec->argv[0], spec->argv, spec->env);
        } else {
            execvp(spec->argv[0], spec->argv);
        }
        child_fail(pipefd[1], STAGE_EXEC);
    }

    close(pipefd[1]);
    /* The pipe closes on a successful exec; a report means it failed. */
    do
        n = read(pipefd[0], report, sizeof report);
    while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    if (n == (ssize_t)sizeof report) {
        waitpid(pid, NULL, 0);
        return error_errno(err, ERR_ENV, report[1], "cannot start '%s': %s", spec->argv[0],
                           stage_text(report[0]));
    }
    setpgid(pid, pid); /* also from the parent, to win the race with signals */
    p->pid = pid;
    return 0;
}

bool process_poll(struct process *p)
{
    if (p->exited || p->pid <= 0)
        return true;
    pid_t r = waitpid(p->pid, &p->status, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        p->exited = true;
        return true;
    }
    return false;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool process_wait(struct process *p, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int sleep_us = 1000;

    while (!process_poll(p)) {
        if (timeout_ms >= 0 && now_ms() >= deadline)
            return false;
        usleep((useconds_t)sleep_us);
        if (sleep_us < 50000)
            sleep_us *= 2;
    }
    return true;
}

int process_signal(struct process *p, int sig)
{
    if (p->pid <= 0 || p->exited)
        return 0;
    if (kill(-p->pid, sig) != 0 && kill(p->pid, sig) != 0)
        return errno == ESRCH ? 0 : -errno;
    return 0;
}

void process_stop(struct process *p, int sig, int grace_ms)
{
    if (p->pid <= 0)
        return;
    if (!process_poll(p)) {
        process_signal(p, sig);
        if (!process_wait(p, grace_ms)) {
            process_signal(p, SIGKILL);
            process_wait(p, -1);
        }
    }
    /* The leader is gone; make sure nothing else of its group survives. */
    kill(-p->pid, SIGKILL);
}

const char *process_describe_status(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "stopped (status 0x%x)", status);
    return buf;
}
