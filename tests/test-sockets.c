/* Sockets: a socket libcurl closes behind the engine's back (one that never
 * finished connecting, which libcurl 7.88 closes without
 * CURLOPT_CLOSESOCKETFUNCTION or CURL_POLL_REMOVE) must leave nothing
 * behind: no poll handle on a closed descriptor for libuv to trip over, and
 * none that hides the next socket given the same number.
 *
 * The connects that stay pending come from the test server's slow-accept
 * listeners (test_server_slow_accept), whose full accept queue makes the
 * kernel drop SYNs.
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

/* Queues `url` with its own whole-transfer timeout; returns its ordinal. */
static uint64_t submit_timed(fixture_t *fx, uintptr_t tag, const char *url,
                             long timeout_ms) {
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uint64_t ordinal = UINT64_MAX;

  req.url = url;
  req.data = (void *)tag;
  req.timeout_ms = timeout_ms;
  assert_int_equal(uvfetch_submit(fx->f, &req, &ordinal), 0);
  return ordinal;
}

static char *port_url(int port, const char *path) {
  char *url = malloc(128);

  assert_non_null(url);
  snprintf(url, 128, "http://127.0.0.1:%d%s", port, path);
  return url;
}

/* ---- a timeout while connecting ---------------------------------------- */

/* Transfer A times out while its connect is pending; B, started after it
 * on the one slot, gets A's descriptor number. A poll handle left over
 * from A hides B's socket from the loop, and B times out too (at 8 s, on
 * a server that accepts it after 1.5 s). */
static void test_timeout_while_connecting(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uint64_t start;
  uint64_t elapsed;
  const rec_t *a;
  const rec_t *b;
  char *url;
  int port;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 1;
  fx_open(fx, &opt);
  port = test_server_slow_accept(&fx->server, 1500);
  assert_true(port > 0);
  url = port_url(port, "/size/10");
  start = uv_hrtime();
  submit_timed(fx, 0, url, 300);
  submit_timed(fx, 1, url, 8000);
  free(url);
  fx_run(fx);
  elapsed = ms_since(start);

  assert_int_equal(fx->nrecs, 2);
  a = fx_rec(fx, 0);
  assert_int_equal(a->ok, 0);
  assert_int_equal(a->error, UVFETCH_ETIMEDOUT);
  assert_int_equal(a->http_code, 0);
  b = fx_rec(fx, 1);
  if (!b->ok)
    print_message("B failed after %llu ms: %s (%s)\n",
                  (unsigned long long)elapsed, uvfetch_err_name(b->error),
                  b->message);
  assert_int_equal(b->ok, 1);
  assert_int_equal(b->http_code, 200);
  assert_int_equal(b->bytes, 10);
  /* The listener opens at 1.5 s; B gets through on its SYN's next resend
   * (about 3.3 s), well before its own 8 s limit. */
  assert_true(elapsed < 8000);
  fx_finish(fx);
}

/* The same, with B going to a healthy server: B only needs its socket
 * polled. */
static void test_timeout_then_healthy(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uint64_t start;
  uint64_t elapsed;
  const rec_t *b;
  char *url;
  char *healthy;
  int port;
  int i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 1;
  fx_open(fx, &opt);
  port = test_server_slow_accept(&fx->server, -1);
  assert_true(port > 0);
  url = port_url(port, "/size/10");
  /* Three rounds: each timed-out connect may leave one more stale fd. */
  for (i = 0; i < 3; i++) {
    submit_timed(fx, (uintptr_t)(2 * i), url, 200);
    healthy = test_url(&fx->server, "/size/%d", 100 + i);
    assert_non_null(healthy);
    submit_timed(fx, (uintptr_t)(2 * i + 1), healthy, 5000);
    free(healthy);
  }
  free(url);
  start = uv_hrtime();
  fx_run(fx);
  elapsed = ms_since(start);

  assert_int_equal(fx->nrecs, 6);
  for (i = 0; i < 3; i++) {
    assert_int_equal(fx_rec(fx, (uintptr_t)(2 * i))->error, UVFETCH_ETIMEDOUT);
    b = fx_rec(fx, (uintptr_t)(2 * i + 1));
    if (!b->ok)
      print_message("healthy %d failed: %s (%s)\n", i,
                    uvfetch_err_name(b->error), b->message);
    assert_int_equal(b->ok, 1);
    assert_int_equal(b->http_code, 200);
    assert_int_equal(b->bytes, 100 + i);
  }
  /* Three 200 ms timeouts and three quick fetches; a hidden socket would
   * wait out its 5 s. */
  assert_true(elapsed < 5000);
  fx_finish(fx);
}

/* ---- a cancel while connecting ------------------------------------------ */

