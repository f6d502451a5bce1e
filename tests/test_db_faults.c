/*
 * Database faults against a real PostgreSQL (harness/pg_cluster): sessions
 * terminated and queries cancelled by filter, a lock that blocks other
 * sessions for its duration, and a database link through the fault proxy
 * whose toxics visibly slow or break a libpq client's queries.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db_faults.h"
#include "fault_proxy.h"
#include "pg_cluster.h"
#include "testnet.h"
#include "testutil.h"

static char *dir;
static struct pg_cluster *cluster;

static void setup(void)
{
    struct pg_cluster_options options = {0};
    struct error err;
    error_init(&err);
    dir = test_tmpdir();
    options.dir = test_path(dir, "pg");
    cr_assert_eq(pg_cluster_new(&cluster, &options, &err), 0, "%s", err.message);
    cr_assert_eq(pg_cluster_start(cluster, &err), 0, "%s", err.message);
}

static void teardown(void)
{
    pg_cluster_free(cluster);
    test_tmpdir_remove(dir);
}

TestSuite(db_faults, .init = setup, .fini = teardown, .timeout = 120);

static const char *conninfo(void)
{
    return pg_cluster_conninfo(cluster, "postgres");
}

static PGconn *session(const char *application_name)
{
    char info[512];
    snprintf(info, sizeof info, "%s application_name=%s", conninfo(), application_name);
    PGconn *c = PQconnectdb(info);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static bool query_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

static double query_ms(PGconn *c, const char *sql)
{
    int64_t start = testnet_now_us();
    cr_assert(query_ok(c, sql), "%s: %s", sql, PQerrorMessage(c));
    return (double)(testnet_now_us() - start) / 1000.0;
}

static int local_port(PGconn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    cr_assert_eq(getsockname(PQsocket(c), (struct sockaddr *)&ss, &len), 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

Test(db_faults, terminate_by_application_name_ends_only_that_services_sessions)
{
    PGconn *a = session("svc"), *b = session("svc"), *other = session("other");
    struct db_backend_filter filter = {.application_name = "svc"};
    struct db_fault_result res;
    struct error err;
    error_init(&err);

    cr_assert_eq(db_fault_terminate(conninfo(), &filter, 0, &res, &err), 0, "%s", err.message);
    cr_assert_eq(res.matched, 2);
    cr_assert_eq(res.signalled, 2);
    cr_assert_eq(res.gone, 2, "both sessions are gone when it returns");
    cr_assert_eq(res.npids, 2);
    cr_assert(res.pids[0] == PQbackendPID(a) || res.pids[0] == PQbackendPID(b));
    cr_assert_geq(res.finished_us, res.started_us);
    cr_assert_not(query_ok(a, "SELECT 1"));
    cr_assert_not(query_ok(b, "SELECT 1"));
    cr_assert(query_ok(other, "SELECT 1"), "%s", PQerrorMessage(other));

    /* Nothing left to match: not an error, nothing done. */
    cr_assert_eq(db_fault_terminate(conninfo(), &filter, 0, &res, &err), 0, "%s", err.message);
    cr_assert_eq(res.matched, 0);

    struct db_backend_filter everything = {0};
    cr_assert_eq(db_fault_terminate(conninfo(), &everything, 0, &res, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "refusing"), "%s", err.message);
    cr_assert(query_ok(other, "SELECT 1"));
    PQfinish(a);
    PQfinish(b);
    PQfinish(other);
}

Test(db_faults, terminate_by_client_port_ends_exactly_that_session)
{
    PGconn *a = session("same"), *b = session("same");
    int port = local_port(a);
    struct db_backend_filter filter = {.client_ports = &port, .nclient_ports = 1,
                                       .client_addr = "127.0.0.1"};
    struct db_fault_result res;
    struct error err;
    error_init(&err);
    cr_assert_eq(db_fault_terminate(conninfo(), &filter, 0, &res, &err), 0, "%s", err.message);
    cr_assert_eq(res.matched, 1);
    cr_assert_eq(res.pids[0], PQbackendPID(a));
    cr_assert_not(query_ok(a, "SELECT 1"));
    cr_assert(query_ok(b, "SELECT 1"));
    PQfinish(a);
    PQfinish(b);
}

