#include "capture.h"

#include <errno.h>
#include <http_parser.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "flow_table.h"
#include "http_conn.h"
#include "ipfrag.h"
#include "jsonw.h"
#include "membudget.h"
#include "packet.h"
#include "redact.h"
#include "tcp_reasm.h"
#include "trace_writer.h"
#include "tx_queue.h"
#include "version.h"

/* How often (in packets) idle flows are looked for at the latest. */
#define EXPIRE_EVERY_PACKETS 65536
#define EXPIRE_EVERY_US 1000000
#define FRAG_TIMEOUT_US (30 * 1000000LL)
#define FRAG_MAX_DATAGRAMS 1024
#define LIVE_TIMEOUT_MS 100
#define LIVE_DRAIN_MS 300

static const struct {
    const char *name;
    bool bytes;
    const char *description;
} skip_table[] = {
#define CAPTURE_SKIP_ROW(name, bytes, description) {#name, bytes, description},
    CAPTURE_SKIP_MAP(CAPTURE_SKIP_ROW)
#undef CAPTURE_SKIP_ROW
};

const char *capture_skip_name(enum capture_skip s)
{
    return skip_table[s].name;
}

const char *capture_skip_description(enum capture_skip s)
{
    return skip_table[s].description;
}

bool capture_skip_has_bytes(enum capture_skip s)
{
    return skip_table[s].bytes;
}

void capture_options_init(struct capture_options *o)
{
    memset(o, 0, sizeof *o);
    o->snaplen = 262144;
    o->promisc = true;
    o->max_body = (uint64_t)8 << 20;
    o->max_flow_buffer = (uint64_t)4 << 20;
    o->max_memory = (uint64_t)256 << 20;
    o->idle_timeout_us = 300 * 1000000LL;
    o->flush_interval_us = 1000000;
}

/* The state kept per TCP connection, right after its struct flow. */
struct flow_state {
    struct tcp_half tcp[2];
    struct http_conn http;
    uint32_t isn[2];        /* initial sequence numbers from SYNs */
    bool syn[2];
    bool closed;            /* finished; the entry stays for late packets */
};

struct capture {
    const struct capture_options *o;
    struct capture_summary *sum;
    pcap_t *pcap;
    int dlt;
    struct membudget budget;
    struct flow_table *flows;
    struct ipfrag *frag;
    struct tcp_env tcp;
    struct http_env http;
    struct tx_queue *txq;
    struct trace_writer *writer;
    struct redactor *redactor;
    struct error write_err;
    int64_t now;
    int64_t next_expiry;
    uint64_t packets_since_expiry;
    struct http_header *hdrs;   /* emit scratch */
    size_t hdr_cap;
    struct buf redacted;        /* emit scratch for redacted values */
    bool stop_packets;          /* -c reached */
};

/* What the TCP sink callbacks need: the connection and the direction. */
struct sink_ctx {
    struct capture *cap;
    struct flow_state *fs;
    int dir;
};

static void sink_start(void *ctx, bool midstream)
{
    struct sink_ctx *s = ctx;
    http_conn_start(&s->fs->http, s->dir, midstream);
}

static void sink_data(void *ctx, const uint8_t *p, uint32_t n, int64_t ts)
{
    struct sink_ctx *s = ctx;
    http_conn_data(&s->fs->http, s->dir, p, n, ts);
}

static void sink_gap(void *ctx, uint64_t n, enum tcp_gap_reason why, int64_t ts)
{
    struct sink_ctx *s = ctx;
    http_conn_gap(&s->fs->http, s->dir, n, why == TCP_GAP_SNAPLEN, ts);
}

static void sink_fin(void *ctx, int64_t ts)
{
    struct sink_ctx *s = ctx;
    http_conn_eof(&s->fs->http, s->dir, ts);
}

static const struct tcp_sink sink = {sink_start, sink_data, sink_gap, sink_fin};

/* ---- writing transactions --------------------------------------------- */

static int grow_hdrs(struct capture *cap, size_t need)
{
    if (need <= cap->hdr_cap)
        return 0;
    size_t n = need < 64 ? 64 : need * 2;
    struct http_header *h = realloc(cap->hdrs, n * sizeof *h);
    if (!h)
        return ERR_NOMEM;
    cap->hdrs = h;
    cap->hdr_cap = n;
    return 0;
}

