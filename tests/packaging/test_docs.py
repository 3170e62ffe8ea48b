#!/usr/bin/env python3
"""docs/api.md: its worked example works, and it covers the whole API.

Environment (set by tests/packaging/meson.build):
  UVFETCH_DOCS_EXAMPLE  the worked example, cut out of docs/api.md by
                        extract_example.py and built by meson
  UVFETCH_TEST_SERVER   tests/server.py

The coverage check reads include/uvfetch.h: a function or error code added
there and not mentioned in the guide fails here, so the two move together.
"""

import json
import os
import re
import sys
import unittest
import urllib.request

from common import (SOURCE_ROOT, LoopbackServer, closed_port, env_path, main,
                    run)

GUIDE = os.path.join(SOURCE_ROOT, "docs", "api.md")
HEADER = os.path.join(SOURCE_ROOT, "include", "uvfetch.h")


def server_get(server, path):
    with urllib.request.urlopen(server.url(path), timeout=10) as r:
        return r.read()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class WorkedExample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LoopbackServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.exe = env_path("UVFETCH_DOCS_EXAMPLE")

    def test_status_size_lines_and_type(self):
        s = self.server
        refused = "http://127.0.0.1:%d/" % closed_port()
        # Line counts: /size/N repeats a 37-byte line, so N bytes hold
        # N // 37 newlines; "status 404\n" holds one.
        want = {
            s.url("/size/100"): ["200", "100", "2", "text/plain"],
            s.url("/size/100?gzip=1"): ["200", "100", "2", "text/plain"],
            s.url("/size/74000?chunked=1"): ["200", "74000", "2000",
                                             "text/plain"],
            s.url("/status/404"): ["404", "11", "1", "text/plain"],
            s.url("/redirect/2?to=/size/74"): ["200", "74", "2",
                                                "text/plain"],
            s.url("/stats"): None,  # JSON: only the type is known
        }
        urls = list(want) + [refused]
        p = run([self.exe] + urls, timeout=120)
        # One URL failed, so the exit status is 1.
        self.assertEqual(p.returncode, 1, p.stderr)
        got = {f[0]: f[1:] for f in
               (line.split("\t") for line in p.stdout.splitlines())}
        self.assertEqual(len(p.stdout.splitlines()), len(urls), p.stdout)
        for u, fields in want.items():
            if fields is None:
                self.assertEqual(got[u][0], "200")
                self.assertEqual(got[u][3], "application/json")
            else:
                self.assertEqual(got[u], fields, u)
        self.assertEqual(got[refused][:2], ["-", "UVFETCH_ECONNECT"])

    def test_retry_starts_the_body_over(self):
        # 503 is transient: the example tries it three times, and its body
        # hook's restart call keeps the line count to one body's.
        s = self.server
        u = s.url("/status/503")
        server_get(s, "/stats/reset")
        p = run([self.exe, u], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, u + "\t503\t11\t1\ttext/plain\n")
        self.assertEqual(json.loads(server_get(s, "/stats"))["requests"], 3)

    def test_all_fetched(self):
        p = run([self.exe, self.server.url("/size/0")], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout,
                         self.server.url("/size/0") + "\t200\t0\t0\t"
                         "text/plain\n")

    def test_refused_url(self):
        p = run([self.exe, "ftp://127.0.0.1/x"], timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, "ftp://127.0.0.1/x\t-\tUVFETCH_ESCHEME\t"
                         "URL scheme not allowed\n")


class Coverage(unittest.TestCase):
    def test_every_function_is_explained(self):
        guide = read(GUIDE)
        functions = re.findall(r"^UVFETCH_EXTERN\b[^;(]*?\b(\w+)\s*\(",
                               read(HEADER), re.M)
        self.assertGreaterEqual(len(functions), 15)
        missing = [f for f in functions if f not in guide]
        self.assertEqual(missing, [], "not in docs/api.md")

    def test_every_error_code_is_explained(self):
        guide = read(GUIDE)
        names = re.findall(r"^\s*XX\((\w+),\s*-\d+,", read(HEADER), re.M)
        self.assertGreaterEqual(len(names), 15)
        missing = ["UVFETCH_" + n for n in names
                   if "`UVFETCH_%s`" % n not in guide]
        self.assertEqual(missing, [], "not in docs/api.md")

    def test_every_option_is_explained(self):
        header = read(HEADER)
        guide = read(GUIDE)
        for struct in ("uvfetch_options_s", "uvfetch_request_s",
                       "uvfetch_result_s", "uvfetch_stats_s"):
            body = re.search(r"typedef struct %s \{(.*?)\}" % struct, header,
                             re.S).group(1)
            body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
            fields = re.findall(r"(\w+)\s*(?:\)\s*\([^)]*\))?\s*;", body)
            self.assertTrue(fields, struct)
            missing = [f for f in fields if "`%s`" % f not in guide and
                       "%s =" % f not in guide]
            self.assertEqual(missing, [], "%s fields not in docs/api.md"
                             % struct)


if __name__ == "__main__":
    sys.exit(main(__name__))
