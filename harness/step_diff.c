/*
 * step_diff.c — diff what the targets of replay steps answered:
 *
 *     {"name": "compare", "diff": {"replay": "rest", "base": "old", "candidate": "new",
 *                                  "noise": "old2", "rules": "demo-rules.json"}}
 *
 * The response diff (reports/respdiff.h, what `rehearse diff` runs) reads
 * the results the replay steps kept, compares base and candidate
 * transaction by transaction, cancels the noise the noise reference shows,
 * and writes steps/NAME/diff.json (docs/diff-format.md) — the DIFF.json the
 * run's reports render.  Regressions are a finding: the step fails (exit 1)
 * and, like an assert, the run goes on.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diff_rules.h"
#include "step_diff.h"
#include "step_replay.h"

#define DIFF_REPLAYS_MAX 16

struct diff_step {
    char *replays[DIFF_REPLAYS_MAX];
    size_t replay_count;
    char *base, *candidate, *noise;
    const char *rules;          /* absolute, owned by the scenario; or NULL */
    struct dstats_thresholds thresholds;
};

static const char *const diff_keys[] = {"replay", "base", "candidate", "noise", "rules",
                                        "thresholds", NULL};
static const char *const threshold_keys[] = {"relative", "absolute", "status", "error_rate",
                                             "latency_p99_ratio", NULL};
static const char *const diff_measures[] = {"regressions", "endpoints_regressed", "compared",
                                            "different_after_noise", "status_mismatches",
                                            NULL};

static void free_diff(void *data)
{
    struct diff_step *d = data;
    if (!d)
        return;
    for (size_t i = 0; i < d->replay_count; i++)
        free(d->replays[i]);
    free(d->base);
    free(d->candidate);
    free(d->noise);
    free(d);
}

static void parse_replays(struct scenario_parser *p, struct diff_step *d, const json_t *v,
                          const char *pointer)
{
    char ptr[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], found[96];
    size_t n = json_is_array(v) ? json_array_size(v) : 1;

    scenario_pointer(ptr, sizeof ptr, pointer, "replay");
    if (!v) {
        scenario_error(p, pointer, "missing \"replay\": the replay step (or an array of them) "
                                   "whose results to diff");
        return;
    }
    if ((!json_is_string(v) && !json_is_array(v)) || n == 0 || n > DIFF_REPLAYS_MAX) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr, "expected the name of a replay step or an array of 1 to %d, "
                               "found %s",
                       DIFF_REPLAYS_MAX, found);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
        const struct step *replay;
        if (json_is_array(v))
            scenario_pointer_index(item, sizeof item, ptr, i);
        else
            snprintf(item, sizeof item, "%s", ptr);
        if (!json_is_string(s)) {
            scenario_describe(s, found, sizeof found);
            scenario_error(p, item, "expected the name of a replay step, found %s", found);
            continue;
        }
        replay = scenario_find_step(p, json_string_value(s));
        if (!replay || !replay->kind || strcmp(replay->kind->name, "replay") != 0) {
            scenario_error(p, item, "expected the name of a replay step before this one, found "
                                    "\"%s\"%s",
                           json_string_value(s), replay ? " (not a replay step)" : "");
            continue;
        }
        d->replays[d->replay_count++] = strdup(json_string_value(s));
    }
}

/* A target name every replay of the diff sends to. */
static bool parse_target(struct scenario_parser *p, const json_t *v, const char *pointer,
                         const char *key, bool required, char **out)
{
    const char *name = NULL;
    char ptr[SCENARIO_POINTER_MAX];

    if (!scenario_get_string(p, v, pointer, key, required, &name) || !name)
        return !required;
    scenario_pointer(ptr, sizeof ptr, pointer, key);
    const json_t *list = json_object_get(v, "replay");
    size_t n = json_is_array(list) ? json_array_size(list) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(list) ? json_array_get(list, i) : list;
        const struct step *replay = json_is_string(s) ? scenario_find_step(p, json_string_value(s))
                                                      : NULL;
        if (replay && replay->kind && strcmp(replay->kind->name, "replay") == 0 &&
            !step_replay_has_target(replay, name)) {
            scenario_error(p, ptr, "replay step \"%s\" has no target \"%s\"", replay->name,
                           name);
            return false;
        }
    }
    *out = strdup(name);
    return true;
}

