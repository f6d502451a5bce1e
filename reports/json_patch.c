/*
 * json_patch.c — RFC 6902 application (json_patch.h).
 */
#include "json_patch.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "jdoc.h"
#include "json_pointer.h"

const char *jpatch_failure_name(enum jpatch_failure f)
{
    switch (f) {
    case JPATCH_OK: return "ok";
    case JPATCH_INVALID: return "invalid patch";
    case JPATCH_CONFLICT: return "does not apply";
    case JPATCH_TEST_FAILED: return "test failed";
    }
    return "unknown";
}

static bool number_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    if (json_is_real(a)) {
        const json_t *t = a;
        a = b;
        b = t;
    }
    /* a integer, b real: equal only when the real is that integer exactly
     * (converting the integer to double could round and lie). */
    double r = json_real_value(b);
    if (r != floor(r) || r < -9223372036854775808.0 || r >= 9223372036854775808.0)
        return false;
    return (json_int_t)r == json_integer_value(a);
}

bool jpatch_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return number_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jpatch_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_keylen_foreach((json_t *)a, key, klen, v) {
            json_t *w = json_object_getn(b, key, klen);
            if (!w || !jpatch_equal(v, w))
                return false;
        }
        return true;
    }
    default:
        return true; /* null, true, false: the type says it all */
    }
}

/*
 * A deep copy.  Not json_deep_copy(): jansson 2.14 copies member names up
 * to their first NUL byte, and "\u0000" is valid in a member name.
 */
static json_t *deep_copy(const json_t *v)
{
    json_t *out, *e;
    const char *key;
    size_t i, klen;

    switch (json_typeof(v)) {
    case JSON_ARRAY:
        if (!(out = json_array()))
            return NULL;
        json_array_foreach(v, i, e) {
            if (json_array_append_new(out, deep_copy(e))) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case JSON_OBJECT:
        if (!(out = json_object()))
            return NULL;
        json_object_keylen_foreach((json_t *)v, key, klen, e) {
            json_t *c = deep_copy(e);
            if (!c || json_object_setn_new_nocheck(out, key, klen, c)) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    default:
        return json_copy((json_t *)v); /* scalars: no member names */
    }
}

/* Everything one operation needs to report a failure. */
struct op_ctx {
    size_t index;
    const char *name;     /* "add", ... */
    char path[160];       /* the path as written, cut for messages */
    int has_path;
    struct jpatch_status *st;
    struct error *err;
};

__attribute__((format(printf, 3, 4)))
static int op_fail(struct op_ctx *o, enum jpatch_failure f, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o->st) {
        o->st->failure = f;
        o->st->op = o->index;
    }
    if (o->name && !o->has_path)
        return error_set(o->err, ERR_INPUT, "operation %zu (%s): %s", o->index, o->name, msg);
    if (o->name)
        return error_set(o->err, ERR_INPUT, "operation %zu (%s \"%s\"): %s", o->index, o->name,
                         o->path, msg);
    return error_set(o->err, ERR_INPUT, "operation %zu: %s", o->index, msg);
}

/* The reason jpointer_get gave, for op_fail. */
static const char *reason(const struct error *e)
{
    return e->message[0] ? e->message : "path not found";
}

/* The container holding the last token of ptr, or NULL (with a failure). */
static json_t *parent_of(struct op_ctx *o, json_t *root, const struct jpointer *ptr)
{
    struct error e;
    json_t *parent;

    error_init(&e);
    parent = jpointer_get(root, ptr, ptr->count - 1, &e);
    if (!parent)
        op_fail(o, JPATCH_CONFLICT, "the parent of the target does not exist: %s", reason(&e));
    return parent;
}

static const char *kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_NULL: return "null";
    default: return "a boolean";
    }
}

/* Add `value` (a reference this function takes over) at ptr. */
static int op_add(struct op_ctx *o, json_t **root, const struct jpointer *ptr, json_t *value)
{
    const struct jpointer_token *t;
    json_t *parent;
    size_t index;

    if (ptr->count == 0) {
        json_decref(*root);
        *root = value;
        return 0;
    }
    if (!(parent = parent_of(o, *root, ptr))) {
        json_decref(value);
        return ERR_INPUT;
    }
    t = &ptr->tokens[ptr->count - 1];
    if (json_is_object(parent)) {
        if (json_object_setn_new(parent, t->s, t->len, value))
            return error_set(o->err, ERR_NOMEM, "out of memory");
        return 0;
    }
    if (json_is_array(parent)) {
        switch (jpointer_index(t->s, t->len, &index)) {
        case JPOINTER_END:
            index = json_array_size(parent);
            break;
        case JPOINTER_BAD:
            json_decref(value);
            return op_fail(o, JPATCH_CONFLICT,
                           "\"%.*s\" is not an array index (expected 0, 1, ... without "
                           "leading zeros, or - to append)", (int)(t->len > 40 ? 40 : t->len),
                           t->s);
        default:
            if (index > json_array_size(parent)) {
                json_decref(value);
                return op_fail(o, JPATCH_CONFLICT,
                               "index %zu is beyond the end of the array of %zu elements "
                               "(use %zu or - to append)", index, json_array_size(parent),
                               json_array_size(parent));
            }
        }
        if (json_array_insert_new(parent, index, value))
            return error_set(o->err, ERR_NOMEM, "out of memory");
        return 0;
    }
    json_decref(value);
    return op_fail(o, JPATCH_CONFLICT, "cannot add a member to %s", kind_name(parent));
}

