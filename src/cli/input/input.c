/* Reading URL lines on the loop, paused and resumed by the caller. See
 * input.h. Calls down only: libuv and the line splitter (lines.c); lines
 * and the end go up through the caller's callbacks. */
#include "input/input.h"
#include "util/container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_SIZE (64 * 1024)

static void pump(cli_input_t *in);

static void release(cli_input_t *in) {
  free(in->chunk);
  in->chunk = NULL;
  cli_lines_free(&in->lines);
}

/* Choose how to read fd and set up the handle for it. A terminal is opened
 * as a uv_tty_t, which reopens it so that making it non-blocking does not
 * affect whoever shares it. */
static int open_handle(cli_input_t *in) {
  int err;

  switch (uv_guess_handle(in->fd)) {
  case UV_FILE:
    in->kind = CLI_INPUT_FILE;
    return 0;
  case UV_TTY:
    in->kind = CLI_INPUT_STREAM;
    return uv_tty_init(in->loop, &in->h.tty, in->fd, 1);
  case UV_NAMED_PIPE:
    in->kind = CLI_INPUT_STREAM;
    err = uv_pipe_init(in->loop, &in->h.pipe, 0);
    if (err < 0)
      return err;
    err = uv_pipe_open(&in->h.pipe, in->fd);
    break;
  case UV_TCP:
    in->kind = CLI_INPUT_STREAM;
    err = uv_tcp_init(in->loop, &in->h.tcp);
    if (err < 0)
      return err;
    err = uv_tcp_open(&in->h.tcp, in->fd);
    break;
  default:
    return UV_EINVAL;
  }
  if (err < 0)
    uv_close(&in->h.handle, NULL);
  return err;
}

