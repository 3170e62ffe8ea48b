/* nginx: a thousand files over HTTP/1.1 keep-alive and over HTTPS with
 * HTTP/2, certificate checks, exact file sizes and gzip from a real server.
 * tests/nginx.sh builds the corpus and certificates in a temporary
 * directory; without nginx the whole program is skipped (exit 77).
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

#include "fixture.h"
#include "uvfetch.h"

#ifndef TEST_NGINX_SH
#define TEST_NGINX_SH "tests/nginx.sh"
#endif

/* The nginx this program started, shared by every test in it. */
static struct {
  char dir[256];
  char cacert[300];
  int http_port;
  int https_port;
} nginx;

/* A thousand files over TLS take far longer than anything the other
 * programs fetch. The limit stays under meson's 300 s for this program, so
 * that a hang is reported by the watchdog, not by meson killing us. */
#define RUN_LIMIT_MS 200000

/* The fixture without a test server of its own: main() starts nginx once,
 * for every test. */
static int setup(void **state) {
  return fx_setup_with(state, 0, RUN_LIMIT_MS);
}

/* Adds nginx's URL for the scheme and formatted path; returns its
 * ordinal. */
static uint64_t nginx_add(fixture_t *fx, uintptr_t tag, int tls,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static uint64_t nginx_add(fixture_t *fx, uintptr_t tag, int tls,
                          const char *fmt, ...) {
  va_list ap;
  char path[512];
  char url[600];

  va_start(ap, fmt);
  vsnprintf(path, sizeof(path), fmt, ap);
  va_end(ap);
  snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", tls ? "https" : "http",
           tls ? nginx.https_port : nginx.http_port, path);
  return fx_add_url(fx, tag, url);
}

/* Each ordinal in [0, n) came back exactly once, with its own tag. */
static void assert_each_once(const fixture_t *fx, size_t n) {
  size_t i;

  fx_assert_each_ordinal_once(fx, n);
  for (i = 0; i < fx->nrecs; i++)
    assert_int_equal(fx->recs[i].tag, fx->recs[i].ordinal);
}

static void assert_files_ok(const fixture_t *fx, int http_version) {
  const rec_t *r;
  size_t i;

  assert_each_once(fx, 1000);
  for (i = 0; i < fx->nrecs; i++) {
    r = &fx->recs[i];
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->error, 0);
    assert_int_equal(r->http_code, 200);
    assert_int_equal(r->http_version, http_version);
    assert_int_equal(r->bytes, 1024);
    assert_int_equal(r->wire_bytes, 1024);
    assert_string_equal(r->effective_url, r->url);
  }
}

static void fetch_files(fixture_t *fx, uvfetch_options_t *opt, int tls) {
  size_t i;

  opt->max_concurrent = 50;
  fx_open(fx, opt);
  for (i = 0; i < 1000; i++)
    assert_int_equal(nginx_add(fx, i, tls, "/f%zu", i), i);
  fx_run(fx);
}

static void test_http11_keepalive(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;

  uvfetch_options_init(&opt);
  fetch_files(fx, &opt, 0);
  assert_files_ok(fx, 11);
  fx_finish(fx);
}

static void test_https_http2(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  fetch_files(fx, &opt, 1);
  assert_files_ok(fx, 20);
  fx_finish(fx);
}

/* The same over TLS, with HTTP/1.1 asked for. */
static void test_https_http11(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  opt.http_version = 11;
  fetch_files(fx, &opt, 1);
  assert_files_ok(fx, 11);
  fx_finish(fx);
}

/* Our test CA is in no system bundle: verification must fail. */
static void test_https_unknown_ca(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  for (i = 0; i < 3; i++)
    nginx_add(fx, i, 1, "/f%zu", i);
  fx_run(fx);

  assert_each_once(fx, 3);
  for (i = 0; i < 3; i++) {
    r = &fx->recs[i];
    assert_int_equal(r->ok, 0);
    assert_int_equal(r->error, UVFETCH_ETLS);
    /* 60 when the system bundle lacks our CA; 77 on a machine with no
     * bundle at all. */
    assert_true(r->curl_code == CURLE_PEER_FAILED_VERIFICATION ||
                r->curl_code == CURLE_SSL_CACERT_BADFILE);
    assert_true(strlen(r->message) > 0);
    assert_int_equal(r->http_code, 0);
    assert_int_equal(r->bytes, 0);
  }
  fx_finish(fx);
}

