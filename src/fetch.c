/* The engine: libcurl's multi socket interface driven by a libuv loop.
 *
 * One uv_poll_t per socket, kept for the socket's whole life (curl tells us
 * of the close through CURLOPT_CLOSESOCKETFUNCTION), one uv_timer_t for
 * curl's timer, and one uv_idle_t that runs deferred work on the next turn
 * of the loop: starting queued transfers, and curl's 0 ms timeouts (a 0 ms
 * uv_timer_t restarted from its own callback spins in libuv 1.44).
 *
 * Transfers wait in our own FIFO until one of at most max_concurrent slots
 * is free; a slot owns an easy handle that is reused from one transfer to
 * the next. User callbacks run only from our own frames (never inside a
 * libcurl callback), so they may add, cancel and close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "internal.h"
#include "scheduler.h"
#include "uvfetch.h"

enum { T_QUEUED, T_RUNNING, T_HELD };

struct transfer {
  struct sched_entry q; /* its place in the queue or the retry heap */
  void *data;
  struct curl_slist *headers; /* owned: the fetcher's and the request's */
  long timeout_ms;            /* the request's own, or 0 */
  uvfetch_body_cb on_body;
  uvfetch_header_cb on_header;
  uvfetch_setup_cb on_setup;
  unsigned attempts;
  unsigned retried;    /* retries after a transient failure */
  unsigned stale;      /* restarts after a reused connection had died */
  unsigned fd_waits;   /* restarts for want of a file descriptor */
  uint64_t first_ms;   /* loop time of the first attempt's start */
  uint64_t started_ns; /* uv_hrtime() at the last attempt's start */
  unsigned slot;       /* index of the slot of the last attempt */
  int state;
  int https;     /* may multiplex: wait for a connection to tell */
  int pre_error; /* refused or cancelled before it started */
  int pre_curl_code;
  const char *pre_message; /* static text for pre_error */
  CURLU *uh; /* the URL as parsed at submit, or NULL: parsed at start */
  uvfetch_result_t result; /* filled when it finishes */
  char *effective_url;     /* owned; NULL when equal to url */
  char *message;           /* owned; NULL when result.message is static */
  char url[];
};

struct slot {
  struct slot *next_idle;
  unsigned index;
  int fail; /* a libuv or uvfetch error that ends the transfer at once */
  uvfetch_t *f;
  CURL *easy;
  CURLU *uh; /* the running transfer's parsed URL, handed to libcurl */
  struct transfer *t;
  uint64_t bytes;
  int too_large;
  int no_fd;   /* a socket could not be opened: the process is out of fds */
  curl_socket_t read_fd; /* the socket it established, once read from */
  int custom;  /* the transfer changed options that later ones must not see */
  int touched; /* its setup hook had the easy handle: reset it afterwards */
  char errbuf[CURL_ERROR_SIZE];
};

/* One socket libcurl asked us to watch, and its poll handle. libcurl 7.88
 * announces the close of an established connection (through
 * CURLOPT_CLOSESOCKETFUNCTION), but closes a socket that never became one
 * (a connect given up, cancelled or lost to happy eyeballs) with a plain
 * close(), followed at once by CURL_POLL_REMOVE. It asks for CURL_POLL_IN
 * on a socket of its own only once that socket is established. So: */
struct sock {
  uv_poll_t poll;
  uvfetch_t *f;
  curl_socket_t fd;
  int events;      /* the UV_READABLE | UV_WRITABLE mask being polled */
  int wanted;      /* the mask libcurl asked for; 0 after CURL_POLL_REMOVE */
  int opened;      /* made by on_opensocket: a connection's socket */
  int established; /* opened, and libcurl asked to read it: its close is
                      announced, so polling may outlive its interest */
  struct sock *hot_prev; /* in the fetcher's list of hot HTTP/2 sockets */
  struct sock *hot_next;
  int hot; /* in that list */
  int mux; /* carries HTTP/2: corked while libcurl writes */
};

struct uvfetch_s {
  uv_loop_t *loop;
  CURLM *multi;
  CURLSH **shares; /* connection caches, each for some slots; see init */
  unsigned nshares;
  CURLU *parser;
  uvfetch_options_t opt; /* strings point at the owned copies below */
  char *protocols;
  char *user_agent;
  char *cacert;
  char *proxy;
  int env_proxy; /* a proxy variable is set in the environment */
  struct curl_slist *headers;
  uvfetch_done_cb on_done;
  uvfetch_close_cb on_close;
  void *data;

