/*
 * tx_clone.h — an owned, self-contained copy of a transaction.
 *
 * The trace reader lends each transaction only until its next call; the
 * replay keeps transactions for longer (queued for a worker thread, in
 * flight, waiting for the slowest target).  tx_clone() copies one into a
 * single allocation — the struct, its strings, header arrays and bodies —
 * released with one free().  Every string in the copy is NUL-terminated.
 */
#ifndef REHEARSE_TX_CLONE_H
#define REHEARSE_TX_CLONE_H

#include <stddef.h>

#include "trace.h"

/* A copy of tx with `extra` zeroed bytes after it (for the caller's own
 * per-transaction state, at tx_clone_extra()), or NULL when out of memory.
 * *size (optional) gets the bytes allocated. */
struct trace_tx *tx_clone(const struct trace_tx *tx, size_t extra, size_t *size);
void *tx_clone_extra(struct trace_tx *copy);

#endif
