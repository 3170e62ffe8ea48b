/* Results out: a result becomes a record, held until its body settles,
 * then written to the journal, trace, tally and standard output. See
 * records.h. Calls down only; the caller hears back through the hooks. */
#include "record/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

/* curl's exit code for an HTTP error under --fail. */
#define CURLE_HTTP_RETURNED_ERROR 22

struct cli_pending_s {
  cli_pending_t *prev;
  cli_pending_t *next;
  cli_records_t *rs;
  cli_record_t rec;
  int ready; /* the body is settled: the record may go */
  char *saved;
  char sha[CLI_SHA256_HEX];
  char note[160]; /* a message made here */
  char data[];    /* the URL, effective URL and message */
};

static void unlink_pending(cli_records_t *rs, cli_pending_t *p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    rs->head = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  else
    rs->tail = p->prev;
  rs->npending--;
}

static void write_journal(cli_records_t *rs, const cli_record_t *rec) {
  int err;

  if (rs->journal == NULL || rs->journal_failed)
    return;
  cli_str_reset(&rs->line);
  cli_format_json(rec, rs->extras, &rs->line);
  err = rs->line.oom
            ? -12
            : cli_journal_append(rs->journal, rs->line.p, rs->line.len);
  if (err == 0)
    return;
  /* A journal that misses records would make the next run skip nothing
   * it should, or fetch again: stop rather than go on without it. */
  fprintf(stderr, "uvfetch: writing journal: %s\n", uv_strerror(err));
  rs->journal_failed = 1;
  rs->failed = 1;
  rs->hooks->on_journal_error(rs);
}

static void emit(cli_records_t *rs, const cli_record_t *rec) {
  if (rec->r.error != 0)
    rs->failed = 1;
  cli_tally_add(rs->tally, rec);
  write_journal(rs, rec);
  if (rs->trace != NULL)
    cli_trace_record(rs->trace, rec);
  cli_str_reset(&rs->line);
  cli_format_record(rs->format, rec, &rs->line);
  if (rs->line.oom) {
    fprintf(stderr, "uvfetch: record %llu: out of memory\n",
            (unsigned long long)rec->r.ordinal);
    rs->failed = 1;
    return;
  }
  if (rs->progress != NULL)
    cli_progress_clear(rs->progress);
  cli_outbuf_write(rs->out, rs->line.p, rs->line.len);
  cli_outbuf_end_record(rs->out);
}

static void free_pending(cli_pending_t *p) {
  free(p->saved);
  free(p);
}

/* Write what may go: in completion order, this record; in input order,
 * every ready record at the head. */
static void settle(cli_records_t *rs, cli_pending_t *p) {
  p->ready = 1;
  if (!rs->ordered) {
    unlink_pending(rs, p);
    emit(rs, &p->rec);
    free_pending(p);
  } else {
    while (rs->head != NULL && rs->head->ready) {
      p = rs->head;
      unlink_pending(rs, p);
      emit(rs, &p->rec);
      free_pending(p);
    }
  }
  rs->hooks->on_settled(rs);
}

static void on_settled(cli_sink_t *k, const char *saved, int err, void *arg) {
  cli_pending_t *p = arg;
  uvfetch_result_t *r = &p->rec.r;

  if (saved != NULL) {
    p->saved = strdup(saved);
    if (p->saved == NULL)
      err = UV_ENOMEM;
    p->rec.saved = p->saved;
  }
  if (err != 0 && (r->error == 0 || r->error == UVFETCH_EWRITE)) {
    snprintf(p->note, sizeof(p->note), "cannot save the body in %s: %s",
             p->rs->save_dir, uv_strerror(err));
    r->error = UVFETCH_EWRITE;
    r->message = p->note;
  }
  settle(p->rs, p);
}

/* A record that owns copies of the result's strings. A refused input line
 * shows its own text and reason, not the stand-in URL's. */
static cli_pending_t *new_pending(cli_records_t *rs, const cli_outcome_t *o) {
  const uvfetch_result_t *r = o->r;
  const char *url = r->url != NULL ? r->url : "";
  const char *eff = r->effective_url != NULL ? r->effective_url : url;
  const char *msg = r->message != NULL ? r->message : "";
  size_t ulen;
  size_t elen;
  size_t mlen;
  cli_pending_t *p;
  char *d;

  if (o->text != NULL) {
    url = o->text;
    eff = o->text;
    msg = o->reason;
    ulen = o->len;
    elen = o->len;
  } else {
    ulen = strlen(url);
    elen = strlen(eff);
  }
  mlen = strlen(msg);
  p = calloc(1, sizeof(*p) + ulen + elen + mlen + 3);
  if (p == NULL)
    return NULL;
  p->rs = rs;
  p->rec.r = *r;
  p->rec.r.url = NULL;
  p->rec.r.effective_url = NULL;
  p->rec.r.data = NULL;
  p->rec.r.ordinal = o->ordinal;
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
  if (o->text != NULL) {
    p->rec.r.ok = 0;
    if (r->error != UVFETCH_ECANCELED)
      p->rec.r.error = UVFETCH_EURL;
  }
  return p;
}

void cli_records_init(cli_records_t *rs, const cli_format_t *format,
                      cli_outbuf_t *out, cli_tally_t *tally,
                      const cli_records_hooks_t *hooks) {
  memset(rs, 0, sizeof(*rs));
  rs->format = format;
  rs->out = out;
  rs->tally = tally;
  rs->hooks = hooks;
}

void cli_records_free(cli_records_t *rs) {
  cli_str_free(&rs->line);
}

void cli_records_add(cli_records_t *rs, const cli_outcome_t *o) {
  cli_pending_t *p = new_pending(rs, o);
  uvfetch_result_t *pr;

  if (p == NULL) {
    fprintf(stderr, "uvfetch: record %llu: out of memory\n",
            (unsigned long long)o->ordinal);
    rs->failed = 1;
    if (o->sink != NULL)
      cli_sink_finish(o->sink, 0, NULL, NULL);
    return;
  }
  pr = &p->rec.r;
  if (rs->fail && pr->ok && pr->error == 0 && pr->http_code >= 400) {
    pr->error = UVFETCH_EHTTP;
    pr->curl_code = CURLE_HTTP_RETURNED_ERROR;
    snprintf(p->note, sizeof(p->note), "The requested URL returned error: %ld",
             pr->http_code);
    pr->message = p->note;
  }
  if (o->sha256 != NULL && pr->ok) {
    memcpy(p->sha, o->sha256, CLI_SHA256_HEX);
    p->rec.sha256 = p->sha;
  }
  p->prev = rs->tail;
  if (rs->tail != NULL)
    rs->tail->next = p;
  else
    rs->head = p;
  rs->tail = p;
  rs->npending++;
  if (o->sink == NULL) {
    settle(rs, p);
    return;
  }
  /* The sink may settle at once and write the record before this
   * returns: p is not touched after. */
  cli_sink_finish(o->sink, pr->ok && pr->error == 0, on_settled, p);
}
