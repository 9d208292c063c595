"""The CSV form of a tenant: one row per mailbox, and optionally one per alias.

Mailboxes CSV (a header row, columns in any order, only ``address`` required)::

    address,storage_gb,enabled,password,whitelist,blacklist
    alice@acme.example,20,true,env:ALICE_PW,*@trusted.example;boss@corp.example,
    bob@acme.example,,,,[],

Aliases CSV::

    address,forward_to
    info@acme.example,alice;bob

An empty cell is "not declared" (left as it is); ``[]`` in a list column means
"must be empty"; lists are ``;``-separated. A password cell is empty
(generated), ``env:NAME`` or ``file:PATH`` (relative to the CSV's folder):
plaintext passwords are refused, so that no password ends up in a plan, a
report or a shell history. The domains are those of the addresses, in order of
first appearance. Errors name the file and the line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import ValidationError
from ._check import check_tenant, split_address
from ._errors import TenantFileError
from ._load import read_text
from ._locate import short
from ._spec import MAX_STORAGE_GB, AliasSpec, DomainSpec, MailboxSpec, PasswordSource, TenantSpec

__all__ = ["ALIAS_COLUMNS", "MAILBOX_COLUMNS", "load_csv"]

MAILBOX_COLUMNS = ("address", "storage_gb", "enabled", "password", "whitelist", "blacklist")
"""The columns of a mailboxes CSV (``address`` is required)."""
ALIAS_COLUMNS = ("address", "forward_to")
"""The columns of an aliases CSV (both required)."""

_DIGITS = re.compile(r"[0-9]+\Z")
_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})
_EMPTY_LIST = "[]"
_SPEC_REFERENCE = re.compile(r"domains\[\d+\](?:\.(?:mailboxes|aliases)\[\d+\])?")
_SPEC_PATH = re.compile(r"^(domains\[\d+\](?:\.(?:mailboxes|aliases)\[\d+\])?)(.*)$")
_FIELD_TO_COLUMN = {
    "local_part": "address", "name": "address", "storage_gb": "storage_gb",
    "enabled": "enabled", "password": "password", "whitelist": "whitelist",
    "blacklist": "blacklist", "forward_to": "forward_to",
}


@dataclass
class _Row:
    file: Path
    line: int
    cells: dict[str, str]

    def fail(self, column: str, problem: str) -> TenantFileError:
        where = f"line {self.line}, {column}" if column else f"line {self.line}"
        return TenantFileError(str(self.file), where, problem)


@dataclass
class _Domain:
    mailboxes: list[tuple[_Row, MailboxSpec]] = field(default_factory=list)
    aliases: list[tuple[_Row, AliasSpec]] = field(default_factory=list)
    first: _Row | None = None


def _rows(path: Path, columns: tuple[str, ...], required: tuple[str, ...]) -> list[_Row]:
    lines = read_text(path).splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as exc:
        raise TenantFileError(str(path), "line 1", f"not valid CSV: {exc}") from None
    for name in header:
        if name not in columns:
            raise TenantFileError(str(path), "line 1", f"unknown column {short(name)} "
                                  f"(expected: {', '.join(columns)})")
    for name in required:
        if name not in header:
            raise TenantFileError(str(path), "line 1", f"the header has no {name!r} column "
                                  f"(expected: {', '.join(columns)})")
    if len(set(header)) != len(header):
        raise TenantFileError(str(path), "line 1", "a column is named twice")
    rows = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            row = _Row(path, reader.line_num, {})
            if len(cells) > len(header):
                raise row.fail("", f"{len(cells)} cells, but the header names {len(header)}")
            row.cells = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
            rows.append(row)
    except csv.Error as exc:
        where = f"line {reader.line_num}"
        raise TenantFileError(str(path), where, f"not valid CSV: {exc}") from None
    return rows


def _address(row: _Row) -> tuple[str, str]:
    try:
        return split_address(row.cells.get("address", ""), "address")
    except ValidationError as exc:
        raise row.fail("address", str(exc)) from None


def _storage(row: _Row) -> int | None:
    cell = row.cells.get("storage_gb", "")
    if not cell:
        return None
    if not _DIGITS.match(cell) or not 1 <= int(cell) <= MAX_STORAGE_GB:
        raise row.fail("storage_gb", "expected a whole number of GB from 1 to "
                       f"{MAX_STORAGE_GB}, got {short(cell)}")
    return int(cell)


def _enabled(row: _Row) -> bool | None:
    cell = row.cells.get("enabled", "").lower()
    if not cell:
        return None
    if cell not in _TRUE | _FALSE:
        raise row.fail("enabled", f"expected true or false, got {short(cell)}")
    return cell in _TRUE


def _password(row: _Row) -> PasswordSource | None:
    cell = row.cells.get("password", "")
    if not cell:
        return None
    kind, _, value = cell.partition(":")
    if kind == "env" and value:
        return PasswordSource(env=value)
    if kind == "file" and value:
        return PasswordSource(file=value)
    # Never quote the cell: it may be a plaintext password.
    raise row.fail(
        "password", "expected an empty cell (generated), env:NAME or file:PATH; "
        "plaintext passwords are not accepted in tenant files"
    )


def _list(row: _Row, column: str) -> tuple[str, ...] | None:
    cell = row.cells.get(column, "")
    if not cell:
        return None
    if cell == _EMPTY_LIST:
        return ()
    items = tuple(item.strip() for item in cell.split(";") if item.strip())
    if not items:  # only separators: a typo, not "must be empty" (that is [])
        raise row.fail(column, f"no pattern in {short(cell)}: write {_EMPTY_LIST} for "
                       "\"must be empty\", or leave the cell empty to leave the list as it is")
    return items


def _collect_mailboxes(path: Path, domains: dict[str, _Domain]) -> None:
    for row in _rows(path, MAILBOX_COLUMNS, ("address",)):
        local, name = _address(row)
        mailbox = MailboxSpec(
            local_part=local, storage_gb=_storage(row), enabled=_enabled(row),
            password=_password(row), whitelist=_list(row, "whitelist"),
            blacklist=_list(row, "blacklist"),
        )
        domain = domains.setdefault(name, _Domain())
        domain.first = domain.first or row
        domain.mailboxes.append((row, mailbox))


def _collect_aliases(path: Path, domains: dict[str, _Domain]) -> None:
    for row in _rows(path, ALIAS_COLUMNS, ALIAS_COLUMNS):
        local, name = _address(row)
        targets = _list(row, "forward_to")
        if not targets:
            raise row.fail("forward_to", "an alias forwards to at least one mailbox")
        domain = domains.setdefault(name, _Domain())
        domain.first = domain.first or row
        domain.aliases.append((row, AliasSpec(local_part=local, forward_to=targets)))


def _relocate(error: TenantFileError, rows: dict[str, _Row]) -> TenantFileError:
    """The error with its spec paths (its place, and any in its text) as CSV lines."""
    match = _SPEC_PATH.match(error.location)
    row = rows.get(match.group(1)) if match else None
    if match is None or row is None:
        return error

    def line_of(found: re.Match[str]) -> str:
        other = rows.get(found.group(0))
        if other is None:
            return found.group(0)
        return f"line {other.line}" + ("" if other.file == row.file else f" of {other.file}")

    problem = _SPEC_REFERENCE.sub(line_of, error.problem)
    field_name = match.group(2).lstrip(".").partition(".")[0].partition("[")[0]
    column = _FIELD_TO_COLUMN.get(field_name, field_name or "address")
    return row.fail(column, problem)


def load_csv(
    path: Path, *, aliases: Path | None = None, environ: Mapping[str, str] | None = None,
    check_sources: bool = True,
) -> TenantSpec:
    """A `TenantSpec` from a mailboxes CSV and an optional aliases CSV.

    Raises:
        TenantFileError: naming the CSV file, the line and the column.

    """
    domains: dict[str, _Domain] = {}
    _collect_mailboxes(path, domains)
    if aliases is not None:
        _collect_aliases(aliases, domains)
    if not domains:
        raise TenantFileError(str(path), "", "the file declares no mailbox (one row per "
                              "mailbox after the header)")
    rows: dict[str, _Row] = {}
    specs = []
    for i, (name, domain) in enumerate(domains.items()):
        assert domain.first is not None  # a domain exists because a row named it
        rows[f"domains[{i}]"] = domain.first
        for j, (row, _) in enumerate(domain.mailboxes):
            rows[f"domains[{i}].mailboxes[{j}]"] = row
        for j, (row, _) in enumerate(domain.aliases):
            rows[f"domains[{i}].aliases[{j}]"] = row
        specs.append(DomainSpec(
            name=name,
            mailboxes=tuple(m for _, m in domain.mailboxes),
            aliases=tuple(a for _, a in domain.aliases),
        ))
    try:
        return check_tenant(
            TenantSpec(domains=tuple(specs)), source=str(path), base_dir=path.parent,
            environ=environ, check_sources=check_sources,
        )
    except TenantFileError as error:
        raise _relocate(error, rows) from None
