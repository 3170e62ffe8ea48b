/* Fuzz the URL-list line splitter (src/cli/lines.c) with arbitrary input
 * cut into arbitrary pieces. The first byte picks the piece size, so the
 * fuzzer also explores lines split across reads.
 *
 * Checked: every URL line is non-empty, trimmed, not a comment, holds no
 * NUL, is at most CLI_LINE_MAX bytes and is NUL-terminated; line numbers
 * only grow and never pass the count of newlines plus one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input/lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const cli_line_t *line, uint64_t *last, uint64_t newlines) {
  if (line->lineno < *last || line->lineno > newlines + 1)
    abort();
  *last = line->lineno;
  if (line->kind != CLI_LINE_URL)
    return;
  if (line->len == 0 || line->len > CLI_LINE_MAX || line->text[0] == '#')
    abort();
  if (line->text[0] == ' ' || line->text[0] == '\t' ||
      line->text[line->len - 1] == ' ' || line->text[line->len - 1] == '\t' ||
      line->text[line->len - 1] == '\r')
    abort();
  if (memchr(line->text, '\0', line->len) != NULL ||
      line->text[line->len] != '\0')
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cli_lines_t lines;
  cli_line_t line;
  const char *pos;
  const char *end;
  size_t piece;
  size_t off;
  uint64_t last = 0;
  uint64_t newlines = 0;
  size_t i;

  if (size == 0)
    return 0;
  piece = (size_t)data[0] + 1;
  data++;
  size--;
  for (i = 0; i < size; i++)
    newlines += data[i] == '\n';
  if (cli_lines_init(&lines) != 0)
    return 0;
  for (off = 0; off < size; off += piece) {
    pos = (const char *)data + off;
    end = pos + (size - off < piece ? size - off : piece);
    while (cli_lines_take(&lines, &pos, end, &line) != CLI_LINE_NONE)
      check(&line, &last, newlines);
    if (pos != end)
      abort();
  }
  if (cli_lines_finish(&lines, &line) != CLI_LINE_NONE)
    check(&line, &last, newlines);
  cli_lines_free(&lines);
  return 0;
}
