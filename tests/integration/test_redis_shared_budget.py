"""Four real processes share one key's budget through a real redis-server.

Each process (``rate_worker.py``) has its own SDK client with a `RedisLimiter`
configured at the key's ceiling, and sends as fast as its limiter lets it; one
emulator enforces the ceiling over real sockets. Together they must never trip
it. Under ``CI=true`` a missing redis-server fails these tests (never a skip).

The emulator runs in this process on the real clock, so its accepted
timestamps are `time.monotonic` values comparable with ours. The bounds are
about order and spacing, not speed, and are generous.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis_server import RedisServer, redis_server_binary

from clubsmtp_async.testing import Emulator, RateLimit, serve

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(45)]

WORKER = Path(__file__).with_name("rate_worker.py")
PROCESSES = 4
RPM = 600  # T = 100 ms


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = RedisServer(redis_server_binary()).start()
    try:
        yield server.url
    finally:
        server.stop()


def new_key() -> str:
    return f"sk_test_{uuid.uuid4().hex}"  # a fresh key: a fresh budget in Redis too


async def run_workers(
    base_url: str,
    api_key: str,
    count: int,
    limiter: str,
    where: str,
    *,
    timeout: float = 35,
    processes: int = PROCESSES,
) -> list[dict[str, Any]]:
    """Start the workers, release them together once all are ready, collect their results.

    `where` is the Redis URL, or the state file of a ``file`` limiter.
    """
    argv = [str(WORKER), base_url, api_key, str(RPM), str(count), limiter, where]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(processes)
    ]
    try:
        with anyio.fail_after(timeout):
            for proc in procs:
                assert proc.stdout is not None
                line = await proc.stdout.readline()
                assert line.strip() == b"ready", line
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
            outputs = [await proc.communicate() for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert [proc.returncode for proc in procs] == [0] * processes
    return [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]


def accepted(emulator: Emulator, api_key: str) -> list[float]:
    key = emulator.keys.get(api_key)
    assert key is not None
    return sorted(emulator.stats.accepted.get(key.id, ()))


@pytest.mark.asyncio
async def test_four_processes_through_redis_never_trip_the_shared_limit(redis_url: str) -> None:
    per_process = 15
    api_key = new_key()
    emulator = Emulator(api_keys=[api_key], requests_per_minute=RPM)
    async with serve(emulator) as server:
        results = await run_workers(server.base_url, api_key, per_process, "redis", redis_url)

    total = PROCESSES * per_process
    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert [r["ok"] for r in results] == [per_process] * PROCESSES
    assert emulator.stats.rate_limited == 0
    assert emulator.stats.statuses == {200: total}
    times = accepted(emulator, api_key)
    assert len(times) == total  # no retries: nothing failed
    # Together they kept the pace: total - 1 intervals, less the emulator's tolerance.
    assert times[-1] - times[0] >= (total - 1) * 60 / RPM - 0.1


@pytest.mark.asyncio
async def test_a_429_in_one_process_pauses_all_of_them(redis_url: str) -> None:
    per_process, retry_after = 10, 2
    api_key = new_key()
    emulator = Emulator(api_keys=[api_key], requests_per_minute=RPM)
    fault_added: list[float] = []

    async def inject_once_running() -> None:
        # After 8 requests, the next one (whichever process sent it) gets a 429.
        while len(accepted(emulator, api_key)) < 8:
            await asyncio.sleep(0.005)
        emulator.faults.add("GET", "/v1/ping", RateLimit(retry_after=retry_after), times=1)
        fault_added.append(time.monotonic())

    async with serve(emulator) as server:
        injector = asyncio.create_task(inject_once_running())
        results = await run_workers(server.base_url, api_key, per_process, "redis", redis_url)
        await injector

    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert emulator.stats.rate_limited == 1  # the injected one only
    times = accepted(emulator, api_key)
    assert len(times) == PROCESSES * per_process + 1  # the 429'd attempt and its retry
    # The faulted request is the first one accepted after the rule was added.
    faulted = next(t for t in times if t > fault_added[0])
    # Each other process may still send the one slot it had booked before the pause
    # reached Redis (at most PROCESSES slots ahead); after that, nobody sends until
    # the pause ends.
    window_start = faulted + PROCESSES * 60 / RPM + 0.1
    window_end = faulted + retry_after - 0.05
    during = [round(t - faulted, 3) for t in times if window_start < t < window_end]
    assert during == [], f"accepted during the shared pause (s after the 429): {during}"
    after = [t for t in times if t >= window_end]
    assert len(after) >= PROCESSES * per_process - 8 - PROCESSES - 1
