#!/usr/bin/python3
"""The asyncio pattern: one aiohttp ClientSession, a semaphore of N, a task
per URL, results taken with asyncio.as_completed.

    aiohttp_sem.py -j N -i FILE [--cacert CA]

The connector's own limit (100 by default) is raised to N so that the
semaphore, not the connector, sets the concurrency. Prints "url<TAB>bytes"
per URL in completion order, like uvfetch. Debian's python3-aiohttp.
"""
import argparse
import asyncio
import ssl
import sys

import aiohttp


async def run(urls, n, cacert):
    sem = asyncio.Semaphore(n)
    sslctx = ssl.create_default_context(cafile=cacert) if cacert else None
    conn = aiohttp.TCPConnector(limit=n, ssl=sslctx)
    timeout = aiohttp.ClientTimeout(total=None)
    failed = 0
    out = sys.stdout
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:

        async def sitesize(url):
            async with sem:
                try:
                    async with session.get(url) as resp:
                        body = await resp.read()
                        return url, len(body), None
                except Exception as e:
                    return url, None, repr(e)

        for fut in asyncio.as_completed([sitesize(u) for u in urls]):
            url, size, err = await fut
            if size is None:
                failed += 1
                out.write("%s\t-\t%s\n" % (url, err))
            else:
                out.write("%s\t%d\n" % (url, size))
    out.flush()
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=50)
    ap.add_argument("-i", required=True)
    ap.add_argument("--cacert")
    a = ap.parse_args()
    with open(a.i) as f:
        urls = [line.strip() for line in f if line.strip()]
    return asyncio.run(run(urls, a.j, a.cacert))


if __name__ == "__main__":
    sys.exit(main())
