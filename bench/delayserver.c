/* delayserver: a latency-bound HTTP/1.1 server for bench/run (workload 5).
 *
 *   delayserver PORTFILE [DELAY_MS]
 *
 * Listens on 127.0.0.1 on a port the kernel picks, writes that port to
 * PORTFILE, and answers every request with the same small body DELAY_MS
 * (100) milliseconds after the request's head arrived. One libuv loop, one
 * thread, keep-alive: a connection stays open until the client closes it
 * (or sends "Connection: close"). Requests are GETs without a body; several
 * pipelined requests on one connection are answered in order, each after
 * its own delay, counted from when the previous answer went out.
 *
 * It is deliberately tiny so that with 2,000 connections the server costs
 * little next to the client being measured, and every delay is a uv_timer_t
 * on the one loop (no sleeping threads).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <uv.h>

#define HEAD_MAX 16384 /* a request head longer than this closes the conn */
#define BACKLOG 4096

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                               "Server: delayserver\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 6\r\n"
                               "\r\n"
                               "hello\n";
static const char RESPONSE_CLOSE[] = "HTTP/1.1 200 OK\r\n"
                                     "Server: delayserver\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "Content-Length: 6\r\n"
                                     "Connection: close\r\n"
                                     "\r\n"
                                     "hello\n";

typedef struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  int handles_open; /* 2 while tcp and timer are open */
  int closing;
  int timing;       /* timer running for the request at the head */
  unsigned pending; /* complete request heads not yet answered */
  int close_after;  /* a pending request asked for Connection: close */
  size_t len;       /* bytes in buf */
  char buf[HEAD_MAX];
} conn_t;

static uv_loop_t *loop;
static uint64_t delay_ms = 100;
static unsigned long long answered;

static void on_handle_closed(uv_handle_t *h) {
  conn_t *c = h->data;

  if (--c->handles_open == 0)
    free(c);
}

static void conn_close(conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_write(uv_write_t *req, int status) {
  conn_t *c = req->data;

  free(req);
  if (status < 0 && !c->closing)
    conn_close(c);
}

static void arm(conn_t *c);

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  int last = c->close_after && c->pending == 1;
  uv_buf_t b;
  int n;

  c->timing = 0;
  if (c->closing || c->pending == 0)
    return;
  c->pending--;
  answered++;
  b = last ? uv_buf_init((char *)RESPONSE_CLOSE, sizeof(RESPONSE_CLOSE) - 1)
           : uv_buf_init((char *)RESPONSE, sizeof(RESPONSE) - 1);
  n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS)
    n = 0;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if ((size_t)n < b.len) {
    uv_write_t *req = malloc(sizeof(*req));

    if (req == NULL) {
      conn_close(c);
      return;
    }
    req->data = c;
    b.base += n;
    b.len -= (size_t)n;
    if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
      free(req);
      conn_close(c);
      return;
    }
  }
  if (last) {
    /* uv_close lets a queued write finish or fail; the client sees the
     * whole answer before the FIN either way on loopback. */
    conn_close(c);
    return;
  }
  arm(c);
}

static void arm(conn_t *c) {
  if (c->timing || c->pending == 0 || c->closing)
    return;
  c->timing = 1;
  uv_timer_start(&c->timer, on_timer, delay_ms, 0);
}

/* Takes every complete request head off the front of buf. */
static int parse(conn_t *c) {
  char *end;

  while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
    size_t head = (size_t)(end - c->buf) + 4;
    char *p;

    /* Connection: close anywhere in the head (case-insensitive). */
    for (p = c->buf; p < end; p++) {
      if ((p == c->buf || p[-1] == '\n') && (size_t)(end - p) >= 17 &&
          strncasecmp(p, "connection: close", 17) == 0)
        c->close_after = 1;
    }
    c->pending++;
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
  }
  return c->len < sizeof(c->buf) ? 0 : -1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  conn_t *c = h->data;

  b->base = c->buf + c->len;
  b->len = sizeof(c->buf) - c->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn_t *c = s->data;

  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0)
    return;
  c->len += (size_t)n;
  if (parse(c) < 0) {
    conn_close(c);
    return;
  }
  arm(c);
}

static void on_connection(uv_stream_t *server, int status) {
  conn_t *c;

  if (status < 0) {
    fprintf(stderr, "delayserver: accept: %s\n", uv_strerror(status));
    return;
  }
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->handles_open = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    conn_close(c);
}

static void on_signal(uv_signal_t *s, int signo) {
  fprintf(stderr, "delayserver: answered %llu requests\n", answered);
  uv_stop(loop);
}

static void raise_nofile(void) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int namelen = sizeof(bound);
  uv_signal_t sigterm, sigint;
  uv_tcp_t server;
  FILE *pf;
  int err;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: delayserver PORTFILE [DELAY_MS]\n");
    return 2;
  }
  if (argc == 3)
    delay_ms = strtoull(argv[2], NULL, 10);
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  loop = uv_default_loop();

  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if ((err = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0)) < 0 ||
      (err = uv_listen((uv_stream_t *)&server, BACKLOG, on_connection)) < 0) {
    fprintf(stderr, "delayserver: listen: %s\n", uv_strerror(err));
    return 1;
  }
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &namelen);
  pf = fopen(argv[1], "w");
  if (pf == NULL) {
    fprintf(stderr, "delayserver: %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  fprintf(pf, "%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fclose(pf);

  uv_signal_init(loop, &sigterm);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