static void fill_headers(const struct cap_msg *m, const struct cap_header *src, size_t n,
                         struct http_header *dst)
{
    for (size_t i = 0; i < n; i++) {
        dst[i].name = m->text.data + src[i].name_off;
        dst[i].name_len = src[i].name_len;
        dst[i].value = m->text.data + src[i].value_off;
        dst[i].value_len = src[i].value_len;
    }
}

/* Redact secret values of h[0..n): values go to cap->redacted, whose
 * offsets are fixed into pointers once it stops growing. */
static int redact(struct capture *cap, struct http_header *h, size_t n, size_t *count)
{
    for (size_t i = 0; i < n; i++) {
        if (!redactor_is_secret(cap->redactor, h[i].name, h[i].name_len))
            continue;
        size_t start = cap->redacted.len;
        if (redactor_value(cap->redactor, h[i].name, h[i].name_len, h[i].value, h[i].value_len,
                           &cap->redacted))
            return ERR_NOMEM;
        h[i].value = (const char *)(uintptr_t)start; /* an offset until fixed */
        h[i].value_len = cap->redacted.len - start;
        h[i].name_len |= (size_t)1 << (sizeof(size_t) * 8 - 1); /* mark it */
        (*count)++;
    }
    return 0;
}

static void fix_redacted(struct capture *cap, struct http_header *h, size_t n)
{
    const size_t mark = (size_t)1 << (sizeof(size_t) * 8 - 1);
    for (size_t i = 0; i < n; i++) {
        if (!(h[i].name_len & mark))
            continue;
        h[i].name_len &= ~mark;
        h[i].value = cap->redacted.data + (uintptr_t)h[i].value;
    }
}

static void fill_message(const struct cap_msg *m, struct http_header *hdrs, bool request,
                         struct http_message *out)
{
    size_t nh = m->nhdrs - m->ntrailers;
    const char *line = m->text.data ? m->text.data : "";

    memset(out, 0, sizeof *out);
    if (request) {
        out->method = http_method_str((enum http_method)m->method);
        out->target = line;
    } else {
        out->status = m->status;
        out->reason = line;
    }
    out->version_major = m->version_major;
    out->version_minor = m->version_minor;
    fill_headers(m, m->hdrs, nh, hdrs);
    out->headers = hdrs;
    out->header_count = nh;
    fill_headers(m, m->hdrs + nh, m->ntrailers, hdrs + nh);
    out->trailers = m->ntrailers ? hdrs + nh : NULL;
    out->trailer_count = m->ntrailers;
    out->body = (const unsigned char *)m->body.data;
    out->body_len = m->body.len;
    out->body_size = m->body_size;
}

static int emit(void *ctx, const struct cap_tx *tx)
{
    struct capture *cap = ctx;
    struct trace_tx t;
    size_t redacted = 0;
    size_t nreq = tx->req.nhdrs, nresp = tx->has_response ? tx->resp.nhdrs : 0;

    if (grow_hdrs(cap, nreq + nresp))
        return error_set(&cap->write_err, ERR_NOMEM, "out of memory writing the trace");
    t.id = tx->id;
    t.conn = tx->conn;
    snprintf(t.client, sizeof t.client, "%s", tx->client);
    snprintf(t.server, sizeof t.server, "%s", tx->server);
    t.req_start_us = tx->req.start_us;
    t.req_end_us = tx->req.end_us ? tx->req.end_us : tx->req.start_us;
    fill_message(&tx->req, cap->hdrs, true, &t.request);
    t.has_response = tx->has_response;
    if (tx->has_response) {
        t.resp_start_us = tx->resp.start_us;
        t.resp_end_us = tx->resp.end_us ? tx->resp.end_us : tx->resp.start_us;
        fill_message(&tx->resp, cap->hdrs + nreq, false, &t.response);
    } else {
        t.resp_start_us = t.resp_end_us = TRACE_TIME_NONE;
        memset(&t.response, 0, sizeof t.response);
    }
    t.flags = tx->flags;
    if (cap->redactor) {
        buf_reset(&cap->redacted);
        if (redact(cap, cap->hdrs, nreq + nresp, &redacted))
            return error_set(&cap->write_err, ERR_NOMEM, "out of memory writing the trace");
        fix_redacted(cap, cap->hdrs, nreq + nresp);
        if (redacted)
            t.flags |= TX_FLAG(TX_REDACTED);
    }
    for (int bit = 0; bit < TX_FLAG_COUNT; bit++)
        if (t.flags & (1u << bit))
            cap->sum->flags[bit]++;
    cap->sum->transactions++;
    return trace_writer_write(cap->writer, &t, &cap->write_err);
}

