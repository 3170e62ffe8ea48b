/* --shard K/N: which URLs this run takes, so that N runs split one list
 * with no coordinator. A URL belongs to shard FNV-1a-64(URL bytes) mod N;
 * the hash is fixed (offset basis 14695981039346656037, prime
 * 1099511628211), so every machine agrees. Pure code.
 */
#ifndef UVFETCH_CLI_SHARD_H
#define UVFETCH_CLI_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct cli_shard_s {
  uint64_t k; /* this run's shard, 0 .. n - 1 */
  uint64_t n; /* how many shards; 0 or 1: no sharding */
} cli_shard_t;

/* The 64-bit FNV-1a hash of p[0..n). */
uint64_t cli_fnv1a64(const void *p, size_t n);

/* Parse "K/N" (decimal, 0 <= K < N <= 2^32). Returns 0, or -1. */
int cli_shard_parse(const char *text, cli_shard_t *out);

/* 1 when url[0..n) belongs to this run's shard. */
int cli_shard_mine(const cli_shard_t *s, const char *url, size_t n);

#endif /* UVFETCH_CLI_SHARD_H */
