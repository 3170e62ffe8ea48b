/* The command's pure modules on their own, against known answers: SHA-256
 * (the FIPS 180-4 example vectors), the --write-out template language, the
 * escapers, the journal's JSON reader, the URL set, save names, shard
 * hashing and the progress line's text. No loop, no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "record/escape.h"
#include "record/redact.h"
#include "input/jsonscan.h"
#include "report/limit.h"
#include "report/progress.h"
#include "save/savename.h"
#include "util/sha256.h"
#include "input/shard.h"
#include "util/str.h"
#include "report/tally.h"
#include "record/template.h"
#include "input/urlset.h"

/* ---- SHA-256 ----------------------------------------------------------- */

static void sha_hex(const void *p, size_t n, char out[CLI_SHA256_HEX]) {
  unsigned char d[CLI_SHA256_SIZE];

  cli_sha256(p, n, d);
  cli_sha256_hex(d, out);
}

static void test_sha256_fips_vectors(void **state) {
  static const char two_blocks[] =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  static const char m448[] =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  char hex[CLI_SHA256_HEX];

  sha_hex("abc", 3, hex);
  assert_string_equal(
      hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sha_hex("", 0, hex);
  assert_string_equal(
      hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sha_hex(m448, strlen(m448), hex);
  assert_string_equal(
      hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  sha_hex(two_blocks, strlen(two_blocks), hex);
  assert_string_equal(
      hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_million_a_in_pieces(void **state) {
  unsigned char d[CLI_SHA256_SIZE];
  char hex[CLI_SHA256_HEX];
  char chunk[997];
  cli_sha256_t c = CLI_SHA256_INIT;
  size_t left = 1000000;

  memset(chunk, 'a', sizeof(chunk));
  assert_int_equal(cli_sha256_init(&c), 0);
  /* Pieces of odd sizes cross every block boundary differently. */
  while (left > 0) {
    size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

    cli_sha256_update(&c, chunk, n);
    left -= n;
  }
  cli_sha256_final(&c, d);
  cli_sha256_hex(d, hex);
  assert_string_equal(
      hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  cli_sha256_free(&c);
}

static void test_sha256_byte_by_byte(void **state) {
  static const char text[] = "The quick brown fox jumps over the lazy dog";
  unsigned char whole[CLI_SHA256_SIZE];
  unsigned char bytes[CLI_SHA256_SIZE];
  cli_sha256_t c = CLI_SHA256_INIT;
  size_t i;

  cli_sha256(text, strlen(text), whole);
  assert_int_equal(cli_sha256_init(&c), 0);
  for (i = 0; i < strlen(text); i++)
    cli_sha256_update(&c, text + i, 1);
  cli_sha256_final(&c, bytes);
  assert_memory_equal(whole, bytes, CLI_SHA256_SIZE);
  cli_sha256_free(&c);
}

/* A body that starts over (a retry) initialises the same state again,
 * after some bytes or after a final: the digest is of the new bytes only. */
static void test_sha256_restart(void **state) {
  unsigned char d[CLI_SHA256_SIZE];
  char hex[CLI_SHA256_HEX];
  cli_sha256_t c = CLI_SHA256_INIT;

  assert_int_equal(cli_sha256_init(&c), 0);
  cli_sha256_update(&c, "half a body", 11);
  assert_int_equal(cli_sha256_init(&c), 0);
  cli_sha256_update(&c, "abc", 3);
  cli_sha256_final(&c, d);
  cli_sha256_hex(d, hex);
  assert_string_equal(
      hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(cli_sha256_init(&c), 0);
  cli_sha256_final(&c, d);
  cli_sha256_hex(d, hex);
  assert_string_equal(
      hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  cli_sha256_free(&c);
  cli_sha256_free(&c); /* twice is harmless */
}

/* ---- templates ---------------------------------------------------------- */

static void render(const char *tpl, const cli_record_t *rec, cli_str_t *out) {
  cli_template_t t;
  char err[128];

  assert_int_equal(cli_template_parse(&t, tpl, strlen(tpl), err, sizeof(err)),
                   0);
  cli_str_reset(out);
  cli_template_render(&t, rec, "-", out);
  assert_false(out->oom);
  cli_template_free(&t);
}

static void test_template_values(void **state) {
  static const char u[] = "http://h/a\tb";
  cli_str_t out = CLI_STR_INIT;
  cli_record_t rec;

  memset(&rec, 0, sizeof(rec));
  rec.url.p = u;
  rec.url.n = strlen(u);
  rec.effective_url = rec.url;
  rec.r.ok = 1;
  rec.r.bytes = 1234;
  rec.r.wire_bytes = 99;
  rec.r.http_code = 200;
  rec.r.http_version = 20;
  rec.r.total_time = 1.5;
  rec.r.ordinal = 7;
  rec.r.attempts = 2;
  rec.r.message = "";
  render("%{url} %{size} %{size_download} %{http_code} %{http_version} "
         "%{time_total} %{ordinal} %{attempts} [%{error}] [%{errormsg}] "
         "%{saved} %{sha256}\\n",
         &rec, &out);
  assert_string_equal(out.p, "http://h/a\\tb 1234 99 200 2 1.500000 7 2 [] "
                             "[] - -\n");
  rec.r.ok = 0;
  rec.r.error = UVFETCH_ECONNECT;
  rec.r.curl_code = 7;
  rec.r.http_code = 0;
  rec.r.http_version = 0;
  rec.r.message = "refused\nhere";
  render("%{error}|%{errormsg}|%{exitcode}|%{http_code}|%{http_version}", &rec,
         &out);
  assert_string_equal(out.p, "UVFETCH_ECONNECT|refused\\nhere|7|000|0");
  render("100%% %x \\q \\\\ \\t", &rec, &out);
  assert_string_equal(out.p, "100% %x \\q \\ \t");
  cli_str_free(&out);
}

static void test_template_errors(void **state) {
  cli_template_t t;
  char err[128];

  assert_int_equal(cli_template_parse(&t, "a %{nope} b", 11, err, sizeof(err)),
                   -1);
  assert_non_null(strstr(err, "%{nope}"));
  assert_int_equal(cli_template_parse(&t, "%{url", 5, err, sizeof(err)), -1);
  assert_int_equal(cli_template_parse(&t, "%{}", 3, err, sizeof(err)), -1);
  /* A trailing '%' or backslash is kept. */
  assert_int_equal(cli_template_parse(&t, "x%", 2, err, sizeof(err)), 0);
  assert_int_equal(t.litlen, 2);
  cli_template_free(&t);
  assert_int_equal(cli_template_parse(&t, "x\\", 2, err, sizeof(err)), 0);
  cli_template_free(&t);
}

/* ---- escapers ------------------------------------------------------------ */

static void test_escape_tsv(void **state) {
  static const char in[] = "a\tb\nc\rd\\e\x01\x7f\xc3\xa9";
  cli_str_t out = CLI_STR_INIT;

  cli_escape_tsv(&out, in, sizeof(in) - 1);
  assert_string_equal(out.p, "a\\tb\\nc\\rd\\\\e\\x01\\x7f\xc3\xa9");
  cli_str_free(&out);
}

/* Issue 16 D13: C1 controls (CSI is U+009B, "\xc2\x9b" in UTF-8) and
 * bytes that are not UTF-8 never reach a terminal raw; other non-ASCII
 * text (U+00A0 and up) stays as it is. */
static void test_escape_c1_and_invalid(void **state) {
  static const char in[] = "a\xc2\x9b"
                           "31m\xc2\x80\xc2\xa0\x9b\xff\xc3";
  cli_str_t out = CLI_STR_INIT;
  char line[64];

  cli_escape_tsv(&out, in, sizeof(in) - 1);
  assert_string_equal(out.p, "a\\xc2\\x9b31m\\xc2\\x80\xc2\xa0\\x9b\\xff"
                             "\\xc3");
  cli_str_reset(&out);
  assert_int_equal(cli_escape_json(&out, in, sizeof(in) - 1), 3);
  assert_string_equal(out.p, "a\\u009b31m\\u0080\xc2\xa0\\ufffd\\ufffd"
                             "\\ufffd");
  cli_str_free(&out);

  cli_escape_line(line, sizeof(line), "bad '5\nX\xc2\x9b\\'");
  assert_string_equal(line, "bad '5\\nX\\xc2\\x9b\\\\'");
  /* Cut short at a whole escape, never inside one. */
  cli_escape_line(line, 6, "ab\ncd");
  assert_string_equal(line, "ab\\nc");
  cli_escape_line(line, 5, "abc\n");
  assert_string_equal(line, "abc");
}

/* Issue 16 D12: a URL's password, and nothing else, becomes "***". */
static void test_redact_url(void **state) {
  static const char *const cases[][2] = {
      {"http://u:secret@h:8/p?q=a:b@c", "http://u:***@h:8/p?q=a:b@c"},
      {"https://u:p:q@x@h/", "https://u:***@h/"},
      {"http://user@h/", "http://user@h/"},
      {"http://h:80/a@b", "http://h:80/a@b"},
      {"http://:pw@h", "http://:***@h"},
      {"u:pw@h/x", "u:***@h/x"},
      {"HTTP://u:p@h#f@g", "HTTP://u:***@h#f@g"},
      {"", ""},
  };
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cli_str_t out = CLI_STR_INIT;

    cli_redact_url(&out, cases[i][0], strlen(cases[i][0]));
    cli_str_append(&out, "", 0);
    assert_string_equal(out.len > 0 ? out.p : "", cases[i][1]);
    cli_str_free(&out);
  }
}

static void test_escape_json_and_back(void **state) {
  static const char in[] = "q\"b\\c\x01 \xc3\xa9 \xf0\x9f\x98\x80 \xff";
  cli_str_t out = CLI_STR_INIT;
  cli_str_t back = CLI_STR_INIT;
  size_t replaced;

  assert_int_equal(cli_escape_json(&out, in, sizeof(in) - 1), 1);
  assert_string_equal(out.p, "q\\\"b\\\\c\\u0001 \xc3\xa9 \xf0\x9f\x98\x80 "
                             "\\ufffd");
  assert_int_equal(cli_json_unescape(out.p, out.len, &back, &replaced), 0);
  assert_int_equal(replaced, 1);
  assert_memory_equal(back.p, in, sizeof(in) - 2);
  cli_str_free(&out);
  cli_str_free(&back);
}

/* ---- the journal's reader --------------------------------------------------
 */

typedef struct members_s {
  int n;
  char keys[8][16];
  cli_json_type_t types[8];
} members_t;

static void collect(const cli_json_member_t *m, void *arg) {
  members_t *ms = arg;

  if (ms->n < 8) {
    snprintf(ms->keys[ms->n], sizeof(ms->keys[0]), "%.*s", (int)m->keylen,
             m->key);
    ms->types[ms->n] = m->type;
  }
  ms->n++;
}

static int scan(const char *s, members_t *ms) {
  memset(ms, 0, sizeof(*ms));
  return cli_json_scan_object(s, strlen(s), collect, ms);
}

static void test_jsonscan(void **state) {
  static const char *const bad[] = {
      "",
      "{",
      "{\"a\":}",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{\"a\":[1]}",
      "{\"a\":{}}",
      "{\"a\":tru}",
      "{\"a\":01}",
      "{\"a\":1.}",
      "{\"a\":\"\x01\"}",
      "{\"a\":\"\\x\"}",
      "{\"a\":1} x",
      "[1]",
      "{\"a\":\"\\u12\"}",
  };
  members_t ms;
  size_t i;

  assert_int_equal(scan(" {\"url\":\"h\\\"t\",\"n\":-1.5e3,\"ok\":true,"
                        "\"no\":false,\"error\":null} \r\n",
                        &ms),
                   0);
  assert_int_equal(ms.n, 5);
  assert_string_equal(ms.keys[0], "url");
  assert_int_equal(ms.types[0], CLI_JSON_STRING);
  assert_int_equal(ms.types[1], CLI_JSON_NUMBER);
  assert_int_equal(ms.types[2], CLI_JSON_TRUE);
  assert_int_equal(ms.types[3], CLI_JSON_FALSE);
  assert_int_equal(ms.types[4], CLI_JSON_NULL);
  assert_int_equal(scan("{}", &ms), 0);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(scan(bad[i], &ms), -1);
}

static void test_json_unescape(void **state) {
  static const char raw[] = "a\\/\\n\\u00e9\\ud83d\\ude00\\ud800x";
  cli_str_t out = CLI_STR_INIT;
  size_t replaced;

  assert_int_equal(cli_json_unescape(raw, strlen(raw), &out, &replaced), 0);
  /* The lone high surrogate is a loss, like \ufffd. */
  assert_int_equal(replaced, 1);
  assert_string_equal(out.p, "a/\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
  cli_str_reset(&out);
  assert_int_equal(cli_json_unescape("\\q", 2, &out, &replaced), -1);
  cli_str_free(&out);
}

/* ---- URL set, names, shards ------------------------------------------------
 */

static void test_urlset(void **state) {
  cli_urlset_t s;
  cli_urlset_key_t zero = {0, 0};
  char url[32];
  int i;

  cli_urlset_init(&s);
  for (i = 0; i < 5000; i++) {
    snprintf(url, sizeof(url), "http://h/%d", i);
    assert_int_equal(cli_urlset_add(&s, cli_urlset_key(url, strlen(url))), 0);
  }
  /* Adding again changes nothing. */
  assert_int_equal(cli_urlset_add(&s, cli_urlset_key("http://h/7", 10)), 0);
  assert_int_equal(s.count, 5000);
  for (i = 0; i < 5000; i++) {
    snprintf(url, sizeof(url), "http://h/%d", i);
    assert_true(cli_urlset_has(&s, cli_urlset_key(url, strlen(url))));
  }
  assert_false(cli_urlset_has(&s, cli_urlset_key("http://h/5000", 13)));
  assert_false(cli_urlset_has(&s, zero));
  assert_int_equal(cli_urlset_add(&s, zero), 0);
  assert_true(cli_urlset_has(&s, zero));
  cli_urlset_free(&s);
}

static void name_of(const char *url, char out[CLI_SAVENAME_MAX]) {
  cli_savename(url, strlen(url), out);
}

static void test_savename(void **state) {
  char name[CLI_SAVENAME_MAX];
  char long_url[300];

  name_of("http://example.org/a/b/report.pdf?x=1", name);
  assert_string_equal(name, "33c4703d8d11898ddb2fbc93-report.pdf");
  name_of("http://example.org", name);
  assert_string_equal(name + 24, "-index");
  name_of("http://example.org/dir/", name);
  assert_string_equal(name + 24, "-index");
  name_of("http://h/..", name);
  assert_string_equal(name + 24, "-index");
  name_of("http://h/x/..%2F..%2Fetc%2Fpasswd#frag", name);
  assert_string_equal(name + 24, "-_2F.._2Fetc_2Fpasswd");
  name_of("http://h/.bashrc", name);
  assert_string_equal(name + 24, "-bashrc");
  memset(long_url, 'z', sizeof(long_url));
  memcpy(long_url, "http://h/", 9);
  long_url[sizeof(long_url) - 1] = '\0';
  name_of(long_url, name);
  assert_int_equal(strlen(name), 24 + 1 + CLI_SAVENAME_TAIL);
}

static void test_shard(void **state) {
  cli_shard_t s;

  assert_true(cli_fnv1a64("", 0) == 0xcbf29ce484222325ull);
  assert_true(cli_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cull);
  assert_true(cli_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
  assert_int_equal(cli_shard_parse("2/5", &s), 0);
  assert_true(s.k == 2 && s.n == 5);
  assert_int_equal(cli_shard_parse("0/4294967296", &s), 0);
  assert_int_equal(cli_shard_parse("5/5", &s), -1);
  assert_int_equal(cli_shard_parse("0/0", &s), -1);
  assert_int_equal(cli_shard_parse("1/2x", &s), -1);
  assert_int_equal(cli_shard_parse("01234567890/2", &s), -1);
  /* "foobar" hashes to ...e8: even, so shard 0 of 2. */
  assert_int_equal(cli_shard_parse("0/2", &s), 0);
  assert_true(cli_shard_mine(&s, "foobar", 6));
  s.k = 1;
  assert_false(cli_shard_mine(&s, "foobar", 6));
}

/* ---- progress text ----------------------------------------------------------
 */

static void test_progress_format(void **state) {
  cli_progress_counts_t c;
  char line[256];
  char size[32];

  memset(&c, 0, sizeof(c));
  c.done = 25;
  c.failed = 1;
  c.running = 4;
  c.queued = 8;
  c.bytes = 1500000;
  c.total = 100;
  cli_progress_format(&c, 10.0, 250000.0, 0, line, sizeof(line));
  assert_string_equal(line, "25 done, 1 failed, 4 in flight, 8 queued | "
                            "1.5 MB, 250.0 kB/s | 25%, ETA 0:30");
  c.total = 0;
  c.skipped = 3;
  /* Cut one short of the width, so the cursor never wraps. */
  cli_progress_format(&c, 10.0, 0.0, 30, line, sizeof(line));
  assert_string_equal(line, "25 done, 1 failed, 4 in fligh");
  /* Under -j auto the limit follows the queue. */
  c.limit = 48;
  cli_progress_format(&c, 10.0, 0.0, 0, line, sizeof(line));
  assert_string_equal(line, "25 done, 1 failed, 4 in flight, 8 queued, "
                            "limit 48, 3 skipped | 1.5 MB, 0 B/s");
  cli_tally_bytes(999, size, sizeof(size));
  assert_string_equal(size, "999 B");
  cli_tally_bytes(1234567890, size, sizeof(size));
  assert_string_equal(size, "1.2 GB");
}

/* ---- the limit's path (-j auto) ---------------------------------------- */

#define SEC 1000000000ull

/* Time-weighted: the median is the limit the run spent half its time at
 * or below, however many samples each value had. Settling is the last
 * move out of -20 %..+25 % of where it stood. */
static void test_limit_path(void **state) {
  static const struct {
    uint64_t at;
    unsigned limit;
  } path[] = {{0, 8},        {1 * SEC, 16},  {2 * SEC, 32}, {3 * SEC, 60},
              {4 * SEC, 64}, {10 * SEC, 58}, {20 * SEC, 58}};
  cli_limit_t l;
  unsigned min, median, max;
  double settled;
  size_t i;

  (void)state;
  assert_int_equal(cli_limit_init(&l, 100, 0, NULL), 0);
  cli_limit_path(&l, &min, &median, &max, &settled);
  assert_int_equal(max, 0);
  for (i = 0; i < sizeof(path) / sizeof(path[0]); i++)
    cli_limit_note(&l, path[i].at, path[i].limit, 1);
  cli_limit_path(&l, &min, &median, &max, &settled);
  assert_int_equal(min, 8);
  assert_int_equal(median, 58); /* 10 s at 58 and 6 s at 64 of 20 */
  assert_int_equal(max, 64);
  assert_true(settled > 2.99 && settled < 3.01);
  /* Many samples at 8 in a short time weigh less than one long one. */
  for (i = 0; i < 1000; i++)
    cli_limit_note(&l, 20 * SEC + i * 1000, 8, 1);
  cli_limit_note(&l, 21 * SEC, 58, 1);
  cli_limit_path(&l, &min, &median, &max, &settled);
  assert_int_equal(median, 58);
  /* Dropping to 8 and staying there is a move: it settles again. */
  cli_limit_note(&l, 30 * SEC, 8, 1);
  cli_limit_note(&l, 90 * SEC, 8, 1);
  cli_limit_path(&l, &min, &median, &max, &settled);
  assert_int_equal(median, 8);
  assert_true(settled > 29.99 && settled < 30.01);
  /* Beyond the ceiling counts as the ceiling. */
  cli_limit_note(&l, 91 * SEC, 5000, 1);
  cli_limit_path(&l, &min, &median, &max, &settled);
  assert_int_equal(max, 100);
  cli_limit_free(&l);
}

/* The trace gets one counter event per change of each track. */
static void test_limit_trace(void **state) {
  char path[] = "/tmp/uvfetch-limit-XXXXXX";
  char text[4096];
  uv_loop_t loop;
  cli_trace_t trace;
  cli_limit_t l;
  int fd = mkstemp(path);
  ssize_t n;
  const char *p;
  int limits = 0, flights = 0;

  (void)state;
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cli_trace_open(&trace, &loop, path, 4, NULL), 0);
  assert_int_equal(cli_limit_init(&l, 64, SEC, &trace), 0);
  cli_limit_note(&l, SEC, 8, 0);           /* both */
  cli_limit_note(&l, SEC + SEC / 2, 8, 5); /* in flight */
  cli_limit_note(&l, 2 * SEC, 8, 5);       /* neither */
  cli_limit_note(&l, 3 * SEC, 16, 5);      /* limit */
  cli_trace_close(&trace);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  cli_limit_free(&l);
  fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  n = read(fd, text, sizeof(text) - 1);
  close(fd);
  unlink(path);
  assert_true(n > 0);
  text[n] = '\0';
  for (p = text; (p = strstr(p, "\"ph\":\"C\"")) != NULL; p++) {
    const char *name = p;

    while (name > text && strncmp(name, "{\"name\":", 8) != 0)
      name--;
    if (strncmp(name, "{\"name\":\"limit\"", 15) == 0)
      limits++;
    else if (strncmp(name, "{\"name\":\"in flight\"", 19) == 0)
      flights++;
  }
  assert_int_equal(limits, 2);
  assert_int_equal(flights, 2);
  assert_non_null(strstr(text,
                         "{\"name\":\"limit\",\"ph\":\"C\",\"ts\":"
                         "2000000.000,\"pid\":1,\"args\":{\"value\":16}}"));
  assert_non_null(strstr(text, "{\"name\":\"in flight\",\"ph\":\"C\",\"ts\":"
                               "500000.000,\"pid\":1,\"args\":{\"value\":5}}"));
  assert_non_null(strstr(text, "\"process_name\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_fips_vectors),
      cmocka_unit_test(test_sha256_million_a_in_pieces),
      cmocka_unit_test(test_sha256_byte_by_byte),
      cmocka_unit_test(test_sha256_restart),
      cmocka_unit_test(test_template_values),
      cmocka_unit_test(test_template_errors),
      cmocka_unit_test(test_escape_tsv),
      cmocka_unit_test(test_escape_c1_and_invalid),
      cmocka_unit_test(test_escape_json_and_back),
      cmocka_unit_test(test_redact_url),
      cmocka_unit_test(test_jsonscan),
      cmocka_unit_test(test_json_unescape),
      cmocka_unit_test(test_urlset),
      cmocka_unit_test(test_savename),
      cmocka_unit_test(test_shard),
      cmocka_unit_test(test_progress_format),
      cmocka_unit_test(test_limit_path),
      cmocka_unit_test(test_limit_trace),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
