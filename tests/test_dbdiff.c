/*
 * rehearse dbdiff and its library (dbdiff, dbstate, dbconn) against a real
 * PostgreSQL: one embedded cluster for the whole binary (started by the
 * PRE_ALL hook), a fixture database loaded once from
 * fixtures/sql/dbdiff_base.sql, and two fresh copies of it per test
 * (CREATE DATABASE ... TEMPLATE), one of which the test changes in known
 * ways before comparing.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbdiff.h"
#include "dbstate.h"
#include "pg_cluster.h"
#include "testutil.h"

#define ENV_BASE "REHEARSE_TEST_DBDIFF_PG"     /* "host=... port=... user=..." */
#define ENV_SETUP_ERROR "REHEARSE_TEST_DBDIFF_ERROR"
#define FIXTURE_DB "dbdiff_fixture"

/* ---- the cluster, once per test binary ---------------------------------- */

static struct pg_cluster *cluster;
static char *cluster_dir;

static void setup_failed(const char *what, const char *message)
{
    char text[2048];
    snprintf(text, sizeof text, "%s: %s", what, message);
    setenv(ENV_SETUP_ERROR, text, 1);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    struct pg_cluster_options options = {0};
    struct error err;
    char base[256];
    size_t len;

    (void)set;
    error_init(&err);
    cluster_dir = test_tmpdir();
    options.dir = test_path(cluster_dir, "pg");
    if (pg_cluster_new(&cluster, &options, &err) || pg_cluster_start(cluster, &err)) {
        setup_failed("cannot start PostgreSQL", err.message);
        return;
    }
    if (pg_cluster_create_database(cluster, FIXTURE_DB, NULL, &err)) {
        setup_failed("cannot create the fixture database", err.message);
        return;
    }
    char *sql = test_read_file(test_repo_path("fixtures/sql/dbdiff_base.sql"), &len);
    if (!sql) {
        setup_failed("cannot read", "fixtures/sql/dbdiff_base.sql");
        return;
    }
    PGconn *conn = PQconnectdb(pg_cluster_conninfo(cluster, FIXTURE_DB));
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        setup_failed("fixtures/sql/dbdiff_base.sql", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(conn);
    free(sql);
    snprintf(base, sizeof base, "host=127.0.0.1 port=%d user=rehearse connect_timeout=10",
             pg_cluster_port(cluster));
    setenv(ENV_BASE, base, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    pg_cluster_free(cluster);
    test_tmpdir_remove(cluster_dir);
}

/* ---- helpers ------------------------------------------------------------ */

static char *dir;

static void setup(void)
{
    const char *failure = getenv(ENV_SETUP_ERROR);
    cr_assert_null(failure, "%s", failure);
    cr_assert_not_null(getenv(ENV_BASE), "the PRE_ALL hook did not run");
    dir = test_tmpdir();
}

static void teardown(void) { test_tmpdir_remove(dir); }

TestSuite(dbdiff, .init = setup, .fini = teardown, .timeout = 120);

/* A conninfo for database `db` (static rotating buffers). */
static const char *conninfo(const char *db)
{
    static char bufs[8][512];
    static int next;
    char *out = bufs[next++ % 8];
    snprintf(out, 512, "%s dbname=%s", getenv(ENV_BASE), db);
    return out;
}

static void sql_exec(const char *db, const char *sql)
{
    PGconn *conn = PQconnectdb(conninfo(db));
    cr_assert_eq(PQstatus(conn), CONNECTION_OK, "%s", PQerrorMessage(conn));
    PGresult *res = PQexec(conn, sql);
    cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
              "%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(conn);
}

/* A new database, from the fixture or empty; its name in out. */
static void new_db(char out[64], bool from_fixture)
{
    static int counter;
    char create[256];
    snprintf(out, 64, "t%d_%d", (int)getpid(), counter++);
    snprintf(create, sizeof create, "CREATE DATABASE %s%s", out,
             from_fixture ? " TEMPLATE " FIXTURE_DB : "");
    sql_exec("postgres", create);
}

static void clone_pair(char left[64], char right[64])
{
    new_db(left, true);
    new_db(right, true);
}

static struct dbdiff_result *diff_with(const char *left, const char *right,
                                       struct dbdiff_options *o)
{
    struct dbdiff_result *r = NULL;
    struct error err;
    error_init(&err);
    o->left_conninfo = conninfo(left);
    o->right_conninfo = conninfo(right);
    cr_assert_eq(dbdiff_run(o, &r, &err), 0, "%s", err.message);
    return r;
}

static struct dbdiff_result *diff(const char *left, const char *right)
{
    struct dbdiff_options o;
    dbdiff_options_init(&o);
    return diff_with(left, right, &o);
}

static const struct dbdiff_table *table(const struct dbdiff_result *r, const char *name)
{
    for (size_t i = 0; i < r->ntables; i++)
        if (strcmp(r->tables[i].name, name) == 0)
            return &r->tables[i];
    cr_assert_fail("no table '%s' in the result", name);
    return NULL;
}

static void expect_counts(const struct dbdiff_table *t, int64_t only_left, int64_t only_right,
                          int64_t changed)
{
    cr_expect_eq(t->only_left, only_left, "%s: only_left %lld, expected %lld", t->name,
                 (long long)t->only_left, (long long)only_left);
    cr_expect_eq(t->only_right, only_right, "%s: only_right %lld, expected %lld", t->name,
                 (long long)t->only_right, (long long)only_right);
    cr_expect_eq(t->changed, changed, "%s: changed %lld, expected %lld", t->name,
                 (long long)t->changed, (long long)changed);
    cr_expect(t->complete, "%s is not complete", t->name);
}

/* The keys of the examples of one kind, each as "k1|k2" (values joined for
 * the comparison only), sorted and joined by spaces; changed examples get
 * ":col,col" appended. */
static char *example_keys(const struct dbdiff_table *t, enum dbdiff_example_kind kind)
{
    char *items[64];
    size_t n = t->nexamples[kind];
    static char out[4096];
    cr_assert_leq(n, 64);
    for (size_t i = 0; i < n; i++) {
        const struct dbdiff_example *ex = &t->examples[kind][i];
        char item[512] = "";
        for (size_t k = 0; k < t->nkey; k++) {
            strcat(item, k ? "|" : "");
            strncat(item, ex->key[k] ? ex->key[k] : "NULL", 100);
        }
        if (kind == DBDIFF_EX_CHANGED) {
            strcat(item, ":");
            bool first = true;
            for (size_t c = 0; c < t->ncols; c++)
                if (ex->changed[c]) {
                    strcat(item, first ? "" : ",");
                    strcat(item, t->cols[c]);
                    first = false;
                }
        }
        items[i] = strdup(item);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(items[i], items[j]) > 0) {
                char *tmp = items[i];
                items[i] = items[j];
                items[j] = tmp;
            }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, i ? " " : "");
        strcat(out, items[i]);
        free(items[i]);
    }
    return out;
}

