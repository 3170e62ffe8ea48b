#!/usr/bin/env python3
"""Tests for the uvfetch command (stdlib only).

Environment:
  UVFETCH              the built binary (default: build/uvfetch)
  UVFETCH_TEST_SERVER  tests/server.py (default: next to this file)
  UVFETCH_TEST_WRAPPER optional command prefix for the binary, e.g.
                       "valgrind -q --leak-check=full --error-exitcode=99"

Every test talks only to the loopback server it starts. The last line
printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""

import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
UVFETCH = os.environ.get("UVFETCH",
                         os.path.join(HERE, "..", "build", "uvfetch"))
SERVER = os.environ.get("UVFETCH_TEST_SERVER",
                        os.path.join(HERE, "server.py"))
WRAPPER = shlex.split(os.environ.get("UVFETCH_TEST_WRAPPER", ""))
TIMEOUT = 120  # seconds for one uvfetch run; generous for valgrind

PORT = None
BASE = None
_server = None


def setUpModule():
    global PORT, BASE, _server
    # stdin is a pipe: the server exits when we do, even if we crash.
    _server = subprocess.Popen([sys.executable, SERVER],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = _server.stdout.readline()
    if not line.strip().isdigit():
        raise RuntimeError("server.py did not print its port: %r" % line)
    PORT = int(line)
    BASE = "http://127.0.0.1:%d" % PORT


def tearDownModule():
    if _server is not None:
        _server.terminate()
        _server.wait(timeout=10)
        _server.stdin.close()
        _server.stdout.close()


def url(path):
    return BASE + path


def size_of_path(u):
    """The body size a /size/N URL asks for."""
    m = re.search(r"/size/(\d+)", u)
    return int(m.group(1))


def run(args, stdin=b"", timeout=TIMEOUT, **kw):
    """Run uvfetch; stdin is bytes, or a file object, or None."""
    cmd = WRAPPER + [UVFETCH] + list(args)
    if isinstance(stdin, (bytes, bytearray)):
        return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, **kw)
    return subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, **kw)


def popen(args, **kw):
    return subprocess.Popen(WRAPPER + [UVFETCH] + list(args), **kw)


def tsv(out):
    """Records as lists of fields (bytes decoded as UTF-8, replacing)."""
    text = out.decode("utf-8", "replace")
    return [line.split("\t") for line in text.splitlines()]


def jsonl(out):
    """Records from JSON Lines; every line must be valid UTF-8 and JSON."""
    return [json.loads(line.decode("utf-8")) for line in out.splitlines()]


def server_stats(reset=False):
    path = "/stats/reset" if reset else "/stats"
    with urllib.request.urlopen(url(path), timeout=10) as r:
        return json.loads(r.read())


def closed_port():
    """A loopback port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Sizes(unittest.TestCase):
    SIZES = [0, 1, 37, 1000, 16384, 65537, 1000000]

    def test_tsv_byte_counts(self):
        urls = [url("/size/%d" % n) for n in self.SIZES]
        p = run(urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = {f[0]: f[1:] for f in tsv(p.stdout)}
        self.assertEqual(len(tsv(p.stdout)), len(urls))
        for u, n in zip(urls, self.SIZES):
            self.assertEqual(got[u], [str(n)])

    def test_json_byte_counts_and_fields(self):
        urls = [url("/size/%d" % n) for n in self.SIZES]
        p = run(["--json"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = jsonl(p.stdout)
        self.assertEqual(len(recs), len(urls))
        fields = ["url", "effective_url", "ordinal", "ok", "error",
                  "curl_code", "message", "http_code", "http_version",
                  "redirects", "bytes", "wire_bytes", "total_time", "ttfb",
                  "attempts", "start_time", "dns_time", "connect_time",
                  "tls_time", "slot"]
        for r in recs:
            self.assertEqual(list(r.keys()), fields)
            n = size_of_path(r["url"])
            self.assertEqual(r["bytes"], n)
            self.assertEqual(r["wire_bytes"], n)
            self.assertIs(r["ok"], True)
            self.assertIsNone(r["error"])
            self.assertEqual(r["curl_code"], 0)
            self.assertEqual(r["message"], "")
            self.assertEqual(r["http_code"], 200)
            self.assertEqual(r["http_version"], 11)
            self.assertEqual(r["redirects"], 0)
            self.assertEqual(r["effective_url"], r["url"])
            self.assertEqual(r["attempts"], 1)
            self.assertGreaterEqual(r["total_time"], r["ttfb"])
            self.assertGreaterEqual(r["ttfb"], 0.0)
            # The timeline: cumulative steps, a start since the run began,
            # and a slot below the default -j of 50.
            self.assertGreaterEqual(r["start_time"], 0.0)
            self.assertLessEqual(r["dns_time"], r["ttfb"])
            self.assertLessEqual(r["connect_time"], r["ttfb"])
            self.assertEqual(r["tls_time"], 0.0)
            self.assertIn(r["slot"], range(50))
        self.assertEqual(sorted(r["ordinal"] for r in recs),
                         list(range(len(urls))))
        by_ordinal = {r["ordinal"]: r["url"] for r in recs}
        self.assertEqual([by_ordinal[i] for i in range(len(urls))], urls)

    def test_gzip_decoded_and_wire_bytes(self):
        p = run(["--json", url("/size/50000?gzip=1"),
                 url("/size/777?gzip=1&chunked=1")])
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = {r["url"]: r for r in jsonl(p.stdout)}
        big = recs[url("/size/50000?gzip=1")]
        self.assertEqual(big["bytes"], 50000)
        self.assertLess(big["wire_bytes"], 50000)
        self.assertGreater(big["wire_bytes"], 0)
        self.assertEqual(recs[url("/size/777?gzip=1&chunked=1")]["bytes"],
                         777)

    def test_no_compressed(self):
        p = run(["--json", "--no-compressed", url("/size/50000?gzip=1")])
        self.assertEqual(p.returncode, 0, p.stderr)
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["bytes"], r["wire_bytes"]), (50000, 50000))

    def test_max_filesize(self):
        p = run(["--ordered", "--max-filesize", "1000",
                 url("/size/1000"), url("/size/1001")])
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(recs[0], [url("/size/1000"), "1000"])
        self.assertEqual(recs[1][:3], [url("/size/1001"), "-",
                                       "UVFETCH_ETOOLARGE"])


class Statuses(unittest.TestCase):
    def test_http_errors_count_as_fetched(self):
        urls = [url("/status/404"), url("/status/500"),
                url("/size/5?status=503")]
        p = run(urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = {f[0]: f[1:] for f in tsv(p.stdout)}
        self.assertEqual(got[url("/status/404")], [str(len("status 404\n"))])
        self.assertEqual(got[url("/status/500")], [str(len("status 500\n"))])
        self.assertEqual(got[url("/size/5?status=503")], ["5"])

        p = run(["--json"] + urls)
        self.assertEqual(p.returncode, 0)
        codes = {r["url"]: (r["ok"], r["http_code"]) for r in jsonl(p.stdout)}
        self.assertEqual(codes, {urls[0]: (True, 404), urls[1]: (True, 500),
                                 urls[2]: (True, 503)})

    def test_connection_refused(self):
        bad = "http://127.0.0.1:%d/size/1" % closed_port()
        p = run([url("/size/3"), bad])
        self.assertEqual(p.returncode, 1)
        got = {f[0]: f[1:] for f in tsv(p.stdout)}
        self.assertEqual(len(got), 2)
        self.assertEqual(got[url("/size/3")], ["3"])
        self.assertEqual(got[bad][:2], ["-", "UVFETCH_ECONNECT"])
        self.assertEqual(len(got[bad]), 3)
        self.assertNotEqual(got[bad][2], "")
        p = run(["--json", bad])
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["ok"], r["error"], r["curl_code"], r["http_code"]),
                         (False, "UVFETCH_ECONNECT", 7, 0))

    def test_redirects(self):
        # /redirect/N answers N + 1 redirects: N - 1, ..., 0, then /size/10.
        p = run(["--json", url("/redirect/2")])
        self.assertEqual(p.returncode, 0, p.stderr)
        (r,) = jsonl(p.stdout)
        self.assertEqual(r["redirects"], 3)
        self.assertEqual(r["effective_url"], url("/size/10"))
        self.assertEqual(r["bytes"], 10)

        p = run(["--max-redirs", "1", url("/redirect/3"), url("/loop")])
        self.assertEqual(p.returncode, 1)
        for f in tsv(p.stdout):
            self.assertEqual(f[1:3], ["-", "UVFETCH_EREDIRECTS"])

    def test_max_time_fraction(self):
        slow = url("/size/1?delay=5000")
        fast = url("/size/2")
        t0 = time.monotonic()
        p = run(["-m", "0.5", slow, fast])
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 1)
        got = {f[0]: f[1:] for f in tsv(p.stdout)}
        self.assertEqual(got[fast], ["2"])
        self.assertEqual(got[slow][:2], ["-", "UVFETCH_ETIMEDOUT"])
        self.assertLess(elapsed, 4.5)


