/* Transfers on slots: what happens to a URL between its start and its
 * result.
 *
 * A slot owns an easy handle, configured once and reused from one transfer
 * to the next (and, above 128 slots, dealt to one of several connection
 * caches). This file starts a transfer on a slot, maps what libcurl says
 * of its end to a result (uvfetch_result_t, UVFETCH_E* codes), decides on
 * retries and restarts, and hands the result to fetch.c
 * (uvfetch__complete). It calls libcurl's easy and multi functions, the
 * scheduler, and loop.c for the socket callbacks it installs.
 */
#include <stdio.h>
#include <strings.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "internal.h"
#include "uvfetch.h"

/* ---- results ---------------------------------------------------------- */

static int map_curl_code(CURLcode rc) {
  switch (rc) {
  case CURLE_OK:
    return 0;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return UVFETCH_ERESOLVE;
  case CURLE_COULDNT_CONNECT:
    return UVFETCH_ECONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    return UVFETCH_ETIMEDOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    return UVFETCH_ETLS;
  case CURLE_TOO_MANY_REDIRECTS:
    return UVFETCH_EREDIRECTS;
  case CURLE_UNSUPPORTED_PROTOCOL:
    return UVFETCH_ESCHEME;
  case CURLE_URL_MALFORMAT:
    return UVFETCH_EURL;
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_HTTP3:
  case CURLE_QUIC_CONNECT_ERROR:
    return UVFETCH_EPROTOCOL;
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    return UVFETCH_ENETWORK;
  case CURLE_BAD_CONTENT_ENCODING:
    return UVFETCH_EDECODE;
  case CURLE_FILESIZE_EXCEEDED:
    return UVFETCH_ETOOLARGE;
  case CURLE_WRITE_ERROR:
    return UVFETCH_EWRITE;
  case CURLE_HTTP_RETURNED_ERROR:
    return UVFETCH_EHTTP;
  case CURLE_OUT_OF_MEMORY:
    return UVFETCH_ENOMEM;
  case CURLE_ABORTED_BY_CALLBACK:
    return UVFETCH_ECANCELED;
  default:
    return UVFETCH_ECURL;
  }
}

/* libcurl 7.88 files some malformed responses under codes that mean
 * something else; its message tells them apart. */
static int map_failure(CURLcode rc, const char *msg) {
  switch (rc) {
  case CURLE_UNSUPPORTED_PROTOCOL:
    /* Also "Unsupported HTTP version in response" for a status line that
     * is not HTTP. */
    if (strncmp(msg, "Protocol ", 9) != 0 && strstr(msg, "HTTP") != NULL)
      return UVFETCH_EPROTOCOL;
    break;
  case CURLE_RECV_ERROR:
    /* Also bad chunked framing, and more header lines than libcurl takes
     * (300 KiB in all): the server's fault, not the network's. */
    if (strstr(msg, "chunk") != NULL ||
        strncmp(msg, "Too large response headers", 26) == 0)
      return UVFETCH_EPROTOCOL;
    break;
  default:
    break;
  }
  return map_curl_code(rc);
}

static int http_version_number(long v) {
  switch (v) {
  case CURL_HTTP_VERSION_1_0:
    return 10;
  case CURL_HTTP_VERSION_1_1:
    return 11;
  case CURL_HTTP_VERSION_2_0:
    return 20;
  case CURL_HTTP_VERSION_3:
    return 30;
  default:
    return 0;
  }
}

/* Record what the slot's easy handle knows of its transfer. `err` overrides
 * the error curl's code maps to (used for cancellation). Copies every
 * string the easy handle owns, because the handle is reused next. */
