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

#include "fixture.h"
#include "support.h"
#include "uvfetch.h"

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

/* Each transfer fetches its own URL, whether the URL handle parsed at
 * submit went with it (the first few, while the queue is short) or the URL
 * was parsed again as it started (the rest: 3 slots, 60 URLs). Sizes that
 * differ show which URL went out; the effective URL is the text as given,
 * also where libcurl would have normalised it (scheme and host in upper
 * case, no path). */
static void test_each_transfer_its_own_url(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  char url[128];
  const rec_t *r;
  uintptr_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 3;
  fx_open(fx, &opt);
  for (i = 0; i < 60; i++)
    fx_add(fx, i, "/size/%u", (unsigned)(i * 7 + 1));
  snprintf(url, sizeof(url), "HTTP://127.0.0.1:%d", fx->server.port);
  fx_add_url(fx, 60, url);
  fx_run(fx);

  assert_int_equal(fx->nrecs, 61);
  fx_assert_each_ordinal_once(fx, 61);
  for (i = 0; i < 60; i++) {
    r = fx_rec(fx, i);
    assert_ok_200(r, i * 7 + 1);
    assert_int_equal(r->wire_bytes, i * 7 + 1);
  }
  /* No path: libcurl asks for "/", which the test server does not know. */
  r = fx_rec(fx, 60);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 404);
  assert_int_equal(r->bytes, strlen("not found\n"));
  assert_string_equal(r->effective_url, url);
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
      cmocka_unit_test_setup_teardown(test_plain_sizes_exact, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_each_transfer_its_own_url, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_chunked_sizes_exact, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_gzip_decoded, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_no_compression_asked, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_status_body_exact, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_max_filesize, fx_setup, fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
