/* The progress line on standard error. See progress.h. Calls down only:
 * a libuv timer, write(2) and the tally's number formats; the counts
 * come up from the caller's function. */
#include "report/progress.h"
#include "util/container.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "report/tally.h"

#define TICK_MS 100

/* How fast the shown rate follows the real one: the past weighs about as
 * much as the last RATE_SECONDS. */
#define RATE_SECONDS 2.0

static void put(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);

    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return; /* a progress line is not worth failing for */
    s += w;
    n -= (size_t)w;
  }
}

static void duration(double s, char *buf, size_t len) {
  unsigned long t = s < 0 ? 0 : (unsigned long)(s + 0.5);

  if (t >= 3600)
    snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

void cli_progress_format(const cli_progress_counts_t *c, double elapsed,
                         double rate, size_t width, char *buf, size_t len) {
  char size[32];
  char speed[32];
  char eta[32];
  double finished = (double)(c->done + c->skipped);
  int n;

  cli_tally_bytes((double)c->bytes, size, sizeof(size));
  cli_tally_bytes(rate, speed, sizeof(speed));
  n = snprintf(buf, len,
               "%" PRIu64 " done, %" PRIu64 " failed, %" PRIu64
               " in flight, %" PRIu64 " queued",
               c->done, c->failed, c->running, c->queued);
  if (n >= 0 && (size_t)n < len && c->limit > 0)
    n += snprintf(buf + n, len - (size_t)n, ", limit %" PRIu64, c->limit);
  if (n >= 0 && (size_t)n < len && c->skipped > 0)
    n +=
        snprintf(buf + n, len - (size_t)n, ", %" PRIu64 " skipped", c->skipped);
  if (n >= 0 && (size_t)n < len)
    n += snprintf(buf + n, len - (size_t)n, " | %s, %s/s", size, speed);
  if (n >= 0 && (size_t)n < len && c->total > 0) {
    double pct = 100.0 * finished / c->total;

    if (pct > 100.0)
      pct = 100.0;
    if (finished > 0 && c->total > finished) {
      duration(elapsed * (c->total - finished) / finished, eta, sizeof(eta));
      n += snprintf(buf + n, len - (size_t)n, " | %.0f%%, ETA %s", pct, eta);
    } else {
      n += snprintf(buf + n, len - (size_t)n, " | %.0f%%", pct);
    }
  }
  /* Never wrap: a wrapped line cannot be erased with one \r. */
  if (width > 1 && strlen(buf) >= width)
    buf[width - 1] = '\0';
}

static size_t columns(int fd) {
  struct winsize ws;

  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

static void draw(cli_progress_t *p) {
  cli_progress_counts_t c;
  char line[512];
  uint64_t now = uv_hrtime();
  double dt = (double)(now - p->last_ns) / 1e9;
  size_t n;

  memset(&c, 0, sizeof(c));
  p->counts(p, &c);
  if (dt > 0) {
    double inst = (double)(c.bytes - p->last_bytes) / dt;
    double keep = 1.0 / (1.0 + dt / RATE_SECONDS);

    p->rate = p->rate * keep + inst * (1.0 - keep);
    p->last_ns = now;
    p->last_bytes = c.bytes;
  }
  line[0] = '\r';
  cli_progress_format(&c, (double)(now - p->start_ns) / 1e9, p->rate,
                      columns(p->fd), line + 1, sizeof(line) - 4);
  n = strlen(line);
  memcpy(line + n, "\033[K", 3);
  put(p->fd, line, n + 3);
  p->drawn = 1;
}

static void on_tick(uv_timer_t *timer) {
  draw(container_of(timer, cli_progress_t, timer));
}

int cli_progress_start(cli_progress_t *p, uv_loop_t *loop, int fd,
                       cli_progress_counts_fn counts) {
  int err;

  p->fd = fd;
  p->drawn = 0;
  p->counts = counts;
  p->start_ns = uv_hrtime();
  p->last_ns = p->start_ns;
  p->last_bytes = 0;
  p->rate = 0;
  err = uv_timer_init(loop, &p->timer);
  if (err < 0)
    return err;
  uv_unref((uv_handle_t *)&p->timer);
  return uv_timer_start(&p->timer, on_tick, TICK_MS, TICK_MS);
}

void cli_progress_clear(cli_progress_t *p) {
  if (!p->drawn)
    return;
  put(p->fd, "\r\033[K", 4);
  p->drawn = 0;
}

void cli_progress_stop(cli_progress_t *p) {
  cli_progress_clear(p);
  uv_close((uv_handle_t *)&p->timer, NULL);
}
