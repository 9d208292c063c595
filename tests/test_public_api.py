"""The public surface: `clubsmtp_async.__all__` is pinned, sorted, importable and documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

import clubsmtp_async

PUBLIC = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Alias",
    "AliasTarget",
    "AsyncClient",
    "AuthError",
    "Bulk",
    "BulkAborted",
    "BulkError",
    "BulkFailure",
    "BulkOutcome",
    "BulkProgress",
    "BulkResult",
    "BulkStream",
    "ClientClosedError",
    "ClubSMTPError",
    "DnsRecord",
    "DnsRecordStatus",
    "DnsRecordType",
    "Domain",
    "ErrorDetail",
    "FileLimiter",
    "InvalidRequestError",
    "LeakyBucketLimiter",
    "Limiter",
    "ListEntry",
    "Mailbox",
    "MailboxChange",
    "NewAlias",
    "NewMailbox",
    "NoLimiter",
    "NotFoundError",
    "Ping",
    "RateLimitError",
    "RateLimitWaitError",
    "RedisLimiter",
    "RedisLimiterFallbackWarning",
    "SecurityError",
    "SenderPattern",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
    "__version__",
    "aiohttp_http_client",
]
LAZY = {"RedisLimiter", "RedisLimiterFallbackWarning"}  # the `redis` extra: imported when used
EAGER = [name for name in PUBLIC if name not in LAZY]

CORE_MODULES = [
    "clubsmtp_async._client",
    "clubsmtp_async._config",
    "clubsmtp_async._endpoint",
    "clubsmtp_async._file_limiter",
    "clubsmtp_async._errors",
    "clubsmtp_async._http",
    "clubsmtp_async._loop",
    "clubsmtp_async._models",
    "clubsmtp_async._resources",
    "clubsmtp_async._response",
    "clubsmtp_async._retry",
    "clubsmtp_async._shared",
    "clubsmtp_async._validation",
    "clubsmtp_async._version",
]


def test_all_is_pinned() -> None:
    assert clubsmtp_async.__all__ == PUBLIC


def test_all_is_sorted_and_unique() -> None:
    assert clubsmtp_async.__all__ == sorted(clubsmtp_async.__all__)
    assert len(set(clubsmtp_async.__all__)) == len(clubsmtp_async.__all__)


def test_all_is_complete() -> None:
    # every public name bound in the package is exported
    bound = {
        name for name, value in vars(clubsmtp_async).items()
        if not name.startswith("_") and not inspect.ismodule(value)
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert bound <= set(PUBLIC)


@pytest.mark.parametrize("name", EAGER)
def test_every_name_is_importable_and_documented(name: str) -> None:
    value = getattr(clubsmtp_async, name)
    if name == "__version__":
        assert isinstance(value, str)
        assert value.count(".") >= 2
        return
    doc = inspect.getdoc(value)
    assert doc, f"{name} has no docstring"
    if inspect.isclass(value):
        assert vars(value).get("__doc__"), f"{name}: docstring inherited"
        assert value.__module__.startswith("clubsmtp_async")


def test_lazy_redis_limiter_is_importable() -> None:
    value = clubsmtp_async.RedisLimiter
    assert inspect.isclass(value)
    assert inspect.getdoc(value)
    namespace: dict[str, object] = {}
    exec("from clubsmtp_async import *", namespace)
    assert set(PUBLIC) <= set(namespace)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        clubsmtp_async.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_package_docstring() -> None:
    assert clubsmtp_async.__doc__
    assert "AsyncClient" in clubsmtp_async.__doc__


@pytest.mark.parametrize("module_name", CORE_MODULES)
def test_core_modules_declare_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, module_name
    names = module.__all__
    assert names, module_name
    for name in names:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"


def _public_members(cls: type) -> list[str]:
    return [name for name in vars(cls) if not name.startswith("_")]


@pytest.mark.parametrize(
    "cls_path",
    ["AsyncClient", "_resources.Domains", "_resources.Mailboxes", "_resources.SenderList",
     "_resources.Aliases"],
)
def test_public_methods_are_documented(cls_path: str) -> None:
    owner: object = clubsmtp_async
    for part in cls_path.split("."):
        owner = getattr(owner, part)
    assert inspect.isclass(owner)
    members = _public_members(owner)
    assert members
    for name in members:
        member = vars(owner)[name]
        if isinstance(member, property):
            assert member.__doc__, f"{cls_path}.{name}"
        elif inspect.isfunction(member):
            assert inspect.getdoc(member), f"{cls_path}.{name}"
            # keyword-only after the first argument, except identifiers in the path
            params = list(inspect.signature(member).parameters.values())[1:]
            for param in params:
                if param.name.endswith("_uuid") and param.kind is param.POSITIONAL_OR_KEYWORD:
                    continue
                if name in {"create_from"}:
                    continue
                assert param.kind in (param.KEYWORD_ONLY, param.VAR_POSITIONAL), (
                    f"{cls_path}.{name}({param.name}) should be keyword-only"
                )