/* HTTP/1.1 and HTTP/2 at once, interleaved: the HTTP/2 connection is
 * corked while libcurl writes to it and the plain ones are not, and every
 * URL of both kinds comes back once, whole, in its own version. */
static void test_http11_and_http2_together(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  opt.max_concurrent = 50;
  fx_open(fx, &opt);
  for (i = 0; i < 1000; i++)
    nginx_add(fx, i, (int)(i % 2), "/f%zu", i / 2);
  fx_run(fx);

  assert_each_once(fx, 1000);
  for (i = 0; i < 1000; i++) {
    r = fx_rec(fx, i);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->http_code, 200);
    assert_int_equal(r->http_version, i % 2 ? 20 : 11);
    assert_int_equal(r->bytes, 1024);
  }
  fx_finish(fx);
}

static void test_https_no_verify(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  opt.verify_tls = 0;
  fx_open(fx, &opt);
  for (i = 0; i < 20; i++)
    nginx_add(fx, i, 1, "/f%zu", i);
  fx_run(fx);

  assert_each_once(fx, 20);
  for (i = 0; i < 20; i++) {
    r = &fx->recs[i];
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->http_version, 20);
    assert_int_equal(r->bytes, 1024);
  }
  fx_finish(fx);
}

static const uint64_t file_sizes[] = {0, 1, 1000, 65536, 1048576, 10485760};
#define NSIZES (sizeof(file_sizes) / sizeof(file_sizes[0]))

/* sizes/N are octet-stream, never gzipped: exact on the wire as well. */
static void test_file_sizes(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  size_t i;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  fx_open(fx, &opt);
  for (i = 0; i < NSIZES; i++) {
    nginx_add(fx, i, 0, "/sizes/%llu", (unsigned long long)file_sizes[i]);
    nginx_add(fx, 100 + i, 1, "/sizes/%llu", (unsigned long long)file_sizes[i]);
  }
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2 * NSIZES);
  for (i = 0; i < NSIZES; i++) {
    r = fx_rec(fx, i);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->http_code, 200);
    assert_int_equal(r->http_version, 11);
    assert_int_equal(r->bytes, file_sizes[i]);
    assert_int_equal(r->wire_bytes, file_sizes[i]);
    r = fx_rec(fx, 100 + i);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->http_code, 200);
    assert_int_equal(r->http_version, 20);
    assert_int_equal(r->bytes, file_sizes[i]);
    assert_int_equal(r->wire_bytes, file_sizes[i]);
  }
  fx_finish(fx);
}

/* Fetches big.txt over HTTP/1.1 (tag 0) and over HTTPS (tag 1). */
static void fetch_big(fixture_t *fx, uvfetch_options_t *opt) {
  fx_open(fx, opt);
  nginx_add(fx, 0, 0, "/big.txt");
  nginx_add(fx, 1, 1, "/big.txt");
  fx_run(fx);
}

/* big.txt is text/plain: gzipped when asked for, decoded to its size. */
static void test_big_compressed(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  uintptr_t tag;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  fetch_big(fx, &opt);

  assert_int_equal(fx->nrecs, 2);
  for (tag = 0; tag < 2; tag++) {
    r = fx_rec(fx, tag);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->http_code, 200);
    assert_int_equal(r->bytes, 204800);
    assert_true(r->wire_bytes > 0);
    assert_true(r->wire_bytes < r->bytes);
  }
  fx_finish(fx);
}

static void test_big_uncompressed(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  uintptr_t tag;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  opt.compressed = 0;
  fetch_big(fx, &opt);

  assert_int_equal(fx->nrecs, 2);
  for (tag = 0; tag < 2; tag++) {
    r = fx_rec(fx, tag);
    assert_int_equal(r->ok, 1);
    assert_int_equal(r->bytes, 204800);
    assert_int_equal(r->wire_bytes, 204800);
  }
  fx_finish(fx);
}

