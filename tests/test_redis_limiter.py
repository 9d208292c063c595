"""Tests of `RedisLimiter` against a real redis-server (started by the fixtures below)."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import redis.exceptions
from redis.asyncio import Redis
from redis_server import RedisServer, free_port, redis_server_binary

from clubsmtp_async import RateLimitWaitError
from clubsmtp_async._redis_limiter import RedisLimiter, RedisLimiterFallbackWarning

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis-py's client is asyncio-only


@pytest.fixture(scope="module")
def redis_binary() -> str:
    return redis_server_binary()


@pytest.fixture(scope="module")
def redis_url(redis_binary: str) -> Iterator[str]:
    server = RedisServer(redis_binary).start()
    try:
        yield server.url
    finally:
        server.stop()


def new_api_key() -> str:
    return f"sk_test_{uuid.uuid4().hex}"


async def redis_time_us(client: Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1_000_000 + int(micros)


# --- construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute must be a positive finite number"),
        ({"burst": 0}, "burst must be an integer from 1"),
        ({"on_redis_error": "ignore"}, "on_redis_error must be 'fallback' or 'raise'"),
        ({"fallback_processes": 0}, "fallback_processes must be an integer >= 1"),
        ({"redis_retry_interval": 0}, "redis_retry_interval must be > 0"),
        ({"max_connections": 0}, "max_connections must be >= 1"),
    ],
)
def test_arguments_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisLimiter("redis://127.0.0.1:1/0", "sk_test_x", **kwargs)  # type: ignore[arg-type]


def test_empty_api_key_is_refused() -> None:
    with pytest.raises(ValueError, match="api_key must be a non-empty string"):
        RedisLimiter("redis://127.0.0.1:1/0", "")


# --- the scripts -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_state_lives_under_a_hash_of_the_api_key(redis_url: str) -> None:
    api_key = new_api_key()
    limiter = RedisLimiter(redis_url, api_key, requests_per_minute=600)
    try:
        await limiter.acquire()
    finally:
        await limiter.aclose()
    expected = "clubsmtp:limiter:" + hashlib.sha256(api_key.encode()).hexdigest()
    assert limiter.key == expected
    assert api_key not in repr(limiter)
    async with Redis.from_url(redis_url) as client:
        keys = [key async for key in client.scan_iter("*")]
        values = [await client.get(key) for key in keys]
    assert expected.encode() in keys
    assert not [k for k in keys + values if api_key.encode() in (k or b"")]


@pytest.mark.anyio
async def test_consecutive_bookings_are_spaced_by_t(redis_url: str) -> None:
    interval = 1_000_000  # 60 rpm, in microseconds
    limiter = RedisLimiter(redis_url, new_api_key(), requests_per_minute=60)
    async with Redis.from_url(redis_url) as client:
        tats = []
        for k in range(5):
            before = await redis_time_us(client)
            wait = await limiter._book()
            after = await redis_time_us(client)
            assert wait is not None
            tat = int(await client.get(limiter.key))
            # The script saw Redis-now = send_at - wait, with send_at = tat - T (burst 1).
            assert before <= tat - interval - round(wait * 1_000_000) <= after
            assert (wait == 0) == (k == 0)
            tats.append(tat)
        now = await redis_time_us(client)  # read first: the TTL only shrinks after it
        ttl_ms = await client.pttl(limiter.key)
    await limiter.aclose()
    assert [b - a for a, b in itertools.pairwise(tats)] == [interval] * 4
    # Expires about 1 s after the TAT has passed; Redis's expiry clock is its cached
    # command time, which may differ from TIME by a few milliseconds.
    assert 0 < ttl_ms <= (tats[-1] - now) // 1000 + 1010


@pytest.mark.anyio
async def test_burst_lets_the_first_requests_go_at_once(redis_url: str) -> None:
    limiter = RedisLimiter(redis_url, new_api_key(), requests_per_minute=60, burst=3)
    try:
        waits = [await limiter._book() for _ in range(4)]
    finally:
        await limiter.aclose()
    assert waits[:3] == [0, 0, 0]
    assert waits[3] is not None
    assert 0.5 < waits[3] <= 1.0


@pytest.mark.anyio
async def test_a_429_pushes_back_every_process(redis_url: str) -> None:
    api_key = new_api_key()
    first = RedisLimiter(redis_url, api_key, requests_per_minute=6000)
    other = RedisLimiter(redis_url, api_key, requests_per_minute=6000)  # "another process"
    try:
        await first.acquire()
        await first.on_rate_limited(2)
        wait = await other._book()
        assert wait is not None
        assert 1.5 < wait <= 2.0  # Redis-now + 2 s, minus the round trips since
        start = anyio.current_time()
        await first.on_rate_limited(0.2)  # shorter: the shared pause stays 2 s
        assert first._paused_until >= start + 0.2
    finally:
        await first.aclose()
        await other.aclose()


@pytest.mark.anyio
async def test_acquire_sleeps_through_a_local_pause(redis_url: str) -> None:
    limiter = RedisLimiter(redis_url, new_api_key(), requests_per_minute=60_000)
    try:
        start = anyio.current_time()
        await limiter.on_rate_limited(0.2)
        await limiter.acquire()
        assert anyio.current_time() >= start + 0.2
    finally:
        await limiter.aclose()


@pytest.mark.anyio
async def test_aclose_leaves_a_callers_client_open(redis_url: str) -> None:
    async with Redis.from_url(redis_url) as client:
        limiter = RedisLimiter(client, new_api_key(), requests_per_minute=600)
        await limiter.acquire()
        await limiter.aclose()
        await limiter.aclose()
        assert await client.ping()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_is_refused_clearly() -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0", new_api_key())
    with pytest.raises(RuntimeError, match="RedisLimiter needs asyncio"):
        await limiter.acquire()


# --- Redis unreachable -------------------------------------------------------------------


async def use(limiter: RedisLimiter, n: int, *, rate_limited: bool = False) -> None:
    for _ in range(n):
        await limiter.acquire()
    if rate_limited:
        await limiter.on_rate_limited(0)
        await limiter.acquire()


@pytest.mark.anyio
async def test_unreachable_redis_falls_back_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = RedisLimiter(url, new_api_key(), requests_per_minute=60_000, fallback_processes=4)
    caplog.set_level(logging.WARNING, logger="clubsmtp_async")
    try:
        with pytest.warns(RedisLimiterFallbackWarning, match="Redis unreachable") as record:
            await use(limiter, 5, rate_limited=True)
        assert len(record) == 1
        assert limiter.fallback_active
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    finally:
        await limiter.aclose()


@pytest.mark.anyio
async def test_raise_mode_propagates_the_connection_error() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RedisLimiter(url, new_api_key(), on_redis_error="raise")
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            await limiter.acquire()
        with pytest.raises(redis.exceptions.ConnectionError):
            await limiter.on_rate_limited(1)
    finally:
        await limiter.aclose()


@pytest.mark.anyio
async def test_redis_is_retried_and_each_outage_warns_once(redis_binary: str) -> None:
    server = RedisServer(redis_binary)
    limiter = RedisLimiter(
        server.url, new_api_key(), requests_per_minute=60_000, redis_retry_interval=0.05
    )
    try:
        with pytest.warns(RedisLimiterFallbackWarning):
            await limiter.acquire()  # not started yet: outage 1
        server.start()
        await anyio.sleep(0.1)  # past the retry interval
        await limiter.acquire()
        assert not limiter.fallback_active
        async with Redis.from_url(server.url) as client:
            assert await client.exists(limiter.key)
        server.stop()
        with pytest.warns(RedisLimiterFallbackWarning):
            await use(limiter, 2)  # outage 2
        assert limiter.fallback_active
    finally:
        server.stop()
        await limiter.aclose()


# --- several processes sharing one key ---------------------------------------------------

WORKER = """
import json, sys, time
import anyio
from clubsmtp_async._redis_limiter import RedisLimiter

