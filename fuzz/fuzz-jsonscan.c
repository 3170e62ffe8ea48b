/* Fuzz the journal reader's JSON scanner and string decoder
 * (src/cli/jsonscan.c): a journal may be torn or edited by hand.
 *
 * Checked: the scanner's members lie inside the input, and every string it
 * accepts decodes or is refused without fault.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "input/jsonscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct span {
  const char *p;
  size_t n;
} span_t;

static void on_member(const cli_json_member_t *m, void *arg) {
  const span_t *in = arg;
  cli_str_t out = CLI_STR_INIT;
  size_t replaced;

  if (m->key < in->p || m->key + m->keylen > in->p + in->n || m->val < in->p ||
      m->val + m->vallen > in->p + in->n)
    abort();
  cli_json_unescape(m->key, m->keylen, &out, &replaced);
  cli_str_reset(&out);
  if (m->type == CLI_JSON_STRING)
    cli_json_unescape(m->val, m->vallen, &out, &replaced);
  cli_str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  span_t in = {(const char *)data, size};

  cli_json_scan_object(in.p, in.n, on_member, &in);
  return 0;
}