static void fill_result(struct transfer *t, struct slot *s, CURLcode rc,
                        int err) {
  uvfetch_result_t *r = &t->result;
  CURL *e = s->easy;
  long code = 0;
  long version = 0;
  long redirects = 0;
  curl_off_t total = 0;
  curl_off_t start = 0;
  curl_off_t wire = 0;
  curl_off_t dns = 0;
  curl_off_t connect = 0;
  curl_off_t tls = 0;
  char *effective = NULL;
  const char *msg;
  double wait;

  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
  curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &start);
  curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &wire);
  curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &effective);
  curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &dns);
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tls);

  r->http_code = code;
  r->http_version = code ? http_version_number(version) : 0;
  r->redirects = redirects;
  /* libcurl's clock starts after uvfetch's own wait for the name: the
   * timeline shifts by it, and the wait counts as name lookup. */
  wait = (double)t->dns_wait_ns / 1e9;
  r->total_time = (double)total / 1e6 + wait;
  r->ttfb = start > 0 ? (double)start / 1e6 + wait : 0;
  r->bytes = s->bytes;
  r->wire_bytes = wire > 0 ? (uint64_t)wire : 0;
  r->attempts = t->attempts;
  r->start_time = (double)(t->started_ns - s->f->t0_ns) / 1e9;
  r->dns_time = (double)dns / 1e6 + wait;
  r->connect_time = connect > 0 ? (double)connect / 1e6 + wait : 0;
  r->tls_time = tls > 0 ? (double)tls / 1e6 + wait : 0;
  r->slot = t->slot;
  if (effective != NULL && strcmp(effective, t->url) != 0)
    t->effective_url = strdup(effective);

  if (err == 0 && rc == CURLE_WRITE_ERROR && s->too_large)
    err = UVFETCH_ETOOLARGE;
  r->curl_code = (int)rc;
  if (err != 0) {
    /* Ours, not curl's: the message is the error's own. */
    r->error = err;
    r->message = uvfetch_strerror(err);
    return;
  }
  msg = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
  r->error = map_failure(rc, msg);
  r->ok = r->error == 0;
  if (r->ok)
    return;
  /* libcurl 7.88 says only "Out of memory" when a response header is over
   * its 100 KiB limit, the likelier cause here. */
  if (rc == CURLE_OUT_OF_MEMORY)
    msg = "out of memory in libcurl, or a response header over 100 KiB";
  t->message = strdup(msg);
}

/* ---- the adaptive limits (opt.adaptive) --------------------------------- */

/* Their clock: milliseconds since uvfetch_init. */
static uint64_t adapt_ms(const uvfetch_t *f, uint64_t ns) {
  return ns > f->t0_ns ? (ns - f->t0_ns) / 1000000 : 0;
}

/* A started transfer gives up its place with the scheduler, and tells the
 * adaptive limits what it says of load (enum adapt_signal): how long the
 * server took to answer, and a Retry-After in ms. */
static void host_done(uvfetch_t *f, struct transfer *t, int signal,
                      double rtt_ms, uint64_t retry_after_ms) {
  struct adapt_sample s;

  uvfetch__sched_finished(&f->sched, &t->q);
  if (!f->opt.adaptive)
    return;
  s.started_ms = adapt_ms(f, t->started_ns);
  s.rtt_ms = rtt_ms;
  s.signal = signal;
  s.retry_after_ms = retry_after_ms;
  uvfetch__adapt_finished(&f->adapt, t->q.host, adapt_ms(f, uv_hrtime()), &s);
}

/* What a finished transfer says of load. A 429 or 503, a connect that
 * timed out and a connection reset are the host pushing back; no
 * descriptor for a socket is this process's own shortage; any other
 * response is a latency sample; anything else (a name not found, a
 * refused connection, a reused connection the server had closed) says
 * nothing of load. */
static int load_signal(const struct slot *s, const struct transfer *t,
                       CURLcode rc) {
  const uvfetch_result_t *r = &t->result;
  long connects = -1;
  long received = -1;

  if (s->no_fd)
    return ADAPT_LOCAL;
  if (r->http_code == 429 || r->http_code == 503)
    return ADAPT_OVERLOAD;
  if (rc == CURLE_OPERATION_TIMEDOUT && r->http_code == 0 &&
      r->connect_time == 0)
    return ADAPT_OVERLOAD;
  if (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
      rc == CURLE_GOT_NOTHING) {
    curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &received);
    if (connects == 0 && received == 0 && s->bytes == 0)
      return ADAPT_NONE; /* a stale kept-alive connection: restarted */
    return ADAPT_OVERLOAD;
  }
  return r->http_code > 0 ? ADAPT_OK : ADAPT_NONE;
}

