/* The scheduler: the intake queue, per-host caps, the rate limit and the
 * retry heap. See scheduler.h. */
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

/* How far past capped hosts the scheduler looks for a startable entry. A
 * bound keeps each start cheap when one host fills the queue. */
#define LOOKAHEAD 1024

int uvfetch__sched_init(struct sched *q, unsigned max_running,
                        unsigned max_per_host, double rate_per_sec) {
  size_t n = 16;

  memset(q, 0, sizeof(*q));
  q->lookahead = 1;
  q->max_per_host = max_per_host;
  if (rate_per_sec > 0)
    q->interval_ms = 1000.0 / rate_per_sec;
  if (max_per_host == 0)
    return 0;
  /* At most max_running hosts hold places at once; twice that keeps the
   * open-addressed table at most half full. */
  while (n < 2 * (size_t)max_running)
    n *= 2;
  q->hosts = calloc(n, sizeof(*q->hosts));
  if (q->hosts == NULL)
    return -1;
  q->hosts_mask = n - 1;
  q->lookahead = LOOKAHEAD;
  return 0;
}

void uvfetch__sched_adapt(struct sched *q, struct adapt *a) {
  q->adapt = a;
  q->lookahead = LOOKAHEAD;
}

void uvfetch__sched_free(struct sched *q) {
  free(q->hosts);
  free(q->heap);
  memset(q, 0, sizeof(*q));
}

/* ---- the queue --------------------------------------------------------- */

void uvfetch__sched_push(struct sched *q, struct sched_entry *e) {
  e->next = NULL;
  if (q->tail != NULL)
    q->tail->next = e;
  else
    q->head = e;
  q->tail = e;
  q->queued++;
}

static void unlink_after(struct sched *q, struct sched_entry *prev,
                         struct sched_entry *e) {
  if (prev != NULL)
    prev->next = e->next;
  else
    q->head = e->next;
  if (q->tail == e)
    q->tail = prev;
  e->next = NULL;
  q->queued--;
}

/* Put `e` back in its ordinal place. Entries coming back from the retry
 * heap are old, so the walk from the head is short. */
static void insert_ordered(struct sched *q, struct sched_entry *e) {
  struct sched_entry *prev = NULL;
  struct sched_entry *at = q->head;

  while (at != NULL && at->ordinal < e->ordinal) {
    prev = at;
    at = at->next;
  }
  e->next = at;
  if (prev != NULL)
    prev->next = e;
  else
    q->head = e;
  if (at == NULL)
    q->tail = e;
  q->queued++;
}

void uvfetch__sched_requeue(struct sched *q, struct sched_entry *e) {
  insert_ordered(q, e);
}

struct sched_entry *uvfetch__sched_shift(struct sched *q) {
  struct sched_entry *e = q->head;

  if (e != NULL)
    unlink_after(q, NULL, e);
  return e;
}

struct sched_entry *uvfetch__sched_find(struct sched *q, uint64_t ordinal) {
  struct sched_entry *e;

  for (e = q->head; e != NULL && e->ordinal <= ordinal; e = e->next) {
    if (e->ordinal == ordinal)
      return e;
  }
  return NULL;
}

struct sched_entry *uvfetch__sched_take(struct sched *q, uint64_t ordinal) {
  struct sched_entry *prev = NULL;
  struct sched_entry *e;

  for (e = q->head; e != NULL && e->ordinal <= ordinal; e = e->next) {
    if (e->ordinal == ordinal) {
      unlink_after(q, prev, e);
      return e;
    }
    prev = e;
  }
  return NULL;
}

/* ---- hosts: running transfers per host ----------------------------------- */

static struct sched_host *host_find(struct sched *q, uint64_t key) {
  size_t i = (size_t)key & q->hosts_mask;

  while (q->hosts[i].key != 0 && q->hosts[i].key != key)
    i = (i + 1) & q->hosts_mask;
  return &q->hosts[i];
}

static unsigned host_count(struct sched *q, uint64_t key) {
  return host_find(q, key)->count;
}

static void host_add(struct sched *q, uint64_t key) {
  struct sched_host *h = host_find(q, key);

  h->key = key;
  h->count++;
}

/* Linear probing deletes by shifting later members of the cluster back,
 * so no tombstones pile up over a long run. */
static void host_remove(struct sched *q, uint64_t key) {
  struct sched_host *h = host_find(q, key);
  size_t i = (size_t)(h - q->hosts);
  size_t j = i;
  size_t home;

  if (h->key == 0 || --h->count > 0)
    return;
  for (;;) {
    q->hosts[i].key = 0;
    q->hosts[i].count = 0;
    for (;;) {
      j = (j + 1) & q->hosts_mask;
      if (q->hosts[j].key == 0)
        return;
      home = (size_t)q->hosts[j].key & q->hosts_mask;
      /* Move j into the hole at i unless its home lies cyclically in
       * (i, j], where it can still be found without passing i. */
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
        continue;
      q->hosts[i] = q->hosts[j];
      i = j;
      break;
    }
  }
}

