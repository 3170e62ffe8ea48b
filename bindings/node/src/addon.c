/* The uvfetch engine as a Node-API addon, on Node's own libuv loop.
 *
 * One native Engine object per JavaScript Fetcher. The engine runs on the
 * loop of the environment that made it (napi_get_uv_event_loop), so there
 * is no thread and no second loop. Each finished URL calls the Fetcher's
 * sink, a JavaScript function of index.js, through napi_make_callback, as
 * Node's own I/O callbacks do: the microtasks and ticks it queues run
 * before the loop goes on, and an exception it throws is reported to Node
 * as an uncaught exception (napi_fatal_exception).
 *
 * Lifetimes. The engine keeps the JavaScript object alive (a strong
 * reference) only while it has URLs pending or is closing; idle, it holds
 * it weakly, so an idle Fetcher can be collected, and the engine's handles
 * keep the loop no more alive (the library refs them only while it has
 * work). The struct is freed when the engine is closed and the object is
 * gone: closed by close(), by the finalizer, or by the environment's
 * cleanup hook when Node or a worker thread shuts down, which also waits
 * for the handles' close callbacks so that the loop closes cleanly.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "uvfetch.h"

/* A body kept for a result (option body: true). */
struct body {
  char *buf;
  size_t len;
  size_t cap;
};

struct engine {
  napi_env env;
  uvfetch_t *f;
  napi_ref self;      /* the JS object; strong while held */
  napi_ref sink;      /* function(...fields): weak, a property of self */
  napi_ref on_closed; /* close()'s callback, until it is called */
  napi_async_context actx;
  napi_async_cleanup_hook_handle hook;
  uint64_t pending; /* accepted, result not yet delivered */
  int held;         /* self is a strong reference */
  int keep_body;    /* option body: true */
  int closing;      /* uvfetch_close was called */
  int closed;       /* its callback ran: f is gone */
  int finalized;    /* the JS object is gone */
  int env_gone;     /* the environment is shutting down */
};

/* Per environment: the Engine constructor, for nothing but instanceof
 * checks by napi_unwrap; kept so that each worker has its own. */
struct instance {
  napi_ref ctor;
};

#define CHECK(call)                                                            \
  do {                                                                         \
    if ((call) != napi_ok)                                                     \
      goto fail;                                                               \
  } while (0)

/* ---- errors ------------------------------------------------------------ */

/* Throw an Error whose code is the library's name for err. */
static void throw_code(napi_env env, int err) {
  napi_throw_error(env, uvfetch_err_name(err), uvfetch_strerror(err));
}

/* ---- holding the JS object ------------------------------------------- */

static void hold(struct engine *e) {
  uint32_t n;

  if (e->held || e->env_gone || e->finalized)
    return;
  if (napi_reference_ref(e->env, e->self, &n) == napi_ok)
    e->held = 1;
}

static void unhold(struct engine *e) {
  uint32_t n;

  if (!e->held || e->env_gone || e->finalized)
    return;
  napi_reference_unref(e->env, e->self, &n);
  e->held = 0;
}

static void engine_free(struct engine *e) {
  free(e);
}

/* ---- results ----------------------------------------------------------- */

static void free_body(napi_env env, void *data, void *hint) {
  free(data);
}

static napi_value number(napi_env env, double v) {
  napi_value out = NULL;

  napi_create_double(env, v, &out);
  return out;
}

