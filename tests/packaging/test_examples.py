#!/usr/bin/env python3
"""The example programs in examples/, run against loopback servers.

Environment (set by tests/packaging/meson.build):
  UVFETCH_SITESIZE, UVFETCH_CRAWLER, UVFETCH_SERVICE  the built examples
  UVFETCH_TEST_SERVER                                 tests/server.py

sitesize and service fetch from tests/server.py. The crawler needs pages
with links, so this file serves a small site of its own, from a thread.
"""

import http.server
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

from common import LoopbackServer, closed_port, env_path, main, run

SERVER = None


def setUpModule():
    global SERVER
    SERVER = LoopbackServer()


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


def lines_of(text):
    return [line.split("\t") for line in text.splitlines()]


# ---- sitesize ---------------------------------------------------------------


class Sitesize(unittest.TestCase):
    def setUp(self):
        self.exe = env_path("UVFETCH_SITESIZE")

    def test_sizes_exact(self):
        sizes = [0, 1, 37, 1000, 65536, 1000003]
        urls = [SERVER.url("/size/%d" % n) for n in sizes]
        urls.append(SERVER.url("/size/5000?gzip=1"))
        urls.append(SERVER.url("/size/70001?chunked=1"))
        urls.append(SERVER.url("/redirect/2?to=/size/333"))
        urls.append(SERVER.url("/status/404"))  # a fetch, like curl
        want = dict(zip(urls, [str(n) for n in sizes] +
                        ["5000", "70001", "333", str(len("status 404\n"))]))
        p = run([self.exe] + urls, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        got = lines_of(p.stdout)
        self.assertEqual(len(got), len(urls), p.stdout)
        self.assertEqual({f[0]: f[1] for f in got}, want)
        self.assertTrue(all(len(f) == 2 for f in got), got)

    def test_lines_come_as_downloads_end(self):
        slow = SERVER.url("/size/1500?delay=2000")
        fast = SERVER.url("/size/2500")
        start = time.monotonic()
        proc = subprocess.Popen([self.exe, slow, fast], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                universal_newlines=True)
        try:
            first = proc.stdout.readline()
            first_at = time.monotonic() - start
            # The fast answer is printed (and flushed) while the slow one is
            # still downloading.
            self.assertIsNone(proc.poll())
            second = proc.stdout.readline()
            second_at = time.monotonic() - start
            status = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(first, fast + "\t2500\n")
        self.assertEqual(second, slow + "\t1500\n")
        self.assertLess(first_at, 1.5)
        self.assertGreaterEqual(second_at, 1.9)
        self.assertEqual(status, 0)

    def test_failures(self):
        refused = "http://127.0.0.1:%d/" % closed_port()
        ok = SERVER.url("/size/10")
        p = run([self.exe, refused, "ftp://127.0.0.1/x", "not a url", ok],
                timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        got = {f[0]: f[1:] for f in lines_of(p.stdout)}
        self.assertEqual(len(got), 4, p.stdout)
        self.assertEqual(got[ok], ["10"])
        self.assertEqual(got[refused][:2], ["-", "UVFETCH_ECONNECT"])
        self.assertEqual(got["ftp://127.0.0.1/x"],
                         ["-", "UVFETCH_ESCHEME", "URL scheme not allowed"])
        self.assertEqual(got["not a url"],
                         ["-", "UVFETCH_EURL", "malformed URL"])

    def test_usage(self):
        p = run([self.exe], timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertIn("usage", p.stderr)


# ---- crawler ----------------------------------------------------------------


class Site:
    """A small site with links, served from a thread on 127.0.0.1.

    /page/N    links to /page/2N+1 and /page/2N+2 in several spellings, to
               its parent, and to many things the crawler must not follow
    /many      100 links to /leaf/0 .. /leaf/99
    /leaf/N    no links
    /big       3 MB with one link near the start and one at the very end
    /notfound  404, with a link the crawler must not follow
    /away      302 to the same server named "localhost": another site
    Bodies go out chunked in small pieces, so that tags, attribute names and
    values reach the crawler's body hook split at every possible place.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with site.lock:
                    site.requests.append(self.path)
                status, headers, body, chunk = site.route(self.path)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for off in range(0, len(body), chunk):
                    piece = body[off:off + chunk]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.other_port = closed_port()
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self):
        with self.lock:
            del self.requests[:]

    def fetched(self):
        with self.lock:
            return sorted(self.requests)

    def page(self, n):
        """The body of /page/N and how many same-site links it holds."""
        b = self.base
        same = ['<a href="/page/%d">left</a>' % (2 * n + 1),
                '<a href="%s/page/%d#top">right</a>' % (b, 2 * n + 2),
                "<A HREF='/page/%d'>left again</A>" % (2 * n + 1)]
        if n > 0:
            same.append('<a href="/page/%d">up</a>' % ((n - 1) // 2))
        other = [
            '<a href="http://localhost:%d/page/900">other host</a>'
            % self.port,
            '<a href="http://127.0.0.1:%d/page/901">other port</a>'
            % self.other_port,
            '<a href="https://127.0.0.1:%d/page/902">other scheme</a>'
            % self.port,
            '<a href="//127.0.0.1:%d/page/903">no scheme</a>' % self.port,
            '<a href="page/904">relative</a>',
            '<a href="mailto:someone@example.org">mail</a>',
            '<a href=/page/905>unquoted</a>',
            '<a href="/page/906<b>">broken</b>',
            '<a href="/page/907?%s">too long</a>' % ("x" * 2000),
            '<link rel="stylesheet" hreflang="en" href-x="/page/908">',
        ]
        filler = "<p>%s</p>\n" % ("lorem ipsum " * ((n * 37) % 50))
        body = "<html><body>\n%s%s\n%s\n</body></html>\n" % (
            filler, "\n".join(same[:2]), "\n".join(other + same[2:]))
        return body.encode(), len(same)

    def route(self, path):
        m = re.fullmatch(r"/page/(\d+)", path)
        if m:
            body, _ = self.page(int(m.group(1)))
            return 200, [], body, 7
        if path == "/many":
            body = "".join('<a href="/leaf/%d">%d</a>\n' % (i, i)
                           for i in range(100))
            return 200, [], body.encode(), 61
        m = re.fullmatch(r"/leaf/(\d+)", path)
        if m:
            return 200, [], b"leaf %s\n" % m.group(1).encode(), 3
        if path == "/big":
            middle = b"x" * (3 * 1000 * 1000)
            body = (b'<a href="/leaf/1">first</a>' + middle +
                    b'<a href="/leaf/2">last</a>')
            return 200, [], body, 65536
        if path == "/notfound":
            return 404, [], b'<a href="/leaf/3">gone</a>\n', 5
        if path == "/away":
            loc = "http://localhost:%d/page/0" % self.port
            return 302, [("Location", loc)], b"", 1
        return 404, [], b"no such page\n", 100


class Crawler(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site()

    @classmethod
    def tearDownClass(cls):
        cls.site.stop()

    def setUp(self):
        self.exe = env_path("UVFETCH_CRAWLER")
        self.site.reset()

    def crawl(self, *args, status=0):
        p = run([self.exe] + list(args), timeout=120)
        self.assertEqual(p.returncode, status, p.stdout + p.stderr)
        return p, lines_of(p.stdout)

    def test_depth_limit_and_link_rules(self):
        b = self.site.base
        p, got = self.crawl("-d", "2", b + "/page/0")
        want = {}
        for n, depth in [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2), (5, 2),
                         (6, 2)]:
            body, links = self.site.page(n)
            want[b + "/page/%d" % n] = [str(depth), str(len(body)), str(links)]
        self.assertEqual({f[1]: [f[0]] + f[2:] for f in got}, want)
        self.assertEqual(len(got), len(want))
        # Each page once; nothing off the site, nothing past depth 2.
        self.assertEqual(self.site.fetched(),
                         sorted("/page/%d" % n for n in range(7)))
        self.assertIn("pages: 7 fetched, 0 failed, 0 links over budget",
                      p.stderr)

    def test_depth_zero_fetches_only_the_start(self):
        b = self.site.base
        _, got = self.crawl("-d", "0", b + "/page/5")
        body, links = self.site.page(5)
        self.assertEqual(got, [["0", b + "/page/5", str(len(body)),
                                str(links)]])
        self.assertEqual(self.site.fetched(), ["/page/5"])

    def test_links_per_page_are_bounded(self):
        b = self.site.base
        _, got = self.crawl("-d", "1", b + "/many")
        by_url = {f[1]: f for f in got}
        many = self.site.route("/many")[2]
        self.assertEqual(by_url[b + "/many"],
                         ["0", b + "/many", str(len(many)), "64"])
        leaves = sorted(f[1] for f in got if f[0] == "1")
        self.assertEqual(leaves, sorted(b + "/leaf/%d" % i for i in range(64)))
        for f in got:
            if f[0] == "1":
                n = f[1].rsplit("/", 1)[1]
                self.assertEqual(f[2], str(len("leaf %s\n" % n)))

    def test_big_page_streams_past(self):
        b = self.site.base
        _, got = self.crawl("-d", "1", "-j", "2", b + "/big")
        by_url = {f[1]: f for f in got}
        big = self.site.route("/big")[2]
        self.assertEqual(by_url[b + "/big"][2:], [str(len(big)), "2"])
        self.assertEqual(by_url[b + "/leaf/1"][2:], ["7", "0"])
        self.assertEqual(by_url[b + "/leaf/2"][2:], ["7", "0"])
        self.assertEqual(len(got), 3)

    def test_page_budget(self):
        b = self.site.base
        # One at a time, the crawl order is fixed: 0, then 1 and 2, then 3.
        p, got = self.crawl("-d", "9", "-j", "1", "-n", "4", b + "/page/0")
        self.assertEqual(sorted(f[1] for f in got),
                         sorted(b + "/page/%d" % n for n in range(4)))
        self.assertEqual(self.site.fetched(),
                         sorted("/page/%d" % n for n in range(4)))
        m = re.search(r"pages: 4 fetched, 0 failed, (\d+) links over budget",
                      p.stderr)
        self.assertIsNotNone(m, p.stderr)
        self.assertGreater(int(m.group(1)), 0)

    def test_error_pages_and_redirects_off_site_are_not_followed(self):
        b = self.site.base
        _, got = self.crawl("-d", "3", b + "/notfound", b + "/away")
        by_url = {f[1]: f for f in got}
        self.assertEqual(by_url[b + "/notfound"][2:],
                         [str(len(self.site.route("/notfound")[2])), "1"])
        body, _ = self.site.page(0)
        # /away lands on another site: its links are not the crawl's.
        self.assertEqual(by_url[b + "/away"][0], "0")
        self.assertEqual(by_url[b + "/away"][2], str(len(body)))
        self.assertEqual(len(got), 2)
        self.assertEqual(self.site.fetched(), ["/away", "/notfound",
                                               "/page/0"])

    def test_failed_start_page(self):
        refused = "http://127.0.0.1:%d/" % closed_port()
        p, got = self.crawl(refused, status=1)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0][:4], ["0", refused, "-", "UVFETCH_ECONNECT"])
        self.assertIn("pages: 0 fetched, 1 failed", p.stderr)

    def test_usage(self):
        for args in ([], ["-d", "x", "http://a/"], ["relative/url"]):
            p = run([self.exe] + args, timeout=60)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "")


# ---- service ----------------------------------------------------------------


class LineClient:
    """A connection to the service that reads whole answer lines."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send(self, *lines):
        self.sock.sendall(b"".join(line.encode() + b"\n" for line in lines))

    def readline(self, timeout=30):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no answer in %s s" % timeout)
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                continue
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("connection closed; have %r" % self.buf)
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def stats(self):
        self.send("stats")
        fields = self.readline().split("\t")
        assert fields[0] == "stats", fields
        return {k: int(v) for k, v in (f.split("=") for f in fields[1:])}

    def read_to_eof(self, timeout=30):
        self.sock.settimeout(timeout)
        while True:
            data = self.sock.recv(65536)
            if not data:
                break
            self.buf += data
        rest, self.buf = self.buf, b""
        return rest.decode()

    def close(self):
        self.sock.close()


class Service(unittest.TestCase):
    def setUp(self):
        exe = env_path("UVFETCH_SERVICE")
        self.proc = subprocess.Popen([exe, "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            self.fail("service did not print its port: %r %r" %
                      (line, self.proc.stderr.read()))
        self.port = int(line)
        self.clients = []
        self.addCleanup(self.cleanup)

    def cleanup(self):
        for c in self.clients:
            c.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def connect(self):
        c = LineClient(self.port)
        self.clients.append(c)
        return c

    def stop(self, sig=signal.SIGTERM):
        """Signal the service; it must close everything and exit 0."""
        self.proc.send_signal(sig)
        status = self.proc.wait(timeout=30)
        err = self.proc.stderr.read().decode()
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")

    def test_slow_url_does_not_hold_back_others(self):
        slow = SERVER.url("/size/1234?delay=2000")
        fast = SERVER.url("/size/4321")
        a = self.connect()
        b = self.connect()
        start = time.monotonic()
        a.send(slow, fast)
        # The fast URL on the same connection is answered first.
        self.assertEqual(a.readline(), fast + "\t4321")
        self.assertLess(time.monotonic() - start, 1.5)
        # Another client is served while the slow download runs, and the
        # heartbeat timer keeps ticking meanwhile.
        b.send(SERVER.url("/size/777"))
        self.assertEqual(b.readline(), SERVER.url("/size/777") + "\t777")
        samples = [b.stats()]
        self.assertEqual(samples[0]["running"], 1)
        self.assertEqual(samples[0]["clients"], 2)
        while time.monotonic() - start < 1.6:
            time.sleep(0.3)
            samples.append(b.stats())
        ticks = [s["ticks"] for s in samples]
        self.assertEqual(ticks, sorted(set(ticks)), ticks)
        self.assertEqual(samples[-1]["running"], 1)
        self.assertEqual(a.readline(), slow + "\t1234")
        self.assertGreaterEqual(time.monotonic() - start, 1.9)
        after = b.stats()
        self.assertEqual(after["running"], 0)
        self.assertEqual(after["done"], 3)
        # 100 ms ticks over at least 1.9 s, with room for a loaded machine.
        self.assertGreaterEqual(after["ticks"] - ticks[0], 8)
        self.stop()

    def test_many_urls_over_several_connections(self):
        sizes = [0, 1, 37, 999, 4096, 65537, 300000, 12, 5000, 77]
        conns = [self.connect() for _ in range(3)]
        want = []
        for i, c in enumerate(conns):
            urls = [SERVER.url("/size/%d?c=%d" % (n, i)) for n in sizes]
            urls.append(SERVER.url("/size/%d?gzip=1&c=%d" % (2000 + i, i)))
            c.send(*urls)
            want.append({u: str(n) for u, n in
                         zip(urls, sizes + [2000 + i])})
        for c, w in zip(conns, want):
            got = dict(c.readline().split("\t") for _ in range(len(w)))
            self.assertEqual(got, w)
        self.stop()

    def test_error_answers(self):
        c = self.connect()
        refused = "http://127.0.0.1:%d/" % closed_port()
        c.send(refused, "not a url", "gopher://127.0.0.1/x", "   ",
               "x" * 9000, SERVER.url("/size/5"))
        got = {}
        for _ in range(5):
            f = c.readline().split("\t")
            got[f[0]] = f[1:]
        self.assertEqual(got["not a url"],
                         ["-", "UVFETCH_EURL", "malformed URL"])
        self.assertEqual(got["gopher://127.0.0.1/x"],
                         ["-", "UVFETCH_ESCHEME", "URL scheme not allowed"])
        self.assertEqual(got[""], ["-", "UVFETCH_EINVAL",
                                   "line longer than 8191 bytes"])
        self.assertEqual(got[refused][:2], ["-", "UVFETCH_ECONNECT"])
        self.assertEqual(got[SERVER.url("/size/5")], ["5"])
        self.stop(signal.SIGINT)

    def test_half_close_gets_every_answer(self):
        c = self.connect()
        urls = [SERVER.url("/size/%d?delay=%d" % (n, 300 - n))
                for n in range(1, 6)]
        c.send(*urls)
        c.sock.shutdown(socket.SHUT_WR)
        text = c.read_to_eof()
        got = dict(line.split("\t") for line in text.splitlines())
        self.assertEqual(got, {u: str(n) for n, u in enumerate(urls, 1)})
        self.assertEqual(len(text.splitlines()), 5)
        self.stop()

    def test_hang_up_cancels_its_downloads(self):
        a = self.connect()
        b = self.connect()
        a.send(SERVER.url("/size/10?delay=30000"),
               SERVER.url("/size/11?delay=30000"))
        deadline = time.monotonic() + 10
        while b.stats()["running"] != 2:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        # A reset, not a shutdown: the client is gone, not merely done
        # sending, so its downloads are cancelled.
        a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        a.close()
        self.clients.remove(a)
        while True:
            s = b.stats()
            if s["running"] == 0 and s["clients"] == 1:
                break
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(s["done"], 2)
        self.stop()

    def test_stop_with_downloads_and_clients_open(self):
        a = self.connect()
        a.send(SERVER.url("/size/10?delay=30000"))
        b = self.connect()
        while b.stats()["running"] != 1:
            time.sleep(0.05)
        start = time.monotonic()
        self.stop(signal.SIGTERM)
        self.assertLess(time.monotonic() - start, 10)
        # Both connections were closed, with no answer for the cancelled URL.
        self.assertEqual(a.read_to_eof(timeout=10), "")
        self.assertEqual(b.read_to_eof(timeout=10), "")

    def test_stop_when_idle(self):
        self.stop(signal.SIGINT)

    def test_usage(self):
        exe = env_path("UVFETCH_SERVICE")
        for args in ([], ["x"], ["70000"], ["1", "2"]):
            p = run([exe] + args, timeout=60)
            self.assertEqual(p.returncode, 2, args)
        self.stop()


if __name__ == "__main__":
    sys.exit(main(__name__))
