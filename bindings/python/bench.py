#!/usr/bin/env python3
"""The seed's loop against uvfetch's, inside Python, on loopback nginx.

    python3 bindings/python/bench.py [--urls N] [--base URL] [-j J ...]

Starts a throwaway nginx with tests/nginx.sh (or uses --base, a server with
/f0 .. /f999 as nginx.sh serves them), then fetches the same N URLs (1 KiB
files over keep-alive HTTP/1.1) with each client and prints a Markdown table:
wall seconds, URLs per second, and CPU seconds (user + system, of this
process and its children) per client. Clients:

  threadpool+requests  ThreadPool(J).imap_unordered(sitesize, urls), a
                       requests.Session per thread: the seed
  aiohttp+semaphore    one ClientSession, J tasks' worth of semaphore
  uvfetch.imap_unordered, uvfetch.fetch, uvfetch.afetch
  uvfetch command      the C command, -j J, URLs on stdin (no Python)

Peers that cannot be imported are skipped. Not run by the tests.
"""

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.pool import ThreadPool

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import uvfetch  # noqa: E402


def cpu():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run_threadpool(urls, j):
    import requests
    local = threading.local()

    def sitesize(url):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        try:
            return url, len(s.get(url).content)
        except Exception:
            return url, None
    with ThreadPool(j) as pool:
        return sum(1 for _, size in pool.imap_unordered(sitesize, urls)
                   if size is not None)


def run_aiohttp(urls, j):
    import aiohttp

    async def main():
        sem = asyncio.Semaphore(j)
        conn = aiohttp.TCPConnector(limit=j)
        ok = 0
        async with aiohttp.ClientSession(connector=conn) as s:
            async def one(u):
                nonlocal ok
                async with sem:
                    async with s.get(u) as r:
                        await r.read()
                        ok += 1
            # Tasks made as slots free up, not all at once.
            pending = set()
            for u in urls:
                if len(pending) >= 2 * j:
                    done, pending = await asyncio.wait(
                        pending, return_when=asyncio.FIRST_COMPLETED)
                pending.add(asyncio.ensure_future(one(u)))
            if pending:
                await asyncio.wait(pending)
        return ok
    return asyncio.run(main())


def run_imap(urls, j):
    return sum(1 for _, size in uvfetch.imap_unordered(urls, j)
               if size is not None)


def run_fetch(urls, j):
    return sum(1 for r in uvfetch.fetch(urls, j) if r.ok)


def run_afetch(urls, j):
    async def main():
        n = 0
        async for r in uvfetch.afetch(urls, j):
            n += r.ok
        return n
    return asyncio.run(main())


def run_command(urls, j):
    exe = os.environ.get("UVFETCH", os.path.join(TOP, "build", "uvfetch"))
    p = subprocess.run([exe, "-j", str(j)], input="\n".join(urls).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return sum(1 for line in p.stdout.splitlines()
               if line.split(b"\t")[1:2] != [b"-"])


CLIENTS = [
    ("threadpool+requests", run_threadpool, "requests"),
    ("aiohttp+semaphore", run_aiohttp, "aiohttp"),
    ("uvfetch.imap_unordered", run_imap, None),
    ("uvfetch.fetch", run_fetch, None),
    ("uvfetch.afetch", run_afetch, None),
    ("uvfetch command", run_command, None),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", type=int, default=20000)
    ap.add_argument("--seed-urls", type=int, default=5000,
                    help="URLs for the slow peers (requests, aiohttp)")
    ap.add_argument("--base")
    ap.add_argument("-j", type=int, action="append")
    ap.add_argument("--only", action="append")
    a = ap.parse_args()
    js = a.j or [10, 50]
    tmp = None
    base = a.base
    if base is None:
        tmp = tempfile.mkdtemp(prefix="uvfetch-pybench-")
        subprocess.run([os.path.join(TOP, "tests", "nginx.sh"), "start",
                        tmp], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "http_port")) as f:
            base = "http://127.0.0.1:%s" % f.read().strip()
    try:
        print("| client | -j | URLs | s | URLs/s | CPU s |")
        print("|---|---:|---:|---:|---:|---:|")
        for j in js:
            for name, fn, module in CLIENTS:
                if a.only and name not in a.only:
                    continue
                if module is not None:
                    try:
                        __import__(module)
                    except ImportError:
                        continue
                n = a.seed_urls if module else a.urls
                urls = ["%s/f%d" % (base, i % 1000) for i in range(n)]
                c0, t0 = cpu(), time.perf_counter()
                ok = fn(urls, j)
                dt, dc = time.perf_counter() - t0, cpu() - c0
                note = "" if ok == n else " (%d failed)" % (n - ok)
                print("| %s%s | %d | %d | %.2f | %.0f | %.2f |"
                      % (name, note, j, n, dt, n / dt, dc), flush=True)
    finally:
        if tmp is not None:
            subprocess.run([os.path.join(TOP, "tests", "nginx.sh"), "stop",
                            tmp], stdout=subprocess.DEVNULL)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
