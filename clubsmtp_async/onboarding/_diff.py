"""The diff: desired spec and live account → the ordered actions that reconcile them.

A pure function over plain values (no I/O), so every rule is tested without a
network. The rules:

- Only what the spec declares is managed: an undeclared attribute or list is
  never touched; a declared list is made exactly equal (``[]`` empties it).
- ``prune`` deletes the mailboxes and aliases of the spec's domains that the
  spec does not declare; ``prune_domains`` deletes the account's domains the
  spec does not declare (with everything on them). Neither touches an
  undeclared list or attribute.
- An address declared as a mailbox but live as an alias (or the other way
  round) is replaced only with ``prune``; without it the plan refuses.
- Aliases have no update endpoint: other targets mean replace (delete + create).
  A target the plan deletes no longer counts as a live target.
- Order (each action after what it depends on): deletions (aliases, mailboxes,
  domains), then domain creates, mailbox creates, mailbox updates, list
  removals and additions, alias creates and replaces. Within a group, actions
  are sorted by domain, address, list and pattern, so a plan is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ._actions import (
    Action,
    AddListEntry,
    AliasTarget,
    CreateAlias,
    CreateDomain,
    CreateMailbox,
    DeleteAlias,
    DeleteDomain,
    DeleteMailbox,
    ListKind,
    RemoveListEntry,
    ReplaceAlias,
    UpdateMailbox,
)
from ._errors import PlanError
from ._live import LIST_KINDS, LiveAccount, LiveEntry, LiveMailbox
from ._spec import AliasSpec, MailboxSpec, TenantSpec

__all__ = ["diff", "managed_lists"]


@dataclass
class _Desired:
    """The spec keyed by address."""

    domains: list[str] = field(default_factory=list)
    mailboxes: dict[str, MailboxSpec] = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: TenantSpec) -> _Desired:
        desired = cls()
        for domain in spec.domains:
            desired.domains.append(domain.name)
            for mailbox in domain.mailboxes:
                desired.mailboxes[f"{mailbox.local_part}@{domain.name}"] = mailbox
            for alias in domain.aliases:
                desired.aliases[f"{alias.local_part}@{domain.name}"] = _targets(alias, domain.name)
        return desired


def _targets(alias: AliasSpec, domain: str) -> tuple[str, ...]:
    return tuple(t if "@" in t else f"{t}@{domain}" for t in alias.forward_to)


def managed_lists(spec: TenantSpec) -> list[tuple[str, ListKind]]:
    """``(address, kind)`` of every list the spec manages (to read before diffing)."""
    wanted: list[tuple[str, ListKind]] = []
    for domain in spec.domains:
        for mailbox in domain.mailboxes:
            address = f"{mailbox.local_part}@{domain.name}"
            for kind in LIST_KINDS:
                if getattr(mailbox, kind) is not None:
                    wanted.append((address, kind))
    return wanted


class _Planner:
    """Builds the action list; remembers each action's index for dependencies."""

    def __init__(self, desired: _Desired, live: LiveAccount, prune: bool,
                 prune_domains: bool) -> None:
        self.desired = desired
        self.live = live
        self.prune = prune
        self.prune_domains = prune_domains
        self.actions: list[Action] = []
        self.problems: list[str] = []
        self.deleted_domain: dict[str, int] = {}
        self.deleted_mailbox: dict[str, int] = {}
        self.deleted_alias: dict[str, int] = {}
        self.created_domain: dict[str, int] = {}
        self.created_mailbox: dict[str, int] = {}

    def add(self, action: Action) -> int:
        self.actions.append(action)
        return len(self.actions) - 1

    # --- deletions ------------------------------------------------------------------

    def conflicting_or_pruned(self) -> tuple[list[str], list[str]]:
        """Live aliases and mailboxes of the spec's domains to delete."""
        aliases: list[str] = []
        mailboxes: list[str] = []
        for name in sorted(self.desired.domains):
            for alias in self.live.aliases_of(name):
                if alias.address in self.desired.aliases:
                    continue
                if alias.address in self.desired.mailboxes and not self.prune:
                    self.problems.append(
                        f"{alias.address} is an alias on the account but declared as a "
                        "mailbox: prune to replace it"
                    )
                elif self.prune:
                    aliases.append(alias.address)
            for mailbox in self.live.mailboxes_of(name):
                if mailbox.address in self.desired.mailboxes:
                    continue
                if mailbox.address in self.desired.aliases and not self.prune:
                    self.problems.append(
                        f"{mailbox.address} is a mailbox on the account but declared as an "
                        "alias: prune to replace it"
                    )
                elif self.prune:
                    mailboxes.append(mailbox.address)
        return aliases, mailboxes

    def plan_deletions(self) -> None:
        aliases, mailboxes = self.conflicting_or_pruned()
        for address in aliases:
            alias = self.live.aliases[address]
            self.deleted_alias[address] = self.add(DeleteAlias(address=address, uuid=alias.uuid))
        for address in mailboxes:
            uuid = self.live.mailboxes[address].uuid
            self.deleted_mailbox[address] = self.add(DeleteMailbox(address=address, uuid=uuid))
        if not self.prune_domains:
            return
        for name in sorted(set(self.live.domains) - set(self.desired.domains)):
            cascade_mailboxes = tuple(m.address for m in self.live.mailboxes_of(name))
            cascade_aliases = tuple(a.address for a in self.live.aliases_of(name))
            index = self.add(DeleteDomain(
                name=name, uuid=self.live.domains[name].uuid,
                mailboxes=cascade_mailboxes, aliases=cascade_aliases,
            ))
            self.deleted_domain[name] = index
            for address in cascade_mailboxes:
                self.deleted_mailbox.setdefault(address, index)

    # --- domains and mailboxes ------------------------------------------------------

    def plan_domains(self) -> None:
        for name in sorted(self.desired.domains):
            if name not in self.live.domains:
                self.created_domain[name] = self.add(CreateDomain(name=name))

    def _domain_dependency(self, domain: str) -> tuple[tuple[int, ...], str | None]:
        if domain in self.created_domain:
            return (self.created_domain[domain],), None
        return (), self.live.domains[domain].uuid

    def plan_mailbox_creates(self) -> None:
        for address in sorted(self.desired.mailboxes, key=_by_domain):
            if address in self.live.mailboxes:
                continue
            spec = self.desired.mailboxes[address]
            depends, domain_uuid = self._domain_dependency(_domain(address))
            if address in self.deleted_alias:
                depends += (self.deleted_alias[address],)
            self.created_mailbox[address] = self.add(CreateMailbox(
                address=address, domain_uuid=domain_uuid, storage_gb=spec.storage_gb,
                password=spec.password, depends_on=depends,
            ))

    def plan_mailbox_updates(self) -> None:
        for address in sorted(self.desired.mailboxes, key=_by_domain):
            spec = self.desired.mailboxes[address]
            live = self.live.mailboxes.get(address)
            if live is None:
                if spec.enabled is False:  # the API creates mailboxes enabled
                    self.add(UpdateMailbox(address=address, enabled=False,
                                           depends_on=(self.created_mailbox[address],)))
                continue
            enabled = spec.enabled if spec.enabled not in (None, live.enabled) else None
            storage = spec.storage_gb if spec.storage_gb not in (None, live.storage_gb) else None
            if enabled is None and storage is None:
                continue
            self.add(UpdateMailbox(
                address=address, uuid=live.uuid, enabled=enabled, storage_gb=storage,
                was_enabled=live.enabled if enabled is not None else None,
                was_storage_gb=live.storage_gb if storage is not None else None,
            ))

    # --- sender lists ---------------------------------------------------------------

    def _entries(self) -> Iterable[tuple[str, ListKind, tuple[str, ...], LiveMailbox | None]]:
        for address in sorted(self.desired.mailboxes, key=_by_domain):
            spec = self.desired.mailboxes[address]
            for kind in LIST_KINDS:
                patterns = getattr(spec, kind)
                if patterns is not None:
                    yield address, kind, patterns, self.live.mailboxes.get(address)

    def plan_list_removals(self) -> None:
        for address, kind, patterns, live in self._entries():
            if live is None:
                continue
            for entry in _unwanted(self.live.lists.get((address, kind), ()), patterns):
                self.add(RemoveListEntry(
                    address=address, list=kind, pattern=entry.pattern,
                    mailbox_uuid=live.uuid, entry_uuid=entry.uuid,
                ))

    def plan_list_additions(self) -> None:
        for address, kind, patterns, live in self._entries():
            if live is None:
                depends = (self.created_mailbox[address],)
                for pattern in sorted(patterns):
                    self.add(AddListEntry(address=address, list=kind, pattern=pattern,
                                          depends_on=depends))
                continue
            present = {e.pattern.lower() for e in self.live.lists.get((address, kind), ())}
            for pattern in sorted(set(patterns) - present):
                self.add(AddListEntry(address=address, list=kind, pattern=pattern,
                                      mailbox_uuid=live.uuid))

    # --- aliases --------------------------------------------------------------------

    def _target(self, alias: str, address: str) -> tuple[AliasTarget, int | None]:
        """The target and the index of the action creating it (None if it exists)."""
        if address in self.created_mailbox:
            return AliasTarget(address=address), self.created_mailbox[address]
        live = self.live.mailboxes.get(address)
        if live is not None and address not in self.deleted_mailbox:
            return AliasTarget(address=address, uuid=live.uuid), None
        if address in self.desired.aliases or address in self.live.aliases:
            self.problems.append(f"alias {alias} forwards to {address}, an alias: "
                                 "aliases forward to mailboxes only")
        elif live is not None:
            self.problems.append(f"alias {alias} forwards to {address}, which this plan deletes")
        else:
            self.problems.append(f"alias {alias} forwards to {address}, which is neither "
                                 "declared nor on the account")
        return AliasTarget(address=address), None

    def plan_aliases(self) -> None:
        for address in sorted(self.desired.aliases, key=_by_domain):
            resolved = [self._target(address, t) for t in self.desired.aliases[address]]
            targets = tuple(target for target, _ in resolved)
            creates = tuple(index for _, index in resolved if index is not None)
            live = self.live.aliases.get(address)
            if live is None:
                depends, domain_uuid = self._domain_dependency(_domain(address))
                if address in self.deleted_mailbox:
                    depends += (self.deleted_mailbox[address],)
                self.add(CreateAlias(address=address, forward_to=targets,
                                     domain_uuid=domain_uuid, depends_on=depends + creates))
                continue
            kept = {t for t in live.forward_to if t not in self.deleted_mailbox}
            if kept == {t.address for t in targets}:
                continue
            self.add(ReplaceAlias(
                address=address, uuid=live.uuid, domain_uuid=live.domain_uuid,
                forward_to=targets, was_forward_to=live.forward_to, depends_on=creates,
            ))


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _by_domain(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return domain, local


def _unwanted(entries: Iterable[LiveEntry], patterns: tuple[str, ...]) -> list[LiveEntry]:
    """Live entries not in `patterns` (case-insensitively), and repeats of one that is."""
    wanted = set(patterns)
    seen: set[str] = set()
    unwanted = []
    for entry in entries:
        key = entry.pattern.lower()
        if key not in wanted or key in seen:
            unwanted.append(entry)
        seen.add(key)
    return sorted(unwanted, key=lambda e: e.pattern.lower())


def diff(
    spec: TenantSpec, live: LiveAccount, *, prune: bool = False, prune_domains: bool = False
) -> list[Action]:
    """The actions that make the account match the spec (see the module docstring).

    Args:
        spec: The desired state (validated by `check_tenant`).
        live: The account as read (with the lists the spec manages).
        prune: Delete undeclared mailboxes and aliases of the spec's domains.
        prune_domains: Delete the account's undeclared domains (cascading).

    Returns:
        The actions in dependency order; empty when the account matches.

    Raises:
        PlanError: listing every conflict found (nothing is planned then).

    """
    planner = _Planner(_Desired.of(spec), live, prune, prune_domains)
    planner.plan_deletions()
    planner.plan_domains()
    planner.plan_mailbox_creates()
    planner.plan_mailbox_updates()
    planner.plan_list_removals()
    planner.plan_list_additions()
    planner.plan_aliases()
    if planner.problems:
        raise PlanError(planner.problems)
    return planner.actions
