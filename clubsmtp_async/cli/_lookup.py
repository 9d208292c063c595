"""What a person types instead of a UUID: a domain name, an address, a sender pattern.

A reference that looks like a UUID is used as one; anything else is looked up
by its natural key (without case, as the API compares them). A miss is a
`CliError` naming what was not found.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .._models import Alias, Domain, ListEntry, Mailbox
from .._validation import domain_name
from ._exit import CliError

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = [
    "find_alias",
    "find_domain",
    "find_entry",
    "find_mailbox",
    "is_uuid",
    "normal_address",
    "split_address",
]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def is_uuid(ref: str) -> bool:
    """Whether `ref` has the form of a UUID."""
    return bool(_UUID.match(ref))


def split_address(address: str) -> tuple[str, str]:
    """``(local part, domain name)`` of an address.

    Raises:
        CliError: if it has no ``@``.

    """
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise CliError(f"{address!r} is not an address (local@domain)")
    return local, domain


def normal_address(address: str) -> str:
    """The address as the API writes it: lower case, the domain in its ASCII (IDNA) form."""
    local, domain = split_address(address)
    return f"{local.lower()}@{domain_name(domain, 'domain')}"


async def find_domain(client: AsyncClient, ref: str) -> Domain:
    """A domain by UUID or by name."""
    if is_uuid(ref):
        return await client.domains.get(ref)
    name = domain_name(ref, "domain")
    for domain in await client.domains.list():
        if domain.name.lower() == name:
            return domain
    raise CliError(f"no domain {name} on the account")


async def find_mailbox(client: AsyncClient, ref: str) -> Mailbox:
    """A mailbox by UUID or by address."""
    if is_uuid(ref):
        return await client.mailboxes.get(ref)
    address = normal_address(ref)
    found = await find_domain(client, address.rpartition("@")[2])
    for mailbox in await client.mailboxes.list(found.uuid):
        if mailbox.address.lower() == address:
            return mailbox
    raise CliError(f"no mailbox {address} on the account")


async def find_alias(client: AsyncClient, ref: str) -> Alias:
    """An alias by UUID or by address."""
    if is_uuid(ref):
        return await client.aliases.get(ref)
    address = normal_address(ref)
    for alias in await client.aliases.list():
        if alias.address.lower() == address:
            return alias
    raise CliError(f"no alias {address} on the account")


async def find_entry(client: AsyncClient, kind: str, mailbox: Mailbox, ref: str) -> ListEntry:
    """An entry of a mailbox's whitelist or blacklist, by UUID or by pattern."""
    entries: list[ListEntry] = await getattr(client.mailboxes, kind).list(mailbox.uuid)
    for entry in entries:
        if entry.uuid.lower() == ref.lower() or entry.pattern.lower() == ref.lower():
            return entry
    raise CliError(f"{ref} is not on the {kind} of {mailbox.address}")
