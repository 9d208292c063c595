"""Client CPU per request: the SDK (both transports) vs bare httpx + json.loads vs raw aiohttp.

The server (uvicorn, canned answer) runs in another process; only the client
process's CPU time (`time.process_time`) is measured, for the same number of
requests at concurrency 1 and 100. The SDK's own pool is an httpx one here
(``CLUBSMTP_HTTP_LIBRARY=httpx``), so that it is compared with the same
library bare; `bench_transports` compares every library with itself.

Run: python -m benchmarks.bench_client [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from clubsmtp_async import AsyncClient, Mailbox, aiohttp_http_client
from clubsmtp_async._http import ENV_VAR

UUID = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """Start the canned server in a subprocess; return it and its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks._canned_server:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--backlog",
            "2048",
        ],
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the canned server did not start")


async def _drive(call: Callable[[], Awaitable[object]], total: int, concurrency: int) -> float:
    """CPU seconds of this process per request for `total` calls at `concurrency`."""
    per_worker = total // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    await asyncio.gather(*(worker() for _ in range(10)))  # warm up connections
    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - cpu) / (per_worker * concurrency)


async def bare_httpx(base: str, total: int, concurrency: int) -> float:
    """Bare httpx + json.loads."""
    async with httpx.AsyncClient(
        limits=LIMITS, headers={"Authorization": "Bearer sk_test_x"}
    ) as http:

        async def call() -> object:
            response = await http.get(f"{base}/v1/mailboxes/{UUID}")
            response.raise_for_status()
            return json.loads(response.content)["mailbox"]

        return await _drive(call, total, concurrency)


async def sdk(base: str, total: int, concurrency: int) -> float:
    """The SDK with its own httpx pool, no limiter (the pacing is measured elsewhere)."""
    async with AsyncClient("sk_test_x", base_url=base, requests_per_minute=None) as client:

        async def call() -> Mailbox:
            return await client.mailboxes.get(UUID)

        return await _drive(call, total, concurrency)


async def sdk_aiohttp(base: str, total: int, concurrency: int) -> float:
    """The SDK over its fast transport option, `aiohttp_http_client()`."""
    async with (
        aiohttp_http_client() as http,
        AsyncClient(
            "sk_test_x", base_url=base, requests_per_minute=None, http_client=http
        ) as client,
    ):

        async def call() -> Mailbox:
            return await client.mailboxes.get(UUID)

        return await _drive(call, total, concurrency)


async def raw_aiohttp(base: str, total: int, concurrency: int) -> float:
    """Raw aiohttp + json.loads, for reference."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> object:
            async with session.get(f"{base}/v1/mailboxes/{UUID}") as response:
                return json.loads(await response.read())["mailbox"]

        return await _drive(call, total, concurrency)


def _best_of(rounds: int, base: str, total: int, concurrency: int) -> dict[str, float]:
    """Interleave the contenders round by round (so drift hits all alike); keep each best."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for fn in (bare_httpx, sdk, sdk_aiohttp, raw_aiohttp):
            seconds = asyncio.run(fn(base, total, concurrency))
            best[fn.__name__] = min(best.get(fn.__name__, seconds), seconds)
    return best


def main() -> None:
    """Print CPU per request and the SDK/bare ratios at c=1 and c=100."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()
    os.environ[ENV_VAR] = "httpx"  # the SDK's own pool: the library it is compared with
    proc, base = start_server()
    try:
        print(
            f"client CPU per request ({args.requests} requests, best of {args.rounds} "
            "interleaved rounds, server in another process)"
        )
        for concurrency in (1, 100):
            figures = _best_of(args.rounds, base, args.requests, concurrency)
            line = "  ".join(f"{name} {sec * 1e3:.3f} ms" for name, sec in figures.items())
            bare = figures["bare_httpx"]
            print(f"  c={concurrency:<3d} {line}")
            print(f"        sdk/bare_httpx = {figures['sdk'] / bare:.3f} (target <= 1.05)")
            print(
                f"        sdk_aiohttp/bare_httpx = {figures['sdk_aiohttp'] / bare:.3f}"
                f" (target at c=100 <= 0.20), sdk_aiohttp/raw_aiohttp = "
                f"{figures['sdk_aiohttp'] / figures['raw_aiohttp']:.2f} (target <= 4)"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
