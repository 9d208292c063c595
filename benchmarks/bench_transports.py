"""Client CPU per request over each transport: the SDK vs the same bare library, side by side.

Transports: httpx (httpcore), httpx2 (httpcore2), and aiohttp (httpx over the
`httpx-aiohttp` transport, i.e. `aiohttp_http_client()`); raw aiohttp for
reference. For each, the SDK (its own pool of that library, or the aiohttp
client passed in) is compared with the bare library sending the same request
and decoding the body with `json.loads`. The canned server runs in another
process; only this process's CPU time is counted, at concurrency 1 and 100,
best of interleaved rounds (so drift on a shared machine hits all alike).

Run: python -m benchmarks.bench_transports [--requests 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.bench_client import start_server
from clubsmtp_async import AsyncClient, aiohttp_http_client
from clubsmtp_async._http import ENV_VAR

UUID = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
HEADERS = {"Authorization": "Bearer sk_test_x"}
WARM_UP = 200


async def _drive(call: Callable[[], Awaitable[object]], total: int, concurrency: int) -> float:
    """CPU seconds of this process per request for `total` calls at `concurrency`."""

    async def worker(calls: int) -> None:
        for _ in range(calls):
            await call()

    await asyncio.gather(*(worker(WARM_UP // 10) for _ in range(10)))  # open connections
    per_worker = total // concurrency
    cpu = time.process_time()
    await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
    return (time.process_time() - cpu) / (per_worker * concurrency)


def _limits(library: Any) -> Any:
    return library.Limits(max_connections=1000, max_keepalive_connections=100)


async def _bare(http: Any, base: str, total: int, concurrency: int) -> float:
    async with http:

        async def call() -> object:
            response = await http.get(f"{base}/v1/mailboxes/{UUID}")
            response.raise_for_status()
            return json.loads(response.content)["mailbox"]

        return await _drive(call, total, concurrency)


async def _sdk(http: Any, base: str, total: int, concurrency: int) -> float:
    async with AsyncClient(
        "sk_test_x", base_url=base, requests_per_minute=None, http_client=http
    ) as client:

        async def call() -> object:
            return await client.mailboxes.get(UUID)

        return await _drive(call, total, concurrency)


def bare_library(name: str) -> Callable[[str, int, int], Awaitable[float]]:
    """Bare httpx or httpx2 + `json.loads`."""
    library: Any = importlib.import_module(name)

    def run(base: str, total: int, concurrency: int) -> Awaitable[float]:
        http = library.AsyncClient(limits=_limits(library), headers=HEADERS)
        return _bare(http, base, total, concurrency)

    return run


def sdk_library(name: str) -> Callable[[str, int, int], Awaitable[float]]:
    """The SDK with its own pool of library `name` (as ``CLUBSMTP_HTTP_LIBRARY`` chooses)."""

    async def run(base: str, total: int, concurrency: int) -> float:
        os.environ[ENV_VAR] = name
        try:
            return await _sdk(None, base, total, concurrency)
        finally:
            del os.environ[ENV_VAR]

    return run


async def bare_httpx_aiohttp(base: str, total: int, concurrency: int) -> float:
    """Bare httpx over the `httpx-aiohttp` transport + `json.loads`."""
    import httpx
    from httpx_aiohttp import AiohttpTransport

    transport = AiohttpTransport(limits=_limits(httpx))
    return await _bare(httpx.AsyncClient(transport=transport, headers=HEADERS), base, total,
                       concurrency)


async def sdk_aiohttp(base: str, total: int, concurrency: int) -> float:
    """The SDK over `aiohttp_http_client()`."""
    async with aiohttp_http_client() as http:
        return await _sdk(http, base, total, concurrency)


async def raw_aiohttp(base: str, total: int, concurrency: int) -> float:
    """Raw aiohttp + `json.loads`, for reference."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:

        async def call() -> object:
            async with session.get(f"{base}/v1/mailboxes/{UUID}") as response:
                return json.loads(await response.read())["mailbox"]

        return await _drive(call, total, concurrency)


CONTENDERS: dict[str, Callable[[str, int, int], Awaitable[float]]] = {
    "bare httpx": bare_library("httpx"),
    "SDK httpx": sdk_library("httpx"),
    "bare httpx2": bare_library("httpx2"),
    "SDK httpx2": sdk_library("httpx2"),
    "bare httpx-aiohttp": bare_httpx_aiohttp,
    "SDK aiohttp": sdk_aiohttp,
    "raw aiohttp": raw_aiohttp,
}
PAIRS = [("SDK httpx", "bare httpx"), ("SDK httpx2", "bare httpx2"),
         ("SDK aiohttp", "bare httpx-aiohttp"), ("bare httpx2", "bare httpx"),
         ("SDK httpx2", "SDK httpx"), ("SDK aiohttp", "SDK httpx2")]


def best_of(rounds: int, base: str, total: int, concurrency: int) -> dict[str, float]:
    """Interleave the contenders round by round; keep each one's best."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, contender in CONTENDERS.items():
            seconds = asyncio.run(contender(base, total, concurrency))  # type: ignore[arg-type]
            best[name] = min(best.get(name, seconds), seconds)
    return best


def main() -> None:
    """Print the table of CPU per request, then the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()
    proc, base = start_server()
    try:
        print(f"client CPU per request, ms ({args.requests} requests, best of {args.rounds} "
              "interleaved rounds, server in another process)")
        results = {c: best_of(args.rounds, base, args.requests, c) for c in (1, 100)}
        print("| transport | c=1 | c=100 |\n|---|---|---|")
        for name in CONTENDERS:
            print(f"| {name} | {results[1][name] * 1e3:.3f} | {results[100][name] * 1e3:.3f} |")
        print("\n| ratio | c=1 | c=100 |\n|---|---|---|")
        for top, bottom in PAIRS:
            cells = " | ".join(f"{results[c][top] / results[c][bottom]:.3f}" for c in (1, 100))
            print(f"| {top} / {bottom} | {cells} |")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
