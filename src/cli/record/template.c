/* The --write-out template language: parsing and rendering. See
 * template.h. Pure code; calls down only: the escapers, the string
 * builder and uvfetch_err_name. */
#include "record/template.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/escape.h"

enum {
  VAR_URL,
  VAR_URL_EFFECTIVE,
  VAR_SIZE,
  VAR_SIZE_DOWNLOAD,
  VAR_HTTP_CODE,
  VAR_HTTP_VERSION,
  VAR_TIME_TOTAL,
  VAR_TIME_STARTTRANSFER,
  VAR_TIME_NAMELOOKUP,
  VAR_TIME_CONNECT,
  VAR_TIME_APPCONNECT,
  VAR_NUM_REDIRECTS,
  VAR_ERRORMSG,
  VAR_EXITCODE,
  VAR_ERROR,
  VAR_ATTEMPTS,
  VAR_ORDINAL,
  VAR_SAVED,
  VAR_SHA256
};

/* Indexed by VAR_*. */
static const char *const names[] = {
    "url",
    "url_effective",
    "size",
    "size_download",
    "http_code",
    "http_version",
    "time_total",
    "time_starttransfer",
    "time_namelookup",
    "time_connect",
    "time_appconnect",
    "num_redirects",
    "errormsg",
    "exitcode",
    "error",
    "attempts",
    "ordinal",
    "saved",
    "sha256",
};

#define NVARS (sizeof(names) / sizeof(names[0]))

static int lookup(const char *name, size_t n) {
  size_t i;

  for (i = 0; i < NVARS; i++) {
    if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
      return (int)i;
  }
  return -1;
}

/* A new part, or the last one grown when both are literal text. */
static int add_part(cli_template_t *t, size_t *cap, int var, size_t off,
                    size_t len) {
  cli_template_part_t *p;

  if (var < 0 && t->nparts > 0 && t->parts[t->nparts - 1].var < 0) {
    t->parts[t->nparts - 1].len += len;
    return 0;
  }
  if (t->nparts == *cap) {
    size_t ncap = *cap > 0 ? *cap * 2 : 8;

    p = realloc(t->parts, ncap * sizeof(*p));
    if (p == NULL)
      return -1;
    t->parts = p;
    *cap = ncap;
  }
  p = &t->parts[t->nparts++];
  p->var = var;
  p->off = off;
  p->len = len;
  return 0;
}

static int add_literal(cli_template_t *t, size_t *cap, char c) {
  t->lit[t->litlen] = c;
  return add_part(t, cap, -1, t->litlen++, 1);
}

int cli_template_parse(cli_template_t *t, const char *text, size_t len,
                       char *err, size_t errlen) {
  size_t cap = 0;
  size_t i = 0;

  memset(t, 0, sizeof(*t));
  /* Escapes only ever shorten the text. */
  t->lit = malloc(len + 1);
  if (t->lit == NULL)
    goto oom;
  while (i < len) {
    char c = text[i];
    char lit = c;
    size_t used = 1;

    if (c == '%' && i + 1 < len && text[i + 1] == '{') {
      const char *name = text + i + 2;
      const char *end = memchr(name, '}', len - i - 2);
      int var;

      if (end == NULL) {
        snprintf(err, errlen, "'%%{' without a closing '}'");
        goto fail;
      }
      var = lookup(name, (size_t)(end - name));
      if (var < 0) {
        snprintf(err, errlen, "unknown variable '%%{%.*s}'",
                 (int)((size_t)(end - name) < 64 ? end - name : 64), name);
        goto fail;
      }
      if (add_part(t, &cap, var, 0, 0) < 0)
        goto oom;
      i = (size_t)(end - text) + 1;
      continue;
    }
    if (c == '%' && i + 1 < len && text[i + 1] == '%') {
      used = 2;
    } else if (c == '\\' && i + 1 < len) {
      used = 2;
      switch (text[i + 1]) {
      case 't':
        lit = '\t';
        break;
      case 'n':
        lit = '\n';
        break;
      case 'r':
        lit = '\r';
        break;
      case '\\':
        break;
      default:
        used = 1; /* a lone backslash, kept */
        break;
      }
    }
    if (add_literal(t, &cap, lit) < 0)
      goto oom;
    i += used;
  }
  return 0;

oom:
  snprintf(err, errlen, "out of memory");
fail:
  cli_template_free(t);
  return -1;
}

