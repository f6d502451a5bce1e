#include "diff_example.h"

#include <string.h>

#include "base64.h"
#include "errors.h"
#include "jsonw.h"

#define HEADERS_SHOWN 100
#define HEADER_VALUE_SHOWN 4096
#define SCRATCH_MAX ((size_t)1 << 30)

struct render {
    struct buf *out;
    const struct dexample_input *in;
    struct buf scratch;
    int rc;
};

static void put(struct render *r, const char *s)
{
    if (!r->rc)
        r->rc = buf_append_str(r->out, s);
}

static void put_str(struct render *r, const char *s, size_t len)
{
    if (!r->rc)
        r->rc = jsonw_string(r->out, s, len, 0);
}

static void put_u64(struct render *r, uint64_t v)
{
    if (!r->rc)
        r->rc = jsonw_uint(r->out, v);
}

/* The longest prefix of s[0..len) of at most max bytes that does not end
 * inside a UTF-8 sequence. */
static size_t cut_utf8(const char *s, size_t len, size_t max)
{
    size_t n = len;
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void put_headers(struct render *r, const struct http_message *m)
{
    put(r, "[");
    for (size_t i = 0; i < m->header_count && i < HEADERS_SHOWN && !r->rc; i++) {
        const struct http_header *h = &m->headers[i];
        size_t vlen;
        put(r, i ? ",[" : "[");
        put_str(r, h->name, h->name_len);
        put(r, ",");
        buf_reset(&r->scratch);
        if (!r->rc)
            r->rc = dredact_header(r->in->redact, h->name, h->name_len, h->value, h->value_len,
                                   &r->scratch);
        vlen = cut_utf8(r->scratch.data ? r->scratch.data : "", r->scratch.len,
                        HEADER_VALUE_SHOWN);
        put_str(r, r->scratch.data ? r->scratch.data : "", vlen);
        put(r, "]");
    }
    put(r, "]");
}

static bool is_form(const struct body_view *v)
{
    return strcmp(v->media_type, "application/x-www-form-urlencoded") == 0;
}

/* "body", "body_encoding", "truncated", and size and hash when useful. */
static void put_body(struct render *r, struct resp_side *side)
{
    size_t max = r->in->caps->example_body_bytes, n;
    const struct body_view *v = resp_side_body(side);
    enum body_class cls = resp_side_class(side);
    const char *enc = "text";
    bool truncated = false;

    buf_reset(&r->scratch);
    if (side->omitted) {
        put(r, ",\"body\":\"\",\"body_encoding\":\"text\",\"truncated\":false,\"body_omitted\":true");
        put(r, ",\"body_size\":");
        put_u64(r, side->msg->body_size);
        put(r, ",\"body_sha256\":");
        put_str(r, resp_side_sha256(side), strlen(resp_side_sha256(side)));
        return;
    }
    if (cls == BODY_JSON && side->parsed == 1) {
        enc = "json";
        if (!r->rc)
            r->rc = dredact_json(r->in->redact, &side->doc, 0, "", 0, 0, &r->scratch);
    } else if (cls == BODY_TEXT) {
        if (!r->rc)
            r->rc = is_form(v) ? dredact_form(r->in->redact, v->data, v->len, &r->scratch)
                               : buf_append(&r->scratch, v->data, v->len);
    } else {
        enc = "base64";
        n = v->len > max / 4 * 3 ? max / 4 * 3 : v->len;
        truncated = n < v->len;
        if (!r->rc)
            r->rc = base64_encode(&r->scratch, v->data, n);
    }
    if (r->rc)
        return;
    n = cut_utf8(r->scratch.data ? r->scratch.data : "", r->scratch.len, max);
    truncated |= n < r->scratch.len;
    put(r, ",\"body\":");
    put_str(r, r->scratch.data ? r->scratch.data : "", n);
    put(r, ",\"body_encoding\":\"");
    put(r, enc);
    put(r, truncated ? "\",\"truncated\":true" : "\",\"truncated\":false");
    put(r, ",\"body_size\":");
    put_u64(r, v->len);
    if (cls == BODY_BINARY) {
        put(r, ",\"body_sha256\":");
        put_str(r, resp_side_sha256(side), strlen(resp_side_sha256(side)));
    }
    if (v->flags & (BODY_GZIP | BODY_DEFLATE | BODY_CHARSET | BODY_CAPPED | BODY_UNDECODABLE)) {
        bool first = true;
        put(r, ",\"decoded\":[");
        static const struct { unsigned flag; const char *name; } flags[] = {
            {BODY_GZIP, "gzip"}, {BODY_DEFLATE, "deflate"}, {BODY_CHARSET, "charset"},
            {BODY_CAPPED, "capped"}, {BODY_UNDECODABLE, "undecodable"}};
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
            if (v->flags & flags[i].flag) {
                put(r, first ? "\"" : ",\"");
                put(r, flags[i].name);
                put(r, "\"");
                first = false;
            }
        put(r, "]");
    }
}

static void put_response(struct render *r, const char *key, struct resp_side *side)
{
    put(r, ",\"");
    put(r, key);
    put(r, "\":{\"status\":");
    put_u64(r, (uint64_t)side->msg->status);
    put(r, ",\"headers\":");
    put_headers(r, side->msg);
    put_body(r, side);
    put(r, "}");
}

static void put_error(struct render *r, const char *key, const struct result_target *t)
{
    put(r, ",\"");
    put(r, key);
    put(r, "\":{\"error\":{\"kind\":\"");
    put(r, result_error_name(t->error));
    put(r, "\",\"curl_code\":");
    put_u64(r, (uint64_t)(t->curl_code < 0 ? 0 : t->curl_code));
    put(r, "}}");
}

static void put_op(struct render *r, const struct resp_diff *bc, size_t i)
{
    const struct jdiff_item *it = &bc->json.items[i];
    const char *op = it->kind == JDIFF_ADDED ? "add" : it->kind == JDIFF_REMOVED ? "remove"
                                                                                 : "replace";
    put(r, "{\"op\":\"");
    put(r, op);
    put(r, "\",\"path\":");
    put_str(r, it->path, it->path_len);
    if (it->b_node != JDOC_NONE) {
        put(r, ",\"value\":");
        if (!r->rc)
            r->rc = dredact_json(r->in->redact, bc->json.b, it->b_node, it->b_path,
                                 strlen(it->b_path), 0, r->out);
    }
    put(r, "}");
}

/* A list of the body paths or header names of bc, the noise ones only
 * when `noise`; cut at caps.paths_per_example. */
static bool put_names(struct render *r, uint8_t part, bool noise_only)
{
    const struct resp_diff *bc = r->in->bc;
    size_t shown = 0;
    bool cut = false;

    put(r, "[");
    for (size_t i = 0; i < bc->count && !r->rc; i++) {
        const struct resp_item *it = &bc->items[i];
        bool dup = false;
        if (it->part != part)
            continue;
        if (noise_only &&
            !dstats_fieldset_covers(r->in->fbn, it->part, it->field, it->field_len))
            continue;
        for (size_t k = 0; k < i && !dup; k++)
            dup = bc->items[k].part == part && bc->items[k].path_len == it->path_len &&
                  memcmp(bc->items[k].path, it->path, it->path_len) == 0;
        if (dup)
            continue;
        if (shown == r->in->caps->paths_per_example) {
            cut = true;
            break;
        }
        put(r, shown ? "," : "");
        put_str(r, it->path, it->path_len);
        shown++;
    }
    put(r, "]");
    return cut || (part == RESP_BODY && bc->truncated);
}

int dexample_render(struct buf *out, const struct dexample_input *in)
{
    struct render r = {out, in, {0}, 0};
    const struct result_record *rec = in->rec;
    const struct resp_diff *bc = in->bc;
    bool header_diff = false, cut;

    buf_init(&r.scratch, SCRATCH_MAX);
    for (size_t i = 0; i < bc->count; i++)
        header_diff |= bc->items[i].part == RESP_HEADER;
    put(&r, "{\"tx\":");
    put_u64(&r, rec->tx);
    put(&r, ",\"conn\":");
    put_u64(&r, rec->conn);
    put(&r, ",\"method\":");
    put_str(&r, rec->method, strlen(rec->method));
    put(&r, ",\"target\":");
    buf_reset(&r.scratch);
    if (!r.rc)
        r.rc = dredact_target(in->redact, rec->target, strlen(rec->target), &r.scratch);
    put_str(&r, r.scratch.data ? r.scratch.data : "", r.scratch.len);

    put(&r, ",\"kinds\":[");
    {
        const char *sep = "";
        if (bc->body_differs) {
            put(&r, "\"body\"");
            sep = ",";
        }
        if (header_diff) {
            put(&r, sep);
            put(&r, "\"header\"");
            sep = ",";
        }
        if (bc->status_differs) {
            put(&r, sep);
            put(&r, "\"status\"");
        }
    }
    put(&r, "],\"paths\":");
    cut = put_names(&r, RESP_BODY, false);
    if (cut)
        put(&r, ",\"paths_truncated\":true");
    put(&r, ",\"headers\":");
    put_names(&r, RESP_HEADER, false);
    if (bc->body_json) {
        size_t start = out->len;
        bool patch_cut = bc->json.truncated;
        put(&r, ",\"patch\":[");
        for (size_t i = 0; i < bc->json.count && !r.rc; i++) {
            if (out->len - start > in->caps->example_body_bytes) {
                patch_cut = true;
                break;
            }
            put(&r, i ? "," : "");
            put_op(&r, bc, i);
        }
        put(&r, "]");
        if (patch_cut)
            put(&r, ",\"patch_truncated\":true");
    }
    put(&r, ",\"noise_paths\":");
    put_names(&r, RESP_BODY, true);
    put(&r, ",\"noise_headers\":");
    put_names(&r, RESP_HEADER, true);

    put_response(&r, "base", in->base);
    put_response(&r, "candidate", in->candidate);
    if (in->noise)
        put_response(&r, "noise", in->noise);
    else if (in->noise_target)
        put_error(&r, "noise", in->noise_target);
    if (in->captured)
        put_response(&r, "captured", in->captured);
    put(&r, "}");
    buf_release(&r.scratch);
    return r.rc;
}
