/* uvfetch, the command: URLs in (arguments, a file or standard input), one
 * record per URL out, all on one libuv loop.
 *
 * Input is read only as fast as transfers finish: the reader pauses when
 * the library has a slot's worth of URLs queued and resumes from the
 * completion callback, so the first transfers start before the input ends
 * and memory does not grow with its length. The program ends when the
 * loop runs out of work; then everything is closed and the loop with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "container.h"
#include "input.h"
#include "options.h"
#include "output.h"
#include "outbuf.h"
#include "uvfetch.h"

/* Exit statuses. */
#define EXIT_FETCHED 0 /* every URL fetched */
#define EXIT_FAILED 1  /* some URL failed, or input or output broke */
#define EXIT_USAGE 2

/* How much of an overlong input line a record shows. */
#define SHOWN_MAX 256

typedef struct app_s {
  uv_loop_t loop;
  cli_config_t cfg;
  cli_format_t format;
  uvfetch_t *fetch;
  cli_outbuf_t out;
  cli_input_t input;
  int input_open;    /* opened and not yet closed */
  int fetch_closing; /* uvfetch_close was called */
  uv_signal_t sigint;
  uv_signal_t sigterm;
  int signals_open;
  uint64_t window;  /* pause the input when this many URLs are queued */
  int stopping;     /* stopped early: a signal, or stdout went away */
  int signo;        /* the signal that stopped us, or 0 */
  int failed;       /* some record was a failure, or I/O broke */
  int closed_stdio; /* bit n: descriptor n was closed at start */
} app_t;

/* An input line the library cannot be given as it is (too long, or with a
 * NUL byte). An always-invalid URL stands in for it, so the library
 * reports it in its turn; the record shows this text and reason. */
typedef struct refused_s {
  char reason[96];
  size_t len;
  char text[]; /* len bytes, not NUL-terminated */
} refused_t;

/* ---- output --------------------------------------------------------- */

static void print_result(app_t *app, const uvfetch_result_t *r) {
  refused_t *ref = r->data;
  uvfetch_result_t shown;
  cli_bytes_t text;

  if (ref == NULL) {
    cli_output_record(&app->out, app->format, r, NULL);
    return;
  }
  shown = *r;
  shown.ok = 0;
  if (r->error != UVFETCH_ECANCELED)
    shown.error = UVFETCH_EURL;
  shown.message = ref->reason;
  text.p = ref->text;
  text.n = ref->len;
  cli_output_record(&app->out, app->format, &shown, &text);
}

/* ---- stopping -------------------------------------------------------- */

static void close_signals(app_t *app) {
  if (!app->signals_open)
    return;
  app->signals_open = 0;
  /* With the last watcher gone, libuv restores the default action, so a
   * second Ctrl-C ends a program that is slow to stop. */
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
}

static void close_input(app_t *app) {
  if (!app->input_open)
    return;
  app->input_open = 0;
  cli_input_close(&app->input, NULL);
}

/* The library reports each URL still queued or running through on_done,
 * as cancelled, before uvfetch_close returns; its memory goes later. */
static void close_fetch(app_t *app) {
  if (app->fetch == NULL || app->fetch_closing)
    return;
  app->fetch_closing = 1;
  uvfetch_close(app->fetch, NULL);
}

/* Stop early: read no more, and cancel what is queued or running. */
static void stop(app_t *app) {
  if (app->stopping)
    return;
  app->stopping = 1;
  close_input(app);
  close_signals(app);
  close_fetch(app);
}

static void on_signal(uv_signal_t *handle, int signo) {
  app_t *app = handle->data;

  app->signo = signo;
  stop(app);
}

/* A broken pipe is how a reader such as `head` says it has enough: stop
 * quietly. Any other write error is worth a message. Either way the
 * records that could not be written make the exit status 1. */
static void on_output_error(cli_outbuf_t *o, int err) {
  app_t *app = container_of(o, app_t, out);

  app->failed = 1;
  if (err != UV_EPIPE)
    fprintf(stderr, "uvfetch: writing output: %s\n", uv_strerror(err));
  stop(app);
}

/* ---- URLs in ---------------------------------------------------------- */

/* Hand one URL to the library. It accepts every URL (an invalid one
 * comes back as a failure record in its turn) unless it cannot: then no
 * callback will come, so the record is written here. */
static void add_url(app_t *app, const char *url, refused_t *ref) {
  uvfetch_result_t r;
  uvfetch_stats_t stats;
  int err;

  err = uvfetch_add_ex(app->fetch, url, ref, UVFETCH_ADD_REPORT_INVALID, NULL);
  if (err == 0)
    return;
  uvfetch_get_stats(app->fetch, &stats);
  memset(&r, 0, sizeof(r));
  r.url = url;
  r.effective_url = url;
  r.data = ref;
  r.ordinal = stats.added;
  r.error = err;
  r.message = uvfetch_strerror(err);
  app->failed = 1;
  print_result(app, &r);
  free(ref);
}