/* ---- choosing the next start ------------------------------------------- */

struct sched_entry *uvfetch__sched_next(struct sched *q, uint64_t limit,
                                        int have_slot, uint64_t now_ms,
                                        uint64_t *wake_ms) {
  struct sched_entry *prev = NULL;
  struct sched_entry *e = q->head;
  unsigned looked;

  for (looked = 0; e != NULL && looked < q->lookahead; looked++) {
    if (e->ordinal >= limit)
      return NULL;
    if (e->ready) {
      unlink_after(q, prev, e);
      return e;
    }
    if (!have_slot)
      return NULL;
    /* The adaptive limit overall: no host could start. */
    if (q->adapt != NULL &&
        uvfetch__adapt_inflight(q->adapt) >= uvfetch__adapt_limit(q->adapt))
      return NULL;
    if ((q->max_per_host == 0 || host_count(q, e->host) < q->max_per_host) &&
        (q->adapt == NULL || uvfetch__adapt_may_start(q->adapt, e->host)))
      break;
    prev = e;
    e = e->next;
  }
  if (e == NULL || looked == q->lookahead)
    return NULL;
  if (q->interval_ms > 0) {
    if ((double)now_ms < q->next_ms) {
      *wake_ms = (uint64_t)q->next_ms + 1; /* the whole ms after next_ms */
      return NULL;
    }
    if (q->next_ms < (double)now_ms)
      q->next_ms = (double)now_ms;
    q->next_ms += q->interval_ms;
  }
  if (q->max_per_host > 0)
    host_add(q, e->host);
  unlink_after(q, prev, e);
  return e;
}

void uvfetch__sched_finished(struct sched *q, const struct sched_entry *e) {
  if (q->max_per_host > 0)
    host_remove(q, e->host);
}

/* ---- the retry heap: a binary min-heap on (due_ms, ordinal) ------------- */

static int heap_less(const struct sched_entry *a, const struct sched_entry *b) {
  if (a->due_ms != b->due_ms)
    return a->due_ms < b->due_ms;
  return a->ordinal < b->ordinal;
}

static void heap_set(struct sched *q, size_t i, struct sched_entry *e) {
  q->heap[i] = e;
  e->heap_index = i;
}

static void heap_up(struct sched *q, size_t i) {
  struct sched_entry *e = q->heap[i];
  size_t parent;

  while (i > 0) {
    parent = (i - 1) / 2;
    if (!heap_less(e, q->heap[parent]))
      break;
    heap_set(q, i, q->heap[parent]);
    i = parent;
  }
  heap_set(q, i, e);
}

static void heap_down(struct sched *q, size_t i) {
  struct sched_entry *e = q->heap[i];
  size_t child;

  for (;;) {
    child = 2 * i + 1;
    if (child >= q->nheap)
      break;
    if (child + 1 < q->nheap && heap_less(q->heap[child + 1], q->heap[child]))
      child++;
    if (!heap_less(q->heap[child], e))
      break;
    heap_set(q, i, q->heap[child]);
    i = child;
  }
  heap_set(q, i, e);
}

static void heap_remove(struct sched *q, size_t i) {
  struct sched_entry *last = q->heap[--q->nheap];

  if (i == q->nheap)
    return;
  heap_set(q, i, last);
  heap_down(q, i);
  heap_up(q, last->heap_index);
}

int uvfetch__sched_defer(struct sched *q, struct sched_entry *e,
                         uint64_t due_ms) {
  struct sched_entry **grown;
  size_t n;

  if (q->nheap == q->capheap) {
    n = q->capheap ? 2 * q->capheap : 16;
    grown = realloc(q->heap, n * sizeof(*grown));
    if (grown == NULL)
      return -1;
    q->heap = grown;
    q->capheap = n;
  }
  e->due_ms = due_ms;
  e->next = NULL;
  heap_set(q, q->nheap++, e);
  heap_up(q, q->nheap - 1);
  return 0;
}

uint64_t uvfetch__sched_next_due(const struct sched *q) {
  return q->nheap > 0 ? q->heap[0]->due_ms : UINT64_MAX;
}

size_t uvfetch__sched_release_due(struct sched *q, uint64_t now_ms) {
  struct sched_entry *e;
  size_t moved = 0;

  while (q->nheap > 0 && q->heap[0]->due_ms <= now_ms) {
    e = q->heap[0];
    heap_remove(q, 0);
    insert_ordered(q, e);
    moved++;
  }
  return moved;
}

struct sched_entry *uvfetch__sched_undefer(struct sched *q, uint64_t ordinal) {
  struct sched_entry *e;
  size_t i;

  if (q->nheap == 0)
    return NULL;
  if (ordinal == UINT64_MAX) {
    e = q->heap[q->nheap - 1];
    heap_remove(q, q->nheap - 1);
    return e;
  }
  for (i = 0; i < q->nheap; i++) {
    if (q->heap[i]->ordinal == ordinal) {
      e = q->heap[i];
      heap_remove(q, i);
      return e;
    }
  }
  return NULL;
}