  uv_timer_t timer;       /* libcurl's */
  uv_timer_t sched_timer; /* the next retry, or the rate limit's next start */
  uv_idle_t kick;
  int want_pump;
  int want_timeout;
  int want_reap;        /* some slot's fail is set */
  unsigned turn_starts; /* transfers started since on_kick last ran */
  int paused;
  uint64_t t0_ns;  /* uv_hrtime() at uvfetch_init */
  uint64_t random; /* xorshift state for retry jitter */

  struct sched sched;

  struct slot **slots; /* max_concurrent entries, made on demand */
  unsigned nslots;
  struct slot *idle;

  struct transfer **ring; /* ordered mode: finished, by ordinal % window */
  unsigned window;
  uint64_t next_deliver;

  struct sock **socks; /* indexed by fd */
  size_t nsocks;
  struct sock *hot; /* HTTP/2 sockets with events since the last timeout */

  uvfetch_stats_t stats;
  unsigned fd_cap; /* running transfers at most while fds are short */
  int depth;       /* nesting of our own frames; teardown waits for 0 */
  int closing;
  int torn_down;
  int open_handles; /* uv handles whose close callback is still due */
};

static void on_kick(uv_idle_t *handle);
static void on_handle_closed(uv_handle_t *handle);
static void pump(uvfetch_t *f);
static void reap(uvfetch_t *f);

void uvfetch_options_init(uvfetch_options_t *opt) {
  static const uvfetch_options_t defaults = UVFETCH_OPTIONS_INIT;
  *opt = defaults;
}

/* Frames: every entry from libuv or the caller that may run user callbacks
 * is bracketed, so that a close requested inside a callback tears down
 * only when the outermost frame unwinds. */
static void teardown(uvfetch_t *f);

static void enter(uvfetch_t *f) {
  f->depth++;
}

static void leave(uvfetch_t *f) {
  f->depth--;
  if (f->depth == 0 && f->closing && !f->torn_down)
    teardown(f);
}

static void kick(uvfetch_t *f) {
  if (!f->closing)
    uv_idle_start(&f->kick, on_kick);
}

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
    /* Also bad chunked framing. */
    if (strstr(msg, "chunk") != NULL)
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
  r->total_time = (double)total / 1e6;
  r->ttfb = (double)start / 1e6;
  r->bytes = s->bytes;
  r->wire_bytes = wire > 0 ? (uint64_t)wire : 0;
  r->attempts = t->attempts;
  r->start_time = (double)(t->started_ns - s->f->t0_ns) / 1e9;
  r->dns_time = (double)dns / 1e6;
  r->connect_time = (double)connect / 1e6;
  r->tls_time = (double)tls / 1e6;
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
  enter(f);
  f->on_done(f, r);
  leave(f);
  transfer_free(t);
}

/* A transfer is finished: deliver it now, or, in ordered mode, hold it until
 * every earlier one has been delivered. */
