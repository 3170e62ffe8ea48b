#!/usr/bin/python3
"""The Python pattern uvfetch replaces: a ThreadPool of N threads, a
requests.Session per thread, pool.imap_unordered(sitesize, urls).

    requests_pool.py -j N -i FILE [--cacert CA]

Prints "url<TAB>bytes" per URL (bytes "-" and the error on failure), in
completion order, like uvfetch. Debian's python3-requests, nothing else.
"""
import sys
import threading
from multiprocessing.pool import ThreadPool

import requests

from peer import Records, arguments

local = threading.local()
verify = True


def session():
    s = getattr(local, "session", None)
    if s is None:
        s = local.session = requests.Session()
    return s


def sitesize(url):
    try:
        # verify per request: Session.verify loses to REQUESTS_CA_BUNDLE
        # (requests #3829), a per-request value does not.
        return url, len(session().get(url, verify=verify).content), None
    except Exception as e:  # report and go on, like uvfetch
        return url, None, repr(e)


def main():
    global verify
    a = arguments()
    if a.cacert:
        verify = a.cacert
    with open(a.i) as f:
        sites = [line.strip() for line in f if line.strip()]
    records = Records()
    with ThreadPool(a.j) as pool:
        for url, size, err in pool.imap_unordered(sitesize, sites):
            records.add(url, size, err)
    return records.status()

if __name__ == "__main__":
    sys.exit(main())