/* Tell the adaptive limits how the transfer on `s` ended, and free its
 * place with the scheduler. */
static void host_done_slot(uvfetch_t *f, struct slot *s, CURLcode rc) {
  struct transfer *t = s->t;
  curl_off_t after = -1;
  double rtt;

  if (!f->opt.adaptive) {
    uvfetch__sched_finished(&f->sched, &t->q);
    return;
  }
  rtt = t->result.ttfb > 0 ? t->result.ttfb : t->result.total_time;
  curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &after);
  host_done(f, t, load_signal(s, t, rc), rtt * 1000,
            after > 0 ? (uint64_t)after * 1000 : 0);
}

/* ---- slots: easy handles reused across transfers ---------------------- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userp) {
  struct slot *s = userp;
  size_t n = size * nmemb;

  s->bytes += n;
  if (s->f->opt.max_filesize > 0 &&
      s->bytes > (uint64_t)s->f->opt.max_filesize) {
    s->too_large = 1;
    return 0;
  }
  if (s->t->on_body != NULL && s->t->on_body(s->f, s->t->data, ptr, n) != 0)
    return 0;
  return n;
}

/* Does a transfer need on_header to drop its headers on a redirect to
 * another origin? */
static int guard_headers(uvfetch_t *f, struct transfer *t) {
  return f->opt.follow_redirects && !f->opt.location_trusted &&
         (f->headers != NULL || (t != NULL && t->headers != NULL));
}

/* scheme://host:port of `url`, resolved against `base` when not NULL,
 * into buf; 0, or -1 when it cannot be parsed. */
