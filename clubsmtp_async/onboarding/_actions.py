"""The actions of a plan: one typed struct per kind of change, serialisable to JSON.

Every action names its object by natural key (domain name, address, pattern),
carries the UUIDs the plan read for objects that already exist (so a saved plan
needs no re-read), and lists the actions it depends on by their index in the
plan. An action's `requests` is what applying it sends when nothing fails.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

from ._spec import PasswordSource

__all__ = [
    "Action",
    "AddListEntry",
    "AliasTarget",
    "CreateAlias",
    "CreateDomain",
    "CreateMailbox",
    "DeleteAlias",
    "DeleteDomain",
    "DeleteMailbox",
    "LAYERS",
    "ListKind",
    "RemoveListEntry",
    "ReplaceAlias",
    "UpdateMailbox",
]

ListKind = Literal["whitelist", "blacklist"]

LAYERS = ("deletions", "domains", "mailboxes", "lists and aliases")
"""The layers of an apply, in the order they start."""


class _Action(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
              tag_field="action"):
    """Base of the actions."""

    depends_on: tuple[int, ...] = ()
    """Indices (in the plan) of the actions that must succeed first."""

    requests: ClassVar[int] = 1
    """Requests sent to apply it when nothing fails."""
    layer: ClassVar[str] = "lists and aliases"
    """Which progress layer it belongs to (one of `LAYERS`)."""
    symbol: ClassVar[str] = "+"
    """``+`` create, ``~`` update, ``-/+`` replace, ``-`` delete."""

    @property
    def domain(self) -> str:
        """The domain the action is about (to group a plan by domain)."""
        raise NotImplementedError

    @property
    def subject(self) -> str:
        """The object the action is about: a domain name or an address."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what it does (never a password)."""
        raise NotImplementedError


class _DomainAction(_Action, frozen=True, kw_only=True):
    """An action on a domain, named `name`."""

    name: str

    @property
    def domain(self) -> str:
        return self.name

    @property
    def subject(self) -> str:
        return self.name


class _AddressAction(_Action, frozen=True, kw_only=True):
    """An action on the mailbox or alias at `address`."""

    address: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def subject(self) -> str:
        return self.address


class CreateDomain(_DomainAction, frozen=True, kw_only=True, tag="create_domain"):
    """Add a domain (its six DNS records are seeded by the server)."""

    layer: ClassVar[str] = "domains"

    def describe(self) -> str:
        return f"create domain {self.name}"


class DeleteDomain(_DomainAction, frozen=True, kw_only=True, tag="delete_domain"):
    """Delete a domain the spec does not declare; the deletion cascades.

    Attributes:
        mailboxes: The addresses of the mailboxes the cascade destroys.
        aliases: The addresses of the aliases the cascade destroys.

    """

    uuid: str
    mailboxes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    layer: ClassVar[str] = "deletions"
    symbol: ClassVar[str] = "-"

    def describe(self) -> str:
        return (
            f"delete domain {self.name} with its {len(self.mailboxes)} mailbox(es) "
            f"and {len(self.aliases)} alias(es)"
        )


class CreateMailbox(_AddressAction, frozen=True, kw_only=True, tag="create_mailbox"):
    """Create a mailbox.

    Attributes:
        address: The new mailbox's address.
        domain_uuid: The domain's UUID when it exists already (else: from the
            action creating it).
        storage_gb: The quota (None: the server's default, 10 GB).
        password: Where the password comes from; None generates one.

    """

    domain_uuid: str | None = None
    storage_gb: int | None = None
    password: PasswordSource | None = None
    layer: ClassVar[str] = "mailboxes"

    def describe(self) -> str:
        quota = "" if self.storage_gb is None else f", {self.storage_gb} GB"
        source = "generated" if self.password is None else self.password.describe()
        return f"create mailbox {self.address}{quota} (password: {source})"


