#!/usr/bin/env python3
"""Tests for uvfetch --journal: records appended as they are made, and a
resumed run that fetches only what is not done (stdlib only).

The central test kills uvfetch with SIGKILL in the middle of a run, runs it
again with the same journal, and checks with the server's request counts
that every URL has exactly one record across the two runs and that no URL
the first run completed was fetched again.

Environment: as for test_cli.py.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import test_cli as T
from test_cli import closed_port, jsonl, run, server_stats, tsv, url


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def journal_lines(path):
    """The complete lines of a journal, and its torn tail (bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    cut = data.rfind(b"\n") + 1
    return data[:cut].splitlines(), data[cut:]


def journal_records(path):
    lines, tail = journal_lines(path)
    return [json.loads(line.decode("utf-8")) for line in lines], tail


class Journal(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "journal.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def test_records_then_resume_skips_done(self):
        bad = "http://127.0.0.1:%d/x" % closed_port()
        good = [url("/size/%d?j=1" % i) for i in range(12)]
        urls = good[:6] + [bad] + good[6:]
        p = run(["--journal", self.path] + urls)
        self.assertEqual(p.returncode, 1)
        recs, tail = journal_records(self.path)
        self.assertEqual(tail, b"")
        self.assertEqual(sorted(r["url"] for r in recs), sorted(urls))
        for r in recs:
            self.assertEqual(urls[r["ordinal"]], r["url"])
            self.assertEqual(r["error"] is None, r["url"] != bad)
        # Again: only the failed URL is fetched, and it fails again.
        server_stats(reset=True)
        p = run(["--journal", self.path, "--stats"] + urls)
        self.assertEqual(p.returncode, 1)
        self.assertEqual([f[0] for f in tsv(p.stdout)], [bad])
        self.assertEqual(server_stats()["requests"], 0)
        self.assertIn(b"13 URLs in", p.stderr)
        self.assertIn(b" 0 ok, 1 failed, 12 skipped (done in the journal)",
                      p.stderr)
        recs, _ = journal_records(self.path)
        self.assertEqual(len(recs), 14)

    def test_http_errors_under_fail_are_not_done(self):
        missing = url("/status/404?j=2")
        run(["-f", "--journal", self.path, missing])
        server_stats(reset=True)
        p = run(["--journal", self.path, missing])
        self.assertEqual(p.returncode, 0)  # no --fail this time
        self.assertEqual(server_stats()["requests"], 1)
        server_stats(reset=True)
        p = run(["--journal", self.path, missing])
        self.assertEqual(p.stdout, b"")
        self.assertEqual(server_stats()["requests"], 0)

    def test_torn_last_line_is_cut_off(self):
        a, b = url("/size/1?j=3"), url("/size/2?j=3")
        run(["--journal", self.path, a])
        with open(self.path, "ab") as f:
            f.write(b'{"url":"' + b.encode() + b'","effective_url":"ht')
        server_stats(reset=True)
        p = run(["--journal", self.path, a, b])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[b, "2"]])
        self.assertEqual(server_stats()["requests"], 1)
        recs, tail = journal_records(self.path)
        self.assertEqual(tail, b"")
        self.assertEqual([r["url"] for r in recs], [a, b])

    def test_unreadable_lines_are_skipped(self):
        a = url("/size/3?j=4")
        with open(self.path, "wb") as f:
            f.write(b"not json\n{}\n[1,2]\n\n"
                    b'{"url":"' + a.encode() + b'","error":"UVFETCH_EURL"}\n')
        server_stats(reset=True)
        p = run(["--journal", self.path, a])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(server_stats()["requests"], 1)

    def test_url_not_utf8_matched_on_its_bytes(self):
        # Invalid UTF-8 is written as U+FFFD in "url", and the exact bytes
        # in "url_hex": the next run skips the URL (issue 16 E16), and a
        # URL that differs only in the lost byte is not taken for it.
        raw = url("/size/4?j=5&b=").encode() + b"\xe9"
        other = url("/size/4?j=5&b=").encode() + b"\xe8"
        p = run(["--journal", self.path, raw])
        self.assertEqual(p.returncode, 0, p.stderr)
        (r,), _ = journal_records(self.path)
        self.assertIn("\ufffd", r["url"])
        self.assertEqual(bytes.fromhex(r["url_hex"]), raw)
        server_stats(reset=True)
        p = run(["--journal", self.path, raw, other])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(server_stats()["requests"], 1)
        recs = tsv(p.stdout)
        self.assertEqual(len(recs), 1)
        self.assertTrue(p.stdout.startswith(other.replace(b"\xe8",
                                                          b"\\xe8")))

    def test_url_with_lost_bytes_and_no_hex_is_fetched_again(self):
        # A record without url_hex (an older uvfetch's) cannot be matched
        # exactly, so its URL is fetched again.
        raw = url("/size/4?j=6&b=").encode() + b"\xff"
        with open(self.path, "wb") as f:
            f.write(json.dumps({"url": raw.decode("utf-8", "replace"),
                                "error": None}).encode() + b"\n")
        server_stats(reset=True)
        p = run(["--journal", self.path, raw])
        self.assertEqual(len(tsv(p.stdout)), 1)
        self.assertEqual(server_stats()["requests"], 1)

    def test_overlong_line_skipped_without_holding_it(self):
        # Issue 16 D15: a line longer than any record uvfetch writes is
        # dropped as it streams by; the records around it still count.
        a, b = url("/size/1?j=7"), url("/size/2?j=7")
        done = lambda u: json.dumps({"url": u, "error": None}).encode()
        with open(self.path, "wb") as f:
            f.write(done(a) + b"\n")
            # In pieces, so that this process stays small: a child's peak
            # counts its parent's size before exec.
            f.write(b'{"url":"')
            piece = b"x" * (1 << 20)
            for _ in range(96):
                f.write(piece)
            f.write(b'","error":null}\n')
            f.write(done(b) + b"\n")
        small = os.path.join(self.tmp.name, "small.jsonl")
        with open(small, "wb") as f:
            f.write(done(a) + b"\n" + done(b) + b"\n")
        rss = {}
        for name, path in (("small", small), ("big", self.path)):
            server_stats(reset=True)
            with tempfile.TemporaryFile() as fout, \
                    tempfile.TemporaryFile() as ferr:
                proc = T.popen(["--journal", path, a, b, url("/size/3?j=7")],
                               stdin=subprocess.DEVNULL, stdout=fout,
                               stderr=ferr)
                # wait4: this child's own peak, not the largest child's.
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                fout.seek(0)
                ferr.seek(0)
                out, err = fout.read(), ferr.read()
            self.assertEqual(proc.returncode, 0, err)
            self.assertEqual(server_stats()["requests"], 1, name)
            self.assertEqual(tsv(out), [[url("/size/3?j=7"), "3"]])
            rss[name] = usage.ru_maxrss
        if not T.WRAPPER:
            # ru_maxrss is in KiB; the line alone is 96 MiB.
            self.assertLess(rss["big"] - rss["small"], 32 * 1024, rss)

    def test_records_carry_saved_and_sha256(self):
        out = os.path.join(self.tmp.name, "out")
        run(["--journal", self.path, "-o", out, "--sha256", url("/size/5")])
        (r,), _ = journal_records(self.path)
        self.assertTrue(r["saved"].startswith(out + "/"))
        self.assertEqual(len(r["sha256"]), 64)

    def test_one_run_at_a_time(self):
        slow = url("/size/1?delay=3000&j=6")
        proc = T.popen(["--journal", self.path, slow],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while server_stats()["active"] < 1 and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            p = run(["--journal", self.path, url("/size/1")])
            self.assertEqual(p.returncode, 2)
            self.assertIn(b"in use", p.stderr)
            proc.communicate(timeout=T.TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    def test_unusable_journal(self):
        p = run(["--journal", self.tmp.name, url("/size/1")])
        self.assertEqual(p.returncode, 2)
        p = run(["--journal", os.path.join(self.tmp.name, "no", "j"),
                 url("/size/1")])
        self.assertEqual(p.returncode, 2)


class KillAndResume(unittest.TestCase):
    N = 400

    def test_sigkill_then_resume(self):
        with tempfile.TemporaryDirectory() as d:
            journal = os.path.join(d, "journal.jsonl")
            listing = os.path.join(d, "urls.txt")
            urls = [url("/size/%d?id=%d&delay=%d" % (i % 100, i,
                                                     20 + i * 37 % 100))
                    for i in range(self.N)]
            with open(listing, "w") as f:
                f.write("\n".join(urls) + "\n")

            # Run 1, killed once a quarter of the URLs are in the journal.
            server_stats(reset=True)
            with open(os.path.join(d, "out1"), "wb") as out:
                proc = T.popen(["-j", "16", "--journal", journal, "-i",
                                listing], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.PIPE)
                try:
                    deadline = time.monotonic() + T.TIMEOUT
                    while time.monotonic() < deadline:
                        if os.path.exists(journal) and \
                                len(journal_lines(journal)[0]) >= self.N // 4:
                            break
                        time.sleep(0.01)
                    proc.send_signal(signal.SIGKILL)
                    proc.communicate(timeout=60)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.communicate()
            self.assertEqual(proc.returncode, -signal.SIGKILL)
            first = [json.loads(line) for line in journal_lines(journal)[0]]
            done1 = {r["url"] for r in first}
            self.assertEqual(len(done1), len(first))
            self.assertGreaterEqual(len(done1), self.N // 4)
            self.assertLess(len(done1), self.N, "the run ended before the "
                            "kill: nothing left to resume")
            for r in first:
                self.assertIsNone(r["error"])
            run1_requests = server_stats()["requests"]
            self.assertGreaterEqual(run1_requests, len(done1))

            # Run 2 fetches exactly the URLs the journal does not show done.
            server_stats(reset=True)
            p = run(["-j", "16", "--journal", journal, "--stats", "-i",
                     listing], stdin=None)
            self.assertEqual(p.returncode, 0, p.stderr)
            second = [f[0] for f in tsv(p.stdout)]
            self.assertEqual(sorted(second), sorted(set(urls) - done1))
            self.assertEqual(server_stats()["requests"], self.N - len(done1))
            self.assertIn((" %d skipped (done in the journal)" %
                           len(done1)).encode(), p.stderr)

            # Every URL has exactly one record across the two runs.
            lines, tail = journal_lines(journal)
            self.assertEqual(tail, b"")
            recs = [json.loads(line) for line in lines]
            self.assertEqual(sorted(r["url"] for r in recs), sorted(urls))
            for r in recs:
                self.assertEqual(urls[r["ordinal"]], r["url"])
                self.assertEqual(r["bytes"], T.size_of_path(r["url"]))


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
