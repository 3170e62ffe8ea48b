/* The command's state, shared by its three parts: main.c (setting up,
 * running and tearing down the loop), urls.c (URLs in: filters, the body
 * hook, backpressure) and records.c (results out: one record per URL to
 * the journal, the trace and standard output).
 */
#ifndef UVFETCH_CLI_APP_H
#define UVFETCH_CLI_APP_H

#include <stdint.h>

#include <uv.h>

#include "input/input.h"
#include "input/journal.h"
#include "options.h"
#include "util/outbuf.h"
#include "record/output.h"
#include "report/progress.h"
#include "record/record.h"
#include "save/save.h"
#include "util/sha256.h"
#include "util/str.h"
#include "report/tally.h"
#include "report/trace.h"
#include "uvfetch.h"

typedef struct pending_s pending_t;

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
  uint64_t window;  /* pause the input when this many URLs wait */
  int stopping;     /* stopped early: a signal, or an output went away */
  int signo;        /* the signal that stopped us, or 0 */
  int failed;       /* some record was a failure, or I/O broke */
  int closed_stdio; /* bit n: descriptor n was closed at start */

  uint64_t next_ordinal; /* the input position of the next URL */
  uint64_t input_urls;   /* URLs (and bad lines) read from the input */
  int need_body;         /* transfers need the body hook */
  unsigned extras;       /* CLI_EXTRA_* of JSON records and the journal */
  cli_journal_t journal;
  int journal_open;
  int journal_failed;
  cli_trace_t trace;
  int trace_open;
  cli_saver_t saver;
  int saver_open;
  cli_progress_t progress;
  int progress_on;
  int stdout_tty;
  cli_tally_t tally;
  uint64_t start_ns;
  uint64_t body_bytes; /* received so far, for the progress line */
  cli_str_t line;      /* a record being built */
  pending_t *head;     /* records waiting for their body to settle */
  pending_t *tail;
  uint64_t npending;
} app_t;

/* What the command keeps per URL while the library has it. */
typedef struct job_s {
  app_t *app;
  uint64_t ordinal; /* its position in the input */
  cli_sink_t *sink; /* -o: where its body goes */
  int hashing;      /* --sha256 */
  cli_sha256_t sha;
  /* An input line the library cannot be given as it is (too long, or
   * with a NUL byte): an always-invalid URL stands in for it, and its
   * record shows this text and reason. */
  int refused;
  char reason[96];
  size_t len;
  char text[]; /* len bytes, not NUL-terminated */
} job_t;

/* urls.c */
void app_add_url(app_t *app, const char *url);
void app_add_line(app_t *app, const cli_line_t *line);
int app_queue_full(app_t *app);
void app_resume_input(app_t *app);
void app_free_job(job_t *job);

/* records.c */
void app_on_done(uvfetch_t *f, const uvfetch_result_t *r);
void app_record(app_t *app, job_t *job, const uvfetch_result_t *r);

/* main.c */
void app_stop(app_t *app);

#endif /* UVFETCH_CLI_APP_H */
