/* uvfetch: fetch many URLs at once on one libuv loop, through libcurl's
 * multi socket interface.
 *
 * The contract, in short:
 *  - The caller owns the uv_loop_t. uvfetch never calls uv_run(), never uses
 *    the default loop on its own, and keeps the loop alive only while it has
 *    work (queued or running transfers).
 *  - Every URL accepted by uvfetch_add() or uvfetch_add_ex() gets exactly one
 *    completion callback: success, failure or cancellation. A call that
 *    returns an error accepted nothing, and no callback fires for it.
 *  - All callbacks run on the loop thread, never from inside libcurl. From a
 *    completion callback the caller may add URLs, cancel them, or close the
 *    fetcher.
 *  - After uvfetch_close()'s callback has run, uvfetch holds no handle on the
 *    loop, so the caller's uv_loop_close() returns 0.
 *  - Errors are negative integers. uvfetch's own codes (UVFETCH_E*) come from
 *    one table; a libuv error is passed through unchanged. uvfetch_strerror()
 *    and uvfetch_err_name() name both kinds.
 *  - The library keeps no global mutable state of its own. Each
 *    uvfetch_init() calls curl_global_init(CURL_GLOBAL_DEFAULT) and the last
 *    close calls curl_global_cleanup(), relying on libcurl's reference
 *    count. Where libcurl is built without its "threadsafe" feature, that
 *    count is not safe against threads: a program that runs fetchers on
 *    several threads should call curl_global_init() itself first, and
 *    curl_global_cleanup() after the last fetcher is closed.
 *  - The library never changes the locale. A host name with non-ASCII
 *    characters is converted to punycode (IDN) by libcurl in the character
 *    set of the caller's LC_CTYPE: under the C locale that a program has
 *    until it calls setlocale(), such a URL ends with UVFETCH_EURL. Call
 *    setlocale(LC_CTYPE, "") with a UTF-8 locale (or "C.UTF-8") first, or
 *    pass names in punycode (docs/api.md, "Names").
 */
#ifndef UVFETCH_H
#define UVFETCH_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(UVFETCH_BUILDING) && defined(__GNUC__)
#define UVFETCH_EXTERN __attribute__((visibility("default")))
#else
#define UVFETCH_EXTERN
#endif

#define UVFETCH_VERSION_MAJOR 0
#define UVFETCH_VERSION_MINOR 1
#define UVFETCH_VERSION_PATCH 0
#define UVFETCH_VERSION_STRING "0.1.0"

/* The error table: name, value, message. Values sit far below libuv's
 * (which are negated errno values and -3000..-4095) so the two never clash.
 */
#define UVFETCH_ERRNO_MAP(XX)                                                  \
  XX(EINVAL, -30001, "invalid argument")                                       \
  XX(ENOMEM, -30002, "out of memory")                                          \
  XX(EURL, -30003, "malformed URL")                                            \
  XX(ESCHEME, -30004, "URL scheme not allowed")                                \
  XX(ECLOSING, -30005, "fetcher is closing")                                   \
  XX(ECANCELED, -30006, "transfer cancelled")                                  \
  XX(ENOTFOUND, -30007, "no such transfer")                                    \
  XX(ERESOLVE, -30008, "could not resolve host")                               \
  XX(ECONNECT, -30009, "could not connect")                                    \
  XX(ETIMEDOUT, -30010, "operation timed out")                                 \
  XX(ETLS, -30011, "TLS error")                                                \
  XX(EREDIRECTS, -30012, "too many redirects")                                 \
  XX(EPROTOCOL, -30013, "malformed response from server")                      \
  XX(ENETWORK, -30014, "network error while transferring")                     \
  XX(EDECODE, -30015, "could not decode content")                              \
  XX(ETOOLARGE, -30016, "body larger than allowed")                            \
  XX(EHTTP, -30017, "HTTP error status")                                       \
  XX(ECURL, -30018, "libcurl error")                                           \
  XX(EWRITE, -30019, "body sink refused data")

