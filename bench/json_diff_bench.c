/*
 * json_diff_bench.c — JSON body diff throughput, built and run by
 * bench/diff.sh (not part of the product).
 *
 *   json_diff_bench OLD.jsonl NEW.jsonl [--rules RULES.json] [--jansson]
 *
 * Line i of each file is one response body.  Both files are read into
 * memory first (not timed); then every pair is parsed and diffed the way the
 * response diff does it: one jdoc per side and one result, reused.  Prints
 * pairs, bytes (both sides), differences, seconds and MB/s.  --jansson
 * instead parses both bodies with jansson and compares them with json_equal
 * (no diff at all): what an engine built on jansson's parser could at best do.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff_rules.h"
#include "jdoc.h"
#include "json_diff.h"

struct lines {
    char *text;
    size_t len;
    size_t *start, *end, count;
};

static void load(const char *path, struct lines *l)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 0;
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    l->len = (size_t)ftell(f);
    rewind(f);
    l->text = malloc(l->len + 1);
    if (!l->text || fread(l->text, 1, l->len, f) != l->len) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    fclose(f);
    l->count = 0;
    l->start = l->end = NULL;
    for (size_t i = 0; i < l->len;) {
        char *nl = memchr(l->text + i, '\n', l->len - i);
        size_t e = nl ? (size_t)(nl - l->text) : l->len;
        if (l->count == cap) {
            cap = cap ? cap * 2 : 1024;
            l->start = realloc(l->start, cap * sizeof *l->start);
            l->end = realloc(l->end, cap * sizeof *l->end);
        }
        l->start[l->count] = i;
        l->end[l->count++] = e;
        i = e + 1;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *rules_path = NULL;
    int use_jansson = 0;
    struct lines a, b;
    struct diff_rules *rules = NULL;
    struct jdiff_options opt = {NULL, 0};
    struct jdoc da, db;
    struct jdiff_result res;
    struct error err;
    unsigned long long diffs = 0, ignored = 0, differing = 0;
    size_t bytes = 0, n;
    double t0, t;

    if (argc < 3) {
        fprintf(stderr, "usage: json_diff_bench OLD.jsonl NEW.jsonl [--rules R] [--jansson]\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_path = argv[++i];
        else if (strcmp(argv[i], "--jansson") == 0)
            use_jansson = 1;
    }
    error_init(&err);
    if (rules_path) {
        if (diff_rules_load(&rules, rules_path, &err) ||
            !(opt.rules = diff_rules_json(rules, NULL, NULL, &err))) {
            fprintf(stderr, "%s\n", err.message);
            return 2;
        }
    }
    load(argv[1], &a);
    load(argv[2], &b);
    n = a.count < b.count ? a.count : b.count;
    jdoc_init(&da);
    jdoc_init(&db);
    jdiff_result_init(&res);

    t0 = now();
    for (size_t i = 0; i < n; i++) {
        const char *ta = a.text + a.start[i], *tb = b.text + b.start[i];
        size_t la = a.end[i] - a.start[i], lb = b.end[i] - b.start[i];
        bytes += la + lb;
        if (use_jansson) {
            json_error_t je;
            json_t *ja = json_loadb(ta, la, 0, &je), *jb = json_loadb(tb, lb, 0, &je);
            if (!ja || !jb) {
                fprintf(stderr, "line %zu: %s\n", i + 1, je.text);
                return 2;
            }
            differing += !json_equal(ja, jb);
            json_decref(ja);
            json_decref(jb);
            continue;
        }
        if (jdoc_parse(&da, ta, la, "old", NULL, &err) || jdoc_parse(&db, tb, lb, "new", NULL, &err) ||
            jdiff_docs(&res, &da, &db, &opt, &err)) {
            fprintf(stderr, "line %zu: %s\n", i + 1, err.message);
            return 2;
        }
        diffs += res.differences;
        ignored += res.ignored;
        differing += res.differences != 0;
    }
    t = now() - t0;
    printf("%s: %zu pairs, %.1f MB, %llu differing pairs, %llu differences, %llu ignored, "
           "%.3f s, %.1f MB/s\n",
           use_jansson ? "jansson parse + json_equal" : rules ? "rehearse diff with rules"
                                                          : "rehearse diff",
           n, bytes / 1e6, differing, diffs, ignored, t, bytes / 1e6 / t);
    jdiff_result_release(&res);
    jdoc_release(&da);
    jdoc_release(&db);
    diff_rules_free(rules);
    free(a.text);
    free(a.start);
    free(a.end);
    free(b.text);
    free(b.start);
    free(b.end);
    return 0;
}