/* The transfer starts from the fetcher's idle handle, and its connect is
 * made (EINPROGRESS) and its poll started in the same turn; prepare
 * handles run next, before the loop polls. A cancel there makes libcurl
 * close the socket before libuv has registered it with epoll. */
static void on_prepare_cancel(uv_prepare_t *p) {
  fixture_t *fx = p->data;
  uvfetch_stats_t stats;
  char *url;

  uvfetch_get_stats(fx->f, &stats);
  if (stats.running != 1)
    return;
  fx->inside = 1;
  fx->err[0] = uvfetch_cancel(fx->f, fx->ordinal);
  fx->inside = 0;
  /* A second transfer that takes the descriptor number just given back. */
  url = test_url(&fx->server, "/size/7");
  fx->err[1] = uvfetch_add_ex(fx->f, url, (void *)1, 0, NULL);
  free(url);
  uv_prepare_stop(p);
}

static void test_cancel_while_connecting(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uv_prepare_t prepare;
  const rec_t *r;

  uvfetch_options_init(&opt);
  opt.timeout_ms = 10000;
  fx_open(fx, &opt);
  fx->ordinal = fx_add(fx, 0, "/size/10");
  assert_int_equal(uv_prepare_init(&fx->loop, &prepare), 0);
  prepare.data = fx;
  assert_int_equal(uv_prepare_start(&prepare, on_prepare_cancel), 0);
  fx_run(fx);

  assert_int_equal(fx->err[0], 0);
  assert_int_equal(fx->err[1], 0);
  assert_int_equal(fx->nrecs, 2);
  r = &fx->recs[0];
  assert_int_equal(r->tag, 0);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_ECANCELED);
  assert_int_equal(r->bytes, 0);
  assert_int_equal(r->inside, 1);
  assert_int_equal(r->attempts, 1);
  r = &fx->recs[1];
  assert_int_equal(r->tag, 1);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 200);
  assert_int_equal(r->bytes, 7);
  assert_int_equal(uvfetch_cancel(fx->f, fx->ordinal), UVFETCH_ENOTFOUND);
  uv_close((uv_handle_t *)&prepare, NULL);
  fx_finish(fx);
}

/* Many connects that stay pending, cancelled at random moments from a
 * timer, a prepare and a check handle and from completion callbacks, while
 * transfers to a healthy server take the descriptor numbers given back. */
enum { PENDING = 48, HEALTHY = 24 };

static struct {
  fixture_t *fx;
  uint64_t rng;
  int pending_port;
  uint64_t ordinals[PENDING]; /* of the pending ones */
  int live[PENDING];          /* not yet cancelled */
  int nlive;
  int healthy_added;
  int cancel_errors; /* cancels of a live one that failed */
  int add_errors;
} many;

static uint64_t rnd(void) {
  uint64_t x = many.rng;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  many.rng = x;
  return x;
}

/* Cancel one live pending transfer, chosen at random, and add a healthy
 * one in its place. */
static void cancel_one(void) {
  fixture_t *fx = many.fx;
  char *url;
  int i;
  int k;

  if (many.nlive == 0)
    return;
  k = (int)(rnd() % (uint64_t)many.nlive);
  for (i = 0; i < PENDING; i++) {
    if (!many.live[i])
      continue;
    if (k-- == 0)
      break;
  }
  many.live[i] = 0;
  many.nlive--;
  if (uvfetch_cancel(fx->f, many.ordinals[i]) != 0)
    many.cancel_errors++;
  if (many.healthy_added < HEALTHY) {
    url = test_url(&fx->server, "/size/%d", 1000 + many.healthy_added);
    if (uvfetch_add_ex(fx->f, url,
                       (void *)(uintptr_t)(PENDING + 1000 + many.healthy_added),
                       0, NULL) != 0)
      many.add_errors++;
    else
      many.healthy_added++;
    free(url);
  }
}

static void maybe_cancel(void) {
  if (rnd() % 3 == 0)
    cancel_one();
}

static void on_many_timer(uv_timer_t *t) {
  cancel_one();
  if (many.nlive == 0)
    uv_timer_stop(t);
  else
    uv_timer_start(t, on_many_timer, 1 + rnd() % 15, 0);
}

static void on_many_prepare(uv_prepare_t *p) {
  maybe_cancel();
}

static void on_many_check(uv_check_t *c) {
  maybe_cancel();
}

static void many_hook(fixture_t *fx, const uvfetch_result_t *r) {
  if (r->error == UVFETCH_ECANCELED && rnd() % 2 == 0)
    cancel_one();
}