static void add_refused(app_t *app, const cli_line_t *line) {
  size_t keep = line->len;
  refused_t *ref;

  if (line->kind == CLI_LINE_TOO_LONG && keep > SHOWN_MAX)
    keep = SHOWN_MAX;
  ref = malloc(sizeof(*ref) + keep + 3);
  if (ref == NULL) {
    fprintf(stderr, "uvfetch: input line %llu: out of memory\n",
            (unsigned long long)line->lineno);
    app->failed = 1;
    return;
  }
  memcpy(ref->text, line->text, keep);
  ref->len = keep;
  if (line->kind == CLI_LINE_TOO_LONG) {
    memcpy(ref->text + keep, "...", 3);
    ref->len += 3;
    snprintf(ref->reason, sizeof(ref->reason),
             "input line %llu is longer than %d bytes",
             (unsigned long long)line->lineno, CLI_LINE_MAX);
  } else {
    snprintf(ref->reason, sizeof(ref->reason),
             "input line %llu contains a NUL byte",
             (unsigned long long)line->lineno);
  }
  /* The empty string is never a URL: the library reports it, in turn. */
  add_url(app, "", ref);
}

static int queue_full(app_t *app) {
  uvfetch_stats_t stats;

  uvfetch_get_stats(app->fetch, &stats);
  return stats.queued >= app->window;
}

static void on_line(cli_input_t *in, const cli_line_t *line) {
  app_t *app = container_of(in, app_t, input);

  if (line->kind == CLI_LINE_URL)
    add_url(app, line->text, NULL);
  else
    add_refused(app, line);
  if (!app->stopping && queue_full(app))
    cli_input_pause(in);
}

static void on_input_end(cli_input_t *in, int err) {
  app_t *app = container_of(in, app_t, input);

  if (err < 0) {
    fprintf(stderr, "uvfetch: reading %s: %s\n", in->name, uv_strerror(err));
    app->failed = 1;
  }
  close_input(app);
}

/* ---- results out ------------------------------------------------------ */

static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  app_t *app = uvfetch_get_data(f);

  if (!r->ok)
    app->failed = 1;
  print_result(app, r);
  free(r->data);
  if (app->input_open && !app->stopping && !queue_full(app))
    cli_input_resume(&app->input);
}

/* ---- setting up and tearing down --------------------------------------- */

static void print_version(void) {
  printf("uvfetch %s (libcurl %s, libuv %s)\n", uvfetch_version(),
         uvfetch_curl_version(), uv_version_string());
}

/* Fail early, naming the file, rather than with one TLS error per URL. */
static int check_cacert(uv_loop_t *loop, const char *path) {
  uv_fs_t req;
  int err;

  err = uv_fs_open(loop, &req, path, O_RDONLY | O_CLOEXEC, 0, NULL);
  uv_fs_req_cleanup(&req);
  if (err < 0)
    return err;
  uv_fs_close(loop, &req, err, NULL);
  uv_fs_req_cleanup(&req);
  return 0;
}

static int start_signals(app_t *app) {
  int err;

  err = uv_signal_init(&app->loop, &app->sigint);
  if (err < 0)
    return err;
  err = uv_signal_init(&app->loop, &app->sigterm);
  if (err < 0) {
    uv_close((uv_handle_t *)&app->sigint, NULL);
    return err;
  }
  app->signals_open = 1;
  app->sigint.data = app;
  app->sigterm.data = app;
  /* Watching for signals is no reason for the loop to keep running. */
  uv_unref((uv_handle_t *)&app->sigint);
  uv_unref((uv_handle_t *)&app->sigterm);
  err = uv_signal_start(&app->sigint, on_signal, SIGINT);
  if (err == 0)
    err = uv_signal_start(&app->sigterm, on_signal, SIGTERM);
  return err;
}

/* Run the loop until the work is done, then close everything on it. */
static void run(app_t *app) {
  uv_run(&app->loop, UV_RUN_DEFAULT);
  /* Only the unreferenced handles are left, and whatever is closing. */
  close_input(app);
  close_signals(app);
  close_fetch(app);
  cli_outbuf_close(&app->out);
  uv_run(&app->loop, UV_RUN_DEFAULT);
}

static int exit_status(app_t *app) {
  if (app->signo != 0)
    return 128 + app->signo;
  return app->failed ? EXIT_FAILED : EXIT_FETCHED;
}

