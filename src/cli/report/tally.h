/* The run's numbers: records by outcome, by HTTP status class and by
 * error, bytes, attempts; and the summary written from them at the end.
 * Pure counting; printing goes to the FILE given.
 */
#ifndef UVFETCH_CLI_TALLY_H
#define UVFETCH_CLI_TALLY_H

#include <stdint.h>
#include <stdio.h>

#include "record/record.h"

#define CLI_TALLY_ERRORS 32 /* distinct error codes counted by name */

typedef struct cli_tally_s {
  uint64_t records;     /* records made */
  uint64_t failed;      /* of those, with an error */
  uint64_t skipped;     /* left out: done in the journal */
  uint64_t other_shard; /* left out: another shard's */
  uint64_t bytes;       /* decoded body bytes of all records */
  uint64_t wire_bytes;
  uint64_t attempts;
  uint64_t retries;   /* attempts past each URL's first */
  uint64_t status[7]; /* no response, 1xx, 2xx, 3xx, 4xx, 5xx, other */
  struct {
    int code;
    uint64_t count;
  } errors[CLI_TALLY_ERRORS];
  unsigned nerrors;
  uint64_t other_errors; /* past CLI_TALLY_ERRORS distinct codes */
  /* The library's name lookups, set once the run ends. */
  uint64_t dns_lookups;
  uint64_t dns_hits;
  uint64_t dns_failures;
} cli_tally_t;

void cli_tally_add(cli_tally_t *t, const cli_record_t *rec);

/* One line: counts, bytes, time and rate. */
void cli_tally_summary(const cli_tally_t *t, double seconds, FILE *out);

/* The summary line and the breakdowns of --stats. */
void cli_tally_stats(const cli_tally_t *t, double seconds, FILE *out);

/* n bytes for a person: "950 B", "12.3 kB", "4.1 MB" (powers of 1000). */
void cli_tally_bytes(double n, char *buf, size_t len);

#endif /* UVFETCH_CLI_TALLY_H */
