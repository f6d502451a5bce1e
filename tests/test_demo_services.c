/*
 * The demo's fixtures (fixtures/demo): the SQL files and the two versions of
 * the shop service, run for real against an embedded PostgreSQL.
 *
 * One cluster serves the whole file: it is started before the tests (a
 * criterion PRE_ALL hook, in the runner process) with two template
 * databases, demo_seed (schema.sql + seed.sql) and demo_expanded (+
 * expand.sql); each test (its own process) clones what it needs with
 * CREATE DATABASE ... TEMPLATE and finds the cluster through the
 * environment.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pg_cluster.h"
#include "process.h"
#include "testutil.h"

extern char **environ;

#define SEED_FILES {"fixtures/demo/schema.sql", "fixtures/demo/seed.sql"}

/* ---- the shared cluster (runner process) ------------------------------- */

static struct pg_cluster *cluster;
static char *cluster_dir;

static char *read_sql(const char *relative)
{
    return test_read_file(test_repo_path(relative), NULL);
}

/* Run a whole SQL file through libpq, as the scenario runner does. */
static int exec_file(PGconn *conn, const char *relative, char *msg, size_t size)
{
    char *sql = read_sql(relative);
    if (!sql) {
        snprintf(msg, size, "cannot read %s", relative);
        return -1;
    }
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(msg, size, "%s: %s", relative, PQresultErrorMessage(res));
    PQclear(res);
    free(sql);
    return ok ? 0 : -1;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* the migrations' NOTICEs, expected */
}

static int make_template(const char *name, bool expanded, char *msg, size_t size)
{
    const char *files[] = SEED_FILES;
    struct error err;
    error_init(&err);
    if (pg_cluster_create_database(cluster, name, NULL, &err)) {
        snprintf(msg, size, "%s", err.message);
        return -1;
    }
    PGconn *conn = PQconnectdb(pg_cluster_conninfo(cluster, name));
    int rc = PQstatus(conn) == CONNECTION_OK ? 0 : -1;
    PQsetNoticeProcessor(conn, quiet, NULL);
    if (rc)
        snprintf(msg, size, "%s", PQerrorMessage(conn));
    for (size_t i = 0; !rc && i < 2; i++)
        rc = exec_file(conn, files[i], msg, size);
    if (!rc && expanded)
        rc = exec_file(conn, "fixtures/demo/expand.sql", msg, size);
    PQfinish(conn);
    return rc;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    struct pg_cluster_options options = {0};
    struct error err;
    char msg[2048] = "", port[16];
    (void)set;

    error_init(&err);
    cluster_dir = test_tmpdir();
    options.dir = test_path(cluster_dir, "pg");
    if (pg_cluster_new(&cluster, &options, &err) || pg_cluster_start(cluster, &err)) {
        snprintf(msg, sizeof msg, "%s", err.message);
    } else if (!make_template("demo_seed", false, msg, sizeof msg) &&
               !make_template("demo_expanded", true, msg, sizeof msg)) {
        snprintf(port, sizeof port, "%d", pg_cluster_port(cluster));
        setenv("DEMO_TEST_PG_PORT", port, 1);
        return;
    }
    setenv("DEMO_TEST_PG_ERROR", msg[0] ? msg : "the cluster could not be set up", 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    pg_cluster_free(cluster);
    test_tmpdir_remove(cluster_dir);
}

/* ---- per-test helpers -------------------------------------------------- */

static char *dir;

static void setup(void)
{
    const char *error = getenv("DEMO_TEST_PG_ERROR");
    cr_assert_null(error, "embedded PostgreSQL: %s", error);
    cr_assert_not_null(getenv("DEMO_TEST_PG_PORT"));
    dir = test_tmpdir();
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
    curl_global_cleanup();
}

TestSuite(demo, .init = setup, .fini = teardown, .timeout = 120);

static const char *conninfo(const char *db)
{
    static char out[4][256];
    static int next;
    char *s = out[next++ % 4];
    snprintf(s, 256, "host=127.0.0.1 port=%s user=rehearse dbname=%s",
             getenv("DEMO_TEST_PG_PORT"), db);
    return s;
}

static PGconn *db_connect(const char *db)
{
    PGconn *conn = PQconnectdb(conninfo(db));
    cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, quiet, NULL);
    return conn;
}

/* The first value of the last statement's result (owned), NULL for no rows. */
static char *db_value(const char *db, const char *sql)
{
    PGconn *conn = db_connect(db);
    PGresult *res = PQexec(conn, sql);
    cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK,
              "%s: %s", sql, PQresultErrorMessage(res));
    char *value = PQntuples(res) ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    PQfinish(conn);
    return value;
}

static void db_assert_value(const char *db, const char *sql, const char *expected)
{
    char *value = db_value(db, sql);
    cr_assert_not_null(value, "%s: no rows", sql);
    cr_assert_str_eq(value, expected, "%s", sql);
    free(value);
}

/* A fresh database for this test, cloned from a template. */
static const char *db_clone(const char *tag, const char *template_db)
{
    static char names[4][64];
    static int next;
    char *name = names[next++ % 4], sql[256];
    snprintf(name, 64, "t%d_%s", (int)getpid(), tag);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", name, template_db);
    free(db_value("postgres", sql));
    return name;
}

/* Run an SQL file of fixtures/demo on a database; returns libpq's error or NULL. */
static char *db_run_file(const char *db, const char *relative)
{
    char msg[2048];
    PGconn *conn = db_connect(db);
    int rc = exec_file(conn, relative, msg, sizeof msg);
    PQfinish(conn);
    return rc ? strdup(msg) : NULL;
}

static void db_apply(const char *db, const char *relative)
{
    char *error = db_run_file(db, relative);
    cr_assert_null(error, "%s", error);
}

/* ---- the services ------------------------------------------------------ */

struct service {
    struct process proc;
    int port;
    char out[PATH_MAX];
    char err[PATH_MAX];
};

