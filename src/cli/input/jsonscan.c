/* Reading back flat JSON objects, the journal's lines. See jsonscan.h.
 * Pure code; calls nothing but the string builder (util/str.c). */
#include "input/jsonscan.h"

#include <string.h>

typedef struct cursor_s {
  const char *p;
  const char *end;
} cursor_t;

static void skip_space(cursor_t *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
    c->p++;
}

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

/* A string starting at the opening quote; *s and *n get its inside. */
static int scan_string(cursor_t *c, const char **s, size_t *n) {
  const char *p = c->p + 1;

  while (p < c->end) {
    unsigned char ch = (unsigned char)*p;

    if (ch == '"') {
      *s = c->p + 1;
      *n = (size_t)(p - *s);
      c->p = p + 1;
      return 0;
    }
    if (ch < 0x20)
      return -1;
    if (ch != '\\') {
      p++;
      continue;
    }
    if (p + 1 >= c->end)
      return -1;
    if (p[1] == 'u') {
      if (c->end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4]) ||
          !is_hex(p[5]))
        return -1;
      p += 6;
      continue;
    }
    if (p[1] == '\0' || strchr("\"\\/bfnrt", p[1]) == NULL)
      return -1;
    p += 2;
  }
  return -1;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* RFC 8259's number: -? int frac? exp? */
static int scan_number(cursor_t *c) {
  const char *p = c->p;

  if (p < c->end && *p == '-')
    p++;
  if (p >= c->end || !is_digit(*p))
    return -1;
  if (*p == '0')
    p++;
  else
    while (p < c->end && is_digit(*p))
      p++;
  if (p < c->end && *p == '.') {
    p++;
    if (p >= c->end || !is_digit(*p))
      return -1;
    while (p < c->end && is_digit(*p))
      p++;
  }
  if (p < c->end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < c->end && (*p == '+' || *p == '-'))
      p++;
    if (p >= c->end || !is_digit(*p))
      return -1;
    while (p < c->end && is_digit(*p))
      p++;
  }
  c->p = p;
  return 0;
}

static int scan_word(cursor_t *c, const char *word) {
  size_t n = strlen(word);

  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return -1;
  c->p += n;
  return 0;
}

static int scan_value(cursor_t *c, cli_json_member_t *m) {
  const char *start = c->p;
  int rc;

  if (c->p >= c->end)
    return -1;
  switch (*c->p) {
  case '"':
    m->type = CLI_JSON_STRING;
    return scan_string(c, &m->val, &m->vallen);
  case 't':
    m->type = CLI_JSON_TRUE;
    rc = scan_word(c, "true");
    break;
  case 'f':
    m->type = CLI_JSON_FALSE;
    rc = scan_word(c, "false");
    break;
  case 'n':
    m->type = CLI_JSON_NULL;
    rc = scan_word(c, "null");
    break;
  default:
    m->type = CLI_JSON_NUMBER;
    rc = scan_number(c);
    break;
  }
  m->val = start;
  m->vallen = (size_t)(c->p - start);
  return rc;
}

int cli_json_scan_object(const char *p, size_t n, cli_json_member_cb cb,
                         void *arg) {
  cursor_t c = {p, p + n};
  cli_json_member_t m;

  skip_space(&c);
  if (c.p >= c.end || *c.p != '{')
    return -1;
  c.p++;
  skip_space(&c);
  if (c.p < c.end && *c.p == '}') {
    c.p++;
    goto done;
  }
  for (;;) {
    skip_space(&c);
    if (c.p >= c.end || *c.p != '"')
      return -1;
    if (scan_string(&c, &m.key, &m.keylen) < 0)
      return -1;
    skip_space(&c);
    if (c.p >= c.end || *c.p != ':')
      return -1;
    c.p++;
    skip_space(&c);
    if (scan_value(&c, &m) < 0)
      return -1;
    cb(&m, arg);
    skip_space(&c);
    if (c.p >= c.end)
      return -1;
    if (*c.p == '}') {
      c.p++;
      break;
    }
    if (*c.p != ',')
      return -1;
    c.p++;
  }
done:
  skip_space(&c);
  return c.p == c.end ? 0 : -1;
}

static unsigned hex4(const char *p) {
  unsigned v = 0;
  int i;

  for (i = 0; i < 4; i++) {
    char ch = p[i];

    v <<= 4;
    if (ch >= '0' && ch <= '9')
      v |= (unsigned)(ch - '0');
    else if (ch >= 'a' && ch <= 'f')
      v |= (unsigned)(ch - 'a' + 10);
    else
      v |= (unsigned)(ch - 'A' + 10);
  }
  return v;
}

static void put_utf8(cli_str_t *out, unsigned cp) {
  char b[4];

  if (cp < 0x80) {
    b[0] = (char)cp;
    cli_str_append(out, b, 1);
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | cp >> 6);
    b[1] = (char)(0x80 | (cp & 0x3f));
    cli_str_append(out, b, 2);
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | cp >> 12);
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    cli_str_append(out, b, 3);
  } else {
    b[0] = (char)(0xf0 | cp >> 18);
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    cli_str_append(out, b, 4);
  }
}

int cli_json_unescape(const char *raw, size_t n, cli_str_t *out,
                      size_t *replaced) {
  size_t i = 0;

  *replaced = 0;
  while (i < n) {
    size_t run = i;
    unsigned cp;

    while (i < n && raw[i] != '\\')
      i++;
    cli_str_append(out, raw + run, i - run);
    if (i >= n)
      break;
    if (i + 1 >= n)
      return -1;
    switch (raw[i + 1]) {
    case '"':
    case '\\':
    case '/':
      cli_str_append(out, raw + i + 1, 1);
      i += 2;
      continue;
    case 'b':
      cli_str_append(out, "\b", 1);
      i += 2;
      continue;
    case 'f':
      cli_str_append(out, "\f", 1);
      i += 2;
      continue;
    case 'n':
      cli_str_append(out, "\n", 1);
      i += 2;
      continue;
    case 'r':
      cli_str_append(out, "\r", 1);
      i += 2;
      continue;
    case 't':
      cli_str_append(out, "\t", 1);
      i += 2;
      continue;
    case 'u':
      break;
    default:
      return -1;
    }
    if (n - i < 6 || !is_hex(raw[i + 2]) || !is_hex(raw[i + 3]) ||
        !is_hex(raw[i + 4]) || !is_hex(raw[i + 5]))
      return -1;
    cp = hex4(raw + i + 2);
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && n - i >= 6 && raw[i] == '\\' &&
        raw[i + 1] == 'u' && is_hex(raw[i + 2]) && is_hex(raw[i + 3]) &&
        is_hex(raw[i + 4]) && is_hex(raw[i + 5])) {
      unsigned lo = hex4(raw + i + 2);

      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i += 6;
      }
    }
    if (cp == 0xfffd || (cp >= 0xd800 && cp <= 0xdfff)) {
      (*replaced)++;
      cp = 0xfffd;
    }
    put_utf8(out, cp);
  }
  return out->oom ? -1 : 0;
}
