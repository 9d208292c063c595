"""The fleet end to end: a real redis-server, 4 saq worker processes, the producer, the emulator.

The emulator is served by this process over real sockets, on the real clock,
and enforces the key's ceiling; the four workers (``python -m saq
clubsmtp_fleet.tasks.settings``) share that ceiling through one `RedisLimiter`
budget, and the producer (``python -m clubsmtp_fleet.producer``) enqueues one
job per tenant file and collects the results. Under ``CI=true`` a missing
redis-server fails these tests, never skips them.

Nothing here waits for a fixed time: every wait polls a condition under a
bounded timeout, and the kill happens at a sync point (a victim's create that
the emulator has processed but not yet answered).
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from clubsmtp_fleet.lease import TenantLease
from clubsmtp_fleet.passwords import attempt_files, read_passwords
from redis.asyncio import Redis

from clubsmtp_async.onboarding import PasswordFile
from clubsmtp_async.testing import Emulator, serve

from .conftest import (
    FleetProcesses,
    account_state,
    expected_state,
    fleet_env,
    write_tenants,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.asyncio,
              pytest.mark.timeout(90)]

RPM = 600  # one request per 100 ms for the whole fleet
WORKERS = 4


def new_key() -> str:
    return f"sk_test_{uuid.uuid4().hex}"


def read_results(path: Path) -> dict[str, dict[str, Any]]:
    results = [json.loads(line) for line in path.read_text().splitlines()]
    return {result["tenant"]: result for result in results}


def check_passwords(emulator: Emulator, passwords: Path, tenants: dict[str, int]) -> None:
    """Every mailbox's password is the one its tenant's files give (latest attempt wins)."""
    by_address = {m["address"]: m["uuid"] for m in emulator.snapshot()["mailboxes"]}
    for tenant in tenants:
        written = read_passwords(passwords, tenant)
        mine = {a: u for a, u in by_address.items() if a.endswith(f"@{tenant}.example")}
        assert sorted(written) == sorted(mine)
        for address, mailbox_uuid in mine.items():
            assert emulator.check_password(mailbox_uuid, written[address]), address
        for path in attempt_files(passwords, tenant):
            assert path.stat().st_mode & 0o777 == 0o600
    assert passwords.stat().st_mode & 0o777 == 0o700


def assert_no_password_in(results: Path, passwords: Path, tenants: dict[str, int]) -> None:
    """No generated password is in the results (nor, so, in the queue's result records)."""
    text = results.read_text()
    for tenant in tenants:
        for path in attempt_files(passwords, tenant):
            for password in PasswordFile.read(path).values():
                assert not password or password not in text


def check_pace(emulator: Emulator, api_key: str) -> None:
    """The fleet never went faster than the key's ceiling (less the bucket's tolerance)."""
    key = emulator.keys.get(api_key)
    assert key is not None
    times = sorted(emulator.stats.accepted[key.id])
    assert times[-1] - times[0] >= (len(times) - 1) * 60 / RPM - 0.1


async def test_four_workers_apply_every_tenant_exactly_through_one_budget(
    redis_url: str, queue_name: str, tmp_path: Path, fleet_processes: list[FleetProcesses]
) -> None:
    tenants = {f"t{i}": 3 for i in range(8)}
    files = write_tenants(tmp_path / "tenants", tenants)
    passwords, results = tmp_path / "passwords", tmp_path / "results.jsonl"
    api_key = new_key()
    emulator = Emulator(api_keys=[api_key], requests_per_minute=RPM, seed=3)
    async with serve(emulator) as server:
        fleet = FleetProcesses(
            fleet_env(redis_url, queue_name, server.base_url, api_key, passwords, RPM),
            tmp_path / "logs")
        fleet_processes.append(fleet)
        await fleet.start_workers(WORKERS)
        status = await fleet.produce(files, results, max_wait=45)
        assert status == 0, fleet.log_tail()
        await fleet.stop()

    assert account_state(emulator) == expected_state(tenants)
    assert emulator.stats.rate_limited == 0
    assert set(emulator.stats.statuses) == {200}  # nothing refused, nothing failed
    assert emulator.stats.requests["POST /v1/mailboxes"] == sum(tenants.values())
    check_pace(emulator, api_key)
    check_passwords(emulator, passwords, tenants)
    by_tenant = read_results(results)
    assert sorted(by_tenant) == sorted(tenants)
    for result in by_tenant.values():
        assert result["ok"] is True
        assert result["status"] == "complete"
        assert result["counts"] == {"done": 1 + 3 + 1 + 1, "failed": 0, "skipped": 0}
        assert result["passwords"]["generated"] == 3
    assert_no_password_in(results, passwords, tenants)
    assert len({result["worker"] for result in by_tenant.values()}) >= 2  # the work was spread


class HoldVictimCreates:
    """ASGI wrapper: after `allowed` mailbox creates of one domain, process each further one
    but hold its answer until `release()`.

    The emulator has then created mailboxes whose creator never learns it did:
    the most ambiguous moment to kill the worker. Other domains pass through.
    """

    def __init__(self, emulator: Emulator, domain: str, allowed: int) -> None:
        self.app = emulator.app
        self.emulator = emulator
        self.domain = domain
        self.allowed = allowed
        self.seen = 0
        self.held = 0
        self.holding = True
        self._release = anyio.Event()

    def release(self) -> None:
        self.holding = False
        self._release.set()

    def _is_victim(self, body: bytes) -> bool:
        try:
            domain_uuid = json.loads(body).get("domain_uuid", "")
        except ValueError:
            return False
        domain = self.emulator.store.domains.get(str(domain_uuid).lower())
        return domain is not None and domain.name == self.domain

    async def __call__(self, scope: Any, receive: Any,
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if not (self.holding and scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == "/v1/mailboxes"):
            await self.app(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())
        replay = list(messages)

        async def replayed() -> Any:
            return replay.pop(0) if replay else await receive()

        if not self._is_victim(b"".join(m.get("body", b"") for m in messages)):
            await self.app(scope, replayed, send)
            return
        self.seen += 1
        if self.seen <= self.allowed:
            await self.app(scope, replayed, send)
            return

        async def held_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.held += 1
                await self._release.wait()
            await send(message)

        await self.app(scope, replayed, held_send)


def victim_mailboxes(emulator: Emulator) -> int:
    return sum(m.address.endswith("@victim.example") for m in emulator.store.mailboxes.values())


async def test_a_worker_killed_mid_job_is_replaced_by_a_retry_that_finishes_exactly(
    redis_url: str, queue_name: str, tmp_path: Path, fleet_processes: list[FleetProcesses]
) -> None:
    victim_size = 24
    tenants = {"victim": victim_size, **{f"s{i}": 2 for i in range(5)}}
    files = write_tenants(tmp_path / "tenants", tenants)  # the victim is enqueued first
    passwords, results = tmp_path / "passwords", tmp_path / "results.jsonl"
    api_key = new_key()
    emulator = Emulator(api_keys=[api_key], requests_per_minute=RPM, seed=4)
    hold = HoldVictimCreates(emulator, "victim.example", allowed=6)
    emulator.app = hold  # type: ignore[assignment]
    redis = Redis.from_url(redis_url)
    try:
        async with serve(emulator) as server, anyio.create_task_group() as tg:
            fleet = FleetProcesses(
                fleet_env(redis_url, queue_name, server.base_url, api_key, passwords, RPM),
                tmp_path / "logs")
            fleet_processes.append(fleet)
            await fleet.start_workers(WORKERS)
            status: list[int] = []

            async def produce() -> None:
                status.append(await fleet.produce(files, results, max_wait=60))

            tg.start_soon(produce)
            with anyio.fail_after(30):
                while hold.held < 2:
                    await anyio.sleep(0.01)
            holder = await TenantLease.holder_of(redis, queue_name, "victim")
            assert holder is not None
            killed = fleet.worker_with_pid(int(holder.rpartition(":")[2]))
            os.kill(killed.pid, signal.SIGKILL)
            assert await killed.wait() == -signal.SIGKILL
            created_at_kill = victim_mailboxes(emulator)
            assert hold.allowed + hold.held <= created_at_kill < victim_size
            hold.release()
        assert status == [0], fleet.log_tail()
        await fleet.stop()
    finally:
        await redis.aclose()

    # Exact: every tenant as declared, nothing twice, nothing refused, within the budget.
    assert account_state(emulator) == expected_state(tenants)
    assert emulator.stats.rate_limited == 0
    assert set(emulator.stats.statuses) == {200}
    assert emulator.stats.requests["POST /v1/mailboxes"] == sum(tenants.values())
    check_pace(emulator, api_key)
    check_passwords(emulator, passwords, tenants)
    by_tenant = read_results(results)
    assert sorted(by_tenant) == sorted(tenants)
    assert all(result["ok"] for result in by_tenant.values())
    victim = by_tenant["victim"]
    assert victim["attempts"] >= 2
    assert victim["attempt"] >= 2
    assert victim["worker"] != holder  # another process finished it
    # The retry planned only what the killed attempt had not done.
    fresh_actions = 1 + victim_size + 1 + 1
    assert victim["report"]["actions"] <= fresh_actions - 1 - created_at_kill
    assert victim["counts"]["failed"] == 0
    assert len(attempt_files(passwords, "victim")) >= 2
    assert_no_password_in(results, passwords, tenants)
