/* Splitting input bytes into URL lines. See lines.h. Pure code; calls
 * nothing. */
#include "input/lines.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

int cli_lines_init(cli_lines_t *l) {
  memset(l, 0, sizeof(*l));
  l->buf = malloc(CLI_LINE_MAX + 1);
  if (l->buf == NULL)
    return UV_ENOMEM;
  return 0;
}

void cli_lines_free(cli_lines_t *l) {
  free(l->buf);
  l->buf = NULL;
}

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Keep n more bytes of the current line, or only as many as fit: the rest
 * of an overlong line is dropped as it arrives, so memory stays bounded. */
static void append(cli_lines_t *l, const char *p, size_t n) {
  size_t room;

  if (l->too_long)
    return;
  room = CLI_LINE_MAX - l->len;
  if (n > room) {
    n = room;
    l->too_long = 1;
  }
  memcpy(l->buf + l->len, p, n);
  l->len += n;
}

/* The current line is complete: classify it and start a new one. A comment
 * is recognised even when overlong, since only its start matters. */
static cli_line_kind_t complete(cli_lines_t *l, cli_line_t *out) {
  size_t start = 0;
  size_t stop = l->len;
  int too_long = l->too_long;

  l->lineno++;
  l->len = 0;
  l->too_long = 0;

  while (start < stop && is_blank(l->buf[start]))
    start++;
  if (start < stop && l->buf[start] == '#')
    return CLI_LINE_NONE;
  out->lineno = l->lineno;
  if (too_long) {
    out->kind = CLI_LINE_TOO_LONG;
    out->text = l->buf + start;
    out->len = stop - start;
    return out->kind;
  }
  while (stop > start && is_blank(l->buf[stop - 1]))
    stop--;
  if (start == stop)
    return CLI_LINE_NONE;

  out->text = l->buf + start;
  out->len = stop - start;
  if (memchr(out->text, '\0', out->len) != NULL) {
    out->kind = CLI_LINE_HAS_NUL;
    return out->kind;
  }
  /* stop <= CLI_LINE_MAX and buf holds CLI_LINE_MAX + 1 bytes. */
  l->buf[stop] = '\0';
  out->kind = CLI_LINE_URL;
  return out->kind;
}

cli_line_kind_t cli_lines_take(cli_lines_t *l, const char **pos,
                               const char *end, cli_line_t *out) {
  const char *p = *pos;

  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    cli_line_kind_t kind;

    if (nl == NULL) {
      append(l, p, (size_t)(end - p));
      p = end;
      break;
    }
    append(l, p, (size_t)(nl - p));
    p = nl + 1;
    kind = complete(l, out);
    if (kind != CLI_LINE_NONE) {
      *pos = p;
      return kind;
    }
  }
  *pos = p;
  return CLI_LINE_NONE;
}

cli_line_kind_t cli_lines_finish(cli_lines_t *l, cli_line_t *out) {
  if (l->len == 0 && !l->too_long)
    return CLI_LINE_NONE;
  return complete(l, out);
}
