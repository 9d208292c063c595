"""`export()`: the live account as a tenant spec, and `dump_tenant()` to write one.

An exported spec declares everything it found (quotas, enabled flags, both
sender lists of every mailbox, aliases), so planning it against the same
account plans nothing, and an existing account can be adopted as a file.
Passwords cannot be read back from the API, so none is exported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from .._errors import ValidationError
from .._validation import domain_name
from ._live import LIST_KINDS, LiveAccount, LiveAlias, LiveMailbox, read_account
from ._spec import AliasSpec, DomainSpec, MailboxSpec, TenantSpec

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["DUMP_FORMATS", "dump_tenant", "export", "spec_of"]

logger = logging.getLogger("clubsmtp_async.onboarding")

DUMP_FORMATS = ("toml", "yaml", "json")
"""The formats `dump_tenant` writes."""

_EXTRA = "pip install 'clubsmtp-async[onboarding]'"


def _mailbox(account: LiveAccount, mailbox: LiveMailbox) -> MailboxSpec:
    lists = {
        kind: tuple(e.pattern.lower() for e in account.lists.get((mailbox.address, kind), ()))
        for kind in LIST_KINDS
    }
    return MailboxSpec(
        local_part=mailbox.address.rpartition("@")[0], storage_gb=mailbox.storage_gb,
        enabled=mailbox.enabled, whitelist=tuple(dict.fromkeys(lists["whitelist"])),
        blacklist=tuple(dict.fromkeys(lists["blacklist"])),
    )


def _alias(alias: LiveAlias) -> AliasSpec | None:
    if not alias.forward_to:
        # Its targets were all deleted: a spec cannot declare an alias forwarding nowhere.
        logger.warning("export: alias %s forwards to no mailbox; left out", alias.address)
        return None
    targets = tuple(
        t.rpartition("@")[0] if t.rpartition("@")[2] == alias.domain else t
        for t in alias.forward_to
    )
    return AliasSpec(local_part=alias.address.rpartition("@")[0], forward_to=targets)


def spec_of(account: LiveAccount, domains: Iterable[str]) -> TenantSpec:
    """The spec declaring these domains of the account as they are (a pure function)."""
    specs = []
    for name in domains:
        aliases = [a for a in map(_alias, account.aliases_of(name)) if a is not None]
        specs.append(DomainSpec(
            name=name,
            mailboxes=tuple(_mailbox(account, m) for m in account.mailboxes_of(name)),
            aliases=tuple(aliases),
        ))
    return TenantSpec(domains=tuple(specs))


async def export(client: AsyncClient, domains: Iterable[str] | None = None) -> TenantSpec:
    """The live account (or some of its domains) as a tenant spec.

    Reads the domains, mailboxes and aliases (three requests) and both sender
    lists of every exported mailbox (two requests each).

    Example:
        ```python
        spec = await export(client, domains=["acme.example"])
        Path("acme.toml").write_text(dump_tenant(spec, "toml"))
        ```

    Args:
        client: The client.
        domains: Names of the domains to export (default: all of them).

    Raises:
        ValidationError: if a named domain is not on the account.
        ClubSMTPError: if reading the account failed.

    """
    account = await read_account(client)
    if domains is None:
        names = sorted(account.domains)
    else:
        names = list(dict.fromkeys(domain_name(name, "domain") for name in domains))
        missing = [name for name in names if name not in account.domains]
        if missing:
            raise ValidationError(f"not on the account: {', '.join(missing)}")
    wanted = [(m.address, kind) for name in names for m in account.mailboxes_of(name)
              for kind in LIST_KINDS]
    from ._live import read_lists

    await read_lists(client, account, wanted)
    return spec_of(account, names)


def dump_tenant(spec: TenantSpec, format: str = "toml", *, comment: str | None = None) -> str:
    """A spec as a tenant file's text.

    Args:
        spec: The spec (e.g. from `export`).
        format: ``"toml"`` (needs ``tomli-w``), ``"yaml"`` (needs PyYAML) or ``"json"``.
        comment: A comment for the top of a TOML or YAML file (one or more lines).

    Raises:
        ValidationError: for an unknown format.
        ImportError: naming the extra to install for TOML or YAML.

    """
    if format == "json":
        return msgspec.json.format(msgspec.json.encode(spec), indent=2).decode() + "\n"
    if format not in DUMP_FORMATS:
        raise ValidationError(f"unknown format {format!r}: use toml, yaml or json")
    encode = msgspec.toml.encode if format == "toml" else msgspec.yaml.encode
    try:
        text = encode(spec).decode()
    except ImportError:
        module = "tomli-w" if format == "toml" else "PyYAML"
        raise ImportError(f"writing {format.upper()} needs {module}: {_EXTRA}") from None
    if comment:
        text = "".join(f"# {line}\n" for line in comment.splitlines()) + "\n" + text
    return text
