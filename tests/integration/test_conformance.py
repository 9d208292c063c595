"""Conformance: the API page's example requests replayed against the emulator over HTTPS.

Raw httpx (no SDK decoding), so the JSON itself is checked field by field
against the page's example objects (``tests/fixtures/api_examples.json``, the
objects of the API reference copied verbatim): the envelope keys of each of the
20 endpoints, each object's exact field set and JSON types, the identifier and
timestamp formats, the ping's RFC 1123 date, the six DNS records, and the error
envelopes with their documented status/type pairs.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from clubsmtp_async.testing import Emulator, ErrorBefore, FakeClock, RateLimit, serve

from .conftest import KEY, MISSING_UUID, auth

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "api_examples.json").read_text()
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
RFC1123 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d\d:\d\d:\d\d GMT$"
)
TIMESTAMP_FIELDS = {"created_at", "updated_at", "last_checked_at"}
NULLABLE_FIELDS = {"expected_value", "actual_value", "last_checked_at"}  # DNS records
RECORD_TYPES = ["MX", "SPF", "DKIM", "DMARC", "autoconfig", "autodiscover"]
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "auth_error",
    403: "security_error",
    429: "rate_limit_error",
    500: "api_error",
}
PASSWORD = "correct horse battery staple"


# --- checking helpers --------------------------------------------------------------------------

def envelope(response: httpx.Response, key: str) -> Any:
    """A success envelope: exactly ``{key, "errors"}``, ``errors`` an empty list."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert "retry-after" not in response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == {key, "errors"}, body
    assert isinstance(body["errors"], list)
    assert body["errors"] == []
    return body[key]


def like(actual: Any, example: Any, where: str = "$") -> None:
    """`actual` has the example object's exact field set, JSON types and formats."""
    assert isinstance(actual, dict), where
    assert set(actual) == set(example), f"{where}: {sorted(actual)} != {sorted(example)}"
    for name, sample in example.items():
        value, here = actual[name], f"{where}.{name}"
        if value is None:
            assert name in NULLABLE_FIELDS, f"{here} is null"
            continue
        assert type(value) is type(sample), f"{here}: {type(value).__name__}"
        if name == "uuid" or name.endswith("_uuid"):
            assert UUID.match(value), here
        if name in TIMESTAMP_FIELDS:
            assert TIMESTAMP.match(value), f"{here}: {value!r}"
            assert datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
        if isinstance(sample, list):
            for index, item in enumerate(value):
                like(item, sample[0], f"{here}[{index}]")


def without(obj: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in names}


def check_domain(domain: Any, *, name: str = "example.com") -> None:
    like(domain, EXAMPLES["domain"], "domain")
    assert domain["name"] == name
    assert [r["record_type"] for r in domain["dns_records"]] == RECORD_TYPES


def check_fresh_domain(domain: Any, *, name: str = "example.com") -> None:
    check_domain(domain, name=name)
    for record in domain["dns_records"]:
        assert without(record, "uuid", "record_type") == {
            "expected_value": None, "actual_value": None, "status": 1, "last_checked_at": None,
        }
    assert len({r["uuid"] for r in domain["dns_records"]} | {domain["uuid"]}) == 7


def check_mailbox(mailbox: Any, world: World) -> None:
    like(mailbox, EXAMPLES["mailbox"], "mailbox")
    ignore = ("uuid", "domain_uuid", "created_at", "updated_at", "enabled")
    assert without(mailbox, *ignore) == without(EXAMPLES["mailbox"], *ignore)
    assert mailbox["domain_uuid"] == world.domain["uuid"]


def check_entry(entry: Any, pattern: str) -> None:
    like(entry, EXAMPLES["list_entry"], "entry")
    assert entry["pattern"] == pattern


