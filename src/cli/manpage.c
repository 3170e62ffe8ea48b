/* uvfetch-manpage TEMPLATE: write the man page to standard output, with
 * the option list generated from the option table (the same table that
 * drives parsing and --help), in place of the template's "@OPTIONS@"
 * line, and the version in place of "@VERSION@". Run at build time.
 */
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "uvfetch.h"

/* Text for troff: '\' and '-' escaped, and a line that would start with a
 * control character made literal. */
static void put_text(const char *s, FILE *out) {
  if (*s == '.' || *s == '\'')
    fputs("\\&", out);
  for (; *s != '\0'; s++) {
    if (*s == '\\')
      fputs("\\e", out);
    else if (*s == '-')
      fputs("\\-", out);
    else
      fputc(*s, out);
  }
}

/* ".TP", the head in bold and italics, the --help line, then the rest. */
static void put_option(const cli_option_t *opt, FILE *out) {
  fputs(".TP\n", out);
  if (opt->letter != 0)
    fprintf(out, "\\fB\\-%c\\fR, ", opt->letter);
  fputs("\\fB\\-\\-", out);
  put_text(opt->name, out);
  fputs("\\fR", out);
  if (opt->metavar != NULL) {
    fputs(" \\fI", out);
    put_text(opt->metavar, out);
    fputs("\\fR", out);
  }
  fputs("\n", out);
  put_text(opt->help, out);
  fputs("\n", out);
  if (opt->doc != NULL) {
    fputs(".br\n", out);
    put_text(opt->doc, out);
    fputs("\n", out);
  }
}

int main(int argc, char **argv) {
  const cli_option_t *opts;
  char line[4096];
  size_t n;
  size_t i;
  FILE *in;

  if (argc != 2) {
    fprintf(stderr, "usage: uvfetch-manpage TEMPLATE\n");
    return 2;
  }
  in = fopen(argv[1], "r");
  if (in == NULL) {
    perror(argv[1]);
    return 1;
  }
  opts = cli_options_table(&n);
  while (fgets(line, sizeof(line), in) != NULL) {
    char *at = strstr(line, "@VERSION@");

    if (strcmp(line, "@OPTIONS@\n") == 0) {
      for (i = 0; i < n; i++)
        put_option(&opts[i], stdout);
      continue;
    }
    if (at != NULL) {
      fwrite(line, 1, (size_t)(at - line), stdout);
      fputs(uvfetch_version(), stdout);
      fputs(at + strlen("@VERSION@"), stdout);
      continue;
    }
    fputs(line, stdout);
  }
  fclose(in);
  return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
