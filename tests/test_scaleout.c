/*
 * Scale-out end to end: `rehearse trace split`, `rehearse replay --shard`
 * in several processes at once against real fixture services
 * (build/fixtures/versioned_service), `rehearse merge`, and `rehearse diff`
 * / `rehearse report` over the shards — compared with one unsharded run of
 * the same trace, which must give the same counts and the same findings.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture_server.h"
#include "histogram.h"
#include "runutil.h"
#include "selection.h"
#include "testutil.h"
#include "trace_reader.h"

static char *dir;
static void setup(void)
{
    dir = test_tmpdir();
}
static void teardown(void)
{
    fixture_server_stop_all();
    test_tmpdir_remove(dir);
}
TestSuite(scaleout, .init = setup, .fini = teardown, .timeout = 180);

#define T0 1700000000000000LL

/* test_path() rotates a few buffers; keep a path for the whole test */
static const char *keep(const char *path)
{
    static char kept[64][512];
    static int next;
    char *out = kept[next++ % 64];
    snprintf(out, sizeof kept[0], "%s", path);
    return out;
}

/*
 * A trace of `conns` connections with `per` requests each, interleaved
 * 1 ms apart, over the versioned service's endpoints: items, users,
 * orders (POST with a body), health.  Every 37th transaction is flagged
 * request_truncated (the replay skips it as request_incomplete).
 */
static const char *write_trace(const char *name, unsigned conns, unsigned per,
                               const char *source)
{
    const char *path = keep(test_path(dir, name));
    FILE *f = fopen(path, "w");
    unsigned id = 0;

    cr_assert(f);
    fprintf(f, "{\"format\":\"rehearse-trace\",\"version\":1,\"source\":{\"kind\":\"file\","
               "\"name\":\"%s\"},\"capture_start_us\":%lld,\"created_by\":\"test\"}\n",
            source, T0);
    for (unsigned r = 0; r < per; r++) {
        for (unsigned c = 1; c <= conns; c++) {
            char target[64], req[512];
            long long at = T0 + (long long)id * 1000;
            unsigned kind = (c * 7 + r) % 5;
            id++;
            if (kind == 0 || kind == 4)
                snprintf(target, sizeof target, "/items/%u", c * 10 + r);
            else if (kind == 1)
                snprintf(target, sizeof target, "/users/%u", c + r);
            else if (kind == 2)
                snprintf(target, sizeof target, "/orders");
            else
                snprintf(target, sizeof target, "/health");
            if (kind == 2)
                snprintf(req, sizeof req,
                         "{\"method\":\"POST\",\"target\":\"%s\",\"headers\":[[\"Host\",\"shop\"],"
                         "[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"%zu\"]],"
                         "\"body\":\"{\\\"item\\\":%u}\"}",
                         target, strlen("{\"item\":}") + (c > 9 ? 2 : 1), c);
            else
                snprintf(req, sizeof req,
                         "{\"method\":\"GET\",\"target\":\"%s\",\"headers\":[[\"Host\",\"shop\"]],"
                         "\"body\":\"\"}",
                         target);
            fprintf(f,
                    "{\"type\":\"tx\",\"id\":%u,\"conn\":%u,\"client\":\"10.0.0.1:%u\","
                    "\"server\":\"10.0.0.2:80\",\"req_start_us\":%lld,\"req_end_us\":%lld,"
                    "\"resp_start_us\":%lld,\"resp_end_us\":%lld,\"request\":%s,"
                    "\"response\":{\"status\":200,\"reason\":\"OK\",\"headers\":[],\"body\":\"\"},"
                    "\"flags\":[%s]}\n",
                    id, c, 20000 + c, at, at, at + 300, at + 400, req,
                    id % 37 == 0 ? "\"request_truncated\"" : "");
        }
    }
    fprintf(f, "{\"type\":\"summary\",\"transactions\":%u}\n", id);
    fclose(f);
    return path;
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert(j, "%s: %s", path, e.text);
    return j;
}

/* The last line of a results file (the summary). */
static json_t *summary_of(const char *path)
{
    size_t len;
    char *text = test_read_file(path, &len), *last;
    json_error_t e;
    json_t *j;
    cr_assert(text && len > 1, "%s is empty", path);
    text[len - 1] = '\0'; /* the final newline */
    last = strrchr(text, '\n');
    j = json_loads(last ? last + 1 : text, 0, &e);
    cr_assert(j, "%s: last line: %s", path, e.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "type")), "summary");
    free(text);
    return j;
}

