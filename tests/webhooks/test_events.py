"""Webhook events: every documented type, unknown types and fields, malformed payloads."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from clubsmtp_async import Alias, ClubSMTPError, DnsRecordStatus, DnsRecordType, Domain, Mailbox
from clubsmtp_async.webhooks import (
    EVENT_TYPES,
    AliasCreated,
    AliasDeleted,
    AliasEvent,
    BaseEvent,
    DomainCreated,
    DomainDeleted,
    DomainDnsStatusChanged,
    DomainEvent,
    Event,
    InviteAccepted,
    InviteCreated,
    InviteEvent,
    InviteExpired,
    InvoiceCreated,
    InvoiceEvent,
    InvoicePaid,
    MailboxCreated,
    MailboxDeleted,
    MailboxDisabled,
    MailboxEnabled,
    MailboxEvent,
    MailboxUpdated,
    UnknownEvent,
    WebhookPayloadError,
    parse_event,
)

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "api_examples.json").read_text()
)
CREATED = 1745244600
CREATED_AT = datetime(2025, 4, 21, 14, 10, tzinfo=timezone.utc)
INVITE = {"uuid": "inv_1", "email": "bob@example.com", "role": "admin"}
INVOICE = {"uuid": "in_1", "amount": 1200, "currency": "EUR", "lines": [{"sku": "mbx"}]}

# The API page's table, in its order: type → (class, group base, object type).
DOCUMENTED: dict[str, tuple[type[BaseEvent], type[BaseEvent], type[Any]]] = {
    "domain.created": (DomainCreated, DomainEvent, Domain),
    "domain.deleted": (DomainDeleted, DomainEvent, Domain),
    "domain.dns_status_changed": (DomainDnsStatusChanged, DomainEvent, Domain),
    "mailbox.created": (MailboxCreated, MailboxEvent, Mailbox),
    "mailbox.updated": (MailboxUpdated, MailboxEvent, Mailbox),
    "mailbox.enabled": (MailboxEnabled, MailboxEvent, Mailbox),
    "mailbox.disabled": (MailboxDisabled, MailboxEvent, Mailbox),
    "mailbox.deleted": (MailboxDeleted, MailboxEvent, Mailbox),
    "alias.created": (AliasCreated, AliasEvent, Alias),
    "alias.deleted": (AliasDeleted, AliasEvent, Alias),
    "invite.created": (InviteCreated, InviteEvent, dict),
    "invite.accepted": (InviteAccepted, InviteEvent, dict),
    "invite.expired": (InviteExpired, InviteEvent, dict),
    "invoice.created": (InvoiceCreated, InvoiceEvent, dict),
    "invoice.paid": (InvoicePaid, InvoiceEvent, dict),
}


def example_object(event_type: str) -> dict[str, Any]:
    prefix = event_type.partition(".")[0]
    return {"domain": EXAMPLES["domain"], "mailbox": EXAMPLES["mailbox"],
            "alias": EXAMPLES["alias"], "invite": INVITE, "invoice": INVOICE}[prefix]


def payload(event_type: str, obj: Any = None, **changes: Any) -> bytes:
    body = {"id": "evt_01de4f5a", "type": event_type, "created": CREATED,
            "data": {"object": example_object(event_type) if obj is None else obj}}
    body.update(changes)
    return json.dumps(body).encode()


def malformed(body: bytes | str) -> WebhookPayloadError:
    with pytest.raises(WebhookPayloadError) as info:
        parse_event(body)
    error = info.value
    assert isinstance(error, ClubSMTPError)
    assert isinstance(error, ValueError)
    assert not isinstance(error, msgspec.MsgspecError)
    assert isinstance(error.__cause__, msgspec.DecodeError)
    assert error.body_excerpt in str(error)
    return error


# Every documented type


def test_event_types_are_exactly_the_documented_ones() -> None:
    assert list(EVENT_TYPES) == list(DOCUMENTED)
    assert {name: cls for name, (cls, _, _) in DOCUMENTED.items()} == dict(EVENT_TYPES)


@pytest.mark.parametrize("event_type", list(DOCUMENTED))
def test_each_type_parses_to_its_class(event_type: str) -> None:
    cls, group, object_type = DOCUMENTED[event_type]
    event = parse_event(payload(event_type))
    assert type(event) is cls
    assert isinstance(event, group)
    assert isinstance(event, BaseEvent)
    assert event.type == event_type
    assert event.id == "evt_01de4f5a"
    assert event.created == CREATED
    assert event.created_at == CREATED_AT
    obj = event.data.object
    assert isinstance(obj, object_type)
    if object_type is dict:
        assert obj == example_object(event_type)


def test_domain_object_is_fully_typed() -> None:
    event = parse_event(payload("domain.dns_status_changed"))
    assert isinstance(event, DomainDnsStatusChanged)
    domain = event.data.object
    assert domain.name == "example.com"
    assert domain.dns_records[0].record_type is DnsRecordType.MX
    assert domain.dns_records[0].status is DnsRecordStatus.OK


def test_mailbox_and_alias_objects() -> None:
    mailbox_event = parse_event(payload("mailbox.disabled"))
    assert isinstance(mailbox_event, MailboxDisabled)
    assert mailbox_event.data.object.address == "alice@example.com"
    created_at = mailbox_event.data.object.created_at
    assert created_at == datetime(2026, 4, 21, 14, 30, tzinfo=timezone.utc)
    alias_event = parse_event(payload("alias.created"))
    assert isinstance(alias_event, AliasCreated)
    assert [t.address for t in alias_event.data.object.forwarding_to] == ["alice@example.com"]


def test_str_payload_is_accepted() -> None:
    assert isinstance(parse_event(payload("mailbox.created").decode()), MailboxCreated)


@pytest.mark.parametrize("created", [CREATED, float(CREATED)])
def test_created_at_is_an_aware_utc_datetime(created: Any) -> None:
    event = parse_event(payload("invoice.paid", created=created))
    assert event.created == CREATED
    assert event.created_at == CREATED_AT
    assert event.created_at.utcoffset() == timezone.utc.utcoffset(None)


@pytest.mark.parametrize("created", ["1745244600", "2025-04-21T14:10:00Z", None])
def test_created_must_be_unix_seconds(created: Any) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_event(payload("invoice.paid", created=created))


@pytest.mark.parametrize(
    "created", [-1, -0.5, 253402300800, 1e12, 1e300, 10**30],
    ids=["negative", "negative fraction", "year 10000", "1e12", "1e300", "10**30"],
)
@pytest.mark.parametrize("event_type", ["invoice.paid", "brand.new.event"])
def test_created_beyond_what_a_datetime_holds_is_refused(created: Any, event_type: str) -> None:
    # Refused at parse time: `created_at` can then never fail in the caller's code.
    error = malformed(payload(event_type, obj={}, created=created))
    assert "$.created" in str(error)


def test_created_at_its_limits() -> None:
    assert parse_event(payload("invoice.paid", created=0)).created_at.year == 1970
    assert parse_event(payload("invoice.paid", created=253402300799)).created_at.year == 9999


def test_an_object_timestamp_without_a_zone_is_refused() -> None:
    mailbox = {**EXAMPLES["mailbox"], "created_at": "2026-04-21T14:30:00"}
    error = malformed(payload("mailbox.created", obj=mailbox))
    assert "timezone" in str(error)


def test_a_str_payload_with_a_lone_surrogate_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match="lone surrogate"):
        parse_event(payload("invoice.paid").decode() + "\ud800")


def test_fractional_created() -> None:
    event = parse_event(payload("invoice.paid", created=CREATED + 0.5))
    assert event.created_at == CREATED_AT.replace(microsecond=500_000)


def test_events_are_frozen() -> None:
    event = parse_event(payload("mailbox.created"))
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("event_type", list(DOCUMENTED))
def test_encode_parse_round_trip(event_type: str) -> None:
    event = parse_event(payload(event_type))
    encoded = msgspec.json.encode(event)
    assert json.loads(encoded)["type"] == event_type
    assert parse_event(encoded) == event


def test_pattern_matching_reads_naturally() -> None:
    def describe(event: Event) -> str:
        match event:
            case MailboxCreated(data=data):
                return f"new mailbox {data.object.address}"
            case DomainEvent():
                return f"{event.type} {event.data.object.name}"
            case UnknownEvent(type=event_type):
                return f"ignored {event_type}"
            case _:
                return "other"

    assert describe(parse_event(payload("mailbox.created"))) == "new mailbox alice@example.com"
    assert describe(parse_event(payload("domain.deleted"))) == "domain.deleted example.com"
    assert describe(parse_event(payload("mailbox.deleted"))) == "other"
    unknown = payload("domain.renewed", obj={"uuid": "d1"})
    assert describe(parse_event(unknown)) == "ignored domain.renewed"


# Forward compatibility


def test_unknown_type_parses_to_unknown_event() -> None:
    event = parse_event(payload("mailbox.quota_exceeded", obj={"uuid": "m1", "usage": 0.97},
                                livemode=True))
    assert isinstance(event, UnknownEvent)
    assert isinstance(event, BaseEvent)
    assert event.type == "mailbox.quota_exceeded"
    assert event.id == "evt_01de4f5a"
    assert event.created_at == CREATED_AT
    assert event.data.object == {"uuid": "m1", "usage": 0.97}


def test_unknown_type_with_a_known_prefix_and_unusual_shape() -> None:
    event = parse_event(payload("domain.transferred", obj={}))
    assert isinstance(event, UnknownEvent)
    assert event.data.object == {}


def test_unknown_fields_are_ignored_everywhere() -> None:
    mailbox = {**EXAMPLES["mailbox"], "spam_score": 3, "labels": ["a"]}
    body = json.loads(payload("mailbox.updated", obj=mailbox))
    body["api_version"] = "2026-05-01"
    body["data"]["previous_attributes"] = {"storage_gb": 10}
    event = parse_event(json.dumps(body))
    assert isinstance(event, MailboxUpdated)
    assert event.data.object.storage_gb == 20


def test_new_dns_values_from_a_newer_server() -> None:
    domain = json.loads(json.dumps(EXAMPLES["domain"]))
    domain["dns_records"][0].update(record_type="BIMI", status=7)
    event = parse_event(payload("domain.dns_status_changed", obj=domain))
    assert isinstance(event, DomainDnsStatusChanged)
    record = event.data.object.dns_records[0]
    assert record.record_type.name == "UNKNOWN"
    assert record.status.name == "UNKNOWN_7"


# Malformed payloads


@pytest.mark.parametrize("body", [b"", b"not json", b'{"id": "evt_1", "type": "mailbox.cr',
                                  b"\xff\xfe", "<html>502 Bad Gateway</html>"])
def test_not_json(body: bytes | str) -> None:
    assert "not valid JSON" in str(malformed(body))


@pytest.mark.parametrize(("body", "reason"), [
    (b"[]", "Expected `object`, got `array`"),
    (b"42", "Expected `object`"),
    (b'{"id": "e", "created": 1, "data": {"object": {}}}', "missing required field `type`"),
    (b'{"id": "e", "type": 7, "created": 1, "data": {"object": {}}}', "`$.type`"),
    (b'{"type": "x.y", "created": 1, "data": {"object": {}}}', "missing required field `id`"),
    (b'{"id": "e", "type": "x.y", "data": {"object": {}}}', "`created`"),
    (b'{"id": "e", "type": "x.y", "created": "yesterday", "data": {"object": {}}}', "created"),
    (b'{"id": "e", "type": "x.y", "created": 1}', "missing required field `data`"),
    (b'{"id": "e", "type": "x.y", "created": 1, "data": {"object": [1]}}', "$.data.object"),
])
def test_not_an_event(body: bytes, reason: str) -> None:
    assert reason in str(malformed(body))


def test_known_type_with_the_wrong_object_is_not_an_unknown_event() -> None:
    error = malformed(payload("mailbox.created", obj=EXAMPLES["domain"]))
    assert "$.data.object" in str(error)
    error = malformed(payload("alias.deleted", obj={**EXAMPLES["alias"], "created_at": [12]}))
    assert "created_at" in str(error)
    malformed(payload("invoice.paid", obj="in_1"))
    malformed(b'{"id": "e", "type": "domain.created", "created": 1, "data": {"object": null}}')


def test_excerpt_is_short() -> None:
    body = b'{"id": "e", "type": "mailbox.created", "junk": "' + b"x" * 5000 + b'"'
    error = malformed(body)
    assert error.body_excerpt.endswith("…")
    assert len(error.body_excerpt) <= 201
    assert len(str(error)) < 400


# Decoders are built once


def test_decoders_are_built_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a decoder was built per call")

    monkeypatch.setattr(msgspec.json, "Decoder", refuse)
    assert isinstance(parse_event(payload("alias.deleted")), AliasDeleted)
    assert isinstance(parse_event(payload("x.y", obj={})), UnknownEvent)
    malformed(b"nope")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # The union's first pass stops at the bad type or `created`, before the bad JSON.
        (b'{"type":"zzz", garbage', "not valid JSON"),
        (b'{"type":"domain.created","created":-5, garbage', "not valid JSON"),
        (b'{"id":"e","type":"new.thing","created":1,"data":{"object":{"a":'
         + b"[" * 10_000 + b"]" * 10_000 + b"}}}", "nested too deeply"),
        (b'{"id":"e","type":"domain.created","created":1,"data":{"object":'
         + b"[" * 10_000 + b"]" * 10_000 + b"}}", "nested too deeply"),
    ],
    ids=["unknown-type-then-bad-json", "bad-created-then-bad-json", "deep-unknown", "deep-known"],
)
def test_malformed_after_the_first_refusal_is_a_payload_error(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookPayloadError, match=reason) as caught:
        parse_event(body)
    assert isinstance(caught.value, ClubSMTPError)
