/* The adaptive concurrency limit. See adapt.h for its contract.
 *
 * Each host (host:port) has a limit of its own, and the run has one over
 * all of them; a transfer starts only when both have room. Each limit is
 * moved once per window, a window being the time until enough transfers
 * started under the current limit have finished (at least one round trip,
 * as TCP moves its window once per round trip): samples of transfers
 * started before the limit last moved describe the old limit, and are
 * left out of its verdict.
 *
 * A host's verdict compares the window's mean latency with the host's
 * baseline, the mean latency measured at low concurrency:
 *  - within TOLERANCE of it, and the limit in use (half of it was in
 *    flight at some point: a limit nobody fills proves nothing), the limit
 *    grows: doubling each window at first (slow start, so a latency-bound
 *    crawl reaches hundreds in flight within a second; by FAST while the
 *    latency stays within UNLOADED of the baseline, so that 1,000 in
 *    flight at 100 ms take 3 round trips from 8, not 7: over 20,000 URLs
 *    those 4 round trips were a sixth of the run. The run's limit grows
 *    that fast only while FEW_HOSTS or fewer are busy: their own limits
 *    see any queue they share, while a crawl over many hosts, each with
 *    too few answers to judge, leans on the run's limit, which overshoots
 *    a shared link by as much as it grows), then by an eighth,
 *    and by a 32nd (at least one) only near the level of the last
 *    back-off, so a server that refuses past a fixed count is met gently
 *    (as CUBIC plateaus at its last loss);
 *  - above it, and if that means QUEUE_MIN or more requests waiting (n in
 *    flight at r times the unloaded latency: about n (1 - 1/r) wait, as
 *    TCP Vegas reckons), the limit shrinks by the gradient TOLERANCE *
 *    baseline / latency (Envoy's and Netflix's gradient), at most by half
 *    a window. Against a server with C workers this settles near
 *    TOLERANCE * C, where latency is about TOLERANCE times the unloaded
 *    one. The level it shrank from becomes a ceiling that growth comes
 *    back to gently, as to a refusal's. Without the count of waiting
 *    requests, the few milliseconds this process adds when it is busy
 *    with other hosts (measured: 2 to 20 ms beside a host of 1,000 in
 *    flight) double a 10 ms host's latency and sink its limit to 1, while
 *    it has no queue at all;
 *  - slow start also ends when doubling the limit no longer raises the
 *    completions per second by a quarter, twice in a row: a bottleneck
 *    that queues out of sight (the client itself, a rate limit) shows in
 *    throughput before it shows in latency. After slow start, latency
 *    leads: throughput is flat past a server's capacity, latency is not;
 *  - after slow start, GOOD_WINDOWS windows in a row that hold, with no
 *    ceiling learned (or the last one passed by a tenth unharmed), start
 *    it again: on a busy machine one slow window can end slow start at a
 *    tenth of what a latency-bound host takes, and the climb by eighths
 *    from there takes seconds.
 * Overload backs off at once, without waiting for a window: a 429 or 503,
 * a connect timeout or a reset from a host multiplies its limit by
 * BACKOFF, once per flight (only transfers started after the last back-off
 * count, as TCP halves once per loss window). A Retry-After keeps the
 * limit under nine tenths of the level that drew the refusal until it
 * has passed (capped at a minute); below that the limit regrows as
 * usual. The factor is CUBIC's 0.7, not TCP's 0.5: a limit has no full
 * queue behind it to drain.
 *
 * The baseline is the mean of the first window (which runs at the low
 * initial limit), lowered whenever a later window is faster. A baseline
 * only ever lowered would pin the limit near 1 for good once the path got
 * slower (a server under other load, a route change): gradient and
 * baseline would agree the host is overloaded. So, as Envoy's gradient
 * controller does, each host is re-probed every PROBE_MS (give or take a
 * tenth, so hosts do not probe together): its limit is pinned to
 * PROBE_LIMIT until PROBE_SAMPLES transfers started under the pin have
 * finished, their mean becomes the baseline, and the limit it had comes
 * back; a baseline slower by over TOLERANCE means a new path, and the
 * limit finds its level again by slow start.
 *
 * The run's limit cannot compare latencies across hosts, whose baselines
 * differ a hundredfold. It sees each answer as a ratio to its own host's
 * baseline (1 when unloaded), judges a window by their median (one host's
 * first answer can set its baseline far too low: a mean would follow it),
 * and moves as a host's limit does, with TOLERANCE over a baseline of 1.
 * A host whose own limit is shrinking queues on its own account: its
 * answers count as unloaded, or one slow host that gives many quick
 * answers would hold back a fast one whose answers take 100 ms. Unless
 * most busy hosts (two or more) are shrinking at once: that is what a
 * shared bottleneck (the client's link or CPU) looks like, and then their
 * answers count, and the run's limit gives. So in a crawl over many hosts,
 * each with too few URLs to teach its own limit anything, the run's limit
 * still finds the client's own bottleneck. While most hosts queue at
 * once, a host's probe, which then measures the shared queue and not its
 * path, may lower its baseline but not raise it.
 *   Its weak spot, measured in tests/test-adapt.c: a host first met while
 * a shared link already queues takes that queue for its baseline, so
 * behind a shared link the run settles above the link's capacity (1.4
 * times it, median latency 1.4 x the unloaded, in the simulation), where
 * a single host settles at TOLERANCE x. A probe of the whole run, pinned low
 * as Envoy and BBR's ProbeRTT do, would fix the baselines; not done yet.
 *   The run backs off on EMFILE, this process's own shortage; one host's
 * 503s are that host's business, and leave the run alone.
 *
 * Why not steer the run by throughput alone, as BBR does (the power, rate
 * over latency, peaks where more in flight stops adding completions)?
 * Tried: across hosts it is wrong. Beside a slow host that completes many
 * quick answers, a fast host whose answers take 100 ms adds completions
 * but lowers the power, and was starved.
 *
 * Hosts are kept in an open-addressed table; one idle (nothing in flight)
 * for HOST_IDLE_MS is forgotten when the table next needs room, so a crawl
 * over a million hosts holds only the recent ones.
 */
