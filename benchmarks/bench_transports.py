"""Client CPU per request over each transport: the SDK vs the same bare library, side by side.

Transports: httpx (httpcore), httpx2 (httpcore2), and aiohttp (httpx over the
`httpx-aiohttp` transport, i.e. `aiohttp_http_client()`); raw aiohttp for
reference. For each, the SDK (its own pool of that library, or the aiohttp
client passed in) is compared with the bare library sending the same request
and decoding the body with `json.loads`.

The canned server (`_fast_server`, a bare asyncio protocol that answers far
faster than any client sends) runs in another process; only this process's
CPU time is counted. Every contender is opened once, with its connections
warm. The speed of a shared virtual machine drifts by tens of per cent within
seconds, so an SDK / bare ratio is measured in short slices, A-B-B-A, over
many rounds: the ratio of the two totals, and the median of the rounds'
ratios. Where the machine has two CPUs or more, the server and this process
are pinned to different ones.

``--instructions`` counts instead, with valgrind's callgrind, the instructions
this process executes per request (in two runs of different lengths, differenced,
so that start-up cancels): deterministic where CPU time is not,
though blind to the kernel and to cache misses.

Run: python -m benchmarks.bench_transports [--rounds 40] [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.bench_client import _free_port
from clubsmtp_async import AsyncClient, aiohttp_http_client
from clubsmtp_async._http import ENV_VAR

UUID = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
HEADERS = {"Authorization": "Bearer sk_test_x"}

Call = Callable[[], Awaitable[object]]
Contender = Callable[[str], AbstractAsyncContextManager[Call]]


def _limits(library: Any) -> Any:
    return library.Limits(max_connections=1000, max_keepalive_connections=100)


def _bare_call(http: Any, base: str) -> Call:
    url = f"{base}/v1/mailboxes/{UUID}"

    async def call() -> object:
        response = await http.get(url)
        response.raise_for_status()
        return json.loads(response.content)["mailbox"]

    return call


def bare_library(name: str) -> Contender:
    """Bare httpx or httpx2 + `json.loads`."""
    library: Any = importlib.import_module(name)

    @asynccontextmanager
    async def contender(base: str) -> AsyncIterator[Call]:
        async with library.AsyncClient(limits=_limits(library), headers=HEADERS) as http:
            yield _bare_call(http, base)

    return contender


def _client(base: str, http: Any = None) -> AsyncClient:
    return AsyncClient("sk_test_x", base_url=base, requests_per_minute=None, http_client=http)


@asynccontextmanager
async def _sdk(client: AsyncClient) -> AsyncIterator[Call]:
    async with client:

        async def call() -> object:
            return await client.mailboxes.get(UUID)

        yield call


def sdk_library(name: str) -> Contender:
    """The SDK with its own pool of library `name` (as ``CLUBSMTP_HTTP_LIBRARY`` chooses)."""

    @asynccontextmanager
    async def contender(base: str) -> AsyncIterator[Call]:
        saved = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = name  # read when the client is made
        try:
            client = _client(base)
        finally:
            os.environ.pop(ENV_VAR)
            if saved is not None:
                os.environ[ENV_VAR] = saved
        async with _sdk(client) as call:
            yield call

    return contender


@asynccontextmanager
async def bare_httpx_aiohttp(base: str) -> AsyncIterator[Call]:
    """Bare httpx over the `httpx-aiohttp` transport + `json.loads`."""
    import httpx
    from httpx_aiohttp import AiohttpTransport

    transport = AiohttpTransport(limits=_limits(httpx))
    async with httpx.AsyncClient(transport=transport, headers=HEADERS) as http:
        yield _bare_call(http, base)


@asynccontextmanager
async def sdk_aiohttp(base: str) -> AsyncIterator[Call]:
    """The SDK over `aiohttp_http_client()`."""
    async with aiohttp_http_client() as http, _sdk(_client(base, http)) as call:
        yield call


@asynccontextmanager
async def raw_aiohttp(base: str) -> AsyncIterator[Call]:
    """Raw aiohttp + `json.loads`, for reference."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as session:
        url = f"{base}/v1/mailboxes/{UUID}"

        async def call() -> object:
            async with session.get(url) as response:
                return json.loads(await response.read())["mailbox"]

        yield call