/* tx -> true for every result record of a file; also checks total_us
 * into per-target histograms when `lat` is given. */
static size_t result_ids(const char *path, bool *seen, size_t max, struct histogram *lat,
                         const char *const *targets, size_t ntargets)
{
    size_t len, n = 0;
    char *text = test_read_file(path, &len), *line = text, *nl;
    cr_assert(text, "%s", path);
    for (; (nl = strchr(line, '\n')); line = nl + 1) {
        json_error_t e;
        json_t *j;
        *nl = '\0';
        j = json_loads(line, 0, &e);
        cr_assert(j, "%s: %s", path, e.text);
        if (json_is_string(json_object_get(j, "type")) &&
            strcmp(json_string_value(json_object_get(j, "type")), "result") == 0) {
            json_int_t tx = json_integer_value(json_object_get(j, "tx"));
            cr_assert(tx >= 1 && (size_t)tx <= max, "tx %lld", (long long)tx);
            cr_assert_not(seen[tx - 1], "%s: transaction %lld twice", path, (long long)tx);
            seen[tx - 1] = true;
            n++;
            for (size_t t = 0; lat && t < ntargets; t++) {
                json_t *x = json_object_get(json_object_get(j, "targets"), targets[t]);
                json_t *us = json_object_get(x, "total_us");
                if (json_is_integer(us) && json_object_get(x, "status"))
                    histogram_add(&lat[t], (uint64_t)json_integer_value(us));
            }
        }
        json_decref(j);
    }
    free(text);
    return n;
}

static void start_service(struct fixture_server *s, const char *version, const char *instance)
{
    const char *args[] = {"--version", version, "--instance", instance, NULL};
    cr_assert_eq(fixture_server_start(s, "versioned_service", args), 0);
}

static char *target_arg(const char *name, const struct fixture_server *s)
{
    static char bufs[8][128];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s=%s", name, s->url);
    return b;
}

/* Remove what legitimately differs between two runs of the same traffic:
 * where the input was, when, timings, and the response headers of the
 * examples (a Date header). */
static void strip_run(json_t *diff)
{
    const char *key;
    json_t *v, *ep;
    size_t i;
    json_object_del(diff, "inputs");
    json_object_del(diff, "created_us");
    json_object_foreach(json_object_get(diff, "targets"), key, v) {
        json_object_del(v, "latency_us");
        json_object_del(v, "histogram");
    }
    json_array_foreach(json_object_get(diff, "endpoints"), i, ep) {
        size_t k;
        json_t *ex;
        json_object_del(ep, "latency_us");
        json_array_foreach(json_object_get(ep, "examples"), k, ex) {
            static const char *const sides[] = {"base", "candidate", "noise", "captured"};
            for (int s = 0; s < 4; s++)
                json_object_del(json_object_get(ex, sides[s]), "headers");
        }
    }
}

static void expect_equal_json(json_t *a, json_t *b, const char *what)
{
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
        char *y = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
        cr_assert_fail("%s differ:\n%.3000s\n---\n%.3000s", what, x, y);
    }
}

/* ------------------------------------------------------------ split */