static int run_app(app_t *app) {
  char *const *urls = app->cfg.urls;
  int status = EXIT_USAGE;
  int have_out = 0;
  int err;
  int i;

  app->format = app->cfg.json ? CLI_FORMAT_JSON : CLI_FORMAT_TSV;
  app->window = app->cfg.fetch.max_concurrent;

  if (app->cfg.input != NULL || app->cfg.nurls == 0) {
    int from_stdin = app->cfg.input == NULL || strcmp(app->cfg.input, "-") == 0;

    if (from_stdin && (app->closed_stdio & (1 << STDIN_FILENO))) {
      fprintf(stderr, "uvfetch: cannot read standard input: it is closed\n");
      goto done;
    }
    err = cli_input_open(&app->input, &app->loop, app->cfg.input);
    if (err < 0) {
      /* libuv calls EISDIR "illegal operation on a directory". */
      const char *why = err == UV_EISDIR ? "is a directory" : uv_strerror(err);

      if (app->cfg.input != NULL && strcmp(app->cfg.input, "-") != 0)
        fprintf(stderr, "uvfetch: cannot read '%s': %s\n", app->cfg.input, why);
      else
        fprintf(stderr, "uvfetch: cannot read standard input: %s\n", why);
      goto done;
    }
    app->input_open = 1;
  }
  if (app->cfg.fetch.cacert != NULL) {
    err = check_cacert(&app->loop, app->cfg.fetch.cacert);
    if (err < 0) {
      fprintf(stderr, "uvfetch: cannot read CA file '%s': %s\n",
              app->cfg.fetch.cacert, uv_strerror(err));
      goto done;
    }
  }

  status = EXIT_FAILED;
  err = cli_outbuf_init(&app->out, &app->loop, STDOUT_FILENO, on_output_error);
  if (err < 0) {
    fprintf(stderr, "uvfetch: %s\n", uv_strerror(err));
    goto done;
  }
  have_out = 1;

  app->cfg.fetch.data = app;
  err = uvfetch_init(&app->loop, &app->fetch, &app->cfg.fetch, on_done);
  if (err == UVFETCH_EINVAL) {
    /* The values were checked here; what is left is libcurl refusing one,
     * and --proto is the one it knows better than we do. */
    fprintf(stderr, "uvfetch: options refused by libcurl (%s)%s\n",
            uvfetch_strerror(err),
            app->cfg.fetch.protocols != NULL ? "; check --proto" : "");
    status = EXIT_USAGE;
    goto done;
  }
  if (err < 0) {
    fprintf(stderr, "uvfetch: cannot start: %s\n", uvfetch_strerror(err));
    goto done;
  }
  err = start_signals(app);
  if (err < 0) {
    fprintf(stderr, "uvfetch: cannot watch signals: %s\n", uv_strerror(err));
    goto done;
  }

  for (i = 0; i < app->cfg.nurls && !app->stopping; i++)
    add_url(app, urls[i], NULL);
  if (app->input_open && !app->stopping) {
    if (queue_full(app))
      cli_input_pause(&app->input);
    err = cli_input_start(&app->input, on_line, on_input_end);
    if (err < 0)
      on_input_end(&app->input, err);
  }
  run(app);
  return exit_status(app);

done:
  close_input(app);
  close_signals(app);
  close_fetch(app);
  if (have_out)
    cli_outbuf_close(&app->out);
  uv_run(&app->loop, UV_RUN_DEFAULT);
  return status;
}

/* Put /dev/null on each of descriptors 0-2 that is closed, so that the
 * loop's, libcurl's or our own descriptors never take those numbers (and
 * get records written into them, or closed by libuv as stdio). Returns a
 * mask of the ones that were closed. */
static int guard_stdio(void) {
  int closed = 0;
  int fd;

  for (fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
      continue;
    closed |= 1 << fd;
    if (open("/dev/null", O_RDWR) != fd)
      return -1;
  }
  return closed;
}

int main(int argc, char **argv) {
  struct sigaction sa;
  char err[512];
  app_t app;
  int status;
  int rc;

  /* A closed reader shows up as EPIPE from write(2), handled where it is
   * written; libcurl is told not to touch signals (CURLOPT_NOSIGNAL). */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);

  memset(&app, 0, sizeof(app));
  app.closed_stdio = guard_stdio();
  if (app.closed_stdio < 0)
    return EXIT_FAILED;
  if (cli_options_parse(&app.cfg, argc, argv, err, sizeof(err)) < 0) {
    fprintf(stderr, "uvfetch: %s\n", err);
    return EXIT_USAGE;
  }
  if (app.closed_stdio & (1 << STDOUT_FILENO)) {
    fprintf(stderr, "uvfetch: standard output is closed\n");
    return EXIT_USAGE;
  }
  if (app.cfg.help) {
    cli_options_usage(stdout);
    return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
  }
  if (app.cfg.version) {
    print_version();
    return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
  }

  rc = uv_loop_init(&app.loop);
  if (rc < 0) {
    fprintf(stderr, "uvfetch: %s\n", uv_strerror(rc));
    return EXIT_FAILED;
  }
  status = run_app(&app);
  rc = uv_loop_close(&app.loop);
  if (rc < 0) {
    fprintf(stderr, "uvfetch: loop still busy at exit: %s\n", uv_strerror(rc));
    if (status == EXIT_FETCHED)
      status = EXIT_FAILED;
  }
  return status;
}