/* Remove the value at ptr; with `taken`, hand it over instead of freeing it. */
static int op_remove(struct op_ctx *o, json_t *root, const struct jpointer *ptr, json_t **taken)
{
    const struct jpointer_token *t;
    json_t *parent, *v;
    size_t index;

    if (ptr->count == 0)
        return op_fail(o, JPATCH_CONFLICT, "cannot remove the whole document");
    if (!(parent = parent_of(o, root, ptr)))
        return ERR_INPUT;
    t = &ptr->tokens[ptr->count - 1];
    if (json_is_object(parent)) {
        if (!(v = json_object_getn(parent, t->s, t->len)))
            return op_fail(o, JPATCH_CONFLICT, "no member \"%.*s\" to remove",
                           (int)(t->len > 60 ? 60 : t->len), t->s);
        if (taken)
            *taken = json_incref(v);
        json_object_deln(parent, t->s, t->len);
        return 0;
    }
    if (json_is_array(parent)) {
        if (jpointer_index(t->s, t->len, &index) != JPOINTER_INDEX)
            return op_fail(o, JPATCH_CONFLICT,
                           "\"%.*s\" is not the index of an element (expected 0, 1, ... "
                           "without leading zeros)", (int)(t->len > 40 ? 40 : t->len), t->s);
        if (index >= json_array_size(parent))
            return op_fail(o, JPATCH_CONFLICT, "index %zu is out of range for the array of "
                           "%zu elements", index, json_array_size(parent));
        if (taken)
            *taken = json_incref(json_array_get(parent, index));
        json_array_remove(parent, index);
        return 0;
    }
    return op_fail(o, JPATCH_CONFLICT, "cannot remove a member of %s", kind_name(parent));
}

/* Look a value up for replace, move, copy and test. */
static json_t *target(struct op_ctx *o, json_t *root, const struct jpointer *ptr,
                      enum jpatch_failure f, const char *what)
{
    struct error e;
    json_t *v;

    error_init(&e);
    v = jpointer_get(root, ptr, ptr->count, &e);
    if (!v)
        op_fail(o, f, "%s does not exist: %s", what, reason(&e));
    return v;
}

/* Replace in place (remove-then-add in effect, RFC 6902 4.3, without
 * shifting an array's elements twice). */
static int op_replace(struct op_ctx *o, json_t **root, const struct jpointer *ptr, json_t *value)
{
    const struct jpointer_token *t;
    json_t *parent;
    size_t index;
    int rc;

    if (ptr->count == 0)
        return op_add(o, root, ptr, value); /* the whole document */
    if (!target(o, *root, ptr, JPATCH_CONFLICT, "the value to replace")) {
        json_decref(value);
        return ERR_INPUT;
    }
    parent = jpointer_get(*root, ptr, ptr->count - 1, NULL);
    t = &ptr->tokens[ptr->count - 1];
    if (json_is_object(parent)) {
        rc = json_object_setn_new(parent, t->s, t->len, value);
    } else {
        jpointer_index(t->s, t->len, &index); /* checked by target() */
        rc = json_array_set_new(parent, index, value);
    }
    return rc ? error_set(o->err, ERR_NOMEM, "out of memory") : 0;
}

/* Do the first n tokens of a and b agree? */
static bool tokens_equal(const struct jpointer *a, const struct jpointer *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a->tokens[i].len != b->tokens[i].len ||
            memcmp(a->tokens[i].s, b->tokens[i].s, a->tokens[i].len) != 0)
            return false;
    return true;
}

/* Write a value for a message, cut to about 80 characters. */
static const char *show_value(const json_t *v, char *tmp, size_t size)
{
    struct buf b;
    buf_init(&b, 4096);
    if (jdoc_write_jansson(&b, v, 0, 0) != 0 && b.len == 0)
        snprintf(tmp, size, "(a large value)");
    else if (b.len + 1 > size)
        snprintf(tmp, size, "%.*s...", (int)(size - 4), b.data);
    else
        snprintf(tmp, size, "%s", b.data ? b.data : "");
    buf_release(&b);
    return tmp;
}

static int get_pointer(struct op_ctx *o, const json_t *op, const char *member,
                       struct jpointer *ptr)
{
    json_t *v = json_object_get(op, member);
    struct error e;