Test(scaleout, split_parts_partition_the_trace_by_connection_and_keep_its_header)
{
    const char *trace = write_trace("t.jsonl", 40, 5, "prod.pcap");
    const char *parts = keep(test_path(dir, "parts"));
    struct run_result res;
    bool seen[200] = {false};
    size_t total = 0;

    test_rehearse(&res, 30, "trace", "split", trace, "-n", "3", "-o", parts, NULL);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    cr_assert(strstr(res.out, "200 transactions into 3 parts"), "%s", res.out);
    test_run_free(&res);
    for (unsigned i = 0; i < 3; i++) {
        char name[64];
        struct trace_reader *r;
        const struct trace_tx *tx;
        struct error err;
        uint64_t last_id_of_conn[41] = {0};
        snprintf(name, sizeof name, "parts/shard-%u.jsonl", i);
        cr_assert_eq(trace_reader_open(&r, test_path(dir, name), 0, &err), 0, "%s", err.message);
        const struct trace_header *h = trace_reader_header(r);
        cr_assert_eq(h->split_index, i);
        cr_assert_eq(h->split_count, 3);
        cr_assert_str_eq(h->source, "prod.pcap");
        cr_assert_eq(h->capture_start_us, T0);
        int rc;
        while ((rc = trace_reader_next(r, &tx, &err)) > 0) {
            cr_assert_eq(selection_shard_of(tx->conn, 3), i, "conn %llu in part %u",
                         (unsigned long long)tx->conn, i);
            cr_assert_not(seen[tx->id - 1], "transaction %llu twice", (unsigned long long)tx->id);
            seen[tx->id - 1] = true;
            /* a connection's requests stay in order */
            cr_assert_gt(tx->id, last_id_of_conn[tx->conn]);
            last_id_of_conn[tx->conn] = tx->id;
            total++;
        }
        cr_assert_eq(rc, 0, "%s", err.message);
        cr_assert_null(trace_reader_summary(r)); /* the whole trace keeps it */
        trace_reader_close(r);
    }
    cr_assert_eq(total, 200);

    /* compressed in, compressed out; and more parts than connections */
    char *gz_cmd[] = {"sh", "-c", NULL, NULL};
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s.gz'", trace, trace);
    gz_cmd[2] = cmd;
    test_run(&res, gz_cmd, 30);
    cr_assert_eq(res.exit_code, 0);
    test_run_free(&res);
    snprintf(cmd, sizeof cmd, "%s.gz", trace);
    test_rehearse(&res, 30, "trace", "split", cmd, "-n", "50", "-o", test_path(dir, "gz"), "-q",
                  NULL);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    cr_assert_eq(res.out_len, 0);
    test_run_free(&res);
    struct stat st;
    cr_assert_eq(stat(test_path(dir, "gz/shard-0.jsonl.gz"), &st), 0);
    cr_assert_eq(stat(test_path(dir, "gz/shard-49.jsonl.gz"), &st), 0);
}

