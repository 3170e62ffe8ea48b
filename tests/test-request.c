/* Per-request options through uvfetch_submit: headers, a timeout, and the
 * body, header and setup hooks; and pause/resume of intake. Easy handles
 * are reused, so each test also checks that what one request set does not
 * leak into the next one on the same handle (max_concurrent = 1).
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

static const char pattern[] = "abcdefghijklmnopqrstuvwxyz0123456789\n";

/* What the hooks saw, per tag (0..3). */
typedef struct seen {
  char body[8192]; /* the start of the body */
  size_t body_len; /* every byte handed to on_body */
  int body_calls;
  int pattern_ok; /* every byte matched the test server's pattern */
  char headers[4096];
  size_t headers_len;
  int abort_after; /* on_body returns 1 on this call (1-based); 0: never */
} seen_t;

static seen_t seen[4];

static int on_body(uvfetch_t *f, void *data, const char *buf, size_t len) {
  seen_t *s = &seen[(uintptr_t)data];
  size_t keep = sizeof(s->body) - 1 - s->body_len;
  size_t i;

  if (s->body_len < sizeof(s->body) - 1) {
    if (keep > len)
      keep = len;
    memcpy(s->body + s->body_len, buf, keep);
    s->body[s->body_len + keep] = '\0';
  }
  for (i = 0; i < len; i++) {
    if (buf[i] != pattern[(s->body_len + i) % 37])
      s->pattern_ok = 0;
  }
  s->body_len += len;
  s->body_calls++;
  return s->abort_after != 0 && s->body_calls >= s->abort_after;
}

static int on_header(uvfetch_t *f, void *data, const char *line, size_t len) {
  seen_t *s = &seen[(uintptr_t)data];

  if (s->headers_len + len < sizeof(s->headers)) {
    memcpy(s->headers + s->headers_len, line, len);
    s->headers_len += len;
    s->headers[s->headers_len] = '\0';
  }
  return 0;
}

static int setup_head(uvfetch_t *f, void *data, void *easy) {
  return curl_easy_setopt((CURL *)easy, CURLOPT_NOBODY, 1L) != CURLE_OK;
}

static int setup_refuse(uvfetch_t *f, void *data, void *easy) {
  return 1;
}

static int reset_seen(void **state) {
  size_t i;

  memset(seen, 0, sizeof(seen));
  for (i = 0; i < 4; i++)
    seen[i].pattern_ok = 1;
  return fx_setup(state);
}

/* Submit the test server's `path` with `req`'s options and `tag`. */
static void submit(fixture_t *fx, uvfetch_request_t *req, uintptr_t tag,
                   const char *path) {
  char *url = test_url(&fx->server, "%s", path);

  assert_non_null(url);
  req->url = url;
  req->data = (void *)tag;
  assert_int_equal(uvfetch_submit(fx->f, req, NULL), 0);
  free(url);
}

static void open_one_slot(fixture_t *fx, const char *const *headers) {
  uvfetch_options_t opt;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 1;
  opt.ordered = 1;
  opt.headers = headers;
  fx_open(fx, &opt);
}

static void test_headers(void **state) {
  fixture_t *fx = *state;
  static const char *const fetcher[] = {"X-Fetcher: a", NULL};
  static const char *const own[] = {"X-Request: b", NULL};
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_request_t plain = UVFETCH_REQUEST_INIT;

  open_one_slot(fx, fetcher);
  req.headers = own;
  req.on_body = on_body;
  plain.on_body = on_body;
  submit(fx, &req, 0, "/headers");
  submit(fx, &plain, 1, "/headers");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, 0)->ok, 1);
  assert_int_equal(fx_rec(fx, 1)->ok, 1);
  assert_non_null(strstr(seen[0].body, "X-Fetcher: a\n"));
  assert_non_null(strstr(seen[0].body, "X-Request: b\n"));
  assert_non_null(strstr(seen[1].body, "X-Fetcher: a\n"));
  assert_null(strstr(seen[1].body, "X-Request"));
  assert_int_equal(fx_rec(fx, 0)->bytes, seen[0].body_len);
  fx_finish(fx);
}