static void complete(uvfetch_t *f, struct transfer *t) {
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
static void complete_early(uvfetch_t *f, struct transfer *t) {
  uvfetch_result_t *r = &t->result;

  r->error = t->pre_error;
  r->curl_code = t->pre_curl_code;
  r->message = t->pre_message ? t->pre_message : uvfetch_strerror(r->error);
  r->ok = 0;
  r->attempts = t->attempts;
  complete(f, t);
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

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userp) {
  struct slot *s = userp;
  size_t n = size * nmemb;

  if (s->t->on_header(s->f, s->t->data, ptr, n) != 0)
    return 0;
  return n;
}

static int on_closesocket(void *clientp, curl_socket_t fd);
static int sock_open(uvfetch_t *f, curl_socket_t fd, struct sock **out);
static struct sock *sock_find(uvfetch_t *f, curl_socket_t fd);
static void sock_retire(uvfetch_t *f, struct sock *k);
static int sock_watch(struct sock *k, int want);
static void fail_socket(uvfetch_t *f, CURL *easy, int err);

/* Every connection socket is made here. libcurl 7.88 reports a socket()
 * that failed for want of descriptors as a plain "Couldn't connect",
 * without errno; opening it here tells. */
static curl_socket_t on_opensocket(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *a) {
  struct slot *s = clientp;
  uvfetch_t *f = s->f;
  struct sock *k;
  curl_socket_t fd;
  int wanted = 0;
  int err;

  fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (fd == CURL_SOCKET_BAD) {
    if (errno == EMFILE || errno == ENFILE)
      s->no_fd = 1;
    return fd;
  }
  /* A handle still in the table for this number belongs to a socket that
   * libcurl closed without a word. libcurl keys what it watches by number,
   * so the new socket inherits what it believes is watched there. */
  k = sock_find(f, fd);
  if (k != NULL) {
    wanted = k->wanted;
    sock_retire(f, k);
  }
  err = sock_open(f, fd, &k);
  if (err == 0) {
    k->opened = 1;
    err = sock_watch(k, wanted);
  }
  if (err != 0) {
    /* No way to watch it: the transfer fails with the reason, never
     * waits on a socket nobody polls. */
    if (k != NULL)
      sock_retire(f, k);
    close(fd);
    fail_socket(f, s->easy, err);
    return CURL_SOCKET_BAD;
  }
  return fd;
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
  SET(CURLOPT_CLOSESOCKETFUNCTION, on_closesocket);
  SET(CURLOPT_CLOSESOCKETDATA, f);
  SET(CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
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
  if (o->connect_timeout_ms > 0)
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if (o->timeout_ms > 0)
    SET(CURLOPT_TIMEOUT_MS, o->timeout_ms);
  if (o->low_speed_limit > 0) {
    SET(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
    SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_time);
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

static void slot_free(struct slot *s) {
  if (s == NULL)
    return;
  curl_easy_cleanup(s->easy);
  curl_url_cleanup(s->uh);
  free(s);
}

/* A new slot in *out; 0, UVFETCH_ENOMEM, or UVFETCH_EINVAL when libcurl
 * refuses an option. */
static int slot_new(uvfetch_t *f, unsigned index, struct slot **out) {
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
    slot_free(s);
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
  if (slot_new(f, f->nslots, &s) == 0)
    f->slots[f->nslots++] = s;
  return s;
}

/* Detach the slot's transfer from libcurl and make the slot idle again,
 * with the fetcher's options back where a transfer changed them. */
static void slot_release(uvfetch_t *f, struct slot *s) {
  curl_multi_remove_handle(f->multi, s->easy);
  if (s->touched) {
    curl_easy_reset(s->easy);
    slot_configure(f, s);
  } else if (s->custom) {
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, f->opt.timeout_ms);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, f->headers);
    /* Without a header function, libcurl would hand header lines to the
     * write function whenever HEADERDATA is set. */
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, NULL);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, NULL);
  }
  s->touched = 0;
  s->custom = 0;
  s->fail = 0;
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
  if (t->on_header != NULL) {
    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
  }
  if (t->on_setup == NULL)
    return 0;
  s->touched = 1;
  return t->on_setup(f, t->data, s->easy);
}