static void service_start(struct service *s, const char *version, const char *db)
{
    char bin[64], url[300], *env[256];
    int n = 0;
    struct error err;
    static int serial;

    snprintf(bin, sizeof bin, "demo_%s", version);
    snprintf(url, sizeof url, "DATABASE_URL=%s", conninfo(db));
    for (char **e = environ; *e && n < 250; e++)
        if (strncmp(*e, "DATABASE_URL=", 13) && strncmp(*e, "PORT=", 5) &&
            strncmp(*e, "LISTEN_ADDRESS=", 15) && strncmp(*e, "THREADS=", 8))
            env[n++] = *e;
    env[n++] = url;
    env[n++] = "PORT=0";
    env[n++] = "LISTEN_ADDRESS=127.0.0.1";
    env[n++] = "THREADS=2";
    env[n] = NULL;

    memset(s, 0, sizeof *s);
    snprintf(s->out, sizeof s->out, "%s/%s-%d.out", dir, bin, serial);
    snprintf(s->err, sizeof s->err, "%s/%s-%d.err", dir, bin, serial++);
    char *argv[] = {(char *)test_fixture_bin(bin), NULL};
    struct process_spec spec = {.argv = argv, .env = env, .stdout_path = s->out,
                                .stderr_path = s->err};
    error_init(&err);
    cr_assert_eq(process_spawn(&s->proc, &spec, &err), 0, "%s", err.message);

    /* Ready when it prints the address it listens on. */
    for (int i = 0; i < 200 && !s->port; i++) {
        char *out = test_read_file(s->out, NULL);
        const char *at = out ? strstr(out, "listening on http://127.0.0.1:") : NULL;
        if (at)
            s->port = atoi(at + strlen("listening on http://127.0.0.1:"));
        free(out);
        if (!s->port) {
            cr_assert(!process_poll(&s->proc), "%s exited early: %s", bin,
                      test_read_file(s->err, NULL));
            usleep(50 * 1000);
        }
    }
    cr_assert_gt(s->port, 0, "%s did not say it was listening", bin);
}

/* SIGTERM: the service must stop cleanly (exit 0) and quickly. */
static void service_stop(struct service *s)
{
    char what[128];
    cr_assert_eq(process_signal(&s->proc, SIGTERM), 0);
    bool exited = process_wait(&s->proc, 10000);
    if (!exited)
        process_stop(&s->proc, SIGKILL, 0);
    cr_assert(exited, "the service did not stop within 10 s of SIGTERM");
    cr_assert(WIFEXITED(s->proc.status) && WEXITSTATUS(s->proc.status) == 0,
              "the service %s on SIGTERM; stderr: %s",
              process_describe_status(s->proc.status, what, sizeof what),
              test_read_file(s->err, NULL));
}

/* ---- HTTP -------------------------------------------------------------- */

struct reply {
    long status;
    char *raw;
    size_t len;
    json_t *body;
    char request_id[80];
    char location[80];
    char content_type[80];
};

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    struct reply *r = user;
    r->raw = realloc(r->raw, r->len + size * n + 1);
    memcpy(r->raw + r->len, data, size * n);
    r->len += size * n;
    r->raw[r->len] = '\0';
    return size * n;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    if (len > nlen + 1 && !strncasecmp(line, name, nlen) && line[nlen] == ':') {
        const char *v = line + nlen + 1;
        while (*v == ' ')
            v++;
        size_t vlen = (size_t)(line + len - v);
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        snprintf(out, size, "%.*s", (int)vlen, v);
    }
}

static size_t on_header(char *line, size_t size, size_t n, void *user)
{
    struct reply *r = user;
    header_value(line, size * n, "X-Request-Id", r->request_id, sizeof r->request_id);
    header_value(line, size * n, "Location", r->location, sizeof r->location);
    header_value(line, size * n, "Content-Type", r->content_type, sizeof r->content_type);
    return size * n;
}

/* One request on `curl` (a kept-alive handle) or on a new handle when NULL;
 * a body goes with Content-Type `type` (application/json when NULL). */
static void http_on(CURL *curl, struct reply *r, int port, const char *method, const char *path,
                    const char *body, const char *type)
{
    char url[1024];
    bool own = !curl;
    struct curl_slist *headers = NULL;

    memset(r, 0, sizeof *r);
    if (own)
        curl = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    if (body) {
        char header[128];
        snprintf(header, sizeof header, "Content-Type: %s", type ? type : "application/json");
        headers = curl_slist_append(headers, header);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (own)
        curl_easy_cleanup(curl);
    json_error_t error;
    r->body = json_loadb(r->raw ? r->raw : "", r->len, 0, &error);
    cr_assert_not_null(r->body, "%s %s: the body is not JSON (%s): %s", method, path, error.text,
                       r->raw ? r->raw : "");
    cr_assert_str_eq(r->content_type, "application/json", "%s %s", method, path);
}

static void http(struct reply *r, int port, const char *method, const char *path,
                 const char *body)
{
    http_on(NULL, r, port, method, path, body, NULL);
}

static void reply_free(struct reply *r)
{
    json_decref(r->body);
    free(r->raw);
    memset(r, 0, sizeof *r);
}

/* The value at a JSON Pointer (borrowed), NULL when absent. */
static json_t *at(json_t *doc, const char *pointer)
{
    char token[128];
    const char *p = pointer;
    while (doc && *p == '/') {
        size_t len = strcspn(p + 1, "/");
        snprintf(token, sizeof token, "%.*s", (int)len, p + 1);
        p += len + 1;
        if (json_is_array(doc)) {
            char *end;
            long i = strtol(token, &end, 10);
            doc = *end ? NULL : json_array_get(doc, (size_t)i);
        } else {
            doc = json_object_get(doc, token);
        }
    }
    return doc;
}

static const char *str_at(json_t *doc, const char *pointer)
{
    json_t *v = at(doc, pointer);
    cr_assert(json_is_string(v), "%s is not a string", pointer);
    return json_string_value(v);
}

/* Collect the JSON Pointers where a and b differ into `out`, one per line. */
static void differences(json_t *a, json_t *b, const char *path, char *out, size_t size)
{
    char sub[512];
    const char *key;
    json_t *value;

    if (json_typeof(a) != json_typeof(b) ||
        (!json_is_object(a) && !json_is_array(a) && !json_equal(a, b)) ||
        (json_is_array(a) && json_array_size(a) != json_array_size(b))) {
        snprintf(out + strlen(out), size - strlen(out), "%s\n", *path ? path : "/");
        return;
    }
    if (json_is_object(a)) {
        json_object_foreach(a, key, value) {
            snprintf(sub, sizeof sub, "%s/%s", path, key);
            json_t *other = json_object_get(b, key);
            if (!other)
                snprintf(out + strlen(out), size - strlen(out), "%s\n", sub);
            else
                differences(value, other, sub, out, size);
        }
        json_object_foreach(b, key, value) {
            if (!json_object_get(a, key))
                snprintf(out + strlen(out), size - strlen(out), "%s/%s\n", path, key);
        }
    } else if (json_is_array(a)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(sub, sizeof sub, "%s/%zu", path, i);
            differences(json_array_get(a, i), json_array_get(b, i), sub, out, size);
        }
    }
}

