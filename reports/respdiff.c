#include "respdiff.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "body_decode.h"
#include "diff_example.h"
#include "diff_redact.h"
#include "diff_rules.h"
#include "diff_writer.h"
#include "endpoint.h"
#include "idset.h"
#include "resp_compare.h"
#include "results_scan.h"
#include "sha256.h"

#define METHOD_MAX 64
#define PATH_MAX_LEN 4096

void respdiff_options_init(struct respdiff_options *o)
{
    memset(o, 0, sizeof *o);
    dstats_caps_default(&o->caps);
    dstats_thresholds_default(&o->thresholds);
}

/* Where an example was rendered to in the temporary file. */
struct example_loc {
    const struct dstats_endpoint *ep;
    size_t index;
    struct dstats_ref ref;
    size_t pos;          /* in output order */
    uint64_t off, len;
};

struct ctx {
    const struct respdiff_options *o;
    struct diff_rules *rules;
    uint64_t *rule_hits, *template_hits, content_type_hits;
    struct results_scan **scans;
    struct dwriter_file *files;
    struct results_header header;
    int roles[ROLES];
    struct diff_stats stats;
    bool stats_ready;
    struct dredact *redact;
    struct resp_side base, cand, noise, captured;
    struct resp_diff bc, bn;
    struct dstats_fieldset fbc, fbn;
    struct idset seen;
    struct dwriter_decoding decoding;
    uint64_t body_bytes;
    struct buf tmpl;
    char method[METHOD_MAX];
    char path[PATH_MAX_LEN];
    /* examples */
    FILE *tmp;
    struct example_loc *locs;
    size_t nlocs, cursor;
    struct buf render;
};

/* ------------------------------------------------------------------ files */

static int file_sha256(const char *path, char hex[65], struct error *err)
{
    unsigned char chunk[1 << 16];
    struct sha256 *h = sha256_new();
    int fd, rc = 0;
    ssize_t n;

    if (!h)
        return error_set(err, ERR_NOMEM, "out of memory hashing '%s'", path);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        sha256_free(h);
        return error_errno(err, ERR_INPUT, errno, "cannot open '%s'", path);
    }
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        sha256_update(h, chunk, (size_t)n);
    if (n < 0)
        rc = error_errno(err, ERR_IO, errno, "cannot read '%s'", path);
    else if (!sha256_final_hex(h, hex))
        rc = error_set(err, ERR_ENV, "libcrypto cannot compute SHA-256");
    close(fd);
    sha256_free(h);
    return rc;
}

