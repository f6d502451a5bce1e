/*
 * metrics.h — the values a rehearsal measured, by name, for assertions.
 *
 * Names are dot-separated components: "<kind>.<step>.<measure>" for values
 * a step measured (sql.expand.duration_ms, sql.expand.lock_wait_ms), and
 * "<kind>.<step>.<target>.<measure>" for steps that measure per target
 * (replay, later).  Step names are [A-Za-z0-9_-], so a name always splits
 * unambiguously.  Units are in the measure's suffix: _ms, _bytes, _ratio, a
 * bare count otherwise.  The list of measures is in docs/scenario-format.md.
 *
 * Thread-safe: steps running in parallel publish concurrently.  A value
 * published twice keeps the last one.
 */
#ifndef REHEARSE_METRICS_H
#define REHEARSE_METRICS_H

#include <jansson.h>
#include <stdbool.h>

#include "errors.h"

#define METRIC_NAME_MAX 256

struct metrics;

int metrics_new(struct metrics **out, struct error *err);
void metrics_free(struct metrics *m);

int metrics_set(struct metrics *m, const char *name, double value);
bool metrics_get(struct metrics *m, const char *name, double *value);
/* {"name": value, ...} in publication order (new reference). */
json_t *metrics_json(struct metrics *m);

/* Does `name` match `pattern`, where a pattern component "*" matches any
 * one component? */
bool metrics_name_matches(const char *pattern, const char *name);

#endif
