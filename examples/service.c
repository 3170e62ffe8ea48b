/* service: a TCP server on a libuv loop that answers "how big is URL X" by
 * asking uvfetch on the same loop, while the loop also runs a heartbeat
 * timer and serves every other client. Nothing waits for a download: a
 * slow URL holds back only its own answer.
 *
 *   service PORT          listen on 127.0.0.1:PORT (0: any free port)
 *
 * It prints the port it listens on, one line on standard output, and runs
 * until SIGTERM or SIGINT, when it closes every handle and exits 0 (1 if
 * uv_loop_close() finds anything left on the loop).
 *
 * The protocol is lines. A client sends one URL a line, as many as it
 * likes without waiting; each gets one answer line as soon as its download
 * ends, so answers come in completion order, each naming its URL:
 *   URL<TAB>BYTES
 *   URL<TAB>-<TAB>ERROR<TAB>MESSAGE
 * The line "stats" answers at once with
 *   stats<TAB>ticks=N<TAB>clients=N<TAB>queued=N<TAB>running=N<TAB>done=N
 * where ticks counts the heartbeat (every 100 ms). When the client shuts
 * down its side, the server answers what is pending, then closes; when the
 * connection breaks, the client's pending URLs are cancelled.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvfetch.h>

#define LINE_MAX_BYTES 8192       /* longer lines get an error answer */
#define PENDING_MAX 64            /* URLs in flight per client at most */
#define WRITE_QUEUE_MAX (1 << 20) /* bytes of answers a client may owe us */
#define HEARTBEAT_MS 100

#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

struct server;

/* One URL a client asked about, until its completion callback. */
struct query {
  struct client *client;
  struct query *prev;
  struct query *next;
  uint64_t ordinal;
};

struct client {
  uv_tcp_t tcp;
  struct server *server;
  struct client *prev;
  struct client *next;
  struct query *queries; /* pending, for cancelling on a broken connection */
  size_t pending;
  int reading;
  int eof;      /* the client shut down its side */
  int shutting; /* our side is being shut down after the last answer */
  int closed;   /* uv_close is under way */
  int too_long; /* the current line outgrew `line` */
  size_t len;
  char line[LINE_MAX_BYTES];
  char rbuf[65536];
};

struct server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t heartbeat;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  uvfetch_t *fetcher;
  struct client *clients;
  size_t nclients;
  uint64_t ticks;
  int stopping;
};

/* An answer on its way to a client; the bytes follow the request. */
struct answer {
  uv_write_t req;
  size_t len;
  char text[];
};

static void client_close(struct client *c);
static void client_flow(struct client *c);

/* ---- answers ---------------------------------------------------------- */

static void on_written(uv_write_t *req, int status) {
  struct answer *a = container_of(req, struct answer, req);
  struct client *c = req->handle->data;

  free(a);
  if (status < 0) {
    client_close(c);
    return;
  }
  client_flow(c);
}

static void client_send(struct client *c, const char *text, size_t len) {
  struct answer *a;
  uv_buf_t buf;

  if (c->closed || c->shutting)
    return;
  a = malloc(sizeof(*a) + len);
  if (a == NULL) {
    client_close(c);
    return;
  }
  memcpy(a->text, text, len);
  a->len = len;
  buf = uv_buf_init(a->text, (unsigned)len);
  if (uv_write(&a->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
    free(a);
    client_close(c);
  }
}

/* Formats one answer line; snprintf's bound keeps a long URL from
 * overrunning, and the line is cut, not dropped, when it would. */
static void client_answer(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void client_answer(struct client *c, const char *fmt, ...) {
  char text[LINE_MAX_BYTES + 512];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n >= sizeof(text)) {
    n = sizeof(text) - 1;
    text[n - 1] = '\n';
  }
  client_send(c, text, (size_t)n);
}

/* ---- queries ---------------------------------------------------------- */

static void query_unlink(struct query *q) {
  struct client *c = q->client;

  if (q->prev != NULL)
    q->prev->next = q->next;
  else
    c->queries = q->next;
  if (q->next != NULL)
    q->next->prev = q->prev;
  c->pending--;
}

/* One URL is done: answer the client that asked, unless it is gone. */
static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  struct query *q = r->data;
  struct client *c = q->client;

  query_unlink(q);
  free(q);
  if (c->closed)
    return;
  if (r->ok)
    client_answer(c, "%s\t%llu\n", r->url, (unsigned long long)r->bytes);
  else
    client_answer(c, "%s\t-\t%s\t%s\n", r->url, uvfetch_err_name(r->error),
                  r->message);
  client_flow(c);
}

