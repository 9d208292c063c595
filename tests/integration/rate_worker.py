"""One worker process of the shared-budget tests: an SDK client sending as fast as it can.

    python rate_worker.py BASE_URL API_KEY RPM COUNT (redis REDIS_URL | file PATH | local)

It builds its client (with a `RedisLimiter`, a `FileLimiter`, or its own in-process limiter),
prints ``ready``, waits for a line on stdin (so that every worker starts at
once), sends COUNT pings concurrently, and prints one JSON line:
``{"ok": n, "errors": ["ExceptionType: message", ...]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys

from clubsmtp_async import AsyncClient, FileLimiter, LeakyBucketLimiter, Limiter, RedisLimiter


async def main(argv: list[str]) -> None:
    base_url, api_key, rpm, count, kind = argv[:5]
    limiter: Limiter
    if kind == "redis":
        limiter = RedisLimiter(argv[5], api_key, requests_per_minute=float(rpm))
    elif kind == "file":
        limiter = FileLimiter(argv[5], float(rpm))
    else:
        limiter = LeakyBucketLimiter(float(rpm))
    try:
        async with AsyncClient(api_key, base_url=base_url, limiter=limiter) as client:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            results = await asyncio.gather(
                *(client.ping() for _ in range(int(count))), return_exceptions=True
            )
    finally:
        await limiter.aclose()  # given to the client, so the client does not close it
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    print(json.dumps({"ok": len(results) - len(errors), "errors": errors}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
