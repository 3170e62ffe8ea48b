/* Saving bodies into --output-dir without blocking the loop. See save.h.
 * Calls down only: libuv's file requests, the system's file calls and the
 * file namer (savename.c); a sink's end goes up through its callback. */
#include "save/save.h"
#include "util/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* A sink hands its bytes to the thread pool in pieces of this size. */
#define CHUNK_SIZE (64 * 1024)

/* Bytes all sinks together may hold in memory. */
#define BUDGET (16 * 1024 * 1024)

/* ".", the final name, ".", a pid, ".", a sequence number, ".part". */
#define TEMP_MAX (CLI_SAVENAME_MAX + 48)

/* Descriptors put aside for bodies when the process runs out (see
 * save.h): a write by name holds one only for its own call, so one would
 * do; the second covers one taken between our close and open by a
 * thread of libuv's pool (a name lookup's socket). */
#define RESERVE 2

/* Temporary files held open at once: at most one for every OPEN_SHARE of
 * the process's descriptors, so that most are left for sockets. */
#define OPEN_SHARE 4

/* One temporary file. It outlives its sink when a retry starts while a
 * write is in flight: the retry gets a new file, and the old one is
 * removed when its write lands. */
typedef struct part_file_s {
  cli_saver_t *saver;
  cli_sink_t *sink; /* NULL once orphaned */
  int fd;           /* -1: written by name, see write_by_name */
  char name[TEMP_MAX];
  uv_fs_t req;
  int writing; /* req is in flight */
  char *wbuf;  /* what it writes: wbuf[wdone .. wlen) at woff + wdone */
  size_t wlen;
  size_t wdone;
  uint64_t woff;
} part_file_t;

struct cli_sink_s {
  cli_saver_t *saver;
  part_file_t *file; /* NULL until the first byte */
  char final[CLI_SAVENAME_MAX];
  cli_str_t pending;    /* gathered, not yet handed to a write */
  uint64_t pending_off; /* where pending goes in the file */
  int err;
  int finishing;
  int keep;
  cli_sink_done_cb cb;
  void *arg;
};

static void submit(cli_sink_t *k);
static void finalize(cli_sink_t *k);

/* Make dir and each missing directory above it, as mkdir -p does. */
static int make_dirs(const char *dir) {
  char *path = strdup(dir);
  char *p;
  int err = 0;

  if (path == NULL)
    return -ENOMEM;
  for (p = path + 1; *p != '\0'; p++) {
    if (*p != '/' || p[-1] == '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
      err = -errno;
    *p = '/';
    if (err < 0)
      break;
  }
  if (err == 0 && mkdir(path, 0777) < 0 && errno != EEXIST)
    err = -errno;
  free(path);
  return err;
}

/* Open `name` in the directory. Out of descriptors, a reserved one makes
 * room for it: *borrowed is then 1, and the caller gives the place back
 * with give_back once it has closed the file. */
static int open_in_dir(cli_saver_t *s, const char *name, int flags,
                       int *borrowed) {
  int fd;

  *borrowed = 0;
  fd = openat(s->dirfd, name, flags | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0666);
  if (fd >= 0 || (errno != EMFILE && errno != ENFILE) || s->nreserve == 0)
    return fd >= 0 ? fd : -errno;
  close(s->reserve[--s->nreserve]);
  *borrowed = 1;
  fd = openat(s->dirfd, name, flags | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0666);
  return fd >= 0 ? fd : -errno;
}

/* Put a borrowed place back: the descriptor just closed is free again. */
static void give_back(cli_saver_t *s, int borrowed) {
  int fd;

  if (!borrowed)
    return;
  fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);
  if (fd >= 0)
    s->reserve[s->nreserve++] = fd;
}

int cli_saver_open(cli_saver_t *s, uv_loop_t *loop, const char *dir) {
  struct rlimit rl;
  int err;

  memset(s, 0, sizeof(*s));
  s->loop = loop;
  s->budget = BUDGET;
  s->dirfd = -1;
  err = make_dirs(dir);
  if (err < 0)
    return err;
  s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0)
    return -errno;
  s->dir = strdup(dir);
  if (s->dir == NULL) {
    close(s->dirfd);
    s->dirfd = -1;
    return -ENOMEM;
  }
  s->max_open = UINT_MAX;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur / OPEN_SHARE < UINT_MAX)
    s->max_open = (unsigned)(rl.rlim_cur / OPEN_SHARE);
  while (s->nreserve < RESERVE) {
    int fd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);

    if (fd < 0)
      break;
    s->reserve[s->nreserve++] = fd;
  }
  return 0;
}