Test(scaleout, split_refuses_bad_input_with_a_located_error_and_writes_nothing)
{
    const char *trace = write_trace("t.jsonl", 4, 3, "x");
    const char *broken = keep(test_path(dir, "broken.jsonl"));
    struct run_result res;
    struct stat st;
    char *text = test_read_file(trace, NULL);
    char *third = strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n') + 1;
    FILE *f = fopen(broken, "w");

    /* line 4 is cut in the middle */
    fwrite(text, 1, (size_t)(third - text), f);
    fputs("{\"type\":\"tx\",\"id\":4,\"conn\":\n", f);
    fclose(f);
    free(text);
    test_rehearse(&res, 30, "trace", "split", broken, "-n", "2", "-o", test_path(dir, "out"),
                  NULL);
    cr_assert_eq(res.exit_code, 2, "stderr: %s", res.err);
    cr_assert(strstr(res.err, "broken.jsonl:4:"), "%s", res.err);
    test_run_free(&res);
    cr_assert_neq(stat(test_path(dir, "out/shard-0.jsonl"), &st), 0);
    cr_assert_neq(stat(test_path(dir, "out/shard-0.jsonl.partial"), &st), 0);

    static const struct {
        const char *n, *expect;
    } bad[] = {{"0", "-n: expected 1 to 1000 parts"}, {"1001", "-n: expected 1 to 1000"},
               {"x", "-n"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_rehearse(&res, 30, "trace", "split", trace, "-n", bad[i].n, "-o",
                      test_path(dir, "o2"), NULL);
        cr_assert_eq(res.exit_code, 2);
        cr_assert(strstr(res.err, bad[i].expect), "%s", res.err);
        test_run_free(&res);
    }
    test_rehearse(&res, 30, "trace", "split", test_path(dir, "missing.jsonl"), "-n", "2", "-o",
                  test_path(dir, "o3"), NULL);
    cr_assert_eq(res.exit_code, 2, "%s", res.err);
    cr_assert(strstr(res.err, "missing.jsonl"), "%s", res.err);
    test_run_free(&res);
    /* a part is not split again */
    test_rehearse(&res, 30, "trace", "split", trace, "-n", "2", "-o", test_path(dir, "p"), "-q",
                  NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    test_rehearse(&res, 30, "trace", "split", test_path(dir, "p/shard-1.jsonl"), "-n", "2", "-o",
                  test_path(dir, "pp"), NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "already shard 1/2"), "%s", res.err);
    test_run_free(&res);
    /* -o names a file */
    test_rehearse(&res, 30, "trace", "split", trace, "-n", "2", "-o", trace, NULL);
    cr_assert_neq(res.exit_code, 0);
    cr_assert(strstr(res.err, "not a directory"), "%s", res.err);
    test_run_free(&res);
}

/* ------------------------------------------------------------ sharded vs one run */

#define SHARDS 3

Test(scaleout, shards_run_side_by_side_merge_into_the_counts_and_findings_of_one_run)
{
    const char *trace = write_trace("t.jsonl", 60, 5, "shop.pcap");
    static const char *const names[] = {"old", "new", "old2"};
    struct fixture_server old, new, old2;
    struct run_result res;
    char shard_files[SHARDS][512];
    pid_t pids[SHARDS];
    const char *one = keep(test_path(dir, "one.jsonl"));
    const char *merged = keep(test_path(dir, "merged.jsonl"));
    const char *key = keep(test_path(dir, "key"));

    start_service(&old, "1", "a");
    start_service(&new, "2", "c");
    start_service(&old2, "1", "b");
    const char *t_old = keep(target_arg("old", &old)), *t_new = keep(target_arg("new", &new));
    const char *t_old2 = keep(target_arg("old2", &old2));
    cr_assert_eq(test_write_file(key, "a fixed key", 11), 0);

    /* one run */
    test_rehearse(&res, 60, "replay", trace, "--target", t_old, "--target", t_new, "--target",
                  t_old2, "--speed", "max", "--exclude", "* /health", "-o", one, "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    test_run_free(&res);

    /* SHARDS processes at once, each with its own results file */
    for (int s = 0; s < SHARDS; s++) {
        char sub[32], shard[16];
        snprintf(sub, sizeof sub, "run%d", s);
        mkdir(test_path(dir, sub), 0700);
        snprintf(shard_files[s], sizeof shard_files[s], "%s/shard-%d.jsonl", dir, s);
        snprintf(shard, sizeof shard, "%d/%d", s, SHARDS);
        pids[s] = test_rehearse_spawn(keep(test_path(dir, sub)), "replay", trace, "--target",
                                      t_old, "--target", t_new, "--target", t_old2, "--speed",
                                      "max", "--exclude", "* /health", "--shard", shard, "-o",
                                      shard_files[s], "-q", NULL);
    }
    for (int s = 0; s < SHARDS; s++)
        cr_assert_eq(test_wait_exit(pids[s], 60), 0, "shard %d", s);

    /* every transaction in exactly one shard, and the same ones as one run */
    bool in_one[300] = {false}, in_shards[300] = {false};
    size_t n_one = result_ids(one, in_one, 300, NULL, NULL, 0), n_shards = 0;
    for (int s = 0; s < SHARDS; s++)
        n_shards += result_ids(shard_files[s], in_shards, 300, NULL, NULL, 0);
    cr_assert_eq(n_one, n_shards);
    cr_assert(n_one > 150 && n_one < 300, "%zu replayed", n_one);
    for (int i = 0; i < 300; i++)
        cr_assert_eq(in_one[i], in_shards[i], "transaction %d", i + 1);

    /* merged, shards given in any order */
    test_rehearse(&res, 60, "merge", shard_files[2], shard_files[0], shard_files[1], "-o", merged,
                  NULL);
    cr_assert_eq(res.exit_code, 0, "stderr: %s", res.err);
    cr_assert(strstr(res.out, "3 shards"), "%s", res.out);
    test_run_free(&res);

    /* counts add up to those of one run, exactly */
    json_t *s_one = summary_of(one), *s_merged = summary_of(merged);
    expect_equal_json(json_object_get(s_one, "transactions"),
                      json_object_get(s_merged, "transactions"), "transactions");
    cr_assert_eq(json_integer_value(json_object_get(s_merged, "shards")), SHARDS);
    cr_assert_gt(json_integer_value(json_object_get(
                     json_object_get(json_object_get(s_one, "transactions"), "skipped"),
                     "filtered")),
                 0);
    cr_assert_gt(json_integer_value(json_object_get(
                     json_object_get(json_object_get(s_one, "transactions"), "skipped"),
                     "request_incomplete")),
                 0);
    for (int t = 0; t < 3; t++) {
        json_t *a = json_object_get(json_object_get(s_one, "targets"), names[t]);
        json_t *b = json_object_get(json_object_get(s_merged, "targets"), names[t]);
        static const char *const exact[] = {"requests", "errors", "status", "redacted_sent",
                                            "connections"};
        for (int k = 0; k < 5; k++)
            expect_equal_json(json_object_get(a, exact[k]), json_object_get(b, exact[k]),
                              exact[k]);
    }

    /* merged percentiles come from the merged histograms: the same as one
     * histogram over every record's total_us (never an average of shards) */
    struct histogram lat[3];
    bool again[300] = {false};
    for (int t = 0; t < 3; t++)
        histogram_init(&lat[t]);
    result_ids(merged, again, 300, lat, names, 3);
    for (int t = 0; t < 3; t++) {
        json_t *x = json_object_get(json_object_get(s_merged, "targets"), names[t]);
        json_t *p = json_object_get(x, "latency_us");
        struct buf b;
        char *written = json_dumps(json_object_get(x, "latency_buckets"), JSON_COMPACT);
        buf_init(&b, 1 << 20);
        cr_assert_eq(histogram_write_counts(&b, &lat[t]), 0);
        cr_assert_str_eq(written, b.data, "%s: latency_buckets", names[t]);
        cr_assert_eq(json_integer_value(json_object_get(p, "p50")),
                     (json_int_t)histogram_percentile(&lat[t], 50));
        cr_assert_eq(json_integer_value(json_object_get(p, "p90")),
                     (json_int_t)histogram_percentile(&lat[t], 90));
        cr_assert_eq(json_integer_value(json_object_get(p, "p99")),
                     (json_int_t)histogram_percentile(&lat[t], 99));
        cr_assert_eq(json_integer_value(json_object_get(p, "max")), (json_int_t)lat[t].max);
        cr_assert(json_object_get(x, "lateness_buckets"));
        buf_release(&b);
        free(written);
    }
    json_decref(s_one);
    json_decref(s_merged);

    /* the diff of one run, of the merged file and of the shards directly:
     * the same findings */
    const char *d_one = keep(test_path(dir, "one.DIFF.json"));
    const char *d_merged = keep(test_path(dir, "merged.DIFF.json"));
    const char *d_shards = keep(test_path(dir, "shards.DIFF.json"));
    struct {
        const char *out;
        const char *in[SHARDS];
    } diffs[] = {{d_one, {one}}, {d_merged, {merged}},
                 {d_shards, {shard_files[1], shard_files[0], shard_files[2]}}};
    for (size_t d = 0; d < 3; d++) {
        char *argv[24] = {(char *)test_rehearse_bin(), "diff"};
        int argc = 2;
        for (int s = 0; s < SHARDS && diffs[d].in[s]; s++)
            argv[argc++] = (char *)diffs[d].in[s];
        const char *rest[] = {"--base", "old", "--candidate", "new", "--noise", "old2",
                              "--redact-key", key, "-o", diffs[d].out, "-q", NULL};
        for (int k = 0; rest[k]; k++)
            argv[argc++] = (char *)rest[k];
        argv[argc] = NULL;
        test_run(&res, argv, 60);
        cr_assert_eq(res.exit_code, 1, "diff %zu: %s", d, res.err); /* regressions */
        test_run_free(&res);
    }
    json_t *j_one = load_json(d_one), *j_merged = load_json(d_merged);
    json_t *j_shards = load_json(d_shards);
    /* the findings the versioned service plants are there */
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j_one, "verdict"),
                                                       "result")),
                     "regressions");
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(j_one, "totals"),
                                                    "status_mismatches")),
                 0);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(j_one, "totals"),
                                                    "different_after_noise")),
                 0);
    cr_assert_gt(json_integer_value(json_object_get(json_object_get(j_one, "totals"),
                                                    "noise_compared")),
                 0);
    strip_run(j_one);
    strip_run(j_merged);
    strip_run(j_shards);
    expect_equal_json(j_one, j_merged, "DIFF.json of one run and of the merged shards");
    expect_equal_json(j_one, j_shards, "DIFF.json of one run and of the shards");
    json_decref(j_one);
    json_decref(j_merged);
    json_decref(j_shards);

    /* the reports: from one run's DIFF.json, and straight from the shards */
    test_rehearse(&res, 60, "report", d_one, "-o", test_path(dir, "rep-one"), "-q", "--format",
                  "json", NULL);
    cr_assert_eq(res.exit_code, 1, "%s", res.err);
    test_run_free(&res);
    test_rehearse(&res, 60, "report", shard_files[0], shard_files[1], shard_files[2], "--base",
                  "old", "--candidate", "new", "--noise", "old2", "-o",
                  test_path(dir, "rep-shards"), "-q", "--format", "json", NULL);
    cr_assert_eq(res.exit_code, 1, "%s", res.err);
    test_run_free(&res);
    json_t *r_one = load_json(test_path(dir, "rep-one/report.json"));
    json_t *r_shards = load_json(test_path(dir, "rep-shards/report.json"));
    static const char *const same[] = {"verdict", "totals", "rules", "thresholds"};
    for (int k = 0; k < 4; k++)
        expect_equal_json(json_object_get(r_one, same[k]), json_object_get(r_shards, same[k]),
                          same[k]);
    json_t *eps[2] = {json_object_get(r_one, "endpoints"), json_object_get(r_shards, "endpoints")};
    cr_assert_eq(json_array_size(eps[0]), json_array_size(eps[1]));
    cr_assert_gt(json_array_size(eps[0]), 2);
    for (size_t i = 0; i < json_array_size(eps[0]); i++) {
        json_object_del(json_array_get(eps[0], i), "latency_us");
        json_object_del(json_array_get(eps[1], i), "latency_us");
    }
    expect_equal_json(eps[0], eps[1], "report endpoints");
    json_decref(r_one);
    json_decref(r_shards);
}

