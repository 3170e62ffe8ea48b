/* The adaptive limit in the engine (opt.adaptive, the command's -j auto),
 * against loopback servers, in the cases of issue 12 (bench/run's workload
 * 8 measures the same cases for speed):
 *  a. delayed answers, unlimited capacity (the Python test server): the
 *     limit climbs from 8 toward its ceiling and never past it;
 *  b. 16 workers, 10 ms each, a queue past them (bench/delayserver.c): the
 *     server sees about its capacity in flight, not the ceiling;
 *  c. 503 with Retry-After: 1 past 32 in flight: after the first answers,
 *     few are refused;
 *  d. a host as in (a) beside one as in (b), in one list: the slow one is
 *     held near its capacity, the fast one goes far above it.
 * And a host that answers every request 503 is held to one or two at a
 * time. Every URL completes exactly once throughout. No assert reads a
 * clock: what they check is counted, at the client (its transfers in
 * flight at each completion) or at the server (in flight when each request
 * arrived), with bounds wide enough for a loaded machine and for ASan. The
 * controller itself is tested on its own in test-adapt.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "support.h"
#include "uvfetch.h"

extern char **environ;

/* ---- bench/delayserver.c, started by the test ---------------------------
 */

/* The servers a test started, stopped by the teardown even when the test
 * failed half-way. */
#define DS_MAX 2
static test_server_t ds_servers[DS_MAX];
static int ds_count;

/* Starts `delayserver ARGS... - DELAY_MS` on 127.0.0.1 and returns it, or
 * fails the test. It prints its port, and exits when its standard input
 * (our pipe) reaches EOF, so it dies with the test. */
static test_server_t *ds_start(const char *args, unsigned delay_ms) {
  test_server_t *s = &ds_servers[ds_count];
  char *argv[16];
  char copy[128];
  char delay[16];
  char line[32];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int in_pipe[2];
  int out_pipe[2];
  size_t len = 0;
  int argc = 0;
  char *tok;
  char *save = NULL;
  ssize_t n;

  assert_true(ds_count < DS_MAX);
  snprintf(copy, sizeof(copy), "%s", args);
  snprintf(delay, sizeof(delay), "%u", delay_ms);
  argv[argc++] = (char *)TEST_DELAYSERVER;
  for (tok = strtok_r(copy, " ", &save); tok != NULL && argc < 12;
       tok = strtok_r(NULL, " ", &save))
    argv[argc++] = tok;
  argv[argc++] = (char *)"-";
  argv[argc++] = delay;
  argv[argc] = NULL;
  assert_int_equal(pipe2(in_pipe, O_CLOEXEC), 0);
  assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
  assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
  assert_int_equal(posix_spawnattr_init(&attr), 0);
  /* A process group of its own, as test_server_stop expects. */
  assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP), 0);
  assert_int_equal(posix_spawnattr_setpgroup(&attr, 0), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0), 0);
  assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1), 0);
  assert_int_equal(
      posix_spawn(&s->pid, TEST_DELAYSERVER, &fa, &attr, argv, environ), 0);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(in_pipe[0]);
  close(out_pipe[1]);
  s->stdin_fd = in_pipe[1];
  s->port = 0;
  ds_count++;
  /* The port line; the server writes nothing else there. */
  while (len < sizeof(line) - 1) {
    n = read(out_pipe[0], line + len, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || line[len] == '\n')
      break;
    len++;
  }
  close(out_pipe[0]);
  line[len] = '\0';
  s->port = atoi(line);
  assert_true(s->port > 0 && s->port < 65536);
  return s;
}

static void ds_stop_all(void) {
  while (ds_count > 0)
    test_server_stop(&ds_servers[--ds_count]);
}

static int auto_teardown(void **state) {
  ds_stop_all();
  return fx_teardown(state);
}

/* The setup for tests that bring their own servers. */
static int auto_setup(void **state) {
  return fx_setup_with(state, 0, FX_RUN_LIMIT_MS);
}

/* The delayserver's counters (its /stats, a flat JSON object of whole
 * numbers). */
typedef struct ds_stats {
  long requests, ok, rejected, active, peak;
  long p50, p90, p99; /* in flight when each request arrived */
} ds_stats_t;

static long json_key(const char *body, const char *key) {
  char quoted[40];
  const char *p;

  snprintf(quoted, sizeof(quoted), "\"%s\": ", key);
  p = strstr(body, quoted);
  assert_non_null(p);
  return strtol(p + strlen(quoted), NULL, 10);
}

