#!/usr/bin/python3
"""uvfetch from Python: the seed's loop with uvfetch.imap_unordered in
place of a ThreadPool (bindings/python, over libuvfetch.so through ctypes).

    uvfetch_py.py -j N -i FILE [--cacert CA]

Prints "url<TAB>bytes" per URL (bytes "-" on failure), in completion
order, like uvfetch. The URLs are read from FILE as slots free up. The
library is $UVFETCH_LIBRARY (bench/run points it at its release build).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))

import uvfetch  # noqa: E402
from peer import Records, arguments  # noqa: E402


def main():
    a = arguments()
    options = {"cacert": a.cacert} if a.cacert else {}
    records = Records()
    with open(a.i) as f:
        sites = (line.strip() for line in f if line.strip())
        for url, size in uvfetch.imap_unordered(sites, a.j, **options):
            records.add(url, size)
    return records.status()

if __name__ == "__main__":
    sys.exit(main())