class Invalid(unittest.TestCase):
    def test_invalid_urls_reported_in_turn(self):
        urls = [url("/size/1"), "not a url", url("/size/2"),
                "ftp://127.0.0.1/x", "file:///etc/passwd", url("/size/3"),
                "http://"]
        p = run(["--ordered", "-j", "1"], stdin="\n".join(urls).encode())
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual([f[0] for f in recs], urls)
        self.assertEqual(recs[0][1:], ["1"])
        self.assertEqual(recs[1][1:3], ["-", "UVFETCH_EURL"])
        self.assertEqual(recs[2][1:], ["2"])
        self.assertEqual(recs[3][1:3], ["-", "UVFETCH_ESCHEME"])
        self.assertEqual(recs[4][1:3], ["-", "UVFETCH_ESCHEME"])
        self.assertEqual(recs[5][1:], ["3"])
        self.assertEqual(recs[6][1:3], ["-", "UVFETCH_EURL"])

    def test_invalid_urls_unordered_each_once(self):
        urls = ["nope%d" % i for i in range(20)] + \
               [url("/size/%d" % i) for i in range(20)] + \
               ["gopher://127.0.0.1/%d" % i for i in range(20)]
        p = run([], stdin="\n".join(urls).encode())
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(sorted(f[0] for f in recs), sorted(urls))
        for f in recs:
            if f[0].startswith("nope"):
                self.assertEqual(f[1:3], ["-", "UVFETCH_EURL"])
            elif f[0].startswith("gopher"):
                self.assertEqual(f[1:3], ["-", "UVFETCH_ESCHEME"])
            else:
                self.assertEqual(f[1:], [str(size_of_path(f[0]))])

    def test_proto_option(self):
        p = run(["--proto", "https", url("/size/1")])
        self.assertEqual(p.returncode, 1)
        (f,) = tsv(p.stdout)
        self.assertEqual(f[:3], [url("/size/1"), "-", "UVFETCH_ESCHEME"])


