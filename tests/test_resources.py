"""The 20 endpoints: the request each method sends and how the documented answer decodes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

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
    NewAlias,
    NewMailbox,
    NotFoundError,
    Ping,
    __version__,
)

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "api_examples.json").read_text()
)
DOMAIN = EXAMPLES["domain"]
MAILBOX = EXAMPLES["mailbox"]
ENTRY = EXAMPLES["list_entry"]
ALIAS = EXAMPLES["alias"]
DOMAIN_ID = DOMAIN["uuid"]
MAILBOX_ID = MAILBOX["uuid"]
ENTRY_ID = ENTRY["uuid"]
ALIAS_ID = ALIAS["uuid"]
PASSWORD = "correct-Horse-battery-staple-42"
UTC = timezone.utc


def ok(field: str, value: Any) -> httpx.Response:
    return httpx.Response(200, json={field: value, "errors": []})


def assert_domain(domain: Any) -> None:
    assert isinstance(domain, Domain)
    assert domain.uuid == DOMAIN_ID
    assert domain.name == "example.com"
    assert domain.created_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert domain.created_at.tzinfo is not None
    [record] = domain.dns_records
    assert isinstance(record, DnsRecord)
    assert record.uuid == "018f1a2b-3c4d-7e5f-a6b7-000000000001"
    assert record.record_type is DnsRecordType.MX
    assert record.status is DnsRecordStatus.OK
    assert isinstance(record.status, int)
    assert record.status == 2
    assert record.expected_value == "10 mail.example.com."
    assert record.actual_value == "10 mail.example.com."
    assert record.last_checked_at == datetime(2026, 4, 21, 8, 0, tzinfo=UTC)


def assert_mailbox(mailbox: Any) -> None:
    assert isinstance(mailbox, Mailbox)
    assert mailbox.uuid == MAILBOX_ID
    assert mailbox.address == "alice@example.com"
    assert mailbox.domain_uuid == DOMAIN_ID
    assert mailbox.domain == "example.com"
    assert mailbox.storage_gb == 20
    assert mailbox.enabled is True
    assert mailbox.created_at == datetime(2026, 4, 21, 14, 30, tzinfo=UTC)
    assert mailbox.updated_at == mailbox.created_at
    assert mailbox.updated_at.tzinfo is not None


def assert_entry(entry: Any) -> None:
    assert isinstance(entry, ListEntry)
    assert entry.uuid == ENTRY_ID
    assert entry.pattern == "*@trusted.com"
    assert entry.created_at == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def assert_alias(alias: Any) -> None:
    assert isinstance(alias, Alias)
    assert alias.uuid == ALIAS_ID
    assert alias.address == "info@example.com"
    assert alias.domain_uuid == DOMAIN_ID
    assert alias.domain == "example.com"
    assert alias.forwarding_to == [AliasTarget(uuid=MAILBOX_ID, address="alice@example.com")]
    assert isinstance(alias.forwarding_to[0], AliasTarget)
    assert alias.created_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert alias.updated_at.tzinfo is not None


def assert_ping(ping: Any) -> None:
    assert isinstance(ping, Ping)
    assert ping.timestamp == datetime(2026, 4, 21, 12, 0, tzinfo=UTC)
    assert ping.timestamp.utcoffset() is not None


def assert_none(value: Any) -> None:
    assert value is None


def many(check: Callable[[Any], None]) -> Callable[[Any], None]:
    def check_list(values: Any) -> None:
        assert isinstance(values, list)
        assert len(values) == 1
        check(values[0])

    return check_list


@dataclass
class Case:
    """One endpoint call: what the SDK must send, what the server answers, how it decodes."""

    id: str
    call: Callable[[AsyncClient], Awaitable[Any]]
    method: str
    path: str
    response: httpx.Response
    check: Callable[[Any], None]
    body: dict[str, Any] | None = None
    query: dict[str, str] | None = None


DELETED = {"success": True, "errors": []}
MB = f"/v1/mailboxes/{MAILBOX_ID}"

CASES = [
    Case("1-ping", lambda c: c.ping(), "GET", "/v1/ping",
         httpx.Response(200, json=EXAMPLES["ping"]), assert_ping),
    Case("2-domains.list", lambda c: c.domains.list(), "GET", "/v1/domains",
         ok("data", [DOMAIN]), many(assert_domain)),
    Case("3-domains.create", lambda c: c.domains.create(name="example.com"), "POST",
         "/v1/domains", ok("domain", DOMAIN), assert_domain, body={"name": "example.com"}),
    Case("4-domains.get", lambda c: c.domains.get(DOMAIN_ID), "GET", f"/v1/domains/{DOMAIN_ID}",
         ok("domain", DOMAIN), assert_domain),
    Case("5-domains.delete", lambda c: c.domains.delete(DOMAIN_ID), "DELETE",
         f"/v1/domains/{DOMAIN_ID}", httpx.Response(200, json=DELETED), assert_none),
    Case("6-mailboxes.list", lambda c: c.mailboxes.list(), "GET", "/v1/mailboxes",
         ok("data", [MAILBOX]), many(assert_mailbox), query={}),
    Case("6-mailboxes.list-by-domain", lambda c: c.mailboxes.list(domain_uuid=DOMAIN_ID), "GET",
         "/v1/mailboxes", ok("data", [MAILBOX]), many(assert_mailbox),
         query={"domain_uuid": DOMAIN_ID}),
    Case("7-mailboxes.create",
         lambda c: c.mailboxes.create(domain_uuid=DOMAIN_ID, local_part="alice",
                                      password=PASSWORD, storage_gb=20),
         "POST", "/v1/mailboxes", ok("mailbox", MAILBOX), assert_mailbox,
         body={"domain_uuid": DOMAIN_ID, "local_part": "alice", "password": PASSWORD,
               "storage_gb": 20}),
    Case("7-mailboxes.create-default-quota",
         lambda c: c.mailboxes.create(domain_uuid=DOMAIN_ID, local_part="alice",
                                      password=PASSWORD),
         "POST", "/v1/mailboxes", ok("mailbox", MAILBOX), assert_mailbox,
         body={"domain_uuid": DOMAIN_ID, "local_part": "alice", "password": PASSWORD}),
    Case("7-mailboxes.create_from",
         lambda c: c.mailboxes.create_from(
             NewMailbox(domain_uuid=DOMAIN_ID, local_part="alice", password=PASSWORD)),
         "POST", "/v1/mailboxes", ok("mailbox", MAILBOX), assert_mailbox,
         body={"domain_uuid": DOMAIN_ID, "local_part": "alice", "password": PASSWORD}),
    Case("8-mailboxes.get", lambda c: c.mailboxes.get(MAILBOX_ID), "GET", MB,
         ok("mailbox", MAILBOX), assert_mailbox),
    Case("9-mailboxes.update-disable", lambda c: c.mailboxes.update(MAILBOX_ID, enabled=False),
         "PATCH", MB, ok("mailbox", MAILBOX), assert_mailbox, body={"enabled": False}),
    Case("9-mailboxes.update-quota", lambda c: c.mailboxes.update(MAILBOX_ID, storage_gb=50),
         "PATCH", MB, ok("mailbox", MAILBOX), assert_mailbox, body={"storage_gb": 50}),
    Case("9-mailboxes.update-both",
         lambda c: c.mailboxes.update(MAILBOX_ID, enabled=True, storage_gb=1),
         "PATCH", MB, ok("mailbox", MAILBOX), assert_mailbox,
         body={"enabled": True, "storage_gb": 1}),
    Case("10-mailboxes.delete", lambda c: c.mailboxes.delete(MAILBOX_ID), "DELETE", MB,
         httpx.Response(200, json=DELETED), assert_none),
    Case("11-whitelist.list", lambda c: c.mailboxes.whitelist.list(MAILBOX_ID), "GET",
         f"{MB}/whitelist", ok("data", [ENTRY]), many(assert_entry)),
    Case("12-whitelist.add",
         lambda c: c.mailboxes.whitelist.add(MAILBOX_ID, pattern="*@trusted.com"),
         "POST", f"{MB}/whitelist", ok("entry", ENTRY), assert_entry,
         body={"pattern": "*@trusted.com"}),
    Case("13-whitelist.remove", lambda c: c.mailboxes.whitelist.remove(MAILBOX_ID, ENTRY_ID),
         "DELETE", f"{MB}/whitelist/{ENTRY_ID}", httpx.Response(200, json=DELETED), assert_none),
    Case("14-blacklist.list", lambda c: c.mailboxes.blacklist.list(MAILBOX_ID), "GET",
         f"{MB}/blacklist", ok("data", [ENTRY]), many(assert_entry)),
    Case("15-blacklist.add",
         lambda c: c.mailboxes.blacklist.add(MAILBOX_ID, pattern="*@trusted.com"),
         "POST", f"{MB}/blacklist", ok("entry", ENTRY), assert_entry,
         body={"pattern": "*@trusted.com"}),
    Case("16-blacklist.remove", lambda c: c.mailboxes.blacklist.remove(MAILBOX_ID, ENTRY_ID),
         "DELETE", f"{MB}/blacklist/{ENTRY_ID}", httpx.Response(200, json=DELETED), assert_none),
    Case("17-aliases.list", lambda c: c.aliases.list(), "GET", "/v1/aliases",
         ok("data", [ALIAS]), many(assert_alias)),
    Case("18-aliases.create",
         lambda c: c.aliases.create(domain_uuid=DOMAIN_ID, local_part="info",
                                    mailbox_uuids=[MAILBOX_ID]),
         "POST", "/v1/aliases", ok("alias", ALIAS), assert_alias,
         body={"domain_uuid": DOMAIN_ID, "local_part": "info", "mailbox_uuids": [MAILBOX_ID]}),
    Case("18-aliases.create_from",
         lambda c: c.aliases.create_from(
             NewAlias(domain_uuid=DOMAIN_ID, local_part="info", mailbox_uuids=[MAILBOX_ID])),
         "POST", "/v1/aliases", ok("alias", ALIAS), assert_alias,
         body={"domain_uuid": DOMAIN_ID, "local_part": "info", "mailbox_uuids": [MAILBOX_ID]}),
    Case("19-aliases.get", lambda c: c.aliases.get(ALIAS_ID), "GET", f"/v1/aliases/{ALIAS_ID}",
         ok("alias", ALIAS), assert_alias),
    Case("20-aliases.delete", lambda c: c.aliases.delete(ALIAS_ID), "DELETE",
         f"/v1/aliases/{ALIAS_ID}", httpx.Response(200, json=DELETED), assert_none),
]


def test_cases_cover_all_20_endpoints() -> None:
    numbers = {int(case.id.split("-")[0]) for case in CASES}
    assert numbers == set(range(1, 21))


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_endpoint(
    case: Case, sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_api_key: str
) -> None:
    route = sdk_router.route(method=case.method, path=case.path).mock(return_value=case.response)

    result = await case.call(sdk_client)

    case.check(result)
    assert route.call_count == 1
    assert sdk_router.calls.call_count == 1  # no other request (e.g. no lookup)
    request = route.calls.last.request
    assert request.method == case.method
    assert request.url.scheme == "https"
    assert request.url.host == "api.clubsmtp.test"
    assert request.url.path == case.path
    assert dict(request.url.params) == (case.query or {})
    assert request.headers["authorization"] == f"Bearer {sdk_api_key}"
    user_agent = request.headers["user-agent"]
    assert user_agent.startswith(f"clubsmtp-async/{__version__} ")
    assert request.headers["accept"] == "application/json"
    if case.body is None:
        assert request.content == b""
        assert "content-type" not in request.headers
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.body


@pytest.mark.asyncio
async def test_domain_create_sends_idna_name_as_punycode_lowercase(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    answer = {**DOMAIN, "name": "xn--bcher-kva.example"}
    route = sdk_router.post("/v1/domains").mock(return_value=ok("domain", answer))

    domain = await sdk_client.domains.create(name="Bücher.Example.")

    assert json.loads(route.calls.last.request.content) == {"name": "xn--bcher-kva.example"}
    assert domain.name == "xn--bcher-kva.example"


@pytest.mark.asyncio
async def test_list_tolerates_unknown_fields_and_enum_values(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    newer = {
        **DOMAIN,
        "uuid": "018f1a2b-0000-7e5f-a6b7-c8d9e0f1a2b3",
        "name": "newer.example",
        "plan": "enterprise",  # a field this SDK does not know
        "dns_records": [
            {"uuid": "r1", "record_type": "TLSA", "status": 9, "future": [1, 2]},
            {"uuid": "r2", "record_type": "autodiscover", "status": 1,
             "expected_value": None, "actual_value": None, "last_checked_at": None},
        ],
    }
    sdk_router.get("/v1/domains").mock(
        return_value=httpx.Response(200, json={"data": [DOMAIN, newer], "errors": [], "meta": {}})
    )

    first, second = await sdk_client.domains.list()

    assert_domain(first)
    assert second.name == "newer.example"
    unknown_type, autodiscover = second.dns_records
    assert unknown_type.record_type.value == "TLSA"
    assert unknown_type.status == 9
    assert isinstance(unknown_type.status, DnsRecordStatus)
    assert autodiscover.record_type is DnsRecordType.AUTODISCOVER
    assert autodiscover.status is DnsRecordStatus.PENDING
    assert autodiscover.last_checked_at is None


@pytest.mark.asyncio
async def test_empty_lists(sdk_client: AsyncClient, sdk_router: respx.MockRouter) -> None:
    sdk_router.get("/v1/aliases").mock(return_value=ok("data", []))
    assert await sdk_client.aliases.list() == []


@pytest.mark.asyncio
async def test_get_unknown_uuid_raises_not_found(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    sdk_router.get(f"/v1/aliases/{ALIAS_ID}").mock(
        return_value=httpx.Response(
            400, json={"errors": [{"message": "Alias not found.", "type": "invalid_request_error"}]}
        )
    )
    with pytest.raises(NotFoundError, match=r"Alias not found\."):
        await sdk_client.aliases.get(ALIAS_ID)


@pytest.mark.asyncio
async def test_resources_are_views_over_their_client(sdk_client: AsyncClient) -> None:
    assert sdk_client.mailboxes.whitelist is not sdk_client.mailboxes.blacklist
    assert sdk_client.mailboxes.whitelist._list.path.endswith("/whitelist")
    assert sdk_client.mailboxes.blacklist._list.path.endswith("/blacklist")
    assert sdk_client.domains._client is sdk_client
