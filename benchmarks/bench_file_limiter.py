"""FileLimiter: the cost of one acquire(), and the achieved rate of N processes on one key.

    Run: python -m benchmarks.bench_file_limiter [--rpm 600] [--seconds 20] [--calls 3000]

1. **Cost of one `acquire()`**, with a burst so large that nobody ever waits
   (so only the booking is measured: a worker-thread hop, `flock`, a 256-byte
   read and write): wall and CPU per call, in one process alone, then in each of
   4 processes hammering the same file at once.
2. **Achieved rate vs the ceiling** with 2 and 4 processes against one emulator
   (``clubsmtp emulator``, its own process) enforcing ``--rpm`` on one key: each
   process fires its share of ``rpm * seconds / 60 + 1`` pings at once through
   ``AsyncClient(limiter=FileLimiter(path, rpm))``. The rate is measured from
   the emulator's accepted-request timestamps, excluding the first request.
   Target (as for RedisLimiter): >= 0.97 with zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._rate_common import EmulatorProcess, Outcome, key_for, key_id, print_table
from clubsmtp_async import AsyncClient, FileLimiter

BIG_BURST = 10**9  # the bucket never empties: acquire() never sleeps


async def cost_worker(path: str, calls: int) -> None:
    """Time `calls` acquire()s on an ever-open bucket; print wall and CPU per call (µs)."""
    limiter = FileLimiter(path, 60_000_000, burst=BIG_BURST)
    await limiter.acquire()  # warm: the thread pool, the file
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await limiter.acquire()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await limiter.aclose()
    print(json.dumps({"wall_us": wall / calls * 1e6, "cpu_us": cpu / calls * 1e6}), flush=True)


async def rate_worker(url: str, key: str, rpm: float, count: int, path: str) -> None:
    """One process: its client on the shared file, ready, "go", `count` pings at once."""
    limiter = FileLimiter(path, rpm)
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


def run_together(argvs: list[list[str]]) -> tuple[list[dict[str, object]], float]:
    """Start the workers, release them together; return their JSON results and the wall time."""
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.bench_file_limiter", *argv],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for argv in argvs]
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
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs], wall


def cost(calls: int, workdir: Path) -> None:
    print(f"cost of one acquire() (never waiting), {calls} calls per process:")
    print(f"  {'case':34s} {'wall/call':>10s} {'CPU/call':>10s}")
    for processes in (1, 4):
        path = str(workdir / f"cost-{processes}")
        results, _ = run_together([["cost", path, str(calls)]] * processes)
        wall = sum(float(str(r["wall_us"])) for r in results) / processes
        cpu = sum(float(str(r["cpu_us"])) for r in results) / processes
        name = "1 process alone" if processes == 1 else f"{processes} processes, one file (each)"
        print(f"  {name:34s} {wall:8.1f}µs {cpu:8.1f}µs")


def rate(rpm: float, seconds: float, workdir: Path) -> list[Outcome]:
    total = int(rpm * seconds / 60) + 1
    cases = {processes: key_for(f"file/{processes}/{time.time_ns()}") for processes in (2, 4)}
    outcomes = []
    with EmulatorProcess(list(cases.values()), rpm) as emulator:
        for processes, key in cases.items():
            counts = [total // processes + (i < total % processes) for i in range(processes)]
            path = str(workdir / f"rate-{processes}")
            argvs = [["rate", emulator.url, key, str(rpm), str(n), path] for n in counts]
            emulator.reset_stats()
            results, wall = run_together(argvs)
            ok = sum(int(str(r["ok"])) for r in results)
            stats = emulator.stats()
            accepted = stats["accepted"].get(key_id(key), [])
            name = f"{processes} procs, FileLimiter"
            outcomes.append(Outcome(name, total, ok, stats["rate_limited"], accepted, wall, rpm))
            time.sleep(1)
    return outcomes


def main() -> None:
    if sys.argv[1:2] == ["cost"]:
        asyncio.run(cost_worker(sys.argv[2], int(sys.argv[3])))
        return
    if sys.argv[1:2] == ["rate"]:
        url, key, rpm, count, path = sys.argv[2:7]
        asyncio.run(rate_worker(url, key, float(rpm), int(count), path))
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_file_limiter")
    parser.add_argument("--rpm", type=float, default=600)
    parser.add_argument("--seconds", type=float, default=20, help="steady state per case")
    parser.add_argument("--calls", type=int, default=3000, help="acquire()s per process (cost)")
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as workdir:
        cost(args.calls, Path(workdir))
        total = int(args.rpm * args.seconds / 60) + 1
        print(f"\nachieved rate, processes sharing one key through one file: {total} pings in "
              f"all, key and every client at {args.rpm:g} requests/min")
        outcomes = rate(args.rpm, args.seconds, Path(workdir))
    print_table(outcomes)
    for o in outcomes:
        verdict = "OK" if o.ratio >= 0.97 and o.rate_limited == 0 else "MISSED"
        print(f"  {o.name}: achieved / configured = {o.ratio:.4f}, {o.rate_limited} 429s "
              f"(target >= 0.97, zero 429s): {verdict}")


if __name__ == "__main__":
    main()
