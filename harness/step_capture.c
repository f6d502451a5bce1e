/*
 * step_capture.c — turn a packet capture into the trace a rehearsal
 * replays, inside the run:
 *
 *     {"name": "capture", "capture": {"pcap": "fixtures/demo/trace.pcap"}}
 *     {"name": "rest", "replay": {"capture": "capture", "from": "15s", ...}}
 *
 * The capture library (replay/capture.h) reads the pcap or pcapng file,
 * reassembles TCP, pairs requests and responses and redacts secrets, as
 * `rehearse capture -r` does; the trace goes to steps/NAME/trace.jsonl,
 * where replay steps that name this step find it.  So a run directory
 * holds the trace it replayed, made from the capture it names.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "run_control.h"
#include "step.h"

struct capture_step {
    const char *pcap;          /* absolute, owned by the scenario */
    char *filter;              /* BPF, or NULL */
    bool keep_secrets;
};

static const char *const capture_keys[] = {"pcap", "filter", "keep_secrets", NULL};
static const char *const capture_measures[] = {"packets", "transactions", "skipped_packets",
                                               NULL};

static void free_capture(void *data)
{
    struct capture_step *c = data;
    if (c)
        free(c->filter);
    free(c);
}

static bool parse_capture(struct scenario_parser *p, struct step *step, const json_t *value,
                          const char *pointer)
{
    struct capture_step *c = calloc(1, sizeof *c);
    const char *pcap = NULL, *filter = NULL;
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;

    if (!c)
        return false;
    step->data = c;
    ok = scenario_check_object(p, value, pointer, capture_keys, "a capture");
    if (!json_is_object(value))
        return false;
    if (scenario_get_string(p, value, pointer, "pcap", true, &pcap) && pcap) {
        scenario_pointer(ptr, sizeof ptr, pointer, "pcap");
        ok = (c->pcap = scenario_input_file(p, ptr, pcap)) != NULL && ok;
    } else {
        ok = false;
    }
    if (scenario_get_string(p, value, pointer, "filter", false, &filter) && filter)
        c->filter = strdup(filter);
    scenario_get_bool(p, value, pointer, "keep_secrets", &c->keep_secrets);
    return ok;
}

static enum step_status run_capture(struct step_run *run, const struct step *step)
{
    const struct capture_step *c = step->data;
    struct capture_options o;
    struct capture_summary *summary = calloc(1, sizeof *summary);
    struct error err;
    struct buf b;
    char dir[PATH_MAX], trace[PATH_MAX + 16];
    uint64_t skipped = 0;
    int rc;

    error_init(&err);
    if (!summary)
        return step_run_fail(run, STEP_ERROR, "out of memory");
    if ((rc = step_run_dir(run, dir, sizeof dir, &err))) {
        free(summary);
        return step_run_fail(run, STEP_ERROR, "%s", err.message);
    }
    snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
    capture_options_init(&o);
    o.file = c->pcap;
    o.filter = c->filter;
    o.output = trace;
    o.keep_secrets = c->keep_secrets;
    /* A file is read in moments; a signal still stops a large one. */
    o.stop = &step_run_control(run)->signo;
    rc = capture_run(&o, summary, &err);

    for (int i = 0; i < CAPTURE_SKIP_COUNT; i++)
        skipped += summary->skipped[i].count;
    step_run_metric(run, "packets", (double)summary->packets);
    step_run_metric(run, "transactions", (double)summary->transactions);
    step_run_metric(run, "skipped_packets", (double)skipped);
    buf_init(&b, 1 << 20);
    if (capture_summary_json(summary, &b) == 0) {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        if (doc)
            step_run_output(run, "summary", doc);
    }
    buf_release(&b);
    snprintf(trace, sizeof trace, "steps/%s/trace.jsonl", step->name);
    step_run_output(run, "pcap", json_string(c->pcap));
    step_run_output(run, "trace", json_string(trace));
    if (summary->warning[0])
        step_run_output(run, "warning", json_string(summary->warning));
    bool interrupted = summary->interrupted;
    free(summary);
    if (rc)
        return step_run_fail(run, STEP_ERROR, "%s", err.message);
    return interrupted ? STEP_INTERRUPTED : STEP_OK;
}

const struct step_kind step_kind_capture = {
    .name = "capture",
    .summary = "turn a pcap or pcapng file into a trace for the replay steps",
    .measures = capture_measures,
    .parse = parse_capture,
    .run = run_capture,
    .free = free_capture,
};
