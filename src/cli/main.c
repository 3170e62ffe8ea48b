/* uvfetch, the command: URLs in (arguments, a file or standard input), one
 * record per URL out, all on one libuv loop.
 *
 * Input is read only as fast as transfers finish: the reader pauses when
 * enough URLs wait and resumes as records go out, so the first transfers
 * start before the input ends and memory does not grow with its length.
 * The program ends when the loop runs out of work; then everything is
 * closed and the loop with it.
 *
 * The top of the command: it parses the options, opens what they name,
 * and wires the parts together. It calls down into all of them (the
 * reader and the feeder in input/, the records in record/, the saver,
 * the reports) and none of them calls it: they answer through callbacks
 * and hooks, which land here.
 */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "input/input.h"
#include "input/journal.h"
#include "input/urls.h"
#include "options.h"
#include "record/escape.h"
#include "record/output.h"
#include "record/records.h"
#include "report/limit.h"
#include "report/progress.h"
#include "report/tally.h"
#include "report/trace.h"
#include "save/save.h"
#include "util/container.h"
#include "util/outbuf.h"
#include "util/sha256.h"
#include "uvfetch.h"

/* The command's state. */
typedef struct app_s {
  uv_loop_t loop;
  cli_config_t cfg;
  cli_format_t format;
  uvfetch_t *fetch;
  cli_outbuf_t out;
  cli_input_t input;
  int input_open;         /* opened and not yet closed */
  int fetch_closing;      /* uvfetch_close was called */
  uv_signal_t signals[3]; /* SIGINT, SIGTERM, SIGHUP: see start_signals */
  int signals_open;
  uint64_t window;  /* pause the input when this many URLs wait */
  int stopping;     /* stopped early: a signal, or an output went away */
  int signo;        /* the signal that stopped us, or 0 */
  int failed;       /* input or output broke */
  int closed_stdio; /* bit n: descriptor n was closed at start */

  unsigned extras; /* CLI_EXTRA_* of JSON records and the journal */
  cli_urls_t urls; /* the feeder: input URLs to the library */
  cli_records_t records;
  cli_journal_t journal;
  int journal_open;
  cli_trace_t trace;
  int trace_open;
  cli_saver_t saver;
  int saver_open;
  cli_progress_t progress;
  int progress_on;
  cli_limit_t limit; /* the limit's path: -j auto, or --trace */
  int limit_on;
  uint64_t fetch_ns; /* when the fetcher started: the trace's zero */
  int stdout_tty;
  cli_tally_t tally;
  uint64_t start_ns;
} app_t;

/* Exit statuses. */
#define EXIT_FETCHED 0 /* every URL fetched */
#define EXIT_FAILED 1  /* some URL failed, or input or output broke */
#define EXIT_USAGE 2

/* One line on standard error, "uvfetch: " and the message, with the
 * values it quotes (paths, server text) escaped as records escape them,
 * so that it stays one line and no control byte reaches a terminal. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...) {
  char raw[1024];
  char line[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  cli_escape_line(line, sizeof(line), raw);
  fprintf(stderr, "uvfetch: %s\n", line);
}

/* ---- stopping -------------------------------------------------------- */

static void close_signals(app_t *app) {
  if (!app->signals_open)
    return;
  app->signals_open = 0;
  /* With the last watcher gone, libuv restores the default action, so a
   * second Ctrl-C ends a program that is slow to stop. */
  uv_close((uv_handle_t *)&app->signals[0], NULL);
  uv_close((uv_handle_t *)&app->signals[1], NULL);
  uv_close((uv_handle_t *)&app->signals[2], NULL);
}

static void close_input(app_t *app) {
  if (!app->input_open)
    return;
  app->input_open = 0;
  cli_input_close(&app->input, NULL);
}

static void on_fetch_closed(uvfetch_t *f) {
  app_t *app = uvfetch_get_data(f);

  app->fetch = NULL;
}

