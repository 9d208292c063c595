"""Client-side pacing of one API key: the `Limiter` interface and its in-process limiters.

`LeakyBucketLimiter` is GCRA (the generic cell rate algorithm, i.e. a leaky bucket
run as *virtual scheduling*) on `anyio.current_time()` and `anyio.sleep()`, so it
runs on asyncio and trio. `NoLimiter` does no pacing but still honours a 429
pause. `docs/rate-limiting.md` explains the algorithm with timing transcripts.

```python
limiter = LeakyBucketLimiter(120, burst=4)   # 2 requests/s, up to 4 at once after idling
await limiter.acquire()                      # once per attempt, before sending
await limiter.on_rate_limited(8.0)           # the server answered 429 with Retry-After: 8
```
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

from ._errors import RateLimitWaitError, ValidationError
from ._loop import LoopClock, LoopRef, current_loop
from ._validation import finite_number, shown

__all__ = [
    "CATCH_UP_SECONDS",
    "DEFAULT_PAUSE",
    "EPISODE_SECONDS",
    "MIN_RATE_FRACTION",
    "RECOVERY_SECONDS",
    "THROTTLE_FACTOR",
    "Clock",
    "LeakyBucketLimiter",
    "Limiter",
    "NoLimiter",
    "Sleep",
    "accepts_max_wait",
    "check_max_wait",
    "gcra",
    "pause_length",
]

Clock = Callable[[], float]
"""The clock seam: monotonic seconds (default: `anyio.current_time`, kept continuous
across event loops by `LoopClock`)."""

Sleep = Callable[[float], Awaitable[None]]
"""The sleep seam: wait that many seconds of `Clock` time (default: `anyio.sleep`).

