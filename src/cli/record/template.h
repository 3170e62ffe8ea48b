/* The --write-out template language, after curl's: literal text with
 * %{variable} replaced per record, "%%" for a '%', and the escapes \t, \n,
 * \r and \\. A '%' not followed by '{' or '%', and a backslash before any
 * other byte, are kept as they are (as curl does). An unknown variable or
 * a '%{' without its '}' is an error.
 *
 * The parser and the renderer are pure functions of their arguments (no
 * I/O, no loop), so both can be fed arbitrary bytes by a fuzzer.
 */
#ifndef UVFETCH_CLI_TEMPLATE_H
#define UVFETCH_CLI_TEMPLATE_H

#include <stddef.h>

#include "record/record.h"
#include "util/str.h"

typedef struct cli_template_part_s {
  int var;    /* a CLI_VAR_*, or -1 for literal text */
  size_t off; /* literal text: lit[off .. off + len) */
  size_t len;
} cli_template_part_t;

typedef struct cli_template_s {
  cli_template_part_t *parts;
  size_t nparts;
  char *lit; /* every literal byte, escapes already applied */
  size_t litlen;
} cli_template_t;

/* Compile text[0..len) into *t. Returns 0, or -1 after writing a
 * one-line reason into err (naming the variable when one is unknown);
 * on failure *t holds nothing to free. */
int cli_template_parse(cli_template_t *t, const char *text, size_t len,
                       char *err, size_t errlen);

void cli_template_free(cli_template_t *t);

/* Append the template filled in for `rec` to out. Text values (URLs, the
 * message, the saved path) are escaped as TSV fields are, so no value can
 * break a line; `none` is written for a saved path or digest the record
 * does not have. */
void cli_template_render(const cli_template_t *t, const cli_record_t *rec,
                         const char *none, cli_str_t *out);

#endif /* UVFETCH_CLI_TEMPLATE_H */
