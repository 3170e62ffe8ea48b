/* A growable byte string, for building a record before it is written.
 * Pure memory, no I/O: the formatters that use it can be fuzzed alone.
 *
 * Running out of memory is sticky: later appends do nothing and `oom`
 * stays set, so a caller checks once, after building the whole value.
 */
#ifndef UVFETCH_CLI_STR_H
#define UVFETCH_CLI_STR_H

#include <stddef.h>

typedef struct cli_str_s {
  char *p; /* len bytes, then a NUL when cap > 0 */
  size_t len;
  size_t cap;
  int oom; /* an append could not get memory */
} cli_str_t;

#define CLI_STR_INIT                                                           \
  { NULL, 0, 0, 0 }

void cli_str_free(cli_str_t *s);

/* Forget the contents but keep the memory. */
void cli_str_reset(cli_str_t *s);

/* Append n bytes. Returns 0, or -1 when out of memory. */
int cli_str_append(cli_str_t *s, const void *p, size_t n);

int cli_str_puts(cli_str_t *s, const char *text);

int cli_str_printf(cli_str_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Take the buffer: the caller frees it; s is left empty. */
char *cli_str_steal(cli_str_t *s);

#endif /* UVFETCH_CLI_STR_H */