static const struct dbdiff_example *example_with_key(const struct dbdiff_table *t,
                                                     enum dbdiff_example_kind kind,
                                                     const char *key)
{
    for (size_t i = 0; i < t->nexamples[kind]; i++)
        if (t->examples[kind][i].key[0] && !strcmp(t->examples[kind][i].key[0], key))
            return &t->examples[kind][i];
    cr_assert_fail("%s: no example with key %s", t->name, key);
    return NULL;
}

static int col_index(const struct dbdiff_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i], name))
            return (int)i;
    cr_assert_fail("%s: no compared column %s", t->name, name);
    return -1;
}

static void expect_all_same_but(const struct dbdiff_result *r, const char *const *except)
{
    for (size_t i = 0; i < r->ntables; i++) {
        bool skip = false;
        for (const char *const *e = except; *e; e++)
            skip |= !strcmp(*e, r->tables[i].name);
        if (!skip)
            cr_expect_eq(r->tables[i].status, DBDIFF_SAME, "table %s: %s", r->tables[i].name,
                         dbdiff_status_name(r->tables[i].status));
    }
}

/* ---- rows --------------------------------------------------------------- */

Test(dbdiff, identical_databases_have_no_differences)
{
    char l[64], r[64];
    clone_pair(l, r);
    struct dbdiff_result *res = diff(l, r);
    cr_expect_eq(res->nchanges, 0);
    cr_expect_eq(res->ntables, 7);
    static const char *const none[] = {NULL};
    expect_all_same_but(res, none);
    cr_expect(res->complete);
    cr_expect_not(dbdiff_result_differs(res));
    const struct dbdiff_table *people = table(res, "people");
    cr_expect_eq(people->rows_left, 20);
    cr_expect_eq(people->rows_right, 20);
    cr_expect_str_eq(people->method, "key");
    cr_expect_str_eq(people->key_source, "primary key");
    const struct dbdiff_table *empty = table(res, "empty_t");
    cr_expect_eq(empty->rows_left, 0);
    cr_expect_eq(empty->rows_right, 0);
    dbdiff_result_free(res);
}

Test(dbdiff, inserted_deleted_and_changed_rows_are_counted_exactly_with_awkward_values)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(r,
             /* the first and the last key go, two new keys come */
             "DELETE FROM people WHERE id IN (1, 20);"
             "INSERT INTO people (id, name) VALUES (0, 'zero'), (21, 'twenty-one');"
             /* a value becomes NULL; CRLF becomes LF */
             "UPDATE people SET note = NULL WHERE id = 2;"
             "UPDATE people SET note = E'cr\\nlf' WHERE id = 4;"
             /* the smallest change of a float */
             "UPDATE people SET ratio = 1.0000000000000002e300 WHERE id = 3;"
             /* unicode text and bytea */
             "UPDATE people SET name = name || '!', blob = '\\x5d' WHERE id = 5;"
             /* an array gains a NULL, an enum another label */
             "UPDATE people SET tags = '{seven,NULL}' WHERE id = 7;"
             "UPDATE people SET feeling = 'happy' WHERE id = 8;"
             /* json is compared as text: whitespace counts */
             "UPDATE people SET doc = ' 9' WHERE id = 9;"
             /* one microsecond later */
             "UPDATE people SET seen = seen + interval '1 microsecond' WHERE id = 10;"
             "UPDATE people SET score = NULL WHERE id = 11;"
             /* equal under the type's equality: not differences */
             "UPDATE people SET seen = '2024-06-06 00:06:06+00' WHERE id = 6;"
             "UPDATE people SET ratio = 0.0 WHERE id = 2;"
             "UPDATE people SET ratio = 'NaN' WHERE id = 4;"
             "UPDATE people SET score = 12.0 WHERE id = 12;");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "people");
    expect_counts(t, 2, 2, 9);
    cr_expect_eq(t->status, DBDIFF_DIFFERENT);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_LEFT), "1 20");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_RIGHT), "0 21");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED),
                     "10:seen 11:score 2:note 3:ratio 4:note 5:blob,name 7:tags 8:feeling 9:doc");
    /* Values are shown as PostgreSQL prints them, NULL as NULL. */
    const struct dbdiff_example *ex = example_with_key(t, DBDIFF_EX_CHANGED, "2");
    int note = col_index(t, "note");
    cr_expect_str_eq(ex->left[note], "it's \"quoted\"");
    cr_expect_null(ex->right[note]);
    ex = example_with_key(t, DBDIFF_EX_CHANGED, "4");
    cr_expect_str_eq(ex->left[note], "cr\r\nlf");
    cr_expect_str_eq(ex->right[note], "cr\nlf");
    ex = example_with_key(t, DBDIFF_EX_CHANGED, "5");
    cr_expect_str_eq(ex->left[col_index(t, "blob")], "\\x5c");
    cr_expect_str_eq(ex->right[col_index(t, "name")], "ünïcødé ✓ 日本!");
    ex = example_with_key(t, DBDIFF_EX_ONLY_LEFT, "1");
    cr_expect_str_eq(ex->left[col_index(t, "seen")], "2024-01-01 00:00:00+00");
    cr_expect_eq(t->changed_by_col[note], 2);
    /* json and the enum have no portable typed hash: their text is compared */
    char text_cols[256] = "";
    for (size_t i = 0; i < t->nkey + t->ncols; i++)
        if (t->as_text[i]) {
            strcat(text_cols, " ");
            strcat(text_cols, i < t->nkey ? t->key[i] : t->cols[i - t->nkey]);
        }
    cr_expect_str_eq(text_cols, " doc feeling");
    static const char *const people_only[] = {"people", NULL};
    expect_all_same_but(res, people_only);
    dbdiff_result_free(res);
}

