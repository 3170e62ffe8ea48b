/* Callbacks: from inside a completion callback (or a timer) the caller may
 * add, cancel and close; every URL still gets exactly one result; and an
 * idle fetcher does not keep the loop running.
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

static uint64_t ms_since(uint64_t start_ns) {
  return (uv_hrtime() - start_ns) / 1000000;
}

/* Each result adds the next URL, until 20 are done. */
static void chain_hook(fixture_t *fx, const uvfetch_result_t *r) {
  uint64_t ordinal = UINT64_MAX;
  size_t n = fx->nrecs;
  char *url;

  if (n >= 20)
    return;
  url = test_url(&fx->server, "/size/%zu", n);
  fx->inside = 1;
  if (uvfetch_add_ex(fx->f, url, (void *)n, 0, &ordinal) != 0)
    fx->err[0]++;
  fx->inside = 0;
  if (ordinal != n)
    fx->err[1]++;
  free(url);
}

static void test_add_from_callback(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx->hook = chain_hook;
  fx_add(fx, 0, "/size/0");
  fx_run(fx);

  assert_int_equal(fx->err[0], 0);
  assert_int_equal(fx->err[1], 0);
  assert_int_equal(fx->nrecs, 20);
  for (i = 0; i < 20; i++) {
    assert_int_equal(fx->recs[i].ordinal, i);
    assert_int_equal(fx->recs[i].tag, i);
    assert_int_equal(fx->recs[i].ok, 1);
    assert_int_equal(fx->recs[i].bytes, i);
    /* uvfetch_add never calls back from inside itself. */
    assert_int_equal(fx->recs[i].inside, 0);
  }
  /* Completed transfers are gone: nothing to cancel. */
  assert_int_equal(uvfetch_cancel(fx->f, 0), UVFETCH_ENOTFOUND);
  assert_int_equal(uvfetch_cancel(fx->f, 19), UVFETCH_ENOTFOUND);
  fx_finish(fx);
}

/* The first result cancels URL 2, still queued behind URL 1. */
static void cancel_queued_hook(fixture_t *fx, const uvfetch_result_t *r) {
  if (r->ordinal != 0)
    return;
  fx->inside = 1;
  fx->err[0] = uvfetch_cancel(fx->f, 2);
  fx->inside = 0;
  fx->err[1] = uvfetch_cancel(fx->f, 2);
}

static void run_cancel_queued(fixture_t *fx, int ordered) {
  uvfetch_options_t opt;
  long requests = -1;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 1;
  opt.ordered = ordered;
  fx_open(fx, &opt);
  fx->hook = cancel_queued_hook;
  assert_int_equal(test_server_reset(&fx->server), 0);
  for (i = 0; i < 4; i++)
    fx_add(fx, i, "/size/%zu", 10 + i);
  fx_run(fx);

  assert_int_equal(fx->err[0], 0);
  /* Cancelled is completed, in both modes: ordered, it is held for its
   * turn and cannot be cancelled twice. */
  assert_int_equal(fx->err[1], UVFETCH_ENOTFOUND);
  assert_int_equal(fx->nrecs, 4);
  for (i = 0; i < 4; i++) {
    r = fx_rec(fx, i);
    if (i == 2) {
      assert_int_equal(r->ok, 0);
      assert_int_equal(r->error, UVFETCH_ECANCELED);
      assert_true(strlen(r->message) > 0);
      assert_int_equal(r->http_code, 0);
      assert_int_equal(r->bytes, 0);
      /* Unordered, its callback runs before uvfetch_cancel returns. */
      assert_int_equal(r->inside, !ordered);
    } else {
      assert_int_equal(r->ok, 1);
      assert_int_equal(r->bytes, 10 + i);
    }
  }
  if (ordered) {
    for (i = 0; i < 4; i++)
      assert_int_equal(fx->recs[i].ordinal, i);
  } else {
    assert_int_equal(fx->recs[0].ordinal, 0);
    assert_int_equal(fx->recs[1].ordinal, 2);
  }
  /* URL 2 never reached the server. */
  assert_int_equal(test_server_stats(&fx->server, &requests, NULL, NULL), 0);
  assert_int_equal(requests, 3);
  fx_finish(fx);
}

static void test_cancel_queued(void **state) {
  run_cancel_queued(*state, 0);
}

static void test_cancel_queued_ordered(void **state) {
  run_cancel_queued(*state, 1);
}

/* A timer cancels a slow running transfer, then adds a URL that reuses its
 * slot. */
static void on_cancel_timer(uv_timer_t *t) {
  fixture_t *fx = t->data;
  char *url = test_url(&fx->server, "/size/7");

  fx->inside = 1;
  fx->err[0] = uvfetch_cancel(fx->f, fx->ordinal);
  fx->inside = 0;
  fx->err[1] = uvfetch_add_ex(fx->f, url, (void *)2, 0, NULL);
  free(url);
}

