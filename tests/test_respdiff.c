/*
 * `rehearse diff` end to end: results files crafted with the real results
 * writer, the real binary, and the DIFF.json it writes read back with
 * jansson.  Each difference kind, body decoding, noise cancellation with
 * exact counts, Diffy's thresholds at their edges, templates, redaction,
 * shards, caps and bad input.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resultsbuild.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
    dir = test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    test_tmpdir_remove(dir);
}

TestSuite(respdiff, .init = setup, .fini = teardown, .timeout = 120);

#define JSON "application/json"

static struct rb_response ok_json(const char *body)
{
    return (struct rb_response){.status = 200, .content_type = JSON, .body = body};
}

/* Two targets, one transaction per pair of bodies, all GET /users/N. */
static const char *two_bodies(const char *name, const char *a, const char *b, size_t n)
{
    const char *path = test_path(dir, name);
    struct rb *w = rb_open(path, "old,new");
    for (size_t i = 0; i < n; i++) {
        struct rb_response r[2] = {ok_json(a), ok_json(b)};
        char target[64];
        snprintf(target, sizeof target, "/users/%zu", i + 1);
        rb_add(w, i + 1, i % 3 + 1, "GET", target, r, NULL);
    }
    rb_close(w);
    return path;
}

static const char *put(const char *name, const char *text)
{
    const char *path = test_path(dir, name);
    cr_assert_eq(test_write_file(path, text, strlen(text)), 0);
    return path;
}

static json_t *diff_of(const char *results, int expect_exit, ...)
{
    struct run_result r;
    char out[4096], *args[16];
    int n = 0;
    va_list ap;

    snprintf(out, sizeof out, "%s/DIFF.json", dir);
    va_start(ap, expect_exit);
    while (n < 15 && (args[n] = va_arg(ap, char *)) != NULL)
        n++;
    va_end(ap);
    args[n] = NULL;
    /* at most 8 extra arguments */
    rb_diff(&r, dir, out, results, args[0], args[1], args[2], args[3], args[4], args[5],
            args[6], args[7], NULL);
    if (getenv("RESPDIFF_KEEP")) {
        char cmd[9000];
        snprintf(cmd, sizeof cmd, "cp %s %s", out, getenv("RESPDIFF_KEEP"));
        if (system(cmd) != 0)
            cr_log_warn("cannot keep %s", out);
    }
    cr_assert_eq(r.exit_code, expect_exit, "exit %d, expected %d\nstdout: %s\nstderr: %s",
                 r.exit_code, expect_exit, r.out, r.err);
    test_run_free(&r);
    return rb_load(out);
}

Test(respdiff, identical_responses_pass)
{
    const char *res = two_bodies("same.jsonl", "{\"id\": 1, \"name\": \"Ann\"}",
                                 "{\"name\": \"Ann\", \"id\": 1.0}", 20);
    json_t *d = diff_of(res, 0, NULL);

    cr_assert_str_eq(rb_str(d, "verdict.result"), "pass");
    cr_assert_eq(rb_int(d, "verdict.exit_code"), 0);
    cr_assert_eq(rb_int(d, "totals.transactions"), 20);
    cr_assert_eq(rb_int(d, "totals.compared"), 20);
    cr_assert_eq(rb_int(d, "totals.identical"), 20);
    cr_assert_eq(rb_int(d, "totals.different_raw"), 0);
    cr_assert_str_eq(rb_str(d, "format"), "rehearse-diff");
    cr_assert_eq(rb_int(d, "version"), 1);
    cr_assert_str_eq(rb_str(d, "inputs.base"), "old");
    cr_assert_str_eq(rb_str(d, "inputs.candidate"), "new");
    cr_assert(json_is_null(json_object_get(json_object_get(d, "inputs"), "noise")));
    cr_assert_eq(json_array_size(json_object_get(d, "endpoints")), 1);
    cr_assert_str_eq(rb_str(d, "endpoints.0.endpoint"), "GET /users/{id}");
    cr_assert_eq(rb_int(d, "endpoints.0.requests"), 20);
    cr_assert_str_eq(rb_str(d, "endpoints.0.risk"), "none");
    cr_assert_eq(json_array_size(json_object_get(json_array_get(json_object_get(d, "endpoints"),
                                                                0), "examples")), 0);
    json_decref(d);
}

Test(respdiff, a_changed_value_is_a_medium_risk_regression_with_its_patch)
{
    const char *res = two_bodies("value.jsonl", "{\"id\": 1, \"name\": \"Ann\"}",
                                 "{\"id\": 1, \"name\": \"Mary Ann\"}", 10);
    json_t *d = diff_of(res, 1, NULL), *ep = rb_endpoint(d, "GET /users/{id}"), *f;

    cr_assert_not_null(ep);
    f = rb_field(ep, "/name", false);
    cr_assert_not_null(f);
    cr_assert_str_eq(rb_str(f, "kind"), "changed");
    cr_assert_eq(rb_int(f, "raw"), 10);
    cr_assert_eq(rb_int(f, "remaining"), 10);
    cr_assert(json_is_true(json_object_get(f, "regression")));
    cr_assert_str_eq(rb_str(f, "risk"), "medium");
    cr_assert_str_eq(rb_str(d, "verdict.result"), "regressions");
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.kind"), "field");
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.path"), "/name");
    cr_assert_str_eq(rb_str(ep, "examples.0.patch.0.op"), "replace");
    cr_assert_str_eq(rb_str(ep, "examples.0.patch.0.path"), "/name");
    cr_assert_str_eq(rb_str(ep, "examples.0.patch.0.value"), "Mary Ann");
    cr_assert_str_eq(rb_str(ep, "examples.0.paths.0"), "/name");
    cr_assert_str_eq(rb_str(ep, "examples.0.base.body_encoding"), "json");
    cr_assert_str_eq(rb_str(ep, "examples.0.base.body"), "{\"id\":1,\"name\":\"Ann\"}");
    cr_assert_eq(rb_int(ep, "examples.0.tx"), 1);
    /* examples by transaction id; the field lists the ones that show it */
    cr_assert_eq(json_array_size(json_object_get(ep, "examples")), 5);
    cr_assert_eq(rb_int(f, "examples.0"), 1);
    cr_assert_eq(rb_int(f, "examples.2"), 3);
    cr_assert_eq(json_array_size(json_object_get(f, "examples")), 3);
    json_decref(d);
}