Test(db_faults, cancel_stops_a_running_pg_sleep_and_leaves_the_session)
{
    PGconn *sleeper = session("sleeper"), *idle = session("sleeper");
    struct db_backend_filter filter = {.application_name = "sleeper",
                                       .query_contains = "pg_sleep"};
    struct db_fault_result res;
    struct error err;
    error_init(&err);

    cr_assert(PQsendQuery(sleeper, "SELECT pg_sleep(30)"));
    /* Wait until the server runs it. */
    for (int i = 0; i < 100; i++) {
        PGconn *probe = session("probe");
        PGresult *r = PQexec(probe, "SELECT count(*) FROM pg_stat_activity "
                                    "WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' "
                                    "AND application_name = 'sleeper'");
        bool running = atoi(PQgetvalue(r, 0, 0)) == 1;
        PQclear(r);
        PQfinish(probe);
        if (running)
            break;
        usleep(20000);
    }
    int64_t start = testnet_now_us();
    cr_assert_eq(db_fault_cancel(conninfo(), &filter, 0, &res, &err), 0, "%s", err.message);
    cr_assert_eq(res.matched, 1, "only the active session: the idle one is left alone");
    cr_assert_eq(res.signalled, 1);
    cr_assert_eq(res.pids[0], PQbackendPID(sleeper));
    PGresult *r = PQgetResult(sleeper);
    cr_assert_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "57014");
    PQclear(r);
    while ((r = PQgetResult(sleeper)))
        PQclear(r);
    cr_assert_lt((double)(testnet_now_us() - start) / 1000.0, 5000);
    cr_assert(query_ok(sleeper, "SELECT 1"), "a cancel leaves the session usable");
    cr_assert(query_ok(idle, "SELECT 1"));
    PQfinish(sleeper);
    PQfinish(idle);
}

Test(db_faults, a_held_lock_blocks_another_session_for_its_duration_then_releases)
{
    PGconn *app = session("app");
    cr_assert(query_ok(app, "CREATE TABLE accounts (id int primary key); "
                            "INSERT INTO accounts VALUES (1), (2)"));
    struct db_lock_spec spec = {.conninfo = conninfo(), .table = "public.accounts",
                                .duration_ms = 800};
    struct db_lock *lock;
    struct db_lock_info info;
    struct error err;
    error_init(&err);

    int64_t start = testnet_now_us();
    cr_assert_eq(db_lock_start(&lock, &spec, &err), 0, "%s", err.message);
    cr_assert_lt((double)(testnet_now_us() - start) / 1000.0, 100, "start never waits");
    cr_assert_eq(db_lock_wait(lock, DB_LOCK_HELD, 5000, &info, &err), 0, "%s", err.message);
    cr_assert_eq(info.state, DB_LOCK_HELD);
    cr_assert_gt(info.backend_pid, 0);
    cr_assert_geq(info.acquired_us, info.requested_us);

    /* The application's query waits for the lock, then goes through. */
    double waited = query_ms(app, "SELECT count(*) FROM accounts");
    db_lock_wait(lock, DB_LOCK_RELEASED, 5000, &info, &err);
    cr_assert_eq(info.state, DB_LOCK_RELEASED);
    double held = (double)(info.released_us - info.acquired_us) / 1000.0;
    cr_assert(held >= 800 && held < 800 + 500, "held %.1f ms, expected 800", held);
    cr_assert_geq(waited, 500, "the query waited only %.1f ms", waited);
    cr_assert_not(info.ended_early);
    db_lock_free(lock);
    PQfinish(app);
}

Test(db_faults, a_lock_ends_early_on_release_and_reports_failures)
{
    PGconn *app = session("app");
    cr_assert(query_ok(app, "CREATE TABLE t (id int)"));
    struct db_lock_spec spec = {.conninfo = conninfo(), .table = "t", .mode = "access_exclusive",
                                .duration_ms = 60000};
    struct db_lock *lock, *second;
    struct db_lock_info info;
    struct error err;
    error_init(&err);

    cr_assert_eq(db_lock_start(&lock, &spec, &err), 0, "%s", err.message);
    cr_assert_eq(db_lock_wait(lock, DB_LOCK_HELD, 5000, &info, &err), 0, "%s", err.message);

    /* A second lock on the same table gives up after its acquire timeout. */
    struct db_lock_spec contender = spec;
    contender.acquire_timeout_ms = 300;
    cr_assert_eq(db_lock_start(&second, &contender, &err), 0);
    cr_assert_eq(db_lock_wait(second, DB_LOCK_RELEASED, 5000, &info, &err), ERR_DATABASE);
    cr_assert_eq(info.state, DB_LOCK_FAILED);
    cr_assert(strstr(info.error, "lock timeout"), "%s", info.error);
    db_lock_free(second);

    cr_assert(PQsendQuery(app, "SELECT count(*) FROM t"));
    usleep(200 * 1000);
    int64_t start = testnet_now_us();
    cr_assert_eq(db_lock_release(lock, 2000, &info, &err), 0, "%s", err.message);
    cr_assert_lt((double)(testnet_now_us() - start) / 1000.0, 1000);
    cr_assert_eq(info.state, DB_LOCK_RELEASED);
    cr_assert(info.ended_early);
    PGresult *r = PQgetResult(app);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    while ((r = PQgetResult(app)))
        PQclear(r);
    db_lock_free(lock);

    spec.table = "no_such_table";
    cr_assert_eq(db_lock_start(&lock, &spec, &err), 0);
    cr_assert_eq(db_lock_wait(lock, DB_LOCK_HELD, 5000, &info, &err), ERR_DATABASE);
    cr_assert(strstr(err.message, "no_such_table"), "%s", err.message);
    db_lock_free(lock);

    spec.mode = "sideways";
    cr_assert_eq(db_lock_start(&lock, &spec, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "'sideways'"), "%s", err.message);
    spec.mode = NULL;
    spec.table = "a.b.c";
    cr_assert_eq(db_lock_start(&lock, &spec, &err), ERR_USAGE);
    PQfinish(app);
}