/* Closes the fetcher from the 100th result's callback. A failure aborts:
 * an assert would jump out of the library's callback. */
static void close_at_100(fixture_t *fx, const uvfetch_result_t *r) {
  if (fx->nrecs != 100)
    return;
  if (uvfetch_close(fx->f, fx_on_closed) != 0)
    abort();
}

/* Closing from a callback with hundreds of transfers in flight, on shared
 * HTTP/1.1 connections or as HTTP/2 streams: every URL still gets exactly
 * one result, the close callback comes after all of them, and the loop
 * closes clean. */
static void run_close_midway(fixture_t *fx, int tls) {
  uvfetch_options_t opt;
  size_t cancelled = 0;
  size_t i;

  uvfetch_options_init(&opt);
  opt.cacert = nginx.cacert;
  opt.max_concurrent = 50;
  fx_open(fx, &opt);
  fx->hook = close_at_100;
  for (i = 0; i < 1000; i++)
    nginx_add(fx, i, tls, "/f%zu", i);
  fx_run(fx);

  assert_int_equal(fx->close_calls, 1);
  assert_each_once(fx, 1000);
  assert_int_equal(fx->recs_at_close, 1000);
  for (i = 0; i < fx->nrecs; i++) {
    if (i < 100) {
      assert_int_equal(fx->recs[i].ok, 1);
      assert_int_equal(fx->recs[i].bytes, 1024);
      continue;
    }
    assert_int_equal(fx->recs[i].ok, 0);
    assert_int_equal(fx->recs[i].error, UVFETCH_ECANCELED);
    cancelled++;
  }
  assert_int_equal(cancelled, 900);
  fx_close_loop(fx);
}

static void test_close_midway_http11(void **state) {
  run_close_midway(*state, 0);
}

static void test_close_midway_http2(void **state) {
  run_close_midway(*state, 1);
}

/* ---- nginx's lifetime -------------------------------------------------- */

static int read_port(const char *dir, const char *name) {
  char path[512];
  FILE *fp;
  int port = -1;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  fp = fopen(path, "r");
  if (fp == NULL)
    return -1;
  if (fscanf(fp, "%d", &port) != 1)
    port = -1;
  fclose(fp);
  return port;
}

/* Runs `bash nginx.sh VERB DIR`, its output on our stderr. */
static int nginx_sh(const char *verb) {
  char cmd[1024];

  snprintf(cmd, sizeof(cmd), "bash '%s' %s '%s' >&2", TEST_NGINX_SH, verb,
           nginx.dir);
  return system(cmd);
}

static int nginx_start(void) {
  const char *tmp = getenv("TMPDIR");

  if (tmp == NULL || *tmp == '\0')
    tmp = "/tmp";
  snprintf(nginx.dir, sizeof(nginx.dir), "%s/uvfetch-nginx-XXXXXX", tmp);
  if (mkdtemp(nginx.dir) == NULL) {
    perror("mkdtemp");
    return -1;
  }
  if (nginx_sh("start") != 0)
    return -1;
  nginx.http_port = read_port(nginx.dir, "http_port");
  nginx.https_port = read_port(nginx.dir, "https_port");
  snprintf(nginx.cacert, sizeof(nginx.cacert), "%s/ca.pem", nginx.dir);
  if (nginx.http_port <= 0 || nginx.https_port <= 0)
    return -1;
  return 0;
}

static void nginx_stop(void) {
  char cmd[512];

  nginx_sh("stop");
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nginx.dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", nginx.dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_http11_keepalive, setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_https_http2, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_https_http11, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_https_unknown_ca, setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_https_no_verify, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_http11_and_http2_together, setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_file_sizes, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_big_compressed, setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_big_uncompressed, setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_close_midway_http11, setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_close_midway_http2, setup,
                                      fx_teardown),
  };
  int failed;

  if (nginx_start() != 0) {
    fprintf(stderr, "SKIP: nginx could not start (see above); "
                    "test-nginx needs nginx-light and openssl\n");
    nginx_stop();
    return 77;
  }
  failed = cmocka_run_group_tests(tests, NULL, NULL);
  nginx_stop();
  return failed;
}
