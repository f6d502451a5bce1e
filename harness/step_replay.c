/*
 * step_replay.c — replay a trace, or a slice of it, to named targets:
 *
 *     {"name": "baseline", "replay": {
 *         "trace": "traces/prod.jsonl", "from": "0s", "to": "10s", "speed": 4,
 *         "targets": {"old": "old", "new": "${link.new_http.url}"}}}
 *
 * A target is a service of the scenario (by name) or a URL (substitutions
 * allowed).  The replay engine (replay/replay.h) does the work; the step
 * keeps its results in steps/NAME/results.jsonl (docs/results-format.md,
 * what `rehearse diff` reads) and publishes, per target, the figures asserts
 * check: requests, transport errors, 5xx answers, the error rate and latency
 * percentiles.  A stopped run stops the replay: in-flight requests get the
 * engine's grace period and what completed is kept.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"
#include "replay.h"
#include "replay_options.h"
#include "run_control.h"
#include "step.h"
#include "step_replay.h"
#include "subst.h"
#include "supervisor.h"

#define URL_MAX 1024
#define RULES_MAX 256

struct replay_step_target {
    char name[SCENARIO_NAME_MAX + 1];
    int service;               /* a service of the scenario, or -1 */
    struct subst *url;         /* else a URL template */
};

struct replay_step {
    struct subst *trace;       /* path template (relative: to the scenario's directory) */
    char *capture;             /* or the trace of this capture step */
    struct replay_step_target targets[RESULTS_MAX_TARGETS];
    size_t target_count;
    char *from, *to;           /* slice bounds as written */
    double sample;             /* 100: every connection */
    double speed;              /* 0: "max" */
    char *speed_text;
    double rate;
    unsigned concurrency, workers;
    uint64_t limit;
    char *filters[2][SELECTION_MAX_RULES]; /* include, exclude */
    size_t filter_count[2];
    bool keep_host, allow_public;
    struct replay_rule_text rules[RULES_MAX];
    size_t rule_count;
    int64_t timeout_us, connect_timeout_us; /* 0: the engine's defaults */
};

static const char *const replay_keys[] = {
    "trace", "capture", "targets", "from", "to", "speed", "rate", "concurrency", "limit", "sample",
    "include", "exclude", "keep_host", "rewrites", "timeout", "connect_timeout", "workers",
    "allow_public_target", NULL};

/* Per-step measures; per-target ones (replay.STEP.TARGET.MEASURE) are
 * declared by the parser, since the targets are known then. */
static const char *const replay_measures[] = {"transactions", "skipped", "unfinished", NULL};
static const char *const target_measures[] = {"requests", "errors", "status_4xx", "status_5xx",
                                              "failed", "error_rate", "p50_ms", "p90_ms",
                                              "p99_ms", "max_ms", NULL};

static void free_replay(void *data)
{
    struct replay_step *r = data;
    if (!r)
        return;
    subst_free(r->trace);
    free(r->capture);
    for (size_t i = 0; i < r->target_count; i++)
        subst_free(r->targets[i].url);
    free(r->from);
    free(r->to);
    free(r->speed_text);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < r->filter_count[k]; i++)
            free(r->filters[k][i]);
    for (size_t i = 0; i < r->rule_count; i++)
        free((char *)r->rules[i].text);
    free(r);
}

/* The replay library words its messages for `rehearse replay`
 * ("--include: '...': ..."); a scenario has no options: drop the prefix. */
static const char *without_option(const char *message)
{
    const char *colon = strstr(message, ": ");
    return strncmp(message, "--", 2) == 0 && colon ? colon + 2 : message;
}

static bool target_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > SCENARIO_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return false;
    return true;
}