static int origin(CURLU *p, const char *base, const char *url, char *buf,
                  size_t size) {
  char *scheme = NULL;
  char *host = NULL;
  char *port = NULL;
  int ok;

  curl_url_set(p, CURLUPART_URL, NULL, 0);
  if (base != NULL &&
      curl_url_set(p, CURLUPART_URL, base, CURLU_NON_SUPPORT_SCHEME) != 0)
    return -1;
  ok = curl_url_set(p, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == 0 &&
       curl_url_get(p, CURLUPART_SCHEME, &scheme, 0) == 0 &&
       curl_url_get(p, CURLUPART_HOST, &host, 0) == 0 &&
       curl_url_get(p, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == 0;
  if (ok)
    snprintf(buf, size, "%s://%s:%s", scheme, host, port);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  return ok ? 0 : -1;
}

/* A redirect's Location: when it leaves the URL's own scheme, host and
 * port, the caller's headers stay behind, as curl does without
 * --location-trusted (libcurl itself holds back only Authorization and
 * Cookie). Once dropped, they stay dropped for the transfer. */
static void check_location(struct slot *s, const char *line, size_t n) {
  uvfetch_t *f = s->f;
  char *effective = NULL;
  char *location;
  char from[600];
  char to[600];
  long code = 0;

  curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
  if (code < 300 || code > 399)
    return;
  while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
    n--;
  line += 9; /* "Location:" */
  n -= 9;
  while (n > 0 && (*line == ' ' || *line == '\t')) {
    line++;
    n--;
  }
  location = strndup(line, n);
  if (location == NULL)
    return;
  curl_easy_getinfo(s->easy, CURLINFO_EFFECTIVE_URL, &effective);
  if (origin(f->parser, NULL, s->t->url, from, sizeof(from)) != 0 ||
      origin(f->parser, effective, location, to, sizeof(to)) != 0 ||
      strcasecmp(from, to) != 0) {
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, NULL);
    s->custom = 1; /* slot_release puts the fetcher's back */
    s->headers_dropped = 1;
  }
  free(location);
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userp) {
  struct slot *s = userp;
  size_t n = size * nmemb;

  if (s->t->on_header != NULL && s->t->on_header(s->f, s->t->data, ptr, n) != 0)
    return 0;
  if (!s->headers_dropped && n > 9 && strncasecmp(ptr, "Location:", 9) == 0 &&
      guard_headers(s->f, s->t))
    check_location(s, ptr, n);
  return n;
}

/* Set on a new easy handle everything that stays the same for every
 * transfer, so that starting one only sets its URL. */
static CURLcode slot_configure(uvfetch_t *f, struct slot *s) {
  const uvfetch_options_t *o = &f->opt;
  CURL *e = s->easy;
  CURLcode rc;

#define SET(option, value)                                                     \
  do {                                                                         \
    rc = curl_easy_setopt(e, option, value);                                   \
    if (rc != CURLE_OK)                                                        \
      return rc;                                                               \
  } while (0)

  SET(CURLOPT_PRIVATE, s);
  if (f->nshares > 0)
    SET(CURLOPT_SHARE, f->shares[s->index % f->nshares]);
  SET(CURLOPT_WRITEFUNCTION, on_write);
  SET(CURLOPT_WRITEDATA, s);
  SET(CURLOPT_ERRORBUFFER, s->errbuf);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_CLOSESOCKETFUNCTION, uvfetch__on_closesocket);
  SET(CURLOPT_CLOSESOCKETDATA, f);
  SET(CURLOPT_OPENSOCKETFUNCTION, uvfetch__on_opensocket);
  SET(CURLOPT_OPENSOCKETDATA, s);
  SET(CURLOPT_FOLLOWLOCATION, o->follow_redirects ? 1L : 0L);
  SET(CURLOPT_MAXREDIRS, o->max_redirects);
  SET(CURLOPT_PROTOCOLS_STR, f->protocols);
  SET(CURLOPT_REDIR_PROTOCOLS_STR, f->protocols);
  SET(CURLOPT_USERAGENT, f->user_agent);
  SET(CURLOPT_SSL_VERIFYPEER, o->verify_tls ? 1L : 0L);
  SET(CURLOPT_SSL_VERIFYHOST, o->verify_tls ? 2L : 0L);
  /* libcurl's 16 KiB receive buffer costs a recv and a poll for every
   * 16 KiB of a large body; curl's own tool reads 100 KiB at a time. The
   * pages are touched only as far as data arrives, so small bodies keep
   * a small footprint. */
  SET(CURLOPT_BUFFERSIZE, 102400L);
  /* resolve.c hands libcurl the names in use; libcurl caches nothing else,
   * so that its cache, which it walks at the end of every transfer, stays
   * as small as the transfers in flight. Through a proxy, libcurl
   * resolves, and keeps names as long as uvfetch would. */
  if (uvfetch__dns_bypass(f))
    SET(CURLOPT_DNS_CACHE_TIMEOUT, (long)(o->dns_cache_ms / 1000));
  else
    SET(CURLOPT_DNS_CACHE_TIMEOUT, 0L);
  if (o->compressed)
    SET(CURLOPT_ACCEPT_ENCODING, "");
  if (f->cacert != NULL)
    SET(CURLOPT_CAINFO, f->cacert);
  if (f->proxy != NULL)
    SET(CURLOPT_PROXY, f->proxy);
  else if (!f->env_proxy)
    SET(CURLOPT_PROXY, ""); /* spares libcurl a getenv per transfer */
  if (f->headers != NULL)
    SET(CURLOPT_HTTPHEADER, f->headers);
  if (guard_headers(f, NULL)) {
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, s);
  }
  if (o->connect_timeout_ms > 0)
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if (o->timeout_ms > 0)
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
  if (o->low_speed_limit > 0) {
    SET(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
    SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
  } else if (o->idle_timeout_ms > 0) {
    /* A server that stops sending holds no slot for ever. libcurl checks
     * speed in whole seconds, while waiting for a response and after. */
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, (o->idle_timeout_ms + 999) / 1000);
  }
  if (o->max_filesize > 0)
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_filesize);
  if (o->http_version == 11)
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  else if (o->http_version == 20)
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_0);
#undef SET
  return CURLE_OK;
}

void uvfetch__slot_free(struct slot *s) {
  if (s == NULL)
    return;
  curl_easy_cleanup(s->easy);
  curl_url_cleanup(s->uh);
  free(s);
}

