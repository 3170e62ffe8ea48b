/* The command line. One table, sorted by long name, is the only list of
 * options: the parser looks names up in it and --help prints it. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Bounds for numeric values. A larger -j than this is not a cap but a
 * typo; seconds stop where milliseconds would overflow a 32-bit long. */
#define PARALLEL_MAX 100000
#define SECONDS_MAX 2147483.0

/* Where option descriptions start in --help. */
#define HELP_COLUMN 30

/* Where a handler reports: the option as the user spelled it, and room
 * for one line naming the problem. */
typedef struct parse_ctx_s {
  const char *name;
  char *err;
  size_t errlen;
} parse_ctx_t;

/* Sets what the option means in cfg; `value` is NULL for an option that
 * takes none. Returns 0, or -1 after writing to ctx->err. */
typedef int (*option_set_fn)(cli_config_t *cfg, const char *value,
                             parse_ctx_t *ctx);

typedef struct option_s {
  const char *name;    /* long name, without "--" */
  char letter;         /* short name, or 0 */
  const char *metavar; /* the value's name in --help; NULL: takes none */
  option_set_fn set;
  const char *help;
} option_t;

static int fail(parse_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(parse_ctx_t *ctx, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(ctx->err, ctx->errlen, fmt, ap);
  va_end(ap);
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
    return fail(ctx,
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
  return fail(ctx,
              "bad value '%s' for '%s': expected seconds from 0 to %.0f "
              "(fractions allowed)",
              value, ctx->name, SECONDS_MAX);
}

static int set_cacert(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.cacert = value;
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
    return fail(ctx, "option '%s' given twice", ctx->name);
  if (value[0] == '\0')
    return fail(ctx, "option '%s' needs a file name", ctx->name);
  cfg->input = value;
  return 0;
}

static int set_insecure(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  cfg->fetch.verify_tls = 0;
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

static int set_ordered(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->fetch.ordered = 1;
  return 0;
}

static int set_parallel(cli_config_t *cfg, const char *value,
                        parse_ctx_t *ctx) {
  long long v;

  if (parse_integer(value, 1, PARALLEL_MAX, &v, ctx) < 0)
    return -1;
  cfg->fetch.max_concurrent = (unsigned)v;
  return 0;
}

static int set_proto(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  if (value[0] == '\0')
    return fail(ctx, "option '%s' needs a list of schemes", ctx->name);
  cfg->fetch.protocols = value;
  return 0;
}

static int set_user_agent(cli_config_t *cfg, const char *value,
                          parse_ctx_t *ctx) {
  cfg->fetch.user_agent = value;
  return 0;
}

static int set_version(cli_config_t *cfg, const char *value, parse_ctx_t *ctx) {
  cfg->version = 1;
  return 0;
}

/* Sorted by long name. */
static const option_t options[] = {
    {"cacert", 0, "FILE", set_cacert,
     "verify servers with the CA bundle in FILE"},
    {"connect-timeout", 0, "SEC", set_connect_timeout,
     "give up connecting after SEC seconds"},
    {"help", 'h', NULL, set_help, "print this help and exit"},
    {"http1.1", 0, NULL, set_http11, "use HTTP/1.1"},
    {"http2", 0, NULL, set_http2, "use HTTP/2 where the server offers it"},
    {"input", 'i', "FILE", set_input,
     "read URLs from FILE ('-': standard input)"},
    {"insecure", 'k', NULL, set_insecure,
     "do not verify TLS certificates or host names"},
    {"json", 0, NULL, set_json, "print JSON Lines, every result field"},
    {"max-filesize", 0, "BYTES", set_max_filesize,
     "fail a URL whose body is larger than BYTES"},
    {"max-redirs", 0, "N", set_max_redirs, "follow at most N redirects (10)"},
    {"max-time", 'm', "SEC", set_max_time,
     "give up on a URL after SEC seconds"},
    {"no-compressed", 0, NULL, set_compressed_off,
     "do not ask for compressed responses"},
    {"ordered", 0, NULL, set_ordered,
     "print in input order, not completion order"},
    {"parallel", 'j', "N", set_parallel, "fetch at most N URLs at once (50)"},
    {"proto", 0, "LIST", set_proto,
     "allowed schemes, also on redirect (http,https)"},
    {"user-agent", 'A', "STR", set_user_agent,
     "send STR as the User-Agent header"},
    {"version", 'V', NULL, set_version, "print versions and exit"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const option_t *find_long(const char *name, size_t len) {
  size_t i;

  for (i = 0; i < NOPTIONS; i++) {
    if (strlen(options[i].name) == len &&
        memcmp(options[i].name, name, len) == 0)
      return &options[i];
  }
  return NULL;
}

static const option_t *find_short(char letter) {
  size_t i;

  for (i = 0; i < NOPTIONS; i++) {
    if (options[i].letter == letter)
      return &options[i];
  }
  return NULL;
}

/* "--name", "--name=value" or "--name value". Returns how many extra
 * arguments were used (0 or 1), or -1 on error. */
static int parse_long(cli_config_t *cfg, char *arg, char *next,
                      parse_ctx_t *ctx) {
  const char *name = arg + 2;
  const char *eq = strchr(name, '=');
  size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
  const option_t *opt = find_long(name, len);
  char spelled[64];

  if (opt == NULL) {
    return fail(ctx, "unknown option '%.*s' (see uvfetch --help)",
                (int)(len + 2), arg);
  }
  snprintf(spelled, sizeof(spelled), "--%s", opt->name);
  ctx->name = spelled;
  if (opt->metavar == NULL) {
    if (eq != NULL)
      return fail(ctx, "option '%s' takes no value", ctx->name);
    return opt->set(cfg, NULL, ctx);
  }
  if (eq != NULL)
    return opt->set(cfg, eq + 1, ctx);
  if (next == NULL) {
    return fail(ctx, "option '%s' needs a value %s (see uvfetch --help)",
                ctx->name, opt->metavar);
  }
  if (opt->set(cfg, next, ctx) < 0)
    return -1;
  return 1;
}

/* "-k", "-j4", "-j 4", or a cluster like "-kj4". Returns how many extra
 * arguments were used (0 or 1), or -1 on error. */
static int parse_short(cli_config_t *cfg, char *arg, char *next,
                       parse_ctx_t *ctx) {
  const char *p;

  for (p = arg + 1; *p != '\0'; p++) {
    const option_t *opt = find_short(*p);
    char spelled[3] = {'-', *p, '\0'};

    if (opt == NULL) {
      return fail(ctx, "unknown option '%s' (see uvfetch --help)", spelled);
    }
    ctx->name = spelled;
    if (opt->metavar == NULL) {
      if (opt->set(cfg, NULL, ctx) < 0)
        return -1;
      continue;
    }
    if (p[1] != '\0')
      return opt->set(cfg, p + 1, ctx);
    if (next == NULL) {
      return fail(ctx, "option '%s' needs a value %s (see uvfetch --help)",
                  spelled, opt->metavar);
    }
    if (opt->set(cfg, next, ctx) < 0)
      return -1;
    return 1;
  }
  return 0;
}

int cli_options_parse(cli_config_t *cfg, int argc, char **argv, char *err,
                      size_t errlen) {
  parse_ctx_t ctx = {NULL, err, errlen};
  int only_urls = 0;
  int i;

  memset(cfg, 0, sizeof(*cfg));
  uvfetch_options_init(&cfg->fetch);
  /* URL arguments are gathered at the front of argv + 1: slot nurls is
   * never ahead of the argument being read, and options are stored as
   * pointers to their strings, not to their slots. */
  cfg->urls = argv + 1;

  for (i = 1; i < argc; i++) {
    char *arg = argv[i];
    char *next = i + 1 < argc ? argv[i + 1] : NULL;
    int used;

    if (only_urls || arg[0] != '-' || arg[1] == '\0') {
      cfg->urls[cfg->nurls++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_urls = 1;
      continue;
    }
    if (arg[1] == '-')
      used = parse_long(cfg, arg, next, &ctx);
    else
      used = parse_short(cfg, arg, next, &ctx);
    if (used < 0)
      return -1;
    i += used;
  }
  return 0;
}

void cli_options_usage(FILE *out) {
  size_t i;

  fputs("Usage: uvfetch [OPTIONS] [URL...]\n"
        "Fetch many URLs at once and print one line for each.\n"
        "\n"
        "URLs come from the arguments, then from -i FILE; with neither, "
        "from standard\n"
        "input. One URL a line; blank lines and lines starting with '#' "
        "are skipped.\n"
        "\n"
        "Options (SEC may have a fraction, as in 0.5):\n",
        out);
  for (i = 0; i < NOPTIONS; i++) {
    const option_t *opt = &options[i];
    char head[48];
    int n;

    if (opt->letter != 0) {
      n = snprintf(head, sizeof(head), "  -%c, --%s%s%s", opt->letter,
                   opt->name, opt->metavar ? " " : "",
                   opt->metavar ? opt->metavar : "");
    } else {
      n = snprintf(head, sizeof(head), "      --%s%s%s", opt->name,
                   opt->metavar ? " " : "", opt->metavar ? opt->metavar : "");
    }
    if (n < HELP_COLUMN)
      fprintf(out, "%-*s%s\n", HELP_COLUMN, head, opt->help);
    else
      fprintf(out, "%s\n%*s%s\n", head, HELP_COLUMN, "", opt->help);
  }
  fputs("\n"
        "Output, one line per URL in completion order (--ordered: input "
        "order):\n"
        "  URL<TAB>BYTES                        fetched (any HTTP status)\n"
        "  URL<TAB>-<TAB>ERROR<TAB>MESSAGE      failed\n"
        "Tabs, newlines, other control bytes and backslashes in a field "
        "are escaped\n"
        "as \\t, \\n, \\xHH and \\\\. With --json, each line is an "
        "object with url,\n"
        "effective_url, ordinal, ok, error, curl_code, message, http_code,\n"
        "http_version, redirects, bytes, wire_bytes, total_time, ttfb and "
        "attempts.\n"
        "\n"
        "Exit status: 0 every URL fetched, 1 some URL failed, 2 usage "
        "error,\n"
        "130 interrupted (SIGINT), 143 terminated (SIGTERM).\n",
        out);
}