Test(respdiff, type_changes_and_removals_are_high_risk_additions_low)
{
    const char *res = two_bodies("kinds.jsonl",
                                 "{\"amount\": 10, \"gone\": true, \"keep\": 1}",
                                 "{\"amount\": \"10\", \"keep\": 1, \"extra\": [1]}", 4);
    json_t *d = diff_of(res, 1, NULL), *ep = rb_endpoint(d, "GET /users/{id}");

    cr_assert_str_eq(rb_str(rb_field(ep, "/amount", false), "kind"), "type_changed");
    cr_assert_str_eq(rb_str(rb_field(ep, "/amount", false), "risk"), "high");
    cr_assert_str_eq(rb_str(rb_field(ep, "/gone", false), "kind"), "removed");
    cr_assert_str_eq(rb_str(rb_field(ep, "/gone", false), "risk"), "high");
    cr_assert_str_eq(rb_str(rb_field(ep, "/extra", false), "kind"), "added");
    cr_assert_str_eq(rb_str(rb_field(ep, "/extra", false), "risk"), "low");
    cr_assert_str_eq(rb_str(ep, "risk"), "high");
    cr_assert_null(rb_field(ep, "/keep", false));
    /* most severe first */
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.risk"), "high");
    cr_assert_str_eq(rb_str(d, "verdict.reasons.2.path"), "/extra");
    json_decref(d);
}

Test(respdiff, status_and_header_changes_are_found)
{
    const char *path = test_path(dir, "status.jsonl");
    struct rb *w = rb_open(path, "old,new");
    for (int i = 1; i <= 4; i++) {
        struct rb_response r[2] = {ok_json("{}"), ok_json("{}")};
        if (i == 1)
            r[1].status = 500;
        if (i == 2)
            r[1].content_type = "text/html";
        if (i == 3) {
            r[0].headers[0][0] = "ETag";
            r[0].headers[0][1] = "\"a\"";
            r[1].headers[0][0] = "ETag";
            r[1].headers[0][1] = "\"b\"";
        }
        rb_add(w, (uint64_t)i, 1, "GET", "/health", r, NULL);
    }
    rb_close(w);
    json_t *d = diff_of(path, 1, NULL), *ep = rb_endpoint(d, "GET /health");

    cr_assert_eq(rb_int(ep, "status.mismatches"), 1);
    cr_assert_eq(rb_int(ep, "status.changes.0.base"), 200);
    cr_assert_eq(rb_int(ep, "status.changes.0.candidate"), 500);
    cr_assert_eq(rb_int(ep, "status.changes.0.count"), 1);
    cr_assert_eq(rb_int(d, "totals.status_mismatches"), 1);
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.kind"), "status");
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.risk"), "high");
    cr_assert_eq(rb_int(rb_field(ep, "Content-Type", true), "raw"), 1);
    cr_assert_eq(rb_int(ep, "headers.raw"), 1);
    /* ETag is not compared without a rule */
    cr_assert_null(rb_field(ep, "ETag", true));
    json_decref(d);

    /* ... and is with one; the rule's hits say so */
    const char *rules = put("rules.json", "{\"headers\": [\"ETag\"]}");
    d = diff_of(path, 1, "--rules", rules, NULL);
    ep = rb_endpoint(d, "GET /health");
    cr_assert_eq(rb_int(rb_field(ep, "ETag", true), "raw"), 1);
    cr_assert_str_eq(rb_str(d, "rules.0.kind"), "headers");
    cr_assert_str_eq(rb_str(d, "rules.0.id"), "headers#1");
    cr_assert_eq(rb_int(d, "rules.0.hits"), 1);
    cr_assert(strstr(rb_str(d, "rules.0.where"), "rules.json:1:14") != NULL,
              "%s", rb_str(d, "rules.0.where"));
    json_decref(d);
}

Test(respdiff, array_order_is_one_difference_and_rules_make_it_none)
{
    const char *a = "{\"items\": [{\"id\": 1, \"p\": 5}, {\"id\": 2, \"p\": 6}, {\"id\": 3, \"p\": 7}]}";
    const char *b = "{\"items\": [{\"id\": 3, \"p\": 7}, {\"id\": 1, \"p\": 5}, {\"id\": 2, \"p\": 6}]}";
    const char *c = "{\"items\": [{\"id\": 3, \"p\": 7}, {\"id\": 1, \"p\": 9}, {\"id\": 2, \"p\": 6}]}";
    const char *res = two_bodies("order.jsonl", a, b, 3);
    json_t *d = diff_of(res, 1, NULL), *ep = rb_endpoint(d, "GET /users/{id}"), *f;

    f = rb_field(ep, "/items", false);
    cr_assert_not_null(f);
    cr_assert_str_eq(rb_str(f, "kind"), "order_changed");
    cr_assert_eq(rb_int(f, "raw"), 3);
    cr_assert_str_eq(rb_str(f, "risk"), "medium");
    cr_assert_eq(json_array_size(json_object_get(ep, "fields")), 1);
    cr_assert_str_eq(rb_str(ep, "examples.0.paths.0"), "/items");
    json_decref(d);

    d = diff_of(res, 0, "--rules", put("u.json", "{\"unordered\": [\"/items\"]}"), NULL);
    cr_assert_eq(rb_int(d, "totals.identical"), 3);
    cr_assert_eq(rb_int(d, "rules.0.hits"), 3);
    json_decref(d);
    d = diff_of(res, 0, "--rules", put("k.json", "{\"array_key\": {\"/items\": \"id\"}}"), NULL);
    cr_assert_eq(rb_int(d, "totals.identical"), 3);
    json_decref(d);

    /* by key, a moved element that also changed shows its member only */
    res = two_bodies("order2.jsonl", a, c, 2);
    d = diff_of(res, 1, "--rules", put("k2.json", "{\"array_key\": {\"/items\": \"id\"}}"), NULL);
    ep = rb_endpoint(d, "GET /users/{id}");
    cr_assert_eq(json_array_size(json_object_get(ep, "fields")), 1);
    cr_assert_not_null(rb_field(ep, "/items/*/p", false));
    json_decref(d);
}

