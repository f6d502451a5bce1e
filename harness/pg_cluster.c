#include "pg_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"
#include "process.h"

#define SUPERUSER "rehearse"
#define DEFAULT_RUN_AS "rehearse"
#define LOG_TAIL_BYTES 1500

struct pg_cluster {
    char bindir[PATH_MAX];
    char dir[PATH_MAX];      /* cluster directory: data/, the socket, logs */
    char data[PATH_MAX];
    char log[PATH_MAX];
    bool temporary;          /* dir is ours to delete */
    char run_as[64];         /* empty: run as ourselves */
    uid_t uid;
    gid_t gid;
    int port;
    int requested_port;
    int start_timeout_ms;
    int server_version;
    struct process server;
    char conninfo[PATH_MAX + 128];
};

static bool executable(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, X_OK) == 0;
}

static bool server_bindir(const char *dir)
{
    return executable(dir, "initdb") && executable(dir, "postgres");
}

int pg_find_bindir(char *out, size_t size, struct error *err)
{
    const char *env = getenv("REHEARSE_PG_BINDIR");
    const char *path = getenv("PATH");
    glob_t g;

    if (env && *env) {
        if (!server_bindir(env))
            return error_set(err, ERR_ENV,
                             "REHEARSE_PG_BINDIR='%s' does not hold initdb and postgres", env);
        snprintf(out, size, "%s", env);
        return 0;
    }
    /* Debian keeps the server outside PATH: look there first, newest first. */
    if (glob("/usr/lib/postgresql/*/bin", 0, NULL, &g) == 0) {
        for (size_t i = g.gl_pathc; i-- > 0;) {
            if (server_bindir(g.gl_pathv[i])) {
                snprintf(out, size, "%s", g.gl_pathv[i]);
                globfree(&g);
                return 0;
            }
        }
        globfree(&g);
    }
    /* Elsewhere: an initdb in PATH, symlinks resolved. */
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        char candidate[PATH_MAX], real[PATH_MAX];
        snprintf(candidate, sizeof candidate, "%.*s/initdb", (int)len, path);
        if (len && realpath(candidate, real)) {
            char *slash = strrchr(real, '/');
            *slash = '\0';
            if (server_bindir(real)) {
                snprintf(out, size, "%s", real);
                return 0;
            }
        }
        path = end ? end + 1 : NULL;
    }
    return error_set(err, ERR_ENV,
                     "PostgreSQL server binaries (initdb, postgres) not found; install them "
                     "with scripts/install-deps.sh or set REHEARSE_PG_BINDIR");
}

/* Can `uid`/`gid` traverse every directory leading to `path`? */
static bool reachable_by(const char *path, uid_t uid, gid_t gid)
{
    char walk[PATH_MAX];
    snprintf(walk, sizeof walk, "%s", path);
    for (char *slash = walk; slash; slash = strchr(slash + 1, '/')) {
        struct stat st;
        char saved = slash[1];
        slash[1] = '\0';
        if (stat(walk, &st) != 0)
            return false;
        slash[1] = saved;
        mode_t need = st.st_uid == uid ? S_IXUSR : st.st_gid == gid ? S_IXGRP : S_IXOTH;
        if (!(st.st_mode & need))
            return false;
    }
    return true;
}

static int mkdir_p(const char *path, struct error *err)
{
    char walk[PATH_MAX];
    snprintf(walk, sizeof walk, "%s", path);
    for (char *slash = walk + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        if (mkdir(walk, 0755) != 0 && errno != EEXIST)
            return error_errno(err, ERR_IO, errno, "cannot create directory '%s'", walk);
        *slash = '/';
    }
    if (mkdir(walk, 0700) != 0 && errno != EEXIST)
        return error_errno(err, ERR_IO, errno, "cannot create directory '%s'", walk);
    return 0;
}

static int free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof addr;
    int port = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static int run_tool(struct pg_cluster *c, char *const argv[], const char *log, struct error *err)
{
    struct process p;
    struct process_spec spec = {.argv = argv, .stdout_path = log,
                                .run_as = c->run_as[0] ? c->run_as : NULL};
    char status[128], tail[LOG_TAIL_BYTES + 1];
    int rc = process_spawn(&p, &spec, err);

    if (rc)
        return rc;
    process_wait(&p, -1);
    if (WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0)
        return 0;
    file_tail(log, LOG_TAIL_BYTES, tail, sizeof tail);
    return error_set(err, ERR_ENV, "%s %s; its log (%s) ends with:\n%s", argv[0],
                     process_describe_status(p.status, status, sizeof status), log, tail);
}

