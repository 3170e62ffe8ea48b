/* URLs in: every input URL gets its ordinal, the shard and the journal
 * may leave it out, and the rest go to the library with what the command
 * keeps per URL. Input is read only while few URLs wait, so memory does
 * not grow with the input. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of an overlong input line a record shows. */
#define SHOWN_MAX 256

void app_free_job(job_t *job) {
  free(job);
}

/* The body hook: count, hash and save the bytes. A retry first says
 * (NULL, 0): the body starts over. */
static int on_body(uvfetch_t *f, void *data, const char *buf, size_t len) {
  job_t *job = data;

  if (buf == NULL) {
    if (job->hashing)
      cli_sha256_init(&job->sha);
    if (job->sink != NULL)
      cli_sink_restart(job->sink);
    return 0;
  }
  job->app->body_bytes += len;
  if (job->hashing)
    cli_sha256_update(&job->sha, buf, len);
  if (job->sink != NULL && cli_sink_write(job->sink, buf, len) < 0)
    return 1;
  return 0;
}

/* A job for the URL whose bytes are text[0..len). */
static job_t *new_job(app_t *app, uint64_t ordinal, const char *text,
                      size_t len, int refused) {
  size_t keep = refused ? len : 0;
  job_t *job = calloc(1, sizeof(*job) + keep + 3);

  if (job == NULL)
    return NULL;
  job->app = app;
  job->ordinal = ordinal;
  job->refused = refused;
  if (refused) {
    memcpy(job->text, text, keep);
    job->len = keep;
  }
  if (app->cfg.sha256) {
    job->hashing = 1;
    cli_sha256_init(&job->sha);
  }
  if (app->saver_open && !refused) {
    job->sink = cli_sink_new(&app->saver, text, len);
    if (job->sink == NULL) {
      free(job);
      return NULL;
    }
  }
  return job;
}

/* Is the URL text[0..len) for this run? One not in this run's shard, or
 * done in the journal, makes no record; both are counted. */
static int wanted(app_t *app, const char *text, size_t len, int refused) {
  if (!cli_shard_mine(&app->cfg.shard, text, len)) {
    app->tally.other_shard++;
    return 0;
  }
  if (!refused && app->journal_open &&
      cli_journal_done(&app->journal, text, len)) {
    app->tally.skipped++;
    return 0;
  }
  return 1;
}

/* Hand a job to the library. It accepts every URL (an invalid one comes
 * back as a failure record in its turn) unless it cannot: then no
 * callback will come, so the record is made here. */
static void submit(app_t *app, job_t *job, const char *url) {
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_result_t r;
  int err;

  req.url = url;
  req.data = job;
  req.flags = UVFETCH_ADD_REPORT_INVALID;
  if (app->need_body)
    req.on_body = on_body;
  err = uvfetch_submit(app->fetch, &req, NULL);
  if (err == 0)
    return;
  memset(&r, 0, sizeof(r));
  r.url = url;
  r.effective_url = url;
  r.data = job;
  r.error = err;
  r.message = uvfetch_strerror(err);
  app_record(app, job, &r);
  app_free_job(job);
}

static void out_of_memory(app_t *app, uint64_t ordinal) {
  fprintf(stderr, "uvfetch: URL %llu: out of memory\n",
          (unsigned long long)ordinal);
  app->failed = 1;
}

void app_add_url(app_t *app, const char *url) {
  uint64_t ordinal = app->next_ordinal++;
  size_t len = strlen(url);
  job_t *job;

  if (!wanted(app, url, len, 0))
    return;
  job = new_job(app, ordinal, url, len, 0);
  if (job == NULL) {
    out_of_memory(app, ordinal);
    return;
  }
  submit(app, job, url);
}

static void add_refused(app_t *app, const cli_line_t *line) {
  uint64_t ordinal = app->next_ordinal++;
  size_t keep = line->len;
  job_t *job;

  if (!wanted(app, line->text, line->len, 1))
    return;
  if (line->kind == CLI_LINE_TOO_LONG && keep > SHOWN_MAX)
    keep = SHOWN_MAX;
  job = new_job(app, ordinal, line->text, keep, 1);
  if (job == NULL) {
    out_of_memory(app, ordinal);
    return;
  }
  if (line->kind == CLI_LINE_TOO_LONG) {
    memcpy(job->text + keep, "...", 3);
    job->len += 3;
    snprintf(job->reason, sizeof(job->reason),
             "input line %llu is longer than %d bytes",
             (unsigned long long)line->lineno, CLI_LINE_MAX);
  } else {
    snprintf(job->reason, sizeof(job->reason),
             "input line %llu contains a NUL byte",
             (unsigned long long)line->lineno);
  }
  /* The empty string is never a URL: the library reports it, in turn. */
  submit(app, job, "");
}

void app_add_line(app_t *app, const cli_line_t *line) {
  app->input_urls++;
  if (line->kind == CLI_LINE_URL)
    app_add_url(app, line->text);
  else
    add_refused(app, line);
}

/* URLs waiting to start, waiting to retry, and records waiting for their
 * body to reach the disk all count: none of them should pile up. */
int app_queue_full(app_t *app) {
  uvfetch_stats_t stats;

  uvfetch_get_stats(app->fetch, &stats);
  return stats.queued + stats.waiting + app->npending >= app->window;
}

void app_resume_input(app_t *app) {
  if (app->input_open && !app->stopping && !app_queue_full(app))
    cli_input_resume(&app->input);
}