Test(respdiff, tolerance_absorbs_small_numeric_differences)
{
    const char *res = two_bodies("tol.jsonl", "{\"price\": 10.000, \"n\": 1}",
                                 "{\"price\": 10.004, \"n\": 1}", 5);
    json_t *d = diff_of(res, 1, NULL);
    cr_assert_not_null(rb_field(rb_endpoint(d, "GET /users/{id}"), "/price", false));
    json_decref(d);
    d = diff_of(res, 0, "--rules",
                put("t.json", "{\"tolerance\": {\"/price\": {\"absolute\": 0.005}}}"), NULL);
    cr_assert_eq(rb_int(d, "totals.identical"), 5);
    cr_assert_str_eq(rb_str(d, "rules.0.kind"), "tolerance");
    cr_assert_eq(rb_int(d, "rules.0.hits"), 5);
    json_decref(d);
}

Test(respdiff, gzip_and_deflate_bodies_are_decoded_before_comparing)
{
    const char *body = "{\"greeting\": \"hello\", \"n\": [1, 2, 3]}";
    const char *path = test_path(dir, "coded.jsonl");
    size_t glen, dlen;
    char *gz = rb_compress(body, strlen(body), true, &glen);
    char *df = rb_compress(body, strlen(body), false, &dlen);
    struct rb *w = rb_open(path, "old,new");
    struct rb_response r[2] = {ok_json(body), ok_json(body)};

    r[0].body = gz;
    r[0].body_len = glen;
    r[0].content_encoding = "gzip";
    rb_add(w, 1, 1, "GET", "/a", r, NULL);
    r[0] = ok_json(body);
    r[1].body = df;
    r[1].body_len = dlen;
    r[1].content_encoding = "deflate";
    rb_add(w, 2, 1, "GET", "/a", r, NULL);
    /* a real change under gzip is still found, at its path */
    r[0].body = gz;
    r[0].body_len = glen;
    r[0].content_encoding = "gzip";
    r[1] = ok_json("{\"greeting\": \"hi\", \"n\": [1, 2, 3]}");
    rb_add(w, 3, 1, "GET", "/a", r, NULL);
    rb_close(w);
    free(gz);
    free(df);

    json_t *d = diff_of(path, 1, NULL), *ep = rb_endpoint(d, "GET /a");
    cr_assert_eq(rb_int(d, "totals.identical"), 2);
    cr_assert_eq(rb_int(d, "totals.decoding.gzip"), 2);
    cr_assert_eq(rb_int(d, "totals.decoding.deflate"), 1);
    cr_assert_eq(rb_int(rb_field(ep, "/greeting", false), "raw"), 1);
    cr_assert_str_eq(rb_str(ep, "examples.0.base.body"), "{\"greeting\":\"hello\",\"n\":[1,2,3]}");
    cr_assert_str_eq(rb_str(ep, "examples.0.base.decoded.0"), "gzip");
    json_decref(d);
}

Test(respdiff, charsets_are_converted_and_text_gets_a_line_diff)
{
    const char *path = test_path(dir, "text.jsonl");
    struct rb *w = rb_open(path, "old,new");
    struct rb_response r[2] = {
        {.status = 200, .content_type = "text/plain; charset=ISO-8859-1", .body = "caf\xe9\n"},
        {.status = 200, .content_type = "text/plain; charset=utf-8", .body = "caf\xc3\xa9\n"}};
    rb_add(w, 1, 1, "GET", "/menu", r, NULL);
    r[0] = (struct rb_response){.status = 200, .content_type = "text/plain",
                                .body = "a\nb\nc\nd\n"};
    r[1] = (struct rb_response){.status = 200, .content_type = "text/plain",
                                .body = "a\nnew\nb\nc\nD\n"};
    rb_add(w, 2, 1, "GET", "/menu", r, NULL);
    rb_close(w);

    json_t *d = diff_of(path, 1, NULL), *ep = rb_endpoint(d, "GET /menu");
    /* the same text once converted: only the Content-Type header differs */
    cr_assert_eq(rb_int(ep, "body.raw"), 1);
    cr_assert_eq(rb_int(rb_field(ep, "Content-Type", true), "raw"), 1);
    cr_assert_str_eq(rb_str(ep, "examples.0.base.body"), "caf\xc3\xa9\n");
    cr_assert_eq(rb_int(d, "totals.decoding.charset"), 1);
    cr_assert_str_eq(rb_str(rb_field(ep, "line:2", false), "kind"), "added");
    cr_assert_str_eq(rb_str(rb_field(ep, "line:4", false), "kind"), "changed");
    cr_assert_eq(json_array_size(json_object_get(ep, "fields")), 3);
    cr_assert_str_eq(rb_str(ep, "examples.1.paths.0"), "line:2");
    cr_assert_str_eq(rb_str(ep, "examples.1.paths.1"), "line:4");
    cr_assert_str_eq(rb_str(ep, "examples.1.base.body_encoding"), "text");
    cr_assert_null(json_object_get(json_array_get(json_object_get(ep, "examples"), 1), "patch"));
    json_decref(d);
}

Test(respdiff, binary_bodies_compare_by_bytes_and_omitted_ones_by_hash)
{
    const char *path = test_path(dir, "bin.jsonl");
    struct rb *w = rb_open(path, "old,new");
    static const char png1[] = "\x89PNG\r\n\x1a\n\x00\x01\x02", png2[] = "\x89PNG\r\n\x1a\n\x00\x01\x03";
    char big[65];
    struct rb_response r[2] = {
        {.status = 200, .content_type = "image/png", .body = png1, .body_len = 11},
        {.status = 200, .content_type = "image/png", .body = png1, .body_len = 11}};
    rb_add(w, 1, 1, "GET", "/logo.png", r, NULL);
    r[1].body = png2;
    rb_add(w, 2, 1, "GET", "/logo.png", r, NULL);
    /* omitted bodies: equal hashes are equal; binary ones with other hashes differ */
    snprintf(big, sizeof big, "%s", rb_sha256("big", 3));
    r[0] = (struct rb_response){.status = 200, .content_type = "image/png", .omitted = true,
                                .sha256 = big, .size = 9000000};
    r[1] = r[0];
    rb_add(w, 3, 1, "GET", "/logo.png", r, NULL);
    r[1].sha256 = rb_sha256("other", 5);
    rb_add(w, 4, 1, "GET", "/logo.png", r, NULL);
    /* an omitted JSON body with another hash cannot be judged under rules */
    r[0].content_type = r[1].content_type = JSON;
    rb_add(w, 5, 1, "GET", "/logo.png", r, NULL);
    /* one side omitted, the other inline with the same bytes: equal */
    r[0] = (struct rb_response){.status = 200, .content_type = "image/png", .body = png1,
                                .body_len = 11};
    r[1] = (struct rb_response){.status = 200, .content_type = "image/png", .omitted = true,
                                .size = 11};
    r[1].sha256 = rb_sha256(png1, 11);
    rb_add(w, 6, 1, "GET", "/logo.png", r, NULL);
    rb_close(w);

    json_t *d = diff_of(path, 1, NULL), *ep = rb_endpoint(d, "GET /logo.png"), *f;
    cr_assert_eq(rb_int(d, "totals.transactions"), 6);
    cr_assert_eq(rb_int(d, "totals.compared"), 5);
    cr_assert_eq(rb_int(d, "totals.skipped.body_omitted_unequal_hash"), 1);
    cr_assert_eq(rb_int(d, "totals.identical"), 3);
    f = rb_field(ep, "", false);
    cr_assert_not_null(f);
    cr_assert_eq(rb_int(f, "raw"), 2);
    cr_assert_str_eq(rb_str(ep, "examples.0.base.body_encoding"), "base64");
    cr_assert_str_eq(rb_str(ep, "examples.0.base.body_sha256"), rb_sha256(png1, 11));
    cr_assert_eq(rb_int(ep, "examples.0.candidate.body_size"), 11);
    cr_assert_str_eq(rb_str(ep, "examples.1.candidate.body_sha256"), rb_sha256("other", 5));
    cr_assert(json_is_true(json_object_get(
        json_object_get(json_array_get(json_object_get(ep, "examples"), 1), "candidate"),
        "body_omitted")));
    json_decref(d);
}

