"""`AsyncClient`: lifecycle, copies, the request path, secrets and logging."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from clubsmtp_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthError,
    ClientClosedError,
    ClubSMTPError,
    InvalidRequestError,
    NewMailbox,
    NoLimiter,
    ServerError,
    ValidationError,
)

D = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
TS = "2026-04-21T14:30:00.000000Z"
MAILBOX = {"uuid": M, "address": "alice@example.com", "domain_uuid": D, "domain": "example.com",
           "storage_gb": 10, "enabled": True, "created_at": TS, "updated_at": TS}
PING = {"timestamp": "Tue, 21 Apr 2026 12:00:00 GMT", "errors": []}
PASSWORD = "Pa55-w0rd-that-must-stay-hidden"


def ping_ok() -> httpx.Response:
    return httpx.Response(200, json=PING)


def err(status: int, message: str, type_: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"message": message, "type": type_}]})


# --- lifecycle ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_context_manager_closes_the_pool(
    sdk_router: respx.MockRouter, sdk_api_key: str, sdk_base_url: str
) -> None:
    sdk_router.get("/v1/ping").mock(return_value=ping_ok())
    async with AsyncClient(sdk_api_key, base_url=sdk_base_url, requests_per_minute=None) as client:
        assert not client.is_closed
        assert isinstance(client.limiter, NoLimiter)
        await client.ping()
        http = client._shared.http
    assert client.is_closed
    assert http.is_closed


@pytest.mark.asyncio
async def test_aclose_is_idempotent(sdk_api_key: str) -> None:
    client = AsyncClient(sdk_api_key, requests_per_minute=None)
    await client.aclose()
    await client.aclose()
    assert client.is_closed


@pytest.mark.asyncio
async def test_default_limiter_is_a_leaky_bucket(sdk_api_key: str) -> None:
    async with AsyncClient(sdk_api_key, requests_per_minute=120) as client:
        assert type(client.limiter).__name__ == "LeakyBucketLimiter"
        assert client.limiter.requests_per_minute == 120  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_injected_http_client_and_limiter_are_not_closed(
    sdk_api_key: str, sdk_limiter: Any
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return ping_ok()

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncClient(
        sdk_api_key, base_url="https://api.clubsmtp.test", http_client=http, limiter=sdk_limiter
    ) as client:
        assert client.limiter is sdk_limiter
        await client.ping()
    assert client.is_closed
    assert not http.is_closed
    assert sdk_limiter.closed == 0
    assert [str(r.url) for r in calls] == ["https://api.clubsmtp.test/v1/ping"]
    assert calls[0].headers["authorization"] == f"Bearer {sdk_api_key}"
    await http.aclose()


def test_unclosed_client_warns_when_collected(sdk_api_key: str) -> None:
    client = AsyncClient(sdk_api_key, requests_per_minute=None)
    with pytest.warns(ResourceWarning, match="unclosed") as record:  # noqa: PT031
        del client
        gc.collect()
    assert all(sdk_api_key not in str(w.message) for w in record)


@pytest.mark.asyncio
async def test_closed_client_is_not_collected_with_a_warning(sdk_api_key: str) -> None:
    client = AsyncClient(sdk_api_key, requests_per_minute=None)
    copy = client.with_options(max_retries=1)
    await client.aclose()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del client, copy
        gc.collect()


def test_client_that_failed_to_build_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLUBSMTP_API_KEY", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValidationError):
            AsyncClient()
        gc.collect()


@pytest.mark.asyncio
async def test_closed_client_refuses_to_work(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter
) -> None:
    client = sdk_make_client()
    catch_all = sdk_router.route().mock(return_value=ping_ok())
    await client.aclose()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.ping()
    with pytest.raises(ClientClosedError):
        await client.mailboxes.get(M)
    with pytest.raises(ClientClosedError):
        await client.domains.create(name="example.com")
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    assert isinstance(ClientClosedError("x"), RuntimeError)
    assert catch_all.call_count == 0


@pytest.mark.asyncio
async def test_client_closed_while_a_request_waits_for_its_turn(
    sdk_api_key: str, sdk_base_url: str, sdk_router: respx.MockRouter
) -> None:
    catch_all = sdk_router.route().mock(return_value=ping_ok())

    class ClosingLimiter:
        client: AsyncClient

        async def acquire(self) -> None:
            await self.client.aclose()

        async def on_rate_limited(self, retry_after: float | None) -> None:
            raise AssertionError("not called")

        async def aclose(self) -> None:
            pass

    limiter = ClosingLimiter()
    limiter.client = AsyncClient(sdk_api_key, base_url=sdk_base_url, limiter=limiter)
    with pytest.raises(ClientClosedError, match="waited"):
        await limiter.client.ping()
    assert catch_all.call_count == 0


# --- with_options ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_with_options_shares_pool_and_limiter(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_sleeps: Any
) -> None:
    copy = sdk_client.with_options(max_retries=0, timeout=5.0)
    assert copy is not sdk_client
    assert copy._shared is sdk_client._shared
    assert copy._shared.http is sdk_client._shared.http
    assert copy.limiter is sdk_client.limiter
    assert copy.base_url == sdk_client.base_url
    assert (copy.max_retries, sdk_client.max_retries) == (0, 3)
    assert copy.timeout == httpx.Timeout(5.0)
    assert sdk_client.timeout == httpx.Timeout(30.0)
    assert copy.domains._client is copy
    assert copy.mailboxes.whitelist._client is copy

    route = sdk_router.get("/v1/ping").mock(return_value=err(500, "Boom.", "api_error"))
    with pytest.raises(ServerError):
        await copy.ping()
    assert route.call_count == 1  # the copy's max_retries=0
    assert route.calls.last.request.extensions["timeout"]["read"] == 5.0


@pytest.mark.asyncio
async def test_with_options_keeps_unset_settings(sdk_client: AsyncClient) -> None:
    copy = sdk_client.with_options()
    assert copy.max_retries == sdk_client.max_retries
    assert copy.timeout == sdk_client.timeout
    assert copy.with_options(timeout=httpx.Timeout(1.0, read=9.0)).timeout.read == 9.0


@pytest.mark.asyncio
async def test_closing_a_copy_does_not_close_the_pool(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    sdk_router.get("/v1/ping").mock(return_value=ping_ok())
    copy = sdk_client.with_options(max_retries=1)
    async with copy:
        await copy.ping()
    await copy.aclose()
    assert not sdk_client.is_closed
    assert not sdk_client._shared.http.is_closed
    await sdk_client.ping()
    await copy.ping()  # the copy still works: the pool is open

    await sdk_client.aclose()
    assert copy.is_closed
    with pytest.raises(ClientClosedError):
        await copy.ping()


@pytest.mark.asyncio
async def test_with_options_validates(sdk_client: AsyncClient) -> None:
    with pytest.raises(ValidationError):
        sdk_client.with_options(max_retries=-1)
    with pytest.raises(ValidationError):
        sdk_client.with_options(timeout=-5)


# --- the request path ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_many_concurrent_tasks_share_one_client(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_limiter: Any
) -> None:
    route = sdk_router.get("/v1/ping").mock(return_value=ping_ok())
    results = await asyncio.gather(*(sdk_client.ping() for _ in range(200)))
    assert len(results) == 200
    assert route.call_count == 200
    assert sdk_limiter.acquired == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("failure", "expected", "sent"),
    [
        (httpx.ConnectError("connection refused"), APIConnectionError, False),
        (httpx.ConnectTimeout("connect timed out"), APITimeoutError, False),
        (httpx.PoolTimeout("pool exhausted"), APITimeoutError, False),
        (httpx.ReadTimeout("read timed out"), APITimeoutError, True),
        (httpx.WriteTimeout("write timed out"), APITimeoutError, True),
        (httpx.RemoteProtocolError("Server disconnected"), APIConnectionError, True),
        (httpx.ReadError("connection reset by peer"), APIConnectionError, True),
        (httpx.UnsupportedProtocol("no"), APIConnectionError, True),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
async def test_transport_errors_become_connection_errors(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter,
    failure: Exception, expected: type[APIConnectionError], sent: bool,
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get(f"/v1/mailboxes/{M}").mock(side_effect=failure)
    with pytest.raises(APIConnectionError) as info:
        await client.mailboxes.get(M)
    exc = info.value
    assert type(exc) is expected
    assert exc.request_sent is sent
    assert exc.__cause__ is failure
    assert f"GET /v1/mailboxes/{M}" in str(exc)
    assert type(failure).__name__ in str(exc)
    assert isinstance(exc.request, httpx.Request)


class _UndecodableStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> Any:
        yield b"this is not gzip"


@pytest.mark.asyncio
async def test_undecodable_body_is_a_connection_error_and_retried(
    sdk_api_key: str, sdk_limiter: Any, sdk_sleeps: Any
) -> None:
    answers = iter([
        httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=_UndecodableStream()),
        ping_ok(),
    ])
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: next(answers)))
    async with http, AsyncClient(sdk_api_key, base_url="https://x.test", http_client=http,
                                 limiter=sdk_limiter, max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="DecodingError"):
            await client.ping()
        await client.ping()


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_repr_hides_the_key(sdk_client: AsyncClient, sdk_api_key: str) -> None:
    for text in (repr(sdk_client), str(sdk_client), f"{sdk_client!r}",
                 repr(sdk_client.with_options(max_retries=1)), repr(sdk_client._api_key),
                 repr(sdk_client._headers), repr(vars(sdk_client))):
        assert sdk_api_key not in text
    assert "api.clubsmtp.test" in repr(sdk_client)
    assert "open" in repr(sdk_client)
    await sdk_client.aclose()
    assert "closed" in repr(sdk_client)


def _everything_about(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for attr in ("request", "response", "errors", "body_excerpt", "message"):
        parts.append(repr(getattr(exc, attr, None)))
    return "\n".join(parts)


@pytest.mark.asyncio
async def test_secrets_never_in_exceptions(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter, sdk_api_key: str
) -> None:
    client = sdk_make_client(max_retries=1)
    sdk_router.post("/v1/mailboxes").mock(side_effect=[
        err(401, "Invalid API key.", "auth_error"),
        httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out"),
        httpx.Response(502, content=b"<html>Bad Gateway</html>"),
        httpx.Response(502, content=b"<html>Bad Gateway</html>"),
    ])
    sdk_router.get("/v1/mailboxes").mock(return_value=httpx.Response(200, json={"data": []}))
    failures: list[BaseException] = []
    for _ in range(3):
        with pytest.raises(ClubSMTPError) as info:
            await client.mailboxes.create(domain_uuid=D, local_part="alice", password=PASSWORD)
        failures.append(info.value)
    for bad in (dict(local_part="a b"), dict(storage_gb=0), dict(domain_uuid="../x")):
        kwargs = {"domain_uuid": D, "local_part": "alice", "password": PASSWORD, **bad}
        with pytest.raises(ValidationError) as info:
            await client.mailboxes.create(**kwargs)
        failures.append(info.value)
    assert [type(e).__name__ for e in failures[:3]] == ["AuthError", "APITimeoutError",
                                                        "ServerError"]
    for exc in failures:
        text = _everything_about(exc)
        assert sdk_api_key not in text
        assert PASSWORD not in text


def test_new_mailbox_repr_hides_password() -> None:
    item = NewMailbox(domain_uuid=D, local_part="alice", password=PASSWORD)
    assert PASSWORD not in repr(item)
    assert PASSWORD not in str(item)


# --- logging ---------------------------------------------------------------------------------

DEBUG_LINE = re.compile(
    r"^(GET|POST|PATCH|DELETE) (/v1/\S*) -> (\d{3}) in [\d.]+ ms \(attempt (\d+)\)$"
)


@pytest.mark.asyncio
async def test_one_debug_line_per_request_and_no_secrets_in_logs(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, sdk_api_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="clubsmtp_async")
    caplog.set_level(logging.DEBUG)  # and everything else that logs (httpx, httpcore, ...)
    sdk_router.post("/v1/mailboxes").mock(side_effect=[
        httpx.ConnectError("connection refused"),  # retried
        err(500, "Unexpected error.", "api_error"),  # ambiguous: lookup next
        httpx.Response(200, json={"mailbox": MAILBOX, "errors": []}),
        err(400, "Mailbox address already exists.", "invalid_request_error"),  # failing
    ])
    sdk_router.get("/v1/mailboxes").mock(return_value=httpx.Response(200, json={"data": []}))
    sdk_router.get("/v1/ping").mock(side_effect=[err(401, "Invalid API key.", "auth_error")])

    await sdk_client.mailboxes.create(domain_uuid=D, local_part="alice", password=PASSWORD)
    with pytest.raises(InvalidRequestError):
        await sdk_client.mailboxes.create(domain_uuid=D, local_part="alice", password=PASSWORD)
    with pytest.raises(AuthError):
        await sdk_client.ping()

    lines = [DEBUG_LINE.match(r.getMessage()) for r in caplog.records if r.name == "clubsmtp_async"]
    requests = [(m[1], m[2], m[3], m[4]) for m in lines if m]
    assert requests == [
        ("POST", "/v1/mailboxes", "500", "2"),
        ("GET", "/v1/mailboxes", "200", "1"),
        ("POST", "/v1/mailboxes", "200", "3"),
        ("POST", "/v1/mailboxes", "400", "1"),
        ("GET", "/v1/ping", "401", "1"),
    ]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "clubsmtp_async")
    assert any("connection refused" in r.getMessage() for r in caplog.records)
    everything = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text}" for r in caplog.records
    )
    assert sdk_api_key not in everything
    assert PASSWORD not in everything



@pytest.mark.asyncio
async def test_no_debug_work_when_debug_is_off(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="clubsmtp_async")
    sdk_router.get("/v1/ping").mock(return_value=ping_ok())
    await sdk_client.ping()
    assert [r for r in caplog.records if r.name == "clubsmtp_async"] == []
