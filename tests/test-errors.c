/* Errors: HTTP error statuses are responses, network failures carry the
 * right code, refused URLs and arguments are refused at once (or reported
 * in turn with UVFETCH_ADD_REPORT_INVALID), and the error table names
 * every code.
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
#include "support.h"
#include "uvfetch.h"

/* 404 and 500 are complete responses: ok, with their status and body. */
static void test_http_error_status_is_ok(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_stats_t st;
  const rec_t *r;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_add(fx, 404, "/status/404");
  fx_add(fx, 500, "/status/500");
  fx_add(fx, 503, "/size/100?status=503");
  fx_add(fx, 1, "/no/such/endpoint");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 4);
  r = fx_rec(fx, 404);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->error, 0);
  assert_int_equal(r->curl_code, 0);
  assert_string_equal(r->message, "");
  assert_int_equal(r->http_code, 404);
  assert_int_equal(r->http_version, 11);
  assert_int_equal(r->bytes, strlen("status 404\n"));
  r = fx_rec(fx, 500);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->error, 0);
  assert_int_equal(r->http_code, 500);
  assert_int_equal(r->bytes, strlen("status 500\n"));
  r = fx_rec(fx, 503);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 503);
  assert_int_equal(r->bytes, 100);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->http_code, 404);
  assert_int_equal(r->bytes, strlen("not found\n"));

  uvfetch_get_stats(fx->f, &st);
  assert_int_equal(st.done, 4);
  assert_int_equal(st.failed, 0);
  fx_finish(fx);
}

static void test_connection_refused(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;
  char url[64];
  int port = test_closed_port();

  assert_true(port > 0);
  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/size/10", port);
  assert_int_equal(uvfetch_add_ex(fx->f, url, (void *)1, 0, NULL), 0);
  fx_run(fx);

  assert_int_equal(fx->nrecs, 1);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_ECONNECT);
  assert_int_equal(r->curl_code, CURLE_COULDNT_CONNECT);
  assert_int_equal(r->curl_code, 7);
  assert_true(strlen(r->message) > 0);
  assert_int_equal(r->http_code, 0);
  assert_int_equal(r->http_version, 0);
  assert_int_equal(r->bytes, 0);
  assert_string_equal(r->url, url);
  fx_finish(fx);
}

static const char *const malformed[] = {"not a url", "http://exa mple.com/",
                                        "http://", ""};
#define NMALFORMED (sizeof(malformed) / sizeof(malformed[0]))
static const char *const forbidden[] = {"ftp://127.0.0.1/",
                                        "gopher://127.0.0.1/"};
#define NFORBIDDEN (sizeof(forbidden) / sizeof(forbidden[0]))

/* A refused URL is refused by the call: no ordinal is used up and no
 * callback ever fires for it. */
static void test_refused_urls(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_stats_t st;
  uint64_t ordinal = 777;
  size_t i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  for (i = 0; i < NMALFORMED; i++) {
    assert_int_equal(uvfetch_add(fx->f, malformed[i], (void *)100),
                     UVFETCH_EURL);
    assert_int_equal(
        uvfetch_add_ex(fx->f, malformed[i], (void *)100, 0, &ordinal),
        UVFETCH_EURL);
  }
  for (i = 0; i < NFORBIDDEN; i++) {
    assert_int_equal(uvfetch_add(fx->f, forbidden[i], (void *)100),
                     UVFETCH_ESCHEME);
    assert_int_equal(
        uvfetch_add_ex(fx->f, forbidden[i], (void *)100, 0, &ordinal),
        UVFETCH_ESCHEME);
  }
  /* The ordinal is stored only on success. */
  assert_int_equal(ordinal, 777);
  uvfetch_get_stats(fx->f, &st);
  assert_int_equal(st.added, 0);
  assert_int_equal(st.queued, 0);

  assert_int_equal(fx_add(fx, 1, "/size/3"), 0);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 1);
  assert_int_equal(fx->recs[0].tag, 1);
  assert_int_equal(fx->recs[0].ordinal, 0);
  assert_int_equal(fx->recs[0].bytes, 3);
  fx_finish(fx);
}

/* With UVFETCH_ADD_REPORT_INVALID each refused URL is accepted and becomes
 * exactly one failure record, with its error and its ordinal. */
