/* One finished URL as the command shows it: the library's result, with
 * what the command adds (the saved file, the body's digest) and the URL
 * as the input had it. Plain data; every pointer lives as long as the
 * record.
 */
#ifndef UVFETCH_CLI_RECORD_H
#define UVFETCH_CLI_RECORD_H

#include <stddef.h>

#include "uvfetch.h"

/* Bytes of any value, NUL included. */
typedef struct cli_bytes_s {
  const char *p;
  size_t n;
} cli_bytes_t;

typedef struct cli_record_s {
  /* The result. r.ordinal is the URL's 0-based position in the input,
   * counting every URL given (also those a shard or journal leaves out);
   * r.error is also set for an HTTP error under --fail and for a body
   * that could not be saved. r.url, r.effective_url and r.data are not
   * used: see url and effective_url. */
  uvfetch_result_t r;
  cli_bytes_t url;           /* as given; may hold any byte */
  cli_bytes_t effective_url; /* after redirects */
  const char *saved;         /* where the body was saved, or NULL */
  const char *sha256;        /* the body's SHA-256 in hex, or NULL */
} cli_record_t;

#endif /* UVFETCH_CLI_RECORD_H */
