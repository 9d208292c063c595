"""`TenantLocks`: one onboarding per domain at a time in a process, no deadlock, no leak."""

from __future__ import annotations

import anyio
import pytest
from clubsmtp_service.locks import TenantLocks


@pytest.mark.anyio
async def test_overlapping_tenants_run_one_after_the_other() -> None:
    locks = TenantLocks()
    order: list[str] = []
    first_in = anyio.Event()
    release = anyio.Event()

    async def first() -> None:
        async with locks.hold(["a.example", "b.example"]):
            order.append("first in")
            first_in.set()
            await release.wait()
            order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with locks.hold(["b.example", "c.example"]):
            order.append("second in")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        tg.start_soon(second)
        await first_in.wait()
        await anyio.wait_all_tasks_blocked()
        assert order == ["first in"]  # second waits for b.example
        release.set()
    assert order == ["first in", "first out", "second in"]
    assert len(locks) == 0  # nothing kept once nobody holds a name


@pytest.mark.anyio
async def test_disjoint_tenants_do_not_wait_and_opposite_orders_do_not_deadlock() -> None:
    locks = TenantLocks()
    with anyio.fail_after(5):
        async with locks.hold(["a.example"]), locks.hold(["z.example"]):
            pass
        async with anyio.create_task_group() as tg:
            for names in (["x.example", "y.example"], ["y.example", "x.example"]) * 20:
                tg.start_soon(_hold, locks, names)
    assert len(locks) == 0


async def _hold(locks: TenantLocks, names: list[str]) -> None:
    async with locks.hold(names):
        await anyio.sleep(0)


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    locks = TenantLocks()

    async def waiter(scope: anyio.CancelScope) -> None:
        with scope:
            async with locks.hold(["a.example"]):
                pytest.fail("got a held lock")

    async with locks.hold(["a.example"]), anyio.create_task_group() as tg:
        scope = anyio.CancelScope()
        tg.start_soon(waiter, scope)
        await anyio.wait_all_tasks_blocked()
        scope.cancel()
    assert len(locks) == 0
