#!/usr/bin/env python3
"""The command's name options: --resolve, --dns-cache-time, and the name
counts of --stats (stdlib only).

Lookups are counted where they land, at tests/dnsserver.py (every *.test
name reaches it through tests/netns.sh's dnsmasq, which caches nothing),
and by the command's own --stats line. Without the namespace's DNS server
(UVFETCH_TEST_DNS unset) the tests that need one skip, and say why.

Environment: as for test_cli.py.
"""

import re
import sys
import unittest

import test_cli as T
from test_cli import run, tsv
from test_cli_names import HAVE_DNS, NO_DNS, lookups


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def named(host, path):
    return "http://%s:%d%s" % (host, T.PORT, path)


def names_line(err):
    """(looked up, from the cache, failed) from --stats on stderr."""
    m = re.search(rb"names: (\d+) looked up, (\d+) from the cache; (\d+) "
                  rb"URLs failed", err)
    assert m is not None, err
    return tuple(int(x) for x in m.groups())


class Resolve(unittest.TestCase):
    def test_pinned_name_needs_no_lookup(self):
        # nothere.example has no record anywhere; --resolve is its only
        # address, for this port only.
        urls = [named("nothere.example", "/size/%d" % n) for n in (10, 20)]
        p = run(["-j", "2", "--stats", "--resolve",
                 "nothere.example:%d:127.0.0.1" % T.PORT] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = sorted(tsv(p.stdout))
        self.assertEqual(recs, sorted([[u, str(T.size_of_path(u))]
                                       for u in urls]))
        self.assertEqual(names_line(p.stderr), (0, 0, 0))

    def test_pinned_list_first_address_dead(self):
        # 127.0.0.2 refuses (nothing listens there): the next one serves.
        u = named("pinned.example", "/size/33")
        p = run(["--resolve",
                 "pinned.example:%d:127.0.0.2,[::1],127.0.0.1" % T.PORT, u])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(tsv(p.stdout), [[u, "33"]])

    def test_pin_is_per_port(self):
        # The pin names another port: this URL's name must be looked up,
        # and .invalid never resolves.
        u = named("x.invalid", "/size/5")
        p = run(["--stats", "--resolve", "x.invalid:1:127.0.0.1", u])
        self.assertEqual(p.returncode, 1)
        rec = tsv(p.stdout)
        self.assertEqual(len(rec), 1)
        self.assertEqual(rec[0][:3], [u, "-", "UVFETCH_ERESOLVE"])
        self.assertIn("x.invalid", rec[0][3])

    def test_bad_values_are_usage_errors(self):
        for bad in ["a.test", "a.test:80", "a.test:80:", ":80:127.0.0.1",
                    "a.test:0:127.0.0.1", "a.test:x:127.0.0.1",
                    "*:80:127.0.0.1", "a.test:80:1.2.3.4\nX: y"]:
            p = run(["--resolve", bad, T.url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertEqual(p.stdout, b"", bad)
            self.assertIn(b"--resolve", p.stderr, bad)

    def test_bad_address_refused_before_any_fetch(self):
        for bad in ["a.test:80:1.2.3", "a.test:80:127.0.0.1,", "a.test:80:::1",
                    "a.test:80:[127.0.0.1]"]:
            p = run(["--resolve", bad, T.url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertEqual(p.stdout, b"", bad)
            self.assertIn(b"--resolve", p.stderr, bad)


@unittest.skipUnless(HAVE_DNS, NO_DNS)
class Cache(unittest.TestCase):
    def test_one_lookup_per_name(self):
        # 40 URLs over 4 names, one at a time: each name once.
        hosts = ["c%d.cache.test" % i for i in range(4)]
        before = {h: lookups(h)[0] for h in hosts}
        urls = [named(hosts[i % 4], "/size/%d" % i) for i in range(40)]
        p = run(["-j", "1", "--stats"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 40)
        self.assertEqual({h: lookups(h)[0] - before[h] for h in hosts},
                         {h: 1 for h in hosts})
        self.assertEqual(names_line(p.stderr), (4, 36, 0))

    def test_zero_cache_time_looks_up_each_time(self):
        h = "nocache.cache.test"
        before = lookups(h)[0]
        urls = [named(h, "/size/%d" % i) for i in range(5)]
        p = run(["-j", "1", "--stats", "--dns-cache-time", "0"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 5)
        self.assertEqual(lookups(h)[0] - before, 5)
        self.assertEqual(names_line(p.stderr), (5, 0, 0))

    def test_concurrent_urls_share_a_lookup(self):
        # 50 URLs of one new name start together: one lookup serves all.
        h = "shared.cache.test"
        before = lookups(h)[0]
        urls = [named(h, "/size/%d" % i) for i in range(50)]
        p = run(["-j", "50", "--stats", "--dns-cache-time", "0"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 50)
        self.assertEqual(lookups(h)[0] - before, 1)
        self.assertEqual(names_line(p.stderr), (1, 49, 0))

    def test_dead_name_failures_counted(self):
        urls = [named("nx.fault.test", "/size/%d" % i) for i in range(30)]
        p = run(["-j", "10", "--stats"] + urls)
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(len(recs), 30)
        self.assertEqual({r[2] for r in recs}, {"UVFETCH_ERESOLVE"})
        self.assertEqual(names_line(p.stderr), (1, 29, 30))

    def test_bad_cache_time(self):
        for bad in ["-1", "x", ""]:
            p = run(["--dns-cache-time", bad, T.url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--dns-cache-time", p.stderr, bad)


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
