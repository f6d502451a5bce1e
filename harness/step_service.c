/*
 * step_service.c — the start, stop and restart step kinds:
 *     {"name": "start-old", "start": "old"}
 * start waits for the service's health check; stop is idempotent (stopping
 * a service that is not running succeeds, so `always` can stop everything);
 * restart is a stop then a start on the same port.
 */
#include <stdlib.h>

#include "run_control.h"
#include "step.h"
#include "supervisor.h"

static bool parse_service(struct scenario_parser *p, struct step *step, const json_t *value,
                          const char *pointer)
{
    char found[96];
    int *index;

    if (!json_is_string(value)) {
        scenario_describe(value, found, sizeof found);
        scenario_error(p, pointer, "expected the name of a service, found %s", found);
        return false;
    }
    int i = scenario_ref_service(p, pointer, json_string_value(value));
    if (i < 0 || !(index = malloc(sizeof *index)))
        return false;
    *index = i;
    step->data = index;
    return true;
}

static void copy_outputs(struct step_run *run, json_t *outputs)
{
    const char *key;
    json_t *value;
    json_object_foreach(outputs, key, value)
        step_run_output(run, key, json_incref(value));
}

static enum step_status status_of(struct step_run *run, int rc, const struct error *err)
{
    if (rc == 0)
        return STEP_OK;
    if (rc == SUPERVISOR_SERVICE_FAILED)
        return step_run_fail(run, STEP_FAILED, "%s", err->message);
    if (rc == ERR_INTERRUPTED)
        return step_run_fail(run, STEP_INTERRUPTED, "%s", err->message);
    return step_run_fail(run, STEP_ERROR, "%s", err->message);
}

static enum step_status run_start(struct step_run *run, const struct step *step)
{
    json_t *outputs = json_object();
    struct error err;
    int rc;

    error_init(&err);
    rc = supervisor_start(step_run_supervisor(run), *(int *)step->data, step_run_control(run),
                          outputs, &err);
    copy_outputs(run, outputs);
    json_decref(outputs);
    return status_of(run, rc, &err);
}

static enum step_status run_stop(struct step_run *run, const struct step *step)
{
    json_t *outputs = json_object();
    struct error err;
    int rc;

    error_init(&err);
    rc = supervisor_stop(step_run_supervisor(run), *(int *)step->data, outputs, &err);
    copy_outputs(run, outputs);
    json_decref(outputs);
    return status_of(run, rc, &err);
}

static enum step_status run_restart(struct step_run *run, const struct step *step)
{
    json_t *stopped = json_object(), *started = json_object();
    struct error err;
    int rc;

    error_init(&err);
    rc = supervisor_stop(step_run_supervisor(run), *(int *)step->data, stopped, &err);
    if (rc == 0)
        rc = supervisor_start(step_run_supervisor(run), *(int *)step->data,
                              step_run_control(run), started, &err);
    step_run_output(run, "stop", stopped);
    step_run_output(run, "start", started);
    return status_of(run, rc, &err);
}

const struct step_kind step_kind_start = {
    .name = "start",
    .summary = "start a service and wait until its health check passes",
    .parse = parse_service,
    .run = run_start,
    .free = free,
};

const struct step_kind step_kind_stop = {
    .name = "stop",
    .summary = "stop a service (its stop signal, then SIGKILL to its process group)",
    .parse = parse_service,
    .run = run_stop,
    .free = free,
};

const struct step_kind step_kind_restart = {
    .name = "restart",
    .summary = "stop a service, then start it again on the same port",
    .parse = parse_service,
    .run = run_restart,
    .free = free,
};