static void parse_targets(struct scenario_parser *p, struct replay_step *r, const json_t *v,
                          const char *pointer)
{
    const struct scenario *s = scenario_parser_scenario(p);
    char ptr[SCENARIO_POINTER_MAX], found[96];
    const char *key;
    json_t *value;

    if (!v) {
        scenario_error(p, pointer,
                       "missing \"targets\": an object of NAME: service or URL, e.g. {\"old\": "
                       "\"old\", \"new\": \"${service.new.url}\"}");
        return;
    }
    scenario_pointer(ptr, sizeof ptr, pointer, "targets");
    if (!json_is_object(v) || json_object_size(v) == 0) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr, "expected an object of NAME: service or URL, found %s",
                       json_is_object(v) ? "an empty object" : found);
        return;
    }
    if (json_object_size(v) > RESULTS_MAX_TARGETS) {
        scenario_error(p, ptr, "at most %d targets, found %zu", RESULTS_MAX_TARGETS,
                       json_object_size(v));
        return;
    }
    json_object_foreach((json_t *)v, key, value) {
        char item[SCENARIO_POINTER_MAX];
        struct replay_step_target *t = &r->targets[r->target_count];
        scenario_pointer(item, sizeof item, ptr, key);
        if (!target_name_ok(key)) {
            scenario_error(p, item,
                           "expected a target name of 1 to %d letters, digits, '_' or '-' (it "
                           "becomes part of metric names such as replay.STEP.%s.error_rate), "
                           "found \"%s\"",
                           SCENARIO_NAME_MAX, "NAME", key);
            continue;
        }
        if (!json_is_string(value)) {
            scenario_describe(value, found, sizeof found);
            scenario_error(p, item, "expected a service name or a URL, found %s", found);
            continue;
        }
        snprintf(t->name, sizeof t->name, "%s", key);
        t->service = scenario_find_service(s, json_string_value(value));
        if (t->service < 0) {
            const char *text = json_string_value(value);
            if (!strstr(text, "://") && !strstr(text, "${")) {
                scenario_ref_service(p, item, text); /* says which services exist */
                continue;
            }
            if (!(t->url = scenario_template(p, value, item,
                                             SUBST_ALLOW_SERVICE | SUBST_ALLOW_LINK |
                                                 SUBST_ALLOW_ENV)))
                continue;
            if (subst_is_literal(t->url)) {
                struct replay_target check;
                struct error err;
                char spec[URL_MAX + 80];
                error_init(&err);
                snprintf(spec, sizeof spec, "%s=%s", key, t->url->source);
                if (target_parse(spec, &check, &err)) {
                    scenario_error(p, item, "%s", without_option(err.message));
                    subst_free(t->url); /* the slot is not kept: the next target reuses it */
                    t->url = NULL;
                    continue;
                }
            }
        }
        r->target_count++;
    }
}

static void parse_strings(struct scenario_parser *p, const json_t *obj, const char *pointer,
                          const char *key, char **out, size_t *count, size_t max,
                          bool (*check)(struct scenario_parser *, const char *, const char *))
{
    const json_t *v = json_object_get(obj, key);
    char ptr[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], found[96];

    if (!v)
        return;
    scenario_pointer(ptr, sizeof ptr, pointer, key);
    if (json_is_string(v)) {
        if (check(p, ptr, json_string_value(v)))
            out[(*count)++] = strdup(json_string_value(v));
        return;
    }
    if (!json_is_array(v) || json_array_size(v) > max) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr, "expected a string or an array of at most %zu strings, found %s",
                       max, found);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *s = json_array_get(v, i);
        scenario_pointer_index(item, sizeof item, ptr, i);
        if (!json_is_string(s)) {
            scenario_describe(s, found, sizeof found);
            scenario_error(p, item, "expected a string, found %s", found);
        } else if (check(p, item, json_string_value(s))) {
            out[(*count)++] = strdup(json_string_value(s));
        }
    }
}

static bool check_filter(struct scenario_parser *p, const char *pointer, const char *text)
{
    struct selection sel;
    struct error err;
    bool ok;
    selection_init(&sel);
    error_init(&err);
    ok = selection_add_filter(&sel, true, text, &err) == 0;
    if (!ok)
        scenario_error(p, pointer, "%s", without_option(err.message));
    selection_release(&sel);
    return ok;
}