static bool parse_thresholds(struct scenario_parser *p, struct diff_step *d, const json_t *v,
                             const char *pointer)
{
    char ptr[SCENARIO_POINTER_MAX];
    double *fields[] = {&d->thresholds.relative, &d->thresholds.absolute, &d->thresholds.status,
                        &d->thresholds.error_rate, &d->thresholds.latency_p99_ratio};
    bool ok;

    if (!v)
        return true;
    scenario_pointer(ptr, sizeof ptr, pointer, "thresholds");
    ok = scenario_check_object(p, v, ptr, threshold_keys, "the diff's thresholds");
    for (size_t i = 0; threshold_keys[i]; i++) {
        double value;
        if (!json_object_get(v, threshold_keys[i]))
            continue;
        if (!scenario_get_number(p, v, ptr, threshold_keys[i], false, &value))
            ok = false;
        else if (value < 0) {
            char sub[SCENARIO_POINTER_MAX];
            scenario_pointer(sub, sizeof sub, ptr, threshold_keys[i]);
            scenario_error(p, sub, "expected a threshold of 0 or more, found %g", value);
            ok = false;
        } else {
            *fields[i] = value;
        }
    }
    return ok;
}

static bool parse_diff(struct scenario_parser *p, struct step *step, const json_t *value,
                       const char *pointer)
{
    struct diff_step *d = calloc(1, sizeof *d);
    const char *rules = NULL;
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;

    if (!d)
        return false;
    step->data = d;
    dstats_thresholds_default(&d->thresholds);
    ok = scenario_check_object(p, value, pointer, diff_keys, "a diff");
    if (!json_is_object(value))
        return false;
    parse_replays(p, d, json_object_get(value, "replay"), pointer);
    ok = parse_target(p, value, pointer, "base", true, &d->base) && ok;
    ok = parse_target(p, value, pointer, "candidate", true, &d->candidate) && ok;
    ok = parse_target(p, value, pointer, "noise", false, &d->noise) && ok;
    if (scenario_get_string(p, value, pointer, "rules", false, &rules) && rules) {
        scenario_pointer(ptr, sizeof ptr, pointer, "rules");
        if ((d->rules = scenario_input_file(p, ptr, rules))) {
            struct diff_rules *check = NULL;
            struct error err;
            error_init(&err);
            /* Read now: a bad rules file is reported before anything starts. */
            if (diff_rules_load(&check, d->rules, &err)) {
                scenario_error(p, ptr, "%s", err.message);
                ok = false;
            }
            diff_rules_free(check);
        } else {
            ok = false;
        }
    }
    ok = parse_thresholds(p, d, json_object_get(value, "thresholds"), pointer) && ok;
    return ok && d->replay_count > 0;
}

int step_diff_write(const struct step *step, const char *run_dir, const char *output,
                    struct respdiff_result *res, struct error *err)
{
    const struct diff_step *d = step->data;
    char *paths[DIFF_REPLAYS_MAX], *argv[DIFF_REPLAYS_MAX + 12];
    struct respdiff_options o;
    size_t n = 0;
    int argc = 0, rc;

