/*
 * schedule.h — when a replayed request may be sent.
 *
 * The rule (docs/cli/replay.md, "Timing"): request k of a captured
 * connection is scheduled at
 *
 *     due(k)       = start + offset(k) / speed     (--speed X)
 *                  = start + seq(k) / rate         (--rate N)
 *                  = start                          (--speed max)
 *     scheduled(k) = max(due(k), answer(k-1))
 *
 * where offset(k) is the request's capture time minus the capture time of
 * the first transaction of the slice, seq(k) its 0-based position in the
 * selection, and answer(k-1) the moment the target finished the previous
 * request of the same captured connection (absent for k = 0).  A request
 * goes out at scheduled(k) unless the target's --concurrency cap is reached,
 * in which case it waits in a first-come queue.  Timers are absolute, so a
 * late wake-up sends everything that is due at once: the schedule catches
 * up instead of drifting.
 *
 * This module holds the due requests in a binary min-heap keyed by time.
 */
#ifndef REHEARSE_SCHEDULE_H
#define REHEARSE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define SCHEDULE_NONE INT64_MAX

struct schedule_entry {
    int64_t due;  /* monotonic µs */
    void *item;
    unsigned tag;
};

struct schedule {
    struct schedule_entry *heap;
    size_t count, cap;
};

void schedule_init(struct schedule *s);
void schedule_release(struct schedule *s);
/* 0 or ERR_NOMEM. */
int schedule_push(struct schedule *s, int64_t due, void *item, unsigned tag);
/* The earliest due time, or SCHEDULE_NONE when empty. */
int64_t schedule_next(const struct schedule *s);
/* Pop the earliest entry if it is due at `now`; 1 when one was popped. */
int schedule_pop_due(struct schedule *s, int64_t now, struct schedule_entry *out);

/* due(k) for a capture offset (µs) at a speed (> 0), from `start`. */
int64_t schedule_due(int64_t start, int64_t offset_us, double speed);

#endif
