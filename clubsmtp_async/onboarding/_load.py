"""Tenant files: TOML, YAML or JSON (and CSV, in `_csv`) decoded into one `TenantSpec`.

Each format is a thin parser into plain values; msgspec then converts them into
the typed specs, and `check_tenant` validates what types alone cannot. Every
problem becomes one `TenantFileError` naming the file, the place and what is
wrong, before anything is sent.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from ._check import check_tenant
from ._errors import TenantFileError
from ._spec import AliasSpec, DomainSpec, MailboxSpec, PasswordSource, TenantSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["FORMATS", "load_tenant", "parse_tenant", "read_text"]

FORMATS = ("toml", "yaml", "json", "csv")
"""The tenant file formats, as `format=` names them."""

_SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "csv"}
_MSGSPEC_ERROR = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")
_SOURCE_HINT = (
    'password must be { env = "VAR" } or { file = "path" }: '
    "passwords are never written in tenant files"
)


def read_text(path: Path) -> str:
    """The file's text (UTF-8, with or without a byte-order mark).

    Raises:
        TenantFileError: if it cannot be read or is not UTF-8.

    """
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise TenantFileError(str(path), "", f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TenantFileError(
            str(path), "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None


def _line_col(text: str, offset: int) -> str:
    before = text[:offset]
    return f"line {before.count(chr(10)) + 1}, column {offset - before.rfind(chr(10))}"


def _parse_toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TenantFileError(source, "", f"not valid TOML: {exc}") from None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ModuleNotFoundError:
        raise TenantFileError(
            source, "", "YAML tenant files need PyYAML: pip install 'clubsmtp-async[onboarding]'"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise TenantFileError(source, "", f"not valid YAML{where}: {problem}") from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        match = re.search(r"\(byte (\d+)\)", str(exc))
        where = f" at {_line_col(text, int(match.group(1)))}" if match else ""
        problem = re.sub(r"\s*\(byte \d+\)", "", str(exc))
        raise TenantFileError(source, "", f"not valid JSON{where}: {problem}") from None


_PARSERS: Mapping[str, Callable[[str, str], Any]] = {
    "toml": _parse_toml,
    "yaml": _parse_yaml,
    "json": _parse_json,
}


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
        return TenantFileError(source, location, f"unknown key {unknown.group(1)!r} "
                               f"(expected one of: {keys})")
    if "password" in steps:
        if steps[-1] == "password" and "got `str`" in problem:
            return TenantFileError(source, location, _SOURCE_HINT)
        return TenantFileError(source, location, problem[0].lower() + problem[1:])
    found, value = _value_at(raw, steps)
    given = ""
    if found and not isinstance(value, (dict, list)):
        given = f" ({value!r})" if "got `" in problem else f", got {value!r}"
    return TenantFileError(source, location, problem[0].lower() + problem[1:] + given)


def _convert(raw: Any, source: str) -> TenantSpec:
    if not isinstance(raw, dict):
        what = "empty" if raw is None else f"a {type(raw).__name__}"
        raise TenantFileError(source, "", f"expected a table of domains at the top, got {what}")
    try:
        return msgspec.convert(raw, TenantSpec)
    except msgspec.ValidationError as exc:
        raise _conversion_error(exc, raw, source) from None


def parse_tenant(
    text: str,
    format: str,
    *,
    source: str = "<string>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> TenantSpec:
    r"""Decode, validate and normalise a tenant file's text.

    Example:
        ```python
        spec = parse_tenant('[[domains]]\\nname = "acme.example"\\n', "toml")
        ```

    Args:
        text: The file's content.
        format: ``"toml"``, ``"yaml"`` or ``"json"`` (CSV has `load_tenant`).
        source: What to call it in error messages.
        base_dir: The folder relative password files are in (default: the current one).
        environ: Where ``{ env = ... }`` is looked up (default: `os.environ`).

    Raises:
        TenantFileError: for the first problem, with its place.

    """
    parser = _PARSERS.get(format)
    if parser is None:
        raise TenantFileError(source, "", f"unknown format {format!r}: use toml, yaml or json")
    spec = _convert(parser(text, source), source)
    return check_tenant(spec, source=source, base_dir=base_dir, environ=environ)


def load_tenant(
    path: str | os.PathLike[str],
    *,
    aliases: str | os.PathLike[str] | None = None,
    format: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> TenantSpec:
    """Read a tenant file: TOML, YAML, JSON, or a mailboxes CSV.

    Example:
        ```python
        spec = load_tenant("tenant.toml")
        spec = load_tenant("mailboxes.csv", aliases="aliases.csv")
        ```

    Args:
        path: The file; its suffix gives the format unless `format` is set.
        aliases: With a mailboxes CSV, an optional aliases CSV (``address,forward_to``).
        format: ``"toml"``, ``"yaml"``, ``"json"`` or ``"csv"``.
        environ: Where ``{ env = ... }`` is looked up (default: `os.environ`).

    Returns:
        The validated, normalised spec.

    Raises:
        TenantFileError: naming the file, the place and the problem; nothing is sent.

    """
    file = Path(path)
    kind = format or _SUFFIXES.get(file.suffix.lower())
    if kind not in FORMATS:
        raise TenantFileError(
            str(file), "", "unknown format: name it .toml, .yaml, .json or .csv, or pass format="
        )
    if kind == "csv":
        from ._csv import load_csv

        return load_csv(file, aliases=None if aliases is None else Path(aliases), environ=environ)
    if aliases is not None:
        raise TenantFileError(str(file), "", "an aliases CSV goes with a mailboxes CSV only")
    return parse_tenant(
        read_text(file), kind, source=str(file), base_dir=file.parent, environ=environ
    )