/* clang-format off: it cannot see that the map expands to enumerators */
typedef enum {
#define UVFETCH_ERR_ENUM_(name, value, msg) UVFETCH_##name = value,
  UVFETCH_ERRNO_MAP(UVFETCH_ERR_ENUM_)
#undef UVFETCH_ERR_ENUM_
      UVFETCH_ERRNO_MAX_ = -30000
} uvfetch_errno_t;
/* clang-format on */

/* A message for an error code: uvfetch's own, or libuv's for libuv codes.
 * Never NULL; an unknown code gives "unknown error". */
UVFETCH_EXTERN const char *uvfetch_strerror(int err);

/* The symbolic name of an error code ("UVFETCH_ETIMEDOUT", or libuv's
 * "ECONNREFUSED" style name for libuv codes). Never NULL. */
UVFETCH_EXTERN const char *uvfetch_err_name(int err);

/* The library's version as "MAJOR.MINOR.PATCH". */
UVFETCH_EXTERN const char *uvfetch_version(void);

/* The version of the libcurl uvfetch runs on, e.g. "7.88.1". */
UVFETCH_EXTERN const char *uvfetch_curl_version(void);

typedef struct uvfetch_s uvfetch_t;

/* One finished URL, as handed to the completion callback. Every pointer in
 * it, and the struct itself, is valid only during the callback: copy what
 * you keep. */
typedef struct uvfetch_result_s {
  const char *url;           /* the URL exactly as added */
  const char *effective_url; /* after redirects; equals url when none */
  void *data;                /* the caller's pointer given to uvfetch_add */
  uint64_t ordinal;          /* 0-based position among accepted URLs */
  int ok;                    /* 1 when a response was received in full */
  int error;                 /* 0, or a negative UVFETCH_E* code */
  int curl_code;             /* the CURLcode; 0 when ok */
  const char *message;       /* a one-line reason; "" when ok */
  long http_code;            /* last response's status; 0 when none */
  int http_version;          /* 10, 11, 20 or 30; 0 when no response */
  long redirects;            /* redirects followed */
  uint64_t bytes;            /* body bytes as decoded (what the app sees) */
  uint64_t wire_bytes;       /* body bytes as received, before decoding */
  double total_time;         /* seconds from start to end of transfer */
  double ttfb;               /* seconds to the first byte of the response */
  unsigned attempts;         /* transfers made for this URL (0: none, as
                                for a refused or cancelled queued URL) */
  /* The last attempt's timeline, for waterfalls: when it started, in
   * seconds since uvfetch_init, and the seconds from that start until the
   * name was resolved, the TCP connection and the TLS handshake were done
   * (0 for a step a reused connection skipped). */
  double start_time;
  double dns_time;
  double connect_time;
  double tls_time;
  unsigned slot; /* which of the max_concurrent slots ran it */
} uvfetch_result_t;

/* Called once per accepted URL, in completion order (or in input order when
 * uvfetch_options_t.ordered is set). May call uvfetch_add, uvfetch_cancel
 * and uvfetch_close on the same fetcher. */
typedef void (*uvfetch_done_cb)(uvfetch_t *f, const uvfetch_result_t *r);

/* Called once when uvfetch_close has released every handle; the fetcher's
 * memory is freed when this returns. */
typedef void (*uvfetch_close_cb)(uvfetch_t *f);

/* Options for a fetcher, read only during uvfetch_init (strings and lists
 * are copied). Start from UVFETCH_OPTIONS_INIT or uvfetch_options_init(). */
