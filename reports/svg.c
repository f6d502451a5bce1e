#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "escape.h"

#define LABEL_CHARS 48

/* Margins of the plot area inside a chart. */
struct frame {
    double left, top, right, bottom; /* plot area corners */
};

static double scale_x(const struct svg_axes *a, const struct frame *f, double x)
{
    double lo = a->x_min, hi = a->x_max, t;

    if (a->x_log) {
        lo = log10(lo > 0 ? lo : 1);
        hi = log10(hi > 0 ? hi : 1);
        x = log10(x > 0 ? x : 1);
    }
    t = hi > lo ? (x - lo) / (hi - lo) : 0;
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    return f->left + t * (f->right - f->left);
}

static double scale_y(const struct svg_axes *a, const struct frame *f, double y)
{
    double t = a->y_max > 0 ? y / a->y_max : 0;
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    return f->bottom - t * (f->bottom - f->top);
}

static int open_svg(struct buf *out, const struct svg_axes *a)
{
    int rc = buf_printf(out, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                        "aria-label=\"", a->width, a->height);
    if (!rc)
        rc = escape_cstring(out, ESCAPE_HTML_ATTR, a->title ? a->title : "chart", 200);
    if (!rc)
        rc = buf_append_str(out, "\" xmlns=\"http://www.w3.org/2000/svg\"><title>");
    if (!rc)
        rc = escape_cstring(out, ESCAPE_HTML_TEXT, a->title ? a->title : "chart", 200);
    return rc ? rc : buf_append_str(out, "</title>");
}

static int text(struct buf *out, const char *cls, double x, double y, const char *anchor,
                const char *s, size_t len)
{
    int rc = buf_printf(out, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">",
                        cls, x, y, anchor);
    if (!rc)
        rc = escape_append(out, ESCAPE_HTML_TEXT, s, len, LABEL_CHARS, 0);
    return rc ? rc : buf_append_str(out, "</text>");
}

static int axes(struct buf *out, const struct svg_axes *a, const struct frame *f)
{
    int rc = 0;

    for (size_t i = 0; i < a->n_y_ticks && !rc; i++) {
        double y = scale_y(a, f, a->y_ticks[i].value);
        rc = buf_printf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                        "y2=\"%.1f\"/>", f->left, y, f->right, y);
        if (!rc)
            rc = text(out, "label", f->left - 4, y + 4, "end", a->y_ticks[i].label,
                      strlen(a->y_ticks[i].label));
    }
    for (size_t i = 0; i < a->n_x_ticks && !rc; i++) {
        double x = scale_x(a, f, a->x_ticks[i].value);
        rc = buf_printf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                        "y2=\"%.1f\"/>", x, f->top, x, f->bottom);
        if (!rc)
            rc = text(out, "label", x, f->bottom + 14, "middle", a->x_ticks[i].label,
                      strlen(a->x_ticks[i].label));
    }
    if (!rc)
        rc = buf_printf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                        "y2=\"%.1f\"/>", f->left, f->bottom, f->right, f->bottom);
    return rc;
}

static int legend(struct buf *out, const struct frame *f, const char *const *labels,
                  const size_t *lens, size_t n)
{
    double x = f->left;
    int rc = 0;

    for (size_t i = 0; i < n && !rc; i++) {
        rc = buf_printf(out, "<rect class=\"s%zu\" x=\"%.1f\" y=\"4\" width=\"10\" "
                        "height=\"10\"/>", i % 3, x);
        if (!rc)
            rc = text(out, "label", x + 14, 13, "start", labels[i], lens[i]);
        x += 24 + 7.0 * (double)(lens[i] < LABEL_CHARS ? lens[i] : LABEL_CHARS);
    }
    return rc;
}