void cli_saver_close(cli_saver_t *s) {
  while (s->nreserve > 0)
    close(s->reserve[--s->nreserve]);
  if (s->dirfd >= 0)
    close(s->dirfd);
  s->dirfd = -1;
  free(s->dir);
  s->dir = NULL;
}

cli_sink_t *cli_sink_new(cli_saver_t *s, const char *url, size_t n) {
  cli_sink_t *k = calloc(1, sizeof(*k));

  if (k == NULL)
    return NULL;
  k->saver = s;
  cli_savename(url, n, k->final);
  s->live++;
  return k;
}

/* The sink's first byte, or a kept empty body: make its temporary file.
 * It stays open while the body comes, unless as many files as the limit
 * allows are open already, or it could be made only in a reserved
 * descriptor's place: then it is closed at once and written by name
 * (fd -1). */
static int open_file(cli_sink_t *k) {
  cli_saver_t *s = k->saver;
  part_file_t *f = calloc(1, sizeof(*f));
  int borrowed;

  if (f == NULL)
    return -ENOMEM;
  f->saver = s;
  f->sink = k;
  snprintf(f->name, sizeof(f->name), ".%s.%lu.%llu.part", k->final,
           (unsigned long)getpid(), (unsigned long long)++s->seq);
  f->fd = open_in_dir(s, f->name, O_CREAT | O_EXCL, &borrowed);
  if (f->fd < 0) {
    int err = f->fd;

    give_back(s, borrowed);
    free(f);
    return err;
  }
  if (borrowed || s->open_files >= s->max_open) {
    close(f->fd);
    f->fd = -1;
    give_back(s, borrowed);
  } else {
    s->open_files++;
  }
  k->file = f;
  return 0;
}

/* Close and remove a temporary file that will not be kept. */
static void discard_file(part_file_t *f) {
  if (f->fd >= 0) {
    close(f->fd);
    f->saver->open_files--;
  }
  unlinkat(f->saver->dirfd, f->name, 0);
  free(f);
}

static int pwrite_all(int fd, const char *p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);

    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    if (w == 0)
      return -EIO;
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

static void drop_pending(cli_sink_t *k) {
  k->saver->buffered -= k->pending.len;
  cli_str_reset(&k->pending);
}

/* A file made when the process had no descriptor to spare: write what the
 * sink gathered, and p[0..n), now, opening the file for this call only.
 * Slower than a write on the thread pool, and only for bodies that began
 * while descriptors ran out; it never fails for want of one while the
 * reserve holds. */
static int write_by_name(cli_sink_t *k, const char *p, size_t n) {
  cli_saver_t *s = k->saver;
  int borrowed;
  int fd;
  int err;

  fd = open_in_dir(s, k->file->name, 0, &borrowed);
  if (fd < 0) {
    give_back(s, borrowed);
    drop_pending(k);
    return fd;
  }
  err = pwrite_all(fd, k->pending.p, k->pending.len, k->pending_off);
  if (err == 0 && n > 0)
    err = pwrite_all(fd, p, n, k->pending_off + k->pending.len);
  if (close(fd) < 0 && err == 0)
    err = -errno;
  give_back(s, borrowed);
  k->pending_off += k->pending.len + n;
  drop_pending(k);
  return err;
}

int cli_sink_write(cli_sink_t *k, const char *p, size_t n) {
  cli_saver_t *s = k->saver;
  int err;

  if (k->err != 0)
    return -1;
  if (k->file == NULL) {
    err = open_file(k);
    if (err < 0) {
      k->err = err;
      return -1;
    }
  }
  if (k->file->fd < 0) {
    /* Written by name: gathered a chunk at a time, within the budget. */
    if (k->pending.len + n < CHUNK_SIZE && s->buffered + n <= s->budget) {
      if (cli_str_append(&k->pending, p, n) < 0) {
        k->err = -ENOMEM;
        return -1;
      }
      s->buffered += n;
      return 0;
    }
    err = write_by_name(k, p, n);
    if (err < 0) {
      k->err = err;
      return -1;
    }
    return 0;
  }
  if (s->buffered + n > s->budget) {
    /* Over budget: write what this sink holds, and these bytes, now.
     * They lie past any write in flight, so the two cannot overlap. */
    err = pwrite_all(k->file->fd, k->pending.p, k->pending.len, k->pending_off);
    if (err == 0)
      err = pwrite_all(k->file->fd, p, n, k->pending_off + k->pending.len);
    k->pending_off += k->pending.len + n;
    drop_pending(k);
    if (err < 0) {
      k->err = err;
      return -1;
    }
    return 0;
  }
  if (cli_str_append(&k->pending, p, n) < 0) {
    k->err = -ENOMEM;
    return -1;
  }
  s->buffered += n;
  if (k->pending.len >= CHUNK_SIZE && !k->file->writing)
    submit(k);
  return 0;
}

