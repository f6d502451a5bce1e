#include "runutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_cluster.h"
#include "testutil.h"

#define PORT_ENV "REHEARSE_TEST_PG_PORT"

static struct pg_cluster *shared;
static char *shared_dir;

void test_shared_pg_start(void)
{
    struct pg_cluster_options options = {0};
    struct error err;
    char port[16];

    error_init(&err);
    shared_dir = test_tmpdir();
    options.dir = test_path(shared_dir, "pg");
    if (pg_cluster_new(&shared, &options, &err) || pg_cluster_start(shared, &err)) {
        fprintf(stderr, "cannot start the shared PostgreSQL: %s\n", err.message);
        pg_cluster_free(shared);
        shared = NULL;
        return;
    }
    snprintf(port, sizeof port, "%d", pg_cluster_port(shared));
    setenv(PORT_ENV, port, 1);
}

void test_shared_pg_stop(void)
{
    pg_cluster_free(shared);
    shared = NULL;
    test_tmpdir_remove(shared_dir);
    shared_dir = NULL;
}

static char *rotating(void)
{
    static char bufs[8][1024];
    static int next;
    return bufs[next++ % 8];
}

const char *test_pg_conninfo(const char *dbname)
{
    char local[1024], *out;
    const char *port = getenv(PORT_ENV);
    snprintf(local, sizeof local,
             "host=127.0.0.1 port=%s user=rehearse dbname=%s connect_timeout=10",
             port ? port : "1", dbname);
    out = rotating();
    memcpy(out, local, sizeof local);
    return out;
}

char *test_pg_value(const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    char *value = NULL;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
            !PQgetisnull(res, 0, 0))
            value = strdup(PQgetvalue(res, 0, 0));
        else if (PQresultStatus(res) == PGRES_COMMAND_OK)
            value = strdup("");
        else
            fprintf(stderr, "test_pg_value: %s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
    } else {
        fprintf(stderr, "test_pg_value: %s", PQerrorMessage(conn));
    }
    PQfinish(conn);
    return value;
}

const char *test_pg_database(const char *name, const char *sql)
{
    char *out = rotating(), create[256];
    snprintf(out, 1024, "t_%s_%d", name, (int)getpid());
    snprintf(create, sizeof create, "CREATE DATABASE %s", out);
    free(test_pg_value(test_pg_conninfo("postgres"), create));
    if (sql)
        free(test_pg_value(test_pg_conninfo(out), sql));
    return out;
}

char *test_template(const char *text, ...)
{
    const char *keys[32], *values[32];
    size_t n = 0, cap = strlen(text) + 1, len = 0;
    va_list ap;
    char *out;

    va_start(ap, text);
    while (n < 32 && (keys[n] = va_arg(ap, const char *)) != NULL) {
        values[n] = va_arg(ap, const char *);
        cap += strlen(values[n]) * 16;
        n++;
    }
    va_end(ap);
    out = malloc(cap);
    for (const char *p = text; *p;) {
        bool replaced = false;
        for (size_t i = 0; i < n && *p == '@'; i++) {
            size_t klen = strlen(keys[i]);
            if (strncmp(p + 1, keys[i], klen) == 0 && p[1 + klen] == '@') {
                size_t vlen = strlen(values[i]);
                if (len + vlen + 1 >= cap)
                    out = realloc(out, cap = (len + vlen) * 2 + 1);
                memcpy(out + len, values[i], vlen);
                len += vlen;
                p += klen + 2;
                replaced = true;
                break;
            }
        }
        if (!replaced) {
            if (len + 2 >= cap)
                out = realloc(out, cap *= 2);
            out[len++] = *p++;
        }
    }
    out[len] = '\0';
    return out;
}

pid_t test_rehearse_spawn(const char *dir, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)test_rehearse_bin();
    va_start(ap, dir);
    while (argc < 63 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(test_path(dir, "stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(test_path(dir, "stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int test_wait_exit(pid_t pid, int timeout_s)
{
    int status;
    for (int waited = 0; waited < timeout_s * 100; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    return -1;
}

json_t *test_journal(const char *run_dir)
{
    json_error_t jerr;
    return json_load_file(test_path(run_dir, "journal.json"), 0, &jerr);
}

static json_t *find_step(json_t *list, const char *name)
{
    size_t i;
    json_t *step;
    json_array_foreach(list, i, step) {
        const char *n = json_string_value(json_object_get(step, "name"));
        if (n && strcmp(n, name) == 0)
            return step;
        json_t *found = find_step(json_object_get(step, "children"), name);
        if (found)
            return found;
    }
    return NULL;
}

json_t *test_journal_step(json_t *journal, const char *name)
{
    json_t *found = find_step(json_object_get(journal, "steps"), name);
    return found ? found : find_step(json_object_get(journal, "always"), name);
}

const char *test_step_status(json_t *journal, const char *name)
{
    json_t *step = test_journal_step(journal, name);
    return step ? json_string_value(json_object_get(step, "status")) : NULL;
}

bool test_wait_step_status(const char *run_dir, const char *name, const char *status,
                           int timeout_s)
{
    for (int waited = 0; waited < timeout_s * 50; waited++) {
        json_t *j = test_journal(run_dir);
        json_t *step = j ? test_journal_step(j, name) : NULL;
        const char *s = step ? json_string_value(json_object_get(step, "status")) : NULL;
        bool done = s && strcmp(s, status) == 0;
        json_decref(j);
        if (done)
            return true;
        usleep(20000);
    }
    return false;
}

bool test_group_alive(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool alive = false;

    if (!d)
        return kill(-pgid, 0) == 0;
    while (!alive && (e = readdir(d))) {
        char path[300], buf[1024];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* pid (comm) state ppid pgrp ...; comm may hold spaces and parens */
        char *close = strrchr(buf, ')');
        char state;
        int ppid, pgrp;
        if (close && sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 &&
            pgrp == pgid && state != 'Z' && state != 'X')
            alive = true;
    }
    closedir(d);
    return alive;
}

bool test_wait_group_gone(pid_t pgid, int timeout_s)
{
    for (int waited = 0; waited < timeout_s * 50; waited++) {
        if (!test_group_alive(pgid))
            return true;
        usleep(20000);
    }
    return false;
}

bool test_file_contains(const char *path, const char *needle)
{
    char *text = test_read_file(path, NULL);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

const char *test_fixture_path(const char *name)
{
    const char *bin = test_fixture_bin(name);
    return bin[0] == '/' ? bin : test_repo_path(bin);
}
