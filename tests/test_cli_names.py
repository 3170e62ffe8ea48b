#!/usr/bin/env python3
"""The uvfetch command over host names, as its users run it (stdlib only).

The README's first command, rebuilt on loopback: five https URLs over four
host names shaped like the seed's (github.test, two *.readthedocs.test
hosts, cusy.test), TLS from a root CA through an intermediate (--cacert
gets the root alone), HTTP/2 and gzip, from tests/nginx.sh's nginx. Then
runs over 200 distinct names, and names that do not resolve.

Names resolve through a real DNS server: tests/netns.sh makes a namespace
where every *.test name is 127.0.0.1 (dnsmasq, then tests/dnsserver.py) and
sets UVFETCH_TEST_DNS=1. Without it every test here skips, and says why.

Environment: as for test_cli.py.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

import test_cli as T
from test_cli import jsonl, run, tsv

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX_SH = os.path.join(HERE, "nginx.sh")

HAVE_DNS = os.environ.get("UVFETCH_TEST_DNS") == "1"
NO_DNS = ("needs UVFETCH_TEST_DNS=1, which tests/netns.sh sets in a "
          "namespace with its own DNS server (root and unshare -mn)")
NGINX_DIR = None
NGINX_WHY = "nginx not started"
HTTP_PORT = HTTPS_PORT = None
CA = None

# Pages in the shape of the seed's, each (path, size). HTML is gzipped by
# nginx on request, as the real sites do; big.txt is the corpus's 204800
# bytes of text.
PAGES = {
    "/veit/jupyter-tutorial/index.html": 236862,
    "/en/latest/index.html": 41273,
    "/de/latest/index.html": 38115,
    "/en/index.html": 36389,
}


def seed_urls():
    """The five URLs and the body size each must report."""
    base = "https://%s:%d"
    return [
        (base % ("github.test", HTTPS_PORT) + "/veit/jupyter-tutorial/",
         PAGES["/veit/jupyter-tutorial/index.html"]),
        (base % ("jupyter-tutorial.readthedocs.test", HTTPS_PORT)
         + "/en/latest/", PAGES["/en/latest/index.html"]),
        (base % ("python-basics-tutorial.readthedocs.test", HTTPS_PORT)
         + "/de/latest/", PAGES["/de/latest/index.html"]),
        (base % ("cusy.test", HTTPS_PORT) + "/en/",
         PAGES["/en/index.html"]),
        (base % ("cusy.test", HTTPS_PORT) + "/big.txt", 204800),
    ]


def write_page(path, size):
    """An HTML page of exactly `size` bytes, compressible as text is."""
    lines = ["<!doctype html>\n<title>%s</title>\n" % path]
    n = 0
    while sum(map(len, lines)) < size:
        lines.append("<p>%s, paragraph %d: the quick brown fox jumps over "
                     "the lazy dog.</p>\n" % (path, n))
        n += 1
    body = "".join(lines).encode()[:size]
    full = os.path.join(NGINX_DIR, "www", path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(body)


def lookups(name):
    """(A, AAAA): the queries tests/dnsserver.py has seen for `name`, asked
    of it directly with a TXT query (see its comment)."""
    port = int(os.environ.get("UVFETCH_DNS_PORT", "5300"))
    qname = b"".join(bytes([len(label)]) + label.encode()
                     for label in name.split(".")) + b"\0"
    query = struct.pack("!HHHHHH", 0x5454, 0x0100, 1, 0, 0, 0) + qname + \
        struct.pack("!HH", 16, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(query, ("127.0.0.1", port))
        answer = s.recv(4096)
    # One TXT record of one string, the last bytes of the answer.
    text = answer[len(query):].decode("ascii", "replace")
    counts = dict(part.split("=") for part in text[text.index("A="):].split())
    return int(counts["A"]), int(counts["AAAA"])


def setUpModule():
    # Skips are per test, not per module, so that the tally counts them.
    global NGINX_DIR, NGINX_WHY, HTTP_PORT, HTTPS_PORT, CA
    if not HAVE_DNS:
        print("skipped: " + NO_DNS)
        return
    NGINX_DIR = tempfile.mkdtemp(prefix="uvfetch-cli-names-")
    why = None
    try:
        p = subprocess.run(["bash", NGINX_SH, "start", NGINX_DIR],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=300)
        if p.returncode != 0:
            why = p.stderr.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        why = str(e)
    if why is not None:
        shutil.rmtree(NGINX_DIR, ignore_errors=True)
        NGINX_DIR = None
        NGINX_WHY = "nginx unavailable: %s" % why
        print("skipped: " + NGINX_WHY)
        return
    with open(os.path.join(NGINX_DIR, "http_port")) as f:
        HTTP_PORT = int(f.read())
    with open(os.path.join(NGINX_DIR, "https_port")) as f:
        HTTPS_PORT = int(f.read())
    CA = os.path.join(NGINX_DIR, "ca.pem")
    for path, size in PAGES.items():
        write_page(path, size)
    # nginx runs as a daemon: a run ended by meson's timeout (SIGTERM)
    # would otherwise leave it behind.
    signal.signal(signal.SIGTERM, stop_and_exit)


def stop_and_exit(signum, frame):
    tearDownModule()
    os._exit(128 + signum)


def tearDownModule():
    global NGINX_DIR
    if NGINX_DIR is None:
        return
    subprocess.run(["bash", NGINX_SH, "stop", NGINX_DIR],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    shutil.rmtree(NGINX_DIR, ignore_errors=True)
    NGINX_DIR = None


class NamedTest(unittest.TestCase):
    def setUp(self):
        if not HAVE_DNS:
            self.skipTest(NO_DNS)
        if NGINX_DIR is None:
            self.skipTest(NGINX_WHY)


class Seed(NamedTest):
    """The README's first command, with names: exit 0, nothing on stderr."""

    def check_tsv(self, jobs):
        urls = seed_urls()
        p = run(["-j", str(jobs), "--cacert", CA] + [u for u, _ in urls])
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        recs = tsv(p.stdout)
        self.assertEqual(len(recs), len(urls))
        self.assertEqual(sorted(recs), sorted([u, str(n)] for u, n in urls))

    def check_json(self, jobs):
        urls = seed_urls()
        p = run(["-j", str(jobs), "--cacert", CA, "--json"]
                + [u for u, _ in urls])
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        recs = {r["url"]: r for r in jsonl(p.stdout)}
        self.assertEqual(len(jsonl(p.stdout)), len(urls))
        self.assertEqual(set(recs), {u for u, _ in urls})
        for u, n in urls:
            r = recs[u]
            self.assertIs(r["ok"], True, r)
            self.assertEqual(r["http_code"], 200)
            self.assertEqual(r["http_version"], 20)
            self.assertEqual(r["bytes"], n)
            # Every page is text, gzipped on the wire and decoded.
            self.assertGreater(r["wire_bytes"], 0)
            self.assertLess(r["wire_bytes"], r["bytes"], u)

    def test_seed_j10(self):
        self.check_tsv(10)

    def test_seed_j10_json(self):
        self.check_json(10)

    def test_seed_j1(self):
        self.check_tsv(1)
        self.check_json(1)

    def test_seed_j100(self):
        self.check_tsv(100)
        self.check_json(100)

    def test_two_names_http(self):
        # The smallest run that exited 1 with "loop still busy".
        urls = ["http://one.names.test:%d/f1" % HTTP_PORT,
                "http://two.names.test:%d/f2" % HTTP_PORT]
        for jobs in (1, 10, 100):
            p = run(["-j", str(jobs)] + urls)
            self.assertEqual((p.returncode, p.stderr), (0, b""), jobs)
            self.assertEqual(sorted(tsv(p.stdout)),
                             [[u, "1024"] for u in urls])