static bool parse_bound(struct scenario_parser *p, const json_t *obj, const char *pointer,
                        const char *key, char **out)
{
    const json_t *v = json_object_get(obj, key);
    char ptr[SCENARIO_POINTER_MAX], found[96], option[16];
    struct bound b;
    struct error err;
    int64_t us;

    if (!v)
        return true;
    scenario_pointer(ptr, sizeof ptr, pointer, key);
    snprintf(option, sizeof option, "--%s", key);
    if (!json_is_string(v)) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr,
                       "expected an offset from the trace start such as \"10s\", a capture time "
                       "\"@MICROSECONDS\" or a transaction id \"#ID\", found %s",
                       found);
        return false;
    }
    const char *text = json_string_value(v);
    /* Offsets need a unit, as every duration of a scenario. */
    if (text[0] != '@' && text[0] != '#' && !scenario_parse_duration(p, v, ptr, &us))
        return false;
    error_init(&err);
    if (bound_parse(option, text, &b, &err)) {
        scenario_error(p, ptr, "%s", without_option(err.message));
        return false;
    }
    *out = strdup(text);
    return true;
}

static void parse_rewrites(struct scenario_parser *p, struct replay_step *r, const json_t *v,
                           const char *pointer)
{
    static const char *const kinds[] = {"set_header", "remove_header", "rewrite_path", NULL};
    struct replay_target names[RESULTS_MAX_TARGETS];
    char ptr[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], found[96];

    if (!v)
        return;
    scenario_pointer(ptr, sizeof ptr, pointer, "rewrites");
    if (!json_is_array(v) || json_array_size(v) > RULES_MAX) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr,
                       "expected an array of rewrites such as {\"set_header\": \"Authorization: "
                       "Bearer ${STAGING_TOKEN}\"}, found %s",
                       found);
        return;
    }
    memset(names, 0, sizeof names);
    for (size_t i = 0; i < r->target_count; i++)
        snprintf(names[i].name, sizeof names[i].name, "%s", r->targets[i].name);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *o = json_array_get(v, i);
        const char *text = NULL;
        int kind = -1;
        scenario_pointer_index(item, sizeof item, ptr, i);
        if (!scenario_check_object(p, o, item, kinds, "a rewrite") || json_object_size(o) != 1) {
            if (json_is_object(o) && json_object_size(o) != 1)
                scenario_error(p, item,
                               "expected exactly one of \"set_header\", \"remove_header\", "
                               "\"rewrite_path\" per rewrite (they apply in order)");
            continue;
        }
        for (int k = 0; kinds[k]; k++)
            if (json_object_get(o, kinds[k]))
                kind = k;
        if (!scenario_get_string(p, o, item, kinds[kind], true, &text) || !text)
            continue;
        /* Check it now, as the run will build it. */
        struct rewrite_rules check;
        struct replay_rule_text rule = {(enum replay_rule_kind)kind, text};
        struct error err;
        char sub[SCENARIO_POINTER_MAX];
        rewrite_init(&check);
        error_init(&err);
        scenario_pointer(sub, sizeof sub, item, kinds[kind]);
        if (replay_rules_add(&check, &rule, 1, names, r->target_count, &err))
            scenario_error(p, sub, "%s", without_option(err.message));
        else
            r->rules[r->rule_count++] = (struct replay_rule_text){rule.kind, strdup(text)};
        rewrite_release(&check);
    }
}

