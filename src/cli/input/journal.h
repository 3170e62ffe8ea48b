/* --journal FILE: every record, as one JSON line, appended to FILE as it
 * is made, and read back at the start of the next run so that the URLs
 * it shows done are not fetched again.
 *
 * A URL is done when one of its records has "error": null: fetched, not
 * failed by --fail, and saved when saving. Failed URLs are tried again on
 * the next run, as a user of curl --retry would expect. Reading tolerates
 * a torn last line (a run killed mid-write): it is cut off, so the next
 * record starts a line of its own, and its URL counts as not done. Lines
 * that are not such records are skipped. The journal is locked while a
 * run uses it, so two runs cannot interleave their lines.
 *
 * The set of done URLs is the one thing in the command that grows with
 * its input: 16 bytes per URL (see urlset.h).
 */
#ifndef UVFETCH_CLI_JOURNAL_H
#define UVFETCH_CLI_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "input/urlset.h"

typedef struct cli_journal_s {
  int fd;
  cli_urlset_t done;
  uint64_t records; /* records read back */
  uint64_t skipped; /* lines read back that were not records */
  uint64_t torn;    /* bytes of a torn last line cut off */
} cli_journal_t;

/* Open (or create) the journal at `path`, lock it, and read the URLs it
 * shows done. Returns 0, or -1 after writing a reason into err. Reading
 * is done now, before the loop runs: it is the run's starting point. */
int cli_journal_open(cli_journal_t *j, const char *path, char *err,
                     size_t errlen);

/* 1 when url[0..n) was done in an earlier run. */
int cli_journal_done(const cli_journal_t *j, const char *url, size_t n);

/* Append one record line (newline included) with a single write, so a
 * line is on disk whole before the record is shown elsewhere. Returns 0
 * or a negative errno. */
int cli_journal_append(cli_journal_t *j, const char *line, size_t n);

void cli_journal_close(cli_journal_t *j);

#endif /* UVFETCH_CLI_JOURNAL_H */
