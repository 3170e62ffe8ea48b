/* The public API: a fetcher's life, its queue, and ordered delivery.
 *
 * uvfetch_init builds the fetcher; uvfetch_add and uvfetch_submit queue
 * URLs in the scheduler, and pump() starts what it allows on free slots
 * (transfer.c). Results come back through uvfetch__complete, which delivers
 * them at once or, in ordered mode, in input order. User callbacks run only
 * from our own frames (enter/leave, never inside a libcurl callback), so
 * they may add, cancel and close; a close requested inside one tears down
 * when the outermost frame unwinds.
 */
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "internal.h"
#include "uvfetch.h"

static void on_sched_timer(uv_timer_t *handle);

void uvfetch_options_init(uvfetch_options_t *opt) {
  static const uvfetch_options_t defaults = UVFETCH_OPTIONS_INIT;
  *opt = defaults;
}

void uvfetch__enter(uvfetch_t *f) {
  f->depth++;
}

void uvfetch__leave(uvfetch_t *f) {
  f->depth--;
  if (f->depth == 0 && f->closing && !f->torn_down)
    uvfetch__teardown(f);
}

static void transfer_free(struct transfer *t) {
  curl_url_cleanup(t->uh);
  curl_slist_free_all(t->headers);
  free(t->effective_url);
  free(t->message);
  free(t);
}

/* Hand one finished transfer to the caller and free it. */
static void deliver(uvfetch_t *f, struct transfer *t) {
  uvfetch_result_t *r = &t->result;

  r->url = t->url;
  r->effective_url = t->effective_url ? t->effective_url : t->url;
  r->data = t->data;
  r->ordinal = t->q.ordinal;
  if (t->message != NULL)
    r->message = t->message;
  else if (r->message == NULL)
    r->message = r->ok ? "" : uvfetch_strerror(r->error);

  f->stats.done++;
  if (!r->ok)
    f->stats.failed++;
  uvfetch__enter(f);
  f->on_done(f, r);
  uvfetch__leave(f);
  transfer_free(t);
}

/* A transfer is finished: deliver it now, or, in ordered mode, hold it until
 * every earlier one has been delivered. */
void uvfetch__complete(uvfetch_t *f, struct transfer *t) {
  struct transfer **at;

  if (!f->opt.ordered) {
    deliver(f, t);
    return;
  }
  t->state = T_HELD;
  f->ring[t->q.ordinal % f->window] = t;
  f->stats.held++;
  for (;;) {
    at = &f->ring[f->next_deliver % f->window];
    t = *at;
    if (t == NULL || t->state != T_HELD || t->q.ordinal != f->next_deliver)
      break;
    *at = NULL;
    f->stats.held--;
    f->next_deliver++;
    deliver(f, t);
  }
}

/* Finish a transfer that never reached libcurl. */
void uvfetch__complete_early(uvfetch_t *f, struct transfer *t) {
  uvfetch_result_t *r = &t->result;

  uvfetch__keep_unqueued(f, t);
  r->error = t->pre_error;
  r->curl_code = t->pre_curl_code;
  r->message = t->pre_message ? t->pre_message : uvfetch_strerror(r->error);
  r->ok = 0;
  r->attempts = t->attempts;
  uvfetch__complete(f, t);
}

/* At most this many transfers start in one turn of the loop; the rest go
 * on the next turn, which comes at once. libcurl makes every new
 * connection it is handed in one call, and sends a request only once the
 * loop reports the socket writable: 2,000 transfers started together
 * (-j 2000) put their first request on the wire only after all 2,000
 * connects, 70 ms later. In slices, requests leave as connections are
 * made, and that workload ended 40 ms sooner. Steady work starts fewer
 * than this per turn. */
enum { TURN_STARTS = 128 };

/* Start what the scheduler allows: free slots, per-host caps, the rate,
 * and in ordered mode the reordering window. Then arm the scheduler's
 * timer for the next retry or rate-limited start. */
