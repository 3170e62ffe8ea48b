/* Redirects: chains are followed and counted, limits and loops fail with
 * UVFETCH_EREDIRECTS, follow_redirects = 0 reports the 302 itself, and a
 * Location to a scheme outside the allowed list is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

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
}

static void on_closed(uvfetch_t *f) {
  fixture_t *fx = uvfetch_get_data(f);

  fx->close_calls++;
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
/* /redirect/2 -> /redirect/1 -> /redirect/0 -> /size/10: three hops. */
static void test_chain_followed(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  char *url;
  char *final;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_add(fx, 1, "/redirect/2");
  fx_add(fx, 2, "/redirect-to?url=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2Fsize%%2F5",
         fx->server.port);
  fx_add(fx, 3, "/redirect/0?to=/status/404");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 3);
  url = test_url(&fx->server, "/redirect/2");
  final = test_url(&fx->server, "/size/10");
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->error, 0);
  assert_int_equal(r->http_code, 200);
  assert_int_equal(r->redirects, 3);
  assert_int_equal(r->bytes, 10);
  assert_string_equal(r->url, url);
  assert_string_equal(r->effective_url, final);
  free(url);
  free(final);

  /* An absolute Location is followed as well. */
  final = test_url(&fx->server, "/size/5");
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->redirects, 1);
  assert_int_equal(r->bytes, 5);
  assert_string_equal(r->effective_url, final);
  free(final);

  /* The status at the end of the chain is the one reported. */
  final = test_url(&fx->server, "/status/404");
  r = fx_rec(fx, 3);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 404);
  assert_int_equal(r->redirects, 1);
  assert_int_equal(r->bytes, strlen("status 404\n"));
  assert_string_equal(r->effective_url, final);
  free(final);
  fx_finish(fx);
}

/* max_redirects = 2: two hops are allowed, three are not. */
static void test_chain_longer_than_limit(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;

  uvfetch_options_init(&opt);
  opt.max_redirects = 2;
  fx_open(fx, &opt);
  fx_add(fx, 1, "/redirect/1");
  fx_add(fx, 2, "/redirect/2");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->redirects, 2);
  assert_int_equal(r->bytes, 10);
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_EREDIRECTS);
  assert_int_equal(r->curl_code, CURLE_TOO_MANY_REDIRECTS);
  assert_true(strlen(r->message) > 0);
  assert_int_equal(r->http_code, 302);
  fx_finish(fx);
}

/* max_redirects = 0: not even one hop. */
static void test_zero_redirects_allowed(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;

  uvfetch_options_init(&opt);
  opt.max_redirects = 0;
  fx_open(fx, &opt);
  fx_add(fx, 1, "/redirect/0");
  fx_add(fx, 2, "/size/7");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_EREDIRECTS);
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->bytes, 7);
  fx_finish(fx);
}

/* /loop redirects to itself forever: the default limit (10) stops it. */
static void test_loop_fails(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  long requests = -1;

  uvfetch_options_init(&opt);
  assert_int_equal(opt.max_redirects, 10);
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  fx_add(fx, 1, "/loop");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 1);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_EREDIRECTS);
  assert_int_equal(r->curl_code, CURLE_TOO_MANY_REDIRECTS);
  assert_int_equal(r->redirects, 10);
  assert_true(strlen(r->message) > 0);
  /* The first request and ten hops; libcurl gives up before an 11th. */
  assert_int_equal(test_server_stats(&fx->server, &requests, NULL, NULL), 0);
  assert_int_equal(requests, 11);
  fx_finish(fx);
}

/* follow_redirects = 0: the 302 is the response, and a complete one. */
static void test_not_followed(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;

  uvfetch_options_init(&opt);
  opt.follow_redirects = 0;
  fx_open(fx, &opt);
  fx_add(fx, 1, "/redirect/3");
  fx_add(fx, 2, "/loop");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->error, 0);
  assert_int_equal(r->http_code, 302);
  assert_int_equal(r->http_version, 11);
  assert_int_equal(r->redirects, 0);
  assert_int_equal(r->bytes, 0);
  assert_string_equal(r->effective_url, r->url);
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 302);
  assert_int_equal(r->redirects, 0);
  fx_finish(fx);
}

/* A Location outside http/https is refused, not fetched: nothing of
 * /etc/passwd may reach the body count. */
static void test_other_schemes_refused(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  uintptr_t tag;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_add(fx, 1, "/redirect-to?url=ftp%%3A%%2F%%2F127.0.0.1%%2Fx");
  fx_add(fx, 2, "/redirect-to?url=file%%3A%%2F%%2F%%2Fetc%%2Fpasswd");
  fx_add(fx, 3, "/redirect/1?to=file%%3A%%2F%%2F%%2Fetc%%2Fpasswd");
  fx_add(fx, 4, "/redirect-to?url=gopher%%3A%%2F%%2F127.0.0.1%%2F");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 4);
  for (tag = 1; tag <= 4; tag++) {
    r = fx_rec(fx, tag);
    assert_int_equal(r->ok, 0);
    assert_int_equal(r->error, UVFETCH_ESCHEME);
    assert_int_equal(r->curl_code, CURLE_UNSUPPORTED_PROTOCOL);
    assert_int_equal(r->bytes, 0);
    assert_true(strlen(r->message) > 0);
  }
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_chain_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chain_longer_than_limit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_zero_redirects_allowed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_loop_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_schemes_refused, setup,
                                      teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
