"""Tests of the in-process limiters, in virtual time on asyncio and trio.

`VirtualTime` is the clock seam: `sleep()` parks the caller on a heap of
deadlines, and `drive()` jumps the clock to the next deadline only when every
task is blocked, so a schedule is reproduced exactly (or with an injected late
wake-up) without ever sleeping for real.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import hypothesis.strategies as st
import pytest
import sniffio
from hypothesis import given, settings

from clubsmtp_async import AsyncClient, RateLimitWaitError, ValidationError
from clubsmtp_async._limiter import (
    CATCH_UP_SECONDS,
    MIN_RATE_FRACTION,
    RECOVERY_SECONDS,
    THROTTLE_FACTOR,
    LeakyBucketLimiter,
    Limiter,
    NoLimiter,
    accepts_max_wait,
    check_max_wait,
    gcra,
    pause_length,
)

BACKENDS = ["asyncio", "trio"]


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- virtual time -----------------------------------------------------------------------


@dataclass(order=True)
class _Sleeper:
    at: float
    seq: int
    event: anyio.Event = field(compare=False, default_factory=anyio.Event)
    alive: bool = field(compare=False, default=True)


async def all_tasks_blocked() -> None:
    """Return once every other task waits on something (deterministic sync point)."""
    if sniffio.current_async_library() == "trio":
        await anyio.wait_all_tasks_blocked()
        return
    # anyio's asyncio version polls with a real 0.1 s sleep; sleep(0) keeps tests fast.
    # Blocked = every other task waits on a pending future and no callback (a task
    # wake-up, a done-callback) is queued to run.
    this = asyncio.current_task()
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(0)
        if not loop._ready and all(  # type: ignore[attr-defined]
            task is this
            or (task._fut_waiter is not None and not task._fut_waiter.done())  # type: ignore[attr-defined]
            for task in asyncio.all_tasks()
        ):
            return


class VirtualTime:
    """A fake clock and sleep; `late(deadline)` delays each wake-up (scheduler jitter, stalls)."""

    def __init__(self, late: Callable[[float], float] | None = None) -> None:
        self.now = 0.0
        self._heap: list[_Sleeper] = []
        self._seq = itertools.count()
        self._late = late
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps += 1
        at = self.now + max(delay, 0.0)
        sleeper = _Sleeper(at + (self._late(at) if self._late else 0.0), next(self._seq))
        heapq.heappush(self._heap, sleeper)
        try:
            await sleeper.event.wait()
        finally:
            sleeper.alive = False  # cancelled sleepers must not move the clock

    async def step(self) -> bool:
        await all_tasks_blocked()
        while self._heap and not self._heap[0].alive:
            heapq.heappop(self._heap)
        if not self._heap:
            return False
        sleeper = heapq.heappop(self._heap)
        self.now = max(self.now, sleeper.at)
        sleeper.event.set()
        return True

    async def drive(self, main: Callable[[], Awaitable[None]]) -> None:
        """Run `main()`, advancing virtual time whenever everything is blocked."""
        finished = False
        async with anyio.create_task_group() as tg:

            async def run_main() -> None:
                nonlocal finished
                await main()
                finished = True
                tg.cancel_scope.cancel()

            tg.start_soon(run_main)
            while not finished and await self.step():
                pass
            if not finished:
                raise AssertionError("deadlock: every task is blocked and nobody sleeps")

    def limiter(self, rpm: float, **kwargs: object) -> LeakyBucketLimiter:
        return LeakyBucketLimiter(rpm, clock=self.clock, sleep=self.sleep, **kwargs)  # type: ignore[arg-type]


async def acquire_many(
    vt: VirtualTime, limiter: Limiter, n: int, done: list[tuple[int, float]]
) -> None:
    """Start n tasks that acquire at once; record (call order, time) at each completion.

    trio starts tasks in any order, so each task numbers itself when it calls.
    """
    calls = itertools.count(len(done))

    async def one() -> None:
        call = next(calls)  # no await before acquire() books its slot: this is slot order
        await limiter.acquire()
        done.append((call, vt.now))

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)


def reference_schedule(arrivals: list[float], interval: float, burst: int) -> list[float]:
    """The ideal GCRA send times for these arrivals (pure, sequential)."""
    tat, out = -math.inf, []
    for arrival in arrivals:
        send_at, tat = gcra(tat, arrival, interval, (burst - 1) * interval)
        out.append(send_at)
    return out


def assert_conforms(times: list[float], interval: float, burst: int) -> None:
    """No window holds more requests than GCRA(T, (b-1)T) allows."""
    times = sorted(times)
    tolerance = (burst - 1) * interval
    for i, j in itertools.combinations(range(len(times)), 2):
        assert times[j] - times[i] >= (j - i) * interval - tolerance - 1e-9, (i, j, times)


# --- arguments and interface ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rpm", "burst", "message"),
    [
        (0, 1, "requests_per_minute must be a positive finite number"),
        (-5, 1, "requests_per_minute must be a positive finite number"),
        (math.nan, 1, "requests_per_minute must be a positive finite number"),
        (math.inf, 1, "requests_per_minute must be a positive finite number"),
        ("60", 1, "requests_per_minute must be a positive finite number, got a str"),
        (True, 1, "requests_per_minute must be a positive finite number, got True"),
        (None, 1, "requests_per_minute must be a positive finite number, got a NoneType"),
        (60, 0, "burst must be an integer from 1"),
        (60, 2.5, "burst must be an integer from 1"),
    ],
)
def test_arguments_are_validated(rpm: object, burst: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LeakyBucketLimiter(rpm, burst=burst)  # type: ignore[arg-type]


def test_properties_and_protocol() -> None:
    limiter = LeakyBucketLimiter(90, burst=3, adaptive=False)
    assert isinstance(limiter, Limiter)
    assert isinstance(NoLimiter(), Limiter)
    assert (limiter.requests_per_minute, limiter.burst, limiter.adaptive) == (90.0, 3, False)
    assert limiter.waiting == 0
    assert repr(limiter) == "LeakyBucketLimiter(requests_per_minute=90, burst=3, adaptive=False)"


def test_pause_length() -> None:
    assert pause_length(8) == 8.0
    assert pause_length(-1) == 0.0
    assert pause_length(None) == pause_length(math.nan) == pause_length(math.inf) == 1.0


# --- pacing ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_callers_leave_exactly_t_apart_in_call_order() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(600)  # T = 0.1 s, not exact in binary: checks accumulated error
    done: list[tuple[int, float]] = []
    await vt.drive(lambda: acquire_many(vt, limiter, 1000, done))
    order = [i for i, _ in done]
    assert order == sorted(order)  # FIFO: completion order is call order
    for k, (_, t) in enumerate(done):
        assert t == pytest.approx(k * 0.1, abs=1e-9)


@pytest.mark.anyio
@pytest.mark.parametrize("concurrent", [False, True])
async def test_late_wakeups_do_not_drift(concurrent: bool) -> None:
    rng = random.Random(7)
    vt = VirtualTime(late=lambda _: rng.uniform(0, CATCH_UP_SECONDS))  # scheduler jitter
    limiter = vt.limiter(60)
    done: list[tuple[int, float]] = []

    async def sequential() -> None:
        for i in range(500):
            await limiter.acquire()
            done.append((i, vt.now))

    await vt.drive(
        (lambda: acquire_many(vt, limiter, 500, done)) if concurrent else sequential
    )
    for k, (_, t) in enumerate(done):
        # Slot k is planned at exactly k*T whatever the earlier lateness: no drift.
        assert k * 1.0 - 1e-9 <= t <= k * 1.0 + CATCH_UP_SECONDS + 1e-9
    assert done[-1][1] < 500.0


@pytest.mark.anyio
async def test_a_stall_does_not_release_the_backlog_at_once() -> None:
    # The loop freezes from t=3 to t=8: every wake-up due then happens at 8.
    vt = VirtualTime(late=lambda at: 8 - at if 3 <= at < 8 else 0.0)
    limiter = vt.limiter(60)
    done: list[tuple[int, float]] = []
    await vt.drive(lambda: acquire_many(vt, limiter, 8, done))
    bound = CATCH_UP_SECONDS
    assert [t for _, t in done] == pytest.approx(
        [0, 1, 2, 8, 9 - bound, 10 - bound, 11 - bound, 12 - bound]
    )
    assert_conforms([t for _, t in done], 1.0 - bound, 1)


@pytest.mark.anyio
async def test_burst_then_steady_pace_then_refill() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, burst=4)
    done: list[tuple[int, float]] = []

    async def main() -> None:
        await acquire_many(vt, limiter, 10, done)
        await vt.sleep(100)  # idle long enough to refill the whole burst
        await acquire_many(vt, limiter, 5, done)

    await vt.drive(main)
    times = [t for _, t in done]
    assert times[:10] == pytest.approx([0, 0, 0, 0, 1, 2, 3, 4, 5, 6])
    assert times[10:] == pytest.approx([106, 106, 106, 106, 107])


@pytest.mark.anyio
async def test_idle_gaps_do_not_bank_more_than_burst() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)  # burst 1: after idling, still one at a time
    done: list[tuple[int, float]] = []

    async def main() -> None:
        await vt.sleep(30)
        await acquire_many(vt, limiter, 3, done)

    await vt.drive(main)
    assert [t for _, t in done] == pytest.approx([30, 31, 32])


# --- cancellation ------------------------------------------------------------------------


async def waiters_with_cancel(
    vt: VirtualTime, limiter: LeakyBucketLimiter, n: int, cancel: set[int], at: float,
    done: list[tuple[int, float]],
) -> None:
    """n waiters; those in `cancel` are cancelled at time `at`."""
    scopes = [anyio.CancelScope() for _ in range(n)]

    async def one(i: int) -> None:
        with scopes[i]:
            await limiter.acquire()
            done.append((i, vt.now))

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
            # A sync point: task i books before task i + 1 (trio starts tasks in any order).
            await vt.sleep(0)
        await vt.sleep(at)
        for i in cancel:
            scopes[i].cancel()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cancelled", "expected"),
    [
        ({2}, [(0, 0), (1, 1), (3, 2), (4, 3)]),  # a middle waiter: the ones behind move up
        ({1}, [(0, 0), (2, 1), (3, 2), (4, 3)]),  # the first waiter still waiting
        ({4}, [(0, 0), (1, 1), (2, 2), (3, 3)]),  # the last one
        ({1, 3}, [(0, 0), (2, 1), (4, 2)]),
    ],
)
async def test_cancelled_waiter_gives_its_slot_back(
    cancelled: set[int], expected: list[tuple[int, float]]
) -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)
    done: list[tuple[int, float]] = []

    async def main() -> None:
        await waiters_with_cancel(vt, limiter, 5, cancelled, 0.5, done)
        # No capacity lost: the next caller gets the slot right after the survivors'.
        await limiter.acquire()
        done.append((99, vt.now))

    await vt.drive(main)
    assert done == [*expected, (99, len(expected))]
    assert limiter.waiting == 0


@pytest.mark.anyio
async def test_cancelling_the_last_waiter_rewinds_for_a_newcomer() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)
    done: list[tuple[int, float]] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiters_with_cancel, vt, limiter, 3, {2}, 0.5, done)
            await vt.sleep(0.6)
            await limiter.acquire()  # arrives after the cancellation: takes slot 2, not 3
            done.append((99, vt.now))

    await vt.drive(main)
    assert done == [(0, 0), (1, 1), (99, 2)]


@pytest.mark.anyio
async def test_mass_cancellation_replays_once() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)
    replays = 0
    settle = limiter._settle

    def counting_settle() -> None:
        nonlocal replays
        replays += 1
        settle()

    limiter._settle = counting_settle  # type: ignore[method-assign]
    done: list[tuple[int, float]] = []

    async def main() -> None:
        await waiters_with_cancel(vt, limiter, 2000, set(range(1, 2000)), 0.5, done)
        await limiter.acquire()
        done.append((99, vt.now))

    await vt.drive(main)
    assert done == [(0, 0), (99, 1)]
    assert replays <= 3  # O(n) in total, not one O(n) replay per cancelled waiter


@pytest.mark.anyio
async def test_a_caller_cancelled_before_acquiring_books_nothing() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)

    async def main() -> None:
        await limiter.acquire()
        with anyio.CancelScope() as scope:
            scope.cancel()
            await limiter.acquire()
        await limiter.acquire()
        assert vt.now == 1.0  # the cancelled call did not take slot 1

    await vt.drive(main)


# --- 429 pause and adaptive rate ---------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("adaptive", [False, True])
async def test_pause_holds_waiters_already_asleep(adaptive: bool) -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, adaptive=adaptive)
    done: list[tuple[int, float]] = []

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(acquire_many, vt, limiter, 5, done)  # slots 0, 1, 2, 3, 4
            await vt.sleep(1.5)
            await limiter.on_rate_limited(10)  # slots 2..4 are asleep right now
            assert limiter.paused_until == 11.5
            await vt.sleep(3.5)
            await limiter.acquire()  # a newcomer during the pause queues behind them
            done.append((99, vt.now))

    await vt.drive(main)
    step = 60 / (60 * THROTTLE_FACTOR) if adaptive else 1.0
    assert [i for i, _ in done] == [0, 1, 2, 3, 4, 99]
    assert [t for _, t in done] == pytest.approx(
        [0, 1, 11.5, 11.5 + step, 11.5 + 2 * step, 11.5 + 3 * step]
    )


@pytest.mark.anyio
async def test_no_burst_right_after_a_pause() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, burst=3, adaptive=False)
    done: list[tuple[int, float]] = []

    async def main() -> None:
        await vt.sleep(100)
        await limiter.on_rate_limited(5)
        await vt.sleep(5)
        await acquire_many(vt, limiter, 4, done)
        await vt.sleep(50)
        await acquire_many(vt, limiter, 3, done)  # long after: the burst is back

    await vt.drive(main)
    assert [t for _, t in done] == pytest.approx([105, 106, 107, 108, 158, 158, 158])


@pytest.mark.anyio
async def test_adaptive_lowering_and_linear_recovery() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)

    async def main() -> None:
        assert limiter.effective_rate == 60
        await limiter.on_rate_limited(2)  # pause until 2, then recover until 62
        low = 60 * THROTTLE_FACTOR
        assert limiter.effective_rate == pytest.approx(low)
        await vt.sleep(0.5)
        await limiter.on_rate_limited(2)  # same episode: extends the pause, no new cut
        assert limiter.effective_rate == pytest.approx(low)
        assert limiter.paused_until == 2.5
        await vt.sleep(2.5 + RECOVERY_SECONDS / 2 - 0.5)
        assert limiter.effective_rate == pytest.approx(low + (60 - low) / 2)
        await vt.sleep(RECOVERY_SECONDS / 2)
        assert limiter.effective_rate == 60  # never above the ceiling
        for _ in range(20):  # separate episodes compound down to the floor
            await vt.sleep(1.0)
            await limiter.on_rate_limited(0)
        assert limiter.effective_rate == pytest.approx(60 * MIN_RATE_FRACTION)

    await vt.drive(main)


@pytest.mark.anyio
async def test_non_adaptive_keeps_its_rate() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, adaptive=False)

    async def main() -> None:
        await limiter.on_rate_limited(None)  # default pause
        assert limiter.paused_until == 1.0
        assert limiter.effective_rate == 60

    await vt.drive(main)


@pytest.mark.anyio
async def test_real_clock_and_sleep_defaults() -> None:
    limiter = LeakyBucketLimiter(60_000, burst=2)  # T = 1 ms
    start = anyio.current_time()
    for _ in range(5):
        await limiter.acquire()
    assert anyio.current_time() >= start + 0.003 - 1e-6  # slots 0, 0, 1, 2, 3 ms
    await limiter.aclose()
    await limiter.aclose()


# --- NoLimiter -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_no_limiter_only_pauses() -> None:
    vt = VirtualTime()
    limiter = NoLimiter(clock=vt.clock, sleep=vt.sleep)
    done: list[tuple[int, float]] = []

    async def main() -> None:
        await acquire_many(vt, limiter, 3, done)
        await limiter.on_rate_limited(5)
        async with anyio.create_task_group() as tg:
            tg.start_soon(acquire_many, vt, limiter, 3, done)
            await vt.sleep(2)
            await limiter.on_rate_limited(10)  # extends the pause of those already waiting
        await limiter.on_rate_limited(None)
        await limiter.acquire()
        done.append((99, vt.now))
        await limiter.aclose()

    await vt.drive(main)
    assert [t for _, t in done] == [0, 0, 0, 12, 12, 12, 13]
    assert repr(limiter) == "NoLimiter()"


# --- properties --------------------------------------------------------------------------

arrival_gaps = st.lists(st.floats(0, 3), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None)
@given(gaps=arrival_gaps, burst=st.integers(1, 4))
@pytest.mark.parametrize("backend", BACKENDS)
def test_property_schedule_is_exactly_gcra(backend: str, gaps: list[float], burst: int) -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, burst=burst)
    arrivals = list(itertools.accumulate(gaps))
    done: list[tuple[int, float]] = []

    async def main() -> None:
        async def one(i: int) -> None:
            await limiter.acquire()
            done.append((i, vt.now))

        async with anyio.create_task_group() as tg:
            for i, gap in enumerate(gaps):
                await vt.sleep(gap)
                tg.start_soon(one, i)

    anyio.run(vt.drive, main, backend=backend)
    # Equal times may complete in any order on trio; the schedule itself is exact.
    times = [t for _, t in sorted(done)]
    assert times == pytest.approx(reference_schedule(arrivals, 1.0, burst), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    gaps=arrival_gaps,
    burst=st.integers(1, 3),
    cancels=st.lists(st.one_of(st.none(), st.floats(0, 5)), min_size=25, max_size=25),
    pause=st.one_of(st.none(), st.tuples(st.floats(0, 20), st.floats(0, 5))),
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_property_cancellations_and_pauses_never_break_the_limit(
    backend: str,
    gaps: list[float],
    burst: int,
    cancels: list[float | None],
    pause: tuple[float, float] | None,
) -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, burst=burst, adaptive=False)
    done: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        with anyio.CancelScope() as scope:
            if cancels[i] is not None:
                tg_cancel.start_soon(cancel_later, scope, cancels[i])
            await limiter.acquire()
            done.append((i, vt.now))

    async def cancel_later(scope: anyio.CancelScope, delay: float) -> None:
        await vt.sleep(delay)
        scope.cancel()

    async def pauser() -> None:
        assert pause is not None
        await vt.sleep(pause[0])
        await limiter.on_rate_limited(pause[1])

    async def main() -> None:
        nonlocal tg_cancel
        # tg exits first (all waiters done) and only then tg_cancel (their cancellers).
        async with anyio.create_task_group() as tg_cancel, anyio.create_task_group() as tg:
            if pause is not None:
                tg.start_soon(pauser)
            for i, gap in enumerate(gaps):
                await vt.sleep(gap)
                tg.start_soon(one, i)

    tg_cancel: anyio.abc.TaskGroup
    anyio.run(vt.drive, main, backend=backend)
    assert_conforms([t for _, t in done], 1.0, burst)
    if pause is not None:
        start, length = pause
        assert not [t for _, t in done if start < t < start + length - 1e-9]
    assert limiter.waiting == 0


# --- max_wait ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf, "1", True, [1]])
def test_max_wait_is_validated(bad: object) -> None:
    with pytest.raises(ValidationError, match="max_wait must be None or a finite number"):
        check_max_wait(bad)


def test_max_wait_accepts_zero_and_numbers() -> None:
    assert check_max_wait(None) is None
    assert check_max_wait(0) == 0.0
    assert check_max_wait(2.5) == 2.5


@pytest.mark.anyio
async def test_max_wait_refuses_at_once_without_taking_a_slot() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60)  # T = 1 s
    done: list[tuple[str, float]] = []

    async def main() -> None:
        async def waiter(name: str, cap: float = 5) -> None:
            await limiter.acquire(max_wait=cap)
            done.append((name, vt.now))

        async with anyio.create_task_group() as tg:
            for k in range(6):  # slots 0..5: the sixth is exactly 5 s away, allowed
                tg.start_soon(waiter, f"w{k}")
            await vt.sleep(0)  # resumed once every waiter has booked
            with pytest.raises(RateLimitWaitError) as refused:
                await limiter.acquire(max_wait=5)  # slot 6 would be 6 s away
            assert vt.now == 0  # at once
            assert refused.value.retry_after == pytest.approx(6.0)
            assert refused.value.max_wait == 5
            tg.start_soon(waiter, "next", 6)  # gets slot 6, as if nobody had been refused

    await vt.drive(main)
    assert done[-1] == ("next", pytest.approx(6.0))
    assert [t for _, t in done] == pytest.approx([0, 1, 2, 3, 4, 5, 6])


@pytest.mark.anyio
async def test_max_wait_zero_goes_only_if_a_slot_is_free_now() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, burst=2)

    async def main() -> None:
        await limiter.acquire(max_wait=0)
        await limiter.acquire(max_wait=0)  # the burst
        with pytest.raises(RateLimitWaitError) as refused:
            await limiter.acquire(max_wait=0)
        assert refused.value.retry_after == pytest.approx(1.0)
        vt.now = 1.0
        await limiter.acquire(max_wait=0)

    await vt.drive(main)


@pytest.mark.anyio
async def test_max_wait_counts_a_429_pause() -> None:
    vt = VirtualTime()
    limiter = vt.limiter(60, adaptive=False)

    async def main() -> None:
        await limiter.on_rate_limited(10)
        with pytest.raises(RateLimitWaitError) as refused:
            await limiter.acquire(max_wait=9)
        assert refused.value.retry_after == pytest.approx(10.0)
        await limiter.acquire(max_wait=10)
        assert vt.now == pytest.approx(10.0)

    await vt.drive(main)


@pytest.mark.anyio
async def test_no_limiter_refuses_a_pause_longer_than_max_wait() -> None:
    vt = VirtualTime()
    limiter = NoLimiter(clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        await limiter.acquire(max_wait=0)
        await limiter.on_rate_limited(3)
        with pytest.raises(RateLimitWaitError) as refused:
            await limiter.acquire(max_wait=2)
        assert refused.value.retry_after == pytest.approx(3.0)
        await limiter.acquire(max_wait=3)
        assert vt.now == pytest.approx(3.0)

    await vt.drive(main)


def test_accepts_max_wait() -> None:
    class Old:
        async def acquire(self) -> None: ...

    class Open:
        async def acquire(self, **options: object) -> None: ...

    assert accepts_max_wait(LeakyBucketLimiter(60))
    assert accepts_max_wait(NoLimiter())
    assert accepts_max_wait(Open())
    assert not accepts_max_wait(Old())
    assert not accepts_max_wait(object())


@pytest.mark.parametrize(
    "make",
    [
        lambda: LeakyBucketLimiter(10**400),
        lambda: LeakyBucketLimiter(2e9),
        lambda: LeakyBucketLimiter(60, burst=10**400),
        lambda: AsyncClient("sk_test_x", requests_per_minute=10**400),
        lambda: AsyncClient("sk_test_x", max_wait=10**400),
    ],
    ids=["rate", "rate-over-any-key's", "burst", "client-rate", "client-max-wait"],
)
def test_ints_too_large_for_a_float_are_validation_errors(make: Callable[[], object]) -> None:
    with pytest.raises(ValidationError) as caught:
        make()
    assert len(str(caught.value)) < 200


def test_a_copy_refuses_a_huge_max_wait() -> None:
    async def main() -> None:
        async with AsyncClient("sk_test_x", requests_per_minute=None) as client:
            with pytest.raises(ValidationError):
                client.with_options(max_wait=10**400)

    asyncio.run(main())
