/* Escaping values for TSV and JSON, so a record stays one line. See
 * escape.h. Pure code; calls only the string builder (util/str.c). */
#include "record/escape.h"

static const char hex[] = "0123456789abcdef";

/* The length of the valid UTF-8 sequence starting at s[0] (of n >= 1
 * bytes), or 0 when s[0] does not start one. Overlong forms, surrogates
 * and values past U+10FFFF are invalid (RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  size_t len;
  size_t i;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0)
      lo = 0xa0;
    if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0)
      lo = 0x90;
    if (c == 0xf4)
      hi = 0x8f;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (i = 2; i < len; i++) {
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  }
  return len;
}

size_t cli_escape_json(cli_str_t *out, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t replaced = 0;
  size_t run = 0; /* start of the bytes that need no escape */
  size_t i = 0;

  while (i < n) {
    unsigned char c = u[i];
    char esc[6];
    size_t len;

    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      i++;
      continue;
    }
    if (c >= 0x80) {
      len = utf8_len(u + i, n - i);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    cli_str_append(out, s + run, i - run);
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      cli_str_append(out, esc, 2);
    } else if (c < 0x20 || c == 0x7f) {
      esc[0] = '\\';
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 0xf];
      cli_str_append(out, esc, 6);
    } else {
      cli_str_append(out, "\\ufffd", 6);
      replaced++;
    }
    i++;
    run = i;
  }
  cli_str_append(out, s + run, n - run);
  return replaced;
}

void cli_escape_tsv(cli_str_t *out, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = u[i];
    char esc[4];

    if (c >= 0x20 && c != 0x7f && c != '\\')
      continue;
    cli_str_append(out, s + run, i - run);
    run = i + 1;
    esc[0] = '\\';
    if (c == '\\') {
      esc[1] = '\\';
      cli_str_append(out, esc, 2);
    } else if (c == '\t') {
      esc[1] = 't';
      cli_str_append(out, esc, 2);
    } else if (c == '\n') {
      esc[1] = 'n';
      cli_str_append(out, esc, 2);
    } else if (c == '\r') {
      esc[1] = 'r';
      cli_str_append(out, esc, 2);
    } else {
      esc[1] = 'x';
      esc[2] = hex[c >> 4];
      esc[3] = hex[c & 0xf];
      cli_str_append(out, esc, 4);
    }
  }
  cli_str_append(out, s + run, n - run);
}
