"""Settings: API key, base URL, timeout, pool limits, User-Agent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from http_library import LIBRARIES, LIBRARY

from clubsmtp_async import AsyncClient, ValidationError, __version__
from clubsmtp_async._config import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    Secret,
    resolve_api_key,
    resolve_base_url,
    resolve_timeout,
    user_agent,
)
from clubsmtp_async._http import PoolLimits, installed_libraries

KEY = "sk_live_" + "a" * 72
ENV_KEY = "sk_live_" + "e" * 72


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("CLUBSMTP_API_KEY", raising=False)
    monkeypatch.delenv("CLUBSMTP_BASE_URL", raising=False)
    return monkeypatch


# --- API key ---------------------------------------------------------------------------------


def test_api_key_from_argument_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLUBSMTP_API_KEY", ENV_KEY)
    assert resolve_api_key(KEY).reveal() == KEY


def test_api_key_from_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLUBSMTP_API_KEY", ENV_KEY)
    assert resolve_api_key(None).reveal() == ENV_KEY
    assert resolve_api_key(None, {"CLUBSMTP_API_KEY": KEY}).reveal() == KEY


@pytest.mark.parametrize("env", [None, ""])
def test_missing_api_key_is_a_clear_error(clean_env: pytest.MonkeyPatch, env: str | None) -> None:
    if env is not None:
        clean_env.setenv("CLUBSMTP_API_KEY", env)
    with pytest.raises(ValidationError, match="CLUBSMTP_API_KEY") as info:
        resolve_api_key(None)
    assert "api_key" in str(info.value)
    with pytest.raises(ValidationError, match="no API key"):
        AsyncClient()
    with pytest.raises(ValidationError, match="no API key"):
        AsyncClient(api_key="")


@pytest.mark.parametrize("bad", ["sk live", "sk_live_é", "sk_live_x\n", 12345])
def test_unsendable_api_key_is_refused_without_echoing_it(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        resolve_api_key(bad)  # type: ignore[arg-type]
    assert str(bad) not in str(info.value)


def test_secret_hides_itself() -> None:
    secret = Secret(KEY)
    assert KEY not in repr(secret)
    assert KEY not in str(secret)
    assert KEY not in f"{secret}"
    assert secret.reveal() == KEY


@pytest.mark.asyncio
async def test_client_uses_environment_key(
    clean_env: pytest.MonkeyPatch, sdk_router: respx.MockRouter, sdk_base_url: str
) -> None:
    clean_env.setenv("CLUBSMTP_API_KEY", ENV_KEY)
    route = sdk_router.get("/v1/ping").respond(
        200, json={"timestamp": "Tue, 21 Apr 2026 12:00:00 GMT", "errors": []}
    )
    async with AsyncClient(base_url=sdk_base_url, requests_per_minute=None) as client:
        await client.ping()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {ENV_KEY}"


# --- base URL --------------------------------------------------------------------------------


def test_base_url_default(clean_env: pytest.MonkeyPatch) -> None:
    assert DEFAULT_BASE_URL == "https://api.clubsmtp.com"
    assert resolve_base_url(None) == "https://api.clubsmtp.com"


def test_base_url_from_environment_then_argument(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CLUBSMTP_BASE_URL", "https://env.clubsmtp.test/")
    assert resolve_base_url(None) == "https://env.clubsmtp.test"
    assert resolve_base_url("https://arg.clubsmtp.test") == "https://arg.clubsmtp.test"


@pytest.mark.asyncio
async def test_client_base_url_sources(clean_env: pytest.MonkeyPatch) -> None:
    async with AsyncClient(KEY, requests_per_minute=None) as client:
        assert client.base_url == "https://api.clubsmtp.com"
    clean_env.setenv("CLUBSMTP_BASE_URL", "http://127.0.0.1:8025")
    async with AsyncClient(KEY, requests_per_minute=None) as client:
        assert client.base_url == "http://127.0.0.1:8025"
    async with AsyncClient(KEY, base_url="https://x.test/", requests_per_minute=None) as client:
        assert client.base_url == "https://x.test"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.clubsmtp.com/", "https://api.clubsmtp.com"),
        ("https://api.clubsmtp.com:8443", "https://api.clubsmtp.com:8443"),
        ("https://proxy.test/clubsmtp/", "https://proxy.test/clubsmtp"),
        ("http://localhost:8025", "http://localhost:8025"),
        ("http://LOCALHOST:8025/", "http://localhost:8025"),
        ("http://127.0.0.1:8025", "http://127.0.0.1:8025"),
        ("http://127.8.9.10", "http://127.8.9.10"),
        ("http://[::1]:8025", "http://[::1]:8025"),
    ],
)
def test_base_url_accepted(url: str, expected: str) -> None:
    assert resolve_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.clubsmtp.com",
        "http://10.0.0.1:8025",
        "http://192.168.1.1",
        "http://[2001:db8::1]",
        "http://0.0.0.0:8025",
        "http://localhost.evil.test",
        "http://127.0.0.1.nip.io",
    ],
)
def test_plain_http_refused_for_remote_hosts(url: str) -> None:
    with pytest.raises(ValidationError, match="HTTPS"):
        resolve_base_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://api.clubsmtp.com", "api.clubsmtp.com", "https://", "https://x.test/?a=1",
            "https://x.test/#frag"],
)
def test_malformed_base_url_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        resolve_base_url(url)


def test_client_refuses_plain_http(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="plain HTTP"):
        AsyncClient(KEY, base_url="http://api.clubsmtp.com")


# --- timeout, pool, User-Agent ---------------------------------------------------------------


def test_resolve_timeout() -> None:
    assert resolve_timeout(None) == httpx.Timeout(30.0)
    assert resolve_timeout(5) == httpx.Timeout(5.0)
    assert resolve_timeout(2.5) == httpx.Timeout(2.5)
    custom = httpx.Timeout(10.0, connect=1.0)
    assert resolve_timeout(custom) is custom


@LIBRARIES
def test_resolve_timeout_takes_either_librarys_timeout(library: Any) -> None:
    resolved = resolve_timeout(library.Timeout(10.0, connect=1.0))
    assert resolved == httpx.Timeout(10.0, connect=1.0)
    assert isinstance(resolved, httpx.Timeout)
    with pytest.raises(ValidationError, match="each phase"):
        resolve_timeout(library.Timeout(5.0, read=-1.0))


@pytest.mark.parametrize("bad", [0, -1, -0.0, True, "5", float("nan"), [5]])
def test_resolve_timeout_rejects(bad: object) -> None:
    with pytest.raises(ValidationError, match="timeout"):
        resolve_timeout(bad)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (None, {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}),
        (7.5, {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}),
        (httpx.Timeout(20.0, connect=2.0), {"connect": 2.0, "read": 20.0, "write": 20.0,
                                            "pool": 20.0}),
    ],
)
async def test_timeout_reaches_each_request(
    sdk_make_client: object, sdk_router: respx.MockRouter, timeout: object,
    expected: dict[str, float],
) -> None:
    kwargs = {} if timeout is None else {"timeout": timeout}
    client = sdk_make_client(**kwargs)  # type: ignore[operator]
    route = sdk_router.get("/v1/aliases").respond(200, json={"data": [], "errors": []})
    await client.aliases.list()
    assert client.timeout == httpx.Timeout(**expected)
    assert route.calls.last.request.extensions["timeout"] == expected


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("max_in_flight", "connections", "keepalive"),
    [({}, 100, 100), ({"max_in_flight": 8}, 8, 8), ({"max_in_flight": 400}, 400, 100),
     ({"max_in_flight": None}, 1000, 100)],
)
async def test_the_pool_has_a_connection_per_request_in_flight(
    clean_env: pytest.MonkeyPatch, max_in_flight: dict[str, int | None], connections: int,
    keepalive: int,
) -> None:
    # The in-flight bound queues requests before the pool, so the pool never queues.
    assert PoolLimits(max_connections=1000, max_keepalive_connections=100) == DEFAULT_LIMITS
    async with AsyncClient(KEY, requests_per_minute=None, **max_in_flight) as client:
        pool = client._shared.http._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == connections
        assert pool._max_keepalive_connections == keepalive
        assert client.max_in_flight == max_in_flight.get("max_in_flight", 100)
        assert isinstance(client._shared.http, LIBRARY.client_type)  # the run's library


@pytest.mark.parametrize("library", installed_libraries(), ids=lambda lib: lib.name)
def test_user_agent_names_the_http_library(library: Any) -> None:
    agent = user_agent(library)
    assert agent.startswith(f"clubsmtp-async/{__version__} (")
    assert agent.endswith(f"; {library.name} {library.module.__version__})")
    assert agent.isascii()


@pytest.mark.parametrize(
    "url",
    ["https://admin:hunter2@[::1", "https://admin:hunter2@example.com:99999/",
     "ftp://admin:hunter2@example.com", "https://example.com/?key=hunter2",
     "https://example.com/#hunter2", "http://admin:hunter2@example.com"],
)
def test_a_refused_base_url_is_never_quoted_with_its_secrets(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AsyncClient("sk_test_x", base_url=url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("option", ["timeout", "max_retries"])
@pytest.mark.parametrize("value", [10**400, -(10**400), {"password": "hunter2"}])
def test_out_of_range_or_secret_holding_options_are_validation_errors(
    option: str, value: object
) -> None:
    if option == "max_retries" and value == 10**400:
        return  # a huge retry budget is a valid (if odd) choice
    with pytest.raises(ValidationError) as caught:
        AsyncClient("sk_test_x", **{option: value})
    assert "hunter2" not in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("text", ["2e9", "1e400", "inf", "-1", "sixty"])
def test_a_rate_from_the_environment_is_checked_and_named(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("CLUBSMTP_REQUESTS_PER_MINUTE", text)
    with pytest.raises(ValidationError, match=r"^\$CLUBSMTP_REQUESTS_PER_MINUTE must be"):
        AsyncClient("sk_test_x")