/* ---- the seed and the migrations --------------------------------------- */

/* Everything a migration could change: columns in order with types,
 * nullability and defaults; constraints; indexes; triggers; functions;
 * sequences; and a hash of every row of both tables. */
static const char *const STATE_SQL =
    "SELECT string_agg(line, E'\\n' ORDER BY line) FROM ("
    " SELECT format('column %s %s %s %s notnull=%s default=%s identity=%s', c.relname, a.attnum,"
    "        a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
    "        pg_get_expr(d.adbin, d.adrelid), a.attidentity) AS line"
    "   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    "   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    "  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
    "    AND a.attnum > 0 AND NOT a.attisdropped"
    " UNION ALL SELECT format('constraint %s %s %s', conrelid::regclass, conname,"
    "        pg_get_constraintdef(oid)) FROM pg_constraint"
    "  WHERE connamespace = 'public'::regnamespace"
    " UNION ALL SELECT format('index %s', pg_get_indexdef(indexrelid)) FROM pg_index i"
    "   JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace"
    " UNION ALL SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger"
    "  WHERE NOT tgisinternal"
    " UNION ALL SELECT format('function %s', oid::regprocedure) FROM pg_proc"
    "  WHERE pronamespace = 'public'::regnamespace"
    " UNION ALL SELECT format('sequence %s last_value=%s', sequencename, last_value)"
    "   FROM pg_sequences WHERE schemaname = 'public'"
    " UNION ALL SELECT format('rows users %s', md5(string_agg(u::text, E'\\n' ORDER BY id)))"
    "   FROM users u"
    " UNION ALL SELECT format('rows orders %s', md5(string_agg(o::text, E'\\n' ORDER BY id)))"
    "   FROM orders o"
    ") AS state";

Test(demo, the_seed_is_deterministic_and_has_the_names_the_demo_needs)
{
    const char *files[] = SEED_FILES;
    const char *fresh = db_clone("fresh", "template0");
    char msg[2048];
    PGconn *conn = db_connect(fresh);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(exec_file(conn, files[i], msg, sizeof msg), 0, "%s", msg);
    PQfinish(conn);

    /* A second, independent load equals the template row for row.  (Tests
     * never connect to a template: that would stop others cloning it.) */
    char *a = db_value(db_clone("seed", "demo_seed"), STATE_SQL), *b = db_value(fresh, STATE_SQL);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);

    db_assert_value(fresh, "SELECT count(*) FROM users", "300");
    db_assert_value(fresh, "SELECT count(*) FROM orders", "2000");
    db_assert_value(fresh, "SELECT name FROM users WHERE id = 1", "Mary Ann van der Berg");
    /* Names of three words or more (split wrongly by v2), and non-ASCII ones. */
    db_assert_value(fresh, "SELECT count(*) >= 60 FROM users WHERE name ~ '^\\S+ \\S+ .'", "t");
    db_assert_value(fresh, "SELECT count(*) >= 100 FROM users WHERE name ~ '[^\\x01-\\x7e]'", "t");
    /* Users with many orders, some with none; new ids continue after the seed. */
    db_assert_value(fresh, "SELECT max(n) >= 10 FROM"
                           " (SELECT count(*) n FROM orders GROUP BY user_id) c", "t");
    db_assert_value(fresh, "SELECT count(*) > 0 FROM users u WHERE NOT EXISTS "
                           "(SELECT FROM orders WHERE user_id = u.id)", "t");
    db_assert_value(fresh, "INSERT INTO users (name, email) VALUES ('N', 'n@x.org') RETURNING id",
                    "301");
}

Test(demo, expand_then_rollback_restores_the_seeded_schema_and_rows)
{
    const char *db = db_clone("rollback", "demo_seed");
    char *before = db_value(db, STATE_SQL);

    db_apply(db, "fixtures/demo/expand.sql");
    char *expanded = db_value(db, STATE_SQL);
    cr_assert_str_neq(before, expanded, "expand.sql changed nothing");
    cr_assert(strstr(expanded, "column users 5 first_name text"), "%s", expanded);
    cr_assert(strstr(expanded, "trigger CREATE TRIGGER users_sync_name"), "%s", expanded);
    /* The backfill split every row at its first space, keeping the rest whole. */
    db_assert_value(db, "SELECT first_name || '|' || last_name FROM users WHERE id = 1",
                    "Mary|Ann van der Berg");
    db_assert_value(db, "SELECT first_name || '|' || last_name FROM users WHERE id = 6", "Cher|");
    db_assert_value(db, "SELECT count(*) FROM users WHERE first_name IS NULL OR name <> "
                        "first_name || CASE WHEN last_name <> '' THEN ' ' || last_name ELSE '' END",
                    "0");
    /* Applying it again is harmless (it finishes an interrupted backfill). */
    db_apply(db, "fixtures/demo/expand.sql");
    char *again = db_value(db, STATE_SQL);
    cr_assert_str_eq(expanded, again);

    db_apply(db, "fixtures/demo/expand-rollback.sql");
    char *after = db_value(db, STATE_SQL);
    cr_assert_str_eq(after, before, "the rollback did not restore the seeded state");
    /* Rolling back twice, or with nothing to roll back, changes nothing. */
    db_apply(db, "fixtures/demo/expand-rollback.sql");
    char *twice = db_value(db, STATE_SQL);
    cr_assert_str_eq(twice, before);
    free(before);
    free(expanded);
    free(again);
    free(after);
    free(twice);
}

Test(demo, the_trigger_keeps_the_old_and_new_columns_in_step)
{
    const char *db = db_clone("trigger", "demo_expanded");
    /* Old-version writes (name) fill the new columns... */
    db_assert_value(db, "INSERT INTO users (name, email)"
                        " VALUES ('Anna Maria de la Cruz', 'a@x.org')"
                        " RETURNING first_name || '|' || last_name", "Anna|Maria de la Cruz");
    db_assert_value(db, "UPDATE users SET name = 'Zoë Ångström van Dijk' WHERE id = 5"
                        " RETURNING first_name || '|' || last_name", "Zoë|Ångström van Dijk");
    /* ...new-version writes (first_name, last_name) fill the old one... */
    db_assert_value(db, "INSERT INTO users (first_name, last_name, email)"
                        " VALUES ('Ada', 'Lovelace', 'ada@x.org') RETURNING name", "Ada Lovelace");
    db_assert_value(db, "UPDATE users SET first_name = 'Björk', last_name = '' WHERE id = 2"
                        " RETURNING name", "Björk");
    /* ...and other updates leave both alone. */
    db_assert_value(db, "UPDATE users SET email = 'mary@x.org' WHERE id = 1"
                        " RETURNING name || '|' || first_name || '|' || last_name",
                    "Mary Ann van der Berg|Mary|Ann van der Berg");
}

