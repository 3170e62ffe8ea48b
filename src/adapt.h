/* The adaptive concurrency limit (`-j auto`): how many transfers may run
 * at once, overall and per host, found while the run goes.
 *
 * The engine asks uvfetch__adapt_may_start before it starts a transfer,
 * says when one started and when it finished, with how long it took and
 * whether the server or the system said "too much". The limits follow.
 * The design, and why, is at the top of adapt.c.
 *
 * Like the scheduler it knows nothing of libcurl or libuv: times are
 * milliseconds on a clock the caller passes in, hosts are the scheduler's
 * host:port hashes (never 0), and randomness comes from a seed.
 */
#ifndef UVFETCH_ADAPT_H
#define UVFETCH_ADAPT_H

#include <stddef.h>
#include <stdint.h>

/* What a finished transfer says about load. */
enum adapt_signal {
  ADAPT_OK,       /* a response (whatever its status): latency counts */
  ADAPT_OVERLOAD, /* the host pushed back: 429 or 503, a connect timeout,
                     a reset; its host backs off */
  ADAPT_LOCAL,    /* this process ran short (EMFILE): the whole run backs
                     off */
  ADAPT_NONE      /* says nothing of load (cancelled, refused, a name that
                     did not resolve): only the count in flight changes */
};

struct adapt_sample {
  uint64_t started_ms;     /* when the transfer started (clock of now_ms) */
  double rtt_ms;           /* how long the server took to answer */
  int signal;              /* enum adapt_signal */
  uint64_t retry_after_ms; /* a server's Retry-After, or 0 */
};

/* A limit and what it learns from: a host's, or the whole run's. */
struct adapt_ctl {
  double limit;
  double ceiling;      /* the limit at the last back-off or shrink (or
                          where slow start stalled); 0: none */
  double baseline;     /* unloaded latency (a host's, in ms; the run's, as
                          a ratio to the hosts' own); 0: not yet */
  double last_rate;    /* completions per second in the last window */
  double last_ratio;   /* its latency over the baseline */
  double saved;        /* the limit a probe took away, given back after */
  uint64_t window_ms;  /* when the window (and the limit it tests) began */
  uint64_t backoff_ms; /* when the last back-off was */
  uint64_t hold_ms;    /* no growth past the ceiling before this */
  uint64_t probe_ms;   /* when the next baseline probe is due */
  double sum;          /* of this window's fresh samples */
  unsigned fresh;      /* samples of transfers started in this window */
  unsigned done;       /* all completions in this window */
  unsigned inflight;
  unsigned peak;  /* the most in flight during this window */
  unsigned flat;  /* windows in a row where slow start gained little */
  unsigned good;  /* windows in a row that held, after slow start */
  int slow_start; /* doubling each window until latency or rate says no */
  int probing;    /* pinned low while the baseline is measured again */
  int congested;  /* a host's last window was over the tolerance */
  int refused;    /* the ceiling is where a refusal came, not a queue */
};

/* The most samples a window is judged on. */
#define ADAPT_WINDOW_MAX 64

struct adapt_host {
  uint64_t key; /* 0: empty */
  uint64_t last_ms;
  struct adapt_ctl c;
};

struct adapt_config {
  unsigned initial;      /* the first limit, overall and per host (8) */
  unsigned max;          /* the ceiling overall (the -j auto:MAX) */
  unsigned max_per_host; /* a hard ceiling per host; 0: max */
  uint64_t probe_ms;     /* between a host's baseline probes (30000) */
  uint64_t seed;         /* for the probes' jitter; 0 is made 1 */
};

struct adapt {
  struct adapt_config cfg;
  struct adapt_ctl all;
  double ratios[ADAPT_WINDOW_MAX]; /* the run's window, for its median */
  size_t busy;                     /* hosts with transfers in flight */
  size_t busy_congested; /* of those, held back by their own latency */
  struct adapt_host *hosts;
  size_t hosts_mask;
  size_t nhosts;
  uint64_t random;
  /* The run's limit's path, for --stats: its extremes, and when it last
   * moved by more than a tenth. */
  unsigned min_seen;
  unsigned max_seen;
  uint64_t settled_ms;
};

/* Fill in the defaults for fields left 0 (all but max, which must be set,
 * and seed). */
void uvfetch__adapt_defaults(struct adapt_config *cfg);

/* Set up with `cfg` (defaults applied). 0, or -1 when out of memory. */
int uvfetch__adapt_init(struct adapt *a, const struct adapt_config *cfg,
                        uint64_t now_ms);
void uvfetch__adapt_free(struct adapt *a);

/* May one more transfer to `host` start now? Both the overall limit and
 * the host's must have room. */
int uvfetch__adapt_may_start(struct adapt *a, uint64_t host);

/* A transfer to `host` started. 0, or -1 when out of memory (it is then
 * counted overall only). */
int uvfetch__adapt_started(struct adapt *a, uint64_t host, uint64_t now_ms);

/* A transfer that uvfetch__adapt_started counted has finished. */
void uvfetch__adapt_finished(struct adapt *a, uint64_t host, uint64_t now_ms,
                             const struct adapt_sample *s);

/* The limits now: overall, and the host's (the initial one for a host not
 * seen, or forgotten). */
unsigned uvfetch__adapt_limit(const struct adapt *a);
unsigned uvfetch__adapt_host_limit(const struct adapt *a, uint64_t host);

/* Transfers counted in flight: overall, and to the host. */
unsigned uvfetch__adapt_inflight(const struct adapt *a);
unsigned uvfetch__adapt_host_inflight(const struct adapt *a, uint64_t host);

#endif /* UVFETCH_ADAPT_H */
