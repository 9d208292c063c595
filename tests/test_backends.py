"""The client on both anyio backends (asyncio and trio), through the run's `MockTransport`."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
import respx
from http_library import HTTPX_ONLY, lib

from clubsmtp_async import (
    APITimeoutError,
    AsyncClient,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from clubsmtp_async._retry import RetryPolicy

D = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
TS = "2026-04-21T14:30:00.000000Z"
DOMAIN = {"uuid": D, "name": "example.com", "created_at": TS, "dns_records": []}
MAILBOX = {"uuid": M, "address": "alice@example.com", "domain_uuid": D, "domain": "example.com",
           "storage_gb": 10, "enabled": True, "created_at": TS, "updated_at": TS}
BASE = "https://api.clubsmtp.test"
KEY = "sk_test_backends"

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class FakeAPI:
    """A tiny scripted server: a queue of answers per (method, path), then a default."""

    def __init__(self) -> None:
        self.requests: list[lib.Request] = []
        self.scripted: dict[tuple[str, str], list[Any]] = {}

    def script(self, method: str, path: str, *answers: Any) -> None:
        self.scripted.setdefault((method, path), []).extend(answers)

    def __call__(self, request: lib.Request) -> lib.Response:
        self.requests.append(request)
        queue = self.scripted.get((request.method, request.url.path), [])
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer  # type: ignore[no-any-return]
        return self.default(request)

    def default(self, request: lib.Request) -> lib.Response:
        path = request.url.path
        if path == "/v1/ping":
            return lib.Response(200, json={"timestamp": "Tue, 21 Apr 2026 12:00:00 GMT"})
        if path == "/v1/domains" and request.method == "POST":
            assert json.loads(request.content) == {"name": "example.com"}
            return lib.Response(200, json={"domain": DOMAIN, "errors": []})
        if path == "/v1/domains":
            return lib.Response(200, json={"data": [DOMAIN], "errors": []})
        if path == "/v1/mailboxes":
            return lib.Response(200, json={"data": [MAILBOX], "errors": []})
        if path == f"/v1/mailboxes/{M}" and request.method == "PATCH":
            return lib.Response(200, json={"mailbox": {**MAILBOX, "enabled": False}})
        return lib.Response(400, json={"errors": [{"message": "Thing not found.",
                                                     "type": "invalid_request_error"}]})


def make_client(api: FakeAPI, http: lib.AsyncClient, **kwargs: Any) -> AsyncClient:
    kwargs.setdefault("requests_per_minute", None)
    client = AsyncClient(KEY, base_url=BASE, http_client=http, **kwargs)
    # Real anyio sleeps, but only of a millisecond or so.
    client._retry = RetryPolicy(client.max_retries, backoff_base=0.001, backoff_max=0.002)
    return client


async def test_calls_and_retries(anyio_backend: str) -> None:
    api = FakeAPI()
    api.script("GET", "/v1/ping", lib.ConnectError("refused"),
               lib.Response(503, content=b"<html>busy</html>"))
    api.script("POST", "/v1/domains", lib.ReadTimeout("slow"))  # ambiguous: lookup finds it
    api.script("GET", "/v1/mailboxes", lib.Response(429, headers={"Retry-After": "0"}))
    async with lib.AsyncClient(transport=lib.MockTransport(api)) as http:
        client = make_client(api, http)
        async with client:
            ping = await client.ping()
            domain = await client.domains.create(name="example.com")
            mailboxes = await client.mailboxes.list(domain_uuid=D)
            updated = await client.mailboxes.update(M, enabled=False)
            with pytest.raises(NotFoundError):
                await client.aliases.get("missing")
    assert ping.timestamp.tzinfo is not None
    assert domain.uuid == D
    assert [m.uuid for m in mailboxes] == [M]
    assert updated.enabled is False
    calls = [(r.method, r.url.path) for r in api.requests]
    assert calls == [
        ("GET", "/v1/ping"), ("GET", "/v1/ping"), ("GET", "/v1/ping"),
        ("POST", "/v1/domains"), ("GET", "/v1/domains"),
        ("GET", "/v1/mailboxes"), ("GET", "/v1/mailboxes"),
        ("PATCH", f"/v1/mailboxes/{M}"),
        ("GET", "/v1/aliases/missing"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in api.requests)


async def test_concurrent_tasks_with_the_default_limiter(anyio_backend: str) -> None:
    api = FakeAPI()
    async with lib.AsyncClient(transport=lib.MockTransport(api)) as http:
        # 60,000 requests/min: one every millisecond, so pacing is exercised but quick.
        client = make_client(api, http, requests_per_minute=60_000)
        async with client:
            assert type(client.limiter).__name__ == "LeakyBucketLimiter"
            results: list[Any] = []

            async def one() -> None:
                results.append(await client.ping())

            async with anyio.create_task_group() as tg:
                for _ in range(10):
                    tg.start_soon(one)
    assert len(results) == 10
    assert len(api.requests) == 10


async def test_exhaustion_and_rate_limit_pause(anyio_backend: str) -> None:
    api = FakeAPI()
    api.script("GET", "/v1/domains", *[lib.Response(500, json={"errors": [
        {"message": "Unexpected error.", "type": "api_error"}]}) for _ in range(3)])
    api.script("GET", "/v1/ping", lib.Response(429, headers={"Retry-After": "0.001"}))
    async with lib.AsyncClient(transport=lib.MockTransport(api)) as http:
        client = make_client(api, http, max_retries=2)
        async with client:
            with pytest.raises(ServerError):
                await client.domains.list()
            fast = client.with_options(max_retries=0)
            with pytest.raises(RateLimitError) as info:
                await fast.ping()
            assert info.value.retry_after == 0.001
            await client.ping()  # NoLimiter honours the (1 ms) pause, on either backend
    assert len(api.requests) == 5


async def test_the_attempt_deadline_ends_an_unanswered_call(anyio_backend: str) -> None:
    api = FakeAPI()

    async def handler(request: lib.Request) -> lib.Response:
        if request.url.path == "/v1/domains":
            await anyio.sleep_forever()  # a server that never answers
        return api(request)

    async with lib.AsyncClient(transport=lib.MockTransport(handler)) as http:
        client = make_client(api, http, max_retries=0, timeout=0.2)
        async with client:
            started = anyio.current_time()
            with anyio.fail_after(10), pytest.raises(APITimeoutError) as info:
                await client.domains.list()
            waited = anyio.current_time() - started
            pings = [await client.ping() for _ in range(3)]  # the next calls are not cut short
    assert "within the attempt deadline of 0.2 s" in str(info.value)
    assert waited >= 0.2
    assert len(pings) == 3


@HTTPX_ONLY
async def test_respx_works_on_both_backends(anyio_backend: str) -> None:
    async with AsyncClient(KEY, base_url=BASE, requests_per_minute=None) as client:
        with respx.mock(base_url=BASE) as router:
            route = router.get("/v1/ping").respond(
                200, json={"timestamp": "Tue, 21 Apr 2026 12:00:00 GMT", "errors": []}
            )
            await client.ping()
    assert route.call_count == 1
