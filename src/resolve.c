/* Names: looked up on libuv's thread pool, cached here, handed to libcurl.
 *
 * libcurl 7.88 resolves each name on a thread of its own, and walks its
 * whole DNS cache at the end of every transfer to prune it, so a crawl's
 * cost per URL grew with the hosts it had seen in the last minute. Here a
 * name is looked up with uv_getaddrinfo (the system resolver, so
 * /etc/hosts and resolv.conf count as they do for getaddrinfo; threads
 * bounded by libuv's pool), kept in a hash table with expiry, a size cap
 * (least recently used names go first) and brief negative entries, and
 * handed to libcurl as a CURLOPT_RESOLVE line while transfers to it run.
 * libcurl's own cache then holds only the names in use: the line is
 * dropped ("-host:port") with the next transfer that starts after the
 * last user ends, and CURLOPT_DNS_CACHE_TIMEOUT is 0 for everything else.
 *
 * A transfer whose name is not known yet waits on its slot for the
 * lookup, bounded by its connect timeout. IP literals, names libcurl
 * treats itself (non-ASCII, a trailing dot), transfers through a proxy
 * and transfers whose setup hook touched the easy handle skip all this.
 *
 * Calls libuv, libcurl's URL and easy-option functions, and transfer.c
 * (uvfetch__launch, uvfetch__start_failed) to go on with a waiting slot.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "internal.h"

enum { DNS_PENDING, DNS_OK, DNS_FAILED, DNS_PINNED };

/* Failed lookups are kept this long at most, so that a dead host's many
 * URLs cost one lookup, and a name that comes back is soon seen. */
enum { NEGATIVE_TTL_MS = 10000 };

/* Addresses handed to libcurl per name, at most. */
enum { MAX_ADDRS = 32 };

struct dns_name {
  struct dns_name *chain; /* in its hash bucket */
  struct list lru;        /* among idle names, most recent first */
  struct slot *waiters;   /* slots waiting for the lookup, through dns_next */
  uv_getaddrinfo_t *req;  /* while the lookup runs */
  uint64_t hash;
  uint64_t expires; /* loop time */
  unsigned users;   /* running transfers that use libcurl's entry */
  int state;
  int err;                     /* the failed lookup's error (a UV_EAI_* code) */
  int in_curl;                 /* libcurl's cache holds our line */
  struct dns_name *again_next; /* in the list of lookups to try again, or
                                  of those held back (lookup_start) */
  unsigned agains;             /* times it was tried again so */
  char *line;                  /* "host:port:addr,addr", once known */
  size_t hostlen;
  char key[]; /* "host:port", the host in lower case */
};

struct dns {
  struct dns_name **buckets;
  size_t mask;
  size_t count;
  struct list lru; /* names neither used nor looked up: evicted from the
                      back */
  struct curl_slist *drops; /* "-host:port" lines for libcurl's cache */
  struct curl_slist *pins;  /* the caller's resolve lines, for libcurl once */
  int pins_sent;
  uv_timer_t timer; /* the earliest deadline of a waiting slot */
  uint64_t ttl_ms;
  uint64_t negative_ttl_ms;
  size_t max;
  int bypass; /* through a proxy: libcurl resolves; only pins are sent */
  struct dns_name *again; /* lookups that found no descriptor */
  struct dns_name *held;  /* lookups waiting for one of max_running */
  struct dns_name *held_tail;
  unsigned running;     /* lookups on the thread pool */
  unsigned max_running; /* from the descriptor limit */
  uint64_t fd_limit;    /* RLIMIT_NOFILE when the fetcher was made */
  uint64_t again_at;    /* loop time to try them again */
};

/* A lookup that found no descriptor is tried again this much later, while
 * other transfers run and may give some back; at most AGAIN_MAX times. A
 * failed lookup counts as one for want of descriptors up to FD_SHORT_MS
 * after the last sign of their shortage. */
enum { AGAIN_MS = 20, AGAIN_MAX = 50, FD_SHORT_MS = 2000 };