/* The library reports each URL still queued or running through on_done,
 * as cancelled, before uvfetch_close returns; its memory goes later. */
static void close_fetch(app_t *app) {
  uvfetch_stats_t stats;

  if (app->fetch == NULL || app->fetch_closing)
    return;
  app->fetch_closing = 1;
  /* The fetcher's own counts go with it: the summary keeps them. */
  uvfetch_get_stats(app->fetch, &stats);
  app->tally.dns_lookups = stats.dns_lookups;
  app->tally.dns_hits = stats.dns_hits;
  app->tally.dns_failures = stats.dns_failures;
  uvfetch_close(app->fetch, on_fetch_closed);
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
    say("writing output: %s", uv_strerror(err));
  stop(app);
}

static void on_trace_error(cli_outbuf_t *o, int err) {
  app_t *app = container_of(o, app_t, trace.out);

  app->failed = 1;
  say("writing trace: %s", uv_strerror(err));
}

/* ---- URLs in, records out -------------------------------------------- */

/* URLs waiting to start, waiting to retry, and records waiting for their
 * body to reach the disk all count: none of them should pile up. */
static int queue_full(app_t *app) {
  uvfetch_stats_t stats;

  uvfetch_get_stats(app->fetch, &stats);
  return stats.queued + stats.waiting + app->records.npending >= app->window;
}

static void resume_input(app_t *app) {
  if (app->input_open && !app->stopping && !queue_full(app))
    cli_input_resume(&app->input);
}

/* Hand a URL's result and what its job kept to the records. */
static void record_job(app_t *app, cli_job_t *job, const uvfetch_result_t *r) {
  char hex[CLI_SHA256_HEX];
  cli_outcome_t o;

  memset(&o, 0, sizeof(o));
  o.r = r;
  o.ordinal = job->ordinal;
  if (job->refused) {
    o.text = job->text;
    o.len = job->len;
    o.reason = job->reason;
  }
  if (r->ok)
    o.sha256 = cli_urls_digest(job, hex);
  o.sink = job->sink;
  job->sink = NULL;
  cli_records_add(&app->records, &o);
}

/* The library is done with a URL. */
static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  app_t *app = uvfetch_get_data(f);
  cli_job_t *job = r->data;

  record_job(app, job, r);
  cli_urls_free_job(job);
  resume_input(app);
}

/* The library could not take a URL: the feeder made its result. */
static void on_refused(cli_urls_t *u, cli_job_t *job,
                       const uvfetch_result_t *r) {
  record_job(container_of(u, app_t, urls), job, r);
}

static void on_settled(cli_records_t *rs) {
  resume_input(container_of(rs, app_t, records));
}

/* A journal that misses records would make the next run skip nothing it
 * should, or fetch again: stop rather than go on without it. */
static void on_journal_error(cli_records_t *rs) {
  stop(container_of(rs, app_t, records));
}

static const cli_records_hooks_t records_hooks = {on_settled, on_journal_error};

static void on_line(cli_input_t *in, const cli_line_t *line) {
  app_t *app = container_of(in, app_t, input);

  cli_urls_add_line(&app->urls, line);
  if (!app->stopping && queue_full(app))
    cli_input_pause(in);
}

static void on_input_end(cli_input_t *in, int err) {
  app_t *app = container_of(in, app_t, input);

  if (err < 0) {
    say("reading %s: %s", in->name, uv_strerror(err));
    app->failed = 1;
  }
  close_input(app);
}

/* ---- progress ---------------------------------------------------------- */

/* URLs in the whole input: exact once the input has ended; estimated from
 * the share of the file read so far while it is a regular file; unknown
 * (0) while a stream is still open. */
static double total_urls(app_t *app) {
  const cli_input_t *in = &app->input;
  double read = (double)app->urls.input_urls;

  if (!app->input_open)
    return (double)app->cfg.nurls + read;
  if (in->size > 0 && in->consumed > 0) {
    return (double)app->cfg.nurls +
           read * (double)in->size / (double)in->consumed;
  }
  return 0;
}

