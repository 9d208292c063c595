"""`clubsmtp_async.onboarding.__all__` is pinned, sorted, importable and documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import clubsmtp_async.onboarding as onboarding

PUBLIC = sorted([
    "ALIAS_COLUMNS", "DUMP_FORMATS", "FORMATS", "LAYERS", "MAILBOX_COLUMNS", "SCHEMA_PATH",
    "Action", "ActionOutcome", "AddListEntry", "AliasSpec", "AliasTarget", "ApplyProgress",
    "ApplyReport", "CreateAlias", "CreateDomain", "CreateMailbox", "DeleteAlias",
    "DeleteDomain", "DeleteMailbox", "DomainSpec", "GeneratedPasswords", "LiveAccount",
    "MailboxSpec", "OnboardingError", "PasswordCallback", "PasswordFile", "PasswordSource",
    "PasswordStatus",
    "Plan", "PlanError", "PlanFileError", "PlanSummary", "ProgressCallback", "RemoveListEntry",
    "ReplaceAlias", "TenantFileError", "TenantSpec", "UpdateMailbox", "apply", "check_tenant",
    "diff", "dump_tenant", "error_json", "eta_text", "export", "generate_password", "load_tenant",
    "parse_tenant", "plan", "read_account", "tenant_schema",
])
MODULES = sorted(
    f"clubsmtp_async.onboarding.{info.name}"
    for info in pkgutil.iter_modules(onboarding.__path__)
)
NOT_DOCUMENTED_BY_OBJECT = {"ALIAS_COLUMNS", "DUMP_FORMATS", "FORMATS", "LAYERS",
                            "MAILBOX_COLUMNS", "SCHEMA_PATH", "Action", "PasswordCallback",
                            "PasswordStatus",
                            "ProgressCallback"}


def test_all_is_pinned_and_sorted() -> None:
    assert onboarding.__all__ == PUBLIC


def test_all_is_complete() -> None:
    bound = {name for name, value in vars(onboarding).items()
             if not name.startswith("_") and not inspect.ismodule(value)
             and name != "annotations"}
    assert bound == set(PUBLIC)


@pytest.mark.parametrize("name", sorted(set(PUBLIC) - NOT_DOCUMENTED_BY_OBJECT))
def test_every_name_is_documented(name: str) -> None:
    value = getattr(onboarding, name)
    assert inspect.getdoc(value), name
    if inspect.isclass(value):
        assert vars(value).get("__doc__"), f"{name}: docstring inherited"
        for member_name, member in vars(value).items():
            if not member_name.startswith("_") and inspect.isfunction(member):
                assert inspect.getdoc(member), f"{name}.{member_name}"


@pytest.mark.parametrize("module_name", MODULES)
def test_modules_declare_a_sorted_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    assert module.__all__ == sorted(module.__all__)
    for attribute in module.__all__:
        assert hasattr(module, attribute), attribute


def test_the_core_package_does_not_import_onboarding() -> None:
    import subprocess
    import sys

    code = "import sys, clubsmtp_async; print('clubsmtp_async.onboarding' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "False"
