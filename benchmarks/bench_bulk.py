"""Bulk helpers: latency-bound throughput and streaming memory.

    python -m benchmarks.bench_bulk            # both parts (about a minute)
    python -m benchmarks.bench_bulk latency    # part 1 only
    python -m benchmarks.bench_bulk memory     # part 2 only

1. **Latency-bound throughput.** N mailbox creates against the in-process
   emulator with a fixed latency L on ``POST /v1/mailboxes``, concurrency C.
   The ideal time is N·L/C; the figure is ideal / achieved (target >= 0.90).
   Side by side, in the same run: a naive ``asyncio.gather`` over raw httpx with
   an ``asyncio.Semaphore(C)`` (all N coroutines created up front).
2. **Streaming memory.** ``iter_delete_mailboxes`` over a generator of N UUIDs
   through `httpx.MockTransport` (the in-process emulator costs ~0.85 ms of CPU
   per request, too slow for 160,000 requests in a short run). Each N runs in a
   fresh process so that its peak RSS (``ru_maxrss``) is its own; it must not
   grow with N. (tracemalloc was used once to confirm: a flat ~1.5 MiB traced
   peak at every N, but it slows the run about sixfold, so it is off here.)
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

import anyio
import httpx

from clubsmtp_async import AsyncClient, NewMailbox
from clubsmtp_async.testing import Emulator, Latency

LATENCY_CASES = [  # (N, latency: fixed L or a uniform (low, high) range, C)
    (640, (0.25, 0.25), 32),
    (1_000, (0.3, 0.7), 100),
]
MEMORY_SIZES = [10_000, 50_000, 100_000]
KEY = "sk_live_" + "b" * 72


# --- 1. latency-bound throughput ---------------------------------------------------------


Span = tuple[float, float]


def _emulator(latency: Span) -> tuple[Emulator, str]:
    emulator = Emulator(seed=1, requests_per_minute=10_000_000, burst=100_000)
    domain = emulator.seed({"domains": [{"name": "acme.example"}]})["domains"][0]
    low, high = latency
    emulator.faults.add("POST", "/v1/mailboxes", Latency(low, None if high == low else high))
    return emulator, domain["uuid"]


def _items(domain_uuid: str, count: int) -> list[NewMailbox]:
    return [NewMailbox(domain_uuid=domain_uuid, local_part=f"u{i}", password="pw-123")
            for i in range(count)]


async def sdk_bulk(count: int, latency: Span, concurrency: int) -> tuple[float, float]:
    emulator, domain_uuid = _emulator(latency)
    items = _items(domain_uuid, count)
    async with emulator.client(requests_per_minute=None) as client:
        started, cpu = time.perf_counter(), time.process_time()
        result = await client.bulk.create_mailboxes(items, concurrency=concurrency)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert result.ok, result.failed[:3]
    assert len(emulator.store.mailboxes) == count
    return elapsed, cpu


async def naive_gather(count: int, latency: Span, concurrency: int) -> tuple[float, float]:
    emulator, domain_uuid = _emulator(latency)
    semaphore = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {emulator.api_key}"}

    async def create(http: httpx.AsyncClient, index: int) -> None:
        body = {"domain_uuid": domain_uuid, "local_part": f"u{index}", "password": "pw-123"}
        async with semaphore:
            response = await http.post("/v1/mailboxes", json=body, headers=headers)
        assert json.loads(response.content)["mailbox"]["address"] == f"u{index}@acme.example"

    transport = emulator.transport()
    async with httpx.AsyncClient(transport=transport, base_url=emulator.base_url()) as http:
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(create(http, i) for i in range(count)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(emulator.store.mailboxes) == count
    return elapsed, cpu


def latency_part() -> None:
    print("1. Latency-bound throughput (in-process emulator, latency on POST /v1/mailboxes)")
    print("   ideal = N * mean(L) / C; CPU = client + in-process emulator, per item")
    print(f"{'N':>6} {'L (s)':>9} {'C':>4} {'ideal':>6} | {'run':<30} {'time (s)':>8}"
          f" {'items/s':>7} {'CPU ms':>6} {'vs ideal':>8}")
    for count, latency, concurrency in LATENCY_CASES:
        ideal = count * (latency[0] + latency[1]) / 2 / concurrency
        shown = f"{latency[0]}" if latency[0] == latency[1] else f"{latency[0]}-{latency[1]}"
        runs = [
            ("SDK bulk (asyncio)", anyio.run(sdk_bulk, count, latency, concurrency)),
            ("SDK bulk (trio)", anyio.run(sdk_bulk, count, latency, concurrency, backend="trio")),
            ("naive gather+Semaphore, httpx",
             asyncio.run(naive_gather(count, latency, concurrency))),
        ]
        for name, (elapsed, cpu) in runs:
            print(f"{count:>6} {shown:>9} {concurrency:>4} {ideal:>6.2f} | {name:<30}"
                  f" {elapsed:>8.2f} {count / elapsed:>7.0f} {cpu / count * 1000:>6.2f}"
                  f" {ideal / elapsed:>8.3f}")


# --- 2. streaming memory -------------------------------------------------------------------


_DELETED = b'{"success": true, "errors": []}'


def _deleted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=_DELETED, headers={"content-type": "application/json"})


def _uuids(count: int) -> Iterator[str]:
    return (f"018f1a2b-3c4d-7e5f-a6b7-{i:012d}" for i in range(count))


async def stream_deletes(count: int) -> tuple[int, float]:
    """Stream `count` deletes; return how many succeeded and the seconds taken."""
    ok = 0
    http = httpx.AsyncClient(transport=httpx.MockTransport(_deleted))
    async with http, AsyncClient(KEY, base_url="https://api.clubsmtp.test", http_client=http,
                                 requests_per_minute=None) as client:
        started = time.perf_counter()
        async with client.bulk.iter_delete_mailboxes(_uuids(count)) as outcomes:
            async for outcome in outcomes:
                ok += outcome.ok
        return ok, time.perf_counter() - started


def memory_child(count: int) -> None:
    """One measurement, in its own process: prints a JSON line."""
    ok, elapsed = anyio.run(stream_deletes, count)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"n": count, "ok": ok, "seconds": elapsed, "max_rss_kib": rss_kib}))


def memory_part() -> None:
    print("2. Streaming memory: iter_delete_mailboxes over a generator, MockTransport, C=32")
    print(f"{'N':>8} {'ok':>8} {'time (s)':>8} {'items/s':>8} {'peak RSS':>10}")
    for count in MEMORY_SIZES:
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_bulk", "memory-child", str(count)],
            check=True, capture_output=True, text=True,
        ).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(f"{row['n']:>8} {row['ok']:>8} {row['seconds']:>8.1f}"
              f" {row['n'] / row['seconds']:>8.0f} {row['max_rss_kib'] / 1024:>6.1f} MiB")


def main(args: list[str] | None = None) -> None:
    """Run the parts named in `args` (default: both)."""
    args = args or []
    if args[:1] == ["memory-child"]:
        memory_child(int(args[1]))
        return
    parts = args or ["latency", "memory"]
    if "latency" in parts:
        latency_part()
        print()
    if "memory" in parts:
        memory_part()


if __name__ == "__main__":
    main(sys.argv[1:])