int svg_step_chart(struct buf *out, const struct svg_axes *a, const struct svg_series *s,
                   size_t n)
{
    struct frame f = {48, 24, a->width - 30, a->height - 22};
    const char *labels[3];
    size_t lens[3];
    int rc = open_svg(out, a);

    if (!rc)
        rc = axes(out, a, &f);
    for (size_t k = 0; k < n && k < 3 && !rc; k++) {
        double prev_y = f.bottom;
        labels[k] = s[k].label;
        lens[k] = s[k].label_len;
        rc = buf_printf(out, "<path class=\"s%zu line\" d=\"M%.1f %.1f", k, f.left, f.bottom);
        for (size_t i = 0; i < s[k].n && !rc; i++) {
            double x0 = scale_x(a, &f, s[k].x[i]);
            bool next_adjacent = i + 1 < s[k].n && s[k].x[i + 1] <= s[k].x[i] * 1.1;
            double x1 = scale_x(a, &f, next_adjacent ? s[k].x[i + 1] : s[k].x[i] * 1.0905);
            double y = scale_y(a, &f, s[k].y[i]);
            /* steps: up/down to this bucket's height, across it */
            rc = buf_printf(out, " L%.1f %.1f L%.1f %.1f L%.1f %.1f", x0, prev_y, x0, y, x1, y);
            prev_y = y;
            if (!rc && !next_adjacent) {
                /* a gap between buckets (or the end): back to zero */
                rc = buf_printf(out, " L%.1f %.1f", x1, f.bottom);
                prev_y = f.bottom;
            }
        }
        if (!rc)
            rc = buf_append_str(out, " Z\"/>");
        for (size_t m = 0; m < s[k].nmarks && !rc; m++) {
            double x = scale_x(a, &f, s[k].marks[m]);
            rc = buf_printf(out, "<line class=\"s%zu mark\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                            "y2=\"%.1f\"/>", k, x, f.top, x, f.bottom);
            if (!rc && s[k].mark_labels)
                rc = text(out, "label mark-label", x + 2, f.top + 10 + 11.0 * (double)k, "start",
                          s[k].mark_labels[m], strlen(s[k].mark_labels[m]));
        }
    }
    if (!rc)
        rc = legend(out, &f, labels, lens, n < 3 ? n : 3);
    return rc ? rc : buf_append_str(out, "</svg>");
}

int svg_range_chart(struct buf *out, const struct svg_axes *a, const char *const *series,
                    size_t nseries, const struct svg_range_row *rows, size_t nrows)
{
    const double row_h = 10.0 * (double)(nseries ? nseries : 1) + 8;
    struct frame f = {260, 24, a->width - 30, 24 + row_h * (double)nrows};
    struct svg_axes sized = *a;
    size_t lens[3];
    int rc;

    sized.height = f.bottom + 22;
    sized.n_y_ticks = 0;
    rc = open_svg(out, &sized);
    if (!rc)
        rc = axes(out, &sized, &f);
    for (size_t r = 0; r < nrows && !rc; r++) {
        double y0 = f.top + row_h * (double)r;
        rc = text(out, "label", f.left - 6, y0 + row_h / 2 + 3, "end", rows[r].label,
                  rows[r].label_len);
        if (!rc && r)
            rc = buf_printf(out, "<line class=\"grid\" x1=\"0\" y1=\"%.1f\" x2=\"%.1f\" "
                            "y2=\"%.1f\"/>", y0, f.right, y0);
        for (size_t k = 0; k < nseries && k < 3 && !rc; k++) {
            const struct svg_range *g = &rows[r].ranges[k];
            double y = y0 + 4 + 10.0 * (double)k, x0, x1, xm;
            if (!g->present)
                continue;
            x0 = scale_x(&sized, &f, g->low);
            x1 = scale_x(&sized, &f, g->high);
            xm = scale_x(&sized, &f, g->mid);
            rc = buf_printf(out, "<rect class=\"s%zu\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                            "height=\"7\"/><line class=\"s%zu tick\" x1=\"%.1f\" y1=\"%.1f\" "
                            "x2=\"%.1f\" y2=\"%.1f\"/>",
                            k, x0, y, x1 - x0 < 1 ? 1 : x1 - x0, k, xm, y - 1, xm, y + 8);
        }
    }
    for (size_t k = 0; k < nseries && k < 3; k++)
        lens[k] = strlen(series[k]);
    if (!rc)
        rc = legend(out, &f, series, lens, nseries < 3 ? nseries : 3);
    return rc ? rc : buf_append_str(out, "</svg>");
}