int pg_cluster_new(struct pg_cluster **out, const struct pg_cluster_options *options,
                   struct error *err)
{
    struct pg_cluster *c;
    char abs[PATH_MAX];
    int rc;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return error_set(err, ERR_NOMEM, "out of memory creating a PostgreSQL cluster");
    c->requested_port = options->port;
    c->start_timeout_ms = options->start_timeout_ms > 0 ? options->start_timeout_ms : 30000;
    if (options->bindir && *options->bindir) {
        snprintf(c->bindir, sizeof c->bindir, "%s", options->bindir);
        if (!server_bindir(c->bindir)) {
            rc = error_set(err, ERR_ENV, "'%s' does not hold initdb and postgres", c->bindir);
            goto fail;
        }
    } else if ((rc = pg_find_bindir(c->bindir, sizeof c->bindir, err))) {
        goto fail;
    }
    c->uid = geteuid();
    c->gid = getegid();
    if (options->run_as || geteuid() == 0) {
        snprintf(c->run_as, sizeof c->run_as, "%s",
                 options->run_as ? options->run_as : DEFAULT_RUN_AS);
        if ((rc = process_lookup_user(c->run_as, &c->uid, &c->gid, err)))
            goto fail;
    }

    if ((rc = mkdir_p(options->dir, err)))
        goto fail;
    if (!realpath(options->dir, abs)) {
        rc = error_errno(err, ERR_IO, errno, "cannot resolve '%s'", options->dir);
        goto fail;
    }
    /* The socket path must fit in sun_path: DIR/.s.PGSQL.65535 */
    if (!reachable_by(abs, c->uid, c->gid) ||
        strlen(abs) + sizeof "/.s.PGSQL.65535" > sizeof(((struct sockaddr_un *)0)->sun_path)) {
        const char *tmp = getenv("TMPDIR");
        snprintf(c->dir, sizeof c->dir, "%s/rehearse-pg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(c->dir)) {
            rc = error_errno(err, ERR_IO, errno, "cannot create a temporary cluster directory");
            goto fail;
        }
        c->temporary = !options->keep;
    } else {
        snprintf(c->dir, sizeof c->dir, "%s", abs);
    }
    if (c->run_as[0] && chown(c->dir, c->uid, c->gid) != 0) {
        rc = error_errno(err, ERR_IO, errno, "cannot give '%s' to user '%s'", c->dir, c->run_as);
        goto fail;
    }
    snprintf(c->data, sizeof c->data, "%s/data", c->dir);
    if (options->log_path && *options->log_path)
        snprintf(c->log, sizeof c->log, "%s", options->log_path);
    else
        snprintf(c->log, sizeof c->log, "%s/postgres.log", c->dir);