/*
 * Noise: 100 transactions of GET /orders/N.  request_id differs in every
 * response (base, candidate and noise reference all differ): noise.  price
 * differs base vs candidate in 10 transactions and nowhere else: a
 * regression.  meta.cache differs base vs candidate in 6 transactions, and
 * base vs noise in 4 of those 6 and in 20 others.
 */
Test(respdiff, noise_cancels_fields_that_differ_between_base_and_noise_reference)
{
    const char *path = test_path(dir, "noise.jsonl");
    struct rb *w = rb_open(path, "old,new,old2");
    char bodies[3][256];

    for (int i = 1; i <= 100; i++) {
        struct rb_response r[3];
        char target[32];
        for (int t = 0; t < 3; t++) {
            int price = t == 1 && i <= 10 ? 11 : 10;
            int cache = (t == 1 && i <= 6) || (t == 2 && ((i >= 3 && i <= 6) || i > 80)) ? 1 : 0;
            snprintf(bodies[t], sizeof bodies[t],
                     "{\"request_id\": \"r%d-%d\", \"price\": %d, \"meta\": {\"cache\": %d}}", i,
                     t, price, cache);
            r[t] = ok_json(bodies[t]);
        }
        snprintf(target, sizeof target, "/orders/%d", i);
        rb_add(w, (uint64_t)i, 1, "GET", target, r, NULL);
    }
    rb_close(w);

    json_t *d = diff_of(path, 1, "--noise", "old2", NULL), *ep = rb_endpoint(d, "GET /orders/{id}");
    json_t *id = rb_field(ep, "/request_id", false), *price = rb_field(ep, "/price", false);
    json_t *cache = rb_field(ep, "/meta/cache", false);

    cr_assert_eq(rb_int(d, "totals.noise_compared"), 100);
    cr_assert_eq(rb_int(d, "totals.different_raw"), 100);
    /* price remains in 1..10; cache in 1 and 2, which are among them */
    cr_assert_eq(rb_int(d, "totals.different_after_noise"), 10);
    cr_assert_eq(rb_int(id, "raw"), 100);
    cr_assert_eq(rb_int(id, "noise"), 100);
    cr_assert_eq(rb_int(id, "remaining"), 0);
    cr_assert(json_is_false(json_object_get(id, "regression")));
    cr_assert_str_eq(rb_str(id, "risk"), "none");
    cr_assert_eq(rb_int(price, "raw"), 10);
    cr_assert_eq(rb_int(price, "noise"), 0);
    cr_assert_eq(rb_int(price, "remaining"), 10);
    cr_assert(json_is_true(json_object_get(price, "regression")));
    cr_assert_eq(json_real_value(json_object_get(price, "raw_rate")), 0.1);
    cr_assert_eq(rb_int(cache, "raw"), 6);
    cr_assert_eq(rb_int(cache, "noise"), 4 + 20);
    cr_assert_eq(rb_int(cache, "remaining"), 2);
    /* raw 6 < noise 24: not a regression, although 2 remain */
    cr_assert(json_is_false(json_object_get(cache, "regression")));
    cr_assert_eq(rb_int(ep, "body.raw"), 100);
    cr_assert_eq(rb_int(ep, "body.noise"), 100);
    cr_assert_eq(rb_int(ep, "body.remaining"), 10);
    /* the only reason is the price */
    cr_assert_eq(json_array_size(json_object_get(json_object_get(d, "verdict"), "reasons")), 1);
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.path"), "/price");
    /* examples show the noise reference and which paths were noise */
    cr_assert_eq(rb_int(ep, "examples.0.tx"), 1);
    cr_assert_str_eq(rb_str(ep, "examples.0.noise_paths.0"), "/request_id");
    cr_assert_eq(rb_int(ep, "examples.0.noise.status"), 200);
    json_decref(d);

    /* without the noise reference, request_id is a regression too */
    d = diff_of(path, 1, NULL);
    cr_assert(json_is_true(json_object_get(
        rb_field(rb_endpoint(d, "GET /orders/{id}"), "/request_id", false), "regression")));
    json_decref(d);
}

/*
 * Diffy's thresholds at their edges: field /x differs base vs candidate in
 * 10 of 100 transactions, and base vs noise in 5 of those: raw 10, noise 5,
 * relative |10 − 5| / 15 = 0.333, absolute 5 / 100 = 0.05.
 */
static const char *thresholds_input(void)
{
    const char *path = test_path(dir, "edges.jsonl");
    struct rb *w = rb_open(path, "old,new,old2");
    for (int i = 1; i <= 100; i++) {
        struct rb_response r[3] = {ok_json("{\"x\": 1}"),
                                   ok_json(i <= 10 ? "{\"x\": 2}" : "{\"x\": 1}"),
                                   ok_json(i <= 5 ? "{\"x\": 3}" : "{\"x\": 1}")};
        rb_add(w, (uint64_t)i, 1, "GET", "/x", r, NULL);
    }
    rb_close(w);
    return path;
}