/* A new slot in *out; 0, UVFETCH_ENOMEM, or UVFETCH_EINVAL when libcurl
 * refuses an option. */
int uvfetch__slot_new(uvfetch_t *f, unsigned index, struct slot **out) {
  struct slot *s = calloc(1, sizeof(*s));
  CURLcode rc;

  *out = NULL;
  if (s == NULL)
    return UVFETCH_ENOMEM;
  s->f = f;
  s->index = index;
  s->easy = curl_easy_init();
  if (s->easy == NULL) {
    free(s);
    return UVFETCH_ENOMEM;
  }
  rc = slot_configure(f, s);
  if (rc != CURLE_OK) {
    uvfetch__slot_free(s);
    return rc == CURLE_OUT_OF_MEMORY ? UVFETCH_ENOMEM : UVFETCH_EINVAL;
  }
  *out = s;
  return 0;
}

/* An idle slot, made when fewer than max_concurrent exist. */
static struct slot *slot_get(uvfetch_t *f) {
  struct slot *s = f->idle;

  if (s != NULL) {
    f->idle = s->next_idle;
    return s;
  }
  if (uvfetch__slot_new(f, f->nslots, &s) == 0)
    f->slots[f->nslots++] = s;
  return s;
}

/* Detach the slot's transfer from libcurl and make the slot idle again,
 * with the fetcher's options back where a transfer changed them. */
static void slot_release(uvfetch_t *f, struct slot *s) {
  curl_multi_remove_handle(f->multi, s->easy);
  uvfetch__dns_end(f, s, s->finished);
  if (s->touched) {
    curl_easy_reset(s->easy);
    slot_configure(f, s);
  } else if (s->custom) {
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, f->opt.timeout_ms);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, f->headers);
    /* Without a header function, libcurl would hand header lines to the
     * write function whenever HEADERDATA is set. */
    if (guard_headers(f, NULL)) {
      curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
      curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
    } else {
      curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, NULL);
      curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, NULL);
    }
  }
  s->headers_dropped = 0;
  s->touched = 0;
  s->custom = 0;
  s->fail = 0;
  s->finished = 0;
  s->t = NULL;
  s->next_idle = f->idle;
  f->idle = s;
  f->stats.running--;
}

/* What a request sets for itself on the slot's easy handle; slot_release
 * puts the fetcher's options back. Non-zero when the setup hook refuses. */
static int transfer_options(uvfetch_t *f, struct slot *s, struct transfer *t) {
  if (t->timeout_ms > 0 || t->headers != NULL || t->on_header != NULL)
    s->custom = 1;
  if (t->timeout_ms > 0)
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, t->timeout_ms);
  if (t->headers != NULL)
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, t->headers);
  if (t->on_header != NULL || guard_headers(f, t)) {
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
  }
  if (t->on_setup == NULL)
    return 0;
  s->touched = 1;
  return t->on_setup(f, t->data, s->easy);
}

/* Give the slot the transfer's URL parsed: the handle submit parsed it
 * into, or the slot's own, parsed again. Non-zero when out of memory. */
static int slot_url(struct slot *s, struct transfer *t) {
  if (t->uh != NULL) {
    curl_url_cleanup(s->uh);
    s->uh = t->uh;
    t->uh = NULL;
    return 0;
  }
  if (s->uh == NULL && (s->uh = curl_url()) == NULL)
    return -1;
  return uvfetch__parse_url(s->uh, t->url) != CURLUE_OK;
}

/* A transfer that could not be handed to libcurl ends here; `s` is its
 * slot, or NULL when it got none. */
static void start_failed(uvfetch_t *f, struct slot *s, struct transfer *t,
                         int err, const char *why) {
  if (s != NULL)
    slot_release(f, s);
  host_done(f, t, ADAPT_NONE, 0, 0);
  t->pre_error = err;
  t->pre_message = why;
  uvfetch__complete_early(f, t);
}