class UpdateMailbox(_AddressAction, frozen=True, kw_only=True, tag="update_mailbox"):
    """Change a mailbox's `enabled` and/or `storage_gb`.

    Attributes:
        uuid: The mailbox's UUID when it exists already.
        enabled: The new value, or None to leave it.
        storage_gb: The new value, or None to leave it.
        was_enabled: The value the plan read (None for a new mailbox).
        was_storage_gb: The value the plan read (None for a new mailbox).

    """

    uuid: str | None = None
    enabled: bool | None = None
    storage_gb: int | None = None
    was_enabled: bool | None = None
    was_storage_gb: int | None = None
    layer: ClassVar[str] = "mailboxes"
    symbol: ClassVar[str] = "~"

    def describe(self) -> str:
        changes = []
        if self.enabled is not None:
            changes.append(f"enabled {_value(self.was_enabled)} → {_value(self.enabled)}")
        if self.storage_gb is not None:
            changes.append(f"storage_gb {_value(self.was_storage_gb)} → {self.storage_gb}")
        return f"update mailbox {self.address}: {', '.join(changes)}"


class DeleteMailbox(_AddressAction, frozen=True, kw_only=True, tag="delete_mailbox"):
    """Delete a mailbox the spec does not declare (and all its mail)."""

    uuid: str
    layer: ClassVar[str] = "deletions"
    symbol: ClassVar[str] = "-"

    def describe(self) -> str:
        return f"delete mailbox {self.address}"


class AddListEntry(_AddressAction, frozen=True, kw_only=True, tag="add_list_entry"):
    """Add a sender pattern to a mailbox's whitelist or blacklist."""

    list: ListKind
    pattern: str
    mailbox_uuid: str | None = None

    def describe(self) -> str:
        return f"add {self.pattern} to the {self.list} of {self.address}"


class RemoveListEntry(_AddressAction, frozen=True, kw_only=True, tag="remove_list_entry"):
    """Remove a sender pattern from a mailbox's whitelist or blacklist."""

    list: ListKind
    pattern: str
    mailbox_uuid: str
    entry_uuid: str
    symbol: ClassVar[str] = "-"

    def describe(self) -> str:
        return f"remove {self.pattern} from the {self.list} of {self.address}"


class AliasTarget(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A mailbox an alias will forward to: its address, and its UUID if it exists already."""

    address: str
    uuid: str | None = None


class CreateAlias(_AddressAction, frozen=True, kw_only=True, tag="create_alias"):
    """Create a forwarding alias."""

    forward_to: tuple[AliasTarget, ...]
    domain_uuid: str | None = None

    def describe(self) -> str:
        return f"create alias {self.address} → {_addresses(self.forward_to)}"


class ReplaceAlias(_AddressAction, frozen=True, kw_only=True, tag="replace_alias"):
    """Change an alias's targets: the API has no alias update, so delete it, then create it.

    Between the two requests the address does not forward; if the create fails,
    running the apply again creates it.
    """

    uuid: str
    domain_uuid: str
    forward_to: tuple[AliasTarget, ...]
    was_forward_to: tuple[str, ...] = ()
    requests: ClassVar[int] = 2
    symbol: ClassVar[str] = "-/+"

    def describe(self) -> str:
        was = ", ".join(self.was_forward_to) or "nothing"
        return (
            f"replace alias {self.address}: {was} → {_addresses(self.forward_to)} "
            "(delete, then create)"
        )


class DeleteAlias(_AddressAction, frozen=True, kw_only=True, tag="delete_alias"):
    """Delete an alias the spec does not declare."""

    uuid: str
    layer: ClassVar[str] = "deletions"
    symbol: ClassVar[str] = "-"

    def describe(self) -> str:
        return f"delete alias {self.address}"


Action = (
    CreateDomain
    | DeleteDomain
    | CreateMailbox
    | UpdateMailbox
    | DeleteMailbox
    | AddListEntry
    | RemoveListEntry
    | CreateAlias
    | ReplaceAlias
    | DeleteAlias
)
"""Any action of a plan (a tagged union on the ``action`` field)."""


def _value(value: bool | int | None) -> str:
    if value is None:
        return "(new)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _addresses(targets: tuple[AliasTarget, ...]) -> str:
    return ", ".join(target.address for target in targets)
