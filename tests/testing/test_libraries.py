"""The emulator in process with either HTTP library: its transport, helpers and webhooks.

Every test runs on httpx and on httpx2 (`LIBRARIES`), whatever library the
run uses; the emulator's own clients follow ``CLUBSMTP_HTTP_LIBRARY``.
"""

from __future__ import annotations

from typing import Any

import pytest
from http_library import LIBRARIES, LIBRARY

from clubsmtp_async import APIConnectionError, AsyncClient
from clubsmtp_async.testing import (
    ConnectionDropped,
    Drop,
    Emulator,
    WebhookRecorder,
    send_webhook,
)
from clubsmtp_async.webhooks import verify

from .conftest import KEY

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@LIBRARIES
async def test_a_plain_client_of_either_library_calls_the_app_in_process(library: Any) -> None:
    emulator = Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)
    transport = emulator.transport()
    async with library.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.get("/v1/ping", headers={"Authorization": f"Bearer {KEY}"})
    assert type(response) is library.Response
    assert response.status_code == 200
    assert "timestamp" in response.json()


@LIBRARIES
async def test_the_sdk_over_a_client_of_either_library(library: Any) -> None:
    emulator = Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)
    http = library.AsyncClient(transport=emulator.transport(), base_url="http://127.0.0.1",
                               follow_redirects=True)
    async with http, AsyncClient(KEY, base_url="http://127.0.0.1", http_client=http,
                                 requests_per_minute=None, max_retries=0) as client:
        domain = await client.domains.create(name="example.com")
        assert [d.uuid for d in await client.domains.list()] == [domain.uuid]
        emulator.faults.add("GET", "/v1/domains", Drop(), times=1)
        with pytest.raises(APIConnectionError) as info:
            await client.domains.list()
    assert info.value.request_sent is True  # dropped after processing: perhaps acted on
    assert isinstance(info.value.__cause__, library.RemoteProtocolError)
    assert isinstance(info.value.request, library.Request)


@LIBRARIES
async def test_a_dropped_connection_is_the_clients_own_library_error(library: Any) -> None:
    emulator = Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)
    emulator.faults.add("GET", "/v1/ping", Drop(), times=1)
    async with library.AsyncClient(transport=emulator.transport()) as http:
        with pytest.raises(library.RemoteProtocolError) as info:
            await http.get("http://127.0.0.1/v1/ping", headers={"Authorization": f"Bearer {KEY}"})
    dropped = info.value if isinstance(info.value, ConnectionDropped) else info.value.__cause__
    assert isinstance(dropped, ConnectionDropped)


async def test_the_emulators_own_clients_use_the_runs_library() -> None:
    emulator = Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)
    async with emulator.client(requests_per_minute=None) as client:
        assert isinstance(client._shared.http, LIBRARY.client_type)
        await client.ping()


@LIBRARIES
async def test_send_webhook_through_a_client_of_either_library(library: Any) -> None:
    recorder = WebhookRecorder()
    async with library.AsyncClient(transport=library.ASGITransport(app=recorder)) as http:
        result = await send_webhook("http://receiver/", recorder.secret, "alias.deleted",
                                    http_client=http)
    assert result.ok
    (item,) = recorder.received
    verify(item.body, item.headers, recorder.secret)


@LIBRARIES
async def test_send_webhook_reports_an_unreachable_receiver_of_either_library(
    library: Any,
) -> None:
    async with library.AsyncClient() as http:
        result = await send_webhook("http://127.0.0.1:9/", WebhookRecorder().secret,
                                    "alias.deleted", http_client=http, timeout=5.0)
    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("ConnectError")


async def test_webhooks_reach_an_in_process_receiver() -> None:
    emulator = Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)
    recorder = WebhookRecorder()
    emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret)
    async with emulator.running(), emulator.client(requests_per_minute=None) as client:
        await client.domains.create(name="example.com")
        (event,) = await recorder.wait_for(1)
    assert event.type == "domain.created"
