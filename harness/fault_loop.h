/*
 * fault_loop.h — internal to the fault proxy: the structures shared by the
 * control side (fault_proxy.c, any thread) and the event thread
 * (fault_loop.c), and who may touch which field.
 */
#ifndef REHEARSE_FAULT_LOOP_H
#define REHEARSE_FAULT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fault_flow.h"
#include "fault_proxy.h"

#define LISTEN_BACKLOG 1024

/* epoll_data.u64 = pointer | tag (allocations are 16-byte aligned). */
enum { TAG_CLIENT = 0, TAG_SERVER = 1, TAG_LISTENER = 2, TAG_WAKE = 3 };

struct fp_conn;

struct fp_link {
    /* Fixed at creation. */
    char name[FAULT_PROXY_LINK_NAME_MAX];
    char upstream_text[FAULT_PROXY_ADDRESS_MAX];
    char bound_text[FAULT_PROXY_ADDRESS_MAX];
    struct sockaddr_storage upstream;
    socklen_t upstream_len;
    uint64_t name_hash;
    int listen_fd;

    /* Control side, under proxy->mu. */
    struct fault_toxic config[FAULT_PROXY_TOXICS_MAX];
    size_t nconfig;

    /* Event thread only. */
    struct fault_live_toxic *live[FAULT_PROXY_TOXICS_MAX];
    size_t nlive;
    struct fp_conn *conns;
    unsigned nconns;
    uint64_t next_seq;
    bool down;
    bool accept_again;

    /* Written by the event thread, read by anyone, field by field. */
    struct fault_link_stats stats;
};

enum fp_op_kind { OP_ADD_LINK, OP_ADD_TOXIC, OP_UPDATE_TOXIC, OP_REMOVE_TOXIC, OP_PORTS };

struct fp_op {
    struct fp_op *next;
    enum fp_op_kind kind;
    struct fp_link *link;
    struct fault_toxic toxic;      /* add, update; remove: toxic.name */
    int *ports;                    /* OP_PORTS: filled up to ports_max */
    size_t ports_max, ports_count;
    int *dest_ports;               /* OP_PORTS: the caller's, written by the caller */
    size_t *dest_count;
    struct fault_effect effect;
    bool done, abandoned;
};

struct fault_proxy {
    uint64_t seed;
    int epfd, wakefd;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct fp_op *ops_head, *ops_tail;
    bool stop_requested;
    struct fp_link *links[FAULT_PROXY_LINKS_MAX];
    size_t nlinks;

    /* Event thread only. */
    struct fault_flow_io io;
    struct fp_link *tlinks[FAULT_PROXY_LINKS_MAX];
    size_t ntlinks;
    struct fp_conn **heap;
    size_t heap_len, heap_cap;
    struct fp_conn *run_list;
    struct fp_conn *graveyard;
    int64_t accept_retry_us;
    bool stopping;
    bool no_pwait2;         /* the kernel lacks epoll_pwait2 */
};

/* The event thread's body (arg: the proxy). */
void *fault_loop_main(void *arg);
/* Free an operation (NULL is fine). */
void fault_op_free(struct fp_op *op);

#endif
