"""`TenantLease` against a real redis-server: exclusive, numbered, expiring, and lost loudly."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

import anyio
import pytest
import pytest_asyncio
from clubsmtp_fleet.lease import LeaseLost, TenantLease, lease_key
from redis.asyncio import Redis

pytestmark = [pytest.mark.redis, pytest.mark.asyncio, pytest.mark.timeout(30)]


@pytest_asyncio.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_attempt_numbers_only_grow_and_are_per_tenant(redis: Redis, queue_name: str) -> None:
    numbers = []
    for _ in range(3):
        lease = TenantLease(redis, queue_name, "acme", ttl=5)
        numbers.append(await lease.acquire())
        await lease.release()
    other = TenantLease(redis, queue_name, "beta", ttl=5)
    assert numbers == [1, 2, 3]
    assert await other.acquire() == 1
    await other.release()


async def test_the_holder_is_this_process_and_is_gone_after_release(
    redis: Redis, queue_name: str
) -> None:
    lease = TenantLease(redis, queue_name, "acme", ttl=5)
    assert await TenantLease.holder_of(redis, queue_name, "acme") is None
    await lease.acquire()
    assert await TenantLease.holder_of(redis, queue_name, "acme") == (
        f"{socket.gethostname()}:{os.getpid()}")
    await lease.check()
    await lease.renew()
    await lease.release()
    await lease.release()  # idempotent
    assert await TenantLease.holder_of(redis, queue_name, "acme") is None


async def test_a_second_attempt_waits_until_the_first_releases(
    redis: Redis, queue_name: str
) -> None:
    first = TenantLease(redis, queue_name, "acme", ttl=10, poll=0.02)
    second = TenantLease(redis, queue_name, "acme", ttl=10, poll=0.02)
    await first.acquire()
    with anyio.move_on_after(0.3) as waited:
        await second.acquire()
    assert waited.cancelled_caught  # held all along: the second never got it
    assert second.attempt is None
    await first.release()
    with anyio.fail_after(5):
        assert await second.acquire() == 2
    await second.release()


async def test_an_expired_lease_is_taken_over_and_the_first_attempt_learns_it(
    redis: Redis, queue_name: str
) -> None:
    first = TenantLease(redis, queue_name, "acme", ttl=0.3, poll=0.02)
    second = TenantLease(redis, queue_name, "acme", ttl=10, poll=0.02)
    await first.acquire()
    with anyio.fail_after(10):  # no renewal: the lease expires by itself
        assert await second.acquire() == 2
    with pytest.raises(LeaseLost, match="expired and was taken over"):
        await first.renew()
    with pytest.raises(LeaseLost, match="no longer held"):
        await first.check()
    await first.release()  # must not give up the second's lease
    await second.check()
    assert await redis.exists(lease_key(queue_name, "acme")) == 1
    await second.release()
