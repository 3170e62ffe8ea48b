/* delayserver: the loopback HTTP/1.1 server of bench/run's workloads 5 and
 * 8, and of tests/test-auto.c.
 *
 *   delayserver [OPTIONS] PORTFILE [DELAY_MS]
 *
 * Listens on 127.0.0.1 (only) on a port the kernel picks, writes that port
 * to PORTFILE ("-": prints it on standard output, then exits when standard
 * input reaches EOF, so a test's server dies with the test), and answers
 * every request with the same small body. How long an answer takes is the
 * mode's business:
 *
 *   (default)          latency-bound: DELAY_MS (100) after the request's
 *                      head arrived, however many are in flight (workload
 *                      5, and workload 8's case a);
 *   --workers N        capacity-bound: N workers, each request takes
 *                      DELAY_MS of one; requests beyond N wait in one FIFO
 *                      queue for a free worker (case b: 16 workers, 10 ms);
 *   --reject-above N   with either: when N requests are in flight already,
 *                      a new one is answered at once with 503 and
 *                      Retry-After (case c: 32, and 10 ms);
 *   --retry-after SEC  the Retry-After of those 503s (1);
 *   --late-ms MS       503s counted as "late" from MS after the first
 *                      request since the last reset (2000).
 *
 * One libuv loop, one thread, keep-alive: a connection stays open until the
 * client closes it (or sends "Connection: close"). Requests are GETs
 * without a body; pipelined requests on one connection are answered in
 * order, each after its own delay (or worker), counted from when the
 * previous answer went out.
 *
 * GET /stats answers at once (and counts nowhere) with a JSON object:
 *   requests       request heads since the last reset (503s included)
 *   ok, rejected   answered 200, answered 503
 *   requests_late, rejected_late
 *                  requests, and 503s, that came --late-ms or more after
 *                  the first request since the reset
 *   active, peak   in flight now (accepted, not yet answered: queued or
 *                  being served), and the most since the reset
 *   connections    connections accepted since the reset
 *   inflight_p50, inflight_p90, inflight_p99
 *                  quantiles, over the requests accepted since the reset,
 *                  of the count in flight when each arrived (itself
 *                  included): what the server saw of the client's
 *                  concurrency
 * GET /stats/reset zeroes them (peak becomes active) and answers the same.
 *
 * It is deliberately tiny so that with 2,000 connections the server costs
 * little next to the client being measured, and every delay is a uv_timer_t
 * on the one loop (no sleeping threads).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#define HEAD_MAX 16384  /* a request head longer than this closes the conn */
#define PIPELINE_MAX 64 /* pending requests on one connection, at most */
#define BACKLOG 4096
#define HIST_MAX 8192 /* in-flight counts above this count as this */

enum kind { K_DELAY, K_REJECT, K_STATS, K_RESET };

typedef struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer;
  struct conn_s *next; /* in the workers' queue */
  struct conn_s *prev;
  int handles_open; /* 2 while tcp and timer are open */
  int closing;
  int timing;       /* the timer runs for the request at the head */
  int queued;       /* waiting in the workers' queue */
  int serving;      /* holds a worker */
  unsigned pending; /* complete request heads not yet answered */
  unsigned first;   /* kinds[first] is the head's */
  int close_after;  /* a pending request asked for Connection: close */
  unsigned char kinds[PIPELINE_MAX];
  size_t len; /* bytes in buf */
  char buf[HEAD_MAX];
} conn_t;

static uv_loop_t *loop;
static uint64_t delay_ms = 100;
static unsigned workers;      /* 0: unlimited */
static unsigned reject_above; /* 0: never */
static unsigned retry_after = 1;
static uint64_t late_ms = 2000;

static unsigned busy;      /* workers serving */
static conn_t *queue_head; /* waiting for a worker */
static conn_t *queue_tail;
static char reject_response[256];
static size_t reject_len;

