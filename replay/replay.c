/*
 * replay.c — the replay engine's orchestration: the reader thread (trace →
 * selection → worker queues), the writer thread (result lines → file), stop
 * handling, progress and the summary.  The event loops that talk HTTP are
 * in replay_worker.c.
 */
#include "replay.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"
#include "now.h"
#include "replay_internal.h"
#include "results_summary.h"
#include "tx_clone.h"

#define OUT_QUEUE_BYTES ((size_t)64 << 20)

static const char *const stop_names[] = {
#define REPLAY_STOP_NAME(name, text) text,
    REPLAY_STOP_MAP(REPLAY_STOP_NAME)
#undef REPLAY_STOP_NAME
};

const char *replay_stop_name(enum replay_stop_reason r)
{
    return (unsigned)r < sizeof stop_names / sizeof stop_names[0] ? stop_names[r] : "unknown";
}

void replay_config_init(struct replay_config *c)
{
    memset(c, 0, sizeof *c);
    c->speed = 1.0;
    c->window = 1024;
    c->queue = 1024;
    c->timeout_us = 30 * 1000000LL;
    c->connect_timeout_us = 5 * 1000000LL;
    c->conn_idle_us = 60 * 1000000LL;
    c->grace_us = 2 * 1000000LL;
    c->max_response = (uint64_t)256 << 20;
    c->max_inline_body = (uint64_t)1 << 20;
}

int64_t replay_wall_us(const struct replay *r, int64_t mono)
{
    return r->wall_start + (mono - r->mono_start);
}

/* ------------------------------------------------------------ stopping */

static void wake_everyone(struct replay *r)
{
    for (unsigned i = 0; i < r->workers_started; i++) {
        struct inbox *in = worker_inbox(r->workers[i]);
        pthread_mutex_lock(&in->lock);
        pthread_cond_broadcast(&in->not_full);
        pthread_mutex_unlock(&in->lock);
        worker_wake(r->workers[i]);
    }
    pthread_mutex_lock(&r->out_lock);
    pthread_cond_broadcast(&r->out_room);
    pthread_cond_broadcast(&r->out_ready);
    pthread_mutex_unlock(&r->out_lock);
}

void replay_request_stop(struct replay *r, enum replay_stop_reason reason,
                         const struct error *cause)
{
    pthread_mutex_lock(&r->stop_lock);
    if (r->stop_reason == REPLAY_COMPLETE) {
        r->stop_reason = reason;
        if (cause)
            r->stop_error = *cause;
    }
    if (atomic_load(&r->stop_level) == 0) {
        atomic_store(&r->stop_deadline, (long long)(now_mono_us() + r->cfg.grace_us));
        atomic_store(&r->stop_level, 1);
    }
    pthread_mutex_unlock(&r->stop_lock);
    wake_everyone(r);
}

void replay_stop(struct replay *r)
{
    if (atomic_load(&r->stop_level) == 0) {
        replay_request_stop(r, REPLAY_STOP_SIGNAL, NULL);
        return;
    }
    atomic_store(&r->stop_level, 2);
    wake_everyone(r);
}

/* The last thread to leave tells whoever polls done_fd. */
static void thread_exit(struct replay *r)
{
    if (atomic_fetch_sub(&r->threads_running, 1) == 1) {
        uint64_t one = 1;
        if (write(r->done_fd, &one, sizeof one) < 0) {
            /* an eventfd write only fails on overflow: cannot happen once */
        }
    }
}

int replay_done_fd(const struct replay *r)
{
    return r->done_fd;
}

/* ------------------------------------------------------------ reader */

static void close_inboxes(struct replay *r)
{
    for (unsigned i = 0; i < r->workers_started; i++) {
        struct inbox *in = worker_inbox(r->workers[i]);
        pthread_mutex_lock(&in->lock);
        in->closed = true;
        pthread_mutex_unlock(&in->lock);
        worker_wake(r->workers[i]);
    }
}

