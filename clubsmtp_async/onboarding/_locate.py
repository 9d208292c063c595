"""Typed conversion of a tenant's plain values, with errors that say where and what.

msgspec's message (``Expected `int` >= 1 - at `$.domains[0].mailboxes[3].storage_gb```)
becomes ``domains[0].mailboxes[3].storage_gb: expected `int` >= 1, got 0``:
the place, the problem in words a tenant file's author uses, and the value given
(shortened; never a password).
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

import msgspec

from ._errors import TenantFileError
from ._spec import AliasSpec, DomainSpec, MailboxSpec, PasswordSource, TenantSpec

__all__ = ["convert_spec", "short"]

_MSGSPEC_ERROR = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")
_SOURCE_HINT = (
    'password must be { env = "VAR" } or { file = "path" }: '
    "passwords are never written in tenant files"
)
_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60


def short(value: object) -> str:
    """``repr(value)``, cut to a readable length (a message must stay one short line)."""
    return _SHORT.repr(value)


def _struct_at(steps: list[str | int]) -> type[Any]:
    """The spec type found at a path, for the list of keys it accepts."""
    names = [step for step in steps if isinstance(step, str)]
    last = names[-1] if names else None
    return {
        None: TenantSpec,
        "domains": DomainSpec,
        "mailboxes": MailboxSpec,
        "aliases": AliasSpec,
        "password": PasswordSource,
    }.get(last, TenantSpec)


def _value_at(raw: Any, steps: list[str | int]) -> tuple[bool, Any]:
    value = raw
    for step in steps:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, value


def _conversion_error(exc: msgspec.ValidationError, raw: Any, source: str) -> TenantFileError:
    """A `TenantFileError` from msgspec's message: the place, the problem, the value given."""
    match = _MSGSPEC_ERROR.match(str(exc))
    assert match is not None  # the pattern matches any text
    # Optional keys are omitted, not null (TOML has no null): "`int | null`" reads "`int`".
    problem = match.group("problem").replace(" | null`", "`")
    path = match.group("path") or ""
    steps: list[str | int] = [
        name if name else int(index) for name, index in _STEP.findall(path)
    ]
    location = path.lstrip(".") or "(top level)"
    unknown = re.match(r"Object contains unknown field `(.*)`", problem)
    if unknown:
        keys = ", ".join(f.encode_name for f in msgspec.structs.fields(_struct_at(steps)))
        return TenantFileError(source, location, f"unknown key {short(unknown.group(1))} "
                               f"(expected one of: {keys})")
    if "password" in steps:
        if steps[-1] == "password" and "got `str`" in problem:
            return TenantFileError(source, location, _SOURCE_HINT)
        return TenantFileError(source, location, problem[0].lower() + problem[1:])
    found, value = _value_at(raw, steps)
    given = ""
    if found and not isinstance(value, (dict, list)):
        given = f" ({short(value)})" if "got `" in problem else f", got {short(value)}"
    return TenantFileError(source, location, problem[0].lower() + problem[1:] + given)


def convert_spec(raw: Any, source: str) -> TenantSpec:
    """A `TenantSpec` from plain values (a decoded file, or a spec's own builtins).

    Raises:
        TenantFileError: naming the place of the first value of the wrong type or range.

    """
    try:
        return msgspec.convert(raw, TenantSpec)
    except msgspec.ValidationError as exc:
        raise _conversion_error(exc, raw, source) from None
