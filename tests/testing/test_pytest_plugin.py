"""The pytest fixtures, under pytest-asyncio and under anyio's plugin (both backends)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clubsmtp_async import AsyncClient, RateLimitError
from clubsmtp_async.testing import Emulator, EmulatorServer, WebhookRecorder, pytest_plugin


def test_emulator_fixture(clubsmtp_emulator: Emulator, clubsmtp_api_key: str) -> None:
    assert [key.token for key in clubsmtp_emulator.keys] == [clubsmtp_api_key]
    assert clubsmtp_emulator.keys.get(clubsmtp_api_key).scopes == ("*:*",)  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_client_under_pytest_asyncio(
    clubsmtp_client: AsyncClient, clubsmtp_emulator: Emulator
) -> None:
    domain = await clubsmtp_client.domains.create(name="example.com")
    assert clubsmtp_emulator.store.domains[domain.uuid].name == "example.com"
    assert not clubsmtp_client.is_closed


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_client_under_anyio(
    clubsmtp_client: AsyncClient, clubsmtp_emulator: Emulator
) -> None:
    mailbox_domain = await clubsmtp_client.domains.create(name="example.com")
    mailbox = await clubsmtp_client.mailboxes.create(
        domain_uuid=mailbox_domain.uuid, local_part="alice", password="pw"
    )
    assert mailbox.address == "alice@example.com"
    assert clubsmtp_emulator.check_password(mailbox.uuid, "pw")


@pytest.mark.asyncio
async def test_server_under_pytest_asyncio(
    clubsmtp_server: EmulatorServer, clubsmtp_api_key: str
) -> None:
    async with httpx.AsyncClient(base_url=clubsmtp_server.base_url) as http:
        response = await http.get(
            "/v1/ping", headers={"Authorization": f"Bearer {clubsmtp_api_key}"}
        )
    assert response.status_code == 200


@pytest.mark.anyio
async def test_server_under_anyio(clubsmtp_server: EmulatorServer) -> None:
    async with clubsmtp_server.client(requests_per_minute=None) as client:
        await client.ping()


class TestOverriddenOptions:
    @pytest.fixture
    def clubsmtp_emulator_options(self) -> dict[str, Any]:
        return {"requests_per_minute": 60}

    @pytest.fixture
    def clubsmtp_client_options(self) -> dict[str, Any]:
        return {"requests_per_minute": None, "max_retries": 0}

    @pytest.mark.asyncio
    async def test_rate_limit_applies(self, clubsmtp_client: AsyncClient) -> None:
        await clubsmtp_client.ping()
        with pytest.raises(RateLimitError) as caught:
            await clubsmtp_client.ping()
        assert caught.value.retry_after == 1


def test_plugin_exports() -> None:
    assert sorted(pytest_plugin.__all__) == pytest_plugin.__all__


@pytest.mark.asyncio
async def test_pytest_asyncio_fixtures_deliver(
    clubsmtp_client: AsyncClient, clubsmtp_emulator: Emulator,
    clubsmtp_webhook_recorder: WebhookRecorder,
) -> None:
    await clubsmtp_client.domains.create(name="example.com")
    await clubsmtp_emulator.webhooks.wait_delivered(1)
    assert len(clubsmtp_webhook_recorder.events) == 1


@pytest.mark.asyncio
async def test_the_server_fixture_delivers(
    clubsmtp_server: EmulatorServer, clubsmtp_webhook_recorder: WebhookRecorder
) -> None:
    async with clubsmtp_server.client(requests_per_minute=None) as client:
        await client.domains.create(name="example.com")
    assert len(await clubsmtp_webhook_recorder.wait_for(1)) == 1
