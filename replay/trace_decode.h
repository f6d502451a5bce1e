/*
 * trace_decode.h — decode a trace's transaction line straight into a
 * struct trace_tx, in one pass, without building a JSON tree.
 *
 * The replay reads every line of a trace; building a jansson tree per line
 * (an allocation per value, a hash table per object) cost more than sending
 * the request.  This decoder handles what a transaction line holds, in any
 * member order, with unknown members skipped, and gives up — returns 0 —
 * on anything else: another line type, a value of an unexpected type,
 * invalid UTF-8, a \u0000 escape, trailing bytes, an out-of-range number.
 * The caller then parses the line with jansson, which yields the same
 * transaction or the located error message (trace_reader.c does this), so
 * the fast path never changes what a trace means, only how fast it is read.
 */
#ifndef REHEARSE_TRACE_DECODE_H
#define REHEARSE_TRACE_DECODE_H

#include <stddef.h>

#include "arena.h"
#include "trace.h"

/* 1 with *tx filled (strings, header arrays and decoded bytes from `arena`,
 * NUL-terminated; nothing points into `line`), or 0: use the slow path. */
int trace_decode_tx(const char *line, size_t len, struct arena *arena, struct trace_tx *tx);

#endif
