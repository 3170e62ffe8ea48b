#!/usr/bin/python3
"""uvfetch from Python: the seed's loop with uvfetch.imap_unordered in
place of a ThreadPool (bindings/python, over libuvfetch.so through ctypes).

    uvfetch_py.py -j N -i FILE [--cacert CA]

Prints "url<TAB>bytes" per URL (bytes "-" on failure), in completion
order, like uvfetch. The URLs are read from FILE as slots free up. The
library is $UVFETCH_LIBRARY (bench/run points it at its release build).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))

import uvfetch  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=50)
    ap.add_argument("-i", required=True)
    ap.add_argument("--cacert")
    a = ap.parse_args()
    options = {"cacert": a.cacert} if a.cacert else {}
    out = sys.stdout
    failed = 0
    with open(a.i) as f:
        sites = (line.strip() for line in f if line.strip())
        for url, size in uvfetch.imap_unordered(sites, a.j, **options):
            if size is None:
                failed += 1
                out.write("%s\t-\n" % url)
            else:
                out.write("%s\t%d\n" % (url, size))
    out.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
