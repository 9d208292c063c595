"""Fixtures of the SDK-against-emulator integration suite (real sockets, TLS).

One emulator is served over HTTPS per test module (uvicorn with a throw-away
trustme CA): starting and stopping uvicorn costs a few hundred milliseconds, so
the server lives for the module and every test gets it back in a clean state
(``tls_server`` waits for requests still in flight, then resets objects, stats,
fault rules, buckets and the extra keys). The SDK and the raw httpx client
verify the certificate against that CA: nothing here uses ``verify=False``. Both are
of the run's HTTP library (`http_library`).

Tests that use these fixtures run in the module's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="module")``.

Fixture names are distinct from the plugin's (``clubsmtp_*``) and from the
SDK-core tests' (``sdk_*``): ``tls_emulator``, ``tls_server``, ``sdk``,
``raw``, ``make_sdk``, ``make_raw``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio
from http_library import lib

from clubsmtp_async import AsyncClient
from clubsmtp_async.testing import Emulator, EmulatorServer, serve

KEY = "sk_test_" + "1ntegrat10n" * 6
"""The token of the module emulator's ``*:*`` key on the default account."""

MISSING_UUID = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
"""A well-formed UUID that no object has (the API page's example domain UUID)."""


def auth(token: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def serve_in_background(emulator: Emulator, **kwargs: Any) -> AsyncIterator[EmulatorServer]:
    """`serve` held by a task of its own (one value yielded).

    pytest-asyncio runs a fixture's setup and teardown in different tasks,
    while the task group inside `serve` must be left by the task that entered it.
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[EmulatorServer] = loop.create_future()
    stop = asyncio.Event()

    async def hold() -> None:
        async with serve(emulator, **kwargs) as server:
            ready.set_result(server)
            await stop.wait()

    task = loop.create_task(hold())
    await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await task  # raises the startup error
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


async def quiesce(emulator: Emulator, timeout: float = 5.0) -> None:
    """Wait until every request the emulator received was answered or dropped.

    A request whose client gave up (a timeout test) is still being handled by
    the server; it must not leak into the next test's state or statistics.
    """
    stats = emulator.stats
    with anyio.move_on_after(timeout):
        while sum(stats.statuses.values()) + stats.dropped < stats.total:
            await anyio.sleep(0.01)


@pytest.fixture(scope="module")
def tls_emulator_options() -> dict[str, Any]:
    """`Emulator` arguments of the module's emulator; override in a module to change them."""
    return {"requests_per_minute": 60_000, "burst": 1_000, "seed": 7,
            "allow_cross_domain_aliases": False}


@pytest.fixture(scope="module")
def tls_emulator(tls_emulator_options: dict[str, Any]) -> Emulator:
    """The module's emulator (real clock), with the ``*:*`` key `KEY`."""
    emulator = Emulator(**tls_emulator_options)
    emulator.create_key(KEY)
    return emulator


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def _tls_server_for_module(tls_emulator: Emulator) -> AsyncIterator[EmulatorServer]:
    async for server in serve_in_background(tls_emulator, tls=True):
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def tls_server(
    _tls_server_for_module: EmulatorServer, tls_emulator: Emulator
) -> EmulatorServer:
    """The module's HTTPS emulator server, clean for this test."""
    await quiesce(tls_emulator)
    tls_emulator.reset()
    for key in tls_emulator.keys:
        if key.token != KEY:
            tls_emulator.remove_key(key.token)
    assert _tls_server_for_module.base_url.startswith("https://127.0.0.1:")
    return _tls_server_for_module


def _http_client(server: EmulatorServer, token: str | None) -> httpx.AsyncClient:
    client: httpx.AsyncClient = lib.AsyncClient(  # the run's library: httpx or httpx2
        base_url=server.base_url,
        verify=server.ssl_context(),  # the trustme CA: the certificate is verified
        headers={} if token is None else auth(token),
        timeout=10.0,
    )
    return client


@pytest_asyncio.fixture(loop_scope="module")
async def make_raw(tls_server: EmulatorServer) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Makes raw httpx clients on the TLS server: ``make_raw(token=KEY)`` (None: no header)."""
    made: list[httpx.AsyncClient] = []

    def make(token: str | None = KEY) -> httpx.AsyncClient:
        http = _http_client(tls_server, token)
        made.append(http)
        return http

    yield make
    for http in made:
        await http.aclose()


@pytest_asyncio.fixture(loop_scope="module")
async def make_sdk(tls_server: EmulatorServer) -> AsyncIterator[Callable[..., AsyncClient]]:
    """Makes SDK clients on the TLS server: ``make_sdk(token=KEY, **AsyncClient kwargs)``.

    Defaults: no client-side pacing (``requests_per_minute=None``), 2 retries,
    10 s timeout. Each client gets its own injected `httpx.AsyncClient`
    verifying the trustme CA; both are closed at teardown.
    """
    made: list[tuple[AsyncClient, httpx.AsyncClient]] = []

    def make(token: str = KEY, **kwargs: Any) -> AsyncClient:
        kwargs.setdefault("requests_per_minute", None)
        kwargs.setdefault("max_retries", 2)
        kwargs.setdefault("timeout", 10.0)
        http = _http_client(tls_server, token)
        client = AsyncClient(token, base_url=tls_server.base_url, http_client=http, **kwargs)
        made.append((client, http))
        return client

    yield make
    for client, http in made:
        await client.aclose()
        await http.aclose()


@pytest_asyncio.fixture(loop_scope="module")
async def sdk(make_sdk: Callable[..., AsyncClient]) -> AsyncClient:
    """An SDK client with `KEY` over HTTPS (no pacing, 2 retries)."""
    return make_sdk()


@pytest_asyncio.fixture(loop_scope="module")
async def raw(sdk: AsyncClient) -> httpx.AsyncClient:
    """The very httpx client (TLS, verified, `KEY` header) the `sdk` fixture sends through.

    For requests the SDK's validation would refuse before sending.
    """
    http = sdk._shared.http
    assert http.base_url.scheme == "https"
    return http