static void test_body_hook(void **state) {
  fixture_t *fx = *state;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;

  open_one_slot(fx, NULL);
  req.on_body = on_body;
  submit(fx, &req, 0, "/size/300000");
  submit(fx, &req, 1, "/size/300000?gzip=1");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, 0)->bytes, 300000);
  assert_int_equal(seen[0].body_len, 300000);
  assert_true(seen[0].pattern_ok);
  /* The hook sees the body decoded, as the byte count does. */
  assert_int_equal(fx_rec(fx, 1)->bytes, 300000);
  assert_int_equal(seen[1].body_len, 300000);
  assert_true(seen[1].pattern_ok);
  assert_true(fx_rec(fx, 1)->wire_bytes < 300000);
  fx_finish(fx);
}

static void test_body_hook_stops(void **state) {
  fixture_t *fx = *state;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_request_t plain = UVFETCH_REQUEST_INIT;

  open_one_slot(fx, NULL);
  req.on_body = on_body;
  seen[0].abort_after = 1;
  submit(fx, &req, 0, "/size/1000000");
  submit(fx, &plain, 1, "/size/1000000");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, 0)->ok, 0);
  assert_int_equal(fx_rec(fx, 0)->error, UVFETCH_EWRITE);
  assert_int_equal(fx_rec(fx, 0)->curl_code, CURLE_WRITE_ERROR);
  assert_int_equal(seen[0].body_calls, 1);
  assert_true(fx_rec(fx, 0)->bytes < 1000000);
  assert_int_equal(fx_rec(fx, 1)->ok, 1);
  assert_int_equal(fx_rec(fx, 1)->bytes, 1000000);
  fx_finish(fx);
}

static void test_header_hook(void **state) {
  fixture_t *fx = *state;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_request_t plain = UVFETCH_REQUEST_INIT;

  open_one_slot(fx, NULL);
  req.on_header = on_header;
  plain.on_header = NULL;
  submit(fx, &req, 0, "/redirect/1?to=/size/10");
  submit(fx, &plain, 1, "/size/10");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, 0)->bytes, 10);
  assert_int_equal(fx_rec(fx, 0)->redirects, 2);
  /* Every response's header lines, redirects first, and no body bytes. */
  assert_memory_equal(seen[0].headers, "HTTP/1.1 302", 12);
  assert_non_null(strstr(seen[0].headers, "\r\nHTTP/1.1 200"));
  assert_non_null(strstr(seen[0].headers, "Content-Length: 10\r\n"));
  assert_null(strstr(seen[0].headers, "abcdefghij"));
  /* The next transfer on the handle neither calls the hook nor counts its
   * headers as body. */
  assert_int_equal(fx_rec(fx, 1)->bytes, 10);
  assert_int_equal(seen[1].headers_len, 0);
  fx_finish(fx);
}

static void test_request_timeout(void **state) {
  fixture_t *fx = *state;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_request_t plain = UVFETCH_REQUEST_INIT;

  open_one_slot(fx, NULL);
  req.timeout_ms = 300;
  submit(fx, &req, 0, "/size/10?delay=5000");
  submit(fx, &plain, 1, "/size/10?delay=600");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, 0)->error, UVFETCH_ETIMEDOUT);
  assert_true(fx_rec(fx, 0)->total_time < 4.0);
  /* The timeout was the request's own, not left on the handle. */
  assert_int_equal(fx_rec(fx, 1)->ok, 1);
  assert_int_equal(fx_rec(fx, 1)->bytes, 10);
  fx_finish(fx);
}

static void test_setup_hook(void **state) {
  fixture_t *fx = *state;
  uvfetch_request_t head = UVFETCH_REQUEST_INIT;
  uvfetch_request_t refuse = UVFETCH_REQUEST_INIT;
  uvfetch_request_t plain = UVFETCH_REQUEST_INIT;

  open_one_slot(fx, NULL);
  head.on_setup = setup_head;
  refuse.on_setup = setup_refuse;
  submit(fx, &head, 0, "/size/5000");
  submit(fx, &plain, 1, "/size/5000");
  submit(fx, &refuse, 2, "/size/5000");
  submit(fx, &plain, 3, "/size/5000");
  fx_run(fx);

  assert_int_equal(fx->nrecs, 4);
  /* NOBODY made it a HEAD request: a status, no body. */
  assert_int_equal(fx_rec(fx, 0)->ok, 1);
  assert_int_equal(fx_rec(fx, 0)->http_code, 200);
  assert_int_equal(fx_rec(fx, 0)->bytes, 0);
  /* The handle was reset after it: the next one is a GET again. */
  assert_int_equal(fx_rec(fx, 1)->ok, 1);
  assert_int_equal(fx_rec(fx, 1)->bytes, 5000);
  assert_int_equal(fx_rec(fx, 2)->ok, 0);
  assert_int_equal(fx_rec(fx, 2)->error, UVFETCH_ECURL);
  assert_int_equal(fx_rec(fx, 2)->attempts, 0);
  assert_int_equal(fx_rec(fx, 3)->bytes, 5000);
  fx_finish(fx);
}

