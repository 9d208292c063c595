"""The SDK against an emulator that enforces the key's rate, over real sockets.

"Never trip the limit": one client configured at the key's `requests_per_minute`
gets no 429 however many tasks call at once, and a 429 it gets anyway (an
injected one) pauses every task, not only the one that received it.

The emulator runs on the real clock in this process (`serve`), so its accepted
timestamps (`time.monotonic`) and the limiter's clock (the asyncio loop's,
`time.monotonic` as well) can be compared directly. No assertion is about speed;
the bounds are about *order* (nothing accepted inside a pause) and are generous.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from clubsmtp_async import AsyncClient, LeakyBucketLimiter, NewMailbox
from clubsmtp_async.testing import Emulator, RateLimit, serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]

KEY = "sk_test_" + "ratelimit" * 8


def key_id(emulator: Emulator) -> str:
    key = emulator.keys.get(KEY)
    assert key is not None
    return key.id


def accepted(emulator: Emulator) -> list[float]:
    """The emulator's accepted-request timestamps of `KEY`, in order."""
    return list(emulator.stats.accepted.get(key_id(emulator), ()))


@pytest.mark.asyncio
async def test_a_burst_of_concurrent_calls_at_the_keys_rate_gets_no_429() -> None:
    rpm, calls = 1200, 40  # T = 50 ms: 40 calls take about 2 s
    emulator = Emulator(api_keys=[KEY], requests_per_minute=rpm)
    async with serve(emulator) as server, server.client(KEY, requests_per_minute=rpm) as client:
        created = await asyncio.gather(
            *(client.domains.create(name=f"d{i}.example") for i in range(calls))
        )

    assert emulator.stats.rate_limited == 0
    assert emulator.stats.statuses == {200: calls}
    assert sorted(d.name for d in created) == sorted(f"d{i}.example" for i in range(calls))
    assert len(emulator.store.domains) == calls
    times = accepted(emulator)
    assert len(times) == calls  # one attempt each: nothing was retried
    # Paced, not fired at once: the calls spread over (calls - 1) intervals, less the
    # emulator's jitter tolerance (a lower bound on spacing, not a speed assertion).
    assert times[-1] - times[0] >= (calls - 1) * 60 / rpm - 0.1


@pytest.mark.asyncio
async def test_a_bulk_create_at_the_keys_rate_gets_no_429() -> None:
    rpm, count = 1200, 40
    emulator = Emulator(api_keys=[KEY], requests_per_minute=rpm)
    domain = emulator.seed({"domains": [{"name": "acme.example"}]})["domains"][0]
    items = [
        NewMailbox(domain_uuid=domain["uuid"], local_part=f"u{i}", password="pw-123456")
        for i in range(count)
    ]
    async with serve(emulator) as server, server.client(KEY, requests_per_minute=rpm) as client:
        result = await client.bulk.create_mailboxes(items, concurrency=count)

    assert result.ok
    assert len(result.succeeded) == count
    assert emulator.stats.rate_limited == 0
    assert len(emulator.store.mailboxes) == count
    assert len(accepted(emulator)) == count


@pytest.mark.asyncio
async def test_a_bursty_limiter_at_the_keys_burst_gets_no_429() -> None:
    rpm, burst, calls = 1200, 5, 30
    emulator = Emulator(api_keys=[KEY], requests_per_minute=rpm, burst=burst)
    limiter = LeakyBucketLimiter(rpm, burst=burst)
    async with serve(emulator) as server, server.client(KEY, limiter=limiter) as client:
        pings = await asyncio.gather(*(client.ping() for _ in range(calls)))

    assert len(pings) == calls
    assert emulator.stats.rate_limited == 0
    assert len(accepted(emulator)) == calls