static uint64_t hash_key(const char *key, size_t n) {
  uint64_t h = 14695981039346656037ULL;
  size_t i;

  for (i = 0; i < n; i++)
    h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
  return h;
}

static struct dns_name *name_find(struct dns *d, const char *key, size_t n,
                                  uint64_t h) {
  struct dns_name *e;

  for (e = d->buckets[h & d->mask]; e != NULL; e = e->chain) {
    if (e->hash == h && strncmp(e->key, key, n) == 0 && e->key[n] == '\0')
      return e;
  }
  return NULL;
}

static void lru_unlink(struct dns_name *e) {
  list_remove(&e->lru);
}

static void lru_push(struct dns *d, struct dns_name *e) {
  list_push_front(&d->lru, &e->lru);
}

static void name_free(struct dns_name *e) {
  free(e->line);
  free(e);
}

static void name_remove(struct dns *d, struct dns_name *e) {
  struct dns_name **at = &d->buckets[e->hash & d->mask];

  while (*at != e)
    at = &(*at)->chain;
  *at = e->chain;
  lru_unlink(e);
  d->count--;
  name_free(e);
}

/* Double the table when it is as full as it is wide: lookups stay O(1). */
static void grow(struct dns *d) {
  size_t n = (d->mask + 1) * 2;
  struct dns_name **b;
  struct dns_name *e;
  struct dns_name *next;
  size_t i;

  if (d->count < d->mask + 1)
    return;
  b = calloc(n, sizeof(*b));
  if (b == NULL)
    return; /* longer chains, still correct */
  for (i = 0; i <= d->mask; i++) {
    for (e = d->buckets[i]; e != NULL; e = next) {
      next = e->chain;
      e->chain = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
    }
  }
  free(d->buckets);
  d->buckets = b;
  d->mask = n - 1;
}

/* Over the cap, idle names go, least recently used first. Names in use
 * or being looked up are never idle, so the table may pass the cap by at
 * most the number of running transfers. */
static void evict(struct dns *d) {
  while (d->count > d->max && !list_empty(&d->lru))
    name_remove(d, container_of(d->lru.prev, struct dns_name, lru));
}

static struct dns_name *name_add(struct dns *d, const char *key, size_t n,
                                 size_t hostlen, uint64_t h) {
  struct dns_name *e = calloc(1, sizeof(*e) + n + 1);

  if (e == NULL)
    return NULL;
  memcpy(e->key, key, n);
  e->key[n] = '\0';
  e->hostlen = hostlen;
  e->hash = h;
  e->chain = d->buckets[h & d->mask];
  d->buckets[h & d->mask] = e;
  d->count++;
  grow(d);
  return e;
}

/* "host:port" in buf, the host in lower case, from a transfer's parsed
 * URL; its length, or 0 when the name is not ours to resolve. */