Test(demo, contract_finishes_the_split_and_cannot_be_rolled_back)
{
    const char *db = db_clone("contract", "demo_expanded");
    db_apply(db, "fixtures/demo/contract.sql");
    db_assert_value(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass"
                        " AND attname = 'name' AND NOT attisdropped", "0");
    db_assert_value(db, "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'users'::regclass"
                        " AND attname = 'last_name'", "t");
    db_assert_value(db, "SELECT count(*) FROM pg_trigger WHERE tgname = 'users_sync_name'", "0");

    char *error = db_run_file(db, "fixtures/demo/expand-rollback.sql");
    cr_assert_not_null(error, "the rollback must refuse to run after contract.sql");
    cr_assert(strstr(error, "contract.sql has run"), "%s", error);
    free(error);
    db_assert_value(db, "SELECT count(*) FROM users WHERE first_name IS NOT NULL", "300");
}

Test(demo, expand_waits_for_a_held_lock_and_retries)
{
    const char *db = db_clone("lock", "demo_seed");
    PGconn *holder = db_connect(db);
    PGresult *res = PQexec(holder, "BEGIN; LOCK users IN ACCESS SHARE MODE");
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    /* With lock_timeout 100ms on the session, every attempt times out. */
    PGconn *migrator = db_connect(db);
    PQclear(PQexec(migrator, "SET lock_timeout = '100ms'"));
    char *sql = read_sql("fixtures/demo/expand.sql");
    res = PQexec(migrator, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
    cr_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "55P03");
    cr_assert(strstr(PQresultErrorMessage(res), "could not lock table users"), "%s",
              PQresultErrorMessage(res));
    PQclear(res);
    db_assert_value(db, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass"
                        " AND attname = 'first_name' AND NOT attisdropped", "0");

    /* Released during the retries: the migration goes through. */
    PQsendQuery(holder, "SELECT pg_sleep(0.5); COMMIT");
    res = PQexec(migrator, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(res));
    PQclear(res);
    while ((res = PQgetResult(holder)))
        PQclear(res);
    db_assert_value(db, "SELECT first_name FROM users WHERE id = 1", "Mary");
    free(sql);
    PQfinish(holder);
    PQfinish(migrator);
}

/* ---- the services ------------------------------------------------------ */

