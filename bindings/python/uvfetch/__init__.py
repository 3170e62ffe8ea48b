"""uvfetch from Python: fetch many URLs at once, on one thread.

The seed's habit, ``ThreadPool(10).imap_unordered(sitesize, sites)``, at the
C library's speed::

    import uvfetch
    for url, size in uvfetch.imap_unordered(sites, 10):  # completion order
        print(url, size)
    sizes = uvfetch.map(sites, 10)                       # input order

``fetch`` gives whole ``Result`` objects, ``afetch`` the same for asyncio
(``async for r in uvfetch.afetch(urls)``), and ``Fetcher`` is the engine as
a class, for programs that add URLs as they learn them.

Everything runs on the calling thread: the iterators drive a private libuv
loop, on which libuvfetch drives libcurl, as the caller asks for the next
result. ``urls`` may be any iterable, a generator of millions of lines
included: it is read only as transfers finish, so memory stays flat.

Options have the library's names (``uvfetch.OPTION_NAMES``), with times in
seconds: ``timeout``, ``connect_timeout``, ``retries``, ``retry_delay``,
``max_per_host``, ``headers`` (a dict or "Name: value" strings),
``follow_redirects``, ``compressed``, ``verify``, ``cacert``, ``proxy``,
``max_filesize``, ``resolve``, ``dns_cache_time``, ``user_agent``, ...

The library is libuvfetch.so, found through $UVFETCH_LIBRARY, next to this
package, in the source tree's build/, or installed (ctypes.util, then
pkg-config).
"""

from typing import Any, Iterable, Iterator, List, Optional, Tuple

from . import _lib
from ._core import (OPTION_NAMES, Fetcher, Result, Stats, Url, UvfetchError,
                    _Feeder)
from ._lib import LibraryNotFound

__all__ = ["imap_unordered", "imap", "map", "fetch", "afetch", "Fetcher",
           "Result", "Stats", "UvfetchError", "LibraryNotFound",
           "OPTION_NAMES", "version", "curl_version", "library_path"]

__version__ = "0.1.0"


def version() -> str:
    """The C library's version, as uvfetch_version() gives it."""
    return _lib.load().uvfetch_version().decode()


def curl_version() -> str:
    """The version of the libcurl the library runs on."""
    return _lib.load().uvfetch_curl_version().decode()


def library_path() -> str:
    """The libuvfetch.so this package loaded."""
    return _lib.load().path


def _drive(f: Fetcher, urls: Iterable[Url]) -> Iterator[Any]:
    """Feed urls to f as slots free up and yield what it delivers; close f
    at the end, or when the consumer stops early (break, an exception,
    garbage collection of the iterator)."""
    try:
        feed = _Feeder(f, urls)
        ready = f._ready
        while True:
            if ready:
                yield ready.popleft()
                continue
            if not feed.top_up():
                return
            f._step()
    finally:
        f.close()


def fetch(urls: Iterable[Url], concurrency: int = 50, *,
          ordered: bool = False, body: bool = False,
          **options: Any) -> Iterator[Result]:
    """Fetch every URL in urls, concurrency at a time, yielding a Result
    for each: in completion order, or in input order when ordered.

    Every input gets exactly one Result, a malformed URL too (error
    "UVFETCH_EURL"). With body=True, Result.body holds each decoded body
    (bound it with max_filesize, in bytes). The options are checked
    here; the fetching starts with the first next()."""
    f = Fetcher(concurrency, ordered=ordered, body=body, **options)
    return _drive(f, urls)


def imap_unordered(urls: Iterable[Url], concurrency: int = 10,
                   **options: Any) -> Iterator[Tuple[Url, Optional[int]]]:
    """(url, size) pairs in completion order, as
    ThreadPool(concurrency).imap_unordered(sitesize, urls) gives them.
    size is the decoded body's length (len(requests.get(url).content)), a
    404 page's too; None when the URL could not be fetched (fetch() says
    why)."""
    f = Fetcher(concurrency, **options)
    f._convert = f._size_pair
    return _drive(f, urls)


def imap(urls: Iterable[Url], concurrency: int = 10,
         **options: Any) -> Iterator[Tuple[Url, Optional[int]]]:
    """imap_unordered's pairs, in input order (Pool.imap)."""
    f = Fetcher(concurrency, ordered=True, **options)
    f._convert = f._size_pair
    return _drive(f, urls)


def map(urls: Iterable[Url], concurrency: int = 10,
        **options: Any) -> List[Tuple[Url, Optional[int]]]:
    """imap's pairs as a list, in input order (Pool.map)."""
    return list(imap(urls, concurrency, **options))


from ._aio import afetch  # noqa: E402
