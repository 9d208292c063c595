"""One attempt of a tenant's job (`FleetWorker.onboard`), in this process, on real saq jobs.

Real redis-server, real saq queue and jobs, the emulator served over real
sockets: what the task returns, what it raises to have the job retried, and
how an attempt that loses its lease stops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from clubsmtp_fleet.config import FleetConfig
from clubsmtp_fleet.lease import LeaseLost, TenantLease, lease_key
from clubsmtp_fleet.passwords import read_passwords
from clubsmtp_fleet.producer import job_key
from clubsmtp_fleet.tasks import TASK, FleetWorker, RetryableFailure, make_queue
from redis.asyncio import Redis
from saq import Queue
from saq.job import Job, Status

from clubsmtp_async import ServerError
from clubsmtp_async.onboarding import dump_tenant, parse_tenant
from clubsmtp_async.testing import Emulator, ErrorBefore, serve

from .conftest import account_state, expected_state, tenant_toml

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.asyncio,
              pytest.mark.timeout(30)]

API_KEY = "sk_test_" + "f1eet" * 8


def spec_json(text: str) -> str:
    return dump_tenant(parse_tenant(text, "toml"), "json")


class Gate:
    """ASGI wrapper that, once `close()`d, holds each ``POST /v1/domains`` unprocessed until
    `open()`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.waiting = 0
        self._opened = anyio.Event()
        self._opened.set()

    def close(self) -> None:
        self._opened = anyio.Event()

    def open(self) -> None:
        self._opened.set()

    async def __call__(self, scope: Any, receive: Any,
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) == ("POST",
                                                                            "/v1/domains"):
            self.waiting += 1
            await self._opened.wait()
        await self.app(scope, receive, send)


@dataclass
class Setup:
    """What one test works with: the emulator (behind a gate), a worker's state, the queue."""

    emulator: Emulator
    gate: Gate
    fleet: FleetWorker
    queue: Queue


@asynccontextmanager
async def setup(redis_url: str, queue_name: str, tmp_path: Path) -> AsyncIterator[Setup]:
    """Serve an emulator and open a `FleetWorker` and the queue (all in the test's task)."""
    emulator = Emulator(api_keys=[API_KEY], requests_per_minute=60_000, burst=1_000, seed=5)
    gate = Gate(emulator.app)
    emulator.app = gate  # type: ignore[assignment]
    config = FleetConfig(redis_url=redis_url, api_key=API_KEY, requests_per_minute=60_000,
                         queue=queue_name, passwords_dir=tmp_path / "passwords")
    async with serve(emulator) as server:
        fleet = FleetWorker(replace(config, base_url=server.base_url))
        original = fleet.client
        queue = make_queue(config)
        await queue.connect()
        try:
            yield Setup(emulator, gate, fleet, queue)
        finally:
            gate.open()
            fleet.client = original
            await fleet.aclose()
            await queue.disconnect()


async def running_job(queue: Queue, tenant: str, spec: str, *, attempt: int = 1,
                      attempts: int = 2, heartbeat: int = 3) -> Job:
    """A job of the tenant as a worker holds it: dequeued, active, at `attempt`."""
    enqueued = await queue.enqueue(TASK, key=job_key(tenant), tenant=tenant, spec=spec,
                                   timeout=0, heartbeat=heartbeat, retries=attempts)
    assert enqueued is not None
    job = await queue.dequeue(timeout=5)
    assert job is not None
    job.attempts = attempt
    await job.update(status=Status.ACTIVE)
    return job


