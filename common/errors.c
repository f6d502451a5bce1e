#include "errors.h"

#include <stdio.h>
#include <string.h>

void error_init(struct error *err)
{
    if (!err)
        return;
    err->code = 0;
    err->message[0] = '\0';
}

int error_setv(struct error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int error_errno(struct error *err, int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(err, code, fmt, ap);
    va_end(ap);
    if (err) {
        size_t used = strlen(err->message);
        snprintf(err->message + used, sizeof err->message - used, ": %s",
                 strerror(errnum));
    }
    return code;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    char prefix[ERROR_MESSAGE_MAX];
    char old[ERROR_MESSAGE_MAX];
    va_list ap;

    if (!err)
        return 0;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
    return err->code;
}

const char *error_name(int code)
{
    switch (code) {
    case ERR_OK:
        return "ERR_OK";
#define ERROR_NAME_CASE(name, value, exit_code, text) case name: return #name;
        ERROR_CODE_MAP(ERROR_NAME_CASE)
#undef ERROR_NAME_CASE
    }
    return "ERR_UNKNOWN";
}

const char *error_description(int code)
{
    switch (code) {
    case ERR_OK:
        return "success";
#define ERROR_TEXT_CASE(name, value, exit_code, text) case name: return text;
        ERROR_CODE_MAP(ERROR_TEXT_CASE)
#undef ERROR_TEXT_CASE
    }
    return "unknown error";
}

int error_exit_code(int code)
{
    switch (code) {
    case ERR_OK:
        return EXIT_OK;
#define ERROR_EXIT_CASE(name, value, exit_code, text) case name: return exit_code;
        ERROR_CODE_MAP(ERROR_EXIT_CASE)
#undef ERROR_EXIT_CASE
    }
    return EXIT_ENVIRONMENT;
}
