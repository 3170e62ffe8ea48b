/* Saving bodies into --output-dir, one file per URL, without blocking
 * the loop on the disk.
 *
 * A body is written to a temporary file (".NAME.PID.SEQ.part") and renamed
 * to its final name (see savename.h) only once it is complete, so an
 * interrupted run never leaves a truncated file under a final name; a
 * failed or cancelled transfer's temporary file is removed. Bytes are
 * gathered per transfer and written with uv_fs_write (libuv's thread
 * pool), one write in flight per file. Memory is bounded for the whole
 * run: when the bytes waiting in memory pass a budget, a sink writes at
 * once with pwrite(2) instead, which slows the transfers feeding it down
 * to the disk's pace rather than buffering without end. Opening, renaming
 * and removing files are quick metadata calls, made directly.
 *
 * A temporary file needs a descriptor, as the library's sockets do, and
 * must not fail its URL when the process runs out of them (the library
 * makes transfers wait for sockets; a body that has begun cannot wait).
 * So two descriptors are put aside when the directory is opened, and at
 * most a quarter of the process's descriptors are held by open temporary
 * files. A file past that count, or that cannot be opened for want of a
 * descriptor (it is then made in a reserved one's place), is closed at
 * once; its body is then gathered 64 KiB at a time and written by name: the
 * file is opened, written and closed within one call, in a reserved
 * descriptor's place if need be, so the reserve is whole again after every
 * write and no body ever waits for another. Only those bodies pay for the extra
 * calls.
 */
#ifndef UVFETCH_CLI_SAVE_H
#define UVFETCH_CLI_SAVE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "save/savename.h"
#include "util/str.h"

typedef struct cli_saver_s {
  uv_loop_t *loop;
  int dirfd;
  char *dir;       /* as given, to build the paths records show */
  size_t buffered; /* bytes in memory: gathered or being written */
  size_t budget;   /* past this, sinks write at once */
  uint64_t seq;    /* numbers temporary names */
  unsigned live;   /* sinks and orphaned files not yet released */
  int reserve[2];  /* descriptors put aside for bodies; see above */
  unsigned nreserve;
  unsigned open_files; /* temporary files held open */
  unsigned max_open;   /* at most; past it, files are written by name */
} cli_saver_t;

typedef struct cli_sink_s cli_sink_t;

/* A sink is settled: `saved` is the path the body now has (valid during
 * the call), or NULL when it was not kept; err is 0, or the negative
 * errno that stopped writing or renaming. The sink is freed after. */
typedef void (*cli_sink_done_cb)(cli_sink_t *k, const char *saved, int err,
                                 void *arg);

/* Use directory `dir`, making it and any missing parent, as mkdir -p.
 * Returns 0 or a negative errno. */
int cli_saver_open(cli_saver_t *s, uv_loop_t *loop, const char *dir);

/* Release the directory. Every sink must have settled (run the loop until
 * `live` is 0 first). */
void cli_saver_close(cli_saver_t *s);

/* A sink for the body of url[0..n). NULL when out of memory. */
cli_sink_t *cli_sink_new(cli_saver_t *s, const char *url, size_t n);

/* Body bytes, in order. Returns 0, or -1 once writing has failed (the
 * transfer should stop; the error is kept for the done callback). */
int cli_sink_write(cli_sink_t *k, const char *p, size_t n);

/* The body starts again (a retry): forget what was written. */
void cli_sink_restart(cli_sink_t *k);

/* The transfer is over: keep the body under its final name (keep != 0)
 * or throw it away. `cb` (may be NULL) runs once every write has landed,
 * possibly before this returns. */
void cli_sink_finish(cli_sink_t *k, int keep, cli_sink_done_cb cb, void *arg);

#endif /* UVFETCH_CLI_SAVE_H */