/* ------------------------------------------------------------ parts and slices */

Test(scaleout, a_split_part_replays_as_its_shard_and_slices_count_the_same_in_shards)
{
    const char *trace = write_trace("t.jsonl", 30, 4, "shop.pcap");
    struct fixture_server svc;
    struct run_result res;
    const char *by_shard = keep(test_path(dir, "by-shard.jsonl"));
    const char *by_part = keep(test_path(dir, "by-part.jsonl"));

    start_service(&svc, "1", "a");
    const char *t = keep(target_arg("svc", &svc));
    test_rehearse(&res, 30, "trace", "split", trace, "-n", "3", "-o", test_path(dir, "parts"),
                  "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);

    /* part 1 without --shard is shard 1/3, and says so in its results */
    test_rehearse(&res, 30, "replay", trace, "--target", t, "--speed", "max", "--shard", "1/3",
                  "-o", by_shard, "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    test_rehearse(&res, 30, "replay", test_path(dir, "parts/shard-1.jsonl"), "--target", t,
                  "--speed", "max", "-o", by_part, "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    bool a[120] = {false}, b[120] = {false};
    cr_assert_eq(result_ids(by_shard, a, 120, NULL, NULL, 0),
                 result_ids(by_part, b, 120, NULL, NULL, 0));
    for (int i = 0; i < 120; i++)
        cr_assert_eq(a[i], b[i], "transaction %d", i + 1);
    {
        size_t len;
        char *text = test_read_file(by_part, &len);
        cr_assert(strstr(text, "\"shard\":\"1/3\""), "the header records the shard");
        cr_assert(strstr(text, "\"trace_header\":{\"format\":\"rehearse-trace\""));
        cr_assert_null(strstr(strchr(text, '\n') ? text : text, "\"split\""));
        free(text);
    }
    /* under another shard, a part is refused */
    test_rehearse(&res, 30, "replay", test_path(dir, "parts/shard-1.jsonl"), "--target", t,
                  "--speed", "max", "--shard", "2/3", "-o", test_path(dir, "x.jsonl"), NULL);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "shard 1/3 of a trace split by 'rehearse trace split'"), "%s",
              res.err);
    test_run_free(&res);

    /* the parts merge like shards, into the counts of one run */
    const char *parts_merged = keep(test_path(dir, "parts-merged.jsonl"));
    const char *one = keep(test_path(dir, "one.jsonl"));
    char part_results[3][512];
    for (int p = 0; p < 3; p++) {
        char part[64];
        snprintf(part, sizeof part, "parts/shard-%d.jsonl", p);
        snprintf(part_results[p], sizeof part_results[p], "%s/part-%d.results.jsonl", dir, p);
        test_rehearse(&res, 30, "replay", keep(test_path(dir, part)), "--target", t, "--speed",
                      "max", "--from", "20ms", "--to", "90ms", "-o", part_results[p], "-q", NULL);
        cr_assert_eq(res.exit_code, 0, "%s", res.err);
        test_run_free(&res);
    }
    test_rehearse(&res, 30, "replay", trace, "--target", t, "--speed", "max", "--from", "20ms",
                  "--to", "90ms", "-o", one, "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    test_rehearse(&res, 30, "merge", part_results[0], part_results[1], part_results[2], "-o",
                  parts_merged, "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    json_t *s1 = summary_of(one), *s2 = summary_of(parts_merged);
    json_t *tx = json_object_get(s1, "transactions");
    expect_equal_json(tx, json_object_get(s2, "transactions"), "transactions of a slice");
    /* 20 ms to 90 ms of 1 ms steps: 70 read, 20 before the slice */
    cr_assert_eq(json_integer_value(json_object_get(tx, "read")), 90);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(tx, "skipped"),
                                                    "out_of_slice")),
                 20);
    json_decref(s1);
    json_decref(s2);

    /* and so do --shard runs over the whole trace */
    char shard_results[3][512];
    for (int s = 0; s < 3; s++) {
        char shard[8];
        snprintf(shard, sizeof shard, "%d/3", s);
        snprintf(shard_results[s], sizeof shard_results[s], "%s/slice-%d.jsonl", dir, s);
        test_rehearse(&res, 30, "replay", trace, "--target", t, "--speed", "max", "--from",
                      "20ms", "--to", "90ms", "--shard", shard, "-o", shard_results[s], "-q",
                      NULL);
        cr_assert_eq(res.exit_code, 0, "%s", res.err);
        test_run_free(&res);
    }
    test_rehearse(&res, 30, "merge", shard_results[0], shard_results[1], shard_results[2], "-o",
                  parts_merged, "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    s1 = summary_of(one);
    s2 = summary_of(parts_merged);
    expect_equal_json(json_object_get(s1, "transactions"), json_object_get(s2, "transactions"),
                      "transactions of a sliced --shard run");
    json_decref(s1);
    json_decref(s2);
}