class ManyHosts(NamedTest):
    """One URL on each of 200 distinct names: every one comes back once."""

    N = 200

    def check(self, scheme, port, jobs):
        urls = ["%s://h%d.many.test:%d/f%d" % (scheme, i, port, i)
                for i in range(self.N)]
        stdin = "".join(u + "\n" for u in urls).encode()
        p = run(["-j", str(jobs), "--cacert", CA, "--json"], stdin=stdin)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        recs = jsonl(p.stdout)
        self.assertEqual(len(recs), self.N)
        self.assertEqual(sorted(r["url"] for r in recs), sorted(urls))
        self.assertEqual(sorted(r["ordinal"] for r in recs),
                         list(range(self.N)))
        for r in recs:
            self.assertIs(r["ok"], True, r)
            self.assertEqual(r["http_code"], 200)
            self.assertEqual(r["bytes"], 1024)
            self.assertEqual(r["http_version"], 20 if scheme == "https"
                             else 11)

    def test_https_j100(self):
        self.check("https", HTTPS_PORT, 100)

    def test_https_j1(self):
        self.check("https", HTTPS_PORT, 1)

    def test_http_j10(self):
        self.check("http", HTTP_PORT, 10)


class Unresolvable(NamedTest):
    """Names that fail to resolve: one record each, naming the host."""

    def test_nxdomain_and_servfail(self):
        good = "http://good.names.test:%d/f7" % HTTP_PORT
        bad = ["http://nx.fault.test:%d/f1" % HTTP_PORT,
               "http://servfail.fault.test:%d/f2" % HTTP_PORT]
        p = run(["--json"] + bad + [good])
        self.assertEqual(p.returncode, 1, p.stderr)
        recs = {r["url"]: r for r in jsonl(p.stdout)}
        self.assertEqual(len(jsonl(p.stdout)), 3)
        self.assertEqual(recs[good]["bytes"], 1024)
        for u in bad:
            r = recs[u]
            self.assertIs(r["ok"], False)
            self.assertEqual(r["error"], "UVFETCH_ERESOLVE")
            host = u.split("/")[2].split(":")[0]
            self.assertIn(host, r["message"])

    def test_thousand_urls_one_dead_name(self):
        urls = ["http://nx.fault.test:%d/f%d" % (HTTP_PORT, i)
                for i in range(1000)]
        stdin = "".join(u + "\n" for u in urls).encode()
        p = run(["-j", "100", "--json"], stdin=stdin)
        self.assertEqual(p.returncode, 1, p.stderr)
        recs = jsonl(p.stdout)
        self.assertEqual(len(recs), 1000)
        self.assertEqual(sorted(r["url"] for r in recs), sorted(urls))
        self.assertEqual(sum(r["error"] == "UVFETCH_ERESOLVE" for r in recs),
                         1000)


