/*
 * scenario.h — a rehearsal scenario: the parsed, checked form of SCENARIO.json.
 *
 * scenario_load() reads the file, checks everything that can be checked
 * before anything starts (types, names, references between databases,
 * services, steps and metrics, substitutions, files that must exist) and
 * either returns a complete scenario or a list of located diagnostics, one
 * per problem:  `scenario.json:14:9: steps[3].sql.lock_timeout: expected a
 * duration such as "500ms", found true`.
 *
 * The format is specified in docs/scenario-format.md.  Step kinds parse
 * their own part of a step through the scenario_parser helpers below, so a
 * new kind is one module plus one line in the table in step_kinds.c.
 *
 * Ownership: the scenario owns every string and step it holds; everything is
 * freed by scenario_free().
 */
#ifndef REHEARSE_SCENARIO_H
#define REHEARSE_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#define SCENARIO_VERSION 1
#define SCENARIO_MAX_BYTES (16u << 20)
#define SCENARIO_NAME_MAX 64
#define SCENARIO_POINTER_MAX 512
#define SCENARIO_MAX_DIAGNOSTICS 25

struct subst;
struct step;
struct step_kind;

struct scenario_database {
    char *name;
    bool embedded;
    int clone_of;            /* index of the database this one is cloned from, or -1 */
    char **setup;            /* absolute paths of SQL files, loaded in order (embedded) */
    size_t setup_count;
    struct subst *conninfo;  /* external databases: libpq conninfo or URI */
    char pointer[SCENARIO_POINTER_MAX]; /* where it is declared, for run-time messages */
};

struct scenario_health {
    bool enabled;
    char *path;              /* "/health" */
    int status;              /* expected HTTP status */
    int64_t timeout_us;      /* give up after this long */
    int64_t interval_us;     /* between attempts */
};

struct scenario_env {
    char *name;
    struct subst *value;
};

struct scenario_service {
    char *name;
    struct subst **argv;     /* argv[0] is the program */
    size_t argc;
    struct scenario_env *env;
    size_t env_count;
    struct subst *cwd;       /* NULL: the scenario file's directory */
    struct scenario_health health;
    int stop_signal;         /* SIGTERM unless configured */
    int64_t stop_timeout_us; /* then SIGKILL to its process group */
    char pointer[SCENARIO_POINTER_MAX];
};

/* A link: a listener of the run's fault proxy relayed to a service, a
 * database or a fixed address, so fault steps can break what passes
 * through it.  ${link.NAME.FIELD} gives clients its address. */
enum scenario_link_to { LINK_TO_SERVICE, LINK_TO_DATABASE, LINK_TO_ADDRESS };

struct scenario_link {
    char *name;              /* [A-Za-z0-9_-]{1,64}, unique among links */
    enum scenario_link_to to;
    int index;               /* the service or database, or -1 */
    char *address;           /* LINK_TO_ADDRESS: "HOST:PORT" */
    char *listen;            /* "127.0.0.1:0" unless given */
    char pointer[SCENARIO_POINTER_MAX];
};

/* What happens to the run when a step fails (not when the environment fails:
 * that always stops it). */
enum step_on_failure { STEP_STOP_RUN, STEP_CONTINUE_RUN };

struct step {
    char *name;                    /* unique in the scenario: [A-Za-z0-9_-]{1,64} */
    char *description;             /* free text or NULL */
    const struct step_kind *kind;
    void *data;                    /* the kind's parsed form, freed by kind->free */
    bool has_at;                   /* only inside a parallel block */
    int64_t at_us;                 /* offset from the start of the enclosing block */
    enum step_on_failure on_failure;
    const struct step *parent;     /* the enclosing parallel step, or NULL */
    char pointer[SCENARIO_POINTER_MAX]; /* "/steps/3" */
};

struct scenario {
    char *path;                    /* as given */
    char *file;                    /* base name, for messages */
    char *dir;                     /* absolute directory of the file: relative paths start here */
    char *name;                    /* "name" or the file name without .json */
    char *description;
    char *text;                    /* the file's bytes, kept for locating run-time errors */
    size_t text_len;
    struct scenario_database *databases; /* declared ones, then clones */
    size_t database_count;
    struct scenario_service *services;
    size_t service_count;
    struct scenario_link *links;
    size_t link_count;
    bool has_seed;                 /* "seed": fault draws reproduce; else drawn per run */
    uint64_t seed;
    /* The reports written at the end: the diff step whose DIFF.json they
     * render and the dbdiff step of their database section ("report", or
     * by default the last diff step and the first dbdiff step); NULL: none. */
    const struct step *report_diff;
    const struct step *report_database;
    struct step **steps;
    size_t step_count;
    struct step **always;
    size_t always_count;
};

/* Located messages, one per problem, in document order of discovery. */
struct scenario_diagnostics {
    char *lines[SCENARIO_MAX_DIAGNOSTICS];
    size_t count;
    size_t dropped;                /* more problems than lines[] holds */
};

