/* The option table: every option with its setter (which checks and
 * stores its value) and its documentation, and the checks that span
 * options. One table, sorted by long name, is the only list of options:
 * the parser (cmdline.c) looks names up in it, --help prints it, and the
 * man page's option list is generated from it. Calls down only: the
 * template and shard parsers that check a value. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record/escape.h"
#include "record/template.h"

/* Bounds for numeric values. A larger -j than this is not a cap but a
 * typo; seconds stop where milliseconds would overflow a 32-bit long. */
#define PARALLEL_MAX 100000
#define AUTO_MAX 1000 /* -j auto's ceiling when none is given */
#define SECONDS_MAX 2147483.0
#define RETRIES_MAX 1000000

/* curl's --speed-time when only --speed-limit is given, and its
 * --speed-limit when only --speed-time is. */
#define SPEED_TIME_DEFAULT 30
#define SPEED_LIMIT_DEFAULT 1

typedef cli_parse_ctx_t parse_ctx_t;

/* The values a message quotes are escaped as records escape them, so the
 * message stays one line whatever bytes the user gave. */
int cli_options_fail(parse_ctx_t *ctx, const char *fmt, ...) {
  char raw[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  cli_escape_line(ctx->err, ctx->errlen, raw);
  return -1;
}

/* A whole number in [min, max], in decimal, nothing else around it. */
static int parse_integer(const char *value, long long min, long long max,
                         long long *out, parse_ctx_t *ctx) {
  char *end;
  long long v;

  errno = 0;
  v = strtoll(value, &end, 10);
  if (value[0] == '\0' ||
      !(value[0] == '-' || (value[0] >= '0' && value[0] <= '9')) ||
      *end != '\0' || errno == ERANGE || v < min || v > max) {
    return cli_options_fail(
        ctx,
        "bad value '%s' for '%s': expected a whole number from "
        "%lld to %lld",
        value, ctx->name, min, max);
  }
  *out = v;
  return 0;
}

/* Seconds as plain decimal digits with an optional fraction ("2", "0.5",
 * ".25"), returned as milliseconds rounded up so that a small non-zero
 * time stays non-zero. Hex, exponents, "inf" and "nan" are refused. */
static int parse_seconds(const char *value, long *ms, parse_ctx_t *ctx) {
  const char *p;
  int digits = 0;
  int dots = 0;
  double v;

  for (p = value; *p != '\0'; p++) {
    if (*p >= '0' && *p <= '9')
      digits++;
    else if (*p == '.')
      dots++;
    else
      break;
  }
  if (*p != '\0' || digits == 0 || dots > 1)
    goto bad;
  v = strtod(value, NULL);
  if (!(v >= 0.0 && v <= SECONDS_MAX))
    goto bad;
  v *= 1000.0;
  *ms = (long)v;
  if ((double)*ms < v)
    (*ms)++;
  return 0;

bad:
  return cli_options_fail(
      ctx,
      "bad value '%s' for '%s': expected seconds from 0 to %.0f "
      "(fractions allowed)",
      value, ctx->name, SECONDS_MAX);
}

/* A value that names something (a file, a directory) cannot be empty. */
static int need_value(const char *value, const char *what, parse_ctx_t *ctx) {
  if (value[0] == '\0')
    return cli_options_fail(ctx, "option '%s' needs %s", ctx->name, what);
  return 0;
}

static int set_cacert(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.cacert = value;
  return 0;
}

static int set_compressed(cli_config_t *cfg, const char *value,
                          parse_ctx_t *ctx) {
  cfg->fetch.compressed = 1;
  return 0;
}

static int set_compressed_off(cli_config_t *cfg, const char *value,
                              parse_ctx_t *ctx) {
  cfg->fetch.compressed = 0;
  return 0;
}

static int set_connect_timeout(cli_config_t *cfg, const char *value,
                               parse_ctx_t *ctx) {
  return parse_seconds(value, &cfg->fetch.connect_timeout_ms, ctx);
}

static int set_dns_cache_time(cli_config_t *cfg, const char *value,
                              parse_ctx_t *ctx) {
  return parse_seconds(value, &cfg->fetch.dns_cache_ms, ctx);
}

static int set_fail(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fail = 1;
  return 0;
}

/* "Name: value", or curl's "Name:" (remove a header libcurl would send)
 * and "Name;" (send it empty). CR and LF would start another header. */
static int set_header(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  size_t name = strcspn(value, ":; \t\r\n");

  if (name == 0 || (value[name] != ':' && value[name] != ';') ||
      strpbrk(value, "\r\n") != NULL) {
    return cli_options_fail(
        ctx,
        "bad value '%s' for '%s': expected \"Name: value\" on one "
        "line",
        value, ctx->name);
  }
  if (cfg->headers == NULL) {
    /* At most one header per argument, and the NULL at the end. */
    cfg->headers = calloc((size_t)ctx->argc + 1, sizeof(*cfg->headers));
    if (cfg->headers == NULL)
      return cli_options_fail(ctx, "out of memory");
  }
  cfg->headers[cfg->nheaders++] = value;
  cfg->fetch.headers = cfg->headers;
  return 0;
}

/* curl's HOST:PORT:ADDR[,ADDR...]; the library checks the addresses. */
static int set_resolve(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  const char *c1 = strchr(value, ':');
  const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
  char *end = NULL;
  long port = c1 != NULL ? strtol(c1 + 1, &end, 10) : 0;

  if (c1 == NULL || c2 == NULL || c1 == value || end != c2 || port < 1 ||
      port > 65535 || c2[1] == '\0' || strpbrk(value, "\r\n ") != NULL ||
      (c1 - value == 1 && value[0] == '*')) {
    return cli_options_fail(ctx,
                            "bad value '%s' for '%s': expected "
                            "HOST:PORT:ADDRESS[,ADDRESS...]",
                            value, ctx->name);
  }
  if (cfg->resolves == NULL) {
    cfg->resolves = calloc((size_t)ctx->argc + 1, sizeof(*cfg->resolves));
    if (cfg->resolves == NULL)
      return cli_options_fail(ctx, "out of memory");
  }
  cfg->resolves[cfg->nresolves++] = value;
  cfg->fetch.resolve = cfg->resolves;
  return 0;
}

static int set_idle_timeout(cli_config_t *cfg, const char *value,
                            parse_ctx_t *ctx) {
  return parse_seconds(value, &cfg->fetch.idle_timeout_ms, ctx);
}

static int set_location_trusted(cli_config_t *cfg, const char *value,
                                parse_ctx_t *ctx) {
  cfg->fetch.location_trusted = 1;
  return 0;
}

static int set_help(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->help = 1;
  return 0;
}

static int set_http11(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.http_version = 11;
  return 0;
}

static int set_http2(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.http_version = 20;
  return 0;
}

static int set_input(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  if (cfg->input != NULL)
    return cli_options_fail(ctx, "option '%s' given twice", ctx->name);
  if (need_value(value, "a file name", ctx) < 0)
    return -1;
  cfg->input = value;
  return 0;
}

static int set_insecure(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  cfg->fetch.verify_tls = 0;
  return 0;
}

static int set_journal(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  if (need_value(value, "a file name", ctx) < 0)
    return -1;
  cfg->journal = value;
  return 0;
}

static int set_json(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->json = 1;
  return 0;
}

static int set_max_filesize(cli_config_t *cfg, const char *value,
                            parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 0, INT64_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.max_filesize = (int64_t)v;
  return 0;
}

static int set_max_host(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 0, PARALLEL_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.max_per_host = (unsigned)v;
  return 0;
}

static int set_max_redirs(cli_config_t *cfg, const char *value,
                          parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 0, INT_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.max_redirects = (long)v;
  return 0;
}

static int set_max_time(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  return parse_seconds(value, &cfg->fetch.timeout_ms, ctx);
}

static int set_no_location(cli_config_t *cfg, const char *value,
                           parse_ctx_t *ctx) {
  cfg->fetch.follow_redirects = 0;
  return 0;
}

static int set_no_progress(cli_config_t *cfg, const char *value,
                           parse_ctx_t *ctx) {
  cfg->progress = 0;
  return 0;
}

static int set_ordered(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.ordered = 1;
  return 0;
}

static int set_output_dir(cli_config_t *cfg, const char *value,
                          parse_ctx_t *ctx) {
  if (need_value(value, "a directory", ctx) < 0)
    return -1;
  cfg->output_dir = value;
  return 0;
}

/* N, or auto[:MAX]: the limit found while the run goes, MAX its ceiling
 * (AUTO_MAX when not given). */
static int set_parallel(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  long long v = AUTO_MAX;
  int adaptive =
      strncmp(value, "auto", 4) == 0 && (value[4] == '\0' || value[4] == ':');

  /* One message for every bad form, naming both kinds of value (it
   * replaces parse_integer's). */
  if (adaptive && value[4] == ':' &&
      parse_integer(value + 5, 1, PARALLEL_MAX, &v, ctx) < 0)
    adaptive = -1;
  if ((!adaptive && parse_integer(value, 1, PARALLEL_MAX, &v, ctx) < 0) ||
      adaptive < 0)
    return cli_options_fail(ctx,
                            "bad value '%s' for '%s': expected a whole "
                            "number from 1 to %d, or auto, or auto:MAX",
                            value, ctx->name, PARALLEL_MAX);
  cfg->fetch.adaptive = adaptive;
  cfg->fetch.max_concurrent = (unsigned)v;
  return 0;
}

static int set_progress(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  cfg->progress = 1;
  return 0;
}

/* The schemes libcurl 7.88 can know, for --proto; one it was built
 * without is refused when the fetcher starts. */
static const char *const schemes[] = {
    "dict",  "file",  "ftp",   "ftps",   "gopher", "gophers", "http",  "https",
    "imap",  "imaps", "ldap",  "ldaps",  "mqtt",   "pop3",    "pop3s", "rtmp",
    "rtmpe", "rtmps", "rtmpt", "rtmpte", "rtmpts", "rtsp",    "scp",   "sftp",
    "smb",   "smbs",  "smtp",  "smtps",  "telnet", "tftp",    "ws",    "wss"};

#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))
#define ALL_SCHEMES ((1ULL << NSCHEMES) - 1)

static int scheme_index(const char *name, size_t n) {
  size_t i;

  for (i = 0; i < NSCHEMES; i++) {
    if (strlen(schemes[i]) == n && strncasecmp(schemes[i], name, n) == 0)
      return (int)i;
  }
  return -1;
}

/* curl's syntax: items split by commas, each a scheme or "all" after an
 * optional '+' (allow; the default), '-' (deny) or '=' (allow only this).
 * A list with no '+', '-' or '=' is the exact set of schemes, as it always
 * was here; one with them starts from the default (http,https), as curl's
 * starts from its own default (all). The set goes to the library as a
 * plain list. */
static int set_proto(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  uint64_t set = 0;
  const char *p = value;
  size_t out = 0;
  size_t i;

  if (need_value(value, "a list of schemes", ctx) < 0)
    return -1;
  if (strpbrk(value, "+-=") != NULL)
    set = 1ULL << scheme_index("http", 4) | 1ULL << scheme_index("https", 5);
  while (*p != '\0') {
    char action = '+';
    size_t n;
    uint64_t bits;
    int k;

    while (*p == ',' || *p == ' ')
      p++;
    if (*p == '\0')
      break;
    while (*p == '+' || *p == '-' || *p == '=')
      action = *p++;
    n = strcspn(p, ", ");
    if (n == 3 && strncasecmp(p, "all", 3) == 0) {
      bits = ALL_SCHEMES;
    } else {
      k = scheme_index(p, n);
      if (k < 0) {
        return cli_options_fail(ctx,
                                "bad value '%s' for '%s': unknown scheme "
                                "'%.*s' (expected a list such as "
                                "\"http,https\", \"=https\" or "
                                "\"-all,+https\")",
                                value, ctx->name, (int)n, p);
      }
      bits = 1ULL << k;
    }
    if (action == '-')
      set &= ~bits;
    else if (action == '=')
      set = bits;
    else
      set |= bits;
    p += n;
  }
  if (set == 0) {
    return cli_options_fail(ctx, "bad value '%s' for '%s': no scheme allowed",
                            value, ctx->name);
  }
  if (set == ALL_SCHEMES) {
    snprintf(cfg->protocols, sizeof(cfg->protocols), "all");
  } else {
    for (i = 0; i < NSCHEMES; i++) {
      if (set & (1ULL << i)) {
        out +=
            (size_t)snprintf(cfg->protocols + out, sizeof(cfg->protocols) - out,
                             "%s%s", out > 0 ? "," : "", schemes[i]);
      }
    }
  }
  cfg->fetch.protocols = cfg->protocols;
  return 0;
}

static int set_proxy(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.proxy = value;
  return 0;
}

/* curl's form: "N/U" with U one of s, m, h, d; a bare N is per hour. */
static int set_rate(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  const char *slash = strchr(value, '/');
  double per = 3600.0;
  char *end;
  long long n;

  if (value[0] < '0' || value[0] > '9')
    goto bad;
  errno = 0;
  n = strtoll(value, &end, 10);
  if (errno == ERANGE || n < 1 || n > 1000000000 ||
      end != (slash != NULL ? slash : value + strlen(value)))
    goto bad;
  if (slash != NULL) {
    if (slash[1] == '\0' || slash[2] != '\0')
      goto bad;
    switch (slash[1]) {
    case 's':
      per = 1.0;
      break;
    case 'm':
      per = 60.0;
      break;
    case 'h':
      per = 3600.0;
      break;
    case 'd':
      per = 86400.0;
      break;
    default:
      goto bad;
    }
  }
  cfg->fetch.rate = (double)n / per;
  return 0;

bad:
  return cli_options_fail(
      ctx,
      "bad value '%s' for '%s': expected N/s, N/m, N/h or N/d "
      "(N from 1 to 1000000000; a bare N is per hour)",
      value, ctx->name);
}

static int set_retry(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 0, RETRIES_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.retries = (unsigned)v;
  return 0;
}

static int set_retry_delay(cli_config_t *cfg, const char *value,
                           parse_ctx_t *ctx) {
  return parse_seconds(value, &cfg->fetch.retry_delay_ms, ctx);
}

static int set_retry_max_time(cli_config_t *cfg, const char *value,
                              parse_ctx_t *ctx) {
  return parse_seconds(value, &cfg->fetch.retry_max_time_ms, ctx);
}

static int set_sha256(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->sha256 = 1;
  return 0;
}

static int set_shard(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  if (cli_shard_parse(value, &cfg->shard) < 0) {
    return cli_options_fail(
        ctx,
        "bad value '%s' for '%s': expected K/N with 0 <= K < N "
        "<= 4294967296",
        value, ctx->name);
  }
  return 0;
}

static int set_speed_limit(cli_config_t *cfg, const char *value,
                           parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 0, LONG_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.low_speed_limit = (long)v;
  ctx->speed_limit_set = 1;
  return 0;
}

static int set_speed_time(cli_config_t *cfg, const char *value,
                          parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 0, (long long)SECONDS_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.low_speed_time = (long)v;
  ctx->speed_time_set = 1;
  return 0;
}

static int set_stats(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->stats = 1;
  return 0;
}

static int set_trace(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  if (need_value(value, "a file name", ctx) < 0)
    return -1;
  cfg->trace = value;
  return 0;
}

/* CR or LF would end the header and start another one (or a request). */
static int set_user_agent(cli_config_t *cfg, const char *value,
                          parse_ctx_t *ctx) {
  if (strpbrk(value, "\r\n") != NULL) {
    return cli_options_fail(ctx,
                            "bad value '%s' for '%s': CR and LF are not "
                            "allowed in a header",
                            value, ctx->name);
  }
  cfg->fetch.user_agent = value;
  return 0;
}

static int set_version(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->version = 1;
  return 0;
}

/* The template is checked here, so that a mistake in it is a usage error
 * naming the option, before anything is fetched. */
static int set_write_out(cli_config_t *cfg, const char *value,
                         parse_ctx_t *ctx) {
  cli_template_t t;
  char why[160];

  if (cli_template_parse(&t, value, strlen(value), why, sizeof(why)) < 0)
    return cli_options_fail(ctx, "bad value for '%s': %s", ctx->name, why);
  cli_template_free(&t);
  cfg->write_out = value;
  return 0;
}

/* Sorted by long name. */
static const cli_option_t options[] = {
    {"cacert", 0, "FILE", set_cacert,
     "verify servers with the CA bundle in FILE",
     "Without it, the system's CA bundle is used. A FILE that cannot be "
     "read is a usage error."},
    {"compressed", 0, NULL, set_compressed,
     "ask for compressed responses (the default)",
     "Accepted for curl users: uvfetch always asks for gzip, deflate and "
     "brotli and decodes them, unless --no-compressed is given."},
    {"connect-timeout", 0, "SEC", set_connect_timeout,
     "give up connecting after SEC seconds",
     "A URL whose connection is not made in time fails with "
     "UVFETCH_ETIMEDOUT. Without it, libcurl's default of 300 seconds "
     "applies."},
    {"dns-cache-time", 0, "SEC", set_dns_cache_time,
     "keep looked-up names SEC seconds (60)",
     "Names are looked up with the system's resolver (so /etc/hosts and "
     "resolv.conf count), on libuv's thread pool, and kept this long; "
     "0 looks a name up again for every URL that does not share a "
     "lookup with another. A failed lookup is kept for 10 seconds at "
     "most, so the many URLs of a dead host cost one lookup. A URL's wait "
     "for its name counts against --connect-timeout; a name that cannot "
     "be had fails the URL with UVFETCH_ERESOLVE."},
    {"fail", 'f', NULL, set_fail, "count HTTP status >= 400 as a failure",
     "The record is still the URL's fetch record, with its size, but it "
     "ends with the error UVFETCH_EHTTP and the message \"The requested "
     "URL returned error: CODE\" (JSON: \"error\": \"UVFETCH_EHTTP\", "
     "\"curl_code\": 22; \"ok\" stays true, since a response came); the "
     "exit status is 1, the journal does not count the URL done, and "
     "with --output-dir the body is not saved."},
    {"header", 'H', "STR", set_header,
     "send header STR (\"Name: value\"); repeatable",
     "Added to every request. As with curl, \"Name:\" removes a header "
     "libcurl would send and \"Name;\" sends it with an empty value."},
    {"help", 'h', NULL, set_help, "print this help and exit", NULL},
    {"http1.1", 0, NULL, set_http11, "use HTTP/1.1", NULL},
    {"http2", 0, NULL, set_http2, "use HTTP/2 where the server offers it",
     "Over TLS it is negotiated with ALPN; over plain HTTP libcurl asks "
     "for an upgrade (h2c), which a server may decline."},
    {"idle-timeout", 0, "SEC", set_idle_timeout,
     "fail a URL that stalls for SEC seconds (60)",
     "A URL that receives less than a byte a second for SEC seconds, "
     "waiting for its response or in its body, fails with "
     "UVFETCH_ETIMEDOUT, so that a server that stops sending cannot hold "
     "it for ever. 0 turns it off. --speed-limit, when given, replaces "
     "it."},
    {"input", 'i', "FILE", set_input,
     "read URLs from FILE ('-': standard input)",
     "URLs on the command line come first, then those of FILE."},
    {"insecure", 'k', NULL, set_insecure,
     "do not verify TLS certificates or host names", NULL},
    {"journal", 0, "FILE", set_journal,
     "append records to FILE; skip URLs done there",
     "Every record is appended to FILE as a JSON line (the --json record) "
     "as soon as it is made, before it is written anywhere else. At the "
     "start, FILE is read, and URLs that have a record there with "
     "\"error\": null are not fetched again: they make no new record but "
     "are counted as skipped in the summary. Failed URLs are tried again. "
     "A URL that is not valid UTF-8 is matched on its exact bytes (the "
     "record's \"url_hex\"). A torn last line, left by a run that was "
     "killed, is cut off, and a line longer than any record (4 MiB) is "
     "skipped without being held. FILE is locked while a run uses it. The "
     "set of done URLs is held in memory, 16 bytes per URL."},
    {"json", 0, NULL, set_json, "print JSON Lines, every result field", NULL},
    {"location-trusted", 0, NULL, set_location_trusted,
     "keep -H headers on redirects to other hosts",
     "As curl's: without it, a redirect to another scheme, host or port "
     "is fetched without the -H headers, whatever their names, so that "
     "keys and tokens stay with the host they were meant for."},
    {"max-filesize", 0, "BYTES", set_max_filesize,
     "fail a URL whose body is larger than BYTES",
     "The body is counted after decoding; the URL fails with "
     "UVFETCH_ETOOLARGE. 0, the default, is no limit, as with curl."},
    {"max-host", 0, "N", set_max_host,
     "run at most N transfers per host at once",
     "Per host and port. Transfers for a host at its cap wait while "
     "others start, so one big host does not hold back the rest. 0 (the "
     "default) is no cap."},
    {"max-redirs", 0, "N", set_max_redirs, "follow at most N redirects (10)",
     "A URL that needs more fails with UVFETCH_EREDIRECTS."},
    {"max-time", 'm', "SEC", set_max_time, "give up on a URL after SEC seconds",
     "Counted per attempt, from its start to the end of its body; the URL "
     "fails with UVFETCH_ETIMEDOUT."},
    {"no-compressed", 0, NULL, set_compressed_off,
     "do not ask for compressed responses", NULL},
    {"no-location", 0, NULL, set_no_location,
     "do not follow redirects; report them",
     "A redirect is then the URL's response: its status (3xx) and body "
     "make the record, and the Location is not fetched."},
    {"no-progress", 0, NULL, set_no_progress, "never show the progress line",
     NULL},
    {"ordered", 0, NULL, set_ordered,
     "print in input order, not completion order",
     "A slow URL holds back the records after it, within a bounded "
     "window: at most twice --parallel URLs run or wait past it."},
    {"output-dir", 'o', "DIR", set_output_dir,
     "save each body in DIR, one file per URL",
     "DIR is made if it does not exist, with any missing parent. A body "
     "is saved "
     "as HASH-TAIL, where HASH is 24 hex digits of the SHA-256 of the URL "
     "and TAIL the last segment of its path with every byte but letters, "
     "digits, '.', '_' and '-' made '_' (\"index\" when empty), so no name "
     "can leave DIR and different URLs never share a file. It is written "
     "to a temporary file \".NAME.PID.N.part\" and renamed when complete: "
     "a final name always holds a whole body. The body of a failed URL is "
     "not kept. The record gains the file's path (TSV: a field before the "
     "error; JSON: \"saved\")."},
    {"parallel", 'j', "N", set_parallel,
     "fetch at most N URLs at once (50; auto: find N)",
     "N may be auto, or auto:MAX: then the limit is found while the run "
     "goes, overall and per host, between 1 and MAX (1000). It starts at "
     "8, grows while answers come back about as fast as at low load, "
     "shrinks when they slow down, and backs off on 429 and 503 (until "
     "their Retry-After has passed), connect timeouts, resets and too "
     "many open files. --max-host stays a hard cap per host. The progress "
     "line shows the limit, --stats its lowest, median and highest values "
     "and when it settled, and --trace draws it as a counter track beside "
     "the transfers in flight."},
    {"progress", 0, NULL, set_progress,
     "show the progress line even if not a terminal",
     "The progress line is shown on standard error when it is a terminal: "
     "records done and failed, transfers in flight and queued, bytes, "
     "rate, and the share done and time left when the input's size is "
     "known. A one-line summary follows at the end."},
    {"proto", 0, "LIST", set_proto,
     "allowed schemes, also on redirect (http,https)",
     "As curl's --proto: a comma-separated list of schemes, where \"all\" "
     "is every scheme and an item may start with '+' (allow it), '-' "
     "(deny it) or '=' (allow only it), as in \"=https\" or "
     "\"-all,+https\". A list with none of them is exactly the schemes it "
     "names (curl would add them to all); one with them starts from the "
     "default, http and https. A URL with another scheme, also as a "
     "redirect's target, fails with UVFETCH_ESCHEME; an unknown scheme is "
     "a usage error naming it."},
    {"proxy", 'x', "URL", set_proxy, "use the proxy at URL",
     "Without it, the proxy comes from the environment as with curl "
     "(http_proxy, https_proxy, all_proxy, no_proxy). An empty URL uses "
     "no proxy at all."},
    {"rate", 0, "N/U", set_rate, "start at most N transfers per s, m, h or d",
     "As curl's --rate: U is s, m, h or d (a day); a bare N is per hour. "
     "Starts are spaced evenly over the whole run, whatever --parallel "
     "is."},
    {"resolve", 0, "H:P:ADDR", set_resolve,
     "use ADDR for host H, port P: no lookup; repeatable",
     "As curl's --resolve: ADDR may be a list, \"127.0.0.1,[::1]\", "
     "IPv6 addresses in brackets. It applies to redirects too. Through "
     "a proxy, it applies to the proxy's name."},
    {"retry", 0, "N", set_retry, "retry a transient failure N times",
     "Transient: could not connect, timed out, connection broken, or HTTP "
     "408, 429, 500, 502, 503 or 504. The wait before each retry doubles "
     "from --retry-delay, with jitter; a longer Retry-After from the "
     "server wins. A URL waiting to retry holds no --parallel slot. The "
     "record shows the attempts made (TSV: a field after the size; JSON: "
     "\"attempts\")."},
    {"retry-delay", 0, "SEC", set_retry_delay,
     "wait SEC before the first retry (1)", NULL},
    {"retry-max-time", 0, "SEC", set_retry_max_time,
     "start no retry SEC after a URL's first try",
     "0 (the default) is no limit."},
    {"sha256", 0, NULL, set_sha256, "add the body's SHA-256 to the record",
     "Computed on the body as it streams in, after decoding (TSV: a field "
     "before the error; JSON: \"sha256\"), for URLs that were fetched."},
    {"shard", 0, "K/N", set_shard,
     "fetch only the URLs of shard K of N (K from 0)",
     "A URL is in shard FNV-1a-64(URL) mod N, where FNV-1a-64 is the "
     "64-bit FNV-1a hash of the URL's bytes as given (offset basis "
     "14695981039346656037, prime 1099511628211). N runs with K = 0 to N "
     "- 1 split one list between them with no coordination; ordinals "
     "still count every input URL, so their records merge back in order."},
    {"speed-limit", 'Y', "BYTES", set_speed_limit,
     "fail a URL below BYTES/s for --speed-time",
     "A URL that receives fewer than BYTES bytes per second for "
     "--speed-time seconds (30 when not given) fails with "
     "UVFETCH_ETIMEDOUT."},
    {"speed-time", 'y', "SEC", set_speed_time,
     "how long --speed-limit waits, in seconds (30)",
     "Without --speed-limit, the limit is 1 byte per second."},
    {"stats", 0, NULL, set_stats, "print counts and rates on stderr at the end",
     "The summary line, then records by HTTP status class and by error, "
     "bytes decoded and on the wire, attempts and retries, and rates."},
    {"trace", 0, "FILE", set_trace, "write a Chrome trace of the run to FILE",
     "FILE holds trace events (JSON) for Perfetto or chrome://tracing: "
     "one track per --parallel slot, and per transfer a span with its "
     "phases dns, connect, tls, wait and download. A transfer that got no "
     "response ends in the phase that failed (dns, connect or tls). A "
     "password in a URL shows as ***."},
    {"user-agent", 'A', "STR", set_user_agent,
     "send STR as the User-Agent header", NULL},
    {"version", 'V', NULL, set_version, "print versions and exit", NULL},
    {"write-out", 'w', "TEMPLATE", set_write_out,
     "print each record as TEMPLATE (see below)",
     "Replaces the default output; see WRITE-OUT. Cannot be used with "
     "--json."},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

const cli_option_t *cli_options_table(size_t *n) {
  *n = NOPTIONS;
  return options;
}

/* What depends on more than one option. */
int cli_options_finish(cli_config_t *cfg, parse_ctx_t *ctx) {
  if (cfg->json && cfg->write_out != NULL) {
    ctx->name = "--write-out";
    return cli_options_fail(ctx,
                            "options '--json' and '--write-out' cannot be used "
                            "together");
  }
  if (ctx->speed_limit_set && !ctx->speed_time_set)
    cfg->fetch.low_speed_time = SPEED_TIME_DEFAULT;
  if (ctx->speed_time_set && !ctx->speed_limit_set)
    cfg->fetch.low_speed_limit = SPEED_LIMIT_DEFAULT;
  return 0;
}
