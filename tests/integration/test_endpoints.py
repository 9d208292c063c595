"""All 20 endpoints end to end: the SDK over HTTPS against the emulator.

Each test checks what the SDK returns (typed models) and what the server holds
afterwards (the emulator object lives in this process).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

import pytest

from clubsmtp_async import (
    Alias,
    AliasTarget,
    AsyncClient,
    DnsRecord,
    DnsRecordStatus,
    DnsRecordType,
    Domain,
    ListEntry,
    Mailbox,
    Ping,
)
from clubsmtp_async.testing import Emulator, EmulatorServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALL_ENDPOINTS = {
    "GET /v1/ping",
    "GET /v1/domains",
    "POST /v1/domains",
    "GET /v1/domains/{uuid}",
    "DELETE /v1/domains/{uuid}",
    "GET /v1/mailboxes",
    "POST /v1/mailboxes",
    "GET /v1/mailboxes/{uuid}",
    "PATCH /v1/mailboxes/{uuid}",
    "DELETE /v1/mailboxes/{uuid}",
    "GET /v1/mailboxes/{uuid}/whitelist",
    "POST /v1/mailboxes/{uuid}/whitelist",
    "DELETE /v1/mailboxes/{uuid}/whitelist/{entry_uuid}",
    "GET /v1/mailboxes/{uuid}/blacklist",
    "POST /v1/mailboxes/{uuid}/blacklist",
    "DELETE /v1/mailboxes/{uuid}/blacklist/{entry_uuid}",
    "GET /v1/aliases",
    "POST /v1/aliases",
    "GET /v1/aliases/{uuid}",
    "DELETE /v1/aliases/{uuid}",
}


def aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() == timedelta(0)


async def test_the_suite_talks_https_to_the_emulator(
    sdk: AsyncClient, tls_server: EmulatorServer
) -> None:
    assert sdk.base_url == tls_server.base_url
    assert sdk.base_url.startswith("https://127.0.0.1:")
    assert tls_server.tls
    assert tls_server.ca_cert_path is not None


async def test_ping(sdk: AsyncClient, tls_emulator: Emulator) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    ping = await sdk.ping()
    after = datetime.now(timezone.utc)

    assert isinstance(ping, Ping)
    assert aware(ping.timestamp)
    assert ping.timestamp.microsecond == 0  # an RFC 1123 date has whole seconds
    assert before - timedelta(seconds=1) <= ping.timestamp <= after
    assert tls_emulator.stats.requests == {"GET /v1/ping": 1}
    assert tls_emulator.stats.statuses == {200: 1}


class TestDomains:
    async def test_create(self, sdk: AsyncClient, tls_emulator: Emulator) -> None:
        domain = await sdk.domains.create(name="Example.COM")

        assert isinstance(domain, Domain)
        assert domain.name == "example.com"
        assert aware(domain.created_at)
        assert [r.record_type for r in domain.dns_records] == list(DnsRecordType)
        for record in domain.dns_records:
            assert isinstance(record, DnsRecord)
            assert record.status is DnsRecordStatus.PENDING
            assert record.expected_value is None
            assert record.actual_value is None
            assert record.last_checked_at is None

        stored = tls_emulator.store.domains[domain.uuid]
        assert stored.name == "example.com"
        assert stored.account == "default"
        assert stored.created_at == domain.created_at
        assert [r.uuid for r in stored.dns_records] == [r.uuid for r in domain.dns_records]

    async def test_create_an_internationalised_name(
        self, sdk: AsyncClient, tls_emulator: Emulator
    ) -> None:
        domain = await sdk.domains.create(name="bücher.example")
        assert domain.name == "xn--bcher-kva.example"
        assert tls_emulator.store.domains[domain.uuid].name == "xn--bcher-kva.example"

    async def test_list_in_creation_order(self, sdk: AsyncClient, tls_emulator: Emulator) -> None:
        assert await sdk.domains.list() == []
        first = await sdk.domains.create(name="one.example")
        second = await sdk.domains.create(name="two.example")

        listed = await sdk.domains.list()
        assert listed == [first, second]
        assert [d.uuid for d in listed] == list(tls_emulator.store.domains)

    async def test_get_reflects_dns_changes(
        self, sdk: AsyncClient, tls_emulator: Emulator
    ) -> None:
        domain = await sdk.domains.create(name="example.com")
        assert await sdk.domains.get(domain.uuid) == domain
        assert await sdk.domains.get(domain.uuid.upper()) == domain  # UUIDs in any case

        tls_emulator.verify_domain(domain.uuid)
        verified = await sdk.domains.get(domain.uuid)
        assert {r.status for r in verified.dns_records} == {DnsRecordStatus.OK}
        assert all(r.actual_value and r.expected_value for r in verified.dns_records)
        assert all(r.last_checked_at is not None and aware(r.last_checked_at)
                   for r in verified.dns_records)

        mx = domain.dns_records[0]
        tls_emulator.set_dns_record(mx.uuid, status=3)
        failed = await sdk.domains.get(domain.uuid)
        assert failed.dns_records[0].status is DnsRecordStatus.FAIL

    async def test_delete_cascades(self, sdk: AsyncClient, tls_emulator: Emulator) -> None:
        domain = await sdk.domains.create(name="example.com")
        other = await sdk.domains.create(name="other.example")
        mailbox = await sdk.mailboxes.create(
            domain_uuid=domain.uuid, local_part="alice", password="s3cret-pw"
        )
        await sdk.mailboxes.whitelist.add(mailbox.uuid, pattern="*@trusted.com")
        alias = await sdk.aliases.create(
            domain_uuid=domain.uuid, local_part="info", mailbox_uuids=[mailbox.uuid]
        )

        assert await sdk.domains.delete(domain.uuid) is None

        store = tls_emulator.store
        assert list(store.domains) == [other.uuid]
        assert mailbox.uuid not in store.mailboxes
        assert alias.uuid not in store.aliases
        assert await sdk.domains.list() == [other]
        assert await sdk.mailboxes.list() == []
        assert await sdk.aliases.list() == []
        # The name is free again.
        again = await sdk.domains.create(name="example.com")
        assert again.uuid != domain.uuid


class TestMailboxes:
    async def test_create_with_default_and_explicit_quota(
        self, sdk: AsyncClient, tls_emulator: Emulator
    ) -> None:
        domain = await sdk.domains.create(name="example.com")
        alice = await sdk.mailboxes.create(
            domain_uuid=domain.uuid, local_part="Alice", password="correct horse"
        )
        bob = await sdk.mailboxes.create(
            domain_uuid=domain.uuid, local_part="bob", password="battery staple", storage_gb=20
        )

        assert isinstance(alice, Mailbox)
        assert alice.address == "alice@example.com"
        assert alice.domain_uuid == domain.uuid
        assert alice.domain == "example.com"
        assert alice.storage_gb == 10  # the API's default
        assert alice.enabled is True
        assert aware(alice.created_at)
        assert alice.created_at == alice.updated_at
        assert bob.storage_gb == 20

        stored = tls_emulator.store.mailboxes[alice.uuid]
        assert (stored.address, stored.storage_gb, stored.enabled) == (
            "alice@example.com", 10, True
        )
        assert tls_emulator.check_password(alice.uuid, "correct horse")
        assert not tls_emulator.check_password(alice.uuid, "wrong")
        assert tls_emulator.check_password(bob.uuid, "battery staple")

    async def test_list_all_and_by_domain(self, sdk: AsyncClient) -> None:
        one = await sdk.domains.create(name="one.example")
        two = await sdk.domains.create(name="two.example")
        a = await sdk.mailboxes.create(domain_uuid=one.uuid, local_part="a", password="pw")
        b = await sdk.mailboxes.create(domain_uuid=two.uuid, local_part="b", password="pw")
        c = await sdk.mailboxes.create(domain_uuid=one.uuid, local_part="c", password="pw")

        assert await sdk.mailboxes.list() == [a, b, c]
        assert await sdk.mailboxes.list(domain_uuid=one.uuid) == [a, c]
        assert await sdk.mailboxes.list(domain_uuid=two.uuid) == [b]

    async def test_get(self, sdk: AsyncClient) -> None:
        domain = await sdk.domains.create(name="example.com")
        mailbox = await sdk.mailboxes.create(
            domain_uuid=domain.uuid, local_part="alice", password="pw"
        )
        assert await sdk.mailboxes.get(mailbox.uuid) == mailbox

    async def test_update(self, sdk: AsyncClient, tls_emulator: Emulator) -> None:
        domain = await sdk.domains.create(name="example.com")
        mailbox = await sdk.mailboxes.create(
            domain_uuid=domain.uuid, local_part="alice", password="pw"
        )
        stored = tls_emulator.store.mailboxes[mailbox.uuid]

        suspended = await sdk.mailboxes.update(mailbox.uuid, enabled=False)
        assert suspended.enabled is False
        assert suspended.storage_gb == 10
        assert suspended.updated_at >= mailbox.updated_at
        assert suspended.created_at == mailbox.created_at
        assert stored.enabled is False

        grown = await sdk.mailboxes.update(mailbox.uuid, storage_gb=50)
        assert (grown.enabled, grown.storage_gb) == (False, 50)
        assert stored.storage_gb == 50

        both = await sdk.mailboxes.update(mailbox.uuid, enabled=True, storage_gb=1)
        assert (both.enabled, both.storage_gb) == (True, 1)
        assert (stored.enabled, stored.storage_gb) == (True, 1)
        assert both.updated_at == stored.updated_at
        assert await sdk.mailboxes.get(mailbox.uuid) == both

    async def test_delete(self, sdk: AsyncClient, tls_emulator: Emulator) -> None:
        domain = await sdk.domains.create(name="example.com")
        alice = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice",
                                           password="pw")
        bob = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="bob", password="pw")
        alias = await sdk.aliases.create(
            domain_uuid=domain.uuid, local_part="team", mailbox_uuids=[alice.uuid, bob.uuid]
        )

        assert await sdk.mailboxes.delete(alice.uuid) is None

        assert list(tls_emulator.store.mailboxes) == [bob.uuid]
        assert await sdk.mailboxes.list() == [bob]
        # The alias stops forwarding to the deleted mailbox, and is kept.
        after = await sdk.aliases.get(alias.uuid)
        assert after.forwarding_to == [AliasTarget(uuid=bob.uuid, address="bob@example.com")]
        assert after.updated_at >= alias.updated_at
        # The address is free again.
        await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice", password="pw")


@pytest.mark.parametrize("kind", ["whitelist", "blacklist"])
async def test_sender_list(
    kind: Literal["whitelist", "blacklist"], sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    other_kind: Literal["whitelist", "blacklist"] = (
        "blacklist" if kind == "whitelist" else "whitelist"
    )
    sender_list = getattr(sdk.mailboxes, kind)
    other_list = getattr(sdk.mailboxes, other_kind)
    domain = await sdk.domains.create(name="example.com")
    mailbox = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice", password="pw")

    assert await sender_list.list(mailbox.uuid) == []
    first = await sender_list.add(mailbox.uuid, pattern="*@trusted.com")
    second = await sender_list.add(mailbox.uuid, pattern="NoReply@Example.org")

    assert isinstance(first, ListEntry)
    assert first.pattern == "*@trusted.com"
    assert second.pattern == "noreply@example.org"  # the server stores patterns lower-cased
    assert aware(first.created_at)
    assert await sender_list.list(mailbox.uuid) == [first, second]
    assert await other_list.list(mailbox.uuid) == []  # the two lists are independent

    stored = tls_emulator.store.mailboxes[mailbox.uuid]
    assert [e.pattern for e in stored.entries(kind).values()] == [
        "*@trusted.com", "noreply@example.org"
    ]
    assert stored.entries(other_kind) == {}

    assert await sender_list.remove(mailbox.uuid, first.uuid) is None
    assert await sender_list.list(mailbox.uuid) == [second]
    assert list(stored.entries(kind)) == [second.uuid]


class TestAliases:
    async def test_create_get_list_delete(self, sdk: AsyncClient, tls_emulator: Emulator) -> None:
        domain = await sdk.domains.create(name="example.com")
        alice = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice",
                                           password="pw")
        bob = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="bob", password="pw")

        alias = await sdk.aliases.create(
            domain_uuid=domain.uuid, local_part="Info",
            mailbox_uuids=[alice.uuid, bob.uuid, alice.uuid],  # duplicates are dropped
        )
        assert isinstance(alias, Alias)
        assert alias.address == "info@example.com"
        assert alias.domain_uuid == domain.uuid
        assert alias.domain == "example.com"
        assert alias.forwarding_to == [
            AliasTarget(uuid=alice.uuid, address="alice@example.com"),
            AliasTarget(uuid=bob.uuid, address="bob@example.com"),
        ]
        assert aware(alias.created_at)
        assert alias.created_at == alias.updated_at

        stored = tls_emulator.store.aliases[alias.uuid]
        assert stored.address == "info@example.com"
        assert stored.mailbox_uuids == [alice.uuid, bob.uuid]

        sales = await sdk.aliases.create(
            domain_uuid=domain.uuid, local_part="sales", mailbox_uuids=[bob.uuid]
        )
        assert await sdk.aliases.get(alias.uuid) == alias
        assert await sdk.aliases.list() == [alias, sales]

        assert await sdk.aliases.delete(alias.uuid) is None
        assert list(tls_emulator.store.aliases) == [sales.uuid]
        assert await sdk.aliases.list() == [sales]
        # The target mailboxes are not affected.
        assert await sdk.mailboxes.list() == [alice, bob]


async def test_all_twenty_endpoints_in_one_session(
    sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    """One onboarding and teardown touching every endpoint, each answered 200."""
    await sdk.ping()
    domain = await sdk.domains.create(name="acme.example")
    assert [d.uuid for d in await sdk.domains.list()] == [domain.uuid]
    assert (await sdk.domains.get(domain.uuid)).name == "acme.example"
    mailbox = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice",
                                         password="pw", storage_gb=20)
    assert await sdk.mailboxes.list(domain_uuid=domain.uuid) == [mailbox]
    assert await sdk.mailboxes.get(mailbox.uuid) == mailbox
    assert (await sdk.mailboxes.update(mailbox.uuid, storage_gb=25)).storage_gb == 25
    white = await sdk.mailboxes.whitelist.add(mailbox.uuid, pattern="*@trusted.example")
    black = await sdk.mailboxes.blacklist.add(mailbox.uuid, pattern="*@spam.example")
    assert await sdk.mailboxes.whitelist.list(mailbox.uuid) == [white]
    assert await sdk.mailboxes.blacklist.list(mailbox.uuid) == [black]
    alias = await sdk.aliases.create(domain_uuid=domain.uuid, local_part="info",
                                     mailbox_uuids=[mailbox.uuid])
    assert await sdk.aliases.list() == [alias]
    assert await sdk.aliases.get(alias.uuid) == alias
    await sdk.aliases.delete(alias.uuid)
    await sdk.mailboxes.whitelist.remove(mailbox.uuid, white.uuid)
    await sdk.mailboxes.blacklist.remove(mailbox.uuid, black.uuid)
    await sdk.mailboxes.delete(mailbox.uuid)
    await sdk.domains.delete(domain.uuid)

    stats = tls_emulator.stats
    assert set(stats.requests) == ALL_ENDPOINTS
    assert stats.statuses == {200: stats.total}
    assert tls_emulator.snapshot() == {"domains": [], "mailboxes": [], "aliases": []}
