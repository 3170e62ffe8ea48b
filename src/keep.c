/* Which connections libcurl keeps for reuse, and which it closes at once.
 *
 * libcurl keeps a finished transfer's connection in its connection cache
 * (one per share, see uvfetch__shares_init) for the next transfer to the
 * same host, up to CURLMOPT_MAXCONNECTS; past that, every connection
 * returned makes libcurl 7.88 walk the whole cache for the oldest idle one
 * to evict (Curl_conncache_extract_oldest). On a crawl, where nearly every
 * host is new, a cache kept full holds hundreds of connections that no
 * URL will use again: descriptors, kernel buffers and, over HTTPS, TLS
 * state, and an open connection on each of those servers.
 *
 * So a connection is kept only where it may serve: once the idle
 * connections pass a quarter of max_concurrent, a transfer whose host has
 * no other URL waiting closes its connection when done
 * (CURLOPT_FORBID_REUSE), and an idle connection is reused only within
 * 2 s (CURLOPT_MAXAGE_CONN), so those kept before the caches filled close
 * too. A crawl then holds about its max_concurrent connections instead of
 * 4 x as many (tests/test-names.c counts them at the server). Until then every
 * connection is kept, so a program that adds URLs for a few hosts as it learns
 * them (a crawler of one site) keeps its keep-alive, and one host's URLs always
 * share their connections. CPU per URL was the same either way where measured
 * (bench/results/keepalive.md).
 *
 * Waiting URLs are counted by a hash of host:port in a fixed table sized
 * from max_concurrent; two hosts that share a counter look busy to each
 * other, which only keeps a connection that could have closed.
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/resource.h>

/* Counters per slot of concurrency: with 2 x max_concurrent URLs queued
 * (the command's window), about one host in eight shares a counter. */
#define COUNTERS_PER_SLOT 16
#define COUNTERS_MIN 1024

/* How long a connection may sit idle and still be reused: libcurl's
 * default, and, while the caches are crowded, long enough for a host's
 * next URL a little further down the input. */
#define DEFAULT_AGE_S 118L
#define CROWDED_AGE_S 2L

/* libcurl keeps up to four idle connections per easy handle in each
 * connection cache. Over many hosts they are seldom reused, and each
 * holds a descriptor that a new connection or a name lookup then lacks:
 * the caches together keep at most half the process's descriptors. */
int uvfetch__keep_init(uvfetch_t *f) {
  struct rlimit rl;
  unsigned caches = f->nshares > 0 ? f->nshares : 1;
  uint64_t keep = 4 * (uint64_t)f->opt.max_concurrent;
  size_t n = COUNTERS_MIN;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur / 2 < keep)
    keep = rl.rlim_cur / 2;
  keep /= caches;
  if (keep == 0)
    keep = 1;
  curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)keep);
  /* Crowded: idle connections beyond a quarter of the slots (a few more
   * for small -j), or half of what the caches may hold. */
  f->crowded_at = f->opt.max_concurrent + f->opt.max_concurrent / 4 + 4;
  if (f->crowded_at > keep * caches / 2)
    f->crowded_at = (unsigned)(keep * caches / 2);
  while (n < (size_t)f->opt.max_concurrent * COUNTERS_PER_SLOT)
    n *= 2;
  f->waiting = calloc(n, sizeof(*f->waiting));
  if (f->waiting == NULL)
    return UVFETCH_ENOMEM;
  f->waiting_mask = n - 1;
  return 0;
}

void uvfetch__keep_free(uvfetch_t *f) {
  free(f->waiting);
  f->waiting = NULL;
}

void uvfetch__keep_queued(uvfetch_t *f, struct transfer *t, CURLU *parsed) {
  t->host_key = uvfetch__host_key(parsed);
  f->waiting[t->host_key & f->waiting_mask]++;
  t->waiting = 1;
}

void uvfetch__keep_unqueued(uvfetch_t *f, struct transfer *t) {
  if (!t->waiting)
    return;
  t->waiting = 0;
  f->waiting[t->host_key & f->waiting_mask]--;
}

void uvfetch__keep_decide(uvfetch_t *f, struct slot *s) {
  struct transfer *t = s->t;
  int crowded = f->nconns >= f->crowded_at;
  int forbid = crowded && t->host_key != 0 &&
               f->waiting[t->host_key & f->waiting_mask] == 0;

  /* A setup hook that had the easy handle owns these options. */
  if (s->touched)
    return;
  if (forbid != s->forbid_reuse) {
    s->forbid_reuse = forbid;
    curl_easy_setopt(s->easy, CURLOPT_FORBID_REUSE, (long)forbid);
  }
  /* The connections kept before the caches filled: libcurl closes those
   * idle longer than this transfer's CURLOPT_MAXAGE_CONN when it looks
   * (at most once a second, as a connection is made). */
  if (crowded != s->short_age) {
    s->short_age = crowded;
    curl_easy_setopt(s->easy, CURLOPT_MAXAGE_CONN,
                     crowded ? CROWDED_AGE_S : DEFAULT_AGE_S);
  }
}