/* ---- flows ------------------------------------------------------------ */

static void flow_begin(struct capture *cap, struct flow *f, struct flow_state *fs)
{
    char ep[2][48];
    flow_key_endpoint(&f->key, 0, ep[0], sizeof ep[0]);
    flow_key_endpoint(&f->key, 1, ep[1], sizeof ep[1]);
    memset(fs, 0, sizeof *fs);
    tcp_half_init(&fs->tcp[0]);
    tcp_half_init(&fs->tcp[1]);
    http_conn_init(&fs->http, &cap->http, f->conn, ep[0], ep[1]);
}

/* The connection is over: deliver what is held, finish its transactions.
 * The (now small) entry stays until idle, so late packets of this
 * connection do not look like a new one. */
static void flow_finish(struct capture *cap, struct flow_state *fs, int64_t now)
{
    if (fs->closed)
        return;
    for (int d = 0; d < 2; d++) {
        struct sink_ctx ctx = {cap, fs, d};
        tcp_half_flush(&fs->tcp[d], &cap->tcp, now, &sink, &ctx);
    }
    http_conn_close(&fs->http, now);
    tcp_half_release(&fs->tcp[0], &cap->tcp);
    tcp_half_release(&fs->tcp[1], &cap->tcp);
    fs->closed = true;
}

static void flow_drop(struct capture *cap, struct flow *f, int64_t now)
{
    flow_finish(cap, flow_user(f), now);
    flow_table_remove(cap->flows, f);
}

static void expire(struct capture *cap, int64_t now)
{
    struct flow *f;
    while ((f = flow_table_oldest(cap->flows)) && f->last_seen + cap->o->idle_timeout_us < now)
        flow_drop(cap, f, now);
    ipfrag_expire(cap->frag, now);
    cap->next_expiry = now + EXPIRE_EVERY_US;
    cap->packets_since_expiry = 0;
}

/* Over the memory cap: finish the least recently active connections. */
static void relieve_memory(struct capture *cap, struct flow *keep)
{
    struct flow *f;
    while (cap->budget.used > cap->budget.max && (f = flow_table_oldest(cap->flows)) &&
           f != keep) {
        if (!((struct flow_state *)flow_user(f))->closed)
            cap->sum->skipped[CAPTURE_SKIP_flow_evicted].count++;
        flow_drop(cap, f, cap->now);
    }
}

static void handle_tcp(struct capture *cap, const struct packet *pkt)
{
    bool created = false;
    int dir, other;
    struct flow *f;
    struct flow_state *fs;
    bool syn = pkt->flags & TCP_SYN, ack = pkt->flags & TCP_ACK;

    f = flow_table_find(cap->flows, pkt, cap->now, true, &created, &dir);
    if (!f) {
        cap->sum->skipped[CAPTURE_SKIP_memory_cap].count++;
        cap->sum->skipped[CAPTURE_SKIP_memory_cap].bytes += pkt->payload_len;
        return;
    }
    fs = flow_user(f);
    other = !dir;
    if (created) {
        flow_begin(cap, f, fs);
        if (cap->budget.used > cap->budget.max)
            relieve_memory(cap, f);
    } else if (syn && !ack && (fs->closed || (fs->syn[dir] && fs->isn[dir] != pkt->seq))) {
        /* A new connection on the 4-tuple of an old one. */
        flow_finish(cap, fs, cap->now);
        flow_table_renumber(cap->flows, f);
        flow_begin(cap, f, fs);
    } else if (fs->closed) {
        return; /* a late packet of a finished connection */
    }

    if (syn) {
        if (!fs->syn[dir]) {
            fs->syn[dir] = true;
            fs->isn[dir] = pkt->seq;
        }
        http_conn_set_client(&fs->http, ack ? other : dir);
    }
    /* The acknowledgement first: it may show that holes in the other
     * direction are lost, which must be settled before this payload is
     * parsed (a response after its request). */
    if (ack && fs->tcp[other].synced) {
        struct sink_ctx octx = {cap, fs, other};
        struct tcp_half *o = &fs->tcp[other];
        tcp_half_acked(o, &cap->tcp, pkt->ack, cap->now, &sink, &octx);
        int32_t ahead = (int32_t)(pkt->ack - o->next_seq);
        if (ahead > 0)
            http_conn_acked(&fs->http, other, http_conn_pos(&fs->http, other) + (uint32_t)ahead);
    }
    struct sink_ctx ctx = {cap, fs, dir};
    struct tcp_segment seg = {pkt->seq, pkt->flags, pkt->payload, pkt->payload_len,
                              pkt->payload_missing, cap->now};
    tcp_half_segment(&fs->tcp[dir], &cap->tcp, &seg, &sink, &ctx);

    if (pkt->flags & TCP_RST) {
        http_conn_reset(&fs->http);
        flow_finish(cap, fs, cap->now);
    } else if (fs->tcp[0].done && fs->tcp[1].done) {
        flow_finish(cap, fs, cap->now);
    }
}