typedef struct uvfetch_options_s {
  unsigned max_concurrent;    /* transfers in flight at most; >= 1 (50) */
  int ordered;                /* 1: deliver results in the order added (0) */
  unsigned order_window;      /* ordered mode: URLs started past the oldest
                                 undelivered one; 0 picks 2 * max_concurrent */
  int follow_redirects;       /* 1: follow Location (1) */
  long max_redirects;         /* at most this many redirects (10) */
  int compressed;             /* 1: ask for gzip/deflate/br, decode (1) */
  int verify_tls;             /* 1: verify peer certificate and host (1) */
  long connect_timeout_ms;    /* 0: libcurl's default (300 s) */
  long timeout_ms;            /* whole transfer; 0: none */
  long low_speed_limit;       /* bytes per second; 0: no check */
  long low_speed_time;        /* seconds under low_speed_limit to fail */
  int64_t max_filesize;       /* decoded body bytes at most; 0: no limit */
  int http_version;           /* 0: libcurl default, 11: HTTP/1.1, 20: HTTP/2 */
  const char *protocols;      /* allowed schemes, also on redirect;
                                 NULL: "http,https" */
  const char *user_agent;     /* NULL: "uvfetch/VERSION"; with CR or LF,
                                 uvfetch_init answers UVFETCH_EINVAL, as for
                                 any header here or in a request */
  const char *cacert;         /* CA bundle file; NULL: system default */
  const char *proxy;          /* NULL: from the environment, as curl does;
                                 "": none */
  const char *const *headers; /* extra request headers for every URL,
                                 "Name: value", NULL-terminated; or NULL */
  unsigned retries;           /* retry transient failures this many times (0):
                                 could not connect, timed out, connection
                                 broken, HTTP 408, 429, 500, 502, 503, 504 */
  long retry_delay_ms;        /* first backoff; doubles with each retry, with
                                 jitter; a longer Retry-After wins; both are
                                 capped at 600 s (1000) */
  long retry_max_time_ms;     /* no retry starts later than this after the
                                 first attempt; 0: no limit */
  unsigned max_per_host;      /* running transfers per host:port; 0: no cap */
  double rate;                /* transfer starts per second at most; 0: none */
  void *data;                 /* the caller's; see uvfetch_get_data */
  /* Names. uvfetch looks them up on libuv's thread pool (getaddrinfo:
   * /etc/hosts and resolv.conf count), keeps them, and hands them to
   * libcurl; a transfer's wait for its name counts against its connect
   * timeout, and a name that cannot be had ends it with UVFETCH_ERESOLVE.
   * Failed lookups are kept for 10 s at most (or dns_cache_ms if less). */
  const char *const *resolve; /* "HOST:PORT:ADDR[,ADDR...]" as curl's
                                 --resolve (IPv6 in brackets), used instead
                                 of a lookup; NULL-terminated; or NULL */
  long dns_cache_ms;          /* how long a name is kept; 0: looked up for
                                 every transfer not sharing a lookup (60000) */
  unsigned dns_cache_size;    /* names kept at most, least recently used
                                 go first; 0: 32768 */
  long idle_timeout_ms;       /* fail a transfer (UVFETCH_ETIMEDOUT) that
                                 receives less than a byte a second for this
                                 long, waiting for a response or in its
                                 body; 0: none; low_speed_limit, when set,
                                 replaces it (60000) */
  int location_trusted;       /* 1: keep the fetcher's and the request's
                                 headers on a redirect to another scheme,
                                 host or port, as curl --location-trusted;
                                 0: drop them there (0) */
  /* 1: find how many to run at once while the run goes (the command's
   * -j auto), overall and per host:port. Each limit starts at 8, grows
   * while answers come back about as fast as at low load, shrinks when
   * they slow down, and backs off on 429 and 503 (until Retry-After has
   * passed), connect timeouts, resets and EMFILE. max_concurrent is the
   * ceiling; max_per_host stays a hard cap per host. 0: max_concurrent at
   * once, as many as there is work for (0) */
  int adaptive;
} uvfetch_options_t;