static void ds_get_stats(const test_server_t *s, ds_stats_t *out) {
  struct sockaddr_in sa;
  char req[128];
  char resp[2048];
  size_t len = 0;
  ssize_t n;
  const char *body;
  int fd;

  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)s->port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  n = snprintf(req, sizeof(req),
               "GET /stats HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Connection: close\r\n\r\n",
               s->port);
  assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
  for (;;) {
    n = recv(fd, resp + len, sizeof(resp) - 1 - len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    assert_true(n >= 0);
    if (n == 0)
      break;
    len += (size_t)n;
    assert_true(len < sizeof(resp) - 1);
  }
  close(fd);
  resp[len] = '\0';
  body = strstr(resp, "\r\n\r\n");
  assert_non_null(body);
  out->requests = json_key(body, "requests");
  out->ok = json_key(body, "ok");
  out->rejected = json_key(body, "rejected");
  out->active = json_key(body, "active");
  out->peak = json_key(body, "peak");
  out->p50 = json_key(body, "inflight_p50");
  out->p90 = json_key(body, "inflight_p90");
  out->p99 = json_key(body, "inflight_p99");
}

static char *ds_url(const test_server_t *s, size_t i) {
  static char url[96];

  snprintf(url, sizeof(url), "http://127.0.0.1:%d/u?n=%zu", s->port, i);
  return url;
}

static int by_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x;
  uint64_t b = *(const uint64_t *)y;

  return a < b ? -1 : a > b;
}

/* The median of the client's count in flight at completions [from, to). */
static uint64_t running_median(const fixture_t *fx, size_t from, size_t to) {
  uint64_t *v = calloc(to - from, sizeof(*v));
  uint64_t m;
  size_t i;

  assert_non_null(v);
  for (i = from; i < to; i++)
    v[i - from] = fx->recs[i].stats.running;
  qsort(v, to - from, sizeof(*v), by_u64);
  m = v[(to - from) / 2];
  free(v);
  return m;
}

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

/* -j auto:200 over the n URLs of `srv`: each comes back once. */
static void run_auto(fixture_t *fx, test_server_t *srv, size_t n) {
  uvfetch_options_t opt;
  size_t i;

  uvfetch_options_init(&opt);
  opt.max_concurrent = 200;
  opt.adaptive = 1;
  fx_open(fx, &opt);
  for (i = 0; i < n; i++)
    fx_add_url(fx, i, ds_url(srv, i));
  fx_run(fx);
  fx_assert_each_ordinal_once(fx, n);
}

/* Case b: 16 workers, 10 ms of service each, a FIFO queue past them; a
 * ceiling of 200. A limit at the ceiling would keep about 200 at the
 * server, 184 of them queueing (the server would see a median near 190 in
 * flight, the latency 12 x the unloaded). The limit instead settles near
 * the capacity: the server sees a median near 20, and the client runs about
 * as many over the second half. */
static void test_capacity_bound(void **state) {
  fixture_t *fx = *state;
  test_server_t *srv;
  ds_stats_t st;
  uint64_t max_running = 0;
  uint64_t late;
  size_t n = 3000;
  size_t i;

  srv = ds_start("--workers 16", 10);
  run_auto(fx, srv, n);
  for (i = 0; i < fx->nrecs; i++) {
    assert_int_equal(fx->recs[i].ok, 1);
    assert_int_equal(fx->recs[i].http_code, 200);
    assert_int_equal(fx->recs[i].bytes, 6);
    if (fx->recs[i].stats.running > max_running)
      max_running = fx->recs[i].stats.running;
  }
  late = running_median(fx, n / 2, n);
  ds_get_stats(srv, &st);
  printf("# capacity-bound: at the server %ld at most, in flight at arrival "
         "p50 %ld p90 %ld p99 %ld; client: %llu running at most, median %llu "
         "over the second half; limit %u at the end\n",
         st.peak, st.p50, st.p90, st.p99, (unsigned long long)max_running,
         (unsigned long long)late, uvfetch_get_limit(fx->f));
  assert_int_equal(st.requests, (long)n);
  assert_int_equal(st.ok, (long)n);
  assert_int_equal(st.active, 0);
  assert_true(st.peak <= 200);
  assert_true(max_running <= 200);
  /* Near 16, far from 200: the bounds allow three times the capacity
   * (under ASan on a loaded machine the server saw a median of 28). */
  assert_true(st.p50 >= 3 && st.p50 <= 48);
  assert_true(st.p90 <= 64);
  assert_true(late >= 3 && late <= 48);
  fx_finish(fx);
}

/* Case c: 503 with Retry-After: 1 whenever 32 are in flight already, 10 ms
 * answers otherwise, no retries; a ceiling of 200. The limit grows until it
 * meets the edge, backs off, and stays under it: past the first thousand
 * answers few are refused (the goal is under 2 % after the first
 * 2 s; the bound here is wider). The server never has more than 32 in
 * flight by construction; the client keeps running about as many. */
