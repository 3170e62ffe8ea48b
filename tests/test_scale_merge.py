#!/usr/bin/env python3
"""The README's merge line over more records than it may hold in memory
(stdlib only).

Eight journal parts of 400,000 records in all (about 150 MB), each part in
the shuffled order a run's completions come in, written in uvfetch's --json
layout. The README's merge line runs as written, under an address-space
limit of 64 MiB per process: sort must spill to temporary files, and
nothing may read the parts whole. The output must be every record, each
line unchanged, in input order. Among the records are URLs and messages that
hold `"ordinal":` themselves, escaped tabs and quotes, and URLs that failed
and were fetched again on a resume, whose two records must stay in journal
order (the README says the last one comes last).

Environment: UVFETCH_MERGE_RECORDS (default 400000).
"""

import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import unittest

import scale_support as S

RECORDS = int(os.environ.get("UVFETCH_MERGE_RECORDS", "400000"))
PARTS = 8
LIMIT = 64 << 20  # bytes of address space for each process of the line


def record(ordinal, url, error=None):
    """A journal line in uvfetch's --json layout (fields in its order)."""
    failed = error is not None
    return json.dumps({
        "url": url, "effective_url": url, "ordinal": ordinal,
        "ok": not failed, "error": error, "curl_code": 7 if failed else 0,
        "message": "Failed to connect: \"ordinal\":0\t" if failed else "",
        "http_code": 0 if failed else 200, "http_version": 0 if failed else 11,
        "redirects": 0, "bytes": None if failed else 1024,
        "wire_bytes": None if failed else 1024, "total_time": 0.000412,
        "ttfb": 0.000398, "attempts": 1, "start_time": ordinal / 1e4,
        "dns_time": 0.000012, "connect_time": 0.000104, "tls_time": 0.0,
        "slot": ordinal % 50}, separators=(",", ":")) + "\n"


def url_of(i):
    if i % 9973 == 5:
        # Text that looks like the key, inside the URL's string.
        return 'http://127.0.0.1:8080/q?x="ordinal":%d,\t"ordinal":1' % (
            RECORDS - i)
    return "http://127.0.0.1:8080/f%d?i=%d" % (i % 1000, i)


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


class Merge(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="uvf-merge-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_readme_merge_line_in_bounded_memory(self):
        rng = random.Random(15)
        retried = set(range(7, RECORDS, 50021))
        size = 0
        for k in range(PARTS):
            lines = []
            for i in range(k, RECORDS, PARTS):
                if i in retried:
                    # Failed in the first run, fetched on the resume: the
                    # failure earlier in the journal, both after the others
                    # the first run wrote.
                    continue
                lines.append(record(i, url_of(i)))
            rng.shuffle(lines)
            for i in range(k, RECORDS, PARTS):
                if i in retried:
                    lines.append(record(i, url_of(i), "UVFETCH_ECONNECT"))
            for i in range(k, RECORDS, PARTS):
                if i in retried:
                    lines.append(record(i, url_of(i)))
            text = "".join(lines)
            size += len(text)
            with open(os.path.join(self.tmp, "part-%d.jsonl" % k), "w") as f:
                f.write(text)
        self.assertGreater(size, 2 * LIMIT)

        _, line = S.recipe("Every part's records in input order")
        env = dict(os.environ, TMPDIR=self.tmp)
        start = time.monotonic()
        p = S.subprocess.run(["bash", "-c", line], cwd=self.tmp, env=env,
                             stdout=S.subprocess.PIPE,
                             stderr=S.subprocess.PIPE, timeout=300,
                             preexec_fn=limit_memory)
        took = time.monotonic() - start
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")

        # Read the result a line at a time, as it was written.
        want = 0
        seen_failure = False
        n = 0
        with open(os.path.join(self.tmp, "all.jsonl")) as f:
            for text in f:
                n += 1
                if want in retried and not seen_failure:
                    self.assertEqual(text, record(want, url_of(want),
                                                  "UVFETCH_ECONNECT"))
                    seen_failure = True
                    continue
                self.assertEqual(text, record(want, url_of(want)),
                                 "line %d" % n)
                seen_failure = False
                want += 1
        self.assertEqual(want, RECORDS)
        self.assertEqual(n, RECORDS + len(retried))
        print("merge: %d records in %d parts, %.0f MB, under a %d MiB "
              "address-space limit: %.1f s" % (n, PARTS, size / 1e6,
                                               LIMIT >> 20, took))


if __name__ == "__main__":
    sys.exit(S.main(__name__))
