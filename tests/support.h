/* Helpers shared by the cmocka tests: a loopback HTTP server to fetch from
 * and a few probes of it. Nothing here links against libcurl or libuv, so a
 * helper can never hide a bug in the code under test.
 */
#ifndef UVFETCH_TESTS_SUPPORT_H
#define UVFETCH_TESTS_SUPPORT_H

#include <sys/types.h>

typedef struct test_server {
  pid_t pid;    /* the python3 child, or -1 */
  int port;     /* its port on 127.0.0.1 */
  int stdin_fd; /* write end of its stdin; closing it stops the server */
} test_server_t;

/* Spawns `python3 SERVER` on 127.0.0.1 with an ephemeral port, where SERVER
 * is $UVFETCH_TEST_SERVER when set, else the TEST_SERVER_PY macro; the
 * interpreter is $UVFETCH_TEST_PYTHON when set, else python3 from PATH.
 * Waits up to 10 s for the port line. Returns 0 with *s filled in, or -1
 * with a message on stderr and *s set to a stopped server. The server also
 * exits when this process dies, because its stdin then reaches EOF.
 */
int test_server_start(test_server_t *s);

/* test_server_start() on another loopback address, e.g. "::1"; s->port is
 * its port there.
 */
int test_server_start_on(test_server_t *s, const char *host);

/* Sends SIGTERM, reaps the child (SIGKILL after 5 s) and closes the pipe.
 * Safe to call twice, or on a server whose start failed.
 */
void test_server_stop(test_server_t *s);

/* Returns a malloc'd "http://127.0.0.1:PORT" followed by the formatted
 * path, e.g. test_url(s, "/size/%d", 10). The caller frees it. Returns NULL
 * when out of memory.
 */
char *test_url(const test_server_t *s, const char *path_fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Fetches /stats over a plain blocking socket (10 s timeout) and stores the
 * server's counters in the non-NULL out-pointers: requests served since the
 * last reset, requests in progress, and the peak of the latter. Returns 0,
 * or -1 when the server cannot be reached or answers something unexpected.
 */
int test_server_stats(const test_server_t *s, long *requests, long *active,
                      long *peak);

/* Fetches /stats and stores in *connections the connections the server
 * accepted since the last reset, the one this call opens included.
 * Returns 0 or -1, like test_server_stats().
 */
int test_server_connections(const test_server_t *s, long *connections);

/* Fetches /stats and stores in *most_open the most connections the server
 * had open at once since the last reset (the one this call opens, and the
 * one of the reset, included). Returns 0 or -1, like test_server_stats().
 */
int test_server_most_open(const test_server_t *s, long *most_open);

/* Fetches /stats/reset, which zeroes the request and connection counts and
 * the peak.
 * Returns 0 or -1, like test_server_stats().
 */
int test_server_reset(const test_server_t *s);

/* Asks the server for a new listener on 127.0.0.1 (GET /slow-accept): its
 * accept queue is kept full, so a connect() to it stays pending, in
 * SYN-SENT, until `after_ms` milliseconds from now (for ever when after_ms
 * is -1); after that it serves the same endpoints as the server, once the
 * client's kernel resends its SYN (1 s, 3 s, 7 s... after the first).
 * Returns the listener's port, or -1.
 */
int test_server_slow_accept(const test_server_t *s, long after_ms);

/* Returns a port on 127.0.0.1 where nothing listened a moment ago, so a
 * connection to it is refused, or -1. Another process could take the port
 * in between; on a test machine that is rare enough to accept.
 */
int test_closed_port(void);

#endif
