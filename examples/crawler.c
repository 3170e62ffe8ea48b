/* crawler: a depth-limited crawl of a site, on one libuv loop. uvfetch is
 * fed from its own completion callback: each page's links, collected while
 * its body streams in, become new transfers when the page is done, until
 * no link is left that is new and within the depth limit.
 *
 *   crawler [-d DEPTH] [-j PARALLEL] [-n MAX_PAGES] URL...
 *
 * Every start URL is a site of its own, at depth 0. A link is followed when
 * it is an href="..." (or '...') attribute holding an absolute URL on the
 * same site (scheme, host and port) or a root-relative path ("/about"),
 * when its page was fetched with a 2xx status, and when the page's depth is
 * below DEPTH (2). The fragment is dropped; other links are ignored. At most
 * MAX_PAGES (1000) URLs are ever queued, PARALLEL (8) at once.
 *
 * One line per page, in the order pages finish:
 *   DEPTH<TAB>URL<TAB>BYTES<TAB>LINKS
 *   DEPTH<TAB>URL<TAB>-<TAB>ERROR<TAB>MESSAGE
 * where LINKS counts the same-site links on the page (repeats included, at
 * most MAX_LINKS), then "pages: N fetched, N failed, N links over budget"
 * on standard error. The exit status is 0 when every page was fetched, 1
 * otherwise, 2 for a usage error.
 *
 * A page's body is never kept: the body hook scans it as it streams past,
 * with a fixed amount of memory per page whatever its size (at most
 * MAX_LINKS links of at most LINK_MAX bytes each).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uvfetch.h>

#define MAX_LINKS 64  /* links kept per page; later ones are ignored */
#define LINK_MAX 1024 /* bytes of an href value; longer ones are ignored */

/* Where the href scanner is within a page's body. */
enum { SCAN, QUOTE, VALUE };

struct page {
  int depth;
  const char *site; /* "scheme://host[:port]" of its start URL */
  size_t site_len;
  int state;
  size_t matched; /* bytes of "href=" seen, in SCAN */
  char quote;     /* the value's quote character, in VALUE */
  int too_long;   /* the value outgrew `value` */
  size_t len;
  char value[LINK_MAX];
  size_t nlinks;
  char *links[MAX_LINKS];
};

/* The URLs ever queued, so that none is fetched twice: a set of strings in
 * open addressing. */
struct seen {
  char **slots;
  size_t cap; /* a power of two */
  size_t n;
};

struct crawl {
  struct seen seen;
  int max_depth;
  size_t max_pages;
  unsigned long fetched;
  unsigned long failed;
  unsigned long skipped;
};

/* ---- the set of queued URLs ------------------------------------------- */

static uint64_t hash(const char *s) {
  uint64_t h = 14695981039346656037ULL; /* FNV-1a */

  while (*s != '\0')
    h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
  return h;
}

static char **seen_find(const struct seen *s, const char *url) {
  size_t i = (size_t)hash(url) & (s->cap - 1);

  while (s->slots[i] != NULL && strcmp(s->slots[i], url) != 0)
    i = (i + 1) & (s->cap - 1);
  return &s->slots[i];
}

static int seen_has(const struct seen *s, const char *url) {
  return s->cap != 0 && *seen_find(s, url) != NULL;
}

/* Adds `url`, which is not in the set yet. 0, or -1 when out of memory. */
static int seen_add(struct seen *s, const char *url) {
  struct seen grown;
  char **at;
  size_t i;

  if (2 * (s->n + 1) > s->cap) {
    grown.cap = s->cap ? 2 * s->cap : 64;
    grown.n = s->n;
    grown.slots = calloc(grown.cap, sizeof(*grown.slots));
    if (grown.slots == NULL)
      return -1;
    for (i = 0; i < s->cap; i++) {
      if (s->slots[i] != NULL)
        *seen_find(&grown, s->slots[i]) = s->slots[i];
    }
    free(s->slots);
    *s = grown;
  }
  at = seen_find(s, url);
  *at = strdup(url);
  if (*at == NULL)
    return -1;
  s->n++;
  return 0;
}

static void seen_free(struct seen *s) {
  size_t i;

  for (i = 0; i < s->cap; i++)
    free(s->slots[i]);
  free(s->slots);
}

