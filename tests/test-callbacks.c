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

#include "support.h"
#include "uvfetch.h"

/* ---- fixture: a loop, a server, and a copy of every result ------------- */

#define RUN_LIMIT_MS 60000

typedef struct rec {
  uintptr_t tag; /* the data pointer given to uvfetch_add_ex */
  uint64_t ordinal;
  int ok;
  int error;
  int curl_code;
  long http_code;
  int http_version;
  long redirects;
  uint64_t bytes;
  uint64_t wire_bytes;
  unsigned attempts;
  char url[256];
  char effective_url[256];
  char message[256];
  int inside;            /* fx->inside when the callback ran */
  uvfetch_stats_t stats; /* the fetcher's counts during the callback */
} rec_t;

typedef struct fixture {
  uv_loop_t loop;
  uv_timer_t watchdog;
  int expired;
  int loop_closed;
  test_server_t server;
  uvfetch_t *f;
  rec_t *recs;
  size_t nrecs;
  size_t cap;
  int close_calls;
  size_t recs_at_close; /* results seen when the close callback ran */
  int inside;           /* set by a test around a call it is inside of */
  /* Runs after each result is recorded, so a test can act from inside. */
  void (*hook)(struct fixture *fx, const uvfetch_result_t *r);
  uint64_t ordinal; /* for the hooks' use */
  int err[4];       /* for the hooks' use */
} fixture_t;

/* The result is valid only during the callback: copy it. */
static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  fixture_t *fx = uvfetch_get_data(f);
  rec_t *rec;

  if (fx->nrecs == fx->cap) {
    fx->cap = fx->cap ? 2 * fx->cap : 64;
    fx->recs = realloc(fx->recs, fx->cap * sizeof(*fx->recs));
    if (fx->recs == NULL)
      abort();
  }
  rec = &fx->recs[fx->nrecs++];
  rec->tag = (uintptr_t)r->data;
  rec->ordinal = r->ordinal;
  rec->ok = r->ok;
  rec->error = r->error;
  rec->curl_code = r->curl_code;
  rec->http_code = r->http_code;
  rec->http_version = r->http_version;
  rec->redirects = r->redirects;
  rec->bytes = r->bytes;
  rec->wire_bytes = r->wire_bytes;
  rec->attempts = r->attempts;
  snprintf(rec->url, sizeof(rec->url), "%s", r->url);
  snprintf(rec->effective_url, sizeof(rec->effective_url), "%s",
           r->effective_url);
  snprintf(rec->message, sizeof(rec->message), "%s", r->message);
  rec->inside = fx->inside;
  uvfetch_get_stats(f, &rec->stats);
  if (fx->hook != NULL)
    fx->hook(fx, r);
}

static void on_closed(uvfetch_t *f) {
  fixture_t *fx = uvfetch_get_data(f);

  fx->close_calls++;
  fx->recs_at_close = fx->nrecs;
}

/* A run that outlasts the limit stops the loop instead of hanging the
 * test; the timer is unreferenced, so it never keeps the loop alive. */
static void on_watchdog(uv_timer_t *t) {
  fixture_t *fx = t->data;

  fx->expired = 1;
  uv_stop(&fx->loop);
}

static int setup(void **state) {
  fixture_t *fx = calloc(1, sizeof(*fx));

  if (fx == NULL)
    return -1;
  if (uv_loop_init(&fx->loop) != 0)
    return -1;
  uv_timer_init(&fx->loop, &fx->watchdog);
  fx->watchdog.data = fx;
  uv_unref((uv_handle_t *)&fx->watchdog);
  if (test_server_start(&fx->server) != 0)
    return -1;
  *state = fx;
  return 0;
}

/* After a failed test, release what it left behind, so that the next test
 * and the leak checkers see only their own: close the fetcher, give the
 * loop a few seconds to let go, and abandon it if it will not. */
