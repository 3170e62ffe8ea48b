#!/usr/bin/env python3
"""The command's side of issue 16 (stdlib only): what a close review found
the command let through, each held to its fix. Usage errors that stay one
escaped line, header injection through -A, curl's --proto syntax, C1
controls in records, masked passwords, SIGHUP, descriptor pressure with
-o, a starved descriptor table, the journal's exact bytes and its long
lines, IDN host names, --stats to a full disk, -o a/b/c, --max-filesize 0
and the trace's phases of a transfer that never got a response.

Environment: as for test_cli.py.
"""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import test_cli as T
from test_cli import jsonl, popen, run, server_stats, tsv, url


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def raw_controls(data):
    """Control bytes that must never reach a terminal raw: C0 but the tab
    and newline that frame records, DEL, and C1 (U+0080-U+009F, which is
    b"\\xc2\\x80"-b"\\xc2\\x9f" in UTF-8, or a lone byte 0x80-0x9f)."""
    found = [b for b in data if (b < 0x20 and b not in (9, 10)) or b == 0x7F]
    text = data.decode("utf-8", "surrogateescape")
    found += [c for c in text if "\x80" <= c <= "\x9f"]
    found += [c for c in text if "\udc80" <= c <= "\udc9f"]
    return found


def with_nofile(n):
    """A preexec_fn that sets RLIMIT_NOFILE to n."""
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return apply


# valgrind keeps descriptors of its own under the limit, and reports one
# above what it leaves the program as EMFILE after the call made it (a
# file then exists though its open "failed"): a limit means something
# else under a wrapper.
no_wrapper = unittest.skipIf(bool(T.WRAPPER),
                             "descriptor limits differ under a wrapper")


class UsageLines(unittest.TestCase):
    """E20, D11: a usage error is one line, with the bad value escaped as
    records escape it."""

    def one_line(self, args, *words):
        p = run(args)
        self.assertEqual(p.returncode, 2, (args, p.stderr))
        self.assertEqual(p.stdout, b"")
        self.assertEqual(p.stderr.count(b"\n"), 1, p.stderr)
        self.assertTrue(p.stderr.startswith(b"uvfetch: "), p.stderr)
        self.assertEqual(raw_controls(p.stderr[:-1]), [], p.stderr)
        for w in words:
            self.assertIn(w, p.stderr)
        return p.stderr

    def test_values_escaped(self):
        self.one_line(["-j", "5\nX"], b"'5\\nX'", b"-j")
        self.one_line(["-H", "X-A: a\r\nX-B: b"], b"X-A: a\\r\\nX-B: b")
        self.one_line(["-m", "1\x1b[2J"], b"1\\x1b[2J")
        self.one_line(["--rate", "5/\xc2\x9b".encode("latin-1")],
                      b"5/\\xc2\\x9b")
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "no\nsuch", "trace.json")
            self.one_line(["--trace", bad, url("/size/1")],
                          b"no\\nsuch", b"cannot write trace")

    def test_user_agent_with_cr_lf_refused(self):
        server_stats(reset=True)
        for ua in ("ua\r\nX-Injected: yes", "ua\nX", "ua\rX"):
            self.one_line(["-A", ua, url("/size/1")], b"'-A'", b"CR and LF")
        self.one_line(["--user-agent=a\nb", url("/size/1")],
                      b"'--user-agent'")
        self.assertEqual(server_stats()["requests"], 0)
        # A plain one still goes out.
        p = run(["-A", "ua/1.0 (x)", url("/size/1")])
        self.assertEqual(p.returncode, 0, p.stderr)