url, api_key = sys.argv[1], sys.argv[2]
rpm, start, stop = map(float, sys.argv[3:6])

async def main():
    limiter = RedisLimiter(url, api_key, requests_per_minute=rpm)
    stamps = []

    async def task():
        while time.time() < stop:
            await limiter.acquire()
            stamps.append(time.time())

    await anyio.sleep(max(0.0, start - time.time()))
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(task)
    await limiter.aclose()
    print(json.dumps(stamps))

anyio.run(main)
"""


@pytest.mark.slow
def test_four_processes_share_one_budget(redis_url: str) -> None:
    rpm, duration, processes = 3000.0, 2.0, 4
    interval = 60.0 / rpm
    start = time.time() + 1.5  # every process imports and connects before this
    argv = [sys.executable, "-c", WORKER, redis_url, new_api_key(), str(rpm),
            str(start), str(start + duration)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    stamps: list[float] = []
    for worker in workers:
        out, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0
        stamps += json.loads(out)
    stamps.sort()
    # GCRA (burst 1): any k+1 consecutive sends span at least k*T; 50 ms for
    # scheduling jitter between the processes' clocks reads and their wake-ups.
    for i in range(len(stamps)):
        for j in range(i + 1, len(stamps)):
            assert stamps[j] - stamps[i] >= (j - i) * interval - 0.05, (i, j)
    assert len(stamps) >= 0.5 * duration / interval  # and it did let requests through


# --- max_wait ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_max_wait_is_checked_and_booked_atomically(redis_url: str) -> None:
    limiter = RedisLimiter(redis_url, new_api_key(), requests_per_minute=60)  # T = 1 s
    try:
        assert await limiter._book(max_wait=0) == 0
        async with Redis.from_url(redis_url) as client:
            tat = await client.get(limiter.key)
            with pytest.raises(RateLimitWaitError) as refused:
                await limiter._book(max_wait=0.5)  # the next slot is ~1 s away
            assert 0.9 < refused.value.retry_after <= 1.0
            assert await client.get(limiter.key) == tat  # nothing booked
        wait = await limiter._book(max_wait=1.0)  # the refused call took no slot
        assert wait is not None
        assert 0.9 < wait <= 1.0
    finally:
        await limiter.aclose()


@pytest.mark.anyio
async def test_max_wait_counts_a_pause_from_another_process(redis_url: str) -> None:
    api_key = new_api_key()
    first = RedisLimiter(redis_url, api_key, requests_per_minute=6000)
    other = RedisLimiter(redis_url, api_key, requests_per_minute=6000)
    try:
        await first.on_rate_limited(5)
        with pytest.raises(RateLimitWaitError) as refused:
            await other.acquire(max_wait=2)
        assert 4.5 < refused.value.retry_after <= 5.0
        with pytest.raises(RateLimitWaitError):
            await first.acquire(max_wait=2)  # its own, local pause: refused before Redis
    finally:
        await first.aclose()
        await other.aclose()


@pytest.mark.anyio
async def test_max_wait_refuses_at_once_behind_this_process_queue(redis_url: str) -> None:
    limiter = RedisLimiter(redis_url, new_api_key(), requests_per_minute=60)  # T = 1 s
    try:
        await limiter.acquire()
        async with anyio.create_task_group() as tg:
            tg.start_soon(limiter.acquire)  # holds the turn, sleeping ~1 s for its slot
            await anyio.sleep(0.05)
            start = anyio.current_time()
            with pytest.raises(RateLimitWaitError) as refused:
                await limiter.acquire(max_wait=1.5)  # its slot is ~2 s away
            assert anyio.current_time() - start < 0.1  # at once
            assert 1.5 < refused.value.retry_after <= 2.0
            tg.cancel_scope.cancel()
    finally:
        await limiter.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("huge", [1e308, 1e20])
async def test_a_huge_max_wait_is_no_cap(redis_url: str, huge: float) -> None:
    limiter = RedisLimiter(redis_url, new_api_key(), requests_per_minute=60)
    try:
        assert await limiter._book(max_wait=huge) == 0
        wait = await limiter._book(max_wait=huge)
        assert wait is not None
        assert 0.9 < wait <= 1.0
    finally:
        await limiter.aclose()