#define UVFETCH_OPTIONS_INIT                                                   \
  {                                                                            \
    .max_concurrent = 50, .follow_redirects = 1, .max_redirects = 10,          \
    .compressed = 1, .verify_tls = 1, .retry_delay_ms = 1000,                  \
    .dns_cache_ms = 60000, .idle_timeout_ms = 60000                            \
  }

/* Fill *opt with the defaults (the same as UVFETCH_OPTIONS_INIT). */
UVFETCH_EXTERN void uvfetch_options_init(uvfetch_options_t *opt);

/* Create a fetcher on `loop`. `opt` may be NULL for the defaults; on_done
 * must not be NULL. Returns 0 and sets *out, or a negative code (and *out
 * is untouched): UVFETCH_EINVAL for a NULL argument or a bad option,
 * UVFETCH_ENOMEM, UVFETCH_ECURL when libcurl cannot start, or a libuv code.
 * Creating a fetcher starts nothing and keeps the loop no more alive. */
UVFETCH_EXTERN int uvfetch_init(uv_loop_t *loop, uvfetch_t **out,
                                const uvfetch_options_t *opt,
                                uvfetch_done_cb on_done);

/* Flags for uvfetch_add_ex and uvfetch_request_t. */
enum {
  /* Accept a URL that would be refused (malformed, scheme not allowed) and
   * report the refusal through the completion callback, in its turn, like
   * any other failure. For callers that need one result per input. */
  UVFETCH_ADD_REPORT_INVALID = 1
};

/* Queue `url` (copied) with the caller's `data`. The transfer starts when a
 * slot is free, on a later turn of the loop; the callback never runs from
 * inside this call. Returns 0, or UVFETCH_EINVAL (NULL argument),
 * UVFETCH_EURL (not a URL), UVFETCH_ESCHEME (scheme not allowed),
 * UVFETCH_ECLOSING (after uvfetch_close), UVFETCH_ENOMEM. */
UVFETCH_EXTERN int uvfetch_add(uvfetch_t *f, const char *url, void *data);

/* As uvfetch_add, with `flags` (UVFETCH_ADD_*) and the URL's ordinal stored
 * in *ordinal when that is not NULL; the ordinal names the transfer for
 * uvfetch_cancel and comes back as uvfetch_result_t.ordinal. */
UVFETCH_EXTERN int uvfetch_add_ex(uvfetch_t *f, const char *url, void *data,
                                  unsigned flags, uint64_t *ordinal);

/* Per-transfer hooks. They run inside libcurl, on the loop thread, while a
 * transfer is in progress: they may call uvfetch_add or uvfetch_submit,
 * but not uvfetch_cancel or uvfetch_close (return non-zero instead). */

/* Body bytes as they arrive, after content decoding. Return 0 to go on;
 * anything else stops the transfer, which then fails with UVFETCH_EWRITE.
 * When a transfer is retried, its body comes again from the start: just
 * before the new attempt the hook is called once with buf NULL and len 0
 * (outside libcurl; its return value is ignored), so a sink can truncate
 * what it kept. */
typedef int (*uvfetch_body_cb)(uvfetch_t *f, void *data, const char *buf,
                               size_t len);

/* One response header line as received, CRLF included, for every response
 * (redirects too). Return 0 to go on; anything else stops the transfer
 * (UVFETCH_EWRITE). */
typedef int (*uvfetch_header_cb)(uvfetch_t *f, void *data, const char *line,
                                 size_t len);

/* The libcurl easy handle (a CURL *) of a transfer about to start, for
 * options uvfetch does not wrap. Easy handles are reused: whatever this
 * sets is undone (curl_easy_reset) after the transfer. Return 0 to start
 * the transfer; anything else fails it with UVFETCH_ECURL. */
typedef int (*uvfetch_setup_cb)(uvfetch_t *f, void *data, void *curl_easy);

