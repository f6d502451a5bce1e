/*
 * trace.h — the in-memory shape of one captured HTTP transaction, shared by
 * the trace writer (capture, HAR import) and the trace reader (replay, trace
 * tools, diff).  The file format is specified in docs/trace-format.md.
 *
 * A transaction is one request and the response paired with it on the same
 * connection.  All pointers inside these structs are borrowed: whoever fills
 * a struct trace_tx owns the storage behind it and says how long it lives.
 */
#ifndef REHEARSE_TRACE_H
#define REHEARSE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_FORMAT_NAME "rehearse-trace"
#define TRACE_FORMAT_VERSION 1
/* The most parts `rehearse trace split` makes (an open file each). */
#define TRACE_SPLIT_MAX 1000

/* Timestamps are microseconds since the Unix epoch; TRACE_TIME_NONE marks an
 * absent one (e.g. the response times of a request that got no response). */
#define TRACE_TIME_NONE INT64_MIN

struct http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct http_message {
    /* Request line (requests only; NULL in a response). NUL-terminated. */
    const char *method;
    const char *target;
    /* Status line (responses only; 0/NULL in a request). */
    int status;
    const char *reason;
    unsigned version_major;
    unsigned version_minor;

    struct http_header *headers; /* in wire order, duplicates kept */
    size_t header_count;
    struct http_header *trailers; /* chunked trailers, if any */
    size_t trailer_count;

    /* The body with transfer coding removed (chunks joined) but
     * Content-Encoding kept, exactly as the peer produced it. */
    const unsigned char *body;
    size_t body_len;
    /* Bytes of body the message carried on the wire; larger than body_len
     * when the body was cut (size cap, capture ended, lost segments). */
    uint64_t body_size;
};

/*
 * Transaction flags: what went wrong or is unusual about a transaction.
 * X(enum name, name in the trace file, description for stats and docs).
 */
#define TX_FLAG_MAP(X)                                                                    \
    X(TX_NO_RESPONSE,        "no_response",        "no response was captured for the request") \
    X(TX_REQUEST_GAP,        "request_gap",        "request bytes were lost (gap in the TCP stream)") \
    X(TX_RESPONSE_GAP,       "response_gap",       "response bytes were lost (gap in the TCP stream)") \
    X(TX_REQUEST_TRUNCATED,  "request_truncated",  "the request ended before its body was complete") \
    X(TX_RESPONSE_TRUNCATED, "response_truncated", "the response ended before its body was complete") \
    X(TX_REQUEST_BODY_CAPPED,  "request_body_capped",  "the request body exceeded the size cap and was cut") \
    X(TX_RESPONSE_BODY_CAPPED, "response_body_capped", "the response body exceeded the size cap and was cut") \
    X(TX_SNAPLEN,            "snaplen",            "packets were cut by the capture snaplen") \
    X(TX_RESYNC,             "resync",             "the connection's start was not captured; parsing resynchronised here") \
    X(TX_PIPELINED,          "pipelined",          "the request was sent before the previous response") \
    X(TX_CONTINUE,           "continue",           "a 100 Continue interim response preceded the final one") \
    X(TX_UPGRADE,            "upgrade",            "Upgrade or CONNECT: the connection left HTTP/1.x after this") \
    X(TX_CONN_RESET,         "conn_reset",         "the connection was reset during the transaction") \
    X(TX_REDACTED,           "redacted",           "secret header values were replaced by fingerprints")

enum tx_flag {
#define TX_FLAG_ENUM(name, text, description) name##_BIT,
    TX_FLAG_MAP(TX_FLAG_ENUM)
#undef TX_FLAG_ENUM
    TX_FLAG_COUNT
};
#define TX_FLAG(name) (1u << name##_BIT)

const char *tx_flag_name(enum tx_flag bit);
const char *tx_flag_description(enum tx_flag bit);
/* Bit for a flag name, or -1 when unknown (readers ignore unknown flags). */
int tx_flag_lookup(const char *name, size_t len);

struct trace_tx {
    uint64_t id;   /* 1-based transaction index in capture order */
    uint64_t conn; /* 1-based connection index in order of first packet */
    char client[64]; /* "10.0.0.1:5555" or "[2001:db8::1]:5555" */
    char server[64];
    int64_t req_start_us, req_end_us;
    int64_t resp_start_us, resp_end_us; /* TRACE_TIME_NONE without response */
    struct http_message request;
    bool has_response;
    struct http_message response;
    uint32_t flags; /* TX_FLAG(...) bits */
};

/* What the first line of a trace file says about where it came from. */
struct trace_header {
    int version;
    char source_kind[16]; /* "file", "interface", "har", "trace" */
    char source[512];     /* file name or interface name */
    char linktype[32];    /* e.g. "EN10MB"; empty when not from pcap */
    int64_t capture_start_us;
    char created_by[64];  /* "rehearse 0.1.0" */
    /* A part made by `rehearse trace split`: part split_index (0-based) of
     * split_count, holding the connections that shard of --shard holds;
     * split_count 0 for a whole trace. */
    uint32_t split_index, split_count;
};

/* Case-insensitive header lookup; NULL when absent. First match wins. */
const struct http_header *http_message_header(const struct http_message *m,
                                              const char *name);

#endif
