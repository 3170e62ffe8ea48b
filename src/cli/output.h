/* The record formats: one line per finished URL, as TSV or as JSON Lines.
 * Whatever bytes a URL or message holds, a record stays one line: TSV
 * escapes control bytes and backslash; JSON escapes control characters
 * and replaces invalid UTF-8 with U+FFFD, so every line is valid JSON.
 */
#ifndef UVFETCH_CLI_OUTPUT_H
#define UVFETCH_CLI_OUTPUT_H

#include <stddef.h>

#include "outbuf.h"
#include "uvfetch.h"

typedef enum { CLI_FORMAT_TSV, CLI_FORMAT_JSON } cli_format_t;

/* Bytes of any value, NUL included. */
typedef struct cli_bytes_s {
  const char *p;
  size_t n;
} cli_bytes_t;

/* Write the record for `r`. When `url` is not NULL it is printed instead
 * of r->url and r->effective_url: the text of an input line the CLI could
 * not hand to the library as it was.
 *
 * TSV:  URL <TAB> BYTES                        when r->ok
 *       URL <TAB> - <TAB> ERRNAME <TAB> MESSAGE otherwise
 * JSON: every field of uvfetch_result_t but data. */
void cli_output_record(cli_outbuf_t *o, cli_format_t format,
                       const uvfetch_result_t *r, const cli_bytes_t *url);

/* Write s[0..n) as the inside of a JSON string (exposed for tests). */
void cli_output_json_string(cli_outbuf_t *o, const char *s, size_t n);

/* Write s[0..n) as one TSV field (exposed for tests). */
void cli_output_tsv_field(cli_outbuf_t *o, const char *s, size_t n);

#endif /* UVFETCH_CLI_OUTPUT_H */
