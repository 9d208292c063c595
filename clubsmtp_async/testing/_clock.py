"""Time sources for the emulator: the real one and a fake one for tests.

The emulator reads time in two forms. `Clock.now` is a monotonic number of
seconds, used for the rate-limit bucket (it must never jump backwards).
`Clock.utcnow` is a timezone-aware wall-clock `datetime`, used for the
timestamps in responses, UUIDv7 prefixes and key expiry. `FakeClock` moves
both together, so a test can step over a minute of rate limiting or past a
key's expiry without sleeping.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["Clock", "FakeClock", "SystemClock"]

_DEFAULT_START = datetime(2026, 1, 15, 9, 0, 0, tzinfo=timezone.utc)


@runtime_checkable
class Clock(Protocol):
    """What the emulator needs from a clock."""

    def now(self) -> float:
        """Monotonic seconds, for the rate-limit bucket."""
        ...

    def utcnow(self) -> datetime:
        """The current UTC time (timezone-aware), for timestamps and expiry."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time (used by latency faults)."""
        ...


class SystemClock:
    """The real clock: `time.monotonic`, `datetime.now(UTC)` and `anyio.sleep`."""

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def utcnow(self) -> datetime:
        """The current UTC time."""
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        """Sleep for real with `anyio.sleep`."""
        await anyio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to.

    Example:
        >>> clock = FakeClock()
        >>> clock.advance(1.5)
        >>> clock.now()
        1.5

    Args:
        start: The wall-clock time at `now() == 0.0`; defaults to
            2026-01-15T09:00:00Z. Naive datetimes are taken as UTC.

    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or _DEFAULT_START
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._start = start
        self._elapsed = 0.0

    def __repr__(self) -> str:
        return f"FakeClock(now={self._elapsed!r}, utcnow={self.utcnow().isoformat()!r})"

    def now(self) -> float:
        """Seconds advanced since creation."""
        return self._elapsed

    def utcnow(self) -> datetime:
        """The start time plus the seconds advanced."""
        return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        """Move time forward.

        Args:
            seconds: How far; must not be negative.

        Raises:
            ValueError: if `seconds` is negative.

        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance the clock by `seconds` at once, then yield to other tasks.

        Virtual time is serial: two tasks sleeping one second each at the same
        time advance the clock by two seconds.
        """
        self.advance(max(0.0, seconds))
        await anyio.lowlevel.checkpoint()
