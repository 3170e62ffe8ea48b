#!/usr/bin/python3
"""The asyncio pattern: one aiohttp ClientSession, a semaphore of N, a task
per URL, results taken with asyncio.as_completed.

    aiohttp_sem.py -j N -i FILE [--cacert CA]

The connector's own limit (100 by default) is raised to N so that the
semaphore, not the connector, sets the concurrency. Prints "url<TAB>bytes"
per URL in completion order, like uvfetch. Debian's python3-aiohttp.
"""
import asyncio
import ssl
import sys

import aiohttp

from peer import Records, arguments


async def run(urls, n, cacert):
    sem = asyncio.Semaphore(n)
    sslctx = ssl.create_default_context(cafile=cacert) if cacert else None
    conn = aiohttp.TCPConnector(limit=n, ssl=sslctx)
    timeout = aiohttp.ClientTimeout(total=None)
    records = Records()
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
            records.add(*await fut)
    return records.status()


def main():
    a = arguments()
    with open(a.i) as f:
        urls = [line.strip() for line in f if line.strip()]
    return asyncio.run(run(urls, a.j, a.cacert))


if __name__ == "__main__":
    sys.exit(main())