/* Queue a transaction for its worker; false when stopping. */
static bool dispatch(struct replay *r, struct rtx *t)
{
    /* a different hash than --shard and --sample, so every worker gets a
     * share of a shard's connections */
    uint64_t h = t->tx->conn * 0x9e3779b97f4a7c15ull;
    unsigned index = (unsigned)((h >> 32) % r->worker_count);
    struct worker *w = r->workers[index];
    struct inbox *in = worker_inbox(w);
    bool was_empty;

    pthread_mutex_lock(&in->lock);
    while (in->count >= in->cap && atomic_load(&r->stop_level) == 0)
        pthread_cond_wait(&in->not_full, &in->lock);
    if (atomic_load(&r->stop_level) != 0) {
        pthread_mutex_unlock(&in->lock);
        return false;
    }
    t->next = NULL;
    if (in->tail)
        in->tail->next = t;
    else
        in->head = t;
    in->tail = t;
    was_empty = in->count++ == 0;
    pthread_mutex_unlock(&in->lock);
    if (was_empty)
        worker_wake(w);
    return true;
}

/* The trace cannot be read further: record why, without stopping what is
 * already under way. */
static void record_input_error(struct replay *r, const struct error *err)
{
    pthread_mutex_lock(&r->stop_lock);
    if (r->stop_reason == REPLAY_COMPLETE) {
        r->stop_reason = REPLAY_STOP_TRACE_ERROR;
        r->stop_error = *err;
    }
    pthread_mutex_unlock(&r->stop_lock);
}

static void dry_run_tx(struct replay *r, const struct trace_tx *tx, struct outgoing *og)
{
    for (size_t i = 0; i < r->target_count; i++) {
        if (rewrite_apply(r->cfg.rules, &r->cfg.targets[i], (int)i, &tx->request, og))
            continue;
        r->cfg.dry_run(r->cfg.dry_run_arg, tx, i, &r->cfg.targets[i], og);
    }
}

static void *reader_main(void *arg)
{
    struct replay *r = arg;
    const struct replay_config *c = &r->cfg;
    const struct trace_tx *tx;
    struct selection sel = *c->selection; /* a copy: selection_begin sets the start */
    struct outgoing og;
    int64_t origin = TRACE_TIME_NONE, last_offset = 0;
    uint64_t seq = 0;
    bool began = false;
    size_t extra = sizeof(struct rtx) + r->target_count * sizeof(struct tx_result);
    struct error err;
    int rc;

    pthread_setname_np(pthread_self(), "replay-reader");
    error_init(&err);
    outgoing_init(&og);
    while (atomic_load(&r->stop_level) == 0) {
        enum skip_reason why;
        enum slice_position pos;
        struct trace_tx *copy;
        struct rtx *t;

        if (c->limit && seq >= c->limit)
            break;
        rc = trace_reader_next(r->reader, &tx, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            /* the input ends here: what was read is still replayed */
            record_input_error(r, &err);
            break;
        }
        if (!began) {
            int64_t start = trace_reader_header(r->reader)->capture_start_us;
            selection_begin(&sel, start != TRACE_TIME_NONE ? start : tx->req_start_us);
            began = true;
        }
        pos = selection_slice(&sel, tx);
        if (pos == SLICE_AFTER)
            break; /* not counted as read: see the summary's "read" */
        /* Every transaction read is counted once, in this order: another
         * shard's first, then the slice, the sample, the filter.  So the
         * read of a shard minus its other_shard is what it owns, and the
         * counts of shards add up to those of one run (rehearse merge). */
        atomic_fetch_add(&r->read, 1);
        if (pos == SLICE_BEFORE) {
            atomic_fetch_add(&r->skipped[selection_in_shard(&sel, tx) ? SKIP_OUT_OF_SLICE
                                                                      : SKIP_OTHER_SHARD],
                             1);
            continue;
        }
        if (origin == TRACE_TIME_NONE && tx->req_start_us != TRACE_TIME_NONE)
            origin = tx->req_start_us;
        why = selection_pick(&sel, tx);
        if (why == SKIP_NONE)
            why = rewrite_check_sendable(tx);
        if (why != SKIP_NONE) {
            atomic_fetch_add(&r->skipped[why], 1);
            continue;
        }
        if (c->dry_run) {
            dry_run_tx(r, tx, &og);
            seq++;
            atomic_fetch_add(&r->selected, 1);
            continue;
        }
        copy = tx_clone(tx, extra, NULL);
        if (!copy) {
            error_set(&err, ERR_NOMEM, "out of memory copying transaction %llu",
                      (unsigned long long)tx->id);
            record_input_error(r, &err);
            break;
        }
        t = tx_clone_extra(copy);
        t->tx = copy;
        t->pending = (unsigned)r->target_count;
        if (c->rate > 0) {
            t->offset_us = (int64_t)((double)seq * 1e6 / c->rate);
        } else if (c->speed > 0) {
            /* capture order is request order; never schedule backwards */
            int64_t off = tx->req_start_us != TRACE_TIME_NONE && origin != TRACE_TIME_NONE
                              ? tx->req_start_us - origin
                              : last_offset;
            t->offset_us = last_offset = off > last_offset ? off : last_offset;
        }
        seq++;
        atomic_fetch_add(&r->selected, 1);
        if (!dispatch(r, t)) {
            free(copy);
            break;
        }
    }
    outgoing_release(&og);
    atomic_store(&r->reading_done, true);
    close_inboxes(r);
    thread_exit(r);
    return NULL;
}