static void on_write(uv_fs_t *req);

static void start_write(part_file_t *f) {
  uv_buf_t buf =
      uv_buf_init(f->wbuf + f->wdone, (unsigned)(f->wlen - f->wdone));
  int err;

  err = uv_fs_write(f->saver->loop, &f->req, f->fd, &buf, 1,
                    (int64_t)(f->woff + f->wdone), on_write);
  if (err < 0) {
    /* Never queued: report it as the write's own result would. */
    f->req.result = err;
    f->writing = 1;
    on_write(&f->req);
    return;
  }
  f->writing = 1;
}

/* Hand the gathered bytes to a write. */
static void submit(cli_sink_t *k) {
  part_file_t *f = k->file;

  f->wlen = k->pending.len;
  f->wbuf = cli_str_steal(&k->pending);
  f->wdone = 0;
  f->woff = k->pending_off;
  k->pending_off += f->wlen;
  start_write(f);
}

static void on_write(uv_fs_t *req) {
  part_file_t *f = container_of(req, part_file_t, req);
  cli_sink_t *k = f->sink;
  ssize_t result = req->result;

  if (req->fs_type == UV_FS_WRITE)
    uv_fs_req_cleanup(req);
  f->writing = 0;
  if (result > 0 && f->wdone + (size_t)result < f->wlen && k != NULL &&
      k->err == 0) {
    /* A short write: the rest goes next. */
    f->wdone += (size_t)result;
    start_write(f);
    return;
  }
  if (result <= 0 && k != NULL && k->err == 0)
    k->err = result < 0 ? (int)result : -EIO;
  f->saver->buffered -= f->wlen;
  free(f->wbuf);
  f->wbuf = NULL;
  f->wlen = 0;
  if (k == NULL) {
    f->saver->live--;
    discard_file(f);
    return;
  }
  if (k->err != 0)
    drop_pending(k);
  if (k->pending.len > 0 && (k->pending.len >= CHUNK_SIZE || k->finishing) &&
      !(k->finishing && !k->keep)) {
    submit(k);
    return;
  }
  if (k->finishing)
    finalize(k);
}

void cli_sink_restart(cli_sink_t *k) {
  part_file_t *f = k->file;

  drop_pending(k);
  k->pending_off = 0;
  k->err = 0;
  if (f == NULL)
    return;
  if (f->writing) {
    /* The old attempt's write lands when it lands; the new attempt gets
     * a file of its own rather than racing it. */
    f->sink = NULL;
    k->saver->live++;
    k->file = NULL;
    return;
  }
  if (f->fd < 0 || ftruncate(f->fd, 0) < 0) {
    /* A file written by name starts over as a new one. */
    discard_file(f);
    k->file = NULL;
  }
}

/* Nothing is in flight: rename or remove the file, report, free. */
static void finalize(cli_sink_t *k) {
  cli_saver_t *s = k->saver;
  cli_str_t path = CLI_STR_INIT;
  const char *saved = NULL;
  int err = k->err;

  if (k->keep && err == 0 && k->file == NULL)
    err = open_file(k);
  if (k->keep && err == 0) {
    part_file_t *f = k->file;

    if (f->fd >= 0) {
      s->open_files--;
      if (close(f->fd) < 0)
        err = -errno;
    }
    f->fd = -1;
    if (err == 0 && renameat(s->dirfd, f->name, s->dirfd, k->final) < 0)
      err = -errno;
    if (err != 0)
      unlinkat(s->dirfd, f->name, 0);
    free(f);
    k->file = NULL;
    if (err == 0) {
      cli_str_puts(&path, s->dir);
      if (path.len > 0 && path.p[path.len - 1] != '/')
        cli_str_append(&path, "/", 1);
      cli_str_puts(&path, k->final);
      saved = path.oom ? NULL : path.p;
    }
  }
  if (k->file != NULL) {
    discard_file(k->file);
    k->file = NULL;
  }
  drop_pending(k);
  cli_str_free(&k->pending);
  s->live--;
  if (k->cb != NULL)
    k->cb(k, saved, err, k->arg);
  cli_str_free(&path);
  free(k);
}

void cli_sink_finish(cli_sink_t *k, int keep, cli_sink_done_cb cb, void *arg) {
  k->finishing = 1;
  k->keep = keep && k->err == 0;
  k->cb = cb;
  k->arg = arg;
  if (!k->keep)
    drop_pending(k);
  if (k->file != NULL && k->file->writing)
    return;
  if (k->keep && k->pending.len > 0 && k->file != NULL && k->file->fd < 0) {
    k->err = write_by_name(k, NULL, 0);
    k->keep = k->err == 0;
  } else if (k->keep && k->pending.len > 0) {
    submit(k);
    return;
  }
  finalize(k);
}
