"""One client, several event loops: a second ``anyio.run``, asyncio then trio, TestClient runs.

The client's own pool, in-flight limiter and rate limiter follow the loop; a
caller's http_client that cannot is explained by a `ClubSMTPError`. The server
is a stdlib HTTP/1.1 server in a thread (keep-alive on), so a second loop would
find the first loop's connection in the pool.

A pool abandoned with its loop keeps sockets the loop never closed; Python
reports them as `ResourceWarning` when they are collected, which these tests
do on purpose (and collect before they end).
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest

from clubsmtp_async import (
    AsyncClient,
    ClubSMTPError,
    LeakyBucketLimiter,
    NoLimiter,
    RateLimitError,
)
from clubsmtp_async._limiter import CATCH_UP_SECONDS
from clubsmtp_async._loop import LoopClock

KEY = "sk_test_" + "E" * 40
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
TS = "2026-04-21T14:30:00.000000Z"
MAILBOX = {"uuid": M, "address": "alice@example.com", "domain_uuid": M, "domain": "example.com",
           "storage_gb": 10, "enabled": True, "created_at": TS, "updated_at": TS}

abandoned_sockets = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


class Server:
    """A keep-alive HTTP server in a thread; answers a mailbox, or 429s while asked to."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.throttle = 0  # answer this many requests 429 (Retry-After: 1) first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.arrivals.append(time.monotonic())
                if outer.throttle:
                    outer.throttle -= 1
                    status, headers = 429, {"Retry-After": "1"}
                    body = {"errors": [{"message": "Slow down.", "type": "rate_limit_error"}]}
                else:
                    status, headers, body = 200, {}, {"mailbox": MAILBOX, "errors": []}
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(data))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    running.thread.start()
    try:
        yield running
    finally:
        running.httpd.shutdown()
        running.httpd.server_close()
        running.thread.join(10)


def run(backend: str, coroutine: Any, *args: Any) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(20):  # a hang fails instead of stalling
            return await coroutine(*args)

    return anyio.run(bounded, backend=backend)


async def get(client: AsyncClient) -> str:
    return (await client.mailboxes.get(M)).address


SEQUENCES = [("asyncio", "asyncio"), ("asyncio", "trio"), ("trio", "asyncio"), ("trio", "trio")]


@abandoned_sockets
@pytest.mark.parametrize("backends", SEQUENCES, ids="→".join)
def test_a_client_works_in_every_loop_it_is_used_in(
    server: Server, backends: tuple[str, str]
) -> None:
    # 600/min: every call after the first waits its slot, across loops. Asserted on
    # the limiter's releases against the first call's start, which lateness (a busy
    # machine, a new loop, a new connection) can only push later, never earlier.
    client = AsyncClient(KEY, base_url=server.base_url, requests_per_minute=600)
    limiter = client._shared.limiter
    acquire, released = limiter.acquire, []

    async def recorded_acquire(**kwargs: Any) -> None:
        await acquire(**kwargs)
        released.append(time.monotonic())

    limiter.acquire = recorded_acquire  # type: ignore[method-assign]
    pools = []
    start = time.monotonic()
    for backend in (*backends, backends[0]):
        assert run(backend, get, client) == "alice@example.com"
        pools.append(client._shared.http)
    run(backends[-1], client.aclose)
    assert len(server.arrivals) == 3
    assert len(released) == 3
    for number, when in enumerate(released):
        assert when - start >= number * 0.1 - CATCH_UP_SECONDS - 0.001
    assert len({id(pool) for pool in pools}) == 3  # a new pool in each new loop
    del pools, client
    gc.collect()


@abandoned_sockets
@pytest.mark.parametrize("backends", SEQUENCES, ids="→".join)
def test_a_429_pause_outlives_the_loop_that_received_it(
    server: Server, backends: tuple[str, str]
) -> None:
    client = AsyncClient(KEY, base_url=server.base_url, limiter=NoLimiter(), max_retries=0)
    server.throttle = 1
    start = time.monotonic()  # the 429 came after this: its pause ends 1 s after it, or later
    with pytest.raises(RateLimitError):
        run(backends[0], get, client)
    assert run(backends[1], get, client) == "alice@example.com"
    run(backends[1], client.aclose)
    _, after = server.arrivals
    assert after >= start + 1.0 - 0.001  # Retry-After: 1, honoured in the next loop
    del client
    gc.collect()


