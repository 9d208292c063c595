"""Typed webhook events: a msgspec tagged union over ``type``, and `parse_event`.

Every delivery is ``{"id", "type", "created", "data": {"object": ...}}``. Each
event type the API documents is a frozen Struct tagged with its ``type``; its
``data.object`` decodes to the SDK's `Domain`, `Mailbox` or `Alias`, while the
undocumented invite and invoice objects stay plain mappings (open point 2).

Decoding strategy, chosen for the common case: the payload is decoded once,
straight into the tagged union (decoders are built at import). msgspec rejects a
tag it does not know, so only when that single decode fails is the ``type`` read
on its own (a tiny struct; msgspec skips the rest of the document): a type the
SDK knows means the payload is malformed, any other type decodes as
`UnknownEvent`. A new event type from a newer server therefore parses instead of
crashing, and a known one costs one pass.

``created`` stays what the wire sends, Unix seconds, so decoding stays strict
(a number never stands for a string or the reverse, in the event or in the
models it carries); `BaseEvent.created_at` gives it as an aware UTC `datetime`.
Decoding refuses a ``created`` outside 0 .. 253402300799 (the last second of
year 9999), so `created_at` can never fail later; the timestamps inside
``data.object`` must carry a zone, as everywhere in the SDK (`_models`).

`parse_event` raises `WebhookPayloadError` for any body that is not an event
(malformed JSON, a lone surrogate in a `str` body, a missing field), and
`ValidationError` only for a payload that is neither bytes nor text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Annotated, Any, Generic, TypeAlias, TypeVar, cast, get_args

import msgspec

from .._errors import ValidationError, excerpt
from .._models import Alias, Domain, Mailbox
from ._errors import WebhookPayloadError

__all__ = [
    "AliasCreated",
    "AliasDeleted",
    "AliasEvent",
    "BaseEvent",
    "DomainCreated",
    "DomainDeleted",
    "DomainDnsStatusChanged",
    "DomainEvent",
    "EVENT_TYPES",
    "Event",
    "EventData",
    "InviteAccepted",
    "InviteCreated",
    "InviteEvent",
    "InviteExpired",
    "InvoiceCreated",
    "InvoiceEvent",
    "InvoicePaid",
    "KnownEvent",
    "MailboxCreated",
    "MailboxDeleted",
    "MailboxDisabled",
    "MailboxEnabled",
    "MailboxEvent",
    "MailboxUpdated",
    "UnknownEvent",
    "parse_event",
]

T = TypeVar("T")

_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: the last time a datetime can hold
_UnixSeconds = (
    Annotated[int, msgspec.Meta(ge=0, le=_LAST_SECOND)]
    | Annotated[float, msgspec.Meta(ge=0, le=_LAST_SECOND)]
)


class EventData(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """The ``data`` member of an event: the affected object, as ``data.object``."""

    object: T


class BaseEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Fields every event has; ``isinstance(event, BaseEvent)`` holds for all of them.

    Attributes:
        id: The event's unique id (use it to ignore a redelivered event).
        created: When the event happened, in Unix seconds (as on the wire).

    """

    id: str
    created: _UnixSeconds

    @property
    def created_at(self) -> datetime:
        """`created` as a timezone-aware UTC datetime."""
        return datetime.fromtimestamp(self.created, tz=timezone.utc)

    @property
    def type(self) -> str:
        """The event type, e.g. ``"mailbox.created"``."""
        return cast(str, self.__struct_config__.tag)


class _TaggedEvent(BaseEvent, frozen=True, kw_only=True, tag_field="type"):
    """Base of the documented event types: msgspec picks the class by ``type``."""


class DomainEvent(_TaggedEvent, frozen=True, kw_only=True):
    """A ``domain.*`` event: ``data.object`` is the `Domain`."""

    data: EventData[Domain]


class MailboxEvent(_TaggedEvent, frozen=True, kw_only=True):
    """A ``mailbox.*`` event: ``data.object`` is the `Mailbox`."""

    data: EventData[Mailbox]


class AliasEvent(_TaggedEvent, frozen=True, kw_only=True):
    """An ``alias.*`` event: ``data.object`` is the `Alias`."""

    data: EventData[Alias]


class InviteEvent(_TaggedEvent, frozen=True, kw_only=True):
    """An ``invite.*`` event: ``data.object`` is a mapping (the object is undocumented)."""

    data: EventData[dict[str, Any]]


class InvoiceEvent(_TaggedEvent, frozen=True, kw_only=True):
    """An ``invoice.*`` event: ``data.object`` is a mapping (the object is undocumented)."""

    data: EventData[dict[str, Any]]


class DomainCreated(DomainEvent, frozen=True, kw_only=True, tag="domain.created"):
    """``domain.created``: a new domain was added."""


class DomainDeleted(DomainEvent, frozen=True, kw_only=True, tag="domain.deleted"):
    """``domain.deleted``: a domain was permanently deleted."""


class DomainDnsStatusChanged(
    DomainEvent, frozen=True, kw_only=True, tag="domain.dns_status_changed"
):
    """``domain.dns_status_changed``: a DNS record's verification status changed."""


class MailboxCreated(MailboxEvent, frozen=True, kw_only=True, tag="mailbox.created"):
    """``mailbox.created``: a new mailbox was provisioned."""


class MailboxUpdated(MailboxEvent, frozen=True, kw_only=True, tag="mailbox.updated"):
    """``mailbox.updated``: mailbox settings (e.g. storage quota) changed."""


class MailboxEnabled(MailboxEvent, frozen=True, kw_only=True, tag="mailbox.enabled"):
    """``mailbox.enabled``: a suspended mailbox was re-enabled."""


