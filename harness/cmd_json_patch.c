/*
 * cmd_json_patch.c — `rehearse json-patch DOC.json PATCH.json`: apply an
 * RFC 6902 JSON Patch and print the result.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "jdoc.h"
#include "json_opts.h"
#include "json_patch.h"

#define CMD "json-patch"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse json-patch [OPTIONS] DOC.json PATCH.json\n"
            "\n"
            "Apply the RFC 6902 JSON Patch in PATCH.json (an array of add, remove,\n"
            "replace, move, copy and test operations) to DOC.json and print the result.\n"
            "All or nothing: when an operation fails, nothing is printed and the error\n"
            "names the operation (counted from 0) and where it is in PATCH.json.\n"
            "'-' reads standard input.\n"
            "\n"
            "Options:\n"
            "  --pretty          indent the result (two spaces); compact by default\n"
            JSON_OPTS_HELP
            "\n"
            "Exit: 0 applied; 1 a test operation failed; 2 bad input: invalid JSON, not\n"
            "a valid patch, or an operation that does not apply to DOC (a missing path,\n"
            "an index out of range); 3 cannot read or write.\n");
}

/* "PATCH.json:3:5: " for operation i of the patch document, or "PATCH.json: ". */
static void locate_op(const struct jdoc *p, size_t op, char *where, size_t size)
{
    uint32_t e = JDOC_NONE;
    size_t line, col;

    if (p->count && p->nodes[0].type == JDOC_ARRAY)
        for (e = jdoc_first(p, 0); e != JDOC_NONE && op; op--)
            e = jdoc_next(p, 0, e);
    if (e == JDOC_NONE) {
        snprintf(where, size, "%s", p->name);
        return;
    }
    jdoc_location(p, p->nodes[e].offset, &line, &col);
    snprintf(where, size, "%s:%zu:%zu", p->name, line, col);
}

/* Numbers are applied as 64-bit integers or doubles: say so when that
 * changes one (the result is still printed). */
static void warn_inexact(const struct jdoc *d)
{
    size_t count, line, col;
    uint32_t n = jdoc_find_inexact(d, 0, &count);

    if (n == JDOC_NONE)
        return;
    jdoc_location(d, d->nodes[n].offset, &line, &col);
    fprintf(stderr,
            "rehearse " CMD ": warning: %s:%zu:%zu: the number %.*s%s does not fit a 64-bit "
            "integer or a double exactly; it and %zu more print as the nearest double (json-diff "
            "compares such numbers exactly)\n",
            d->name, line, col, d->nodes[n].len > 40 ? 40 : (int)d->nodes[n].len,
            d->nodes[n].text, d->nodes[n].len > 40 ? "..." : "", count - 1);
}

int cmd_json_patch(int argc, char **argv)
{
    static const struct option options[] = {
        {"pretty", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        JSON_OPTS_LONG,
        {NULL, 0, NULL, 0},
    };
    struct jdoc_limits lim = {0, 0, 0};
    struct jpatch_status st;
    struct jdoc doc, patch;
    json_t *jdoc_value = NULL, *jpatch_value = NULL;
    struct buf out;
    struct error err;
    int opt, rc, indent = 0, exit_code = EXIT_OK;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'p': indent = 2; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        case JSON_OPT_MAX_DEPTH:
        case JSON_OPT_MAX_NODES:
        case JSON_OPT_MAX_SIZE:
            if (!json_opts_limit(CMD, opt, optarg, &lim))
                return EXIT_BAD_INPUT;
            break;
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 2)
        return cli_usage_error(CMD, "expected a JSON document and a JSON Patch");
    if (strcmp(argv[optind], "-") == 0 && strcmp(argv[optind + 1], "-") == 0)
        return cli_usage_error(CMD, "only one of DOC and PATCH can be standard input ('-')");

    jdoc_init(&doc);
    jdoc_init(&patch);
    buf_init(&out, (size_t)1 << 34);
    if ((rc = jdoc_parse_file(&doc, argv[optind], &lim, &err)) != 0 ||
        (rc = jdoc_parse_file(&patch, argv[optind + 1], &lim, &err)) != 0) {
        json_opts_hint(&err);
        goto fail;
    }
    if ((rc = jdoc_to_jansson(&doc, 0, &jdoc_value, &err)) != 0 ||
        (rc = jdoc_to_jansson(&patch, 0, &jpatch_value, &err)) != 0)
        goto fail;
    warn_inexact(&doc);
    warn_inexact(&patch);
    if ((rc = jpatch_apply(&jdoc_value, jpatch_value, &st, &err)) != 0) {
        if (rc == ERR_INPUT) {
            char where[300];
            locate_op(&patch, st.failure == JPATCH_OK ? 0 : st.op, where, sizeof where);
            if (!json_is_array(jpatch_value))
                snprintf(where, sizeof where, "%s", patch.name);
            error_prefix(&err, "%s", where);
        }
        exit_code = cli_report(CMD, &err);
        if (st.failure == JPATCH_TEST_FAILED)
            exit_code = EXIT_FINDINGS;
        goto out;
    }
    if ((rc = jdoc_write_jansson(&out, jdoc_value, indent, 0)) != 0 ||
        (rc = buf_append_char(&out, '\n')) != 0) {
        error_set(&err, rc, "cannot format the result: %s", error_description(rc));
        goto fail;
    }
    fwrite(out.data, 1, out.len, stdout);
    exit_code = cli_finish_stdout(CMD);
    goto out;
fail:
    exit_code = cli_report(CMD, &err);
out:
    json_decref(jdoc_value);
    json_decref(jpatch_value);
    buf_release(&out);
    jdoc_release(&doc);
    jdoc_release(&patch);
    return exit_code;
}
