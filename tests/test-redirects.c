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

#include "fixture.h"
#include "support.h"
#include "uvfetch.h"

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

/* Credentials given as headers go to the host they were meant for, not to
 * another host a redirect points at; other headers follow the redirect. */
static char seen_same[4096];
static char seen_other[4096];

static int keep_body(uvfetch_t *f, void *data, const char *buf, size_t len) {
  char *into = data;
  size_t have = strlen(into);

  if (buf != NULL && have + len < 4096) {
    memcpy(into + have, buf, len);
    into[have + len] = '\0';
  }
  return 0;
}

/* Redirect twice from fx->server: once on its own origin, once to `other`
 * (another port, so another origin), with the fetcher's headers and a
 * request's own; seen_same and seen_other get what /headers saw. */
static void run_two_redirects(fixture_t *fx, test_server_t *other,
                              int trusted) {
  static const char *const headers[] = {"Authorization: Bearer secret",
                                        "Cookie: session=secret",
                                        "X-Api-Key: secret-key",
                                        "Proxy-Authorization: Basic secret",
                                        "X-Plain: plain",
                                        NULL};
  static const char *const own[] = {"X-Own: mine", NULL};
  uvfetch_options_t opt;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  char *target;
  char *url;

  uvfetch_options_init(&opt);
  opt.headers = headers;
  opt.location_trusted = trusted;
  fx_open(fx, &opt);
  seen_same[0] = '\0';
  seen_other[0] = '\0';
  req.on_body = keep_body;
  req.headers = own;

  url = test_url(&fx->server, "/redirect/1?to=/headers");
  req.url = url;
  req.data = seen_same;
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), 0);
  free(url);
  target = test_url(other, "/headers");
  url = test_url(&fx->server, "/redirect-to?url=%s", target);
  req.url = url;
  req.data = seen_other;
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), 0);
  free(url);
  free(target);
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, (uintptr_t)seen_same)->http_code, 200);
  assert_int_equal(fx_rec(fx, (uintptr_t)seen_other)->http_code, 200);
  assert_true(fx_rec(fx, (uintptr_t)seen_same)->redirects >= 1);
  assert_int_equal(fx_rec(fx, (uintptr_t)seen_other)->redirects, 1);
  /* Same origin: everything goes. */
  assert_non_null(strstr(seen_same, "Authorization: Bearer secret"));
  assert_non_null(strstr(seen_same, "Cookie: session=secret"));
  assert_non_null(strstr(seen_same, "X-Api-Key: secret-key"));
  assert_non_null(strstr(seen_same, "Proxy-Authorization: Basic secret"));
  assert_non_null(strstr(seen_same, "X-Plain: plain"));
  assert_non_null(strstr(seen_same, "X-Own: mine"));
}

/* On a redirect to another origin the caller's headers stay behind, every
 * one of them (issue 16, D.10): secrets come in many names. */
static void test_headers_stay_on_origin(void **state) {
  fixture_t *fx = *state;
  test_server_t other;

  assert_int_equal(test_server_start(&other), 0);
  run_two_redirects(fx, &other, 0);
  assert_null(strstr(seen_other, "secret"));
  assert_null(strstr(seen_other, "X-Plain"));
  assert_null(strstr(seen_other, "X-Own"));
  /* What libcurl sends of its own still goes. */
  assert_non_null(strstr(seen_other, "User-Agent: uvfetch/"));
  fx_finish(fx);
  test_server_stop(&other);
}

/* location_trusted keeps them, as curl --location-trusted; libcurl still
 * holds back the Authorization and Cookie it knows for the first host. */
static void test_location_trusted_keeps_headers(void **state) {
  fixture_t *fx = *state;
  test_server_t other;

  assert_int_equal(test_server_start(&other), 0);
  run_two_redirects(fx, &other, 1);
  assert_non_null(strstr(seen_other, "X-Api-Key: secret-key"));
  assert_non_null(strstr(seen_other, "Proxy-Authorization: Basic secret"));
  assert_non_null(strstr(seen_other, "X-Plain: plain"));
  assert_non_null(strstr(seen_other, "X-Own: mine"));
  fx_finish(fx);
  test_server_stop(&other);
}

static void never_done(uvfetch_t *f, const uvfetch_result_t *r) {
  (void)f;
  (void)r;
  abort();
}

/* CR or LF in a header or the User-Agent would start another header, or
 * a second request: refused where they are given (issue 16, D.11). */
static void test_header_injection_refused(void **state) {
  fixture_t *fx = *state;
  static const char *const bad[] = {"X-A: a\r\nX-Injected: yes", NULL};
  static const char *const bad_lf[] = {"X-A: a", "X-B: b\nGET / HTTP/1.1",
                                       NULL};
  uvfetch_options_t opt;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_t *f = NULL;

  uvfetch_options_init(&opt);
  opt.user_agent = "ua\r\nX-Injected-UA: yes";
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, never_done),
                   UVFETCH_EINVAL);
  uvfetch_options_init(&opt);
  opt.headers = bad;
  assert_int_equal(uvfetch_init(&fx->loop, &f, &opt, never_done),
                   UVFETCH_EINVAL);
  assert_null(f);
  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  req.url = "http://127.0.0.1:1/";
  req.headers = bad_lf;
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), UVFETCH_EINVAL);
  req.headers = bad;
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), UVFETCH_EINVAL);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 0);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_chain_followed, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_chain_longer_than_limit, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_zero_redirects_allowed, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_loop_fails, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_not_followed, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_headers_stay_on_origin, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_location_trusted_keeps_headers,
                                      fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_header_injection_refused, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_other_schemes_refused, fx_setup,
                                      fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