    if (!v)
        return op_fail(o, JPATCH_INVALID, "missing \"%s\" member (a JSON Pointer string)",
                       member);
    if (!json_is_string(v))
        return op_fail(o, JPATCH_INVALID, "\"%s\" must be a JSON Pointer string, found %s",
                       member, kind_name(v));
    error_init(&e);
    if (jpointer_parse(ptr, json_string_value(v), json_string_length(v), &e))
        return e.code == ERR_NOMEM ? error_set(o->err, ERR_NOMEM, "out of memory")
                                   : op_fail(o, JPATCH_INVALID, "\"%s\": %s", member, e.message);
    return 0;
}

static int apply_one(struct op_ctx *o, json_t **root, const json_t *op, struct jpointer *path,
                     struct jpointer *from)
{
    static const char *const names[] = {"add", "remove", "replace", "move", "copy", "test"};
    const json_t *jop, *jpath, *value = NULL;
    json_t *v;
    char t1[96], t2[96];
    size_t k;
    int rc;

    if (!json_is_object(op))
        return op_fail(o, JPATCH_INVALID, "expected an operation object, found %s",
                       kind_name(op));
    jop = json_object_get(op, "op");
    if (!json_is_string(jop))
        return op_fail(o, JPATCH_INVALID, "%s \"op\" member (expected one of add, remove, "
                       "replace, move, copy, test)", jop ? "a non-string" : "no");
    for (k = 0; k < 6; k++)
        if (strcmp(json_string_value(jop), names[k]) == 0)
            break;
    if (k == 6)
        return op_fail(o, JPATCH_INVALID, "unknown op %s (expected one of add, remove, "
                       "replace, move, copy, test)",
                       show_value(jop, t1, sizeof t1));
    o->name = names[k];
    jpath = json_object_get(op, "path");
    if (json_is_string(jpath)) {
        snprintf(o->path, sizeof o->path, "%s", json_string_value(jpath));
        o->has_path = 1;
    }
    if ((rc = get_pointer(o, op, "path", path)) != 0)
        return rc;
    if (k == 0 || k == 2 || k == 5) {
        if (!(value = json_object_get(op, "value")))
            return op_fail(o, JPATCH_INVALID, "missing \"value\" member");
    }
    if (k == 3 || k == 4) {
        if ((rc = get_pointer(o, op, "from", from)) != 0)
            return rc;
    }
    switch (k) {
    case 0: /* add */
        if (!(v = deep_copy(value)))
            return error_set(o->err, ERR_NOMEM, "out of memory");
        return op_add(o, root, path, v);
    case 1: /* remove */
        return op_remove(o, *root, path, NULL);
    case 2: /* replace */
        if (!(v = deep_copy(value)))
            return error_set(o->err, ERR_NOMEM, "out of memory");
        return op_replace(o, root, path, v);
    case 3: /* move */
        if (!target(o, *root, from, JPATCH_CONFLICT, "the \"from\" location"))
            return ERR_INPUT;
        if (from->count == path->count && tokens_equal(from, path, path->count))
            return 0;
        if (from->count < path->count && tokens_equal(from, path, from->count))
            return op_fail(o, JPATCH_INVALID, "cannot move a value into one of its own "
                           "children (\"from\" is a prefix of \"path\")");
        if ((rc = op_remove(o, *root, from, &v)) != 0)
            return rc;
        return op_add(o, root, path, v);
    case 4: /* copy */
        if (!(v = target(o, *root, from, JPATCH_CONFLICT, "the \"from\" location")))
            return ERR_INPUT;
        if (!(v = deep_copy(v)))
            return error_set(o->err, ERR_NOMEM, "out of memory");
        return op_add(o, root, path, v);
    default: /* test */
        if (!(v = target(o, *root, path, JPATCH_TEST_FAILED, "the value to test")))
            return ERR_INPUT;
        if (!jpatch_equal(v, value))
            return op_fail(o, JPATCH_TEST_FAILED, "the value is %s, the test expects %s",
                           show_value(v, t1, sizeof t1), show_value(value, t2, sizeof t2));
        return 0;
    }
}

int jpatch_apply(json_t **doc, const json_t *patch, struct jpatch_status *st, struct error *err)
{
    struct jpointer path, from;
    json_t *work;
    int rc = 0;

    if (st) {
        st->failure = JPATCH_OK;
        st->op = 0;
    }
    if (!json_is_array(patch)) {
        if (st)
            st->failure = JPATCH_INVALID;
        return error_set(err, ERR_INPUT, "a JSON Patch must be an array of operations, found %s",
                         kind_name(patch));
    }
    if (!(work = deep_copy(*doc)))
        return error_set(err, ERR_NOMEM, "out of memory copying the document");
    jpointer_init(&path);
    jpointer_init(&from);
    for (size_t i = 0; i < json_array_size(patch); i++) {
        struct op_ctx o = {.index = i, .st = st, .err = err};
        if ((rc = apply_one(&o, &work, json_array_get(patch, i), &path, &from)) != 0)
            break;
    }
    jpointer_release(&path);
    jpointer_release(&from);
    if (rc) {
        json_decref(work);
        return rc;
    }
    json_decref(*doc);
    *doc = work;
    return 0;
}
