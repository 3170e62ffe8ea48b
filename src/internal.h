/* What crosses between the engine's files, and nothing more.
 *
 * The engine's rooms, each of which may call the ones below it:
 *   fetch.c     the public API, the queue, ordered delivery, the lifecycle
 *               of the fetcher (init, close, teardown)
 *   transfer.c  slots and their easy handles, results and error mapping,
 *               retries, and what libcurl says has finished
 *   loop.c      libcurl <-> libuv: sockets and their polls, timers, the
 *               idle kick, HTTP/2 corking
 *   resolve.c   names: looked up on libuv's pool, cached, handed to libcurl
 *   keep.c      which connections libcurl keeps for reuse: the caches'
 *               size, and closing at once what no waiting URL needs
 *   url.c       what a URL may be: parsing, allowed schemes, host keys
 *   scheduler.c which waiting transfer starts next (knows neither libcurl
 *               nor libuv)
 * Upward calls (loop.c finishing transfers, transfer.c completing them)
 * go through the few uvfetch__ functions declared here.
 */
#ifndef UVFETCH_INTERNAL_H
#define UVFETCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#include "adapt.h"
#include "list.h"
#include "scheduler.h"
#include "uvfetch.h"

#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

enum { T_QUEUED, T_RUNNING, T_HELD };

struct sock;     /* loop.c's: one watched socket */
struct dns;      /* resolve.c's: the name cache */
struct dns_name; /* resolve.c's: one name in it */

struct transfer {
  struct sched_entry q; /* its place in the queue or the retry heap */
  void *data;
  struct curl_slist *headers; /* owned: the fetcher's and the request's */
  long timeout_ms;            /* the request's own, or 0 */
  uvfetch_body_cb on_body;
  uvfetch_header_cb on_header;
  uvfetch_setup_cb on_setup;
  unsigned attempts;
  unsigned retried;     /* retries after a transient failure */
  unsigned stale;       /* restarts after a reused connection had died */
  unsigned fd_waits;    /* restarts for want of a file descriptor */
  uint64_t first_ms;    /* loop time of the first attempt's start */
  uint64_t started_ns;  /* uv_hrtime() at the last attempt's start */
  uint64_t dns_wait_ns; /* of that, waiting for a name (resolve.c) */
  unsigned slot;        /* index of the slot of the last attempt */
  int state;
  int https;         /* may multiplex: wait for a connection to tell */
  int pre_error;     /* refused or cancelled before it started */
  uint64_t host_key; /* host:port's hash (url.c), or 0 when refused */
  int waiting;       /* counted among its host's waiting URLs (keep.c) */
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
  int no_fd; /* a socket could not be opened: the process is out of fds */
  curl_socket_t read_fd; /* the socket it established, once read from */
  int custom;   /* the transfer changed options that later ones must not see */
  int finished; /* libcurl said the transfer is done (CURLMSG_DONE) */
  int headers_dropped; /* a redirect left the URL's origin (on_header) */
  /* resolve.c's: the name the transfer uses or waits for, and the lines
   * handed to libcurl's cache with it. */
  struct dns_name *dns;
  struct slot *dns_next; /* among the name's waiters */
  int dns_waiting;
  uint64_t dns_since_ns;
  uint64_t dns_deadline; /* loop time */
  struct curl_slist *resolve;
  int touched; /* its setup hook had the easy handle: reset it afterwards */
  int forbid_reuse; /* keep.c set CURLOPT_FORBID_REUSE on the easy handle */
  int short_age;    /* keep.c set a short CURLOPT_MAXAGE_CONN on it */
  char errbuf[CURL_ERROR_SIZE];
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
  struct adapt adapt; /* the adaptive limits, when opt.adaptive */

  struct slot **slots; /* max_concurrent entries, made on demand */
  unsigned nslots;
  struct slot *idle;

  struct transfer **ring; /* ordered mode: finished, by ordinal % window */
  unsigned window;
  uint64_t next_deliver;

