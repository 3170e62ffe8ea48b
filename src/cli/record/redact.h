/* Hiding the password of a URL ("http://user:secret@host/" shows as
 * "http://user:***@host/") where a URL is shown for people to look at:
 * the trace, progress and messages. Records keep the URL as given, since
 * they are data the user asked for (and the journal must match it).
 * Pure code: bytes in, bytes appended to a cli_str_t.
 */
#ifndef UVFETCH_CLI_REDACT_H
#define UVFETCH_CLI_REDACT_H

#include <stddef.h>

#include "util/str.h"

/* s[0..n) with the password of its userinfo, if any, replaced by "***";
 * any other text is appended unchanged. The userinfo is what comes before
 * the last '@' of the authority (after "scheme://", up to the first '/',
 * '?' or '#'), and its password what follows its first ':'. */
void cli_redact_url(cli_str_t *out, const char *s, size_t n);

#endif /* UVFETCH_CLI_REDACT_H */
