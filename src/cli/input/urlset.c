/* A set of URL digests, the journal's done URLs. See urlset.h. Pure
 * memory; calls only SHA-256 (util/sha256.c). */
#include "input/urlset.h"

#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

static uint64_t load64(const unsigned char *p) {
  uint64_t v = 0;
  int i;

  for (i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

cli_urlset_key_t cli_urlset_key(const char *url, size_t n) {
  unsigned char d[CLI_SHA256_SIZE];
  cli_urlset_key_t k;

  cli_sha256(url, n, d);
  k.a = load64(d);
  k.b = load64(d + 8);
  return k;
}

void cli_urlset_init(cli_urlset_t *s) {
  memset(s, 0, sizeof(*s));
}

void cli_urlset_free(cli_urlset_t *s) {
  free(s->slots);
  memset(s, 0, sizeof(*s));
}

static int is_zero(cli_urlset_key_t k) {
  return k.a == 0 && k.b == 0;
}

/* The slot holding k, or the empty slot where it would go. The key is a
 * digest already, so its bits index the table as they are. */
static cli_urlset_key_t *find(const cli_urlset_t *s, cli_urlset_key_t k) {
  size_t i = (size_t)k.a & s->mask;

  for (;;) {
    cli_urlset_key_t *slot = &s->slots[i];

    if (is_zero(*slot) || (slot->a == k.a && slot->b == k.b))
      return slot;
    i = (i + 1) & s->mask;
  }
}

static int grow(cli_urlset_t *s) {
  size_t n = s->slots != NULL ? (s->mask + 1) * 2 : 1024;
  cli_urlset_t bigger;
  size_t i;

  bigger.slots = calloc(n, sizeof(*bigger.slots));
  if (bigger.slots == NULL)
    return -1;
  bigger.mask = n - 1;
  for (i = 0; s->slots != NULL && i <= s->mask; i++) {
    if (!is_zero(s->slots[i]))
      *find(&bigger, s->slots[i]) = s->slots[i];
  }
  free(s->slots);
  s->slots = bigger.slots;
  s->mask = bigger.mask;
  return 0;
}

int cli_urlset_add(cli_urlset_t *s, cli_urlset_key_t k) {
  cli_urlset_key_t *slot;

  if (is_zero(k)) {
    s->has_zero = 1;
    return 0;
  }
  /* At most half full, so probes stay short. */
  if (s->slots == NULL || (s->count + 1) * 2 > s->mask + 1) {
    if (grow(s) < 0)
      return -1;
  }
  slot = find(s, k);
  if (is_zero(*slot)) {
    *slot = k;
    s->count++;
  }
  return 0;
}

int cli_urlset_has(const cli_urlset_t *s, cli_urlset_key_t k) {
  if (is_zero(k))
    return s->has_zero;
  if (s->slots == NULL)
    return 0;
  return !is_zero(*find(s, k));
}
