/* The Chrome trace-event file (--trace). See trace.h. Calls down only:
 * the buffered writer (util/outbuf.c), the JSON escaper and the string
 * builder. */
#include "report/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "record/escape.h"
#include "record/redact.h"
#include "util/str.h"

int cli_trace_open(cli_trace_t *t, uv_loop_t *loop, const char *path,
                   unsigned nslots, cli_outbuf_error_cb on_error) {
  int err;

  memset(t, 0, sizeof(*t));
  t->nslots = nslots;
  t->seen = calloc((nslots + 7) / 8, 1);
  if (t->seen == NULL)
    return -ENOMEM;
  t->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
  if (t->fd < 0) {
    err = -errno;
    free(t->seen);
    t->seen = NULL;
    return err;
  }
  err = cli_outbuf_init(&t->out, loop, t->fd, on_error);
  if (err < 0) {
    close(t->fd);
    free(t->seen);
    t->seen = NULL;
    return err;
  }
  /* A file is never line-buffered: records flush once per loop turn. */
  t->out.line_buffered = 0;
  cli_outbuf_puts(&t->out, "[\n{\"name\":\"process_name\",\"ph\":\"M\","
                           "\"pid\":1,\"args\":{\"name\":\"uvfetch\"}}");
  t->events = 1;
  return 0;
}

static void begin_event(cli_trace_t *t, cli_str_t *s) {
  cli_str_puts(s, t->events++ > 0 ? ",\n" : "\n");
}

static double micros(double seconds) {
  return isfinite(seconds) && seconds > 0 ? seconds * 1e6 : 0.0;
}

/* The first record run on a slot names its track. */
static void name_track(cli_trace_t *t, unsigned slot, cli_str_t *s) {
  if (slot >= t->nslots || (t->seen[slot / 8] & (1u << (slot % 8))))
    return;
  t->seen[slot / 8] |= (unsigned char)(1u << (slot % 8));
  begin_event(t, s);
  cli_str_printf(s,
                 "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,"
                 "\"tid\":%u,\"args\":{\"name\":\"slot %u\"}}",
                 slot, slot);
  begin_event(t, s);
  cli_str_printf(s,
                 "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,"
                 "\"tid\":%u,\"args\":{\"sort_index\":%u}}",
                 slot, slot);
}

/* A phase from `from` to `to` seconds into the transfer, when not empty. */
static void phase(cli_trace_t *t, cli_str_t *s, const char *name, double start,
                  unsigned slot, double from, double to) {
  if (!(to > from))
    return;
  begin_event(t, s);
  cli_str_printf(s,
                 "{\"name\":\"%s\",\"cat\":\"phase\",\"ph\":\"X\","
                 "\"ts\":%.3f,\"dur\":%.3f,\"pid\":1,\"tid\":%u}",
                 name, start + micros(from), micros(to) - micros(from), slot);
}

static double clamp(double v, double lo, double hi) {
  if (!(v > lo))
    return lo;
  return v < hi ? v : hi;
}

/* Does the URL name https (where a TLS handshake follows the connect)? */
static int is_https(const cli_bytes_t *url) {
  return url->n >= 8 && strncasecmp(url->p, "https://", 8) == 0;
}

/* The phases of a transfer that got no response: the time after the last
 * step it finished belongs to the step that failed, not to a wait for a
 * response that no request was sent for. */
static void failed_phases(cli_trace_t *t, cli_str_t *s, const cli_record_t *rec,
                          double start, double dns, double conn, double total) {
  const uvfetch_result_t *r = &rec->r;
  unsigned slot = r->slot;

  if (r->error == UVFETCH_ERESOLVE) {
    phase(t, s, "dns", start, slot, 0.0, total);
    return;
  }
  phase(t, s, "dns", start, slot, 0.0, dns);
  /* libcurl 7.88 reports no connect time for a connection whose TLS
   * handshake failed: then the handshake's phase starts after the name. */
  if (r->error == UVFETCH_ETLS) {
    phase(t, s, "connect", start, slot, dns, conn);
    phase(t, s, "tls", start, slot, conn, total);
    return;
  }
  if (!(r->connect_time > 0)) {
    phase(t, s, "connect", start, slot, dns, total);
    return;
  }
  phase(t, s, "connect", start, slot, dns, conn);
  if (!(r->tls_time > 0) && is_https(&rec->url)) {
    phase(t, s, "tls", start, slot, conn, total);
    return;
  }
  phase(t, s, "tls", start, slot, conn,
        r->tls_time > 0 ? clamp(r->tls_time, conn, total) : conn);
  phase(t, s, "wait", start, slot,
        r->tls_time > 0 ? clamp(r->tls_time, conn, total) : conn, total);
}