/* ------------------------------------------------------------ writer */

bool replay_emit_batch(struct replay *r, struct out_line *head, struct out_line *tail,
                       size_t bytes)
{
    bool ok;

    pthread_mutex_lock(&r->out_lock);
    while (r->out_bytes > r->out_max && !r->out_failed && atomic_load(&r->stop_level) < 2)
        pthread_cond_wait(&r->out_room, &r->out_lock);
    ok = !r->out_failed;
    if (ok) {
        bool was_empty = r->out_head == NULL;
        if (r->out_tail)
            r->out_tail->next = head;
        else
            r->out_head = head;
        r->out_tail = tail;
        r->out_bytes += bytes;
        if (was_empty)
            pthread_cond_signal(&r->out_ready);
    }
    pthread_mutex_unlock(&r->out_lock);
    if (!ok) {
        while (head) {
            struct out_line *next = head->next;
            free(head);
            head = next;
        }
    }
    return ok;
}

/* A worker leaves: when the last one is gone, the writer can finish. */
static void producer_done(struct replay *r)
{
    pthread_mutex_lock(&r->out_lock);
    r->out_producers--;
    pthread_cond_signal(&r->out_ready);
    pthread_mutex_unlock(&r->out_lock);
}

static void *writer_main(void *arg)
{
    struct replay *r = arg;
    struct error err;

    pthread_setname_np(pthread_self(), "replay-writer");
    error_init(&err);
    for (;;) {
        struct out_line *batch;
        size_t bytes;
        bool last;

        pthread_mutex_lock(&r->out_lock);
        while (!r->out_head && r->out_producers > 0)
            pthread_cond_wait(&r->out_ready, &r->out_lock);
        batch = r->out_head;
        bytes = r->out_bytes;
        r->out_head = r->out_tail = NULL;
        r->out_bytes = 0;
        last = r->out_producers == 0;
        pthread_cond_broadcast(&r->out_room);
        pthread_mutex_unlock(&r->out_lock);
        (void)bytes;

        while (batch) {
            struct out_line *next = batch->next;
            if (!r->out_failed) {
                if (results_writer_write_lines(r->writer, batch->data, batch->len, batch->count,
                                               &err)) {
                    pthread_mutex_lock(&r->out_lock);
                    r->out_failed = true;
                    pthread_cond_broadcast(&r->out_room);
                    pthread_mutex_unlock(&r->out_lock);
                    replay_request_stop(r, REPLAY_STOP_OUTPUT_ERROR, &err);
                } else {
                    atomic_fetch_add(&r->replayed, batch->count);
                }
            }
            free(batch);
            batch = next;
        }
        if (last)
            break;
    }
    thread_exit(r);
    return NULL;
}

/* Worker thread body: run the loop, then tell the writer. */
struct worker_start {
    struct replay *r;
    struct worker *w;
};

static void *worker_thread(void *arg)
{
    struct worker_start *ws = arg;
    struct replay *r = ws->r;
    pthread_setname_np(pthread_self(), "replay-worker");
    worker_main(ws->w);
    free(ws);
    producer_done(r);
    thread_exit(r);
    return NULL;
}

/* Until every thread has left.  The last one writes done_fd as the very
 * last thing it does with the replay, so done_fd being readable (not the
 * counter reaching 0) means the replay may be freed. */
static void wait_threads(struct replay *r)
{
    for (;;) {
        struct pollfd p = {r->done_fd, POLLIN, 0};
        if (poll(&p, 1, 1000) > 0 && (p.revents & POLLIN))
            return;
    }
}

/* ------------------------------------------------------------ start */

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 8 ? 8 : (unsigned)n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_ALL);
}