It must be cancellable like any anyio checkpoint: the limiter wakes a sleeper
early by cancelling an `anyio.CancelScope` around it.
"""

# --- The constants of the 429 reaction (documented in docs/rate-limiting.md) ------------

DEFAULT_PAUSE = 1.0
"""Seconds to pause on a 429 without a usable `Retry-After` (missing, NaN or infinite)."""

THROTTLE_FACTOR = 0.7
"""On a 429 the effective rate is multiplied by this (the AWS SDKs' adaptive mode uses 0.7)."""

MIN_RATE_FRACTION = 0.1
"""The effective rate never drops below this fraction of `requests_per_minute`."""

RECOVERY_SECONDS = 60.0
"""After the pause, the rate climbs back linearly to `requests_per_minute` over this time."""

CATCH_UP_SECONDS = 0.02
"""A waiter that wakes up late lets the next slots catch up by at most
`min(CATCH_UP_SECONDS, T / 2)`: ordinary scheduler jitter costs no throughput, but
an event-loop stall does not release the whole backlog at once afterwards."""

EPISODE_SECONDS = 1.0
"""429s closer than this to the one that lowered the rate (or arriving during its pause)
answer requests sent before the pause began, so they lower the rate only once."""


@runtime_checkable
class Limiter(Protocol):
    """Paces the requests of one API key. Shared by every task of a client (or of many clients).

    Implement these three coroutines to plug in another backend; see
    `docs/rate-limiting.md` for the contract (cancellation, pauses, failures).

    Optional: ``acquire(self, *, max_wait: float | None = None)``. A limiter whose
    `acquire` takes `max_wait` refuses at once, booking nothing, with
    `RateLimitWaitError` when the slot is further away; the client passes it
    only when a `max_wait` is set, and refuses (at construction) a `max_wait`
    for a limiter whose `acquire` does not take it (`accepts_max_wait`).
    """

    async def acquire(self) -> None:
        """Wait until one request may be sent.

        Called once per attempt, before taking an HTTP connection. Cancelling the
        wait must never let a later request go early.
        """
        ...

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """The server answered 429: hold every caller, and (adaptive) lower the rate for a while.

        Args:
            retry_after: Seconds to hold every caller (including callers already
                waiting); None means a default pause.

        """
        ...

    async def aclose(self) -> None:
        """Release resources (connections). Idempotent."""
        ...


def check_max_wait(max_wait: object) -> float | None:
    """The checked wait cap: None, or a finite number of seconds >= 0.

    Raises:
        ValidationError: for a negative, NaN or infinite number, or a non-number.

    """
    if max_wait is None:
        return None
    if not finite_number(max_wait) or not max_wait >= 0:
        raise ValidationError(
            f"max_wait must be None or a finite number of seconds >= 0, got {_shown(max_wait)}"
        )
    return float(max_wait)


def accepts_max_wait(limiter: object) -> bool:
    """Whether `limiter.acquire` takes a `max_wait` keyword (the optional part of `Limiter`)."""
    try:
        parameters = inspect.signature(limiter.acquire).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False
    return "max_wait" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


async def _anyio_sleep(delay: float) -> None:
    await anyio.sleep(delay)


def pause_length(retry_after: float | None) -> float:
    """Seconds a 429 with this `Retry-After` pauses every caller.

    Args:
        retry_after: The server's `Retry-After` in seconds, or None when it sent none.

    Returns:
        `retry_after` clamped at 0, or `DEFAULT_PAUSE` when it is None, NaN or infinite
        (an infinite pause would hang every task forever).

    """
    if retry_after is None or not math.isfinite(retry_after):
        return DEFAULT_PAUSE
    return max(0.0, float(retry_after))


def gcra(tat: float, arrival: float, interval: float, tolerance: float) -> tuple[float, float]:
    """One step of GCRA virtual scheduling: book a slot for a request arriving at `arrival`.

    Args:
        tat: The theoretical arrival time before this request.
        arrival: When the request asks to go.
        interval: The emission interval T (seconds per request) charged for it.
        tolerance: How far ahead of `tat` a request may go, `(burst - 1) * T`.

    Returns:
        `(send_at, new_tat)`: the earliest conforming send time and the advanced TAT.
        The TAT advances from the *planned* time, so a late wake-up never slows the rate.

    """
    send_at = max(arrival, tat - tolerance)
    return send_at, max(tat, send_at) + interval


MAX_REQUESTS_PER_MINUTE = 1e9
"""The highest rate a limiter takes: no key allows more (and the emulator's keys stop there)."""


def _check_rate(requests_per_minute: object, name: str = "requests_per_minute") -> float:
    # `not x > 0` rather than `x <= 0`: it refuses NaN too.
    if not finite_number(requests_per_minute) or not requests_per_minute > 0:
        shown = _shown(requests_per_minute)
        raise ValidationError(f"{name} must be a positive finite number, got {shown}")
    if requests_per_minute > MAX_REQUESTS_PER_MINUTE:
        raise ValidationError(
            f"{name} must be a positive finite number of at most "
            f"{MAX_REQUESTS_PER_MINUTE:g}, got {_shown(requests_per_minute)}"
        )
    return float(requests_per_minute)


MAX_BURST = 10**9
"""The largest burst a limiter takes (its tolerance must be a float of seconds)."""


def _check_burst(burst: object) -> int:
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= MAX_BURST:
        raise ValidationError(
            f"burst must be an integer from 1 to {MAX_BURST:,}, got {_shown(burst)}"
        )
    return burst


def _shown(value: object) -> str:
    # A number is shown; anything else only by its type (it could hold anything).
    if isinstance(value, (int, float)):
        return shown(value)
    return f"a {type(value).__name__}"


_PENDING, _SENT, _CANCELLED = 0, 1, 2


class _Slot:
    """One reservation: a request that has been given a planned send time."""

    __slots__ = ("arrival", "interval", "parked", "planned", "state", "tat_after", "wake")

    def __init__(self, arrival: float, interval: float, planned: float, tat_after: float) -> None:
        self.arrival = arrival  # when acquire() was called: a replay never plans earlier
        self.interval = interval  # T charged for this request (the rate in force when it came)
        self.planned = planned  # send time; replays move it (cancel: earlier, 429: later)
        self.tat_after = tat_after  # the TAT right after this slot
        self.state = _PENDING
        self.wake: anyio.CancelScope | None = None  # set while its task sleeps
        self.parked = False  # due, but sleeping until the slot before it leaves


class LeakyBucketLimiter:
    """The in-process limiter: GCRA virtual scheduling, FIFO-fair, anyio-only.

    Each `acquire()` synchronously books the next slot (its planned send time) and
    advances the theoretical arrival time (TAT) by `T = 60 / rate`, then sleeps until
    the slot. Slot order is call order, so the limiter is FIFO-fair with no lock and
    no polling; the TAT advances from planned times, so late wake-ups never slow the
    long-run rate. With `burst=b`, up to `b` requests go at once after an idle
    period, then the steady pace resumes; `burst=1` spaces requests exactly `T` apart.

    Invariant Q (kept by `_settle`): `_head_tat` is the TAT just before the first slot
    of `_queue`; replaying `gcra()` over the queue from it (cancelled slots skipped)
    yields every waiting slot's `planned` time and ends at `_tat`. Only the head of
    the queue may leave, so requests leave in slot order even after late wake-ups.
    A cancelled waiter is, for everybody still waiting, as if it had never
    arrived: the waiters behind it move up and no capacity is lost.

    A waiter that wakes late does not delay the next slots (the rate stays exact)
    unless it is later than `min(CATCH_UP_SECONDS, T / 2)`; past that bound (an
    event-loop stall) the queue is re-planned from `now - bound`, so a stall never
    releases its whole backlog at once.

    Args:
        requests_per_minute: The key's ceiling; the limiter never goes faster.
        burst: How many requests may go at once after an idle period (>= 1).
        adaptive: Lower the rate on a 429 and recover over `RECOVERY_SECONDS`.
        clock: Monotonic seconds; default `anyio.current_time`, kept continuous
            across event loops (`LoopClock`).
        sleep: Sleeps that many `clock` seconds; default `anyio.sleep`.

    Raises:
        ValidationError: `requests_per_minute` is not a positive finite number, or
            `burst` not an integer >= 1.

    """

    def __init__(
        self,
        requests_per_minute: float,
        *,
        burst: int = 1,
        adaptive: bool = True,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self._rpm = _check_rate(requests_per_minute)
        self._burst = _check_burst(burst)
        self._adaptive = adaptive
        self._clock: Clock = clock or LoopClock()
        self._sleep: Sleep = sleep or _anyio_sleep
        self._loop = LoopRef()  # the event loop of the tasks in `_queue`
        # GCRA state. -inf: "long idle", so the first `burst` requests go at once.
        self._tat = -math.inf
        self._head_tat = -math.inf
        self._queue: deque[_Slot] = deque()
        self._dirty = False  # a cancellation or a late wake-up awaits a replay of the queue
        # 429 state.
        self._paused_until = -math.inf
        self._episode_end = -math.inf
        self._lowered_rpm: float | None = None
        self._recovery_start = -math.inf

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(requests_per_minute={self._rpm:g}, "
            f"burst={self._burst}, adaptive={self._adaptive})"
        )

    @property
    def requests_per_minute(self) -> float:
        """The configured ceiling, in requests per minute."""
        return self._rpm

    @property
    def burst(self) -> int:
        """How many requests may go at once after an idle period."""
        return self._burst

    @property
    def adaptive(self) -> bool:
        """Whether a 429 lowers the rate for a while."""
        return self._adaptive

    @property
    def effective_rate(self) -> float:
        """The rate (requests per minute) given to requests that arrive now."""
        return self._rate_at(self._clock())

    @property
    def paused_until(self) -> float:
        """The `clock` time before which nothing is sent (in the past when not paused)."""
        return self._paused_until

    @property
    def waiting(self) -> int:
        """How many `acquire()` calls are waiting for their slot."""
        return sum(1 for slot in self._queue if slot.state == _PENDING)

    async def acquire(self, *, max_wait: float | None = None) -> None:
        """Wait for this request's slot. FIFO: slots are handed out in call order.

        Cancelling the wait gives the slot back: the waiters behind it move up.

        Args:
            max_wait: Refuse at once, booking nothing, when the slot (or the end
                of a 429 pause) is further away than this many seconds.

        Raises:
            RateLimitWaitError: The slot is further away than `max_wait`.

        """
        cap = check_max_wait(max_wait)
        # A caller cancelled already must not book (and then waste) a slot.
        await anyio.lowlevel.checkpoint_if_cancelled()
        if not self._loop.is_(loop := current_loop()):
            self._enter_loop(loop)
        slot = self._reserve(self._clock(), cap)
        if slot is not None:
            await self._wait(slot)

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """Pause every caller until `retry_after` seconds from now, then resume more slowly.

        Slots already booked (even by tasks asleep right now) move past the pause and
        are re-spaced at the new rate; the first request after the pause goes alone
        (no burst), since the server's bucket is full.

        Args:
            retry_after: The server's `Retry-After` in seconds; None means `DEFAULT_PAUSE`.

        """
        now = self._clock()
        self._paused_until = max(self._paused_until, now + pause_length(retry_after))
        if self._adaptive:
            self._lower_rate(now)
        self._push_back(60.0 / self._rate_at(now))

    async def aclose(self) -> None:
        """Nothing to release (present for the `Limiter` interface). Idempotent."""

    # --- booking and waiting ------------------------------------------------------------

    def _enter_loop(self, loop: object) -> None:
        """Forget the waiters of an earlier event loop: their tasks will never run again."""
        # A loop that ended with tasks still asleep here (closed without cancelling
        # them) would otherwise leave slots that nobody sends, ahead of everybody.
        # Their slots were never used, so they fold out as if cancelled. Times need
        # no shift: the default clock is continuous across loops (`LoopClock`).
        self._loop = LoopRef(loop)
        for slot in self._queue:
            if slot.state == _PENDING:
                slot.state = _CANCELLED
                slot.wake = None  # a cancel scope of the old loop: never touched again
                self._dirty = True

    def _tolerance(self, interval: float) -> float:
        return (self._burst - 1) * interval

    def _reserve(self, now: float, max_wait: float | None = None) -> _Slot | None:
        """Book the next slot; return it, or None when it is due now (no wait).

        Raises:
            RateLimitWaitError: it would be more than `max_wait` away (nothing booked).

        """
        if self._dirty:
            self._settle()
        interval = 60.0 / self._rate_at(now)
        planned, tat = gcra(self._tat, now, interval, self._tolerance(interval))
        # A pause has pushed the TAT past its end already (`_push_back`), so
        # `planned` accounts for it; the queue ahead is in the TAT too.
        if max_wait is not None and planned - now > max_wait:
            raise RateLimitWaitError(planned - now, max_wait=max_wait)
        self._tat = tat
        if planned <= now and not self._queue:
            self._head_tat = self._tat  # Q with an empty queue: head_tat == tat
            return None
        # Even a slot due now queues behind earlier waiters: sends leave in slot order.
        slot = _Slot(now, interval, planned, self._tat)
        self._queue.append(slot)
        return slot

    async def _wait(self, slot: _Slot) -> None:
        """Sleep until `slot.planned` and the slots before it are gone, then leave."""
        try:
            while True:
                if self._dirty:
                    self._settle()  # replays move `planned`: re-read it after every wake-up
                now = self._clock()
                if slot.planned <= now and self._queue[0] is slot:
                    break
                # Due but behind an earlier waiter that has not left yet (it woke up
                # late): park until it leaves and wakes us (FIFO hand-over).
                slot.parked = slot.planned <= now
                try:
                    # A replay that moves this slot earlier cancels this scope to wake us.
                    with anyio.CancelScope() as slot.wake:
                        await self._sleep(math.inf if slot.parked else slot.planned - now)
                finally:
                    slot.wake = None
        except BaseException:
            self._forfeit(slot)
            raise
        # Checked and marked with no await in between: a slot is sent at or after
        # its planned time, and a 429 pause always comes before `planned` is read.
        self._send(slot, now)

    def _send(self, slot: _Slot, now: float) -> None:
        slot.state = _SENT
        self._bound_catch_up(slot, now)
        self._drop_finished_heads()
        if self._queue and (head := self._queue[0]).parked and head.wake is not None:
            head.wake.cancel()  # the next waiter is due already and waits for us

    def _bound_catch_up(self, slot: _Slot, now: float) -> None:
        """After a late wake-up, let later slots compress by at most the catch-up bound."""
        # The TAT advances from planned times, so lateness normally costs nothing:
        # the next slots keep their times. Past the bound, count this slot as sent at
        # `now - bound` instead, and re-plan the queue (once per stall, not per slot).
        bound = min(CATCH_UP_SECONDS, slot.interval / 2)
        if now - slot.planned > bound:
            slot.planned = now - bound
            slot.tat_after = max(slot.tat_after, slot.planned + slot.interval)
            self._dirty = True

    def _forfeit(self, slot: _Slot) -> None:
        """Give a cancelled waiter's slot back (lazily, so mass cancellation stays O(n))."""
        slot.state = _CANCELLED
        self._dirty = True
        self._drop_finished_heads()
        # Wake the first waiter: it replays the queue once for all the cancellations of
        # this tick, moving everyone behind the freed slots up. With no waiter left,
        # the next acquire() replays (and so rewinds the TAT).
        if self._queue and (head := self._queue[0]).wake is not None:
            head.wake.cancel()

    def _drop_finished_heads(self) -> None:
        # Sent or cancelled slots at the head no longer affect anybody: fold them into
        # head_tat (Q). A cancelled slot folds in as nothing. Only the head is ever
        # sent, so after this the queue holds pending (and cancelled) slots only.
        queue = self._queue
        while queue and queue[0].state != _PENDING:
            slot = queue.popleft()
            if slot.state == _SENT:
                self._head_tat = slot.tat_after

    def _settle(self) -> None:
        """Replay GCRA over the queue from `_head_tat` (restores invariant Q)."""
        self._dirty = False
        self._drop_finished_heads()
        tat = self._head_tat
        kept: deque[_Slot] = deque()
        for slot in self._queue:
            if slot.state == _CANCELLED:
                continue
            tolerance = self._tolerance(slot.interval)
            planned, tat = gcra(tat, slot.arrival, slot.interval, tolerance)
            if planned < slot.planned and slot.wake is not None:
                slot.wake.cancel()  # its slot moved up: wake it to sleep less
            # A slot moved later needs no wake-up: its task re-reads `planned` on waking.
            slot.planned = planned
            slot.tat_after = tat
            kept.append(slot)
        self._queue = kept
        self._tat = tat

    # --- the 429 reaction -------------------------------------------------------------

    def _push_back(self, interval: float) -> None:
        """Move every booked slot (and the TAT) past the pause, re-spaced at `interval`."""
        self._drop_finished_heads()
        # As if the bucket were full at the pause's end: the first request after the
        # pause goes at `paused_until` exactly, the next one T later (no burst).
        floor = self._paused_until + self._tolerance(interval)
        self._head_tat = max(self._head_tat, floor)
        for slot in self._queue:
            if slot.state == _PENDING:
                slot.interval = max(slot.interval, interval)
        self._settle()

    def _lower_rate(self, now: float) -> None:
        """Multiply the rate by THROTTLE_FACTOR, once per throttling episode."""
        # Recovery starts when the (possibly extended) pause ends.
        self._recovery_start = self._paused_until
        if now < self._episode_end:
            # Answers a request sent before this episode's pause: lowered already.
            self._episode_end = max(self._episode_end, self._paused_until)
            return
        floor = self._rpm * MIN_RATE_FRACTION
        self._lowered_rpm = max(floor, self._rate_at(now) * THROTTLE_FACTOR)
        self._episode_end = max(self._paused_until, now + EPISODE_SECONDS)

    def _rate_at(self, now: float) -> float:
        """The effective rate: lowered after a 429, then linear recovery to the ceiling."""
        lowered = self._lowered_rpm
        if lowered is None:
            return self._rpm
        progress = (now - self._recovery_start) / RECOVERY_SECONDS
        if progress >= 1.0:
            return self._rpm  # recovered; never above the configured ceiling
        return lowered + (self._rpm - lowered) * max(progress, 0.0)


class NoLimiter:
    """No pacing (`requests_per_minute=None`), but a 429 still pauses every caller.

    Args:
        clock: Monotonic seconds; default `anyio.current_time`, kept continuous
            across event loops (`LoopClock`).
        sleep: Sleeps that many `clock` seconds; default `anyio.sleep`.

    """

    def __init__(self, *, clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        self._clock: Clock = clock or LoopClock()
        self._sleep: Sleep = sleep or _anyio_sleep
        self._paused_until = -math.inf

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def paused_until(self) -> float:
        """The `clock` time before which nothing is sent (in the past when not paused)."""
        return self._paused_until

    async def acquire(self, *, max_wait: float | None = None) -> None:
        """Return at once, unless a 429 pause is in force: then wait for its end.

        Args:
            max_wait: Refuse at once when the pause ends further away than this.

        Raises:
            RateLimitWaitError: The pause ends more than `max_wait` seconds from now.

        """
        cap = check_max_wait(max_wait)
        if self._paused_until == -math.inf:
            return  # never paused: no need to read the clock
        if cap is not None and (delay := self._paused_until - self._clock()) > cap:
            raise RateLimitWaitError(delay, max_wait=cap)
        # Re-read after each sleep: another 429 may have extended the pause meanwhile.
        while (delay := self._paused_until - self._clock()) > 0:
            await self._sleep(delay)

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """Pause every caller for `retry_after` seconds (`DEFAULT_PAUSE` if None).

        Args:
            retry_after: The server's `Retry-After` in seconds, or None.

        """
        until = self._clock() + pause_length(retry_after)
        self._paused_until = max(self._paused_until, until)

    async def aclose(self) -> None:
        """Nothing to release (present for the `Limiter` interface). Idempotent."""
