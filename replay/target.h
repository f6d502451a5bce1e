/*
 * target.h — a replay target (`--target NAME=URL`) and the staging-only
 * safety check (docs/cli/replay.md, "Safety").
 *
 * Replaying captured production writes at production is the accident this
 * module exists to prevent: a target whose host resolves to any address
 * that is not private (loopback, RFC 1918, link-local, CGNAT 100.64/10,
 * IPv6 loopback, ULA or link-local) is refused unless the user allows
 * public targets.  The addresses checked are the addresses used: the replay
 * pins them in libcurl (CURLOPT_RESOLVE), so a DNS answer that changes
 * during the run cannot redirect traffic elsewhere.
 */
#ifndef REHEARSE_TARGET_H
#define REHEARSE_TARGET_H

#include <stdbool.h>
#include <sys/socket.h>

#include "errors.h"

#define TARGET_NAME_MAX 64
#define TARGET_MAX_ADDRS 16

struct replay_target {
    char name[TARGET_NAME_MAX]; /* [A-Za-z0-9_.-]+ */
    char url[1024];             /* as given */
    char scheme[8];             /* "http" or "https" */
    char host[256];             /* without brackets */
    unsigned port;              /* explicit or the scheme's default */
    char authority[300];        /* the Host header value: host[:port] as in the URL */
    char base[1100];            /* scheme://host:port for libcurl, with brackets */
    char prefix[512];           /* path prefix without trailing '/', or "" */
    /* After target_resolve: the host's addresses as libcurl's RESOLVE list
     * wants them ("127.0.0.1,[::1]"), and whether any is public. */
    char addrs[TARGET_MAX_ADDRS * 48];
    unsigned addr_count;
    bool public_address;
    char public_example[48];
};

/* Parse "NAME=URL" (http or https, optional port and path prefix; no
 * credentials, query or fragment). */
int target_parse(const char *spec, struct replay_target *t, struct error *err);

/* Resolve the host and check every address.  A public address is an
 * ERR_USAGE error saying which address and why, unless allow_public. */
int target_resolve(struct replay_target *t, bool allow_public, struct error *err);

/* True for loopback, RFC 1918, link-local, CGNAT, IPv6 ::1, fc00::/7,
 * fe80::/10, and IPv4-mapped IPv6 forms of the private IPv4 ranges. */
bool target_address_private(const struct sockaddr *sa);

#endif
