#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int cli_report(const char *cmd, const struct error *err)
{
    const char *msg = err->message[0] ? err->message : error_description(err->code);
    fprintf(stderr, "rehearse %s: %s\n", cmd, msg);
    return error_exit_code(err->code ? err->code : ERR_STATE);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "rehearse %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'rehearse %s --help'.\n", cmd);
    return EXIT_BAD_INPUT;
}

bool cli_parse_u64(const char *cmd, const char *option, const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (!text || !*text || *text == '-')
        goto bad;
    v = strtoull(text, &end, 10);
    if (errno || *end)
        goto bad;
    *out = v;
    return true;
bad:
    cli_usage_error(cmd, "%s: expected a non-negative integer, found '%s'", option,
                    text ? text : "");
    return false;
}

bool cli_parse_double(const char *cmd, const char *option, const char *text, double *out)
{
    char *end;
    double v;

    errno = 0;
    if (!text || !*text)
        goto bad;
    v = strtod(text, &end);
    if (errno || *end || !isfinite(v))
        goto bad;
    *out = v;
    return true;
bad:
    cli_usage_error(cmd, "%s: expected a number, found '%s'", option, text ? text : "");
    return false;
}

bool cli_parse_size(const char *cmd, const char *option, const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mult = 1;

    errno = 0;
    if (!text || !*text || *text == '-')
        goto bad;
    v = strtoull(text, &end, 10);
    if (errno || end == text)
        goto bad;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: goto bad;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || (v && mult > UINT64_MAX / v))
        goto bad;
    *out = v * mult;
    return true;
bad:
    cli_usage_error(cmd, "%s: expected a size such as 4096, 64k, 16M or 1G, found '%s'",
                    option, text ? text : "");
    return false;
}

bool cli_parse_duration_us(const char *cmd, const char *option, const char *text,
                           int64_t *out_us)
{
    if (duration_parse_us(text, out_us))
        return true;
    cli_usage_error(cmd, "%s: expected a duration such as 30, 30s, 500ms, 5m or 1h, found '%s'",
                    option, text ? text : "");
    return false;
}

int cli_finish_stdout(const char *cmd)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "rehearse %s: cannot write standard output: %s\n", cmd,
                strerror(errno));
        return EXIT_ENVIRONMENT;
    }
    return 0;
}
