"""Shared fixtures of the SDK-core tests (names start with ``sdk_`` to stay apart).

The suite runs against one HTTP library at a time: ``CLUBSMTP_HTTP_LIBRARY=httpx``
(the default here) or ``=httpx2`` chooses the library of the SDK's own pools,
the emulator's in-process clients and the fixtures (`http_library`). Tests of
what only httpx has (respx, httpx-aiohttp) are skipped under httpx2, and the
modules that never send an HTTP request (`LIBRARY_NEUTRAL`) run under httpx only.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
import respx

os.environ.setdefault("CLUBSMTP_HTTP_LIBRARY", "httpx")

from http_library import HTTPX_ONLY_REASON, LIBRARY

from clubsmtp_async import AsyncClient

# Modules that never send an HTTP request (pure logic, limiters, models): a run under httpx2
# would only repeat them, so it deselects them.
LIBRARY_NEUTRAL = frozenset({
    "tests/fleet/test_config.py",
    "tests/fleet/test_lease.py",
    "tests/fleet/test_passwords.py",
    "tests/fleet/test_producer.py",
    "tests/onboarding/test_diff.py",
    "tests/onboarding/test_load.py",
    "tests/onboarding/test_public_api.py",
    "tests/onboarding/test_schema.py",
    "tests/test_limiter.py",
    "tests/test_models.py",
    "tests/test_redis_limiter.py",
    "tests/testing/test_clock.py",
    "tests/testing/test_rules.py",
    "tests/webhooks/test_events.py",
    "tests/webhooks/test_properties.py",
    "tests/webhooks/test_public_api.py",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under httpx2, deselect the `LIBRARY_NEUTRAL` modules (they ran under httpx)."""
    if LIBRARY.name == "httpx":
        return
    neutral = [i for i in items
               if i.path.relative_to(config.rootpath).as_posix() in LIBRARY_NEUTRAL]
    if neutral:
        config.hook.pytest_deselected(items=neutral)
        items[:] = [i for i in items if i not in set(neutral)]


SDK_BASE_URL = "https://api.clubsmtp.test"
SDK_API_KEY = "sk_live_" + "S3cr3tK3y" * 8  # 72 characters after the prefix, like a real key


class RecordingLimiter:
    """A `Limiter` that never waits and remembers what it was told."""

    def __init__(self) -> None:
        self.acquired = 0
        self.rate_limited: list[float | None] = []
        self.closed = 0

    async def acquire(self) -> None:
        self.acquired += 1

    async def on_rate_limited(self, retry_after: float | None) -> None:
        self.rate_limited.append(retry_after)

    async def aclose(self) -> None:
        self.closed += 1


class FakeSleep:
    """A retry sleep that records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sdk_api_key() -> str:
    return SDK_API_KEY


@pytest.fixture
def sdk_base_url() -> str:
    return SDK_BASE_URL


@pytest.fixture
def sdk_router() -> Iterator[respx.MockRouter]:
    """respx over the default transport; an unmatched request fails the test (httpx only)."""
    if LIBRARY.name != "httpx":
        pytest.skip(HTTPX_ONLY_REASON)
    with respx.mock(base_url=SDK_BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sdk_limiter() -> RecordingLimiter:
    return RecordingLimiter()


@pytest.fixture
def sdk_sleeps() -> FakeSleep:
    return FakeSleep()


@pytest_asyncio.fixture
async def sdk_make_client(
    sdk_router: respx.MockRouter, sdk_limiter: RecordingLimiter, sdk_sleeps: FakeSleep
) -> AsyncIterator[Callable[..., AsyncClient]]:
    """Makes clients wired to `sdk_router`, with the recording limiter and fake sleep.

    Every client made is closed at teardown.
    """
    made: list[AsyncClient] = []

    def make(**kwargs: Any) -> AsyncClient:
        kwargs.setdefault("api_key", SDK_API_KEY)
        kwargs.setdefault("base_url", SDK_BASE_URL)
        kwargs.setdefault("requests_per_minute", None)
        kwargs.setdefault("limiter", sdk_limiter)
        client = AsyncClient(**kwargs)
        client._retry._sleep = sdk_sleeps
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest_asyncio.fixture
async def sdk_client(sdk_make_client: Callable[..., AsyncClient]) -> AsyncClient:
    """A client on `sdk_router` (3 retries, fake sleep, recording limiter)."""
    return sdk_make_client()
