/* The record formats: TSV, --write-out templates and JSON Lines. See
 * output.h. Pure code; calls down only: the template renderer, the
 * escapers and the string builder. */
#include "record/output.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "record/escape.h"

/* The default TSV in the --write-out language. A failed record ends with
 * the error's name and message; a record whose body was not received in
 * full has '-' for its size. The extra fields sit between the two, so
 * the message stays last. */
static const char *const tsv_heads[3] = {
    "%{url}\\t%{size}",
    "%{url}\\t%{size}",
    "%{url}\\t-",
};

static const char *const tsv_tails[3] = {
    "\\n",
    "\\t%{error}\\t%{errormsg}\\n",
    "\\t%{error}\\t%{errormsg}\\n",
};

int cli_format_init(cli_format_t *f, int json, const char *write_out,
                    unsigned extras, char *err, size_t errlen) {
  char text[128];
  int i;

  memset(f, 0, sizeof(*f));
  f->json = json;
  f->extras = extras;
  if (json)
    return 0;
  if (write_out != NULL) {
    f->custom = 1;
    return cli_template_parse(&f->user, write_out, strlen(write_out), err,
                              errlen);
  }
  for (i = 0; i < 3; i++) {
    snprintf(text, sizeof(text), "%s%s%s%s%s", tsv_heads[i],
             extras & CLI_EXTRA_ATTEMPTS ? "\\t%{attempts}" : "",
             extras & CLI_EXTRA_SAVED ? "\\t%{saved}" : "",
             extras & CLI_EXTRA_SHA256 ? "\\t%{sha256}" : "", tsv_tails[i]);
    if (cli_template_parse(&f->tsv[i], text, strlen(text), err, errlen) < 0) {
      cli_format_free(f);
      return -1;
    }
  }
  return 0;
}

void cli_format_free(cli_format_t *f) {
  int i;

  cli_template_free(&f->user);
  for (i = 0; i < 3; i++)
    cli_template_free(&f->tsv[i]);
}

/* ",\"key\":" and a quoted, escaped string, or null. Returns how many
 * bytes were not valid UTF-8 (written as U+FFFD). */
static size_t json_string(cli_str_t *out, const char *key, const char *s,
                          size_t n) {
  size_t lost;

  cli_str_puts(out, key);
  if (s == NULL) {
    cli_str_append(out, "null", 4);
    return 0;
  }
  cli_str_append(out, "\"", 1);
  lost = cli_escape_json(out, s, n);
  cli_str_append(out, "\"", 1);
  return lost;
}

/* ",\"url_hex\":" and the URL's bytes in hex, for a URL that JSON text
 * could not carry whole: the journal matches on these. */
static void json_hex(cli_str_t *out, const char *s, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char pair[2];
  size_t i;

  cli_str_puts(out, ",\"url_hex\":\"");
  for (i = 0; i < n; i++) {
    pair[0] = digits[(unsigned char)s[i] >> 4];
    pair[1] = digits[(unsigned char)s[i] & 0xf];
    cli_str_append(out, pair, 2);
  }
  cli_str_append(out, "\"", 1);
}

/* JSON has no NaN or infinity; a time that is not finite is unknown. */
static void json_seconds(cli_str_t *out, const char *key, double v) {
  cli_str_puts(out, key);
  if (!isfinite(v))
    cli_str_append(out, "null", 4);
  else
    cli_str_printf(out, "%.6f", v);
}

void cli_format_json(const cli_record_t *rec, unsigned extras, cli_str_t *out) {
  const uvfetch_result_t *r = &rec->r;
  const char *name = r->error != 0 ? uvfetch_err_name(r->error) : NULL;
  const char *msg = r->message != NULL ? r->message : "";

  size_t lost = json_string(out, "{\"url\":", rec->url.p, rec->url.n);

  json_string(out, ",\"effective_url\":", rec->effective_url.p,
              rec->effective_url.n);
  cli_str_printf(out, ",\"ordinal\":%" PRIu64 ",\"ok\":%s", r->ordinal,
                 r->ok ? "true" : "false");
  json_string(out, ",\"error\":", name, name != NULL ? strlen(name) : 0);
  cli_str_printf(out, ",\"curl_code\":%d", r->curl_code);
  json_string(out, ",\"message\":", msg, strlen(msg));
  cli_str_printf(out,
                 ",\"http_code\":%ld,\"http_version\":%d,\"redirects\":%ld"
                 ",\"bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64,
                 r->http_code, r->http_version, r->redirects, r->bytes,
                 r->wire_bytes);
  json_seconds(out, ",\"total_time\":", r->total_time);
  json_seconds(out, ",\"ttfb\":", r->ttfb);
  cli_str_printf(out, ",\"attempts\":%u", r->attempts);
  json_seconds(out, ",\"start_time\":", r->start_time);
  json_seconds(out, ",\"dns_time\":", r->dns_time);
  json_seconds(out, ",\"connect_time\":", r->connect_time);
  json_seconds(out, ",\"tls_time\":", r->tls_time);
  cli_str_printf(out, ",\"slot\":%u", r->slot);
  if (extras & CLI_EXTRA_SAVED) {
    json_string(out, ",\"saved\":", rec->saved,
                rec->saved != NULL ? strlen(rec->saved) : 0);
  }
  if (extras & CLI_EXTRA_SHA256) {
    json_string(out, ",\"sha256\":", rec->sha256,
                rec->sha256 != NULL ? strlen(rec->sha256) : 0);
  }
  if (lost > 0)
    json_hex(out, rec->url.p, rec->url.n);
  cli_str_append(out, "}\n", 2);
}

void cli_format_record(const cli_format_t *f, const cli_record_t *rec,
                       cli_str_t *out) {
  int kind;

  if (f->json) {
    cli_format_json(rec, f->extras, out);
    return;
  }
  if (f->custom) {
    cli_template_render(&f->user, rec, "", out);
    return;
  }
  if (!rec->r.ok)
    kind = 2;
  else if (rec->r.error != 0)
    kind = 1;
  else
    kind = 0;
  cli_template_render(&f->tsv[kind], rec, "-", out);
}
