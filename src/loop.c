/* libcurl's multi socket interface on a libuv loop.
 *
 * Owns the socket table (one uv_poll_t per socket libcurl asks us to
 * watch), libcurl's timer (one uv_timer_t), the idle "kick" that runs
 * deferred work on the next turn of the loop (starting queued transfers,
 * reaping failed ones, and libcurl's 0 ms timeouts: a 0 ms uv_timer_t
 * restarted from its own callback spins in libuv 1.44), and the corking
 * of HTTP/2 connections. It calls libcurl's multi handle, and hands what
 * finished to transfer.c (uvfetch__drain, uvfetch__reap) and the queue to
 * fetch.c (uvfetch__pump).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "internal.h"
#include "uvfetch.h"

static void on_poll(uv_poll_t *handle, int status, int events);
static void on_kick(uv_idle_t *handle);
static int sock_open(uvfetch_t *f, curl_socket_t fd, struct sock **out);
static struct sock *sock_find(uvfetch_t *f, curl_socket_t fd);
static void sock_retire(uvfetch_t *f, struct sock *k);
static int sock_watch(struct sock *k, int want);

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
  int events;        /* the UV_READABLE | UV_WRITABLE mask being polled */
  int wanted;        /* the mask libcurl asked for; 0 after CURL_POLL_REMOVE */
  int opened;        /* made by on_opensocket: a connection's socket */
  int established;   /* opened, and libcurl asked to read it: its close is
                        announced, so polling may outlive its interest */
  struct list hot;   /* in the fetcher's list of hot HTTP/2 sockets */
  struct list fresh; /* opened during this call into libcurl */
  int mux;           /* carries HTTP/2: corked while libcurl writes */
};

void uvfetch__kick(uvfetch_t *f) {
  if (!f->closing)
    uv_idle_start(&f->kick, on_kick);
}

/* Every connection socket is made here. libcurl 7.88 reports a socket()
 * that failed for want of descriptors as a plain "Couldn't connect",
 * without errno; opening it here tells. */
