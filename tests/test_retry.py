"""Retry rules (unit) and the client's retry behaviour, with a fake sleep (no real waiting)."""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from clubsmtp_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    SecurityError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from clubsmtp_async._retry import IDEMPOTENT_METHODS, RetryPolicy, is_ambiguous

D = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
E = "01ab2c3d-4e5f-7a6b-c7d8-e9f0a1b2c3d4"
A = "01cd3e4f-5a6b-7c8d-e9f0-a1b2c3d4e5f6"
TS = "2026-04-21T14:30:00.000000Z"
DOMAIN = {"uuid": D, "name": "example.com", "created_at": TS, "dns_records": []}
MAILBOX = {"uuid": M, "address": "alice@example.com", "domain_uuid": D, "domain": "example.com",
           "storage_gb": 10, "enabled": True, "created_at": TS, "updated_at": TS}
OTHER_MAILBOX = {**MAILBOX, "uuid": "m-other", "address": "bob@example.com"}
ENTRY = {"uuid": E, "pattern": "*@trusted.com", "created_at": TS}
ALIAS = {"uuid": A, "address": "info@example.com", "domain_uuid": D, "domain": "example.com",
         "forwarding_to": [{"uuid": M, "address": "alice@example.com"}],
         "created_at": TS, "updated_at": TS}
PING = {"timestamp": "Tue, 21 Apr 2026 12:00:00 GMT", "errors": []}


def err(status: int, message: str, type_: str, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"message": message, "type": type_}]}, **kwargs)


def ok(field: str, value: Any) -> httpx.Response:
    return httpx.Response(200, json={field: value, "errors": []})


def server_error(n: int = 1) -> httpx.Response:
    return err(500, f"Unexpected error {n}.", "api_error")


def rate_limited(retry_after: str | None = "8") -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return err(429, "Too many requests.", "rate_limit_error", headers=headers)


# --- unit: the predicate ----------------------------------------------------------------------


def status_error(cls: type[Any], status: int) -> Any:
    return cls("x", status_code=status)


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("can_recover", [False, True])
def test_always_retried(method: str, can_recover: bool) -> None:
    policy = RetryPolicy()
    for exc in (
        status_error(RateLimitError, 429),
        APIConnectionError("refused", request_sent=False),
        APITimeoutError("pool timeout", request_sent=False),
    ):
        assert policy.should_retry(exc, method, can_recover=can_recover)


@pytest.mark.parametrize(
    "exc",
    [
        status_error(ServerError, 500),
        status_error(ServerError, 503),
        APITimeoutError("read timeout", request_sent=True),
        APIConnectionError("dropped", request_sent=True),
    ],
)
def test_ambiguous_failures_retried_only_when_safe(exc: Exception) -> None:
    policy = RetryPolicy()
    assert is_ambiguous(exc)
    for method in ("GET", "PATCH", "DELETE"):
        assert policy.should_retry(exc, method)
    assert not policy.should_retry(exc, "POST")
    assert policy.should_retry(exc, "POST", can_recover=True)


@pytest.mark.parametrize(
    "exc",
    [
        status_error(InvalidRequestError, 400),
        status_error(NotFoundError, 400),
        status_error(AuthError, 401),
        status_error(SecurityError, 403),
        status_error(UnexpectedResponseError, 200),
        ValidationError("bad"),
        ValueError("not ours"),
    ],
)
def test_never_retried(exc: Exception) -> None:
    policy = RetryPolicy()
    for method in ("GET", "POST", "PATCH", "DELETE"):
        assert not policy.should_retry(exc, method, can_recover=True)
    assert not is_ambiguous(exc)


def test_idempotent_methods() -> None:
    assert {"GET", "PATCH", "DELETE"} <= IDEMPOTENT_METHODS
    assert "POST" not in IDEMPOTENT_METHODS


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3", None])
def test_max_retries_validated(bad: Any) -> None:
    with pytest.raises(ValidationError, match="max_retries"):
        RetryPolicy(bad)
    with pytest.raises(ValueError, match="max_retries"):
        AsyncClient("sk_test_x", max_retries=bad, requests_per_minute=None)


# --- unit: the wait ---------------------------------------------------------------------------


