"""The API reference is complete: every public name and member has its own docstring."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "clubsmtp_async",
    "clubsmtp_async.onboarding",
    "clubsmtp_async.webhooks",
    "clubsmtp_async.testing",
    "clubsmtp_async.testing.pytest_plugin",
]


def _public_names() -> list[tuple[str, str]]:
    return [(package, name) for package in PACKAGES
            for name in importlib.import_module(package).__all__]


def _own_members(cls: type) -> list[tuple[str, object]]:
    """Public methods and properties the class defines (not fields, not inherited)."""
    members = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property) or inspect.isfunction(member):
            members.append((name, member))
    return members


@pytest.mark.parametrize(("package", "name"), _public_names(),
                         ids=[f"{p}.{n}" for p, n in _public_names()])
def test_every_public_name_is_documented(package: str, name: str) -> None:
    value = getattr(importlib.import_module(package), name)
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        return  # constants and type aliases carry attribute docstrings, read from the source
    if inspect.isclass(value):
        assert vars(value).get("__doc__"), f"{package}.{name}: no docstring of its own"
        for member_name, member in _own_members(value):
            assert inspect.getdoc(member), f"{package}.{name}.{member_name} has no docstring"
    else:
        assert inspect.getdoc(value), f"{package}.{name} has no docstring"


def test_each_package_has_a_reference_page() -> None:
    pages = "".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: ([\w.]+)", pages, flags=re.M))
    assert set(PACKAGES) - {"clubsmtp_async.testing.pytest_plugin"} <= documented


def test_relative_links_of_the_readme_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"