/* ---- pages and their links -------------------------------------------- */

/* The length of the "scheme://host[:port]" that starts `url`, or 0. */
static size_t site_length(const char *url) {
  const char *p = strstr(url, "://");

  if (p == NULL || p == url)
    return 0;
  p += 3;
  return (size_t)(p - url) + strcspn(p, "/?#");
}

static struct page *page_new(int depth, const char *site, size_t site_len) {
  struct page *p = calloc(1, sizeof(*p));

  if (p == NULL)
    return NULL;
  p->depth = depth;
  p->site = site;
  p->site_len = site_len;
  return p;
}

/* Forget what was found in the body so far. */
static void page_reset(struct page *p) {
  size_t i;

  for (i = 0; i < p->nlinks; i++)
    free(p->links[i]);
  p->nlinks = 0;
  p->state = SCAN;
  p->matched = 0;
}

static void page_free(struct page *p) {
  page_reset(p);
  free(p);
}

/* An href value is complete: keep it when it names a page of the site. */
static void page_link(struct page *p) {
  char *v = p->value;
  char *link;
  size_t n;

  v[strcspn(v, "#")] = '\0';
  if (p->nlinks == MAX_LINKS)
    return;
  if (v[0] == '/' && v[1] != '/') {
    /* Root-relative: the page's own site. */
    n = strlen(v);
    link = malloc(p->site_len + n + 1);
    if (link == NULL)
      return;
    memcpy(link, p->site, p->site_len);
    memcpy(link + p->site_len, v, n + 1);
  } else if (strncasecmp(v, p->site, p->site_len) == 0 &&
             (v[p->site_len] == '/' || v[p->site_len] == '\0' ||
              v[p->site_len] == '?')) {
    link = strdup(v);
    if (link == NULL)
      return;
  } else {
    return;
  }
  p->links[p->nlinks++] = link;
}

/* The body hook: find href="..." in bytes that may split anywhere, even
 * inside "href" or the value, so the scanner keeps its state in the page. */
static int on_body(uvfetch_t *f, void *data, const char *buf, size_t len) {
  static const char attr[] = "href=";
  struct page *p = data;
  size_t i;
  char c;

  if (buf == NULL) {
    /* A retried transfer: its body starts over, and so do its links. */
    page_reset(p);
    return 0;
  }
  for (i = 0; i < len; i++) {
    c = buf[i];
    switch (p->state) {
    case SCAN:
      if (tolower((unsigned char)c) == attr[p->matched])
        p->matched++;
      else
        p->matched = (c == 'h' || c == 'H');
      if (p->matched == sizeof(attr) - 1) {
        p->matched = 0;
        p->state = QUOTE;
      }
      break;
    case QUOTE:
      if (c == '"' || c == '\'') {
        p->quote = c;
        p->len = 0;
        p->too_long = 0;
        p->state = VALUE;
      } else {
        p->matched = (c == 'h' || c == 'H');
        p->state = SCAN;
      }
      break;
    case VALUE:
      if (c == p->quote) {
        p->value[p->len] = '\0';
        if (!p->too_long)
          page_link(p);
        p->state = SCAN;
      } else if (c == '<' || c == '>') {
        p->state = SCAN; /* not an attribute value after all */
      } else if (p->len + 1 < sizeof(p->value)) {
        p->value[p->len++] = c;
      } else {
        p->too_long = 1;
      }
      break;
    }
  }
  return 0;
}

/* ---- the crawl -------------------------------------------------------- */

static void print_failure(int depth, const char *url, int err,
                          const char *message) {
  printf("%d\t%s\t-\t%s\t%s\n", depth, url, uvfetch_err_name(err), message);
  fflush(stdout);
}

/* Queue `url` at `depth` unless it was queued before or the page budget is
 * spent (a link over budget counts as skipped). A URL refused by uvfetch
 * counts as a failed page. */
