/* Results out: each result becomes a record, which waits (with -o) until
 * its body is settled on disk, then goes to the journal first, then to
 * the trace, the tally and standard output. With --ordered, records
 * leave in the order results came, which is the input order. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* curl's exit code for an HTTP error under --fail. */
#define CURLE_HTTP_RETURNED_ERROR 22

struct pending_s {
  pending_t *prev;
  pending_t *next;
  app_t *app;
  cli_record_t rec;
  int ready; /* the body is settled: the record may go */
  char *saved;
  char sha[CLI_SHA256_HEX];
  char note[160]; /* a message made here */
  char data[];    /* the URL, effective URL and message */
};

static void unlink_pending(app_t *app, pending_t *p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    app->head = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  else
    app->tail = p->prev;
  app->npending--;
}

static void write_journal(app_t *app, const cli_record_t *rec) {
  int err;

  if (!app->journal_open || app->journal_failed)
    return;
  cli_str_reset(&app->line);
  cli_format_json(rec, app->extras, &app->line);
  err = app->line.oom
            ? -12
            : cli_journal_append(&app->journal, app->line.p, app->line.len);
  if (err == 0)
    return;
  /* A journal that misses records would make the next run skip nothing
   * it should, or fetch again: stop rather than go on without it. */
  fprintf(stderr, "uvfetch: writing journal: %s\n", uv_strerror(err));
  app->journal_failed = 1;
  app->failed = 1;
  app_stop(app);
}

static void emit(app_t *app, const cli_record_t *rec) {
  if (rec->r.error != 0)
    app->failed = 1;
  cli_tally_add(&app->tally, rec);
  write_journal(app, rec);
  if (app->trace_open)
    cli_trace_record(&app->trace, rec);
  cli_str_reset(&app->line);
  cli_format_record(&app->format, rec, &app->line);
  if (app->line.oom) {
    fprintf(stderr, "uvfetch: record %llu: out of memory\n",
            (unsigned long long)rec->r.ordinal);
    app->failed = 1;
    return;
  }
  if (app->progress_on && app->stdout_tty)
    cli_progress_clear(&app->progress);
  cli_outbuf_write(&app->out, app->line.p, app->line.len);
  cli_outbuf_end_record(&app->out);
}

static void free_pending(pending_t *p) {
  free(p->saved);
  free(p);
}

/* Write what may go: in completion order, this record; in input order,
 * every ready record at the head. */
static void settle(app_t *app, pending_t *p) {
  p->ready = 1;
  if (!app->cfg.fetch.ordered) {
    unlink_pending(app, p);
    emit(app, &p->rec);
    free_pending(p);
  } else {
    while (app->head != NULL && app->head->ready) {
      p = app->head;
      unlink_pending(app, p);
      emit(app, &p->rec);
      free_pending(p);
    }
  }
  app_resume_input(app);
}

static void on_settled(cli_sink_t *k, const char *saved, int err, void *arg) {
  pending_t *p = arg;
  uvfetch_result_t *r = &p->rec.r;

  if (saved != NULL) {
    p->saved = strdup(saved);
    if (p->saved == NULL)
      err = UV_ENOMEM;
    p->rec.saved = p->saved;
  }
  if (err != 0 && (r->error == 0 || r->error == UVFETCH_EWRITE)) {
    snprintf(p->note, sizeof(p->note), "cannot save the body in %s: %s",
             p->app->saver.dir, uv_strerror(err));
    r->error = UVFETCH_EWRITE;
    r->message = p->note;
  }
  settle(p->app, p);
}

/* A record that owns copies of the result's strings. A refused input line
 * shows its own text and reason, not the stand-in URL's. */
static pending_t *new_pending(app_t *app, const job_t *job,
                              const uvfetch_result_t *r) {
  const char *url = r->url != NULL ? r->url : "";
  const char *eff = r->effective_url != NULL ? r->effective_url : url;
  const char *msg = r->message != NULL ? r->message : "";
  size_t ulen;
  size_t elen;
  size_t mlen;
  pending_t *p;
  char *d;

  if (job->refused) {
    url = job->text;
    eff = job->text;
    msg = job->reason;
    ulen = job->len;
    elen = job->len;
  } else {
    ulen = strlen(url);
    elen = strlen(eff);
  }
  mlen = strlen(msg);
  p = calloc(1, sizeof(*p) + ulen + elen + mlen + 3);
  if (p == NULL)
    return NULL;
  p->app = app;
  p->rec.r = *r;
  p->rec.r.url = NULL;
  p->rec.r.effective_url = NULL;
  p->rec.r.data = NULL;
  p->rec.r.ordinal = job->ordinal;
  d = p->data;
  memcpy(d, url, ulen);
  p->rec.url.p = d;
  p->rec.url.n = ulen;
  d += ulen + 1;
  memcpy(d, eff, elen);
  p->rec.effective_url.p = d;
  p->rec.effective_url.n = elen;
  d += elen + 1;
  memcpy(d, msg, mlen);
  p->rec.r.message = d;
  if (job->refused) {
    p->rec.r.ok = 0;
    if (r->error != UVFETCH_ECANCELED)
      p->rec.r.error = UVFETCH_EURL;
  }
  return p;
}

void app_record(app_t *app, job_t *job, const uvfetch_result_t *r) {
  pending_t *p = new_pending(app, job, r);
  uvfetch_result_t *pr;
  unsigned char digest[CLI_SHA256_SIZE];
  cli_sink_t *sink = job->sink;

  job->sink = NULL;
  if (p == NULL) {
    fprintf(stderr, "uvfetch: record %llu: out of memory\n",
            (unsigned long long)job->ordinal);
    app->failed = 1;
    if (sink != NULL)
      cli_sink_finish(sink, 0, NULL, NULL);
    return;
  }
  pr = &p->rec.r;
  if (app->cfg.fail && pr->ok && pr->error == 0 && pr->http_code >= 400) {
    pr->error = UVFETCH_EHTTP;
    pr->curl_code = CURLE_HTTP_RETURNED_ERROR;
    snprintf(p->note, sizeof(p->note), "The requested URL returned error: %ld",
             pr->http_code);
    pr->message = p->note;
  }
  if (job->hashing && pr->ok) {
    cli_sha256_final(&job->sha, digest);
    cli_sha256_hex(digest, p->sha);
    p->rec.sha256 = p->sha;
  }
  p->prev = app->tail;
  if (app->tail != NULL)
    app->tail->next = p;
  else
    app->head = p;
  app->tail = p;
  app->npending++;
  if (sink == NULL) {
    settle(app, p);
    return;
  }
  /* The sink may settle at once and write the record before this
   * returns: p is not touched after. */
  cli_sink_finish(sink, pr->ok && pr->error == 0, on_settled, p);
}

void app_on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  app_t *app = uvfetch_get_data(f);
  job_t *job = r->data;

  app_record(app, job, r);
  app_free_job(job);
  app_resume_input(app);
}
