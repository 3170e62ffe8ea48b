"""The engine: one fetcher on a private libuv loop, driven from Python.

A Fetcher owns a uv_loop_t that nothing else runs. Results are collected by
the completion callback into a deque, and handed out by whoever drives the
loop: the blocking iterators here (poll the loop's backend descriptor, then
uv_run(UV_RUN_NOWAIT)), or asyncio in _aio.py (the same two steps, from
loop.add_reader and call_later). Either way one thread does everything.

No Python exception may cross a C callback: each callback catches
everything, keeps the first exception, and the driver raises it once
uv_run has returned.
"""

import ctypes
import select
from collections import deque
from ctypes import byref, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Deque, Dict, Iterator, Optional, Union

from . import _lib
from ._lib import (ADD_REPORT_INVALID, BODY_CB, CLOSE_CB, DONE_CB,
                   UV_RUN_DEFAULT, UV_RUN_NOWAIT)

# The library's codes this module checks for (include/uvfetch.h's table).
EURL = -30003
ECLOSING = -30005
ENOTFOUND = -30007

Url = Union[str, bytes]


class UvfetchError(Exception):
    """A call into the library failed.

    code is the negative error code, name its symbolic name
    ("UVFETCH_EURL", or libuv's "ENOMEM" style), message its text."""

    def __init__(self, code: int, what: str = ""):
        lib = _lib.load()
        self.code = code
        self.name = lib.uvfetch_err_name(code).decode()
        self.message = lib.uvfetch_strerror(code).decode()
        text = "%s: %s" % (self.name, self.message)
        if what:
            text = "%s: %s" % (what, text)
        super().__init__(text)


@dataclass(slots=True)
class Result:
    """One finished URL: uvfetch_result_t, copied into Python.

    ok is about the transfer, not the status: a 404 received in full is ok,
    with http_code 404. error is None when ok, else the library's name for
    what went wrong ("UVFETCH_ECONNECT", "UVFETCH_ETIMEDOUT", ...), and
    message curl's one-line reason. bytes is the decoded body length (what
    len(requests.get(url).content) gives), wire_bytes what came over the
    network. Times are in seconds. body holds the decoded body when fetch
    was asked for bodies (body=True), else None. data is whatever was given
    to Fetcher.add with the URL."""
    url: Url
    effective_url: str
    ok: bool
    error: Optional[str]
    message: str
    http_code: int
    http_version: int
    redirects: int
    bytes: int
    wire_bytes: int
    total_time: float
    ttfb: float
    attempts: int
    curl_code: int
    ordinal: int
    start_time: float
    dns_time: float
    connect_time: float
    tls_time: float
    slot: int
    body: Optional[bytes] = None
    data: Any = None


@dataclass(slots=True)
class Stats:
    """uvfetch_stats_t: counts of a fetcher's URLs right now."""
    added: int
    queued: int
    waiting: int
    running: int
    held: int
    done: int
    failed: int
    dns_lookups: int
    dns_hits: int
    dns_failures: int


def _ms(name: str, seconds: Optional[float]) -> int:
    """Seconds (a float) as the library's milliseconds. 0 or None keep the
    library's meaning of 0; a positive time never rounds down to 0."""
    if seconds is None:
        return 0
    seconds = float(seconds)
    if seconds < 0 or seconds != seconds:
        raise ValueError("%s must be >= 0 seconds, not %r" % (name, seconds))
    if seconds == 0:
        return 0
    return max(1, round(seconds * 1000))


def _cstr(name: str, value: Optional[Url]) -> Optional[bytes]:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    elif not isinstance(value, bytes):
        raise TypeError("%s must be str or bytes, not %s"
                        % (name, type(value).__name__))
    if b"\0" in value:
        raise ValueError("%s contains a NUL byte" % name)
    return value


