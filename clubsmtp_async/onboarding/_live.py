"""Reading the live account, with the fewest requests, into plain values for the diff.

Three list requests (domains, mailboxes, aliases) describe everything but the
sender lists; a mailbox's whitelist or blacklist is read only when the mailbox
exists and the spec manages that list (or, for `export`, when it is exported).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._bulk_engine import BulkStream
from .._errors import NotFoundError
from .._models import Alias, Domain, ListEntry, Mailbox
from ._actions import ListKind
from ._errors import PlanError

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = [
    "LIST_KINDS",
    "LiveAccount",
    "LiveAlias",
    "LiveDomain",
    "LiveEntry",
    "LiveMailbox",
    "read_account",
    "read_lists",
]

LIST_KINDS: tuple[ListKind, ...] = ("whitelist", "blacklist")
_READ_CONCURRENCY = 32


@dataclass(frozen=True)
class LiveDomain:
    """A domain of the account."""

    uuid: str
    name: str


@dataclass(frozen=True)
class LiveMailbox:
    """A mailbox of the account (address lower-cased)."""

    uuid: str
    address: str
    domain: str
    storage_gb: int
    enabled: bool


@dataclass(frozen=True)
class LiveAlias:
    """An alias of the account, with the addresses it forwards to (lower-cased)."""

    uuid: str
    address: str
    domain: str
    domain_uuid: str
    forward_to: tuple[str, ...]


@dataclass(frozen=True)
class LiveEntry:
    """One entry of a sender list."""

    uuid: str
    pattern: str


@dataclass
class LiveAccount:
    """The account as read: keyed by domain name and by address.

    Attributes:
        domains: Name → domain.
        mailboxes: Address → mailbox.
        aliases: Address → alias.
        lists: ``(address, kind)`` → entries, for the lists that were read.
        reads: How many requests reading it took.

    """

    domains: dict[str, LiveDomain] = field(default_factory=dict)
    mailboxes: dict[str, LiveMailbox] = field(default_factory=dict)
    aliases: dict[str, LiveAlias] = field(default_factory=dict)
    lists: dict[tuple[str, ListKind], tuple[LiveEntry, ...]] = field(default_factory=dict)
    reads: int = 0

    @classmethod
    def of(cls, domains: Iterable[Domain], mailboxes: Iterable[Mailbox],
           aliases: Iterable[Alias]) -> LiveAccount:
        """The account from the three lists."""
        account = cls()
        for domain in domains:
            account.domains[domain.name.lower()] = LiveDomain(domain.uuid, domain.name.lower())
        for mailbox in mailboxes:
            address = mailbox.address.lower()
            account.mailboxes[address] = LiveMailbox(
                mailbox.uuid, address, mailbox.domain.lower(), mailbox.storage_gb,
                mailbox.enabled,
            )
        for alias in aliases:
            address = alias.address.lower()
            account.aliases[address] = LiveAlias(
                alias.uuid, address, alias.domain.lower(), alias.domain_uuid,
                tuple(target.address.lower() for target in alias.forwarding_to),
            )
        return account

    def mailboxes_of(self, domain: str) -> list[LiveMailbox]:
        """The domain's mailboxes, by address."""
        return sorted((m for m in self.mailboxes.values() if m.domain == domain),
                      key=lambda m: m.address)

    def aliases_of(self, domain: str) -> list[LiveAlias]:
        """The domain's aliases, by address."""
        return sorted((a for a in self.aliases.values() if a.domain == domain),
                      key=lambda a: a.address)


async def _read_three(client: AsyncClient) -> LiveAccount:
    readers: dict[str, Callable[[], Awaitable[list[Any]]]] = {
        "domains": client.domains.list,
        "mailboxes": client.mailboxes.list,
        "aliases": client.aliases.list,
    }
    found: dict[str, list[Any]] = {}

    async def read(name: str) -> list[Any]:
        return await readers[name]()

    async with BulkStream(
        read, lambda _: None, list(readers), concurrency=3, on_progress=None, fail_fast=True
    ) as outcomes:
        async for outcome in outcomes:
            found[outcome.item] = outcome.unwrap()
    account = LiveAccount.of(found["domains"], found["mailboxes"], found["aliases"])
    account.reads = 3
    return account


async def read_lists(
    client: AsyncClient, account: LiveAccount, wanted: Iterable[tuple[str, ListKind]]
) -> None:
    """Read the sender lists named ``(address, kind)`` into `account.lists`.

    Raises:
        PlanError: if a mailbox disappeared while it was being read.
        ClubSMTPError: the first read that failed otherwise.

    """
    items = [(address, kind) for address, kind in wanted if address in account.mailboxes]

    async def read(item: tuple[str, ListKind]) -> tuple[LiveEntry, ...]:
        address, kind = item
        sender_list = getattr(client.mailboxes, kind)
        entries: list[ListEntry] = await sender_list.list(account.mailboxes[address].uuid)
        return tuple(LiveEntry(entry.uuid, entry.pattern) for entry in entries)

    async with BulkStream(
        read, lambda _: None, items, concurrency=_READ_CONCURRENCY, on_progress=None,
        fail_fast=True,
    ) as outcomes:
        async for outcome in outcomes:
            account.reads += 1
            if isinstance(outcome.error, NotFoundError):
                address = outcome.item[0]
                raise PlanError([f"mailbox {address} was deleted while it was read; plan again"])
            account.lists[outcome.item] = outcome.unwrap()


async def read_account(
    client: AsyncClient, lists: Iterable[tuple[str, ListKind]] = ()
) -> LiveAccount:
    """The live account: three list requests, then the sender lists named in `lists`."""
    account = await _read_three(client)
    await read_lists(client, account, lists)
    return account
