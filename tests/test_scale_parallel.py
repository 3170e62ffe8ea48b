#!/usr/bin/env python3
"""The README's GNU parallel recipe, run as written (stdlib only).

First over 20,000 loopback nginx URLs: part K's journal holds exactly shard
K of the input, once each, the TSV parts hold every URL once, and the
README's merge line puts the records back in input order.

Then a resume: the same line over 4,000 URLs of a server in this process
that answers each request after a delay and logs every request target. One
shard's uvfetch is killed with SIGKILL while its journal is part written;
the same line runs again. Every part's journal then covers its shard once;
the second run asked only the shard that was killed, and only for the URLs
its journal did not hold (those in flight at the kill among them); no URL
with a record was fetched again.

parallel runs with HOME in a temporary directory, so its ~/.parallel is
not the machine's. Environment: UVFETCH, UVFETCH_NGINX_SH.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import scale_support as S

SHARDS = 8
TIMEOUT = 120  # seconds for one run of the recipe


def need_parallel():
    if not shutil.which("parallel"):
        raise unittest.SkipTest("GNU parallel is not installed "
                                "(apt-get install parallel)")


class LogServer:
    """HTTP/1.1 on 127.0.0.1, in a thread: every GET gets "ok\\n" after
    `delay` seconds; `targets` lists the request targets in arrival order."""

    def __init__(self, delay):
        self.delay = delay
        self.targets = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,),
                                       daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("log server did not start")

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.targets.append(head.split(b" ", 2)[1].decode())
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
                             b"ok\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError,
                asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def close(self):
        def stop():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join(10)


def shard_process(tmp, k, n):
    """The pid of the uvfetch running shard k/n in directory tmp, or None."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            cwd = os.readlink("/proc/%s/cwd" % pid)
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"uvfetch" and \
                b"%d/%d" % (k, n) in argv and cwd == tmp:
            return int(pid)
    return None


def lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


class Parallel(unittest.TestCase):
    def setUp(self):
        need_parallel()
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="uvf-par-"))
        self.env = S.path_env(self.tmp)
        self.env["HOME"] = self.tmp
        comment, self.cmd = S.recipe("GNU parallel")
        self.assertIn("--shard {}/%d " % SHARDS, self.cmd)
        self.assertIn("$(seq 0 %d)" % (SHARDS - 1), self.cmd)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def recipe(self, timeout=TIMEOUT):
        return S.bash(self.cmd, self.tmp, self.env, timeout)

    def test_recipe_covers_input_once_and_merges(self):
        with S.Nginx(os.path.join(self.tmp, "n")) as nginx:
            urls = nginx.urls(20000)
            S.write_urls(os.path.join(self.tmp, "urls.txt"), urls)
            start = time.monotonic()
            p = self.recipe()
            took = time.monotonic() - start
        self.assertEqual(p.returncode, 0, p.stderr)
        S.check_parts(self, self.tmp, urls, SHARDS, size=1024)
        tsv = []
        for k in range(SHARDS):
            tsv += S.tsv_urls(os.path.join(self.tmp, "part-%d.tsv" % k))
        self.assertEqual(sorted(tsv), sorted(urls))
        S.check_merge(self, self.tmp, self.env, urls)
        print("parallel: %d URLs in %d shards, %.1f s" %
              (len(urls), SHARDS, took))

    def test_sigkill_one_shard_then_resume(self):
        victim = 3
        server = LogServer(delay=0.2)
        self.addCleanup(server.close)
        base = "http://127.0.0.1:%d" % server.port
        urls = ["%s/u%d" % (base, i) for i in range(4000)]
        S.write_urls(os.path.join(self.tmp, "urls.txt"), urls)
        mine = [u for u in urls if S.shard_of(u, SHARDS) == victim]
        journal = os.path.join(self.tmp, "part-%d.jsonl" % victim)

        # Run 1: kill the victim's uvfetch once its journal holds a quarter
        # of its shard; parallel carries on with the others.
        run1 = subprocess.Popen(["bash", "-c", self.cmd], cwd=self.tmp,
                                env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        killed_at = None
        deadline = time.monotonic() + TIMEOUT
        try:
            while time.monotonic() < deadline and run1.poll() is None:
                if lines(journal) >= len(mine) // 4:
                    pid = shard_process(self.tmp, victim, SHARDS)
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                        killed_at = lines(journal)
                        break
                time.sleep(0.005)
            out, err = run1.communicate(timeout=TIMEOUT)
        finally:
            if run1.poll() is None:
                run1.kill()
                run1.wait()
        self.assertIsNotNone(killed_at, "shard %d was never caught running"
                             % victim)
        # parallel's status is the number of jobs that failed.
        self.assertEqual(run1.returncode, 1, err)
        self.assertLess(killed_at, len(mine))
        # What the kill left: complete records (and perhaps a torn line).
        with open(journal, "rb") as f:
            data = f.read()
        done = {S.json.loads(line)["url"]
                for line in data[:data.rfind(b"\n") + 1].splitlines()}
        self.assertLess(len(done), len(mine))
        run1_asked = list(server.targets)
        del server.targets[:]

        # Run 2: the same line.
        p = self.recipe()
        self.assertEqual(p.returncode, 0, p.stderr)
        S.check_parts(self, self.tmp, urls, SHARDS, size=3)
        asked = [base + t for t in server.targets]
        self.assertEqual(len(asked), len(set(asked)), "asked twice in run 2")
        self.assertEqual(sorted(asked), sorted(set(mine) - done),
                         "run 2 must ask exactly the victim's missing URLs")
        # The victim's TSV part holds only run 2's records (README).
        self.assertEqual(sorted(S.tsv_urls(os.path.join(
            self.tmp, "part-%d.tsv" % victim))), sorted(asked))
        # Across both runs every URL was asked for, and only those in flight
        # at the kill (asked, with no record) twice.
        first = [base + t for t in run1_asked]
        self.assertEqual(len(first), len(set(first)))
        self.assertEqual(set(first) | set(asked), set(urls))
        twice = set(first) & set(asked)
        self.assertFalse(twice & done)
        S.check_merge(self, self.tmp, self.env, urls)
        print("parallel resume: %d URLs in %d shards; shard %d (%d URLs) "
              "killed with %d records in its journal; run 2 fetched %d, "
              "%d of them in flight at the kill" %
              (len(urls), SHARDS, victim, len(mine), len(done), len(asked),
               len(twice)))


if __name__ == "__main__":
    sys.exit(S.main(__name__))