static void test_refused_urls_reported(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_stats_t st;
  uint64_t ordinal[NMALFORMED + NFORBIDDEN];
  uint64_t good[2];
  const rec_t *r;
  size_t i;
  size_t n = 0;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  good[0] = fx_add(fx, 1000, "/size/11");
  for (i = 0; i < NMALFORMED; i++, n++)
    assert_int_equal(uvfetch_add_ex(fx->f, malformed[i], (void *)n,
                                    UVFETCH_ADD_REPORT_INVALID, &ordinal[n]),
                     0);
  good[1] = fx_add(fx, 1001, "/size/12");
  for (i = 0; i < NFORBIDDEN; i++, n++)
    assert_int_equal(uvfetch_add_ex(fx->f, forbidden[i], (void *)n,
                                    UVFETCH_ADD_REPORT_INVALID, &ordinal[n]),
                     0);
  /* Ordinals count every accepted URL, valid or not. */
  assert_int_equal(good[0], 0);
  assert_int_equal(ordinal[0], 1);
  assert_int_equal(good[1], 1 + NMALFORMED);
  assert_int_equal(ordinal[NMALFORMED], 2 + NMALFORMED);
  assert_int_equal(ordinal[n - 1], 1 + n);
  fx_run(fx);

  assert_int_equal(fx->nrecs, n + 2);
  for (i = 0; i < n; i++) {
    r = fx_rec(fx, i);
    assert_int_equal(r->ordinal, ordinal[i]);
    assert_int_equal(r->ok, 0);
    assert_int_equal(r->error, i < NMALFORMED ? UVFETCH_EURL : UVFETCH_ESCHEME);
    assert_string_equal(r->url, i < NMALFORMED ? malformed[i]
                                               : forbidden[i - NMALFORMED]);
    assert_true(strlen(r->message) > 0);
    assert_int_equal(r->http_code, 0);
    assert_int_equal(r->bytes, 0);
  }
  r = fx_rec(fx, 1000);
  assert_int_equal(r->ordinal, good[0]);
  assert_int_equal(r->bytes, 11);
  r = fx_rec(fx, 1001);
  assert_int_equal(r->ordinal, good[1]);
  assert_int_equal(r->bytes, 12);

  uvfetch_get_stats(fx->f, &st);
  assert_int_equal(st.added, n + 2);
  assert_int_equal(st.done, n + 2);
  assert_int_equal(st.failed, n);
  fx_finish(fx);
}

static void dummy_done(uvfetch_t *f, const uvfetch_result_t *r) {
  (void)f;
  (void)r;
  fail_msg("a refused call must never call back");
}

/* Every bad argument is refused, *out stays untouched, and nothing is left
 * on the loop. */
static void test_bad_arguments(void **state) {
  fixture_t *fx = *state;
  uvfetch_t *sentinel = (uvfetch_t *)&sentinel;
  uvfetch_t *f = sentinel;
  uvfetch_options_t opt;
  char *url;

  uvfetch_options_init(&opt);
  assert_int_equal(uvfetch_init(NULL, &f, &opt, dummy_done), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_init(&fx->loop, NULL, &opt, dummy_done),
                   UVFETCH_EINVAL);
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, NULL), UVFETCH_EINVAL);
  opt.max_concurrent = 0;
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, dummy_done),
                   UVFETCH_EINVAL);
  uvfetch_options_init(&opt);
  opt.http_version = 15;
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, dummy_done),
                   UVFETCH_EINVAL);
  uvfetch_options_init(&opt);
  opt.timeout_ms = -1;
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, dummy_done),
                   UVFETCH_EINVAL);
  uvfetch_options_init(&opt);
  opt.ordered = 1;
  opt.max_concurrent = 8;
  opt.order_window = 4; /* smaller than max_concurrent */
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, dummy_done),
                   UVFETCH_EINVAL);
  assert_ptr_equal(f, sentinel);

  /* The failed inits left nothing behind. */
  assert_int_equal(uv_loop_alive(&fx->loop), 0);

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  url = test_url(&fx->server, "/size/1");
  assert_int_equal(uvfetch_add(fx->f, NULL, NULL), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_add_ex(fx->f, NULL, NULL, 0, NULL), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_add(NULL, url, NULL), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_cancel(NULL, 0), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_close(NULL, NULL), UVFETCH_EINVAL);
  free(url);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 0);
  fx_finish(fx);
}

static void test_timeout(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const rec_t *r;

  uvfetch_options_init(&opt);
  opt.timeout_ms = 300;
  fx_open(fx, &opt);
  fx_add(fx, 1, "/size/10?delay=30000");
  fx_add(fx, 2, "/size/10");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_ETIMEDOUT);
  assert_int_equal(r->curl_code, CURLE_OPERATION_TIMEDOUT);
  assert_true(strlen(r->message) > 0);
  assert_int_equal(r->http_code, 0);
  /* The limit is per transfer: the fast one, added alongside on a fresh
   * fetcher, is not affected by it. */
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->bytes, 10);
  fx_finish(fx);
}

