/* SHA-256, written from FIPS 180-4. See sha256.h. Pure code; calls
 * nothing. */
#include "util/sha256.h"

#include <string.h>

/* The first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes (section 4.2.2). */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The first 32 bits of the fractional parts of the square roots of the
 * first 8 primes (section 5.3.3). */
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}

/* The six logical functions of section 4.1.2. */
static uint32_t ch(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (~x & z);
}

static uint32_t maj(uint32_t x, uint32_t y, uint32_t z) {
  return (x & y) ^ (x & z) ^ (y & z);
}

static uint32_t big_sigma0(uint32_t x) {
  return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}

static uint32_t big_sigma1(uint32_t x) {
  return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}

static uint32_t small_sigma0(uint32_t x) {
  return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
}

static uint32_t small_sigma1(uint32_t x) {
  return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10);
}

/* Section 6.2.2: one 512-bit block into the hash value. */
static void compress(uint32_t h[8], const unsigned char *blk) {
  uint32_t w[64];
  uint32_t a, b, c, d, e, f, g, hh;
  int t;

  for (t = 0; t < 16; t++) {
    const unsigned char *p = blk + 4 * t;

    w[t] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
  }
  for (t = 16; t < 64; t++) {
    w[t] =
        small_sigma1(w[t - 2]) + w[t - 7] + small_sigma0(w[t - 15]) + w[t - 16];
  }
  a = h[0];
  b = h[1];
  c = h[2];
  d = h[3];
  e = h[4];
  f = h[5];
  g = h[6];
  hh = h[7];
  for (t = 0; t < 64; t++) {
    uint32_t t1 = hh + big_sigma1(e) + ch(e, f, g) + K[t] + w[t];
    uint32_t t2 = big_sigma0(a) + maj(a, b, c);

    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

void cli_sha256_init(cli_sha256_t *c) {
  memcpy(c->h, H0, sizeof(H0));
  c->bits = 0;
  c->n = 0;
}

void cli_sha256_update(cli_sha256_t *c, const void *data, size_t n) {
  const unsigned char *p = data;

  c->bits += (uint64_t)n * 8;
  if (c->n > 0) {
    size_t take = 64 - c->n < n ? 64 - c->n : n;

    memcpy(c->blk + c->n, p, take);
    c->n += take;
    p += take;
    n -= take;
    if (c->n < 64)
      return;
    compress(c->h, c->blk);
    c->n = 0;
  }
  /* Whole blocks straight from the caller's bytes, without a copy. */
  while (n >= 64) {
    compress(c->h, p);
    p += 64;
    n -= 64;
  }
  memcpy(c->blk, p, n);
  c->n = n;
}

/* Section 5.1.1: a 1 bit, zeros up to 448 bits mod 512, then the length
 * in bits as a 64-bit big-endian number. */
void cli_sha256_final(cli_sha256_t *c, unsigned char out[CLI_SHA256_SIZE]) {
  uint64_t bits = c->bits;
  int i;

  c->blk[c->n++] = 0x80;
  if (c->n > 56) {
    memset(c->blk + c->n, 0, 64 - c->n);
    compress(c->h, c->blk);
    c->n = 0;
  }
  memset(c->blk + c->n, 0, 56 - c->n);
  for (i = 0; i < 8; i++)
    c->blk[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
  compress(c->h, c->blk);
  for (i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(c->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)c->h[i];
  }
}

void cli_sha256_hex(const unsigned char digest[CLI_SHA256_SIZE],
                    char out[CLI_SHA256_HEX]) {
  static const char hex[] = "0123456789abcdef";
  int i;

  for (i = 0; i < CLI_SHA256_SIZE; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 0xf];
  }
  out[2 * CLI_SHA256_SIZE] = '\0';
}

void cli_sha256(const void *p, size_t n, unsigned char out[CLI_SHA256_SIZE]) {
  cli_sha256_t c;

  cli_sha256_init(&c);
  cli_sha256_update(&c, p, n);
  cli_sha256_final(&c, out);
}
