"""Tenant files: TOML, YAML or JSON (and CSV, in `_csv`) decoded into one `TenantSpec`.

Each format is a thin parser into plain values; msgspec then converts them into
the typed specs, and `check_tenant` validates what types alone cannot. Every
problem becomes one `TenantFileError` naming the file, the place and what is
wrong, before anything is sent.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from ._check import check_tenant
from ._errors import TenantFileError
from ._locate import convert_spec, short
from ._spec import TenantSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["FORMATS", "load_tenant", "parse_tenant", "read_text"]

FORMATS = ("toml", "yaml", "json", "csv")
"""The tenant file formats, as `format=` names them."""

_SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".csv": "csv"}


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


def _strict_yaml_loader(yaml: Any) -> type[Any]:
    """PyYAML's safe loader, refusing repeated keys and aliases (``*name``).

    A repeated key would silently keep its last value; aliases let a few
    kilobytes expand into millions of entries, and a tenant file needs neither.
    """

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.MarkedYAMLError(
                    None, None, "aliases (*name) are not supported in tenant files",
                    event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, str) and key in seen:
                    raise yaml.MarkedYAMLError(
                        None, None, f"the key {short(key)} appears twice", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _parse_yaml(text: str, source: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped,unused-ignore]
    except ModuleNotFoundError:
        raise TenantFileError(
            source, "", "YAML tenant files need PyYAML: pip install 'clubsmtp-async[onboarding]'"
        ) from None
    try:
        return yaml.load(text, Loader=_strict_yaml_loader(yaml))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise TenantFileError(source, "", f"not valid YAML{where}: {problem}") from None


class _RepeatedKey(ValueError):
    pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


def _parse_json(text: str, source: str) -> Any:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        match = re.search(r"\(byte (\d+)\)", str(exc))
        where = f" at {_line_col(text, int(match.group(1)))}" if match else ""
        problem = re.sub(r"\s*\(byte \d+\)", "", str(exc))
        raise TenantFileError(source, "", f"not valid JSON{where}: {problem}") from None
    # msgspec keeps the last of repeated keys; the standard parser can say which repeats.
    try:
        json.loads(text, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as exc:
        raise TenantFileError(source, "", f"not valid: the key {short(exc.args[0])} appears "
                              "twice in one object") from None
    return value


_PARSERS: Mapping[str, Callable[[str, str], Any]] = {
    "toml": _parse_toml,
    "yaml": _parse_yaml,
    "json": _parse_json,
}


def _convert(raw: Any, source: str) -> TenantSpec:
    if not isinstance(raw, dict):
        what = "empty" if raw is None else f"a {type(raw).__name__}"
        raise TenantFileError(source, "", f"expected a table of domains at the top, got {what}")
    spec = convert_spec(raw, source)
    if not spec.domains:
        raise TenantFileError(source, "", "the file declares no domain (a tenant file lists "
                              "at least one [[domains]] entry)")
    return spec


def parse_tenant(
    text: str,
    format: str,
    *,
    source: str = "<string>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    check_sources: bool = True,
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
        check_sources: Check that password variables are set and files exist
            (False where the file is only passed on, e.g. to a worker elsewhere).

    Raises:
        TenantFileError: for the first problem, with its place.

    """
    parser = _PARSERS.get(format)
    if parser is None:
        raise TenantFileError(source, "", f"unknown format {format!r}: use toml, yaml or json")
    try:
        spec = _convert(parser(text, source), source)
    except RecursionError:  # deeper than any parser or converter goes: no tenant nests so
        raise TenantFileError(source, "", "not a tenant file: nested too deeply") from None
    return check_tenant(spec, source=source, base_dir=base_dir, environ=environ,
                        check_sources=check_sources)


def load_tenant(
    path: str | os.PathLike[str],
    *,
    aliases: str | os.PathLike[str] | None = None,
    format: str | None = None,
    environ: Mapping[str, str] | None = None,
    check_sources: bool = True,
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
        check_sources: Check that password variables are set and files exist.

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

        return load_csv(file, aliases=None if aliases is None else Path(aliases), environ=environ,
                        check_sources=check_sources)
    if aliases is not None:
        raise TenantFileError(str(file), "", "an aliases CSV goes with a mailboxes CSV only")
    return parse_tenant(
        read_text(file), kind, source=str(file), base_dir=file.parent, environ=environ,
        check_sources=check_sources,
    )