static size_t url_key(CURLU *uh, char *buf, size_t size, size_t *hostlen) {
  char *host = NULL;
  char *port = NULL;
  unsigned char c;
  size_t n = 0;
  size_t i;
  struct in_addr v4;

  if (curl_url_get(uh, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return 0;
  if (curl_url_get(uh, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
      CURLUE_OK) {
    curl_free(host);
    return 0;
  }
  /* IP literals (IPv6 ones come in brackets) need no lookup; libcurl
   * handles non-ASCII names (IDN) and names with a trailing dot itself. */
  if (host[0] == '\0' || host[0] == '[' || inet_pton(AF_INET, host, &v4) == 1)
    goto skip;
  for (i = 0; host[i] != '\0'; i++) {
    c = (unsigned char)host[i];
    if (c >= 0x80 || i + strlen(port) + 2 >= size)
      goto skip;
    buf[i] = (char)tolower(c);
  }
  if (buf[i - 1] == '.')
    goto skip;
  *hostlen = i;
  n = i + (size_t)snprintf(buf + i, size - i, ":%s", port);
skip:
  curl_free(host);
  curl_free(port);
  return n;
}

/* ---- handing names to libcurl ------------------------------------------- */

static int list_add(struct curl_slist **list, const char *line) {
  struct curl_slist *grown = curl_slist_append(*list, line);

  if (grown == NULL)
    return -1;
  *list = grown;
  return 0;
}

/* Give the slot's easy handle the lines libcurl's cache is due: the
 * caller's pinned names once, the names no transfer uses any more, and
 * this transfer's name when libcurl does not hold it. libcurl reads them
 * when the transfer starts, in order. */
static int send_lines(uvfetch_t *f, struct slot *s, struct dns_name *e) {
  struct dns *d = f->dns;
  struct curl_slist *list = NULL;
  struct curl_slist *p;

  if (!d->pins_sent) {
    for (p = d->pins; p != NULL; p = p->next) {
      if (list_add(&list, p->data) != 0)
        goto fail;
    }
  }
  if (e != NULL && !e->in_curl && list_add(&list, e->line) != 0)
    goto fail;
  if (list == NULL && d->drops == NULL)
    return 0;
  /* The drops go first: one of them may be this transfer's own name,
   * dropped by an earlier transfer and added again here. */
  if (d->drops != NULL) {
    for (p = d->drops; p->next != NULL; p = p->next)
      ;
    p->next = list;
    list = d->drops;
    d->drops = NULL;
  }
  curl_slist_free_all(s->resolve);
  s->resolve = list;
  if (curl_easy_setopt(s->easy, CURLOPT_RESOLVE, list) != CURLE_OK)
    return -1;
  d->pins_sent = 1;
  if (e != NULL)
    e->in_curl = 1;
  return 0;

fail:
  curl_slist_free_all(list);
  return -1;
}

/* A transfer begins to use `e`: libcurl's entry stays while any does. */
static int use(uvfetch_t *f, struct slot *s, struct dns_name *e) {
  if (send_lines(f, s, e->state == DNS_PINNED ? NULL : e) != 0)
    return UVFETCH_ENOMEM;
  lru_unlink(e);
  e->users++;
  s->dns = e;
  return 0;
}

/* ---- waiting for a lookup ----------------------------------------------- */

static uint64_t deadline(uvfetch_t *f, struct slot *s) {
  long ms = f->opt.connect_timeout_ms > 0 ? f->opt.connect_timeout_ms : 300000;
  long whole = s->t->timeout_ms > 0 ? s->t->timeout_ms : f->opt.timeout_ms;

  if (whole > 0 && whole < ms)
    ms = whole;
  return uv_now(f->loop) + (uint64_t)ms;
}

static void on_deadline(uv_timer_t *timer);

static void arm(uvfetch_t *f) {
  struct dns *d = f->dns;
  uint64_t first = UINT64_MAX;
  uint64_t now = uv_now(f->loop);
  unsigned i;

  for (i = 0; i < f->nslots; i++) {
    if (f->slots[i]->dns_waiting && f->slots[i]->dns_deadline < first)
      first = f->slots[i]->dns_deadline;
  }
  if (d->again != NULL && d->again_at < first)
    first = d->again_at;
  if (first == UINT64_MAX) {
    uv_timer_stop(&d->timer);
    return;
  }
  uv_timer_start(&d->timer, on_deadline, first > now ? first - now : 0, 0);
}

static void unwait(struct slot *s) {
  struct slot **at = &s->dns->waiters;

  while (*at != NULL && *at != s)
    at = &(*at)->dns_next;
  if (*at == s)
    *at = s->dns_next;
  s->dns_next = NULL;
  s->dns_waiting = 0;
  s->dns = NULL;
}

static const char *eai_text(int err) {
  switch (err) {
  case UV_EAI_NONAME:
  case UV_EAI_NODATA:
    return "no such name";
  case UV_EAI_AGAIN:
    return "temporary failure: no answer, or SERVFAIL";
  case UV_EAI_FAIL:
    return "the name server failed";
  case UV_EAI_MEMORY:
  case UV_ENOMEM:
    return "out of memory";
  default:
    return uv_strerror(err);
  }
}

/* End a transfer whose name could not be had. */
static void fail(uvfetch_t *f, struct slot *s, struct dns_name *e,
                 const char *why) {
  char msg[CURL_ERROR_SIZE];

  snprintf(msg, sizeof(msg), "Could not resolve host: %.*s (%s)",
           (int)e->hostlen, e->key, why);
  f->stats.dns_failures++;
  s->t->attempts++;
  uvfetch__start_failed(f, s, UVFETCH_ERESOLVE, CURLE_COULDNT_RESOLVE_HOST,
                        msg);
}

/* A lookup's waiters go on, or fail, once it is done. */
static void wake(uvfetch_t *f, struct dns_name *e) {
  struct slot *s;
  uint64_t now_ns = uv_hrtime();

  while ((s = e->waiters) != NULL) {
    e->waiters = s->dns_next;
    s->dns_next = NULL;
    s->dns_waiting = 0;
    s->dns = NULL;
    s->t->dns_wait_ns += now_ns - s->dns_since_ns;
    if (e->state == DNS_FAILED)
      fail(f, s, e, eai_text(e->err));
    else if (use(f, s, e) != 0)
      uvfetch__start_failed(f, s, UVFETCH_ENOMEM, 0, NULL);
    else
      uvfetch__launch(f, s);
  }
}

/* "host:port:a,b,[c]" from getaddrinfo's answer; NULL when none fits. */
static char *make_line(const struct dns_name *e, const struct addrinfo *res) {
  char addrs[MAX_ADDRS][INET6_ADDRSTRLEN + 2];
  size_t n = 0;
  size_t size = strlen(e->key) + 2;
  size_t i;
  char *line;
  char *p;
  const void *a;

  for (; res != NULL && n < MAX_ADDRS; res = res->ai_next) {
    if (res->ai_family == AF_INET)
      a = &((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
    else if (res->ai_family == AF_INET6)
      a = &((const struct sockaddr_in6 *)(const void *)res->ai_addr)->sin6_addr;
    else
      continue;
    p = addrs[n];
    if (res->ai_family == AF_INET6)
      *p++ = '[';
    if (inet_ntop(res->ai_family, a, p, INET6_ADDRSTRLEN) == NULL)
      continue;
    if (res->ai_family == AF_INET6)
      strcat(p, "]");
    for (i = 0; i < n && strcmp(addrs[i], addrs[n]) != 0; i++)
      ;
    if (i < n)
      continue; /* the same address again */
    size += strlen(addrs[n]) + 1;
    n++;
  }
  if (n == 0)
    return NULL;
  line = malloc(size);
  if (line == NULL)
    return NULL;
  p = line + sprintf(line, "%s:", e->key);
  for (i = 0; i < n; i++)
    p += sprintf(p, i ? ",%s" : "%s", addrs[i]);
  return line;
}

/* A lookup on libuv's pool: it outlives a fetcher that closes meanwhile,
 * which waits for it (uvfetch__handle_closed) before freeing anything. */
struct lookup {
  uv_getaddrinfo_t req;
  uvfetch_t *f;
  struct dns_name *e;
};

static void start_held(uvfetch_t *f);

/* Did a lookup fail for want of a descriptor? glibc's getaddrinfo says
 * so plainly only sometimes: short of descriptors, it may answer "no such
 * name" (it could not read /etc/hosts) or a system error whose errno
 * stayed on the pool's thread. So a failure also counts as one while the
 * engine runs fewer transfers for want of descriptors, while its own
 * handles come within 16 of the limit, or when one cannot be had right
 * now. */
static int short_of_fds(uvfetch_t *f, int status, unsigned agains) {
  struct dns *d = f->dns;
  uint64_t now = uv_now(f->loop);
  int fd;

  if (status != UV_EMFILE && status != UV_ENFILE &&
      f->fd_cap >= f->opt.max_concurrent &&
      (f->fd_short_ms == 0 || now - f->fd_short_ms > FD_SHORT_MS) &&
      (uint64_t)f->open_handles + 16 < d->fd_limit) {
    fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0) {
      close(fd);
      /* No sign now; but with fewer descriptors than transfers and
       * lookups might want, the lookup's thread may have met a shortage
       * gone by the time it reports: tried five times more, no further. */
      return agains < 5 && d->fd_limit < 4 * ((uint64_t)f->opt.max_concurrent +
                                              d->max_running);
    }
    if (errno != EMFILE && errno != ENFILE)
      return 0;
  }
  f->fd_short_ms = now;
  return 1;
}

static void on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  struct lookup *l = container_of(req, struct lookup, req);
  uvfetch_t *f = l->f;
  struct dns_name *e = l->e;
  struct dns *d = f->dns;
  uint64_t now = uv_now(f->loop);

  free(l);
  e->req = NULL;
  d->running--;
  if (f->torn_down) {
    uv_freeaddrinfo(res);
    uvfetch__handle_closed(f);
    return;
  }
  if (status != 0 && e->agains < AGAIN_MAX &&
      short_of_fds(f, status, e->agains)) {
    /* Out of descriptors: the waiters keep waiting (within their connect
     * timeout), and the name is looked up again shortly, as transfers and
     * lookups that hold descriptors end; AGAIN_MAX times at most. */
    uv_freeaddrinfo(res);
    if (d->again == NULL)
      d->again_at = now + AGAIN_MS;
    e->again_next = d->again;
    e->agains++;
    d->again = e;
    arm(f);
    uvfetch__handle_closed(f);
    return;
  }
  free(e->line);
  e->line = NULL;
  if (status == 0)
    e->line = make_line(e, res);
  uv_freeaddrinfo(res);
  if (status == 0 && e->line == NULL)
    status = UV_EAI_NODATA; /* an answer with no address we can use */
  e->agains = 0;
  if (status == 0) {
    e->state = DNS_OK;
    e->expires = now + d->ttl_ms;
  } else {
    e->state = DNS_FAILED;
    e->err = status;
    /* Out of descriptors says nothing of the name: not kept. */
    e->expires = short_of_fds(f, status, 0) ? now : now + d->negative_ttl_ms;
  }
  uvfetch__enter(f);
  wake(f, e);
  start_held(f);
  if (e->users == 0 && !list_linked(&e->lru) && e->waiters == NULL) {
    lru_push(d, e);
    evict(d);
  }
  arm(f);
  uvfetch__pump(f);
  uvfetch__leave(f);
  uvfetch__handle_closed(f);
}

static int lookup_run(uvfetch_t *f, struct dns_name *e) {
  struct lookup *l = malloc(sizeof(*l));
  struct addrinfo hints;
  char host[256];
  int err;

  if (l == NULL)
    return UVFETCH_ENOMEM;
  /* libcurl asks for both families, without AI_ADDRCONFIG (which hides
   * IPv4 on a machine whose only IPv4 address is loopback). */
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  memcpy(host, e->key, e->hostlen);
  host[e->hostlen] = '\0';
  l->f = f;
  l->e = e;
  err = uv_getaddrinfo(f->loop, &l->req, on_lookup, host, NULL, &hints);
  if (err != 0) {
    free(l);
    return err;
  }
  e->req = &l->req;
  e->state = DNS_PENDING;
  f->open_handles++; /* teardown waits for the callback */
  f->stats.dns_lookups++;
  f->dns->running++;
  return 0;
}

/* Look `e` up now, or after the lookups running now, of which there are
 * at most max_running: each takes a descriptor or two (a socket, /etc/hosts)
 * and, short of them, glibc answers "no such name" rather than EMFILE. */
static int lookup_start(uvfetch_t *f, struct dns_name *e) {
  struct dns *d = f->dns;

  e->state = DNS_PENDING;
  if (d->running < d->max_running)
    return lookup_run(f, e);
  e->again_next = NULL;
  if (d->held_tail != NULL)
    d->held_tail->again_next = e;
  else
    d->held = e;
  d->held_tail = e;
  return 0;
}

/* A lookup ended: start those held back, in their order. */
static void start_held(uvfetch_t *f) {
  struct dns *d = f->dns;
  struct dns_name *e;
  int err;

  while (d->held != NULL && d->running < d->max_running) {
    e = d->held;
    d->held = e->again_next;
    if (d->held == NULL)
      d->held_tail = NULL;
    e->again_next = NULL;
    err = lookup_run(f, e);
    if (err == 0)
      continue;
    e->state = DNS_FAILED;
    e->err = err;
    e->expires = uv_now(f->loop);
    wake(f, e);
    if (e->users == 0 && !list_linked(&e->lru)) {
      lru_push(d, e);
      evict(d);
    }
  }
}

/* Waiting slots whose connect timeout passed fail; the lookup goes on. */
static int lookup_start(uvfetch_t *f, struct dns_name *e);

static void try_again(uvfetch_t *f) {
  struct dns *d = f->dns;
  struct dns_name *e;
  int err;

  while ((e = d->again) != NULL) {
    d->again = e->again_next;
    e->again_next = NULL;
    err = lookup_start(f, e);
    if (err == 0)
      continue;
    /* Could not even queue it: its waiters fail. */
    e->state = DNS_FAILED;
    e->err = err;
    e->expires = uv_now(f->loop);
    wake(f, e);
    if (e->users == 0 && !list_linked(&e->lru)) {
      lru_push(d, e);
      evict(d);
    }
  }
}

static void on_deadline(uv_timer_t *timer) {
  uvfetch_t *f = timer->data;
  struct dns *d = f->dns;
  uint64_t now = uv_now(f->loop);
  struct dns_name *e;
  struct slot *s;
  char why[64];
  unsigned i;

  uvfetch__enter(f);
  if (d->again != NULL && d->again_at <= now)
    try_again(f);
  for (i = 0; i < f->nslots && !f->closing; i++) {
    s = f->slots[i];
    if (!s->dns_waiting || s->dns_deadline > now)
      continue;
    e = s->dns;
    unwait(s);
    s->t->dns_wait_ns += uv_hrtime() - s->dns_since_ns;
    snprintf(why, sizeof(why), "no answer within %.0f ms",
             (double)s->t->dns_wait_ns / 1e6);
    fail(f, s, e, why);
  }
  if (!f->closing)
    arm(f);
  uvfetch__pump(f);
  uvfetch__leave(f);
}

/* ---- what transfer.c calls ---------------------------------------------- */

int uvfetch__dns_begin(uvfetch_t *f, struct slot *s) {
  struct dns *d = f->dns;
  char key[300];
  size_t hostlen = 0;
  size_t n;
  uint64_t h;
  struct dns_name *e;
  int err;

  if (s->touched)
    return 0;
  n = d->bypass ? 0 : url_key(s->uh, key, sizeof(key), &hostlen);
  if (n == 0)
    return send_lines(f, s, NULL) == 0 ? 0 : UVFETCH_ENOMEM;
  h = hash_key(key, n);
  e = name_find(d, key, n, h);
  if (e != NULL && e->state != DNS_PENDING && e->state != DNS_PINNED &&
      e->users == 0 && e->expires <= uv_now(f->loop)) {
    /* Stale: looked up again in the same entry. */
    lru_unlink(e);
    e->state = DNS_PENDING;
    err = lookup_start(f, e);
    if (err != 0) {
      name_remove(d, e);
      return err;
    }
  } else if (e == NULL) {
    e = name_add(d, key, n, hostlen, h);
    if (e == NULL)
      return UVFETCH_ENOMEM;
    err = lookup_start(f, e);
    if (err != 0) {
      name_remove(d, e);
      return err;
    }
    evict(d);
  } else if (e->state != DNS_PINNED) {
    f->stats.dns_hits++;
  }
  if (e->state == DNS_FAILED) {
    fail(f, s, e, eai_text(e->err));
    return 1;
  }
  if (e->state != DNS_PENDING)
    return use(f, s, e);
  /* Waits on its slot, in the name's list. */
  lru_unlink(e);
  s->dns = e;
  s->dns_waiting = 1;
  s->dns_next = e->waiters;
  e->waiters = s;
  s->dns_since_ns = uv_hrtime();
  s->dns_deadline = deadline(f, s);
  arm(f);
  return 1;
}

/* A transfer that libcurl never finished may not have read its lines:
 * its drops go again with the next one, unless the name was handed to
 * libcurl anew since. */
static void requeue_drops(struct dns *d, struct curl_slist *p) {
  struct dns_name *e;
  size_t n;

  for (; p != NULL; p = p->next) {
    if (p->data[0] != '-')
      continue;
    n = strlen(p->data + 1);
    e = name_find(d, p->data + 1, n, hash_key(p->data + 1, n));
    if (e == NULL || !e->in_curl)
      list_add(&d->drops, p->data);
  }
}

void uvfetch__dns_end(uvfetch_t *f, struct slot *s, int finished) {
  struct dns *d = f->dns;
  struct dns_name *e = s->dns;
  char drop[300];

  if (s->resolve != NULL) {
    /* libcurl keeps the list's address until it reads it. */
    curl_easy_setopt(s->easy, CURLOPT_RESOLVE, NULL);
    if (!finished)
      requeue_drops(d, s->resolve);
    curl_slist_free_all(s->resolve);
    s->resolve = NULL;
  }
  if (e == NULL)
    return;
  if (s->dns_waiting) {
    unwait(s);
    if (e->waiters == NULL && e->users == 0 && e->state != DNS_PENDING)
      lru_push(d, e);
    return;
  }
  s->dns = NULL;
  if (--e->users > 0 || e->state == DNS_PINNED)
    return;
  /* Nobody uses libcurl's entry: it goes with the next transfer to start,
   * so that libcurl's cache holds only names in use. */
  if (e->in_curl) {
    snprintf(drop, sizeof(drop), "-%s", e->key);
    if (list_add(&d->drops, drop) == 0)
      e->in_curl = 0;
  }
  if (e->waiters == NULL && e->state != DNS_PENDING) {
    lru_push(d, e);
    evict(d);
  }
}

/* "a,b,[c]": IPv4 and bracketed IPv6 addresses, as libcurl reads them. */
static int addresses_valid(const char *list) {
  char addr[INET6_ADDRSTRLEN + 2];
  unsigned char bin[sizeof(struct in6_addr)];
  size_t n;

  for (;;) {
    n = strcspn(list, ",");
    if (n == 0 || n >= sizeof(addr))
      return 0;
    if (list[0] == '[' && list[n - 1] == ']') {
      memcpy(addr, list + 1, n - 2);
      addr[n - 2] = '\0';
      if (inet_pton(AF_INET6, addr, bin) != 1)
        return 0;
    } else {
      memcpy(addr, list, n);
      addr[n] = '\0';
      if (inet_pton(AF_INET, addr, bin) != 1)
        return 0;
    }
    if (list[n] == '\0')
      return 1;
    list += n + 1;
  }
}

/* "HOST:PORT:ADDR[,ADDR...]", as curl's --resolve; 0 or UVFETCH_EINVAL. */
static int pin(struct dns *d, const char *line) {
  const char *c1 = strchr(line, ':');
  const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
  char key[300];
  char *end;
  long port;
  size_t hostlen;
  size_t n;
  size_t i;
  uint64_t h;
  struct dns_name *e;

  if (c1 == NULL || c2 == NULL || c1 == line || c2[1] == '\0')
    return UVFETCH_EINVAL;
  hostlen = (size_t)(c1 - line);
  port = strtol(c1 + 1, &end, 10);
  if (end != c2 || port < 1 || port > 65535 || hostlen > 253 ||
      (hostlen == 1 && line[0] == '*'))
    return UVFETCH_EINVAL;
  if (strpbrk(line, "\r\n ") != NULL || !addresses_valid(c2 + 1))
    return UVFETCH_EINVAL;
  for (i = 0; i < hostlen; i++)
    key[i] = (char)tolower((unsigned char)line[i]);
  n = hostlen +
      (size_t)snprintf(key + hostlen, sizeof(key) - hostlen, ":%ld", port);
  h = hash_key(key, n);
  e = name_find(d, key, n, h);
  if (e == NULL)
    e = name_add(d, key, n, hostlen, h);
  if (e == NULL)
    return UVFETCH_ENOMEM;
  free(e->line);
  e->line = malloc(n + strlen(c2) + 1);
  if (e->line == NULL)
    return UVFETCH_ENOMEM;
  sprintf(e->line, "%s%s", key, c2);
  e->state = DNS_PINNED;
  e->in_curl = 1;
  return list_add(&d->pins, e->line) == 0 ? 0 : UVFETCH_ENOMEM;
}

int uvfetch__dns_init(uvfetch_t *f) {
  const uvfetch_options_t *o = &f->opt;
  struct rlimit rl;
  struct dns *d;
  const char *const *line;
  int err;

  d = calloc(1, sizeof(*d));
  if (d == NULL)
    return UVFETCH_ENOMEM;
  f->dns = d;
  list_init(&d->lru);
  /* Through a proxy, the proxy resolves the names (and libcurl the
   * proxy's): only the caller's pinned names are handed on. */
  d->bypass = (f->proxy != NULL && f->proxy[0] != '\0') ||
              (f->proxy == NULL && f->env_proxy);
  d->mask = 63;
  d->buckets = calloc(d->mask + 1, sizeof(*d->buckets));
  if (d->buckets == NULL)
    return UVFETCH_ENOMEM;
  d->ttl_ms = (uint64_t)o->dns_cache_ms;
  d->negative_ttl_ms =
      d->ttl_ms < NEGATIVE_TTL_MS ? d->ttl_ms : NEGATIVE_TTL_MS;
  d->max = o->dns_cache_size ? o->dns_cache_size : 32768;
  d->max_running = 64;
  d->fd_limit = UINT64_MAX;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    d->fd_limit = rl.rlim_cur;
    if (rl.rlim_cur / 16 < d->max_running)
      d->max_running = rl.rlim_cur / 16 ? (unsigned)(rl.rlim_cur / 16) : 1;
  }
  for (line = o->resolve; line != NULL && *line != NULL; line++) {
    err = pin(d, *line);
    if (err != 0)
      return err;
  }
  return 0;
}

/* The timer lives on the loop from here on; 0 or a libuv error. */
int uvfetch__dns_start(uvfetch_t *f) {
  int err;

  if (f->dns == NULL)
    return 0;
  err = uv_timer_init(f->loop, &f->dns->timer);
  if (err != 0)
    return err;
  f->dns->timer.data = f;
  f->open_handles++;
  return 0;
}

/* At teardown: lookups not begun are cancelled (their callbacks still
 * come, with UV_EAI_CANCELED); the timer closes. */
void uvfetch__dns_close(uvfetch_t *f) {
  struct dns *d = f->dns;
  struct dns_name *e;
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; i <= d->mask; i++) {
    for (e = d->buckets[i]; e != NULL; e = e->chain) {
      if (e->req != NULL)
        uv_cancel((uv_req_t *)e->req);
    }
  }
  uv_close((uv_handle_t *)&d->timer, uvfetch__on_handle_closed);
}

void uvfetch__dns_free(uvfetch_t *f) {
  struct dns *d = f->dns;
  struct dns_name *e;
  struct dns_name *next;
  size_t i;

  if (d == NULL)
    return;
  for (i = 0; d->buckets != NULL && i <= d->mask; i++) {
    for (e = d->buckets[i]; e != NULL; e = next) {
      next = e->chain;
      name_free(e);
    }
  }
  free(d->buckets);
  curl_slist_free_all(d->drops);
  curl_slist_free_all(d->pins);
  free(d);
  f->dns = NULL;
}

/* Does libcurl resolve names itself (through a proxy)? */
int uvfetch__dns_bypass(const uvfetch_t *f) {
  return f->dns == NULL || f->dns->bypass;
}
