/*
 * capture.h — turn packets (a pcap/pcapng file or a live interface) into a
 * trace of HTTP/1.x transactions.
 *
 * The pipeline, per packet: decode (packet.h) → IP fragment reassembly
 * (ipfrag.h) → the connection's flow (flow_table.h) → TCP reassembly per
 * direction (tcp_reasm.h) → HTTP parsing and pairing (http_conn.h) →
 * transactions in capture order (tx_queue.h) → secrets redacted
 * (redact.h) → the trace writer (trace_writer.h).
 *
 * Memory is bounded by the options' caps, whatever the input's size, and
 * nothing is dropped silently: every packet, byte or message that does not
 * make it into a transaction intact is counted in the summary under a
 * reason, and the transactions it touched carry flags.
 *
 * capture_run() never prints; the caller reports the summary.
 */
#ifndef REHEARSE_CAPTURE_H
#define REHEARSE_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "trace.h"

/* Why something did not make it into a transaction intact.
 * X(name in the summary, counts bytes too, description). */
#define CAPTURE_SKIP_MAP(X)                                                                  \
    X(not_ip, false, "frames that were not IPv4 or IPv6 (ARP, LLDP, ...)")                   \
    X(not_tcp, false, "IP packets that were not TCP (UDP, ICMP, ...)")                       \
    X(truncated_header, false, "packets whose link, IP or TCP header was cut by the snaplen") \
    X(malformed, false, "packets whose link, IP or TCP header was invalid")                  \
    X(ip_fragment_timeout, false, "IP datagrams whose fragments did not all arrive in time")   \
    X(ip_fragment_cut, false, "IP datagrams with a fragment cut by the snaplen")             \
    X(ip_fragment_invalid, false, "IP datagrams with inconsistent or oversized fragments")   \
    X(ip_fragment_over_cap, false, "IP fragments dropped: too many datagrams in reassembly") \
    X(snaplen, true, "TCP segments whose payload was cut by the snaplen (transactions flagged snaplen)") \
    X(gap, true, "holes in TCP streams: bytes never captured (transactions flagged *_gap)")  \
    X(overlap_conflict, false, "retransmitted segments whose bytes differed from the first copy (first copy kept)") \
    X(flow_buffer_full, false, "holes given up because --max-flow-buffer of out-of-order data was reached") \
    X(memory_cap, true, "segments and body bytes not kept because --max-memory was reached") \
    X(flow_evicted, false, "connections finished early because --max-memory was reached")   \
    X(body_capped, true, "bodies cut at --max-body (transactions flagged *_body_capped)")    \
    X(non_http, true, "TCP connections whose bytes were not HTTP/1.x")                       \
    X(resync, true, "bytes skipped to find the next HTTP message (start of connection not captured, after a gap or invalid HTTP)") \
    X(http_error, false, "HTTP messages cut short by invalid syntax (transactions flagged *_truncated)") \
    X(orphan_response, false, "responses without a captured request")                       \
    X(upgrade, true, "connections that switched protocol (Upgrade, CONNECT); their later bytes are not parsed") \
    X(kernel_drop, false, "packets dropped by the kernel or interface before rehearse read them") \
    X(truncated_file, false, "the capture file ended in the middle of a packet")             \
    X(corrupt_file, false, "the capture file had an unreadable record; reading stopped there")

enum capture_skip {
#define CAPTURE_SKIP_ENUM(name, bytes, description) CAPTURE_SKIP_##name,
    CAPTURE_SKIP_MAP(CAPTURE_SKIP_ENUM)
#undef CAPTURE_SKIP_ENUM
    CAPTURE_SKIP_COUNT
};

const char *capture_skip_name(enum capture_skip s);
const char *capture_skip_description(enum capture_skip s);
bool capture_skip_has_bytes(enum capture_skip s);

struct capture_summary {
    uint64_t packets;
    uint64_t bytes;                 /* on the wire */
    uint64_t flows;                 /* TCP connections */
    uint64_t http_flows;
    uint64_t transactions;          /* written to the trace */
    uint64_t requests, responses, interim_responses;
    uint64_t retransmitted_bytes;   /* duplicates, dropped by design */
    uint64_t out_of_order_segments; /* reordered, then placed */
    uint64_t ip_datagrams_reassembled;
    uint64_t body_gaps_bridged;     /* gaps inside bodies that kept the message in sync */
    uint64_t written_early;         /* see tx_queue.h */
    uint64_t memory_peak;           /* most bytes held at once */
    uint64_t flags[TX_FLAG_COUNT];  /* transactions per flag */
    struct {
        uint64_t count;
        uint64_t bytes;
    } skipped[CAPTURE_SKIP_COUNT];
    int64_t first_us, last_us;      /* first and last packet */
    bool interrupted;               /* stopped by the caller's stop flag */
    char linktype[32];
    char warning[512];              /* non-fatal: the file was truncated, ... */
};

struct capture_options {
    const char *file;           /* -r: pcap or pcapng file, or */
    const char *iface;          /* -i: live interface */
    const char *filter;         /* BPF; NULL: none for files, "tcp" live */
    const char *output;         /* the trace */
    int64_t duration_us;        /* live: stop after this long (0: no limit) */
    uint64_t max_packets;       /* stop after this many packets (0: no limit) */
    int snaplen;                /* live snaplen */
    bool promisc;
    uint64_t max_body;          /* body bytes kept per message */
    uint64_t max_flow_buffer;   /* out-of-order bytes held per direction */
    uint64_t max_memory;        /* bytes held in total */
    int64_t idle_timeout_us;    /* a flow without packets this long is finished */
    bool keep_secrets;          /* do not redact */
    const char *const *redact_headers; /* more secret header names */
    size_t redact_count;
    int64_t flush_interval_us;  /* live: push the trace to disk this often */
    const volatile sig_atomic_t *stop; /* set (by a signal handler) to stop */
};

/* Defaults for everything but file/iface/output. */
void capture_options_init(struct capture_options *o);

/*
 * Capture into o->output.  The summary is filled even on failure, with
 * what was done before it.  A file cut short mid-packet is not a failure:
 * everything before the cut is in the trace, and summary->warning says so.
 */
int capture_run(const struct capture_options *o, struct capture_summary *summary,
                struct error *err);

/* The summary as a JSON object (docs/trace-format.md, summary line). */
int capture_summary_json(const struct capture_summary *s, struct buf *out);

#endif
