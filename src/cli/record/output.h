/* The record formats: one line per finished URL, as text (the default
 * TSV, or a --write-out template) or as JSON Lines. Whatever bytes a URL
 * or message holds, a record stays one line: text escapes control bytes
 * and backslash; JSON escapes control characters and replaces invalid
 * UTF-8 with U+FFFD, so every line is valid JSON.
 */
#ifndef UVFETCH_CLI_OUTPUT_H
#define UVFETCH_CLI_OUTPUT_H

#include "record/record.h"
#include "util/str.h"
#include "record/template.h"

/* Fields a record carries beyond the usual ones, per option. */
enum {
  CLI_EXTRA_ATTEMPTS = 1, /* --retry: TSV shows the attempts */
  CLI_EXTRA_SAVED = 2,    /* --output-dir */
  CLI_EXTRA_SHA256 = 4    /* --sha256 */
};

typedef struct cli_format_s {
  int json;
  unsigned extras;
  int custom;          /* --write-out given */
  cli_template_t user; /* --write-out */
  /* The default TSV, one template per kind of record: fetched; fetched
   * but failed (--fail, or the body could not be saved); failed. */
  cli_template_t tsv[3];
} cli_format_t;

/* Set up the format: JSON, the template `write_out` when not NULL, else
 * the default TSV. Returns 0, or -1 after writing a reason into err. */
int cli_format_init(cli_format_t *f, int json, const char *write_out,
                    unsigned extras, char *err, size_t errlen);

void cli_format_free(cli_format_t *f);

/* Append rec's line, newline included, to out. */
void cli_format_record(const cli_format_t *f, const cli_record_t *rec,
                       cli_str_t *out);

/* Append rec as one JSON object and a newline: every result field, then
 * "saved" and "sha256" when `extras` asks for them. */
void cli_format_json(const cli_record_t *rec, unsigned extras, cli_str_t *out);

#endif /* UVFETCH_CLI_OUTPUT_H */