int cli_input_open(cli_input_t *in, uv_loop_t *loop, const char *path) {
  uv_fs_t req;
  int err;

  memset(in, 0, sizeof(*in));
  in->loop = loop;
  in->fd = -1;
  in->size = -1;
  if (path == NULL || strcmp(path, "-") == 0) {
    in->name = "standard input";
    in->fd = 0;
  } else {
    in->name = path;
    err = uv_fs_open(loop, &req, path, O_RDONLY | O_CLOEXEC, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (err < 0)
      return err;
    in->fd = err;
  }

  err = uv_fs_fstat(loop, &req, in->fd, NULL);
  if (err == 0 && S_ISDIR(req.statbuf.st_mode))
    err = UV_EISDIR;
  /* Known size, for a progress estimate: a file read from its start. */
  if (err == 0 && S_ISREG(req.statbuf.st_mode) &&
      lseek(in->fd, 0, SEEK_CUR) == 0)
    in->size = (int64_t)req.statbuf.st_size;
  uv_fs_req_cleanup(&req);
  if (err < 0)
    goto fail;

  /* A file is read through our own descriptor, closed at the end; libuv
   * never closes standard input for a stream handle, and neither do we. */
  if (in->name != path && uv_guess_handle(0) == UV_FILE) {
    in->fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (in->fd < 0) {
      err = uv_translate_sys_error(errno);
      goto fail;
    }
  }

  in->chunk = malloc(CHUNK_SIZE);
  if (in->chunk == NULL) {
    err = UV_ENOMEM;
    goto fail;
  }
  err = cli_lines_init(&in->lines);
  if (err < 0)
    goto fail;
  err = open_handle(in);
  if (err < 0)
    goto fail;
  return 0;

fail:
  release(in);
  if (in->fd > 2)
    close(in->fd);
  in->fd = -1;
  return err;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  cli_input_t *in = container_of(handle, cli_input_t, h.handle);

  /* Reading only happens once every byte read before was taken. */
  in->pos = 0;
  in->end = 0;
  *buf = uv_buf_init(in->chunk, CHUNK_SIZE);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  cli_input_t *in = container_of(stream, cli_input_t, h.stream);

  if (nread == 0)
    return;
  if (nread > 0) {
    in->end = (size_t)nread;
  } else {
    uv_read_stop(stream);
    in->reading = 0;
    in->eof = 1;
    if (nread != UV_EOF)
      in->read_err = (int)nread;
  }
  pump(in);
}

static void on_fs_close(uv_fs_t *req) {
  cli_input_t *in = container_of(req, cli_input_t, req);

  uv_fs_req_cleanup(req);
  in->fd = -1;
  release(in);
  if (in->on_close != NULL)
    in->on_close(in);
}

/* The file's memory is released from a request's callback, as a handle's
 * would be from its close callback. */
static void close_file(cli_input_t *in) {
  int err = uv_fs_close(in->loop, &in->req, in->fd, on_fs_close);

  if (err < 0) {
    close(in->fd);
    in->fd = -1;
    release(in);
    if (in->on_close != NULL)
      in->on_close(in);
  }
}

static void on_fs_read(uv_fs_t *req) {
  cli_input_t *in = container_of(req, cli_input_t, req);
  ssize_t result = req->result;

  uv_fs_req_cleanup(req);
  in->reading = 0;
  if (in->closing) {
    close_file(in);
    return;
  }
  if (result > 0) {
    in->pos = 0;
    in->end = (size_t)result;
  } else {
    in->eof = 1;
    if (result < 0)
      in->read_err = (int)result;
  }
  pump(in);
}

/* Ask for more bytes. Returns 1 when a read is on its way (pump waits for
 * it), 0 when reading could not start and the input has ended. */
static int read_more(cli_input_t *in) {
  int err;

  if (in->reading)
    return 1;
  if (in->kind == CLI_INPUT_FILE) {
    uv_buf_t buf = uv_buf_init(in->chunk, CHUNK_SIZE);

    err = uv_fs_read(in->loop, &in->req, in->fd, &buf, 1, -1, on_fs_read);
  } else {
    err = uv_read_start(&in->h.stream, on_alloc, on_read);
  }
  if (err < 0) {
    in->eof = 1;
    in->read_err = err;
    return 0;
  }
  in->reading = 1;
  return 1;
}

/* Hand lines over until paused, out of bytes, or ended. */
static void pump(cli_input_t *in) {
  cli_line_t line;

  if (in->pumping)
    return;
  in->pumping = 1;
  while (!in->paused && !in->closing && !in->ended) {
    if (in->pos < in->end) {
      const char *p = in->chunk + in->pos;

      if (cli_lines_take(&in->lines, &p, in->chunk + in->end, &line) !=
          CLI_LINE_NONE) {
        in->consumed += (uint64_t)(p - (in->chunk + in->pos));
        in->pos = (size_t)(p - in->chunk);
        in->on_line(in, &line);
      } else {
        in->consumed += in->end - in->pos;
        in->pos = in->end;
      }
      continue;
    }
    if (!in->eof) {
      if (read_more(in))
        break;
      continue;
    }
    in->ended = 1;
    if (cli_lines_finish(&in->lines, &line) != CLI_LINE_NONE)
      in->on_line(in, &line);
    if (!in->closing)
      in->on_end(in, in->read_err);
    break;
  }
  in->pumping = 0;
}

int cli_input_start(cli_input_t *in, cli_input_line_cb on_line,
                    cli_input_end_cb on_end) {
  in->on_line = on_line;
  in->on_end = on_end;
  /* Paused before the start: cli_input_resume starts reading. */
  if (in->paused)
    return 0;
  if (!read_more(in))
    return in->read_err;
  return 0;
}

/* A stream still reading would keep filling the chunk behind our back:
 * stop it. A file read in flight lands, and waits in the chunk. */
void cli_input_pause(cli_input_t *in) {
  in->paused = 1;
  if (in->reading && in->kind == CLI_INPUT_STREAM && !in->closing) {
    uv_read_stop(&in->h.stream);
    in->reading = 0;
  }
}

void cli_input_resume(cli_input_t *in) {
  if (!in->paused)
    return;
  in->paused = 0;
  pump(in);
}

static void on_handle_close(uv_handle_t *handle) {
  cli_input_t *in = container_of(handle, cli_input_t, h.handle);

  in->fd = -1;
  release(in);
  if (in->on_close != NULL)
    in->on_close(in);
}

void cli_input_close(cli_input_t *in, cli_input_close_cb cb) {
  if (in->closing)
    return;
  in->closing = 1;
  in->on_close = cb;
  if (in->kind == CLI_INPUT_STREAM) {
    uv_close(&in->h.handle, on_handle_close);
    return;
  }
  /* A read in flight cannot be taken back; its callback closes. */
  if (in->reading)
    return;
  close_file(in);
}