Test(respdiff, diffy_thresholds_decide_just_above_and_just_below)
{
    const char *res = thresholds_input();
    struct {
        const char *rel, *abs;
        int exit;
    } cases[] = {
        {"0.33", "0.049", 1},  /* 0.333 > 0.33 and 0.05 > 0.049 */
        {"0.34", "0.049", 0},  /* relative just below */
        {"0.33", "0.051", 0},  /* absolute just below */
        {"0.33", "0.05", 0},   /* equal is not above */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = diff_of(res, cases[i].exit, "--noise", "old2", "--threshold-relative",
                            cases[i].rel, "--threshold-absolute", cases[i].abs, NULL);
        json_t *f = rb_field(rb_endpoint(d, "GET /x"), "/x", false);
        cr_assert_eq(rb_int(f, "raw"), 10);
        cr_assert_eq(rb_int(f, "noise"), 5);
        cr_assert_eq(rb_int(f, "remaining"), 5);
        cr_assert_eq(json_is_true(json_object_get(f, "regression")), cases[i].exit == 1,
                     "case %zu", i);
        cr_assert_eq(json_real_value(json_object_get(json_object_get(d, "thresholds"),
                                                     "relative")),
                     strtod(cases[i].rel, NULL));
        json_decref(d);
    }
}

Test(respdiff, endpoints_are_templated_and_user_templates_win)
{
    const char *path = test_path(dir, "tmpl.jsonl");
    struct rb *w = rb_open(path, "old,new");
    const char *targets[] = {"/users/12/orders?page=2", "/users/7/orders",
                             "/users/alice/orders", "/users/bob/orders",
                             "/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                             "http://api.example/users/9/orders"};
    for (size_t i = 0; i < 6; i++) {
        struct rb_response r[2] = {ok_json("{}"), ok_json("{}")};
        rb_add(w, i + 1, 1, "GET", targets[i], r, NULL);
    }
    rb_close(w);

    json_t *d = diff_of(path, 0, NULL);
    cr_assert_eq(rb_int(rb_endpoint(d, "GET /users/{id}/orders"), "requests"), 3);
    cr_assert_eq(rb_int(rb_endpoint(d, "GET /users/alice/orders"), "requests"), 1);
    cr_assert_eq(rb_int(rb_endpoint(d, "GET /items/{id}"), "requests"), 1);
    json_decref(d);

    d = diff_of(path, 0, "--rules",
                put("tm.json", "{\"templates\": [\"/users/{name}/orders\", \"/nothing/{x}\"]}"),
                NULL);
    cr_assert_eq(rb_int(rb_endpoint(d, "GET /users/{name}/orders"), "requests"), 5);
    cr_assert_null(rb_endpoint(d, "GET /users/alice/orders"));
    cr_assert_str_eq(rb_str(d, "rules.0.kind"), "template");
    cr_assert_str_eq(rb_str(d, "rules.0.pattern"), "/users/{name}/orders");
    cr_assert_eq(rb_int(d, "rules.0.hits"), 5);
    cr_assert_eq(rb_int(d, "rules.1.hits"), 0); /* a rule that matched nothing shows */
    json_decref(d);
}

Test(respdiff, no_secret_appears_anywhere_in_the_diff)
{
    const char *path = test_path(dir, "secrets.jsonl");
    const char *out = test_path(dir, "DIFF.json");
    const char *secrets[] = {"s3cr3t-bearer-token", "session=abc123cookie", "sid=setcookie42",
                             "apikey-9f8e7d", "query-token-555", "hunter2-password",
                             "refresh-tok-777", "IBAN-DE0012345", "custom-secret-hdr",
                             "form-password-1"};
    struct rb *w = rb_open(path, "old,new,old2");
    struct rb_response r[3];
    struct run_result run;
    char *text;

    for (int t = 0; t < 3; t++) {
        r[t] = ok_json(t == 1 ? "{\"user\": {\"name\": \"ann\", \"password\": \"hunter2-password\"},"
                                " \"auth\": {\"refresh_token\": \"refresh-tok-777\"},"
                                " \"account\": {\"iban\": \"IBAN-DE0012345\"}, \"v\": 2}"
                              : "{\"user\": {\"name\": \"ann\", \"password\": \"hunter2-password\"},"
                                " \"auth\": {\"refresh_token\": \"refresh-tok-777\"},"
                                " \"account\": {\"iban\": \"IBAN-DE0012345\"}, \"v\": 1}");
        r[t].headers[0][0] = "Set-Cookie";
        r[t].headers[0][1] = "sid=setcookie42; HttpOnly";
        r[t].headers[1][0] = "X-Api-Key";
        r[t].headers[1][1] = "apikey-9f8e7d";
        r[t].headers[2][0] = "X-Custom";
        r[t].headers[2][1] = "custom-secret-hdr";
        r[t].headers[3][0] = "Authorization";
        r[t].headers[3][1] = "Bearer s3cr3t-bearer-token";
    }
    r[1].headers[4][0] = "Cookie";
    r[1].headers[4][1] = "session=abc123cookie";
    rb_add(w, 1, 1, "GET", "/me?access_token=query-token-555&page=1", r, r);
    /* a form body and a whole replaced object holding a secret */
    r[0] = (struct rb_response){.status = 200, .content_type = "application/x-www-form-urlencoded",
                                .body = "user=ann&password=form-password-1"};
    r[1] = (struct rb_response){.status = 200, .content_type = "application/x-www-form-urlencoded",
                                .body = "user=bob&password=form-password-1"};
    r[2] = r[0];
    rb_add(w, 2, 1, "POST", "/login", r, NULL);
    r[0] = ok_json("{\"a\": 1}");
    r[1] = ok_json("{\"a\": {\"token\": \"refresh-tok-777\", \"iban\": \"x\"}}");
    r[2] = r[0];
    rb_add(w, 3, 1, "GET", "/me", r, NULL);
    rb_close(w);

    const char *rules = put("r.json", "{\"redact\": [\"/account/iban\"], "
                                      "\"redact_headers\": [\"X-Custom\"], "
                                      "\"headers\": [\"*\"]}");
    rb_diff(&run, dir, out, path, "--noise", "old2", "--rules", rules, NULL);
    cr_assert_eq(run.exit_code, 1, "%s", run.err);
    test_run_free(&run);
    text = test_read_file(out, NULL);
    cr_assert_not_null(text);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        cr_assert_null(strstr(text, secrets[i]), "'%s' is in DIFF.json", secrets[i]);
    /* the scheme is kept, the values are fingerprints, and it is all counted */
    cr_assert_not_null(strstr(text, "\"Bearer [redacted:hmac:"));
    cr_assert_not_null(strstr(text, "access_token=[redacted:hmac:"));
    free(text);

    json_t *d = rb_load(out);
    cr_assert_gt(rb_int(d, "redaction.values_redacted"), 10);
    cr_assert_str_eq(rb_str(d, "redaction.key"), "given");
    /* equal secrets, equal fingerprints */
    json_t *ep = rb_endpoint(d, "GET /me");
    cr_assert_str_eq(rb_str(ep, "examples.0.base.headers.3.1"),
                     rb_str(ep, "examples.0.candidate.headers.3.1"));
    json_decref(d);
}

static char *without_inputs(const char *path)
{
    json_t *d = rb_load(path);
    char *s;
    json_object_del(d, "inputs");
    json_object_del(d, "created_us");
    s = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(d);
    return s;
}

Test(respdiff, shards_split_by_connection_give_the_unsharded_diff)
{
    const char *whole = test_path(dir, "whole.jsonl");
    char shard[2][4096], out1[4096], out2[4096];
    struct rb *w = rb_open(whole, "old,new,old2"), *s[2];
    struct run_result r;
    char *a, *b;

    snprintf(shard[0], sizeof shard[0], "%s/shard0.jsonl", dir);
    snprintf(shard[1], sizeof shard[1], "%s/shard1.jsonl", dir);
    s[0] = rb_open(shard[0], "old,new,old2");
    s[1] = rb_open(shard[1], "old,new,old2");
    for (int i = 1; i <= 300; i++) {
        char bodies[3][160], target[64];
        struct rb_response x[3];
        uint64_t conn = (uint64_t)(i * 7 % 13);
        for (int t = 0; t < 3; t++) {
            snprintf(bodies[t], sizeof bodies[t],
                     "{\"id\": %d, \"stamp\": %d, \"v\": %d, \"tags\": [%d, %d]}", i,
                     t ? i * 31 + t : i, t == 1 && i % 17 == 0 ? 2 : 1, i % 3, t == 1 && i % 29 == 0 ? 9 : 4);
            x[t] = ok_json(bodies[t]);
            x[t].total_us = 500 + (i * 37 + t * 101) % 3000;
            if (t == 1 && i % 41 == 0)
                x[t].status = 503;
        }
        snprintf(target, sizeof target, i % 4 ? "/users/%d" : "/orders/%d?x=1", i);
        rb_add(w, (uint64_t)i, conn, i % 5 ? "GET" : "POST", target, x, &x[0]);
        /* shards hold whole connections, in their own order */
        rb_add(s[conn % 2], (uint64_t)i, conn, i % 5 ? "GET" : "POST", target, x, &x[0]);
    }
    rb_close(w);
    rb_close(s[0]);
    rb_close(s[1]);

    snprintf(out1, sizeof out1, "%s/one.json", dir);
    snprintf(out2, sizeof out2, "%s/two.json", dir);
    rb_diff(&r, dir, out1, whole, "--noise", "old2", NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    test_run_free(&r);
    rb_diff(&r, dir, out2, shard[1], shard[0], "--noise", "old2", NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    test_run_free(&r);
    a = without_inputs(out1);
    b = without_inputs(out2);
    cr_assert_str_eq(a, b);
    cr_assert_gt(strlen(a), 5000);
    free(a);
    free(b);
    json_t *d = rb_load(out2);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(d, "inputs"), "results")), 2);
    cr_assert_eq(rb_int(d, "inputs.results.0.transactions") +
                     rb_int(d, "inputs.results.1.transactions"), 300);
    json_decref(d);
}