static bool parse_replay(struct scenario_parser *p, struct step *step, const json_t *value,
                         const char *pointer)
{
    struct replay_step *r = calloc(1, sizeof *r);
    char ptr[SCENARIO_POINTER_MAX], found[96];
    long long n;
    bool ok;

    if (!r)
        return false;
    step->data = r;
    r->sample = 100;
    r->speed = 1;
    ok = scenario_check_object(p, value, pointer, replay_keys, "a replay");
    if (!json_is_object(value))
        return false;

    const json_t *trace = json_object_get(value, "trace");
    const char *capture = NULL;
    scenario_pointer(ptr, sizeof ptr, pointer, "trace");
    if (json_object_get(value, "capture")) {
        const struct step *other;
        scenario_pointer(ptr, sizeof ptr, pointer, "capture");
        if (trace) {
            scenario_error(p, ptr, "\"trace\" and \"capture\" exclude each other: replay a "
                                   "trace file or the trace of a capture step");
            ok = false;
        } else if (scenario_get_string(p, value, pointer, "capture", true, &capture) && capture) {
            other = scenario_find_step(p, capture);
            if (!other || !other->kind || strcmp(other->kind->name, "capture") != 0) {
                scenario_error(p, ptr,
                               "expected the name of a capture step before this one, found "
                               "\"%s\"%s",
                               capture, other ? " (not a capture step)" : "");
                ok = false;
            } else {
                r->capture = strdup(capture);
            }
        } else {
            ok = false;
        }
    } else if (!trace) {
        scenario_error(p, pointer, "missing \"trace\": the trace file to replay (a path, or "
                                   "${run_dir}/... for one made during the run), or \"capture\": "
                                   "a capture step");
        ok = false;
    } else if ((r->trace = scenario_template(p, trace, ptr, SUBST_ALLOW_DIRS | SUBST_ALLOW_ENV))) {
        if (subst_is_literal(r->trace) && !scenario_input_file(p, ptr, r->trace->source))
            ok = false;
    } else {
        ok = false;
    }
    parse_targets(p, r, json_object_get(value, "targets"), pointer);

    ok = parse_bound(p, value, pointer, "from", &r->from) && ok;
    ok = parse_bound(p, value, pointer, "to", &r->to) && ok;

    const json_t *speed = json_object_get(value, "speed");
    scenario_pointer(ptr, sizeof ptr, pointer, "speed");
    if (speed && json_is_string(speed) && strcmp(json_string_value(speed), "max") == 0) {
        r->speed = 0;
        r->speed_text = strdup("max");
    } else if (speed && (!json_is_number(speed) || json_number_value(speed) <= 0)) {
        scenario_describe(speed, found, sizeof found);
        scenario_error(p, ptr,
                       "expected a number above 0 (times the captured speed) or \"max\", found %s",
                       found);
        ok = false;
    } else if (speed) {
        r->speed = json_number_value(speed);
    }
    if (scenario_get_number(p, value, pointer, "rate", false, &r->rate) && r->rate < 0) {
        scenario_pointer(ptr, sizeof ptr, pointer, "rate");
        scenario_error(p, ptr, "expected requests per second above 0, found %g", r->rate);
        ok = false;
    }
    if (speed && json_object_get(value, "rate")) {
        scenario_pointer(ptr, sizeof ptr, pointer, "rate");
        scenario_error(p, ptr, "\"rate\" and \"speed\" exclude each other: a rate sets its own "
                               "timing");
        ok = false;
    }
    if (json_object_get(value, "sample")) {
        scenario_pointer(ptr, sizeof ptr, pointer, "sample");
        if (scenario_get_number(p, value, pointer, "sample", false, &r->sample) &&
            (r->sample <= 0 || r->sample > 100)) {
            scenario_error(p, ptr, "expected a percentage of connections above 0 and at most "
                                   "100, found %g",
                           r->sample);
            ok = false;
        }
    }
    n = 0;
    if (scenario_get_int(p, value, pointer, "concurrency", 1, 1000000, false, &n))
        r->concurrency = (unsigned)n;
    n = 0;
    if (scenario_get_int(p, value, pointer, "workers", 1, 256, false, &n))
        r->workers = (unsigned)n;
    n = 0;
    if (scenario_get_int(p, value, pointer, "limit", 1, LLONG_MAX, false, &n))
        r->limit = (uint64_t)n;
    parse_strings(p, value, pointer, "include", r->filters[0], &r->filter_count[0],
                  SELECTION_MAX_RULES, check_filter);
    parse_strings(p, value, pointer, "exclude", r->filters[1], &r->filter_count[1],
                  SELECTION_MAX_RULES, check_filter);
    scenario_get_bool(p, value, pointer, "keep_host", &r->keep_host);
    scenario_get_bool(p, value, pointer, "allow_public_target", &r->allow_public);
    parse_rewrites(p, r, json_object_get(value, "rewrites"), pointer);
    scenario_get_duration(p, value, pointer, "timeout", false, &r->timeout_us);
    scenario_get_duration(p, value, pointer, "connect_timeout", false, &r->connect_timeout_us);

    /* The per-target metrics this step will publish. */
    if (step->name) {
        for (size_t i = 0; i < r->target_count; i++)
            for (size_t m = 0; target_measures[m]; m++) {
                char name[METRIC_NAME_MAX];
                snprintf(name, sizeof name, "replay.%s.%s.%s", step->name, r->targets[i].name,
                         target_measures[m]);
                scenario_declare_metric(p, name);
            }
    }
    return ok;
}