/* A JS string of s, or null when s is NULL. */
static napi_value string(napi_env env, const char *s) {
  napi_value out = NULL;

  if (s == NULL)
    napi_get_null(env, &out);
  else
    napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

/* The sink's arguments, in index.js's order. */
enum {
  A_URL,
  A_EFFECTIVE_URL,
  A_OK,
  A_ERROR,
  A_MESSAGE,
  A_HTTP_CODE,
  A_HTTP_VERSION,
  A_BYTES,
  A_WIRE_BYTES,
  A_TOTAL_TIME,
  A_TTFB,
  A_ATTEMPTS,
  A_ORDINAL,
  A_REDIRECTS,
  A_BODY,
  A_COUNT
};

/* Deliver one result to the sink. Runs from the loop, or from inside a
 * call of add, cancel or close (index.js defers those deliveries). */
static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  struct engine *e = uvfetch_get_data(f);
  struct body *b = r->data;
  napi_env env = e->env;
  napi_handle_scope scope;
  napi_value argv[A_COUNT];
  napi_value fn;
  napi_value recv;
  napi_value exc;
  napi_status st;

  e->pending--;
  if (e->env_gone || e->finalized || e->sink == NULL) {
    /* Nobody is left to tell: the environment is going away. */
    if (b != NULL)
      free(b->buf);
    free(b);
    return;
  }
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    if (b != NULL)
      free(b->buf);
    free(b);
    return;
  }
  argv[A_URL] = string(env, r->url);
  if (r->effective_url == NULL || strcmp(r->effective_url, r->url) == 0)
    argv[A_EFFECTIVE_URL] = argv[A_URL];
  else
    argv[A_EFFECTIVE_URL] = string(env, r->effective_url);
  napi_get_boolean(env, r->ok != 0, &argv[A_OK]);
  napi_create_int32(env, r->error, &argv[A_ERROR]);
  argv[A_MESSAGE] = string(env, r->message != NULL ? r->message : "");
  napi_create_int32(env, (int32_t)r->http_code, &argv[A_HTTP_CODE]);
  napi_create_int32(env, r->http_version, &argv[A_HTTP_VERSION]);
  argv[A_BYTES] = number(env, (double)r->bytes);
  argv[A_WIRE_BYTES] = number(env, (double)r->wire_bytes);
  argv[A_TOTAL_TIME] = number(env, r->total_time);
  argv[A_TTFB] = number(env, r->ttfb);
  napi_create_uint32(env, r->attempts, &argv[A_ATTEMPTS]);
  argv[A_ORDINAL] = number(env, (double)r->ordinal);
  napi_create_int32(env, (int32_t)r->redirects, &argv[A_REDIRECTS]);
  argv[A_BODY] = NULL;
  if (b != NULL && r->ok) {
    /* The buffer becomes the Buffer's memory, freed by its finalizer. */
    if (b->buf == NULL) {
      napi_create_buffer(env, 0, NULL, &argv[A_BODY]);
    } else if (napi_create_external_buffer(env, b->len, b->buf, free_body, NULL,
                                           &argv[A_BODY]) == napi_ok) {
      b->buf = NULL;
    } else {
      napi_create_buffer_copy(env, b->len, b->buf, NULL, &argv[A_BODY]);
    }
  }
  if (argv[A_BODY] == NULL && b != NULL)
    napi_get_null(env, &argv[A_BODY]);
  else if (argv[A_BODY] == NULL)
    napi_get_undefined(env, &argv[A_BODY]);
  if (b != NULL)
    free(b->buf);
  free(b);

  if (napi_get_reference_value(env, e->sink, &fn) == napi_ok && fn != NULL &&
      napi_get_reference_value(env, e->self, &recv) == napi_ok &&
      recv != NULL) {
    st = napi_make_callback(env, e->actx, recv, fn, A_COUNT, argv, NULL);
    if (st == napi_pending_exception &&
        napi_get_and_clear_last_exception(env, &exc) == napi_ok)
      napi_fatal_exception(env, exc);
  }
  /* After the callback, which may have added more. */
  if (e->pending == 0 && !e->closing)
    unhold(e);
  napi_close_handle_scope(env, scope);
}

static int on_body(uvfetch_t *f, void *data, const char *buf, size_t len) {
  struct body *b = data;
  size_t cap;
  char *grown;

  if (buf == NULL) { /* a retry: the body comes again from the start */
    b->len = 0;
    return 0;
  }
  if (b->len + len > b->cap) {
    cap = b->cap ? b->cap : 16384;
    while (cap < b->len + len)
      cap *= 2;
    grown = realloc(b->buf, cap);
    if (grown == NULL)
      return 1;
    b->buf = grown;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, buf, len);
  b->len += len;
  return 0;
}

/* ---- closing ------------------------------------------------------------ */

