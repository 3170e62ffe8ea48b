/* Fuzz the --write-out template parser and renderer (src/cli/template.c)
 * with arbitrary templates, rendered against a record whose text values
 * hold awkward bytes.
 *
 * Checked: a template that parses renders without fault; a rejected one
 * leaves nothing to free and says why; what a variable adds holds no
 * newline (only the template's own text may).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char url[] = "http://x/\t\n\r\\\x01\xff\"%{url}";
  cli_template_t t;
  cli_record_t rec;
  cli_str_t out = CLI_STR_INIT;
  char err[256];
  size_t nl_text = 0;
  size_t nl_out = 0;
  size_t i;

  err[0] = '\0';
  if (cli_template_parse(&t, (const char *)data, size, err, sizeof(err)) != 0) {
    if (err[0] == '\0')
      abort();
    return 0;
  }
  memset(&rec, 0, sizeof(rec));
  rec.url.p = url;
  rec.url.n = sizeof(url) - 1;
  rec.effective_url = rec.url;
  rec.r.message = "line one\nline two";
  rec.r.http_code = 200;
  rec.r.bytes = 12345;
  rec.r.total_time = 0.25;
  rec.saved = "dir/\nname";
  rec.sha256 = "00ff";
  cli_template_render(&t, &rec, "-", &out);
  for (i = 0; i < t.litlen; i++)
    nl_text += t.lit[i] == '\n';
  for (i = 0; i < out.len; i++)
    nl_out += out.p[i] == '\n';
  /* Literal text can repeat only as written; variables add no newline. */
  if (!out.oom && nl_out > nl_text)
    abort();
  cli_str_free(&out);
  cli_template_free(&t);
  return 0;
}
