/*
 * resultsbuild.h — write crafted results files (docs/results-format.md) for
 * the response diff tests, through the real writer (replay/results.h), and
 * read the DIFF.json that `rehearse diff` makes of them.
 */
#ifndef REHEARSE_TEST_RESULTSBUILD_H
#define REHEARSE_TEST_RESULTSBUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "results.h"
#include "testutil.h"

/* What one target answered.  status 0: it failed with `error`. */
struct rb_response {
    int status;
    const char *content_type;     /* NULL: no Content-Type header */
    const char *content_encoding; /* NULL: none */
    const char *body;             /* NULL: empty */
    size_t body_len;              /* 0: strlen(body) */
    const char *headers[8][2];    /* more headers, until a NULL name */
    bool omitted;                 /* only size and sha256 kept */
    const char *sha256;           /* with omitted: the hash (64 hex) */
    uint64_t size;                /* with omitted: the size */
    enum result_error error;
    int64_t total_us;             /* 0: 1000 */
};

struct rb;

/* A results file with targets named in `targets`, comma-separated. */
struct rb *rb_open(const char *path, const char *targets);
/* One transaction: responses[i] for target i; captured may be NULL. */
void rb_add(struct rb *b, uint64_t tx, uint64_t conn, const char *method, const char *target,
            const struct rb_response *responses, const struct rb_response *captured);
void rb_close(struct rb *b);

/* data compressed as gzip (gzip=true) or zlib "deflate"; malloc'ed. */
char *rb_compress(const char *data, size_t len, bool gzip, size_t *out_len);
/* SHA-256 of data as 64 hex digits (static buffer). */
const char *rb_sha256(const void *data, size_t len);

/* Run `rehearse diff ARGS... --redact-key KEYFILE -o OUT` (NULL-ended
 * args before -o) with a fixed key written in dir; returns the exit code. */
int rb_diff(struct run_result *r, const char *dir, const char *out, ...);

/* Load a DIFF.json (aborts the test when it is not valid JSON). */
json_t *rb_load(const char *path);
/* The endpoint named `name` ("GET /users/{id}") or NULL. */
json_t *rb_endpoint(json_t *diff, const char *name);
/* A field of an endpoint by JSON path (or header name when header). */
json_t *rb_field(json_t *endpoint, const char *path, bool header);
/* Integer member by dotted path ("totals.compared"), -1 when absent. */
long long rb_int(json_t *obj, const char *dotted);
const char *rb_str(json_t *obj, const char *dotted);

#endif
