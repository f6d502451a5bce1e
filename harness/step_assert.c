/*
 * step_assert.c — thresholds on what was measured so far:
 *     {"name": "fast-enough", "assert": {"metric": "sql.expand.duration_ms", "max": 2000}}
 *     {"name": "checks", "assert": [{...}, {...}]}
 *     {"name": "p99", "assert": {"metric": "replay.main.new.p99_ms",
 *                                "over": "replay.main.old.p99_ms", "max": 1.5}}
 * With "over", the bounds apply to the ratio metric / over (0 / 0 is 1:
 * nothing measured on either side is no change).
 * Each check's metric must be published by a step before the assert (this
 * is checked when the scenario is read).  A failed assert fails the run
 * (exit 1) but does not stop it, unless the step says "on_failure": "stop".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "step.h"

struct check {
    char *metric;
    char *over;      /* divide by this metric; NULL: none */
    bool has_min, has_max;
    double min, max;
};

struct assert_step {
    struct check *checks;
    size_t count;
};

static const char *const check_keys[] = {"metric", "over", "min", "max", NULL};

static void free_assert(void *data)
{
    struct assert_step *a = data;
    for (size_t i = 0; a && i < a->count; i++) {
        free(a->checks[i].metric);
        free(a->checks[i].over);
    }
    if (a)
        free(a->checks);
    free(a);
}

static bool parse_metric(struct scenario_parser *p, const json_t *v, const char *pointer,
                         const char *key, bool required, char **out)
{
    const char *metric = NULL;
    char ptr[SCENARIO_POINTER_MAX], suggestion[METRIC_NAME_MAX];
    bool ok = true;

    if (scenario_get_string(p, v, pointer, key, required, &metric) && metric) {
        scenario_pointer(ptr, sizeof ptr, pointer, key);
        if (!scenario_metric_declared(p, metric, suggestion, sizeof suggestion)) {
            ok = false;
            if (suggestion[0])
                scenario_error(p, ptr,
                               "no step before this assert publishes \"%s\"; did you mean "
                               "\"%s\"?",
                               metric, suggestion);
            else
                scenario_error(p, ptr,
                               "no step before this assert publishes \"%s\"; metrics are named "
                               "KIND.STEP.MEASURE, e.g. sql.STEP.duration_ms (see "
                               "docs/scenario-format.md)",
                               metric);
        } else {
            *out = strdup(metric);
        }
    } else if (required) {
        ok = false;
    }
    return ok;
}

static bool parse_check(struct scenario_parser *p, struct check *c, const json_t *v,
                        const char *pointer)
{
    char ptr[SCENARIO_POINTER_MAX];
    bool ok = scenario_check_object(p, v, pointer, check_keys, "an assertion");

    if (!json_is_object(v))
        return false;
    ok = parse_metric(p, v, pointer, "metric", true, &c->metric) && ok;
    ok = parse_metric(p, v, pointer, "over", false, &c->over) && ok;
    c->has_min = json_object_get(v, "min") != NULL;
    c->has_max = json_object_get(v, "max") != NULL;
    ok = scenario_get_number(p, v, pointer, "min", false, &c->min) && ok;
    ok = scenario_get_number(p, v, pointer, "max", false, &c->max) && ok;
    if (!c->has_min && !c->has_max) {
        scenario_error(p, pointer, "expected a \"min\" or a \"max\" (or both) for the metric");
        ok = false;
    } else if (c->has_min && c->has_max && c->min > c->max) {
        scenario_pointer(ptr, sizeof ptr, pointer, "max");
        scenario_error(p, ptr, "the maximum %g is below the minimum %g", c->max, c->min);
        ok = false;
    }
    return ok;
}