def limited(retry_after: float | None) -> RateLimitError:
    exc = RateLimitError("slow down", status_code=429)
    exc.retry_after = retry_after
    return exc


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(jitter=lambda: 0.0)
    assert policy.wait_seconds(limited(8.0), 1) == 8.0
    assert policy.wait_seconds(limited(0.0), 3) == 0.0
    assert policy.wait_seconds(limited(3600.0), 1) == 60.0
    assert RetryPolicy(backoff_max=5.0).wait_seconds(limited(8.0), 1) == 5.0


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(jitter=lambda: 1.0)
    waits = [policy.wait_seconds(status_error(ServerError, 500), n) for n in range(1, 10)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert policy.wait_seconds(limited(None), 2) == 1.0  # 429 without Retry-After: backoff
    assert policy.wait_seconds(None, 1) == 0.5


def test_backoff_full_jitter() -> None:
    policy = RetryPolicy(jitter=lambda: 0.25, backoff_base=2.0, backoff_max=100.0)
    assert policy.wait_seconds(APIConnectionError("x"), 3) == 2.0


@given(attempt=st.integers(min_value=1, max_value=200), seed=st.integers(0, 2**32 - 1))
def test_jitter_bounds(attempt: int, seed: int) -> None:
    policy = RetryPolicy(jitter=random.Random(seed).random)
    wait = policy.wait_seconds(status_error(ServerError, 502), attempt)
    assert 0.0 <= wait <= min(60.0, 0.5 * 2 ** (attempt - 1))


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_retry_after_bounds(retry_after: float) -> None:
    wait = RetryPolicy().wait_seconds(limited(retry_after), 1)
    assert wait == min(retry_after, 60.0)


# --- through the client -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_429_is_retried_after_retry_after_and_pauses_the_limiter(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_limiter: Any, sdk_sleeps: Any
) -> None:
    route = sdk_router.get("/v1/ping").mock(
        side_effect=[rate_limited("8"), httpx.Response(200, json=PING)]
    )
    ping = await sdk_client.ping()
    assert ping.timestamp.year == 2026
    assert route.call_count == 2
    assert sdk_limiter.rate_limited == [8.0]
    assert sdk_sleeps.calls == [8.0]
    assert sdk_limiter.acquired == 2  # once per attempt


@pytest.mark.asyncio
async def test_429_with_http_date_is_capped(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_limiter: Any, sdk_sleeps: Any
) -> None:
    later = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(days=1), True)
    sdk_router.get("/v1/ping").mock(
        side_effect=[rate_limited(later), httpx.Response(200, json=PING)]
    )
    await sdk_client.ping()
    assert sdk_sleeps.calls == [60.0]  # the retry's own wait is capped
    [told] = sdk_limiter.rate_limited
    assert told is not None  # the limiter hears the server's value (its pause policy is its own)


@pytest.mark.asyncio
async def test_429_without_retry_after_backs_off(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_limiter: Any, sdk_sleeps: Any
) -> None:
    answers = [rate_limited(None), httpx.Response(200, json=PING)]
    sdk_router.get("/v1/ping").mock(side_effect=answers)
    await sdk_client.ping()
    assert sdk_limiter.rate_limited == [None]
    [wait] = sdk_sleeps.calls
    assert 0.0 <= wait <= 0.5


@pytest.mark.asyncio
async def test_429_is_retried_for_a_create_without_lookup(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    answers = [rate_limited("1"), ok("domain", DOMAIN)]
    post = sdk_router.post("/v1/domains").mock(side_effect=answers)
    lookup = sdk_router.get("/v1/domains").respond(200, json={"data": [], "errors": []})
    await sdk_client.domains.create(name="example.com")
    assert post.call_count == 2
    assert lookup.call_count == 0  # a 429 is not ambiguous: nothing was created


@pytest.mark.asyncio
async def test_429_exhausted_raises_rate_limit_error(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_limiter: Any, sdk_sleeps: Any
) -> None:
    route = sdk_router.get("/v1/aliases").mock(return_value=rate_limited("2"))
    with pytest.raises(RateLimitError) as info:
        await sdk_client.aliases.list()
    assert info.value.retry_after == 2.0
    assert route.call_count == 4
    assert sdk_sleeps.calls == [2.0, 2.0, 2.0]
    assert sdk_limiter.rate_limited == [2.0] * 4


Call = Callable[[AsyncClient], Awaitable[Any]]

BY_METHOD: list[tuple[str, str, str, httpx.Response, Call]] = [
    ("GET", "GET", "/v1/ping", httpx.Response(200, json=PING), lambda c: c.ping()),
    ("POST", "POST", "/v1/domains", ok("domain", DOMAIN),
     lambda c: c.domains.create(name="example.com")),
    ("PATCH", "PATCH", f"/v1/mailboxes/{M}", ok("mailbox", MAILBOX),
     lambda c: c.mailboxes.update(M, enabled=True)),
    ("DELETE", "DELETE", f"/v1/aliases/{A}", httpx.Response(200, json={"success": True}),
     lambda c: c.aliases.delete(A)),
]
UNSENT = [httpx.ConnectError("connection refused"), httpx.ConnectTimeout("connect timed out"),
          httpx.PoolTimeout("no connection available")]


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", UNSENT, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(("id_", "method", "path", "answer", "call"), BY_METHOD,
                         ids=[case[0] for case in BY_METHOD])
