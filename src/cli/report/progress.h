/* The progress line on standard error: done, failed, in flight, queued,
 * the limit found so far under -j auto, bytes, rate, and an estimate of the
 * time left when the input's size is known. Redrawn at most ten times a second
 * by an unreferenced uv_timer, which never keeps the loop alive; the line is
 * erased when the run ends (and whenever records go to the same terminal,
 * before they are written).
 */
#ifndef UVFETCH_CLI_PROGRESS_H
#define UVFETCH_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct cli_progress_s cli_progress_t;

/* The numbers a line shows. */
typedef struct cli_progress_counts_s {
  uint64_t done;    /* records made */
  uint64_t failed;  /* of those, with an error */
  uint64_t skipped; /* left out (journal, shard) */
  uint64_t running; /* in flight */
  uint64_t queued;  /* waiting to start, or to retry */
  uint64_t bytes;   /* body bytes received so far */
  double total;     /* URLs in the whole input, estimated; 0: unknown */
  uint64_t limit;   /* the concurrency limit now (-j auto); 0: not shown */
} cli_progress_counts_t;

typedef void (*cli_progress_counts_fn)(cli_progress_t *p,
                                       cli_progress_counts_t *c);

struct cli_progress_s {
  uv_timer_t timer;
  int fd;
  int drawn; /* a line is on the terminal now */
  uint64_t start_ns;
  uint64_t last_ns;
  uint64_t last_bytes;
  double rate; /* bytes per second, smoothed */
  cli_progress_counts_fn counts;
  void *data; /* the caller's */
};

/* Start drawing on fd (a terminal, normally standard error). */
int cli_progress_start(cli_progress_t *p, uv_loop_t *loop, int fd,
                       cli_progress_counts_fn counts);

/* Erase the line, if one is drawn; the next tick draws it again. */
void cli_progress_clear(cli_progress_t *p);

/* Erase the line and stop; let the loop run to close the timer. */
void cli_progress_stop(cli_progress_t *p);

/* The line for `c`, `elapsed` seconds in, at `rate` bytes/s, cut to
 * `width` columns (0: no limit). Pure; exposed for tests. */
void cli_progress_format(const cli_progress_counts_t *c, double elapsed,
                         double rate, size_t width, char *buf, size_t len);

#endif /* UVFETCH_CLI_PROGRESS_H */
