/* Stress: a seeded random driver that adds, cancels, pauses, resumes and
 * closes, from completion callbacks and from timer, prepare, check and idle
 * handles, over the test server's normal, slow, slow-accept, never-accept
 * and faulty paths, with retries, per-host caps, a rate and ordering drawn
 * at random. Whatever happens, every accepted URL gets exactly one
 * completion callback with its own ordinal and data pointer, a refused one
 * gets none, a success carries its status and exact byte count, the close
 * callback runs once, and the loop closes.
 *
 * Each seed is one test, named after it. Environment:
 *   UVFETCH_STRESS_SEED=N   run only seed N (replays a failure)
 *   UVFETCH_STRESS_SEEDS=K  run seeds 1..K (default 8; 4 under valgrind)
 *   UVFETCH_STRESS_OPS=M    operations per seed (default 200; 100 under
 *                           valgrind)
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

enum {
  K_SIZE,    /* the main server, /size/N, maybe slow or chunked */
  K_FLAKY,   /* /flaky/KEY: 503 once or twice, then 10 bytes */
  K_STATUS,  /* /status/CODE */
  K_FAULT,   /* /fault/KIND: never a success */
  K_SLOW,    /* a slow-accept listener that opens after a while */
  K_NEVER,   /* a slow-accept listener that never opens */
  K_INVALID, /* refused at add, reported through the callback */
  K_KINDS
};

static const char *const kind_names[K_KINDS] = {
    "size",        "flaky",        "status", "fault",
    "slow-accept", "never-accept", "invalid"};

typedef struct item {
  uint64_t ordinal;
  int kind;
  long n;    /* K_SIZE, K_SLOW: body bytes; K_STATUS: the code */
  int calls; /* completion callbacks seen */
  char url[200];
} item_t;

static struct {
  fixture_t *fx;
  uint64_t seed;
  uint64_t rng;
  int valgrind;
  int ordered;
  unsigned retries;
  item_t *items; /* never reallocated: data pointers point into it */
  size_t nitems;
  size_t max_items;
  item_t refused[64]; /* data pointers of refused adds */
  size_t nrefused;
  long ops_left;
  long close_at; /* close when ops_left reaches it; -1: never */
  int closing;   /* uvfetch_close was called */
  int in_callback;
  uint64_t callbacks;
  int violations;
  int slow_port;
  int never_port;
  int idle_runs;
  uint64_t loop_op_after; /* loop time before which prepare and check rest */
  uv_timer_t timer;
  uv_prepare_t prepare;
  uv_check_t check;
  uv_idle_t idle;
  uint64_t ops_by[6]; /* operations run from each source, for the log */
} S;

enum { SRC_TIMER, SRC_PREPARE, SRC_CHECK, SRC_IDLE, SRC_DONE, SRC_NSRC };

static uint64_t rnd(void) {
  uint64_t x = S.rng;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  S.rng = x;
  return x;
}

static uint64_t below(uint64_t n) {
  return n ? rnd() % n : 0;
}

