"""Fixtures of the emulator tests.

The package is not necessarily installed (its ``pytest11`` entry point then is
not registered), so the plugin's fixtures are imported here; when it is
installed these definitions simply take precedence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from http_library import lib

from clubsmtp_async.testing import Emulator, FakeClock
from clubsmtp_async.testing.pytest_plugin import (
    _clubsmtp_anyio_client as _clubsmtp_anyio_client,
)
from clubsmtp_async.testing.pytest_plugin import (
    _clubsmtp_anyio_server as _clubsmtp_anyio_server,
)
from clubsmtp_async.testing.pytest_plugin import (
    _clubsmtp_asyncio_client as _clubsmtp_asyncio_client,
)
from clubsmtp_async.testing.pytest_plugin import (
    _clubsmtp_asyncio_server as _clubsmtp_asyncio_server,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_api_key as clubsmtp_api_key,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_client as clubsmtp_client,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_client_options as clubsmtp_client_options,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_emulator as clubsmtp_emulator,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_emulator_options as clubsmtp_emulator_options,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_server as clubsmtp_server,
)
from clubsmtp_async.testing.pytest_plugin import (
    clubsmtp_webhook_recorder as clubsmtp_webhook_recorder,
)

KEY = "sk_test_" + "a1" * 36
OTHER_KEY = "sk_test_" + "b2" * 36


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    """A fake-clock emulator whose rate limit does not get in the way."""
    em = Emulator(clock=clock, seed=7, requests_per_minute=60_000, burst=1_000)
    em.create_key(KEY)
    em.create_key(OTHER_KEY, account="other")
    return em


def http_client(
    em: Emulator, key: str | None = KEY, *, address: str = "127.0.0.1", scheme: str = "http"
) -> httpx.AsyncClient:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    client: httpx.AsyncClient = lib.AsyncClient(  # the run's library: httpx or httpx2
        transport=em.transport(client_address=address),
        base_url=f"{scheme}://127.0.0.1",
        headers=headers,
    )
    return client


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(emulator) as client:
        yield client


@pytest.fixture
async def other(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the other account."""
    async with http_client(emulator, OTHER_KEY) as client:
        yield client
