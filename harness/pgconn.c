#include "pgconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASK "********"
#define DEFAULT_CONNECT_TIMEOUT "10"

int pgconn_connect(PGconn **out, const char *conninfo, const char *application_name,
                   struct error *err)
{
    /* A connect timeout unless the caller's conninfo or environment sets
     * one: libpq would otherwise wait forever for a host that drops packets.
     * Keywords before "dbname" are overridden by the expanded conninfo. */
    const char *timeout = getenv("PGCONNECT_TIMEOUT");
    const char *keys[] = {"connect_timeout", "dbname", "application_name", NULL};
    const char *values[] = {timeout && *timeout ? timeout : DEFAULT_CONNECT_TIMEOUT, conninfo,
                            application_name, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    char message[ERROR_MESSAGE_MAX], shown[512];

    *out = NULL;
    if (!conn)
        return error_set(err, ERR_NOMEM, "out of memory connecting to PostgreSQL");
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(message, sizeof message, "%s", PQerrorMessage(conn));
        PQfinish(conn);
        size_t len = strlen(message);
        while (len && (message[len - 1] == '\n' || message[len - 1] == ' '))
            message[--len] = '\0';
        pgconn_scrub(conninfo, message, sizeof message);
        pgconn_mask(conninfo, shown, sizeof shown);
        return error_set(err, ERR_DATABASE, "cannot connect to PostgreSQL (%s): %s", shown,
                         message);
    }
    *out = conn;
    return 0;
}

/* conninfo values are quoted with '...' when they hold spaces or quotes. */
static size_t append_value(char *out, size_t n, size_t size, const char *value)
{
    bool quote = !*value || strpbrk(value, " '\\\t\n");
    if (n < size && quote)
        out[n++] = '\'';
    for (const char *c = value; *c && n + 2 < size; c++) {
        if (*c == '\'' || *c == '\\')
            out[n++] = '\\';
        out[n++] = *c;
    }
    if (n < size && quote)
        out[n++] = '\'';
    return n;
}

void pgconn_mask(const char *conninfo, char *out, size_t size)
{
    char *errmsg = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &errmsg);
    size_t n = 0;

    if (!size)
        return;
    out[0] = '\0';
    if (!options) {
        snprintf(out, size, "an unparsable conninfo");
        PQfreemem(errmsg);
        return;
    }
    for (PQconninfoOption *o = options; o->keyword && n + 4 < size; o++) {
        if (!o->val)
            continue;
        n += (size_t)snprintf(out + n, size - n, "%s%s=", n ? " " : "", o->keyword);
        if (n >= size)
            break;
        n = append_value(out, n, size, strcmp(o->keyword, "password") == 0 ? MASK : o->val);
    }
    out[n < size ? n : size - 1] = '\0';
    PQconninfoFree(options);
}

/*
 * A conninfo libpq cannot parse gets an error message that quotes pieces of
 * it ("missing \"=\" after \"cret\""), possibly of the password: when the
 * string looks like it holds one, every quoted piece is blanked.
 */
static bool looks_secret(const char *conninfo)
{
    if (strcasestr(conninfo, "password"))
        return true;
    const char *auth = strstr(conninfo, "://");
    if (!auth)
        return false;
    auth += 3;
    size_t alen = strcspn(auth, "/?");
    const char *at = memrchr(auth, '@', alen);
    return at && memchr(auth, ':', (size_t)(at - auth));
}

static void mask_quoted(char *text, size_t size)
{
    char out[ERROR_MESSAGE_MAX];
    size_t j = 0;
    for (const char *p = text; *p && j < sizeof out - 6;) {
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end) {
            memcpy(out + j, "\"***\"", 5);
            j += 5;
            p = end + 1;
        } else {
            out[j++] = *p++;
        }
    }
    out[j] = '\0';
    snprintf(text, size, "%s", out);
}

void pgconn_scrub(const char *conninfo, char *text, size_t size)
{
    char *errmsg = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &errmsg);
    const char *password = NULL;

    PQfreemem(errmsg);
    if (!options) {
        if (looks_secret(conninfo))
            mask_quoted(text, size);
        return;
    }
    for (PQconninfoOption *o = options; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            password = o->val;
    for (char *from = text, *hit; password && (hit = strstr(from, password));) {
        size_t plen = strlen(password), mlen = strlen(MASK), at = (size_t)(hit - text);
        size_t tail = strlen(hit + plen);
        if (at + mlen + 1 > size) {
            *hit = '\0'; /* no room for the mask: cut the text here */
            break;
        }
        if (at + mlen + tail + 1 > size)
            tail = size - at - mlen - 1;
        memmove(hit + mlen, hit + plen, tail);
        memcpy(hit, MASK, mlen);
        hit[mlen + tail] = '\0';
        from = hit + mlen;
    }
    PQconninfoFree(options);
}

bool pgconn_sqlstate_lost(const char *sqlstate)
{
    if (!sqlstate)
        return true; /* no SQLSTATE: libpq itself failed, the connection broke */
    return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
           strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0;
}

void pgconn_position(const char *text, long position, int *line, int *column)
{
    long chars = 1;
    *line = 1;
    *column = 1;
    for (const unsigned char *c = (const unsigned char *)text; *c && chars < position; c++) {
        if ((*c & 0xC0) == 0x80)
            continue; /* continuation byte: same character */
        chars++;
        if (*c == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

void pgconn_result_message(const PGresult *res, const char *text, const char *source, char *out,
                           size_t size)
{
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    const char *position = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    char where[300] = "";
    int line, column;

    if (!primary) {
        /* Not a server error: libpq's own message (connection lost ...). */
        const char *msg = PQresultErrorMessage(res);
        size_t len;
        snprintf(out, size, "%s", msg && *msg ? msg : "the query failed without a message");
        len = strlen(out);
        while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
            out[--len] = '\0';
        return;
    }
    if (position && text) {
        pgconn_position(text, strtol(position, NULL, 10), &line, &column);
        if (source)
            snprintf(where, sizeof where, "%s:%d:%d: ", source, line, column);
        else
            snprintf(where, sizeof where, "at line %d, column %d: ", line, column);
    } else if (source) {
        snprintf(where, sizeof where, "%s: ", source);
    }
    snprintf(out, size, "%s%s %s: %s%s%s%s%s", where, severity ? severity : "ERROR",
             sqlstate ? sqlstate : "?????", primary, detail ? "; detail: " : "",
             detail ? detail : "", hint ? "; hint: " : "", hint ? hint : "");
}
