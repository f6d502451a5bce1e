/*
 * testnet.h — real TCP servers and clients on loopback for tests: an echo
 * server, a server that sends N bytes and closes, and blocking client
 * helpers with timeouts so a broken proxy fails a test instead of hanging it.
 */
#ifndef REHEARSE_TESTNET_H
#define REHEARSE_TESTNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum testnet_mode {
    TESTNET_ECHO,       /* send back what arrives, close after the client's EOF */
    TESTNET_SEND_CLOSE, /* send `send_bytes` pattern bytes, then FIN; drain; close */
};

struct testnet_server;

/* Listen on 127.0.0.1 on a free port and serve each connection in its own
 * thread.  Aborts the test process on failure. */
struct testnet_server *testnet_server_start(enum testnet_mode mode, size_t send_bytes);
int testnet_server_port(const struct testnet_server *s);
/* Echo mode: stop (true) or resume reading from the clients. */
void testnet_server_pause(struct testnet_server *s, bool paused);
/* Connections accepted so far. */
unsigned testnet_server_accepted(struct testnet_server *s);
/* Close the listener and every connection, join the threads, free. */
void testnet_server_stop(struct testnet_server *s);

/* A blocking client socket connected to 127.0.0.1:port, with TCP_NODELAY
 * and 10 s send/receive timeouts; -1 with errno on failure. */
int testnet_connect(int port);
/* Set the receive timeout of fd (ms). */
void testnet_recv_timeout(int fd, int ms);

int64_t testnet_now_us(void);
/* The byte at position i of the pattern TESTNET_SEND_CLOSE sends. */
unsigned char testnet_pattern(size_t i);

/* Send everything; 0, or -1 with errno. */
int testnet_send_all(int fd, const void *data, size_t len);
/* Receive exactly len bytes; 0, or -1 with errno (0 errno: EOF first). */
int testnet_recv_exact(int fd, void *out, size_t len);
/* Receive until EOF, an error or a timeout, keeping at most max bytes.
 * Returns the byte count; *end_errno is 0 after EOF, else the errno that
 * ended it (ECONNRESET, EAGAIN for a timeout); *reads counts recv calls
 * that returned data (may be NULL). */
size_t testnet_recv_all(int fd, void *out, size_t max, int *end_errno, int *reads);

/* Send msg and wait for it to come back (echo); returns the round trip in
 * ms, or -1 on failure. */
double testnet_roundtrip_ms(int fd, const char *msg);

#endif
