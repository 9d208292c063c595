"""The attempt deadlines of one event loop's calls.

Every attempt runs in a cancel scope that is cancelled at its deadline
(`_client.AsyncClient._send`). Giving each scope a deadline of its own costs a
timer a request on asyncio (a handle made, pushed on the loop's heap, and
cancelled again when the answer comes, almost always long before the
deadline): about 1.5 % of a request's CPU. On asyncio, `TimerDeadlines` keeps
one timer for all the calls of a loop instead, due at the earliest deadline:
when it fires it cancels the scopes whose deadline has passed and re-arms for
the next one. Elsewhere (trio), `ScopeDeadlines` sets each scope's own
deadline, which trio keeps cheaply.

Either way a scope is cancelled at its deadline, as `CancelScope.deadline`
would: the timer cancels it with the same `cancel()` anyio's own timer calls.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import anyio

from ._loop import loop_clock

__all__ = ["Deadlines", "ScopeDeadlines", "TimerDeadlines", "deadlines_for"]


class ScopeDeadlines:
    """Each scope's own deadline (``CancelScope.deadline``), on `clock`'s time."""

    __slots__ = ("_clock",)

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def start(self, scope: anyio.CancelScope, seconds: float) -> None:
        """Cancel `scope` `seconds` from now, unless `end` comes first."""
        scope.deadline = self._clock() + seconds

    def end(self, scope: anyio.CancelScope) -> None:
        """`scope` is done (its deadline ends with it)."""


class TimerDeadlines:
    """The deadlines of an asyncio loop's scopes, kept by one timer of the loop."""

    __slots__ = ("_due", "_loop", "_timer", "_waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[anyio.CancelScope, float] = {}  # scope -> its deadline
        self._timer: asyncio.TimerHandle | None = None
        self._due = math.inf  # when the timer fires; inf when none is armed

    def start(self, scope: anyio.CancelScope, seconds: float) -> None:
        """Cancel `scope` `seconds` from now, unless `end` comes first."""
        deadline = self._loop.time() + seconds
        self._waiting[scope] = deadline
        if deadline < self._due:  # rare: the first call, or a shorter deadline than the rest
            self._arm(deadline)

    def end(self, scope: anyio.CancelScope) -> None:
        """`scope` is done: forget its deadline (the timer is left for the others)."""
        self._waiting.pop(scope, None)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._fire)
        self._due = when

    def _fire(self) -> None:
        self._timer = None
        self._due = math.inf
        now = self._loop.time()
        expired = [scope for scope, deadline in self._waiting.items() if deadline <= now]
        for scope in expired:
            del self._waiting[scope]
            scope.cancel()
        if self._waiting:
            self._arm(min(self._waiting.values()))


Deadlines = ScopeDeadlines | TimerDeadlines


def deadlines_for(loop: object) -> Deadlines:
    """The deadlines of `loop` (from `_loop.current_loop()`)."""
    if isinstance(loop, asyncio.AbstractEventLoop):
        return TimerDeadlines(loop)
    return ScopeDeadlines(loop_clock(loop))
