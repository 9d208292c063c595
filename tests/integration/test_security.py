"""Key policies over HTTPS: TLS verification, scopes, CIDR blocks, expiry, the rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from http_library import lib

from clubsmtp_async import (
    APIConnectionError,
    AsyncClient,
    AuthError,
    RateLimitError,
    SecurityError,
    ValidationError,
)
from clubsmtp_async.testing import Emulator, EmulatorServer, FakeClock, serve

from .conftest import KEY

pytestmark = pytest.mark.asyncio(loop_scope="module")


# --- TLS -------------------------------------------------------------------------------------

async def test_the_certificate_is_verified(tls_server: EmulatorServer) -> None:
    # The SDK's own pool trusts the system CAs only: the trustme CA is refused.
    async with AsyncClient(KEY, base_url=tls_server.base_url, max_retries=0,
                           requests_per_minute=None) as untrusting:
        with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            await untrusting.ping()
    assert isinstance(caught.value.__cause__, lib.ConnectError)
    # With the CA it works (the certificate names 127.0.0.1).
    async with lib.AsyncClient(verify=tls_server.ssl_context()) as http, AsyncClient(
        KEY, base_url=tls_server.base_url, http_client=http, requests_per_minute=None
    ) as trusting:
        await trusting.ping()


async def test_the_sdk_refuses_plain_http_to_a_remote_host() -> None:
    with pytest.raises(ValidationError, match="plain HTTP"):
        AsyncClient(KEY, base_url="http://api.clubsmtp.com")


async def test_plain_http_is_accepted_from_loopback_over_a_real_socket() -> None:
    emulator = Emulator(api_keys=[KEY])
    async with serve(emulator, tls=False) as server, server.client(
        KEY, requests_per_minute=None
    ) as client:
        assert server.base_url.startswith("http://127.0.0.1:")
        await client.ping()


async def test_https_required_for_remote_clients_in_process() -> None:
    """Over real sockets every client is loopback; a remote client is shown in process."""
    emulator = Emulator(api_keys=[KEY])
    remote = "198.51.100.7"
    async with emulator.client(KEY, client_address=remote, base_url="http://127.0.0.1",
                               requests_per_minute=None, max_retries=0) as plain:
        with pytest.raises(SecurityError, match=r"^HTTPS required\."):
            await plain.ping()
    async with emulator.client(KEY, client_address=remote, requests_per_minute=None) as tls:
        assert tls.base_url.startswith("https://")
        await tls.ping()
    assert emulator.stats.statuses == {403: 1, 200: 1}


# --- scopes ----------------------------------------------------------------------------------

async def test_scopes_with_wildcards(
    make_sdk: Callable[..., AsyncClient], sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    domain = await sdk.domains.create(name="example.com")
    mailbox = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice", password="pw")
    key = tls_emulator.create_key(scopes=["get:/v1/domains", "*:/v1/mailboxes/*"])
    client = make_sdk(key.token, max_retries=0)

    # Allowed: an exact entry (method case-insensitive), and `*` spanning several segments.
    assert [d.uuid for d in await client.domains.list()] == [domain.uuid]
    assert (await client.mailboxes.get(mailbox.uuid)).uuid == mailbox.uuid
    await client.mailboxes.update(mailbox.uuid, storage_gb=11)
    entry = await client.mailboxes.whitelist.add(mailbox.uuid, pattern="*@trusted.com")
    await client.mailboxes.whitelist.remove(mailbox.uuid, entry.uuid)

    refused = [
        client.ping(),  # scopes apply to ping too
        client.domains.get(domain.uuid),  # /v1/domains does not cover /v1/domains/{uuid}
        client.domains.create(name="other.example"),  # another method
        client.mailboxes.list(),  # /v1/mailboxes/* does not cover /v1/mailboxes
        client.aliases.list(),
    ]
    for call in refused:
        with pytest.raises(SecurityError, match="API key scope does not allow"):
            await call
    assert tls_emulator.store.mailboxes[mailbox.uuid].storage_gb == 11
    assert len(tls_emulator.store.domains) == 1


async def test_a_method_wildcard_scope(
    make_sdk: Callable[..., AsyncClient], sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    domain = await sdk.domains.create(name="example.com")
    reader = make_sdk(tls_emulator.create_key(scopes=["GET:*"]).token, max_retries=0)
    await reader.ping()
    assert (await reader.domains.get(domain.uuid)).name == "example.com"
    assert await reader.mailboxes.list() == []
    with pytest.raises(SecurityError):
        await reader.domains.delete(domain.uuid)
    assert domain.uuid in tls_emulator.store.domains


async def test_a_key_without_scopes_can_call_nothing(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    client = make_sdk(tls_emulator.create_key(scopes=[]).token)
    with pytest.raises(SecurityError):
        await client.ping()


async def test_refused_requests_do_not_use_the_rate_budget(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    key = tls_emulator.create_key(scopes=["GET:/v1/ping"], requests_per_minute=1, burst=1)
    client = make_sdk(key.token, max_retries=0)
    for _ in range(3):
        with pytest.raises(SecurityError):
            await client.domains.list()
    await client.ping()  # the one request of the minute is still available
    assert tls_emulator.stats.rate_limited == 0


# --- CIDR ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cidrs", "allowed"),
    [
        (["127.0.0.0/8"], True),
        (["127.0.0.1/32"], True),
        (["10.0.0.0/8", "127.0.0.1"], True),  # any one block is enough
        (["10.0.0.0/8"], False),
        (["203.0.113.0/24", "198.51.100.0/24"], False),
        (["::1/128"], False),  # the client connects over IPv4
    ],
)
async def test_cidr_blocks(
    cidrs: list[str], allowed: bool, make_sdk: Callable[..., AsyncClient],
    tls_emulator: Emulator,
) -> None:
    client = make_sdk(tls_emulator.create_key(cidrs=cidrs).token)
    if allowed:
        await client.ping()
    else:
        with pytest.raises(SecurityError, match=r"^IP address 127\.0\.0\.1 is not allowed\."):
            await client.ping()
        assert tls_emulator.stats.requests == {"GET /v1/ping": 1}  # a 403 is not retried


# --- expiry ----------------------------------------------------------------------------------

async def test_a_key_with_a_past_expiry_date_is_refused(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    past = datetime.now(timezone.utc) - timedelta(days=1)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    with pytest.raises(AuthError, match=r"^API key has expired\."):
        await make_sdk(tls_emulator.create_key(expires_at=past).token).ping()
    await make_sdk(tls_emulator.create_key(expires_at=future).token).ping()


async def test_a_key_expires_when_the_clock_reaches_its_date() -> None:
    clock = FakeClock()
    emulator = Emulator(clock=clock)
    key = emulator.create_key(expires_in=3600)
    async with serve(emulator, tls=True) as server, server.client(
        key.token, requests_per_minute=None
    ) as client:
        await client.ping()
        clock.advance(3599)
        await client.ping()
        clock.advance(1)  # exactly at expires_at: expired
        with pytest.raises(AuthError, match="expired"):
            await client.ping()
        clock.advance(86_400)
        with pytest.raises(AuthError, match="expired"):  # permanently
            await client.ping()
    assert emulator.stats.statuses == {200: 2, 401: 2}


# --- the rate limit ------------------------------------------------------------------------

async def test_a_client_at_the_keys_rate_gets_no_429(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    """Paced at exactly the key's rate, over TLS sockets: no 429.

    The bucket holds 3 requests, so the requests' trip through a busy machine's
    sockets may bunch them by up to 200 ms (two intervals) without a 429: what
    a real server's bucket allows too. The exact spacing itself is asserted
    with a fake clock in tests/test_limiter.py.
    """
    rpm, calls = 600, 20  # one request per 100 ms: about 2 s
    key = tls_emulator.create_key(requests_per_minute=rpm, burst=3)
    client = make_sdk(key.token, requests_per_minute=rpm, max_retries=0)

    pings = await asyncio.gather(*(client.ping() for _ in range(calls)))

    assert len(pings) == calls
    assert tls_emulator.stats.rate_limited == 0
    assert tls_emulator.stats.statuses == {200: calls}
    assert len(tls_emulator.stats.accepted[key.id]) == calls


async def test_the_same_burst_without_pacing_is_refused(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    """The control experiment: the emulator really enforces 600/min at burst 1."""
    key = tls_emulator.create_key(requests_per_minute=600, burst=1)
    client = make_sdk(key.token, requests_per_minute=None, max_retries=0)
    results = await asyncio.gather(*(client.ping() for _ in range(10)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, RateLimitError)]
    assert refused
    assert all(r.retry_after == 1 for r in refused)
    assert len(refused) + sum(1 for r in results if not isinstance(r, BaseException)) == 10
    assert tls_emulator.stats.rate_limited == len(refused)