def test_a_limiter_forgets_waiters_of_a_loop_that_was_closed_under_them() -> None:
    limiter = LeakyBucketLimiter(60)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "Task was destroyed but ..."
    try:
        tasks = [loop.create_task(limiter.acquire()) for _ in range(4)]
        loop.run_until_complete(asyncio.sleep(0.05))
        assert limiter.waiting == 3  # one went, three sleep for their slots
    finally:
        loop.close()  # without cancelling them: they will never run again
    del tasks

    async def acquire_twice() -> float:
        start = anyio.current_time()
        await limiter.acquire()
        await limiter.acquire()
        return anyio.current_time() - start

    # The dead waiters hold no slot: the next slots are 1 s apart from the last one sent.
    waited = run("trio", acquire_twice)
    assert 1.0 - 0.01 <= waited < 5
    assert limiter.waiting == 0
    gc.collect()


@abandoned_sockets
def test_a_callers_http_client_from_another_loop_is_explained(server: Server) -> None:
    http = httpx.AsyncClient()
    client = AsyncClient(KEY, base_url=server.base_url, http_client=http, max_retries=0,
                         requests_per_minute=None)
    assert run("asyncio", get, client) == "alice@example.com"
    with pytest.raises(ClubSMTPError) as info:
        run("asyncio", get, client)  # its pool holds a connection of the closed loop
    assert type(info.value) is ClubSMTPError
    assert "belongs to another event loop" in str(info.value)
    assert "inside the event loop that uses them" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    run("asyncio", client.aclose)  # the http_client is the caller's: not closed by the SDK
    del http, client, info
    gc.collect()


def test_a_callers_loop_free_http_client_keeps_working() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"mailbox": MAILBOX, "errors": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = AsyncClient(KEY, base_url="https://api.clubsmtp.test", http_client=http)
    for backend in ("asyncio", "trio", "asyncio"):
        assert run(backend, get, client) == "alice@example.com"
    run("asyncio", client.aclose)


@abandoned_sockets
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated")
def test_a_module_level_client_serves_two_test_client_runs(server: Server) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    module = {"client": AsyncClient(KEY, base_url=server.base_url, requests_per_minute=600)}

    async def route(request: Any) -> JSONResponse:
        return JSONResponse({"address": await get(module["client"])})

    app = Starlette(routes=[Route("/", route)])
    for _ in range(2):  # each TestClient runs the app in a new event loop
        with TestClient(app) as test_client:
            assert test_client.get("/").json() == {"address": "alice@example.com"}
    run("asyncio", module["client"].aclose)
    module.clear()  # the last loop's pool goes with it (that loop ended, unclosed)
    gc.collect()


# --- LoopClock ---------------------------------------------------------------------------------


def test_the_clock_is_continuous_across_loops() -> None:
    clock = LoopClock()

    async def read() -> tuple[float, float]:
        return clock(), time.monotonic()

    readings = [run(backend, read) for backend in ("asyncio", "trio", "asyncio", "trio")]
    (first, first_mono) = readings[0]
    for reading, mono in readings[1:]:
        # trio's own clock is offset by hours, on purpose: this one is not.
        assert abs((reading - first) - (mono - first_mono)) < 0.05


def test_the_clock_is_the_loops_clock_within_a_loop() -> None:
    clock = LoopClock()

    async def offsets() -> tuple[float, float]:
        before = clock() - anyio.current_time()
        await anyio.sleep(0.01)
        return before, clock() - anyio.current_time()

    for backend in ("asyncio", "trio"):
        before, after = run(backend, offsets)
        assert abs(after - before) < 1e-3  # a constant: deltas are the loop's own