/* Open a group whose tooltip is the label; the caller's shape closes it. */
static int tooltip(struct buf *out, const char *label, size_t len)
{
    int rc = buf_append_str(out, "<g><title>");
    if (!rc)
        rc = escape_append(out, ESCAPE_HTML_TEXT, label, len, 200, 0);
    return rc ? rc : buf_append_str(out, "</title>");
}

int svg_timeline(struct buf *out, const struct svg_axes *a, const struct svg_span *lanes,
                 size_t nlanes, const struct svg_span *windows, size_t nwindows,
                 const struct svg_span *instants, size_t ninstants)
{
    size_t rows = 0;
    const double lane_h = 18;
    struct svg_axes sized = *a;
    struct frame f;
    int rc;

    for (size_t i = 0; i < nlanes; i++)
        if (lanes[i].lane + 1 > rows)
            rows = lanes[i].lane + 1;
    f = (struct frame){200, 8, a->width - 30, 8 + lane_h * (double)(rows ? rows : 1)};
    sized.height = f.bottom + 22;
    sized.n_y_ticks = 0;
    rc = open_svg(out, &sized);
    if (!rc)
        rc = axes(out, &sized, &f);
    for (size_t i = 0; i < nwindows && !rc; i++) {
        double x0 = scale_x(&sized, &f, windows[i].start);
        double x1 = scale_x(&sized, &f, windows[i].end < windows[i].start ? a->x_max
                                                                           : windows[i].end);
        rc = tooltip(out, windows[i].label, windows[i].label_len);
        if (!rc)
            rc = buf_printf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                            "width=\"%.1f\" height=\"%.1f\"/></g>",
                            windows[i].cls, x0, f.top, x1 - x0 < 2 ? 2 : x1 - x0,
                            f.bottom - f.top);
    }
    for (size_t i = 0; i < nlanes && !rc; i++) {
        const struct svg_span *s = &lanes[i];
        double y = f.top + lane_h * (double)s->lane;
        double x0 = scale_x(&sized, &f, s->start);
        double x1 = scale_x(&sized, &f, s->end < s->start ? a->x_max : s->end);
        rc = text(out, "label", f.left - 6, y + 13, "end", s->label, s->label_len);
        if (!rc)
            rc = tooltip(out, s->label, s->label_len);
        if (!rc)
            rc = buf_printf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                            "width=\"%.1f\" height=\"12\"/></g>",
                            s->cls, x0, y + 3, x1 - x0 < 2 ? 2 : x1 - x0);
    }
    for (size_t i = 0; i < ninstants && !rc; i++) {
        double x = scale_x(&sized, &f, instants[i].start);
        rc = tooltip(out, instants[i].label, instants[i].label_len);
        if (!rc)
            rc = buf_printf(out, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" "
                            "x2=\"%.1f\" y2=\"%.1f\"/></g>",
                            instants[i].cls, x, f.top, x, f.bottom);
    }
    return rc ? rc : buf_append_str(out, "</svg>");
}