static int open_results(struct replay *r, struct error *err)
{
    struct results_header *h = &r->header;
    json_t *trace_header = json_copy(trace_reader_header_json(r->reader));
    char *trace_header_text = NULL;
    int rc;

    /* the trace's header identifies it; a part of a split trace has the
     * header of the whole but for "split" */
    if (trace_header) {
        json_object_del(trace_header, "split");
        trace_header_text = json_dumps(trace_header, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(trace_header);
    }
    memset(h, 0, sizeof *h);
    snprintf(h->trace, sizeof h->trace, "%s", r->cfg.trace_path);
    h->started_us = r->wall_start;
    h->target_count = r->target_count;
    for (size_t i = 0; i < r->target_count; i++) {
        snprintf(h->targets[i].name, sizeof h->targets[i].name, "%s", r->cfg.targets[i].name);
        snprintf(h->targets[i].url, sizeof h->targets[i].url, "%s", r->cfg.targets[i].url);
    }
    h->options_json = r->cfg.options_json;
    h->trace_header_json = trace_header_text;
    rc = results_writer_open(&r->writer, r->cfg.results_path, h, err);
    h->trace_header_json = NULL;
    free(trace_header_text);
    return rc;
}

/* A part made by `rehearse trace split` holds one shard: replay it as that
 * shard, so its results say which one they are. */
static int check_split(const struct trace_header *th, const struct replay_config *cfg,
                       struct error *err)
{
    const struct selection *s = cfg->selection;
    if (!th->split_count)
        return 0;
    if (s->shard_count == th->split_count && s->shard_index == th->split_index)
        return 0;
    return error_set(err, ERR_USAGE,
                     "%s: this trace is shard %u/%u of a trace split by 'rehearse trace "
                     "split'; replay it with --shard %u/%u (the same connections), not %s",
                     cfg->trace_path, th->split_index, th->split_count, th->split_index,
                     th->split_count, s->shard_count ? "another shard" : "as a whole trace");
}

static void destroy(struct replay *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->worker_count; i++)
        worker_free(r->workers ? r->workers[i] : NULL);
    free(r->workers);
    trace_reader_close(r->reader);
    if (r->done_fd >= 0)
        close(r->done_fd);
    pthread_mutex_destroy(&r->stop_lock);
    pthread_mutex_destroy(&r->out_lock);
    pthread_cond_destroy(&r->out_ready);
    pthread_cond_destroy(&r->out_room);
    free(r);
}

int replay_start(struct replay **out, const struct replay_config *cfg, struct error *err)
{
    struct replay *r;
    unsigned workers;
    int rc;

    *out = NULL;
    if (cfg->target_count == 0 || cfg->target_count > RESULTS_MAX_TARGETS)
        return error_set(err, ERR_USAGE, "a replay needs between 1 and %d targets",
                         RESULTS_MAX_TARGETS);
    pthread_once(&curl_once, init_curl);
    if (curl_init_result != CURLE_OK)
        return error_set(err, ERR_ENV, "cannot initialise libcurl: %s",
                         curl_easy_strerror(curl_init_result));
    r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, ERR_NOMEM, "out of memory starting the replay");
    r->cfg = *cfg;
    r->target_count = cfg->target_count;
    r->done_fd = -1;
    pthread_mutex_init(&r->stop_lock, NULL);
    pthread_mutex_init(&r->out_lock, NULL);
    pthread_cond_init(&r->out_ready, NULL);
    pthread_cond_init(&r->out_room, NULL);
    r->out_max = OUT_QUEUE_BYTES;
    if (!r->cfg.window)
        r->cfg.window = 1024;
    if (!r->cfg.queue)
        r->cfg.queue = 1024;

    workers = cfg->workers ? cfg->workers : default_workers();
    if (cfg->concurrency && workers > cfg->concurrency)
        workers = cfg->concurrency; /* every worker needs a share of the cap */
    if (cfg->dry_run)
        workers = 0;
    r->worker_count = workers;

    r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->done_fd < 0) {
        rc = error_errno(err, ERR_ENV, errno, "cannot create an eventfd");
        goto fail;
    }
    if ((rc = trace_reader_open(&r->reader, cfg->trace_path, 0, err)))
        goto fail;
    if ((rc = check_split(trace_reader_header(r->reader), cfg, err)))
        goto fail;
    r->mono_start = now_mono_us();
    r->wall_start = now_wall_us();
    r->origin = r->mono_start + (cfg->speed > 0 || cfg->rate > 0 ? REPLAY_LEAD_US : 0);

    r->workers = calloc(workers ? workers : 1, sizeof *r->workers);
    if (!r->workers) {
        rc = error_set(err, ERR_NOMEM, "out of memory starting workers");
        goto fail;
    }
    for (unsigned i = 0; i < workers; i++) {
        unsigned share = 0;
        if (cfg->concurrency)
            share = cfg->concurrency / workers + (i < cfg->concurrency % workers ? 1 : 0);
        r->workers[i] = worker_new(r, i, share, err);
        if (!r->workers[i]) {
            rc = err ? err->code : ERR_NOMEM;
            goto fail;
        }
    }
    if (!cfg->dry_run && (rc = open_results(r, err)))
        goto fail;

    /* threads: the last one to finish signals done_fd */
    r->out_producers = workers;
    atomic_store(&r->threads_running, workers + 1 + (cfg->dry_run ? 0 : 1));
    for (unsigned i = 0; i < workers; i++) {
        struct worker_start *ws = malloc(sizeof *ws);
        pthread_t t;
        if (ws) {
            ws->r = r;
            ws->w = r->workers[i];
        }
        if (!ws || pthread_create(&t, NULL, worker_thread, ws)) {
            free(ws);
            rc = error_set(err, ERR_ENV, "cannot start worker thread %u", i);
            goto fail_running;
        }
        pthread_detach(t);
        r->workers_started++;
    }
    if (!cfg->dry_run) {
        if (pthread_create(&r->writer_thread, NULL, writer_main, r)) {
            rc = error_set(err, ERR_ENV, "cannot start the writer thread");
            goto fail_running;
        }
        r->writer_started = true;
    }
    if (pthread_create(&r->reader_thread, NULL, reader_main, r)) {
        rc = error_set(err, ERR_ENV, "cannot start the reader thread");
        goto fail_running;
    }
    r->reader_started = true;
    *out = r;
    return 0;

