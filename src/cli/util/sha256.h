/* SHA-256 (FIPS 180-4) through libcrypto's EVP interface, which uses the
 * CPU's SHA instructions where it has them: fed in pieces as a body
 * streams in, or in one call for a URL. libcrypto is already in the
 * process (libcurl's TLS), so this costs no new library.
 */
#ifndef UVFETCH_CLI_SHA256_H
#define UVFETCH_CLI_SHA256_H

#include <stddef.h>

#define CLI_SHA256_SIZE 32 /* bytes in a digest */
#define CLI_SHA256_HEX 65  /* bytes in its hex form, NUL included */

typedef struct cli_sha256_s {
  struct evp_md_ctx_st *ctx; /* libcrypto's EVP_MD_CTX; NULL until init */
} cli_sha256_t;

#define CLI_SHA256_INIT                                                        \
  { NULL }

/* Start a new message; the first call on c allocates, later ones reuse.
 * Returns 0, or -1 when out of memory (c then needs no free). */
int cli_sha256_init(cli_sha256_t *c);

/* Add n bytes of the message. */
void cli_sha256_update(cli_sha256_t *c, const void *p, size_t n);

/* Finish: the digest goes into out; c must be initialised again before
 * it is used for another message. */
void cli_sha256_final(cli_sha256_t *c, unsigned char out[CLI_SHA256_SIZE]);

/* Release c (a c that was never initialised is fine). */
void cli_sha256_free(cli_sha256_t *c);

/* The digest as 64 lowercase hex digits and a NUL. */
void cli_sha256_hex(const unsigned char digest[CLI_SHA256_SIZE],
                    char out[CLI_SHA256_HEX]);

/* The digest of p[0..n), in one call, allocating nothing after the first
 * call. Only the first call can fail (no memory for libcrypto's state):
 * then it prints why and aborts, as a URL set or a file name without its
 * digest would be wrong. */
void cli_sha256(const void *p, size_t n, unsigned char out[CLI_SHA256_SIZE]);

#endif /* UVFETCH_CLI_SHA256_H */
