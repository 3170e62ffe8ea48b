/* Escaping a value so that a record stays one line, whatever bytes the
 * value holds. Pure code: bytes in, bytes appended to a cli_str_t.
 */
#ifndef UVFETCH_CLI_ESCAPE_H
#define UVFETCH_CLI_ESCAPE_H

#include <stddef.h>

#include "util/str.h"

/* s[0..n) as one TSV field: tab, newline, CR and backslash as \t, \n, \r
 * and \\, other control bytes (and DEL) as \xHH, and so is each byte of a
 * C1 control (U+0080-U+009F, which a terminal may obey) and each byte
 * that does not start a valid UTF-8 sequence; other bytes unchanged. */
void cli_escape_tsv(cli_str_t *out, const char *s, size_t n);

/* The NUL-terminated src escaped as cli_escape_tsv does, into dst (size
 * bytes, NUL included; cut short at a whole escape when too long): one
 * line of a message that echoes values the user or a server gave. */
void cli_escape_line(char *dst, size_t size, const char *src);

/* s[0..n) as the inside of a JSON string: '"' and '\' escaped, control
 * characters (C0, DEL and C1) as \u00XX, and each byte that does not
 * start a valid UTF-8 sequence (RFC 3629) replaced by \ufffd, so the
 * result is always valid UTF-8 and valid JSON. Returns the number of bytes so
 * replaced: when it is not 0, the original bytes cannot be recovered from the
 * output. */
size_t cli_escape_json(cli_str_t *out, const char *s, size_t n);

#endif /* UVFETCH_CLI_ESCAPE_H */
