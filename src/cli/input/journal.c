/* The journal of records: appending each record, and reading back the
 * URLs done at start. See journal.h. Calls down only: the JSON reader
 * (jsonscan.c), the URL set (urlset.c) and the system's file calls. */
#include "input/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input/jsonscan.h"
#include "util/str.h"

#define READ_SIZE (1024 * 1024)

/* The longest line uvfetch writes: a record's text is bounded by its URL
 * (an input line of at most 64 KiB, or an argument of at most 128 KiB
 * under Linux's MAX_ARG_STRLEN), the effective URL (a Location header,
 * at most 100 KiB in libcurl 7.88), a one-line message and a path, each
 * at most 6 bytes a byte once escaped, and url_hex at 2. A line past this
 * bound was not written by uvfetch: it is skipped as it streams by, and
 * never held. */
#define LINE_MAX_BYTES (4 * 1024 * 1024)

/* What one line says, as the scanner goes through its members. */
typedef struct line_s {
  const char *url;
  size_t urllen;
  int has_url;
  const char *hex; /* url_hex: the URL's bytes, when JSON lost some */
  size_t hexlen;
  int error_null;
} line_t;

static void on_member(const cli_json_member_t *m, void *arg) {
  line_t *l = arg;

  if (m->keylen == 3 && memcmp(m->key, "url", 3) == 0 &&
      m->type == CLI_JSON_STRING) {
    l->url = m->val;
    l->urllen = m->vallen;
    l->has_url = 1;
  } else if (m->keylen == 7 && memcmp(m->key, "url_hex", 7) == 0 &&
             m->type == CLI_JSON_STRING) {
    l->hex = m->val;
    l->hexlen = m->vallen;
  } else if (m->keylen == 5 && memcmp(m->key, "error", 5) == 0) {
    l->error_null = m->type == CLI_JSON_NULL;
  }
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* url_hex's bytes into out; -1 when it is not an even run of lower-case
 * hex digits. */
static int unhex(const char *p, size_t n, cli_str_t *out) {
  size_t i;

  if (n % 2 != 0)
    return -1;
  for (i = 0; i < n; i += 2) {
    int hi = hex_digit(p[i]);
    int lo = hex_digit(p[i + 1]);
    char c;

    if (hi < 0 || lo < 0)
      return -1;
    c = (char)(hi << 4 | lo);
    if (cli_str_append(out, &c, 1) < 0)
      return -1;
  }
  return 0;
}

/* One complete line: add its URL when the record says done. A URL that
 * is not valid UTF-8 is matched on its exact bytes, from url_hex; one
 * whose bytes were not all kept and that has no url_hex (written before
 * there was one) cannot be matched, so it is fetched again. Returns -1
 * only when out of memory. */
static int take_line(cli_journal_t *j, const char *p, size_t n,
                     cli_str_t *scratch) {
  line_t l = {NULL, 0, 0, NULL, 0, 0};
  size_t replaced;

  if (cli_json_scan_object(p, n, on_member, &l) < 0 || !l.has_url) {
    j->skipped++;
    return 0;
  }
  j->records++;
  if (!l.error_null)
    return 0;
  cli_str_reset(scratch);
  if (l.hex != NULL) {
    if (unhex(l.hex, l.hexlen, scratch) < 0)
      return scratch->oom ? -1 : 0;
    return cli_urlset_add(&j->done, cli_urlset_key(scratch->p, scratch->len));
  }
  if (cli_json_unescape(l.url, l.urllen, scratch, &replaced) < 0) {
    if (scratch->oom)
      return -1;
    return 0;
  }
  if (replaced > 0)
    return 0;
  return cli_urlset_add(&j->done, cli_urlset_key(scratch->p, scratch->len));
}

/* Read every line; return the offset just past the last newline, or -1
 * with errno set. */
static off_t read_all(cli_journal_t *j, cli_str_t *line, cli_str_t *scratch) {
  char *buf = malloc(READ_SIZE);
  off_t good = 0;
  off_t pos = 0;
  int too_long = 0; /* the line so far is past LINE_MAX_BYTES: dropped */

  if (buf == NULL) {
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    ssize_t n = pread(j->fd, buf, READ_SIZE, pos);
    const char *p = buf;
    const char *end;

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto fail;
    if (n == 0)
      break;
    end = buf + n;
    pos += n;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));

      size_t take = (size_t)((nl != NULL ? nl : end) - p);

      if (!too_long && line->len + take > LINE_MAX_BYTES) {
        too_long = 1;
        cli_str_free(line);
      }
      if (!too_long)
        cli_str_append(line, p, take);
      if (nl == NULL)
        break;
      if (too_long) {
        j->skipped++;
        too_long = 0;
      } else if (line->oom || take_line(j, line->p, line->len, scratch) < 0) {
        errno = ENOMEM;
        goto fail;
      }
      cli_str_reset(line);
      p = nl + 1;
      good = pos - (off_t)(end - p);
    }
    if (line->oom) {
      errno = ENOMEM;
      goto fail;
    }
  }
  free(buf);
  j->torn = (uint64_t)(pos - good);
  return good;

fail:
  free(buf);
  return -1;
}

int cli_journal_open(cli_journal_t *j, const char *path, char *err,
                     size_t errlen) {
  cli_str_t line = CLI_STR_INIT;
  cli_str_t scratch = CLI_STR_INIT;
  struct stat st;
  off_t good;

  memset(j, 0, sizeof(*j));
  cli_urlset_init(&j->done);
  j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0666);
  if (j->fd < 0) {
    snprintf(err, errlen, "cannot open journal '%s': %s", path,
             strerror(errno));
    return -1;
  }
  if (fstat(j->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "journal '%s' is not a regular file", path);
    goto fail;
  }
  if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
    snprintf(err, errlen, "journal '%s' is in use by another run", path);
    goto fail;
  }
  good = read_all(j, &line, &scratch);
  if (good < 0) {
    snprintf(err, errlen, "cannot read journal '%s': %s", path,
             strerror(errno));
    goto fail;
  }
  if (j->torn > 0 && ftruncate(j->fd, good) < 0) {
    snprintf(err, errlen, "cannot cut the torn end off journal '%s': %s", path,
             strerror(errno));
    goto fail;
  }
  cli_str_free(&line);
  cli_str_free(&scratch);
  return 0;

fail:
  cli_str_free(&line);
  cli_str_free(&scratch);
  cli_journal_close(j);
  return -1;
}

int cli_journal_done(const cli_journal_t *j, const char *url, size_t n) {
  if (j->done.count == 0 && !j->done.has_zero)
    return 0;
  return cli_urlset_has(&j->done, cli_urlset_key(url, n));
}

int cli_journal_append(cli_journal_t *j, const char *line, size_t n) {
  while (n > 0) {
    ssize_t w = write(j->fd, line, n);

    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    line += w;
    n -= (size_t)w;
  }
  return 0;
}

void cli_journal_close(cli_journal_t *j) {
  if (j->fd >= 0)
    close(j->fd);
  j->fd = -1;
  cli_urlset_free(&j->done);
}
