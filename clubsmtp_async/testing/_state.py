"""The emulator's in-memory store of domains, mailboxes, list entries and aliases.

Every object belongs to an account; another account's object is "not found".
Dicts keep insertion order, so every list is in creation order. Names and
addresses are stored lower-cased, which makes uniqueness case-insensitive.
Methods raise `ApiError` with the API's messages; none of them awaits, so each
call is atomic with respect to other requests on the event loop.

Every change is reported synchronously to `Store.listener` as the webhook
events it causes (`StoreEvent`: type, account, the object as the API renders
it), and counted in `Store.revision`. The store does no I/O: what happens to
the events (delivery, persistence) is decided elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from ._errors import invalid, not_found
from ._events import mailbox_update_events
from ._ids import UuidFactory

__all__ = [
    "Alias",
    "DNS_RECORD_TYPES",
    "DnsRecord",
    "Domain",
    "ListEntry",
    "ListKind",
    "Mailbox",
    "Store",
    "StoreEvent",
    "StoreListener",
    "format_timestamp",
]

DNS_RECORD_TYPES = ("MX", "SPF", "DKIM", "DMARC", "autoconfig", "autodiscover")
DEFAULT_STORAGE_GB = 10
# An emulator, not a vault: cheap enough for bulk tests of thousands of mailboxes.
_PBKDF2_ITERATIONS = 1000

ListKind = Literal["whitelist", "blacklist"]


def format_timestamp(value: datetime | None) -> str | None:
    """Format like the API: ``2026-01-15T09:00:00.000000Z`` (None stays None)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class DnsRecord:
    """One of a domain's six DNS records."""

    uuid: str
    record_type: str
    status: int = 1
    expected_value: str | None = None
    actual_value: str | None = None
    last_checked_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's DnsRecord object."""
        return {
            "uuid": self.uuid,
            "record_type": self.record_type,
            "expected_value": self.expected_value,
            "actual_value": self.actual_value,
            "status": self.status,
            "last_checked_at": format_timestamp(self.last_checked_at),
        }


@dataclass
class Domain:
    """A hosted domain."""

    uuid: str
    account: str
    name: str
    created_at: datetime
    dns_records: list[DnsRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API's Domain object."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "created_at": format_timestamp(self.created_at),
            "dns_records": [record.to_json() for record in self.dns_records],
        }


@dataclass
class ListEntry:
    """A whitelist or blacklist sender pattern."""

    uuid: str
    pattern: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The API's ListEntry object."""
        return {
            "uuid": self.uuid,
            "pattern": self.pattern,
            "created_at": format_timestamp(self.created_at),
        }


@dataclass
class Mailbox:
    """A mailbox; the password is kept only as a salted PBKDF2 hash."""

    uuid: str
    account: str
    domain_uuid: str
    domain: str
    local_part: str
    password_salt: bytes
    password_hash: bytes
    storage_gb: int
    enabled: bool
    created_at: datetime
    updated_at: datetime
    whitelist: dict[str, ListEntry] = field(default_factory=dict)
    blacklist: dict[str, ListEntry] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """``local_part@domain``."""
        return f"{self.local_part}@{self.domain}"

    def entries(self, kind: ListKind) -> dict[str, ListEntry]:
        """The whitelist or the blacklist."""
        return self.whitelist if kind == "whitelist" else self.blacklist

    def to_json(self) -> dict[str, Any]:
        """The API's Mailbox object (never the password)."""
        return {
            "uuid": self.uuid,
            "address": self.address,
            "domain_uuid": self.domain_uuid,
            "domain": self.domain,
            "storage_gb": self.storage_gb,
            "enabled": self.enabled,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }


@dataclass
class Alias:
    """A forwarding address; `mailbox_uuids` keeps the order given at creation."""

    uuid: str
    account: str
    domain_uuid: str
    domain: str
    local_part: str
    mailbox_uuids: list[str]
    created_at: datetime
    updated_at: datetime

    @property
    def address(self) -> str:
        """``local_part@domain``."""
        return f"{self.local_part}@{self.domain}"


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ITERATIONS)


@dataclass(frozen=True)
class StoreEvent:
    """One webhook event a change caused.

    Attributes:
        type: The event type, e.g. ``"mailbox.created"``.
        account: The account whose object changed.
        object: The object as the API renders it (for a deletion: as it was).

    """

    type: str
    account: str
    object: dict[str, Any]


StoreListener = Callable[[StoreEvent], None]