/* start_failed for resolve.c, with a message of its own (copied). */
void uvfetch__start_failed(uvfetch_t *f, struct slot *s, int err, int curl_code,
                           const char *message) {
  struct transfer *t = s->t;

  if (message != NULL) {
    free(t->message);
    t->message = strdup(message);
  }
  t->pre_curl_code = curl_code;
  start_failed(f, s, t, err, NULL);
}

/* Put a transfer on a slot; once its name is known (resolve.c), it goes
 * to libcurl. */
void uvfetch__start(uvfetch_t *f, struct transfer *t) {
  struct slot *s = slot_get(f);
  int err;

  /* Counted before anything can fail: every end goes through host_done. */
  if (f->opt.adaptive)
    uvfetch__adapt_started(&f->adapt, t->q.host, adapt_ms(f, uv_hrtime()));
  if (s == NULL) {
    start_failed(f, NULL, t, UVFETCH_ENOMEM, NULL);
    return;
  }
  uvfetch__keep_unqueued(f, t);
  s->t = t;
  s->bytes = 0;
  s->too_large = 0;
  s->no_fd = 0;
  s->read_fd = CURL_SOCKET_BAD;
  s->finished = 0;
  s->errbuf[0] = '\0';
  t->state = T_RUNNING;
  /* A retry: the body comes again from its start, and the sink says so. */
  if (t->attempts > 0 && t->on_body != NULL)
    t->on_body(f, t->data, NULL, 0);
  t->slot = s->index;
  t->started_ns = uv_hrtime();
  t->dns_wait_ns = 0;
  if (t->attempts == 0)
    t->first_ms = uv_now(f->loop);
  f->stats.running++;
  if (transfer_options(f, s, t) != 0) {
    start_failed(f, s, t, UVFETCH_ECURL, "the setup hook refused the transfer");
    return;
  }
  if (slot_url(s, t) != 0) {
    start_failed(f, s, t, UVFETCH_ENOMEM, NULL);
    return;
  }
  err = uvfetch__dns_begin(f, s);
  if (err < 0)
    start_failed(f, s, t, err, NULL);
  else if (err == 0)
    uvfetch__launch(f, s);
  /* else it waits for its name, or has already failed */
}

/* Hand the transfer on `s` to libcurl. */
void uvfetch__launch(uvfetch_t *f, struct slot *s) {
  struct transfer *t = s->t;

  /* PIPEWAIT lets an HTTPS transfer wait for a connection that may
   * multiplex it (HTTP/2) instead of opening another one. For plain HTTP,
   * where no multiplexing is asked for, libcurl 7.88 would make it wait
   * for the whole first response on the host. */
  curl_easy_setopt(s->easy, CURLOPT_PIPEWAIT, (long)t->https);
  uvfetch__keep_decide(f, s);
  /* The parsed URL spares libcurl parsing the text again and, in 7.88,
   * putting it back together: about a tenth of its work on a small
   * response. The URL handle overrides CURLOPT_URL, whose text libcurl
   * 7.88 keeps as the effective URL. */
  if (curl_easy_setopt(s->easy, CURLOPT_CURLU, s->uh) != CURLE_OK ||
      curl_easy_setopt(s->easy, CURLOPT_URL, (char *)t->url) != CURLE_OK ||
      curl_multi_add_handle(f->multi, s->easy) != CURLM_OK) {
    start_failed(f, s, t, UVFETCH_ECURL, "libcurl refused the transfer");
    return;
  }
  t->attempts++;
}

/* ---- retries ---------------------------------------------------------- */

static uint64_t next_random(uvfetch_t *f) {
  uint64_t x = f->random;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  f->random = x;
  return x;
}

/* Would another attempt be likely to do better? The failures curl --retry
 * calls transient, and a connection that could not be made or broke. */
static int transient(const uvfetch_result_t *r) {
  switch (r->error) {
  case UVFETCH_ECONNECT:
  case UVFETCH_ETIMEDOUT:
  case UVFETCH_ENETWORK:
    return 1;
  case 0:
    break;
  default:
    return 0;
  }
  switch (r->http_code) {
  case 408:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    return 1;
  default:
    return 0;
  }
}