Test(demo, health_says_whether_the_schema_fits_the_version)
{
    const char *seeded = db_clone("h_seed", "demo_seed");
    const char *contracted = db_clone("h_contract", "demo_expanded");
    struct service v1, v2, v2_early, v1_late;
    struct reply r;

    db_apply(contracted, "fixtures/demo/contract.sql");
    service_start(&v1, "v1", seeded);
    service_start(&v2_early, "v2", seeded);
    service_start(&v2, "v2", contracted);
    service_start(&v1_late, "v1", contracted);

    http(&r, v1.port, "GET", "/health", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(str_at(r.body, "/status"), "ok");
    cr_assert_str_eq(str_at(r.body, "/version"), "v1");
    reply_free(&r);

    /* v2 before expand.sql, v1 after contract.sql: 503 and why. */
    http(&r, v2_early.port, "GET", "/health", NULL);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(str_at(r.body, "/error/code"), "schema_mismatch");
    cr_assert(strstr(str_at(r.body, "/error/message"), "first_name"), "%s", r.raw);
    reply_free(&r);
    http(&r, v1_late.port, "GET", "/health", NULL);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(str_at(r.body, "/error/code"), "schema_mismatch");
    reply_free(&r);

    /* v2 keeps working after the contract. */
    http(&r, v2.port, "GET", "/health", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(str_at(r.body, "/version"), "v2");
    reply_free(&r);
    http(&r, v2.port, "GET", "/users/2", NULL);
    cr_assert_str_eq(str_at(r.body, "/user/name"), "José María García López");
    reply_free(&r);
    http(&r, v2.port, "POST", "/users", "{\"name\": \"Ada Lovelace\", \"email\": \"ada@x.org\"}");
    cr_assert_eq(r.status, 201);
    reply_free(&r);

    service_stop(&v1);
    service_stop(&v2_early);
    service_stop(&v2);
    service_stop(&v1_late);
}

Test(demo, every_endpoint_answers_with_its_documented_shape)
{
    const char *db = db_clone("shape", "demo_seed");
    struct service v1;
    struct reply r;
    CURL *curl = curl_easy_init();

    service_start(&v1, "v1", db);

    http_on(curl, &r, v1.port, "GET", "/users/1", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_integer_value(at(r.body, "/user/id")), 1);
    cr_assert_str_eq(str_at(r.body, "/user/name"), "Mary Ann van der Berg");
    cr_assert_str_eq(str_at(r.body, "/user/email"), "maryann.vanderberg@example.com");
    cr_assert_str_eq(str_at(r.body, "/user/created_at"), "2024-01-02T10:37:13.000000Z");
    /* The noise: a random id (also in X-Request-Id) and the time. */
    cr_assert_eq(strlen(str_at(r.body, "/request_id")), 32);
    cr_assert_str_eq(str_at(r.body, "/request_id"), r.request_id);
    cr_assert(strlen(str_at(r.body, "/served_at")) == 27, "%s", r.raw);
    cr_assert_eq(json_object_size(r.body), 3);
    reply_free(&r);

    http_on(curl, &r, v1.port, "GET", "/users?limit=3&after=5", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(json_array_size(at(r.body, "/users")), 3);
    cr_assert_str_eq(str_at(r.body, "/users/0/name"), "Cher");
    cr_assert_eq(json_integer_value(at(r.body, "/next_after")), 8);
    reply_free(&r);
    http_on(curl, &r, v1.port, "GET", "/users?after=290", NULL, NULL);
    cr_assert_eq(json_array_size(at(r.body, "/users")), 10);
    cr_assert(json_is_null(at(r.body, "/next_after")), "%s", r.raw);
    reply_free(&r);

    /* A user's orders, newest first; amounts are numbers. */
    http_on(curl, &r, v1.port, "GET", "/users/1/orders", NULL, NULL);
    cr_assert_eq(r.status, 200);
    json_t *orders = at(r.body, "/orders");
    cr_assert_eq(json_array_size(orders), 15);
    for (size_t i = 1; i < json_array_size(orders); i++)
        cr_assert_gt(json_integer_value(at(json_array_get(orders, i - 1), "/id")),
                     json_integer_value(at(json_array_get(orders, i), "/id")));
    cr_assert(json_is_real(at(r.body, "/orders/0/amount")), "%s", r.raw);
    reply_free(&r);

    http_on(curl, &r, v1.port, "GET", "/orders/7", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.raw, "\"order\":{\"id\":7,\"user_id\":127,\"amount\":55.49,"
                            "\"status\":\"pending\","
                            "\"created_at\":\"2024-02-01T15:35:59.000000Z\"}"),
              "%s", r.raw);
    reply_free(&r);

    http_on(curl, &r, v1.port, "GET", "/stats", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.raw, "{\"stats\":{\"users\":300,\"orders\":2000,\"revenue\":429989.01,"
                            "\"orders_by_status\":{\"cancelled\":286,\"paid\":572,\"pending\":285,"
                            "\"shipped\":857}}"), "%s", r.raw);
    reply_free(&r);

    http_on(curl, &r, v1.port, "POST", "/users",
            "{\"name\": \"Anna Maria de la Cruz\", \"email\": \"amc@example.org\"}", NULL);
    cr_assert_eq(r.status, 201);
    cr_assert_eq(json_integer_value(at(r.body, "/user/id")), 301);
    cr_assert_str_eq(r.location, "/users/301");
    reply_free(&r);

    http_on(curl, &r, v1.port, "PATCH", "/users/301", "{\"email\": \"anna@example.org\"}", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(str_at(r.body, "/user/name"), "Anna Maria de la Cruz");
    cr_assert_str_eq(str_at(r.body, "/user/email"), "anna@example.org");
    reply_free(&r);

    http_on(curl, &r, v1.port, "POST", "/orders", "{\"user_id\": 301, \"amount\": 19.9}", NULL);
    cr_assert_eq(r.status, 201);
    cr_assert_str_eq(r.location, "/orders/2001");
    cr_assert(strstr(r.raw, "\"amount\":19.9,\"status\":\"pending\""), "%s", r.raw);
    reply_free(&r);
    db_assert_value(db, "SELECT amount || ' ' || status FROM orders WHERE id = 2001",
                    "19.90 pending");

    /* All of it over one kept-alive connection. */
    long connects = -1;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    cr_assert_eq(connects, 0, "the last request opened a new connection");
    curl_easy_cleanup(curl);
    service_stop(&v1);
}

/* The requests both comparisons send, in order: reads, writes, errors; and
 * the planted regressions (fixtures/demo/README.md) v2 shows on each. */
static const char *const SESSION[][4] = {
    /* method, path, body, regressions */
    {"GET", "/users/1", NULL, ""},
    {"GET", "/users?limit=20&after=0", NULL, ""},
    {"GET", "/users/1/orders", NULL, "R2 R3"},
    {"GET", "/users/2/orders?limit=3", NULL, "R2 R3"},
    {"GET", "/users/6/orders", NULL, "R2 R3"},
    {"GET", "/orders/7", NULL, "R2"},
    {"GET", "/users/3", NULL, ""},
    {"POST", "/users", "{\"name\": \"Anna Maria de la Cruz\", \"email\": \"amc@x.org\"}", "R1"},
    {"GET", "/users/301", NULL, "R1"},
    {"POST", "/users", "{\"name\": \"Ada Lovelace\", \"email\": \"ada@example.org\"}", ""},
    {"PATCH", "/users/1", "{\"name\": \"Mary Ann van der Berg\"}", "R1"},
    {"GET", "/users/1", NULL, "R1"},
    {"GET", "/users?limit=5&after=0", NULL, "R1"},
    {"PATCH", "/users/4", "{\"name\": \"Grace Hopper\", \"email\": \"grace@example.org\"}", ""},
    {"PATCH", "/users/5", "{\"email\": \"zoe@example.org\"}", ""},
    {"POST", "/orders", "{\"user_id\": 302, \"amount\": 19.9, \"status\": \"paid\"}", "R2 R4"},
    {"GET", "/orders/2001", NULL, "R2"},
    {"GET", "/users/302/orders", NULL, "R2"},
    {"GET", "/stats", NULL, ""},
    {"GET", "/users/99999", NULL, ""},
    {"POST", "/users", "{\"name\": \"Cher\", \"email\": \"cher@example.com\"}", ""},
    {"POST", "/orders", "{\"user_id\": 99999, \"amount\": 5}", ""},
    {"PATCH", "/users/1", "{\"name\": \"Mary\",}", ""},
};
#define SESSION_LENGTH (sizeof SESSION / sizeof *SESSION)

struct compared {
    long status[2];
    json_t *body[2];
    char paths[4096]; /* the JSON Pointers that differ, one per line */
};

/* Remove `path` (a whole line) from paths; true if it was there. */
static bool take(char *paths, const char *path)
{
    char line[256];
    snprintf(line, sizeof line, "%s\n", path);
    for (char *p = paths; (p = strstr(p, line)); p++) {
        if (p == paths || p[-1] == '\n') {
            memmove(p, p + strlen(line), strlen(p + strlen(line)) + 1);
            return true;
        }
    }
    return false;
}

/* Remove every line PREFIX<index>SUFFIX; return how many there were. */
static int take_each(char *paths, const char *prefix, const char *suffix)
{
    char line[256];
    int taken = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "%s%d%s", prefix, i, suffix);
        taken += take(paths, line);
    }
    return taken;
}

/* The noise: request_id and served_at always, and the created_at of rows
 * created during the run (the seeded ones are from 2024 and must agree). */
static void take_noise(struct compared *c)
{
    char *line = c->paths, pointer[256];
    take(c->paths, "/request_id");
    take(c->paths, "/served_at");
    while (*line) {
        size_t len = strcspn(line, "\n");
        snprintf(pointer, sizeof pointer, "%.*s", (int)len, line);
        json_t *value = at(c->body[0], pointer);
        if (len > 11 && !strcmp(pointer + len - 11, "/created_at") && json_is_string(value) &&
            strncmp(json_string_value(value), "2024-", 5))
            take(c->paths, pointer); /* the next line moved here */
        else
            line += len + (line[len] ? 1 : 0);
    }
}

