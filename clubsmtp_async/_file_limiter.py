"""`FileLimiter`: one GCRA budget shared by every process of one host, with no server.

The shared state is one small file: a fixed-size JSON record holding the
theoretical arrival time (TAT) and the last 429 pause, in wall-clock seconds
(`time.time()`: processes share no monotonic clock). Every read-modify-write
of it happens under an exclusive `fcntl.flock` on the file itself, in a worker
thread (`anyio.to_thread.run_sync`), so the event loop never blocks on the
lock. A booking takes the next slot and returns how long to wait; the process
then sleeps in its own loop, and on waking checks that no 429 pause began
meanwhile (else it books again). `docs/rate-limiting.md` explains the choices
(clock steps, killed processes, Windows).

```python
limiter = FileLimiter("/run/myapp/clubsmtp.limiter", 60)
async with AsyncClient(limiter=limiter) as client: ...
await limiter.aclose()
```
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from ._errors import ClubSMTPError, RateLimitWaitError, ValidationError
from ._limiter import _check_burst, _check_rate, check_max_wait, pause_length
from ._validation import finite_number

if sys.platform != "win32":
    import fcntl

__all__ = ["RECORD_SIZE", "STATE_FORMAT", "FileLimiter"]

T = TypeVar("T")

STATE_FORMAT = "clubsmtp-file-limiter"
"""The `format` field of a state file; any other content is refused, never overwritten."""

RECORD_SIZE = 256
"""Bytes of the state record: fixed, so that one `pwrite` replaces it whole."""

_VERSION = 1


@dataclass(frozen=True)
class _State:
    """The shared state: all times are wall-clock seconds (0.0: never)."""

    tat: float = 0.0  # theoretical arrival time of the next request
    pause_until: float = 0.0  # end of the latest 429 pause
    epoch: int = 0  # bumped by each 429: slots booked before it are checked on waking
    written: float = 0.0  # the clock when last written: detects backward clock steps


@dataclass(frozen=True)
class _Booking:
    """One booked slot, as returned by `_book`."""

    wait: float  # seconds from the booking to the slot
    send_at: float  # the slot, on the wall clock
    tat_before: float
    tat_after: float
    epoch: int


def _parse(data: bytes, path: Path) -> _State:
    """The state in a record; an empty file is a fresh state."""
    if not data:
        return _State()
    try:
        raw = json.loads(data.decode("ascii"))
        if raw["format"] != STATE_FORMAT or raw["version"] != _VERSION:
            raise ValueError("not a state file of this version")
        times = [raw["tat"], raw["pause_until"], raw["written"]]
        if not all(finite_number(value) for value in times):
            raise ValueError("a time is not a number")
        if isinstance(raw["epoch"], bool) or not isinstance(raw["epoch"], int):
            raise ValueError("the epoch is not an integer")
        state = _State(
            tat=float(raw["tat"]),
            pause_until=float(raw["pause_until"]),
            epoch=raw["epoch"],
            written=float(raw["written"]),
        )
        if not all(map(math.isfinite, (state.tat, state.pause_until, state.written))):
            raise ValueError("a time is not finite")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ClubSMTPError(
            f"{path} is not a FileLimiter state file (damaged, or another program's file): "
            "point FileLimiter at another path, or remove the file if it is the limiter's own"
        ) from None
    return state


def _dump(state: _State) -> bytes:
    fields = {"format": STATE_FORMAT, "version": _VERSION, "tat": state.tat,
              "pause_until": state.pause_until, "epoch": state.epoch, "written": state.written}
    text = json.dumps(fields, separators=(",", ":")).encode("ascii")
    return text.ljust(RECORD_SIZE - 1) + b"\n"


def _rebase(state: _State, now: float) -> _State:
    """After a backward clock step, shift the stored times with the clock.

    The schedule keeps its meaning relative to now: nobody waits for the step's
    length. A forward step needs nothing: the TAT just looks like the past (idle).
    """
    if now >= state.written:
        return state
    shift = now - state.written
    return replace(state, tat=state.tat + shift, pause_until=state.pause_until + shift)


def _book(
    state: _State, now: float, interval: float, tolerance: float, max_wait: float | None
) -> tuple[_State, _Booking]:
    """GCRA virtual scheduling on the shared TAT (a pause has pushed the TAT already).

    Raises:
        RateLimitWaitError: the slot is more than `max_wait` seconds away (nothing booked).

    """
    tat = max(state.tat, now)  # idle (or new): the bucket is empty
    send_at = max(now, tat - tolerance)
    wait = send_at - now
    if max_wait is not None and wait > max_wait:
        raise RateLimitWaitError(wait, max_wait=max_wait)
    tat_after = tat + interval
    booking = _Booking(wait, send_at, state.tat, tat_after, state.epoch)
    return replace(state, tat=tat_after), booking


def _pause(state: _State, now: float, pause: float, tolerance: float) -> _State:
    """Nobody sends before `now + pause`, and no burst then (the server's bucket is full)."""
    pause_until = max(state.pause_until, now + pause)
    tat = max(state.tat, pause_until + tolerance)
    return replace(state, tat=tat, pause_until=pause_until, epoch=state.epoch + 1)


def _voided(state: _State, booking: _Booking) -> bool:
    """A 429 pause began after this booking and ends after its slot: book again."""
    return state.epoch != booking.epoch and booking.send_at < state.pause_until


def _given_back(state: _State, booking: _Booking) -> _State | None:
    """The state without a cancelled booking, if nothing was booked (or paused) since."""
    if state.tat == booking.tat_after and state.epoch == booking.epoch:
        return replace(state, tat=booking.tat_before)
    return None


class FileLimiter:
    """A `Limiter` whose budget lives in a file: one budget for all processes of a host.

    For `uvicorn --workers N`, gunicorn, or any set of processes on one machine
    using one API key: give each the same `path` and `requests_per_minute`. No
    server is needed; the file's lock does the coordination. For processes on
    several hosts, use `RedisLimiter`.

    Semantics are `RedisLimiter`'s: GCRA virtual scheduling on the shared TAT
    (slots are booked in the order the lock is won: FIFO-ish), a 429 in any
    process pauses them all (a slot booked before the pause is booked again on
    waking), no adaptive slow-down. A waiter cancelled before its slot gives it
    back when nobody booked after it, and otherwise leaves it unused.

    Args:
        path: The state file (created 0600 if missing; its directory must exist).
            Local filesystems only: `flock` over NFS is not reliable.
        requests_per_minute: The key's ceiling, the same in every process.
        burst: How many requests may go at once after an idle period (>= 1).
        clock: Wall-clock seconds shared by the processes (default `time.time`).

    Raises:
        ValidationError: An argument is out of range, the directory is missing,
            the path is not a regular file, or the platform has no `fcntl` (Windows).
        ClubSMTPError: The file exists but is not a `FileLimiter` state file,
            or cannot be opened.

    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        requests_per_minute: float = 60,
        *,
        burst: int = 1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if sys.platform == "win32":
            raise ValidationError(
                "FileLimiter needs POSIX file locks (fcntl), which Windows lacks: "
                "use RedisLimiter to share a budget between processes there"
            )
        if not isinstance(path, (str, os.PathLike)):
            raise ValidationError(f"path must be a str or os.PathLike, got a {type(path).__name__}")
        self._path = Path(path)
        self._rpm = _check_rate(requests_per_minute)
        self._burst = _check_burst(burst)
        self._interval = 60.0 / self._rpm
        self._tolerance = (self._burst - 1) * self._interval
        self._clock = clock or time.time
        self._mutex = threading.Lock()  # threads of one process share the fd: flock cannot
        self._fd: int | None = None
        self._pid = 0
        self._locked(lambda state, now: (None, None))  # opens, and checks the content now

    def __repr__(self) -> str:
        return (
            f"FileLimiter(path={str(self._path)!r}, requests_per_minute={self._rpm:g}, "
            f"burst={self._burst})"
        )

    @property
    def path(self) -> Path:
        """The state file."""
        return self._path

    @property
    def requests_per_minute(self) -> float:
        """The key's ceiling shared by all processes."""
        return self._rpm

    @property
    def burst(self) -> int:
        """How many requests may go at once after an idle period."""
        return self._burst

    async def acquire(self, *, max_wait: float | None = None) -> None:
        """Wait for this request's shared slot: book it (in a thread), then sleep here.

        Args:
            max_wait: Refuse at once, booking nothing, when the slot (or the end
                of a 429 pause) is further away than this many seconds. A slot
                voided by a pause is booked again within what is left of it.

        Raises:
            RateLimitWaitError: The slot is further away than `max_wait`.

        """
        cap = check_max_wait(max_wait)
        await anyio.lowlevel.checkpoint_if_cancelled()  # a cancelled caller books nothing
        start = time.monotonic()
        while True:
            left = None if cap is None else max(0.0, cap - (time.monotonic() - start))
            booking = await self._in_thread(self._book_now, left)
            try:
                if booking.wait > 0:
                    await anyio.sleep(booking.wait)
                else:
                    await anyio.lowlevel.checkpoint_if_cancelled()
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._in_thread(self._give_back, booking)
                raise
            if booking.wait <= 0 or not await self._in_thread(self._is_voided, booking):
                return

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """Pause every process sharing the file: push the shared TAT past `retry_after`.

        Args:
            retry_after: The server's `Retry-After` in seconds; None means the default.

        """
        pause = pause_length(retry_after)
        await self._in_thread(
            self._locked, lambda state, now: (_pause(state, now, pause, self._tolerance), None)
        )

    async def aclose(self) -> None:
        """Close the state file (it stays on disk; a later call opens it again). Idempotent."""
        with self._mutex:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    # --- the locked steps, run in worker threads ------------------------------------------

    async def _in_thread(self, func: Callable[..., T], *args: object) -> T:
        # Shielded: the thread runs to its end anyway; this keeps its result (a
        # booking) so that a cancellation can give the slot back.
        with anyio.CancelScope(shield=True):
            result = await anyio.to_thread.run_sync(functools.partial(func, *args))
        return result  # noqa: RET504 - returned outside the scope, which may swallow

    def _book_now(self, max_wait: float | None = None) -> _Booking:
        return self._locked(
            lambda state, now: _book(state, now, self._interval, self._tolerance, max_wait)
        )

    def _give_back(self, booking: _Booking) -> None:
        self._locked(lambda state, now: (_given_back(state, booking), None))

    def _is_voided(self, booking: _Booking) -> bool:
        return self._locked(lambda state, now: (None, _voided(state, booking)))

    def _locked(self, step: Callable[[_State, float], tuple[_State | None, T]]) -> T:
        """Run `step(state, now)` under the file lock; write back the state it returns."""
        with self._mutex:
            fd = self._fd_here()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise self._failed(exc) from exc
            try:
                data = os.pread(fd, RECORD_SIZE + 1, 0)
                now = self._clock()
                new_state, result = step(_rebase(_parse(data, self._path), now), now)
                if new_state is not None:
                    os.pwrite(fd, _dump(replace(new_state, written=now)), 0)
            except OSError as exc:
                raise self._failed(exc) from exc
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            return result

    def _failed(self, exc: OSError) -> ClubSMTPError:
        return ClubSMTPError(f"FileLimiter state file {self._path}: {exc.strerror or exc}")

    def _fd_here(self) -> int:
        """The file, opened by this process (a forked child must not share the parent's lock)."""
        if self._fd is None or self._pid != os.getpid():
            if self._fd is not None:
                os.close(self._fd)  # this process's copy of the parent's descriptor
            self._fd = _open_state(self._path)
            self._pid = os.getpid()
        return self._fd


def _open_state(path: Path) -> int:
    # O_NOFOLLOW: a symbolic link planted at the path must not redirect the writes.
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        raise ValidationError(
            f"FileLimiter: the directory {str(path.parent)!r} does not exist (create it first)"
        ) from None
    except IsADirectoryError:
        raise ValidationError(f"FileLimiter: {str(path)!r} is a directory, not a file") from None
    except ValueError:  # a NUL in the path
        raise ValidationError("FileLimiter: the path must not contain a NUL character") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ClubSMTPError(
                f"FileLimiter: {str(path)!r} is a symbolic link; give the file's own path"
            ) from None
        raise ClubSMTPError(f"FileLimiter cannot open {str(path)!r}: {exc.strerror}") from exc
    try:
        _check_owned(os.fstat(fd), path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_owned(info: os.stat_result, path: Path) -> None:
    """A regular file of this user that nobody else may write: another user's could stall us."""
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(f"FileLimiter: {str(path)!r} is not a regular file")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise ClubSMTPError(
            f"FileLimiter: {str(path)!r} belongs to another user; each service user needs "
            "its own state file (or run the processes as one user)"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ClubSMTPError(
            f"FileLimiter: {str(path)!r} is writable by other users (chmod 600 it): "
            "anyone who can write it can stall every process that uses it"
        )