static void progress_counts(cli_progress_t *p, cli_progress_counts_t *c) {
  app_t *app = container_of(p, app_t, progress);
  uvfetch_stats_t stats;

  c->done = app->tally.records;
  c->failed = app->tally.failed;
  c->skipped = app->tally.skipped + app->tally.other_shard;
  c->bytes = app->urls.body_bytes;
  c->total = total_urls(app);
  if (app->fetch != NULL && !app->fetch_closing) {
    uvfetch_get_stats(app->fetch, &stats);
    c->running = stats.running;
    c->queued = stats.queued + stats.waiting;
    if (app->cfg.fetch.adaptive)
      c->limit = uvfetch_get_limit(app->fetch);
  }
}

/* ---- the limit's path (-j auto, --trace) ------------------------------- */

static void limit_read(cli_limit_t *l, unsigned *limit, unsigned *running) {
  app_t *app = container_of(l, app_t, limit);
  uvfetch_stats_t stats;

  *limit = l->limit;
  *running = 0;
  if (app->fetch == NULL || app->fetch_closing)
    return;
  uvfetch_get_stats(app->fetch, &stats);
  *limit = uvfetch_get_limit(app->fetch);
  *running = (unsigned)stats.running;
}

/* Sampled ten times a second for --stats, twenty when traced. */
static int start_limit(app_t *app) {
  int err;

  if (!app->cfg.fetch.adaptive && !app->trace_open)
    return 0;
  err = cli_limit_start(&app->limit, &app->loop, app->cfg.fetch.max_concurrent,
                        app->fetch_ns, app->trace_open ? 50 : 100, limit_read,
                        app->trace_open ? &app->trace : NULL);
  /* A timer that failed to start is still a handle to close. */
  app->limit_on = err == 0 || app->limit.timing;
  return err;
}