/* What /stats reports. */
static struct {
  unsigned long long requests, ok, rejected, connections;
  unsigned long long requests_late, rejected_late;
  unsigned long long active, peak;
  uint64_t first_ms; /* of the first request since the reset; 0: none */
  unsigned long long hist[HIST_MAX + 1];
  unsigned long long accepted; /* the hist's total */
} st;
static unsigned long long answered_total;

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

static void dispatch(void);

static void on_handle_closed(uv_handle_t *h) {
  conn_t *c = h->data;

  if (--c->handles_open == 0)
    free(c);
}

static void queue_remove(conn_t *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    queue_head = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  else
    queue_tail = c->prev;
  c->next = NULL;
  c->prev = NULL;
  c->queued = 0;
}

static void queue_push(conn_t *c) {
  c->next = NULL;
  c->prev = queue_tail;
  if (queue_tail != NULL)
    queue_tail->next = c;
  else
    queue_head = c;
  queue_tail = c;
  c->queued = 1;
}

static void conn_close(conn_t *c) {
  unsigned i;

  if (c->closing)
    return;
  c->closing = 1;
  /* Its accepted requests leave the count in flight unanswered. */
  for (i = 0; i < c->pending; i++) {
    if (c->kinds[(c->first + i) % PIPELINE_MAX] == K_DELAY && st.active > 0)
      st.active--;
  }
  if (c->queued)
    queue_remove(c);
  if (c->serving) {
    c->serving = 0;
    busy--;
  }
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  dispatch();
}

static void on_write(uv_write_t *req, int status) {
  conn_t *c = req->data;

  free(req);
  if (status < 0 && !c->closing)
    conn_close(c);
}

/* Sends `len` bytes at `p`, which must stay valid (static) or be copied
 * here when `copy` is set. 0, or -1 when the connection was closed. */
static int send_bytes(conn_t *c, const char *p, size_t len, int copy) {
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
  uv_write_t *req;
  int n;

  n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS)
    n = 0;
  if (n < 0) {
    conn_close(c);
    return -1;
  }
  if ((size_t)n == len)
    return 0;
  req = malloc(sizeof(*req) + (copy ? len - (size_t)n : 0));
  if (req == NULL) {
    conn_close(c);
    return -1;
  }
  req->data = c;
  b.base += n;
  b.len -= (size_t)n;
  if (copy) {
    memcpy(req + 1, b.base, b.len);
    b.base = (char *)(req + 1);
  }
  if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
    free(req);
    conn_close(c);
    return -1;
  }
  return 0;
}

/* The in-flight count below which a share q of arrivals fell. */
static unsigned long long quantile(double q) {
  unsigned long long want;
  unsigned long long seen = 0;
  unsigned i;

  if (st.accepted == 0)
    return 0;
  want = (unsigned long long)(q * (double)st.accepted);
  if (want >= st.accepted)
    want = st.accepted - 1;
  for (i = 0; i <= HIST_MAX; i++) {
    seen += st.hist[i];
    if (seen > want)
      return i;
  }
  return HIST_MAX;
}

static void stats_reset(void) {
  unsigned long long active = st.active;

  memset(&st, 0, sizeof(st));
  st.active = active;
  st.peak = active;
}

/* The answer to /stats, with Connection: close when `last`. */
static int send_stats(conn_t *c, int last) {
  char body[1024];
  char head[256];
  char all[1280];
  int blen;
  int hlen;

  blen = snprintf(body, sizeof(body),
                  "{\"requests\": %llu, \"ok\": %llu, \"rejected\": %llu, "
                  "\"requests_late\": %llu, \"rejected_late\": %llu, "
                  "\"active\": %llu, "
                  "\"peak\": %llu, \"connections\": %llu, "
                  "\"inflight_p50\": %llu, \"inflight_p90\": %llu, "
                  "\"inflight_p99\": %llu, \"workers\": %u, "
                  "\"reject_above\": %u, \"delay_ms\": %llu}\n",
                  st.requests, st.ok, st.rejected, st.requests_late,
                  st.rejected_late, st.active, st.peak, st.connections,
                  quantile(0.5), quantile(0.9), quantile(0.99), workers,
                  reject_above, (unsigned long long)delay_ms);
  hlen = snprintf(head, sizeof(head),
                  "HTTP/1.1 200 OK\r\nServer: delayserver\r\n"
                  "Content-Type: application/json\r\n"
                  "Content-Length: %d\r\n%s\r\n",
                  blen, last ? "Connection: close\r\n" : "");
  memcpy(all, head, (size_t)hlen);
  memcpy(all + hlen, body, (size_t)blen);
  return send_bytes(c, all, (size_t)(hlen + blen), 1);
}

