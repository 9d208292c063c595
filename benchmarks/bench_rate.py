"""Rate-limited bulk in one process: achieved rate / configured rate, and 429s.

    python -m benchmarks.bench_rate [--rpm 600] [--seconds 20]

The emulator (``clubsmtp emulator``) runs in another process and enforces
``--rpm`` per key with its leaky bucket (default 50 ms jitter tolerance). Each
contender gets its own key (so its own bucket), fires ``rpm * seconds / 60 + 1``
pings at once with ``asyncio.gather``, and is measured from the emulator's
accepted-request timestamps, excluding the first request. Contenders, one after
the other in the same run:

- **naive**: plain httpx, tenacity retrying 429s after ``Retry-After`` (6 attempts);
- **aiolimiter (rpm, 60)**: the usual ``AsyncLimiter(rpm, 60)`` in front of the
  same retrying httpx call (its bucket holds a minute's budget);
- **aiolimiter (1, 60/rpm)**: aiolimiter tuned for smooth pacing;
- **SDK**: ``AsyncClient(requests_per_minute=rpm)``;
- **SDK bulk**: one domain create, then ``client.bulk.create_mailboxes`` (concurrency
  64) for the rest: the provisioning path, creates instead of pings.

Target (DESIGN §7): the SDK's ratio >= 0.99 with zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import httpx
import tenacity

from benchmarks._rate_common import EmulatorProcess, Outcome, key_for, key_id, print_table
from clubsmtp_async import AsyncClient, NewMailbox

NAIVE_ATTEMPTS = 6


class TooManyRequests(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"429, Retry-After {retry_after}")
        self.retry_after = retry_after


def _wait_retry_after(state: tenacity.RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return exc.retry_after if isinstance(exc, TooManyRequests) else 1.0


async def retrying_pings(
    url: str, key: str, count: int, limiter: Callable[[], AbstractAsyncContextManager[Any]]
) -> int:
    """`count` concurrent pings over plain httpx, each retried on 429 after Retry-After."""

    @tenacity.retry(
        retry=tenacity.retry_if_exception_type(TooManyRequests),
        wait=_wait_retry_after,
        stop=tenacity.stop_after_attempt(NAIVE_ATTEMPTS),
        reraise=True,
    )
    async def ping(http: httpx.AsyncClient) -> None:
        async with limiter():
            response = await http.get("/v1/ping")
        if response.status_code == 429:
            raise TooManyRequests(float(response.headers["Retry-After"]))
        response.raise_for_status()

    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        results = await asyncio.gather(*(ping(http) for _ in range(count)), return_exceptions=True)
    return sum(1 for r in results if not isinstance(r, BaseException))


async def naive(url: str, key: str, rpm: float, count: int) -> int:
    return await retrying_pings(url, key, count, nullcontext)


async def aiolimiter_minute(url: str, key: str, rpm: float, count: int) -> int:
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(rpm, 60)
    return await retrying_pings(url, key, count, lambda: limiter)


async def aiolimiter_smooth(url: str, key: str, rpm: float, count: int) -> int:
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(1, 60 / rpm)
    return await retrying_pings(url, key, count, lambda: limiter)


async def sdk(url: str, key: str, rpm: float, count: int) -> int:
    async with AsyncClient(key, base_url=url, requests_per_minute=rpm) as client:
        results = await asyncio.gather(
            *(client.ping() for _ in range(count)), return_exceptions=True
        )
    return sum(1 for r in results if not isinstance(r, BaseException))


async def sdk_bulk(url: str, key: str, rpm: float, count: int) -> int:
    async with AsyncClient(key, base_url=url, requests_per_minute=rpm) as client:
        domain = await client.domains.create(name=f"bench-{time.time_ns()}.example")
        items = [NewMailbox(domain_uuid=domain.uuid, local_part=f"u{i}", password="pw-123456")
                 for i in range(count - 1)]  # the domain was the first request
        result = await client.bulk.create_mailboxes(items, concurrency=64)
    return 1 + len(result.succeeded)


Contender = Callable[[str, str, float, int], Awaitable[int]]
CONTENDERS: dict[str, Contender] = {
    "naive httpx + gather + tenacity": naive,
    "aiolimiter AsyncLimiter(rpm, 60)": aiolimiter_minute,
    "aiolimiter AsyncLimiter(1, 60/rpm)": aiolimiter_smooth,
    "SDK AsyncClient(requests_per_minute)": sdk,
    "SDK bulk.create_mailboxes (c=64)": sdk_bulk,
}


def run(rpm: float, seconds: float, names: list[str]) -> list[Outcome]:
    count = int(rpm * seconds / 60) + 1
    keys = {name: key_for(f"{name}/{time.time_ns()}") for name in names}
    outcomes = []
    with EmulatorProcess(list(keys.values()), rpm) as emulator:
        for name in names:
            emulator.reset_stats()
            started = time.perf_counter()
            ok = asyncio.run(CONTENDERS[name](emulator.url, keys[name], rpm, count))
            wall = time.perf_counter() - started
            stats = emulator.stats()
            accepted = stats["accepted"].get(key_id(keys[name]), [])
            outcomes.append(Outcome(name, count, ok, stats["rate_limited"], accepted, wall, rpm))
            time.sleep(1)  # let the emulator settle between contenders
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_rate")
    parser.add_argument("--rpm", type=float, default=600)
    parser.add_argument("--seconds", type=float, default=20, help="steady state per contender")
    parser.add_argument("--only", action="append", choices=["naive", "aiolimiter", "sdk"])
    args, _ = parser.parse_known_args()
    names = [n for n in CONTENDERS
             if not args.only or any(n.lower().startswith(o) for o in args.only)]
    count = int(args.rpm * args.seconds / 60) + 1
    print(f"rate-limited bulk, one process: {count} concurrent pings per contender, key and "
          f"client at {args.rpm:g} requests/min, emulator in another process")
    outcomes = run(args.rpm, args.seconds, names)
    print_table(outcomes)
    for o in outcomes:
        if o.name.startswith("SDK"):
            verdict = "OK" if o.ratio >= 0.99 and o.rate_limited == 0 else "MISSED"
            print(f"  {o.name}: achieved / configured = {o.ratio:.4f}, {o.rate_limited} 429s "
                  f"(target >= 0.99, zero 429s): {verdict}")


if __name__ == "__main__":
    main()
