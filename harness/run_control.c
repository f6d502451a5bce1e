#include "run_control.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

const char *run_stop_name(enum run_stop reason)
{
    switch (reason) {
    case RUN_STOP_NONE: return "none";
    case RUN_STOP_SIGNAL: return "signal";
    case RUN_STOP_STEP_FAILED: return "step_failed";
    case RUN_STOP_ENVIRONMENT: return "environment";
    case RUN_STOP_SERVICE_CRASHED: return "service_crashed";
    case RUN_STOP_DATABASE_LOST: return "database_lost";
    }
    return "unknown";
}

int64_t run_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int run_control_init(struct run_control *c, struct error *err)
{
    memset(c, 0, sizeof *c);
    c->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->fd < 0)
        return error_errno(err, ERR_ENV, errno, "cannot create an eventfd");
    atomic_init(&c->stopped, false);
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

void run_control_release(struct run_control *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    pthread_mutex_destroy(&c->lock);
}

static void wake(int fd)
{
    uint64_t one = 1;
    ssize_t ignored = write(fd, &one, sizeof one);
    (void)ignored;
}

bool run_control_stop(struct run_control *c, enum run_stop reason, const char *fmt, ...)
{
    bool first = false;
    va_list ap;

    pthread_mutex_lock(&c->lock);
    if (c->reason == RUN_STOP_NONE && !c->signo) {
        first = true;
        c->reason = reason;
        va_start(ap, fmt);
        vsnprintf(c->message, sizeof c->message, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->stopped, true);
    wake(c->fd);
    return first;
}

void run_control_signal(struct run_control *c, int signo)
{
    if (!c->signo)
        c->signo = signo;
    wake(c->fd);
}

bool run_control_stopped(struct run_control *c)
{
    return atomic_load(&c->stopped) || c->signo;
}

enum run_stop run_control_reason(struct run_control *c, char *msg, size_t size)
{
    enum run_stop reason;
    pthread_mutex_lock(&c->lock);
    reason = c->reason;
    if (reason == RUN_STOP_NONE && c->signo) {
        reason = RUN_STOP_SIGNAL;
        const char *abbrev = sigabbrev_np(c->signo);
        snprintf(msg, size, "interrupted by SIG%s", abbrev ? abbrev : "?");
    } else {
        snprintf(msg, size, "%s", c->message);
    }
    pthread_mutex_unlock(&c->lock);
    return reason;
}

int run_control_fd(const struct run_control *c)
{
    return c->fd;
}

bool run_control_sleep(struct run_control *c, int64_t us)
{
    int64_t deadline = run_clock_us() + us;
    for (;;) {
        if (run_control_stopped(c))
            return false;
        int64_t left = deadline - run_clock_us();
        if (left <= 0)
            return true;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        /* Round up: a sleep never ends early. */
        int ms = left > 3600000000LL ? 3600000 : (int)((left + 999) / 1000);
        if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
            return !run_control_stopped(c);
    }
}