CONTENDERS: dict[str, Contender] = {
    "bare httpx": bare_library("httpx"),
    "SDK httpx": sdk_library("httpx"),
    "bare httpx2": bare_library("httpx2"),
    "SDK httpx2": sdk_library("httpx2"),
    "bare httpx-aiohttp": bare_httpx_aiohttp,
    "SDK aiohttp": sdk_aiohttp,
    "raw aiohttp": raw_aiohttp,
}
PAIRS = [
    ("SDK httpx", "bare httpx"),
    ("SDK httpx2", "bare httpx2"),
    ("SDK aiohttp", "bare httpx-aiohttp"),
    ("bare httpx2", "bare httpx"),
    ("SDK httpx2", "SDK httpx"),
    ("SDK aiohttp", "SDK httpx2"),
]
TARGETED = PAIRS[:3]  # the SDK over a transport / the same bare library: target <= 1.05


async def _run(call: Call, total: int, concurrency: int) -> None:
    async def worker(calls: int) -> None:
        for _ in range(calls):
            await call()

    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))


async def _slice(call: Call, total: int, concurrency: int) -> float:
    """CPU seconds of this process per request for `total` calls at `concurrency`."""
    cpu = time.process_time()
    await _run(call, total, concurrency)
    return (time.process_time() - cpu) / (total // concurrency * concurrency)


@dataclass
class Samples:
    """What one concurrency's measurement found."""

    cpu: dict[str, list[float]] = field(default_factory=dict)  # seconds a request, per slice
    ratios: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # per round


async def measure(base: str, total: int, rounds: int, concurrency: int) -> Samples:
    """Each SDK / bare pair A-B-B-A in every round, then raw aiohttp (see the module doc)."""
    found = Samples({name: [] for name in CONTENDERS}, {pair: [] for pair in TARGETED})
    async with AsyncExitStack() as stack:
        calls = {
            name: await stack.enter_async_context(make(base)) for name, make in CONTENDERS.items()
        }
        for call in calls.values():  # open the connections, warm every code path
            await _run(call, concurrency * 3, concurrency)
        for number in range(rounds):
            shift = number % len(TARGETED)
            for sdk, bare in TARGETED[shift:] + TARGETED[:shift]:
                times = {sdk: 0.0, bare: 0.0}
                for name in (bare, sdk, sdk, bare):
                    seconds = await _slice(calls[name], total, concurrency)
                    found.cpu[name].append(seconds)
                    times[name] += seconds
                found.ratios[sdk, bare].append(times[sdk] / times[bare])
            found.cpu["raw aiohttp"].append(await _slice(calls["raw aiohttp"], total, concurrency))
    return found


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """Start `_fast_server` in a subprocess; return it and its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._fast_server", str(port)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"ready":
        proc.kill()
        raise RuntimeError("the canned server did not start")
    return proc, f"http://127.0.0.1:{port}"


def _pin(server_pid: int) -> str:
    """Pin the server and this process to different CPUs when there are two or more."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    os.sched_setaffinity(server_pid, {cpus[1]})
    os.sched_setaffinity(0, {cpus[0]})
    return f"server on CPU {cpus[1]}, client on CPU {cpus[0]}"


def main() -> None:
    """Print the table of CPU per request, then the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40, help="rounds at c=1 (c=100: 3/8)")
    parser.add_argument("--instructions", action="store_true", help="count under callgrind")
    args, _ = parser.parse_known_args()
    proc, base = start_server()
    try:
        if args.instructions:
            _count_instructions(base)
            return
        pinning = _pin(proc.pid)
        print(
            f"client CPU per request, ms (slices of {SLICES[1]} requests at c=1 and "
            f"{SLICES[100]} at c=100, server in another process, {pinning})"
        )
        rounds = {1: args.rounds, 100: max(1, args.rounds * 3 // 8)}
        results = {c: asyncio.run(measure(base, SLICES[c], rounds[c], c)) for c in (1, 100)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    _report(results)


SLICES = {1: 50, 100: 500}  # requests a slice


def _count_instructions(base: str) -> None:
    """Instructions per request of each contender, under callgrind (see the module doc).

    The runs are independent processes, run side by side: a count does not
    depend on what else the machine does.
    """
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (e.g. apt install valgrind)")
    jobs = [(c, name, n) for c in (1, 100) for name in CONTENDERS for n in INSTRUCTION_RUNS[c]]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = dict(zip(jobs, pool.map(lambda job: _instructions(base, *job), jobs), strict=True))
    counts = {
        c: {
            name: (found[c, name, runs[1]] - found[c, name, runs[0]]) / (runs[1] - runs[0])
            for name in CONTENDERS
        }
        for c, runs in INSTRUCTION_RUNS.items()
    }
    header = "| c=1 | c=100 |\n|---|---|---|"
    print(f"instructions per request (callgrind)\n\n| transport {header}")
    for name in CONTENDERS:
        print(f"| {name} | {counts[1][name] / 1e3:,.0f} k | {counts[100][name] / 1e3:,.0f} k |")
    print(f"\n| SDK / bare {header}")
    for top, bottom in TARGETED:
        cells = " | ".join(f"{counts[c][top] / counts[c][bottom]:.3f}" for c in (1, 100))
        print(f"| {top} / {bottom} | {cells} |")


INSTRUCTION_RUNS = {1: (200, 700), 100: (200, 500)}  # requests of the two runs differenced


def _instructions(base: str, concurrency: int, name: str, requests: int) -> int:
    """Instructions of one run of `requests` through `name` at `concurrency`."""
    code = (
        "import asyncio, sys; from benchmarks import bench_transports as b; "
        "asyncio.run(b.run_one(*sys.argv[1:3], int(sys.argv[3]), int(sys.argv[4])))"
    )
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
            base,
            name,
            str(requests),
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise RuntimeError(f"callgrind printed no count: {done.stderr[-500:]}")


async def run_one(base: str, name: str, requests: int, concurrency: int) -> None:
    """Send `requests` through contender `name` (what `--instructions` counts)."""
    async with CONTENDERS[name](base) as call:
        await _run(call, requests, concurrency)


def _report(results: dict[int, Samples]) -> None:
    median = {c: {n: statistics.median(s) for n, s in r.cpu.items()} for c, r in results.items()}
    header = "| c=1 | c=100 |\n|---|---|---|"
    print(f"| transport (median slice) {header}")
    for name in CONTENDERS:
        print(f"| {name} | {median[1][name] * 1e3:.3f} | {median[100][name] * 1e3:.3f} |")
    print(f"\n| SDK / bare (target <= 1.05): ratio of totals (median of rounds) {header}")
    worst = 0.0
    for pair in TARGETED:
        totals = [sum(results[c].cpu[pair[0]]) / sum(results[c].cpu[pair[1]]) for c in (1, 100)]
        medians = [statistics.median(results[c].ratios[pair]) for c in (1, 100)]
        worst = max(worst, *totals)
        cells = " | ".join(f"{t:.3f} ({m:.3f})" for t, m in zip(totals, medians, strict=True))
        print(f"| {pair[0]} / {pair[1]} | {cells} |")
    print(f"\n| other ratios, of median slices {header}")
    for top, bottom in PAIRS[len(TARGETED) :]:
        cells = " | ".join(f"{median[c][top] / median[c][bottom]:.3f}" for c in (1, 100))
        print(f"| {top} / {bottom} | {cells} |")
    print(f"\nworst SDK / bare ratio: {worst:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
