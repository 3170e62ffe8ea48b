#!/usr/bin/env python3
"""Tests for what uvfetch writes (stdlib only).

--write-out templates, the JSON timeline fields, saving bodies with
--output-dir, --sha256, the --trace file, --stats and the summary, --shard,
and the progress line's absence (or forced presence) in a pipe.

Environment: as for test_cli.py.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import test_cli as T
from test_cli import closed_port, jsonl, run, server_stats, tsv, url

PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789\n"


def setUpModule():
    T.setUpModule()


def tearDownModule():
    T.tearDownModule()


def body(n):
    """The body /size/N sends."""
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def save_name(u):
    """The file name --output-dir gives a URL, computed independently."""
    digest = hashlib.sha256(u.encode()).hexdigest()[:24]
    path = u.split("#")[0].split("?")[0]
    if "://" in path:
        rest = path.split("://", 1)[1]
        path = rest[rest.index("/"):] if "/" in rest else ""
    tail = path.rsplit("/", 1)[-1].lstrip(".")
    tail = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_"
                   for c in tail)[:64]
    return digest + "-" + (tail or "index")


def fnv1a64(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


class WriteOut(unittest.TestCase):
    ALL = ("%{url}|%{url_effective}|%{size}|%{size_download}|%{http_code}|"
           "%{http_version}|%{num_redirects}|%{exitcode}|%{error}|"
           "%{errormsg}|%{attempts}|%{ordinal}|%{saved}|%{sha256}\\n")
    TIMES = ("%{time_namelookup} %{time_connect} %{time_appconnect} "
             "%{time_starttransfer} %{time_total}\\n")

    def test_every_variable(self):
        ok = url("/redirect/1?to=/size/50000%3Fgzip%3D1")
        bad = "http://127.0.0.1:%d/x" % closed_port()
        p = run(["--ordered", "-w", self.ALL, ok, bad])
        self.assertEqual(p.returncode, 1)
        lines = p.stdout.decode().splitlines()
        f = lines[0].split("|")
        self.assertEqual(f[0], ok)
        self.assertEqual(f[1], url("/size/50000?gzip=1"))
        self.assertEqual(f[2], "50000")
        self.assertLess(int(f[3]), 50000)  # on the wire, gzipped
        self.assertEqual(f[4:14], ["200", "1.1", "2", "0", "", "", "1", "0",
                                   "", ""])
        f = lines[1].split("|")
        self.assertEqual(f[0:2], [bad, bad])
        self.assertEqual(f[4:9], ["000", "0", "0", "7", "UVFETCH_ECONNECT"])
        self.assertIn("Failed to connect", f[9])
        self.assertEqual(f[10:12], ["1", "1"])

    def test_times(self):
        p = run(["-w", self.TIMES, url("/size/100000")])
        self.assertEqual(p.returncode, 0, p.stderr)
        line = p.stdout.decode()
        self.assertRegex(line, r"^(\d+\.\d{6} ){4}\d+\.\d{6}\n$")
        dns, conn, tls, first, total = (float(x) for x in line.split())
        self.assertEqual(tls, 0.0)  # plain HTTP
        self.assertLessEqual(dns, conn)
        self.assertLessEqual(conn, first)
        self.assertLessEqual(first, total)

    def test_literals_and_escapes(self):
        p = run(["-w", "a\\tb\\\\c%%d%xe\\qf\\rg\\n", url("/size/1")])
        self.assertEqual(p.stdout, b"a\tb\\c%d%xe\\qf\rg\n")
        # Text values are escaped as in the default output.
        raw = url("/size/2?x=a\tb")
        p = run(["-w", "%{url}\\n", raw])
        self.assertEqual(p.stdout, url("/size/2?x=a\\tb").encode() + b"\n")

    def test_default_is_the_documented_template(self):
        urls = [url("/size/3"), url("/status/404"),
                "http://127.0.0.1:%d/" % closed_port()]
        default = run(["--ordered"] + urls)
        ok = run(["--ordered", "-w", "%{url}\\t%{size}\\n", urls[0],
                  urls[1]])
        failed = run(["-w", "%{url}\\t-\\t%{error}\\t%{errormsg}\\n",
                      urls[2]])
        # curl's message tells the milliseconds it took: not repeatable.
        def same(out):
            return re.sub(rb"after \d+ ms", b"after N ms", out)
        self.assertEqual(same(default.stdout),
                         same(ok.stdout + failed.stdout))

    def test_usage_errors(self):
        for tpl, word in (("%{nope}", b"%{nope}"), ("%{url", b"'}'"),
                          ("%{url}%{size_downloads}", b"size_downloads")):
            p = run(["-w", tpl, url("/size/1")])
            self.assertEqual(p.returncode, 2, tpl)
            self.assertEqual(p.stdout, b"")
            self.assertIn(word, p.stderr)
            self.assertEqual(len(p.stderr.splitlines()), 1)
        p = run(["--json", "--write-out", "%{url}", url("/size/1")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--json", p.stderr)


class JsonTimeline(unittest.TestCase):
    def test_slots_and_start_times(self):
        urls = [url("/size/%d?delay=100" % i) for i in range(9)]
        p = run(["--json", "-j", "3"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = jsonl(p.stdout)
        self.assertEqual({r["slot"] for r in recs}, {0, 1, 2})
        # Three waves of three: the last wave starts ~200 ms in.
        starts = sorted(r["start_time"] for r in recs)
        self.assertGreaterEqual(starts[-1] - starts[0], 0.15)
        # A slot runs one transfer at a time.
        by_slot = {}
        for r in recs:
            by_slot.setdefault(r["slot"], []).append(
                (r["start_time"], r["start_time"] + r["total_time"]))
        for spans in by_slot.values():
            spans.sort()
            for a, b in zip(spans, spans[1:]):
                self.assertLessEqual(a[1], b[0] + 1e-3)


class OutputDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "out")

    def tearDown(self):
        self.tmp.cleanup()

    def files(self):
        return sorted(os.listdir(self.dir)) if os.path.isdir(self.dir) else []

    def test_bodies_saved_under_safe_names(self):
        sizes = [0, 1, 1000, 65536, 300000]
        urls = [url("/size/%d" % n) for n in sizes]
        urls.append(url("/size/777?gzip=1&chunked=1"))
        p = run(["--json", "-o", self.dir] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = {r["url"]: r for r in jsonl(p.stdout)}
        self.assertEqual(sorted(self.files()),
                         sorted(save_name(u) for u in urls))
        for u in urls:
            n = T.size_of_path(u)
            saved = recs[u]["saved"]
            self.assertEqual(saved, os.path.join(self.dir, save_name(u)))
            with open(saved, "rb") as f:
                self.assertEqual(f.read(), body(n), u)

    def test_tsv_field_and_names_cannot_escape(self):
        urls = [url("/size/2/..%2F..%2Fescape"), url("/size/3?a=/../../x"),
                url("/status/200/.hidden"), url("/status/200/")]
        p = run(["--ordered", "-o", self.dir] + urls)
        recs = tsv(p.stdout)
        self.assertEqual(len(recs), 4)
        names = self.files()
        self.assertEqual(len(names), 4)
        for f, u in zip(recs, urls):
            self.assertEqual(f[2], os.path.join(self.dir, save_name(u)))
        for name in names:
            self.assertNotIn("/", name)
            self.assertFalse(name.startswith("."), name)
        self.assertIn(save_name(urls[2]), names)
        self.assertTrue(save_name(urls[2]).endswith("-hidden"))
        self.assertTrue(save_name(urls[3]).endswith("-index"))
        # Nothing was written beside the directory.
        self.assertEqual(os.listdir(self.tmp.name), ["out"])

    def test_failures_leave_no_file(self):
        bad = "http://127.0.0.1:%d/x" % closed_port()
        missing = url("/status/404")
        p = run(["--ordered", "-o", self.dir, bad, missing])
        self.assertEqual(p.returncode, 1)
        recs = tsv(p.stdout)
        self.assertEqual(recs[0][:4], [bad, "-", "-", "UVFETCH_ECONNECT"])
        self.assertEqual(recs[1][:2], [missing, "11"])
        self.assertEqual(self.files(), [save_name(missing)])
        # Under --fail an error body is not kept.
        shutil_rm(self.dir)
        p = run(["-f", "--json", "-o", self.dir, missing])
        (r,) = jsonl(p.stdout)
        self.assertEqual((r["error"], r["saved"]), ("UVFETCH_EHTTP", None))
        self.assertEqual(self.files(), [])

    def test_retry_restarts_the_file(self):
        # The first answer's body ("try again\n") must not stay in front.
        flaky = url("/flaky/o1?fail=2")
        p = run(["--json", "--retry", "2", "--retry-delay", "0.05",
                 "-o", self.dir, flaky])
        (r,) = jsonl(p.stdout)
        self.assertEqual(r["attempts"], 3)
        with open(r["saved"], "rb") as f:
            self.assertEqual(f.read(), body(10))

    def test_interrupted_run_leaves_no_final_name(self):
        endless = url("/size/1000000000000")  # streams for as long as we like
        for signo, want in ((signal.SIGINT, 130), (signal.SIGKILL, -9)):
            shutil_rm(self.dir)
            proc = T.popen(["-o", self.dir, endless, url("/size/5")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                # /size/5 is saved (its record comes after the rename),
                # then the endless body is well under way.
                first = proc.stdout.readline()
                self.assertTrue(first.startswith(
                    (url("/size/5") + "\t5\t").encode()), first)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    parts = [n for n in self.files() if n.endswith(".part")]
                    if parts and os.path.getsize(
                            os.path.join(self.dir, parts[0])) > 100000:
                        break
                    time.sleep(0.05)
                proc.send_signal(signo)
                out, _ = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            self.assertEqual(proc.returncode, want)
            self.assertNotIn(url("/size/5").encode(), out)
            finals = [n for n in self.files() if not n.endswith(".part")]
            self.assertEqual(finals, [save_name(url("/size/5"))])
            if signo == signal.SIGINT:
                # Cancelled: its temporary file is gone too.
                self.assertEqual(self.files(), finals)
                self.assertIn(b"UVFETCH_ECANCELED", out)

    def test_large_bodies_in_parallel(self):
        urls = [url("/size/%d" % (20000000 + i)) for i in range(3)]
        p = run(["--sha256", "--json", "-o", self.dir] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        for r in jsonl(p.stdout):
            n = T.size_of_path(r["url"])
            want = hashlib.sha256(body(n)).hexdigest()
            self.assertEqual(r["sha256"], want)
            with open(r["saved"], "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), want)

    def test_unusable_directory(self):
        afile = os.path.join(self.tmp.name, "file")
        open(afile, "w").close()
        # A missing parent is made (issue 16 E22); a file in the way is not
        # a directory.
        for d in (afile, os.path.join(afile, "below")):
            p = run(["-o", d, url("/size/1")])
            self.assertEqual(p.returncode, 2, d)
            self.assertIn(d.encode(), p.stderr)


def shutil_rm(d):
    if os.path.isdir(d):
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


class Sha256(unittest.TestCase):
    # Lengths around SHA-256's 64-byte blocks and its 56-byte padding edge.
    SIZES = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000,
             65536, 1000003]

    def test_digests_match_hashlib(self):
        urls = [url("/size/%d" % n) for n in self.SIZES]
        urls.append(url("/size/4321?gzip=1&chunked=1"))
        p = run(["--json", "--sha256"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = jsonl(p.stdout)
        self.assertEqual(len(recs), len(urls))
        for r in recs:
            want = hashlib.sha256(body(T.size_of_path(r["url"]))).hexdigest()
            self.assertEqual(r["sha256"], want, r["url"])

    def test_tsv_field_and_failures(self):
        bad = "http://127.0.0.1:%d/x" % closed_port()
        p = run(["--ordered", "--sha256", url("/size/3"), bad])
        recs = tsv(p.stdout)
        self.assertEqual(recs[0], [url("/size/3"),
                                   "3", hashlib.sha256(body(3)).hexdigest()])
        self.assertEqual(recs[1][:4], [bad, "-", "-", "UVFETCH_ECONNECT"])
        p = run(["--json", "--sha256", bad])
        self.assertIsNone(jsonl(p.stdout)[0]["sha256"])

    def test_fields_in_order(self):
        # --retry, -o and --sha256 together: attempts, path, digest.
        with tempfile.TemporaryDirectory() as d:
            p = run(["--retry", "1", "-o", d, "--sha256", url("/size/4")])
            (f,) = tsv(p.stdout)
            self.assertEqual(f, [url("/size/4"), "4", "1",
                                 os.path.join(d, save_name(url("/size/4"))),
                                 hashlib.sha256(body(4)).hexdigest()])


class Trace(unittest.TestCase):
    def load(self, path):
        with open(path) as f:
            return json.load(f)

    def test_tracks_and_phases(self):
        urls = [url("/size/%d?delay=50" % (1000 * i)) for i in range(1, 7)]
        bad = "http://127.0.0.1:%d/x" % closed_port()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.json")
            p = run(["-j", "2", "--trace", path] + urls + [bad])
            self.assertEqual(p.returncode, 1)
            events = self.load(path)
        self.assertIsInstance(events, list)
        names = {e["tid"]: e["args"]["name"] for e in events
                 if e["ph"] == "M" and e["name"] == "thread_name"}
        self.assertEqual(names, {0: "slot 0", 1: "slot 1"})
        transfers = [e for e in events if e.get("cat") == "transfer"]
        self.assertEqual(sorted(e["name"] for e in transfers),
                         sorted(urls + [bad]))
        for e in transfers:
            self.assertEqual(e["ph"], "X")
            self.assertIn(e["tid"], (0, 1))
        failed = [e for e in transfers if e["name"] == bad][0]
        self.assertEqual(failed["args"]["error"], "UVFETCH_ECONNECT")
        # Transfers on one track never overlap; phases lie inside theirs.
        phases = [e for e in events if e.get("cat") == "phase"]
        self.assertTrue({"connect", "wait", "download"} <=
                        {e["name"] for e in phases})
        for tid in (0, 1):
            spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in transfers
                           if e["tid"] == tid)
            for a, b in zip(spans, spans[1:]):
                self.assertLessEqual(a[1], b[0] + 1.0)
        for ph in phases:
            self.assertGreater(ph["dur"], 0)
            parents = [e for e in transfers if e["tid"] == ph["tid"] and
                       e["ts"] - 1.0 <= ph["ts"] and
                       ph["ts"] + ph["dur"] <= e["ts"] + e["dur"] + 1.0]
            self.assertEqual(len(parents), 1, ph)
        ok = [e for e in transfers if e["name"] == urls[-1]][0]
        mine = [ph["name"] for ph in phases
                if ok["ts"] - 1.0 <= ph["ts"] <= ok["ts"] + ok["dur"] and
                ph["tid"] == ok["tid"]]
        self.assertEqual(mine[-2:], ["wait", "download"])

    def test_valid_after_interrupt(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trace.json")
            urls = [url("/size/1?delay=20000&n=%d" % i) for i in range(3)]
            proc = T.popen(["--trace", path, url("/size/9")] + urls,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                proc.stdout.readline()  # /size/9 is done
                time.sleep(0.3)
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
            self.assertEqual(proc.returncode, 143)
            events = self.load(path)
        names = [e["name"] for e in events if e.get("cat") == "transfer"]
        self.assertEqual(sorted(names), sorted([url("/size/9")] + urls))

    def test_unwritable(self):
        p = run(["--trace", "/nonexistent/dir/t.json", url("/size/1")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"/nonexistent/dir/t.json", p.stderr)


class Stats(unittest.TestCase):
    def test_stats_on_stderr(self):
        bad = "http://127.0.0.1:%d/x" % closed_port()
        urls = [url("/size/10"), url("/size/20"), url("/status/404"),
                url("/status/503"), bad]
        p = run(["--stats", "-f"] + urls)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        lines = err.splitlines()
        self.assertEqual(len(lines), 6, err)
        self.assertRegex(lines[0], r"^uvfetch: 5 URLs in \d+\.\d\d s: 2 ok, "
                                   r"3 failed; ")
        self.assertEqual(lines[1],
                         "uvfetch: by status: none 1, 2xx 2, 4xx 1, 5xx 1")
        self.assertTrue(lines[2].startswith("uvfetch: by error: "))
        counts = dict(item.strip().rsplit(" ", 1) for item in
                      lines[2][len("uvfetch: by error: "):].split(","))
        self.assertEqual(counts, {"UVFETCH_EHTTP": "2",
                                  "UVFETCH_ECONNECT": "1"})
        body_bytes = 10 + 20 + len("status 404\n") + len("status 503\n")
        self.assertTrue(lines[3].startswith(
            "uvfetch: bytes: %d decoded, %d on the wire; attempts: 5 "
            "(0 retries)" % (body_bytes, body_bytes)), lines[3])
        # IP literals need no name: nothing looked up.
        self.assertEqual(lines[4], "uvfetch: names: 0 looked up, 0 from the "
                                   "cache; 0 URLs failed for want of one")
        self.assertRegex(lines[5], r"^uvfetch: rate: [\d.]+ URLs/s, \d+ "
                                   r"bytes/s; wall time [\d.]+ s$")

    def test_quiet_in_a_pipe_by_default(self):
        p = run([url("/size/1")])
        self.assertEqual(p.stderr, b"")
        p = run(["--no-progress", url("/size/1")])
        self.assertEqual(p.stderr, b"")

    def test_progress_forced_in_a_pipe(self):
        urls = [url("/size/%d?delay=150" % i) for i in range(8)]
        p = run(["--progress", "-j", "2"] + urls)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(tsv(p.stdout)), 8)
        err = p.stderr.decode()
        self.assertRegex(err, r"\r\d+ done, \d+ failed, \d+ in flight, "
                              r"\d+ queued")
        # Arguments: the total is known, so there is a share and an ETA.
        self.assertRegex(err, r"\d+%, ETA \d+:\d\d")
        # The line is erased at the end, then the summary follows.
        self.assertTrue(err.endswith("\r\x1b[K" + err.split("\r\x1b[K")[-1]))
        self.assertRegex(err.split("\r\x1b[K")[-1],
                         r"^uvfetch: 8 URLs in [\d.]+ s: 8 ok, 0 failed; "
                         r"28 B, [\d.]+ k?B/s\n$")
        # --no-progress wins over --progress when given last, and back.
        p = run(["--progress", "--no-progress", url("/size/1")])
        self.assertEqual(p.stderr, b"")


class Shard(unittest.TestCase):
    def test_shards_partition_the_input(self):
        urls = [url("/size/%d?k=%d" % (i % 50, i)) for i in range(90)]
        data = ("\n".join(urls) + "\n").encode()
        seen = {}
        for k in range(3):
            p = run(["--json", "--shard", "%d/3" % k], stdin=data)
            self.assertEqual(p.returncode, 0, p.stderr)
            for r in jsonl(p.stdout):
                self.assertNotIn(r["url"], seen)
                seen[r["url"]] = k
                # Ordinals count every input URL, in every shard.
                self.assertEqual(urls[r["ordinal"]], r["url"])
        self.assertEqual(set(seen), set(urls))
        for u, k in seen.items():
            self.assertEqual(fnv1a64(u.encode()) % 3, k, u)

    def test_one_shard_is_everything(self):
        p = run(["--shard", "0/1", url("/size/1"), url("/size/2")])
        self.assertEqual(len(tsv(p.stdout)), 2)

    def test_summary_counts_other_shards(self):
        urls = [url("/size/1?s=%d" % i) for i in range(20)]
        mine = [u for u in urls if fnv1a64(u.encode()) % 4 == 1]
        p = run(["--stats", "--shard", "1/4"] + urls)
        self.assertEqual(len(tsv(p.stdout)), len(mine))
        self.assertIn(", %d left to other shards;" % (20 - len(mine)),
                      p.stderr.decode())

    def test_bad_shards(self):
        for bad in ("3/3", "1/0", "a/b", "1", "-1/3", "1/3/4", "0/4294967297"):
            p = run(["--shard", bad, url("/size/1")])
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--shard", p.stderr)


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
