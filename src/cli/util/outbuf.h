/* A buffered writer for standard output, flushed sensibly for the loop:
 * after every record on a terminal; otherwise when the buffer fills and
 * just before the loop waits for events (a uv_prepare_t), so a pipe gets a
 * few large writes instead of one per record, and nothing lingers while
 * the program waits.
 */
#ifndef UVFETCH_CLI_OUTBUF_H
#define UVFETCH_CLI_OUTBUF_H

#include <stddef.h>

#include <uv.h>

typedef struct cli_outbuf_s cli_outbuf_t;

/* Called once, on the first failed write (err is a negative errno, e.g.
 * UV_EPIPE). Later output is discarded. */
typedef void (*cli_outbuf_error_cb)(cli_outbuf_t *o, int err);

struct cli_outbuf_s {
  int fd;
  char *buf;
  size_t len;
  size_t cap;
  int line_buffered; /* flush after every record (fd is a terminal) */
  int err;           /* the first write error, or 0 */
  uv_prepare_t flusher;
  cli_outbuf_error_cb on_error;
  void *data; /* the caller's */
};

/* Set up writing to `fd` on `loop`. Returns 0, UV_ENOMEM, or a libuv
 * code from uv_prepare_init. The flusher never keeps the loop alive. */
int cli_outbuf_init(cli_outbuf_t *o, uv_loop_t *loop, int fd,
                    cli_outbuf_error_cb on_error);

/* Append n bytes; flushes as the buffer fills. */
void cli_outbuf_write(cli_outbuf_t *o, const void *p, size_t n);

/* Append a NUL-terminated string. */
void cli_outbuf_puts(cli_outbuf_t *o, const char *s);

/* A record is complete: flush now on a terminal, else before the loop
 * next waits. */
void cli_outbuf_end_record(cli_outbuf_t *o);

/* Write out everything buffered. Returns 0 or the (first) write error. */
int cli_outbuf_flush(cli_outbuf_t *o);

/* Flush, then close the flusher handle; the buffer is freed from its
 * close callback, so let the loop run afterwards. */
void cli_outbuf_close(cli_outbuf_t *o);

#endif /* UVFETCH_CLI_OUTBUF_H */
