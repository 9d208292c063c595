"""Two real processes share one key's budget through one `FileLimiter` state file.

Each process (``rate_worker.py``) has its own SDK client with
``FileLimiter(path, rpm)`` at the key's ceiling and sends more requests than
the emulator's burst, all at once; one emulator enforces the ceiling (with a
burst) over real sockets. Together they must never trip it. The bounds are
about counts and spacing, not speed.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from clubsmtp_async.testing import Emulator, serve
from integration.test_redis_shared_budget import accepted, run_workers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(45)]

RPM = 600  # T = 100 ms
PROCESSES = 2
BURST = 3


@pytest.mark.asyncio
async def test_two_processes_on_one_file_never_trip_the_shared_limit(tmp_path: Path) -> None:
    per_process = 15  # 30 requests in all, ten times the burst
    api_key = f"sk_test_{uuid.uuid4().hex}"
    emulator = Emulator(api_keys=[api_key], requests_per_minute=RPM, burst=BURST)
    path = str(tmp_path / "clubsmtp.limiter")
    async with serve(emulator) as server:
        results = await run_workers(
            server.base_url, api_key, per_process, "file", path, processes=PROCESSES
        )

    total = PROCESSES * per_process
    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert [r["ok"] for r in results] == [per_process] * PROCESSES
    assert emulator.stats.rate_limited == 0
    assert emulator.stats.statuses == {200: total}
    times = accepted(emulator, api_key)
    assert len(times) == total  # nothing was retried
    assert times[-1] - times[0] >= (total - 1) * 60 / RPM - 0.1
