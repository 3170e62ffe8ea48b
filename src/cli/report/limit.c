/* The concurrency limit's path. See limit.h. Calls down only: a libuv
 * timer, the caller's reader and the trace's counters. */
#include "report/limit.h"
#include "util/container.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cli_limit_init(cli_limit_t *l, unsigned ceiling, uint64_t t0_ns,
                   cli_trace_t *trace) {
  memset(l, 0, sizeof(*l));
  if (ceiling == 0)
    ceiling = 1;
  l->ns_at = calloc((size_t)ceiling + 1, sizeof(*l->ns_at));
  if (l->ns_at == NULL)
    return -ENOMEM;
  l->ceiling = ceiling;
  l->t0_ns = t0_ns;
  l->trace = trace;
  return 0;
}

/* Is `v` outside the band around `anchor` (-20 % .. +25 %)? */
static int moved(unsigned anchor, unsigned v) {
  return (uint64_t)v * 5 < (uint64_t)anchor * 4 ||
         (uint64_t)v * 4 > (uint64_t)anchor * 5;
}

void cli_limit_note(cli_limit_t *l, uint64_t now_ns, unsigned limit,
                    unsigned running) {
  double at = now_ns > l->t0_ns ? (double)(now_ns - l->t0_ns) / 1e9 : 0.0;

  if (limit > l->ceiling)
    limit = l->ceiling;
  if (!l->sampled) {
    l->sampled = 1;
    l->min = l->max = l->anchor = limit;
    l->settled_ns = now_ns;
  } else {
    if (now_ns > l->last_ns)
      l->ns_at[l->limit] += now_ns - l->last_ns;
    if (limit < l->min)
      l->min = limit;
    if (limit > l->max)
      l->max = limit;
    if (moved(l->anchor, limit)) {
      l->anchor = limit;
      l->settled_ns = now_ns;
    }
  }
  if (l->trace != NULL) {
    if (!l->traced || limit != l->limit)
      cli_trace_counter(l->trace, "limit", at, limit);
    if (!l->traced || running != l->running)
      cli_trace_counter(l->trace, "in flight", at, running);
    l->traced = 1;
  }
  l->last_ns = now_ns;
  l->limit = limit;
  l->running = running;
}

void cli_limit_sample(cli_limit_t *l) {
  unsigned limit = 0;
  unsigned running = 0;

  l->read(l, &limit, &running);
  cli_limit_note(l, uv_hrtime(), limit, running);
}

static void on_tick(uv_timer_t *timer) {
  cli_limit_sample(container_of(timer, cli_limit_t, timer));
}

int cli_limit_start(cli_limit_t *l, uv_loop_t *loop, unsigned ceiling,
                    uint64_t t0_ns, unsigned interval_ms,
                    cli_limit_read_fn read, cli_trace_t *trace) {
  int err = cli_limit_init(l, ceiling, t0_ns, trace);

  if (err < 0)
    return err;
  l->read = read;
  err = uv_timer_init(loop, &l->timer);
  if (err < 0) {
    cli_limit_free(l);
    return err;
  }
  uv_unref((uv_handle_t *)&l->timer);
  l->timing = 1;
  cli_limit_sample(l);
  return uv_timer_start(&l->timer, on_tick, interval_ms, interval_ms);
}

void cli_limit_stop(cli_limit_t *l) {
  if (!l->timing)
    return;
  l->timing = 0;
  uv_close((uv_handle_t *)&l->timer, NULL);
}

void cli_limit_free(cli_limit_t *l) {
  free(l->ns_at);
  l->ns_at = NULL;
}

void cli_limit_path(const cli_limit_t *l, unsigned *min, unsigned *median,
                    unsigned *max, double *settled) {
  uint64_t total = 0;
  uint64_t seen = 0;
  unsigned v;

  *min = l->min;
  *max = l->max;
  *median = l->limit;
  *settled = 0;
  if (!l->sampled)
    return;
  *settled =
      l->settled_ns > l->t0_ns ? (double)(l->settled_ns - l->t0_ns) / 1e9 : 0.0;
  for (v = 0; v <= l->ceiling; v++)
    total += l->ns_at[v];
  if (total == 0)
    return;
  for (v = 0; v <= l->ceiling; v++) {
    seen += l->ns_at[v];
    if (seen * 2 >= total) {
      *median = v;
      return;
    }
  }
}

void cli_limit_print(const cli_limit_t *l, FILE *out) {
  unsigned min, median, max;
  double settled;

  cli_limit_path(l, &min, &median, &max, &settled);
  fprintf(out,
          "uvfetch: limit: min %u, median %u, max %u; settled after %.2f s "
          "(last at %u)\n",
          min, median, max, settled, l->limit);
}
