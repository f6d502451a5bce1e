/*
 * svg.h — small inline SVG charts for report.html.
 *
 * The page's Content-Security-Policy allows no style attributes, no images
 * and no scripts but its own, so charts are plain SVG elements styled by
 * the page's CSS classes (series "s0", "s1", "s2"; "axis", "grid", "label";
 * callers pass their own classes for spans).  Every label is escaped
 * (escape.h): labels come from captured traffic (endpoint names) and from
 * scenario files (step names).
 *
 * Coordinates are in SVG user units; charts scale to the width of their
 * container (viewBox, width 100%).
 */
#ifndef REHEARSE_SVG_H
#define REHEARSE_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* One series of a step chart: n points (x ascending, x > 0 on a log axis). */
struct svg_series {
    const char *label;    /* legend text */
    size_t label_len;
    const double *x, *y;
    size_t n;
    const double *marks;  /* x positions of vertical markers (percentiles) */
    const char *const *mark_labels; /* their labels ("p50"), or NULL */
    size_t nmarks;
};

struct svg_tick {
    double value;
    const char *label;
};

struct svg_axes {
    double width, height;  /* of the whole chart */
    const char *title;     /* aria-label and <title>; plain text */
    bool x_log;            /* log10 scale on x (values must be > 0) */
    double x_min, x_max;   /* the x range shown */
    double y_max;          /* the y range is [0, y_max] */
    const struct svg_tick *x_ticks;
    size_t n_x_ticks;
    const struct svg_tick *y_ticks;
    size_t n_y_ticks;
};

/* Series drawn as steps (a histogram's outline, lightly filled). */
int svg_step_chart(struct buf *out, const struct svg_axes *axes, const struct svg_series *s,
                   size_t n);

/* One row of a range chart: per series, a low–mid–high range (p50, p95,
 * p99) drawn as a bar from low to high with a tick at mid. */
struct svg_range {
    bool present;
    double low, mid, high;
};
struct svg_range_row {
    const char *label;
    size_t label_len;
    struct svg_range ranges[3]; /* one per series, in series order */
};
int svg_range_chart(struct buf *out, const struct svg_axes *axes, const char *const *series,
                    size_t nseries, const struct svg_range_row *rows, size_t nrows);

/* Spans on a linear time axis, one lane per row (steps), plus windows that
 * cover every lane (faults) and instants (events). */
struct svg_span {
    double start, end;  /* end < start: still running, drawn to the axis end */
    const char *label;
    size_t label_len;
    const char *cls;    /* a class chosen by the caller, never from input */
    size_t lane;
};
int svg_timeline(struct buf *out, const struct svg_axes *axes, const struct svg_span *lanes,
                 size_t nlanes, const struct svg_span *windows, size_t nwindows,
                 const struct svg_span *instants, size_t ninstants);

/* Series as lines over a linear axis (time), with windows shaded across
 * the plot (fault windows) under them; up to three series (classes s0..s2,
 * a legend).  A series' points are joined in order; NaN y leaves a gap. */
int svg_line_chart(struct buf *out, const struct svg_axes *axes, const struct svg_series *s,
                   size_t n, const struct svg_span *windows, size_t nwindows);

/* Three small horizontal bars (raw, noise, remaining rates in [0, 1]) for a
 * table cell. */
int svg_rate_bars(struct buf *out, double raw, double noise, double remaining);

/* Ticks for a log10 axis of microseconds: 10 µs, 100 µs, 1 ms, ... within
 * [min, max]; returns how many were written (at most `cap`). */
size_t svg_us_ticks(double min, double max, struct svg_tick *out, size_t cap);

#endif
