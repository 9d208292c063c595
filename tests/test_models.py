"""The models: decoding the documented objects, forward compatibility, request bodies."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clubsmtp_async import (
    Alias,
    AliasTarget,
    DnsRecord,
    DnsRecordStatus,
    DnsRecordType,
    Domain,
    ListEntry,
    Mailbox,
    NewAlias,
    NewMailbox,
    Ping,
)
from clubsmtp_async._models import MailboxUpdate, NewDomain, NewListEntry

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "api_examples.json").read_text()
)
UTC = timezone.utc
PASSWORD = "hunter2-But-Longer-9"


def decode(name: str, type_: type[Any], **changes: Any) -> Any:
    return msgspec.json.decode(json.dumps({**EXAMPLES[name], **changes}), type=type_)


def test_domain_example() -> None:
    domain = decode("domain", Domain)
    assert domain.created_at == datetime(2026, 1, 15, 9, tzinfo=UTC)
    record = domain.dns_records[0]
    assert record.record_type is DnsRecordType.MX
    assert record.status is DnsRecordStatus.OK
    assert record.last_checked_at is not None
    assert record.last_checked_at.tzinfo is not None


def test_domain_seeded_records_with_nulls() -> None:
    types = ["MX", "SPF", "DKIM", "DMARC", "autoconfig", "autodiscover"]
    records = [
        {"uuid": f"r{i}", "record_type": t, "expected_value": None, "actual_value": None,
         "status": 1, "last_checked_at": None}
        for i, t in enumerate(types)
    ]
    domain = decode("domain", Domain, dns_records=records)
    assert [r.record_type for r in domain.dns_records] == list(DnsRecordType)
    assert all(r.status is DnsRecordStatus.PENDING for r in domain.dns_records)
    assert all(r.expected_value is None and r.last_checked_at is None for r in domain.dns_records)


def test_mailbox_list_entry_alias_examples() -> None:
    mailbox = decode("mailbox", Mailbox)
    assert (mailbox.storage_gb, mailbox.enabled) == (20, True)
    assert mailbox.updated_at == datetime(2026, 4, 21, 14, 30, tzinfo=UTC)
    entry = decode("list_entry", ListEntry)
    assert entry.pattern == "*@trusted.com"
    alias = decode("alias", Alias)
    assert alias.forwarding_to == [
        AliasTarget(uuid="019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4", address="alice@example.com")
    ]


def test_timestamps_with_offsets_are_aware() -> None:
    entry = decode("list_entry", ListEntry, created_at="2026-04-01T10:00:00+02:00")
    assert entry.created_at == datetime(2026, 4, 1, 8, tzinfo=UTC)
    assert entry.created_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("name", "model", "field"),
    [("list_entry", ListEntry, "created_at"), ("mailbox", Mailbox, "updated_at"),
     ("alias", Alias, "created_at"), ("domain", Domain, "created_at")],
)
@pytest.mark.parametrize("naive", ["2026-04-01T10:00:00", "2026-04-01T10:00:00.123456"])
def test_a_timestamp_without_a_zone_is_refused(
    name: str, model: type[Any], field: str, naive: str
) -> None:
    # Never a naive datetime: the models promise aware ones, and guessing UTC could be wrong.
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        decode(name, model, **{field: naive})


def test_a_dns_record_check_time_without_a_zone_is_refused() -> None:
    records = [{**EXAMPLES["domain"]["dns_records"][0], "last_checked_at": "2026-04-01T10:00:00"}]
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        decode("domain", Domain, dns_records=records)


def test_unknown_fields_are_ignored() -> None:
    mailbox = decode("mailbox", Mailbox, quota_used_mb=12, labels=["x"], nested={"a": 1})
    assert mailbox.address == "alice@example.com"
    assert not hasattr(mailbox, "quota_used_mb")


def test_models_are_frozen_and_keyword_only() -> None:
    entry = decode("list_entry", ListEntry)
    with pytest.raises(AttributeError):
        entry.pattern = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        AliasTarget("u", "a@b.example")  # type: ignore[misc]
    assert hash(AliasTarget(uuid="u", address="a@b.example"))


def test_models_are_structs() -> None:
    for model in (Domain, DnsRecord, Mailbox, ListEntry, Alias, AliasTarget, Ping):
        assert issubclass(model, msgspec.Struct)
        assert model.__struct_config__.frozen


def test_missing_required_field_fails() -> None:
    raw = {k: v for k, v in EXAMPLES["mailbox"].items() if k != "address"}
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(json.dumps(raw), type=Mailbox)


# --- enums ------------------------------------------------------------------------------------


def test_status_enum() -> None:
    assert [int(s) for s in DnsRecordStatus] == [1, 2, 3]
    assert DnsRecordStatus(3) is DnsRecordStatus.FAIL
    assert DnsRecordStatus.OK == 2


def test_record_type_enum_values() -> None:
    assert [t.value for t in DnsRecordType] == [
        "MX", "SPF", "DKIM", "DMARC", "autoconfig", "autodiscover"
    ]
    assert DnsRecordType("autoconfig") is DnsRecordType.AUTOCONFIG


def test_unknown_enum_values_decode() -> None:
    raw = b'{"uuid": "r", "record_type": "TLSA", "status": 7}'
    record = msgspec.json.decode(raw, type=DnsRecord)
    assert isinstance(record.status, DnsRecordStatus)
    assert record.status == 7
    assert record.status.name == "UNKNOWN_7"
    assert isinstance(record.record_type, DnsRecordType)
    assert record.record_type == "TLSA"
    assert record.record_type.value == "TLSA"
    assert record.record_type.name == "UNKNOWN"
    # known members are untouched by the fallback
    assert DnsRecordStatus(2) is DnsRecordStatus.OK
    assert DnsRecordType("MX") is DnsRecordType.MX


def test_enum_fallback_keeps_type_checks() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"uuid": "r", "record_type": 5, "status": 1}', type=DnsRecord)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"uuid": "r", "record_type": "MX", "status": "OK"}', type=DnsRecord)


@given(st.integers(min_value=-(2**31), max_value=2**31))
def test_any_status_decodes(value: int) -> None:
    raw = json.dumps({"uuid": "r", "record_type": "MX", "status": value})
    record = msgspec.json.decode(raw, type=DnsRecord)
    assert record.status == value
    assert isinstance(record.status, DnsRecordStatus)


@given(st.text(min_size=1, max_size=20))
def test_any_record_type_decodes(value: str) -> None:
    raw = json.dumps({"uuid": "r", "record_type": value, "status": 1})
    record = msgspec.json.decode(raw, type=DnsRecord)
    assert record.record_type.value == value


# --- request bodies -----------------------------------------------------------------------------


def test_bodies_omit_unset_fields() -> None:
    encode = msgspec.json.encode
    assert json.loads(encode(NewDomain(name="example.com"))) == {"name": "example.com"}
    new = NewMailbox(domain_uuid="d", local_part="alice", password=PASSWORD)
    assert json.loads(encode(new)) == {"domain_uuid": "d", "local_part": "alice",
                                       "password": PASSWORD}
    assert json.loads(encode(MailboxUpdate(enabled=False))) == {"enabled": False}
    assert json.loads(encode(MailboxUpdate(storage_gb=3))) == {"storage_gb": 3}
    assert json.loads(encode(NewListEntry(pattern="*@x.example"))) == {"pattern": "*@x.example"}
    alias = NewAlias(domain_uuid="d", local_part="info", mailbox_uuids=["m1", "m2"])
    assert json.loads(encode(alias)) == {"domain_uuid": "d", "local_part": "info",
                                         "mailbox_uuids": ["m1", "m2"]}


@pytest.mark.parametrize("storage_gb", [None, 25])
def test_new_mailbox_hides_password(storage_gb: int | None) -> None:
    new = NewMailbox(domain_uuid="d1", local_part="alice", password=PASSWORD, storage_gb=storage_gb)
    for text in (repr(new), str(new), f"{new}", f"{new!r}", repr([new]), repr({"item": new})):
        assert PASSWORD not in text
        assert "***" in text
        assert "alice" in text
    assert ("storage_gb=25" in repr(new)) is (storage_gb == 25)
    rich = list(new.__rich_repr__())
    assert ("password", "***") in rich
    assert all(PASSWORD not in repr(part) for part in rich)
    assert new.password == PASSWORD  # still there for the one place that sends it


def test_new_items_are_frozen_and_comparable() -> None:
    a = NewMailbox(domain_uuid="d", local_part="a", password="p")
    assert a == NewMailbox(domain_uuid="d", local_part="a", password="p")
    with pytest.raises(AttributeError):
        a.password = "q"  # type: ignore[misc]
