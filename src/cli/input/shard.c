/* Splitting a URL list between runs (--shard). See shard.h. Pure code;
 * calls nothing. */
#include "input/shard.h"

uint64_t cli_fnv1a64(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 14695981039346656037ull;
  size_t i;

  for (i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Decimal digits up to `stop` (or the end), at most 10 of them. */
static int parse_number(const char **p, char stop, uint64_t *out) {
  const char *s = *p;
  uint64_t v = 0;
  int digits = 0;

  while (*s >= '0' && *s <= '9' && digits < 11) {
    v = v * 10 + (uint64_t)(*s - '0');
    s++;
    digits++;
  }
  if (digits == 0 || digits > 10 || *s != stop)
    return -1;
  *p = s;
  *out = v;
  return 0;
}

int cli_shard_parse(const char *text, cli_shard_t *out) {
  const char *p = text;
  uint64_t k;
  uint64_t n;

  if (parse_number(&p, '/', &k) < 0)
    return -1;
  p++;
  if (parse_number(&p, '\0', &n) < 0)
    return -1;
  if (n < 1 || n > ((uint64_t)1 << 32) || k >= n)
    return -1;
  out->k = k;
  out->n = n;
  return 0;
}

int cli_shard_mine(const cli_shard_t *s, const char *url, size_t n) {
  if (s->n <= 1)
    return 1;
  return cli_fnv1a64(url, n) % s->n == s->k;
}