void uvfetch__pump(uvfetch_t *f) {
  struct sched_entry *e;
  uint64_t limit;
  uint64_t wake = UINT64_MAX;
  uint64_t now;

  while (!f->closing && !f->paused) {
    if (f->turn_starts >= TURN_STARTS) {
      f->want_pump = 1;
      uvfetch__kick(f);
      break;
    }
    limit = f->opt.ordered ? f->next_deliver + f->window : UINT64_MAX;
    now = uv_now(f->loop);
    e = uvfetch__sched_next(&f->sched, limit, f->stats.running < f->fd_cap, now,
                            &wake);
    if (e == NULL)
      break;
    if (e->ready)
      uvfetch__complete_early(f, container_of(e, struct transfer, q));
    else {
      f->turn_starts++;
      uvfetch__start(f, container_of(e, struct transfer, q));
    }
  }
  if (f->closing)
    return;
  if (uvfetch__sched_next_due(&f->sched) < wake)
    wake = uvfetch__sched_next_due(&f->sched);
  if (wake == UINT64_MAX) {
    uv_timer_stop(&f->sched_timer);
    return;
  }
  now = uv_now(f->loop);
  uv_timer_start(&f->sched_timer, on_sched_timer, wake > now ? wake - now : 0,
                 0);
}

static void on_sched_timer(uv_timer_t *handle) {
  uvfetch_t *f = container_of(handle, uvfetch_t, sched_timer);

  uvfetch__enter(f);
  uvfetch__sched_release_due(&f->sched, uv_now(f->loop));
  uvfetch__pump(f);
  uvfetch__leave(f);
}

/* One of our handles is closed; the last one after teardown frees all. */
void uvfetch__handle_closed(uvfetch_t *f) {
  f->open_handles--;
  if (f->torn_down && f->open_handles == 0)
    uvfetch__teardown(f);
}

void uvfetch__on_handle_closed(uv_handle_t *handle) {
  uvfetch__handle_closed(handle->data);
}

/* ---- the public API ---------------------------------------------------- */

static int one_line(const char *s) {
  return s == NULL || strpbrk(s, "\r\n") == NULL;
}

static int lines_ok(const char *const *list) {
  for (; list != NULL && *list != NULL; list++) {
    if (!one_line(*list))
      return 0;
  }
  return 1;
}

static int validate_options(const uvfetch_options_t *o) {
  if (o->max_concurrent < 1)
    return UVFETCH_EINVAL;
  if (o->ordered && o->order_window != 0 && o->order_window < o->max_concurrent)
    return UVFETCH_EINVAL;
  if (o->max_redirects < -1)
    return UVFETCH_EINVAL;
  if (o->connect_timeout_ms < 0 || o->timeout_ms < 0)
    return UVFETCH_EINVAL;
  if (o->low_speed_limit < 0 || o->low_speed_time < 0)
    return UVFETCH_EINVAL;
  if (o->max_filesize < 0)
    return UVFETCH_EINVAL;
  if (o->http_version != 0 && o->http_version != 11 && o->http_version != 20)
    return UVFETCH_EINVAL;
  if (o->retry_delay_ms < 0 || o->retry_max_time_ms < 0)
    return UVFETCH_EINVAL;
  if (o->dns_cache_ms < 0 || o->idle_timeout_ms < 0)
    return UVFETCH_EINVAL;
  if (!(o->rate >= 0 && o->rate <= 1e9))
    return UVFETCH_EINVAL; /* also NaN */
  /* A CR or LF would end the header line and start another, or a whole
   * second request. */
  if (!one_line(o->user_agent) || !lines_ok(o->headers))
    return UVFETCH_EINVAL;
  return 0;
}

static void free_fetcher(uvfetch_t *f) {
  unsigned i;

  uvfetch__shares_close(f);
  for (i = 0; i < f->nslots; i++)
    uvfetch__slot_free(f->slots[i]);
  if (f->multi != NULL)
    curl_multi_cleanup(f->multi);
  if (f->parser != NULL)
    curl_url_cleanup(f->parser);
  free(f->slots);
  free(f->ring);
  free(f->socks);
  uvfetch__dns_free(f);
  free(f->protocols);
  free(f->user_agent);
  free(f->cacert);
  free(f->proxy);
  curl_slist_free_all(f->headers);
  uvfetch__sched_free(&f->sched);
  uvfetch__adapt_free(&f->adapt);
  uvfetch__keep_free(f);
  free(f);
  curl_global_cleanup();
}

/* *out = a copy of `base` followed by `more` (NULL-terminated); NULL when
 * both are empty. 0, or -1 when out of memory (*out is then NULL). */
static int header_list(struct curl_slist **out, const struct curl_slist *base,
                       const char *const *more) {
  struct curl_slist *list = NULL;
  struct curl_slist *grown;

  for (; base != NULL; base = base->next) {
    grown = curl_slist_append(list, base->data);
    if (grown == NULL)
      goto fail;
    list = grown;
  }
  for (; more != NULL && *more != NULL; more++) {
    grown = curl_slist_append(list, *more);
    if (grown == NULL)
      goto fail;
    list = grown;
  }
  *out = list;
  return 0;

fail:
  curl_slist_free_all(list);
  *out = NULL;
  return -1;
}

