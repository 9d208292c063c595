"""Which event loop is running, and a clock that stays continuous when it changes.

A client (and its limiter) may outlive the event loop it was first used in: a
module-level client reused by a second ``anyio.run()``, by each FastAPI
``TestClient``, or by asyncio and then trio. What belongs to one loop (the
connection pool, the in-flight limiter, the tasks waiting in the rate limiter)
is re-created when `current_loop()` changes; what must survive (the rate
limiter's schedule, a 429 pause) is kept on `LoopClock`, whose readings stay
continuous across loops even though every loop has its own clock (trio adds a
random offset of hours to its clock, on purpose).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable

import anyio
import sniffio

__all__ = ["LoopClock", "LoopRef", "current_loop", "loop_clock"]


def current_loop() -> object:
    """An object that identifies the running event loop for the loop's whole life.

    Remember it with a `LoopRef`, which does not keep an ended loop alive.

    Raises:
        sniffio.AsyncLibraryNotFoundError: outside an event loop.

    """
    if sniffio.thread_local.name is None and sniffio.current_async_library_cvar.get() is None:
        # No library announced itself (trio does): asyncio, the one sniffio sniffs
        # for, is running if it has a loop here. One look-up instead of sniffio's two.
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            pass
    library = sniffio.current_async_library()
    if library == "asyncio":
        return asyncio.get_running_loop()
    if library == "trio":
        import trio

        return trio.lowlevel.current_trio_token()
    raise RuntimeError(f"unsupported async library {library!r}")  # pragma: no cover


def loop_clock(loop: object) -> Callable[[], float]:
    """The clock of `loop` (from `current_loop()`): what `anyio.current_time()` reads in it.

    Looked up once per loop, it spares each reading anyio's search for the
    running async library.
    """
    if isinstance(loop, asyncio.AbstractEventLoop):
        return loop.time  # anyio's asyncio backend: `get_running_loop().time()`
    import trio

    return trio.current_time


class LoopRef:
    """A loop remembered without keeping it (and all it references) alive once it ended."""

    __slots__ = ("_ref",)

    def __init__(self, loop: object | None = None) -> None:
        self._ref = None if loop is None else weakref.ref(loop)

    def is_(self, loop: object) -> bool:
        """Whether `loop` (from `current_loop()`) is the one remembered."""
        return self._ref is not None and self._ref() is loop


class LoopClock:
    """`anyio.current_time()`, shifted so that readings stay continuous across loops.

    Within one loop it is that loop's clock plus a constant, so the deltas
    passed to `anyio.sleep()` are exact. When the loop changes, the constant is
    chosen so that the reading goes on from where the monotonic clock says it
    should: a time booked in the old loop (a rate-limit slot, the end of a 429
    pause) means the same instant in the new one. Every loop anyio supports
    runs its clock at the pace of `time.monotonic` (trio adds a constant offset).
    """

    __slots__ = ("_epoch", "_loop", "_offset")

    def __init__(self) -> None:
        self._loop = LoopRef()
        self._epoch: float | None = None  # first loop's clock minus time.monotonic()
        self._offset = 0.0

    def __call__(self) -> float:
        """Seconds, on the running loop's clock shifted by a constant."""
        loop = current_loop()
        if not self._loop.is_(loop):
            self._rebase(loop)
        return anyio.current_time() + self._offset

    def _rebase(self, loop: object) -> None:
        epoch = anyio.current_time() - time.monotonic()
        if self._epoch is None:
            self._epoch = epoch
        self._offset = self._epoch - epoch
        self._loop = LoopRef(loop)
