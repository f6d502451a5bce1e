#include "jout.h"

#include <string.h>

#include "errors.h"
#include "jsonw.h"

#define BIT(d) ((uint64_t)1 << (d))

void jout_init(struct jout *j, struct buf *out, int indent, unsigned flags)
{
    j->out = out;
    j->indent = indent;
    j->flags = flags;
    j->rc = 0;
    j->depth = 0;
    j->after_key = false;
    j->first = BIT(0);
    j->is_inline = 0;
    j->is_object = 0;
}

static void newline(struct jout *j, int level)
{
    if (j->rc || !j->indent)
        return;
    if ((j->rc = buf_append_char(j->out, '\n')) != 0)
        return;
    for (int i = 0; i < j->indent * level && !j->rc; i++)
        j->rc = buf_append_char(j->out, ' ');
}

/* Punctuation before a value or a key at the current depth. */
static void item(struct jout *j)
{
    int d = j->depth;

    if (j->rc)
        return;
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (d == 0) {
        if (!(j->first & BIT(0)))
            j->rc = ERR_STATE; /* a second top-level value */
        j->first &= ~BIT(0);
        return;
    }
    if (j->is_object & BIT(d)) {
        j->rc = ERR_STATE; /* a value in an object needs a key first */
        return;
    }
    if (!(j->first & BIT(d)))
        j->rc = buf_append_str(j->out, j->indent && (j->is_inline & BIT(d)) ? ", " : ",");
    j->first &= ~BIT(d);
    if (!(j->is_inline & BIT(d)))
        newline(j, d);
}

static void open_container(struct jout *j, char c, bool object, bool is_inline)
{
    item(j);
    if (j->rc)
        return;
    if (j->depth + 1 >= JOUT_MAX_DEPTH) {
        j->rc = ERR_TOOBIG;
        return;
    }
    j->depth++;
    j->first |= BIT(j->depth);
    /* inside an inline container everything is inline */
    if (is_inline || (j->is_inline & BIT(j->depth - 1)))
        j->is_inline |= BIT(j->depth);
    else
        j->is_inline &= ~BIT(j->depth);
    if (object)
        j->is_object |= BIT(j->depth);
    else
        j->is_object &= ~BIT(j->depth);
    j->rc = buf_append_char(j->out, c);
}

void jout_object(struct jout *j) { open_container(j, '{', true, false); }
void jout_object_inline(struct jout *j) { open_container(j, '{', true, true); }
void jout_array(struct jout *j) { open_container(j, '[', false, false); }
void jout_array_inline(struct jout *j) { open_container(j, '[', false, true); }

void jout_end(struct jout *j)
{
    int d = j->depth;

    if (j->rc)
        return;
    if (d == 0 || j->after_key) {
        j->rc = ERR_STATE;
        return;
    }
    if (!(j->first & BIT(d)) && !(j->is_inline & BIT(d)))
        newline(j, d - 1);
    if (!j->rc)
        j->rc = buf_append_char(j->out, (j->is_object & BIT(d)) ? '}' : ']');
    j->depth--;
}

void jout_keyn(struct jout *j, const char *key, size_t len)
{
    int d = j->depth;

    if (j->rc)
        return;
    if (d == 0 || !(j->is_object & BIT(d)) || j->after_key) {
        j->rc = ERR_STATE;
        return;
    }
    if (!(j->first & BIT(d)))
        j->rc = buf_append_str(j->out, j->indent && (j->is_inline & BIT(d)) ? ", " : ",");
    j->first &= ~BIT(d);
    if (!(j->is_inline & BIT(d)))
        newline(j, d);
    if (!j->rc)
        j->rc = jsonw_string(j->out, key, len, j->flags);
    if (!j->rc)
        j->rc = j->indent ? buf_append(j->out, ": ", 2) : buf_append_char(j->out, ':');
    j->after_key = true;
}

void jout_key(struct jout *j, const char *key)
{
    jout_keyn(j, key, strlen(key));
}

void jout_string(struct jout *j, const char *s, size_t len)
{
    item(j);
    if (!j->rc)
        j->rc = jsonw_string(j->out, s, len, j->flags);
}

void jout_cstring(struct jout *j, const char *s)
{
    if (!s)
        jout_null(j);
    else
        jout_string(j, s, strlen(s));
}

void jout_int(struct jout *j, int64_t v)
{
    item(j);
    if (!j->rc)
        j->rc = jsonw_int(j->out, v);
}

void jout_uint(struct jout *j, uint64_t v)
{
    item(j);
    if (!j->rc)
        j->rc = jsonw_uint(j->out, v);
}

void jout_double(struct jout *j, double v)
{
    item(j);
    if (!j->rc)
        j->rc = jsonw_double(j->out, v);
}

void jout_bool(struct jout *j, bool v)
{
    item(j);
    if (!j->rc)
        j->rc = buf_append_str(j->out, v ? "true" : "false");
}

void jout_null(struct jout *j)
{
    item(j);
    if (!j->rc)
        j->rc = buf_append_str(j->out, "null");
}

void jout_jdoc(struct jout *j, const struct jdoc *d, uint32_t i)
{
    item(j);
    if (!j->rc)
        j->rc = jdoc_write(j->out, d, i, 0,
                           (j->flags & JSONW_HTML_SAFE) ? JDOC_WRITE_HTML_SAFE : 0);
}

static bool all_scalars(const struct jdoc *d, uint32_t i)
{
    for (uint32_t c = jdoc_first(d, i); c != JDOC_NONE; c = jdoc_next(d, i, c))
        if (jdoc_at(d, c)->type == JDOC_ARRAY || jdoc_at(d, c)->type == JDOC_OBJECT)
            return false;
    return true;
}

static bool all_scalars_members(const struct jdoc *d, uint32_t i)
{
    for (uint32_t c = jdoc_first(d, i); c != JDOC_NONE; c = jdoc_next(d, i, c))
        if (jdoc_at(d, c + 1)->type == JDOC_ARRAY || jdoc_at(d, c + 1)->type == JDOC_OBJECT)
            return false;
    return true;
}

void jout_tree(struct jout *j, const struct jdoc *d, uint32_t i)
{
    const struct jdoc_node *n = jdoc_at(d, i);

    if (j->rc)
        return;
    if (n->type == JDOC_ARRAY) {
        if (all_scalars(d, i))
            jout_array_inline(j);
        else
            jout_array(j);
        for (uint32_t c = jdoc_first(d, i); c != JDOC_NONE && !j->rc; c = jdoc_next(d, i, c))
            jout_tree(j, d, c);
        jout_end(j);
    } else if (n->type == JDOC_OBJECT) {
        if (n->len <= 8 && all_scalars_members(d, i))
            jout_object_inline(j);
        else
            jout_object(j);
        for (uint32_t c = jdoc_first(d, i); c != JDOC_NONE && !j->rc; c = jdoc_next(d, i, c)) {
            jout_keyn(j, jdoc_at(d, c)->text, jdoc_at(d, c)->len);
            jout_tree(j, d, c + 1);
        }
        jout_end(j);
    } else {
        jout_jdoc(j, d, i);
    }
}

int jout_finish(struct jout *j)
{
    if (!j->rc && j->depth != 0)
        j->rc = ERR_STATE;
    if (!j->rc && j->indent)
        j->rc = buf_append_char(j->out, '\n');
    return j->rc;
}