curl_socket_t uvfetch__on_opensocket(void *clientp, curlsocktype purpose,
                                     struct curl_sockaddr *a) {
  struct slot *s = clientp;
  uvfetch_t *f = s->f;
  struct sock *k;
  curl_socket_t fd;
  int wanted = 0;
  int err;

  fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (fd == CURL_SOCKET_BAD) {
    if (errno == EMFILE || errno == ENFILE) {
      s->no_fd = 1;
      f->fd_short_ms = uv_now(f->loop);
    }
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
  k = NULL;
  err = sock_open(f, fd, &k);
  if (err == 0) {
    k->opened = 1;
    list_push_front(&f->fresh, &k->fresh);
    err = sock_watch(k, wanted);
  }
  if (err != 0) {
    /* No way to watch it: the transfer fails with the reason, never
     * waits on a socket nobody polls. */
    if (k != NULL)
      sock_retire(f, k);
    close(fd);
    uvfetch__fail_socket(f, s->easy, err);
    return CURL_SOCKET_BAD;
  }
  f->nconns++;
  return fd;
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
  if (!list_linked(&k->hot))
    list_push_front(&f->hot, &k->hot);
}

static void cork_hot(uvfetch_t *f, int on) {
  struct list *n;

  for (n = f->hot.next; n != &f->hot; n = n->next)
    cork(container_of(n, struct sock, hot), on);
}

/* Note the connection a finished HTTP/2 transfer opened as multiplexed. */
void uvfetch__mux_learn(uvfetch_t *f, struct slot *s) {
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

/* One call into libcurl for a socket's events, or for its timeout when `k`
 * is NULL, then every transfer it finished. */
/* After a call into libcurl: when a connect attempt ended (a socket that
 * never became a connection was let go), libcurl 7.88 readies the next
 * address, of a name or of happy eyeballs, but connects it only when it
 * is next called for that transfer, which the socket interface does only
 * at the attempt's timeout, seconds later. So every transfer runs once
 * more (curl_multi_socket_all: deprecated for a loop of this kind, and
 * used only here), until no attempt ends. A socket opened in the call and
 * never asked about may have been closed again inside connect(), without
 * a word: it is checked (fcntl, only for such sockets; none on a busy
 * path), so that libuv is never left to register a closed descriptor. */
static void settle(uvfetch_t *f) {
  struct sock *k;
  int rounds;
  int running = 0;

  for (rounds = 0; rounds < 32; rounds++) {
    while (!list_empty(&f->fresh)) {
      k = container_of(f->fresh.next, struct sock, fresh);
      list_remove(&k->fresh);
      if (fcntl(k->fd, F_GETFD) < 0 && errno == EBADF) {
        sock_retire(f, k);
        f->rerun = 1;
      }
    }
    if (!f->rerun || f->closing)
      break;
    f->rerun = 0;
    CURL_IGNORE_DEPRECATION(curl_multi_socket_all(f->multi, &running);)
  }
  f->rerun = 0;
}

static void socket_action(uvfetch_t *f, struct sock *k, int flags) {
  curl_socket_t fd = k != NULL ? k->fd : CURL_SOCKET_TIMEOUT;
  int running = 0;

  if (k == NULL) {
    cork_hot(f, 1);
    curl_multi_socket_action(f->multi, fd, flags, &running);
    /* Uncorked and forgotten: sockets libcurl closed meanwhile left the
     * list as they went. */
    cork_hot(f, 0);
    while (!list_empty(&f->hot))
      list_remove(f->hot.next);
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
  if (f->rerun || !list_empty(&f->fresh))
    settle(f);
  uvfetch__drain(f);
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
  uvfetch__enter(f);
  socket_action(f, k, flags);
  uvfetch__leave(f);
}

static void on_timer(uv_timer_t *handle) {
  uvfetch_t *f = container_of(handle, uvfetch_t, timer);

  uvfetch__enter(f);
  socket_action(f, NULL, 0);
  uvfetch__leave(f);
}

static void on_kick(uv_idle_t *handle) {
  uvfetch_t *f = container_of(handle, uvfetch_t, kick);

  uvfetch__enter(f);
  f->turn_starts = 0;
  if (f->want_reap) {
    f->want_reap = 0;
    uvfetch__reap(f);
  }
  if (f->want_pump) {
    f->want_pump = 0;
    uvfetch__pump(f);
  }
  if (f->want_timeout) {
    f->want_timeout = 0;
    socket_action(f, NULL, 0);
  }
  if (!f->want_pump && !f->want_timeout && !f->want_reap)
    uv_idle_stop(&f->kick);
  uvfetch__leave(f);
}

int uvfetch__on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  uvfetch_t *f = userp;

  if (timeout_ms < 0) {
    f->want_timeout = 0;
    uv_timer_stop(&f->timer);
  } else if (timeout_ms == 0) {
    f->want_timeout = 1;
    uv_timer_stop(&f->timer);
    uvfetch__kick(f);
  } else {
    f->want_timeout = 0;
    uv_timer_start(&f->timer, on_timer, (uint64_t)timeout_ms, 0);
  }
  return 0;
}

static void on_sock_closed(uv_handle_t *handle) {
  struct sock *k = container_of((uv_poll_t *)handle, struct sock, poll);
  uvfetch_t *f = k->f;

  free(k);
  uvfetch__handle_closed(f);
}

/* Let go of a socket's poll handle: stopped first, so that libuv never
 * asks epoll about a descriptor that may be closed already; freed in its
 * close callback. The socket itself is libcurl's to close. */
static void sock_retire(uvfetch_t *f, struct sock *k) {
  if (k->events != 0)
    uv_poll_stop(&k->poll);
  k->events = 0;
  list_remove(&k->hot);
  list_remove(&k->fresh);
  f->socks[k->fd] = NULL;
  uv_close((uv_handle_t *)&k->poll, on_sock_closed);
}

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
void uvfetch__fail_socket(uvfetch_t *f, CURL *easy, int err) {
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
  uvfetch__kick(f);
}

/* curl says what to watch on a socket. An established connection's poll
 * handle lives as long as the socket: CURL_POLL_REMOVE only unreferences
 * it, because a kept-alive connection is usually watched again soon, and
 * stopping and restarting its poll would cost two epoll_ctl calls per
 * request. It stays polled, and stops only if it stirs while idle
 * (on_poll). Any other socket may be closed behind our back right after
 * CURL_POLL_REMOVE (a connect given up, the resolver's socketpair), so
 * its handle goes at once. */
int uvfetch__on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
                       void *socketp) {
  uvfetch_t *f = userp;
  struct sock *k = sock_find(f, fd);
  char *priv = NULL;
  int want = 0;
  int err;

  if (what == CURL_POLL_REMOVE) {
    if (k == NULL)
      return 0;
    if (k->established) {
      sock_watch(k, 0);
      return 0;
    }
    /* A connect attempt ended: see settle. */
    if (k->opened)
      f->rerun = 1;
    sock_retire(f, k);
    return 0;
  }
  if (k == NULL) {
    err = sock_open(f, fd, &k);
    if (err != 0) {
      uvfetch__fail_socket(f, easy, err);
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
  list_remove(&k->fresh); /* libcurl knows it: see settle */
  err = sock_watch(k, want);
  if (err != 0)
    uvfetch__fail_socket(f, easy, err);
  return 0;
}

/* curl is closing one of its sockets: the poll handle goes first, so that
 * libuv never watches a closed descriptor. */
int uvfetch__on_closesocket(void *clientp, curl_socket_t fd) {
  uvfetch_t *f = clientp;
  struct sock *k = sock_find(f, fd);

  if (k != NULL)
    sock_retire(f, k);
  if (f->nconns > 0)
    f->nconns--;
  return close(fd);
}

/* At teardown, after curl_multi_cleanup: every handle left goes. */
void uvfetch__socks_close(uvfetch_t *f) {
  size_t i;

  for (i = 0; i < f->nsocks; i++) {
    if (f->socks[i] != NULL)
      sock_retire(f, f->socks[i]);
  }
}
