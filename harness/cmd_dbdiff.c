/*
 * cmd_dbdiff.c — `rehearse dbdiff`: compare the schema and rows of two
 * PostgreSQL databases (the work is in dbdiff.c; this file parses options
 * and writes the result).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "dbdiff.h"
#include "outfile.h"

#define CMD "dbdiff"
#define MAX_LIST 4096
#define OUTPUT_MAX (1u << 30)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse dbdiff --left CONNINFO --right CONNINFO [--tables A,B]\n"
            "                       [--key TABLE=COL[,COL...]]... [--map MAP.json]\n"
            "                       [--format json|tsv] [-o PATH] [--schema-only|--rows-only]\n"
            "                       [--max-examples N] [--max-rows N] [--timeout DURATION]\n"
            "\n"
            "Compare the schema and the rows of two PostgreSQL databases (14 or later), which\n"
            "may be on different servers. Rows are matched by primary key (or --key, or the\n"
            "map's key); tables without one are compared as multisets of whole rows.\n"
            "\n"
            "  --left, --right CONNINFO  libpq connection strings ('host=... dbname=...') or\n"
            "                         postgresql:// URIs; passwords are never printed\n"
            "  --tables A,B           compare only these tables (schema.table unless in public)\n"
            "  --key TABLE=COL,...    the key of TABLE (repeat for more tables)\n"
            "  --map MAP.json         how tables and columns correspond across schema\n"
            "                         versions (docs/dbdiff-map-format.md)\n"
            "  --format json|tsv      json: the full result (docs/dbdiff-format.md), the\n"
            "                         default; tsv: a header line, then one line per table:\n"
            "                         table, only_left, only_right, changed\n"
            "  -o, --output PATH      write there, atomically (default: standard output)\n"
            "  --schema-only          compare schemas, not rows\n"
            "  --rows-only            compare rows, not schemas\n"
            "  --max-examples N       example rows kept per table and kind (default %d)\n"
            "  --max-rows N           rows fetched per table and side (default %d); beyond,\n"
            "                         differing buckets are counted but not resolved\n"
            "  --timeout DURATION     stop after this long (30s, 5m), reporting what was not\n"
            "                         compared\n"
            "\n"
            "Exit: 0 no differences; 1 differences; 2 bad input (options, map, key);\n"
            "      3 a database unreachable or failing, or the comparison was cut short\n"
            "        (--timeout) before any difference was found.\n",
            DBDIFF_DEFAULT_MAX_EXAMPLES, DBDIFF_DEFAULT_MAX_ROWS);
}

/* Split "a,b,c" in place; empty items are an error. */
static bool split_list(char *text, char **items, size_t max, size_t *n, const char *option)
{
    *n = 0;
    for (char *p = text;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p || *n == max) {
            cli_usage_error(CMD, "%s: expected a comma-separated list of names%s", option,
                            *p ? " (too many)" : " without empty items");
            return false;
        }
        items[(*n)++] = p;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

static void print_summary(const struct dbdiff_result *r)
{
    fprintf(stderr,
            "rehearse dbdiff: %zu schema change%s; %zu of %zu table%s differ: %" PRId64
            " row%s only left, %" PRId64 " only right, %" PRId64 " changed\n",
            r->nchanges, r->nchanges == 1 ? "" : "s", r->tables_different, r->ntables,
            r->ntables == 1 ? "" : "s", r->only_left, r->only_left == 1 ? "" : "s",
            r->only_right, r->changed);
    for (size_t i = 0; i < r->ntables; i++) {
        const struct dbdiff_table *t = &r->tables[i];
        if (t->cap_rows)
            fprintf(stderr,
                    "rehearse dbdiff: table '%s': %" PRId64 " differing buckets not fetched "
                    "(--max-rows %" PRIu64 "); counts are lower bounds\n",
                    t->name, t->unresolved_buckets, r->max_rows);
    }
    if (r->timed_out)
        fprintf(stderr, "rehearse dbdiff: the time limit was reached; tables marked "
                        "incomplete were not (fully) compared\n");
}

int cmd_dbdiff(int argc, char **argv)
{
    static const struct option options[] = {
        {"left", required_argument, NULL, 'L'},
        {"right", required_argument, NULL, 'R'},
        {"tables", required_argument, NULL, 't'},
        {"key", required_argument, NULL, 'k'},
        {"map", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"schema-only", no_argument, NULL, 'S'},
        {"rows-only", no_argument, NULL, 'W'},
        {"max-examples", required_argument, NULL, 'e'},
        {"max-rows", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dbdiff_options o;
    struct dbdiff_map *map = NULL;
    struct dbdiff_result *result = NULL;
    struct outfile *out = NULL;
    struct dbdiff_key *keys = NULL;
    char **key_cols = NULL;
    char *tables[MAX_LIST];
    const char *map_path = NULL, *format = "json", *output = "-";
    size_t ntables = 0, nkeys = 0, nkey_cols = 0;
    bool have_tables = false;
    struct error err;
    int opt, rc = EXIT_BAD_INPUT;

    error_init(&err);
    dbdiff_options_init(&o);
    keys = calloc(MAX_LIST, sizeof *keys);
    key_cols = calloc(MAX_LIST, sizeof *key_cols);
    if (!keys || !key_cols) {
        error_set(&err, ERR_NOMEM, "out of memory");
        rc = cli_report(CMD, &err);
        goto out;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'L': o.left_conninfo = optarg; break;
        case 'R': o.right_conninfo = optarg; break;
        case 't':
            if (have_tables) {
                cli_usage_error(CMD, "--tables: give it once, with a comma-separated list");
                goto out;
            }
            if (!split_list(optarg, tables, MAX_LIST, &ntables, "--tables"))
                goto out;
            have_tables = true;
            break;
        case 'k': {
            char *eq = strchr(optarg, '=');
            size_t n;
            if (!eq || eq == optarg || !eq[1]) {
                cli_usage_error(CMD, "--key: expected TABLE=COLUMN[,COLUMN...], found '%s'",
                                optarg);
                goto out;
            }
            *eq = '\0';
            for (size_t i = 0; i < nkeys; i++)
                if (strcmp(keys[i].table, optarg) == 0) {
                    cli_usage_error(CMD, "--key: table '%s' is given twice", optarg);
                    goto out;
                }
            if (nkeys == MAX_LIST ||
                !split_list(eq + 1, key_cols + nkey_cols, MAX_LIST - nkey_cols, &n, "--key"))
                goto out;
            keys[nkeys].table = optarg;
            keys[nkeys].cols = (const char *const *)(key_cols + nkey_cols);
            keys[nkeys].ncols = n;
            nkey_cols += n;
            nkeys++;
            break;
        }
        case 'm': map_path = optarg; break;
        case 'f': format = optarg; break;
        case 'o': output = optarg; break;
        case 'S': o.rows = false; break;
        case 'W': o.schema = false; break;
        case 'e':
            if (!cli_parse_u64(CMD, "--max-examples", optarg, &o.max_examples))
                goto out;
            break;
        case 'r':
            if (!cli_parse_u64(CMD, "--max-rows", optarg, &o.max_rows))
                goto out;
            break;
        case 'T':
            if (!cli_parse_duration_us(CMD, "--timeout", optarg, &o.timeout_us))
                goto out;
            break;
        case 'h':
            usage(stdout);
            rc = cli_finish_stdout(CMD);
            goto out;
        default:
            cli_usage_error(CMD, "invalid option");
            goto out;
        }
    }
    if (optind != argc) {
        cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!o.left_conninfo || !o.right_conninfo) {
        cli_usage_error(CMD, "both --left and --right are required");
        goto out;
    }
    if (strcmp(format, "json") != 0 && strcmp(format, "tsv") != 0) {
        cli_usage_error(CMD, "--format: expected json or tsv, found '%s'", format);
        goto out;
    }
    if (!o.rows && !o.schema) {
        cli_usage_error(CMD, "--schema-only and --rows-only exclude each other");
        goto out;
    }
    if (!o.rows && (nkeys || strcmp(format, "tsv") == 0)) {
        cli_usage_error(CMD, "--schema-only compares no rows: --key and --format tsv need rows");
        goto out;
    }
    if (o.max_rows == 0) {
        cli_usage_error(CMD, "--max-rows: expected at least 1");
        goto out;
    }
    if (have_tables) {
        o.tables = (const char *const *)tables;
        o.ntables = ntables;
    }
    o.keys = keys;
    o.nkeys = nkeys;
    if (map_path) {
        if (dbdiff_map_load(map_path, &map, &err)) {
            rc = cli_report(CMD, &err);
            goto out;
        }
        o.map = map;
    }

    if (dbdiff_run(&o, &result, &err)) {
        rc = cli_report(CMD, &err);
        goto out;
    }
    if (outfile_open(&out, output, OUTPUT_MAX, &err)) {
        rc = cli_report(CMD, &err);
        goto out;
    }
    int wrc = format[0] == 't' ? dbdiff_write_tsv(result, outfile_buf(out))
                               : dbdiff_write_json(result, outfile_buf(out));
    if (wrc) {
        outfile_discard(out);
        out = NULL;
        error_set(&err, wrc, "the result is too large to write (over %u MB)", OUTPUT_MAX >> 20);
        rc = cli_report(CMD, &err);
        goto out;
    }
    if (outfile_commit(out, &err)) {
        rc = cli_report(CMD, &err);
        goto out;
    }
    struct outfile *closing = out;
    out = NULL;
    if (outfile_close(closing, &err)) {
        rc = cli_report(CMD, &err);
        goto out;
    }
    print_summary(result);
    if (dbdiff_result_differs(result))
        rc = EXIT_FINDINGS;
    else if (!result->complete)
        rc = EXIT_ENVIRONMENT;
    else
        rc = EXIT_OK;
out:
    if (out)
        outfile_discard(out);
    dbdiff_result_free(result);
    dbdiff_map_free(map);
    free(keys);
    free(key_cols);
    return rc;
}