static char *copy_or(const char *s, const char *otherwise) {
  if (s == NULL)
    s = otherwise;
  return s ? strdup(s) : NULL;
}

int uvfetch_init(uv_loop_t *loop, uvfetch_t **out, const uvfetch_options_t *opt,
                 uvfetch_done_cb on_done) {
  uvfetch_options_t defaults;
  uvfetch_t *f;
  struct slot *first;
  int err;

  if (loop == NULL || out == NULL || on_done == NULL)
    return UVFETCH_EINVAL;
  if (opt == NULL) {
    uvfetch_options_init(&defaults);
    opt = &defaults;
  }
  err = validate_options(opt);
  if (err != 0)
    return err;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return UVFETCH_ECURL;

  f = calloc(1, sizeof(*f));
  if (f == NULL) {
    curl_global_cleanup();
    return UVFETCH_ENOMEM;
  }
  f->loop = loop;
  f->on_done = on_done;
  list_init(&f->hot);
  list_init(&f->fresh);
  f->opt = *opt;
  f->data = opt->data;
  f->window = opt->order_window ? opt->order_window : 2 * opt->max_concurrent;
  f->fd_cap = opt->max_concurrent;
  err = UVFETCH_ENOMEM;
  f->protocols = copy_or(opt->protocols, "http,https");
  f->user_agent = copy_or(opt->user_agent, "uvfetch/" UVFETCH_VERSION_STRING);
  f->cacert = copy_or(opt->cacert, NULL);
  f->proxy = copy_or(opt->proxy, NULL);
  f->env_proxy = uvfetch__proxy_in_env();
  f->slots = calloc(opt->max_concurrent, sizeof(*f->slots));
  if (f->protocols == NULL || f->user_agent == NULL || f->slots == NULL ||
      (opt->cacert != NULL && f->cacert == NULL) ||
      (opt->proxy != NULL && f->proxy == NULL))
    goto fail;
  if (header_list(&f->headers, NULL, opt->headers) != 0)
    goto fail;
  f->opt.protocols = f->protocols;
  f->opt.user_agent = f->user_agent;
  f->opt.cacert = f->cacert;
  f->opt.proxy = f->proxy;
  f->opt.headers = NULL;
  err = uvfetch__dns_init(f);
  f->opt.resolve = NULL; /* copied, or refused */
  if (err != 0)
    goto fail;
  err = UVFETCH_ENOMEM;
  if (opt->ordered) {
    f->ring = calloc(f->window, sizeof(*f->ring));
    if (f->ring == NULL)
      goto fail;
  }
  if (uvfetch__sched_init(&f->sched, opt->max_concurrent, opt->max_per_host,
                          opt->rate) != 0)
    goto fail;
  f->t0_ns = uv_hrtime();
  f->random = (f->t0_ns ^ (uint64_t)(uintptr_t)f) | 1;
  if (opt->adaptive) {
    /* Its clock is milliseconds since t0_ns (transfer.c). */
    struct adapt_config ac = {0};

    ac.max = opt->max_concurrent;
    ac.max_per_host = opt->max_per_host;
    ac.seed = f->random;
    if (uvfetch__adapt_init(&f->adapt, &ac, 0) != 0)
      goto fail;
    uvfetch__sched_adapt(&f->sched, &f->adapt);
  }

  err = UVFETCH_ECURL;
  f->multi = curl_multi_init();
  f->parser = curl_url();
  if (f->multi == NULL || f->parser == NULL)
    goto fail;
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, uvfetch__on_socket);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, uvfetch__on_curl_timer);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
  err = uvfetch__shares_init(f);
  if (err != 0)
    goto fail;
  err = uvfetch__keep_init(f);
  if (err != 0)
    goto fail;

  /* The first slot proves the options acceptable to libcurl (a protocol
   * list it does not know, say) before anything is queued. */
  err = uvfetch__slot_new(f, 0, &first);
  if (err != 0)
    goto fail;
  f->slots[f->nslots++] = first;
  first->next_idle = NULL;
  f->idle = first;

  err = uv_timer_init(loop, &f->timer);
  if (err != 0)
    goto fail;
  f->timer.data = f;
  f->open_handles = 1;
  err = uv_timer_init(loop, &f->sched_timer);
  if (err != 0)
    goto fail_handles;
  f->sched_timer.data = f;
  f->open_handles = 2;
  err = uv_idle_init(loop, &f->kick);
  if (err != 0)
    goto fail_handles;
  f->kick.data = f;
  f->open_handles = 3;
  err = uvfetch__dns_start(f);
  if (err != 0)
    goto fail_handles;
  *out = f;
  return 0;

