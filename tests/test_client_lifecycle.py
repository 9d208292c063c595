"""`AsyncClient`: the in-flight bound, `aclose()` waking every call, and its arguments.

Requests are held in the fake server with events; every wait in these tests is
for an exact state (`wait_all_tasks_blocked`), and `fail_after` only turns a
hang into a failure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint

from clubsmtp_async import (
    AsyncClient,
    ClientClosedError,
    LeakyBucketLimiter,
    NoLimiter,
    ValidationError,
)

pytestmark = pytest.mark.anyio

KEY = "sk_test_" + "L" * 40
TS = "2026-04-21T14:30:00.000000Z"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def mailbox(uuid: str) -> dict[str, Any]:
    return {"uuid": uuid, "address": f"{uuid}@example.com", "domain_uuid": "d", "domain":
            "example.com", "storage_gb": 1, "enabled": True, "created_at": TS, "updated_at": TS}


class HeldApi:
    """Answers `GET /v1/mailboxes/<id>` once `release` allows; records arrivals."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.released = 0
        self._more = anyio.Event()

    def release(self, count: int = 1) -> None:
        self.released += count
        self._more.set()
        self._more = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        uuid = request.url.path.rsplit("/", 1)[-1]
        self.arrived.append(uuid)
        number = len(self.arrived)  # the n-th request goes once n were released
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            while self.released < number:
                await self._more.wait()
        finally:
            self.in_flight -= 1
        return httpx.Response(200, json={"mailbox": mailbox(uuid), "errors": []})


def client_on(handler: Callable[..., Any], **kwargs: Any) -> AsyncClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kwargs.setdefault("requests_per_minute", None)
    return AsyncClient(KEY, base_url="https://api.clubsmtp.test", http_client=http, **kwargs)


async def start_in_order(tg: anyio.abc.TaskGroup, calls: list[Callable[[], Any]]) -> None:
    """Start each call only once the previous one is queued: the call order is defined."""
    for call in calls:
        tg.start_soon(call)
        await wait_all_tasks_blocked()


# --- The in-flight bound ---------------------------------------------------------------------


async def test_at_most_max_in_flight_requests_and_they_go_first_come_first_served() -> None:
    api = HeldApi()
    done: list[str] = []
    async with client_on(api, max_in_flight=3) as client:
        copy = client.with_options(max_retries=0)  # shares the bound
        assert copy.max_in_flight == 3

        def call(uuid: str, via: AsyncClient) -> Callable[[], Any]:
            async def run() -> None:
                done.append((await via.mailboxes.get(uuid)).uuid)
            return run

        uuids = [f"m{i:02d}" for i in range(8)]
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                await start_in_order(
                    tg, [call(u, copy if i % 2 else client) for i, u in enumerate(uuids)]
                )
                assert api.arrived == uuids[:3]
                for sent in range(3, 8):
                    api.release()
                    await wait_all_tasks_blocked()
                    assert api.arrived == uuids[: sent + 1]  # the next in call order
                api.release(3)
    assert api.most_in_flight == 3
    assert sorted(done) == uuids


async def test_no_bound_when_disabled() -> None:
    api = HeldApi()
    async with client_on(api, max_in_flight=None) as client:
        assert client.max_in_flight is None
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for i in range(50):
                    tg.start_soon(client.mailboxes.get, f"m{i}")
                await wait_all_tasks_blocked()
                assert api.in_flight == 50
                api.release(50)


class OrderRecorder:
    """A limiter that delegates to another and records which task left it, in order."""

    def __init__(self, inner: LeakyBucketLimiter) -> None:
        self.inner = inner
        self.left: list[str] = []

    async def acquire(self) -> None:
        await self.inner.acquire()
        self.left.append(anyio.get_current_task().name)

    async def on_rate_limited(self, retry_after: float | None) -> None:
        await self.inner.on_rate_limited(retry_after)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_the_bound_keeps_the_rate_limiters_order() -> None:
    api = HeldApi()
    api.release(1000)  # answer at once
    # 1 ms apart: it paces every request; 2 in flight: most callers queue for a slot first.
    limiter = OrderRecorder(LeakyBucketLimiter(60_000, burst=1))
    async with client_on(api, max_in_flight=2, limiter=limiter) as client:
        names = [f"m{i:02d}" for i in range(10)]
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for name in names:
                    tg.start_soon(client.mailboxes.get, name, name=name)
                    await wait_all_tasks_blocked()  # queued before the next one starts
    assert limiter.left == names  # the limiter let them go in call order
    assert sorted(api.arrived) == names


def _getter(client: AsyncClient, uuid: str) -> Callable[[], Any]:
    async def run() -> None:
        await client.mailboxes.get(uuid)
    return run