/* Name resolution can fail only where no DNS packet can leave: the CI runs
 * the suite in a network namespace with loopback alone and says so with
 * UVFETCH_TEST_ISOLATED_NET=1. Anywhere else this would query real DNS. */
static void test_unknown_host(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  const char *isolated = getenv("UVFETCH_TEST_ISOLATED_NET");
  const rec_t *r;

  if (isolated == NULL || strcmp(isolated, "1") != 0) {
    print_message("skipped: set UVFETCH_TEST_ISOLATED_NET=1 inside "
                  "`unshare -n` to run it\n");
    fx_close_loop(fx);
    skip();
  }
  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  assert_int_equal(
      uvfetch_add_ex(fx->f, "http://no-such-host.invalid/", (void *)1, 0, NULL),
      0);
  fx_add(fx, 2, "/size/2");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  r = fx_rec(fx, 1);
  assert_int_equal(r->ok, 0);
  assert_int_equal(r->error, UVFETCH_ERESOLVE);
  assert_int_equal(r->curl_code, CURLE_COULDNT_RESOLVE_HOST);
  assert_true(strlen(r->message) > 0);
  r = fx_rec(fx, 2);
  assert_int_equal(r->ok, 1);
  assert_int_equal(r->bytes, 2);
  fx_finish(fx);
}

/* The whole table, as the header declares it. */
static void test_error_table(void **state) {
  static const struct {
    int code;
    const char *name;
    const char *msg;
  } table[] = {
#define XX(name, value, msg) {UVFETCH_##name, "UVFETCH_" #name, msg},
      UVFETCH_ERRNO_MAP(XX)
#undef XX
  };
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  size_t n = sizeof(table) / sizeof(table[0]);
  size_t i;
  size_t j;

  assert_int_equal(n, 19);
  for (i = 0; i < n; i++) {
    assert_true(table[i].code < 0);
    assert_true(table[i].code < UVFETCH_ERRNO_MAX_);
    assert_string_equal(uvfetch_err_name(table[i].code), table[i].name);
    assert_int_equal(strncmp(uvfetch_err_name(table[i].code), "UVFETCH_", 8),
                     0);
    assert_string_equal(uvfetch_strerror(table[i].code), table[i].msg);
    assert_true(strlen(uvfetch_strerror(table[i].code)) > 0);
    for (j = 0; j < i; j++)
      assert_int_not_equal(table[i].code, table[j].code);
  }
  assert_string_equal(uvfetch_err_name(UVFETCH_ETIMEDOUT), "UVFETCH_ETIMEDOUT");
  assert_string_equal(uvfetch_strerror(UVFETCH_ECANCELED),
                      "transfer cancelled");

  /* libuv's codes pass through with libuv's own words. */
  assert_string_equal(uvfetch_err_name(UV_ECONNREFUSED), "ECONNREFUSED");
  assert_string_equal(uvfetch_strerror(UV_ECONNREFUSED),
                      uv_strerror(UV_ECONNREFUSED));
  assert_string_equal(uvfetch_err_name(UV_EOF), "EOF");
  assert_string_equal(uvfetch_strerror(UV_ENOMEM), uv_strerror(UV_ENOMEM));
  assert_string_equal(uvfetch_err_name(UV_EAI_NONAME), "EAI_NONAME");

  /* Nothing of the library on the loop. */
  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_finish(fx);
}

/* A code that is neither uvfetch's nor libuv's is "unknown error", as the
 * header promises. (libuv's own answer for such a code is a malloc'd
 * "Unknown system error N" that nobody frees.) */
static void test_unknown_error_codes(void **state) {
  static const int unknown[] = {1,      12345,  -200,   -5000,
                                -29999, -30000, -30100, -100000};
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  size_t i;

  for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    assert_non_null(uvfetch_strerror(unknown[i]));
    assert_non_null(uvfetch_err_name(unknown[i]));
    assert_string_equal(uvfetch_strerror(unknown[i]), "unknown error");
  }
  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_http_error_status_is_ok, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_connection_refused, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_refused_urls, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_refused_urls_reported, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_bad_arguments, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_timeout, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_unknown_host, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_error_table, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_unknown_error_codes, fx_setup,
                                      fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
