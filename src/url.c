/* What a URL may be: parsed once with libcurl's URL API, its scheme
 * checked against the allowed list, and its host:port hashed for the
 * per-host cap. Calls only libcurl's URL functions.
 */
#include <strings.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "internal.h"
#include "uvfetch.h"

/* Parse `url` into `uh`, which may hold an earlier one. */
CURLUcode uvfetch__parse_url(CURLU *uh, const char *url) {
  /* Cleared first: on a handle that holds a URL, a new one is resolved
   * relative to it. */
  curl_url_set(uh, CURLUPART_URL, NULL, 0);
  return curl_url_set(uh, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
}

/* ---- URLs -------------------------------------------------------------- */

/* Is `scheme` in the comma-separated list of allowed protocols? */
static int scheme_allowed(const char *list, const char *scheme) {
  size_t n = strlen(scheme);
  const char *p = list;
  const char *end;

  for (;;) {
    while (*p == ',' || *p == ' ')
      p++;
    if (*p == '\0')
      return 0;
    end = p + strcspn(p, ", ");
    if ((size_t)(end - p) == 3 && strncasecmp(p, "all", 3) == 0)
      return 1;
    if ((size_t)(end - p) == n && strncasecmp(p, scheme, n) == 0)
      return 1;
    p = end;
  }
}

/* Parse `url` into `uh` and check it: 0, or why it is refused, with a
 * static message in *why. */
int uvfetch__check_url(uvfetch_t *f, CURLU *uh, const char *url,
                       const char **why, int *curl_code, int *https) {
  CURLUcode uc;
  char *scheme = NULL;
  int allowed;

  uc = uvfetch__parse_url(uh, url);
  if (uc != CURLUE_OK) {
    *why = curl_url_strerror(uc);
    *curl_code = CURLE_URL_MALFORMAT;
    return UVFETCH_EURL;
  }
  uc = curl_url_get(uh, CURLUPART_SCHEME, &scheme, 0);
  if (uc != CURLUE_OK) {
    *why = curl_url_strerror(uc);
    *curl_code = CURLE_URL_MALFORMAT;
    return UVFETCH_EURL;
  }
  allowed = scheme_allowed(f->protocols, scheme);
  *https = strcasecmp(scheme, "https") == 0;
  curl_free(scheme);
  if (!allowed) {
    *why = uvfetch_strerror(UVFETCH_ESCHEME);
    *curl_code = CURLE_UNSUPPORTED_PROTOCOL;
    return UVFETCH_ESCHEME;
  }
  return 0;
}

/* A hash of the host and port of the URL in `parser` (as check_url left
 * it), for the per-host cap: FNV-1a, never 0. */
uint64_t uvfetch__host_key(CURLU *parser) {
  uint64_t h = 14695981039346656037ULL;
  char *host = NULL;
  char *port = NULL;
  const char *p;

  curl_url_get(parser, CURLUPART_HOST, &host, 0);
  curl_url_get(parser, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  for (p = host ? host : ""; *p != '\0'; p++)
    h = (h ^ (unsigned char)(*p | 0x20)) * 1099511628211ULL;
  h = (h ^ ':') * 1099511628211ULL;
  for (p = port ? port : ""; *p != '\0'; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  curl_free(host);
  curl_free(port);
  return h ? h : 1;
}

/* Does the environment name a proxy for libcurl to use? libcurl looks on
 * every transfer; when none is set, uvfetch tells it once that there is
 * none. (libcurl reads only the lower-case http_proxy.) */
int uvfetch__proxy_in_env(void) {
  static const char *const names[] = {"http_proxy",  "https_proxy",
                                      "HTTPS_PROXY", "all_proxy",
                                      "ALL_PROXY",   NULL};
  const char *const *n;
  const char *v;

  for (n = names; *n != NULL; n++) {
    v = getenv(*n);
    if (v != NULL && *v != '\0')
      return 1;
  }
  return 0;
}
