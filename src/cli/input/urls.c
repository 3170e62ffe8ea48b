/* The feeder: input URLs to the library, each with its job, unless the
 * shard or the journal leaves it out. See urls.h. Calls down only: the
 * library, shard, journal, saver, SHA-256 and tally; a result made here
 * goes up through on_result. */
#include "input/urls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of an overlong input line a record shows. */
#define SHOWN_MAX 256

void cli_urls_init(cli_urls_t *u, uvfetch_t *fetch, cli_tally_t *tally,
                   cli_urls_result_cb on_result) {
  memset(u, 0, sizeof(*u));
  u->fetch = fetch;
  u->tally = tally;
  u->on_result = on_result;
}

void cli_urls_free_job(cli_job_t *job) {
  cli_sha256_free(&job->sha);
  free(job);
}

const char *cli_urls_digest(cli_job_t *job, char hex[CLI_SHA256_HEX]) {
  unsigned char digest[CLI_SHA256_SIZE];

  if (!job->hashing)
    return NULL;
  cli_sha256_final(&job->sha, digest);
  cli_sha256_hex(digest, hex);
  return hex;
}

/* The body hook: count, hash and save the bytes. A retry first says
 * (NULL, 0): the body starts over. */
static int on_body(uvfetch_t *f, void *data, const char *buf, size_t len) {
  cli_job_t *job = data;

  if (buf == NULL) {
    /* Starting over reuses the digest's memory; should libcrypto still
     * fail, the record goes without a digest rather than a wrong one. */
    if (job->hashing && cli_sha256_init(&job->sha) < 0)
      job->hashing = 0;
    if (job->sink != NULL)
      cli_sink_restart(job->sink);
    return 0;
  }
  job->urls->body_bytes += len;
  if (job->hashing)
    cli_sha256_update(&job->sha, buf, len);
  if (job->sink != NULL && cli_sink_write(job->sink, buf, len) < 0)
    return 1;
  return 0;
}

/* A job for the URL whose bytes are text[0..len). */
static cli_job_t *new_job(cli_urls_t *u, uint64_t ordinal, const char *text,
                          size_t len, int refused) {
  size_t keep = refused ? len : 0;
  cli_job_t *job = calloc(1, sizeof(*job) + keep + 3);

  if (job == NULL)
    return NULL;
  job->urls = u;
  job->ordinal = ordinal;
  job->refused = refused;
  if (refused) {
    memcpy(job->text, text, keep);
    job->len = keep;
  }
  if (u->hashing) {
    job->hashing = 1;
    if (cli_sha256_init(&job->sha) < 0) {
      free(job);
      return NULL;
    }
  }
  if (u->saver != NULL && !refused) {
    job->sink = cli_sink_new(u->saver, text, len);
    if (job->sink == NULL) {
      cli_urls_free_job(job);
      return NULL;
    }
  }
  return job;
}

/* Is the URL text[0..len) for this run? One not in this run's shard, or
 * done in the journal, makes no record; both are counted. */
static int wanted(cli_urls_t *u, const char *text, size_t len, int refused) {
  if (u->shard != NULL && !cli_shard_mine(u->shard, text, len)) {
    u->tally->other_shard++;
    return 0;
  }
  if (!refused && u->journal != NULL &&
      cli_journal_done(u->journal, text, len)) {
    u->tally->skipped++;
    return 0;
  }
  return 1;
}

/* Hand a job to the library. It accepts every URL (an invalid one comes
 * back as a failure record in its turn) unless it cannot: then no
 * callback will come, so the record is made here. */
static void submit(cli_urls_t *u, cli_job_t *job, const char *url) {
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  uvfetch_result_t r;
  int err;

  req.url = url;
  req.data = job;
  req.flags = UVFETCH_ADD_REPORT_INVALID;
  if (u->need_body)
    req.on_body = on_body;
  err = uvfetch_submit(u->fetch, &req, NULL);
  if (err == 0)
    return;
  memset(&r, 0, sizeof(r));
  r.url = url;
  r.effective_url = url;
  r.data = job;
  r.error = err;
  r.message = uvfetch_strerror(err);
  u->on_result(u, job, &r);
  cli_urls_free_job(job);
}

static void out_of_memory(cli_urls_t *u, uint64_t ordinal) {
  fprintf(stderr, "uvfetch: URL %llu: out of memory\n",
          (unsigned long long)ordinal);
  u->failed = 1;
}

void cli_urls_add(cli_urls_t *u, const char *url) {
  uint64_t ordinal = u->next_ordinal++;
  size_t len = strlen(url);
  cli_job_t *job;

  if (!wanted(u, url, len, 0))
    return;
  job = new_job(u, ordinal, url, len, 0);
  if (job == NULL) {
    out_of_memory(u, ordinal);
    return;
  }
  submit(u, job, url);
}

static void add_refused(cli_urls_t *u, const cli_line_t *line) {
  uint64_t ordinal = u->next_ordinal++;
  size_t keep = line->len;
  cli_job_t *job;

  if (!wanted(u, line->text, line->len, 1))
    return;
  if (line->kind == CLI_LINE_TOO_LONG && keep > SHOWN_MAX)
    keep = SHOWN_MAX;
  job = new_job(u, ordinal, line->text, keep, 1);
  if (job == NULL) {
    out_of_memory(u, ordinal);
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
  submit(u, job, "");
}

void cli_urls_add_line(cli_urls_t *u, const cli_line_t *line) {
  u->input_urls++;
  if (line->kind == CLI_LINE_URL)
    cli_urls_add(u, line->text);
  else
    add_refused(u, line);
}
