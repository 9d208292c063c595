"""The tenant file's shape: typed, frozen specs of the desired state.

Only what a spec declares is managed. A field left out (None) means "leave it
as it is on the account"; an empty list means "must be empty". Loaders in
`_load` and `_csv` decode files into these structs and `_check` validates and
normalises them, so every spec that reaches `plan` is well-formed.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = [
    "AliasSpec",
    "DomainSpec",
    "MAX_STORAGE_GB",
    "MailboxSpec",
    "PasswordSource",
    "TenantSpec",
]


class _Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
            omit_defaults=True):
    """Base of the specs: immutable, keyword-only, unknown keys refused, None omitted."""


_EnvName = Annotated[str, msgspec.Meta(description="Name of an environment variable.")]
_FilePath = Annotated[str, msgspec.Meta(description="Path of a file holding the password.")]


class PasswordSource(_Spec, frozen=True, kw_only=True):
    """Where a new mailbox's password comes from: an environment variable or a file.

    Passwords are never written in tenant files, plans or reports. A file's
    path is relative to the tenant file's folder; its content, without the
    trailing newline, is the password. A mailbox with no source gets a strong
    generated password, reported once.

    Example:
        ```toml
        password = { env = "ALICE_PASSWORD" }
        password = { file = "secrets/bob.txt" }
        ```

    """

    env: _EnvName | None = None
    file: _FilePath | None = None

    def __post_init__(self) -> None:
        if (self.env is None) == (self.file is None):
            raise ValueError('expected exactly one of { env = "VAR" } or { file = "path" }')
        if self.env is not None and not self.env:
            raise ValueError("env must name an environment variable")
        if self.file is not None and not self.file:
            raise ValueError("file must be a path")

    def describe(self) -> str:
        """``env:NAME`` or ``file:PATH`` — what a plan shows instead of the password."""
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


MAX_STORAGE_GB = 2**31 - 1
"""The largest quota a tenant file may ask for (the largest 32-bit integer)."""

_Gigabytes = Annotated[
    int, msgspec.Meta(ge=1, le=MAX_STORAGE_GB, description="Quota in GB (at least 1).")
]
_Patterns = Annotated[
    tuple[str, ...],
    msgspec.Meta(description="Sender patterns; omit to leave the list as it is, [] to empty it."),
]


class MailboxSpec(_Spec, frozen=True, kw_only=True):
    """A mailbox that must exist on its domain.

    Attributes:
        local_part: The part of the address before ``@``.
        storage_gb: The quota; None leaves it as it is (10 GB on create).
        enabled: False suspends it; None leaves it as it is (enabled on create).
        password: Used only to create it; None generates one.
        whitelist: The exact sender whitelist; None leaves it unmanaged.
        blacklist: The exact sender blacklist; None leaves it unmanaged.

    """

    local_part: str
    storage_gb: _Gigabytes | None = None
    enabled: bool | None = None
    password: PasswordSource | None = None
    whitelist: _Patterns | None = None
    blacklist: _Patterns | None = None


class AliasSpec(_Spec, frozen=True, kw_only=True):
    """A forwarding alias that must exist, forwarding to exactly these mailboxes.

    Attributes:
        local_part: The part of the alias address before ``@``.
        forward_to: Local parts of mailboxes declared on the same domain, or
            full addresses of mailboxes anywhere on the account.

    """

    local_part: str
    forward_to: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]


class DomainSpec(_Spec, frozen=True, kw_only=True):
    """A domain that must exist, with the mailboxes and aliases declared on it.

    Attributes:
        name: The fully-qualified domain name (IDNA names in any form).
        mailboxes: Mailboxes that must exist; others are left alone unless pruned.
        aliases: Aliases that must exist; others are left alone unless pruned.

    """

    name: str
    mailboxes: tuple[MailboxSpec, ...] = ()
    aliases: tuple[AliasSpec, ...] = ()


class TenantSpec(_Spec, frozen=True, kw_only=True):
    """The desired state of a tenant: its domains and what is declared on them.

    Build one with `load_tenant` (TOML, YAML, JSON or CSV), `parse_tenant`, or
    `export` (the live account); `plan` compares it with the account.

    Attributes:
        domains: The domains, each with its mailboxes and aliases.

    """

    domains: tuple[DomainSpec, ...] = ()
    schema: str | None = msgspec.field(default=None, name="$schema")
    """An optional ``$schema`` reference for editors; ignored."""

    @property
    def mailbox_count(self) -> int:
        """The number of mailboxes declared."""
        return sum(len(domain.mailboxes) for domain in self.domains)

    @property
    def alias_count(self) -> int:
        """The number of aliases declared."""
        return sum(len(domain.aliases) for domain in self.domains)
