#!/usr/bin/env python3
"""A DNS server that misbehaves on purpose, for the uvfetch tests (stdlib only).

Usage: python3 tests/dnsserver.py [--host 127.0.0.1] [--port 5300]
                                  [--zone test]

It answers UDP and TCP on HOST:PORT, prints the port and a newline on stdout
once both are bound, and serves until SIGTERM/SIGINT. tests/netns.sh starts
it and has dnsmasq forward the zone to it, so a lookup reaches it the way a
real one reaches a real server: libc -> dnsmasq -> here.

Names are case-insensitive. Every name in ZONE (default "test") has an A
record 127.0.0.1 and no AAAA record, except in the subzone fault.ZONE,
where a name not listed here is NXDOMAIN. A name outside ZONE is REFUSED.
FAULT stands for fault.ZONE:
  nx.FAULT       NXDOMAIN
  servfail.FAULT SERVFAIL
  silent.FAULT   no answer, ever
  slow.FAULT     A 127.0.0.1, sent after 500 ms (AAAA: no data, as late)
  many.FAULT     20 A records in this order: 127.0.0.2 .. 127.0.0.20, where
                 nothing listens, then 127.0.0.1
  v6only.FAULT   AAAA ::1, and no A record
  v4only.FAULT   A 127.0.0.1, and no AAAA record
"No data" is NOERROR with an empty answer, as a real server sends for a name
that exists without a record of the type asked for. Answers carry a TTL of
1 s, so a cache in front of a test keeps them only briefly.

It counts the queries for each name, so a test can tell how often a client
looked a name up: a TXT query for any name in ZONE answers one string,
"A=N AAAA=M", the A and AAAA queries seen for that name so far (TXT queries
are not counted). tests/netns.sh's dnsmasq caches nothing, so every lookup
a client makes reaches this count.
"""

import argparse
import asyncio
import signal
import socket
import struct
import sys

A, TXT, AAAA = 1, 16, 28
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
TTL = 1

# The first label of a name in fault.ZONE -> (delay in seconds, rcode, {qtype: [packed addresses]}), or None
# for a name that is never answered.
BEHAVIOUR = {
    "nx": (0, NXDOMAIN, {}),
    "servfail": (0, SERVFAIL, {}),
    "silent": None,
    "slow": (0.5, NOERROR, {A: ["127.0.0.1"]}),
    "many": (0, NOERROR,
             {A: ["127.0.0.%d" % i for i in range(2, 21)] + ["127.0.0.1"]}),
    "v6only": (0, NOERROR, {AAAA: ["::1"]}),
    "v4only": (0, NOERROR, {A: ["127.0.0.1"]}),
}


def parse_question(msg):
    """(id, flags, labels as text, end offset, qtype) of a query, or None."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1 or flags & 0x8000:
        return None
    labels = []
    off = 12
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0 or off + n > len(msg):
            return None  # a query's question is never compressed
        labels.append(msg[off:off + n].decode("ascii", "replace").lower())
        off += n
    if off + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[off:off + 2])[0]
    return qid, flags, labels, off + 4, qtype


def pack_rdata(qtype, text):
    if qtype == TXT:
        data = text.encode()
        return bytes([len(data)]) + data
    family = socket.AF_INET if qtype == A else socket.AF_INET6
    return socket.inet_pton(family, text)


# (name, qtype) -> queries seen.
COUNTS = {}


def reply(msg, zone):
    """(delay, response bytes) for a query, or None to stay silent."""
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, labels, qend, qtype = q
    question = msg[12:qend]
    rd = flags & 0x0100
    zlabels = zone.split(".")
    flabels = ["fault"] + zlabels
    name = ".".join(labels)
    if qtype != TXT:
        COUNTS[name, qtype] = COUNTS.get((name, qtype), 0) + 1
    if labels[len(labels) - len(zlabels):] != zlabels:
        how = (0, REFUSED, {})
    elif qtype == TXT:
        how = (0, NOERROR, {TXT: ["A=%d AAAA=%d" % (
            COUNTS.get((name, A), 0), COUNTS.get((name, AAAA), 0))]})
    elif labels[len(labels) - len(flabels):] != flabels:
        how = (0, NOERROR, {A: ["127.0.0.1"]})
    elif len(labels) == len(flabels) + 1 and labels[0] in BEHAVIOUR:
        how = BEHAVIOUR[labels[0]]
        if how is None:
            return None
    else:
        how = (0, NXDOMAIN, {})
    delay, rcode, records = how
    answers = b""
    addresses = records.get(qtype, [])
    for text in addresses:
        data = pack_rdata(qtype, text)
        # 0xC00C points at the name in the question.
        answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, TTL, len(data))
        answers += data
    # QR, AA and RA set; RD copied; the opcode is always QUERY here.
    head = struct.pack("!HHHHHH", qid, 0x8400 | rd | 0x0080 | rcode, 1,
                       len(addresses), 0, 0)
    return delay, head + question + answers


class Udp(asyncio.DatagramProtocol):
    def __init__(self, zone):
        self.zone = zone
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        r = reply(data, self.zone)
        if r is None:
            return
        delay, out = r
        loop = asyncio.get_running_loop()
        loop.call_later(delay, self.transport.sendto, out, addr)


async def serve_tcp(zone, reader, writer):
    try:
        while True:
            head = await reader.readexactly(2)
            (n,) = struct.unpack("!H", head)
            r = reply(await reader.readexactly(n), zone)
            if r is None:
                continue
            delay, out = r
            await asyncio.sleep(delay)
            writer.write(struct.pack("!H", len(out)) + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5300)
    ap.add_argument("--zone", default="test")
    args = ap.parse_args()
    zone = args.zone.strip(".").lower()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    udp, _ = await loop.create_datagram_endpoint(
        lambda: Udp(zone), local_addr=(args.host, args.port))
    port = udp.get_extra_info("sockname")[1]
    tcp = await asyncio.start_server(
        lambda r, w: serve_tcp(zone, r, w), args.host, port,
        reuse_address=True)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    await stop
    tcp.close()
    udp.close()


if __name__ == "__main__":
    asyncio.run(main())
