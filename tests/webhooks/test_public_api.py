"""`clubsmtp_async.webhooks.__all__` is pinned, sorted, importable and documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import clubsmtp_async.webhooks as webhooks

PUBLIC = [
    "AliasCreated",
    "AliasDeleted",
    "AliasEvent",
    "BaseEvent",
    "DEFAULT_TOLERANCE",
    "DomainCreated",
    "DomainDeleted",
    "DomainDnsStatusChanged",
    "DomainEvent",
    "EVENT_TYPES",
    "Event",
    "EventData",
    "InviteAccepted",
    "InviteCreated",
    "InviteEvent",
    "InviteExpired",
    "InvoiceCreated",
    "InvoiceEvent",
    "InvoicePaid",
    "KnownEvent",
    "MailboxCreated",
    "MailboxDeleted",
    "MailboxDisabled",
    "MailboxEnabled",
    "MailboxEvent",
    "MailboxUpdated",
    "StandardWebhooksVerifier",
    "UnknownEvent",
    "Verifier",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "parse_event",
    "sign",
    "verify",
]
MODULES = sorted(
    f"clubsmtp_async.webhooks.{info.name}" for info in pkgutil.iter_modules(webhooks.__path__)
)
NOT_DOCUMENTED_BY_OBJECT = {"DEFAULT_TOLERANCE", "EVENT_TYPES", "Event", "KnownEvent"}


def test_all_is_pinned_and_sorted() -> None:
    assert webhooks.__all__ == PUBLIC
    assert len(set(PUBLIC)) == len(PUBLIC)
    assert webhooks.__all__ == sorted(webhooks.__all__)


def test_all_is_complete() -> None:
    bound = {name for name, value in vars(webhooks).items()
             if not name.startswith("_") and not inspect.ismodule(value)
             and name != "annotations"}
    assert bound == set(PUBLIC)
    namespace: dict[str, object] = {}
    exec("from clubsmtp_async.webhooks import *", namespace)
    assert set(PUBLIC) <= set(namespace)


@pytest.mark.parametrize("name", sorted(set(PUBLIC) - NOT_DOCUMENTED_BY_OBJECT))
def test_every_name_is_documented(name: str) -> None:
    value = getattr(webhooks, name)
    assert inspect.getdoc(value), name
    if inspect.isclass(value):
        assert vars(value).get("__doc__"), f"{name}: docstring inherited"
        assert value.__module__.startswith("clubsmtp_async.webhooks.")
        for member_name, member in vars(value).items():
            if not member_name.startswith("_") and callable(member):
                assert inspect.getdoc(member), f"{name}.{member_name}"


def test_package_docstring() -> None:
    assert webhooks.__doc__
    assert "assumes Standard Webhooks" in webhooks.__doc__


@pytest.mark.parametrize("module_name", MODULES)
def test_modules_declare_a_sorted_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    assert module.__all__ == sorted(module.__all__)
    for attribute in module.__all__:
        assert hasattr(module, attribute), attribute