static void violation(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void violation(const char *fmt, ...) {
  va_list ap;

  S.violations++;
  if (S.violations > 10)
    return;
  fprintf(stderr, "seed %llu: ", (unsigned long long)S.seed);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* Has the fetcher's memory gone (its close callback ran)? */
static int gone(void) {
  return S.fx->close_calls > 0;
}

/* ---- adding ------------------------------------------------------------ */

static void make_url(item_t *it, long *timeout_ms) {
  static const char *const faults[] = {"reset-before",
                                       "reset-mid?size=5000&sent=100",
                                       "short?size=5000&sent=100",
                                       "bad-status",
                                       "bad-chunk",
                                       "hang"};
  static const long codes[] = {404, 500, 503};
  int port = S.fx->server.port;
  char extra[64] = "";
  const char *f;

  *timeout_ms = 0;
  switch (it->kind) {
  case K_SIZE:
    it->n = (long)(below(4) == 0 ? below(200000) : below(2000));
    if (below(5) == 0)
      snprintf(extra, sizeof(extra), "?delay=%d", (int)(10 + below(500)));
    else if (below(4) == 0)
      snprintf(extra, sizeof(extra), "?closeafter=1");
    else if (below(5) == 0)
      snprintf(extra, sizeof(extra), "?chunked=1&gzip=1");
    snprintf(it->url, sizeof(it->url), "http://127.0.0.1:%d/size/%ld%s", port,
             it->n, extra);
    break;
  case K_FLAKY:
    snprintf(it->url, sizeof(it->url),
             "http://127.0.0.1:%d/flaky/s%llu-%zu?fail=%d", port,
             (unsigned long long)S.seed, S.nitems, (int)(1 + below(2)));
    break;
  case K_STATUS:
    it->n = codes[below(3)];
    snprintf(it->url, sizeof(it->url), "http://127.0.0.1:%d/status/%ld", port,
             it->n);
    break;
  case K_FAULT:
    f = faults[below(sizeof(faults) / sizeof(faults[0]))];
    snprintf(it->url, sizeof(it->url), "http://127.0.0.1:%d/fault/%s", port, f);
    *timeout_ms = 1500;
    break;
  case K_SLOW:
    it->n = (long)below(3000);
    snprintf(it->url, sizeof(it->url), "http://127.0.0.1:%d/size/%ld",
             S.slow_port, it->n);
    /* Through at the SYN's resend, 1 s or 3 s after the start. */
    *timeout_ms = 9000;
    break;
  case K_NEVER:
    snprintf(it->url, sizeof(it->url), "http://127.0.0.1:%d/size/1",
             S.never_port);
    *timeout_ms = 300 + (long)below(500);
    break;
  case K_INVALID:
    snprintf(it->url, sizeof(it->url),
             below(2) ? "ftp://127.0.0.1:%d/x" : "http://[127.0.0.1:%d/x",
             port);
    break;
  }
}

static int pick_kind(void) {
  uint64_t r = below(100);

  if (r < 40)
    return K_SIZE;
  if (r < 50)
    return K_FLAKY;
  if (r < 56)
    return K_STATUS;
  if (r < 68)
    return K_FAULT;
  if (r < 82)
    return K_SLOW;
  if (r < 92)
    return K_NEVER;
  return K_INVALID;
}

static void add_one(void) {
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uint64_t ordinal = UINT64_MAX;
  item_t *it;
  long timeout_ms;
  int refuse;
  int err;

  if (S.nitems == S.max_items)
    return;
  it = &S.items[S.nitems];
  memset(it, 0, sizeof(*it));
  it->kind = pick_kind();
  make_url(it, &timeout_ms);
  /* An invalid URL without the report flag is refused: no callback. */
  refuse = it->kind == K_INVALID && below(2) == 0;
  req.url = it->url;
  req.timeout_ms = timeout_ms;
  req.flags = it->kind == K_INVALID && !refuse ? UVFETCH_ADD_REPORT_INVALID : 0;
  if (refuse) {
    if (S.nrefused == sizeof(S.refused) / sizeof(S.refused[0]))
      return;
    req.data = &S.refused[S.nrefused++];
  } else {
    req.data = it;
  }
  err = uvfetch_submit(S.fx->f, &req, &ordinal);
  if (S.closing) {
    if (err != UVFETCH_ECLOSING)
      violation("add after close: %s", uvfetch_err_name(err));
    return;
  }
  if (refuse) {
    if (err != UVFETCH_ESCHEME && err != UVFETCH_EURL)
      violation("add of %s: %s, expected a refusal", it->url,
                uvfetch_err_name(err));
    return;
  }
  if (err != 0) {
    violation("add of %s: %s", it->url, uvfetch_err_name(err));
    return;
  }
  /* Ordinals count accepted URLs only. */
  if (ordinal != S.nitems)
    violation("add of %s: ordinal %llu, expected %zu", it->url,
              (unsigned long long)ordinal, S.nitems);
  it->ordinal = ordinal;
  S.nitems++;
}

/* ---- the other operations ---------------------------------------------- */

static void cancel_one(void) {
  item_t *it;
  int was_closing;
  int i;
  uint64_t ordinal;
  int calls;
  int err;

  if (below(8) == 0) {
    /* One that never existed. */
    err = uvfetch_cancel(S.fx->f, 1000000 + below(1000));
    if (err != (S.closing ? UVFETCH_ECLOSING : UVFETCH_ENOTFOUND))
      violation("cancel of no transfer: %s", uvfetch_err_name(err));
    return;
  }
  if (S.nitems == 0)
    return;
  if (below(3) == 0) {
    /* The newest: from a prepare handle, often one that started in this
     * very turn, its connect in progress and its poll not yet in epoll. */
    it = &S.items[S.nitems - 1];
  } else {
    /* Mostly one still without its result: queued, connecting, running
     * or waiting to retry. */
    it = &S.items[below(S.nitems)];
    for (i = 0; i < 8 && it->calls != 0 && below(4) != 0; i++)
      it = &S.items[below(S.nitems)];
  }
  ordinal = it->ordinal;
  calls = it->calls;
  /* Its callback, or another's, may close the fetcher from inside. */
  was_closing = S.closing;
  err = uvfetch_cancel(S.fx->f, ordinal);
  if (was_closing) {
    if (err != UVFETCH_ECLOSING)
      violation("cancel after close: %s", uvfetch_err_name(err));
    return;
  }
  if (err != 0 && err != UVFETCH_ENOTFOUND) {
    violation("cancel of %llu: %s", (unsigned long long)ordinal,
              uvfetch_err_name(err));
    return;
  }
  if (S.ordered || S.closing)
    return;
  /* Unordered, a URL without its callback yet is found, and its callback
   * runs before uvfetch_cancel returns. */
  if (calls == 0 && err != 0)
    violation("cancel of %llu (%s, no callback yet): %s",
              (unsigned long long)ordinal, kind_names[it->kind],
              uvfetch_err_name(err));
  if (err == 0 && calls != 0)
    violation("cancel of %llu found it after its callback",
              (unsigned long long)ordinal);
  if (err == 0 && it->calls != 1)
    violation("cancel of %llu returned with %d callbacks",
              (unsigned long long)ordinal, it->calls);
}

static void check_stats(void) {
  uvfetch_stats_t st;

  if (S.closing)
    return;
  uvfetch_get_stats(S.fx->f, &st);
  if (st.added != S.nitems)
    violation("stats.added %llu, accepted %zu", (unsigned long long)st.added,
              S.nitems);
  if (st.done != S.callbacks)
    violation("stats.done %llu, callbacks %llu", (unsigned long long)st.done,
              (unsigned long long)S.callbacks);
  if (!S.in_callback &&
      st.queued + st.waiting + st.running + st.held + st.done != st.added)
    violation("stats: %llu queued + %llu waiting + %llu running + %llu held "
              "+ %llu done != %llu added",
              (unsigned long long)st.queued, (unsigned long long)st.waiting,
              (unsigned long long)st.running, (unsigned long long)st.held,
              (unsigned long long)st.done, (unsigned long long)st.added);
}

/* The callbacks uvfetch_close makes (every URL left, cancelled) already
 * find the fetcher closing. */
static void close_now(void) {
  int was = S.closing;
  int err;

  S.closing = 1;
  err = uvfetch_close(S.fx->f, fx_on_closed);
  if (err != (was ? UVFETCH_ECLOSING : 0))
    violation("close: %s", uvfetch_err_name(err));
}

static void stop_driving(void);

/* One random operation, from `source`. */
static void op(int source) {
  uint64_t r;
  int err;
  int i;
  int n;

  if (gone() || S.ops_left <= 0)
    return;
  S.ops_left--;
  S.ops_by[source]++;
  if (S.ops_left == S.close_at) {
    close_now();
    return;
  }
  r = below(100);
  if (r < 50) {
    add_one();
  } else if (r < 56) {
    n = 2 + (int)below(7);
    for (i = 0; i < n; i++)
      add_one();
  } else if (r < 76) {
    cancel_one();
  } else if (r < 83) {
    err = uvfetch_pause(S.fx->f);
    if (err != (S.closing ? UVFETCH_ECLOSING : 0))
      violation("pause: %s", uvfetch_err_name(err));
  } else if (r < 93) {
    err = uvfetch_resume(S.fx->f);
    if (err != (S.closing ? UVFETCH_ECLOSING : 0))
      violation("resume: %s", uvfetch_err_name(err));
  } else {
    check_stats();
  }
  if (S.ops_left == 0)
    stop_driving();
}

/* ---- the sources of operations ------------------------------------------ */

static void on_idle(uv_idle_t *i);

static void on_timer(uv_timer_t *t) {
  op(SRC_TIMER);
  /* Now and then a few operations from an idle handle, which runs once a
   * turn without letting the loop block: a short burst, not a spin. */
  if (S.ops_left > 0 && !gone() && below(10) == 0 && S.idle_runs == 0) {
    S.idle_runs = 1 + (int)below(6);
    uv_idle_start(&S.idle, on_idle);
  }
  if (S.ops_left > 0 && !gone())
    uv_timer_start(t, on_timer, below(50), 0);
}

/* Prepare and check handles run on every turn of the loop, and turns come
 * fast: they take a turn now and then, so that the operations spread over
 * a few seconds and meet transfers in every state. */
static int loop_turn_op_due(void) {
  uint64_t now = uv_now(&S.fx->loop);

  if (now < S.loop_op_after || below(4) != 0)
    return 0;
  S.loop_op_after = now + below(80);
  return 1;
}

static void on_prepare(uv_prepare_t *p) {
  if (loop_turn_op_due())
    op(SRC_PREPARE);
}

static void on_check(uv_check_t *c) {
  if (loop_turn_op_due())
    op(SRC_CHECK);
}

static void on_idle(uv_idle_t *i) {
  op(SRC_IDLE);
  if (--S.idle_runs <= 0) {
    S.idle_runs = 0;
    uv_idle_stop(i);
  }
}

/* The operations are spent: let the fetcher finish what it has. */
static void stop_driving(void) {
  uv_timer_stop(&S.timer);
  uv_idle_stop(&S.idle);
  S.idle_runs = 0;
  if (!S.closing && !gone())
    uvfetch_resume(S.fx->f);
}

/* ---- results ----------------------------------------------------------- */

static void check_result(item_t *it, const uvfetch_result_t *r) {
  if (r->ordinal != it->ordinal)
    violation("%s: ordinal %llu, added as %llu", it->url,
              (unsigned long long)r->ordinal, (unsigned long long)it->ordinal);
  if (strcmp(r->url, it->url) != 0)
    violation("ordinal %llu: url %s, added as %s",
              (unsigned long long)r->ordinal, r->url, it->url);
  if (r->ok) {
    if (r->error != 0 || r->http_code < 100 || r->http_code > 999)
      violation("%s: ok with error %d, status %ld", it->url, r->error,
                r->http_code);
  } else if (r->error == 0 || r->message == NULL || r->message[0] == '\0') {
    violation("%s: failed without an error or message", it->url);
  }
  if (!r->ok && r->error == UVFETCH_ECANCELED)
    return;
  switch (it->kind) {
  case K_SIZE:
  case K_SLOW:
    /* Healthy: under valgrind, a loaded loop may still run out of time. */
    if (!r->ok && S.valgrind && r->error == UVFETCH_ETIMEDOUT)
      break;
    if (!r->ok || r->http_code != 200 || r->bytes != (uint64_t)it->n)
      violation("%s (%s): ok %d, %s, status %ld, %llu bytes of %ld: %s",
                it->url, kind_names[it->kind], r->ok,
                uvfetch_err_name(r->error), r->http_code,
                (unsigned long long)r->bytes, it->n, r->message);
    break;
  case K_FLAKY:
    if (S.valgrind && r->error == UVFETCH_ETIMEDOUT)
      break;
    if (!r->ok || !((r->http_code == 200 && r->bytes == 10) ||
                    (r->http_code == 503 && r->attempts == S.retries + 1)))
      violation("%s: ok %d, %s, status %ld, %llu bytes, %u attempts", it->url,
                r->ok, uvfetch_err_name(r->error), r->http_code,
                (unsigned long long)r->bytes, r->attempts);
    break;
  case K_STATUS:
    if (S.valgrind && r->error == UVFETCH_ETIMEDOUT)
      break;
    if (!r->ok || r->http_code != it->n)
      violation("%s: ok %d, %s, status %ld", it->url, r->ok,
                uvfetch_err_name(r->error), r->http_code);
    break;
  case K_FAULT:
    if (r->ok)
      violation("%s: a fault succeeded, status %ld", it->url, r->http_code);
    break;
  case K_NEVER:
    if (r->ok || r->error != UVFETCH_ETIMEDOUT)
      violation("%s: never accepted, yet %s: %s", it->url,
                uvfetch_err_name(r->error), r->message);
    break;
  case K_INVALID:
    if (r->ok || (r->error != UVFETCH_EURL && r->error != UVFETCH_ESCHEME))
      violation("%s: invalid, yet %s", it->url, uvfetch_err_name(r->error));
    if (r->attempts != 0)
      violation("%s: invalid, yet %u attempts", it->url, r->attempts);
    break;
  }
}

static void on_result(fixture_t *fx, const uvfetch_result_t *r) {
  item_t *it = r->data;

  S.callbacks++;
  if (it >= S.refused && it < S.refused + S.nrefused) {
    violation("a refused add came back: %s", r->url);
    return;
  }
  if (it < S.items || it >= S.items + S.nitems) {
    violation("a callback with a data pointer nobody gave: %p", r->data);
    return;
  }
  it->calls++;
  if (it->calls > 1)
    violation("%s: callback %d", it->url, it->calls);
  check_result(it, r);
  if (below(3) == 0) {
    S.in_callback = 1;
    op(SRC_DONE);
    S.in_callback = 0;
  }
}

/* ---- one seed ---------------------------------------------------------- */

static int valgrind_running(void) {
  const char *p = getenv("LD_PRELOAD");

  return p != NULL && strstr(p, "vgpreload") != NULL;
}

static long env_long(const char *name, long otherwise) {
  const char *v = getenv(name);
  char *end;
  long n;

  if (v == NULL || *v == '\0')
    return otherwise;
  n = strtol(v, &end, 10);
  return *end == '\0' && n > 0 ? n : otherwise;
}

static uint64_t next_seed; /* set by setup_seed from the test's state */

static int setup_seed(void **state) {
  next_seed = *(uint64_t *)*state;
  return fx_setup(state);
}

static void run_seed(void **state) {
  fixture_t *fx = *state;
  uvfetch_options_t opt;
  uint64_t start = uv_hrtime();
  long ops;
  size_t i;

  memset(&S, 0, sizeof(S));
  S.fx = fx;
  S.seed = next_seed;
  S.rng = (next_seed * 0x9e3779b97f4a7c15ULL) | 1;
  S.valgrind = valgrind_running();
  ops = env_long("UVFETCH_STRESS_OPS", S.valgrind ? 100 : 200);
  S.ops_left = ops;
  S.max_items = (size_t)ops * 9 + 1;
  S.items = calloc(S.max_items, sizeof(*S.items));
  assert_non_null(S.items);
  /* Half the seeds close at a planned moment, the rest at the end. */
  S.close_at = below(2) ? (long)below((uint64_t)ops / 3) : -1;
  /* The slow listener opens while the driver still runs: transfers to it
   * connect at once after that, and stay pending before. */
  S.slow_port = test_server_slow_accept(&fx->server, 500 + (long)below(2000));
  S.never_port = test_server_slow_accept(&fx->server, -1);
  assert_true(S.slow_port > 0);
  assert_true(S.never_port > 0);

  uvfetch_options_init(&opt);
  opt.max_concurrent = 4 + (unsigned)below(16);
  opt.ordered = below(4) == 0;
  S.ordered = opt.ordered;
  opt.retries = (unsigned)below(3);
  S.retries = opt.retries;
  opt.retry_delay_ms = 5 + (long)below(40);
  opt.retry_max_time_ms = below(3) == 0 ? 5000 : 0;
  opt.max_per_host = below(2) ? 0 : 2 + (unsigned)below(6);
  opt.rate = below(2) == 0 ? 50.0 + (double)below(450) : 0;
  /* Bounds anything the driver leaves running; the healthy paths answer
   * within a second. */
  opt.timeout_ms = 6000;
  opt.compressed = 1;
  print_message("seed %llu: %ld ops, max_concurrent %u, ordered %d, "
                "retries %u, max_per_host %u, rate %.0f, close_at %ld\n",
                (unsigned long long)S.seed, ops, opt.max_concurrent,
                opt.ordered, opt.retries, opt.max_per_host, opt.rate,
                S.close_at);
  fx_open(fx, &opt);
  fx->hook = on_result;

  assert_int_equal(uv_timer_init(&fx->loop, &S.timer), 0);
  assert_int_equal(uv_prepare_init(&fx->loop, &S.prepare), 0);
  assert_int_equal(uv_check_init(&fx->loop, &S.check), 0);
  assert_int_equal(uv_idle_init(&fx->loop, &S.idle), 0);
  assert_int_equal(uv_prepare_start(&S.prepare, on_prepare), 0);
  assert_int_equal(uv_check_start(&S.check, on_check), 0);
  uv_unref((uv_handle_t *)&S.prepare);
  uv_unref((uv_handle_t *)&S.check);
  uv_unref((uv_handle_t *)&S.idle);
  /* A few URLs before the loop runs, then the timer drives. */
  for (i = 0; i < 4; i++)
    add_one();
  assert_int_equal(uv_timer_start(&S.timer, on_timer, 0, 0), 0);
  fx_run(fx);

  /* Every operation was spent, or the fetcher was closed and is gone. */
  assert_true(S.ops_left == 0 || gone());
  uv_close((uv_handle_t *)&S.timer, NULL);
  uv_close((uv_handle_t *)&S.prepare, NULL);
  uv_close((uv_handle_t *)&S.check, NULL);
  uv_close((uv_handle_t *)&S.idle, NULL);
  if (!S.closing) {
    check_stats();
    fx_finish(fx);
  } else {
    fx_finish_closed(fx);
  }

  print_message("seed %llu: %zu accepted, %zu refused, %llu callbacks, "
                "ops from timer %llu, prepare %llu, check %llu, idle %llu, "
                "callbacks %llu; %.1f s\n",
                (unsigned long long)S.seed, S.nitems, S.nrefused,
                (unsigned long long)S.callbacks,
                (unsigned long long)S.ops_by[SRC_TIMER],
                (unsigned long long)S.ops_by[SRC_PREPARE],
                (unsigned long long)S.ops_by[SRC_CHECK],
                (unsigned long long)S.ops_by[SRC_IDLE],
                (unsigned long long)S.ops_by[SRC_DONE],
                (double)(uv_hrtime() - start) / 1e9);
  assert_int_equal(S.violations, 0);
  assert_int_equal(fx->close_calls, 1);
  assert_int_equal(fx->recs_at_close, S.nitems);
  assert_int_equal(S.callbacks, S.nitems);
  for (i = 0; i < S.nitems; i++) {
    if (S.items[i].calls != 1)
      print_message("seed %llu: %s (ordinal %llu): %d callbacks\n",
                    (unsigned long long)S.seed, S.items[i].url,
                    (unsigned long long)S.items[i].ordinal, S.items[i].calls);
    assert_int_equal(S.items[i].calls, 1);
  }
  fx_assert_each_ordinal_once(fx, S.nitems);
  free(S.items);
  S.items = NULL;
}

int main(void) {
  struct CMUnitTest *tests;
  uint64_t *seeds;
  char **names;
  long nseeds;
  long i;
  int rc;

  if (getenv("UVFETCH_STRESS_SEED") != NULL) {
    nseeds = 1;
  } else {
    nseeds = env_long("UVFETCH_STRESS_SEEDS", valgrind_running() ? 4 : 8);
  }
  tests = calloc((size_t)nseeds, sizeof(*tests));
  seeds = calloc((size_t)nseeds, sizeof(*seeds));
  names = calloc((size_t)nseeds, sizeof(*names));
  if (tests == NULL || seeds == NULL || names == NULL)
    return 1;
  for (i = 0; i < nseeds; i++) {
    seeds[i] = nseeds == 1 && getenv("UVFETCH_STRESS_SEED") != NULL
                   ? strtoull(getenv("UVFETCH_STRESS_SEED"), NULL, 10)
                   : (uint64_t)(i + 1);
    names[i] = malloc(32);
    if (names[i] == NULL)
      return 1;
    snprintf(names[i], 32, "seed %llu", (unsigned long long)seeds[i]);
    tests[i].name = names[i];
    tests[i].test_func = run_seed;
    tests[i].setup_func = setup_seed;
    tests[i].teardown_func = fx_teardown;
    tests[i].initial_state = &seeds[i];
  }
  rc = _cmocka_run_group_tests("stress", tests, (size_t)nseeds, NULL, NULL);
  for (i = 0; i < nseeds; i++)
    free(names[i]);
  free(names);
  free(seeds);
  free(tests);
  return rc;
}