static bool parse_assert(struct scenario_parser *p, struct step *step, const json_t *value,
                         const char *pointer)
{
    struct assert_step *a = calloc(1, sizeof *a);
    size_t n = json_is_array(value) ? json_array_size(value) : 1;
    char ptr[SCENARIO_POINTER_MAX], found[96];
    bool ok = true;

    if (!a)
        return false;
    step->data = a;
    if (!json_is_array(value) && !json_is_object(value)) {
        scenario_describe(value, found, sizeof found);
        scenario_error(p, pointer,
                       "expected an assertion such as {\"metric\": \"sql.STEP.duration_ms\", "
                       "\"max\": 2000} or an array of them, found %s",
                       found);
        return false;
    }
    if (n == 0) {
        scenario_error(p, pointer, "expected at least one assertion, found an empty array");
        return false;
    }
    if (!(a->checks = calloc(n, sizeof *a->checks)))
        return false;
    a->count = n;
    for (size_t i = 0; i < n; i++) {
        if (json_is_array(value))
            scenario_pointer_index(ptr, sizeof ptr, pointer, i);
        else
            snprintf(ptr, sizeof ptr, "%s", pointer);
        ok = parse_check(p, &a->checks[i], json_is_array(value) ? json_array_get(value, i) : value,
                         ptr) && ok;
    }
    return ok;
}

static enum step_status run_assert(struct step_run *run, const struct step *step)
{
    const struct assert_step *a = step->data;
    char first[ERROR_MESSAGE_MAX] = "";
    size_t failed = 0;

    for (size_t i = 0; i < a->count; i++) {
        const struct check *c = &a->checks[i];
        char message[512], name[2 * METRIC_NAME_MAX + 4];
        double value = NAN, divisor = NAN;
        bool measured = step_run_metric_get(run, c->metric, &value), passed = false;
        json_t *result = json_pack("{s:s}", "metric", c->metric);

        snprintf(name, sizeof name, "%s", c->metric);
        if (c->over) {
            json_object_set_new(result, "over", json_string(c->over));
            snprintf(name, sizeof name, "%s / %s", c->metric, c->over);
            if (measured && !step_run_metric_get(run, c->over, &divisor)) {
                measured = false;
                snprintf(name, sizeof name, "%s", c->over);
            } else if (measured) {
                json_object_set_new(result, "numerator", json_real(value));
                json_object_set_new(result, "denominator", json_real(divisor));
                value = divisor != 0 ? value / divisor : value == 0 ? 1.0 : INFINITY;
            }
        }

        if (c->has_min)
            json_object_set_new(result, "min", json_real(c->min));
        if (c->has_max)
            json_object_set_new(result, "max", json_real(c->max));
        if (!measured) {
            snprintf(message, sizeof message,
                     "%s was not measured (the step that publishes it did not finish)", name);
        } else if (c->has_min && value < c->min) {
            snprintf(message, sizeof message, "%s = %g, below the minimum %g", name, value,
                     c->min);
        } else if (c->has_max && value > c->max) {
            snprintf(message, sizeof message, "%s = %g, above the maximum %g", name, value,
                     c->max);
        } else {
            passed = true;
            snprintf(message, sizeof message, "%s = %g", name, value);
        }
        json_object_set_new(result, "value",
                            measured && isfinite(value) ? json_real(value) : json_null());
        json_object_set_new(result, "passed", json_boolean(passed));
        json_object_set_new(result, "message", json_string(message));
        step_run_assertion(run, result, passed);
        if (!passed && failed++ == 0)
            snprintf(first, sizeof first, "%s", message);
    }
    if (!failed)
        return STEP_OK;
    if (failed == 1)
        return step_run_fail(run, STEP_FAILED, "%s", first);
    return step_run_fail(run, STEP_FAILED, "%zu of %zu assertions failed; first: %s", failed,
                         a->count, first);
}

const struct step_kind step_kind_assert = {
    .name = "assert",
    .summary = "check thresholds on metrics measured by earlier steps",
    .parse = parse_assert,
    .run = run_assert,
    .free = free_assert,
    .default_on_failure = STEP_CONTINUE_RUN,
};