fail_running:
    /* Some threads run and wait for input that will not come: stop them,
     * wait for them, and remove the half-made results file. */
    pthread_mutex_lock(&r->out_lock);
    r->out_producers = r->workers_started;
    pthread_mutex_unlock(&r->out_lock);
    atomic_store(&r->stop_level, 2);
    close_inboxes(r);
    wake_everyone(r);
    {
        unsigned never = (workers - r->workers_started) +
                         (!cfg->dry_run && !r->writer_started ? 1 : 0) + 1 /* the reader */;
        if (atomic_fetch_sub(&r->threads_running, never) != never)
            wait_threads(r);
    }
    if (r->writer_started)
        pthread_join(r->writer_thread, NULL);
    results_writer_discard(r->writer);
    r->writer = NULL;
    destroy(r);
    return rc;
fail:
    results_writer_discard(r->writer);
    destroy(r);
    return rc;
}

/* ------------------------------------------------------------ progress */

void replay_progress(struct replay *r, struct replay_progress *p)
{
    memset(p, 0, sizeof *p);
    p->read = atomic_load(&r->read);
    p->selected = atomic_load(&r->selected);
    p->replayed = r->cfg.dry_run ? p->selected : atomic_load(&r->replayed);
    p->total_known = atomic_load(&r->reading_done);
    p->total = p->total_known ? p->selected : r->cfg.limit;
    p->target_count = r->target_count;
    for (size_t i = 0; i < r->target_count; i++) {
        p->requests[i] = atomic_load(&r->requests[i]);
        p->errors[i] = atomic_load(&r->errors[i]);
    }
}

/* ------------------------------------------------------------ finish */

/* The summary line: what replay_finish reports, with the histograms. */
static int summary_json(struct buf *b, const struct replay *r, const struct replay_report *rep,
                        const struct target_stats *stats, int64_t finished_us)
{
    struct results_summary *s = malloc(sizeof *s);
    int rc;

    if (!s)
        return ERR_NOMEM;
    results_summary_init(s, r->target_count);
    s->interrupted = rep->stop != REPLAY_COMPLETE;
    if (s->interrupted) {
        snprintf(s->stop_reason, sizeof s->stop_reason, "%s", replay_stop_name(rep->stop));
        snprintf(s->stop_message, sizeof s->stop_message, "%s", rep->stop_message);
    }
    s->finished_us = finished_us;
    s->duration_us = rep->duration_us;
    s->read = rep->read;
    s->replayed = rep->replayed;
    s->unfinished = rep->unfinished;
    memcpy(s->skipped, rep->skipped, sizeof s->skipped);
    s->redacted_sent = rep->redacted_sent;
    for (size_t t = 0; t < r->target_count; t++) {
        struct results_target_summary *x = &s->targets[t];
        x->requests = rep->targets[t].requests;
        memcpy(x->errors, rep->targets[t].errors, sizeof x->errors);
        memcpy(x->status, rep->targets[t].status, sizeof x->status);
        x->connections = rep->targets[t].connections;
        x->redacted_sent = rep->targets[t].redacted_sent;
        x->latency = stats[t].latency;
        x->lateness = stats[t].lateness;
    }
    rc = results_summary_to_json(b, s, &r->header);
    free(s);
    return rc;
}

