/* The adaptive limit in the engine (opt.adaptive, the command's -j auto),
 * against the loopback test server: a workload of delayed answers runs to
 * completion with every URL once, the limit climbing from 8 toward its
 * ceiling and never past it; a host that answers 503 is held to one or two
 * at a time. The controller itself is tested on its own in test-adapt.c.
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

/* After each result: the fetcher's limit then, the first one and the
 * highest (err[0] and err[1]). */
static void note_limit(fixture_t *fx, const uvfetch_result_t *r) {
  int limit = (int)uvfetch_get_limit(fx->f);

  if (fx->nrecs == 1)
    fx->err[0] = limit;
  if (limit > fx->err[1])
    fx->err[1] = limit;
}

/* 400 URLs answered after 50 ms each, a ceiling of 64: the limit starts
 * at 8 and grows while answers keep coming back about as fast (how far
 * depends on how the Python server copes on a loaded machine: 33 here,
 * with 32 at once at the server); the server never sees more than 64 at
 * once, and answers each URL once. */
static void test_delay_workload(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  long requests = -1;
  long active = -1;
  long peak = -1;
  uint64_t first_limit = 0;
  uint64_t max_limit = 0;
  uint64_t max_running = 0;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 64;
  opt.adaptive = 1;
  fx_open(fx, &opt);
  assert_int_equal(uvfetch_get_limit(fx->f), 8);
  fx->hook = note_limit;
  assert_int_equal(test_server_reset(&fx->server), 0);
  for (i = 0; i < 400; i++)
    assert_int_equal(fx_add(fx, i, "/size/%zu?delay=50", 10 + i % 7), i);
  fx_run(fx);

  fx_assert_each_ordinal_once(fx, 400);
  first_limit = (uint64_t)fx->err[0];
  max_limit = (uint64_t)fx->err[1];
  for (i = 0; i < fx->nrecs; i++) {
    assert_int_equal(fx->recs[i].ok, 1);
    assert_int_equal(fx->recs[i].http_code, 200);
    assert_int_equal(fx->recs[i].bytes, 10 + fx->recs[i].tag % 7);
    if (fx->recs[i].stats.running > max_running)
      max_running = fx->recs[i].stats.running;
  }
  assert_int_equal(test_server_stats(&fx->server, &requests, &active, &peak),
                   0);
  printf("# delay workload: limit %llu at the first answer, %llu at most; "
         "%llu running at most, %ld at the server\n",
         (unsigned long long)first_limit, (unsigned long long)max_limit,
         (unsigned long long)max_running, peak);
  assert_int_equal(requests, 400);
  assert_int_equal(active, 0);
  assert_true(first_limit <= 16);
  assert_true(max_limit > 8 && max_limit <= 64);
  assert_true(max_running <= 64);
  assert_true(peak > 8 && peak <= 64);
  fx_finish(fx);
}

/* A host that answers every request 503 with Retry-After: 1: each of the
 * 120 URLs completes once with its 503 (no retries asked for), and the
 * host's limit backs off from 8 until it runs one or two at a time. */
static void test_refusing_host_backs_off(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  long requests = -1;
  long active = -1;
  long peak = -1;
  uint64_t late_running = 0;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 64;
  opt.adaptive = 1;
  fx_open(fx, &opt);
  assert_int_equal(test_server_reset(&fx->server), 0);
  for (i = 0; i < 120; i++)
    assert_int_equal(fx_add(fx, i, "/size/10?status=503&delay=20"), i);
  fx_run(fx);

  fx_assert_each_ordinal_once(fx, 120);
  for (i = 0; i < fx->nrecs; i++) {
    assert_int_equal(fx->recs[i].http_code, 503);
    assert_int_equal(fx->recs[i].attempts, 1);
    if (i >= 60 && fx->recs[i].stats.running > late_running)
      late_running = fx->recs[i].stats.running;
  }
  assert_int_equal(test_server_stats(&fx->server, &requests, &active, &peak),
                   0);
  printf("# refusing host: %ld at the server at most, %llu running at most "
         "over the second half\n",
         peak, (unsigned long long)late_running);
  assert_int_equal(requests, 120);
  assert_true(peak <= 8);
  /* The running count in a callback includes none of the finished one. */
  assert_true(late_running <= 1);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_delay_workload, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_refusing_host_backs_off, fx_setup,
                                      fx_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