    char initdb[PATH_MAX], initdb_log[PATH_MAX];
    snprintf(initdb, sizeof initdb, "%s/initdb", c->bindir);
    snprintf(initdb_log, sizeof initdb_log, "%s/initdb.log", c->dir);
    char *argv[] = {initdb, "-D", c->data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync", "--no-instructions", NULL};
    if ((rc = run_tool(c, argv, initdb_log, err)))
        goto fail;
    *out = c;
    return 0;
fail:
    pg_cluster_free(c);
    return rc;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One attempt on one port. Returns 0, or ERR_ENV; *port_taken when the
 * server failed because the port was in use (worth another try). */
static int start_once(struct pg_cluster *c, bool *port_taken, struct error *err)
{
    char postgres[PATH_MAX], port[16], tail[LOG_TAIL_BYTES + 1], status[128];
    long long deadline;
    int rc;

    *port_taken = false;
    c->port = c->requested_port ? c->requested_port : free_port();
    if (!c->port)
        return error_set(err, ERR_ENV, "cannot find a free TCP port on 127.0.0.1");
    snprintf(postgres, sizeof postgres, "%s/postgres", c->bindir);
    snprintf(port, sizeof port, "%d", c->port);
    char *argv[] = {postgres, "-D", c->data, "-p", port, "-h", "127.0.0.1", "-k", c->dir,
                    "-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off", "-c", "max_connections=200",
                    "-c", "shared_buffers=64MB", "-c", "logging_collector=off", NULL};
    struct process_spec spec = {.argv = argv, .stdout_path = c->log,
                                .run_as = c->run_as[0] ? c->run_as : NULL,
                                .death_signal = SIGQUIT};
    if ((rc = process_spawn(&c->server, &spec, err)))
        return rc;

    const char *conninfo = pg_cluster_conninfo(c, "postgres");
    deadline = now_ms() + c->start_timeout_ms;
    for (;;) {
        if (PQping(conninfo) == PQPING_OK)
            break;
        if (process_poll(&c->server)) {
            file_tail(c->log, LOG_TAIL_BYTES, tail, sizeof tail);
            *port_taken = strstr(tail, "could not bind") || strstr(tail, "Address already in use");
            c->server.pid = 0;
            return error_set(err, ERR_ENV, "PostgreSQL %s while starting; %s ends with:\n%s",
                             process_describe_status(c->server.status, status, sizeof status),
                             c->log, tail);
        }
        if (now_ms() > deadline) {
            process_stop(&c->server, SIGQUIT, 5000);
            c->server.pid = 0;
            file_tail(c->log, LOG_TAIL_BYTES, tail, sizeof tail);
            return error_set(err, ERR_ENV,
                             "PostgreSQL did not accept connections within %d ms; %s ends "
                             "with:\n%s",
                             c->start_timeout_ms, c->log, tail);
        }
        usleep(20000);
    }
    PGconn *conn = PQconnectdb(conninfo);
    c->server_version = PQstatus(conn) == CONNECTION_OK ? PQserverVersion(conn) : 0;
    PQfinish(conn);
    return 0;
}

int pg_cluster_start(struct pg_cluster *c, struct error *err)
{
    bool port_taken = false;
    int rc;

    if (c->server.pid > 0 && !process_poll(&c->server))
        return 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = start_once(c, &port_taken, err);
        if (rc == 0 || !port_taken || c->requested_port)
            return rc;
    }
    return rc;
}

int pg_cluster_stop(struct pg_cluster *c, struct error *err)
{
    char status[128];

    if (c->server.pid <= 0)
        return 0;
    if (process_poll(&c->server)) {
        c->server.pid = 0;
        return error_set(err, ERR_ENV, "PostgreSQL had already %s; see %s",
                         process_describe_status(c->server.status, status, sizeof status),
                         c->log);
    }
    /* SIGINT: fast shutdown (abort sessions, checkpoint). SIGQUIT after 10 s. */
    process_signal(&c->server, SIGINT);
    if (!process_wait(&c->server, 10000))
        process_stop(&c->server, SIGQUIT, 5000);
    else
        process_stop(&c->server, SIGKILL, 0); /* reap stragglers of the group */
    c->server.pid = 0;
    return 0;
}

void pg_cluster_free(struct pg_cluster *c)
{
    if (!c)
        return;
    pg_cluster_stop(c, NULL);
    if (c->temporary && c->dir[0])
        file_remove_tree(c->dir);
    free(c);
}

const char *pg_cluster_conninfo(struct pg_cluster *c, const char *dbname)
{
    /* conninfo values are single-quoted with \ escaping ' and \. */
    char quoted[512];
    size_t j = 0;
    for (size_t i = 0; dbname[i] && j + 3 < sizeof quoted; i++) {
        if (dbname[i] == '\'' || dbname[i] == '\\')
            quoted[j++] = '\\';
        quoted[j++] = dbname[i];
    }
    quoted[j] = '\0';
    snprintf(c->conninfo, sizeof c->conninfo,
             "host=127.0.0.1 port=%d user=" SUPERUSER " dbname='%s' connect_timeout=10", c->port,
             quoted);
    return c->conninfo;
}

int pg_cluster_port(const struct pg_cluster *c) { return c->port; }
const char *pg_cluster_dir(const struct pg_cluster *c) { return c->dir; }
const char *pg_cluster_socket_dir(const struct pg_cluster *c) { return c->dir; }
const char *pg_cluster_log_path(const struct pg_cluster *c) { return c->log; }
pid_t pg_cluster_pid(const struct pg_cluster *c) { return c->server.pid; }
int pg_cluster_server_version(const struct pg_cluster *c) { return c->server_version; }

int pg_cluster_create_database(struct pg_cluster *c, const char *name, const char *template_db,
                               struct error *err)
{
    PGconn *conn = PQconnectdb(pg_cluster_conninfo(c, "postgres"));
    PGresult *res = NULL;
    char *qname = NULL, *qtemplate = NULL, sql[1024];
    int rc = 0;

    if (PQstatus(conn) != CONNECTION_OK) {
        rc = error_set(err, ERR_DATABASE, "cannot connect to the embedded PostgreSQL: %s",
                       PQerrorMessage(conn));
        goto out;
    }
    qname = PQescapeIdentifier(conn, name, strlen(name));
    if (template_db) {
        const char *params[1] = {template_db};
        qtemplate = PQescapeIdentifier(conn, template_db, strlen(template_db));
        /* CREATE DATABASE ... TEMPLATE fails while the template has sessions. */
        res = PQexecParams(conn,
                           "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = $1 AND pid <> pg_backend_pid()",
                           1, NULL, params, NULL, NULL, 0);
        PQclear(res);
    }
    if (!qname || (template_db && !qtemplate)) {
        rc = error_set(err, ERR_DATABASE, "cannot quote database name: %s", PQerrorMessage(conn));
        goto out;
    }
    snprintf(sql, sizeof sql, "CREATE DATABASE %s%s%s", qname, qtemplate ? " TEMPLATE " : "",
             qtemplate ? qtemplate : "");
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = error_set(err, ERR_DATABASE, "cannot create database '%s'%s%s: %s", name,
                       template_db ? " from template " : "", template_db ? template_db : "",
                       PQresultErrorMessage(res));
    PQclear(res);
out:
    PQfreemem(qname);
    PQfreemem(qtemplate);
    PQfinish(conn);
    return rc;
}
