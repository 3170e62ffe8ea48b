#!/usr/bin/env python3
"""Soak: a long stream of URLs through the uvfetch command, from a pipe.

Most URLs go to nginx on loopback (1 KiB files); one in a hundred goes to
the test server and is reset before any answer. The URLs are written into
uvfetch's standard input as it reads them, never held in a file. The test
asserts exactly one record per URL, that the ok and failed records add up,
the exact bytes of each ok record, that every reset URL failed and nothing
else did, and that uvfetch's peak RSS stays under a bound.

Environment: UVFETCH (the binary), UVFETCH_TEST_SERVER (tests/server.py),
UVFETCH_NGINX_SH (tests/nginx.sh), UVFETCH_SOAK_URLS (default 200000),
UVFETCH_SOAK_RSS_MIB (the bound, default 24).
Prints the figures and a closing line "N passed, N failed".
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

RESET_EVERY = 100


def start_server(path):
    proc = subprocess.Popen([sys.executable, path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    return proc, port


def feed(pipe, n, nginx_port, fault_port):
    """Write n URLs; URL i carries i so every record names its input."""
    try:
        batch = []
        for i in range(n):
            if i % RESET_EVERY == RESET_EVERY - 1:
                batch.append("http://127.0.0.1:%d/fault/reset-before?n=%d\n"
                             % (fault_port, i))
            else:
                batch.append("http://127.0.0.1:%d/f%d?n=%d\n"
                             % (nginx_port, i % 1000, i))
            if len(batch) == 1000:
                pipe.write("".join(batch).encode())
                batch = []
        pipe.write("".join(batch).encode())
    finally:
        pipe.close()


def main():
    n = int(os.environ.get("UVFETCH_SOAK_URLS", "200000"))
    rss_bound = int(os.environ.get("UVFETCH_SOAK_RSS_MIB", "24")) * 1024
    binary = os.environ["UVFETCH"]
    nginx_sh = os.environ["UVFETCH_NGINX_SH"]
    workdir = tempfile.mkdtemp(prefix="uvfetch-soak-")
    failures = []
    server = None
    try:
        if subprocess.run([nginx_sh, "start", workdir]).returncode != 0:
            print("soak: nginx did not start; skipped")
            print("0 passed, 0 failed")
            return 77
        with open(os.path.join(workdir, "http_port")) as f:
            nginx_port = int(f.read())
        server, fault_port = start_server(os.environ["UVFETCH_TEST_SERVER"])

        start = time.monotonic()
        proc = subprocess.Popen([binary, "-j", "50"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE)
        writer = threading.Thread(target=feed, args=(proc.stdin, n,
                                                     nginx_port, fault_port))
        writer.start()
        seen = bytearray(n)
        records = ok = failed = 0
        first = None
        for line in proc.stdout:
            if first is None:
                first = time.monotonic() - start
            records += 1
            fields = line.rstrip(b"\n").split(b"\t")
            i = int(fields[0].rsplit(b"=", 1)[1])
            seen[i] += 1
            reset = i % RESET_EVERY == RESET_EVERY - 1
            if fields[1] == b"-":
                failed += 1
                if not reset:
                    failures.append("URL %d failed: %r" % (i, line[:200]))
            else:
                ok += 1
                if reset:
                    failures.append("URL %d was not reset" % i)
                elif fields[1] != b"1024":
                    failures.append("URL %d: %r bytes" % (i, fields[1]))
        writer.join()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        rss = usage.ru_maxrss  # KiB

        resets = n // RESET_EVERY
        print("soak: %d URLs in, %d records out (%d ok, %d failed; %d resets "
              "injected) in %.1f s, %.0f URLs/s; first record after %.3f s; "
              "uvfetch peak RSS %.1f MiB"
              % (n, records, ok, failed, resets, wall, n / wall,
                 first or -1, rss / 1024))
        checks = [
            ("one record per URL", records == n and all(c == 1 for c in seen)),
            ("ok + failed == records", ok + failed == records),
            ("failed == resets injected", failed == resets),
            ("exit status 1 (some failed)",
             os.waitstatus_to_exitcode(status) == 1),
            ("peak RSS under %d MiB" % (rss_bound // 1024), rss < rss_bound),
            ("every record right", not failures),
        ]
        for name, good in checks:
            print("%s: %s" % ("ok" if good else "FAILED", name))
        for f in failures[:10]:
            print("  " + f)
        bad = sum(1 for _, good in checks if not good)
        print("%d passed, %d failed" % (len(checks) - bad, bad))
        return 1 if bad else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        subprocess.run([nginx_sh, "stop", workdir])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
