/* Concurrency: the cap is exact, results arrive as transfers finish (or in
 * input order when ordered), the ordering window bounds what is held, and
 * the stats add up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "support.h"
#include "uvfetch.h"

/* 40 URLs that each take 200 ms, at most 5 at once: the server sees 5 in
 * flight at its peak, never 6, and answers every one. */
static void test_cap_is_exact(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  long requests = -1;
  long active = -1;
  long peak = -1;
  uint64_t max_running = 0;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 5;
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  for (i = 0; i < 40; i++)
    assert_int_equal(fx_add(fx, i, "/size/%zu?delay=200", 100 + i), i);
  fx_run(fx);

  fx_assert_each_ordinal_once(fx, 40);
  for (i = 0; i < fx->nrecs; i++) {
    assert_int_equal(fx->recs[i].ok, 1);
    assert_int_equal(fx->recs[i].tag, fx->recs[i].ordinal);
    assert_int_equal(fx->recs[i].bytes, 100 + fx->recs[i].tag);
    /* The server waited 200 ms before answering: a floor no load can
     * lower. */
    assert_true(fx->recs[i].ttfb >= 0.19);
    assert_true(fx->recs[i].total_time >= fx->recs[i].ttfb);
    if (fx->recs[i].stats.running > max_running)
      max_running = fx->recs[i].stats.running;
  }
  assert_true(max_running <= 5);
  assert_int_equal(test_server_stats(&fx->server, &requests, &active, &peak),
                   0);
  assert_int_equal(requests, 40);
  assert_int_equal(active, 0);
  assert_int_equal(peak, 5);
  fx_finish(fx);
}

/* Past 128 slots the slots are dealt among several connection caches.
 * 300 at once, 1,200 URLs of 20 ms each: the cap holds, every URL comes
 * back once with its own bytes, and each slot keeps reusing a connection
 * of its own cache, so the server sees no more connections than slots
 * (and two more, for the two questions). The loop then closes with
 * nothing left. */
static void test_many_slots_reuse_connections(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  long requests = -1;
  long active = -1;
  long peak = -1;
  long connections = -1;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 300;
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  for (i = 0; i < 1200; i++)
    fx_add(fx, i, "/size/%zu?delay=20", i);
  fx_run(fx);

  assert_int_equal(fx->nrecs, 1200);
  fx_assert_each_ordinal_once(fx, 1200);
  for (i = 0; i < 1200; i++) {
    assert_int_equal(fx_rec(fx, i)->ok, 1);
    assert_int_equal(fx_rec(fx, i)->bytes, i);
  }
  assert_int_equal(test_server_stats(&fx->server, &requests, &active, &peak),
                   0);
  assert_int_equal(requests, 1200);
  assert_true(peak <= 300);
  assert_int_equal(test_server_connections(&fx->server, &connections), 0);
  assert_true(connections >= 3);
  assert_true(connections <= 302);
  fx_finish(fx);
}

/* Unordered: a fast URL added second beats a slow one added first, on a
 * fresh fetcher: the second must not wait for the first one's response. */
static void test_completion_order(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;

  uvfetch_options_init(&opt);
  assert_int_equal(opt.ordered, 0);
  fx_open(fx, &opt);
  fx_add(fx, 0, "/size/10?delay=800");
  fx_add(fx, 1, "/size/20?delay=0");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx->recs[0].ordinal, 1);
  assert_int_equal(fx->recs[0].bytes, 20);
  assert_int_equal(fx->recs[1].ordinal, 0);
  assert_int_equal(fx->recs[1].bytes, 10);
  fx_finish(fx);
}

/* A slow URL at the head of every group of six, fast ones after it. */
static unsigned ordered_delay(size_t i) {
  if (i % 6 == 0)
    return 500;
  return (unsigned)(i % 3) * 40;
}

/* Ordered: callbacks come in ordinal order whatever the delays, while the
 * fetcher holds at most `window` results and runs at most max_concurrent. */
static void run_ordered(fixture_t *fx, unsigned max_concurrent, unsigned window,
                        unsigned effective_window) {
  uvfetch_options_t opt;
  uint64_t max_held = 0;
  const rec_t *r;
  size_t n = 30;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = max_concurrent;
  opt.ordered = 1;
  opt.order_window = window;
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  for (i = 0; i < n; i++)
    fx_add(fx, i, "/size/%zu?delay=%u", i, ordered_delay(i));
  fx_run(fx);

  assert_int_equal(fx->nrecs, n);
  for (i = 0; i < n; i++) {
    r = &fx->recs[i];
    assert_int_equal(r->ordinal, i);
    assert_int_equal(r->tag, i);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->bytes, i);
    assert_true(r->stats.running <= max_concurrent);
    assert_true(r->stats.held <= effective_window);
    assert_true(r->stats.held + r->stats.running <= effective_window);
    assert_int_equal(r->stats.done, i + 1);
    if (r->stats.held > max_held)
      max_held = r->stats.held;
  }
  /* URL 1 finishes 500 ms before URL 0: something was held. */
  assert_true(max_held > 0);
  fx_finish(fx);
}

static void test_ordered_default_window(void **state) {
  run_ordered(*state, 4, 0, 8);
}

static void test_ordered_tight_window(void **state) {
  run_ordered(*state, 3, 3, 3);
}

static void test_ordered_wide_window(void **state) {
  run_ordered(*state, 3, 10, 10);
}

