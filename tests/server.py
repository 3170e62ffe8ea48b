#!/usr/bin/env python3
"""Loopback HTTP/1.1 server for the uvfetch tests (stdlib only).

Usage: python3 tests/server.py [--host 127.0.0.1] [--port 0]

It binds, prints the port number and a newline on stdout, then serves until
SIGTERM/SIGINT, or until stdin reaches EOF when stdin is a pipe or a socket
(so a parent that dies takes it down; a stdin of /dev/null or a terminal is
not watched, so `server.py &` from a shell keeps running).

Endpoints (GET; HEAD answers the same headers without a body):
  /size/N            200, N bytes; byte i is PATTERN[i % 37]
  /status/CODE       CODE, body "status CODE\\n"
  /redirect/N        302 to /redirect/N-1 (query kept); N == 0: 302 to the
                     URL-decoded query param `to` (default /size/10)
  /loop              302 to /loop (query kept)
  /redirect-to?url=U 302 to U (URL-decoded)
  /headers           200, body: the request's header lines, one per line
  /flaky/KEY         the first `fail` (default 1) requests for KEY answer
                     `code` (default 503, with Retry-After: `retry_after`
                     when given); later ones 200 with a 10-byte body
  /fault/KIND         a broken server (see FAULTS below)
  /stats             {"requests": R, "active": A, "peak": P, "connections": C,
                      "most_open": O}
  /stats/reset       zero R and C, set P to A (0 when idle) and O to the
                     connections open now, answer the same JSON
  /slow-accept?after=MS
                     opens another listener on 127.0.0.1 whose accept queue
                     is kept full, so the kernel drops SYNs to it and a
                     client's connect() stays pending (SYN-SENT, resent at
                     1 s, 3 s, 7 s...); after MS milliseconds (never when
                     MS is -1, the default) it starts serving the endpoints
                     above. Answers {"port": P}, P the new listener's port.
  anything else      404
Query params on every endpoint: closeafter=N (close the connection
silently, no Connection: close, once it has answered N requests), delay=MS, status=CODE (200..999; it also
overrides the 302 of the redirect endpoints), gzip=1, chunked=1. Unknown
params are ignored. Malformed requests get 400 and the connection is closed.

C counts the connections accepted since the last reset, the one that asks
for /stats included; O is the most open at once since then. /stats counts a request in R once its head is parsed
(so a request cancelled during its delay still counts); /stats and
/stats/reset count in neither R nor A. A client that closes its connection
during a delay ends that request at once, so A drops without waiting for the
delay to run out.
"""

import argparse
import asyncio
import functools
import os
import resource
import signal
import socket
import stat
import struct
import sys
import zlib
from http import HTTPStatus
from urllib.parse import parse_qsl

