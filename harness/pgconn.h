/*
 * pgconn.h — connecting to PostgreSQL without ever printing a password, and
 * turning server errors into located messages.
 */
#ifndef REHEARSE_PGCONN_H
#define REHEARSE_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* Connect with `conninfo` (a conninfo string or a URI) under
 * `application_name` (visible in pg_stat_activity).  On failure returns
 * ERR_DATABASE with libpq's message, any password masked, naming the
 * connection by its masked conninfo.  Connecting gives up after 10 s unless
 * the conninfo or PGCONNECT_TIMEOUT says otherwise. */
int pgconn_connect(PGconn **out, const char *conninfo, const char *application_name,
                   struct error *err);

/* conninfo for display: parsed by libpq and rebuilt with the password
 * replaced by "********" ("host=db port=5432 dbname=app password=********"). */
void pgconn_mask(const char *conninfo, char *out, size_t size);

/* Replace every occurrence of conninfo's password in `text` by ********.
 * When libpq cannot parse the conninfo (so its password is unknown) but it
 * looks like it holds one, every "quoted" piece of `text` is blanked:
 * libpq's parse errors quote fragments of the string. */
void pgconn_scrub(const char *conninfo, char *text, size_t size);

/* Does this SQLSTATE mean the connection or the server is gone (class 08,
 * admin shutdown, crash shutdown)? */
bool pgconn_sqlstate_lost(const char *sqlstate);

/* Turn PostgreSQL's 1-based character position in `text` into a 1-based
 * line and column (columns count characters, as PostgreSQL does). */
void pgconn_position(const char *text, long position, int *line, int *column);

/* A failed result as one located line plus detail and hint:
 *   "expand.sql:3:8: ERROR 42601: syntax error at or near \"TABL\""
 * `source` names the text (a file name; NULL for inline SQL, then the
 * position is given as "at line 3, column 8"). */
void pgconn_result_message(const PGresult *res, const char *text, const char *source, char *out,
                           size_t size);

#endif
