/* The scheduler on its own (src/scheduler.c): queue order, the ordered-mode
 * limit, per-host caps with bounded look-ahead, rate spacing, and the retry
 * heap. No loop, no server: times are passed in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scheduler.h"

#define N 4096

static struct sched_entry entries[N];

/* Entries 0..n-1 with ordinals 0..n-1 and the given hosts (or host 1). */
static void make(struct sched *q, size_t n, const uint64_t *hosts) {
  size_t i;

  memset(entries, 0, sizeof(entries));
  for (i = 0; i < n; i++) {
    entries[i].ordinal = i;
    entries[i].host = hosts ? hosts[i] : 1;
    uvfetch__sched_push(q, &entries[i]);
  }
}

static struct sched_entry *next(struct sched *q, uint64_t now) {
  uint64_t wake = UINT64_MAX;

  return uvfetch__sched_next(q, UINT64_MAX, 1, now, &wake);
}

static void test_fifo_and_limit(void **state) {
  struct sched q;
  uint64_t wake = UINT64_MAX;
  size_t i;

  assert_int_equal(uvfetch__sched_init(&q, 10, 0, 0), 0);
  make(&q, 5, NULL);
  assert_int_equal(q.queued, 5);
  /* Past the limit nothing starts; without a slot, nothing either. */
  assert_null(uvfetch__sched_next(&q, 0, 1, 0, &wake));
  assert_null(uvfetch__sched_next(&q, 5, 0, 0, &wake));
  assert_int_equal(wake, UINT64_MAX);
  for (i = 0; i < 5; i++)
    assert_ptr_equal(uvfetch__sched_next(&q, 5, 1, 0, &wake), &entries[i]);
  assert_null(next(&q, 0));
  assert_int_equal(q.queued, 0);
  uvfetch__sched_free(&q);
}

static void test_ready_needs_no_slot(void **state) {
  struct sched q;
  uint64_t wake = UINT64_MAX;

  assert_int_equal(uvfetch__sched_init(&q, 10, 0, 0), 0);
  make(&q, 3, NULL);
  entries[0].ready = 1;
  assert_ptr_equal(uvfetch__sched_next(&q, 3, 0, 0, &wake), &entries[0]);
  assert_null(uvfetch__sched_next(&q, 3, 0, 0, &wake));
  uvfetch__sched_free(&q);
}

static void test_take_find_shift(void **state) {
  struct sched q;

  assert_int_equal(uvfetch__sched_init(&q, 10, 0, 0), 0);
  make(&q, 4, NULL);
  assert_ptr_equal(uvfetch__sched_find(&q, 2), &entries[2]);
  assert_int_equal(q.queued, 4);
  assert_ptr_equal(uvfetch__sched_take(&q, 3), &entries[3]);
  assert_null(uvfetch__sched_take(&q, 3));
  assert_null(uvfetch__sched_find(&q, 9));
  assert_ptr_equal(uvfetch__sched_take(&q, 0), &entries[0]);
  assert_ptr_equal(uvfetch__sched_shift(&q), &entries[1]);
  assert_ptr_equal(uvfetch__sched_shift(&q), &entries[2]);
  assert_null(uvfetch__sched_shift(&q));
  assert_null(q.head);
  assert_null(q.tail);
  assert_int_equal(q.queued, 0);
  /* The tail pointer survives taking the last one: pushing works again. */
  make(&q, 2, NULL);
  assert_ptr_equal(uvfetch__sched_take(&q, 1), &entries[1]);
  uvfetch__sched_push(&q, &entries[1]);
  assert_ptr_equal(next(&q, 0), &entries[0]);
  assert_ptr_equal(next(&q, 0), &entries[1]);
  uvfetch__sched_free(&q);
}

static void test_host_cap_looks_past(void **state) {
  static const uint64_t hosts[] = {7, 7, 7, 9, 7};
  struct sched q;

  assert_int_equal(uvfetch__sched_init(&q, 10, 1, 0), 0);
  make(&q, 5, hosts);
  assert_ptr_equal(next(&q, 0), &entries[0]);
  /* Host 7 is at its cap: host 9 goes ahead of the older 7s. */
  assert_ptr_equal(next(&q, 0), &entries[3]);
  assert_null(next(&q, 0));
  uvfetch__sched_finished(&q, &entries[3]);
  assert_null(next(&q, 0));
  uvfetch__sched_finished(&q, &entries[0]);
  assert_ptr_equal(next(&q, 0), &entries[1]);
  assert_int_equal(q.queued, 2);
  uvfetch__sched_free(&q);
}

static void test_host_lookahead_is_bounded(void **state) {
  static uint64_t hosts[N];
  struct sched q;
  size_t i;

  for (i = 0; i < N; i++)
    hosts[i] = 5;
  hosts[N - 1] = 6; /* far past the look-ahead */
  hosts[1000] = 8;  /* within it */
  assert_int_equal(uvfetch__sched_init(&q, 10, 1, 0), 0);
  make(&q, N, hosts);
  assert_ptr_equal(next(&q, 0), &entries[0]);
  assert_ptr_equal(next(&q, 0), &entries[1000]);
  assert_null(next(&q, 0));
  uvfetch__sched_free(&q);
}

/* Random starts and finishes on hosts whose keys all land in the same
 * buckets of the table: the cap must hold against a plain count, through
 * every deletion the table does by shifting. */
