"""afetch: the fetcher under asyncio, on asyncio's own thread.

libuv nests in another event loop the classic way: asyncio watches the
private loop's backend descriptor (uv_backend_fd, an epoll descriptor that
turns readable when any of libuv's sockets has an event) with add_reader,
and keeps one timer at uv_backend_timeout(); when either fires, it runs
uv_run(UV_RUN_NOWAIT), which never blocks. Results wait in the fetcher's
deque until the async generator hands them out.
"""

import asyncio
from typing import Any, AsyncIterator, Iterable, Optional

from ._core import Fetcher, Result, Url, _Feeder


class _Driver:
    """Runs a Fetcher's loop from an asyncio loop's callbacks."""

    def __init__(self, f: Fetcher, loop: asyncio.AbstractEventLoop):
        self.f = f
        self.loop = loop
        self.timer: Optional[asyncio.Handle] = None
        self.waiter: Optional[asyncio.Future] = None
        self.exc: Optional[BaseException] = None
        self.fd = f._fd
        loop.add_reader(self.fd, self.run)
        self.watching = True

    def run(self) -> None:
        """One turn of the libuv loop, then the next timer; wakes the
        generator when a result (or an exception) is ready."""
        self.timer = None
        f = self.f
        if f.closed:
            return
        try:
            f._run_nowait()
        except BaseException as e:  # noqa: B036: raised in the generator
            if self.exc is None:
                self.exc = e
        self.arm()
        if (f._ready or self.exc is not None) and self.waiter is not None:
            if not self.waiter.done():
                self.waiter.set_result(None)

    def arm(self) -> None:
        """Keep one timer, at the time libuv next has work."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.f.closed:
            return
        t = self.f._timeout()
        if t == 0:
            self.timer = self.loop.call_soon(self.run)
        elif t > 0:
            self.timer = self.loop.call_later(t / 1000.0, self.run)

    async def wait(self) -> None:
        """Until the fetcher has a result ready; raises what a callback
        raised."""
        f = self.f
        while not f._ready and self.exc is None:
            self.waiter = self.loop.create_future()
            self.arm()
            try:
                await self.waiter
            finally:
                self.waiter = None
        e = self.exc
        if e is not None:
            self.exc = None
            raise e

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.watching:
            self.watching = False
            self.loop.remove_reader(self.fd)


async def afetch(urls: Iterable[Url], concurrency: int = 50, *,
                 ordered: bool = False, body: bool = False,
                 **options: Any) -> AsyncIterator[Result]:
    """fetch() for asyncio: ``async for r in uvfetch.afetch(urls): ...``.

    The same arguments and Results as fetch(), on the running asyncio loop's
    thread, beside its other tasks: a Jupyter cell can await it. urls is a
    plain iterable, read as slots free up. Leaving the loop early (break,
    an exception, cancellation) cancels what is left once the generator is
    closed: wrap it in contextlib.aclosing() to close it at once, else
    asyncio closes it when the generator is collected."""
    if hasattr(urls, "__aiter__") and not hasattr(urls, "__iter__"):
        raise TypeError("afetch takes a plain iterable of URLs, not an "
                        "async iterable; use Fetcher for URLs that arrive "
                        "while it runs")
    f = Fetcher(concurrency, ordered=ordered, body=body, **options)
    driver = None
    try:
        driver = _Driver(f, asyncio.get_running_loop())
        feed = _Feeder(f, urls)
        ready = f._ready
        while True:
            if ready:
                yield ready.popleft()
                continue
            if not feed.top_up():
                return
            await driver.wait()
    finally:
        if driver is not None:
            driver.stop()
        f.close()


async def _aiter_fetcher(f: Fetcher) -> AsyncIterator[Result]:
    """Fetcher's results under asyncio: ``async for r in fetcher``. Ends
    when no URL is outstanding; URLs added from the loop's body (or by
    other tasks) are waited for too."""
    driver = _Driver(f, asyncio.get_running_loop())
    try:
        while True:
            if f._ready:
                yield f._ready.popleft()
                continue
            if not f._pending or f.closed:
                return
            await driver.wait()
    finally:
        driver.stop()


Fetcher.__aiter__ = _aiter_fetcher