/* Send SESSION to two services, step by step, and compare the answers. */
static struct compared *compare_session(int left, int right)
{
    struct compared *out = calloc(SESSION_LENGTH, sizeof *out);
    for (size_t i = 0; i < SESSION_LENGTH; i++) {
        struct reply a, b;
        http(&a, left, SESSION[i][0], SESSION[i][1], SESSION[i][2]);
        http(&b, right, SESSION[i][0], SESSION[i][1], SESSION[i][2]);
        out[i].status[0] = a.status;
        out[i].status[1] = b.status;
        differences(a.body, b.body, "", out[i].paths, sizeof out[i].paths);
        /* The noise fields are there, always differ, and match the header. */
        cr_assert_str_eq(str_at(a.body, "/request_id"), a.request_id);
        cr_assert_str_eq(str_at(b.body, "/request_id"), b.request_id);
        cr_assert(strstr(out[i].paths, "/request_id\n") && strstr(out[i].paths, "/served_at\n"),
                  "%s %s: %s", SESSION[i][0], SESSION[i][1], out[i].paths);
        out[i].body[0] = json_incref(a.body);
        out[i].body[1] = json_incref(b.body);
        reply_free(&a);
        reply_free(&b);
        take_noise(&out[i]);
    }
    return out;
}

static void compared_free(struct compared *c)
{
    for (size_t i = 0; c && i < SESSION_LENGTH; i++) {
        json_decref(c[i].body[0]);
        json_decref(c[i].body[1]);
    }
    free(c);
}

Test(demo, two_v1_instances_differ_only_in_the_noise)
{
    const char *left_db = db_clone("noise_a", "demo_seed");
    const char *right_db = db_clone("noise_b", "demo_seed");
    struct service a, b;

    service_start(&a, "v1", left_db);
    service_start(&b, "v1", right_db);
    struct compared *c = compare_session(a.port, b.port);
    for (size_t i = 0; i < SESSION_LENGTH; i++) {
        cr_assert_eq(c[i].status[0], c[i].status[1], "%s %s", SESSION[i][0], SESSION[i][1]);
        cr_assert_str_eq(c[i].paths, "", "%s %s: differences beyond the noise:\n%s",
                         SESSION[i][0], SESSION[i][1], c[i].paths);
    }
    compared_free(c);
    service_stop(&a);
    service_stop(&b);
    /* Both databases hold the same facts. */
    char *left = db_value(left_db, "SELECT md5(string_agg(format('%s %s %s', id, name, email),"
                                   " ',' ORDER BY id)) FROM users");
    char *right = db_value(right_db, "SELECT md5(string_agg(format('%s %s %s', id, name, email),"
                                     " ',' ORDER BY id)) FROM users");
    cr_assert_str_eq(left, right);
    free(left);
    free(right);
}

/* The ids of a list of orders, in order: "12,9,4". */
static void order_ids(json_t *body, char *out, size_t size)
{
    size_t i;
    json_t *order;
    out[0] = '\0';
    json_array_foreach(at(body, "/orders"), i, order)
        snprintf(out + strlen(out), size - strlen(out), "%s%lld", i ? "," : "",
                 (long long)json_integer_value(at(order, "/id")));
}

Test(demo, v2_shows_each_planted_regression_on_the_documented_paths)
{
    const char *old_db = db_clone("reg_old", "demo_seed");
    const char *new_db = db_clone("reg_new", "demo_expanded");
    struct service v1, v2;

    service_start(&v1, "v1", old_db);
    service_start(&v2, "v2", new_db);
    struct compared *c = compare_session(v1.port, v2.port);

    for (size_t i = 0; i < SESSION_LENGTH; i++) {
        const char *method = SESSION[i][0], *path = SESSION[i][1], *planted = SESSION[i][3];
        char *p = c[i].paths;
        json_t *old_orders = at(c[i].body[0], "/orders");
        int n = (int)json_array_size(old_orders);

        if (strstr(planted, "R4")) {
            /* R4: POST /orders answers 200 instead of 201. */
            cr_assert_eq(c[i].status[0], 201);
            cr_assert_eq(c[i].status[1], 200, "R4 not visible on %s %s", method, path);
        } else {
            cr_assert_eq(c[i].status[0], c[i].status[1], "%s %s", method, path);
        }
        if (strstr(planted, "R1"))
            /* R1: a name of three words or more loses its tail. */
            cr_assert(take(p, "/user/name") || take_each(p, "/users/", "/name") > 0,
                      "R1 not visible on %s %s", method, path);
        if (strstr(planted, "R3")) {
            /* R3: the same orders, oldest first. */
            char old_ids[1024], new_ids[1024], reversed[1024] = "";
            order_ids(c[i].body[0], old_ids, sizeof old_ids);
            order_ids(c[i].body[1], new_ids, sizeof new_ids);
            cr_assert_str_neq(old_ids, new_ids, "R3 not visible on %s", path);
            if (!strchr(path, '?')) {
                for (int k = n - 1; k >= 0; k--)
                    snprintf(reversed + strlen(reversed), sizeof reversed - strlen(reversed),
                             "%s%lld", k < n - 1 ? "," : "",
                             (long long)json_integer_value(at(json_array_get(old_orders, (size_t)k),
                                                              "/id")));
                cr_assert_str_eq(new_ids, reversed, "R3 on %s", path);
            }
            cr_assert_gt(take_each(p, "/orders/", "/id"), 0);
            take_each(p, "/orders/", "/created_at");
            take_each(p, "/orders/", "/status");
        }
        if (strstr(planted, "R2")) {
            /* R2: amount becomes a string, wherever an order is shown. */
            if (old_orders)
                cr_assert_eq(take_each(p, "/orders/", "/amount"), n, "R2 on %s %s", method, path);
            else
                cr_assert(take(p, "/order/amount"), "R2 not visible on %s %s", method, path);
        }
        cr_assert_str_eq(p, "", "%s %s: differences beyond the planted %s:\n%s", method, path,
                         *planted ? planted : "(none)", p);
    }
    /* The string is the database's text of the same number. */
    cr_assert_str_eq(str_at(c[5].body[1], "/order/amount"), "55.49");
    cr_assert_eq(json_real_value(at(c[5].body[0], "/order/amount")), 55.49);
    compared_free(c);

    /* R1 reached the database: name via the trigger, and the new columns. */
    db_assert_value(old_db, "SELECT name FROM users WHERE id = 301", "Anna Maria de la Cruz");
    db_assert_value(new_db, "SELECT name || '|' || first_name || '|' || last_name FROM users"
                            " WHERE id = 301", "Anna Maria|Anna|Maria");
    db_assert_value(new_db, "SELECT name FROM users WHERE id = 1", "Mary Ann");
    db_assert_value(new_db, "SELECT name FROM users WHERE id = 4", "Grace Hopper");
    service_stop(&v1);
    service_stop(&v2);
}

