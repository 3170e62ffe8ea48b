/* The file name a URL's body is saved under in --output-dir: 24 hex
 * digits of the SHA-256 of the URL, a '-', and the last segment of the
 * URL's path made safe (letters, digits, '.', '_' and '-' only, every
 * other byte as '_', no leading dot, at most 64 bytes; "index" when
 * empty). The digest keeps different URLs apart (a clash needs about 2^48
 * URLs); the tail tells a person what the file is. The name never holds a
 * '/' and never starts with a '.', so it cannot leave the directory or
 * hide in it. Pure code.
 */
#ifndef UVFETCH_CLI_SAVENAME_H
#define UVFETCH_CLI_SAVENAME_H

#include <stddef.h>

#define CLI_SAVENAME_TAIL 64
#define CLI_SAVENAME_MAX (24 + 1 + CLI_SAVENAME_TAIL + 1) /* NUL included */

/* Write the name for url[0..n) into out. */
void cli_savename(const char *url, size_t n, char out[CLI_SAVENAME_MAX]);

#endif /* UVFETCH_CLI_SAVENAME_H */
