"""Client CPU per request as the number of concurrent callers grows (c = 100, 1,000, 10,000).

One client, c tasks calling `mailboxes.get` at once over loopback sockets
against the canned server (another process), the same total of requests at
every c; the client process's CPU time (`time.process_time`) per request and
the wall time are printed. Contenders:

- the SDK with its default in-flight bound (`max_in_flight=100`);
- the SDK with other bounds at 1,000 and 10,000 callers (the sweep behind the default);
- the SDK with no bound (``max_in_flight=None``, a 1,000-connection pool), only
  up to ``--unbounded-up-to`` callers: past the pool's size, httpcore's
  bookkeeping of waiting requests grows with their square.

Then, against the emulator over sockets (`clubsmtp_async.testing.serve`, in this
process, so only wall times and failures count): 1,000 and 1,500 concurrent
pings without the bound, 1,500 and 10,000 with it.

Run: python -m benchmarks.bench_concurrency [--requests 4000] [--rounds 5] [--no-emulator]
(about 20 min)
"""

from __future__ import annotations

import argparse
import asyncio
import time

import anyio

from clubsmtp_async import AsyncClient, ClubSMTPError

from .bench_client import UUID, start_server

CONCURRENCY = (100, 1_000, 10_000)
SWEEP = (25, 50, 200, 400)  # other bounds, at the two larger concurrencies


async def _run(
    base: str, total: int, concurrency: int, max_in_flight: int | None
) -> tuple[float, float]:
    """(CPU seconds per request, wall seconds) for `total` calls by `concurrency` tasks."""
    async with AsyncClient(
        "sk_test_x", base_url=base, requests_per_minute=None, max_in_flight=max_in_flight
    ) as client:
        per_task = max(1, total // concurrency)

        async def caller() -> None:
            for _ in range(per_task):
                await client.mailboxes.get(UUID)

        await asyncio.gather(*(client.mailboxes.get(UUID) for _ in range(50)))  # warm up
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        done = per_task * concurrency
        return (time.process_time() - cpu) / done, time.perf_counter() - wall


async def _bounded(seconds: float, base: str, total: int, c: int) -> float | None:
    """Wall seconds of the unbounded client at `c` callers, or None past `seconds`."""
    with anyio.move_on_after(seconds):
        return (await _run(base, total, c, None))[1]
    return None


async def _pings(client: AsyncClient, n: int) -> tuple[float, list[str]]:
    """Wall seconds for `n` concurrent pings, and the names of the errors."""
    failed: list[str] = []

    async def ping() -> None:
        try:
            await client.ping()
        except ClubSMTPError as exc:
            failed.append(type(exc).__name__)

    wall = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(ping)
    return time.perf_counter() - wall, failed


async def against_the_emulator(runs: tuple[tuple[int, int | None], ...]) -> None:
    """Wall time and failures of `n` concurrent pings per run, over sockets."""
    from clubsmtp_async.testing import Emulator, serve

    emulator = Emulator(api_keys=["sk_test_k"], requests_per_minute=10**9, burst=10**6)
    async with serve(emulator, port=0) as server:
        for n, bound in runs:
            async with AsyncClient(
                "sk_test_k", base_url=server.base_url, requests_per_minute=None,
                max_in_flight=bound, max_retries=0,
            ) as client:
                wall, failed = await _pings(client, n)
            label = "unbounded" if bound is None else f"max_in_flight={bound}"
            print(f"  emulator, {n:>6,} concurrent pings, {label:<18s} wall {wall:6.1f} s, "
                  f"failed {len(failed)} {sorted(set(failed))}", flush=True)


def main() -> None:
    """Print CPU per request at each concurrency and bound (interleaved rounds, best of)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--unbounded-up-to", type=int, default=1_000)
    parser.add_argument("--quadratic-timeout", type=float, default=60.0)
    parser.add_argument("--no-emulator", dest="emulator", action="store_false")
    args, _ = parser.parse_known_args()
    configs: list[tuple[int, int | None]] = [(c, 100) for c in CONCURRENCY]
    configs += [(c, bound) for c in CONCURRENCY[1:] for bound in SWEEP]
    configs += [(c, None) for c in CONCURRENCY if c <= args.unbounded_up_to]
    proc, base = start_server()
    try:
        print(
            f"client CPU per request, {args.requests} requests (at least one per caller), best "
            f"of {args.rounds} interleaved rounds, server in another process"
        )
        best: dict[tuple[int, int | None], tuple[float, float]] = {}
        for _ in range(args.rounds):  # round by round: drift hits every config alike
            for config in configs:
                cpu, wall = asyncio.run(_run(base, args.requests, *config))
                old = best.get(config, (cpu, wall))
                best[config] = (min(old[0], cpu), min(old[1], wall))
        for (c, bound), (cpu, wall) in best.items():
            label = "unbounded" if bound is None else f"max_in_flight={bound}"
            print(f"  c={c:<6d} {label:<18s} {cpu * 1e3:.3f} ms/request  wall {wall:.2f} s")
        for c in CONCURRENCY[1:]:
            ratio = best[c, 100][0] / best[CONCURRENCY[0], 100][0]
            print(f"  default bound: CPU/request at c={c} / c=100 = {ratio:.2f} (target <= 1.10)")
        if args.quadratic_timeout > 0:
            wall = anyio.run(_bounded, args.quadratic_timeout, base, 1_500, 1_500)
            shown = f"{wall:.1f} s" if wall is not None else f"> {args.quadratic_timeout:g} s"
            print(f"  unbounded, 1,500 callers, one request each: {shown}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if args.emulator:
        runs = ((1_000, None), (1_500, None), (1_500, 100), (10_000, 100))
        anyio.run(against_the_emulator, runs)


if __name__ == "__main__":
    main()