    for (size_t i = 0; i < d->replay_count; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/steps/%s/results.jsonl", run_dir, d->replays[i]) < 0)
            continue;
        /* A replay that never started left nothing to compare. */
        if (access(path, R_OK) == 0)
            paths[n++] = path;
        else
            free(path);
    }
    if (n == 0)
        return error_set(err, ERR_INPUT,
                         "no results to diff: replay step '%s' did not run", d->replays[0]);
    respdiff_options_init(&o);
    o.results = (const char *const *)paths;
    o.nresults = n;
    o.base = d->base;
    o.candidate = d->candidate;
    o.noise = d->noise;
    o.rules_path = d->rules;
    o.thresholds = d->thresholds;
    o.output = output;
    /* How to make the same DIFF.json by hand, for the reports. */
    argv[argc++] = "diff";
    for (size_t i = 0; i < n; i++)
        argv[argc++] = paths[i];
    argv[argc++] = "--base";
    argv[argc++] = d->base;
    argv[argc++] = "--candidate";
    argv[argc++] = d->candidate;
    if (d->noise) {
        argv[argc++] = "--noise";
        argv[argc++] = d->noise;
    }
    if (d->rules) {
        argv[argc++] = "--rules";
        argv[argc++] = (char *)d->rules;
    }
    argv[argc++] = "-o";
    argv[argc++] = (char *)output;
    argv[argc] = NULL;
    o.argc = argc;
    o.argv = argv;
    rc = respdiff_run(&o, res, err);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    return rc;
}

/* Count what the DIFF.json says, for the metrics. */
static void publish(struct step_run *run, const char *path)
{
    json_t *doc = json_load_file(path, 0, NULL), *e;
    json_t *totals = json_object_get(doc, "totals");
    size_t i, regressed = 0;

    json_array_foreach(json_object_get(doc, "endpoints"), i, e)
        regressed += json_is_true(json_object_get(e, "regression"));
    step_run_metric(run, "regressions",
                    (double)json_array_size(json_object_get(json_object_get(doc, "verdict"),
                                                            "reasons")));
    step_run_metric(run, "endpoints_regressed", (double)regressed);
    step_run_metric(run, "compared", json_number_value(json_object_get(totals, "compared")));
    step_run_metric(run, "different_after_noise",
                    json_number_value(json_object_get(totals, "different_after_noise")));
    step_run_metric(run, "status_mismatches",
                    json_number_value(json_object_get(totals, "status_mismatches")));
    step_run_output(run, "totals", json_incref(totals));
    json_decref(doc);
}

static enum step_status run_diff(struct step_run *run, const struct step *step)
{
    struct respdiff_result res;
    struct error err;
    char dir[PATH_MAX], path[PATH_MAX + 16], run_dir[PATH_MAX];
    int rc;

    error_init(&err);
    memset(&res, 0, sizeof res);
    if ((rc = step_run_dir(run, dir, sizeof dir, &err)))
        return step_run_fail(run, STEP_ERROR, "%s", err.message);
    snprintf(path, sizeof path, "%s/diff.json", dir);
    snprintf(run_dir, sizeof run_dir, "%s", step_run_run_dir(run));
    if ((rc = step_diff_write(step, run_dir, path, &res, &err)))
        return step_run_fail(run, rc == ERR_IO || rc == ERR_NOMEM ? STEP_ERROR : STEP_FAILED,
                             "%s", err.message);
    publish(run, path);
    snprintf(path, sizeof path, "steps/%s/diff.json", step->name);
    step_run_output(run, "diff", json_string(path));
    step_run_output(run, "verdict", json_string(res.verdict));
    step_run_output(run, "summary", json_string(res.summary));
    step_run_output(run, "endpoints", json_integer((json_int_t)res.endpoints));
    if (res.exit_code)
        return step_run_fail(run, STEP_FAILED, "%s", res.summary);
    return STEP_OK;
}

/* The end of a run cut short: diff what the replays kept, into RUN_DIR. */
static int finish_diff(const struct step *step, const char *run_dir, char *out, size_t size,
                       struct error *err)
{
    struct respdiff_result res;
    snprintf(out, size, "%s/diff.json", run_dir);
    return step_diff_write(step, run_dir, out, &res, err);
}

const struct step_kind step_kind_diff = {
    .name = "diff",
    .summary = "diff the responses of targets, with noise cancelled",
    .measures = diff_measures,
    .parse = parse_diff,
    .run = run_diff,
    .free = free_diff,
    .finish = finish_diff,
    /* Regressions are findings, as a failed assert: the run goes on. */
    .default_on_failure = STEP_CONTINUE_RUN,
};