static void follow(uvfetch_t *f, const char *url, int depth, const char *site,
                   size_t site_len) {
  struct crawl *c = uvfetch_get_data(f);
  uvfetch_request_t req = UVFETCH_REQUEST_INIT;
  struct page *p;
  int err;

  if (seen_has(&c->seen, url))
    return;
  if (c->seen.n >= c->max_pages) {
    c->skipped++;
    return;
  }
  p = page_new(depth, site, site_len);
  if (p == NULL || seen_add(&c->seen, url) != 0) {
    print_failure(depth, url, UVFETCH_ENOMEM, uvfetch_strerror(UVFETCH_ENOMEM));
    c->failed++;
    free(p);
    return;
  }
  req.url = url;
  req.data = p;
  req.on_body = on_body;
  err = uvfetch_submit(f, &req, NULL);
  if (err != 0) {
    /* Refused: no callback will come, so the page is ours to free. */
    print_failure(depth, url, err, uvfetch_strerror(err));
    c->failed++;
    page_free(p);
  }
}

static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  struct crawl *c = uvfetch_get_data(f);
  struct page *p = r->data;
  size_t i;
  int on_site;

  if (r->ok) {
    printf("%d\t%s\t%llu\t%zu\n", p->depth, r->url,
           (unsigned long long)r->bytes, p->nlinks);
    fflush(stdout);
    c->fetched++;
  } else {
    print_failure(p->depth, r->url, r->error, r->message);
    c->failed++;
  }

  /* A redirect off the site makes the page's root-relative links wrong. */
  on_site = site_length(r->effective_url) == p->site_len &&
            strncasecmp(r->effective_url, p->site, p->site_len) == 0;
  if (r->ok && r->http_code / 100 == 2 && on_site && p->depth < c->max_depth) {
    /* uvfetch_submit from the completion callback: the loop keeps running
     * while the crawl has pages in flight. */
    for (i = 0; i < p->nlinks; i++)
      follow(f, p->links[i], p->depth + 1, p->site, p->site_len);
  }
  page_free(p);
}

static int parse_count(const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);

  if (end == s || *end != '\0' || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: crawler [-d DEPTH] [-j PARALLEL] [-n MAX_PAGES] URL...\n");
  return 2;
}

int main(int argc, char **argv) {
  struct crawl crawl = {.max_depth = 2, .max_pages = 1000};
  uvfetch_options_t opt = UVFETCH_OPTIONS_INIT;
  uv_loop_t loop;
  uvfetch_t *f;
  long v;
  int ch;
  int err;
  int i;
  size_t n;

  opt.max_concurrent = 8;
  while ((ch = getopt(argc, argv, "d:j:n:")) != -1) {
    if (ch == 'd' && parse_count(optarg, 0, 1000, &v) == 0)
      crawl.max_depth = (int)v;
    else if (ch == 'j' && parse_count(optarg, 1, 10000, &v) == 0)
      opt.max_concurrent = (unsigned)v;
    else if (ch == 'n' && parse_count(optarg, 1, 100000000, &v) == 0)
      crawl.max_pages = (size_t)v;
    else
      return usage();
  }
  if (optind == argc)
    return usage();
  for (i = optind; i < argc; i++) {
    if (site_length(argv[i]) == 0) {
      fprintf(stderr, "crawler: %s: not an absolute URL\n", argv[i]);
      return 2;
    }
  }

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "crawler: %s\n", uv_strerror(err));
    return 1;
  }
  opt.data = &crawl;
  err = uvfetch_init(&loop, &f, &opt, on_done);
  if (err != 0) {
    fprintf(stderr, "crawler: %s\n", uvfetch_strerror(err));
    uv_loop_close(&loop);
    return 1;
  }
  for (i = optind; i < argc; i++) {
    n = site_length(argv[i]);
    argv[i][strcspn(argv[i], "#")] = '\0';
    follow(f, argv[i], 0, argv[i], n);
  }

  uv_run(&loop, UV_RUN_DEFAULT); /* until no page is left to fetch */
  uvfetch_close(f, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  seen_free(&crawl.seen);
  fprintf(stderr, "pages: %lu fetched, %lu failed, %lu links over budget\n",
          crawl.fetched, crawl.failed, crawl.skipped);
  err = uv_loop_close(&loop);
  if (err != 0) {
    fprintf(stderr, "crawler: uv_loop_close: %s\n", uv_strerror(err));
    return 1;
  }
  return crawl.failed ? 1 : 0;
}