static bool is_plain_non_tcp(uint8_t proto)
{
    return proto == 1 || proto == 17 || proto == 58; /* ICMP, UDP, ICMPv6 */
}

static void count_status(struct capture *cap, enum packet_status st)
{
    switch (st) {
    case PACKET_NOT_IP: cap->sum->skipped[CAPTURE_SKIP_not_ip].count++; break;
    case PACKET_NOT_TCP: cap->sum->skipped[CAPTURE_SKIP_not_tcp].count++; break;
    case PACKET_TRUNCATED: cap->sum->skipped[CAPTURE_SKIP_truncated_header].count++; break;
    case PACKET_MALFORMED: cap->sum->skipped[CAPTURE_SKIP_malformed].count++; break;
    default: break;
    }
}

static void handle_packet(struct capture *cap, const struct pcap_pkthdr *hdr,
                          const uint8_t *data)
{
    struct packet pkt;
    enum packet_status st;

    cap->now = (int64_t)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec;
    cap->sum->packets++;
    cap->sum->bytes += hdr->len;
    if (cap->sum->first_us == TRACE_TIME_NONE)
        cap->sum->first_us = cap->now;
    cap->sum->last_us = cap->now;

    st = packet_decode(cap->dlt, data, hdr->caplen, hdr->len, &pkt);
    if (st == PACKET_FRAGMENT) {
        const uint8_t *dgram;
        uint32_t len;
        uint8_t proto;
        if (is_plain_non_tcp(pkt.frag.proto)) {
            st = PACKET_NOT_TCP;
        } else if (ipfrag_add(cap->frag, &pkt, cap->now, &dgram, &len, &proto) == 1) {
            st = packet_decode_transport(proto, dgram, len, &pkt);
        }
    }
    if (st == PACKET_TCP)
        handle_tcp(cap, &pkt);
    else
        count_status(cap, st);

    if (++cap->packets_since_expiry >= EXPIRE_EVERY_PACKETS || cap->now >= cap->next_expiry)
        expire(cap, cap->now);
}

/* ---- summary ---------------------------------------------------------- */

