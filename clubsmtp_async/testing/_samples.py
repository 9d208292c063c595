"""Realistic sample objects for every webhook event type (test deliveries, emitted events).

Domain, mailbox and alias samples are rendered by the emulator's own models,
so they have exactly the API's shape and parse as the SDK's models. Invite and
invoice objects are not documented by the vendor: their samples are plausible
mappings, marked as such by nothing but their plainness.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ._ids import UuidFactory
from ._state import DNS_RECORD_TYPES, DnsRecord, Domain, Mailbox, format_timestamp

__all__ = ["sample_object"]

_DOMAIN = "example.com"


def _domain(ids: UuidFactory, now: datetime, *, verified: bool) -> Domain:
    records = [
        DnsRecord(uuid=ids.new(now), record_type=kind, status=2 if verified else 1,
                  last_checked_at=now if verified else None)
        for kind in DNS_RECORD_TYPES
    ]
    return Domain(ids.new(now), "default", _DOMAIN, now, records)


def _mailbox(ids: UuidFactory, now: datetime, domain: Domain, *, enabled: bool) -> Mailbox:
    return Mailbox(
        uuid=ids.new(now), account="default", domain_uuid=domain.uuid, domain=domain.name,
        local_part="alice", password_salt=b"", password_hash=b"", storage_gb=10,
        enabled=enabled, created_at=now, updated_at=now,
    )


def _alias(ids: UuidFactory, now: datetime, domain: Domain, target: Mailbox) -> dict[str, Any]:
    stamp = format_timestamp(now)
    return {
        "uuid": ids.new(now),
        "address": f"info@{domain.name}",
        "domain_uuid": domain.uuid,
        "domain": domain.name,
        "forwarding_to": [{"uuid": target.uuid, "address": target.address}],
        "created_at": stamp,
        "updated_at": stamp,
    }


def _invite(ids: UuidFactory, now: datetime, status: str) -> dict[str, Any]:
    return {
        "uuid": ids.new(now),
        "email": "new.user@example.com",
        "role": "member",
        "status": status,
        "created_at": format_timestamp(now - timedelta(days=7 if status == "expired" else 0)),
        "expires_at": format_timestamp(now + timedelta(days=0 if status == "expired" else 7)),
    }


def _invoice(ids: UuidFactory, now: datetime, status: str) -> dict[str, Any]:
    return {
        "uuid": ids.new(now),
        "number": f"INV-{now:%Y%m}-0001",
        "status": status,
        "currency": "EUR",
        "amount_due": 0 if status == "paid" else 4900,
        "amount_paid": 4900 if status == "paid" else 0,
        "created_at": format_timestamp(now),
    }


def sample_object(event_type: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A realistic ``data.object`` for `event_type`.

    Args:
        event_type: A documented event type, e.g. ``"mailbox.created"``.
        now: The objects' timestamps (default: the current time).

    Returns:
        The object, as the API would render it.

    Raises:
        ValueError: for an event type that is not documented.

    """
    now = now or datetime.now(timezone.utc)
    ids = UuidFactory()
    family, _, action = event_type.partition(".")
    domain = _domain(ids, now, verified=action == "dns_status_changed")
    if family == "domain" and action in ("created", "deleted", "dns_status_changed"):
        return domain.to_json()
    if family == "mailbox" and action in ("created", "updated", "enabled", "disabled", "deleted"):
        return _mailbox(ids, now, domain, enabled=action != "disabled").to_json()
    if family == "alias" and action in ("created", "deleted"):
        return _alias(ids, now, domain, _mailbox(ids, now, domain, enabled=True))
    if family == "invite" and action in ("created", "accepted", "expired"):
        return _invite(ids, now, {"created": "pending"}.get(action, action))
    if family == "invoice" and action in ("created", "paid"):
        return _invoice(ids, now, "open" if action == "created" else "paid")
    raise ValueError(f"unknown event type {event_type!r}")
