#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool duration_parse_us(const char *text, int64_t *out_us)
{
    static const struct {
        const char *unit;
        double us;
    } units[] = {{"", 1e6}, {"s", 1e6}, {"ms", 1e3}, {"us", 1}, {"m", 60e6}, {"min", 60e6},
                 {"h", 3600e6}};
    char *end;
    double v;

    if (!text || !*text)
        return false;
    errno = 0;
    v = strtod(text, &end);
    if (errno || end == text || v < 0 || !isfinite(v))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (v * units[i].us > 9e18)
                return false;
            *out_us = (int64_t)(v * units[i].us);
            return true;
        }
    }
    return false;
}