void cli_template_free(cli_template_t *t) {
  free(t->parts);
  free(t->lit);
  memset(t, 0, sizeof(*t));
}

/* As curl writes them: 1.0, 1.1, 2, 3, or 0 without a response. */
static const char *http_version(int v) {
  switch (v) {
  case 10:
    return "1.0";
  case 11:
    return "1.1";
  case 20:
    return "2";
  case 30:
    return "3";
  default:
    return "0";
  }
}

static void seconds(cli_str_t *out, double v) {
  cli_str_printf(out, "%.6f", isfinite(v) && v > 0 ? v : 0.0);
}

static void text(cli_str_t *out, const char *s, const char *none) {
  if (s == NULL)
    s = none;
  cli_escape_tsv(out, s, strlen(s));
}

static void render_var(int var, const cli_record_t *rec, const char *none,
                       cli_str_t *out) {
  const uvfetch_result_t *r = &rec->r;

  switch (var) {
  case VAR_URL:
    cli_escape_tsv(out, rec->url.p, rec->url.n);
    break;
  case VAR_URL_EFFECTIVE:
    cli_escape_tsv(out, rec->effective_url.p, rec->effective_url.n);
    break;
  case VAR_SIZE:
    cli_str_printf(out, "%" PRIu64, r->bytes);
    break;
  case VAR_SIZE_DOWNLOAD:
    cli_str_printf(out, "%" PRIu64, r->wire_bytes);
    break;
  case VAR_HTTP_CODE:
    cli_str_printf(out, "%03ld", r->http_code);
    break;
  case VAR_HTTP_VERSION:
    cli_str_puts(out, http_version(r->http_version));
    break;
  case VAR_TIME_TOTAL:
    seconds(out, r->total_time);
    break;
  case VAR_TIME_STARTTRANSFER:
    seconds(out, r->ttfb);
    break;
  case VAR_TIME_NAMELOOKUP:
    seconds(out, r->dns_time);
    break;
  case VAR_TIME_CONNECT:
    seconds(out, r->connect_time);
    break;
  case VAR_TIME_APPCONNECT:
    seconds(out, r->tls_time);
    break;
  case VAR_NUM_REDIRECTS:
    cli_str_printf(out, "%ld", r->redirects);
    break;
  case VAR_ERRORMSG:
    text(out, r->error != 0 ? r->message : "", "");
    break;
  case VAR_EXITCODE:
    cli_str_printf(out, "%d", r->curl_code);
    break;
  case VAR_ERROR:
    cli_str_puts(out, r->error != 0 ? uvfetch_err_name(r->error) : "");
    break;
  case VAR_ATTEMPTS:
    cli_str_printf(out, "%u", r->attempts);
    break;
  case VAR_ORDINAL:
    cli_str_printf(out, "%" PRIu64, r->ordinal);
    break;
  case VAR_SAVED:
    text(out, rec->saved, none);
    break;
  case VAR_SHA256:
    text(out, rec->sha256, none);
    break;
  default:
    break;
  }
}

void cli_template_render(const cli_template_t *t, const cli_record_t *rec,
                         const char *none, cli_str_t *out) {
  size_t i;

  for (i = 0; i < t->nparts; i++) {
    const cli_template_part_t *p = &t->parts[i];

    if (p->var < 0)
      cli_str_append(out, t->lit + p->off, p->len);
    else
      render_var(p->var, rec, none, out);
  }
}
