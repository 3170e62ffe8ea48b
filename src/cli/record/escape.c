/* Escaping values for TSV and JSON, so a record stays one line. See
 * escape.h. Pure code; calls only the string builder (util/str.c). */
#include "record/escape.h"

#include <string.h>

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

/* Is the valid UTF-8 sequence s[0..len) a C1 control, U+0080-U+009F? */
static int c1_control(const unsigned char *s, size_t len) {
  return len == 2 && s[0] == 0xc2 && s[1] <= 0x9f;
}

size_t cli_escape_json(cli_str_t *out, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t replaced = 0;
  size_t run = 0; /* start of the bytes that need no escape */
  size_t i = 0;

  while (i < n) {
    unsigned char c = u[i];
    char esc[6];
    size_t len = 0;

    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      i++;
      continue;
    }
    if (c >= 0x80) {
      len = utf8_len(u + i, n - i);
      if (len > 0 && !c1_control(u + i, len)) {
        i += len;
        continue;
      }
    }
    cli_str_append(out, s + run, i - run);
    if (c == 0xc2 && len == 2) {
      /* A C1 control (U+0080-U+009F): a terminal obeys U+009B as CSI. */
      esc[0] = '\\';
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[u[i + 1] >> 4];
      esc[5] = hex[u[i + 1] & 0xf];
      cli_str_append(out, esc, 6);
      i += 2;
      run = i;
      continue;
    }
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

/* How many bytes at s[0] (of n >= 1) a TSV field or a message line may
 * show as they are: printable ASCII but the backslash, and valid UTF-8
 * sequences of 2 to 4 bytes but the C1 controls. 0: escape s[0]. */
static size_t plain_len(const unsigned char *s, size_t n) {
  size_t len;

  if (s[0] < 0x80)
    return s[0] >= 0x20 && s[0] != 0x7f && s[0] != '\\';
  len = utf8_len(s, n);
  if (len == 0 || c1_control(s, len))
    return 0;
  return len;
}

/* One byte that may not be shown as it is, escaped into esc; returns how
 * many bytes of esc it took. */
static size_t escape_byte(unsigned char c, char esc[4]) {
  esc[0] = '\\';
  switch (c) {
  case '\\':
    esc[1] = '\\';
    return 2;
  case '\t':
    esc[1] = 't';
    return 2;
  case '\n':
    esc[1] = 'n';
    return 2;
  case '\r':
    esc[1] = 'r';
    return 2;
  default:
    esc[1] = 'x';
    esc[2] = hex[c >> 4];
    esc[3] = hex[c & 0xf];
    return 4;
  }
}

void cli_escape_tsv(cli_str_t *out, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0;
  size_t i = 0;

  while (i < n) {
    size_t len = plain_len(u + i, n - i);
    char esc[4];

    if (len > 0) {
      i += len;
      continue;
    }
    cli_str_append(out, s + run, i - run);
    cli_str_append(out, esc, escape_byte(u[i], esc));
    i++;
    run = i;
  }
  cli_str_append(out, s + run, n - run);
}

void cli_escape_line(char *dst, size_t size, const char *src) {
  const unsigned char *u = (const unsigned char *)src;
  size_t n = strlen(src);
  size_t o = 0;
  size_t i = 0;

  if (size == 0)
    return;
  while (i < n) {
    size_t len = plain_len(u + i, n - i);
    char esc[4];

    const char *piece = src + i;

    if (len == 0) {
      len = escape_byte(u[i], esc);
      piece = esc;
      i++;
    } else {
      i += len;
    }
    if (o + len >= size)
      break;
    memcpy(dst + o, piece, len);
    o += len;
  }
  dst[o] = '\0';
}