/* Each bad request and the status and error code it must get. */
static const char *const BAD_REQUESTS[][5] = {
    /* method, path, body, status, code */
    {"GET", "/users/abc", NULL, "400", "invalid_id"},
    {"GET", "/users/0", NULL, "400", "invalid_id"},
    {"GET", "/orders/99999999999999999999", NULL, "400", "invalid_id"},
    {"GET", "/users?limit=0", NULL, "400", "invalid_parameter"},
    {"GET", "/users?limit=abc", NULL, "400", "invalid_parameter"},
    {"GET", "/users/1/orders?limit=1000", NULL, "400", "invalid_parameter"},
    {"POST", "/users", "{\"name\": \"Ada\"", "400", "invalid_json"},
    {"POST", "/users", "[\"Ada\"]", "400", "invalid_json"},
    {"POST", "/users", "{\"name\": \"Ada\", \"name\": \"Bob\", \"email\": \"a@b.c\"}", "400",
     "invalid_json"},
    {"POST", "/users", "{\"name\": \"Ada\"}", "400", "missing_field"},
    {"POST", "/users", "{\"name\": 42, \"email\": \"a@b.c\"}", "400", "invalid_field"},
    {"POST", "/users", "{\"name\": \" Ada\", \"email\": \"a@b.c\"}", "400", "invalid_field"},
    {"POST", "/users", "{\"name\": \"\", \"email\": \"a@b.c\"}", "400", "invalid_field"},
    {"POST", "/users", "{\"name\": \"Ada\\tL\", \"email\": \"a@b.c\"}", "400", "invalid_field"},
    {"POST", "/users", "{\"name\": \"Ada\", \"email\": \"not an email\"}", "400", "invalid_field"},
    {"POST", "/users", "{\"name\": \"Ada\", \"email\": \"a@b.c\", \"admin\": true}", "400",
     "unknown_field"},
    {"PATCH", "/users/1", "{}", "400", "empty_update"},
    {"PATCH", "/users/99999", "{\"name\": \"Ada\"}", "404", "not_found"},
    {"POST", "/orders", "{\"user_id\": 1, \"amount\": -3}", "400", "invalid_field"},
    {"POST", "/orders", "{\"user_id\": 1, \"amount\": 1.005}", "400", "invalid_field"},
    {"POST", "/orders", "{\"user_id\": 1, \"amount\": \"19.90\"}", "400", "invalid_field"},
    {"POST", "/orders", "{\"user_id\": 1, \"amount\": 100000000}", "400", "invalid_field"},
    {"POST", "/orders", "{\"user_id\": \"1\", \"amount\": 5}", "400", "invalid_field"},
    {"POST", "/orders", "{\"user_id\": 1, \"amount\": 5, \"status\": \"lost\"}", "400",
     "invalid_field"},
    {"POST", "/orders", "{\"user_id\": 99999, \"amount\": 5}", "422", "unknown_reference"},
    {"POST", "/users", "{\"name\": \"Cher\", \"email\": \"cher@example.com\"}", "409", "conflict"},
    {"GET", "/users/99999", NULL, "404", "not_found"},
    {"GET", "/users/99999/orders", NULL, "404", "not_found"},
    {"GET", "/orders/99999", NULL, "404", "not_found"},
    {"GET", "/no/such/thing", NULL, "404", "not_found"},
    {"DELETE", "/users/1", NULL, "405", "method_not_allowed"},
    {"POST", "/health", NULL, "405", "method_not_allowed"},
};

Test(demo, bad_requests_get_a_json_error_with_the_right_status)
{
    const char *db = db_clone("bad", "demo_expanded");
    struct service services[2];
    struct reply r;

    service_start(&services[0], "v1", db);
    service_start(&services[1], "v2", db);
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sizeof BAD_REQUESTS / sizeof *BAD_REQUESTS; i++) {
            const char *const *c = BAD_REQUESTS[i];
            http(&r, services[s].port, c[0], c[1], c[2]);
            cr_assert_eq(r.status, atol(c[3]), "%s %s %s: got %ld: %s", c[0], c[1],
                         c[2] ? c[2] : "", r.status, r.raw);
            cr_assert_str_eq(str_at(r.body, "/error/code"), c[4], "%s %s: %s", c[0], c[1], r.raw);
            cr_assert_gt(strlen(str_at(r.body, "/error/message")), 10);
            cr_assert_str_eq(str_at(r.body, "/request_id"), r.request_id);
            reply_free(&r);
        }
    }

    /* Errors say where: the JSON error has its line and column. */
    http(&r, services[0].port, "POST", "/users", "{\"name\": \"Ada\",\n \"email\" 1}");
    cr_assert(strstr(str_at(r.body, "/error/message"), "line 2, column"), "%s", r.raw);
    reply_free(&r);
    /* Not JSON at all, and too big. */
    http_on(NULL, &r, services[0].port, "POST", "/users", "name=Ada", "text/plain");
    cr_assert_eq(r.status, 415, "%s", r.raw);
    cr_assert_str_eq(str_at(r.body, "/error/code"), "unsupported_media_type");
    reply_free(&r);
    char *big = malloc(70 * 1024);
    memset(big, 'x', 70 * 1024 - 1);
    big[70 * 1024 - 1] = '\0';
    http(&r, services[0].port, "POST", "/users", big);
    cr_assert_eq(r.status, 413);
    cr_assert_str_eq(str_at(r.body, "/error/code"), "too_large");
    reply_free(&r);
    free(big);

    /* A path that is not UTF-8 is quoted safely in the message. */
    http(&r, services[0].port, "GET", "/users/%C3%28", NULL);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(str_at(r.body, "/error/message"), "\\xC3("), "%s", r.raw);
    reply_free(&r);
    service_stop(&services[0]);
    service_stop(&services[1]);
}

Test(demo, a_terminated_database_session_is_replaced)
{
    const char *db = db_clone("terminate", "demo_seed");
    struct service v1;
    struct reply r;
    char sql[256];

    service_start(&v1, "v1", db);
    http(&r, v1.port, "GET", "/users/1", NULL);
    cr_assert_eq(r.status, 200);
    reply_free(&r);
    snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) > 0 FROM pg_stat_activity"
                              " WHERE application_name = 'demo_v1' AND datname = '%s'", db);
    db_assert_value("postgres", sql, "t");
    /* Reads retry once on a new connection; every thread recovers. */
    for (int i = 0; i < 6; i++) {
        http(&r, v1.port, "GET", "/users/1", NULL);
        cr_assert_eq(r.status, 200, "%s", r.raw);
        reply_free(&r);
    }
    service_stop(&v1);
}