static void test_host_table_against_reference(void **state) {
  static uint64_t hosts[N];
  static unsigned running_on[64];
  struct sched_entry *running[N];
  size_t nrunning = 0;
  struct sched q;
  struct sched_entry *e;
  unsigned seed = 12345;
  size_t i;
  size_t k;
  int round;

  for (i = 0; i < N; i++)
    hosts[i] = ((uint64_t)(i % 64) << 32) | 3; /* same low bits */
  memset(running_on, 0, sizeof(running_on));
  assert_int_equal(uvfetch__sched_init(&q, 64, 2, 0), 0);
  make(&q, N, hosts);
  for (round = 0; round < 20000 && (q.queued > 0 || nrunning > 0); round++) {
    seed = seed * 1103515245u + 12345u;
    if ((seed >> 16) % 3 != 0 || nrunning == 0) {
      e = next(&q, 0);
      if (e == NULL) {
        /* Nothing startable: every host in the look-ahead is at its cap. */
        for (e = q.head, k = 0; e != NULL && k < q.lookahead; e = e->next, k++)
          assert_int_equal(running_on[e->host >> 32], 2);
        continue;
      }
      assert_true(running_on[e->host >> 32] < 2);
      running_on[e->host >> 32]++;
      running[nrunning++] = e;
    } else {
      k = (seed >> 8) % nrunning;
      e = running[k];
      running[k] = running[--nrunning];
      running_on[e->host >> 32]--;
      uvfetch__sched_finished(&q, e);
    }
  }
  assert_int_equal(q.queued, 0);
  uvfetch__sched_free(&q);
}

static void test_rate_spacing(void **state) {
  struct sched q;
  uint64_t wake = UINT64_MAX;

  assert_int_equal(uvfetch__sched_init(&q, 10, 0, 10.0), 0);
  make(&q, 4, NULL);
  assert_ptr_equal(uvfetch__sched_next(&q, 4, 1, 1000, &wake), &entries[0]);
  assert_null(uvfetch__sched_next(&q, 4, 1, 1000, &wake));
  assert_int_equal(wake, 1101);
  assert_null(uvfetch__sched_next(&q, 4, 1, 1099, &wake));
  assert_ptr_equal(uvfetch__sched_next(&q, 4, 1, 1100, &wake), &entries[1]);
  /* After a quiet spell, no burst: the next start is spaced again. */
  assert_ptr_equal(uvfetch__sched_next(&q, 4, 1, 5000, &wake), &entries[2]);
  assert_null(uvfetch__sched_next(&q, 4, 1, 5000, &wake));
  assert_ptr_equal(uvfetch__sched_next(&q, 4, 1, 5100, &wake), &entries[3]);
  uvfetch__sched_free(&q);
}

static void test_retry_heap(void **state) {
  struct sched q;
  struct sched_entry *e;
  uint64_t last_ordinal;
  unsigned seed = 99;
  size_t i;
  size_t moved = 0;
  uint64_t now;

  assert_int_equal(uvfetch__sched_init(&q, 10, 0, 0), 0);
  memset(entries, 0, sizeof(entries));
  for (i = 0; i < 1000; i++) {
    entries[i].ordinal = i;
    seed = seed * 1103515245u + 12345u;
    if (i % 3 == 0) {
      uvfetch__sched_push(&q, &entries[i]);
    } else {
      assert_int_equal(
          uvfetch__sched_defer(&q, &entries[i], 100 + (seed >> 16) % 1000), 0);
    }
  }
  assert_int_equal(q.queued, 334);
  assert_int_equal(q.nheap, 666);
  assert_null(uvfetch__sched_undefer(&q, 3)); /* queued, not deferred */
  e = uvfetch__sched_undefer(&q, 500);
  assert_ptr_equal(e, &entries[500]);
  assert_int_equal(q.nheap, 665);
  for (now = 0; now <= 1100; now += 50) {
    moved += uvfetch__sched_release_due(&q, now);
    if (q.nheap > 0)
      assert_true(uvfetch__sched_next_due(&q) > now);
  }
  assert_int_equal(moved, 665);
  assert_int_equal(q.nheap, 0);
  assert_int_equal(uvfetch__sched_next_due(&q), UINT64_MAX);
  /* Back in the queue in ordinal order, mixed with those never deferred. */
  assert_int_equal(q.queued, 999);
  last_ordinal = 0;
  for (i = 0; i < 999; i++) {
    e = next(&q, 0);
    assert_non_null(e);
    assert_true(i == 0 || e->ordinal > last_ordinal);
    assert_int_not_equal(e->ordinal, 500);
    last_ordinal = e->ordinal;
  }
  uvfetch__sched_free(&q);
}

static void test_undefer_drains(void **state) {
  struct sched q;
  size_t i;
  size_t n = 0;

  assert_int_equal(uvfetch__sched_init(&q, 10, 0, 0), 0);
  memset(entries, 0, sizeof(entries));
  for (i = 0; i < 100; i++) {
    entries[i].ordinal = i;
    assert_int_equal(uvfetch__sched_defer(&q, &entries[i], 1000 - i), 0);
  }
  assert_int_equal(uvfetch__sched_next_due(&q), 901);
  while (uvfetch__sched_undefer(&q, UINT64_MAX) != NULL)
    n++;
  assert_int_equal(n, 100);
  assert_int_equal(q.nheap, 0);
  uvfetch__sched_free(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_and_limit),
      cmocka_unit_test(test_ready_needs_no_slot),
      cmocka_unit_test(test_take_find_shift),
      cmocka_unit_test(test_host_cap_looks_past),
      cmocka_unit_test(test_host_lookahead_is_bounded),
      cmocka_unit_test(test_host_table_against_reference),
      cmocka_unit_test(test_rate_spacing),
      cmocka_unit_test(test_retry_heap),
      cmocka_unit_test(test_undefer_drains),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
