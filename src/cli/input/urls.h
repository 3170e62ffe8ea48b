/* The feeder: every input URL gets its ordinal, the shard and the journal
 * may leave it out, and the rest go to the library with a job, what the
 * command keeps per URL while the library has it (the body's sink and
 * digest, or the text of an input line that cannot be a URL).
 *
 * It calls down only: the library, the shard and journal (input/), the
 * saver (save/), SHA-256 and the tally. What a URL came to goes up: the
 * library's done callback carries the job (result.data) to the caller,
 * and a URL the library could not take comes back through on_result.
 */
#ifndef UVFETCH_CLI_URLS_H
#define UVFETCH_CLI_URLS_H

#include <stddef.h>
#include <stdint.h>

#include "input/journal.h"
#include "input/lines.h"
#include "input/shard.h"
#include "report/tally.h"
#include "save/save.h"
#include "util/sha256.h"
#include "uvfetch.h"

typedef struct cli_urls_s cli_urls_t;

/* What the command keeps per URL while the library has it. */
typedef struct cli_job_s {
  cli_urls_t *urls;
  uint64_t ordinal; /* its position in the input */
  cli_sink_t *sink; /* -o: where its body goes; the taker of the result
                       takes it and sets this to NULL */
  int hashing;      /* --sha256 */
  cli_sha256_t sha;
  /* An input line the library cannot be given as it is (too long, or
   * with a NUL byte): an always-invalid URL stands in for it, and its
   * record shows this text and reason. */
  int refused;
  char reason[96];
  size_t len;
  char text[]; /* len bytes, not NUL-terminated */
} cli_job_t;

/* The library could not take the job's URL: r is the result made here.
 * The job is freed after the call. */
typedef void (*cli_urls_result_cb)(cli_urls_t *u, cli_job_t *job,
                                   const uvfetch_result_t *r);

struct cli_urls_s {
  uvfetch_t *fetch;
  cli_tally_t *tally;       /* counts what the shard and journal leave */
  const cli_shard_t *shard; /* or NULL */
  cli_journal_t *journal;   /* URLs done in it are left out; or NULL */
  cli_saver_t *saver;       /* -o: a sink per URL; or NULL */
  int hashing;              /* --sha256 */
  int need_body;            /* give the library the body hook */
  uint64_t next_ordinal;    /* the input position of the next URL */
  uint64_t input_urls;      /* URLs (and bad lines) read from the input */
  uint64_t body_bytes;      /* received so far */
  int failed;               /* a URL was lost for want of memory */
  cli_urls_result_cb on_result;
  void *data; /* the caller's */
};

/* Feed `fetch`, counting into `tally`. The optional members (shard,
 * journal, saver, hashing, need_body) are 0 until the caller sets them. */
void cli_urls_init(cli_urls_t *u, uvfetch_t *fetch, cli_tally_t *tally,
                   cli_urls_result_cb on_result);

/* A URL from the command line. */
void cli_urls_add(cli_urls_t *u, const char *url);

/* A line from the input: a URL, or a line that cannot be one. */
void cli_urls_add_line(cli_urls_t *u, const cli_line_t *line);

/* Free a job once its result has been taken. */
void cli_urls_free_job(cli_job_t *job);

/* The job's body digest in hex into `hex`, when it was hashed. Returns
 * `hex`, or NULL when --sha256 is off. Call once, after the body ended. */
const char *cli_urls_digest(cli_job_t *job, char hex[CLI_SHA256_HEX]);

#endif /* UVFETCH_CLI_URLS_H */
