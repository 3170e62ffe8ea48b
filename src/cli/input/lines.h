/* Splitting input bytes into URL lines: blank lines and '#' comments are
 * skipped, surrounding white space and CR are trimmed, and a line too long
 * to hold is reported instead of being kept. Pure code, no I/O.
 */
#ifndef UVFETCH_CLI_LINES_H
#define UVFETCH_CLI_LINES_H

#include <stddef.h>
#include <stdint.h>

/* The longest line kept, in bytes, not counting its newline. */
#define CLI_LINE_MAX 65536

typedef enum {
  CLI_LINE_NONE = 0, /* no complete line in the bytes given */
  CLI_LINE_URL,      /* a URL: text/len, NUL-terminated, no NUL inside */
  CLI_LINE_TOO_LONG, /* longer than CLI_LINE_MAX; text/len is its start */
  CLI_LINE_HAS_NUL   /* contains a NUL byte; text/len is all of it */
} cli_line_kind_t;

typedef struct cli_line_s {
  cli_line_kind_t kind;
  const char *text; /* valid until the next call on the splitter */
  size_t len;
  uint64_t lineno; /* 1-based number of the physical line */
} cli_line_t;

typedef struct cli_lines_s {
  char *buf;       /* the line being assembled; CLI_LINE_MAX + 1 bytes */
  size_t len;      /* bytes in buf */
  int too_long;    /* the current line overflowed; discarding up to '\n' */
  uint64_t lineno; /* lines completed so far */
} cli_lines_t;

/* Allocate the splitter's buffer. Returns 0 or UV_ENOMEM. */
int cli_lines_init(cli_lines_t *l);

/* Free the buffer. */
void cli_lines_free(cli_lines_t *l);

/* Consume bytes from *pos up to `end`, stopping right after the first line
 * that yields something (a URL or a bad line), which is stored in *out.
 * *pos is advanced past what was consumed. Returns out->kind, or
 * CLI_LINE_NONE when every byte was consumed without completing such a
 * line (a partial line is kept for the next call). */
cli_line_kind_t cli_lines_take(cli_lines_t *l, const char **pos,
                               const char *end, cli_line_t *out);

/* At end of input: the last line when it had no newline, as for
 * cli_lines_take. Returns CLI_LINE_NONE when there is none. */
cli_line_kind_t cli_lines_finish(cli_lines_t *l, cli_line_t *out);

#endif /* UVFETCH_CLI_LINES_H */