static int target_index(const struct results_header *h, const char *name)
{
    for (size_t i = 0; i < h->target_count; i++)
        if (strcmp(h->targets[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void target_list(const struct results_header *h, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < h->target_count && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "",
                                h->targets[i].name);
}

static int resolve_role(struct ctx *c, const char *option, const char *name, int fallback,
                        int *out, struct error *err)
{
    char list[1200];
    if (!name) {
        if (fallback >= (int)c->header.target_count) {
            target_list(&c->header, list, sizeof list);
            return error_set(err, ERR_USAGE,
                             "%s: %s has only one target (%s); a diff needs two: replay "
                             "against both versions",
                             option, c->o->results[0], list);
        }
        *out = fallback;
        return 0;
    }
    if ((*out = target_index(&c->header, name)) < 0) {
        target_list(&c->header, list, sizeof list);
        return error_set(err, ERR_USAGE, "%s '%s': %s has no such target; its targets are: %s",
                         option, name, c->o->results[0], list);
    }
    return 0;
}

static int open_inputs(struct ctx *c, struct error *err)
{
    const struct respdiff_options *o = c->o;
    int rc;

    if (!o->nresults)
        return error_set(err, ERR_USAGE, "no results file given");
    c->scans = calloc(o->nresults, sizeof *c->scans);
    c->files = calloc(o->nresults, sizeof *c->files);
    if (!c->scans || !c->files)
        return error_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < o->nresults; i++) {
        const struct results_header *h;
        if ((rc = results_scan_open(&c->scans[i], o->results[i], err)))
            return rc;
        h = results_scan_header(c->scans[i]);
        if (i == 0)
            c->header = *h;
        c->files[i].path = o->results[i];
        snprintf(c->files[i].trace, sizeof c->files[i].trace, "%s", h->trace);
    }
    {
        /* shards of one replay (a transaction in two is caught as it is read) */
        const struct results_header **hs = calloc(o->nresults, sizeof *hs);
        if (!hs)
            return error_set(err, ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < o->nresults; i++)
            hs[i] = results_scan_header(c->scans[i]);
        rc = results_check_together(hs, (const char *const *)o->results, o->nresults, 0, err);
        free(hs);
        if (rc)
            return rc;
    }
    if ((rc = resolve_role(c, "--base", o->base, 0, &c->roles[ROLE_BASE], err)) ||
        (rc = resolve_role(c, "--candidate", o->candidate, 1, &c->roles[ROLE_CANDIDATE], err)))
        return rc;
    c->roles[ROLE_NOISE] = -1;
    if (o->noise && (rc = resolve_role(c, "--noise", o->noise, -1, &c->roles[ROLE_NOISE], err)))
        return rc;
    if (c->roles[ROLE_BASE] == c->roles[ROLE_CANDIDATE])
        return error_set(err, ERR_USAGE, "--base and --candidate are both '%s'; compare two "
                         "different targets", c->header.targets[c->roles[ROLE_BASE]].name);
    if (c->roles[ROLE_NOISE] >= 0 && (c->roles[ROLE_NOISE] == c->roles[ROLE_BASE] ||
                                      c->roles[ROLE_NOISE] == c->roles[ROLE_CANDIDATE]))
        return error_set(err, ERR_USAGE,
                         "--noise '%s' is also the base or the candidate; the noise reference "
                         "is a second replay against the base version (e.g. 'old2')",
                         o->noise);
    return 0;
}

/* -------------------------------------------------------------- endpoints */

static const struct jdiff_rules *rules_for(struct ctx *c, const char *method, const char *tmpl,
                                          struct error *err)
{
    if (!c->rules)
        return NULL;
    /* only endpoints the file names get their own set: the cache stays small */
    if (diff_rules_has_endpoint(c->rules, method, tmpl))
        return diff_rules_json(c->rules, method, tmpl, err);
    return diff_rules_json(c->rules, NULL, NULL, err);
}

/* method and template of a record into c->method and c->tmpl */
static const char *templated(struct ctx *c, const struct result_record *rec, bool count)
{
    size_t tlen = strlen(rec->target), plen;
    const char *path = endpoint_path(rec->target, tlen, &plen), *user;

    snprintf(c->method, sizeof c->method, "%s", rec->method);
    if (plen >= sizeof c->path)
        plen = sizeof c->path - 1;
    memcpy(c->path, path, plen);
    c->path[plen] = '\0';
    if ((user = diff_rules_template(c->rules, c->path))) {
        if (count)
            for (size_t i = 0; i < diff_rules_template_count(c->rules); i++) {
                size_t l, col;
                if (diff_rules_template_at(c->rules, i, &l, &col) == user)
                    c->template_hits[i]++;
            }
        return user;
    }
    buf_reset(&c->tmpl);
    endpoint_template_path(&c->tmpl, rec->target, tlen); /* cut when too long */
    return c->tmpl.data ? c->tmpl.data : "/";
}

/* ---------------------------------------------------------- transactions */

static void count_decoding(struct ctx *c, const struct resp_side *s)
{
    unsigned f;
    if (!s->decoded)
        return;
    f = s->view.flags;
    c->decoding.gzip += !!(f & BODY_GZIP);
    c->decoding.deflate += !!(f & BODY_DEFLATE);
    c->decoding.charset += !!(f & BODY_CHARSET);
    c->decoding.capped += !!(f & BODY_CAPPED);
    c->decoding.undecodable += !!(f & BODY_UNDECODABLE);
    c->decoding.omitted += !!(f & BODY_OMITTED);
}

/* Compare one record.  *skip gets the reason it was not compared, or -1;
 * *noise whether the noise comparison was made. */
static int compare(struct ctx *c, const struct result_record *rec, const char *tmpl,
                   const struct jdiff_rules *jr, bool count, int *skip, bool *noise,
                   struct error *err)
{
    const struct result_target *tb = &rec->targets[c->roles[ROLE_BASE]];
    const struct result_target *tc = &rec->targets[c->roles[ROLE_CANDIDATE]];
    const struct result_target *tn =
        c->roles[ROLE_NOISE] >= 0 ? &rec->targets[c->roles[ROLE_NOISE]] : NULL;
    struct resp_compare_opts opt = {c->rules, c->method, tmpl, jr,
                                    c->o->max_differences ? c->o->max_differences
                                                          : RESPDIFF_DEFAULT_MAX_DIFFERENCES,
                                    count ? c->rule_hits : NULL,
                                    count ? &c->content_type_hits : NULL};
    int rc;

    *skip = -1;
    *noise = false;
    if (!tb->has_response || !tc->has_response) {
        *skip = !tb->has_response && !tc->has_response ? DSTATS_SKIP_BOTH_ERROR
                : !tb->has_response                    ? DSTATS_SKIP_BASE_ERROR
                                                       : DSTATS_SKIP_CANDIDATE_ERROR;
        return 0;
    }
    resp_side_set(&c->base, &tb->response, tb->body_omitted, tb->body_sha256);
    resp_side_set(&c->cand, &tc->response, tc->body_omitted, tc->body_sha256);
    if ((rc = resp_compare(&c->bc, &c->base, &c->cand, &opt, err)))
        return rc;
    if (c->bc.undecidable) {
        *skip = DSTATS_SKIP_OMITTED_UNEQUAL;
        return 0;
    }
    if (tn && tn->has_response) {
        opt.hits = NULL;
        opt.default_hits = NULL;
        resp_side_set(&c->noise, &tn->response, tn->body_omitted, tn->body_sha256);
        if ((rc = resp_compare(&c->bn, &c->base, &c->noise, &opt, err)))
            return rc;
        *noise = !c->bn.undecidable;
    }
    if ((rc = dstats_fieldset_build(&c->fbc, &c->bc)) ||
        (rc = dstats_fieldset_build(&c->fbn, *noise ? &c->bn : NULL)))
        return error_set(err, rc, "out of memory comparing transaction %llu",
                         (unsigned long long)rec->tx);
    if (count) {
        c->body_bytes += tb->response.body_len + tc->response.body_len;
        count_decoding(c, &c->base);
        count_decoding(c, &c->cand);
        if (*noise) {
            c->body_bytes += tn->response.body_len;
            count_decoding(c, &c->noise);
        }
    }
    return 0;
}

static int first_pass_record(struct ctx *c, const struct result_record *rec, uint32_t file,
                             uint64_t line, uint64_t offset, struct error *err)
{
    struct results_scan *scan = c->scans[file];
    struct dstats_endpoint *ep;
    const struct jdiff_rules *jr;
    struct dstats_ref ref;
    const char *tmpl;
    bool created, noise;
    int skip, rc;

    rc = idset_add(&c->seen, rec->tx);
    if (rc < 0)
        return error_set(err, ERR_NOMEM, "out of memory");
    if (rc == 0)
        return error_set(err, ERR_INPUT,
                         "%s:%llu: transaction %llu was already read; results given together "
                         "must be shards of one replay, each transaction in exactly one",
                         results_scan_path(scan), (unsigned long long)line,
                         (unsigned long long)rec->tx);
    dstats_add_targets(&c->stats, rec);
    tmpl = templated(c, rec, true);
    if (!(ep = dstats_endpoint(&c->stats, c->method, tmpl, &created)))
        return error_set(err, ERR_NOMEM, "out of memory");
    if (created && !ep->other) {
        ep->user = rules_for(c, c->method, tmpl, err);
        if (c->rules && !ep->user)
            return err->code;
    }
    jr = ep->other ? rules_for(c, c->method, tmpl, err) : ep->user;
    if (c->rules && !jr)
        return err->code;
    if ((rc = compare(c, rec, tmpl, jr, true, &skip, &noise, err)))
        return rc;
    ref = (struct dstats_ref){rec->tx, file, offset, line};
    rc = dstats_add(&c->stats, ep, rec, c->roles, &ref, skip, skip < 0 ? &c->bc : NULL,
                    skip < 0 ? &c->fbc : NULL, noise ? &c->bn : NULL, noise ? &c->fbn : NULL);
    return rc ? error_set(err, rc, "out of memory") : 0;
}

/*
 * The first pass reads on one thread and compares on another: reading a
 * results line (decompressing, parsing the JSON that holds the bodies) costs
 * about half as much as comparing the bodies, so on two cores the reading
 * is mostly hidden.  The reader fills a ring of slots (results_scan.h) and
 * the comparer takes them in order; the reader also hashes each file.
 */
#define AHEAD 3 /* each slot holds a record: memory is AHEAD records */

struct ahead {
    struct ctx *c;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct results_slot *slots[AHEAD];
    const struct result_record *recs[AHEAD];
    uint32_t files[AHEAD];
    uint64_t head, tail;  /* the comparer takes head, the reader fills tail */
    bool done, stop;
    bool reader_waits, comparer_waits; /* wake a thread only when it sleeps */
    int rc;               /* the reader's end: 0 or its error */
    struct error err;
};

static void *reader_main(void *arg)
{
    struct ahead *a = arg;
    struct ctx *c = a->c;
    struct error err;
    int rc = 0;

    error_init(&err);
    for (size_t f = 0; f < c->o->nresults && !rc; f++) {
        if ((rc = file_sha256(c->o->results[f], c->files[f].sha256, &err)))
            break;
        for (;;) {
            const struct result_record *rec;
            size_t k;
            bool stop;
            pthread_mutex_lock(&a->mu);
            while (a->tail - a->head == AHEAD && !a->stop) {
                a->reader_waits = true;
                pthread_cond_wait(&a->cv, &a->mu);
                a->reader_waits = false;
            }
            k = a->tail % AHEAD;
            stop = a->stop;
            pthread_mutex_unlock(&a->mu);
            if (stop)
                goto out;
            rc = results_scan_read(c->scans[f], a->slots[k], &rec, &err);
            if (rc <= 0)
                break; /* 0: the next file */
            rc = 0;
            pthread_mutex_lock(&a->mu);
            a->recs[k] = rec;
            a->files[k] = (uint32_t)f;
            a->tail++;
            if (a->comparer_waits)
                pthread_cond_broadcast(&a->cv);
            pthread_mutex_unlock(&a->mu);
        }
    }
out:
    pthread_mutex_lock(&a->mu);
    a->rc = rc;
    a->err = err;
    a->done = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

static int first_pass(struct ctx *c, struct error *err)
{
    struct ahead a;
    pthread_t reader;
    int rc = 0;

    memset(&a, 0, sizeof a);
    a.c = c;
    for (size_t k = 0; k < AHEAD; k++)
        if (!(a.slots[k] = results_slot_new()))
            rc = error_set(err, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cv, NULL);
    if (!rc && pthread_create(&reader, NULL, reader_main, &a) != 0)
        rc = error_set(err, ERR_ENV, "cannot start a thread to read the results");
    if (rc)
        goto out;
    for (;;) {
        const struct result_record *rec;
        const struct results_slot *slot;
        uint32_t f;
        pthread_mutex_lock(&a.mu);
        while (a.head == a.tail && !a.done) {
            a.comparer_waits = true;
            pthread_cond_wait(&a.cv, &a.mu);
            a.comparer_waits = false;
        }
        if (a.head == a.tail) {
            rc = a.rc;
            if (rc)
                *err = a.err;
            pthread_mutex_unlock(&a.mu);
            break;
        }
        rec = a.recs[a.head % AHEAD];
        slot = a.slots[a.head % AHEAD];
        f = a.files[a.head % AHEAD];
        pthread_mutex_unlock(&a.mu);
        c->files[f].transactions++;
        rc = first_pass_record(c, rec, f, results_slot_line_number(slot),
                               results_slot_line_offset(slot), err);
        pthread_mutex_lock(&a.mu);
        a.head++;
        if (rc)
            a.stop = true;
        if (rc || a.reader_waits)
            pthread_cond_broadcast(&a.cv);
        pthread_mutex_unlock(&a.mu);
        if (rc)
            break;
    }
    pthread_join(reader, NULL);
out:
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cv);
    for (size_t k = 0; k < AHEAD; k++)
        results_slot_free(a.slots[k]);
    return rc;
}

/* --------------------------------------------------------------- examples */

static int loc_order(const void *x, const void *y)
{
    const struct example_loc *a = x, *b = y;
    if (a->ref.file != b->ref.file)
        return a->ref.file < b->ref.file ? -1 : 1;
    return (a->ref.offset > b->ref.offset) - (a->ref.offset < b->ref.offset);
}

static int output_order(const void *x, const void *y)
{
    const struct example_loc *a = x, *b = y;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int render_example(struct ctx *c, struct example_loc *loc, struct error *err)
{
    struct results_scan *scan = c->scans[loc->ref.file];
    const struct result_record *rec;
    struct dstats_endpoint *ep = (struct dstats_endpoint *)loc->ep;
    const struct result_target *tn;
    const struct jdiff_rules *jr;
    const char *tmpl;
    struct dexample_input in;
    int rc, skip;
    bool noise;

    if ((rc = results_scan_seek(scan, loc->ref.offset, loc->ref.line, err)))
        return rc;
    rc = results_scan_next(scan, &rec, err);
    if (rc < 0)
        return rc;
    if (rc == 0 || rec->tx != loc->ref.tx)
        return error_set(err, ERR_IO, "%s:%llu: transaction %llu is no longer there: did the "
                         "file change while it was read?", results_scan_path(scan),
                         (unsigned long long)loc->ref.line, (unsigned long long)loc->ref.tx);
    tmpl = templated(c, rec, false);
    jr = rules_for(c, c->method, tmpl, err);
    if (c->rules && !jr)
        return err->code;
    if ((rc = compare(c, rec, tmpl, jr, false, &skip, &noise, err)))
        return rc;
    if (skip >= 0)
        return error_set(err, ERR_STATE, "transaction %llu: compared once, not twice",
                         (unsigned long long)rec->tx);
    tn = c->roles[ROLE_NOISE] >= 0 ? &rec->targets[c->roles[ROLE_NOISE]] : NULL;
    /* the noise reference's answer is shown even when its body could not be
     * compared (an omitted body); its failure when it failed */
    in = (struct dexample_input){rec,
                                 &c->base,
                                 &c->cand,
                                 tn && tn->has_response ? &c->noise : NULL,
                                 tn && !tn->has_response ? tn : NULL,
                                 NULL,
                                 &c->bc,
                                 &c->fbn,
                                 c->redact,
                                 &c->stats.caps};
    if (rec->has_captured) {
        resp_side_set(&c->captured, &rec->captured, false, NULL);
        in.captured = &c->captured;
    }
    buf_reset(&c->render);
    if ((rc = dexample_render(&c->render, &in)))
        return error_set(err, rc, "transaction %llu: the example is too large to write",
                         (unsigned long long)rec->tx);
    loc->off = (uint64_t)ftello(c->tmp);
    loc->len = c->render.len;
    if (fwrite(c->render.data, 1, c->render.len, c->tmp) != c->render.len)
        return error_errno(err, ERR_IO, errno, "cannot write examples to a temporary file");
    for (size_t i = 0; i < c->fbc.count; i++)
        dstats_field_example(&c->stats, ep, c->fbc.items[i].part, c->fbc.items[i].field,
                             c->fbc.items[i].field_len, rec->tx);
    return 0;
}

static int second_pass(struct ctx *c, struct error *err)
{
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < c->stats.norder; i++)
        n += c->stats.order[i]->nexamples;
    if (!(c->locs = calloc(n + 1, sizeof *c->locs)))
        return error_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->stats.norder; i++) {
        const struct dstats_endpoint *ep = c->stats.order[i];
        for (size_t k = 0; k < ep->nexamples; k++)
            {
                c->locs[c->nlocs] = (struct example_loc){ep, k, ep->examples[k], c->nlocs, 0, 0};
                c->nlocs++;
            }
    }
    if (!n)
        return 0;
    if (!(c->tmp = tmpfile()))
        return error_errno(err, ERR_IO, errno, "cannot create a temporary file for examples");
    /* read in file order: compressed files only go forward */
    qsort(c->locs, c->nlocs, sizeof *c->locs, loc_order);
    for (size_t i = 0; i < c->nlocs; i++)
        if ((rc = render_example(c, &c->locs[i], err)))
            return rc;
    qsort(c->locs, c->nlocs, sizeof *c->locs, output_order);
    dstats_examples_done(&c->stats);
    return 0;
}

/* The writer asks for the examples in output order. */
static int provide_example(void *ctx, const struct dstats_endpoint *ep, size_t i,
                           struct buf *out, struct error *err)
{
    struct ctx *c = ctx;
    const struct example_loc *loc = c->cursor < c->nlocs ? &c->locs[c->cursor] : NULL;
    int rc;

    if (!loc || loc->ep != ep || loc->index != i)
        return error_set(err, ERR_STATE, "example %zu of '%s' was not rendered", i, ep->name);
    c->cursor++;
    if ((rc = buf_reserve(out, loc->len)))
        return error_set(err, rc, "an example does not fit in the output buffer");
    if (fseeko(c->tmp, (off_t)loc->off, SEEK_SET) != 0 ||
        fread(out->data + out->len, 1, loc->len, c->tmp) != loc->len)
        return error_errno(err, ERR_IO, errno, "cannot read examples back from a temporary file");
    out->len += loc->len;
    out->data[out->len] = '\0';
    return 0;
}

/* ------------------------------------------------------------------- run */

static void ctx_release(struct ctx *c)
{
    for (size_t i = 0; c->scans && i < c->o->nresults; i++)
        results_scan_close(c->scans[i]);
    free(c->scans);
    free(c->files);
    diff_rules_free(c->rules);
    free(c->rule_hits);
    free(c->template_hits);
    if (c->stats_ready)
        dstats_release(&c->stats);
    dredact_free(c->redact);
    resp_side_release(&c->base);
    resp_side_release(&c->cand);
    resp_side_release(&c->noise);
    resp_side_release(&c->captured);
    resp_diff_release(&c->bc);
    resp_diff_release(&c->bn);
    dstats_fieldset_release(&c->fbc);
    dstats_fieldset_release(&c->fbn);
    idset_release(&c->seen);
    buf_release(&c->tmpl);
    buf_release(&c->render);
    if (c->tmp)
        fclose(c->tmp);
    free(c->locs);
}

int respdiff_run(const struct respdiff_options *o, struct respdiff_result *res,
                 struct error *err)
{
    struct ctx c;
    struct dwriter_input w;
    char rules_sha[65] = "";
    int rc;

    memset(&c, 0, sizeof c);
    memset(res, 0, sizeof *res);
    c.o = o;
    resp_side_init(&c.base, o->max_decoded);
    resp_side_init(&c.cand, o->max_decoded);
    resp_side_init(&c.noise, o->max_decoded);
    resp_side_init(&c.captured, o->max_decoded);
    resp_diff_init(&c.bc);
    resp_diff_init(&c.bn);
    dstats_fieldset_init(&c.fbc);
    dstats_fieldset_init(&c.fbn);
    idset_init(&c.seen);
    buf_init(&c.tmpl, PATH_MAX_LEN);
    buf_init(&c.render, (size_t)1 << 30);

    if (o->rules_path) {
        if ((rc = diff_rules_load(&c.rules, o->rules_path, err)) ||
            (rc = file_sha256(o->rules_path, rules_sha, err)))
            goto out;
    }
    c.rule_hits = calloc(diff_rules_count(c.rules) + 1, sizeof *c.rule_hits);
    c.template_hits = calloc(diff_rules_template_count(c.rules) + 1, sizeof *c.template_hits);
    if (!c.rule_hits || !c.template_hits) {
        rc = error_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = open_inputs(&c, err)))
        goto out;
    if ((rc = dredact_new(&c.redact, c.rules, o->redact_key, o->redact_key_len, err)))
        goto out;
    dstats_init(&c.stats, &o->caps, &o->thresholds, c.header.target_count,
                c.roles[ROLE_NOISE] >= 0);
    c.stats_ready = true;
    if ((rc = first_pass(&c, err)))
        goto out;
    if ((rc = dstats_finish(&c.stats))) {
        rc = error_set(err, rc, "out of memory");
        goto out;
    }
    if ((rc = second_pass(&c, err)))
        goto out;

    memset(&w, 0, sizeof w);
    w.files = c.files;
    w.nfiles = o->nresults;
    w.header = &c.header;
    memcpy(w.roles, c.roles, sizeof w.roles);
    w.rules_path = o->rules_path;
    w.rules_sha256 = rules_sha;
    w.rules = c.rules;
    w.rule_hits = c.rule_hits;
    w.template_hits = c.template_hits;
    w.content_type_hits = c.content_type_hits;
    w.redact = c.redact;
    w.redact_key_given = o->redact_key != NULL;
    w.decoding = &c.decoding;
    w.body_bytes = c.body_bytes;
    w.stats = &c.stats;
    w.argc = o->argc;
    w.argv = o->argv;
    if (o->created_us) {
        w.created_us = o->created_us;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        w.created_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    w.example = provide_example;
    w.example_ctx = &c;
    if ((rc = dwriter_write(o->output, &w, err)))
        goto out;

    res->verdict = dstats_verdict(&c.stats, &res->exit_code);
    dwriter_summary(&c.stats, &c.header, c.roles, res->summary, sizeof res->summary);
    res->transactions = c.stats.transactions;
    res->compared = c.stats.compared;
    res->body_bytes = c.body_bytes;
    res->endpoints = c.stats.norder;
out:
    ctx_release(&c);
    return rc;
}
