/* Allocation failures: each of the library's own allocations, failing in
 * turn, must lead to a clean error return or an error record, never a
 * crash, a leak, a lost or a doubled result, or a handle left on the loop.
 *
 * The library is linked statically into this program with the linker's
 * --wrap for malloc, calloc, realloc and strdup, so only its own calls (and
 * this file's) come here; libcurl's and libuv's do not. A run arms the
 * failure of the Nth allocation, for N = 1, 2, ... until a run makes fewer
 * than N allocations: then every allocation of the scenario has failed
 * once. The sanitizer and valgrind runs of the suite check for leaks.
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

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown; /* the allocation that fails when it reaches 0 */
static long made;      /* allocations while armed */

static int should_fail(void) {
  if (countdown <= 0)
    return 0;
  made++;
  return --countdown == 0;
}

void *__wrap_malloc(size_t n) {
  return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size) {
  return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n) {
  return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s) {
  return should_fail() ? NULL : __real_strdup(s);
}

#define NURLS 6

static int results[NURLS];
static int closed;

static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  uintptr_t i = (uintptr_t)r->data;

  results[i]++;
  /* Whatever failed, a result is whole: strings are there. */
  if (r->url == NULL || r->effective_url == NULL || r->message == NULL)
    results[i] += 100;
}

static void on_closed(uvfetch_t *f) {
  closed++;
}

/* One run with the Nth allocation failing. Returns how many allocations the
 * run made while armed. */
static long run_once(const test_server_t *server, long n) {
  static const char *const headers[] = {"X-A: 1", NULL};
  static const char *const more[] = {"X-B: 2", NULL};
  uvfetch_options_t opt;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uv_loop_t loop;
  uvfetch_t *f = NULL;
  char *urls[NURLS];
  int accepted[NURLS];
  uintptr_t i;
  int err;

  urls[0] = test_url(server, "/size/100");
  urls[1] = test_url(server, "/redirect/2");
  urls[2] = test_url(server, "/flaky/alloc-%ld?fail=1", n);
  urls[3] = test_url(server, "/size/5?gzip=1");
  urls[4] = strdup("not a url");
  urls[5] = test_url(server, "/headers");
  for (i = 0; i < NURLS; i++)
    assert_non_null(urls[i]);
  memset(results, 0, sizeof(results));
  memset(accepted, 0, sizeof(accepted));
  closed = 0;
  assert_int_equal(uv_loop_init(&loop), 0);

  uvfetch_options_init(&opt);
  opt.max_concurrent = 2;
  opt.ordered = 1;
  opt.retries = 1;
  opt.retry_delay_ms = 1;
  opt.max_per_host = 1;
  opt.headers = headers;
  made = 0;
  countdown = n;
  err = uvfetch_init(&loop, &f, &opt, on_done);
  if (err == 0) {
    for (i = 0; i < NURLS - 1; i++) {
      err = uvfetch_add_ex(f, urls[i], (void *)i,
                           i == 4 ? UVFETCH_ADD_REPORT_INVALID : 0, NULL);
      assert_true(err == 0 || err == UVFETCH_ENOMEM);
      accepted[i] = err == 0;
    }
    req.url = urls[5];
    req.data = (void *)(uintptr_t)5;
    req.headers = more;
    err = uvfetch_submit(f, &req, NULL);
    assert_true(err == 0 || err == UVFETCH_ENOMEM);
    accepted[5] = err == 0;
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uvfetch_close(f, on_closed), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
  } else {
    /* A failed init left nothing behind; its handles, if any were made,
     * are closed by the loop. */
    assert_int_equal(err, UVFETCH_ENOMEM);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  countdown = 0;
  /* Exactly one whole result for each accepted URL, none for the rest. */
  for (i = 0; i < NURLS; i++)
    assert_int_equal(results[i], accepted[i]);
  assert_int_equal(uv_loop_close(&loop), 0);
  for (i = 0; i < NURLS; i++)
    free(urls[i]);
  return made;
}

static void test_each_allocation_fails(void **state) {
  test_server_t server;
  long n;
  long total = 0;

  assert_int_equal(test_server_start(&server), 0);
  for (n = 1; n < 10000; n++) {
    if (getenv("ALLOC_TRACE"))
      fprintf(stderr, "n=%ld\n", n);
    total = run_once(&server, n);
    if (total < n)
      break;
  }
  printf("%ld allocations, each failed in turn\n", total);
  /* The scenario allocates; every one of its allocations failed once. */
  assert_true(n > 10);
  assert_true(total < n);
  test_server_stop(&server);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_allocation_fails),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