/* One URL with options of its own, for uvfetch_submit. */
typedef struct uvfetch_request_s {
  const char *url;            /* required; copied */
  void *data;                 /* the caller's; comes back in the result */
  unsigned flags;             /* UVFETCH_ADD_* */
  const char *const *headers; /* added to the fetcher's, "Name: value",
                                 NULL-terminated; copied; or NULL */
  long timeout_ms;            /* whole transfer; 0: the fetcher's */
  uvfetch_body_cb on_body;    /* or NULL: bytes are only counted */
  uvfetch_header_cb on_header;
  uvfetch_setup_cb on_setup;
} uvfetch_request_t;

#define UVFETCH_REQUEST_INIT                                                   \
  { .url = NULL }

/* Queue one request: uvfetch_add_ex with per-URL options. Returns what
 * uvfetch_add_ex returns, and UVFETCH_EINVAL for a negative timeout. */
UVFETCH_EXTERN int uvfetch_submit(uvfetch_t *f, const uvfetch_request_t *req,
                                  uint64_t *ordinal);

/* Cancel the queued or running transfer `ordinal`. Its completion callback
 * runs before this returns, with error UVFETCH_ECANCELED (in ordered mode:
 * when its turn comes). Returns 0, or UVFETCH_ENOTFOUND when it has
 * already completed or never existed. */
UVFETCH_EXTERN int uvfetch_cancel(uvfetch_t *f, uint64_t ordinal);

/* Stop starting queued transfers (running ones go on), and start again.
 * Paused, a fetcher with only queued URLs does not keep the loop alive.
 * Both return 0, or UVFETCH_ECLOSING after uvfetch_close. */
UVFETCH_EXTERN int uvfetch_pause(uvfetch_t *f);
UVFETCH_EXTERN int uvfetch_resume(uvfetch_t *f);

/* Counts of the fetcher's URLs right now. */
typedef struct uvfetch_stats_s {
  uint64_t added;        /* accepted so far */
  uint64_t queued;       /* waiting for a slot */
  uint64_t waiting;      /* waiting for a retry's backoff to pass */
  uint64_t running;      /* in flight */
  uint64_t held;         /* finished, waiting for their turn (ordered mode) */
  uint64_t done;         /* completion callbacks made */
  uint64_t failed;       /* of those, with ok == 0 */
  uint64_t dns_lookups;  /* names looked up (not found in the cache) */
  uint64_t dns_hits;     /* transfers whose name was cached or being looked
                            up already */
  uint64_t dns_failures; /* transfers ended for want of their name */
} uvfetch_stats_t;

UVFETCH_EXTERN void uvfetch_get_stats(const uvfetch_t *f,
                                      uvfetch_stats_t *stats);

/* How many transfers may run at once now: with opt.adaptive, the limit
 * over all hosts as found so far (1 to max_concurrent); else
 * max_concurrent. */
UVFETCH_EXTERN unsigned uvfetch_get_limit(const uvfetch_t *f);

/* The `data` pointer from the options, and a setter for it. */
UVFETCH_EXTERN void *uvfetch_get_data(const uvfetch_t *f);
UVFETCH_EXTERN void uvfetch_set_data(uvfetch_t *f, void *data);

/* The loop the fetcher runs on. */
UVFETCH_EXTERN uv_loop_t *uvfetch_get_loop(const uvfetch_t *f);

/* Stop the fetcher: every queued or running URL completes at once with
 * UVFETCH_ECANCELED (results already finished but held for ordering are
 * delivered as they are), all in input order when ordered. Then libcurl is
 * cleaned up, the handles are closed, and `cb` (which may be NULL) runs on
 * a later turn of the loop, after which the fetcher's memory is gone.
 * Returns 0, or UVFETCH_ECLOSING when already closing. */
UVFETCH_EXTERN int uvfetch_close(uvfetch_t *f, uvfetch_close_cb cb);

#ifdef __cplusplus
}
#endif

#endif /* UVFETCH_H */