/* Parse `url` into `uh`, which may hold an earlier one. */
static CURLUcode parse_url(CURLU *uh, const char *url) {
  /* Cleared first: on a handle that holds a URL, a new one is resolved
   * relative to it. */
  curl_url_set(uh, CURLUPART_URL, NULL, 0);
  return curl_url_set(uh, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
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
  return parse_url(s->uh, t->url) != CURLUE_OK;
}

/* A transfer that could not be handed to libcurl ends here; `s` is its
 * slot, or NULL when it got none. */
static void start_failed(uvfetch_t *f, struct slot *s, struct transfer *t,
                         int err, const char *why) {
  if (s != NULL)
    slot_release(f, s);
  uvfetch__sched_finished(&f->sched, &t->q);
  t->pre_error = err;
  t->pre_message = why;
  complete_early(f, t);
}

/* Put a transfer on a slot and hand it to libcurl. */
static void start(uvfetch_t *f, struct transfer *t) {
  struct slot *s = slot_get(f);

  if (s == NULL) {
    start_failed(f, NULL, t, UVFETCH_ENOMEM, NULL);
    return;
  }
  s->t = t;
  s->bytes = 0;
  s->too_large = 0;
  s->no_fd = 0;
  s->read_fd = CURL_SOCKET_BAD;
  s->errbuf[0] = '\0';
  t->state = T_RUNNING;
  /* A retry: the body comes again from its start, and the sink says so. */
  if (t->attempts > 0 && t->on_body != NULL)
    t->on_body(f, t->data, NULL, 0);
  t->slot = s->index;
  t->started_ns = uv_hrtime();
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
  /* PIPEWAIT lets an HTTPS transfer wait for a connection that may
   * multiplex it (HTTP/2) instead of opening another one. For plain HTTP,
   * where no multiplexing is asked for, libcurl 7.88 would make it wait
   * for the whole first response on the host. */
  curl_easy_setopt(s->easy, CURLOPT_PIPEWAIT, (long)t->https);
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

static void on_sched_timer(uv_timer_t *handle);

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
static void pump(uvfetch_t *f) {
  struct sched_entry *e;
  uint64_t limit;
  uint64_t wake = UINT64_MAX;
  uint64_t now;

  while (!f->closing && !f->paused) {
    if (f->turn_starts >= TURN_STARTS) {
      f->want_pump = 1;
      kick(f);
      break;
    }
    limit = f->opt.ordered ? f->next_deliver + f->window : UINT64_MAX;
    now = uv_now(f->loop);
    e = uvfetch__sched_next(&f->sched, limit, f->stats.running < f->fd_cap, now,
                            &wake);
    if (e == NULL)
      break;
    if (e->ready)
      complete_early(f, container_of(e, struct transfer, q));
    else {
      f->turn_starts++;
      start(f, container_of(e, struct transfer, q));
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

static void on_sched_timer(uv_timer_t *handle) {
  uvfetch_t *f = container_of(handle, uvfetch_t, sched_timer);

  enter(f);
  uvfetch__sched_release_due(&f->sched, uv_now(f->loop));
  pump(f);
  leave(f);
}

/* ---- libcurl <-> libuv ------------------------------------------------- */

/* ---- HTTP/2 connections: one write per turn, not one per request ------- */

/* libcurl 7.88 writes each new HTTP/2 stream's request in a TLS record and
 * a send of its own, so fifty requests started together went out as fifty
 * packets, each waking the server. Corking a multiplexed connection's
 * socket while libcurl runs, and uncorking it when libcurl returns, sends
 * them together: the delay is the length of one call into libcurl.
 *
 * Only sockets the call is likely to write to are corked, so that a call
 * costs the same whatever the number of connections: the socket of a
 * poll event, and, for a timeout call (where new transfers start), the
 * HTTP/2 sockets that had events since the last one: their completions
 * are what started the new transfers, which go on the same connections. */
static void cork(struct sock *k, int on) {
#ifdef TCP_CORK
  setsockopt(k->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
#else
  (void)k;
  (void)on;
#endif
}

static void hot_add(uvfetch_t *f, struct sock *k) {
  if (k->hot)
    return;
  k->hot = 1;
  k->hot_prev = NULL;
  k->hot_next = f->hot;
  if (f->hot != NULL)
    f->hot->hot_prev = k;
  f->hot = k;
}

static void hot_remove(uvfetch_t *f, struct sock *k) {
  if (!k->hot)
    return;
  if (k->hot_prev != NULL)
    k->hot_prev->hot_next = k->hot_next;
  else
    f->hot = k->hot_next;
  if (k->hot_next != NULL)
    k->hot_next->hot_prev = k->hot_prev;
  k->hot = 0;
}

static void cork_hot(uvfetch_t *f, int on) {
  struct sock *k;

  for (k = f->hot; k != NULL; k = k->hot_next)
    cork(k, on);
}

/* Note the connection a finished HTTP/2 transfer opened as multiplexed. */
static void mux_learn(uvfetch_t *f, struct slot *s) {
  long connects = 0;
  struct sock *k;

  if (s->t->result.http_version != 20)
    return;
  curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects);
  if (connects == 0)
    return;
  k = sock_find(f, s->read_fd);
  if (k != NULL && k->established)
    k->mux = 1;
}

/* Every finished transfer, after every socket_action. */
static void drain(uvfetch_t *f) {
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
    /* A socket that could not be watched failed the connect: say why. */
    fill_result(t, s, rc, rc != CURLE_OK ? s->fail : 0);
    mux_learn(f, s);
    uvfetch__sched_finished(&f->sched, &t->q);
    if (restart_stale(f, s, rc) || wait_for_fd(f, s) || defer_retry(f, s)) {
      slot_release(f, s);
      continue;
    }
    slot_release(f, s);
    /* Descriptors came back with this one: let one more run again. */
    if (f->fd_cap < f->opt.max_concurrent)
      f->fd_cap++;
    complete(f, t);
  }
  pump(f);
}

/* One call into libcurl for a socket's events, or for its timeout when `k`
 * is NULL, then every transfer it finished. */
static void socket_action(uvfetch_t *f, struct sock *k, int flags) {
  curl_socket_t fd = k != NULL ? k->fd : CURL_SOCKET_TIMEOUT;
  int running = 0;

  if (k == NULL) {
    cork_hot(f, 1);
    curl_multi_socket_action(f->multi, fd, flags, &running);
    /* Uncorked and forgotten: sockets libcurl closed meanwhile left the
     * list as they went. */
    cork_hot(f, 0);
    while (f->hot != NULL)
      hot_remove(f, f->hot);
  } else if (k->mux) {
    hot_add(f, k);
    cork(k, 1);
    curl_multi_socket_action(f->multi, fd, flags, &running);
    /* libcurl may have closed it: uncork only what is still ours. */
    if (sock_find(f, fd) == k)
      cork(k, 0);
  } else {
    curl_multi_socket_action(f->multi, fd, flags, &running);
  }
  drain(f);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  struct sock *k = container_of(handle, struct sock, poll);
  uvfetch_t *f = k->f;
  int flags = 0;

  if (k->wanted == 0) {
    /* An idle connection stirred (the server closed it, say): libcurl is
     * not waiting on it and will check it before any reuse. */
    uv_poll_stop(&k->poll);
    k->events = 0;
    return;
  }
  if (status < 0) {
    /* libuv stopped the handle (EPOLLERR); curl must see the error or the
     * transfer waits forever. With IN and OUT beside ERR, libcurl 7.88 goes
     * on to read or write and reports the socket's own error ("Connection
     * reset by peer") rather than only "select/poll returned error". */
    k->events = 0;
    flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
  } else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  enter(f);
  socket_action(f, k, flags);
  leave(f);
}

static void on_timer(uv_timer_t *handle) {
  uvfetch_t *f = container_of(handle, uvfetch_t, timer);

  enter(f);
  socket_action(f, NULL, 0);
  leave(f);
}

static void on_kick(uv_idle_t *handle) {
  uvfetch_t *f = container_of(handle, uvfetch_t, kick);

  enter(f);
  f->turn_starts = 0;
  if (f->want_reap) {
    f->want_reap = 0;
    reap(f);
  }
  if (f->want_pump) {
    f->want_pump = 0;
    pump(f);
  }
  if (f->want_timeout) {
    f->want_timeout = 0;
    socket_action(f, NULL, 0);
  }
  if (!f->want_pump && !f->want_timeout && !f->want_reap)
    uv_idle_stop(&f->kick);
  leave(f);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  uvfetch_t *f = userp;

  if (timeout_ms < 0) {
    f->want_timeout = 0;
    uv_timer_stop(&f->timer);
  } else if (timeout_ms == 0) {
    f->want_timeout = 1;
    uv_timer_stop(&f->timer);
    kick(f);
  } else {
    f->want_timeout = 0;
    uv_timer_start(&f->timer, on_timer, (uint64_t)timeout_ms, 0);
  }
  return 0;
}

/* One of our handles is closed; the last one after teardown frees all. */
static void handle_closed(uvfetch_t *f) {
  f->open_handles--;
  if (f->torn_down && f->open_handles == 0)
    teardown(f);
}

static void on_handle_closed(uv_handle_t *handle) {
  handle_closed(handle->data);
}

static void on_sock_closed(uv_handle_t *handle) {
  struct sock *k = container_of((uv_poll_t *)handle, struct sock, poll);
  uvfetch_t *f = k->f;

  free(k);
  handle_closed(f);
}

/* Let go of a socket's poll handle: stopped first, so that libuv never
 * asks epoll about a descriptor that may be closed already; freed in its
 * close callback. The socket itself is libcurl's to close. */
static void sock_retire(uvfetch_t *f, struct sock *k) {
  if (k->events != 0)
    uv_poll_stop(&k->poll);
  k->events = 0;
  hot_remove(f, k);
  f->socks[k->fd] = NULL;
  uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *handle, int status, int events);

/* Poll for `want`, restarting only on a change (uv_poll_start in libuv
 * 1.44 re-registers with epoll every time). The handle keeps the loop
 * alive only while libcurl wants something of it. */
static int sock_watch(struct sock *k, int want) {
  int err;

  k->wanted = want;
  if (want == 0) {
    uv_unref((uv_handle_t *)&k->poll);
    return 0;
  }
  uv_ref((uv_handle_t *)&k->poll);
  if (want == k->events)
    return 0;
  err = uv_poll_start(&k->poll, want, on_poll);
  if (err != 0)
    return err;
  k->events = want;
  return 0;
}

/* A poll handle for fd in *out: 0, UVFETCH_ENOMEM or a libuv error. */
static int sock_open(uvfetch_t *f, curl_socket_t fd, struct sock **out) {
  struct sock *k;
  struct sock **grown;
  size_t n;
  int err;

  if ((size_t)fd >= f->nsocks) {
    n = f->nsocks ? f->nsocks : 64;
    while (n <= (size_t)fd)
      n *= 2;
    grown = realloc(f->socks, n * sizeof(*grown));
    if (grown == NULL)
      return UVFETCH_ENOMEM;
    memset(grown + f->nsocks, 0, (n - f->nsocks) * sizeof(*grown));
    f->socks = grown;
    f->nsocks = n;
  }
  k = calloc(1, sizeof(*k));
  if (k == NULL)
    return UVFETCH_ENOMEM;
  err = uv_poll_init_socket(f->loop, &k->poll, fd);
  if (err != 0) {
    free(k);
    return err;
  }
  k->f = f;
  k->fd = fd;
  f->socks[fd] = k;
  f->open_handles++;
  *out = k;
  return 0;
}

static struct sock *sock_find(uvfetch_t *f, curl_socket_t fd) {
  if (fd < 0 || (size_t)fd >= f->nsocks)
    return NULL;
  return f->socks[fd];
}

/* A socket of this easy handle cannot be watched. Failing the socket
 * callback would make libcurl abort every transfer of the multi handle, and
 * nothing may call libcurl from here: the transfer is marked, and reaped
 * from the idle handle on the next turn of the loop. */
static void fail_socket(uvfetch_t *f, CURL *easy, int err) {
  char *priv = NULL;
  struct slot *s;

  if (easy == NULL)
    return;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  s = (struct slot *)priv;
  if (s == NULL || s->t == NULL || s->fail != 0)
    return;
  s->fail = err;
  f->want_reap = 1;
  kick(f);
}

/* End every transfer whose slot has failed. */
static void reap(uvfetch_t *f) {
  struct transfer *t;
  struct slot *s;
  unsigned i;

  for (i = 0; i < f->nslots && !f->closing; i++) {
    s = f->slots[i];
    if (s->t == NULL || s->fail == 0)
      continue;
    t = s->t;
    fill_result(t, s, CURLE_OK, s->fail);
    uvfetch__sched_finished(&f->sched, &t->q);
    slot_release(f, s);
    complete(f, t);
  }
  pump(f);
}

/* curl says what to watch on a socket. An established connection's poll
 * handle lives as long as the socket: CURL_POLL_REMOVE only unreferences
 * it, because a kept-alive connection is usually watched again soon, and
 * stopping and restarting its poll would cost two epoll_ctl calls per
 * request. It stays polled, and stops only if it stirs while idle
 * (on_poll). Any other socket may be closed behind our back right after
 * CURL_POLL_REMOVE (a connect given up, the resolver's socketpair), so
 * its handle goes at once. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *socketp) {
  uvfetch_t *f = userp;
  struct sock *k = sock_find(f, fd);
  char *priv = NULL;
  int want = 0;
  int err;

  if (what == CURL_POLL_REMOVE) {
    if (k == NULL)
      return 0;
    if (k->established)
      sock_watch(k, 0);
    else
      sock_retire(f, k);
    return 0;
  }
  if (k == NULL) {
    err = sock_open(f, fd, &k);
    if (err != 0) {
      fail_socket(f, easy, err);
      return 0;
    }
  }
  if (what & CURL_POLL_IN) {
    want |= UV_READABLE;
    if (k->opened && !k->established) {
      /* The transfer that made the connection: mux_learn asks it. */
      k->established = 1;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
      if (priv != NULL)
        ((struct slot *)priv)->read_fd = fd;
    }
  }
  if (what & CURL_POLL_OUT)
    want |= UV_WRITABLE;
  err = sock_watch(k, want);
  if (err != 0)
    fail_socket(f, easy, err);
  return 0;
}

/* curl is closing one of its sockets: the poll handle goes first, so that
 * libuv never watches a closed descriptor. */
static int on_closesocket(void *clientp, curl_socket_t fd) {
  uvfetch_t *f = clientp;
  struct sock *k = sock_find(f, fd);

  if (k != NULL)
    sock_retire(f, k);
  return close(fd);
}

/* ---- URLs -------------------------------------------------------------- */

/* Is `scheme` in the comma-separated list of allowed protocols? */
static int scheme_allowed(const char *list, const char *scheme) {
  size_t n = strlen(scheme);
  const char *p = list;
  const char *end;

  for (;;) {
    while (*p == ',' || *p == ' ')
      p++;
    if (*p == '\0')
      return 0;
    end = p + strcspn(p, ", ");
    if ((size_t)(end - p) == 3 && strncasecmp(p, "all", 3) == 0)
      return 1;
    if ((size_t)(end - p) == n && strncasecmp(p, scheme, n) == 0)
      return 1;
    p = end;
  }
}

/* Parse `url` into `uh` and check it: 0, or why it is refused, with a
 * static message in *why. */
static int check_url(uvfetch_t *f, CURLU *uh, const char *url, const char **why,
                     int *curl_code, int *https) {
  CURLUcode uc;
  char *scheme = NULL;
  int allowed;

  uc = parse_url(uh, url);
  if (uc != CURLUE_OK) {
    *why = curl_url_strerror(uc);
    *curl_code = CURLE_URL_MALFORMAT;
    return UVFETCH_EURL;
  }
  uc = curl_url_get(uh, CURLUPART_SCHEME, &scheme, 0);
  if (uc != CURLUE_OK) {
    *why = curl_url_strerror(uc);
    *curl_code = CURLE_URL_MALFORMAT;
    return UVFETCH_EURL;
  }
  allowed = scheme_allowed(f->protocols, scheme);
  *https = strcasecmp(scheme, "https") == 0;
  curl_free(scheme);
  if (!allowed) {
    *why = uvfetch_strerror(UVFETCH_ESCHEME);
    *curl_code = CURLE_UNSUPPORTED_PROTOCOL;
    return UVFETCH_ESCHEME;
  }
  return 0;
}

/* A hash of the host and port of the URL in `parser` (as check_url left
 * it), for the per-host cap: FNV-1a, never 0. */
static uint64_t host_key(CURLU *parser) {
  uint64_t h = 14695981039346656037ULL;
  char *host = NULL;
  char *port = NULL;
  const char *p;

  curl_url_get(parser, CURLUPART_HOST, &host, 0);
  curl_url_get(parser, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  for (p = host ? host : ""; *p != '\0'; p++)
    h = (h ^ (unsigned char)(*p | 0x20)) * 1099511628211ULL;
  h = (h ^ ':') * 1099511628211ULL;
  for (p = port ? port : ""; *p != '\0'; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  curl_free(host);
  curl_free(port);
  return h ? h : 1;
}

/* Does the environment name a proxy for libcurl to use? libcurl looks on
 * every transfer; when none is set, uvfetch tells it once that there is
 * none. (libcurl reads only the lower-case http_proxy.) */
static int proxy_in_env(void) {
  static const char *const names[] = {"http_proxy",  "https_proxy",
                                      "HTTPS_PROXY", "all_proxy",
                                      "ALL_PROXY",   NULL};
  const char *const *n;
  const char *v;

  for (n = names; *n != NULL; n++) {
    v = getenv(*n);
    if (v != NULL && *v != '\0')
      return 1;
  }
  return 0;
}

/* ---- the public API ---------------------------------------------------- */

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
  if (!(o->rate >= 0 && o->rate <= 1e9))
    return UVFETCH_EINVAL; /* also NaN */
  return 0;
}

/* libcurl 7.88 walks every cached connection to the host when it looks
 * for one to reuse, and every cached connection when a transfer is
 * removed: at -j 2000 these walks were a fifth of the work. So above
 * SHARE_SLOTS slots, the slots are dealt among several connection caches
 * (share handles), each walked alone. */
enum { SHARE_SLOTS = 128 };

static int shares_init(uvfetch_t *f) {
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
 * closes their connections (through on_closesocket). */
static void shares_close(uvfetch_t *f) {
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

static void free_fetcher(uvfetch_t *f) {
  unsigned i;

  shares_close(f);
  for (i = 0; i < f->nslots; i++)
    slot_free(f->slots[i]);
  if (f->multi != NULL)
    curl_multi_cleanup(f->multi);
  if (f->parser != NULL)
    curl_url_cleanup(f->parser);
  free(f->slots);
  free(f->ring);
  free(f->socks);
  free(f->protocols);
  free(f->user_agent);
  free(f->cacert);
  free(f->proxy);
  curl_slist_free_all(f->headers);
  uvfetch__sched_free(&f->sched);
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
  f->opt = *opt;
  f->data = opt->data;
  f->window = opt->order_window ? opt->order_window : 2 * opt->max_concurrent;
  f->fd_cap = opt->max_concurrent;
  err = UVFETCH_ENOMEM;
  f->protocols = copy_or(opt->protocols, "http,https");
  f->user_agent = copy_or(opt->user_agent, "uvfetch/" UVFETCH_VERSION_STRING);
  f->cacert = copy_or(opt->cacert, NULL);
  f->proxy = copy_or(opt->proxy, NULL);
  f->env_proxy = proxy_in_env();
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

  err = UVFETCH_ECURL;
  f->multi = curl_multi_init();
  f->parser = curl_url();
  if (f->multi == NULL || f->parser == NULL)
    goto fail;
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
  err = shares_init(f);
  if (err != 0)
    goto fail;

  /* The first slot proves the options acceptable to libcurl (a protocol
   * list it does not know, say) before anything is queued. */
  err = slot_new(f, 0, &first);
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
  *out = f;
  return 0;

fail_handles:
  /* Handles are on the loop now: the memory goes in their close callbacks,
   * through teardown's second half. */
  f->torn_down = 1;
  uv_close((uv_handle_t *)&f->timer, on_handle_closed);
  if (f->open_handles == 2)
    uv_close((uv_handle_t *)&f->sched_timer, on_handle_closed);
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

  if (f == NULL || req == NULL || req->url == NULL || req->timeout_ms < 0)
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
  err = check_url(f, parsed, req->url, &why, &curl_code, &https);
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
  if (err == 0 && f->opt.max_per_host > 0)
    t->q.host = host_key(parsed);
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
  kick(f);
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
  kick(f);
  return 0;
}

/* Cancel a running transfer: its result is what it had so far. */
static void cancel_running(uvfetch_t *f, struct slot *s) {
  struct transfer *t = s->t;

  fill_result(t, s, CURLE_OK, UVFETCH_ECANCELED);
  t->result.curl_code = 0;
  uvfetch__sched_finished(&f->sched, &t->q);
  slot_release(f, s);
  complete(f, t);
}

/* Cancel a transfer that is not running (queued, or waiting to retry). */
static void cancel_waiting(uvfetch_t *f, struct transfer *t) {
  if (t->pre_error == 0) {
    t->pre_error = UVFETCH_ECANCELED;
    t->pre_message = NULL;
  }
  complete_early(f, t);
}

int uvfetch_cancel(uvfetch_t *f, uint64_t ordinal) {
  struct sched_entry *e;
  unsigned i;
  int found = 0;

  if (f == NULL)
    return UVFETCH_EINVAL;
  if (f->closing)
    return UVFETCH_ECLOSING;
  enter(f);
  for (i = 0; i < f->nslots && !found; i++) {
    if (f->slots[i]->t != NULL && f->slots[i]->t->q.ordinal == ordinal) {
      cancel_running(f, f->slots[i]);
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
    kick(f);
  }
  leave(f);
  return found ? 0 : UVFETCH_ENOTFOUND;
}

void uvfetch_get_stats(const uvfetch_t *f, uvfetch_stats_t *stats) {
  *stats = f->stats;
  stats->queued = f->sched.queued;
  stats->waiting = f->sched.nheap;
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
  enter(f);
  /* Running and retrying transfers first: in ordered mode they all lie in
   * the reordering window; once they are done, every queued one is next
   * in turn when reached, so delivery stays in input order. */
  for (i = 0; i < f->nslots; i++) {
    if (f->slots[i]->t != NULL)
      cancel_running(f, f->slots[i]);
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
  leave(f);
  return 0;
}

/* Release libcurl while the loop can still close the poll handles its
 * cleanup touches, then the handles, then, once the last close callback
 * has run, the memory. Runs twice: first to start, last to finish. */
static void teardown(uvfetch_t *f) {
  uvfetch_close_cb cb;
  size_t i;

  if (!f->torn_down) {
    f->torn_down = 1;
    uv_idle_stop(&f->kick);
    curl_multi_cleanup(f->multi);
    f->multi = NULL;
    for (i = 0; i < f->nsocks; i++) {
      if (f->socks[i] != NULL)
        sock_retire(f, f->socks[i]);
    }
    uv_close((uv_handle_t *)&f->timer, on_handle_closed);
    uv_close((uv_handle_t *)&f->sched_timer, on_handle_closed);
    uv_close((uv_handle_t *)&f->kick, on_handle_closed);
    return;
  }
  if (f->open_handles != 0)
    return;
  cb = f->on_close;
  if (cb != NULL)
    cb(f);
  free_fetcher(f);
}