@pytest.mark.asyncio
async def test_a_429_pauses_every_task_not_only_the_one_that_got_it() -> None:
    rpm, calls, first_batch = 600, 30, 8  # T = 100 ms
    emulator = Emulator(api_keys=[KEY], requests_per_minute=rpm)

    async def inject_after_some_requests() -> None:
        # Once `first_batch` requests went through, the next ping is answered 429
        # (Retry-After: 1) while the other tasks sleep with their slots booked.
        while len(accepted(emulator)) < first_batch:
            await asyncio.sleep(0.005)
        emulator.faults.add("GET", "/v1/ping", RateLimit(retry_after=1), times=1)

    async with serve(emulator) as server, server.client(KEY, requests_per_minute=rpm) as client:
        injector = asyncio.create_task(inject_after_some_requests())
        results = await asyncio.gather(*(client.ping() for _ in range(calls)))
        await injector
        limiter = client.limiter  # the default one, from requests_per_minute
        assert isinstance(limiter, LeakyBucketLimiter)
        paused_until = limiter.paused_until

    assert len(results) == calls  # every call succeeded (the 429'd one after its retry)
    assert emulator.stats.rate_limited == 1  # the injected 429 only: pacing never tripped it
    times = accepted(emulator)
    assert len(times) == calls + 1  # the faulted attempt passed the bucket, then its retry

    pause_start = paused_until - 1.0  # when the client received the 429 (Retry-After 1)
    during = [t for t in times if pause_start + 0.05 < t < paused_until - 0.005]
    before = [t for t in times if t <= pause_start + 0.05]
    after = [t for t in times if t >= paused_until - 0.005]
    assert during == [], f"requests accepted during the pause: {during}"
    # Most tasks were still waiting when the 429 came, and all of them were held.
    assert first_batch <= len(before) <= first_batch + 3
    assert len(after) >= calls - first_batch - 2
    assert len(before) + len(after) == len(times)


@pytest.mark.asyncio
async def test_the_bucket_own_429_pauses_and_slows_a_client_set_too_fast() -> None:
    # A client configured above the key's ceiling (a misconfiguration) trips the
    # bucket; each 429 pauses everyone and lowers the rate, so the run still
    # completes and the 429s stay few instead of one per request.
    key_rpm, client_rpm, calls = 600, 1200, 30
    emulator = Emulator(api_keys=[KEY], requests_per_minute=key_rpm)
    limiter = LeakyBucketLimiter(client_rpm)
    async with serve(emulator) as server, server.client(
        KEY, limiter=limiter, max_retries=10
    ) as client:
        started = time.monotonic()
        results = await asyncio.gather(*(client.ping() for _ in range(calls)))
        elapsed = time.monotonic() - started

    assert len(results) == calls
    assert 1 <= emulator.stats.rate_limited <= 6
    assert limiter.effective_rate < client_rpm  # adaptive: lowered, recovering over 60 s
    assert elapsed < 20  # bounded: no retry storm


@pytest.mark.asyncio
async def test_every_client_sharing_one_limiter_is_paused() -> None:
    # Two clients (e.g. two services in one process) share one key's limiter: a
    # 429 received by one holds the other's tasks too.
    rpm = 600
    emulator = Emulator(api_keys=[KEY], requests_per_minute=rpm)
    limiter = LeakyBucketLimiter(rpm)
    emulator.faults.add("GET", "/v1/ping", RateLimit(retry_after=1), times=1)
    async with (
        serve(emulator) as server,
        server.client(KEY, limiter=limiter) as first,
        AsyncClient(KEY, base_url=server.base_url, limiter=limiter) as second,
    ):
        # The ping books the first slot and gets the 429; the second client's
        # five calls booked the next five slots and sleep until the pause ends.
        await asyncio.gather(first.ping(), *(second.domains.list() for _ in range(5)))

    times = accepted(emulator)
    assert len(times) == 7  # the 429'd ping, its retry, five lists
    assert emulator.stats.rate_limited == 1
    pause_start = limiter.paused_until - 1.0
    assert [t for t in times if t <= pause_start + 0.05] == times[:1]
    assert not [t for t in times if pause_start + 0.05 < t < limiter.paused_until - 0.005]
