/*
 * subst.h — `${...}` substitutions in scenario strings.
 *
 * A template is parsed once, when the scenario is read, so a reference to a
 * database or service that does not exist is an input error before anything
 * starts; it is expanded when the value is needed (a service's environment
 * when it starts), because ports and conninfo strings exist only then.
 *
 *   ${db.NAME.FIELD}       FIELD: conninfo host port dbname user url
 *   ${service.NAME.FIELD}  FIELD: url host port
 *   ${link.NAME.FIELD}     FIELD: address host port url, conninfo (and the
 *                          other db fields) for a link to a database
 *   ${port}                the port allocated to the service being defined
 *   ${run_dir} ${scenario_dir}
 *   ${env.NAME} ${env.NAME:-default}   rehearse's own environment
 *   $$                     a literal $  (a $ before anything else is literal)
 */
#ifndef REHEARSE_SUBST_H
#define REHEARSE_SUBST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"

enum subst_part_kind {
    SUBST_LITERAL,
    SUBST_DB,
    SUBST_SERVICE,
    SUBST_PORT,
    SUBST_RUN_DIR,
    SUBST_SCENARIO_DIR,
    SUBST_ENV,
    SUBST_LINK,
};

enum subst_db_field { SUBST_DB_CONNINFO, SUBST_DB_HOST, SUBST_DB_PORT, SUBST_DB_DBNAME,
                      SUBST_DB_USER, SUBST_DB_URL };
enum subst_service_field { SUBST_SERVICE_URL, SUBST_SERVICE_HOST, SUBST_SERVICE_PORT };
/* A link's fields: those of a database (for a link to a database), then
 * its own address ("127.0.0.1:PORT"). url is http://ADDRESS for a link to a
 * service and postgresql://... for a link to a database. */
enum subst_link_field { SUBST_LINK_CONNINFO, SUBST_LINK_HOST, SUBST_LINK_PORT,
                        SUBST_LINK_DBNAME, SUBST_LINK_USER, SUBST_LINK_URL,
                        SUBST_LINK_ADDRESS };

struct subst_part {
    enum subst_part_kind kind;
    char *text;         /* literal text, or the environment variable name */
    char *fallback;     /* ${env.NAME:-fallback}; NULL when none */
    int index;          /* database, service or link index */
    int field;          /* enum subst_db_field / subst_service_field / subst_link_field */
};

struct subst {
    char *source;       /* the template as written */
    struct subst_part *parts;
    size_t count;
};

/* Which references a template may hold where it appears. */
enum subst_allow {
    SUBST_ALLOW_DB = 1 << 0,
    SUBST_ALLOW_SERVICE = 1 << 1,
    SUBST_ALLOW_PORT = 1 << 2,      /* inside a service definition */
    SUBST_ALLOW_DIRS = 1 << 3,
    SUBST_ALLOW_ENV = 1 << 4,
    SUBST_ALLOW_LINK = 1 << 5,
    SUBST_ALLOW_ALL = 0x3f,
};

/* Resolves names to indexes while parsing; returns -1 when unknown. */
struct subst_names {
    int (*database)(void *ctx, const char *name);
    int (*service)(void *ctx, const char *name);
    /* Nearest known name for "did you mean" (may be NULL). */
    const char *(*suggest)(void *ctx, bool service, const char *name);
    void *ctx;
    /* Links (may be NULL: no links): the index, or -1 when unknown; and
     * NULL when `field` (enum subst_link_field) applies to link `index`,
     * else why not. */
    int (*link)(void *ctx, const char *name);
    const char *(*link_field)(void *ctx, int index, int field);
};

/*
 * Parse `text`.  On failure returns ERR_INPUT, a message (without location)
 * in err, and in *where the byte index in `text` of the offending `${`.
 */
int subst_parse(struct subst **out, const char *text, unsigned allow,
                const struct subst_names *names, size_t *where, struct error *err);
void subst_free(struct subst *s);
/* True when the template holds no reference (its value is its text). */
bool subst_is_literal(const struct subst *s);

/* Supplies the values of references at expansion time: write the value of
 * `part` into out (append).  Returns 0 or an error. */
struct subst_values {
    int (*value)(void *ctx, const struct subst_part *part, struct buf *out, struct error *err);
    void *ctx;
};

/* Append the expansion of s to out. */
int subst_expand(const struct subst *s, const struct subst_values *values, struct buf *out,
                 struct error *err);

#endif
