/* Fuzz the output escapers (src/cli/escape.c), and decode what the JSON
 * escaper wrote with the journal's decoder (src/cli/jsonscan.c).
 *
 * Checked: a TSV field (and a message line) holds no tab, newline, CR or
 * other control byte, C1 controls included, and is valid UTF-8; a JSON
 * string body holds no raw control byte (C1 included) or unescaped quote,
 * is valid UTF-8, and decodes back to the input exactly when nothing was
 * replaced.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record/escape.h"
#include "input/jsonscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The length of the valid UTF-8 sequence at p, or 0 (RFC 3629). */
static size_t utf8_len(const unsigned char *p, size_t n) {
  size_t len;
  unsigned cp;
  size_t i;

  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xC2 && p[0] <= 0xDF)
    len = 2, cp = p[0] & 0x1F;
  else if (p[0] >= 0xE0 && p[0] <= 0xEF)
    len = 3, cp = p[0] & 0x0F;
  else if (p[0] >= 0xF0 && p[0] <= 0xF4)
    len = 4, cp = p[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

/* A run of text safe for a terminal: valid UTF-8, no C0, DEL or C1. */
static void check_shown(const unsigned char *p, size_t n) {
  size_t i;
  size_t k;

  for (i = 0; i < n; i += k) {
    if (p[i] < 0x20 || p[i] == 0x7F)
      abort();
    k = utf8_len(p + i, n - i);
    if (k == 0 || (k == 2 && p[i] == 0xC2 && p[i + 1] <= 0x9F))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cli_str_t tsv = CLI_STR_INIT;
  cli_str_t json = CLI_STR_INIT;
  cli_str_t back = CLI_STR_INIT;
  const unsigned char *p;
  size_t replaced;
  size_t decoded_replaced = 0;
  size_t i;
  size_t k;

  char line[256];
  char *text;

  cli_escape_tsv(&tsv, (const char *)data, size);
  if (tsv.oom)
    goto out;
  check_shown((const unsigned char *)tsv.p, tsv.len);

  text = malloc(size + 1);
  if (text == NULL)
    goto out;
  memcpy(text, data, size);
  text[size] = '\0';
  cli_escape_line(line, sizeof(line), text);
  free(text);
  check_shown((const unsigned char *)line, strlen(line));

  replaced = cli_escape_json(&json, (const char *)data, size);
  if (json.oom)
    goto out;
  p = (const unsigned char *)json.p;
  for (i = 0; i < json.len; i += k) {
    if (p[i] < 0x20 || p[i] == '"')
      abort();
    if (p[i] == '\\') {
      if (i + 1 >= json.len || strchr("\"\\/bfnrtu", p[i + 1]) == NULL)
        abort();
      k = 2;
      continue;
    }
    k = utf8_len(p + i, json.len - i);
    if (k == 0 || (k == 2 && p[i] == 0xC2 && p[i + 1] <= 0x9F))
      abort();
  }
  if (cli_json_unescape(json.p, json.len, &back, &decoded_replaced) != 0)
    abort();
  if (decoded_replaced != replaced)
    abort();
  if (replaced == 0 && !back.oom &&
      (back.len != size || (size > 0 && memcmp(back.p, data, size) != 0)))
    abort();
out:
  cli_str_free(&tsv);
  cli_str_free(&json);
  cli_str_free(&back);
  return 0;
}
