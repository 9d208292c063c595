"""Pytest fixtures for testing code that uses clubsmtp-async (registered as plugin ``clubsmtp``).

Fixtures:

- ``clubsmtp_emulator`` — a fresh in-process `Emulator` with one ``*:*`` key.
  Its rate limit is effectively off (60,000 requests/min, burst 1,000); override
  ``clubsmtp_emulator_options`` to change any `Emulator` argument.
- ``clubsmtp_api_key`` — that key's token.
- ``clubsmtp_client`` — an SDK `AsyncClient` wired to the emulator in process,
  entered and closed around the test, with the emulator's background work
  (webhook delivery) running. Its own limiter is off
  (``requests_per_minute=None``); override ``clubsmtp_client_options``.
- ``clubsmtp_server`` — the emulator served over a real loopback socket
  (`EmulatorServer`; asyncio only), webhook delivery running.
- ``clubsmtp_webhook_recorder`` — a `WebhookRecorder` registered as an
  in-process endpoint of the emulator: it verifies and keeps every event
  delivered while ``clubsmtp_client`` or ``clubsmtp_server`` is active.

The async fixtures work with pytest-asyncio (``@pytest.mark.asyncio``, strict
or auto mode) and with anyio's plugin (``@pytest.mark.anyio``): each is a
sync fixture that asks for the matching async implementation.

Example:
    >>> async def test_create(clubsmtp_client, clubsmtp_emulator):  # doctest: +SKIP
    ...     domain = await clubsmtp_client.domains.create(name="example.com")
    ...     assert clubsmtp_emulator.store.domains[domain.uuid].name == "example.com"

"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from clubsmtp_async import AsyncClient

    from ._emulator import Emulator
    from ._receiver import WebhookRecorder
    from ._server import EmulatorServer

# Nothing of the `emulator` extra is imported at module level: pytest loads
# this plugin in every project that has clubsmtp-async installed.

__all__ = [
    "clubsmtp_api_key",
    "clubsmtp_client",
    "clubsmtp_client_options",
    "clubsmtp_emulator",
    "clubsmtp_emulator_options",
    "clubsmtp_server",
    "clubsmtp_webhook_recorder",
]

T = TypeVar("T")

try:  # pragma: no cover - depends on the installed plugins
    import pytest_asyncio

    _asyncio_fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover
    _asyncio_fixture = None


@pytest.fixture
def clubsmtp_emulator_options() -> dict[str, Any]:
    """Keyword arguments for the ``clubsmtp_emulator`` fixture's `Emulator`."""
    return {"requests_per_minute": 60_000, "burst": 1_000}


@pytest.fixture
def clubsmtp_client_options() -> dict[str, Any]:
    """Extra keyword arguments for the ``clubsmtp_client`` fixture's `AsyncClient`."""
    return {"requests_per_minute": None}


@pytest.fixture
def clubsmtp_emulator(clubsmtp_emulator_options: dict[str, Any]) -> Emulator:
    """A fresh in-process emulator with one key on the default account."""
    from ._emulator import Emulator

    emulator = Emulator(**clubsmtp_emulator_options)
    if not len(emulator.keys):
        emulator.create_key()
    return emulator


@pytest.fixture
def clubsmtp_api_key(clubsmtp_emulator: Emulator) -> str:
    """The token of the emulator's first key."""
    return clubsmtp_emulator.api_key


def _async_fixture(request: pytest.FixtureRequest, name: str) -> Any:
    """The value of async fixture `name`, run by the plugin that runs this test."""
    if "clubsmtp_webhook_recorder" in request.fixturenames:
        # Register the recorder before delivery starts, whatever the argument order.
        request.getfixturevalue("clubsmtp_webhook_recorder")
    if "anyio_backend" in request.fixturenames:
        return request.getfixturevalue(f"_clubsmtp_anyio_{name}")
    if _asyncio_fixture is None:
        raise RuntimeError(f"{name} needs pytest-asyncio or anyio's pytest plugin")
    return request.getfixturevalue(f"_clubsmtp_asyncio_{name}")


@pytest.fixture
async def _clubsmtp_anyio_client(
    clubsmtp_emulator: Emulator, clubsmtp_client_options: dict[str, Any]
) -> AsyncIterator[AsyncClient]:
    async with _running_client(clubsmtp_emulator, clubsmtp_client_options) as client:
        yield client


@asynccontextmanager
async def _running_client(
    emulator: Emulator, options: dict[str, Any]
) -> AsyncIterator[AsyncClient]:
    async with emulator.running(), emulator.client(**options) as client:
        yield client


@pytest.fixture
async def _clubsmtp_anyio_server(clubsmtp_emulator: Emulator) -> AsyncIterator[EmulatorServer]:
    from ._server import serve

    async with serve(clubsmtp_emulator) as server:
        yield server


if _asyncio_fixture is not None:  # pragma: no branch

    @_asyncio_fixture  # type: ignore[untyped-decorator]
    async def _clubsmtp_asyncio_client(
        clubsmtp_emulator: Emulator, clubsmtp_client_options: dict[str, Any]
    ) -> AsyncIterator[AsyncClient]:
        held = _running_client(clubsmtp_emulator, clubsmtp_client_options)
        async for client in _hold_in_background_task(held):
            yield client

    @_asyncio_fixture  # type: ignore[untyped-decorator]
    async def _clubsmtp_asyncio_server(
        clubsmtp_emulator: Emulator,
    ) -> AsyncIterator[EmulatorServer]:
        from ._server import serve

        async for server in _hold_in_background_task(serve(clubsmtp_emulator)):
            yield server


async def _hold_in_background_task(manager: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """Enter and exit `manager` in a task of its own.

    pytest-asyncio runs a fixture's setup and teardown in different tasks,
    and a task group (inside `serve` and `Emulator.running`) must be exited by
    the task that entered it; so one long-lived task holds it for the fixture.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    ready: asyncio.Future[T] = loop.create_future()
    stop = asyncio.Event()

    async def hold() -> None:
        async with manager as value:
            ready.set_result(value)
            await stop.wait()

    task = loop.create_task(hold())
    waiters: list[asyncio.Future[Any]] = [ready, task]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await task  # raises the startup error
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


@pytest.fixture
def clubsmtp_client(request: pytest.FixtureRequest) -> AsyncClient:
    """An SDK client wired to ``clubsmtp_emulator`` in process (entered; closed after)."""
    client: AsyncClient = _async_fixture(request, "client")
    return client


@pytest.fixture
def clubsmtp_server(request: pytest.FixtureRequest) -> EmulatorServer:
    """``clubsmtp_emulator`` served on a free loopback port (asyncio only)."""
    server: EmulatorServer = _async_fixture(request, "server")
    return server


@pytest.fixture
def clubsmtp_webhook_recorder(clubsmtp_emulator: Emulator) -> WebhookRecorder:
    """A verifying in-process receiver of the default account's webhook events."""
    from ._receiver import WebhookRecorder

    recorder = WebhookRecorder()
    clubsmtp_emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret)
    return recorder