Test(respdiff, caps_keep_the_output_small_and_count_what_they_cut)
{
    const char *path = test_path(dir, "caps.jsonl");
    struct rb *w = rb_open(path, "old,new");
    for (int i = 1; i <= 50; i++) {
        char a[128], b[128], target[32];
        struct rb_response r[2];
        snprintf(a, sizeof a, "{\"a\": 1, \"b\": 1, \"c\": 1}");
        snprintf(b, sizeof b, "{\"a\": 2, \"b\": 2, \"c\": 2}");
        r[0] = ok_json(a);
        r[1] = ok_json(b);
        snprintf(target, sizeof target, "/e%d", i % 5);
        rb_add(w, (uint64_t)i, 1, "GET", target, r, NULL);
    }
    rb_close(w);
    json_t *d = diff_of(path, 1, "--max-endpoints", "2", "--max-fields", "2", "--max-examples",
                        "1", NULL);
    json_t *eps = json_object_get(d, "endpoints");
    cr_assert_eq(json_array_size(eps), 3);
    cr_assert_str_eq(rb_str(d, "endpoints.2.endpoint"), "(other)");
    cr_assert_eq(rb_int(d, "endpoints.2.requests"), 30);
    cr_assert_eq(rb_int(d, "caps.endpoints"), 2);
    cr_assert_eq(rb_int(d, "caps.hit.endpoints"), 30);
    /* 50 transactions, 3 fields each, 2 tracked: 50 occurrences cut */
    cr_assert_eq(rb_int(d, "caps.hit.fields_per_endpoint"), 50);
    cr_assert_eq(json_array_size(json_object_get(json_array_get(eps, 0), "fields")), 2);
    cr_assert_eq(json_array_size(json_object_get(json_array_get(eps, 0), "examples")), 1);
    cr_assert_eq(rb_int(d, "caps.hit.examples_per_endpoint"), 50 - 3);
    json_decref(d);
}