static void on_closed(uvfetch_t *f) {
  struct engine *e = uvfetch_get_data(f);
  napi_env env = e->env;
  napi_handle_scope scope;
  napi_value fn;
  napi_value recv;
  napi_value exc;

  e->closed = 1;
  e->f = NULL;
  if (e->env_gone) {
    /* Node is waiting for this: the handles are closed. */
    napi_remove_async_cleanup_hook(e->hook);
    e->hook = NULL;
    /* The finalizer may still come, as the environment is torn down. */
    if (e->finalized)
      engine_free(e);
    return;
  }
  napi_remove_async_cleanup_hook(e->hook);
  e->hook = NULL;
  if (!e->finalized && e->on_closed != NULL &&
      napi_open_handle_scope(env, &scope) == napi_ok) {
    if (napi_get_reference_value(env, e->on_closed, &fn) == napi_ok &&
        fn != NULL &&
        napi_get_reference_value(env, e->self, &recv) == napi_ok &&
        recv != NULL) {
      if (napi_make_callback(env, e->actx, recv, fn, 0, NULL, NULL) ==
              napi_pending_exception &&
          napi_get_and_clear_last_exception(env, &exc) == napi_ok)
        napi_fatal_exception(env, exc);
    }
    napi_close_handle_scope(env, scope);
  }
  if (e->on_closed != NULL)
    napi_delete_reference(env, e->on_closed);
  e->on_closed = NULL;
  napi_async_destroy(env, e->actx);
  e->actx = NULL;
  e->closing = 0;
  unhold(e);
  if (e->finalized)
    engine_free(e);
}

/* The environment (the main thread at exit, or a worker) is shutting
 * down: close the engine without calling into JavaScript, and let Node
 * run the loop until its handles are closed. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  struct engine *e = arg;

  e->env_gone = 1;
  e->hook = handle;
  if (!e->closing) {
    e->closing = 1;
    uvfetch_close(e->f, on_closed);
  }
}

/* The JS object is gone (collected, or the environment is torn down). */
static void on_finalize(napi_env env, void *data, void *hint) {
  struct engine *e = data;

  e->finalized = 1;
  if (e->closed) {
    engine_free(e);
    return;
  }
  if (!e->closing) {
    e->closing = 1;
    uvfetch_close(e->f, on_closed);
  }
}

/* ---- options -------------------------------------------------------------
 * index.js has checked every option's type and range; here each is only
 * read, by the C field's name. */

static int get_prop(napi_env env, napi_value obj, const char *name,
                    napi_value *out) {
  bool has = false;
  napi_valuetype t;

  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
    return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok)
    return 0;
  if (napi_typeof(env, *out, &t) != napi_ok || t == napi_undefined ||
      t == napi_null)
    return 0;
  return 1;
}

static void opt_int64(napi_env env, napi_value obj, const char *name,
                      int64_t *out) {
  napi_value v;

  if (get_prop(env, obj, name, &v))
    napi_get_value_int64(env, v, out);
}

static void opt_long(napi_env env, napi_value obj, const char *name,
                     long *out) {
  int64_t n = *out;

  opt_int64(env, obj, name, &n);
  *out = (long)n;
}

static void opt_int(napi_env env, napi_value obj, const char *name, int *out) {
  int64_t n = *out;

  opt_int64(env, obj, name, &n);
  *out = (int)n;
}

static void opt_unsigned(napi_env env, napi_value obj, const char *name,
                         unsigned *out) {
  int64_t n = *out;

  opt_int64(env, obj, name, &n);
  *out = (unsigned)n;
}

static void opt_double(napi_env env, napi_value obj, const char *name,
                       double *out) {
  napi_value v;

  if (get_prop(env, obj, name, &v))
    napi_get_value_double(env, v, out);
}

/* A string option, malloc'ed into *out (NULL when absent). 0, or -1 with
 * a JS exception pending. */
static int get_string(napi_env env, napi_value v, char **out) {
  size_t len;
  char *s;

  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
    return -1;
  s = malloc(len + 1);
  if (s == NULL) {
    throw_code(env, UVFETCH_ENOMEM);
    return -1;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* a NUL inside */
    free(s);
    throw_code(env, UVFETCH_EINVAL);
    return -1;
  }
  *out = s;
  return 0;
}

/* Any string, NUL bytes included, malloc'ed into *out with its length. */
static int get_string_any(napi_env env, napi_value v, char **out, size_t *len) {
  char *s;

  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok)
    return -1;
  s = malloc(*len + 2);
  if (s == NULL) {
    throw_code(env, UVFETCH_ENOMEM);
    return -1;
  }
  napi_get_value_string_utf8(env, v, s, *len + 1, len);
  *out = s;
  return 0;
}

static int opt_string(napi_env env, napi_value obj, const char *name,
                      char **out) {
  napi_value v;

  *out = NULL;
  if (!get_prop(env, obj, name, &v))
    return 0;
  return get_string(env, v, out);
}

static void free_list(char **list) {
  char **p;

  if (list == NULL)
    return;
  for (p = list; *p != NULL; p++)
    free(*p);
  free(list);
}

/* An array of strings as a NULL-terminated list in *out. 0, or -1 with a
 * JS exception pending. */
