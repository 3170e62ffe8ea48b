/* Reading URL lines on the loop, only as fast as the caller takes them.
 *
 * A pipe, socket or terminal is read with uv_read_start, a regular file
 * (or device) with uv_fs_read in chunks, so a slow producer never blocks
 * the loop. The caller pauses the reader when it has enough URLs in hand
 * and resumes it later; while paused nothing more is read, so memory stays
 * at one chunk and one line whatever the input's length.
 */
#ifndef UVFETCH_CLI_INPUT_H
#define UVFETCH_CLI_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "input/lines.h"

typedef struct cli_input_s cli_input_t;

/* One line: a URL, or a line that cannot be one (see lines.h). The text
 * is valid only during the call. The callback may pause or close. */
typedef void (*cli_input_line_cb)(cli_input_t *in, const cli_line_t *line);

/* No more lines: err is 0 at end of input, or the libuv code that stopped
 * reading. Called once, unless the reader is closed first. */
typedef void (*cli_input_end_cb)(cli_input_t *in, int err);

typedef void (*cli_input_close_cb)(cli_input_t *in);

typedef enum { CLI_INPUT_STREAM, CLI_INPUT_FILE } cli_input_kind_t;

struct cli_input_s {
  uv_loop_t *loop;
  const char *name; /* for messages: the path, or "standard input" */
  int fd;
  cli_input_kind_t kind;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_tcp_t tcp;
  } h;         /* CLI_INPUT_STREAM */
  uv_fs_t req; /* CLI_INPUT_FILE: the read or the final close */
  int reading; /* stream: read started; file: a read is in flight */
  int paused;
  int pumping;  /* inside pump(): do not re-enter */
  int eof;      /* no more bytes will come */
  int read_err; /* what ended reading, when not end of file */
  int ended;    /* on_end was called */
  int closing;
  int64_t size;      /* a regular file's size in bytes; -1: unknown */
  uint64_t consumed; /* bytes split into lines so far */
  char *chunk;       /* bytes read, consumed from pos up to end */
  size_t pos;
  size_t end;
  cli_lines_t lines;
  cli_input_line_cb on_line;
  cli_input_end_cb on_end;
  cli_input_close_cb on_close;
  void *data; /* the caller's */
};

/* Open `path` ("-" or NULL: standard input) for reading on `loop`. Checks
 * now that it can be read: a missing file, a directory or no permission
 * fails here. Returns 0, or a libuv code; on failure nothing is left to
 * close, though a handle may still be closing (run the loop before
 * uv_loop_close, as always). */
int cli_input_open(cli_input_t *in, uv_loop_t *loop, const char *path);

/* Start delivering lines. Returns 0 or a libuv code. */
int cli_input_start(cli_input_t *in, cli_input_line_cb on_line,
                    cli_input_end_cb on_end);

/* Stop delivering lines (and reading) until cli_input_resume. */
void cli_input_pause(cli_input_t *in);

/* Deliver lines again; may call on_line before it returns. */
void cli_input_resume(cli_input_t *in);

/* Stop for good and release everything; `cb` (may be NULL) runs on a later
 * turn of the loop, after which the reader holds no memory or handle. */
void cli_input_close(cli_input_t *in, cli_input_close_cb cb);

#endif /* UVFETCH_CLI_INPUT_H */
