/*
 * fault_toxic.h — the toxics of the fault proxy: what each one is, its
 * attributes, and the one-line spec syntax used by `rehearse proxy --toxic`,
 * the proxy's stdin commands and (through fault_toxic_set) scenario files.
 *
 * The meanings follow Toxiproxy's toxics, attribute for attribute (see
 * docs/cli/proxy.md for the table).  Directions: UPSTREAM is client→server,
 * DOWNSTREAM is server→client.  Toxicity is the probability that the toxic
 * applies to a given connection; the proxy draws it from its seed (see
 * fault_proxy.h), so the same seed gives the same draws.
 *
 * Spec syntax:  [STREAM:]TYPE[:KEY=VALUE[,KEY=VALUE]...]
 *   STREAM  upstream | downstream (default downstream, as Toxiproxy)
 *   TYPE    latency bandwidth slow_close timeout reset_peer slicer limit_data down
 *   KEY     one of the type's attributes (non-negative integers in the unit
 *           the table gives), `toxicity` (a number in [0,1], default 1), or
 *           `name` (default TYPE_STREAM, e.g. latency_downstream).
 * e.g. "latency:latency=200,jitter=20", "upstream:limit_data:bytes=1024".
 *
 * This module only describes and validates: it does no I/O.
 */
#ifndef REHEARSE_FAULT_TOXIC_H
#define REHEARSE_FAULT_TOXIC_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

enum fault_stream {
    FAULT_UPSTREAM = 0,   /* client → server */
    FAULT_DOWNSTREAM = 1, /* server → client */
};
#define FAULT_STREAMS 2

enum fault_toxic_type {
    FAULT_TOXIC_LATENCY,    /* latency ms, jitter ms: each data chunk delayed */
    FAULT_TOXIC_BANDWIDTH,  /* rate KB/s (1 KB = 1000 bytes; 0 = unlimited) */
    FAULT_TOXIC_SLOW_CLOSE, /* delay ms: the close (FIN) is delayed */
    FAULT_TOXIC_TIMEOUT,    /* timeout ms: data dropped, closed after; 0 = until removed */
    FAULT_TOXIC_RESET_PEER, /* timeout ms: on data, reset (RST) after timeout */
    FAULT_TOXIC_SLICER,     /* average_size, size_variation bytes, delay µs */
    FAULT_TOXIC_LIMIT_DATA, /* bytes: closed once this many bytes have passed */
    FAULT_TOXIC_DOWN,       /* the link refuses connections and closes open ones */
};
#define FAULT_TOXIC_TYPES 8

#define FAULT_TOXIC_NAME_MAX 64
#define FAULT_TOXIC_SPEC_MAX 256 /* fault_toxic_format's longest output */

struct fault_toxic {
    char name[FAULT_TOXIC_NAME_MAX]; /* unique on its link */
    enum fault_toxic_type type;
    enum fault_stream stream;        /* ignored for down */
    double toxicity;                 /* probability per connection, [0,1] */
    union {
        struct { int64_t latency_ms, jitter_ms; } latency;
        struct { int64_t rate_kbs; } bandwidth;
        struct { int64_t delay_ms; } slow_close;
        struct { int64_t timeout_ms; } timeout;
        struct { int64_t timeout_ms; } reset_peer;
        struct { int64_t average_size, size_variation, delay_us; } slicer;
        struct { int64_t bytes; } limit_data;
    } u;
};

/* One attribute of a toxic type, for parsing, formatting and help text. */
struct fault_toxic_attr {
    const char *key;    /* as in the spec: "latency" */
    const char *unit;   /* "ms", "KB/s", "bytes", "µs" */
    size_t offset;      /* of its int64_t inside struct fault_toxic */
    int64_t max;        /* largest value accepted */
};

/* The attributes of a type (borrowed, static); *count may be 0 (down). */
const struct fault_toxic_attr *fault_toxic_attrs(enum fault_toxic_type type, size_t *count);

const char *fault_toxic_type_name(enum fault_toxic_type type); /* "slow_close" */
/* Returns 0, or -1 when the name is not a toxic type. */
int fault_toxic_type_parse(const char *name, enum fault_toxic_type *out);
const char *fault_stream_name(enum fault_stream stream);      /* "upstream" */

/* A toxic of this type with Toxiproxy's defaults: every attribute 0 except
 * slicer's average_size (1), toxicity 1, name TYPE_STREAM ("down" for down). */
void fault_toxic_init(struct fault_toxic *t, enum fault_toxic_type type,
                      enum fault_stream stream);

/* Parse a spec (syntax above) into *t.  On failure ERR_USAGE with a message
 * that quotes the spec, names the offending token and its byte offset, and
 * lists what was expected. */
int fault_toxic_parse(struct fault_toxic *t, const char *spec, struct error *err);

/* Set one KEY=VALUE (an attribute, "toxicity" or "name") from text, with
 * the spec's validation; for callers that read toxics from other formats. */
int fault_toxic_set(struct fault_toxic *t, const char *key, const char *value,
                    struct error *err);

/* Check a filled-in toxic (ranges, name, down's constraints). */
int fault_toxic_validate(const struct fault_toxic *t, struct error *err);

/* The canonical spec of t, every attribute spelled out, e.g.
 * "downstream:latency:latency=200,jitter=20,toxicity=1,name=latency_downstream".
 * Returns the length (truncated to size-1 like snprintf). */
int fault_toxic_format(const struct fault_toxic *t, char *out, size_t size);

#endif