Test(dbdiff, compound_keys_do_not_collide_when_their_parts_are_concatenated)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(r, "DELETE FROM events WHERE region = '1' AND seq = 11;"
                "UPDATE events SET payload = '{\"n\": 20}' WHERE region = '11' AND seq = 1;"
                "UPDATE events SET payload = '{}' WHERE region = 'eu' AND seq = 2;"
                "INSERT INTO events VALUES ('eu', 3, now(), NULL);"
                "UPDATE events SET at = '2024-01-01 02:00:04+02' WHERE region = 'us';");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "events");
    expect_counts(t, 1, 1, 2);
    cr_expect_eq(t->nkey, 2);
    cr_expect_str_eq(t->key[0], "region");
    cr_expect_str_eq(t->key[1], "seq");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_LEFT), "1|11");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_RIGHT), "eu|3");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "11|1:payload eu|2:payload");
    dbdiff_result_free(res);
}

Test(dbdiff, uuid_timestamp_and_text_keys_work)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(r, "DELETE FROM tokens WHERE id = '00000000-0000-0000-0000-000000000001';"
                "UPDATE tokens SET value = 'TWO' WHERE id = '00000000-0000-0000-0000-000000000002';"
                "INSERT INTO tokens VALUES ('00000000-0000-0000-0000-000000000003', 'three');"
                "DELETE FROM stamps WHERE at = '1970-01-01';"
                "UPDATE stamps SET v = 20 WHERE at = '2024-01-01 00:00:00.000001';"
                "UPDATE names SET label = 'TAB' WHERE code = E'a\\tb';"
                "UPDATE names SET label = 'EMPTY' WHERE code = '';"
                "DELETE FROM names WHERE code = 'a''b';"
                "INSERT INTO names VALUES ('a\\b\\', 'two backslashes');");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "tokens");
    expect_counts(t, 1, 1, 1);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED),
                     "00000000-0000-0000-0000-000000000002:value");
    t = table(res, "stamps");
    expect_counts(t, 1, 0, 1);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_LEFT), "1970-01-01 00:00:00");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "2024-01-01 00:00:00.000001:v");
    t = table(res, "names");
    expect_counts(t, 1, 1, 2);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), ":label a\tb:label");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_LEFT), "a'b");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_RIGHT), "a\\b\\");
    dbdiff_result_free(res);
}

Test(dbdiff, values_swapped_between_rows_or_columns_are_detected)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(r, /* two rows exchange their names */
                "UPDATE people SET name = CASE id WHEN 13 THEN 'fourteen' ELSE 'thirteen' END "
                "WHERE id IN (13, 14);"
                /* one row exchanges two of its columns */
                "UPDATE people SET name = note, note = name WHERE id = 19;"
                /* keyless: ('x',1),('y',2) become ('x',2),('y',1) */
                "UPDATE log SET n = 3 - n WHERE msg IN ('x', 'y');");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "people");
    expect_counts(t, 0, 0, 3);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "13:name 14:name 19:name,note");
    t = table(res, "log");
    cr_expect_str_eq(t->method, "multiset");
    expect_counts(t, 2, 2, 0);
    dbdiff_result_free(res);
}

Test(dbdiff, a_table_without_key_is_compared_as_a_multiset_with_duplicates)
{
    char l[64], r[64];
    clone_pair(l, r);
    /* one of the two ('a', 1) goes; ('b', 2) is doubled; (NULL, NULL) stays */
    sql_exec(r, "DELETE FROM log WHERE ctid = (SELECT min(ctid) FROM log WHERE msg = 'a');"
                "INSERT INTO log VALUES ('b', 2), ('c', 3);");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "log");
    cr_expect_str_eq(t->method, "multiset");
    cr_expect_null(t->key_source);
    cr_expect_not_null(t->note);
    expect_counts(t, 1, 2, 0);
    cr_expect_eq(t->rows_left, 6);
    cr_expect_eq(t->rows_right, 7);
    cr_expect_eq(t->nexamples[DBDIFF_EX_ONLY_LEFT], 1);
    const struct dbdiff_example *ex = &t->examples[DBDIFF_EX_ONLY_LEFT][0];
    cr_expect_eq(ex->count, 1);
    cr_expect_str_eq(ex->left[0], "a");
    cr_expect_str_eq(ex->left[1], "1");
    /* ('b', 2) once more and ('c', 3): two examples of one copy each */
    cr_expect_eq(t->nexamples[DBDIFF_EX_ONLY_RIGHT], 2);
    dbdiff_result_free(res);
}

