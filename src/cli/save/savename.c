/* Naming a saved body after its URL. See savename.h. Pure code; calls
 * only SHA-256 (util/sha256.c). */
#include "save/savename.h"

#include <string.h>

#include "util/sha256.h"

/* The last segment of the URL's path: after "scheme://authority" and the
 * last '/', before any '?' or '#'. Without a scheme, the whole text is
 * taken as the path. */
static void last_segment(const char *url, size_t n, const char **seg,
                         size_t *len) {
  const char *end = url + n;
  const char *start = url;
  const char *p;
  const char *sep = NULL;

  for (p = url; p < end; p++) {
    if (*p == '?' || *p == '#') {
      end = p;
      break;
    }
  }
  for (p = url; p + 2 < end; p++) {
    if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
      sep = p + 3;
      break;
    }
    if (p[0] == '/')
      break;
  }
  if (sep != NULL) {
    start = memchr(sep, '/', (size_t)(end - sep));
    if (start == NULL)
      start = end; /* no path at all */
  }
  for (p = end; p > start; p--) {
    if (p[-1] == '/')
      break;
  }
  *seg = p;
  *len = (size_t)(end - p);
}

static int safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

void cli_savename(const char *url, size_t n, char out[CLI_SAVENAME_MAX]) {
  unsigned char d[CLI_SHA256_SIZE];
  char hex[CLI_SHA256_HEX];
  const char *seg;
  size_t len;
  size_t i;
  size_t o;

  cli_sha256(url, n, d);
  cli_sha256_hex(d, hex);
  memcpy(out, hex, 24);
  out[24] = '-';
  o = 25;
  last_segment(url, n, &seg, &len);
  /* No leading dots: neither ".", ".." nor a hidden file. */
  while (len > 0 && seg[0] == '.') {
    seg++;
    len--;
  }
  for (i = 0; i < len && o < 25 + CLI_SAVENAME_TAIL; i++)
    out[o++] = safe((unsigned char)seg[i]) ? seg[i] : '_';
  if (o == 25) {
    memcpy(out + o, "index", 5);
    o += 5;
  }
  out[o] = '\0';
}
