#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *rotating(void)
{
    static char bufs[8][PATH_MAX];
    static int next;
    return bufs[next++ % 8];
}

const char *test_rehearse_bin(void)
{
    const char *bin = getenv("REHEARSE_BIN");
    return bin && *bin ? bin : "./rehearse";
}

const char *test_fixture_bin(const char *name)
{
    const char *build = getenv("BUILD");
    char *out = rotating();
    snprintf(out, PATH_MAX, "%s/fixtures/%s", build && *build ? build : "build", name);
    return out;
}

const char *test_repo_path(const char *relative)
{
    char *out = rotating();
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    snprintf(out, PATH_MAX, "%s/%s", cwd, relative);
    return out;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 4096;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

int test_run(struct run_result *res, char *const argv[], int timeout_s)
{
    int out_pipe[2], err_pipe[2];
    size_t out_cap = 0, err_cap = 0;
    pid_t pid;
    int status, open_fds = 2;
    double deadline = now_s() + timeout_s;

    memset(res, 0, sizeof *res);
    if (pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC))
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        setpgid(0, 0);
        if (strchr(argv[0], '/'))
            execv(argv[0], argv);
        else
            execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    while (open_fds > 0) {
        int left_ms = (int)((deadline - now_s()) * 1000);
        if (left_ms <= 0) {
            kill(-pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, left_ms) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            char chunk[65536];
            ssize_t n;
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (i == 0) {
                append(&res->out, &res->out_len, &out_cap, chunk, (size_t)n);
            } else {
                append(&res->err, &res->err_len, &err_cap, chunk, (size_t)n);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    waitpid(pid, &status, 0);
    if (!res->out)
        append(&res->out, &res->out_len, &out_cap, "", 0);
    if (!res->err)
        append(&res->err, &res->err_len, &err_cap, "", 0);
    res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

int test_rehearse(struct run_result *res, int timeout_s, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)test_rehearse_bin();
    va_start(ap, timeout_s);
    while (argc < 63 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    return test_run(res, argv, timeout_s);
}

void test_run_free(struct run_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir = malloc(PATH_MAX);
    snprintf(dir, PATH_MAX, "%s/rehearse-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_tmpdir_remove(char *dir)
{
    if (!dir)
        return;
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

const char *test_path(const char *dir, const char *name)
{
    char *out = rotating();
    snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return out;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0, cap = 0;
    char chunk[65536];
    size_t got;

    if (!f)
        return NULL;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(&data, &n, &cap, chunk, got);
    fclose(f);
    if (!data)
        append(&data, &n, &cap, "", 0);
    if (len)
        *len = n;
    return data;
}

int test_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}