Test(dbdiff, a_key_given_for_a_table_without_one_is_used_and_duplicates_are_reported)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(r, "UPDATE log SET n = 9 WHERE msg = 'b';");
    const char *cols[] = {"msg"};
    struct dbdiff_key key = {"log", cols, 1};
    struct dbdiff_options o;
    dbdiff_options_init(&o);
    o.keys = &key;
    o.nkeys = 1;
    struct dbdiff_result *res = diff_with(l, r, &o);
    const struct dbdiff_table *t = table(res, "log");
    cr_expect_str_eq(t->method, "key");
    cr_expect_str_eq(t->key_source, "--key");
    expect_counts(t, 0, 0, 1);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "b:n");
    /* 'a' appears twice on each side: the key is not unique, and we say so */
    cr_expect_eq(t->duplicate_keys_left, 1);
    cr_expect_eq(t->duplicate_keys_right, 1);
    dbdiff_result_free(res);
}

Test(dbdiff, empty_tables_and_a_table_emptied_on_one_side)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(r, "DELETE FROM stamps;");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "empty_t");
    expect_counts(t, 0, 0, 0);
    cr_expect_eq(t->status, DBDIFF_SAME);
    t = table(res, "stamps");
    expect_counts(t, 3, 0, 0);
    cr_expect_eq(t->rows_right, 0);
    dbdiff_result_free(res);
}

static void refine_in_mode(bool hash_only)
{
    char l[64], r[64];
    clone_pair(l, r);
    const char *load = "CREATE TABLE big (id int PRIMARY KEY, v text);"
                       "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(-50, 3000) g;"
                       "ANALYZE big;";
    sql_exec(l, load);
    sql_exec(r, load);
    sql_exec(r, "UPDATE big SET v = 'changed' WHERE id IN (-7, 1, 700, 3000);"
                "DELETE FROM big WHERE id IN (-20, 1500); INSERT INTO big VALUES (3001, 'new');");
    struct dbdiff_options o;
    dbdiff_options_init(&o);
    o.bucket_bits = 2;       /* four buckets of ~750 rows... */
    o.refine_min_rows = 10;  /* ...refined while more than 10 rows remain */
    o.hash_buckets_only = hash_only;
    struct dbdiff_result *res = diff_with(l, r, &o);
    const struct dbdiff_table *t = table(res, "big");
    expect_counts(t, 2, 1, 4);
    cr_expect_str_eq(t->bucket_mode, hash_only ? "key hash" : "key range");
    cr_expect_gt(t->levels, 1);
    cr_expect_lt(t->rows_fetched_left, 100, "fetched %lld rows", (long long)t->rows_fetched_left);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "-7:v 1:v 3000:v 700:v");
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_ONLY_LEFT), "-20 1500");
    /* The other tables of the fixture, with its integer keys, too. */
    static const char *const big_only[] = {"big", NULL};
    expect_all_same_but(res, big_only);
    dbdiff_result_free(res);
}

Test(dbdiff, finer_key_hash_buckets_are_scanned_only_where_coarse_ones_differ)
{
    refine_in_mode(true);
}

Test(dbdiff, finer_key_ranges_are_scanned_only_where_coarse_ones_differ)
{
    refine_in_mode(false);
}

Test(dbdiff, columns_whose_types_differ_are_compared_through_their_text)
{
    char l[64], r[64];
    new_db(l, false);
    new_db(r, false);
    sql_exec(l, "CREATE TABLE m (id int PRIMARY KEY, v numeric, w int, gone text);"
                "INSERT INTO m VALUES (1, 10, 1, 'x'), (2, 20, 2, 'y'), (3, 30, 3, 'z');");
    sql_exec(r, "CREATE TABLE m (id bigint PRIMARY KEY, v int, w int, added text);"
                "INSERT INTO m VALUES (1, 10, 1, 'a'), (2, 21, 2, 'b'), (3, 30, 3, 'c');");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "m");
    expect_counts(t, 0, 0, 1);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "2:v");
    cr_expect_not(t->as_text[0], "int and bigint keys hash alike");
    cr_expect(t->as_text[1 + col_index(t, "v")]);
    cr_expect_eq(t->nonly_left_cols, 1);
    cr_expect_str_eq(t->only_left_cols[0], "gone");
    cr_expect_eq(t->nonly_right_cols, 1);
    cr_expect_str_eq(t->only_right_cols[0], "added");
    dbdiff_result_free(res);
}

Test(dbdiff, every_type_with_a_typed_hash_is_compared_typed)
{
    char l[64], r[64];
    new_db(l, false);
    new_db(r, false);
    const char *create =
        "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
        "CREATE TABLE k (id int2 PRIMARY KEY, a int4, b int8, c text, d varchar(9), e name,"
        "  f char(4), g \"char\", h numeric, i float4, j float8, k bool, l date, m time,"
        "  n timetz, o timestamp, p timestamptz, q interval, r uuid, s bytea, t jsonb,"
        "  u inet, v cidr, w macaddr, x macaddr8, y oid, z pg_lsn, aa int[], ab text[],"
        "  ac posint);";
    const char *row1 = "INSERT INTO k VALUES (1, 1, 1, 'c', 'd', 'e', 'f', 'g', 1.5, 1.5, 1.5,"
                       " true, '2024-01-01', '12:00', '12:00+01', '2024-01-01 12:00',"
                       " '2024-01-01 12:00+00', '1 day', '00000000-0000-0000-0000-000000000001',"
                       " '\\x01', '{\"a\": 1}', '10.0.0.1', '10.0.0.0/8', '08:00:2b:01:02:03',"
                       " '08:00:2b:01:02:03:04:05', 1, '0/1', '{1,2}', '{a,b}', 1);";
    sql_exec(l, create);
    sql_exec(r, create);
    sql_exec(l, row1);
    sql_exec(r, row1);
    sql_exec(l, "INSERT INTO k SELECT 2, a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r,"
                " s, t, u, v, w, x, y, z, aa, ab, ac FROM k WHERE id = 1;");
    sql_exec(r, "INSERT INTO k VALUES (2, 2, 2, 'C', 'D', 'E', 'F', 'G', 2.5, 2.5, 2.5, false,"
                " '2024-01-02', '13:00', '12:00+02', '2024-01-01 12:01', '2024-01-01 12:00+01',"
                " '2 days', '00000000-0000-0000-0000-000000000002', '\\x02', '{\"a\": 2}',"
                " '10.0.0.2', '10.0.0.0/9', '08:00:2b:01:02:04', '08:00:2b:01:02:03:04:06', 2,"
                " '0/2', '{1,3}', '{a,c}', 2);"
                /* bpchar ignores trailing blanks: 'f' = 'f   ' */
                "UPDATE k SET f = 'f   ' WHERE id = 1;");
    struct dbdiff_result *res = diff(l, r);
    const struct dbdiff_table *t = table(res, "k");
    expect_counts(t, 0, 0, 1);
    cr_expect_eq(t->ncols, 29);
    for (size_t i = 0; i < t->nkey + t->ncols; i++)
        cr_expect_not(t->as_text[i], "column %s compared as text",
                      i ? t->cols[i - 1] : t->key[0]);
    const struct dbdiff_example *ex = example_with_key(t, DBDIFF_EX_CHANGED, "2");
    for (size_t c = 0; c < t->ncols; c++)
        cr_expect(ex->changed[c], "column %s should have changed", t->cols[c]);
    dbdiff_result_free(res);
}

