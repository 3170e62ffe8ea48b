/* Reading the command line with the option table: long and short
 * options, clustered short ones, values joined or apart, "--", and URL
 * arguments; then the --help text, also from the table. Calls down only:
 * the table and its setters (options.c). */
#include "options.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Where option descriptions start in --help. */
#define HELP_COLUMN 30

typedef cli_parse_ctx_t parse_ctx_t;

static const cli_option_t *find_long(const char *name, size_t len) {
  size_t noptions;
  const cli_option_t *options = cli_options_table(&noptions);
  size_t i;

  for (i = 0; i < noptions; i++) {
    if (strlen(options[i].name) == len &&
        memcmp(options[i].name, name, len) == 0)
      return &options[i];
  }
  return NULL;
}

static const cli_option_t *find_short(char letter) {
  size_t noptions;
  const cli_option_t *options = cli_options_table(&noptions);
  size_t i;

  for (i = 0; i < noptions; i++) {
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
  const cli_option_t *opt = find_long(name, len);
  char spelled[64];

  if (opt == NULL) {
    return cli_options_fail(ctx, "unknown option '%.*s' (see uvfetch --help)",
                            (int)(len + 2), arg);
  }
  snprintf(spelled, sizeof(spelled), "--%s", opt->name);
  ctx->name = spelled;
  if (opt->metavar == NULL) {
    if (eq != NULL)
      return cli_options_fail(ctx, "option '%s' takes no value", ctx->name);
    return opt->set(cfg, NULL, ctx);
  }
  if (eq != NULL)
    return opt->set(cfg, eq + 1, ctx);
  if (next == NULL) {
    return cli_options_fail(ctx,
                            "option '%s' needs a value %s (see uvfetch --help)",
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
    const cli_option_t *opt = find_short(*p);
    char spelled[3] = {'-', *p, '\0'};

    if (opt == NULL) {
      return cli_options_fail(ctx, "unknown option '%s' (see uvfetch --help)",
                              spelled);
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
      return cli_options_fail(
          ctx, "option '%s' needs a value %s (see uvfetch --help)", spelled,
          opt->metavar);
    }
    if (opt->set(cfg, next, ctx) < 0)
      return -1;
    return 1;
  }
  return 0;
}

int cli_options_parse(cli_config_t *cfg, int argc, char **argv, char *err,
                      size_t errlen) {
  parse_ctx_t ctx;
  int only_urls = 0;
  int i;

  memset(&ctx, 0, sizeof(ctx));
  ctx.err = err;
  ctx.errlen = errlen;
  ctx.argc = argc;
  memset(cfg, 0, sizeof(*cfg));
  uvfetch_options_init(&cfg->fetch);
  cfg->progress = -1;
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
  return cli_options_finish(cfg, &ctx);
}

void cli_options_free(cli_config_t *cfg) {
  free(cfg->headers);
  free(cfg->resolves);
  cfg->headers = NULL;
  cfg->fetch.headers = NULL;
}

/* One option's head as --help writes it: "  -j, --parallel N". */
static void option_head(const cli_option_t *opt, char *buf, size_t len) {
  if (opt->letter != 0) {
    snprintf(buf, len, "  -%c, --%s%s%s", opt->letter, opt->name,
             opt->metavar ? " " : "", opt->metavar ? opt->metavar : "");
  } else {
    snprintf(buf, len, "      --%s%s%s", opt->name, opt->metavar ? " " : "",
             opt->metavar ? opt->metavar : "");
  }
}

void cli_options_usage(FILE *out) {
  size_t noptions;
  const cli_option_t *options = cli_options_table(&noptions);
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
  for (i = 0; i < noptions; i++) {
    const cli_option_t *opt = &options[i];
    char head[64];

    option_head(opt, head, sizeof(head));
    if (strlen(head) < HELP_COLUMN)
      fprintf(out, "%-*s%s\n", HELP_COLUMN, head, opt->help);
    else
      fprintf(out, "%s\n%*s%s\n", head, HELP_COLUMN, "", opt->help);
  }
  fputs("\n"
        "Output, one line per URL in completion order (--ordered: input "
        "order):\n"
        "  URL<TAB>BYTES                        fetched (any HTTP status)\n"
        "  URL<TAB>-<TAB>ERROR<TAB>MESSAGE      failed\n"
        "  URL<TAB>BYTES<TAB>ERROR<TAB>MESSAGE  fetched, but failed (-f, "
        "or not saved)\n"
        "--retry, -o and --sha256 each add a field after BYTES: attempts, "
        "saved path,\n"
        "SHA-256 ('-' when there is none). Tabs, newlines, other control "
        "bytes and\n"
        "backslashes in a field are escaped as \\t, \\n, \\xHH and \\\\. "
        "With --json,\n"
        "each line is an object with url, effective_url, ordinal, ok, "
        "error,\n"
        "curl_code, message, http_code, http_version, redirects, bytes, "
        "wire_bytes,\n"
        "total_time, ttfb, attempts, start_time, dns_time, connect_time, "
        "tls_time,\n"
        "slot, and saved and sha256 when asked for.\n"
        "\n"
        "-w TEMPLATE writes TEMPLATE per URL, with \\t, \\n, \\\\, %% and "
        "these %{...}:\n"
        "  url url_effective size size_download http_code http_version "
        "num_redirects\n"
        "  time_total time_starttransfer time_namelookup time_connect "
        "time_appconnect\n"
        "  errormsg exitcode error attempts ordinal saved sha256\n"
        "\n"
        "Exit status: 0 every URL fetched, 1 some URL failed, 2 usage "
        "error,\n"
        "130 interrupted (SIGINT), 143 terminated (SIGTERM), 129 hung up "
        "(SIGHUP).\n",
        out);
}