/* ---- running ------------------------------------------------------------- */

static int build_config(struct step_run *run, const struct replay_step *r,
                        struct replay_config *c, struct selection *sel,
                        struct rewrite_rules *rules, char *trace, size_t trace_size,
                        struct error *err)
{
    const struct scenario *s = step_run_scenario(run);
    struct buf b;
    int rc;

    if (r->capture) {
        step_run_step_dir(run, r->capture, trace, trace_size);
        strncat(trace, "/trace.jsonl", trace_size - strlen(trace) - 1);
    } else {
        buf_init(&b, PATH_MAX);
        if ((rc = step_run_expand(run, r->trace, &b, err))) {
            buf_release(&b);
            return rc;
        }
        if (b.data[0] == '/')
            snprintf(trace, trace_size, "%s", b.data);
        else
            snprintf(trace, trace_size, "%s/%s", s->dir, b.data);
        buf_release(&b);
    }
    if (access(trace, R_OK) != 0)
        return error_errno(err, ERR_INPUT, errno, "cannot read the trace '%s'", trace);

    for (size_t i = 0; i < r->target_count; i++) {
        const struct replay_step_target *t = &r->targets[i];
        char spec[URL_MAX + 80];
        buf_init(&b, URL_MAX);
        if (t->service >= 0) {
            char url[64];
            supervisor_url(step_run_supervisor(run), t->service, url, sizeof url);
            rc = buf_append_str(&b, url) ? ERR_TOOBIG : 0;
        } else {
            rc = step_run_expand(run, t->url, &b, err);
        }
        if (!rc) {
            snprintf(spec, sizeof spec, "%s=%s", t->name, b.data);
            rc = target_parse(spec, &c->targets[i], err);
            if (!rc)
                rc = target_resolve(&c->targets[i], r->allow_public, err);
            if (rc)
                error_prefix(err, "target '%s'", t->name);
        }
        buf_release(&b);
        if (rc)
            return rc == ERR_USAGE ? ERR_INPUT : rc;
    }
    c->target_count = r->target_count;

    if (r->from && (rc = bound_parse("from", r->from, &sel->from, err)))
        return rc;
    if (r->to && (rc = bound_parse("to", r->to, &sel->to, err)))
        return rc;
    if (r->sample < 100 && (rc = selection_set_sample(sel, r->sample, err)))
        return rc;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < r->filter_count[k]; i++)
            if ((rc = selection_add_filter(sel, k == 0, r->filters[k][i], err)))
                return rc;
    rules->keep_host = r->keep_host;
    if ((rc = replay_rules_add(rules, r->rules, r->rule_count, c->targets, c->target_count, err)))
        return rc;

    c->trace_path = trace;
    c->selection = sel;
    c->rules = rules;
    c->limit = r->limit;
    c->speed = r->rate > 0 ? 0 : r->speed;
    c->rate = r->rate;
    c->concurrency = r->concurrency;
    c->workers = r->workers;
    if (r->timeout_us)
        c->timeout_us = r->timeout_us;
    if (r->connect_timeout_us)
        c->connect_timeout_us = r->connect_timeout_us;
    return 0;
}