/* ---- schema ------------------------------------------------------------- */

Test(dbdiff, schema_changes_of_every_object_kind_are_found)
{
    char l[64], r[64];
    clone_pair(l, r);
    sql_exec(l, "CREATE VIEW v_names AS SELECT code FROM names;");
    sql_exec(r,
             "ALTER TABLE people ADD COLUMN extra int;"
             "ALTER TABLE people ALTER COLUMN name DROP NOT NULL;"
             "ALTER TABLE people ALTER COLUMN score TYPE numeric(12,3);"
             "ALTER TABLE people ALTER COLUMN note SET DEFAULT 'n/a';"
             "ALTER TABLE tokens ADD CONSTRAINT tokens_value_key UNIQUE (value);"
             "ALTER TABLE people ADD CONSTRAINT people_score_check CHECK (score > -100);"
             "CREATE TABLE child (id int PRIMARY KEY, person int REFERENCES people(id));"
             "CREATE INDEX people_name_idx ON people (name);"
             "CREATE VIEW v_names AS SELECT code, label FROM names;"
             "CREATE VIEW v_people AS SELECT id FROM people;"
             "CREATE SEQUENCE counter INCREMENT 5;"
             "DROP TABLE stamps;"
             "ALTER TYPE mood ADD VALUE 'angry';"
             "CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT 2 * x';"
             "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
             "  'BEGIN RETURN NEW; END';"
             "CREATE TRIGGER people_touch BEFORE UPDATE ON people "
             "  FOR EACH ROW EXECUTE FUNCTION touch();");
    struct dbdiff_options o;
    dbdiff_options_init(&o);
    o.rows = false;
    struct dbdiff_result *res = diff_with(l, r, &o);
    char got[8192] = "";
    static const char *const names[] = {"added", "removed", "changed"};
    for (size_t i = 0; i < res->nchanges; i++) {
        const struct dbschema_change *c = &res->changes[i];
        const struct dbobject *obj = c->left ? c->left : c->right;
        char line[512];
        snprintf(line, sizeof line, "%s %s %s\n", names[c->type], obj->kind, obj->name);
        strcat(got, line);
    }
    cr_expect_str_eq(got,
                     "added check people.people_score_check\n"
                     "added column child.id\n"
                     "added column child.person\n"
                     "added column people.extra\n"
                     "changed column people.name\n"
                     "changed column people.note\n"
                     "changed column people.score\n"
                     "removed column stamps.at\n"
                     "removed column stamps.v\n"
                     "changed enum mood\n"
                     "added foreign key child.child_person_fkey\n"
                     "added function touch()\n"
                     "added function twice(x integer)\n"
                     "added index people_name_idx\n"
                     "added primary key child.child_pkey\n"
                     "removed primary key stamps.stamps_pkey\n"
                     "added sequence counter\n"
                     "added table child\n"
                     "removed table stamps\n"
                     "added trigger people.people_touch\n"
                     "added unique tokens.tokens_value_key\n"
                     "changed view v_names\n"
                     "added view v_people\n");
    dbdiff_result_free(res);
}

/* ---- the map ------------------------------------------------------------ */

static void users_before_and_after_a_column_split(char l[64], char r[64])
{
    new_db(l, false);
    new_db(r, false);
    sql_exec(l, "CREATE TABLE users (id int PRIMARY KEY, name text, updated_at timestamptz);"
                "INSERT INTO users VALUES (1, 'Ada Lovelace', '2024-01-01'),"
                "  (2, 'Alan Turing', '2024-01-01'), (3, 'Grace Hopper', '2024-01-01');");
    sql_exec(r, "CREATE TABLE users (id int PRIMARY KEY, first_name text, last_name text,"
                "  updated_at timestamptz);"
                "INSERT INTO users VALUES (1, 'Ada', 'Lovelace', now()),"
                "  (2, 'Alan', 'Turin', now()), (3, 'Grace', 'Hopper', now());");
}

Test(dbdiff, a_projection_map_compares_across_a_column_split)
{
    char l[64], r[64];
    struct dbdiff_map *map;
    struct error err;
    users_before_and_after_a_column_split(l, r);
    error_init(&err);
    cr_assert_eq(dbdiff_map_load(test_repo_path("fixtures/maps/users-split.json"), &map, &err),
                 0, "%s", err.message);
    struct dbdiff_options o;
    dbdiff_options_init(&o);
    o.map = map;
    o.schema = false;
    struct dbdiff_result *res = diff_with(l, r, &o);
    const struct dbdiff_table *t = table(res, "users");
    cr_expect_str_eq(t->left_source, "query");
    cr_expect_str_eq(t->key_source, "primary key");
    expect_counts(t, 0, 0, 1);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "2:name");
    const struct dbdiff_example *ex = example_with_key(t, DBDIFF_EX_CHANGED, "2");
    cr_expect_str_eq(ex->left[0], "Alan Turing");
    cr_expect_str_eq(ex->right[0], "Alan Turin");
    cr_expect_eq(t->nignored, 1);
    cr_expect_eq(res->ignore_hits[0], 1);
    dbdiff_result_free(res);
    dbdiff_map_free(map);
}

