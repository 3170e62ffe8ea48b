#!/usr/bin/env python3
"""The progress line in a real terminal (stdlib only, and tmux).

uvfetch runs inside a detached tmux session on a private tmux server, so
its standard error is a terminal; the pane is read back with
capture-pane. The tests skip only when tmux is missing and cannot be
installed (with apt-get, as root).

Environment: as for test_cli.py.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import test_cli as T
from test_cli import url

PROGRESS = re.compile(r"(\d+) done, (\d+) failed, (\d+) in flight, "
                      r"(\d+) queued")
TMUX = None


def find_tmux():
    tmux = shutil.which("tmux")
    if tmux is not None:
        return tmux
    if os.geteuid() == 0 and shutil.which("apt-get"):
        try:
            subprocess.run(["apt-get", "install", "-y", "-q", "tmux"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600,
                           env=dict(os.environ,
                                    DEBIAN_FRONTEND="noninteractive"))
        except (OSError, subprocess.TimeoutExpired):
            return None
    return shutil.which("tmux")


def setUpModule():
    global TMUX
    TMUX = find_tmux()
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


class Terminal(unittest.TestCase):
    def setUp(self):
        if TMUX is None:
            self.skipTest("tmux not found and cannot be installed")
        self.tmp = tempfile.TemporaryDirectory()
        # A server of our own per test: a new server on the name of one
        # still shutting down would fail to start.
        self.sock = "uvfetch-test-%d-%s" % (os.getpid(),
                                            self.id().split(".")[-1])

    def tearDown(self):
        if TMUX is None:
            return
        # Our own server only, by its private socket name.
        self.tmux("kill-server", check=False)
        self.tmp.cleanup()

    def tmux(self, *args, check=True):
        p = subprocess.run([TMUX, "-L", self.sock, "-f", "/dev/null"] +
                           list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("tmux %s: %s" % (args[0], p.stderr))
        return p.stdout.decode(errors="replace")

    def start(self, args, redirect):
        """Run uvfetch in a 200x40 pane; its status lands in a file."""
        cmd = " ".join(shlex.quote(a) for a in T.WRAPPER + [T.UVFETCH] + args)
        status = os.path.join(self.tmp.name, "status")
        script = "%s %s; echo $? > %s; sleep 600" % (cmd, redirect,
                                                     shlex.quote(status))
        self.tmux("new-session", "-d", "-s", "main", "-x", "200", "-y", "40",
                  script)
        return status

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "main")

    def wait_status(self, status, seen=None):
        """Poll the pane until the run ends; returns its exit status."""
        deadline = time.monotonic() + T.TIMEOUT
        while time.monotonic() < deadline:
            if seen is not None:
                seen.append(self.screen())
            if os.path.exists(status):
                with open(status) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            time.sleep(0.05)
        raise AssertionError("uvfetch did not finish in the pane")

    def urls(self, n, delay):
        return [url("/size/%d?delay=%d&t=%d" % (i + 1, delay, i))
                for i in range(n)]

    def test_progress_line_while_running_and_summary_after(self):
        out = os.path.join(self.tmp.name, "out")
        urls = self.urls(10, 700)
        status = self.start(["-j", "2"] + urls, "> " + shlex.quote(out))
        seen = []
        self.assertEqual(self.wait_status(status, seen), 0)
        for s in seen:
            self.assertNotIn("limit", s)
        samples = [PROGRESS.search(s) for s in seen]
        samples = [tuple(int(x) for x in m.groups()) for m in samples if m]
        self.assertTrue(samples, "no progress line was drawn")
        for done, failed, flight, queued in samples:
            self.assertLessEqual(flight, 2)
            self.assertEqual(failed, 0)
            self.assertLessEqual(done + flight + queued, 10)
        self.assertIn(2, [s[2] for s in samples])
        self.assertTrue([s for s in samples if s[3] > 0], samples)
        self.assertTrue([s for s in seen if re.search(r"\d+%, ETA \d+:\d\d",
                                                      s)], "no ETA shown")
        # At the end the line is gone and the summary is in its place.
        final = self.screen()
        self.assertNotRegex(final, PROGRESS)
        self.assertRegex(final, r"uvfetch: 10 URLs in [\d.]+ s: 10 ok, "
                                r"0 failed")
        with open(out, "rb") as f:
            records = f.read()
        self.assertEqual(len(records.splitlines()), 10)
        self.assertNotIn(b"\x1b", records)
        self.assertNotIn(b"\r", records)

    def test_auto_shows_its_limit(self):
        # Under -j auto the line says the limit found so far; in flight
        # never passes it by more than what started before it shrank, and
        # never passes the ceiling. A number shows no limit.
        out = os.path.join(self.tmp.name, "out")
        status = self.start(["-j", "auto:6"] + self.urls(24, 400),
                            "> " + shlex.quote(out))
        seen = []
        self.assertEqual(self.wait_status(status, seen), 0)
        limits = [(int(m.group(1)), int(m.group(2))) for m in
                  (re.search(r"(\d+) in flight, \d+ queued, limit (\d+)",
                             s) for s in seen) if m]
        self.assertTrue(limits, "no limit on the progress line")
        for flight, limit in limits:
            self.assertTrue(1 <= limit <= 6, limits)
            self.assertLessEqual(flight, 6, limits)
        with open(out, "rb") as f:
            self.assertEqual(len(f.read().splitlines()), 24)
        samples = [s for s in seen if PROGRESS.search(s)]
        self.assertTrue(samples)

    def test_no_progress_when_stderr_is_not_a_terminal(self):
        err = os.path.join(self.tmp.name, "err")
        out = os.path.join(self.tmp.name, "out")
        status = self.start(["-j", "2"] + self.urls(4, 300),
                            "> %s 2> %s" % (shlex.quote(out),
                                            shlex.quote(err)))
        seen = []
        self.assertEqual(self.wait_status(status, seen), 0)
        with open(err, "rb") as f:
            self.assertEqual(f.read(), b"")
        for s in seen:
            self.assertNotRegex(s, PROGRESS)
        with open(out, "rb") as f:
            self.assertEqual(len(f.read().splitlines()), 4)

    def test_no_progress_option_in_a_terminal(self):
        out = os.path.join(self.tmp.name, "out")
        status = self.start(["--no-progress", "-j", "2"] + self.urls(4, 300),
                            "> " + shlex.quote(out))
        seen = []
        self.assertEqual(self.wait_status(status, seen), 0)
        for s in seen:
            self.assertNotRegex(s, PROGRESS)
            self.assertNotIn("uvfetch:", s)

    def test_records_on_the_same_terminal_stay_whole(self):
        urls = self.urls(6, 300)
        status = self.start(["-j", "2"] + urls, "")
        self.assertEqual(self.wait_status(status), 0)
        lines = [line for line in self.screen().splitlines() if line.strip()]
        records = [line for line in lines if line.startswith("http://")]
        self.assertEqual(sorted(r.split()[0] for r in records), sorted(urls))
        for r in records:
            self.assertRegex(r, r"^http://\S+\s+\d+$")
        self.assertRegex(lines[-1], r"^uvfetch: 6 URLs in ")
        self.assertEqual(len(lines), 7, lines)


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