async def test_unsent_failures_are_retried_for_every_method(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_sleeps: Any,
    failure: Exception, id_: str, method: str, path: str, answer: httpx.Response, call: Call,
) -> None:
    route = sdk_router.route(method=method, path=path).mock(side_effect=[failure, failure, answer])
    await call(sdk_client)
    assert route.call_count == 3
    assert sdk_router.calls.call_count == 3  # no lookup: nothing can have been created
    assert len(sdk_sleeps.calls) == 2


AMBIGUOUS: list[Any] = [
    server_error(),
    httpx.Response(502, content=b"<html>Bad Gateway</html>"),
    httpx.Response(503, content=b""),
    httpx.ReadTimeout("read timed out"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
]
AMBIGUOUS_IDS = ["500", "502-html", "503-empty", "ReadTimeout", "RemoteProtocolError"]


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", AMBIGUOUS, ids=AMBIGUOUS_IDS)
@pytest.mark.parametrize(("id_", "method", "path", "answer", "call"),
                         [case for case in BY_METHOD if case[1] != "POST"],
                         ids=[case[0] for case in BY_METHOD if case[1] != "POST"])
async def test_ambiguous_failures_are_retried_for_idempotent_methods(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_sleeps: Any,
    failure: Any, id_: str, method: str, path: str, answer: httpx.Response, call: Call,
) -> None:
    route = sdk_router.route(method=method, path=path).mock(side_effect=[failure, answer])
    await call(sdk_client)
    assert route.call_count == 2
    assert len(sdk_sleeps.calls) == 1


CREATES: list[tuple[str, str, httpx.Response, Call, Callable[[Any], None]]] = [
    ("/v1/domains", "/v1/domains", ok("data", [DOMAIN]),
     lambda c: c.domains.create(name="EXAMPLE.com"), lambda r: r.uuid == D),
    ("/v1/mailboxes", "/v1/mailboxes", ok("data", [OTHER_MAILBOX, MAILBOX]),
     lambda c: c.mailboxes.create(domain_uuid=D, local_part="Alice", password="pw-123456"),
     lambda r: r.uuid == M),
    (f"/v1/mailboxes/{M}/whitelist", f"/v1/mailboxes/{M}/whitelist", ok("data", [ENTRY]),
     lambda c: c.mailboxes.whitelist.add(M, pattern="*@trusted.com"), lambda r: r.uuid == E),
    (f"/v1/mailboxes/{M}/blacklist", f"/v1/mailboxes/{M}/blacklist", ok("data", [ENTRY]),
     lambda c: c.mailboxes.blacklist.add(M, pattern="*@trusted.com"), lambda r: r.uuid == E),
    ("/v1/aliases", "/v1/aliases", ok("data", [ALIAS]),
     lambda c: c.aliases.create(domain_uuid=D, local_part="INFO", mailbox_uuids=[M]),
     lambda r: r.uuid == A),
]
CREATE_IDS = ["domain", "mailbox", "whitelist", "blacklist", "alias"]


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", AMBIGUOUS, ids=AMBIGUOUS_IDS)
@pytest.mark.parametrize(("post_path", "list_path", "listing", "call", "check"), CREATES,
                         ids=CREATE_IDS)
async def test_create_after_ambiguous_failure_finds_the_object_instead_of_resending(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, failure: Any,
    post_path: str, list_path: str, listing: httpx.Response, call: Call,
    check: Callable[[Any], bool],
) -> None:
    post = sdk_router.post(post_path).mock(side_effect=[failure, server_error(2)])
    lookup = sdk_router.get(list_path).mock(return_value=listing)

    result = await call(sdk_client)

    assert check(result)
    assert post.call_count == 1  # never a duplicate
    assert lookup.call_count == 1


@pytest.mark.asyncio
async def test_mailbox_lookup_is_filtered_by_domain(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    sdk_router.post("/v1/mailboxes").mock(side_effect=[httpx.ReadTimeout("slow")])
    lookup = sdk_router.get("/v1/mailboxes").mock(return_value=ok("data", [MAILBOX]))
    await sdk_client.mailboxes.create(domain_uuid=D, local_part="alice", password="pw-123456")
    assert dict(lookup.calls.last.request.url.params) == {"domain_uuid": D}


@pytest.mark.asyncio
@pytest.mark.parametrize(("post_path", "list_path", "listing", "call", "check"), CREATES,
                         ids=CREATE_IDS)
async def test_create_is_resent_when_the_lookup_finds_nothing(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter,
    post_path: str, list_path: str, listing: httpx.Response, call: Call,
    check: Callable[[Any], bool],
) -> None:
    field = {"/v1/domains": "domain", "/v1/mailboxes": "mailbox", "/v1/aliases": "alias"}.get(
        post_path, "entry")
    created = listing.json()["data"][-1]
    post = sdk_router.post(post_path).mock(side_effect=[server_error(), ok(field, created)])
    lookup = sdk_router.get(list_path).respond(200, json={"data": [], "errors": []})

    result = await call(sdk_client)

    assert check(result)
    assert post.call_count == 2
    assert lookup.call_count == 1


@pytest.mark.asyncio
async def test_lookup_ignores_other_objects(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    post = sdk_router.post("/v1/mailboxes").mock(
        side_effect=[httpx.RemoteProtocolError("dropped"), ok("mailbox", MAILBOX)]
    )
    sdk_router.get("/v1/mailboxes").mock(return_value=ok("data", [OTHER_MAILBOX]))
    result = await sdk_client.mailboxes.create(domain_uuid=D, local_part="alice", password="pw-1")
    assert result.uuid == M
    assert post.call_count == 2


@pytest.mark.asyncio
async def test_create_retried_after_unsent_then_ambiguous(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    post = sdk_router.post("/v1/aliases").mock(
        side_effect=[httpx.ConnectError("refused"), server_error(), server_error(3)]
    )
    lookup = sdk_router.get("/v1/aliases").mock(return_value=ok("data", [ALIAS]))
    alias = await sdk_client.aliases.create(domain_uuid=D, local_part="info", mailbox_uuids=[M])
    assert alias.uuid == A
    assert post.call_count == 2
    assert lookup.call_count == 1


@pytest.mark.asyncio
async def test_create_exhausted_then_final_lookup_finds_it(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    post = sdk_router.post("/v1/domains").mock(return_value=server_error())
    empty = ok("data", [])
    found = ok("data", [DOMAIN])
    lookup = sdk_router.get("/v1/domains").mock(side_effect=[empty, empty, empty, found])
    domain = await sdk_client.domains.create(name="example.com")
    assert domain.uuid == D
    assert post.call_count == 4
    assert lookup.call_count == 4


@pytest.mark.asyncio
async def test_create_exhausted_raises_the_last_error(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_sleeps: Any
) -> None:
    post = sdk_router.post("/v1/domains").mock(side_effect=[server_error(n) for n in range(1, 5)])
    sdk_router.get("/v1/domains").respond(200, json={"data": [], "errors": []})
    with pytest.raises(ServerError, match="Unexpected error 4"):
        await sdk_client.domains.create(name="example.com")
    assert post.call_count == 4
    assert len(sdk_sleeps.calls) == 3


@pytest.mark.asyncio
async def test_create_not_retried_on_a_client_error(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    post = sdk_router.post("/v1/domains").mock(
        return_value=err(400, "Domain name already exists.", "invalid_request_error")
    )
    with pytest.raises(InvalidRequestError, match="already exists"):
        await sdk_client.domains.create(name="example.com")
    assert post.call_count == 1
    assert sdk_router.calls.call_count == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", AMBIGUOUS, ids=AMBIGUOUS_IDS)
async def test_delete_whose_retry_answers_not_found_succeeded(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, failure: Any
) -> None:
    route = sdk_router.delete(f"/v1/mailboxes/{M}").mock(
        side_effect=[failure, err(400, "Mailbox not found.", "invalid_request_error")]
    )
    assert await sdk_client.mailboxes.delete(M) is None
    assert route.call_count == 2


@pytest.mark.asyncio
async def test_delete_of_a_missing_object_is_not_found(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    route = sdk_router.delete(f"/v1/mailboxes/{M}").mock(side_effect=[
        rate_limited("0"), httpx.ConnectError("refused"),
        err(400, "Mailbox not found.", "invalid_request_error"),
    ])
    with pytest.raises(NotFoundError):  # neither a 429 nor an unsent request could have deleted it
        await sdk_client.mailboxes.delete(M)
    assert route.call_count == 3


@pytest.mark.asyncio
async def test_get_not_found_after_ambiguous_failure_is_still_not_found(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    sdk_router.get(f"/v1/mailboxes/{M}").mock(
        side_effect=[server_error(), err(400, "Mailbox not found.", "invalid_request_error")]
    )
    with pytest.raises(NotFoundError):
        await sdk_client.mailboxes.get(M)


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", [server_error(), rate_limited("1"), httpx.ReadTimeout("t"),
                                    httpx.ConnectError("refused")],
                         ids=["500", "429", "ReadTimeout", "ConnectError"])
async def test_max_retries_zero_disables_retries(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter, sdk_sleeps: Any,
    answer: Any,
) -> None:
    client = sdk_make_client(max_retries=0)
    route = sdk_router.get("/v1/ping").mock(side_effect=[answer, httpx.Response(200, json=PING)])
    with pytest.raises((ServerError, RateLimitError, APIConnectionError)):
        await client.ping()
    assert route.call_count == 1
    assert sdk_sleeps.calls == []


@pytest.mark.asyncio
async def test_max_retries_zero_create_never_resends(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter
) -> None:
    client = sdk_make_client(max_retries=0)
    post = sdk_router.post("/v1/domains").mock(return_value=server_error())
    sdk_router.get("/v1/domains").respond(200, json={"data": [], "errors": []})
    with pytest.raises(ServerError):
        await client.domains.create(name="example.com")
    assert post.call_count == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("max_retries", [1, 2, 5])
async def test_exhaustion_reraises_the_last_typed_error(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter, sdk_sleeps: Any,
    max_retries: int,
) -> None:
    client = sdk_make_client(max_retries=max_retries)
    attempts = max_retries + 1
    route = sdk_router.get("/v1/domains").mock(
        side_effect=[server_error(n) for n in range(1, attempts + 1)]
    )
    with pytest.raises(ServerError) as info:
        await client.domains.list()
    assert info.value.message == f"Unexpected error {attempts}."
    assert route.call_count == attempts
    assert len(sdk_sleeps.calls) == max_retries


@pytest.mark.asyncio
async def test_exhausted_connection_errors_raise_typed_errors(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    sdk_router.get("/v1/ping").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError) as info:
        await sdk_client.ping()
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    [err(400, "Bad.", "invalid_request_error"), err(401, "Invalid API key.", "auth_error"),
     err(403, "HTTPS required.", "security_error"), httpx.Response(200, content=b"<html>")],
    ids=["400", "401", "403", "200-html"],
)
async def test_client_errors_are_not_retried(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_sleeps: Any, answer: Any
) -> None:
    route = sdk_router.get("/v1/ping").mock(return_value=answer)
    with pytest.raises((InvalidRequestError, AuthError, SecurityError, UnexpectedResponseError)):
        await sdk_client.ping()
    assert route.call_count == 1
    assert sdk_sleeps.calls == []


@pytest.mark.asyncio
async def test_backoff_waits_through_the_client(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_sleeps: Any
) -> None:
    sdk_client._retry._jitter = lambda: 1.0
    sdk_router.get("/v1/ping").mock(side_effect=[server_error(), server_error(), server_error(),
                                                 httpx.Response(200, json=PING)])
    await sdk_client.ping()
    assert sdk_sleeps.calls == [0.5, 1.0, 2.0]


@pytest.mark.asyncio
async def test_retries_are_logged(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="clubsmtp_async")
    sdk_router.get("/v1/ping").mock(
        side_effect=[server_error(), httpx.ConnectError("refused"), httpx.Response(200, json=PING)]
    )
    await sdk_client.ping()
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 2
    assert retries[0].startswith("retrying after attempt 1 in ")
    assert "ServerError: Unexpected error 1." in retries[0]
    assert retries[1].startswith("retrying after attempt 2 in ")
    assert "APIConnectionError" in retries[1]
    assert "refused" in retries[1]


@pytest.mark.asyncio
async def test_retry_uses_anyio_sleep_by_default(
    sdk_router: respx.MockRouter, sdk_base_url: str, sdk_limiter: Any
) -> None:
    async with AsyncClient("sk_test_k", base_url=sdk_base_url, limiter=sdk_limiter) as client:
        client._retry.backoff_base = 0.001  # a real (millisecond) sleep
        route = sdk_router.get("/v1/ping").mock(
            side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=PING)]
        )
        await client.ping()
    assert route.call_count == 2
