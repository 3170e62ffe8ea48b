/* A buffered writer for standard output (and the trace file), flushed
 * before the loop waits. See outbuf.h. Calls only libuv and write(2); a
 * write error goes up through the caller's callback. */
#include "util/outbuf.h"
#include "util/container.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTBUF_SIZE (64 * 1024)

static void on_prepare(uv_prepare_t *handle);

int cli_outbuf_init(cli_outbuf_t *o, uv_loop_t *loop, int fd,
                    cli_outbuf_error_cb on_error) {
  int err;

  memset(o, 0, sizeof(*o));
  o->fd = fd;
  o->cap = OUTBUF_SIZE;
  o->on_error = on_error;
  o->line_buffered = isatty(fd);
  o->buf = malloc(o->cap);
  if (o->buf == NULL)
    return UV_ENOMEM;
  err = uv_prepare_init(loop, &o->flusher);
  if (err < 0) {
    free(o->buf);
    o->buf = NULL;
    return err;
  }
  uv_unref((uv_handle_t *)&o->flusher);
  return 0;
}

static void fail(cli_outbuf_t *o, int err) {
  o->len = 0;
  if (o->err != 0)
    return;
  o->err = err;
  if (o->on_error != NULL)
    o->on_error(o, err);
}

/* Write all of p[0..n) to the descriptor. It may have been left
 * non-blocking by whoever shares it (libuv makes stdin non-blocking, and
 * a terminal or socket on both stdin and stdout shares the flag), so wait
 * for it to drain rather than fail on EAGAIN. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);

    if (w >= 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      struct pollfd pfd = {.fd = fd, .events = POLLOUT};

      if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
        return -errno;
      continue;
    }
    return -errno;
  }
  return 0;
}

int cli_outbuf_flush(cli_outbuf_t *o) {
  int err;

  if (o->err != 0 || o->len == 0) {
    o->len = 0;
    return o->err;
  }
  err = write_all(o->fd, o->buf, o->len);
  o->len = 0;
  if (err < 0)
    fail(o, err);
  return o->err;
}

void cli_outbuf_write(cli_outbuf_t *o, const void *p, size_t n) {
  const char *s = p;

  if (o->err != 0)
    return;
  if (o->len + n > o->cap) {
    if (cli_outbuf_flush(o) < 0)
      return;
  }
  /* Larger than the whole buffer: skip the copy. */
  if (n > o->cap) {
    int err = write_all(o->fd, s, n);

    if (err < 0)
      fail(o, err);
    return;
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

void cli_outbuf_puts(cli_outbuf_t *o, const char *s) {
  cli_outbuf_write(o, s, strlen(s));
}

void cli_outbuf_end_record(cli_outbuf_t *o) {
  if (o->err != 0 || o->len == 0)
    return;
  if (o->line_buffered) {
    cli_outbuf_flush(o);
    return;
  }
  if (!uv_is_active((uv_handle_t *)&o->flusher))
    uv_prepare_start(&o->flusher, on_prepare);
}

/* The loop is about to wait for events: write what the last turn made. */
static void on_prepare(uv_prepare_t *handle) {
  cli_outbuf_t *o = container_of(handle, cli_outbuf_t, flusher);

  uv_prepare_stop(handle);
  cli_outbuf_flush(o);
}

static void on_close(uv_handle_t *handle) {
  cli_outbuf_t *o = container_of(handle, cli_outbuf_t, flusher);

  free(o->buf);
  o->buf = NULL;
}

void cli_outbuf_close(cli_outbuf_t *o) {
  cli_outbuf_flush(o);
  uv_close((uv_handle_t *)&o->flusher, on_close);
}