#include <stdlib.h>
#include <string.h>

#include "adapt.h"

#define INITIAL 8
/* TOLERANCE: 1.25 left a twentieth of a 16-worker server idle on loopback,
 * where the client's own turnaround between an answer and the next request
 * is a tenth of a 10 ms service (workload 8, case b). */
#define TOLERANCE 1.35 /* latency over baseline that counts as holding */
#define QUEUE_MIN 4    /* requests a host must seem to queue to shrink */
#define GOOD_WINDOWS 3 /* holding windows, nothing learned: slow start */
#define UNLOADED 1.1   /* this close to the baseline, slow start is faster */
#define FAST 8         /* by this much a window */
#define FEW_HOSTS 4    /* busy hosts that see a shared queue themselves */
#define SHRINK_MIN 0.5 /* the most a window's gradient takes away */
#define BACKOFF 0.7    /* on overload */
#define RATE_GAIN 1.25 /* what doubling must add to throughput */
#define MIN_SAMPLES 4  /* fresh samples that close a window, at least */
#define MAX_SAMPLES ADAPT_WINDOW_MAX /* and at most */
#define WINDOW_MIN_MS 10             /* the shortest window */
#define PROBE_MS 30000               /* between a host's probes */
#define PROBE_LIMIT 4     /* concurrency while probing: Envoy's is 3 */
#define PROBE_SAMPLES 8   /* transfers a probe's baseline is the mean of */
#define HOLD_MAX_MS 60000 /* the longest Retry-After obeyed */
#define HOST_IDLE_MS 60000

void uvfetch__adapt_defaults(struct adapt_config *cfg) {
  if (cfg->max == 0)
    cfg->max = 1;
  if (cfg->initial == 0)
    cfg->initial = INITIAL;
  if (cfg->probe_ms == 0)
    cfg->probe_ms = PROBE_MS;
}

static uint64_t next_random(struct adapt *a) {
  uint64_t x = a->random;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  a->random = x;
  return x;
}

/* When a probe that is due now should come: PROBE_MS give or take a
 * tenth, so hosts met together drift apart. */