static void fx_abandon(fixture_t *fx) {
  uint64_t deadline = uv_hrtime() + 5000 * (uint64_t)1000000;

  if (fx->f != NULL && fx->close_calls == 0)
    uvfetch_close(fx->f, on_closed);
  if (!uv_is_closing((uv_handle_t *)&fx->watchdog))
    uv_close((uv_handle_t *)&fx->watchdog, NULL);
  while (uv_run(&fx->loop, UV_RUN_NOWAIT) != 0 && uv_hrtime() < deadline)
    uv_sleep(1);
  uv_loop_close(&fx->loop);
}

static int teardown(void **state) {
  fixture_t *fx = *state;

  if (!fx->loop_closed)
    fx_abandon(fx);
  test_server_stop(&fx->server);
  free(fx->recs);
  free(fx);
  return 0;
}

static void fx_open(fixture_t *fx, uvfetch_options_t *opt) {
  opt->data = fx;
  assert_int_equal(uvfetch_init(&fx->loop, &fx->f, opt, on_done), 0);
}

/* Adds the server's URL for the formatted path; returns its ordinal. */
static uint64_t fx_add(fixture_t *fx, uintptr_t tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static uint64_t fx_add(fixture_t *fx, uintptr_t tag, const char *fmt, ...) {
  va_list ap;
  char path[512];
  char *url;
  uint64_t ordinal = UINT64_MAX;

  va_start(ap, fmt);
  vsnprintf(path, sizeof(path), fmt, ap);
  va_end(ap);
  url = test_url(&fx->server, "%s", path);
  assert_non_null(url);
  assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)tag, 0, &ordinal), 0);
  free(url);
  return ordinal;
}

static void fx_run(fixture_t *fx) {
  uv_timer_start(&fx->watchdog, on_watchdog, RUN_LIMIT_MS, 0);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&fx->watchdog);
  assert_false(fx->expired);
}

/* Close the fetcher, let the loop run its close callback, and prove that
 * nothing of the library is left on the loop. */
static void fx_finish(fixture_t *fx) {
  assert_int_equal(uvfetch_close(fx->f, on_closed), 0);
  fx_run(fx);
  assert_int_equal(fx->close_calls, 1);
  uv_close((uv_handle_t *)&fx->watchdog, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  fx->loop_closed = 1;
}

/* The one result whose tag is `tag`. */
static const rec_t *fx_rec(const fixture_t *fx, uintptr_t tag) {
  const rec_t *found = NULL;
  size_t i;

  for (i = 0; i < fx->nrecs; i++) {
    if (fx->recs[i].tag != tag)
      continue;
    assert_null(found);
    found = &fx->recs[i];
  }
  assert_non_null(found);
  return found;
}

/* ---- the tests --------------------------------------------------------- */
/* For a test that closed the fetcher itself: run until the close callback
 * has run, then prove the loop is clean. */
static void fx_finish_closed(fixture_t *fx) {
  fx_run(fx);
  assert_int_equal(fx->close_calls, 1);
  uv_close((uv_handle_t *)&fx->watchdog, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  fx->loop_closed = 1;
}

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
  /* Ordered, it is still queued (it completes in its turn); unordered,
   * it is gone. */
  assert_int_equal(fx->err[1], ordered ? 0 : UVFETCH_ENOTFOUND);
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
    fx->err[0] = uvfetch_close(fx->f, on_closed);
    fx->inside = 0;
    fx->err[1] = uvfetch_close(fx->f, on_closed);
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
  fx->err[0] = uvfetch_close(fx->f, on_closed);
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
  assert_int_equal(uvfetch_close(fx->f, on_closed), 0);
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
  assert_int_equal(uvfetch_close(fx->f, on_closed), UVFETCH_ECLOSING);
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
  assert_int_equal(uvfetch_close(first, on_closed), 0);
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
      cmocka_unit_test_setup_teardown(test_add_from_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_queued, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_queued_ordered, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cancel_running, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_from_callback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_close_from_callback_ordered, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_close_from_timer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_calls_after_close, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idle_fetcher_releases_loop, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_two_fetchers_one_loop, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cancel_unknown, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
