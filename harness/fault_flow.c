#include "fault_flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A piece of the bytes just read, on its way through the stages. */
struct fault_seg {
    uint32_t off, len;      /* into io->scratch */
    int64_t t;              /* when it leaves the current stage */
    bool close;             /* limit_data reached: close once written */
};

/* Reads while a toxic applies are capped, so a slicer or a low bandwidth
 * cannot turn one read into an unbounded number of pieces. */
#define TOXIC_READ_MAX (16 * 1024)
#define SLICES_PER_READ 256

uint64_t fault_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [-range, range). */
static int64_t rng_symmetric(uint64_t *state, int64_t range)
{
    if (range <= 0)
        return 0;
    return (int64_t)(fault_rng_next(state) % (uint64_t)(2 * range)) - range;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

void fault_flow_init(struct fault_flow *f, int src, int dst)
{
    memset(f, 0, sizeof *f);
    f->src = src;
    f->dst = dst;
}

static void chunk_pop(struct fault_flow *f)
{
    struct fault_chunk *c = f->head;
    f->head = c->next;
    if (!f->head)
        f->tail = NULL;
    f->queued -= c->len;
    free(c);
}

void fault_flow_release(struct fault_flow *f)
{
    while (f->head)
        chunk_pop(f);
    free(f->tox);
    f->tox = NULL;
    f->ntox = 0;
}

static int chunk_append(struct fault_flow *f, const char *data, size_t len, int64_t release_us,
                        bool close_after)
{
    struct fault_chunk *c = malloc(sizeof *c + len);
    if (!c)
        return -1;
    c->next = NULL;
    c->release_us = release_us;
    c->len = (uint32_t)len;
    c->off = 0;
    c->close_after = close_after;
    memcpy(c->data, data, len);
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    f->queued += len;
    return 0;
}

static int segs_reserve(struct fault_flow_io *io, size_t n)
{
    if (n <= io->segs_cap)
        return 0;
    size_t cap = io->segs_cap ? io->segs_cap : 64;
    while (cap < n)
        cap *= 2;
    struct fault_seg *a = realloc(io->segs, cap * sizeof *a);
    if (!a)
        return -1;
    io->segs = a;
    struct fault_seg *b = realloc(io->segs2, cap * sizeof *b);
    if (!b)
        return -1;
    io->segs2 = b;
    io->segs_cap = cap;
    return 0;
}

static int seg_push(struct fault_flow_io *io, size_t *nout, struct fault_seg sg)
{
    if (segs_reserve(io, *nout + 1))
        return -1;
    io->segs2[(*nout)++] = sg;
    return 0;
}

/* Run one stage over io->segs[0..nin) into io->segs2; returns the output
 * count, or -1 when memory ran out.  segs_reserve may move both arrays, so
 * each input piece is copied before anything is pushed. */
static long stage_run(struct fault_tstate *s, struct fault_flow_io *io, size_t nin)
{
    const struct fault_toxic *d = &s->toxic->def;
    size_t nout = 0;

    for (size_t i = 0; i < nin; i++) {
        struct fault_seg sg = io->segs[i];
        switch (d->type) {
        case FAULT_TOXIC_LATENCY: {
            int64_t delay = (d->u.latency.latency_ms +
                             rng_symmetric(&s->rng, d->u.latency.jitter_ms)) * 1000;
            if (delay < 0)
                delay = 0;
            s->free_at_us = max64(s->free_at_us, sg.t + delay);
            sg.t = s->free_at_us;
            break;
        }
        case FAULT_TOXIC_BANDWIDTH: {
            int64_t rate = d->u.bandwidth.rate_kbs; /* KB/s: bytes per ms */
            if (rate <= 0)
                break;
            /* Pieces of at most 100 ms worth, as Toxiproxy, so a big read is
             * delivered smoothly rather than in one late burst. */
            uint64_t piece_max = (uint64_t)rate * 100;
            uint32_t off = sg.off, left = sg.len;
            do {
                uint32_t len = left > piece_max ? (uint32_t)piece_max : left;
                int64_t start = max64(s->free_at_us, sg.t);
                s->free_at_us = start + (int64_t)((uint64_t)len * 1000 / (uint64_t)rate);
                if (seg_push(io, &nout, (struct fault_seg){off, len, s->free_at_us,
                                                           sg.close && len == left}))
                    return -1;
                off += len;
                left -= len;
            } while (left > 0);
            continue;
        }
        case FAULT_TOXIC_SLICER: {
            int64_t avg = d->u.slicer.average_size, var = d->u.slicer.size_variation;
            int64_t at = max64(s->free_at_us, sg.t);
            uint32_t off = sg.off, left = sg.len;
            do {
                int64_t want = avg + rng_symmetric(&s->rng, var);
                uint32_t len = want < 1 ? 1 : want > left ? left : (uint32_t)want;
                if (left == 0)
                    len = 0;
                if (seg_push(io, &nout, (struct fault_seg){off, len, at, sg.close && len == left}))
                    return -1;
                at += d->u.slicer.delay_us;
                off += len;
                left -= len;
            } while (left > 0);
            s->free_at_us = at;
            continue;
        }
        case FAULT_TOXIC_LIMIT_DATA: {
            int64_t room = d->u.limit_data.bytes - s->passed;
            if (s->closing) {
                io->dropped += sg.len;
                continue;
            }
            if (room < 0)
                room = 0;
            if ((int64_t)sg.len > room) {
                io->dropped += sg.len - (uint32_t)room;
                sg.len = (uint32_t)room;
            }
            s->passed += sg.len;
            if (s->passed >= d->u.limit_data.bytes)
                sg.close = s->closing = true;
            break;
        }
        case FAULT_TOXIC_RESET_PEER:
            if (!s->fire_at_us)
                s->fire_at_us = sg.t + d->u.reset_peer.timeout_ms * 1000;
            /* the data is swallowed, as by timeout */
            __attribute__((fallthrough));
        case FAULT_TOXIC_TIMEOUT:
            io->dropped += sg.len;
            if (!sg.close) /* a close decided by an earlier stage still happens */
                continue;
            sg.len = 0;
            break;
        case FAULT_TOXIC_SLOW_CLOSE:
        case FAULT_TOXIC_DOWN:
            break;
        }
        if (seg_push(io, &nout, sg))
            return -1;
    }
    return (long)nout;
}

/* Pass n bytes of io->scratch, read now, through the flow's toxics and
 * queue what comes out. */
static int ingest(struct fault_flow *f, struct fault_flow_io *io, size_t n)
{
    size_t count = 1;

    if (segs_reserve(io, 16))
        return -1;
    io->segs[0] = (struct fault_seg){0, (uint32_t)n, io->now_us, false};
    for (unsigned i = 0; i < f->ntox && count; i++) {
        long out = stage_run(&f->tox[i], io, count);
        if (out < 0)
            return -1;
        struct fault_seg *tmp = io->segs;
        io->segs = io->segs2;
        io->segs2 = tmp;
        count = (size_t)out;
    }
    /* Queue, merging neighbours that are contiguous and due together. */
    for (size_t i = 0; i < count;) {
        struct fault_seg sg = io->segs[i++];
        while (i < count && !sg.close && io->segs[i].t == sg.t &&
               io->segs[i].off == sg.off + sg.len) {
            sg.len += io->segs[i].len;
            sg.close = io->segs[i].close;
            i++;
        }
        if ((sg.len || sg.close) &&
            chunk_append(f, io->scratch + sg.off, sg.len, sg.t, sg.close))
            return -1;
    }
    return 0;
}

/* The read reached EOF: when may the FIN be passed on? */
static void eof_through_stages(struct fault_flow *f, int64_t now)
{
    int64_t t = now;
    for (unsigned i = 0; i < f->ntox; i++) {
        struct fault_tstate *s = &f->tox[i];
        const struct fault_toxic *d = &s->toxic->def;
        switch (d->type) {
        case FAULT_TOXIC_LATENCY:
        case FAULT_TOXIC_BANDWIDTH:
        case FAULT_TOXIC_SLICER:
            t = max64(t, s->free_at_us);
            break;
        case FAULT_TOXIC_SLOW_CLOSE:
            t += d->u.slow_close.delay_ms * 1000;
            break;
        case FAULT_TOXIC_RESET_PEER:
            if (!s->fire_at_us)
                s->fire_at_us = t + d->u.reset_peer.timeout_ms * 1000;
            break;
        default:
            break;
        }
    }
    f->eof_at_us = t;
}

static enum fault_flow_result toxic_timers(const struct fault_flow *f, int64_t now)
{
    for (unsigned i = 0; i < f->ntox; i++) {
        const struct fault_tstate *s = &f->tox[i];
        const struct fault_toxic *d = &s->toxic->def;
        if (d->type == FAULT_TOXIC_TIMEOUT && d->u.timeout.timeout_ms > 0 &&
            now >= s->started_us + d->u.timeout.timeout_ms * 1000)
            return FAULT_FLOW_CLOSE;
        if (d->type == FAULT_TOXIC_RESET_PEER && s->fire_at_us && now >= s->fire_at_us)
            return FAULT_FLOW_RESET;
    }
    return FAULT_FLOW_OK;
}

static bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

/* Write the chunks that are due, in order, while dst takes them. */
static enum fault_flow_result write_due(struct fault_flow *f, struct fault_flow_io *io)
{
    while (f->head && f->writable && f->head->release_us <= io->now_us) {
        struct fault_chunk *c = f->head;
        while (c->off < c->len) {
            ssize_t w = send(f->dst, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                if (would_block(errno)) {
                    f->writable = false;
                    return FAULT_FLOW_OK;
                }
                return FAULT_FLOW_ABORT;
            }
            c->off += (uint32_t)w;
            io->written += (uint64_t)w;
        }
        bool close_after = c->close_after;
        chunk_pop(f);
        if (close_after)
            return FAULT_FLOW_CLOSE;
    }
    return FAULT_FLOW_OK;
}

/* The fast path: no toxic, nothing queued.  Write straight from the
 * scratch buffer and keep only what dst would not take. */
static int relay(struct fault_flow *f, struct fault_flow_io *io, size_t n)
{
    size_t done = 0;
    while (f->writable && done < n) {
        ssize_t w = send(f->dst, io->scratch + done, n - done, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (would_block(errno)) {
                f->writable = false;
                break;
            }
            return -2;
        }
        done += (size_t)w;
        io->written += (uint64_t)w;
    }
    if (done < n && chunk_append(f, io->scratch + done, n - done, 0, false))
        return -1;
    return 0;
}

static size_t read_size(const struct fault_flow *f, const struct fault_flow_io *io)
{
    size_t want = io->scratch_size;
    if (f->queued < io->buffer_max && io->buffer_max - f->queued < want)
        want = io->buffer_max - f->queued;
    if (f->ntox) {
        if (want > TOXIC_READ_MAX)
            want = TOXIC_READ_MAX;
        for (unsigned i = 0; i < f->ntox; i++) {
            const struct fault_toxic *d = &f->tox[i].toxic->def;
            if (d->type == FAULT_TOXIC_SLICER) {
                uint64_t cap = (uint64_t)d->u.slicer.average_size * SLICES_PER_READ;
                if (cap < want)
                    want = (size_t)cap;
            }
        }
    }
    return want;
}

bool fault_flow_wants_read(const struct fault_flow *f, const struct fault_flow_io *io)
{
    return f->readable && !f->eof_read && f->queued < io->buffer_max;
}

enum fault_flow_result fault_flow_pump(struct fault_flow *f, struct fault_flow_io *io,
                                       bool can_read, unsigned *budget)
{
    enum fault_flow_result r = toxic_timers(f, io->now_us);
    if (r != FAULT_FLOW_OK)
        return r;
    for (;;) {
        r = write_due(f, io);
        if (r != FAULT_FLOW_OK)
            return r;
        if (f->eof_read && !f->eof_sent && !f->head && io->now_us >= f->eof_at_us) {
            shutdown(f->dst, SHUT_WR);
            f->eof_sent = true;
        }
        if (!can_read || !fault_flow_wants_read(f, io) || *budget == 0)
            return FAULT_FLOW_OK;
        (*budget)--;

        size_t want = read_size(f, io);
        ssize_t n = recv(f->src, io->scratch, want, 0);
        if (n > 0) {
            /* Edge-triggered: a short read drained the socket, and new
             * data raises a new edge.  A FIN that arrived before this read
             * raised its edge already, so then read on to the EOF. */
            if ((size_t)n < want && !f->src_hup)
                f->readable = false;
            int rc = (f->ntox == 0 && !f->head) ? relay(f, io, (size_t)n)
                                                : ingest(f, io, (size_t)n);
            if (rc)
                return FAULT_FLOW_ABORT;
        } else if (n == 0) {
            f->eof_read = true;
            f->readable = false;
            eof_through_stages(f, io->now_us);
        } else if (errno == EINTR) {
            continue;
        } else if (would_block(errno)) {
            f->readable = false;
        } else {
            return FAULT_FLOW_ABORT;
        }
    }
}

int64_t fault_flow_next_wake(const struct fault_flow *f)
{
    int64_t wake = INT64_MAX;
    if (f->head && f->writable)
        wake = f->head->release_us;
    if (f->eof_read && !f->eof_sent && !f->head && f->eof_at_us < wake)
        wake = f->eof_at_us;
    for (unsigned i = 0; i < f->ntox; i++) {
        const struct fault_tstate *s = &f->tox[i];
        const struct fault_toxic *d = &s->toxic->def;
        int64_t at = INT64_MAX;
        if (d->type == FAULT_TOXIC_TIMEOUT && d->u.timeout.timeout_ms > 0)
            at = s->started_us + d->u.timeout.timeout_ms * 1000;
        else if (d->type == FAULT_TOXIC_RESET_PEER && s->fire_at_us)
            at = s->fire_at_us;
        if (at < wake)
            wake = at;
    }
    return wake;
}

enum fault_flow_result fault_flow_set_toxics(struct fault_flow *f, struct fault_tstate *tox,
                                             unsigned n, bool released, int64_t now_us)
{
    enum fault_flow_result r = FAULT_FLOW_OK;

    for (unsigned i = 0; i < f->ntox; i++) {
        bool kept = false;
        for (unsigned j = 0; j < n && !kept; j++)
            kept = tox[j].toxic == f->tox[i].toxic;
        if (!kept && f->tox[i].toxic->def.type == FAULT_TOXIC_TIMEOUT)
            r = FAULT_FLOW_CLOSE;
    }
    free(f->tox);
    f->tox = n ? tox : NULL;
    f->ntox = n;
    if (!n)
        free(tox);
    if (released) {
        for (struct fault_chunk *c = f->head; c; c = c->next)
            if (c->release_us > now_us)
                c->release_us = now_us;
        if (f->eof_read && f->eof_at_us > now_us)
            f->eof_at_us = now_us;
        for (unsigned i = 0; i < n; i++)
            f->tox[i].free_at_us = 0;
    }
    return r;
}
