#include "trace.h"

#include <string.h>
#include <strings.h>

static const char *const flag_names[TX_FLAG_COUNT] = {
#define TX_FLAG_NAME(name, text, description) text,
    TX_FLAG_MAP(TX_FLAG_NAME)
#undef TX_FLAG_NAME
};

static const char *const flag_descriptions[TX_FLAG_COUNT] = {
#define TX_FLAG_DESCRIPTION(name, text, description) description,
    TX_FLAG_MAP(TX_FLAG_DESCRIPTION)
#undef TX_FLAG_DESCRIPTION
};

const char *tx_flag_name(enum tx_flag bit)
{
    return (unsigned)bit < TX_FLAG_COUNT ? flag_names[bit] : "unknown";
}

const char *tx_flag_description(enum tx_flag bit)
{
    return (unsigned)bit < TX_FLAG_COUNT ? flag_descriptions[bit] : "unknown flag";
}

int tx_flag_lookup(const char *name, size_t len)
{
    for (int i = 0; i < TX_FLAG_COUNT; i++)
        if (strlen(flag_names[i]) == len && memcmp(flag_names[i], name, len) == 0)
            return i;
    return -1;
}

const struct http_header *http_message_header(const struct http_message *m,
                                              const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < m->header_count; i++) {
        const struct http_header *h = &m->headers[i];
        if (h->name_len == len && strncasecmp(h->name, name, len) == 0)
            return h;
    }
    return NULL;
}