/* Ordered: failures of every kind take their turn like successes. */
static void test_ordered_with_failures(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  char url[64];
  size_t i;
  int port = test_closed_port();

  assert_true(port > 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
  uvfetch_options_init(&opt);
  opt.max_concurrent = 4;
  opt.ordered = 1;
  fx_open(fx, &opt);
  fx_add(fx, 0, "/size/1?delay=800");
  assert_int_equal(uvfetch_add_ex(fx->f, "ftp://127.0.0.1/", (void *)1,
                                  UVFETCH_ADD_REPORT_INVALID, NULL),
                   0);
  assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)2, 0, NULL), 0);
  fx_add(fx, 3, "/status/500");
  assert_int_equal(uvfetch_add_ex(fx->f, "http://", (void *)4,
                                  UVFETCH_ADD_REPORT_INVALID, NULL),
                   0);
  fx_add(fx, 5, "/size/5?delay=300");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 6);
  for (i = 0; i < 6; i++) {
    assert_int_equal(fx->recs[i].ordinal, i);
    assert_int_equal(fx->recs[i].tag, i);
  }
  assert_int_equal(fx->recs[0].ok, 1);
  assert_int_equal(fx->recs[1].error, UVFETCH_ESCHEME);
  assert_int_equal(fx->recs[2].error, UVFETCH_ECONNECT);
  assert_int_equal(fx->recs[3].ok, 1);
  assert_int_equal(fx->recs[3].http_code, 500);
  assert_int_equal(fx->recs[4].error, UVFETCH_EURL);
  assert_int_equal(fx->recs[5].ok, 1);
  assert_int_equal(fx->recs[5].bytes, 5);
  assert_int_equal(fx->recs[5].stats.failed, 3);
  fx_finish(fx);
}

/* In ordered mode the window also caps what is started: with a slow URL
 * at the head, only the window's worth past it may run and wait. */
static void test_ordered_window_limits_requests(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  long requests = -1;
  long peak = -1;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 4;
  opt.ordered = 1;
  opt.order_window = 6;
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  /* Ordinal 0 blocks delivery for 1.5 s; 1..5 are quick. Until 0 is
   * delivered, only ordinals below 0 + 6 may start. */
  fx_add(fx, 0, "/size/1?delay=1500");
  for (i = 1; i < 20; i++)
    fx_add(fx, i, "/size/1");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 20);
  for (i = 0; i < 20; i++) {
    assert_int_equal(fx->recs[i].ordinal, i);
    assert_int_equal(fx->recs[i].tag, i);
    assert_int_equal(fx->recs[i].ok, 1);
  }
  /* When the slow one is delivered, exactly the five after it are done and
   * held, and nothing else was started. */
  assert_int_equal(fx->recs[0].stats.held, 5);
  assert_int_equal(fx->recs[0].stats.running, 0);
  assert_int_equal(fx->recs[0].stats.queued, 14);
  assert_int_equal(test_server_stats(&fx->server, &requests, NULL, &peak), 0);
  assert_int_equal(requests, 20);
  assert_true(peak <= 4);
  fx_finish(fx);
}

/* added, done and failed agree with what the callbacks saw, and nothing is
 * left queued, running or held. */
static void test_stats_add_up(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_stats_t st;
  char url[64];
  size_t failed = 0;
  size_t i;
  int port = test_closed_port();

  assert_true(port > 0);
  uvfetch_options_init(&opt);
  opt.max_concurrent = 3;
  fx_open(fx, &opt);
  uvfetch_get_stats(fx->f, &st);
  assert_int_equal(st.added, 0);
  assert_int_equal(st.done, 0);

  for (i = 0; i < 12; i++)
    fx_add(fx, i, "/size/%zu", i);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
  for (i = 12; i < 15; i++)
    assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)i, 0, NULL), 0);
  assert_int_equal(uvfetch_add_ex(fx->f, "nonsense", (void *)15,
                                  UVFETCH_ADD_REPORT_INVALID, NULL),
                   0);
  assert_int_equal(uvfetch_add(fx->f, "nonsense", (void *)16), UVFETCH_EURL);

  /* Nothing starts inside uvfetch_add: all of it is queued. */
  uvfetch_get_stats(fx->f, &st);
  assert_int_equal(st.added, 16);
  assert_int_equal(st.queued, 16);
  assert_int_equal(st.running, 0);
  assert_int_equal(st.done, 0);
  fx_run(fx);

  fx_assert_each_ordinal_once(fx, 16);
  for (i = 0; i < fx->nrecs; i++) {
    if (!fx->recs[i].ok)
      failed++;
    assert_int_equal(fx->recs[i].ok, fx->recs[i].tag < 12);
    assert_int_equal(fx->recs[i].stats.done, i + 1);
  }
  uvfetch_get_stats(fx->f, &st);
  assert_int_equal(st.added, 16);
  assert_int_equal(st.done, 16);
  assert_int_equal(st.failed, 4);
  assert_int_equal(failed, 4);
  assert_int_equal(st.queued, 0);
  assert_int_equal(st.running, 0);
  assert_int_equal(st.held, 0);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cap_is_exact, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_many_slots_reuse_connections,
                                      fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_completion_order, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_ordered_default_window, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_ordered_tight_window, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_ordered_wide_window, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_ordered_with_failures, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_ordered_window_limits_requests,
                                      fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_stats_add_up, fx_setup, fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