static void test_cancel_running(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uv_timer_t timer;
  uint64_t start;
  const rec_t *r;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 1;
  fx_open(fx, &opt);
  fx->ordinal = fx_add(fx, 0, "/size/10?delay=30000");
  assert_int_equal(uv_timer_init(&fx->loop, &timer), 0);
  timer.data = fx;
  assert_int_equal(uv_timer_start(&timer, on_cancel_timer, 300, 0), 0);
  start = uv_hrtime();
  fx_run(fx);

  /* Well under the 30 s the server would have taken. */
  assert_true(ms_since(start) < 15000);
  assert_int_equal(fx->err[0], 0);
  assert_int_equal(fx->err[1], 0);
  assert_int_equal(fx->nrecs, 2);
  r = &fx->recs[0];
  assert_int_equal(r->tag, 0);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_ECANCELED);
  assert_true(strlen(r->message) > 0);
  assert_int_equal(r->bytes, 0);
  assert_int_equal(r->inside, 1);
  r = &fx->recs[1];
  assert_int_equal(r->tag, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->bytes, 7);
  assert_int_equal(uvfetch_cancel(fx->f, fx->ordinal), UVFETCH_ENOTFOUND);
  uv_close((uv_handle_t *)&timer, NULL);
  fx_finish(fx);
}

/* The first result closes the fetcher while one URL runs and eight wait. */
static void close_hook(fixture_t *fx, const uvfetch_result_t *r) {
  char *url;

  if ((uintptr_t)r->data == 0) {
    fx->inside = 1;
    fx->err[0] = uvfetch_close(fx->f, fx_on_closed);
    fx->inside = 0;
    fx->err[1] = uvfetch_close(fx->f, fx_on_closed);
    /* The close callback waits for a later turn of the loop. */
    fx->err[2] = fx->close_calls;
    return;
  }
  /* Every cancelled one finds the fetcher closing. */
  url = test_url(&fx->server, "/size/1");
  if (uvfetch_add(fx->f, url, NULL) != UVFETCH_ECLOSING)
    fx->err[3]++;
  free(url);
}

static void run_close_from_callback(fixture_t *fx, int ordered) {
  uvfetch_options_t opt;
  uint64_t start;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = ordered ? 3 : 2;
  opt.ordered = ordered;
  fx_open(fx, &opt);
  fx->hook = close_hook;
  if (ordered) {
    /* URL 2 finishes long before URL 0 and waits, held, for its turn. */
    fx_add(fx, 0, "/size/1?delay=1000");
    fx_add(fx, 1, "/size/1?delay=30000");
    fx_add(fx, 2, "/size/2");
  } else {
    fx_add(fx, 0, "/size/1");
    fx_add(fx, 1, "/size/1?delay=30000");
    fx_add(fx, 2, "/size/2?delay=30000");
  }
  for (i = 3; i < 10; i++)
    fx_add(fx, i, "/size/%zu?delay=30000", i);
  start = uv_hrtime();
  fx_finish_closed(fx);

  /* Nobody waited for the 30 s delays. */
  assert_true(ms_since(start) < 15000);
  assert_int_equal(fx->err[0], 0);
  assert_int_equal(fx->err[1], UVFETCH_ECLOSING);
  assert_int_equal(fx->err[2], 0);
  assert_int_equal(fx->err[3], 0);
  assert_int_equal(fx->nrecs, 10);
  assert_int_equal(fx->recs_at_close, 10);
  for (i = 0; i < 10; i++) {
    r = fx_rec(fx, i);
    if (i == 0 || (ordered && i == 2)) {
      /* Finished before the close: delivered as it is. */
      assert_int_equal(r->ok, 1);
      assert_int_equal(r->bytes, i == 0 ? 1 : 2);
      continue;
    }
    assert_int_equal(r->ok, 0);
    assert_int_equal(r->error, UVFETCH_ECANCELED);
    /* All of them before uvfetch_close returned. */
    assert_int_equal(r->inside, 1);
  }
  if (ordered) {
    for (i = 0; i < 10; i++)
      assert_int_equal(fx->recs[i].tag, i);
  }
}

static void test_close_from_callback(void **state) {
  run_close_from_callback(*state, 0);
}

static void test_close_from_callback_ordered(void **state) {
  run_close_from_callback(*state, 1);
}

static void on_close_timer(uv_timer_t *t) {
  fixture_t *fx = t->data;

  fx->inside = 1;
  fx->err[0] = uvfetch_close(fx->f, fx_on_closed);
  fx->inside = 0;
  fx->err[1] = fx->close_calls;
  uv_close((uv_handle_t *)t, NULL);
}

/* Closed from a timer, outside any result: the same guarantees. */
static void test_close_from_timer(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uv_timer_t timer;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 2;
  fx_open(fx, &opt);
  for (i = 0; i < 5; i++)
    fx_add(fx, i, "/size/%zu?delay=30000", i);
  assert_int_equal(uv_timer_init(&fx->loop, &timer), 0);
  timer.data = fx;
  assert_int_equal(uv_timer_start(&timer, on_close_timer, 200, 0), 0);
  fx_finish_closed(fx);

  assert_int_equal(fx->err[0], 0);
  assert_int_equal(fx->err[1], 0);
  assert_int_equal(fx->nrecs, 5);
  assert_int_equal(fx->recs_at_close, 5);
  for (i = 0; i < 5; i++) {
    assert_int_equal(fx_rec(fx, i)->error, UVFETCH_ECANCELED);
    assert_int_equal(fx_rec(fx, i)->inside, 1);
  }
}

