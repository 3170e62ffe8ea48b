/* The run's numbers and the summary made from them. See tally.h. Pure
 * counting; calls only stdio and uvfetch_err_name. */
#include "report/tally.h"

#include <inttypes.h>

void cli_tally_add(cli_tally_t *t, const cli_record_t *rec) {
  const uvfetch_result_t *r = &rec->r;
  long cls = r->http_code / 100;
  unsigned i;

  t->records++;
  t->bytes += r->bytes;
  t->wire_bytes += r->wire_bytes;
  t->attempts += r->attempts;
  if (r->attempts > 1)
    t->retries += r->attempts - 1;
  if (r->http_code == 0)
    t->status[0]++;
  else if (cls >= 1 && cls <= 5)
    t->status[cls]++;
  else
    t->status[6]++;
  if (r->error == 0)
    return;
  t->failed++;
  for (i = 0; i < t->nerrors; i++) {
    if (t->errors[i].code == r->error) {
      t->errors[i].count++;
      return;
    }
  }
  if (t->nerrors == CLI_TALLY_ERRORS) {
    t->other_errors++;
    return;
  }
  t->errors[t->nerrors].code = r->error;
  t->errors[t->nerrors].count = 1;
  t->nerrors++;
}

void cli_tally_bytes(double n, char *buf, size_t len) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;

  while (n >= 1000.0 && u < 5) {
    n /= 1000.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, len, "%.0f %s", n, units[u]);
  else
    snprintf(buf, len, "%.1f %s", n, units[u]);
}

void cli_tally_summary(const cli_tally_t *t, double seconds, FILE *out) {
  char size[32];
  char rate[32];

  cli_tally_bytes((double)t->bytes, size, sizeof(size));
  cli_tally_bytes(seconds > 0 ? (double)t->bytes / seconds : 0.0, rate,
                  sizeof(rate));
  fprintf(out,
          "uvfetch: %" PRIu64 " URLs in %.2f s: %" PRIu64 " ok, %" PRIu64
          " failed",
          t->records + t->skipped, seconds, t->records - t->failed, t->failed);
  if (t->skipped > 0)
    fprintf(out, ", %" PRIu64 " skipped (done in the journal)", t->skipped);
  if (t->other_shard > 0)
    fprintf(out, ", %" PRIu64 " left to other shards", t->other_shard);
  fprintf(out, "; %s, %s/s\n", size, rate);
}

void cli_tally_stats(const cli_tally_t *t, double seconds, FILE *out) {
  static const char *const classes[] = {"none", "1xx", "2xx",  "3xx",
                                        "4xx",  "5xx", "other"};
  const char *sep = "";
  unsigned i;

  cli_tally_summary(t, seconds, out);
  fprintf(out, "uvfetch: by status:");
  for (i = 0; i < 7; i++) {
    if (t->status[i] == 0)
      continue;
    fprintf(out, "%s %s %" PRIu64, sep, classes[i], t->status[i]);
    sep = ",";
  }
  fprintf(out, "%s\n", *sep == '\0' ? " -" : "");
  fprintf(out, "uvfetch: by error:");
  sep = "";
  for (i = 0; i < t->nerrors; i++) {
    fprintf(out, "%s %s %" PRIu64, sep, uvfetch_err_name(t->errors[i].code),
            t->errors[i].count);
    sep = ",";
  }
  if (t->other_errors > 0) {
    fprintf(out, "%s other %" PRIu64, sep, t->other_errors);
    sep = ",";
  }
  fprintf(out, "%s\n", *sep == '\0' ? " -" : "");
  fprintf(out,
          "uvfetch: bytes: %" PRIu64 " decoded, %" PRIu64
          " on the wire; attempts: %" PRIu64 " (%" PRIu64 " retries)\n",
          t->bytes, t->wire_bytes, t->attempts, t->retries);
  fprintf(out,
          "uvfetch: names: %" PRIu64 " looked up, %" PRIu64
          " from the cache; %" PRIu64 " URLs failed for want of one\n",
          t->dns_lookups, t->dns_hits, t->dns_failures);
  fprintf(out, "uvfetch: rate: %.1f URLs/s, %.0f bytes/s; wall time %.3f s\n",
          seconds > 0 ? (double)t->records / seconds : 0.0,
          seconds > 0 ? (double)t->bytes / seconds : 0.0, seconds);
}