static void test_refuses_past_32(void **state) {
  fixture_t *fx = *state;
  test_server_t *srv;
  ds_stats_t st;
  uint64_t max_running = 0;
  uint64_t late;
  size_t n = 4000;
  size_t warm = 1000;
  size_t refused = 0;
  size_t refused_late = 0;
  size_t i;

  srv = ds_start("--reject-above 32 --retry-after 1", 10);
  run_auto(fx, srv, n);
  for (i = 0; i < fx->nrecs; i++) {
    assert_int_equal(fx->recs[i].attempts, 1);
    if (fx->recs[i].http_code == 503) {
      refused++;
      refused_late += i >= warm;
    } else {
      assert_int_equal(fx->recs[i].http_code, 200);
      assert_int_equal(fx->recs[i].bytes, 6);
    }
    if (fx->recs[i].stats.running > max_running)
      max_running = fx->recs[i].stats.running;
  }
  late = running_median(fx, warm, n);
  ds_get_stats(srv, &st);
  printf("# refuses past 32: %zu refused, %zu of the last %zu (%.2f %%); at "
         "the server %ld at most, p50 %ld at arrival; client: %llu running "
         "at most, median %llu after the first %zu\n",
         refused, refused_late, n - warm, 100.0 * refused_late / (n - warm),
         st.peak, st.p50, (unsigned long long)max_running,
         (unsigned long long)late, warm);
  assert_int_equal(st.requests, (long)n);
  assert_int_equal(st.rejected, (long)refused);
  assert_int_equal(st.ok, (long)(n - refused));
  assert_true(st.peak <= 32);
  assert_true(max_running <= 200);
  assert_true(refused_late * 100 <= 5 * (n - warm));
  /* It does not hide far below the edge either. */
  assert_true(late >= 4 && late <= 40);
  fx_finish(fx);
}

/* Case d: two hosts in one list, a fast one (100 ms answers, unlimited, as
 * in case a) and a slow one (as in case b), three URLs to the fast one for
 * each to the slow one (so that neither host's URLs pile up at the head of
 * the queue while the other's run: the fast one's 400 in flight give
 * 4,000/s, the slow one's capacity 1,600/s); a ceiling of 400. Each host has
 * its own limit: the slow one is held near its capacity as when alone, while
 * the fast one climbs far above it (the overall limit does not follow the slow
 * host's queue down). Both counted at the servers. */
static void test_slow_beside_fast(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  test_server_t *fast;
  test_server_t *slow;
  ds_stats_t fs;
  ds_stats_t ss;
  size_t n = 4800;
  size_t nslow = 0;
  size_t i;

  fast = ds_start("", 100);
  slow = ds_start("--workers 16", 10);
  uvfetch_options_init(&opt);
  opt.max_concurrent = 400;
  opt.adaptive = 1;
  fx_open(fx, &opt);
  for (i = 0; i < n; i++) {
    if (i % 4 == 3) {
      fx_add_url(fx, i, ds_url(slow, i));
      nslow++;
    } else {
      fx_add_url(fx, i, ds_url(fast, i));
    }
  }
  fx_run(fx);

  fx_assert_each_ordinal_once(fx, n);
  for (i = 0; i < fx->nrecs; i++) {
    assert_int_equal(fx->recs[i].ok, 1);
    assert_int_equal(fx->recs[i].http_code, 200);
    assert_true(fx->recs[i].stats.running <= 400);
  }
  ds_get_stats(fast, &fs);
  ds_get_stats(slow, &ss);
  printf("# slow beside fast: fast host %ld at most, p50 %ld p90 %ld at "
         "arrival; slow host %ld at most, p50 %ld p90 %ld; limit %u at the "
         "end\n",
         fs.peak, fs.p50, fs.p90, ss.peak, ss.p50, ss.p90,
         uvfetch_get_limit(fx->f));
  assert_int_equal(fs.requests, (long)(n - nslow));
  assert_int_equal(ss.requests, (long)nslow);
  assert_int_equal(fs.ok + ss.ok, (long)n);
  assert_true(fs.peak <= 400 && ss.peak <= 400);
  /* The slow host near its 16, as in case b (its slow start, a larger
   * share of its short run than in case b, may reach 64 or more). */
  assert_true(ss.p50 <= 40 && ss.p90 <= 128);
  /* The fast host far above the slow one: not held back by it. Its peak
   * is eight times the first limit of 8 at least (about 130 here, 98
   * under valgrind, whose client is too slow for more). */
  assert_true(fs.peak >= 64);
  assert_true(fs.p50 > 2 * ss.p50 && fs.p90 > 2 * ss.p90);
  fx_finish(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_delay_workload, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_refusing_host_backs_off, fx_setup,
                                      fx_teardown),
      cmocka_unit_test_setup_teardown(test_capacity_bound, auto_setup,
                                      auto_teardown),
      cmocka_unit_test_setup_teardown(test_refuses_past_32, auto_setup,
                                      auto_teardown),
      cmocka_unit_test_setup_teardown(test_slow_beside_fast, auto_setup,
                                      auto_teardown),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
