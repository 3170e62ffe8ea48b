/* The record formats, TSV and JSON Lines. See output.h. */
#include "output.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

/* The length of the valid UTF-8 sequence starting at s[0] (of n >= 1
 * bytes), or 0 when s[0] does not start one. Overlong forms, surrogates
 * and values past U+10FFFF are invalid (RFC 3629). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  size_t len;
  size_t i;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0)
      lo = 0xa0;
    if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0)
      lo = 0x90;
    if (c == 0xf4)
      hi = 0x8f;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (i = 2; i < len; i++) {
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  }
  return len;
}

void cli_output_json_string(cli_outbuf_t *o, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0; /* start of the bytes that need no escape */
  size_t i = 0;

  while (i < n) {
    unsigned char c = u[i];
    char esc[6];
    size_t len;

    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      i++;
      continue;
    }
    if (c >= 0x80) {
      len = utf8_len(u + i, n - i);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    cli_outbuf_write(o, s + run, i - run);
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      cli_outbuf_write(o, esc, 2);
    } else if (c < 0x20 || c == 0x7f) {
      esc[0] = '\\';
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 0xf];
      cli_outbuf_write(o, esc, 6);
    } else {
      cli_outbuf_write(o, "\\ufffd", 6);
    }
    i++;
    run = i;
  }
  cli_outbuf_write(o, s + run, n - run);
}

void cli_output_tsv_field(cli_outbuf_t *o, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    unsigned char c = u[i];
    char esc[4];

    if (c >= 0x20 && c != 0x7f && c != '\\')
      continue;
    cli_outbuf_write(o, s + run, i - run);
    run = i + 1;
    esc[0] = '\\';
    if (c == '\\') {
      esc[1] = '\\';
      cli_outbuf_write(o, esc, 2);
    } else if (c == '\t') {
      esc[1] = 't';
      cli_outbuf_write(o, esc, 2);
    } else if (c == '\n') {
      esc[1] = 'n';
      cli_outbuf_write(o, esc, 2);
    } else if (c == '\r') {
      esc[1] = 'r';
      cli_outbuf_write(o, esc, 2);
    } else {
      esc[1] = 'x';
      esc[2] = hex[c >> 4];
      esc[3] = hex[c & 0xf];
      cli_outbuf_write(o, esc, 4);
    }
  }
  cli_outbuf_write(o, s + run, n - run);
}

static void tsv_record(cli_outbuf_t *o, const uvfetch_result_t *r,
                       const cli_bytes_t *url) {
  char num[32];
  int n;

  cli_output_tsv_field(o, url->p, url->n);
  if (r->ok) {
    n = snprintf(num, sizeof(num), "\t%" PRIu64 "\n", r->bytes);
    cli_outbuf_write(o, num, (size_t)n);
    return;
  }
  cli_outbuf_write(o, "\t-\t", 3);
  cli_outbuf_puts(o, uvfetch_err_name(r->error));
  cli_outbuf_write(o, "\t", 1);
  if (r->message != NULL)
    cli_output_tsv_field(o, r->message, strlen(r->message));
  cli_outbuf_write(o, "\n", 1);
}

/* ",\"key\":" and a quoted, escaped string, or null. */
static void json_string_field(cli_outbuf_t *o, const char *key, const char *s,
                              size_t n) {
  cli_outbuf_puts(o, key);
  if (s == NULL) {
    cli_outbuf_write(o, "null", 4);
    return;
  }
  cli_outbuf_write(o, "\"", 1);
  cli_output_json_string(o, s, n);
  cli_outbuf_write(o, "\"", 1);
}

/* JSON has no NaN or infinity; a time that is not finite is unknown. */
static void json_seconds(cli_outbuf_t *o, const char *key, double v) {
  char num[48];
  int n;

  cli_outbuf_puts(o, key);
  if (!isfinite(v)) {
    cli_outbuf_write(o, "null", 4);
    return;
  }
  n = snprintf(num, sizeof(num), "%.6f", v);
  cli_outbuf_write(o, num, (size_t)n);
}

static void json_record(cli_outbuf_t *o, const uvfetch_result_t *r,
                        const cli_bytes_t *url, const cli_bytes_t *eff) {
  char num[160];
  int n;

  json_string_field(o, "{\"url\":", url->p, url->n);
  json_string_field(o, ",\"effective_url\":", eff->p, eff->n);
  n = snprintf(num, sizeof(num), ",\"ordinal\":%" PRIu64 ",\"ok\":%s",
               r->ordinal, r->ok ? "true" : "false");
  cli_outbuf_write(o, num, (size_t)n);
  if (r->ok || r->error == 0) {
    json_string_field(o, ",\"error\":", NULL, 0);
  } else {
    const char *name = uvfetch_err_name(r->error);

    json_string_field(o, ",\"error\":", name, strlen(name));
  }
  n = snprintf(num, sizeof(num), ",\"curl_code\":%d", r->curl_code);
  cli_outbuf_write(o, num, (size_t)n);
  if (r->message == NULL)
    json_string_field(o, ",\"message\":", "", 0);
  else
    json_string_field(o, ",\"message\":", r->message, strlen(r->message));
  n = snprintf(num, sizeof(num),
               ",\"http_code\":%ld,\"http_version\":%d,\"redirects\":%ld"
               ",\"bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64,
               r->http_code, r->http_version, r->redirects, r->bytes,
               r->wire_bytes);
  cli_outbuf_write(o, num, (size_t)n);
  json_seconds(o, ",\"total_time\":", r->total_time);
  json_seconds(o, ",\"ttfb\":", r->ttfb);
  n = snprintf(num, sizeof(num), ",\"attempts\":%u}\n", r->attempts);
  cli_outbuf_write(o, num, (size_t)n);
}

void cli_output_record(cli_outbuf_t *o, cli_format_t format,
                       const uvfetch_result_t *r, const cli_bytes_t *url) {
  cli_bytes_t u;
  cli_bytes_t eff;

  if (url != NULL) {
    u = *url;
    eff = *url;
  } else {
    u.p = r->url != NULL ? r->url : "";
    u.n = strlen(u.p);
    eff.p = r->effective_url != NULL ? r->effective_url : u.p;
    eff.n = strlen(eff.p);
  }
  if (format == CLI_FORMAT_JSON)
    json_record(o, r, &u, &eff);
  else
    tsv_record(o, r, &u);
  cli_outbuf_end_record(o);
}
