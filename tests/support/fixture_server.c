#include "fixture_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* Servers still running, so a test that fails an assertion (and so never
 * reaches its fixture_server_stop) does not leave them behind. */
#define MAX_RUNNING 32
static pid_t running[MAX_RUNNING];

static void remember(pid_t pid, bool add)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        if (add ? running[i] == 0 : running[i] == pid) {
            running[i] = add ? pid : 0;
            return;
        }
    }
}

int fixture_server_start(struct fixture_server *s, const char *name, const char *const args[])
{
    char *argv[64];
    char line[64];
    size_t got = 0;
    int out[2], argc = 0;

    memset(s, 0, sizeof *s);
    argv[argc++] = (char *)test_fixture_bin(name);
    for (size_t i = 0; args && args[i] && argc < 63; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    if (pipe2(out, O_CLOEXEC))
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(out[1], 1);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    remember(s->pid, true);
    /* the first line is the port */
    while (got < sizeof line - 1) {
        struct pollfd p = {out[0], POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 10000) <= 0)
            break;
        n = read(out[0], line + got, 1);
        if (n <= 0)
            break;
        if (line[got] == '\n')
            break;
        got += (size_t)n;
    }
    close(out[0]);
    line[got] = '\0';
    s->port = atoi(line);
    if (s->port <= 0) {
        fixture_server_stop(s);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return 0;
}

/* The exit code, 128+signal, or -1 after killing it at the timeout. */
static int wait_or_kill(pid_t pid, int timeout_s)
{
    struct timespec step = {0, 10000000};
    int status;
    for (int i = 0; i < timeout_s * 100; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0)
            return -1;
        nanosleep(&step, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

void fixture_server_stop(struct fixture_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    if (wait_or_kill(s->pid, 5) < 0)
        fprintf(stderr, "fixture server %d did not stop on SIGTERM; killed\n", (int)s->pid);
    remember(s->pid, false);
    s->pid = 0;
}

void fixture_server_stop_all(void)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        if (running[i]) {
            struct fixture_server s = {.pid = running[i]};
            fixture_server_stop(&s);
        }
    }
}