static void on_timer(uv_timer_t *t);

/* Start the head's delay: at once when workers are unlimited, else when
 * a worker is free (dispatch). */
static void arm(conn_t *c);

/* Answer, in order, what needs no delay at the head of the connection's
 * requests (503s and /stats), then start the head's delay. */
static void advance(conn_t *c) {
  int kind;
  int last;

  while (!c->closing && c->pending > 0 && !c->timing && !c->serving &&
         !c->queued) {
    kind = c->kinds[c->first];
    if (kind == K_DELAY) {
      arm(c);
      return;
    }
    last = c->close_after && c->pending == 1;
    c->first = (c->first + 1) % PIPELINE_MAX;
    c->pending--;
    if (kind == K_REJECT) {
      if (send_bytes(c, reject_response, reject_len, 0) < 0)
        return;
    } else {
      if (kind == K_RESET)
        stats_reset();
      if (send_stats(c, last) < 0)
        return;
    }
    if (last) {
      conn_close(c);
      return;
    }
  }
}

static void start_service(conn_t *c) {
  c->timing = 1;
  uv_timer_start(&c->timer, on_timer, delay_ms, 0);
}

static void arm(conn_t *c) {
  if (workers == 0) {
    start_service(c);
    return;
  }
  queue_push(c);
  dispatch();
}

/* Free workers take connections from the queue's head. */
static void dispatch(void) {
  conn_t *c;

  while (workers > 0 && busy < workers && queue_head != NULL) {
    c = queue_head;
    queue_remove(c);
    c->serving = 1;
    busy++;
    start_service(c);
  }
}

static void on_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  int last = c->close_after && c->pending == 1;
  int rc;

  c->timing = 0;
  if (c->serving) {
    c->serving = 0;
    busy--;
  }
  if (c->closing || c->pending == 0) {
    dispatch();
    return;
  }
  c->first = (c->first + 1) % PIPELINE_MAX;
  c->pending--;
  answered_total++;
  st.ok++;
  if (st.active > 0)
    st.active--;
  rc = last ? send_bytes(c, RESPONSE_CLOSE, sizeof(RESPONSE_CLOSE) - 1, 0)
            : send_bytes(c, RESPONSE, sizeof(RESPONSE) - 1, 0);
  if (rc == 0 && last) {
    /* uv_close lets a queued write finish or fail; the client sees the
     * whole answer before the FIN either way on loopback. */
    conn_close(c);
  }
  dispatch();
  if (rc == 0 && !last)
    advance(c);
}

/* What one request head asks for: K_DELAY, K_REJECT, K_STATS or K_RESET. */
static int classify(const char *head, size_t len) {
  uint64_t now;
  int late;

  if (len >= 18 && memcmp(head, "GET /stats/reset ", 17) == 0)
    return K_RESET;
  if (len >= 12 && memcmp(head, "GET /stats ", 11) == 0)
    return K_STATS;
  now = uv_now(loop);
  if (st.first_ms == 0)
    st.first_ms = now;
  st.requests++;
  late = now - st.first_ms >= late_ms;
  st.requests_late += late;
  if (reject_above > 0 && st.active >= reject_above) {
    st.rejected++;
    st.rejected_late += late;
    return K_REJECT;
  }
  st.active++;
  if (st.active > st.peak)
    st.peak = st.active;
  st.hist[st.active < HIST_MAX ? st.active : HIST_MAX]++;
  st.accepted++;
  return K_DELAY;
}