async def test_a_tenant_is_applied_and_its_result_holds_no_password(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    spec = spec_json(tenant_toml("acme", 3))
    async with setup(redis_url, queue_name, tmp_path) as s:
        result = await s.fleet.onboard(await running_job(s.queue, "acme", spec), "acme", spec)
        finished = await s.queue.job(job_key("acme"))
        assert finished is not None
        await finished.finish(Status.COMPLETE)
        again = await s.fleet.onboard(await running_job(s.queue, "acme", spec), "acme", spec)
    emulator = s.emulator
    assert result["ok"] is True
    assert result["counts"] == {"done": 6, "failed": 0, "skipped": 0}
    assert result["attempt"] == 1
    assert result["passwords"] == {"file": str(tmp_path / "passwords" / "acme.000001.csv"),
                                   "generated": 3}
    assert result["report"]["actions"] == 6
    assert account_state(emulator) == expected_state({"acme": 3})
    written = read_passwords(tmp_path / "passwords", "acme")
    assert sorted(written) == [f"u{m}@acme.example" for m in range(3)]
    text = json.dumps(result)
    assert not any(password in text for password in written.values())
    for mailbox in emulator.snapshot()["mailboxes"]:
        assert emulator.check_password(mailbox["uuid"], written[mailbox["address"]])
    assert again["ok"] is True
    assert again["attempt"] == 2
    assert again["report"]["actions"] == 0  # converged: nothing to do
    assert again["passwords"] == {"file": None, "generated": 0}


async def test_a_tenant_that_cannot_be_planned_ends_with_its_error_not_a_retry(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    text = tenant_toml("acme", 2).replace('forward_to = ["u0", "u1"]',
                                          'forward_to = ["carol@elsewhere.example"]')
    spec = spec_json(text)
    async with setup(redis_url, queue_name, tmp_path) as s:
        job = await running_job(s.queue, "acme", spec, attempt=1)
        result = await s.fleet.onboard(job, "acme", spec)
    assert result["ok"] is False
    assert result["error"]["type"] == "PlanError"
    assert "carol@elsewhere.example" in result["error"]["message"]
    assert s.emulator.snapshot()["domains"] == []


async def test_a_passing_failure_is_retried_while_attempts_remain_then_reported(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    spec = spec_json(tenant_toml("acme", 2))
    async with setup(redis_url, queue_name, tmp_path) as s:
        s.fleet.client = s.fleet.client.with_options(max_retries=0)
        s.emulator.faults.add("GET", "/v1/domains", ErrorBefore(status=503))
        job = await running_job(s.queue, "acme", spec, attempt=1)
        with pytest.raises(ServerError):  # the queue tries again
            await s.fleet.onboard(job, "acme", spec)
        job.attempts = 2  # the last attempt reports instead
        result = await s.fleet.onboard(job, "acme", spec)
    assert result["ok"] is False
    assert result["error"]["type"] == "ServerError"


async def test_failed_actions_for_a_passing_reason_retry_the_job(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    spec = spec_json(tenant_toml("acme", 2))
    async with setup(redis_url, queue_name, tmp_path) as s:
        s.fleet.client = s.fleet.client.with_options(max_retries=0)
        s.emulator.faults.add("POST", "/v1/aliases", ErrorBefore(status=500))
        job = await running_job(s.queue, "acme", spec, attempt=1)
        with pytest.raises(RetryableFailure, match="1 action"):
            await s.fleet.onboard(job, "acme", spec)
        job.attempts = 2
        result = await s.fleet.onboard(job, "acme", spec)
    assert result["ok"] is False
    assert result["counts"] == {"done": 0, "failed": 1, "skipped": 0}  # only the alias was left


async def test_an_attempt_that_loses_its_lease_stops(
    redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    spec = spec_json(tenant_toml("acme", 2))
    outcome: list[BaseException] = []
    redis = Redis.from_url(redis_url)
    try:
        async with setup(redis_url, queue_name, tmp_path) as s:
            s.gate.close()
            job = await running_job(s.queue, "acme", spec, heartbeat=1)

            async def attempt() -> None:
                try:
                    await s.fleet.onboard(job, "acme", spec)
                except LeaseLost as exc:
                    outcome.append(exc)

            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(attempt)
                    while s.gate.waiting == 0:  # the domain's create is on its way
                        await anyio.sleep(0.01)
                    assert await TenantLease.holder_of(redis, queue_name, "acme") is not None
                    await redis.set(lease_key(queue_name, "acme"), "elsewhere:1:token")
    finally:
        await redis.aclose()
    assert len(outcome) == 1
    assert "stopped" in str(outcome[0])