static uint64_t probe_due(struct adapt *a, uint64_t now) {
  uint64_t span = a->cfg.probe_ms / 5;

  return now + a->cfg.probe_ms - span / 2 + next_random(a) % (span + 1);
}

static double clamp(double x, double lo, double hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

static unsigned whole(double limit) {
  unsigned n = (unsigned)limit;

  return n > 0 ? n : 1;
}

/* ---- a limit, a host's or the run's ------------------------------------ */

static void window_reset(struct adapt_ctl *c, uint64_t now) {
  c->window_ms = now;
  c->sum = 0;
  c->fresh = 0;
  c->done = 0;
  c->peak = c->inflight;
}

static void ctl_init(struct adapt_ctl *c, double limit, uint64_t now) {
  memset(c, 0, sizeof(*c));
  c->limit = limit;
  c->slow_start = 1;
  window_reset(c, now);
}

/* The whole number of transfers a limit lets run. */
static unsigned effective(const struct adapt_ctl *c) {
  unsigned n = whole(c->limit);

  return c->probing && n > PROBE_LIMIT ? PROBE_LIMIT : n;
}

static unsigned host_cap(const struct adapt *a) {
  unsigned cap = a->cfg.max;

  if (a->cfg.max_per_host > 0 && a->cfg.max_per_host < cap)
    cap = a->cfg.max_per_host;
  return cap;
}

/* Enough fresh samples, and time enough, to judge the window? */
static int window_full(const struct adapt_ctl *c, uint64_t now, int host) {
  double need = c->limit / 4;

  /* In slow start, half the window's transfers: a server that serves in
   * order answers the first ones before the queue behind them builds, and
   * a quarter of 64 sent to 16 workers all come back unqueued. A host's
   * mean takes any count; the run's median keeps at most MAX_SAMPLES. */
  if (c->slow_start)
    need = c->limit / 2;
  need = clamp(need, MIN_SAMPLES, host && c->slow_start ? 1e9 : MAX_SAMPLES);
  return c->fresh >= (unsigned)need && now - c->window_ms >= WINDOW_MIN_MS;
}

/* Overload: back off once per flight, and keep growth
 * below the level it happened at until Retry-After has passed. */
static void back_off(struct adapt_ctl *c, uint64_t now,
                     const struct adapt_sample *s) {
  uint64_t hold = s->retry_after_ms;

  if (hold > HOLD_MAX_MS)
    hold = HOLD_MAX_MS;
  if (now + hold > c->hold_ms)
    c->hold_ms = now + hold;
  if (s->started_ms < c->backoff_ms)
    return; /* started before the last back-off: already paid for */
  c->backoff_ms = now;
  c->slow_start = 0;
  c->good = 0;
  if (c->probing) {
    c->saved = c->saved * BACKOFF < 1 ? 1 : c->saved * BACKOFF;
    return;
  }
  c->ceiling = c->limit;
  c->refused = 1;
  c->limit = c->limit * BACKOFF < 1 ? 1 : c->limit * BACKOFF;
  window_reset(c, now);
}

/* Does a window's latency, `ratio` times the baseline, say that the limit
 * queues requests? Over the tolerance, and by QUEUE_MIN requests or more:
 * with n in flight and latency r times the unloaded, about n (1 - 1/r)
 * of them wait (Little's law, as TCP Vegas reckons its queue). A few
 * milliseconds that this process adds itself when busy with other hosts
 * double a 10 ms host's latency: at a limit of 2, that says one request
 * waits, not a server's queue, and the limit must not sink for it. */
static int queueing(const struct adapt_ctl *c, double ratio) {
  return ratio > TOLERANCE && (double)c->peak * (1 - 1 / ratio) >= QUEUE_MIN;
}

/* A window has closed: move its limit on the verdict. `ratio` is
 * the window's mean latency over the baseline. */
static void verdict(struct adapt_ctl *c, uint64_t now, double ratio,
                    unsigned cap, double fast) {
  double rate = (double)c->done * 1000.0 / (double)(now - c->window_ms);
  int in_use = 2 * c->peak >= effective(c);

  if (queueing(c, ratio)) {
    /* Where it queued: growth comes back to this level gently (a level
     * that drew a refusal stays the one to respect). */
    if (!c->refused)
      c->ceiling = c->limit;
    c->slow_start = 0;
    c->good = 0;
    c->limit *= clamp(TOLERANCE / ratio, SHRINK_MIN, 1);
  } else if (in_use) {
    if (c->slow_start) {
      if (c->last_rate > 0 && rate < RATE_GAIN * c->last_rate)
        c->flat++;
      else
        c->flat = 0;
      if (c->flat >= 2) {
        c->slow_start = 0;
        if (!c->refused)
          c->ceiling = c->limit; /* throughput stopped growing here */
      } else {
        /* Fast only on the word of half the window or more. */
        c->limit *=
            ratio <= UNLOADED && 2 * c->fresh >= effective(c) ? fast : 2;
      }
    } else if (c->ceiling == 0 && ++c->good >= GOOD_WINDOWS) {
      /* Nothing learned stands in the way (a level that queued or drew
       * a refusal was passed unharmed, or there was none): a noisy
       * window that ended slow start early costs a few windows, not
       * the long climb by eighths. */
      c->slow_start = 1;
      c->flat = 0;
      c->good = 0;
      c->limit *= 2;
    }
    if (!c->slow_start) {
      if (c->ceiling > 0 && c->limit >= 0.9 * c->ceiling) {
        if (now >= c->hold_ms)
          c->limit += c->limit / 32 < 1 ? 1 : c->limit / 32;
      } else {
        c->limit += c->limit / 8 < 1 ? 1 : c->limit / 8;
        if (c->ceiling > 0 && c->limit > 0.9 * c->ceiling && now < c->hold_ms)
          c->limit = 0.9 * c->ceiling;
      }
      if (c->ceiling > 0 && c->limit > 1.1 * c->ceiling + 1) {
        c->ceiling = 0; /* passed it unharmed: the server has changed */
        c->refused = 0;
      }
    }
  }
  c->limit = clamp(c->limit, 1, cap);
  c->last_rate = in_use ? rate : 0;
  window_reset(c, now);
}

/* Do most busy hosts, two or more, queue on their own account at once? */
static int shared_queue(const struct adapt *a) {
  return a->busy >= 2 && 2 * a->busy_congested > a->busy;
}

/* Mark a host's limit as held back by its own latency, or not, keeping
 * count of the busy hosts so marked. */
static void set_congested(struct adapt *a, struct adapt_ctl *c, int on) {
  if (c->congested == on)
    return;
  c->congested = on;
  if (c->inflight > 0)
    a->busy_congested += on ? 1 : -1;
}

/* The median of n values, which it sorts. n is at most MAX_SAMPLES. */
static double median(double *v, unsigned n) {
  unsigned i;
  unsigned j;
  double x;

  for (i = 1; i < n; i++) {
    x = v[i];
    for (j = i; j > 0 && v[j - 1] > x; j--)
      v[j] = v[j - 1];
    v[j] = x;
  }
  return v[n / 2];
}

/* An answer for limit `c`: `x` is its latency (a host's) or its ratio to
 * its host's baseline (the run's, which keeps them in `ratios` for a
 * median; hosts take the mean). Probing, or judging the window. */
static void ctl_sample(struct adapt *a, struct adapt_ctl *c, uint64_t now,
                       const struct adapt_sample *s, double x, double *ratios,
                       unsigned cap) {
  double mean;

  c->done++;
  if (s->started_ms >= c->window_ms) {
    if (ratios != NULL && c->fresh < MAX_SAMPLES)
      ratios[c->fresh] = x;
    c->sum += x;
    c->fresh++;
  }
  if (c->probing) {
    if (c->fresh < PROBE_SAMPLES)
      return;
    mean = ratios != NULL ? median(ratios, c->fresh) : c->sum / c->fresh;
    /* When most busy hosts queue at once, a shared link is queueing, and
     * a host pinned low measures that queue, not its own path: the probe
     * may then lower its baseline, never raise it. With one host busy
     * there is no telling the two apart, and the probe is believed. */
    if (shared_queue(a) && mean > c->baseline)
      mean = c->baseline;
    /* A path slower by more than the tolerance is a new path: what the
     * limit learned on the old one is stale, and slow start finds anew. */
    if (mean > TOLERANCE * c->baseline) {
      c->slow_start = 1;
      c->ceiling = 0;
      c->refused = 0;
      c->flat = 0;
    }
    c->baseline = mean;
    c->limit = c->saved;
    c->probing = 0;
    c->probe_ms = probe_due(a, now);
    window_reset(c, now);
    return;
  }
  if (!window_full(c, now, ratios == NULL))
    return;
  if (ratios != NULL)
    mean = median(ratios, c->fresh < MAX_SAMPLES ? c->fresh : MAX_SAMPLES);
  else
    mean = c->sum / c->fresh;
  if (ratios != NULL)
    ; /* the run's baseline is 1: its measure is already a ratio */
  else if (c->baseline == 0 || mean < c->baseline)
    c->baseline = mean;
  c->last_ratio = mean / c->baseline;
  if (ratios == NULL)
    set_congested(a, c, c->last_ratio > TOLERANCE);
  verdict(c, now, c->last_ratio, cap,
          ratios == NULL || a->busy <= FEW_HOSTS ? FAST : 2);
  if (now >= c->probe_ms) {
    c->probing = 1;
    c->saved = c->limit;
    window_reset(c, now);
  }
}

/* ---- the API ------------------------------------------------------------- */

int uvfetch__adapt_init(struct adapt *a, const struct adapt_config *cfg,
                        uint64_t now_ms) {
  memset(a, 0, sizeof(*a));
  a->cfg = *cfg;
  uvfetch__adapt_defaults(&a->cfg);
  a->random = a->cfg.seed ? a->cfg.seed : 1;
  ctl_init(&a->all, clamp(a->cfg.initial, 1, a->cfg.max), now_ms);
  a->all.baseline = 1;
  a->all.probe_ms = UINT64_MAX;
  a->hosts = calloc(64, sizeof(*a->hosts));
  if (a->hosts == NULL)
    return -1;
  a->hosts_mask = 63;
  a->min_seen = effective(&a->all);
  a->max_seen = a->min_seen;
  a->settled_ms = now_ms;
  return 0;
}

void uvfetch__adapt_free(struct adapt *a) {
  free(a->hosts);
  memset(a, 0, sizeof(*a));
}

/* ---- the host table --------------------------------------------------------
 */

static struct adapt_host *slot_for(struct adapt_host *table, size_t mask,
                                   uint64_t key) {
  size_t i = (size_t)key & mask;

  while (table[i].key != 0 && table[i].key != key)
    i = (i + 1) & mask;
  return &table[i];
}

static struct adapt_host *host_find(const struct adapt *a, uint64_t key) {
  struct adapt_host *h = slot_for(a->hosts, a->hosts_mask, key);

  return h->key != 0 ? h : NULL;
}

static int host_live(const struct adapt_host *h, uint64_t now) {
  return h->key != 0 && (h->c.inflight > 0 || now - h->last_ms < HOST_IDLE_MS);
}

/* Make room for one more host: rebuild the table without the hosts idle
 * for long, twice as large when over a quarter would still be full. 0, or
 * -1 when out of memory. */
static int hosts_rebuild(struct adapt *a, uint64_t now) {
  size_t n = a->hosts_mask + 1;
  size_t live = 0;
  size_t i;
  struct adapt_host *table;

  for (i = 0; i <= a->hosts_mask; i++)
    live += host_live(&a->hosts[i], now);
  if (live + 1 > n / 4)
    n *= 2;
  table = calloc(n, sizeof(*table));
  if (table == NULL)
    return -1;
  for (i = 0; i <= a->hosts_mask; i++) {
    if (host_live(&a->hosts[i], now))
      *slot_for(table, n - 1, a->hosts[i].key) = a->hosts[i];
  }
  free(a->hosts);
  a->hosts = table;
  a->hosts_mask = n - 1;
  a->nhosts = live;
  return 0;
}

static struct adapt_host *host_get(struct adapt *a, uint64_t key,
                                   uint64_t now) {
  struct adapt_host *h = host_find(a, key);

  if (h != NULL)
    return h;
  if (2 * (a->nhosts + 1) > a->hosts_mask + 1 && hosts_rebuild(a, now) != 0)
    return NULL;
  h = slot_for(a->hosts, a->hosts_mask, key);
  h->key = key;
  h->last_ms = now;
  ctl_init(&h->c, clamp(a->cfg.initial, 1, host_cap(a)), now);
  h->c.probe_ms = probe_due(a, now);
  a->nhosts++;
  return h;
}

/* ---- the limits ------------------------------------------------------------
 */

unsigned uvfetch__adapt_limit(const struct adapt *a) {
  return effective(&a->all);
}

unsigned uvfetch__adapt_host_limit(const struct adapt *a, uint64_t host) {
  const struct adapt_host *h = host_find(a, host);

  if (h == NULL)
    return whole(clamp(a->cfg.initial, 1, host_cap(a)));
  return effective(&h->c);
}

unsigned uvfetch__adapt_inflight(const struct adapt *a) {
  return a->all.inflight;
}

unsigned uvfetch__adapt_host_inflight(const struct adapt *a, uint64_t host) {
  const struct adapt_host *h = host_find(a, host);

  return h != NULL ? h->c.inflight : 0;
}

int uvfetch__adapt_may_start(struct adapt *a, uint64_t host) {
  const struct adapt_host *h;

  if (a->all.inflight >= effective(&a->all))
    return 0;
  h = host_find(a, host);
  if (h == NULL)
    return 1; /* a new host starts at the initial limit, at least 1 */
  return h->c.inflight < effective(&h->c);
}

static void count_start(struct adapt_ctl *c) {
  c->inflight++;
  if (c->inflight > c->peak)
    c->peak = c->inflight;
}

int uvfetch__adapt_started(struct adapt *a, uint64_t host, uint64_t now_ms) {
  struct adapt_host *h = host_get(a, host, now_ms);

  count_start(&a->all);
  if (h == NULL)
    return -1;
  h->last_ms = now_ms;
  if (h->c.inflight == 0) {
    a->busy++;
    a->busy_congested += h->c.congested;
  }
  count_start(&h->c);
  return 0;
}

/* Record where the run's limit went, for --stats. */
static void note_path(struct adapt *a, unsigned before, uint64_t now) {
  unsigned n = effective(&a->all);

  if (n < a->min_seen)
    a->min_seen = n;
  if (n > a->max_seen)
    a->max_seen = n;
  if (n > before + before / 10 || n + before / 10 < before)
    a->settled_ms = now;
}

void uvfetch__adapt_finished(struct adapt *a, uint64_t host, uint64_t now_ms,
                             const struct adapt_sample *s) {
  struct adapt_host *h = host_find(a, host);
  unsigned before = effective(&a->all);
  double ratio = 1;

  if (a->all.inflight > 0)
    a->all.inflight--;
  if (h != NULL && h->c.inflight > 0 && --h->c.inflight == 0) {
    a->busy--;
    a->busy_congested -= h->c.congested;
  }
  if (h != NULL)
    h->last_ms = now_ms;
  switch (s->signal) {
  case ADAPT_LOCAL:
    back_off(&a->all, now_ms, s);
    break;
  case ADAPT_OVERLOAD:
    if (h != NULL)
      back_off(&h->c, now_ms, s);
    break;
  case ADAPT_OK:
    /* A host its own limit is holding back queues on its own account:
     * the run sees its answers as unloaded, unless most busy hosts are
     * so held back at once, which is what a shared bottleneck looks like,
     * or it is at the floor and can do no more. */
    if (h != NULL && h->c.baseline > 0 && s->rtt_ms > 0 &&
        !(h->c.congested && !shared_queue(a)))
      ratio = s->rtt_ms / h->c.baseline;
    if (h != NULL)
      ctl_sample(a, &h->c, now_ms, s, s->rtt_ms, NULL, host_cap(a));
    ctl_sample(a, &a->all, now_ms, s, ratio, a->ratios, a->cfg.max);
    break;
  default:
    break;
  }
  note_path(a, before, now_ms);
}