static double ms_of(uint64_t us)
{
    return (double)us / 1000.0;
}

/* Publish the figures and describe the outcome in the journal. */
static void record(struct step_run *run, const struct step *step, const struct replay_config *c,
                   const struct replay_report *rep, const char *results)
{
    static const char *const classes[REPLAY_STATUS_CLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx",
                                                               "other"};
    json_t *targets = json_object(), *skipped = json_object();
    uint64_t skipped_total = 0;
    char name[METRIC_NAME_MAX];

    for (int i = 0; i < SKIP_COUNT; i++) {
        skipped_total += rep->skipped[i];
        if (rep->skipped[i])
            json_object_set_new(skipped, skip_reason_name(i), json_integer((json_int_t)rep->skipped[i]));
    }
    for (size_t t = 0; t < rep->target_count; t++) {
        const struct replay_target_report *tr = &rep->targets[t];
        uint64_t failed = tr->error_total + tr->status[4];
        double rate = tr->requests ? (double)failed / (double)tr->requests : 0;
        json_t *errors = json_object(), *status = json_object();
        const struct {
            const char *measure;
            double value;
        } figures[] = {
            {"requests", (double)tr->requests}, {"errors", (double)tr->error_total},
            {"status_4xx", (double)tr->status[3]}, {"status_5xx", (double)tr->status[4]},
            {"failed", (double)failed}, {"error_rate", rate},
            {"p50_ms", ms_of(tr->latency_p50)}, {"p90_ms", ms_of(tr->latency_p90)},
            {"p99_ms", ms_of(tr->latency_p99)}, {"max_ms", ms_of(tr->latency_max)},
        };
        for (size_t m = 0; m < sizeof figures / sizeof figures[0]; m++) {
            snprintf(name, sizeof name, "replay.%s.%s.%s", step->name, tr->name,
                     figures[m].measure);
            step_run_metric_named(run, name, figures[m].value);
        }
        for (int e = 1; e < RESULT_ERROR_COUNT; e++)
            if (tr->errors[e])
                json_object_set_new(errors, result_error_name(e),
                                    json_integer((json_int_t)tr->errors[e]));
        for (int k = 0; k < REPLAY_STATUS_CLASSES; k++)
            if (tr->status[k])
                json_object_set_new(status, classes[k], json_integer((json_int_t)tr->status[k]));
        json_object_set_new(
            targets, tr->name,
            json_pack("{s:s, s:I, s:o, s:o, s:f, s:{s:f, s:f, s:f, s:f}, s:I}", "url",
                      c->targets[t].url, "requests", (json_int_t)tr->requests, "errors", errors,
                      "status", status, "error_rate", rate, "latency_ms", "p50",
                      ms_of(tr->latency_p50), "p90", ms_of(tr->latency_p90), "p99",
                      ms_of(tr->latency_p99), "max", ms_of(tr->latency_max), "connections",
                      (json_int_t)tr->connections));
    }
    step_run_metric(run, "transactions", (double)rep->replayed);
    step_run_metric(run, "skipped", (double)skipped_total);
    step_run_metric(run, "unfinished", (double)rep->unfinished);
    step_run_output(run, "trace", json_string(c->trace_path));
    step_run_output(run, "results", json_string(results));
    step_run_output(run, "transactions",
                    json_pack("{s:I, s:I, s:I, s:o}", "read", (json_int_t)rep->read, "replayed",
                              (json_int_t)rep->replayed, "unfinished",
                              (json_int_t)rep->unfinished, "skipped", skipped));
    step_run_output(run, "targets", targets);
    step_run_output(run, "stop_reason", json_string(replay_stop_name(rep->stop)));
    step_run_output(run, "duration_ms", json_real(ms_of((uint64_t)rep->duration_us)));
}