Test(respdiff, a_decompression_bomb_is_capped_and_counted)
{
    size_t n = 64 << 20, clen;
    char *zeros = calloc(1, n), *gz;
    const char *path = test_path(dir, "bomb.jsonl");
    struct rb *w = rb_open(path, "old,new");

    cr_assert_not_null(zeros);
    memset(zeros, ' ', n);
    zeros[0] = '{';
    zeros[n - 1] = '}';
    gz = rb_compress(zeros, n, true, &clen);
    free(zeros);
    cr_assert_lt(clen, 200000);
    struct rb_response r[2] = {ok_json("{}"), ok_json("{}")};
    r[1].body = gz;
    r[1].body_len = clen;
    r[1].content_encoding = "gzip";
    rb_add(w, 1, 1, "GET", "/bomb", r, NULL);
    rb_close(w);
    free(gz);

    json_t *d = diff_of(path, 1, "--max-body", "1M", NULL);
    cr_assert_eq(rb_int(d, "totals.decoding.capped"), 1);
    cr_assert_eq(rb_int(d, "endpoints.0.fields.0.raw"), 1);
    cr_assert_str_eq(rb_str(d, "endpoints.0.examples.0.candidate.decoded.0"), "capped");
    cr_assert_str_eq(rb_str(d, "endpoints.0.examples.0.candidate.body_encoding"), "base64");
    cr_assert_eq(rb_int(d, "totals.decoding.gzip"), 0);
    json_decref(d);
}

Test(respdiff, errors_are_skipped_with_a_reason_and_their_rate_decides)
{
    const char *path = test_path(dir, "errors.jsonl");
    struct rb *w = rb_open(path, "old,new");
    for (int i = 1; i <= 10; i++) {
        struct rb_response r[2] = {ok_json("{}"), ok_json("{}")};
        if (i <= 2)
            r[1] = (struct rb_response){.status = 0, .error = RESULT_ERROR_TIMEOUT};
        if (i == 3)
            r[0] = (struct rb_response){.status = 0, .error = RESULT_ERROR_RESET};
        rb_add(w, (uint64_t)i, 1, "GET", "/e", r, NULL);
    }
    rb_close(w);
    json_t *d = diff_of(path, 1, NULL), *ep = rb_endpoint(d, "GET /e");
    cr_assert_eq(rb_int(d, "totals.skipped.candidate_error"), 2);
    cr_assert_eq(rb_int(d, "totals.skipped.base_error"), 1);
    cr_assert_eq(rb_int(d, "totals.compared"), 7);
    cr_assert_eq(rb_int(ep, "errors.new.timeout"), 2);
    cr_assert_eq(rb_int(ep, "errors.old.reset"), 1);
    cr_assert_eq(rb_int(d, "targets.new.errors.timeout"), 2);
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.kind"), "error_rate");
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.risk"), "high"); /* a new error kind */
    json_decref(d);
    d = diff_of(path, 0, "--threshold-error-rate", "0.2", NULL);
    json_decref(d);
}

Test(respdiff, latency_comes_from_exact_histograms)
{
    const char *path = test_path(dir, "lat.jsonl");
    struct rb *w = rb_open(path, "old,new");
    for (int i = 1; i <= 100; i++) {
        struct rb_response r[2] = {ok_json("{}"), ok_json("{}")};
        r[0].total_us = 1000;
        r[1].total_us = i <= 90 ? 1000 : 50000;
        rb_add(w, (uint64_t)i, 1, "GET", "/l", r, NULL);
    }
    rb_close(w);
    json_t *d = diff_of(path, 0, NULL);
    cr_assert_eq(rb_int(d, "targets.old.latency_us.p99"), 1000);
    /* a percentile is the top of its bucket (within 1/32), never above max */
    cr_assert_eq(rb_int(d, "targets.new.latency_us.p50"), 1007);
    cr_assert_eq(rb_int(d, "targets.new.latency_us.max"), 50000);
    cr_assert_eq(rb_int(d, "targets.new.latency_us.p99"), 50000);
    cr_assert_str_eq(rb_str(d, "targets.new.histogram.scheme"), "loglin32");
    /* 1000 in 992..1007 (64 + 3 * 32 + 30), 50000 in 49152..50175 (64 + 9 * 32 + 16) */
    cr_assert_eq(rb_int(d, "targets.new.histogram.counts.0.0"), 190);
    cr_assert_eq(rb_int(d, "targets.new.histogram.counts.0.1"), 90);
    cr_assert_eq(rb_int(d, "targets.new.histogram.counts.1.0"), 368);
    cr_assert_eq(rb_int(d, "endpoints.0.latency_us.new.p99"), 50000);
    json_decref(d);
    d = diff_of(path, 1, "--threshold-latency-p99", "2", NULL);
    cr_assert_str_eq(rb_str(d, "verdict.reasons.0.kind"), "latency");
    json_decref(d);
}

Test(respdiff, an_empty_replay_is_no_data_and_fails)
{
    const char *path = test_path(dir, "empty.jsonl");
    rb_close(rb_open(path, "old,new"));
    json_t *d = diff_of(path, 1, NULL);
    cr_assert_str_eq(rb_str(d, "verdict.result"), "no_data");
    cr_assert_eq(rb_int(d, "verdict.exit_code"), 1);
    json_decref(d);
}

static void expect_bad(const char *needle, ...)
{
    struct run_result r;
    char *argv[16];
    int n = 0;
    va_list ap;

    argv[n++] = (char *)test_rehearse_bin();
    argv[n++] = "diff";
    va_start(ap, needle);
    while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    cr_assert_eq(test_run(&r, argv, 60), 0);
    cr_assert_eq(r.exit_code, 2, "exit %d: %s", r.exit_code, r.err);
    cr_assert_not_null(strstr(r.err, needle), "expected '%s' in: %s", needle, r.err);
    test_run_free(&r);
}