class MailboxDisabled(MailboxEvent, frozen=True, kw_only=True, tag="mailbox.disabled"):
    """``mailbox.disabled``: a mailbox was suspended."""


class MailboxDeleted(MailboxEvent, frozen=True, kw_only=True, tag="mailbox.deleted"):
    """``mailbox.deleted``: a mailbox was permanently deleted."""


class AliasCreated(AliasEvent, frozen=True, kw_only=True, tag="alias.created"):
    """``alias.created``: a new forwarding alias was created."""


class AliasDeleted(AliasEvent, frozen=True, kw_only=True, tag="alias.deleted"):
    """``alias.deleted``: a forwarding alias was deleted."""


class InviteCreated(InviteEvent, frozen=True, kw_only=True, tag="invite.created"):
    """``invite.created``: an invitation was sent to a new user."""


class InviteAccepted(InviteEvent, frozen=True, kw_only=True, tag="invite.accepted"):
    """``invite.accepted``: an invited user accepted and activated their account."""


class InviteExpired(InviteEvent, frozen=True, kw_only=True, tag="invite.expired"):
    """``invite.expired``: an invitation expired before being accepted."""


class InvoiceCreated(InvoiceEvent, frozen=True, kw_only=True, tag="invoice.created"):
    """``invoice.created``: a new invoice was generated."""


class InvoicePaid(InvoiceEvent, frozen=True, kw_only=True, tag="invoice.paid"):
    """``invoice.paid``: an invoice was successfully paid."""


class UnknownEvent(BaseEvent, frozen=True, kw_only=True):
    """An event type this version of the SDK does not know (from a newer server).

    Attributes:
        type: The event type as sent.
        data: Its ``data``, with ``data.object`` kept as a mapping.

    """

    type: str  # a field here; the documented events' property reads their tag
    data: EventData[dict[str, Any]]


KnownEvent: TypeAlias = (
    DomainCreated
    | DomainDeleted
    | DomainDnsStatusChanged
    | MailboxCreated
    | MailboxUpdated
    | MailboxEnabled
    | MailboxDisabled
    | MailboxDeleted
    | AliasCreated
    | AliasDeleted
    | InviteCreated
    | InviteAccepted
    | InviteExpired
    | InvoiceCreated
    | InvoicePaid
)
"""Every event type the API documents (a tagged union over ``type``)."""

Event: TypeAlias = KnownEvent | UnknownEvent
"""What `parse_event` returns: a documented event, or an `UnknownEvent`."""

EVENT_TYPES: Mapping[str, type[KnownEvent]] = MappingProxyType(
    {cast(str, cls.__struct_config__.tag): cls for cls in get_args(KnownEvent)}
)
"""The class of each documented event type, by its ``type`` string."""


class _Head(msgspec.Struct):
    type: str


_KNOWN: msgspec.json.Decoder[KnownEvent] = msgspec.json.Decoder(KnownEvent)
_UNKNOWN = msgspec.json.Decoder(UnknownEvent)
_HEAD = msgspec.json.Decoder(_Head)


def parse_event(payload: bytes | str) -> Event:
    """Decode a webhook body into its typed event (verify the signature first).

    Example:
        >>> event = parse_event(body)  # doctest: +SKIP
        >>> if isinstance(event, MailboxCreated):  # doctest: +SKIP
        ...     print(event.data.object.address)

    Args:
        payload: The request body.

    Returns:
        The event's class for a documented type (e.g. `MailboxCreated`, whose
        ``data.object`` is a `Mailbox`), or `UnknownEvent` for any other type.
        Unknown fields are ignored.

    Raises:
        WebhookPayloadError: the body is not JSON, or not an event (a missing
            field, a ``created`` that is not a Unix time, or an object that does
            not match its documented type).
        ValidationError: the payload is neither bytes nor text.

    """
    payload = _checked(payload)
    try:
        return _KNOWN.decode(payload)
    except msgspec.ValidationError as exc:
        error = exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _undecodable(exc, payload) from exc
    return _parse_other(payload, error)


def _checked(payload: object) -> bytes | str:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        try:
            payload.encode("utf-8")
        except UnicodeEncodeError:
            # No JSON text holds a lone surrogate: not an event (not a caller's bug).
            raise _payload_error(
                "text with a lone surrogate", payload.encode("utf-8", "replace")
            ) from None
        return payload
    raise ValidationError(
        f"payload must be the webhook body as bytes or str, got a {type(payload).__name__}"
    )


def _parse_other(payload: bytes | str, error: msgspec.ValidationError) -> UnknownEvent:
    # The union refused the payload: an unknown type, or a malformed event.
    event_type = _decode(_HEAD, payload).type
    if event_type in EVENT_TYPES:
        raise _payload_error(str(error), payload) from error
    return _decode(_UNKNOWN, payload)


def _decode(decoder: msgspec.json.Decoder[T], payload: bytes | str) -> T:
    """`decoder.decode(payload)`, any failure a `WebhookPayloadError`."""
    try:
        return decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError included
        raise _undecodable(exc, payload) from exc


def _undecodable(exc: Exception, payload: bytes | str) -> WebhookPayloadError:
    if isinstance(exc, msgspec.ValidationError):
        return _payload_error(str(exc), payload)
    if isinstance(exc, RecursionError):
        return _payload_error("nested too deeply", payload)
    return _payload_error("not valid JSON", payload)


def _payload_error(reason: str, payload: bytes | str) -> WebhookPayloadError:
    body = payload.encode("utf-8", errors="replace") if isinstance(payload, str) else payload
    snippet = excerpt(body)
    return WebhookPayloadError(
        f"webhook payload is not a ClubSMTP event ({reason}): {snippet!r}", body_excerpt=snippet
    )