/* Takes every complete request head off the front of buf. */
static int parse(conn_t *c) {
  char *end;

  while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
    size_t head = (size_t)(end - c->buf) + 4;
    char *p;

    if (c->pending == PIPELINE_MAX)
      return -1;
    /* Connection: close anywhere in the head (case-insensitive). */
    for (p = c->buf; p < end; p++) {
      if ((p == c->buf || p[-1] == '\n') && (size_t)(end - p) >= 17 &&
          strncasecmp(p, "connection: close", 17) == 0)
        c->close_after = 1;
    }
    c->kinds[(c->first + c->pending) % PIPELINE_MAX] =
        (unsigned char)classify(c->buf, head);
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
  advance(c);
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
  st.connections++;
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    conn_close(c);
}

static void on_signal(uv_signal_t *s, int signo) {
  fprintf(stderr, "delayserver: answered %llu requests\n", answered_total);
  uv_stop(loop);
}

/* Standard input at EOF (PORTFILE "-"): whoever started us is gone. */
static void on_stdin(uv_poll_t *p, int status, int events) {
  char b[256];
  ssize_t n = read(0, b, sizeof(b));

  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || status < 0)
    uv_stop(loop);
}

static void raise_nofile(void) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int usage(void) {
  fprintf(stderr, "usage: delayserver [--workers N] [--reject-above N] "
                  "[--retry-after SEC] [--late-ms MS] PORTFILE [DELAY_MS]\n");
  return 2;
}

/* A whole number option's value; -1 when it is none. */
static long long number(const char *s) {
  char *end;
  long long v;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0)
    return -1;
  return v;
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int namelen = sizeof(bound);
  uv_signal_t sigterm, sigint;
  uv_poll_t in;
  uv_tcp_t server;
  const char *portfile = NULL;
  long long v;
  int port;
  int i;
  int err;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc &&
        (v = number(argv[i + 1])) >= 0 && v <= 100000) {
      workers = (unsigned)v;
      i++;
    } else if (strcmp(argv[i], "--reject-above") == 0 && i + 1 < argc &&
               (v = number(argv[i + 1])) >= 0 && v <= 1000000) {
      reject_above = (unsigned)v;
      i++;
    } else if (strcmp(argv[i], "--retry-after") == 0 && i + 1 < argc &&
               (v = number(argv[i + 1])) >= 0 && v <= 86400) {
      retry_after = (unsigned)v;
      i++;
    } else if (strcmp(argv[i], "--late-ms") == 0 && i + 1 < argc &&
               (v = number(argv[i + 1])) >= 0) {
      late_ms = (uint64_t)v;
      i++;
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      return usage();
    } else if (portfile == NULL) {
      portfile = argv[i];
    } else if ((v = number(argv[i])) >= 0) {
      delay_ms = (uint64_t)v;
    } else {
      return usage();
    }
  }
  if (portfile == NULL)
    return usage();
  reject_len = (size_t)snprintf(reject_response, sizeof(reject_response),
                                "HTTP/1.1 503 Service Unavailable\r\n"
                                "Server: delayserver\r\n"
                                "Retry-After: %u\r\n"
                                "Content-Type: text/plain\r\n"
                                "Content-Length: 5\r\n"
                                "\r\n"
                                "busy\n",
                                retry_after);
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
  port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  if (strcmp(portfile, "-") == 0) {
    printf("%d\n", port);
    fflush(stdout);
    if (uv_poll_init(loop, &in, 0) == 0)
      uv_poll_start(&in, UV_READABLE | UV_DISCONNECT, on_stdin);
  } else {
    FILE *pf = fopen(portfile, "w");

    if (pf == NULL) {
      fprintf(stderr, "delayserver: %s: %s\n", portfile, strerror(errno));
      return 1;
    }
    fprintf(pf, "%d\n", port);
    fclose(pf);
  }

  uv_signal_init(loop, &sigterm);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
