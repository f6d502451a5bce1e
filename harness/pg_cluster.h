/*
 * pg_cluster.h — a throwaway PostgreSQL cluster for a rehearsal or a test.
 *
 * initdb into a directory, start the server on a free loopback port with its
 * unix socket beside the data, hand out libpq conninfo strings, stop it.
 * The server listens on 127.0.0.1 only, trusts local connections (the
 * cluster is private and short-lived; no password exists to leak) and is
 * tuned for speed over durability (fsync off).
 *
 * PostgreSQL refuses to run as root: when we are root the server runs as the
 * unprivileged user `rehearse` (created by scripts/install-deps.sh).  If that
 * user cannot reach the requested directory (a parent is private, e.g.
 * /root) or the socket path would be too long, the cluster lives in a fresh
 * directory under $TMPDIR instead, and pg_cluster_dir() says where.
 */
#ifndef REHEARSE_PG_CLUSTER_H
#define REHEARSE_PG_CLUSTER_H

#include <sys/types.h>

#include "errors.h"

struct pg_cluster_options {
    const char *dir;      /* where to create the cluster (created if missing) */
    const char *run_as;   /* NULL: "rehearse" when root, else ourselves */
    const char *bindir;   /* NULL: $REHEARSE_PG_BINDIR, pg_config, PATH, /usr/lib/postgresql */
    int port;             /* 0: a free port */
    int start_timeout_ms; /* 0: 30000 */
    const char *log_path; /* the server's log; NULL: DIR/postgres.log (opened before the
                             switch to run_as, so it may live where that user cannot write) */
    int keep;             /* pg_cluster_free leaves a temporary directory on disk too */
};

struct pg_cluster;

/* Run initdb. The superuser is "rehearse"; the default database "postgres". */
int pg_cluster_new(struct pg_cluster **out, const struct pg_cluster_options *options,
                   struct error *err);
/* Start the server and wait until it accepts connections.  On failure the
 * message carries the last lines of the server log. */
int pg_cluster_start(struct pg_cluster *c, struct error *err);
/* Fast shutdown, then immediate, then SIGKILL; waits for the process. */
int pg_cluster_stop(struct pg_cluster *c, struct error *err);
/* Stop if running, remove a temporary directory we made; NULL is fine.
 * A cluster in the requested directory is left on disk for inspection. */
void pg_cluster_free(struct pg_cluster *c);

/* libpq conninfo for a database of this cluster, e.g.
 * "host=127.0.0.1 port=54012 user=rehearse dbname=old_db" (borrowed until
 * the next call). */
const char *pg_cluster_conninfo(struct pg_cluster *c, const char *dbname);
int pg_cluster_port(const struct pg_cluster *c);
const char *pg_cluster_dir(const struct pg_cluster *c);
const char *pg_cluster_socket_dir(const struct pg_cluster *c);
const char *pg_cluster_log_path(const struct pg_cluster *c);
pid_t pg_cluster_pid(const struct pg_cluster *c);
int pg_cluster_server_version(const struct pg_cluster *c); /* e.g. 150018; after start */

/* CREATE DATABASE name [TEMPLATE template] (template may be NULL). Names are
 * quoted as identifiers. Connections to the template are terminated first
 * (PostgreSQL refuses to copy a database that has sessions). */
int pg_cluster_create_database(struct pg_cluster *c, const char *name, const char *template_db,
                               struct error *err);

/* Find the PostgreSQL server binaries (directory holding initdb and postgres). */
int pg_find_bindir(char *out, size_t size, struct error *err);

#endif