static int get_list(napi_env env, napi_value arr, char ***out) {
  uint32_t n;
  uint32_t i;
  napi_value v;
  char **list;

  *out = NULL;
  if (napi_get_array_length(env, arr, &n) != napi_ok)
    return -1;
  list = calloc((size_t)n + 1, sizeof(*list));
  if (list == NULL) {
    throw_code(env, UVFETCH_ENOMEM);
    return -1;
  }
  for (i = 0; i < n; i++) {
    if (napi_get_element(env, arr, i, &v) != napi_ok ||
        get_string(env, v, &list[i]) != 0) {
      free_list(list);
      return -1;
    }
  }
  *out = list;
  return 0;
}

static int opt_list(napi_env env, napi_value obj, const char *name,
                    char ***out) {
  napi_value v;

  *out = NULL;
  if (!get_prop(env, obj, name, &v))
    return 0;
  return get_list(env, v, out);
}

/* ---- the Engine class ---------------------------------------------------- */

static struct engine *unwrap(napi_env env, napi_value self) {
  void *p = NULL;
  struct engine *e;

  if (napi_unwrap(env, self, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a uvfetch Engine");
    return NULL;
  }
  e = p;
  if (e->closing || e->closed) {
    throw_code(env, UVFETCH_ECLOSING);
    return NULL;
  }
  return e;
}

/* new Engine(options, sink) */
static napi_value engine_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value self;
  napi_value name;
  uvfetch_options_t opt;
  struct engine *e = NULL;
  char *user_agent = NULL, *cacert = NULL, *proxy = NULL, *protocols = NULL;
  char **headers = NULL, **resolve = NULL;
  uv_loop_t *loop;
  napi_value v;
  int err;

  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "Engine(options, sink)");
    return NULL;
  }
  CHECK(napi_get_uv_event_loop(env, &loop));
  uvfetch_options_init(&opt);
  opt_unsigned(env, argv[0], "max_concurrent", &opt.max_concurrent);
  opt_int(env, argv[0], "ordered", &opt.ordered);
  opt_unsigned(env, argv[0], "order_window", &opt.order_window);
  opt_int(env, argv[0], "follow_redirects", &opt.follow_redirects);
  opt_long(env, argv[0], "max_redirects", &opt.max_redirects);
  opt_int(env, argv[0], "compressed", &opt.compressed);
  opt_int(env, argv[0], "verify_tls", &opt.verify_tls);
  opt_long(env, argv[0], "connect_timeout_ms", &opt.connect_timeout_ms);
  opt_long(env, argv[0], "timeout_ms", &opt.timeout_ms);
  opt_long(env, argv[0], "idle_timeout_ms", &opt.idle_timeout_ms);
  opt_int64(env, argv[0], "max_filesize", &opt.max_filesize);
  opt_int(env, argv[0], "http_version", &opt.http_version);
  opt_unsigned(env, argv[0], "retries", &opt.retries);
  opt_long(env, argv[0], "retry_delay_ms", &opt.retry_delay_ms);
  opt_unsigned(env, argv[0], "max_per_host", &opt.max_per_host);
  opt_double(env, argv[0], "rate", &opt.rate);
  opt_int(env, argv[0], "location_trusted", &opt.location_trusted);
  opt_int(env, argv[0], "adaptive", &opt.adaptive);
  if (opt_string(env, argv[0], "user_agent", &user_agent) != 0 ||
      opt_string(env, argv[0], "cacert", &cacert) != 0 ||
      opt_string(env, argv[0], "proxy", &proxy) != 0 ||
      opt_string(env, argv[0], "protocols", &protocols) != 0 ||
      opt_list(env, argv[0], "headers", &headers) != 0 ||
      opt_list(env, argv[0], "resolve", &resolve) != 0)
    goto out;
  opt.user_agent = user_agent;
  opt.cacert = cacert;
  opt.proxy = proxy;
  opt.protocols = protocols;
  opt.headers = (const char *const *)headers;
  opt.resolve = (const char *const *)resolve;

  e = calloc(1, sizeof(*e));
  if (e == NULL) {
    throw_code(env, UVFETCH_ENOMEM);
    goto out;
  }
  e->env = env;
  if (get_prop(env, argv[0], "keep_body", &v)) {
    bool keep = false;
    napi_get_value_bool(env, v, &keep);
    e->keep_body = keep;
  }
  err = uvfetch_init(loop, &e->f, &opt, on_done);
  if (err != 0) {
    throw_code(env, err);
    free(e);
    e = NULL;
    goto out;
  }
  uvfetch_set_data(e->f, e);
  /* From here the engine exists: failures close it through the finalizer
   * once the object is wrapped, or here before. */
  CHECK(napi_create_string_utf8(env, "uvfetch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, self, name, &e->actx));
  CHECK(napi_set_named_property(env, self, "_sink", argv[1]));
  CHECK(napi_create_reference(env, argv[1], 0, &e->sink));
  CHECK(napi_add_async_cleanup_hook(env, on_env_cleanup, e, &e->hook));
  CHECK(napi_wrap(env, self, e, on_finalize, NULL, &e->self));
  e = NULL;
  goto out;

fail:
  if (e != NULL) {
    if (e->hook != NULL)
      napi_remove_async_cleanup_hook(e->hook);
    e->hook = NULL;
    e->finalized = 1; /* nothing to call back: freed when closed */
    e->closing = 1;
    uvfetch_close(e->f, on_closed);
  }
  napi_throw_error(env, NULL, "uvfetch: could not make the engine");
out:
  free(user_agent);
  free(cacert);
  free(proxy);
  free(protocols);
  free_list(headers);
  free_list(resolve);
  return NULL;
}

/* add(url, flags, headers | null, timeoutMs) -> ordinal */
static napi_value engine_add(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value self;
  napi_value out = NULL;
  napi_valuetype t;
  struct engine *e;
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  char stack[2048];
  char *url = stack;
  char **headers = NULL;
  struct body *b = NULL;
  size_t len;
  uint32_t flags = 0;
  int64_t timeout = 0;
  uint64_t ordinal;
  int err;

  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok)
    return NULL;
  e = unwrap(env, self);
  if (e == NULL)
    return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok ||
      t != napi_string) {
    napi_throw_type_error(env, NULL, "url must be a string");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], stack, sizeof(stack), &len) !=
      napi_ok)
    return NULL;
  if (len == sizeof(stack) - 1) { /* perhaps cut: take it whole */
    if (get_string_any(env, argv[0], &url, &len) != 0)
      return NULL;
  }
  if (argc > 1)
    napi_get_value_uint32(env, argv[1], &flags);
  if (argc > 2 && napi_typeof(env, argv[2], &t) == napi_ok &&
      t == napi_object && get_list(env, argv[2], &headers) != 0)
    goto out;
  if (argc > 3)
    napi_get_value_int64(env, argv[3], &timeout);
  if (strlen(url) != len) {
    /* A NUL inside: no URL the library could take. index.js reports it
     * (UVFETCH_EURL) under the URL as given. */
    if (!(flags & UVFETCH_ADD_REPORT_INVALID)) {
      throw_code(env, UVFETCH_EURL);
      goto out;
    }
    url[0] = ' ';
    url[1] = '\0';
  }
  if (e->keep_body) {
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
      throw_code(env, UVFETCH_ENOMEM);
      goto out;
    }
    req.on_body = on_body;
  }
  req.url = url;
  req.data = b;
  req.flags = flags;
  req.headers = (const char *const *)headers;
  req.timeout_ms = (long)timeout;
  err = uvfetch_submit(e->f, &req, &ordinal);
  if (err != 0) {
    free(b);
    throw_code(env, err);
    goto out;
  }
  e->pending++;
  hold(e);
  napi_create_double(env, (double)ordinal, &out);