/* Configurations the services refuse (or, for --help, explain), with the
 * exit status and what they must say. */
static const char *const CONFIGURATIONS[][6] = {
    /* DATABASE_URL, PORT, LISTEN_ADDRESS, argument, exit status, text */
    {NULL, NULL, NULL, NULL, "2", "DATABASE_URL is not set"},
    {"host=127.0.0.1 nosuchkey=1", NULL, NULL, NULL, "2", "not a valid libpq conninfo"},
    {"host=127.0.0.1", "http", NULL, NULL, "2", "PORT='http'"},
    {"host=127.0.0.1", "70000", NULL, NULL, "2", "PORT='70000'"},
    {"host=127.0.0.1", "0", "localhost", NULL, "2", "not an IP address"},
    {"host=127.0.0.1", "0", NULL, "--port=1", "2", "DATABASE_URL"},
    {NULL, NULL, NULL, "--help", "0", "LISTEN_ADDRESS"},
};

Test(demo, bad_configuration_is_refused_with_a_clear_message)
{
    static const char *const names[] = {"DATABASE_URL", "PORT", "LISTEN_ADDRESS"};
    for (size_t i = 0; i < sizeof CONFIGURATIONS / sizeof *CONFIGURATIONS; i++) {
        const char *const *c = CONFIGURATIONS[i];
        char *argv[] = {(char *)test_fixture_bin("demo_v1"), (char *)c[3], NULL};
        struct run_result res;
        for (int v = 0; v < 3; v++)
            c[v] ? setenv(names[v], c[v], 1) : unsetenv(names[v]);
        cr_assert_eq(test_run(&res, argv, 10), 0);
        cr_assert_eq(res.exit_code, atoi(c[4]), "case %zu: %s", i, res.err);
        cr_assert(strstr(c[4][0] == '0' ? res.out : res.err, c[5]), "case %zu: %s%s", i, res.out,
                  res.err);
        test_run_free(&res);
    }
}

Test(demo, a_service_without_its_database_says_so_and_recovers)
{
    struct service v1;
    struct reply r;
    /* A database that does not exist yet. */
    char name[64];
    snprintf(name, sizeof name, "t%d_late", (int)getpid());
    service_start(&v1, "v1", name);
    char *log = test_read_file(v1.err, NULL);
    cr_assert(strstr(log, "not reachable yet"), "%s", log);
    free(log);
    http(&r, v1.port, "GET", "/health", NULL);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(str_at(r.body, "/error/code"), "database_unavailable");
    reply_free(&r);
    http(&r, v1.port, "GET", "/users/1", NULL);
    cr_assert_eq(r.status, 503);
    reply_free(&r);

    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE demo_seed", name);
    free(db_value("postgres", sql));
    http(&r, v1.port, "GET", "/users/1", NULL);
    cr_assert_eq(r.status, 200, "%s", r.raw);
    reply_free(&r);
    service_stop(&v1);
}

/* ---- the committed trace ----------------------------------------------- */

Test(demo, the_committed_trace_holds_the_documented_session)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(test_repo_path("fixtures/demo/trace.pcap"), errbuf);
    cr_assert_not_null(p, "%s", errbuf);
    cr_assert_eq(pcap_datalink(p), DLT_EN10MB);

    struct pcap_pkthdr *h;
    const u_char *d;
    int packets = 0, syns = 0, requests = 0, server_port = 0, rc;
    double first = 0, last = 0;
    static const char *const methods[] = {"GET ", "POST ", "PATCH "};
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        double t = (double)h->ts.tv_sec + h->ts.tv_usec / 1e6;
        if (!packets++)
            first = t;
        last = t;
        /* Ethernet, IPv4, TCP: only what make-trace.sh records. */
        cr_assert_geq(h->caplen, 14 + 20 + 20);
        cr_assert_eq(d[12] << 8 | d[13], 0x0800);
        size_t ip = 14, tcp = ip + (size_t)(d[ip] & 0x0F) * 4;
        size_t payload = tcp + (size_t)(d[tcp + 12] >> 4) * 4;
        int dport = d[tcp + 2] << 8 | d[tcp + 3];
        bool syn = d[tcp + 13] & 0x02, ack = d[tcp + 13] & 0x10;
        if (syn && !ack) {
            syns++;
            server_port = dport;
        }
        if (dport == server_port && payload < h->caplen)
            for (size_t m = 0; m < 3; m++)
                if (h->caplen - payload > strlen(methods[m]) &&
                    !memcmp(d + payload, methods[m], strlen(methods[m])))
                    requests++;
    }
    cr_assert_eq(rc, PCAP_ERROR_BREAK, "%s", pcap_geterr(p));
    pcap_close(p);
    /* The figures fixtures/demo/README.md gives. */
    cr_assert_eq(syns, 11);
    cr_assert_eq(requests, 502);
    cr_assert(last - first > 25 && last - first < 35, "%.1f s", last - first);

    /* rehearse's own capture finds the same, and redacts the secret. */
    struct run_result res;
    const char *trace = test_path(dir, "demo.jsonl");
    cr_assert_eq(test_rehearse(&res, 60, "capture", "-r", test_repo_path("fixtures/demo/trace.pcap"),
                               "-o", trace, NULL), 0);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    cr_assert_eq(test_rehearse(&res, 60, "trace", "stats", trace, "--format", "json", NULL), 0);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    json_t *stats = json_loads(res.out, 0, NULL);
    cr_assert_not_null(stats, "%s", res.out);
    cr_assert_eq(json_integer_value(at(stats, "/transactions")), 502);
    cr_assert_eq(json_integer_value(at(stats, "/without_response")), 0);
    cr_assert_eq(json_integer_value(at(stats, "/connections/count")), 11);
    size_t i;
    json_t *flag;
    long long redacted = 0;
    json_array_foreach(at(stats, "/flags"), i, flag)
        if (!strcmp(json_string_value(at(flag, "/flag")), "redacted"))
            redacted = json_integer_value(at(flag, "/count"));
    cr_assert_eq(redacted, 126, "the back office's Authorization header");
    json_decref(stats);
    test_run_free(&res);
}