/*
 * Read and check `path`.  Returns 0, or ERR_INPUT with every problem in
 * `diags` (the first also in err), or ERR_IO/ERR_TOOBIG when the file cannot
 * be read.  `diags` must be released with scenario_diagnostics_release().
 */
int scenario_load(struct scenario **out, const char *path, struct scenario_diagnostics *diags,
                  struct error *err);
void scenario_free(struct scenario *s);
void scenario_diagnostics_release(struct scenario_diagnostics *diags);

int scenario_find_database(const struct scenario *s, const char *name); /* index or -1 */
int scenario_find_service(const struct scenario *s, const char *name);
int scenario_find_link(const struct scenario *s, const char *name);
/* "scenario.json:14:9: steps[3].sql: " for run-time messages about a value. */
void scenario_locate(const struct scenario *s, const char *pointer, char *out, size_t size);

/* ---- for step kinds: parsing their part of a step ---------------------- */

struct scenario_parser;

/* Report a problem at a JSON Pointer; the message says what was expected
 * and what was found.  Parsing goes on, so every problem is reported. */
void scenario_error(struct scenario_parser *p, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The scenario being built (its databases and services are complete when
 * steps are parsed). */
const struct scenario *scenario_parser_scenario(const struct scenario_parser *p);

/* "<pointer>/<key>" with RFC 6901 escaping; "<pointer>/<index>". */
void scenario_pointer(char *out, size_t size, const char *base, const char *key);
void scenario_pointer_index(char *out, size_t size, const char *base, size_t index);

/* "a string", "true", "an object", ... for "found ..." in messages. */
void scenario_describe(const json_t *v, char *out, size_t size);

/* Check that v is an object whose keys are all in `allowed` (NULL-terminated);
 * unknown keys are reported with a "did you mean" for near misses.  `what`
 * names the object in "expected an object (what)". */
bool scenario_check_object(struct scenario_parser *p, const json_t *v, const char *pointer,
                           const char *const *allowed, const char *what);

/* Typed members of an object.  Each returns false after reporting when the
 * member has the wrong type or value (or is missing and required); a missing
 * optional member returns true and leaves *out untouched. */
bool scenario_get_string(struct scenario_parser *p, const json_t *obj, const char *pointer,
                         const char *key, bool required, const char **out);
bool scenario_get_bool(struct scenario_parser *p, const json_t *obj, const char *pointer,
                       const char *key, bool *out);
bool scenario_get_number(struct scenario_parser *p, const json_t *obj, const char *pointer,
                         const char *key, bool required, double *out);
bool scenario_get_int(struct scenario_parser *p, const json_t *obj, const char *pointer,
                      const char *key, long long min, long long max, bool required,
                      long long *out);
/* Durations are strings with a unit: "250us", "500ms", "2s", "1.5m", "1h". */
bool scenario_get_duration(struct scenario_parser *p, const json_t *obj, const char *pointer,
                           const char *key, bool required, int64_t *out_us);
bool scenario_parse_duration(struct scenario_parser *p, const json_t *v, const char *pointer,
                             int64_t *out_us);

/* A file path relative to the scenario's directory: checked to be a
 * readable regular file; returns the absolute path (owned by the scenario)
 * or NULL after reporting. */
const char *scenario_input_file(struct scenario_parser *p, const char *pointer, const char *path);

/* A database or service named by a step: its index, or -1 after reporting
 * (with "did you mean" and the list of names). */
int scenario_ref_database(struct scenario_parser *p, const char *pointer, const char *name);
int scenario_ref_service(struct scenario_parser *p, const char *pointer, const char *name);
int scenario_ref_link(struct scenario_parser *p, const char *pointer, const char *name);

/* A string that may hold substitutions (subst.h; `allow` says which), or
 * NULL after reporting.  The caller owns it (subst_free). */
struct subst *scenario_template(struct scenario_parser *p, const json_t *v, const char *pointer,
                                unsigned allow);

/* A step parsed before this point (in file order, parallel children
 * included), by name; NULL when there is none. */
const struct step *scenario_find_step(const struct scenario_parser *p, const char *name);

/* Parse one step (used by kinds that hold steps, such as parallel). */
struct step *scenario_parse_step(struct scenario_parser *p, const json_t *v, const char *pointer,
                                 const struct step *parent);
/* Free a step and its kind data; NULL is fine. */
void step_free(struct step *step);

/* Metrics: steps declare the names they will publish, so an assert can be
 * checked against what is measured before it (see metrics.h for the names).
 * A name component "*" matches any one component. */
void scenario_declare_metric(struct scenario_parser *p, const char *name);
/* Is `name` declared so far?  Otherwise the nearest declared name goes into
 * `suggestion` (empty when nothing is near). */
bool scenario_metric_declared(const struct scenario_parser *p, const char *name,
                              char *suggestion, size_t size);

/* A duplicate of s owned by the scenario (freed with it). */
char *scenario_strdup(struct scenario_parser *p, const char *s);

#endif
