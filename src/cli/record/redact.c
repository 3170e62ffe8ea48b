/* Hiding a URL's password. See redact.h. Pure code; calls only the
 * string builder (util/str.c). */
#include "record/redact.h"

#include <string.h>

/* Where the authority of s[0..n) starts: past "scheme://", or 0 when
 * there is no scheme (libcurl would guess one). */
static size_t authority_start(const char *s, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    char c = s[i];

    if (c == ':')
      break;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
      return 0;
  }
  if (i + 3 <= n && memcmp(s + i, "://", 3) == 0)
    return i + 3;
  return 0;
}

void cli_redact_url(cli_str_t *out, const char *s, size_t n) {
  size_t start = authority_start(s, n);
  size_t end = start;
  size_t at = 0;
  size_t colon = 0;
  int has_at = 0;
  size_t i;

  while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
    end++;
  for (i = start; i < end; i++) {
    if (s[i] == '@') {
      at = i;
      has_at = 1;
    }
  }
  if (has_at) {
    for (colon = start; colon < at && s[colon] != ':'; colon++)
      ;
  }
  if (!has_at || colon >= at) {
    cli_str_append(out, s, n);
    return;
  }
  cli_str_append(out, s, colon + 1);
  cli_str_append(out, "***", 3);
  cli_str_append(out, s + at, n - at);
}
