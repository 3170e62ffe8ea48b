/* The scheduler: which waiting transfer starts next.
 *
 * Transfers wait in one queue kept in ordinal order. The next one to start
 * is normally the oldest; with a per-host cap, the scheduler looks past
 * transfers whose host is at its cap, within a bounded window, so that one
 * busy host does not hold back the others. A global rate spaces starts
 * evenly. Transfers that wait for a retry sit in a heap by due time until
 * they go back into the queue in their ordinal place.
 *
 * It knows nothing of libcurl or libuv: times are milliseconds on a clock
 * the caller passes in, and the caller arms whatever timer `wake` asks for.
 */
#ifndef UVFETCH_SCHEDULER_H
#define UVFETCH_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "adapt.h"

/* What the scheduler needs of a transfer; embedded in struct transfer. */
struct sched_entry {
  struct sched_entry *next; /* in the queue */
  uint64_t ordinal;
  uint64_t host;     /* a hash of host:port; 0 when hosts are not capped */
  uint64_t due_ms;   /* when a deferred transfer may go again */
  size_t heap_index; /* its place in the retry heap */
  int ready;         /* starts without a slot (it only reports an error) */
};

struct sched_host {
  uint64_t key; /* 0: empty */
  unsigned count;
};

struct sched {
  struct sched_entry *head;
  struct sched_entry *tail;
  uint64_t queued;
  unsigned lookahead;    /* entries looked at to find a startable one */
  unsigned max_per_host; /* 0: no cap */
  struct sched_host *hosts;
  size_t hosts_mask;
  struct adapt *adapt; /* adaptive limits to obey too, or NULL */
  double interval_ms;  /* between starts; 0: no rate limit */
  double next_ms;      /* the earliest next start */
  struct sched_entry **heap;
  size_t nheap;
  size_t capheap;
};

/* Set up for at most `max_running` running transfers. 0, or -1 when out of
 * memory. */
int uvfetch__sched_init(struct sched *q, unsigned max_running,
                        unsigned max_per_host, double rate_per_sec);
void uvfetch__sched_free(struct sched *q);

/* Obey the adaptive limits `a` as well (overall and per host; entries then
 * need their host). The caller counts starts and ends in `a`. */
void uvfetch__sched_adapt(struct sched *q, struct adapt *a);

/* Append; ordinals must grow. */
void uvfetch__sched_push(struct sched *q, struct sched_entry *e);

/* Put an entry back in its ordinal place in the queue. */
void uvfetch__sched_requeue(struct sched *q, struct sched_entry *e);

/* The next entry to start, unlinked, or NULL. It never returns an entry
 * whose ordinal is `limit` or more. A `ready` entry needs no slot and comes
 * back whatever the caps; another comes back only when `have_slot`, its
 * host is under the cap and the rate allows. It is then counted as running
 * on its host until uvfetch__sched_finished. When only the rate holds the
 * next one back, *wake_ms is set to when to ask again (else left alone). */
struct sched_entry *uvfetch__sched_next(struct sched *q, uint64_t limit,
                                        int have_slot, uint64_t now_ms,
                                        uint64_t *wake_ms);

/* A started entry has finished: its host has one more free place. */
void uvfetch__sched_finished(struct sched *q, const struct sched_entry *e);

/* The queued entry with this ordinal, unlinked; or NULL. */
struct sched_entry *uvfetch__sched_take(struct sched *q, uint64_t ordinal);

/* The oldest queued entry, unlinked; or NULL. */
struct sched_entry *uvfetch__sched_shift(struct sched *q);

/* The queued entry with this ordinal, left in place; or NULL. */
struct sched_entry *uvfetch__sched_find(struct sched *q, uint64_t ordinal);

/* Hold an entry until `due_ms`. 0, or -1 when out of memory. */
int uvfetch__sched_defer(struct sched *q, struct sched_entry *e,
                         uint64_t due_ms);

/* When the earliest deferred entry is due; UINT64_MAX when none is. */
uint64_t uvfetch__sched_next_due(const struct sched *q);

/* Move every deferred entry due by `now_ms` back into the queue, in its
 * ordinal place. Returns how many moved. */
size_t uvfetch__sched_release_due(struct sched *q, uint64_t now_ms);

/* The deferred entry with this ordinal, removed from the heap; or NULL.
 * With UINT64_MAX: any deferred entry, for draining them all. */
struct sched_entry *uvfetch__sched_undefer(struct sched *q, uint64_t ordinal);

#endif /* UVFETCH_SCHEDULER_H */
