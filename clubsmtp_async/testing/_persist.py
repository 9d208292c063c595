"""The emulator's state file: everything a restart needs, saved atomically, loaded whole.

The file is JSON with a format name and version::

    {"format": "clubsmtp-emulator-state", "version": 1, "saved_at": "...",
     "domains": [...], "mailboxes": [...], "aliases": [...], "keys": [...],
     "webhook_endpoints": [...], "pending_deliveries": [...]}

Objects keep their UUIDs, timestamps and DNS statuses; mailboxes keep their
password *hash* and salt (never a password); keys and webhook endpoints keep
their secrets, so the file is created readable by its owner only (0600).

Saving writes a temporary file in the same directory, fsyncs it, and renames it
over the old one (`os.replace`): a reader, or a crash, sees the old file or the
new one, never half of one. Loading decodes and checks the whole file first
(types, then every reference and uniqueness rule) and changes nothing unless
all of it is good; a damaged file raises `StateFileError` naming the file and
the first problem, with its JSON path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from . import _validate as check
from ._endpoints import Delivery, WebhookEndpoint
from ._errors import ApiError
from ._events import WebhookEvent
from ._keys import ApiKey
from ._state import DNS_RECORD_TYPES, Alias, DnsRecord, Domain, ListEntry, Mailbox

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["STATE_FORMAT", "STATE_VERSION", "StateFileError", "encode_state", "load_state",
           "write_atomically"]

STATE_FORMAT = "clubsmtp-emulator-state"
STATE_VERSION = 1

_PositiveInt = Annotated[int, msgspec.Meta(ge=1)]


class StateFileError(ValueError):
    """The state file cannot be loaded: the message names the file and the problem."""


class _Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _DnsRecord(_Base):
    uuid: str
    record_type: str
    status: int
    expected_value: str | None = None
    actual_value: str | None = None
    last_checked_at: datetime | None = None


class _Domain(_Base):
    uuid: str
    account: str
    name: str
    created_at: datetime
    dns_records: list[_DnsRecord]


class _Entry(_Base):
    uuid: str
    pattern: str
    created_at: datetime


class _Mailbox(_Base):
    uuid: str
    account: str
    domain_uuid: str
    local_part: str
    password_salt: bytes
    password_hash: bytes
    storage_gb: _PositiveInt
    enabled: bool
    created_at: datetime
    updated_at: datetime
    whitelist: list[_Entry] = []
    blacklist: list[_Entry] = []


class _Alias(_Base):
    uuid: str
    account: str
    domain_uuid: str
    local_part: str
    mailbox_uuids: list[str]
    created_at: datetime
    updated_at: datetime


class _Key(_Base):
    token: str
    account: str
    scopes: list[str]
    cidrs: list[str]
    requests_per_minute: Annotated[float, msgspec.Meta(gt=0)]
    burst: _PositiveInt
    expires_at: datetime | None = None


class _Endpoint(_Base):
    id: str
    url: str
    secret: str
    account: str
    events: list[str] | None = None


class _Event(_Base):
    id: str
    type: str
    created: int
    account: str
    object: dict[str, Any]


class _Pending(_Base):
    endpoint_id: str
    event: _Event


class _StateFile(_Base):
    format: Literal["clubsmtp-emulator-state"]
    version: Literal[1]
    saved_at: datetime
    domains: list[_Domain] = []
    mailboxes: list[_Mailbox] = []
    aliases: list[_Alias] = []
    keys: list[_Key] = []
    webhook_endpoints: list[_Endpoint] = []
    pending_deliveries: list[_Pending] = []


# Saving


def encode_state(emulator: Emulator) -> bytes:
    """The emulator's state as the file's bytes (a consistent snapshot: call it on the loop)."""
    store = emulator.store
    saved_endpoints = {e.id for e in emulator.webhooks.endpoints if e.app is None}
    state = _StateFile(
        format="clubsmtp-emulator-state",
        version=1,
        saved_at=datetime.now(timezone.utc),
        domains=[_domain_state(d) for d in store.domains.values()],
        mailboxes=[_mailbox_state(m) for m in store.mailboxes.values()],
        aliases=[_Alias(uuid=a.uuid, account=a.account, domain_uuid=a.domain_uuid,
                        local_part=a.local_part, mailbox_uuids=list(a.mailbox_uuids),
                        created_at=a.created_at, updated_at=a.updated_at)
                 for a in store.aliases.values()],
        keys=[_Key(token=k.token, account=k.account, scopes=list(k.scopes), cidrs=list(k.cidrs),
                   expires_at=k.expires_at, requests_per_minute=k.requests_per_minute,
                   burst=k.burst) for k in emulator.keys],
        webhook_endpoints=[
            _Endpoint(id=e.id, url=e.url, secret=e.secret, account=e.account,
                      events=None if e.event_types is None else sorted(e.event_types))
            for e in emulator.webhooks.endpoints if e.app is None
        ],
        pending_deliveries=[
            _Pending(endpoint_id=d.endpoint_id,
                     event=_Event(id=d.event.id, type=d.event.type, created=d.event.created,
                                  account=d.event.account, object=d.event.object))
            for d in emulator.webhooks.pending_deliveries()
            if d.endpoint_id in saved_endpoints
        ],
    )
    return msgspec.json.format(msgspec.json.encode(state), indent=1)


def _domain_state(domain: Domain) -> _Domain:
    return _Domain(
        uuid=domain.uuid, account=domain.account, name=domain.name, created_at=domain.created_at,
        dns_records=[_DnsRecord(uuid=r.uuid, record_type=r.record_type, status=r.status,
                                expected_value=r.expected_value, actual_value=r.actual_value,
                                last_checked_at=r.last_checked_at) for r in domain.dns_records],
    )


def _mailbox_state(mailbox: Mailbox) -> _Mailbox:
    def entries(table: dict[str, ListEntry]) -> list[_Entry]:
        return [_Entry(uuid=e.uuid, pattern=e.pattern, created_at=e.created_at)
                for e in table.values()]

    return _Mailbox(
        uuid=mailbox.uuid, account=mailbox.account, domain_uuid=mailbox.domain_uuid,
        local_part=mailbox.local_part, password_salt=mailbox.password_salt,
        password_hash=mailbox.password_hash, storage_gb=mailbox.storage_gb,
        enabled=mailbox.enabled, created_at=mailbox.created_at, updated_at=mailbox.updated_at,
        whitelist=entries(mailbox.whitelist), blacklist=entries(mailbox.blacklist),
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file (0600) in the same directory, fsync, rename.

    Raises:
        OSError: if the directory is not writable or the disk is full (the old
            file, if any, is left as it was).

    """
    directory = path.parent
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# Loading


