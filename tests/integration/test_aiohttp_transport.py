"""The SDK over `aiohttp_http_client()`: same behaviour, aiohttp underneath (asyncio only)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
import pytest_asyncio

from clubsmtp_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthError,
    NotFoundError,
    aiohttp_http_client,
)
from clubsmtp_async._aiohttp import precise_error
from clubsmtp_async._http import connection_error
from clubsmtp_async.testing import Drop, EmulatorServer, Latency

from .conftest import KEY, MISSING_UUID

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def fast(tls_server: EmulatorServer) -> AsyncIterator[AsyncClient]:
    async with (
        aiohttp_http_client(verify=tls_server.ssl_context()) as http,
        AsyncClient(
            KEY, base_url=tls_server.base_url, http_client=http, requests_per_minute=None
        ) as client,
    ):
        yield client


async def test_every_kind_of_call_round_trips(
    fast: AsyncClient, tls_server: EmulatorServer
) -> None:
    assert (await fast.ping()).timestamp.tzinfo is not None
    domain = await fast.domains.create(name="fast.example")
    mailbox = await fast.mailboxes.create(domain_uuid=domain.uuid, local_part="a", password="pw-1")
    assert (await fast.mailboxes.update(mailbox.uuid, storage_gb=3)).storage_gb == 3
    entry = await fast.mailboxes.whitelist.add(mailbox.uuid, pattern="*@ok.example")
    assert [e.uuid for e in await fast.mailboxes.whitelist.list(mailbox.uuid)] == [entry.uuid]
    await fast.domains.delete(domain.uuid)
    assert await fast.mailboxes.list() == []


async def test_errors_are_typed(fast: AsyncClient, tls_server: EmulatorServer) -> None:
    with pytest.raises(NotFoundError):
        await fast.domains.get(MISSING_UUID)
    async with aiohttp_http_client(verify=tls_server.ssl_context()) as http:
        stranger = AsyncClient(
            "sk_test_unknown", base_url=tls_server.base_url, http_client=http, max_retries=0
        )
        async with stranger:
            with pytest.raises(AuthError):
                await stranger.ping()


async def test_a_dropped_create_ends_in_exactly_one_object(
    fast: AsyncClient, tls_server: EmulatorServer
) -> None:
    emulator = tls_server.emulator
    domain = await fast.domains.create(name="drop.example")
    emulator.faults.add("POST", "/v1/mailboxes", Drop(), times=1)
    mailbox = await fast.mailboxes.create(domain_uuid=domain.uuid, local_part="b", password="pw")
    assert [m.uuid for m in await fast.mailboxes.list()] == [mailbox.uuid]
    assert emulator.stats.dropped == 1


async def test_a_slow_answer_times_out(fast: AsyncClient, tls_server: EmulatorServer) -> None:
    tls_server.emulator.faults.add("GET", "/v1/ping", Latency(2.0), times=1)
    with pytest.raises(APITimeoutError):
        await fast.with_options(timeout=0.3, max_retries=0).ping()


async def test_a_refused_connection_was_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request
    async with (
        aiohttp_http_client() as http,
        AsyncClient(
            KEY, base_url=f"http://127.0.0.1:{port}", http_client=http, max_retries=0
        ) as client,
    ):
        with pytest.raises(APIConnectionError) as caught:
            await client.ping()
    assert caught.value.request_sent is False


@pytest.mark.parametrize(
    ("cause", "expected", "sent"),
    [
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.RemoteProtocolError, True),
        (aiohttp.ServerTimeoutError("read"), httpx.ReadTimeout, True),
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout, False),
    ],
)
async def test_aiohttp_errors_keep_whether_the_request_was_sent(
    cause: Exception, expected: type[httpx.TransportError], sent: bool
) -> None:
    request = httpx.Request("POST", "https://127.0.0.1/v1/mailboxes")
    # What httpx-aiohttp raises: every connection error as a connect timeout.
    reported = httpx.ConnectTimeout(str(cause), request=request)
    reported.__cause__ = cause
    error = precise_error(reported, request)
    assert type(error) is expected
    assert error.request is request
    assert connection_error(error, "POST /v1/mailboxes").request_sent is sent
