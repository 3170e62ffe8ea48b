/* Results out: each result becomes a record, which waits (with -o) until
 * its body is settled on disk, then goes to the journal first, then to the
 * trace, the tally and standard output. With --ordered, records leave in
 * the order results came, which is the input order.
 *
 * It calls down only: the formats (record/), the journal, the saver's
 * sinks, the trace, tally and progress line (report/) and the buffered
 * writer. What the caller must act on goes up through the hooks: a record
 * left (the input may be read again), and a journal that cannot be
 * written (the run must stop).
 */
#ifndef UVFETCH_CLI_RECORDS_H
#define UVFETCH_CLI_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "input/journal.h"
#include "record/output.h"
#include "report/progress.h"
#include "report/tally.h"
#include "report/trace.h"
#include "save/save.h"
#include "util/outbuf.h"
#include "util/str.h"
#include "uvfetch.h"

typedef struct cli_records_s cli_records_t;
typedef struct cli_pending_s cli_pending_t;

/* What a record is made of: the library's result and what the command
 * kept for its URL. */
typedef struct cli_outcome_s {
  const uvfetch_result_t *r;
  uint64_t ordinal; /* the URL's position in the input */
  /* An input line that could not be a URL: its text and reason replace
   * the stand-in URL's. text is NULL for any other URL. */
  const char *text;
  size_t len;
  const char *reason;
  const char *sha256; /* the body's digest in hex (copied), or NULL */
  cli_sink_t *sink;   /* -o: where the body went (handed over), or NULL */
} cli_outcome_t;

typedef struct cli_records_hooks_s {
  /* A record was written (or given up): fewer records wait. */
  void (*on_settled)(cli_records_t *rs);
  /* The journal could not be written; a message was printed. */
  void (*on_journal_error)(cli_records_t *rs);
} cli_records_hooks_t;

struct cli_records_s {
  const cli_format_t *format;
  cli_outbuf_t *out;
  unsigned extras; /* CLI_EXTRA_* of JSON records and the journal */
  int ordered;     /* --ordered: input order */
  int fail;        /* -f: HTTP status >= 400 is a failure */
  cli_tally_t *tally;
  cli_journal_t *journal;   /* or NULL */
  cli_trace_t *trace;       /* or NULL */
  cli_progress_t *progress; /* a progress line on the same terminal as
                               the records, erased before each; or NULL */
  const char *save_dir;     /* for messages about bodies not saved */
  const cli_records_hooks_t *hooks;
  int journal_failed;
  int failed;          /* some record was a failure */
  cli_str_t line;      /* a record being built */
  cli_pending_t *head; /* records waiting for their body to settle */
  cli_pending_t *tail;
  uint64_t npending;
  void *data; /* the caller's */
};

/* Write records in `format` to `out`, counting into `tally`. The optional
 * members (extras, ordered, fail, journal, trace, progress, save_dir) are
 * 0 until the caller sets them. */
void cli_records_init(cli_records_t *rs, const cli_format_t *format,
                      cli_outbuf_t *out, cli_tally_t *tally,
                      const cli_records_hooks_t *hooks);

/* Make the record of one URL; it is written now, or once its body is
 * settled (and, with --ordered, those before it are written). */
void cli_records_add(cli_records_t *rs, const cli_outcome_t *o);

/* Free what is left. Every record must have settled. */
void cli_records_free(cli_records_t *rs);

#endif /* UVFETCH_CLI_RECORDS_H */