Test(dbdiff, a_map_renames_tables_and_columns)
{
    char l[64], r[64];
    struct dbdiff_map *map;
    struct error err;
    new_db(l, false);
    new_db(r, false);
    sql_exec(l, "CREATE TABLE customers (id int PRIMARY KEY, name text, city text);"
                "INSERT INTO customers VALUES (1, 'a', 'x'), (2, 'b', 'y');");
    sql_exec(r, "CREATE TABLE clients (id int PRIMARY KEY, full_name text, city text);"
                "INSERT INTO clients VALUES (1, 'a', 'x'), (2, 'b', 'z');");
    const char *text = "{\"tables\": {\"customers\": {\"right\": \"clients\", "
                       "\"columns\": {\"name\": \"full_name\"}}}}";
    error_init(&err);
    cr_assert_eq(dbdiff_map_parse(text, strlen(text), "m.json", &map, &err), 0, "%s",
                 err.message);
    struct dbdiff_options o;
    dbdiff_options_init(&o);
    o.map = map;
    struct dbdiff_result *res = diff_with(l, r, &o);
    cr_expect_eq(res->ntables, 1, "clients must be compared as customers, not listed apart");
    const struct dbdiff_table *t = table(res, "customers");
    cr_expect_str_eq(t->right_source, "clients");
    expect_counts(t, 0, 0, 1);
    cr_expect_str_eq(example_keys(t, DBDIFF_EX_CHANGED), "2:city");
    cr_expect_str_eq(t->cols_right[col_index(t, "name")], "full_name");
    dbdiff_result_free(res);
    dbdiff_map_free(map);
}

/* ---- snapshots ---------------------------------------------------------- */

Test(dbdiff, snapshots_are_equal_for_equal_data_and_name_what_changed)
{
    char l[64], r[64];
    struct dbsnapshot *a, *b, *again;
    struct dbsnapshot_delta *d;
    size_t n;
    bool schema_changed;
    struct error err;
    clone_pair(l, r);
    error_init(&err);
    /* Same rows in another physical order: the same snapshot. */
    sql_exec(r, "CLUSTER people USING people_pkey; UPDATE people SET name = name;");
    cr_assert_eq(dbstate_snapshot(conninfo(l), NULL, 0, 0, &a, &err), 0, "%s", err.message);
    cr_assert_eq(dbstate_snapshot(conninfo(r), NULL, 0, 0, &b, &err), 0, "%s", err.message);
    cr_assert_eq(dbsnapshot_compare(a, b, &d, &n, &schema_changed, &err), 0);
    cr_expect_eq(n, 0);
    cr_expect_not(schema_changed);
    free(d);
    cr_expect_eq(a->ntables, 7);
    dbsnapshot_free(b);

    sql_exec(r, "UPDATE people SET name = 'x' WHERE id = 3; INSERT INTO log VALUES ('a', 1);");
    cr_assert_eq(dbstate_snapshot(conninfo(r), NULL, 0, 0, &b, &err), 0, "%s", err.message);
    cr_assert_eq(dbsnapshot_compare(a, b, &d, &n, &schema_changed, &err), 0);
    cr_expect_eq(n, 2);
    cr_expect_str_eq(d[0].table, "log");
    cr_expect_eq(d[0].after->rows, d[0].before->rows + 1);
    cr_expect_str_eq(d[1].table, "people");
    cr_expect_eq(d[1].after->rows, d[1].before->rows);
    cr_expect_str_neq(d[1].after->checksum, d[1].before->checksum);
    free(d);

    /* Through JSON and back, nothing is lost. */
    struct buf json;
    buf_init(&json, 1 << 20);
    cr_assert_eq(dbsnapshot_write_json(b, &json), 0);
    cr_assert_eq(dbsnapshot_read_json(json.data, json.len, "snap", &again, &err), 0, "%s",
                 err.message);
    cr_assert_eq(dbsnapshot_compare(b, again, &d, &n, &schema_changed, &err), 0);
    cr_expect_eq(n, 0);
    cr_expect_not(schema_changed);
    free(d);
    buf_release(&json);

    /* A schema change shows in the fingerprint. */
    sql_exec(r, "CREATE INDEX ON people (note);");
    dbsnapshot_free(again);
    cr_assert_eq(dbstate_snapshot(conninfo(r), NULL, 0, 0, &again, &err), 0, "%s", err.message);
    cr_assert_eq(dbsnapshot_compare(b, again, &d, &n, &schema_changed, &err), 0);
    cr_expect_eq(n, 0);
    cr_expect(schema_changed);
    free(d);

    const char *only[] = {"nope"};
    struct dbsnapshot *none;
    cr_expect_eq(dbstate_snapshot(conninfo(r), only, 1, 0, &none, &err), ERR_INPUT);
    cr_expect(strstr(err.message, "nope"), "%s", err.message);
    dbsnapshot_free(a);
    dbsnapshot_free(b);
    dbsnapshot_free(again);
}

Test(dbdiff, a_malformed_snapshot_is_reported_with_its_location)
{
    struct dbsnapshot *s;
    struct error err;
    const char *text = "{\"format\": \"rehearse-snapshot\", \"version\": 1,\n"
                       " \"schema\": \"00000000000000000000000000000000\",\n"
                       " \"tables\": [{\"table\": \"t\", \"rows\": -1, \"checksum\": \"0\","
                       " \"columns\": \"00000000000000000000000000000000\"}]}";
    error_init(&err);
    cr_assert_eq(dbsnapshot_read_json(text, strlen(text), "journal.json", &s, &err), ERR_INPUT);
    cr_expect(strstr(err.message, "journal.json:3:"), "%s", err.message);
    cr_expect(strstr(err.message, "rows"), "%s", err.message);
}

