"""The API's objects as frozen `msgspec.Struct`s, and the request bodies.

Attribute names equal the JSON field names. Response models ignore unknown
fields, and the enums accept values a newer server may add (they decode to an
``UNKNOWN``-named pseudo member that keeps the raw value), so a new field or a
new DNS record type never breaks decoding of a whole list.

Every timestamp is a timezone-aware `datetime` (`AwareDatetime`). The API sends
UTC with a ``Z``; a timestamp *without* a zone is refused — decoding fails, and
the call raises `UnexpectedResponseError` — rather than guessed: a naive
``datetime`` would compare wrongly with aware ones, or raise, in the caller's
code much later. The ping's HTTP date follows the same rule (`_response`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec

__all__ = [
    "AwareDatetime",
    "Alias",
    "AliasTarget",
    "DnsRecord",
    "DnsRecordStatus",
    "DnsRecordType",
    "Domain",
    "ListEntry",
    "Mailbox",
    "MailboxUpdate",
    "NewAlias",
    "NewDomain",
    "NewListEntry",
    "NewMailbox",
    "Ping",
]


class DnsRecordStatus(enum.IntEnum):
    """Verification status of a DNS record."""

    PENDING = 1
    OK = 2
    FAIL = 3

    @classmethod
    def _missing_(cls, value: object) -> DnsRecordStatus | None:
        # A status added by a newer server decodes instead of failing the list.
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None


class DnsRecordType(str, enum.Enum):
    """The six DNS records of a domain, in the order the API seeds them."""

    MX = "MX"
    SPF = "SPF"
    DKIM = "DKIM"
    DMARC = "DMARC"
    AUTOCONFIG = "autoconfig"
    AUTODISCOVER = "autodiscover"

    @classmethod
    def _missing_(cls, value: object) -> DnsRecordType | None:
        # A record type added by a newer server decodes instead of failing the list.
        if isinstance(value, str):
            member = str.__new__(cls, value)
            member._name_ = "UNKNOWN"
            member._value_ = value
            return member
        return None


AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
"""A `datetime` that must carry a timezone (checked by msgspec while decoding, at no cost)."""


class _Model(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the response models: immutable, keyword-only, unknown fields ignored."""


class DnsRecord(_Model, frozen=True, kw_only=True):
    """One of the six DNS records a domain needs at its registrar."""

    uuid: str
    record_type: DnsRecordType
    status: DnsRecordStatus
    expected_value: str | None = None
    actual_value: str | None = None
    last_checked_at: AwareDatetime | None = None


class Domain(_Model, frozen=True, kw_only=True):
    """A hosted domain with the status of its DNS records."""

    uuid: str
    name: str
    created_at: AwareDatetime
    dns_records: list[DnsRecord] = []


class Mailbox(_Model, frozen=True, kw_only=True):
    """A full email account (IMAP/SMTP) on an address of one of your domains."""

    uuid: str
    address: str
    domain_uuid: str
    domain: str
    storage_gb: int
    enabled: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ListEntry(_Model, frozen=True, kw_only=True):
    """A sender pattern on a mailbox's whitelist or blacklist."""

    uuid: str
    pattern: str
    created_at: AwareDatetime


class AliasTarget(_Model, frozen=True, kw_only=True):
    """A mailbox an alias forwards to."""

    uuid: str
    address: str


class Alias(_Model, frozen=True, kw_only=True):
    """A forwarding address that routes mail to one or more mailboxes."""

    uuid: str
    address: str
    domain_uuid: str
    domain: str
    forwarding_to: list[AliasTarget] = []
    created_at: AwareDatetime
    updated_at: AwareDatetime


class Ping(_Model, frozen=True, kw_only=True):
    """The answer to `ping`: the server's clock (timezone-aware)."""

    timestamp: AwareDatetime


class _Body(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of the request bodies: fields left at their default are not sent."""


class NewDomain(_Body, frozen=True, kw_only=True):
    """The body of a domain create."""

    name: str


class NewMailbox(_Body, frozen=True, kw_only=True):
    """A mailbox to create (the body of a mailbox create, and a bulk item).

    The password never appears in ``repr()`` or ``str()``.
    """

    domain_uuid: str
    local_part: str
    password: str
    storage_gb: int | None = None

    def __repr__(self) -> str:
        quota = "" if self.storage_gb is None else f", storage_gb={self.storage_gb}"
        return (
            f"NewMailbox(domain_uuid={self.domain_uuid!r}, local_part={self.local_part!r}, "
            f"password='***'{quota})"
        )

    def __rich_repr__(self) -> Any:
        yield "domain_uuid", self.domain_uuid
        yield "local_part", self.local_part
        yield "password", "***"
        yield "storage_gb", self.storage_gb, None


class MailboxUpdate(_Body, frozen=True, kw_only=True):
    """The body of a mailbox update: only the fields given are changed."""

    enabled: bool | None = None
    storage_gb: int | None = None


class NewListEntry(_Body, frozen=True, kw_only=True):
    """The body of a whitelist/blacklist add."""

    pattern: str


class NewAlias(_Body, frozen=True, kw_only=True):
    """An alias to create (the body of an alias create, and a bulk item)."""

    domain_uuid: str
    local_part: str
    mailbox_uuids: Sequence[str]