class Input(unittest.TestCase):
    def test_blank_comment_crlf_whitespace(self):
        data = (b"\n"
                b"# a comment\r\n"
                b"   # an indented comment\n"
                b"  " + url("/size/11").encode() + b"  \r\n"
                b"\t" + url("/size/12").encode() + b"\t\n"
                b"\r\n"
                b"   \t  \n"
                + url("/size/13").encode() + b"\r\n"
                + url("/size/14").encode())  # no final newline
        p = run([], stdin=data)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = {f[0]: f[1:] for f in tsv(p.stdout)}
        self.assertEqual(got, {url("/size/%d" % n): [str(n)]
                               for n in (11, 12, 13, 14)})

    def test_empty_input(self):
        p = run([], stdin=b"")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"", b""))
        p = run([], stdin=b"\n\n# nothing\n")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, b"", b""))

    def test_long_line_is_one_error_record(self):
        long_url = url("/size/1?pad=") + "x" * 100000
        data = "\n".join([url("/size/1"), long_url, url("/size/2")]).encode()
        p = run(["--ordered"], stdin=data)
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(len(recs), 3)
        self.assertEqual(recs[0], [url("/size/1"), "1"])
        self.assertEqual(recs[2], [url("/size/2"), "2"])
        self.assertEqual(recs[1][1:3], ["-", "UVFETCH_EURL"])
        self.assertTrue(long_url.startswith(recs[1][0].rstrip(".")))
        self.assertIn("line 2", recs[1][3])
        self.assertIn("longer", recs[1][3])

    def test_nul_byte_line(self):
        data = url("/size/1").encode() + b"\x00zz\n" + url("/size/2").encode()
        p = run(["--ordered", "--json"], stdin=data)
        self.assertEqual(p.returncode, 1)
        recs = jsonl(p.stdout)
        self.assertEqual(recs[0]["url"], url("/size/1") + "\x00zz")
        self.assertEqual(recs[0]["error"], "UVFETCH_EURL")
        self.assertEqual(recs[1]["bytes"], 2)

    def setUp(self):
        self.urls10k = [url("/size/%d?n=%d" % (i % 97, i))
                        for i in range(10000)]

    def _check_10000(self, out):
        recs = tsv(out)
        self.assertEqual(len(recs), 10000)
        seen = {}
        for f in recs:
            self.assertEqual(len(f), 2, f)
            seen[f[0]] = seen.get(f[0], 0) + 1
            self.assertEqual(f[1], str(size_of_path(f[0])))
        self.assertEqual(set(seen.values()), {1})
        self.assertEqual(set(seen), set(self.urls10k))

    def test_10000_urls_through_a_pipe(self):
        proc = popen([], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)

        def feed():
            # Many small writes, so that uvfetch sees a stream, not a file.
            for i in range(0, 10000, 100):
                chunk = "".join(u + "\n" for u in self.urls10k[i:i + 100])
                proc.stdin.write(chunk.encode())
                proc.stdin.flush()
            proc.stdin.close()

        # Not communicate(): it would close stdin under the feeder.
        t = threading.Thread(target=feed)
        t.start()
        try:
            out = proc.stdout.read()
            err = proc.stderr.read()
            status = proc.wait(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            t.join()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(status, 0, err)
        self._check_10000(out)

    def test_10000_urls_from_input_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write("\n".join(self.urls10k) + "\n")
            f.flush()
            p = run(["-i", f.name], stdin=None)
            self.assertEqual(p.returncode, 0, p.stderr)
            self._check_10000(p.stdout)
            # Standard input redirected from a regular file.
            with open(f.name, "rb") as src:
                p = run(["--ordered"], stdin=src)
            self.assertEqual(p.returncode, 0, p.stderr)
            self._check_10000(p.stdout)
            self.assertEqual([r[0] for r in tsv(p.stdout)], self.urls10k)

    def test_slow_producer_streams(self):
        """The first record comes out before the input has ended."""
        proc = popen([], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
        try:
            proc.stdin.write((url("/size/21") + "\n").encode())
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            self.assertTrue(ready, "no record while the input stays open")
            first = proc.stdout.readline()
            self.assertEqual(first, (url("/size/21") + "\t21\n").encode())
            proc.stdin.write((url("/size/22") + "\n").encode())
            proc.stdin.close()
            rest = proc.stdout.read()
            self.assertEqual(rest, (url("/size/22") + "\t22\n").encode())
            self.assertEqual(proc.wait(timeout=TIMEOUT), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_arguments_then_input_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
            f.write(url("/size/31") + "\n" + url("/size/32") + "\n")
            f.flush()
            p = run(["--ordered", url("/size/30"), "-i", f.name], stdin=None)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[url("/size/30"), "30"],
                                         [url("/size/31"), "31"],
                                         [url("/size/32"), "32"]])


class Concurrency(unittest.TestCase):
    def test_parallel_cap_is_reached_never_exceeded(self):
        urls = [url("/size/%d?delay=300" % i) for i in range(20)]
        server_stats(reset=True)
        p = run(["-j", "5"], stdin="\n".join(urls).encode())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 20)
        stats = server_stats()
        self.assertEqual(stats["peak"], 5)
        self.assertEqual(stats["requests"], 20)

    def test_sequential_run(self):
        urls = [url("/size/%d?delay=%d" % (i, (7 - i) * 20))
                for i in range(8)]
        server_stats(reset=True)
        p = run(["-j", "1", "--ordered"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout),
                         [[u, str(size_of_path(u))] for u in urls])
        self.assertEqual(server_stats()["peak"], 1)

    def test_completion_order_and_ordered(self):
        slow = url("/size/1?delay=600")
        fast = url("/size/2?delay=0")
        p = run([slow, fast])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([f[0] for f in tsv(p.stdout)], [fast, slow])
        p = run(["--ordered", slow, fast])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[slow, "1"], [fast, "2"]])
        p = run(["--ordered", "--json", slow, fast])
        self.assertEqual([(r["url"], r["ordinal"]) for r in jsonl(p.stdout)],
                         [(slow, 0), (fast, 1)])


