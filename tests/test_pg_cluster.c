/* The embedded PostgreSQL: a real server started, used, cloned and stopped. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pg_cluster.h"
#include "testutil.h"

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(pg_cluster, .init = setup, .fini = teardown, .timeout = 120);

static char *query_one(const char *conninfo, const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
    PGresult *res = PQexec(conn, sql);
    cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK,
              "%s: %s", sql, PQresultErrorMessage(res));
    char *value = PQntuples(res) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    PQfinish(conn);
    return value;
}

static uid_t process_uid(pid_t pid)
{
    char path[64], line[256];
    unsigned uid = (unsigned)-1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Uid: %u", &uid) == 1)
            break;
    fclose(f);
    return (uid_t)uid;
}

Test(pg_cluster, starts_clones_a_database_and_stops_leaving_nothing_running)
{
    struct pg_cluster *c;
    struct error err;
    struct pg_cluster_options options = {.dir = test_path(dir, "pg")};

    error_init(&err);
    cr_assert_eq(pg_cluster_new(&c, &options, &err), 0, "%s", err.message);
    cr_assert_eq(pg_cluster_start(c, &err), 0, "%s", err.message);
    pid_t pid = pg_cluster_pid(c);
    cr_assert_gt(pid, 0);
    cr_assert_geq(pg_cluster_server_version(c), 120000);
    if (geteuid() == 0)
        cr_assert_neq(process_uid(pid), 0, "PostgreSQL must not run as root");

    /* Listens on loopback only. */
    char *listen = query_one(pg_cluster_conninfo(c, "postgres"), "SHOW listen_addresses");
    cr_assert_str_eq(listen, "127.0.0.1");
    free(listen);

    free(query_one(pg_cluster_conninfo(c, "postgres"), "CREATE DATABASE seed"));
    free(query_one(pg_cluster_conninfo(c, "seed"),
                   "CREATE TABLE t (id int primary key, name text); "
                   "INSERT INTO t VALUES (1, 'ada'), (2, 'grace')"));
    cr_assert_eq(pg_cluster_create_database(c, "old db's copy", "seed", &err), 0, "%s",
                 err.message);
    char *count = query_one(pg_cluster_conninfo(c, "old db's copy"), "SELECT count(*) FROM t");
    cr_assert_str_eq(count, "2");
    free(count);

    cr_assert_neq(pg_cluster_create_database(c, "x", "no_such_template", &err), 0);
    cr_assert(strstr(err.message, "no_such_template"), "%s", err.message);

    cr_assert_eq(pg_cluster_stop(c, &err), 0, "%s", err.message);
    cr_assert_eq(kill(pid, 0), -1, "the postmaster must be gone");
    cr_assert_eq(kill(-pid, 0), -1, "its process group must be gone");
    pg_cluster_free(c);
}

Test(pg_cluster, a_wrong_bindir_is_an_environment_error)
{
    struct pg_cluster *c;
    struct error err;
    struct pg_cluster_options options = {.dir = test_path(dir, "pg"), .bindir = "/nonexistent"};
    error_init(&err);
    cr_assert_eq(pg_cluster_new(&c, &options, &err), ERR_ENV);
    cr_assert(strstr(err.message, "/nonexistent"), "%s", err.message);
}

Test(pg_cluster, a_server_that_cannot_start_reports_its_log)
{
    struct pg_cluster *c;
    struct error err;
    struct pg_cluster_options options = {.dir = test_path(dir, "pg")};
    error_init(&err);
    cr_assert_eq(pg_cluster_new(&c, &options, &err), 0, "%s", err.message);
    /* Break the configuration: the server refuses to start and says why. */
    char conf[4096];
    snprintf(conf, sizeof conf, "%s/data/postgresql.conf", pg_cluster_dir(c));
    FILE *f = fopen(conf, "a");
    cr_assert_not_null(f);
    fputs("\nshared_buffers = 'lots'\n", f);
    fclose(f);
    cr_assert_eq(pg_cluster_start(c, &err), ERR_ENV);
    cr_assert(strstr(err.message, "shared_buffers"), "%s", err.message);
    pg_cluster_free(c);
}