class Proto(unittest.TestCase):
    """E19: curl's --proto syntax, and the bad item named."""

    def errors(self, proto):
        port = T.closed_port()
        urls = ["ftp://127.0.0.1:%d/" % port, "http://127.0.0.1:%d/" % port,
                "https://127.0.0.1:%d/" % port]
        p = run(["--ordered", "--proto", proto, "--connect-timeout", "5",
                 "-w", "%{error}\\n"] + urls)
        self.assertIn(p.returncode, (1,), p.stderr)
        return p.stdout.decode().split()

    def test_curl_forms(self):
        refused, connect = "UVFETCH_ESCHEME", "UVFETCH_ECONNECT"
        self.assertEqual(self.errors("=https"), [refused, refused, connect])
        self.assertEqual(self.errors("-all,+https"),
                         [refused, refused, connect])
        self.assertEqual(self.errors("+ftp,-http"),
                         [connect, refused, connect])
        self.assertEqual(self.errors("-https"), [refused, connect, refused])
        self.assertEqual(self.errors("all"), [connect, connect, connect])
        # A plain list is still exactly its schemes.
        self.assertEqual(self.errors("http,ftp"), [connect, connect, refused])
        self.assertEqual(self.errors("HTTPS"), [refused, refused, connect])

    def test_bad_item_named(self):
        for proto, item in (("http,htps", b"'htps'"), ("=gofer", b"'gofer'"),
                            ("-all,+", b"''"), ("http,+\x1b", b"'\\x1b'")):
            p = run(["--proto", proto, url("/size/1")])
            self.assertEqual(p.returncode, 2, (proto, p.stderr))
            self.assertEqual(p.stderr.count(b"\n"), 1, p.stderr)
            self.assertIn(b"unknown scheme " + item, p.stderr)
        p = run(["--proto", "-all", url("/size/1")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"no scheme allowed", p.stderr)


class C1Controls(unittest.TestCase):
    """D13: C1 controls (CSI is U+009B) and, in TSV, bytes that are not
    UTF-8 are escaped in TSV, -w and JSON."""

    def setUp(self):
        self.RAW = (url("/size/1?csi=").encode() + b"\xc2\x9b" + b"31m" +
                    b"&c1=\xc2\x85&lone=\x9b&e=\xc3\xa9")

    def test_tsv(self):
        p = run([self.RAW])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(raw_controls(p.stdout), [], p.stdout)
        self.assertIn(b"csi=\\xc2\\x9b31m&c1=\\xc2\\x85&lone=\\x9b&e=\xc3\xa9",
                      p.stdout)

    def test_write_out(self):
        p = run(["-w", "%{url}|%{url_effective}\\n", self.RAW])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(raw_controls(p.stdout), [], p.stdout)
        self.assertEqual(p.stdout.count(b"\\xc2\\x9b"), 2)

    def test_json(self):
        p = run(["--json", self.RAW])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(raw_controls(p.stdout), [], p.stdout)
        self.assertIn(b"csi=\\u009b31m&c1=\\u0085", p.stdout)
        (r,) = jsonl(p.stdout)
        self.assertIn("csi=\x9b31m", r["url"])


class Signals(unittest.TestCase):
    """E17: SIGHUP stops a run as SIGTERM does: every URL reported as
    cancelled, records flushed, no temporary file left; exit 129."""

    def test_sighup(self):
        urls = [url("/fault/drip?size=100&n=%d" % i)
                for i in range(8)]
        server_stats(reset=True)
        with tempfile.TemporaryDirectory() as d:
            proc = popen(["-j", "4", "-o", d], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            proc.stdin.write("".join(u + "\n" for u in urls).encode())
            proc.stdin.flush()
            deadline = time.monotonic() + 30
            while (server_stats()["active"] < 4 and
                   time.monotonic() < deadline):
                time.sleep(0.05)
            time.sleep(0.3)
            proc.send_signal(signal.SIGHUP)
            try:
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            self.assertEqual(proc.returncode, 129, err)
            self.assertEqual(os.listdir(d), [])
        recs = tsv(out)
        self.assertGreaterEqual(len(recs), 4)
        self.assertEqual(len({f[0] for f in recs}), len(recs))
        for f in recs:
            self.assertIn(f[0], urls)
            self.assertEqual(f[1:4], ["-", "-", "UVFETCH_ECANCELED"])


class Descriptors(unittest.TestCase):
    """C9: too few descriptors to start is a clear refusal, not libuv's
    abort()."""

    @no_wrapper
    def test_tiny_limits(self):
        for n in (4, 5, 6):
            p = run([url("/size/1")], preexec_fn=with_nofile(n))
            self.assertEqual(p.returncode, 1, (n, p.stderr))
            self.assertEqual(p.stdout, b"")
            self.assertEqual(p.stderr.count(b"\n"), 1, p.stderr)
            self.assertIn(b"too few file descriptors", p.stderr)
            self.assertIn(b"limit of %d" % n, p.stderr)


class Stats(unittest.TestCase):
    """E21: --stats that cannot be written makes the exit status 1."""

    def test_stats_to_full_disk(self):
        with open("/dev/full", "wb") as full:
            p = subprocess.run(T.WRAPPER + [T.UVFETCH, "--stats",
                                            url("/size/1")],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=full,
                               timeout=T.TIMEOUT)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(tsv(p.stdout), [[url("/size/1"), "1"]])
        # Written, it is 0.
        p = run(["--stats", url("/size/1")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"by status", p.stderr)


class Idn(unittest.TestCase):
    """E18: a non-ASCII host name goes out as punycode, as with curl;
    libcurl resolves *.localhost to loopback by itself."""

    def test_idn_host(self):
        u = "http://b\u00fccher.localhost:%d/size/7" % T.PORT
        for env in (None, dict(os.environ, LC_ALL="C")):
            p = run(["--json", u], env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            (r,) = jsonl(p.stdout)
            self.assertEqual((r["url"], r["bytes"], r["error"]), (u, 7, None))


class Trace(unittest.TestCase):
    """E24: a transfer that got no response ends in the phase that failed,
    never in "wait". D12: the trace shows no password; records keep the
    URL as given."""

    def run_trace(self, urls):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.json")
            p = run(["--json", "--trace", path] + urls)
            with open(path) as f:
                events = json.load(f)
        transfers = [e for e in events if e.get("cat") == "transfer"]
        phases = [e for e in events if e.get("cat") == "phase"]
        return p, transfers, phases

    def phases_of(self, transfers, phases, name):
        (t,) = [e for e in transfers if e["name"] == name]
        return [(ph["name"], ph["ts"] + ph["dur"]) for ph in phases
                if ph["tid"] == t["tid"] and t["ts"] - 1.0 <= ph["ts"] and
                ph["ts"] + ph["dur"] <= t["ts"] + t["dur"] + 1.0], t

    def test_failed_connect_and_handshake(self):
        refused = "http://127.0.0.1:%d/x" % T.closed_port()
        # A server that answers a ClientHello with plain text: connected,
        # and the handshake fails.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)

        def answer():
            conn, _ = srv.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            conn.close()

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        tls = "https://127.0.0.1:%d/size/1" % srv.getsockname()[1]
        try:
            p, transfers, phases = self.run_trace(["-j", "1", "-m", "20",
                                                   refused, tls])
        finally:
            srv.close()
        errors = {r["url"]: r["error"] for r in jsonl(p.stdout)}
        self.assertEqual(errors, {refused: "UVFETCH_ECONNECT",
                                  tls: "UVFETCH_ETLS"})
        for name, last in ((refused, "connect"), (tls, "tls")):
            mine, t = self.phases_of(transfers, phases, name)
            names = [n for n, _ in mine]
            self.assertNotIn("wait", names, (name, names))
            self.assertNotIn("download", names, (name, names))
            if t["dur"] > 2.0:  # microseconds: long enough to be drawn
                self.assertEqual(names[-1], last, (name, names))
                self.assertAlmostEqual(mine[-1][1], t["ts"] + t["dur"],
                                       delta=2.0)

    def test_password_masked(self):
        secret = "http://user:s3cret@127.0.0.1:%d/size/3" % T.PORT
        p, transfers, _ = self.run_trace([secret])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([e["name"] for e in transfers],
                         ["http://user:***@127.0.0.1:%d/size/3" % T.PORT])
        (r,) = jsonl(p.stdout)
        self.assertEqual(r["url"], secret)


class SaveUnderPressure(unittest.TestCase):
    """C8: with -o, a body's temporary file waits for a descriptor instead
    of failing its URL. E22: -o a/b/c makes every missing level."""

    def check(self, n, jobs, limit, size):
        urls = [url("/size/%d?n=%d" % (size, i)) for i in range(n)]
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out")
            p = run(["-j", str(jobs), "-o", out, "-i", "-"],
                    stdin="".join(u + "\n" for u in urls).encode(),
                    preexec_fn=with_nofile(limit))
            recs = tsv(p.stdout)
            errors = [f for f in recs if len(f) > 3]
            self.assertEqual(errors[:3], [])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(recs), n)
            self.assertEqual(len(os.listdir(out)), n)
            for f in recs:
                self.assertEqual(os.path.getsize(f[2]), size)

    @no_wrapper
    def test_j300_under_ulimit_64(self):
        self.check(300, 300, 64, 2000)

    @no_wrapper
    def test_big_bodies_under_ulimit_32(self):
        self.check(100, 100, 32, 300000)

    def test_missing_parents_made(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "a", "b", "c")
            p = run(["-o", out, url("/size/5")])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(os.listdir(out)), 1)
            # A file in the way is still a usage error naming it.
            with open(os.path.join(d, "f"), "w"):
                pass
            p = run(["-o", os.path.join(d, "f", "x"), url("/size/5")])
            self.assertEqual(p.returncode, 2)
            self.assertIn(b"cannot use output directory", p.stderr)


class MaxFilesize(unittest.TestCase):
    """E23: --max-filesize 0 is no limit, as with curl, and says so."""

    def test_zero_is_no_limit(self):
        p = run(["--max-filesize", "0", url("/size/100000")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[url("/size/100000"), "100000"]])
        p = run(["--max-filesize", "1", url("/size/2")])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(tsv(p.stdout)[0][2], "UVFETCH_ETOOLARGE")
        man = os.environ.get("UVFETCH_MANPAGE")
        if man and os.path.exists(man):
            with open(man, encoding="utf-8") as f:
                text = f.read().replace("\\-", "-")
            i = text.index("max-filesize")
            self.assertIn("0, the default, is no limit", text[i:i + 600])


if __name__ == "__main__":
    sys.exit(T.main(__name__))
