/* Body sizes: every byte the server sends is counted exactly once, plain,
 * chunked and gzip-encoded, from 0 bytes to 50 MB, and max_filesize caps
 * the decoded body.
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

/* A successful HTTP/1.1 200 from the test server with `n` decoded bytes. */
static void assert_ok_200(const rec_t *r, uint64_t n) {
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->error, 0);
  assert_int_equal(r->curl_code, 0);
  assert_string_equal(r->message, "");
  assert_int_equal(r->http_code, 200);
  assert_int_equal(r->http_version, 11);
  assert_int_equal(r->redirects, 0);
  assert_int_equal(r->attempts, 1);
  assert_string_equal(r->effective_url, r->url);
  assert_int_equal(r->bytes, n);
}

static const uint64_t plain_sizes[] = {0, 1, 1000, 65536, 1048576, 50000000};
#define NPLAIN (sizeof(plain_sizes) / sizeof(plain_sizes[0]))

static void test_plain_sizes_exact(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uint64_t ordinal[NPLAIN];
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  for (i = 0; i < NPLAIN; i++)
    ordinal[i] =
        fx_add(fx, i, "/size/%llu", (unsigned long long)plain_sizes[i]);
  fx_run(fx);

  assert_int_equal(fx->nrecs, NPLAIN);
  for (i = 0; i < NPLAIN; i++) {
    r = fx_rec(fx, i);
    assert_int_equal(r->ordinal, ordinal[i]);
    assert_ok_200(r, plain_sizes[i]);
    /* Not encoded: what came over the wire is what the app saw. */
    assert_int_equal(r->wire_bytes, plain_sizes[i]);
  }
  fx_finish(fx);
}

static const uint64_t chunked_sizes[] = {0, 1, 1000, 65536, 1048576, 3000001};
#define NCHUNKED (sizeof(chunked_sizes) / sizeof(chunked_sizes[0]))

/* The server splits each body into at least four chunks; chunk framing is
 * transfer coding, not body, so neither count includes it. */
static void test_chunked_sizes_exact(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  for (i = 0; i < NCHUNKED; i++)
    fx_add(fx, i, "/size/%llu?chunked=1", (unsigned long long)chunked_sizes[i]);
  fx_run(fx);

  assert_int_equal(fx->nrecs, NCHUNKED);
  for (i = 0; i < NCHUNKED; i++) {
    r = fx_rec(fx, i);
    assert_ok_200(r, chunked_sizes[i]);
    assert_int_equal(r->wire_bytes, chunked_sizes[i]);
  }
  fx_finish(fx);
}

static const uint64_t gzip_sizes[] = {1000, 100000, 1048576, 10000000};
#define NGZIP (sizeof(gzip_sizes) / sizeof(gzip_sizes[0]))

/* With compression asked for (the default), a gzip body is decoded: the
 * app sees exactly N bytes, and fewer came over the wire. Plain and
 * chunked framing both. */
static void test_gzip_decoded(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  assert_int_equal(opt.compressed, 1);
  fx_open(fx, &opt);
  for (i = 0; i < NGZIP; i++) {
    fx_add(fx, i, "/size/%llu?gzip=1", (unsigned long long)gzip_sizes[i]);
    fx_add(fx, 100 + i, "/size/%llu?gzip=1&chunked=1",
           (unsigned long long)gzip_sizes[i]);
  }
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2 * NGZIP);
  for (i = 0; i < NGZIP; i++) {
    r = fx_rec(fx, i);
    assert_ok_200(r, gzip_sizes[i]);
    assert_true(r->wire_bytes > 0);
    assert_true(r->wire_bytes < gzip_sizes[i]);
    r = fx_rec(fx, 100 + i);
    assert_ok_200(r, gzip_sizes[i]);
    assert_true(r->wire_bytes > 0);
    assert_true(r->wire_bytes < gzip_sizes[i]);
  }
  /* The server's gzip output is deterministic, so the same body has the
   * same wire size with and without chunked framing. */
  for (i = 0; i < NGZIP; i++)
    assert_int_equal(fx_rec(fx, i)->wire_bytes,
                     fx_rec(fx, 100 + i)->wire_bytes);
  fx_finish(fx);
}

/* compressed = 0: no Accept-Encoding goes out, so the server answers plain
 * and nothing is decoded. */
static void test_no_compression_asked(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  opt.compressed = 0;
  fx_open(fx, &opt);
  for (i = 0; i < NGZIP; i++)
    fx_add(fx, i, "/size/%llu?gzip=1", (unsigned long long)gzip_sizes[i]);
  fx_run(fx);

  assert_int_equal(fx->nrecs, NGZIP);
  for (i = 0; i < NGZIP; i++) {
    r = fx_rec(fx, i);
    assert_ok_200(r, gzip_sizes[i]);
    assert_int_equal(r->wire_bytes, gzip_sizes[i]);
  }
  fx_finish(fx);
}

/* Other 2xx statuses count their bodies the same way ("status 201\n" is
 * 11 bytes), and 204 has none at all. */
static void test_status_body_exact(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_add(fx, 1, "/status/201");
  fx_add(fx, 2, "/size/4321?status=203");
  fx_add(fx, 3, "/status/204");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 3);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 201);
  assert_int_equal(r->bytes, strlen("status 201\n"));
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 203);
  assert_int_equal(r->bytes, 4321);
  r = fx_rec(fx, 3);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 204);
  assert_int_equal(r->bytes, 0);
  assert_int_equal(r->wire_bytes, 0);
  fx_finish(fx);
}

/* max_filesize bounds the decoded body: a Content-Length over it, a
 * chunked body that grows past it, and a small gzip body that decodes past
 * it all fail with UVFETCH_ETOOLARGE; a body of exactly the limit is fine. */
static void test_max_filesize(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  uintptr_t tag;

  uvfetch_options_init(&opt);
  opt.max_filesize = 50000;
  fx_open(fx, &opt);
  fx_add(fx, 1, "/size/50000");
  fx_add(fx, 2, "/size/50000?chunked=1");
  fx_add(fx, 3, "/size/50000?gzip=1");
  fx_add(fx, 4, "/size/50001");
  fx_add(fx, 5, "/size/200000?chunked=1");
  fx_add(fx, 6, "/size/200000?gzip=1");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 6);
  for (tag = 1; tag <= 3; tag++)
    assert_ok_200(fx_rec(fx, tag), 50000);
  for (tag = 4; tag <= 6; tag++) {
    r = fx_rec(fx, tag);
    assert_int_equal(r->ok, 0);
    assert_int_equal(r->error, UVFETCH_ETOOLARGE);
    assert_true(strlen(r->message) > 0);
  }
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plain_sizes_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_chunked_sizes_exact, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gzip_decoded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_compression_asked, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_status_body_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_filesize, setup, teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
