#!/usr/bin/env python3
"""The command against servers that misuse it: -H headers on a redirect to
another origin (--location-trusted), and a server that stops sending
(--idle-timeout). Stdlib only.

Environment: as for test_cli.py.
"""

import json
import os
import sys
import tempfile
import unittest
import urllib.parse

import test_cli as T
from test_cli import jsonl, run


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


SECRETS = ["X-Api-Key: secret-key", "Proxy-Authorization: Basic secret",
           "Authorization: Bearer secret", "X-Plain: plain"]


def fetch_headers(target, extra=()):
    """What the server's /headers saw, fetched through a redirect from
    127.0.0.1 to `target`, with SECRETS as -H headers."""
    with tempfile.TemporaryDirectory() as d:
        u = T.url("/redirect-to?url=" + urllib.parse.quote(target, safe=""))
        args = ["--json", "-o", d] + list(extra)
        for h in SECRETS:
            args += ["-H", h]
        p = run(args + [u])
        assert p.returncode == 0, p.stderr
        rec = jsonl(p.stdout)[0]
        assert rec["http_code"] == 200 and rec["redirects"] == 1, rec
        with open(rec["saved"], "rb") as f:
            return f.read().decode()


class Location(unittest.TestCase):
    def test_same_origin_keeps_headers(self):
        seen = fetch_headers(T.url("/headers"))
        for h in SECRETS:
            self.assertIn(h, seen)

    def test_other_host_gets_none(self):
        # localhost is another host than 127.0.0.1, on the same server.
        seen = fetch_headers("http://localhost:%d/headers" % T.PORT)
        self.assertNotIn("secret", seen)
        self.assertNotIn("X-Plain", seen)
        self.assertIn("User-Agent: uvfetch/", seen)

    def test_location_trusted_keeps_them(self):
        seen = fetch_headers("http://localhost:%d/headers" % T.PORT,
                             ["--location-trusted"])
        for h in ["X-Api-Key: secret-key", "Proxy-Authorization: Basic secret",
                  "X-Plain: plain"]:
            self.assertIn(h, seen)


class Idle(unittest.TestCase):
    def test_stalled_body_ends(self):
        u = T.url("/fault/stall?size=100000&sent=500")
        p = run(["--json", "--idle-timeout", "1", u, T.url("/size/9")])
        self.assertEqual(p.returncode, 1)
        recs = {r["url"]: r for r in jsonl(p.stdout)}
        self.assertEqual(recs[u]["error"], "UVFETCH_ETIMEDOUT")
        self.assertEqual(recs[u]["bytes"], 500)
        self.assertIn("too slow", recs[u]["message"])
        self.assertGreaterEqual(recs[u]["total_time"], 0.9)
        self.assertEqual(recs[T.url("/size/9")]["bytes"], 9)

    def test_zero_turns_it_off(self):
        # Off, only --max-time ends it, with its own message.
        u = T.url("/fault/stall?size=100000&sent=500")
        p = run(["--json", "--idle-timeout", "0", "--max-time", "2.5", u])
        self.assertEqual(p.returncode, 1)
        rec = jsonl(p.stdout)[0]
        self.assertEqual(rec["error"], "UVFETCH_ETIMEDOUT")
        self.assertNotIn("too slow", rec["message"])
        self.assertGreaterEqual(rec["total_time"], 2.4)

    def test_bad_values(self):
        for bad in ["-1", "x", ""]:
            p = run(["--idle-timeout", bad, T.url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--idle-timeout", p.stderr, bad)


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