/* The last sample, at the end of the work, and no more. */
static void stop_limit(app_t *app) {
  if (!app->limit_on)
    return;
  cli_limit_sample(&app->limit);
  cli_limit_stop(&app->limit);
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

/* SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal closed, the ssh
 * connection dropped) all stop the run the same way: every URL queued or
 * running is reported as cancelled, records are flushed, temporary files
 * removed, and the exit status is 128 + the signal's number. */
static const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static int start_signals(app_t *app) {
  int err;
  int i;

  for (i = 0; i < 3; i++) {
    err = uv_signal_init(&app->loop, &app->signals[i]);
    if (err < 0) {
      while (i-- > 0)
        uv_close((uv_handle_t *)&app->signals[i], NULL);
      return err;
    }
    app->signals[i].data = app;
    /* Watching for signals is no reason for the loop to keep running. */
    uv_unref((uv_handle_t *)&app->signals[i]);
  }
  app->signals_open = 1;
  for (i = 0; i < 3; i++) {
    err = uv_signal_start(&app->signals[i], on_signal, stop_signals[i]);
    if (err < 0)
      return err;
  }
  return 0;
}

/* Open the input and the files the options name. Each problem is a usage
 * error, reported before anything is fetched. Returns 0 or -1. */
static int open_files(app_t *app) {
  const cli_config_t *cfg = &app->cfg;
  char why[512];
  int err;

  if (cfg->input != NULL || cfg->nurls == 0) {
    int from_stdin = cfg->input == NULL || strcmp(cfg->input, "-") == 0;

    if (from_stdin && (app->closed_stdio & (1 << STDIN_FILENO))) {
      say("cannot read standard input: it is closed");
      return -1;
    }
    err = cli_input_open(&app->input, &app->loop, cfg->input);
    if (err < 0) {
      /* libuv calls EISDIR "illegal operation on a directory". */
      const char *what = err == UV_EISDIR ? "is a directory" : uv_strerror(err);

      if (!from_stdin)
        say("cannot read '%s': %s", cfg->input, what);
      else
        say("cannot read standard input: %s", what);
      return -1;
    }
    app->input_open = 1;
  }
  if (cfg->fetch.cacert != NULL) {
    err = check_cacert(&app->loop, cfg->fetch.cacert);
    if (err < 0) {
      say("cannot read CA file '%s': %s", cfg->fetch.cacert, uv_strerror(err));
      return -1;
    }
  }
  if (cfg->journal != NULL) {
    if (cli_journal_open(&app->journal, cfg->journal, why, sizeof(why)) < 0) {
      say("%s", why);
      return -1;
    }
    app->journal_open = 1;
  }
  if (cfg->output_dir != NULL) {
    err = cli_saver_open(&app->saver, &app->loop, cfg->output_dir);
    if (err < 0) {
      say("cannot use output directory '%s': %s", cfg->output_dir,
          uv_strerror(err));
      return -1;
    }
    app->saver_open = 1;
  }
  if (cfg->trace != NULL) {
    err = cli_trace_open(&app->trace, &app->loop, cfg->trace,
                         cfg->fetch.max_concurrent, on_trace_error);
    if (err < 0) {
      say("cannot write trace '%s': %s", cfg->trace, uv_strerror(err));
      return -1;
    }
    app->trace_open = 1;
  }
  return 0;
}

static void close_files(app_t *app) {
  if (app->trace_open)
    cli_trace_close(&app->trace);
  app->trace_open = 0;
  if (app->saver_open)
    cli_saver_close(&app->saver);
  app->saver_open = 0;
  if (app->journal_open)
    cli_journal_close(&app->journal);
  app->journal_open = 0;
}

/* The summary on standard error: with the progress line, or --stats. */
static void print_summary(app_t *app) {
  double seconds = (double)(uv_hrtime() - app->start_ns) / 1e9;

  if (app->cfg.stats) {
    cli_tally_stats(&app->tally, seconds, stderr);
    if (app->limit_on && app->cfg.fetch.adaptive)
      cli_limit_print(&app->limit, stderr);
  } else if (app->progress_on)
    cli_tally_summary(&app->tally, seconds, stderr);
  else
    return;
  /* A summary asked for and lost is an output that could not be written;
   * there is nowhere left to say so but the exit status. */
  if (fflush(stderr) != 0 || ferror(stderr))
    app->failed = 1;
}

/* Run the loop until the work is done, then close everything on it. */
static void run(app_t *app) {
  uv_run(&app->loop, UV_RUN_DEFAULT);
  /* Only the unreferenced handles are left, and whatever is closing. */
  stop_limit(app);
  close_input(app);
  close_signals(app);
  close_fetch(app);
  /* Cancelled transfers may still have bodies to remove. */
  uv_run(&app->loop, UV_RUN_DEFAULT);
  if (app->progress_on)
    cli_progress_stop(&app->progress);
  cli_outbuf_close(&app->out);
  close_files(app);
  uv_run(&app->loop, UV_RUN_DEFAULT);
  print_summary(app);
  if (app->limit_on)
    cli_limit_free(&app->limit);
  app->limit_on = 0;
}

static int exit_status(app_t *app) {
  if (app->signo != 0)
    return 128 + app->signo;
  if (app->failed || app->urls.failed || app->records.failed)
    return EXIT_FAILED;
  return EXIT_FETCHED;
}

/* Which record fields the options add. */
static unsigned record_extras(const cli_config_t *cfg) {
  unsigned extras = 0;

  if (cfg->fetch.retries > 0)
    extras |= CLI_EXTRA_ATTEMPTS;
  if (cfg->output_dir != NULL)
    extras |= CLI_EXTRA_SAVED;
  if (cfg->sha256)
    extras |= CLI_EXTRA_SHA256;
  return extras;
}

/* The records: to standard output, the journal and the trace that
 * open_files opened. */
static void wire_records(app_t *app) {
  cli_records_t *rs = &app->records;

  cli_records_init(rs, &app->format, &app->out, &app->tally, &records_hooks);
  rs->extras = app->extras;
  rs->ordered = app->cfg.fetch.ordered;
  rs->fail = app->cfg.fail;
  rs->journal = app->journal_open ? &app->journal : NULL;
  rs->trace = app->trace_open ? &app->trace : NULL;
  rs->save_dir = app->saver_open ? app->saver.dir : NULL;
}

/* The feeder: to the library, through the shard, the journal and the
 * saver. */
static void wire_urls(app_t *app) {
  const cli_config_t *cfg = &app->cfg;
  cli_urls_t *u = &app->urls;

  cli_urls_init(u, app->fetch, &app->tally, on_refused);
  u->shard = &cfg->shard;
  u->journal = app->journal_open ? &app->journal : NULL;
  u->saver = app->saver_open ? &app->saver : NULL;
  u->hashing = cfg->sha256;
  u->need_body = app->progress_on || cfg->sha256 || cfg->output_dir != NULL;
}

static int run_app(app_t *app) {
  cli_config_t *cfg = &app->cfg;
  char why[256];
  int status = EXIT_USAGE;
  int have_out = 0;
  int err;
  int i;

  app->window = cfg->fetch.max_concurrent;
  app->extras = record_extras(cfg);
  app->start_ns = uv_hrtime();
  app->stdout_tty = isatty(STDOUT_FILENO);
  app->progress_on =
      cfg->progress == 1 || (cfg->progress == -1 && isatty(STDERR_FILENO));
  if (cli_format_init(&app->format, cfg->json, cfg->write_out, app->extras, why,
                      sizeof(why)) < 0) {
    say("%s", why);
    goto done;
  }
  if (open_files(app) < 0)
    goto done;

  status = EXIT_FAILED;
  err = cli_outbuf_init(&app->out, &app->loop, STDOUT_FILENO, on_output_error);
  if (err < 0) {
    say("%s", uv_strerror(err));
    goto done;
  }
  have_out = 1;
  wire_records(app);

  cfg->fetch.data = app;
  app->fetch_ns = uv_hrtime();
  err = uvfetch_init(&app->loop, &app->fetch, &cfg->fetch, on_done);
  if (err == UVFETCH_EINVAL) {
    /* The values were checked here; what is left is libcurl refusing one,
     * and --proto is the one it knows better than we do. */
    say("options refused by libcurl (%s)%s%s%s", uvfetch_strerror(err),
        cfg->fetch.protocols != NULL
            ? "; check that it knows every scheme of --proto: "
            : "",
        cfg->fetch.protocols != NULL ? cfg->fetch.protocols : "",
        cfg->nresolves > 0 ? "; check --resolve's addresses" : "");
    status = EXIT_USAGE;
    goto done;
  }
  if (err < 0) {
    say("cannot start: %s", uvfetch_strerror(err));
    goto done;
  }
  wire_urls(app);
  err = start_signals(app);
  if (err < 0) {
    say("cannot watch signals: %s", uv_strerror(err));
    goto done;
  }
  if (app->progress_on) {
    err = cli_progress_start(&app->progress, &app->loop, STDERR_FILENO,
                             progress_counts);
    if (err < 0) {
      say("cannot start the progress line: %s", uv_strerror(err));
      app->progress_on = 0;
      goto done;
    }
    if (app->stdout_tty)
      app->records.progress = &app->progress;
  }
  err = start_limit(app);
  if (err < 0) {
    say("cannot follow the limit: %s", uv_strerror(err));
    goto done;
  }

  for (i = 0; i < cfg->nurls && !app->stopping; i++)
    cli_urls_add(&app->urls, cfg->urls[i]);
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
  if (app->progress_on)
    cli_progress_stop(&app->progress);
  if (app->limit_on) {
    cli_limit_stop(&app->limit);
    uv_run(&app->loop, UV_RUN_DEFAULT);
    cli_limit_free(&app->limit);
    app->limit_on = 0;
  }
  if (have_out)
    cli_outbuf_close(&app->out);
  close_files(app);
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

/* Descriptors that must be free for a run to start: libuv's loop takes
 * an epoll descriptor and, the first time in a process, a pipe for its
 * signal handling, and aborts the process when it cannot have that pipe;
 * then come the signal watchers' pipe, the loop's wake-up descriptor and
 * at least one for a socket. */
#define FREE_FDS_NEEDED 7

/* 0 when FREE_FDS_NEEDED descriptors can be had, else -1 after saying
 * so: a clear refusal instead of libuv's abort. */
static int check_descriptors(void) {
  int fds[FREE_FDS_NEEDED];
  struct rlimit rl;
  int n;
  int i;

  for (n = 0; n < FREE_FDS_NEEDED; n++) {
    fds[n] = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fds[n] < 0)
      break;
  }
  for (i = 0; i < n; i++)
    close(fds[i]);
  if (n == FREE_FDS_NEEDED)
    return 0;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    say("too few file descriptors: %d free under the limit of %llu "
        "(ulimit -n); uvfetch needs at least %d",
        n, (unsigned long long)rl.rlim_cur, FREE_FDS_NEEDED);
  } else {
    say("too few file descriptors: %d free; uvfetch needs at least %d", n,
        FREE_FDS_NEEDED);
  }
  return -1;
}