def check_alias(alias: Any, world: World) -> None:
    like(alias, EXAMPLES["alias"], "alias")
    assert alias["address"] == EXAMPLES["alias"]["address"]
    assert alias["domain"] == "example.com"
    assert alias["domain_uuid"] == world.domain["uuid"]
    assert alias["forwarding_to"] == [
        {"uuid": world.mailbox["uuid"], "address": "alice@example.com"}
    ]


def check_error(response: httpx.Response, status: int) -> str:
    """An error envelope: ``{"errors": [{"message": str, "type": str}]}`` with the page's type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors"}
    assert isinstance(body["errors"], list)
    [error] = body["errors"]
    assert set(error) == {"message", "type"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert error["type"] == ERROR_TYPES[status]
    message: str = error["message"]
    return message


# --- the page's example requests -----------------------------------------------------------------

class World:
    """The objects of the page's examples, created by replaying its requests."""

    domain: dict[str, Any]
    mailbox: dict[str, Any]
    whitelist: dict[str, Any]
    blacklist: dict[str, Any]
    alias: dict[str, Any]


CREATE_STEPS = ["domain", "mailbox", "whitelist", "blacklist", "alias"]
PATTERNS = {"whitelist": "*@trusted.com", "blacklist": "noreply@example.com"}


async def build(http: httpx.AsyncClient, upto: str = "alias") -> World:
    """Replay the page's create requests in order, checking each answer, up to `upto`."""
    world = World()
    for step in CREATE_STEPS[: CREATE_STEPS.index(upto) + 1]:
        if step == "domain":
            response = await http.post("/v1/domains", json={"name": "example.com"})
            world.domain = envelope(response, "domain")
            check_fresh_domain(world.domain)
        elif step == "mailbox":
            response = await http.post("/v1/mailboxes", json={
                "domain_uuid": world.domain["uuid"], "local_part": "alice",
                "password": PASSWORD, "storage_gb": 20,
            })
            world.mailbox = envelope(response, "mailbox")
            check_mailbox(world.mailbox, world)
            assert world.mailbox["enabled"] is True
            assert world.mailbox["created_at"] == world.mailbox["updated_at"]
        elif step in PATTERNS:
            response = await http.post(
                f"/v1/mailboxes/{world.mailbox['uuid']}/{step}", json={"pattern": PATTERNS[step]}
            )
            entry = envelope(response, "entry")
            check_entry(entry, PATTERNS[step])
            setattr(world, step, entry)
        else:
            response = await http.post("/v1/aliases", json={
                "domain_uuid": world.domain["uuid"], "local_part": "info",
                "mailbox_uuids": [world.mailbox["uuid"]],
            })
            world.alias = envelope(response, "alias")
            check_alias(world.alias, world)
    return world


async def ping(http: httpx.AsyncClient, em: Emulator) -> None:
    timestamp = envelope(await http.get("/v1/ping"), "timestamp")
    assert isinstance(timestamp, str)
    assert RFC1123.match(timestamp), timestamp
    when = email.utils.parsedate_to_datetime(timestamp)
    assert abs(when - datetime.now(timezone.utc)) < timedelta(seconds=5)