static void client_ask(struct client *c, const char *url) {
  struct server *s = c->server;
  struct query *q = calloc(1, sizeof(*q));
  int err;

  if (q == NULL) {
    err = UVFETCH_ENOMEM;
  } else {
    err = uvfetch_add_ex(s->fetcher, url, q, 0, &q->ordinal);
  }
  if (err != 0) {
    /* Refused: no callback comes for it, so answer now. */
    free(q);
    client_answer(c, "%s\t-\t%s\t%s\n", url, uvfetch_err_name(err),
                  uvfetch_strerror(err));
    return;
  }
  q->client = c;
  q->next = c->queries;
  if (c->queries != NULL)
    c->queries->prev = q;
  c->queries = q;
  c->pending++;
}

static void client_stats(struct client *c) {
  struct server *s = c->server;
  uvfetch_stats_t st;

  uvfetch_get_stats(s->fetcher, &st);
  client_answer(c,
                "stats\tticks=%llu\tclients=%zu\tqueued=%llu\trunning=%llu"
                "\tdone=%llu\n",
                (unsigned long long)s->ticks, s->nclients,
                (unsigned long long)st.queued, (unsigned long long)st.running,
                (unsigned long long)st.done);
}

/* A whole line arrived, without its LF. */
static void client_line(struct client *c) {
  char *line = c->line;
  size_t n = c->len;

  if (c->too_long) {
    c->too_long = 0;
    client_answer(c, "\t-\t%s\tline longer than %d bytes\n",
                  uvfetch_err_name(UVFETCH_EINVAL), LINE_MAX_BYTES - 1);
    return;
  }
  while (n > 0 &&
         (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  line[n] = '\0';
  while (*line == ' ' || *line == '\t')
    line++;
  if (*line == '\0')
    return;
  if (strcmp(line, "stats") == 0)
    client_stats(c);
  else
    client_ask(c, line);
}

/* ---- clients ---------------------------------------------------------- */

static void on_client_closed(uv_handle_t *handle) {
  struct client *c = handle->data;

  free(c);
}

/* Every answer is written (or the server is stopping: UV_ECANCELED). */
static void on_shutdown(uv_shutdown_t *req, int status) {
  struct client *c = req->handle->data;

  free(req);
  client_close(c);
}

static void client_unlist(struct client *c) {
  struct server *s = c->server;

  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    s->clients = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  s->nclients--;
}

/* Drop the connection now: its pending URLs are cancelled (each completion
 * callback runs inside uvfetch_cancel and finds the client closing), and
 * unsent answers are discarded. */
static void client_close(struct client *c) {
  struct server *s = c->server;
  struct query *q;

  if (c->closed)
    return;
  c->closed = 1;
  client_unlist(c);
  while (c->queries != NULL) {
    q = c->queries;
    if (uvfetch_cancel(s->fetcher, q->ordinal) != 0) {
      /* Cannot happen: a pending query's transfer exists. Do not spin. */
      query_unlink(q);
      free(q);
    }
  }
  uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_alloc(uv_handle_t *handle, size_t size, uv_buf_t *buf) {
  struct client *c = handle->data;

  *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct client *c = stream->data;
  ssize_t i;
  char ch;

  if (nread == UV_EOF) {
    c->eof = 1;
    c->reading = 0;
    uv_read_stop(stream);
    client_flow(c);
    return;
  }
  if (nread < 0) {
    client_close(c);
    return;
  }
  for (i = 0; i < nread && !c->closed; i++) {
    ch = buf->base[i];
    if (ch == '\n') {
      client_line(c);
      c->len = 0;
    } else if (c->len + 1 < sizeof(c->line)) {
      c->line[c->len++] = ch;
    } else {
      c->too_long = 1;
    }
  }
  client_flow(c);
}

/* Read while the client's backlog is small; when it has shut down its side
 * and nothing is owed to it, finish the connection once answers are sent.
 * Called whenever the backlog may have changed. */
static void client_flow(struct client *c) {
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
  uv_shutdown_t *req;
  int full;

  if (c->closed || c->shutting)
    return;
  if (c->eof) {
    if (c->pending > 0)
      return;
    /* on_shutdown runs once every queued answer is written. */
    req = malloc(sizeof(*req));
    if (req == NULL || uv_shutdown(req, stream, on_shutdown) != 0) {
      free(req);
      client_close(c);
      return;
    }
    c->shutting = 1;
    return;
  }
  full = c->pending >= PENDING_MAX ||
         uv_stream_get_write_queue_size(stream) > WRITE_QUEUE_MAX;
  if (full && c->reading) {
    uv_read_stop(stream);
    c->reading = 0;
  } else if (!full && !c->reading) {
    if (uv_read_start(stream, on_alloc, on_read) != 0) {
      client_close(c);
      return;
    }
    c->reading = 1;
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  struct server *s = listener->data;
  struct client *c;

  if (status < 0) {
    fprintf(stderr, "service: accept: %s\n", uv_strerror(status));
    return;
  }
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    return; /* the connection waits in the backlog for a later try */
  if (uv_tcp_init(s->loop, &c->tcp) != 0) {
    free(c);
    return;
  }
  c->tcp.data = c;
  c->server = s;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
    return;
  }
  c->next = s->clients;
  if (s->clients != NULL)
    s->clients->prev = c;
  s->clients = c;
  s->nclients++;
  client_flow(c);
}

/* ---- the server ------------------------------------------------------- */

static void on_heartbeat(uv_timer_t *timer) {
  struct server *s = timer->data;

  /* A real service would expire idle clients or log here; counting ticks
   * shows that the loop never stalls while URLs download. */
  s->ticks++;
}

/* The server struct starts zeroed, and libuv sets a handle's loop field
 * only when its init succeeds: so this closes exactly what was opened. */
static void close_if_open(uv_handle_t *handle) {
  if (handle->loop != NULL && !uv_is_closing(handle))
    uv_close(handle, NULL);
}

/* Close every handle of ours, then the fetcher (which cancels whatever is
 * left); uv_run returns once their close callbacks have run. */
static void server_stop(struct server *s) {
  if (s->stopping)
    return;
  s->stopping = 1;
  close_if_open((uv_handle_t *)&s->listener);
  while (s->clients != NULL)
    client_close(s->clients);
  close_if_open((uv_handle_t *)&s->heartbeat);
  close_if_open((uv_handle_t *)&s->sigterm);
  close_if_open((uv_handle_t *)&s->sigint);
  if (s->fetcher != NULL)
    uvfetch_close(s->fetcher, NULL);
}

static void on_signal(uv_signal_t *handle, int signum) {
  server_stop(handle->data);
}

static int parse_port(const char *text, int *port) {
  char *end;
  long v = strtol(text, &end, 10);

  if (end == text || *end != '\0' || v < 0 || v > 65535)
    return -1;
  *port = (int)v;
  return 0;
}

static int server_listen(struct server *s, int port) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  int err;

  err = uv_ip4_addr("127.0.0.1", port, &addr);
  if (err == 0)
    err = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (err == 0)
    err = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
  if (err != 0)
    return err;
  printf("%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);
  return 0;
}

/* On failure, server_stop closes whatever was opened, and uv_run then
 * finishes the closing. */
static int server_start(struct server *s, uv_loop_t *loop, int port) {
  uvfetch_options_t opt = UVFETCH_OPTIONS_INIT;
  int err;

  s->loop = loop;
  opt.max_concurrent = 32;
  opt.timeout_ms = 60000; /* no client waits forever on one URL */
  err = uvfetch_init(loop, &s->fetcher, &opt, on_done);
  if (err != 0) {
    s->fetcher = NULL;
    fprintf(stderr, "service: %s\n", uvfetch_strerror(err));
    return err;
  }
  s->listener.data = s;
  s->heartbeat.data = s;
  s->sigterm.data = s;
  s->sigint.data = s;
  err = uv_tcp_init(loop, &s->listener);
  if (err == 0)
    err = uv_timer_init(loop, &s->heartbeat);
  if (err == 0)
    err = uv_signal_init(loop, &s->sigterm);
  if (err == 0)
    err = uv_signal_init(loop, &s->sigint);
  if (err == 0)
    err = uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  if (err == 0)
    err = uv_signal_start(&s->sigint, on_signal, SIGINT);
  if (err == 0)
    err =
        uv_timer_start(&s->heartbeat, on_heartbeat, HEARTBEAT_MS, HEARTBEAT_MS);
  if (err == 0)
    err = server_listen(s, port);
  if (err != 0) {
    fprintf(stderr, "service: %s\n", uvfetch_strerror(err));
    server_stop(s);
  }
  return err;
}

int main(int argc, char **argv) {
  struct server server = {0};
  uv_loop_t loop;
  int port;
  int err;
  int status;

  if (argc != 2 || parse_port(argv[1], &port) != 0) {
    fprintf(stderr, "usage: service PORT\n");
    return 2;
  }
  /* A client that hangs up while we write to it must not kill the server:
   * libuv writes to sockets with write(2). */
  signal(SIGPIPE, SIG_IGN);

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "service: %s\n", uv_strerror(err));
    return 1;
  }
  status = server_start(&server, &loop, port) == 0 ? 0 : 1;
  uv_run(&loop, UV_RUN_DEFAULT); /* until server_stop has closed it all */
  err = uv_loop_close(&loop);
  if (err != 0) {
    fprintf(stderr, "service: uv_loop_close: %s\n", uv_strerror(err));
    return 1;
  }
  return status;
}