PATTERN = b"abcdefghijklmnopqrstuvwxyz0123456789\n"
# The body is periodic, so any slice of it is a slice of one cached block:
# bytes [off, off + n) of the body equal BLOCK[off % 37 : off % 37 + n].
CHUNK = 256 * 1024
BLOCK = PATTERN * (CHUNK // len(PATTERN) + 2)
BLOCK_MV = memoryview(BLOCK)
MAX_HEAD = 64 * 1024
MAX_SIZE = 10**12
SMALL_BODY = 16 * 1024
NO_BODY_CODES = (204, 304)

FLAKY = {}  # /flaky/KEY: requests seen per key

# /slow-accept: every listener made, with the connection that fills its
# queue, kept for the server's life.
SLOW_LISTENERS = []

# Counters behind /stats. A request counts from its parsed request line until
# its response is fully handed to the kernel, so tests can observe how many
# requests a client keeps in flight.
STATS = {"requests": 0, "active": 0, "peak": 0, "connections": 0,
         "most_open": 0}
OPEN = set()  # every connection open now, for most_open


class BadRequest(Exception):
    pass


def reason(code):
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


def body_slice(off, n):
    start = off % len(PATTERN)
    return BLOCK_MV[start:start + n]


def gzip_bytes(data):
    # wbits=31 writes a gzip wrapper with mtime 0: the same input always gives
    # the same bytes, so tests may compare compressed lengths across runs.
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


@functools.lru_cache(maxsize=64)
def gzip_size_body(n):
    # Compressed periodic data is about 1/1000 of its size, so caching even the
    # 50 MB body costs little, while compressing it per request would not.
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = []
    off = 0
    while off < n:
        k = min(CHUNK, n - off)
        out.append(c.compress(body_slice(off, k)))
        off += k
    out.append(c.flush())
    return b"".join(out)


def parse_int(text, lo, hi):
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        raise BadRequest("bad number %r" % text)
    v = int(text)
    if v < lo or v > hi:
        raise BadRequest("number out of range %r" % text)
    return v


def stats_json():
    text = ('{"requests": %d, "active": %d, "peak": %d, "connections": %d, '
            '"most_open": %d}' % (STATS["requests"], STATS["active"],
                                  STATS["peak"], STATS["connections"],
                                  STATS["most_open"]))
    return text.encode()


class Request:
    __slots__ = ("method", "path", "query", "params", "version11",
                 "keep_alive", "accept_gzip", "body_len", "header_lines")


def parse_head(head):
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    method, target, version = parts
    if version == b"HTTP/1.1":
        version11 = True
    elif version == b"HTTP/1.0":
        version11 = False
    else:
        raise BadRequest("bad version")
    if method not in (b"GET", b"HEAD"):
        raise BadRequest("unsupported method")
    try:
        target = target.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest("non-ascii target")
    if target.startswith(("http://", "https://")):
        # Absolute form, as a client talking to a proxy sends it.
        slash = target.find("/", target.find("//") + 2)
        target = target[slash:] if slash >= 0 else "/"
    if not target.startswith("/"):
        raise BadRequest("bad target")

    conn_tokens = ()
    accept_gzip = False
    body_len = 0
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line")
        name = name.lower()
        value = value.strip()
        if name == b"connection":
            conn_tokens = [t.strip() for t in value.lower().split(b",")]
        elif name == b"accept-encoding":
            accept_gzip = b"gzip" in value.lower()
        elif name == b"content-length":
            body_len = parse_int(value.decode("latin-1"), 0, 1 << 30)
        elif name == b"transfer-encoding":
            raise BadRequest("transfer-encoding in a request")

    req = Request()
    req.method = method
    path, _, query = target.partition("?")
    req.path = path
    req.query = query
    req.params = dict(parse_qsl(query, keep_blank_values=True))
    req.version11 = version11
    if version11:
        req.keep_alive = b"close" not in conn_tokens
    else:
        req.keep_alive = b"keep-alive" in conn_tokens
    req.accept_gzip = accept_gzip
    req.body_len = body_len
    req.header_lines = lines[1:]
    return req


def location(loc):
    # A decoded "to" or "url" could hold CR or LF and split the header.
    if "\r" in loc or "\n" in loc:
        raise BadRequest("CR or LF in redirect target")
    return [b"Location: " + loc.encode("utf-8")]


def route(req):
    """Return (code, extra header lines, body, counted) for a request.

    body is bytes, or an int N meaning the /size/N pattern body.
    """
    path = req.path
    if path.startswith("/size/"):
        n = parse_int(path[6:], 0, MAX_SIZE)
        return 200, [], n, True
    if path.startswith("/status/"):
        code = parse_int(path[8:], 200, 999)
        return code, [], b"status %d\n" % code, True
    if path.startswith("/redirect/"):
        n = parse_int(path[10:], 0, 1 << 30)
        if n > 0:
            loc = "/redirect/%d" % (n - 1)
            if req.query:
                loc += "?" + req.query
        else:
            loc = req.params.get("to", "/size/10")
        return 302, location(loc), b"", True
    if path == "/loop":
        loc = "/loop?" + req.query if req.query else "/loop"
        return 302, location(loc), b"", True
    if path == "/redirect-to":
        if "url" not in req.params:
            raise BadRequest("redirect-to needs url")
        return 302, location(req.params["url"]), b"", True
    if path.startswith("/flaky/"):
        key = path[7:]
        seen = FLAKY.get(key, 0)
        FLAKY[key] = seen + 1
        if seen < parse_int(req.params.get("fail", "1"), 0, 1 << 20):
            code = parse_int(req.params.get("code", "503"), 200, 999)
            extra = []
            if "retry_after" in req.params:
                extra.append(b"Retry-After: " +
                             req.params["retry_after"].encode("latin-1"))
            return code, extra, b"try again\n", True
        return 200, [], 10, True
    if path == "/headers":
        return 200, [], b"".join(h + b"\n" for h in req.header_lines), True
    if path == "/stats":
        return 200, [b"Content-Type: application/json"], None, False
    if path == "/stats/reset":
        STATS["requests"] = 0
        STATS["connections"] = 0
        STATS["peak"] = STATS["active"]
        STATS["most_open"] = len(OPEN)
        return 200, [b"Content-Type: application/json"], None, False
    return 404, [], b"not found\n", True


class Connection(asyncio.Protocol):
    def __init__(self, conns):
        self.conns = conns
        self.transport = None
        self.buf = bytearray()
        self.eof = False
        self.lost = False
        self.waiter = None
        self.drain_waiter = None
        self.paused = False
        self.reading_paused = False
        self.task = None
        self.answered = 0  # requests on this connection, for closeafter

    # Transport callbacks.

    def connection_made(self, transport):
        self.transport = transport
        self.conns.add(self)
        OPEN.add(self)
        STATS["most_open"] = max(STATS["most_open"], len(OPEN))
        STATS["connections"] += 1
        self.task = asyncio.get_running_loop().create_task(self.serve())

    def data_received(self, data):
        self.buf += data
        # Bound memory when a client pipelines far ahead of us.
        if len(self.buf) > 4 * MAX_HEAD and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()
        self.wake()

    def eof_received(self):
        # Keep the write side open: a client that half-closes after sending its
        # requests still gets their answers.
        self.eof = True
        self.wake()
        return True

    def connection_lost(self, exc):
        self.lost = True
        self.conns.discard(self)
        OPEN.discard(self)
        self.wake()
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        if self.drain_waiter is not None and not self.drain_waiter.done():
            self.drain_waiter.set_result(None)

    # Helpers for the serving task.

    def wake(self):
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait_event(self, timeout=None):
        """Sleep until data, EOF, loss of the connection, or the timeout."""
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        handle = None
        if timeout is not None:
            handle = loop.call_later(timeout, self.wake)
        try:
            await self.waiter
        finally:
            self.waiter = None
            if handle is not None:
                handle.cancel()

    async def drain(self):
        # A write that failed closes the transport at once but reports the
        # loss only on a later turn of the loop, and drain() does not yield
        # unless writing is paused: without is_closing(), a long body went
        # on being "written" to a dead connection to its end (a terabyte
        # for an endless body, half a minute of warnings).
        if self.lost or self.transport.is_closing():
            raise ConnectionResetError()
        if self.paused:
            self.drain_waiter = asyncio.get_running_loop().create_future()
            await self.drain_waiter
            self.drain_waiter = None
            if self.lost:
                raise ConnectionResetError()

    async def flush(self):
        """Wait until the transport has handed every byte to the kernel."""
        t = self.transport
        if self.lost or t.get_write_buffer_size() == 0:
            return
        low, high = t.get_write_buffer_limits()  # (low, high), per asyncio
        t.set_write_buffer_limits(high=0, low=0)
        try:
            await self.drain()
        finally:
            if not self.lost:
                t.set_write_buffer_limits(high=high, low=low)

    async def sleep(self, seconds):
        """Sleep, but give up when the client goes away meanwhile.

        A client that cancels a slow request closes its socket; ending the
        request here keeps "active" in /stats honest.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if self.lost or self.eof:
                raise ConnectionResetError()
            left = deadline - loop.time()
            if left <= 0:
                return
            await self.wait_event(left)

    async def read_head(self):
        """Return the next request head without its final CRLFCRLF, or None."""
        while True:
            # RFC 9112 lets a server skip empty lines before a request line.
            while self.buf[:2] == b"\r\n":
                del self.buf[:2]
            i = self.buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if i >= 0:
                head = bytes(self.buf[:i])
                del self.buf[:i + 4]
                self.maybe_resume_reading()
                return head
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("request head too large")
            if self.eof or self.lost:
                return None
            self.maybe_resume_reading()
            await self.wait_event()

    async def skip_body(self, n):
        while n > 0:
            if self.buf:
                k = min(n, len(self.buf))
                del self.buf[:k]
                n -= k
                self.maybe_resume_reading()
                continue
            if self.eof or self.lost:
                raise ConnectionResetError()
            await self.wait_event()

    def maybe_resume_reading(self):
        if self.reading_paused and len(self.buf) <= MAX_HEAD:
            self.reading_paused = False
            self.transport.resume_reading()

    # The per-connection request loop.

    async def serve(self):
        try:
            while not self.lost:
                try:
                    head = await self.read_head()
                    if head is None:
                        break
                    req = parse_head(head)
                except BadRequest as e:
                    self.send_bad_request(str(e))
                    break
                await self.skip_body(req.body_len)
                keep = await self.handle(req)
                if not keep:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception as e:  # keep serving other connections
            print("server.py: %r" % (e,), file=sys.stderr)
        finally:
            if not self.lost:
                self.transport.close()

    def send_bad_request(self, why):
        body = b"bad request: " + why.encode("utf-8", "replace") + b"\n"
        STATS["requests"] += 1
        head = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                % len(body))
        self.transport.write(head + body)

    async def handle(self, req):
        """Answer one request; return whether the connection stays open."""
        self.answered += 1
        if req.path.startswith("/fault/"):
            STATS["requests"] += 1
            await self.fault(req, req.path[7:])
            return False
        if req.path == "/slow-accept":
            try:
                after = int(req.params.get("after", "-1"))
            except ValueError:
                after = None
            if after is None or after < -1 or after > 3600 * 1000:
                self.send_bad_request("bad after")
                return False
            port = slow_listener(self.conns, after)
            body = b'{"port": %d}' % port
            await self.respond(req, 200, [b"Content-Type: application/json"],
                               body, False, False)
            await self.flush()
            return req.keep_alive
        try:
            code, headers, body, counted = route(req)
            opts = self.parse_options(req)
        except BadRequest as e:
            self.send_bad_request(str(e))
            return False
        if counted:
            STATS["requests"] += 1
            STATS["active"] += 1
            if STATS["active"] > STATS["peak"]:
                STATS["peak"] = STATS["active"]
        try:
            delay, status, gz, chunked = opts
            if delay:
                await self.sleep(delay / 1000.0)
            if body is None:
                body = stats_json()
            if status is not None:
                code = status
            await self.respond(req, code, headers, body, gz, chunked)
            await self.flush()
        finally:
            if counted:
                STATS["active"] -= 1
        if "closeafter" in req.params:
            limit = parse_int(req.params["closeafter"], 1, 1 << 30)
            if self.answered >= limit:
                return False
        return req.keep_alive

    def reset(self):
        """Close with a TCP RST rather than a FIN."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        self.transport.abort()

    async def fault(self, req, kind):
        """FAULTS: each answers wrongly, then ends the connection.
          reset-before       RST before any response
          reset-mid?size=N&sent=M   N announced, M sent, then RST
          short?size=N&sent=M       N announced, M sent, then FIN
          bad-status         a status line that is not HTTP
          bad-chunk          chunked framing with a bad chunk size
          hang               accepts the request, never answers
          drip?size=N        N announced, then one byte a second
          bad-gzip?size=N    Content-Encoding: gzip over N bytes of junk
          big-headers?kb=N   a header line of N KiB (curl allows 100)
        """
        t = self.transport
        p = req.params
        size = parse_int(p.get("size", "1000"), 0, 1 << 30)
        sent = parse_int(p.get("sent", "100"), 0, 1 << 30)
        head = b"HTTP/1.1 200 OK\r\nServer: uvfetch-test\r\n"
        if kind == "reset-before":
            self.reset()
        elif kind in ("reset-mid", "short"):
            t.write(head + b"Content-Length: %d\r\n\r\n" % size +
                    body_slice(0, min(sent, size)))
            await self.flush()
            if kind == "reset-mid":
                self.reset()
        elif kind == "bad-status":
            t.write(b"HTTP/1.1 OK-ISH\r\nContent-Length: 2\r\n\r\nhi")
        elif kind == "bad-chunk":
            t.write(head + b"Transfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n")
        elif kind == "hang":
            await self.sleep(3600)
        elif kind == "stall":
            t.write(head + b"Content-Length: %d\r\n\r\n" % size +
                    body_slice(0, min(sent, size)))
            await self.flush()
            await self.sleep(3600)
        elif kind == "drip":
            t.write(head + b"Content-Length: %d\r\n\r\n" % size)
            for i in range(size):
                t.write(body_slice(i, 1))
                await self.flush()
                await self.sleep(1.0)
        elif kind == "bad-gzip":
            junk = bytes((i * 7 + 3) & 0xFF for i in range(size))
            t.write(head + b"Content-Encoding: gzip\r\n"
                    b"Content-Length: %d\r\n\r\n" % size + junk)
        elif kind == "many-headers":
            n = parse_int(p.get("n", "400"), 1, 1 << 14)
            t.write(head + b"".join(b"X-Many-%d: %s\r\n" % (i, b"y" * 1000)
                                    for i in range(n)) +
                    b"Content-Length: 2\r\n\r\nhi")
        elif kind == "big-headers":
            kb = parse_int(p.get("kb", "200"), 1, 1 << 14)
            t.write(head + b"X-Big: " + b"x" * (kb * 1024) +
                    b"\r\nContent-Length: 2\r\n\r\nhi")
        else:
            t.write(head + b"Content-Length: 0\r\n\r\n")
        if not t.is_closing():
            await self.flush()
            t.close()

    @staticmethod
    def parse_options(req):
        p = req.params
        delay = 0
        status = None
        if "delay" in p:
            delay = parse_int(p["delay"], 0, 3600 * 1000)
        if "status" in p:
            status = parse_int(p["status"], 200, 999)
        gz = p.get("gzip") == "1" and req.accept_gzip
        chunked = p.get("chunked") == "1" and req.version11
        return delay, status, gz, chunked

    async def respond(self, req, code, headers, body, gz, chunked):
        t = self.transport
        lines = [b"HTTP/1.1 %d %s" % (code, reason(code).encode()),
                 b"Server: uvfetch-test"]
        lines += headers
        if code in NO_BODY_CODES:
            body = b""
        elif not any(h.startswith(b"Content-Type:") for h in headers):
            lines.append(b"Content-Type: text/plain")
        if gz and code not in NO_BODY_CODES:
            if isinstance(body, int):
                body = gzip_size_body(body)
            else:
                body = gzip_bytes(body)
            lines.append(b"Content-Encoding: gzip")
        size = body if isinstance(body, int) else len(body)
        if code in NO_BODY_CODES:
            pass
        elif chunked:
            lines.append(b"Transfer-Encoding: chunked")
        else:
            lines.append(b"Content-Length: %d" % size)
        if not req.keep_alive:
            lines.append(b"Connection: close")
        elif not req.version11:
            lines.append(b"Connection: keep-alive")
        head = b"\r\n".join(lines) + b"\r\n\r\n"

        if req.method == b"HEAD" or code in NO_BODY_CODES:
            t.write(head)
            return
        if chunked:
            await self.write_chunked(head, body, size)
            return
        if size <= SMALL_BODY:
            data = body_slice(0, size) if isinstance(body, int) else body
            t.write(head + data)
            return
        t.write(head)
        off = 0
        while off < size:
            k = min(CHUNK, size - off)
            if isinstance(body, int):
                t.write(body_slice(off, k))
            else:
                t.write(memoryview(body)[off:off + k])
            off += k
            await self.drain()

    async def write_chunked(self, head, body, size):
        # At least four chunks when the body allows it, so clients really see
        # a body split across chunk boundaries.
        t = self.transport
        t.write(head)
        piece = max(1, min(CHUNK, -(-size // 4)))
        off = 0
        while off < size:
            k = min(piece, size - off)
            if isinstance(body, int):
                data = body_slice(off, k)
            else:
                data = memoryview(body)[off:off + k]
            t.writelines([b"%x\r\n" % k, data, b"\r\n"])
            off += k
            await self.drain()
        t.write(b"0\r\n\r\n")


def slow_listener(conns, after_ms):
    """A listener whose connects stay pending until after_ms have passed.

    Its backlog is 0 and one connection of our own fills its accept queue,
    so Linux drops every further SYN (tcp_conn_request, LISTENOVERFLOWS)
    and the client goes on resending it. When the time comes, the filler is
    taken off the queue and the listener serves like the main one, with a
    full backlog; clients get through with their next SYN. Returns its port.
    """
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    entry = [sock, filler]
    SLOW_LISTENERS.append(entry)

    async def open_up():
        sock.setblocking(False)
        try:
            accepted, _ = sock.accept()
            accepted.close()
        except OSError:
            pass
        filler.close()
        entry.append(await loop.create_server(
            lambda: Connection(conns), sock=sock, backlog=4096))

    if after_ms >= 0:
        loop.call_later(after_ms / 1000.0,
                        lambda: entry.append(loop.create_task(open_up())))
    return port


def watch_stdin(loop, stop):
    """Stop the server when stdin, if it is a pipe or socket, reaches EOF."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return
    os.set_blocking(0, False)

    def on_readable():
        try:
            data = os.read(0, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(0)
            stop()

    loop.add_reader(0, on_readable)


def raise_fd_limit():
    # Hundreds of client connections must not hit a soft limit of 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def make_socket(host, port):
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    # One address only: "localhost" would otherwise get two ephemeral ports.
    family, type_, proto, _, addr = infos[0]
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(addr)
    sock.listen(4096)
    sock.setblocking(False)
    return sock


async def main(args):
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def stop():
        if not done.done():
            done.set_result(None)

    sock = make_socket(args.host, args.port)
    conns = set()
    server = await loop.create_server(lambda: Connection(conns), sock=sock,
                                      backlog=4096)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    watch_stdin(loop, stop)
    sys.stdout.write("%d\n" % sock.getsockname()[1])
    sys.stdout.flush()
    await done
    server.close()
    for c in list(conns):
        c.transport.abort()


def cli():
    ap = argparse.ArgumentParser(description="uvfetch loopback test server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    raise_fd_limit()
    try:
        asyncio.run(main(args))
    except OSError as e:
        print("server.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli())