/* ---- the command -------------------------------------------------------- */

Test(dbdiff, tsv_output_is_one_line_per_table_after_a_header)
{
    char l[64], r[64];
    struct run_result res;
    clone_pair(l, r);
    sql_exec(r, "DELETE FROM people WHERE id = 1; UPDATE people SET name = 'y' WHERE id = 2;"
                "INSERT INTO log VALUES ('z', 26);"
                "ALTER TABLE names RENAME TO \"odd\tname\";");
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--format", "tsv", NULL), 0);
    cr_expect_eq(res.exit_code, 1, "stderr: %s", res.err);
    cr_expect_str_eq(res.out, "table\tonly_left\tonly_right\tchanged\n"
                              "empty_t\t0\t0\t0\n"
                              "events\t0\t0\t0\n"
                              "log\t0\t1\t0\n"
                              "names\t7\t0\t0\n"
                              "odd\\tname\t0\t7\t0\n"
                              "people\t1\t0\t1\n"
                              "stamps\t0\t0\t0\n"
                              "tokens\t0\t0\t0\n");
    test_run_free(&res);
}

Test(dbdiff, the_command_writes_json_atomically_and_exits_0_when_equal)
{
    char l[64], r[64];
    struct run_result res;
    clone_pair(l, r);
    const char *out = test_path(dir, "d.json");
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "-o", out, NULL), 0);
    cr_expect_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);
    json_error_t jerr;
    json_t *doc = json_load_file(out, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "format")), "rehearse-dbdiff");
    cr_expect_eq(json_integer_value(json_object_get(doc, "version")), 1);
    json_t *summary = json_object_get(doc, "summary");
    cr_expect(json_is_false(json_object_get(summary, "differs")));
    cr_expect(json_is_true(json_object_get(summary, "complete")));
    cr_expect_eq(json_array_size(json_object_get(doc, "tables")), 7);
    json_decref(doc);
    cr_expect_neq(access(test_path(dir, "d.json.partial"), F_OK), 0);
}

Test(dbdiff, an_unreachable_database_exits_3_without_printing_the_password)
{
    struct run_result res;
    char l[64], r[64];
    clone_pair(l, r);
    static const char *const bad[] = {
        "host=127.0.0.1 port=1 user=rehearse password=hunter2secret dbname=x",
        "postgresql://rehearse:hunter2secret@127.0.0.1:1/x",
        "postgresql://rehearse:hunter2%73ecret@127.0.0.1:1/x",
        "host=127.0.0.1 port=1 password='hunter2secret' dbname=x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right", bad[i],
                                   NULL), 0);
        cr_expect_eq(res.exit_code, 3, "%s: %s", bad[i], res.err);
        cr_expect(strstr(res.err, "right database"), "%s", res.err);
        cr_expect(strstr(res.err, "port=1"), "%s", res.err);
        cr_expect_null(strstr(res.err, "hunter2"), "password printed: %s", res.err);
        cr_expect_null(strstr(res.out, "hunter2"), "password printed: %s", res.out);
        test_run_free(&res);
    }
    /* A conninfo libpq cannot parse is bad input; its message quotes the
     * string, but not the part after password=. */
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", "host=x password=hunter2 secret",
                               "--right", conninfo(r), NULL), 0);
    cr_expect_eq(res.exit_code, 2, "%s", res.err);
    cr_expect(strstr(res.err, "left conninfo"), "%s", res.err);
    cr_expect_null(strstr(res.err, "hunter2"), "%s", res.err);
    cr_expect_null(strstr(res.err, "secret"), "%s", res.err);
    test_run_free(&res);
    /* A password that works is not echoed in the JSON either. */
    char with_password[600];
    snprintf(with_password, sizeof with_password, "%s password=hunter2secret", conninfo(r));
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               with_password, NULL), 0);
    cr_expect_eq(res.exit_code, 0, "%s", res.err);
    cr_expect_null(strstr(res.out, "hunter2"), "%s", res.out);
    cr_expect(strstr(res.out, "\"where\""), "%s", res.out);
    test_run_free(&res);
}

static void expect_map_error(const char *l, const char *r, const char *text, int code,
                             const char *where, const char *what)
{
    struct run_result res;
    const char *path = test_path(dir, "map.json");
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right", conninfo(r),
                               "--map", path, NULL), 0);
    cr_expect_eq(res.exit_code, code, "%s", res.err);
    char located[600];
    snprintf(located, sizeof located, "map.json:%s", where);
    cr_expect(strstr(res.err, located), "expected '%s' in: %s", located, res.err);
    cr_expect(strstr(res.err, what), "expected '%s' in: %s", what, res.err);
    cr_expect_str_eq(res.out, "");
    test_run_free(&res);
}

Test(dbdiff, a_bad_map_file_is_a_located_error_with_exit_2)
{
    char l[64], r[64];
    users_before_and_after_a_column_split(l, r);
    /* Syntax. */
    expect_map_error(l, r, "{\n  \"tables\": {\n    \"users\": {,}\n  }\n}\n", 2, "3:", "");
    /* A member we do not know (a typo). */
    expect_map_error(l, r, "{\n  \"tables\": {\n    \"users\": {\n      \"kye\": [\"id\"]\n"
                           "    }\n  }\n}\n",
                     2, "4:14:", "unknown member 'kye'");
    /* A key column that does not exist, found when planning. */
    expect_map_error(l, r, "{\"tables\": {\"users\": {\n  \"key\": [\"id\", \"nope\"]}}}", 2,
                     "2:17:", "no column 'nope'");
    /* A projection that fails on the server. */
    expect_map_error(l, r, "{\"tables\": {\"users\": {\n  \"right\": {\"query\": "
                           "\"SELECT idd FROM users\"}}}}",
                     2, "2:22:", "idd");
    /* A map file that does not exist. */
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--map", test_path(dir, "none.json"), NULL), 0);
    cr_expect_eq(res.exit_code, 2, "%s", res.err);
    cr_expect(strstr(res.err, "none.json"), "%s", res.err);
    test_run_free(&res);
}

