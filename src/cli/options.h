/* The command line: one alphasorted option table drives parsing and the
 * --help text.
 */
#ifndef UVFETCH_CLI_OPTIONS_H
#define UVFETCH_CLI_OPTIONS_H

#include <stdio.h>

#include "uvfetch.h"

/* What the command line asked for. Strings point into argv. */
typedef struct cli_config_s {
  uvfetch_options_t fetch; /* handed to uvfetch_init */
  const char *input;       /* -i FILE; "-" is stdin; NULL: none given */
  int json;                /* --json: JSON Lines instead of TSV */
  int help;                /* --help: print usage, do nothing else */
  int version;             /* --version: print versions, do nothing else */
  char **urls;             /* URL arguments, in order */
  int nurls;
} cli_config_t;

/* Parse argv into *cfg (which is set to the defaults first). Returns 0, or
 * -1 after writing one line naming the problem into err. */
int cli_options_parse(cli_config_t *cfg, int argc, char **argv, char *err,
                      size_t errlen);

/* Write the usage text and the option list to `out`. */
void cli_options_usage(FILE *out);

#endif /* UVFETCH_CLI_OPTIONS_H */