class Faults(NamedTest):
    """tests/dnsserver.py's names that resolve, late or oddly, over HTTPS;
    and the one that is never answered, bounded by --connect-timeout."""

    def test_slow_aaaa_only_and_a_only(self):
        with open(os.path.join(NGINX_DIR, "ipv6")) as f:
            if f.read().strip() != "1":
                self.skipTest("nginx has no [::1] to listen on")
        urls = ["https://%s.fault.test:%d/f%d" % (name, HTTPS_PORT, i)
                for i, name in enumerate(["slow", "v6only", "v4only"] * 2)]
        p = run(["--cacert", CA, "--json"] + urls)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        recs = jsonl(p.stdout)
        self.assertEqual(sorted(r["url"] for r in recs), sorted(urls))
        for r in recs:
            self.assertIs(r["ok"], True, r)
            self.assertEqual((r["http_version"], r["bytes"]), (20, 1024))

    def test_never_answered(self):
        # Plain HTTP: under valgrind a TLS handshake alone can take longer
        # than the 1 s connect timeout.
        silent = "http://silent.fault.test:%d/f1" % HTTP_PORT
        good = "http://cusy.test:%d/f2" % HTTP_PORT
        p = run(["--json", "--connect-timeout", "1", silent, good])
        self.assertEqual(p.returncode, 1, p.stderr)
        recs = {r["url"]: r for r in jsonl(p.stdout)}
        self.assertEqual(set(recs), {silent, good})
        self.assertEqual(recs[good]["bytes"], 1024)
        self.assertEqual(recs[silent]["error"], "UVFETCH_ERESOLVE",
                         recs[silent])
        self.assertIn("silent.fault.test", recs[silent]["message"])
        # Bounded by the connect timeout, give or take a loaded machine;
        # never a precise figure.
        self.assertLess(recs[silent]["total_time"], 15)


class LookupCounts(NamedTest):
    """How often a run asks the DNS server, counted there: a name once per
    cache lifetime, a name that does not exist too (issue 10, part 3)."""

    def assert_looked_up_once(self, host):
        # Once, or twice if the C library asked again: not once per URL.
        a, aaaa = lookups(host)
        why = "%d A and %d AAAA queries for %s" % (a, aaaa, host)
        self.assertGreaterEqual(a, 1, why)
        self.assertLessEqual(a, 2, why)
        self.assertLessEqual(aaaa, 2, why)

    def fresh(self, zone):
        return "n%d-%d.%s" % (os.getpid(), id(self) % 100000, zone)

    def test_one_lookup_for_200_urls_on_one_name(self):
        host = self.fresh("names.test")
        urls = ["http://%s:%d/f%d" % (host, HTTP_PORT, i) for i in range(200)]
        stdin = "".join(u + "\n" for u in urls).encode()
        p = run(["-j", "100"], stdin=stdin)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertEqual(len(tsv(p.stdout)), 200)
        self.assert_looked_up_once(host)

    def test_one_lookup_for_1000_urls_on_a_dead_name(self):
        host = self.fresh("fault.test")
        urls = ["http://%s:%d/f%d" % (host, HTTP_PORT, i)
                for i in range(1000)]
        stdin = "".join(u + "\n" for u in urls).encode()
        p = run(["-j", "100", "--json"], stdin=stdin)
        self.assertEqual(p.returncode, 1, p.stderr)
        recs = jsonl(p.stdout)
        self.assertEqual(sum(r["error"] == "UVFETCH_ERESOLVE" for r in recs),
                         1000)
        self.assert_looked_up_once(host)


if __name__ == "__main__":
    sys.exit(T.main("__main__"))