out:
  if (url != stack)
    free(url);
  free_list(headers);
  return out;
}

/* cancel(ordinal) -> true, or false when it is not pending */
static napi_value engine_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value self;
  napi_value out = NULL;
  struct engine *e;
  double ordinal = -1;
  int err;

  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok)
    return NULL;
  e = unwrap(env, self);
  if (e == NULL)
    return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &ordinal) != napi_ok ||
      ordinal < 0) {
    napi_throw_type_error(env, NULL, "cancel(id): id must be a number");
    return NULL;
  }
  err = uvfetch_cancel(e->f, (uint64_t)ordinal);
  if (err != 0 && err != UVFETCH_ENOTFOUND) {
    throw_code(env, err);
    return NULL;
  }
  napi_get_boolean(env, err == 0, &out);
  return out;
}

/* close(callback): every pending URL completes (cancelled) before this
 * returns; callback runs once the handles are closed. */
static napi_value engine_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value self;
  struct engine *e;

  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok)
    return NULL;
  e = unwrap(env, self);
  if (e == NULL)
    return NULL;
  if (argc >= 1 &&
      napi_create_reference(env, argv[0], 1, &e->on_closed) != napi_ok)
    return NULL;
  hold(e);
  e->closing = 1;
  uvfetch_close(e->f, on_closed);
  return NULL;
}

