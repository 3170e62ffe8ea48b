#!/usr/bin/env python3
"""Summarise callgrind profiles of uvfetch runs for bench/run's "profile".

    profile.py --out FILE [--title TITLE] LABEL:REQUESTS:CALLGRIND_OUT ...

For each profile: instructions per request, the share of each library in
them (exclusive counts summed by object file), and the inclusive share of a
few functions that libcurl exports, which is where its per-transfer work
shows even in Debian's stripped build (static functions appear only as
addresses there). Writes Markdown to FILE.
"""

import argparse
import collections
import os
import re
import subprocess
import sys

# Exported functions worth watching, with what they stand for.
WATCH = [
    ("curl_multi_socket_action", "all of libcurl's work on socket events"),
    ("uvfetch_submit", "uvfetch's check of a URL (parsed once, kept)"),
    ("curl_url_set", "URL parsing"),
    ("curl_url_get", "URL parts, and putting a URL back together"),
    ("curl_maprintf", "libcurl's printf, allocating (header lines, URLs)"),
    ("curl_mvsnprintf", "libcurl's printf, into a buffer"),
    ("curl_multi_add_handle", "starting a transfer"),
    ("curl_multi_remove_handle", "ending a transfer"),
    ("curl_easy_getinfo", "reading a result's fields"),
    ("nghttp2_session_mem_recv", "HTTP/2 frames in (nghttp2)"),
    ("nghttp2_session_send", "HTTP/2 frames out (nghttp2)"),
    ("SSL_read", "TLS in (OpenSSL)"),
    ("SSL_write", "TLS out (OpenSSL)"),
    ("__isoc99_sscanf", "sscanf (libcurl 7.88 reads the status line with it)"),
]

LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.*?)\s+\[(.*)\]\s*$")


def annotate(path, inclusive):
    args = ["callgrind_annotate", "--threshold=100"]
    if inclusive:
        args.append("--inclusive=yes")
    args.append(path)
    out = subprocess.run(args, check=True, capture_output=True,
                         text=True).stdout
    total = None
    rows = []
    for line in out.splitlines():
        if total is None and "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        m = LINE.match(line)
        if m:
            rows.append((int(m.group(1).replace(",", "")), m.group(2),
                         m.group(3)))
    if total is None:
        sys.exit("profile.py: no totals in " + path)
    return total, rows


def library(obj):
    name = os.path.basename(obj)
    if name == "uvfetch" or name.startswith("libuvfetch"):
        return "uvfetch (library and CLI)"
    for prefix, label in (("libcurl", "libcurl"), ("libc.so", "libc"),
                          ("libuv", "libuv"), ("libnghttp2", "nghttp2"),
                          ("libssl", "OpenSSL"), ("libcrypto", "OpenSSL"),
                          ("ld-linux", "dynamic loader")):
        if name.startswith(prefix):
            return label
    return "other"


def section(label, requests, path):
    total, rows = annotate(path, inclusive=False)
    by_lib = collections.Counter()
    for ir, _, obj in rows:
        by_lib[library(obj)] += ir
    _, inc = annotate(path, inclusive=True)
    best = {}
    for ir, fn, _ in inc:
        name = fn.split(":")[-1]
        if name not in best or ir > best[name]:
            best[name] = ir
    out = ["### %s" % label, "",
           "%s instructions per request (%s requests, %s in all)." %
           (format(total // requests, ","), format(requests, ","),
            format(total, ",")), "",
           "| library | share of instructions |", "|---|--:|"]
    for lib, ir in by_lib.most_common():
        out.append("| %s | %.1f %% |" % (lib, 100.0 * ir / total))
    out += ["", "| function (inclusive) | per request | share | what it is |",
            "|---|--:|--:|---|"]
    for name, what in WATCH:
        if name in best:
            ir = best[name]
            out.append("| `%s` | %s | %.1f %% | %s |" %
                       (name, format(ir // requests, ","), 100.0 * ir / total,
                        what))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="uvfetch profiles")
    ap.add_argument("profiles", nargs="+",
                    help="LABEL:REQUESTS:CALLGRIND_OUT")
    a = ap.parse_args()
    parts = ["# " + a.title, "",
             "Each run is one uvfetch process under `valgrind "
             "--tool=callgrind`, start-up included. Shares are of all the "
             "instructions the process ran in user space; the kernel's work "
             "(about 40 % of the CPU time in workload 1, by `perf`) is not "
             "in them.", ""]
    for spec in a.profiles:
        label, requests, path = spec.rsplit(":", 2)
        parts.append(section(label, int(requests), path))
    with open(a.out, "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
