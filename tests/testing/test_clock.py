from __future__ import annotations

from datetime import datetime, timezone

import anyio
import pytest

from clubsmtp_async.testing import Clock, FakeClock, SystemClock

pytestmark = pytest.mark.anyio


def test_fake_clock_moves_both_readings_together() -> None:
    clock = FakeClock(datetime(2026, 4, 21, 12, 0))  # naive means UTC
    assert clock.now() == 0.0
    assert clock.utcnow() == datetime(2026, 4, 21, 12, 0, tzinfo=timezone.utc)
    clock.advance(90.5)
    assert clock.now() == 90.5
    assert clock.utcnow().isoformat() == "2026-04-21T12:01:30.500000+00:00"
    assert "90.5" in repr(clock)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


async def test_fake_sleep_advances_without_waiting() -> None:
    clock = FakeClock()
    with anyio.fail_after(1):
        await clock.sleep(3600)
    assert clock.now() == 3600


async def test_system_clock() -> None:
    clock = SystemClock()
    before = clock.now()
    await clock.sleep(0)
    assert clock.now() >= before
    assert clock.utcnow().tzinfo is timezone.utc


def test_both_are_clocks() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(SystemClock(), Clock)
