"""`AsyncClient(max_wait=...)`: a call whose turn is too far away is refused at once.

Also the default of `requests_per_minute` from ``$CLUBSMTP_REQUESTS_PER_MINUTE``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from conftest import SDK_API_KEY, SDK_BASE_URL

from clubsmtp_async import (
    AsyncClient,
    FileLimiter,
    LeakyBucketLimiter,
    NewMailbox,
    RateLimitError,
    RateLimitWaitError,
    ValidationError,
)
from clubsmtp_async._config import resolve_requests_per_minute
from clubsmtp_async.testing import Emulator, RateLimit

pytestmark = pytest.mark.anyio

PING = {"timestamp": "Tue, 21 Apr 2026 12:00:00 GMT", "errors": []}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ping_route(router: respx.MockRouter) -> respx.Route:
    return router.get("/v1/ping").mock(return_value=httpx.Response(200, json=PING))


# --- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, "5", True])
async def test_max_wait_is_validated(bad: Any) -> None:
    with pytest.raises(ValidationError, match="max_wait must be None or a finite number"):
        AsyncClient(SDK_API_KEY, max_wait=bad)  # refused before anything is made
    async with AsyncClient(SDK_API_KEY) as client:
        with pytest.raises(ValidationError, match="max_wait"):
            client.with_options(max_wait=bad)


async def test_a_limiter_without_max_wait_is_refused_when_one_is_set(
    sdk_make_client: Callable[..., AsyncClient],
) -> None:
    with pytest.raises(ValidationError, match=r"RecordingLimiter\.acquire\(\) does not"):
        sdk_make_client(max_wait=1)
    client = sdk_make_client()  # without max_wait, such a limiter works as before
    assert client.max_wait is None
    with pytest.raises(ValidationError, match="max_wait needs a limiter"):
        client.with_options(max_wait=1)
    assert client.with_options(max_wait=None).max_wait is None


async def test_with_options_overrides_keeps_and_removes_the_cap() -> None:
    async with AsyncClient(SDK_API_KEY, max_wait=2) as client:
        assert client.max_wait == 2.0
        assert client.with_options(max_retries=1).max_wait == 2.0  # kept
        assert client.with_options(max_wait=0).max_wait == 0.0
        assert client.with_options(max_wait=None).max_wait is None


# --- refusal -----------------------------------------------------------------------------


async def test_refused_at_once_sending_nothing_and_not_retried(
    sdk_router: respx.MockRouter,
) -> None:
    route = ping_route(sdk_router)
    limiter = LeakyBucketLimiter(60)  # T = 1 s
    async with AsyncClient(SDK_API_KEY, base_url=SDK_BASE_URL, limiter=limiter) as client:
        capped = client.with_options(max_wait=0.5)
        await capped.ping()
        start = time.monotonic()
        with pytest.raises(RateLimitWaitError) as refused:
            await capped.ping()
        assert time.monotonic() - start < 0.5  # at once, not after the wait
        assert isinstance(refused.value, RateLimitError)
        assert 0.5 < refused.value.retry_after <= 1.0
        assert refused.value.status_code == 429
        assert refused.value.response is None
        assert route.call_count == 1  # nothing sent, nothing retried
        assert limiter.waiting == 0  # and no slot taken


async def test_a_429_longer_than_max_wait_is_refused_instead_of_retried() -> None:
    emulator = Emulator(requests_per_minute=1_000_000, burst=10_000)
    emulator.faults.add("GET", "/v1/ping", RateLimit(retry_after=30), times=1)
    async with emulator.client(requests_per_minute=600, max_wait=5) as client:
        with pytest.raises(RateLimitWaitError) as refused:
            await client.ping()
        assert isinstance(refused.value.__cause__, RateLimitError)  # the server's 429
        assert refused.value.retry_after == 30
        with pytest.raises(RateLimitWaitError):  # the pause holds every capped call
            await client.ping()
    assert emulator.stats.rate_limited == 1


async def test_bulk_items_refused_by_max_wait_fail_and_are_not_retried() -> None:
    emulator = Emulator(requests_per_minute=1_000_000, burst=10_000)
    limiter = LeakyBucketLimiter(60, burst=2)
    async with emulator.client(limiter=limiter, max_wait=0.2) as client:
        domain = await client.domains.create(name="acme.example")
        items = [NewMailbox(domain_uuid=domain.uuid, local_part=f"u{i}", password="Pa55-w0rd-0k!")
                 for i in range(3)]
        result = await client.bulk.create_mailboxes(items)
    assert len(result.succeeded) == 1  # the burst's second slot
    assert [type(f.error) for f in result.failed] == [RateLimitWaitError] * 2
    assert len(emulator.snapshot()["mailboxes"]) == 1


async def test_file_limiter_refuses_through_the_client(
    tmp_path: Path, sdk_router: respx.MockRouter
) -> None:
    route = ping_route(sdk_router)
    limiter = FileLimiter(tmp_path / "state", 60)
    async with AsyncClient(SDK_API_KEY, base_url=SDK_BASE_URL, limiter=limiter,
                           max_wait=0) as client:
        await client.ping()
        with pytest.raises(RateLimitWaitError):
            await client.ping()
    await limiter.aclose()
    assert route.call_count == 1


async def test_an_accepted_call_waits_for_its_slot(sdk_router: respx.MockRouter) -> None:
    ping_route(sdk_router)
    async with AsyncClient(SDK_API_KEY, base_url=SDK_BASE_URL, requests_per_minute=600,
                           max_wait=1) as client:
        start = time.monotonic()
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(client.ping)
        assert time.monotonic() - start >= 0.2 - 0.01  # slots 0, 0.1, 0.2


# --- requests_per_minute from the environment ---------------------------------------------


async def test_requests_per_minute_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_requests_per_minute(environ={}) == 60
    assert resolve_requests_per_minute(environ={"CLUBSMTP_REQUESTS_PER_MINUTE": " 120 "}) == 120
    assert resolve_requests_per_minute(30, environ={"CLUBSMTP_REQUESTS_PER_MINUTE": "x"}) == 30
    monkeypatch.setenv("CLUBSMTP_REQUESTS_PER_MINUTE", "1200")
    async with AsyncClient(SDK_API_KEY) as client:
        assert isinstance(client.limiter, LeakyBucketLimiter)
        assert client.limiter.requests_per_minute == 1200
    async with AsyncClient(SDK_API_KEY, requests_per_minute=30) as client:
        assert isinstance(client.limiter, LeakyBucketLimiter)
        assert client.limiter.requests_per_minute == 30


@pytest.mark.parametrize("value", ["fast", "0", "-5", "nan", "inf", "1e999"])
async def test_an_invalid_environment_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CLUBSMTP_REQUESTS_PER_MINUTE", value)
    with pytest.raises(ValidationError, match=r"\$CLUBSMTP_REQUESTS_PER_MINUTE must be"):
        AsyncClient(SDK_API_KEY)
    async with AsyncClient(SDK_API_KEY, requests_per_minute=None):  # given: not read
        pass
