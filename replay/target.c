#include "target.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= TARGET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Copy a URL part, or "" when absent. */
static bool url_part(CURLU *u, CURLUPart what, char *out, size_t size)
{
    char *v = NULL;
    out[0] = '\0';
    if (curl_url_get(u, what, &v, 0) != CURLUE_OK || !v)
        return false;
    snprintf(out, size, "%s", v);
    curl_free(v);
    return true;
}

int target_parse(const char *spec, struct replay_target *t, struct error *err)
{
    const char *eq = strchr(spec, '=');
    char port[16], tmp[1024];
    CURLU *u;
    int rc = 0;

    memset(t, 0, sizeof *t);
    if (!eq || !name_ok(spec, (size_t)(eq - spec)))
        return error_set(err, ERR_USAGE,
                         "--target: '%s': expected NAME=URL with a NAME of letters, digits, "
                         "'_', '-' or '.', such as old=http://127.0.0.1:8081",
                         spec);
    memcpy(t->name, spec, (size_t)(eq - spec));
    snprintf(t->url, sizeof t->url, "%s", eq + 1);
    u = curl_url();
    if (!u)
        return error_set(err, ERR_NOMEM, "out of memory parsing --target");
    if (curl_url_set(u, CURLUPART_URL, t->url, 0) != CURLUE_OK) {
        rc = error_set(err, ERR_USAGE, "--target %s: '%s' is not a URL such as http://host:port",
                       t->name, t->url);
        goto out;
    }
    url_part(u, CURLUPART_SCHEME, t->scheme, sizeof t->scheme);
    if (strcmp(t->scheme, "http") != 0 && strcmp(t->scheme, "https") != 0) {
        rc = error_set(err, ERR_USAGE, "--target %s: '%s': only http:// and https:// are "
                       "supported", t->name, t->url);
        goto out;
    }
    if (url_part(u, CURLUPART_USER, tmp, sizeof tmp) ||
        url_part(u, CURLUPART_QUERY, tmp, sizeof tmp) ||
        url_part(u, CURLUPART_FRAGMENT, tmp, sizeof tmp)) {
        rc = error_set(err, ERR_USAGE,
                       "--target %s: '%s': a target URL has no credentials, query or fragment "
                       "(use --set-header for credentials)",
                       t->name, t->url);
        goto out;
    }
    url_part(u, CURLUPART_HOST, tmp, sizeof tmp);
    if (tmp[0] == '[') { /* IPv6 literal */
        size_t n = strlen(tmp);
        snprintf(t->host, sizeof t->host, "%.*s", (int)(n - 2), tmp + 1);
    } else {
        snprintf(t->host, sizeof t->host, "%s", tmp);
    }
    if (url_part(u, CURLUPART_PORT, port, sizeof port)) {
        t->port = (unsigned)atoi(port);
        snprintf(t->authority, sizeof t->authority, "%s:%s", tmp, port);
    } else {
        t->port = strcmp(t->scheme, "https") == 0 ? 443 : 80;
        snprintf(t->authority, sizeof t->authority, "%s", tmp);
    }
    snprintf(t->base, sizeof t->base, "%s://%s:%u", t->scheme, tmp, t->port);
    url_part(u, CURLUPART_PATH, t->prefix, sizeof t->prefix);
    {
        size_t n = strlen(t->prefix);
        while (n && t->prefix[n - 1] == '/')
            t->prefix[--n] = '\0';
    }
out:
    curl_url_cleanup(u);
    return rc;
}

/* a: an IPv4 address in host byte order */
static bool private_v4(uint32_t a)
{
    return (a >> 24) == 127 ||               /* 127.0.0.0/8 loopback */
           (a >> 24) == 10 ||                /* 10.0.0.0/8 */
           (a >> 20) == (172u << 4 | 1) ||   /* 172.16.0.0/12 */
           (a >> 16) == (192u << 8 | 168) || /* 192.168.0.0/16 */
           (a >> 16) == (169u << 8 | 254) || /* 169.254.0.0/16 link-local */
           (a >> 22) == (100u << 2 | 1);     /* 100.64.0.0/10 CGNAT */
}

bool target_address_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in v4;
        memcpy(&v4, sa, sizeof v4);
        return private_v4(ntohl(v4.sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 v6;
        const unsigned char *b;
        memcpy(&v6, sa, sizeof v6);
        b = v6.sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr))
            return true;
        if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
            return true;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) /* ::ffff:a.b.c.d */
            return private_v4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                              (uint32_t)b[14] << 8 | b[15]);
    }
    return false;
}

int target_resolve(struct replay_target *t, bool allow_public, struct error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL, *ai;
    size_t used = 0;
    int rc;

    t->addrs[0] = '\0';
    t->addr_count = 0;
    t->public_address = false;
    rc = getaddrinfo(t->host, NULL, &hints, &res);
    if (rc)
        return error_set(err, ERR_NETWORK, "--target %s: cannot resolve '%s': %s", t->name,
                         t->host, gai_strerror(rc));
    for (ai = res; ai && t->addr_count < TARGET_MAX_ADDRS; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *bin = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        inet_ntop(ai->ai_family, bin, text, sizeof text);
        if (strstr(t->addrs, text)) /* getaddrinfo repeats addresses */
            continue;
        if (!target_address_private(ai->ai_addr) && !t->public_address) {
            t->public_address = true;
            snprintf(t->public_example, sizeof t->public_example, "%s", text);
        }
        used += (size_t)snprintf(t->addrs + used, sizeof t->addrs - used,
                                 ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
                                 t->addr_count ? "," : "", text);
        t->addr_count++;
    }
    freeaddrinfo(res);
    if (!t->addr_count)
        return error_set(err, ERR_NETWORK, "--target %s: '%s' has no IPv4 or IPv6 address",
                         t->name, t->host);
    if (t->public_address && !allow_public)
        return error_set(err, ERR_USAGE,
                         "--target %s: refusing to replay at '%s': it resolves to %s, a public "
                         "address, and replaying captured traffic (with its writes) at a public "
                         "address is how production gets hit by mistake; point the target at a "
                         "staging service on a private address, or pass --allow-public-target "
                         "if this really is a staging service",
                         t->name, t->host, t->public_example);
    return 0;
}