@dataclass(frozen=True)
class _Restored:
    domains: list[Domain]
    mailboxes: list[Mailbox]
    aliases: list[Alias]
    keys: list[ApiKey]
    endpoints: list[WebhookEndpoint]
    pending: list[Delivery]


def load_state(emulator: Emulator, path: Path) -> None:
    """Replace the emulator's objects, keys and webhook endpoints with the file's.

    Raises:
        StateFileError: if the file cannot be read or is damaged; the emulator
            is then unchanged.

    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read state file {path}: {exc.strerror or exc}") from None
    _check_header(raw, path)
    try:
        state = msgspec.json.decode(raw, type=_StateFile)
    except msgspec.ValidationError as exc:
        raise StateFileError(f"state file {path} is damaged: {exc}") from None
    try:
        restored = _rebuild(state)
    except (ValueError, ApiError) as exc:
        raise StateFileError(f"state file {path} is damaged: {_message(exc)}") from None
    emulator.restore(domains=restored.domains, mailboxes=restored.mailboxes,
                     aliases=restored.aliases, keys=restored.keys,
                     endpoints=restored.endpoints, pending=restored.pending)


class _Header(msgspec.Struct):
    format: Any = None
    version: Any = None


def _check_header(raw: bytes, path: Path) -> None:
    try:
        header = msgspec.json.decode(raw, type=_Header)
    except msgspec.ValidationError as exc:
        raise StateFileError(f"{path} is not an emulator state file ({exc})") from None
    except msgspec.DecodeError as exc:
        raise StateFileError(f"state file {path} is not valid JSON: {exc}") from None
    if header.format != STATE_FORMAT:
        raise StateFileError(f"{path} is not an emulator state file (no \"format\": "
                             f"\"{STATE_FORMAT}\")")
    if header.version != STATE_VERSION:
        raise StateFileError(f"state file {path} has version {header.version!r}; this "
                             f"emulator reads version {STATE_VERSION}")


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApiError) else str(exc)


def _at(where: str, exc: Exception) -> ValueError:
    return ValueError(f"{_message(exc)} - at `{where}`")


def _uuid(value: str, where: str, seen: set[str]) -> str:
    try:
        uuid = check.uuid_value(value, "UUID")
    except ApiError as exc:
        raise _at(where, exc) from None
    if uuid in seen:
        raise ValueError(f"duplicate UUID {uuid} - at `{where}`")
    seen.add(uuid)
    return uuid


def _rebuild(state: _StateFile) -> _Restored:
    seen: set[str] = set()
    domains = [_rebuild_domain(d, f"$.domains[{i}]", seen) for i, d in enumerate(state.domains)]
    by_uuid = {d.uuid: d for d in domains}
    if len({d.name for d in domains}) != len(domains):
        raise ValueError("two domains have the same name - at `$.domains`")
    addresses: set[tuple[str, str]] = set()
    mailboxes = [_rebuild_mailbox(m, f"$.mailboxes[{i}]", seen, by_uuid, addresses)
                 for i, m in enumerate(state.mailboxes)]
    mailbox_by_uuid = {m.uuid: m for m in mailboxes}
    aliases = [_rebuild_alias(a, f"$.aliases[{i}]", seen, by_uuid, addresses, mailbox_by_uuid)
               for i, a in enumerate(state.aliases)]
    keys = []
    for i, key in enumerate(state.keys):
        try:
            keys.append(ApiKey(token=key.token, account=key.account, scopes=tuple(key.scopes),
                               cidrs=tuple(key.cidrs), expires_at=key.expires_at,
                               requests_per_minute=key.requests_per_minute, burst=key.burst))
        except ValueError as exc:
            raise _at(f"$.keys[{i}]", exc) from None
    endpoints = _rebuild_endpoints(state)
    pending = [Delivery(p.endpoint_id, WebhookEvent(**msgspec.structs.asdict(p.event)))
               for p in state.pending_deliveries]
    known = {e.id for e in endpoints}
    for i, delivery in enumerate(pending):
        if delivery.endpoint_id not in known:
            raise ValueError(f"unknown endpoint {delivery.endpoint_id} - "
                             f"at `$.pending_deliveries[{i}].endpoint_id`")
    return _Restored(domains=domains, mailboxes=mailboxes, aliases=aliases, keys=keys,
                     endpoints=endpoints, pending=pending)


def _rebuild_endpoints(state: _StateFile) -> list[WebhookEndpoint]:
    endpoints: list[WebhookEndpoint] = []
    for i, e in enumerate(state.webhook_endpoints):
        if any(other.id == e.id for other in endpoints):
            raise ValueError(f"duplicate endpoint id {e.id} - at `$.webhook_endpoints[{i}]`")
        try:
            endpoints.append(WebhookEndpoint.create(e.url, secret=e.secret, account=e.account,
                                                    event_types=e.events, id=e.id))
        except ValueError as exc:
            raise _at(f"$.webhook_endpoints[{i}]", exc) from None
    return endpoints


def _rebuild_domain(spec: _Domain, where: str, seen: set[str]) -> Domain:
    uuid = _uuid(spec.uuid, f"{where}.uuid", seen)
    try:
        name = check.domain_name({"name": spec.name})
    except ApiError as exc:
        raise _at(f"{where}.name", exc) from None
    if [r.record_type for r in spec.dns_records] != list(DNS_RECORD_TYPES):
        raise ValueError(f"expected the six DNS records {', '.join(DNS_RECORD_TYPES)} "
                         f"- at `{where}.dns_records`")
    records = [
        DnsRecord(_uuid(r.uuid, f"{where}.dns_records[{j}].uuid", seen), r.record_type, r.status,
                  r.expected_value, r.actual_value, r.last_checked_at)
        for j, r in enumerate(spec.dns_records)
    ]
    return Domain(uuid, _account(spec.account, where), name, spec.created_at, records)


def _account(account: str, where: str) -> str:
    if not account:
        raise ValueError(f"the account must not be empty - at `{where}.account`")
    return account


def _owner(by_uuid: dict[str, Domain], uuid: str, account: str, where: str) -> Domain:
    domain = by_uuid.get(uuid.lower())
    if domain is None or domain.account != account:
        raise ValueError(f"no domain {uuid} in account {account} - at `{where}.domain_uuid`")
    return domain


def _local_part(value: str, where: str) -> str:
    try:
        return check.local_part({"local_part": value})
    except ApiError as exc:
        raise _at(f"{where}.local_part", exc) from None


def _claim(addresses: set[tuple[str, str]], domain: Domain, local: str, where: str) -> None:
    if (domain.uuid, local) in addresses:
        raise ValueError(f"address {local}@{domain.name} is used twice - at `{where}`")
    addresses.add((domain.uuid, local))


def _rebuild_mailbox(spec: _Mailbox, where: str, seen: set[str], by_uuid: dict[str, Domain],
                     addresses: set[tuple[str, str]]) -> Mailbox:
    uuid = _uuid(spec.uuid, f"{where}.uuid", seen)
    domain = _owner(by_uuid, spec.domain_uuid, spec.account, where)
    local = _local_part(spec.local_part, where)
    _claim(addresses, domain, local, where)
    if len(spec.password_hash) != 32 or not spec.password_salt:
        raise ValueError(f"not a PBKDF2-SHA256 hash and salt - at `{where}.password_hash`")

    def entries(items: list[_Entry], kind: str) -> dict[str, ListEntry]:
        table: dict[str, ListEntry] = {}
        for j, e in enumerate(items):
            entry_uuid = _uuid(e.uuid, f"{where}.{kind}[{j}].uuid", seen)
            try:
                pattern = check.pattern({"pattern": e.pattern})
            except ApiError as exc:
                raise _at(f"{where}.{kind}[{j}].pattern", exc) from None
            table[entry_uuid] = ListEntry(entry_uuid, pattern, e.created_at)
        return table

    return Mailbox(
        uuid=uuid, account=spec.account, domain_uuid=domain.uuid, domain=domain.name,
        local_part=local, password_salt=spec.password_salt, password_hash=spec.password_hash,
        storage_gb=spec.storage_gb, enabled=spec.enabled, created_at=spec.created_at,
        updated_at=spec.updated_at, whitelist=entries(spec.whitelist, "whitelist"),
        blacklist=entries(spec.blacklist, "blacklist"),
    )


def _rebuild_alias(spec: _Alias, where: str, seen: set[str], by_uuid: dict[str, Domain],
                   addresses: set[tuple[str, str]], mailboxes: dict[str, Mailbox]) -> Alias:
    uuid = _uuid(spec.uuid, f"{where}.uuid", seen)
    domain = _owner(by_uuid, spec.domain_uuid, spec.account, where)
    local = _local_part(spec.local_part, where)
    _claim(addresses, domain, local, where)
    targets = [target.lower() for target in spec.mailbox_uuids]
    for j, target in enumerate(targets):
        mailbox = mailboxes.get(target)
        if mailbox is None or mailbox.account != spec.account:
            raise ValueError(f"no mailbox {target} in account {spec.account} "
                             f"- at `{where}.mailbox_uuids[{j}]`")
    return Alias(uuid, spec.account, domain.uuid, domain.name, local, targets,
                 spec.created_at, spec.updated_at)

