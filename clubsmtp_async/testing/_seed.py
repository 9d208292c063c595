"""Seeding: create a whole account's objects from one nested description.

The description has the shape of a tenant file::

    {"account": "default",
     "domains": [{"name": "acme.example",
                  "mailboxes": [{"local_part": "alice", "password": "...",
                                 "storage_gb": 20, "enabled": true,
                                 "whitelist": ["*@trusted.example"],
                                 "blacklist": ["*@spam.example"]}],
                  "aliases": [{"local_part": "info", "forward_to": ["alice"]}]}]}

Every value is checked like the matching ``/v1`` request; ``forward_to``
names mailboxes of the same domain by local part. A mailbox without a
password gets a random one. Seeding is not transactional: objects created
before an error stay.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from . import _validate as check
from ._errors import invalid
from ._state import Alias, Domain, ListKind, Mailbox, Store

__all__ = ["apply_seed"]


def _items(spec: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = spec.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid(f"Invalid {name}: expected an array of objects.")
    return value


def _strings(spec: Mapping[str, Any], name: str) -> list[str]:
    value = spec.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid(f"Invalid {name}: expected an array of strings.")
    return value


def _seed_mailbox(store: Store, account: str, domain_uuid: str, spec: dict[str, Any]) -> Mailbox:
    password = check.password(spec) if "password" in spec else secrets.token_urlsafe(18)
    mailbox = store.create_mailbox(
        account,
        domain_uuid=domain_uuid,
        local_part=check.local_part(spec),
        password=password,
        storage_gb=check.optional_storage_gb(spec),
    )
    enabled = check.optional_bool(spec, "enabled")
    if enabled is not None and enabled != mailbox.enabled:
        store.update_mailbox(account, mailbox.uuid, enabled=enabled, storage_gb=None)
    kinds: tuple[ListKind, ...] = ("whitelist", "blacklist")
    for kind in kinds:
        for pattern in _strings(spec, kind):
            store.add_entry(account, mailbox.uuid, kind, check.pattern({"pattern": pattern}))
    return mailbox


def _seed_alias(
    store: Store, account: str, domain: Domain, by_local: dict[str, str], spec: dict[str, Any]
) -> Alias:
    targets = [local.lower() for local in _strings(spec, "forward_to")]
    unknown = [local for local in targets if local not in by_local]
    if unknown or not targets:
        missing = unknown or "(empty)"
        raise invalid(f"Invalid forward_to: no mailbox {missing} on {domain.name}.")
    return store.create_alias(
        account,
        domain_uuid=domain.uuid,
        local_part=check.local_part(spec),
        mailbox_uuids=list(dict.fromkeys(by_local[local] for local in targets)),
    )


def apply_seed(store: Store, spec: Mapping[str, Any], default_account: str) -> dict[str, Any]:
    """Create the objects `spec` describes.

    Args:
        store: Where to create them.
        spec: The description (see the module docstring).
        default_account: The account when `spec` names none.

    Returns:
        ``{"domains": [...], "mailboxes": [...], "aliases": [...]}`` of API objects.

    Raises:
        ApiError: 400 on the first invalid or conflicting value.

    """
    account = spec.get("account", default_account)
    if not isinstance(account, str) or not account:
        raise invalid("Invalid account: expected a non-empty string.")
    created: dict[str, list[Any]] = {"domains": [], "mailboxes": [], "aliases": []}
    for domain_spec in _items(spec, "domains"):
        domain = store.create_domain(account, check.domain_name(domain_spec))
        by_local: dict[str, str] = {}
        for mailbox_spec in _items(domain_spec, "mailboxes"):
            mailbox = _seed_mailbox(store, account, domain.uuid, mailbox_spec)
            by_local[mailbox.local_part] = mailbox.uuid
            created["mailboxes"].append(mailbox.to_json())
        for alias_spec in _items(domain_spec, "aliases"):
            alias = _seed_alias(store, account, domain, by_local, alias_spec)
            created["aliases"].append(store.alias_json(alias))
        created["domains"].append(store.get_domain(account, domain.uuid).to_json())
    return created