static void test_pause_resume(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_stats_t stats;
  long requests = -1;
  int i;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  assert_int_equal(uvfetch_pause(fx->f), 0);
  for (i = 0; i < 3; i++)
    fx_add(fx, (uintptr_t)i, "/size/%d", 100 + i);
  /* Paused, queued URLs do not keep the loop running. */
  fx_run(fx);
  uvfetch_get_stats(fx->f, &stats);
  assert_int_equal(stats.queued, 3);
  assert_int_equal(stats.running, 0);
  assert_int_equal(fx->nrecs, 0);
  assert_int_equal(test_server_stats(&fx->server, &requests, NULL, NULL), 0);
  assert_int_equal(requests, 0);

  assert_int_equal(uvfetch_resume(fx->f), 0);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 3);
  for (i = 0; i < 3; i++)
    assert_int_equal(fx_rec(fx, (size_t)i)->ok, 1);
  assert_int_equal(test_server_stats(&fx->server, &requests, NULL, NULL), 0);
  assert_int_equal(requests, 3);
  fx_finish(fx);
}

/* Proxies come from the environment as libcurl reads them, or from the
 * proxy option; the test server answers absolute-form requests, so it
 * stands in for a proxy, and the URL's own port has nothing behind it. */
static void test_proxy(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  char *proxy;
  char url[64];

  snprintf(url, sizeof(url), "http://127.0.0.1:%d/size/10", test_closed_port());
  proxy = test_url(&fx->server, "%s", "");
  assert_non_null(proxy);
  assert_int_equal(setenv("http_proxy", proxy, 1), 0);
  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  fx_add_url(fx, 0, url);
  fx_run(fx);
  assert_int_equal(unsetenv("http_proxy"), 0);
  assert_int_equal(fx->nrecs, 1);
  assert_int_equal(fx_rec(fx, 0)->ok, 1);
  assert_int_equal(fx_rec(fx, 0)->bytes, 10);
  assert_int_equal(uvfetch_close(fx->f, fx_on_closed), 0);
  fx_run(fx);

  /* The option, with no proxy in the environment. */
  opt.proxy = proxy;
  fx_open(fx, &opt);
  fx_add_url(fx, 1, url);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 2);
  assert_int_equal(fx_rec(fx, 1)->bytes, 10);
  assert_int_equal(uvfetch_close(fx->f, fx_on_closed), 0);
  fx_run(fx);

  /* No proxy at all: the port is closed. The two fetchers before were
   * closed and their loops run: the last one's close is counted alone. */
  assert_int_equal(fx->close_calls, 2);
  fx->close_calls = 0;
  opt.proxy = NULL;
  fx_open(fx, &opt);
  fx_add_url(fx, 2, url);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 3);
  assert_int_equal(fx_rec(fx, 2)->error, UVFETCH_ECONNECT);
  free(proxy);
  fx_finish(fx);
}

static void test_submit_bad_arguments(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;

  uvfetch_options_init(&opt);
  fx_open(fx, &opt);
  assert_int_equal(uvfetch_submit(fx->f, NULL, NULL), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), UVFETCH_EINVAL);
  req.url = "http://127.0.0.1:1/";
  req.timeout_ms = -1;
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), UVFETCH_EINVAL);
  req.url = "not a url";
  req.timeout_ms = 0;
  assert_int_equal(uvfetch_submit(fx->f, &req, NULL), UVFETCH_EURL);
  assert_int_equal(uvfetch_pause(NULL), UVFETCH_EINVAL);
  assert_int_equal(uvfetch_resume(NULL), UVFETCH_EINVAL);
  fx_run(fx);
  assert_int_equal(fx->nrecs, 0);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_headers, reset_seen, fx_teardown),
      cmocka_unit_test_setup_teardown(test_body_hook, reset_seen, fx_teardown),
      cmocka_unit_test_setup_teardown(test_body_hook_stops, reset_seen,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_header_hook, reset_seen,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_request_timeout, reset_seen,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_setup_hook, reset_seen, fx_teardown),
      cmocka_unit_test_setup_teardown(test_pause_resume, reset_seen,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_proxy, reset_seen, fx_teardown),
      cmocka_unit_test_setup_teardown(test_submit_bad_arguments, reset_seen,
                                      fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