class Escaping(unittest.TestCase):
    def setUp(self):
        # Raw URL bytes: a tab, a quote, a backslash, invalid UTF-8, valid
        # UTF-8, control bytes.
        self.RAW = [
            url("/size/1?a=\tb").encode(),
            url('/size/2?q="x"').encode(),
            url("/size/3?b=\\c").encode(),
            url("/size/4?bad=").encode() + b"\xff\xfe",
            url("/size/5?e=").encode() + "\u00e9\u4e2d".encode(),
            url("/size/6?c=").encode() + b"\x01\x7f",
        ]

    def test_json_round_trip_from_stdin(self):
        p = run(["--json", "--ordered"], stdin=b"\n".join(self.RAW) + b"\n")
        recs = jsonl(p.stdout)  # every line strict UTF-8 and valid JSON
        self.assertEqual(len(recs), len(self.RAW))
        for raw, r in zip(self.RAW, recs):
            self.assertEqual(r["url"], raw.decode("utf-8", "replace"))
            self.assertIsInstance(r["message"], str)
        self.assertIn(b"\\ufffd\\ufffd", p.stdout)
        self.assertIn(b"\\u0001\\u007f", p.stdout)
        self.assertIn(b'\\"x\\"', p.stdout)

    def test_json_newline_from_argument(self):
        raw = url("/size/7?n=a\nb\rc").encode()
        p = run(["--json", raw])
        out = p.stdout
        self.assertEqual(out.count(b"\n"), 1)
        (r,) = jsonl(out)
        self.assertEqual(r["url"], raw.decode())

    def test_tsv_escapes(self):
        raws = [url("/size/1?a=\tb\nc").encode(),
                url("/size/2?b=\\c").encode(),
                url("/size/3?c=").encode() + b"\x01"]
        p = run(["--ordered"] + raws)
        lines = p.stdout.split(b"\n")
        self.assertEqual(lines[-1], b"")
        lines = lines[:-1]
        self.assertEqual(len(lines), 3)
        expect = [url("/size/1?a=\\tb\\nc").encode(),
                  url("/size/2?b=\\\\c").encode(),
                  url("/size/3?c=\\x01").encode()]
        for line, e in zip(lines, expect):
            fields = line.split(b"\t")
            self.assertEqual(fields[0], e)
            self.assertIn(len(fields), (2, 4))
            if len(fields) == 4:
                self.assertEqual(fields[1], b"-")