def _cstr_list(name: str, values) -> Optional[ctypes.Array]:
    """A NULL-terminated char *[] from a list of strings (or one string)."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        values = [values]
    items = [_cstr(name, v) for v in values]
    arr = (ctypes.c_char_p * (len(items) + 1))(*items, None)
    return arr


def _header_list(headers) -> Optional[ctypes.Array]:
    """headers as a mapping {name: value} or "Name: value" strings."""
    if headers is None:
        return None
    if hasattr(headers, "items"):
        headers = ["%s: %s" % (k, v) for k, v in headers.items()]
    return _cstr_list("headers", headers)


# Python option name -> (C field, converter). Times are seconds here and
# milliseconds in C. Converters return the value for the field.
def _bool(name, v):
    return 1 if v else 0


def _uint(name, v):
    v = int(v)
    if v < 0:
        raise ValueError("%s must be >= 0, not %d" % (name, v))
    return v


def _int(name, v):
    return int(v)


def _float(name, v):
    return float(v)


_OPTIONS = {
    "adaptive": ("adaptive", _bool),
    "cacert": ("cacert", _cstr),
    "compressed": ("compressed", _bool),
    "connect_timeout": ("connect_timeout_ms", _ms),
    "dns_cache_size": ("dns_cache_size", _uint),
    "dns_cache_time": ("dns_cache_ms", _ms),
    "follow_redirects": ("follow_redirects", _bool),
    "headers": ("headers", lambda n, v: _header_list(v)),
    "http_version": ("http_version", _int),
    "idle_timeout": ("idle_timeout_ms", _ms),
    "location_trusted": ("location_trusted", _bool),
    "low_speed_limit": ("low_speed_limit", _int),
    "low_speed_time": ("low_speed_time", _int),
    "max_filesize": ("max_filesize", _uint),
    "max_per_host": ("max_per_host", _uint),
    "max_redirects": ("max_redirects", _int),
    "order_window": ("order_window", _uint),
    "protocols": ("protocols",
                  lambda n, v: _cstr(n, v if isinstance(v, (str, bytes))
                                     else ",".join(v))),
    "proxy": ("proxy", _cstr),
    "rate": ("rate", _float),
    "resolve": ("resolve", _cstr_list),
    "retries": ("retries", _uint),
    "retry_delay": ("retry_delay_ms", _ms),
    "retry_max_time": ("retry_max_time_ms", _ms),
    "timeout": ("timeout_ms", _ms),
    "user_agent": ("user_agent", _cstr),
    "verify": ("verify_tls", _bool),
}

OPTION_NAMES = tuple(sorted(_OPTIONS))


def _make_options(concurrency: int, ordered: bool, options: Dict[str, Any]):
    """An Options struct, and the ctypes objects its pointers point into
    (kept alive by the caller until uvfetch_init has copied them)."""
    lib = _lib.load()
    opt = _lib.new_struct(_lib.Options)
    lib.uvfetch_options_init(byref(opt))
    concurrency = int(concurrency)
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1, not %d" % concurrency)
    opt.max_concurrent = concurrency
    opt.ordered = 1 if ordered else 0
    keep = []
    for name, value in options.items():
        try:
            cfield, conv = _OPTIONS[name]
        except KeyError:
            raise TypeError("unknown option %r (options: %s)"
                            % (name, ", ".join(OPTION_NAMES))) from None
        if value is None:
            continue  # None: the library's default
        v = conv(name, value)
        keep.append(v)
        setattr(opt, cfield, v)
    return opt, keep


class Fetcher:
    """The library's fetcher, on a private libuv loop of its own.

    For programs that add URLs as they learn them, a crawler say::

        with uvfetch.Fetcher(concurrency=20) as f:
            f.add(start)
            for r in f:               # runs until no URL is left
                for link in links_of(r):
                    f.add(link)

    Every URL accepted by add() comes back exactly once from iteration:
    done, failed or cancelled. Iterating drives the loop; nothing happens
    between iterations. Under asyncio, ``async for r in f`` drives it from
    the running loop instead. Not thread-safe: use a Fetcher from one
    thread.
    """

    def __init__(self, concurrency: int = 50, *, ordered: bool = False,
                 body: bool = False, **options: Any):
        """concurrency is the number of transfers in flight at most;
        ordered delivers results in the order added; body keeps each
        response's decoded body in Result.body (cap it with max_filesize).
        options are the library's (see uvfetch.OPTION_NAMES); times are in
        seconds. Raises TypeError for an unknown option, ValueError for a
        bad value, UvfetchError when the library refuses."""
        self._f = None
        self._closed = True
        lib = _lib.load()
        self._lib = lib
        opt, keep = _make_options(concurrency, ordered, options)
        self.concurrency = opt.max_concurrent
        self.ordered = bool(ordered)
        self.order_window = opt.order_window or 2 * opt.max_concurrent
        self._body = bool(body)
        self._ready: Deque[Any] = deque()
        # token (the C data pointer) -> [url, data, body bytearray or None]
        self._pending: Dict[int, list] = {}
        self._token = 0
        self._exc: Optional[BaseException] = None
        self._close_done = False
        self._final_stats: Optional[Stats] = None
        self._ordinal = c_uint64()
        self._err_names: Dict[int, str] = {}
        self._convert = self._full_result
        # The ctypes callbacks live as long as the fetcher: libuv and libcurl
        # hold their addresses until the close callback has run.
        self._done_cb = DONE_CB(self._on_done)
        self._close_cb = CLOSE_CB(self._on_close)
        self._body_cb = BODY_CB(self._on_body)
        self._loop = ctypes.create_string_buffer(lib.uv_loop_size())
        err = lib.uv_loop_init(self._loop)
        if err != 0:
            raise UvfetchError(err, "uv_loop_init")
        f = c_void_p()
        err = lib.uvfetch_init(self._loop, byref(f), byref(opt),
                               self._done_cb)
        del keep
        if err != 0:
            lib.uv_loop_close(self._loop)
            raise UvfetchError(err, "uvfetch_init")
        self._f = f.value
        self._closed = False
        self._fd = lib.uv_backend_fd(self._loop)
        self._poller = select.poll()
        self._poller.register(self._fd, select.POLLIN)

    # -- the C callbacks: never let an exception out ---------------------

    def _on_done(self, f, raddr):
        try:
            r = _lib.Result.from_address(raddr)
            entry = self._pending.pop(r.data)
            self._ready.append(self._convert(r, entry))
        except BaseException as e:  # noqa: B036: KeyboardInterrupt too
            if self._exc is None:
                self._exc = e

    def _on_body(self, f, data, buf, size):
        try:
            sink = self._pending[data][2]
            if buf is None:
                del sink[:]  # a retry starts the body over
            else:
                sink += ctypes.string_at(buf, size)
            return 0
        except BaseException as e:  # noqa: B036
            if self._exc is None:
                self._exc = e
            return 1

    def _on_close(self, f):
        self._close_done = True

    def _err_name(self, code: int) -> Optional[str]:
        if code == 0:
            return None
        name = self._err_names.get(code)
        if name is None:
            name = self._lib.uvfetch_err_name(code).decode()
            self._err_names[code] = name
        return name

    def _full_result(self, r, entry) -> Result:
        url, data, sink = entry
        ok = r.ok
        eff = r.effective_url
        return Result(
            url=url,
            effective_url=eff.decode("utf-8", "surrogateescape")
            if eff is not None else None,
            ok=bool(ok),
            error=self._err_name(r.error),
            message=r.message.decode("utf-8", "replace"),
            http_code=r.http_code,
            http_version=r.http_version,
            redirects=r.redirects,
            bytes=r.bytes,
            wire_bytes=r.wire_bytes,
            total_time=r.total_time,
            ttfb=r.ttfb,
            attempts=r.attempts,
            curl_code=r.curl_code,
            ordinal=r.ordinal,
            start_time=r.start_time,
            dns_time=r.dns_time,
            connect_time=r.connect_time,
            tls_time=r.tls_time,
            slot=r.slot,
            body=bytes(sink) if sink is not None and ok else None,
            data=data)

    @staticmethod
    def _size_pair(r, entry):
        return (entry[0], r.bytes if r.ok else None)

    # -- adding, cancelling ----------------------------------------------

    def add(self, url: Url, data: Any = None, *, headers=None,
            timeout: Optional[float] = None) -> int:
        """Queue url (str or bytes) with data, which comes back as
        Result.data; headers (a dict or "Name: value" strings) are sent
        with this URL besides the fetcher's, and timeout (seconds) replaces
        the fetcher's for it. Returns the URL's ordinal (for cancel, and
        Result.ordinal). Raises UvfetchError for a URL the library refuses
        (UVFETCH_EURL, UVFETCH_ESCHEME, UVFETCH_EINVAL for a header with CR
        or LF) or after close (UVFETCH_ECLOSING): then no result will come
        for it."""
        return self._add(url, data, 0, headers, timeout)

    def _add(self, url: Url, data: Any, flags: int, headers=None,
             timeout: Optional[float] = None) -> int:
        if self._closed:
            raise UvfetchError(ECLOSING, "add")
        if isinstance(url, str):
            curl = url.encode("utf-8", "surrogateescape")
        elif isinstance(url, bytes):
            curl = url
        else:
            raise TypeError("a URL must be str or bytes, not %s"
                            % type(url).__name__)
        if b"\0" in curl:
            if not flags & ADD_REPORT_INVALID:
                raise UvfetchError(EURL, "add")
            curl = b""  # still refused by the library, reported in turn
        self._token += 1
        tok = self._token
        sink = bytearray() if self._body else None
        if self._body or headers is not None or timeout is not None:
            # uvfetch_submit copies the URL and the headers.
            req = _lib.Request(url=curl, data=tok, flags=flags)
            if self._body:
                req.on_body = self._body_cb
            if headers is not None:
                req.headers = _header_list(headers)
            if timeout is not None:
                req.timeout_ms = _ms("timeout", timeout)
            err = self._lib.uvfetch_submit(self._f, byref(req),
                                           byref(self._ordinal))
        else:
            err = self._lib.uvfetch_add_ex(self._f, curl, tok, flags,
                                           byref(self._ordinal))
        if err != 0:
            raise UvfetchError(err, "add")
        self._pending[tok] = [url, data, sink]
        return self._ordinal.value

    def cancel(self, ordinal: int) -> bool:
        """Cancel the queued or running URL `ordinal`; its result (error
        "UVFETCH_ECANCELED") comes from iteration as any other. Returns
        False when it had already finished or never existed."""
        if self._closed:
            return False
        err = self._lib.uvfetch_cancel(self._f, ordinal)
        self._raise_pending()
        if err == 0:
            return True
        if err == ENOTFOUND:
            return False
        raise UvfetchError(err, "cancel")

    # -- state -----------------------------------------------------------

    @property
    def pending(self) -> int:
        """URLs added whose results have not come out of the loop yet."""
        return len(self._pending)

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> Stats:
        """The library's counts (uvfetch_get_stats); after close, the last
        counts, taken once every URL was cancelled."""
        if self._closed:
            if self._final_stats is None:
                raise UvfetchError(ECLOSING, "stats")
            return self._final_stats
        return self._stats()

    def limit(self) -> int:
        """How many transfers may run at once now (uvfetch_get_limit): with
        adaptive=True, the limit found so far; else concurrency."""
        if self._closed:
            raise UvfetchError(ECLOSING, "limit")
        fn = self._lib.uvfetch_get_limit
        if fn is None:
            raise NotImplementedError("this libuvfetch has no "
                                      "uvfetch_get_limit")
        return fn(self._f)

    def _stats(self) -> Stats:
        s = _lib.new_struct(_lib.Stats)
        self._lib.uvfetch_get_stats(self._f, byref(s))
        return Stats(*(getattr(s, n) for n, _ in _lib.Stats._fields_))

    # -- driving the loop ------------------------------------------------

    def _raise_pending(self):
        e = self._exc
        if e is not None:
            self._exc = None
            raise e

    def _run_nowait(self):
        """One turn of the loop that never blocks, then any exception a
        callback kept."""
        self._lib.uv_run(self._loop, UV_RUN_NOWAIT)
        self._raise_pending()

    def _timeout(self) -> int:
        """Milliseconds until the loop has work: 0 now, -1 never."""
        return self._lib.uv_backend_timeout(self._loop)

    def _step(self):
        """Wait until the loop has something to do (a socket, a timer),
        then run it once. The wait is a Python poll(), so a signal (Ctrl-C)
        interrupts it; libuv's own wait would not."""
        t = self._lib.uv_backend_timeout(self._loop)
        if t != 0:
            if t < 0 and not self._lib.uv_loop_alive(self._loop):
                raise RuntimeError("uvfetch: %d URLs outstanding but the "
                                   "loop has nothing to wait for"
                                   % len(self._pending))
            self._poller.poll(None if t < 0 else t)
        self._run_nowait()

    def next_result(self) -> Optional[Any]:
        """The next result, running the loop until one is ready; None when
        no URL is outstanding."""
        ready = self._ready
        while not ready:
            if not self._pending:
                return None
            self._step()
        return ready.popleft()

    def __iter__(self) -> Iterator[Result]:
        """Results as they complete (in the order added when ordered),
        until no URL is outstanding. URLs may be added from the loop's
        body; they are waited for too."""
        while True:
            r = self.next_result()
            if r is None:
                return
            yield r

    # -- closing ---------------------------------------------------------

    def close(self) -> None:
        """Cancel every URL still queued or running (their results, with
        error "UVFETCH_ECANCELED", can still be iterated), release the
        library's handles and close the private loop. Idempotent. Raises
        RuntimeError if the loop does not close cleanly (a bug)."""
        if self._closed:
            return
        self._closed = True
        lib = self._lib
        self._exc = None
        err = lib.uvfetch_close(self._f, self._close_cb)
        try:
            self._final_stats = self._stats()
        except Exception:  # pragma: no cover
            pass
        if err == 0:
            # The close callback runs on a later turn; a name lookup on
            # libuv's thread pool may hold it up to the resolver's timeout.
            while not self._close_done:
                lib.uv_run(self._loop, UV_RUN_DEFAULT)
        self._f = None
        rc = lib.uv_loop_close(self._loop)
        self._poller = None
        if rc != 0:
            raise RuntimeError("uvfetch: uv_loop_close: %s"
                               % lib.uvfetch_err_name(rc).decode())
        exc, self._exc = self._exc, None
        if exc is not None and not isinstance(exc, Exception):
            raise exc  # a Ctrl-C that landed in a cancelled URL's callback

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except BaseException:  # noqa: B036: nowhere to raise it to
                pass


class _Feeder:
    """Feeds URLs from an iterable to a Fetcher as slots free up, for the
    iterators (fetch, imap_unordered, afetch): it keeps added but
    unfinished a slot's worth queued behind the running ones and, in
    ordered mode, the order window too, so that a slow head does not leave
    slots idle."""

    def __init__(self, f: "Fetcher", urls: Any) -> None:
        self._f = f
        self._it = iter(urls)
        self._more = True
        self._limit = (f.order_window + f.concurrency if f.ordered
                       else 2 * f.concurrency)

    def top_up(self) -> bool:
        """Add URLs up to the limit; False once nothing is left to wait
        for. Call it only once every finished result is handed out, so
        that URLs in the library plus results not yet taken never pass the
        limit."""
        pending = self._f._pending
        while self._more and len(pending) < self._limit:
            try:
                url = next(self._it)
            except StopIteration:
                self._more = False
                break
            self._f._add(url, None, ADD_REPORT_INVALID)
        return bool(pending)