async def list_domains(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    [domain] = envelope(await http.get("/v1/domains"), "data")
    check_fresh_domain(domain)
    assert domain == world.domain


async def create_domain(http: httpx.AsyncClient, em: Emulator) -> None:
    await build(http, upto="domain")  # checked there: six pending records, values null


async def get_domain(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    path = f"/v1/domains/{world.domain['uuid']}"
    assert envelope(await http.get(path), "domain") == world.domain
    # The checker verified MX as in the page's example: the record renders exactly like it.
    example = EXAMPLES["domain"]["dns_records"][0]
    em.set_dns_record(
        world.domain["dns_records"][0]["uuid"], status=example["status"],
        expected_value=example["expected_value"], actual_value=example["actual_value"],
        last_checked_at=datetime(2026, 4, 21, 8, 0, tzinfo=timezone.utc),
    )
    domain = envelope(await http.get(path), "domain")
    check_domain(domain)
    mx, *others = domain["dns_records"]
    assert without(mx, "uuid") == without(example, "uuid")
    assert others == world.domain["dns_records"][1:]


async def delete_domain(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    response = await http.delete(f"/v1/domains/{world.domain['uuid']}")
    assert envelope(response, "success") is True


async def list_mailboxes(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    assert envelope(await http.get("/v1/mailboxes"), "data") == [world.mailbox]
    response = await http.get("/v1/mailboxes", params={"domain_uuid": world.domain["uuid"]})
    [mailbox] = envelope(response, "data")
    check_mailbox(mailbox, world)


async def create_mailbox(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http, upto="mailbox")
    assert em.check_password(world.mailbox["uuid"], PASSWORD)
    assert PASSWORD not in json.dumps(world.mailbox)


async def get_mailbox(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    mailbox = envelope(await http.get(f"/v1/mailboxes/{world.mailbox['uuid']}"), "mailbox")
    check_mailbox(mailbox, world)
    assert mailbox == world.mailbox


async def update_mailbox(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    path = f"/v1/mailboxes/{world.mailbox['uuid']}"
    mailbox = envelope(await http.patch(path, json={"enabled": False}), "mailbox")
    check_mailbox(mailbox, world)
    assert mailbox["enabled"] is False
    assert mailbox["created_at"] == world.mailbox["created_at"]
    assert mailbox["updated_at"] >= world.mailbox["updated_at"]  # same format: sorts by time
    mailbox = envelope(await http.patch(path, json={"storage_gb": 1}), "mailbox")
    assert (mailbox["enabled"], mailbox["storage_gb"]) == (False, 1)


async def delete_mailbox(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    response = await http.delete(f"/v1/mailboxes/{world.mailbox['uuid']}")
    assert envelope(response, "success") is True


def _list_endpoints(kind: str) -> dict[str, Callable[[httpx.AsyncClient, Emulator], Any]]:
    async def list_entries(http: httpx.AsyncClient, em: Emulator) -> None:
        world = await build(http)
        [entry] = envelope(await http.get(f"/v1/mailboxes/{world.mailbox['uuid']}/{kind}"),
                           "data")
        check_entry(entry, PATTERNS[kind])
        assert entry == getattr(world, kind)

    async def add_entry(http: httpx.AsyncClient, em: Emulator) -> None:
        await build(http, upto=kind)

    async def remove_entry(http: httpx.AsyncClient, em: Emulator) -> None:
        world = await build(http)
        entry = getattr(world, kind)
        response = await http.delete(f"/v1/mailboxes/{world.mailbox['uuid']}/{kind}/"
                                     f"{entry['uuid']}")
        assert envelope(response, "success") is True

    return {f"GET /v1/mailboxes/{{uuid}}/{kind}": list_entries,
            f"POST /v1/mailboxes/{{uuid}}/{kind}": add_entry,
            f"DELETE /v1/mailboxes/{{uuid}}/{kind}/{{entry_uuid}}": remove_entry}


async def list_aliases(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    [alias] = envelope(await http.get("/v1/aliases"), "data")
    check_alias(alias, world)
    assert alias == world.alias


async def create_alias(http: httpx.AsyncClient, em: Emulator) -> None:
    await build(http, upto="alias")


async def get_alias(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    alias = envelope(await http.get(f"/v1/aliases/{world.alias['uuid']}"), "alias")
    check_alias(alias, world)
    assert alias == world.alias


async def delete_alias(http: httpx.AsyncClient, em: Emulator) -> None:
    world = await build(http)
    assert envelope(await http.delete(f"/v1/aliases/{world.alias['uuid']}"), "success") is True


ENDPOINTS: dict[str, Callable[[httpx.AsyncClient, Emulator], Any]] = {
    "GET /v1/ping": ping,
    "GET /v1/domains": list_domains,
    "POST /v1/domains": create_domain,
    "GET /v1/domains/{uuid}": get_domain,
    "DELETE /v1/domains/{uuid}": delete_domain,
    "GET /v1/mailboxes": list_mailboxes,
    "POST /v1/mailboxes": create_mailbox,
    "GET /v1/mailboxes/{uuid}": get_mailbox,
    "PATCH /v1/mailboxes/{uuid}": update_mailbox,
    "DELETE /v1/mailboxes/{uuid}": delete_mailbox,
    **_list_endpoints("whitelist"),
    **_list_endpoints("blacklist"),
    "GET /v1/aliases": list_aliases,
    "POST /v1/aliases": create_alias,
    "GET /v1/aliases/{uuid}": get_alias,
    "DELETE /v1/aliases/{uuid}": delete_alias,
}


async def test_the_table_has_the_twenty_endpoints() -> None:
    assert len(ENDPOINTS) == 20


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_endpoint_conforms(
    endpoint: str, make_raw: Callable[..., httpx.AsyncClient], tls_emulator: Emulator
) -> None:
    await ENDPOINTS[endpoint](make_raw(), tls_emulator)
    assert endpoint in tls_emulator.stats.requests  # the endpoint itself was exercised
    assert set(tls_emulator.stats.statuses) == {200}


async def test_the_page_examples_replayed_on_the_pages_dates() -> None:
    """On a fake clock set to the examples' dates, the answers equal the examples."""
    clock = FakeClock(start=datetime(2026, 1, 15, 9, 0, tzinfo=timezone.utc))
    emulator = Emulator(clock=clock, seed=1, requests_per_minute=60_000, burst=1_000)
    emulator.create_key(KEY)

    def advance_to(when: datetime) -> None:
        clock.advance((when - clock.utcnow()).total_seconds())

    async with serve(emulator, tls=True) as server, server.http_client(headers=auth()) as http:
        domain = envelope(await http.post("/v1/domains", json={"name": "example.com"}),
                          "domain")
        example = EXAMPLES["domain"]
        mx = example["dns_records"][0]
        emulator.set_dns_record(
            domain["dns_records"][0]["uuid"], status=mx["status"],
            expected_value=mx["expected_value"], actual_value=mx["actual_value"],
            last_checked_at=datetime(2026, 4, 21, 8, 0, tzinfo=timezone.utc),
        )

        advance_to(datetime(2026, 4, 21, 12, 0, tzinfo=timezone.utc))
        pinged = envelope(await http.get("/v1/ping"), "timestamp")

        advance_to(datetime(2026, 4, 21, 14, 30, tzinfo=timezone.utc))
        mailbox = envelope(await http.post("/v1/mailboxes", json={
            "domain_uuid": domain["uuid"], "local_part": "alice", "password": PASSWORD,
            "storage_gb": 20,
        }), "mailbox")
        entry = envelope(await http.post(f"/v1/mailboxes/{mailbox['uuid']}/whitelist",
                                         json={"pattern": "*@trusted.com"}), "entry")
        alias = envelope(await http.post("/v1/aliases", json={
            "domain_uuid": domain["uuid"], "local_part": "info",
            "mailbox_uuids": [mailbox["uuid"]],
        }), "alias")
        domain = envelope(await http.get(f"/v1/domains/{domain['uuid']}"), "domain")

    # The page's ping example names the wrong weekday: 21 April 2026 is a Tuesday. The
    # emulator gives the right one; everything after the weekday is the example's.
    example_ping = EXAMPLES["ping"]["timestamp"]
    assert example_ping == "Mon, 21 Apr 2026 12:00:00 GMT"
    assert pinged == "Tue, 21 Apr 2026 12:00:00 GMT"
    assert pinged.partition(", ")[2] == example_ping.partition(", ")[2]
    assert RFC1123.match(example_ping)

    # Equal to the examples but for the generated identifiers (and, for the entry and the
    # alias, whose example dates precede the mailbox's, the timestamps).
    assert without(domain, "uuid", "dns_records") == without(example, "uuid", "dns_records")
    assert without(domain["dns_records"][0], "uuid") == without(mx, "uuid")
    assert without(mailbox, "uuid", "domain_uuid") == without(
        EXAMPLES["mailbox"], "uuid", "domain_uuid")
    assert without(entry, "uuid", "created_at") == without(
        EXAMPLES["list_entry"], "uuid", "created_at")
    assert alias["forwarding_to"] == [{"uuid": mailbox["uuid"], "address": "alice@example.com"}]
    ignore = ("uuid", "domain_uuid", "forwarding_to", "created_at", "updated_at")
    assert without(alias, *ignore) == without(EXAMPLES["alias"], *ignore)


# --- error envelopes ---------------------------------------------------------------------------

async def test_400_invalid_request_error(make_raw: Callable[..., httpx.AsyncClient]) -> None:
    http = make_raw()
    check_error(await http.post("/v1/domains", json={"name": "not a domain"}), 400)
    check_error(await http.post("/v1/domains", json={}), 400)
    # "not found" is a 400, not a 404
    assert check_error(await http.get(f"/v1/domains/{MISSING_UUID}"), 400) == "Domain not found."
    assert check_error(await http.get(f"/v1/mailboxes/{MISSING_UUID}"), 400) == (
        "Mailbox not found.")
    assert check_error(await http.get(f"/v1/aliases/{MISSING_UUID}"), 400) == "Alias not found."
    await build(http, upto="domain")
    assert "already exists" in check_error(
        await http.post("/v1/domains", json={"name": "example.com"}), 400)


async def test_401_auth_error(
    make_raw: Callable[..., httpx.AsyncClient], tls_emulator: Emulator
) -> None:
    check_error(await make_raw(None).get("/v1/ping"), 401)
    check_error(await make_raw("sk_live_" + "f" * 72).get("/v1/ping"), 401)
    expired = tls_emulator.create_key(expires_in=-60)
    assert check_error(await make_raw(expired.token).get("/v1/domains"), 401) == (
        "API key has expired.")


async def test_403_security_error(
    make_raw: Callable[..., httpx.AsyncClient], tls_emulator: Emulator
) -> None:
    scoped = tls_emulator.create_key(scopes=["GET:/v1/ping"])
    check_error(await make_raw(scoped.token).get("/v1/domains"), 403)
    blocked = tls_emulator.create_key(cidrs=["192.0.2.0/24"])
    check_error(await make_raw(blocked.token).get("/v1/ping"), 403)


async def test_403_https_required_in_process() -> None:
    emulator = Emulator(api_keys=[KEY])
    async with httpx.AsyncClient(transport=emulator.transport(client_address="192.0.2.10"),
                                 base_url="http://127.0.0.1", headers=auth()) as http:
        assert check_error(await http.get("/v1/ping"), 403) == "HTTPS required."


async def test_429_rate_limit_error_with_an_integer_retry_after(
    make_raw: Callable[..., httpx.AsyncClient], tls_emulator: Emulator
) -> None:
    key = tls_emulator.create_key(requests_per_minute=1, burst=1)
    http = make_raw(key.token)
    envelope(await http.get("/v1/ping"), "timestamp")
    response = await http.get("/v1/ping")
    check_error(response, 429)
    retry_after = response.headers["retry-after"]
    assert re.fullmatch(r"[1-9]\d*", retry_after), retry_after
    assert 1 <= int(retry_after) <= 60


async def test_429_injected_says_retry_after_1(
    make_raw: Callable[..., httpx.AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("GET", "/v1/domains", RateLimit(retry_after=1), times=1)
    response = await make_raw().get("/v1/domains")
    check_error(response, 429)
    assert response.headers["retry-after"] == "1"


async def test_500_api_error(
    make_raw: Callable[..., httpx.AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("GET", "/v1/domains", ErrorBefore(), times=1)
    check_error(await make_raw().get("/v1/domains"), 500)