static int run_main(app_t *app, int argc, char **argv) {
  char err[512];
  int status;
  int rc;

  app->closed_stdio = guard_stdio();
  if (app->closed_stdio < 0)
    return EXIT_FAILED;
  if (cli_options_parse(&app->cfg, argc, argv, err, sizeof(err)) < 0) {
    /* Already escaped by the option parser. */
    fprintf(stderr, "uvfetch: %s\n", err);
    return EXIT_USAGE;
  }
  if (app->closed_stdio & (1 << STDOUT_FILENO)) {
    say("standard output is closed");
    return EXIT_USAGE;
  }
  if (app->cfg.help) {
    cli_options_usage(stdout);
    return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
  }
  if (app->cfg.version) {
    print_version();
    return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
  }

  if (check_descriptors() < 0)
    return EXIT_FAILED;
  rc = uv_loop_init(&app->loop);
  if (rc < 0) {
    say("%s", uv_strerror(rc));
    return EXIT_FAILED;
  }
  status = run_app(app);
  rc = uv_loop_close(&app->loop);
  if (rc < 0) {
    say("loop still busy at exit: %s", uv_strerror(rc));
    if (status == EXIT_FETCHED)
      status = EXIT_FAILED;
  }
  return status;
}

/* libcurl turns a non-ASCII host name into punycode (IDN, through
 * libidn2) from the bytes' character set as LC_CTYPE says, as curl does
 * after setlocale. The user's locale is used; under the plain C locale,
 * whose ASCII cannot spell such a name anyway, URLs are taken as UTF-8.
 * Nothing else in uvfetch depends on the locale. */
static void use_utf8_ctype(void) {
  const char *set = setlocale(LC_CTYPE, "");

  if (set == NULL || strcmp(nl_langinfo(CODESET), "ANSI_X3.4-1968") == 0)
    setlocale(LC_CTYPE, "C.UTF-8");
}

int main(int argc, char **argv) {
  struct sigaction sa;
  app_t app;
  int status;

  /* A closed reader shows up as EPIPE from write(2), handled where it is
   * written; libcurl is told not to touch signals (CURLOPT_NOSIGNAL). */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  use_utf8_ctype();

  /* Names are looked up on libuv's thread pool, four threads unless told
   * otherwise: too few for a crawl over many hosts whose name servers
   * take tens of milliseconds. Read when the pool first starts. */
  setenv("UV_THREADPOOL_SIZE", "16", 0);

  memset(&app, 0, sizeof(app));
  status = run_main(&app, argc, argv);
  cli_format_free(&app.format);
  cli_records_free(&app.records);
  cli_options_free(&app.cfg);
  return status;
}
