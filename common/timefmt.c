#include "timefmt.h"

#include <stdbool.h>

#include "errors.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), valid for any year. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int timefmt_iso8601(struct buf *out, int64_t us)
{
    int64_t secs = us / 1000000, frac = us % 1000000, days, y;
    unsigned m, d, sod;

    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    days = secs / 86400;
    if (secs % 86400 < 0)
        days -= 1;
    sod = (unsigned)(secs - days * 86400);
    civil_from_days(days, &y, &m, &d);
    return buf_printf(out, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lldZ", (long long)y, m, d,
                      sod / 3600, sod / 60 % 60, sod % 60, (long long)frac);
}

/* Read exactly n digits at s[*i]; false when they are not there. */
static bool digits(const char *s, size_t len, size_t *i, unsigned n, unsigned *out)
{
    unsigned v = 0;
    if (*i + n > len)
        return false;
    for (unsigned k = 0; k < n; k++) {
        char c = s[*i + k];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *i += n;
    *out = v;
    return true;
}

static bool expect_char(const char *s, size_t len, size_t *i, char c)
{
    if (*i < len && s[*i] == c) {
        (*i)++;
        return true;
    }
    return false;
}

int timefmt_parse_iso8601(const char *s, size_t len, int64_t *us, size_t *bad)
{
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned year, mon, day, hh, mm, ss = 0, oh = 0, om = 0;
    int64_t frac = 0, sign = 0;
    size_t i = 0;

    if (!digits(s, len, &i, 4, &year) || !expect_char(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &mon) || !expect_char(s, len, &i, '-') ||
        !digits(s, len, &i, 2, &day))
        goto fail;
    if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] ||
        (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))) {
        i = 5;
        goto fail;
    }
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
        goto fail;
    i++;
    if (!digits(s, len, &i, 2, &hh) || !expect_char(s, len, &i, ':') ||
        !digits(s, len, &i, 2, &mm))
        goto fail;
    if (expect_char(s, len, &i, ':')) {
        if (!digits(s, len, &i, 2, &ss))
            goto fail;
        if (i < len && (s[i] == '.' || s[i] == ',')) {
            int64_t scale = 100000;
            size_t start = ++i;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                frac += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == start)
                goto fail;
        }
    }
    if (hh > 23 || mm > 59 || ss > 60) /* 60: a leap second, folded below */
        goto fail;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i++] == '+' ? 1 : -1;
        if (!digits(s, len, &i, 2, &oh))
            goto fail;
        if (expect_char(s, len, &i, ':')) {
            if (!digits(s, len, &i, 2, &om))
                goto fail;
        } else if (i < len) {
            if (!digits(s, len, &i, 2, &om))
                goto fail;
        }
        if (oh > 23 || om > 59)
            goto fail;
    } else {
        goto fail; /* a time without a zone is ambiguous */
    }
    if (i != len)
        goto fail;
    if (ss == 60) {
        ss = 59;
        frac = 999999;
    }
    int64_t secs = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    secs -= sign * (int64_t)(oh * 3600 + om * 60);
    *us = secs * 1000000 + frac;
    return 0;
fail:
    if (bad)
        *bad = i;
    return ERR_INPUT;
}
