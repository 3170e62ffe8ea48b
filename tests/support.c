#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The build passes the absolute path; this fallback only serves a test
 * compiled by hand from the top of the source tree.
 */
#ifndef TEST_SERVER_PY
#define TEST_SERVER_PY "tests/server.py"
#endif

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define STATS_TIMEOUT_S 10

extern char **environ;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Reads the server's first stdout line into buf. Returns its length, or -1
 * on timeout, EOF before a newline, or a line too long to be a port.
 */
static int read_line(int fd, char *buf, size_t size, int timeout_ms) {
  long deadline = now_ms() + timeout_ms;
  size_t len = 0;

  while (len + 1 < size) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    long left = deadline - now_ms();
    ssize_t n;
    int r;

    if (left <= 0)
      return -1;
    r = poll(&pfd, 1, (int)left);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    n = read(fd, buf + len, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    if (buf[len] == '\n') {
      buf[len] = '\0';
      return (int)len;
    }
    len++;
  }
  return -1;
}

/* Waits up to timeout_ms for the child to exit. Returns 0 once reaped. */
static int reap(pid_t pid, int timeout_ms) {
  long deadline = now_ms() + timeout_ms;

  for (;;) {
    pid_t r = waitpid(pid, NULL, WNOHANG);

    if (r == pid || (r < 0 && errno == ECHILD))
      return 0;
    if (r < 0 && errno != EINTR)
      return -1;
    if (now_ms() >= deadline)
      return -1;
    usleep(5000);
  }
}

int test_server_start(test_server_t *s) {
  return test_server_start_on(s, "127.0.0.1");
}

int test_server_start_on(test_server_t *s, const char *host) {
  const char *script = getenv("UVFETCH_TEST_SERVER");
  const char *python = getenv("UVFETCH_TEST_PYTHON");
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  char line[32];
  char *end;
  long port;
  int err;

  s->pid = -1;
  s->port = 0;
  s->stdin_fd = -1;
  if (script == NULL || *script == '\0')
    script = TEST_SERVER_PY;
  if (python == NULL || *python == '\0')
    python = "python3";

  /* O_CLOEXEC keeps our ends out of any other child, above all another
   * server: an inherited write end would keep this server's stdin open
   * after we die, and it would never exit.
   */
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    perror("test_server_start: pipe2");
    goto fail;
  }

  err = posix_spawn_file_actions_init(&fa);
  if (err != 0) {
    fprintf(stderr, "test_server_start: %s\n", strerror(err));
    goto fail;
  }
  err = posix_spawnattr_init(&attr);
  if (err != 0) {
    posix_spawn_file_actions_destroy(&fa);
    fprintf(stderr, "test_server_start: %s\n", strerror(err));
    goto fail;
  }
  /* python3 on PATH may be a wrapper (pyenv's shim) that runs the real
   * interpreter as its child. A process group of its own lets stop signal
   * both, so no server outlives the test.
   */
  err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  if (err == 0)
    err = posix_spawnattr_setpgroup(&attr, 0);
  /* dup2 clears O_CLOEXEC on the copies, so only fds 0 and 1 survive. */
  if (err == 0)
    err = posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  if (err == 0)
    err = posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  if (err == 0) {
    char *argv[] = {(char *)python,
                    (char *)script,
                    (char *)"--host",
                    (char *)host,
                    (char *)"--port",
                    (char *)"0",
                    NULL};

    err = posix_spawnp(&s->pid, python, &fa, &attr, argv, environ);
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    fprintf(stderr, "test_server_start: spawn %s %s: %s\n", python, script,
            strerror(err));
    s->pid = -1;
    goto fail;
  }
  close_fd(&in_pipe[0]);
  close_fd(&out_pipe[1]);

  if (read_line(out_pipe[0], line, sizeof(line), START_TIMEOUT_MS) < 0) {
    fprintf(stderr, "test_server_start: no port line from %s\n", script);
    goto fail;
  }
  errno = 0;
  port = strtol(line, &end, 10);
  if (errno != 0 || end == line || *end != '\0' || port <= 0 || port > 65535) {
    fprintf(stderr, "test_server_start: bad port line \"%s\"\n", line);
    goto fail;
  }
  /* The server prints nothing after the port, so its stdout can go. */
  close_fd(&out_pipe[0]);
  s->port = (int)port;
  s->stdin_fd = in_pipe[1];
  return 0;

fail:
  close_fd(&in_pipe[0]);
  close_fd(&in_pipe[1]);
  close_fd(&out_pipe[0]);
  close_fd(&out_pipe[1]);
  if (s->pid > 0) {
    kill(-s->pid, SIGKILL);
    reap(s->pid, STOP_TIMEOUT_MS);
  }
  s->pid = -1;
  s->port = 0;
  return -1;
}

void test_server_stop(test_server_t *s) {
  /* EOF on stdin alone would stop the server; SIGTERM makes it prompt. */
  close_fd(&s->stdin_fd);
  if (s->pid > 0) {
    kill(-s->pid, SIGTERM);
    if (reap(s->pid, STOP_TIMEOUT_MS) != 0) {
      kill(-s->pid, SIGKILL);
      reap(s->pid, STOP_TIMEOUT_MS);
    }
  }
  s->pid = -1;
  s->port = 0;
}