int replay_finish(struct replay *r, struct replay_report *rep, struct error *err)
{
    struct target_stats *stats = NULL;
    int64_t now;
    int rc = 0;

    memset(rep, 0, sizeof *rep);
    /* every thread ends by itself once the trace is read or a stop was
     * requested; workers are detached, the reader and writer joined */
    wait_threads(r);
    if (r->reader_started)
        pthread_join(r->reader_thread, NULL);
    if (r->writer_started)
        pthread_join(r->writer_thread, NULL);

    now = now_mono_us();
    rep->stop = r->stop_reason;
    if (r->stop_error.code || r->stop_error.message[0])
        snprintf(rep->stop_message, sizeof rep->stop_message, "%s", r->stop_error.message);
    rep->read = atomic_load(&r->read);
    rep->replayed = r->cfg.dry_run ? atomic_load(&r->selected) : atomic_load(&r->replayed);
    for (int i = 0; i < SKIP_COUNT; i++)
        rep->skipped[i] = atomic_load(&r->skipped[i]);
    rep->duration_us = now - r->mono_start;
    rep->target_count = r->target_count;

    stats = calloc(r->target_count, sizeof *stats);
    if (!stats) {
        rc = error_set(err, ERR_NOMEM, "out of memory writing the summary");
        goto out;
    }
    for (size_t t = 0; t < r->target_count; t++) {
        histogram_init(&stats[t].latency);
        histogram_init(&stats[t].lateness);
    }
    for (unsigned i = 0; i < r->workers_started; i++)
        worker_report(r->workers[i], stats);
    if (!r->cfg.dry_run)
        rep->unfinished = atomic_load(&r->selected) - rep->replayed;
    for (size_t t = 0; t < r->target_count; t++) {
        struct replay_target_report *tr = &rep->targets[t];
        const struct target_stats *s = &stats[t];
        snprintf(tr->name, sizeof tr->name, "%s", r->cfg.targets[t].name);
        tr->requests = s->requests;
        for (int e = 0; e < RESULT_ERROR_COUNT; e++) {
            tr->errors[e] = s->errors[e];
            if (e != RESULT_ERROR_NONE)
                tr->error_total += s->errors[e];
        }
        memcpy(tr->status, s->status, sizeof tr->status);
        tr->latency_p50 = histogram_percentile(&s->latency, 50);
        tr->latency_p90 = histogram_percentile(&s->latency, 90);
        tr->latency_p99 = histogram_percentile(&s->latency, 99);
        tr->latency_max = s->latency.max;
        tr->lateness_p50 = histogram_percentile(&s->lateness, 50);
        tr->lateness_p99 = histogram_percentile(&s->lateness, 99);
        tr->lateness_max = s->lateness.max;
        tr->connections = s->connections;
        tr->redacted_sent = s->redacted_sent;
        rep->redacted_sent += s->redacted_sent;
    }

    if (r->writer) {
        struct buf b;
        buf_init(&b, (size_t)16 << 20);
        if (summary_json(&b, r, rep, stats, replay_wall_us(r, now))) {
            rc = error_set(err, ERR_STATE, "the replay summary is too large");
        } else if (!r->out_failed) {
            rc = results_writer_write_summary(r->writer, b.data, err);
        }
        buf_release(&b);
        if (rc == 0 && r->out_failed) {
            *err = r->stop_error;
            rc = err->code ? err->code : ERR_IO;
        }
        if (rc == 0) {
            rc = results_writer_close(r->writer, err);
        } else {
            struct error ignored;
            results_writer_close(r->writer, &ignored);
        }
        r->writer = NULL;
    }
    if (rc == 0 && rep->stop == REPLAY_STOP_TRACE_ERROR) {
        *err = r->stop_error;
        rc = err->code ? err->code : ERR_INPUT;
    }
out:
    free(stats);
    destroy(r);
    return rc;
}
