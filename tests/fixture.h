/* The fixture the cmocka programs share: a loop with a watchdog, a loopback
 * test server, and a copy of every result a fetcher reports. A test opens a
 * fetcher with fx_open(), runs the loop with fx_run(), and ends with
 * fx_finish(), which closes the fetcher and asserts that uv_loop_close()
 * returns 0. The helpers that assert may be called only from a test's own
 * code, never from a libuv callback or a hook: a failed cmocka assert jumps
 * out of whatever called it, the library included.
 */
#ifndef UVFETCH_TESTS_FIXTURE_H
#define UVFETCH_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "support.h"
#include "uvfetch.h"

/* How long one fx_run() may take before the test fails instead of hanging:
 * generous, because the suite must pass under valgrind on a loaded machine.
 */
#define FX_RUN_LIMIT_MS 60000

/* One result, copied: uvfetch_result_t is valid only during the callback. */
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
  double total_time;
  double ttfb;
  double start_time;
  unsigned slot;
  char url[256];
  char effective_url[256];
  char message[256];
  int inside;            /* fx->inside when the callback ran */
  uvfetch_stats_t stats; /* the fetcher's counts during the callback */
} rec_t;

typedef struct fixture {
  uv_loop_t loop;
  uv_timer_t watchdog;
  uint64_t run_limit_ms;
  int expired;
  int loop_closed;
  int has_server; /* whether setup started `server` */
  test_server_t server;
  uvfetch_t *f; /* the fetcher fx_open() made last */
  rec_t *recs;  /* in the order the callbacks came */
  size_t nrecs;
  size_t cap;
  int close_calls;
  size_t recs_at_close; /* results seen when the close callback ran */
  int inside;           /* set by a test around a call it is inside of */
  /* Runs after each result is recorded, so a test can act from inside. It
   * runs in a libuv callback: it must not assert, only note what it saw. */
  void (*hook)(struct fixture *fx, const uvfetch_result_t *r);
  uint64_t ordinal; /* for the hooks' use */
  int err[4];       /* for the hooks' use */
} fixture_t;

/* cmocka setup: allocates a fixture with its loop and an unreferenced
 * watchdog of `run_limit_ms`, starts a test server when `server` is set,
 * and stores the fixture in *state. Returns 0, or -1 when any of it fails.
 */
int fx_setup_with(void **state, int server, uint64_t run_limit_ms);

/* cmocka setup: fx_setup_with(state, 1, FX_RUN_LIMIT_MS). */
int fx_setup(void **state);

/* cmocka teardown: after a test that failed half-way, closes what it left
 * open so that the next test and the leak checkers see only their own;
 * then stops the server and frees the fixture. Returns 0.
 */
int fx_teardown(void **state);

/* Makes fx->f with these options, recording into fx. opt->data is the
 * fixture's: the callbacks find it there.
 */
void fx_open(fixture_t *fx, uvfetch_options_t *opt);

/* The close callback fx_finish() passes: counts the calls and notes how
 * many results came before. For a test that closes the fetcher itself.
 */
void fx_on_closed(uvfetch_t *f);

/* Adds `url` to fx->f with `tag` as its data, asserting that it is
 * accepted; returns its ordinal.
 */
uint64_t fx_add_url(fixture_t *fx, uintptr_t tag, const char *url);

/* Adds the test server's URL for the formatted path; returns its ordinal. */
uint64_t fx_add(fixture_t *fx, uintptr_t tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs the loop until it has nothing left to do, and fails the test when
 * that takes longer than the fixture's limit.
 */
void fx_run(fixture_t *fx);

/* Closes the fetcher, runs the loop until its close callback has run, then
 * fx_close_loop(): nothing of the library may be left on the loop.
 */
void fx_finish(fixture_t *fx);

/* fx_finish() for a test that closed the fetcher itself, from a callback or
 * a timer: runs the loop until the close callback has run, once, then
 * fx_close_loop().
 */
void fx_finish_closed(fixture_t *fx);

/* Closes the watchdog and asserts that uv_loop_close() returns 0, which it
 * does only when no other handle is left on the loop.
 */
void fx_close_loop(fixture_t *fx);

/* The one result whose tag is `tag`; fails when there is none, or two. */
const rec_t *fx_rec(const fixture_t *fx, uintptr_t tag);

/* There are n results, and each ordinal in [0, n) came back exactly once. */
void fx_assert_each_ordinal_once(const fixture_t *fx, size_t n);

#endif