fail_handles:
  /* Handles are on the loop now: the memory goes in their close callbacks,
   * through teardown's second half. */
  f->torn_down = 1;
  uv_close((uv_handle_t *)&f->timer, uvfetch__on_handle_closed);
  if (f->open_handles >= 2)
    uv_close((uv_handle_t *)&f->sched_timer, uvfetch__on_handle_closed);
  if (f->open_handles >= 3)
    uv_close((uv_handle_t *)&f->kick, uvfetch__on_handle_closed);
  return err;

fail:
  free_fetcher(f);
  return err;
}

int uvfetch_add(uvfetch_t *f, const char *url, void *data) {
  return uvfetch_add_ex(f, url, data, 0, NULL);
}

int uvfetch_add_ex(uvfetch_t *f, const char *url, void *data, unsigned flags,
                   uint64_t *ordinal) {
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;

  req.url = url;
  req.data = data;
  req.flags = flags;
  return uvfetch_submit(f, &req, ordinal);
}

int uvfetch_submit(uvfetch_t *f, const uvfetch_request_t *req,
                   uint64_t *ordinal) {
  struct transfer *t;
  CURLU *uh;
  CURLU *parsed;
  const char *why = NULL;
  int curl_code = 0;
  int https = 0;
  int err;
  size_t n;

  if (f == NULL || req == NULL || req->url == NULL || req->timeout_ms < 0 ||
      !lines_ok(req->headers))
    return UVFETCH_EINVAL;
  if (f->closing)
    return UVFETCH_ECLOSING;
  /* The parsed URL goes with the transfer to libcurl, which then need not
   * parse it again; but only while few wait, so that what the queue holds
   * stays small however much is submitted. The rest is parsed again when
   * it starts. */
  uh = NULL;
  if (f->sched.queued < f->opt.max_concurrent)
    uh = curl_url();
  parsed = uh != NULL ? uh : f->parser;
  err = uvfetch__check_url(f, parsed, req->url, &why, &curl_code, &https);
  if (err != 0 && !(req->flags & UVFETCH_ADD_REPORT_INVALID)) {
    curl_url_cleanup(uh);
    return err;
  }
  n = strlen(req->url);
  t = calloc(1, sizeof(*t) + n + 1);
  if (t == NULL) {
    curl_url_cleanup(uh);
    return UVFETCH_ENOMEM;
  }
  if (req->headers != NULL && req->headers[0] != NULL &&
      header_list(&t->headers, f->headers, req->headers) != 0) {
    curl_url_cleanup(uh);
    free(t);
    return UVFETCH_ENOMEM;
  }
  memcpy(t->url, req->url, n + 1);
  t->data = req->data;
  t->timeout_ms = req->timeout_ms;
  t->on_body = req->on_body;
  t->on_header = req->on_header;
  t->on_setup = req->on_setup;
  t->q.ordinal = f->stats.added++;
  t->q.ready = err != 0;
  if (err == 0) {
    uvfetch__keep_queued(f, t, parsed);
    if (f->opt.max_per_host > 0 || f->opt.adaptive)
      t->q.host = t->host_key;
  }
  if (err == 0)
    t->uh = uh;
  else
    curl_url_cleanup(uh);
  t->state = T_QUEUED;
  t->https = https;
  t->pre_error = err;
  t->pre_curl_code = curl_code;
  t->pre_message = why;
  uvfetch__sched_push(&f->sched, &t->q);
  if (ordinal != NULL)
    *ordinal = t->q.ordinal;
  f->want_pump = 1;
  uvfetch__kick(f);
  return 0;
}

int uvfetch_pause(uvfetch_t *f) {
  if (f == NULL)
    return UVFETCH_EINVAL;
  if (f->closing)
    return UVFETCH_ECLOSING;
  f->paused = 1;
  return 0;
}

int uvfetch_resume(uvfetch_t *f) {
  if (f == NULL)
    return UVFETCH_EINVAL;
  if (f->closing)
    return UVFETCH_ECLOSING;
  f->paused = 0;
  f->want_pump = 1;
  uvfetch__kick(f);
  return 0;
}

/* Cancel a transfer that is not running (queued, or waiting to retry). */
static void cancel_waiting(uvfetch_t *f, struct transfer *t) {
  if (t->pre_error == 0) {
    t->pre_error = UVFETCH_ECANCELED;
    t->pre_message = NULL;
  }
  uvfetch__complete_early(f, t);
}