/* ------------------------------------------------------------ merge refuses */

/* Replay `trace` as shard `shard` ("" for none) into dir/NAME with the
 * given target args; the results file's path. */
static const char *replay_to(const char *trace, const char *shard, const char *name,
                             const char *t1, const char *t2, const char *extra)
{
    const char *out = keep(test_path(dir, name));
    char *argv[24] = {(char *)test_rehearse_bin(), "replay", (char *)trace, "--target",
                      (char *)t1, "--speed", "max", "-q", "-o", (char *)out};
    int argc = 10;
    struct run_result res;
    if (t2) {
        argv[argc++] = "--target";
        argv[argc++] = (char *)t2;
    }
    if (*shard) {
        argv[argc++] = "--shard";
        argv[argc++] = (char *)shard;
    }
    if (extra) {
        argv[argc++] = "--timeout";
        argv[argc++] = (char *)extra;
    }
    argv[argc] = NULL;
    test_run(&res, argv, 30);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    return out;
}

static void expect_merge_error(const char *expect, int code, const char *a, const char *b,
                               const char *c)
{
    struct run_result res;
    const char *out = test_path(dir, "bad-merge.jsonl");
    struct stat st;
    char *argv[8] = {(char *)test_rehearse_bin(), "merge", (char *)a};
    int argc = 3;
    if (b)
        argv[argc++] = (char *)b;
    if (c)
        argv[argc++] = (char *)c;
    argv[argc++] = "-o";
    argv[argc++] = (char *)out;
    argv[argc] = NULL;
    test_run(&res, argv, 30);
    cr_assert_eq(res.exit_code, code, "expected exit %d for '%s', got %d: %s", code, expect,
                 res.exit_code, res.err);
    cr_assert(strstr(res.err, expect), "expected '%s' in: %s", expect, res.err);
    test_run_free(&res);
    cr_assert_neq(stat(out, &st), 0, "nothing is written when the merge is refused");
    cr_assert_neq(stat(test_path(dir, "bad-merge.jsonl.partial"), &st), 0);
}