/* Wait for the replay to end, stopping it when the run stops. */
static bool wait_replay(struct step_run *run, struct replay *rp)
{
    bool stopped = false;
    for (;;) {
        struct pollfd fds[2] = {{replay_done_fd(rp), POLLIN, 0},
                                {run_control_fd(step_run_control(run)), POLLIN, 0}};
        int n = poll(fds, stopped ? 1 : 2, -1);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (fds[0].revents & POLLIN))
            break;
        if (!stopped && n > 0 && (fds[1].revents & POLLIN)) {
            replay_stop(rp); /* in-flight requests get the grace period */
            stopped = true;
        }
    }
    return stopped;
}

static enum step_status run_replay(struct step_run *run, const struct step *step)
{
    const struct replay_step *r = step->data;
    struct replay_config *c = calloc(1, sizeof *c);
    struct replay_report *rep = calloc(1, sizeof *rep);
    struct selection sel;
    struct rewrite_rules rules;
    struct replay *rp = NULL;
    struct buf opts;
    struct error err;
    char dir[PATH_MAX], results[PATH_MAX + 16], trace[PATH_MAX];
    enum step_status status = STEP_OK;
    sigset_t block, old;
    bool stopped;
    int rc;

    error_init(&err);
    selection_init(&sel);
    rewrite_init(&rules);
    buf_init(&opts, 1 << 20);
    if (!c || !rep) {
        status = step_run_fail(run, STEP_ERROR, "out of memory");
        goto out;
    }
    replay_config_init(c);
    if ((rc = build_config(run, r, c, &sel, &rules, trace, sizeof trace, &err))) {
        status = step_run_fail(run, STEP_ERROR, "%s", err.message);
        goto out;
    }
    if ((rc = step_run_dir(run, dir, sizeof dir, &err))) {
        status = step_run_fail(run, STEP_ERROR, "%s", err.message);
        goto out;
    }
    snprintf(results, sizeof results, "%s/results.jsonl", dir);
    c->results_path = results;
    struct replay_options_text text = {
        .from = r->from, .to = r->to,
        .include = (const char *const *)r->filters[0], .include_count = r->filter_count[0],
        .exclude = (const char *const *)r->filters[1], .exclude_count = r->filter_count[1],
        .rules = r->rules, .rule_count = r->rule_count,
    };
    if (replay_options_json(&opts, c, &sel, &text)) {
        status = step_run_fail(run, STEP_ERROR, "the replay options are too long to record");
        goto out;
    }
    c->options_json = opts.data;

    /* The engine's threads inherit this mask: signals stay with the
     * runner's threads, whose handler stops the run (and so this replay). */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = replay_start(&rp, c, &err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        status = step_run_fail(run, STEP_ERROR, "%s", err.message);
        goto out;
    }
    stopped = wait_replay(run, rp);
    rc = replay_finish(rp, rep, &err);
    snprintf(results, sizeof results, "steps/%s/results.jsonl", step->name);
    record(run, step, c, rep, results); /* as the run directory names it */
    if (rc)
        status = step_run_fail(run, STEP_ERROR, "%s", err.message);
    else if (stopped || rep->stop == REPLAY_STOP_SIGNAL)
        status = STEP_INTERRUPTED;
out:
    buf_release(&opts);
    rewrite_release(&rules);
    selection_release(&sel);
    free(rep);
    free(c);
    return status;
}

bool step_replay_has_target(const struct step *replay, const char *name)
{
    const struct replay_step *r = replay->data;
    for (size_t i = 0; r && i < r->target_count; i++)
        if (strcmp(r->targets[i].name, name) == 0)
            return true;
    return false;
}

const struct step_kind step_kind_replay = {
    .name = "replay",
    .summary = "replay a trace or a slice of it to targets",
    .measures = replay_measures,
    .parse = parse_replay,
    .run = run_replay,
    .free = free_replay,
};