/* Forget the last attempt's outcome before the next one. */
static void reset_attempt(struct transfer *t) {
  free(t->effective_url);
  free(t->message);
  t->effective_url = NULL;
  t->message = NULL;
  memset(&t->result, 0, sizeof(t->result));
  t->state = T_QUEUED;
}

/* A server may close a kept-alive connection just as a request goes out
 * on it; the request then meets a reset with nothing received. Browsers
 * send such a request again at once, and so does this, once or twice per
 * URL (all of uvfetch's requests are GETs, safe to repeat), whatever the
 * retry settings: it is no failure of the URL. Returns 1 when requeued. */
static int restart_stale(uvfetch_t *f, struct slot *s, CURLcode rc) {
  struct transfer *t = s->t;
  long connects = -1;
  long received = -1;

  if (f->closing || t->stale >= 2)
    return 0;
  if (rc != CURLE_RECV_ERROR && rc != CURLE_SEND_ERROR &&
      rc != CURLE_GOT_NOTHING)
    return 0;
  curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(s->easy, CURLINFO_HEADER_SIZE, &received);
  if (connects != 0 || received != 0 || s->bytes != 0)
    return 0;
  t->stale++;
  reset_attempt(t);
  uvfetch__sched_requeue(&f->sched, &t->q);
  return 1;
}

/* The process ran out of file descriptors for this transfer's socket. While
 * other transfers run, they will give some back: requeue it and run fewer
 * at once (the cap grows again by one per completion). With nothing else
 * running, or after many tries, it fails as EMFILE. Returns 1 when
 * requeued. */
static int wait_for_fd(uvfetch_t *f, struct slot *s) {
  struct transfer *t = s->t;

  if (!s->no_fd)
    return 0;
  if (f->closing || f->stats.running <= 1 || t->fd_waits >= 1000) {
    free(t->message);
    t->message = NULL;
    t->result.error = UV_EMFILE;
    t->result.message = "too many open files: no descriptor for a socket";
    return 0;
  }
  t->fd_waits++;
  /* It never had a socket: no attempt was made. */
  t->attempts--;
  f->fd_cap = f->stats.running - 1;
  reset_attempt(t);
  uvfetch__sched_requeue(&f->sched, &t->q);
  return 1;
}

/* The longest wait before a retry, whatever the backoff or the server's
 * Retry-After say: ten minutes. */
enum { RETRY_CAP_MS = 600000 };

/* If the transfer on `s` should go again, hold it for its backoff and
 * return 1; it keeps no slot while it waits. */
static int defer_retry(uvfetch_t *f, struct slot *s) {
  struct transfer *t = s->t;
  uint64_t delay;
  uint64_t now = uv_now(f->loop);
  curl_off_t after = -1;
  unsigned shift;

  if (f->closing || t->retried >= f->opt.retries || !transient(&t->result))
    return 0;
  shift = t->retried < 20 ? t->retried : 20;
  delay = (uint64_t)f->opt.retry_delay_ms << shift;
  if (delay > RETRY_CAP_MS)
    delay = RETRY_CAP_MS;
  /* Full jitter on the upper half: retries of many URLs that failed
   * together do not come back together. */
  delay = delay / 2 + next_random(f) % (delay / 2 + 1);
  /* A server's Retry-After wins over a shorter backoff, up to the same
   * cap: a day's wait, or an overflowing one, is not obeyed. */
  curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &after);
  if (after > RETRY_CAP_MS / 1000)
    after = RETRY_CAP_MS / 1000;
  if (after > 0 && (uint64_t)after * 1000 > delay)
    delay = (uint64_t)after * 1000;
  if (f->opt.retry_max_time_ms > 0 &&
      now + delay - t->first_ms > (uint64_t)f->opt.retry_max_time_ms)
    return 0;
  if (uvfetch__sched_defer(&f->sched, &t->q, now + delay) != 0)
    return 0;
  t->retried++;
  reset_attempt(t);
  return 1;
}

