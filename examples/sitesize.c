/* sitesize: the smallest complete uvfetch program. It fetches every URL
 * given on the command line at once and prints "URL<TAB>BYTES" for each as
 * soon as its download ends, like
 *
 *   for url, size in pool.imap_unordered(sitesize, sites):
 *       print(url, size)
 *
 * A failed URL prints "URL<TAB>-<TAB>ERROR<TAB>MESSAGE" instead. The exit
 * status is 0 when every URL was fetched, 1 otherwise.
 *
 *   cc sitesize.c $(pkg-config --cflags --libs uvfetch) -o sitesize
 *   ./sitesize https://example.org/ https://example.com/
 */
#include <signal.h>
#include <stdio.h>

#include <uvfetch.h>

static int failures;

static void on_done(uvfetch_t *f, const uvfetch_result_t *r) {
  if (r->ok) {
    printf("%s\t%llu\n", r->url, (unsigned long long)r->bytes);
  } else {
    printf("%s\t-\t%s\t%s\n", r->url, uvfetch_err_name(r->error), r->message);
    failures++;
  }
  /* Each line as it arrives, even into a pipe. */
  fflush(stdout);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  uvfetch_t *f;
  int err;
  int i;

  if (argc < 2) {
    fprintf(stderr, "usage: sitesize URL...\n");
    return 2;
  }
  /* libcurl is told not to touch signals; a peer that drops a connection
   * must not kill the process with SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "sitesize: %s\n", uv_strerror(err));
    return 1;
  }
  err = uvfetch_init(&loop, &f, NULL, on_done);
  if (err != 0) {
    fprintf(stderr, "sitesize: %s\n", uvfetch_strerror(err));
    uv_loop_close(&loop);
    return 1;
  }
  for (i = 1; i < argc; i++) {
    /* A refused URL gets no callback: report it here. */
    err = uvfetch_add(f, argv[i], NULL);
    if (err != 0) {
      printf("%s\t-\t%s\t%s\n", argv[i], uvfetch_err_name(err),
             uvfetch_strerror(err));
      failures++;
    }
  }

  uv_run(&loop, UV_RUN_DEFAULT); /* returns when every URL is done */
  uvfetch_close(f, NULL);
  uv_run(&loop, UV_RUN_DEFAULT); /* runs the close callbacks */
  err = uv_loop_close(&loop);
  if (err != 0) {
    fprintf(stderr, "sitesize: uv_loop_close: %s\n", uv_strerror(err));
    return 1;
  }
  return failures ? 1 : 0;
}
