"""The attempt deadlines of one loop (`_deadlines`): each scope cancelled at its own deadline."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from clubsmtp_async._deadlines import ScopeDeadlines, TimerDeadlines, deadlines_for
from clubsmtp_async._loop import current_loop

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _wait_in_scope(deadlines: object, seconds: float, hold: float) -> tuple[bool, float]:
    """Wait `hold` seconds in a scope whose deadline is `seconds`: (cancelled?, time taken)."""
    assert isinstance(deadlines, (ScopeDeadlines, TimerDeadlines))
    started = anyio.current_time()
    with anyio.CancelScope() as scope:
        deadlines.start(scope, seconds)
        try:
            await anyio.sleep(hold)
        finally:
            deadlines.end(scope)
    return scope.cancelled_caught, anyio.current_time() - started


async def test_each_loop_gets_the_deadlines_it_keeps_cheaply(anyio_backend: str) -> None:
    deadlines = deadlines_for(current_loop())
    expected = TimerDeadlines if anyio_backend == "asyncio" else ScopeDeadlines
    assert type(deadlines) is expected


async def test_a_scope_is_cancelled_at_its_deadline_and_not_before(anyio_backend: str) -> None:
    deadlines = deadlines_for(current_loop())
    cancelled, took = await _wait_in_scope(deadlines, 0.05, hold=30)
    assert cancelled
    assert took >= 0.05


async def test_a_scope_done_before_its_deadline_is_left_alone(anyio_backend: str) -> None:
    deadlines = deadlines_for(current_loop())
    cancelled, _ = await _wait_in_scope(deadlines, 0.2, hold=0)
    assert not cancelled
    await anyio.sleep(0.3)  # past the deadline it had: nothing fires into the next scope
    cancelled, _ = await _wait_in_scope(deadlines, 30, hold=0.01)
    assert not cancelled


async def test_every_scope_gets_its_own_deadline(anyio_backend: str) -> None:
    # A long deadline first, a short one after it, and one that ends early:
    # each is cancelled at its own time, whatever the order they came in.
    deadlines = deadlines_for(current_loop())
    results: dict[str, tuple[bool, float]] = {}

    async def run(name: str, seconds: float, hold: float) -> None:
        results[name] = await _wait_in_scope(deadlines, seconds, hold)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "long", 0.3, 30)
        await anyio.sleep(0.01)
        tg.start_soon(run, "short", 0.05, 30)
        tg.start_soon(run, "done early", 0.05, 0)
    assert results["short"][0]
    assert results["short"][1] >= 0.05
    assert results["long"][0]
    assert results["long"][1] >= 0.3
    assert results["done early"][0] is False


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_timer_is_released_once_no_scope_waits(anyio_backend: str) -> None:
    deadlines = TimerDeadlines(asyncio.get_running_loop())
    cancelled, _ = await _wait_in_scope(deadlines, 0.05, hold=30)
    assert cancelled
    assert deadlines._timer is None  # nothing left on the loop
    assert not deadlines._waiting
    await _wait_in_scope(deadlines, 30, hold=0)
    assert not deadlines._waiting  # ended: forgotten (its timer fires once, finds nothing)
