#!/usr/bin/env python3
"""Tests for the Python package bindings/python/uvfetch (stdlib only).

Environment:
  UVFETCH_LIBRARY      libuvfetch.so to test (default: the package's own
                       search, which ends in the source tree's build/)
  UVFETCH_TEST_SERVER  tests/server.py (default: the source tree's)
  CC                   the C compiler for the struct layout check (cc)
  UVFETCH_PY_STREAM_URLS  URLs for the streaming test (100000; more than
                       10000), e.g. 1000000 for the issue's million

Every test talks only to the loopback server it starts. The last line
printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""

import asyncio
import contextlib
import ctypes
import gc
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))

import uvfetch  # noqa: E402
from uvfetch import _lib  # noqa: E402

SERVER = os.environ.get("UVFETCH_TEST_SERVER",
                        os.path.join(TOP, "tests", "server.py"))
PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789\n"

BASE = None
_server = None


def setUpModule():
    global BASE, _server
    # stdin is a pipe: the server exits when we do, even if we crash.
    _server = subprocess.Popen([sys.executable, SERVER],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = _server.stdout.readline()
    if not line.strip().isdigit():
        raise RuntimeError("server.py did not print its port: %r" % line)
    BASE = "http://127.0.0.1:%d" % int(line)


def tearDownModule():
    if _server is not None:
        _server.terminate()
        _server.wait(timeout=10)
        _server.stdin.close()
        _server.stdout.close()


def url(path):
    return BASE + path


def server_stats(reset=False):
    path = "/stats/reset" if reset else "/stats"
    with urllib.request.urlopen(url(path), timeout=10) as r:
        return json.loads(r.read())


def wait_idle(timeout=10.0):
    """The server's count of requests in progress, once it drops to 0 (or
    the timeout passes): a closed fetcher leaves no connection behind."""
    deadline = time.monotonic() + timeout
    while True:
        active = server_stats()["active"]
        if active == 0 or time.monotonic() > deadline:
            return active
        time.sleep(0.05)


def closed_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # never listened: connections to it are refused
    return port


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pattern(n):
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


class TestLayout(unittest.TestCase):
    """The ctypes structs against the header, by a C compiler."""

    def test_struct_sizes_and_offsets_match_the_header(self):
        cc = os.environ.get("CC", "cc")
        if shutil.which(shlex.split(cc)[0]) is None:
            self.skipTest("no C compiler (%s)" % cc)
        try:
            uvflags = subprocess.run(
                ["pkg-config", "--cflags", "libuv"], check=True,
                stdout=subprocess.PIPE, text=True).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            uvflags = []
        with tempfile.TemporaryDirectory() as tmp:
            exe = os.path.join(tmp, "layout")
            subprocess.run(shlex.split(cc) + [
                "-I", os.path.join(TOP, "include")] + uvflags + [
                os.path.join(HERE, "layout.c"), "-o", exe], check=True)
            out = subprocess.run([exe], check=True, stdout=subprocess.PIPE,
                                 text=True).stdout
        mirrors = {"uvfetch_result_t": _lib.Result,
                   "uvfetch_options_t": _lib.Options,
                   "uvfetch_request_t": _lib.Request,
                   "uvfetch_stats_t": _lib.Stats}
        seen = {name: set() for name in mirrors}
        consts = {}
        for line in out.splitlines():
            parts = line.split()
            if parts[0] == "const":
                consts[parts[1]] = int(parts[2])
                continue
            st = mirrors[parts[0]]
            hint = "%s: include/uvfetch.h changed; update uvfetch/_lib.py " \
                "and tests/layout.c" % line
            if parts[1] == "sizeof":
                self.assertEqual(ctypes.sizeof(st), int(parts[2]), hint)
            else:
                self.assertEqual(getattr(st, parts[1]).offset,
                                 int(parts[3]), hint)
                seen[parts[0]].add(parts[1])
        for name, st in mirrors.items():
            # Every C field printed is mirrored, and nothing more.
            self.assertEqual(seen[name], {f for f, _ in st._fields_}, name)
        from uvfetch import _core
        self.assertEqual(consts["UVFETCH_EURL"], _core.EURL)
        self.assertEqual(consts["UVFETCH_ECLOSING"], _core.ECLOSING)
        self.assertEqual(consts["UVFETCH_ENOTFOUND"], _core.ENOTFOUND)
        self.assertEqual(consts["UVFETCH_ADD_REPORT_INVALID"],
                         _lib.ADD_REPORT_INVALID)
        self.assertEqual(consts["UV_RUN_DEFAULT"], _lib.UV_RUN_DEFAULT)
        self.assertEqual(consts["UV_RUN_NOWAIT"], _lib.UV_RUN_NOWAIT)

    def test_every_header_field_is_mirrored_in_order(self):
        # A field added into padding leaves sizeof alone: read the names.
        with open(os.path.join(TOP, "include", "uvfetch.h")) as f:
            header = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
        mirrors = {"uvfetch_result": _lib.Result,
                   "uvfetch_options": _lib.Options,
                   "uvfetch_request": _lib.Request,
                   "uvfetch_stats": _lib.Stats}
        for name, st in mirrors.items():
            m = re.search(r"typedef struct %s_s \{(.*?)\} %s_t;"
                          % (name, name), header, re.S)
            self.assertIsNotNone(m, name)
            fields = [re.search(r"(\w+)\s*$", decl).group(1)
                      for decl in m.group(1).split(";") if decl.strip()]
            self.assertEqual([f for f, _ in st._fields_], fields,
                             "%s_t: include/uvfetch.h changed; update "
                             "uvfetch/_lib.py and tests/layout.c" % name)

    def test_defaults_come_from_the_library(self):
        opt = _lib.new_struct(_lib.Options)
        _lib.load().uvfetch_options_init(ctypes.byref(opt))
        self.assertEqual((opt.max_concurrent, opt.follow_redirects,
                          opt.max_redirects, opt.compressed, opt.verify_tls,
                          opt.retry_delay_ms, opt.dns_cache_ms,
                          opt.idle_timeout_ms),
                         (50, 1, 10, 1, 1, 1000, 60000, 60000))


class TestLoading(unittest.TestCase):
    def test_version(self):
        self.assertRegex(uvfetch.version(), r"^\d+\.\d+\.\d+$")
        self.assertRegex(uvfetch.curl_version(), r"^\d+\.\d+")
        self.assertTrue(os.path.exists(uvfetch.library_path()) or
                        "/" not in uvfetch.library_path())

    def test_missing_library_is_one_clear_error(self):
        env = dict(os.environ, UVFETCH_LIBRARY="/nonexistent/libuvfetch.so",
                   PYTHONPATH=os.path.join(HERE, ".."))
        p = subprocess.run(
            [sys.executable, "-c", "import uvfetch; uvfetch.version()"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LibraryNotFound", p.stderr)
        self.assertIn("/nonexistent/libuvfetch.so (no such file)", p.stderr)
        self.assertIn("ninja -C build", p.stderr)

    def test_pip_install(self):
        # From a copy, so the build leaves nothing in the source tree;
        # offline, with an interpreter's own setuptools and wheel: this
        # one's, or else Debian's (python3-pip, -setuptools, -wheel, which
        # scripts/setup installs), told to use the standard library's
        # distutils as Debian's python3-distutils is on the path too.
        env = dict(os.environ, SETUPTOOLS_USE_DISTUTILS="stdlib")
        python = None
        for cand in (sys.executable, "/usr/bin/python3"):
            p = subprocess.run([cand, "-c", "import pip, setuptools, wheel"],
                               env=env, stderr=subprocess.DEVNULL)
            if p.returncode == 0:
                python = cand
                break
        if python is None:
            self.skipTest("no python3 here has pip, setuptools and wheel")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "src")
            shutil.copytree(os.path.join(HERE, ".."), src,
                            ignore=shutil.ignore_patterns(
                                "__pycache__", "build", "*.egg-info"))
            target = os.path.join(tmp, "site")
            subprocess.run(
                [python, "-m", "pip", "install", "--quiet",
                 "--no-build-isolation", "--no-index", "--no-deps",
                 "--disable-pip-version-check", "--target", target, src],
                env=env, check=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=240)
            env["PYTHONPATH"] = target
            p = subprocess.run(
                [python, "-c",
                 "import uvfetch; print(uvfetch.__file__); "
                 "print(uvfetch.version())"],
                env=env, cwd=tmp, stdout=subprocess.PIPE, text=True,
                check=True, timeout=60)
            where, ver = p.stdout.split()
            self.assertTrue(where.startswith(target), where)
            self.assertEqual(ver, uvfetch.version())

    def test_meson_install(self):
        # The build's `meson install`, into a staging directory: the
        # package lands in the interpreter's purelib under the prefix and,
        # with nothing but pkg-config to point at it (the staging
        # directory as its sysroot), finds the library installed beside it.
        build = os.environ.get("UVFETCH_BUILD_DIR")
        meson = shutil.which("meson")
        if not build or meson is None:
            self.skipTest("needs meson and UVFETCH_BUILD_DIR (set by the "
                          "meson test suite)")
        # meson test points LD_LIBRARY_PATH at the build: not for this.
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("LD_LIBRARY_PATH", "UVFETCH_LIBRARY")}
        p = subprocess.run(
            [sys.executable, "-c", "import ctypes.util; "
             "print(ctypes.util.find_library('uvfetch') or '')"],
            env=clean, stdout=subprocess.PIPE, text=True, timeout=60)
        if p.stdout.strip():
            self.skipTest("a libuvfetch is installed on this machine (%s); "
                          "it would be found before the staged one"
                          % p.stdout.strip())
        with tempfile.TemporaryDirectory() as dest:
            subprocess.run([meson, "install", "-C", build, "--destdir", dest,
                            "--no-rebuild", "--quiet"], check=True,
                           stdout=subprocess.DEVNULL, timeout=240)
            found = {}
            for root, _, files in os.walk(dest):
                if root.endswith(os.sep + "uvfetch") and "_core.py" in files:
                    found["package"] = os.path.dirname(root)
                if "uvfetch.pc" in files:
                    found["pc"] = root
            self.assertEqual(set(found), {"package", "pc"}, found)
            self.assertRegex(found["package"],
                             r"/lib/python3\.\d+/(site|dist)-packages$")
            env = dict(clean, PYTHONPATH=found["package"],
                       PKG_CONFIG_PATH=found["pc"],
                       PKG_CONFIG_SYSROOT_DIR=dest)
            p = subprocess.run(
                [sys.executable, "-c",
                 "import uvfetch; print(uvfetch.__file__); "
                 "print(uvfetch.library_path()); print(uvfetch.version())"],
                env=env, cwd=dest, stdout=subprocess.PIPE, text=True,
                check=True, timeout=60)
            where, lib, ver = p.stdout.split()
            self.assertTrue(where.startswith(found["package"]), where)
            self.assertTrue(lib.startswith(dest), lib)
            self.assertEqual(ver, uvfetch.version())

    def test_unknown_option_and_bad_values(self):
        with self.assertRaisesRegex(TypeError, "unknown option 'timeot'"):
            uvfetch.fetch([], timeot=1)
        with self.assertRaises(ValueError):
            uvfetch.fetch([], timeout=-1)
        with self.assertRaises(ValueError):
            uvfetch.fetch([], 0)
        with self.assertRaises(uvfetch.UvfetchError) as cm:
            uvfetch.fetch([], headers={"X-A": "b\r\nX-Evil: 1"})
        self.assertEqual(cm.exception.name, "UVFETCH_EINVAL")


class TestIterators(unittest.TestCase):
    def test_imap_unordered_sizes_in_completion_order(self):
        urls = [url("/size/1000?delay=600"), url("/size/7?delay=300"),
                url("/size/0"), url("/status/404"),
                "http://127.0.0.1:%d/" % closed_port(), "not a url"]
        got = list(uvfetch.imap_unordered(urls, 10))
        self.assertEqual(sorted(got, key=lambda p: urls.index(p[0])),
                         [(urls[0], 1000), (urls[1], 7), (urls[2], 0),
                          (urls[3], 11), (urls[4], None), (urls[5], None)])
        # The slow ones finish last, the slowest after the other.
        self.assertEqual([u for u, _ in got[-2:]], [urls[1], urls[0]])

    def test_imap_and_map_in_input_order(self):
        urls = [url("/size/%d?delay=%d" % (n, 50 * (6 - n)))
                for n in range(6)]
        self.assertEqual(list(uvfetch.imap(urls, 3)),
                         [(u, n) for n, u in enumerate(urls)])
        self.assertEqual(uvfetch.map(urls, 2),
                         [(u, n) for n, u in enumerate(urls)])
        self.assertEqual(uvfetch.map([]), [])

    def test_concurrency_is_the_number_in_flight(self):
        server_stats(reset=True)
        urls = [url("/size/10?delay=150&n=%d" % i) for i in range(24)]
        t0 = time.monotonic()
        self.assertEqual(len(uvfetch.map(urls, 8)), 24)
        took = time.monotonic() - t0
        st = server_stats()
        self.assertEqual(st["requests"], 24)
        self.assertEqual(st["peak"], 8)
        self.assertGreaterEqual(took, 0.45)  # three rounds of 150 ms

    def test_generator_pulled_only_as_slots_free_up(self):
        pulled = 0
        yielded = 0
        worst = 0

        def gen():
            nonlocal pulled
            for i in range(300):
                pulled += 1
                yield url("/size/%d" % (i % 50))

        for u, size in uvfetch.imap_unordered(gen(), 5):
            yielded += 1
            worst = max(worst, pulled - yielded)
            self.assertEqual(size, int(u.rsplit("/", 1)[1]))
        self.assertEqual((pulled, yielded), (300, 300))
        # At most two slots' worth ahead: 5 running and 5 queued.
        self.assertLessEqual(worst, 10)

    def test_100000_urls_from_a_generator_in_flat_memory(self):
        # Real transfers: one in a hundred to the server, the rest to a
        # port that refuses at once (fast enough for 100,000 on a loaded
        # machine). Memory must not grow with the number of URLs.
        refused = "http://127.0.0.1:%d/%%d" % closed_port()
        n = int(os.environ.get("UVFETCH_PY_STREAM_URLS", "100000"))

        def gen():
            for i in range(n):
                if i % 100 == 0:
                    yield url("/size/%d" % (i % 997))
                else:
                    yield refused % i

        count = ok = total = 0
        rss_at = {}
        for u, size in uvfetch.imap_unordered(gen(), 50):
            count += 1
            if size is not None:
                ok += 1
                total += size
            if count in (10000, n):
                gc.collect()
                rss_at[count] = rss_kb()
        self.assertEqual(count, n)
        self.assertEqual(ok, len(range(0, n, 100)))
        self.assertEqual(total, sum(i % 997 for i in range(0, n, 100)))
        growth = rss_at[n] - rss_at[10000]
        self.assertLess(growth, 4096, "RSS grew %d KiB over %d URLs"
                        % (growth, n - 10000))


class TestFetch(unittest.TestCase):
    def test_result_fields(self):
        port = closed_port()
        urls = [url("/size/1234"), url("/status/404"), url("/redirect/3"),
                url("/size/5000?gzip=1"), "http://127.0.0.1:%d/" % port,
                "nope", "ftp://127.0.0.1/", url("/loop")]
        rs = list(uvfetch.fetch(urls, ordered=True))
        self.assertEqual([r.url for r in rs], urls)
        self.assertEqual([r.ordinal for r in rs], list(range(len(urls))))
        self.assertEqual([r.ok for r in rs],
                         [True, True, True, True, False, False, False,
                          False])
        self.assertEqual([r.error for r in rs],
                         [None, None, None, None, "UVFETCH_ECONNECT",
                          "UVFETCH_EURL", "UVFETCH_ESCHEME",
                          "UVFETCH_EREDIRECTS"])
        self.assertEqual([r.http_code for r in rs],
                         [200, 404, 200, 200, 0, 0, 0, 302])
        self.assertEqual([r.bytes for r in rs],
                         [1234, 11, 10, 5000, 0, 0, 0, 0])
        self.assertEqual([r.attempts for r in rs], [1, 1, 1, 1, 1, 0, 0, 1])
        a, _, redir, gz, refused, bad, _, loop = rs
        self.assertEqual(a.message, "")
        self.assertEqual(a.http_version, 11)
        self.assertIsNone(a.body)
        self.assertEqual(redir.redirects, 4)
        self.assertEqual(redir.effective_url, url("/size/10"))
        self.assertEqual(a.effective_url, a.url)
        self.assertLess(gz.wire_bytes, 200)
        self.assertGreater(gz.wire_bytes, 0)
        self.assertIn("port %d" % port, refused.message)
        self.assertEqual(refused.http_version, 0)
        self.assertEqual(loop.redirects, 10)
        self.assertGreater(a.total_time, 0)
        self.assertGreaterEqual(a.total_time, a.ttfb)

    def test_bodies_bounded_by_max_filesize(self):
        urls = [url("/size/3000"), url("/size/3000?gzip=1"),
                url("/size/4097"), url("/status/500")]
        rs = list(uvfetch.fetch(urls, 2, ordered=True, body=True,
                                max_filesize=4096))
        self.assertEqual(rs[0].body, pattern(3000))
        self.assertEqual(rs[1].body, pattern(3000))
        self.assertEqual((rs[2].ok, rs[2].error, rs[2].body),
                         (False, "UVFETCH_ETOOLARGE", None))
        self.assertEqual((rs[3].http_code, rs[3].body),
                         (500, b"status 500\n"))

    def test_options_reach_the_library(self):
        rs = list(uvfetch.fetch(
            [url("/headers"), url("/redirect/1"), url("/fault/hang"),
             url("/flaky/py-opt?fail=2"), url("/size/10?delay=300")],
            ordered=True, body=True, headers={"X-Py": "yes"},
            user_agent="pytest-ish/1", follow_redirects=False, timeout=1.0,
            retries=2, retry_delay=0.05))
        h, redir, hang, flaky, slow = rs
        self.assertIn(b"X-Py: yes", h.body)
        self.assertIn(b"User-Agent: pytest-ish/1", h.body)
        self.assertEqual((redir.http_code, redir.redirects), (302, 0))
        self.assertEqual(hang.error, "UVFETCH_ETIMEDOUT")
        self.assertGreaterEqual(hang.total_time, 0.9)
        self.assertEqual((flaky.ok, flaky.http_code, flaky.attempts),
                         (True, 200, 3))
        self.assertTrue(slow.ok)
        # resolve and a name only it knows.
        rs = list(uvfetch.fetch(
            ["http://py-only.invalid:%s/size/3" % BASE.rsplit(":", 1)[1]],
            resolve=["py-only.invalid:%s:127.0.0.1"
                     % BASE.rsplit(":", 1)[1]], connect_timeout=5))
        self.assertEqual((rs[0].ok, rs[0].bytes), (True, 3))

    def test_each_server_fault_gives_exactly_one_result(self):
        faults = {
            "reset-before": "UVFETCH_ENETWORK",
            "reset-mid?size=1000&sent=100": "UVFETCH_ENETWORK",
            "short?size=1000&sent=100": "UVFETCH_ENETWORK",
            "bad-status": "UVFETCH_EPROTOCOL",
            "bad-chunk": "UVFETCH_EPROTOCOL",
            "hang": "UVFETCH_ETIMEDOUT",
            "drip?size=100": "UVFETCH_ETIMEDOUT",
            "bad-gzip?size=100": "UVFETCH_EDECODE",
            "big-headers?kb=200": "UVFETCH_ENOMEM",
            "many-headers": "UVFETCH_EPROTOCOL",
        }
        urls = [url("/fault/" + k) for k in faults] * 2
        rs = list(uvfetch.fetch(urls, 6, timeout=1.5))
        self.assertEqual(sorted(r.url for r in rs), sorted(urls))
        for r in rs:
            kind = r.url.split("/fault/", 1)[1]
            self.assertEqual((r.ok, r.error), (False, faults[kind]), r)
        self.assertEqual(wait_idle(), 0)

    def test_nul_and_non_string_urls(self):
        rs = list(uvfetch.fetch(["a\0b", url("/size/1")], ordered=True))
        self.assertEqual([(r.url, r.error) for r in rs],
                         [("a\0b", "UVFETCH_EURL"), (url("/size/1"), None)])
        rs = list(uvfetch.fetch([url("/size/2").encode()]))
        self.assertEqual((rs[0].url, rs[0].bytes),
                         (url("/size/2").encode(), 2))
        with self.assertRaises(TypeError):
            list(uvfetch.fetch([42]))


class TestStopping(unittest.TestCase):
    """break, exceptions, KeyboardInterrupt and garbage collection close
    the fetcher: no connection stays open, nothing leaks."""

    def hanging(self, n):
        return [url("/fault/hang?n=%d" % i) for i in range(n)]

    def test_break_closes_the_fetcher(self):
        urls = [url("/size/1")] + self.hanging(10)
        it = uvfetch.imap_unordered(urls, 11)
        for u, size in it:
            self.assertEqual((u, size), (url("/size/1"), 1))
            break
        f = it.gi_frame.f_locals["f"]
        self.assertFalse(f.closed)
        self.assertEqual(f.stats().running, 10)
        it.close()
        self.assertTrue(f.closed)
        st = f.stats()
        self.assertEqual((st.added, st.done, st.failed, st.running),
                         (11, 11, 10, 0))
        self.assertEqual(wait_idle(), 0)

    def test_collecting_an_unfinished_iterator_closes_it(self):
        def consume():
            for _ in uvfetch.fetch([url("/size/1")] + self.hanging(5)):
                return
        consume()
        self.assertEqual(wait_idle(), 0)
        # Never started: nothing was fetched, the fetcher goes with it.
        it = uvfetch.fetch(self.hanging(3))
        del it
        gc.collect()

    def test_exception_in_consumer(self):
        with self.assertRaises(ZeroDivisionError):
            for r in uvfetch.fetch([url("/size/1")] + self.hanging(5)):
                1 / 0
        self.assertEqual(wait_idle(), 0)

    def test_exception_inside_a_callback_is_raised_from_the_iterator(self):
        # A Ctrl-C can land in a callback too: KeyboardInterrupt is kept
        # and raised from the iterator as any other exception.
        for exc in (LookupError, KeyboardInterrupt):
            it = uvfetch.fetch([url("/size/1"), url("/fault/hang?cb=1")], 2)
            f = it.gi_frame.f_locals["f"]

            def boom(r, entry):
                raise exc("from the completion callback")
            f._convert = boom
            with self.assertRaisesRegex(exc, "completion callback"):
                next(it)
            self.assertTrue(f.closed)
            self.assertEqual(f.stats().done, 2)
        self.assertEqual(wait_idle(), 0)

    def test_keyboard_interrupt_mid_run(self):
        # SIGINT while the iterator waits in poll(): a real Ctrl-C.
        old = signal.signal(signal.SIGALRM,
                            lambda *a: os.kill(os.getpid(), signal.SIGINT))
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.4)
            got = []
            t0 = time.monotonic()
            with self.assertRaises(KeyboardInterrupt):
                for pair in uvfetch.imap_unordered(
                        [url("/size/3")] + self.hanging(20), 30):
                    got.append(pair)
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(got, [(url("/size/3"), 3)])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        self.assertEqual(wait_idle(), 0)

    def test_no_leak_over_many_broken_runs(self):
        urls = [url("/size/100")] * 3 + self.hanging(4)

        def one_run():
            for _ in uvfetch.fetch(urls, 7, body=True):
                break

        for _ in range(5):
            one_run()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(40):
                one_run()
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        self.assertLess(after - before, 64 * 1024)
        rss0 = rss_kb()
        for _ in range(40):
            one_run()
        self.assertLess(rss_kb() - rss0, 2048)
        self.assertEqual(wait_idle(), 0)


class TestFetcher(unittest.TestCase):
    def test_crawl_adds_as_it_learns(self):
        # Each page "links" to two smaller ones, down to size 0.
        seen = []
        with uvfetch.Fetcher(4) as f:
            f.add(url("/size/8"), data=0)
            for r in f:
                self.assertTrue(r.ok, r)
                seen.append((r.bytes, r.data))
                n = r.bytes
                if n > 0:
                    f.add(url("/size/%d" % (n // 2)), data=r.data + 1)
                    f.add(url("/size/%d" % (n // 2)), data=r.data + 1)
            st = f.stats()
        self.assertEqual(sorted(seen), sorted(
            [(8, 0)] + [(4, 1)] * 2 + [(2, 2)] * 4 + [(1, 3)] * 8 +
            [(0, 4)] * 16))
        self.assertEqual((st.added, st.done, st.failed), (31, 31, 0))
        self.assertTrue(f.closed)

    def test_per_url_headers_and_timeout(self):
        with uvfetch.Fetcher(3, body=False, headers={"X-All": "1"}) as f:
            f.add(url("/headers"), data="h", headers=["X-One: 2"])
            f.add(url("/fault/hang?t=1"), data="t", timeout=0.5)
            f.add(url("/size/3"), data="plain")
            with self.assertRaises(uvfetch.UvfetchError) as cm:
                f.add(url("/size/1"), headers={"X-Bad": "a\nb"})
            self.assertEqual(cm.exception.name, "UVFETCH_EINVAL")
            rs = {r.data: r for r in f}
        self.assertEqual(sorted(rs), ["h", "plain", "t"])
        self.assertEqual(rs["h"].http_code, 200)
        self.assertEqual(rs["t"].error, "UVFETCH_ETIMEDOUT")
        self.assertLess(rs["t"].total_time, 5)
        self.assertEqual(rs["plain"].bytes, 3)
        # The headers themselves, through a body.
        with uvfetch.Fetcher(1, body=True, headers={"X-All": "1"}) as f:
            f.add(url("/headers"), headers={"X-One": "2"})
            (r,) = list(f)
        self.assertIn(b"X-All: 1", r.body)
        self.assertIn(b"X-One: 2", r.body)

    def test_adaptive_limit(self):
        with uvfetch.Fetcher(40, adaptive=True) as f:
            self.assertEqual(f.limit(), 8)  # where the library starts it
            for i in range(30):
                f.add(url("/size/%d" % i))
            sizes = sorted(r.bytes for r in f)
            self.assertTrue(1 <= f.limit() <= 40)
        self.assertEqual(sizes, list(range(30)))
        with uvfetch.Fetcher(12) as f:
            self.assertEqual(f.limit(), 12)

    def test_add_refused_cancel_close(self):
        f = uvfetch.Fetcher(2)
        with self.assertRaises(uvfetch.UvfetchError) as cm:
            f.add("no scheme here")
        self.assertEqual(cm.exception.name, "UVFETCH_EURL")
        a = f.add(url("/fault/hang?c=a"))
        b = f.add(url("/size/5"))
        c = f.add(url("/fault/hang?c=c"))
        self.assertEqual((a, b, c), (0, 1, 2))
        self.assertTrue(f.cancel(c))  # still queued
        self.assertFalse(f.cancel(c))
        self.assertFalse(f.cancel(99))
        r1 = f.next_result()
        self.assertEqual((r1.ordinal, r1.error, r1.attempts),
                         (2, "UVFETCH_ECANCELED", 0))
        r2 = f.next_result()
        self.assertEqual((r2.ordinal, r2.bytes), (1, 5))
        self.assertEqual(f.pending, 1)
        self.assertEqual(f.stats().running, 1)
        f.close()
        f.close()
        (r3,) = list(f)
        self.assertEqual((r3.ordinal, r3.error, r3.attempts),
                         (0, "UVFETCH_ECANCELED", 1))
        self.assertEqual(f.stats().done, 3)
        with self.assertRaises(uvfetch.UvfetchError) as cm:
            f.add(url("/size/1"))
        self.assertEqual(cm.exception.name, "UVFETCH_ECLOSING")
        self.assertEqual(wait_idle(), 0)


class TestAsyncio(unittest.TestCase):
    def test_afetch_beside_a_ticking_task(self):
        urls = [url("/size/%d?delay=200" % i) for i in range(20)] + ["bad"]

        async def main():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            t = asyncio.create_task(ticker())
            t0 = time.monotonic()
            rs = [r async for r in uvfetch.afetch(urls, 5, ordered=True)]
            took = time.monotonic() - t0
            t.cancel()
            return rs, took, ticks

        rs, took, ticks = asyncio.run(main())
        self.assertEqual([r.url for r in rs], urls)
        self.assertEqual([r.bytes for r in rs], list(range(20)) + [0])
        self.assertEqual(rs[-1].error, "UVFETCH_EURL")
        self.assertGreaterEqual(took, 0.8)  # four rounds of 200 ms
        # The other task ran all along: a tick each 10 ms or so.
        self.assertGreater(ticks, took * 100 / 4)

    def test_afetch_break_and_cancel_close_it(self):
        async def main():
            agen = uvfetch.afetch([url("/size/4")] + [
                url("/fault/hang?a=%d" % i) for i in range(5)])
            async with contextlib.aclosing(agen):
                async for r in agen:
                    self.assertEqual(r.bytes, 4)
                    break

            async def consume():
                async for r in uvfetch.afetch(
                        [url("/fault/hang?b=%d" % i) for i in range(5)]):
                    pass
            task = asyncio.create_task(consume())
            await asyncio.sleep(0.3)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        self.assertEqual(wait_idle(), 0)

    def test_fetcher_async_for_crawls(self):
        async def main():
            seen = []
            with uvfetch.Fetcher(3) as f:
                f.add(url("/size/4"), data=0)
                async for r in f:
                    seen.append((r.bytes, r.data))
                    if r.bytes > 1:
                        for _ in range(2):
                            f.add(url("/size/%d" % (r.bytes // 2)),
                                  data=r.data + 1)
                return seen, f.stats()

        seen, st = asyncio.run(main())
        self.assertEqual(sorted(seen), [(1, 2)] * 4 + [(2, 1)] * 2 +
                         [(4, 0)])
        self.assertEqual((st.added, st.done), (7, 7))

    def test_afetch_many(self):
        async def main():
            n = 0
            total = 0
            async for r in uvfetch.afetch(
                    (url("/size/%d" % (i % 100)) for i in range(2000)), 20,
                    body=True):
                n += 1
                total += len(r.body)
                self.assertEqual(r.body, pattern(r.bytes))
            return n, total

        n, total = asyncio.run(main())
        self.assertEqual((n, total), (2000, 20 * sum(range(100))))


NOTEBOOK = os.path.join(HERE, "..", "examples", "sitesize.ipynb")


def run_notebook(path, after_cell=None):
    """Run a notebook's code cells in one namespace, as a kernel would:
    top-level await allowed, a cell's last expression "displayed". Returns
    [(cell id, printed text, displayed value)]. after_cell(id, namespace)
    runs after each cell (to swap in loopback URLs)."""
    import ast
    import io
    import inspect
    with open(path) as f:
        nb = json.load(f)
    ns = {"__name__": "__main__"}
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        tree = ast.parse(src)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        printed = io.StringIO()
        value = None
        with contextlib.redirect_stdout(printed):
            for node, mode in ((tree, "exec"), (last, "eval")):
                if node is None:
                    continue
                code = compile(node, cell["id"], mode, flags=flags)
                result = eval(code, ns)
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
                if mode == "eval":
                    value = result
        out.append((cell["id"], printed.getvalue(), value))
        if after_cell is not None:
            after_cell(cell["id"], ns)
    return out


class TestNotebook(unittest.TestCase):
    def test_the_seed_notebook_on_a_loopback_mirror(self):
        # The five sites' page sizes, served by the test server.
        sizes = [236862, 41273, 38115, 36389, 35102]
        mirror = [url("/size/%d?gzip=1" % n) for n in sizes]

        def swap(cell_id, ns):
            if cell_id == "sites":
                self.assertEqual(len(ns["sites"]), 5)
                ns["sites"] = mirror

        cells = {cid: (text, value)
                 for cid, text, value in run_notebook(NOTEBOOK, swap)}
        self.assertEqual(sorted(cells), ["afetch", "imap", "map", "sites"])
        printed = cells["imap"][0].splitlines()
        self.assertEqual(sorted(printed),
                         sorted("%s %d" % p for p in zip(mirror, sizes)))
        self.assertEqual(cells["map"][1], list(zip(mirror, sizes)))
        self.assertEqual(sorted(cells["afetch"][1]),
                         sorted((u, 200, n) for u, n in zip(mirror, sizes)))


class _Tally:
    """A pytest plugin: the last line is the tally scripts/test reads."""

    def __init__(self):
        self.passed = self.failed = 0

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and report.passed:
            self.passed += 1
        elif report.failed:
            self.failed += 1


def main(module=__name__):
    """Run the tests under pytest (Debian's python3-pytest) when this
    interpreter has it, else under unittest; either way the last line is
    the tally scripts/test reads."""
    try:
        import pytest
    except ImportError:
        pytest = None
    if pytest is not None:
        tally = _Tally()
        code = pytest.main([os.path.abspath(__file__), "-v", "-rs",
                            "-p", "no:cacheprovider"], plugins=[tally])
        print("%d passed, %d failed" % (tally.passed, tally.failed))
        return 0 if code in (0, 5) and tally.failed == 0 else 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[module])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = (len(result.failures) + len(result.errors) +
              len(result.unexpectedSuccesses))
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
