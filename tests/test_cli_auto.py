#!/usr/bin/env python3
"""The command's -j auto[:MAX] (stdlib only): the values it takes, that a
run under it fetches every URL once and never has more in flight than
MAX, and what it shows of the limit: the --stats line, the trace's
counter tracks. The progress line's share is in test_cli_progress.py;
the controller itself is tested in test-adapt.c and the engine's use of
it in test-auto.c.

Environment: as for test_cli.py.
"""

import json
import os
import re
import sys
import tempfile
import unittest

import test_cli as T
from test_cli import run, server_stats, tsv, url

LIMIT = re.compile(rb"uvfetch: limit: min (\d+), median (\d+), max (\d+); "
                   rb"settled after ([\d.]+) s \(last at (\d+)\)")


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def counters(events, name):
    """A counter track's values in time order."""
    return [e["args"]["value"] for e in
            sorted((e for e in events if e["ph"] == "C" and e["name"] == name),
                   key=lambda e: e["ts"])]


class Values(unittest.TestCase):
    def usage_error(self, value):
        p = run(["-j", value, url("/size/1")])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"'%s' for '-j'" % value.encode(), p.stderr)
        self.assertIn(b"or auto, or auto:MAX", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)

    def test_bad_values(self):
        server_stats(reset=True)
        for value in ("auto:0", "auto:", "autox", "auto:abc", "auto:-4",
                      "auto:100001", "Auto", "auto:8:9", "auto :8"):
            with self.subTest(value=value):
                self.usage_error(value)
        self.assertEqual(server_stats()["requests"], 0)

    def test_good_values(self):
        for value in ("auto", "auto:1", "auto:16", "auto:100000"):
            with self.subTest(value=value):
                p = run(["-j", value, url("/size/7")])
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(tsv(p.stdout), [[url("/size/7"), "7"]])


class Run(unittest.TestCase):
    def auto_run(self, n, cap, extra=()):
        urls = [url("/size/%d?delay=40&n=%d" % (i % 50 + 1, i))
                for i in range(n)]
        server_stats(reset=True)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.json")
            p = run(["-j", "auto:%d" % cap, "--stats", "--trace", path] +
                    list(extra), stdin="\n".join(urls).encode() + b"\n")
            with open(path) as f:
                events = json.load(f)
        return urls, p, events

    def test_every_url_once_within_the_ceiling(self):
        urls, p, events = self.auto_run(400, 24)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = tsv(p.stdout)
        self.assertEqual(sorted(u for u, _ in got), sorted(urls))
        self.assertEqual(sum(int(size) for _, size in got),
                         sum(i % 50 + 1 for i in range(400)))
        stats = server_stats()
        self.assertEqual(stats["requests"], 400)
        self.assertLessEqual(stats["peak"], 24)
        # It did not stay at its first limit of 8: 400 answers of 40 ms
        # leave time to grow.
        self.assertGreater(stats["peak"], 8)
        m = LIMIT.search(p.stderr)
        self.assertIsNotNone(m, p.stderr)
        lo, median, hi, settled, last = (float(x) for x in m.groups())
        self.assertTrue(1 <= lo <= median <= hi <= 24, m.group(0))
        self.assertTrue(lo <= last <= hi, m.group(0))
        self.assertGreater(hi, 8, m.group(0))
        self.assertGreaterEqual(settled, 0)
        # The trace: the limit's track starts at 8, stays within 1..24,
        # and reaches the --stats maximum; in flight never passes 24.
        limits = counters(events, "limit")
        flights = counters(events, "in flight")
        self.assertEqual(limits[0], 8)
        self.assertEqual(max(limits), hi)
        self.assertEqual(min(limits), lo)
        self.assertTrue(all(1 <= v <= 24 for v in limits), limits)
        self.assertTrue(flights and max(flights) <= 24, flights)
        self.assertGreater(max(flights), 8, flights)
        # Each change is one event: no two in a row are equal.
        for track in (limits, flights):
            self.assertTrue(all(a != b for a, b in zip(track, track[1:])))
        # The transfers are in the same file, one per URL.
        self.assertEqual(len([e for e in events
                              if e.get("cat") == "transfer"]), 400)

    def test_ceiling_of_one_is_sequential(self):
        urls, p, events = self.auto_run(30, 1)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 30)
        self.assertEqual(server_stats()["peak"], 1)
        m = LIMIT.search(p.stderr)
        self.assertIsNotNone(m, p.stderr)
        self.assertEqual(m.group(1, 2, 3), (b"1", b"1", b"1"))
        self.assertEqual(set(counters(events, "limit")), {1})

    def test_ordered_output_under_auto(self):
        urls = [url("/size/%d?delay=%d" % (i + 1, (7 * i) % 5 * 20))
                for i in range(60)]
        p = run(["-j", "auto:16", "--ordered"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([u for u, _ in tsv(p.stdout)], urls)

    def test_a_number_shows_no_limit_line(self):
        # Nothing changes for users who give a number: no limit line in
        # --stats, and the trace's limit track is that number throughout.
        server_stats(reset=True)
        urls = [url("/size/3?delay=30&n=%d" % i) for i in range(40)]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.json")
            p = run(["-j", "5", "--stats", "--trace", path] + urls)
            with open(path) as f:
                events = json.load(f)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"limit:", p.stderr)
        self.assertEqual(server_stats()["peak"], 5)
        self.assertEqual(counters(events, "limit"), [5])
        self.assertLessEqual(max(counters(events, "in flight")), 5)


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
