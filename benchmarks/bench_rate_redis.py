"""Rate-limited bulk in 4 processes sharing one key: achieved / configured rate, and 429s.

    python -m benchmarks.bench_rate_redis [--rpm 600] [--seconds 20] [--processes 4]

One emulator (``clubsmtp emulator``, its own process) enforces ``--rpm`` on one
key; a throw-away ``redis-server`` holds the shared budget. N worker processes
each fire their share of ``rpm * seconds / 60 + 1`` pings at once with
``asyncio.gather`` through their own SDK client, released together once all
are ready. Side by side in the same run:

- **RedisLimiter**: every process uses ``RedisLimiter(redis_url, key,
  requests_per_minute=rpm)``: one budget for all;
- **in-process limiter each**: every process paces itself at the full rpm
  (``AsyncClient(requests_per_minute=rpm)``, what a user gets without a shared
  limiter): N times the rate, so the emulator answers 429s.

The rate is measured from the emulator's accepted-request timestamps, excluding
the first request. Target (DESIGN §7): RedisLimiter >= 0.97 with zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from benchmarks._rate_common import (
    EmulatorProcess,
    Outcome,
    RedisProcess,
    key_for,
    key_id,
    print_table,
)
from clubsmtp_async import AsyncClient, LeakyBucketLimiter, Limiter, RedisLimiter


async def worker(url: str, key: str, rpm: float, count: int, kind: str, redis_url: str) -> None:
    """One process: build the client, say ready, wait for "go", fire `count` pings."""
    limiter: Limiter = (
        RedisLimiter(redis_url, key, requests_per_minute=rpm)
        if kind == "redis"
        else LeakyBucketLimiter(rpm)
    )
    try:
        async with AsyncClient(key, base_url=url, limiter=limiter) as client:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            results = await asyncio.gather(
                *(client.ping() for _ in range(count)), return_exceptions=True
            )
    finally:
        await limiter.aclose()
    errors = [type(r).__name__ for r in results if isinstance(r, BaseException)]
    print(json.dumps({"ok": len(results) - len(errors), "errors": errors}), flush=True)


def run_processes(
    url: str, key: str, rpm: float, counts: list[int], kind: str, redis_url: str
) -> tuple[int, float]:
    """Start the workers, release them together; return (calls that succeeded, wall seconds)."""
    argv = [sys.executable, "-m", "benchmarks.bench_rate_redis", "worker", url, key, str(rpm)]
    procs = [
        subprocess.Popen([*argv, str(count), kind, redis_url],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for count in counts
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"worker did not start: {line!r}")
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=170)[0] for proc in procs]
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    ok = sum(json.loads(out.strip().splitlines()[-1])["ok"] for out in outputs)
    return ok, wall


def run(rpm: float, seconds: float, processes: int) -> list[Outcome]:
    total = int(rpm * seconds / 60) + 1
    counts = [total // processes + (i < total % processes) for i in range(processes)]
    cases = {
        f"{processes} procs, RedisLimiter": "redis",
        f"{processes} procs, in-process limiter each": "local",
    }
    keys = {name: key_for(f"{name}/{time.time_ns()}") for name in cases}
    outcomes = []
    with RedisProcess() as redis, EmulatorProcess(list(keys.values()), rpm) as emulator:
        for name, kind in cases.items():
            emulator.reset_stats()
            ok, wall = run_processes(emulator.url, keys[name], rpm, counts, kind, redis.url)
            stats = emulator.stats()
            accepted = stats["accepted"].get(key_id(keys[name]), [])
            outcomes.append(Outcome(name, total, ok, stats["rate_limited"], accepted, wall, rpm))
            time.sleep(1)
    return outcomes


def main() -> None:
    if sys.argv[1:2] == ["worker"]:
        url, key, rpm, count, kind, redis_url = sys.argv[2:8]
        asyncio.run(worker(url, key, float(rpm), int(count), kind, redis_url))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_rate_redis")
    parser.add_argument("--rpm", type=float, default=600)
    parser.add_argument("--seconds", type=float, default=20, help="steady state per case")
    parser.add_argument("--processes", type=int, default=4)
    args, _ = parser.parse_known_args()
    total = int(args.rpm * args.seconds / 60) + 1
    print(f"rate-limited bulk, {args.processes} processes sharing one key: {total} pings in "
          f"all, key and every client at {args.rpm:g} requests/min, emulator and redis-server "
          "in their own processes")
    outcomes = run(args.rpm, args.seconds, args.processes)
    print_table(outcomes)
    shared = outcomes[0]
    verdict = "OK" if shared.ratio >= 0.97 and shared.rate_limited == 0 else "MISSED"
    print(f"  RedisLimiter: achieved / configured = {shared.ratio:.4f}, {shared.rate_limited} "
          f"429s (target >= 0.97, zero 429s): {verdict}")


if __name__ == "__main__":
    main()