static void set_count(napi_env env, napi_value obj, const char *name,
                      uint64_t n) {
  napi_set_named_property(env, obj, name, number(env, (double)n));
}

/* stats() -> the library's counts */
static napi_value engine_stats(napi_env env, napi_callback_info info) {
  napi_value self;
  napi_value out;
  void *p = NULL;
  struct engine *e;
  uvfetch_stats_t s;

  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &p) != napi_ok || p == NULL)
    return NULL;
  e = p;
  memset(&s, 0, sizeof(s));
  if (e->f != NULL && !e->closed)
    uvfetch_get_stats(e->f, &s);
  if (napi_create_object(env, &out) != napi_ok)
    return NULL;
  set_count(env, out, "added", s.added);
  set_count(env, out, "queued", s.queued);
  set_count(env, out, "waiting", s.waiting);
  set_count(env, out, "running", s.running);
  set_count(env, out, "held", s.held);
  set_count(env, out, "done", s.done);
  set_count(env, out, "failed", s.failed);
  set_count(env, out, "dnsLookups", s.dns_lookups);
  set_count(env, out, "dnsHits", s.dns_hits);
  set_count(env, out, "dnsFailures", s.dns_failures);
  set_count(env, out, "pending", e->pending);
  set_count(env, out, "limit",
            e->f != NULL && !e->closed ? uvfetch_get_limit(e->f) : 0);
  return out;
}

/* pending() -> URLs accepted whose result has not been delivered */
static napi_value engine_pending(napi_env env, napi_callback_info info) {
  napi_value self;
  void *p = NULL;

  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &p) != napi_ok || p == NULL)
    return NULL;
  return number(env, (double)((struct engine *)p)->pending);
}

/* ---- the module ------------------------------------------------------- */

/* errName(code) -> "UVFETCH_ETIMEDOUT", or libuv's name */
static napi_value err_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 0;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
      argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok)
    return NULL;
  return string(env, uvfetch_err_name(code));
}

static napi_value version(napi_env env, napi_callback_info info) {
  return string(env, uvfetch_version());
}

static napi_value curl_version(napi_env env, napi_callback_info info) {
  return string(env, uvfetch_curl_version());
}

/* libuv's version as Node's loop reports it: the addon has no libuv of
 * its own, so this is node's. */
static napi_value libuv_version(napi_env env, napi_callback_info info) {
  return string(env, uv_version_string());
}

static void instance_free(napi_env env, void *data, void *hint) {
  struct instance *in = data;

  napi_delete_reference(env, in->ctor);
  free(in);
}

static napi_value module_init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"add", NULL, engine_add, NULL, NULL, NULL, napi_default, NULL},
      {"cancel", NULL, engine_cancel, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, engine_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, engine_stats, NULL, NULL, NULL, napi_default, NULL},
      {"pending", NULL, engine_pending, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_property_descriptor fns[] = {
      {"errName", NULL, err_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"version", NULL, version, NULL, NULL, NULL, napi_enumerable, NULL},
      {"curlVersion", NULL, curl_version, NULL, NULL, NULL, napi_enumerable,
       NULL},
      {"uvVersion", NULL, libuv_version, NULL, NULL, NULL, napi_enumerable,
       NULL},
  };
  napi_value ctor;
  napi_value v;
  struct instance *in;

  in = calloc(1, sizeof(*in));
  if (in == NULL)
    return NULL;
  if (napi_define_class(env, "Engine", NAPI_AUTO_LENGTH, engine_new, NULL,
                        sizeof(methods) / sizeof(methods[0]), methods,
                        &ctor) != napi_ok ||
      napi_create_reference(env, ctor, 1, &in->ctor) != napi_ok ||
      napi_set_instance_data(env, in, instance_free, NULL) != napi_ok) {
    free(in);
    return NULL;
  }
  napi_set_named_property(env, exports, "Engine", ctor);
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  napi_create_uint32(env, UVFETCH_ADD_REPORT_INVALID, &v);
  napi_set_named_property(env, exports, "ADD_REPORT_INVALID", v);
  return exports;
}

NAPI_MODULE_INIT() {
  return module_init(env, exports);
}