async def test_a_429_pause_holds_every_request_not_yet_sent() -> None:
    arrivals: list[tuple[float, str]] = []
    answered_429: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        uuid = request.url.path.rsplit("/", 1)[-1]
        arrivals.append((anyio.current_time(), uuid))
        if not answered_429:
            answered_429.append(anyio.current_time())
            return httpx.Response(429, headers={"Retry-After": "0.3"},
                                  json={"errors": [{"message": "Slow down.",
                                                    "type": "rate_limit_error"}]})
        await checkpoint()
        return httpx.Response(200, json={"mailbox": mailbox(uuid), "errors": []})

    async with client_on(handler, max_in_flight=2, limiter=NoLimiter()) as client:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                await start_in_order(tg, [_getter(client, f"m{i}") for i in range(8)])
    pause_end = answered_429[0] + 0.3
    later = [uuid for when, uuid in arrivals[1:] if when < pause_end]
    # Only the request already in flight beside the throttled one may have gone.
    assert len(later) <= 1
    assert len(arrivals) == 9  # eight calls, one retried


# --- aclose() wakes every call at once -----------------------------------------------------------


async def test_aclose_wakes_every_waiting_call_with_client_closed_error() -> None:
    api = HeldApi()

    async def sleep_until_woken(seconds: float) -> None:
        await anyio.sleep_forever()  # only a cancellation ends it

    # 60/min, and a limiter sleep that never ends by itself: whoever waits for
    # a slot would wait for ever, unless aclose() wakes it.
    limiter = LeakyBucketLimiter(60, sleep=sleep_until_woken)
    client = client_on(api, max_in_flight=4, limiter=limiter)
    errors: list[BaseException] = []

    async def call(uuid: str) -> None:
        try:
            await client.mailboxes.get(uuid)
        except ClientClosedError as exc:
            errors.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(call, f"m{i}")
            await wait_all_tasks_blocked()
            # One sent (held), one waiting in the limiter for its slot, 38 waiting their turn.
            assert len(api.arrived) == 1
            assert limiter.waiting == 1
            await client.aclose()
    assert len(errors) == 40
    assert all("closed" in str(e) for e in errors)
    assert limiter.waiting == 0


async def test_aclose_from_inside_a_call_still_closes_the_pool() -> None:
    class ClosingLimiter:
        client: AsyncClient

        async def acquire(self) -> None:
            await self.client.aclose()

        async def on_rate_limited(self, retry_after: float | None) -> None:
            raise AssertionError("not called")

        async def aclose(self) -> None:
            pass

    limiter = ClosingLimiter()
    limiter.client = AsyncClient(KEY, limiter=limiter)
    with pytest.raises(ClientClosedError):
        await limiter.client.ping()
    assert limiter.client._shared.http.is_closed


async def test_a_rate_limited_call_after_close_is_not_retried() -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "30"},
                              json={"errors": [{"message": "Slow.", "type": "rate_limit_error"}]})

    client = client_on(handler, limiter=NoLimiter(), max_retries=5)
    outcome: list[BaseException] = []

    async def call() -> None:
        try:
            await client.mailboxes.get("m1")
        except ClientClosedError as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await wait_all_tasks_blocked()  # in its 30 s retry wait, and the 30 s pause
        with anyio.fail_after(10):
            await client.aclose()
    assert calls == 1
    assert len(outcome) == 1


# --- Arguments -------------------------------------------------------------------------------


BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"requests_per_minute": "60"},
    {"requests_per_minute": math.nan},
    {"requests_per_minute": -1},
    {"requests_per_minute": True},
    {"max_retries": 1.5},
    {"max_retries": "3"},
    {"timeout": "30"},
    {"timeout": math.inf},
    {"timeout": httpx.Timeout(math.nan)},
    {"timeout": httpx.Timeout(5.0, read=-1.0)},
    {"limiter": object()},
    {"limiter": "redis://localhost"},
    {"http_client": object()},
    {"max_in_flight": 0},
    {"max_in_flight": 2.5},
    {"max_in_flight": True},
    {"max_response_bytes": 0},
    {"max_response_bytes": "1MB"},
    {"base_url": "https://user:hunter2@api.clubsmtp.test"},
    {"base_url": "https://api.clubsmtp.test/\ud800"},
    {"base_url": "https://api.clubsmtp.test:99999"},
    {"base_url": "https://api clubsmtp.test"},
    {"base_url": b"https://api.clubsmtp.test"},
    {"api_key": "sk_test_\ud800"},
    {"api_key": "sk_test_\x00abc"},
    {"api_key": 12345},
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda bad: f"{bad}")
def test_every_bad_argument_is_a_validation_error(bad: dict[str, Any]) -> None:
    kwargs = {"api_key": KEY, **bad}
    with pytest.raises(ValidationError) as info:
        AsyncClient(**kwargs)
    text = str(info.value)
    assert KEY not in text
    assert "hunter2" not in text


@pytest.mark.parametrize(
    "bad", [{"max_retries": -1}, {"timeout": "x"}, {"max_response_bytes": -5}], ids=str
)
async def test_with_options_validates_too(bad: dict[str, Any]) -> None:
    async with AsyncClient(KEY, requests_per_minute=None) as client:
        with pytest.raises(ValidationError):
            client.with_options(**bad)
