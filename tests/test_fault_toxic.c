/* The toxic spec syntax: what parses, what it means, and the errors for
 * what does not. */
#include <criterion/criterion.h>
#include <string.h>

#include "fault_toxic.h"

Test(fault_toxic, a_spec_without_stream_is_downstream_with_defaults)
{
    struct fault_toxic t;
    struct error err;
    error_init(&err);
    cr_assert_eq(fault_toxic_parse(&t, "latency:latency=200,jitter=20", &err), 0, "%s",
                 err.message);
    cr_assert_eq(t.type, FAULT_TOXIC_LATENCY);
    cr_assert_eq(t.stream, FAULT_DOWNSTREAM);
    cr_assert_eq(t.u.latency.latency_ms, 200);
    cr_assert_eq(t.u.latency.jitter_ms, 20);
    cr_assert_float_eq(t.toxicity, 1.0, 1e-12);
    cr_assert_str_eq(t.name, "latency_downstream");
}

Test(fault_toxic, every_type_parses_with_its_attributes)
{
    static const char *specs[] = {
        "upstream:bandwidth:rate=100",
        "slow_close:delay=300",
        "timeout:timeout=0",
        "upstream:reset_peer:timeout=50",
        "slicer:average_size=10,size_variation=5,delay=1000",
        "limit_data:bytes=1024",
        "down",
        "latency",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        struct fault_toxic t, again;
        struct error err;
        char canon[FAULT_TOXIC_SPEC_MAX];
        error_init(&err);
        cr_assert_eq(fault_toxic_parse(&t, specs[i], &err), 0, "%s: %s", specs[i], err.message);
        /* The canonical form reads back as the same toxic. */
        fault_toxic_format(&t, canon, sizeof canon);
        cr_assert_eq(fault_toxic_parse(&again, canon, &err), 0, "%s: %s", canon, err.message);
        cr_assert_eq(memcmp(&t.u, &again.u, sizeof t.u), 0, "%s", canon);
        cr_assert_str_eq(t.name, again.name);
        cr_assert_eq(t.stream, again.stream);
    }
}

Test(fault_toxic, toxicity_and_name_are_keys_too)
{
    struct fault_toxic t;
    struct error err;
    error_init(&err);
    cr_assert_eq(fault_toxic_parse(&t, "upstream:limit_data:bytes=0,toxicity=0.25,name=cut", &err),
                 0, "%s", err.message);
    cr_assert_float_eq(t.toxicity, 0.25, 1e-12);
    cr_assert_str_eq(t.name, "cut");
    cr_assert_eq(t.stream, FAULT_UPSTREAM);
}

struct bad_case {
    const char *spec;
    const char *needle; /* the message must name this */
};

Test(fault_toxic, bad_specs_are_usage_errors_that_name_the_token)
{
    static const struct bad_case cases[] = {
        {"latncy:latency=5", "unknown toxic type 'latncy'"},
        {"latency:latncy=5", "unknown attribute 'latncy'"},
        {"latency:latency=-5", "must not be negative"},
        {"latency:latency=5ms", "without a unit"},
        {"latency:toxicity=1.5", "toxicity '1.5'"},
        {"latency:toxicity=-0.1", "toxicity '-0.1'"},
        {"latency:toxicity=abc", "toxicity 'abc'"},
        {"sideways:latency", "unknown toxic type 'sideways'"},
        {"latency:", "nothing after ':'"},
        {"latency:latency", "expected KEY=VALUE"},
        {"latency:=5", "expected KEY=VALUE"},
        {"", "missing toxic type"},
        {"slicer:average_size=0", "average_size must be at least 1"},
        {"down:toxicity=0.5", "toxicity must be 1"},
        {"latency:name=has space", "name 'has space'"},
        {"bandwidth:rate=99999999999999999999", "too large"},
        {"bandwidth:rate=5,jitter=1", "unknown attribute 'jitter' for bandwidth"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fault_toxic t;
        struct error err;
        error_init(&err);
        cr_assert_eq(fault_toxic_parse(&t, cases[i].spec, &err), ERR_USAGE, "%s", cases[i].spec);
        cr_assert(strstr(err.message, cases[i].needle), "%s: %s", cases[i].spec, err.message);
        /* Every message quotes the whole spec, so the user sees which --toxic. */
        cr_assert(strstr(err.message, cases[i].spec), "%s: %s", cases[i].spec, err.message);
    }
}

Test(fault_toxic, an_unknown_attribute_lists_the_ones_that_exist)
{
    struct fault_toxic t;
    struct error err;
    error_init(&err);
    fault_toxic_parse(&t, "slicer:size=3", &err);
    cr_assert(strstr(err.message, "average_size (bytes)"), "%s", err.message);
    cr_assert(strstr(err.message, "delay (µs)"), "%s", err.message);
    cr_assert(strstr(err.message, "at byte 7"), "%s", err.message);
}

Test(fault_toxic, validate_checks_toxics_built_in_code)
{
    struct fault_toxic t;
    struct error err;
    error_init(&err);
    fault_toxic_init(&t, FAULT_TOXIC_LATENCY, FAULT_UPSTREAM);
    cr_assert_str_eq(t.name, "latency_upstream");
    cr_assert_eq(fault_toxic_validate(&t, &err), 0);
    t.u.latency.latency_ms = -1;
    cr_assert_eq(fault_toxic_validate(&t, &err), ERR_USAGE);
    cr_assert(strstr(err.message, "latency -1"), "%s", err.message);
    fault_toxic_init(&t, FAULT_TOXIC_LATENCY, FAULT_UPSTREAM);
    t.toxicity = 2;
    cr_assert_eq(fault_toxic_validate(&t, &err), ERR_USAGE);
    cr_assert_eq(fault_toxic_set(&t, "jitter", "7", &err), 0);
    cr_assert_eq(t.u.latency.jitter_ms, 7);
}
