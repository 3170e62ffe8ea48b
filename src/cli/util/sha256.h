/* SHA-256 (FIPS 180-4, section 6.2), fed in pieces as a body streams in.
 * Pure code, no I/O.
 */
#ifndef UVFETCH_CLI_SHA256_H
#define UVFETCH_CLI_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define CLI_SHA256_SIZE 32 /* bytes in a digest */
#define CLI_SHA256_HEX 65  /* bytes in its hex form, NUL included */

typedef struct cli_sha256_s {
  uint32_t h[8];         /* the hash value so far */
  uint64_t bits;         /* message length so far, in bits */
  unsigned char blk[64]; /* a partial block */
  size_t n;              /* bytes in blk */
} cli_sha256_t;

/* Start a new message. */
void cli_sha256_init(cli_sha256_t *c);

/* Add n bytes of the message. */
void cli_sha256_update(cli_sha256_t *c, const void *p, size_t n);

/* Finish: the digest goes into out; c must be initialised again before
 * it is used for another message. */
void cli_sha256_final(cli_sha256_t *c, unsigned char out[CLI_SHA256_SIZE]);

/* The digest as 64 lowercase hex digits and a NUL. */
void cli_sha256_hex(const unsigned char digest[CLI_SHA256_SIZE],
                    char out[CLI_SHA256_HEX]);

/* The digest of p[0..n), in one call. */
void cli_sha256(const void *p, size_t n, unsigned char out[CLI_SHA256_SIZE]);

#endif /* UVFETCH_CLI_SHA256_H */