  struct sock **socks; /* indexed by fd */
  size_t nsocks;
  struct list hot;   /* HTTP/2 sockets with events since the last timeout */
  struct list fresh; /* sockets opened in this call into libcurl (loop.c) */
  int rerun;         /* a connect attempt ended in it: run all again */
  struct dns *dns;

  /* keep.c's: connection sockets open now, how many make the caches
   * crowded, and waiting URLs counted by host hash. */
  unsigned nconns;
  unsigned crowded_at; /* connections open from which idle ones close */
  uint32_t *waiting;
  size_t waiting_mask;

  uvfetch_stats_t stats;
  unsigned fd_cap;      /* running transfers at most while fds are short */
  uint64_t fd_short_ms; /* loop time descriptors were last found short */
  int depth;            /* nesting of our own frames; teardown waits for 0 */
  int closing;
  int torn_down;
  int open_handles; /* uv handles whose close callback is still due */
};

/* fetch.c */
void uvfetch__enter(uvfetch_t *f);
void uvfetch__leave(uvfetch_t *f);
void uvfetch__complete(uvfetch_t *f, struct transfer *t);
void uvfetch__complete_early(uvfetch_t *f, struct transfer *t);
void uvfetch__pump(uvfetch_t *f);
void uvfetch__handle_closed(uvfetch_t *f);
void uvfetch__on_handle_closed(uv_handle_t *handle);
void uvfetch__teardown(uvfetch_t *f);

/* transfer.c */
int uvfetch__slot_new(uvfetch_t *f, unsigned index, struct slot **out);
void uvfetch__slot_free(struct slot *s);
void uvfetch__start(uvfetch_t *f, struct transfer *t);
void uvfetch__launch(uvfetch_t *f, struct slot *s);
void uvfetch__start_failed(uvfetch_t *f, struct slot *s, int err, int curl_code,
                           const char *message);
void uvfetch__drain(uvfetch_t *f);
void uvfetch__reap(uvfetch_t *f);
void uvfetch__cancel_running(uvfetch_t *f, struct slot *s);
int uvfetch__shares_init(uvfetch_t *f);
void uvfetch__shares_close(uvfetch_t *f);

/* loop.c */
void uvfetch__kick(uvfetch_t *f);
int uvfetch__on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                       void *socketp);
int uvfetch__on_curl_timer(CURLM *multi, long timeout_ms, void *userp);
curl_socket_t uvfetch__on_opensocket(void *clientp, curlsocktype purpose,
                                     struct curl_sockaddr *a);
int uvfetch__on_closesocket(void *clientp, curl_socket_t fd);
void uvfetch__fail_socket(uvfetch_t *f, CURL *easy, int err);
void uvfetch__mux_learn(uvfetch_t *f, struct slot *s);
void uvfetch__socks_close(uvfetch_t *f);

/* resolve.c */
int uvfetch__dns_init(uvfetch_t *f);
int uvfetch__dns_start(uvfetch_t *f);
int uvfetch__dns_begin(uvfetch_t *f, struct slot *s);
void uvfetch__dns_end(uvfetch_t *f, struct slot *s, int finished);
int uvfetch__dns_bypass(const uvfetch_t *f);
void uvfetch__dns_close(uvfetch_t *f);
void uvfetch__dns_free(uvfetch_t *f);

/* keep.c */
int uvfetch__keep_init(uvfetch_t *f);
void uvfetch__keep_free(uvfetch_t *f);
void uvfetch__keep_queued(uvfetch_t *f, struct transfer *t, CURLU *parsed);
void uvfetch__keep_unqueued(uvfetch_t *f, struct transfer *t);
void uvfetch__keep_decide(uvfetch_t *f, struct slot *s);

/* url.c */
CURLUcode uvfetch__parse_url(CURLU *uh, const char *url);
int uvfetch__check_url(uvfetch_t *f, CURLU *uh, const char *url,
                       const char **why, int *curl_code, int *https);
uint64_t uvfetch__host_key(CURLU *parser);
int uvfetch__proxy_in_env(void);

#endif /* UVFETCH_INTERNAL_H */