class Usage(unittest.TestCase):
    def usage_error(self, args, *words):
        p = run(args, stdin=b"")
        self.assertEqual(p.returncode, 2, (args, p.stderr))
        self.assertEqual(p.stdout, b"")
        lines = p.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("uvfetch: "), lines[0])
        for w in words:
            self.assertIn(w, lines[0])

    def test_unknown_option(self):
        self.usage_error(["--frob"], "unknown option", "'--frob'")
        self.usage_error(["-Z", url("/size/1")], "unknown option", "'-Z'")
        self.usage_error(["--frob=3"], "'--frob'")

    def test_bad_numbers(self):
        self.usage_error(["-j", "0"], "'0'", "-j")
        self.usage_error(["-j", "abc"], "'abc'")
        self.usage_error(["-j99999999999"], "'99999999999'")
        self.usage_error(["--parallel=-3"], "'-3'", "--parallel")
        self.usage_error(["-m", "1e3"], "'1e3'")
        self.usage_error(["--max-time", "nan"], "'nan'")
        self.usage_error(["--connect-timeout", ""], "--connect-timeout")
        self.usage_error(["--max-filesize", "12k"], "'12k'")

    def test_missing_value(self):
        self.usage_error(["-j"], "'-j'", "needs a value")
        self.usage_error(["--input"], "'--input'", "needs a value")

    def test_flag_with_value(self):
        self.usage_error(["--json=yes"], "'--json'")

    def test_unreadable_input_file(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "missing.txt")
            self.usage_error(["-i", missing], missing)
            self.usage_error(["--input", d], d, "directory")
            self.usage_error(["--input=" + missing, url("/size/1")], missing)

    def test_nothing_fetched_on_usage_error(self):
        server_stats(reset=True)
        self.usage_error([url("/size/1"), "-j", "0"])
        self.assertEqual(server_stats()["requests"], 0)

    def test_help(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, b"")
        text = p.stdout.decode()
        self.assertTrue(text.startswith("Usage: uvfetch"))
        longs = re.findall(r"^\s+(?:-\w, )?--([\w.-]+)", text, re.M)
        self.assertEqual(longs, sorted(longs))
        for name in ("parallel", "ordered", "input", "json", "max-time",
                     "connect-timeout", "max-redirs", "insecure", "cacert",
                     "user-agent", "no-compressed", "http1.1", "http2",
                     "max-filesize", "proto", "help", "version",
                     "compressed", "fail", "header", "journal", "max-host",
                     "no-location", "no-progress", "output-dir", "progress",
                     "proxy", "rate", "retry", "retry-delay",
                     "retry-max-time", "sha256", "shard", "speed-limit",
                     "speed-time", "stats", "trace", "write-out"):
            self.assertIn(name, longs)
        self.assertEqual(run(["-h"]).stdout, p.stdout)

    def test_version(self):
        p = run(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(),
                         r"^uvfetch \d+\.\d+\.\d+ \(libcurl \d+\.\d+\.\d+\S*, "
                         r"libuv \d+\.\d+\.\d+\S*\)\n$")

    def test_option_forms(self):
        # -j4, -j 4, --parallel=4, --parallel 4, clusters, "--" ending options
        for args in (["-j4"], ["-j", "4"], ["--parallel=4"],
                     ["--parallel", "4"], ["-kj4"]):
            p = run(args + ["--ordered", url("/size/4")])
            self.assertEqual((p.returncode, tsv(p.stdout)),
                             (0, [[url("/size/4"), "4"]]), args)
        p = run(["--ordered", "--", "-j", url("/size/1")])
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(recs[0][:3], ["-j", "-", "UVFETCH_EURL"])
        self.assertEqual(recs[1], [url("/size/1"), "1"])