class Store:
    """All objects of all accounts.

    Args:
        now: Returns the current UTC time (timestamps, UUID prefixes).
        ids: Makes the identifiers.
        allow_cross_domain_aliases: Let an alias forward to mailboxes of other
            domains of the same account (default); False: the alias's domain only.

    """

    def __init__(
        self,
        now: Callable[[], datetime],
        ids: UuidFactory,
        *,
        allow_cross_domain_aliases: bool = True,
    ) -> None:
        self._now = now
        self._ids = ids
        self.allow_cross_domain_aliases = allow_cross_domain_aliases
        self.domains: dict[str, Domain] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.aliases: dict[str, Alias] = {}
        self._names: dict[str, str] = {}
        self._addresses: dict[tuple[str, str], str] = {}
        self.listener: StoreListener | None = None
        self.revision = 0

    def _emit(self, type: str, account: str, obj: dict[str, Any]) -> None:
        self.revision += 1
        if self.listener is not None:
            self.listener(StoreEvent(type, account, obj))

    def clear(self) -> None:
        """Forget every object of every account (a test control: no events)."""
        for table in (self.domains, self.mailboxes, self.aliases, self._names, self._addresses):
            table.clear()
        self.revision += 1

    def restore(
        self, domains: list[Domain], mailboxes: list[Mailbox], aliases: list[Alias]
    ) -> None:
        """Replace every object with the given ones (loading saved state: no events).

        The caller has checked them: unique names and addresses, and every
        reference (a mailbox's or alias's domain, an alias's targets) present.
        """
        self.clear()
        for domain in domains:
            self.domains[domain.uuid] = domain
            self._names[domain.name] = domain.uuid
        for mailbox in mailboxes:
            self.mailboxes[mailbox.uuid] = mailbox
            self._addresses[(mailbox.domain_uuid, mailbox.local_part)] = mailbox.uuid
        for alias in aliases:
            self.aliases[alias.uuid] = alias
            self._addresses[(alias.domain_uuid, alias.local_part)] = alias.uuid

    def _new_id(self) -> str:
        while True:  # a seeded factory may repeat an identifier loaded from a state file
            uuid = self._ids.new(self._now())
            if uuid not in self.domains and uuid not in self.mailboxes and uuid not in self.aliases:
                return uuid

    # Domains

    def list_domains(self, account: str) -> list[Domain]:
        """The account's domains, in creation order."""
        return [d for d in self.domains.values() if d.account == account]

    def create_domain(self, account: str, name: str) -> Domain:
        """Create a domain and seed its six pending DNS records.

        Raises:
            ApiError: 400 if the name exists in any account.

        """
        if name in self._names:
            raise invalid(f"Domain {name} already exists.")
        uuid = self._new_id()
        records = [DnsRecord(uuid=self._new_id(), record_type=t) for t in DNS_RECORD_TYPES]
        domain = Domain(uuid, account, name, self._now(), records)
        self.domains[domain.uuid] = domain
        self._names[name] = domain.uuid
        self._emit("domain.created", account, domain.to_json())
        return domain

    def get_domain(self, account: str, uuid: str) -> Domain:
        """The account's domain `uuid`.

        Raises:
            ApiError: 400 "Domain not found." otherwise.

        """
        return _owned(self.domains, account, uuid, "Domain")

    def delete_domain(self, account: str, uuid: str) -> None:
        """Delete a domain with its records, mailboxes (and their lists) and aliases.

        Events, each object as it was before the delete: ``alias.deleted`` for
        each of its aliases, then ``mailbox.deleted`` for each of its mailboxes,
        then ``domain.deleted`` (dependents first, in creation order).
        """
        domain = self.get_domain(account, uuid)
        mailboxes = [m for m in self.mailboxes.values() if m.domain_uuid == uuid]
        aliases = [a for a in self.aliases.values() if a.domain_uuid == uuid]
        gone = [("alias.deleted", self.alias_json(a)) for a in aliases]
        gone += [("mailbox.deleted", m.to_json()) for m in mailboxes]
        gone.append(("domain.deleted", domain.to_json()))
        for mailbox in mailboxes:
            self._drop_mailbox(mailbox)
        for alias in aliases:
            self._drop_alias(alias)
        del self.domains[uuid]
        del self._names[domain.name]
        for event_type, obj in gone:
            self._emit(event_type, account, obj)

    def find_dns_record(self, uuid: str) -> DnsRecord:
        """A DNS record of any account, by UUID.

        Raises:
            ApiError: 400 "DNS record not found." if there is none.

        """
        return self.find_dns_domain(uuid)[1]

    def find_dns_domain(self, uuid: str) -> tuple[Domain, DnsRecord]:
        """A DNS record of any account and its domain, by the record's UUID.

        Raises:
            ApiError: 400 "DNS record not found." if there is none.

        """
        for domain in self.domains.values():
            for record in domain.dns_records:
                if record.uuid == uuid:
                    return domain, record
        raise not_found("DNS record")

    def dns_records_changed(self, domain: Domain, *, status_changed: bool) -> None:
        """Note that DNS records of `domain` were changed in place.

        Emits ``domain.dns_status_changed`` (the domain after the change) when a
        status changed; other fields change silently.
        """
        if status_changed:
            self._emit("domain.dns_status_changed", domain.account, domain.to_json())
        else:
            self.revision += 1

    # Mailboxes

    def list_mailboxes(self, account: str, domain_uuid: str | None = None) -> list[Mailbox]:
        """The account's mailboxes, optionally of one domain (which must exist)."""
        if domain_uuid is not None:
            self.get_domain(account, domain_uuid)
        return [
            m
            for m in self.mailboxes.values()
            if m.account == account and domain_uuid in (None, m.domain_uuid)
        ]

    def _claim_address(self, domain: Domain, local_part: str, uuid: str) -> None:
        key = (domain.uuid, local_part)
        if key in self._addresses:
            raise invalid(f"Address {local_part}@{domain.name} already exists.")
        self._addresses[key] = uuid

    def create_mailbox(
        self,
        account: str,
        *,
        domain_uuid: str,
        local_part: str,
        password: str,
        storage_gb: int | None = None,
    ) -> Mailbox:
        """Create a mailbox on one of the account's domains.

        Raises:
            ApiError: 400 if the domain is unknown or the address exists.

        """
        domain = self.get_domain(account, domain_uuid)
        uuid, now, salt = self._new_id(), self._now(), secrets.token_bytes(16)
        self._claim_address(domain, local_part, uuid)
        mailbox = Mailbox(
            uuid=uuid,
            account=account,
            domain_uuid=domain.uuid,
            domain=domain.name,
            local_part=local_part,
            password_salt=salt,
            password_hash=_hash_password(password, salt),
            storage_gb=DEFAULT_STORAGE_GB if storage_gb is None else storage_gb,
            enabled=True,
            created_at=now,
            updated_at=now,
        )
        self.mailboxes[uuid] = mailbox
        self._emit("mailbox.created", account, mailbox.to_json())
        return mailbox

    def get_mailbox(self, account: str, uuid: str) -> Mailbox:
        """The account's mailbox `uuid`.

        Raises:
            ApiError: 400 "Mailbox not found." otherwise.

        """
        return _owned(self.mailboxes, account, uuid, "Mailbox")

    def update_mailbox(
        self, account: str, uuid: str, *, enabled: bool | None, storage_gb: int | None
    ) -> Mailbox:
        """Change `enabled` and/or `storage_gb`; `updated_at` moves on every update.

        Events (see `mailbox_update_events`): ``mailbox.updated`` if the storage
        changed, then ``mailbox.enabled`` / ``mailbox.disabled`` if `enabled`
        changed, each with the mailbox after the whole update.
        """
        mailbox = self.get_mailbox(account, uuid)
        was_enabled, old_storage = mailbox.enabled, mailbox.storage_gb
        if enabled is not None:
            mailbox.enabled = enabled
        if storage_gb is not None:
            mailbox.storage_gb = storage_gb
        mailbox.updated_at = self._now()
        self.revision += 1
        events = mailbox_update_events(
            was_enabled=was_enabled, is_enabled=mailbox.enabled,
            storage_changed=old_storage != mailbox.storage_gb,
        )
        for event_type in events:
            self._emit(event_type, account, mailbox.to_json())
        return mailbox

    def delete_mailbox(self, account: str, uuid: str) -> None:
        """Delete a mailbox and its lists; aliases stop forwarding to it."""
        mailbox = self.get_mailbox(account, uuid)
        before = mailbox.to_json()
        self._drop_mailbox(mailbox)
        self._emit("mailbox.deleted", account, before)

    def _drop_mailbox(self, mailbox: Mailbox) -> None:
        del self.mailboxes[mailbox.uuid]
        del self._addresses[(mailbox.domain_uuid, mailbox.local_part)]
        now = self._now()
        for alias in self.aliases.values():
            if mailbox.uuid in alias.mailbox_uuids:
                alias.mailbox_uuids.remove(mailbox.uuid)
                alias.updated_at = now

    def check_password(self, uuid: str, password: str) -> bool:
        """Whether `password` is mailbox `uuid`'s password (any account)."""
        mailbox = self.mailboxes.get(uuid)
        if mailbox is None:
            return False
        candidate = _hash_password(password, mailbox.password_salt)
        return hmac.compare_digest(candidate, mailbox.password_hash)

    # Whitelist / blacklist

    def list_entries(self, account: str, mailbox_uuid: str, kind: ListKind) -> list[ListEntry]:
        """A mailbox's list, in creation order."""
        return list(self.get_mailbox(account, mailbox_uuid).entries(kind).values())

    def add_entry(self, account: str, mailbox_uuid: str, kind: ListKind, pattern: str) -> ListEntry:
        """Add a pattern to a mailbox's list.

        Raises:
            ApiError: 400 if the mailbox is unknown or the pattern is already listed.

        """
        entries = self.get_mailbox(account, mailbox_uuid).entries(kind)
        if any(entry.pattern == pattern for entry in entries.values()):
            raise invalid(f"Pattern {pattern} is already in the {kind}.")
        entry = ListEntry(self._new_id(), pattern, self._now())
        entries[entry.uuid] = entry
        self.revision += 1
        return entry

    def remove_entry(self, account: str, mailbox_uuid: str, kind: ListKind, uuid: str) -> None:
        """Remove an entry from a mailbox's list.

        Raises:
            ApiError: 400 "Mailbox not found." / "Entry not found.".

        """
        entries = self.get_mailbox(account, mailbox_uuid).entries(kind)
        if entries.pop(uuid, None) is None:
            raise not_found("Entry")
        self.revision += 1

    # Aliases

    def list_aliases(self, account: str) -> list[Alias]:
        """The account's aliases across all its domains, in creation order."""
        return [a for a in self.aliases.values() if a.account == account]

    def _targets(self, account: str, domain: Domain, uuids: list[str]) -> list[str]:
        for uuid in uuids:
            mailbox = self.get_mailbox(account, uuid)
            if not self.allow_cross_domain_aliases and mailbox.domain_uuid != domain.uuid:
                raise invalid(f"Mailbox {uuid} is not on domain {domain.name}.")
        return list(uuids)

    def create_alias(
        self, account: str, *, domain_uuid: str, local_part: str, mailbox_uuids: list[str]
    ) -> Alias:
        """Create an alias forwarding to the account's mailboxes.

        Raises:
            ApiError: 400 if the domain or a mailbox is unknown, a mailbox is on
                another domain, or the address exists.

        """
        domain = self.get_domain(account, domain_uuid)
        targets = self._targets(account, domain, mailbox_uuids)
        uuid, now = self._new_id(), self._now()
        self._claim_address(domain, local_part, uuid)
        alias = Alias(uuid, account, domain.uuid, domain.name, local_part, targets, now, now)
        self.aliases[uuid] = alias
        self._emit("alias.created", account, self.alias_json(alias))
        return alias

    def get_alias(self, account: str, uuid: str) -> Alias:
        """The account's alias `uuid`.

        Raises:
            ApiError: 400 "Alias not found." otherwise.

        """
        return _owned(self.aliases, account, uuid, "Alias")

    def delete_alias(self, account: str, uuid: str) -> None:
        """Delete an alias; its target mailboxes are untouched."""
        alias = self.get_alias(account, uuid)
        before = self.alias_json(alias)
        self._drop_alias(alias)
        self._emit("alias.deleted", account, before)

    def _drop_alias(self, alias: Alias) -> None:
        del self.aliases[alias.uuid]
        del self._addresses[(alias.domain_uuid, alias.local_part)]

    def alias_json(self, alias: Alias) -> dict[str, Any]:
        """The API's Alias object, with the addresses of its targets."""
        targets = [self.mailboxes[uuid] for uuid in alias.mailbox_uuids]
        return {
            "uuid": alias.uuid,
            "address": alias.address,
            "domain_uuid": alias.domain_uuid,
            "domain": alias.domain,
            "forwarding_to": [{"uuid": m.uuid, "address": m.address} for m in targets],
            "created_at": format_timestamp(alias.created_at),
            "updated_at": format_timestamp(alias.updated_at),
        }


_Owned = TypeVar("_Owned", Domain, Mailbox, Alias)


def _owned(table: dict[str, _Owned], account: str, uuid: str, kind: str) -> _Owned:
    """The object `uuid` of `table` if `account` owns it; another account's is "not found"."""
    found = table.get(uuid)
    if found is None or found.account != account:
        raise not_found(kind)
    return found