Test(dbdiff, bad_options_exit_2)
{
    struct run_result res;
    cr_assert_eq(test_rehearse(&res, 30, "dbdiff", "--left", "x", NULL), 0);
    cr_expect_eq(res.exit_code, 2);
    cr_expect(strstr(res.err, "--right"), "%s", res.err);
    test_run_free(&res);
    cr_assert_eq(test_rehearse(&res, 30, "dbdiff", "--left", "x", "--right", "y", "--key",
                               "users", NULL), 0);
    cr_expect_eq(res.exit_code, 2);
    cr_expect(strstr(res.err, "TABLE=COLUMN"), "%s", res.err);
    test_run_free(&res);
    cr_assert_eq(test_rehearse(&res, 30, "dbdiff", "--left", "x", "--right", "y", "--format",
                               "xml", NULL), 0);
    cr_expect_eq(res.exit_code, 2);
    test_run_free(&res);
}

Test(dbdiff, unknown_tables_and_key_columns_are_bad_input)
{
    char l[64], r[64];
    struct run_result res;
    clone_pair(l, r);
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--tables", "people,nope", NULL), 0);
    cr_expect_eq(res.exit_code, 2, "%s", res.err);
    cr_expect(strstr(res.err, "'nope'"), "%s", res.err);
    test_run_free(&res);
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--key", "log=msg,nope", NULL), 0);
    cr_expect_eq(res.exit_code, 2, "%s", res.err);
    cr_expect(strstr(res.err, "no column 'nope'"), "%s", res.err);
    test_run_free(&res);
}

Test(dbdiff, caps_on_examples_and_rows_are_reported_never_silent)
{
    char l[64], r[64];
    struct run_result res;
    clone_pair(l, r);
    sql_exec(r, "UPDATE people SET name = name || '.' WHERE id <= 10;");
    const char *out = test_path(dir, "d.json");
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--tables", "people", "--max-examples", "2",
                               "--max-rows", "1", "-o", out, NULL), 0);
    cr_expect_eq(res.exit_code, 1, "%s", res.err);
    cr_expect(strstr(res.err, "lower bounds"), "%s", res.err);
    test_run_free(&res);
    json_error_t jerr;
    json_t *doc = json_load_file(out, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    json_t *t = json_array_get(json_object_get(doc, "tables"), 0);
    json_t *caps = json_object_get(t, "caps");
    cr_expect(json_is_true(json_object_get(caps, "rows")));
    cr_expect_gt(json_integer_value(json_object_get(caps, "unresolved_buckets")), 0);
    cr_expect(json_is_false(json_object_get(t, "complete")));
    cr_expect_str_eq(json_string_value(json_object_get(t, "status")), "different");
    cr_expect(json_is_false(json_object_get(json_object_get(doc, "summary"), "complete")));
    json_decref(doc);

    /* Without the row cap: every change found, two examples kept, and the
     * cap on examples said. */
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--tables", "people", "--max-examples", "2", "-o",
                               out, NULL), 0);
    cr_expect_eq(res.exit_code, 1, "%s", res.err);
    test_run_free(&res);
    doc = json_load_file(out, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    t = json_array_get(json_object_get(doc, "tables"), 0);
    cr_expect_eq(json_integer_value(json_object_get(t, "changed")), 10);
    json_t *ex = json_object_get(t, "examples");
    cr_expect_eq(json_array_size(json_object_get(ex, "changed")), 2);
    cr_expect(json_is_true(json_object_get(ex, "capped")));
    json_decref(doc);
}

Test(dbdiff, a_timeout_cancels_the_queries_and_says_what_was_not_compared)
{
    char l[64], r[64];
    struct run_result res;
    clone_pair(l, r);
    const char *map = "{\"tables\": {\"slow\": {"
                      "\"left\": {\"query\": \"SELECT g AS id, pg_sleep(0.01)::text AS s "
                      "FROM generate_series(1, 2000) g\"},"
                      "\"right\": {\"query\": \"SELECT g AS id, pg_sleep(0.01)::text AS s "
                      "FROM generate_series(1, 2000) g\"}, \"key\": [\"id\"]}}}";
    const char *path = test_path(dir, "slow.json"), *out = test_path(dir, "d.json");
    cr_assert_eq(test_write_file(path, map, strlen(map)), 0);
    cr_assert_eq(test_rehearse(&res, 60, "dbdiff", "--left", conninfo(l), "--right",
                               conninfo(r), "--map", path, "--tables", "slow,people",
                               "--timeout", "2s", "-o", out, NULL),
                 0);
    cr_expect_eq(res.exit_code, 3, "%s", res.err);
    cr_expect(strstr(res.err, "time limit"), "%s", res.err);
    test_run_free(&res);
    json_error_t jerr;
    json_t *doc = json_load_file(out, 0, &jerr);
    cr_assert_not_null(doc, "%s", jerr.text);
    json_t *summary = json_object_get(doc, "summary");
    cr_expect(json_is_true(json_object_get(summary, "timed_out")));
    cr_expect(json_is_false(json_object_get(summary, "complete")));
    size_t incomplete = 0;
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(doc, "tables"), i, t)
        incomplete += !strcmp(json_string_value(json_object_get(t, "status")), "incomplete");
    cr_expect_geq(incomplete, 1);
    json_decref(doc);
}
