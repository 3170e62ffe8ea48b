/* The concurrency limit's path through a run, and the transfers in
 * flight beside it: sampled on an unreferenced uv_timer (which never
 * keeps the loop alive), kept as a time-weighted histogram for --stats
 * (min, median, max, and when the limit settled), and written to the
 * --trace file as two counter tracks, "limit" and "in flight", whenever
 * either changes.
 *
 * "Settled" is when the limit last left a band of -20 %..+25 % around the
 * value it settled at before; small steps that add up to more than that
 * count as a move. Memory is fixed by the ceiling, not by the run's
 * length.
 */
#ifndef UVFETCH_CLI_LIMIT_H
#define UVFETCH_CLI_LIMIT_H

#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "report/trace.h"

typedef struct cli_limit_s cli_limit_t;

/* Reads the limit and the count in flight now. */
typedef void (*cli_limit_read_fn)(cli_limit_t *l, unsigned *limit,
                                  unsigned *running);

struct cli_limit_s {
  uv_timer_t timer;
  cli_limit_read_fn read;
  cli_trace_t *trace; /* or NULL */
  uint64_t t0_ns;     /* the trace's zero: when the fetcher started */
  uint64_t last_ns;   /* the last sample */
  unsigned ceiling;
  uint64_t *ns_at; /* [ceiling + 1]: time spent at each limit */
  unsigned limit;  /* at the last sample */
  unsigned running;
  unsigned min;
  unsigned max;
  unsigned anchor;     /* the value the limit last settled around */
  uint64_t settled_ns; /* when it moved there */
  int sampled;         /* a sample has been taken */
  int traced;          /* the counters have been written once */
  int timing;          /* the timer is running */
};

/* Start sampling every `interval_ms`, limits from 1 to `ceiling`, since
 * `t0_ns` (uv_hrtime's clock). `trace` may be NULL. 0, or a negative
 * errno. */
int cli_limit_start(cli_limit_t *l, uv_loop_t *loop, unsigned ceiling,
                    uint64_t t0_ns, unsigned interval_ms,
                    cli_limit_read_fn read, cli_trace_t *trace);

/* Take one more sample now (the tick's work; also for the end). */
void cli_limit_sample(cli_limit_t *l);

/* Note `limit` and `running` as seen at `now_ns`: the sample's work
 * without the clock or the reader. Exposed for tests; cli_limit_init
 * alone prepares for it. */
void cli_limit_note(cli_limit_t *l, uint64_t now_ns, unsigned limit,
                    unsigned running);

/* Set up for limits from 1 to `ceiling` without a timer. 0, or
 * -ENOMEM. */
int cli_limit_init(cli_limit_t *l, unsigned ceiling, uint64_t t0_ns,
                   cli_trace_t *trace);

/* Stop sampling; let the loop run to close the timer. The path stays
 * readable until cli_limit_free. */
void cli_limit_stop(cli_limit_t *l);
void cli_limit_free(cli_limit_t *l);

/* The path so far: lowest, time-weighted median, highest, and seconds
 * from t0 to when it settled. Pure; 0s before any sample. */
void cli_limit_path(const cli_limit_t *l, unsigned *min, unsigned *median,
                    unsigned *max, double *settled);

/* "uvfetch: limit: ..." for --stats. */
void cli_limit_print(const cli_limit_t *l, FILE *out);

#endif /* UVFETCH_CLI_LIMIT_H */