void cli_trace_record(cli_trace_t *t, const cli_record_t *rec) {
  const uvfetch_result_t *r = &rec->r;
  cli_str_t s = CLI_STR_INIT;
  cli_str_t shown = CLI_STR_INIT;
  double start = micros(r->start_time);
  double total =
      isfinite(r->total_time) && r->total_time > 0 ? r->total_time : 0.0;
  double dns, conn, tls, first;

  if (r->attempts == 0)
    return;
  /* libcurl's times are cumulative from the start; a step a reused
   * connection skipped is 0, so each point is at least the one before. */
  dns = clamp(r->dns_time, 0.0, total);
  conn = clamp(r->connect_time, dns, total);
  tls = r->tls_time > 0 ? clamp(r->tls_time, conn, total) : conn;
  first = r->ttfb > 0 ? clamp(r->ttfb, tls, total) : total;

  name_track(t, r->slot, &s);
  begin_event(t, &s);
  cli_str_puts(&s, "{\"name\":\"");
  cli_redact_url(&shown, rec->url.p, rec->url.n);
  if (!shown.oom)
    cli_escape_json(&s, shown.p, shown.len);
  cli_str_free(&shown);
  cli_str_printf(&s,
                 "\",\"cat\":\"transfer\",\"ph\":\"X\",\"ts\":%.3f,"
                 "\"dur\":%.3f,\"pid\":1,\"tid\":%u,\"args\":{"
                 "\"ordinal\":%" PRIu64 ",\"http_code\":%ld,"
                 "\"bytes\":%" PRIu64 ",\"attempts\":%u,\"error\":",
                 start, micros(total), r->slot, r->ordinal, r->http_code,
                 r->bytes, r->attempts);
  if (r->error != 0)
    cli_str_printf(&s, "\"%s\"}}", uvfetch_err_name(r->error));
  else
    cli_str_puts(&s, "null}}");
  if (r->http_code == 0 && !(r->ttfb > 0)) {
    failed_phases(t, &s, rec, start, dns, conn, total);
  } else {
    phase(t, &s, "dns", start, r->slot, 0.0, dns);
    phase(t, &s, "connect", start, r->slot, dns, conn);
    phase(t, &s, "tls", start, r->slot, conn, tls);
    phase(t, &s, "wait", start, r->slot, tls, first);
    phase(t, &s, "download", start, r->slot, first, total);
  }
  if (!s.oom)
    cli_outbuf_write(&t->out, s.p, s.len);
  cli_outbuf_end_record(&t->out);
  cli_str_free(&s);
}

void cli_trace_counter(cli_trace_t *t, const char *name, double seconds,
                       unsigned value) {
  cli_str_t s = CLI_STR_INIT;

  begin_event(t, &s);
  cli_str_printf(&s,
                 "{\"name\":\"%s\",\"ph\":\"C\",\"ts\":%.3f,\"pid\":1,"
                 "\"args\":{\"value\":%u}}",
                 name, micros(seconds), value);
  if (!s.oom)
    cli_outbuf_write(&t->out, s.p, s.len);
  cli_outbuf_end_record(&t->out);
  cli_str_free(&s);
}

void cli_trace_close(cli_trace_t *t) {
  cli_outbuf_puts(&t->out, "\n]\n");
  cli_outbuf_close(&t->out);
  close(t->fd);
  t->fd = -1;
  free(t->seen);
  t->seen = NULL;
}
