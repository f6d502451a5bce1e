/*
 * escape.h — show hostile text safely in HTML, XML and Markdown.
 *
 * Everything a report shows may come from captured traffic: endpoint paths,
 * header names and values, JSON keys and values.  One walk over the bytes
 * serves every output format, so they all treat the same characters the
 * same way:
 *   - bytes that are not well-formed UTF-8 become U+FFFD;
 *   - control characters (C0, DEL, C1) become visible: U+2400 control
 *     pictures for C0 and DEL ("␀", "␛", "␡"), "[U+0085]" for C1 — XML
 *     forbids most of them even as character references;
 *   - invisible formatting and bidirectional controls (U+202E RIGHT-TO-LEFT
 *     OVERRIDE, U+2066..U+2069 isolates, zero-width characters, U+2028 and
 *     U+2029, the BOM) become "[U+202E]", so no text can be reordered or
 *     hidden on screen (the "Trojan Source" trick);
 *   - the characters that mean something in the output context are escaped
 *     (&, <, > and in attributes " and ').
 * In HTML text the visible forms are wrapped in <span class="cc">, so the
 * page can style them apart from real text.
 *
 * Long values are cut after `max_chars` characters (0: no limit), followed
 * by a note of how many bytes were left out.
 */
#ifndef REHEARSE_ESCAPE_H
#define REHEARSE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum escape_context {
    ESCAPE_HTML_TEXT, /* element content */
    ESCAPE_HTML_ATTR, /* a double- or single-quoted attribute value */
    ESCAPE_XML_TEXT,  /* XML 1.0 element content */
    ESCAPE_XML_ATTR,  /* XML 1.0 attribute value (newlines kept as &#10;) */
    ESCAPE_PLAIN,     /* no markup escaping, only the visible forms (Markdown
                         code spans, terminal output) */
};

enum escape_flags {
    /* Keep '\n' and '\t' as they are (HTML <pre>, XML element text); without
     * it they are shown as control pictures like every other control. */
    ESCAPE_KEEP_NEWLINES = 1 << 0,
};

/* Append s[0..len) escaped for `ctx`.  0, ERR_TOOBIG or ERR_NOMEM. */
int escape_append(struct buf *out, enum escape_context ctx, const char *s, size_t len,
                  size_t max_chars, unsigned flags);
int escape_cstring(struct buf *out, enum escape_context ctx, const char *s, size_t max_chars);

/* True when code point cp is shown in its visible form (a control, or an
 * invisible or bidirectional formatting character). */
bool escape_is_hidden(uint32_t cp);

#endif
