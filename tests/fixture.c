#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* How long fx_teardown() waits for a failed test's handles to close. */
#define ABANDON_MS 5000

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
  rec->total_time = r->total_time;
  rec->ttfb = r->ttfb;
  rec->start_time = r->start_time;
  rec->slot = r->slot;
  snprintf(rec->url, sizeof(rec->url), "%s", r->url);
  snprintf(rec->effective_url, sizeof(rec->effective_url), "%s",
           r->effective_url);
  snprintf(rec->message, sizeof(rec->message), "%s", r->message);
  rec->inside = fx->inside;
  uvfetch_get_stats(f, &rec->stats);
  if (fx->hook != NULL)
    fx->hook(fx, r);
}

void fx_on_closed(uvfetch_t *f) {
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

int fx_setup_with(void **state, int server, uint64_t run_limit_ms) {
  fixture_t *fx = calloc(1, sizeof(*fx));

  if (fx == NULL)
    return -1;
  fx->run_limit_ms = run_limit_ms;
  if (uv_loop_init(&fx->loop) != 0)
    return -1;
  uv_timer_init(&fx->loop, &fx->watchdog);
  fx->watchdog.data = fx;
  uv_unref((uv_handle_t *)&fx->watchdog);
  if (server) {
    if (test_server_start(&fx->server) != 0)
      return -1;
    fx->has_server = 1;
  }
  *state = fx;
  return 0;
}

int fx_setup(void **state) {
  return fx_setup_with(state, 1, FX_RUN_LIMIT_MS);
}

/* After a failed test, release what it left behind, so that the next test
 * and the leak checkers see only their own: close the fetcher, give the
 * loop a few seconds to let go, and abandon it if it will not. */
static void abandon(fixture_t *fx) {
  uint64_t deadline = uv_hrtime() + ABANDON_MS * (uint64_t)1000000;

  if (fx->f != NULL && fx->close_calls == 0)
    uvfetch_close(fx->f, fx_on_closed);
  if (!uv_is_closing((uv_handle_t *)&fx->watchdog))
    uv_close((uv_handle_t *)&fx->watchdog, NULL);
  while (uv_run(&fx->loop, UV_RUN_NOWAIT) != 0 && uv_hrtime() < deadline)
    uv_sleep(1);
  uv_loop_close(&fx->loop);
}

int fx_teardown(void **state) {
  fixture_t *fx = *state;

  if (!fx->loop_closed)
    abandon(fx);
  if (fx->has_server)
    test_server_stop(&fx->server);
  free(fx->recs);
  free(fx);
  return 0;
}

void fx_open(fixture_t *fx, uvfetch_options_t *opt) {
  opt->data = fx;
  assert_int_equal(uvfetch_init(&fx->loop, &fx->f, opt, on_done), 0);
}

uint64_t fx_add_url(fixture_t *fx, uintptr_t tag, const char *url) {
  uint64_t ordinal = UINT64_MAX;

  assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)tag, 0, &ordinal), 0);
  return ordinal;
}

uint64_t fx_add(fixture_t *fx, uintptr_t tag, const char *fmt, ...) {
  va_list ap;
  char path[512];
  char *url;
  uint64_t ordinal;

  va_start(ap, fmt);
  vsnprintf(path, sizeof(path), fmt, ap);
  va_end(ap);
  url = test_url(&fx->server, "%s", path);
  assert_non_null(url);
  ordinal = fx_add_url(fx, tag, url);
  free(url);
  return ordinal;
}

void fx_run(fixture_t *fx) {
  uv_timer_start(&fx->watchdog, on_watchdog, fx->run_limit_ms, 0);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&fx->watchdog);
  assert_false(fx->expired);
}

void fx_finish(fixture_t *fx) {
  assert_int_equal(uvfetch_close(fx->f, fx_on_closed), 0);
  fx_finish_closed(fx);
}

void fx_finish_closed(fixture_t *fx) {
  fx_run(fx);
  assert_int_equal(fx->close_calls, 1);
  fx_close_loop(fx);
}

void fx_close_loop(fixture_t *fx) {
  uv_close((uv_handle_t *)&fx->watchdog, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  fx->loop_closed = 1;
}

const rec_t *fx_rec(const fixture_t *fx, uintptr_t tag) {
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

void fx_assert_each_ordinal_once(const fixture_t *fx, size_t n) {
  unsigned char *seen = calloc(n, 1);
  size_t i;

  assert_non_null(seen);
  assert_int_equal(fx->nrecs, n);
  for (i = 0; i < fx->nrecs; i++) {
    assert_true(fx->recs[i].ordinal < n);
    assert_int_equal(seen[fx->recs[i].ordinal], 0);
    seen[fx->recs[i].ordinal] = 1;
  }
  free(seen);
}
