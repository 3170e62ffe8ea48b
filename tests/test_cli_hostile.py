#!/usr/bin/env python3
"""Hostile or broken input to the uvfetch command (stdlib only): each bad
line becomes exactly one error record in its turn, or the whole run is a
usage error; output stays parseable, and no control byte from the input
reaches standard output raw. Also: a second SIGINT ends a slow stop.

Environment: as for test_cli.py.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import test_cli as T
from test_cli import jsonl, popen, run, server_stats, tsv, url


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def controls(data):
    """Bytes below 0x20 other than the newline and tab that frame TSV, and
    DEL: what must never reach a terminal raw."""
    return [b for b in data if (b < 0x20 and b not in (9, 10)) or b == 0x7F]


class Lines(unittest.TestCase):
    def test_each_bad_line_one_record_in_turn(self):
        lines = [
            url("/size/1").encode(),
            url("/size/2?pad=").encode() + b"y" * (1 << 20),  # 1 MiB line
            b"http://exa mple.com/",                 # a space in the host
            url("/size/3").encode() + b" trailing words",
            b"file:///etc/passwd",
            b"gopher://127.0.0.1/",
            b"dict://127.0.0.1/",
            b"http://127.0.0.1/\x1b[31mred\x1b[0m",  # terminal escapes
            b"http://\xff\xfe/",                     # invalid UTF-8
            b"http://127.0.0.1/\x00nul",
            b"\x7f\x01\x02",
            url("/size/4").encode(),
        ]
        data = b"\r\n".join(lines) + b"\n"
        p = run(["--ordered"], stdin=data)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(controls(p.stdout), [])
        recs = p.stdout.split(b"\n")[:-1]
        self.assertEqual(len(recs), len(lines))
        fields = [r.split(b"\t") for r in recs]
        self.assertEqual(fields[0][1], b"1")
        self.assertEqual(fields[-1][1], b"4")
        for f in fields[1:-1]:
            self.assertEqual(f[1], b"-", f[:3])
        errors = [f[2] for f in fields[1:-1]]
        self.assertEqual(errors[0], b"UVFETCH_EURL")           # 1 MiB line
        self.assertEqual(errors[3:6], [b"UVFETCH_ESCHEME"] * 3)
        # The escapes came out escaped, not raw.
        self.assertIn(b"\\x1b[31mred", recs[7])

    def test_json_stays_valid_utf8(self):
        data = (b"http://127.0.0.1/\xc3\x28\n"
                b"http://127.0.0.1/\x1b\x07\"\\\n"
                + url("/size/5").encode() + b"\n")
        p = run(["--ordered", "--json", "--connect-timeout", "2"], stdin=data)
        recs = jsonl(p.stdout)  # raises if a line is not UTF-8 JSON
        self.assertEqual(len(recs), 3)
        self.assertIn("\ufffd", recs[0]["url"])
        self.assertEqual(recs[1]["url"], "http://127.0.0.1/\x1b\x07\"\\")
        self.assertEqual(recs[2]["bytes"], 5)
        self.assertEqual(controls(p.stdout), [])

    def test_ipv6_literals(self):
        srv = socket.socket(socket.AF_INET6)
        try:
            srv.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback here")
        port = srv.getsockname()[1]
        srv.close()
        p = run(["--ordered", "http://[::1]:%d/" % port, "http://[::1/",
                 "http://[::1]:99999/"])
        recs = tsv(p.stdout)
        self.assertEqual(len(recs), 3)
        self.assertEqual(recs[0][2], "UVFETCH_ECONNECT")
        self.assertEqual(recs[1][2], "UVFETCH_EURL")
        self.assertEqual(recs[2][2], "UVFETCH_EURL")


class Files(unittest.TestCase):
    def test_missing_and_directory_inputs(self):
        with tempfile.TemporaryDirectory() as d:
            for path, why in ((os.path.join(d, "nope"), b"no such file"),
                              (d, b"is a directory")):
                p = run(["-i", path])
                self.assertEqual(p.returncode, 2)
                self.assertEqual(p.stdout, b"")
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertIn(why, p.stderr.lower())

    def test_empty_file(self):
        with tempfile.NamedTemporaryFile() as f:
            p = run(["-i", f.name])
            self.assertEqual((p.returncode, p.stdout), (0, b""))


class Signals(unittest.TestCase):
    def test_second_sigint_ends_at_once(self):
        # A producer that never closes the pipe: after the first SIGINT the
        # command stops reading and cancels; a second one ends it at once,
        # whatever it was doing.
        server_stats(reset=True)
        proc = popen(["-j", "3"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write("".join(url("/size/1?delay=20000&n=%d" % i) + "\n"
                                 for i in range(6)).encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while server_stats()["active"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        # Killed by the second SIGINT, or already out with 130.
        self.assertIn(proc.returncode, (-signal.SIGINT, 130))


if __name__ == "__main__":
    sys.exit(T.main(__name__))
