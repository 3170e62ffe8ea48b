/* A set of URLs, kept as 128-bit digests: the URLs a journal shows done.
 * 16 bytes a URL however long it is, so a journal of millions fits; two
 * different URLs share a key with probability about n^2 / 2^129, which
 * for a billion URLs is below 10^-20. Pure memory, no I/O.
 */
#ifndef UVFETCH_CLI_URLSET_H
#define UVFETCH_CLI_URLSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_urlset_key_s {
  uint64_t a;
  uint64_t b;
} cli_urlset_key_t;

typedef struct cli_urlset_s {
  cli_urlset_key_t *slots; /* open addressing; {0, 0} is an empty slot */
  size_t mask;             /* slots - 1; slots is a power of two */
  size_t count;
  int has_zero; /* the key {0, 0} itself is in the set */
} cli_urlset_t;

/* The key of url[0..n): the first 128 bits of its SHA-256. */
cli_urlset_key_t cli_urlset_key(const char *url, size_t n);

void cli_urlset_init(cli_urlset_t *s);
void cli_urlset_free(cli_urlset_t *s);

/* Add a key. Returns 0, or -1 when out of memory. */
int cli_urlset_add(cli_urlset_t *s, cli_urlset_key_t k);

/* 1 when the key is in the set. */
int cli_urlset_has(const cli_urlset_t *s, cli_urlset_key_t k);

#endif /* UVFETCH_CLI_URLSET_H */
