/* --trace FILE: a Chrome trace-event file (JSON array format) for
 * Perfetto or chrome://tracing, with one track per concurrency slot and,
 * per transfer, a span for the whole transfer holding its phases: dns,
 * connect, tls, wait (request sent, nothing back yet) and download. Times
 * are those of the last attempt, in microseconds since the fetcher
 * started. Counter tracks (report/limit.h) show the concurrency limit
 * and the transfers in flight over the run.
 *
 * Events are written as records come; the array is closed at the end of
 * the run, so the file is valid JSON then. (A run killed before that
 * leaves the array open, which both viewers accept.)
 */
#ifndef UVFETCH_CLI_TRACE_H
#define UVFETCH_CLI_TRACE_H

#include <stddef.h>

#include <uv.h>

#include "util/outbuf.h"
#include "record/record.h"

typedef struct cli_trace_s {
  cli_outbuf_t out;
  int fd;
  int events;          /* written so far */
  unsigned char *seen; /* bit per slot: its track has been named */
  unsigned nslots;
} cli_trace_t;

/* Create (or truncate) `path` for `nslots` slots. Returns 0, or a
 * negative errno. `on_error` is told of the first failed write. */
int cli_trace_open(cli_trace_t *t, uv_loop_t *loop, const char *path,
                   unsigned nslots, cli_outbuf_error_cb on_error);

/* Add the events of one record; a URL that never started adds none. */
void cli_trace_record(cli_trace_t *t, const cli_record_t *rec);

/* A counter track's value from `seconds` on (Perfetto draws each name
 * as its own track): the concurrency limit, the transfers in flight. */
void cli_trace_counter(cli_trace_t *t, const char *name, double seconds,
                       unsigned value);

/* Close the array and the file. Let the loop run afterwards (the writer's
 * handle closes). */
void cli_trace_close(cli_trace_t *t);

#endif /* UVFETCH_CLI_TRACE_H */
