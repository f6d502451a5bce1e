#include "guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_GROUPS 1024
#define GRACE_MS 3000

enum { OP_WATCH = 1, OP_FORGET = 2, OP_GOODBYE = 3 };

/* One record per write: smaller than PIPE_BUF, so writes from several
 * threads never interleave. */
struct record {
    int32_t op;
    int32_t pgid;
    int32_t sig;
};

struct guardian {
    pid_t pid;
    int fd; /* write end */
};

static void send_record(struct guardian *g, int op, pid_t pgid, int sig)
{
    struct record r = {op, (int32_t)pgid, sig};
    ssize_t n;
    if (!g || g->fd < 0)
        return;
    do
        n = write(g->fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
}

static bool group_exists(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The guardian's life: runs in the child, never returns. */
static void guard(int fd)
{
    struct { pid_t pgid; int sig; } groups[MAX_GROUPS];
    size_t count = 0;
    struct record r;
    bool goodbye = false;

    for (;;) {
        ssize_t n = read(fd, &r, sizeof r);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof r)
            break; /* end of file: rehearse is gone */
        if (r.op == OP_GOODBYE) {
            goodbye = true;
            break;
        }
        if (r.op == OP_WATCH && count < MAX_GROUPS) {
            groups[count].pgid = r.pgid;
            groups[count++].sig = r.sig;
        } else if (r.op == OP_FORGET) {
            for (size_t i = 0; i < count; i++)
                if (groups[i].pgid == r.pgid) {
                    groups[i] = groups[--count];
                    break;
                }
        }
    }
    if (goodbye || count == 0)
        _exit(0);
    for (size_t i = 0; i < count; i++)
        kill(-groups[i].pgid, groups[i].sig);
    for (int waited = 0; waited < GRACE_MS; waited += 50) {
        bool any = false;
        for (size_t i = 0; i < count; i++)
            any = any || group_exists(groups[i].pgid);
        if (!any)
            break;
        sleep_ms(50);
    }
    for (size_t i = 0; i < count; i++)
        kill(-groups[i].pgid, SIGKILL);
    _exit(0);
}

int guardian_start(struct guardian **out, struct error *err)
{
    struct guardian *g = calloc(1, sizeof *g);
    int fds[2];

    *out = NULL;
    if (!g)
        return error_set(err, ERR_NOMEM, "out of memory");
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(g);
        return error_errno(err, ERR_ENV, errno, "cannot create the guardian's pipe");
    }
    g->pid = fork();
    if (g->pid < 0) {
        close(fds[0]);
        close(fds[1]);
        free(g);
        return error_errno(err, ERR_ENV, errno, "cannot fork the guardian process");
    }
    if (g->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        setpgid(0, 0);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        dup2(fds[0], 3);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        close_range(4, ~0U, 0);
        guard(3);
    }
    close(fds[0]);
    g->fd = fds[1];
    *out = g;
    return 0;
}

void guardian_watch(struct guardian *g, pid_t pgid, int first_signal)
{
    send_record(g, OP_WATCH, pgid, first_signal);
}

void guardian_forget(struct guardian *g, pid_t pgid)
{
    send_record(g, OP_FORGET, pgid, 0);
}

void guardian_free(struct guardian *g)
{
    if (!g)
        return;
    send_record(g, OP_GOODBYE, 0, 0);
    close(g->fd);
    while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    free(g);
}

pid_t guardian_pid(const struct guardian *g)
{
    return g ? g->pid : 0;
}