char *test_url(const test_server_t *s, const char *path_fmt, ...) {
  va_list ap;
  char *path;
  char *url;
  int n;

  va_start(ap, path_fmt);
  n = vasprintf(&path, path_fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  n = asprintf(&url, "http://127.0.0.1:%d%s", s->port, path);
  free(path);
  if (n < 0)
    return NULL;
  return url;
}

/* Opens a blocking TCP connection to 127.0.0.1:port whose reads and writes
 * give up after STATS_TIMEOUT_S, so a wedged server fails the test instead
 * of hanging it. Returns the fd or -1.
 */
static int connect_loopback(int port) {
  struct sockaddr_in sa;
  struct timeval tv = {.tv_sec = STATS_TIMEOUT_S};
  int fd;

  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Finds "key": in a flat JSON object and parses the integer after it. */
static int json_long(const char *json, const char *key, long *out) {
  char quoted[32];
  const char *p;
  char *end;

  snprintf(quoted, sizeof(quoted), "\"%s\"", key);
  p = strstr(json, quoted);
  if (p == NULL)
    return -1;
  p += strlen(quoted);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (*p != ':')
    return -1;
  p++;
  errno = 0;
  *out = strtol(p, &end, 10);
  if (errno != 0 || end == p)
    return -1;
  return 0;
}

/* The counters of the stats JSON, in stats_request's vals[]. */
static const char *const stats_keys[] = {"requests", "active", "peak",
                                         "connections", "most_open"};
#define NSTATS (sizeof(stats_keys) / sizeof(stats_keys[0]))

/* GETs path with Connection: close and parses the stats JSON it returns
 * into vals[NSTATS], in stats_keys' order. */
static int stats_request(const test_server_t *s, const char *path, long *vals) {
  char req[128];
  char resp[4096];
  size_t len = 0;
  size_t sent = 0;
  const char *body;
  size_t i;
  int reqlen;
  int fd;

  reqlen = snprintf(req, sizeof(req),
                    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                    "Connection: close\r\n\r\n",
                    path, s->port);
  fd = connect_loopback(s->port);
  if (fd < 0)
    return -1;
  while (sent < (size_t)reqlen) {
    ssize_t n = send(fd, req + sent, (size_t)reqlen - sent, MSG_NOSIGNAL);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      goto fail;
    sent += (size_t)n;
  }
  /* The server closes after answering, so EOF marks the whole response. */
  for (;;) {
    ssize_t n = recv(fd, resp + len, sizeof(resp) - 1 - len, 0);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto fail;
    if (n == 0)
      break;
    len += (size_t)n;
    if (len == sizeof(resp) - 1)
      goto fail;
  }
  close(fd);
  resp[len] = '\0';

  if (strncmp(resp, "HTTP/1.1 200 ", 13) != 0)
    return -1;
  body = strstr(resp, "\r\n\r\n");
  if (body == NULL)
    return -1;
  for (i = 0; i < NSTATS; i++) {
    if (json_long(body, stats_keys[i], &vals[i]) != 0)
      return -1;
  }
  return 0;

fail:
  close(fd);
  return -1;
}

int test_server_stats(const test_server_t *s, long *requests, long *active,
                      long *peak) {
  long vals[NSTATS];

  if (stats_request(s, "/stats", vals) != 0)
    return -1;
  if (requests != NULL)
    *requests = vals[0];
  if (active != NULL)
    *active = vals[1];
  if (peak != NULL)
    *peak = vals[2];
  return 0;
}

int test_server_connections(const test_server_t *s, long *connections) {
  long vals[NSTATS];

  if (stats_request(s, "/stats", vals) != 0)
    return -1;
  *connections = vals[3];
  return 0;
}

int test_server_most_open(const test_server_t *s, long *most_open) {
  long vals[NSTATS];

  if (stats_request(s, "/stats", vals) != 0)
    return -1;
  *most_open = vals[4];
  return 0;
}

int test_server_reset(const test_server_t *s) {
  long vals[NSTATS];

  return stats_request(s, "/stats/reset", vals);
}

int test_server_slow_accept(const test_server_t *s, long after_ms) {
  char req[160];
  char resp[1024];
  size_t len = 0;
  size_t sent = 0;
  const char *body;
  long port = -1;
  int reqlen;
  int fd;

  reqlen = snprintf(req, sizeof(req),
                    "GET /slow-accept?after=%ld HTTP/1.1\r\n"
                    "Host: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                    after_ms, s->port);
  fd = connect_loopback(s->port);
  if (fd < 0)
    return -1;
  while (sent < (size_t)reqlen) {
    ssize_t n = send(fd, req + sent, (size_t)reqlen - sent, MSG_NOSIGNAL);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      goto fail;
    sent += (size_t)n;
  }
  for (;;) {
    ssize_t n = recv(fd, resp + len, sizeof(resp) - 1 - len, 0);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto fail;
    if (n == 0)
      break;
    len += (size_t)n;
    if (len == sizeof(resp) - 1)
      goto fail;
  }
  close(fd);
  resp[len] = '\0';
  if (strncmp(resp, "HTTP/1.1 200 ", 13) != 0)
    return -1;
  body = strstr(resp, "\r\n\r\n");
  if (body == NULL || json_long(body, "port", &port) != 0)
    return -1;
  if (port <= 0 || port > 65535)
    return -1;
  return (int)port;

fail:
  close(fd);
  return -1;
}

int test_closed_port(void) {
  struct sockaddr_in sa;
  socklen_t salen = sizeof(sa);
  int port = -1;
  int fd;

  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
    port = ntohs(sa.sin_port);
  close(fd);
  return port;
}
