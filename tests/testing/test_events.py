"""Which state changes emit which webhook events, with what payload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clubsmtp_async.testing import Emulator, FakeClock, sample_object
from clubsmtp_async.testing._events import mailbox_update_events
from clubsmtp_async.webhooks import EVENT_TYPES, parse_event

from .conftest import OTHER_KEY, http_client
from .test_app import make_domain, make_mailbox, ok

pytestmark = pytest.mark.anyio


def types(emulator: Emulator) -> list[str]:
    return [event.type for event in emulator.webhooks.events]


@pytest.mark.parametrize(
    ("was", "now", "storage", "expected"),
    [
        (True, True, False, []),
        (True, True, True, ["mailbox.updated"]),
        (True, False, False, ["mailbox.disabled"]),
        (False, True, False, ["mailbox.enabled"]),
        (True, False, True, ["mailbox.updated", "mailbox.disabled"]),
        (False, True, True, ["mailbox.updated", "mailbox.enabled"]),
    ],
)
def test_mailbox_update_events(was: bool, now: bool, storage: bool, expected: list[str]) -> None:
    assert mailbox_update_events(was_enabled=was, is_enabled=now, storage_changed=storage) == (
        expected
    )


async def test_every_change_emits_its_event_with_the_api_object(
    emulator: Emulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    domain = await make_domain(http)
    mailbox = await make_mailbox(http, domain["uuid"])
    alias = ok(await http.post("/v1/aliases", json={
        "domain_uuid": domain["uuid"], "local_part": "info", "mailbox_uuids": [mailbox["uuid"]],
    }))["alias"]
    patched = ok(await http.patch(f"/v1/mailboxes/{mailbox['uuid']}",
                                  json={"storage_gb": 20, "enabled": False}))["mailbox"]
    ok(await http.patch(f"/v1/mailboxes/{mailbox['uuid']}", json={"enabled": True}))
    ok(await http.patch(f"/v1/mailboxes/{mailbox['uuid']}", json={"enabled": True}))  # no change
    ok(await http.delete(f"/v1/aliases/{alias['uuid']}"))
    events = emulator.webhooks.events
    assert [e.type for e in events] == [
        "domain.created", "mailbox.created", "alias.created",
        "mailbox.updated", "mailbox.disabled", "mailbox.enabled", "alias.deleted",
    ]
    assert events[0].object == domain
    assert events[1].object == mailbox
    assert events[2].object == alias
    assert events[3].object == events[4].object == patched  # both carry the final object
    assert events[6].object == alias  # as it was
    assert {e.account for e in events} == {"default"}
    assert events[0].created == int(clock.utcnow().timestamp())
    assert len({e.id for e in events}) == len(events)
    for event in events:
        parsed = parse_event(event.body)
        assert parsed.type == event.type
        assert parsed.id == event.id


async def test_a_domain_delete_emits_the_deletions_it_causes(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    domain = await make_domain(http)
    first = await make_mailbox(http, domain["uuid"], "a")
    second = await make_mailbox(http, domain["uuid"], "b")
    alias = ok(await http.post("/v1/aliases", json={
        "domain_uuid": domain["uuid"], "local_part": "all",
        "mailbox_uuids": [first["uuid"], second["uuid"]],
    }))["alias"]
    emulator.webhooks.clear()
    ok(await http.delete(f"/v1/domains/{domain['uuid']}"))
    events = emulator.webhooks.events
    assert [e.type for e in events] == [
        "alias.deleted", "mailbox.deleted", "mailbox.deleted", "domain.deleted",
    ]
    assert events[0].object == alias  # still forwarding to both, as it was
    assert [e.object["uuid"] for e in events[1:3]] == [first["uuid"], second["uuid"]]
    assert events[3].object["uuid"] == domain["uuid"]


async def test_failed_requests_and_reads_emit_nothing(
    emulator: Emulator, http: httpx.AsyncClient
) -> None:
    domain = await make_domain(http)
    emulator.webhooks.clear()
    await http.post("/v1/domains", json={"name": domain["name"]})  # duplicate: 400
    await http.get("/v1/domains")
    await http.post(f"/v1/mailboxes/{'0' * 8}-0000-7000-8000-{'0' * 12}/whitelist",
                    json={"pattern": "x@y.z"})
    assert types(emulator) == []


async def test_events_belong_to_their_account(emulator: Emulator) -> None:
    async with http_client(emulator, OTHER_KEY) as other:
        await make_domain(other, "other.example")
    assert [(e.type, e.account) for e in emulator.webhooks.events] == [
        ("domain.created", "other")
    ]


async def test_dns_status_changes(emulator: Emulator, http: httpx.AsyncClient) -> None:
    domain = await make_domain(http)
    record = domain["dns_records"][0]["uuid"]
    emulator.webhooks.clear()
    emulator.set_dns_record(record, expected_value="10 mx.example.")  # not a status change
    emulator.set_dns_record(record, status=3)
    emulator.set_dns_record(record, status=3)  # unchanged
    emulator.verify_domain(domain["uuid"])  # six records: one event
    assert types(emulator) == ["domain.dns_status_changed", "domain.dns_status_changed"]
    last = emulator.webhooks.events[-1].object
    assert {r["status"] for r in last["dns_records"]} == {2}


def test_seeding_emits_created_events_and_disabled() -> None:
    emulator = Emulator()
    emulator.seed({"domains": [{"name": "acme.example", "mailboxes": [
        {"local_part": "alice"}, {"local_part": "bob", "enabled": False}],
        "aliases": [{"local_part": "info", "forward_to": ["alice"]}]}]})
    assert types(emulator) == [
        "domain.created", "mailbox.created", "mailbox.created", "mailbox.disabled",
        "alias.created",
    ]


def test_reset_emits_nothing_and_forgets_events() -> None:
    emulator = Emulator()
    emulator.seed({"domains": [{"name": "acme.example"}]})
    emulator.reset()
    assert types(emulator) == []


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_samples_parse_as_their_event_class(event_type: str) -> None:
    payload = {"id": "evt", "type": event_type, "created": 1, "data": {
        "object": sample_object(event_type)}}
    import json

    assert isinstance(parse_event(json.dumps(payload)), EVENT_TYPES[event_type])


def test_sample_of_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        sample_object("mailbox.exploded")


@pytest.mark.parametrize("event_type", ["invite.created", "invoice.paid"])
def test_emit_event_with_an_object(event_type: str) -> None:
    emulator = Emulator()
    event = emulator.emit_event(event_type, {"uuid": "x", "n": [1, 2]}, account="acme")
    assert (event.type, event.account, event.object) == (event_type, "acme", {"uuid": "x",
                                                                              "n": [1, 2]})
    assert emulator.webhooks.events == [event]


@pytest.mark.parametrize(
    ("event_type", "obj", "message"),
    [
        ("mailbox.created", None, "only invite"),
        ("invite.nope", None, "only invite"),
        ("invite.created", {"x": float("nan")}, "JSON"),
        ("invite.created", {"x": object()}, "JSON"),
        ("invite.created", ["not", "a", "mapping"], "mapping"),
    ],
)
def test_emit_event_refuses(event_type: str, obj: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Emulator().emit_event(event_type, obj)