/* After uvfetch_close nothing more is accepted, and a second close is
 * refused; what was queued still gets its one result. */
static void test_calls_after_close(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uint64_t ordinal = 99;
  char *url;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_add(fx, 0, "/size/1");
  url = test_url(&fx->server, "/size/2");
  fx->inside = 1;
  assert_int_equal(uvfetch_close(fx->f, fx_on_closed), 0);
  fx->inside = 0;
  assert_int_equal(fx->close_calls, 0);
  assert_int_equal(fx->nrecs, 1);
  assert_int_equal(fx->recs[0].error, UVFETCH_ECANCELED);
  assert_int_equal(fx->recs[0].inside, 1);
  assert_int_equal(uvfetch_add(fx->f, url, (void *)1), UVFETCH_ECLOSING);
  assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)1, 0, &ordinal),
                   UVFETCH_ECLOSING);
  assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)1,
                                  UVFETCH_ADD_REPORT_INVALID, &ordinal),
                   UVFETCH_ECLOSING);
  assert_int_equal(ordinal, 99);
  assert_int_equal(uvfetch_close(fx->f, fx_on_closed), UVFETCH_ECLOSING);
  assert_int_equal(uvfetch_close(fx->f, NULL), UVFETCH_ECLOSING);
  free(url);
  fx_finish_closed(fx);
  assert_int_equal(fx->nrecs, 1);
}

/* An idle fetcher holds no active handle: uv_run returns by itself, before
 * any URL, after the first batch, and after a second batch that reuses the
 * kept-alive connection. */
static void test_idle_fetcher_releases_loop(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 0);
  assert_int_equal(uv_loop_alive(&fx->loop), 0);

  for (i = 0; i < 3; i++)
    fx_add(fx, i, "/size/%zu?delay=50", 100 + i);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 3);
  assert_int_equal(uv_loop_alive(&fx->loop), 0);

  for (i = 3; i < 6; i++)
    fx_add(fx, i, "/size/%zu", 100 + i);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 6);
  assert_int_equal(uv_loop_alive(&fx->loop), 0);
  for (i = 0; i < 6; i++) {
    assert_int_equal(fx_rec(fx, i)->ok, 1);
    assert_int_equal(fx_rec(fx, i)->bytes, 100 + i);
  }
  fx_finish(fx);
}

/* Two fetchers on one loop keep to themselves, and close independently. */
static void test_two_fetchers_one_loop(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_t *first;
  uvfetch_t *second;
  uvfetch_stats_t st;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  first = fx->f;
  for (i = 0; i < 5; i++)
    fx_add(fx, i, "/size/%zu", i);
  fx_open(fx, &opt);
  second = fx->f;
  for (i = 5; i < 8; i++)
    fx_add(fx, i, "/size/%zu", i);
  fx_run(fx);

  assert_int_equal(fx->nrecs, 8);
  for (i = 0; i < 8; i++)
    assert_int_equal(fx_rec(fx, i)->bytes, i);
  uvfetch_get_stats(first, &st);
  assert_int_equal(st.done, 5);
  uvfetch_get_stats(second, &st);
  assert_int_equal(st.done, 3);

  /* Close the first while the second keeps working. */
  assert_int_equal(uvfetch_close(first, fx_on_closed), 0);
  fx_run(fx);
  assert_int_equal(fx->close_calls, 1);
  fx_add(fx, 8, "/size/8");
  fx_run(fx);
  assert_int_equal(fx->nrecs, 9);
  assert_int_equal(fx_rec(fx, 8)->bytes, 8);
  assert_int_equal(fx_rec(fx, 8)->ordinal, 3);
  fx->close_calls = 0;
  fx_finish(fx);
}

static void test_cancel_unknown(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  assert_int_equal(uvfetch_cancel(fx->f, 0), UVFETCH_ENOTFOUND);
  fx_add(fx, 0, "/size/5");
  assert_int_equal(uvfetch_cancel(fx->f, 1), UVFETCH_ENOTFOUND);
  assert_int_equal(uvfetch_cancel(fx->f, 12345), UVFETCH_ENOTFOUND);
  assert_int_equal(uvfetch_cancel(fx->f, UINT64_MAX), UVFETCH_ENOTFOUND);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 1);
  assert_int_equal(fx->recs[0].ok, 1);
  assert_int_equal(fx->recs[0].bytes, 5);
  assert_int_equal(uvfetch_cancel(fx->f, 0), UVFETCH_ENOTFOUND);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_add_from_callback, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_queued, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_queued_ordered, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_running, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_close_from_callback, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_close_from_callback_ordered,
                                      fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_close_from_timer, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_calls_after_close, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_idle_fetcher_releases_loop, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_two_fetchers_one_loop, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_unknown, fx_setup,
                                      fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
