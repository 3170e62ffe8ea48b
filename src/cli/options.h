/* The command line: one alphasorted option table (options.c) drives
 * parsing (cmdline.c), the --help text and the man page's option list
 * (manpage.c).
 */
#ifndef UVFETCH_CLI_OPTIONS_H
#define UVFETCH_CLI_OPTIONS_H

#include <stdio.h>

#include "input/shard.h"
#include "uvfetch.h"

/* What the command line asked for. Strings point into argv. */
typedef struct cli_config_s {
  uvfetch_options_t fetch; /* handed to uvfetch_init */
  const char *input;       /* -i FILE; "-" is stdin; NULL: none given */
  int json;                /* --json: JSON Lines instead of TSV */
  const char *write_out;   /* -w TEMPLATE, checked; or NULL */
  int help;                /* --help: print usage, do nothing else */
  int version;             /* --version: print versions, do nothing else */
  int fail;                /* -f: HTTP status >= 400 is a failure */
  const char **headers;    /* -H values, NULL-terminated; or NULL */
  int nheaders;
  const char **resolves; /* --resolve values, NULL-terminated; or NULL */
  int nresolves;
  const char *journal;    /* --journal FILE */
  const char *trace;      /* --trace FILE */
  const char *output_dir; /* -o DIR */
  int sha256;             /* --sha256 */
  int progress;           /* 1 --progress, 0 --no-progress, -1 neither */
  int stats;              /* --stats */
  cli_shard_t shard;      /* --shard K/N; n == 0 when not given */
  char protocols[320];    /* --proto's set, as the library's plain list */
  char **urls;            /* URL arguments, in order */
  int nurls;
} cli_config_t;

/* Where a setter reports: the option as the user spelled it, and room
 * for one line naming the problem. The parser's state, handed to the
 * setters in the table. */
typedef struct cli_parse_ctx_s {
  const char *name;
  char *err;
  size_t errlen;
  int argc;            /* bounds how many -H there can be */
  int speed_limit_set; /* --speed-limit given */
  int speed_time_set;  /* --speed-time given */
} cli_parse_ctx_t;

/* One option. `set` stores the value (NULL for an option that takes
 * none) into cfg; returns 0, or -1 after cli_options_fail. */
typedef int (*cli_option_set_fn)(cli_config_t *cfg, const char *value,
                                 cli_parse_ctx_t *ctx);

typedef struct cli_option_s {
  const char *name;    /* long name, without "--" */
  char letter;         /* short name, or 0 */
  const char *metavar; /* the value's name in --help; NULL: takes none */
  cli_option_set_fn set;
  const char *help; /* one line for --help */
  const char *doc;  /* what the man page adds, in sentences; or NULL */
} cli_option_t;

/* The table, sorted by long name; *n gets its length. */
const cli_option_t *cli_options_table(size_t *n);

/* Between the parser and the table: write one line naming the problem
 * into ctx->err; returns -1. */
int cli_options_fail(cli_parse_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The checks and defaults that depend on more than one option, once every
 * argument is read. Returns 0, or -1 after cli_options_fail. */
int cli_options_finish(cli_config_t *cfg, cli_parse_ctx_t *ctx);

/* Parse argv into *cfg (which is set to the defaults first). Returns 0, or
 * -1 after writing one line naming the problem into err. Either way, call
 * cli_options_free afterwards. */
int cli_options_parse(cli_config_t *cfg, int argc, char **argv, char *err,
                      size_t errlen);

void cli_options_free(cli_config_t *cfg);

/* Write the usage text and the option list to `out`. */
void cli_options_usage(FILE *out);

#endif /* UVFETCH_CLI_OPTIONS_H */