static void collect(struct capture *cap)
{
    struct capture_summary *s = cap->sum;
    const struct tcp_counters *t = &cap->tcp.counters;
    const struct http_counters *h = &cap->http.counters;
    const struct ipfrag_counters *f = cap->frag ? ipfrag_counters(cap->frag) : NULL;

#define SKIP(name, c, b)                            \
    do {                                            \
        s->skipped[CAPTURE_SKIP_##name].count += (c); \
        s->skipped[CAPTURE_SKIP_##name].bytes += (b); \
    } while (0)
    if (cap->flows)
        s->flows = flow_table_connections(cap->flows);
    s->http_flows = h->http_flows;
    s->requests = h->requests;
    s->responses = h->responses;
    s->interim_responses = h->interim;
    s->retransmitted_bytes = t->retransmitted_bytes;
    s->out_of_order_segments = t->out_of_order;
    s->body_gaps_bridged = h->body_gaps;
    s->memory_peak = cap->budget.peak;
    if (cap->txq)
        s->written_early = tx_queue_counters(cap->txq)->written_early;
    if (f) {
        s->ip_datagrams_reassembled = f->reassembled;
        SKIP(ip_fragment_timeout, f->timed_out, 0);
        SKIP(ip_fragment_cut, f->cut, 0);
        SKIP(ip_fragment_invalid, f->invalid, 0);
        SKIP(ip_fragment_over_cap, f->over_cap, 0);
    }
    SKIP(snaplen, t->snaplen_segments, t->snaplen_bytes);
    SKIP(gap, t->gaps, t->gap_bytes);
    SKIP(overlap_conflict, t->overlap_conflicts, 0);
    SKIP(flow_buffer_full, t->buffer_full, 0);
    SKIP(memory_cap, t->memory_segments + h->memory_bodies, t->memory_bytes + h->memory_bytes);
    SKIP(body_capped, h->bodies_capped, h->body_capped_bytes);
    SKIP(non_http, h->non_http_flows, h->non_http_bytes);
    SKIP(resync, h->resyncs, h->resync_bytes);
    SKIP(http_error, h->parse_errors, 0);
    SKIP(orphan_response, h->orphan_responses, 0);
    SKIP(upgrade, h->upgrades, h->upgrade_bytes);
#undef SKIP
}

int capture_summary_json(const struct capture_summary *s, struct buf *out)
{
    int rc = 0, first = 1;
#define FIELD(key, v) rc |= buf_printf(out, "%s\"" key "\":%llu", first ? "" : ",", \
                                       (unsigned long long)(v)), first = 0
    rc |= buf_append_char(out, '{');
    FIELD("packets", s->packets);
    FIELD("bytes", s->bytes);
    FIELD("flows", s->flows);
    FIELD("http_flows", s->http_flows);
    FIELD("transactions", s->transactions);
    FIELD("requests", s->requests);
    FIELD("responses", s->responses);
    FIELD("interim_responses", s->interim_responses);
    FIELD("retransmitted_bytes", s->retransmitted_bytes);
    FIELD("out_of_order_segments", s->out_of_order_segments);
    FIELD("ip_datagrams_reassembled", s->ip_datagrams_reassembled);
    FIELD("body_gaps_bridged", s->body_gaps_bridged);
    FIELD("written_early", s->written_early);
    FIELD("memory_peak_bytes", s->memory_peak);
#undef FIELD
    rc |= buf_append_str(out, ",\"first_packet_us\":");
    rc |= s->first_us == TRACE_TIME_NONE ? buf_append_str(out, "null") : jsonw_int(out, s->first_us);
    rc |= buf_append_str(out, ",\"last_packet_us\":");
    rc |= s->first_us == TRACE_TIME_NONE ? buf_append_str(out, "null") : jsonw_int(out, s->last_us);
    rc |= buf_printf(out, ",\"interrupted\":%s,\"flags\":{", s->interrupted ? "true" : "false");
    first = 1;
    for (int bit = 0; bit < TX_FLAG_COUNT; bit++) {
        if (!s->flags[bit])
            continue;
        rc |= buf_printf(out, "%s\"%s\":%llu", first ? "" : ",", tx_flag_name((enum tx_flag)bit),
                         (unsigned long long)s->flags[bit]);
        first = 0;
    }
    rc |= buf_append_str(out, "},\"skipped\":{");
    first = 1;
    for (int i = 0; i < CAPTURE_SKIP_COUNT; i++) {
        if (!s->skipped[i].count && !s->skipped[i].bytes)
            continue;
        rc |= buf_printf(out, "%s\"%s\":{\"count\":%llu", first ? "" : ",", skip_table[i].name,
                         (unsigned long long)s->skipped[i].count);
        if (skip_table[i].bytes)
            rc |= buf_printf(out, ",\"bytes\":%llu", (unsigned long long)s->skipped[i].bytes);
        rc |= buf_append_str(out, ",\"description\":");
        rc |= jsonw_cstring(out, skip_table[i].description, 0);
        rc |= buf_append_char(out, '}');
        first = 0;
    }
    rc |= buf_append_str(out, "}}");
    return rc ? ERR_NOMEM : 0;
}

/* ---- sources ---------------------------------------------------------- */

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool stop_requested(const struct capture *cap)
{
    return cap->o->stop && *cap->o->stop;
}

static int set_filter(struct capture *cap, const char *filter, struct error *err)
{
    struct bpf_program prog;
    if (pcap_compile(cap->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return error_set(err, ERR_USAGE, "invalid capture filter '%s': %s", filter,
                         pcap_geterr(cap->pcap));
    if (pcap_setfilter(cap->pcap, &prog) != 0) {
        pcap_freecode(&prog);
        return error_set(err, ERR_ENV, "cannot install capture filter '%s': %s", filter,
                         pcap_geterr(cap->pcap));
    }
    pcap_freecode(&prog);
    return 0;
}

static int check_linktype(struct capture *cap, const char *what, struct error *err)
{
    const char *name;
    cap->dlt = pcap_datalink(cap->pcap);
    name = pcap_datalink_val_to_name(cap->dlt);
    snprintf(cap->sum->linktype, sizeof cap->sum->linktype, "%s", name ? name : "unknown");
    if (!packet_linktype_supported(cap->dlt))
        return error_set(err, ERR_UNSUPPORTED,
                         "'%s': link type %s (%d) is not supported; supported: %s", what,
                         name ? name : "unknown", cap->dlt, packet_linktypes_supported());
    return 0;
}

static int open_writer(struct capture *cap, const char *kind, const char *name, int64_t start,
                       struct error *err)
{
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.version = TRACE_FORMAT_VERSION;
    snprintf(h.source_kind, sizeof h.source_kind, "%s", kind);
    snprintf(h.source, sizeof h.source, "%s", name);
    snprintf(h.linktype, sizeof h.linktype, "%s", cap->sum->linktype);
    h.capture_start_us = start;
    snprintf(h.created_by, sizeof h.created_by, "rehearse %s", REHEARSE_VERSION);
    return trace_writer_open(&cap->writer, cap->o->output, &h, err);
}

static int check_write(struct capture *cap, struct error *err)
{
    int rc = tx_queue_failed(cap->txq);
    if (rc) {
        *err = cap->write_err;
        return rc;
    }
    return 0;
}

/* Read a pcap or pcapng file to its end (or the stop flag, or -c). */
static int run_file(struct capture *cap, struct error *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    const char *path = cap->o->file;
    struct pcap_pkthdr *hdr = NULL;
    const u_char *data = NULL;
    struct stat st;
    int rc;

    if (stat(path, &st) != 0)
        return error_errno(err, ERR_INPUT, errno, "cannot read capture file '%s'", path);
    if (S_ISDIR(st.st_mode))
        return error_set(err, ERR_INPUT, "'%s' is a directory, not a pcap or pcapng file", path);
    cap->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!cap->pcap)
        return error_set(err, ERR_INPUT,
                         "'%s' is not a readable pcap or pcapng file (libpcap: %s); "
                         "capture with 'tcpdump -w FILE', or convert with 'editcap -F pcap'",
                         path, errbuf);
    if ((rc = check_linktype(cap, path, err)))
        return rc;
    if (cap->o->filter && (rc = set_filter(cap, cap->o->filter, err)))
        return rc;

    /* The header line carries the first packet's time: read it first. */
    int next = pcap_next_ex(cap->pcap, &hdr, &data);
    if ((rc = open_writer(cap, "file", path,
                          next == 1 ? (int64_t)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec
                                    : TRACE_TIME_NONE,
                          err)))
        return rc;
    for (; next == 1; next = pcap_next_ex(cap->pcap, &hdr, &data)) {
        if (stop_requested(cap)) {
            cap->sum->interrupted = true;
            return 0;
        }
        handle_packet(cap, hdr, data);
        if ((rc = check_write(cap, err)))
            return rc;
        if (cap->o->max_packets && cap->sum->packets >= cap->o->max_packets)
            return 0;
    }
    if (next == PCAP_ERROR) {
        const char *msg = pcap_geterr(cap->pcap);
        FILE *fp = pcap_file(cap->pcap);
        long offset = fp ? ftell(fp) : -1;
        if (strstr(msg, "truncated")) {
            cap->sum->skipped[CAPTURE_SKIP_truncated_file].count++;
            snprintf(cap->sum->warning, sizeof cap->sum->warning,
                     "'%s' ends in the middle of packet %llu (at byte %ld): %s; "
                     "everything before it was captured",
                     path, (unsigned long long)cap->sum->packets + 1, offset, msg);
            return 0;
        }
        cap->sum->skipped[CAPTURE_SKIP_corrupt_file].count++;
        return error_set(err, ERR_INPUT,
                         "'%s': packet %llu (near byte %ld) cannot be read: %s; the %llu "
                         "packets before it were captured",
                         path, (unsigned long long)cap->sum->packets + 1, offset, msg,
                         (unsigned long long)cap->sum->packets);
    }
    return 0;
}

static void live_handler(u_char *user, const struct pcap_pkthdr *hdr, const u_char *data)
{
    struct capture *cap = (struct capture *)user;
    handle_packet(cap, hdr, data);
    if (cap->o->max_packets && cap->sum->packets >= cap->o->max_packets) {
        cap->stop_packets = true;
        pcap_breakloop(cap->pcap);
    }
}

static int open_live(struct capture *cap, struct error *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    const char *iface = cap->o->iface;
    char filter[1024];
    int rc;

    cap->pcap = pcap_create(iface, errbuf);
    if (!cap->pcap)
        return error_set(err, ERR_ENV, "cannot capture on '%s': %s", iface, errbuf);
    pcap_set_snaplen(cap->pcap, cap->o->snaplen);
    pcap_set_promisc(cap->pcap, cap->o->promisc);
    pcap_set_timeout(cap->pcap, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(cap->pcap, 32 << 20);
    rc = pcap_activate(cap->pcap);
    if (rc < 0) {
        const char *msg = pcap_geterr(cap->pcap);
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            return error_set(err, ERR_USAGE,
                             "no network interface '%s' (%s); list them with 'ip link'",
                             iface, msg);
        if (rc == PCAP_ERROR_PERM_DENIED)
            return error_set(err, ERR_ENV,
                             "not allowed to capture on '%s' (%s); run as root or grant "
                             "CAP_NET_RAW and CAP_NET_ADMIN",
                             iface, msg);
        return error_set(err, ERR_ENV, "cannot capture on '%s': %s", iface, msg);
    }
    if ((rc = check_linktype(cap, iface, err)))
        return rc;
    snprintf(filter, sizeof filter, "%s", cap->o->filter ? cap->o->filter : "tcp");
    if ((rc = set_filter(cap, filter, err)))
        return rc;
    if (pcap_setnonblock(cap->pcap, 1, errbuf) != 0)
        return error_set(err, ERR_ENV, "cannot capture on '%s': %s", iface, errbuf);
    return open_writer(cap, "interface", iface, wall_us(), err);
}

static int run_live(struct capture *cap, struct error *err)
{
    int fd = pcap_get_selectable_fd(cap->pcap);
    int64_t start = mono_us(), deadline = cap->o->duration_us ? start + cap->o->duration_us : 0;
    int64_t next_flush = start + cap->o->flush_interval_us, drain_until = 0;
    int rc;

    for (;;) {
        int64_t now = mono_us();
        bool stopping = stop_requested(cap) || cap->stop_packets ||
                        (deadline && now >= deadline);
        if (stopping && !drain_until) {
            cap->sum->interrupted = stop_requested(cap);
            if (cap->stop_packets)
                break;
            /* Packets the kernel holds in a ring block not yet handed over
             * arrive within the buffer timeout: collect them. */
            drain_until = now + LIVE_DRAIN_MS * 1000;
        }
        if (drain_until && now >= drain_until)
            break;
        int n = pcap_dispatch(cap->pcap, -1, live_handler, (u_char *)cap);
        if (n == PCAP_ERROR)
            return error_set(err, ERR_ENV, "capture on '%s' failed: %s", cap->o->iface,
                             pcap_geterr(cap->pcap));
        if ((rc = check_write(cap, err)))
            return rc;
        if (cap->stop_packets)
            break;
        if (n == 0 && fd >= 0) {
            struct pollfd pfd = {fd, POLLIN, 0};
            int timeout = drain_until ? 50 : 200;
            if (deadline && !drain_until && (deadline - now) / 1000 < timeout)
                timeout = (int)((deadline - now) / 1000) + 1;
            poll(&pfd, 1, timeout); /* EINTR from the stop signal is fine */
        } else if (n == 0) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (now >= next_flush) {
            expire(cap, wall_us());
            if (trace_writer_flush(cap->writer, err))
                return err->code;
            next_flush = now + cap->o->flush_interval_us;
        }
    }
    struct pcap_stat ps;
    if (pcap_stats(cap->pcap, &ps) == 0)
        cap->sum->skipped[CAPTURE_SKIP_kernel_drop].count += (uint64_t)ps.ps_drop + ps.ps_ifdrop;
    return 0;
}

/* ---- the run ---------------------------------------------------------- */

static int setup(struct capture *cap, struct error *err)
{
    const struct capture_options *o = cap->o;
    struct ipfrag_limits fl = {FRAG_MAX_DATAGRAMS, o->max_memory / 16 + 65536, FRAG_TIMEOUT_US};
    int rc;

    membudget_init(&cap->budget, o->max_memory);
    cap->tcp.max_buffer = o->max_flow_buffer;
    cap->tcp.budget = &cap->budget;
    cap->txq = tx_queue_new(&cap->budget, emit, cap);
    cap->http.txq = cap->txq;
    cap->http.budget = &cap->budget;
    cap->http.max_body = o->max_body;
    cap->http.max_hold = o->max_flow_buffer;
    cap->flows = flow_table_new(sizeof(struct flow_state), &cap->budget);
    cap->frag = ipfrag_new(&fl);
    buf_init(&cap->redacted, (size_t)16 << 20);
    if (!cap->txq || !cap->flows || !cap->frag)
        return error_set(err, ERR_NOMEM, "out of memory starting the capture");
    if (!o->keep_secrets) {
        if ((rc = redactor_new(&cap->redactor, err)))
            return rc;
        for (size_t i = 0; i < o->redact_count; i++)
            if ((rc = redactor_add_header(cap->redactor, o->redact_headers[i], err)))
                return rc;
    }
    return 0;
}

/* Finish every flow, write what is held, then the summary line. */
static int finish(struct capture *cap, struct error *err)
{
    struct buf line;
    int rc;

    while (flow_table_oldest(cap->flows))
        flow_drop(cap, flow_table_oldest(cap->flows), cap->now);
    ipfrag_expire(cap->frag, INT64_MAX);
    tx_queue_finish(cap->txq);
    if ((rc = check_write(cap, err)))
        return rc;
    collect(cap);
    buf_init(&line, 1 << 20);
    rc = capture_summary_json(cap->sum, &line);
    if (!rc)
        rc = trace_writer_write_summary(cap->writer, line.data, err);
    else
        rc = error_set(err, rc, "out of memory writing the capture summary");
    buf_release(&line);
    return rc;
}

static void teardown(struct capture *cap)
{
    if (cap->flows) {
        /* Only reached on failure paths with flows left: free them. */
        while (flow_table_oldest(cap->flows)) {
            struct flow *f = flow_table_oldest(cap->flows);
            struct flow_state *fs = flow_user(f);
            if (!fs->closed) {
                fs->http.closed = true; /* do not emit: the writer is gone */
                tcp_half_release(&fs->tcp[0], &cap->tcp);
                tcp_half_release(&fs->tcp[1], &cap->tcp);
                for (int d = 0; d < 2; d++)
                    buf_release(&fs->http.half[d].line);
            }
            flow_table_remove(cap->flows, f);
        }
    }
    flow_table_free(cap->flows);
    tx_queue_free(cap->txq);
    ipfrag_free(cap->frag);
    redactor_free(cap->redactor);
    buf_release(&cap->redacted);
    free(cap->hdrs);
    if (cap->pcap)
        pcap_close(cap->pcap);
}

int capture_run(const struct capture_options *o, struct capture_summary *summary,
                struct error *err)
{
    struct capture cap;
    int rc;

    memset(summary, 0, sizeof *summary);
    summary->first_us = summary->last_us = TRACE_TIME_NONE;
    memset(&cap, 0, sizeof cap);
    cap.o = o;
    cap.sum = summary;
    cap.next_expiry = INT64_MIN;
    error_init(&cap.write_err);

    if (!!o->file == !!o->iface) {
        rc = error_set(err, ERR_USAGE, "give either a file (-r) or an interface (-i)");
        goto out;
    }
    if ((rc = setup(&cap, err)))
        goto out;
    if (o->file)
        rc = run_file(&cap, err);
    else if (!(rc = open_live(&cap, err)))
        rc = run_live(&cap, err);
out:
    if (cap.writer) {
        if (!rc) {
            rc = finish(&cap, err);
        } else {
            /* Keep what was captured: finish and sum up, but report the
             * first error. */
            struct error later;
            error_init(&later);
            if (!tx_queue_failed(cap.txq))
                finish(&cap, &later);
        }
        struct error close_err;
        error_init(&close_err);
        int crc = trace_writer_close(cap.writer, rc ? &close_err : err);
        if (!rc)
            rc = crc;
    } else if (cap.txq || cap.flows) {
        collect(&cap);
    }
    teardown(&cap);
    return rc;
}
