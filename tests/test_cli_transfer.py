#!/usr/bin/env python3
"""Tests for uvfetch's transfer-control options (stdlib only).

Timeouts, speed limits, retries, redirects, request headers, compression,
HTTP versions, TLS, proxies, --fail, the per-host cap and the rate limit,
each against loopback servers this file starts: tests/server.py, raw
sockets for connections that never complete, and tests/nginx.sh for TLS and
HTTP/2 (those tests skip when nginx cannot be had).

Environment: as for test_cli.py.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import test_cli as T
from test_cli import closed_port, jsonl, run, server_stats, tsv, url

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX_SH = os.path.join(HERE, "nginx.sh")


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def headers_sent(args):
    """The request header lines /headers saw, fetched with extra args."""
    with tempfile.TemporaryDirectory() as d:
        p = run(args + ["-o", d, "--json", url("/headers")])
        if p.returncode != 0:
            raise AssertionError(p.stderr)
        (r,) = jsonl(p.stdout)
        with open(r["saved"], "rb") as f:
            return f.read().decode("latin-1").splitlines()


class Timeouts(unittest.TestCase):
    def test_connect_timeout(self):
        # A listener whose accept queue is full drops further SYNs, so a
        # connection to it is never made: only --connect-timeout ends it.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        fill = []
        try:
            for _ in range(4):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", port))
                fill.append(c)
            time.sleep(0.2)
            stuck = "http://127.0.0.1:%d/x" % port
            t0 = time.monotonic()
            p = run(["--connect-timeout", "0.5", stuck, url("/size/3")])
            elapsed = time.monotonic() - t0
        finally:
            for c in fill:
                c.close()
            s.close()
        self.assertEqual(p.returncode, 1, p.stderr)
        got = {f[0]: f[1:] for f in tsv(p.stdout)}
        self.assertEqual(got[url("/size/3")], ["3"])
        self.assertEqual(got[stuck][:2], ["-", "UVFETCH_ETIMEDOUT"])
        self.assertLess(elapsed, 20)

    def test_speed_limit_and_time(self):
        # Nothing arrives for 4 s: under 1000 B/s for 1 s fails it.
        slow = url("/size/10?delay=4000")
        t0 = time.monotonic()
        p = run(["--speed-limit", "1000", "--speed-time", "1", slow])
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 1)
        (f,) = tsv(p.stdout)
        self.assertEqual(f[:3], [slow, "-", "UVFETCH_ETIMEDOUT"])
        self.assertLess(elapsed, 3.5)
        # Short forms, as curl spells them.
        p = run(["-Y", "1000", "-y", "1", slow])
        self.assertEqual(tsv(p.stdout)[0][1:3], ["-", "UVFETCH_ETIMEDOUT"])

    def test_speed_limit_alone_waits_30_seconds(self):
        # curl's default --speed-time is 30: a 1.5 s stall passes.
        p = run(["--speed-limit", "1000", url("/size/10?delay=1500")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout)[0][1:], ["10"])

    def test_speed_time_alone_means_one_byte_per_second(self):
        p = run(["--speed-time", "1", url("/size/10?delay=4000")])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(tsv(p.stdout)[0][1:3], ["-", "UVFETCH_ETIMEDOUT"])

    def test_bad_values(self):
        for args in (["--speed-limit", "-1"], ["--speed-time", "0.5"],
                     ["-Y", "x"], ["--connect-timeout", "1s"]):
            p = run(args + [url("/size/1")])
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"bad value", p.stderr)


class Retries(unittest.TestCase):
    def test_retry_until_success(self):
        flaky = url("/flaky/r1?fail=2")
        p = run(["--json", "--retry", "3", "--retry-delay", "0.05", flaky])
        self.assertEqual(p.returncode, 0, p.stderr)
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["http_code"], r["bytes"], r["attempts"]),
                         (200, 10, 3))

    def test_tsv_shows_attempts_after_the_size(self):
        flaky = url("/flaky/r2?fail=1")
        bad = "http://127.0.0.1:%d/x" % closed_port()
        p = run(["--ordered", "--retry", "2", "--retry-delay", "0.05",
                 flaky, bad])
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(recs[0], [flaky, "10", "2"])
        self.assertEqual(recs[1][:4], [bad, "-", "3", "UVFETCH_ECONNECT"])
        self.assertEqual(len(recs[1]), 5)

    def test_without_retry_a_503_is_a_fetch(self):
        p = run(["--json", url("/flaky/r3?fail=1")])
        self.assertEqual(p.returncode, 0)
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["http_code"], r["attempts"], r["ok"]),
                         (503, 1, True))

    def test_retries_run_out(self):
        p = run(["--json", "--retry", "1", "--retry-delay", "0.05",
                 url("/flaky/r4?fail=5")])
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["http_code"], r["attempts"]), (503, 2))
        # With --fail, the last 503 is a failure.
        p = run(["--json", "-f", "--retry", "1", "--retry-delay", "0.05",
                 url("/flaky/r5?fail=5")])
        self.assertEqual(p.returncode, 1)
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["error"], r["attempts"]), ("UVFETCH_EHTTP", 2))

    def test_retry_after_is_honoured(self):
        t0 = time.monotonic()
        p = run(["--json", "--retry", "1", "--retry-delay", "0.05",
                 url("/flaky/r6?fail=1&retry_after=1")])
        elapsed = time.monotonic() - t0
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["http_code"], r["attempts"]), (200, 2))
        self.assertGreaterEqual(elapsed, 0.95)

    def test_retry_delay_is_the_first_backoff(self):
        # Jitter keeps at least half of the delay.
        t0 = time.monotonic()
        p = run(["--json", "--retry", "1", "--retry-delay", "1.2",
                 url("/flaky/r7?fail=1")])
        elapsed = time.monotonic() - t0
        self.assertEqual(jsonl(p.stdout)[0]["attempts"], 2)
        self.assertGreaterEqual(elapsed, 0.55)

    def test_retry_max_time(self):
        # The first retry would be due 2 s after the first try: past 1 s.
        t0 = time.monotonic()
        p = run(["--json", "--retry", "5", "--retry-max-time", "1",
                 url("/flaky/r8?fail=5&retry_after=2")])
        elapsed = time.monotonic() - t0
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["http_code"], r["attempts"]), (503, 1))
        self.assertLess(elapsed, 1.9)

    def test_waiting_retry_holds_no_slot(self):
        # With one slot, a URL waiting 2 s for its retry lets the next one
        # run meanwhile.
        flaky = url("/flaky/r9?fail=1&retry_after=2")
        fast = url("/size/4")
        t0 = time.monotonic()
        proc = T.popen(["-j", "1", "--retry", "1", flaky, fast],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = proc.stdout.readline()
            first_at = time.monotonic() - t0
            rest = proc.stdout.read()
            self.assertEqual(proc.wait(timeout=T.TIMEOUT), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(first, (fast + "\t4\t1\n").encode())
        self.assertLess(first_at, 1.8)
        self.assertEqual(rest, (flaky + "\t10\t2\n").encode())


class Redirects(unittest.TestCase):
    def test_no_location_reports_the_redirect(self):
        p = run(["--json", "--no-location", url("/redirect/2")])
        self.assertEqual(p.returncode, 0, p.stderr)
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["http_code"], r["redirects"], r["bytes"]),
                         (302, 0, 0))
        self.assertEqual(r["effective_url"], url("/redirect/2"))
        # Followed by default.
        p = run(["--json", url("/redirect/2")])
        self.assertEqual(jsonl(p.stdout)[0]["http_code"], 200)


class Request(unittest.TestCase):
    def test_headers_repeatable_and_removable(self):
        lines = headers_sent(["-H", "X-One: 1", "--header", "X-Two: two",
                              "-H", "Accept:"])
        self.assertIn("X-One: 1", lines)
        self.assertIn("X-Two: two", lines)
        self.assertFalse([h for h in lines if h.lower().startswith("accept:")],
                         lines)

    def test_bad_header(self):
        for bad in ("NoColon", ": empty name", "X-A: 1\r\nX-B: 2"):
            p = run(["-H", bad, url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"-H", p.stderr)

    def test_user_agent(self):
        lines = headers_sent(["-A", "probe/1.0"])
        self.assertIn("User-Agent: probe/1.0", lines)
        default = headers_sent([])
        self.assertTrue([h for h in default
                         if h.startswith("User-Agent: uvfetch/")], default)

    def test_compressed_is_the_default(self):
        big = url("/size/50000?gzip=1")
        for args in ([], ["--compressed"], ["--no-compressed",
                                            "--compressed"]):
            p = run(["--json"] + args + [big])
            (r,) = jsonl(p.stdout)
            self.assertEqual(r["bytes"], 50000, args)
            self.assertLess(r["wire_bytes"], 50000, args)
        p = run(["--json", "--compressed", "--no-compressed", big])
        self.assertEqual(jsonl(p.stdout)[0]["wire_bytes"], 50000)

    def test_http_versions_on_plain_http(self):
        # Over plain HTTP, --http2 asks the server for an upgrade (h2c);
        # the test server declines and answers in HTTP/1.1.
        h2 = headers_sent(["--http2"])
        self.assertIn("Upgrade: h2c", h2)
        h11 = headers_sent(["--http1.1"])
        self.assertFalse([h for h in h11 if h.startswith("Upgrade:")], h11)


class Fail(unittest.TestCase):
    def test_fail_marks_http_errors(self):
        ok = url("/size/5")
        missing = url("/status/404")
        p = run(["--ordered", "-f", ok, missing])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(tsv(p.stdout), [
            [ok, "5"],
            [missing, "11", "UVFETCH_EHTTP",
             "The requested URL returned error: 404"]])
        p = run(["--json", "--fail", missing])
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["ok"], r["error"], r["curl_code"], r["http_code"],
                          r["bytes"]),
                         (True, "UVFETCH_EHTTP", 22, 404, 11))

    def test_fail_exit_status_zero_when_all_below_400(self):
        p = run(["-f", url("/size/1"), url("/status/302?x=1"),
                 url("/status/399")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 3)


class Proxy(unittest.TestCase):
    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                                    "no_proxy")}
        env.update(extra)
        return env

    def test_proxy_option(self):
        # Nobody listens where the URL points; the proxy (the test server,
        # which accepts absolute-form targets) answers for it.
        target = "http://127.0.0.1:%d/size/6" % closed_port()
        p = run(["-x", T.BASE, target], env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[target, "6"]])
        p = run(["--proxy", T.BASE, target], env=self.env())
        self.assertEqual(tsv(p.stdout), [[target, "6"]])

    def test_proxy_from_environment(self):
        target = "http://127.0.0.1:%d/size/7" % closed_port()
        p = run([target], env=self.env(http_proxy=T.BASE))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[target, "7"]])

    def test_empty_proxy_means_none(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        p = run([url("/size/8")], env=self.env(http_proxy=dead))
        self.assertEqual(tsv(p.stdout)[0][1:3], ["-", "UVFETCH_ECONNECT"])
        p = run(["-x", "", url("/size/8")], env=self.env(http_proxy=dead))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[url("/size/8"), "8"]])


class Pacing(unittest.TestCase):
    def test_max_host(self):
        urls = [url("/size/%d?delay=300" % i) for i in range(8)]
        server_stats(reset=True)
        p = run(["-j", "8", "--max-host", "2"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 8)
        self.assertEqual(server_stats()["peak"], 2)

    def test_rate_spaces_starts(self):
        urls = [url("/size/%d?rate=%d" % (i, i)) for i in range(5)]
        for spec in ("10/s", "600/m"):
            t0 = time.monotonic()
            p = run(["-j", "5", "--rate", spec] + urls)
            elapsed = time.monotonic() - t0
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(tsv(p.stdout)), 5)
            # Five starts 100 ms apart take at least 400 ms.
            self.assertGreaterEqual(elapsed, 0.38, spec)

    def test_rate_bare_number_is_per_hour(self):
        t0 = time.monotonic()
        p = run(["--rate", "3600", url("/size/1"), url("/size/2")])
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(elapsed, 0.95)
        p = run(["--rate", "2/d", url("/size/1")])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_rate_bad_values(self):
        for bad in ("0", "0/s", "5/x", "5/", "/s", "abc", "5/ss", "-1/s",
                    "1.5/s"):
            p = run(["--rate", bad, url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--rate", p.stderr)


class Tls(unittest.TestCase):
    """TLS and HTTP/2 against tests/nginx.sh's throwaway nginx."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="uvfetch-cli-nginx-")
        try:
            p = subprocess.run(["bash", NGINX_SH, "start", cls.dir],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            p = None
            why = str(e)
        if p is None or p.returncode != 0:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise unittest.SkipTest("nginx unavailable: %s" % (
                why if p is None else p.stderr.decode(errors="replace")))
        with open(os.path.join(cls.dir, "https_port")) as f:
            cls.https = "https://127.0.0.1:%d" % int(f.read())
        cls.ca = os.path.join(cls.dir, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["bash", NGINX_SH, "stop", cls.dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_verification(self):
        u = self.https + "/sizes/1000"
        p = run(["--json", u])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(jsonl(p.stdout)[0]["error"], "UVFETCH_ETLS")
        for args in (["--cacert", self.ca], ["-k"], ["--insecure"]):
            p = run(["--json"] + args + [u])
            self.assertEqual(p.returncode, 0, (args, p.stderr))
            (r,) = jsonl(p.stdout)
            self.assertEqual(r["bytes"], 1000)
            self.assertGreater(r["tls_time"], 0.0)

    def test_missing_cacert_is_a_usage_error(self):
        p = run(["--cacert", os.path.join(self.dir, "nope.pem"),
                 self.https + "/"])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"nope.pem", p.stderr)

    def test_http_versions(self):
        u = self.https + "/sizes/1"
        for args, want in (([], 20), (["--http2"], 20), (["--http1.1"], 11)):
            p = run(["--json", "--cacert", self.ca] + args + [u])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(jsonl(p.stdout)[0]["http_version"], want, args)
        p = run(["-w", "%{http_version}\\n", "--cacert", self.ca, u])
        self.assertEqual(p.stdout, b"2\n")


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