int svg_line_chart(struct buf *out, const struct svg_axes *a, const struct svg_series *s,
                   size_t n, const struct svg_span *windows, size_t nwindows)
{
    struct frame f = {48, 24, a->width - 30, a->height - 22};
    const char *labels[3];
    size_t lens[3];
    int rc = open_svg(out, a);

    if (!rc)
        rc = axes(out, a, &f);
    for (size_t i = 0; i < nwindows && !rc; i++) {
        double x0 = scale_x(a, &f, windows[i].start);
        double x1 = scale_x(a, &f, windows[i].end < windows[i].start ? a->x_max : windows[i].end);
        rc = tooltip(out, windows[i].label, windows[i].label_len);
        if (!rc)
            rc = buf_printf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                            "height=\"%.1f\"/></g>",
                            windows[i].cls, x0, f.top, x1 - x0 < 2 ? 2 : x1 - x0,
                            f.bottom - f.top);
    }
    for (size_t k = 0; k < n && k < 3 && !rc; k++) {
        bool pen_down = false;
        labels[k] = s[k].label;
        lens[k] = s[k].label_len;
        rc = buf_printf(out, "<path class=\"s%zu trend\" d=\"", k);
        for (size_t i = 0; i < s[k].n && !rc; i++) {
            if (!isfinite(s[k].y[i])) {
                pen_down = false;
                continue;
            }
            rc = buf_printf(out, "%s%.1f %.1f ", pen_down ? "L" : "M",
                            scale_x(a, &f, s[k].x[i]), scale_y(a, &f, s[k].y[i]));
            pen_down = true;
        }
        if (!rc)
            rc = buf_append_str(out, "\"/>");
    }
    if (!rc)
        rc = legend(out, &f, labels, lens, n < 3 ? n : 3);
    return rc ? rc : buf_append_str(out, "</svg>");
}

int svg_rate_bars(struct buf *out, double raw, double noise, double remaining)
{
    const double v[3] = {raw, noise, remaining};
    int rc = buf_append_str(out, "<svg class=\"bars\" viewBox=\"0 0 100 15\" "
                            "aria-hidden=\"true\" xmlns=\"http://www.w3.org/2000/svg\">");

    for (int i = 0; i < 3 && !rc; i++) {
        double w = v[i] < 0 ? 0 : v[i] > 1 ? 100 : v[i] * 100;
        if (w > 0 && w < 1)
            w = 1; /* visible however small */
        rc = buf_printf(out, "<rect class=\"bg\" x=\"0\" y=\"%d\" width=\"100\" height=\"4\"/>"
                        "<rect class=\"b%d\" x=\"0\" y=\"%d\" width=\"%.1f\" height=\"4\"/>",
                        i * 5, i, i * 5, w);
    }
    return rc ? rc : buf_append_str(out, "</svg>");
}

size_t svg_us_ticks(double min, double max, struct svg_tick *out, size_t cap)
{
    static const struct svg_tick decades[] = {
        {1, "1 \xC2\xB5s"},   {2, "2 \xC2\xB5s"},     {5, "5 \xC2\xB5s"},
        {10, "10 \xC2\xB5s"}, {20, "20 \xC2\xB5s"},   {50, "50 \xC2\xB5s"},
        {100, "100 \xC2\xB5s"}, {200, "200 \xC2\xB5s"}, {500, "500 \xC2\xB5s"},
        {1e3, "1 ms"},        {2e3, "2 ms"},        {5e3, "5 ms"},
        {1e4, "10 ms"},       {2e4, "20 ms"},       {5e4, "50 ms"},
        {1e5, "100 ms"},      {2e5, "200 ms"},      {5e5, "500 ms"},
        {1e6, "1 s"},         {2e6, "2 s"},         {5e6, "5 s"},
        {1e7, "10 s"},        {2e7, "20 s"},        {5e7, "50 s"},
        {1e8, "100 s"},
    };
    size_t n = 0, in_range = 0;
    /* 1-2-5 ticks over a short range, decades only over a long one */
    for (size_t i = 0; i < sizeof decades / sizeof decades[0]; i++)
        in_range += decades[i].value >= min && decades[i].value <= max;
    for (size_t i = 0; i < sizeof decades / sizeof decades[0] && n < cap; i++)
        if (decades[i].value >= min && decades[i].value <= max && (in_range <= 12 || i % 3 == 0))
            out[n++] = decades[i];
    return n;
}