Test(respdiff, bad_input_is_refused_with_located_messages)
{
    char good[4096], out[4096], msg[4096];

    snprintf(good, sizeof good, "%s", two_bodies("good.jsonl", "{}", "{}", 3));
    snprintf(out, sizeof out, "%s", test_path(dir, "D.json"));

    put("trace.jsonl", "{\"format\":\"rehearse-trace\",\"version\":1}\n");
    snprintf(msg, sizeof msg, "%s:1: not a rehearse results file", test_path(dir, "trace.jsonl"));
    expect_bad(msg, test_path(dir, "trace.jsonl"), "-o", out, NULL);
    expect_bad("--base 'nope': ", good, "--base", "nope", "-o", out, NULL);
    expect_bad("its targets are: old, new", good, "--candidate", "x", "-o", out, NULL);
    expect_bad("--noise 'old'", good, "--noise", "old", "-o", out, NULL);
    put("bad-rules.json", "{\n  \"ignore\": [\"/a\"],\n  \"ignroe\": []\n}\n");
    snprintf(msg, sizeof msg, "%s:3:3:", test_path(dir, "bad-rules.json"));
    expect_bad(msg, good, "--rules", test_path(dir, "bad-rules.json"), "-o", out, NULL);
    expect_bad("-o DIFF.json is required", good, NULL);
    expect_bad("--threshold-relative", good, "--threshold-relative", "x", "-o", out, NULL);

    /* a broken record: file and line */
    {
        char *text = test_read_file(good, NULL), *second = strchr(text, '\n') + 1;
        char *third = strchr(second, '\n') + 1;
        FILE *f = fopen(test_path(dir, "broken.jsonl"), "w");
        fwrite(text, 1, (size_t)(third - text), f);
        fputs("{\"type\":\"result\",\"tx\":9,\"request\":{\"method\":\"GET\",\"target\":\"/\"},"
              "\"targets\":{\"old\":{\"status\":\"x\"},\"new\":{\"status\":200}}}\n", f);
        fclose(f);
        free(text);
        snprintf(msg, sizeof msg, "%s:3: targets.old.status", test_path(dir, "broken.jsonl"));
        expect_bad(msg, test_path(dir, "broken.jsonl"), "-o", out, NULL);
        f = fopen(test_path(dir, "broken.jsonl"), "a");
        fclose(f);
        put("trunc.jsonl", "");
        text = test_read_file(good, NULL);
        second = strchr(text, '\n') + 1;
        f = fopen(test_path(dir, "trunc.jsonl"), "w");
        fwrite(text, 1, (size_t)(second - text), f);
        fputs("{\"type\":\"result\",\"tx\":1,\"request\":{\"method\":\"GET\",\"tar\n", f);
        fclose(f);
        free(text);
        snprintf(msg, sizeof msg, "%s:2:", test_path(dir, "trunc.jsonl"));
        expect_bad(msg, test_path(dir, "trunc.jsonl"), "-o", out, NULL);
    }
    /* the same transaction in two shards */
    expect_bad("transaction 1 was already read", good, good, "-o", out, NULL);
    /* shards of different replays */
    {
        struct rb *w = rb_open(test_path(dir, "other.jsonl"), "old,v3");
        rb_close(w);
        expect_bad("are not those of", good, test_path(dir, "other.jsonl"), "-o", out, NULL);
    }
    expect_bad("cannot open", test_path(dir, "missing.jsonl"), "-o", out, NULL);
}

Test(respdiff, rules_that_ignore_paths_and_headers_count_their_hits)
{
    const char *path = test_path(dir, "ign.jsonl");
    struct rb *w = rb_open(path, "old,new");
    for (int i = 1; i <= 8; i++) {
        char a[128], b[128], target[32];
        struct rb_response r[2];
        snprintf(a, sizeof a, "{\"data\": [{\"updated_at\": \"t%d\"}], \"id\": %d}", i, i);
        snprintf(b, sizeof b, "{\"data\": [{\"updated_at\": \"u%d\"}], \"id\": %d}", i, i);
        r[0] = ok_json(a);
        r[1] = ok_json(b);
        r[0].headers[0][0] = r[1].headers[0][0] = "Date";
        r[0].headers[0][1] = "Mon";
        r[1].headers[0][1] = "Tue";
        snprintf(target, sizeof target, i % 2 ? "/things/%d" : "/health", i);
        rb_add(w, (uint64_t)i, 1, "GET", target, r, NULL);
    }
    rb_close(w);
    const char *rules = put("ign.json", "{\"headers\": [\"*\"], \"ignore_headers\": [\"Date\"],\n"
                                        " \"ignore\": [\"/data/*/updated_at\", \"/never\"],\n"
                                        " \"endpoints\": {\"GET /health\": {\"ignore\": [\"\"]}}}");
    json_t *d = diff_of(path, 0, "--rules", rules, NULL);
    cr_assert_eq(rb_int(d, "totals.identical"), 8);
    /* rules in file order: headers, ignore_headers, ignore x2, endpoint ignore */
    cr_assert_str_eq(rb_str(d, "rules.1.kind"), "ignore_headers");
    cr_assert_eq(rb_int(d, "rules.1.hits"), 8);
    cr_assert_str_eq(rb_str(d, "rules.2.pattern"), "/data/*/updated_at");
    cr_assert_eq(rb_int(d, "rules.2.hits"), 4);
    cr_assert_eq(rb_int(d, "rules.3.hits"), 0);
    cr_assert_str_eq(rb_str(d, "rules.4.endpoint"), "GET /health");
    cr_assert_eq(rb_int(d, "rules.4.hits"), 4);
    json_decref(d);
}

/* Replace every occurrence of `from` in s by `to` (returns a new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    const char *p = s;
    char *out, *o;
    while ((p = strstr(p, from))) {
        n++;
        p += fl;
    }
    out = malloc(strlen(s) + n * tl + 1);
    for (o = out, p = s;;) {
        const char *hit = strstr(p, from);
        size_t k = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!hit)
            break;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    *o = '\0';
    return out;
}

Test(respdiff, the_realistic_input_gives_the_golden_diff_byte_for_byte)
{
    const char *golden_path = test_repo_path("tests/diff/realistic.DIFF.json");
    char out[4096], cmd[16384], *got, *golden, *a, *b, *created;
    char *bin = realpath(test_rehearse_bin(), NULL);
    struct run_result r;

    cr_assert_not_null(bin);
    snprintf(out, sizeof out, "%s/DIFF.json", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec '%s' diff realistic.results.jsonl --base old --candidate new "
             "--noise old2 --rules realistic.rules.json --redact-key redact.key -o '%s' -q",
             test_repo_path("tests/diff"), bin, out);
    free(bin);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    cr_assert_eq(test_run(&r, argv, 60), 0);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    test_run_free(&r);
    got = test_read_file(out, NULL);
    golden = test_read_file(golden_path, NULL);
    cr_assert_not_null(got);
    cr_assert_not_null(golden);
    /* as tests/diff/regen.sh normalises it */
    created = strstr(got, "\"created_us\": ");
    cr_assert_not_null(created);
    created += strlen("\"created_us\": ");
    memmove(created + 1, created + strspn(created, "0123456789"),
            strlen(created + strspn(created, "0123456789")) + 1);
    *created = '0';
    a = replace_all(got, out, "@OUT@");
    b = golden;
    cr_assert_str_eq(a, b, "DIFF.json differs from tests/diff/realistic.DIFF.json; if the "
                           "change is intended, run tests/diff/regen.sh and review the diff");
    free(a);
    free(got);
    free(golden);
}