int uvfetch_cancel(uvfetch_t *f, uint64_t ordinal) {
  struct sched_entry *e;
  unsigned i;
  int found = 0;

  if (f == NULL)
    return UVFETCH_EINVAL;
  if (f->closing)
    return UVFETCH_ECLOSING;
  uvfetch__enter(f);
  for (i = 0; i < f->nslots && !found; i++) {
    if (f->slots[i]->t != NULL && f->slots[i]->t->q.ordinal == ordinal) {
      uvfetch__cancel_running(f, f->slots[i]);
      found = 1;
    }
  }
  if (!found) {
    e = uvfetch__sched_undefer(&f->sched, ordinal);
    /* In ordered mode, a queued transfer past the reordering window cannot
     * be held for its turn: it is marked, and completes when reached. */
    if (e == NULL && f->opt.ordered && ordinal >= f->next_deliver + f->window) {
      e = uvfetch__sched_find(&f->sched, ordinal);
      /* One already marked, or refused at add, is as good as completed. */
      if (e != NULL && e->ready)
        e = NULL;
      if (e != NULL) {
        container_of(e, struct transfer, q)->pre_error = UVFETCH_ECANCELED;
        e->ready = 1;
        e = NULL;
        found = 1;
      }
    } else if (e == NULL) {
      e = uvfetch__sched_take(&f->sched, ordinal);
    }
    if (e != NULL) {
      cancel_waiting(f, container_of(e, struct transfer, q));
      found = 1;
    }
  }
  if (found) {
    f->want_pump = 1;
    uvfetch__kick(f);
  }
  uvfetch__leave(f);
  return found ? 0 : UVFETCH_ENOTFOUND;
}

void uvfetch_get_stats(const uvfetch_t *f, uvfetch_stats_t *stats) {
  *stats = f->stats;
  stats->queued = f->sched.queued;
  stats->waiting = f->sched.nheap;
}

unsigned uvfetch_get_limit(const uvfetch_t *f) {
  return f->opt.adaptive ? uvfetch__adapt_limit(&f->adapt)
                         : f->opt.max_concurrent;
}

void *uvfetch_get_data(const uvfetch_t *f) {
  return f->data;
}

void uvfetch_set_data(uvfetch_t *f, void *data) {
  f->data = data;
}

uv_loop_t *uvfetch_get_loop(const uvfetch_t *f) {
  return f->loop;
}

int uvfetch_close(uvfetch_t *f, uvfetch_close_cb cb) {
  struct sched_entry *e;
  unsigned i;

  if (f == NULL)
    return UVFETCH_EINVAL;
  if (f->closing)
    return UVFETCH_ECLOSING;
  f->closing = 1;
  f->on_close = cb;
  uvfetch__enter(f);
  /* Running and retrying transfers first: in ordered mode they all lie in
   * the reordering window; once they are done, every queued one is next
   * in turn when reached, so delivery stays in input order. */
  for (i = 0; i < f->nslots; i++) {
    if (f->slots[i]->t != NULL)
      uvfetch__cancel_running(f, f->slots[i]);
  }
  for (;;) {
    e = uvfetch__sched_undefer(&f->sched, UINT64_MAX);
    if (e == NULL)
      break;
    cancel_waiting(f, container_of(e, struct transfer, q));
  }
  for (;;) {
    e = uvfetch__sched_shift(&f->sched);
    if (e == NULL)
      break;
    cancel_waiting(f, container_of(e, struct transfer, q));
  }
  uvfetch__leave(f);
  return 0;
}

/* Release libcurl while the loop can still close the poll handles its
 * cleanup touches, then the handles, then, once the last close callback
 * has run, the memory. Runs twice: first to start, last to finish. */
void uvfetch__teardown(uvfetch_t *f) {
  uvfetch_close_cb cb;

  if (!f->torn_down) {
    f->torn_down = 1;
    uv_idle_stop(&f->kick);
    curl_multi_cleanup(f->multi);
    f->multi = NULL;
    uvfetch__socks_close(f);
    uvfetch__dns_close(f);
    uv_close((uv_handle_t *)&f->timer, uvfetch__on_handle_closed);
    uv_close((uv_handle_t *)&f->sched_timer, uvfetch__on_handle_closed);
    uv_close((uv_handle_t *)&f->kick, uvfetch__on_handle_closed);
    return;
  }
  if (f->open_handles != 0)
    return;
  cb = f->on_close;
  if (cb != NULL)
    cb(f);
  free_fetcher(f);
}
