#include "escape.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "utf8.h"

bool escape_is_hidden(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
        return true;
    switch (cp) {
    case 0x00AD: /* soft hyphen */
    case 0x034F: /* combining grapheme joiner */
    case 0x061C: /* arabic letter mark */
    case 0x115F: case 0x1160: /* hangul fillers */
    case 0x180E: /* mongolian vowel separator */
    case 0x3164: case 0xFFA0: /* hangul fillers */
    case 0xFEFF: /* byte order mark, zero-width no-break space */
        return true;
    }
    return (cp >= 0x200B && cp <= 0x200F) || /* zero-width, LRM, RLM */
           (cp >= 0x2028 && cp <= 0x202E) || /* separators, embeddings, overrides */
           (cp >= 0x2060 && cp <= 0x206F) || /* word joiner, isolates, deprecated */
           (cp >= 0xFFF9 && cp <= 0xFFFB) || /* interlinear annotations */
           (cp >= 0xE0000 && cp <= 0xE007F); /* tags */
}

static uint32_t decode(const unsigned char *s, size_t n)
{
    switch (n) {
    case 1: return s[0];
    case 2: return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
    case 3: return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
    default:
        return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
               (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    }
}

/* The visible form of a hidden code point. */
static int append_visible(struct buf *out, enum escape_context ctx, uint32_t cp)
{
    char text[16];
    int rc;

    if (cp < 0x20) {
        /* U+2400 + cp: E2 90 80+cp */
        text[0] = (char)0xE2;
        text[1] = (char)0x90;
        text[2] = (char)(0x80 + cp);
        text[3] = '\0';
    } else if (cp == 0x7F) {
        memcpy(text, "\xE2\x90\xA1", 4); /* U+2421 SYMBOL FOR DELETE */
    } else {
        snprintf(text, sizeof text, "[U+%04X]", (unsigned)cp);
    }
    if (ctx != ESCAPE_HTML_TEXT)
        return buf_append_str(out, text);
    if ((rc = buf_append_str(out, "<span class=\"cc\">")) != 0 ||
        (rc = buf_append_str(out, text)) != 0)
        return rc;
    return buf_append_str(out, "</span>");
}

/* The escape of one ASCII character in ctx, or NULL when it stands as is. */
static const char *ascii_escape(enum escape_context ctx, unsigned char c, unsigned flags)
{
    switch (ctx) {
    case ESCAPE_PLAIN:
        return NULL;
    case ESCAPE_HTML_TEXT:
    case ESCAPE_XML_TEXT:
        if (c == '\r' && ctx == ESCAPE_XML_TEXT && (flags & ESCAPE_KEEP_NEWLINES))
            return "&#13;"; /* parsers turn a raw CR into LF */
        break;
    case ESCAPE_HTML_ATTR:
    case ESCAPE_XML_ATTR:
        if (c == '"')
            return "&quot;";
        if (c == '\'')
            return "&#39;";
        if (ctx == ESCAPE_XML_ATTR && (flags & ESCAPE_KEEP_NEWLINES)) {
            /* attribute value normalisation would turn them into spaces */
            if (c == '\n')
                return "&#10;";
            if (c == '\t')
                return "&#9;";
        }
        break;
    }
    if (c == '&')
        return "&amp;";
    if (c == '<')
        return "&lt;";
    if (c == '>')
        return "&gt;";
    return NULL;
}

static int append_cut_note(struct buf *out, enum escape_context ctx, size_t rest)
{
    if (ctx == ESCAPE_HTML_TEXT)
        return buf_printf(out, "<span class=\"more\">\xE2\x80\xA6 [%zu more bytes]</span>", rest);
    return buf_printf(out, "\xE2\x80\xA6 [%zu more bytes]", rest);
}

int escape_append(struct buf *out, enum escape_context ctx, const char *str, size_t len,
                  size_t max_chars, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0, chars = 0;
    int rc = 0;

    /* Plain runs are copied in one append; only special characters stop. */
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        const char *esc = NULL;

        if (max_chars && chars == max_chars) {
            if ((rc = buf_append(out, str + run, i - run)) != 0)
                return rc;
            return append_cut_note(out, ctx, len - i);
        }
        chars++;
        if (c >= 0x20 && c < 0x7F) {
            if (!(esc = ascii_escape(ctx, c, flags))) {
                i++;
                continue;
            }
            n = 1;
            cp = c;
        } else if (c < 0x80) {
            n = 1;
            cp = c;
            if ((c == '\n' || c == '\t' || c == '\r') && (flags & ESCAPE_KEEP_NEWLINES)) {
                if (!(esc = ascii_escape(ctx, c, flags))) {
                    i++;
                    continue;
                }
            }
        } else {
            n = utf8_sequence_length(s + i, len - i);
            cp = n ? decode(s + i, n) : 0xFFFD;
            if (n && !escape_is_hidden(cp) &&
                !((ctx == ESCAPE_XML_TEXT || ctx == ESCAPE_XML_ATTR) &&
                  (cp == 0xFFFE || cp == 0xFFFF))) {
                i += n;
                continue;
            }
        }
        if ((rc = buf_append(out, str + run, i - run)) != 0)
            return rc;
        if (esc)
            rc = buf_append_str(out, esc);
        else if (n == 0 || cp == 0xFFFE || cp == 0xFFFF)
            rc = buf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD */
        else
            rc = append_visible(out, ctx, cp);
        if (rc)
            return rc;
        i += n ? n : 1;
        run = i;
    }
    return buf_append(out, str + run, i - run);
}

int escape_cstring(struct buf *out, enum escape_context ctx, const char *s, size_t max_chars)
{
    return s ? escape_append(out, ctx, s, strlen(s), max_chars, 0) : 0;
}