static void test_cancel_many_while_connecting(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uv_timer_t timer;
  uv_prepare_t prepare;
  uv_check_t check;
  const rec_t *r;
  char *url;
  size_t i;
  int cancelled = 0;
  int healthy = 0;

  memset(&many, 0, sizeof(many));
  many.fx = fx;
  many.rng = 0x9e3779b97f4a7c15ULL;
  many.pending_port = test_server_slow_accept(&fx->server, -1);
  assert_true(many.pending_port > 0);

  uvfetch_options_init(&opt);
  opt.max_concurrent = 12;
  /* A bound on what a hidden socket may cost; every cancel comes sooner. */
  opt.timeout_ms = 10000;
  fx_open(fx, &opt);
  fx->hook = many_hook;
  url = port_url(many.pending_port, "/size/10");
  for (i = 0; i < PENDING; i++) {
    many.ordinals[i] = fx_add_url(fx, i, url);
    many.live[i] = 1;
  }
  many.nlive = PENDING;
  free(url);
  assert_int_equal(uv_timer_init(&fx->loop, &timer), 0);
  assert_int_equal(uv_prepare_init(&fx->loop, &prepare), 0);
  assert_int_equal(uv_check_init(&fx->loop, &check), 0);
  assert_int_equal(uv_timer_start(&timer, on_many_timer, 5, 0), 0);
  assert_int_equal(uv_prepare_start(&prepare, on_many_prepare), 0);
  assert_int_equal(uv_check_start(&check, on_many_check), 0);
  /* The prepare and check handles would keep the loop alive for ever. */
  uv_unref((uv_handle_t *)&prepare);
  uv_unref((uv_handle_t *)&check);
  fx_run(fx);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_close((uv_handle_t *)&prepare, NULL);
  uv_close((uv_handle_t *)&check, NULL);

  assert_int_equal(many.cancel_errors, 0);
  assert_int_equal(many.add_errors, 0);
  assert_int_equal(many.nlive, 0);
  assert_int_equal(many.healthy_added, HEALTHY);
  fx_assert_each_ordinal_once(fx, PENDING + HEALTHY);
  for (i = 0; i < fx->nrecs; i++) {
    r = &fx->recs[i];
    if (r->tag < PENDING) {
      if (r->error != UVFETCH_ECANCELED)
        print_message("pending %u: %s (%s)\n", (unsigned)r->tag,
                      uvfetch_err_name(r->error), r->message);
      assert_int_equal(r->error, UVFETCH_ECANCELED);
      assert_int_equal(r->http_code, 0);
      cancelled++;
      continue;
    }
    if (!r->ok)
      print_message("healthy %u: %s (%s)\n", (unsigned)r->tag,
                    uvfetch_err_name(r->error), r->message);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->http_code, 200);
    assert_int_equal(r->bytes, r->tag - PENDING);
    healthy++;
  }
  assert_int_equal(cancelled, PENDING);
  assert_int_equal(healthy, HEALTHY);
  fx_finish(fx);
}

/* A close while connects are pending: every one is cancelled, and no poll
 * handle outlives the fetcher. */
static void on_close_timer(uv_timer_t *t) {
  fixture_t *fx = t->data;

  fx->err[0] = uvfetch_close(fx->f, fx_on_closed);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_close_while_connecting(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uv_timer_t timer;
  char *url;
  size_t i;
  int port;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 8;
  opt.timeout_ms = 10000;
  fx_open(fx, &opt);
  port = test_server_slow_accept(&fx->server, -1);
  assert_true(port > 0);
  url = port_url(port, "/size/10");
  for (i = 0; i < 12; i++)
    fx_add_url(fx, i, url);
  free(url);
  assert_int_equal(uv_timer_init(&fx->loop, &timer), 0);
  timer.data = fx;
  assert_int_equal(uv_timer_start(&timer, on_close_timer, 100, 0), 0);
  fx_finish_closed(fx);

  assert_int_equal(fx->err[0], 0);
  fx_assert_each_ordinal_once(fx, 12);
  for (i = 0; i < 12; i++)
    assert_int_equal(fx_rec(fx, i)->error, UVFETCH_ECANCELED);
  assert_int_equal(fx->recs_at_close, 12);
}

int main(void) {
  /* The tests that abort the process on the old engine come last, so the
   * others still report. */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_timeout_while_connecting, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_timeout_then_healthy, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_close_while_connecting, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_while_connecting, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_many_while_connecting,
                                      fx_setup, fx_teardown),
  };

  /* One test alone, e.g. CMOCKA_TEST_FILTER=test_cancel_many*: an abort
   * in one hides the ones after it. */
  if (getenv("CMOCKA_TEST_FILTER") != NULL)
    cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
  return cmocka_run_group_tests(tests, NULL, NULL);
}
