/* A growable byte string. See str.h. Pure memory; calls only the
 * allocator. */
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_str_free(cli_str_t *s) {
  free(s->p);
  s->p = NULL;
  s->len = 0;
  s->cap = 0;
  s->oom = 0;
}

void cli_str_reset(cli_str_t *s) {
  s->len = 0;
  s->oom = 0;
  if (s->cap > 0)
    s->p[0] = '\0';
}

/* Room for n more bytes and the NUL. */
static int reserve(cli_str_t *s, size_t n) {
  size_t want;
  size_t cap;
  char *p;

  if (s->oom)
    return -1;
  if (n >= (size_t)-1 / 2 - s->len) {
    s->oom = 1;
    return -1;
  }
  want = s->len + n + 1;
  if (want <= s->cap)
    return 0;
  cap = s->cap > 0 ? s->cap : 64;
  while (cap < want)
    cap *= 2;
  p = realloc(s->p, cap);
  if (p == NULL) {
    s->oom = 1;
    return -1;
  }
  s->p = p;
  s->cap = cap;
  return 0;
}

int cli_str_append(cli_str_t *s, const void *p, size_t n) {
  if (reserve(s, n) < 0)
    return -1;
  if (n > 0)
    memcpy(s->p + s->len, p, n);
  s->len += n;
  s->p[s->len] = '\0';
  return 0;
}

int cli_str_puts(cli_str_t *s, const char *text) {
  return cli_str_append(s, text, strlen(text));
}

int cli_str_printf(cli_str_t *s, const char *fmt, ...) {
  va_list ap;
  char small[128];
  int n;

  va_start(ap, fmt);
  n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    s->oom = 1;
    return -1;
  }
  if ((size_t)n < sizeof(small))
    return cli_str_append(s, small, (size_t)n);
  if (reserve(s, (size_t)n) < 0)
    return -1;
  va_start(ap, fmt);
  vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  s->len += (size_t)n;
  return 0;
}

char *cli_str_steal(cli_str_t *s) {
  char *p = s->p;

  s->p = NULL;
  s->len = 0;
  s->cap = 0;
  s->oom = 0;
  return p;
}
