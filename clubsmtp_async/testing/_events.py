"""Webhook events of the emulator: which changes emit what, and the payloads (no I/O).

A payload has the API page's shape, ``{"id", "type", "created", "data":
{"object": ...}}``: ``id`` is a UUID (the same value is the delivery's
``webhook-id``), ``created`` is Unix seconds of the emulator's clock, and
``data.object`` is the affected resource as the API returns it (for a
deletion, as it was just before). The body is encoded once, when the event
happens, so every attempt and every endpoint gets the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WebhookEvent", "mailbox_update_events"]


def mailbox_update_events(
    *, was_enabled: bool, is_enabled: bool, storage_changed: bool
) -> list[str]:
    """The events of one mailbox update, in the order they are emitted.

    A change of ``storage_gb`` is ``mailbox.updated``; a change of ``enabled``
    is ``mailbox.enabled`` or ``mailbox.disabled``. An update that changes both
    emits both, ``mailbox.updated`` first, so a handler that only listens to
    one of them still sees the change it cares about; an update that changes
    nothing emits nothing.

    Example:
        >>> mailbox_update_events(was_enabled=True, is_enabled=False, storage_changed=True)
        ['mailbox.updated', 'mailbox.disabled']

    """
    events = ["mailbox.updated"] if storage_changed else []
    if was_enabled != is_enabled:
        events.append("mailbox.enabled" if is_enabled else "mailbox.disabled")
    return events


@dataclass(frozen=True)
class WebhookEvent:
    """One event the emulator emitted.

    Attributes:
        id: The event's id, also the ``webhook-id`` of its deliveries.
        type: The event type, e.g. ``"mailbox.created"``.
        created: Unix seconds (of the emulator's clock) when it happened.
        account: The account whose object it concerns (endpoints of that
            account receive it).
        object: ``data.object``: the resource as the API renders it.

    """

    id: str
    type: str
    created: int
    account: str
    object: dict[str, Any]
    body: bytes = field(default=b"", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.body:
            encoded = json.dumps(self.to_json(), separators=(",", ":")).encode()
            object.__setattr__(self, "body", encoded)

    def to_json(self) -> dict[str, Any]:
        """The payload, as a delivery's body holds it."""
        return {
            "id": self.id,
            "type": self.type,
            "created": self.created,
            "data": {"object": self.object},
        }

    def summary(self) -> dict[str, Any]:
        """The payload with the account, as the admin API lists events."""
        return {**self.to_json(), "account": self.account}