Test(db_faults, toxics_on_the_database_link_slow_or_break_queries)
{
    struct fault_proxy *proxy;
    struct fault_toxic t;
    struct error err;
    char upstream[64], bound[FAULT_PROXY_ADDRESS_MAX], info[256];
    error_init(&err);

    cr_assert_eq(fault_proxy_new(&proxy, NULL, &err), 0);
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", pg_cluster_port(cluster));
    cr_assert_eq(fault_proxy_add_link(proxy, "db", "127.0.0.1:0", upstream, 0, &err), 0, "%s",
                 err.message);
    fault_proxy_link_address(proxy, "db", bound, sizeof bound, &err);
    snprintf(info, sizeof info, "host=127.0.0.1 port=%s user=rehearse dbname=postgres "
             "application_name=service", strrchr(bound, ':') + 1);

    PGconn *svc = PQconnectdb(info);
    cr_assert_eq(PQstatus(svc), CONNECTION_OK, "%s", PQerrorMessage(svc));
    double base = query_ms(svc, "SELECT 1");
    cr_assert_lt(base, 100);

    fault_toxic_parse(&t, "latency:latency=250", &err);
    cr_assert_eq(fault_proxy_add_toxic(proxy, "db", &t, 0, NULL, &err), 0, "%s", err.message);
    double slow = query_ms(svc, "SELECT 1");
    cr_assert(slow >= 250 && slow < 250 + 200, "%.1f ms", slow);
    cr_assert_eq(fault_proxy_remove_toxic(proxy, "db", t.name, 0, NULL, &err), 0);
    cr_assert_lt(query_ms(svc, "SELECT 1"), 100);

    /* The service's sessions are the ones behind the link's upstream ports. */
    int ports[8];
    size_t nports;
    cr_assert_eq(fault_proxy_link_upstream_ports(proxy, "db", ports, 8, &nports, 0, &err), 0);
    cr_assert_eq(nports, 1);
    struct db_backend_filter by_port = {.client_ports = ports, .nclient_ports = nports};
    struct db_fault_result res;
    cr_assert_eq(db_fault_cancel(conninfo(), &by_port, 0, &res, &err), 0, "%s", err.message);
    cr_assert_eq(res.matched, 0, "the service is idle: nothing to cancel");
    PGconn *probe = session("probe");
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", ports[0]);
    const char *params[1] = {port_text};
    PGresult *r = PQexecParams(probe, "SELECT application_name FROM pg_stat_activity "
                                      "WHERE client_port = $1::int", 1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQntuples(r), 1, "%s", PQresultErrorMessage(r));
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "service");
    PQclear(r);
    PQfinish(probe);

    /* down breaks the open session and refuses new ones. */
    cr_assert_eq(fault_proxy_set_down(proxy, "db", true, 0, NULL, &err), 0);
    cr_assert_not(query_ok(svc, "SELECT 1"));
    PQfinish(svc);
    svc = PQconnectdb(info);
    cr_assert_eq(PQstatus(svc), CONNECTION_BAD);
    cr_assert(strstr(PQerrorMessage(svc), "refused"), "%s", PQerrorMessage(svc));
    PQfinish(svc);
    cr_assert_eq(fault_proxy_set_down(proxy, "db", false, 0, NULL, &err), 0);

    /* reset_peer breaks the next query with a reset. */
    svc = PQconnectdb(info);
    cr_assert_eq(PQstatus(svc), CONNECTION_OK, "%s", PQerrorMessage(svc));
    fault_toxic_parse(&t, "upstream:reset_peer:timeout=0", &err);
    cr_assert_eq(fault_proxy_add_toxic(proxy, "db", &t, 0, NULL, &err), 0);
    cr_assert_not(query_ok(svc, "SELECT 1"));
    cr_assert_eq(PQstatus(svc), CONNECTION_BAD);
    PQfinish(svc);
    cr_assert_eq(fault_proxy_remove_toxic(proxy, "db", t.name, 0, NULL, &err), 0);

    /* Terminating by the link's upstream ports ends the service's session. */
    svc = PQconnectdb(info);
    cr_assert_eq(PQstatus(svc), CONNECTION_OK, "%s", PQerrorMessage(svc));
    cr_assert_eq(fault_proxy_link_upstream_ports(proxy, "db", ports, 8, &nports, 0, &err), 0);
    cr_assert_eq(nports, 1);
    by_port.nclient_ports = nports;
    cr_assert_eq(db_fault_terminate(conninfo(), &by_port, 0, &res, &err), 0, "%s", err.message);
    cr_assert_eq(res.matched, 1);
    cr_assert_not(query_ok(svc, "SELECT 1"));
    PQfinish(svc);
    fault_proxy_free(proxy);
}