/* A copy of `from` with its text changed: the first `old` replaced by `new`
 * (or, with old NULL, the last line dropped). */
static const char *edited(const char *from, const char *name, const char *old, const char *new)
{
    size_t len;
    char *text = test_read_file(from, &len), *at;
    const char *path = keep(test_path(dir, name));
    FILE *f = fopen(path, "w");
    cr_assert(text && f);
    if (!old) {
        text[len - 1] = '\0';
        at = strrchr(text, '\n');
        fwrite(text, 1, (size_t)(at - text) + 1, f);
    } else {
        at = strstr(text, old);
        cr_assert(at, "'%s' not in %s", old, from);
        fwrite(text, 1, (size_t)(at - text), f);
        fputs(new, f);
        fputs(at + strlen(old), f);
    }
    fclose(f);
    free(text);
    return path;
}

Test(scaleout, merge_refuses_what_is_not_the_complete_shards_of_one_replay)
{
    const char *trace = write_trace("t.jsonl", 12, 2, "shop.pcap");
    const char *other = write_trace("other.jsonl", 12, 2, "elsewhere.pcap");
    struct fixture_server a, b;
    struct run_result res;

    start_service(&a, "1", "a");
    start_service(&b, "2", "b");
    const char *ta = keep(target_arg("old", &a)), *tb = keep(target_arg("new", &b));
    const char *s0 = replay_to(trace, "0/3", "s0.jsonl", ta, tb, NULL);
    const char *s1 = replay_to(trace, "1/3", "s1.jsonl", ta, tb, NULL);
    const char *s2 = replay_to(trace, "2/3", "s2.jsonl", ta, tb, NULL);

    /* the good case first: it is the set that merges */
    test_rehearse(&res, 30, "merge", s0, s1, s2, "-o", test_path(dir, "ok.jsonl"), "-q", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
    /* to standard output: the same bytes (a merge depends on its inputs only),
     * and nothing else */
    test_rehearse(&res, 30, "merge", s2, s1, s0, "-o", "-", NULL);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    {
        size_t ok_len, lines = 0;
        char *ok = test_read_file(test_path(dir, "ok.jsonl"), &ok_len);
        cr_assert_eq(res.out_len, ok_len);
        cr_assert_eq(memcmp(res.out, ok, ok_len), 0);
        for (size_t i = 0; i < ok_len; i++)
            lines += ok[i] == '\n';
        cr_assert_eq(lines, 24 + 2, "24 results between the header and the summary");
        free(ok);
    }
    test_run_free(&res);

    expect_merge_error("2 of 3 shards given, missing: 2 (of 3)", 2, s0, s1, NULL);
    expect_merge_error("it is shard 1/3, and so is", 2, s0, s1, s1);
    expect_merge_error("not replayed with --shard", 2, s0, s1,
                       replay_to(trace, "", "whole.jsonl", ta, tb, NULL));
    expect_merge_error("share N", 2, s0, s1, replay_to(trace, "1/2", "half.jsonl", ta, tb, NULL));
    expect_merge_error("are not those of", 2, s0, s1,
                       replay_to(trace, "2/3", "one-target.jsonl", ta, NULL, NULL));
    expect_merge_error("\"trace_header\" lines differ", 2, s0, s1,
                       replay_to(other, "2/3", "other-trace.jsonl", ta, tb, NULL));
    expect_merge_error("replay options differ from those of", 2, s0, s1,
                       replay_to(trace, "2/3", "timeout.jsonl", ta, tb, "10s"));
    expect_merge_error("(\"timeout_ms\" first)", 2, s0, s1,
                       keep(test_path(dir, "timeout.jsonl")));
    /* an unfinished shard: its summary line is missing */
    expect_merge_error("no summary line at the end", 2, s0, s1,
                       edited(s2, "cut.jsonl", NULL, NULL));
    /* summaries that do not add up or are not of the documented shape */
    expect_merge_error("summary.transactions.replayed is", 2, s0, s1,
                       edited(s2, "count.jsonl", "\"replayed\":", "\"replayed\":0,\"x\":"));
    expect_merge_error("summary.targets.old.latency_buckets: expected", 2, s0, s1,
                       edited(s2, "buckets.jsonl", "\"latency_buckets\":", "\"latency_buckets\":7,\"x\":"));
    expect_merge_error("summary.targets.old.latency_us.max", 2, s0, s1,
                       edited(s2, "max.jsonl", "\"max\":", "\"max\":999999999"));
    expect_merge_error("summary.transactions.skipped.bogus", 2, s0, s1,
                       edited(s2, "reason.jsonl", "\"skipped\":{", "\"skipped\":{\"bogus\":1,"));
    /* records of another shard under this shard's header */
    {
        const char *wrong = edited(s2, "wrong.jsonl", "\"shard\":\"2/3\"", "\"shard\":\"1/3\"");
        expect_merge_error("it is shard 1/3, and so is", 2, s0, s1, wrong);
        expect_merge_error("belongs to shard 2/3, not to this file's shard 1/3", 2, s0, wrong,
                           s2);
    }
    /* a results file that is not one */
    expect_merge_error("not a rehearse results file", 2, s0, s1, trace);
    /* an output that cannot be written */
    test_rehearse(&res, 30, "merge", s0, s1, s2, "-o", "/proc/rehearse-cannot/merged.jsonl",
                  NULL);
    cr_assert_eq(res.exit_code, 3, "%s", res.err);
    test_run_free(&res);

    /* the diff takes shards too, and refuses another trace's */
    test_rehearse(&res, 30, "diff", s0, s1,
                  replay_to(other, "2/3", "other-trace.jsonl", ta, tb, NULL), "-o",
                  test_path(dir, "d.json"), NULL);
    cr_assert_eq(res.exit_code, 2, "%s", res.err);
    cr_assert(strstr(res.err, "\"trace_header\" lines differ"), "%s", res.err);
    test_run_free(&res);
}