class Stopping(unittest.TestCase):
    def _stop_with(self, signo, status):
        urls = [url("/size/%d?delay=20000" % i) for i in range(10)]
        server_stats(reset=True)
        proc = popen(["-j", "5"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write("".join(u + "\n" for u in urls).encode())
        proc.stdin.flush()  # left open: uvfetch must stop reading by itself
        deadline = time.monotonic() + 30
        while server_stats()["active"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(server_stats()["active"], 5)
        proc.send_signal(signo)
        try:
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, status, err)
        recs = tsv(out)
        self.assertGreaterEqual(len(recs), 5)
        self.assertEqual(len({f[0] for f in recs}), len(recs))
        for f in recs:
            self.assertIn(f[0], urls)
            self.assertEqual(f[1:3], ["-", "UVFETCH_ECANCELED"])

    def test_sigint(self):
        self._stop_with(signal.SIGINT, 130)

    def test_sigterm(self):
        self._stop_with(signal.SIGTERM, 143)

    def test_closed_stdout_stops_quietly(self):
        urls = "".join(url("/size/%d?n=%d" % (i % 10, i)) + "\n"
                       for i in range(3000)).encode()
        proc = popen([], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)

        def feed():
            try:
                proc.stdin.write(urls)
                proc.stdin.close()
            except BrokenPipeError:
                pass

        t = threading.Thread(target=feed)
        t.start()
        first = proc.stdout.readline()
        self.assertTrue(first.startswith(BASE.encode()))
        proc.stdout.close()
        try:
            status = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        t.join()
        err = proc.stderr.read()
        proc.stderr.close()
        self.assertEqual(status, 1)
        self.assertEqual(err, b"")


def main(module=__name__):
    """Run a module's tests; the last line is the tally scripts/test reads."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = (len(result.failures) + len(result.errors) +
              len(result.unexpectedSuccesses))
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