/* Every finished transfer, after every socket_action. */
void uvfetch__drain(uvfetch_t *f) {
  CURLMsg *msg;
  int left;
  struct slot *s;
  struct transfer *t;
  CURLcode rc;
  char *priv;

  while (!f->closing) {
    msg = curl_multi_info_read(f->multi, &left);
    if (msg == NULL)
      break;
    if (msg->msg != CURLMSG_DONE)
      continue;
    rc = msg->data.result;
    priv = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
    s = (struct slot *)priv;
    t = s->t;
    s->finished = 1;
    /* A socket that could not be watched failed the connect: say why. */
    fill_result(t, s, rc, rc != CURLE_OK ? s->fail : 0);
    uvfetch__mux_learn(f, s);
    host_done_slot(f, s, rc);
    if (restart_stale(f, s, rc) || wait_for_fd(f, s) || defer_retry(f, s)) {
      slot_release(f, s);
      continue;
    }
    slot_release(f, s);
    /* Descriptors came back with this one: let one more run again. */
    if (f->fd_cap < f->opt.max_concurrent)
      f->fd_cap++;
    uvfetch__complete(f, t);
  }
  uvfetch__pump(f);
}

/* End every transfer whose slot has failed. */
void uvfetch__reap(uvfetch_t *f) {
  struct transfer *t;
  struct slot *s;
  unsigned i;

  for (i = 0; i < f->nslots && !f->closing; i++) {
    s = f->slots[i];
    if (s->t == NULL || s->fail == 0)
      continue;
    t = s->t;
    fill_result(t, s, CURLE_OK, s->fail);
    host_done(f, t, s->fail == UV_EMFILE ? ADAPT_LOCAL : ADAPT_NONE, 0, 0);
    slot_release(f, s);
    uvfetch__complete(f, t);
  }
  uvfetch__pump(f);
}

/* libcurl 7.88 walks every cached connection to the host when it looks
 * for one to reuse, and every cached connection when a transfer is
 * removed: at -j 2000 these walks were a fifth of the work. So above
 * SHARE_SLOTS slots, the slots are dealt among several connection caches
 * (share handles), each walked alone. */
enum { SHARE_SLOTS = 128 };

int uvfetch__shares_init(uvfetch_t *f) {
  unsigned n = (f->opt.max_concurrent + SHARE_SLOTS - 1) / SHARE_SLOTS;
  unsigned i;

  if (n < 2)
    return 0;
  f->shares = calloc(n, sizeof(*f->shares));
  if (f->shares == NULL)
    return UVFETCH_ENOMEM;
  f->nshares = n;
  for (i = 0; i < n; i++) {
    f->shares[i] = curl_share_init();
    if (f->shares[i] == NULL)
      return UVFETCH_ENOMEM;
    if (curl_share_setopt(f->shares[i], CURLSHOPT_SHARE,
                          CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
      return UVFETCH_ECURL;
  }
  return 0;
}

/* Let every easy handle go of its share, then free the shares, which
 * closes their connections (through uvfetch__on_closesocket). */
void uvfetch__shares_close(uvfetch_t *f) {
  unsigned i;

  if (f->shares == NULL)
    return;
  for (i = 0; i < f->nslots; i++)
    curl_easy_setopt(f->slots[i]->easy, CURLOPT_SHARE, NULL);
  for (i = 0; i < f->nshares; i++) {
    if (f->shares[i] != NULL)
      curl_share_cleanup(f->shares[i]);
  }
  free(f->shares);
  f->shares = NULL;
  f->nshares = 0;
}

/* Cancel a running transfer: its result is what it had so far. */
void uvfetch__cancel_running(uvfetch_t *f, struct slot *s) {
  struct transfer *t = s->t;

  if (s->dns_waiting) {
    /* Never reached libcurl: nothing of the easy handle is its own. */
    start_failed(f, s, t, UVFETCH_ECANCELED, NULL);
    return;
  }
  fill_result(t, s, CURLE_OK, UVFETCH_ECANCELED);
  t->result.curl_code = 0;
  host_done(f, t, ADAPT_NONE, 0, 0);
  slot_release(f, s);
  uvfetch__complete(f, t);
}
